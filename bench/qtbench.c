// SPDX-License-Identifier: GPL-2.0
/*
 * qtbench: the load generator of `make bench`.
 *
 *   qtbench server [-b ADDR] PORT
 *   qtbench up|down [-f quectel|tcp] [-m MODE] [-M MODEM] [-s BYTES] [-T SECS] HOST PORT
 *   qtbench rr      [-f ...] [-m MODE] [-M MODEM] [-n COUNT] [-T SECS] [-z SIZE] HOST PORT
 *   qtbench streams [-f ...] [-m MODE] [-M MODEM] [-c N] [-w SECS] [-T SECS] HOST PORT
 *   qtbench idle    [-f ...] [-M MODEM | -K M1,M2...] [-c N] [-n CYCLES] [-u] HOST PORT
 *   qtbench raw     [-s BYTES] [-T SECS] TXTTY RXTTY
 *
 * The same client measures an AF_QUECTEL socket (-f quectel, the default;
 * -m buffer|push|transparent sets SOL_QUECTEL/QT_ACCESS_MODE before
 * connect) or a plain TCP socket (-f tcp, e.g. across a PPP link). The
 * peer is `qtbench server`, a plain TCP server (a process per busy
 * connection, idle ones in the server itself). Every connection starts
 * with a 16-byte header "<C> <n>":
 *   U n  the client uploads n bytes, the server answers 8 bytes "done\n..."
 *   D n  the server sends n bytes
 *   E n  the server echoes records of n bytes until EOF
 *   S 0  the server sends until the connection fails
 *   I 0  the server reads (and drops) until EOF
 * Payload is the lowercase alphabet repeated (nothing AT-like, no '+'),
 * checked by the receiving side.
 *
 * Results are one line of key=value pairs on stdout. Kernel CPU is the
 * guest-wide system+irq+softirq time of /proc/stat over the measurement
 * (every process's kernel work: the socket's owner, kworkers, the modem
 * simulator or PPP daemons and relay, the loopback peer), plus this
 * process's own stime (getrusage).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/quectel.h>

#define HDR_LEN 16
#define BUF_LEN 65536

static const char *family = "quectel";
static int access_mode = QT_MODE_BUFFER;
/* SO_RCVBUF of a direct-push socket: 150 ms of an unthrottled line here */
static int push_rcvbuf = 2 << 20;
static int modem;
static int modems[16], nmodems;
static long long size_opt = 131072;
static double limit_s = 60;
static long count_opt = 200;
static int nstreams = 12;
static double warm_s = 2;
static size_t rec_size = 64;
static int unconnected;
static const char *bind_addr = "0.0.0.0";

static void die(const char *what)
{
	fprintf(stderr, "qtbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Payload byte at stream offset off. */
static inline char pat(unsigned long long off)
{
	return 'a' + off % 26;
}

static void fill(char *buf, size_t len, unsigned long long off)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pat(off + i);
}

/* Number of bytes of buf that differ from the pattern at off. */
static size_t check(const char *buf, size_t len, unsigned long long off)
{
	size_t i, bad = 0;

	for (i = 0; i < len; i++)
		bad += buf[i] != pat(off + i);
	return bad;
}

/* Kernel time of the whole guest in ms: system + irq + softirq. */
static double kernel_ms(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) != 7)
		v[2] = v[5] = v[6] = 0;
	fclose(f);
	return (v[2] + v[5] + v[6]) * 1000.0 / sysconf(_SC_CLK_TCK);
}

static double self_sys_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

static int mode_of(const char *s)
{
	if (!strcmp(s, "buffer"))
		return QT_MODE_BUFFER;
	if (!strcmp(s, "push"))
		return QT_MODE_DIRECT_PUSH;
	if (!strcmp(s, "transparent"))
		return QT_MODE_TRANSPARENT;
	fprintf(stderr, "qtbench: unknown mode %s\n", s);
	exit(2);
}

