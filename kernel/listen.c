// SPDX-License-Identifier: GPL-2.0
/*
 * Servers: bind() and its local-port registry, listen() and accept() of
 * stream sockets, and the sockets of incoming connections. The contract
 * is docs/SERVERS.md.
 *
 * A bound socket is on its modem's "bound" list (conn_lock) from bind()
 * until close, so two sockets of one type cannot hold one port. A
 * listener's accept queue (qt_sock.accept_q, under the listener's socket
 * lock) holds one reference on each queued child; accept() hands that
 * reference to the new struct socket.
 */
#include <linux/capability.h>
#include <linux/net.h>
#include <linux/random.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "qt.h"

#define QT_AUTO_PORT_MIN	49152
#define QT_AUTO_PORT_MAX	65535
#define QT_AUTO_PORT_TRIES	8

/* Does a socket of @type other than @self hold @port on @modem? conn_lock held. */
static bool qt_port_in_use(struct qt_modem *modem, int type, u16 port,
			   const struct qt_sock *self)
{
	struct qt_sock *qs;

	lockdep_assert_held(&modem->conn_lock);
	list_for_each_entry(qs, &modem->bound, bind_node)
		if (qs != self && qs->sk.sk_type == type && qs->local_port == port)
			return true;
	return false;
}

/*
 * Pick an automatic port for @qs: random in 49152..65535, one no socket of
 * ours holds. Socket lock held.
 */
static void qt_pick_port(struct qt_sock *qs)
{
	struct qt_modem *modem = qs->modem;
	u32 span = QT_AUTO_PORT_MAX - QT_AUTO_PORT_MIN + 1;
	u32 start = get_random_u32() % span, i;
	u16 port;

	spin_lock(&modem->conn_lock);
	for (i = 0; i < span; i++) {
		port = QT_AUTO_PORT_MIN + (start + i) % span;
		if (!qt_port_in_use(modem, qs->sk.sk_type, port, qs))
			break;
	}
	qs->local_port = port;
	spin_unlock(&modem->conn_lock);
}

/* Leave the bound list. Socket lock held. */
void qt_unbind(struct qt_sock *qs)
{
	if (!qs->bound)
		return;
	spin_lock(&qs->modem->conn_lock);
	list_del_init(&qs->bind_node);
	spin_unlock(&qs->modem->conn_lock);
	qs->bound = false;
	qs->auto_port = false;
	qs->local_port = 0;
}

/*
 * Open the server of a bound socket (a "TCP LISTENER" or a "UDP SERVICE"),
 * picking another automatic port when the module finds one busy. Socket
 * lock held (dropped while waiting).
 */
int qt_serve_open(struct sock *sk, long timeo)
{
	struct qt_sock *qs = qt_sk(sk);
	enum qt_service svc = sk->sk_type == SOCK_STREAM ?
			      QT_SVC_TCP_LISTENER : QT_SVC_UDP_SERVICE;
	int err, tries = 0;

	do {
		if (qs->auto_port)
			qt_pick_port(qs);
		err = qt_sock_open(sk, qs->modem, svc, qs->ctx, timeo);
	} while (err == -EADDRINUSE && qs->auto_port &&
		 ++tries < QT_AUTO_PORT_TRIES);
	return err;
}

/* Process context. */
int qt_bind(struct socket *sock, struct sockaddr *uaddr, int len)
{
	struct sock *sk = sock->sk;
	struct qt_sock *qs = qt_sk(sk);
	struct qt_modem *modem;
	struct qt_addr addr;
	int err;

	err = qt_parse_addr(uaddr, len, &addr, true);
	if (err)
		return err;
	if (addr.port && addr.port < 1024 &&
	    !ns_capable(sock_net(sk)->user_ns, CAP_NET_BIND_SERVICE))
		return -EACCES;

	modem = qt_modem_get_by_index(sock_net(sk), addr.modem);
	if (!modem)
		return -ENODEV;

	lock_sock(sk);
	if (qs->bound || qs->id >= 0 || sk->sk_state != TCP_CLOSE) {
		err = -EINVAL;
		goto out_put;
	}
	spin_lock(&modem->conn_lock);
	if (addr.port && qt_port_in_use(modem, sk->sk_type, addr.port, qs)) {
		spin_unlock(&modem->conn_lock);
		err = -EADDRINUSE;
		goto out_put;
	}
	qs->local_port = addr.port;
	list_add_tail(&qs->bind_node, &modem->bound);
	spin_unlock(&modem->conn_lock);

	if (qs->modem)
		qt_modem_put(qs->modem);
	qs->modem = modem;
	qs->ctx = addr.ctx;
	qs->bound = true;
	qs->auto_port = !addr.port;

	/* A datagram socket's bind opens its UDP service now. */
	if (sk->sk_type == SOCK_DGRAM) {
		err = qt_serve_open(sk, MAX_SCHEDULE_TIMEOUT);
		if (err)
			qt_unbind(qs);
	}
	release_sock(sk);
	return err;

out_put:
	release_sock(sk);
	qt_modem_put(modem);
	return err;
}

