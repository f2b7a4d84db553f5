// SPDX-License-Identifier: GPL-2.0
/*
 * The legacy Quectel GSM/GPRS TCP/IP command set (M10/M26/M35/M66/M95/
 * MC60/UC15), after spec/000 (the GSM TCPIP application note). This file:
 * settings, the bring-up of the one foreground context, AT+QISTAT, the
 * power-on (auto-baud) and the ops table; the connections themselves are
 * in legacy_conn.c.
 *
 * The stack goes IP INITIAL -> (AT+QIREGAPP) IP START -> (AT+QIACT)
 * IP GPRSACT -> (AT+QILOCIP) IP STATUS, in that order only, as the note
 * demands; AT+QIOPEN from IP INITIAL brings the context up by itself.
 * AT+QIDEACT (DEACT OK) returns to IP INITIAL from anywhere.
 */
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "atcmd.h"
#include "conn.h"
#include "dialect.h"
#include "legacy.h"
#include "sim.h"

struct l_settings lset;
enum l_stack lstack;
int lclosed;

static const char *const stack_names[] = {
	[ST_INITIAL] = "IP INITIAL",
	[ST_START] = "IP START",
	[ST_CONFIG] = "IP CONFIG",
	[ST_IND] = "IP IND",
	[ST_GPRSACT] = "IP GPRSACT",
	[ST_STATUS] = "IP STATUS",
	[ST_PDP_DEACT] = "PDP DEACT",
};

#define LOCAL_IP "10.7.157.1"	/* the made-up address of the context */

static int ipr_now, ipr_saved;	/* AT+IPR, and what AT&W saved */
static int csgp_mode = 1;	/* AT+QICSGP: 1 GPRS */
static char apn[64], user[64], pass[64];
static struct timer act_timer;

/* ---- AT+CPIN: the note's spelling ----------------------------------- */

/*
 * AT+CPIN? answers "+CPIN:READY", without the space of the shared (modern)
 * one, as the note's section 2 writes it. The boot URC keeps the space.
 */
static enum at_result c_cpin(enum at_kind k, struct at_args *a, char *raw)
{
	(void)a;
	(void)raw;
	if (k == AT_QUERY)
		out_line("+CPIN:READY");
	else if (k != AT_TEST && k != AT_SET)
		return R_ERROR;
	return R_OK;
}

/* ---- AT+IPR and AT&W: the rate, and auto-baud ----------------------- */

/* M-series rates; 0 is auto-baud, the factory setting. */
static int legacy_rate(long v)
{
	static const long rates[] = { 0, 1200, 2400, 4800, 9600, 14400, 19200,
				      28800, 38400, 57600, 115200 };

	for (size_t i = 0; i < ARRAY_SIZE(rates); i++)
		if (rates[i] == v)
			return 1;
	return 0;
}

/*
 * AT+IPR=<rate>[&W]: the note's "AT+IPR=115200&W" sets and saves in one
 * line (a basic command after an extended one, without ';').
 */
static enum at_result c_ipr(enum at_kind k, struct at_args *a, char *raw)
{
	char *end;
	long v;

	(void)a;
	switch (k) {
	case AT_QUERY:
		out_line("+IPR: %d", ipr_now);
		return R_OK;
	case AT_TEST:
		out_line("+IPR: (),(0,1200,2400,4800,9600,14400,19200,28800,38400,57600,115200)");
		return R_OK;
	case AT_SET:
		if (!isdigit((unsigned char)*raw))
			return R_ERROR;
		v = strtol(raw, &end, 10);
		if (!legacy_rate(v) || (*end && strcasecmp(end, "&W")))
			return R_ERROR;
		ipr_now = v;
		if (*end)
			ipr_saved = v;
		return R_OK;
	default:
		return R_ERROR;
	}
}

static enum at_result c_save(enum at_kind k, struct at_args *a, char *raw)
{
	(void)k;
	(void)a;
	(void)raw;
	ipr_saved = ipr_now;	/* the one setting qtsim saves */
	return R_OK;
}

static int l_autobaud(void)
{
	return ipr_saved == 0;
}