/* A connected client socket (blocking), or -1 with errno. */
static int dial_once(const char *host, int port)
{
	int one = 1, fd;

	if (!strcmp(family, "tcp")) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };

		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
			errno = EINVAL;
			return -1;
		}
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return -1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
			goto fail;
		return fd;
	} else {
		struct sockaddr_qt sqt = {
			.sqt_family = AF_QUECTEL,
			.sqt_port = htons(port),
			.sqt_modem = modem,
		};

		snprintf(sqt.sqt_host, sizeof(sqt.sqt_host), "%s", host);
		fd = socket(AF_QUECTEL, SOCK_STREAM, 0);
		if (fd < 0)
			return -1;
		if (access_mode != QT_MODE_BUFFER &&
		    setsockopt(fd, SOL_QUECTEL, QT_ACCESS_MODE, &access_mode, sizeof(int)))
			goto fail;
		/*
		 * Direct push has no flow control: what the receive buffer
		 * cannot hold while the reader is off the CPU is dropped. Such
		 * a program keeps a large one (docs/SOCKETS.md), so does this.
		 */
		if (access_mode == QT_MODE_DIRECT_PUSH)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &push_rcvbuf, sizeof(int));
		if (connect(fd, (struct sockaddr *)&sqt, sizeof(sqt)))
			goto fail;
		return fd;
	}
fail:
	one = errno;
	close(fd);
	errno = one;
	return -1;
}

/*
 * dial_once, retried for 30 s while the modem is busy: a transparent
 * connection still leaving (EBUSY), connectIDs of closed sockets not yet
 * freed (EADDRNOTAVAIL), the modem's own EAGAIN.
 */
