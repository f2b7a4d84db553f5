// SPDX-License-Identifier: GPL-2.0
/* Splitting AT command lines; see atparse.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "atparse.h"

char *at_prefix(char *line)
{
	/* Modules hunt for "AT": bytes before it are line noise. */
	for (char *p = line; p[0] && p[1]; p++)
		if ((p[0] == 'A' || p[0] == 'a') && (p[1] == 'T' || p[1] == 't'))
			return p + 2;
	return NULL;
}

int at_split(char *s, struct at_args *a)
{
	a->n = 0;
	if (!*s)
		return 0;
	for (;;) {
		struct at_arg *v;

		if (a->n == AT_MAX_ARGS)
			return -1;
		v = &a->v[a->n++];
		memset(v, 0, sizeof(*v));
		while (*s == ' ')
			s++;
		if (*s == '"') {
			char *end = strchr(s + 1, '"');

			if (!end)
				return -1;
			v->quoted = 1;
			v->s = s + 1;
			*end = 0;
			s = end + 1;
			while (*s == ' ')
				s++;
			if (*s && *s != ',')
				return -1;
		} else {
			char *e;

			v->s = s;
			s += strcspn(s, ",");
			e = s;
			while (e > v->s && e[-1] == ' ')
				e--;
			if (memchr(v->s, '"', e - v->s))
				return -1;
			v->empty = e == v->s;
			if (*s == ',') {
				*e = 0;
				s++;
				continue;
			}
			*e = 0;
			return 0;
		}
		if (!*s)
			return 0;
		*s++ = 0;
		if (!*s) {
			/* a trailing comma: one more, empty, argument */
			if (a->n == AT_MAX_ARGS)
				return -1;
			v = &a->v[a->n++];
			memset(v, 0, sizeof(*v));
			v->s = s;
			v->empty = 1;
			return 0;
		}
	}
}

int at_int(const struct at_args *a, int i, long min, long max, long *out)
{
	const struct at_arg *v;
	char *end;
	long x;

	if (i >= a->n)
		return -1;
	v = &a->v[i];
	if (v->quoted || v->empty || !isdigit((unsigned char)v->s[0]))
		return -1;
	if (strlen(v->s) > 9)
		return -1;
	x = strtol(v->s, &end, 10);
	if (*end || x < min || x > max)
		return -1;
	*out = x;
	return 0;
}

int at_int_opt(const struct at_args *a, int i, long min, long max, long def, long *out)
{
	if (i >= a->n || (a->v[i].empty && !a->v[i].quoted)) {
		*out = def;
		return 0;
	}
	return at_int(a, i, min, max, out);
}

int at_str(const struct at_args *a, int i, size_t maxlen, const char **out)
{
	const struct at_arg *v;

	if (i >= a->n)
		return -1;
	v = &a->v[i];
	if (!v->quoted || strlen(v->s) > maxlen)
		return -1;
	for (const unsigned char *p = (const unsigned char *)v->s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return -1;
	*out = v->s;
	return 0;
}
