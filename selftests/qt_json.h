/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small strict JSON parser for the selftests that check a program's JSON
 * output (RFC 8259: no trailing commas, no comments, strings without raw
 * control characters, the whole text one value). It builds a tree; look
 * values up with qj_get()/qj_at() and the typed getters.
 *
 * \uXXXX escapes below 0x100 decode to that one byte (how qtctl writes
 * bytes that are not printable ASCII), others to UTF-8. Header-only.
 */
#ifndef QT_JSON_H
#define QT_JSON_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define QJ_MAX_DEPTH	32

enum qj_type { QJ_NULL, QJ_BOOL, QJ_NUM, QJ_STR, QJ_ARR, QJ_OBJ };

struct qj {
	enum qj_type type;
	bool b;
	double num;
	char *str;		/* QJ_STR, decoded, NUL-terminated */
	size_t len;		/* its length (it may hold NULs) */
	char *key;		/* the member name, inside an object */
	struct qj *child;	/* first element or member */
	struct qj *next;	/* next sibling */
	size_t n;		/* number of elements or members */
};

struct qj_parser {
	const char *p;
	int depth;
};

static inline void qj_free(struct qj *v)
{
	while (v) {
		struct qj *next = v->next;

		qj_free(v->child);
		free(v->str);
		free(v->key);
		free(v);
		v = next;
	}
}

