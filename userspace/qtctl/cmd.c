// SPDX-License-Identifier: GPL-2.0
/*
 * qtctl's commands that talk to the kernel over the "quectel" generic
 * netlink family: each builds one request, prints the replies through
 * out.c and exits 1 with the errno (and the kernel's extended-ack text)
 * when the kernel refuses.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/genetlink.h>
#include <linux/quectel.h>

#include "qtctl.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* The type of each attribute the kernel may send (checked on receipt). */
static const uint8_t qt_types[QT_A_MAX + 1] = {
	[QT_A_MODEM] = MNL_TYPE_U32,
	[QT_A_MODEM_NAME] = MNL_TYPE_NUL_STRING,
	[QT_A_MODEM_TTY] = MNL_TYPE_NUL_STRING,
	[QT_A_MODEM_DIALECT] = MNL_TYPE_NUL_STRING,
	[QT_A_MODEM_DIALECT_CHOICE] = MNL_TYPE_NUL_STRING,
	[QT_A_MODEM_STATE] = MNL_TYPE_NUL_STRING,
	[QT_A_MODEM_MODEL] = MNL_TYPE_NUL_STRING,
	[QT_A_MODEM_REVISION] = MNL_TYPE_NUL_STRING,
	[QT_A_MODEM_IMEI] = MNL_TYPE_NUL_STRING,
	[QT_A_MODEM_RSSI] = MNL_TYPE_U32,
	[QT_A_MODEM_BER] = MNL_TYPE_U32,
	[QT_A_MODEM_REG] = MNL_TYPE_U32,
	[QT_A_MODEM_SOCKETS] = MNL_TYPE_U32,
	[QT_A_MODEM_STATS] = MNL_TYPE_NESTED,
	[QT_A_MODEM_CTXS] = MNL_TYPE_NESTED,
	[QT_A_MODEM_TIMEOUTS] = MNL_TYPE_NESTED,
	[QT_A_CTX] = MNL_TYPE_NESTED,
	[QT_A_CTX_ID] = MNL_TYPE_U8,
	[QT_A_CTX_TYPE] = MNL_TYPE_U8,
	[QT_A_CTX_APN] = MNL_TYPE_NUL_STRING,
	[QT_A_CTX_USER] = MNL_TYPE_NUL_STRING,
	[QT_A_CTX_PASSWORD] = MNL_TYPE_NUL_STRING,
	[QT_A_CTX_AUTH] = MNL_TYPE_U8,
	[QT_A_CTX_ACTIVE] = MNL_TYPE_U8,
	[QT_A_CTX_ADDR] = MNL_TYPE_NUL_STRING,
	[QT_A_PING_HOST] = MNL_TYPE_NUL_STRING,
	[QT_A_PING_COUNT] = MNL_TYPE_U32,
	[QT_A_PING_TIMEOUT] = MNL_TYPE_U32,
	[QT_A_PING_REPLY] = MNL_TYPE_NESTED,
	[QT_A_PING_SUMMARY] = MNL_TYPE_NESTED,
	[QT_A_TIMEOUT] = MNL_TYPE_NESTED,
	[QT_A_TIMEOUT_CMD] = MNL_TYPE_NUL_STRING,
	[QT_A_TIMEOUT_MS] = MNL_TYPE_U32,
	[QT_A_AT_LINE] = MNL_TYPE_NUL_STRING,
	[QT_A_AT_RESPONSE] = MNL_TYPE_NUL_STRING,
	[QT_A_AT_FINAL] = MNL_TYPE_NUL_STRING,
	[QT_A_EVENT] = MNL_TYPE_U8,
	[QT_A_REASON] = MNL_TYPE_NUL_STRING,
	[QT_A_BACKOFF_MS] = MNL_TYPE_U32,
};

static const uint8_t ping_types[QT_PING_MAX + 1] = {
	[QT_PING_RESULT] = MNL_TYPE_U32,
	[QT_PING_ADDR] = MNL_TYPE_NUL_STRING,
	[QT_PING_BYTES] = MNL_TYPE_U32,
	[QT_PING_TIME_MS] = MNL_TYPE_U32,
	[QT_PING_TTL] = MNL_TYPE_U32,
	[QT_PING_SENT] = MNL_TYPE_U32,
	[QT_PING_RCVD] = MNL_TYPE_U32,
	[QT_PING_LOST] = MNL_TYPE_U32,
	[QT_PING_MIN_MS] = MNL_TYPE_U32,
	[QT_PING_MAX_MS] = MNL_TYPE_U32,
	[QT_PING_AVG_MS] = MNL_TYPE_U32,
};