/* ---- the context: QICSGP, QIREGAPP, QIACT, QILOCIP, QIDEACT ---------- */

/* An action without parameters: AT+X runs it, AT+X=? is OK, else ERROR. */
static enum at_result exec_only(enum at_kind k, enum at_result (*run)(void))
{
	if (k == AT_TEST)
		return R_OK;
	return k == AT_EXEC ? run() : R_ERROR;
}

/* The handler of an action: name ## _run does the work. */
#define EXEC_ONLY(name)							\
static enum at_result c_##name(enum at_kind k, struct at_args *a, char *raw) \
{									\
	(void)a;							\
	(void)raw;							\
	return exec_only(k, name##_run);				\
}

static void set_apn(const char *a, const char *u, const char *p)
{
	snprintf(apn, sizeof(apn), "%s", a);
	snprintf(user, sizeof(user), "%s", u);
	snprintf(pass, sizeof(pass), "%s", p);
}

/* "APN"[,"user","pass"[,<rate>]] from argument i on; 0 if well-formed. */
static int apn_args(const struct at_args *a, int i)
{
	const char *ap, *u = "", *p = "";
	long rate;

	if (a->n != i + 1 && a->n != i + 3 && a->n != i + 4)
		return -1;
	if (at_str(a, i, sizeof(apn) - 1, &ap) < 0 ||
	    (a->n > i + 1 && (at_str(a, i + 1, sizeof(user) - 1, &u) < 0 ||
			      at_str(a, i + 2, sizeof(pass) - 1, &p) < 0)) ||
	    at_int_opt(a, i + 3, 0, 3, 0, &rate) < 0)
		return -1;
	set_apn(ap, u, p);
	return 0;
}

/* AT+QICSGP=<mode>,"APN"[,"user","pass"[,<rate>]]: 0 CSD, 1 GPRS */
static enum at_result c_qicsgp(enum at_kind k, struct at_args *a, char *raw)
{
	long mode;

	(void)raw;
	if (k == AT_TEST) {
		out_line("+QICSGP: (0-1)");
		return R_OK;
	}
	if (k == AT_QUERY) {
		out_line("+QICSGP: %d", csgp_mode);
		return R_OK;
	}
	if (k != AT_SET || !a || at_int(a, 0, 0, 1, &mode) < 0 || apn_args(a, 1) < 0)
		return R_ERROR;
	csgp_mode = mode;
	return R_OK;
}

/* AT+QIREGAPP[="APN","user","pass"[,<rate>]]: IP INITIAL -> IP START */
static enum at_result c_qiregapp(enum at_kind k, struct at_args *a, char *raw)
{
	(void)raw;
	switch (k) {
	case AT_TEST:
		out_line("+QIREGAPP: \"APN\",\"USER\",\"PWD\"");
		return R_OK;
	case AT_QUERY:
		out_line("+QIREGAPP: \"%s\",\"%s\",\"%s\"", apn, user, pass);
		return R_OK;
	case AT_SET:
		if (!a || lstack != ST_INITIAL || apn_args(a, 0) < 0)
			return R_ERROR;
		break;
	default:
		if (lstack != ST_INITIAL)
			return R_ERROR;
		break;
	}
	lstack = ST_START;
	return R_OK;
}

static void act_done(void *arg)
{
	(void)arg;
	lstack = ST_GPRSACT;
	cmd_release();
	out_final("OK");
}

/* AT+QIACT: IP START -> IP CONFIG/IP IND (--act-delay) -> IP GPRSACT */
static enum at_result qiact_run(void)
{
	if (lstack != ST_START || !basic_registered())
		return R_ERROR;	/* stays IP START: the host may try again */
	if (opt.act_ms) {
		/* The network takes its time; the port is blocked meanwhile. */
		lstack = ST_IND;
		cmd_hold();
		timer_arm(&act_timer, opt.act_ms, act_done, NULL);
		return R_DONE;
	}
	lstack = ST_GPRSACT;
	return R_OK;
}
EXEC_ONLY(qiact)

/* AT+QILOCIP: the address alone, no OK; IP GPRSACT -> IP STATUS */
static enum at_result qilocip_run(void)
{
	if (lstack < ST_GPRSACT || lstack == ST_PDP_DEACT)
		return R_ERROR;
	if (lstack == ST_GPRSACT)
		lstack = ST_STATUS;
	out_final(LOCAL_IP);
	return R_DONE;
}
EXEC_ONLY(qilocip)

/* AT+QIDEACT: every connection closed, the context down, IP INITIAL. */
static enum at_result qideact_run(void)
{
	lconn_free_all();
	lstack = ST_INITIAL;
	lclosed = 0;
	out_final("DEACT OK");
	return R_DONE;
}
EXEC_ONLY(qideact)

/* ---- AT+QISTAT, AT+QIDNSGIP ---------------------------------------- */

static const char *stack_state(void)
{
	struct conn *c = conn_get(0);

	if (lstack != ST_STATUS || lset.mux)
		return stack_names[lstack];
	if (c)
		return lconn_state(c);
	return lclosed ? "IP CLOSE" : "IP STATUS";
}

/*
 * OK first, then "STATE: <state>"; in multi-connection mode also one
 * "+QISTAT:" line for each index.
 */
static enum at_result qistat_run(void)
{
	out_final("OK");
	out_line("STATE: %s", stack_state());
	for (int id = 0; lset.mux && id < L_NCONN; id++)
		lconn_stat_line(id);
	return R_DONE;
}
EXEC_ONLY(qistat)

/* AT+QIDNSGIP="<name>": OK, then the address (or ERROR) on a line. */
static enum at_result c_qidnsgip(enum at_kind k, struct at_args *a, char *raw)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	struct sockaddr_storage ss;
	const char *name;
	char ip[64];
	int port;

