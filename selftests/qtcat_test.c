// SPDX-License-Identifier: GPL-2.0
/*
 * qtcat, the AF_QUECTEL netcat (userspace/qtcat), run as a program against
 * qtsim: client mode through a real TCP echo peer and a socat sink, -l with
 * a real TCP client moving data both ways, -u against a real UDP echo peer,
 * -l -u with real UDP peers (replies to the last sender, stdin held until
 * the first datagram), the -w bound on accept, and usage errors.
 *
 * Every test starts its own qtsim (--rdy-delay 0) on a pty, attaches the
 * line discipline and waits for state=ready; peers are real sockets on
 * 127.0.0.1 (in-process, a forked child, or socat). qtcat's stdin is a
 * file or a pipe, its stdout and stderr are files in a mkdtemp directory.
 * Every wait is bounded, and the teardown kills and reaps what a test
 * started.
 */
#include "kselftest_harness.h"
#include "qt_af.h"

#define DGRAM_MAX	1460		/* qtcat -u: bytes per datagram */
#define UDP_LOG		64

/* $QT_TOP/userspace/qtcat/qtcat (run from selftests/ without QT_TOP). */
static const char *qtcat_bin(void)
{
	static char path[512];
	const char *top = getenv("QT_TOP");

	snprintf(path, sizeof(path), "%s/userspace/qtcat/qtcat", top ? top : "..");
	return path;
}

/* ---- files ---- */

/* Write bytes [0, n) of pattern stream @seed to a new file @path; 0 or -1. */
static int write_pattern(const char *path, uint64_t seed, size_t n)
{
	unsigned char *b = malloc(n);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t w = -1;

	if (b && fd >= 0) {
		qn_pattern(seed, 0, b, n);
		w = write(fd, b, n);
	}
	free(b);
	if (fd >= 0)
		close(fd);
	return w == (ssize_t)n ? 0 : -1;
}

/* The hash of a whole file (n = 0 if it cannot be read). */
static void file_hash(const char *path, struct qn_hash *hs)
{
	size_t len = 0;
	char *data = qn_read_file(path, &len);

	qn_hash_init(hs);
	if (data)
		qn_hash_add(hs, data, len);
	free(data);
}

/* Does file @path contain @needle (within @ms, polling)? */
static bool file_has(const char *path, const char *needle, int ms)
{
	int64_t end = qn_now_ms() + ms;

	for (;;) {
		size_t len = 0;
		char *data = qn_read_file(path, &len);
		bool found = qn_contains(data, len, needle);

		free(data);
		if (found || qn_now_ms() >= end)
			return found;
		qn_sleep_ms(20);
	}
}

/* write() all of a string to a pipe; 0 or -1. */
static int put(int fd, const char *s)
{
	return write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
}

/* ---- peers ---- */

/*
 * Fork a child that dies with the test and holds none of its descriptors
 * but @keep (so that no pipe end stays open in it): 0 in the child, the
 * pid (or -1) in the parent.
 */
static pid_t fork_child(int keep)
{
	pid_t pid = fork();
	int fd;

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_IGN);
		for (fd = 3; fd < 1024; fd++)
			if (fd != keep)
				close(fd);
	}
	return pid;
}

/* The child's side of a TCP echo: accept one connection, echo n bytes, close. */
static void __attribute__((noreturn)) echo_n_serve(int lfd, size_t n)
{
	char buf[16384];
	size_t done = 0;
	int fd = qn_accept(lfd, 60000, NULL);

	if (fd < 0)
		_exit(2);
	while (done < n) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0), off = 0;

		if (r <= 0)
			_exit(3);
		while (off < r) {
			ssize_t w = send(fd, buf + off, r - off, MSG_NOSIGNAL);

			if (w <= 0)
				_exit(4);
			off += w;
		}
		done += r;
	}
	close(fd);
	_exit(0);
}

