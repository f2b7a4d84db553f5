/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loopback peers and data checking for the socket selftests: a stream
 * hash and position-addressable random bytes, listening, accepting and
 * connecting helpers, a closed port, UDP peers, an echo server in a child
 * process (with per-connection statistics in shared memory), socat
 * children, a thread that signals another one later, and transcript
 * reading.
 *
 * Nothing here knows AF_QUECTEL: these are the real sockets the simulated
 * modem connects to. Header-only so each test stays one program.
 */
#ifndef QT_NET_H
#define QT_NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Monotonic milliseconds. */
static inline int64_t qn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Re-evaluate cond every step_ms until it holds or ms have passed. */
#define QN_WAIT_UNTIL(cond, ms, step_ms) do { \
		int64_t __qn_end = qn_now_ms() + (ms); \
		while (!(cond) && qn_now_ms() < __qn_end) \
			qn_sleep_ms(step_ms); \
	} while (0)

static inline void qn_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	/* Restart after signal handlers so the sleep is really this long. */
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * FNV-1a, 64 bits, streaming: data may arrive in any split and still hash
 * the same. Not cryptographic, but any lost, duplicated, reordered or
 * corrupted byte of random data changes it; the byte count is kept too.
 */
struct qn_hash {
	uint64_t h;
	uint64_t n;
};

static inline void qn_hash_init(struct qn_hash *hs)
{
	hs->h = 0xcbf29ce484222325ULL;
	hs->n = 0;
}

static inline void qn_hash_add(struct qn_hash *hs, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = hs->h;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	hs->h = h;
	hs->n += n;
}

/* xorshift64*: reproducible choices (chunk sizes) from a seed. */
static inline uint64_t qn_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/*
 * Position-addressable pseudo-random bytes: byte i of stream seed is the
 * same whatever split the bytes are produced or checked in, so a sender
 * whose send() took only part of a buffer just continues at its offset.
 */
static inline uint64_t qn_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline void qn_pattern(uint64_t seed, uint64_t off, void *p, size_t n)
{
	unsigned char *b = p;
	uint64_t word = 0, cur = UINT64_MAX;
	size_t i;

	for (i = 0; i < n; i++, off++) {
		if ((off >> 3) != cur) {
			cur = off >> 3;
			word = qn_mix64(seed ^ (cur * 0xd1342543de82ef95ULL));
		}
		b[i] = (unsigned char)(word >> ((off & 7) * 8));
	}
}

/* The hash of bytes [0, n) of a pattern stream. */
static inline void qn_pattern_hash(uint64_t seed, uint64_t n, struct qn_hash *hs)
{
	unsigned char buf[4096];
	uint64_t off = 0;

	qn_hash_init(hs);
	while (off < n) {
		size_t k = n - off < sizeof(buf) ? (size_t)(n - off) : sizeof(buf);

		qn_pattern(seed, off, buf, k);
		qn_hash_add(hs, buf, k);
		off += k;
	}
}

/*
 * A loopback TCP listener (127.0.0.1, or ::1 for AF_INET6) on an ephemeral
 * port. rcvbuf > 0 sets SO_RCVBUF before listen() so accepted sockets
 * inherit it: a peer that does not read then fills up quickly.
 */
