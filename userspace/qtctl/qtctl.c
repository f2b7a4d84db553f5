// SPDX-License-Identifier: GPL-2.0
/*
 * qtctl: the control tool of quectel.ko (docs/CONTROL.md, qtctl.8).
 *
 *   qtctl [-j] show [MODEM]
 *   qtctl [-j] context set MODEM CTX apn APN [user U [pass P]] [auth A] [type T]
 *   qtctl [-j] context up|down MODEM CTX
 *   qtctl [-j] ping MODEM HOST [-c COUNT] [-W SECONDS]
 *   qtctl [-j] at MODEM LINE
 *   qtctl [-j] timeout MODEM CMD SECONDS
 *   qtctl [-j] dialect MODEM auto|modern|legacy
 *   qtctl [-j] sockets
 *   qtctl [-j] monitor [-c COUNT]
 *
 * This file: the command line. The shape of every argument is checked
 * here (numbers, ranges, keywords: exit 2); what strings may contain is
 * the kernel's to judge, and it says why it refuses (exit 1).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/quectel.h>

#include "qtctl.h"

#define CTX_MAX		16
#define PING_COUNT_MAX	10
#define PING_WAIT_MAX	255
#define TIMEOUT_MS_MIN	100
#define TIMEOUT_MS_MAX	600000

static const char *const dialect_choices[] = { "auto", "modern", "legacy", NULL };

static const char *const timeout_cmds[] = {
	"default", "qiact", "qiopen", "qiclose", "qideact", "cfun", "cgatt", NULL
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: qtctl [-j] COMMAND [ARG]...\n"
		"\n"
		"  show [MODEM]              the modems of this network namespace (or one)\n"
		"  context set MODEM CTX apn APN [user USER [pass PASSWORD]]\n"
		"              [auth pap|chap|any|none] [type ipv4|ipv6|ipv4v6]\n"
		"                            configure PDP context CTX (1..%d)\n"
		"  context up MODEM CTX      activate it\n"
		"  context down MODEM CTX    deactivate it\n"
		"  ping MODEM HOST [-c COUNT] [-W SECONDS]\n"
		"                            echo requests from the modem: COUNT 1..%d\n"
		"                            (4), SECONDS per echo 1..%d (4)\n"
		"  at MODEM LINE             send one AT command line, print the answer\n"
		"  timeout MODEM CMD SECONDS how long the kernel waits for CMD (default,\n"
		"                            qiact, qiopen, qiclose, qideact, cfun, cgatt):\n"
		"                            0.1..600, fractions allowed\n"
		"  dialect MODEM auto|modern|legacy\n"
		"                            the command set: from the model, or forced\n"
		"                            (a ready modem that changes set restarts)\n"
		"  sockets                   the AF_QUECTEL sockets (/proc/net/quectel)\n"
		"  monitor [-c COUNT]        print events as they come (COUNT: then exit)\n"
		"\n"
		"MODEM is the index N of qmN, or the name qmN.\n"
		"  -j   JSON output\n"
		"  -h   this help\n"
		"Exit status: 0 success, 1 the operation failed, 2 usage error.\n",
		CTX_MAX, PING_COUNT_MAX, PING_WAIT_MAX);
}

void die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("qtctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'qtctl -h' for more information.\n", stderr);
	exit(EXIT_USAGE);
}

void die_err(int err, const char *detail, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("qtctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s", strerror(err));
	if (detail && *detail)
		fprintf(stderr, ": %s", detail);
	fputc('\n', stderr);
	exit(EXIT_FAIL);
}

/* ---- arguments ---- */

/* A decimal number of digits only, within [min, max]. */
static bool parse_num(const char *s, unsigned long min, unsigned long max, unsigned long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return !errno && !*end && *v >= min && *v <= max;
}

static unsigned long num_arg(const char *s, const char *what, unsigned long min,
			     unsigned long max)
{
	unsigned long v;

	if (parse_num(s, min, max, &v))
		return v;
	if (max == ULONG_MAX)
		die_usage("%s must be a number from %lu on, not '%s'", what, min, s);
	die_usage("%s must be a number from %lu to %lu, not '%s'", what, min, max, s);
}

/* MODEM: N or qmN. */
static uint32_t modem_arg(const char *s)
{
	unsigned long v;

	if (!parse_num(!strncmp(s, "qm", 2) ? s + 2 : s, 0, UINT32_MAX, &v))
		die_usage("MODEM must be an index N or a name qmN, not '%s'", s);
	return v;
}

static uint8_t ctx_arg(const char *s)
{
	return num_arg(s, "CTX", 1, CTX_MAX);
}

/* SECONDS: digits with at most one '.', in milliseconds (rounded). */
static uint32_t seconds_ms_arg(const char *s)
{
	const char *dot = strchr(s, '.');
	size_t len = strlen(s);
	double ms;

	if (len && len <= 16 && strspn(s, "0123456789.") == len && strcmp(s, ".") &&
	    (!dot || !strchr(dot + 1, '.'))) {
		ms = strtod(s, NULL) * 1000 + 0.5;
		if (ms >= TIMEOUT_MS_MIN && ms < TIMEOUT_MS_MAX + 1)
			return (uint32_t)ms;
	}
	die_usage("SECONDS must be from %g to %g, not '%s'", TIMEOUT_MS_MIN / 1000.0,
		  TIMEOUT_MS_MAX / 1000.0, s);
}

/* The index of @s in the NULL-terminated @names, or a usage error. */
static int keyword_arg(const char *s, const char *what, const char *const *names)
{
	int i;

	for (i = 0; names[i]; i++)
		if (!strcmp(s, names[i]))
			return i;
	die_usage("unknown %s '%s'", what, s);
}

