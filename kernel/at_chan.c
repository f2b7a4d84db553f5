// SPDX-License-Identifier: GPL-2.0
/*
 * The command channel: a queue of AT commands with one in flight, a
 * timeout per command, the payload written only after the "> " prompt,
 * and every URC dispatched to the modem whenever it arrives, in the middle
 * of another command's response included. See qt.h for locking.
 */
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tty_flip.h>

#include "qt.h"

/* Vendor-note timeouts (modern note, flow chart), in milliseconds. */
const unsigned int qt_default_timeout_ms[QT_TMO_NR] = {
	[QT_TMO_DEFAULT]	= 60000,
	[QT_TMO_QIACT]		= 150000,
	[QT_TMO_QIOPEN]		= 150000,
	[QT_TMO_QICLOSE]	= 10000,
	[QT_TMO_QIDEACT]	= 40000,
	[QT_TMO_CFUN]		= 15000,
	[QT_TMO_CGATT]		= 180000,
};

static const struct {
	const char *prefix;
	enum qt_tmo tmo;
} qt_tmo_prefixes[] = {
	{ "AT+QIACT=", QT_TMO_QIACT },
	{ "AT+QIOPEN=", QT_TMO_QIOPEN },
	{ "AT+QICLOSE=", QT_TMO_QICLOSE },
	{ "AT+QIDEACT=", QT_TMO_QIDEACT },
	{ "AT+CFUN=", QT_TMO_CFUN },
	{ "AT+CGATT=", QT_TMO_CGATT },
};

/* The legacy dialect's context commands take no argument. */
static const struct {
	const char *line;
	enum qt_tmo tmo;
} qt_tmo_lines[] = {
	{ "AT+QIACT", QT_TMO_QIACT },
	{ "AT+QIDEACT", QT_TMO_QIDEACT },
};

/* Which timeout class a command line belongs to. Any context. */
enum qt_tmo qt_cmd_timeout_class(const char *line)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(qt_tmo_lines); i++)
		if (!strcmp(line, qt_tmo_lines[i].line))
			return qt_tmo_lines[i].tmo;
	for (i = 0; i < ARRAY_SIZE(qt_tmo_prefixes); i++)
		if (!strncmp(line, qt_tmo_prefixes[i].prefix,
			     strlen(qt_tmo_prefixes[i].prefix)))
			return qt_tmo_prefixes[i].tmo;
	return QT_TMO_DEFAULT;
}

/*
 * Allocate a command whose line is printed from @fmt (without the CR).
 * Returns NULL if out of memory or if the line does not fit. Lines built
 * from user strings must have been validated by the caller.
 */
static __printf(2, 0) struct qt_cmd *qt_cmd_valloc(gfp_t gfp, const char *fmt,
						   va_list ap)
{
	struct qt_cmd *cmd;
	int len;

	cmd = kzalloc(sizeof(*cmd), gfp);
	if (!cmd)
		return NULL;
	len = vsnprintf(cmd->line, sizeof(cmd->line), fmt, ap);
	if (len <= 0 || len >= sizeof(cmd->line)) {
		kfree(cmd);
		return NULL;
	}
	kref_init(&cmd->kref);
	INIT_LIST_HEAD(&cmd->node);
	init_completion(&cmd->completion);
	cmd->line_len = len;
	cmd->result_id = -1;
	return cmd;
}

struct qt_cmd *qt_cmd_alloc(gfp_t gfp, const char *fmt, ...)
{
	struct qt_cmd *cmd;
	va_list ap;

	va_start(ap, fmt);
	cmd = qt_cmd_valloc(gfp, fmt, ap);
	va_end(ap);
	return cmd;
}

static void qt_cmd_release(struct kref *kref)
{
	struct qt_cmd *cmd = container_of(kref, struct qt_cmd, kref);

	if (cmd->after)
		qt_cmd_put(cmd->after);	/* it never reached the wire */
	kfree(cmd->payload);
	kfree(cmd);
}

/* Any context. */
void qt_cmd_put(struct qt_cmd *cmd)
{
	kref_put(&cmd->kref, qt_cmd_release);
}

