// SPDX-License-Identifier: GPL-2.0
/*
 * Transparent access mode: one connection owns the modem's line and its
 * bytes go raw both ways; the kernel sends no AT command meanwhile. The
 * contract is docs/SOCKETS.md ("Access modes").
 *
 * Entering: AT+QIOPEN or AT+QISWTMD answered "CONNECT" (at_chan.c puts the
 * parser in raw mode). Leaving, when the socket closes or changes mode:
 * the send queue drains, 1 s of silence, "+++", 1 s of silence, "OK"
 * (the notes' escape). Payload may hold the very bytes of "OK" or of
 * "NO CARRIER" (which the module prints when the call drops): so a tail
 * that may be either is held back until what follows decides, and a whole
 * "NO CARRIER" that nothing follows for 1 s is checked with the escape:
 * an "OK" means the call is up (the held bytes were payload; ATO goes
 * back in), silence that the module is in command mode already.
 *
 * Received bytes go through the direct-push queue of the connectID
 * (conn.c): into the socket, or dropped and counted when it has no room.
 */
#include <linux/jiffies.h>
#include <net/tcp_states.h>

#include "qt.h"

#define QT_GUARD_MS		1000	/* silence before and after "+++" */
#define QT_GUARD_SLACK_MS	100
#define QT_ESCAPE_WAIT_MS	3000	/* for the OK, after the second guard */
#define QT_SUSPECT_MS		1000	/* NO CARRIER and then nothing */
#define QT_HOLD_MS		20	/* a start of one and then nothing */
#define QT_DRAIN_POLL_MS	50	/* is the output at the module yet? */
#define QT_DRAIN_SETTLE_MS	200	/* the tty's room steady this long */

static const char qt_no_carrier[] = "\r\nNO CARRIER\r\n";
static const char qt_ok[] = "\r\nOK\r\n";

void qt_raw_init(struct qt_modem *modem)
{
	modem->raw.id = -1;
}

/* The line became connectID @id's. chan->lock held (parser callback). */
void qt_raw_entered(struct qt_modem *modem, int id)
{
	struct qt_raw *raw = &modem->raw;

	spin_lock(&modem->conn_lock);
	raw->id = id;
	raw->state = QT_RAW_DATA;
	raw->left = false;
	raw->suspect = false;
	raw->last_tx = jiffies;
	/* Nothing of an earlier connection's tail may stay held. */
	raw->held_pending = 0;
	spin_unlock(&modem->conn_lock);
	raw->held_len = 0;
	qt_conn_kick(modem);
}

/* Does transparent connectID other than @id own the line? Any context. */
bool qt_raw_busy(struct qt_modem *modem, int id)
{
	int owner = READ_ONCE(modem->raw.id);

	return owner >= 0 && owner != id;
}

/* Bytes reached the tty. Process context (the transmit work). */
void qt_raw_tx_done(struct qt_modem *modem, unsigned int n)
{
	spin_lock(&modem->conn_lock);
	modem->raw.last_tx = jiffies;
	spin_unlock(&modem->conn_lock);
	qt_conn_kick(modem);
}

/* Where @pat first occurs in @buf, or -1. */
static long qt_find(const u8 *buf, size_t len, const char *pat, size_t plen)
{
	size_t i;

	for (i = 0; i + plen <= len; i++)
		if (!memcmp(buf + i, pat, plen))
			return i;
	return -1;
}

/* The longest tail of @buf that is a start of @pat (the whole of it too). */
static size_t qt_tail_prefix(const u8 *buf, size_t len, const char *pat, size_t plen)
{
	size_t k;

	for (k = min(len, plen); k; k--)
		if (!memcmp(buf + len - k, pat, k))
			return k;
	return 0;
}

/*
 * How many received bytes the line's owner can take now: its receive
 * buffer's room, less what is on the way there. SIZE_MAX when bytes must
 * be taken whatever the room: the socket is closing, changing mode or
 * shut for reading, or the escape is under way (its OK, or a NO CARRIER,
 * is behind them). chan->lock held.
 */
