// SPDX-License-Identifier: GPL-2.0
/*
 * qtctl (userspace/qtctl), the control tool, run as a program against
 * qtsim, checked against docs/CONTROL.md: every command in text and in
 * JSON (parsed with qt_json.h), usage errors, what reaches the modem (the
 * qtsim transcript) and what must not (AT injection through APNs, users,
 * passwords, ping hosts and AT lines; commands the kernel refuses), ping
 * results against the modem's +QPING lines, changes refused to an
 * unprivileged user, events seen by qtctl monitor, /proc/net/quectel
 * against real sockets, and a second network namespace that sees neither
 * the modem nor its sockets.
 *
 * Every test but usage starts its own qtsim (--rdy-delay 0, --log) on a pty,
 * attaches the line discipline and waits for state=ready. qtctl runs as a
 * child with its stdout and stderr in files of a mkdtemp directory; every
 * run is bounded and killed past its time, and the teardown kills and
 * reaps whatever a test started.
 */
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "qt_af.h"
#include "qt_json.h"
#include "qt_prog.h"

#define RUN_MS		30000		/* one qtctl run */
#define NMON		2		/* monitors at once */
#define MAXPING		16
#define QTCTL_BIN	qt_prog_path("userspace/qtctl/qtctl")

FIXTURE(ctl) {
	struct qt_env e;
	char dir[64];			/* mkdtemp */
	char out[96], err[96];		/* the last run's stdout and stderr */
	char idx[16], name[16];		/* the modem: "N" and "qmN" */
	int status;			/* the last run's exit status (-1: killed) */
	char *o, *er;			/* its stdout and stderr */
	struct qj *j;			/* its stdout as JSON */
	pid_t mon[NMON];		/* qtctl monitor children */
	struct qt_sim sim2;		/* a second modem, if any */
	int tty2;
	char mon_out[NMON][96], mon_err[NMON][96];
};

FIXTURE_SETUP(ctl)
{
	int i;

	qt_env_setup(&self->e);
	self->tty2 = -1;
	snprintf(self->dir, sizeof(self->dir), "/tmp/ctl_test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->out, sizeof(self->out), "%s/out", self->dir);
	snprintf(self->err, sizeof(self->err), "%s/err", self->dir);
	for (i = 0; i < NMON; i++) {
		snprintf(self->mon_out[i], sizeof(self->mon_out[i]), "%s/mon%d", self->dir, i);
		snprintf(self->mon_err[i], sizeof(self->mon_err[i]), "%s/mon%d.err",
			 self->dir, i);
	}
}

FIXTURE_TEARDOWN(ctl)
{
	int i;

	for (i = 0; i < NMON; i++) {
		qn_kill_reap(&self->mon[i]);
		unlink(self->mon_out[i]);
		unlink(self->mon_err[i]);
	}
	free(self->o);
	free(self->er);
	qj_free(self->j);
	unlink(self->out);
	unlink(self->err);
	rmdir(self->dir);
	if (self->tty2 >= 0)
		close(self->tty2);
	qt_sim_stop(&self->sim2, SIGTERM);
	qt_env_teardown(_metadata, &self->e);
}

/* The modem up, with a transcript; its index and name for the commands. */
static void modem(struct __test_metadata *_metadata, FIXTURE_DATA(ctl) *self)
{
	modem_up(_metadata, &self->e, NULL, true);
	snprintf(self->idx, sizeof(self->idx), "%d", self->e.modem);
	snprintf(self->name, sizeof(self->name), "qm%d", self->e.modem);
}

/* ---- running qtctl ---- */

/* Run qtctl @args as @as within RUN_MS: its status; output in self->o and self->er. */
static int qtctl_as(FIXTURE_DATA(ctl) *self, enum qt_as as, const char *const *args)
{
	pid_t pid = qt_prog_spawn(QTCTL_BIN, as, self->out, self->err, args);

	self->status = pid < 0 ? -2 : qt_prog_status(&pid, RUN_MS);
	free(self->o);
	free(self->er);
	self->o = qt_read_text(self->out);
	self->er = qt_read_text(self->err);
	return self->status;
}

#define QTCTL_AS(as, ...)	qtctl_as(self, as, (const char *const[]){ __VA_ARGS__, NULL })
#define QTCTL(...)		QTCTL_AS(QT_AS_ROOT, __VA_ARGS__)

/* The last run succeeded (status 0, nothing on stderr). */
#define EXPECT_RAN(what) do { \
		EXPECT_EQ(0, self->status) TH_LOG("%s: status %d, stderr: %s", what, \
						  self->status, self->er); \
		EXPECT_STREQ("", self->er); \
	} while (0)

/* The last run's stdout as JSON (asserts that it is valid JSON). */
static const struct qj *json_out(struct __test_metadata *_metadata, FIXTURE_DATA(ctl) *self)
{
	qj_free(self->j);
	self->j = qj_parse(self->o);
	ASSERT_NE(NULL, self->j) TH_LOG("not JSON: '%s' (stderr: %s)", self->o, self->er);
	return self->j;
}

/*
 * The last run was refused by the kernel: status 1 and one line
 * "qtctl: <what>: <strerror(err)>[: <detail>]" (err or err2, if not 0).
 */
static void expect_refused(struct __test_metadata *_metadata, FIXTURE_DATA(ctl) *self,
			   const char *what, int err, int err2)
{
	bool named = strstr(self->er, strerror(err)) ||
		     (err2 && strstr(self->er, strerror(err2)));

	EXPECT_EQ(1, self->status) TH_LOG("%s: status %d, stdout '%s', stderr '%s'", what,
					  self->status, self->o, self->er);
	EXPECT_TRUE(!strncmp(self->er, "qtctl: ", 7) && named &&
		    strchr(self->er, '\n') == self->er + strlen(self->er) - 1)
		TH_LOG("%s: want '%s'%s%s, stderr: '%s'", what, strerror(err),
		       err2 ? " or " : "", err2 ? strerror(err2) : "", self->er);
}

/* ---- text output ---- */

/*
 * The first line of @text that starts with @prefix and contains @needle
 * (if not NULL), copied to @buf without its newline; NULL if none.
 */
static char *line_of(const char *text, const char *prefix, const char *needle,
		     char *buf, size_t len)
{
	const char *p = text;

	while (p && *p) {
		const char *eol = strchrnul(p, '\n');
		size_t n = eol - p;

		if (n < len && !strncmp(p, prefix, strlen(prefix))) {
			memcpy(buf, p, n);
			buf[n] = 0;
			if (!needle || strstr(buf, needle))
				return buf;
		}
		p = *eol ? eol + 1 : NULL;
	}
	return NULL;
}

/* The value of " key=" in a text line, unquoted and unescaped; NULL if absent. */
static char *field_of(const char *line, const char *key, char *buf, size_t len)
{
	char want[64];
	const char *p;
	size_t n = 0;

	snprintf(want, sizeof(want), " %s=", key);
	p = line ? strstr(line, want) : NULL;
	if (!p)
		return NULL;
	p += strlen(want);
	if (*p != '"') {
		while (*p && *p != ' ' && n + 1 < len)
			buf[n++] = *p++;
		buf[n] = 0;
		return buf;
	}
	for (p++; *p && *p != '"' && n + 1 < len; p++) {
		unsigned int x;

		if (*p == '\\' && p[1] == 'x' && sscanf(p + 2, "%2x", &x) == 1) {
			buf[n++] = x;
			p += 3;
		} else if (*p == '\\' && p[1]) {
			buf[n++] = *++p;
		} else {
			buf[n++] = *p;
		}
	}
	buf[n] = 0;
	return buf;
}

/* A numeric field of a text line, or -1. */
static long nfield(const char *line, const char *key)
{
	char v[32];

	return field_of(line, key, v, sizeof(v)) ? strtol(v, NULL, 10) : -1;
}

/* How many lines @text has. */
static int count_lines(const char *text)
{
	int n = 0;

	for (; text && *text; text++)
		n += *text == '\n';
	return n;
}

/* How many lines of @text start with @prefix. */
static int lines_starting(const char *text, const char *prefix)
{
	int n = 0;

	for (; text && *text; text = strchrnul(text, '\n'), text += !!*text)
		n += !strncmp(text, prefix, strlen(prefix));
	return n;
}

/* One expected value, checked in a text line and in a JSON object alike. */
struct want {
	const char *key;
	const char *val;
	bool num;
};