/*
 * Record the result and move the command to chan->done: completion runs
 * callbacks that may take other locks, so it happens after chan->lock is
 * dropped (qt_chan_unlock). @cmd is no longer queued or in flight.
 */
static void qt_cmd_finish(struct qt_chan *chan, struct qt_cmd *cmd, int status)
{
	lockdep_assert_held(&chan->lock);
	cmd->status = status;
	cmd->ended = true;
	list_add_tail(&cmd->node, &chan->done);
}

/*
 * Drop chan->lock, then wake the waiters of the commands finished under
 * it, run their callbacks and drop the channel's references. Every unlock
 * in this file comes here, not only the obvious ones: starting the next
 * command may finish it at once (qt_chan_start_next() cancels a gated
 * command whose predecessor failed, also when called by the submitter),
 * and a command left on chan->done would keep its waiter asleep.
 */
static void qt_chan_unlock(struct qt_chan *chan)
{
	struct qt_cmd *cmd, *tmp;
	LIST_HEAD(done);

	lockdep_assert_held(&chan->lock);
	list_splice_init(&chan->done, &done);
	mutex_unlock(&chan->lock);

	list_for_each_entry_safe(cmd, tmp, &done, node) {
		list_del_init(&cmd->node);
		cmd->done = true;
		if (cmd->on_done)
			cmd->on_done(cmd);
		complete_all(&cmd->completion);
		qt_cmd_put(cmd);
	}
}

/* Add @buf to the output buffer. Caller holds chan->lock. */
static void qt_chan_out_add(struct qt_chan *chan, const void *buf,
			    unsigned int len)
{
	lockdep_assert_held(&chan->lock);
	if (chan->out_off == chan->out_len)
		chan->out_off = chan->out_len = 0;
	if (WARN_ON_ONCE(len > QT_OUT_MAX - chan->out_len))
		return;
	memcpy(chan->out + chan->out_len, buf, len);
	chan->out_len += len;
}

/*
 * Hand the tty what it accepts of the output buffer; when it takes less,
 * its write_wakeup brings the transmit work back for the rest. Caller
 * holds chan->lock, in process context: the submitter, the tty's receive
 * work (a prompt, or the command after a final result) or the transmit
 * work. Returns the bytes written.
 */
static int qt_chan_out_flush(struct qt_modem *modem)
{
	struct qt_chan *chan = &modem->chan;
	struct tty_struct *tty = modem->tty;
	int n;

	lockdep_assert_held(&chan->lock);
	if (chan->dead || chan->out_off == chan->out_len)
		return 0;
	set_bit(TTY_DO_WRITE_WAKEUP, &tty->flags);
	n = tty->ops->write(tty, chan->out + chan->out_off,
			    chan->out_len - chan->out_off);
	if (n <= 0)
		return 0;
	chan->out_off += n;
	if (chan->out_off == chan->out_len) {
		chan->out_off = chan->out_len = 0;
		clear_bit(TTY_DO_WRITE_WAKEUP, &tty->flags);
	}
	spin_lock(&modem->state_lock);
	modem->stats.tx_bytes += n;
	spin_unlock(&modem->state_lock);
	return n;
}

/*
 * Queue @buf for the tty and write it at once: a command line or its
 * payload goes out from the context that made it, without a trip through
 * the transmit work, which would add a scheduling delay to every round
 * trip of the data path. Caller holds chan->lock; command mode only
 * (transparent bytes go through qt_chan_raw_write()).
 */
static void qt_chan_write(struct qt_modem *modem, const void *buf,
			  unsigned int len)
{
	qt_chan_out_add(&modem->chan, buf, len);
	qt_chan_out_flush(modem);
}

