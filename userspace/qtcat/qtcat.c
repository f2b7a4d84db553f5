// SPDX-License-Identifier: GPL-2.0
/*
 * qtcat: a small netcat for AF_QUECTEL sockets.
 *
 *   qtcat [-u] [-m MODEM] [-c CONTEXT] [-w SECONDS] [-q] HOST PORT
 *   qtcat -l [-u] [-m MODEM] [-c CONTEXT] [-w SECONDS] [-q] PORT
 *
 * Connects an AF_QUECTEL socket to HOST:PORT through modem qm<MODEM> (or,
 * with -l, serves PORT: accepts one TCP connection, or takes datagrams from
 * any peer), then copies stdin to the socket and the socket to stdout. -u
 * uses datagrams (UDP) instead of a stream (TCP). See README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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
#define DGRAM_MAX	1460	/* the largest datagram the module sends */
#define CONTEXT_MAX	16

static const char *prog = "qtcat";

/* The command line. */
struct opts {
	unsigned long modem, context, port;
	unsigned long wait_s;	/* -w; 0: wait forever */
	bool listen;		/* -l: serve PORT instead of connecting */
	bool udp;		/* -u: SOCK_DGRAM */
	bool quit_on_eof;	/* -q */
	const char *host;	/* NULL with -l */
};

/* A one-direction copy buffer. */
struct pipe_buf {
	char data[BUF_SIZE];
	size_t off, len;	/* pending bytes: data[off .. off + len) */
};

/* The state of the copy between stdin/stdout and a socket. */
struct relay {
	int fd;
	bool dgram;		/* one datagram per stdin read and per recv */
	bool service;		/* a bound datagram socket: send to @peer */
	bool have_peer;		/* service: @peer is the last sender */
	struct sockaddr_qt peer;
	bool in_open, sock_rd_open, sock_wr_open;
	struct pipe_buf up, down;	/* stdin -> socket, socket -> stdout */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-u] [-m MODEM] [-c CONTEXT] [-w SECONDS] [-q] HOST PORT\n"
		"       %s -l [-u] [-m MODEM] [-c CONTEXT] [-w SECONDS] [-q] PORT\n"
		"\n"
		"Connect an AF_QUECTEL socket to HOST (IPv4/IPv6 literal or domain\n"
		"name, resolved by the modem) PORT, or with -l serve PORT on the\n"
		"modem, then copy stdin to the socket and the socket to stdout.\n"
		"\n"
		"  -l          listen: serve PORT (0: the kernel picks one) on all\n"
		"              the modem's addresses; TCP: accept one connection;\n"
		"              UDP: reply to the sender of the last datagram (stdin\n"
		"              is not read before the first datagram arrives)\n"
		"  -u          UDP: each read of stdin (at most %d bytes) is one\n"
		"              datagram; each datagram received goes to stdout\n"
		"  -m MODEM    modem index N of qm<N> (default 0)\n"
		"  -c CONTEXT  PDP context 1..%d (default 0: the module's default)\n"
		"  -w SECONDS  give up after SECONDS without any traffic (also\n"
		"              bounds the connect and the accept); with -u, once\n"
		"              stdin is at EOF, this is the normal end (status 0)\n"
		"  -q          quit at stdin EOF: once everything read from stdin\n"
		"              is queued, close the socket and exit instead of\n"
		"              waiting for the peer's EOF\n"
		"  -h          this help\n"
		"\n"
		"With -l, the port listened on and each peer are reported on stderr.\n"
		"Exit status: 0 on EOF, 1 on an error, 2 on a usage error.\n",
		prog, prog, DGRAM_MAX, CONTEXT_MAX);
}

/* "qtcat: <fmt...><sep><tail>" on stderr. */
static void vsay(const char *sep, const char *tail, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "%s%s\n", sep, tail);
}

static void __attribute__((format(printf, 1, 2))) die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("", "", fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s -h' for more information.\n", prog);
	exit(EXIT_USAGE);
}

/* "qtcat: <what>: <strerror(err)>", exit 1. */
static void __attribute__((format(printf, 2, 3))) die_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(": ", strerror(err), fmt, ap);
	va_end(ap);
	exit(EXIT_ERR);
}

/* "qtcat: <message>" on stderr: what a server reports. */
static void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("", "", fmt, ap);
	va_end(ap);
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

