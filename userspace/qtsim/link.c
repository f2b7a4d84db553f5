// SPDX-License-Identifier: GPL-2.0
/*
 * The link to the host: everything between the tty fd and the dialect.
 *
 * Output: one FIFO of bytes, drained by writes of at most --chunk bytes,
 * paced by a token bucket for --baud, corrupted by the "garble" fault,
 * and recorded in the transcript. URCs that arrive while the port is in
 * transparent mode are held in a second FIFO until it leaves that mode.
 *
 * Input: read (paced by the same kind of bucket) into a small buffer and
 * consumed according to the input mode -- command lines with echo, the
 * payload after a "> " prompt, transparent bytes, or (auto-baud) nothing
 * until the host's "AT". While a command is being processed (--latency,
 * or a command that answers later) input is not consumed, so it stays in
 * the tty and the host feels the same back-pressure a real module gives.
 *
 * Transparent mode is the exception: the "+++" escape is told from
 * payload by the silence around it on the line, so the bytes are taken
 * from the tty as they arrive (paced by --baud only) and timed then, not
 * when the peer's socket has room for them. Held here, they go to the
 * peer as it takes them; the escape takes effect after them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dialect.h"
#include "faults.h"
#include "sim.h"
#include "util.h"

#define INBUF_MAX	4096
#define TRANSPARENT_IN_MAX	(64u << 20)	/* payload waiting for the peer */
#define LINE_MAX_BYTES	1024	/* longer command lines are answered ERROR */
#define DATA_MAX_BYTES	65536

enum in_mode { M_OFF, M_SYNC, M_LINE, M_FIXED, M_CTRLZ, M_TRANSPARENT };

static int rfd = -1, wfd = -1, eof;
static struct watch rw, ww;
static struct timer throttle_timer, eio_timer, latency_timer, esc_timer;
static int eio_backoff;

static struct buf inbuf, outq, urc_held;

static enum in_mode mode = M_OFF;
static int echo_on = 1;
static int hold, latency_hold;

/* command line being assembled */
static char line[LINE_MAX_BYTES + 1];
static size_t line_len;
static int line_overflow;
static char pending_line[LINE_MAX_BYTES + 1];
static size_t pending_len;

/* payload after the prompt */
static unsigned char *data;
static size_t data_len, data_want;
static int data_flags, data_overflow;

/* auto-baud: the 'A' or 'a' that may start the host's "AT" */
static unsigned char sync_a;

/* transparent-mode escape detection, on arrival */
static int esc_enabled = 1;
static int plus_n;		/* pluses held back: maybe an escape */
static int esc_done;		/* "+++" came: leave once inbuf is sent */
static uint64_t plus_t0, last_in;

/* transcript */
static FILE *logf;
static struct buf logline;
static char log_dir;

/* ---- token buckets ----------------------------------------------- */

struct bucket {
	double tokens;
	uint64_t last_us;
};

static struct bucket in_bucket, out_bucket;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double rate(void)
{
	return opt.baud / 10.0;	/* 8N1: ten bit times per byte */
}

/* Bytes that may pass now; a burst of at most ~20 ms of line time. */
static size_t bucket_avail(struct bucket *b)
{
	uint64_t now = now_us();
	double burst;

	if (!opt.baud)
		return SIZE_MAX;
	burst = rate() / 50.0;
	if (burst < 1)
		burst = 1;
	if (!b->last_us)
		b->tokens = burst;
	else
		b->tokens += (now - b->last_us) * rate() / 1e6;
	if (b->tokens > burst)
		b->tokens = burst;
	b->last_us = now;
	return b->tokens >= 1 ? (size_t)b->tokens : 0;
}

static void bucket_take(struct bucket *b, size_t n)
{
	if (opt.baud)
		b->tokens -= n;
}

static void throttle_wake(void *arg)
{
	(void)arg;	/* just ends the poll() so prepare runs again */
}

