// SPDX-License-Identifier: GPL-2.0
/*
 * PDP contexts: activation on first use (AT+QICSGP with the apn module
 * parameter, then AT+QIACT), the state the module reports (AT+QIACT?), and
 * the notes' rule that five failed opens in a row on a context deactivate
 * and reactivate it. Called by the connection engine (process context,
 * sleeps on commands).
 */
#include "qt.h"

#define QT_OPEN_FAILURES_MAX	5

/* The APN module parameter may only hold what can go between quotes. */
static bool qt_apn_valid(const char *apn)
{
	const char *p;

	if (strlen(apn) > 62)
		return false;
	for (p = apn; *p; p++)
		if (*p < 0x21 || *p > 0x7e || *p == '"' || *p == ',')
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
 * Make @ctx active: configure it with the module's APN and activate it,
 * deactivating it first after too many failed opens. Worker.
 * Returns 0 or -errno.
 */
int qt_ctx_ensure(struct qt_modem *modem, int ctx)
{
	bool active, reactivate;
	int err;

	spin_lock(&modem->conn_lock);
	active = modem->ctx_active & BIT(ctx);
	reactivate = modem->ctx_reactivate & BIT(ctx);
	modem->ctx_reactivate &= ~BIT(ctx);
	spin_unlock(&modem->conn_lock);

	if (reactivate) {
		qt_chan_simple(modem, 0, "AT+QIDEACT=%d", ctx);
		spin_lock(&modem->conn_lock);
		modem->ctx_active &= ~BIT(ctx);
		spin_unlock(&modem->conn_lock);
		active = false;
	}
	if (active)
		return 0;

	/* Already active from an earlier session of ours or of someone else? */
	if (!qt_ctx_query(modem) && (READ_ONCE(modem->ctx_active) & BIT(ctx)))
		return 0;

	if (!qt_apn_valid(qt_apn)) {
		pr_warn_once("quectel: the apn parameter has bytes that cannot be sent\n");
		return -ENETUNREACH;
	}
	err = qt_chan_simple(modem, 0, "AT+QICSGP=%d,1,\"%s\",\"\",\"\",0", ctx, qt_apn);
	if (err == -ENODEV || err == -ECONNRESET)
		return err;
	err = qt_chan_simple(modem, 0, "AT+QIACT=%d", ctx);
	if (err)
		return err == -ENODEV || err == -ECONNRESET ? err : -ENETUNREACH;
	qt_ctx_query(modem);
	return 0;
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
