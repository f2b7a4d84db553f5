// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "quectel": modem state, PDP contexts, ping,
 * per-command timeouts, raw AT, and the "events" multicast group. The ABI
 * is uapi/linux/quectel.h; the contract docs/CONTROL.md.
 *
 * Handlers run in process context (the netlink socket's sendmsg or
 * recvmsg) without genl_mutex (parallel_ops): they sleep on the modem's
 * commands, interruptibly. Every string that reaches a command line was
 * validated here first.
 */
#include <linux/ctype.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "qt.h"

#define QT_AT_LINE_MAX		256
#define QT_PING_REPLIES_MAX	10
#define QT_PING_SLACK_S		10

static struct genl_family qt_genl_family;

enum qt_genl_mcgrp { QT_MCGRP_EVENTS };

static const struct genl_multicast_group qt_genl_mcgrps[] = {
	[QT_MCGRP_EVENTS] = { .name = QT_GENL_MCGRP_EVENTS },
};

/* Not const: the 6.1 policy field is a plain pointer. */
static struct netlink_range_validation qt_timeout_range = {
	.min = 100,
	.max = 600000,
};

/* Requests: only these attributes; strict validation rejects the rest. */
static const struct nla_policy qt_genl_policy[QT_A_MAX + 1] = {
	[QT_A_MODEM]		= { .type = NLA_U32 },
	[QT_A_CTX_ID]		= NLA_POLICY_RANGE(NLA_U8, 1, QT_MAX_CTX),
	[QT_A_CTX_TYPE]		= NLA_POLICY_RANGE(NLA_U8, QT_CTX_IPV4, QT_CTX_IPV4V6),
	[QT_A_CTX_APN]		= { .type = NLA_NUL_STRING, .len = QT_APN_MAX },
	[QT_A_CTX_USER]		= { .type = NLA_NUL_STRING, .len = QT_CRED_MAX },
	[QT_A_CTX_PASSWORD]	= { .type = NLA_NUL_STRING, .len = QT_CRED_MAX },
	[QT_A_CTX_AUTH]		= NLA_POLICY_MAX(NLA_U8, QT_AUTH_ANY),
	[QT_A_PING_HOST]	= { .type = NLA_NUL_STRING, .len = QT_HOST_MAX - 1 },
	[QT_A_PING_COUNT]	= NLA_POLICY_RANGE(NLA_U32, 1, QT_PING_REPLIES_MAX),
	[QT_A_PING_TIMEOUT]	= NLA_POLICY_RANGE(NLA_U32, 1, 255),
	[QT_A_TIMEOUT_CMD]	= { .type = NLA_NUL_STRING, .len = 15 },
	[QT_A_TIMEOUT_MS]	= NLA_POLICY_FULL_RANGE(NLA_U32, &qt_timeout_range),
	[QT_A_AT_LINE]		= { .type = NLA_NUL_STRING, .len = QT_AT_LINE_MAX },
	[QT_A_MODEM_DIALECT_CHOICE] = { .type = NLA_NUL_STRING, .len = 7 },
};

static const char *const qt_tmo_names[QT_TMO_NR] = {
	[QT_TMO_DEFAULT]	= "default",
	[QT_TMO_QIACT]		= "qiact",
	[QT_TMO_QIOPEN]		= "qiopen",
	[QT_TMO_QICLOSE]	= "qiclose",
	[QT_TMO_QIDEACT]	= "qideact",
	[QT_TMO_CFUN]		= "cfun",
	[QT_TMO_CGATT]		= "cgatt",
};

/* ---- events ---------------------------------------------------------- */

/*
 * Tell the modem's namespace about @ev. Process context (bring-up work,
 * detach, parser callbacks, the channel's timeout work): no spinlock held.
 * Best effort: a failed allocation loses the event.
 */
void qt_genl_event(struct qt_modem *modem, enum qt_event ev, const char *reason,
		   int ctx, u32 backoff_ms)
{
	struct sk_buff *skb;
	void *hdr;

	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &qt_genl_family, 0, QT_CMD_EVENT);
	if (!hdr)
		goto err;
	if (nla_put_u8(skb, QT_A_EVENT, ev) ||
	    nla_put_u32(skb, QT_A_MODEM, modem->index) ||
	    nla_put_string(skb, QT_A_MODEM_NAME, modem->name) ||
	    (reason && nla_put_string(skb, QT_A_REASON, reason)) ||
	    (ctx && nla_put_u8(skb, QT_A_CTX_ID, ctx)) ||
	    (ev == QT_EV_RESTART && nla_put_u32(skb, QT_A_BACKOFF_MS, backoff_ms)))
		goto err;
	genlmsg_end(skb, hdr);
	genlmsg_multicast_netns(&qt_genl_family, read_pnet(&modem->net), skb, 0,
				QT_MCGRP_EVENTS, GFP_KERNEL);
	return;
