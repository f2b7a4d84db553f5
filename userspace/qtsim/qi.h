/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the Quectel TCP/IP dialects do alike with a connection, whatever
 * their syntax: whether it can take payload, the answer to a send, and
 * the acknowledgement counts of a QISEND=<id>,0 or QISACK.
 */
#ifndef QTSIM_QI_H
#define QTSIM_QI_H

#include <stdint.h>

#include "atcmd.h"
#include "conn.h"

/* A connection that can carry payload from the host. */
int qi_can_send(const struct conn *c);

/*
 * Hand the payload to the socket and answer it: "SEND OK", "SEND FAIL"
 * (send buffer full, or the send-fail fault) or "ERROR". Returns
 * conn_send()'s result: 0, 1 or -1.
 */
int qi_send(struct conn *c, const void *p, size_t n,
	    const struct sockaddr *to, socklen_t tolen);

/*
 * Bytes the host sent, of which the peer has acknowledged acked and not
 * yet unacked (TCP: SIOCOUTQ plus qtsim's own send buffer; others: 0).
 */
void qi_acks(struct conn *c, uint64_t *total, uint64_t *acked, uint64_t *unacked);

/*
 * ATO: back into transparent mode (enter) if c may carry the port again
 * (a transparent connection left with "+++" and still up), else
 * "NO CARRIER".
 */
enum at_result qi_ato(struct conn *c, void (*enter)(struct conn *c));

/* Transparent mode: every received byte straight to the port. */
void qi_pass_through(struct conn *c);

#endif
