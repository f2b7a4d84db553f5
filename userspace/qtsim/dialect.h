/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A dialect is one AT command set (modern QI* of EC2x/BG9x/RG50xQ, or
 * the legacy GSM one of the M10/M26/M35/M66/M95/MC60/UC15). The engine (sim.c, link.c), the socket table
 * (conn.c) and fault injection (faults.c) are shared; everything a
 * dialect decides -- command syntax, URC text, when to read sockets --
 * goes through this table.
 */
#ifndef QTSIM_DIALECT_H
#define QTSIM_DIALECT_H

#include <stddef.h>

struct conn;

enum data_end {
	DATA_SEND,	/* Ctrl-Z or the announced length reached */
	DATA_CANCEL,	/* ESC */
	DATA_OVERFLOW,	/* more than allowed before Ctrl-Z */
};

struct dialect {
	const char *name;
	int max_conns;			/* connectIDs 0 .. max_conns-1 */
	const char *default_model;	/* --model when not given */
	/* What follows RDY with --boot-urcs; NULL-terminated. */
	const char *const *boot_urcs;

	/*
	 * Optional: non-zero if the module powers up auto-bauding, so it
	 * prints nothing (no RDY) and ignores input until the host's "AT".
	 */
	int (*autobaud)(void);

	/* Power-on / reboot: forget all state (connections are gone). */
	void (*reset)(void);
	/* One command line, without its CR, exactly as received. */
	void (*line)(char *line, size_t len);
	/* The payload typed after the "> " prompt. */
	void (*data)(const unsigned char *p, size_t n, enum data_end how);

	/* Transparent mode: room for, and delivery of, host bytes. */
	size_t (*t_room)(void);
	void (*t_data)(const unsigned char *p, size_t n);
	/* "+++" with its guard times: back to command mode. */
	void (*t_escape)(void);

	/* Socket events (conn.c). */
	void (*opened)(struct conn *c, int err);
	void (*rx)(struct conn *c, size_t n);
	void (*closed)(struct conn *c, int err);
	void (*incoming)(struct conn *lst, struct conn *nc);
	void (*incoming_full)(struct conn *lst);
	void (*close_done)(struct conn *c);
	/* May conn.c read more from this socket now? (flow control) */
	int (*may_read)(struct conn *c);

	/* Control-socket "urc <kind> <arg>": 0, or -1 with *why set. */
	int (*inject)(const char *kind, int arg, const char **why);
};

extern const struct dialect dialect_modern;
extern const struct dialect dialect_legacy;
extern const struct dialect *dialect;

#endif