static const char *const stat_keys[QT_STAT_MAX + 1] = {
	[QT_STAT_RX_BYTES] = "rx_bytes",
	[QT_STAT_TX_BYTES] = "tx_bytes",
	[QT_STAT_COMMANDS] = "commands",
	[QT_STAT_TIMEOUTS] = "timeouts",
	[QT_STAT_URCS] = "urcs",
	[QT_STAT_PARSE_ERRORS] = "parse_errors",
	[QT_STAT_RESTARTS] = "restarts",
	[QT_STAT_REBOOTS] = "reboots",
	[QT_STAT_INCOMING_FULL] = "incoming_full",
	[QT_STAT_ACCEPT_OVERFLOW] = "accept_overflow",
};

static const char *const ctx_type_names[] = {
	[QT_CTX_IPV4] = "ipv4", [QT_CTX_IPV6] = "ipv6", [QT_CTX_IPV4V6] = "ipv4v6",
};

static const char *const auth_names[] = {
	[QT_AUTH_NONE] = "none", [QT_AUTH_PAP] = "pap", [QT_AUTH_CHAP] = "chap",
	[QT_AUTH_ANY] = "any",
};

static const char *const event_names[] = {
	[QT_EV_MODEM_UP] = "modem_up", [QT_EV_MODEM_DOWN] = "modem_down",
	[QT_EV_CTX_LOST] = "ctx_lost", [QT_EV_RESTART] = "restart",
	[QT_EV_DETACHED] = "detached", [QT_EV_REBOOTED] = "rebooted",
};

/* ---- printing attributes ---- */

/* One attribute printed as a field: its type says how, names/is_bool refine. */
struct field {
	uint16_t attr;
	const char *key;
	const char *const *names;	/* enum values */
	size_t n;
	bool is_bool;
};

#define FIELD(a, k)		{ .attr = (a), .key = (k) }
#define ENUM(a, k, v)		{ .attr = (a), .key = (k), .names = (v), .n = ARRAY_SIZE(v) }
#define BOOL(a, k)		{ .attr = (a), .key = (k), .is_bool = true }

static const struct field modem_fields[] = {
	FIELD(QT_A_MODEM, "index"),
	FIELD(QT_A_MODEM_TTY, "tty"),
	FIELD(QT_A_MODEM_DIALECT, "dialect"),
	FIELD(QT_A_MODEM_DIALECT_CHOICE, "dialect_choice"),
	FIELD(QT_A_MODEM_STATE, "state"),
	FIELD(QT_A_MODEM_MODEL, "model"),
	FIELD(QT_A_MODEM_REVISION, "revision"),
	FIELD(QT_A_MODEM_IMEI, "imei"),
	FIELD(QT_A_MODEM_RSSI, "rssi"),
	FIELD(QT_A_MODEM_BER, "ber"),
	FIELD(QT_A_MODEM_REG, "reg"),
	FIELD(QT_A_MODEM_SOCKETS, "sockets"),
	FIELD(QT_A_REASON, "reason"),
};

static const struct field ctx_fields[] = {
	FIELD(QT_A_CTX_ID, "id"),
	ENUM(QT_A_CTX_TYPE, "type", ctx_type_names),
	FIELD(QT_A_CTX_APN, "apn"),
	FIELD(QT_A_CTX_USER, "user"),
	ENUM(QT_A_CTX_AUTH, "auth", auth_names),
	BOOL(QT_A_CTX_ACTIVE, "active"),
	FIELD(QT_A_CTX_ADDR, "addr"),
};

static const struct field event_fields[] = {
	FIELD(QT_A_MODEM_NAME, "name"),
	FIELD(QT_A_MODEM, "index"),
	FIELD(QT_A_CTX_ID, "ctx"),
	FIELD(QT_A_REASON, "reason"),
	FIELD(QT_A_BACKOFF_MS, "backoff_ms"),
};

