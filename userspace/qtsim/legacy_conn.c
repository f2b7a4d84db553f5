// SPDX-License-Identifier: GPL-2.0
/*
 * Connections of the legacy dialect (see legacy.h): AT+QIOPEN, AT+QICLOSE,
 * AT+QISEND, AT+QISACK, AT+QIRD, ATO, how received data reaches the host
 * (direct output with optional headers, or buffered with +QIRDI), and
 * transparent mode with the AT+QITCFG packet grouping.
 *
 * Single-connection mode (AT+QIMUX=0) uses index 0 and commands without
 * an index; multi-connection mode (AT+QIMUX=1) takes an index 0..5 first
 * and prefixes its results with it: "2, CONNECT OK", "2, CLOSED".
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atcmd.h"
#include "conn.h"
#include "faults.h"
#include "legacy.h"
#include "qi.h"
#include "sim.h"

#define CLOSE_WAIT_MS	10000	/* AT+QICLOSE waits this long for the peer's ack */
#define PUSH_ROOM	32768	/* direct output: queue limit before we stop reading */

static struct conn *transp;	/* the connection the port carries now */
static int pending_open = -1;	/* transparent AT+QIOPEN waiting for its connect */
static int pending_close = -1;	/* AT+QICLOSE waiting for its FIN to be acked */
static int snd_id;		/* what the "> " prompt collects for */

/* transparent mode: host bytes grouped as AT+QITCFG says */
static struct buf stage;
static struct timer stage_timer;

/* "<id>, TEXT" in multi-connection mode, else "TEXT". */
static const char *tag(int id, const char *text)
{
	static char b[64];

	if (lset.mux)
		snprintf(b, sizeof(b), "%d, %s", id, text);
	else
		snprintf(b, sizeof(b), "%s", text);
	return b;
}

/*
 * The index of a command: the first argument in multi-connection mode
 * (0 ok, *next the argument after it), nothing in single mode.
 */
static int index_arg(const struct at_args *a, long *id, int *next)
{
	*id = 0;
	*next = 0;
	if (!lset.mux)
		return 0;
	if (!a || at_int(a, 0, 0, L_NCONN - 1, id) < 0)
		return -1;
	*next = 1;
	return 0;
}

/*
 * A command that takes an index only (single: AT+X, multi: AT+X=<index>):
 * run(index) answers it, unless it is the test form or malformed.
 */
static enum at_result index_only(enum at_kind k, const struct at_args *a,
				 enum at_result (*run)(long id))
{
	long id;
	int i;

	if (k == AT_TEST)
		return R_OK;
	if (k != (lset.mux ? AT_SET : AT_EXEC) || index_arg(a, &id, &i) < 0 ||
	    (a && a->n != i))
		return R_ERROR;
	return run(id);
}

/* A port "7007" or 7007, 1..65535. */
static int port_arg(const struct at_args *a, int i, long *port)
{
	const char *s;
	char *end;

	if (i >= a->n)
		return -1;
	if (!a->v[i].quoted)
		return at_int(a, i, 1, 65535, port);
	s = a->v[i].s;
	if (*s < '0' || *s > '9' || strlen(s) > 5)
		return -1;
	*port = strtol(s, &end, 10);
	return *end || *port < 1 || *port > 65535 ? -1 : 0;
}

const char *lconn_state(const struct conn *c)
{
	if (c->state == CS_OPENING)
		return c->type == CT_UDP ? "UDP CONNECTING" : "TCP CONNECTING";
	if (c->state == CS_CONNECTED && !c->eof && !c->shutting)
		return "CONNECT OK";
	return "IP CLOSE";
}

void lconn_stat_line(int id)
{
	struct conn *c = conn_get(id);

	if (!c)
		out_line("+QISTAT: %d, \"\", \"\", 0, \"IP INITIAL\"", id);
	else
		out_line("+QISTAT: %d, \"%s\", \"%s\", %d, \"%s\"", id,
			 c->type == CT_UDP ? "UDP" : "TCP", c->ip, c->rport, lconn_state(c));
}

