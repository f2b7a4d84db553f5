/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * AF_QUECTEL: sockets over the TCP/IP stack of a Quectel cellular modem,
 * driven through its AT command port by the quectel line discipline.
 *
 * The numbers below are the defaults; the module parameters "ldisc" and
 * "family" override them and are readable under
 * /sys/module/quectel/parameters/.
 */
#ifndef _UAPI_LINUX_QUECTEL_H
#define _UAPI_LINUX_QUECTEL_H

#include <linux/types.h>
#include <linux/socket.h>

/* Line discipline number: the kernel's N_DEVELOPMENT slot. */
#define N_QUECTEL		29

/* Address family: a number with no in-tree user in Linux 6.1. */
#define AF_QUECTEL		25
#define PF_QUECTEL		AF_QUECTEL

/* Socket option level for the options below. */
#define SOL_QUECTEL		299

/* sqt_host holds a NUL-terminated IPv4/IPv6 literal or domain name. */
#define QT_HOST_MAX		116

/*
 * struct sockaddr_qt - an endpoint on a modem
 * @sqt_family:  AF_QUECTEL
 * @sqt_port:    TCP/UDP port, network byte order
 * @sqt_modem:   modem index (qm<N>); 0 is the first modem attached
 * @sqt_context: PDP context 1..16; 0 selects the modem's default
 * @sqt_flags:   reserved, must be zero
 * @sqt_host:    remote host (connect, sendto) or local address (bind,
 *               getsockname); NUL-terminated within QT_HOST_MAX bytes
 *
 * The size is fixed and no larger than struct sockaddr_storage. connect(),
 * bind() and sendto() also accept struct sockaddr_in and sockaddr_in6
 * (modem 0, default context); the kernel always returns sockaddr_qt.
 */
struct sockaddr_qt {
	__kernel_sa_family_t	sqt_family;
	__be16			sqt_port;
	__u16			sqt_modem;
	__u8			sqt_context;
	__u8			sqt_flags;
	__u32			sqt_reserved;
	char			sqt_host[QT_HOST_MAX];
};

/* Access modes of a connection (SOL_QUECTEL, QT_ACCESS_MODE). */
enum qt_access_mode {
	QT_MODE_BUFFER		= 0,	/* modem buffers, host reads with QIRD */
	QT_MODE_DIRECT_PUSH	= 1,	/* modem pushes data in +QIURC "recv" */
	QT_MODE_TRANSPARENT	= 2,	/* the port carries raw socket bytes */
};

/* SOL_QUECTEL socket options. */
#define QT_ACCESS_MODE		1	/* int, enum qt_access_mode */
#define QT_CONNECT_ID		2	/* int, read-only: the modem connectID */
#define QT_RX_DROPPED		3	/* __u64, read-only: bytes dropped */

/*
 * Generic netlink family "quectel": see docs/CONTROL.md.
 *
 * Requests carry QT_A_MODEM (the modem index) and the attributes named at
 * each command. Every change needs CAP_NET_ADMIN in the user namespace of
 * the modem's network namespace; reads need nothing. A modem is only
 * visible from its own network namespace. Strings are NUL-terminated.
 */
#define QT_GENL_NAME		"quectel"
#define QT_GENL_VERSION		1
#define QT_GENL_MCGRP_EVENTS	"events"

enum qt_genl_cmd {
	QT_CMD_UNSPEC,
	QT_CMD_MODEM_GET,	/* doit (QT_A_MODEM) or dump: QT_A_MODEM_* */
	/* QT_A_MODEM, QT_A_CTX_ID, QT_A_CTX_APN, [_TYPE, _USER, _PASSWORD, _AUTH] */
	QT_CMD_CTX_SET,
	QT_CMD_CTX_UP,		/* QT_A_MODEM, QT_A_CTX_ID */
	QT_CMD_CTX_DOWN,	/* QT_A_MODEM, QT_A_CTX_ID */
	/*
	 * QT_A_MODEM, QT_A_PING_HOST, [QT_A_CTX_ID, QT_A_PING_COUNT,
	 * QT_A_PING_TIMEOUT]; reply: QT_A_PING_REPLY..., QT_A_PING_SUMMARY
	 */
	QT_CMD_PING,
	QT_CMD_TIMEOUT_SET,	/* QT_A_MODEM, QT_A_TIMEOUT_CMD, QT_A_TIMEOUT_MS */
	/* QT_A_MODEM, QT_A_AT_LINE; reply: QT_A_AT_RESPONSE, QT_A_AT_FINAL */
	QT_CMD_AT,
	QT_CMD_EVENT,		/* multicast only: QT_A_EVENT, QT_A_MODEM, ... */
	/* QT_A_MODEM, QT_A_MODEM_DIALECT_CHOICE */
	QT_CMD_DIALECT_SET,
	__QT_CMD_MAX
};
#define QT_CMD_MAX		(__QT_CMD_MAX - 1)

