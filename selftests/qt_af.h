/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the AF_QUECTEL socket selftests (tcp_test, server_test, udp_test)
 * share: the family and defaults the module was loaded with, the signals
 * a test counts, one test's environment (a simulated modem on a pty, the
 * descriptors, peers and children it holds, torn down together; the
 * fixture QT_ENV_FIXTURE), socket and address builders, polling and option
 * helpers, data checks, bulk transfers in threads, callers blocked in
 * threads, socat children, the qtsim transcript, and the address checks
 * connect() and bind() share.
 *
 * Include after kselftest_harness.h: the helpers that take _metadata
 * fail the test with its ASSERT macros. Header-only so each test stays
 * one program.
 */
#ifndef QT_AF_H
#define QT_AF_H

#include <stddef.h>
#include <sys/stat.h>

#include "qt_sim.h"
#include "qt_net.h"

#define LINE		1024
#define MAXFD		64
#define NCONN		12		/* connectIDs per modem */
#define KIB		1024
#define MIB		(1024 * 1024)
#define SOCK_TMO_S	20		/* default SO_RCVTIMEO/SO_SNDTIMEO */

#ifndef SIOCINQ
#define SIOCINQ		FIONREAD
#endif
#ifndef SIOCOUTQ
#define SIOCOUTQ	TIOCOUTQ
#endif

/* ---- the family and defaults the module was loaded with ---- */

