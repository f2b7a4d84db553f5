// SPDX-License-Identifier: GPL-2.0
/*
 * AF_QUECTEL socket family: registration, socket creation and release, and
 * what stream and datagram sockets share: address parsing, opening a
 * connectID and waiting for it, names, options and ioctls. The contracts
 * are docs/SOCKETS.md and docs/SERVERS.md. Socket calls validate, queue
 * data, reserve a connectID and wait; the connection engine (conn.c)
 * talks to the modem.
 */
#include <linux/ctype.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/quectel.h>
#include <linux/sockios.h>
#include <net/ipv6.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "qt.h"

#define QT_DEFAULT_BUF		(64 * 1024)

static struct proto qt_proto = {
	.name		= "QUECTEL",
	.owner		= THIS_MODULE,
	.obj_size	= sizeof(struct qt_sock),
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

/* A module serves on every address of its context: only "any" binds. */
static bool qt_local_host_valid(const char *host)
{
	return !*host || !strcmp(host, "0.0.0.0") || !strcmp(host, "::");
}

/*
 * Parse a remote (connect, sendto) or @local (bind) address. Process
 * context. Returns 0 or -errno; nothing reaches the modem.
 */
int qt_parse_addr(const struct sockaddr *uaddr, int len, struct qt_addr *addr,
		  bool local)
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
		/* An IPv4-mapped peer is an IPv4 one: both sets take that. */
		if (ipv6_addr_v4mapped(&sin6->sin6_addr))
			snprintf(addr->host, sizeof(addr->host), "%pI4",
				 &sin6->sin6_addr.s6_addr32[3]);
		else
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

	if (local) {
		if (!qt_local_host_valid(addr->host))
			return -EADDRNOTAVAIL;
	} else if (!addr->port || !qt_host_valid(addr->host)) {
		return -EINVAL;
	}
	if (!addr->ctx)
		addr->ctx = qt_default_context;
	if (addr->ctx < 1 || addr->ctx > QT_MAX_CTX)
		return -EINVAL;
	return 0;
}

/* Take a free connectID for @qs. Socket lock held. */
static int qt_reserve_slot(struct qt_modem *modem, struct qt_sock *qs, int ctx)
{
	int id, max = qt_max_conns(modem);

	spin_lock(&modem->conn_lock);
	for (id = 0; id < max; id++) {
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
	return id < max ? id : -EADDRNOTAVAIL;
}

/*
 * Give up an open in progress (signal, close): the slot becomes an orphan
 * the engine closes and frees. Socket lock held.
 */
static void qt_abandon_open(struct qt_sock *qs)
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

/*
 * Open a connectID of @qs->service on its modem (referenced in qs->modem)
 * and context @ctx: connect, listen, or a UDP service. The caller set the
 * host, port and local port. Waits up to @timeo for +QIOPEN. Socket lock
 * held (dropped while waiting).
 *
 * Returns 0 once open, -EINPROGRESS if the wait ended first (the open goes
 * on), -EINTR/-ERESTARTSYS on a signal (the open is abandoned), or the
 * error that ended it.
 */
int qt_sock_open(struct sock *sk, struct qt_modem *modem, enum qt_service svc,
		 int ctx, long timeo)
{
	struct qt_sock *qs = qt_sk(sk);
	int id;

	if (!qt_modem_is_ready(modem))
		return -ENETDOWN;
	/* A transparent connection owns the line: no command can go. */
	if (qt_raw_busy(modem, -1))
		return -EBUSY;
	if (qs->mode == QT_MODE_TRANSPARENT &&
	    (svc == QT_SVC_TCP_LISTENER || svc == QT_SVC_UDP_SERVICE))
		return -EOPNOTSUPP;
	/*
	 * The legacy set (docs/SOCKETS.md, "Dialects"): clients in buffer
	 * mode on the one foreground context.
	 */
	if (qt_legacy(modem) && (svc == QT_SVC_TCP_LISTENER ||
				 svc == QT_SVC_UDP_SERVICE || qs->mode != QT_MODE_BUFFER))
		return -EOPNOTSUPP;
	if (qt_legacy(modem) && ctx != 1)
		return -EINVAL;
	/* Its stack is IPv4 only: an IPv6 literal (names have no ':'). */
	if (qt_legacy(modem) && strchr(qs->host, ':'))
		return -EAFNOSUPPORT;
	qs->service = svc;
	id = qt_reserve_slot(modem, qs, ctx);
	if (id < 0)
		return id;
	qs->id = id;
	qs->ctx = ctx;
	qs->rx_pending = false;
	qs->peer_closed = false;
	qs->sendfail_ms = 0;
	qs->ack_stalls = 0;
	qs->last_acked = 0;
	qs->lg_unacked = 0;
	qs->lg_poll_ms = 0;
	qs->lg_stalls = 0;
	WRITE_ONCE(sk->sk_err, 0);
	sk->sk_shutdown = 0;
	sk->sk_state = TCP_SYN_SENT;
	qt_conn_kick(modem);

	if (!timeo)
		return -EINPROGRESS;
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
			qt_abandon_open(qs);
			return sock_intr_errno(timeo);
		}
		return -EINPROGRESS;	/* SO_SNDTIMEO: goes on, like TCP */
	}
	if (sk->sk_state == TCP_ESTABLISHED || sk->sk_state == TCP_LISTEN)
		return 0;
	return sock_error(sk) ?: -ECONNRESET;
}

