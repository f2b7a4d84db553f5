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

#endif /* _UAPI_LINUX_QUECTEL_H */
