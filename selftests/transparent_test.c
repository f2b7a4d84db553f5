// SPDX-License-Identifier: GPL-2.0
/*
 * AF_QUECTEL transparent access mode (QT_MODE_TRANSPARENT) against qtsim,
 * checked against the "Access modes" part of docs/SOCKETS.md: 1 MiB
 * echoed with no AT command on the wire between CONNECT and the escape of
 * the close; payload that looks like the escape ("+++", also alone between
 * seconds of silence) or like the module's words ("NO CARRIER", also as
 * the very last bytes, which the kernel checks with the escape and ATO;
 * "OK", "CLOSED"), all delivered intact with the session up; switching a
 * live connection buffer -> transparent -> buffer -> direct push ->
 * transparent while data flows both ways; what other sockets of the modem
 * get meanwhile (EBUSY, also for a second socket asking for transparent
 * mode; a buffer-mode connection's traffic waits and then goes on, also
 * when the transparent one leaves with setsockopt()); what transparent
 * mode refuses (EOPNOTSUPP); request/answer exchanges and a long answer
 * while we are quiet; the peer dropping the call (NO CARRIER: EOF, or
 * ECONNRESET with bytes still queued, and the connectID closed); a close
 * leaving the modem usable in every mode and all 12 connectIDs free; a
 * datagram client in transparent mode.
 *
 * Every test starts its own qtsim (--rdy-delay 0, the default 1 s guard
 * time, as the kernel's) on a pty, with a transcript (--log) to see what
 * went over the wire; peers are real sockets on 127.0.0.1 (in-process or
 * the forked echo server). Every blocking call is bounded (socket
 * timeouts, poll timeouts, timed waits, the harness timeout), and the
 * teardown closes, kills and reaps what a test started. Guard times make
 * each escape cost about 2 s: the tests use few.
 */
#include "kselftest_harness.h"
#include "qt_af.h"
#include "qt_prog.h"

#define BIG_RCVBUF	(8 * MIB)	/* nothing the tests move can overflow it */
#define GUARD_MS	1000		/* the notes' guard time, the kernel's and qtsim's */
#define SILENCE_MS	(GUARD_MS + 300)	/* a silence the escape would need */
#define WAIT_MS		5000		/* for data that should come */
#define LEAVE_MS	15000		/* for the escape and what follows it */
#define DGRAM_MAX	1460

static const char *const mode_name[] = { "buffer", "direct push", "transparent" };

QT_ENV_FIXTURE(tp)

/* ---- sockets and peers ---- */

/*
 * A new socket of type in mode (set before it opens, a large receive
 * buffer), connected to 127.0.0.1:port and still in that mode (asserts).
 */
static int connected_in(struct __test_metadata *_metadata, struct qt_env *e, int type,
			int port, int mode)
{
	int fd = qsock_type(_metadata, e, type, 0), r;

	qt_big_rcvbuf(_metadata, fd, BIG_RCVBUF);
	r = qt_set_mode(fd, mode);
	ASSERT_EQ(0, r) TH_LOG("%s mode before connecting: %s", mode_name[mode], strerror(-r));
	r = qconnect(e, fd, "127.0.0.1", port);
	ASSERT_EQ(0, r) TH_LOG("%s connect to 127.0.0.1:%d: %s", mode_name[mode], port,
			       strerror(-r));
	EXPECT_EQ(mode, qt_get_mode(fd));
	return fd;
}

/*
 * A stream connection in mode to a real peer of our own: the socket; the
 * peer's end (bounded blocking) in *peer.
 */
static int connected_to_peer(struct __test_metadata *_metadata, struct qt_env *e, int mode,
			     int *peer)
{
	struct timeval tv = { .tv_sec = SOCK_TMO_S };
	int port = 0, lfd = listener(_metadata, e, &port, 0), fd;

	fd = connected_in(_metadata, e, SOCK_STREAM, port, mode);
	*peer = peer_accept(_metadata, e, lfd, NULL);
	setsockopt(*peer, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(*peer, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	untrack_close(e, lfd);
	return fd;
}

static int conn_id(int fd)
{
	return sockopt_int(fd, SOL_QUECTEL, QT_CONNECT_ID);
}

/* All n bytes on a blocking socket (bounded by its SO_SNDTIMEO); n, or -1. */
static ssize_t send_all(int fd, const void *data, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = send(fd, (const char *)data + done, n - done, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += r;
	}
	return n;
}

/* What went wrong (the tests check one thing at a time). */
static char why_buf[160];

/*
 * Exactly n bytes of data arrive on fd within ms, and nothing else for a
 * moment: NULL, or what went wrong (at says where: "at the peer").
 */
static const char *expect_bytes_at(int fd, const void *data, size_t n, int ms, const char *at)
{
	unsigned char *got = malloc(n + 64);
	size_t k = qn_read_n(fd, got, n, ms), i, more = 0;

	for (i = 0; i < k && got[i] == ((const unsigned char *)data)[i]; i++)
		;
	if (k != n || i != n)
		snprintf(why_buf, sizeof(why_buf),
			 "%zu of %zu bytes arrived %s, the first %zu right (%d more queued, unseen)",
			 k, n, at, i, ioctl_int(fd, SIOCINQ));
	else if ((more = qn_read_n(fd, got, 64, 50)))
		snprintf(why_buf, sizeof(why_buf), "%zu bytes arrived %s, and then %zu more", n, at,
			 more);
	free(got);
	return k != n || i != n || more ? why_buf : NULL;
}

static const char *expect_bytes(int fd, const void *data, size_t n, int ms)
{
	return expect_bytes_at(fd, data, n, ms, "");
}

/*
 * n bytes from the socket s to its peer p, then the same bytes from p
 * back to s: NULL, or what went wrong.
 */
static const char *both_ways(int s, int p, const void *data, size_t n)
{
	const char *why;

	if (send_all(s, data, n) != (ssize_t)n)
		return "the socket's send failed";
	why = expect_bytes_at(p, data, n, WAIT_MS, "at the peer");
	if (why)
		return why;
	if (send_all(p, data, n) != (ssize_t)n)
		return "the peer's send failed";
	return expect_bytes_at(s, data, n, WAIT_MS, "back");
}

/* n bytes as a C string literal would show them (into out, len bytes). */
static const char *printable(const unsigned char *p, size_t n, char *out, size_t len)
{
	size_t o = 0, i;

	for (i = 0; i < n && o + 5 < len; i++)
		o += p[i] == '\r' ? snprintf(out + o, len - o, "\\r") :
		     p[i] == '\n' ? snprintf(out + o, len - o, "\\n") :
		     p[i] >= 0x20 && p[i] < 0x7f ? snprintf(out + o, len - o, "%c", p[i]) :
		     snprintf(out + o, len - o, "\\x%02x", p[i]);
	out[o] = 0;
	return out;
}

/* n pattern bytes of seed both ways between s and p. */
static const char *both_ways_pattern(int s, int p, uint64_t seed, size_t n)
{
	unsigned char *buf = malloc(n);
	const char *why;

	qn_pattern(seed, 0, buf, n);
	why = both_ways(s, p, buf, n);
	free(buf);
	return why;
}

/* n pattern bytes of seed through the echo server and back. */
static const char *echoed(int s, uint64_t seed, size_t n)
{
	unsigned char *buf = malloc(n);
	const char *why = NULL;

	qn_pattern(seed, 0, buf, n);
	if (send_all(s, buf, n) != (ssize_t)n)
		why = "send failed";
	else
		why = expect_bytes(s, buf, n, WAIT_MS);
	free(buf);
	return why;
}

/*
 * After a wait of up to ms for pending data: the next recv() on fd (all
 * data read before) is 0 (EOF) or -errno; -ETIME if nothing happened.
 */
static int recv_end(int fd, int ms)
{
	char b[16];
	ssize_t r;

	if (!(poll1(fd, POLLIN, ms) & (POLLIN | POLLERR | POLLHUP | POLLRDHUP)))
		return -ETIME;
	r = recv(fd, b, sizeof(b), MSG_DONTWAIT);
	return r < 0 ? -errno : r == 0 ? 0 : 1;
}

/* ---- the transcript ---- */

/*
 * The transcript from a mark on, split into its lines: "> " host to
 * modem, "< " modem to host, C-escaped (so "\r" is two characters).
 */
struct wire {
	char *buf;
	char **line;
	int n;
};

static void wire_load(struct qt_env *e, size_t mark, struct wire *w)
{
	size_t len = 0, i;
	char *p;

	w->buf = log_since(e, mark, &len);
	w->n = 0;
	w->line = calloc(len + 1, sizeof(char *));
	for (p = w->buf, i = 0; p && i < len; ) {
		char *nl = memchr(p, '\n', len - i);

		w->line[w->n++] = p;
		if (!nl)
			break;
		*nl = 0;
		i += nl + 1 - p;
		p = nl + 1;
	}
}

static void wire_free(struct wire *w)
{
	free(w->buf);
	free(w->line);
	memset(w, 0, sizeof(*w));
}

/* The first line from line from on that is s (or starts with it, if prefix); -1. */
static int wire_find(const struct wire *w, int from, const char *s, bool prefix)
{
	size_t n = strlen(s);
	int i;

	for (i = from < 0 ? 0 : from; i < w->n; i++)
		if (prefix ? !strncmp(w->line[i], s, n) : !strcmp(w->line[i], s))
			return i;
	return -1;
}

/* How many lines in [from, to) are s (or start with it). */
static int wire_count(const struct wire *w, int from, int to, const char *s, bool prefix)
{
	int n = 0, i = from;

	while ((i = wire_find(w, i, s, prefix)) >= 0 && i < to) {
		n++;
		i++;
	}
	return n;
}

/*
 * Is line l a command line of the host ("> AT...\r" as one line)? Payload
 * lines that happen to look so are unlikely enough (a line is cut at each
 * LF and each change of direction, a command ends in CR before one).
 */
static bool wire_is_cmd(const char *l)
{
	size_t n = strlen(l);

	return n >= 6 && !strncmp(l, "> AT", 4) && !strcmp(l + n - 2, "\\r");
}

/* The first command line in [from, to); -1. */
static int wire_first_cmd(const struct wire *w, int from, int to)
{
	int i;

	for (i = from < 0 ? 0 : from; i < to && i < w->n; i++)
		if (wire_is_cmd(w->line[i]))
			return i;
	return -1;
}

/* Log lines [from, to) of the transcript (at most 40, each cut at 120 bytes). */
static void wire_dump(struct __test_metadata *_metadata, const struct wire *w, int from, int to)
{
	int i;

	if (from < 0)
		from = 0;
	if (to > w->n)
		to = w->n;
	if (to - from > 40)
		from = to - 40;
	for (i = from; i < to; i++)
		TH_LOG("wire %4d: %.120s", i, w->line[i]);
}

/*
 * Log 40 lines of the transcript from mark on, from the first that starts
 * with line (from mark if NULL or not there).
 */
static void wire_dump_at(struct __test_metadata *_metadata, struct qt_env *e, size_t mark,
			 const char *line)
{
	struct wire w;
	int i;

	wire_load(e, mark, &w);
	i = line ? wire_find(&w, 0, line, true) : 0;
	if (i < 0)
		i = 0;
	wire_dump(_metadata, &w, i, i + 40);
	wire_free(&w);
}

/*
 * data (n bytes) arrives on fd within WAIT_MS, after an escape; else what
 * went wrong and the transcript from the escape after mark on are logged.
 */
static void expect_after_escape(struct __test_metadata *_metadata, struct qt_env *e, int fd,
				const void *data, size_t n, size_t mark, const char *what)
{
	const char *why = expect_bytes(fd, data, n, WAIT_MS);

	EXPECT_EQ(NULL, why) {
		TH_LOG("%s: %s", what, why);
		wire_dump_at(_metadata, e, mark, "> +++");
	}
}

/* How many bytes the lines [from, to) in direction dir ('<' or '>') carried. */
static size_t wire_bytes(const struct wire *w, int from, int to, char dir)
{
	size_t n = 0;
	const char *p;
	int i;

	for (i = from < 0 ? 0 : from; i < to && i < w->n; i++) {
		if (w->line[i][0] != dir)
			continue;
		for (p = w->line[i] + 2; *p; p++, n++)
			if (*p == '\\')
				p += p[1] == 'x' ? 3 : 1;
	}
	return n;
}

/*
 * When data went missing: what the socket fd holds and has dropped, the
 * modem's sockets, and what crossed the wire since mark each way.
 */
static void diag(struct __test_metadata *_metadata, struct qt_env *e, int fd, size_t mark)
{
	char *text = qn_read_file("/proc/net/quectel", NULL), *line, *save = NULL;
	struct wire w;

	TH_LOG("socket: SIOCINQ %d, SIOCOUTQ %d, dropped %lld, mode %d, SO_ERROR %d",
	       ioctl_int(fd, SIOCINQ), ioctl_int(fd, SIOCOUTQ), (long long)qt_rx_dropped(fd),
	       qt_get_mode(fd), so_error(fd));
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save))
		TH_LOG("/proc/net/quectel: %s", line);
	free(text);
	wire_load(e, mark, &w);
	TH_LOG("the wire since the mark: %zu bytes to the host, %zu from it, %d lines",
	       wire_bytes(&w, 0, w.n, '<'), wire_bytes(&w, 0, w.n, '>'), w.n);
	wire_dump(_metadata, &w, w.n - 12, w.n);
	wire_free(&w);
}