err:
	nlmsg_free(skb);
}

/* ---- helpers ---------------------------------------------------------- */

/* The modem QT_A_MODEM names, in the caller's namespace; referenced. */
static struct qt_modem *qt_genl_modem(struct genl_info *info)
{
	struct qt_modem *modem;

	if (GENL_REQ_ATTR_CHECK(info, QT_A_MODEM))
		return ERR_PTR(-EINVAL);
	modem = qt_modem_get_by_index(genl_info_net(info),
				      nla_get_u32(info->attrs[QT_A_MODEM]));
	if (!modem) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[QT_A_MODEM],
				    "no such modem in this network namespace");
		return ERR_PTR(-ENODEV);
	}
	return modem;
}

/* The same, and it must be ready: changes go through the running modem. */
static struct qt_modem *qt_genl_ready_modem(struct genl_info *info)
{
	struct qt_modem *modem = qt_genl_modem(info);

	if (!IS_ERR(modem) && !qt_modem_is_ready(modem)) {
		qt_modem_put(modem);
		NL_SET_ERR_MSG(info->extack, "modem is not ready");
		return ERR_PTR(-ENETDOWN);
	}
	return modem;
}

/* Printable ASCII without '"' and '\': a PDP user name or password. */
static bool qt_cred_valid(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return false;
	return true;
}

/* As sqt_host: what can stand between quotes in a command line. */
static bool qt_genl_host_valid(const char *host)
{
	const char *p;

	if (!*host)
		return false;
	for (p = host; *p; p++)
		if (!isalnum(*p) && *p != '.' && *p != '-' && *p != '_' && *p != ':')
			return false;
	return true;
}

/* ---- QT_CMD_MODEM_GET -------------------------------------------------- */

