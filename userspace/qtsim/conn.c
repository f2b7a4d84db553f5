// SPDX-License-Identifier: GPL-2.0
/*
 * The connection table (see conn.h). Each connectID is a real socket, so
 * connect failures, FINs, resets and acknowledgements are the kernel's,
 * not invented. Flow control is real too: a socket is only read while
 * its receive buffer has room and the dialect agrees (may_read), so a
 * host that does not read makes the remote sender block.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "conn.h"
#include "dialect.h"

static struct conn *table[CONN_MAX];
static unsigned char rdbuf[65536];

void conn_init(void)
{
}

struct conn *conn_get(int id)
{
	if (id < 0 || id >= CONN_MAX)
		return NULL;
	return table[id];
}

struct conn *conn_new(int id, enum conn_type type)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->id = id;
	c->type = type;
	c->fd = -1;
	c->urc_armed = 1;
	table[id] = c;
	return c;
}

/* errno to the modern dialect's <err>. */
static int errcode(int e)
{
	switch (e) {
	case ECONNREFUSED:
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
		return 566;
	case ETIMEDOUT:
		return 569;
	case ECONNRESET:
	case EPIPE:
		return 567;
	case EADDRINUSE:
		return 573;
	case EACCES:
	case EADDRNOTAVAIL:
		return 556;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		return 554;
	default:
		return 550;
	}
}

void addr_str(const struct sockaddr_storage *ss, char *ip, size_t len, int *port)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, len);
		*port = ntohs(s6->sin6_port);
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, ip, len);
		*port = ntohs(s4->sin_port);
	} else {
		snprintf(ip, len, "0.0.0.0");
		*port = 0;
	}
}

int addr_parse(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (void *)ss;
	struct sockaddr_in6 *s6 = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

static void set_port(struct sockaddr *sa, int port)
{
	if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)sa)->sin_port = htons(port);
}

static void fill_local(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[64];

	if (getsockname(c->fd, (struct sockaddr *)&ss, &len) == 0)
		addr_str(&ss, ip, sizeof(ip), &c->lport);
}

static void fill_peer(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == 0)
		addr_str(&ss, c->ip, sizeof(c->ip), &c->rport);
}

static void on_conn(struct watch *w, short rev);

static int new_socket(struct conn *c, int family, int type)
{
	int one = 1, rcv = (int)MIN(opt.rxbuf, (size_t)1 << 24);

	c->fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/*
	 * A module's receive window is its buffer, not a server's autotuned
	 * megabytes: with the kernel buffer near --rxbuf, a host that stops
	 * reading stops the remote sender soon, as on the real thing.
	 * (Set before connect/listen so accepted sockets inherit it.)
	 */
	if (type == SOCK_STREAM)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	watch_add(&c->w, c->fd, on_conn, c);
	return 0;
}

static void close_fd(struct conn *c)
{
	if (c->fd < 0)
		return;
	watch_del(&c->w);
	close(c->fd);
	c->fd = -1;
}

static int bind_local(struct conn *c, int family, const struct sockaddr *addr,
		      socklen_t alen, int port)
{
	struct sockaddr_storage ss;

	if (addr) {
		memcpy(&ss, addr, alen);
	} else {
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = family;
		alen = family == AF_INET6 ? sizeof(struct sockaddr_in6) :
			sizeof(struct sockaddr_in);
	}
	set_port((struct sockaddr *)&ss, port);
	return bind(c->fd, (struct sockaddr *)&ss, alen);
}

static void open_timeout(void *arg)
{
	struct conn *c = arg;

	close_fd(c);
	dialect->opened(c, 569);
}

/*
 * Try the resolved addresses in turn (a name may give ::1 and 127.0.0.1;
 * the server may listen on only one). Returns 0 connected, -1 pending,
 * or an error code when every address failed.
 */
static int try_connect(struct conn *c)
{
	int err = 566;

	for (; c->ai_cur; c->ai_cur = c->ai_cur->ai_next) {
		struct addrinfo *a = c->ai_cur;

		set_port(a->ai_addr, c->rport);
		if (new_socket(c, a->ai_family, SOCK_STREAM) < 0) {
			err = 554;
			continue;
		}
		if (c->lport && bind_local(c, a->ai_family, NULL, 0, c->lport) < 0) {
			err = errcode(errno);
			close_fd(c);
			continue;
		}
		if (connect(c->fd, a->ai_addr, a->ai_addrlen) == 0) {
			c->state = CS_CONNECTED;
			fill_peer(c);
			fill_local(c);
			return 0;
		}
		if (errno == EINPROGRESS) {
			c->state = CS_OPENING;
			return -1;
		}
		err = errcode(errno);
		close_fd(c);
	}
	return err;
}

