// SPDX-License-Identifier: GPL-2.0
/*
 * AF_QUECTEL datagram sockets: a "UDP" client (connect) or a "UDP SERVICE"
 * (bind). Each send is one datagram queued whole; each receive returns one
 * datagram the engine read with AT+QIRD=<id>. The contract is
 * docs/SERVERS.md.
 */
#include <linux/inet.h>
#include <linux/net.h>
#include <linux/quectel.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "qt.h"

/* A service's destination must be an IP literal: the module resolves none. */
static bool qt_dgram_dest(const struct qt_addr *addr, struct qt_dgram_cb *cb)
{
	memset(cb, 0, sizeof(*cb));
	cb->port = addr->port;
	if (in4_pton(addr->host, -1, cb->addr, -1, NULL))
		cb->family = AF_INET;
	else if (in6_pton(addr->host, -1, cb->addr, -1, NULL))
		cb->family = AF_INET6;
	return cb->family;
}

/*
 * May a datagram go, to @addr if @has_addr? Socket lock held. Returns 0
 * (and the destination in @dest for a service) or -errno.
 */
static int qt_dgram_check_dest(struct sock *sk, const struct qt_addr *addr,
			       bool has_addr, struct qt_dgram_cb *dest, int flags)
{
	struct qt_sock *qs = qt_sk(sk);

	if (sk->sk_err)
		return sock_error(sk);
	if (sk->sk_shutdown & SEND_SHUTDOWN)
		return qt_epipe(flags);
	if (sk->sk_state != TCP_ESTABLISHED)
		return sk->sk_state == TCP_CLOSE && !has_addr ? -EDESTADDRREQ : -ENOTCONN;
	if (qs->service == QT_SVC_UDP_SERVICE) {
		if (!has_addr)
			return -EDESTADDRREQ;
		if (!qt_dgram_dest(addr, dest))
			return -EINVAL;
		return 0;
	}
	return has_addr ? -EISCONN : 0;
}

static int qt_dgram_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct sock *sk = sock->sk;
	struct qt_sock *qs = qt_sk(sk);
	struct sockaddr *uaddr = msg->msg_name;
	struct qt_dgram_cb dest = {};
	struct qt_addr addr = {};
	struct sk_buff *skb;
	long timeo;
	int err;

	if (msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (len > QT_SEND_MAX)
		return -EMSGSIZE;
	/* AT+QISEND=<id>,0 is the acknowledgement query, not a datagram. */
	if (!len)
		return -EINVAL;
	if (uaddr) {
		err = qt_parse_addr(uaddr, msg->msg_namelen, &addr, false);
		if (err)
			return err;
		/* As UDP: the first sendto() binds an automatic port. */
		lock_sock(sk);
		if (!qs->bound && qs->id < 0 && sk->sk_state == TCP_CLOSE &&
		    !sk->sk_err && !sk->sk_shutdown) {
			release_sock(sk);
			err = qt_bind_auto(sock, addr.modem, addr.ctx);
			if (err && err != -EINVAL)
				return err;
		} else {
			release_sock(sk);
		}
	}

	lock_sock(sk);
	timeo = sock_sndtimeo(sk, msg->msg_flags & MSG_DONTWAIT);
	for (;;) {
		err = qt_dgram_check_dest(sk, &addr, uaddr, &dest, msg->msg_flags);
		if (err)
			goto out;
		if (!qs->tx_queued || qs->tx_queued + len <= READ_ONCE(sk->sk_sndbuf))
			break;
		err = qt_wait_sndbuf(sk, &timeo, len);
		if (err)
			goto out;
	}

	skb = alloc_skb(len, sk->sk_allocation);
	if (!skb) {
		err = -ENOBUFS;
		goto out;
	}
	if (memcpy_from_msg(skb_put(skb, len), msg, len)) {
		kfree_skb(skb);
		err = -EFAULT;
		goto out;
	}
	*qt_dgram_cb(skb) = dest;
	skb_queue_tail(&sk->sk_write_queue, skb);
	qs->tx_queued += len;
	qt_conn_kick(qs->modem);
	err = len;
out:
	release_sock(sk);
	return err;
}

/* The sender of @skb, for recvfrom(). Socket lock held. */
static void qt_dgram_name(struct qt_sock *qs, struct sk_buff *skb,
			  struct sockaddr_qt *sqt)
{
	struct qt_dgram_cb *cb = qt_dgram_cb(skb);
	char ip[48] = "";

	if (qs->service != QT_SVC_UDP_SERVICE) {
		qt_fill_name(sqt, qs, qs->host, qs->port);
		return;
	}
	if (cb->family == AF_INET)
		snprintf(ip, sizeof(ip), "%pI4", cb->addr);
	else if (cb->family == AF_INET6)
		snprintf(ip, sizeof(ip), "%pI6c", cb->addr);
	qt_fill_name(sqt, qs, ip, cb->port);
}

