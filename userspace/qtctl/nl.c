// SPDX-License-Identifier: GPL-2.0
/*
 * qtctl's generic netlink plumbing, on libmnl: resolve the "quectel"
 * family and its "events" group through nlctrl, send requests with
 * NLM_F_ACK on a socket with NETLINK_EXT_ACK (so errors come with the
 * kernel's message), collect the replies, parse attributes strictly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/quectel.h>

#include "qtctl.h"

#define NL_BUF		65536	/* the largest dump message the kernel builds is 32 KiB */

/* One exchange: the caller's callback and what went wrong. */
struct talk {
	struct nl *nl;
	mnl_cb_t cb;
	void *data;
	uint16_t type;		/* the family replies come from */
	int err;		/* -errno */
};

struct nlmsghdr *nl_req(struct nl *nl, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = nl->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++nl->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = QT_GENL_VERSION;
	return nlh;
}

/* ---- attributes ---- */

struct parse {
	const uint8_t *types;
	unsigned int max;
	const struct nlattr **tb;
};

static int parse_attr(const struct nlattr *a, void *data)
{
	struct parse *p = data;
	unsigned int type = mnl_attr_get_type(a);

	if (type > p->max)
		return MNL_CB_OK;	/* newer than us: ignored */
	if (p->types[type] && mnl_attr_validate(a, p->types[type]) < 0)
		return MNL_CB_ERROR;
	p->tb[type] = a;
	return MNL_CB_OK;
}

int nl_parse_msg(const struct nlmsghdr *nlh, const uint8_t *types, unsigned int max,
		 const struct nlattr **tb)
{
	struct parse p = { types, max, tb };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (mnl_attr_parse(nlh, sizeof(struct genlmsghdr), parse_attr, &p) < 0)
		return errno ? -errno : -EBADMSG;
	return 0;
}

int nl_parse_nest(const struct nlattr *nest, const uint8_t *types, unsigned int max,
		  const struct nlattr **tb)
{
	struct parse p = { types, max, tb };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (mnl_attr_parse_nested(nest, parse_attr, &p) < 0)
		return errno ? -errno : -EBADMSG;
	return 0;
}

/* ---- replies, acknowledgements, errors ---- */

static int extack_attr(const struct nlattr *a, void *data)
{
	struct talk *t = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		snprintf(t->nl->extack, sizeof(t->nl->extack), "%s", mnl_attr_get_str(a));
	else if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MISS_TYPE && !t->nl->extack[0] &&
		 mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		snprintf(t->nl->extack, sizeof(t->nl->extack), "missing attribute %u",
			 mnl_attr_get_u32(a));
	return MNL_CB_OK;
}

/* The extended ack TLVs after @off bytes of an error or done payload. */
static void parse_extack(const struct nlmsghdr *nlh, size_t off, struct talk *t)
{
	size_t len = mnl_nlmsg_get_payload_len(nlh);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || off >= len)
		return;
	mnl_attr_parse_payload((const char *)mnl_nlmsg_get_payload(nlh) + off, len - off,
			       extack_attr, t);
}

static int on_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct talk *t = data;
	size_t off = sizeof(*e);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		t->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	if (!e->error)
		return MNL_CB_STOP;	/* the acknowledgement */
	t->err = e->error;
	/* Unless capped, the request itself comes before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	parse_extack(nlh, off, t);
	return MNL_CB_ERROR;
}

static int on_done(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
		return MNL_CB_STOP;
	memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
	if (err < 0) {
		t->err = err;
		parse_extack(nlh, sizeof(int), t);
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

static int on_ignore(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_NOOP] = on_ignore,
	[NLMSG_ERROR] = on_error,
	[NLMSG_DONE] = on_done,
	[NLMSG_OVERRUN] = on_ignore,
};

/* Messages of our family go to the caller's callback; others are skipped. */
static int on_data(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	int ret;

	if (nlh->nlmsg_type != t->type)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr)) {
		t->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	errno = 0;
	ret = t->cb ? t->cb(nlh, t->data) : MNL_CB_OK;
	if (ret == MNL_CB_ERROR)
		t->err = errno ? -errno : -EBADMSG;
	return ret;
}