static void connect_done(struct conn *c)
{
	int e = 0, r;
	socklen_t len = sizeof(e);

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len);
	if (e == 0) {
		timer_stop(&c->t_open);
		c->state = CS_CONNECTED;
		fill_peer(c);
		fill_local(c);
		dialect->opened(c, 0);
		return;
	}
	close_fd(c);
	c->ai_cur = c->ai_cur->ai_next;
	r = try_connect(c);
	if (r == -1)
		return;
	timer_stop(&c->t_open);
	if (r == 0) {
		dialect->opened(c, 0);
		return;
	}
	/* The last address's errno is the one a module would report. */
	dialect->opened(c, r == 566 ? errcode(e) : r);
}

/* A bind that failed: 573 if the port is in use, else 556; the socket is closed. */
static int bind_error(struct conn *c)
{
	int r = errno == EADDRINUSE ? 573 : 556;

	close_fd(c);
	return r;
}

/* A TCP listener or a UDP service on lport of host's address. */
static int open_server(struct conn *c, const struct addrinfo *res, const char *host, int lport)
{
	int tcp = c->type == CT_TCP_LISTENER;

	if (new_socket(c, res->ai_family, tcp ? SOCK_STREAM : SOCK_DGRAM) < 0)
		return 554;
	if (bind_local(c, 0, res->ai_addr, res->ai_addrlen, lport) < 0)
		return bind_error(c);
	if (tcp && listen(c->fd, 16) < 0) {
		close_fd(c);
		return 557;
	}
	c->state = tcp ? CS_LISTENING : CS_CONNECTED;
	fill_local(c);
	snprintf(c->ip, sizeof(c->ip), "%s", host);
	c->rport = 0;
	return 0;
}

int conn_open(struct conn *c, const char *host, int rport, int lport)
{
	struct addrinfo hints = { 0 }, *res;
	int r;

	snprintf(c->host, sizeof(c->host), "%s", host);
	c->rport = rport;
	c->lport = lport;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = (c->type == CT_TCP || c->type == CT_TCP_LISTENER) ?
		SOCK_STREAM : SOCK_DGRAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return 565;
	c->ai = c->ai_cur = res;

	switch (c->type) {
	case CT_TCP:
		r = try_connect(c);
		if (r == -1)
			timer_arm(&c->t_open, opt.open_timeout_ms, open_timeout, c);
		return r;

	case CT_TCP_LISTENER:
	case CT_UDP_SERVICE:
		return open_server(c, res, host, lport);

	case CT_UDP:
		if (new_socket(c, res->ai_family, SOCK_DGRAM) < 0)
			return 554;
		if (lport && bind_local(c, res->ai_family, NULL, 0, lport) < 0)
			return bind_error(c);
		set_port(res->ai_addr, rport);
		if (connect(c->fd, res->ai_addr, res->ai_addrlen) < 0) {
			r = errcode(errno);
			close_fd(c);
			return r;
		}
		c->state = CS_CONNECTED;
		fill_peer(c);
		fill_local(c);
		return 0;
	default:
		return 552;
	}
}

static void free_dgrams(struct conn *c)
{
	while (c->dq) {
		struct dgram *d = c->dq;

		c->dq = d->next;
		free(d);
	}
	c->dq_tail = NULL;
	c->dq_bytes = 0;
}

void conn_free(struct conn *c)
{
	if (!c)
		return;
	timer_stop(&c->t_open);
	timer_stop(&c->t_close);
	timer_stop(&c->t_poll);
	close_fd(c);
	buf_free(&c->rx);
	buf_free(&c->tx);
	free_dgrams(c);
	if (c->ai)
		freeaddrinfo(c->ai);
	if (table[c->id] == c)
		table[c->id] = NULL;
	free(c);
}

void conn_close_all(void)
{
	for (int i = 0; i < CONN_MAX; i++)
		conn_free(table[i]);
}

void conn_drop(struct conn *c)
{
	close_fd(c);
	buf_reset(&c->tx);
	c->eof = 1;
	if (c->state != CS_INITIAL)
		c->state = CS_CLOSING;
}

static void finish_close(void *arg)
{
	struct conn *c = arg;

	dialect->close_done(c);
	conn_free(c);
}

