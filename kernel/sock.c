// SPDX-License-Identifier: GPL-2.0
/*
 * AF_QUECTEL socket family: the proto_ops of stream sockets. The contract
 * is docs/SOCKETS.md. Socket calls validate, queue data, reserve a
 * connectID and wait; the connection engine (conn.c) talks to the modem.
 */
#include <linux/ctype.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/quectel.h>
#include <linux/sockios.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "qt.h"

#define QT_DEFAULT_BUF		(64 * 1024)
#define QT_TX_SKB_MAX		8192	/* bytes per send-queue buffer */

static struct proto qt_proto = {
	.name		= "QUECTEL",
	.owner		= THIS_MODULE,
	.obj_size	= sizeof(struct qt_sock),
};

/* A parsed, validated connect() address. */
struct qt_addr {
	char host[QT_HOST_MAX];
	u16 port;
	int modem;
	int ctx;
};

/*
 * Only bytes that can stand between quotes in an AT command line without
 * changing it: no '"', ',', CR, LF, Ctrl-Z, ESC, space or control byte.
 */
static bool qt_host_valid(const char *host)
{
	size_t len = strnlen(host, QT_HOST_MAX);
	const char *p;

	if (!len || len >= QT_HOST_MAX)
		return false;
	for (p = host; *p; p++)
		if (!isalnum(*p) && *p != '.' && *p != '-' && *p != '_' && *p != ':')
			return false;
	return true;
}

/* Process context (connect). Returns 0 or -errno; nothing reaches the modem. */
static int qt_parse_addr(const struct sockaddr *uaddr, int len,
			 struct qt_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (len < (int)sizeof(uaddr->sa_family))
		return -EINVAL;

	switch (uaddr->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const void *)uaddr;

		if (len < (int)sizeof(*sin))
			return -EINVAL;
		snprintf(addr->host, sizeof(addr->host), "%pI4", &sin->sin_addr);
		addr->port = ntohs(sin->sin_port);
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const void *)uaddr;

		/* RFC 2133 size: without sin6_scope_id */
		if (len < (int)offsetof(struct sockaddr_in6, sin6_scope_id))
			return -EINVAL;
		snprintf(addr->host, sizeof(addr->host), "%pI6c", &sin6->sin6_addr);
		addr->port = ntohs(sin6->sin6_port);
		break;
	}
	default: {
		const struct sockaddr_qt *sqt = (const void *)uaddr;
		size_t hostlen, room;

		if (uaddr->sa_family != qt_family)
			return -EAFNOSUPPORT;
		if (len <= (int)offsetof(struct sockaddr_qt, sqt_host))
			return -EINVAL;
		room = min_t(size_t, len - offsetof(struct sockaddr_qt, sqt_host),
			     QT_HOST_MAX);
		hostlen = strnlen(sqt->sqt_host, room);
		if (hostlen == room)
			return -EINVAL;		/* no NUL within the address */
		if (sqt->sqt_flags || sqt->sqt_reserved ||
		    sqt->sqt_context > QT_MAX_CTX)
			return -EINVAL;
		memcpy(addr->host, sqt->sqt_host, hostlen + 1);
		addr->port = ntohs(sqt->sqt_port);
		addr->modem = sqt->sqt_modem;
		addr->ctx = sqt->sqt_context;
		break;
	}
	}

	if (!addr->port || !qt_host_valid(addr->host))
		return -EINVAL;
	if (!addr->ctx)
		addr->ctx = qt_default_context;
	if (addr->ctx < 1 || addr->ctx > QT_MAX_CTX)
		return -EINVAL;
	return 0;
}

/* Take a free connectID for @qs. Socket lock held. */
static int qt_reserve_slot(struct qt_modem *modem, struct qt_sock *qs, int ctx)
{
	int id;

	spin_lock(&modem->conn_lock);
	for (id = 0; id < QT_MAX_CONNS; id++) {
		struct qt_slot *slot = &modem->slots[id];

		if (slot->state != QT_SLOT_FREE)
			continue;
		slot->state = QT_SLOT_RESERVED;
		slot->qs = qs;
		slot->ctx = ctx;
		slot->open_err = -1;
		sock_hold(&qs->sk);
		break;
	}
	spin_unlock(&modem->conn_lock);
	return id < QT_MAX_CONNS ? id : -EADDRNOTAVAIL;
}

