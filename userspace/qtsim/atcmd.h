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

/*
 * An integer setting, one table row: AT+X? answers "+X: <value>", AT+X=?
 * "+X: <test>", AT+X=<n> stores n if it is in [min, max]; anything else
 * (the bare AT+X, a missing or extra parameter) is ERROR.
 */
struct at_setting {
	const char *name;	/* "+CMEE" */
	int *var;
	long min, max;
	const char *test;	/* "(0-2)" */
	/* optional: print the AT+X? answer instead of "+X: <value>" */
	void (*show)(const char *name, int value);
	/* optional: non-zero if n (already in [min, max]) is accepted */
	int (*valid)(long n);
	/*
	 * optional: where a dialect keeps the error code of its last
	 * command (AT+QIGETERROR): 0 after success, err_code after ERROR
	 */
	int *err;
	int err_code;
};

/* A command set: handlers, and settings; each ended by a {NULL} entry. */
struct at_table {
	const struct at_cmd *cmds;
	const struct at_setting *settings;
};

/* tables: NULL-terminated list of command sets, searched in order */
void at_run_line(char *line, const struct at_table *const *tables);

/*
 * A command that only reports: the bare AT+X prints the line, AT+X=? is
 * OK without one, every other form is ERROR.
 */
enum at_result at_report(enum at_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The 3GPP / V.25ter basics (basic.c). */
extern const struct at_table basic_table;
void basic_reset(void);

/* How a dialect's modules name themselves in ATI, AT+GMI/GMM/GMR. */
struct ident {
	const char *maker;		/* ATI line 1, AT+GMI */
	const char *model_prefix;	/* before --model: ATI, AT+GMM */
	const char *gmr_prefix;		/* before the revision in AT+GMR */
	int ati_split;			/* ATI: "Revision:" framed on its own */
};
/* NULL: the modern modules' way (the power-on default). */
void basic_set_ident(const struct ident *id);
/* Registered (home or roaming), attached and at full functionality. */
int basic_registered(void);
/* Registration status from the network (control "creg N"), with URCs. */
void basic_set_reg(int stat);

#endif