static inline int sysfs_param(const char *name, int dflt)
{
	char path[128];
	FILE *f;
	int v = dflt;

	snprintf(path, sizeof(path), "/sys/module/quectel/parameters/%s", name);
	f = fopen(path, "r");
	if (!f)
		return dflt;
	if (fscanf(f, "%d", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

/* The "family" parameter may move AF_QUECTEL. */
static inline int qt_af(void)
{
	static int af;

	if (!af)
		af = sysfs_param("family", AF_QUECTEL);
	return af;
}

/* Context 0 means the "context" parameter (default 1). */
static inline int default_ctx(void)
{
	return sysfs_param("context", 1);
}

/* ---- signals the tests count ---- */

static volatile sig_atomic_t n_sigpipe, n_sigusr1;

static inline void on_sigpipe(int sig)
{
	(void)sig;
	n_sigpipe++;
}

static inline void on_sigusr1(int sig)
{
	(void)sig;
	n_sigusr1++;
}

/* ---- one test's environment: a simulated modem, its sockets and peers ---- */

struct qt_env {
	struct qt_sim sim;
	int tty;		/* the attached slave, -1 */
	int modem;		/* N of qm<N> */
	int refcnt;
	int fds[MAXFD];		/* closed by the teardown */
	char line[LINE];
	char log[96];		/* qtsim --log transcript, "" if none */
	struct qn_echo echo;
	pid_t socat;
	char tmpfile[96];
};

/* The fixture setup: nothing held yet, signals counted. */
static inline void qt_env_setup(struct qt_env *e)
{
	int i;

	e->tty = -1;
	e->modem = -1;
	e->socat = 0;
	for (i = 0; i < MAXFD; i++)
		e->fds[i] = -1;
	e->refcnt = qt_module_refcnt();
	/* A stray SIGPIPE must fail a check, not kill the test. */
	qn_catch(SIGPIPE, on_sigpipe, 1);
	/* No SA_RESTART: a blocked call sees EINTR. */
	qn_catch(SIGUSR1, on_sigusr1, 0);
	n_sigpipe = 0;
	n_sigusr1 = 0;
}

/*
 * The fixture teardown: close, kill and reap everything the test holds,
 * then check that every socket and the modem let go of the module.
 */
static inline void qt_env_teardown(struct __test_metadata *_metadata, struct qt_env *e)
{
	int i, n;

	for (i = 0; i < MAXFD; i++)
		if (e->fds[i] >= 0)
			close(e->fds[i]);
	qn_kill_reap(&e->socat);
	qn_echo_stop(&e->echo);
	if (e->tty >= 0)
		close(e->tty);
	qt_sim_stop(&e->sim, SIGTERM);
	if (e->log[0])
		unlink(e->log);
	if (e->tmpfile[0])
		unlink(e->tmpfile);
	QN_WAIT_UNTIL((n = qt_module_refcnt()) == e->refcnt, 10000, 50);
	EXPECT_EQ(e->refcnt, n);
}

/* A kselftest fixture that is one struct qt_env, set up and torn down as above. */
#define QT_ENV_FIXTURE(name) \
	FIXTURE(name) { \
		struct qt_env e; \
	}; \
	FIXTURE_SETUP(name) \
	{ \
		qt_env_setup(&self->e); \
	} \
	FIXTURE_TEARDOWN(name) \
	{ \
		qt_env_teardown(_metadata, &self->e); \
	}

/* Remember fd for the teardown; returns it. */
static inline int track(struct qt_env *e, int fd)
{
	int i;

	for (i = 0; i < MAXFD && fd >= 0; i++)
		if (e->fds[i] < 0) {
			e->fds[i] = fd;
			break;
		}
	return fd;
}

/* Close a tracked fd now. */
static inline void untrack_close(struct qt_env *e, int fd)
{
	int i;

	for (i = 0; i < MAXFD; i++)
		if (e->fds[i] == fd)
			e->fds[i] = -1;
	close(fd);
}

/*
 * Start qtsim with --rdy-delay 0 plus opts (NULL-terminated, may be
 * NULL), with a transcript if log, attach and wait for state=ready.
 */
static inline void modem_up(struct __test_metadata *_metadata, struct qt_env *e,
			    const char *const *opts, bool log)
{
	const char *argv[24];
	int n = 0;

	argv[n++] = "--rdy-delay";
	argv[n++] = "0";
	if (log) {
		snprintf(e->log, sizeof(e->log), "/tmp/%s.%d.log",
			 program_invocation_short_name, getpid());
		argv[n++] = "--log";
		argv[n++] = e->log;
	}
	while (opts && *opts && n < 22)
		argv[n++] = *opts++;
	argv[n] = NULL;
	ASSERT_EQ(0, qt_sim_start(&e->sim, argv));
	ASSERT_EQ(0, qt_sim_ctl(&e->sim, "ping"));
	e->tty = qt_attach(e->sim.slave);
	ASSERT_LE(0, e->tty);
	ASSERT_EQ(0, qt_wait_state(e->sim.slave, "ready", 30, e->line, LINE))
		TH_LOG("modem: %s", e->line);
	/* The index is the lowest free one, not always 0. */
	ASSERT_EQ(1, sscanf(e->line, "qm%d ", &e->modem))
		TH_LOG("modem: %s", e->line);
}

/*
 * qtsim speaking dialect, with more options (NULL-terminated, may be
 * NULL) and a transcript if log, ready; the kernel must have picked the
 * same set, or a variant would silently test the other one.
 */
static inline void modem_up_dialect(struct __test_metadata *_metadata, struct qt_env *e,
				    const char *dialect, const char *const *more, bool log)
{
	const char *opts[12] = { "--dialect", dialect };
	char want[32];
	int n = 2;

	while (more && *more && n < 11)
		opts[n++] = *more++;
	opts[n] = NULL;
	modem_up(_metadata, e, opts, log);
	snprintf(want, sizeof(want), " dialect=%s ", dialect);
	ASSERT_NE(NULL, strstr(e->line, want)) TH_LOG("modem: %s", e->line);
}

/*
 * Start qtsim as a hung module (silent from the start), attach, and wait
 * until the modem exists, stuck in bring-up (state=sync).
 */
static inline void modem_hung(struct __test_metadata *_metadata, struct qt_env *e)
{
	static const char *const opts[] = { "--rdy-delay", "0", NULL };

	ASSERT_EQ(0, qt_sim_start(&e->sim, opts));
	ASSERT_EQ(0, qt_sim_ctl(&e->sim, "silent on"));
	e->tty = qt_attach(e->sim.slave);
	ASSERT_LE(0, e->tty);
	ASSERT_EQ(0, qt_wait_state(e->sim.slave, "sync", 5, e->line, LINE));
	ASSERT_EQ(1, sscanf(e->line, "qm%d ", &e->modem));
}

static inline void ctl(struct __test_metadata *_metadata, struct qt_env *e, const char *cmd)
{
	ASSERT_EQ(0, qt_sim_ctl(&e->sim, cmd)) TH_LOG("qtsim control '%s'", cmd);
}

/* A numeric field of this modem's /proc/net/quectel_modem line, or -1. */
static inline long modem_field(struct qt_env *e, const char *key)
{
	char tty[32];

	if (qt_modem_line(qt_tty_name(e->sim.slave, tty, sizeof(tty)), e->line, LINE))
		return -1;
	return qt_field(e->line, key);
}

/* Wait up to ms for that field to reach min; the last value. */
static inline long modem_field_wait(struct qt_env *e, const char *key, long min, int ms)
{
	long v;

	QN_WAIT_UNTIL((v = modem_field(e, key)) >= min, ms, 50);
	return v;
}

/* An AF_QUECTEL socket of type with bounded blocking (SOCK_TMO_S). */
static inline int qsock_type(struct __test_metadata *_metadata, struct qt_env *e,
			     int type, int flags)
{
	struct timeval tv = { .tv_sec = SOCK_TMO_S };
	int fd = socket(qt_af(), type | SOCK_CLOEXEC | flags, 0);

	ASSERT_LE(0, fd) TH_LOG("socket(%d, %d): %s", qt_af(), type, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return track(e, fd);
}

/* A stream socket. */
static inline int qsock(struct __test_metadata *_metadata, struct qt_env *e, int flags)
{
	return qsock_type(_metadata, e, SOCK_STREAM, flags);
}

/* A datagram socket. */
static inline int qdgram(struct __test_metadata *_metadata, struct qt_env *e, int flags)
{
	return qsock_type(_metadata, e, SOCK_DGRAM, flags);
}

/* A sockaddr_qt on this test's modem, default context. */
static inline struct sockaddr_qt qaddr(struct qt_env *e, const char *host, int port)
{
	struct sockaddr_qt a;

	memset(&a, 0, sizeof(a));
	a.sqt_family = qt_af();
	a.sqt_port = htons(port);
	a.sqt_modem = e->modem;
	snprintf(a.sqt_host, sizeof(a.sqt_host), "%s", host);
	return a;
}

/* connect() with a sockaddr_qt of the given length: 0 or -errno. */
static inline int qconnect_len(int fd, const void *addr, socklen_t len)
{
	return connect(fd, (const struct sockaddr *)addr, len) ? -errno : 0;
}

static inline int qconnect(struct qt_env *e, int fd, const char *host, int port)
{
	struct sockaddr_qt a = qaddr(e, host, port);

	return qconnect_len(fd, &a, sizeof(a));
}

/* bind() with an address of the given length: 0 or -errno. */
static inline int bind_len(int fd, const void *addr, socklen_t len)
{
	return bind(fd, (const struct sockaddr *)addr, len) ? -errno : 0;
}

/* bind() to port on this test's modem (any local address): 0 or -errno. */
static inline int qbind(struct qt_env *e, int fd, int port)
{
	struct sockaddr_qt a = qaddr(e, "", port);

	return bind_len(fd, &a, sizeof(a));
}

/* The port getsockname() (or getpeername() if peer) reports, or -errno. */
static inline int qport(int fd, bool peer, struct sockaddr_qt *out)
{
	struct sockaddr_qt a;
	socklen_t len = sizeof(a);
	int r;

	memset(&a, 0, sizeof(a));
	r = peer ? getpeername(fd, (struct sockaddr *)&a, &len) :
		   getsockname(fd, (struct sockaddr *)&a, &len);
	if (r)
		return -errno;
	if (out)
		*out = a;
	return ntohs(a.sqt_port);
}

/* A new stream socket connected to 127.0.0.1:port (asserts). */
static inline int qconnected(struct __test_metadata *_metadata, struct qt_env *e, int port)
{
	int fd = qsock(_metadata, e, 0), r;

	r = qconnect(e, fd, "127.0.0.1", port);
	ASSERT_EQ(0, r) TH_LOG("connect to 127.0.0.1:%d: %s", port, strerror(-r));
	return fd;
}

/*
 * Connect n sockets to port, retrying EADDRNOTAVAIL until deadline (a
 * connectID being given back finishes in the background). The sockets
 * are fds; returns how many connected.
 */
static inline int connect_many(struct qt_env *e, int *fds, int n, int port,
			       int64_t deadline, int *last_err)
{
	int i, ok = 0;

	*last_err = 0;
	for (i = 0; i < n; i++) {
		int r;

		do {
			r = qconnect(e, fds[i], "127.0.0.1", port);
			if (r != -EADDRNOTAVAIL)
				break;
			qn_sleep_ms(100);
		} while (qn_now_ms() < deadline);
		if (r) {
			*last_err = -r;
			break;
		}
		ok++;
	}
	return ok;
}

/*
 * All nconn connectIDs of the modem (NCONN for the modern set) are free
 * again (within ms): nconn new client sockets connect to the echo server,
 * then close.
 */
static inline void all_n_ids_free(struct __test_metadata *_metadata, struct qt_env *e,
				  int nconn, int ms)
{
	int fds[NCONN], i, n, err;

	if (!e->echo.pid) {
		ASSERT_EQ(0, qn_echo_start(&e->echo));
	}
	for (i = 0; i < nconn; i++)
		fds[i] = qsock(_metadata, e, 0);
	n = connect_many(e, fds, nconn, e->echo.port, qn_now_ms() + ms, &err);
	EXPECT_EQ(nconn, n) TH_LOG("only %d connectIDs came back; connect #%d: %s",
				   n, n, strerror(err));
	for (i = 0; i < nconn; i++)
		untrack_close(e, fds[i]);
}

static inline void all_ids_free(struct __test_metadata *_metadata, struct qt_env *e, int ms)
{
	all_n_ids_free(_metadata, e, NCONN, ms);
}

/* A loopback listener (tracked); rcvbuf > 0 makes a peer that fills fast. */
static inline int listener(struct __test_metadata *_metadata, struct qt_env *e,
			   int *port, int rcvbuf)
{
	int fd = qn_listen(AF_INET, port, rcvbuf);

	ASSERT_LE(0, fd);
	return track(e, fd);
}

static inline int peer_accept(struct __test_metadata *_metadata, struct qt_env *e,
			      int lfd, int *peer_port)
{
	int fd = qn_accept(lfd, 10000, peer_port);

	ASSERT_LE(0, fd) TH_LOG("the simulator never connected to the listener");
	return track(e, fd);
}

static inline void echo_up(struct __test_metadata *_metadata, struct qt_env *e)
{
	ASSERT_EQ(0, qn_echo_start(&e->echo));
}

/* Is socat on $PATH? */
static inline bool have_socat(void)
{
	return system("command -v socat >/dev/null 2>&1") == 0;
}

/*
 * In a child that is "nobody" without capabilities: a new socket of type
 * binds port on this modem. 0 or the errno (-1: no answer in 10 s).
 */
static inline int bind_unprivileged(struct qt_env *e, int type, int port)
{
	pid_t pid = fork();
	int st, fd;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (qt_drop_privileges())
			_exit(200);
		fd = socket(qt_af(), type | SOCK_CLOEXEC, 0);
		if (fd < 0)
			_exit(201);
		_exit(qbind(e, fd, port) ? errno : 0);
	}
	st = qn_wait_exit(pid, 10000);
	if (st == -1) {
		qn_kill_reap(&pid);
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * op(fd) with SIGUSR1 sent to this thread after ms (the handler does not
 * restart calls): op's result, or -errno; how long it took in *took.
 */
static inline int interrupted(int (*op)(int fd), int fd, int ms, int64_t *took)
{
	int64_t t0 = qn_now_ms();
	struct qn_kick k;
	int r;

	if (qn_kick_self(&k, ms, SIGUSR1))
		return -EAGAIN;
	r = op(fd);
	if (r < 0)
		r = -errno;
	qn_kick_join(&k);
	*took = qn_now_ms() - t0;
	return r;
}

/* bind() fd to port, retrying EADDRINUSE for up to ms (a holder closing): 0 or -errno. */
static inline int bind_retrying(struct qt_env *e, int fd, int port, int ms)
{
	int r;

	QN_WAIT_UNTIL((r = qbind(e, fd, port)) != -EADDRINUSE, ms, 100);
	return r;
}

/* ---- polling, options, queues ---- */

/* poll() one fd for ms; revents (0 on timeout). */
static inline short poll1(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, ms) == 1 ? p.revents : 0;
}

/* Wait until (revents & want) == want, up to ms; the last revents. */
static inline short poll_until(int fd, short events, short want, int ms)
{
	int64_t end = qn_now_ms() + ms;
	short r;

	do {
		r = poll1(fd, events, 50);
		if ((r & want) == want)
			break;
	} while (qn_now_ms() < end);
	return r;
}

static inline int ioctl_int(int fd, unsigned long req)
{
	int v = -1;

	return ioctl(fd, req, &v) ? -errno - 1000 : v;
}

static inline int sockopt_int(int fd, int level, int name)
{
	int v = -12345;
	socklen_t len = sizeof(v);

	return getsockopt(fd, level, name, &v, &len) ? -errno - 1000 : v;
}

static inline int so_error(int fd)
{
	return sockopt_int(fd, SOL_SOCKET, SO_ERROR);
}

/* Wait until SIOCINQ reaches n (up to ms); the last value. */
static inline int wait_inq(int fd, int n, int ms)
{
	int v;

	QN_WAIT_UNTIL((v = ioctl_int(fd, SIOCINQ)) >= n, ms, 20);
	return v;
}

/*
 * Nothing to read on fd: EAGAIN three ways (MSG_DONTWAIT, O_NONBLOCK,
 * SO_RCVTIMEO of 300 ms, which the call waits out); SO_RCVTIMEO is
 * SOCK_TMO_S again afterwards.
 */
static inline void expect_recv_eagain(struct __test_metadata *_metadata, int fd)
{
	struct timeval tv = { .tv_usec = 300000 };
	char buf[16];
	int64_t t0;

	EXPECT_EQ(-1, recv(fd, buf, 10, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno) TH_LOG("MSG_DONTWAIT: %s", strerror(errno));
	ASSERT_EQ(0, fcntl(fd, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-1, recv(fd, buf, 10, 0));
	EXPECT_EQ(EAGAIN, errno) TH_LOG("O_NONBLOCK: %s", strerror(errno));
	ASSERT_EQ(0, fcntl(fd, F_SETFL, 0));
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	t0 = qn_now_ms();
	EXPECT_EQ(-1, recv(fd, buf, 10, 0));
	EXPECT_EQ(EAGAIN, errno) TH_LOG("SO_RCVTIMEO: %s", strerror(errno));
	EXPECT_LE(250, qn_now_ms() - t0);
	EXPECT_GT(3000, qn_now_ms() - t0);
	tv.tv_usec = 0;
	tv.tv_sec = SOCK_TMO_S;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* ---- access modes (SOL_QUECTEL, QT_ACCESS_MODE, QT_RX_DROPPED) ---- */

/* setsockopt(QT_ACCESS_MODE): 0 or -errno. */
static inline int qt_set_mode(int fd, int mode)
{
	return setsockopt(fd, SOL_QUECTEL, QT_ACCESS_MODE, &mode, sizeof(mode)) ? -errno : 0;
}

/* getsockopt(QT_ACCESS_MODE): the mode in force, or -errno - 1000. */
static inline int qt_get_mode(int fd)
{
	return sockopt_int(fd, SOL_QUECTEL, QT_ACCESS_MODE);
}

/* QT_RX_DROPPED (a __u64), or -errno. */
static inline int64_t qt_rx_dropped(int fd)
{
	uint64_t v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_QUECTEL, QT_RX_DROPPED, &v, &len))
		return -errno;
	return len == sizeof(v) ? (int64_t)v : -EMSGSIZE;
}

/* SO_RCVBUFFORCE of at least bytes (asserts): a receiver nothing pushed can overflow. */
static inline void qt_big_rcvbuf(struct __test_metadata *_metadata, int fd, int bytes)
{
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)))
		TH_LOG("SO_RCVBUFFORCE: %s", strerror(errno));
	EXPECT_LE(bytes, sockopt_int(fd, SOL_SOCKET, SO_RCVBUF));
}

/* ---- data ---- */

/* Send pattern bytes [off, off + n) completely on a blocking socket. */
static inline ssize_t send_pattern(int fd, uint64_t seed, uint64_t off, size_t n, int flags)
{
	unsigned char buf[16 * KIB];
	size_t done = 0;

	while (done < n) {
		size_t k = n - done < sizeof(buf) ? n - done : sizeof(buf);
		ssize_t r;

		qn_pattern(seed, off + done, buf, k);
		r = send(fd, buf, k, flags | MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return done ? (ssize_t)done : -1;
		}
		done += r;
	}
	return done;
}

/* Receive exactly n bytes (blocking socket); bytes received. */
static inline size_t recv_all(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = recv(fd, (char *)p + got, n - got, 0);

		if (r <= 0)
			break;
		got += r;
	}
	return got;
}

/* Receive n bytes and compare with pattern bytes [off, off + n). */
static inline int recv_pattern(int fd, uint64_t seed, uint64_t off, size_t n)
{
	unsigned char *got = malloc(n), *want = malloc(n);
	int ok;

	qn_pattern(seed, off, want, n);
	ok = recv_all(fd, got, n) == n && !memcmp(got, want, n);
	free(got);
	free(want);
	return ok ? 0 : -1;
}

/* ---- transfers in threads: one sender and one receiver per socket ---- */

struct xfer {
	int fd;
	size_t len;		/* each way */
	uint64_t seed;
	pthread_t tx, rx;
	/* results */
	struct qn_hash sent, rcvd;
	int tx_err, rx_err;	/* errno, 0 */
	volatile int done;	/* both threads finished */
	int running;
};

static inline void *xfer_tx(void *arg)
{
	struct xfer *x = arg;
	unsigned char *buf = malloc(32 * KIB);
	uint64_t rnd = x->seed;
	size_t off = 0;

	qn_hash_init(&x->sent);
	while (off < x->len) {
		/* Varied sizes: splits the stream at many different points. */
		size_t k = 1 + qn_rand(&rnd) % (32 * KIB);
		ssize_t r;

		if (k > x->len - off)
			k = x->len - off;
		qn_pattern(x->seed, off, buf, k);
		r = send(x->fd, buf, k, MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			x->tx_err = errno;
			break;
		}
		qn_hash_add(&x->sent, buf, r);
		off += r;
	}
	free(buf);
	__atomic_add_fetch(&x->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static inline void *xfer_rx(void *arg)
{
	struct xfer *x = arg;
	unsigned char *buf = malloc(64 * KIB);

	qn_hash_init(&x->rcvd);
	while (x->rcvd.n < x->len) {
		size_t want = x->len - x->rcvd.n;
		ssize_t r = recv(x->fd, buf, want < 64 * KIB ? want : 64 * KIB, 0);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			x->rx_err = r ? errno : -1;	/* -1: early EOF */
			break;
		}
		qn_hash_add(&x->rcvd, buf, r);
	}
	free(buf);
	__atomic_add_fetch(&x->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A peer that sends its pattern (FLOOD_SEED) until stopped or an error. */
#define FLOOD_SEED	0x5eed
struct flood {
	int fd;
	volatile int stop;
	uint64_t sent;
	int err;
	pthread_t th;
};

static inline void *flood_main(void *arg)
{
	struct flood *f = arg;
	unsigned char buf[16 * KIB];

	while (!f->stop) {
		ssize_t r;

		qn_pattern(FLOOD_SEED, f->sent, buf, sizeof(buf));
		r = send(f->fd, buf, sizeof(buf), MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			f->err = errno;
			break;
		}
		f->sent += r;
	}
	return NULL;
}

/* @fd should have SO_SNDTIMEO set, so that flood_stop() returns soon. */
static inline struct flood *flood_start(int fd)
{
	struct flood *f = calloc(1, sizeof(*f));

	f->fd = fd;
	pthread_create(&f->th, NULL, flood_main, f);
	return f;
}

static inline void flood_stop(struct flood *f)
{
	f->stop = 1;
	pthread_join(f->th, NULL);
}

/* The receiving half of a transfer alone: takes everything until EOF. */
static inline struct xfer *drain_start(int fd)
{
	struct xfer *x = calloc(1, sizeof(*x));

	x->fd = fd;
	x->len = SIZE_MAX;
	pthread_create(&x->rx, NULL, xfer_rx, x);
	return x;
}

/* Heap-allocated: a thread that outlives a failed test must not write a dead stack. */
static inline struct xfer *xfer_start(int fd, size_t len, uint64_t seed)
{
	struct xfer *x = calloc(1, sizeof(*x));

	x->fd = fd;
	x->len = len;
	x->seed = seed;
	pthread_create(&x->tx, NULL, xfer_tx, x);
	pthread_create(&x->rx, NULL, xfer_rx, x);
	x->running = 1;
	return x;
}

/* Wait for every transfer until deadline_ms (absolute); 0 if all ended. */
static inline int xfers_done(struct xfer **xs, int n)
{
	int i, done = 0;

	for (i = 0; i < n; i++)
		done += __atomic_load_n(&xs[i]->done, __ATOMIC_ACQUIRE) == 2;
	return done;
}

static inline int xfer_wait(struct xfer **xs, int n, int64_t deadline_ms)
{
	int i, all;

	QN_WAIT_UNTIL((all = xfers_done(xs, n) == n), deadline_ms - qn_now_ms(), 20);
	for (i = 0; i < n; i++)
		if (__atomic_load_n(&xs[i]->done, __ATOMIC_ACQUIRE) == 2 && xs[i]->running) {
			pthread_join(xs[i]->tx, NULL);
			pthread_join(xs[i]->rx, NULL);
			xs[i]->running = 0;
		}
	return all ? 0 : -1;
}

/* Both ends of transfer x ran without an error or an early EOF. */
static inline void xfer_check_ends(struct __test_metadata *_metadata, struct xfer *x, int i)
{
	EXPECT_EQ(0, x->tx_err) TH_LOG("socket %d: send: %s", i, strerror(x->tx_err));
	EXPECT_EQ(0, x->rx_err) TH_LOG("socket %d: recv: %s", i,
					x->rx_err < 0 ? "early EOF" : strerror(x->rx_err));
	EXPECT_EQ(x->len, x->sent.n);
}

/* Check one finished echo transfer: both directions complete and intact. */
static inline void xfer_check(struct __test_metadata *_metadata, struct xfer *x, int i)
{
	xfer_check_ends(_metadata, x, i);
	EXPECT_EQ(x->len, x->rcvd.n) TH_LOG("socket %d: %llu of %zu bytes came back", i,
					     (unsigned long long)x->rcvd.n, x->len);
	EXPECT_EQ(x->sent.h, x->rcvd.h) TH_LOG("socket %d: echoed data differs", i);
}

/* The echo server saw exactly what transfer x sent. */
static inline int echo_saw(struct qt_env *e, struct xfer *x)
{
	int i, n = __atomic_load_n(&e->echo.sh->accepted, __ATOMIC_ACQUIRE);

	for (i = 0; i < n; i++)
		if (e->echo.sh->conn[i].in_bytes == x->sent.n &&
		    e->echo.sh->conn[i].in_hash == x->sent.h)
			return 1;
	return 0;
}

/* One echo round trip of n pattern bytes on a connected socket. */
static inline int echo_roundtrip(int fd, uint64_t seed, size_t n)
{
	if (send_pattern(fd, seed, 0, n, 0) != (ssize_t)n)
		return -1;
	return recv_pattern(fd, seed, 0, n);
}

/*
 * Wait for one transfer through the echo server to finish, then check it
 * both ways (our hash, and what the server saw) and free it.
 */
static inline void echo_finish(struct __test_metadata *_metadata, struct qt_env *e,
			struct xfer *x, int64_t timeout_ms)
{
	ASSERT_EQ(0, xfer_wait(&x, 1, qn_now_ms() + timeout_ms))
		TH_LOG("stuck: sent %llu, received %llu", (unsigned long long)x->sent.n,
		       (unsigned long long)x->rcvd.n);
	xfer_check(_metadata, x, 0);
	EXPECT_TRUE(echo_saw(e, x)) TH_LOG("the server received other bytes");
	free(x);
}

/* ---- a thread blocked in one call on one socket, and how it ended ---- */

enum blocked_op { BLOCKED_RECV, BLOCKED_SEND, BLOCKED_ACCEPT };

struct blocked {
	int fd;
	int op;			/* enum blocked_op */
	pthread_t th;
	volatile int done;
	ssize_t ret;		/* the failing call's result (accept: the new fd) */
	int err;
	int64_t t_end;
};

static inline void *blocked_main(void *arg)
{
	struct blocked *b = arg;
	static __thread unsigned char buf[16 * KIB];

	for (;;) {
		if (b->op == BLOCKED_ACCEPT)
			b->ret = accept4(b->fd, NULL, NULL, SOCK_CLOEXEC);
		else
			b->ret = b->op == BLOCKED_SEND ?
				 send(b->fd, buf, sizeof(buf), MSG_NOSIGNAL) :
				 recv(b->fd, buf, sizeof(buf), 0);
		b->err = b->ret < 0 ? errno : 0;
		/* A sender returns counts until the queue is full: keep going. */
		if (b->op == BLOCKED_SEND && b->ret > 0)
			continue;
		if (b->ret < 0 && b->err == EINTR)
			continue;
		break;
	}
	b->t_end = qn_now_ms();
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static inline struct blocked *blocked_start(int fd, int op)
{
	struct blocked *b = calloc(1, sizeof(*b));

	b->fd = fd;
	b->op = op;
	pthread_create(&b->th, NULL, blocked_main, b);
	return b;
}

/* Wait for every thread until deadline; how many finished. */
static inline int blocked_done(struct blocked **bs, int n)
{
	int i, done = 0;

	for (i = 0; i < n; i++)
		done += __atomic_load_n(&bs[i]->done, __ATOMIC_ACQUIRE);
	return done;
}

static inline int blocked_wait(struct blocked **bs, int n, int64_t deadline)
{
	int i, done;

	QN_WAIT_UNTIL((done = blocked_done(bs, n)) == n, deadline - qn_now_ms(), 20);
	for (i = 0; i < n; i++)
		if (bs[i]->done)
			pthread_join(bs[i]->th, NULL);
	return done;
}

/* The control command that makes the network drop the default context. */
static inline const char *pdpdeact_cmd(void)
{
	static char cmd[32];

	snprintf(cmd, sizeof(cmd), "urc pdpdeact %d", default_ctx());
	return cmd;
}

/*
 * While a thread is blocked in op on fd, qtsim control cmd happens: the
 * call must fail with errno want within 5 s.
 */
static inline void expect_unblocked(struct __test_metadata *_metadata, struct qt_env *e,
				    int fd, int op, const char *cmd, int want)
{
	static const char *const name[] = { "recv", "send", "accept" };
	struct blocked *b = blocked_start(fd, op);

	qn_sleep_ms(200);
	ctl(_metadata, e, cmd);
	ASSERT_EQ(1, blocked_wait(&b, 1, qn_now_ms() + 5000))
		TH_LOG("%s still blocked after '%s'", name[op], cmd);
	if (op == BLOCKED_ACCEPT && b->ret >= 0)
		track(e, b->ret);
	EXPECT_EQ(-1, b->ret);
	EXPECT_EQ(want, b->err) TH_LOG("blocked %s: %s", name[op], strerror(b->err));
	free(b);
}

/* ---- socat ---- */

/* socat (e->socat) ends within ms, successfully. */
static inline void socat_done(struct __test_metadata *_metadata, struct qt_env *e, int ms)
{
	int st = qn_wait_exit(e->socat, ms);

	ASSERT_NE(-1, st) TH_LOG("socat did not end (never saw EOF?)");
	e->socat = 0;
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("socat status 0x%x", st);
}

/* socat ends within ms, having written exactly the bytes of want to e->tmpfile. */
static inline void socat_wrote(struct __test_metadata *_metadata, struct qt_env *e, int ms,
			       const struct qn_hash *want)
{
	struct qn_hash got;
	size_t len = 0;
	char *data;

	socat_done(_metadata, e, ms);
	data = qn_read_file(e->tmpfile, &len);
	ASSERT_NE(NULL, data);
	qn_hash_init(&got);
	qn_hash_add(&got, data, len);
	free(data);
	EXPECT_EQ(want->n, len);
	EXPECT_EQ(want->h, got.h);
}

/* ---- the qtsim transcript ---- */

/* The transcript from byte from on (malloc'd); *len its length. */
static inline char *log_since(struct qt_env *e, size_t from, size_t *len)
{
	size_t n = 0;
	char *all = qn_read_file(e->log, &n), *part;

	if (!all)
		return NULL;
	if (from > n)
		from = n;
	part = strdup(all + from);
	*len = n - from;
	free(all);
	return part;
}

static inline size_t log_size(struct qt_env *e)
{
	struct stat st;

	/* qtsim flushes when its loop goes idle: give it a moment. */
	qn_sleep_ms(300);
	return stat(e->log, &st) ? 0 : (size_t)st.st_size;
}

/* None of needles (NULL-terminated) is in the transcript from byte mark on. */
static inline void expect_wire_lacks(struct __test_metadata *_metadata, struct qt_env *e,
				     size_t mark, const char *const *needles)
{
	size_t len;
	char *log = log_since(e, mark, &len);

	ASSERT_NE(NULL, log);
	for (; *needles; needles++)
		EXPECT_FALSE(qn_contains(log, len, *needles)) TH_LOG("wire: %s", log);
	free(log);
}

/* How often needle occurs in the transcript so far. */
static inline int log_count(struct qt_env *e, const char *needle)
{
	size_t len;
	char *log = log_since(e, 0, &len), *p;
	int n = 0;

	for (p = log; p && (p = strstr(p, needle)); p++)
		n++;
	free(log);
	return n;
}

/*
 * Wait up to ms until needle occurs at least n times; the last count.
 * (qtsim writes its transcript when its loop goes idle: what just went
 * over the wire may not be there yet.)
 */
static inline int log_wait(struct qt_env *e, const char *needle, int n, int ms)
{
	int c;

	QN_WAIT_UNTIL((c = log_count(e, needle)) >= n, ms, 100);
	return c;
}

/* ---- addresses ---- */

/*
 * Variant i of the valid address good, wrong in one way that connect()
 * and bind() both refuse: stored in *a, its length in *len; returns the
 * errno it must get, 0 after the last.
 */
static inline int bad_address(int i, const struct sockaddr_qt *good, struct sockaddr_qt *a,
			      socklen_t *len)
{
	const size_t hoff = offsetof(struct sockaddr_qt, sqt_host);

	*a = *good;
	*len = sizeof(*a);
	switch (i) {
	case 0:
	case 1:
	case 2:
		*len = i == 2 ? 4 : i;
		return EINVAL;
	case 3:
		*len = hoff;				/* no host at all */
		return EINVAL;
	case 4:
		*len = hoff + strlen(good->sqt_host);	/* NUL cut off */
		return EINVAL;
	case 5:
		memset(a->sqt_host, 'a', sizeof(a->sqt_host));	/* no NUL anywhere */
		return EINVAL;
	case 6:
		a->sqt_family = AF_UNIX;
		return EAFNOSUPPORT;
	case 7:
		a->sqt_family = 17;			/* AF_PACKET */
		return EAFNOSUPPORT;
	case 8:
	case 9:
		a->sqt_context = i == 8 ? 17 : 255;
		return EINVAL;
	case 10:
	case 11:
		a->sqt_flags = i == 10 ? 1 : 0x80;
		return EINVAL;
	case 12:
		a->sqt_reserved = 1;
		return EINVAL;
	case 13:
	case 14:
		a->sqt_modem = i == 13 ? 999 : 65535;
		return ENODEV;
	}
	return 0;
}

/*
 * The bind() address checks of docs/SERVERS.md on sockets of type: each
 * bad address fails with its errno, reaches nothing on the wire (the
 * transcript is on) and leaves the socket unbound; then each form of
 * "any address" binds a new socket to an automatic port.
 */
static inline void check_bind_addresses(struct __test_metadata *_metadata, struct qt_env *e,
					int type)
{
	static const char *const hosts[] = { "127.0.0.1", "10.7.157.1", "::1", "localhost" };
	static const char *const any[] = { "", "0.0.0.0", "::" };
	static const char *const opens[] = { "QIOPEN", NULL };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct sockaddr_qt a, good;
	socklen_t alen;
	size_t mark, i;
	int fd, r, err;

	fd = qsock_type(_metadata, e, type, 0);
	mark = log_size(e);
#define EXPECT_BIND(err, addr, alen) do { \
		r = bind_len(fd, (addr), (alen)); \
		EXPECT_EQ(-(err), r) TH_LOG("line %d: %s, want %s", __LINE__, \
					    strerror(-r), strerror(err)); \
	} while (0)

	good = qaddr(e, "", 0);
	for (i = 0; (err = bad_address(i, &good, &a, &alen)); i++)
		EXPECT_BIND(err, &a, alen);
	/* A module serves on every address of its context: no other host. */
	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		a = qaddr(e, hosts[i], 0);
		EXPECT_BIND(EADDRNOTAVAIL, &a, sizeof(a));
	}
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (e->modem == 0)	/* else there may be no modem 0 */
		EXPECT_BIND(EADDRNOTAVAIL, &sin, sizeof(sin));
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	EXPECT_BIND(EINVAL, &sin, 4);
	EXPECT_BIND(EINVAL, &sin6, 20);
#undef EXPECT_BIND

	expect_wire_lacks(_metadata, e, mark, opens);
	/* Still unbound: these fail on a bound socket. */
	for (i = 0; i < sizeof(any) / sizeof(any[0]); i++) {
		a = qaddr(e, any[i], 0);
		if (i)
			fd = qsock_type(_metadata, e, type, 0);
		r = bind_len(fd, &a, sizeof(a));
		EXPECT_EQ(0, r) TH_LOG("host '%s': %s", any[i], strerror(-r));
	}
	if (e->modem != 0)
		return;		/* sockaddr_in/in6 mean modem 0 */
	fd = qsock_type(_metadata, e, type, 0);
	r = bind_len(fd, &sin, sizeof(sin));
	EXPECT_EQ(0, r) TH_LOG("sockaddr_in INADDR_ANY: %s", strerror(-r));
	fd = qsock_type(_metadata, e, type, 0);
	sin6.sin6_addr = in6addr_any;
	r = bind_len(fd, &sin6, sizeof(sin6));
	EXPECT_EQ(0, r) TH_LOG("sockaddr_in6 in6addr_any: %s", strerror(-r));
}

#endif /* QT_AF_H */