static int dial(const char *host, int port)
{
	double end = now_s() + 30;
	int fd;

	for (;;) {
		fd = dial_once(host, port);
		if (fd >= 0 || now_s() > end ||
		    (errno != EBUSY && errno != EADDRNOTAVAIL && errno != EAGAIN))
			return fd;
		usleep(200 * 1000);
	}
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Read exactly len bytes before the deadline (absolute, now_s()). */
static int recv_all(int fd, char *buf, size_t len, double deadline)
{
	while (len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = deadline - now_s();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EPIPE;
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

static int send_hdr(int fd, char cmd, long long n)
{
	char hdr[HDR_LEN + 1];

	snprintf(hdr, sizeof(hdr), "%c %-13lld\n", cmd, n);
	return send_all(fd, hdr, HDR_LEN);
}

/* ---- server ---- */

static void serve(int fd, const char *hdr)
{
	char *buf = malloc(BUF_LEN);
	unsigned long long off = 0, bad = 0;
	long long n = atoll(hdr + 2);
	ssize_t r;

	if (!buf)
		_exit(1);
	switch (hdr[0]) {
	case 'U':
		while ((long long)off < n) {
			r = recv(fd, buf, n - off < BUF_LEN ? n - off : BUF_LEN, 0);
			if (r <= 0)
				_exit(1);
			bad += check(buf, r, off);
			off += r;
		}
		snprintf(buf, 9, "%-7llu\n", bad);
		send_all(fd, buf, 8);
		/* Let the client close first (the modem has no half-close). */
		while (recv(fd, buf, BUF_LEN, 0) > 0)
			;
		break;
	case 'D':
	case 'S':
		while (hdr[0] == 'S' || (long long)off < n) {
			size_t len = BUF_LEN;

			if (hdr[0] == 'D' && n - off < BUF_LEN)
				len = n - off;
			fill(buf, len, off);
			if (send_all(fd, buf, len))
				break;
			off += len;
		}
		while (hdr[0] == 'D' && recv(fd, buf, BUF_LEN, 0) > 0)
			;
		break;
	case 'E':
		if (n <= 0 || n > BUF_LEN)
			_exit(1);
		while (!recv_all(fd, buf, n, now_s() + 600) && !send_all(fd, buf, n))
			;
		break;
	}
	_exit(0);
}

#define MAX_IDLE 1024

/*
 * The parent reads each connection's header; idle ones ('I') stay in the
 * parent (no process per connection, so the idle-memory test measures
 * sockets, not processes) and are closed at EOF; the others get a child.
 */
static __attribute__((noreturn)) void cmd_server(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct pollfd p[MAX_IDLE + 1];
	int one = 1, nidle = 0, i, l = socket(AF_INET, SOCK_STREAM, 0);
	char buf[4096];

	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (l < 0 || inet_pton(AF_INET, bind_addr, &sin.sin_addr) != 1)
		die("server socket");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sin, sizeof(sin)) || listen(l, 64))
		die("bind/listen");
	printf("listening %s:%d\n", bind_addr, port);
	fflush(stdout);
	p[0].fd = l;
	p[0].events = POLLIN;
	for (;;) {
		char hdr[HDR_LEN + 1] = { 0 };
		int c;

		if (poll(p, nidle + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (i = 1; i <= nidle; i++) {
			ssize_t r;

			if (!p[i].revents)
				continue;
			r = recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR)))
				continue;
			close(p[i].fd);
			p[i--] = p[nidle--];
		}
		if (!(p[0].revents & POLLIN))
			continue;
		c = accept(l, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (recv_all(c, hdr, HDR_LEN, now_s() + 30)) {
			close(c);
			continue;
		}
		if (hdr[0] == 'I' && nidle < MAX_IDLE) {
			nidle++;
			p[nidle].fd = c;
			p[nidle].events = POLLIN;
			continue;
		}
		if (fork() == 0) {
			close(l);
			for (i = 1; i <= nidle; i++)
				close(p[i].fd);
			serve(c, hdr);
		}
		close(c);
	}
}

/* ---- clients ---- */

static unsigned long long rx_dropped(int fd)
{
	uint64_t v = 0;
	socklen_t len = sizeof(v);

	if (strcmp(family, "quectel") ||
	    getsockopt(fd, SOL_QUECTEL, QT_RX_DROPPED, &v, &len))
		return 0;
	return v;
}

static void print_cpu(double k0, double s0, double bytes)
{
	double k = kernel_ms() - k0, s = self_sys_ms() - s0;
	double mib = bytes / 1048576.0;

	printf(" kernel_ms=%.0f self_sys_ms=%.0f kernel_ms_per_mib=%.1f self_sys_ms_per_mib=%.1f",
	       k, s, mib > 0 ? k / mib : 0, mib > 0 ? s / mib : 0);
}

static int cmd_bulk(int up, const char *host, int port)
{
	char *buf = malloc(BUF_LEN), ack[9] = { 0 };
	unsigned long long off = 0, bad = 0;
	double t0, t1, k0, s0, deadline;
	int fd, ok = 1;

	signal(SIGPIPE, SIG_IGN);
	fd = dial(host, port);
	if (fd < 0)
		die("connect");
	if (!buf || send_hdr(fd, up ? 'U' : 'D', size_opt))
		die("header");
	k0 = kernel_ms();
	s0 = self_sys_ms();
	t0 = now_s();
	deadline = t0 + limit_s;
	if (up) {
		while ((long long)off < size_opt && now_s() < deadline) {
			size_t len = size_opt - off < BUF_LEN ? size_opt - off : BUF_LEN;

			fill(buf, len, off);
			if (send_all(fd, buf, len)) {
				ok = 0;
				break;
			}
			off += len;
		}
		if (ok && recv_all(fd, ack, 8, deadline) == 0)
			bad = strtoull(ack, NULL, 10);
		else
			ok = 0;
	} else {
		while ((long long)off < size_opt) {
			size_t want = size_opt - off < BUF_LEN ? size_opt - off : BUF_LEN;
			struct pollfd p = { .fd = fd, .events = POLLIN };
			double left = deadline - now_s();
			ssize_t n;

			if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) == 0) {
				ok = 0;
				break;
			}
			n = recv(fd, buf, want, MSG_DONTWAIT);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				ok = 0;
				break;
			}
			bad += check(buf, n, off);
			off += n;
		}
	}
	t1 = now_s();
	printf("test=%s bytes=%llu secs=%.3f goodput_Bps=%.0f complete=%d corrupt=%llu dropped=%llu",
	       up ? "up" : "down", off, t1 - t0, off / (t1 - t0), ok, bad, rx_dropped(fd));
	print_cpu(k0, s0, off);
	printf("\n");
	close(fd);
	return ok && !bad ? 0 : 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int cmd_rr(const char *host, int port)
{
	char *buf = malloc(rec_size), *rbuf = malloc(rec_size);
	double *lat = calloc(count_opt, sizeof(double)), end;
	long i, n = 0;
	int fd, ok = 1;

	signal(SIGPIPE, SIG_IGN);
	fd = dial(host, port);
	if (fd < 0)
		die("connect");
	if (!buf || !rbuf || !lat || send_hdr(fd, 'E', rec_size))
		die("header");
	fill(buf, rec_size, 0);
	end = now_s() + limit_s;
	for (i = 0; i < count_opt + 3 && now_s() < end; i++) {
		double t = now_s();

		if (send_all(fd, buf, rec_size) ||
		    recv_all(fd, rbuf, rec_size, t + 30) ||
		    memcmp(buf, rbuf, rec_size)) {
			ok = 0;
			break;
		}
		if (i >= 3)		/* the first three warm up */
			lat[n++] = (now_s() - t) * 1e3;
	}
	close(fd);
	if (!n) {
		printf("test=rr count=0 complete=0\n");
		return 1;
	}
	qsort(lat, n, sizeof(double), cmp_double);
	printf("test=rr count=%ld complete=%d min_ms=%.2f median_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
	       n, ok, lat[0], lat[n / 2], lat[(long)((n - 1) * 0.99 + 0.5)], lat[n - 1]);
	return !ok;
}