/* Put the next queued command on the wire. Caller holds chan->lock. */
static void qt_chan_start_next(struct qt_modem *modem)
{
	struct qt_chan *chan = &modem->chan;
	struct qt_cmd *cmd;

	lockdep_assert_held(&chan->lock);
again:
	if (chan->inflight || chan->dead || chan->raw || list_empty(&chan->queue))
		return;

	cmd = list_first_entry(&chan->queue, struct qt_cmd, node);
	list_del_init(&cmd->node);
	if (cmd->after) {
		/*
		 * Queued behind a command whose outcome decides whether this
		 * one may go: that command has ended (the queue is in order).
		 */
		bool go = cmd->after->ended && cmd->after_ok(cmd->after);

		qt_cmd_put(cmd->after);
		cmd->after = NULL;
		if (!go) {
			qt_cmd_finish(chan, cmd, -ECANCELED);
			goto again;
		}
	}
	chan->inflight = cmd;
	chan->prompt_wait = cmd->payload_len > 0;
	chan->deadline = jiffies + cmd->timeout;

	/* Both fit: line and CR are bounded by QT_CMD_LINE_MAX < QT_OUT_MAX. */
	qt_chan_out_add(chan, cmd->line, cmd->line_len);
	qt_chan_write(modem, "\r", 1);
	at_parser_expect_echo(&chan->parser, true);
	mod_delayed_work(qt_wq, &chan->timeout_work, cmd->timeout);
}

/*
 * Queue @cmd; the channel takes its own reference. Process context.
 * Returns -ENODEV once the modem is detached (nothing queued then).
 */
int qt_chan_submit(struct qt_modem *modem, struct qt_cmd *cmd)
{
	struct qt_chan *chan = &modem->chan;
	int err;

	if (!cmd->timeout)
		cmd->timeout = msecs_to_jiffies(
			READ_ONCE(modem->cmd_timeout_ms[qt_cmd_timeout_class(cmd->line)]));

	mutex_lock(&chan->lock);
	if (chan->dead || chan->raw) {
		/* Transparent: the line carries a connection's bytes. */
		err = chan->dead ? -ENODEV : -EBUSY;
		qt_chan_unlock(chan);
		return err;
	}
	kref_get(&cmd->kref);
	list_add_tail(&cmd->node, &chan->queue);
	qt_chan_start_next(modem);
	qt_chan_unlock(chan);
	return 0;
}

/*
 * Make @cmd go on the wire only if @prev, queued before it, ended so that
 * @ok(prev) says yes; otherwise @cmd completes with -ECANCELED, unsent.
 * This lets a caller queue its next command while one is on the wire (the
 * next AT+QISEND right after SEND OK) without losing order when the first
 * fails. Before submitting @cmd; any context.
 */
void qt_cmd_set_after(struct qt_cmd *cmd, struct qt_cmd *prev,
		      bool (*ok)(const struct qt_cmd *prev))
{
	kref_get(&prev->kref);
	cmd->after = prev;
	cmd->after_ok = ok;
}

/*
 * Wait for a submitted command. Process context; sleeps. The wait is
 * bounded by the command's timeout (the channel completes it then) and by
 * detach (which completes everything). Returns the command's status.
 */
int qt_chan_wait(struct qt_cmd *cmd)
{
	/*
	 * AT+QIACT may take 150 s: wake now and then so that a worker
	 * waiting this long is not reported as a hung task.
	 */
	while (!wait_for_completion_timeout(&cmd->completion, 30 * HZ))
		;
	return cmd->status;
}

/* Submit and wait for the result (qt_chan_wait()). Process context. */
int qt_chan_exec(struct qt_modem *modem, struct qt_cmd *cmd)
{
	int err = qt_chan_submit(modem, cmd);

	if (err) {
		cmd->status = err;
		return err;
	}
	return qt_chan_wait(cmd);
}

/*
 * Submit and wait at most @timeout jiffies, interruptibly: for callers
 * that answer a user (netlink) and must not hang behind a busy channel.
 * Process context. Returns the command's status, -ETIMEDOUT if it did not
 * finish in time or -EINTR on a signal; the command then still runs and
 * completes on its own (the channel holds a reference).
 */
int qt_chan_exec_wait(struct qt_modem *modem, struct qt_cmd *cmd, long timeout)
{
	long left;
	int err = qt_chan_submit(modem, cmd);

	if (err) {
		cmd->status = err;
		return err;
	}
	left = wait_for_completion_interruptible_timeout(&cmd->completion, timeout);
	if (left < 0)
		return -EINTR;
	if (!left)
		return -ETIMEDOUT;
	return cmd->status;
}

/*
 * Run a command with no interesting response lines. Returns 0 on OK,
 * -EIO on ERROR/CME/CMS, -ETIMEDOUT, -ENODEV... Process context; sleeps.
 */
