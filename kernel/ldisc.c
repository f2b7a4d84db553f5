// SPDX-License-Identifier: GPL-2.0
/*
 * tty glue for the quectel line discipline: open, close, hangup,
 * receive_buf and write_wakeup. Everything protocol related lives in the
 * modem; this file only moves bytes and lifetimes across the tty boundary.
 */
#include <linux/capability.h>
#include <linux/module.h>
#include <linux/tty.h>
#include <linux/tty_ldisc.h>

#include "qt.h"

/*
 * Process context (TIOCSETD or ldattach), tty lock held. Attaching a modem
 * creates a network-visible object, so it needs CAP_NET_ADMIN, checked in
 * the attacher's own user namespace like every other network admin action.
 */
static int qt_ldisc_open(struct tty_struct *tty)
{
	struct qt_modem *modem;

	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	if (!tty->ops->write)
		return -EOPNOTSUPP;

	modem = qt_modem_create(tty);
	if (IS_ERR(modem))
		return PTR_ERR(modem);

	tty->disc_data = modem;
	tty->receive_room = 65536;
	return 0;
}

/*
 * Process context, tty lock held. Called once per successful open(), also
 * after hangup(). No receive_buf() or write_wakeup() runs after it returns:
 * the tty core has flushed and stopped the buffer work before calling us.
 */
static void qt_ldisc_close(struct tty_struct *tty)
{
	struct qt_modem *modem = tty->disc_data;

	if (!modem)
		return;
	tty->disc_data = NULL;
	qt_modem_detach(modem);
	qt_modem_put(modem);
}

/*
 * Process context. The line is gone (modem unplugged, pty master closed):
 * detach now so callers fail at once instead of waiting for close().
 */
static void qt_ldisc_hangup(struct tty_struct *tty)
{
	struct qt_modem *modem = tty->disc_data;

	if (modem)
		qt_modem_detach(modem);
}

/*
 * Process context (the tty's buffer work in 6.1), serialized per tty.
 * @fp flags are ignored: a byte with a framing error is still fed to the
 * parser, which resynchronises on the next line end. Returns how many
 * bytes were taken: all, except in transparent mode without room (the
 * tty keeps the rest until qt_chan_rx_restart()).
 */
static int qt_ldisc_receive_buf2(struct tty_struct *tty,
				 const unsigned char *cp, const char *fp,
				 int count)
{
	struct qt_modem *modem = tty->disc_data;
	size_t taken = count;

	if (modem && count > 0)
		taken = qt_chan_rx(modem, cp, count);
	/*
	 * Something was taken. A pty keeps TTY_THROTTLED set so that this
	 * wakes the writer on the other side (the simulator), which may be
	 * waiting for room; on other ttys it is a no-op (as ppp_async does).
	 */
	if (taken)
		tty_unthrottle(tty);
	return taken;
}

/*
 * Any context, possibly hard interrupt (serial drivers call it from their
 * TX-empty interrupt): only schedule the transmit work.
 */
static void qt_ldisc_write_wakeup(struct tty_struct *tty)
{
	struct qt_modem *modem = tty->disc_data;

	clear_bit(TTY_DO_WRITE_WAKEUP, &tty->flags);
	if (modem)
		queue_work(qt_wq, &modem->chan.tx_work);
}

static struct tty_ldisc_ops qt_ldisc_ops = {
	.owner		= THIS_MODULE,
	.name		= "quectel",
	.open		= qt_ldisc_open,
	.close		= qt_ldisc_close,
	.hangup		= qt_ldisc_hangup,
	.receive_buf2	= qt_ldisc_receive_buf2,
	.write_wakeup	= qt_ldisc_write_wakeup,
};

int qt_ldisc_register(void)
{
	qt_ldisc_ops.num = qt_ldisc_num;
	return tty_register_ldisc(&qt_ldisc_ops);
}

void qt_ldisc_unregister(void)
{
	tty_unregister_ldisc(&qt_ldisc_ops);
}