static void expect_values(struct __test_metadata *_metadata, const char *line,
			  const struct qj *obj, const struct want *w, size_t n)
{
	char v[256];
	size_t i;

	for (i = 0; i < n; i++, w++) {
		if (line) {
			const char *got = field_of(line, w->key, v, sizeof(v));

			EXPECT_STREQ(w->val, got ? got : "(absent)") TH_LOG("text %s in '%s'",
									    w->key, line);
		}
		if (!obj)
			continue;
		if (w->num) {
			EXPECT_EQ(strtod(w->val, NULL), qj_num(obj, w->key, -1))
				TH_LOG("JSON %s", w->key);
		} else {
			const char *got = qj_str(obj, w->key);

			EXPECT_STREQ(w->val, got ? got : "(absent)") TH_LOG("JSON %s", w->key);
		}
	}
}

#define N(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- the transcript ---- */

/* The transcript after @mark, once qtsim has written what it has (malloc'd). */
static char *wire_since(FIXTURE_DATA(ctl) *self, size_t mark)
{
	size_t len;

	/* qtsim flushes when its loop goes idle. */
	qn_sleep_ms(300);
	return log_since(&self->e, mark, &len);
}

/* Does the transcript after @mark contain @needle (any case), within 2 s? */
static bool wire_has(FIXTURE_DATA(ctl) *self, size_t mark, const char *needle)
{
	int64_t end = qn_now_ms() + 2000;
	bool found;

	do {
		char *log = wire_since(self, mark);

		found = log && strcasestr(log, needle);
		free(log);
	} while (!found && qn_now_ms() < end);
	return found;
}

/* Nothing of @needles (NULL-terminated) after @mark. */
static void expect_wire_clean(struct __test_metadata *_metadata, FIXTURE_DATA(ctl) *self,
			      size_t mark, const char *const *needles)
{
	char *log = wire_since(self, mark);

	ASSERT_NE(NULL, log);
	for (; *needles; needles++) {
		const char *hit = strcasestr(log, *needles), *bol = hit;

		while (bol && bol > log && bol[-1] != '\n')
			bol--;
		EXPECT_EQ(NULL, hit) TH_LOG("'%s' reached the modem: %.*s", *needles,
					    hit ? (int)strcspn(bol, "\n") : 0, bol ? bol : "");
	}
	free(log);
}

/* ---- the command line ---- */

/* Bad command lines: status 2 and a hint, nothing on stdout. */
TEST_F_TIMEOUT(ctl, usage, 120)
{
	static const char *const bad[][10] = {
		{ NULL },
		{ "bogus", NULL },
		{ "-x", "show", NULL },
		{ "show", "0", "1", NULL },
		{ "show", "qmx", NULL },
		{ "show", "-1", NULL },
		{ "show", "qm", NULL },
		{ "context", NULL },
		{ "context", "sideways", "0", "1", NULL },
		{ "context", "up", "0", NULL },
		{ "context", "down", "0", "1", "2", NULL },
		{ "context", "up", "0", "0", NULL },
		{ "context", "up", "0", "17", NULL },
		{ "context", "set", "0", "1", NULL },
		{ "context", "set", "0", "1", "apn", NULL },
		{ "context", "set", "0", "1", "apn", "a", "pass", "p", NULL },
		{ "context", "set", "0", "1", "apn", "a", "auth", "md5", NULL },
		{ "context", "set", "0", "1", "apn", "a", "type", "ipv5", NULL },
		{ "context", "set", "0", "1", "apn", "a", "apn", "b", NULL },
		{ "context", "set", "0", "1", "apn", "a", "colour", "red", NULL },
		{ "ping", "0", NULL },
		{ "ping", "0", "h", "x", NULL },
		{ "ping", "0", "h", "-c", "0", NULL },
		{ "ping", "0", "h", "-c", "11", NULL },
		{ "ping", "0", "h", "-W", "0", NULL },
		{ "ping", "0", "h", "-W", "256", NULL },
		{ "ping", "0", "h", "-c", NULL },
		{ "ping", "0", "h", "-q", NULL },
		{ "at", "0", NULL },
		{ "at", "0", "AT", "AT", NULL },
		{ "timeout", "0", "qiact", NULL },
		{ "timeout", "0", "qisend", "5", NULL },
		{ "timeout", "0", "qiact", "0.09", NULL },
		{ "timeout", "0", "qiact", "600.5", NULL },
		{ "timeout", "0", "qiact", "1e3", NULL },
		{ "timeout", "0", "qiact", "-1", NULL },
		{ "timeout", "0", "qiact", "", NULL },
		{ "timeout", "0", "qiact", "1.2.3", NULL },
		{ "sockets", "x", NULL },
		{ "monitor", "-c", "0", NULL },
		{ "monitor", "-c", "x", NULL },
		{ "monitor", "now", NULL },
	};
	static const char *const cmds[] = {
		"show", "context set", "context up", "context down", "ping", "at", "timeout",
		"sockets", "monitor", "-j", NULL,
	};
	const char *const *c;
	size_t i;

	for (i = 0; i < N(bad); i++) {
		qtctl_as(self, QT_AS_ROOT, bad[i]);
		EXPECT_EQ(2, self->status) TH_LOG("case %zu: %s", i, self->er);
		EXPECT_TRUE(!strncmp(self->er, "qtctl: ", 7) && strstr(self->er, "Try 'qtctl -h'"))
			TH_LOG("case %zu: %s", i, self->er);
		EXPECT_STREQ("", self->o) TH_LOG("case %zu", i);
	}
	/* -h: the usage on stdout, status 0, naming every command. */
	ASSERT_EQ(0, QTCTL("-h"));
	EXPECT_EQ(0, strncmp(self->o, "usage: qtctl", 12)) TH_LOG("%s", self->o);
	for (c = cmds; *c; c++) {
		const char *word = *c;
		bool found = strstr(self->o, word) != NULL;

		EXPECT_TRUE(found) TH_LOG("missing in the usage: %s", word);
	}
}

/* ---- show ---- */

