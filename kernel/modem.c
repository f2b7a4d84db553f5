// SPDX-License-Identifier: GPL-2.0
/*
 * A modem's life: creation on attach, bring-up as the vendor notes
 * prescribe, reboot detection, restarts with back-off, detach and release.
 * See qt.h for the lifetime and locking rules.
 */
#include <linux/idr.h>
#include <linux/jiffies.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "qt.h"

static LIST_HEAD(qt_modems);
static DEFINE_MUTEX(qt_modems_lock);
static DEFINE_IDA(qt_modem_ida);

#define QT_SYNC_TRIES		15
#define QT_SYNC_TIMEOUT_MS	500
#define QT_POLL_MS		1000
#define QT_SIM_WAIT_MS		20000
#define QT_CREG_WAIT_MS		90000
#define QT_PSREG_WAIT_MS	60000
#define QT_LEGACY_SIM_WAIT_MS	10000
#define QT_LEGACY_CREG_WAIT_MS	30000
#define QT_LEGACY_PSREG_WAIT_MS	30000
#define QT_RDY_WAIT_MS		30000

static const char * const qt_state_names[QT_STATE_NR] = {
	[QT_STATE_SYNC]		= "sync",
	[QT_STATE_CONFIG]	= "config",
	[QT_STATE_SIM]		= "sim",
	[QT_STATE_CREG]		= "creg",
	[QT_STATE_PSREG]	= "psreg",
	[QT_STATE_READY]	= "ready",
	[QT_STATE_RESTARTING]	= "restarting",
	[QT_STATE_BACKOFF]	= "backoff",
	[QT_STATE_DETACHED]	= "detached",
};

const char *qt_modem_state_name(enum qt_modem_state state)
{
	return state < QT_STATE_NR ? qt_state_names[state] : "?";
}

/* Any process context; takes state_lock. */
static void qt_modem_set_state(struct qt_modem *modem,
			       enum qt_modem_state state)
{
	const char *reason = NULL;

	spin_lock(&modem->state_lock);
	if (modem->state == QT_STATE_READY && state != QT_STATE_READY)
		reason = modem->rebooted ? "module rebooted" :
			 modem->fail_reason ?: "restart";
	if (modem->state != QT_STATE_DETACHED)
		modem->state = state;
	spin_unlock(&modem->state_lock);
	if (reason)
		qt_genl_event(modem, QT_EV_MODEM_DOWN, reason, 0, 0);
}

/*
 * The notes' recovery for a modem that stopped answering, or whose
 * context cannot be deactivated: restart it now. Any process context that
 * may take state_lock (also the channel's timeout work, chan->lock held).
 */
void qt_modem_request_restart(struct qt_modem *modem, const char *reason)
{
	spin_lock(&modem->state_lock);
	if (modem->state != QT_STATE_READY || modem->restart_due) {
		spin_unlock(&modem->state_lock);
		return;		/* bring-up is on it already */
	}
	modem->restart_due = true;
	modem->fail_reason = reason;
	spin_unlock(&modem->state_lock);
	pr_warn("quectel: %s: %s: restarting\n", modem->name, reason);
	qt_genl_event(modem, QT_EV_RESTART, reason, 0, 0);
	mod_delayed_work(qt_wq, &modem->bringup_work, 0);
}

static bool qt_modem_dead(struct qt_modem *modem)
{
	return READ_ONCE(modem->chan.dead);
}

/*
 * The notes' restart back-off, by the failed restarts in a row. The modern
 * note: three may fail at no delay; then the next is at once, then 10 min,
 * 30 min, then hourly. The legacy note: the first at once, then 10 min,
 * 30 min and 1 h. A modem that never answered is judged by the dialect it
 * was forced to, or the one it had before.
 */