/* Exactly @n operands after the command words, else a usage error. */
static void operands(int argc, int n, const char *cmd)
{
	if (argc < n)
		die_usage("%s: missing operand", cmd);
	if (argc > n)
		die_usage("%s: too many operands", cmd);
}

/* Options of a command: getopt on its own argv (argv[0] the command). */
static int sub_getopt(int argc, char **argv, const char *opts, const char *cmd)
{
	int c = getopt(argc, argv, opts);

	if (c == ':')
		die_usage("%s: option -%c needs a value", cmd, optopt);
	if (c == '?')
		die_usage("%s: unknown option '-%c'", cmd, optopt);
	return c;
}

static void sub_getopt_init(void)
{
	optind = 0;	/* GNU: start over, with argument permutation */
	opterr = 0;
}

/* ---- commands ---- */

static int do_show(int argc, char **argv)
{
	if (argc > 2)
		die_usage("show: too many operands");
	return cmd_show(argc == 2, argc == 2 ? modem_arg(argv[1]) : 0);
}

static int do_context_set(int argc, char **argv)
{
	static const char *const keys[] = { "apn", "user", "pass", "auth", "type", NULL };
	static const char *const auths[] = { "none", "pap", "chap", "any", NULL };
	/* In the order of enum qt_ctx_type, from 1. */
	static const char *const types[] = { "ipv4", "ipv6", "ipv4v6", NULL };
	const char *val[5] = { NULL };
	uint32_t modem;
	uint8_t ctx;
	int i, k;

	if (argc < 4)
		die_usage("context set: missing operand");
	modem = modem_arg(argv[2]);
	ctx = ctx_arg(argv[3]);
	for (i = 4; i < argc; i += 2) {
		k = keyword_arg(argv[i], "context setting", keys);
		if (i + 1 >= argc)
			die_usage("context set: %s needs a value", keys[k]);
		if (val[k])
			die_usage("context set: %s given twice", keys[k]);
		val[k] = argv[i + 1];
	}
	if (!val[0])
		die_usage("context set: apn is required (apn \"\" for the network's default)");
	if (val[2] && !val[1])
		die_usage("context set: pass needs a user");
	return cmd_ctx_set(modem, ctx, val[0], val[1], val[2],
			   val[3] ? keyword_arg(val[3], "auth", auths) : -1,
			   val[4] ? keyword_arg(val[4], "type", types) + 1 : 0);
}

static int do_context(int argc, char **argv)
{
	if (argc < 2)
		die_usage("context: set, up or down?");
	if (!strcmp(argv[1], "set"))
		return do_context_set(argc, argv);
	if (strcmp(argv[1], "up") && strcmp(argv[1], "down"))
		die_usage("context: unknown action '%s' (set, up or down)", argv[1]);
	operands(argc - 2, 2, "context");
	return cmd_ctx_updown(modem_arg(argv[2]), ctx_arg(argv[3]), argv[1][0] == 'u');
}

static int do_ping(int argc, char **argv)
{
	struct ping_opts po = { 0, 0 };
	int c;

	sub_getopt_init();
	while ((c = sub_getopt(argc, argv, ":c:W:", "ping")) != -1) {
		if (c == 'c')
			po.count = num_arg(optarg, "COUNT", 1, PING_COUNT_MAX);
		else
			po.timeout_s = num_arg(optarg, "-W SECONDS", 1, PING_WAIT_MAX);
	}
	operands(argc - optind, 2, "ping");
	return cmd_ping(modem_arg(argv[optind]), argv[optind + 1], &po);
}

static int do_at(int argc, char **argv)
{
	operands(argc - 1, 2, "at");
	return cmd_at(modem_arg(argv[1]), argv[2]);
}

static int do_timeout(int argc, char **argv)
{
	uint32_t modem;
	int which;

	operands(argc - 1, 3, "timeout");
	modem = modem_arg(argv[1]);
	which = keyword_arg(argv[2], "timeout command", timeout_cmds);
	return cmd_timeout(modem, timeout_cmds[which], seconds_ms_arg(argv[3]));
}

static int do_dialect(int argc, char **argv)
{
	uint32_t modem;
	int which;

	operands(argc - 1, 2, "dialect");
	modem = modem_arg(argv[1]);
	which = keyword_arg(argv[2], "dialect", dialect_choices);
	return cmd_dialect(modem, dialect_choices[which]);
}

static int do_sockets(int argc, char **argv)
{
	(void)argv;
	operands(argc - 1, 0, "sockets");
	return cmd_sockets();
}

static int do_monitor(int argc, char **argv)
{
	unsigned long count = 0;

	sub_getopt_init();
	while (sub_getopt(argc, argv, ":c:", "monitor") != -1)
		count = num_arg(optarg, "COUNT", 1, ULONG_MAX);
	operands(argc - optind, 0, "monitor");
	return cmd_monitor(count);
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "show", do_show },
	{ "context", do_context },
	{ "ping", do_ping },
	{ "at", do_at },
	{ "timeout", do_timeout },
	{ "dialect", do_dialect },
	{ "sockets", do_sockets },
	{ "monitor", do_monitor },
};

int main(int argc, char **argv)
{
	bool json = false;
	size_t i;
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, "+hj")) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'j':
			json = true;
			break;
		default:
			die_usage("unknown option '-%c'", optopt);
		}
	}
	if (optind >= argc)
		die_usage("no command");
	out_init(json);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[optind], commands[i].name))
			return commands[i].run(argc - optind, argv + optind);
	die_usage("unknown command '%s'", argv[optind]);
}
