// SPDX-License-Identifier: GPL-2.0
/*
 * The legacy command set of the GSM M-series modules (M10, M26, M35, M66,
 * M72, M85, M95, MC60, UC15: spec/000, "GSM TCPIP application note"), as
 * the connection engine (conn.c), the contexts (ctx.c) and bring-up
 * (modem.c) need it. The engine, the sockets and their rules stay the
 * same; only the words on the wire differ:
 *
 *   modern                         legacy (AT+QIMUX=1, AT+QINDI=1)
 *   AT+QIACT=<ctx>                 AT+QICSGP, AT+QIREGAPP, AT+QIACT, AT+QILOCIP
 *   AT+QIOPEN=..., +QIOPEN: id,err AT+QIOPEN=<i>,..., OK, "<i>, CONNECT OK|FAIL"
 *   +QIURC: "recv",id              +QIRDI: <ctx>,<sc>,<i>
 *   AT+QIRD=<id>,1500              AT+QIRD=0,1,<i>,1500
 *   AT+QISEND=<id>,<n>             AT+QISEND=<i>,<n> (kept under the ack window)
 *   AT+QISEND=<id>,0               AT+QISACK=<i>
 *   AT+QICLOSE=<id>, OK            AT+QICLOSE=<i>, "<i>, CLOSE OK"
 *   +QIURC: "closed"/"pdpdeact"    "<i>, CLOSED" / "+PDP DEACT"
 *
 * The legacy set has one foreground context (our context 1), six
 * connections, buffer mode only, and no servers: the socket layer refuses
 * the rest with EOPNOTSUPP (docs/SOCKETS.md, "Dialects").
 *
 * Everything here runs in process context and sleeps on commands: the
 * bring-up work, the engine's worker, or a netlink request (ctx_lock
 * held), except qt_legacy_result(), a parser callback.
 */
#include <linux/inet.h>
#include <linux/jiffies.h>
#include <linux/slab.h>

#include "qt.h"

/*
 * Flow control (the note): the module's send window is 7300 bytes; keep
 * what the peer has not acknowledged under 3000, polling AT+QISACK; 20
 * polls 5 s apart without progress mean the connection has failed.
 */
#define QT_LEGACY_UNACKED_MAX	3000
#define QT_LEGACY_POLL_MIN_MS	20
#define QT_LEGACY_POLL_MAX_MS	5000
#define QT_LEGACY_STALLS_MAX	20
#define QT_LEGACY_QIACT_FAILURES_MAX	3
#define QT_LEGACY_RATE		115200

/* Timeouts of the legacy note (flow chart and command table). */
static const unsigned int qt_legacy_timeout_ms[QT_TMO_NR] = {
	[QT_TMO_DEFAULT]	= 60000,
	[QT_TMO_QIACT]		= 180000,
	[QT_TMO_QIOPEN]		= 90000,
	[QT_TMO_QICLOSE]	= 90000,
	[QT_TMO_QIDEACT]	= 90000,
	[QT_TMO_CFUN]		= 15000,
	[QT_TMO_CGATT]		= 180000,
};

/* What AT+QISTAT says of the TCP/IP stack, as far as we act on it. */
enum qt_legacy_stack {
	QT_LG_INITIAL,		/* IP INITIAL: nothing set up */
	QT_LG_START,		/* IP START: AT+QIREGAPP done */
	QT_LG_GPRSACT,		/* IP GPRSACT: AT+QIACT done */
	QT_LG_ACTIVE,		/* IP STATUS, IP PROCESSING, ...: usable */
	QT_LG_BROKEN,		/* PDP DEACT, or half-way: deactivate first */
};

/*
 * Models of the M-series family: "M" or "MC" and a number (M95, MC60),
 * and the UC15. ATI names them "Quectel_M95".
 */
static bool qt_legacy_model(const char *model)
{
	if (!strncmp(model, "Quectel_", 8))
		model += 8;
	if (!strcmp(model, "UC15"))
		return true;
	if (model[0] != 'M')
		return false;
	model += model[1] == 'C' ? 2 : 1;
	return model[0] >= '0' && model[0] <= '9';
}

