// SPDX-License-Identifier: GPL-2.0
/*
 * AF_QUECTEL TCP servers against qtsim, checked against docs/SERVERS.md:
 * bind and listen (fixed and automatic ports), accepting many real
 * clients with data both ways, the modem running out of connectIDs
 * ("incoming full"), accept-queue overflow, a listener closed with
 * connections pending, accept errors, non-blocking accept and poll,
 * accept4 flags, a blocking accept() woken by a client, the names and
 * connectID of an accepted socket, data that arrives before accept(),
 * privileged ports, ports in use (the module's 573 on the wire), signals,
 * context loss, and socat as a client.
 *
 * Every test starts its own qtsim (--rdy-delay 0) on a pty; the clients
 * are real TCP sockets on 127.0.0.1 connecting to the listener qtsim
 * opens for the kernel. Every blocking call is bounded (socket timeouts,
 * poll timeouts, timed waits, the harness timeout), and the teardown
 * closes, kills and reaps what a test started.
 */
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "qt_af.h"

#define NCLIENTS	(NCONN - 1)	/* the listener holds one connectID */

QT_ENV_FIXTURE(server)

/*
 * A listening stream socket: bound to *port first if *port >= 0 (0: an
 * automatic port), unbound if -1; *port becomes the port it listens on.
 */
static int qlisten(struct __test_metadata *_metadata, struct qt_env *e, int *port,
		   int backlog, int flags)
{
	int fd = qsock(_metadata, e, flags), r;

	if (*port >= 0) {
		r = qbind(e, fd, *port);
		ASSERT_EQ(0, r) TH_LOG("bind to port %d: %s", *port, strerror(-r));
	}
	ASSERT_EQ(0, listen(fd, backlog)) TH_LOG("listen: %s", strerror(errno));
	r = qport(fd, false, NULL);
	ASSERT_LT(0, r) TH_LOG("getsockname of a listener: %s", strerror(-r));
	if (*port > 0) {
		ASSERT_EQ(*port, r);
	}
	*port = r;
	return fd;
}

