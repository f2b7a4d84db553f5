// SPDX-License-Identifier: GPL-2.0
/* Test driver for qtsim; see simctl.h. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "simctl.h"

#define TMO 5000

#ifndef QTSIM_BIN
#define QTSIM_BIN "../../userspace/qtsim/qtsim"
#endif


const char *esc(const void *pv, size_t n)
{
	static char out[8192];
	const unsigned char *p = pv;
	size_t o = 0;

	for (size_t i = 0; i < n && o < sizeof(out) - 8; i++) {
		unsigned char c = p[i];

		if (c == '\r')
			o += sprintf(out + o, "\\r");
		else if (c == '\n')
			o += sprintf(out + o, "\\n");
		else if (c < 0x20 || c >= 0x7f)
			o += sprintf(out + o, "\\x%02x", c);
		else
			out[o++] = c;
	}
	out[o] = 0;
	return out;
}

int sim_start(struct sim *s, const char *const *extra, int wait_rdy)
{
	const char *bin = getenv("QTSIM") ? getenv("QTSIM") : QTSIM_BIN;
	const char *argv[48];
	int n = 0, p[2];
	pid_t parent = getpid();
	struct termios tio;
	char line[128];
	size_t len = 0;
	long long end;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->rbuf = malloc(SIM_RBUF);
	strcpy(s->dir, "/tmp/qtsim-test.XXXXXX");
	if (!s->rbuf || !mkdtemp(s->dir))
		return -1;
	snprintf(s->ctl, sizeof(s->ctl), "%s/ctl", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/log", s->dir);
	argv[n++] = bin;
	argv[n++] = "--pty";
	argv[n++] = "--rdy-delay";
	argv[n++] = "0";
	argv[n++] = "--reboot-delay";
	argv[n++] = "200";
	argv[n++] = "--control";
	argv[n++] = s->ctl;
	argv[n++] = "--log";
	argv[n++] = s->log;
	for (; extra && *extra && n < 46; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		/* Dies with the test, whatever happens to the test. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(p[1], 1);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	end = ms_now() + 5000;
	while (len < sizeof(line) - 1) {
		struct pollfd pfd = { p[0], POLLIN, 0 };
		ssize_t r;

		if (poll(&pfd, 1, (int)(end - ms_now())) <= 0)
			break;
		r = read(p[0], line + len, 1);
		if (r <= 0)
			break;
		if (line[len] == '\n')
			break;
		len++;
	}
	close(p[0]);
	line[len] = 0;
	if (!len)
		return -1;
	snprintf(s->slave, sizeof(s->slave), "%s", line);
	s->fd = open(s->slave, O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (s->fd < 0)
		return -1;
	tcgetattr(s->fd, &tio);
	cfmakeraw(&tio);
	tcsetattr(s->fd, TCSANOW, &tio);
	if (wait_rdy)
		return sim_expect(s, "\r\nRDY\r\n", 5000);
	return 0;
}

void sim_stop(struct sim *s)
{
	if (s->pid > 0) {
		int st;
		long long end = ms_now() + 3000;

		kill(s->pid, SIGTERM);
		while (waitpid(s->pid, &st, WNOHANG) == 0) {
			if (ms_now() > end) {
				kill(s->pid, SIGKILL);
				waitpid(s->pid, &st, 0);
				break;
			}
			usleep(5000);
		}
		s->pid = 0;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->dir[0]) {
		unlink(s->ctl);
		unlink(s->log);
		rmdir(s->dir);
		s->dir[0] = 0;
	}
	free(s->rbuf);
	s->rbuf = NULL;
}

int sim_write(struct sim *s, const void *pv, size_t n)
{
	const unsigned char *p = pv;
	long long end = ms_now() + 10000;

	while (n) {
		ssize_t w = write(s->fd, p, n);

		if (w < 0) {
			struct pollfd pfd = { s->fd, POLLOUT, 0 };

			if (errno != EAGAIN || ms_now() > end)
				return -1;
			poll(&pfd, 1, 100);
			continue;
		}
		p += w;
		n -= w;
	}
	return 0;
}

int sim_send(struct sim *s, const char *str)
{
	return sim_write(s, str, strlen(str));
}

/* Read more into rbuf, waiting up to tmo_ms. 0 ok, -1 timeout. */
static int fill(struct sim *s, int tmo_ms)
{
	struct pollfd pfd = { s->fd, POLLIN, 0 };
	ssize_t r;

	if (s->rlen == SIM_RBUF)
		return -1;
	if (poll(&pfd, 1, tmo_ms < 0 ? 0 : tmo_ms) <= 0)
		return -1;
	r = read(s->fd, s->rbuf + s->rlen, SIM_RBUF - s->rlen);
	if (r <= 0)
		return -1;
	s->rlen += r;
	return 0;
}