int qt_chan_simple(struct qt_modem *modem, unsigned int timeout_ms,
		   const char *fmt, ...)
{
	struct qt_cmd *cmd;
	va_list ap;
	int err;

	va_start(ap, fmt);
	cmd = qt_cmd_valloc(GFP_KERNEL, fmt, ap);
	va_end(ap);
	if (!cmd)
		return -ENOMEM;
	cmd->timeout = msecs_to_jiffies(timeout_ms);

	err = qt_chan_exec(modem, cmd);
	if (!err && cmd->final != QT_FINAL_OK)
		err = -EIO;
	qt_cmd_put(cmd);
	return err;
}

/* Append a response line to the in-flight command. */
static void qt_cmd_add_line(struct qt_cmd *cmd, const struct at_token *tok)
{
	unsigned int room = sizeof(cmd->resp) - cmd->resp_len;

	/* Keep whole lines only: a cut line would parse as a wrong value. */
	if (tok->text_len + 2 > room)
		return;
	if (cmd->resp_len)
		cmd->resp[cmd->resp_len++] = '\n';
	memcpy(cmd->resp + cmd->resp_len, tok->text, tok->text_len);
	cmd->resp_len += tok->text_len;
	cmd->resp[cmd->resp_len] = '\0';
}

static enum qt_final qt_final_of(const struct at_token *tok)
{
	switch (tok->kind) {
	case AT_TOK_OK:		return QT_FINAL_OK;
	case AT_TOK_ERROR:	return QT_FINAL_ERROR;
	case AT_TOK_CME_ERROR:	return QT_FINAL_CME;
	case AT_TOK_CMS_ERROR:	return QT_FINAL_CMS;
	case AT_TOK_SEND_OK:	return QT_FINAL_SEND_OK;
	case AT_TOK_SEND_FAIL:	return QT_FINAL_SEND_FAIL;
	case AT_TOK_CONNECT:	return QT_FINAL_CONNECT;
	case AT_TOK_NO_CARRIER:	return QT_FINAL_NO_CARRIER;
	case AT_TOK_CLOSE_OK:	return QT_FINAL_CLOSE_OK;
	case AT_TOK_DEACT_OK:	return QT_FINAL_DEACT_OK;
	case AT_TOK_ALREADY_CONNECT:	return QT_FINAL_ALREADY_CONNECT;
	case AT_TOK_CONNECT_FAIL:	return QT_FINAL_CONNECT_FAIL;
	default:		return QT_FINAL_NONE;
	}
}

/*
 * A legacy "ALREADY CONNECT" or "CONNECT FAIL" that ends @cmd, an
 * AT+QIOPEN still waiting for its first answer (in multi-connection mode
 * these results carry the index it named). chan->lock held.
 */
static bool qt_legacy_ends_open(const struct qt_cmd *cmd, const struct at_token *tok)
{
	return cmd && cmd->result_id >= 0 && tok->kind != AT_TOK_CONNECT_OK &&
	       (tok->id == cmd->result_id || tok->id < 0);
}

/* Forget a direct-push payload the parser abandoned. chan->lock held. */
static void qt_chan_push_abort(struct qt_chan *chan)
{
	kfree_skb(chan->push_skb);
	chan->push_skb = NULL;
	chan->push_id = -1;
}

/*
 * "+QIURC: "recv",<id>,<len>" of a connectID in direct push mode starts a
 * payload for the connection engine, its end hands it over. chan->lock
 * held (parser callback).
 */
static void qt_chan_push_token(struct qt_modem *modem, const struct at_token *tok)
{
	struct qt_chan *chan = &modem->chan;

	lockdep_assert_held(&chan->lock);
	if (tok->kind == AT_TOK_PAYLOAD_BEGIN) {
		qt_chan_push_abort(chan);
		chan->push_skb = qt_conn_push_alloc(tok);
		chan->push_id = tok->id;
		chan->push_len = tok->len;
		return;
	}
	if (chan->push_id < 0)
		return;
	qt_conn_push_end(modem, chan->push_id, chan->push_len, chan->push_skb);
	chan->push_skb = NULL;
	chan->push_id = -1;
}

