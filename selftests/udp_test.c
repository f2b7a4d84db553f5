// SPDX-License-Identifier: GPL-2.0
/*
 * AF_QUECTEL datagram sockets against qtsim, checked against the
 * "Datagram sockets" part of docs/SERVERS.md.
 *
 * The "udp" fixture is the client suite, run once per command set
 * (variants "modern" and "legacy", qtsim --dialect): a client echoing
 * 1000 datagrams, size limits (refused sends put nothing on the wire,
 * checked in each set's words), what a peer sends that we cannot send
 * (empty and over-long datagrams), MSG_TRUNC and MSG_PEEK, addressing
 * errors, non-blocking receive, connect and poll, SEND FAIL retried,
 * socat as a peer, and context loss.
 *
 * The "udp_service" fixture is what only the modern set has: the legacy
 * one has no UDP services (bind() gives EOPNOTSUPP there, which
 * dialect_test checks). A service talking to two peers (and its
 * AT+QIOPEN/AT+QISEND/AT+QIRD on the wire), its limits, empty and
 * over-long datagrams from a peer, bound and automatic ports, addressing
 * errors, auto-binding, privileged ports, ports in use (the module's
 * 573), and context loss.
 *
 * Every test starts its own qtsim (--rdy-delay 0) on a pty; the peers
 * are real UDP sockets on 127.0.0.1 (in-process, or socat). Exchanges
 * are paced (one datagram in flight), so a correct kernel loses none.
 * Every blocking call is bounded (poll timeouts, socket timeouts, the
 * harness timeout), and the teardown closes, kills and reaps what a test
 * started.
 */
#include <stdarg.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "qt_af.h"

#define DGRAM_MAX	1460	/* the largest datagram we may send */
#define READ_MAX	1500	/* the most one AT+QIRD takes of a datagram */
#define DGRAM_BIG	2000	/* a peer's datagram longer than that */
#define WAIT_MS		5000	/* for a datagram that should come */
#define QUIET_MS	500	/* for one that should not */

/* The client suite, once per command set. */
FIXTURE(udp) {
	struct qt_env e;
};

FIXTURE_VARIANT(udp) {
	const char *dialect;	/* qtsim --dialect */
	bool legacy;
};

FIXTURE_VARIANT_ADD(udp, modern) {
	.dialect = "modern",
	.legacy = false,
};

FIXTURE_VARIANT_ADD(udp, legacy) {
	.dialect = "legacy",
	.legacy = true,
};

FIXTURE_SETUP(udp)
{
	qt_env_setup(&self->e);
}

FIXTURE_TEARDOWN(udp)
{
	qt_env_teardown(_metadata, &self->e);
}

/* Modern only: the legacy set has no UDP services (nor any bind that reaches the modem). */
QT_ENV_FIXTURE(udp_service)

/* A real UDP peer on 127.0.0.1 (tracked); *port 0 picks one, set on return. */
static int peer(struct __test_metadata *_metadata, struct qt_env *e, int *port)
{
	int fd = qn_udp(port);

	ASSERT_LE(0, fd) TH_LOG("UDP socket on 127.0.0.1:%d: %s", *port, strerror(errno));
	return track(e, fd);
}

/* A datagram client connected to 127.0.0.1:port (asserts). */
static int udp_client(struct __test_metadata *_metadata, struct qt_env *e, int port)
{
	int fd = qdgram(_metadata, e, 0), r;

	r = qconnect(e, fd, "127.0.0.1", port);
	ASSERT_EQ(0, r) TH_LOG("connect to 127.0.0.1:%d: %s", port, strerror(-r));
	return fd;
}

/* A datagram service bound to *port (0: automatic); *port the one it got. */
static int udp_service(struct __test_metadata *_metadata, struct qt_env *e, int *port)
{
	int fd = qdgram(_metadata, e, 0), r;

	r = qbind(e, fd, *port);
	ASSERT_EQ(0, r) TH_LOG("bind to port %d: %s", *port, strerror(-r));
	r = qport(fd, false, NULL);
	ASSERT_LT(0, r) TH_LOG("getsockname of a service: %s", strerror(-r));
	if (*port) {
		ASSERT_EQ(*port, r);
	}
	*port = r;
	return fd;
}

/* Datagram seq of stream seed: n pattern bytes, the first four the sequence number. */
static void dgram_fill(uint64_t seed, uint32_t seq, unsigned char *buf, size_t n)
{
	uint32_t be = htonl(seq);

	qn_pattern(seed, (uint64_t)seq << 16, buf, n);
	if (n >= 4)
		memcpy(buf, &be, 4);
}

/* Is buf (n bytes) datagram seq of stream seed, n_want bytes long? */
static bool dgram_is(uint64_t seed, uint32_t seq, size_t n_want, const void *buf, ssize_t n)
{
	unsigned char want[DGRAM_BIG];

	if (n != (ssize_t)n_want || n_want > sizeof(want))
		return false;
	dgram_fill(seed, seq, want, n_want);
	return !memcmp(buf, want, n_want);
}

/* The sequence number a received datagram carries (-1: too short). */
static long dgram_seq(const void *buf, ssize_t n)
{
	uint32_t be;

	if (n < 4)
		return -1;
	memcpy(&be, buf, 4);
	return ntohl(be);
}

/*
 * Receive one datagram from an AF_QUECTEL socket within ms (poll, then
 * MSG_DONTWAIT): recvmsg()'s result or -errno (-ETIME: nothing came).
 * msg_flags and the sender go to *mflags and *from if given.
 */
static ssize_t qrecvmsg(int fd, void *buf, size_t n, int flags, int ms, int *mflags,
			struct sockaddr_qt *from)
{
	struct sockaddr_qt a;
	struct iovec iov = { .iov_base = buf, .iov_len = n };
	struct msghdr mh = {
		.msg_name = &a, .msg_namelen = sizeof(a), .msg_iov = &iov, .msg_iovlen = 1,
	};
	ssize_t r;

	if (!(poll1(fd, POLLIN, ms) & (POLLIN | POLLERR)))
		return -ETIME;
	memset(&a, 0, sizeof(a));
	r = recvmsg(fd, &mh, flags | MSG_DONTWAIT);
	if (r < 0)
		return -errno;
	if (mflags)
		*mflags = mh.msg_flags;
	if (from)
		*from = a;
	return r;
}

static ssize_t qrecv(int fd, void *buf, size_t n, int flags, int ms)
{
	return qrecvmsg(fd, buf, n, flags, ms, NULL, NULL);
}

/*
 * Datagram seq (n bytes) from fd to the peer p, which sends it back to
 * where it came from (its port in *from): NULL, or what went wrong.
 */
static const char *roundtrip(int fd, int p, uint32_t seq, size_t n, int *from)
{
	unsigned char out[DGRAM_MAX], in[DGRAM_MAX + 100];
	ssize_t r;

	dgram_fill(0xd1, seq, out, n);
	if (send(fd, out, n, MSG_NOSIGNAL) != (ssize_t)n)
		return "send failed";
	r = qn_recvfrom(p, in, sizeof(in), WAIT_MS, from);
	if (r < 0)
		return "the peer received nothing";
	if (!dgram_is(0xd1, seq, n, in, r))
		return "the peer received another datagram";
	if (qn_sendto(p, in, r, *from) != r)
		return "the peer's reply failed";
	r = qrecv(fd, in, sizeof(in), 0, WAIT_MS);
	if (r < 0)
		return "the reply did not arrive";
	if (!dgram_is(0xd1, seq, n, in, r))
		return "the reply arrived changed";
	return NULL;
}

