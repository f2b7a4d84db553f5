// SPDX-License-Identifier: GPL-2.0
/*
 * The modern Quectel TCP/IP command set (EC2x/EG2x/BG9x/EM05/RG50xQ/
 * RM5xxQ), after spec/001 (the RG50xQ&RM5xxQ TCP/IP application note).
 *
 * 16 PDP contexts, at most 3 active, each "activated" context just gets
 * a made-up address 10.7.157.<ctx>; the sockets themselves are real
 * (conn.c) and use this machine's network.
 *
 * Every TCP/IP command (QI*, QPING, QICFG) records its error code for
 * AT+QIGETERROR: 0 on success.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atcmd.h"
#include "conn.h"
#include "dialect.h"
#include "faults.h"
#include "ping.h"
#include "qi.h"
#include "sim.h"

#define NCTX		16
#define MAX_ACTIVE	3
#define NCONN		12
#define SEND_MAX	1460
#define READ_MAX	1500
#define HEX_MAX		512	/* characters of a QISENDEX hex string */
#define PUSH_ROOM	32768	/* direct push: output queue limit before we stop reading */

struct context {
	int type;		/* 1 IPv4, 2 IPv6, 3 IPv4v6 */
	char apn[101], user[128], pass[128];
	int auth;
	int active;
};

static struct context ctxs[NCTX + 1];
static int ctx_configured;
static int last_err;
static int qisde = 1;
static int recvind;
static int transpktsize = 1024, transwaittm = 2;

static struct conn *transp;	/* connection the port is carrying now */
static int last_transp = -1;	/* for ATO */
static int pending_open = -1;	/* transparent QIOPEN waiting for connect */
static int pending_close = -1;	/* QICLOSE waiting for its FIN to be acked */

/* what the "> " prompt is collecting for */
static struct {
	int id;
	int to_set;
	struct sockaddr_storage to;
	socklen_t tolen;
} snd;

static const char *errtext(int e)
{
	static const char *const t[] = {
		"unknown error", "operation blocked", "invalid parameters",
		"memory allocation failed", "socket creation failed",
		"operation not supported", "socket bind failed",
		"socket listen failed", "socket write failed",
		"socket read failed", "socket accept failed",
		"PDP context activate failed", "PDP context deactivate failed",
		"socket identity has been used", "DNS busy", "DNS parse failed",
		"socket connect failed", "socket has connection reset",
		"operation busy", "operation timeout", "PDP context deactivated",
		"cancel sending", "operation not allowed", "port busy",
		"PDP has been activated",
	};

	if (e == 0)
		return "operation success";
	if (e >= 550 && e < 550 + (int)(sizeof(t) / sizeof(t[0])))
		return t[e - 550];
	return "unknown error";
}

static enum at_result fail(int code)
{
	last_err = code;
	return R_ERROR;
}

/*
 * A TCP/IP command starts with no error recorded; its test form (AT+X=?)
 * only lists its parameters. Non-zero: this was the test form.
 */
static int test_form(enum at_kind k, const char *params)
{
	last_err = 0;
	if (k != AT_TEST)
		return 0;
	if (params)
		out_line("%s", params);
	return 1;
}

static const char *service_name(enum conn_type t)
{
	switch (t) {
	case CT_TCP: return "TCP";
	case CT_UDP: return "UDP";
	case CT_TCP_LISTENER: return "TCP LISTENER";
	case CT_UDP_SERVICE: return "UDP SERVICE";
	case CT_TCP_INCOMING: return "TCP INCOMING";
	default: return "";
	}
}

static void ctx_defaults(void)
{
	for (int i = 1; i <= NCTX; i++) {
		memset(&ctxs[i], 0, sizeof(ctxs[i]));
		ctxs[i].type = 1;
	}
	ctx_configured = 1;
}

/* ---- delivering received data ------------------------------------ */

