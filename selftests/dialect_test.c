// SPDX-License-Identifier: GPL-2.0
/*
 * The client socket suite of both command sets: every case of the
 * "dialect" fixture runs once against qtsim's modern dialect (an EC25)
 * and once against its legacy one (an M95), through the same AF_QUECTEL
 * calls: 1 MiB hash-checked echo, every connection of the modem at once
 * and the one too many, refusals (CONNECT FAIL, injected or real), names
 * the modem resolves, UDP clients, the peer's close, the network taking
 * the context, detach in the middle of a transfer, and what each dialect
 * refuses (servers, other access modes, other contexts on the legacy one).
 *
 * The "legacy" fixture checks what only the legacy set has, on the wire
 * (the qtsim transcript): bring-up in the note's order, the context's
 * QICSGP/QIREGAPP/QIACT/QILOCIP, ALREADY CONNECT, CONNECT FAIL resolved
 * through AT+QISTAT, the unacknowledged bytes kept under 3000 with a
 * peer that stops reading (and nothing lost once it reads again), and
 * the dialect parameter forcing the command set.
 *
 * Every test starts its own qtsim on a pty; peers are real sockets on
 * 127.0.0.1. Every blocking call is bounded (socket timeouts, timed
 * waits, the harness timeout) and the teardown reaps what a test started.
 */
#include "kselftest_harness.h"
#include "qt_af.h"
#include "qt_prog.h"

#define LEGACY_CONNS	6		/* AT+QIMUX=1: indexes 0..5 */
#define UNACKED_MAX	3000		/* the legacy note's flow control */
#define DGRAM_MAX	1460

FIXTURE(dialect) {
	struct qt_env e;
};

FIXTURE_VARIANT(dialect) {
	const char *name;	/* qtsim --dialect */
	bool legacy;
	int conns;		/* connections the modem serves at once */
};

FIXTURE_VARIANT_ADD(dialect, modern) {
	.name = "modern",
	.legacy = false,
	.conns = NCONN,
};

FIXTURE_VARIANT_ADD(dialect, legacy) {
	.name = "legacy",
	.legacy = true,
	.conns = LEGACY_CONNS,
};

FIXTURE_SETUP(dialect)
{
	qt_env_setup(&self->e);
}

FIXTURE_TEARDOWN(dialect)
{
	qt_env_teardown(_metadata, &self->e);
}

/* The variant's qtsim, ready, with a transcript if log. */
static void dialect_up(struct __test_metadata *_metadata, struct qt_env *e,
		       const char *name, bool log)
{
	const char *opts[] = { "--dialect", name, NULL };

	modem_up(_metadata, e, opts, log);
}

/* A new connected stream socket to 127.0.0.1:port, or -errno. */
static int try_connect(struct __test_metadata *_metadata, struct qt_env *e,
		       const char *host, int port)
{
	int fd = qsock(_metadata, e, 0);
	int r = qconnect(e, fd, host, port);

	if (r) {
		untrack_close(e, fd);
		return r;
	}
	return fd;
}

/*
 * A connected stream socket and, through *@pfd, the real peer that
 * accepted it (a receive buffer of @rcvbuf if > 0: one that fills fast).
 */
static int connected_pair(struct __test_metadata *_metadata, struct qt_env *e,
			  int rcvbuf, int *pfd)
{
	int port = 0, lfd, fd;

	lfd = track(e, qn_listen(AF_INET, &port, rcvbuf));
	ASSERT_LE(0, lfd);
	fd = try_connect(_metadata, e, "127.0.0.1", port);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", strerror(-fd));
	*pfd = track(e, qn_accept(lfd, 5000, NULL));
	ASSERT_LE(0, *pfd);
	return fd;
}

/* The modem still connects and carries data after whatever came before. */
static void still_usable(struct __test_metadata *_metadata, struct qt_env *e, uint64_t seed)
{
	int fd = try_connect(_metadata, e, "127.0.0.1", e->echo.port);

	ASSERT_LE(0, fd) TH_LOG("connect afterwards: %s", strerror(-fd));
	EXPECT_EQ(0, echo_roundtrip(fd, seed, 3000));
	untrack_close(e, fd);
}

/* The modem names its dialect and its model in /proc/net/quectel_modem. */
TEST_F_TIMEOUT(dialect, identified, 60)
{
	char want[32];

	dialect_up(_metadata, &self->e, variant->name, false);
	snprintf(want, sizeof(want), " dialect=%s ", variant->name);
	EXPECT_NE(NULL, strstr(self->e.line, want)) TH_LOG("modem: %s", self->e.line);
	EXPECT_NE(NULL, strstr(self->e.line, variant->legacy ? " model=M95 " : " model=EC25 "))
		TH_LOG("modem: %s", self->e.line);
}