int lconn_any(void)
{
	for (int id = 0; id < L_NCONN; id++)
		if (conn_get(id))
			return 1;
	return 0;
}

/* ---- received data -------------------------------------------------- */

/* The sender of what conn_take() returned: the datagram's, or the peer. */
static void sender(struct conn *c, const struct sockaddr_storage *from,
		   char *ip, size_t len, int *port)
{
	if (c->type == CT_UDP) {
		addr_str(from, ip, len, port);
	} else {
		snprintf(ip, len, "%s", c->ip);
		*port = c->rport;
	}
}

/*
 * Direct output: single mode as the note's 5.1 -- an optional
 * "RECV FROM:<ip>:<port>" line, an optional "IPD<len>[TCP|UDP]:" prefix,
 * the bytes, nothing after; multi mode: "+RECEIVE: <id>, <len>" then the
 * bytes.
 */
static void output_direct(struct conn *c)
{
	unsigned char tmp[L_SEND_MAX];
	struct sockaddr_storage from;
	socklen_t fl;
	char hdr[160], ip[64];
	int port, len;
	size_t n;

	while ((n = conn_take(c, tmp, sizeof(tmp), &from, &fl))) {
		sender(c, &from, ip, sizeof(ip), &port);
		len = 0;
		if (lset.mux) {
			len = snprintf(hdr, sizeof(hdr), "\r\n+RECEIVE: %d, %zu\r\n", c->id, n);
		} else {
			if (lset.showra)
				len += snprintf(hdr + len, sizeof(hdr) - len,
						"RECV FROM:%s:%d\r\n", ip, port);
			if (lset.head)
				len += snprintf(hdr + len, sizeof(hdr) - len, "IPD%zu%s:", n,
						!lset.showpt ? "" : c->type == CT_UDP ? "UDP" : "TCP");
		}
		out_raw(hdr, len);
		out_raw(tmp, n);
	}
}

static void deliver(struct conn *c)
{
	if (c == transp) {
		qi_pass_through(c);	/* the port carries the bytes, nothing else */
		return;
	}
	if (c->mode == 2)
		return;	/* after "+++": kept until ATO */
	if (!lset.indi) {
		output_direct(c);
		return;
	}
	/*
	 * Buffered: one +QIRDI until AT+QIRD has read the buffer empty; no
	 * space after the colon, as the note's 5.2 writes it ("+QIRDI:0,1,0").
	 */
	if (c->urc_armed && conn_pending(c)) {
		c->urc_armed = 0;
		out_urc("+QIRDI:%d,1,%d", lset.fgcnt, c->id);
	}
}

void lconn_rx(struct conn *c, size_t n)
{
	(void)n;
	deliver(c);
}

int lconn_may_read(struct conn *c)
{
	if (c == transp || (!lset.indi && c->mode != 2))
		return out_queued() < PUSH_ROOM;
	return 1;
}

/* AT+QIRD=<id>,<sc>,<sid>,<len>: id the foreground context, sc 1 client */
static enum at_result c_qird(enum at_kind k, struct at_args *a, char *raw)
{
	unsigned char tmp[L_READ_MAX];
	struct sockaddr_storage from;
	socklen_t fl;
	long id, sc, sid, len;
	struct conn *c;
	char hdr[128], ip[64];
	int port;
	size_t n;

	(void)raw;
	if (k == AT_TEST)
		return R_OK;
	if (k != AT_SET || !a || a->n != 4 || at_int(a, 0, 0, 1, &id) < 0 ||
	    at_int(a, 1, 1, 2, &sc) < 0 || at_int(a, 2, 0, L_NCONN - 1, &sid) < 0 ||
	    at_int(a, 3, 1, L_READ_MAX, &len) < 0)
		return R_ERROR;
	c = conn_get(sid);
	if (id != lset.fgcnt || sc != 1 || (!lset.mux && sid) || !c ||
	    c->state == CS_OPENING)
		return R_ERROR;
	n = conn_take(c, tmp, len, &from, &fl);
	if (n) {
		sender(c, &from, ip, sizeof(ip), &port);
		/* the note's 5.2: "+QIRD:116.228.146.250:7070,TCP,36", no space */
		snprintf(hdr, sizeof(hdr), "\r\n+QIRD:%s:%d,%s,%zu\r\n", ip, port,
			 c->type == CT_UDP ? "UDP" : "TCP", n);
		out_raw(hdr, strlen(hdr));
		out_raw(tmp, n);
	}
	if (!conn_pending(c))
		c->urc_armed = 1;	/* read empty: the next data gets a +QIRDI */
	return R_OK;
}

