/* SPDX-License-Identifier: GPL-2.0 */
/*
 * at_parse - a pure tokenizer for the byte stream a Quectel modem sends on
 * its AT port (both the modern RG50xQ/EC2x dialect and the legacy M-series
 * GSM dialect).  No kernel headers beyond <linux/types.h> and
 * <linux/string.h>: the same file is built into quectel.ko and on the host
 * for unit tests (selftests/host) and a libFuzzer target (selftests/fuzz).
 *
 * Calling context
 * ---------------
 * Every function here is callable from any context, including hard and soft
 * interrupt context and with spinlocks held: nothing sleeps, allocates,
 * recurses, uses floating point or touches global state.  All state lives in
 * the caller-owned struct at_parser.  The parser is not locked: the caller
 * serialises at_parser_feed() and the at_parser_set_*() calls on one parser
 * (in quectel.ko, the ldisc receive path holds the channel lock).  The
 * callbacks run synchronously inside at_parser_feed(); they may call
 * at_parser_set_push(), at_parser_set_raw(), at_parser_set_ipd(),
 * at_parser_expect_echo() and at_parser_reset() on the same parser, and the
 * change applies from the next input byte on; they must not call
 * at_parser_feed() on the same parser.
 *
 * Token model
 * -----------
 * Input is split into lines at CR or LF; a LF right after a CR is part of the
 * same line end, and empty lines are ignored.  Each non-empty line becomes
 * one struct at_token handed to ops->token(); tok->text is the line,
 * NUL-terminated, without CR/LF, valid only during the callback.  Kinds:
 *
 *  AT_TOK_ECHO          our own command line echoed back (see "Echo rule")
 *  AT_TOK_INFO          any other information line: "+CSQ: 20,99",
 *                       "+QIACT: 1,1,1,\"10.7.157.1\"", "Quectel", "EC25",
 *                       "+QIRD: 10,10,0", "RECV FROM:1.2.3.4:80", ...
 *  AT_TOK_OK, AT_TOK_ERROR, AT_TOK_CME_ERROR, AT_TOK_CMS_ERROR (tok->code is
 *                       the number, or -1 for the verbose text form),
 *  AT_TOK_SEND_OK, AT_TOK_SEND_FAIL, AT_TOK_CONNECT ("CONNECT" or
 *                       "CONNECT <text>"), AT_TOK_NO_CARRIER
 *                       final result codes
 *  AT_TOK_CLOSE_OK, AT_TOK_DEACT_OK, AT_TOK_CONNECT_OK, AT_TOK_CONNECT_FAIL,
 *  AT_TOK_ALREADY_CONNECT
 *                       legacy results; tok->id is the connection index of
 *                       the multi-connection form "<index>, CONNECT OK",
 *                       -1 for the single-connection form
 *  AT_TOK_STATE         legacy "STATE: <state>" (AT+QISTAT)
 *  AT_TOK_URC           unsolicited result code, subtype in tok->urc (enum
 *                       at_urc below, which documents the fields it fills)
 *  AT_TOK_PROMPT        the "> " data prompt, which has no line end: it is
 *                       recognised when '>' is the first byte of a line and
 *                       reported at once; one ' ' right after it is eaten
 *  AT_TOK_PAYLOAD_BEGIN a length-counted payload follows; tok->src says
 *                       which header announced it, tok->len its length,
 *                       tok->id the connectID (-1 unknown), tok->peer and
 *                       tok->port the peer for UDP-service/legacy forms.
 *                       Then ops->payload() gets exactly tok->len bytes in
 *                       one or more chunks, then AT_TOK_PAYLOAD_END (same
 *                       fields).  A zero length gives BEGIN and END at once.
 *  AT_TOK_GARBAGE       a line that was discarded; tok->reason says why.
 *
 * AT_TOKF_FINAL is set on the final result codes that end any command: OK,
 * ERROR, +CME ERROR, +CMS ERROR, SEND OK, SEND FAIL, CONNECT, NO CARRIER,
 * and the legacy CLOSE OK and DEACT OK.  CONNECT OK, CONNECT FAIL and
 * ALREADY CONNECT are legacy results whose role depends on the command
 * (CONNECT OK follows the OK of AT+QIOPEN); the channel interprets them.
 *
 * Possible URCs: +CREG:, +CGREG:, +CEREG:, +CPIN:, +CFUN: are both URCs and
 * the solicited answers to AT+CREG? etc.  They are reported as AT_TOK_URC
 * with AT_TOKF_MAYBE_RESPONSE set; the command channel decides (a line that
 * matches the prefix of the command in flight is its response).
 *
 * Echo rule
 * ---------
 * With echo on (the power-up default) the modem repeats our command line,
 * "AT...<CR>" (sometimes followed by LF).  The caller calls
 * at_parser_expect_echo(p, true) when it writes a command line.  While that
 * expectation is set, the next line that begins with "AT" in any letter
 * case is reported as AT_TOK_ECHO and clears the expectation.  Any final
 * result (OK, ERROR, +CME/+CMS ERROR, SEND OK/FAIL, CONNECT, NO CARRIER and
 * the legacy results) or at_parser_reset() also clears it, so a lost echo
 * (ATE0) never leaves it armed.  Without the expectation an "AT..." line is
 * an AT_TOK_INFO line.  Data echoed after the prompt (AT+QISDE=1) is not
 * recognised; the channel turns that echo off.
 *
 * Payload rule
 * ------------
 * Payload bytes are handed to ops->payload() straight from the input buffer
 * (no copy, never through the line buffer, so their size is not bounded by
 * AT_LINE_MAX), whatever they contain (CR, LF, NUL, "\r\nOK\r\n", URC text).
 * Headers that announce a payload:
 *  - "+QIRD: <n>" and "+QIRD: <n>,\"<ip>\",<port>" (modern, UDP service):
 *    CR LF then n bytes (then CR LF OK, tokenized normally).
 *    "+QIRD: <total>,<read>,<unread>" (AT+QIRD=<id>,0) has no payload: INFO.
 *  - "+QIURC: \"recv\",<id>,<len>[,\"<ip>\",<port>]" when bit <id> is set in
 *    the direct-push mask (at_parser_set_push()): CR LF then len bytes.  If
 *    the bit is clear (buffer mode with AT+QICFG="recvind",1) it is a plain
 *    AT_URC_RECV with tok->len; "+QIURC: \"recv\",<id>" never has payload.
 *  - legacy "+QIRD: <ip>:<port>,TCP|UDP,<n>": CR LF then n bytes.
 *  - legacy direct output "IPD<n>TCP:", "IPD<n>UDP:" or "IPD<n>:" at the
 *    start of a line, when enabled with at_parser_set_ipd(): n raw bytes
 *    follow the colon at once.  The "RECV FROM:<ip>:<port>" line before it
 *    is AT_TOK_INFO.
 * A length that is malformed, negative or above AT_PAYLOAD_MAX (1500) makes
 * the header an AT_TOK_GARBAGE line (AT_GARBAGE_BADLEN), counted in
 * stats.bad_length; no payload mode is entered.  A payload cut short (modem
 * reboot) is abandoned by at_parser_reset(); the caller gets no
 * PAYLOAD_END for it.
 *
 * Raw mode (transparent access mode): after at_parser_set_raw(p, true) every
 * input byte goes to ops->payload() unchanged and no token is produced (not
 * even NO CARRIER: the channel watches for it itself).  A LF that directly
 * follows the CR of the line that preceded the switch (the "CONNECT\r\n") is
 * still eaten as part of that line end.  To leave transparent mode the
 * caller turns raw mode off once it has sent "+++"; what arrives afterwards
 * (the "OK") is tokenized again.
 *
 * Bounds and garbage
 * ------------------
 * A line holds at most AT_LINE_MAX - 1 = 511 bytes.  The longest legitimate
 * lines are about 400 bytes: the echo of AT+QICSGP with a 127-byte user and
 * password, AT+QIOPEN/+QISTATE with a 255-byte domain name.  A longer line
 * is discarded whole (counted in stats.overlong) and reported as one
 * AT_TOK_GARBAGE (AT_GARBAGE_OVERLONG) carrying its first 511 bytes.  A line
 * with a control byte (other than TAB) is AT_GARBAGE_CTRL (the control
 * bytes show as '.'); a known URC with malformed fields is AT_GARBAGE_FIELD.
 * NUL and 0xff bytes between lines (line noise around a modem reset) are
 * dropped.  All discarded bytes are counted in stats.garbage_bytes, all
 * discarded lines in stats.garbage.  Resynchronisation is at the next line
 * end.
 *
 * Splitting: feeding the same bytes in any split (whole, in two parts, byte
 * by byte) yields the identical sequence of tokens and of payload bytes;
 * only the chunking of ops->payload() differs.
 *
 * Field helpers: at_line_args(), at_fields_split(), at_field_int(),
 * at_field_str() and at_field_is() parse the comma-separated, optionally
 * quoted fields of a line for the command channel.  They never write
 * outside the given buffers and reject malformed numbers and overflow.
 */
