// SPDX-License-Identifier: GPL-2.0
/*
 * quectel.ko: AF_QUECTEL sockets over a Quectel modem's AT command port.
 *
 * Module entry and parameters only; see qt.h for the object model.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/quectel.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/tty.h>
#include <linux/workqueue.h>

#include "qt.h"

int qt_ldisc_num = N_QUECTEL;
module_param_named(ldisc, qt_ldisc_num, int, 0444);
MODULE_PARM_DESC(ldisc, "line discipline number (default 29, N_DEVELOPMENT)");

struct workqueue_struct *qt_wq;

char *qt_apn = "";
module_param_named(apn, qt_apn, charp, 0444);
MODULE_PARM_DESC(apn, "APN for PDP contexts the module activates (empty: the network's default)");

int qt_default_context = 1;
module_param_named(context, qt_default_context, int, 0444);
MODULE_PARM_DESC(context, "PDP context of sockets that name none (1..16, default 1)");

/*
 * The command set of modems attached from now on: "auto" (from the model
 * ATI reports), "modern" or "legacy". A modem keeps what it was attached
 * with unless netlink changes it (qtctl dialect).
 */
int qt_dialect_forced = QT_DIALECT_AUTO;

static int qt_dialect_param_set(const char *val, const struct kernel_param *kp)
{
	int choice = qt_dialect_parse(val);

	if (choice < 0)
		return choice;
	WRITE_ONCE(qt_dialect_forced, choice);
	return 0;
}

static int qt_dialect_param_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", qt_dialect_choice_name(READ_ONCE(qt_dialect_forced)));
}

static const struct kernel_param_ops qt_dialect_param_ops = {
	.set = qt_dialect_param_set,
	.get = qt_dialect_param_get,
};
module_param_cb(dialect, &qt_dialect_param_ops, NULL, 0644);
MODULE_PARM_DESC(dialect, "command set: auto (from the model), modern or legacy");

int qt_family = AF_QUECTEL;
module_param_named(family, qt_family, int, 0444);
MODULE_PARM_DESC(family, "socket address family number (default 25)");

static int __init qt_init(void)
{
	int err;

	BUILD_BUG_ON(sizeof(struct sockaddr_qt) > sizeof(struct sockaddr_storage));

	if (qt_ldisc_num <= 0 || qt_ldisc_num >= NR_LDISCS) {
		pr_err("quectel: ldisc %d out of range 1..%d\n",
		       qt_ldisc_num, NR_LDISCS - 1);
		return -EINVAL;
	}
	if (qt_default_context < 1 || qt_default_context > QT_MAX_CTX) {
		pr_err("quectel: context %d out of range 1..%d\n",
		       qt_default_context, QT_MAX_CTX);
		return -EINVAL;
	}
	if (qt_family <= 0 || qt_family >= NPROTO) {
		pr_err("quectel: family %d out of range 1..%d\n",
		       qt_family, NPROTO - 1);
		return -EINVAL;
	}

	/* Bring-up sleeps for minutes: an unbound queue of our own. */
	qt_wq = alloc_workqueue("quectel", WQ_UNBOUND, 0);
	if (!qt_wq)
		return -ENOMEM;

	err = qt_proc_register();
	if (err)
		goto err_wq;

	err = qt_sock_register();
	if (err)
		goto err_proc;

	err = qt_genl_register();
	if (err)
		goto err_sock;

	err = qt_ldisc_register();
	if (err)
		goto err_genl;

	return 0;

err_genl:
	qt_genl_unregister();
err_sock:
	qt_sock_unregister();
err_proc:
	qt_proc_unregister();
err_wq:
	destroy_workqueue(qt_wq);
	return err;
}

static void __exit qt_exit(void)
{
	/*
	 * Every attached tty holds a module reference through the ldisc
	 * owner and every socket through its proto_ops owner, so nothing
	 * can be live here: unregister in the reverse order of init.
	 */
	qt_ldisc_unregister();
	qt_genl_unregister();
	qt_sock_unregister();
	qt_proc_unregister();
	destroy_workqueue(qt_wq);
}

module_init(qt_init);
module_exit(qt_exit);

MODULE_DESCRIPTION("AF_QUECTEL sockets over Quectel modem AT commands");
MODULE_LICENSE("GPL");