/* connect(): a TCP or a UDP client. Process context. */
int qt_sock_connect(struct socket *sock, struct sockaddr *uaddr, int len,
		      int flags)
{
	struct sock *sk = sock->sk;
	struct qt_sock *qs = qt_sk(sk);
	bool dgram = sk->sk_type == SOCK_DGRAM;
	struct qt_modem *modem;
	struct qt_addr addr;
	int err;

	err = qt_parse_addr(uaddr, len, &addr, false);
	if (err)
		return err;

	lock_sock(sk);
	switch (sk->sk_state) {
	case TCP_SYN_SENT:
		err = dgram ? -EISCONN : -EALREADY;
		goto out;
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_LISTEN:
		err = -EISCONN;
		goto out;
	}
	/* Still closing its last connection, or a bound UDP service. */
	if (qs->id >= 0 || (dgram && qs->bound)) {
		err = -EISCONN;
		goto out;
	}

	if (qs->bound) {
		/* A stream socket bound to a local port: that modem. */
		if (addr.modem != qs->modem->index) {
			err = -EINVAL;
			goto out;
		}
	} else {
		modem = qt_modem_get_by_index(sock_net(sk), addr.modem);
		if (!modem) {
			err = -ENODEV;
			goto out;
		}
		if (qs->modem)
			qt_modem_put(qs->modem);
		qs->modem = modem;
		qs->local_port = 0;
	}
	qs->port = addr.port;
	strscpy(qs->host, addr.host, sizeof(qs->host));

	err = qt_sock_open(sk, qs->modem, dgram ? QT_SVC_UDP : QT_SVC_TCP,
			   addr.ctx, sock_sndtimeo(sk, flags & O_NONBLOCK));
	if (!err)
		sock->state = SS_CONNECTED;
	else if (err == -EINPROGRESS)
		sock->state = SS_CONNECTING;
	else
		sock->state = SS_UNCONNECTED;
out:
	release_sock(sk);
	return err;
}

/* Room for @need more bytes (any amount into an empty queue), or no point. */
static bool qt_sndbuf_ready(const struct sock *sk, unsigned int need)
{
	const struct qt_sock *qs = qt_sk(sk);

	return sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN) ||
	       sk->sk_state != TCP_ESTABLISHED || !qs->tx_queued ||
	       qs->tx_queued + need <= READ_ONCE(sk->sk_sndbuf);
}

/*
 * Why a blocked socket call stops waiting, if it does: a pending error
 * (reported and cleared), no time left, a signal. Socket lock held.
 * Returns 0 to wait on, or -errno.
 */
int qt_wait_error(struct sock *sk, long timeo)
{
	if (sk->sk_err)
		return sock_error(sk);
	if (!timeo)
		return -EAGAIN;
	if (signal_pending(current))
		return sock_intr_errno(timeo);
	return 0;
}

/* Wait for @need bytes of room in the send queue. Socket lock held. */
int qt_wait_sndbuf(struct sock *sk, long *timeo, unsigned int need)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	int err = 0;

	add_wait_queue(sk_sleep(sk), &wait);
	while (!qt_sndbuf_ready(sk, need)) {
		err = qt_wait_error(sk, *timeo);
		if (err)
			break;
		sk_wait_event(sk, timeo, qt_sndbuf_ready(sk, need), &wait);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return err;
}

/* EPIPE after shutdown or peer close, with SIGPIPE unless MSG_NOSIGNAL. */
int qt_epipe(int flags)
{
	if (!(flags & MSG_NOSIGNAL))
		send_sig(SIGPIPE, current, 0);
	return -EPIPE;
}

int qt_sock_shutdown(struct socket *sock, int how)
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

