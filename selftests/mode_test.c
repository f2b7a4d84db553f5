// SPDX-License-Identifier: GPL-2.0
/*
 * AF_QUECTEL access modes against qtsim, checked against the "Access
 * modes" part of docs/SOCKETS.md: 1 MiB echoed in buffer and in direct
 * push mode (and which of AT+QIRD or pushed "+QIURC: "recv",<id>,<len>"
 * carried it), datagram clients and services in direct push mode,
 * switching a live connection back and forth while data flows both ways
 * (AT+QISWTMD), a slow reader in direct push mode (drops counted in
 * QT_RX_DROPPED and /proc/net/quectel, nothing lost silently, nothing
 * reordered), a listener whose accepted connections are pushed to, the
 * errors of QT_ACCESS_MODE (and that none reaches the modem; transparent
 * mode is refused while it is not implemented), a switch bounded by
 * SO_SNDTIMEO and ended by a signal, and that closing a socket in either
 * mode leaves the modem usable.
 *
 * Every test starts its own qtsim (--rdy-delay 0) on a pty, most with a
 * transcript (--log) to see what went over the wire; peers are real
 * sockets on 127.0.0.1 (in-process or the forked echo server). Every
 * blocking call is bounded (socket timeouts, poll timeouts, timed waits,
 * the harness timeout), and the teardown closes, kills and reaps what a
 * test started.
 */
#include <limits.h>

#include "kselftest_harness.h"
#include "qt_af.h"

#define BIG_RCVBUF	(8 * MIB)	/* SO_RCVBUFFORCE: direct push drops nothing */
#define DGRAM_MAX	1460
#define WAIT_MS		5000

static const char *const mode_name[] = { "buffer", "direct push", "transparent" };

/*
 * A new socket of type in mode (set before it opens; a large receive
 * buffer for direct push), which getsockopt() reports back.
 */
static int qsock_in(struct __test_metadata *_metadata, struct qt_env *e, int type, int mode)
{
	int fd = qsock_type(_metadata, e, type, 0), r;

	if (mode == QT_MODE_DIRECT_PUSH)
		qt_big_rcvbuf(_metadata, fd, BIG_RCVBUF);
	r = qt_set_mode(fd, mode);
	ASSERT_EQ(0, r) TH_LOG("%s mode before connecting: %s", mode_name[mode], strerror(-r));
	EXPECT_EQ(mode, qt_get_mode(fd));
	return fd;
}

/* A stream socket in mode connected to 127.0.0.1:port, still in that mode. */
static int connected_in(struct __test_metadata *_metadata, struct qt_env *e, int port, int mode)
{
	int fd = qsock_in(_metadata, e, SOCK_STREAM, mode), r;

	r = qconnect(e, fd, "127.0.0.1", port);
	ASSERT_EQ(0, r) TH_LOG("connect to 127.0.0.1:%d: %s", port, strerror(-r));
	EXPECT_EQ(mode, qt_get_mode(fd));
	return fd;
}

static int conn_id(int fd)
{
	return sockopt_int(fd, SOL_QUECTEL, QT_CONNECT_ID);
}

/* ---- what the kernel and the wire say ---- */

/*
 * The drops column of the /proc/net/quectel line of connectID id on this
 * test's modem, or -1 (no such line, or no such column).
 */
static long long proc_drops(struct qt_env *e, int id)
{
	char *text = qn_read_file("/proc/net/quectel", NULL), *line, *save = NULL;
	char modem[16], want[16];
	long long v, drops = -1;
	int lid;

	snprintf(want, sizeof(want), "qm%d", e->modem);
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%*d %15s %d %*s %*s %*s %*s %*d %*d %*d %*u %lld",
			   modem, &lid, &v) == 3 && !strcmp(modem, want) && lid == id)
			drops = v;
	free(text);
	return drops;
}

/*
 * What the module pushed for connectID id so far ("+QIURC: "recv",<id>,<len>"
 * followed by the bytes): the sum of the lengths, their number in *n.
 */
static long long wire_pushed(struct qt_env *e, int id, int *n)
{
	char needle[40], *log, *p;
	long long sum = 0;
	size_t len;

	snprintf(needle, sizeof(needle), "+QIURC: \"recv\",%d,", id);
	log = log_since(e, 0, &len);
	*n = 0;
	for (p = log; p && (p = strstr(p, needle)); p += strlen(needle)) {
		sum += strtoll(p + strlen(needle), NULL, 10);
		(*n)++;
	}
	free(log);
	return sum;
}

/* Wait up to ms until the module has pushed at least want bytes for id; the sum. */
static long long wire_pushed_wait(struct qt_env *e, int id, long long want, int ms)
{
	long long sum;
	int n;

	QN_WAIT_UNTIL((sum = wire_pushed(e, id, &n)) >= want, ms, 100);
	return sum;
}

/*
 * After a stall, for the log: what the module had pushed for connectID
 * id, and what it pushes once its loop is woken by a control "ping" (a
 * simulator waiting for the pty to become writable goes on then).
 */
static void log_stall(struct __test_metadata *_metadata, struct qt_env *e, int id)
{
	long long before = wire_pushed_wait(e, id, 0, 0), after;

	qt_sim_ctl(&e->sim, "ping");
	after = wire_pushed_wait(e, id, before + 1, 2000);
	TH_LOG("stalled: connectID %d had %lld bytes pushed; %lld once the simulator's loop was woken",
	       id, before, after);
}

/* How many reads (AT+QIRD=<id>, either form) the kernel sent for connectID id. */
static int wire_reads(struct qt_env *e, int id)
{
	char with_len[32], bare[32];

	snprintf(with_len, sizeof(with_len), "> AT+QIRD=%d,", id);
	snprintf(bare, sizeof(bare), "> AT+QIRD=%d\\r", id);
	return log_count(e, with_len) + log_count(e, bare);
}

/* How many AT+QISWTMD=<id>,<mode> the kernel sent. */
static int wire_switches(struct qt_env *e, int id, int mode)
{
	char needle[40];

	snprintf(needle, sizeof(needle), "> AT+QISWTMD=%d,%d\\r", id, mode);
	return log_count(e, needle);
}