size_t qt_raw_rx_room(struct qt_modem *modem)
{
	struct qt_raw *raw = &modem->raw;
	size_t room = SIZE_MAX;
	unsigned int used, cap;
	struct qt_sock *qs;
	int id;

	lockdep_assert_held(&modem->chan.lock);
	spin_lock(&modem->conn_lock);
	id = raw->id;
	if (id >= 0 && raw->state == QT_RAW_DATA && !raw->suspect) {
		qs = modem->slots[id].qs;
		if (qs && !READ_ONCE(qs->close_wanted) &&
		    READ_ONCE(qs->mode_wanted) == QT_MODE_TRANSPARENT &&
		    !(READ_ONCE(qs->sk.sk_shutdown) & RCV_SHUTDOWN)) {
			cap = READ_ONCE(qs->sk.sk_rcvbuf);
			used = READ_ONCE(qs->rx_queued) + modem->push_bytes[id] + raw->held_len;
			room = cap > used ? cap - used : 0;
		}
	}
	spin_unlock(&modem->conn_lock);
	return room;
}

/*
 * Bytes from the line in transparent mode. Parser payload callback:
 * chan->lock held, process context (may sleep allocating).
 */
void qt_raw_rx(struct qt_modem *modem, const u8 *data, size_t len)
{
	struct qt_raw *raw = &modem->raw;
	size_t held = raw->held_len, total = held + len, keep, plen;
	bool escaping, done = false;
	struct sk_buff *skb;
	const char *pat;
	long at;
	int id;

	lockdep_assert_held(&modem->chan.lock);
	spin_lock(&modem->conn_lock);
	id = raw->id;
	escaping = raw->state != QT_RAW_DATA;
	spin_unlock(&modem->conn_lock);
	if (id < 0)
		return;

	pat = escaping ? qt_ok : qt_no_carrier;
	plen = strlen(pat);
	skb = alloc_skb(total, GFP_KERNEL);
	if (!skb) {
		qt_conn_push_end(modem, id, len, NULL);	/* counted as dropped */
		return;
	}
	skb_put_data(skb, raw->held, held);
	skb_put_data(skb, data, len);
	raw->held_len = 0;

	at = escaping ? qt_find(skb->data, total, pat, plen) : -1;
	if (at >= 0) {
		/* Command mode: before the OK is payload, after it AT traffic. */
		size_t rest = at + plen - held;

		skb_trim(skb, at);
		qt_chan_raw_leave_locked(modem, data + rest, len - rest);
		done = true;
		keep = 0;
	} else {
		keep = qt_tail_prefix(skb->data, total, pat, plen);
		memcpy(raw->held, skb->data + total - keep, keep);
		raw->held_len = keep;
		skb_trim(skb, total - keep);
	}

	spin_lock(&modem->conn_lock);
	if (done)
		raw->left = true;
	raw->suspect = !escaping && keep == plen;
	raw->last_rx = jiffies;
	raw->held_pending = keep;
	spin_unlock(&modem->conn_lock);

	if (skb->len)
		qt_conn_push_end(modem, id, skb->len, skb);
	else
		kfree_skb(skb);
	if (done || keep)
		qt_conn_kick(modem);
}

/*
 * Nothing followed a held start of "NO CARRIER" for a moment: it was
 * payload. Worker, no socket lock held.
 */
void qt_raw_flush(struct qt_modem *modem)
{
	struct qt_raw *raw = &modem->raw;
	struct sk_buff *skb = NULL;
	int id;

	mutex_lock(&modem->chan.lock);
	spin_lock(&modem->conn_lock);
	id = raw->id;
	if (id >= 0 && raw->state == QT_RAW_DATA && !raw->suspect && raw->held_len &&
	    time_after_eq(jiffies, raw->last_rx + msecs_to_jiffies(QT_HOLD_MS))) {
		skb = alloc_skb(raw->held_len, GFP_ATOMIC);
		if (skb)
			skb_put_data(skb, raw->held, raw->held_len);
		raw->held_len = 0;
		raw->held_pending = 0;
	} else if (!raw->held_len) {
		raw->held_pending = 0;	/* taken meanwhile: nothing to flush */
	}
	spin_unlock(&modem->conn_lock);
	mutex_unlock(&modem->chan.lock);
	if (skb)
		qt_conn_push_end(modem, id, skb->len, skb);
}

/*
 * What the engine does next for the transparent connection: send, leave
 * (escape), act on having left, or wait (@next). Worker, socket lock held.
 */