/*
 * "CONNECT" of a command that asked for transparent mode: from the next
 * byte on the line is connectID @id's. chan->lock held (parser callback).
 */
static void qt_chan_raw_enter(struct qt_modem *modem, int id)
{
	struct qt_chan *chan = &modem->chan;
	struct qt_cmd *cmd, *tmp;

	lockdep_assert_held(&chan->lock);
	at_parser_set_raw(&chan->parser, true);
	chan->raw = true;
	/* Nothing queued may go out in the middle of the data. */
	list_for_each_entry_safe(cmd, tmp, &chan->queue, node) {
		list_del_init(&cmd->node);
		qt_cmd_finish(chan, cmd, -EBUSY);
	}
	qt_raw_entered(modem, id);
}

/*
 * The module is in command mode again ("OK" after "+++"): tokenize, and
 * first the @len bytes at @rest that followed the OK in the input, which
 * must be valid until qt_chan_rx() returns. chan->lock held.
 */
void qt_chan_raw_leave_locked(struct qt_modem *modem, const u8 *rest, size_t len)
{
	struct qt_chan *chan = &modem->chan;

	lockdep_assert_held(&chan->lock);
	at_parser_set_raw(&chan->parser, false);
	chan->raw = false;
	chan->refeed = rest;
	chan->refeed_len = len;
	qt_chan_start_next(modem);
}

/* The same when the engine found the module in command mode. */
void qt_chan_raw_off(struct qt_modem *modem)
{
	mutex_lock(&modem->chan.lock);
	if (modem->chan.raw)
		qt_chan_raw_leave_locked(modem, NULL, 0);
	qt_chan_unlock(&modem->chan);
}

/*
 * Has everything written reached the other end of the line? Our buffer
 * and the driver's are empty (a UART drains them at the line rate), and
 * the tty's write room has not changed for @settle_ms (a pty's peer reads
 * at its link's pace, which shows as room coming back; the buffer the pty
 * keeps makes the room's full value unknown). The escape's guard time
 * counts from then, plus qt_chan_unseen_ms(). A pty reader that stopped
 * reading looks drained too: qtsim never stops while a line is
 * transparent (it times the escape as bytes arrive). Process context.
 */
bool qt_chan_out_drained(struct qt_modem *modem, unsigned int settle_ms)
{
	struct qt_chan *chan = &modem->chan;
	struct tty_struct *tty = modem->tty;
	unsigned long now = jiffies;
	unsigned int room;
	bool drained = false;

	mutex_lock(&chan->lock);
	if (chan->dead || chan->out_off != chan->out_len || tty_chars_in_buffer(tty)) {
		chan->room_changed = now;
	} else {
		room = tty_write_room(tty);
		if (room != chan->room_last) {
			chan->room_last = room;
			chan->room_changed = now;
		}
		drained = time_after_eq(now, chan->room_changed + msecs_to_jiffies(settle_ms));
	}
	qt_chan_unlock(chan);
	return drained;
}

/*
 * How long bytes may stay on the way to the module after the tty's write
 * room shows them gone. A pty hands them to its peer's line discipline,
 * which holds up to N_TTY_BUF_SIZE that the room does not count and the
 * peer (qtsim's UART model) takes at the line's rate; a serial driver's
 * chars_in_buffer covers its buffer. Process context.
 */
unsigned int qt_chan_unseen_ms(struct qt_modem *modem)
{
	struct tty_struct *tty = modem->tty;
	speed_t baud;

	if (tty->driver->type != TTY_DRIVER_TYPE_PTY)
		return 0;
	baud = tty_get_baud_rate(tty) ?: 38400;
	return min_t(u64, DIV_ROUND_UP_ULL((u64)N_TTY_BUF_SIZE * 10 * MSEC_PER_SEC, baud),
		     QT_UNSEEN_MAX_MS);
}

/* Room in the output buffer for transparent data. Process context. */
unsigned int qt_chan_raw_room(struct qt_modem *modem)
{
	struct qt_chan *chan = &modem->chan;
	unsigned int room;

	mutex_lock(&chan->lock);
	room = QT_OUT_MAX - (chan->out_len - chan->out_off);
	qt_chan_unlock(chan);
	return room;
}