/*
 * The transcript shows how connectID id received: pushed data and no
 * AT+QIRD in direct push mode, the reverse in buffer mode.
 */
static void expect_received_by(struct __test_metadata *_metadata, struct qt_env *e, int id,
			       int mode)
{
	int pushes, reads = wire_reads(e, id);
	long long pushed = wire_pushed(e, id, &pushes);

	if (mode == QT_MODE_DIRECT_PUSH) {
		EXPECT_LT(0, pushes) TH_LOG("connectID %d: nothing pushed", id);
		EXPECT_EQ(0, reads) TH_LOG("connectID %d in direct push mode: %d AT+QIRD", id,
					   reads);
	} else {
		EXPECT_LT(0, reads) TH_LOG("connectID %d: never read with AT+QIRD", id);
		EXPECT_EQ(0, pushes) TH_LOG("connectID %d in buffer mode: %lld bytes pushed",
					    id, pushed);
	}
}

/* The transcript has exactly one AT+QIOPEN that ends in ...<what>,<mode>. */
static void expect_opened_in(struct __test_metadata *_metadata, struct qt_env *e,
			     const char *what, int mode)
{
	char needle[128];
	int n;

	snprintf(needle, sizeof(needle), "%s,%d\\r", what, mode);
	n = log_wait(e, needle, 1, 2000);
	EXPECT_EQ(1, n) TH_LOG("'AT+QIOPEN=...%s' on the wire %d times", needle, n);
}

/* ---- data ---- */

/* One echo round trip of n pattern bytes from offset off: 0 if all came back intact. */
static int echo_ok(int fd, uint64_t seed, uint64_t off, size_t n)
{
	if (send_pattern(fd, seed, off, n, 0) != (ssize_t)n)
		return -1;
	return recv_pattern(fd, seed, off, n);
}

/*
 * got (n bytes) is pattern want (wlen bytes) in runs at increasing
 * offsets, whatever was left out between them: the number of runs, or
 * -1 with the first byte that fits nowhere after the last run in *bad.
 * Each run is placed at the first offset where its next 32 bytes (or
 * what is left) match, so random data cannot pass by chance.
 */
static long runs_in_order(const unsigned char *want, size_t wlen, const unsigned char *got,
			  size_t n, size_t *bad)
{
	size_t i = 0, off = 0, k;
	long runs = 0;

	while (i < n) {
		k = n - i < 32 ? n - i : 32;
		while (off + k <= wlen && memcmp(want + off, got + i, k))
			off++;
		if (off + k > wlen) {
			*bad = i;
			return -1;
		}
		runs++;
		while (i < n && off < wlen && want[off] == got[i]) {
			i++;
			off++;
		}
	}
	return runs;
}

/* Datagram seq of stream seed, n bytes. */
static void dgram_make(uint64_t seed, uint32_t seq, unsigned char *buf, size_t n)
{
	qn_pattern(seed, (uint64_t)seq << 16, buf, n);
}

/* Is buf (r bytes) datagram seq of stream seed, n bytes long? */
static bool dgram_eq(uint64_t seed, uint32_t seq, size_t n, const unsigned char *buf, ssize_t r)
{
	unsigned char want[DGRAM_MAX];

	dgram_make(seed, seq, want, n);
	return r == (ssize_t)n && !memcmp(buf, want, n);
}

/*
 * One datagram from an AF_QUECTEL socket within WAIT_MS: its real length
 * (MSG_TRUNC), -errno or -ETIME; the sender in *from.
 */
static ssize_t dgram_in(int fd, void *buf, size_t n, struct sockaddr_qt *from)
{
	socklen_t len = sizeof(*from);
	ssize_t r;

	memset(from, 0, sizeof(*from));
	if (!(poll1(fd, POLLIN, WAIT_MS) & (POLLIN | POLLERR)))
		return -ETIME;
	r = recvfrom(fd, buf, n, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)from, &len);
	return r < 0 ? -errno : r;
}

/* The size of datagram seq: min, then 1460, then anything from min to 1460. */
static size_t dgram_size(uint32_t seq, size_t min)
{
	uint64_t r = seq * 0x9e3779b97f4a7c15ULL;

	if (seq < 2)
		return seq ? DGRAM_MAX : min;
	return min + qn_rand(&r) % (DGRAM_MAX - min + 1);
}

/* Peer p sends datagrams [seq0, seq0 + n) of stream seed to 127.0.0.1:port. */
static void peer_burst(struct __test_metadata *_metadata, int p, uint64_t seed, uint32_t seq0,
		       int n, size_t min, int port)
{
	unsigned char d[DGRAM_MAX];
	uint32_t seq;

	for (seq = seq0; seq < seq0 + n; seq++) {
		size_t len = dgram_size(seq, min);

		dgram_make(seed, seq, d, len);
		ASSERT_EQ((ssize_t)len, qn_sendto(p, d, len, port)) TH_LOG("%s", strerror(errno));
	}
}

/*
 * fd receives datagram seq of stream seed whole, from 127.0.0.1:from_port
 * (asserts; says how many datagrams the module pushed, and dropped ones).
 */
static void expect_dgram(struct __test_metadata *_metadata, struct qt_env *e, int fd,
			 uint64_t seed, uint32_t seq, size_t min, int from_port)
{
	unsigned char buf[2 * DGRAM_MAX];
	struct sockaddr_qt from;
	ssize_t r = dgram_in(fd, buf, sizeof(buf), &from);
	int pushes = 0;

	if (!dgram_eq(seed, seq, dgram_size(seq, min), buf, r))
		wire_pushed(e, conn_id(fd), &pushes);
	ASSERT_TRUE(dgram_eq(seed, seq, dgram_size(seq, min), buf, r))
		TH_LOG("datagram %u (%zu bytes): got %zd (%s); the module pushed %d, "
		       "QT_RX_DROPPED %lld", seq, dgram_size(seq, min), r,
		       r < 0 ? strerror((int)-r) : "bytes", pushes, (long long)qt_rx_dropped(fd));
	EXPECT_EQ(qt_af(), from.sqt_family);
	EXPECT_STREQ("127.0.0.1", from.sqt_host);
	EXPECT_EQ(from_port, ntohs(from.sqt_port));
}