TEST_F_TIMEOUT(ctl, show, 60)
{
	char line[1024], tty[32];
	const struct qj *a, *m;
	size_t mark;
	int csq;

	modem(_metadata, self);
	qt_tty_name(self->e.sim.slave, tty, sizeof(tty));
	{
		const struct want ident[] = {
			{ "index", self->idx, true },
			{ "tty", tty, false },
			{ "dialect", "modern", false },
			{ "state", "ready", false },
			{ "model", "EC25", false },
			{ "revision", "EC25EFAR06A06M4G", false },
			{ "imei", "866758041234567", false },
			{ "rssi", "25", true },		/* qtsim's AT+CSQ */
			{ "ber", "99", true },
			{ "reg", "1", true },		/* AT+CREG?: home */
			{ "sockets", "0", true },
		};
		const struct want tmo[] = {		/* the notes' defaults */
			{ "default", "60000", true }, { "qiact", "150000", true },
			{ "qiopen", "150000", true }, { "qiclose", "10000", true },
			{ "qideact", "40000", true }, { "cfun", "15000", true },
			{ "cgatt", "180000", true },
		};
		char head[24];

		/* Text: the modem's line, then its stats and timeouts lines. */
		mark = log_size(&self->e);
		csq = log_count(&self->e, "> AT+CSQ\\r");
		ASSERT_EQ(0, QTCTL("show"));
		snprintf(head, sizeof(head), "%s ", self->name);
		ASSERT_NE(NULL, line_of(self->o, head, NULL, line, sizeof(line)))
			TH_LOG("no %s line: %s", self->name, self->o);
		expect_values(_metadata, line, NULL, ident, N(ident));
		ASSERT_NE(NULL, line_of(self->o, "  stats ", NULL, line, sizeof(line)))
			TH_LOG("%s", self->o);
		EXPECT_LT(0, nfield(line, "commands"));
		EXPECT_LT(0, nfield(line, "rx_bytes"));
		EXPECT_LT(0, nfield(line, "tx_bytes"));
		EXPECT_EQ(0, nfield(line, "restarts"));
		ASSERT_NE(NULL, line_of(self->o, "  timeouts_ms ", NULL, line, sizeof(line)))
			TH_LOG("%s", self->o);
		expect_values(_metadata, line, NULL, tmo, N(tmo));
		/* Signal and registration are asked when the message is built. */
		EXPECT_LT(csq, log_wait(&self->e, "> AT+CSQ\\r", csq + 1, 3000));
		EXPECT_TRUE(wire_has(self, mark, "> AT+CREG?\\r"));

		/* JSON: an array holding that modem as an object. */
		ASSERT_EQ(0, QTCTL("-j", "show"));
		a = json_out(_metadata, self);
		ASSERT_EQ(QJ_ARR, a->type);
		m = qj_find(a, "name", self->name);
		ASSERT_NE(NULL, m) TH_LOG("%s", self->o);
		expect_values(_metadata, NULL, m, ident, N(ident));
		expect_values(_metadata, NULL, qj_get(m, "timeouts_ms"), tmo, N(tmo));
		EXPECT_LT(0, qj_num(qj_get(m, "stats"), "commands", 0));
		EXPECT_EQ(0, qj_num(qj_get(m, "stats"), "restarts", -1));
	}

	/* A second modem: both listed, each once. */
	{
		static const char *const opts[] = { "--rdy-delay", "0", "--model", "BG96", NULL };
		char name2[16];

		ASSERT_EQ(0, qt_sim_start(&self->sim2, opts));
		ASSERT_EQ(0, qt_sim_ctl(&self->sim2, "ping"));
		self->tty2 = qt_attach(self->sim2.slave);
		ASSERT_LE(0, self->tty2);
		ASSERT_EQ(0, qt_wait_state(self->sim2.slave, "ready", 30, line, sizeof(line)))
			TH_LOG("%s", line);
		ASSERT_EQ(1, sscanf(line, "%15s ", name2));
		ASSERT_EQ(0, QTCTL("-j", "show"));
		a = json_out(_metadata, self);
		EXPECT_EQ(2u, a->n) TH_LOG("%s", self->o);
		EXPECT_STREQ("EC25", qj_str(qj_find(a, "name", self->name), "model") ?: "");
		EXPECT_STREQ("BG96", qj_str(qj_find(a, "name", name2), "model") ?: "")
			TH_LOG("%s", self->o);
		ASSERT_EQ(0, QTCTL("show"));
		EXPECT_NE(NULL, line_of(self->o, name2, " model=BG96 ", line, sizeof(line)))
			TH_LOG("%s", self->o);
		EXPECT_EQ(2, lines_starting(self->o, "qm")) TH_LOG("%s", self->o);
	}

	/* One modem, by index or by name: only it. */
	ASSERT_EQ(0, QTCTL("show", self->idx));
	EXPECT_EQ(0, strncmp(self->o, self->name, strlen(self->name))) TH_LOG("%s", self->o);
	EXPECT_EQ(0, strncmp(self->o + strlen(self->name), " index=", 7)) TH_LOG("%s", self->o);
	ASSERT_EQ(0, QTCTL("-j", "show", self->name));
	a = json_out(_metadata, self);
	ASSERT_EQ(1u, a->n) TH_LOG("%s", self->o);
	EXPECT_STREQ(self->name, qj_str(qj_at(a, 0), "name"));

	/* No such modem. */
	QTCTL("show", "9999");
	expect_refused(_metadata, self, "show 9999", ENODEV, 0);
	EXPECT_STREQ("", self->o);
	QTCTL("-j", "show", "qm9999");
	expect_refused(_metadata, self, "-j show qm9999", ENODEV, 0);
	EXPECT_STREQ("", self->o);
}

/* ---- context ---- */

/* The text and JSON descriptions of context @ctx in show: the text line, the JSON object. */
static void show_ctx(struct __test_metadata *_metadata, FIXTURE_DATA(ctl) *self, int ctx,
		     char *line, size_t len, const struct qj **obj)
{
	char id[16];

	ASSERT_EQ(0, QTCTL("show", self->idx));
	snprintf(id, sizeof(id), " id=%d ", ctx);
	ASSERT_NE(NULL, line_of(self->o, "  ctx ", id, line, len)) TH_LOG("%s", self->o);
	EXPECT_EQ(NULL, strstr(self->o, "s3cret")) TH_LOG("the password: %s", self->o);
	ASSERT_EQ(0, QTCTL("-j", "show", self->idx));
	EXPECT_EQ(NULL, strstr(self->o, "s3cret")) TH_LOG("the password: %s", self->o);
	*obj = qj_find_num(qj_get(qj_at(json_out(_metadata, self), 0), "contexts"), "id", ctx);
	ASSERT_NE(NULL, *obj) TH_LOG("no context %d: %s", ctx, self->o);
	EXPECT_EQ(NULL, qj_get(*obj, "password"));
	EXPECT_EQ(NULL, qj_get(*obj, "pass"));
}

/*
 * The last run was a change that printed nothing and sent @wire (after
 * @mark); then show's view of context @ctx, as show_ctx().
 */
static void changed(struct __test_metadata *_metadata, FIXTURE_DATA(ctl) *self, size_t mark,
		    const char *wire, int ctx, char *line, size_t len, const struct qj **obj)
{
	EXPECT_RAN(wire);
	EXPECT_STREQ("", self->o);
	EXPECT_TRUE(wire_has(self, mark, wire)) TH_LOG("not on the wire: %s", wire);
	show_ctx(_metadata, self, ctx, line, len, obj);
}

TEST_F_TIMEOUT(ctl, context, 60)
{
	static const struct want set2[] = {
		{ "id", "2", true }, { "type", "ipv4v6", false },
		{ "apn", "internet.example", false }, { "user", "bob smith,{x}", false },
		{ "auth", "chap", false },
	};
	static const struct want set3[] = {
		{ "type", "ipv4", false }, { "apn", "", false }, { "user", "", false },
		{ "auth", "none", false },
	};
	static const struct want set4[] = { { "user", "u", false }, { "auth", "any", false } };
	static const struct want up2[] = { { "addr", "10.7.157.2", false } };
	const struct qj *c;
	char line[1024];
	size_t mark;

	modem(_metadata, self);
	mark = log_size(&self->e);
	QTCTL("context", "set", self->idx, "2", "apn", "internet.example", "user",
	      "bob smith,{x}", "pass", "s3cret", "auth", "chap", "type", "ipv4v6");
	changed(_metadata, self, mark,
		"> AT+QICSGP=2,3,\"internet.example\",\"bob smith,{x}\",\"s3cret\",2\\r",
		2, line, sizeof(line), &c);
	expect_values(_metadata, line, c, set2, N(set2));

	/* Defaults: IPv4; no user: no authentication; a user: PAP or CHAP. */
	QTCTL("context", "set", self->name, "3", "apn", "");
	changed(_metadata, self, mark, "> AT+QICSGP=3,1,\"\",\"\",\"\",0\\r", 3, line,
		sizeof(line), &c);
	expect_values(_metadata, line, c, set3, N(set3));
	QTCTL("-j", "context", "set", self->idx, "4", "apn", "x", "user", "u");
	changed(_metadata, self, mark, "> AT+QICSGP=4,1,\"x\",\"u\",\"\",3\\r", 4, line,
		sizeof(line), &c);
	expect_values(_metadata, line, c, set4, N(set4));

	/* Up: AT+QIACT, active with the address the modem gave. */
	mark = log_size(&self->e);
	QTCTL("context", "up", self->idx, "2");
	changed(_metadata, self, mark, "> AT+QIACT=2\\r", 2, line, sizeof(line), &c);
	EXPECT_EQ(1, nfield(line, "active")) TH_LOG("%s", line);
	EXPECT_EQ(1, qj_bool(c, "active"));
	expect_values(_metadata, line, c, up2, N(up2));
	/* Activating an active context succeeds. */
	QTCTL("context", "up", self->name, "2");
	EXPECT_RAN("second context up");

	/* Down: AT+QIDEACT; still configured, inactive. With -j too, nothing printed. */
	mark = log_size(&self->e);
	QTCTL("-j", "context", "down", self->idx, "2");
	changed(_metadata, self, mark, "> AT+QIDEACT=2\\r", 2, line, sizeof(line), &c);
	EXPECT_EQ(0, nfield(line, "active")) TH_LOG("%s", line);
	EXPECT_EQ(0, qj_bool(c, "active"));
	expect_values(_metadata, line, c, set2, N(set2));

	QTCTL("-j", "context", "up", "9999", "1");
	expect_refused(_metadata, self, "context up 9999", ENODEV, 0);
	EXPECT_STREQ("", self->o);
}

/* ---- timeouts ---- */

/* ---- monitor helpers ---- */

static void monitor_start(struct __test_metadata *_metadata, FIXTURE_DATA(ctl) *self, int i,
			  const char *const *args)
{
	self->mon[i] = qt_prog_spawn(QTCTL_BIN, QT_AS_ROOT, self->mon_out[i], self->mon_err[i],
				     args);
	ASSERT_LT(0, self->mon[i]);
}