static int cmd_streams(const char *host, int port)
{
	int *fd = calloc(nstreams, sizeof(int)), i, open_n = 0, ok = 1, counting = 0;
	unsigned long long *win = calloc(nstreams, sizeof(*win));
	unsigned long long *off = calloc(nstreams, sizeof(*off)), bad = 0, drop = 0;
	struct pollfd *p = calloc(nstreams, sizeof(*p));
	char *buf = malloc(BUF_LEN);
	double t0, tw, tend, k0 = 0, s0 = 0, sum = 0, sum2 = 0;

	signal(SIGPIPE, SIG_IGN);
	if (!fd || !win || !off || !p || !buf)
		die("malloc");
	for (i = 0; i < nstreams; i++) {
		fd[i] = dial(host, port);
		if (fd[i] < 0) {
			fprintf(stderr, "qtbench: stream %d: connect: %s\n", i, strerror(errno));
			break;
		}
		if (send_hdr(fd[i], 'S', 0))
			die("header");
		p[i].fd = fd[i];
		p[i].events = POLLIN;
		open_n++;
	}
	if (open_n < nstreams)
		ok = 0;
	t0 = now_s();
	tw = t0 + warm_s;
	tend = tw + limit_s;
	k0 = kernel_ms();
	s0 = self_sys_ms();
	while (open_n && now_s() < tend) {
		int warm = now_s() >= tw;

		if (warm && !counting) {
			counting = 1;
			k0 = kernel_ms();
			s0 = self_sys_ms();
		}
		if (poll(p, open_n, 100) < 0 && errno != EINTR)
			die("poll");
		for (i = 0; i < open_n; i++) {
			ssize_t n;

			if (!(p[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			n = recv(fd[i], buf, BUF_LEN, MSG_DONTWAIT);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				fprintf(stderr, "qtbench: stream %d ended early\n", i);
				p[i].fd = -1;
				ok = 0;
				continue;
			}
			bad += check(buf, n, off[i]);
			off[i] += n;
			if (warm)
				win[i] += n;
		}
	}
	for (i = 0; i < open_n; i++) {
		drop += rx_dropped(fd[i]);
		sum += win[i];
		sum2 += (double)win[i] * win[i];
	}
	printf("test=streams streams=%d open=%d secs=%.3f aggregate_Bps=%.0f jain=%.4f complete=%d corrupt=%llu dropped=%llu",
	       nstreams, open_n, limit_s, sum / limit_s,
	       sum2 > 0 ? sum * sum / (open_n * sum2) : 0, ok, bad, drop);
	print_cpu(k0, s0, sum);
	printf(" per_stream_B=");
	for (i = 0; i < open_n; i++)
		printf("%s%llu", i ? ":" : "", win[i]);
	printf("\n");
	for (i = 0; i < open_n; i++)
		close(fd[i]);
	return !ok;
}

#define MAX_CACHES 512

struct slab_snap {
	int n;
	char name[MAX_CACHES][128];
	long long bytes[MAX_CACHES];	/* active objects x object size */
	long long total;
};

static void slab_snap(struct slab_snap *s)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	char line[512], name[128];
	long long active, num, objsize;

	s->n = 0;
	s->total = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %lld %lld %lld", name, &active, &num, &objsize) == 4 &&
		    s->n < MAX_CACHES) {
			snprintf(s->name[s->n], sizeof(s->name[0]), "%s", name);
			s->bytes[s->n++] = active * objsize;
			s->total += active * objsize;
		}
	fclose(f);
}