/*
 * The kernel has no event for "our FIN was acknowledged"; TCP_INFO shows
 * it as the move out of FIN_WAIT1. A peer that cannot take our last data
 * (zero window) keeps us there until the timeout forces the close.
 */
static void close_poll(void *arg)
{
	struct conn *c = arg;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (c->fin_sent && getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
	    (ti.tcpi_state == TCP_FIN_WAIT2 || ti.tcpi_state == TCP_TIME_WAIT ||
	     ti.tcpi_state == TCP_CLOSE)) {
		timer_stop(&c->t_close);
		finish_close(c);
		return;
	}
	timer_arm(&c->t_poll, 5, close_poll, c);
}

static void flush_tx(struct conn *c)
{
	while (c->tx.len && c->fd >= 0) {
		ssize_t w = send(c->fd, buf_data(&c->tx), c->tx.len, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno != EAGAIN && errno != EINTR)
				/* Reset or broken: the read side reports it. */
				buf_reset(&c->tx);
			break;
		}
		buf_consume(&c->tx, w);
	}
	if (c->shutting && !c->tx.len && !c->fin_sent && c->fd >= 0) {
		shutdown(c->fd, SHUT_WR);
		c->fin_sent = 1;
	}
}

int conn_close(struct conn *c, unsigned timeout_ms)
{
	int stream = c->type == CT_TCP || c->type == CT_TCP_INCOMING;

	if (!stream || c->fd < 0 || c->eof || c->state != CS_CONNECTED || !timeout_ms) {
		conn_free(c);
		return 1;
	}
	/* Whatever the host did not read is thrown away, as on a module. */
	buf_reset(&c->rx);
	c->shutting = 1;
	flush_tx(c);
	timer_arm(&c->t_close, timeout_ms, finish_close, c);
	timer_arm(&c->t_poll, 1, close_poll, c);
	return 0;
}

int conn_send(struct conn *c, const void *p, size_t n,
	      const struct sockaddr *to, socklen_t tolen)
{
	ssize_t w;

	if (c->fd < 0 || c->eof || c->shutting || c->state != CS_CONNECTED)
		return -1;
	switch (c->type) {
	case CT_TCP:
	case CT_TCP_INCOMING:
		if (c->tx.len + n > opt.txbuf)
			return 1;
		buf_append(&c->tx, p, n);
		c->tx_total += n;
		flush_tx(c);
		return 0;
	case CT_UDP:
	case CT_UDP_SERVICE:
		for (int tries = 0; tries < 2; tries++) {
			if (to)
				w = sendto(c->fd, p, n, MSG_NOSIGNAL, to, tolen);
			else
				w = send(c->fd, p, n, MSG_NOSIGNAL);
			if (w >= 0) {
				c->tx_total += n;
				return 0;
			}
			/* A stale ICMP error from an earlier datagram. */
			if (errno != ECONNREFUSED)
				break;
		}
		return errno == EAGAIN || errno == ENOBUFS ? 1 : -1;
	default:
		return -1;
	}
}

size_t conn_tx_room(struct conn *c)
{
	if (c->fd < 0 || c->eof || c->shutting)
		return 0;
	if (c->type == CT_UDP)
		return 1460;
	return c->tx.len >= opt.txbuf ? 0 : opt.txbuf - c->tx.len;
}

uint64_t conn_unacked(struct conn *c)
{
	int q = 0;

	if (c->type != CT_TCP && c->type != CT_TCP_INCOMING)
		return 0;
	if (c->fd >= 0 && ioctl(c->fd, SIOCOUTQ, &q) < 0)
		q = 0;
	return (uint64_t)q + c->tx.len;
}

size_t conn_pending(struct conn *c)
{
	return c->rx.len + c->dq_bytes;
}

size_t conn_take(struct conn *c, void *p, size_t max,
		 struct sockaddr_storage *from, socklen_t *fromlen)
{
	size_t n;

	if (c->type == CT_UDP || c->type == CT_UDP_SERVICE) {
		struct dgram *d = c->dq;

		if (!d)
			return 0;
		n = MIN(max, d->len - d->off);
		memcpy(p, d->data + d->off, n);
		if (from) {
			*from = d->from;
			*fromlen = d->fromlen;
		}
		d->off += n;
		c->dq_bytes -= n;
		if (d->off == d->len) {
			c->dq = d->next;
			if (!c->dq)
				c->dq_tail = NULL;
			free(d);
		}
	} else {
		n = MIN(max, c->rx.len);
		memcpy(p, buf_data(&c->rx), n);
		buf_consume(&c->rx, n);
	}
	c->rx_read += n;
	return n;
}