static void deliver(struct conn *c)
{
	unsigned char tmp[READ_MAX];
	struct sockaddr_storage from;
	socklen_t fl;
	char ip[64];
	int port;
	size_t n;

	if (c == transp) {
		qi_pass_through(c);	/* the port carries the bytes, nothing else */
		return;
	}
	if (c->mode == 2)
		return;	/* after "+++": kept until ATO or QIRD */
	if (c->mode == 1) {
		while (conn_pending(c)) {
			n = conn_take(c, tmp, sizeof(tmp), &from, &fl);
			if (c->type == CT_UDP_SERVICE) {
				addr_str(&from, ip, sizeof(ip), &port);
				out_urc_data(tmp, n, "+QIURC: \"recv\",%d,%zu,\"%s\",%d",
					     c->id, n, ip, port);
			} else {
				out_urc_data(tmp, n, "+QIURC: \"recv\",%d,%zu", c->id, n);
			}
		}
		return;
	}
	/* Buffer mode: one URC until the host has read the buffer empty. */
	if (c->urc_armed && conn_pending(c)) {
		c->urc_armed = 0;
		if (recvind)
			out_urc("+QIURC: \"recv\",%d,%zu", c->id, conn_pending(c));
		else
			out_urc("+QIURC: \"recv\",%d", c->id);
	}
}

static void enter_transparent(struct conn *c)
{
	c->mode = 2;
	transp = c;
	last_transp = c->id;
	out_final("CONNECT");
	in_transparent(1);
	deliver(c);
}

/* The port's transparent connection is gone: NO CARRIER, command mode. */
static void transparent_lost(void)
{
	transp = NULL;
	/* NO CARRIER goes straight out, before any URC held meanwhile. */
	out_line("NO CARRIER");
	in_line();
}

/* ---- AT+QICSGP ----------------------------------------------------- */

static enum at_result c_qicsgp(enum at_kind k, struct at_args *a, char *raw)
{
	const char *apn, *user = "", *pass = "";
	long ctx, type, auth = 0;
	struct context *x;

	(void)raw;
	if (test_form(k, "+QICSGP: (1-16),(1-3),<APN>,<username>,<password>,(0-3)"))
		return R_OK;
	if (k != AT_SET || !a || at_int(a, 0, 1, NCTX, &ctx) < 0)
		return fail(552);
	x = &ctxs[ctx];
	if (a->n == 1) {
		out_line("+QICSGP: %d,\"%s\",\"%s\",\"%s\",%d", x->type, x->apn,
			 x->user, x->pass, x->auth);
		return R_OK;
	}
	if ((a->n != 3 && a->n != 5 && a->n != 6) ||
	    at_int(a, 1, 1, 3, &type) < 0 || at_str(a, 2, 100, &apn) < 0 ||
	    (a->n >= 5 && (at_str(a, 3, 127, &user) < 0 || at_str(a, 4, 127, &pass) < 0)) ||
	    at_int_opt(a, 5, 0, 3, 0, &auth) < 0)
		return fail(552);
	x->type = type;
	snprintf(x->apn, sizeof(x->apn), "%s", apn);
	snprintf(x->user, sizeof(x->user), "%s", user);
	snprintf(x->pass, sizeof(x->pass), "%s", pass);
	x->auth = auth;
	return R_OK;
}

/* ---- AT+QIACT / AT+QIDEACT ---------------------------------------- */

static struct timer act_timer;
static int act_ctx;

static void ctx_ip(int ctx, char *buf, size_t len)
{
	if (ctxs[ctx].type == 2)
		snprintf(buf, len, "FD00:0:0:0:0:0:0:%X", ctx);
	else
		snprintf(buf, len, "10.7.157.%d", ctx);
}

static void act_done(void *arg)
{
	(void)arg;
	ctxs[act_ctx].active = 1;
	cmd_release();
	out_final("OK");
}

static enum at_result c_qiact(enum at_kind k, struct at_args *a, char *raw)
{
	long ctx;
	int n = 0;