#ifndef QUECTEL_AT_PARSE_H
#define QUECTEL_AT_PARSE_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#else
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
/* host builds pass -Dnoinline=... (selftests/host, selftests/fuzz) */
#endif

#define AT_LINE_MAX	512	/* line buffer, including the NUL */
#define AT_PEER_MAX	48	/* IPv6 literal (45) + NUL, rounded */
#define AT_PAYLOAD_MAX	1500	/* largest count a payload header may announce */
#define AT_FIELDS_MAX	16	/* a sensible array size for at_fields_split() */
#define AT_CONNID_MAX	31	/* highest connectID the push mask can hold */

enum at_token_kind {
	AT_TOK_ECHO,
	AT_TOK_INFO,
	AT_TOK_OK,
	AT_TOK_ERROR,
	AT_TOK_CME_ERROR,
	AT_TOK_CMS_ERROR,
	AT_TOK_SEND_OK,
	AT_TOK_SEND_FAIL,
	AT_TOK_CONNECT,
	AT_TOK_NO_CARRIER,
	AT_TOK_CLOSE_OK,
	AT_TOK_DEACT_OK,
	AT_TOK_CONNECT_OK,
	AT_TOK_CONNECT_FAIL,
	AT_TOK_ALREADY_CONNECT,
	AT_TOK_STATE,
	AT_TOK_URC,
	AT_TOK_PROMPT,
	AT_TOK_PAYLOAD_BEGIN,
	AT_TOK_PAYLOAD_END,
	AT_TOK_GARBAGE,
	AT_TOK_NR
};