/* A real client of 127.0.0.1:port (tracked); its local port in *cport. */
static int client(struct __test_metadata *_metadata, struct qt_env *e, int port, int *cport)
{
	struct timeval tv = { .tv_sec = SOCK_TMO_S };
	int fd = qn_connect(port, cport);

	ASSERT_LE(0, fd) TH_LOG("connect to 127.0.0.1:%d: %s", port, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return track(e, fd);
}

/* accept4() on listener lfd (blocking, SO_RCVTIMEO): the tracked new fd (asserts). */
static int qaccept(struct __test_metadata *_metadata, struct qt_env *e, int lfd, int flags)
{
	int fd = accept4(lfd, NULL, NULL, flags);

	ASSERT_LE(0, fd) TH_LOG("accept: %s", strerror(errno));
	return track(e, fd);
}

/*
 * n real clients connect to port at once, then lfd accepts n; ac[i] is
 * the accepted socket whose peer is client cl[i].
 */
static void accept_clients(struct __test_metadata *_metadata, struct qt_env *e, int lfd,
			   int port, int n, int *cl, int *ac)
{
	int cport[NCONN], i, j;

	for (i = 0; i < n; i++) {
		cl[i] = client(_metadata, e, port, &cport[i]);
		ac[i] = -1;
	}
	for (j = 0; j < n; j++) {
		int fd = qaccept(_metadata, e, lfd, SOCK_CLOEXEC);
		int p = qport(fd, true, NULL);

		for (i = 0; i < n && cport[i] != p; i++)
			;
		ASSERT_GT(n, i) TH_LOG("accepted a connection from port %d: no such client", p);
		ASSERT_EQ(-1, ac[i]) TH_LOG("client port %d accepted twice", p);
		ac[i] = fd;
	}
}

/* A few bytes each way between a client and its accepted socket. */
static int exchange(int c, int a, uint64_t seed)
{
	unsigned char want[300], got[300];

	qn_pattern(seed, 0, want, sizeof(want));
	if (send(c, want, 100, MSG_NOSIGNAL) != 100 || recv_all(a, got, 100) != 100 ||
	    memcmp(got, want, 100))
		return -1;
	if (send(a, want + 100, 200, MSG_NOSIGNAL) != 200 ||
	    qn_read_n(c, got, 200, 10000) != 200 || memcmp(got, want + 100, 200))
		return -2;
	return 0;
}

/*
 * A new client of port is accepted within ms: connectIDs freed in the
 * background make early tries end in "incoming full" (the client sees
 * its connection closed), so try again. The pair, or asserts.
 */
static void accept_retrying(struct __test_metadata *_metadata, struct qt_env *e, int lfd,
			    int port, int ms, int *c, int *a)
{
	int64_t end = qn_now_ms() + ms;

	for (;;) {
		*c = client(_metadata, e, port, NULL);
		if (poll1(lfd, POLLIN, 1000) & POLLIN)
			break;
		ASSERT_GT(end, qn_now_ms()) TH_LOG("no client accepted in %d ms", ms);
		untrack_close(e, *c);
	}
	*a = qaccept(_metadata, e, lfd, SOCK_CLOEXEC);
}

/* The calls a signal interrupts below. */
static int listen4(int fd)
{
	return listen(fd, 4);
}

static int accept1(int fd)
{
	return accept4(fd, NULL, NULL, SOCK_CLOEXEC);
}

/*
 * The connectIDs /proc/net/quectel lists for this test's modem (a mask,
 * -1 if unreadable); how many of them are of type (its type column) in
 * *ntype.
 */
static int proc_ids(struct qt_env *e, const char *type, int *ntype)
{
	char line[512], modem[32], want[32], t[32];
	FILE *f = fopen("/proc/net/quectel", "r");
	int sl, id, mask = 0;

	*ntype = 0;
	if (!f)
		return -1;
	snprintf(want, sizeof(want), "qm%d", e->modem);
	while (fgets(line, sizeof(line), f)) {
		/* The header does not start with a number. */
		if (sscanf(line, "%d %31s %d %31s", &sl, modem, &id, t) != 4 || strcmp(modem, want))
			continue;
		if (id >= 0 && id < NCONN)
			mask |= 1 << id;
		if (!strcmp(t, type))
			(*ntype)++;
	}
	fclose(f);
	return mask;
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

/* The same, waiting up to 5 s for at least want (qtsim flushes its transcript when idle). */
static int wire_open_errors(struct qt_env *e, int err, int want)
{
	int n;

	QN_WAIT_UNTIL((n = open_errors_now(e, err)) >= want, 5000, 100);
	return n;
}

/* =========================== tests =========================== */

/* bind() to a fixed port, listen(): a real listener there, clients accepted. */
TEST_F_TIMEOUT(server, listen_bound_port, 60)
{
	int port = qn_free_port(), want, lfd, c, a;

	ASSERT_LT(0, port);
	want = port;
	modem_up(_metadata, &self->e, NULL, false);
	lfd = qlisten(_metadata, &self->e, &port, 4, 0);
	EXPECT_EQ(want, port);
	EXPECT_TRUE(qn_is_listening(port)) TH_LOG("nothing listens on 127.0.0.1:%d", port);
	c = client(_metadata, &self->e, port, NULL);
	a = qaccept(_metadata, &self->e, lfd, 0);
	EXPECT_EQ(0, exchange(c, a, 1));
	/* listen() again only changes the backlog. */
	EXPECT_EQ(0, listen(lfd, 8)) TH_LOG("%s", strerror(errno));
	c = client(_metadata, &self->e, port, NULL);
	a = qaccept(_metadata, &self->e, lfd, 0);
	EXPECT_EQ(0, exchange(c, a, 2));
}

/* Port 0 and no bind at all: an automatic port, reported and reachable. */
TEST_F_TIMEOUT(server, listen_automatic_port, 60)
{
	int ports[2] = { 0, -1 }, i, lfd, c, a;

	modem_up(_metadata, &self->e, NULL, false);
	for (i = 0; i < 2; i++) {
		lfd = qlisten(_metadata, &self->e, &ports[i], 4, 0);
		EXPECT_LE(49152, ports[i]) TH_LOG("%s: port %d", i ? "unbound" : "port 0", ports[i]);
		EXPECT_GE(65535, ports[i]);
		EXPECT_TRUE(qn_is_listening(ports[i]))
			TH_LOG("nothing listens on 127.0.0.1:%d", ports[i]);
		c = client(_metadata, &self->e, ports[i], NULL);
		a = qaccept(_metadata, &self->e, lfd, 0);
		EXPECT_EQ(0, exchange(c, a, 10 + i));
	}
	EXPECT_NE(ports[0], ports[1]);
}

/* Pair a transfer on each end of a connection: what one sent, the other got. */
static void xfer_check_pair(struct __test_metadata *_metadata, struct xfer *c, struct xfer *a,
			    int i)
{
	xfer_check_ends(_metadata, c, i);
	xfer_check_ends(_metadata, a, i);
	EXPECT_EQ(c->sent.n, a->rcvd.n) TH_LOG("client %d: %llu of %zu bytes arrived", i,
					       (unsigned long long)a->rcvd.n, c->len);
	EXPECT_EQ(c->sent.h, a->rcvd.h) TH_LOG("client %d: the server received other bytes", i);
	EXPECT_EQ(a->sent.n, c->rcvd.n) TH_LOG("client %d: %llu of %zu bytes came back", i,
					       (unsigned long long)c->rcvd.n, a->len);
	EXPECT_EQ(a->sent.h, c->rcvd.h) TH_LOG("client %d: the client received other bytes", i);
}

/*
 * 11 real clients at once (with the listener, all 12 connectIDs), each
 * moving 128 KiB both ways at the same time, hash-checked. While they
 * move, /proc/net/quectel lists all 12 connectIDs (the listener and 11
 * accepted ones) and no 13th server can open.
 */
TEST_F_TIMEOUT(server, eleven_clients, 150)
{
	struct xfer *x[2 * NCLIENTS];
	int lfd, l2, port = 0, cl[NCLIENTS], ac[NCLIENTS], i, ids = 0, id, lid, mask, n;

	modem_up(_metadata, &self->e, NULL, false);
	lfd = qlisten(_metadata, &self->e, &port, 16, 0);
	accept_clients(_metadata, &self->e, lfd, port, NCLIENTS, cl, ac);
	/* Eleven different connectIDs, none of them the listener's. */
	for (i = 0; i < NCLIENTS; i++) {
		id = sockopt_int(ac[i], SOL_QUECTEL, QT_CONNECT_ID);
		EXPECT_TRUE(id >= 0 && id < NCONN) TH_LOG("accepted socket %d: connectID %d", i, id);
		if (id >= 0 && id < NCONN)
			ids |= 1 << id;
	}
	EXPECT_EQ(NCLIENTS, __builtin_popcount(ids)) TH_LOG("connectIDs 0x%x", ids);
	lid = sockopt_int(lfd, SOL_QUECTEL, QT_CONNECT_ID);
	ASSERT_TRUE(lid >= 0 && lid < NCONN) TH_LOG("the listener's connectID %d", lid);
	EXPECT_EQ(0, ids & (1 << lid)) TH_LOG("the listener's connectID %d accepted", lid);
	EXPECT_EQ((1 << NCONN) - 1, ids | (1 << lid)) TH_LOG("connectIDs 0x%x, listener %d",
							     ids, lid);

	for (i = 0; i < NCLIENTS; i++) {
		x[2 * i] = xfer_start(cl[i], 128 * KIB, 0x5000 + i);
		x[2 * i + 1] = xfer_start(ac[i], 128 * KIB, 0x6000 + i);
	}
	/* During the transfer (some bytes have moved, not all). */
	QN_WAIT_UNTIL(__atomic_load_n(&x[1]->rcvd.n, __ATOMIC_ACQUIRE) > 0, 10000, 10);
	mask = proc_ids(&self->e, "TCP_INCOMING", &n);
	EXPECT_EQ((1 << NCONN) - 1, mask) TH_LOG("/proc/net/quectel: connectIDs 0x%x", mask);
	EXPECT_EQ(NCLIENTS, n) TH_LOG("/proc/net/quectel: %d accepted connections", n);
	proc_ids(&self->e, "TCP_LISTENER", &n);
	EXPECT_EQ(1, n) TH_LOG("/proc/net/quectel: %d listeners", n);
	l2 = qsock(_metadata, &self->e, 0);
	EXPECT_EQ(-1, listen(l2, 4));
	EXPECT_EQ(EADDRNOTAVAIL, errno) TH_LOG("a 13th connectID: %s", strerror(errno));
	EXPECT_GT(2 * NCLIENTS, xfers_done(x, 2 * NCLIENTS)) TH_LOG("checked after the transfer");
	ASSERT_EQ(0, xfer_wait(x, 2 * NCLIENTS, qn_now_ms() + 130000)) {
		for (i = 0; i < 2 * NCLIENTS; i++)
			TH_LOG("%s %d: sent %llu, received %llu", i % 2 ? "server" : "client",
			       i / 2, (unsigned long long)x[i]->sent.n,
			       (unsigned long long)x[i]->rcvd.n);
	}
	for (i = 0; i < NCLIENTS; i++) {
		xfer_check_pair(_metadata, x[2 * i], x[2 * i + 1], i);
		free(x[2 * i]);
		free(x[2 * i + 1]);
	}
}

/*
 * All 12 connectIDs in use (listener + 11): a second listener gets
 * EADDRNOTAVAIL, the 12th client is refused by the module itself
 * ("incoming full", counted) and sees its connection closed; once the
 * others are closed a new client is accepted.
 */
TEST_F_TIMEOUT(server, incoming_full, 90)
{
	int lfd, l2, port = 0, cl[NCLIENTS], ac[NCLIENTS], c, a, i;
	long full0, full;

	modem_up(_metadata, &self->e, NULL, true);
	full0 = modem_field(&self->e, "incoming_full");
	EXPECT_EQ(0, full0) TH_LOG("modem line: %s", self->e.line);
	lfd = qlisten(_metadata, &self->e, &port, 16, 0);
	accept_clients(_metadata, &self->e, lfd, port, NCLIENTS, cl, ac);

	l2 = qsock(_metadata, &self->e, 0);
	EXPECT_EQ(-1, listen(l2, 4));
	EXPECT_EQ(EADDRNOTAVAIL, errno) TH_LOG("listen with no connectID left: %s",
					       strerror(errno));

	c = client(_metadata, &self->e, port, NULL);
	EXPECT_TRUE(qn_wait_closed(c, 10000)) TH_LOG("the 12th client was not closed");
	EXPECT_LE(1, log_wait(&self->e, "+QIURC: \"incoming full\"", 1, 5000));
	full = modem_field_wait(&self->e, "incoming_full", 1, 5000);
	EXPECT_LE(1, full) TH_LOG("modem line: %s", self->e.line);
	/* Nothing was queued for it; the others still work. */
	EXPECT_EQ(0, poll1(lfd, POLLIN, 300) & POLLIN);
	for (i = 0; i < NCLIENTS; i++)
		EXPECT_EQ(0, exchange(cl[i], ac[i], 20 + i)) TH_LOG("client %d", i);

	untrack_close(&self->e, c);
	for (i = 0; i < NCLIENTS; i++) {
		untrack_close(&self->e, ac[i]);
		untrack_close(&self->e, cl[i]);
	}
	accept_retrying(_metadata, &self->e, lfd, port, 15000, &c, &a);
	EXPECT_EQ(0, exchange(c, a, 40));

	/* Nothing the refusals and closes went through is left holding a connectID. */
	untrack_close(&self->e, a);
	untrack_close(&self->e, c);
	untrack_close(&self->e, lfd);
	all_ids_free(_metadata, &self->e, 15000);
}

/*
 * listen(fd, 1) and 4 clients, none accepted: backlog + 1 = 2 wait, the
 * other 2 are closed (counted as accept_overflow); then every connectID
 * comes back.
 */
TEST_F_TIMEOUT(server, backlog_overflow, 90)
{
	int lfd, port = 0, cl[4], cport[4], ac[4], n = 0, i, j, fd, seen;
	long over;

	modem_up(_metadata, &self->e, NULL, true);
	lfd = qlisten(_metadata, &self->e, &port, 1, 0);
	for (i = 0; i < 4; i++)
		cl[i] = client(_metadata, &self->e, port, &cport[i]);
	seen = log_wait(&self->e, "+QIURC: \"incoming\",", 4, 10000);
	ASSERT_EQ(4, seen) TH_LOG("the modem reported %d connections", seen);
	/*
	 * Every connection handled before the first accept(): else one that
	 * is still waiting for the engine (slow on the debug kernel) finds
	 * the room that accept() made.
	 */
	over = modem_field_wait(&self->e, "accept_overflow", 2, 20000);
	ASSERT_LE(2, over) TH_LOG("modem line: %s", self->e.line);
	qn_sleep_ms(300);

	ASSERT_EQ(0, fcntl(lfd, F_SETFL, O_NONBLOCK));
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			break;
		ASSERT_GT(4, n);
		ac[n++] = track(&self->e, fd);
	}
	EXPECT_EQ(EAGAIN, errno) TH_LOG("accept: %s", strerror(errno));
	/*
	 * Exactly 2: the engine queues an incoming connection unless
	 * sk_acceptq_is_full() (queued > backlog), so the first two are
	 * queued and the next two closed. Deterministic here: no accept()
	 * ran before all four were handled (overflow reached 2 above, which
	 * needs the queue full), and nothing else takes one off the queue.
	 */
	EXPECT_EQ(2, n) TH_LOG("%d connections waited with backlog 1", n);
	over = modem_field(&self->e, "accept_overflow");
	EXPECT_EQ(2, over) TH_LOG("modem line: %s", self->e.line);

	/* The accepted ones work; the others were closed. */
	for (i = 0; i < 4; i++) {
		for (j = 0; j < n && qport(ac[j], true, NULL) != cport[i]; j++)
			;
		if (j < n) {
			EXPECT_EQ(0, exchange(cl[i], ac[j], 50 + i)) TH_LOG("client %d", i);
		} else {
			EXPECT_TRUE(qn_wait_closed(cl[i], 10000))
				TH_LOG("client %d: neither accepted nor closed", i);
		}
	}

	for (i = 0; i < n; i++)
		untrack_close(&self->e, ac[i]);
	for (i = 0; i < 4; i++)
		untrack_close(&self->e, cl[i]);
	untrack_close(&self->e, lfd);
	all_ids_free(_metadata, &self->e, 15000);
}

/* Closing a listener closes the connections it had not handed out. */
TEST_F_TIMEOUT(server, close_with_pending, 60)
{
	int lfd, port = 0, cl[3], i, seen, c, a;

	modem_up(_metadata, &self->e, NULL, true);
	lfd = qlisten(_metadata, &self->e, &port, 8, 0);
	/* One accepted before: not affected. */
	c = client(_metadata, &self->e, port, NULL);
	a = qaccept(_metadata, &self->e, lfd, SOCK_CLOEXEC);
	for (i = 0; i < 3; i++)
		cl[i] = client(_metadata, &self->e, port, NULL);
	seen = log_wait(&self->e, "+QIURC: \"incoming\",", 4, 10000);
	ASSERT_EQ(4, seen) TH_LOG("the modem reported %d connections", seen);
	EXPECT_EQ(POLLIN, poll_until(lfd, POLLIN, POLLIN, 5000) & POLLIN);
	qn_sleep_ms(300);

	untrack_close(&self->e, lfd);
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(qn_wait_closed(cl[i], 10000)) TH_LOG("client %d was not closed", i);
	/* The three connections and the listener were closed on the modem. */
	EXPECT_LE(4, log_wait(&self->e, "> AT+QICLOSE=", 4, 5000));
	EXPECT_FALSE(qn_is_listening(port)) TH_LOG("127.0.0.1:%d still listens", port);
	EXPECT_EQ(0, exchange(c, a, 45)) TH_LOG("the accepted connection broke");
	untrack_close(&self->e, a);
	untrack_close(&self->e, c);
	all_ids_free(_metadata, &self->e, 15000);
}

/* bind() addresses: the errors of the table, then "any address" in each form. */
TEST_F_TIMEOUT(server, bind_addresses, 60)
{
	modem_up(_metadata, &self->e, NULL, true);
	check_bind_addresses(_metadata, &self->e, SOCK_STREAM);
}

/*
 * Port 0: when the module finds the port the kernel picked busy (573) or
 * cannot bind it (556), the kernel tries another.
 */
TEST_F_TIMEOUT(server, automatic_port_retried, 60)
{
	static const int codes[] = { 573, 556 };
	char cmd[32], want[64];
	int i, port, lfd, c, a;

	modem_up(_metadata, &self->e, NULL, true);
	for (i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "fail-open %d", codes[i]);
		ctl(_metadata, &self->e, cmd);
		port = 0;
		lfd = qlisten(_metadata, &self->e, &port, 4, 0);
		/* Two opens: the refused one, then this port. */
		EXPECT_EQ(2 * (i + 1), log_wait(&self->e, "\"TCP LISTENER\",\"127.0.0.1\",0,",
						 2 * (i + 1), 5000))
			TH_LOG("after error %d", codes[i]);
		snprintf(want, sizeof(want), "\"TCP LISTENER\",\"127.0.0.1\",0,%d,", port);
		EXPECT_EQ(1, log_count(&self->e, want)) TH_LOG("no '%s' on the wire", want);
		c = client(_metadata, &self->e, port, NULL);
		a = qaccept(_metadata, &self->e, lfd, 0);
		EXPECT_EQ(0, exchange(c, a, 30 + i));
	}
}

