// SPDX-License-Identifier: GPL-2.0
/*
 * linkrelay: two ptys joined by the same link model as qtsim's.
 *
 *   linkrelay [--baud N] [--delay MS] [--link-a PATH] [--link-b PATH]
 *
 * Creates two raw pty pairs and copies bytes between their masters. Each
 * direction on its own is limited to N/10 bytes/s (8N1) by a token bucket
 * with a 20 ms burst, as `qtsim --baud`; with --delay every byte is held
 * MS ms before it may go (a fixed one-way delay, the PPP counterpart of
 * `qtsim --latency`). Besides the bytes in flight for the delay, at most
 * 4 KiB wait inside the relay per direction (a UART's FIFO and driver
 * buffer), so a writer that outruns the line is held back by the pty. Line 1 of stdout: the two slave paths. Like qtsim
 * it keeps a slave fd of each pair open itself, so a reopen of a slave is
 * no hangup. SIGTERM/SIGINT end it (links removed; the bytes relayed each
 * way are reported on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define QBASE 4096		/* bytes held per direction, besides those in flight */
#define BURST_S 0.020		/* token bucket depth */

struct dir {
	int in, out;		/* master fds: read from in, write to out */
	char *buf;
	double *stamp;		/* arrival time of each byte */
	size_t head, len;	/* ring buffer */
	double tokens, last;
	int blocked;		/* the last write found the output tty full */
	unsigned long long moved;	/* bytes relayed */
};

static volatile sig_atomic_t stop;
static size_t qcap;		/* QBASE + what the delay keeps in flight */
static double rate;		/* bytes/s, 0: unthrottled */
static double delay_s;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int make_pty(char *name, int *keep)
{
	struct termios t;
	int m, s;

	if (openpty(&m, &s, name, NULL, NULL)) {
		perror("linkrelay: openpty");
		exit(1);
	}
	tcgetattr(s, &t);
	cfmakeraw(&t);
	tcsetattr(s, TCSANOW, &t);
	fcntl(m, F_SETFL, O_NONBLOCK);
	*keep = s;
	return m;
}

static void pull(struct dir *d, double t)
{
	static char tmp[65536];
	size_t room = qcap - d->len;
	ssize_t n, i;

	if (d->len == qcap)
		return;
	n = read(d->in, tmp, room < sizeof(tmp) ? room : sizeof(tmp));
	for (i = 0; i < n; i++) {
		size_t at = (d->head + d->len) % qcap;

		d->buf[at] = tmp[i];
		d->stamp[at] = t;
		d->len++;
	}
}

/* Seconds until d may send again (-1: nothing to send). */
static double push(struct dir *d, double t)
{
	size_t n = 0, first;
	ssize_t w;

	if (rate > 0) {
		d->tokens += (t - d->last) * rate;
		if (d->tokens > rate * BURST_S)
			d->tokens = rate * BURST_S < 1 ? 1 : rate * BURST_S;
	}
	d->last = t;
	d->blocked = 0;
	while (n < d->len && d->stamp[(d->head + n) % qcap] + delay_s <= t &&
	       (rate <= 0 || n + 1 <= d->tokens))
		n++;
	while (n) {
		first = qcap - d->head < n ? qcap - d->head : n;
		w = write(d->out, d->buf + d->head, first);
		if (w <= 0) {
			d->blocked = 1;
			break;
		}
		d->head = (d->head + w) % qcap;
		d->len -= w;
		d->moved += w;
		n -= w;
		if (rate > 0)
			d->tokens -= w;
	}
	if (!d->len)
		return -1;
	{
		double due = d->stamp[d->head] + delay_s - t, need = 0;

		if (rate > 0 && d->tokens < 1)
			need = (1 - d->tokens) / rate;
		return due > need ? due : need;
	}
}

int main(int argc, char **argv)
{
	char name[2][128];
	const char *link[2] = { NULL, NULL };
	int m[2], keep[2], i;
	struct dir *d = calloc(2, sizeof(*d));

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--baud") && i + 1 < argc)
			rate = atof(argv[++i]) / 10;
		else if (!strcmp(argv[i], "--delay") && i + 1 < argc)
			delay_s = atof(argv[++i]) / 1000;
		else if (!strcmp(argv[i], "--link-a") && i + 1 < argc)
			link[0] = argv[++i];
		else if (!strcmp(argv[i], "--link-b") && i + 1 < argc)
			link[1] = argv[++i];
		else {
			fprintf(stderr, "usage: linkrelay [--baud N] [--delay MS] [--link-a PATH] [--link-b PATH]\n");
			return 2;
		}
	}
	/*
	 * The delay must not cap the rate: room for what it keeps in flight
	 * (rate x delay; unthrottled, 64 MiB/s x delay).
	 */
	qcap = QBASE + (size_t)((rate > 0 ? rate : 64 << 20) * delay_s);
	for (i = 0; d && i < 2; i++) {
		d[i].buf = malloc(qcap);
		d[i].stamp = malloc(qcap * sizeof(double));
		if (!d[i].buf || !d[i].stamp)
			return 1;
	}
	if (!d)
		return 1;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	for (i = 0; i < 2; i++) {
		m[i] = make_pty(name[i], &keep[i]);
		if (link[i]) {
			unlink(link[i]);
			if (symlink(name[i], link[i]))
				perror("linkrelay: symlink");
		}
	}
	printf("%s %s\n", name[0], name[1]);
	fflush(stdout);
	d[0].in = m[0], d[0].out = m[1];
	d[1].in = m[1], d[1].out = m[0];
	d[0].last = d[1].last = now_s();
	while (!stop) {
		struct pollfd p[2];
		double t = now_s(), wait = 1;
		int k;

		for (k = 0; k < 2; k++) {
			double w = push(&d[k], t);

			if (w >= 0 && w < wait && !d[k].blocked)
				wait = w;
			p[k].fd = m[k];
			p[k].events = (d[k].len < qcap ? POLLIN : 0) |
				      (d[!k].blocked ? POLLOUT : 0);
		}
		/* Wake for the next due byte, or when the output tty has room. */
		if (poll(p, 2, (int)(wait * 1000) + (wait > 0)) < 0 && errno != EINTR)
			break;
		t = now_s();
		for (k = 0; k < 2; k++)
			if (p[k].revents & POLLIN)
				pull(&d[k], t);
	}
	fprintf(stderr, "linkrelay: %s -> %s %llu bytes, %s -> %s %llu bytes\n",
		name[0], name[1], d[0].moved, name[1], name[0], d[1].moved);
	for (i = 0; i < 2; i++) {
		if (link[i])
			unlink(link[i]);
		close(keep[i]);
		close(m[i]);
	}
	return 0;
}