static void throttle_later(struct bucket *b)
{
	double need = 1 - b->tokens;
	unsigned ms = (unsigned)(need * 1000 / rate()) + 1;

	if (!throttle_timer.armed)
		timer_arm(&throttle_timer, ms, throttle_wake, NULL);
}

/* ---- transcript -------------------------------------------------- */

int link_log_open(const char *path)
{
	logf = fopen(path, "w");
	return logf ? 0 : -1;
}

static void log_flush_line(void)
{
	if (!logf || !logline.len)
		return;
	fputc(log_dir, logf);
	fputc(' ', logf);
	fput_escaped(logf, buf_data(&logline), logline.len);
	fputc('\n', logf);
	buf_reset(&logline);
}

/* One transcript line per LF, and a new line whenever direction changes. */
static void log_bytes(char dir, const unsigned char *p, size_t n)
{
	if (!logf)
		return;
	for (size_t i = 0; i < n; i++) {
		if (dir != log_dir)
			log_flush_line();
		log_dir = dir;
		buf_append(&logline, &p[i], 1);
		if (p[i] == '\n')
			log_flush_line();
	}
}

static void log_sync(void)
{
	if (!logf)
		return;
	log_flush_line();
	fflush(logf);
}

void link_log_close(void)
{
	if (!logf)
		return;
	log_sync();
	fclose(logf);
	logf = NULL;
	buf_free(&logline);
}

/* ---- output ------------------------------------------------------ */

void out_raw(const void *p, size_t n)
{
	if (fault_silent())
		return;
	buf_append(&outq, p, n);
}

static void vline(struct buf *q, const char *fmt, va_list ap)
{
	char tmp[2048];
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	if (fault_silent())
		return;
	buf_append(q, "\r\n", 2);
	buf_append(q, tmp, n);
	buf_append(q, "\r\n", 2);
}

void out_vline(const char *fmt, va_list ap)
{
	vline(&outq, fmt, ap);
}

void out_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out_vline(fmt, ap);
	va_end(ap);
}

void out_final(const char *text)
{
	if (fault_take_drop_final())
		return;
	out_line("%s", text);
}

void out_urc(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(mode == M_TRANSPARENT ? &urc_held : &outq, fmt, ap);
	va_end(ap);
}

void out_urc_data(const void *p, size_t n, const char *fmt, ...)
{
	struct buf *q = mode == M_TRANSPARENT ? &urc_held : &outq;
	char tmp[256];
	va_list ap;
	int len;

	if (fault_silent())
		return;
	va_start(ap, fmt);
	len = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	buf_append(q, "\r\n", 2);
	buf_append(q, tmp, MIN((size_t)len, sizeof(tmp) - 1));
	buf_append(q, "\r\n", 2);
	buf_append(q, p, n);
	buf_append(q, "\r\n", 2);
}

size_t out_queued(void)
{
	return outq.len;
}

static void write_some(void)
{
	unsigned char tmp[4096];
	size_t budget = 256 * 1024;

	while (outq.len && budget) {
		size_t n = MIN(outq.len, sizeof(tmp)), avail;
		ssize_t w;

		if (opt.chunk)
			n = MIN(n, opt.chunk);
		avail = bucket_avail(&out_bucket);
		if (!avail) {
			throttle_later(&out_bucket);
			return;
		}
		n = MIN(n, avail);
		memcpy(tmp, buf_data(&outq), n);
		fault_garble(tmp, n);
		w = write(wfd, tmp, n);
		if (w < 0) {
			if (errno == EIO && !eio_backoff) {
				/* Nobody on the other side right now: drop it,
				 * as a UART with no listener would. */
				buf_reset(&outq);
			}
			return;
		}
		log_bytes('<', tmp, w);
		buf_consume(&outq, w);
		bucket_take(&out_bucket, w);
		budget -= MIN(budget, (size_t)w);
		if ((size_t)w < n)
			return;
	}
}

/* ---- input modes ------------------------------------------------- */

void set_echo(int on)
{
	echo_on = on;
}