/*
 * In order from line from on: each of seq (NULL-terminated; a trailing
 * '*' matches any line starting so). The index of the last, or -1 with
 * the transcript logged.
 */
static int wire_expect_seq(struct __test_metadata *_metadata, const struct wire *w, int from,
			   const char *const *seq)
{
	char pat[128];
	int i = from, k;

	for (k = 0; seq[k]; k++) {
		size_t n = strlen(seq[k]);
		bool prefix = n && seq[k][n - 1] == '*';

		snprintf(pat, sizeof(pat), "%.*s", (int)(prefix ? n - 1 : n), seq[k]);
		i = wire_find(w, k ? i + 1 : i, pat, prefix);
		if (i < 0) {
			TH_LOG("no '%s' on the wire (step %d) after line %d", seq[k], k, from);
			wire_dump(_metadata, w, from, w->n);
			return -1;
		}
	}
	return i;
}

/* Wait until the transcript holds needle n times (up to ms); asserts. */
static void wire_wait(struct __test_metadata *_metadata, struct qt_env *e, const char *needle,
		      int n, int ms)
{
	int c = log_wait(e, needle, n, ms);
	struct wire w;

	if (c < n) {
		/* What the wire did instead: its last lines. */
		wire_load(e, 0, &w);
		wire_dump(_metadata, &w, w.n > 40 ? w.n - 40 : 0, w.n);
		wire_free(&w);
	}
	ASSERT_LE(n, c) TH_LOG("'%s' on the wire %d times, not %d", needle, c, n);
}

/* The escaped command of connectID id: "> AT+QICLOSE=<id>\r" and the like. */
static const char *cmd_line(char *buf, size_t len, const char *fmt, int id)
{
	snprintf(buf, len, fmt, id);
	return buf;
}

/*
 * close() fd and wait until its connectID is closed on the wire (so the
 * line is free again after a transparent one); asserts.
 */
static void close_wait(struct __test_metadata *_metadata, struct qt_env *e, int fd)
{
	char cmd[48];
	int n;

	cmd_line(cmd, sizeof(cmd), "> AT+QICLOSE=%d\\r", conn_id(fd));
	n = log_count(e, cmd);
	untrack_close(e, fd);
	/* Leaving transparent mode takes guard times: slow on the debug kernel. */
	wire_wait(_metadata, e, cmd, n + 1, 2 * LEAVE_MS);
}

/* ---- data flowing in threads, each way on its own ---- */

/*
 * One direction of a stream on one socket: a sender of pattern bytes (in
 * chunks, a pause after each, held while asked to) until told to stop, or
 * a receiver that checks every byte against the pattern until it has
 * what the sender sent.
 */
struct pump {
	int fd;
	uint64_t seed;
	bool tx;
	size_t chunk;
	int pause_ms;
	volatile int hold;		/* sender: send nothing meanwhile */
	volatile int stop;		/* sender: finish; receiver: give up */
	volatile uint64_t target;	/* receiver: the byte count to reach */
	volatile uint64_t n;		/* bytes moved */
	int64_t bad_at;			/* receiver: first wrong byte, -1 */
	int err;			/* errno, -1 early EOF */
	volatile int done;
	pthread_t th;
};

