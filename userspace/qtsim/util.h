/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by every part of qtsim: a growable byte buffer,
 * the monotonic clock, and C-style escaping for the transcript log.
 */
#ifndef QTSIM_UTIL_H
#define QTSIM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * Bytes live at d[off .. off+len). Consuming from the front only moves
 * off; appending compacts first when the tail is short, so a buffer used
 * as a FIFO never grows beyond what is actually queued.
 */
struct buf {
	unsigned char *d;
	size_t off, len, cap;
};

void buf_append(struct buf *b, const void *p, size_t n);
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
static inline unsigned char *buf_data(const struct buf *b)
{
	return b->d + b->off;
}

uint64_t now_ms(void);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);

/* Write n bytes C-escaped (\r, \n, \xHH ...) to f. */
void fput_escaped(FILE *f, const unsigned char *p, size_t n);

void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