/* A sockaddr_qt for @host:@port on @qs's modem and context. */
void qt_fill_name(struct sockaddr_qt *sqt, const struct qt_sock *qs,
		  const char *host, u16 port)
{
	memset(sqt, 0, sizeof(*sqt));
	sqt->sqt_family = qt_family;
	sqt->sqt_modem = qs->modem ? qs->modem->index : 0;
	sqt->sqt_context = qs->ctx;
	sqt->sqt_port = htons(port);
	strscpy(sqt->sqt_host, host, sizeof(sqt->sqt_host));
}

int qt_sock_getname(struct socket *sock, struct sockaddr *uaddr, int peer)
{
	struct sockaddr_qt *sqt = (struct sockaddr_qt *)uaddr;
	struct sock *sk = sock->sk;
	struct qt_sock *qs = qt_sk(sk);
	bool connected;
	char ip[48];
	int err = sizeof(*sqt);

	memset(sqt, 0, sizeof(*sqt));
	lock_sock(sk);
	connected = sk->sk_state == TCP_ESTABLISHED || sk->sk_state == TCP_CLOSE_WAIT;
	if (peer) {
		if (!connected || qs->service == QT_SVC_UDP_SERVICE)
			err = -ENOTCONN;
		else
			qt_fill_name(sqt, qs, qs->host, qs->port);
	} else if (!qs->modem || (!connected && !qs->bound &&
				  sk->sk_state != TCP_LISTEN)) {
		err = -ENOTCONN;
	} else {
		spin_lock(&qs->modem->conn_lock);
		strscpy(ip, qs->modem->ctx_ip[qs->ctx], sizeof(ip));
		spin_unlock(&qs->modem->conn_lock);
		qt_fill_name(sqt, qs, ip, qs->local_port);
	}
	release_sock(sk);
	return err;
}