/* Subtype of AT_TOK_URC.  Fields not named are -1 (peer ""). */
enum at_urc {
	AT_URC_NONE,
	AT_URC_RECV,		/* +QIURC: "recv",id[,len[,"ip",port]]: id, len, peer, port */
	AT_URC_CLOSED,		/* +QIURC: "closed",id; legacy CLOSED (id -1), "<i>, CLOSED" */
	AT_URC_INCOMING,	/* +QIURC: "incoming",id,serverID,"ip",port: id, arg, peer, port */
	AT_URC_INCOMING_FULL,	/* +QIURC: "incoming full",serverID: id = serverID */
	AT_URC_PDPDEACT,	/* +QIURC: "pdpdeact",ctx: id = ctx; legacy +PDP DEACT: id -1 */
	AT_URC_QIURC,		/* any other +QIURC: "<name>",... (e.g. "dnsgip") */
	AT_URC_QIOPEN,		/* +QIOPEN: id,err: id, code */
	AT_URC_QPING,		/* +QPING: result[,...]: code = result */
	AT_URC_RDY,		/* RDY */
	AT_URC_CREG,		/* +CREG: ... (maybe a response) */
	AT_URC_CGREG,		/* +CGREG: ... (maybe a response) */
	AT_URC_CEREG,		/* +CEREG: ... (maybe a response) */
	AT_URC_CPIN,		/* +CPIN: ... (maybe a response) */
	AT_URC_CFUN,		/* +CFUN: ... (maybe a response) */
	AT_URC_QIRDI,		/* legacy +QIRDI: ctx,sc,index: id = index, arg = sc */
	AT_URC_QIND,		/* +QIND: ... */
	AT_URC_POWERED_DOWN,	/* POWERED DOWN, NORMAL POWER DOWN */
	AT_URC_CALL_READY,	/* Call Ready */
	AT_URC_SMS_READY,	/* SMS Ready */
	AT_URC_NR
};