/* Receive and dispatch until the exchange ends; 0 or -errno. */
static int talk_run(struct talk *t, unsigned int seq)
{
	struct nl *nl = t->nl;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, nl->buflen);
		int ret;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ret = mnl_cb_run2(nl->buf, n, seq, nl->portid, on_data, t, ctl_cbs,
				  NLMSG_MIN_TYPE);
		if (ret == MNL_CB_ERROR)
			return t->err ? t->err : (errno ? -errno : -EBADMSG);
		if (ret == MNL_CB_STOP)
			return t->err;
	}
}

static int talk_to(struct nl *nl, uint16_t type, struct nlmsghdr *nlh, mnl_cb_t cb,
		   void *data)
{
	struct talk t = { .nl = nl, .cb = cb, .data = data, .type = type };

	nl->extack[0] = 0;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return talk_run(&t, nlh->nlmsg_seq);
}

int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	return talk_to(nl, nl->family, nlh, cb, data);
}

/* ---- the family ---- */

static const uint8_t ctrl_types[CTRL_ATTR_MAX + 1] = {
	[CTRL_ATTR_FAMILY_ID] = MNL_TYPE_U16,
	[CTRL_ATTR_FAMILY_NAME] = MNL_TYPE_NUL_STRING,
	[CTRL_ATTR_MCAST_GROUPS] = MNL_TYPE_NESTED,
};

static const uint8_t grp_types[CTRL_ATTR_MCAST_GRP_MAX + 1] = {
	[CTRL_ATTR_MCAST_GRP_NAME] = MNL_TYPE_NUL_STRING,
	[CTRL_ATTR_MCAST_GRP_ID] = MNL_TYPE_U32,
};

static int on_family(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1], *g;
	struct nl *nl = data;

	if (nl_parse_msg(nlh, ctrl_types, CTRL_ATTR_MAX, tb) || !tb[CTRL_ATTR_FAMILY_ID])
		return MNL_CB_ERROR;
	nl->family = mnl_attr_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	if (!tb[CTRL_ATTR_MCAST_GROUPS])
		return MNL_CB_OK;
	mnl_attr_for_each_nested(g, tb[CTRL_ATTR_MCAST_GROUPS]) {
		const struct nlattr *gt[CTRL_ATTR_MCAST_GRP_MAX + 1];

		if (nl_parse_nest(g, grp_types, CTRL_ATTR_MCAST_GRP_MAX, gt))
			return MNL_CB_ERROR;
		if (gt[CTRL_ATTR_MCAST_GRP_NAME] && gt[CTRL_ATTR_MCAST_GRP_ID] &&
		    !strcmp(mnl_attr_get_str(gt[CTRL_ATTR_MCAST_GRP_NAME]),
			    QT_GENL_MCGRP_EVENTS))
			nl->group = mnl_attr_get_u32(gt[CTRL_ATTR_MCAST_GRP_ID]);
	}
	return MNL_CB_OK;
}

void nl_open(struct nl *nl)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	int one = 1, err;

	memset(nl, 0, sizeof(*nl));
	nl->buflen = NL_BUF;
	nl->buf = malloc(nl->buflen);
	if (!nl->buf)
		die_err(ENOMEM, NULL, "netlink buffer");
	nl->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sock)
		die_err(errno, NULL, "netlink socket");
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		die_err(errno, NULL, "netlink bind");
	/* Errors with the kernel's message, without our request echoed back. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = getpid() ^ 0x5a5a0000u;

	nlh = mnl_nlmsg_put_header(nl->buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, QT_GENL_NAME);
	err = talk_to(nl, GENL_ID_CTRL, nlh, on_family, nl);
	if (err == -ENOENT)
		die_err(ENOENT, NULL, "generic netlink family \"%s\" (is quectel.ko loaded?)",
			QT_GENL_NAME);
	if (err || !nl->family)
		die_err(err ? -err : EPROTO, nl->extack[0] ? nl->extack : NULL,
			"generic netlink family \"%s\"", QT_GENL_NAME);
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	nl->sock = NULL;
	nl->buf = NULL;
}

/* ---- events ---- */

int nl_listen(struct nl *nl, mnl_cb_t cb, void *data)
{
	struct talk t = { .nl = nl, .cb = cb, .data = data, .type = nl->family };
	unsigned int group = nl->group;

	if (!group)
		return -ENOENT;
	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
		return -errno;
	for (;;) {
		int ret = talk_run(&t, 0);

		if (ret != -ENOBUFS)
			return ret;
		/* The socket overflowed: say so and go on. */
		fprintf(stderr, "qtctl: monitor: events lost: %s\n", strerror(ENOBUFS));
		t.err = 0;
	}
}