const char *qt_dialect_name(const struct qt_modem *modem)
{
	return qt_legacy(modem) ? "legacy" : "modern";
}

static const char *const qt_dialect_words[] = {
	[QT_DIALECT_AUTO] = "auto", [QT_DIALECT_MODERN + 1] = "modern",
	[QT_DIALECT_LEGACY + 1] = "legacy",
};

/* A dialect choice from its word (a trailing newline allowed), or -EINVAL. */
int qt_dialect_parse(const char *word)
{
	int i = sysfs_match_string(qt_dialect_words, word);

	return i < 0 ? -EINVAL : i;
}

const char *qt_dialect_choice_name(int choice)
{
	return qt_dialect_words[choice];
}

/* The dialect @choice makes of a modem that reports @model. */
static enum qt_dialect qt_dialect_for(int choice, const char *model)
{
	if (choice != QT_DIALECT_AUTO)
		return choice - 1;
	return qt_legacy_model(model) ? QT_DIALECT_LEGACY : QT_DIALECT_MODERN;
}

/*
 * Pick the command set from the model (or the modem's forced choice) and
 * take its timeouts, but for those netlink set. Bring-up work.
 */
void qt_dialect_choose(struct qt_modem *modem)
{
	const unsigned int *tmo;
	enum qt_dialect d;
	int i;

	spin_lock(&modem->state_lock);
	d = qt_dialect_for(modem->dialect_choice, modem->model);
	spin_unlock(&modem->state_lock);
	if (d != READ_ONCE(modem->dialect))
		pr_info("quectel: %s: %s command set\n", modem->name,
			d == QT_DIALECT_LEGACY ? "legacy" : "modern");
	WRITE_ONCE(modem->dialect, d);

	tmo = d == QT_DIALECT_LEGACY ? qt_legacy_timeout_ms : qt_default_timeout_ms;
	for (i = 0; i < QT_TMO_NR; i++)
		if (!(READ_ONCE(modem->tmo_user) & BIT(i)))
			WRITE_ONCE(modem->cmd_timeout_ms[i], tmo[i]);
}

/*
 * Force @modem's command set (or let its model decide again). A ready
 * modem that would now speak another set restarts at once; otherwise the
 * choice holds from the next bring-up. Process context (netlink).
 */
void qt_dialect_set_choice(struct qt_modem *modem, int choice)
{
	bool change;

	spin_lock(&modem->state_lock);
	modem->dialect_choice = choice;
	change = modem->state == QT_STATE_READY &&
		 qt_dialect_for(choice, modem->model) != READ_ONCE(modem->dialect);
	spin_unlock(&modem->state_lock);
	if (change)
		qt_modem_request_restart(modem, "command set changed");
}

/* The arguments of the first line of @resp that starts with @prefix. */
static const char *qt_legacy_line(const char *resp, const char *prefix)
{
	const char *args;

	for (;;) {
		args = at_line_args(resp, prefix);
		if (args)
			return args;
		resp = strchr(resp, '\n');
		if (!resp)
			return NULL;
		resp++;
	}
}

/*
 * The note's first step after the AT sync: fix the rate the module
 * auto-detected, and save it (AT+IPR=<rate>&W), so a power cycle does not
 * depend on auto-baud again. A refusal is logged, not fatal.
 */
int qt_legacy_fix_rate(struct qt_modem *modem)
{
	speed_t rate = tty_get_baud_rate(modem->tty);
	int err;

	err = qt_chan_simple(modem, 0, "AT+IPR=%u&W", rate ?: QT_LEGACY_RATE);
	if (err == -EIO) {
		pr_warn("quectel: %s: AT+IPR=%u&W refused\n", modem->name,
			rate ?: QT_LEGACY_RATE);
		err = 0;
	}
	return err;
}

/*
 * After registration: GPRS attach (AT+CGATT, 180 s), then the stack's
 * settings: foreground context 0, multi-connection mode (several
 * sockets), buffered reception (+QIRDI: back-pressure), command mode.
 * AT+QIMUX is refused while connections exist: a module that kept some
 * from before we attached is deactivated first.
 */