/* The operands: HOST PORT, or with -l PORT alone (0: automatic). */
static void parse_operands(int argc, char **argv, struct opts *o)
{
	if (o->listen) {
		if (argc != 1)
			die_usage("with -l, expected PORT only");
		o->port = parse_num(argv[0], 0, 65535, "port");
		return;
	}
	if (argc != 2)
		die_usage("expected HOST and PORT");
	o->host = argv[0];
	o->port = parse_num(argv[1], 1, 65535, "port");
	if (!*o->host)
		die_usage("empty host");
	if (strlen(o->host) >= QT_HOST_MAX)
		die_usage("host name too long (%zu bytes, at most %d)",
			  strlen(o->host), QT_HOST_MAX - 1);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	int opt;

	memset(o, 0, sizeof(*o));
	while ((opt = getopt(argc, argv, ":m:c:w:qluh")) != -1) {
		switch (opt) {
		case 'm':
			o->modem = parse_num(optarg, 0, USHRT_MAX, "modem index");
			break;
		case 'c':
			o->context = parse_num(optarg, 0, CONTEXT_MAX, "context");
			break;
		case 'w':
			o->wait_s = parse_num(optarg, 1, INT_MAX / 1000, "timeout");
			break;
		case 'q':
			o->quit_on_eof = true;
			break;
		case 'l':
			o->listen = true;
			break;
		case 'u':
			o->udp = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			die_usage("option -%c needs an argument", optopt);
			break;
		default:
			die_usage("unknown option -%c", optopt);
		}
	}
	parse_operands(argc - optind, argv + optind, o);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The address of the options: the remote end, or with -l the local one. */
static void make_addr(struct sockaddr_qt *addr, const struct opts *o)
{
	memset(addr, 0, sizeof(*addr));
	addr->sqt_family = AF_QUECTEL;
	addr->sqt_port = htons(o->port);
	addr->sqt_modem = o->modem;
	addr->sqt_context = o->context;
	if (o->host)
		memcpy(addr->sqt_host, o->host, strlen(o->host) + 1);
}

/*
 * A blocking AF_QUECTEL socket of the options' type; with -w its connect
 * (SO_SNDTIMEO) and accept (SO_RCVTIMEO) are bounded by the timeout.
 */
static int open_socket(const struct opts *o)
{
	int type = o->udp ? SOCK_DGRAM : SOCK_STREAM;
	int fd = socket(AF_QUECTEL, type | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		if (errno == EAFNOSUPPORT)
			die_err(errno, "socket(AF_QUECTEL) (is quectel.ko loaded?)");
		die_err(errno, "socket(AF_QUECTEL)");
	}
	if (o->wait_s) {
		struct timeval tv = { .tv_sec = o->wait_s };

		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
			die_err(errno, "setsockopt(SO_SNDTIMEO)");
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
			die_err(errno, "setsockopt(SO_RCVTIMEO)");
	}
	return fd;
}

/* A blocking call cut short by its timeout says so as ETIMEDOUT. */
static int timeout_errno(int err)
{
	return err == EINPROGRESS || err == EAGAIN ? ETIMEDOUT : err;
}

/* Connect @fd to the options' HOST PORT (a blocking connect, -w bounded). */
static void connect_socket(int fd, const struct opts *o)
{
	struct sockaddr_qt addr;

	make_addr(&addr, o);
	while (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		if (errno == EINTR)	/* the attempt was abandoned: retry */
			continue;
		die_err(timeout_errno(errno), "connect to %s port %lu via qm%lu",
			o->host, o->port, o->modem);
	}
}

/*
 * Bind @fd to the options' PORT on all the modem's addresses and, for a
 * stream socket, listen; reports and returns the port (the real one if
 * PORT was 0).
 */
static unsigned int serve_port(int fd, const struct opts *o)
{
	struct sockaddr_qt addr;
	socklen_t len = sizeof(addr);

	make_addr(&addr, o);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)))
		die_err(errno, "bind to port %lu via qm%lu", o->port, o->modem);
	/* A listen cut short by a signal leaves the socket bound: retry. */
	while (!o->udp && listen(fd, 1))
		if (errno != EINTR)
			die_err(errno, "listen on port %lu via qm%lu",
				o->port, o->modem);
	if (getsockname(fd, (struct sockaddr *)&addr, &len))
		die_err(errno, "getsockname");
	note("listening on port %u via qm%lu", ntohs(addr.sqt_port), o->modem);
	return ntohs(addr.sqt_port);
}

/* "qtcat: <what> HOST PORT" for a peer address the kernel gave. */
static void note_peer(const char *what, struct sockaddr_qt *peer)
{
	peer->sqt_host[QT_HOST_MAX - 1] = 0;
	note("%s %s %u", what, peer->sqt_host, ntohs(peer->sqt_port));
}