static void take(struct sim *s, void *p, size_t n)
{
	if (p)
		memcpy(p, s->rbuf, n);
	memmove(s->rbuf, s->rbuf + n, s->rlen - n);
	s->rlen -= n;
}

int sim_read(struct sim *s, void *p, size_t n, int tmo_ms)
{
	long long end = ms_now() + tmo_ms;

	while (s->rlen < n)
		if (fill(s, (int)(end - ms_now())) < 0)
			return -1;
	take(s, p, n);
	return (int)n;
}

int sim_expect(struct sim *s, const char *exact, int tmo_ms)
{
	size_t n = strlen(exact);
	long long end = ms_now() + tmo_ms;

	while (s->rlen < n) {
		if (s->rlen && memcmp(s->rbuf, exact, s->rlen))
			break;	/* already different: no need to wait */
		if (fill(s, (int)(end - ms_now())) < 0)
			break;
	}
	if (s->rlen >= n && !memcmp(s->rbuf, exact, n)) {
		take(s, NULL, n);
		return 0;
	}
	fprintf(stderr, "# expected: \"%s\"\n", esc(exact, n));
	fprintf(stderr, "#      got: \"%s\"\n", esc(s->rbuf, MIN_(s->rlen, 4000)));
	return -1;
}

int sim_cmd(struct sim *s, const char *cmd, const char *answer)
{
	if (sim_send(s, cmd) < 0)
		return -1;
	return sim_expect(s, answer, 5000);
}

int sim_wait_for(struct sim *s, const char *needle, char *out, size_t cap, int tmo_ms)
{
	size_t nl = strlen(needle);
	long long end = ms_now() + tmo_ms;

	for (;;) {
		void *m = memmem(s->rbuf, s->rlen, needle, nl);

		if (m) {
			size_t n = (unsigned char *)m - s->rbuf + nl;

			if (out && cap) {
				size_t c = MIN_(n, cap - 1);

				memcpy(out, s->rbuf, c);
				out[c] = 0;
			}
			take(s, NULL, n);
			return (int)n;
		}
		if (fill(s, (int)(end - ms_now())) < 0) {
			fprintf(stderr, "# waiting for \"%s\", got \"%s\"\n",
				esc(needle, nl), esc(s->rbuf, MIN_(s->rlen, 2000)));
			return -1;
		}
	}
}

int sim_line(struct sim *s, char *line, size_t cap, int tmo_ms)
{
	long long end = ms_now() + tmo_ms;

	for (;;) {
		unsigned char *e;

		/* skip framing */
		while (s->rlen >= 2 && s->rbuf[0] == '\r' && s->rbuf[1] == '\n')
			take(s, NULL, 2);
		if (s->rlen >= 2 && s->rbuf[0] == '>' && s->rbuf[1] == ' ') {
			take(s, NULL, 2);
			snprintf(line, cap, ">");
			return 1;
		}
		e = memmem(s->rbuf, s->rlen, "\r\n", 2);
		if (e && e != s->rbuf) {
			size_t n = e - s->rbuf;
			size_t c = MIN_(n, cap - 1);

			memcpy(line, s->rbuf, c);
			line[c] = 0;
			take(s, NULL, n + 2);
			return (int)c;
		}
		if (fill(s, (int)(end - ms_now())) < 0)
			return -1;
	}
}