static const struct field ping_fields[] = {
	FIELD(QT_PING_RESULT, "result"),
	FIELD(QT_PING_ADDR, "addr"),
	FIELD(QT_PING_BYTES, "bytes"),
	FIELD(QT_PING_TIME_MS, "time_ms"),
	FIELD(QT_PING_TTL, "ttl"),
	FIELD(QT_PING_SENT, "sent"),
	FIELD(QT_PING_RCVD, "rcvd"),
	FIELD(QT_PING_LOST, "lost"),
	FIELD(QT_PING_MIN_MS, "min_ms"),
	FIELD(QT_PING_MAX_MS, "max_ms"),
	FIELD(QT_PING_AVG_MS, "avg_ms"),
};

static uint64_t attr_uint(const struct nlattr *a, uint8_t type)
{
	switch (type) {
	case MNL_TYPE_U8:
		return mnl_attr_get_u8(a);
	case MNL_TYPE_U16:
		return mnl_attr_get_u16(a);
	case MNL_TYPE_U32:
		return mnl_attr_get_u32(a);
	default:
		return mnl_attr_get_u64(a);
	}
}

/* The fields of @f present in tb (typed by @types), in the order of @f. */
static void emit_fields(const struct nlattr *const *tb, const uint8_t *types,
			const struct field *f, size_t n)
{
	for (; n--; f++) {
		const struct nlattr *a = tb[f->attr];
		uint64_t v;

		if (!a)
			continue;
		if (types[f->attr] == MNL_TYPE_NUL_STRING) {
			out_str(f->key, mnl_attr_get_str(a));
			continue;
		}
		v = attr_uint(a, types[f->attr]);
		if (f->is_bool)
			out_bool(f->key, v);
		else if (f->names)
			out_enum(f->key, f->names, f->n, v);
		else
			out_u64(f->key, v);
	}
}

/* Parse a nest of QT_A_* (or QT_PING_*) attributes; sets errno on failure. */
static bool parse_nest(const struct nlattr *nest, const uint8_t *types, unsigned int max,
		       const struct nlattr **tb)
{
	int err = nl_parse_nest(nest, types, max, tb);

	errno = -err;
	return !err;
}

static bool parse_msg(const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	int err = nl_parse_msg(nlh, qt_types, QT_A_MAX, tb);

	errno = -err;
	return !err;
}

static bool emit_stats(const struct nlattr *nest)
{
	const struct nlattr *tb[QT_STAT_MAX + 1];
	static uint8_t types[QT_STAT_MAX + 1];
	unsigned int i;

	for (i = QT_STAT_RX_BYTES; i <= QT_STAT_MAX; i++)
		types[i] = MNL_TYPE_U64;
	if (!parse_nest(nest, types, QT_STAT_MAX, tb))
		return false;
	out_group_begin("stats", "stats");
	for (i = QT_STAT_RX_BYTES; i <= QT_STAT_MAX; i++)
		if (tb[i])
			out_u64(stat_keys[i], mnl_attr_get_u64(tb[i]));
	out_group_end();
	return true;
}

static bool emit_ctxs(const struct nlattr *nest)
{
	const struct nlattr *a, *tb[QT_A_MAX + 1];

	out_array_begin("contexts");
	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) != QT_A_CTX)
			continue;
		if (!parse_nest(a, qt_types, QT_A_MAX, tb))
			return false;
		out_group_begin(NULL, "ctx");
		emit_fields(tb, qt_types, ctx_fields, ARRAY_SIZE(ctx_fields));
		out_group_end();
	}
	out_array_end();
	return true;
}

static bool emit_timeouts(const struct nlattr *nest)
{
	const struct nlattr *a, *tb[QT_A_MAX + 1];

	out_group_begin("timeouts_ms", "timeouts_ms");
	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) != QT_A_TIMEOUT)
			continue;
		if (!parse_nest(a, qt_types, QT_A_MAX, tb))
			return false;
		if (tb[QT_A_TIMEOUT_CMD] && tb[QT_A_TIMEOUT_MS])
			out_u64(mnl_attr_get_str(tb[QT_A_TIMEOUT_CMD]),
				mnl_attr_get_u32(tb[QT_A_TIMEOUT_MS]));
	}
	out_group_end();
	return true;
}