/* Does monitor i's output have @n lines containing @needle (within @ms)? */
static bool monitor_saw(FIXTURE_DATA(ctl) *self, int i, const char *needle, int n, int ms)
{
	int64_t end = qn_now_ms() + ms;

	for (;;) {
		char *out = qt_read_text(self->mon_out[i]), *p = out;
		int c = 0;

		while ((p = strstr(p, needle))) {
			c++;
			p++;
		}
		free(out);
		if (c >= n || qn_now_ms() >= end)
			return c >= n;
		qn_sleep_ms(50);
	}
}

/*
 * The context loss, sent until every monitor has seen it (so they are
 * listening; a monitor may see a few); true once each has.
 */
static bool monitors_sync(struct __test_metadata *_metadata, FIXTURE_DATA(ctl) *self, int n)
{
	int tries, i, seen = 0;

	for (tries = 0; tries < 40 && seen < n; tries++) {
		ctl(_metadata, &self->e, "urc pdpdeact 1");
		for (i = 0, seen = 0; i < n; i++)
			seen += monitor_saw(self, i, "ctx_lost", 1, 300);
	}
	return seen == n;
}

TEST_F_TIMEOUT(ctl, timeout, 60)
{
	static const struct want tmo[] = {
		{ "default", "100", true }, { "qiact", "12500", true },
		{ "qiopen", "150000", true }, { "qiclose", "3000", true },
		{ "qideact", "40000", true }, { "cfun", "600000", true },
	};
	char line[1024];
	int64_t t0, dt;

	modem(_metadata, self);
	ASSERT_EQ(0, QTCTL("timeout", self->idx, "qiact", "12.5"));
	EXPECT_STREQ("", self->o);
	ASSERT_EQ(0, QTCTL("timeout", self->name, "qiclose", "3"));
	ASSERT_EQ(0, QTCTL("-j", "timeout", self->idx, "cfun", "600"));
	EXPECT_STREQ("", self->o);
	ASSERT_EQ(0, QTCTL("timeout", self->idx, "default", "0.1"));
	ASSERT_EQ(0, QTCTL("show", self->idx));
	ASSERT_NE(NULL, line_of(self->o, "  timeouts_ms ", NULL, line, sizeof(line)))
		TH_LOG("%s", self->o);
	expect_values(_metadata, line, NULL, tmo, N(tmo));
	ASSERT_EQ(0, QTCTL("-j", "show", self->idx));
	expect_values(_metadata, NULL, qj_get(qj_at(json_out(_metadata, self), 0), "timeouts_ms"),
		      tmo, N(tmo));

	/*
	 * The limit applies: a command the modem answers in 3 s fails after
	 * 1 s, and (the notes' rule) the module that did not answer in time
	 * is restarted: an event with the reason and no back-off.
	 */
	ASSERT_EQ(0, QTCTL("timeout", self->idx, "default", "1"));
	monitor_start(_metadata, self, 0, (const char *const[]){ "monitor", NULL });
	ASSERT_TRUE(monitors_sync(_metadata, self, 1));
	ctl(_metadata, &self->e, "delay 3000");
	t0 = qn_now_ms();
	QTCTL("at", self->idx, "AT");
	dt = qn_now_ms() - t0;
	ctl(_metadata, &self->e, "delay 0");
	expect_refused(_metadata, self, "at with a 1 s limit", ETIMEDOUT, 0);
	EXPECT_LE(900, dt);
	EXPECT_GT(2900, dt);
	EXPECT_TRUE(monitor_saw(self, 0, "restart name=", 1, 10000));
	EXPECT_TRUE(monitor_saw(self, 0, "reason=\"a command got no answer in time\"", 1, 1000));
	EXPECT_TRUE(monitor_saw(self, 0, "backoff_ms=0", 1, 1000));
	EXPECT_TRUE(monitor_saw(self, 0, "modem_down", 1, 10000));
	ASSERT_EQ(0, QTCTL("timeout", self->idx, "default", "60"));
	ASSERT_EQ(0, qt_wait_state(self->e.sim.slave, "ready", 60, self->e.line, LINE))
		TH_LOG("%s", self->e.line);
	EXPECT_TRUE(monitor_saw(self, 0, "modem_up", 1, 5000));
	EXPECT_EQ(1, nfield(self->e.line, "restarts")) TH_LOG("%s", self->e.line);
	free(self->o);
	self->o = qt_read_text(self->mon_out[0]);
	TH_LOG("events: %s", self->o);

	QTCTL("timeout", "9999", "qiact", "10");
	expect_refused(_metadata, self, "timeout 9999", ENODEV, 0);
}

/* ---- at ---- */

TEST_F_TIMEOUT(ctl, at, 90)
{
	/* Commands that would take the port away from the kernel. */
	static const char *const refused[] = {
		"ATO", "ato", "ATD123456;", "atd*99#", "AT+QISEND=0,5", "AT+QISEND=0",
		"AT+QISENDEX=0,\"4142\"", "AT+QISWTMD=0,2",
		"AT+QIOPEN=1,0,\"TCP\",\"127.0.0.1\",9,0,0", "AT+QICLOSE=0", "AT+QIMODE=1",
		"AT+CMGS=\"123\"", "AT+CMGW", "ATE1", "ate0", "AT+QISDE=0", "AT+CFUN=0",
		"at+cfun=1,1", "AT+IPR=9600", "AT&W", "ATZ",
	};
	static const char *const unseen[] = {
		"> ATO", "> ATD", "QISEND=0,5", "QISEND=0\\r", "QISENDEX", "QISWTMD", "QIOPEN",
		"QICLOSE", "QIMODE", "CMGS", "CMGW", "> ATE", "QISDE", "CFUN", "IPR", "AT&W",
		"> ATZ", NULL,
	};
	const struct qj *o, *r;
	size_t mark, i;

	modem(_metadata, self);

	/* Text: the response lines, then the final result. */
	ASSERT_EQ(0, QTCTL("at", self->idx, "AT+CSQ"));
	EXPECT_STREQ("+CSQ: 25,99\nOK\n", self->o);
	EXPECT_STREQ("", self->er);
	ASSERT_EQ(0, QTCTL("at", self->name, "at+csq"));		/* any case */
	EXPECT_STREQ("+CSQ: 25,99\nOK\n", self->o);

	/* JSON: the command, the lines as an array, the final result. */
	ASSERT_EQ(0, QTCTL("-j", "at", self->idx, "ATI"));
	o = json_out(_metadata, self);
	EXPECT_STREQ("ATI", qj_str(o, "command"));
	EXPECT_STREQ("OK", qj_str(o, "final"));
	r = qj_get(o, "response");
	ASSERT_NE(NULL, r);
	ASSERT_EQ(3u, r->n) TH_LOG("%s", self->o);
	EXPECT_STREQ("Quectel", qj_at(r, 0)->str);
	EXPECT_STREQ("EC25", qj_at(r, 1)->str);
	EXPECT_STREQ("Revision: EC25EFAR06A06M4G", qj_at(r, 2)->str);
	ASSERT_EQ(0, QTCTL("-j", "at", self->idx, "AT"));
	EXPECT_EQ(0u, qj_get(json_out(_metadata, self), "response")->n) TH_LOG("%s", self->o);

	/* Quotes in a response survive the JSON escaping. */
	ASSERT_EQ(0, QTCTL("context", "set", self->idx, "5", "apn", "a.b", "user",
			   "q'u[o]{t}e:,", "auth", "pap"));
	ASSERT_EQ(0, QTCTL("-j", "at", self->idx, "AT+QICSGP=5"));
	r = qj_get(json_out(_metadata, self), "response");
	ASSERT_NE(NULL, qj_at(r, 0)) TH_LOG("%s", self->o);
	EXPECT_STREQ("+QICSGP: 1,\"a.b\",\"q'u[o]{t}e:,\",\"\",1", qj_at(r, 0)->str);

	/* Not OK: the final result printed, status 1. */
	QTCTL("at", self->idx, "AT+QXYZZY");
	EXPECT_EQ(1, self->status);
	EXPECT_STREQ("ERROR\n", self->o);
	EXPECT_NE(NULL, strstr(self->er, "ERROR")) TH_LOG("%s", self->er);
	ctl(_metadata, &self->e, "cme 10");
	QTCTL("-j", "at", self->idx, "AT+CSQ");
	EXPECT_EQ(1, self->status);
	EXPECT_STREQ("+CME ERROR: 10", qj_str(json_out(_metadata, self), "final"));

	/* Refused commands: EPERM, and none reaches the modem. */
	mark = log_size(&self->e);
	for (i = 0; i < N(refused); i++) {
		QTCTL("at", self->idx, refused[i]);
		expect_refused(_metadata, self, refused[i], EPERM, 0);
	}
	expect_wire_clean(_metadata, self, mark, unseen);
	/* The acknowledgement query is allowed. */
	QTCTL("at", self->idx, "AT+QISEND=0,0");
	EXPECT_EQ(NULL, strstr(self->er, strerror(EPERM))) TH_LOG("%s", self->er);
	EXPECT_TRUE(wire_has(self, mark, "> AT+QISEND=0,0\\r"));

	QTCTL("at", "9999", "AT");
	expect_refused(_metadata, self, "at 9999", ENODEV, 0);
}

