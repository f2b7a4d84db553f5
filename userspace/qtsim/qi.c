// SPDX-License-Identifier: GPL-2.0
/* Connection helpers both Quectel dialects share; see qi.h. */
#include "faults.h"
#include "qi.h"
#include "sim.h"

int qi_can_send(const struct conn *c)
{
	return c && (c->type == CT_TCP || c->type == CT_UDP ||
		     c->type == CT_TCP_INCOMING || c->type == CT_UDP_SERVICE) &&
	       c->state == CS_CONNECTED && !c->eof && !c->shutting;
}

int qi_send(struct conn *c, const void *p, size_t n,
	    const struct sockaddr *to, socklen_t tolen)
{
	int r;

	if (fault_take_send_fail()) {
		out_final("SEND FAIL");
		return 1;
	}
	r = conn_send(c, p, n, to, tolen);
	out_final(r == 0 ? "SEND OK" : r == 1 ? "SEND FAIL" : "ERROR");
	return r;
}

void qi_acks(struct conn *c, uint64_t *total, uint64_t *acked, uint64_t *unacked)
{
	uint64_t un = conn_unacked(c);

	if (un > c->tx_total)
		un = c->tx_total;
	*total = c->tx_total;
	*acked = c->tx_total - un;
	*unacked = un;
}

enum at_result qi_ato(struct conn *c, void (*enter)(struct conn *c))
{
	if (qi_can_send(c) && c->mode == 2)
		enter(c);
	else
		out_final("NO CARRIER");
	return R_DONE;
}

void qi_pass_through(struct conn *c)
{
	unsigned char tmp[4096];
	size_t n;

	while ((n = conn_take(c, tmp, sizeof(tmp), NULL, NULL)))
		out_raw(tmp, n);
}