/*
 * Give up a connect in progress (signal, close): the slot becomes an
 * orphan the engine closes and frees. Socket lock held.
 */
static void qt_abandon_connect(struct qt_sock *qs)
{
	struct qt_modem *modem = qs->modem;
	struct qt_slot *slot;
	bool owned = false;

	if (qs->id < 0)
		return;
	spin_lock(&modem->conn_lock);
	slot = &modem->slots[qs->id];
	if (slot->qs == qs) {
		slot->qs = NULL;
		owned = true;
	}
	spin_unlock(&modem->conn_lock);
	qs->id = -1;
	qs->sk.sk_state = TCP_CLOSE;
	if (owned)
		sock_put(&qs->sk);	/* the slot's reference; ours remains */
	qt_conn_kick(modem);
}

static int qt_stream_connect(struct socket *sock, struct sockaddr *uaddr,
			     int len, int flags)
{
	struct sock *sk = sock->sk;
	struct qt_sock *qs = qt_sk(sk);
	struct qt_modem *modem;
	struct qt_addr addr;
	long timeo;
	int err, id;

	err = qt_parse_addr(uaddr, len, &addr);
	if (err)
		return err;

	lock_sock(sk);
	switch (sk->sk_state) {
	case TCP_SYN_SENT:
		err = -EALREADY;
		goto out;
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		err = -EISCONN;
		goto out;
	}
	if (qs->id >= 0) {
		err = -EISCONN;		/* still closing its last connection */
		goto out;
	}

	modem = qt_modem_get_by_index(sock_net(sk), addr.modem);
	if (!modem) {
		err = -ENODEV;
		goto out;
	}
	if (!qt_modem_is_ready(modem)) {
		qt_modem_put(modem);
		err = -ENETDOWN;
		goto out;
	}
	id = qt_reserve_slot(modem, qs, addr.ctx);
	if (id < 0) {
		qt_modem_put(modem);
		err = id;
		goto out;
	}
	if (qs->modem)
		qt_modem_put(qs->modem);
	qs->modem = modem;
	qs->id = id;
	qs->ctx = addr.ctx;
	qs->port = addr.port;
	qs->local_port = 0;
	strscpy(qs->host, addr.host, sizeof(qs->host));
	qs->rx_pending = false;
	qs->peer_closed = false;
	qs->sendfail_ms = 0;
	qs->ack_stalls = 0;
	WRITE_ONCE(sk->sk_err, 0);
	sk->sk_shutdown = 0;
	sk->sk_state = TCP_SYN_SENT;
	sock->state = SS_CONNECTING;
	qt_conn_kick(modem);

	timeo = sock_sndtimeo(sk, flags & O_NONBLOCK);
	if (!timeo) {
		err = -EINPROGRESS;
		goto out;
	}
	{
		DEFINE_WAIT_FUNC(wait, woken_wake_function);

		add_wait_queue(sk_sleep(sk), &wait);
		while (sk->sk_state == TCP_SYN_SENT && timeo &&
		       !signal_pending(current))
			sk_wait_event(sk, &timeo, sk->sk_state != TCP_SYN_SENT, &wait);
		remove_wait_queue(sk_sleep(sk), &wait);
	}

	if (sk->sk_state == TCP_SYN_SENT) {
		if (signal_pending(current)) {
			/* The notes' half-open connectID is closed and freed. */
			qt_abandon_connect(qs);
			sock->state = SS_UNCONNECTED;
			err = sock_intr_errno(timeo);
		} else {
			err = -EINPROGRESS;	/* SO_SNDTIMEO: goes on, like TCP */
		}
		goto out;
	}
	if (sk->sk_state == TCP_ESTABLISHED) {
		sock->state = SS_CONNECTED;
		err = 0;
	} else {
		sock->state = SS_UNCONNECTED;
		err = sock_error(sk) ?: -ECONNRESET;
	}
out:
	release_sock(sk);
	return err;
}