enum qt_attr {
	QT_A_UNSPEC,
	QT_A_MODEM,		/* u32: modem index N of qm<N> */
	QT_A_MODEM_NAME,	/* string: "qm<N>" */
	QT_A_MODEM_TTY,		/* string: the tty it is attached to */
	QT_A_MODEM_DIALECT,	/* string: "modern" or "legacy" */
	/* string: sync, config, sim, creg, psreg, ready, restarting, backoff */
	QT_A_MODEM_STATE,
	QT_A_MODEM_MODEL,	/* string: from ATI */
	QT_A_MODEM_REVISION,	/* string: from ATI */
	QT_A_MODEM_IMEI,	/* string: from AT+GSN */
	QT_A_MODEM_RSSI,	/* u32: AT+CSQ <rssi>, 0..31, 99 unknown */
	QT_A_MODEM_BER,		/* u32: AT+CSQ <ber>, 0..7, 99 unknown */
	QT_A_MODEM_REG,		/* u32: AT+CREG? <stat>: 1 home, 5 roaming... */
	QT_A_MODEM_SOCKETS,	/* u32: connectIDs in use */
	QT_A_MODEM_STATS,	/* nest: QT_STAT_* */
	QT_A_MODEM_CTXS,	/* nest of QT_A_CTX */
	QT_A_MODEM_TIMEOUTS,	/* nest of QT_A_TIMEOUT */
	QT_A_CTX,		/* nest: QT_A_CTX_* of one context */
	QT_A_CTX_ID,		/* u8: 1..16 */
	QT_A_CTX_TYPE,		/* u8: enum qt_ctx_type */
	QT_A_CTX_APN,		/* string, at most 62 bytes of [A-Za-z0-9.-_] */
	QT_A_CTX_USER,		/* string, at most 127 printable bytes, no '"' */
	QT_A_CTX_PASSWORD,	/* string, as USER; never reported back */
	QT_A_CTX_AUTH,		/* u8: enum qt_ctx_auth */
	QT_A_CTX_ACTIVE,	/* u8: 0/1 */
	QT_A_CTX_ADDR,		/* string: the context's IP address */
	QT_A_PING_HOST,		/* string: IP literal or name (as sqt_host) */
	QT_A_PING_COUNT,	/* u32: 1..10, default 4 */
	QT_A_PING_TIMEOUT,	/* u32: seconds per echo, 1..255, default 4 */
	QT_A_PING_REPLY,	/* nest: QT_PING_* of one echo */
	QT_A_PING_SUMMARY,	/* nest: QT_PING_* of the summary */
	QT_A_TIMEOUT,		/* nest: QT_A_TIMEOUT_CMD, QT_A_TIMEOUT_MS */
	/* string: "default", "qiact", "qiopen", "qiclose", "qideact", "cfun" */
	QT_A_TIMEOUT_CMD,
	QT_A_TIMEOUT_MS,	/* u32: 100..600000 */
	/* string: one command line, printable ASCII from AT, at most 256 bytes */
	QT_A_AT_LINE,
	QT_A_AT_RESPONSE,	/* string: response lines, '\n'-separated */
	QT_A_AT_FINAL,		/* string: OK, ERROR, +CME ERROR: <n>, ... */
	QT_A_EVENT,		/* u8: enum qt_event */
	QT_A_REASON,		/* string: why (restart, down) */
	QT_A_BACKOFF_MS,	/* u32: delay before the restart */
	/*
	 * string: "auto" (the command set follows the model ATI reports),
	 * "modern" or "legacy" (forced)
	 */
	QT_A_MODEM_DIALECT_CHOICE,
	__QT_A_MAX
};
#define QT_A_MAX		(__QT_A_MAX - 1)

/* Counters in QT_A_MODEM_STATS, all u64. */
enum qt_stat {
	QT_STAT_UNSPEC,
	QT_STAT_PAD,
	QT_STAT_RX_BYTES,	/* from the tty */
	QT_STAT_TX_BYTES,	/* to the tty */
	QT_STAT_COMMANDS,	/* commands completed by a final result */
	QT_STAT_TIMEOUTS,	/* commands that timed out */
	QT_STAT_URCS,
	QT_STAT_PARSE_ERRORS,	/* lines the parser discarded */
	QT_STAT_RESTARTS,	/* AT+CFUN=1,1 sent */
	QT_STAT_REBOOTS,	/* RDY outside a restart of ours */
	QT_STAT_INCOMING_FULL,
	QT_STAT_ACCEPT_OVERFLOW,
	__QT_STAT_MAX
};
#define QT_STAT_MAX		(__QT_STAT_MAX - 1)

/* One echo (QT_A_PING_REPLY) or the summary (QT_A_PING_SUMMARY), u32. */
enum qt_ping_attr {
	QT_PING_UNSPEC,
	QT_PING_RESULT,		/* 0 or the module's error (569 timeout...) */
	QT_PING_ADDR,		/* string, reply: the responder */
	QT_PING_BYTES,		/* reply */
	QT_PING_TIME_MS,	/* reply */
	QT_PING_TTL,		/* reply */
	QT_PING_SENT,		/* summary */
	QT_PING_RCVD,		/* summary */
	QT_PING_LOST,		/* summary */
	QT_PING_MIN_MS,		/* summary */
	QT_PING_MAX_MS,		/* summary */
	QT_PING_AVG_MS,		/* summary */
	__QT_PING_MAX
};
#define QT_PING_MAX		(__QT_PING_MAX - 1)

enum qt_ctx_type {
	QT_CTX_IPV4	= 1,
	QT_CTX_IPV6	= 2,
	QT_CTX_IPV4V6	= 3,
};

enum qt_ctx_auth {
	QT_AUTH_NONE	= 0,
	QT_AUTH_PAP	= 1,
	QT_AUTH_CHAP	= 2,
	QT_AUTH_ANY	= 3,	/* PAP or CHAP */
};

/* QT_A_EVENT of QT_CMD_EVENT messages on the "events" group. */
enum qt_event {
	QT_EV_UNSPEC,
	QT_EV_MODEM_UP,		/* became ready */
	QT_EV_MODEM_DOWN,	/* left ready: QT_A_REASON */
	QT_EV_CTX_LOST,		/* +QIURC "pdpdeact": QT_A_CTX_ID */
	QT_EV_RESTART,		/* restart wanted: QT_A_REASON, QT_A_BACKOFF_MS */
	QT_EV_DETACHED,		/* the line discipline let go */
	QT_EV_REBOOTED,		/* RDY outside a restart of ours */
	__QT_EV_MAX
};

#endif /* _UAPI_LINUX_QUECTEL_H */