int sim_quiet(struct sim *s, int ms)
{
	if (s->rlen)
		return -1;
	return fill(s, ms) < 0 ? 0 : -1;
}

void sim_drain(struct sim *s, int ms)
{
	while (fill(s, ms) == 0)
		;
	s->rlen = 0;
}

int sim_ctl(struct sim *s, const char *cmd, char *reply, size_t cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[256];
	size_t len = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->ctl);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s\n", cmd);
	if (write(fd, buf, strlen(buf)) < 0) {
		close(fd);
		return -1;
	}
	while (len < sizeof(buf) - 1) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&pfd, 1, 3000) <= 0)
			break;
		r = read(fd, buf + len, 1);
		if (r <= 0 || buf[len] == '\n')
			break;
		len++;
	}
	buf[len] = 0;
	close(fd);
	if (reply)
		snprintf(reply, cap, "%s", buf);
	return strcmp(buf, "ok") ? -1 : 0;
}

char *sim_log(struct sim *s)
{
	FILE *f = fopen(s->log, "r");
	char *buf;
	size_t n;

	if (!f)
		return strdup("");
	buf = malloc(4 << 20);
	n = fread(buf, 1, (4 << 20) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

int sim_xfer(struct sim *s, const void *wv, size_t wlen, void *rv, size_t rlen, int tmo_ms)
{
	const unsigned char *w = wv;
	unsigned char *r = rv;
	size_t wo = 0, ro = 0;
	long long end = ms_now() + tmo_ms;

	/* whatever was read ahead belongs to the payload */
	if (s->rlen) {
		size_t n = MIN_(s->rlen, rlen);

		take(s, r, n);
		ro = n;
	}
	while (wo < wlen || ro < rlen) {
		struct pollfd pfd = { s->fd, POLLIN | (wo < wlen ? POLLOUT : 0), 0 };
		int left = (int)(end - ms_now());

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return -1;
		if ((pfd.revents & POLLOUT) && wo < wlen) {
			ssize_t n = write(s->fd, w + wo, MIN_(wlen - wo, 4096));

			if (n > 0)
				wo += n;
		}
		if (pfd.revents & POLLIN) {
			ssize_t n = read(s->fd, r + ro, rlen - ro ? rlen - ro : 1);

			if (n > 0) {
				if (ro == rlen)
					return -1;	/* more than expected */
				ro += n;
			}
		}
	}
	return 0;
}

/* ---- peers ----------------------------------------------------------- */

static socklen_t loop_addr(int family, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (void *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(port);
		return sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->sin_port = htons(port);
		return sizeof(*a);
	}
}

static int bound(int family, int type, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = loop_addr(family, *port, &ss);
	int fd = socket(family, type | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		return -1;
	}
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

int tcp_listen(int family, int *port)
{
	int fd = bound(family, SOCK_STREAM, port);

	if (fd >= 0 && listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int udp_bind(int family, int *port)
{
	return bound(family, SOCK_DGRAM, port);
}

int tcp_connect(int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = loop_addr(family, port, &ss);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void *echo_main(void *arg)
{
	struct echo_srv *e = arg;
	static __thread char buf[65536];

	for (;;) {
		int fd = accept(e->lfd, NULL, NULL);
		ssize_t n;

		if (fd < 0)
			break;
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			for (ssize_t o = 0; o < n;) {
				ssize_t w = write(fd, buf + o, n - o);

				if (w <= 0)
					goto done;
				o += w;
			}
		}
done:
		close(fd);
	}
	return NULL;
}

int echo_start(struct echo_srv *e, int family)
{
	e->port = 0;
	e->family = family;
	e->lfd = tcp_listen(family, &e->port);
	if (e->lfd < 0)
		return -1;
	if (pthread_create(&e->th, NULL, echo_main, e)) {
		close(e->lfd);
		return -1;
	}
	e->running = 1;
	return 0;
}

void echo_stop(struct echo_srv *e)
{
	if (!e->running)
		return;
	/* wakes the blocked accept() */
	shutdown(e->lfd, SHUT_RDWR);
	pthread_join(e->th, NULL);
	close(e->lfd);
	e->running = 0;
}

void fill_random(void *p, size_t n, unsigned seed)
{
	unsigned char *b = p;
	unsigned long long x = seed * 2654435761ULL + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = x >> 24;
	}
}

unsigned long long fnv1a(const void *p, size_t n)
{
	const unsigned char *b = p;
	unsigned long long h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

pid_t qtsim_spawn(const char *const *args, int *to, int *from)
{
	const char *bin = getenv("QTSIM") ? getenv("QTSIM") : QTSIM_BIN;
	const char *argv[32];
	int in[2], out[2], n = 0;
	pid_t parent = getpid(), pid;

	argv[n++] = bin;
	for (; args && *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(in[0], 0);
		dup2(out[1], 1);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	*to = in[1];
	*from = out[0];
	return pid;
}

int qtsim_reap(pid_t pid)
{
	long long end = ms_now() + 3000;
	int st = -1;

	kill(pid, SIGTERM);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (ms_now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(5000);
	}
	return st;
}

int fd_wait_for(int fd, const char *needle, int tmo_ms)
{
	char buf[4096];
	size_t len = 0;
	long long end = ms_now() + tmo_ms;

	while (len < sizeof(buf) - 1) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&pfd, 1, (int)(end - ms_now())) <= 0)
			break;
		r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			break;
		len += r;
		buf[len] = 0;
		if (memmem(buf, len, needle, strlen(needle)))
			return 0;
	}
	fprintf(stderr, "# waiting for \"%s\", got \"%s\"\n", esc(needle, strlen(needle)),
		esc(buf, len));
	return -1;
}

/* ---- test conveniences ------------------------------------------------ */

long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void msleep(int ms)
{
	usleep(ms * 1000);
}

/* Send cmd + CR; expect the echo of cmd + CR, then answer. */
int ecmd(struct sim *s, const char *cmd, const char *answer)
{
	char c[2048], a[8192];

	snprintf(c, sizeof(c), "%s\r", cmd);
	snprintf(a, sizeof(a), "%s\r%s", cmd, answer);
	return sim_cmd(s, c, a);
}

/* Echo off: send cmd + CR and expect answer. */
int cmd(struct sim *s, const char *cmd, const char *answer)
{
	char c[2048];

	snprintf(c, sizeof(c), "%s\r", cmd);
	return sim_cmd(s, c, answer);
}

int ecmds(struct sim *s, const char *const (*t)[2], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ecmd(s, t[i][0], t[i][1]))
			return -1;
	return 0;
}

/* A control command, and exactly what it makes the module say. */
int ctl_expect(struct sim *s, const char *ctl, const char *said)
{
	if (sim_ctl(s, ctl, NULL, 0))
		return -1;
	return sim_expect(s, said, TMO);
}

/* Echo off: AT+QISEND-like at, "> ", the n bytes, then the result line. */
int send_payload(struct sim *s, const char *at, const void *p, size_t n,
			const char *result)
{
	char r[64];

	snprintf(r, sizeof(r), "\r\n%s\r\n", result);
	if (cmd(s, at, "\r\n> ") || sim_write(s, p, n))
		return -1;
	return sim_expect(s, r, TMO);
}

int accept_tmo(int lfd, int ms)
{
	struct pollfd p = { lfd, POLLIN, 0 };

	if (poll(&p, 1, ms) <= 0)
		return -1;
	return accept(lfd, NULL, NULL);
}

int recv_all(int fd, void *p, size_t n, int ms)
{
	size_t o = 0;
	long long end = ms_now() + ms;

	while (o < n) {
		struct pollfd pf = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&pf, 1, (int)(end - ms_now())) <= 0)
			return -1;
		r = recv(fd, (char *)p + o, n - o, 0);
		if (r <= 0)
			return -1;
		o += r;
	}
	return 0;
}