int qt_sock_ioctl(struct socket *sock, unsigned int cmd, unsigned long arg)
{
	struct sock *sk = sock->sk;
	struct qt_sock *qs = qt_sk(sk);
	struct qt_modem *modem = NULL;
	struct sk_buff *skb;
	int amount, id = -1;

	switch (cmd) {
	case SIOCINQ:
		lock_sock(sk);
		if (sk->sk_type == SOCK_DGRAM) {
			/* As UDP: the size of the next datagram. */
			skb = skb_peek(&sk->sk_receive_queue);
			amount = skb ? skb->len : 0;
		} else {
			amount = qs->rx_queued;
		}
		release_sock(sk);
		break;
	case SIOCOUTQ:
		lock_sock(sk);
		amount = qs->tx_queued;
		if (sk->sk_state == TCP_ESTABLISHED && qs->modem &&
		    qs->service == QT_SVC_TCP) {
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

/*
 * QT_ACCESS_MODE: stored before the connectID opens; on a live connection
 * the engine switches it (AT+QISWTMD) and this waits for the result.
 * Process context.
 */
static int qt_sock_set_mode(struct sock *sk, int mode)
{
	struct qt_sock *qs = qt_sk(sk);
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	long timeo;
	int err = 0;

	if (mode < QT_MODE_BUFFER || mode > QT_MODE_TRANSPARENT)
		return -EINVAL;

	lock_sock(sk);
	switch (sk->sk_state) {
	case TCP_CLOSE:
		if (qs->id >= 0) {
			err = -EBUSY;	/* still closing its last connection */
			break;
		}
		qs->mode = mode;
		qs->mode_wanted = mode;
		break;
	case TCP_ESTABLISHED:
		if (mode == qs->mode)
			break;
		/* The module has no transparent listener or UDP service. */
		if ((mode == QT_MODE_TRANSPARENT && qs->service == QT_SVC_UDP_SERVICE) ||
		    qt_legacy(qs->modem)) {
			/* (The legacy set runs its connections in buffer mode.) */
			err = -EOPNOTSUPP;
			break;
		}
		/* One connection owns the line at a time: refused at once. */
		if (mode == QT_MODE_TRANSPARENT && qt_raw_busy(qs->modem, qs->id)) {
			err = -EBUSY;
			break;
		}
		qs->mode_wanted = mode;
		qt_conn_kick(qs->modem);
		timeo = sock_sndtimeo(sk, false);
		add_wait_queue(sk_sleep(sk), &wait);
		while (qs->mode_wanted != qs->mode && sk->sk_state == TCP_ESTABLISHED) {
			err = qt_wait_error(sk, timeo);
			if (err)
				break;
			sk_wait_event(sk, &timeo, qs->mode_wanted == qs->mode ||
				      sk->sk_err || sk->sk_state != TCP_ESTABLISHED, &wait);
		}
		remove_wait_queue(sk_sleep(sk), &wait);
		if (!err)
			err = qs->mode == mode ? 0 : qs->mode_err ?: -ENOTCONN;
		break;
	case TCP_LISTEN:
		err = -EISCONN;		/* incoming connections take it */
		break;
	case TCP_SYN_SENT:
		err = -EALREADY;
		break;
	default:
		err = -ENOTCONN;
		break;
	}
	release_sock(sk);
	return err;
}

int qt_sock_setsockopt(struct socket *sock, int level, int optname,
		       sockptr_t optval, unsigned int optlen)
{
	int val;

	if (level != SOL_QUECTEL)
		return -ENOPROTOOPT;
	switch (optname) {
	case QT_ACCESS_MODE:
		if (optlen < sizeof(int))
			return -EINVAL;
		if (copy_from_sockptr(&val, optval, sizeof(val)))
			return -EFAULT;
		return qt_sock_set_mode(sock->sk, val);
	default:
		return -ENOPROTOOPT;	/* and the read-only ones */
	}
}

int qt_sock_getsockopt(struct socket *sock, int level, int optname,
		       char __user *optval, int __user *optlen)
{
	struct sock *sk = sock->sk;
	struct qt_sock *qs = qt_sk(sk);
	int len, size = sizeof(int);
	u64 val;

	if (level != SOL_QUECTEL)
		return -ENOPROTOOPT;
	if (get_user(len, optlen))
		return -EFAULT;

	lock_sock(sk);
	switch (optname) {
	case QT_CONNECT_ID:
		val = qs->id;
		break;
	case QT_ACCESS_MODE:
		val = qs->mode;
		break;
	case QT_RX_DROPPED:
		val = qs->rx_dropped;
		size = sizeof(u64);
		break;
	default:
		size = 0;
		break;
	}
	release_sock(sk);
	if (!size)
		return -ENOPROTOOPT;
	if (len < size)
		return -EINVAL;
	if (put_user(size, optlen))
		return -EFAULT;
	if (size == sizeof(u64))
		return copy_to_user(optval, &val, size) ? -EFAULT : 0;
	return put_user((int)val, (int __user *)optval);
}

/*
 * Let go of the connection of a socket being closed, or of an accepted
 * connection nobody will accept(): the engine flushes what is queued, then
 * AT+QICLOSE. Socket lock held.
 */
void qt_sock_release_conn(struct qt_sock *qs)
{
	struct sock *sk = &qs->sk;

	if (sk->sk_state == TCP_SYN_SENT) {
		qt_abandon_open(qs);
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
		qs->close_wanted = true;
		if (qs->modem)
			qt_conn_kick(qs->modem);
	}
	sk->sk_shutdown = SHUTDOWN_MASK;
}

/* Process context. */
int qt_sock_release(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct qt_sock *qs;
	LIST_HEAD(unaccepted);

	if (!sk)
		return 0;
	qs = qt_sk(sk);

	lock_sock(sk);
	if (sk->sk_state == TCP_LISTEN)
		sk->sk_state = TCP_CLOSE;
	/* The engine queues no more children on a socket not listening. */
	list_splice_init(&qs->accept_q, &unaccepted);
	sk->sk_ack_backlog = 0;
	qt_sock_release_conn(qs);
	qt_unbind(qs);
	sock_orphan(sk);
	sock->sk = NULL;
	release_sock(sk);
	qt_listener_close_queue(&unaccepted);
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
 * A new AF_QUECTEL sock: for socket(2) (@sock set) or for an incoming
 * connection (@sock NULL, @type given). Process context.
 */
struct sock *qt_sock_alloc(struct net *net, struct socket *sock, int type,
			   int kern)
{
	struct qt_sock *qs;
	struct sock *sk;

	sk = sk_alloc(net, qt_family, GFP_KERNEL, &qt_proto, kern);
	if (!sk)
		return NULL;

	sock_init_data(sock, sk);
	sk->sk_type = type;
	sk->sk_protocol = 0;
	sk->sk_destruct = qt_sock_destruct;
	sk->sk_sndbuf = QT_DEFAULT_BUF;
	sk->sk_rcvbuf = QT_DEFAULT_BUF;
	sk->sk_state = TCP_CLOSE;
	qs = qt_sk(sk);
	qs->id = -1;
	INIT_LIST_HEAD(&qs->bind_node);
	INIT_LIST_HEAD(&qs->accept_q);
	INIT_LIST_HEAD(&qs->accept_node);
	return sk;
}

/* Process context: socket(2). */
static int qt_sock_create(struct net *net, struct socket *sock, int protocol,
			  int kern)
{
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

	if (!qt_sock_alloc(net, sock, sock->type, kern))
		return -ENOMEM;
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
