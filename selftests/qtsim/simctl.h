/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test driver for qtsim: start it on a pty, talk AT to the slave side
 * with timeouts, poke its control socket, and always kill and reap it.
 * Plus small loopback peers (TCP echo server, UDP sockets) for the
 * simulated modem to talk to.
 */
#ifndef SIMCTL_H
#define SIMCTL_H

#include <pthread.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/types.h>

#define SIM_RBUF (1 << 20)
#define MIN_(a, b) ((a) < (b) ? (a) : (b))

struct sim {
	pid_t pid;
	int fd;			/* pty slave, raw, nonblocking */
	char dir[64];		/* temporary directory: control socket, log */
	char ctl[96], log[96], slave[128];
	unsigned char *rbuf;	/* bytes read ahead */
	size_t rlen;
};

/*
 * Start qtsim --pty with the default test options plus extra (NULL-
 * terminated, may be NULL). Waits for "\r\nRDY\r\n" if wait_rdy.
 */
int sim_start(struct sim *s, const char *const *extra, int wait_rdy);
void sim_stop(struct sim *s);

int sim_write(struct sim *s, const void *p, size_t n);
int sim_send(struct sim *s, const char *str);
/* Exactly n bytes; -1 on timeout. */
int sim_read(struct sim *s, void *p, size_t n, int tmo_ms);
/* The next strlen(exact) bytes must be exact; prints both on mismatch. */
int sim_expect(struct sim *s, const char *exact, int tmo_ms);
/* Send cmd and expect its answer (the caller includes any echo). */
int sim_cmd(struct sim *s, const char *cmd, const char *answer);
/* Read up to and including needle; the bytes (NUL-ended) go to out. */
int sim_wait_for(struct sim *s, const char *needle, char *out, size_t cap, int tmo_ms);
/* The next CR LF framed line (without framing), or ">" for a "> " prompt. */
int sim_line(struct sim *s, char *line, size_t cap, int tmo_ms);
/* 0 if nothing arrives within ms. */
int sim_quiet(struct sim *s, int ms);
/* Drop whatever is buffered or arrives within ms. */
void sim_drain(struct sim *s, int ms);
/* One control command; 0 on "ok". The reply goes to reply if given. */
int sim_ctl(struct sim *s, const char *cmd, char *reply, size_t cap);
/* The transcript so far (NUL-terminated, malloc'd). */
char *sim_log(struct sim *s);

/* Write wlen bytes and read rlen bytes concurrently (transparent mode). */
int sim_xfer(struct sim *s, const void *w, size_t wlen, void *r, size_t rlen, int tmo_ms);

/* Loopback TCP echo server in a thread, one connection at a time. */
struct echo_srv {
	int lfd, port, family;
	pthread_t th;
	int running;
};
int echo_start(struct echo_srv *e, int family);
void echo_stop(struct echo_srv *e);

/* A TCP or UDP socket on 127.0.0.1 (or ::1), port 0 = any. */
int tcp_listen(int family, int *port);
int tcp_connect(int family, int port);
int udp_bind(int family, int *port);

/*
 * Start qtsim with exactly these extra arguments, stdin and stdout on
 * pipes (to: its stdin, from: its stdout). It dies with the caller.
 */
pid_t qtsim_spawn(const char *const *args, int *to, int *from);
/* SIGTERM, wait up to 3 s (then SIGKILL); the wait status. */
int qtsim_reap(pid_t pid);
/* Read until needle shows up on fd (or timeout); 0 if it did. */
int fd_wait_for(int fd, const char *needle, int tmo_ms);

/* Escape for messages. */
const char *esc(const void *p, size_t n);

void fill_random(void *p, size_t n, unsigned seed);
unsigned long long fnv1a(const void *p, size_t n);

/* ---- test conveniences (simctl.c) ------------------------------------- */

long long ms_now(void);
void msleep(int ms);

/* Send cmd + CR; expect the echo of cmd + CR, then answer. */
int ecmd(struct sim *s, const char *cmd, const char *answer);
/* Echo off: send cmd + CR and expect answer. */
int cmd(struct sim *s, const char *cmd, const char *answer);
/* Echo on: ecmd() for each { command, answer } of a table; -1 at the first miss. */
int ecmds(struct sim *s, const char *const (*t)[2], size_t n);
/* A control command, and exactly what it makes the module say. */
int ctl_expect(struct sim *s, const char *ctl, const char *said);
/* Echo off: a send command at, "> ", the n bytes, then the result line. */
int send_payload(struct sim *s, const char *at, const void *p, size_t n,
		 const char *result);

/* A line of data traffic that is not the answer awaited: 0 if expected. */
typedef int line_fn(struct sim *s, const char *line, void *arg);
/* Lines up to end; the others go to other(). */
int lines_until(struct sim *s, const char *end, line_fn *other, void *arg);

int accept_tmo(int lfd, int ms);
int recv_all(int fd, void *p, size_t n, int ms);
/* The next bytes on fd are exactly these. */
int recv_exact(int fd, const char *exact);
/* A free loopback port: open_any is tcp_listen or udp_bind. */
int free_port(int (*open_any)(int family, int *port));
struct sockaddr_in loopback(int port);

/*
 * A TCP peer on 127.0.0.1 for the module to connect to: the listener and
 * the connection it accepted (the fixture closes both).
 */
struct peer {
	int lfd, port;
	int fd, cport;	/* cport: the module's end */
};

int peer_listen(struct peer *p);
int peer_accept(struct peer *p);
/* The peer hangs up its connection (FIN; with linger 0, RST). */
void peer_close(struct peer *p, int reset);
/* The peer sends what it can of the rest of buf without blocking. */
void peer_push(struct peer *p, const void *buf, size_t len, size_t *sent);
/*
 * The peer sends without blocking from a small socket buffer: for half a
 * second, all it can of buf (*sent so far), to a module that does not read.
 */
void peer_flood(struct peer *p, const void *buf, size_t len, size_t *sent);
/* What the peer reads next: 0 when it sees the module's FIN. */
ssize_t peer_recv(struct peer *p);

/*
 * Transparent mode to an echo server: n random bytes (from seed) out and
 * back, hash-checked; then "+++" after guard_ms of quiet, and its OK.
 */
int echo_and_escape(struct sim *s, size_t n, unsigned seed, int guard_ms);

/*
 * The fixture of a test program (which includes kselftest_harness.h
 * first): a simulator, a loopback echo server and a peer, each stopped or
 * closed at the end if it was started.
 */
#define SIM_FIXTURE(name)						\
FIXTURE(name) {								\
	struct sim s;							\
	struct echo_srv e;						\
	struct peer p;							\
};									\
FIXTURE_SETUP(name)							\
{									\
	memset(self, 0, sizeof(*self));					\
	fixture_init(&self->s, &self->p);				\
}									\
FIXTURE_TEARDOWN(name)							\
{									\
	fixture_fini(&self->s, &self->e, &self->p);			\
}
void fixture_init(struct sim *s, struct peer *p);
void fixture_fini(struct sim *s, struct echo_srv *e, struct peer *p);

#endif