static int qt_put_stats(struct sk_buff *skb, const struct qt_modem_info *in)
{
	const struct {
		int attr;
		u64 val;
	} v[] = {
		{ QT_STAT_RX_BYTES, in->stats.rx_bytes },
		{ QT_STAT_TX_BYTES, in->stats.tx_bytes },
		{ QT_STAT_COMMANDS, in->stats.commands },
		{ QT_STAT_TIMEOUTS, in->stats.timeouts },
		{ QT_STAT_URCS, in->stats.urcs },
		{ QT_STAT_PARSE_ERRORS, in->parser.garbage },
		{ QT_STAT_RESTARTS, in->stats.restarts },
		{ QT_STAT_REBOOTS, in->stats.reboots },
		{ QT_STAT_INCOMING_FULL, in->stats.incoming_full },
		{ QT_STAT_ACCEPT_OVERFLOW, in->stats.accept_overflow },
	};
	struct nlattr *nest;
	unsigned int i;

	nest = nla_nest_start(skb, QT_A_MODEM_STATS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < ARRAY_SIZE(v); i++)
		if (nla_put_u64_64bit(skb, v[i].attr, v[i].val, QT_STAT_PAD))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* One QT_A_CTX per context that is active or configured. */
static int qt_put_contexts(struct sk_buff *skb, struct qt_modem *modem)
{
	struct nlattr *list, *nest;
	struct qt_ctx_cfg cfg;
	char ip[48];
	bool active;
	int ctx;

	list = nla_nest_start(skb, QT_A_MODEM_CTXS);
	if (!list)
		return -EMSGSIZE;
	for (ctx = 1; ctx <= QT_MAX_CTX; ctx++) {
		spin_lock(&modem->conn_lock);
		active = modem->ctx_active & BIT(ctx);
		strscpy(ip, modem->ctx_ip[ctx], sizeof(ip));
		cfg = modem->ctx_cfg[ctx];
		spin_unlock(&modem->conn_lock);
		if (!active && !cfg.set)
			continue;
		if (!cfg.set) {
			/* What the kernel configures it with: the apn parameter. */
			cfg.type = QT_CTX_IPV4;
			cfg.auth = QT_AUTH_NONE;
			strscpy(cfg.apn, qt_apn_valid(qt_apn) ? qt_apn : "", sizeof(cfg.apn));
		}
		nest = nla_nest_start(skb, QT_A_CTX);
		if (!nest ||
		    nla_put_u8(skb, QT_A_CTX_ID, ctx) ||
		    nla_put_u8(skb, QT_A_CTX_ACTIVE, active) ||
		    (active && *ip && nla_put_string(skb, QT_A_CTX_ADDR, ip)) ||
		    nla_put_u8(skb, QT_A_CTX_TYPE, cfg.type) ||
		    nla_put_string(skb, QT_A_CTX_APN, cfg.apn) ||
		    nla_put_string(skb, QT_A_CTX_USER, cfg.user) ||
		    nla_put_u8(skb, QT_A_CTX_AUTH, cfg.auth))
			return -EMSGSIZE;
		nla_nest_end(skb, nest);
	}
	nla_nest_end(skb, list);
	memzero_explicit(&cfg, sizeof(cfg));
	return 0;
}

static int qt_put_timeouts(struct sk_buff *skb, struct qt_modem *modem)
{
	struct nlattr *list, *nest;
	int i;

	list = nla_nest_start(skb, QT_A_MODEM_TIMEOUTS);
	if (!list)
		return -EMSGSIZE;
	for (i = 0; i < QT_TMO_NR; i++) {
		nest = nla_nest_start(skb, QT_A_TIMEOUT);
		if (!nest ||
		    nla_put_string(skb, QT_A_TIMEOUT_CMD, qt_tmo_names[i]) ||
		    nla_put_u32(skb, QT_A_TIMEOUT_MS, READ_ONCE(modem->cmd_timeout_ms[i])))
			return -EMSGSIZE;
		nla_nest_end(skb, nest);
	}
	nla_nest_end(skb, list);
	return 0;
}

static int qt_sockets_in_use(struct qt_modem *modem)
{
	int id, n = 0;

	spin_lock(&modem->conn_lock);
	for (id = 0; id < QT_MAX_CONNS; id++)
		n += modem->slots[id].state != QT_SLOT_FREE;
	spin_unlock(&modem->conn_lock);
	return n;
}

static int qt_fill_modem(struct sk_buff *skb, struct qt_modem *modem,
			 u32 portid, u32 seq, int flags)
{
	struct qt_modem_info in;
	void *hdr;

	qt_modem_refresh_radio(modem);
	qt_modem_snapshot(modem, &in);

	hdr = genlmsg_put(skb, portid, seq, &qt_genl_family, flags, QT_CMD_MODEM_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, QT_A_MODEM, modem->index) ||
	    nla_put_string(skb, QT_A_MODEM_NAME, modem->name) ||
	    nla_put_string(skb, QT_A_MODEM_TTY, modem->tty_name) ||
	    nla_put_string(skb, QT_A_MODEM_DIALECT, qt_dialect_name(modem)) ||
	    nla_put_string(skb, QT_A_MODEM_DIALECT_CHOICE,
			   qt_dialect_choice_name(READ_ONCE(modem->dialect_choice))) ||
	    nla_put_string(skb, QT_A_MODEM_STATE, qt_modem_state_name(in.state)) ||
	    nla_put_string(skb, QT_A_MODEM_MODEL, in.model) ||
	    nla_put_string(skb, QT_A_MODEM_REVISION, in.revision) ||
	    nla_put_string(skb, QT_A_MODEM_IMEI, in.imei) ||
	    (in.rssi >= 0 && nla_put_u32(skb, QT_A_MODEM_RSSI, in.rssi)) ||
	    (in.ber >= 0 && nla_put_u32(skb, QT_A_MODEM_BER, in.ber)) ||
	    (in.reg >= 0 && nla_put_u32(skb, QT_A_MODEM_REG, in.reg)) ||
	    nla_put_u32(skb, QT_A_MODEM_SOCKETS, qt_sockets_in_use(modem)) ||
	    (in.reason && nla_put_string(skb, QT_A_REASON, in.reason)) ||
	    qt_put_stats(skb, &in) || qt_put_contexts(skb, modem) ||
	    qt_put_timeouts(skb, modem)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int qt_genl_modem_get(struct sk_buff *skb, struct genl_info *info)
{
	struct qt_modem *modem = qt_genl_modem(info);
	struct sk_buff *msg;
	int err;

	if (IS_ERR(modem))
		return PTR_ERR(modem);
	msg = nlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		err = -ENOMEM;
		goto out;
	}
	err = qt_fill_modem(msg, modem, info->snd_portid, info->snd_seq, 0);
	if (err) {
		nlmsg_free(msg);
		goto out;
	}
	err = genlmsg_reply(msg, info);
out:
	qt_modem_put(modem);
	return err;
}

/* cb->args[0]: the next modem index to dump. */
static int qt_genl_modem_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct net *net = sock_net(skb->sk);
	struct qt_modem *modem;
	int err;

	while ((modem = qt_modem_get_next(net, cb->args[0]))) {
		err = qt_fill_modem(skb, modem, NETLINK_CB(cb->skb).portid,
				    cb->nlh->nlmsg_seq, NLM_F_MULTI);
		cb->args[0] = modem->index + (err ? 0 : 1);
		qt_modem_put(modem);
		if (err)
			break;
	}
	return skb->len;
}