/* The three caches that grew most from a to b, as name:+bytes,... */
static void top_growth(const struct slab_snap *a, const struct slab_snap *b, char *out, size_t len)
{
	long long d[MAX_CACHES];
	int i, j, k, best;

	for (i = 0; i < b->n; i++) {
		d[i] = b->bytes[i];
		for (j = 0; j < a->n; j++)
			if (!strcmp(a->name[j], b->name[i])) {
				d[i] -= a->bytes[j];
				break;
			}
	}
	out[0] = 0;
	for (k = 0; k < 3; k++) {
		best = -1;
		for (i = 0; i < b->n; i++)
			if (d[i] > 0 && (best < 0 || d[i] > d[best]))
				best = i;
		if (best < 0)
			break;
		snprintf(out + strlen(out), len - strlen(out), "%s%s:+%lld",
			 k ? "," : "", b->name[best], d[best]);
		d[best] = 0;
	}
}

/*
 * Quiet for 3 s, then shrink every slab cache (SLUB flushes its per-CPU
 * slabs, which /proc/slabinfo counts as fully in use), so the snapshot
 * that follows counts objects in use rather than slabs held.
 */
static void settle(void)
{
	DIR *dir;
	struct dirent *e;
	char path[512];

	sync();
	usleep(3000 * 1000);
	dir = opendir("/sys/kernel/slab");
	while (dir && (e = readdir(dir))) {
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", e->d_name);
		fd = open(path, O_WRONLY);
		if (fd >= 0) {
			if (write(fd, "1", 1) < 0)
				errno = 0;
			close(fd);
		}
	}
	if (dir)
		closedir(dir);
}

static int open_idle(int *fd, const char *host, int port)
{
	int i;

	for (i = 0; i < nstreams; i++) {
		if (unconnected) {
			fd[i] = socket(!strcmp(family, "tcp") ? AF_INET : AF_QUECTEL,
				       SOCK_STREAM, 0);
		} else {
			if (nmodems)
				modem = modems[i % nmodems];
			fd[i] = dial(host, port);
			if (fd[i] >= 0 && send_hdr(fd[i], 'I', 0))
				die("header");
		}
		if (fd[i] < 0) {
			fprintf(stderr, "qtbench: idle socket %d: %s\n", i, strerror(errno));
			break;
		}
	}
	return i;
}

/*
 * Slab growth per idle socket: a warm-up cycle (open N, close), then
 * count_opt cycles, each measured twice: open N (growth) and close them
 * (shrink), 3 s of quiet before every snapshot. The result is the median
 * of those samples.
 */
static int cmd_idle(const char *host, int port)
{
	int *fd = calloc(nstreams, sizeof(int)), i, n = 0, ns = 0, cyc;
	struct slab_snap *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	double *sample = calloc(2 * count_opt, sizeof(double));
	char top[256] = "";

	signal(SIGPIPE, SIG_IGN);
	if (!fd || !a || !b || !sample)
		die("malloc");
	for (cyc = 0; cyc <= count_opt; cyc++) {
		settle();
		slab_snap(a);
		n = open_idle(fd, host, port);
		settle();
		slab_snap(b);
		if (cyc && n)
			sample[ns++] = (double)(b->total - a->total) / n;
		if (cyc == 1)
			top_growth(a, b, top, sizeof(top));
		for (i = 0; i < n; i++)
			close(fd[i]);
		if (n < nstreams)
			break;
		settle();
		slab_snap(a);
		if (cyc)
			sample[ns++] = (double)(b->total - a->total) / n;
	}
	qsort(sample, ns, sizeof(double), cmp_double);
	printf("test=idle family=%s connected=%d sockets=%d samples=%d per_socket_B=%.0f min_B=%.0f max_B=%.0f top_caches=%s\n",
	       family, !unconnected, n, ns, ns ? sample[ns / 2] : 0,
	       ns ? sample[0] : 0, ns ? sample[ns - 1] : 0, top[0] ? top : "-");
	return n < nstreams || !ns;
}

static int open_raw(const char *path, int flags)
{
	struct termios t;
	int fd = open(path, flags | O_NOCTTY);

	if (fd < 0)
		die(path);
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
	return fd;
}

