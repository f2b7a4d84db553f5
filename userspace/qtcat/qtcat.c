// SPDX-License-Identifier: GPL-2.0
/*
 * qtcat: a small netcat for AF_QUECTEL stream sockets.
 *
 *   qtcat [-m MODEM] [-c CONTEXT] [-w SECONDS] [-q] HOST PORT
 *
 * Connects a SOCK_STREAM AF_QUECTEL socket to HOST:PORT through modem
 * qm<MODEM>, then copies stdin to the socket and the socket to stdout until
 * the socket reaches EOF. See README.md for the details.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/quectel.h>

#define EXIT_ERR	1
#define EXIT_USAGE	2
#define BUF_SIZE	16384
#define CONTEXT_MAX	16

static const char *prog = "qtcat";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-m MODEM] [-c CONTEXT] [-w SECONDS] [-q] HOST PORT\n"
		"\n"
		"Connect an AF_QUECTEL stream socket to HOST (IPv4/IPv6 literal or\n"
		"domain name, resolved by the modem) PORT, then copy stdin to the\n"
		"socket and the socket to stdout until the socket reaches EOF.\n"
		"\n"
		"  -m MODEM    modem index N of qm<N> (default 0)\n"
		"  -c CONTEXT  PDP context 1..%d (default 0: the module's default)\n"
		"  -w SECONDS  give up after SECONDS without any traffic (also\n"
		"              bounds the connect); default: wait forever\n"
		"  -q          quit at stdin EOF: once everything read from stdin\n"
		"              is queued, close the connection and exit instead of\n"
		"              waiting for the peer's EOF\n"
		"  -h          this help\n"
		"\n"
		"Exit status: 0 on EOF, 1 on an error, 2 on a usage error.\n",
		prog, CONTEXT_MAX);
}

static void __attribute__((format(printf, 1, 2))) die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fprintf(stderr, "Try '%s -h' for more information.\n", prog);
	exit(EXIT_USAGE);
}

/* "qtcat: <what>: <strerror(err)>", exit 1. */
static void __attribute__((format(printf, 2, 3))) die_err(int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	exit(EXIT_ERR);
}

/* A decimal number in [min, max], or a usage error naming @what. */
static unsigned long parse_num(const char *s, unsigned long min,
			       unsigned long max, const char *what)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		die_usage("invalid %s '%s'", what, s);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		die_usage("invalid %s '%s' (%lu..%lu)", what, s, min, max);
	return v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A one-direction copy buffer. */
struct pipe_buf {
	char data[BUF_SIZE];
	size_t off, len;	/* pending bytes: data[off .. off + len) */
};