/* Accept one connection on listener @lfd (-w bounded), then close @lfd. */
static int accept_one(int lfd, unsigned int port, const struct opts *o)
{
	struct sockaddr_qt peer;
	socklen_t len;
	int fd;

	do {
		len = sizeof(peer);
		memset(&peer, 0, sizeof(peer));
		fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		die_err(timeout_errno(errno), "accept on port %u via qm%lu",
			port, o->modem);
	note_peer("connection from", &peer);
	if (close(lfd))
		die_err(errno, "close listener");
	return fd;
}

/* The socket to copy through, set up as the options say. */
static int open_session(const struct opts *o)
{
	int fd = open_socket(o);
	unsigned int port;

	if (!o->listen) {
		connect_socket(fd, o);
	} else {
		port = serve_port(fd, o);
		if (!o->udp)
			fd = accept_one(fd, port, o);
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
		die_err(errno, "fcntl(O_NONBLOCK)");
	return fd;
}

/* ---- the copy loop ---- */

/*
 * Stdin is at EOF and all of it queued: tell the peer (a stream's
 * half-close; a datagram socket has nothing to send), or with -q stop
 * reading the socket too, so that the loop ends once stdout is written.
 */
static void end_of_input(struct relay *rl, const struct opts *o)
{
	if (o->quit_on_eof)
		rl->sock_rd_open = false;
	else if (!rl->dgram && shutdown(rl->fd, SHUT_WR) && errno != ENOTCONN)
		die_err(errno, "shutdown");
	rl->sock_wr_open = false;
}

/* The descriptors to wait for; an fd of -1 is ignored by poll(). */
static void poll_set(const struct relay *rl, struct pollfd pfd[3])
{
	bool may_read_in = !rl->service || rl->have_peer;

	pfd[0].fd = rl->in_open && !rl->up.len && may_read_in ? STDIN_FILENO : -1;
	pfd[0].events = POLLIN;
	pfd[1].fd = rl->fd;
	pfd[1].events = 0;
	if (rl->up.len)
		pfd[1].events |= POLLOUT;
	if (rl->sock_rd_open && !rl->down.len)
		pfd[1].events |= POLLIN;
	if (!pfd[1].events)
		pfd[1].fd = -1;
	pfd[2].fd = rl->down.len ? STDOUT_FILENO : -1;
	pfd[2].events = POLLOUT;
	pfd[0].revents = pfd[1].revents = pfd[2].revents = 0;
}

/* Fill an empty buffer from @fd's read result @r; false if nothing came. */
static bool took(struct pipe_buf *b, ssize_t r)
{
	if (r <= 0)
		return false;
	b->off = 0;
	b->len = r;
	return true;
}

/* Drop @r bytes written from a buffer; false if nothing went. */
static bool gave(struct pipe_buf *b, ssize_t r)
{
	if (r <= 0)
		return false;
	b->off += r;
	b->len -= r;
	return true;
}

/* A failed call that is worth retrying later. */
static bool transient(ssize_t r)
{
	return r < 0 && (errno == EINTR || errno == EAGAIN);
}

/* stdin -> up: a datagram socket takes each read as one datagram. */
static bool pump_stdin(struct relay *rl, short revents)
{
	size_t max = rl->dgram ? DGRAM_MAX : sizeof(rl->up.data);
	ssize_t r;

	if (!revents)
		return false;
	r = read(STDIN_FILENO, rl->up.data, max);
	if (r == 0)
		rl->in_open = false;
	else if (r < 0 && !transient(r))
		die_err(errno, "read stdin");
	return took(&rl->up, r);
}

/* up -> socket; a service sends to the last sender. */
static bool pump_send(struct relay *rl, short revents)
{
	const struct sockaddr *to = rl->service ? (struct sockaddr *)&rl->peer : NULL;
	socklen_t tolen = rl->service ? sizeof(rl->peer) : 0;
	ssize_t r;

	if (!rl->up.len || !(revents & (POLLOUT | POLLERR | POLLHUP)))
		return false;
	r = sendto(rl->fd, rl->up.data + rl->up.off, rl->up.len,
		   MSG_DONTWAIT | MSG_NOSIGNAL, to, tolen);
	if (r < 0 && errno == EPIPE) {
		/* The peer closed: drop our side, read to EOF. */
		rl->up.len = 0;
		rl->in_open = false;
		rl->sock_wr_open = false;
	} else if (r < 0 && !transient(r)) {
		die_err(errno, "send");
	}
	return gave(&rl->up, r);
}

/* A service's datagram came from @from: it becomes the peer. */
static void set_peer(struct relay *rl, struct sockaddr_qt *from)
{
	if (rl->have_peer && rl->peer.sqt_port == from->sqt_port &&
	    !strncmp(rl->peer.sqt_host, from->sqt_host, QT_HOST_MAX))
		return;
	rl->peer = *from;
	rl->have_peer = true;
	note_peer("datagram from", &rl->peer);
}

/* socket -> down: one datagram, or what a stream has. */
static bool pump_recv(struct relay *rl, short revents)
{
	struct sockaddr_qt from;
	socklen_t fromlen = sizeof(from);
	ssize_t r;

	if (!rl->sock_rd_open || rl->down.len ||
	    !(revents & (POLLIN | POLLERR | POLLHUP)))
		return false;
	memset(&from, 0, sizeof(from));
	r = recvfrom(rl->fd, rl->down.data, sizeof(rl->down.data), MSG_DONTWAIT,
		     rl->service ? (struct sockaddr *)&from : NULL,
		     rl->service ? &fromlen : NULL);
	if (r == 0)
		rl->sock_rd_open = false;
	else if (r < 0 && !transient(r))
		die_err(errno, "recv");
	else if (r > 0 && rl->service)
		set_peer(rl, &from);
	return took(&rl->down, r);
}

/* down -> stdout */
static bool pump_stdout(struct relay *rl, short revents)
{
	ssize_t r;

	if (!rl->down.len || !revents)
		return false;
	r = write(STDOUT_FILENO, rl->down.data + rl->down.off, rl->down.len);
	if (r < 0 && !transient(r))
		die_err(errno, "write stdout");
	return gave(&rl->down, r);
}

/*
 * -w ran out. Datagrams have no EOF: once stdin is at EOF and all is
 * written out, the quiet is the end of the exchange. Otherwise an error.
 */
static int idle_timeout(const struct relay *rl, const struct opts *o)
{
	if (rl->dgram && !rl->sock_wr_open && !rl->down.len)
		return 0;
	note("no traffic for %lu s, giving up: %s", o->wait_s, strerror(ETIMEDOUT));
	return EXIT_ERR;
}

/*
 * Copy until the socket is at EOF (datagrams: until -q at stdin EOF, an
 * error or -w) and everything read is written out; the exit status.
 */
static int run_relay(struct relay *rl, const struct opts *o)
{
	double deadline = o->wait_s ? now() + o->wait_s : 0;

	while (rl->sock_rd_open || rl->down.len) {
		struct pollfd pfd[3];
		int timeout = -1, n;
		bool progress;

		if (!rl->in_open && !rl->up.len && rl->sock_wr_open) {
			end_of_input(rl, o);
			continue;
		}
		poll_set(rl, pfd);
		if (o->wait_s) {
			double left = deadline - now();

			if (left <= 0)
				return idle_timeout(rl, o);
			timeout = (int)(left * 1000) + 1;
		}
		n = poll(pfd, 3, timeout);
		if (n < 0 && errno != EINTR)
			die_err(errno, "poll");
		if (n <= 0)
			continue;	/* the deadline check above ends it */

		progress = pump_stdin(rl, pfd[0].revents);
		progress |= pump_send(rl, pfd[1].revents);
		progress |= pump_recv(rl, pfd[1].revents);
		progress |= pump_stdout(rl, pfd[2].revents);
		if (progress && o->wait_s)
			deadline = now() + o->wait_s;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct relay *rl;
	int status;

	if (argv[0] && argv[0][0]) {
		const char *slash = strrchr(argv[0], '/');

		prog = slash ? slash + 1 : argv[0];
	}
	parse_args(argc, argv, &o);

	rl = calloc(1, sizeof(*rl));
	if (!rl)
		die_err(ENOMEM, "malloc");
	rl->dgram = o.udp;
	rl->service = o.udp && o.listen;
	/* A closed stdin is an empty one. */
	rl->in_open = fcntl(STDIN_FILENO, F_GETFD) >= 0;
	rl->sock_rd_open = true;
	rl->sock_wr_open = true;
	rl->fd = open_session(&o);

	status = run_relay(rl, &o);
	/*
	 * close() returns at once; the kernel sends what is still queued,
	 * then closes the connection.
	 */
	if (close(rl->fd))
		die_err(errno, "close");
	free(rl);
	return status;
}