static inline int qn_listen(int family, int *port, int rcvbuf)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*s4);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len)) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
				((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* Is fd readable (or at EOF, or failed) within timeout_ms? */
static inline bool qn_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1;
}

/*
 * Accept one connection within timeout_ms; the fd (blocking) or -1.
 * The peer's port goes to *peer_port if given.
 */
static inline int qn_accept(int lfd, int timeout_ms, int *peer_port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd;

	if (!qn_readable(lfd, timeout_ms))
		return -1;
	fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	if (fd >= 0 && peer_port)
		*peer_port = ntohs(ss.ss_family == AF_INET6 ?
				   ((struct sockaddr_in6 *)&ss)->sin6_port :
				   ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* The local port of a plain socket, or -1. */
static inline int qn_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
					       ((struct sockaddr_in *)&ss)->sin_port);
}

/* 127.0.0.1:port */
static inline struct sockaddr_in qn_sin(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	return sin;
}

/*
 * A socket of type bound (or connected, if conn) to 127.0.0.1:port; the
 * fd or -1, its local port in *lport if given.
 */
static inline int qn_socket_at(int type, int port, bool conn, int *lport)
{
	struct sockaddr_in sin = qn_sin(port);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if ((conn ? connect(fd, (struct sockaddr *)&sin, sizeof(sin)) :
		    bind(fd, (struct sockaddr *)&sin, sizeof(sin))) ||
	    (lport && (*lport = qn_local_port(fd)) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A loopback port where nothing listens: a socket bound to it but not
 * listening keeps any other program from taking it, and a SYN to it is
 * answered with a reset. Returns the holding fd (close it when done).
 */
static inline int qn_closed_port(int *port)
{
	return qn_socket_at(SOCK_STREAM, 0, false, port);
}

/* A UDP peer on 127.0.0.1:*port (0: an ephemeral one, stored); fd or -1. */
static inline int qn_udp(int *port)
{
	return qn_socket_at(SOCK_DGRAM, *port, false, port);
}

/*
 * A TCP client connected to 127.0.0.1:port (a loopback connect to a
 * listener completes at once); the fd or -1, its local port in *lport.
 */
static inline int qn_connect(int port, int *lport)
{
	return qn_socket_at(SOCK_STREAM, port, true, lport);
}

/*
 * Wait up to timeout_ms for the other end to close (EOF, or an error such
 * as a reset), discarding what arrives before: 1 if it did, 0 if not.
 */
static inline int qn_wait_closed(int fd, int timeout_ms)
{
	int64_t end = qn_now_ms() + timeout_ms;
	char buf[4096];

	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int left = (int)(end - qn_now_ms());
		ssize_t r;

		if (left <= 0 || poll(&pf, 1, left) != 1)
			return 0;
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return 1;
	}
}

/* Send one datagram to 127.0.0.1:port. */
static inline ssize_t qn_sendto(int fd, const void *p, size_t n, int port)
{
	struct sockaddr_in sin = qn_sin(port);

	return sendto(fd, p, n, 0, (struct sockaddr *)&sin, sizeof(sin));
}

/*
 * Receive one datagram within timeout_ms: its length (MSG_TRUNC: the
 * real one) or -1; the sender's port in *from_port if given.
 */
static inline ssize_t qn_recvfrom(int fd, void *p, size_t n, int timeout_ms, int *from_port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	ssize_t r;

	if (!qn_readable(fd, timeout_ms))
		return -1;
	r = recvfrom(fd, p, n, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&sin, &len);
	if (r >= 0 && from_port)
		*from_port = ntohs(sin.sin_port);
	return r;
}

/* Read from a plain socket until n bytes, EOF or timeout; bytes read. */
static inline size_t qn_read_n(int fd, void *p, size_t n, int timeout_ms)
{
	int64_t end = qn_now_ms() + timeout_ms;
	size_t got = 0;

	while (got < n) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int left = (int)(end - qn_now_ms());
		ssize_t r;

		if (left <= 0 || poll(&pf, 1, left) != 1)
			break;
		r = recv(fd, (char *)p + got, n - got, MSG_DONTWAIT);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			break;
		}
		got += r;
	}
	return got;
}

/* ---- echo server: a child process, one poll() loop, many connections ---- */

#define QN_ECHO_CONNS	32
#define QN_ECHO_BUF	65536

/* What the echo server saw on each connection, in accept order. */
struct qn_echo_stat {
	uint64_t in_bytes;	/* received from the modem side */
	uint64_t in_hash;	/* FNV-1a of those bytes */
	uint64_t out_bytes;	/* echoed back */
	int peer_port;		/* the simulator's local port */
	int eof;		/* the modem side closed (FIN or reset) */
};

struct qn_echo_shared {
	volatile int accepted;
	struct qn_echo_stat conn[QN_ECHO_CONNS];
};

struct qn_echo {
	pid_t pid;
	int port;
	struct qn_echo_shared *sh;	/* MAP_SHARED with the child */
};

struct qn_echo_conn {
	int fd;
	struct qn_hash hs;
	unsigned char *buf;
	size_t len;
	int eof;
};

/* The child's loop; never returns. */
static inline void qn_echo_serve(int lfd, struct qn_echo_shared *sh)
{
	struct qn_echo_conn c[QN_ECHO_CONNS];
	struct pollfd pf[QN_ECHO_CONNS + 1];
	int n = 0, i;

	for (;;) {
		int map[QN_ECHO_CONNS + 1], np = 0;

		if (n < QN_ECHO_CONNS) {
			pf[np].fd = lfd;
			pf[np].events = POLLIN;
			map[np++] = -1;
		}
		for (i = 0; i < n; i++) {
			short ev = 0;

			if (c[i].fd < 0)
				continue;
			/* Read only with room: a slow reader holds the writer back. */
			if (!c[i].eof && c[i].len < QN_ECHO_BUF)
				ev |= POLLIN;
			if (c[i].len)
				ev |= POLLOUT;
			pf[np].fd = c[i].fd;
			pf[np].events = ev;
			map[np++] = i;
		}
		if (poll(pf, np, 1000) < 0 && errno != EINTR)
			_exit(3);
		for (int k = 0; k < np; k++) {
			struct qn_echo_conn *cc;
			ssize_t r;

			if (!pf[k].revents)
				continue;
			if (map[k] < 0) {
				int port = 0, fd = qn_accept(lfd, 0, &port);

				if (fd < 0)
					continue;
				c[n].fd = fd;
				c[n].buf = malloc(QN_ECHO_BUF);
				c[n].len = 0;
				c[n].eof = 0;
				qn_hash_init(&c[n].hs);
				sh->conn[n].peer_port = port;
				n++;
				__atomic_store_n(&sh->accepted, n, __ATOMIC_RELEASE);
				continue;
			}
			cc = &c[map[k]];
			if (pf[k].revents & (POLLIN | POLLHUP | POLLERR) && !cc->eof &&
			    cc->len < QN_ECHO_BUF) {
				r = recv(cc->fd, cc->buf + cc->len, QN_ECHO_BUF - cc->len,
					 MSG_DONTWAIT);
				if (r > 0) {
					qn_hash_add(&cc->hs, cc->buf + cc->len, r);
					cc->len += r;
					sh->conn[map[k]].in_bytes = cc->hs.n;
					sh->conn[map[k]].in_hash = cc->hs.h;
				} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
					cc->eof = 1;
				}
			}
			if (cc->len && pf[k].revents & POLLOUT) {
				r = send(cc->fd, cc->buf, cc->len, MSG_DONTWAIT | MSG_NOSIGNAL);
				if (r > 0) {
					memmove(cc->buf, cc->buf + r, cc->len - r);
					cc->len -= r;
					sh->conn[map[k]].out_bytes += r;
				} else if (r < 0 && errno != EAGAIN && errno != EINTR) {
					cc->len = 0;
					cc->eof = 1;
				}
			}
			/* The modem side is gone and everything went back: close. */
			if (cc->eof && !cc->len) {
				close(cc->fd);
				cc->fd = -1;
				__atomic_store_n(&sh->conn[map[k]].eof, 1, __ATOMIC_RELEASE);
			}
		}
	}
}