/* A modem still in bring-up: listen() gets ENETDOWN. */
TEST_F(server, listen_not_ready)
{
	int fd, r;

	modem_hung(_metadata, &self->e);
	fd = qsock(_metadata, &self->e, 0);
	r = qbind(&self->e, fd, 0);
	EXPECT_EQ(0, r) TH_LOG("bind: %s", strerror(-r));
	EXPECT_EQ(-1, listen(fd, 4));
	EXPECT_EQ(ENETDOWN, errno) TH_LOG("%s", strerror(errno));
}

/*
 * A signal while listen() waits for the module: EINTR, the listener is
 * abandoned, the socket keeps its port and may listen again.
 */
TEST_F_TIMEOUT(server, listen_eintr, 60)
{
	int port = qn_free_port(), fd, r, c, a;
	int64_t took;

	ASSERT_LT(0, port);
	modem_up(_metadata, &self->e, NULL, false);
	fd = qsock(_metadata, &self->e, 0);
	r = qbind(&self->e, fd, port);
	ASSERT_EQ(0, r) TH_LOG("bind: %s", strerror(-r));
	ctl(_metadata, &self->e, "delay 2000");
	r = interrupted(listen4, fd, 300, &took);
	EXPECT_EQ(-EINTR, r) TH_LOG("%s after %lld ms", strerror(-r), (long long)took);
	EXPECT_GT(1800, took);
	EXPECT_EQ(1, n_sigusr1);
	ctl(_metadata, &self->e, "delay 0");
	EXPECT_EQ(port, qport(fd, false, NULL));

	/* The abandoned open may hold the port a moment longer. */
	QN_WAIT_UNTIL((r = listen4(fd) ? -errno : 0) != -EADDRINUSE, 10000, 200);
	ASSERT_EQ(0, r) TH_LOG("listen again: %s", strerror(-r));
	EXPECT_EQ(port, qport(fd, false, NULL));
	c = client(_metadata, &self->e, port, NULL);
	a = qaccept(_metadata, &self->e, fd, 0);
	EXPECT_EQ(0, exchange(c, a, 35));
}

