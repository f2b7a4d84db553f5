/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The legacy dialect (Quectel GSM M10/M26/M35/M66/M95/MC60/UC15, after
 * spec/000, the GSM TCPIP application note): what its two files share.
 *
 *   dialect_legacy.c  settings, bring-up (IPR and auto-baud, QICSGP,
 *                     QIREGAPP/QIACT/QILOCIP/QIDEACT), QISTAT, QIDNSGIP,
 *                     injected URCs, the ops table
 *   legacy_conn.c     connections: QIOPEN/QICLOSE/QISEND/QISACK/QIRD,
 *                     received data (direct or buffered), transparent
 *                     mode, ATO
 */
#ifndef QTSIM_LEGACY_H
#define QTSIM_LEGACY_H

#include "atcmd.h"
#include "conn.h"
#include "dialect.h"

#define L_NCONN		6	/* AT+QIMUX=1: indexes 0..5; single mode uses 0 */
#define L_SEND_MAX	1460
#define L_READ_MAX	1500

/* The TCP/IP stack's state (AT+QISTAT), the note's names. */
enum l_stack {
	ST_INITIAL,	/* "IP INITIAL": idle */
	ST_START,	/* "IP START": AT+QIREGAPP done */
	ST_CONFIG,	/* "IP CONFIG", */
	ST_IND,		/* "IP IND": AT+QIACT under way (port blocked) */
	ST_GPRSACT,	/* "IP GPRSACT": AT+QIACT done */
	ST_STATUS,	/* "IP STATUS": AT+QILOCIP done, connections may open */
	ST_PDP_DEACT,	/* "PDP DEACT": the network took the context */
};

/* Settings: power-on defaults in legacy_reset(). */
struct l_settings {
	int mux;		/* AT+QIMUX */
	int mode;		/* AT+QIMODE: 1 transparent */
	int indi;		/* AT+QINDI: 1 buffered (+QIRDI) */
	int head, showra, showpt; /* AT+QIHEAD/QISHOWRA/QISHOWPT */
	int dnsip;		/* AT+QIDNSIP: 1 the address may be a name */
	int sde;		/* AT+QISDE: payload echo after "> " */
	int fgcnt;		/* AT+QIFGCNT: the foreground context */
	/* AT+QITCFG: retries, wait (100 ms units), packet size, "+++" on */
	int tcfg_retry, tcfg_wait, tcfg_size, tcfg_esc;
};

extern struct l_settings lset;
extern enum l_stack lstack;
/* Single mode: a connection ended and none was opened since ("IP CLOSE"). */
extern int lclosed;

/* ---- legacy_conn.c ------------------------------------------------ */

extern const struct at_cmd lconn_cmds[];

void lconn_reset(void);
int lconn_any(void);			/* a connection index is in use */
void lconn_free_all(void);		/* AT+QIDEACT: every socket goes */
/* The note's state of one connection ("TCP CONNECTING", "CONNECT OK"...). */
const char *lconn_state(const struct conn *c);
/* The multi-connection AT+QISTAT line of index id. */
void lconn_stat_line(int id);
/* Control "urc closed ID" / "urc pdpdeact N": 0, or -1 with *why. */
int lconn_inject_closed(int id, const char **why);
void lconn_pdp_deact(void);

/* dialect ops */
void lconn_data(const unsigned char *p, size_t n, enum data_end how);
size_t lconn_t_room(void);
void lconn_t_data(const unsigned char *p, size_t n);
void lconn_t_escape(void);
void lconn_opened(struct conn *c, int err);
void lconn_rx(struct conn *c, size_t n);
void lconn_closed(struct conn *c, int err);
void lconn_close_done(struct conn *c);
int lconn_may_read(struct conn *c);

#endif