	(void)raw;
	if (test_form(k, "+QIACT: (1-16)"))
		return R_OK;
	if (k == AT_QUERY) {
		char lines[16 * 64] = "", ip[48];
		size_t len = 0;

		for (int i = 1; i <= NCTX; i++) {
			if (!ctxs[i].active)
				continue;
			ctx_ip(i, ip, sizeof(ip));
			len += snprintf(lines + len, sizeof(lines) - len, "%s+QIACT: %d,1,%d,\"%s\"",
					len ? "\r\n" : "", i, ctxs[i].type, ip);
		}
		if (len)
			out_line("%s", lines);
		return R_OK;
	}
	if (k != AT_SET || !a || a->n != 1 || at_int(a, 0, 1, NCTX, &ctx) < 0)
		return fail(552);
	if (ctxs[ctx].active)
		return fail(574);
	if (!basic_registered())
		return fail(561);	/* no network to activate it in */
	for (int i = 1; i <= NCTX; i++)
		n += ctxs[i].active;
	if (n >= MAX_ACTIVE)
		return fail(561);
	if (opt.act_ms) {
		/* The network takes its time; the port is blocked meanwhile. */
		act_ctx = ctx;
		cmd_hold();
		timer_arm(&act_timer, opt.act_ms, act_done, NULL);
		return R_DONE;
	}
	ctxs[ctx].active = 1;
	return R_OK;
}

static void drop_context_conns(int ctx, int free_them)
{
	for (int id = 0; id < NCONN; id++) {
		struct conn *c = conn_get(id);

		if (!c || c->ctx != ctx)
			continue;
		if (id == last_transp)
			last_transp = -1;
		if (c == transp) {
			conn_drop(c);
			transparent_lost();
		}
		if (free_them)
			conn_free(c);
		else
			conn_drop(c);
	}
}

static enum at_result c_qideact(enum at_kind k, struct at_args *a, char *raw)
{
	long ctx;

	(void)raw;
	if (test_form(k, "+QIDEACT: (1-16)"))
		return R_OK;
	if (k != AT_SET || !a || a->n != 1 || at_int(a, 0, 1, NCTX, &ctx) < 0)
		return fail(552);
	/* Deactivation closes every socket of the context, silently. */
	drop_context_conns(ctx, 1);
	ctxs[ctx].active = 0;
	return R_OK;
}

/* ---- AT+QIOPEN / AT+QICLOSE --------------------------------------- */

/*
 * An AT+QIOPEN whose outcome is known at once (but for a transparent
 * CONNECT): ERROR in transparent mode, else OK, then "+QIOPEN: <id>,<err>".
 */
static enum at_result open_result(long id, int mode, int err)
{
	if (mode == 2 && err)
		return fail(err);
	last_err = err;
	out_final("OK");
	out_urc("+QIOPEN: %ld,%d", id, err);
	return R_DONE;
}

static enum at_result c_qiopen(enum at_kind k, struct at_args *a, char *raw)
{
	long ctx, id, rport, lport, mode;
	const char *svc, *host;
	enum conn_type type;
	struct conn *c;
	int r, e;

	(void)raw;
	if (test_form(k, "+QIOPEN: (1-16),(0-11),\"TCP/UDP/TCP LISTENER/UDP SERVICE\","
			 "\"<IP_address>/<domain_name>\",<remote_port>,<local_port>,(0-2)"))
		return R_OK;
	if (k != AT_SET || !a || a->n < 5 || a->n > 7 ||
	    at_int(a, 0, 1, NCTX, &ctx) < 0 || at_int(a, 1, 0, NCONN - 1, &id) < 0 ||
	    at_str(a, 2, 16, &svc) < 0 || at_str(a, 3, 255, &host) < 0 || !*host ||
	    at_int(a, 4, 0, 65535, &rport) < 0 ||
	    at_int_opt(a, 5, 0, 65535, 0, &lport) < 0 ||
	    at_int_opt(a, 6, 0, 2, 0, &mode) < 0)
		return fail(552);
	if (!strcmp(svc, "TCP"))
		type = CT_TCP;
	else if (!strcmp(svc, "UDP"))
		type = CT_UDP;
	else if (!strcmp(svc, "TCP LISTENER"))
		type = CT_TCP_LISTENER;
	else if (!strcmp(svc, "UDP SERVICE"))
		type = CT_UDP_SERVICE;
	else
		return fail(552);
	if ((type == CT_TCP || type == CT_UDP) && rport == 0)
		return fail(552);
	if (type == CT_TCP_LISTENER || type == CT_UDP_SERVICE) {
		if (lport == 0)
			return fail(552);	/* a server needs its port */
		if (mode == 2)
			return fail(555);
	}
	if (conn_get(id))
		return fail(563);