static unsigned long qt_restart_delay(struct qt_modem *modem, unsigned int failures)
{
	static const unsigned int modern_min[] = { 0, 0, 0, 0, 10, 30 };
	static const unsigned int legacy_min[] = { 0, 10, 30 };
	const unsigned int *min = modern_min;
	unsigned int n = ARRAY_SIZE(modern_min);

	if (qt_legacy(modem)) {
		min = legacy_min;
		n = ARRAY_SIZE(legacy_min);
	}
	return (failures < n ? min[failures] : 60) * 60UL * HZ;
}

/* Sleep @ms unless detached meanwhile. Bring-up work only. */
static int qt_modem_sleep(struct qt_modem *modem, unsigned int ms)
{
	wait_event_timeout(modem->wait, qt_modem_dead(modem),
			   msecs_to_jiffies(ms));
	return qt_modem_dead(modem) ? -ENODEV : 0;
}

/*
 * Run @line and copy the arguments of its first response line starting
 * with @prefix into @buf (at most @len bytes with the NUL). Process
 * context; sleeps on the modem. Returns 0, -EIO (refused), -ENOENT (no
 * such line) or the channel's error.
 */
int qt_modem_query(struct qt_modem *modem, const char *line,
		   const char *prefix, char *buf, size_t len)
{
	struct qt_cmd *cmd;
	const char *p, *args;
	size_t n;
	int err;

	cmd = qt_cmd_alloc(GFP_KERNEL, "%s", line);
	if (!cmd)
		return -ENOMEM;
	cmd->resp_prefix = prefix;
	err = qt_chan_exec(modem, cmd);
	if (!err && cmd->final != QT_FINAL_OK)
		err = -EIO;
	if (err)
		goto out;

	err = -ENOENT;
	for (p = cmd->resp; *p; p += n + (p[n] == '\n')) {
		n = strchrnul(p, '\n') - p;
		if (strncmp(p, prefix, strlen(prefix)))
			continue;
		args = p + strlen(prefix);
		while (*args == ' ')
			args++;
		n -= args - p;
		strscpy(buf, args, min(len, n + 1));
		err = 0;
		break;
	}
out:
	qt_cmd_put(cmd);
	return err;
}

/*
 * The <stat> field of +CREG/+CGREG/+CEREG: the second field of the query
 * answer ("<n>,<stat>[,...]").
 */
static int qt_reg_stat(const char *args)
{
	struct at_field f[AT_FIELDS_MAX];
	int n, stat;

	n = at_fields_split(args, strlen(args), f, ARRAY_SIZE(f));
	if (n < 2 || at_field_int(&f[1], 0, 255, &stat))
		return -1;
	return stat;
}

/* Poll a registration query until <stat> is 1 (home) or 5 (roaming). */
static int qt_modem_wait_reg(struct qt_modem *modem, const char *line,
			     const char *prefix, unsigned int wait_ms)
{
	unsigned long end = jiffies + msecs_to_jiffies(wait_ms);
	char args[64];
	int err, stat;

	for (;;) {
		err = qt_modem_query(modem, line, prefix, args, sizeof(args));
		if (err == -ENODEV || err == -ECONNRESET)
			return err;
		if (!err) {
			stat = qt_reg_stat(args);
			if (stat == 1 || stat == 5)
				return 0;
		}
		if (time_after(jiffies, end))
			return -ETIMEDOUT;
		err = qt_modem_sleep(modem, QT_POLL_MS);
		if (err)
			return err;
	}
}