/* 1 MiB of random bytes each way through one socket, hash-checked. */
TEST_F_TIMEOUT(dialect, echo_1mib, 150)
{
	struct xfer *x;
	int fd;

	dialect_up(_metadata, &self->e, variant->name, false);
	echo_up(_metadata, &self->e);
	fd = qconnected(_metadata, &self->e, self->e.echo.port);
	x = xfer_start(fd, MIB, 0x4411);
	echo_finish(_metadata, &self->e, x, 130000);
}

/*
 * Every connection the modem has, at once, each moving 64 KiB both ways;
 * the one after them gets EADDRNOTAVAIL, and nothing was disturbed.
 */
TEST_F_TIMEOUT(dialect, all_connections, 180)
{
	struct xfer *xs[NCONN];
	int fds[NCONN], i, r, extra;

	dialect_up(_metadata, &self->e, variant->name, false);
	echo_up(_metadata, &self->e);
	for (i = 0; i < variant->conns; i++)
		fds[i] = qconnected(_metadata, &self->e, self->e.echo.port);
	extra = qsock(_metadata, &self->e, 0);
	r = qconnect(&self->e, extra, "127.0.0.1", self->e.echo.port);
	EXPECT_EQ(-EADDRNOTAVAIL, r) TH_LOG("connection %d: %s", variant->conns + 1,
					    strerror(-r));
	for (i = 0; i < variant->conns; i++)
		xs[i] = xfer_start(fds[i], 64 * KIB, 0x5500 + i);
	ASSERT_EQ(0, xfer_wait(xs, variant->conns, qn_now_ms() + 150000));
	for (i = 0; i < variant->conns; i++) {
		xfer_check(_metadata, xs[i], i);
		free(xs[i]);
	}
}

/* A port nobody listens on: ECONNREFUSED, and the next connect works. */
TEST_F_TIMEOUT(dialect, refused_then_again, 60)
{
	int port, fd;

	dialect_up(_metadata, &self->e, variant->name, true);
	echo_up(_metadata, &self->e);
	ASSERT_LE(0, track(&self->e, qn_closed_port(&port)));
	fd = try_connect(_metadata, &self->e, "127.0.0.1", port);
	EXPECT_EQ(-ECONNREFUSED, fd) TH_LOG("%s", strerror(-fd));
	if (variant->legacy)
		/* The note: after CONNECT FAIL, AT+QISTAT says what to close. */
		EXPECT_LE(1, log_wait(&self->e, "> AT+QISTAT\\r", 1, 3000));
	still_usable(_metadata, &self->e, 61);
}

/* The module refuses the connect itself (fail-open): ECONNREFUSED. */
TEST_F_TIMEOUT(dialect, module_refuses, 60)
{
	int fd;

	dialect_up(_metadata, &self->e, variant->name, false);
	echo_up(_metadata, &self->e);
	ctl(_metadata, &self->e, "fail-open 566");
	fd = try_connect(_metadata, &self->e, "127.0.0.1", self->e.echo.port);
	EXPECT_EQ(-ECONNREFUSED, fd) TH_LOG("%s", strerror(-fd));
	still_usable(_metadata, &self->e, 62);
}

/* A host name is resolved by the modem (legacy: AT+QIDNSIP=1). */
TEST_F_TIMEOUT(dialect, by_name, 60)
{
	int fd;

	dialect_up(_metadata, &self->e, variant->name, true);
	echo_up(_metadata, &self->e);
	fd = try_connect(_metadata, &self->e, "localhost", self->e.echo.port);
	ASSERT_LE(0, fd) TH_LOG("connect to localhost: %s", strerror(-fd));
	EXPECT_EQ(0, echo_roundtrip(fd, 63, 2000));
	if (variant->legacy)
		EXPECT_LE(1, log_wait(&self->e, "> AT+QIDNSIP=1\\r", 1, 3000));
}

/* Our datagram seq of size n: its first four bytes are seq. */
static void dgram_make(unsigned char *buf, uint32_t seq, size_t n)
{
	qn_pattern(0xd6, seq, buf, n);
	if (n >= 4)
		memcpy(buf, &seq, 4);
}

/*
 * A UDP client: 200 datagrams of sizes 1..1460 through a real peer that
 * echoes each, every one whole and intact; 1461 bytes: EMSGSIZE.
 */
