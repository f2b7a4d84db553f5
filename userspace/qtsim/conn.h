/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The connection table: every connectID is a real, nonblocking kernel
 * socket on this machine. conn.c owns the sockets and their buffers and
 * reports what happens on them (connected, data, FIN/reset, accepted)
 * through the dialect's callbacks; it never prints anything itself.
 */
#ifndef QTSIM_CONN_H
#define QTSIM_CONN_H

#include <netdb.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sim.h"
#include "util.h"

#define CONN_MAX 16	/* table size; the dialect uses the first max_conns */

enum conn_type {
	CT_NONE,
	CT_TCP,
	CT_UDP,
	CT_TCP_LISTENER,
	CT_UDP_SERVICE,
	CT_TCP_INCOMING,
};

/* Numbering is the modern dialect's <socket_state>. */
enum conn_state {
	CS_INITIAL = 0,
	CS_OPENING = 1,
	CS_CONNECTED = 2,
	CS_LISTENING = 3,
	CS_CLOSING = 4,
};

/* One received datagram (UDP, UDP SERVICE), with its sender. */
struct dgram {
	struct dgram *next;
	struct sockaddr_storage from;
	socklen_t fromlen;
	size_t len, off;
	unsigned char data[];
};

struct conn {
	int id;
	enum conn_type type;
	enum conn_state state;
	int ctx, server_id, mode;	/* the dialect's bookkeeping */
	int fd;
	struct watch w;
	char host[256];		/* the host as the AT command gave it */
	char ip[64];		/* remote (or listening) address, numeric */
	int rport, lport;

	struct addrinfo *ai, *ai_cur;	/* connect candidates */

	struct buf rx;			/* stream data not yet taken */
	struct dgram *dq, *dq_tail;	/* datagrams not yet taken */
	size_t dq_bytes;
	struct buf tx;			/* accepted from the host, not yet in the kernel */

	uint64_t tx_total;	/* bytes the host sent (SEND OK) */
	uint64_t rx_total;	/* bytes received from the network */
	uint64_t rx_read;	/* bytes the host has taken */

	int urc_armed;		/* buffer mode: next data gives a recv URC */
	int eof;		/* the peer is gone (FIN, reset, dropped) */
	int shutting;		/* QICLOSE: waiting for the peer's FIN */
	int fin_sent;
	int accept_paused;	/* listener: out of fds, retry later */
	struct timer t_open, t_close, t_poll;
};

void conn_init(void);
void conn_prepare(void);
struct conn *conn_get(int id);		/* NULL if not in use */
struct conn *conn_new(int id, enum conn_type type);

/*
 * Start a connection of c->type. Returns 0 when it is up (listeners, UDP,
 * some loopback connects), -1 while a TCP connect is in progress (the
 * dialect's opened() follows), or a modern-dialect error code (565 DNS,
 * 566 connect, 573 port busy, ...) on failure.
 */
int conn_open(struct conn *c, const char *host, int rport, int lport);

/*
 * Queue payload. 0: accepted; 1: send buffer full (SEND FAIL); -1: the
 * connection cannot send (ERROR). "to" is for UDP SERVICE.
 */
int conn_send(struct conn *c, const void *p, size_t n,
	      const struct sockaddr *to, socklen_t tolen);
size_t conn_tx_room(struct conn *c);
/* Bytes sent but not yet acknowledged by the peer (TCP: SIOCOUTQ). */
uint64_t conn_unacked(struct conn *c);

/* Take up to max bytes of received data (one datagram at most). */
size_t conn_take(struct conn *c, void *p, size_t max,
		 struct sockaddr_storage *from, socklen_t *fromlen);
/* Received bytes not yet taken. */
size_t conn_pending(struct conn *c);

/*
 * QICLOSE: flush, send FIN, wait until the peer has acknowledged it (or
 * sent its own), at most timeout_ms; then close anyway.
 * Returns 1 if it is closed and freed already, 0 if the dialect's
 * close_done() follows (after which conn.c frees it).
 */
int conn_close(struct conn *c, unsigned timeout_ms);
/* The network dropped it: the socket goes, received data stays. */
void conn_drop(struct conn *c);
/* Forget it now (reboot, deactivation). */
void conn_free(struct conn *c);
void conn_close_all(void);

/* Numeric address and port of a sockaddr. */
void addr_str(const struct sockaddr_storage *ss, char *ip, size_t len, int *port);
/* Parse a numeric IPv4/IPv6 address and port into ss. */
int addr_parse(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len);

#endif
