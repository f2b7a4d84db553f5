// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/quectel (one line per socket holding a connectID) and
 * /proc/net/quectel_modem (one line per modem), for the modems of the
 * reader's network namespace. Formats: docs/CONTROL.md.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>
#include <net/tcp_states.h>

#include "qt.h"

static const char *qt_proc_type(const struct qt_sock *qs)
{
	static const char *const names[] = {
		[QT_SVC_TCP]		= "TCP",
		[QT_SVC_UDP]		= "UDP",
		[QT_SVC_TCP_LISTENER]	= "TCP_LISTENER",
		[QT_SVC_UDP_SERVICE]	= "UDP_SERVICE",
	};

	return qs->accepted ? "TCP_INCOMING" : names[qs->service];
}

static const char *qt_proc_state(const struct qt_sock *qs)
{
	if (READ_ONCE(qs->close_wanted))
		return "CLOSING";
	switch (READ_ONCE(qs->sk.sk_state)) {
	case TCP_SYN_SENT:	return "SYN_SENT";
	case TCP_ESTABLISHED:	return "ESTABLISHED";
	case TCP_LISTEN:	return "LISTEN";
	case TCP_CLOSE_WAIT:	return "CLOSE_WAIT";
	default:		return "CLOSE";
	}
}

/* "host:port" or "[v6]:port"; "*" stands for an unknown host or port. */
static void qt_proc_addr(char *buf, size_t len, const char *host, u16 port)
{
	int n = snprintf(buf, len, strchr(host, ':') ? "[%s]:" : "%s:",
			 *host ? host : "*");

	if (port)
		snprintf(buf + n, len - n, "%u", port);
	else
		snprintf(buf + n, len - n, "*");
}

/* The sockets of one modem. Process context. */
static void qt_proc_modem_sockets(struct seq_file *seq, struct qt_modem *modem,
				  int *sl)
{
	char local[QT_HOST_MAX + 16], remote[QT_HOST_MAX + 16], ip[48];
	struct qt_sock *qs;
	struct sock *sk;
	int id;

	for (id = 0; id < QT_MAX_CONNS; id++) {
		spin_lock(&modem->conn_lock);
		qs = modem->slots[id].qs;
		/* An incoming slot's socket is its listener: not yet a line. */
		if (modem->slots[id].state == QT_SLOT_INCOMING)
			qs = NULL;
		if (qs) {
			sock_hold(&qs->sk);
			strscpy(ip, modem->ctx_ip[modem->slots[id].ctx], sizeof(ip));
		}
		spin_unlock(&modem->conn_lock);
		if (!qs)
			continue;
		sk = &qs->sk;

		qt_proc_addr(local, sizeof(local), ip, READ_ONCE(qs->local_port));
		if (qs->service == QT_SVC_TCP_LISTENER || qs->service == QT_SVC_UDP_SERVICE)
			qt_proc_addr(remote, sizeof(remote), "", 0);
		else
			qt_proc_addr(remote, sizeof(remote), qs->host, qs->port);
		seq_printf(seq, "%4d %-5s %3d %-12s %-12s %-21s %-21s %8u %8u %5u %8lu %8llu\n",
			   (*sl)++, modem->name, id, qt_proc_type(qs), qt_proc_state(qs),
			   local, remote, READ_ONCE(qs->tx_queued), READ_ONCE(qs->rx_queued),
			   from_kuid_munged(seq_user_ns(seq), sock_i_uid(sk)),
			   sock_i_ino(sk), READ_ONCE(qs->rx_dropped));
		sock_put(sk);
	}
}

static int qt_proc_sockets_show(struct seq_file *seq, void *v)
{
	struct net *net = seq_file_single_net(seq);
	struct qt_modem *modem;
	int index = 0, sl = 0;

	seq_printf(seq, "%4s %-5s %3s %-12s %-12s %-21s %-21s %8s %8s %5s %8s %8s\n",
		   "sl", "modem", "id", "type", "state", "local_address",
		   "remote_address", "tx_queue", "rx_queue", "uid", "inode", "drops");
	while ((modem = qt_modem_get_next(net, index))) {
		qt_proc_modem_sockets(seq, modem, &sl);
		index = modem->index + 1;
		qt_modem_put(modem);
	}
	return 0;
}

static int qt_proc_modem_show(struct seq_file *seq, void *v)
{
	return qt_modems_show(seq, seq_file_single_net(seq));
}

static int __net_init qt_proc_net_init(struct net *net)
{
	if (!proc_create_net_single("quectel_modem", 0444, net->proc_net,
				    qt_proc_modem_show, NULL))
		return -ENOMEM;
	if (!proc_create_net_single("quectel", 0444, net->proc_net,
				    qt_proc_sockets_show, NULL)) {
		remove_proc_entry("quectel_modem", net->proc_net);
		return -ENOMEM;
	}
	return 0;
}

static void __net_exit qt_proc_net_exit(struct net *net)
{
	remove_proc_entry("quectel", net->proc_net);
	remove_proc_entry("quectel_modem", net->proc_net);
}

static struct pernet_operations qt_proc_net_ops = {
	.init = qt_proc_net_init,
	.exit = qt_proc_net_exit,
};

int qt_proc_register(void)
{
	return register_pernet_subsys(&qt_proc_net_ops);
}

void qt_proc_unregister(void)
{
	unregister_pernet_subsys(&qt_proc_net_ops);
}