/* ---- contexts ---------------------------------------------------------- */

/* A legacy modem has one context, our 1 (its foreground context). */
static int qt_legacy_ctx_check(struct qt_modem *modem, int ctx,
			       struct netlink_ext_ack *extack)
{
	if (!qt_legacy(modem) || ctx == 1)
		return 0;
	NL_SET_ERR_MSG(extack, "a legacy (GSM) modem has context 1 only");
	return -EINVAL;
}

static int qt_genl_ctx_set(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	struct qt_ctx_cfg cfg = { .type = QT_CTX_IPV4, .auth = QT_AUTH_NONE };
	struct qt_modem *modem;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, QT_A_CTX_ID) ||
	    GENL_REQ_ATTR_CHECK(info, QT_A_CTX_APN))
		return -EINVAL;
	nla_strscpy(cfg.apn, a[QT_A_CTX_APN], sizeof(cfg.apn));
	if (!qt_apn_valid(cfg.apn)) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[QT_A_CTX_APN],
				    "APN may only hold A-Z a-z 0-9 . - _");
		return -EINVAL;
	}
	if (a[QT_A_CTX_USER]) {
		nla_strscpy(cfg.user, a[QT_A_CTX_USER], sizeof(cfg.user));
		cfg.auth = QT_AUTH_ANY;
	}
	if (a[QT_A_CTX_PASSWORD]) {
		if (!a[QT_A_CTX_USER]) {
			NL_SET_ERR_MSG_ATTR(info->extack, a[QT_A_CTX_PASSWORD],
					    "a password needs a user");
			return -EINVAL;
		}
		nla_strscpy(cfg.pass, a[QT_A_CTX_PASSWORD], sizeof(cfg.pass));
	}
	if (!qt_cred_valid(cfg.user) || !qt_cred_valid(cfg.pass)) {
		NL_SET_ERR_MSG(info->extack,
			       "user and password: printable ASCII without '\"' or '\\\\'");
		err = -EINVAL;
		goto out_wipe;
	}
	if (a[QT_A_CTX_TYPE])
		cfg.type = nla_get_u8(a[QT_A_CTX_TYPE]);
	if (a[QT_A_CTX_AUTH])
		cfg.auth = nla_get_u8(a[QT_A_CTX_AUTH]);

	modem = qt_genl_ready_modem(info);
	if (IS_ERR(modem)) {
		err = PTR_ERR(modem);
		goto out_wipe;
	}
	err = qt_legacy_ctx_check(modem, nla_get_u8(a[QT_A_CTX_ID]), info->extack);
	if (!err && qt_legacy(modem) && cfg.type != QT_CTX_IPV4) {
		NL_SET_ERR_MSG(info->extack, "a legacy (GSM) modem has IPv4 contexts only");
		err = -EOPNOTSUPP;
	}
	if (!err)
		err = qt_ctx_set(modem, nla_get_u8(a[QT_A_CTX_ID]), &cfg);
	qt_modem_put(modem);
out_wipe:
	memzero_explicit(&cfg, sizeof(cfg));
	return err;
}

static int qt_genl_ctx_updown(struct sk_buff *skb, struct genl_info *info)
{
	struct qt_modem *modem;
	int ctx, err;

	if (GENL_REQ_ATTR_CHECK(info, QT_A_CTX_ID))
		return -EINVAL;
	ctx = nla_get_u8(info->attrs[QT_A_CTX_ID]);
	modem = qt_genl_ready_modem(info);
	if (IS_ERR(modem))
		return PTR_ERR(modem);
	err = qt_legacy_ctx_check(modem, ctx, info->extack);
	if (!err && info->genlhdr->cmd == QT_CMD_CTX_UP)
		err = qt_ctx_up(modem, ctx);
	else if (!err)
		err = qt_ctx_down(modem, ctx, true);
	qt_modem_put(modem);
	return err;
}

/* ---- command set ------------------------------------------------------- */

