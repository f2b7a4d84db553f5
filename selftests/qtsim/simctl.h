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

#endif