/* =========================== tests =========================== */

QT_ENV_FIXTURE(mode)

/* The same transfer in each mode. */
QT_ENV_FIXTURE(echo)

FIXTURE_VARIANT(echo) {
	int mode;
};

FIXTURE_VARIANT_ADD(echo, buffer) {
	.mode = QT_MODE_BUFFER,
};

FIXTURE_VARIANT_ADD(echo, direct_push) {
	.mode = QT_MODE_DIRECT_PUSH,
};

/*
 * 1 MiB of random bytes each way through the echo server, hash-checked
 * on both ends; the mode is part of AT+QIOPEN, and the transcript shows
 * the data pushed (every byte of it) without a single AT+QIRD in direct
 * push mode, read with AT+QIRD and never pushed in buffer mode. Direct
 * push with a large SO_RCVBUF drops nothing.
 */
TEST_F_TIMEOUT(echo, one_mib, 60)
{
	char what[64];
	struct xfer *x;
	int fd, id, n;

	modem_up(_metadata, &self->e, NULL, true);
	echo_up(_metadata, &self->e);
	fd = connected_in(_metadata, &self->e, self->e.echo.port, variant->mode);
	id = conn_id(fd);
	ASSERT_TRUE(id >= 0 && id < NCONN) TH_LOG("connectID %d", id);
	snprintf(what, sizeof(what), "%d,\"TCP\",\"127.0.0.1\",%d,0", id, self->e.echo.port);
	expect_opened_in(_metadata, &self->e, what, variant->mode);

	x = xfer_start(fd, MIB, 0x1000 + variant->mode);
	ASSERT_EQ(0, xfer_wait(&x, 1, qn_now_ms() + 45000))
		TH_LOG("stuck: sent %llu, received %llu", (unsigned long long)x->sent.n,
		       (unsigned long long)x->rcvd.n);
	xfer_check(_metadata, x, 0);
	EXPECT_EQ(x->sent.h, self->e.echo.sh->conn[0].in_hash) TH_LOG("the server got other bytes");
	EXPECT_EQ(0, qt_rx_dropped(fd));
	EXPECT_EQ(variant->mode, qt_get_mode(fd));
	free(x);

	expect_received_by(_metadata, &self->e, id, variant->mode);
	if (variant->mode == QT_MODE_DIRECT_PUSH)
		EXPECT_EQ(MIB, wire_pushed(&self->e, id, &n));
	EXPECT_EQ(0, proc_drops(&self->e, id));
}

/*
 * Datagram sockets in direct push mode. A client: a burst of datagrams
 * of 1..1460 bytes from its peer arrives whole, in order, each from the
 * peer. A service and two peers: each datagram whole, with its own
 * sender, and the replies reach the right peer. Both opened with mode 1,
 * pushed, never read with AT+QIRD, nothing dropped. Then the service is
 * switched to buffer mode (a datagram read with AT+QIRD, sender right)
 * and back.
 */
TEST_F_TIMEOUT(mode, udp_direct_push, 60)
{
	int pp[2] = { 0, 0 }, p[2], c, cport, cid, s, sport = 0, sid, k, i, r, reads;
	unsigned char buf[64];
	char what[64];
	struct sockaddr_qt to;

	modem_up(_metadata, &self->e, NULL, true);
	for (k = 0; k < 2; k++) {
		p[k] = track(&self->e, qn_udp(&pp[k]));
		ASSERT_LE(0, p[k]);
	}

	/* A client: 40 datagrams back to back. */
	c = qsock_in(_metadata, &self->e, SOCK_DGRAM, QT_MODE_DIRECT_PUSH);
	r = qconnect(&self->e, c, "127.0.0.1", pp[0]);
	ASSERT_EQ(0, r) TH_LOG("connect: %s", strerror(-r));
	EXPECT_EQ(QT_MODE_DIRECT_PUSH, qt_get_mode(c));
	cid = conn_id(c);
	cport = qport(c, false, NULL);
	ASSERT_LT(0, cport);
	snprintf(what, sizeof(what), "%d,\"UDP\",\"127.0.0.1\",%d,0", cid, pp[0]);
	expect_opened_in(_metadata, &self->e, what, QT_MODE_DIRECT_PUSH);
	ASSERT_EQ(5, send(c, "hello", 5, MSG_NOSIGNAL));
	ASSERT_EQ(5, qn_recvfrom(p[0], buf, sizeof(buf), WAIT_MS, &r));
	EXPECT_EQ(cport, r);
	peer_burst(_metadata, p[0], 0x51, 0, 40, 1, cport);
	for (i = 0; i < 40; i++)
		expect_dgram(_metadata, &self->e, c, 0x51, i, 1, pp[0]);

	/* A service: the peers take turns, 10 datagrams each. */
	s = qsock_in(_metadata, &self->e, SOCK_DGRAM, QT_MODE_DIRECT_PUSH);
	r = qbind(&self->e, s, 0);
	ASSERT_EQ(0, r) TH_LOG("bind: %s", strerror(-r));
	EXPECT_EQ(QT_MODE_DIRECT_PUSH, qt_get_mode(s));
	sid = conn_id(s);
	sport = qport(s, false, NULL);
	ASSERT_LT(0, sport);
	snprintf(what, sizeof(what), "%d,\"UDP SERVICE\",\"127.0.0.1\",0,%d", sid, sport);
	expect_opened_in(_metadata, &self->e, what, QT_MODE_DIRECT_PUSH);
	for (i = 0; i < 10; i++)
		for (k = 0; k < 2; k++)
			peer_burst(_metadata, p[k], 0x60 + k, i, 1, 8, sport);
	for (i = 0; i < 10; i++)
		for (k = 0; k < 2; k++)
			expect_dgram(_metadata, &self->e, s, 0x60 + k, i, 8, pp[k]);
	for (k = 0; k < 2; k++) {
		to = qaddr(&self->e, "127.0.0.1", pp[k]);
		ASSERT_EQ(3, sendto(s, k ? "two" : "one", 3, MSG_NOSIGNAL, (struct sockaddr *)&to,
				    sizeof(to))) TH_LOG("sendto: %s", strerror(errno));
	}
	for (k = 0; k < 2; k++) {
		EXPECT_EQ(3, qn_recvfrom(p[k], buf, sizeof(buf), WAIT_MS, &r));
		EXPECT_EQ(0, memcmp(buf, k ? "two" : "one", 3)) TH_LOG("peer %d got another reply", k);
		EXPECT_EQ(sport, r);
	}

	EXPECT_EQ(0, qt_rx_dropped(c));
	EXPECT_EQ(0, qt_rx_dropped(s));
	log_size(&self->e);
	expect_received_by(_metadata, &self->e, cid, QT_MODE_DIRECT_PUSH);
	expect_received_by(_metadata, &self->e, sid, QT_MODE_DIRECT_PUSH);
	snprintf(what, sizeof(what), "+QIURC: \"recv\",%d,%zu,\"127.0.0.1\",%d", sid,
		 dgram_size(0, 8), pp[1]);
	EXPECT_EQ(1, log_count(&self->e, what)) TH_LOG("no '%s' on the wire", what);

	/* A live service switches: read with AT+QIRD, then pushed again. */
	r = qt_set_mode(s, QT_MODE_BUFFER);
	ASSERT_EQ(0, r) TH_LOG("to buffer mode: %s", strerror(-r));
	EXPECT_EQ(QT_MODE_BUFFER, qt_get_mode(s));
	EXPECT_EQ(1, wire_switches(&self->e, sid, QT_MODE_BUFFER));
	peer_burst(_metadata, p[1], 0x60 + 1, 10, 1, 8, sport);
	expect_dgram(_metadata, &self->e, s, 0x60 + 1, 10, 8, pp[1]);
	reads = log_wait(&self->e, "AT+QIRD=", 1, 2000);
	EXPECT_LT(0, wire_reads(&self->e, sid)) TH_LOG("%d reads in all", reads);
	r = qt_set_mode(s, QT_MODE_DIRECT_PUSH);
	ASSERT_EQ(0, r) TH_LOG("back to direct push: %s", strerror(-r));
	EXPECT_EQ(QT_MODE_DIRECT_PUSH, qt_get_mode(s));
	EXPECT_EQ(1, wire_switches(&self->e, sid, QT_MODE_DIRECT_PUSH));
	reads = wire_reads(&self->e, sid);
	peer_burst(_metadata, p[0], 0x60, 10, 1, 8, sport);
	expect_dgram(_metadata, &self->e, s, 0x60, 10, 8, pp[0]);
	log_size(&self->e);
	EXPECT_EQ(reads, wire_reads(&self->e, sid)) TH_LOG("read in direct push mode");
	EXPECT_EQ(0, qt_rx_dropped(s));
}