/* The next bytes on fd are exactly these. */
int recv_exact(int fd, const char *exact)
{
	size_t n = strlen(exact);
	char buf[256];

	if (n > sizeof(buf) || recv_all(fd, buf, n, TMO))
		return -1;
	if (memcmp(buf, exact, n)) {
		fprintf(stderr, "# peer expected \"%s\"\n", esc(exact, n));
		fprintf(stderr, "#      got \"%s\"\n", esc(buf, n));
		return -1;
	}
	return 0;
}

/* A free loopback port: open_any is tcp_listen or udp_bind. */
int free_port(int (*open_any)(int family, int *port))
{
	int port = 0, fd = open_any(AF_INET, &port);

	close(fd);
	return port;
}

struct sockaddr_in loopback(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	return sa;
}

int peer_listen(struct peer *p)
{
	p->lfd = tcp_listen(AF_INET, &p->port);
	return p->lfd < 0 ? -1 : 0;
}

int peer_accept(struct peer *p)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	p->fd = accept_tmo(p->lfd, TMO);
	if (p->fd < 0) {
		fprintf(stderr, "# nothing to accept on port %d\n", p->port);
		return -1;
	}
	getpeername(p->fd, (struct sockaddr *)&sa, &sl);
	p->cport = ntohs(sa.sin_port);
	return 0;
}