TEST_F_TIMEOUT(dialect, udp_client, 90)
{
	unsigned char out[DGRAM_MAX + 1], in[DGRAM_MAX + 64], echo[DGRAM_MAX + 64];
	int port = 0, p, fd, r, from;
	uint32_t seq;
	ssize_t n;

	dialect_up(_metadata, &self->e, variant->name, false);
	p = track(&self->e, qn_udp(&port));
	ASSERT_LE(0, p);
	fd = qdgram(_metadata, &self->e, 0);
	r = qconnect(&self->e, fd, "127.0.0.1", port);
	ASSERT_EQ(0, r) TH_LOG("connect: %s", strerror(-r));
	for (seq = 0; seq < 200; seq++) {
		size_t len = seq == 0 ? 1 : seq == 1 ? DGRAM_MAX : 1 + (seq * 97) % DGRAM_MAX;

		dgram_make(out, seq, len);
		ASSERT_EQ((ssize_t)len, send(fd, out, len, 0)) TH_LOG("send %u: %s", seq,
								       strerror(errno));
		n = qn_recvfrom(p, echo, sizeof(echo), 5000, &from);
		ASSERT_EQ((ssize_t)len, n) TH_LOG("datagram %u at the peer", seq);
		ASSERT_EQ(0, memcmp(out, echo, len));
		ASSERT_EQ((ssize_t)len, qn_sendto(p, echo, len, from));
		ASSERT_TRUE(qn_readable(fd, 5000)) TH_LOG("no answer to datagram %u", seq);
		n = recv(fd, in, sizeof(in), 0);
		ASSERT_EQ((ssize_t)len, n) TH_LOG("answer %u: %zd bytes", seq, n);
		ASSERT_EQ(0, memcmp(out, in, len)) TH_LOG("answer %u differs", seq);
	}
	dgram_make(out, 999, DGRAM_MAX + 1);
	EXPECT_EQ(-1, send(fd, out, DGRAM_MAX + 1, 0));
	EXPECT_EQ(EMSGSIZE, errno);
}

/* The peer answers and closes: the answer, then EOF, then EPIPE. */
TEST_F_TIMEOUT(dialect, peer_close, 60)
{
	int pfd, fd;
	char buf[16];

	dialect_up(_metadata, &self->e, variant->name, false);
	fd = connected_pair(_metadata, &self->e, 0, &pfd);
	ASSERT_EQ(3, write(pfd, "bye", 3));
	untrack_close(&self->e, pfd);
	ASSERT_TRUE(qn_readable(fd, 10000));
	EXPECT_EQ(3, recv(fd, buf, sizeof(buf), 0));
	ASSERT_TRUE(qn_readable(fd, 10000));
	EXPECT_EQ(0, recv(fd, buf, sizeof(buf), 0));
	/* The connection is gone: the connectID comes back. */
	all_n_ids_free(_metadata, &self->e, variant->conns, 10000);
}

/*
 * The network takes the context ("pdpdeact" / "+PDP DEACT"): a blocked
 * recv fails with ENETDOWN; the next connect activates it again.
 */