static int qt_genl_dialect_set(struct sk_buff *skb, struct genl_info *info)
{
	struct qt_modem *modem;
	int choice;

	if (GENL_REQ_ATTR_CHECK(info, QT_A_MODEM_DIALECT_CHOICE))
		return -EINVAL;
	choice = qt_dialect_parse(nla_data(info->attrs[QT_A_MODEM_DIALECT_CHOICE]));
	if (choice < 0) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[QT_A_MODEM_DIALECT_CHOICE],
				    "not auto, modern or legacy");
		return choice;
	}
	modem = qt_genl_modem(info);
	if (IS_ERR(modem))
		return PTR_ERR(modem);
	qt_dialect_set_choice(modem, choice);
	qt_modem_put(modem);
	return 0;
}

/* ---- timeouts ---------------------------------------------------------- */

static int qt_genl_timeout_set(struct sk_buff *skb, struct genl_info *info)
{
	struct qt_modem *modem;
	int i;

	if (GENL_REQ_ATTR_CHECK(info, QT_A_TIMEOUT_CMD) ||
	    GENL_REQ_ATTR_CHECK(info, QT_A_TIMEOUT_MS))
		return -EINVAL;
	for (i = 0; i < QT_TMO_NR; i++)
		if (!nla_strcmp(info->attrs[QT_A_TIMEOUT_CMD], qt_tmo_names[i]))
			break;
	if (i == QT_TMO_NR) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[QT_A_TIMEOUT_CMD],
				    "unknown command class");
		return -EINVAL;
	}
	modem = qt_genl_modem(info);
	if (IS_ERR(modem))
		return PTR_ERR(modem);
	WRITE_ONCE(modem->cmd_timeout_ms[i], nla_get_u32(info->attrs[QT_A_TIMEOUT_MS]));
	/* A dialect chosen later keeps it. */
	spin_lock(&modem->state_lock);
	modem->tmo_user |= BIT(i);
	spin_unlock(&modem->state_lock);
	qt_modem_put(modem);
	return 0;
}

/* ---- raw AT ------------------------------------------------------------ */

/*
 * Extended commands that would take the port out of command mode, change
 * the framing the tokenizer relies on, or act behind the kernel's back
 * (those with a netlink command of their own among them).
 */
static const char *const qt_at_refused[] = {
	"+QISEND", "+QISENDEX", "+QISWTMD", "+QIOPEN", "+QICLOSE", "+QIRD",
	"+QIMODE", "+QISDE", "+QIACT", "+QIDEACT", "+QPING", "+QICFG",
	"+QURCCFG", "+CMEE", "+CMGS", "+CMGW", "+CFUN", "+IPR",
	/* the legacy set's own */
	"+QIMUX", "+QINDI", "+QIHEAD", "+QISHOWRA", "+QISHOWPT", "+QIFGCNT",
	"+QIREGAPP", "+QILOCIP", "+QIDNSIP", "+QITCFG", "+QISTAT",
};

/* "AT+QISEND=<id>,0", the acknowledgement query: the one form allowed. */
static bool qt_at_is_ack_query(const char *up)
{
	const char *p = up + strlen("AT+QISEND=");

	if (strncmp(up, "AT+QISEND=", strlen("AT+QISEND=")) || !isdigit(*p))
		return false;
	while (isdigit(*p))
		p++;
	return !strcmp(p, ",0");
}

/*
 * May @line go to the modem? One command only: "AT", "ATI[<n>]" or one
 * extended command "AT+<name>...", printable, no ';' (no chaining), and
 * not one of the refused. Returns 0 or -errno, the reason in @extack.
 */
/* No '&' outside the double-quoted strings of @args (a glued basic command). */
static bool qt_at_args_plain(const char *args)
{
	bool quoted = false;

	for (; *args; args++) {
		if (*args == '"')
			quoted = !quoted;
		else if (*args == '&' && !quoted)
			return false;
	}
	return true;
}