/* ATI: "Quectel", the model, "Revision: ..." */
static void qt_modem_identify(struct qt_modem *modem)
{
	struct qt_cmd *cmd;
	char *p, *line;

	cmd = qt_cmd_alloc(GFP_KERNEL, "ATI");
	if (!cmd)
		return;
	if (qt_chan_exec(modem, cmd) == 0 && cmd->final == QT_FINAL_OK) {
		spin_lock(&modem->state_lock);
		for (p = cmd->resp; (line = strsep(&p, "\n")); ) {
			if (!strncmp(line, "Revision: ", 10))
				strscpy(modem->revision, line + 10,
					sizeof(modem->revision));
			else if (!strncmp(line, "Quectel_", 8) && strcmp(line, "Quectel_Ltd"))
				/* M-series: "Quectel_Ltd", "Quectel_M95" */
				strscpy(modem->model, line + 8, sizeof(modem->model));
			else if (strcmp(line, "Quectel") && strcmp(line, "Quectel_Ltd") && *line)
				strscpy(modem->model, line, sizeof(modem->model));
		}
		spin_unlock(&modem->state_lock);
	}
	qt_cmd_put(cmd);

	cmd = qt_cmd_alloc(GFP_KERNEL, "AT+GSN");
	if (!cmd)
		return;
	if (qt_chan_exec(modem, cmd) == 0 && cmd->final == QT_FINAL_OK) {
		spin_lock(&modem->state_lock);
		strscpy(modem->imei, cmd->resp, sizeof(modem->imei));
		spin_unlock(&modem->state_lock);
	}
	qt_cmd_put(cmd);
}

static int qt_modem_fail(struct qt_modem *modem, const char *reason, int err)
{
	spin_lock(&modem->state_lock);
	modem->fail_reason = reason;
	spin_unlock(&modem->state_lock);
	return err;
}

/*
 * The bring-up sequence of the notes' flow chart. Bring-up work, process
 * context; sleeps for up to a few minutes. Returns 0 when ready.
 */
static int qt_modem_bringup(struct qt_modem *modem)
{
	unsigned int wait_ms;
	unsigned long end;
	char args[64];
	int err = -ETIMEDOUT, i;
	bool legacy;

	qt_modem_set_state(modem, QT_STATE_SYNC);
	for (i = 0; i < QT_SYNC_TRIES; i++) {
		unsigned long start = jiffies;

		err = qt_chan_simple(modem, QT_SYNC_TIMEOUT_MS, "AT");
		if (err != -ETIMEDOUT)
			break;
		/* A fast failure still waits out the 500 ms period. */
		if (time_before(jiffies, start + msecs_to_jiffies(QT_SYNC_TIMEOUT_MS)) &&
		    qt_modem_sleep(modem, QT_SYNC_TIMEOUT_MS))
			return -ENODEV;
	}
	/* ERROR still proves the modem listens. */
	if (err && err != -EIO)
		return qt_modem_fail(modem, "no answer to AT", err);

	qt_modem_set_state(modem, QT_STATE_CONFIG);
	err = qt_chan_simple(modem, 0, "ATE0");
	if (err)
		return qt_modem_fail(modem, "ATE0 failed", err);
	/*
	 * No echo of the data sent after "> " either: the tokenizer could not
	 * tell it from the module's own output. Modules without the TCP/IP
	 * command set answer ERROR, which does not matter here.
	 */
	err = qt_chan_simple(modem, 0, "AT+QISDE=0");
	if (err == -ENODEV || err == -ECONNRESET)
		return err;
	qt_modem_identify(modem);
	qt_dialect_choose(modem);
	legacy = qt_legacy(modem);
	if (legacy) {
		err = qt_legacy_fix_rate(modem);
		if (err == -ENODEV || err == -ECONNRESET)
			return err;
	}

	/* The legacy note: SIM within 10 s, CS registration within 30 s. */
	qt_modem_set_state(modem, QT_STATE_SIM);
	end = jiffies + msecs_to_jiffies(legacy ? QT_LEGACY_SIM_WAIT_MS : QT_SIM_WAIT_MS);
	for (;;) {
		err = qt_modem_query(modem, "AT+CPIN?", "+CPIN:", args, sizeof(args));
		if (err == -ENODEV || err == -ECONNRESET)
			return err;
		if (!err && !strcmp(args, "READY"))
			break;
		if (time_after(jiffies, end))
			return qt_modem_fail(modem, legacy ? "SIM not ready in 10 s" :
					     "SIM not ready in 20 s", -ETIMEDOUT);
		if (qt_modem_sleep(modem, QT_POLL_MS))
			return -ENODEV;
	}

	qt_modem_set_state(modem, QT_STATE_CREG);
	err = qt_modem_wait_reg(modem, "AT+CREG?", "+CREG:",
				legacy ? QT_LEGACY_CREG_WAIT_MS : QT_CREG_WAIT_MS);
	if (err)
		return qt_modem_fail(modem, legacy ? "not registered (CREG) in 30 s" :
				     "not registered (CREG) in 90 s", err);

	/*
	 * Packet-switched registration: wait up to 60 s (the legacy note:
	 * 30 s), then go on anyway.
	 */
	qt_modem_set_state(modem, QT_STATE_PSREG);
	wait_ms = legacy ? QT_LEGACY_PSREG_WAIT_MS : QT_PSREG_WAIT_MS;
	end = jiffies + msecs_to_jiffies(wait_ms);
	err = qt_modem_wait_reg(modem, "AT+CGREG?", "+CGREG:", wait_ms);
	if (!legacy && err && err != -ENODEV && err != -ECONNRESET &&
	    time_before(jiffies, end))
		err = qt_modem_wait_reg(modem, "AT+CEREG?", "+CEREG:",
					jiffies_to_msecs(end - jiffies));
	if (err == -ENODEV || err == -ECONNRESET)
		return err;
	if (legacy) {
		/* GPRS attach, then the TCP/IP stack's settings. */
		err = qt_legacy_bringup(modem);
		if (err)
			return qt_modem_fail(modem, "legacy TCP/IP setup failed", err);
	}
	return 0;
}