/* What a socket may not do in its state: EINVAL. */
TEST_F_TIMEOUT(server, state_errors, 60)
{
	int fd, lfd, port = 0, r;

	modem_up(_metadata, &self->e, NULL, false);
	echo_up(_metadata, &self->e);

	/* accept() on a socket that is not listening. */
	fd = qsock(_metadata, &self->e, 0);
	EXPECT_EQ(-1, accept(fd, NULL, NULL));
	EXPECT_EQ(EINVAL, errno) TH_LOG("fresh socket: %s", strerror(errno));
	r = qbind(&self->e, fd, 0);
	ASSERT_EQ(0, r) TH_LOG("bind: %s", strerror(-r));
	EXPECT_EQ(-1, accept(fd, NULL, NULL));
	EXPECT_EQ(EINVAL, errno) TH_LOG("bound socket: %s", strerror(errno));
	/* A second bind. */
	r = qbind(&self->e, fd, 0);
	EXPECT_EQ(-EINVAL, r) TH_LOG("bound twice: %s", strerror(-r));

	fd = qconnected(_metadata, &self->e, self->e.echo.port);
	EXPECT_EQ(-1, accept(fd, NULL, NULL));
	EXPECT_EQ(EINVAL, errno) TH_LOG("connected socket: %s", strerror(errno));
	EXPECT_EQ(-1, listen(fd, 4));
	EXPECT_EQ(EINVAL, errno) TH_LOG("listen on a connected socket: %s", strerror(errno));
	r = qbind(&self->e, fd, 0);
	EXPECT_EQ(-EINVAL, r) TH_LOG("bind on a connected socket: %s", strerror(-r));

	lfd = qlisten(_metadata, &self->e, &port, 4, 0);
	r = qbind(&self->e, lfd, 0);
	EXPECT_EQ(-EINVAL, r) TH_LOG("bind on a listener: %s", strerror(-r));
	r = qconnect(&self->e, lfd, "127.0.0.1", self->e.echo.port);
	EXPECT_NE(0, r) TH_LOG("a listener connected");
}