	e = 0;
	if (fault_take_fail_open(&e) || !ctxs[ctx].active) {
		if (!e)
			e = 561;	/* no PDP context to open it in */
		return open_result(id, mode, e);
	}

	c = conn_new(id, type);
	c->ctx = ctx;
	c->mode = mode;
	c->server_id = id;
	snprintf(c->ip, sizeof(c->ip), "%s", host);
	r = conn_open(c, host, rport, lport);
	if (r == -1) {
		/* TCP connect in progress */
		if (mode == 2) {
			pending_open = id;
			cmd_hold();
			return R_DONE;
		}
		return R_OK;	/* "+QIOPEN: id,err" follows */
	}
	if (r > 0) {
		conn_free(c);
		return open_result(id, mode, r);
	}
	if (mode == 2) {
		enter_transparent(c);
		return R_DONE;
	}
	return open_result(id, mode, 0);
}

static void m_opened(struct conn *c, int err)
{
	if (c->id == pending_open) {
		pending_open = -1;
		cmd_release();
		if (err) {
			last_err = err;
			conn_free(c);
			out_final("ERROR");
			return;
		}
		enter_transparent(c);
		return;
	}
	out_urc("+QIOPEN: %d,%d", c->id, err);
	if (err) {
		last_err = err;
		conn_free(c);
	}
}

static enum at_result c_qiclose(enum at_kind k, struct at_args *a, char *raw)
{
	long id, tmo;
	struct conn *c;

	(void)raw;
	if (test_form(k, "+QICLOSE: (0-11),(0-65535)"))
		return R_OK;
	if (k != AT_SET || !a || a->n < 1 || a->n > 2 ||
	    at_int(a, 0, 0, NCONN - 1, &id) < 0 ||
	    at_int_opt(a, 1, 0, 65535, 10, &tmo) < 0)
		return fail(552);
	c = conn_get(id);
	if (!c)
		return R_OK;	/* nothing to close is not an error */
	if (id == last_transp)
		last_transp = -1;
	if (conn_close(c, tmo * 1000))
		return R_OK;
	/* waiting for our FIN to be acknowledged; "OK" from m_close_done() */
	pending_close = id;
	cmd_hold();
	return R_DONE;
}

static void m_close_done(struct conn *c)
{
	(void)c;
	pending_close = -1;
	cmd_release();
	out_final("OK");
}

/* ---- AT+QISTATE ---------------------------------------------------- */

static enum at_result c_qistate(enum at_kind k, struct at_args *a, char *raw)
{
	long qt, which = -1;
	char lines[NCONN * 160] = "";
	size_t len = 0;

	(void)raw;
	if (test_form(k, NULL))
		return R_OK;
	if (k == AT_SET) {
		if (!a || a->n != 2 || at_int(a, 0, 0, 1, &qt) < 0 ||
		    at_int(a, 1, qt ? 0 : 1, qt ? NCONN - 1 : NCTX, &which) < 0)
			return fail(552);
	} else {
		qt = -1;
	}
	for (int id = 0; id < NCONN; id++) {
		struct conn *c = conn_get(id);

		if (!c || (qt == 0 && c->ctx != which) || (qt == 1 && id != which))
			continue;
		len += snprintf(lines + len, sizeof(lines) - len,
				"%s+QISTATE: %d,\"%s\",\"%s\",%d,%d,%d,%d,%d,%d,\"%s\"",
				len ? "\r\n" : "", id, service_name(c->type), c->ip,
				c->rport, c->lport, c->state, c->ctx, c->server_id,
				c->mode, opt.at_port);
	}
	if (len)
		out_line("%s", lines);
	return R_OK;
}