int get_echo(void)
{
	return echo_on;
}

/*
 * Command mode again. @first (may be NULL) says why, before the URCs held
 * back while the port carried payload: the notes have the module leave
 * transparent mode with its "OK" to "+++", so what it held follows it.
 */
static void leave_transparent_after(void (*first)(void))
{
	if (mode != M_TRANSPARENT)
		return;

	timer_stop(&esc_timer);
	plus_n = 0;
	esc_done = 0;
	/* Payload not sent yet: a module drops it with the call. */
	buf_reset(&inbuf);
	mode = M_LINE;
	if (first)
		first();
	out_raw(buf_data(&urc_held), urc_held.len);
	buf_reset(&urc_held);
}

static void leave_transparent(void)
{
	leave_transparent_after(NULL);
}

void in_line(void)
{
	leave_transparent();
	mode = M_LINE;
	line_len = 0;
	line_overflow = 0;
}

static void start_data(size_t want, int flags, enum in_mode m)
{
	leave_transparent();
	if (!data)
		data = xmalloc(DATA_MAX_BYTES);
	data_len = 0;
	data_want = want;
	data_flags = flags;
	data_overflow = 0;
	mode = m;
}

void in_data_fixed(size_t n, int flags)
{
	start_data(MIN(n, (size_t)DATA_MAX_BYTES), flags, M_FIXED);
}

void in_data_ctrlz(size_t max, int flags)
{
	start_data(MIN(max, (size_t)DATA_MAX_BYTES), flags, M_CTRLZ);
}

void in_transparent(int escape)
{
	mode = M_TRANSPARENT;
	esc_enabled = escape;
	plus_n = 0;
	esc_done = 0;
	/* The guard time before "+++" counts from entering the mode. */
	last_in = now_ms();
}

void in_off(void)
{
	leave_transparent();
	mode = M_OFF;
	hold = 0;
	latency_hold = 0;
	timer_stop(&latency_timer);
	buf_reset(&urc_held);
}

void in_autobaud(void)
{
	in_off();
	mode = M_SYNC;
	sync_a = 0;
}

int in_is_transparent(void)
{
	return mode == M_TRANSPARENT;
}

void cmd_hold(void)
{
	hold = 1;
}

void cmd_release(void)
{
	hold = 0;
}

/* ---- command lines ----------------------------------------------- */

static void exec_line(char *l, size_t n)
{
	int code;

	if (fault_take_cme(&code)) {
		char tmp[32];

		snprintf(tmp, sizeof(tmp), "+CME ERROR: %d", code);
		out_final(tmp);
		return;
	}
	dialect->line(l, n);
}

static void latency_done(void *arg)
{
	(void)arg;
	latency_hold = 0;
	exec_line(pending_line, pending_len);
}

static void line_complete(void)
{
	unsigned delay = opt.latency_ms + fault_delay_ms();
	size_t n = line_len;

	line[n] = 0;
	line_len = 0;
	if (line_overflow) {
		/* The module's command buffer overflowed: it rejects the line. */
		line_overflow = 0;
		out_final("ERROR");
		return;
	}
	if (!n)
		return;
	if (delay) {
		/* The modem "thinks": the answer, and the next command's
		 * echo, come only after the processing time. */
		memcpy(pending_line, line, n + 1);
		pending_len = n;
		latency_hold = 1;
		timer_arm(&latency_timer, delay, latency_done, NULL);
		return;
	}
	exec_line(line, n);
}

/* Returns the number of bytes consumed. */
static size_t feed_line(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && mode == M_LINE && !hold && !latency_hold; i++) {
		unsigned char c = p[i];

		if (echo_on)
			out_raw(&c, 1);
		if (c == '\r') {
			line_complete();
		} else if (c == '\n') {
			/* A host that ends lines with CR LF: the LF is noise. */
		} else if (c == 0x08 || c == 0x7f) {
			if (line_len)
				line_len--;
		} else if (line_len < LINE_MAX_BYTES) {
			line[line_len++] = c;
		} else {
			line_overflow = 1;
		}
	}
	return i;
}

