// SPDX-License-Identifier: GPL-2.0
/*
 * PDP contexts: activation on first use (AT+QICSGP with the apn module
 * parameter, then AT+QIACT), the state the module reports (AT+QIACT?), and
 * the notes' rule that five failed opens in a row on a context deactivate
 * and reactivate it. Called by the connection engine (process context,
 * sleeps on commands).
 */
#include <linux/ctype.h>

#include "qt.h"

#define QT_OPEN_FAILURES_MAX	5
#define QT_DEACT_FAILURES_MAX	3

/* An APN: 0..62 bytes of A-Z a-z 0-9 . - _ (netlink and the parameter). */
bool qt_apn_valid(const char *apn)
{
	const char *p;

	if (strlen(apn) > QT_APN_MAX)
		return false;
	for (p = apn; *p; p++)
		if (!isalnum(*p) && *p != '.' && *p != '-' && *p != '_')
			return false;
	return true;
}

/* "+QIACT: <ctx>,<state>,<type>[,"<ip>"]" lines: note the active ones. */
static void qt_ctx_parse_active(struct qt_modem *modem, const char *resp)
{
	struct at_field f[AT_FIELDS_MAX];
	const char *line, *args;
	int n, ctx, state;
	size_t len;

	for (line = resp; *line; line += len + (line[len] == '\n')) {
		len = strcspn(line, "\n");
		args = at_line_args(line, "+QIACT:");
		if (!args)
			continue;
		n = at_fields_split(args, len - (args - line), f, ARRAY_SIZE(f));
		if (n < 3 || at_field_int(&f[0], 1, QT_MAX_CTX, &ctx) ||
		    at_field_int(&f[1], 0, 1, &state) || state != 1)
			continue;
		spin_lock(&modem->conn_lock);
		modem->ctx_active |= BIT(ctx);
		if (n >= 4)
			at_field_str(&f[3], modem->ctx_ip[ctx], sizeof(modem->ctx_ip[ctx]));
		spin_unlock(&modem->conn_lock);
	}
}

static int qt_ctx_query(struct qt_modem *modem)
{
	struct qt_cmd *cmd;
	int err;

	if (qt_legacy(modem))
		return qt_legacy_ctx_query(modem);

	cmd = qt_cmd_alloc(GFP_KERNEL, "AT+QIACT?");
	if (!cmd)
		return -ENOMEM;
	cmd->resp_prefix = "+QIACT:";
	err = qt_chan_exec(modem, cmd);
	if (!err && cmd->final != QT_FINAL_OK)
		err = -EIO;
	if (!err)
		qt_ctx_parse_active(modem, cmd->resp);
	qt_cmd_put(cmd);
	return err;
}

/*
 * Run a context command: interruptibly for a user (netlink), else as the
 * engine does. Returns 0 on OK, -EIO on a refusal, or the channel's error.
 * ctx_lock held.
 */
static int qt_ctx_cmd(struct qt_modem *modem, bool user, const char *fmt, int ctx)
{
	struct qt_cmd *cmd;
	int err;

	lockdep_assert_held(&modem->ctx_lock);
	cmd = qt_cmd_alloc(GFP_KERNEL, fmt, ctx);
	if (!cmd)
		return -ENOMEM;
	err = user ? qt_chan_exec_wait(modem, cmd, MAX_SCHEDULE_TIMEOUT) :
		     qt_chan_exec(modem, cmd);
	if (!err && cmd->final != QT_FINAL_OK)
		err = -EIO;
	qt_cmd_put(cmd);
	return err;
}

/* Configure @ctx: what netlink set, else the apn parameter. ctx_lock held. */
static int qt_ctx_configure(struct qt_modem *modem, int ctx)
{
	struct qt_ctx_cfg cfg;

	lockdep_assert_held(&modem->ctx_lock);
	qt_ctx_get_cfg(modem, ctx, &cfg);
	if (cfg.set)
		return qt_chan_simple(modem, 0, "AT+QICSGP=%d,%u,\"%s\",\"%s\",\"%s\",%u",
				      ctx, cfg.type, cfg.apn, cfg.user, cfg.pass, cfg.auth);
	if (!qt_apn_valid(qt_apn)) {
		pr_warn_once("quectel: the apn parameter has bytes that cannot be sent\n");
		return -EINVAL;
	}
	return qt_chan_simple(modem, 0, "AT+QICSGP=%d,1,\"%s\",\"\",\"\",0", ctx, qt_apn);
}

