/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Splitting an AT command line: the "AT" prefix, basic commands (E1, I,
 * &F ...), extended commands (+NAME with =, ?, =?), and their comma-
 * separated parameters, quoted or not. Shared by every dialect.
 */
#ifndef QTSIM_ATPARSE_H
#define QTSIM_ATPARSE_H

#include <stddef.h>

enum at_kind {
	AT_EXEC,	/* AT+CMD */
	AT_SET,		/* AT+CMD=... */
	AT_QUERY,	/* AT+CMD? */
	AT_TEST,	/* AT+CMD=? */
};

#define AT_MAX_ARGS 12

struct at_arg {
	char *s;	/* NUL-terminated, quotes removed */
	int quoted;
	int empty;	/* nothing between the commas */
};

struct at_args {
	int n;
	struct at_arg v[AT_MAX_ARGS];
};

/* Find the "AT" prefix (any case); NULL if the line has none. */
char *at_prefix(char *line);

/*
 * Split "a,"b",c" in place. Returns 0, or -1 on malformed quoting (an
 * unterminated string, text after a closing quote) or too many args.
 */
int at_split(char *s, struct at_args *a);

/* An unquoted decimal in [min, max]; 0 ok, -1 not. def if absent & optional. */
int at_int(const struct at_args *a, int i, long min, long max, long *out);
int at_int_opt(const struct at_args *a, int i, long min, long max, long def, long *out);
/* A quoted string of at most maxlen bytes without control bytes. */
int at_str(const struct at_args *a, int i, size_t maxlen, const char **out);

#endif