static size_t feed_data(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (mode == M_CTRLZ && (c == 0x1a || c == 0x1b)) {
			enum data_end how = c == 0x1b ? DATA_CANCEL :
				data_overflow ? DATA_OVERFLOW : DATA_SEND;

			mode = M_LINE;
			line_len = 0;
			dialect->data(data, data_len, how);
			return i + 1;
		}
		if (mode == M_CTRLZ && c == 0x08 && (data_flags & DATA_BACKSPACE)) {
			if (data_len)
				data_len--;
			if (data_flags & DATA_ECHO)
				out_raw(&c, 1);
			continue;
		}
		if (data_len < data_want) {
			data[data_len++] = c;
			if (data_flags & DATA_ECHO)
				out_raw(&c, 1);
		} else {
			data_overflow = 1;
		}
		if (mode == M_FIXED && data_len == data_want) {
			mode = M_LINE;
			line_len = 0;
			dialect->data(data, data_len, DATA_SEND);
			return i + 1;
		}
	}
	return i;
}

/*
 * "+++" leaves transparent mode only with a quiet guard time before the
 * first '+', all three within the guard time, and quiet after, all timed
 * as the bytes arrive. Pluses that might start an escape are held back
 * and queued as payload as soon as the pattern breaks.
 */
static void esc_expired(void *arg)
{
	int n = plus_n;

	(void)arg;
	plus_n = 0;
	if (mode != M_TRANSPARENT)
		return;
	if (n == 3)
		esc_done = 1;	/* link_process() leaves after the payload */
	else	/* the three pluses did not come in time: they were payload */
		buf_append(&inbuf, "+++", n);
	link_process();
}

/* Bytes read in transparent mode: into inbuf, the escape taken out. */
static void arrive_transparent(const unsigned char *p, size_t n)
{
	uint64_t now = now_ms();
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '+' && esc_enabled) {
			if (plus_n == 0 && now - last_in >= opt.guard_ms) {
				buf_append(&inbuf, p + run, i - run);
				run = i + 1;
				plus_n = 1;
				plus_t0 = now;
				timer_arm(&esc_timer, opt.guard_ms, esc_expired, NULL);
				continue;
			}
			if (plus_n > 0 && plus_n < 3 && now - plus_t0 <= opt.guard_ms) {
				run = i + 1;
				if (++plus_n == 3)
					timer_arm(&esc_timer, opt.guard_ms, esc_expired, NULL);
				continue;
			}
		}
		if (plus_n) {
			buf_append(&inbuf, "+++", plus_n);
			plus_n = 0;
			timer_stop(&esc_timer);
		}
	}
	buf_append(&inbuf, p + run, n - run);
	if (n)
		last_in = now;
}

/* Payload to the peer, as much as its socket takes. */
static size_t feed_transparent(const unsigned char *p, size_t n)
{
	n = MIN(n, dialect->t_room());
	if (n)
		dialect->t_data(p, n);
	return n;
}

/*
 * Auto-baud: a module measures the host's rate on "AT"; everything
 * before is noise at an unknown rate. The 'A' goes into the first line.
 */
static size_t feed_sync(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if ((sync_a == 'A' && c == 'T') || (sync_a == 'a' && c == 't')) {
			in_line();
			if (echo_on)
				out_raw(&sync_a, 1);
			line[line_len++] = sync_a;
			return i;	/* the 'T' is the line's */
		}
		sync_a = c == 'A' || c == 'a' ? c : 0;
	}
	return n;
}

static int can_consume(void)
{
	if (!inbuf.len || hold || latency_hold)
		return 0;
	if (mode == M_TRANSPARENT)
		return dialect->t_room() > 0;
	return 1;
}

