/* SPDX-License-Identifier: GPL-2.0 */
/*
 * quectel.ko internal interfaces.
 *
 * Objects and lifetime
 * --------------------
 * struct qt_modem is one attached modem (one tty with our line discipline).
 * It is created by the ldisc open() and reference counted (kref):
 *   - the tty holds one reference from open() until close();
 *   - every user that finds the modem through qt_modem_get_by_index()
 *     holds one until qt_modem_put().
 * The modem is on qt_modems (under qt_modems_lock) from open() until the
 * start of close(); a modem off the list can no longer be found.
 * ->tty is valid only while ->attached is true; close() clears it under
 * ->lock, so every user of ->tty takes ->lock and checks ->attached.
 *
 * Teardown order (close and hangup): mark detached (no new entry), cancel
 * work, wake and fail every waiter, unlist, drop the tty's reference; the
 * last qt_modem_put() frees.
 *
 * Locking
 * -------
 * qt_modems_lock (mutex)  protects the list of modems and index allocation.
 * qt_modem.lock (spinlock) protects ->tty and ->attached; taken from
 *                          process context and from write_wakeup, which
 *                          may run in hard interrupt context (8250), so
 *                          it is always taken with irqsave.
 */
#ifndef QT_H
#define QT_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/tty.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>

#define QT_MODEM_NAME_LEN	16

struct qt_stats {
	u64 rx_bytes;		/* bytes received from the tty */
	u64 tx_bytes;		/* bytes written to the tty */
};

struct qt_modem {
	struct kref		kref;
	struct list_head	node;		/* on qt_modems */
	int			index;		/* N of qm<N> */
	char			name[QT_MODEM_NAME_LEN];
	possible_net_t		net;		/* namespace of the attacher */

	spinlock_t		lock;		/* see "Locking" above */
	struct tty_struct	*tty;		/* NULL once detached */
	bool			attached;

	struct work_struct	tx_work;	/* drains output to the tty */
	struct qt_stats		stats;
};

/* main.c: module parameters, resolved at load time. */
extern int qt_ldisc_num;
extern int qt_family;

/* modem.c */
struct qt_modem *qt_modem_create(struct tty_struct *tty);
void qt_modem_detach(struct qt_modem *modem);
void qt_modem_put(struct qt_modem *modem);
struct qt_modem *qt_modem_get_by_index(struct net *net, int index);
void qt_modem_rx(struct qt_modem *modem, const u8 *data, size_t len);

/* ldisc.c */
int qt_ldisc_register(void);
void qt_ldisc_unregister(void);

/* sock.c */
int qt_sock_register(void);
void qt_sock_unregister(void);

#endif /* QT_H */