/* The name of a modem: QT_A_MODEM_NAME, else qm<QT_A_MODEM>. */
static const char *modem_name(const struct nlattr *const *tb, char *buf, size_t len)
{
	if (tb[QT_A_MODEM_NAME])
		return mnl_attr_get_str(tb[QT_A_MODEM_NAME]);
	snprintf(buf, len, "qm%u", tb[QT_A_MODEM] ? mnl_attr_get_u32(tb[QT_A_MODEM]) : 0);
	return buf;
}

/* ---- requests ---- */

/* One request: the socket, the message, and what errors are reported as. */
struct req {
	struct nl nl;
	struct nlmsghdr *nlh;
	char what[64];
};

/*
 * Open the socket and start a request @cmd; with @modem (>= 0) it is
 * about that modem and errors say "<verb> qmN[ <arg>]", else "<verb>".
 */
static void req_start(struct req *r, uint8_t cmd, int64_t modem, uint16_t flags,
		      const char *verb, const char *arg)
{
	nl_open(&r->nl);
	r->nlh = nl_req(&r->nl, cmd, flags);
	if (modem < 0) {
		snprintf(r->what, sizeof(r->what), "%s", verb);
		return;
	}
	mnl_attr_put_u32(r->nlh, QT_A_MODEM, modem);
	snprintf(r->what, sizeof(r->what), "%s qm%u%s%s", verb, (uint32_t)modem,
		 arg ? " " : "", arg ? arg : "");
}

/* Add a string attribute; a string the message cannot hold ends qtctl. */
static void req_str(struct req *r, uint16_t type, const char *s)
{
	/* An attribute's length is 16 bits: keep well below. */
	if (strlen(s) > 32768 || !mnl_attr_put_strz_check(r->nlh, r->nl.buflen, type, s))
		die_err(E2BIG, NULL, "%s", r->what);
}

/* A request about @modem whose first attribute is the string @s. */
static void req_with_str(struct req *r, uint8_t cmd, uint32_t modem, const char *verb,
			 const char *arg, uint16_t type, const char *s)
{
	req_start(r, cmd, modem, 0, verb, arg);
	req_str(r, type, s);
}