/*
 * Write transparent data (or the "+++" escape): as much as the output
 * buffer takes. Process context. Returns the bytes taken, or -EPIPE once
 * the line is not transparent any more.
 */
int qt_chan_raw_write(struct qt_modem *modem, const u8 *buf, size_t len)
{
	struct qt_chan *chan = &modem->chan;
	unsigned int used;
	int n = -EPIPE;

	mutex_lock(&chan->lock);
	if (chan->raw && !chan->dead) {
		used = chan->out_len - chan->out_off;
		memmove(chan->out, chan->out + chan->out_off, used);
		chan->out_off = 0;
		chan->out_len = used;
		n = min_t(size_t, len, QT_OUT_MAX - used);
		memcpy(chan->out + used, buf, n);
		chan->out_len += n;
		queue_work(qt_wq, &chan->tx_work);
	}
	qt_chan_unlock(chan);
	return n;
}

static void qt_chan_complete(struct qt_modem *modem, struct qt_cmd *cmd,
			     enum qt_final final, int code);

/* Parser token callback: chan->lock held (qt_chan_rx). */
static void qt_chan_token(void *ctx, const struct at_token *tok)
{
	struct qt_modem *modem = ctx;
	struct qt_chan *chan = &modem->chan;
	struct qt_cmd *cmd = chan->inflight;

	lockdep_assert_held(&chan->lock);

	switch (tok->kind) {
	case AT_TOK_ECHO:
		return;
	case AT_TOK_PROMPT:
		if (cmd && chan->prompt_wait) {
			chan->prompt_wait = false;
			qt_chan_write(modem, cmd->payload, cmd->payload_len);
		}
		return;
	case AT_TOK_GARBAGE:
		return;		/* counted by the parser */
	case AT_TOK_URC:
		if (cmd && (tok->flags & AT_TOKF_MAYBE_RESPONSE) &&
		    cmd->resp_prefix &&
		    !strncmp(tok->text, cmd->resp_prefix, strlen(cmd->resp_prefix))) {
			qt_cmd_add_line(cmd, tok);
			return;
		}
		spin_lock(&modem->state_lock);
		modem->stats.urcs++;
		spin_unlock(&modem->state_lock);
		qt_modem_urc(modem, tok);
		return;
	case AT_TOK_PAYLOAD_BEGIN:
	case AT_TOK_PAYLOAD_END:
		if (tok->src == AT_PAY_QIRD || tok->src == AT_PAY_QIRD_UDP ||
		    tok->src == AT_PAY_LEGACY_QIRD) {
			if (cmd && tok->kind == AT_TOK_PAYLOAD_BEGIN)
				qt_cmd_add_line(cmd, tok);
			return;
		}
		if (tok->src == AT_PAY_PUSH || tok->src == AT_PAY_PUSH_UDP) {
			qt_chan_push_token(modem, tok);
			return;
		}
		qt_modem_urc(modem, tok);
		return;
	case AT_TOK_CONNECT_OK:
	case AT_TOK_CONNECT_FAIL:
	case AT_TOK_ALREADY_CONNECT:
		/* Legacy: the end of an AT+QIOPEN, or a connection's news. */
		if (qt_legacy_ends_open(cmd, tok))
			break;
		qt_legacy_result(modem, tok);
		return;
	default:
		if (tok->flags & AT_TOKF_FINAL)
			break;
		/* Information lines. */
		if (!cmd)
			return;
		qt_cmd_add_line(cmd, tok);
		if ((cmd->info_final && tok->kind == AT_TOK_INFO) ||
		    (cmd->ok_seen && !strncmp(tok->text, cmd->end_prefix,
					      strlen(cmd->end_prefix))))
			qt_chan_complete(modem, cmd, QT_FINAL_OK, -1);
		return;
	}

	if (!cmd)
		return;		/* a final nobody waits for (late, after a timeout) */
	if (cmd->end_prefix && tok->kind == AT_TOK_OK && !cmd->ok_seen) {
		cmd->ok_seen = true;	/* the answer follows the OK */
		return;
	}
	qt_chan_complete(modem, cmd, qt_final_of(tok), tok->code);
}

/*
 * The in-flight command @cmd is answered: @final (and error @code) ends
 * it, and the next command may go. chan->lock held (parser callback).
 */
