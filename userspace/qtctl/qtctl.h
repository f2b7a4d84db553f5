/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qtctl: the control tool of quectel.ko. What its parts share:
 *
 *   qtctl.c    command line, usage, error exits, dispatch
 *   nl.c       generic netlink plumbing on libmnl (family and group
 *              lookup, requests with extended acks, attribute parsing)
 *   out.c      the output: one set of calls, printed as text or JSON
 *   cmd.c      the commands that talk to the kernel
 *   sockets.c  qtctl sockets: /proc/net/quectel
 */
#ifndef QTCTL_H
#define QTCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

#define EXIT_FAIL	1
#define EXIT_USAGE	2

/* ---- qtctl.c: exits ---- */

/* "qtctl: <fmt>", then the usage hint; exit 2. */
void __attribute__((noreturn, format(printf, 1, 2))) die_usage(const char *fmt, ...);
/* "qtctl: <fmt>: strerror(err)[: detail]"; exit 1. err > 0. */
void __attribute__((noreturn, format(printf, 3, 4)))
die_err(int err, const char *detail, const char *fmt, ...);

/* ---- nl.c: generic netlink ---- */

struct nl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
	uint16_t family;	/* the "quectel" family's id */
	uint32_t group;		/* its "events" multicast group, 0 if none */
	char extack[256];	/* the kernel's message for the last error */
	char *buf;		/* requests and replies */
	size_t buflen;
};

/* A request being built: nl_req() hands out the header, attributes follow. */
struct nlmsghdr *nl_req(struct nl *nl, uint8_t cmd, uint16_t flags);
/*
 * Open a socket and look up the family (exits on failure, naming the
 * module when the family is not there).
 */
void nl_open(struct nl *nl);
void nl_close(struct nl *nl);
/*
 * Send @nlh and run @cb on every reply message of the family until the
 * acknowledgement (or the end of a dump). 0 or -errno; nl->extack holds
 * the kernel's message, if any.
 */
int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);
/* Join the events group and run @cb on every message until it stops. */
int nl_listen(struct nl *nl, mnl_cb_t cb, void *data);

/*
 * Parse attributes (of a message after its genl header, or of a nest)
 * into tb[0..max], checking each known one against types[] (types[i] 0:
 * not checked). Unknown attribute types are skipped. 0 or -errno.
 */
int nl_parse_msg(const struct nlmsghdr *nlh, const uint8_t *types, unsigned int max,
		 const struct nlattr **tb);
int nl_parse_nest(const struct nlattr *nest, const uint8_t *types, unsigned int max,
		  const struct nlattr **tb);

/* ---- out.c: text or JSON ---- */

void out_init(bool json);
bool out_json(void);
/* A JSON array of records (text: nothing). */
void out_list_begin(void);
void out_list_end(void);
/*
 * A record: a line of text, a JSON object. The text line starts with
 * @label (if not NULL); JSON holds it as "@key": "@label" (if @key).
 * The end prints the newline (JSON outside a list too) and flushes.
 */
void out_record_begin(const char *key, const char *label);
void out_record_end(void);
/* A nested object: an indented text line starting with @label. */
void out_group_begin(const char *key, const char *label);
void out_group_end(void);
/* A JSON array inside a record; its items are groups (key NULL) or values. */
void out_array_begin(const char *key);
void out_array_end(void);
/* Fields: text key=value (strings quoted when needed), JSON "key": value. */
void out_str(const char *key, const char *val);
void out_u64(const char *key, uint64_t val);
void out_bool(const char *key, bool val);
/* names[val] if there is one, else the number. */
void out_enum(const char *key, const char *const *names, size_t n, uint64_t val);
/* Text with non-printable bytes as \xHH, for raw text output. */
void out_raw_line(const char *s, size_t len);

/* ---- the commands ---- */

struct ping_opts {
	uint32_t count, timeout_s;	/* 0: the kernel's default */
};

int cmd_show(bool one, uint32_t modem);
int cmd_ctx_set(uint32_t modem, uint8_t ctx, const char *apn, const char *user,
		const char *pass, int auth, int type);
int cmd_ctx_updown(uint32_t modem, uint8_t ctx, bool up);
int cmd_ping(uint32_t modem, const char *host, const struct ping_opts *po);
int cmd_at(uint32_t modem, const char *line);
int cmd_timeout(uint32_t modem, const char *which, uint32_t ms);
int cmd_dialect(uint32_t modem, const char *choice);
int cmd_monitor(unsigned long count);
int cmd_sockets(void);

#endif /* QTCTL_H */