/* ---- transparent mode ----------------------------------------------- */

static void enter_transparent(struct conn *c)
{
	c->mode = 2;
	transp = c;
	out_final("CONNECT");
	in_transparent(lset.tcfg_esc);
	deliver(c);
}

/* Hand the grouped host bytes to the socket, size by size. */
static void stage_send(size_t min)
{
	size_t size = lset.tcfg_size;

	while (transp && stage.len >= min && stage.len) {
		size_t n = MIN(stage.len, size);

		conn_send(transp, buf_data(&stage), n, NULL, 0);
		buf_consume(&stage, n);
	}
	if (!transp)
		buf_reset(&stage);
}

static void stage_timeout(void *arg)
{
	(void)arg;
	stage_send(0);
}

/*
 * The port's connection is gone: the note's "CLOSED" (or "+PDP DEACT")
 * and command mode. The host tells it from payload with "+++".
 */
static void transparent_lost(const char *text)
{
	transp = NULL;
	timer_stop(&stage_timer);
	buf_reset(&stage);
	out_line("%s", text);
	in_line();
}

size_t lconn_t_room(void)
{
	size_t room;

	if (!transp)
		return 0;
	room = conn_tx_room(transp);
	return room > stage.len ? room - stage.len : 0;
}

/*
 * AT+QITCFG: a full <SendSz> goes at once; less waits <WaitTm> x 100 ms
 * from its first byte.
 */
void lconn_t_data(const unsigned char *p, size_t n)
{
	if (!transp)
		return;
	buf_append(&stage, p, n);
	stage_send(lset.tcfg_size);
	if (!stage.len)
		timer_stop(&stage_timer);
	else if (!stage_timer.armed)
		timer_arm(&stage_timer, lset.tcfg_wait * 100, stage_timeout, NULL);
}

void lconn_t_escape(void)
{
	timer_stop(&stage_timer);
	stage_send(0);
	transp = NULL;	/* stays in mode 2: ATO goes back */
	out_final("OK");
}

static enum at_result c_ato(enum at_kind k, struct at_args *a, char *raw)
{
	(void)k;
	(void)a;
	(void)raw;
	return qi_ato(lset.mux ? NULL : conn_get(0), enter_transparent);
}

/* ---- AT+QIOPEN ------------------------------------------------------ */

static void open_ok(struct conn *c)
{
	if (c->mode == 2)
		enter_transparent(c);
	else
		out_urc("%s", tag(c->id, "CONNECT OK"));
}

/*
 * CONNECT FAIL. A connect that timed out leaves the stack "TCP
 * CONNECTING" until AT+QICLOSE, as the note's recovery expects; any
 * other failure frees the index ("IP CLOSE").
 */
static void open_failed(struct conn *c, int err)
{
	if (c->mode == 2)
		out_final("CONNECT FAIL");
	else
		out_urc("%s", tag(c->id, "CONNECT FAIL"));
	if (err == 569 && c->type == CT_TCP) {
		c->state = CS_OPENING;	/* without a socket: it stays so */
		return;
	}
	conn_free(c);
	lclosed = 1;
}

void lconn_opened(struct conn *c, int err)
{
	if (c->id == pending_open) {
		pending_open = -1;
		cmd_release();
	}
	if (err)
		open_failed(c, err);
	else
		open_ok(c);
}

/*
 * Single: AT+QIOPEN="TCP"|"UDP","<address>","<port>";
 * multi:  AT+QIOPEN=<index>,"TCP"|"UDP","<address>","<port>".
 * ERROR for bad syntax or a stack not in IP INITIAL/IP STATUS/IP CLOSE;
 * ALREADY CONNECT if the index is connected; else OK, then CONNECT OK or
 * CONNECT FAIL (transparent: CONNECT or CONNECT FAIL, the port held).
 */