/* ---- injection ---- */

/* A string of @n copies of @c (static, one at a time). */
static const char *repeat(char c, size_t n)
{
	static char buf[512];

	memset(buf, c, n);
	buf[n] = 0;
	return buf;
}

/*
 * Strings that try to smuggle AT commands or bytes onto the port through
 * an APN, a user, a password, a ping host or an AT line: each refused,
 * and nothing of them on the wire. Each carries QXINJ to be recognised.
 */
TEST_F_TIMEOUT(ctl, injection, 90)
{
	static const char *const apns[] = {
		"QXINJ\"", "QXINJ,x", "QXINJ\rAT+CFUN=0", "QXINJ\nAT+CFUN=0", "QXINJ\x1a",
		"QXINJ\x1b", "QXINJ\";AT+CFUN=0", "QXINJ x", "QXINJ;x", "QXINJ\xc3\xa9",
	};
	static const char *const users[] = {	/* also passwords */
		"QXINJ\"", "QXINJ\\", "QXINJ\rAT+CFUN=0", "QXINJ\nAT+CFUN=0", "QXINJ\x1a",
		"QXINJ\x1b", "QXINJ\";AT+CFUN=0", "QXINJ\t", "QXINJ\x7f", "QXINJ\xc3\xa9",
	};
	static const char *const hosts[] = {
		"QXINJ\"", "127.0.0.1\",4,4\r\nAT+CFUN=0QXINJ", "QXINJ,4", "QXINJ\r",
		"QXINJ\nAT+CFUN=0", "QXINJ\x1a", "QXINJ\x1b", "QXINJ\";AT+CFUN=0", "QXINJ x",
		"", "QXINJ;x",
	};
	static const char *const lines[] = {
		"AT+QXINJ\rAT+CFUN=0", "AT+QXINJ\nAT+CFUN=0", "AT+QXINJ\r\nAT+CFUN=0",
		"AT+QXINJ\x1a", "AT+QXINJ\x1b", "AT+QXINJ\x1a" "AT+CFUN=0", "AT+QXINJ\t",
		"AT+QXINJ\xc3\xa9", "XAT+QXINJ", "A", "",
	};
	static const char *const unseen[] = {
		"QXINJ", "CFUN", "QICSGP", "QPING", "\\x1a", "\\x1b", "uuuuuuuu", "hhhhhhhh",
		"aaaaaaaa", NULL,
	};
	char at_long[600];
	size_t mark, i;

	modem(_metadata, self);
	mark = log_size(&self->e);
	for (i = 0; i < N(apns); i++) {
		QTCTL("context", "set", self->idx, "1", "apn", apns[i]);
		expect_refused(_metadata, self, "apn", EINVAL, 0);
	}
	QTCTL("context", "set", self->idx, "1", "apn", repeat('a', 63));
	expect_refused(_metadata, self, "63-byte apn", EINVAL, 0);
	for (i = 0; i < N(users); i++) {
		QTCTL("context", "set", self->idx, "1", "apn", "ok", "user", users[i]);
		expect_refused(_metadata, self, "user", EINVAL, 0);
		QTCTL("context", "set", self->idx, "1", "apn", "ok", "user", "ok", "pass", users[i]);
		expect_refused(_metadata, self, "password", EINVAL, 0);
	}
	QTCTL("context", "set", self->idx, "1", "apn", "ok", "user", repeat('u', 128));
	expect_refused(_metadata, self, "128-byte user", EINVAL, 0);
	for (i = 0; i < N(hosts); i++) {
		QTCTL("ping", self->idx, hosts[i], "-c", "1", "-W", "1");
		expect_refused(_metadata, self, "ping host", EINVAL, 0);
	}
	QTCTL("ping", self->idx, repeat('h', 116), "-c", "1");
	expect_refused(_metadata, self, "116-byte host", EINVAL, 0);
	for (i = 0; i < N(lines); i++) {
		QTCTL("at", self->idx, lines[i]);
		expect_refused(_metadata, self, "at line", EINVAL, EPERM);
	}
	snprintf(at_long, sizeof(at_long), "AT+QXINJ%s", repeat('A', 249));	/* 257 bytes */
	QTCTL("at", self->idx, at_long);
	expect_refused(_metadata, self, "257-byte line", EINVAL, 0);
	expect_wire_clean(_metadata, self, mark, unseen);

	/* The longest and widest strings allowed do reach the modem. */
	mark = log_size(&self->e);
	ASSERT_EQ(0, QTCTL("context", "set", self->idx, "1", "apn", repeat('a', 62)));
	EXPECT_TRUE(wire_has(self, mark, repeat('a', 62)));
	ASSERT_EQ(0, QTCTL("context", "set", self->idx, "1", "apn", "A-z.0_9", "user",
			   "a,b c;d'e", "pass", "p,q r=s"));
	EXPECT_TRUE(wire_has(self, mark, "> AT+QICSGP=1,1,\"A-z.0_9\",\"a,b c;d'e\",\"p,q r=s\",3\\r"));
	ASSERT_EQ(0, QTCTL("context", "set", self->idx, "1", "apn", ""));
}

/*
 * An AT line that chains a refused command after an allowed one (";+CFUN",
 * a quote and ";AT+CFUN", or basic commands run together as in "ATV1E1")
 * must not get it to the modem either.
 */
TEST_F_TIMEOUT(ctl, at_chained, 60)
{
	static const char *const lines[] = {
		"AT+CSQ;+CFUN=0", "AT+CSQ\";AT+CFUN=0", "AT;+CFUN=0",
		"AT+CSQ;+QIOPEN=1,0,\"TCP\",\"127.0.0.1\",9,0,0",
		"ATV1E1",
	};
	static const char *const unseen[] = { "CFUN", "QIOPEN", "V1E1", NULL };
	size_t mark, i;

	modem(_metadata, self);
	mark = log_size(&self->e);
	for (i = 0; i < N(lines); i++) {
		QTCTL("at", self->idx, lines[i]);
		expect_refused(_metadata, self, lines[i], EPERM, EINVAL);
	}
	expect_wire_clean(_metadata, self, mark, unseen);
}

/* ---- privileges ---- */

TEST_F_TIMEOUT(ctl, unprivileged, 60)
{
	static const char *const unseen[] = { "QICSGP", "QIACT=", "QIDEACT", "QPING", NULL };
	char line[1024];
	size_t mark;

	modem(_metadata, self);
	mark = log_size(&self->e);
	QTCTL_AS(QT_AS_NOBODY, "context", "set", self->idx, "1", "apn", "x");
	expect_refused(_metadata, self, "context set", EPERM, 0);
	QTCTL_AS(QT_AS_NOBODY, "context", "up", self->idx, "1");
	expect_refused(_metadata, self, "context up", EPERM, 0);
	QTCTL_AS(QT_AS_NOBODY, "context", "down", self->name, "1");
	expect_refused(_metadata, self, "context down", EPERM, 0);
	QTCTL_AS(QT_AS_NOBODY, "ping", self->idx, "127.0.0.1", "-c", "1");
	expect_refused(_metadata, self, "ping", EPERM, 0);
	QTCTL_AS(QT_AS_NOBODY, "timeout", self->idx, "qiact", "10");
	expect_refused(_metadata, self, "timeout", EPERM, 0);
	QTCTL_AS(QT_AS_NOBODY, "at", self->idx, "AT+CSQ");
	expect_refused(_metadata, self, "at", EPERM, 0);
	QTCTL_AS(QT_AS_NOBODY, "-j", "at", self->idx, "AT+CSQ");
	expect_refused(_metadata, self, "-j at", EPERM, 0);
	expect_wire_clean(_metadata, self, mark, unseen);

	/* Reading is for everyone; nothing was changed. */
	ASSERT_EQ(0, QTCTL_AS(QT_AS_NOBODY, "show")) TH_LOG("%s", self->er);
	ASSERT_NE(NULL, line_of(self->o, self->name, " state=ready ", line, sizeof(line)))
		TH_LOG("%s", self->o);
	ASSERT_NE(NULL, line_of(self->o, "  timeouts_ms ", " qiact=150000 ", line, sizeof(line)))
		TH_LOG("%s", self->o);
	ASSERT_EQ(0, QTCTL_AS(QT_AS_NOBODY, "-j", "show", self->idx)) TH_LOG("%s", self->er);
	EXPECT_STREQ("ready", qj_str(qj_at(json_out(_metadata, self), 0), "state"));
	ASSERT_EQ(0, QTCTL_AS(QT_AS_NOBODY, "sockets")) TH_LOG("%s", self->er);
	EXPECT_EQ(0, strncmp(self->o, "  sl modem", 10)) TH_LOG("%s", self->o);
	ASSERT_EQ(0, QTCTL_AS(QT_AS_NOBODY, "-j", "sockets")) TH_LOG("%s", self->er);
	EXPECT_EQ(QJ_ARR, json_out(_metadata, self)->type);
}