/* Which header announced a payload (AT_TOK_PAYLOAD_BEGIN/END). */
enum at_payload_src {
	AT_PAY_NONE,
	AT_PAY_QIRD,		/* +QIRD: n */
	AT_PAY_QIRD_UDP,	/* +QIRD: n,"ip",port */
	AT_PAY_PUSH,		/* +QIURC: "recv",id,len */
	AT_PAY_PUSH_UDP,	/* +QIURC: "recv",id,len,"ip",port */
	AT_PAY_LEGACY_QIRD,	/* +QIRD: ip:port,TCP|UDP,n */
	AT_PAY_LEGACY_IPD,	/* IPD<n>[TCP|UDP]: */
	AT_PAY_NR
};

/* Why an AT_TOK_GARBAGE line was discarded. */
enum at_garbage {
	AT_GARBAGE_NONE,
	AT_GARBAGE_OVERLONG,	/* longer than AT_LINE_MAX - 1 */
	AT_GARBAGE_CTRL,	/* contains a control byte */
	AT_GARBAGE_BADLEN,	/* payload header with a bad length */
	AT_GARBAGE_FIELD,	/* known URC with malformed fields */
	AT_GARBAGE_NR
};

#define AT_TOKF_MAYBE_RESPONSE	0x1U	/* URC that is also a solicited response */
#define AT_TOKF_FINAL		0x2U	/* ends a command (see the echo rule) */

struct at_token {
	enum at_token_kind kind;
	enum at_urc urc;		/* AT_TOK_URC */
	enum at_payload_src src;	/* AT_TOK_PAYLOAD_BEGIN/END */
	enum at_garbage reason;		/* AT_TOK_GARBAGE */
	unsigned int flags;		/* AT_TOKF_* */
	const char *text;		/* NUL-terminated, never NULL */
	size_t text_len;		/* strlen(text) < AT_LINE_MAX */
	int id;				/* connectID / index / context, or -1 */
	int arg;			/* second id (serverID, sc), or -1 */
	int code;			/* error/result code, or -1 */
	int len;			/* length announced, or -1 */
	int port;			/* peer port, or -1 */
	const char *peer;		/* peer address, NUL-terminated, "" if none */
};

struct at_parser_ops {
	/* a token; tok and its strings are valid during the call only */
	void (*token)(void *ctx, const struct at_token *tok);
	/* payload bytes, pointing into the buffer given to at_parser_feed() */
	void (*payload)(void *ctx, const u8 *data, size_t len);
};

struct at_parser_stats {
	u32 lines;		/* non-empty lines seen (incl. garbage) */
	u32 overlong;		/* lines longer than AT_LINE_MAX - 1 */
	u32 garbage;		/* lines reported as AT_TOK_GARBAGE (incl. overlong) */
	u32 bad_length;		/* payload headers with a bad length */
	u32 garbage_bytes;	/* bytes discarded, line ends excluded */
	u32 payloads;		/* counted payloads begun */
};