/* A raw byte copy: write to one tty, read from another (e.g. linkrelay). */
static int cmd_raw(const char *txpath, const char *rxpath)
{
	int tx = open_raw(txpath, O_WRONLY | O_NONBLOCK), rx = open_raw(rxpath, O_RDONLY | O_NONBLOCK);
	char *wbuf = malloc(BUF_LEN), *rbuf = malloc(BUF_LEN);
	unsigned long long woff = 0, roff = 0, bad = 0;
	double t0 = now_s(), k0 = kernel_ms(), s0 = self_sys_ms(), deadline = t0 + limit_s;
	int ok = 1;

	if (!wbuf || !rbuf)
		die("malloc");
	while ((long long)roff < size_opt) {
		struct pollfd p[2] = { { .fd = rx, .events = POLLIN },
				       { .fd = tx, .events = (long long)woff < size_opt ? POLLOUT : 0 } };
		double left = deadline - now_s();
		ssize_t n;

		if (left <= 0) {
			ok = 0;
			break;
		}
		if (poll(p, 2, (int)(left * 1000) + 1) < 0 && errno != EINTR)
			die("poll");
		if (p[1].revents & POLLOUT) {
			size_t len = size_opt - woff < 4096 ? size_opt - woff : 4096;

			fill(wbuf, len, woff);
			n = write(tx, wbuf, len);
			if (n > 0)
				woff += n;
		}
		if (p[0].revents & POLLIN) {
			n = read(rx, rbuf, BUF_LEN);
			if (n > 0) {
				bad += check(rbuf, n, roff);
				roff += n;
			}
		}
	}
	printf("test=raw bytes=%llu secs=%.3f goodput_Bps=%.0f complete=%d corrupt=%llu",
	       roff, now_s() - t0, roff / (now_s() - t0), ok, bad);
	print_cpu(k0, s0, roff);
	printf("\n");
	return !ok;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: qtbench server [-b ADDR] PORT\n"
		"       qtbench up|down|rr|streams|idle [-f quectel|tcp] [-m buffer|push|transparent]\n"
		"               [-M MODEM] [-K M1,M2...] [-s BYTES] [-n COUNT] [-c N] [-T SECS] [-w SECS] [-z SIZE] [-u] HOST PORT\n"
		"       qtbench raw [-s BYTES] [-T SECS] TXTTY RXTTY\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cmd;
	int c;

	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "b:f:m:M:K:s:n:c:T:w:z:u")) != -1) {
		switch (c) {
		case 'b': bind_addr = optarg; break;
		case 'f': family = optarg; break;
		case 'm': access_mode = mode_of(optarg); break;
		case 'M': modem = atoi(optarg); break;
		case 'K':		/* idle: modems to spread the sockets over */
			for (optarg = strtok(optarg, ","); optarg && nmodems < 16;
			     optarg = strtok(NULL, ","))
				modems[nmodems++] = atoi(optarg);
			break;
		case 's': size_opt = atoll(optarg); break;
		case 'n': count_opt = atol(optarg); break;
		case 'c': nstreams = atoi(optarg); break;
		case 'T': limit_s = atof(optarg); break;
		case 'w': warm_s = atof(optarg); break;
		case 'z': rec_size = atol(optarg); break;
		case 'u': unconnected = 1; break;
		default: usage();
		}
	}
	if (strcmp(family, "tcp") && strcmp(family, "quectel"))
		usage();
	if (size_opt <= 0 || count_opt <= 0 || nstreams <= 0 || limit_s <= 0 ||
	    rec_size == 0 || rec_size > BUF_LEN)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "server") && argc - optind == 1)
		cmd_server(atoi(argv[optind]));
	if (!strcmp(cmd, "raw") && argc - optind == 2)
		return cmd_raw(argv[optind], argv[optind + 1]);
	if (argc - optind != 2)
		usage();
	if (!strcmp(cmd, "up") || !strcmp(cmd, "down"))
		return cmd_bulk(cmd[0] == 'u', argv[optind], atoi(argv[optind + 1]));
	if (!strcmp(cmd, "rr"))
		return cmd_rr(argv[optind], atoi(argv[optind + 1]));
	if (!strcmp(cmd, "streams"))
		return cmd_streams(argv[optind], atoi(argv[optind + 1]));
	if (!strcmp(cmd, "idle"))
		return cmd_idle(argv[optind], atoi(argv[optind + 1]));
	usage();
	return 2;
}