/*
 * A non-blocking listener: EAGAIN, POLLIN once a client waits (never
 * POLLOUT), accept4() flags on the new socket; SO_RCVTIMEO bounds a
 * blocking accept.
 */
TEST_F_TIMEOUT(server, nonblocking_accept_poll, 60)
{
	struct timeval tv = { .tv_usec = 300000 };
	int lfd, port = 0, c, a, fl;
	char b[4];
	int64_t t0;
	short ev;

	modem_up(_metadata, &self->e, NULL, false);
	lfd = qlisten(_metadata, &self->e, &port, 4, SOCK_NONBLOCK);
	EXPECT_EQ(-1, accept(lfd, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno) TH_LOG("%s", strerror(errno));
	ev = poll1(lfd, POLLIN | POLLOUT, 200);
	EXPECT_EQ(0, ev) TH_LOG("idle listener: revents 0x%x", ev);

	c = client(_metadata, &self->e, port, NULL);
	ev = poll_until(lfd, POLLIN | POLLOUT, POLLIN, 10000);
	EXPECT_EQ(POLLIN, ev & (POLLIN | POLLOUT | POLLERR | POLLHUP)) TH_LOG("revents 0x%x", ev);
	a = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ASSERT_LE(0, a) TH_LOG("accept4: %s", strerror(errno));
	track(&self->e, a);
	fl = fcntl(a, F_GETFL);
	EXPECT_TRUE(fl >= 0 && (fl & O_NONBLOCK)) TH_LOG("flags 0x%x", fl);
	fl = fcntl(a, F_GETFD);
	EXPECT_TRUE(fl >= 0 && (fl & FD_CLOEXEC)) TH_LOG("fd flags 0x%x", fl);
	EXPECT_EQ(-1, recv(a, b, sizeof(b), 0));
	EXPECT_EQ(EAGAIN, errno) TH_LOG("non-blocking accepted socket: %s", strerror(errno));
	ASSERT_EQ(1, send(c, "x", 1, 0));
	EXPECT_EQ(POLLIN, poll_until(a, POLLIN, POLLIN, 10000) & POLLIN);
	EXPECT_EQ(1, recv(a, b, sizeof(b), 0));
	/* Nothing waits any more. */
	EXPECT_EQ(0, poll1(lfd, POLLIN, 0) & POLLIN);
	EXPECT_EQ(-1, accept(lfd, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno) TH_LOG("%s", strerror(errno));

	/* Without flags the new socket is blocking and inherited by exec. */
	client(_metadata, &self->e, port, NULL);
	EXPECT_EQ(POLLIN, poll_until(lfd, POLLIN, POLLIN, 10000) & POLLIN);
	a = accept4(lfd, NULL, NULL, 0);
	ASSERT_LE(0, a) TH_LOG("accept4: %s", strerror(errno));
	track(&self->e, a);
	EXPECT_EQ(0, fcntl(a, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(0, fcntl(a, F_GETFD) & FD_CLOEXEC);

	/* Blocking, bounded by SO_RCVTIMEO: EAGAIN. */
	ASSERT_EQ(0, fcntl(lfd, F_SETFL, 0));
	ASSERT_EQ(0, setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	t0 = qn_now_ms();
	EXPECT_EQ(-1, accept(lfd, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno) TH_LOG("%s", strerror(errno));
	EXPECT_LE(250, qn_now_ms() - t0);
	EXPECT_GT(3000, qn_now_ms() - t0);
}

/*
 * A thread blocked in accept4() with an address buffer, and what it
 * returned; tid and done are written and read with __atomic builtins.
 */
struct acceptor {
	int lfd;
	pthread_t th;
	pid_t tid;		/* set once the thread runs */
	int done;
	int fd, err;
	int64_t t_end;
	struct sockaddr_qt peer;
	socklen_t len;
};

static void *acceptor_main(void *arg)
{
	struct acceptor *a = arg;

	a->len = sizeof(a->peer);
	__atomic_store_n(&a->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	a->fd = accept4(a->lfd, (struct sockaddr *)&a->peer, &a->len, SOCK_CLOEXEC);
	a->err = a->fd < 0 ? errno : 0;
	a->t_end = qn_now_ms();
	__atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Thread tid's state letter ('S': asleep) from /proc; its wchan in wchan. */
static char thread_state(pid_t tid, char *wchan, size_t len)
{
	char path[64], *s, *p, st = '?';

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	s = qn_read_file(path, NULL);
	/* "tid (comm) S ...": the comm may hold anything but the last ')'. */
	p = s ? strrchr(s, ')') : NULL;
	if (p && p[1] == ' ')
		st = p[2];
	free(s);
	snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", tid);
	s = qn_read_file(path, NULL);
	snprintf(wchan, len, "%s", s ? s : "?");
	free(s);
	return st;
}

/*
 * A blocking accept() with nothing waiting sleeps (seen from /proc, and
 * still not returned 500 ms later); a real client then wakes it: it
 * returns that client's address and port, and the new socket carries
 * data both ways.
 */
TEST_F_TIMEOUT(server, accept_blocks, 60)
{
	struct acceptor *ac = calloc(1, sizeof(*ac));
	int lfd, port = 0, c, cport, a;
	char wchan[64] = "";
	int64_t t_conn;
	char st = '?';

	ASSERT_NE(NULL, ac);
	modem_up(_metadata, &self->e, NULL, false);
	lfd = qlisten(_metadata, &self->e, &port, 4, 0);
	ac->lfd = lfd;
	ASSERT_EQ(0, pthread_create(&ac->th, NULL, acceptor_main, ac));
	QN_WAIT_UNTIL(__atomic_load_n(&ac->tid, __ATOMIC_ACQUIRE), 5000, 10);
	ASSERT_NE(0, __atomic_load_n(&ac->tid, __ATOMIC_ACQUIRE));
	/* Asleep: in accept() (the only call after tid is set), not on its way there. */
	QN_WAIT_UNTIL((st = thread_state(ac->tid, wchan, sizeof(wchan))) == 'S', 5000, 10);
	ASSERT_EQ('S', st) TH_LOG("accept thread state %c, wchan %s", st, wchan);
	qn_sleep_ms(500);
	ASSERT_FALSE(__atomic_load_n(&ac->done, __ATOMIC_ACQUIRE))
		TH_LOG("accept returned with no client: %d, %s", ac->fd, strerror(ac->err));
	st = thread_state(ac->tid, wchan, sizeof(wchan));
	EXPECT_EQ('S', st) TH_LOG("accept thread state %c, wchan %s", st, wchan);

	t_conn = qn_now_ms();
	c = client(_metadata, &self->e, port, &cport);
	QN_WAIT_UNTIL(__atomic_load_n(&ac->done, __ATOMIC_ACQUIRE), 10000, 10);
	ASSERT_TRUE(__atomic_load_n(&ac->done, __ATOMIC_ACQUIRE))
		TH_LOG("accept still blocked after a client connected");
	pthread_join(ac->th, NULL);
	ASSERT_LE(0, ac->fd) TH_LOG("accept: %s", strerror(ac->err));
	a = track(&self->e, ac->fd);
	EXPECT_LE(t_conn, ac->t_end);
	EXPECT_EQ(sizeof(struct sockaddr_qt), ac->len);
	EXPECT_EQ(qt_af(), ac->peer.sqt_family);
	EXPECT_EQ(cport, ntohs(ac->peer.sqt_port));
	EXPECT_STREQ("127.0.0.1", ac->peer.sqt_host);
	EXPECT_EQ(self->e.modem, ac->peer.sqt_modem);
	EXPECT_EQ(cport, qport(a, true, NULL));
	EXPECT_EQ(0, exchange(c, a, 95));
	free(ac);
}

/* An accepted socket's names and connectID, from accept() and the socket. */
TEST_F_TIMEOUT(server, accepted_names, 60)
{
	struct sockaddr_qt peer, name;
	socklen_t len = sizeof(peer);
	char urc[96];
	int lfd, port = 0, c, cport, a, lid, id, r;

	modem_up(_metadata, &self->e, NULL, true);
	lfd = qlisten(_metadata, &self->e, &port, 4, 0);
	lid = sockopt_int(lfd, SOL_QUECTEL, QT_CONNECT_ID);
	EXPECT_TRUE(lid >= 0 && lid < NCONN) TH_LOG("listener's connectID %d", lid);
	c = client(_metadata, &self->e, port, &cport);

	memset(&peer, 0, sizeof(peer));
	a = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
	ASSERT_LE(0, a) TH_LOG("accept: %s", strerror(errno));
	track(&self->e, a);
	EXPECT_EQ(qt_af(), peer.sqt_family);
	EXPECT_EQ(cport, ntohs(peer.sqt_port));
	EXPECT_STREQ("127.0.0.1", peer.sqt_host);

	memset(&peer, 0, sizeof(peer));
	r = qport(a, true, &peer);
	EXPECT_EQ(cport, r) TH_LOG("getpeername: %d", r);
	EXPECT_EQ(qt_af(), peer.sqt_family);
	EXPECT_STREQ("127.0.0.1", peer.sqt_host);
	EXPECT_EQ(self->e.modem, peer.sqt_modem);
	r = qport(a, false, &name);
	EXPECT_EQ(port, r) TH_LOG("getsockname: %d", r);
	EXPECT_EQ(qt_af(), name.sqt_family);

	/* The connectID is the one the module announced for this client. */
	id = sockopt_int(a, SOL_QUECTEL, QT_CONNECT_ID);
	EXPECT_TRUE(id >= 0 && id < NCONN && id != lid) TH_LOG("connectID %d", id);
	snprintf(urc, sizeof(urc), "+QIURC: \"incoming\",%d,%d,\"127.0.0.1\",%d", id, lid, cport);
	EXPECT_EQ(1, log_wait(&self->e, urc, 1, 5000)) TH_LOG("no '%s' on the wire", urc);
	EXPECT_EQ(0, exchange(c, a, 60));
}

/* What a client sends before accept() is read and waits in the new socket. */
TEST_F_TIMEOUT(server, data_before_accept, 60)
{
	unsigned char data[3000];
	int lfd, port = 0, c, a, inq;

	modem_up(_metadata, &self->e, NULL, true);
	lfd = qlisten(_metadata, &self->e, &port, 4, 0);
	c = client(_metadata, &self->e, port, NULL);
	qn_pattern(70, 0, data, sizeof(data));
	ASSERT_EQ((ssize_t)sizeof(data), send(c, data, sizeof(data), 0));
	EXPECT_EQ(POLLIN, poll_until(lfd, POLLIN, POLLIN, 10000) & POLLIN);
	/* The kernel reads until the module has nothing left (+QIRD: 0). */
	log_wait(&self->e, "+QIRD: 0\\r", 1, 10000);
	qn_sleep_ms(200);

	a = qaccept(_metadata, &self->e, lfd, SOCK_CLOEXEC);
	inq = ioctl_int(a, SIOCINQ);
	EXPECT_EQ((int)sizeof(data), inq) TH_LOG("queued at accept(): %d", inq);
	EXPECT_EQ(0, recv_pattern(a, 70, 0, sizeof(data)));
	EXPECT_EQ(0, exchange(c, a, 71));
}

/* Ports below 1024 need CAP_NET_BIND_SERVICE: EACCES for "nobody". */
TEST_F_TIMEOUT(server, unprivileged_low_port, 60)
{
	int high = qn_free_port(), fd, r;

	modem_up(_metadata, &self->e, NULL, false);
	EXPECT_EQ(EACCES, bind_unprivileged(&self->e, SOCK_STREAM, 80));
	EXPECT_EQ(EACCES, bind_unprivileged(&self->e, SOCK_STREAM, 1023));
	/* Not a refusal of everything: a high port is fine. */
	EXPECT_EQ(0, bind_unprivileged(&self->e, SOCK_STREAM, high));
	/* And root may bind a low port. */
	fd = qsock(_metadata, &self->e, 0);
	r = qbind(&self->e, fd, 1023);
	EXPECT_EQ(0, r) TH_LOG("root, port 1023: %s", strerror(-r));
}

/*
 * A port taken by a real listener: the module says so (573, on the wire
 * once: a port asked for is not retried), listen() gets EADDRINUSE. A
 * port held by another AF_QUECTEL stream socket: bind() gets EADDRINUSE,
 * until that socket is closed.
 */
TEST_F_TIMEOUT(server, port_in_use, 60)
{
	int port = 0, fd, a, b, c, r, p2 = qn_free_port();

	modem_up(_metadata, &self->e, NULL, true);
	listener(_metadata, &self->e, &port, 0);
	fd = qsock(_metadata, &self->e, 0);
	r = qbind(&self->e, fd, port);
	ASSERT_EQ(0, r) TH_LOG("bind only records the port: %s", strerror(-r));
	EXPECT_EQ(-1, listen(fd, 4));
	EXPECT_EQ(EADDRINUSE, errno) TH_LOG("listen on a port in use: %s", strerror(errno));
	EXPECT_EQ(1, wire_open_errors(&self->e, 573, 1)) TH_LOG("+QIOPEN: <id>,573 on the wire");

	a = qsock(_metadata, &self->e, 0);
	b = qsock(_metadata, &self->e, 0);
	c = qsock(_metadata, &self->e, 0);
	ASSERT_EQ(0, qbind(&self->e, a, p2));
	r = qbind(&self->e, b, p2);
	EXPECT_EQ(-EADDRINUSE, r) TH_LOG("second bind: %s", strerror(-r));
	ASSERT_EQ(0, listen(a, 4)) TH_LOG("%s", strerror(errno));
	r = qbind(&self->e, c, p2);
	EXPECT_EQ(-EADDRINUSE, r) TH_LOG("bind to a listener's port: %s", strerror(-r));
	/* Closing the holder frees the port (its close may finish later). */
	untrack_close(&self->e, a);
	r = bind_retrying(&self->e, b, p2, 10000);
	EXPECT_EQ(0, r) TH_LOG("bind after the holder closed: %s", strerror(-r));
	/* Those were our own refusals: the module refused nothing more. */
	EXPECT_EQ(1, wire_open_errors(&self->e, 573, 1));
}

/* A signal while accept() blocks: EINTR; the listener still works. */
TEST_F_TIMEOUT(server, accept_eintr, 60)
{
	int lfd, port = 0, r, c, a;
	int64_t took;

	modem_up(_metadata, &self->e, NULL, false);
	lfd = qlisten(_metadata, &self->e, &port, 4, 0);
	r = interrupted(accept1, lfd, 300, &took);
	if (r >= 0)
		track(&self->e, r);
	EXPECT_EQ(-EINTR, r) TH_LOG("%s after %lld ms", strerror(-r), (long long)took);
	EXPECT_GT(3000, took);
	EXPECT_EQ(1, n_sigusr1);

	c = client(_metadata, &self->e, port, NULL);
	a = qaccept(_metadata, &self->e, lfd, 0);
	EXPECT_EQ(0, exchange(c, a, 80));
}

/*
 * The context is lost ("pdpdeact"): a blocked accept() returns ENETDOWN;
 * a listener with a connection waiting hands that out first (itself
 * failed with the context), then POLLERR and ENETDOWN.
 */
TEST_F_TIMEOUT(server, context_lost, 60)
{
	int l1, l2, p1 = 0, p2 = 0, a, err;
	short ev;

	modem_up(_metadata, &self->e, NULL, false);
	l1 = qlisten(_metadata, &self->e, &p1, 4, 0);
	l2 = qlisten(_metadata, &self->e, &p2, 4, 0);
	client(_metadata, &self->e, p1, NULL);
	ASSERT_EQ(POLLIN, poll_until(l1, POLLIN, POLLIN, 10000) & POLLIN);

	expect_unblocked(_metadata, &self->e, l2, BLOCKED_ACCEPT, pdpdeact_cmd(), ENETDOWN);

	ASSERT_EQ(0, fcntl(l1, F_SETFL, O_NONBLOCK));
	a = accept4(l1, NULL, NULL, SOCK_CLOEXEC);
	EXPECT_LE(0, a) TH_LOG("the waiting connection: %s", strerror(errno));
	if (a >= 0) {
		track(&self->e, a);
		err = so_error(a);
		EXPECT_EQ(ENETDOWN, err) TH_LOG("accepted socket: %s", strerror(err));
	}
	ev = poll_until(l1, POLLIN | POLLOUT, POLLERR, 2000);
	EXPECT_EQ(POLLERR, ev & (POLLERR | POLLOUT)) TH_LOG("failed listener: revents 0x%x", ev);
	EXPECT_EQ(-1, accept(l1, NULL, NULL));
	EXPECT_EQ(ENETDOWN, errno) TH_LOG("accept on the failed listener: %s", strerror(errno));
}

/*
 * The module reboots: a blocked accept() returns ECONNRESET, and once the
 * modem is ready again a new listener works.
 */
TEST_F_TIMEOUT(server, module_reboot, 60)
{
	int lfd, port = 0, c, a;

	modem_up(_metadata, &self->e, NULL, false);
	lfd = qlisten(_metadata, &self->e, &port, 4, 0);
	expect_unblocked(_metadata, &self->e, lfd, BLOCKED_ACCEPT, "reboot", ECONNRESET);
	EXPECT_FALSE(qn_is_listening(port)) TH_LOG("127.0.0.1:%d still listens", port);

	ASSERT_EQ(0, qt_wait_state(self->e.sim.slave, "ready", 30, self->e.line, LINE))
		TH_LOG("modem: %s", self->e.line);
	port = 0;
	lfd = qlisten(_metadata, &self->e, &port, 4, 0);
	c = client(_metadata, &self->e, port, NULL);
	a = qaccept(_metadata, &self->e, lfd, 0);
	EXPECT_EQ(0, exchange(c, a, 85));
}

/* Start "socat -u from to" (one way, from to to). */
static void socat_u(struct __test_metadata *_metadata, struct qt_env *e, const char *from,
		    const char *to)
{
	const char *argv[] = { "socat", "-u", from, to, NULL };

	e->socat = qn_spawn(argv);
	ASSERT_LT(0, e->socat);
}

/* socat as a real client: 64 KiB through an accepted socket, each way. */
TEST_F_TIMEOUT(server, socat_client, 90)
{
	const size_t n = 64 * KIB;
	char conn_arg[64], file_arg[128];
	struct qn_hash want;
	unsigned char *buf;
	int lfd, port = 0, a;
	FILE *f;

	if (!have_socat())
		SKIP(return, "socat is not installed (make deps installs it)");
	modem_up(_metadata, &self->e, NULL, false);
	lfd = qlisten(_metadata, &self->e, &port, 4, 0);
	snprintf(self->e.tmpfile, sizeof(self->e.tmpfile), "/tmp/server_test.%d.data", getpid());
	snprintf(conn_arg, sizeof(conn_arg), "TCP4:127.0.0.1:%d", port);
	buf = malloc(n);
	qn_pattern(90, 0, buf, n);
	qn_pattern_hash(90, n, &want);

	/* socat sends a file to us, then closes. */
	f = fopen(self->e.tmpfile, "w");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(n, fwrite(buf, 1, n, f));
	fclose(f);
	snprintf(file_arg, sizeof(file_arg), "OPEN:%s", self->e.tmpfile);
	socat_u(_metadata, &self->e, file_arg, conn_arg);
	a = qaccept(_metadata, &self->e, lfd, SOCK_CLOEXEC);
	EXPECT_EQ(0, recv_pattern(a, 90, 0, n));
	EXPECT_EQ(0, recv(a, buf, 1, 0)) TH_LOG("no EOF after socat's data");
	socat_done(_metadata, &self->e, 20000);
	untrack_close(&self->e, a);

	/* We send to socat, which writes a file until our close. */
	unlink(self->e.tmpfile);
	snprintf(file_arg, sizeof(file_arg), "CREATE:%s", self->e.tmpfile);
	socat_u(_metadata, &self->e, conn_arg, file_arg);
	a = qaccept(_metadata, &self->e, lfd, SOCK_CLOEXEC);
	ASSERT_EQ((ssize_t)n, send(a, buf, n, MSG_NOSIGNAL)) TH_LOG("%s", strerror(errno));
	free(buf);
	untrack_close(&self->e, a);
	socat_wrote(_metadata, &self->e, 30000, &want);
}

TEST_HARNESS_MAIN