static int qt_at_check(const char *line, struct netlink_ext_ack *extack)
{
	char up[QT_AT_LINE_MAX + 1];
	size_t i, n, len = strlen(line);

	if (len < 2 || strncasecmp(line, "AT", 2)) {
		NL_SET_ERR_MSG(extack, "a command line starts with AT");
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (line[i] < 0x20 || line[i] > 0x7e) {
			NL_SET_ERR_MSG(extack, "only printable ASCII in a command line");
			return -EINVAL;
		}
		up[i] = toupper(line[i]);
	}
	up[len] = '\0';
	if (strchr(up, ';')) {
		NL_SET_ERR_MSG(extack, "one command per line: no ';'");
		return -EPERM;
	}
	if (up[2] != '+') {
		/* Basic commands: only AT and ATI[<n>]; others change the framing. */
		if (!up[2] || (up[2] == 'I' && strspn(up + 3, "0123456789") == len - 3))
			return 0;
		NL_SET_ERR_MSG(extack, "of the basic commands only AT and ATI are allowed");
		return -EPERM;
	}
	if (qt_at_is_ack_query(up))
		return 0;
	/*
	 * One extended command: its name, then nothing, "?", "=?" or "=" and
	 * arguments. Modules skip spaces and run a basic command glued on
	 * ("AT+CFUN =0", "AT+GMR&F", "AT+CPIN?Z"), so the name must end
	 * at '=', '?' or the end, a query or test at the end of the line, and
	 * no '&' may stand outside a quoted argument.
	 */
	n = 1 + strspn(up + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_%!-.:/");
	if (up[2 + n] && up[2 + n] != '=' && up[2 + n] != '?')
		goto glued;
	if (!strcmp(up + 2 + n, "?") || !strcmp(up + 2 + n, "=?"))
		goto named;
	if (up[2 + n] == '?' || !strncmp(up + 2 + n, "=?", 2))
		goto glued;
	if (!qt_at_args_plain(up + 2 + n))
		goto glued;
named:
	for (i = 0; i < ARRAY_SIZE(qt_at_refused); i++)
		if (n == strlen(qt_at_refused[i]) && !strncmp(up + 2, qt_at_refused[i], n))
			goto refused;
	return 0;
glued:
	NL_SET_ERR_MSG(extack, "one extended command: a basic command or a space after it is refused");
	return -EPERM;
refused:
	NL_SET_ERR_MSG(extack, "this command would disturb the kernel's use of the modem");
	return -EPERM;
}

/* "at+csq" -> "+CSQ:": which information lines answer it. */
static void qt_at_resp_prefix(const char *line, char *buf, size_t len)
{
	size_t i, n = strcspn(line + 2, "=?");

	buf[0] = '\0';
	if (line[2] != '+' || n < 2 || n + 2 > len)
		return;
	for (i = 0; i < n; i++)
		buf[i] = toupper(line[2 + i]);
	buf[n] = ':';
	buf[n + 1] = '\0';
}

static const char *qt_final_name(const struct qt_cmd *cmd, char *buf, size_t len)
{
	switch (cmd->final) {
	case QT_FINAL_OK:		return "OK";
	case QT_FINAL_ERROR:		return "ERROR";
	case QT_FINAL_CME:
		snprintf(buf, len, "+CME ERROR: %d", cmd->code);
		return buf;
	case QT_FINAL_CMS:
		snprintf(buf, len, "+CMS ERROR: %d", cmd->code);
		return buf;
	case QT_FINAL_SEND_OK:		return "SEND OK";
	case QT_FINAL_SEND_FAIL:	return "SEND FAIL";
	case QT_FINAL_CONNECT:		return "CONNECT";
	case QT_FINAL_NO_CARRIER:	return "NO CARRIER";
	case QT_FINAL_CLOSE_OK:		return "CLOSE OK";
	case QT_FINAL_DEACT_OK:		return "DEACT OK";
	default:			return "";
	}
}

static int qt_genl_at(struct sk_buff *skb, struct genl_info *info)
{
	char line[QT_AT_LINE_MAX + 1], final[32];
	struct qt_modem *modem;
	struct sk_buff *msg;
	struct qt_cmd *cmd;
	void *hdr;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, QT_A_AT_LINE))
		return -EINVAL;
	nla_strscpy(line, info->attrs[QT_A_AT_LINE], sizeof(line));
	err = qt_at_check(line, info->extack);
	if (err)
		return err;
	modem = qt_genl_modem(info);
	if (IS_ERR(modem))
		return PTR_ERR(modem);

	cmd = qt_cmd_alloc(GFP_KERNEL, "%s", line);
	if (!cmd) {
		err = -ENOMEM;
		goto out_modem;
	}
	/* In the command: the channel may hold it longer than we wait. */
	qt_at_resp_prefix(line, cmd->prefix_buf, sizeof(cmd->prefix_buf));
	if (cmd->prefix_buf[0])
		cmd->resp_prefix = cmd->prefix_buf;
	err = qt_chan_exec_wait(modem, cmd, MAX_SCHEDULE_TIMEOUT);
	if (err)
		goto out_cmd;

	msg = genlmsg_new(nla_total_size(cmd->resp_len + 1) + 256, GFP_KERNEL);
	if (!msg) {
		err = -ENOMEM;
		goto out_cmd;
	}
	hdr = genlmsg_put_reply(msg, info, &qt_genl_family, 0, QT_CMD_AT);
	if (!hdr || nla_put_string(msg, QT_A_AT_RESPONSE, cmd->resp) ||
	    nla_put_string(msg, QT_A_AT_FINAL, qt_final_name(cmd, final, sizeof(final)))) {
		nlmsg_free(msg);
		err = -EMSGSIZE;
		goto out_cmd;
	}
	genlmsg_end(msg, hdr);
	err = genlmsg_reply(msg, info);