TEST_F_TIMEOUT(dialect, context_lost, 90)
{
	int fd;

	dialect_up(_metadata, &self->e, variant->name, true);
	echo_up(_metadata, &self->e);
	fd = qconnected(_metadata, &self->e, self->e.echo.port);
	expect_unblocked(_metadata, &self->e, fd, BLOCKED_RECV, pdpdeact_cmd(), ENETDOWN);
	EXPECT_EQ(-1, send(fd, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	still_usable(_metadata, &self->e, 64);
	if (variant->legacy) {
		/* The note: deactivate, then QIREGAPP, QIACT, QILOCIP again. */
		EXPECT_LE(1, log_wait(&self->e, "> AT+QIDEACT\\r", 1, 3000));
		EXPECT_LE(2, log_wait(&self->e, "> AT+QIACT\\r", 2, 3000));
	}
}

/* Detach in the middle of a transfer: both ends fail at once, nothing hangs. */
TEST_F_TIMEOUT(dialect, detach_mid_transfer, 90)
{
	int n_tty = N_TTY, fd;
	struct xfer *x;

	dialect_up(_metadata, &self->e, variant->name, false);
	echo_up(_metadata, &self->e);
	fd = qconnected(_metadata, &self->e, self->e.echo.port);
	x = xfer_start(fd, 64 * MIB, 0x6600);
	QN_WAIT_UNTIL(__atomic_load_n(&x->rcvd.n, __ATOMIC_ACQUIRE) > 64 * KIB, 30000, 20);
	ASSERT_LT(64 * KIB, x->rcvd.n) TH_LOG("no data moved before the detach");
	/* Back to N_TTY: the line discipline lets go of the modem. */
	ASSERT_EQ(0, ioctl(self->e.tty, TIOCSETD, &n_tty));
	ASSERT_EQ(0, xfer_wait(&x, 1, qn_now_ms() + 10000)) TH_LOG("a transfer hangs");
	/* One of them takes the error; the other sees the end it left. */
	EXPECT_TRUE(x->tx_err == ENODEV || x->rx_err == ENODEV)
		TH_LOG("send: %s, recv: %d", strerror(x->tx_err), x->rx_err);
	EXPECT_TRUE(x->tx_err == ENODEV || x->tx_err == EPIPE)
		TH_LOG("send: %s", strerror(x->tx_err));
	EXPECT_TRUE(x->rx_err == ENODEV || x->rx_err == -1)
		TH_LOG("recv: %d", x->rx_err);
	free(x);
}

/*
 * What the legacy set cannot carry is refused with a clear errno before
 * anything reaches the modem; the modern set serves the same calls.
 */
TEST_F_TIMEOUT(dialect, unsupported, 60)
{
	int want_srv = variant->legacy ? -EOPNOTSUPP : 0;
	struct sockaddr_qt a;
	int fd, r;

	dialect_up(_metadata, &self->e, variant->name, false);
	echo_up(_metadata, &self->e);

	/* A TCP listener. */
	fd = qsock(_metadata, &self->e, 0);
	r = bind_retrying(&self->e, fd, 0, 5000);
	ASSERT_EQ(0, r) TH_LOG("bind: %s", strerror(-r));
	r = listen(fd, 4) ? -errno : 0;
	EXPECT_EQ(want_srv, r) TH_LOG("listen: %s", strerror(-r));
	untrack_close(&self->e, fd);

	/* A UDP service. */
	fd = qdgram(_metadata, &self->e, 0);
	r = qbind(&self->e, fd, 0);
	EXPECT_EQ(want_srv, r) TH_LOG("UDP bind: %s", strerror(-r));
	untrack_close(&self->e, fd);

	/* Direct push mode, asked before the connect. */
	fd = qsock(_metadata, &self->e, 0);
	ASSERT_EQ(0, qt_set_mode(fd, QT_MODE_DIRECT_PUSH));
	r = qconnect(&self->e, fd, "127.0.0.1", self->e.echo.port);
	EXPECT_EQ(want_srv, r) TH_LOG("direct push connect: %s", strerror(-r));
	untrack_close(&self->e, fd);

	/* A switch on a live buffer-mode connection. */
	fd = qconnected(_metadata, &self->e, self->e.echo.port);
	r = qt_set_mode(fd, QT_MODE_DIRECT_PUSH);
	EXPECT_EQ(want_srv, r) TH_LOG("switch: %s", strerror(-r));
	EXPECT_EQ(0, echo_roundtrip(fd, 65, 1000)) TH_LOG("the connection broke");
	untrack_close(&self->e, fd);

	/* Another context than the one (legacy: EINVAL). */
	fd = qsock(_metadata, &self->e, 0);
	a = qaddr(&self->e, "127.0.0.1", self->e.echo.port);
	a.sqt_context = default_ctx() == 2 ? 3 : 2;
	r = qconnect_len(fd, &a, sizeof(a));
	EXPECT_EQ(variant->legacy ? -EINVAL : 0, r) TH_LOG("context %d: %s", a.sqt_context,
							   strerror(-r));
	untrack_close(&self->e, fd);
	still_usable(_metadata, &self->e, 66);
}

/* ---- what only the legacy set has ---- */

/*
 * SO_KEEPALIVE on a connection whose peer went quiet with our bytes
 * unacknowledged (its window closed): the kernel polls the acks every
 * 5 s (AT+QISEND=<id>,0 or AT+QISACK) and after 24 polls without progress
 * (the notes' 2 minutes) fails the connection with ETIMEDOUT. What was
 * sent is kept under the legacy 3000-byte threshold, so the send path's
 * own rule (20 stalled polls) cannot be the one that fires.
 */
TEST_F_TIMEOUT(dialect, keepalive_times_out, 300)
{
	int pfd, fd, one = 1, inq = 0, chunks;
	unsigned char buf[256];
	size_t sent = 0;
	int64_t t0, took;

	dialect_up(_metadata, &self->e, variant->name, false);
	fd = connected_pair(_metadata, &self->e, 4096, &pfd);
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));

	/* Small pieces until one is not taken in: the peer's window is shut. */
	for (chunks = 0; chunks < 256; chunks++) {
		qn_pattern(0x4b41, sent, buf, sizeof(buf));
		ASSERT_EQ((ssize_t)sizeof(buf), send(fd, buf, sizeof(buf), MSG_NOSIGNAL));
		sent += sizeof(buf);
		QN_WAIT_UNTIL(!ioctl(pfd, SIOCINQ, &inq) && (size_t)inq >= sent, 2000, 20);
		if ((size_t)inq < sent)
			break;
	}
	ASSERT_LT((size_t)inq, sent) TH_LOG("the peer took all %zu bytes", sent);

	t0 = qn_now_ms();
	EXPECT_TRUE(poll_until(fd, POLLIN, POLLERR, 200000) & POLLERR)
		TH_LOG("no error %lld ms after the window shut", (long long)(qn_now_ms() - t0));
	took = qn_now_ms() - t0;
	EXPECT_EQ(ETIMEDOUT, so_error(fd));
	/* 24 polls 5 s apart: not before about 2 minutes. */
	EXPECT_LE(110000, took) TH_LOG("ETIMEDOUT after %lld ms", (long long)took);
	untrack_close(&self->e, fd);
	/* Every connectID comes back and connects again. */
	all_n_ids_free(_metadata, &self->e, variant->conns, 20000);
}

QT_ENV_FIXTURE(legacy)

static void legacy_up(struct __test_metadata *_metadata, struct qt_env *e,
		      const char *const *more)
{
	const char *opts[12] = { "--dialect", "legacy" };
	int n = 2;

	while (more && *more && n < 11)
		opts[n++] = *more++;
	opts[n] = NULL;
	modem_up(_metadata, e, opts, true);
}