int qt_legacy_bringup(struct qt_modem *modem)
{
	char args[32];
	int err;

	err = qt_modem_query(modem, "AT+CGATT?", "+CGATT:", args, sizeof(args));
	if (err == -ENODEV || err == -ECONNRESET)
		return err;
	if (err || strcmp(args, "1")) {
		err = qt_chan_simple(modem, 0, "AT+CGATT=1");
		if (err)
			return err;
	}
	err = qt_chan_simple(modem, 0, "AT+QIFGCNT=0");
	if (!err)
		err = qt_chan_simple(modem, 0, "AT+QIMODE=0");
	if (!err) {
		err = qt_chan_simple(modem, 0, "AT+QIMUX=1");
		if (err == -EIO) {
			err = qt_chan_simple(modem, 0, "AT+QIDEACT");
			if (!err)
				err = qt_chan_simple(modem, 0, "AT+QIMUX=1");
		}
	}
	if (!err)
		err = qt_chan_simple(modem, 0, "AT+QINDI=1");
	if (!err) {
		spin_lock(&modem->conn_lock);
		modem->ctx_active = 0;
		spin_unlock(&modem->conn_lock);
	}
	return err;
}

/* AT+QISTAT: OK, "STATE: <s>", then a "+QISTAT: <i>, ..." line per index. */
static struct qt_cmd *qt_legacy_stat(struct qt_modem *modem, int *err)
{
	struct qt_cmd *cmd;

	cmd = qt_cmd_alloc(GFP_KERNEL, "AT+QISTAT");
	if (!cmd) {
		*err = -ENOMEM;
		return NULL;
	}
	cmd->end_prefix = "+QISTAT: 5,";
	*err = qt_chan_exec(modem, cmd);
	if (!*err && cmd->final != QT_FINAL_OK)
		*err = -EIO;
	if (*err) {
		qt_cmd_put(cmd);
		return NULL;
	}
	return cmd;
}

static enum qt_legacy_stack qt_legacy_stack_of(const char *resp)
{
	static const struct {
		const char *name;
		enum qt_legacy_stack stack;
	} states[] = {
		{ "IP INITIAL", QT_LG_INITIAL },
		{ "IP START", QT_LG_START },
		{ "IP GPRSACT", QT_LG_GPRSACT },
		{ "IP STATUS", QT_LG_ACTIVE },
		{ "IP PROCESSING", QT_LG_ACTIVE },
		{ "IP CLOSE", QT_LG_ACTIVE },
		{ "CONNECT OK", QT_LG_ACTIVE },
		{ "TCP CONNECTING", QT_LG_ACTIVE },
		{ "UDP CONNECTING", QT_LG_ACTIVE },
	};
	const char *state = qt_legacy_line(resp, "STATE:");
	size_t n;
	int i;

	if (!state)
		return QT_LG_BROKEN;
	n = strcspn(state, "\n");
	for (i = 0; i < ARRAY_SIZE(states); i++)
		if (n == strlen(states[i].name) && !strncmp(state, states[i].name, n))
			return states[i].stack;
	return QT_LG_BROKEN;
}

static int qt_legacy_stack(struct qt_modem *modem, enum qt_legacy_stack *stack)
{
	struct qt_cmd *cmd;
	int err;

	cmd = qt_legacy_stat(modem, &err);
	if (!cmd)
		return err;
	*stack = qt_legacy_stack_of(cmd->resp);
	qt_cmd_put(cmd);
	return 0;
}

static void qt_legacy_set_active(struct qt_modem *modem, bool active, const char *ip)
{
	spin_lock(&modem->conn_lock);
	if (active)
		modem->ctx_active |= BIT(1);
	else
		modem->ctx_active &= ~BIT(1);
	if (ip)
		strscpy(modem->ctx_ip[1], ip, sizeof(modem->ctx_ip[1]));
	else if (!active)
		modem->ctx_ip[1][0] = '\0';
	spin_unlock(&modem->conn_lock);
}

/* ctx_lock held: whether the foreground context is usable (ctx_active). */
int qt_legacy_ctx_query(struct qt_modem *modem)
{
	enum qt_legacy_stack stack;
	int err;

	lockdep_assert_held(&modem->ctx_lock);
	err = qt_legacy_stack(modem, &stack);
	if (!err)
		qt_legacy_set_active(modem, stack == QT_LG_ACTIVE, NULL);
	return err;
}