static enum at_result c_qiopen(enum at_kind k, struct at_args *a, char *raw)
{
	const char *type, *host;
	struct in_addr in4;
	enum conn_type t;
	struct conn *c;
	long id, port;
	int i, r, e = 0;

	(void)raw;
	if (k == AT_TEST)
		return R_OK;
	if (k != AT_SET || !a || index_arg(a, &id, &i) < 0 || a->n != i + 3 ||
	    at_str(a, i, 3, &type) < 0 || at_str(a, i + 1, 255, &host) < 0 || !*host ||
	    port_arg(a, i + 2, &port) < 0)
		return R_ERROR;
	if (!strcasecmp(type, "TCP"))
		t = CT_TCP;
	else if (!strcasecmp(type, "UDP"))
		t = CT_UDP;
	else
		return R_ERROR;
	/* AT+QIDNSIP=0: the address must be an IP address */
	if (!lset.dnsip && inet_pton(AF_INET, host, &in4) != 1)
		return R_ERROR;
	c = conn_get(id);
	if (fault_take_already_connect() || (c && !strcmp(lconn_state(c), "CONNECT OK"))) {
		out_final(tag(id, "ALREADY CONNECT"));
		return R_DONE;
	}
	if ((c && c->state == CS_OPENING) || (lstack != ST_INITIAL && lstack != ST_STATUS))
		return R_ERROR;
	if (c)
		conn_free(c);	/* the remains of a closed one */
	lclosed = 0;
	out_final("OK");

	c = conn_new(id, t);
	c->mode = lset.mode ? 2 : 0;
	snprintf(c->ip, sizeof(c->ip), "%s", host);
	c->rport = port;
	if (fault_take_fail_open(&e)) {
		open_failed(c, e);
		return R_DONE;
	}
	if (lstack == ST_INITIAL) {
		/* From IP INITIAL the module brings the context up itself. */
		if (!basic_registered()) {
			open_failed(c, 561);
			lclosed = 0;
			return R_DONE;
		}
		lstack = ST_STATUS;
	}
	r = conn_open(c, host, port, 0);
	if (r == -1) {
		if (c->mode == 2) {
			pending_open = id;
			cmd_hold();
		}
		return R_DONE;	/* the result follows from lconn_opened() */
	}
	if (r > 0)
		open_failed(c, r);
	else
		open_ok(c);
	return R_DONE;
}

/* ---- AT+QICLOSE ----------------------------------------------------- */

/* Single: AT+QICLOSE; multi: AT+QICLOSE=<index>. CLOSE OK, or ERROR. */
static enum at_result qiclose_run(long id)
{
	struct conn *c = conn_get(id);

	if (!c)
		return R_ERROR;
	lclosed = 1;
	if (conn_close(c, CLOSE_WAIT_MS)) {
		out_final(tag(id, "CLOSE OK"));
		return R_DONE;
	}
	/* waiting for our FIN to be acknowledged; lconn_close_done() answers */
	pending_close = id;
	cmd_hold();
	return R_DONE;
}

static enum at_result c_qiclose(enum at_kind k, struct at_args *a, char *raw)
{
	(void)raw;
	return index_only(k, a, qiclose_run);
}

void lconn_close_done(struct conn *c)
{
	pending_close = -1;
	cmd_release();
	out_final(tag(c->id, "CLOSE OK"));
}

void lconn_closed(struct conn *c, int err)
{
	(void)err;
	if (c == transp) {
		transparent_lost("CLOSED");
		return;
	}
	if (c->id == pending_close)
		return;
	out_urc("%s", tag(c->id, "CLOSED"));
}

/* ---- AT+QISEND, AT+QISACK ------------------------------------------- */

/*
 * Single: AT+QISEND (up to Ctrl-Z) or AT+QISEND=<len>;
 * multi:  AT+QISEND=<index> or AT+QISEND=<index>,<len>.
 */
