// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of kernel/at_parse.c.
 *
 * Each check() feeds one input through the parser whole, split in two at
 * every byte boundary, and byte by byte, renders every run's tokens and
 * payload bytes into one string (see render_tok()) and asserts that all runs
 * give the same string and that it equals the expected one.  The recorder
 * also checks the invariants of every callback (text NUL-terminated and
 * within bounds, payload bytes only between BEGIN and END and exactly as many
 * as announced).
 *
 * Rendering: tokens are separated by '|'.  ECHO is "E", INFO "I:<text>",
 * URC "U/<SUBTYPE>", PAYLOAD_BEGIN "B/<SRC>", PAYLOAD_END "END", GARBAGE
 * "G/<REASON>", PROMPT ">", the others their kind name; then "#<id>",
 * " arg=", " code=", " len=", " peer=", " port=" for the fields that are
 * set, then ":<text>" for kinds whose text matters.  Payload bytes are
 * D"..." with consecutive chunks merged, bytes outside 0x20..0x7e (and '"',
 * '\\') as \xNN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>

#include "kselftest_harness.h"
#include "at_parse.h"

#define OUT_MAX 65536

struct cfg {
	u32 push;		/* direct push mask */
	bool ipd;		/* legacy IPD headers */
	bool echo;		/* expect an echo at start and after each final */
	bool raw_on_connect;	/* CONNECT switches to raw mode */
	long raw_off_at;	/* input offset where raw mode is left, or -1 */
	bool reset_on_begin;	/* PAYLOAD_BEGIN resets the parser */
	bool reset_on_rdy;	/* RDY resets the parser */
};

static const struct cfg cfg_echo = { .echo = true, .raw_off_at = -1 };
static const struct cfg cfg_plain = { .raw_off_at = -1 };

struct rec {
	struct at_parser p;
	const struct cfg *cfg;
	char out[OUT_MAX];
	size_t n;
	bool in_data;
	bool raw_off_done;
	/* invariants */
	char err[256];
	bool in_pay;
	struct at_token begin;
	long pay_got;
};

static struct rec rec_ref, rec_run;