/* Wait for room in the send queue. Socket lock held (dropped meanwhile). */
static int qt_wait_sndbuf(struct sock *sk, long *timeo)
{
	struct qt_sock *qs = qt_sk(sk);
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	int err = 0;

	add_wait_queue(sk_sleep(sk), &wait);
	for (;;) {
		if (sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN) ||
		    sk->sk_state != TCP_ESTABLISHED)
			break;
		if (qs->tx_queued < READ_ONCE(sk->sk_sndbuf))
			break;
		if (!*timeo) {
			err = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			err = sock_intr_errno(*timeo);
			break;
		}
		sk_wait_event(sk, timeo,
			      sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN) ||
			      sk->sk_state != TCP_ESTABLISHED ||
			      qs->tx_queued < READ_ONCE(sk->sk_sndbuf), &wait);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return err;
}

/* EPIPE after shutdown or peer close, with SIGPIPE unless MSG_NOSIGNAL. */
static int qt_epipe(int flags)
{
	if (!(flags & MSG_NOSIGNAL))
		send_sig(SIGPIPE, current, 0);
	return -EPIPE;
}

static int qt_stream_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct sock *sk = sock->sk;
	struct qt_sock *qs = qt_sk(sk);
	size_t copied = 0;
	long timeo;
	int err = 0;

	if (msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;

	lock_sock(sk);
	timeo = sock_sndtimeo(sk, msg->msg_flags & MSG_DONTWAIT);
	while (copied < len || !len) {
		struct sk_buff *skb;
		size_t room, chunk;

		if (sk->sk_err) {
			/* With bytes queued, report those; the error waits. */
			if (!copied)
				err = sock_error(sk);
			break;
		}
		if (sk->sk_state == TCP_SYN_SENT || (sk->sk_state == TCP_CLOSE &&
						     !(sk->sk_shutdown & SEND_SHUTDOWN))) {
			err = -ENOTCONN;
			break;
		}
		if ((sk->sk_shutdown & SEND_SHUTDOWN) || sk->sk_state != TCP_ESTABLISHED ||
		    qs->peer_closed) {
			err = qt_epipe(msg->msg_flags);
			break;
		}
		if (!len)
			break;
		if (qs->tx_queued >= READ_ONCE(sk->sk_sndbuf)) {
			err = qt_wait_sndbuf(sk, &timeo);
			if (err)
				break;
			continue;
		}
		room = READ_ONCE(sk->sk_sndbuf) - qs->tx_queued;
		chunk = min3(len - copied, room, (size_t)QT_TX_SKB_MAX);
		skb = alloc_skb(chunk, sk->sk_allocation);
		if (!skb) {
			err = -ENOBUFS;
			break;
		}
		chunk = copy_from_iter(skb_put(skb, chunk), chunk, &msg->msg_iter);
		if (!chunk) {
			kfree_skb(skb);
			err = -EFAULT;
			break;
		}
		skb_trim(skb, chunk);
		skb_queue_tail(&sk->sk_write_queue, skb);
		qs->tx_queued += chunk;
		copied += chunk;
		qt_conn_kick(qs->modem);
	}
	release_sock(sk);
	return copied ? copied : err;
}