/* ---- AT+QISEND / AT+QISENDEX -------------------------------------- */

static enum at_result c_qisend(enum at_kind k, struct at_args *a, char *raw)
{
	long id, len, port;
	const char *ip;
	struct conn *c;

	(void)raw;
	if (test_form(k, "+QISEND: (0-11),(0-1460)"))
		return R_OK;
	if (k != AT_SET || !a || a->n < 1 || a->n == 3 || a->n > 4 ||
	    at_int(a, 0, 0, NCONN - 1, &id) < 0 ||
	    at_int_opt(a, 1, 0, SEND_MAX, -1, &len) < 0)
		return fail(552);
	c = conn_get(id);
	if (len == 0 && a->n == 2) {
		uint64_t total, acked, un;

		if (!c || c->type == CT_TCP_LISTENER)
			return fail(572);
		qi_acks(c, &total, &acked, &un);
		out_line("+QISEND: %llu,%llu,%llu", (unsigned long long)total,
			 (unsigned long long)acked, (unsigned long long)un);
		return R_OK;
	}
	if (a->n == 4) {
		if (len == 0 || at_str(a, 2, 63, &ip) < 0 || at_int(a, 3, 0, 65535, &port) < 0)
			return fail(552);
		if (!c || c->type != CT_UDP_SERVICE)
			return fail(572);
		if (addr_parse(ip, port, &snd.to, &snd.tolen) < 0)
			return fail(552);
		snd.to_set = 1;
	} else {
		if (c && c->type == CT_UDP_SERVICE)
			return fail(552);	/* needs the peer's address */
		snd.to_set = 0;
	}
	if (!qi_can_send(c) || c->mode == 2)
		return fail(572);
	snd.id = id;
	out_raw("\r\n> ", 4);
	if (a->n == 1)
		in_data_ctrlz(SEND_MAX, qisde ? DATA_ECHO : 0);
	else
		in_data_fixed(len, qisde ? DATA_ECHO : 0);
	return R_DONE;
}

static void send_result(struct conn *c, const void *p, size_t n)
{
	if (qi_send(c, p, n, snd.to_set ? (struct sockaddr *)&snd.to : NULL, snd.tolen) < 0)
		last_err = 558;
}

static void m_data(const unsigned char *p, size_t n, enum data_end how)
{
	struct conn *c = conn_get(snd.id);

	if (how == DATA_CANCEL) {
		last_err = 571;
		out_final("ERROR");
		return;
	}
	if (how == DATA_OVERFLOW || n == 0) {
		last_err = 552;
		out_final("ERROR");
		return;
	}
	if (!qi_can_send(c)) {
		last_err = 572;
		out_final("ERROR");
		return;
	}
	send_result(c, p, n);
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

static enum at_result c_qisendex(enum at_kind k, struct at_args *a, char *raw)
{
	unsigned char bytes[HEX_MAX / 2];
	const char *hex;
	struct conn *c;
	size_t n;
	long id;

	(void)raw;
	if (test_form(k, "+QISENDEX: (0-11),<hex_string>"))
		return R_OK;
	if (k != AT_SET || !a || a->n != 2 || at_int(a, 0, 0, NCONN - 1, &id) < 0 ||
	    at_str(a, 1, HEX_MAX, &hex) < 0)
		return fail(552);
	n = strlen(hex);
	if (!n || n % 2)
		return fail(552);
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);

		if (hi < 0 || lo < 0)
			return fail(552);
		bytes[i / 2] = hi << 4 | lo;
	}
	c = conn_get(id);
	if (!qi_can_send(c) || c->type == CT_UDP_SERVICE || c->mode == 2)
		return fail(572);
	snd.to_set = 0;
	send_result(c, bytes, n / 2);
	return R_DONE;
}