/*
 * A connection switched buffer -> direct push -> buffer three times while
 * 1 MiB flows each way through the echo server: every switch succeeds
 * with AT+QISWTMD, getsockopt() reports each mode, the data arrives
 * whole and in order, nothing is dropped.
 */
TEST_F_TIMEOUT(mode, switch_while_flowing, 90)
{
	static const int steps[] = { 1, 0, 1, 0, 1, 0 };
	const size_t len = MIB;
	uint64_t seen[7] = { 0 };
	struct xfer *x;
	int fd, id, i, r;

	modem_up(_metadata, &self->e, NULL, true);
	echo_up(_metadata, &self->e);
	fd = connected_in(_metadata, &self->e, self->e.echo.port, QT_MODE_BUFFER);
	qt_big_rcvbuf(_metadata, fd, BIG_RCVBUF);
	id = conn_id(fd);
	x = xfer_start(fd, len, 0x2000);
	for (i = 0; i < 6; i++) {
		QN_WAIT_UNTIL(__atomic_load_n(&x->rcvd.n, __ATOMIC_RELAXED) > seen[i] + 64 * KIB,
			      5000, 10);
		seen[i + 1] = __atomic_load_n(&x->rcvd.n, __ATOMIC_RELAXED);
		r = qt_set_mode(fd, steps[i]);
		EXPECT_EQ(0, r) TH_LOG("switch %d to %s mode: %s", i, mode_name[steps[i]],
				       strerror(-r));
		EXPECT_EQ(steps[i], qt_get_mode(fd)) TH_LOG("after switch %d", i);
	}
	/* Every switch happened while data still came back. */
	EXPECT_GT(len, __atomic_load_n(&x->rcvd.n, __ATOMIC_RELAXED))
		TH_LOG("the transfer ended before the last switch: make it longer");
	ASSERT_EQ(0, xfer_wait(&x, 1, qn_now_ms() + 60000))
		TH_LOG("stuck: sent %llu, received %llu", (unsigned long long)x->sent.n,
		       (unsigned long long)x->rcvd.n);
	xfer_check(_metadata, x, 0);
	free(x);
	EXPECT_EQ(0, qt_rx_dropped(fd));
	log_size(&self->e);
	EXPECT_EQ(3, wire_switches(&self->e, id, QT_MODE_DIRECT_PUSH));
	EXPECT_EQ(3, wire_switches(&self->e, id, QT_MODE_BUFFER));
	/* Both ways of receiving were used. */
	EXPECT_LT(0, wire_reads(&self->e, id));
	EXPECT_LT(0, wire_pushed(&self->e, id, &i));
}

/*
 * Buffer to direct push while the peer keeps the module's buffer full
 * (each command takes 5 ms, so reading never catches up): the switch
 * does not wait for an empty buffer forever. The module pushes what it
 * still held after the OK, so the stream arrives whole and in order.
 */