/* Round trips of the given sizes, sequence numbers from seq0 (asserts). */
static void roundtrips(struct __test_metadata *_metadata, int fd, int p, uint32_t seq0,
		       const size_t *sizes, int n, int *from)
{
	const char *why;
	int i;

	for (i = 0; i < n; i++) {
		why = roundtrip(fd, p, seq0 + i, sizes[i], from);
		ASSERT_EQ(NULL, why) TH_LOG("datagram %u (%zu bytes): %s", seq0 + i, sizes[i], why);
	}
}

/*
 * The usual start: the modem of dialect up (with a transcript if log), a
 * real peer (*p) and a client connected to it, which one datagram has
 * gone through and back; the client's port, where the peer sends, in
 * *lport. The client, or asserts.
 */
static int udp_up(struct __test_metadata *_metadata, struct qt_env *e, const char *dialect,
		  bool log, int *p, int *lport)
{
	static const size_t first[] = { 10 };
	int pport = 0, c;

	modem_up_dialect(_metadata, e, dialect, NULL, log);
	*p = peer(_metadata, e, &pport);
	c = udp_client(_metadata, e, pport);
	roundtrips(_metadata, c, *p, 0, first, 1, lport);
	return c;
}

/* The peer p sends datagram seq of stream seed (n bytes) to 127.0.0.1:port. */
static void peer_sends(struct __test_metadata *_metadata, int p, uint64_t seed, uint32_t seq,
		       size_t n, int port)
{
	unsigned char d[DGRAM_BIG];

	ASSERT_GE(sizeof(d), n);
	dgram_fill(seed, seq, d, n);
	ASSERT_EQ((ssize_t)n, qn_sendto(p, d, n, port)) TH_LOG("%s", strerror(errno));
}

/* A blocking recv() a signal interrupts below. */
static int recv_any(int fd)
{
	char buf[DGRAM_MAX];

	return recv(fd, buf, sizeof(buf), 0);
}

/*
 * How often the printf-formatted needle occurs in the qtsim transcript,
 * waiting up to WAIT_MS for at least want (qtsim writes its transcript
 * when its loop goes idle).
 */