static void peer_gone(struct conn *c, int err)
{
	c->eof = 1;
	c->state = CS_CLOSING;
	buf_reset(&c->tx);
	watch_del(&c->w);
	dialect->closed(c, err);
}

static void read_stream(struct conn *c)
{
	size_t room = opt.rxbuf > c->rx.len ? opt.rxbuf - c->rx.len : 0;
	ssize_t r;

	if (c->shutting) {
		/* QICLOSE: drain until the peer's FIN (or reset). */
		r = recv(c->fd, rdbuf, sizeof(rdbuf), 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			timer_stop(&c->t_close);
			timer_stop(&c->t_poll);
			finish_close(c);
		}
		return;
	}
	if (!room)
		return;
	r = recv(c->fd, rdbuf, MIN(room, sizeof(rdbuf)), 0);
	if (r > 0) {
		buf_append(&c->rx, rdbuf, r);
		c->rx_total += r;
		dialect->rx(c, r);
	} else if (r == 0) {
		peer_gone(c, 0);
	} else if (errno != EAGAIN && errno != EINTR) {
		peer_gone(c, errcode(errno));
	}
}

static void read_dgram(struct conn *c)
{
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	struct dgram *d;
	ssize_t r;

	r = recvfrom(c->fd, rdbuf, sizeof(rdbuf), 0, (struct sockaddr *)&from, &fromlen);
	if (r <= 0)
		return;	/* empty datagrams and stale ICMP errors carry nothing */
	d = xmalloc(sizeof(*d) + r);
	d->next = NULL;
	d->from = from;
	d->fromlen = fromlen;
	d->len = r;
	d->off = 0;
	memcpy(d->data, rdbuf, r);
	if (c->dq_tail)
		c->dq_tail->next = d;
	else
		c->dq = d;
	c->dq_tail = d;
	c->dq_bytes += r;
	c->rx_total += r;
	dialect->rx(c, r);
}

static int free_id(void)
{
	/* A real module hands out the highest free connectID first. */
	for (int id = dialect->max_conns - 1; id >= 0; id--)
		if (!table[id])
			return id;
	return -1;
}

static void accept_resume(void *arg)
{
	struct conn *l = arg;

	l->accept_paused = 0;
}

static void do_accept(struct conn *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct conn *c;
	int fd, id;

	fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		/* Out of fds (or the like): the listener stays readable, so
		 * back off instead of spinning on it. */
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
			l->accept_paused = 1;
			timer_arm(&l->t_poll, 100, accept_resume, l);
		}
		return;
	}
	id = free_id();
	if (id < 0) {
		close(fd);
		dialect->incoming_full(l);
		return;
	}
	c = conn_new(id, CT_TCP_INCOMING);
	c->fd = fd;
	watch_add(&c->w, fd, on_conn, c);
	c->state = CS_CONNECTED;
	c->ctx = l->ctx;
	c->mode = l->mode;
	c->server_id = l->id;
	addr_str(&ss, c->ip, sizeof(c->ip), &c->rport);
	fill_local(c);
	dialect->incoming(l, c);
}

static void on_conn(struct watch *w, short rev)
{
	struct conn *c = w->arg;

	if (c->state == CS_OPENING) {
		if (rev & (POLLOUT | POLLERR | POLLHUP))
			connect_done(c);
		return;
	}
	if (c->state == CS_LISTENING) {
		do_accept(c);
		return;
	}
	if (rev & POLLOUT)
		flush_tx(c);
	if (!(rev & (POLLIN | POLLHUP | POLLERR)) || !(w->events & POLLIN))
		return;
	if (c->type == CT_UDP || c->type == CT_UDP_SERVICE)
		read_dgram(c);
	else
		read_stream(c);
}

void conn_prepare(void)
{
	for (int i = 0; i < CONN_MAX; i++) {
		struct conn *c = table[i];
		short ev = 0;

		if (!c || c->fd < 0)
			continue;
		if (c->state == CS_OPENING) {
			ev = POLLOUT;
		} else if (c->state == CS_LISTENING) {
			ev = c->accept_paused ? 0 : POLLIN;
		} else if (c->shutting) {
			ev = POLLIN | (c->tx.len ? POLLOUT : 0);
		} else if (!c->eof) {
			if (conn_pending(c) < opt.rxbuf && dialect->may_read(c))
				ev |= POLLIN;
			if (c->tx.len)
				ev |= POLLOUT;
		}
		c->w.events = ev;
	}
}