/* ---- AT+QIRD ------------------------------------------------------- */

static enum at_result c_qird(enum at_kind k, struct at_args *a, char *raw)
{
	unsigned char tmp[READ_MAX];
	struct sockaddr_storage from;
	socklen_t fl;
	struct conn *c;
	long id, len;
	size_t n;

	(void)raw;
	if (test_form(k, "+QIRD: (0-11),(0-1500)"))
		return R_OK;
	if (k != AT_SET || !a || a->n < 1 || a->n > 2 ||
	    at_int(a, 0, 0, NCONN - 1, &id) < 0 ||
	    at_int_opt(a, 1, 0, READ_MAX, -1, &len) < 0)
		return fail(552);
	c = conn_get(id);
	if (!c || c->type == CT_TCP_LISTENER)
		return fail(572);
	if (len == 0) {
		out_line("+QIRD: %llu,%llu,%llu", (unsigned long long)c->rx_total,
			 (unsigned long long)c->rx_read,
			 (unsigned long long)conn_pending(c));
		return R_OK;
	}
	if (len < 0)
		len = READ_MAX;
	n = conn_take(c, tmp, len, &from, &fl);
	if (!n) {
		out_line("+QIRD: 0");
	} else if (c->type == CT_UDP_SERVICE) {
		char hdr[128], ip[64];
		int port;

		addr_str(&from, ip, sizeof(ip), &port);
		snprintf(hdr, sizeof(hdr), "\r\n+QIRD: %zu,\"%s\",%d\r\n", n, ip, port);
		out_raw(hdr, strlen(hdr));
		out_raw(tmp, n);
		out_raw("\r\n", 2);
	} else {
		char hdr[64];

		snprintf(hdr, sizeof(hdr), "\r\n+QIRD: %zu\r\n", n);
		out_raw(hdr, strlen(hdr));
		out_raw(tmp, n);
		out_raw("\r\n", 2);
	}
	if (!conn_pending(c))
		c->urc_armed = 1;	/* read empty: the next data gets a URC */
	return R_OK;
}

/* ---- AT+QISWTMD / ATO --------------------------------------------- */

static struct conn *swtmd_conn;
static struct timer swtmd_timer;

static void swtmd_deliver(void *arg)
{
	(void)arg;
	if (swtmd_conn && conn_get(swtmd_conn->id) == swtmd_conn)
		deliver(swtmd_conn);
	swtmd_conn = NULL;
}

static enum at_result c_qiswtmd(enum at_kind k, struct at_args *a, char *raw)
{
	struct conn *c;
	long id, mode;

	(void)raw;
	if (test_form(k, "+QISWTMD: (0-11),(0-2)"))
		return R_OK;
	if (k != AT_SET || !a || a->n != 2 || at_int(a, 0, 0, NCONN - 1, &id) < 0 ||
	    at_int(a, 1, 0, 2, &mode) < 0)
		return fail(552);
	c = conn_get(id);
	if (!c)
		return fail(572);
	if (mode == 2) {
		if (!qi_can_send(c) || c->type == CT_UDP_SERVICE)
			return fail(572);
		enter_transparent(c);
		return R_DONE;
	}
	/* (a listener's mode is what its incoming connections get) */
	c->mode = mode;
	/* data already waiting gets its own URC in buffer mode */
	c->urc_armed = 1;
	/* Data already buffered is reported the new way, after the OK. */
	swtmd_conn = c;
	timer_arm(&swtmd_timer, 0, swtmd_deliver, NULL);
	return R_OK;
}

static enum at_result c_ato(enum at_kind k, struct at_args *a, char *raw)
{
	(void)k;
	(void)a;
	(void)raw;
	return qi_ato(conn_get(last_transp), enter_transparent);
}

/* ---- AT+QPING ------------------------------------------------------ */

static void ping_reply(int res, const char *ip, int bytes, int ms, int ttl)
{
	if (res)
		out_urc("+QPING: %d", res);
	else
		out_urc("+QPING: 0,\"%s\",%d,%d,%d", ip, bytes, ms, ttl);
}

