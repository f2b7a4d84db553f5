// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/quectel_modem: the modems of the reader's network namespace,
 * their bring-up state and counters, until the netlink control plane.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>

#include "qt.h"

static int qt_proc_modem_show(struct seq_file *seq, void *v)
{
	return qt_modems_show(seq, seq_file_single_net(seq));
}

static int __net_init qt_proc_net_init(struct net *net)
{
	if (!proc_create_net_single("quectel_modem", 0444, net->proc_net,
				    qt_proc_modem_show, NULL))
		return -ENOMEM;
	return 0;
}

static void __net_exit qt_proc_net_exit(struct net *net)
{
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