/* needles (NULL-terminated) occur in the transcript in this order. */
static void expect_wire_order(struct __test_metadata *_metadata, struct qt_env *e,
			      const char *const *needles)
{
	size_t len;
	char *log = log_since(e, 0, &len), *p;

	ASSERT_NE(NULL, log);
	for (p = log; *needles; needles++) {
		char *at = strstr(p, *needles);

		EXPECT_NE(NULL, at) TH_LOG("'%s' missing or out of order", *needles);
		if (!at)
			break;
		p = at + strlen(*needles);
	}
	free(log);
}

/* Bring-up and the first connect say what the note says, in its order. */
TEST_F_TIMEOUT(legacy, note_order, 60)
{
	static const char *const order[] = {
		"> AT\\r", "> ATE0\\r", "> ATI\\r", "> AT+IPR=", "&W\\r", "> AT+CPIN?\\r",
		"> AT+CREG?\\r", "> AT+CGREG?\\r", "> AT+CGATT?\\r", "> AT+QIFGCNT=0\\r",
		"> AT+QIMUX=1\\r", "> AT+QINDI=1\\r",
		"> AT+QICSGP=1,", "> AT+QIREGAPP\\r", "> AT+QIACT\\r", "> AT+QILOCIP\\r",
		"> AT+QIOPEN=0,\"TCP\",\"127.0.0.1\"", "< 0, CONNECT OK\\r\\n",
		"> AT+QISEND=0,", "> AT+QIRD=0,1,0,1500\\r", "> AT+QICLOSE=0\\r",
		"< 0, CLOSE OK\\r\\n", NULL,
	};
	int fd;

	legacy_up(_metadata, &self->e, NULL);
	echo_up(_metadata, &self->e);
	fd = qconnected(_metadata, &self->e, self->e.echo.port);
	EXPECT_EQ(0, echo_roundtrip(fd, 71, 100));
	untrack_close(&self->e, fd);
	all_n_ids_free(_metadata, &self->e, LEGACY_CONNS, 10000);
	log_wait(&self->e, "CLOSE OK", 1, 3000);
	expect_wire_order(_metadata, &self->e, order);
}

/*
 * "ALREADY CONNECT": the module holds a connection on the index that is
 * none of ours. Once: closed and opened again, the connect succeeds.
 * Twice in a row: EADDRINUSE, and the modem stays usable.
 */
TEST_F_TIMEOUT(legacy, already_connect, 60)
{
	int fd;

	legacy_up(_metadata, &self->e, NULL);
	echo_up(_metadata, &self->e);
	ctl(_metadata, &self->e, "already-connect");
	fd = try_connect(_metadata, &self->e, "127.0.0.1", self->e.echo.port);
	ASSERT_LE(0, fd) TH_LOG("connect after one ALREADY CONNECT: %s", strerror(-fd));
	EXPECT_EQ(0, echo_roundtrip(fd, 72, 500));
	EXPECT_LE(1, log_wait(&self->e, "> AT+QICLOSE=0\\r", 1, 3000));
	EXPECT_EQ(2, log_count(&self->e, "> AT+QIOPEN=0,"));
	untrack_close(&self->e, fd);

	ctl(_metadata, &self->e, "already-connect");
	ctl(_metadata, &self->e, "already-connect");
	fd = try_connect(_metadata, &self->e, "127.0.0.1", self->e.echo.port);
	EXPECT_EQ(-EADDRINUSE, fd) TH_LOG("%s", strerror(-fd));
	still_usable(_metadata, &self->e, 73);
}

/*
 * A connect that times out on the module leaves its index "TCP
 * CONNECTING": the note's AT+QISTAT check closes it (AT+QICLOSE), and the
 * index serves the next connect.
 */
TEST_F_TIMEOUT(legacy, connect_timeout_closed, 60)
{
	size_t len;
	char *log;
	int fd;

	legacy_up(_metadata, &self->e, NULL);
	echo_up(_metadata, &self->e);
	ctl(_metadata, &self->e, "fail-open 569");
	fd = try_connect(_metadata, &self->e, "127.0.0.1", self->e.echo.port);
	EXPECT_EQ(-ECONNREFUSED, fd) TH_LOG("%s", strerror(-fd));
	EXPECT_LE(1, log_wait(&self->e, "TCP CONNECTING", 1, 3000));
	EXPECT_LE(1, log_wait(&self->e, "> AT+QICLOSE=0\\r", 1, 3000));
	log = log_since(&self->e, 0, &len);
	ASSERT_NE(NULL, log);
	/* The stack itself was fine: no deactivation. */
	EXPECT_FALSE(qn_contains(log, len, "> AT+QIDEACT\\r")) TH_LOG("wire: %s", log);
	free(log);
	still_usable(_metadata, &self->e, 74);
}

/*
 * AT+QIACT refused three times in a row (the module lost its
 * registration): each connect fails with ENETUNREACH, and the third
 * restarts the module (the note); once registered again it serves.
 */