/* ---- ping ---- */

/* One +QPING result: an echo, the summary, or a bare error code. */
struct ping_res {
	int kind;		/* 'r' reply, 's' summary, 'e' error */
	long v[7];		/* reply: result bytes time ttl; summary: result sent rcvd lost min max avg */
	char addr[64];
};

struct ping_set {
	struct ping_res r[MAXPING];
	int n;
};

static const char *const reply_keys[] = { "result", "bytes", "time_ms", "ttl" };
static const char *const summary_keys[] = {
	"result", "sent", "rcvd", "lost", "min_ms", "max_ms", "avg_ms",
};

/* The +QPING lines the modem sent after @mark. */
static void ping_wire(FIXTURE_DATA(ctl) *self, size_t mark, struct ping_set *ps)
{
	char *log = wire_since(self, mark), *p;

	ps->n = 0;
	for (p = log; p && (p = strstr(p, "< +QPING: ")) && ps->n < MAXPING; p++) {
		struct ping_res *r = &ps->r[ps->n];
		long *v = r->v;

		memset(r, 0, sizeof(*r));
		p += 2;
		if (sscanf(p, "+QPING: %ld,\"%63[^\"]\",%ld,%ld,%ld", &v[0], r->addr, &v[1],
			   &v[2], &v[3]) == 5)
			r->kind = 'r';
		else if (sscanf(p, "+QPING: %ld,%ld,%ld,%ld,%ld,%ld,%ld", &v[0], &v[1], &v[2],
				&v[3], &v[4], &v[5], &v[6]) == 7)
			r->kind = 's';
		else if (sscanf(p, "+QPING: %ld", &v[0]) == 1)
			r->kind = 'e';
		else
			continue;
		ps->n++;
	}
	free(log);
}

/* One result from qtctl's text line or JSON object. */
static void ping_res_of(const char *line, const struct qj *obj, int kind, struct ping_res *r)
{
	const char *const *keys = kind == 'r' ? reply_keys : summary_keys;
	size_t i, n = kind == 'r' ? N(reply_keys) : N(summary_keys);

	memset(r, 0, sizeof(*r));
	r->kind = kind;
	for (i = 0; i < n; i++)
		r->v[i] = line ? nfield(line, keys[i]) : (long)qj_num(obj, keys[i], -1);
	if (kind == 'r' && line)
		field_of(line, "addr", r->addr, sizeof(r->addr));
	else if (kind == 'r' && qj_str(obj, "addr"))
		snprintf(r->addr, sizeof(r->addr), "%s", qj_str(obj, "addr"));
}

/* qtctl ping's text output as results. */
static void ping_text(const char *text, struct ping_set *ps)
{
	const char *p = text;

	ps->n = 0;
	while (p && *p && ps->n < MAXPING) {
		const char *eol = strchrnul(p, '\n');
		char line[512];

		snprintf(line, sizeof(line), "%.*s", (int)(eol - p), p);
		if (!strncmp(line, "  reply ", 8))
			ping_res_of(line, NULL, 'r', &ps->r[ps->n++]);
		else if (!strncmp(line, "  summary ", 10))
			ping_res_of(line, NULL, 's', &ps->r[ps->n++]);
		p = *eol ? eol + 1 : NULL;
	}
}

/* qtctl -j ping's object as results. */
static void ping_json(const struct qj *o, struct ping_set *ps)
{
	const struct qj *e;

	ps->n = 0;
	for (e = qj_get(o, "replies") ? qj_get(o, "replies")->child : NULL; e && ps->n < MAXPING;
	     e = e->next)
		ping_res_of(NULL, e, 'r', &ps->r[ps->n++]);
	if (qj_get(o, "summary") && ps->n < MAXPING)
		ping_res_of(NULL, qj_get(o, "summary"), 's', &ps->r[ps->n++]);
}

/* What qtctl printed is what the modem said, echo by echo. */
static void expect_ping(struct __test_metadata *_metadata, const struct ping_set *got,
			const struct ping_set *wire, int count)
{
	int i, k;

	ASSERT_EQ(count + 1, wire->n) TH_LOG("+QPING lines on the wire");
	ASSERT_EQ(wire->n, got->n) TH_LOG("results printed");
	for (i = 0; i < wire->n; i++) {
		const struct ping_res *a = &got->r[i], *b = &wire->r[i];

		EXPECT_EQ(b->kind, a->kind) TH_LOG("result %d", i);
		for (k = 0; k < (b->kind == 'r' ? 4 : 7); k++) {
			EXPECT_EQ(b->v[k], a->v[k]) TH_LOG("result %d value %d", i, k);
		}
		EXPECT_STREQ(b->addr, a->addr) TH_LOG("result %d", i);
	}
	EXPECT_EQ('s', wire->r[count].kind);
	EXPECT_EQ(count, wire->r[count].v[1]) TH_LOG("sent");
}

TEST_F_TIMEOUT(ctl, ping, 90)
{
	struct ping_set got, wire;
	const struct qj *o;
	char ctx[8], cmd[64];
	size_t mark;

	modem(_metadata, self);
	snprintf(ctx, sizeof(ctx), "%d", default_ctx());
	ASSERT_EQ(0, QTCTL("context", "up", self->idx, ctx)) TH_LOG("%s", self->er);

	mark = log_size(&self->e);
	ASSERT_EQ(0, QTCTL("ping", self->idx, "127.0.0.1", "-c", "3", "-W", "2"))
		TH_LOG("%s", self->er);
	snprintf(cmd, sizeof(cmd), "> AT+QPING=%s,\"127.0.0.1\",2,3\\r", ctx);
	EXPECT_TRUE(wire_has(self, mark, cmd)) TH_LOG("no %s", cmd);
	EXPECT_EQ(0, strncmp(self->o, "ping host=127.0.0.1\n", 20)) TH_LOG("%s", self->o);
	ping_wire(self, mark, &wire);
	ping_text(self->o, &got);
	expect_ping(_metadata, &got, &wire, 3);
	EXPECT_EQ(3, wire.r[3].v[2]) TH_LOG("loopback answers every echo");

	/* JSON, the defaults: 4 echoes. */
	mark = log_size(&self->e);
	ASSERT_EQ(0, QTCTL("-j", "ping", self->name, "127.0.0.1")) TH_LOG("%s", self->er);
	o = json_out(_metadata, self);
	EXPECT_STREQ("127.0.0.1", qj_str(o, "host"));
	ping_wire(self, mark, &wire);
	ping_json(o, &got);
	expect_ping(_metadata, &got, &wire, 4);

	/* A name the modem cannot resolve: its error in the summary, status 1. */
	mark = log_size(&self->e);
	QTCTL("-j", "ping", self->idx, "no-such-host.invalid", "-c", "1");
	EXPECT_EQ(1, self->status) TH_LOG("%s", self->er);
	ping_wire(self, mark, &wire);
	ASSERT_EQ(1, wire.n);
	EXPECT_EQ('e', wire.r[0].kind);
	EXPECT_EQ(565, wire.r[0].v[0]);
	o = json_out(_metadata, self);
	EXPECT_EQ(0u, qj_get(o, "replies") ? qj_get(o, "replies")->n : 99);
	EXPECT_EQ(565, qj_num(qj_get(o, "summary"), "result", -1)) TH_LOG("%s", self->o);
}

/* ---- monitor ---- */