/* Start the echo server on 127.0.0.1; 0 or -1. */
static inline int qn_echo_start(struct qn_echo *e)
{
	int lfd;

	memset(e, 0, sizeof(*e));
	e->sh = mmap(NULL, sizeof(*e->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (e->sh == MAP_FAILED) {
		e->sh = NULL;
		return -1;
	}
	lfd = qn_listen(AF_INET, &e->port, 0);
	if (lfd < 0)
		return -1;
	e->pid = fork();
	if (e->pid < 0) {
		close(lfd);
		return -1;
	}
	if (e->pid == 0) {
		/* Dies with the test, whatever happens to it. */
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_IGN);
		/* Hold none of the test's descriptors (ttys, modem sockets). */
		for (fd = 3; fd < 1024; fd++)
			if (fd != lfd)
				close(fd);
		qn_echo_serve(lfd, e->sh);
	}
	close(lfd);
	return 0;
}

/* ---- child processes (echo server, socat) ---- */

/* SIGKILL and reap a child; no-op for pid <= 0. */
static inline void qn_kill_reap(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

static inline void qn_echo_stop(struct qn_echo *e)
{
	qn_kill_reap(&e->pid);
	if (e->sh)
		munmap(e->sh, sizeof(*e->sh));
	e->sh = NULL;
}

/* Run argv (a program on $PATH) as a child that dies with us; pid or -1. */
static inline pid_t qn_spawn(const char *const *argv)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		execvp(argv[0], (char **)argv);
		_exit(127);
	}
	return pid;
}