static enum at_result c_qisend(enum at_kind k, struct at_args *a, char *raw)
{
	long id, len = -1;
	struct conn *c;
	int i, flags = lset.sde ? DATA_ECHO : 0;

	(void)raw;
	if (k == AT_TEST)
		return R_OK;
	if (k == AT_SET && a && index_arg(a, &id, &i) == 0 && a->n >= 1 && a->n <= i + 1) {
		/* the length, unless only the index was given */
		if (a->n == i + 1 && at_int(a, i, 1, L_SEND_MAX, &len) < 0)
			return R_ERROR;
	} else if (k != AT_EXEC || lset.mux) {
		return R_ERROR;
	} else {
		id = 0;
	}
	c = conn_get(id);
	if (!qi_can_send(c) || c->mode == 2)
		return R_ERROR;
	snd_id = id;
	out_raw("\r\n> ", 4);
	if (len < 0)
		in_data_ctrlz(L_SEND_MAX, flags | DATA_BACKSPACE);
	else
		in_data_fixed(len, flags);
	return R_DONE;
}

void lconn_data(const unsigned char *p, size_t n, enum data_end how)
{
	struct conn *c = conn_get(snd_id);

	if (how != DATA_SEND || n == 0 || !qi_can_send(c)) {
		out_final("ERROR");	/* ESC, too long, or the connection went */
		return;
	}
	qi_send(c, p, n, NULL, 0);
}

/*
 * Single: AT+QISACK; multi: AT+QISACK=<index>. "+QISACK: 4, 4, 0", comma
 * and space, as the note's 4.1, 4.2 and first line of 6 (and real M95s);
 * the note's other three lines in 6 ("+QISACK: 1484,1448,36") have none,
 * and one module cannot print both.
 */
static enum at_result qisack_run(long id)
{
	uint64_t total = 0, acked = 0, un = 0;
	struct conn *c = conn_get(id);

	if (c && c->type == CT_UDP) {
		total = c->tx_total;	/* UDP: nothing is ever acknowledged */
	} else if (c) {
		qi_acks(c, &total, &acked, &un);
	}
	out_line("+QISACK: %llu, %llu, %llu", (unsigned long long)total,
		 (unsigned long long)acked, (unsigned long long)un);
	return R_OK;
}

static enum at_result c_qisack(enum at_kind k, struct at_args *a, char *raw)
{
	(void)raw;
	return index_only(k, a, qisack_run);
}

const struct at_cmd lconn_cmds[] = {
	{ "+QIOPEN", c_qiopen },
	{ "+QICLOSE", c_qiclose },
	{ "+QISEND", c_qisend },
	{ "+QISACK", c_qisack },
	{ "+QIRD", c_qird },
	{ "O", c_ato },
	{ NULL, NULL }
};

/* ---- the network's doing, power-on ----------------------------------- */

int lconn_inject_closed(int id, const char **why)
{
	struct conn *c;

	if (id >= (lset.mux ? L_NCONN : 1)) {
		*why = "no such connection index";
		return -1;
	}
	c = conn_get(id);
	if (c && c == transp) {
		conn_drop(c);
		transparent_lost("CLOSED");
		return 0;
	}
	if (c)
		conn_drop(c);
	out_urc("%s", tag(id, "CLOSED"));
	return 0;
}

/* The network deactivated the context: every socket dies, "+PDP DEACT". */
void lconn_pdp_deact(void)
{
	int carried = transp != NULL;

	lstack = ST_PDP_DEACT;
	for (int id = 0; id < L_NCONN; id++) {
		struct conn *c = conn_get(id);

		if (c)
			conn_drop(c);
	}
	if (carried)
		transparent_lost("+PDP DEACT");
	else
		out_urc("+PDP DEACT");
}

void lconn_free_all(void)
{
	for (int id = 0; id < L_NCONN; id++)
		conn_free(conn_get(id));
	transp = NULL;
	pending_open = pending_close = -1;
	timer_stop(&stage_timer);
	buf_reset(&stage);
}

void lconn_reset(void)
{
	/* sim_reboot() has closed the sockets already */
	lconn_free_all();
}