TEST_F_TIMEOUT(legacy, qiact_fails_thrice_restarts, 90)
{
	int i, fd;

	legacy_up(_metadata, &self->e, NULL);
	echo_up(_metadata, &self->e);
	ctl(_metadata, &self->e, "creg 2");
	for (i = 0; i < 3; i++) {
		fd = try_connect(_metadata, &self->e, "127.0.0.1", self->e.echo.port);
		EXPECT_EQ(-ENETUNREACH, fd) TH_LOG("connect %d: %s", i + 1, strerror(-fd));
		if (i < 2) {
			EXPECT_EQ(0, modem_field(&self->e, "restarts"));
		}
	}
	EXPECT_EQ(3, log_count(&self->e, "> AT+QIACT\\r"));
	ctl(_metadata, &self->e, "creg 1");
	EXPECT_EQ(1, modem_field_wait(&self->e, "restarts", 1, 10000));
	EXPECT_LE(1, log_wait(&self->e, "> AT+CFUN=1,1\\r", 1, 3000));
	ASSERT_EQ(0, qt_wait_state(self->e.sim.slave, "ready", 40, self->e.line, LINE))
		TH_LOG("modem: %s", self->e.line);
	still_usable(_metadata, &self->e, 77);
}

/*
 * Check the transcript's sends against the acknowledgements: at every
 * AT+QISEND=<i>,<n>, the module's unacknowledged bytes (the last
 * +QISACK) plus what went since, plus n, stay within the note's 3000.
 * Returns the highest unacknowledged count a +QISACK reported.
 */
static long check_unacked(struct __test_metadata *_metadata, struct qt_env *e)
{
	long unacked = 0, since = 0, top = 0, n, a, b, c;
	size_t len;
	char *log = log_since(e, 0, &len), *line, *save = NULL;

	if (!log)
		return -1;
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "> AT+QISEND=0,%ld", &n) == 1) {
			EXPECT_GE(UNACKED_MAX, unacked + since + n)
				TH_LOG("sent %ld with %ld unacknowledged and %ld since",
				       n, unacked, since);
			since += n;
		} else if (sscanf(line, "< +QISACK: %ld, %ld, %ld", &a, &b, &c) == 3) {
			unacked = c;
			since = 0;
			if (c > top)
				top = c;
		}
	}
	free(log);
	return top;
}

/*
 * A peer that stops reading: the socket keeps the module's unacknowledged
 * bytes under 3000 (polling AT+QISACK) while our own queue fills and
 * send() would block; once the peer reads, every byte arrives in order.
 */
TEST_F_TIMEOUT(legacy, unacked_under_threshold, 120)
{
	const size_t total = 512 * KIB;
	int pfd, fd, outq;
	size_t sent = 0;
	long top;
	bool stuck = false;

	legacy_up(_metadata, &self->e, NULL);
	fd = connected_pair(_metadata, &self->e, 4096, &pfd);

	/* The peer does not read: everything on the way fills up. */
	while (sent < total) {
		unsigned char buf[8 * KIB];
		ssize_t r;
		size_t k = total - sent < sizeof(buf) ? total - sent : sizeof(buf);

		qn_pattern(0x7700, sent, buf, k);
		r = send(fd, buf, k, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0) {
			sent += r;
			continue;
		}
		ASSERT_EQ(EAGAIN, errno) TH_LOG("send: %s", strerror(errno));
		if (!(poll1(fd, POLLOUT, 3000) & POLLOUT)) {
			stuck = true;
			break;
		}
	}
	ASSERT_TRUE(stuck) TH_LOG("%zu bytes queued and the sender never blocked", sent);
	ioctl(fd, SIOCOUTQ, &outq);
	EXPECT_LT(0, outq);
	/* The module waited at the threshold: acks polled, nothing beyond. */
	top = check_unacked(_metadata, &self->e);
	EXPECT_LT(0, top) TH_LOG("no +QISACK ever reported unacknowledged bytes");
	EXPECT_GE(UNACKED_MAX, top);

	/* The peer reads again: every byte, in order. */
	ASSERT_EQ(0, shutdown(fd, SHUT_WR) ? -errno : 0);
	{
		unsigned char *got = malloc(sent), *want = malloc(sent);
		size_t n = qn_read_n(pfd, got, sent, 60000);

		qn_pattern(0x7700, 0, want, sent);
		EXPECT_EQ(sent, n);
		EXPECT_EQ(0, memcmp(got, want, n)) TH_LOG("the peer got other bytes");
		free(got);
		free(want);
	}
	check_unacked(_metadata, &self->e);
}

/*
 * A peer that stops acknowledging (it reads nothing, its window is shut)
 * while we still have bytes to send: the kernel polls AT+QISACK, backing
 * off to 5 s, and after 20 polls 5 s apart without progress the note says
 * the connection has failed: ETIMEDOUT, and the index is closed.
 */