/* Wait up to timeout_ms for a child to exit; its status, or -1. */
static inline int qn_wait_exit(pid_t pid, int timeout_ms)
{
	int64_t end = qn_now_ms() + timeout_ms;
	int status;

	do {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0)
			return -1;
		qn_sleep_ms(20);
	} while (qn_now_ms() < end);
	return -1;
}

/* Does /proc/net/<proto> list 127.0.0.1:port unconnected in state st? */
static inline int qn_proc_net_has(const char *proto, int port, const char *st)
{
	char line[256], want[48], path[32];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/net/%s", proto);
	f = fopen(path, "r");
	if (!f)
		return 0;
	/* local_address 0100007F:PORT, no remote address, the state */
	snprintf(want, sizeof(want), "0100007F:%04X 00000000:0000 %s", port, st);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, want))
			found = 1;
	fclose(f);
	return found;
}

/* Is something listening on 127.0.0.1:port (per /proc/net/tcp)? */
static inline int qn_is_listening(int port)
{
	return qn_proc_net_has("tcp", port, "0A");		/* LISTEN */
}

/* Is an unconnected UDP socket bound to 127.0.0.1:port? */
static inline int qn_is_udp_bound(int port)
{
	return qn_proc_net_has("udp", port, "07");		/* CLOSE */
}

/* Wait up to ms for check(port); its last answer. */
static inline int qn_wait_port(int (*check)(int), int port, int ms)
{
	int yes;

	QN_WAIT_UNTIL((yes = check(port)), ms, 20);
	return yes;
}

/* A free ephemeral loopback port of a socket type (bound, then released). */
static inline int qn_free_port_of(int type)
{
	int port = 0, fd = qn_socket_at(type, 0, false, &port);

	if (fd < 0)
		return -1;
	close(fd);
	return port;
}

static inline int qn_free_port(void)
{
	return qn_free_port_of(SOCK_STREAM);
}

/* ---- signals ---- */

/* Send sig to a thread after ms, from a thread of its own. */
struct qn_kick {
	pthread_t thread, target;
	int ms, sig;
};

static inline void *qn_kick_main(void *arg)
{
	struct qn_kick *k = arg;

	qn_sleep_ms(k->ms);
	pthread_kill(k->target, k->sig);
	return NULL;
}

/* Arm a kick of the calling thread; join it with qn_kick_join(). */
static inline int qn_kick_self(struct qn_kick *k, int ms, int sig)
{
	k->target = pthread_self();
	k->ms = ms;
	k->sig = sig;
	return pthread_create(&k->thread, NULL, qn_kick_main, k);
}

static inline void qn_kick_join(struct qn_kick *k)
{
	pthread_join(k->thread, NULL);
}

/* Install handler for sig without SA_RESTART: blocking calls see EINTR. */
static inline void qn_catch(int sig, void (*handler)(int), int restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* ---- files ---- */

/* A whole file, NUL-terminated (malloc'd), or NULL. */
static inline char *qn_read_file(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "r");
	size_t cap = 65536, len = 0;
	char *b;

	if (!f)
		return NULL;
	b = malloc(cap + 1);
	while (b) {
		size_t r = fread(b + len, 1, cap - len, f);

		len += r;
		if (len < cap)
			break;
		cap *= 2;
		b = realloc(b, cap + 1);
	}
	fclose(f);
	if (!b)
		return NULL;
	b[len] = 0;
	if (lenp)
		*lenp = len;
	return b;
}

/* memmem for a NUL-terminated needle in a buffer of len bytes. */
static inline int qn_contains(const char *hay, size_t len, const char *needle)
{
	return hay && memmem(hay, len, needle, strlen(needle)) != NULL;
}

#endif /* QT_NET_H */
