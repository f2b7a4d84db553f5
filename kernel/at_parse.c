// SPDX-License-Identifier: GPL-2.0
/*
 * at_parse - tokenizer for a Quectel modem's AT port.  See at_parse.h for
 * the token model, the echo and payload rules, the bounds and the calling
 * context.  Pure C: no kernel headers, no allocation, no globals, no
 * recursion, no floating point.
 */
#include "at_parse.h"

#define AT_INT_LIMIT	2147483647U

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ctrl(u8 c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static char to_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

/* Decimal integer in s[0..n) within [min, max]; -1 if not. */
static int parse_int(const char *s, size_t n, int min, int max, int *out)
{
	bool neg = false;
	u32 v = 0;
	size_t i = 0;

	if (n && s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == n)
		return -1;
	for (; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		if (v > (AT_INT_LIMIT + 1U) / 10U)
			return -1;
		v = v * 10U + (u32)(s[i] - '0');
		if (v > AT_INT_LIMIT + 1U)
			return -1;
	}
	if (neg) {
		if (v == AT_INT_LIMIT + 1U) {
			if (min > -(int)AT_INT_LIMIT - 1)
				return -1;
			*out = -(int)AT_INT_LIMIT - 1;
			return 0;
		}
		if (-(int)v < min || -(int)v > max)
			return -1;
		*out = -(int)v;
		return 0;
	}
	if (v > AT_INT_LIMIT || (int)v < min || (int)v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* Whether s[0..n) is "-"? digit+ (a number, maybe out of range). */
static bool looks_numeric(const char *s, size_t n)
{
	size_t i = 0;

	if (n && s[0] == '-')
		i = 1;
	if (i == n)
		return false;
	for (; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

const char *at_line_args(const char *line, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(line, prefix, n))
		return NULL;
	line += n;
	while (*line == ' ')
		line++;
	return line;
}

int at_fields_split(const char *s, size_t len, struct at_field *f, unsigned int max)
{
	unsigned int nf = 0;
	size_t i = 0;

	/* all blank: no field at all */
	while (i < len && s[i] == ' ')
		i++;
	if (i == len)
		return 0;
	i = 0;
	for (;;) {
		size_t start, end;
		bool quoted = false;

		if (nf == max)
			return -1;
		while (i < len && s[i] == ' ')
			i++;
		if (i < len && s[i] == '"') {
			start = ++i;
			while (i < len && s[i] != '"')
				i++;
			if (i == len)
				return -1;
			end = i++;
			quoted = true;
			while (i < len && s[i] == ' ')
				i++;
			if (i < len && s[i] != ',')
				return -1;
		} else {
			unsigned int depth = 0;
			bool inq = false;

			start = i;
			for (; i < len; i++) {
				char c = s[i];

				if (inq) {
					if (c == '"')
						inq = false;
				} else if (c == '"') {
					inq = true;
				} else if (c == '(') {
					depth++;
				} else if (c == ')') {
					if (!depth)
						return -1;
					depth--;
				} else if (c == ',' && !depth) {
					break;
				}
			}
			if (inq || depth)
				return -1;
			end = i;
			while (end > start && s[end - 1] == ' ')
				end--;
		}
		f[nf].s = s + start;
		f[nf].len = end - start;
		f[nf].quoted = quoted;
		nf++;
		if (i == len)
			return (int)nf;
		i++;		/* the comma */
	}
}

int at_field_int(const struct at_field *f, int min, int max, int *out)
{
	if (f->quoted || min > max)
		return -1;
	return parse_int(f->s, f->len, min, max, out);
}

int at_field_str(const struct at_field *f, char *dst, size_t dstlen)
{
	if (!dstlen)
		return -1;
	if (f->len >= dstlen || memchr(f->s, '\0', f->len)) {
		dst[0] = '\0';
		return -1;
	}
	memcpy(dst, f->s, f->len);
	dst[f->len] = '\0';
	return (int)f->len;
}

bool at_field_is(const struct at_field *f, const char *lit)
{
	return strlen(lit) == f->len && !memcmp(f->s, lit, f->len);
}

const char *at_token_kind_name(enum at_token_kind kind)
{
	switch (kind) {
	case AT_TOK_ECHO: return "ECHO";
	case AT_TOK_INFO: return "INFO";
	case AT_TOK_OK: return "OK";
	case AT_TOK_ERROR: return "ERROR";
	case AT_TOK_CME_ERROR: return "CME_ERROR";
	case AT_TOK_CMS_ERROR: return "CMS_ERROR";
	case AT_TOK_SEND_OK: return "SEND_OK";
	case AT_TOK_SEND_FAIL: return "SEND_FAIL";
	case AT_TOK_CONNECT: return "CONNECT";
	case AT_TOK_NO_CARRIER: return "NO_CARRIER";
	case AT_TOK_CLOSE_OK: return "CLOSE_OK";
	case AT_TOK_DEACT_OK: return "DEACT_OK";
	case AT_TOK_CONNECT_OK: return "CONNECT_OK";
	case AT_TOK_CONNECT_FAIL: return "CONNECT_FAIL";
	case AT_TOK_ALREADY_CONNECT: return "ALREADY_CONNECT";
	case AT_TOK_STATE: return "STATE";
	case AT_TOK_URC: return "URC";
	case AT_TOK_PROMPT: return "PROMPT";
	case AT_TOK_PAYLOAD_BEGIN: return "BEGIN";
	case AT_TOK_PAYLOAD_END: return "END";
	case AT_TOK_GARBAGE: return "GARBAGE";
	default: return "?";
	}
}

const char *at_urc_name(enum at_urc urc)
{
	switch (urc) {
	case AT_URC_NONE: return "NONE";
	case AT_URC_RECV: return "RECV";
	case AT_URC_CLOSED: return "CLOSED";
	case AT_URC_INCOMING: return "INCOMING";
	case AT_URC_INCOMING_FULL: return "INCOMING_FULL";
	case AT_URC_PDPDEACT: return "PDPDEACT";
	case AT_URC_QIURC: return "QIURC";
	case AT_URC_QIOPEN: return "QIOPEN";
	case AT_URC_QPING: return "QPING";
	case AT_URC_RDY: return "RDY";
	case AT_URC_CREG: return "CREG";
	case AT_URC_CGREG: return "CGREG";
	case AT_URC_CEREG: return "CEREG";
	case AT_URC_CPIN: return "CPIN";
	case AT_URC_CFUN: return "CFUN";
	case AT_URC_QIRDI: return "QIRDI";
	case AT_URC_QIND: return "QIND";
	case AT_URC_POWERED_DOWN: return "POWERED_DOWN";
	case AT_URC_CALL_READY: return "CALL_READY";
	case AT_URC_SMS_READY: return "SMS_READY";
	default: return "?";
	}
}

void at_parser_reset(struct at_parser *p)
{
	p->echo = false;
	p->in_payload = false;
	p->eat_lf = false;
	p->eat_sp = false;
	p->discard = AT_GARBAGE_NONE;
	p->len = 0;
	p->pay_left = 0;
	p->pay_src = AT_PAY_NONE;
	p->pay_id = -1;
	p->pay_len = -1;
	p->pay_port = -1;
	p->pay_peer[0] = '\0';
	p->line[0] = '\0';
}

void at_parser_init(struct at_parser *p, const struct at_parser_ops *ops, void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->ops = ops;
	p->ctx = ctx;
	at_parser_reset(p);
}

void at_parser_set_push(struct at_parser *p, u32 mask)
{
	p->push_mask = mask;
}

void at_parser_set_raw(struct at_parser *p, bool raw)
{
	if (raw && !p->raw) {
		/* a partial line or payload is abandoned */
		p->in_payload = false;
		p->pay_left = 0;
		p->pay_src = AT_PAY_NONE;
		p->len = 0;
		p->discard = AT_GARBAGE_NONE;
		p->eat_sp = false;
	}
	p->raw = raw;
}

void at_parser_set_ipd(struct at_parser *p, bool on)
{
	p->ipd = on;
}

void at_parser_expect_echo(struct at_parser *p, bool on)
{
	p->echo = on;
}

static void tok_init(struct at_parser *p, struct at_token *t, enum at_token_kind kind)
{
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->text = p->line;
	t->text_len = p->len;
	t->id = -1;
	t->arg = -1;
	t->code = -1;
	t->len = -1;
	t->port = -1;
	t->peer = "";
}

static void emit(struct at_parser *p, const struct at_token *t)
{
	if (p->ops && p->ops->token)
		p->ops->token(p->ctx, t);
}

static void emit_garbage(struct at_parser *p, struct at_token *t, enum at_garbage why)
{
	tok_init(p, t, AT_TOK_GARBAGE);
	t->reason = why;
	p->stats.garbage++;
	if (why == AT_GARBAGE_BADLEN)
		p->stats.bad_length++;
	p->stats.garbage_bytes += p->len;
	emit(p, t);
}

/* Line equals lit. */
static bool line_is(const struct at_parser *p, const char *lit)
{
	size_t n = strlen(lit);

	return p->len == n && !memcmp(p->line, lit, n);
}

static bool line_starts_at(const struct at_parser *p, size_t at, const char *lit)
{
	size_t n = strlen(lit);

	return p->len >= at + n && !memcmp(p->line + at, lit, n);
}

static bool line_starts(const struct at_parser *p, const char *lit)
{
	return line_starts_at(p, 0, lit);
}

/* Bytes of the line from s (a pointer into p->line) to its end. */
static size_t rest_len(const struct at_parser *p, const char *s)
{
	return (size_t)(p->line + p->len - s);
}

/* Peer address copy; false if it does not fit. */
static bool set_peer(struct at_parser *p, const char *s, size_t n)
{
	if (n >= AT_PEER_MAX || memchr(s, '\0', n))
		return false;
	memcpy(p->pay_peer, s, n);
	p->pay_peer[n] = '\0';
	return true;
}

/*
 * Enter payload mode and report AT_TOK_PAYLOAD_BEGIN (and the END at once
 * for a zero length).  State is updated before the callbacks so that they
 * may reset the parser.
 */
static void begin_payload(struct at_parser *p, struct at_token *t, enum at_payload_src src,
			  int id, int n, int port)
{
	p->stats.payloads++;
	p->pay_src = (u8)src;
	p->pay_id = id;
	p->pay_len = n;
	p->pay_port = port;
	p->pay_left = (u32)n;
	p->in_payload = n > 0;
	tok_init(p, t, AT_TOK_PAYLOAD_BEGIN);
	t->src = src;
	t->id = id;
	t->len = n;
	t->port = port;
	t->peer = p->pay_peer;
	emit(p, t);
	/* unless the callback reset the parser or entered raw mode */
	if (n == 0 && p->pay_src == (u8)src) {
		p->pay_src = AT_PAY_NONE;
		tok_init(p, t, AT_TOK_PAYLOAD_END);
		t->src = src;
		t->id = id;
		t->len = 0;
		t->port = port;
		t->peer = p->pay_peer;
		t->text = "";
		t->text_len = 0;
		emit(p, t);
	}
}

/*
 * "+QIRD:" lines.  Returns true if the line was consumed (payload or
 * garbage), false to treat it as an information line.
 */
static bool classify_qird(struct at_parser *p, struct at_token *t, const char *args)
{
	struct at_field f[4], pf;
	size_t alen = rest_len(p, args);
	int nf = at_fields_split(args, alen, f, 4);
	int n, port;

	p->pay_peer[0] = '\0';
	if (nf == 1 && looks_numeric(f[0].s, f[0].len) && !f[0].quoted) {
		if (at_field_int(&f[0], 0, AT_PAYLOAD_MAX, &n))
			goto badlen;
		begin_payload(p, t, AT_PAY_QIRD, -1, n, -1);
		return true;
	}
	if (nf != 3)
		return false;
	if (!f[0].quoted && looks_numeric(f[0].s, f[0].len)) {
		if (!f[1].quoted)
			return false;	/* <total>,<read>,<unread> */
		if (at_field_int(&f[2], 0, 65535, &port) || !set_peer(p, f[1].s, f[1].len))
			goto badfield;
		if (at_field_int(&f[0], 0, AT_PAYLOAD_MAX, &n))
			goto badlen;
		begin_payload(p, t, AT_PAY_QIRD_UDP, -1, n, port);
		return true;
	}
	/* legacy <ip>:<port>,TCP|UDP,<n> */
	if (f[0].quoted || f[1].quoted ||
	    (!at_field_is(&f[1], "TCP") && !at_field_is(&f[1], "UDP")))
		return false;
	pf = f[0];
	while (pf.len > 0 && pf.s[pf.len - 1] != ':')
		pf.len--;
	if (!pf.len)
		return false;
	pf.s += pf.len;
	pf.len = f[0].len - pf.len;
	if (at_field_int(&pf, 0, 65535, &port) || !set_peer(p, f[0].s, f[0].len - pf.len - 1))
		goto badfield;
	if (at_field_int(&f[2], 0, AT_PAYLOAD_MAX, &n))
		goto badlen;
	begin_payload(p, t, AT_PAY_LEGACY_QIRD, -1, n, port);
	return true;
badlen:
	p->pay_peer[0] = '\0';
	emit_garbage(p, t, AT_GARBAGE_BADLEN);
	return true;
badfield:
	p->pay_peer[0] = '\0';
	emit_garbage(p, t, AT_GARBAGE_FIELD);
	return true;
}

/* "+QIURC:" lines: URC, payload header or garbage. */
static void classify_qiurc(struct at_parser *p, struct at_token *t, const char *args)
{
	struct at_field f[6];
	size_t alen = rest_len(p, args);
	int nf = at_fields_split(args, alen, f, 6);
	int id, n, port, arg;

	tok_init(p, t, AT_TOK_URC);
	t->urc = AT_URC_QIURC;
	if (nf < 1 || !f[0].quoted) {
		emit(p, t);
		return;
	}
	if (at_field_is(&f[0], "recv")) {
		if (nf < 2 || nf == 4 || nf > 5 || at_field_int(&f[1], 0, AT_CONNID_MAX, &id))
			goto bad;
		p->pay_peer[0] = '\0';
		port = -1;
		if (nf == 5 && (!f[3].quoted || at_field_int(&f[4], 0, 65535, &port) ||
				!set_peer(p, f[3].s, f[3].len)))
			goto bad;
		if (nf >= 3 && (p->push_mask & (1U << id))) {
			if (at_field_int(&f[2], 0, AT_PAYLOAD_MAX, &n)) {
				p->pay_peer[0] = '\0';
				emit_garbage(p, t, AT_GARBAGE_BADLEN);
				return;
			}
			begin_payload(p, t, nf == 5 ? AT_PAY_PUSH_UDP : AT_PAY_PUSH, id, n, port);
			return;
		}
		n = -1;
		if (nf >= 3 && at_field_int(&f[2], 0, 0x7fffffff, &n))
			goto bad;
		t->urc = AT_URC_RECV;
		t->id = id;
		t->len = n;
		t->port = port;
		t->peer = p->pay_peer;
		emit(p, t);
		return;
	}
	if (at_field_is(&f[0], "closed")) {
		if (nf != 2 || at_field_int(&f[1], 0, AT_CONNID_MAX, &id))
			goto bad;
		t->urc = AT_URC_CLOSED;
		t->id = id;
	} else if (at_field_is(&f[0], "incoming full")) {
		if (nf != 2 || at_field_int(&f[1], 0, AT_CONNID_MAX, &id))
			goto bad;
		t->urc = AT_URC_INCOMING_FULL;
		t->id = id;
	} else if (at_field_is(&f[0], "incoming")) {
		if (nf != 5 || at_field_int(&f[1], 0, AT_CONNID_MAX, &id) ||
		    at_field_int(&f[2], 0, AT_CONNID_MAX, &arg) || !f[3].quoted ||
		    at_field_int(&f[4], 0, 65535, &port) || !set_peer(p, f[3].s, f[3].len))
			goto bad;
		t->urc = AT_URC_INCOMING;
		t->id = id;
		t->arg = arg;
		t->port = port;
		t->peer = p->pay_peer;
	} else if (at_field_is(&f[0], "pdpdeact")) {
		if (nf != 2 || at_field_int(&f[1], 1, 16, &id))
			goto bad;
		t->urc = AT_URC_PDPDEACT;
		t->id = id;
	}
	emit(p, t);
	return;
bad:
	p->pay_peer[0] = '\0';
	emit_garbage(p, t, AT_GARBAGE_FIELD);
}

/* "<index>, <result>" of the legacy multi-connection mode, or -1. */
static int legacy_index(const struct at_parser *p, const char **rest)
{
	size_t i = 0;
	int id;

	while (i < p->len && is_digit(p->line[i]))
		i++;
	if (!i || i > 2 || i >= p->len || p->line[i] != ',')
		return -1;
	if (parse_int(p->line, i, 0, AT_CONNID_MAX, &id))
		return -1;
	i++;
	while (i < p->len && p->line[i] == ' ')
		i++;
	*rest = p->line + i;
	return id;
}

struct at_word {
	enum at_token_kind kind;
	enum at_urc urc;
};

/* Exact-match lines; looked up by a function, so no table in data. */
static bool match_word(const char *s, struct at_word *w)
{
	w->urc = AT_URC_NONE;
	if (!strcmp(s, "OK"))
		w->kind = AT_TOK_OK;
	else if (!strcmp(s, "ERROR"))
		w->kind = AT_TOK_ERROR;
	else if (!strcmp(s, "SEND OK"))
		w->kind = AT_TOK_SEND_OK;
	else if (!strcmp(s, "SEND FAIL"))
		w->kind = AT_TOK_SEND_FAIL;
	else if (!strcmp(s, "NO CARRIER"))
		w->kind = AT_TOK_NO_CARRIER;
	else if (!strcmp(s, "CLOSE OK"))
		w->kind = AT_TOK_CLOSE_OK;
	else if (!strcmp(s, "DEACT OK"))
		w->kind = AT_TOK_DEACT_OK;
	else if (!strcmp(s, "CONNECT OK"))
		w->kind = AT_TOK_CONNECT_OK;
	else if (!strcmp(s, "CONNECT FAIL"))
		w->kind = AT_TOK_CONNECT_FAIL;
	else if (!strcmp(s, "ALREADY CONNECT"))
		w->kind = AT_TOK_ALREADY_CONNECT;
	else if (!strcmp(s, "CLOSED"))
		w->urc = AT_URC_CLOSED;
	else if (!strcmp(s, "RDY"))
		w->urc = AT_URC_RDY;
	else if (!strcmp(s, "+PDP DEACT"))
		w->urc = AT_URC_PDPDEACT;
	else if (!strcmp(s, "POWERED DOWN") || !strcmp(s, "NORMAL POWER DOWN"))
		w->urc = AT_URC_POWERED_DOWN;
	else if (!strcmp(s, "Call Ready"))
		w->urc = AT_URC_CALL_READY;
	else if (!strcmp(s, "SMS Ready"))
		w->urc = AT_URC_SMS_READY;
	else
		return false;
	if (w->urc != AT_URC_NONE)
		w->kind = AT_TOK_URC;
	return true;
}

static bool is_final(enum at_token_kind kind)
{
	return kind >= AT_TOK_OK && kind <= AT_TOK_DEACT_OK;
}

static bool is_result(enum at_token_kind kind)
{
	return kind >= AT_TOK_OK && kind <= AT_TOK_ALREADY_CONNECT;
}

static void emit_line(struct at_parser *p, struct at_token *t)
{
	if (is_result(t->kind))
		p->echo = false;
	if (is_final(t->kind))
		t->flags |= AT_TOKF_FINAL;
	emit(p, t);
}

/*
 * +QIOPEN: id,err, +QPING: result[,...] and legacy +QIRDI: ctx,sc,index.
 * A function of its own with one field array, so that classify_line()'s
 * stack frame stays small (KASAN gives every array its own red zones).
 */
static noinline bool classify_numeric_urc(struct at_parser *p, struct at_token *t)
{
	struct at_field f[8];
	const char *a;
	int id, code, ctx, sc;

	a = at_line_args(p->line, "+QIOPEN:");
	if (a) {
		if (at_fields_split(a, rest_len(p, a), f, 3) == 2 &&
		    !at_field_int(&f[0], 0, AT_CONNID_MAX, &id) &&
		    !at_field_int(&f[1], 0, 0x7fffffff, &code)) {
			tok_init(p, t, AT_TOK_URC);
			t->urc = AT_URC_QIOPEN;
			t->id = id;
			t->code = code;
			emit(p, t);
			return true;
		}
		return false;
	}
	a = at_line_args(p->line, "+QPING:");
	if (a) {
		if (at_fields_split(a, rest_len(p, a), f, 8) >= 1 &&
		    !at_field_int(&f[0], 0, 0x7fffffff, &code)) {
			tok_init(p, t, AT_TOK_URC);
			t->urc = AT_URC_QPING;
			t->code = code;
			emit(p, t);
			return true;
		}
		return false;
	}
	a = at_line_args(p->line, "+QIRDI:");
	if (a) {
		if (at_fields_split(a, rest_len(p, a), f, 6) >= 3 &&
		    !at_field_int(&f[0], 0, 16, &ctx) &&
		    !at_field_int(&f[1], 0, 0x7fffffff, &sc) &&
		    !at_field_int(&f[2], 0, AT_CONNID_MAX, &id)) {
			tok_init(p, t, AT_TOK_URC);
			t->urc = AT_URC_QIRDI;
			t->id = id;
			t->arg = sc;
			emit(p, t);
			return true;
		}
	}
	return false;
}

/* A complete line in p->line (NUL-terminated, p->len bytes, no CR/LF). */
static void classify_line(struct at_parser *p)
{
	struct at_token t;
	struct at_word w;
	const char *a;
	int id, code;

	if (p->echo && p->len >= 2 && to_upper(p->line[0]) == 'A' && to_upper(p->line[1]) == 'T') {
		p->echo = false;
		tok_init(p, &t, AT_TOK_ECHO);
		emit(p, &t);
		return;
	}

	if (match_word(p->line, &w)) {
		tok_init(p, &t, w.kind);
		t.urc = w.urc;
		emit_line(p, &t);
		return;
	}

	a = at_line_args(p->line, "+QIURC:");
	if (a) {
		classify_qiurc(p, &t, a);
		return;
	}
	a = at_line_args(p->line, "+QIRD:");
	if (a && classify_qird(p, &t, a))
		return;

	if (line_starts(p, "+CME ERROR:") || line_starts(p, "+CMS ERROR:")) {
		struct at_field f = { p->line + 11, 0, false };

		/* both prefixes are 11 bytes long */
		tok_init(p, &t, p->line[3] == 'E' ? AT_TOK_CME_ERROR : AT_TOK_CMS_ERROR);
		while (*f.s == ' ')
			f.s++;
		f.len = rest_len(p, f.s);
		while (f.len && f.s[f.len - 1] == ' ')
			f.len--;
		if (!at_field_int(&f, 0, 0x7fffffff, &code))
			t.code = code;
		emit_line(p, &t);
		return;
	}
	if (line_is(p, "CONNECT") || line_starts(p, "CONNECT ")) {
		tok_init(p, &t, AT_TOK_CONNECT);
		emit_line(p, &t);
		return;
	}
	if (line_starts(p, "STATE:")) {
		tok_init(p, &t, AT_TOK_STATE);
		emit_line(p, &t);
		return;
	}

	id = legacy_index(p, &a);
	if (id >= 0 && match_word(a, &w) &&
	    (is_result(w.kind) || w.urc == AT_URC_CLOSED)) {
		tok_init(p, &t, w.kind);
		t.urc = w.urc;
		t.id = id;
		emit_line(p, &t);
		return;
	}

	if (classify_numeric_urc(p, &t))
		return;

	tok_init(p, &t, AT_TOK_INFO);
	if (line_starts(p, "+CREG:"))
		t.urc = AT_URC_CREG;
	else if (line_starts(p, "+CGREG:"))
		t.urc = AT_URC_CGREG;
	else if (line_starts(p, "+CEREG:"))
		t.urc = AT_URC_CEREG;
	else if (line_starts(p, "+CPIN:"))
		t.urc = AT_URC_CPIN;
	else if (line_starts(p, "+CFUN:"))
		t.urc = AT_URC_CFUN;
	if (t.urc != AT_URC_NONE) {
		t.kind = AT_TOK_URC;
		t.flags = AT_TOKF_MAYBE_RESPONSE;
	} else if (line_starts(p, "+QIND:")) {
		t.kind = AT_TOK_URC;
		t.urc = AT_URC_QIND;
	}
	emit(p, &t);
}

/* End of a line (CR or LF seen, or an IPD header's colon). */
static void end_line(struct at_parser *p)
{
	struct at_token t;
	u8 why = p->discard;

	p->line[p->len] = '\0';
	p->discard = AT_GARBAGE_NONE;
	if (why == AT_GARBAGE_BADLEN || (why == AT_GARBAGE_NONE && !p->len)) {
		/* empty, or already reported when the line went bad */
		p->len = 0;
		return;
	}
	p->stats.lines++;
	if (why == AT_GARBAGE_NONE)
		classify_line(p);
	else
		emit_garbage(p, &t, why);
	p->len = 0;
}

/* Legacy "IPD<n>[TCP|UDP]" in the line buffer, the ':' just seen. */
static bool try_ipd(struct at_parser *p)
{
	struct at_token t;
	size_t i = 3, d;
	int n;

	if (!p->ipd || p->discard || p->len >= AT_LINE_MAX - 1 || !line_starts(p, "IPD"))
		return false;
	while (i < p->len && is_digit(p->line[i]))
		i++;
	d = i;
	if (d == 3)
		return false;
	/* optional protocol (AT+QISHOWPT=1) */
	if (i + 3 == p->len && (line_starts_at(p, i, "TCP") || line_starts_at(p, i, "UDP")))
		i += 3;
	if (i != p->len)
		return false;
	p->line[p->len++] = ':';
	p->line[p->len] = '\0';
	p->stats.lines++;
	p->pay_peer[0] = '\0';
	if (parse_int(p->line + 3, d - 3, 0, AT_PAYLOAD_MAX, &n)) {
		/* the rest of the line is dropped as well */
		emit_garbage(p, &t, AT_GARBAGE_BADLEN);
		p->discard = AT_GARBAGE_BADLEN;
		return true;
	}
	begin_payload(p, &t, AT_PAY_LEGACY_IPD, -1, n, -1);
	p->len = 0;
	return true;
}

void at_parser_feed(struct at_parser *p, const u8 *buf, size_t len)
{
	while (len) {
		u8 c;

		if (p->eat_lf) {
			p->eat_lf = false;
			if (buf[0] == '\n') {
				buf++;
				len--;
				continue;
			}
		}
		if (p->raw) {
			if (p->ops && p->ops->payload)
				p->ops->payload(p->ctx, buf, len);
			return;
		}
		if (p->in_payload) {
			size_t n = len < p->pay_left ? len : p->pay_left;
			bool done = n == p->pay_left;
			struct at_token t;

			p->pay_left -= (u32)n;
			p->in_payload = !done;
			if (p->ops && p->ops->payload)
				p->ops->payload(p->ctx, buf, n);
			buf += n;
			len -= n;
			/* the callback may have reset the parser (pay_src cleared) */
			if (done && p->pay_src != AT_PAY_NONE) {
				tok_init(p, &t, AT_TOK_PAYLOAD_END);
				t.src = p->pay_src;
				t.id = p->pay_id;
				t.len = p->pay_len;
				t.port = p->pay_port;
				t.peer = p->pay_peer;
				t.text = "";
				t.text_len = 0;
				p->pay_src = AT_PAY_NONE;
				emit(p, &t);
			}
			continue;
		}

		c = *buf++;
		len--;
		if (p->eat_sp) {
			p->eat_sp = false;
			if (c == ' ')
				continue;
		}
		if (c == '\r' || c == '\n') {
			p->eat_lf = c == '\r';
			end_line(p);
			continue;
		}
		if (!p->len && p->discard == AT_GARBAGE_NONE) {
			if (c == 0 || c == 0xff) {
				p->stats.garbage_bytes++;
				continue;
			}
			if (c == '>') {
				struct at_token t;

				p->eat_sp = true;
				tok_init(p, &t, AT_TOK_PROMPT);
				t.text = ">";
				t.text_len = 1;
				emit(p, &t);
				continue;
			}
		}
		if (p->discard == AT_GARBAGE_BADLEN) {
			p->stats.garbage_bytes++;
			continue;
		}
		if (c == ':' && try_ipd(p))
			continue;
		if (p->len >= AT_LINE_MAX - 1) {
			if (p->discard != AT_GARBAGE_OVERLONG)
				p->stats.overlong++;
			p->discard = AT_GARBAGE_OVERLONG;
			p->stats.garbage_bytes++;
			continue;
		}
		if (is_ctrl(c)) {
			if (p->discard == AT_GARBAGE_NONE)
				p->discard = AT_GARBAGE_CTRL;
			c = '.';
		}
		p->line[p->len++] = (char)c;
	}
}