struct at_parser {
	const struct at_parser_ops *ops;
	void *ctx;
	u32 push_mask;		/* bit n: connectID n is in direct push mode */
	bool raw;		/* transparent: all bytes are payload */
	bool ipd;		/* legacy IPD<n>: headers recognised */
	bool echo;		/* an echo of our command is expected */
	/* receive state */
	bool in_payload;	/* counting pay_left bytes */
	bool eat_lf;		/* last line ended with CR: eat one LF */
	bool eat_sp;		/* just reported '>': eat one ' ' */
	u8 discard;		/* enum at_garbage: why this line is dropped */
	u16 len;		/* bytes in line[] */
	u32 pay_left;
	/* header of the payload in progress, for PAYLOAD_END */
	u8 pay_src;
	int pay_id;
	int pay_len;
	int pay_port;
	char pay_peer[AT_PEER_MAX];
	char line[AT_LINE_MAX];
	struct at_parser_stats stats;
};

/* Zero *p, set the callbacks (either may be NULL) and their context. */
void at_parser_init(struct at_parser *p, const struct at_parser_ops *ops, void *ctx);
/*
 * Forget the partial line, a payload in progress (no PAYLOAD_END is sent)
 * and the echo expectation, e.g. after the modem rebooted.  The push mask,
 * raw and IPD settings and the stats are kept.
 */
void at_parser_reset(struct at_parser *p);
/* Tokenize len bytes; callbacks run from inside.  Never fails. */
void at_parser_feed(struct at_parser *p, const u8 *buf, size_t len);
/* Bit n set: connectID n is in direct push mode (AT_CONNID_MAX at most). */
void at_parser_set_push(struct at_parser *p, u32 mask);
/* Transparent mode on/off; turning it on drops a partial line or payload. */
void at_parser_set_raw(struct at_parser *p, bool raw);
/* Recognise the legacy IPD<n>[TCP|UDP]: direct-output header. */
void at_parser_set_ipd(struct at_parser *p, bool on);
/* A command line was (on) or was not (off) just written: see "Echo rule". */
void at_parser_expect_echo(struct at_parser *p, bool on);

/* Constant names for logs ("OK", "URC", "RECV", ...); "?" if out of range. */
const char *at_token_kind_name(enum at_token_kind kind);
const char *at_urc_name(enum at_urc urc);

/* One field of a line: s[0..len) without quotes; s is not NUL-terminated. */
struct at_field {
	const char *s;
	size_t len;
	bool quoted;
};

/*
 * If line starts with prefix (e.g. "+QIRD:"), return the rest after any
 * spaces, else NULL.
 */
const char *at_line_args(const char *line, const char *prefix);

/*
 * Split s[0..len) at the commas that are outside "quotes" and (parentheses).
 * Unquoted fields are trimmed of spaces; a quoted field must be followed by
 * spaces and a comma or the end.  Returns the number of fields (0 for an
 * empty or all-blank string), or -1 if malformed (unterminated quote or
 * parenthesis, junk after a closing quote) or more than max fields.
 */
int at_fields_split(const char *s, size_t len, struct at_field *f, unsigned int max);

/*
 * Parse an unquoted decimal integer ("-" allowed, no "+", no blanks) within
 * [min, max].  Returns 0 and sets *out, or -1 (nothing written) on empty,
 * quoted, malformed, overflowing or out-of-range input.
 */
int at_field_int(const struct at_field *f, int min, int max, int *out);

/*
 * Copy a field into dst (size dstlen, > 0) with a NUL.  Returns the length,
 * or -1 if it does not fit (dst is then "") or contains a NUL byte.
 */
int at_field_str(const struct at_field *f, char *dst, size_t dstlen);

/* Whether the field's text equals the NUL-terminated lit exactly. */
bool at_field_is(const struct at_field *f, const char *lit);

#endif /* QUECTEL_AT_PARSE_H */
