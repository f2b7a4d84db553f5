// SPDX-License-Identifier: GPL-2.0
/*
 * AF_QUECTEL socket family: socket creation and release. The connection
 * operations arrive with the socket layer proper; until then every other
 * operation answers like a socket that does not support it.
 */
#include <linux/module.h>
#include <linux/net.h>
#include <linux/quectel.h>
#include <net/sock.h>

#include "qt.h"

struct qt_sock {
	struct sock sk;		/* must be first */
};

static struct proto qt_proto = {
	.name		= "QUECTEL",
	.owner		= THIS_MODULE,
	.obj_size	= sizeof(struct qt_sock),
};

/* Process context. */
static int qt_sock_release(struct socket *sock)
{
	struct sock *sk = sock->sk;

	if (!sk)
		return 0;

	lock_sock(sk);
	sock_orphan(sk);
	sock->sk = NULL;
	release_sock(sk);
	sock_put(sk);
	return 0;
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
	struct sock *sk;

	if (protocol != 0)
		return -EPROTONOSUPPORT;

	switch (sock->type) {
	case SOCK_STREAM:
	case SOCK_DGRAM:
		sock->ops = &qt_stream_ops;
		break;
	default:
		return -ESOCKTNOSUPPORT;
	}

	sk = sk_alloc(net, qt_family, GFP_KERNEL, &qt_proto, kern);
	if (!sk)
		return -ENOMEM;

	sock_init_data(sock, sk);
	sk->sk_protocol = protocol;
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
