/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running one AT command line against command tables: the basic 3GPP
 * commands every Quectel module has (basic.c) and a dialect's own.
 */
#ifndef QTSIM_ATCMD_H
#define QTSIM_ATCMD_H

#include "atparse.h"

enum at_result {
	R_OK,		/* go on; "OK" after the last command of the line */
	R_ERROR,	/* "ERROR", and the rest of the line is ignored */
	R_DONE,		/* the handler printed (or will print) the final result */
	R_UNKNOWN,	/* not in this table */
};

struct at_cmd {
	const char *name;	/* "+QIOPEN", "E", "&F" */
	/* raw: the text after '=' (or the digits of a basic command) */
	enum at_result (*fn)(enum at_kind kind, struct at_args *a, char *raw);
};

/* tables: NULL-terminated list of tables, each ended by a {NULL} entry */
void at_run_line(char *line, const struct at_cmd *const *tables);

/* The 3GPP / V.25ter basics (basic.c). */
extern const struct at_cmd basic_cmds[];
void basic_reset(void);
/* Registered (home or roaming), attached and at full functionality. */
int basic_registered(void);
/* Registration status from the network (control "creg N"), with URCs. */
void basic_set_reg(int stat);

#endif