/*
 * Restart the module: AT+CFUN=1,1, then wait for its RDY. Bring-up work.
 * The result of the command does not matter: a hung module will not
 * answer, and the bring-up that follows tells whether it worked.
 */
static void qt_modem_restart(struct qt_modem *modem)
{
	qt_modem_set_state(modem, QT_STATE_RESTARTING);
	spin_lock(&modem->state_lock);
	modem->stats.restarts++;
	modem->rdy_seen = false;
	spin_unlock(&modem->state_lock);
	pr_info("quectel: %s: restarting the module\n", modem->name);

	/*
	 * A module that does not even answer AT+CFUN is hung: no RDY will
	 * come, only a power cycle helps (which the state announces), so
	 * bring-up is tried again at once. After an answer (or the RDY that
	 * cut the command short), wait for the reboot to finish.
	 */
	if (qt_chan_simple(modem, 0, "AT+CFUN=1,1") == -ETIMEDOUT &&
	    !READ_ONCE(modem->rdy_seen))
		return;
	wait_event_timeout(modem->wait,
			   qt_modem_dead(modem) || READ_ONCE(modem->rdy_seen),
			   msecs_to_jiffies(QT_RDY_WAIT_MS));
}

/* Bring-up, restart and back-off, one step per run. Module workqueue. */
static void qt_modem_bringup_work(struct work_struct *work)
{
	struct qt_modem *modem = container_of(to_delayed_work(work),
					      struct qt_modem, bringup_work);
	bool restarted = false;
	unsigned long delay;
	int err;

	if (qt_modem_dead(modem))
		return;
	if (modem->restart_due) {
		qt_modem_restart(modem);
		restarted = true;
	}

	err = qt_modem_bringup(modem);
	if (qt_modem_dead(modem))
		return;
	if (err == -ECONNRESET || READ_ONCE(modem->rebooted)) {
		/* RDY meanwhile: the URC handler queued a fresh bring-up. */
		WRITE_ONCE(modem->rebooted, false);
		if (err)
			return;
	}

	spin_lock(&modem->state_lock);
	if (!err) {
		modem->state = QT_STATE_READY;
		modem->fail_reason = NULL;
		modem->bringup_failures = 0;
		modem->restart_failures = 0;
		modem->restart_due = false;
		WRITE_ONCE(modem->ready_gen, modem->ready_gen + 1);
		spin_unlock(&modem->state_lock);
		/* Failed opens "in a row" were of the boot that is gone. */
		spin_lock(&modem->conn_lock);
		memset(modem->ctx_open_failures, 0, sizeof(modem->ctx_open_failures));
		modem->ctx_reactivate = 0;
		spin_unlock(&modem->conn_lock);
		pr_info("quectel: %s: ready (%s %s)\n", modem->name,
			modem->model, modem->revision);
		qt_genl_event(modem, QT_EV_MODEM_UP, NULL, 0, 0);
		return;
	}
	modem->bringup_failures++;
	if (restarted)
		modem->restart_failures++;
	modem->restart_due = true;
	delay = qt_restart_delay(modem, modem->restart_failures);
	modem->next_restart = jiffies + delay;
	if (delay)
		modem->state = QT_STATE_BACKOFF;
	spin_unlock(&modem->state_lock);

	pr_warn("quectel: %s: bring-up failed: %s; restart in %lu s\n",
		modem->name, modem->fail_reason ?: "?", delay / HZ);
	qt_genl_event(modem, QT_EV_RESTART, modem->fail_reason ?: "bring-up failed",
		      0, jiffies_to_msecs(delay));
	queue_delayed_work(qt_wq, &modem->bringup_work, delay);
}