/* An address for the automatic bind of listen() and sendto(). */
int qt_bind_auto(struct socket *sock, int modem, int ctx)
{
	struct sockaddr_qt sqt = {
		.sqt_family	= qt_family,
		.sqt_modem	= modem,
		.sqt_context	= ctx,
	};

	return qt_bind(sock, (struct sockaddr *)&sqt, sizeof(sqt));
}

/* Process context. */
int qt_listen(struct socket *sock, int backlog)
{
	struct sock *sk = sock->sk;
	struct qt_sock *qs = qt_sk(sk);
	int err;

	if (sock->state != SS_UNCONNECTED)
		return -EINVAL;
	if (!READ_ONCE(qs->bound)) {
		/* As TCP: an unbound socket listens on an automatic port. */
		err = qt_bind_auto(sock, 0, 0);
		if (err && err != -EINVAL)
			return err;
	}

	lock_sock(sk);
	backlog = clamp(backlog, 0, SOMAXCONN);
	if (sk->sk_state == TCP_LISTEN) {
		WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
		err = 0;
		goto out;
	}
	if (!qs->bound || qs->id >= 0 || sk->sk_state != TCP_CLOSE) {
		err = -EINVAL;
		goto out;
	}
	WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
	sk->sk_ack_backlog = 0;
	err = qt_serve_open(sk, MAX_SCHEDULE_TIMEOUT);
out:
	release_sock(sk);
	return err;
}

/*
 * A socket for the incoming connection on connectID @id, queued on
 * listener @lqs. Worker, the listener's socket lock held. Returns the
 * child (the queue's reference) or NULL.
 */
struct qt_sock *qt_child_new(struct qt_sock *lqs, int id, const char *peer,
			     u16 peer_port)
{
	struct sock *lsk = &lqs->sk, *sk;
	struct qt_sock *qs;

	sk = qt_sock_alloc(sock_net(lsk), NULL, SOCK_STREAM, 0);
	if (!sk)
		return NULL;
	qs = qt_sk(sk);
	/* What a TCP child inherits from its listener. */
	sk->sk_sndbuf = READ_ONCE(lsk->sk_sndbuf);
	sk->sk_rcvbuf = READ_ONCE(lsk->sk_rcvbuf);
	sk->sk_sndtimeo = lsk->sk_sndtimeo;
	sk->sk_rcvtimeo = lsk->sk_rcvtimeo;
	if (sock_flag(lsk, SOCK_KEEPOPEN))
		sock_set_flag(sk, SOCK_KEEPOPEN);

	qt_modem_hold(lqs->modem);
	qs->modem = lqs->modem;
	qs->service = QT_SVC_TCP;
	qs->accepted = true;
	qs->mode = lqs->mode;
	qs->mode_wanted = lqs->mode;
	qs->id = id;
	qs->ctx = lqs->ctx;
	strscpy(qs->host, peer, sizeof(qs->host));
	qs->port = peer_port;
	qs->local_port = lqs->local_port;
	qs->next_ack_check = jiffies;
	sk->sk_state = TCP_ESTABLISHED;

	list_add_tail(&qs->accept_node, &lqs->accept_q);
	sk_acceptq_added(lsk);
	lsk->sk_data_ready(lsk);
	return qs;
}

/* Close connections taken off a closed listener's queue. Process context. */
void qt_listener_close_queue(struct list_head *queue)
{
	struct qt_sock *qs, *tmp;

	list_for_each_entry_safe(qs, tmp, queue, accept_node) {
		list_del_init(&qs->accept_node);
		lock_sock(&qs->sk);
		qt_sock_release_conn(qs);
		sock_orphan(&qs->sk);
		release_sock(&qs->sk);
		sock_put(&qs->sk);		/* the queue's reference */
	}
}

static bool qt_accept_ready(const struct sock *sk)
{
	return !list_empty(&qt_sk(sk)->accept_q) || sk->sk_err ||
	       sk->sk_state != TCP_LISTEN;
}

/* Process context. */
int qt_accept(struct socket *sock, struct socket *newsock, int flags, bool kern)
{
	struct sock *sk = sock->sk;
	struct qt_sock *qs = qt_sk(sk), *child;
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	long timeo;
	int err = 0;

	lock_sock(sk);
	timeo = sock_rcvtimeo(sk, flags & O_NONBLOCK);
	add_wait_queue(sk_sleep(sk), &wait);
	while (list_empty(&qs->accept_q)) {
		if (!sk->sk_err && sk->sk_state != TCP_LISTEN) {
			err = -EINVAL;
			break;
		}
		err = qt_wait_error(sk, timeo);
		if (err)
			break;
		sk_wait_event(sk, &timeo, qt_accept_ready(sk), &wait);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	if (err) {
		release_sock(sk);
		return err;
	}
	child = list_first_entry(&qs->accept_q, struct qt_sock, accept_node);
	list_del_init(&child->accept_node);
	sk_acceptq_removed(sk);
	release_sock(sk);

	lock_sock(&child->sk);
	sock_graft(&child->sk, newsock);
	newsock->state = SS_CONNECTED;
	release_sock(&child->sk);
	return 0;
}