TEST_F_TIMEOUT(legacy, send_stall_times_out, 300)
{
	int pfd, fd, polls;
	unsigned char buf[4 * KIB];
	size_t sent = 0;
	int64_t t0, took;
	short ev = 0;

	legacy_up(_metadata, &self->e, NULL);
	fd = connected_pair(_metadata, &self->e, 4096, &pfd);

	t0 = qn_now_ms();
	while (qn_now_ms() - t0 < 200000) {
		ssize_t r;

		qn_pattern(0x5354, sent, buf, sizeof(buf));
		r = send(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0) {
			sent += r;
			continue;
		}
		if (errno != EAGAIN)
			break;
		ev = poll1(fd, POLLOUT, 1000);
		if (ev & (POLLERR | POLLHUP))
			break;
	}
	took = qn_now_ms() - t0;
	EXPECT_EQ(ETIMEDOUT, so_error(fd)) TH_LOG("after %lld ms, %zu bytes sent, poll %#x",
						  (long long)took, sent, ev);
	EXPECT_LE(100000, took) TH_LOG("failed after %lld ms", (long long)took);
	polls = log_wait(&self->e, "> AT+QISACK=0\\r", 20, 5000);
	EXPECT_LE(20, polls);
	untrack_close(&self->e, fd);
	all_n_ids_free(_metadata, &self->e, LEGACY_CONNS, 20000);
	expect_wire_order(_metadata, &self->e,
			  (const char *const[]){ "> AT+QICLOSE=0\\r", NULL });
}

/* ---- the dialect parameter ---- */

#define DIALECT_PARAM	"/sys/module/quectel/parameters/dialect"

static int set_dialect(const char *word)
{
	int fd = open(DIALECT_PARAM, O_WRONLY), r;

	if (fd < 0)
		return -errno;
	r = write(fd, word, strlen(word)) == (ssize_t)strlen(word) ? 0 : -errno;
	close(fd);
	return r;
}

/* Whatever a test does, the parameter is "auto" again after it. */
FIXTURE(forced) {
	struct qt_env e;
};

FIXTURE_SETUP(forced)
{
	qt_env_setup(&self->e);
}

FIXTURE_TEARDOWN(forced)
{
	EXPECT_EQ(0, set_dialect("auto"));
	qt_env_teardown(_metadata, &self->e);
}

/*
 * The dialect parameter overrides the model: an M95 simulator that calls
 * itself EC25 is spoken to in the legacy set once the parameter says so.
 * A word the parameter does not know is refused.
 */
TEST_F_TIMEOUT(forced, by_parameter, 60)
{
	static const char *const as_ec25[] = { "--dialect", "legacy", "--model", "EC25", NULL };
	char *val;

	EXPECT_EQ(-EINVAL, set_dialect("klingon"));
	ASSERT_EQ(0, set_dialect("legacy"));
	val = qt_read_text(DIALECT_PARAM);
	EXPECT_STREQ("legacy\n", val ?: "");
	free(val);
	modem_up(_metadata, &self->e, as_ec25, false);
	EXPECT_NE(NULL, strstr(self->e.line, " dialect=legacy model=EC25 "))
		TH_LOG("modem: %s", self->e.line);
	echo_up(_metadata, &self->e);
	still_usable(_metadata, &self->e, 75);
}

/* "auto": an M26 (any M-series model) gets the legacy set. */
TEST_F_TIMEOUT(forced, auto_picks_by_model, 60)
{
	static const char *const m26[] = { "--dialect", "legacy", "--model", "M26", NULL };

	ASSERT_EQ(0, set_dialect("auto"));
	modem_up(_metadata, &self->e, m26, false);
	EXPECT_NE(NULL, strstr(self->e.line, " dialect=legacy model=M26 "))
		TH_LOG("modem: %s", self->e.line);
	echo_up(_metadata, &self->e);
	still_usable(_metadata, &self->e, 76);
}

/* qtctl as @as with @args (NULL-terminated): its exit status; output in *@out. */
static int qtctl_run(enum qt_as as, const char *const *args, char **out)
{
	const char *o = "/tmp/dialect_test.qtctl.out", *er = "/tmp/dialect_test.qtctl.err";
	pid_t pid = qt_prog_spawn(qt_prog_path("userspace/qtctl/qtctl"), as, o, er, args);
	int st = pid < 0 ? -2 : qt_prog_status(&pid, 20000);

	if (out) {
		char *a = qt_read_text(o), *b = qt_read_text(er);

		if (asprintf(out, "%s%s", a, b) < 0)
			*out = NULL;
		free(a);
		free(b);
	}
	return st;
}

#define QTCTL_AS(out, as, ...) qtctl_run(as, (const char *const[]){ __VA_ARGS__, NULL }, out)

/* The modem's line once it is ready again after a restart (or reboot). */
static void ready_again(struct __test_metadata *_metadata, struct qt_env *e,
			const char *key, long n)
{
	EXPECT_LE(n, modem_field_wait(e, key, n, 30000)) TH_LOG("modem: %s", e->line);
	ASSERT_EQ(0, qt_wait_state(e->sim.slave, "ready", 60, e->line, LINE))
		TH_LOG("modem: %s", e->line);
}