static int qt_stream_recvmsg(struct socket *sock, struct msghdr *msg,
			     size_t len, int flags)
{
	struct sock *sk = sock->sk;
	struct qt_sock *qs = qt_sk(sk);
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	size_t copied = 0, peek_off = 0;
	int target, err = 0;
	long timeo;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;

	lock_sock(sk);
	if (sk->sk_state == TCP_SYN_SENT ||
	    (sk->sk_state == TCP_CLOSE && !(sk->sk_shutdown & RCV_SHUTDOWN) &&
	     !qs->rx_queued && !sk->sk_err)) {
		release_sock(sk);
		return -ENOTCONN;
	}
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	target = sock_rcvlowat(sk, flags & MSG_WAITALL, len);

	add_wait_queue(sk_sleep(sk), &wait);
	while (copied < len) {
		struct sk_buff *skb, *tmp;

		skb_queue_walk_safe(&sk->sk_receive_queue, skb, tmp) {
			size_t off = 0, chunk;

			if (flags & MSG_PEEK) {
				if (peek_off >= skb->len) {
					peek_off -= skb->len;
					continue;
				}
				off = peek_off;
			}
			chunk = min_t(size_t, skb->len - off, len - copied);
			if (skb_copy_datagram_msg(skb, off, msg, chunk)) {
				err = -EFAULT;
				goto done;
			}
			copied += chunk;
			if (flags & MSG_PEEK) {
				peek_off = off + chunk;
			} else {
				qs->rx_queued -= chunk;
				if (chunk == skb->len) {
					__skb_unlink(skb, &sk->sk_receive_queue);
					kfree_skb(skb);
				} else {
					skb_pull(skb, chunk);
				}
			}
			if (copied == len)
				break;
		}
		if (flags & MSG_PEEK)
			peek_off = copied;

		if (copied >= target)
			break;
		if (sk->sk_err) {
			if (!copied)
				err = sock_error(sk);
			break;
		}
		if (sk->sk_shutdown & RCV_SHUTDOWN)
			break;
		if (!timeo) {
			if (!copied)
				err = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			if (!copied)
				err = sock_intr_errno(timeo);
			break;
		}
		/* Drained below half: let the engine read from the modem again. */
		if (qs->rx_pending && qs->modem &&
		    qs->rx_queued < READ_ONCE(sk->sk_rcvbuf) / 2)
			qt_conn_kick(qs->modem);
		sk_wait_event(sk, &timeo,
			      qs->rx_queued > (flags & MSG_PEEK ? peek_off : 0) ||
			      sk->sk_err || (sk->sk_shutdown & RCV_SHUTDOWN), &wait);
	}
done:
	remove_wait_queue(sk_sleep(sk), &wait);
	if (qs->rx_pending && qs->modem &&
	    qs->rx_queued < READ_ONCE(sk->sk_rcvbuf) / 2)
		qt_conn_kick(qs->modem);
	release_sock(sk);
	return copied ? copied : err;
}

static __poll_t qt_stream_poll(struct file *file, struct socket *sock,
			       poll_table *wait)
{
	struct sock *sk = sock->sk;
	struct qt_sock *qs = qt_sk(sk);
	int state = READ_ONCE(sk->sk_state);
	u8 shutdown = READ_ONCE(sk->sk_shutdown);
	__poll_t mask = 0;

	sock_poll_wait(file, sock, wait);

	if (READ_ONCE(sk->sk_err))
		mask |= EPOLLERR;
	if (state == TCP_SYN_SENT)
		return mask;
	if (state == TCP_CLOSE && sock->state == SS_UNCONNECTED && !mask)
		return EPOLLOUT | EPOLLWRNORM | EPOLLHUP;

	if (READ_ONCE(qs->rx_queued) || (shutdown & RCV_SHUTDOWN))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (READ_ONCE(qs->peer_closed) || state == TCP_CLOSE_WAIT)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	if (shutdown == SHUTDOWN_MASK || mask & EPOLLERR ||
	    ((shutdown & SEND_SHUTDOWN) && (mask & EPOLLRDHUP)))
		mask |= EPOLLHUP;
	if (state == TCP_ESTABLISHED && !(shutdown & SEND_SHUTDOWN) &&
	    READ_ONCE(qs->tx_queued) < READ_ONCE(sk->sk_sndbuf))
		mask |= EPOLLOUT | EPOLLWRNORM;
	if ((mask & EPOLLERR) && sock->state == SS_CONNECTING)
		mask |= EPOLLOUT | EPOLLHUP;
	return mask;
}

static int qt_stream_shutdown(struct socket *sock, int how)
{
	struct sock *sk = sock->sk;

	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	lock_sock(sk);
	if (sk->sk_state != TCP_ESTABLISHED && sk->sk_state != TCP_CLOSE_WAIT) {
		release_sock(sk);
		return -ENOTCONN;
	}
	/* SHUT_RD = 0 -> RCV_SHUTDOWN, SHUT_WR = 1 -> SEND_SHUTDOWN, ... */
	sk->sk_shutdown |= how + 1;
	if (how != SHUT_WR) {
		skb_queue_purge(&sk->sk_receive_queue);
		qt_sk(sk)->rx_queued = 0;
	}
	sk->sk_state_change(sk);
	release_sock(sk);
	return 0;
}