/*
 * An unsolicited result code. Parser callback: chan->lock held, so
 * nothing here may wait for a command; work is queued instead.
 */
void qt_modem_urc(struct qt_modem *modem, const struct at_token *tok)
{
	if (tok->kind != AT_TOK_URC)
		return;

	switch (tok->urc) {
	case AT_URC_QPING:
		qt_ping_urc(modem, tok);
		return;
	case AT_URC_RDY:
		spin_lock(&modem->state_lock);
		if (modem->state == QT_STATE_RESTARTING) {
			modem->rdy_seen = true;
			spin_unlock(&modem->state_lock);
			/* Whatever was in flight died with the old boot. */
			qt_chan_fail_all_locked(modem, -ECONNRESET);
			qt_conn_reset_all(modem, -ECONNRESET);
			wake_up_all(&modem->wait);
			return;
		}
		modem->stats.reboots++;
		spin_unlock(&modem->state_lock);
		/*
		 * The module rebooted by itself: everything it knew is gone.
		 * Fail what is in flight and start bring-up again.
		 */
		pr_info("quectel: %s: module rebooted (RDY)\n", modem->name);
		WRITE_ONCE(modem->rebooted, true);
		qt_genl_event(modem, QT_EV_REBOOTED, NULL, 0, 0);
		qt_chan_fail_all_locked(modem, -ECONNRESET);
		qt_conn_reset_all(modem, -ECONNRESET);
		mod_delayed_work(qt_wq, &modem->bringup_work, 0);
		return;
	default:
		qt_conn_urc(modem, tok);
		return;
	}
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
	spin_lock_init(&modem->state_lock);
	mutex_init(&modem->ctx_lock);
	mutex_init(&modem->ping_lock);
	modem->rssi = -1;
	modem->ber = -1;
	modem->reg = -1;
	init_waitqueue_head(&modem->wait);
	INIT_DELAYED_WORK(&modem->bringup_work, qt_modem_bringup_work);
	modem->dialect_choice = READ_ONCE(qt_dialect_forced);
	qt_chan_init(modem);
	qt_conn_init(modem);
	write_pnet(&modem->net, get_net(current->nsproxy->net_ns));
	modem->tty = tty_kref_get(tty);
	strscpy(modem->tty_name, tty->name, sizeof(modem->tty_name));

	mutex_lock(&qt_modems_lock);
	index = ida_alloc(&qt_modem_ida, GFP_KERNEL);
	if (index < 0) {
		mutex_unlock(&qt_modems_lock);
		goto err_free;
	}
	modem->index = index;
	snprintf(modem->name, sizeof(modem->name), "qm%d", index);
	/* A forced set is known before the modem answers: its back-off. */
	qt_dialect_choose(modem);
	list_add_tail(&modem->node, &qt_modems);
	mutex_unlock(&qt_modems_lock);

	queue_delayed_work(qt_wq, &modem->bringup_work, 0);
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

/* Another reference on a modem the caller holds one on. Any context. */
void qt_modem_hold(struct qt_modem *modem)
{
	kref_get(&modem->kref);
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
 * The modem of @net with the lowest index >= @index, referenced, or NULL:
 * for walks (netlink dumps, /proc). Process context; may sleep.
 */
struct qt_modem *qt_modem_get_next(struct net *net, int index)
{
	struct qt_modem *modem, *found = NULL;

	mutex_lock(&qt_modems_lock);
	list_for_each_entry(modem, &qt_modems, node) {
		if (modem->index < index || !net_eq(read_pnet(&modem->net), net))
			continue;
		if (!found || modem->index < found->index)
			found = modem;
	}
	if (found)
		kref_get(&found->kref);
	mutex_unlock(&qt_modems_lock);
	return found;
}

/*
 * Process context (ldisc hangup, then close). Idempotent. Follows the
 * teardown order of qt.h.
 */
void qt_modem_detach(struct qt_modem *modem)
{
	bool detached;

	mutex_lock(&qt_modems_lock);
	detached = modem->detached;
	modem->detached = true;
	mutex_unlock(&qt_modems_lock);
	if (detached)
		return;

	/* 1, 2: no new commands; fail the pending ones, which wakes waiters. */
	qt_chan_kill(modem, -ENODEV);
	/* Every socket learns ENODEV; the engine stops. */
	qt_conn_stop(modem);
	qt_ping_abort(modem, -ENODEV);
	spin_lock(&modem->state_lock);
	modem->fail_reason = "detached";
	spin_unlock(&modem->state_lock);
	qt_modem_set_state(modem, QT_STATE_DETACHED);
	wake_up_all(&modem->wait);
	qt_genl_event(modem, QT_EV_DETACHED, NULL, 0, 0);

	/* 3: the bring-up work now finishes at once. */
	cancel_delayed_work_sync(&modem->bringup_work);

	/* 4: unlist, let go of the tty (the transmit work is cancelled). */
	mutex_lock(&qt_modems_lock);
	list_del_init(&modem->node);
	ida_free(&qt_modem_ida, modem->index);
	mutex_unlock(&qt_modems_lock);
	tty_kref_put(modem->tty);
	modem->tty = NULL;
}

/* /proc/net/quectel_modem: one line of key=value pairs per modem of @net. */
/* Process context; takes the channel and state locks briefly. */
void qt_modem_snapshot(struct qt_modem *modem, struct qt_modem_info *info)
{
	mutex_lock(&modem->chan.lock);
	info->parser = modem->chan.parser.stats;
	mutex_unlock(&modem->chan.lock);

	spin_lock(&modem->state_lock);
	info->stats = modem->stats;
	info->state = modem->state;
	info->reason = modem->fail_reason;
	info->restart_failures = modem->restart_failures;
	info->next_restart_s = 0;
	if (info->state == QT_STATE_BACKOFF && time_after(modem->next_restart, jiffies))
		info->next_restart_s = (modem->next_restart - jiffies) / HZ;
	strscpy(info->model, modem->model, sizeof(info->model));
	strscpy(info->revision, modem->revision, sizeof(info->revision));
	strscpy(info->imei, modem->imei, sizeof(info->imei));
	info->rssi = modem->rssi;
	info->ber = modem->ber;
	info->reg = modem->reg;
	spin_unlock(&modem->state_lock);
}

#define QT_RADIO_WAIT		(2 * HZ)

/* Run a query for at most 2 s; the arguments of its @prefix line. */
static int qt_modem_query_brief(struct qt_modem *modem, const char *line,
				const char *prefix, struct at_field *f, int nf,
				char *buf, size_t len)
{
	struct qt_cmd *cmd;
	const char *args;
	int err;

	cmd = qt_cmd_alloc(GFP_KERNEL, "%s", line);
	if (!cmd)
		return -ENOMEM;
	cmd->resp_prefix = prefix;
	err = qt_chan_exec_wait(modem, cmd, QT_RADIO_WAIT);
	if (!err && cmd->final != QT_FINAL_OK)
		err = -EIO;
	if (!err) {
		args = at_line_args(cmd->resp, prefix);
		if (!args)
			err = -EPROTO;
		else
			strscpy(buf, args, min(len, strcspn(args, "\n") + 1));
	}
	qt_cmd_put(cmd);
	return err ?: at_fields_split(buf, strlen(buf), f, nf);
}

/*
 * Ask a ready modem for its signal (AT+CSQ) and registration (AT+CREG?),
 * keeping the last answers. Process context (netlink); waits at most 2 s
 * per command, interruptibly.
 */
void qt_modem_refresh_radio(struct qt_modem *modem)
{
	struct at_field f[4];
	char buf[64];
	int rssi, ber, stat;

	if (!qt_modem_is_ready(modem))
		return;
	if (qt_modem_query_brief(modem, "AT+CSQ", "+CSQ:", f, 4, buf, sizeof(buf)) >= 2 &&
	    !at_field_int(&f[0], 0, 99, &rssi) && !at_field_int(&f[1], 0, 99, &ber)) {
		spin_lock(&modem->state_lock);
		modem->rssi = rssi;
		modem->ber = ber;
		spin_unlock(&modem->state_lock);
	}
	if (qt_modem_query_brief(modem, "AT+CREG?", "+CREG:", f, 4, buf, sizeof(buf)) >= 2 &&
	    !at_field_int(&f[1], 0, 255, &stat)) {
		spin_lock(&modem->state_lock);
		modem->reg = stat;
		spin_unlock(&modem->state_lock);
	}
}

int qt_modems_show(struct seq_file *seq, struct net *net)
{
	struct qt_modem *modem;

	mutex_lock(&qt_modems_lock);
	list_for_each_entry(modem, &qt_modems, node) {
		struct qt_modem_info in;

		if (!net_eq(read_pnet(&modem->net), net))
			continue;
		qt_modem_snapshot(modem, &in);
		seq_printf(seq, "%s tty=%s state=%s dialect=%s model=%s revision=%s imei=%s",
			   modem->name, modem->tty_name, qt_modem_state_name(in.state),
			   qt_dialect_name(modem),
			   *in.model ? in.model : "-", *in.revision ? in.revision : "-",
			   *in.imei ? in.imei : "-");
		seq_printf(seq, " rx_bytes=%llu tx_bytes=%llu commands=%llu timeouts=%llu urcs=%llu",
			   in.stats.rx_bytes, in.stats.tx_bytes, in.stats.commands,
			   in.stats.timeouts, in.stats.urcs);
		seq_printf(seq, " parse_errors=%u overlong=%u restarts=%u reboots=%u",
			   in.parser.garbage, in.parser.overlong, in.stats.restarts,
			   in.stats.reboots);
		seq_printf(seq, " incoming_full=%llu accept_overflow=%llu dialect_choice=%s",
			   in.stats.incoming_full, in.stats.accept_overflow,
			   qt_dialect_choice_name(READ_ONCE(modem->dialect_choice)));
		seq_printf(seq, " restart_failures=%u next_restart_s=%lu reason=\"%s\"\n",
			   in.restart_failures, in.next_restart_s, in.reason ?: "");
	}
	mutex_unlock(&qt_modems_lock);
	return 0;
}