/*
 * Per modem: qtctl dialect forces the command set of one modem. An M95
 * simulator that calls itself EC25 is spoken to in the modern set (its
 * model says so); forced to legacy it restarts at once and speaks legacy.
 * The parameter no longer matters to it (a reboot keeps legacy); changes
 * need CAP_NET_ADMIN; "auto" lets the model decide again.
 */
TEST_F_TIMEOUT(forced, per_modem, 180)
{
	static const char *const as_ec25[] = { "--dialect", "legacy", "--model", "EC25", NULL };
	char idx[16], *out = NULL;

	ASSERT_EQ(0, set_dialect("auto"));
	modem_up(_metadata, &self->e, as_ec25, false);
	EXPECT_NE(NULL, strstr(self->e.line, " dialect=modern model=EC25 "))
		TH_LOG("modem: %s", self->e.line);
	EXPECT_NE(NULL, strstr(self->e.line, " dialect_choice=auto "))
		TH_LOG("modem: %s", self->e.line);
	snprintf(idx, sizeof(idx), "%d", self->e.modem);

	EXPECT_EQ(1, QTCTL_AS(&out, QT_AS_NOBODY, "dialect", idx, "legacy"));
	EXPECT_NE(NULL, strstr(out ?: "", "not permitted")) TH_LOG("qtctl: %s", out);
	free(out);
	EXPECT_EQ(2, QTCTL_AS(NULL, QT_AS_ROOT, "dialect", idx, "klingon"));
	EXPECT_EQ(0, modem_field(&self->e, "restarts")) TH_LOG("modem: %s", self->e.line);

	ASSERT_EQ(0, QTCTL_AS(&out, QT_AS_ROOT, "dialect", idx, "legacy")) TH_LOG("qtctl: %s", out);
	free(out);
	ready_again(_metadata, &self->e, "restarts", 1);
	EXPECT_NE(NULL, strstr(self->e.line, " dialect=legacy model=EC25 "))
		TH_LOG("modem: %s", self->e.line);
	EXPECT_NE(NULL, strstr(self->e.line, " dialect_choice=legacy "))
		TH_LOG("modem: %s", self->e.line);
	echo_up(_metadata, &self->e);
	still_usable(_metadata, &self->e, 0x9e01);

	ASSERT_EQ(0, QTCTL_AS(&out, QT_AS_ROOT, "-j", "show", idx));
	EXPECT_NE(NULL, strstr(out ?: "", "\"dialect_choice\":\"legacy\"")) TH_LOG("%s", out);
	free(out);

	/* The same choice again changes nothing: no restart. */
	ASSERT_EQ(0, QTCTL_AS(NULL, QT_AS_ROOT, "dialect", idx, "legacy"));
	qn_sleep_ms(500);
	EXPECT_EQ(1, modem_field(&self->e, "restarts")) TH_LOG("modem: %s", self->e.line);

	/* The parameter is for modems attached later: a reboot keeps legacy. */
	ASSERT_EQ(0, set_dialect("modern"));
	ctl(_metadata, &self->e, "reboot");
	ready_again(_metadata, &self->e, "reboots", 1);
	EXPECT_NE(NULL, strstr(self->e.line, " dialect=legacy model=EC25 "))
		TH_LOG("modem: %s", self->e.line);
	still_usable(_metadata, &self->e, 0x9e02);

	/* "auto": the model decides again, the modem restarts into modern. */
	ASSERT_EQ(0, QTCTL_AS(NULL, QT_AS_ROOT, "dialect", idx, "auto"));
	ready_again(_metadata, &self->e, "restarts", 2);
	EXPECT_NE(NULL, strstr(self->e.line, " dialect=modern model=EC25 "))
		TH_LOG("modem: %s", self->e.line);
}

/*
 * The legacy note's restart back-off: the first restart at once, the next
 * 10 min later. A hung module forced to legacy (it never answers ATI, so
 * only the choice tells its set): 15 unanswered ATs, a restart, 15 more,
 * then the 10 minutes (the modern set allows three restarts at once).
 */
TEST_F_TIMEOUT(forced, legacy_backoff, 150)
{
	long next;

	ASSERT_EQ(0, set_dialect("legacy"));
	modem_hung(_metadata, &self->e);
	EXPECT_NE(NULL, strstr(self->e.line, " dialect=legacy ")) TH_LOG("modem: %s", self->e.line);
	ASSERT_EQ(0, qt_wait_state(self->e.sim.slave, "backoff", 120, self->e.line, LINE))
		TH_LOG("modem: %s", self->e.line);
	EXPECT_EQ(1, qt_field(self->e.line, "restarts"));
	EXPECT_EQ(1, qt_field(self->e.line, "restart_failures"));
	next = qt_field(self->e.line, "next_restart_s");
	EXPECT_LE(590, next);
	EXPECT_GE(600, next);
}

TEST_HARNESS_MAIN