TEST_F_TIMEOUT(mode, switch_under_flood, 90)
{
	static const char *const slow[] = { "--latency", "5", NULL };
	struct timeval tmo = { .tv_sec = 1 };
	int lfd, port, fd, p, id, r, sndbuf = 64 * KIB;
	struct qn_hash down;
	int64_t drops;
	struct flood *f;
	struct xfer *x;
	int64_t t0;

	modem_up(_metadata, &self->e, slow, true);
	lfd = listener(_metadata, &self->e, &port, 0);
	fd = connected_in(_metadata, &self->e, port, QT_MODE_BUFFER);
	id = conn_id(fd);
	p = peer_accept(_metadata, &self->e, lfd, NULL);
	ASSERT_EQ(0, setsockopt(p, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo)));
	ASSERT_EQ(0, setsockopt(p, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)));
	/* Pushed data cannot wait: room for all that is on the way. */
	qt_big_rcvbuf(_metadata, fd, BIG_RCVBUF);
	f = flood_start(p);
	x = drain_start(fd);
	QN_WAIT_UNTIL(__atomic_load_n(&x->rcvd.n, __ATOMIC_RELAXED) > 32 * KIB, 20000, 10);
	ASSERT_LT(32 * KIB, __atomic_load_n(&x->rcvd.n, __ATOMIC_RELAXED))
		TH_LOG("the flood did not reach us");

	t0 = qn_now_ms();
	r = qt_set_mode(fd, QT_MODE_DIRECT_PUSH);
	EXPECT_EQ(0, r) TH_LOG("switch under a flood: %s after %lld ms", strerror(-r),
			       (long long)(qn_now_ms() - t0));
	EXPECT_EQ(QT_MODE_DIRECT_PUSH, qt_get_mode(fd));
	EXPECT_EQ(1, wire_switches(&self->e, id, QT_MODE_DIRECT_PUSH));
	/* Some more arrives pushed while the flood goes on. */
	qn_sleep_ms(100);
	flood_stop(f);
	EXPECT_EQ(0, f->err) TH_LOG("peer send: %s", strerror(f->err));

	shutdown(p, SHUT_WR);
	QN_WAIT_UNTIL(__atomic_load_n(&x->done, __ATOMIC_ACQUIRE), 60000, 20);
	ASSERT_EQ(1, __atomic_load_n(&x->done, __ATOMIC_ACQUIRE))
		TH_LOG("no EOF: %llu of %llu bytes came", (unsigned long long)x->rcvd.n,
		       (unsigned long long)f->sent);
	pthread_join(x->rx, NULL);
	EXPECT_EQ(-1, x->rx_err) TH_LOG("recv: %s", strerror(x->rx_err));	/* EOF */
	/* Nothing lost unseen; with nothing dropped, all of it in order. */
	drops = qt_rx_dropped(fd);
	EXPECT_EQ(f->sent, x->rcvd.n + drops) TH_LOG("%lld bytes dropped", (long long)drops);
	if (!drops) {
		qn_pattern_hash(FLOOD_SEED, f->sent, &down);
		EXPECT_EQ(down.h, x->rcvd.h) TH_LOG("not the peer's stream in order");
	} else {
		TH_LOG("%lld pushed bytes dropped: order not checked", (long long)drops);
	}
	EXPECT_LT(0, wire_reads(&self->e, id));
	EXPECT_LT(0, wire_pushed(&self->e, id, &r));
	free(x);
	free(f);
}

/*
 * Direct push, a small SO_RCVBUF, a reader taking 1 KiB every 10 ms and
 * a peer sending 512 KiB as fast as it can: data is dropped, and counted
 * (QT_RX_DROPPED, the same in /proc/net/quectel), never silently: what
 * was received plus what was dropped is what the peer sent (and what the
 * module pushed), the receive queue stays within SO_RCVBUF, and the bytes
 * received are the peer's in order with gaps where pushes were dropped.
 */
TEST_F_TIMEOUT(mode, slow_reader_drops, 60)
{
	const size_t total = 512 * KIB;
	unsigned char *want, *got;
	int lfd, port, fd, id, p, rcvbuf = 4096, sndbuf = 4 * MIB, inq, max_inq = 0, n;
	struct timeval tmo = { .tv_sec = SOCK_TMO_S };
	int64_t drops = 0, end;
	size_t have = 0, bad = 0;
	long runs;

	modem_up(_metadata, &self->e, NULL, true);
	lfd = listener(_metadata, &self->e, &port, 0);
	fd = qsock(_metadata, &self->e, 0);
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)));
	rcvbuf = sockopt_int(fd, SOL_SOCKET, SO_RCVBUF);
	ASSERT_EQ(0, qt_set_mode(fd, QT_MODE_DIRECT_PUSH));
	ASSERT_EQ(0, qconnect(&self->e, fd, "127.0.0.1", port));
	id = conn_id(fd);
	p = peer_accept(_metadata, &self->e, lfd, NULL);
	ASSERT_EQ(0, setsockopt(p, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)));
	ASSERT_EQ(0, setsockopt(p, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo)));
	EXPECT_EQ(0, qt_rx_dropped(fd));

	want = malloc(total);
	got = malloc(total);
	qn_pattern(0x3000, 0, want, total);
	/* At once: TCP delivers it as fast as the module takes it. */
	ASSERT_EQ((ssize_t)total, send_pattern(p, 0x3000, 0, total, 0));
	end = qn_now_ms() + 15000;
	do {
		ssize_t r;

		qn_sleep_ms(10);
		inq = ioctl_int(fd, SIOCINQ);
		if (inq > max_inq)
			max_inq = inq;
		r = recv(fd, got + have, total - have < KIB ? total - have : KIB, MSG_DONTWAIT);
		if (r > 0)
			have += r;
		else if (r == 0 || errno != EAGAIN)
			break;
		drops = qt_rx_dropped(fd);
		ASSERT_LE(0, drops) TH_LOG("QT_RX_DROPPED: %s", strerror((int)-drops));
	} while (have + drops < total && qn_now_ms() < end);

	EXPECT_LT(0, drops) TH_LOG("nothing dropped: the reader was not slow enough");
	EXPECT_EQ(total, have + drops) TH_LOG("received %zu + dropped %lld of %zu", have,
					      (long long)drops, total);
	/* Nothing more comes, nothing more is counted. */
	qn_sleep_ms(300);
	EXPECT_EQ(-1, recv(fd, got, 1, MSG_DONTWAIT));
	EXPECT_EQ(drops, qt_rx_dropped(fd));
	EXPECT_EQ(drops, proc_drops(&self->e, id)) TH_LOG("/proc/net/quectel: drops column");
	EXPECT_GE(rcvbuf, max_inq) TH_LOG("SIOCINQ reached %d, SO_RCVBUF %d", max_inq, rcvbuf);
	EXPECT_EQ((long long)total, wire_pushed(&self->e, id, &n)) TH_LOG("%d pushes", n);
	EXPECT_EQ(0, wire_reads(&self->e, id));

	runs = runs_in_order(want, total, got, have, &bad);
	EXPECT_NE(-1, runs) TH_LOG("byte %zu of %zu received is not the peer's next", bad, have);
	free(want);
	free(got);
	if (have + drops < total)
		log_stall(_metadata, &self->e, id);
}