static void qt_chan_complete(struct qt_modem *modem, struct qt_cmd *cmd,
			     enum qt_final final, int code)
{
	struct qt_chan *chan = &modem->chan;

	lockdep_assert_held(&chan->lock);
	cmd->final = final;
	cmd->code = code;
	chan->inflight = NULL;
	chan->prompt_wait = false;
	spin_lock(&modem->state_lock);
	modem->stats.commands++;
	spin_unlock(&modem->state_lock);
	qt_cmd_finish(chan, cmd, 0);
	if (cmd->enter_raw && cmd->final == QT_FINAL_CONNECT)
		qt_chan_raw_enter(modem, cmd->raw_id);
	else
		qt_chan_start_next(modem);
}

/* Parser payload callback: chan->lock held. QIRD data goes to its command. */
static void qt_chan_payload(void *ctx, const u8 *data, size_t len)
{
	struct qt_modem *modem = ctx;
	struct qt_cmd *cmd = modem->chan.inflight;

	lockdep_assert_held(&modem->chan.lock);
	if (modem->chan.raw) {
		qt_raw_rx(modem, data, len);
		return;
	}
	if (modem->chan.push_id >= 0) {
		struct sk_buff *skb = modem->chan.push_skb;

		if (skb)
			skb_put_data(skb, data, min_t(size_t, len, skb_tailroom(skb)));
		return;
	}
	if (cmd && cmd->on_payload)
		cmd->on_payload(cmd, data, len);
}

static const struct at_parser_ops qt_chan_parser_ops = {
	.token = qt_chan_token,
	.payload = qt_chan_payload,
};

/*
 * receive_buf2: process context, serialized per tty. Returns how many
 * bytes were taken. In transparent mode that is no more than the owning
 * socket has room for: a slow reader holds the line back (the tty keeps
 * the rest, its writer waits, a UART with flow control stops the module)
 * rather than losing data; qt_chan_rx_restart() resumes.
 */
size_t qt_chan_rx(struct qt_modem *modem, const u8 *data, size_t len)
{
	struct qt_chan *chan = &modem->chan;

	mutex_lock(&chan->lock);
	if (chan->raw && !chan->dead) {
		size_t room = qt_raw_rx_room(modem);

		if (room < len) {
			len = room;
			WRITE_ONCE(chan->rx_stopped, true);
		}
	}
	if (len && !chan->dead)
		at_parser_feed(&chan->parser, data, len);
	/* What followed the OK that ended transparent mode. */
	while (chan->refeed_len && !chan->dead) {
		const u8 *rest = chan->refeed;
		size_t n = chan->refeed_len;

		chan->refeed_len = 0;
		at_parser_feed(&chan->parser, rest, n);
	}
	chan->refeed_len = 0;
	qt_chan_unlock(chan);

	spin_lock(&modem->state_lock);
	modem->stats.rx_bytes += len;
	spin_unlock(&modem->state_lock);
	return len;
}

/*
 * Have the tty offer again what qt_chan_rx() left in it. Pushing the flip
 * buffer takes no lock (the tty's own lock would deadlock with a line
 * discipline change waiting for this work); with no room yet, the next
 * receive stops again. Worker.
 */
void qt_chan_rx_restart(struct qt_modem *modem)
{
	if (!READ_ONCE(modem->chan.rx_stopped))
		return;
	WRITE_ONCE(modem->chan.rx_stopped, false);
	tty_flip_buffer_push(modem->tty->port);
}

/* The in-flight command's time is up: fail it and go on. Process context. */
static void qt_chan_timeout_work(struct work_struct *work)
{
	struct qt_chan *chan = container_of(to_delayed_work(work),
					    struct qt_chan, timeout_work);
	struct qt_modem *modem = container_of(chan, struct qt_modem, chan);
	struct qt_cmd *cmd;

	mutex_lock(&chan->lock);
	cmd = chan->inflight;
	if (cmd && !chan->dead) {
		if (time_before(jiffies, chan->deadline)) {
			/* Re-armed for a newer command meanwhile. */
			mod_delayed_work(qt_wq, &chan->timeout_work,
					 chan->deadline - jiffies);
		} else {
			chan->inflight = NULL;
			chan->prompt_wait = false;
			/*
			 * A late answer must not complete the next command:
			 * drop any partial line and the echo expectation.
			 */
			at_parser_reset(&chan->parser);
			qt_chan_push_abort(chan);
			spin_lock(&modem->state_lock);
			modem->stats.timeouts++;
			spin_unlock(&modem->state_lock);
			qt_cmd_finish(chan, cmd, -ETIMEDOUT);
			qt_chan_start_next(modem);
			/* The notes: a command without a result, restart. */
			qt_modem_request_restart(modem, "a command got no answer in time");
		}
	}
	qt_chan_unlock(chan);
}