static void ping_done(int res, int sent, int rcvd, int lost, int min, int max, int avg)
{
	if (res)
		out_urc("+QPING: %d", res);
	else
		out_urc("+QPING: 0,%d,%d,%d,%d,%d,%d", sent, rcvd, lost, min, max, avg);
}

static const struct ping_ops ping_ops = { ping_reply, ping_done };

static struct timer ping_fail_timer;
static int ping_fail_code;

static void ping_fail(void *arg)
{
	(void)arg;
	out_urc("+QPING: %d", ping_fail_code);
}

static enum at_result c_qping(enum at_kind k, struct at_args *a, char *raw)
{
	long ctx, tmo, num;
	const char *host;

	(void)raw;
	if (test_form(k, "+QPING: (1-16),<host>,(1-255),(1-10)"))
		return R_OK;
	if (k != AT_SET || !a || a->n < 2 || a->n > 4 ||
	    at_int(a, 0, 1, NCTX, &ctx) < 0 || at_str(a, 1, 255, &host) < 0 || !*host ||
	    at_int_opt(a, 2, 1, 255, 4, &tmo) < 0 || at_int_opt(a, 3, 1, 10, 4, &num) < 0)
		return fail(552);
	if (!ctxs[ctx].active) {
		/* "0: success, the context activated and the host found" */
		ping_fail_code = 561;
		timer_arm(&ping_fail_timer, 0, ping_fail, NULL);
		return R_OK;
	}
	if (ping_start(host, tmo, num, &ping_ops) < 0)
		return fail(568);
	return R_OK;
}

/* ---- small ones ---------------------------------------------------- */

static enum at_result c_qigeterror(enum at_kind k, struct at_args *a, char *raw)
{
	(void)a;
	(void)raw;
	/* spec/001 section 3.8 prints a space after the comma */
	return at_report(k, "+QIGETERROR: %d, %s", last_err, errtext(last_err));
}

static enum at_result c_qicfg(enum at_kind k, struct at_args *a, char *raw)
{
	const char *name;
	long v;
	int *var = NULL;
	long min = 0, max = 1;

	(void)raw;
	if (test_form(k, "+QICFG: \"transpktsize\",(1-1460)\r\n"
			 "+QICFG: \"transwaittm\",(0-20)\r\n"
			 "+QICFG: \"recvind\",(0,1)"))
		return R_OK;
	if (k != AT_SET || !a || a->n < 1 || a->n > 2 || at_str(a, 0, 32, &name) < 0)
		return fail(552);
	if (!strcasecmp(name, "recvind")) {
		var = &recvind;
	} else if (!strcasecmp(name, "transpktsize")) {
		var = &transpktsize;
		min = 1;
		max = SEND_MAX;
	} else if (!strcasecmp(name, "transwaittm")) {
		var = &transwaittm;
		max = 20;
	} else {
		return fail(552);
	}
	if (a->n == 1) {
		out_line("+QICFG: \"%s\",%d", name, *var);
		return R_OK;
	}
	if (at_int(a, 1, min, max, &v) < 0)
		return fail(552);
	*var = v;
	return R_OK;
}

static const struct at_cmd modern_cmds[] = {
	{ "+QICSGP", c_qicsgp },
	{ "+QIACT", c_qiact },
	{ "+QIDEACT", c_qideact },
	{ "+QIOPEN", c_qiopen },
	{ "+QICLOSE", c_qiclose },
	{ "+QISTATE", c_qistate },
	{ "+QISEND", c_qisend },
	{ "+QISENDEX", c_qisendex },
	{ "+QIRD", c_qird },
	{ "+QISWTMD", c_qiswtmd },
	{ "+QPING", c_qping },
	{ "+QIGETERROR", c_qigeterror },
	{ "+QICFG", c_qicfg },
	{ "O", c_ato },
	{ NULL, NULL }
};