/*
 * AT+QIACT=<ctx>. The notes: no answer in 150 s, restart the module.
 * ctx_lock held.
 */
static int qt_ctx_activate(struct qt_modem *modem, int ctx, bool user)
{
	int err;

	if (qt_legacy(modem))
		return qt_legacy_ctx_activate(modem, user);
	/* A refused AT+QICSGP leaves the module's own configuration. */
	err = qt_ctx_configure(modem, ctx);
	if (err == -ENODEV || err == -ECONNRESET || err == -EINVAL)
		return err;
	err = qt_ctx_cmd(modem, user, "AT+QIACT=%d", ctx);
	if (err == -ETIMEDOUT)
		qt_modem_request_restart(modem, "AT+QIACT got no answer");
	if (err == -EIO)
		err = -ENETUNREACH;
	if (!err)
		qt_ctx_query(modem);
	return err;
}

/*
 * Sockets of @ctx learn that it is gone: -errno @err. The module closed
 * them itself, so no AT+QICLOSE follows. Any context that may spin.
 */
static void qt_ctx_fail_sockets(struct qt_modem *modem, int ctx, int err)
{
	int id;

	spin_lock(&modem->conn_lock);
	modem->ctx_active &= ~BIT(ctx);
	modem->ctx_ip[ctx][0] = '\0';
	for (id = 0; id < QT_MAX_CONNS; id++) {
		struct qt_slot *slot = &modem->slots[id];

		/* A reserved one opens after this, on the fresh context. */
		if (slot->state != QT_SLOT_FREE && slot->state != QT_SLOT_RESERVED &&
		    slot->ctx == ctx && !slot->error)
			slot->error = err;
	}
	spin_unlock(&modem->conn_lock);
	qt_conn_kick(modem);
}

/*
 * Failures "in a row" count within one boot of the module: after a
 * restart (or any fresh bring-up) they start again. ctx_lock held.
 */
void qt_ctx_fresh_counts(struct qt_modem *modem)
{
	unsigned int gen = READ_ONCE(modem->ready_gen);

	lockdep_assert_held(&modem->ctx_lock);
	if (modem->fail_gen == gen)
		return;
	modem->fail_gen = gen;
	modem->deact_failures = 0;
	modem->qiact_failures = 0;
}

/*
 * AT+QIDEACT=<ctx>. The notes: no answer in 40 s, or three failures in a
 * row, restart the module. ctx_lock held.
 */
static int qt_ctx_deactivate(struct qt_modem *modem, int ctx, bool user)
{
	int err;

	qt_ctx_fresh_counts(modem);
	/* The legacy set has one context and names none. */
	err = qt_ctx_cmd(modem, user, qt_legacy(modem) ? "AT+QIDEACT" : "AT+QIDEACT=%d", ctx);
	if (!err) {
		modem->deact_failures = 0;
		qt_ctx_fail_sockets(modem, ctx, -ENETDOWN);
		return 0;
	}
	if (err == -ETIMEDOUT)
		qt_modem_request_restart(modem, "AT+QIDEACT got no answer");
	else if (err == -EIO && ++modem->deact_failures >= QT_DEACT_FAILURES_MAX) {
		modem->deact_failures = 0;
		qt_modem_request_restart(modem, "AT+QIDEACT failed three times");
	}
	return err;
}

/*
 * Make @ctx active: configure and activate it, deactivating it first after
 * too many failed opens. The engine's worker. Returns 0 or -errno.
 */