static int __attribute__((format(printf, 3, 4)))
wire_count(struct qt_env *e, int want, const char *fmt, ...)
{
	char needle[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(needle, sizeof(needle), fmt, ap);
	va_end(ap);
	return log_wait(e, needle, want, WAIT_MS);
}

/* How many "+QIOPEN: <id>,<err>" the module sent so far, for any connectID. */
static int open_errors_now(struct qt_env *e, int err)
{
	char needle[40];
	int id, n = 0;

	for (id = 0; id < NCONN; id++) {
		snprintf(needle, sizeof(needle), "< +QIOPEN: %d,%d\\r", id, err);
		n += log_count(e, needle);
	}
	return n;
}

/* The same, waiting up to WAIT_MS for at least want. */
static int wire_open_errors(struct qt_env *e, int err, int want)
{
	int n;

	QN_WAIT_UNTIL((n = open_errors_now(e, err)) >= want, WAIT_MS, 100);
	return n;
}

/*
 * The next datagram on fd (within WAIT_MS) is bytes [off, off + n) of
 * datagram seq of stream seed (len bytes in all), from 127.0.0.1:pport,
 * not marked MSG_TRUNC; recv(MSG_TRUNC) with a 1-byte buffer reports
 * its length n first (the real length as far as the kernel knows).
 */
static void expect_part(struct __test_metadata *_metadata, int fd, uint64_t seed, uint32_t seq,
			size_t len, size_t off, size_t n, int pport)
{
	unsigned char want[DGRAM_BIG], got[DGRAM_BIG + 100];
	struct sockaddr_qt from;
	int fl = 0;
	ssize_t r;

	dgram_fill(seed, seq, want, len);
	r = qrecvmsg(fd, got, 1, MSG_PEEK | MSG_TRUNC, WAIT_MS, &fl, NULL);
	ASSERT_EQ((ssize_t)n, r) TH_LOG("datagram %u (%zu bytes) from byte %zu: peek says %zd%s",
					seq, len, off, r, r < 0 ? strerror(-r) : " bytes");
	EXPECT_EQ(n > 1 ? MSG_TRUNC : 0, fl & MSG_TRUNC) TH_LOG("1-byte peek: msg_flags 0x%x", fl);

	memset(&from, 0, sizeof(from));
	r = qrecvmsg(fd, got, sizeof(got), 0, WAIT_MS, &fl, &from);
	ASSERT_EQ((ssize_t)n, r) TH_LOG("datagram %u (%zu bytes) from byte %zu: %zd bytes, seq %ld",
					seq, len, off, r, dgram_seq(got, r));
	EXPECT_EQ(0, memcmp(got, want + off, n)) TH_LOG("datagram %u, bytes %zu..%zu differ",
							 seq, off, off + n);
	EXPECT_EQ(0, fl & MSG_TRUNC) TH_LOG("datagram %u: msg_flags 0x%x", seq, fl);
	EXPECT_EQ(pport, ntohs(from.sqt_port)) TH_LOG("datagram %u", seq);
	EXPECT_STREQ("127.0.0.1", from.sqt_host);
}

/*
 * The peer p (on port pport) sends to port what we could not send: an
 * empty datagram before the first and the last of 1, 1460, 1461, 1500,
 * 2000 and 50 bytes, one at a time. docs/SERVERS.md: the module reports
 * no empty datagram, so none is received, and the next one is the 1-byte
 * one, whole; a datagram arrives as one AT+QIRD returns it: whole up to
 * 1500 bytes, a longer one cut at 1500 (without MSG_TRUNC: nothing
 * tells the kernel). What becomes of the rest is the module's choice:
 * qtsim hands it out on the next read, so it arrives as a datagram of its
 * own, the last bytes, from the same sender. The datagrams after keep
 * their boundaries, and nothing else comes.
 */
static void expect_peer_sizes(struct __test_metadata *_metadata, int fd, int p, int port,
			      int pport)
{
	static const size_t sizes[] = { 1, DGRAM_MAX, DGRAM_MAX + 1, READ_MAX, DGRAM_BIG, 50 };
	const int n = sizeof(sizes) / sizeof(sizes[0]);
	unsigned char d[DGRAM_BIG + 100];
	int i;

	for (i = 0; i < n; i++) {
		if (i == 0 || i == n - 1) {
			ASSERT_EQ(0, qn_sendto(p, d, 0, port)) TH_LOG("%s", strerror(errno));
		}
		peer_sends(_metadata, p, 0xe5, i + 1, sizes[i], port);
		if (sizes[i] <= READ_MAX) {
			expect_part(_metadata, fd, 0xe5, i + 1, sizes[i], 0, sizes[i], pport);
			continue;
		}
		expect_part(_metadata, fd, 0xe5, i + 1, sizes[i], 0, READ_MAX, pport);
		expect_part(_metadata, fd, 0xe5, i + 1, sizes[i], READ_MAX, sizes[i] - READ_MAX,
			    pport);
	}
	EXPECT_EQ(-ETIME, qrecv(fd, d, sizeof(d), 0, QUIET_MS)) TH_LOG("one more datagram came");
}

/* =========================== udp: clients, both sets =========================== */

/*
 * A client and a real peer: 1000 datagrams of 1..1460 bytes echoed one at
 * a time, none lost, changed or reordered; all from one local port, the
 * one getsockname() reports (legacy: 0, the set does not report it).
 */
TEST_F_TIMEOUT(udp, client_echo_1000, 120)
{
	uint64_t rnd = 0x1000;
	struct sockaddr_qt a;
	const char *why;
	int pport = 0, p, c, lport, from = 0, i;
	size_t n;

	modem_up_dialect(_metadata, &self->e, variant->dialect, NULL, false);
	p = peer(_metadata, &self->e, &pport);
	c = udp_client(_metadata, &self->e, pport);
	lport = qport(c, false, NULL);
	if (variant->legacy) {
		EXPECT_EQ(0, lport) TH_LOG("getsockname: %s", lport < 0 ? strerror(-lport) : "");
	} else {
		EXPECT_LT(0, lport) TH_LOG("getsockname: %s", strerror(-lport));
	}
	memset(&a, 0, sizeof(a));
	EXPECT_EQ(pport, qport(c, true, &a));
	EXPECT_STREQ("127.0.0.1", a.sqt_host);
	for (i = 0; i < 1000; i++) {
		n = i == 0 ? 1 : i == 1 ? DGRAM_MAX : 1 + qn_rand(&rnd) % DGRAM_MAX;
		why = roundtrip(c, p, i, n, &from);
		ASSERT_EQ(NULL, why) TH_LOG("datagram %d (%zu bytes): %s", i, n, why);
		if (i == 0 && !variant->legacy) {
			EXPECT_EQ(lport, from) TH_LOG("the module sends from port %d", from);
		}
	}
	/* Nothing extra came either way. */
	EXPECT_EQ(-1, qn_recvfrom(p, &from, sizeof(from), QUIET_MS, NULL));
	EXPECT_EQ(-ETIME, qrecv(c, &from, sizeof(from), 0, 0));
}

/*
 * 1 and 1460 bytes go through; 1461 is EMSGSIZE and 0 is EINVAL, and
 * neither puts anything on the wire: the next datagram is the first the
 * peer sees, and the transcript has the client's open and exactly the
 * four AT+QISEND=<id>,<len> (no address: a client) that went, in the
 * set's own words.
 */
TEST_F_TIMEOUT(udp, sizes_and_limits, 60)
{
	static const size_t edges[] = { 1, DGRAM_MAX };
	static const size_t after[] = { 100 };
	unsigned char big[65536];
	int pport, p, c, id, from;

	c = udp_up(_metadata, &self->e, variant->dialect, true, &p, &from);
	pport = qport(c, true, NULL);
	roundtrips(_metadata, c, p, 1, edges, 2, &from);

	memset(big, 0x5a, sizeof(big));
	EXPECT_EQ(-1, send(c, big, DGRAM_MAX + 1, MSG_NOSIGNAL));
	EXPECT_EQ(EMSGSIZE, errno) TH_LOG("1461 bytes: %s", strerror(errno));
	EXPECT_EQ(-1, send(c, big, 65507, MSG_NOSIGNAL));
	EXPECT_EQ(EMSGSIZE, errno) TH_LOG("65507 bytes: %s", strerror(errno));
	EXPECT_EQ(-1, send(c, big, 0, MSG_NOSIGNAL));
	EXPECT_EQ(EINVAL, errno) TH_LOG("0 bytes: %s", strerror(errno));
	EXPECT_EQ(-1, write(c, big, 0));
	EXPECT_EQ(EINVAL, errno) TH_LOG("write of 0 bytes: %s", strerror(errno));

	EXPECT_EQ(-1, qn_recvfrom(p, big, sizeof(big), QUIET_MS, NULL))
		TH_LOG("a refused datagram reached the peer");
	roundtrips(_metadata, c, p, 10, after, 1, &from);
	EXPECT_EQ(0, so_error(c));

	id = sockopt_int(c, SOL_QUECTEL, QT_CONNECT_ID);
	if (variant->legacy) {
		EXPECT_EQ(1, wire_count(&self->e, 1, "> AT+QIOPEN=%d,\"UDP\",\"127.0.0.1\",\"%d\"\\r",
					id, pport));
	} else {
		EXPECT_EQ(1, wire_count(&self->e, 1,
					"> AT+QIOPEN=%d,%d,\"UDP\",\"127.0.0.1\",%d,0,0\\r",
					default_ctx(), id, pport));
	}
	EXPECT_EQ(1, wire_count(&self->e, 1, "> AT+QISEND=%d,1\\r", id));
	EXPECT_EQ(1, wire_count(&self->e, 1, "> AT+QISEND=%d,1460\\r", id));
	/* 10, 1, 1460, 100: the refused ones never reached the modem. */
	EXPECT_EQ(4, wire_count(&self->e, 4, "> AT+QISEND="));
}

/*
 * What a peer sends that we cannot send (empty, longer than 1460 bytes)
 * to a client: see expect_peer_sizes().
 */
TEST_F_TIMEOUT(udp, peer_sizes, 60)
{
	int p, c, lport = 0;

	c = udp_up(_metadata, &self->e, variant->dialect, false, &p, &lport);
	expect_peer_sizes(_metadata, c, p, lport, qport(c, true, NULL));
}

/*
 * A short buffer gets the first bytes and MSG_TRUNC in msg_flags, the
 * rest of that datagram is gone; with the MSG_TRUNC flag recv() returns
 * the real length.
 */
TEST_F_TIMEOUT(udp, msg_trunc, 60)
{
	unsigned char d[DGRAM_MAX], buf[2000];
	int p, c, lport = 0, fl = 0;
	ssize_t r;

	c = udp_up(_metadata, &self->e, variant->dialect, false, &p, &lport);
	peer_sends(_metadata, p, 0x71, 1, 1000, lport);
	peer_sends(_metadata, p, 0x71, 2, 300, lport);
	r = qrecvmsg(c, buf, 100, 0, WAIT_MS, &fl, NULL);
	ASSERT_EQ(100, r) TH_LOG("%s", r < 0 ? strerror(-r) : "length");
	EXPECT_TRUE(fl & MSG_TRUNC) TH_LOG("msg_flags 0x%x", fl);
	dgram_fill(0x71, 1, d, 1000);
	EXPECT_EQ(0, memcmp(buf, d, 100));
	r = qrecvmsg(c, buf, sizeof(buf), 0, WAIT_MS, &fl, NULL);
	EXPECT_TRUE(dgram_is(0x71, 2, 300, buf, r)) TH_LOG("next: %zd bytes, seq %ld", r,
							    dgram_seq(buf, r));
	EXPECT_EQ(0, fl & MSG_TRUNC) TH_LOG("msg_flags 0x%x", fl);

	peer_sends(_metadata, p, 0x71, 3, 800, lport);
	peer_sends(_metadata, p, 0x71, 4, 50, lport);
	r = qrecv(c, buf, 100, MSG_TRUNC, WAIT_MS);
	EXPECT_EQ(800, r) TH_LOG("recv(MSG_TRUNC): %s", r < 0 ? strerror(-r) : "length");
	dgram_fill(0x71, 3, d, 800);
	EXPECT_EQ(0, memcmp(buf, d, 100));
	r = qrecv(c, buf, sizeof(buf), 0, WAIT_MS);
	EXPECT_TRUE(dgram_is(0x71, 4, 50, buf, r)) TH_LOG("next: %zd bytes, seq %ld", r,
							  dgram_seq(buf, r));
}

/* MSG_PEEK leaves the datagram queued, whole, however often. */
TEST_F_TIMEOUT(udp, msg_peek, 60)
{
	unsigned char buf[2000];
	int p, c, lport = 0, fl = 0, i;
	ssize_t r;

	c = udp_up(_metadata, &self->e, variant->dialect, false, &p, &lport);
	peer_sends(_metadata, p, 0x72, 1, 500, lport);
	peer_sends(_metadata, p, 0x72, 2, 200, lport);
	for (i = 0; i < 2; i++) {
		r = qrecv(c, buf, sizeof(buf), MSG_PEEK, WAIT_MS);
		EXPECT_TRUE(dgram_is(0x72, 1, 500, buf, r)) TH_LOG("peek %d: %zd bytes", i, r);
	}
	r = qrecvmsg(c, buf, 100, MSG_PEEK, WAIT_MS, &fl, NULL);
	EXPECT_EQ(100, r);
	EXPECT_TRUE(fl & MSG_TRUNC) TH_LOG("short peek: msg_flags 0x%x", fl);
	r = qrecv(c, buf, sizeof(buf), 0, WAIT_MS);
	EXPECT_TRUE(dgram_is(0x72, 1, 500, buf, r)) TH_LOG("after peeking: %zd bytes", r);
	r = qrecv(c, buf, sizeof(buf), MSG_PEEK, WAIT_MS);
	EXPECT_TRUE(dgram_is(0x72, 2, 200, buf, r)) TH_LOG("second peek: %zd bytes", r);
	r = qrecv(c, buf, sizeof(buf), 0, WAIT_MS);
	EXPECT_TRUE(dgram_is(0x72, 2, 200, buf, r)) TH_LOG("second: %zd bytes", r);
	EXPECT_EQ(-1, recv(c, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno) TH_LOG("%s", strerror(errno));
}

/*
 * Addressing errors of a socket neither bound nor connected and of a
 * client, none of which sends anything: EDESTADDRREQ, ENOTCONN, EISCONN,
 * EINVAL.
 */
TEST_F_TIMEOUT(udp, address_errors, 60)
{
	int pport = 0, p, fresh, c, r;
	struct sockaddr_qt a;
	char b[16];

	modem_up_dialect(_metadata, &self->e, variant->dialect, NULL, false);
	p = peer(_metadata, &self->e, &pport);

	/* Neither bound nor connected. */
	fresh = qdgram(_metadata, &self->e, 0);
	EXPECT_EQ(-1, send(fresh, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EDESTADDRREQ, errno) TH_LOG("send on a fresh socket: %s", strerror(errno));
	EXPECT_EQ(-1, recv(fresh, b, sizeof(b), MSG_DONTWAIT));
	EXPECT_EQ(ENOTCONN, errno) TH_LOG("recv(MSG_DONTWAIT): %s", strerror(errno));
	EXPECT_EQ(-1, recv(fresh, b, sizeof(b), 0));
	EXPECT_EQ(ENOTCONN, errno) TH_LOG("recv: %s", strerror(errno));
	EXPECT_EQ(-ENOTCONN, qport(fresh, true, NULL));
	EXPECT_EQ(0, so_error(fresh));

	/* A client has its one peer. */
	c = udp_client(_metadata, &self->e, pport);
	a = qaddr(&self->e, "127.0.0.1", pport);
	EXPECT_EQ(-1, sendto(c, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&a, sizeof(a)));
	EXPECT_EQ(EISCONN, errno) TH_LOG("sendto on a client: %s", strerror(errno));
	r = qconnect(&self->e, c, "127.0.0.1", pport);
	EXPECT_EQ(-EISCONN, r) TH_LOG("connect twice: %s", strerror(-r));
	r = qbind(&self->e, c, 0);
	EXPECT_EQ(-EINVAL, r) TH_LOG("bind a client: %s", strerror(-r));

	EXPECT_EQ(-1, qn_recvfrom(p, b, sizeof(b), QUIET_MS, NULL)) TH_LOG("the peer got '%c'", b[0]);
	EXPECT_EQ(0, n_sigpipe);
}

/* EAGAIN three ways, EINTR, and POLLIN/POLLOUT as datagrams come and go. */
TEST_F_TIMEOUT(udp, nonblocking_and_poll, 60)
{
	unsigned char buf[200];
	int pport, p, c, fresh, lport = 0, r;
	struct sockaddr_qt from;
	int64_t took;
	short ev;

	c = udp_up(_metadata, &self->e, variant->dialect, false, &p, &lport);
	pport = qport(c, true, NULL);
	fresh = qdgram(_metadata, &self->e, 0);
	ev = poll1(fresh, POLLIN | POLLOUT, 0);
	EXPECT_EQ(POLLOUT, ev & (POLLIN | POLLOUT | POLLERR)) TH_LOG("fresh: revents 0x%x", ev);
	ev = poll1(c, POLLIN | POLLOUT, 0);
	EXPECT_EQ(POLLOUT, ev & (POLLIN | POLLOUT | POLLERR)) TH_LOG("idle: revents 0x%x", ev);

	expect_recv_eagain(_metadata, c);

	r = interrupted(recv_any, c, 300, &took);
	EXPECT_EQ(-EINTR, r) TH_LOG("a signal: %s after %lld ms", strerror(-r), (long long)took);
	EXPECT_GT(3000, took);

	peer_sends(_metadata, p, 0xb1, 1, 100, lport);
	ev = poll_until(c, POLLIN | POLLOUT, POLLIN, WAIT_MS);
	EXPECT_EQ(POLLIN | POLLOUT, ev & (POLLIN | POLLOUT | POLLERR)) TH_LOG("revents 0x%x", ev);
	memset(&from, 0, sizeof(from));
	r = qrecvmsg(c, buf, sizeof(buf), 0, 0, NULL, &from);
	EXPECT_TRUE(dgram_is(0xb1, 1, 100, buf, r)) TH_LOG("%d bytes", r);
	/* A client's sender is its peer. */
	EXPECT_EQ(qt_af(), from.sqt_family);
	EXPECT_EQ(pport, ntohs(from.sqt_port));
	EXPECT_STREQ("127.0.0.1", from.sqt_host);
	ev = poll1(c, POLLIN | POLLOUT, 0);
	EXPECT_EQ(POLLOUT, ev & (POLLIN | POLLOUT | POLLERR)) TH_LOG("drained: revents 0x%x", ev);
}

/*
 * Over a slow link the send queue fills: POLLOUT must then mean that a
 * whole datagram of any size is taken, never a send that fails with
 * EAGAIN (which would make a poll loop spin), and a full queue must not
 * poll writable.
 */
TEST_F_TIMEOUT(udp, pollout_means_room, 90)
{
	static const char *const slow[] = { "--baud", "9600", NULL };
	unsigned char d[DGRAM_MAX];
	int pport = 0, c, sndbuf = 8192, sent = 0, spins = 0, r;
	int64_t end;
	short ev;

	modem_up_dialect(_metadata, &self->e, variant->dialect, slow, false);
	peer(_metadata, &self->e, &pport);	/* where the datagrams go */
	c = udp_client(_metadata, &self->e, pport);
	ASSERT_EQ(0, setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)));
	memset(d, 0x5a, sizeof(d));
	/* Fill it: non-blocking sends until EAGAIN. */
	while ((r = send(c, d, DGRAM_MAX, MSG_DONTWAIT)) == DGRAM_MAX)
		sent++;
	ASSERT_EQ(-1, r);
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_LT(0, sent);
	ev = poll1(c, POLLOUT, 0);
	EXPECT_EQ(0, ev & POLLOUT) TH_LOG("full queue polls writable");
	/* For 3 s: every POLLOUT is followed by a send that succeeds. */
	end = qn_now_ms() + 3000;
	while (qn_now_ms() < end) {
		ev = poll1(c, POLLOUT, 200);
		if (!(ev & POLLOUT))
			continue;
		r = send(c, d, DGRAM_MAX, MSG_DONTWAIT);
		if (r < 0 && errno == EAGAIN)
			spins++;
		else
			EXPECT_EQ(DGRAM_MAX, r) TH_LOG("%s", strerror(errno));
	}
	EXPECT_EQ(0, spins) TH_LOG("POLLOUT then EAGAIN %d times", spins);
}

/*
 * A non-blocking connect: EINPROGRESS (a second connect: EISCONN), then
 * POLLOUT and a working client; the module's refusal shows in SO_ERROR
 * (modern: error 552, bad parameters, is EINVAL; legacy: CONNECT FAIL is
 * ECONNREFUSED).
 */
TEST_F_TIMEOUT(udp, nonblocking_connect, 60)
{
	static const size_t one[] = { 200 };
	int want = variant->legacy ? ECONNREFUSED : EINVAL;
	int pport = 0, p, c, from, r, err;
	short ev;

	modem_up_dialect(_metadata, &self->e, variant->dialect, NULL, false);
	p = peer(_metadata, &self->e, &pport);
	c = qdgram(_metadata, &self->e, SOCK_NONBLOCK);
	ctl(_metadata, &self->e, "delay 500");
	r = qconnect(&self->e, c, "127.0.0.1", pport);
	EXPECT_EQ(-EINPROGRESS, r) TH_LOG("%s", strerror(-r));
	r = qconnect(&self->e, c, "127.0.0.1", pport);
	EXPECT_EQ(-EISCONN, r) TH_LOG("connect while connecting: %s", strerror(-r));
	ctl(_metadata, &self->e, "delay 0");
	ev = poll_until(c, POLLOUT, POLLOUT, 10000);
	EXPECT_EQ(POLLOUT, ev & (POLLOUT | POLLERR)) TH_LOG("revents 0x%x", ev);
	EXPECT_EQ(0, so_error(c));
	ASSERT_EQ(0, fcntl(c, F_SETFL, 0));
	roundtrips(_metadata, c, p, 0, one, 1, &from);

	c = qdgram(_metadata, &self->e, SOCK_NONBLOCK);
	ctl(_metadata, &self->e, "fail-open 552");
	r = qconnect(&self->e, c, "127.0.0.1", pport);
	EXPECT_EQ(-EINPROGRESS, r) TH_LOG("%s", strerror(-r));
	ev = poll_until(c, POLLOUT, POLLERR, 10000);
	EXPECT_EQ(POLLOUT | POLLERR, ev & (POLLOUT | POLLERR)) TH_LOG("revents 0x%x", ev);
	err = so_error(c);
	EXPECT_EQ(want, err) TH_LOG("SO_ERROR: %s", strerror(err));
}

/*
 * SEND FAIL (the module's buffer is full) three times: the same datagram
 * is sent again after a back-off and arrives once, intact.
 */
TEST_F_TIMEOUT(udp, send_fail_retried, 60)
{
	static const size_t after[] = { 700 };
	unsigned char d[DGRAM_MAX], buf[2000];
	int p, c, from = 0;
	ssize_t r;

	c = udp_up(_metadata, &self->e, variant->dialect, false, &p, &from);
	ctl(_metadata, &self->e, "send-fail 3");
	dgram_fill(0xd1, 1, d, 1000);
	ASSERT_EQ(1000, send(c, d, 1000, MSG_NOSIGNAL)) TH_LOG("%s", strerror(errno));
	r = qn_recvfrom(p, buf, sizeof(buf), 10000, NULL);
	EXPECT_TRUE(dgram_is(0xd1, 1, 1000, buf, r)) TH_LOG("%zd bytes", r);
	EXPECT_EQ(-1, qn_recvfrom(p, buf, sizeof(buf), 1500, NULL)) TH_LOG("sent twice");
	roundtrips(_metadata, c, p, 2, after, 1, &from);
}

/* socat as the peer: it echoes what a client sends (UDP4-LISTEN ... PIPE). */
TEST_F_TIMEOUT(udp, socat_echo, 60)
{
	static const size_t sizes[] = { 1, 2, 100, 512, 1000, 1459, 1460, 7, 1460, 333 };
	char listen_arg[96];
	const char *argv[] = { "socat", "-T", "30", listen_arg, "PIPE", NULL };
	int port = qn_free_port_of(SOCK_DGRAM), c, i, ok;
	siginfo_t si = { 0 };

	if (!have_socat())
		SKIP(return, "socat is not installed (make deps installs it)");
	ASSERT_LT(0, port);
	snprintf(listen_arg, sizeof(listen_arg), "UDP4-LISTEN:%d,bind=127.0.0.1", port);
	self->e.socat = qn_spawn(argv);
	ASSERT_LT(0, self->e.socat);
	modem_up_dialect(_metadata, &self->e, variant->dialect, NULL, false);
	/* A debug kernel takes its time to start a program over 9p. */
	ok = qn_wait_port(qn_is_udp_bound, port, 20000);
	waitid(P_PID, self->e.socat, &si, WEXITED | WNOHANG | WNOWAIT);
	ASSERT_TRUE(ok) TH_LOG("socat does not listen on UDP port %d (socat %s)", port,
			       si.si_pid ? "exited" : "still runs");

	c = udp_client(_metadata, &self->e, port);
	for (i = 0; i < (int)(sizeof(sizes) / sizeof(sizes[0])); i++) {
		unsigned char out[DGRAM_MAX], in[2000];
		ssize_t r;

		dgram_fill(0xc1, i, out, sizes[i]);
		ASSERT_EQ((ssize_t)sizes[i], send(c, out, sizes[i], MSG_NOSIGNAL))
			TH_LOG("%s", strerror(errno));
		r = qrecv(c, in, sizeof(in), 0, WAIT_MS);
		ASSERT_TRUE(dgram_is(0xc1, i, sizes[i], in, r))
			TH_LOG("datagram %d (%zu bytes): got %zd", i, sizes[i], r);
	}
}

/*
 * The context is lost ("pdpdeact", legacy "+PDP DEACT"): a blocked
 * recv() returns ENETDOWN; a datagram already queued is still read
 * first, then ENETDOWN once, then 0; POLLERR and SO_ERROR report it;
 * sends fail with EPIPE.
 */
TEST_F_TIMEOUT(udp, context_lost, 60)
{
	unsigned char buf[200];
	int pport, p, c, c2, c3, lport = 0, err;
	short ev;
	ssize_t r;

	c = udp_up(_metadata, &self->e, variant->dialect, false, &p, &lport);
	pport = qport(c, true, NULL);
	c2 = udp_client(_metadata, &self->e, pport);
	c3 = udp_client(_metadata, &self->e, pport);
	peer_sends(_metadata, p, 0xe1, 1, 100, lport);
	ASSERT_EQ(POLLIN, poll_until(c, POLLIN, POLLIN, WAIT_MS) & POLLIN);

	expect_unblocked(_metadata, &self->e, c3, BLOCKED_RECV, pdpdeact_cmd(), ENETDOWN);

	/* What was queued, then the error once, then nothing. */
	r = recv(c, buf, sizeof(buf), MSG_DONTWAIT);
	EXPECT_TRUE(dgram_is(0xe1, 1, 100, buf, r)) TH_LOG("%zd bytes: %s", r,
							    r < 0 ? strerror(errno) : "");
	EXPECT_EQ(-1, recv(c, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(ENETDOWN, errno) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, recv(c, buf, sizeof(buf), MSG_DONTWAIT)) TH_LOG("%s", strerror(errno));

	ev = poll_until(c2, POLLIN | POLLOUT, POLLERR, 5000);
	EXPECT_EQ(POLLERR, ev & POLLERR) TH_LOG("revents 0x%x", ev);
	err = so_error(c2);
	EXPECT_EQ(ENETDOWN, err) TH_LOG("SO_ERROR: %s", strerror(err));
	EXPECT_EQ(0, so_error(c2));
	EXPECT_EQ(-1, send(c2, "after", 5, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, n_sigpipe);
}

/* =========================== udp_service: modern only =========================== */

/*
 * A service on an automatic port and two real peers: recvfrom() names
 * each sender (sockaddr_qt, "127.0.0.1", its port), sendto() answers
 * each, and each peer gets exactly its own replies, in order. On the
 * wire: the service opened as "UDP SERVICE" on its port, each read named
 * its sender, and each reply was AT+QISEND=<id>,<len>,"<ip>",<port> to
 * the right peer.
 */
TEST_F_TIMEOUT(udp_service, two_peers, 60)
{
	int port = 0, s, sid, pp[2] = { 0, 0 }, p[2], i, k, who, fromport;
	unsigned char d[DGRAM_MAX], buf[2000];
	struct sockaddr_qt from;
	long seq;
	ssize_t r;

	modem_up(_metadata, &self->e, NULL, true);
	s = udp_service(_metadata, &self->e, &port);
	EXPECT_LE(49152, port);
	EXPECT_TRUE(qn_is_udp_bound(port)) TH_LOG("no UDP socket on 127.0.0.1:%d", port);
	sid = sockopt_int(s, SOL_QUECTEL, QT_CONNECT_ID);
	ASSERT_TRUE(sid >= 0 && sid < NCONN) TH_LOG("connectID %d", sid);
	for (k = 0; k < 2; k++)
		p[k] = peer(_metadata, &self->e, &pp[k]);

	/* Peer k sends sequence numbers 100 * k + i; the service answers each. */
	for (i = 0; i < 5; i++) {
		for (k = 0; k < 2; k++) {
			dgram_fill(0x81, 100 * k + i, d, 10 + 300 * i);
			ASSERT_EQ(10 + 300 * i, qn_sendto(p[k], d, 10 + 300 * i, port));
		}
		for (k = 0; k < 2; k++) {
			memset(&from, 0, sizeof(from));
			r = qrecvmsg(s, buf, sizeof(buf), 0, WAIT_MS, NULL, &from);
			ASSERT_LT(0, r) TH_LOG("round %d: %s", i, strerror(-r));
			seq = dgram_seq(buf, r);
			who = seq >= 100;
			EXPECT_TRUE(dgram_is(0x81, seq, 10 + 300 * i, buf, r))
				TH_LOG("round %d: %zd bytes, seq %ld", i, r, seq);
			EXPECT_EQ(qt_af(), from.sqt_family);
			EXPECT_STREQ("127.0.0.1", from.sqt_host);
			fromport = ntohs(from.sqt_port);
			EXPECT_EQ(pp[who], fromport) TH_LOG("seq %ld from port %d", seq, fromport);
			dgram_fill(0x82, seq, d, 64);
			EXPECT_EQ(64, sendto(s, d, 64, MSG_NOSIGNAL, (struct sockaddr *)&from,
					     sizeof(from))) TH_LOG("sendto: %s", strerror(errno));
		}
	}
	for (k = 0; k < 2; k++) {
		for (i = 0; i < 5; i++) {
			r = qn_recvfrom(p[k], buf, sizeof(buf), WAIT_MS, &fromport);
			EXPECT_TRUE(dgram_is(0x82, 100 * k + i, 64, buf, r))
				TH_LOG("peer %d, reply %d: %zd bytes, seq %ld", k, i, r,
				       dgram_seq(buf, r));
			EXPECT_EQ(port, fromport);
		}
		EXPECT_EQ(-1, qn_recvfrom(p[k], buf, sizeof(buf), QUIET_MS, NULL))
			TH_LOG("peer %d got more", k);
	}
	/* A service has no peer. */
	EXPECT_EQ(-ENOTCONN, qport(s, true, NULL));

	EXPECT_EQ(1, wire_count(&self->e, 1,
				"> AT+QIOPEN=%d,%d,\"UDP SERVICE\",\"127.0.0.1\",0,%d,0\\r",
				default_ctx(), sid, port));
	for (k = 0; k < 2; k++) {
		for (i = 0; i < 5; i++)
			EXPECT_EQ(1, wire_count(&self->e, 1, "< +QIRD: %d,\"127.0.0.1\",%d\\r\\n",
						10 + 300 * i, pp[k])) TH_LOG("peer %d, %d", k, i);
		EXPECT_EQ(5, wire_count(&self->e, 5, "> AT+QISEND=%d,64,\"127.0.0.1\",%d\\r",
					sid, pp[k])) TH_LOG("replies to peer %d", k);
	}
	EXPECT_EQ(10, wire_count(&self->e, 10, "> AT+QISEND="));
}

/* A service on a port of our choosing; sockaddr_in works for sendto(). */
TEST_F_TIMEOUT(udp_service, fixed_port, 60)
{
	int want = qn_free_port_of(SOCK_DGRAM), port, s, pport = 0, p, fromport = 0;
	unsigned char d[100], buf[200];
	struct sockaddr_in sin = { .sin_family = AF_INET };
	ssize_t r;

	ASSERT_LT(0, want);
	port = want;
	modem_up(_metadata, &self->e, NULL, false);
	s = udp_service(_metadata, &self->e, &port);
	EXPECT_EQ(want, port);
	EXPECT_TRUE(qn_is_udp_bound(port)) TH_LOG("no UDP socket on 127.0.0.1:%d", port);
	p = peer(_metadata, &self->e, &pport);
	dgram_fill(0x91, 1, d, sizeof(d));
	ASSERT_EQ((ssize_t)sizeof(d), qn_sendto(p, d, sizeof(d), port));
	r = qrecv(s, buf, sizeof(buf), 0, WAIT_MS);
	EXPECT_TRUE(dgram_is(0x91, 1, sizeof(d), buf, r)) TH_LOG("%zd bytes", r);
	if (self->e.modem == 0) {
		/* sockaddr_in means modem 0. */
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons(pport);
		dgram_fill(0x91, 2, d, sizeof(d));
		EXPECT_EQ((ssize_t)sizeof(d), sendto(s, d, sizeof(d), MSG_NOSIGNAL,
						     (struct sockaddr *)&sin, sizeof(sin)))
			TH_LOG("sendto sockaddr_in: %s", strerror(errno));
		r = qn_recvfrom(p, buf, sizeof(buf), WAIT_MS, &fromport);
		EXPECT_TRUE(dgram_is(0x91, 2, sizeof(d), buf, r)) TH_LOG("%zd bytes", r);
		EXPECT_EQ(port, fromport);
	}
}

/*
 * A service's sendto() of 1461 bytes is EMSGSIZE and of 0 bytes EINVAL,
 * and neither reaches the peer: the next datagram is the first it sees.
 */
TEST_F_TIMEOUT(udp_service, sizes_and_limits, 60)
{
	unsigned char big[DGRAM_MAX + 1];
	int pport = 0, p, s, sport = 0, fromport = 0;
	struct sockaddr_qt a;
	ssize_t r;

	modem_up(_metadata, &self->e, NULL, false);
	p = peer(_metadata, &self->e, &pport);
	s = udp_service(_metadata, &self->e, &sport);
	a = qaddr(&self->e, "127.0.0.1", pport);
	memset(big, 0x5a, sizeof(big));
	EXPECT_EQ(-1, sendto(s, big, DGRAM_MAX + 1, MSG_NOSIGNAL, (struct sockaddr *)&a,
			     sizeof(a)));
	EXPECT_EQ(EMSGSIZE, errno) TH_LOG("service, 1461 bytes: %s", strerror(errno));
	EXPECT_EQ(-1, sendto(s, big, 0, MSG_NOSIGNAL, (struct sockaddr *)&a, sizeof(a)));
	EXPECT_EQ(EINVAL, errno) TH_LOG("service, 0 bytes: %s", strerror(errno));
	EXPECT_EQ(-1, qn_recvfrom(p, big, sizeof(big), QUIET_MS, NULL))
		TH_LOG("a refused datagram reached the peer");

	dgram_fill(0x92, 1, big, DGRAM_MAX);
	EXPECT_EQ(DGRAM_MAX, sendto(s, big, DGRAM_MAX, MSG_NOSIGNAL, (struct sockaddr *)&a,
				    sizeof(a))) TH_LOG("%s", strerror(errno));
	r = qn_recvfrom(p, big, sizeof(big), WAIT_MS, &fromport);
	EXPECT_TRUE(dgram_is(0x92, 1, DGRAM_MAX, big, r)) TH_LOG("%zd bytes", r);
	EXPECT_EQ(sport, fromport);
}

/*
 * What a peer sends that we cannot send (empty, longer than 1460 bytes)
 * to a service, each datagram named with its sender: see
 * expect_peer_sizes().
 */
TEST_F_TIMEOUT(udp_service, peer_sizes, 60)
{
	int port = 0, s, pport = 0, p;

	modem_up(_metadata, &self->e, NULL, false);
	s = udp_service(_metadata, &self->e, &port);
	p = peer(_metadata, &self->e, &pport);
	expect_peer_sizes(_metadata, s, p, port, pport);
}

/*
 * A service's addressing errors, none of which sends anything:
 * EDESTADDRREQ without an address, EINVAL for a name, port 0 or a bad
 * host, EISCONN for connect().
 */
TEST_F_TIMEOUT(udp_service, address_errors, 60)
{
	int pport = 0, p, s, sport = 0, r;
	struct sockaddr_qt a;
	char b[16];

	modem_up(_metadata, &self->e, NULL, false);
	p = peer(_metadata, &self->e, &pport);
	s = udp_service(_metadata, &self->e, &sport);
	EXPECT_EQ(-1, send(s, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EDESTADDRREQ, errno) TH_LOG("send on a service: %s", strerror(errno));
	EXPECT_EQ(-1, write(s, "x", 1));
	EXPECT_EQ(EDESTADDRREQ, errno) TH_LOG("write on a service: %s", strerror(errno));
	a = qaddr(&self->e, "localhost", pport);
	EXPECT_EQ(-1, sendto(s, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&a, sizeof(a)));
	EXPECT_EQ(EINVAL, errno) TH_LOG("sendto a name: %s", strerror(errno));
	a = qaddr(&self->e, "127.0.0.1", 0);
	EXPECT_EQ(-1, sendto(s, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&a, sizeof(a)));
	EXPECT_EQ(EINVAL, errno) TH_LOG("sendto port 0: %s", strerror(errno));
	a = qaddr(&self->e, "127.0.0.1\r\nAT", pport);
	EXPECT_EQ(-1, sendto(s, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&a, sizeof(a)));
	EXPECT_EQ(EINVAL, errno) TH_LOG("sendto a bad host: %s", strerror(errno));
	r = qconnect(&self->e, s, "127.0.0.1", pport);
	EXPECT_EQ(-EISCONN, r) TH_LOG("connect on a service: %s", strerror(-r));

	EXPECT_EQ(-1, qn_recvfrom(p, b, sizeof(b), QUIET_MS, NULL)) TH_LOG("the peer got '%c'", b[0]);
	EXPECT_EQ(0, n_sigpipe);
}

/*
 * sendto() on a socket neither bound nor connected binds it to an
 * automatic port first: getsockname() reports the port the peer saw,
 * and a reply to that port arrives.
 */
TEST_F_TIMEOUT(udp_service, autobind_on_sendto, 60)
{
	unsigned char d[100], buf[200];
	struct sockaddr_qt a, from;
	int pport = 0, p, s, fromport = 0, lport;
	ssize_t r;

	modem_up(_metadata, &self->e, NULL, false);
	p = peer(_metadata, &self->e, &pport);
	s = qdgram(_metadata, &self->e, 0);
	a = qaddr(&self->e, "127.0.0.1", pport);
	dgram_fill(0xa1, 1, d, 50);
	ASSERT_EQ(50, sendto(s, d, 50, MSG_NOSIGNAL, (struct sockaddr *)&a, sizeof(a)))
		TH_LOG("%s", strerror(errno));
	r = qn_recvfrom(p, buf, sizeof(buf), WAIT_MS, &fromport);
	EXPECT_TRUE(dgram_is(0xa1, 1, 50, buf, r)) TH_LOG("%zd bytes", r);
	lport = qport(s, false, NULL);
	EXPECT_LT(0, lport) TH_LOG("getsockname: %s", strerror(-lport));
	EXPECT_EQ(fromport, lport);

	dgram_fill(0xa1, 2, d, 70);
	ASSERT_EQ(70, qn_sendto(p, d, 70, fromport));
	memset(&from, 0, sizeof(from));
	r = qrecvmsg(s, buf, sizeof(buf), 0, WAIT_MS, NULL, &from);
	EXPECT_TRUE(dgram_is(0xa1, 2, 70, buf, r)) TH_LOG("%zd bytes", r);
	EXPECT_EQ(pport, ntohs(from.sqt_port));
	EXPECT_STREQ("127.0.0.1", from.sqt_host);
	/* Bound now: a second sendto uses the same port. */
	dgram_fill(0xa1, 3, d, 30);
	ASSERT_EQ(30, sendto(s, d, 30, MSG_NOSIGNAL, (struct sockaddr *)&a, sizeof(a)));
	r = qn_recvfrom(p, buf, sizeof(buf), WAIT_MS, &fromport);
	EXPECT_TRUE(dgram_is(0xa1, 3, 30, buf, r)) TH_LOG("%zd bytes", r);
	EXPECT_EQ(lport, fromport);
}

/* bind() addresses: the errors of the table, then "any address" in each form. */
TEST_F_TIMEOUT(udp_service, bind_addresses, 60)
{
	modem_up(_metadata, &self->e, NULL, true);
	check_bind_addresses(_metadata, &self->e, SOCK_DGRAM);
}

/* A modem still in bring-up: bind() (which opens the service) gets ENETDOWN. */
TEST_F(udp_service, bind_not_ready)
{
	int fd, r;

	modem_hung(_metadata, &self->e);
	fd = qdgram(_metadata, &self->e, 0);
	r = qbind(&self->e, fd, 0);
	EXPECT_EQ(-ENETDOWN, r) TH_LOG("%s", strerror(-r));
}

/* Ports below 1024 need CAP_NET_BIND_SERVICE: EACCES for "nobody". */
TEST_F_TIMEOUT(udp_service, unprivileged_low_port, 60)
{
	int fd, r;

	modem_up(_metadata, &self->e, NULL, false);
	EXPECT_EQ(EACCES, bind_unprivileged(&self->e, SOCK_DGRAM, 80));
	EXPECT_EQ(EACCES, bind_unprivileged(&self->e, SOCK_DGRAM, 1023));
	/* Not a refusal of everything: a high port is fine. */
	EXPECT_EQ(0, bind_unprivileged(&self->e, SOCK_DGRAM, qn_free_port_of(SOCK_DGRAM)));
	/* And root may bind a low port. */
	fd = qdgram(_metadata, &self->e, 0);
	r = qbind(&self->e, fd, 1023);
	EXPECT_EQ(0, r) TH_LOG("root, port 1023: %s", strerror(-r));
}

/*
 * A port a real UDP socket holds: EADDRINUSE, because the module said
 * 573 (on the wire, once: a port asked for is not retried). A port
 * another AF_QUECTEL datagram socket holds: EADDRINUSE, until it is
 * closed; a stream socket may share it.
 */
TEST_F_TIMEOUT(udp_service, port_in_use, 60)
{
	int real = 0, p2 = qn_free_port_of(SOCK_DGRAM), d, a, b, st, r;

	modem_up(_metadata, &self->e, NULL, true);
	peer(_metadata, &self->e, &real);
	d = qdgram(_metadata, &self->e, 0);
	r = qbind(&self->e, d, real);
	EXPECT_EQ(-EADDRINUSE, r) TH_LOG("a real socket's port: %s", strerror(-r));
	EXPECT_EQ(1, wire_open_errors(&self->e, 573, 1)) TH_LOG("+QIOPEN: <id>,573 on the wire");

	a = qdgram(_metadata, &self->e, 0);
	b = qdgram(_metadata, &self->e, 0);
	r = qbind(&self->e, a, p2);
	ASSERT_EQ(0, r) TH_LOG("bind: %s", strerror(-r));
	r = qbind(&self->e, b, p2);
	EXPECT_EQ(-EADDRINUSE, r) TH_LOG("second bind: %s", strerror(-r));
	r = qbind(&self->e, a, p2 == 65535 ? 65534 : p2 + 1);
	EXPECT_EQ(-EINVAL, r) TH_LOG("bind a bound socket: %s", strerror(-r));
	st = qsock(_metadata, &self->e, 0);
	r = qbind(&self->e, st, p2);
	EXPECT_EQ(0, r) TH_LOG("a stream socket on a datagram socket's port: %s", strerror(-r));

	untrack_close(&self->e, a);
	r = bind_retrying(&self->e, b, p2, 10000);
	EXPECT_EQ(0, r) TH_LOG("bind after the holder closed: %s", strerror(-r));
	/* Those were our own refusals: the module refused nothing more. */
	EXPECT_EQ(1, wire_open_errors(&self->e, 573, 1));
}

/*
 * The context is lost ("pdpdeact"): a service blocked in recv() returns
 * ENETDOWN, another service sees POLLERR and SO_ERROR; sendto() fails
 * with EPIPE.
 */
TEST_F_TIMEOUT(udp_service, context_lost, 60)
{
	int pport = 0, s, s2, port = 0, port2 = 0, err;
	struct sockaddr_qt a;
	short ev;

	modem_up(_metadata, &self->e, NULL, false);
	peer(_metadata, &self->e, &pport);
	s = udp_service(_metadata, &self->e, &port);
	s2 = udp_service(_metadata, &self->e, &port2);

	expect_unblocked(_metadata, &self->e, s, BLOCKED_RECV, pdpdeact_cmd(), ENETDOWN);

	ev = poll_until(s2, POLLIN | POLLOUT, POLLERR, 5000);
	EXPECT_EQ(POLLERR, ev & POLLERR) TH_LOG("revents 0x%x", ev);
	err = so_error(s2);
	EXPECT_EQ(ENETDOWN, err) TH_LOG("SO_ERROR: %s", strerror(err));
	a = qaddr(&self->e, "127.0.0.1", pport);
	EXPECT_EQ(-1, sendto(s, "after", 5, MSG_NOSIGNAL, (struct sockaddr *)&a, sizeof(a)));
	EXPECT_EQ(EPIPE, errno) TH_LOG("service: %s", strerror(errno));
	EXPECT_EQ(-1, sendto(s2, "after", 5, MSG_NOSIGNAL, (struct sockaddr *)&a, sizeof(a)));
	EXPECT_EQ(EPIPE, errno) TH_LOG("second service: %s", strerror(errno));
	EXPECT_EQ(0, n_sigpipe);
}

TEST_HARNESS_MAIN