static const struct at_setting modern_settings[] = {
	{ "+QISDE", &qisde, 0, 1, .test = "(0,1)", .err = &last_err, .err_code = 552 },
	{ NULL }
};

static const struct at_table modern_table = { modern_cmds, modern_settings };

static const struct at_table *const tables[] = { &modern_table, &basic_table, NULL };

/* ---- the ops table ------------------------------------------------- */

static void m_reset(void)
{
	if (!ctx_configured)
		ctx_defaults();	/* QICSGP settings are saved: only at first boot */
	for (int i = 1; i <= NCTX; i++)
		ctxs[i].active = 0;
	last_err = 0;
	qisde = 1;
	recvind = 0;
	transp = NULL;
	last_transp = pending_open = pending_close = -1;
	swtmd_conn = NULL;
	timer_stop(&swtmd_timer);
	timer_stop(&act_timer);
	timer_stop(&ping_fail_timer);
	ping_cancel();
	basic_reset();
}

static void m_line(char *line, size_t len)
{
	(void)len;
	at_run_line(line, tables);
}

static size_t m_t_room(void)
{
	return transp ? conn_tx_room(transp) : 0;
}

static void m_t_data(const unsigned char *p, size_t n)
{
	if (transp)
		conn_send(transp, p, n, NULL, 0);
}

static void m_t_escape(void)
{
	transp = NULL;	/* stays in mode 2: ATO goes back */
	out_final("OK");
}

static void m_rx(struct conn *c, size_t n)
{
	(void)n;
	deliver(c);
}

static void m_closed(struct conn *c, int err)
{
	(void)err;
	if (c == transp) {
		transparent_lost();
		return;
	}
	if (c->id == pending_close)
		return;
	out_urc("+QIURC: \"closed\",%d", c->id);
}

static void m_incoming(struct conn *l, struct conn *c)
{
	(void)l;
	out_urc("+QIURC: \"incoming\",%d,%d,\"%s\",%d", c->id, c->server_id, c->ip, c->rport);
}

static void m_incoming_full(struct conn *l)
{
	out_urc("+QIURC: \"incoming full\",%d", l->id);
}

static int m_may_read(struct conn *c)
{
	if (c == transp || c->mode == 1)
		return out_queued() < PUSH_ROOM;
	return 1;
}

static int m_inject(const char *kind, int arg, const char **why)
{
	if (!strcmp(kind, "closed")) {
		struct conn *c = conn_get(arg);

		if (arg >= NCONN) {
			*why = "no such connectID";
			return -1;
		}
		if (c && c == transp) {
			conn_drop(c);
			transparent_lost();
			return 0;
		}
		if (c)
			conn_drop(c);
		out_urc("+QIURC: \"closed\",%d", arg);
		return 0;
	}
	if (!strcmp(kind, "pdpdeact")) {
		if (arg < 1 || arg > NCTX) {
			*why = "no such context";
			return -1;
		}
		/* The network took it: sockets die, the host must QIDEACT. */
		ctxs[arg].active = 0;
		drop_context_conns(arg, 0);
		out_urc("+QIURC: \"pdpdeact\",%d", arg);
		return 0;
	}
	if (!strcmp(kind, "incoming-full")) {
		out_urc("+QIURC: \"incoming full\",%d", arg);
		return 0;
	}
	*why = "unknown urc";
	return -1;
}

static const char *const boot_urcs[] = {
	"+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE", NULL
};

const struct dialect dialect_modern = {
	.name = "modern",
	.max_conns = NCONN,
	.default_model = "EC25",
	.boot_urcs = boot_urcs,
	.reset = m_reset,
	.line = m_line,
	.data = m_data,
	.t_room = m_t_room,
	.t_data = m_t_data,
	.t_escape = m_t_escape,
	.opened = m_opened,
	.rx = m_rx,
	.closed = m_closed,
	.incoming = m_incoming,
	.incoming_full = m_incoming_full,
	.close_done = m_close_done,
	.may_read = m_may_read,
	.inject = m_inject,
};