static int qt_stream_getname(struct socket *sock, struct sockaddr *uaddr, int peer)
{
	struct sockaddr_qt *sqt = (struct sockaddr_qt *)uaddr;
	struct sock *sk = sock->sk;
	struct qt_sock *qs = qt_sk(sk);
	int err = sizeof(*sqt);

	memset(sqt, 0, sizeof(*sqt));
	lock_sock(sk);
	if (sk->sk_state != TCP_ESTABLISHED && sk->sk_state != TCP_CLOSE_WAIT) {
		err = -ENOTCONN;
		goto out;
	}
	sqt->sqt_family = qt_family;
	sqt->sqt_modem = qs->modem->index;
	sqt->sqt_context = qs->ctx;
	if (peer) {
		sqt->sqt_port = htons(qs->port);
		strscpy(sqt->sqt_host, qs->host, sizeof(sqt->sqt_host));
	} else {
		sqt->sqt_port = htons(qs->local_port);
		spin_lock(&qs->modem->conn_lock);
		strscpy(sqt->sqt_host, qs->modem->ctx_ip[qs->ctx], sizeof(sqt->sqt_host));
		spin_unlock(&qs->modem->conn_lock);
	}
out:
	release_sock(sk);
	return err;
}

static int qt_stream_ioctl(struct socket *sock, unsigned int cmd, unsigned long arg)
{
	struct sock *sk = sock->sk;
	struct qt_sock *qs = qt_sk(sk);
	struct qt_modem *modem = NULL;
	int amount, id = -1;

	switch (cmd) {
	case SIOCINQ:
		lock_sock(sk);
		amount = qs->rx_queued;
		release_sock(sk);
		break;
	case SIOCOUTQ:
		lock_sock(sk);
		amount = qs->tx_queued;
		if (sk->sk_state == TCP_ESTABLISHED && qs->modem) {
			modem = qs->modem;
			id = qs->id;
		}
		release_sock(sk);
		/* The query sleeps on the modem: not under the socket lock. */
		if (modem && id >= 0) {
			u32 acked, unacked;

			if (!qt_conn_query_acks(modem, id, &acked, &unacked))
				amount += min_t(u32, unacked, INT_MAX - amount);
		}
		break;
	default:
		return -ENOIOCTLCMD;
	}
	return put_user(amount, (int __user *)arg);
}

static int qt_stream_setsockopt(struct socket *sock, int level, int optname,
				sockptr_t optval, unsigned int optlen)
{
	if (level != SOL_QUECTEL)
		return -ENOPROTOOPT;
	return -ENOPROTOOPT;
}

static int qt_stream_getsockopt(struct socket *sock, int level, int optname,
				char __user *optval, int __user *optlen)
{
	struct sock *sk = sock->sk;
	int len, val;

	if (level != SOL_QUECTEL)
		return -ENOPROTOOPT;
	if (get_user(len, optlen))
		return -EFAULT;
	if (len < (int)sizeof(int))
		return -EINVAL;

	switch (optname) {
	case QT_CONNECT_ID:
		lock_sock(sk);
		val = qt_sk(sk)->id;
		release_sock(sk);
		break;
	default:
		return -ENOPROTOOPT;
	}
	len = sizeof(int);
	if (put_user(len, optlen) || copy_to_user(optval, &val, len))
		return -EFAULT;
	return 0;
}

/* Process context. */
static int qt_sock_release(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct qt_sock *qs;

	if (!sk)
		return 0;
	qs = qt_sk(sk);

	lock_sock(sk);
	if (sk->sk_state == TCP_SYN_SENT) {
		qt_abandon_connect(qs);
	} else if (qs->id >= 0) {
		if (sock_flag(sk, SOCK_LINGER) && !sk->sk_lingertime) {
			/* Linger 0: drop what is queued, close at once. */
			skb_queue_purge(&sk->sk_write_queue);
			qs->tx_queued = 0;
		} else if (sock_flag(sk, SOCK_LINGER) && qs->tx_queued) {
			DEFINE_WAIT_FUNC(wait, woken_wake_function);
			long timeo = sk->sk_lingertime;

			add_wait_queue(sk_sleep(sk), &wait);
			while (qs->tx_queued && timeo && !sk->sk_err &&
			       sk->sk_state == TCP_ESTABLISHED && !signal_pending(current))
				sk_wait_event(sk, &timeo, !qs->tx_queued || sk->sk_err ||
					      sk->sk_state != TCP_ESTABLISHED, &wait);
			remove_wait_queue(sk_sleep(sk), &wait);
		}
		/* The engine flushes the rest, then AT+QICLOSE. */
		qs->close_wanted = true;
		if (qs->modem)
			qt_conn_kick(qs->modem);
	}
	sk->sk_shutdown = SHUTDOWN_MASK;
	sock_orphan(sk);
	sock->sk = NULL;
	release_sock(sk);
	sock_put(sk);
	return 0;
}