enum qt_op qt_raw_next_op(struct qt_modem *modem, struct qt_sock *qs,
			  unsigned long *next)
{
	struct qt_raw *raw = &modem->raw;
	unsigned long now = jiffies, at;
	enum qt_raw_state state;
	bool left, suspect, leave;
	unsigned long last_rx, escape_at, last_tx;
	unsigned int held, room;

	spin_lock(&modem->conn_lock);
	state = raw->state;
	left = raw->left;
	suspect = raw->suspect;
	held = raw->held_pending;
	last_rx = raw->last_rx;
	escape_at = raw->escape_at;
	last_tx = raw->last_tx;
	spin_unlock(&modem->conn_lock);

	if (left)
		return QT_OP_RAW_AFTER;
	if (state != QT_RAW_DATA) {
		/* No OK in time: the module was in command mode already. */
		at = escape_at + msecs_to_jiffies(2 * QT_GUARD_MS + QT_ESCAPE_WAIT_MS);
		if (time_after_eq(now, at))
			return QT_OP_RAW_AFTER;
		qt_next_deadline(next, at);
		return QT_OP_NONE;
	}

	/* A start of NO CARRIER that nothing followed: payload after all. */
	if (held && !suspect) {
		at = last_rx + msecs_to_jiffies(QT_HOLD_MS);
		if (time_after_eq(now, at))
			return QT_OP_RAW_FLUSH;
		qt_next_deadline(next, at);
	}
	/* A NO CARRIER that nothing followed: check before sending more. */
	if (suspect) {
		at = last_rx + msecs_to_jiffies(QT_SUSPECT_MS);
		if (time_before(now, at)) {
			qt_next_deadline(next, at);
			return QT_OP_NONE;
		}
	}
	leave = suspect || qs->close_wanted || qs->mode_wanted != QT_MODE_TRANSPARENT;
	if (!suspect && qs->tx_queued) {
		if (time_before(now, raw->plus_until)) {
			qt_next_deadline(next, raw->plus_until);
			return QT_OP_NONE;
		}
		/*
		 * Room for a good part, or for all: else the transmit work
		 * kicks when the tty took more (no spinning on a slow line).
		 */
		room = qt_chan_raw_room(modem);
		return room >= min(qs->tx_queued, QT_OUT_MAX / 2U) ? QT_OP_RAW_TX : QT_OP_NONE;
	}
	if (!leave)
		return QT_OP_NONE;
	/*
	 * The escape needs the line silent for the guard time: counted from
	 * when the module has had every byte, not from when we wrote it.
	 */
	if (!qt_chan_out_drained(modem, QT_DRAIN_SETTLE_MS)) {
		spin_lock(&modem->conn_lock);
		raw->last_tx = now;
		spin_unlock(&modem->conn_lock);
		qt_next_deadline(next, now + msecs_to_jiffies(QT_DRAIN_POLL_MS));
		return QT_OP_NONE;
	}
	at = last_tx + msecs_to_jiffies(QT_GUARD_MS + QT_GUARD_SLACK_MS +
					qt_chan_unseen_ms(modem));
	if (time_before(now, at)) {
		qt_next_deadline(next, at);
		return QT_OP_NONE;
	}
	return QT_OP_RAW_ESCAPE;
}

/* Is @buf[0..n) one to three '+' and nothing else? */
static bool qt_only_pluses(const u8 *buf, unsigned int n)
{
	unsigned int i;

	if (!n || n > 3)
		return false;
	for (i = 0; i < n; i++)
		if (buf[i] != '+')
			return false;
	return true;
}

/*
 * Write queued bytes to the line. Payload must never be an escape: a
 * queue of only one to three '+' after a guard time of silence would be
 * one, so then one '+' goes and the rest after another guard time.
 * Worker.
 */