out_cmd:
	qt_cmd_put(cmd);
out_modem:
	qt_modem_put(modem);
	return err;
}

/* ---- ping -------------------------------------------------------------- */

struct qt_ping_reply {
	int result;
	char addr[48];
	u32 bytes, time_ms, ttl;
};

/* An AT+QPING under way: filled by the URC handler under state_lock. */
struct qt_ping {
	unsigned int count;		/* echoes asked for */
	unsigned int replies;		/* echo lines seen */
	struct qt_ping_reply reply[QT_PING_REPLIES_MAX];
	bool done;
	int err;			/* -errno if aborted */
	int result;			/* of the summary */
	u32 sum[6];			/* sent, rcvd, lost, min, max, avg */
	struct completion completion;
};

/*
 * "+QPING: <result>[,"<ip>",<bytes>,<time>,<ttl>]" per echo, then
 * "+QPING: <result>[,<sent>,<rcvd>,<lost>,<min>,<max>,<avg>]". A lone
 * result is an echo's timeout (569) while echoes are due, else the end.
 * Parser callback: chan->lock held.
 */
void qt_ping_urc(struct qt_modem *modem, const struct at_token *tok)
{
	const char *args = at_line_args(tok->text, "+QPING:");
	struct at_field f[8];
	struct qt_ping *p;
	int nf, i, v, result;

	if (!args)
		return;
	nf = at_fields_split(args, strlen(args), f, ARRAY_SIZE(f));
	if (nf < 1 || at_field_int(&f[0], 0, 65535, &result))
		return;

	spin_lock(&modem->state_lock);
	p = modem->ping;
	if (!p || p->done)
		goto out;
	if (nf == 5 || (nf == 1 && result == 569 && p->replies < p->count)) {
		struct qt_ping_reply *r;

		if (p->replies >= ARRAY_SIZE(p->reply))
			goto out;
		r = &p->reply[p->replies++];
		r->result = result;
		if (nf == 5) {
			at_field_str(&f[1], r->addr, sizeof(r->addr));
			if (!at_field_int(&f[2], 0, INT_MAX, &v))
				r->bytes = v;
			if (!at_field_int(&f[3], 0, INT_MAX, &v))
				r->time_ms = v;
			if (!at_field_int(&f[4], 0, 255, &v))
				r->ttl = v;
		}
		goto out;
	}
	p->result = result;
	for (i = 0; i < 6 && i + 1 < nf; i++)
		if (!at_field_int(&f[i + 1], 0, INT_MAX, &v))
			p->sum[i] = v;
	p->done = true;
	complete(&p->completion);
out:
	spin_unlock(&modem->state_lock);
}

/* Detach: a ping waiting for URCs gets -errno @err. Process context. */
void qt_ping_abort(struct qt_modem *modem, int err)
{
	spin_lock(&modem->state_lock);
	if (modem->ping && !modem->ping->done) {
		modem->ping->err = err;
		modem->ping->done = true;
		complete(&modem->ping->completion);
	}
	spin_unlock(&modem->state_lock);
}