	(void)raw;
	if (k == AT_TEST)
		return R_OK;
	if (k != AT_SET || !a || a->n != 1 || at_str(a, 0, 255, &name) < 0 || !*name ||
	    (lstack != ST_GPRSACT && lstack != ST_STATUS))
		return R_ERROR;
	out_final("OK");
	/* a GSM module's stack is IPv4: its answer first if there is one */
	hints.ai_family = AF_INET;
	if (getaddrinfo(name, NULL, &hints, &res) != 0) {
		hints.ai_family = AF_UNSPEC;
		if (getaddrinfo(name, NULL, &hints, &res) != 0) {
			out_urc("ERROR");
			return R_DONE;
		}
	}
	memcpy(&ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	addr_str(&ss, ip, sizeof(ip), &port);
	out_urc("%s", ip);
	return R_DONE;
}

/* ---- settings ------------------------------------------------------ */

/* AT+QIMUX and AT+QIMODE change only without connections, and transparent
 * mode is for a single connection. */
static int mux_ok(long n)
{
	return !lconn_any() && !(n && lset.mode);
}

static int mode_ok(long n)
{
	return !lconn_any() && !(n && lset.mux);
}

/* AT+QITCFG=<NmRetry>,<WaitTm>,<SendSz>,<esc> */
static enum at_result c_qitcfg(enum at_kind k, struct at_args *a, char *raw)
{
	long r, w, sz, esc;