static bool qt_dgram_rx_ready(const struct sock *sk)
{
	return !skb_queue_empty(&sk->sk_receive_queue) || sk->sk_err ||
	       (sk->sk_shutdown & RCV_SHUTDOWN);
}

/* Let the engine read again once the queue has drained below half. */
static void qt_dgram_rx_kick(struct qt_sock *qs)
{
	if (qs->rx_pending && qs->modem &&
	    qs->rx_queued < READ_ONCE(qs->sk.sk_rcvbuf) / 2)
		qt_conn_kick(qs->modem);
}

static int qt_dgram_recvmsg(struct socket *sock, struct msghdr *msg,
			    size_t len, int flags)
{
	struct sock *sk = sock->sk;
	struct qt_sock *qs = qt_sk(sk);
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	struct sk_buff *skb;
	size_t copied;
	long timeo;
	int err = 0;

	if (flags & (MSG_OOB | MSG_ERRQUEUE))
		return -EOPNOTSUPP;

	lock_sock(sk);
	if (sk->sk_state == TCP_SYN_SENT ||
	    (sk->sk_state == TCP_CLOSE && !(sk->sk_shutdown & RCV_SHUTDOWN) &&
	     skb_queue_empty(&sk->sk_receive_queue) && !sk->sk_err)) {
		err = -ENOTCONN;
		goto out;
	}
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	add_wait_queue(sk_sleep(sk), &wait);
	while (skb_queue_empty(&sk->sk_receive_queue)) {
		if (!sk->sk_err && (sk->sk_shutdown & RCV_SHUTDOWN))
			break;
		err = qt_wait_error(sk, timeo);
		if (err)
			break;
		qt_dgram_rx_kick(qs);
		sk_wait_event(sk, &timeo, qt_dgram_rx_ready(sk), &wait);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	skb = skb_peek(&sk->sk_receive_queue);
	if (err || !skb)
		goto out;		/* an error, or EOF: 0 */

	copied = min_t(size_t, len, skb->len);
	if (copied < skb->len)
		msg->msg_flags |= MSG_TRUNC;
	if (skb_copy_datagram_msg(skb, 0, msg, copied)) {
		err = -EFAULT;
		goto out;
	}
	if (msg->msg_name) {
		qt_dgram_name(qs, skb, msg->msg_name);
		msg->msg_namelen = sizeof(struct sockaddr_qt);
	}
	err = flags & MSG_TRUNC ? skb->len : copied;
	if (!(flags & MSG_PEEK)) {
		__skb_unlink(skb, &sk->sk_receive_queue);
		qs->rx_queued -= skb->len;
		kfree_skb(skb);
	}
	qt_dgram_rx_kick(qs);
out:
	release_sock(sk);
	return err;
}

static __poll_t qt_dgram_poll(struct file *file, struct socket *sock,
			      poll_table *wait)
{
	struct sock *sk = sock->sk;
	struct qt_sock *qs = qt_sk(sk);
	u8 shutdown = READ_ONCE(sk->sk_shutdown);
	unsigned int queued;
	__poll_t mask = 0;

	sock_poll_wait(file, sock, wait);

	if (READ_ONCE(sk->sk_err))
		mask |= EPOLLERR;
	if (READ_ONCE(sk->sk_state) == TCP_SYN_SENT)
		return mask;
	if (!skb_queue_empty_lockless(&sk->sk_receive_queue))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (shutdown & RCV_SHUTDOWN)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	if (shutdown == SHUTDOWN_MASK)
		mask |= EPOLLHUP;
	/* Writable when any datagram would be taken without blocking. */
	queued = READ_ONCE(qs->tx_queued);
	if (!(shutdown & SEND_SHUTDOWN) &&
	    (!queued || queued + QT_SEND_MAX <= READ_ONCE(sk->sk_sndbuf)))
		mask |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
	/* A failed non-blocking connect: writable with the error, as TCP. */
	if ((mask & EPOLLERR) && sock->state == SS_CONNECTING)
		mask |= EPOLLOUT;
	return mask;
}

/* See qt_stream_ops on .family. */
const struct proto_ops qt_dgram_ops = {
	.family		= PF_QUECTEL,
	.owner		= THIS_MODULE,
	.release	= qt_sock_release,
	.bind		= qt_bind,
	.connect	= qt_sock_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= qt_sock_getname,
	.poll		= qt_dgram_poll,
	.ioctl		= qt_sock_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= qt_sock_shutdown,
	.setsockopt	= qt_sock_setsockopt,
	.getsockopt	= qt_sock_getsockopt,
	.sendmsg	= qt_dgram_sendmsg,
	.recvmsg	= qt_dgram_recvmsg,
	.mmap		= sock_no_mmap,
	.sendpage	= sock_no_sendpage,
};