/*
 * A listener in direct push mode: opened with mode 1; what a client sends
 * before accept() is pushed and waits in the new socket; accepted sockets
 * report direct push, receive pushed data (no AT+QIRD) and send.
 */
TEST_F_TIMEOUT(mode, listener_direct_push, 60)
{
	unsigned char back[4 * KIB], want[4 * KIB];
	int lfd, port, lid, c[2], cport[2], a, id, k, inq;
	struct timeval tmo = { .tv_sec = SOCK_TMO_S };
	char what[96];

	modem_up(_metadata, &self->e, NULL, true);
	lfd = qsock_in(_metadata, &self->e, SOCK_STREAM, QT_MODE_DIRECT_PUSH);
	ASSERT_EQ(0, listen(lfd, 4)) TH_LOG("listen: %s", strerror(errno));
	EXPECT_EQ(QT_MODE_DIRECT_PUSH, qt_get_mode(lfd));
	port = qport(lfd, false, NULL);
	lid = conn_id(lfd);
	snprintf(what, sizeof(what), "%d,\"TCP LISTENER\",\"127.0.0.1\",0,%d", lid, port);
	expect_opened_in(_metadata, &self->e, what, QT_MODE_DIRECT_PUSH);

	for (k = 0; k < 2; k++) {
		c[k] = track(&self->e, qn_connect(port, &cport[k]));
		ASSERT_LE(0, c[k]);
		setsockopt(c[k], SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
		/* At once: before the kernel has a socket for it. */
		ASSERT_EQ(3000, send_pattern(c[k], 0x40 + k, 0, 3000, 0));
		log_wait(&self->e, "+QIURC: \"incoming\",", k + 1, 5000);
		for (id = 0; id < NCONN; id++) {
			snprintf(what, sizeof(what), "+QIURC: \"incoming\",%d,%d,\"127.0.0.1\",%d",
				 id, lid, cport[k]);
			if (log_count(&self->e, what))
				break;
		}
		ASSERT_GT(NCONN, id) TH_LOG("no incoming connection from port %d", cport[k]);
		EXPECT_EQ(3000, wire_pushed_wait(&self->e, id, 3000, 5000));
		qn_sleep_ms(200);

		a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		ASSERT_LE(0, a) TH_LOG("accept: %s", strerror(errno));
		track(&self->e, a);
		EXPECT_EQ(id, conn_id(a));
		EXPECT_EQ(QT_MODE_DIRECT_PUSH, qt_get_mode(a));
		inq = ioctl_int(a, SIOCINQ);
		EXPECT_EQ(3000, inq) TH_LOG("pushed before accept(), queued at accept(): %d", inq);
		EXPECT_EQ(0, recv_pattern(a, 0x40 + k, 0, 3000));
		/* After accept(). */
		ASSERT_EQ(64 * KIB, send_pattern(c[k], 0x40 + k, 3000, 64 * KIB, 0));
		EXPECT_EQ(0, recv_pattern(a, 0x40 + k, 3000, 64 * KIB));
		qn_pattern(0x48 + k, 0, want, sizeof(want));
		ASSERT_EQ((ssize_t)sizeof(want), send(a, want, sizeof(want), MSG_NOSIGNAL));
		EXPECT_EQ(sizeof(back), qn_read_n(c[k], back, sizeof(back), WAIT_MS));
		EXPECT_EQ(0, memcmp(back, want, sizeof(want)));
		EXPECT_EQ(0, qt_rx_dropped(a));
		log_size(&self->e);
		expect_received_by(_metadata, &self->e, id, QT_MODE_DIRECT_PUSH);
	}
}

/*
 * Values the option refuses, and the read-only options, on any socket:
 * nothing reaches the modem, the mode stays, the connection works.
 */
TEST_F_TIMEOUT(mode, invalid_values, 60)
{
	static const int bad[] = { 3, -1, 4, 255, INT_MAX, INT_MIN };
	static const char *const none[] = { "QISWTMD", NULL };
	int fds[3], i, j, r, v = QT_MODE_DIRECT_PUSH, sport = 0;
	uint64_t u = 0;
	socklen_t len;
	size_t mark;

	modem_up(_metadata, &self->e, NULL, true);
	echo_up(_metadata, &self->e);
	fds[0] = qsock(_metadata, &self->e, 0);					/* fresh */
	fds[1] = qconnected(_metadata, &self->e, self->e.echo.port);		/* connected */
	fds[2] = qdgram(_metadata, &self->e, 0);				/* a service */
	ASSERT_EQ(0, qbind(&self->e, fds[2], sport));
	mark = log_size(&self->e);

	for (j = 0; j < 3; j++) {
		for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
			r = qt_set_mode(fds[j], bad[i]);
			EXPECT_EQ(-EINVAL, r) TH_LOG("socket %d, mode %d: %s", j, bad[i], strerror(-r));
		}
		EXPECT_EQ(QT_MODE_BUFFER, qt_get_mode(fds[j])) TH_LOG("socket %d", j);

		/* The read-only options. */
		EXPECT_EQ(-1, setsockopt(fds[j], SOL_QUECTEL, QT_CONNECT_ID, &v, sizeof(v)));
		EXPECT_EQ(ENOPROTOOPT, errno) TH_LOG("socket %d, QT_CONNECT_ID: %s", j,
						     strerror(errno));
		EXPECT_EQ(-1, setsockopt(fds[j], SOL_QUECTEL, QT_RX_DROPPED, &u, sizeof(u)));
		EXPECT_EQ(ENOPROTOOPT, errno) TH_LOG("socket %d, QT_RX_DROPPED: %s", j,
						     strerror(errno));
		/* QT_RX_DROPPED is a __u64: a shorter buffer is refused. */
		len = sizeof(int);
		EXPECT_EQ(-1, getsockopt(fds[j], SOL_QUECTEL, QT_RX_DROPPED, &u, &len));
		EXPECT_EQ(EINVAL, errno) TH_LOG("socket %d, QT_RX_DROPPED in 4 bytes: %s", j,
						strerror(errno));
		u = 12345;
		len = sizeof(u);
		EXPECT_EQ(0, getsockopt(fds[j], SOL_QUECTEL, QT_RX_DROPPED, &u, &len));
		EXPECT_EQ(sizeof(u), len);
		EXPECT_EQ(0, u);
	}
	EXPECT_EQ(0, echo_ok(fds[1], 0x70, 0, 10 * KIB)) TH_LOG("the connection broke");
	expect_wire_lacks(_metadata, &self->e, mark, none);
}