static void put(struct rec *r, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (r->n >= OUT_MAX - 1)
		return;
	va_start(ap, fmt);
	k = vsnprintf(r->out + r->n, OUT_MAX - r->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		r->n += (size_t)k < OUT_MAX - r->n ? (size_t)k : OUT_MAX - 1 - r->n;
}

static void fail(struct rec *r, const char *what)
{
	if (!r->err[0])
		snprintf(r->err, sizeof(r->err), "%s", what);
}

static const char *src_name(enum at_payload_src s)
{
	static const char *const names[] = {
		"NONE", "QIRD", "QIRD_UDP", "PUSH", "PUSH_UDP", "LEGACY_QIRD", "LEGACY_IPD",
	};
	return s < AT_PAY_NR ? names[s] : "?";
}

static const char *reason_name(enum at_garbage g)
{
	static const char *const names[] = {
		"NONE", "OVERLONG", "CTRL", "BADLEN", "FIELD",
	};
	return g < AT_GARBAGE_NR ? names[g] : "?";
}

static bool text_matters(const struct at_token *t)
{
	switch (t->kind) {
	case AT_TOK_INFO:
	case AT_TOK_STATE:
	case AT_TOK_CONNECT:
	case AT_TOK_GARBAGE:
		return true;
	case AT_TOK_URC:
		return t->urc == AT_URC_QIURC || t->urc == AT_URC_QIND ||
		       (t->flags & AT_TOKF_MAYBE_RESPONSE);
	default:
		return false;
	}
}

static void render_tok(struct rec *r, const struct at_token *t)
{
	if (r->n)
		put(r, "|");
	r->in_data = false;
	switch (t->kind) {
	case AT_TOK_ECHO:
		put(r, "E");
		break;
	case AT_TOK_INFO:
		put(r, "I");
		break;
	case AT_TOK_URC:
		put(r, "U/%s", at_urc_name(t->urc));
		break;
	case AT_TOK_PAYLOAD_BEGIN:
		put(r, "B/%s", src_name(t->src));
		break;
	case AT_TOK_PAYLOAD_END:
		put(r, "END");
		return;
	case AT_TOK_GARBAGE:
		put(r, "G/%s", reason_name(t->reason));
		break;
	case AT_TOK_PROMPT:
		put(r, ">");
		break;
	default:
		put(r, "%s", at_token_kind_name(t->kind));
		break;
	}
	if (t->id >= 0)
		put(r, "#%d", t->id);
	if (t->arg >= 0)
		put(r, " arg=%d", t->arg);
	if (t->code >= 0)
		put(r, " code=%d", t->code);
	if (t->len >= 0)
		put(r, " len=%d", t->len);
	if (t->peer[0])
		put(r, " peer=%s", t->peer);
	if (t->port >= 0)
		put(r, " port=%d", t->port);
	if (text_matters(t))
		put(r, ":%s", t->text);
}

static void on_token(void *ctx, const struct at_token *t)
{
	struct rec *r = ctx;

	if (!t->text || !t->peer) {
		fail(r, "NULL text/peer");
		return;
	}
	if (t->text_len >= AT_LINE_MAX || strlen(t->text) != t->text_len)
		fail(r, "text length/NUL");
	if (strlen(t->peer) >= AT_PEER_MAX)
		fail(r, "peer length");
	if (t->kind >= AT_TOK_NR || t->urc >= AT_URC_NR || t->src >= AT_PAY_NR ||
	    t->reason >= AT_GARBAGE_NR)
		fail(r, "enum out of range");
	if ((t->kind == AT_TOK_URC) != (t->urc != AT_URC_NONE))
		fail(r, "urc subtype without URC kind");
	if (t->kind == AT_TOK_PAYLOAD_BEGIN) {
		if (r->in_pay)
			fail(r, "nested BEGIN");
		if (t->len < 0 || t->len > AT_PAYLOAD_MAX)
			fail(r, "BEGIN length");
		r->in_pay = true;
		r->begin = *t;
		r->pay_got = 0;
	} else if (t->kind == AT_TOK_PAYLOAD_END) {
		if (!r->in_pay)
			fail(r, "END without BEGIN");
		else if (r->pay_got != t->len || t->len != r->begin.len ||
			 t->id != r->begin.id || t->src != r->begin.src ||
			 t->port != r->begin.port)
			fail(r, "END does not match BEGIN");
		r->in_pay = false;
	} else if (r->in_pay) {
		fail(r, "token inside payload");
	}
	render_tok(r, t);

	/* the next command is sent after a final or a legacy result */
	if (r->cfg->echo && t->kind >= AT_TOK_OK && t->kind <= AT_TOK_ALREADY_CONNECT)
		at_parser_expect_echo(&r->p, true);
	if (r->cfg->raw_on_connect && t->kind == AT_TOK_CONNECT)
		at_parser_set_raw(&r->p, true);
	if ((r->cfg->reset_on_begin && t->kind == AT_TOK_PAYLOAD_BEGIN) ||
	    (r->cfg->reset_on_rdy && t->urc == AT_URC_RDY)) {
		at_parser_reset(&r->p);
		r->in_pay = false;
	}
}

static void on_payload(void *ctx, const u8 *data, size_t len)
{
	struct rec *r = ctx;
	size_t i;

	if (!len)
		fail(r, "empty payload chunk");
	if (r->in_pay) {
		r->pay_got += (long)len;
		if (r->pay_got > r->begin.len)
			fail(r, "payload longer than announced");
	} else if (!r->p.raw) {
		fail(r, "payload outside BEGIN/END and not raw");
	}
	if (!r->in_data) {
		put(r, "%sD\"", r->n ? "|" : "");
		r->in_data = true;
	} else if (r->n && r->out[r->n - 1] == '"') {
		r->n--;		/* merge with the previous chunk */
	}
	for (i = 0; i < len; i++) {
		u8 c = data[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			put(r, "%c", c);
		else
			put(r, "\\x%02x", c);
	}
	put(r, "\"");
}

static const struct at_parser_ops rec_ops = {
	.token = on_token,
	.payload = on_payload,
};

static void rec_start(struct rec *r, const struct cfg *cfg)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	at_parser_init(&r->p, &rec_ops, r);
	at_parser_set_push(&r->p, cfg->push);
	at_parser_set_ipd(&r->p, cfg->ipd);
	at_parser_expect_echo(&r->p, cfg->echo);
}

/* Feed in[pos..pos+len), leaving raw mode exactly at cfg->raw_off_at. */
static void rec_feed(struct rec *r, const u8 *in, size_t pos, size_t len)
{
	long off = r->cfg->raw_off_at;

	if (off >= 0 && !r->raw_off_done && (size_t)off >= pos && (size_t)off < pos + len) {
		size_t k = (size_t)off - pos;

		if (k)
			at_parser_feed(&r->p, in + pos, k);
		at_parser_set_raw(&r->p, false);
		r->raw_off_done = true;
		at_parser_feed(&r->p, in + off, len - k);
		return;
	}
	at_parser_feed(&r->p, in + pos, len);
}

static void rec_end(struct rec *r)
{
	if (r->cfg->raw_off_at >= 0 && !r->raw_off_done)
		at_parser_set_raw(&r->p, false);
	r->out[r->n] = '\0';
}

static void check_cfg(struct __test_metadata *_metadata, const struct cfg *cfg,
		      const char *in_s, size_t n, const char *expect)
{
	const u8 *in = (const u8 *)in_s;
	size_t k, i;

	rec_start(&rec_ref, cfg);
	rec_feed(&rec_ref, in, 0, n);
	rec_end(&rec_ref);
	EXPECT_STREQ("", rec_ref.err);
	ASSERT_STREQ(expect, rec_ref.out);

	for (k = 1; k < n; k++) {
		rec_start(&rec_run, cfg);
		rec_feed(&rec_run, in, 0, k);
		rec_feed(&rec_run, in, k, n - k);
		rec_end(&rec_run);
		ASSERT_STREQ("", rec_run.err) TH_LOG("split at %zu", k);
		ASSERT_STREQ(rec_ref.out, rec_run.out) TH_LOG("split at %zu", k);
	}
	rec_start(&rec_run, cfg);
	for (i = 0; i < n; i++)
		rec_feed(&rec_run, in, i, 1);
	rec_end(&rec_run);
	ASSERT_STREQ("", rec_run.err) TH_LOG("byte by byte");
	ASSERT_STREQ(rec_ref.out, rec_run.out) TH_LOG("byte by byte");

	/* three pieces at a few pseudo-random points */
	for (i = 0; n > 2 && i < 64; i++) {
		size_t a = (i * 7919 + 13) % (n - 1) + 1;
		size_t b = (i * 104729 + 7) % (n - 1) + 1;

		if (a > b) {
			size_t t = a;

			a = b;
			b = t;
		}
		rec_start(&rec_run, cfg);
		rec_feed(&rec_run, in, 0, a);
		if (b > a)
			rec_feed(&rec_run, in, a, b - a);
		rec_feed(&rec_run, in, b, n - b);
		rec_end(&rec_run);
		ASSERT_STREQ(rec_ref.out, rec_run.out) TH_LOG("split at %zu,%zu", a, b);
	}
}

#define CHECK(cfg, in, expect) check_cfg(_metadata, cfg, in, sizeof(in) - 1, expect)
/* a transcript with echo on: echo expected at start and after every final */
#define CHECK_ECHO(in, expect) CHECK(&cfg_echo, in, expect)
#define CHECK_PLAIN(in, expect) CHECK(&cfg_plain, in, expect)

#define R(s) "\r\n" s "\r\n"		/* one response line as the modem frames it */
#define C(s) s "\r"			/* the echo of one command line */

/* ------------------------------------------------------------------ */
/* Legacy dialect (spec/000_989d4a808eb50338.txt), chapter by chapter */

TEST(legacy_2_init)
{
	CHECK_ECHO(C("AT+IPR=115200&W") R("OK")
		   C("AT+CPIN?") R("+CPIN:READY") R("OK")
		   C("AT+CREG?") R("+CREG: 0,1") R("OK")
		   C("AT+CGATT?") R("+CGATT: 1") R("OK")
		   C("AT+QIFGCNT=0") R("OK")
		   C("AT+QICSGP=1,\"CMNET\"") R("OK"),
		   "E|OK|E|U/CPIN:+CPIN:READY|OK|E|U/CREG:+CREG: 0,1|OK|E|I:+CGATT: 1|OK|"
		   "E|OK|E|OK");
}

TEST(legacy_2_options)
{
	CHECK_ECHO(C("AT+QIDNSIP=1") R("OK") C("AT+QINDI=1") R("OK")
		   C("AT+QIHEAD=1") R("OK") C("AT+QISHOWRA=1") R("OK")
		   C("AT+QISHOWPT=1") R("OK") C("AT+QIMODE=1") R("OK")
		   C("AT+QITCFG=3,2,512,1") R("OK"),
		   "E|OK|E|OK|E|OK|E|OK|E|OK|E|OK|E|OK");
}

TEST(legacy_3_open_tcp)
{
	CHECK_ECHO(C("AT+QIOPEN=\"TCP\",\"116.226.39.202\",\"7007\"") R("OK") R("CONNECT OK"),
		   "E|OK|CONNECT_OK");
}

TEST(legacy_3_open_errors)
{
	CHECK_ECHO(C("AT+QIOPEN=\"TCP\",\"116.226.39.202\",\"7007\"") R("ERROR")
		   C("AT+QIMUX?") R("+QIMUX: 0") R("OK")
		   C("AT+QISTAT") R("OK") R("STATE: TCP CONNECTING")
		   C("AT+QICLOSE") R("CLOSE OK")
		   C("AT+QIOPEN=\"TCP\",\"116.226.39.202\",\"7007\"") R("ALREADY CONNECT")
		   C("AT+QIOPEN=\"TCP\",\"116.226.39.202\",\"7007\"") R("OK") R("CONNECT FAIL"),
		   "E|ERROR|E|I:+QIMUX: 0|OK|E|OK|STATE:STATE: TCP CONNECTING|E|CLOSE_OK|"
		   "E|ALREADY_CONNECT|E|OK|CONNECT_FAIL");
}

TEST(legacy_3_open_udp)
{
	CHECK_ECHO(C("AT+QIOPEN=\"UDP\",\"116.226.39.202\",\"7007\"") R("OK") "\r\nCONNECT OK\r\n",
		   "E|OK|CONNECT_OK");
}

TEST(legacy_4_1_send)
{
	/* the data after the prompt is ours; the modem answers SEND OK */
	CHECK_ECHO(C("AT+QISEND") "\r\n> " R("SEND OK")
		   C("AT+QISACK") R("+QISACK: 4, 4, 0") R("OK"),
		   "E|>|SEND_OK|E|I:+QISACK: 4, 4, 0|OK");
}

TEST(legacy_4_2_send_len)
{
	CHECK_ECHO(C("AT+QISEND=3") "\r\n>" R("SEND OK")
		   C("AT+QISACK") R("+QISACK: 17, 17, 0") R("OK"),
		   "E|>|SEND_OK|E|I:+QISACK: 17, 17, 0|OK");
}

TEST(legacy_5_1_direct_output)
{
	static const struct cfg c = { .ipd = true, .raw_off_at = -1 };

	CHECK(&c, "\r\nRECV FROM:116.228.146.250:7070\r\n"
	      "IPD36TCP:1234567890abcdefghijklmnopqrstuvwxyz",
	      "I:RECV FROM:116.228.146.250:7070|B/LEGACY_IPD len=36|"
	      "D\"1234567890abcdefghijklmnopqrstuvwxyz\"|END");
}

TEST(legacy_5_1_ipd_variants)
{
	static const struct cfg c = { .ipd = true, .raw_off_at = -1 };

	CHECK(&c, "IPD3:\r\n>IPD4UDP:OK\r\nIPD0TCP:\r\nOK\r\n",
	      "B/LEGACY_IPD len=3|D\"\\x0d\\x0a>\"|END|B/LEGACY_IPD len=4|D\"OK\\x0d\\x0a\"|END|"
	      "B/LEGACY_IPD len=0|END|OK");
	/* without at_parser_set_ipd() it is an ordinary line */
	CHECK_PLAIN("IPD3:abc\r\n", "I:IPD3:abc");
	/* not a header: no digits, other protocol, text before */
	CHECK(&c, "IPD:x\r\nIPD3SCTP:abc\r\nxIPD3:abc\r\n",
	      "I:IPD:x|I:IPD3SCTP:abc|I:xIPD3:abc");
}

TEST(legacy_5_2_buffered_read)
{
	CHECK_ECHO(R("+QIRDI:0,1,0")
		   C("AT+QIRD=0,1,0,1024")
		   "\r\n+QIRD:116.228.146.250:7070,TCP,36\r\n"
		   "1234567890abcdefghijklmnopqrstuvwxyz" R("OK"),
		   "U/QIRDI#0 arg=1|E|B/LEGACY_QIRD len=36 peer=116.228.146.250 port=7070|"
		   "D\"1234567890abcdefghijklmnopqrstuvwxyz\"|END|OK");
}

TEST(legacy_6_keepalive)
{
	CHECK_ECHO(C("AT+QISACK") R("+QISACK: 1448, 1448, 0") R("OK")
		   C("AT+QISEND") "\r\n> " R("SEND OK")
		   C("AT+QISACK") R("+QISACK: 1484,1448,36") R("OK")
		   C("AT+QISACK") R("+QISACK: 1484,1484,0") R("OK")
		   C("AT+QISEND") "\r\n> " R("SEND OK")
		   C("AT+QISACK") R("+QISACK: 1491,1491,0") R("OK"),
		   "E|I:+QISACK: 1448, 1448, 0|OK|E|>|SEND_OK|E|I:+QISACK: 1484,1448,36|OK|"
		   "E|I:+QISACK: 1484,1484,0|OK|E|>|SEND_OK|E|I:+QISACK: 1491,1491,0|OK");
}

TEST(legacy_7_close)
{
	CHECK_ECHO(C("AT+QICLOSE") R("CLOSE OK") C("AT+QIDEACT") R("DEACT OK"),
		   "E|CLOSE_OK|E|DEACT_OK");
}

TEST(legacy_8_transparent)
{
	/* CONNECT switches to raw; "+++" is sent at offset X, raw is left */
	static const char in[] = C("AT+QIOPEN=\"TCP\",\"116.226.39.202\",\"7007\"") R("OK")
		R("CONNECT") "abcdefghijklmnopqrstuvwxyz1234567890" "\r\nOK\r\n";
	struct cfg c = { .echo = true, .raw_on_connect = true };

	c.raw_off_at = (long)(strstr(in, "890") - in) + 3;
	CHECK(&c, in, "E|OK|CONNECT:CONNECT|D\"abcdefghijklmnopqrstuvwxyz1234567890\"|OK");
}

TEST(legacy_8_2_closed)
{
	CHECK_ECHO(R("CLOSED") R("+PDP DEACT") C("AT+QIDEACT") R("DEACT OK"),
		   "U/CLOSED|U/PDPDEACT|E|DEACT_OK");
}

TEST(legacy_multi_connection)
{
	CHECK_ECHO(C("AT+QIMUX=1") R("OK")
		   C("AT+QIOPEN=0,\"TCP\",\"1.2.3.4\",\"80\"") R("OK") R("0, CONNECT OK")
		   C("AT+QIOPEN=1,\"TCP\",\"1.2.3.4\",\"81\"") R("OK") R("1, CONNECT FAIL")
		   C("AT+QIOPEN=0,\"TCP\",\"1.2.3.4\",\"80\"") R("0, ALREADY CONNECT")
		   C("AT+QISACK=0") R("+QISACK: 10, 5, 5") R("OK")
		   R("+QIRDI: 0,1,2") R("3, CLOSED")
		   C("AT+QICLOSE=2") R("2, CLOSE OK") R("5,SEND OK") R("5, SEND FAIL"),
		   "E|OK|E|OK|CONNECT_OK#0|E|OK|CONNECT_FAIL#1|E|ALREADY_CONNECT#0|"
		   "E|I:+QISACK: 10, 5, 5|OK|U/QIRDI#2 arg=1|U/CLOSED#3|E|CLOSE_OK#2|"
		   "SEND_OK#5|SEND_FAIL#5");
	/* not an index form */
	CHECK_PLAIN(R("123, CLOSED") R("1, FOO") R("1 CLOSED") R(", CLOSED"),
		    "I:123, CLOSED|I:1, FOO|I:1 CLOSED|I:, CLOSED");
}

TEST(legacy_state)
{
	CHECK_ECHO(C("AT+QISTAT") R("OK") R("STATE: IP INITIAL")
		   C("AT+QISTAT") R("OK") R("STATE: IP STATUS")
		   C("AT+QISTAT") R("OK") R("STATE: IP CLOSE"),
		   "E|OK|STATE:STATE: IP INITIAL|E|OK|STATE:STATE: IP STATUS|"
		   "E|OK|STATE:STATE: IP CLOSE");
}

TEST(legacy_qird_binary)
{
	CHECK_PLAIN("\r\n+QIRD: 10.0.0.1:53,UDP,9\r\n\r\nOK\r\n\0> \r\n\r\nOK\r\n",
		    "B/LEGACY_QIRD len=9 peer=10.0.0.1 port=53|D\"\\x0d\\x0aOK\\x0d\\x0a\\x00> \"|"
		    "END|OK");
	/* bad lengths and fields */
	CHECK_PLAIN(R("+QIRD: 1.2.3.4:80,TCP,1501") R("+QIRD: 1.2.3.4:80,TCP,-1")
		    R("+QIRD: 1.2.3.4:99999,TCP,3") R("+QIRD: 1.2.3.4,TCP,3")
		    R("+QIRD: 1.2.3.4:80,SCTP,3") R("OK"),
		    "G/BADLEN:+QIRD: 1.2.3.4:80,TCP,1501|G/BADLEN:+QIRD: 1.2.3.4:80,TCP,-1|"
		    "G/FIELD:+QIRD: 1.2.3.4:99999,TCP,3|I:+QIRD: 1.2.3.4,TCP,3|"
		    "I:+QIRD: 1.2.3.4:80,SCTP,3|OK");
}

/* ------------------------------------------------------------------ */
/* Modern dialect (spec/001_0c4623b2b74ca652.txt), chapter 3 examples  */

TEST(modern_3_1_context)
{
	CHECK_ECHO(C("AT+QICSGP=1") R("+QICSGP: 1,\"\",\"\",\"\",0") R("OK")
		   C("AT+QICSGP=1,1,\"UNINET\",\"\",\"\",1") R("OK")
		   C("AT+QIACT=1") R("OK")
		   C("AT+QIACT?") R("+QIACT: 1,1,1,\"10.7.157.1\"") R("OK")
		   C("AT+QIDEACT=1") R("OK"),
		   "E|I:+QICSGP: 1,\"\",\"\",\"\",0|OK|E|OK|E|OK|E|I:+QIACT: 1,1,1,\"10.7.157.1\"|OK|"
		   "E|OK");
}

TEST(modern_3_2_buffer_mode)
{
	CHECK_ECHO(C("AT+QIOPEN=1,0,\"TCP\",\"220.180.239.212\",8009,0,0") R("OK")
		   R("+QIOPEN: 0,0")
		   C("AT+QISTATE=1,0")
		   R("+QISTATE: 0,\"TCP\",\"220.180.239.201\",8009,65514,2,1,0,0,\"usbmodem\"")
		   R("OK")
		   C("AT+QISEND=0") "\r\n> " R("SEND OK")
		   C("AT+QISEND=0,4") "\r\n> " R("SEND OK")
		   C("AT+QISEND=0,0") R("+QISEND: 9,9,0") R("OK")
		   C("AT+QISENDEX=0,\"3132333435\"") R("SEND OK")
		   C("AT+QISEND=0,0") R("+QISEND: 14,14,0") R("OK")
		   R("+QIURC: \"recv\",0")
		   C("AT+QIRD=0,1500") "\r\n+QIRD: 5\r\ntest1\r\n\r\nOK\r\n"
		   C("AT+QICFG=\"recvind\",1") R("OK"),
		   "E|OK|U/QIOPEN#0 code=0|E|"
		   "I:+QISTATE: 0,\"TCP\",\"220.180.239.201\",8009,65514,2,1,0,0,\"usbmodem\"|OK|"
		   "E|>|SEND_OK|E|>|SEND_OK|E|I:+QISEND: 9,9,0|OK|E|SEND_OK|"
		   "E|I:+QISEND: 14,14,0|OK|U/RECV#0|E|B/QIRD len=5|D\"test1\"|END|OK|E|OK");
}

TEST(modern_3_2_recvind)
{
	/* buffer mode with recvind: the URC carries a length but no data */
	CHECK_ECHO(R("+QIURC: \"recv\",0,5")
		   C("AT+QIRD=0,1500") R("+QIRD: 5") "test1" "\r\n\r\nOK\r\n"
		   C("AT+QIRD=0,1500") R("+QIRD: 0") R("OK")
		   C("AT+QIRD=0,0") R("+QIRD: 10,10,0") R("OK")
		   C("AT+QICLOSE=0") R("OK"),
		   "U/RECV#0 len=5|E|B/QIRD len=5|D\"test1\"|END|OK|E|B/QIRD len=0|END|OK|"
		   "E|I:+QIRD: 10,10,0|OK|E|OK");
}

TEST(modern_3_3_transparent)
{
	static const char in[] = C("AT+QIOPEN=1,0,\"TCP\",\"220.180.239.212\",8009,0,2")
		R("CONNECT") "Test 1" "\r\nOK\r\n" C("AT+QICLOSE=0") R("OK");
	struct cfg c = { .echo = true, .raw_on_connect = true };

	c.raw_off_at = (long)(strstr(in, "Test 1") - in) + 6;
	CHECK(&c, in, "E|CONNECT:CONNECT|D\"Test 1\"|OK|E|OK");
}

TEST(modern_3_4_direct_push)
{
	static const struct cfg c = { .echo = true, .push = 1u << 0, .raw_off_at = -1 };

	CHECK(&c, C("AT+QIOPEN=1,0,\"TCP\",\"220.180.239.212\",8009,0,1") R("OK")
	      R("+QIOPEN: 0,0")
	      C("AT+QISTATE=1,0")
	      R("+QISTATE: 0,\"TCP\",\"220.180.239.201\",8009,65344,2,1,0,1,\"usbmodem\"") R("OK")
	      C("AT+QISEND=0") "\r\n> " R("SEND OK")
	      C("AT+QISEND=0,5") "\r\n> " R("SEND OK")
	      C("AT+QISEND=0,0") R("+QISEND: 10,10,0") R("OK")
	      "\r\n+QIURC: \"recv\",0,4\r\ntest"
	      C("AT+QICLOSE=0") R("OK"),
	      "E|OK|U/QIOPEN#0 code=0|E|"
	      "I:+QISTATE: 0,\"TCP\",\"220.180.239.201\",8009,65344,2,1,0,1,\"usbmodem\"|OK|"
	      "E|>|SEND_OK|E|>|SEND_OK|E|I:+QISEND: 10,10,0|OK|"
	      "B/PUSH#0 len=4|D\"test\"|END|E|OK");
}

TEST(modern_3_5_tcp_server)
{
	CHECK_ECHO(C("AT+QIOPEN=1,1,\"TCP LISTENER\",\"127.0.0.1\",0,2020,0") R("OK")
		   R("+QIOPEN: 1,0")
		   C("AT+QISTATE=0,1")
		   R("+QISTATE: 1,\"TCP LISTENER\",\"127.0.0.1\",0,2020,3,1,1,0,\"usbmodem\"")
		   R("OK")
		   R("+QIURC: \"incoming\",11,1,\"172.31.242.222\",54091")
		   R("+QIURC: \"recv\",11")
		   C("AT+QIRD=11,1500") R("+QIRD: 4") "test" R("") R("OK")
		   C("AT+QIRD=11,1500") R("+QIRD: 0") R("OK")
		   C("AT+QIRD=11,0") R("+QIRD: 4,4,0") R("OK")
		   C("AT+QICLOSE=11") R("OK")
		   C("AT+QICLOSE=1") R("OK"),
		   "E|OK|U/QIOPEN#1 code=0|E|"
		   "I:+QISTATE: 1,\"TCP LISTENER\",\"127.0.0.1\",0,2020,3,1,1,0,\"usbmodem\"|OK|"
		   "U/INCOMING#11 arg=1 peer=172.31.242.222 port=54091|U/RECV#11|"
		   "E|B/QIRD len=4|D\"test\"|END|OK|E|B/QIRD len=0|END|OK|E|I:+QIRD: 4,4,0|OK|"
		   "E|OK|E|OK");
}

TEST(modern_3_6_udp_service)
{
	CHECK_ECHO(C("AT+QIOPEN=1,2,\"UDP SERVICE\",\"127.0.0.1\",0,3030,0") R("OK")
		   R("+QIOPEN: 2,0")
		   C("AT+QISTATE=0,1")
		   R("+QISTATE: 2,\"UDP SERVICE\",\"127.0.0.1\",0,3030,2,1,2,0,\"usbmodem\"")
		   R("OK")
		   C("AT+QISEND=2,10,\"10.7.89.10\",6969") "\r\n>" R("SEND OK")
		   R("+QIURC: \"recv\",2")
		   C("AT+QIRD=2") R("+QIRD: 4,\"10.7.76.34\",7687") "AAAA" R("") R("OK")
		   C("AT+QIRD=2") R("+QIRD: 0") R("OK")
		   C("AT+QISEND=2,10,\"10.7.76.34\",7687") "\r\n> " R("SEND OK")
		   C("AT+QICLOSE=2") R("OK"),
		   "E|OK|U/QIOPEN#2 code=0|E|"
		   "I:+QISTATE: 2,\"UDP SERVICE\",\"127.0.0.1\",0,3030,2,1,2,0,\"usbmodem\"|OK|"
		   "E|>|SEND_OK|U/RECV#2|E|B/QIRD_UDP len=4 peer=10.7.76.34 port=7687|D\"AAAA\"|"
		   "END|OK|E|B/QIRD len=0|END|OK|E|>|SEND_OK|E|OK");
}

TEST(modern_3_7_ping)
{
	CHECK_ECHO(C("AT+QPING=1,\"www.baidu.com\"") R("OK")
		   R("+QPING: 0,\"61.135.169.125\",32,192,255")
		   R("+QPING: 0,\"61.135.169.125\",32,240,255")
		   R("+QPING: 0,\"61.135.169.125\",32,241,255")
		   R("+QPING: 0,\"61.135.169.125\",32,479,255")
		   R("+QPING: 0,4,4,0,192,479,288"),
		   "E|OK|U/QPING code=0|U/QPING code=0|U/QPING code=0|U/QPING code=0|"
		   "U/QPING code=0");
	CHECK_PLAIN(R("+QPING: 569"), "U/QPING code=569");
}

TEST(modern_3_8_geterror)
{
	CHECK_ECHO(C("AT+QIOPEN=1,\"TCP\",\"220.180.239.212\",8009,0,1") R("ERROR")
		   C("AT+QIGETERROR") R("+QIGETERROR: 552, invalid parameters") R("OK"),
		   "E|ERROR|E|I:+QIGETERROR: 552, invalid parameters|OK");
}

TEST(modern_2_test_commands)
{
	/* the test-command answers of chapter 2 must not look like URCs/headers */
	CHECK_ECHO(C("AT+QIACT=?") R("+QIACT: (1-16)") R("OK")
		   C("AT+QIOPEN=?")
		   R("+QIOPEN: (1-16),(0-11),\"TCP/UDP/TCP LISTENER/UDP SERVICE\","
		     "\"<IP_address>/<domain_name>\",<remote_port>,<local_port>,(0-2)") R("OK")
		   C("AT+QIRD=?") R("+QIRD: (0-11),(0-1500)") R("OK")
		   C("AT+QPING=?") R("+QPING: (1-16),<host>,(1-255),(1-10)") R("OK")
		   C("AT+QISEND=?") R("+QISEND: (0-11),(0-1460)") R("OK")
		   C("AT+QISTATE=?") R("OK")
		   C("AT+QISDE?") R("+QISDE: 0") R("OK")
		   C("AT+QISWTMD=0,2") R("CONNECT"),
		   "E|I:+QIACT: (1-16)|OK|E|I:+QIOPEN: (1-16),(0-11),\"TCP/UDP/TCP LISTENER/UDP "
		   "SERVICE\",\"<IP_address>/<domain_name>\",<remote_port>,<local_port>,(0-2)|OK|"
		   "E|I:+QIRD: (0-11),(0-1500)|OK|E|I:+QPING: (1-16),<host>,(1-255),(1-10)|OK|"
		   "E|I:+QISEND: (0-11),(0-1460)|OK|E|OK|E|I:+QISDE: 0|OK|E|CONNECT:CONNECT");
}

TEST(modern_2_4_urcs)
{
	static const struct cfg c = { .push = 1u << 2, .raw_off_at = -1 };

	CHECK(&c, R("+QIURC: \"closed\",0") R("+QIURC: \"incoming full\",1")
	      R("+QIURC: \"pdpdeact\",1")
	      "\r\n+QIURC: \"recv\",2,4,\"10.7.76.34\",7687\r\nAAAA"
	      R("+QIURC: \"recv\",3,4,\"10.7.76.34\",7687")
	      R("+QIURC: \"dnsgip\",0,1,600"),
	      "U/CLOSED#0|U/INCOMING_FULL#1|U/PDPDEACT#1|"
	      "B/PUSH_UDP#2 len=4 peer=10.7.76.34 port=7687|D\"AAAA\"|END|"
	      "U/RECV#3 len=4 peer=10.7.76.34 port=7687|U/QIURC:+QIURC: \"dnsgip\",0,1,600");
}

TEST(modern_ato_no_carrier)
{
	CHECK_ECHO(C("ATO") R("NO CARRIER") C("ATO") R("CONNECT 115200"),
		   "E|NO_CARRIER|E|CONNECT:CONNECT 115200");
}

/* ------------------------------------------------------------------ */
/* Token kinds                                                         */

TEST(finals)
{
	CHECK_PLAIN(R("OK") R("ERROR") R("+CME ERROR: 10") R("+CME ERROR: SIM not inserted")
		    R("+CMS ERROR: 500") R("SEND OK") R("SEND FAIL") R("CONNECT")
		    R("CONNECT 9600") R("NO CARRIER") R("CLOSE OK") R("DEACT OK")
		    R("CONNECT OK") R("CONNECT FAIL") R("ALREADY CONNECT")
		    R("+CME ERROR: 99999999999") R("+CME ERROR: -3") R("+CME ERROR:3 "),
		    "OK|ERROR|CME_ERROR code=10|CME_ERROR|CMS_ERROR code=500|SEND_OK|SEND_FAIL|"
		    "CONNECT:CONNECT|CONNECT:CONNECT 9600|NO_CARRIER|CLOSE_OK|DEACT_OK|"
		    "CONNECT_OK|CONNECT_FAIL|ALREADY_CONNECT|CME_ERROR|CME_ERROR|CME_ERROR code=3");
	/* near misses are information lines */
	CHECK_PLAIN(R("OK ") R("ok") R("ERRORS") R("CONNECTED") R("SEND OK!"),
		    "I:OK |I:ok|I:ERRORS|I:CONNECTED|I:SEND OK!");
}

TEST(info_lines)
{
	CHECK_ECHO(C("ATI") R("Quectel") R("EC25") R("Revision: EC25EFAR06A03M4G") R("OK")
		   C("AT+CSQ") R("+CSQ: 20,99") R("OK")
		   C("AT+CGMM") R("RG500Q-EA") R("OK"),
		   "E|I:Quectel|I:EC25|I:Revision: EC25EFAR06A03M4G|OK|E|I:+CSQ: 20,99|OK|"
		   "E|I:RG500Q-EA|OK");
}

TEST(urcs)
{
	CHECK_PLAIN(R("RDY") R("+CFUN: 1") R("+CPIN: READY") R("+QUSIM: 1") R("+QIND: SMS DONE")
		    R("Call Ready") R("SMS Ready") R("POWERED DOWN") R("NORMAL POWER DOWN")
		    R("+CREG: 1") R("+CGREG: 5") R("+CEREG: 1,\"1A2B\",\"0C3D4E5F\",7")
		    R("+PDP DEACT") R("CLOSED"),
		    "U/RDY|U/CFUN:+CFUN: 1|U/CPIN:+CPIN: READY|I:+QUSIM: 1|U/QIND:+QIND: SMS DONE|"
		    "U/CALL_READY|U/SMS_READY|U/POWERED_DOWN|U/POWERED_DOWN|U/CREG:+CREG: 1|"
		    "U/CGREG:+CGREG: 5|U/CEREG:+CEREG: 1,\"1A2B\",\"0C3D4E5F\",7|U/PDPDEACT|U/CLOSED");
}

static unsigned int flag_log[8], flag_n;

static void flag_token(void *ctx, const struct at_token *t)
{
	(void)ctx;
	if (flag_n < 8)
		flag_log[flag_n++] = t->flags;
}

TEST(token_flags)
{
	static const struct at_parser_ops ops = { .token = flag_token };
	static const char in[] = "\r\n+CREG: 0,1\r\n\r\nRDY\r\n+CPIN: READY\r\nOK\r\n"
		"+CME ERROR: 3\r\nCONNECT OK\r\nDEACT OK\r\nI\r\n";
	struct at_parser p;

	flag_n = 0;
	at_parser_init(&p, &ops, NULL);
	at_parser_feed(&p, (const u8 *)in, sizeof(in) - 1);
	ASSERT_EQ(8u, flag_n);
	EXPECT_EQ(AT_TOKF_MAYBE_RESPONSE, flag_log[0]);
	EXPECT_EQ(0u, flag_log[1]);
	EXPECT_EQ(AT_TOKF_MAYBE_RESPONSE, flag_log[2]);
	EXPECT_EQ(AT_TOKF_FINAL, flag_log[3]);
	EXPECT_EQ(AT_TOKF_FINAL, flag_log[4]);
	EXPECT_EQ(0u, flag_log[5]);	/* CONNECT OK follows the OK of AT+QIOPEN */
	EXPECT_EQ(AT_TOKF_FINAL, flag_log[6]);
	EXPECT_EQ(0u, flag_log[7]);
}

TEST(qiurc_malformed)
{
	CHECK_PLAIN(R("+QIURC: \"closed\",x") R("+QIURC: \"closed\",99") R("+QIURC: \"closed\"")
		    R("+QIURC: \"recv\",-1") R("+QIURC: \"recv\",0,1,2")
		    R("+QIURC: \"incoming\",1,2,3,4") R("+QIURC: \"pdpdeact\",0")
		    R("+QIURC: \"recv") R("+QIURC: recv,0") R("+QIURC:") R("OK"),
		    "G/FIELD:+QIURC: \"closed\",x|G/FIELD:+QIURC: \"closed\",99|"
		    "G/FIELD:+QIURC: \"closed\"|G/FIELD:+QIURC: \"recv\",-1|"
		    "G/FIELD:+QIURC: \"recv\",0,1,2|G/FIELD:+QIURC: \"incoming\",1,2,3,4|"
		    "G/FIELD:+QIURC: \"pdpdeact\",0|U/QIURC:+QIURC: \"recv|U/QIURC:+QIURC: recv,0|"
		    "U/QIURC:+QIURC:|OK");
}

TEST(prompt)
{
	/* "> " with no line end; ">" alone; a '>' inside a line is text */
	CHECK_PLAIN("\r\n> " "\r\nSEND OK\r\n" "\r\n>" "\r\nSEND FAIL\r\n" "a>b\r\n"
		    "\r\n> \r\n>  x\r\n",
		    ">|SEND_OK|>|SEND_FAIL|I:a>b|>|>|I: x");
}

TEST(echo_rule)
{
	/* echo expected: "AT..." in any case is echo, ending with CR or CRLF */
	CHECK_ECHO("at+qiact?\r\r\nOK\r\n" "AT\r\n\r\nOK\r\n" "aT+CSQ\r\r\n+CSQ: 1,2\r\n\r\nOK\r\n",
		   "E|OK|E|OK|E|I:+CSQ: 1,2|OK");
	/* not expected: an AT line is information */
	CHECK_PLAIN("AT+CSQ\r\r\nOK\r\n", "I:AT+CSQ|OK");
	/* a final clears the expectation (echo was off) */
	{
		static const struct cfg c = { .echo = false, .raw_off_at = -1 };
		struct rec *r = &rec_ref;
		static const char in[] = "\r\nOK\r\nAT+X\r";

		rec_start(r, &c);
		at_parser_expect_echo(&r->p, true);
		at_parser_feed(&r->p, (const u8 *)in, sizeof(in) - 1);
		rec_end(r);
		ASSERT_STREQ("OK|I:AT+X", r->out);
	}
	/* a URC before the echo does not consume the expectation */
	CHECK_ECHO("\r\nRDY\r\nAT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n",
		   "U/RDY|E|U/CPIN:+CPIN: READY|OK");
}

TEST(raw_mode)
{
	/* everything is payload, even finals and URCs, until raw is left */
	static const char in[] = "\r\nCONNECT\r\n\r\nNO CARRIER\r\n+QIURC: \"closed\",0\r\n\0> "
		"\r\nOK\r\n";
	struct cfg c = { .raw_on_connect = true };

	c.raw_off_at = (long)sizeof(in) - 1 - 6;
	CHECK(&c, in, "CONNECT:CONNECT|D\"\\x0d\\x0aNO CARRIER\\x0d\\x0a+QIURC: \\x22closed\\x22,0"
	      "\\x0d\\x0a\\x00> \"|OK");
	/* CONNECT ended by LF only: nothing eaten */
	{
		static const char in2[] = "\nCONNECT\n\nxy\r\nOK\r\n";

		c.raw_off_at = (long)(strstr(in2, "xy") - in2) + 2;
		CHECK(&c, in2, "CONNECT:CONNECT|D\"\\x0axy\"|OK");
	}
}

TEST(payload_binary_qird)
{
	CHECK_PLAIN("\r\n+QIRD: 29\r\n\r\nOK\r\n+QIURC: \"closed\",0\r\n\0> \r\n\r\nOK\r\n",
		    "B/QIRD len=29|D\"\\x0d\\x0aOK\\x0d\\x0a+QIURC: \\x22closed\\x22,0\\x0d\\x0a"
		    "\\x00> \"|END|OK");
	/* header ended by LF only: the payload starts right after it */
	CHECK_PLAIN("+QIRD: 3\n\nab\r\nOK\r\n", "B/QIRD len=3|D\"\\x0aab\"|END|OK");
}

TEST(payload_binary_push)
{
	static const struct cfg c = { .push = 0xfff, .raw_off_at = -1 };

	CHECK(&c, "\r\n+QIURC: \"recv\",11,11\r\n\r\nOK\r\n> RDY\r\n\r\nOK\r\n",
	      "B/PUSH#11 len=11|D\"\\x0d\\x0aOK\\x0d\\x0a> RDY\"|END|OK");
}

TEST(payload_all_bytes_1500)
{
	static char in[1600];
	static char expect[8000];
	size_t n, i, e;

	n = (size_t)sprintf(in, "\r\n+QIRD: 1500\r\n");
	for (i = 0; i < 1500; i++)
		in[n + i] = (char)(i * 7 + 3);
	n += 1500;
	memcpy(in + n, "\r\n\r\nOK\r\n", 8);
	n += 8;
	e = (size_t)sprintf(expect, "B/QIRD len=1500|D\"");
	for (i = 0; i < 1500; i++) {
		u8 c = (u8)(i * 7 + 3);

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			expect[e++] = (char)c;
		else
			e += (size_t)sprintf(expect + e, "\\x%02x", c);
	}
	sprintf(expect + e, "\"|END|OK");
	check_cfg(_metadata, &cfg_plain, in, n, expect);
}

TEST(urc_interleaved)
{
	static const struct cfg c = { .echo = true, .push = 1u << 1, .raw_off_at = -1 };

	/* URCs between the lines of another command's response, and a pushed
	 * payload between a QIRD payload's end and its OK
	 */
	CHECK(&c, C("AT+QIACT?") R("+QIACT: 1,1,1,\"10.7.157.1\"") R("+QIURC: \"closed\",3")
	      "\r\n+QIURC: \"recv\",1,3\r\nabc" R("+QIACT: 2,1,1,\"10.7.157.2\"") R("OK")
	      C("AT+QIRD=0,1500") R("+QIRD: 2") "xy" "\r\n+QIURC: \"recv\",1,1\r\nz" R("OK"),
	      "E|I:+QIACT: 1,1,1,\"10.7.157.1\"|U/CLOSED#3|B/PUSH#1 len=3|D\"abc\"|END|"
	      "I:+QIACT: 2,1,1,\"10.7.157.2\"|OK|E|B/QIRD len=2|D\"xy\"|END|"
	      "B/PUSH#1 len=1|D\"z\"|END|OK");
}

TEST(push_mask)
{
	static const struct cfg c = { .push = 0x5, .raw_off_at = -1 };

	CHECK(&c, "\r\n+QIURC: \"recv\",0,2\r\nab" R("+QIURC: \"recv\",1,2")
	      "\r\n+QIURC: \"recv\",2,2\r\ncd" R("+QIURC: \"recv\",0") R("+QIURC: \"recv\",3,2")
	      R("+QIURC: \"recv\",32,2") R("OK"),
	      "B/PUSH#0 len=2|D\"ab\"|END|U/RECV#1 len=2|B/PUSH#2 len=2|D\"cd\"|END|"
	      "U/RECV#0|U/RECV#3 len=2|G/FIELD:+QIURC: \"recv\",32,2|OK");
	{
		/* the mask can change between two URCs (from a callback too) */
		struct rec *r = &rec_ref;
		static const char a[] = "\r\n+QIURC: \"recv\",4,1\r\n";
		static const char b[] = "x\r\n+QIURC: \"recv\",4,1\r\ny";

		rec_start(r, &cfg_plain);
		at_parser_feed(&r->p, (const u8 *)a, sizeof(a) - 1);
		at_parser_set_push(&r->p, 1u << 4);
		at_parser_feed(&r->p, (const u8 *)b, sizeof(b) - 1);
		rec_end(r);
		ASSERT_STREQ("U/RECV#4 len=1|I:x|B/PUSH#4 len=1|D\"y\"|END", r->out);
	}
}

TEST(bogus_lengths)
{
	static const struct cfg c = { .push = 0x1, .ipd = true, .raw_off_at = -1 };

	CHECK(&c, R("+QIRD: 1501") R("+QIRD: -1") R("+QIRD: 99999999999999999999")
	      R("+QIRD: 4294967301") R("+QIRD: 2147483648") R("+QIRD: 3x")
	      R("+QIRD: 5,\"1.2.3.4\",70000") R("+QIRD: 1501,\"1.2.3.4\",7")
	      R("+QIURC: \"recv\",0,2000") R("+QIURC: \"recv\",0,-5")
	      R("+QIURC: \"recv\",0,99999999999999999999")
	      "IPD99999TCP:abc\r\nIPD-1:x\r\n" R("OK"),
	      "G/BADLEN:+QIRD: 1501|G/BADLEN:+QIRD: -1|G/BADLEN:+QIRD: 99999999999999999999|"
	      "G/BADLEN:+QIRD: 4294967301|G/BADLEN:+QIRD: 2147483648|I:+QIRD: 3x|"
	      "G/FIELD:+QIRD: 5,\"1.2.3.4\",70000|G/BADLEN:+QIRD: 1501,\"1.2.3.4\",7|"
	      "G/BADLEN:+QIURC: \"recv\",0,2000|G/BADLEN:+QIURC: \"recv\",0,-5|"
	      "G/BADLEN:+QIURC: \"recv\",0,99999999999999999999|G/BADLEN:IPD99999TCP:|"
	      "I:IPD-1:x|OK");
}

TEST(bogus_lengths_stats)
{
	struct rec *r = &rec_ref;
	static const char in[] = "\r\n+QIRD: 1501\r\nIPD7777:abc\r\n+QIRD: 0\r\nOK\r\n";

	rec_start(r, &cfg_plain);
	at_parser_set_ipd(&r->p, true);
	at_parser_feed(&r->p, (const u8 *)in, sizeof(in) - 1);
	rec_end(r);
	ASSERT_STREQ("G/BADLEN:+QIRD: 1501|G/BADLEN:IPD7777:|B/QIRD len=0|END|OK", r->out);
	EXPECT_EQ(2u, r->p.stats.bad_length);
	EXPECT_EQ(2u, r->p.stats.garbage);
	EXPECT_EQ(1u, r->p.stats.payloads);
	EXPECT_EQ(4u, r->p.stats.lines);
	/* "+QIRD: 1501" (11) + "IPD7777:" (8) + "abc" (3) */
	EXPECT_EQ(22u, r->p.stats.garbage_bytes);
}

TEST(overlong)
{
	static char in[2000], expect[1200];
	struct rec *r = &rec_ref;
	size_t n = 0;

	/* a line of exactly AT_LINE_MAX - 1 bytes is kept */
	in[n++] = '\r';
	in[n++] = '\n';
	memset(in + n, 'a', AT_LINE_MAX - 1);
	n += AT_LINE_MAX - 1;
	memcpy(in + n, "\r\n", 2);
	n += 2;
	/* one more byte is overlong; then resync */
	memset(in + n, 'b', AT_LINE_MAX);
	n += AT_LINE_MAX;
	memcpy(in + n, "\r\n\r\nOK\r\n", 8);
	n += 8;
	strcpy(expect, "I:");
	memset(expect + 2, 'a', AT_LINE_MAX - 1);
	strcpy(expect + 2 + AT_LINE_MAX - 1, "|G/OVERLONG:");
	memset(expect + strlen(expect), 'b', AT_LINE_MAX - 1);
	strcpy(expect + strlen(expect), "|OK");
	check_cfg(_metadata, &cfg_plain, in, n, expect);

	rec_start(r, &cfg_plain);
	at_parser_feed(&r->p, (const u8 *)in, n);
	rec_end(r);
	EXPECT_EQ(1u, r->p.stats.overlong);
	EXPECT_EQ(1u, r->p.stats.garbage);
	EXPECT_EQ((unsigned int)AT_LINE_MAX, r->p.stats.garbage_bytes);
}

TEST(overlong_payload_header_is_not_header)
{
	static char in[1200];
	size_t n;

	n = (size_t)sprintf(in, "\r\n+QIRD: 5");
	memset(in + n, ' ', 600);
	n += 600;
	memcpy(in + n, "\r\nabcde\r\nOK\r\n", 13);
	n += 13;
	{
		static char expect[700];

		strcpy(expect, "G/OVERLONG:");
		memcpy(expect + 11, in + 2, AT_LINE_MAX - 1);
		strcpy(expect + 11 + AT_LINE_MAX - 1, "|I:abcde|OK");
		check_cfg(_metadata, &cfg_plain, in, n, expect);
	}
}

TEST(garbage_resync)
{
	CHECK_PLAIN("\x01\x02junk\r\nOK\r\n" "\0\0\xff\xff\r\nRDY\r\n" "ab\0cd\r\n"
		    "\x1b[0m\r\n" "caf\xc3\xa9\r\n" "a\tb\r\n",
		    "G/CTRL:..junk|OK|U/RDY|G/CTRL:ab.cd|G/CTRL:.[0m|I:caf\xc3\xa9|I:a\tb");
	/* empty lines of every kind are ignored */
	CHECK_PLAIN("\r\n\r\n\n\n\r\r\n\rOK\r", "OK");
}

TEST(reset_mid_payload)
{
	struct rec *r = &rec_ref;
	static const char a[] = "\r\n+QIRD: 100\r\nabc";
	static const char b[] = "\r\nRDY\r\n";

	rec_start(r, &cfg_plain);
	at_parser_feed(&r->p, (const u8 *)a, sizeof(a) - 1);
	at_parser_reset(&r->p);
	r->in_pay = false;	/* the caller knows it abandoned the payload */
	at_parser_feed(&r->p, (const u8 *)b, sizeof(b) - 1);
	rec_end(r);
	ASSERT_STREQ("", r->err);
	ASSERT_STREQ("B/QIRD len=100|D\"abc\"|U/RDY", r->out);
}

TEST(reset_from_callback)
{
	static const struct cfg a = { .reset_on_begin = true, .echo = true, .raw_off_at = -1 };
	static const struct cfg b = { .reset_on_rdy = true, .echo = true, .raw_off_at = -1 };

	/* the payload is abandoned: its bytes are lines again, no END */
	CHECK(&a, C("AT+QIRD=0") "\r\n+QIRD: 3\r\nabc\r\n+QIRD: 0\r\n\r\nOK\r\nAT\r",
	      "E|B/QIRD len=3|I:abc|B/QIRD len=0|OK|E");
	/* RDY resets: the echo expectation is gone */
	CHECK(&b, "\r\nRDY\r\nAT\r\r\nOK\r\nAT\r", "U/RDY|I:AT|OK|E");
}

/* ------------------------------------------------------------------ */
/* Field helpers                                                       */

TEST(fields_split)
{
	struct at_field f[AT_FIELDS_MAX];
	const char *s;
	char buf[8];
	int v;

	s = "1,\"a,b\" , (1,2),\"\",, x y ";
	ASSERT_EQ(6, at_fields_split(s, strlen(s), f, AT_FIELDS_MAX));
	EXPECT_TRUE(at_field_is(&f[0], "1"));
	EXPECT_FALSE(f[0].quoted);
	EXPECT_TRUE(at_field_is(&f[1], "a,b"));
	EXPECT_TRUE(f[1].quoted);
	EXPECT_TRUE(at_field_is(&f[2], "(1,2)"));
	EXPECT_TRUE(at_field_is(&f[3], ""));
	EXPECT_TRUE(f[3].quoted);
	EXPECT_TRUE(at_field_is(&f[4], ""));
	EXPECT_FALSE(f[4].quoted);
	EXPECT_TRUE(at_field_is(&f[5], "x y"));

	s = "(2,\"CHINA MOBILE\",\"CMCC\",\"46000\",7),,(0-4)";
	ASSERT_EQ(3, at_fields_split(s, strlen(s), f, AT_FIELDS_MAX));
	EXPECT_EQ(0, at_fields_split("", 0, f, AT_FIELDS_MAX));
	EXPECT_EQ(0, at_fields_split("   ", 3, f, AT_FIELDS_MAX));
	EXPECT_EQ(2, at_fields_split(",", 1, f, AT_FIELDS_MAX));
	EXPECT_EQ(-1, at_fields_split("\"abc", 4, f, AT_FIELDS_MAX));
	EXPECT_EQ(-1, at_fields_split("\"abc\"x", 6, f, AT_FIELDS_MAX));
	EXPECT_EQ(-1, at_fields_split("(1,2", 4, f, AT_FIELDS_MAX));
	EXPECT_EQ(-1, at_fields_split("1)", 2, f, AT_FIELDS_MAX));
	EXPECT_EQ(-1, at_fields_split("a\"b,c", 5, f, AT_FIELDS_MAX));
	EXPECT_EQ(-1, at_fields_split("1,2,3", 5, f, 2));
	EXPECT_EQ(2, at_fields_split("1,2,3", 3, f, 2));	/* length bounds the scan */
	EXPECT_EQ(-1, at_fields_split("1", 1, f, 0));

	s = at_line_args("+QIRD:   5,6", "+QIRD:");
	ASSERT_NE(NULL, s);
	EXPECT_STREQ("5,6", s);
	EXPECT_EQ(NULL, at_line_args("+QIR", "+QIRD:"));
	EXPECT_STREQ("", at_line_args("+QIRD:", "+QIRD:"));

	s = "\"10.7.76.34\",toolongvalue";
	ASSERT_EQ(2, at_fields_split(s, strlen(s), f, AT_FIELDS_MAX));
	EXPECT_EQ(-1, at_field_str(&f[0], buf, sizeof(buf)));
	EXPECT_STREQ("", buf);
	EXPECT_EQ(-1, at_field_int(&f[0], 0, 10, &v));
	f[0].len = 4;
	EXPECT_EQ(4, at_field_str(&f[0], buf, sizeof(buf)));
	EXPECT_STREQ("10.7", buf);
	EXPECT_EQ(-1, at_field_str(&f[0], buf, 0));
	EXPECT_EQ(-1, at_field_str(&f[0], buf, 4));
}

static int int_of(const char *s, int min, int max, int *v)
{
	struct at_field f = { s, strlen(s), false };

	return at_field_int(&f, min, max, v);
}

TEST(field_int)
{
	int v = 12345;

	EXPECT_EQ(0, int_of("0", 0, 10, &v));
	EXPECT_EQ(0, v);
	EXPECT_EQ(0, int_of("2147483647", 0, 2147483647, &v));
	EXPECT_EQ(2147483647, v);
	EXPECT_EQ(0, int_of("-2147483648", -2147483647 - 1, 0, &v));
	EXPECT_EQ(-2147483647 - 1, v);
	EXPECT_EQ(0, int_of("-5", -10, 10, &v));
	EXPECT_EQ(-5, v);
	EXPECT_EQ(0, int_of("007", 0, 10, &v));
	EXPECT_EQ(7, v);
	v = 99;
	EXPECT_EQ(-1, int_of("2147483648", 0, 2147483647, &v));
	EXPECT_EQ(-1, int_of("-2147483649", -2147483647 - 1, 0, &v));
	EXPECT_EQ(-1, int_of("4294967296", -2147483647 - 1, 2147483647, &v));
	EXPECT_EQ(-1, int_of("99999999999999999999999", 0, 2147483647, &v));
	EXPECT_EQ(-1, int_of("", 0, 10, &v));
	EXPECT_EQ(-1, int_of("-", -10, 10, &v));
	EXPECT_EQ(-1, int_of("+1", 0, 10, &v));
	EXPECT_EQ(-1, int_of(" 1", 0, 10, &v));
	EXPECT_EQ(-1, int_of("1 ", 0, 10, &v));
	EXPECT_EQ(-1, int_of("1a", 0, 10, &v));
	EXPECT_EQ(-1, int_of("0x10", 0, 100, &v));
	EXPECT_EQ(-1, int_of("11", 0, 10, &v));
	EXPECT_EQ(-1, int_of("-1", 0, 10, &v));
	EXPECT_EQ(-1, int_of("-2147483648", -5, 0, &v));
	EXPECT_EQ(-1, int_of("5", 10, 0, &v));
	EXPECT_EQ(99, v);	/* never written on failure */
	EXPECT_EQ(-1, at_field_int(&(struct at_field){ "5", 1, true }, 0, 10, &v));
}

TEST(names)
{
	int k;

	for (k = 0; k < AT_TOK_NR; k++)
		EXPECT_STRNE("?", at_token_kind_name((enum at_token_kind)k));
	for (k = 0; k < AT_URC_NR; k++)
		EXPECT_STRNE("?", at_urc_name((enum at_urc)k));
	EXPECT_STREQ("?", at_token_kind_name(AT_TOK_NR));
}

TEST(no_ops)
{
	/* a parser without callbacks just consumes */
	struct at_parser p;
	static const struct at_parser_ops none = { 0 };
	static const char in[] = "\r\n+QIRD: 3\r\nabc\r\nOK\r\n";

	at_parser_init(&p, &none, NULL);
	at_parser_feed(&p, (const u8 *)in, sizeof(in) - 1);
	at_parser_set_raw(&p, true);
	at_parser_feed(&p, (const u8 *)in, sizeof(in) - 1);
	EXPECT_EQ(2u, p.stats.lines);
	EXPECT_EQ(1u, p.stats.payloads);
}

TEST_HARNESS_MAIN