/* The peer hangs up its connection (FIN; with linger 0, RST). */
void peer_close(struct peer *p, int reset)
{
	struct linger lg = { 1, 0 };

	if (reset)
		setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(p->fd);
	p->fd = -1;
}

/* The peer sends what it can of the rest of buf without blocking. */
void peer_push(struct peer *p, const void *buf, size_t len, size_t *sent)
{
	ssize_t w;

	if (*sent >= len)
		return;
	w = send(p->fd, (const char *)buf + *sent, len - *sent, 0);
	if (w > 0)
		*sent += w;
}

/*
 * The peer sends without blocking from a small socket buffer: for half a
 * second, all it can of buf (*sent so far), to a module that does not read.
 */
void peer_flood(struct peer *p, const void *buf, size_t len, size_t *sent)
{
	int snd = 16384;

	fcntl(p->fd, F_SETFL, O_NONBLOCK);
	setsockopt(p->fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	for (int i = 0; i < 50; i++) {
		peer_push(p, buf, len, sent);
		msleep(10);
	}
}

/* Lines up to end; the others go to other(). */
int lines_until(struct sim *s, const char *end, line_fn *other, void *arg)
{
	char line[256];

	for (;;) {
		if (sim_line(s, line, sizeof(line), TMO) <= 0)
			return -1;
		if (!strcmp(line, end))
			return 0;
		if (other(s, line, arg)) {
			fprintf(stderr, "# line: %s\n", line);
			return -1;
		}
	}
}

/* What the peer reads next: 0 when it sees the module's FIN. */
ssize_t peer_recv(struct peer *p)
{
	char buf[512];

	return recv(p->fd, buf, sizeof(buf), 0);
}

int echo_and_escape(struct sim *s, size_t n, unsigned seed, int guard_ms)
{
	unsigned char *out = calloc(n, 1), *in = calloc(n, 1);
	int r = -1;

	if (out && in) {
		fill_random(out, n, seed);
		r = sim_xfer(s, out, n, in, n, 60000);
		if (!r && fnv1a(out, n) != fnv1a(in, n)) {
			fprintf(stderr, "# the echo differs\n");
			r = -1;
		}
	}
	free(out);
	free(in);
	if (r)
		return -1;
	msleep(guard_ms + 100);
	if (sim_send(s, "+++"))
		return -1;
	return sim_expect(s, "\r\nOK\r\n", TMO);
}

void fixture_init(struct sim *s, struct peer *p)
{
	s->fd = -1;
	p->lfd = p->fd = -1;
}

void fixture_fini(struct sim *s, struct echo_srv *e, struct peer *p)
{
	sim_stop(s);
	echo_stop(e);
	if (p->fd >= 0)
		close(p->fd);
	if (p->lfd >= 0)
		close(p->lfd);
}