/*
 * Transparent mode where the module has none: a UDP service (a live one
 * and one being bound) and a listener: EOPNOTSUPP, the mode unchanged or
 * the socket unopened, and nothing reaches the modem. (The mode itself is
 * transparent_test's.)
 */
TEST_F_TIMEOUT(mode, transparent_refused, 60)
{
	static const char *const none[] = { "QISWTMD", "\"TCP LISTENER\"", "\"UDP SERVICE\"", NULL };
	int svc, l, u, r;
	size_t mark;

	modem_up(_metadata, &self->e, NULL, true);
	svc = qdgram(_metadata, &self->e, 0);
	ASSERT_EQ(0, qbind(&self->e, svc, 0));
	mark = log_size(&self->e);
	r = qt_set_mode(svc, QT_MODE_TRANSPARENT);
	EXPECT_EQ(-EOPNOTSUPP, r) TH_LOG("service: %s", strerror(-r));
	EXPECT_EQ(QT_MODE_BUFFER, qt_get_mode(svc));

	l = qsock(_metadata, &self->e, 0);
	ASSERT_EQ(0, qt_set_mode(l, QT_MODE_TRANSPARENT));
	EXPECT_EQ(-1, listen(l, 4));
	EXPECT_EQ(EOPNOTSUPP, errno) TH_LOG("listen: %s", strerror(errno));

	u = qdgram(_metadata, &self->e, 0);
	ASSERT_EQ(0, qt_set_mode(u, QT_MODE_TRANSPARENT));
	r = qbind(&self->e, u, 0);
	EXPECT_EQ(-EOPNOTSUPP, r) TH_LOG("bind: %s", strerror(-r));
	expect_wire_lacks(_metadata, &self->e, mark, none);
}

/*
 * Where a switch is not possible: a listener (EISCONN), a connect in
 * progress (EALREADY), a connection the peer closed (ENOTCONN); sockets
 * whose connection the network dropped are unconnected, so the mode is
 * stored for their next one. None reaches the modem.
 */
TEST_F_TIMEOUT(mode, wrong_state, 60)
{
	static const char *const none[] = { "QISWTMD", NULL };
	int lfd, plfd, port = 0, uport = 0, fd, nb, dead[3], m, i, r, err;
	char buf[16];
	size_t mark;
	short ev;

	modem_up(_metadata, &self->e, NULL, true);
	echo_up(_metadata, &self->e);
	mark = log_size(&self->e);

	lfd = qsock(_metadata, &self->e, 0);
	ASSERT_EQ(0, listen(lfd, 4)) TH_LOG("listen: %s", strerror(errno));
	for (m = 0; m < 2; m++) {
		r = qt_set_mode(lfd, m);
		EXPECT_EQ(-EISCONN, r) TH_LOG("listener, %s mode: %s", mode_name[m], strerror(-r));
	}
	EXPECT_EQ(QT_MODE_BUFFER, qt_get_mode(lfd));

	nb = qsock(_metadata, &self->e, SOCK_NONBLOCK);
	ctl(_metadata, &self->e, "delay 1000");
	r = qconnect(&self->e, nb, "127.0.0.1", self->e.echo.port);
	EXPECT_EQ(-EINPROGRESS, r) TH_LOG("%s", strerror(-r));
	r = qt_set_mode(nb, QT_MODE_DIRECT_PUSH);
	EXPECT_EQ(-EALREADY, r) TH_LOG("connecting: %s", strerror(-r));
	ctl(_metadata, &self->e, "delay 0");
	ev = poll_until(nb, POLLOUT, POLLOUT, 10000);
	EXPECT_EQ(POLLOUT, ev & (POLLOUT | POLLERR)) TH_LOG("revents 0x%x", ev);
	EXPECT_EQ(0, so_error(nb));
	EXPECT_EQ(QT_MODE_BUFFER, qt_get_mode(nb));

	/* The peer closed: EOF, and the connection is over. */
	plfd = listener(_metadata, &self->e, &port, 0);
	fd = qconnected(_metadata, &self->e, port);
	untrack_close(&self->e, peer_accept(_metadata, &self->e, plfd, NULL));
	EXPECT_EQ(0, recv(fd, buf, sizeof(buf), 0)) TH_LOG("no EOF: %s", strerror(errno));
	for (m = 0; m < 2; m++) {
		r = qt_set_mode(fd, 1 - m);
		EXPECT_EQ(-ENOTCONN, r) TH_LOG("peer closed, %s mode: %s", mode_name[1 - m],
					       strerror(-r));
	}
	EXPECT_EQ(QT_MODE_BUFFER, qt_get_mode(fd));

	/*
	 * The network drops a stream, a datagram client and a service: each
	 * is unconnected again, and the mode is for its next connection.
	 */
	dead[0] = qconnected(_metadata, &self->e, self->e.echo.port);
	ASSERT_LE(0, track(&self->e, qn_udp(&uport)));
	dead[1] = qdgram(_metadata, &self->e, 0);
	ASSERT_EQ(0, qconnect(&self->e, dead[1], "127.0.0.1", uport));
	dead[2] = qdgram(_metadata, &self->e, 0);
	ASSERT_EQ(0, qbind(&self->e, dead[2], 0));
	ctl(_metadata, &self->e, pdpdeact_cmd());
	for (i = 0; i < 3; i++) {
		ev = poll_until(dead[i], POLLIN, POLLERR, 5000);
		EXPECT_TRUE(ev & POLLERR) TH_LOG("socket %d: revents 0x%x", i, ev);
		err = so_error(dead[i]);
		EXPECT_EQ(ENETDOWN, err) TH_LOG("socket %d: %s", i, strerror(err));
		r = qt_set_mode(dead[i], QT_MODE_DIRECT_PUSH);
		EXPECT_EQ(0, r) TH_LOG("socket %d after the context was lost: %s", i,
				       strerror(-r));
		EXPECT_EQ(QT_MODE_DIRECT_PUSH, qt_get_mode(dead[i])) TH_LOG("socket %d", i);
	}
	expect_wire_lacks(_metadata, &self->e, mark, none);
}

