// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection commands (one text line each, from control.c):
 *
 *   drop-final        drop the next final result code
 *   delay MS          add MS to every command's processing time (0: off)
 *   silent on|off     read and discard all input, print nothing
 *   garble N          corrupt the next N bytes sent to the host
 *   fail-open E       the next AT+QIOPEN fails with error E
 *   already-connect   the next AT+QIOPEN answers ALREADY CONNECT (legacy)
 *   send-fail N       answer SEND FAIL to the next N sends
 *   urc closed ID | urc pdpdeact CTX | urc incoming-full ID
 *                     the network-side event, with its URC
 *   reboot            the module restarts: connections gone, then RDY
 *   cme N             answer the next command with +CME ERROR: N
 *   creg N            registration status becomes N (0-5), with URCs
 *   clear             undo every pending fault
 *   ping              liveness check
 *
 * One-shot faults are counters consumed where they take effect, so a
 * test can arm a fault and then observe exactly one effect on the wire.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atcmd.h"
#include "dialect.h"
#include "faults.h"
#include "sim.h"
#include "util.h"

static struct {
	unsigned drop_final;
	long delay_ms;
	int silent;
	long garble;
	long fail_open;		/* 0: none */
	unsigned already_connect;
	long send_fail;
	int cme;
	int cme_code;
} f;

int fault_take_drop_final(void)
{
	if (!f.drop_final)
		return 0;
	f.drop_final--;
	return 1;
}

unsigned fault_delay_ms(void)
{
	return f.delay_ms;
}

int fault_silent(void)
{
	return f.silent;
}

void fault_garble(unsigned char *p, size_t n)
{
	/* XOR with a constant: every corrupted byte differs from the
	 * original, so a test can see exactly how many were hit. */
	for (size_t i = 0; i < n && f.garble; i++, f.garble--)
		p[i] ^= 0x5a;
}

int fault_take_fail_open(int *err)
{
	if (!f.fail_open)
		return 0;
	*err = f.fail_open;
	f.fail_open = 0;
	return 1;
}

int fault_take_already_connect(void)
{
	if (!f.already_connect)
		return 0;
	f.already_connect--;
	return 1;
}

int fault_take_send_fail(void)
{
	if (!f.send_fail)
		return 0;
	f.send_fail--;
	return 1;
}

int fault_take_cme(int *code)
{
	if (!f.cme)
		return 0;
	f.cme = 0;
	*code = f.cme_code;
	return 1;
}

/* A decimal argument in [min, max]; -1 if absent or malformed. */
static long arg_num(const char *s, long min, long max)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	v = strtol(s, &end, 10);
	if (*end || v < min || v > max)
		return -1;
	return v;
}

static void set_cme(long code)
{
	f.cme = 1;
	f.cme_code = code;
}

static void set_creg(long stat)
{
	basic_set_reg(stat);
}

/* The commands that take one number: "NAME N", N in [min, max]. */
static const struct num_cmd {
	const char *name;
	long min, max;
	const char *usage;
	long *var;		/* where N goes, or */
	void (*set)(long n);	/* what N does */
} num_cmds[] = {
	{ "delay", 0, 600000, "usage: delay MS", &f.delay_ms, NULL },
	{ "garble", 0, 1L << 30, "usage: garble N", &f.garble, NULL },
	{ "fail-open", 1, 65535, "usage: fail-open ERRCODE", &f.fail_open, NULL },
	{ "send-fail", 0, 1000000, "usage: send-fail N", &f.send_fail, NULL },
	{ "cme", 0, 65535, "usage: cme N", NULL, set_cme },
	{ "creg", 0, 5, "usage: creg 0-5", NULL, set_creg },
};

static const struct num_cmd *num_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(num_cmds) / sizeof(num_cmds[0]); i++)
		if (!strcmp(num_cmds[i].name, name))
			return &num_cmds[i];
	return NULL;
}

void faults_command(const char *cmd, char *reply, size_t len)
{
	char buf[256], *w[4] = { 0 };
	int n = 0;
	const char *why = NULL;
	const struct num_cmd *nc;
	long v;

	snprintf(buf, sizeof(buf), "%s", cmd);
	for (char *tok = strtok(buf, " \t\r\n"); tok && n < 4; tok = strtok(NULL, " \t\r\n"))
		w[n++] = tok;
	if (!n) {
		why = "empty command";
	} else if (!strcmp(w[0], "ping")) {
		;
	} else if (!strcmp(w[0], "drop-final")) {
		f.drop_final++;
	} else if (!strcmp(w[0], "already-connect")) {
		f.already_connect++;
	} else if ((nc = num_cmd(w[0]))) {
		if ((v = arg_num(w[1], nc->min, nc->max)) < 0)
			why = nc->usage;
		else if (nc->var)
			*nc->var = v;
		else
			nc->set(v);
	} else if (!strcmp(w[0], "silent")) {
		if (w[1] && !strcmp(w[1], "on"))
			f.silent = 1;
		else if (w[1] && !strcmp(w[1], "off"))
			f.silent = 0;
		else
			why = "usage: silent on|off";
	} else if (!strcmp(w[0], "urc")) {
		if (!w[1] || (v = arg_num(w[2], 0, 65535)) < 0)
			why = "usage: urc closed|pdpdeact|incoming-full N";
		else if (dialect->inject(w[1], v, &why) < 0 && !why)
			why = "failed";
	} else if (!strcmp(w[0], "reboot")) {
		sim_reboot(opt.reboot_ms);
	} else if (!strcmp(w[0], "clear")) {
		memset(&f, 0, sizeof(f));
	} else {
		why = "unknown command";
	}
	if (why)
		snprintf(reply, len, "error %s\n", why);
	else
		snprintf(reply, len, "ok\n");
}