/* The sizes of the datagrams a UDP echo received (shared with the child). */
struct udp_log {
	int n;
	int size[UDP_LOG];
};

/* The child's side of a UDP echo: every datagram back to its sender. */
static void __attribute__((noreturn)) udp_echo_serve(int fd, struct udp_log *log)
{
	char buf[4096];

	for (;;) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			_exit(3);
		if (log->n < UDP_LOG)
			log->size[log->n] = r;
		__atomic_add_fetch(&log->n, 1, __ATOMIC_RELEASE);
		sendto(fd, buf, r, 0, (struct sockaddr *)&from, len);
	}
}

/*
 * Send bytes [0, n) of pattern @seed on a TCP socket while receiving n
 * bytes into @got, within @ms; false if either side fell short.
 */
static bool tcp_exchange(int fd, uint64_t seed, size_t n, struct qn_hash *got, int ms)
{
	int64_t end = qn_now_ms() + ms;
	unsigned char buf[8192];
	size_t sent = 0;

	qn_hash_init(got);
	while ((sent < n || got->n < n) && qn_now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (sent < n)
			p.events |= POLLOUT;
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (p.revents & POLLOUT) {
			size_t k = n - sent < sizeof(buf) ? n - sent : sizeof(buf);

			qn_pattern(seed, sent, buf, k);
			r = send(fd, buf, k, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (r > 0)
				sent += r;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				break;
			if (r > 0)
				qn_hash_add(got, buf, r);
		}
	}
	return sent == n && got->n == n;
}

/* ---- the fixture: a simulated modem, qtcat, its files and its peers ---- */

FIXTURE(qtcat) {
	struct qt_env env;	/* the modem, tracked fds */
	char dir[64];		/* mkdtemp */
	char in[96], out[96], err[96], sink[96];	/* files in dir */
	pid_t qtcat;		/* the program under test */
	pid_t peer;		/* a peer child (echo, socat) */
	struct udp_log *udp_log;	/* MAP_SHARED with a UDP echo child */
	char errtext[2048];	/* qtcat's stderr, for logs */
};

FIXTURE_SETUP(qtcat)
{
	qt_env_setup(&self->env);
	snprintf(self->dir, sizeof(self->dir), "/tmp/qtcat_test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->in, sizeof(self->in), "%s/in", self->dir);
	snprintf(self->out, sizeof(self->out), "%s/out", self->dir);
	snprintf(self->err, sizeof(self->err), "%s/err", self->dir);
	snprintf(self->sink, sizeof(self->sink), "%s/sink", self->dir);
}

FIXTURE_TEARDOWN(qtcat)
{
	qn_kill_reap(&self->qtcat);
	qn_kill_reap(&self->peer);
	if (self->udp_log)
		munmap(self->udp_log, sizeof(*self->udp_log));
	unlink(self->in);
	unlink(self->out);
	unlink(self->err);
	unlink(self->sink);
	rmdir(self->dir);
	qt_env_teardown(_metadata, &self->env);
}

/* qtcat's stderr so far, for logs. */
static const char *err_text(FIXTURE_DATA(qtcat) *self)
{
	size_t len = 0;
	char *data = qn_read_file(self->err, &len);

	snprintf(self->errtext, sizeof(self->errtext), "%s", data ? data : "");
	free(data);
	return self->errtext;
}

/*
 * Start qtcat with @args (NULL-terminated; "-m N" first once the modem is
 * up). It takes @in (closed here) as stdin and writes to the out and err
 * files.
 */
static void qtcat_start(struct __test_metadata *_metadata, FIXTURE_DATA(qtcat) *self,
			int in, const char *const *args)
{
	const char *argv[24];
	char modem[16];
	int n = 0;

	ASSERT_LE(0, in);
	argv[n++] = qtcat_bin();
	if (self->env.modem >= 0) {
		snprintf(modem, sizeof(modem), "%d", self->env.modem);
		argv[n++] = "-m";
		argv[n++] = modem;
	}
	while (*args && n < 23)
		argv[n++] = *args++;
	argv[n] = NULL;

	self->qtcat = fork_child(in);
	ASSERT_LE(0, self->qtcat);
	if (self->qtcat == 0) {
		int out = open(self->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(self->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(err, 2) < 0)
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	close(in);
}

/* qtcat's stdin from the in file. */
static int in_file(FIXTURE_DATA(qtcat) *self)
{
	return open(self->in, O_RDONLY | O_CLOEXEC);
}

/* Wait up to @ms for qtcat to exit: its exit status, or -1 (killed then). */
static int qtcat_wait(FIXTURE_DATA(qtcat) *self, int ms)
{
	int st = qn_wait_exit(self->qtcat, ms);

	if (st == -1) {
		qn_kill_reap(&self->qtcat);
		return -1;
	}
	self->qtcat = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Wait for qtcat -l to report "listening on port N": N, or -1. */
static int wait_listening(FIXTURE_DATA(qtcat) *self, int ms)
{
	int64_t end = qn_now_ms() + ms;
	const char *p;
	int port;

	do {
		p = strstr(err_text(self), "listening on port ");
		if (p && sscanf(p, "listening on port %d ", &port) == 1)
			return port;
		if (waitpid(self->qtcat, NULL, WNOHANG) != 0)
			break;	/* qtcat died */
		qn_sleep_ms(20);
	} while (qn_now_ms() < end);
	return -1;
}

/* The out (or sink) file holds bytes [0, n) of pattern @seed. */
static void expect_pattern(struct __test_metadata *_metadata, const char *path,
			   uint64_t seed, size_t n)
{
	struct qn_hash want, got;

	qn_pattern_hash(seed, n, &want);
	file_hash(path, &got);
	EXPECT_EQ(want.n, got.n) TH_LOG("%s: %llu bytes, want %zu", path,
					(unsigned long long)got.n, n);
	EXPECT_EQ(want.h, got.h) TH_LOG("%s: other bytes than sent", path);
}

/* Reap a peer child within @ms; its exit status or -1. */
static int peer_wait(FIXTURE_DATA(qtcat) *self, int ms)
{
	int st = qn_wait_exit(self->peer, ms);

	if (st == -1)
		return -1;
	self->peer = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- client mode ---- */

/* 64 KiB through a real TCP echo that closes after echoing it all. */
TEST_F_TIMEOUT(qtcat, client_echo_64k, 150)
{
	const size_t n = 64 * KIB;
	char port_s[16];
	int lfd, port;

	modem_up(_metadata, &self->env, NULL, false);
	ASSERT_EQ(0, write_pattern(self->in, 0x64, n));
	lfd = qn_listen(AF_INET, &port, 0);
	ASSERT_LE(0, lfd);
	self->peer = fork_child(lfd);
	ASSERT_LE(0, self->peer);
	if (self->peer == 0)
		echo_n_serve(lfd, n);
	close(lfd);

	snprintf(port_s, sizeof(port_s), "%d", port);
	qtcat_start(_metadata, self, in_file(self),
		    (const char *const[]){ "-w", "60", "127.0.0.1", port_s, NULL });
	EXPECT_EQ(0, qtcat_wait(self, 120000)) TH_LOG("qtcat: %s", err_text(self));
	EXPECT_EQ(0, peer_wait(self, 5000)) TH_LOG("the echo fell short");
	expect_pattern(_metadata, self->out, 0x64, n);
}

/* -q: 64 KiB to a socat sink, which sees EOF once qtcat quits. */
TEST_F_TIMEOUT(qtcat, client_sink_quit, 150)
{
	const size_t n = 64 * KIB;
	char listen_arg[96], file_arg[128], port_s[16];
	const char *argv[] = { "socat", "-u", listen_arg, file_arg, NULL };
	int port = qn_free_port();

	ASSERT_LT(0, port);
	snprintf(listen_arg, sizeof(listen_arg),
		 "TCP4-LISTEN:%d,bind=127.0.0.1,reuseaddr", port);
	snprintf(file_arg, sizeof(file_arg), "CREATE:%s", self->sink);
	self->peer = qn_spawn(argv);
	ASSERT_LT(0, self->peer);
	modem_up(_metadata, &self->env, NULL, false);
	ASSERT_EQ(0, write_pattern(self->in, 0x65, n));
	/* socat starts slowly on the debug kernel */
	ASSERT_TRUE(qn_wait_port(qn_is_listening, port, 20000))
		TH_LOG("socat does not listen on %d", port);

	snprintf(port_s, sizeof(port_s), "%d", port);
	qtcat_start(_metadata, self, in_file(self),
		    (const char *const[]){ "-q", "-w", "60", "127.0.0.1", port_s, NULL });
	EXPECT_EQ(0, qtcat_wait(self, 120000)) TH_LOG("qtcat: %s", err_text(self));
	EXPECT_EQ(0, peer_wait(self, 60000)) TH_LOG("socat never saw EOF");
	expect_pattern(_metadata, self->sink, 0x65, n);
}

/* ---- -l: a TCP server ---- */

/*
 * qtcat -l 0: the kernel picks the port, qtcat reports it and the peer;
 * 32 KiB each way with a real TCP client, which then closes (qtcat's EOF).
 */
TEST_F_TIMEOUT(qtcat, listen_tcp, 150)
{
	const size_t n = 32 * KIB;
	char want[64];
	struct qn_hash got, expect;
	int port, cfd, cport;

	modem_up(_metadata, &self->env, NULL, false);
	ASSERT_EQ(0, write_pattern(self->in, 0xA1, n));
	qtcat_start(_metadata, self, in_file(self),
		    (const char *const[]){ "-l", "-w", "60", "0", NULL });
	port = wait_listening(self, 60000);
	ASSERT_LT(0, port) TH_LOG("qtcat: %s", err_text(self));
	/* qtsim's listener stands for the module's. */
	ASSERT_TRUE(qn_is_listening(port)) TH_LOG("nothing listens on %d", port);

	cfd = track(&self->env, qn_connect(port, &cport));
	ASSERT_LE(0, cfd) TH_LOG("connect to %d: %s", port, strerror(errno));
	EXPECT_TRUE(tcp_exchange(cfd, 0xB2, n, &got, 90000))
		TH_LOG("received %llu of %zu", (unsigned long long)got.n, n);
	qn_pattern_hash(0xA1, n, &expect);
	EXPECT_EQ(expect.h, got.h) TH_LOG("the client received other bytes");
	untrack_close(&self->env, cfd);

	EXPECT_EQ(0, qtcat_wait(self, 30000)) TH_LOG("qtcat: %s", err_text(self));
	expect_pattern(_metadata, self->out, 0xB2, n);
	snprintf(want, sizeof(want), "connection from 127.0.0.1 %d\n", cport);
	EXPECT_TRUE(file_has(self->err, want, 0)) TH_LOG("stderr: %s", err_text(self));
}

/* -l -w: no client within the time: status 1, the accept timed out. */
TEST_F_TIMEOUT(qtcat, listen_timeout, 90)
{
	int64_t t0;

	modem_up(_metadata, &self->env, NULL, false);
	t0 = qn_now_ms();
	qtcat_start(_metadata, self, open("/dev/null", O_RDONLY | O_CLOEXEC),
		    (const char *const[]){ "-l", "-w", "2", "0", NULL });
	EXPECT_EQ(1, qtcat_wait(self, 60000)) TH_LOG("qtcat: %s", err_text(self));
	EXPECT_LE(2000, qn_now_ms() - t0);
	EXPECT_TRUE(file_has(self->err, "listening on port ", 0))
		TH_LOG("stderr: %s", err_text(self));
	EXPECT_TRUE(file_has(self->err, "accept on port ", 0) &&
		    file_has(self->err, ": Connection timed out\n", 0))
		TH_LOG("stderr: %s", err_text(self));
}

/* ---- -u: datagrams ---- */

/*
 * 16 KiB from a file through a real UDP echo: each stdin read is one
 * datagram of at most 1460 bytes, every echo lands on stdout in order;
 * at stdin EOF, the -w quiet ends it with status 0.
 */
TEST_F_TIMEOUT(qtcat, udp_client_echo, 150)
{
	const size_t n = 16 * KIB;
	const int ndgram = (n + DGRAM_MAX - 1) / DGRAM_MAX;
	char port_s[16];
	int ufd, port = 0, i;

	modem_up(_metadata, &self->env, NULL, false);
	ASSERT_EQ(0, write_pattern(self->in, 0xC3, n));
	self->udp_log = mmap(NULL, sizeof(*self->udp_log), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->udp_log);
	ufd = qn_udp(&port);
	ASSERT_LE(0, ufd);
	self->peer = fork_child(ufd);
	ASSERT_LE(0, self->peer);
	if (self->peer == 0)
		udp_echo_serve(ufd, self->udp_log);
	close(ufd);

	snprintf(port_s, sizeof(port_s), "%d", port);
	qtcat_start(_metadata, self, in_file(self),
		    (const char *const[]){ "-u", "-w", "5", "127.0.0.1", port_s, NULL });
	EXPECT_EQ(0, qtcat_wait(self, 120000)) TH_LOG("qtcat: %s", err_text(self));
	expect_pattern(_metadata, self->out, 0xC3, n);

	ASSERT_EQ(ndgram, __atomic_load_n(&self->udp_log->n, __ATOMIC_ACQUIRE));
	for (i = 0; i < ndgram; i++)
		EXPECT_EQ(i < ndgram - 1 ? DGRAM_MAX : (int)(n - (ndgram - 1) * DGRAM_MAX),
			  self->udp_log->size[i]) TH_LOG("datagram %d", i);
}

/* Send a datagram from @fd to qtcat's port; expect qtcat to print it. */
static void dgram_in(struct __test_metadata *_metadata, FIXTURE_DATA(qtcat) *self,
		     int fd, int port, const char *text)
{
	ASSERT_EQ((ssize_t)strlen(text), qn_sendto(fd, text, strlen(text), port));
	ASSERT_TRUE(file_has(self->out, text, 10000))
		TH_LOG("'%s' not on stdout; stderr: %s", text, err_text(self));
}

/* Expect the datagram @text at @fd, from port @from_want. */
static void dgram_expect(struct __test_metadata *_metadata, int fd, int from_want,
			 const char *text)
{
	char buf[256];
	int from = -1;
	ssize_t r = qn_recvfrom(fd, buf, sizeof(buf) - 1, 10000, &from);

	ASSERT_EQ((ssize_t)strlen(text), r) TH_LOG("no '%s'", text);
	buf[r] = 0;
	EXPECT_STREQ(text, buf);
	EXPECT_EQ(from_want, from);
}

/*
 * qtcat -l -u 0: stdin waits for the first datagram; replies go to the
 * sender of the last datagram; each new sender is reported; stdin EOF and
 * the -w quiet end it with status 0.
 */
TEST_F_TIMEOUT(qtcat, listen_udp, 150)
{
	char want[64], buf[64];
	int pfd[2], port, a, aport = 0, b, bport = 0, from;

	modem_up(_metadata, &self->env, NULL, false);
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	track(&self->env, pfd[1]);
	qtcat_start(_metadata, self, pfd[0],
		    (const char *const[]){ "-l", "-u", "-w", "5", "0", NULL });
	port = wait_listening(self, 60000);
	ASSERT_LT(0, port) TH_LOG("qtcat: %s", err_text(self));
	/* qtsim's UDP service stands for the module's. */
	ASSERT_TRUE(qn_is_udp_bound(port)) TH_LOG("no UDP socket on %d", port);
	a = track(&self->env, qn_udp(&aport));
	b = track(&self->env, qn_udp(&bport));
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);

	/* Input before any peer waits for one. */
	ASSERT_EQ(0, put(pfd[1], "early\n"));
	qn_sleep_ms(500);
	EXPECT_EQ(0, waitpid(self->qtcat, NULL, WNOHANG)) TH_LOG("qtcat: %s", err_text(self));
	dgram_in(_metadata, self, a, port, "ping-a\n");
	dgram_expect(_metadata, a, port, "early\n");
	ASSERT_EQ(0, put(pfd[1], "reply-a\n"));
	dgram_expect(_metadata, a, port, "reply-a\n");

	/* A new sender takes the replies. */
	dgram_in(_metadata, self, b, port, "ping-b\n");
	ASSERT_EQ(0, put(pfd[1], "reply-b\n"));
	dgram_expect(_metadata, b, port, "reply-b\n");
	EXPECT_EQ(-1, qn_recvfrom(a, buf, sizeof(buf), 300, &from)) TH_LOG("a got a datagram");

	untrack_close(&self->env, pfd[1]);
	EXPECT_EQ(0, qtcat_wait(self, 60000)) TH_LOG("qtcat: %s", err_text(self));
	EXPECT_TRUE(file_has(self->out, "ping-a\nping-b\n", 0));
	snprintf(want, sizeof(want), "datagram from 127.0.0.1 %d\n", aport);
	EXPECT_TRUE(file_has(self->err, want, 0)) TH_LOG("stderr: %s", err_text(self));
	snprintf(want, sizeof(want), "datagram from 127.0.0.1 %d\n", bport);
	EXPECT_TRUE(file_has(self->err, want, 0)) TH_LOG("stderr: %s", err_text(self));
}

/* ---- the command line ---- */

/* Bad command lines: status 2 and a hint, before any socket is made. */
TEST_F_TIMEOUT(qtcat, usage_errors, 120)
{
	static const char *const bad[][6] = {
		{ NULL },				/* no operands */
		{ "127.0.0.1", NULL },			/* no port */
		{ "127.0.0.1", "80", "x", NULL },	/* too many */
		{ "", "80", NULL },			/* empty host */
		{ "127.0.0.1", "0", NULL },		/* client port 0 */
		{ "-u", "127.0.0.1", "65536", NULL },
		{ "-l", NULL },				/* no port */
		{ "-l", "127.0.0.1", "80", NULL },	/* -l takes no host */
		{ "-l", "-u", "http", NULL },
		{ "-w", "0", "127.0.0.1", "80", NULL },
		{ "-c", "17", "-l", "80", NULL },
		{ "-m", NULL },				/* missing argument */
		{ "-x", "127.0.0.1", "80", NULL },	/* unknown option */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		qtcat_start(_metadata, self, open("/dev/null", O_RDONLY | O_CLOEXEC),
			    bad[i]);
		EXPECT_EQ(2, qtcat_wait(self, 10000)) TH_LOG("case %zu: %s", i,
							     err_text(self));
		EXPECT_TRUE(file_has(self->err, "Try '", 0)) TH_LOG("case %zu: %s", i,
								    err_text(self));
	}

	/* -h: the usage on stdout, status 0; it names the server and UDP modes. */
	qtcat_start(_metadata, self, open("/dev/null", O_RDONLY | O_CLOEXEC),
		    (const char *const[]){ "-h", NULL });
	EXPECT_EQ(0, qtcat_wait(self, 10000));
	EXPECT_TRUE(file_has(self->out, "-l [-u]", 0));
	EXPECT_TRUE(file_has(self->out, "  -u ", 0));
}

TEST_HARNESS_MAIN
