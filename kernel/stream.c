// SPDX-License-Identifier: GPL-2.0
/*
 * AF_QUECTEL stream sockets: the byte-stream data path (send queue,
 * receive queue, poll) and the proto_ops of SOCK_STREAM. The contract is
 * docs/SOCKETS.md (clients) and docs/SERVERS.md (listeners).
 */
#include <linux/net.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "qt.h"

#define QT_TX_SKB_MAX		8192	/* bytes per send-queue buffer */

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
		if (sk->sk_state == TCP_SYN_SENT || sk->sk_state == TCP_LISTEN ||
		    (sk->sk_state == TCP_CLOSE &&
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
			err = qt_wait_sndbuf(sk, &timeo, 1);
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
	if (sk->sk_state == TCP_SYN_SENT || sk->sk_state == TCP_LISTEN ||
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
	/* Transparent: the tty holds what had no room; take it now. */
	if (qs->modem && READ_ONCE(qs->modem->chan.rx_stopped))
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

	/*
	 * Pairs with the barrier in qt_sock_set_closed(), which sets the
	 * error before the state: an error seen here with the old state is
	 * a close under way, so report what it leaves (never POLLOUT).
	 */
	smp_rmb();
	if (READ_ONCE(sk->sk_err)) {
		mask |= EPOLLERR;
		state = TCP_CLOSE;
		shutdown = SHUTDOWN_MASK;
	}
	if (state == TCP_SYN_SENT)
		return mask;
	/* A listener (or one that failed, with connections still queued). */
	if (state == TCP_LISTEN || READ_ONCE(sk->sk_ack_backlog))
		return mask | (READ_ONCE(sk->sk_ack_backlog) ? EPOLLIN | EPOLLRDNORM : 0);
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

/*
 * proto_ops.family is informational in 6.1 (the registered family and
 * sk_family carry the real number, which the "family" parameter may
 * change), so the ops stay const with the default number.
 */
const struct proto_ops qt_stream_ops = {
	.family		= PF_QUECTEL,
	.owner		= THIS_MODULE,
	.release	= qt_sock_release,
	.bind		= qt_bind,
	.connect	= qt_sock_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= qt_accept,
	.getname	= qt_sock_getname,
	.poll		= qt_stream_poll,
	.ioctl		= qt_sock_ioctl,
	.listen		= qt_listen,
	.shutdown	= qt_sock_shutdown,
	.setsockopt	= qt_sock_setsockopt,
	.getsockopt	= qt_sock_getsockopt,
	.sendmsg	= qt_stream_sendmsg,
	.recvmsg	= qt_stream_recvmsg,
	.mmap		= sock_no_mmap,
	.sendpage	= sock_no_sendpage,
};
