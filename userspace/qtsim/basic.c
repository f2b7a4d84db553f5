// SPDX-License-Identifier: GPL-2.0
/*
 * The 3GPP / V.25ter commands a host uses at bring-up, common to every
 * Quectel dialect: echo, identification, SIM and registration state,
 * signal quality, attach, baud rate, and CFUN (with its reboot).
 * The simulated network is always there: SIM ready, registered home,
 * attached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atcmd.h"
#include "sim.h"

static int creg_n, cgreg_n, cereg_n, cmee, cgatt = 1, cfun = 1;
static int reg_stat = 1;	/* 0 not registered, 1 home, 2 searching, 3 denied, 5 roaming */
static int ipr = 115200;

/* How the module names itself: the modern modules' way by default. */
static const struct ident modern_ident = { "Quectel", "", "", 0 };
static const struct ident *ident = &modern_ident;

void basic_set_ident(const struct ident *id)
{
	ident = id ? id : &modern_ident;
}

void basic_reset(void)
{
	creg_n = cgreg_n = cereg_n = cmee = 0;
	cgatt = 1;
	cfun = 1;
	reg_stat = 1;
}

/* Home or roaming: there is a cell to report. */
static int on_network(void)
{
	return reg_stat == 1 || reg_stat == 5;
}

int basic_registered(void)
{
	return on_network() && cgatt && cfun == 1;
}

static void reg_urc(const char *name, int n)
{
	if (n == 1)
		out_urc("%s: %d", name, reg_stat);
	else if (n == 2 && on_network())
		out_urc("%s: %d,\"1A2B\",\"0C3D4E5F\",7", name, reg_stat);
	else if (n == 2)
		out_urc("%s: %d", name, reg_stat);
}

/* The network side changes: hosts that asked (n >= 1) get URCs. */
void basic_set_reg(int stat)
{
	if (stat == reg_stat)
		return;
	reg_stat = stat;
	reg_urc("+CREG", creg_n);
	reg_urc("+CGREG", cgreg_n);
	reg_urc("+CEREG", cereg_n);
}

static const char *revision(void)
{
	static char buf[64];
	static const struct { const char *model, *rev; } known[] = {
		{ "EC25", "EC25EFAR06A06M4G" },
		{ "EC21", "EC21EFAR06A01M4G" },
		{ "EG25", "EG25GGBR07A08M2G" },
		{ "BG96", "BG96MAR02A07M1G" },
		{ "BG95", "BG95M3LAR02A03" },
		{ "EM05", "EM05CEFCR06A02M1G" },
		{ "RG500Q", "RG500QEAAAR11A06M4G" },
		{ "RM500Q", "RM500QGLABR11A06M4G" },
		{ "M95", "M95FAR02A08" },
	};

	if (opt.revision)
		return opt.revision;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(known[i].model, opt.model))
			return known[i].rev;
	snprintf(buf, sizeof(buf), "%sR01A01", opt.model);
	return buf;
}

/* Basic commands carry their number in raw: "" or digits. */
static long basic_num(const char *raw)
{
	return *raw ? strtol(raw, NULL, 10) : 0;
}

static enum at_result c_echo(enum at_kind k, struct at_args *a, char *raw)
{
	(void)a;
	if (k == AT_QUERY)
		return R_ERROR;
	if (basic_num(raw) > 1)
		return R_ERROR;
	set_echo(basic_num(raw));
	return R_OK;
}

static enum at_result c_ok_0(enum at_kind k, struct at_args *a, char *raw)
{
	/* Q0, X, H, &D..: accepted, nothing to simulate */
	(void)k;
	(void)a;
	(void)raw;
	return R_OK;
}

static enum at_result c_verbose(enum at_kind k, struct at_args *a, char *raw)
{
	(void)k;
	(void)a;
	/* Numeric result codes (ATV0) are not simulated. */
	return *raw && basic_num(raw) != 1 ? R_ERROR : R_OK;
}

static enum at_result c_factory(enum at_kind k, struct at_args *a, char *raw)
{
	(void)k;
	(void)a;
	(void)raw;
	set_echo(1);
	basic_reset();
	return R_OK;
}

static enum at_result c_info(enum at_kind k, struct at_args *a, char *raw)
{
	(void)k;
	(void)a;
	if (basic_num(raw))
		return R_OK;
	if (ident->ati_split) {
		/* M-series: the revision is a line of its own */
		out_line("%s\r\n%s%s", ident->maker, ident->model_prefix, opt.model);
		out_line("Revision: %s", revision());
	} else {
		out_line("%s\r\n%s\r\nRevision: %s", ident->maker, opt.model, revision());
	}
	return R_OK;
}

static enum at_result c_gsn(enum at_kind k, struct at_args *a, char *raw)
{
	(void)a;
	(void)raw;
	return at_report(k, "%s", opt.imei);
}

static enum at_result c_gmi(enum at_kind k, struct at_args *a, char *raw)
{
	(void)a;
	(void)raw;
	return at_report(k, "%s", ident->maker);
}

static enum at_result c_gmm(enum at_kind k, struct at_args *a, char *raw)
{
	(void)a;
	(void)raw;
	return at_report(k, "%s%s", ident->model_prefix, opt.model);
}

static enum at_result c_gmr(enum at_kind k, struct at_args *a, char *raw)
{
	(void)a;
	(void)raw;
	return at_report(k, "%s%s", ident->gmr_prefix, revision());
}