static void *pump_main(void *arg)
{
	struct pump *pm = arg;
	unsigned char *buf = malloc(64 * KIB), *want = malloc(64 * KIB);

	while (pm->tx ? !pm->stop : pm->n < pm->target && !pm->stop) {
		ssize_t r;

		if (pm->tx) {
			if (pm->hold) {
				qn_sleep_ms(5);
				continue;
			}
			qn_pattern(pm->seed, pm->n, buf, pm->chunk);
			r = send(pm->fd, buf, pm->chunk, MSG_NOSIGNAL);
		} else {
			if (!(poll1(pm->fd, POLLIN, 100) & (POLLIN | POLLERR | POLLHUP)))
				continue;
			r = recv(pm->fd, buf, 64 * KIB, MSG_DONTWAIT);
			if (r < 0 && errno == EAGAIN)
				continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			pm->err = r ? errno : -1;
			break;
		}
		if (!pm->tx) {
			qn_pattern(pm->seed, pm->n, want, r);
			if (pm->bad_at < 0 && memcmp(buf, want, r)) {
				ssize_t i;

				for (i = 0; i < r && buf[i] == want[i]; i++)
					;
				pm->bad_at = pm->n + i;
			}
		}
		pm->n += r;
		if (pm->tx && pm->pause_ms)
			qn_sleep_ms(pm->pause_ms);
	}
	free(buf);
	free(want);
	__atomic_store_n(&pm->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Heap-allocated: a thread outliving a failed test must not write a dead stack. */
static struct pump *pump_start(int fd, uint64_t seed, bool tx, size_t chunk, int pause_ms)
{
	struct pump *pm = calloc(1, sizeof(*pm));

	pm->fd = fd;
	pm->seed = seed;
	pm->tx = tx;
	pm->chunk = chunk;
	pm->pause_ms = pause_ms;
	pm->target = UINT64_MAX;
	pm->bad_at = -1;
	pthread_create(&pm->th, NULL, pump_main, pm);
	return pm;
}

/* Wait up to ms for the pump to end; joined if it did. */
static bool pump_join(struct pump *pm, int ms)
{
	QN_WAIT_UNTIL(__atomic_load_n(&pm->done, __ATOMIC_ACQUIRE), ms, 10);
	if (!pm->done)
		return false;
	pthread_join(pm->th, NULL);
	return true;
}

/* Stop sender tx and let receiver rx take all it sent (ms); checks both. */
static void pump_finish(struct __test_metadata *_metadata, struct pump *tx, struct pump *rx,
			const char *what, int ms)
{
	tx->stop = 1;
	ASSERT_TRUE(pump_join(tx, ms)) TH_LOG("%s: the sender is stuck", what);
	rx->target = tx->n;
	ASSERT_TRUE(pump_join(rx, ms)) {
		rx->stop = 1;
		TH_LOG("%s: %llu of %llu bytes arrived", what, (unsigned long long)rx->n,
		       (unsigned long long)tx->n);
	}
	EXPECT_EQ(0, tx->err) TH_LOG("%s: send: %s", what, strerror(tx->err));
	EXPECT_EQ(0, rx->err) TH_LOG("%s: recv: %s", what,
				     rx->err < 0 ? "early EOF" : strerror(rx->err));
	EXPECT_EQ(tx->n, rx->n) TH_LOG("%s: %llu bytes sent, %llu arrived", what,
				       (unsigned long long)tx->n, (unsigned long long)rx->n);
	EXPECT_EQ(-1, rx->bad_at) TH_LOG("%s: the stream differs from byte %lld on", what,
					 (long long)rx->bad_at);
}

/* =========================== tests =========================== */

/*
 * 1 MiB each way through the echo server in transparent mode, hash-checked,
 * nothing dropped; on the wire AT+QIOPEN ends in mode 2 and is answered
 * CONNECT, then no AT command at all until the escape of the close
 * ("+++", OK, AT+QICLOSE).
 */
TEST_F_TIMEOUT(tp, echo_1mib, 90)
{
	char want[64], close_cmd[48];
	struct xfer *x;
	struct wire w;
	int fd, id, open_at, conn_at, esc_at, cmd;

	modem_up(_metadata, &self->e, NULL, true);
	echo_up(_metadata, &self->e);
	fd = connected_in(_metadata, &self->e, SOCK_STREAM, self->e.echo.port,
			  QT_MODE_TRANSPARENT);
	id = conn_id(fd);
	EXPECT_TRUE(id >= 0 && id < NCONN) TH_LOG("connectID %d", id);

	x = xfer_start(fd, MIB, 0x7101);
	ASSERT_EQ(0, xfer_wait(&x, 1, qn_now_ms() + 60000))
		TH_LOG("sent %llu, received %llu", (unsigned long long)x->sent.n,
		       (unsigned long long)x->rcvd.n);
	xfer_check(_metadata, x, 0);
	EXPECT_EQ(1, __atomic_load_n(&self->e.echo.sh->accepted, __ATOMIC_ACQUIRE));
	EXPECT_EQ(x->sent.n, self->e.echo.sh->conn[0].in_bytes);
	EXPECT_EQ(x->sent.h, self->e.echo.sh->conn[0].in_hash) TH_LOG("the peer got other bytes");
	EXPECT_EQ(0, qt_rx_dropped(fd));
	EXPECT_EQ(QT_MODE_TRANSPARENT, qt_get_mode(fd));
	free(x);

	untrack_close(&self->e, fd);
	cmd_line(close_cmd, sizeof(close_cmd), "> AT+QICLOSE=%d\\r", id);
	wire_wait(_metadata, &self->e, close_cmd, 1, LEAVE_MS);
	wire_load(&self->e, 0, &w);
	snprintf(want, sizeof(want), "> AT+QIOPEN=%d,%d,\"TCP\",\"127.0.0.1\",%d,0,2\\r",
		 default_ctx(), id, self->e.echo.port);
	open_at = wire_find(&w, 0, want, false);
	EXPECT_LE(0, open_at) TH_LOG("no '%s' on the wire", want);
	conn_at = wire_find(&w, open_at, "< CONNECT\\r\\n", false);
	esc_at = wire_find(&w, conn_at, "> +++", false);
	ASSERT_LE(0, conn_at) TH_LOG("no CONNECT after AT+QIOPEN");
	ASSERT_LT(conn_at, esc_at) TH_LOG("no escape after CONNECT");
	cmd = wire_first_cmd(&w, conn_at, esc_at);
	EXPECT_EQ(-1, cmd) {
		TH_LOG("an AT command in transparent mode:");
		wire_dump(_metadata, &w, cmd - 5, cmd + 5);
	}
	EXPECT_EQ(1, wire_count(&w, 0, w.n, "> +++", false));
	{
		const char *const seq[] = { "> +++", "< OK\\r\\n", close_cmd, NULL };

		EXPECT_LE(0, wire_expect_seq(_metadata, &w, esc_at, seq));
	}
	wire_free(&w);
}

/*
 * Payload that looks like the escape or the module's words goes through
 * intact both ways and the session stays up: "+++" inside data, "+++"
 * alone between seconds of silence (the kernel paces it: no escape on
 * the wire, no OK), "NO CARRIER" inside data, a start of it alone, a
 * whole one and more data half a second later, "OK", "CLOSED".
 */
TEST_F_TIMEOUT(tp, lookalike_payload, 60)
{
	static const char *const inside[] = {
		"abc+++def", "+++x", "x+++", "\r\nNO CARRIER\r\nmore data after it",
		"NO CARRIER", "\r\nOK\r\n", "CLOSED", "\r\nCLOSED\r\n", "0, CLOSED\r\n",
		"\r\n+QIURC: \"closed\",0\r\n", "\r\nCONNECT\r\n", "\r\nNO CAR",
	};
	const char *why;
	char got[8];
	struct wire w;
	size_t mark, mark2, i;
	int s, p, cmd;

	modem_up(_metadata, &self->e, NULL, true);
	s = connected_to_peer(_metadata, &self->e, QT_MODE_TRANSPARENT, &p);
	mark = log_size(&self->e);
	for (i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
		why = both_ways(s, p, inside[i], strlen(inside[i]));
		EXPECT_EQ(NULL, why) TH_LOG("payload %zu: %s", i, why);
	}

	/* A whole NO CARRIER, and more half a second later: no check. */
	ASSERT_EQ(14, send_all(p, "\r\nNO CARRIER\r\n", 14));
	qn_sleep_ms(500);
	ASSERT_EQ(5, send_all(p, "later", 5));
	why = expect_bytes(s, "\r\nNO CARRIER\r\nlater", 19, WAIT_MS);
	EXPECT_EQ(NULL, why) TH_LOG("NO CARRIER, then more: %s", why);

	/* "+++" alone, after and before a silence longer than the guard time. */
	qn_sleep_ms(SILENCE_MS);
	ASSERT_EQ(3, send_all(s, "+++", 3));
	why = expect_bytes(p, "+++", 3, WAIT_MS);
	EXPECT_EQ(NULL, why) TH_LOG("+++ alone: %s", why);
	qn_sleep_ms(SILENCE_MS);
	EXPECT_EQ(0, qn_read_n(p, got, sizeof(got), 0));
	EXPECT_EQ(QT_MODE_TRANSPARENT, qt_get_mode(s));
	/* The peer's "+++" means nothing to anyone. */
	ASSERT_EQ(3, send_all(p, "+++", 3));
	why = expect_bytes(s, "+++", 3, WAIT_MS);
	EXPECT_EQ(NULL, why) TH_LOG("+++ alone from the peer: %s", why);
	mark2 = log_size(&self->e);
	why = both_ways_pattern(s, p, 0x7201, 64 * KIB);
	EXPECT_EQ(NULL, why) {
		TH_LOG("64 KiB after the lookalikes: %s", why);
		diag(_metadata, &self->e, s, mark2);
	}

	/* No escape, no OK, no command: the line stayed transparent. */
	wire_load(&self->e, mark, &w);
	EXPECT_EQ(0, wire_count(&w, 0, w.n, "> +++", false)) wire_dump(_metadata, &w, 0, w.n);
	/* Every OK from the module is the payload's, which went both ways. */
	EXPECT_EQ(wire_count(&w, 0, w.n, "> OK\\r\\n", false),
		  wire_count(&w, 0, w.n, "< OK\\r\\n", false)) wire_dump(_metadata, &w, 0, w.n);
	/* The first '+' of the lone "+++" went alone. */
	EXPECT_LE(1, wire_count(&w, 0, w.n, "> +", false)) wire_dump(_metadata, &w, 0, w.n);
	cmd = wire_first_cmd(&w, 0, w.n);
	EXPECT_EQ(-1, cmd) wire_dump(_metadata, &w, cmd - 5, cmd + 5);
	wire_free(&w);
	EXPECT_EQ(0, qt_rx_dropped(s));
	EXPECT_EQ(QT_MODE_TRANSPARENT, qt_get_mode(s));
}

/*
 * "\r\nNO CARRIER\r\n" as the very last bytes from the peer: after 1 s of
 * nothing the kernel checks with the escape; the module's OK says the
 * call is up: the bytes are delivered, ATO goes back in, and what we sent
 * meanwhile waited for it. The stream goes on, still transparent.
 */
TEST_F_TIMEOUT(tp, no_carrier_last, 60)
{
	static const char nc[] = "\r\nNO CARRIER\r\n";
	static const char *const probe[] = {
		"< NO CARRIER\\r\\n", "> +++", "< OK\\r\\n", "> ATO\\r", "< CONNECT\\r\\n", NULL,
	};
	unsigned char mid[300];
	const char *why;
	struct wire w;
	int s, p, nc_at, ato_at, i, cmd;
	int64_t t0, took;
	size_t mark, mark2;

	modem_up(_metadata, &self->e, NULL, true);
	s = connected_to_peer(_metadata, &self->e, QT_MODE_TRANSPARENT, &p);
	why = both_ways_pattern(s, p, 0x7301, 4 * KIB);
	ASSERT_EQ(NULL, why) TH_LOG("before: %s", why);
	mark = log_size(&self->e);

	t0 = qn_now_ms();
	ASSERT_EQ(14, send_all(p, nc, 14));
	/* Sent while the kernel checks: must wait for ATO. */
	qn_sleep_ms(300);
	qn_pattern(0x7302, 0, mid, sizeof(mid));
	ASSERT_EQ((ssize_t)sizeof(mid), send_all(s, mid, sizeof(mid)));
	why = expect_bytes(s, nc, 14, WAIT_MS);
	took = qn_now_ms() - t0;
	EXPECT_EQ(NULL, why) TH_LOG("the last NO CARRIER: %s", why);
	/* Held for the check (1 s of nothing, the escape's guard times). */
	EXPECT_LE(GUARD_MS, took) TH_LOG("delivered after %lld ms", (long long)took);
	why = expect_bytes(p, mid, sizeof(mid), WAIT_MS);
	EXPECT_EQ(NULL, why) TH_LOG("sent during the check: %s", why);
	EXPECT_EQ(QT_MODE_TRANSPARENT, qt_get_mode(s));

	/* The stream goes on. */
	mark2 = log_size(&self->e);
	why = both_ways_pattern(s, p, 0x7303, 64 * KIB);
	EXPECT_EQ(NULL, why) {
		TH_LOG("after the check: %s", why);
		diag(_metadata, &self->e, s, mark2);
	}
	EXPECT_EQ(0, qt_rx_dropped(s));
	EXPECT_EQ(0, so_error(s));

	wire_wait(_metadata, &self->e, "> ATO\\r", 1, 5000);
	wire_load(&self->e, mark, &w);
	nc_at = wire_find(&w, 0, probe[0], false);
	ato_at = wire_expect_seq(_metadata, &w, 0, probe);
	EXPECT_LE(0, ato_at);
	/* Nothing of ours between NO CARRIER and CONNECT but the escape and ATO. */
	for (i = nc_at + 1; nc_at >= 0 && i < ato_at; i++)
		if (w.line[i][0] == '>' && strcmp(w.line[i], "> +++") &&
		    strcmp(w.line[i], "> ATO\\r")) {
			TH_LOG("host bytes during the check: %s", w.line[i]);
			EXPECT_TRUE(false);
			wire_dump(_metadata, &w, nc_at, ato_at + 1);
			break;
		}
	/* No command but ATO, once; one escape. */
	for (cmd = 0; (cmd = wire_first_cmd(&w, cmd, w.n)) >= 0; cmd++)
		EXPECT_STREQ("> ATO\\r", w.line[cmd]) wire_dump(_metadata, &w, cmd - 5, cmd + 5);
	EXPECT_EQ(1, wire_count(&w, 0, w.n, "> ATO\\r", false));
	EXPECT_EQ(1, wire_count(&w, 0, w.n, "> +++", false));
	wire_free(&w);
}

/*
 * One connection, data flowing both ways all along (ours paused only for
 * the second of silence the escape needs), switched buffer -> transparent
 * -> buffer -> direct push -> transparent: both streams arrive whole and
 * in order, nothing dropped; getsockopt() follows each switch; the wire
 * shows AT+QISWTMD for each (CONNECT into transparent mode) and the escape
 * out of it.
 */
TEST_F_TIMEOUT(tp, switch_while_flowing, 90)
{
	static const int order[] = { QT_MODE_TRANSPARENT, QT_MODE_BUFFER, QT_MODE_DIRECT_PUSH,
				     QT_MODE_TRANSPARENT };
	char sw[4][48];
	struct pump *hs, *hr, *ps, *pr;
	int s, p, id, i, r, last, prev = QT_MODE_BUFFER;
	const char *seq[12];
	struct wire w;
	int64_t t0;

	modem_up(_metadata, &self->e, NULL, true);
	s = connected_to_peer(_metadata, &self->e, QT_MODE_BUFFER, &p);
	id = conn_id(s);
	/*
	 * Ours: 8 KiB chunks; the peer's: 4 KiB every 40 ms (100 KB/s, which
	 * buffer mode reads faster than it comes), on through the escape.
	 */
	hs = pump_start(s, 0x7401, true, 8 * KIB, 5);
	hr = pump_start(s, 0x7402, false, 0, 0);
	ps = pump_start(p, 0x7402, true, 4 * KIB, 40);
	pr = pump_start(p, 0x7401, false, 0, 0);
	qn_sleep_ms(500);

	for (i = 0; i < 4; i++) {
		uint64_t a0 = hr->n, b0 = pr->n;

		/* Leaving transparent mode takes a second without our data. */
		hs->hold = prev == QT_MODE_TRANSPARENT;
		t0 = qn_now_ms();
		r = qt_set_mode(s, order[i]);
		EXPECT_EQ(0, r) {
			TH_LOG("switch %d to %s: %s", i, mode_name[order[i]], strerror(-r));
			diag(_metadata, &self->e, s, 0);
		}
		EXPECT_EQ(order[i], qt_get_mode(s)) TH_LOG("after switch %d", i);
		TH_LOG("switch %d, %s -> %s: %lld ms", i, mode_name[prev], mode_name[order[i]],
		       (long long)(qn_now_ms() - t0));
		hs->hold = 0;
		prev = order[i];
		qn_sleep_ms(700);
		/* Both ways still flowing. */
		EXPECT_LT(a0, hr->n) TH_LOG("nothing received in %s mode", mode_name[prev]);
		EXPECT_LT(b0, pr->n) TH_LOG("nothing sent in %s mode", mode_name[prev]);
		if (hs->done || hr->done || ps->done || pr->done)
			break;
	}
	pump_finish(_metadata, hs, pr, "ours", WAIT_MS);
	pump_finish(_metadata, ps, hr, "the peer's", WAIT_MS);
	TH_LOG("moved %llu bytes out, %llu in", (unsigned long long)pr->n,
	       (unsigned long long)hr->n);
	EXPECT_EQ(0, qt_rx_dropped(s));
	EXPECT_EQ(QT_MODE_TRANSPARENT, qt_get_mode(s));

	/* The wire: each switch in order, the escape before the one to buffer mode. */
	for (i = 0; i < 4; i++)
		snprintf(sw[i], sizeof(sw[i]), "> AT+QISWTMD=%d,%d\\r", id, order[i]);
	i = 0;
	seq[i++] = sw[0];
	seq[i++] = "< CONNECT\\r\\n";
	seq[i++] = "> +++";
	seq[i++] = "< OK\\r\\n";
	seq[i++] = sw[1];
	seq[i++] = sw[2];
	seq[i++] = sw[3];
	seq[i++] = "< CONNECT\\r\\n";
	seq[i] = NULL;
	wire_wait(_metadata, &self->e, sw[3], 1, 5000);
	wire_load(&self->e, 0, &w);
	last = wire_expect_seq(_metadata, &w, 0, seq);
	EXPECT_LE(0, last);
	/* sw[0] and sw[3] are the same command. */
	EXPECT_EQ(2, wire_count(&w, 0, w.n, sw[0], false));
	EXPECT_EQ(1, wire_count(&w, 0, w.n, sw[1], false));
	EXPECT_EQ(1, wire_count(&w, 0, w.n, sw[2], false));
	EXPECT_EQ(1, wire_count(&w, 0, w.n, "> +++", false));
	/* In transparent mode again: no command after the last CONNECT. */
	if (last >= 0) {
		r = wire_first_cmd(&w, last, w.n);
		EXPECT_EQ(-1, r) wire_dump(_metadata, &w, r - 5, r + 5);
	}
	wire_free(&w);
	free(hs);
	free(hr);
	free(ps);
	free(pr);
}

/* The calls another socket makes while one is transparent. */
static int listen4(int fd)
{
	return listen(fd, 4) ? -errno : 0;
}

/*
 * While a connection is transparent: a connect(), a datagram bind() or
 * connect(), a listen() and netlink's AT command get EBUSY; nothing of it
 * reaches the wire. A buffer-mode connection opened before keeps its
 * queued send, and its peer's data waits in the module; once the
 * transparent socket is closed, both go through, and the others connect.
 */
TEST_F_TIMEOUT(tp, second_socket_busy, 60)
{
	char out[96], err[96], idx[16];
	const char *args[4], *why;
	unsigned char tx[3000], rx[2000], got[64];
	int a, b, pb, c, d, l, ida, idb, r;
	struct wire w;
	size_t mark;
	pid_t pid;
	char *text;

	modem_up(_metadata, &self->e, NULL, true);
	echo_up(_metadata, &self->e);
	b = connected_to_peer(_metadata, &self->e, QT_MODE_BUFFER, &pb);
	idb = conn_id(b);
	why = both_ways_pattern(b, pb, 0x7501, 4 * KIB);
	ASSERT_EQ(NULL, why) TH_LOG("the buffer-mode connection: %s", why);
	a = connected_in(_metadata, &self->e, SOCK_STREAM, self->e.echo.port,
			 QT_MODE_TRANSPARENT);
	ida = conn_id(a);
	why = echoed(a, 0x7502, 4 * KIB);
	ASSERT_EQ(NULL, why) TH_LOG("the transparent connection: %s", why);
	mark = log_size(&self->e);

	c = qsock(_metadata, &self->e, 0);
	r = qconnect(&self->e, c, "127.0.0.1", self->e.echo.port);
	EXPECT_EQ(-EBUSY, r) TH_LOG("connect: %s", strerror(-r));
	d = qdgram(_metadata, &self->e, 0);
	r = qbind(&self->e, d, 0);
	EXPECT_EQ(-EBUSY, r) TH_LOG("datagram bind: %s", strerror(-r));
	r = qconnect(&self->e, d, "127.0.0.1", self->e.echo.port);
	EXPECT_EQ(-EBUSY, r) TH_LOG("datagram connect: %s", strerror(-r));
	l = qsock(_metadata, &self->e, 0);
	r = listen4(l);
	EXPECT_EQ(-EBUSY, r) TH_LOG("listen: %s", strerror(-r));
	/* Netlink's AT command. */
	snprintf(out, sizeof(out), "/tmp/transparent_test.%d.out", getpid());
	snprintf(err, sizeof(err), "/tmp/transparent_test.%d.err", getpid());
	snprintf(idx, sizeof(idx), "%d", self->e.modem);
	args[0] = "at";
	args[1] = idx;
	args[2] = "AT";
	args[3] = NULL;
	pid = qt_prog_spawn(qt_prog_path("userspace/qtctl/qtctl"), QT_AS_ROOT, out, err, args);
	ASSERT_LT(0, pid);
	r = qt_prog_status(&pid, 10000);
	text = qt_read_text(err);
	EXPECT_EQ(1, r) TH_LOG("qtctl at: status %d, %s", r, text);
	EXPECT_NE(NULL, strstr(text, strerror(EBUSY))) TH_LOG("qtctl at: %s", text);
	free(text);
	unlink(out);
	unlink(err);

	/* The buffer-mode connection: queued both ways, nothing moves. */
	qn_pattern(0x7503, 0, tx, sizeof(tx));
	qn_pattern(0x7504, 0, rx, sizeof(rx));
	EXPECT_EQ((ssize_t)sizeof(tx), send(b, tx, sizeof(tx), MSG_DONTWAIT | MSG_NOSIGNAL));
	ASSERT_EQ((ssize_t)sizeof(rx), send_all(pb, rx, sizeof(rx)));
	EXPECT_EQ(0, qn_read_n(pb, got, sizeof(got), 700)) TH_LOG("sent while transparent");
	EXPECT_EQ(0, ioctl_int(b, SIOCINQ)) TH_LOG("read while transparent");
	why = echoed(a, 0x7505, 16 * KIB);
	EXPECT_EQ(NULL, why) TH_LOG("the transparent connection meanwhile: %s", why);
	EXPECT_EQ(QT_MODE_TRANSPARENT, qt_get_mode(a));

	wire_load(&self->e, mark, &w);
	r = wire_first_cmd(&w, 0, w.n);
	EXPECT_EQ(-1, r) wire_dump(_metadata, &w, r - 5, r + 5);
	EXPECT_EQ(0, wire_count(&w, 0, w.n, "> +++", false));
	wire_free(&w);

	/* The transparent socket leaves: the other connection goes on. */
	untrack_close(&self->e, a);
	why = expect_bytes(pb, tx, sizeof(tx), LEAVE_MS);
	EXPECT_EQ(NULL, why) TH_LOG("the queued send: %s", why);
	expect_after_escape(_metadata, &self->e, b, rx, sizeof(rx), mark,
			    "the data that waited in the module");
	why = both_ways_pattern(b, pb, 0x7506, 16 * KIB);
	EXPECT_EQ(NULL, why) TH_LOG("the buffer-mode connection after: %s", why);

	/* And the others may open now. */
	QN_WAIT_UNTIL((r = qconnect(&self->e, c, "127.0.0.1", self->e.echo.port)) != -EBUSY,
		      WAIT_MS, 100);
	EXPECT_EQ(0, r) TH_LOG("connect after: %s", strerror(-r));
	if (!r) {
		why = echoed(c, 0x7507, 4 * KIB);
		EXPECT_EQ(NULL, why) TH_LOG("the new connection: %s", why);
	}
	r = qbind(&self->e, d, 0);
	EXPECT_EQ(0, r) TH_LOG("datagram bind after: %s", strerror(-r));
	r = listen4(l);
	EXPECT_EQ(0, r) TH_LOG("listen after: %s", strerror(-r));

	{
		char close_a[48], send_b[48];
		const char *const seq_a[] = { "> +++", "< OK\\r\\n", close_a, NULL };
		const char *const seq_b[] = { "> +++", "< OK\\r\\n", send_b, NULL };

		cmd_line(close_a, sizeof(close_a), "> AT+QICLOSE=%d\\r", ida);
		cmd_line(send_b, sizeof(send_b), "> AT+QISEND=%d,*", idb);
		wire_load(&self->e, mark, &w);
		EXPECT_LE(0, wire_expect_seq(_metadata, &w, 0, seq_a));
		EXPECT_LE(0, wire_expect_seq(_metadata, &w, 0, seq_b));
		wire_free(&w);
	}
}

/*
 * A second connection asking for transparent mode while one is: EBUSY at
 * once (its SO_SNDTIMEO, 3 s, bounds the call); the refused request
 * leaves no trace: once the first has left, the second is still in
 * buffer mode, no AT+QISWTMD for it reaches the wire, and it still
 * echoes.
 */
TEST_F_TIMEOUT(tp, second_transparent_refused, 60)
{
	struct timeval tv = { .tv_sec = 3 };
	char sw[48], opened[48], closed[48];
	const char *why;
	int a, f, idf, r;
	int64_t t0, took;

	modem_up(_metadata, &self->e, NULL, true);
	echo_up(_metadata, &self->e);
	f = connected_in(_metadata, &self->e, SOCK_STREAM, self->e.echo.port, QT_MODE_BUFFER);
	idf = conn_id(f);
	a = connected_in(_metadata, &self->e, SOCK_STREAM, self->e.echo.port,
			 QT_MODE_TRANSPARENT);
	why = echoed(a, 0x7511, 4 * KIB);
	ASSERT_EQ(NULL, why) TH_LOG("the transparent connection: %s", why);

	ASSERT_EQ(0, setsockopt(f, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	t0 = qn_now_ms();
	r = qt_set_mode(f, QT_MODE_TRANSPARENT);
	took = qn_now_ms() - t0;
	EXPECT_EQ(-EBUSY, r) TH_LOG("a second socket to transparent mode: %s after %lld ms",
				    strerror(-r), (long long)took);
	EXPECT_GT(1000, took) TH_LOG("the refusal took %lld ms", (long long)took);
	EXPECT_EQ(QT_MODE_BUFFER, qt_get_mode(f));

	/* The first leaves: its connectID closes, and nothing else happens. */
	cmd_line(closed, sizeof(closed), "> AT+QICLOSE=%d\\r", conn_id(a));
	cmd_line(sw, sizeof(sw), "> AT+QISWTMD=%d,", idf);
	untrack_close(&self->e, a);
	QN_WAIT_UNTIL(log_count(&self->e, closed) || log_count(&self->e, sw), LEAVE_MS, 100);
	qn_sleep_ms(500);
	EXPECT_EQ(QT_MODE_BUFFER, qt_get_mode(f)) TH_LOG("the refused switch happened later");
	EXPECT_EQ(0, log_count(&self->e, sw)) wire_dump_at(_metadata, &self->e, 0, sw);
	EXPECT_EQ(1, log_count(&self->e, closed)) TH_LOG("the first was not closed");
	why = echoed(f, 0x7512, 4 * KIB);
	EXPECT_EQ(NULL, why) TH_LOG("the second connection after: %s", why);
	/* Still buffer mode: what came back was read with AT+QIRD. */
	cmd_line(opened, sizeof(opened), "> AT+QIRD=%d,", idf);
	EXPECT_LE(1, log_count(&self->e, opened));
}

/*
 * A transparent connection leaves (to buffer mode, with setsockopt())
 * while another connection's data waits in the module: the leaving
 * connection's stream gets nothing but its peer's bytes (no URC of the
 * other one), and the other connection reads its data.
 */
TEST_F_TIMEOUT(tp, leave_with_other_data, 60)
{
	unsigned char d[100], extra[64];
	char shown[256];
	const char *why;
	int a, pa, b, pb, r;
	size_t mark, k;

	modem_up(_metadata, &self->e, NULL, true);
	b = connected_to_peer(_metadata, &self->e, QT_MODE_BUFFER, &pb);
	a = connected_to_peer(_metadata, &self->e, QT_MODE_TRANSPARENT, &pa);
	why = both_ways_pattern(a, pa, 0x7521, 4 * KIB);
	ASSERT_EQ(NULL, why) TH_LOG("the transparent connection: %s", why);
	mark = log_size(&self->e);
	qn_pattern(0x7522, 0, d, sizeof(d));
	ASSERT_EQ((ssize_t)sizeof(d), send_all(pb, d, sizeof(d)));
	qn_sleep_ms(300);

	r = qt_set_mode(a, QT_MODE_BUFFER);
	EXPECT_EQ(0, r) TH_LOG("leaving: %s", strerror(-r));
	EXPECT_EQ(QT_MODE_BUFFER, qt_get_mode(a));
	k = qn_read_n(a, extra, sizeof(extra) - 1, 500);
	EXPECT_EQ(0, k) {
		TH_LOG("the connection that left got %zu bytes more: %s", k,
		       printable(extra, k, shown, sizeof(shown)));
		wire_dump_at(_metadata, &self->e, mark, "> +++");
	}
	expect_after_escape(_metadata, &self->e, b, d, sizeof(d), mark, "the other connection");
	/* Both go on. */
	why = both_ways_pattern(a, pa, 0x7523, 4 * KIB);
	EXPECT_EQ(NULL, why) TH_LOG("the first after: %s", why);
	why = both_ways_pattern(b, pb, 0x7524, 4 * KIB);
	EXPECT_EQ(NULL, why) TH_LOG("the other after: %s", why);
}

#define DOWN		(4 * MIB)	/* what the peer sends */
#define UP		(512 * KIB)	/* what we send meanwhile */

/* Receive what fd has (up to the end of want): the count, or -1 for a wrong byte. */
static ssize_t take(int fd, const unsigned char *want, size_t len, size_t *got)
{
	unsigned char buf[64 * KIB];
	size_t room = len - *got < sizeof(buf) ? len - *got : sizeof(buf);
	ssize_t r = room ? recv(fd, buf, room, MSG_DONTWAIT) : 0;

	if (r <= 0)
		return 0;
	if (memcmp(buf, want + *got, r))
		return -1;
	*got += r;
	return r;
}

/*
 * We send 512 KiB while the peer sends 4 MiB, both at once, and then we
 * only read: both streams arrive whole and intact, nothing dropped (the
 * module writes to the line as fast as it takes it, long after our last
 * byte).
 */
TEST_F_TIMEOUT(tp, upload_download, 60)
{
	unsigned char *down = malloc(DOWN), *up = malloc(UP);
	size_t sent = 0, psent = 0, got = 0, pgot = 0, mark;
	int64_t last = qn_now_ms();
	ssize_t r1 = 0, r2 = 0;
	int s, p;

	modem_up(_metadata, &self->e, NULL, true);
	s = connected_to_peer(_metadata, &self->e, QT_MODE_TRANSPARENT, &p);
	mark = log_size(&self->e);
	qn_pattern(0x7531, 0, down, DOWN);
	qn_pattern(0x7532, 0, up, UP);
	/* One thread: each end sends what its socket takes and reads what came. */
	while ((got < DOWN || pgot < UP) && qn_now_ms() - last < 5000 && r1 >= 0 && r2 >= 0) {
		struct pollfd pf[2] = { { .fd = s, .events = POLLIN }, { .fd = p, .events = POLLIN } };
		ssize_t r;

		if (sent < UP) {
			r = send(s, up + sent, UP - sent < 16 * KIB ? UP - sent : 16 * KIB,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (r > 0)
				sent += r;
		}
		if (psent < DOWN) {
			r = send(p, down + psent, DOWN - psent < 64 * KIB ? DOWN - psent : 64 * KIB,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (r > 0)
				psent += r;
		}
		if (poll(pf, 2, 20) <= 0)
			continue;
		r1 = take(s, down, DOWN, &got);
		r2 = take(p, up, UP, &pgot);
		if (r1 > 0 || r2 > 0)
			last = qn_now_ms();
	}
	EXPECT_LE(0, r1) TH_LOG("other bytes arrived from the peer at byte %zu", got);
	EXPECT_LE(0, r2) TH_LOG("the peer got other bytes at byte %zu", pgot);
	EXPECT_EQ(UP, pgot) TH_LOG("the peer got %zu of the %zu bytes we sent", pgot, sent);
	EXPECT_EQ(DOWN, got) {
		TH_LOG("%zu of the %zu bytes the peer sent arrived; nothing more for 5 s", got,
		       psent);
		diag(_metadata, &self->e, s, mark);
	}
	EXPECT_EQ(0, qt_rx_dropped(s));
	free(down);
	free(up);
}

/*
 * 64 KiB to the peer, which answers with the same 64 KiB, 16 times (a
 * request and its answer, the line quiet from our side while the answer
 * comes): every byte arrives both ways.
 */
TEST_F_TIMEOUT(tp, exchanges, 60)
{
	const char *why;
	size_t mark;
	int s, p, i;

	modem_up(_metadata, &self->e, NULL, true);
	s = connected_to_peer(_metadata, &self->e, QT_MODE_TRANSPARENT, &p);
	for (i = 0; i < 16; i++) {
		mark = log_size(&self->e);
		why = both_ways_pattern(s, p, 0x7540 + i, 64 * KIB);
		ASSERT_EQ(NULL, why) {
			TH_LOG("exchange %d: %s", i, why);
			diag(_metadata, &self->e, s, mark);
		}
	}
	EXPECT_EQ(0, qt_rx_dropped(s));
}

/*
 * What transparent mode is not for: a datagram service (EOPNOTSUPP on
 * the open service, and a datagram socket in transparent mode cannot
 * bind), a listener (a socket set to transparent mode cannot listen).
 * Nothing reaches the modem; the service still works.
 */
TEST_F_TIMEOUT(tp, unsupported, 60)
{
	static const char *const none[] = { "QISWTMD", "LISTENER", ",2\\r", NULL };
	int svc, port = 0, d, l, r, pport = 0, p;
	unsigned char buf[100];
	size_t mark;

	modem_up(_metadata, &self->e, NULL, true);
	svc = qdgram(_metadata, &self->e, 0);
	ASSERT_EQ(0, qbind(&self->e, svc, 0));
	port = qport(svc, false, NULL);
	ASSERT_LT(0, port);
	mark = log_size(&self->e);

	r = qt_set_mode(svc, QT_MODE_TRANSPARENT);
	EXPECT_EQ(-EOPNOTSUPP, r) TH_LOG("UDP service: %s", strerror(-r));
	EXPECT_EQ(QT_MODE_BUFFER, qt_get_mode(svc));

	d = qdgram(_metadata, &self->e, 0);
	ASSERT_EQ(0, qt_set_mode(d, QT_MODE_TRANSPARENT));
	r = qbind(&self->e, d, 0);
	EXPECT_EQ(-EOPNOTSUPP, r) TH_LOG("bind in transparent mode: %s", strerror(-r));

	l = qsock(_metadata, &self->e, 0);
	r = qt_set_mode(l, QT_MODE_TRANSPARENT);
	EXPECT_EQ(0, r) TH_LOG("transparent before listen: %s", strerror(-r));
	r = listen4(l);
	EXPECT_EQ(-EOPNOTSUPP, r) TH_LOG("listen, unbound: %s", strerror(-r));
	l = qsock(_metadata, &self->e, 0);
	ASSERT_EQ(0, qt_set_mode(l, QT_MODE_TRANSPARENT));
	ASSERT_EQ(0, qbind(&self->e, l, 0));
	r = listen4(l);
	EXPECT_EQ(-EOPNOTSUPP, r) TH_LOG("listen, bound: %s", strerror(-r));

	expect_wire_lacks(_metadata, &self->e, mark, none);
	/* The service is untouched. */
	p = qn_udp(&pport);
	ASSERT_LE(0, p);
	track(&self->e, p);
	qn_pattern(0x7601, 0, buf, sizeof(buf));
	ASSERT_EQ((ssize_t)sizeof(buf), qn_sendto(p, buf, sizeof(buf), port));
	EXPECT_EQ(NULL, expect_bytes(svc, buf, sizeof(buf), WAIT_MS));
}

/*
 * The peer closes its socket mid-stream: qtsim drops the call (NO
 * CARRIER, command mode). The socket reads all the data before it, then
 * EOF (queued: ECONNRESET, then EOF); sends get EPIPE; the connectID is
 * closed (AT+QICLOSE) and a new transparent connection works.
 */
static void peer_drops(struct __test_metadata *_metadata, struct qt_env *e, bool queued)
{
	static const size_t n = 64 * KIB;
	unsigned char late[1000];
	char close_cmd[48];
	const char *why;
	struct wire w;
	int s, p, id, r, s2, p2, at;
	size_t mark;

	modem_up(_metadata, e, NULL, true);
	s = connected_to_peer(_metadata, e, QT_MODE_TRANSPARENT, &p);
	id = conn_id(s);
	why = both_ways_pattern(s, p, 0x7701, 16 * KIB);
	ASSERT_EQ(NULL, why) TH_LOG("before: %s", why);
	mark = log_size(e);

	ASSERT_EQ((ssize_t)n, send_pattern(p, 0x7702, 0, n, 0));
	untrack_close(e, p);
	ASSERT_EQ(1, log_wait(e, "< NO CARRIER\\r\\n", 1, WAIT_MS)) {
		TH_LOG("qtsim did not drop the call");
		diag(_metadata, e, s, mark);
	}
	memset(late, 'q', sizeof(late));
	if (queued) {
		/* The kernel holds NO CARRIER and sends nothing: this stays queued. */
		qn_sleep_ms(100);
		EXPECT_EQ((ssize_t)sizeof(late), send(s, late, sizeof(late), MSG_NOSIGNAL))
			TH_LOG("send after NO CARRIER: %s", strerror(errno));
	}
	EXPECT_EQ(0, recv_pattern(s, 0x7702, 0, n)) {
		TH_LOG("the data before the drop");
		diag(_metadata, e, s, mark);
	}
	r = recv_end(s, LEAVE_MS);
	if (queued) {
		EXPECT_EQ(-ECONNRESET, r) TH_LOG("after the data: %s", r ? strerror(-r) : "EOF");
		r = recv_end(s, WAIT_MS);
	}
	EXPECT_EQ(0, r) TH_LOG("at the end: %s", r < 0 ? strerror(-r) : "data");
	EXPECT_EQ(0, so_error(s));
	EXPECT_EQ(-1, send(s, late, 10, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno) TH_LOG("send after the drop: %s", strerror(errno));
	EXPECT_EQ(0, n_sigpipe);

	cmd_line(close_cmd, sizeof(close_cmd), "> AT+QICLOSE=%d\\r", id);
	wire_wait(_metadata, e, close_cmd, 1, WAIT_MS);
	QN_WAIT_UNTIL(conn_id(s) == -1, 2000, 50);
	EXPECT_EQ(-1, conn_id(s)) TH_LOG("the dead socket still holds a connectID");
	{
		const char *const seq[] = { "< NO CARRIER\\r\\n", "> +++", close_cmd, NULL };

		wire_load(e, mark, &w);
		at = wire_expect_seq(_metadata, &w, 0, seq);
		EXPECT_LE(0, at);
		/* Nothing of the late send reached the module. */
		EXPECT_EQ(-1, wire_find(&w, 0, "> qqqq", true)) wire_dump(_metadata, &w, 0, w.n);
		wire_free(&w);
	}
	untrack_close(e, s);

	/* The modem is usable: a new transparent connection. */
	mark = log_size(e);
	s2 = connected_to_peer(_metadata, e, QT_MODE_TRANSPARENT, &p2);
	why = both_ways_pattern(s2, p2, 0x7703, 16 * KIB);
	EXPECT_EQ(NULL, why) {
		TH_LOG("a new connection: %s", why);
		wire_load(e, mark, &w);
		wire_dump(_metadata, &w, 0, 30);
		wire_free(&w);
	}
}

TEST_F_TIMEOUT(tp, peer_drop_eof, 60)
{
	peer_drops(_metadata, &self->e, false);
}

TEST_F_TIMEOUT(tp, peer_drop_queued_reset, 60)
{
	peer_drops(_metadata, &self->e, true);
}

struct bulk_send {
	int fd;
	size_t n;
	ssize_t r;
	pthread_t th;
};

static void *bulk_send_main(void *arg)
{
	struct bulk_send *b = arg;

	b->r = send_pattern(b->fd, 0x51e0, 0, b->n, 0);
	return NULL;
}

/*
 * Transparent mode has the flow control that direct push lacks: a reader
 * slower than the peer holds the line back (the kernel leaves the bytes
 * in the tty, the simulator's writes wait, its TCP window closes) rather
 * than dropping. A small SO_RCVBUF and a reader taking 2 KiB every 5 ms:
 * all of 512 KiB arrives in order, nothing is dropped, the receive queue
 * stays within SO_RCVBUF, and the socket then leaves the mode as usual.
 */
TEST_F_TIMEOUT(tp, slow_reader_held_back, 120)
{
	struct timeval tmo = { .tv_sec = 90 };
	int s, p, rcvbuf = 4096, inq, max_inq = 0;
	unsigned char buf[2 * KIB];
	struct qn_hash got, want;
	struct bulk_send *b;
	int64_t end;

	modem_up(_metadata, &self->e, NULL, true);
	s = connected_to_peer(_metadata, &self->e, QT_MODE_TRANSPARENT, &p);
	ASSERT_EQ(0, setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)));
	rcvbuf = sockopt_int(s, SOL_SOCKET, SO_RCVBUF);
	ASSERT_EQ(0, setsockopt(p, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo)));

	b = calloc(1, sizeof(*b));
	b->fd = p;
	b->n = 512 * KIB;
	pthread_create(&b->th, NULL, bulk_send_main, b);
	qn_hash_init(&got);
	end = qn_now_ms() + 90000;
	while (got.n < b->n && qn_now_ms() < end) {
		ssize_t r;

		qn_sleep_ms(5);
		inq = ioctl_int(s, SIOCINQ);
		if (inq > max_inq)
			max_inq = inq;
		r = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
		if (r > 0)
			qn_hash_add(&got, buf, r);
		else if (r == 0 || errno != EAGAIN)
			break;
	}
	pthread_join(b->th, NULL);
	EXPECT_EQ((ssize_t)b->n, b->r) TH_LOG("the peer's send: %s", strerror(errno));
	EXPECT_EQ(0, qt_rx_dropped(s));
	EXPECT_EQ(b->n, got.n) TH_LOG("%llu of %zu bytes came", (unsigned long long)got.n, b->n);
	qn_pattern_hash(0x51e0, b->n, &want);
	EXPECT_EQ(want.h, got.h) TH_LOG("not the peer's bytes in order");
	EXPECT_GE(rcvbuf, max_inq) TH_LOG("SIOCINQ reached %d, SO_RCVBUF %d", max_inq, rcvbuf);
	free(b);
	/* Still transparent and working both ways, and it leaves as usual. */
	EXPECT_EQ(NULL, both_ways_pattern(s, p, 0x51e1, 4 * KIB));
	close_wait(_metadata, &self->e, s);
}

/*
 * close() in transparent mode sends what is queued first (the peer gets
 * every byte, then EOF), then leaves; the modem then serves a connection
 * in each mode, closed in turn; all 12 connectIDs open (the twelfth in
 * transparent mode) and, after closing, open again.
 */
TEST_F_TIMEOUT(tp, close_and_reuse, 90)
{
	static const int modes[] = { QT_MODE_BUFFER, QT_MODE_DIRECT_PUSH, QT_MODE_TRANSPARENT };
	static const size_t n = 256 * KIB;
	char close_cmd[48];
	int s, p, id, i, fds[NCONN], r, err;
	const char *why;
	struct wire w;

	modem_up(_metadata, &self->e, NULL, true);
	echo_up(_metadata, &self->e);
	s = connected_to_peer(_metadata, &self->e, QT_MODE_TRANSPARENT, &p);
	id = conn_id(s);
	ASSERT_EQ((ssize_t)n, send_pattern(s, 0x7801, 0, n, 0));
	untrack_close(&self->e, s);
	EXPECT_EQ(0, recv_pattern(p, 0x7801, 0, n)) TH_LOG("what was queued at close()");
	EXPECT_EQ(0, recv_end(p, LEAVE_MS)) TH_LOG("no EOF after the data");
	cmd_line(close_cmd, sizeof(close_cmd), "> AT+QICLOSE=%d\\r", id);
	wire_wait(_metadata, &self->e, close_cmd, 1, WAIT_MS);
	{
		const char *const seq[] = { "> +++", "< OK\\r\\n", close_cmd, NULL };

		wire_load(&self->e, 0, &w);
		EXPECT_LE(0, wire_expect_seq(_metadata, &w, 0, seq));
		wire_free(&w);
	}

	for (i = 0; i < 3; i++) {
		s = connected_in(_metadata, &self->e, SOCK_STREAM, self->e.echo.port, modes[i]);
		why = echoed(s, 0x7810 + i, 64 * KIB);
		EXPECT_EQ(NULL, why) TH_LOG("%s mode: %s", mode_name[modes[i]], why);
		EXPECT_EQ(0, qt_rx_dropped(s));
		close_wait(_metadata, &self->e, s);
	}

	/* Eleven in buffer mode, the twelfth transparent. */
	for (i = 0; i < NCONN; i++)
		fds[i] = qsock(_metadata, &self->e, 0);
	ASSERT_EQ(0, qt_set_mode(fds[NCONN - 1], QT_MODE_TRANSPARENT));
	qt_big_rcvbuf(_metadata, fds[NCONN - 1], BIG_RCVBUF);
	r = connect_many(&self->e, fds, NCONN, self->e.echo.port, qn_now_ms() + LEAVE_MS, &err);
	ASSERT_EQ(NCONN, r) TH_LOG("only %d connected; then: %s", r, strerror(err));
	why = echoed(fds[NCONN - 1], 0x7820, 16 * KIB);
	EXPECT_EQ(NULL, why) TH_LOG("the twelfth, transparent: %s", why);
	/* The transparent one first: the others' closes wait for the line. */
	close_wait(_metadata, &self->e, fds[NCONN - 1]);
	for (i = 0; i < NCONN - 1; i++)
		untrack_close(&self->e, fds[i]);
	all_ids_free(_metadata, &self->e, LEAVE_MS);
}

/* Datagrams from a plain UDP socket until n bytes came (or ms passed); their count in *k. */
static size_t dgrams_in(int fd, unsigned char *buf, size_t n, int ms, int *k, int *from)
{
	int64_t end = qn_now_ms() + ms;
	size_t got = 0;

	*k = 0;
	while (got < n) {
		int left = (int)(end - qn_now_ms());
		ssize_t r;

		if (left <= 0)
			break;
		r = qn_recvfrom(fd, buf + got, n + DGRAM_MAX - got, left, from);
		if (r < 0)
			break;
		if ((size_t)r > n + DGRAM_MAX - got)
			r = n + DGRAM_MAX - got;
		got += r;
		(*k)++;
	}
	return got;
}

/*
 * A datagram client in transparent mode: AT+QIOPEN "UDP" in mode 2 and
 * CONNECT; datagrams of 1..1460 bytes, one at a time, reach the peer and
 * come back as the same bytes in the same order (the kernel just moves
 * bytes: how they are cut into datagrams is logged, not checked); then
 * the close escapes and closes the connectID.
 */
TEST_F_TIMEOUT(tp, udp_client, 60)
{
	unsigned char out[DGRAM_MAX], in[2 * DGRAM_MAX + 16];
	int pport = 0, p, c, id, i, k, from = 0, split_out = 0, split_in = 0;
	char want[80], close_cmd[48];
	uint64_t rnd = 0x7901;
	struct wire w;
	size_t n, got;

	modem_up(_metadata, &self->e, NULL, true);
	p = qn_udp(&pport);
	ASSERT_LE(0, p);
	track(&self->e, p);
	c = connected_in(_metadata, &self->e, SOCK_DGRAM, pport, QT_MODE_TRANSPARENT);
	id = conn_id(c);
	for (i = 0; i < 40; i++) {
		n = i == 0 ? 1 : i == 1 ? DGRAM_MAX : 1 + qn_rand(&rnd) % DGRAM_MAX;
		qn_pattern(0x7902, (uint64_t)i << 16, out, n);
		ASSERT_EQ((ssize_t)n, send(c, out, n, MSG_NOSIGNAL))
			TH_LOG("datagram %d (%zu bytes): %s", i, n, strerror(errno));
		got = dgrams_in(p, in, n, WAIT_MS, &k, &from);
		ASSERT_EQ(n, got) TH_LOG("datagram %d: the peer got %zu of %zu bytes", i, got, n);
		ASSERT_EQ(0, memcmp(in, out, n)) TH_LOG("datagram %d: the peer got other bytes", i);
		if (k != 1 && !split_out++)
			TH_LOG("datagram %d (%zu bytes) reached the peer in %d", i, n, k);
		ASSERT_EQ((ssize_t)n, qn_sendto(p, out, n, from));
		got = dgrams_in(c, in, n, WAIT_MS, &k, NULL);
		ASSERT_EQ(n, got) TH_LOG("datagram %d: %zu of %zu bytes came back", i, got, n);
		ASSERT_EQ(0, memcmp(in, out, n)) TH_LOG("datagram %d: other bytes came back", i);
		if (k != 1 && !split_in++)
			TH_LOG("datagram %d (%zu bytes) came back in %d", i, n, k);
	}
	if (split_out || split_in)
		TH_LOG("datagrams not kept whole: %d of 40 to the peer, %d of 40 back",
		       split_out, split_in);
	EXPECT_EQ(-1, qn_recvfrom(p, in, sizeof(in), 300, NULL)) TH_LOG("the peer got more");
	EXPECT_EQ(0, qt_rx_dropped(c));
	EXPECT_EQ(QT_MODE_TRANSPARENT, qt_get_mode(c));

	untrack_close(&self->e, c);
	cmd_line(close_cmd, sizeof(close_cmd), "> AT+QICLOSE=%d\\r", id);
	wire_wait(_metadata, &self->e, close_cmd, 1, LEAVE_MS);
	snprintf(want, sizeof(want), "> AT+QIOPEN=%d,%d,\"UDP\",\"127.0.0.1\",%d,0,2\\r",
		 default_ctx(), id, pport);
	{
		const char *const seq[] = { want, "< CONNECT\\r\\n", "> +++", "< OK\\r\\n",
					    close_cmd, NULL };
		int conn_at, esc_at, cmd;

		wire_load(&self->e, 0, &w);
		EXPECT_LE(0, wire_expect_seq(_metadata, &w, 0, seq));
		conn_at = wire_find(&w, wire_find(&w, 0, want, false), "< CONNECT\\r\\n", false);
		esc_at = wire_find(&w, conn_at, "> +++", false);
		cmd = conn_at >= 0 && esc_at > conn_at ? wire_first_cmd(&w, conn_at, esc_at) : -1;
		EXPECT_EQ(-1, cmd) wire_dump(_metadata, &w, cmd - 5, cmd + 5);
		wire_free(&w);
	}
}

TEST_HARNESS_MAIN
