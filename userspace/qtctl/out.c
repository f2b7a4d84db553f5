// SPDX-License-Identifier: GPL-2.0
/*
 * qtctl's output. The commands describe what they print once, as records
 * made of fields, nested groups and arrays; this prints that either as
 * text or as JSON:
 *
 *   text: a record is a line "LABEL key=value key=value ..."; a nested
 *         group or an array item is a further line "  LABEL key=value ...".
 *         A string value is printed bare when it is non-empty and made of
 *         letters, digits and . _ : / + - @ , * only; otherwise in double
 *         quotes with \" \\ and \xHH (other non-printable bytes) escaped.
 *   JSON: a record is an object; a list of records an array; outside a
 *         list each record is one line (JSON lines). Strings are escaped
 *         per RFC 8259; bytes above 0x7e are written as \u00XX, so the
 *         output is ASCII and valid whatever the kernel or modem sent.
 *
 * In text, a group or array item ends the line of what contains it: a
 * record gives its plain fields first. Every record end flushes stdout.
 */
#include <stdio.h>
#include <string.h>

#include "qtctl.h"

#define MAX_DEPTH	8

static struct {
	bool json;
	bool in_list;
	unsigned int records;	/* in the current list */
	int depth;
	bool first[MAX_DEPTH];	/* nothing printed yet at this depth */
} o;

void out_init(bool json)
{
	memset(&o, 0, sizeof(o));
	o.json = json;
}

bool out_json(void)
{
	return o.json;
}

/*
 * @s in double quotes: \" and \\; JSON also \n \r \t; other bytes
 * outside 0x20..0x7e as \u00XX (JSON) or \xHH (text).
 */
static void quoted(const char *s, bool json)
{
	static const char ctl[] = "\n\r\t", letter[] = "nrt";
	const unsigned char *p = (const unsigned char *)s;

	putchar('"');
	for (; *p; p++) {
		const char *c = json ? strchr(ctl, *p) : NULL;

		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (c)
			printf("\\%c", letter[c - ctl]);
		else if (*p < 0x20 || *p > 0x7e)
			printf(json ? "\\u%04x" : "\\x%02x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* Text values made of these only are printed without quotes. */
static bool text_bare(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("._:/+-@,*", *s)))
			return false;
	return true;
}

static void string_value(const char *s)
{
	if (!o.json && text_bare(s))
		fputs(s, stdout);
	else
		quoted(s, o.json);
}

/* Before a value at the current depth: separator and key. */
static void field_start(const char *key)
{
	bool first = o.first[o.depth];

	o.first[o.depth] = false;
	if (o.json) {
		if (!first)
			putchar(',');
		if (key) {
			quoted(key, true);
			putchar(':');
		}
		return;
	}
	if (!first)
		putchar(' ');
	if (key)
		printf("%s=", key);
}

static void push(void)
{
	if (o.depth < MAX_DEPTH - 1)
		o.depth++;
	o.first[o.depth] = true;
}

static void pop(void)
{
	if (o.depth > 0)
		o.depth--;
}

/* The '[' waits for the first record: a request that fails prints nothing. */
void out_list_begin(void)
{
	o.in_list = true;
	o.records = 0;
}

void out_list_end(void)
{
	o.in_list = false;
	if (o.json)
		puts(o.records ? "]" : "[]");
	fflush(stdout);
}

void out_record_begin(const char *key, const char *label)
{
	o.depth = 0;
	push();
	if (o.json) {
		if (o.in_list)
			putchar(o.records ? ',' : '[');
		putchar('{');
		if (key && label)
			out_str(key, label);
		return;
	}
	if (label) {
		fputs(label, stdout);
		o.first[o.depth] = false;
	}
}

void out_record_end(void)
{
	o.depth = 0;
	o.records++;
	if (o.json)
		putchar('}');
	if (!o.json || !o.in_list)
		putchar('\n');
	fflush(stdout);
}

void out_group_begin(const char *key, const char *label)
{
	if (o.json) {
		field_start(key);
		putchar('{');
		push();
		return;
	}
	printf("\n  %s", label ? label : key);
	push();
	o.first[o.depth] = false;
}

void out_group_end(void)
{
	pop();
	if (o.json)
		putchar('}');
}

void out_array_begin(const char *key)
{
	if (o.json) {
		field_start(key);
		putchar('[');
	}
	/* Text: the items are lines of their own, the array is invisible. */
	push();
}

void out_array_end(void)
{
	pop();
	if (o.json)
		putchar(']');
}

void out_str(const char *key, const char *val)
{
	field_start(key);
	string_value(val);
}

void out_u64(const char *key, uint64_t val)
{
	field_start(key);
	printf("%llu", (unsigned long long)val);
}

void out_bool(const char *key, bool val)
{
	field_start(key);
	if (o.json)
		fputs(val ? "true" : "false", stdout);
	else
		putchar(val ? '1' : '0');
}

void out_enum(const char *key, const char *const *names, size_t n, uint64_t val)
{
	if (val < n && names[val])
		out_str(key, names[val]);
	else
		out_u64(key, val);
}

void out_raw_line(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if ((c < 0x20 && c != '\t') || c > 0x7e)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('\n');
}