static enum at_result c_cpin(enum at_kind k, struct at_args *a, char *raw)
{
	(void)a;
	(void)raw;
	if (k == AT_QUERY)
		out_line("+CPIN: READY");
	else if (k != AT_TEST && k != AT_SET)
		return R_ERROR;
	return R_OK;
}

/* AT+CREG? / +CGREG? / +CEREG?: <n>,<stat>[,<lac>,<ci>,<act>] */
static void reg_show(const char *name, int n)
{
	if (n == 2 && on_network())
		out_line("%s: 2,%d,\"1A2B\",\"0C3D4E5F\",7", name, reg_stat);
	else
		out_line("%s: %d,%d", name, n, reg_stat);
}

static enum at_result c_csq(enum at_kind k, struct at_args *a, char *raw)
{
	(void)a;
	(void)raw;
	if (k == AT_TEST)
		out_line("+CSQ: (0-31,99),(0-7,99)");
	else if (k == AT_EXEC)
		out_line("+CSQ: 25,99");
	else
		return R_ERROR;
	return R_OK;
}

/*
 * AT+IPR: the rates a module accepts (0: autobauding). The pty has no
 * real rate; --baud paces it.
 */
static int ipr_valid(long v)
{
	static const long rates[] = { 0, 4800, 9600, 19200, 38400, 57600, 115200,
				      230400, 460800, 921600, 3000000, 3686400,
				      4000000 };

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		if (rates[i] == v)
			return 1;
	return 0;
}

static enum at_result c_cfun(enum at_kind k, struct at_args *a, char *raw)
{
	long fun, rst;

	(void)raw;
	switch (k) {
	case AT_QUERY:
		out_line("+CFUN: %d", cfun);
		return R_OK;
	case AT_TEST:
		out_line("+CFUN: (0,1,4),(0,1)");
		return R_OK;
	case AT_SET:
		if (!a || a->n < 1 || a->n > 2 || at_int(a, 0, 0, 4, &fun) < 0 ||
		    fun == 2 || fun == 3 || at_int_opt(a, 1, 0, 1, 0, &rst) < 0)
			return R_ERROR;
		if (rst) {
			if (fun != 1)
				return R_ERROR;
			/* OK first, then the module is gone until RDY. */
			out_final("OK");
			sim_reboot(opt.reboot_ms);
			return R_DONE;
		}
		cfun = fun;
		/* minimum functionality / flight mode: off the network (the
		 * registration URCs follow the OK) */
		out_final("OK");
		basic_set_reg(fun == 1 ? 1 : 0);
		return R_DONE;
	default:
		return R_ERROR;
	}
}

static enum at_result c_cops(enum at_kind k, struct at_args *a, char *raw)
{
	(void)a;
	(void)raw;
	if (k == AT_QUERY)
		out_line("+COPS: 0,0,\"QTSIM\",7");
	else if (k == AT_EXEC)
		return R_ERROR;
	return R_OK;
}

static enum at_result c_cimi(enum at_kind k, struct at_args *a, char *raw)
{
	(void)a;
	(void)raw;
	return at_report(k, "460011234567890");
}

static enum at_result c_qccid(enum at_kind k, struct at_args *a, char *raw)
{
	(void)a;
	(void)raw;
	return at_report(k, "+QCCID: 89860112345678901234");
}

static enum at_result c_qurccfg(enum at_kind k, struct at_args *a, char *raw)
{
	(void)raw;
	if (k == AT_QUERY)
		out_line("+QURCCFG: \"urcport\",\"%s\"", opt.at_port);
	else if (k == AT_SET && !a)
		return R_ERROR;
	return R_OK;
}

static const struct at_cmd basic_cmds[] = {
	{ "E", c_echo },
	{ "V", c_verbose },
	{ "Q", c_ok_0 },
	{ "X", c_ok_0 },
	{ "H", c_ok_0 },
	{ "&D", c_ok_0 },
	{ "&C", c_ok_0 },
	{ "&W", c_ok_0 },
	{ "&F", c_factory },
	{ "Z", c_factory },
	{ "I", c_info },
	{ "+GSN", c_gsn },
	{ "+CGSN", c_gsn },
	{ "+GMI", c_gmi },
	{ "+CGMI", c_gmi },
	{ "+GMM", c_gmm },
	{ "+CGMM", c_gmm },
	{ "+GMR", c_gmr },
	{ "+CGMR", c_gmr },
	{ "+CPIN", c_cpin },
	{ "+CSQ", c_csq },
	{ "+CFUN", c_cfun },
	{ "+COPS", c_cops },
	{ "+CIMI", c_cimi },
	{ "+QCCID", c_qccid },
	{ "+QURCCFG", c_qurccfg },
	{ NULL, NULL }
};

/* name, variable, min, max, then the other fields by name */
static const struct at_setting basic_settings[] = {
	{ "+CREG", &creg_n, 0, 2, .test = "(0-2)", .show = reg_show },
	{ "+CGREG", &cgreg_n, 0, 2, .test = "(0-2)", .show = reg_show },
	{ "+CEREG", &cereg_n, 0, 2, .test = "(0-2)", .show = reg_show },
	{ "+CGATT", &cgatt, 0, 1, .test = "(0,1)" },
	{ "+CMEE", &cmee, 0, 2, .test = "(0-2)" },
	{ "+IPR", &ipr, 0, 4000000, .valid = ipr_valid,
	  .test = "(0,4800,9600,19200,38400,57600,115200,230400,460800,921600,"
		  "3000000,3686400,4000000)" },
	{ NULL }
};

const struct at_table basic_table = { basic_cmds, basic_settings };