int main(int argc, char **argv)
{
	struct sockaddr_qt addr;
	struct pipe_buf *up, *down;	/* stdin -> socket, socket -> stdout */
	unsigned long modem = 0, context = 0, port, wait_s = 0;
	bool quit_on_eof = false, have_wait = false;
	bool in_open = true, sock_rd_open = true, sock_wr_open = true;
	double deadline = 0;
	const char *host;
	int fd, opt;

	if (argv[0] && argv[0][0]) {
		const char *slash = strrchr(argv[0], '/');

		prog = slash ? slash + 1 : argv[0];
	}

	while ((opt = getopt(argc, argv, ":m:c:w:qh")) != -1) {
		switch (opt) {
		case 'm':
			modem = parse_num(optarg, 0, USHRT_MAX, "modem index");
			break;
		case 'c':
			context = parse_num(optarg, 0, CONTEXT_MAX, "context");
			break;
		case 'w':
			wait_s = parse_num(optarg, 1, INT_MAX / 1000, "timeout");
			have_wait = true;
			break;
		case 'q':
			quit_on_eof = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			die_usage("option -%c needs an argument", optopt);
			break;
		default:
			die_usage("unknown option -%c", optopt);
		}
	}
	if (argc - optind != 2)
		die_usage("expected HOST and PORT");
	host = argv[optind];
	port = parse_num(argv[optind + 1], 1, 65535, "port");
	if (!*host)
		die_usage("empty host");
	if (strlen(host) >= QT_HOST_MAX)
		die_usage("host name too long (%zu bytes, at most %d)",
			  strlen(host), QT_HOST_MAX - 1);

	memset(&addr, 0, sizeof(addr));
	addr.sqt_family = AF_QUECTEL;
	addr.sqt_port = htons(port);
	addr.sqt_modem = modem;
	addr.sqt_context = context;
	memcpy(addr.sqt_host, host, strlen(host) + 1);

	/* A closed stdin is an empty one. */
	if (fcntl(STDIN_FILENO, F_GETFD) < 0)
		in_open = false;

	fd = socket(AF_QUECTEL, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (errno == EAFNOSUPPORT)
			die_err(errno, "socket(AF_QUECTEL) (is quectel.ko loaded?)");
		die_err(errno, "socket(AF_QUECTEL)");
	}

	/* A blocking connect, bounded by -w: on expiry it says EINPROGRESS. */
	if (have_wait) {
		struct timeval tv = { .tv_sec = wait_s };

		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
			die_err(errno, "setsockopt(SO_SNDTIMEO)");
	}
	while (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		int err = errno;

		if (err == EINTR)	/* the attempt was abandoned: retry */
			continue;
		if (err == EINPROGRESS)
			err = ETIMEDOUT;
		die_err(err, "connect to %s port %lu via qm%lu", host, port, modem);
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
		die_err(errno, "fcntl(O_NONBLOCK)");

	up = calloc(1, sizeof(*up));
	down = calloc(1, sizeof(*down));
	if (!up || !down)
		die_err(ENOMEM, "malloc");

	if (have_wait)
		deadline = now() + wait_s;

	/* Until the socket is at EOF and everything read is written out. */
	while (sock_rd_open || down->len) {
		struct pollfd pfd[3];
		bool progress = false;
		int timeout = -1, n;
		ssize_t r;

		/* Stdin EOF and all of it queued: half-close (or quit). */
		if (!in_open && !up->len && sock_wr_open) {
			if (quit_on_eof) {
				/* Write out what was read, then close. */
				sock_rd_open = false;
				sock_wr_open = false;
				continue;
			}
			if (shutdown(fd, SHUT_WR) && errno != ENOTCONN)
				die_err(errno, "shutdown");
			sock_wr_open = false;
		}

		/* An fd of -1 is ignored: no busy loop on a POLLHUP we can't act on. */
		pfd[0].fd = in_open && !up->len ? STDIN_FILENO : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = fd;
		pfd[1].events = 0;
		if (up->len)
			pfd[1].events |= POLLOUT;
		if (sock_rd_open && !down->len)
			pfd[1].events |= POLLIN;
		if (!pfd[1].events)
			pfd[1].fd = -1;
		pfd[2].fd = down->len ? STDOUT_FILENO : -1;
		pfd[2].events = POLLOUT;
		for (n = 0; n < 3; n++)
			pfd[n].revents = 0;

		if (have_wait) {
			double left = deadline - now();

			if (left <= 0) {
				fprintf(stderr, "%s: no traffic for %lu s, giving up: %s\n",
					prog, wait_s, strerror(ETIMEDOUT));
				return EXIT_ERR;
			}
			timeout = (int)(left * 1000) + 1;
		}

		n = poll(pfd, 3, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die_err(errno, "poll");
		}
		if (n == 0)
			continue;	/* the deadline check above ends it */

		/* stdin -> buffer */
		if (pfd[0].revents) {
			r = read(STDIN_FILENO, up->data, sizeof(up->data));
			if (r > 0) {
				up->off = 0;
				up->len = r;
				progress = true;
			} else if (r == 0) {
				in_open = false;
			} else if (errno != EINTR && errno != EAGAIN) {
				die_err(errno, "read stdin");
			}
		}

		/* buffer -> socket */
		if (up->len && (pfd[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			r = send(fd, up->data + up->off, up->len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (r > 0) {
				up->off += r;
				up->len -= r;
				progress = true;
			} else if (r < 0 && errno == EPIPE) {
				/* The peer closed: drop our side, read to EOF. */
				up->len = 0;
				in_open = false;
				sock_wr_open = false;
			} else if (r < 0 && errno != EINTR && errno != EAGAIN) {
				die_err(errno, "send");
			}
		}

		/* socket -> buffer */
		if (sock_rd_open && !down->len &&
		    (pfd[1].revents & (POLLIN | POLLERR | POLLHUP))) {
			r = recv(fd, down->data, sizeof(down->data), MSG_DONTWAIT);
			if (r > 0) {
				down->off = 0;
				down->len = r;
				progress = true;
			} else if (r == 0) {
				sock_rd_open = false;
			} else if (errno != EINTR && errno != EAGAIN) {
				die_err(errno, "recv");
			}
		}

		/* buffer -> stdout */
		if (down->len && pfd[2].revents) {
			r = write(STDOUT_FILENO, down->data + down->off, down->len);
			if (r > 0) {
				down->off += r;
				down->len -= r;
				progress = true;
			} else if (r < 0 && errno != EINTR && errno != EAGAIN) {
				die_err(errno, "write stdout");
			}
		}

		if (progress && have_wait)
			deadline = now() + wait_s;
	}

	/*
	 * close() returns at once; the kernel sends what is still queued,
	 * then closes the connection.
	 */
	if (close(fd))
		die_err(errno, "close");
	free(up);
	free(down);
	return 0;
}