static int qt_ping_reply_msg(struct genl_info *info, const char *host,
			     const struct qt_ping *p)
{
	struct sk_buff *msg;
	struct nlattr *nest;
	unsigned int i;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &qt_genl_family, 0, QT_CMD_PING);
	if (!hdr || nla_put_string(msg, QT_A_PING_HOST, host))
		goto too_big;
	for (i = 0; i < p->replies; i++) {
		const struct qt_ping_reply *r = &p->reply[i];

		nest = nla_nest_start(msg, QT_A_PING_REPLY);
		if (!nest || nla_put_u32(msg, QT_PING_RESULT, r->result) ||
		    (!r->result && (nla_put_string(msg, QT_PING_ADDR, r->addr) ||
				    nla_put_u32(msg, QT_PING_BYTES, r->bytes) ||
				    nla_put_u32(msg, QT_PING_TIME_MS, r->time_ms) ||
				    nla_put_u32(msg, QT_PING_TTL, r->ttl))))
			goto too_big;
		nla_nest_end(msg, nest);
	}
	nest = nla_nest_start(msg, QT_A_PING_SUMMARY);
	if (!nest || nla_put_u32(msg, QT_PING_RESULT, p->result))
		goto too_big;
	for (i = 0; i < 6 && !p->result; i++)
		if (nla_put_u32(msg, QT_PING_SENT + i, p->sum[i]))
			goto too_big;
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
too_big:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static int qt_genl_ping(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	char host[QT_HOST_MAX];
	u32 count = 4, timeout = 4;
	int ctx = qt_default_context;
	struct qt_modem *modem;
	struct qt_ping *p;
	long left;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, QT_A_PING_HOST))
		return -EINVAL;
	nla_strscpy(host, a[QT_A_PING_HOST], sizeof(host));
	if (!qt_genl_host_valid(host)) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[QT_A_PING_HOST],
				    "host may only hold A-Z a-z 0-9 . - _ :");
		return -EINVAL;
	}
	if (a[QT_A_CTX_ID])
		ctx = nla_get_u8(a[QT_A_CTX_ID]);
	if (a[QT_A_PING_COUNT])
		count = nla_get_u32(a[QT_A_PING_COUNT]);
	if (a[QT_A_PING_TIMEOUT])
		timeout = nla_get_u32(a[QT_A_PING_TIMEOUT]);

	modem = qt_genl_ready_modem(info);
	if (IS_ERR(modem))
		return PTR_ERR(modem);
	if (qt_legacy(modem)) {
		NL_SET_ERR_MSG(info->extack, "the legacy command set has no AT+QPING");
		err = -EOPNOTSUPP;
		goto out_modem;
	}
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p) {
		err = -ENOMEM;
		goto out_modem;
	}
	p->count = count;
	init_completion(&p->completion);

	if (mutex_lock_interruptible(&modem->ping_lock)) {
		err = -EINTR;
		goto out_free;
	}
	err = qt_ctx_ensure(modem, ctx);
	if (err)
		goto out_unlock;
	spin_lock(&modem->state_lock);
	modem->ping = p;
	spin_unlock(&modem->state_lock);

	err = qt_chan_simple(modem, 0, "AT+QPING=%d,\"%s\",%u,%u", ctx, host,
			     timeout, count);
	if (!err) {
		left = wait_for_completion_interruptible_timeout(&p->completion,
				(count * timeout + QT_PING_SLACK_S) * HZ);
		err = left < 0 ? -EINTR : !left ? -ETIMEDOUT : p->err;
	} else if (err == -EIO) {
		err = qt_conn_last_error(modem);
	}

	spin_lock(&modem->state_lock);
	modem->ping = NULL;
	spin_unlock(&modem->state_lock);
	if (!err)
		err = qt_ping_reply_msg(info, host, p);
out_unlock:
	mutex_unlock(&modem->ping_lock);
out_free:
	kfree(p);
out_modem:
	qt_modem_put(modem);
	return err;
}

/* ---- the family ---------------------------------------------------------- */

static const struct genl_small_ops qt_genl_ops[] = {
	{
		.cmd	= QT_CMD_MODEM_GET,
		.doit	= qt_genl_modem_get,
		.dumpit	= qt_genl_modem_dump,
	},
	{
		.cmd	= QT_CMD_CTX_SET,
		.doit	= qt_genl_ctx_set,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= QT_CMD_CTX_UP,
		.doit	= qt_genl_ctx_updown,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= QT_CMD_CTX_DOWN,
		.doit	= qt_genl_ctx_updown,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= QT_CMD_PING,
		.doit	= qt_genl_ping,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= QT_CMD_TIMEOUT_SET,
		.doit	= qt_genl_timeout_set,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= QT_CMD_AT,
		.doit	= qt_genl_at,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= QT_CMD_DIALECT_SET,
		.doit	= qt_genl_dialect_set,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
};

static struct genl_family qt_genl_family = {
	.name		= QT_GENL_NAME,
	.version	= QT_GENL_VERSION,
	.maxattr	= QT_A_MAX,
	.policy		= qt_genl_policy,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.small_ops	= qt_genl_ops,
	.n_small_ops	= ARRAY_SIZE(qt_genl_ops),
	.mcgrps		= qt_genl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(qt_genl_mcgrps),
};

int qt_genl_register(void)
{
	return genl_register_family(&qt_genl_family);
}

void qt_genl_unregister(void)
{
	genl_unregister_family(&qt_genl_family);
}