/* "qtctl: <request>: <fmt...>" on stderr; exit status 1. */
static int __attribute__((format(printf, 2, 3))) req_fail(const struct req *r,
							   const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "qtctl: %s: ", r->what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

/* Send, print the replies with @cb, close; on failure exit 1 naming the request. */
static int req_run(struct req *r, mnl_cb_t cb, void *data)
{
	int err = nl_talk(&r->nl, r->nlh, cb, data);

	if (err)
		die_err(-err, r->nl.extack[0] ? r->nl.extack : NULL, "%s", r->what);
	nl_close(&r->nl);
	return 0;
}

/* ---- show ---- */

static int on_modem(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[QT_A_MAX + 1];
	char name[32];

	(void)data;
	if (!parse_msg(nlh, tb))
		return MNL_CB_ERROR;
	out_record_begin("name", modem_name(tb, name, sizeof(name)));
	emit_fields(tb, qt_types, modem_fields, ARRAY_SIZE(modem_fields));
	if ((tb[QT_A_MODEM_STATS] && !emit_stats(tb[QT_A_MODEM_STATS])) ||
	    (tb[QT_A_MODEM_CTXS] && !emit_ctxs(tb[QT_A_MODEM_CTXS])) ||
	    (tb[QT_A_MODEM_TIMEOUTS] && !emit_timeouts(tb[QT_A_MODEM_TIMEOUTS])))
		return MNL_CB_ERROR;
	out_record_end();
	return MNL_CB_OK;
}

int cmd_show(bool one, uint32_t modem)
{
	struct req r;

	req_start(&r, QT_CMD_MODEM_GET, one ? (int64_t)modem : -1, one ? 0 : NLM_F_DUMP, "show",
		  NULL);
	out_list_begin();
	req_run(&r, on_modem, NULL);
	out_list_end();
	return 0;
}

/* ---- changes without a reply ---- */

int cmd_ctx_set(uint32_t modem, uint8_t ctx, const char *apn, const char *user,
		const char *pass, int auth, int type)
{
	char arg[8];
	struct req r;

	snprintf(arg, sizeof(arg), "%u", ctx);
	req_start(&r, QT_CMD_CTX_SET, modem, 0, "context set", arg);
	mnl_attr_put_u8(r.nlh, QT_A_CTX_ID, ctx);
	req_str(&r, QT_A_CTX_APN, apn);
	if (user)
		req_str(&r, QT_A_CTX_USER, user);
	if (pass)
		req_str(&r, QT_A_CTX_PASSWORD, pass);
	if (auth >= 0)
		mnl_attr_put_u8(r.nlh, QT_A_CTX_AUTH, auth);
	if (type > 0)
		mnl_attr_put_u8(r.nlh, QT_A_CTX_TYPE, type);
	return req_run(&r, NULL, NULL);
}

int cmd_ctx_updown(uint32_t modem, uint8_t ctx, bool up)
{
	char arg[8];
	struct req r;

	snprintf(arg, sizeof(arg), "%u", ctx);
	req_start(&r, up ? QT_CMD_CTX_UP : QT_CMD_CTX_DOWN, modem, 0,
		  up ? "context up" : "context down", arg);
	mnl_attr_put_u8(r.nlh, QT_A_CTX_ID, ctx);
	return req_run(&r, NULL, NULL);
}

int cmd_timeout(uint32_t modem, const char *which, uint32_t ms)
{
	struct req r;

	req_with_str(&r, QT_CMD_TIMEOUT_SET, modem, "timeout", which, QT_A_TIMEOUT_CMD, which);
	mnl_attr_put_u32(r.nlh, QT_A_TIMEOUT_MS, ms);
	return req_run(&r, NULL, NULL);
}

int cmd_dialect(uint32_t modem, const char *choice)
{
	struct req r;

	req_with_str(&r, QT_CMD_DIALECT_SET, modem, "dialect", choice,
		     QT_A_MODEM_DIALECT_CHOICE, choice);
	return req_run(&r, NULL, NULL);
}

/* ---- ping ---- */

struct ping_result {
	const char *host;
	bool summary;
	uint32_t result, rcvd;	/* of the summary */
};

static bool emit_ping(const struct nlattr *nest, const char *key, const char *label,
		      struct ping_result *pr)
{
	const struct nlattr *tb[QT_PING_MAX + 1];

	if (!parse_nest(nest, ping_types, QT_PING_MAX, tb))
		return false;
	out_group_begin(key, label);
	emit_fields(tb, ping_types, ping_fields, ARRAY_SIZE(ping_fields));
	out_group_end();
	if (pr) {
		pr->summary = true;
		pr->result = tb[QT_PING_RESULT] ? mnl_attr_get_u32(tb[QT_PING_RESULT]) : 0;
		pr->rcvd = tb[QT_PING_RCVD] ? mnl_attr_get_u32(tb[QT_PING_RCVD]) : 0;
	}
	return true;
}

static int on_ping(const struct nlmsghdr *nlh, void *data)
{
	struct ping_result *pr = data;
	const struct nlattr *a, *tb[QT_A_MAX + 1];

	if (!parse_msg(nlh, tb))
		return MNL_CB_ERROR;
	out_record_begin(NULL, "ping");
	out_str("host", tb[QT_A_PING_HOST] ? mnl_attr_get_str(tb[QT_A_PING_HOST]) : pr->host);
	out_array_begin("replies");
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(a) == QT_A_PING_REPLY && !emit_ping(a, NULL, "reply", NULL))
			return MNL_CB_ERROR;
	out_array_end();
	if (tb[QT_A_PING_SUMMARY] &&
	    !emit_ping(tb[QT_A_PING_SUMMARY], "summary", "summary", pr))
		return MNL_CB_ERROR;
	out_record_end();
	return MNL_CB_OK;
}