int qt_ctx_ensure(struct qt_modem *modem, int ctx)
{
	bool active, reactivate;
	int err;

	mutex_lock(&modem->ctx_lock);
	spin_lock(&modem->conn_lock);
	active = modem->ctx_active & BIT(ctx);
	reactivate = modem->ctx_reactivate & BIT(ctx);
	modem->ctx_reactivate &= ~BIT(ctx);
	spin_unlock(&modem->conn_lock);

	if (reactivate) {
		qt_ctx_deactivate(modem, ctx, false);
		active = false;
	}
	err = 0;
	/* Already active from an earlier session of ours or of someone else? */
	if (!active && (qt_ctx_query(modem) || !(READ_ONCE(modem->ctx_active) & BIT(ctx)))) {
		err = qt_ctx_activate(modem, ctx, false);
		if (err == -EINVAL)
			err = -ENETUNREACH;
	}
	mutex_unlock(&modem->ctx_lock);
	return err;
}

/* Netlink: activate @ctx unless active. Process context. */
int qt_ctx_up(struct qt_modem *modem, int ctx)
{
	int err;

	mutex_lock(&modem->ctx_lock);
	err = qt_ctx_query(modem);
	if (!err && !(READ_ONCE(modem->ctx_active) & BIT(ctx)))
		err = qt_ctx_activate(modem, ctx, true);
	mutex_unlock(&modem->ctx_lock);
	return err;
}

/* Netlink, and the engine after "pdpdeact": deactivate @ctx. */
int qt_ctx_down(struct qt_modem *modem, int ctx, bool user)
{
	int err;

	mutex_lock(&modem->ctx_lock);
	err = qt_ctx_deactivate(modem, ctx, user);
	mutex_unlock(&modem->ctx_lock);
	return err;
}

/*
 * Netlink: AT+QICSGP with @cfg (validated by the caller), remembered for
 * every later activation of @ctx. Process context.
 */
int qt_ctx_set(struct qt_modem *modem, int ctx, const struct qt_ctx_cfg *cfg)
{
	struct qt_cmd *cmd;
	int err;

	if (qt_legacy(modem))	/* the foreground context; no type, no auth */
		cmd = qt_cmd_alloc(GFP_KERNEL, "AT+QICSGP=1,\"%s\",\"%s\",\"%s\"",
				   cfg->apn, cfg->user, cfg->pass);
	else
		cmd = qt_cmd_alloc(GFP_KERNEL, "AT+QICSGP=%d,%u,\"%s\",\"%s\",\"%s\",%u",
				   ctx, cfg->type, cfg->apn, cfg->user, cfg->pass, cfg->auth);
	if (!cmd)
		return -ENOMEM;
	mutex_lock(&modem->ctx_lock);
	err = qt_chan_exec_wait(modem, cmd, MAX_SCHEDULE_TIMEOUT);
	if (!err && cmd->final != QT_FINAL_OK)
		err = -EIO;
	if (!err) {
		spin_lock(&modem->conn_lock);
		modem->ctx_cfg[ctx] = *cfg;
		modem->ctx_cfg[ctx].set = true;
		spin_unlock(&modem->conn_lock);
	}
	mutex_unlock(&modem->ctx_lock);
	qt_cmd_put(cmd);
	return err;
}

/* A copy of what netlink set for @ctx (cfg->set false if nothing). */
void qt_ctx_get_cfg(struct qt_modem *modem, int ctx, struct qt_ctx_cfg *cfg)
{
	spin_lock(&modem->conn_lock);
	*cfg = modem->ctx_cfg[ctx];
	spin_unlock(&modem->conn_lock);
}

void qt_ctx_open_result(struct qt_modem *modem, int ctx, bool ok)
{
	spin_lock(&modem->conn_lock);
	if (ok) {
		modem->ctx_open_failures[ctx] = 0;
	} else if (++modem->ctx_open_failures[ctx] >= QT_OPEN_FAILURES_MAX) {
		/* The notes: five failed opens in a row, reactivate. */
		modem->ctx_open_failures[ctx] = 0;
		modem->ctx_reactivate |= BIT(ctx);
	}
	spin_unlock(&modem->conn_lock);
}
