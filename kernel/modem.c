// SPDX-License-Identifier: GPL-2.0
/*
 * A modem's life: creation on attach, lookup by index within a network
 * namespace, detach and release. See qt.h for the lifetime rules.
 */
#include <linux/idr.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/slab.h>

#include "qt.h"

static LIST_HEAD(qt_modems);
static DEFINE_MUTEX(qt_modems_lock);
static DEFINE_IDA(qt_modem_ida);

/* Process context. Writes whatever the tty accepts; later work drains. */
static void qt_modem_tx_work(struct work_struct *work)
{
	/*
	 * Nothing is queued for transmission yet: the command channel
	 * arrives with the core. The work exists so write_wakeup has its
	 * single, context-safe action from the start.
	 */
}

/* Process context, tty lock held (ldisc open). */
struct qt_modem *qt_modem_create(struct tty_struct *tty)
{
	struct qt_modem *modem;
	int index;

	modem = kzalloc(sizeof(*modem), GFP_KERNEL);
	if (!modem)
		return ERR_PTR(-ENOMEM);

	kref_init(&modem->kref);
	spin_lock_init(&modem->lock);
	INIT_WORK(&modem->tx_work, qt_modem_tx_work);
	write_pnet(&modem->net, get_net(current->nsproxy->net_ns));
	modem->tty = tty_kref_get(tty);
	modem->attached = true;

	mutex_lock(&qt_modems_lock);
	index = ida_alloc(&qt_modem_ida, GFP_KERNEL);
	if (index < 0) {
		mutex_unlock(&qt_modems_lock);
		goto err_free;
	}
	modem->index = index;
	snprintf(modem->name, sizeof(modem->name), "qm%d", index);
	list_add_tail(&modem->node, &qt_modems);
	mutex_unlock(&qt_modems_lock);

	return modem;

err_free:
	tty_kref_put(modem->tty);
	put_net(read_pnet(&modem->net));
	kfree(modem);
	return ERR_PTR(index);
}

static void qt_modem_release(struct kref *kref)
{
	struct qt_modem *modem = container_of(kref, struct qt_modem, kref);

	put_net(read_pnet(&modem->net));
	kfree(modem);
}

/* Process context; may sleep. */
void qt_modem_put(struct qt_modem *modem)
{
	kref_put(&modem->kref, qt_modem_release);
}

/*
 * Process context; may sleep. Returns a referenced modem of @net, or NULL.
 */
struct qt_modem *qt_modem_get_by_index(struct net *net, int index)
{
	struct qt_modem *modem, *found = NULL;

	mutex_lock(&qt_modems_lock);
	list_for_each_entry(modem, &qt_modems, node) {
		if (modem->index == index && net_eq(read_pnet(&modem->net), net)) {
			kref_get(&modem->kref);
			found = modem;
			break;
		}
	}
	mutex_unlock(&qt_modems_lock);
	return found;
}

/*
 * Process context (ldisc hangup or close). Idempotent: hangup detaches
 * first and close calls it again. Stops new entry, cancels the transmit
 * work, unlists the modem and lets go of the tty.
 */
void qt_modem_detach(struct qt_modem *modem)
{
	struct tty_struct *tty;
	unsigned long flags;

	spin_lock_irqsave(&modem->lock, flags);
	tty = modem->tty;
	modem->attached = false;
	modem->tty = NULL;
	spin_unlock_irqrestore(&modem->lock, flags);

	if (!tty)
		return;

	cancel_work_sync(&modem->tx_work);

	mutex_lock(&qt_modems_lock);
	list_del_init(&modem->node);
	ida_free(&qt_modem_ida, modem->index);
	mutex_unlock(&qt_modems_lock);

	tty_kref_put(tty);
}

/* Process context, serialized per tty (receive_buf). */
void qt_modem_rx(struct qt_modem *modem, const u8 *data, size_t len)
{
	modem->stats.rx_bytes += len;
}