/* The events of a monitor's output, checked line by line; their names in @ev. */
static int monitor_events(struct __test_metadata *_metadata, FIXTURE_DATA(ctl) *self,
			  int i, bool json, char ev[][32], int max)
{
	static const char *const known[] = {
		"modem_up", "modem_down", "ctx_lost", "restart", "detached", "rebooted",
	};
	char *out = qt_read_text(self->mon_out[i]), *p = out, v[128], label[32];
	int n = 0;

	while (*p && n < max) {
		char *eol = strchrnul(p, '\n'), *line = strndup(p, eol - p);
		struct qj *o = json ? qj_parse(line) : NULL;
		const char *name, *index, *ctx, *reason;
		size_t k;

		EXPECT_EQ('\n', *eol) TH_LOG("unterminated: %s", line);
		if (json) {
			EXPECT_NE(NULL, o) TH_LOG("not JSON: %s", line);
			name = qj_str(o, "event");
			snprintf(v, sizeof(v), "%g", qj_num(o, "index", -1));
			index = v;
			EXPECT_STREQ(self->name, qj_str(o, "name") ?: "") TH_LOG("%s", line);
			ctx = qj_get(o, "ctx") ? "ctx" : NULL;
			if (ctx) {
				EXPECT_EQ(1, qj_num(o, "ctx", -1)) TH_LOG("%s", line);
			}
			reason = qj_str(o, "reason");
		} else {
			char nm[32], rs[128];

			snprintf(label, sizeof(label), "%.*s", (int)strcspn(line, " "), line);
			name = label;
			index = field_of(line, "index", v, sizeof(v));
			EXPECT_STREQ(self->name, field_of(line, "name", nm, sizeof(nm)) ?: "")
				TH_LOG("%s", line);
			ctx = field_of(line, "ctx", nm, sizeof(nm));
			if (ctx) {
				EXPECT_STREQ("1", ctx) TH_LOG("%s", line);
			}
			reason = field_of(line, "reason", rs, sizeof(rs));
		}
		ASSERT_NE(NULL, name) TH_LOG("no event in %s", line);
		for (k = 0; k < N(known) && strcmp(known[k], name); k++)
			;
		EXPECT_GT(N(known), k) TH_LOG("unknown event: %s", line);
		EXPECT_STREQ(self->idx, index ?: "") TH_LOG("%s", line);
		EXPECT_EQ(!strcmp(name, "ctx_lost"), ctx != NULL) TH_LOG("%s", line);
		if (!strcmp(name, "modem_down")) {
			EXPECT_TRUE(reason && *reason) TH_LOG("no reason: %s", line);
		}
		snprintf(ev[n], sizeof(ev[n]), "%s", name);
		n++;
		qj_free(o);
		free(line);
		p = *eol ? eol + 1 : eol;
	}
	free(out);
	return n;
}

/* The position of the first event @name at or after @from, or -1. */
static int event_at(char ev[][32], int n, int from, const char *name)
{
	for (; from >= 0 && from < n; from++)
		if (!strcmp(ev[from], name))
			return from;
	return -1;
}

/*
 * Two monitors (text, JSON) see a context loss, a reboot of the module
 * (rebooted, modem_down, then modem_up once it is ready again) and the
 * tty going away (detached), each as one line, as they happen.
 */
TEST_F_TIMEOUT(ctl, monitor, 90)
{
	char ev[NMON][32][32];
	int n[NMON], i, r, up;

	modem(_metadata, self);
	monitor_start(_metadata, self, 0, (const char *const[]){ "monitor", NULL });
	monitor_start(_metadata, self, 1, (const char *const[]){ "-j", "monitor", NULL });
	ASSERT_TRUE(monitors_sync(_metadata, self, NMON));

	ctl(_metadata, &self->e, "reboot");
	for (i = 0; i < NMON; i++) {
		EXPECT_TRUE(monitor_saw(self, i, "rebooted", 1, 10000)) TH_LOG("monitor %d", i);
		EXPECT_TRUE(monitor_saw(self, i, "modem_down", 1, 10000)) TH_LOG("monitor %d", i);
	}
	ASSERT_EQ(0, qt_wait_state(self->e.sim.slave, "ready", 30, self->e.line, LINE))
		TH_LOG("%s", self->e.line);
	for (i = 0; i < NMON; i++) {
		EXPECT_TRUE(monitor_saw(self, i, "modem_up", 1, 5000)) TH_LOG("monitor %d", i);
	}

	/* The tty goes away: our fd closed, the simulator (and its pty) gone. */
	close(self->e.tty);
	self->e.tty = -1;
	qt_sim_stop(&self->e.sim, SIGTERM);
	for (i = 0; i < NMON; i++) {
		EXPECT_TRUE(monitor_saw(self, i, "detached", 1, 10000)) TH_LOG("monitor %d", i);
	}
	for (i = 0; i < NMON; i++)
		qn_kill_reap(&self->mon[i]);

	for (i = 0; i < NMON; i++) {
		n[i] = monitor_events(_metadata, self, i, i == 1, ev[i], 32);
		ASSERT_LT(0, n[i]);
		EXPECT_STREQ("ctx_lost", ev[i][0]) TH_LOG("monitor %d", i);
		r = event_at(ev[i], n[i], 0, "rebooted");
		up = event_at(ev[i], n[i], r, "modem_up");
		EXPECT_LT(0, r) TH_LOG("monitor %d: no rebooted after ctx_lost", i);
		EXPECT_LT(r, event_at(ev[i], n[i], 0, "modem_down"));
		EXPECT_LT(r, up) TH_LOG("monitor %d: no modem_up after rebooted", i);
		EXPECT_LT(up, event_at(ev[i], n[i], up, "detached"))
			TH_LOG("monitor %d: no detached after modem_up", i);
	}
	/* Both saw the same events from the reboot on. */
	r = event_at(ev[0], n[0], 0, "rebooted");
	up = event_at(ev[1], n[1], 0, "rebooted");
	EXPECT_EQ(n[0] - r, n[1] - up);
	for (i = 0; r >= 0 && up >= 0 && r + i < n[0] && up + i < n[1]; i++) {
		EXPECT_STREQ(ev[0][r + i], ev[1][up + i]);
	}
}

/* monitor -c N exits by itself after N events, status 0. */
TEST_F_TIMEOUT(ctl, monitor_count, 60)
{
	int st[NMON] = { -1, -1 }, tries, i, ws;

	modem(_metadata, self);
	monitor_start(_metadata, self, 0, (const char *const[]){ "monitor", "-c", "2", NULL });
	monitor_start(_metadata, self, 1, (const char *const[]){ "-j", "monitor", "-c", "1", NULL });
	/* Context losses until both have left. */
	for (tries = 0; tries < 40 && (self->mon[0] || self->mon[1]); tries++) {
		ctl(_metadata, &self->e, "urc pdpdeact 1");
		qn_sleep_ms(300);
		for (i = 0; i < NMON; i++)
			if (self->mon[i] && waitpid(self->mon[i], &ws, WNOHANG) == self->mon[i]) {
				st[i] = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
				self->mon[i] = 0;
			}
	}
	for (i = 0; i < NMON; i++) {
		EXPECT_EQ(0, st[i]) TH_LOG("monitor %d: %s", i, qt_read_text(self->mon_err[i]));
	}
	free(self->o);
	self->o = qt_read_text(self->mon_out[0]);
	EXPECT_EQ(2, count_lines(self->o)) TH_LOG("%s", self->o);
	EXPECT_EQ(0, strncmp(self->o, "ctx_lost name=", 14)) TH_LOG("%s", self->o);
	free(self->o);
	self->o = qt_read_text(self->mon_out[1]);
	EXPECT_EQ(1, count_lines(self->o)) TH_LOG("%s", self->o);
	EXPECT_STREQ("ctx_lost", qj_str(json_out(_metadata, self), "event"));
}

/* ---- sockets and namespaces ---- */

/* A row of /proc/net/quectel (as qtctl sockets prints it too). */
struct row {
	unsigned int slot, id, uid;
	unsigned long long txq, rxq, inode;
	char modem[32], type[32], state[32], local[128], remote[128];
};

static int parse_rows(const char *text, struct row *rows, int max)
{
	const char *p = strchr(text, '\n');
	int n = 0;

	while (p && *++p && n < max) {
		struct row *r = &rows[n];

		if (sscanf(p, "%u %31s %u %31s %31s %127s %127s %llu %llu %u %llu", &r->slot,
			   r->modem, &r->id, r->type, r->state, r->local, r->remote, &r->txq,
			   &r->rxq, &r->uid, &r->inode) != 11)
			return -1;
		n++;
		p = strchr(p, '\n');
	}
	return n;
}

/* What a socket should look like in /proc/net/quectel. */
struct sock_want {
	int fd;
	const char *type, *state;
	int lport;
	char remote[64];
};