static void qt_sock_destruct(struct sock *sk)
{
	struct qt_sock *qs = qt_sk(sk);

	skb_queue_purge(&sk->sk_receive_queue);
	skb_queue_purge(&sk->sk_write_queue);
	if (qs->modem)
		qt_modem_put(qs->modem);
}

/*
 * proto_ops.family is informational in 6.1 (the registered family and
 * sk_family carry the real number, which the "family" parameter may
 * change), so the ops stay const with the default number.
 */
static const struct proto_ops qt_stream_ops = {
	.family		= PF_QUECTEL,
	.owner		= THIS_MODULE,
	.release	= qt_sock_release,
	.bind		= sock_no_bind,
	.connect	= qt_stream_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= qt_stream_getname,
	.poll		= qt_stream_poll,
	.ioctl		= qt_stream_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= qt_stream_shutdown,
	.setsockopt	= qt_stream_setsockopt,
	.getsockopt	= qt_stream_getsockopt,
	.sendmsg	= qt_stream_sendmsg,
	.recvmsg	= qt_stream_recvmsg,
	.mmap		= sock_no_mmap,
	.sendpage	= sock_no_sendpage,
};

/* Datagram sockets arrive with the UDP issue; until then only creation. */
static const struct proto_ops qt_dgram_ops = {
	.family		= PF_QUECTEL,
	.owner		= THIS_MODULE,
	.release	= qt_sock_release,
	.bind		= sock_no_bind,
	.connect	= sock_no_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= sock_no_getname,
	.poll		= datagram_poll,
	.ioctl		= sock_no_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= sock_no_shutdown,
	.sendmsg	= sock_no_sendmsg,
	.recvmsg	= sock_no_recvmsg,
	.mmap		= sock_no_mmap,
	.sendpage	= sock_no_sendpage,
};

/* Process context: socket(2). */
static int qt_sock_create(struct net *net, struct socket *sock, int protocol,
			  int kern)
{
	struct qt_sock *qs;
	struct sock *sk;

	if (protocol != 0)
		return -EPROTONOSUPPORT;

	switch (sock->type) {
	case SOCK_STREAM:
		sock->ops = &qt_stream_ops;
		break;
	case SOCK_DGRAM:
		sock->ops = &qt_dgram_ops;
		break;
	default:
		return -ESOCKTNOSUPPORT;
	}

	sk = sk_alloc(net, qt_family, GFP_KERNEL, &qt_proto, kern);
	if (!sk)
		return -ENOMEM;

	sock_init_data(sock, sk);
	sk->sk_protocol = protocol;
	sk->sk_destruct = qt_sock_destruct;
	sk->sk_sndbuf = QT_DEFAULT_BUF;
	sk->sk_rcvbuf = QT_DEFAULT_BUF;
	sk->sk_state = TCP_CLOSE;
	qs = qt_sk(sk);
	qs->id = -1;
	return 0;
}

static struct net_proto_family qt_family_ops = {
	.create	= qt_sock_create,
	.owner	= THIS_MODULE,
};

int qt_sock_register(void)
{
	int err;

	/* The family number is a module parameter, known only at load. */
	qt_family_ops.family = qt_family;

	err = proto_register(&qt_proto, 1);
	if (err)
		return err;

	err = sock_register(&qt_family_ops);
	if (err)
		goto err_proto;
	return 0;

err_proto:
	proto_unregister(&qt_proto);
	return err;
}

void qt_sock_unregister(void)
{
	sock_unregister(qt_family);
	proto_unregister(&qt_proto);
}