static inline void qj_ws(struct qj_parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

static inline int qj_hex4(const char *p)
{
	int i, v = 0;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* A string at ps->p (the opening quote); malloc'd, length in *len, or NULL. */
static inline char *qj_string(struct qj_parser *ps, size_t *len)
{
	const char *p = ps->p + 1;
	char *out = malloc(strlen(p) + 1), *o = out;	/* escapes only shrink */

	if (!out)
		return NULL;
	for (;;) {
		unsigned char c = *p++;

		if (c == '"')
			break;
		if (c < 0x20)		/* also the end of the text */
			goto bad;
		if (c != '\\') {
			*o++ = c;
			continue;
		}
		c = *p++;
		switch (c) {
		case '"': case '\\': case '/':
			*o++ = c;
			break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			int cp = qj_hex4(p);

			if (cp < 0)
				goto bad;
			p += 4;
			if (cp < 0x100) {
				*o++ = cp;
			} else if (cp < 0x800) {
				*o++ = 0xc0 | (cp >> 6);
				*o++ = 0x80 | (cp & 0x3f);
			} else {
				*o++ = 0xe0 | (cp >> 12);
				*o++ = 0x80 | ((cp >> 6) & 0x3f);
				*o++ = 0x80 | (cp & 0x3f);
			}
			break;
		}
		default:
			goto bad;
		}
	}
	*o = 0;
	*len = o - out;
	ps->p = p;
	return out;
bad:
	free(out);
	return NULL;
}

static inline bool qj_number(struct qj_parser *ps, double *num)
{
	const char *p = ps->p, *start = p;
	char *end;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return false;
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	*num = strtod(start, &end);
	if (end != p)
		return false;
	ps->p = p;
	return true;
}

static inline struct qj *qj_value(struct qj_parser *ps);

/* The elements of an array or members of an object, after its opener. */
static inline bool qj_items(struct qj_parser *ps, struct qj *v, char close)
{
	struct qj **tail = &v->child;

	qj_ws(ps);
	if (*ps->p == close) {
		ps->p++;
		return true;
	}
	for (;;) {
		char *key = NULL;
		size_t klen;
		struct qj *item;

		qj_ws(ps);
		if (close == '}') {
			if (*ps->p != '"' || !(key = qj_string(ps, &klen)))
				return false;
			qj_ws(ps);
			if (*ps->p++ != ':') {
				free(key);
				return false;
			}
		}
		item = qj_value(ps);
		if (!item) {
			free(key);
			return false;
		}
		item->key = key;
		*tail = item;
		tail = &item->next;
		v->n++;
		qj_ws(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p++ != close)
			return false;
		return true;
	}
}

static inline struct qj *qj_value(struct qj_parser *ps)
{
	struct qj *v = calloc(1, sizeof(*v));
	bool ok = false;

	if (!v)
		return NULL;
	qj_ws(ps);
	switch (*ps->p) {
	case '{':
	case '[':
		if (++ps->depth > QJ_MAX_DEPTH)
			break;
		v->type = *ps->p == '{' ? QJ_OBJ : QJ_ARR;
		ps->p++;
		ok = qj_items(ps, v, v->type == QJ_OBJ ? '}' : ']');
		ps->depth--;
		break;
	case '"':
		v->type = QJ_STR;
		v->str = qj_string(ps, &v->len);
		ok = v->str != NULL;
		break;
	case 't':
	case 'f':
	case 'n': {
		static const char *const words[] = { "true", "false", "null" };
		int i;

		for (i = 0; i < 3; i++)
			if (!strncmp(ps->p, words[i], strlen(words[i]))) {
				v->type = i == 2 ? QJ_NULL : QJ_BOOL;
				v->b = i == 0;
				ps->p += strlen(words[i]);
				ok = true;
			}
		break;
	}
	default:
		v->type = QJ_NUM;
		ok = qj_number(ps, &v->num);
	}
	if (!ok) {
		qj_free(v);
		return NULL;
	}
	return v;
}

/* Parse a whole text (one value, surrounding white space); NULL if invalid. */
static inline struct qj *qj_parse(const char *text)
{
	struct qj_parser ps = { text, 0 };
	struct qj *v;

	if (!text)
		return NULL;
	v = qj_value(&ps);
	if (!v)
		return NULL;
	qj_ws(&ps);
	if (*ps.p) {
		qj_free(v);
		return NULL;
	}
	return v;
}

/* An object's member, or NULL. */
static inline const struct qj *qj_get(const struct qj *obj, const char *key)
{
	const struct qj *m;

	if (!obj || obj->type != QJ_OBJ)
		return NULL;
	for (m = obj->child; m; m = m->next)
		if (!strcmp(m->key, key))
			return m;
	return NULL;
}

/* An array's element i, or NULL. */
static inline const struct qj *qj_at(const struct qj *arr, size_t i)
{
	const struct qj *e;

	if (!arr || arr->type != QJ_ARR)
		return NULL;
	for (e = arr->child; e && i; e = e->next)
		i--;
	return e;
}

/* A string member, or NULL if missing or not a string. */
static inline const char *qj_str(const struct qj *obj, const char *key)
{
	const struct qj *v = qj_get(obj, key);

	return v && v->type == QJ_STR ? v->str : NULL;
}

/* A number member, or @dflt if missing or not a number. */
static inline double qj_num(const struct qj *obj, const char *key, double dflt)
{
	const struct qj *v = qj_get(obj, key);

	return v && v->type == QJ_NUM ? v->num : dflt;
}

/* A boolean member: 1, 0, or -1 if missing or not a boolean. */
static inline int qj_bool(const struct qj *obj, const char *key)
{
	const struct qj *v = qj_get(obj, key);

	return v && v->type == QJ_BOOL ? v->b : -1;
}

/* The first element of array @arr whose member @key is the string @val. */
static inline const struct qj *qj_find(const struct qj *arr, const char *key, const char *val)
{
	const struct qj *e;

	if (!arr || arr->type != QJ_ARR)
		return NULL;
	for (e = arr->child; e; e = e->next) {
		const char *s = qj_str(e, key);

		if (s && !strcmp(s, val))
			return e;
	}
	return NULL;
}

/* The first element of array @arr whose member @key is the number @val. */
static inline const struct qj *qj_find_num(const struct qj *arr, const char *key, double val)
{
	const struct qj *e;

	if (!arr || arr->type != QJ_ARR)
		return NULL;
	for (e = arr->child; e; e = e->next)
		if (qj_num(e, key, val - 1) == val)
			return e;
	return NULL;
}

#endif /* QT_JSON_H */