/* AT+QICSGP=1,"<apn>"[,"<user>","<pass>"]: what netlink set, else apn=. */
static int qt_legacy_configure(struct qt_modem *modem)
{
	struct qt_ctx_cfg cfg;

	qt_ctx_get_cfg(modem, 1, &cfg);
	if (cfg.set && (cfg.user[0] || cfg.pass[0]))
		return qt_chan_simple(modem, 0, "AT+QICSGP=1,\"%s\",\"%s\",\"%s\"",
				      cfg.apn, cfg.user, cfg.pass);
	if (cfg.set)
		return qt_chan_simple(modem, 0, "AT+QICSGP=1,\"%s\"", cfg.apn);
	if (!qt_apn_valid(qt_apn))
		return -EINVAL;
	return qt_chan_simple(modem, 0, "AT+QICSGP=1,\"%s\"", qt_apn);
}

static int qt_legacy_cmd(struct qt_modem *modem, bool user, struct qt_cmd *cmd)
{
	int err;

	err = user ? qt_chan_exec_wait(modem, cmd, MAX_SCHEDULE_TIMEOUT) :
		     qt_chan_exec(modem, cmd);
	if (!err && cmd->final != QT_FINAL_OK)
		err = -EIO;
	return err;
}

/* AT+QIACT: no answer in 180 s, or 3 failures in a row: restart. */
static int qt_legacy_qiact(struct qt_modem *modem, bool user)
{
	struct qt_cmd *cmd;
	int err;

	qt_ctx_fresh_counts(modem);
	cmd = qt_cmd_alloc(GFP_KERNEL, "AT+QIACT");
	if (!cmd)
		return -ENOMEM;
	err = qt_legacy_cmd(modem, user, cmd);
	qt_cmd_put(cmd);
	if (!err) {
		modem->qiact_failures = 0;
	} else if (err == -ETIMEDOUT) {
		qt_modem_request_restart(modem, "AT+QIACT got no answer");
	} else if (err == -EIO &&
		   ++modem->qiact_failures >= QT_LEGACY_QIACT_FAILURES_MAX) {
		modem->qiact_failures = 0;
		qt_modem_request_restart(modem, "AT+QIACT failed three times");
	}
	return err;
}

/*
 * Activate the foreground context the note's way, from wherever the stack
 * stands: AT+QICSGP and AT+QIREGAPP (IP START), AT+QIACT (IP GPRSACT),
 * AT+QILOCIP (IP STATUS: connections may open). ctx_lock held.
 */
int qt_legacy_ctx_activate(struct qt_modem *modem, bool user)
{
	enum qt_legacy_stack stack;
	struct qt_cmd *cmd;
	int err;

	lockdep_assert_held(&modem->ctx_lock);
	err = qt_legacy_stack(modem, &stack);
	if (err)
		return err;
	if (stack == QT_LG_BROKEN) {
		err = qt_chan_simple(modem, 0, "AT+QIDEACT");
		if (err)
			return err == -EIO ? -ENETUNREACH : err;
		stack = QT_LG_INITIAL;
	}
	if (stack == QT_LG_INITIAL) {
		err = qt_legacy_configure(modem);
		if (!err)
			err = qt_chan_simple(modem, 0, "AT+QIREGAPP");
		if (err)
			return err == -EIO ? -ENETUNREACH : err;
		stack = QT_LG_START;
	}
	if (stack == QT_LG_START) {
		err = qt_legacy_qiact(modem, user);
		if (err)
			return err == -EIO ? -ENETUNREACH : err;
	}

	/* AT+QILOCIP answers with the address alone: no OK follows. */
	cmd = qt_cmd_alloc(GFP_KERNEL, "AT+QILOCIP");
	if (!cmd)
		return -ENOMEM;
	cmd->info_final = true;
	err = qt_legacy_cmd(modem, user, cmd);
	if (!err)
		qt_legacy_set_active(modem, true, cmd->resp);
	qt_cmd_put(cmd);
	return err == -EIO ? -ENETUNREACH : err;
}