/* Socket @fd of @type in @state, with a peer on 127.0.0.1:@rport (0: none). */
static void sock_want_set(struct sock_want *w, int fd, const char *type, const char *state,
			  int rport)
{
	w->fd = fd;
	w->type = type;
	w->state = state;
	w->lport = qport(fd, false, NULL);
	if (rport)
		snprintf(w->remote, sizeof(w->remote), "127.0.0.1:%d", rport);
	else
		snprintf(w->remote, sizeof(w->remote), "*:*");
}

static void expect_row(struct __test_metadata *_metadata, FIXTURE_DATA(ctl) *self,
		       const struct row *r, const struct sock_want *w, const char *addr)
{
	char local[160], local_any[64];
	struct stat st;

	ASSERT_EQ(0, fstat(w->fd, &st));
	EXPECT_EQ((unsigned long long)st.st_ino, r->inode);
	EXPECT_STREQ(self->name, r->modem);
	EXPECT_EQ(sockopt_int(w->fd, SOL_QUECTEL, QT_CONNECT_ID), (int)r->id) TH_LOG("%s", w->type);
	EXPECT_STREQ(w->type, r->type);
	EXPECT_STREQ(w->state, r->state) TH_LOG("%s", w->type);
	/* The local host is the context's address ('*' until it is known). */
	snprintf(local, sizeof(local), "%s:%d", addr, w->lport);
	snprintf(local_any, sizeof(local_any), "*:%d", w->lport);
	EXPECT_TRUE(!strcmp(local, r->local) || !strcmp(local_any, r->local))
		TH_LOG("%s: local %s, want %s", w->type, r->local, local);
	EXPECT_STREQ(w->remote, r->remote) TH_LOG("%s", w->type);
	EXPECT_EQ(0u, r->uid);
}

/* The rows now; asserts that the text and the JSON output agree. */
static int sockets_rows(struct __test_metadata *_metadata, FIXTURE_DATA(ctl) *self,
			enum qt_as as, struct row *rows, int max)
{
	const struct qj *a, *e;
	int n, i;

	ASSERT_EQ(0, QTCTL_AS(as, "sockets")) TH_LOG("%s", self->er);
	ASSERT_EQ(0, strncmp(self->o, "  sl modem  id type         state        local_address",
			     54)) TH_LOG("header: %s", self->o);
	n = parse_rows(self->o, rows, max);
	ASSERT_LE(0, n) TH_LOG("%s", self->o);
	ASSERT_EQ(0, QTCTL_AS(as, "-j", "sockets")) TH_LOG("%s", self->er);
	a = json_out(_metadata, self);
	ASSERT_EQ(QJ_ARR, a->type);
	ASSERT_EQ((size_t)n, a->n) TH_LOG("%s", self->o);
	for (i = 0, e = a->child; e; e = e->next, i++) {
		const struct row *r = &rows[i];
		const struct want w[] = {
			{ "modem", r->modem, false }, { "type", r->type, false },
			{ "state", r->state, false }, { "local_address", r->local, false },
			{ "remote_address", r->remote, false },
		};

		expect_values(_metadata, NULL, e, w, N(w));
		EXPECT_EQ(r->slot, qj_num(e, "slot", -1));
		EXPECT_EQ(r->id, qj_num(e, "id", -1));
		EXPECT_EQ(r->uid, qj_num(e, "uid", -1));
		EXPECT_EQ(r->inode, qj_num(e, "inode", -1));
		EXPECT_EQ(r->txq, qj_num(e, "tx_queue", -1));
	}
	return n;
}

/* Only the header within @ms; the number of rows left. */
static int wait_no_rows(FIXTURE_DATA(ctl) *self, int ms)
{
	int64_t end = qn_now_ms() + ms;
	int n;

	do {
		char *t = qn_read_file("/proc/net/quectel", NULL);

		n = t ? count_lines(t) - 1 : -1;
		free(t);
		if (n == 0)
			break;
		qn_sleep_ms(100);
	} while (qn_now_ms() < end);
	(void)self;
	return n;
}

/*
 * /proc/net/quectel (through qtctl sockets) lists a TCP client, a
 * listener, a connection it accepted, a UDP client and a UDP service as
 * they are; another network namespace sees neither them nor the modem;
 * once closed, the list is empty.
 */
TEST_F_TIMEOUT(ctl, sockets_and_netns, 120)
{
	struct sock_want w[5];
	struct row rows[16];
	const char *addr;
	char addrbuf[64];
	int lfd, port, cl, clport, u, uport = 0, n, i, k, fd;

	modem(_metadata, self);
	lfd = listener(_metadata, &self->e, &port, 0);
	fd = qconnected(_metadata, &self->e, port);
	peer_accept(_metadata, &self->e, lfd, NULL);
	sock_want_set(&w[0], fd, "TCP", "ESTABLISHED", port);

	fd = qsock(_metadata, &self->e, 0);
	ASSERT_EQ(0, qbind(&self->e, fd, 0));
	ASSERT_EQ(0, listen(fd, 4)) TH_LOG("%s", strerror(errno));
	sock_want_set(&w[1], fd, "TCP_LISTENER", "LISTEN", 0);

	cl = track(&self->e, qn_connect(w[1].lport, &clport));
	ASSERT_LE(0, cl);
	fd = track(&self->e, accept4(w[1].fd, NULL, NULL, SOCK_CLOEXEC));
	ASSERT_LE(0, fd) TH_LOG("accept: %s", strerror(errno));
	sock_want_set(&w[2], fd, "TCP_INCOMING", "ESTABLISHED", clport);

	u = track(&self->e, qn_udp(&uport));
	ASSERT_LE(0, u);
	fd = qdgram(_metadata, &self->e, 0);
	ASSERT_EQ(0, qconnect(&self->e, fd, "127.0.0.1", uport));
	sock_want_set(&w[3], fd, "UDP", "ESTABLISHED", uport);

	fd = qdgram(_metadata, &self->e, 0);
	ASSERT_EQ(0, qbind(&self->e, fd, 0));
	sock_want_set(&w[4], fd, "UDP_SERVICE", "ESTABLISHED", 0);
	for (i = 0; i < 5; i++) {
		ASSERT_LT(0, w[i].lport) TH_LOG("%s", w[i].type);
	}

	/* The context's address, from show; and the connectIDs in use. */
	ASSERT_EQ(0, QTCTL("-j", "show", self->idx));
	{
		const struct qj *m = qj_at(json_out(_metadata, self), 0);

		addr = qj_str(qj_find_num(qj_get(m, "contexts"), "id", default_ctx()), "addr");
		snprintf(addrbuf, sizeof(addrbuf), "%s", addr ? addr : "(none)");
		EXPECT_EQ(5, qj_num(m, "sockets", -1)) TH_LOG("%s", self->o);
	}

	n = sockets_rows(_metadata, self, QT_AS_ROOT, rows, 16);
	EXPECT_EQ(5, n) TH_LOG("%s", self->o);
	for (i = 0; i < 5; i++) {
		struct stat st;

		ASSERT_EQ(0, fstat(w[i].fd, &st));
		for (k = 0; k < n && rows[k].inode != (unsigned long long)st.st_ino; k++)
			;
		EXPECT_GT(n, k) TH_LOG("no row for the %s socket (inode %llu)", w[i].type,
				       (unsigned long long)st.st_ino);
		if (k < n)
			expect_row(_metadata, self, &rows[k], &w[i], addrbuf);
	}

	/* Another network namespace: no modem, no sockets. */
	ASSERT_EQ(0, QTCTL_AS(QT_AS_NETNS, "show")) TH_LOG("%s", self->er);
	EXPECT_STREQ("", self->o);
	ASSERT_EQ(0, QTCTL_AS(QT_AS_NETNS, "-j", "show")) TH_LOG("%s", self->er);
	EXPECT_EQ(0u, json_out(_metadata, self)->n) TH_LOG("%s", self->o);
	QTCTL_AS(QT_AS_NETNS, "show", self->idx);
	expect_refused(_metadata, self, "show in another netns", ENODEV, 0);
	QTCTL_AS(QT_AS_NETNS, "at", self->idx, "AT");
	expect_refused(_metadata, self, "at in another netns", ENODEV, 0);
	QTCTL_AS(QT_AS_NETNS, "context", "up", self->idx, "1");
	expect_refused(_metadata, self, "context up in another netns", ENODEV, 0);
	EXPECT_EQ(0, sockets_rows(_metadata, self, QT_AS_NETNS, rows, 16));

	/* All closed: the list empties. */
	for (i = 0; i < 5; i++)
		untrack_close(&self->e, w[i].fd);
	EXPECT_EQ(0, wait_no_rows(self, 20000));
	EXPECT_EQ(0, sockets_rows(_metadata, self, QT_AS_ROOT, rows, 16));
}

TEST_HARNESS_MAIN