/*
 * Transparent bytes, and what the tty did not take at once: write what it
 * accepts now; write_wakeup brings us back for the rest. Process context
 * (module workqueue).
 */
void qt_chan_tx_work(struct work_struct *work)
{
	struct qt_chan *chan = container_of(work, struct qt_chan, tx_work);
	struct qt_modem *modem = container_of(chan, struct qt_modem, chan);
	bool raw;
	int n;

	mutex_lock(&chan->lock);
	n = qt_chan_out_flush(modem);
	raw = chan->raw;
	qt_chan_unlock(chan);

	/* The escape's guard time counts from here; room for more. */
	if (n > 0 && raw)
		qt_raw_tx_done(modem, n);
}

void qt_chan_init(struct qt_modem *modem)
{
	struct qt_chan *chan = &modem->chan;

	mutex_init(&chan->lock);
	INIT_LIST_HEAD(&chan->queue);
	INIT_LIST_HEAD(&chan->done);
	INIT_DELAYED_WORK(&chan->timeout_work, qt_chan_timeout_work);
	INIT_WORK(&chan->tx_work, qt_chan_tx_work);
	at_parser_init(&chan->parser, &qt_chan_parser_ops, modem);
	chan->push_id = -1;
}

/*
 * Whether the module pushes connectID @id's data in "recv" URCs (direct
 * push) or keeps it for AT+QIRD: how the parser reads "+QIURC: "recv"".
 * Set before the module may push. chan->lock held (parser callbacks).
 */
void qt_chan_set_push_locked(struct qt_modem *modem, int id, bool on)
{
	struct at_parser *p = &modem->chan.parser;

	lockdep_assert_held(&modem->chan.lock);
	if (on)
		at_parser_set_push(p, p->push_mask | BIT(id));
	else
		at_parser_set_push(p, p->push_mask & ~BIT(id));
}

/* The same, from process context without the channel's lock. */
void qt_chan_set_push(struct qt_modem *modem, int id, bool on)
{
	mutex_lock(&modem->chan.lock);
	qt_chan_set_push_locked(modem, id, on);
	qt_chan_unlock(&modem->chan);
}

/*
 * Fail the in-flight and every queued command with @err, e.g. -ECONNRESET
 * when the modem rebooted, and forget unsent output. Caller holds
 * chan->lock (URC handlers do); completion follows at qt_chan_unlock().
 */
void qt_chan_fail_all_locked(struct qt_modem *modem, int err)
{
	struct qt_chan *chan = &modem->chan;
	struct qt_cmd *cmd, *tmp;

	lockdep_assert_held(&chan->lock);
	if (chan->inflight) {
		qt_cmd_finish(chan, chan->inflight, err);
		chan->inflight = NULL;
		chan->prompt_wait = false;
	}
	list_for_each_entry_safe(cmd, tmp, &chan->queue, node) {
		list_del_init(&cmd->node);
		qt_cmd_finish(chan, cmd, err);
	}
	chan->out_off = chan->out_len = 0;
}

/*
 * Detach, steps 1 to 3 for the channel (see qt.h): no new commands, fail
 * every command with @err, cancel the channel's works. Process context.
 */
void qt_chan_kill(struct qt_modem *modem, int err)
{
	struct qt_chan *chan = &modem->chan;

	mutex_lock(&chan->lock);
	chan->dead = true;
	qt_chan_fail_all_locked(modem, err);
	qt_chan_push_abort(chan);
	qt_chan_unlock(chan);
	cancel_delayed_work_sync(&chan->timeout_work);
	cancel_work_sync(&chan->tx_work);
}