/*
 * AT+QIOPEN=<i>,"TCP"|"UDP","<host>","<port>" (AT+QIDNSIP says whether
 * host is a name). Returns 0 once the module said OK (CONNECT OK or FAIL
 * follows), or -errno. "ALREADY CONNECT": the module holds a connection
 * on that index that is none of ours (from before we attached): it is
 * closed and the open tried once more.
 */
int qt_legacy_open(struct qt_modem *modem, int id, bool udp, const char *host,
		   u16 port)
{
	u8 addr[16];
	bool name = !in4_pton(host, -1, addr, -1, NULL) &&
		    !in6_pton(host, -1, addr, -1, NULL);
	enum qt_final final;
	struct qt_cmd *cmd;
	int err, tries;

	err = qt_chan_simple(modem, 0, "AT+QIDNSIP=%d", name);
	if (err)
		return err;
	for (tries = 0; tries < 2; tries++) {
		cmd = qt_cmd_alloc(GFP_KERNEL, "AT+QIOPEN=%d,\"%s\",\"%s\",\"%u\"",
				   id, udp ? "UDP" : "TCP", host, port);
		if (!cmd)
			return -ENOMEM;
		cmd->result_id = id;
		err = qt_chan_exec(modem, cmd);
		final = cmd->final;
		qt_cmd_put(cmd);
		if (err)
			return err;
		switch (final) {
		case QT_FINAL_OK:
			return 0;
		case QT_FINAL_ALREADY_CONNECT:
			qt_chan_simple(modem, 0, "AT+QICLOSE=%d", id);
			continue;
		case QT_FINAL_CONNECT_FAIL:
			qt_legacy_close(modem, id, true);
			return -ECONNREFUSED;
		default:
			return -EIO;
		}
	}
	return -EADDRINUSE;
}

/* A "CONNECT OK" or "CONNECT FAIL" of index @tok->id. Parser callback. */
void qt_legacy_result(struct qt_modem *modem, const struct at_token *tok)
{
	struct qt_slot *slot;
	int id = tok->id;

	if (id < 0 || id >= QT_LEGACY_CONNS || tok->kind == AT_TOK_ALREADY_CONNECT)
		return;
	spin_lock(&modem->conn_lock);
	slot = &modem->slots[id];
	if (slot->state == QT_SLOT_OPENING ||
	    (slot->state == QT_SLOT_RESERVED && slot->sent)) {
		if (tok->kind == AT_TOK_CONNECT_OK) {
			slot->open_err = 0;
		} else {
			slot->open_err = 566;	/* the modern set's "connect failed" */
			slot->connect_failed = true;
		}
	}
	spin_unlock(&modem->conn_lock);
	qt_conn_kick(modem);
}

/* AT+QIRD=0,1,<i>,1500: context 0 (foreground), 1 a client connection. */
struct qt_cmd *qt_legacy_read_cmd(int id)
{
	return qt_cmd_alloc(GFP_KERNEL, "AT+QIRD=0,1,%d,%d", id, QT_READ_MAX);
}

/*
 * The length "+QIRD: <ip>:<port>,TCP|UDP,<n>" announced: @got bytes came.
 * No such line: the buffer was empty (0). Returns -1 if malformed.
 */
int qt_legacy_read_len(const struct qt_cmd *cmd, unsigned int got)
{
	const char *args = qt_legacy_line(cmd->resp, "+QIRD:");
	struct at_field f[4];
	int nf, n;

	if (!args)
		return got ? -1 : 0;
	nf = at_fields_split(args, strcspn(args, "\n"), f, ARRAY_SIZE(f));
	if (nf != 3 || at_field_int(&f[2], 0, QT_READ_MAX, &n) || n != got)
		return -1;
	return n;
}

/* AT+QISACK=<i>: "+QISACK: <sent>,<acked>,<nacked>". */
int qt_legacy_query_acks(struct qt_modem *modem, int id, u32 *acked, u32 *unacked)
{
	struct at_field f[4];
	char args[64];
	char line[24];
	int a, u, err;

	snprintf(line, sizeof(line), "AT+QISACK=%d", id);
	err = qt_modem_query(modem, line, "+QISACK:", args, sizeof(args));
	if (err)
		return err;
	if (at_fields_split(args, strlen(args), f, ARRAY_SIZE(f)) != 3 ||
	    at_field_int(&f[1], 0, INT_MAX, &a) || at_field_int(&f[2], 0, INT_MAX, &u))
		return -EPROTO;
	*acked = a;
	*unacked = u;
	return 0;
}

