// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for kernel/at_parse.c.
 *
 * Input: an 8-byte header, then the bytes the "modem" sends.
 *   [0]    flags: 0x01 legacy IPD headers, 0x02 echo expected at start and
 *          after every final/legacy result, 0x04 CONNECT enters raw mode,
 *          0x08 toggle raw mode at offset A, 0x10 at_parser_reset() at
 *          offset B, 0x20 flip push bit 0 on every URC RECV
 *   [1..4] direct-push mask (little endian)
 *   [5]    seed of the random split
 *   [6]    offset A = [6] * len / 256
 *   [7]    offset B = [7] * len / 256
 *
 * The data is fed three times: whole, in random pieces (1..64 bytes, from
 * the seed), and byte by byte.  Actions at offsets A and B happen at the
 * same byte position in every run (pieces are cut there); actions taken
 * from callbacks happen at the same token.  Each run folds every token
 * (kind, fields, text) and every payload byte, in order, into a hash; the
 * three hashes, token counts, payload counts and parser stats must agree.
 * Invariants checked in the callbacks (abort on violation):
 *  - text and peer are non-NULL, NUL-terminated, within their bounds, and
 *    strlen(text) == text_len;
 *  - enums in range; URC subtype iff kind URC;
 *  - payload bytes arrive only between PAYLOAD_BEGIN and PAYLOAD_END (or in
 *    raw mode), never more than announced, exactly as many at END; BEGIN
 *    lengths within 0..AT_PAYLOAD_MAX; no nesting;
 *  - no zero-length payload chunk, chunks point into the fed buffer;
 *  - the field helpers stay within the line and agree with themselves.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_parse.h"

#define HDR 8

struct run {
	struct at_parser p;
	uint8_t flags;
	uint64_t hash;
	size_t tokens, paybytes;
	bool in_pay;
	bool last_pay;
	int pay_len;
	long pay_got;
	const uint8_t *lo, *hi;		/* bounds of the whole input */
};

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant: %s (line %d)\n", #c, __LINE__); \
	abort(); } } while (0)

static bool debug;	/* AT_FUZZ_DEBUG=1: print every run's events */

static void mix(struct run *r, const void *data, size_t n)
{
	const uint8_t *b = data;
	size_t i;

	for (i = 0; i < n; i++) {
		r->hash ^= b[i];
		r->hash *= 0x100000001b3ULL;
	}
}

static void mix_int(struct run *r, int v)
{
	mix(r, &v, sizeof(v));
}

static void check_fields(const struct at_token *t)
{
	struct at_field f[AT_FIELDS_MAX];
	const char *a = strchr(t->text, ':');
	size_t alen;
	int nf, i, v;
	char buf[16];

	a = a ? a + 1 : t->text;
	alen = t->text + t->text_len - a;
	nf = at_fields_split(a, alen, f, AT_FIELDS_MAX);
	CHECK(nf >= -1 && nf <= AT_FIELDS_MAX);
	for (i = 0; i < nf; i++) {
		int k;

		CHECK(f[i].s >= a && f[i].s + f[i].len <= a + alen);
		if (at_field_int(&f[i], -1000000, 1000000, &v) == 0)
			CHECK(v >= -1000000 && v <= 1000000 && !f[i].quoted);
		k = at_field_str(&f[i], buf, sizeof(buf));
		CHECK(k == -1 || (k == (int)f[i].len && strlen(buf) == (size_t)k));
		CHECK(k != -1 || buf[0] == '\0');
		if (k >= 0)
			CHECK(at_field_is(&f[i], buf));
	}
}

static void on_token(void *ctx, const struct at_token *t)
{
	struct run *r = ctx;

	CHECK(t->text && t->peer);
	CHECK(t->text_len < AT_LINE_MAX && strlen(t->text) == t->text_len);
	CHECK(strlen(t->peer) < AT_PEER_MAX);
	CHECK(t->kind < AT_TOK_NR && t->urc < AT_URC_NR && t->src < AT_PAY_NR &&
	      t->reason < AT_GARBAGE_NR);
	CHECK((t->kind == AT_TOK_URC) == (t->urc != AT_URC_NONE));
	CHECK((t->kind == AT_TOK_GARBAGE) == (t->reason != AT_GARBAGE_NONE));
	CHECK((t->kind == AT_TOK_PAYLOAD_BEGIN || t->kind == AT_TOK_PAYLOAD_END) ==
	      (t->src != AT_PAY_NONE));
	CHECK(t->port >= -1 && t->port <= 65535);
	CHECK(!r->in_pay || t->kind == AT_TOK_PAYLOAD_END);

	if (t->kind == AT_TOK_PAYLOAD_BEGIN) {
		CHECK(t->len >= 0 && t->len <= AT_PAYLOAD_MAX);
		r->in_pay = true;
		r->pay_len = t->len;
		r->pay_got = 0;
	} else if (t->kind == AT_TOK_PAYLOAD_END) {
		CHECK(r->in_pay && r->pay_got == r->pay_len && t->len == r->pay_len);
		r->in_pay = false;
	}
	if (t->kind == AT_TOK_INFO || t->kind == AT_TOK_URC || t->kind == AT_TOK_GARBAGE)
		check_fields(t);

	if (debug)
		fprintf(stderr, "[%p] %s urc=%d src=%d id=%d len=%d '%s'\n", (void *)r,
			at_token_kind_name(t->kind), t->urc, t->src, t->id, t->len, t->text);
	r->tokens++;
	r->last_pay = false;
	mix_int(r, t->kind);
	mix_int(r, t->urc);
	mix_int(r, t->src);
	mix_int(r, t->reason);
	mix_int(r, (int)t->flags);
	mix_int(r, t->id);
	mix_int(r, t->arg);
	mix_int(r, t->code);
	mix_int(r, t->len);
	mix_int(r, t->port);
	mix(r, t->peer, strlen(t->peer) + 1);
	mix(r, t->text, t->text_len + 1);

	if ((r->flags & 0x02) && t->kind >= AT_TOK_OK && t->kind <= AT_TOK_ALREADY_CONNECT)
		at_parser_expect_echo(&r->p, true);
	if ((r->flags & 0x04) && t->kind == AT_TOK_CONNECT)
		at_parser_set_raw(&r->p, true);
	if ((r->flags & 0x20) && t->kind == AT_TOK_URC && t->urc == AT_URC_RECV)
		at_parser_set_push(&r->p, r->p.push_mask ^ 1U);
}