void link_process(void)
{
	while (can_consume()) {
		const unsigned char *p = buf_data(&inbuf);
		size_t n = inbuf.len, used;
		enum in_mode before = mode;

		if (mode == M_OFF || fault_silent()) {
			used = n;	/* rebooting or silenced: bytes are lost */
		} else if (mode == M_SYNC) {
			used = feed_sync(p, n);
		} else if (mode == M_LINE) {
			used = feed_line(p, n);
		} else if (mode == M_FIXED || mode == M_CTRLZ) {
			used = feed_data(p, n);
		} else {
			used = feed_transparent(p, n);
		}
		buf_consume(&inbuf, used);
		if (!used && mode == before)
			break;
	}
	if (mode == M_TRANSPARENT && esc_done && !inbuf.len)
		leave_transparent_after(dialect->t_escape);
}

/* How much more input may be read now. */
static size_t in_room(void)
{
	if (mode == M_TRANSPARENT)
		return esc_done ? 0 : TRANSPARENT_IN_MAX - MIN(inbuf.len, TRANSPARENT_IN_MAX);
	return INBUF_MAX - MIN(inbuf.len, INBUF_MAX);
}

/* ---- fds --------------------------------------------------------- */

static void eio_done(void *arg)
{
	(void)arg;
	eio_backoff = 0;
}

static void on_read(void)
{
	unsigned char tmp[INBUF_MAX];
	size_t n = MIN(sizeof(tmp), in_room());
	ssize_t r;

	n = MIN(n, bucket_avail(&in_bucket));
	if (!n)
		return;
	r = read(rfd, tmp, n);
	if (r < 0) {
		if (errno == EIO) {
			/* The tty's other side is closed (for a pty: all slave
			 * fds, or a serial port was unplugged). Wait for it. */
			eio_backoff = 1;
			timer_arm(&eio_timer, 100, eio_done, NULL);
		}
		return;
	}
	if (r == 0) {
		if (rfd == 0)
			eof = 1;
		else {
			eio_backoff = 1;
			timer_arm(&eio_timer, 100, eio_done, NULL);
		}
		return;
	}
	log_bytes('>', tmp, r);
	bucket_take(&in_bucket, r);
	if (mode == M_TRANSPARENT)
		arrive_transparent(tmp, r);
	else
		buf_append(&inbuf, tmp, r);
	link_process();
}

static void on_rw(struct watch *w, short rev)
{
	(void)w;
	if (rev & (POLLIN | POLLHUP | POLLERR))
		on_read();
	if (rev & POLLOUT)
		write_some();
}

static void on_w(struct watch *w, short rev)
{
	(void)w;
	if (rev & (POLLOUT | POLLERR))
		write_some();
}

void link_init(int r, int w)
{
	rfd = r;
	wfd = w;
	watch_add(&rw, rfd, on_rw, NULL);
	if (wfd != rfd)
		watch_add(&ww, wfd, on_w, NULL);
}

int link_prepare(void)
{
	short re = 0, we = 0;

	if (!eio_backoff && in_room() && !eof) {
		if (bucket_avail(&in_bucket))
			re = POLLIN;
		else
			throttle_later(&in_bucket);
	}
	if (outq.len) {
		if (bucket_avail(&out_bucket))
			we = POLLOUT;
		else
			throttle_later(&out_bucket);
	}
	if (wfd == rfd) {
		rw.events = re | we;
	} else {
		rw.events = re;
		ww.events = we;
	}
	log_sync();
	return can_consume();
}

int link_eof(void)
{
	return eof && !outq.len;
}

void link_shutdown(void)
{
	/* Best effort: give the host what is already queued. */
	uint64_t end = now_ms() + 200;

	while (outq.len && now_ms() < end && !opt.baud) {
		ssize_t w = write(wfd, buf_data(&outq), outq.len);

		if (w <= 0)
			break;
		log_bytes('<', buf_data(&outq), w);
		buf_consume(&outq, w);
	}
	buf_free(&inbuf);
	buf_free(&outq);
	buf_free(&urc_held);
	free(data);
	data = NULL;
}