/*
 * How many bytes of a stream may go now without the unacknowledged ones
 * passing the note's 3000 (*room, 0: wait until qs->next_send). Polls
 * AT+QISACK when our estimate is used up; backs off from 20 ms to 5 s
 * while the peer acknowledges nothing, and fails the connection with
 * -ETIMEDOUT after 20 such polls 5 s apart. Worker.
 */
int qt_legacy_send_room(struct qt_modem *modem, struct qt_sock *qs, int id,
			unsigned int *room)
{
	struct sock *sk = &qs->sk;
	u32 acked, unacked;
	unsigned int est;
	int err;

	lock_sock(sk);
	est = qs->lg_unacked;
	release_sock(sk);
	if (qs->service != QT_SVC_TCP || est + QT_SEND_MAX <= QT_LEGACY_UNACKED_MAX) {
		*room = QT_SEND_MAX;
		return 0;
	}

	err = qt_legacy_query_acks(modem, id, &acked, &unacked);
	if (err)
		return err;
	lock_sock(sk);
	if (acked != qs->last_acked || unacked < QT_LEGACY_UNACKED_MAX) {
		/* Progress: the next poll is quick again. */
		qs->lg_poll_ms = 0;
		qs->lg_stalls = 0;
	} else if (qs->lg_poll_ms >= QT_LEGACY_POLL_MAX_MS &&
		   ++qs->lg_stalls >= QT_LEGACY_STALLS_MAX) {
		release_sock(sk);
		return -ETIMEDOUT;
	}
	qs->last_acked = acked;
	qs->lg_unacked = unacked;
	*room = unacked < QT_LEGACY_UNACKED_MAX ?
		min_t(unsigned int, QT_LEGACY_UNACKED_MAX - unacked, QT_SEND_MAX) : 0;
	if (!*room) {
		qs->lg_poll_ms = clamp(qs->lg_poll_ms * 2, QT_LEGACY_POLL_MIN_MS,
				       QT_LEGACY_POLL_MAX_MS);
		qs->next_send = jiffies + msecs_to_jiffies(qs->lg_poll_ms);
	}
	release_sock(sk);
	return 0;
}

/* @n more bytes are with the module, unacknowledged. Socket lock held. */
void qt_legacy_sent(struct qt_sock *qs, unsigned int n)
{
	if (qs->service == QT_SVC_TCP)
		qs->lg_unacked += n;
}

/*
 * Close index @id: AT+QICLOSE=<i> ("<i>, CLOSE OK"). After CONNECT FAIL
 * the note has AT+QISTAT decide: an index still "TCP CONNECTING" is
 * closed; a stack that lost its context is deactivated (the engine sends
 * AT+QIDEACT); an index the module already forgot needs nothing. Worker.
 */
void qt_legacy_close(struct qt_modem *modem, int id, bool connect_failed)
{
	char prefix[16];
	struct qt_cmd *cmd;
	const char *line;
	bool connecting;
	int err;

	if (!connect_failed) {
		qt_chan_simple(modem, 0, "AT+QICLOSE=%d", id);
		return;
	}
	cmd = qt_legacy_stat(modem, &err);
	if (!cmd)
		return;
	snprintf(prefix, sizeof(prefix), "+QISTAT: %d,", id);
	line = strstr(cmd->resp, prefix);
	connecting = line && strnstr(line, "CONNECTING", strcspn(line, "\n"));
	if (!connecting && qt_legacy_stack_of(cmd->resp) != QT_LG_ACTIVE) {
		spin_lock(&modem->conn_lock);
		modem->ctx_active &= ~BIT(1);
		modem->ctx_deact |= BIT(1);
		spin_unlock(&modem->conn_lock);
		qt_conn_kick(modem);
	}
	qt_cmd_put(cmd);
	if (connecting)
		qt_chan_simple(modem, 0, "AT+QICLOSE=%d", id);
}