/* The switch a signal interrupts below. */
static int to_direct_push(int fd)
{
	int m = QT_MODE_DIRECT_PUSH;

	return setsockopt(fd, SOL_QUECTEL, QT_ACCESS_MODE, &m, sizeof(m));
}

/*
 * A switch waits for the module's answer, but no longer than SO_SNDTIMEO,
 * and a signal ends the wait (EINTR). Whatever the module did meanwhile,
 * getsockopt() then tells the mode in force: the next data arrives that
 * way, intact.
 */
TEST_F_TIMEOUT(mode, switch_wait_bounded, 60)
{
	struct timeval tv = { .tv_usec = 300000 };
	int fd, id, m, r, reads, pushes;
	long long pushed;
	int64_t t0, took;

	modem_up(_metadata, &self->e, NULL, true);
	echo_up(_metadata, &self->e);
	fd = connected_in(_metadata, &self->e, self->e.echo.port, QT_MODE_BUFFER);
	qt_big_rcvbuf(_metadata, fd, BIG_RCVBUF);
	id = conn_id(fd);

	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	ctl(_metadata, &self->e, "delay 1500");
	t0 = qn_now_ms();
	r = qt_set_mode(fd, QT_MODE_DIRECT_PUSH);
	took = qn_now_ms() - t0;
	EXPECT_NE(0, r) TH_LOG("the switch did not wait for the module");
	EXPECT_LE(250, took);
	EXPECT_GT(1200, took) TH_LOG("SO_SNDTIMEO 300 ms: returned after %lld ms (%s)",
				     (long long)took, strerror(-r));
	/* Let that answer come, then interrupt a switch back. */
	qn_sleep_ms(2000);
	tv.tv_sec = SOCK_TMO_S;
	tv.tv_usec = 0;
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	if (qt_get_mode(fd) == QT_MODE_DIRECT_PUSH) {
		r = qt_set_mode(fd, QT_MODE_BUFFER);
		ASSERT_EQ(0, r) TH_LOG("%s", strerror(-r));
	}
	r = interrupted(to_direct_push, fd, 300, &took);
	EXPECT_EQ(-EINTR, r) TH_LOG("%s after %lld ms", strerror(-r), (long long)took);
	EXPECT_GT(1200, took);
	EXPECT_EQ(1, n_sigusr1);
	ctl(_metadata, &self->e, "delay 0");
	qn_sleep_ms(2000);

	m = qt_get_mode(fd);
	ASSERT_TRUE(m == QT_MODE_BUFFER || m == QT_MODE_DIRECT_PUSH) TH_LOG("mode %d", m);
	reads = wire_reads(&self->e, id);
	pushed = wire_pushed(&self->e, id, &pushes);
	EXPECT_EQ(0, echo_ok(fd, 0x90, 0, 32 * KIB));
	log_size(&self->e);
	if (m == QT_MODE_DIRECT_PUSH) {
		EXPECT_EQ(reads, wire_reads(&self->e, id)) TH_LOG("direct push mode, read");
		EXPECT_EQ(pushed + 32 * KIB, wire_pushed(&self->e, id, &pushes));
	} else {
		EXPECT_LT(reads, wire_reads(&self->e, id)) TH_LOG("buffer mode, not read");
		EXPECT_EQ(pushed, wire_pushed(&self->e, id, &pushes)) TH_LOG("buffer mode, pushed");
	}
	EXPECT_EQ(0, qt_rx_dropped(fd));
}

/*
 * Closing a socket in either mode with data still on its way back leaves
 * the modem usable: after a direct-push socket a buffer-mode connection
 * echoes correctly, after that one a direct-push connection, and so on;
 * then all 12 connectIDs open again.
 */
TEST_F_TIMEOUT(mode, close_from_each_mode, 60)
{
	static const int order[] = { QT_MODE_DIRECT_PUSH, QT_MODE_BUFFER, QT_MODE_DIRECT_PUSH,
				     QT_MODE_BUFFER, QT_MODE_DIRECT_PUSH };
	int i, fd, id;

	modem_up(_metadata, &self->e, NULL, false);
	echo_up(_metadata, &self->e);
	for (i = 0; i < 5; i++) {
		fd = connected_in(_metadata, &self->e, self->e.echo.port, order[i]);
		id = conn_id(fd);
		/* A modem that no longer echoes is not usable: stop there. */
		ASSERT_EQ(0, echo_ok(fd, 0x80 + i, 0, 64 * KIB))
			TH_LOG("connection %d (%s mode, connectID %d)", i, mode_name[order[i]], id);
		EXPECT_EQ(0, qt_rx_dropped(fd));
		/* Closed with 32 KiB still coming back. */
		ASSERT_EQ(32 * KIB, send_pattern(fd, 0x80 + i, 64 * KIB, 32 * KIB, 0));
		untrack_close(&self->e, fd);
	}
	all_ids_free(_metadata, &self->e, 15000);
}

TEST_HARNESS_MAIN