int cmd_ping(uint32_t modem, const char *host, const struct ping_opts *po)
{
	struct ping_result pr = { .host = host };
	struct req r;

	req_with_str(&r, QT_CMD_PING, modem, "ping", NULL, QT_A_PING_HOST, host);
	if (po->count)
		mnl_attr_put_u32(r.nlh, QT_A_PING_COUNT, po->count);
	if (po->timeout_s)
		mnl_attr_put_u32(r.nlh, QT_A_PING_TIMEOUT, po->timeout_s);
	req_run(&r, on_ping, &pr);
	if (!pr.summary)
		return req_fail(&r, "no summary in the kernel's reply");
	if (pr.result)
		return req_fail(&r, "the modem failed with error %u", pr.result);
	if (!pr.rcvd)
		return req_fail(&r, "no reply");
	return 0;
}

/* ---- at ---- */

struct at_result {
	const char *line;
	char final[64];
	bool got;
};

/* One response line: raw text, or a JSON array element. */
static bool at_line(const char *p, size_t len)
{
	char *one;

	if (!out_json()) {
		out_raw_line(p, len);
		return true;
	}
	one = strndup(p, len);
	if (!one)
		return false;
	out_str(NULL, one);
	free(one);
	return true;
}

static int on_at(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[QT_A_MAX + 1];
	struct at_result *ar = data;
	const char *resp = "", *p, *eol;

	if (!parse_msg(nlh, tb))
		return MNL_CB_ERROR;
	if (tb[QT_A_AT_RESPONSE])
		resp = mnl_attr_get_str(tb[QT_A_AT_RESPONSE]);
	if (tb[QT_A_AT_FINAL])
		snprintf(ar->final, sizeof(ar->final), "%s", mnl_attr_get_str(tb[QT_A_AT_FINAL]));
	ar->got = true;
	/* Text: the modem's lines as they came, then the final result. */
	if (out_json()) {
		out_record_begin(NULL, NULL);
		out_str("command", ar->line);
		out_array_begin("response");
	}
	for (p = resp; *p; p = *eol ? eol + 1 : eol) {
		eol = strchrnul(p, '\n');
		if (!at_line(p, eol - p))
			return MNL_CB_ERROR;
	}
	if (!out_json()) {
		if (ar->final[0])
			out_raw_line(ar->final, strlen(ar->final));
		fflush(stdout);
		return MNL_CB_OK;
	}
	out_array_end();
	if (tb[QT_A_AT_FINAL])
		out_str("final", ar->final);
	out_record_end();
	return MNL_CB_OK;
}

int cmd_at(uint32_t modem, const char *line)
{
	struct at_result ar = { .line = line };
	struct req r;

	req_with_str(&r, QT_CMD_AT, modem, "at", NULL, QT_A_AT_LINE, line);
	req_run(&r, on_at, &ar);
	if (!ar.got)
		return req_fail(&r, "no reply from the kernel");
	if (strcmp(ar.final, "OK"))
		return req_fail(&r, "the modem answered %s", ar.final[0] ? ar.final : "nothing");
	return 0;
}

/* ---- monitor ---- */

struct monitor {
	unsigned long left;	/* events before we stop; 0: never */
};

static int on_event(const struct nlmsghdr *nlh, void *data)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[QT_A_MAX + 1];
	struct monitor *m = data;
	char label[32];
	unsigned int ev;

	if (g->cmd != QT_CMD_EVENT)
		return MNL_CB_OK;
	if (!parse_msg(nlh, tb))
		return MNL_CB_ERROR;
	ev = tb[QT_A_EVENT] ? mnl_attr_get_u8(tb[QT_A_EVENT]) : 0;
	if (ev < ARRAY_SIZE(event_names) && event_names[ev])
		snprintf(label, sizeof(label), "%s", event_names[ev]);
	else
		snprintf(label, sizeof(label), "event-%u", ev);
	out_record_begin("event", label);
	emit_fields(tb, qt_types, event_fields, ARRAY_SIZE(event_fields));
	out_record_end();
	if (m->left && !--m->left)
		return MNL_CB_STOP;
	return MNL_CB_OK;
}

int cmd_monitor(unsigned long count)
{
	struct monitor m = { .left = count };
	struct nl nl;
	int err;

	nl_open(&nl);
	err = nl_listen(&nl, on_event, &m);
	if (err == -ENOENT)
		die_err(ENOENT, NULL, "monitor: the family has no \"%s\" group",
			QT_GENL_MCGRP_EVENTS);
	if (err)
		die_err(-err, NULL, "monitor");
	nl_close(&nl);
	return 0;
}