static void on_payload(void *ctx, const uint8_t *data, size_t len)
{
	struct run *r = ctx;

	CHECK(len > 0);
	CHECK(data >= r->lo && data + len <= r->hi);
	if (r->in_pay) {
		r->pay_got += (long)len;
		CHECK(r->pay_got <= r->pay_len);
	} else {
		CHECK(r->p.raw);
	}
	if (debug)
		fprintf(stderr, "[%p] payload %zu '%.*s'\n", (void *)r, len, (int)len, data);
	r->paybytes += len;
	/* a marker where payload follows a token, then per byte: the chunking
	 * does not change the hash
	 */
	if (!r->last_pay)
		mix(r, "P", 1);
	r->last_pay = true;
	while (len--) {
		r->hash ^= *data++;
		r->hash *= 0x100000001b3ULL;
	}
}

static const struct at_parser_ops ops = {
	.token = on_token,
	.payload = on_payload,
};

/* Offsets A and B cut every run's pieces so their actions line up. */
static void feed(struct run *r, const uint8_t *d, size_t pos, size_t n, size_t oa, size_t ob)
{
	while (n) {
		size_t k = n;

		if (oa > pos && oa < pos + k)
			k = oa - pos;
		if (ob > pos && ob < pos + k)
			k = ob - pos;
		if (pos == oa && (r->flags & 0x08)) {
			/* entering raw mode abandons a payload (no END) */
			at_parser_set_raw(&r->p, !r->p.raw);
			r->in_pay = r->p.in_payload;
		}
		if (pos == ob && (r->flags & 0x10)) {
			at_parser_reset(&r->p);
			r->in_pay = false;
			mix(r, "R", 1);
			r->last_pay = false;
		}
		at_parser_feed(&r->p, d + pos, k);
		pos += k;
		n -= k;
	}
}

static void start(struct run *r, const uint8_t *h, const uint8_t *lo, const uint8_t *hi)
{
	memset(r, 0, sizeof(*r));
	r->flags = h[0];
	r->hash = 0xcbf29ce484222325ULL;
	r->lo = lo;
	r->hi = hi;
	at_parser_init(&r->p, &ops, r);
	at_parser_set_ipd(&r->p, h[0] & 0x01);
	at_parser_expect_echo(&r->p, h[0] & 0x02);
	at_parser_set_push(&r->p, (uint32_t)h[1] | (uint32_t)h[2] << 8 |
			   (uint32_t)h[3] << 16 | (uint32_t)h[4] << 24);
}

static void same(const struct run *a, const struct run *b)
{
	CHECK(a->hash == b->hash);
	CHECK(a->tokens == b->tokens);
	CHECK(a->paybytes == b->paybytes);
	CHECK(a->in_pay == b->in_pay && a->pay_got == b->pay_got);
	CHECK(!memcmp(&a->p.stats, &b->p.stats, sizeof(a->p.stats)));
}

static struct run whole, split, bytes;

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	const uint8_t *d;
	size_t n, pos, oa, ob;
	uint32_t x;

	debug = getenv("AT_FUZZ_DEBUG");
	if (size < HDR)
		return 0;
	d = in + HDR;
	n = size - HDR;
	oa = (size_t)in[6] * n / 256;
	ob = (size_t)in[7] * n / 256;

	start(&whole, in, d, d + n);
	feed(&whole, d, 0, n, oa, ob);

	start(&split, in, d, d + n);
	x = in[5] * 2654435761U + 1;
	for (pos = 0; pos < n;) {
		size_t k;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		k = 1 + x % 64;
		if (k > n - pos)
			k = n - pos;
		feed(&split, d, pos, k, oa, ob);
		pos += k;
	}

	start(&bytes, in, d, d + n);
	for (pos = 0; pos < n; pos++)
		feed(&bytes, d, pos, 1, oa, ob);

	same(&whole, &split);
	same(&whole, &bytes);
	CHECK(whole.p.stats.garbage_bytes <= n);
	CHECK(whole.p.stats.lines <= n);
	return 0;
}