	(void)raw;
	switch (k) {
	case AT_TEST:
		out_line("+QITCFG: (3-8),(1-10),(256-1024),(0,1)");
		return R_OK;
	case AT_QUERY:
		out_line("+QITCFG: %d,%d,%d,%d", lset.tcfg_retry, lset.tcfg_wait,
			 lset.tcfg_size, lset.tcfg_esc);
		return R_OK;
	case AT_SET:
		if (!a || a->n != 4 || at_int(a, 0, 3, 8, &r) < 0 ||
		    at_int(a, 1, 1, 10, &w) < 0 || at_int(a, 2, 256, 1024, &sz) < 0 ||
		    at_int(a, 3, 0, 1, &esc) < 0)
			return R_ERROR;
		lset.tcfg_retry = r;
		lset.tcfg_wait = w;
		lset.tcfg_size = sz;
		lset.tcfg_esc = esc;
		return R_OK;
	default:
		return R_ERROR;
	}
}

static const struct at_cmd legacy_cmds[] = {
	{ "+IPR", c_ipr },
	{ "&W", c_save },
	{ "+CPIN", c_cpin },	/* before the shared one in basic.c */
	{ "+QICSGP", c_qicsgp },
	{ "+QIREGAPP", c_qiregapp },
	{ "+QIACT", c_qiact },
	{ "+QILOCIP", c_qilocip },
	{ "+QIDEACT", c_qideact },
	{ "+QISTAT", c_qistat },
	{ "+QIDNSGIP", c_qidnsgip },
	{ "+QITCFG", c_qitcfg },
	{ NULL, NULL }
};

static const struct at_setting legacy_settings[] = {
	{ "+QIFGCNT", &lset.fgcnt, 0, 1, .test = "(0,1)" },
	{ "+QIMUX", &lset.mux, 0, 1, .test = "(0,1)", .valid = mux_ok },
	{ "+QIMODE", &lset.mode, 0, 1, .test = "(0,1)", .valid = mode_ok },
	{ "+QIDNSIP", &lset.dnsip, 0, 1, .test = "(0,1)" },
	{ "+QINDI", &lset.indi, 0, 1, .test = "(0,1)" },
	{ "+QIHEAD", &lset.head, 0, 1, .test = "(0,1)" },
	{ "+QISHOWRA", &lset.showra, 0, 1, .test = "(0,1)" },
	{ "+QISHOWPT", &lset.showpt, 0, 1, .test = "(0,1)" },
	{ "+QISDE", &lset.sde, 0, 1, .test = "(0,1)" },
	{ NULL }
};

static const struct at_table legacy_table = { legacy_cmds, legacy_settings };
static const struct at_table conn_table = { lconn_cmds, NULL };
static const struct at_table *const tables[] = {
	&legacy_table, &conn_table, &basic_table, NULL
};

/* ---- the ops table ------------------------------------------------- */

/* ATI: "Quectel_Ltd", "Quectel_M95", then "Revision: M95FAR02A08". */
static const struct ident legacy_ident = { "Quectel_Ltd", "Quectel_", "Revision: ", 1 };

static void l_reset(void)
{
	static int powered;

	if (!powered) {
		/* first power-on: what a previous AT+IPR=<rate>&W saved */
		if (!legacy_rate(opt.ipr))
			die("--ipr %u: not a rate of an M-series module", opt.ipr);
		ipr_saved = opt.ipr;
		powered = 1;
	}
	ipr_now = ipr_saved;
	memset(&lset, 0, sizeof(lset));
	lset.sde = 1;
	lset.tcfg_retry = 3;
	lset.tcfg_wait = 2;
	lset.tcfg_size = 512;
	lset.tcfg_esc = 1;
	lstack = ST_INITIAL;
	lclosed = 0;
	csgp_mode = 1;
	set_apn("", "", "");
	timer_stop(&act_timer);
	lconn_reset();
	basic_reset();
	basic_set_ident(&legacy_ident);
}

static void l_line(char *line, size_t len)
{
	(void)len;
	at_run_line(line, tables);
}

static int l_inject(const char *kind, int arg, const char **why)
{
	if (!strcmp(kind, "closed"))
		return lconn_inject_closed(arg, why);
	if (!strcmp(kind, "pdpdeact")) {
		/* one foreground context: the number names it, any will do */
		lconn_pdp_deact();
		return 0;
	}
	*why = "unknown urc (legacy: closed, pdpdeact)";
	return -1;
}

static const char *const boot_urcs[] = {
	"+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready", NULL
};

const struct dialect dialect_legacy = {
	.name = "legacy",
	.max_conns = L_NCONN,
	.default_model = "M95",
	.boot_urcs = boot_urcs,
	.autobaud = l_autobaud,
	.reset = l_reset,
	.line = l_line,
	.data = lconn_data,
	.t_room = lconn_t_room,
	.t_data = lconn_t_data,
	.t_escape = lconn_t_escape,
	.opened = lconn_opened,
	.rx = lconn_rx,
	.closed = lconn_closed,
	/* no listeners in this dialect: incoming() is never called */
	.close_done = lconn_close_done,
	.may_read = lconn_may_read,
	.inject = l_inject,
};
