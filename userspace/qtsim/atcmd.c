// SPDX-License-Identifier: GPL-2.0
/*
 * The command-line driver: "AT", then basic commands (E0, I, &F, each a
 * letter or &letter with an optional number), then extended commands
 * separated by ';'. Each command is looked up in the tables; the line
 * ends with one final result, like a module's.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "atcmd.h"
#include "sim.h"

static enum at_result run_setting(const struct at_setting *s, enum at_kind kind,
				  const struct at_args *a)
{
	long v;

	if (s->err)
		*s->err = 0;
	switch (kind) {
	case AT_QUERY:
		if (s->show)
			s->show(s->name, *s->var);
		else
			out_line("%s: %d", s->name, *s->var);
		return R_OK;
	case AT_TEST:
		out_line("%s: %s", s->name, s->test);
		return R_OK;
	case AT_SET:
		if (a && a->n == 1 && at_int(a, 0, s->min, s->max, &v) == 0 &&
		    (!s->valid || s->valid(v))) {
			*s->var = v;
			return R_OK;
		}
		break;
	default:
		break;
	}
	if (s->err)
		*s->err = s->err_code;
	return R_ERROR;
}

enum at_result at_report(enum at_kind kind, const char *fmt, ...)
{
	va_list ap;

	if (kind == AT_TEST)
		return R_OK;
	if (kind != AT_EXEC)
		return R_ERROR;
	va_start(ap, fmt);
	out_vline(fmt, ap);
	va_end(ap);
	return R_OK;
}

static enum at_result run_one(const char *name, enum at_kind kind, char *raw,
			      const struct at_table *const *tables)
{
	struct at_args a = { 0 }, *ap = &a;
	char copy[1100];

	if (kind == AT_SET) {
		/* at_split writes into its argument; keep raw intact. */
		snprintf(copy, sizeof(copy), "%s", raw);
		if (at_split(copy, &a) < 0)
			ap = NULL;	/* malformed: each handler says ERROR */
	}
	for (; *tables; tables++) {
		for (const struct at_cmd *c = (*tables)->cmds; c->name; c++)
			if (!strcmp(c->name, name))
				return c->fn(kind, ap, raw);
		for (const struct at_setting *s = (*tables)->settings; s && s->name; s++)
			if (!strcmp(s->name, name))
				return run_setting(s, kind, ap);
	}
	return R_UNKNOWN;
}

/* End of one extended command: the next ';' that is not inside quotes. */
static char *ext_end(char *p)
{
	int q = 0;

	for (; *p; p++) {
		if (*p == '"')
			q = !q;
		else if (*p == ';' && !q)
			return p;
	}
	return p;
}

void at_run_line(char *line, const struct at_table *const *tables)
{
	char *p = at_prefix(line);
	enum at_result r = R_OK;

	if (!p)
		return;		/* not a command: modules say nothing */

	while (*p && r == R_OK) {
		char name[40], *raw;
		size_t n = 0;
		enum at_kind kind = AT_EXEC;

		if (*p == ' ' || *p == ';') {
			p++;
			continue;
		}
		if (*p == '+' || *p == '$') {
			char *end = ext_end(p), save;

			name[n++] = *p++;
			while ((isalnum((unsigned char)*p) || *p == '&' || *p == '_') &&
			       n < sizeof(name) - 1)
				name[n++] = toupper((unsigned char)*p++);
			name[n] = 0;
			save = *end;
			*end = 0;
			if (p[0] == '=' && p[1] == '?' && !p[2]) {
				kind = AT_TEST;
				raw = p + 2;
			} else if (p[0] == '?' && !p[1]) {
				kind = AT_QUERY;
				raw = p + 1;
			} else if (p[0] == '=') {
				kind = AT_SET;
				raw = p + 1;
			} else if (!p[0]) {
				raw = p;
			} else {
				r = R_ERROR;	/* "AT+CMD junk" */
				break;
			}
			r = run_one(name, kind, raw, tables);
			*end = save;
			p = save ? end + 1 : end;
		} else {
			char num[16];
			size_t k = 0;

			if (*p == '&' && p[1])
				name[n++] = *p++;
			if (!isalpha((unsigned char)*p)) {
				r = R_ERROR;
				break;
			}
			name[n++] = toupper((unsigned char)*p++);
			name[n] = 0;
			if (*p == '?') {
				kind = AT_QUERY;
				p++;
			}
			while (isdigit((unsigned char)*p) && k < sizeof(num) - 1)
				num[k++] = *p++;
			num[k] = 0;
			r = run_one(name, kind, num, tables);
		}
		if (r == R_UNKNOWN)
			r = R_ERROR;
	}
	if (r == R_OK)
		out_final("OK");
	else if (r == R_ERROR)
		out_final("ERROR");
}