void qt_raw_tx(struct qt_modem *modem, struct qt_sock *qs)
{
	struct qt_raw *raw = &modem->raw;
	unsigned int room = qt_chan_raw_room(modem), n;
	unsigned long quiet;
	char dest[4];
	int w;

	lock_sock(&qs->sk);
	n = qt_tx_peek(qs, 0, raw->txbuf, room, dest, sizeof(dest));
	release_sock(&qs->sk);
	if (!n)
		return;
	spin_lock(&modem->conn_lock);
	quiet = raw->last_tx + msecs_to_jiffies(QT_GUARD_MS - QT_GUARD_SLACK_MS);
	spin_unlock(&modem->conn_lock);
	if (n == qs->tx_queued && qt_only_pluses(raw->txbuf, n) &&
	    time_after_eq(jiffies, quiet) && qt_chan_raw_room(modem) == QT_OUT_MAX) {
		n = 1;
		raw->plus_until = jiffies + msecs_to_jiffies(QT_GUARD_MS + QT_GUARD_SLACK_MS);
	}
	w = qt_chan_raw_write(modem, raw->txbuf, n);
	if (w <= 0)
		return;
	lock_sock(&qs->sk);
	qt_tx_consume(qs, w);
	release_sock(&qs->sk);
}

/* Leave the data: "+++" after the guard time. Worker. */
void qt_raw_escape(struct qt_modem *modem, struct qt_sock *qs)
{
	struct qt_raw *raw = &modem->raw;

	if (qt_chan_raw_write(modem, (const u8 *)"+++", 3) != 3)
		return;
	spin_lock(&modem->conn_lock);
	raw->state = raw->suspect ? QT_RAW_PROBING : QT_RAW_ESCAPING;
	raw->escape_at = jiffies;
	spin_unlock(&modem->conn_lock);
}

/* ATO: back into the data after a probe found the call up. Worker. */
static int qt_raw_resume(struct qt_modem *modem, int id)
{
	struct qt_cmd *cmd;
	int err;

	cmd = qt_cmd_alloc(GFP_KERNEL, "ATO");
	if (!cmd)
		return -ENOMEM;
	cmd->enter_raw = true;
	cmd->raw_id = id;
	err = qt_chan_exec(modem, cmd);
	if (!err && cmd->final != QT_FINAL_CONNECT)
		err = -ENOTCONN;
	qt_cmd_put(cmd);
	return err;
}

/*
 * After the escape: the module is in command mode. An OK to a probe: the
 * call is up, go back in. No OK: the call had dropped (NO CARRIER), the
 * connection reads EOF and closes. Else what the socket wanted: close, or
 * another access mode (AT+QISWTMD). Worker.
 */
void qt_raw_after(struct qt_modem *modem, struct qt_sock *qs, int id)
{
	struct qt_raw *raw = &modem->raw;
	bool ok, probed, lost = false;
	int mode, err = 0;

	spin_lock(&modem->conn_lock);
	ok = raw->left;
	probed = raw->state == QT_RAW_PROBING;
	raw->state = QT_RAW_DATA;
	raw->left = false;
	raw->suspect = false;
	spin_unlock(&modem->conn_lock);

	if (!ok) {
		/* The module took "+++" as the start of a line: finish it. */
		qt_chan_raw_off(modem);
		qt_chan_simple(modem, 0, "AT");
		lost = true;
	} else if (probed) {
		/* The held NO CARRIER was payload (delivered with the OK). */
		lost = qt_raw_resume(modem, id) != 0;
		if (!lost)
			return;
	}

	spin_lock(&modem->conn_lock);
	raw->id = -1;
	raw->held_len = 0;
	raw->held_pending = 0;
	spin_unlock(&modem->conn_lock);

	lock_sock(&qs->sk);
	mode = qs->mode_wanted;
	if (lost || qs->close_wanted) {
		/* As a closed connection in buffer mode: EOF, then AT+QICLOSE. */
		if (lost) {
			qs->peer_closed = true;
			qs->rx_pending = false;
		}
		qs->mode = QT_MODE_BUFFER;
		qs->mode_wanted = QT_MODE_BUFFER;
		mode = -1;
	}
	release_sock(&qs->sk);

	if (mode >= 0) {
		err = qt_chan_simple(modem, 0, "AT+QISWTMD=%d,%d", id, mode);
		if (err == -EIO)
			err = qt_conn_last_error(modem);
		if (!err && mode == QT_MODE_DIRECT_PUSH)
			qt_chan_set_push(modem, id, true);
		/* Refused: the connection stays in command mode, buffered. */
		qt_conn_set_mode(qs, id, err ? QT_MODE_BUFFER : mode, err);
	}
	qt_conn_kick(modem);
}
