// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel core against qtsim on a pty: bring-up to ready, a silent
 * module (retries, then a restart), a reboot mid-session, the modem going
 * away (hangup) during bring-up and during a command, garbage and
 * byte-by-byte delivery, and many attach/detach cycles.
 */
#include <sched.h>

#include "kselftest_harness.h"
#include "qt_sim.h"

#define LINE 1024

FIXTURE(sim) {
	struct qt_sim sim;
	int fd;			/* attached slave */
	int refcnt;
	char line[LINE];
};

FIXTURE_VARIANT(sim) {
	const char *const *opts;
};

static const char *const opts_plain[] = { "--rdy-delay", "0", NULL };
static const char *const opts_bytewise[] = { "--rdy-delay", "0", "--chunk", "1", NULL };

FIXTURE_VARIANT_ADD(sim, plain) { .opts = opts_plain };
FIXTURE_VARIANT_ADD(sim, bytewise) { .opts = opts_bytewise };

FIXTURE_SETUP(sim)
{
	self->fd = -1;
	self->refcnt = qt_module_refcnt();
	ASSERT_EQ(0, qt_sim_start(&self->sim, variant->opts));
	ASSERT_EQ(0, qt_sim_ctl(&self->sim, "ping"));
}

FIXTURE_TEARDOWN(sim)
{
	if (self->fd >= 0)
		close(self->fd);
	qt_sim_stop(&self->sim, SIGTERM);
	/* Every modem is gone once its tty is released. */
	EXPECT_EQ(self->refcnt, qt_wait_refcnt(self->refcnt));
}

TEST_F_TIMEOUT(sim, attach_to_ready, 60)
{
	self->fd = qt_attach(self->sim.slave);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, qt_wait_state(self->sim.slave, "ready", 30, self->line, LINE))
		TH_LOG("modem: %s", self->line);
	EXPECT_NE(NULL, strstr(self->line, " model=EC25 "));
	EXPECT_NE(NULL, strstr(self->line, " imei=866758041234567 "));
	EXPECT_LT(0, qt_field(self->line, "commands"));
	EXPECT_EQ(0, qt_field(self->line, "timeouts"));
	EXPECT_EQ(0, qt_field(self->line, "restarts"));
	EXPECT_LT(0, qt_field(self->line, "tx_bytes"));
	EXPECT_LT(0, qt_field(self->line, "rx_bytes"));
}

TEST_F_TIMEOUT(sim, silent_module_is_restarted, 90)
{
	ASSERT_EQ(0, qt_sim_ctl(&self->sim, "silent on"));
	self->fd = qt_attach(self->sim.slave);
	ASSERT_LE(0, self->fd);

	/* 15 AT probes 500 ms apart go unanswered, then AT+CFUN=1,1. */
	ASSERT_EQ(0, qt_wait_state(self->sim.slave, "restarting", 20, self->line, LINE))
		TH_LOG("modem: %s", self->line);
	EXPECT_LE(15, qt_field(self->line, "timeouts"));
	EXPECT_EQ(1, qt_field(self->line, "restarts"));
	EXPECT_NE(NULL, strstr(self->line, "reason=\"no answer to AT\""));

	/* The module comes back: its RDY resumes bring-up. */
	ASSERT_EQ(0, qt_sim_ctl(&self->sim, "silent off"));
	ASSERT_EQ(0, qt_sim_ctl(&self->sim, "reboot"));
	ASSERT_EQ(0, qt_wait_state(self->sim.slave, "ready", 30, self->line, LINE))
		TH_LOG("modem: %s", self->line);
	EXPECT_EQ(1, qt_field(self->line, "restarts"));
}

/* Wait up to @secs for the modem's "reboots" counter to reach @want. */
static long wait_reboots(const char *slave, long want, int secs, char *line)
{
	char tty[32];
	long n = -1;
	int i;

	qt_tty_name(slave, tty, sizeof(tty));
	for (i = 0; i < secs * 20; i++) {
		if (!qt_modem_line(tty, line, LINE)) {
			n = qt_field(line, "reboots");
			if (n >= want)
				break;
		}
		usleep(50000);
	}
	return n;
}

TEST_F_TIMEOUT(sim, reboot_mid_session, 90)
{
	long reboots;

	self->fd = qt_attach(self->sim.slave);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, qt_wait_state(self->sim.slave, "ready", 30, self->line, LINE));
	reboots = qt_field(self->line, "reboots");

	/* RDY after the simulated 1 s boot: bring-up runs again. */
	ASSERT_EQ(0, qt_sim_ctl(&self->sim, "reboot"));
	ASSERT_EQ(reboots + 1, wait_reboots(self->sim.slave, reboots + 1, 10, self->line));
	ASSERT_EQ(0, qt_wait_state(self->sim.slave, "ready", 30, self->line, LINE))
		TH_LOG("modem: %s", self->line);
	EXPECT_EQ(0, qt_field(self->line, "restarts"));
	/* The reboot turned echo back on; bring-up turned it off again. */
	EXPECT_EQ(0, qt_field(self->line, "timeouts"));
}

TEST_F(sim, hangup_during_bringup)
{
	char tty[32];

	ASSERT_EQ(0, qt_sim_ctl(&self->sim, "silent on"));
	self->fd = qt_attach(self->sim.slave);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, qt_wait_state(self->sim.slave, "sync", 5, self->line, LINE));
	usleep(700000);

	/* The module disappears with commands in flight: the pty hangs up. */
	qt_sim_stop(&self->sim, SIGKILL);
	ASSERT_EQ(0, qt_wait_state(self->sim.slave, "detached", 5, self->line, LINE) ||
		     qt_modem_line(qt_tty_name(self->sim.slave, tty, sizeof(tty)),
				   self->line, LINE) ? 0 : -1)
		TH_LOG("still listed: %s", self->line);
	close(self->fd);
	self->fd = -1;
}

TEST_F_TIMEOUT(sim, hangup_during_command, 60)
{
	char tty[32];

	self->fd = qt_attach(self->sim.slave);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, qt_wait_state(self->sim.slave, "ready", 30, self->line, LINE));
	/* Slow answers, then a reboot: bring-up commands wait 3 s each. */
	ASSERT_EQ(0, qt_sim_ctl(&self->sim, "delay 3000"));
	ASSERT_EQ(0, qt_sim_ctl(&self->sim, "reboot"));
	ASSERT_EQ(0, qt_wait_state(self->sim.slave, "sync", 10, self->line, LINE));
	usleep(500000);
	qt_sim_stop(&self->sim, SIGKILL);
	close(self->fd);
	self->fd = -1;
	EXPECT_NE(0, qt_modem_line(qt_tty_name(self->sim.slave, tty, sizeof(tty)),
				   self->line, LINE))
		TH_LOG("still listed: %s", self->line);
}

TEST_F_TIMEOUT(sim, garbage_is_survived, 90)
{
	/* The first answers the kernel gets are corrupted. */
	ASSERT_EQ(0, qt_sim_ctl(&self->sim, "garble 60"));
	self->fd = qt_attach(self->sim.slave);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, qt_wait_state(self->sim.slave, "ready", 60, self->line, LINE))
		TH_LOG("modem: %s", self->line);
	EXPECT_LT(0, qt_field(self->line, "parse_errors") +
		     qt_field(self->line, "timeouts"));
	EXPECT_EQ(0, qt_field(self->line, "restarts"));
}

TEST_F_TIMEOUT(sim, attach_detach_cycles, 240)
{
	int i, n = getenv("QT_CYCLES") ? atoi(getenv("QT_CYCLES")) : 200;
	int n_tty = N_TTY;

	/* Detach at every point of bring-up: before, during, after commands. */
	for (i = 0; i < n; i++) {
		int fd = qt_attach(self->sim.slave);

		ASSERT_LE(0, fd);
		usleep((i % 10) * 5000);
		ASSERT_EQ(0, ioctl(fd, TIOCSETD, &n_tty));
		close(fd);
	}
	EXPECT_EQ(self->refcnt, qt_wait_refcnt(self->refcnt));
	/* The simulator is still there and a last attach comes up. */
	self->fd = qt_attach(self->sim.slave);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, qt_wait_state(self->sim.slave, "ready", 30, self->line, LINE))
		TH_LOG("modem: %s", self->line);
}

/*
 * A module that never answers: bring-up fails, three restarts in a row
 * fail at once, the fourth follows at once too, then the notes' back-off
 * holds the next one for 10 minutes.
 */
FIXTURE(hung) {
	struct qt_sim sim;
	int fd;
	int refcnt;
	char line[LINE];
};

FIXTURE_SETUP(hung)
{
	self->fd = -1;
	self->refcnt = qt_module_refcnt();
	ASSERT_EQ(0, qt_sim_start(&self->sim, opts_plain));
	ASSERT_EQ(0, qt_sim_ctl(&self->sim, "silent on"));
}

FIXTURE_TEARDOWN(hung)
{
	if (self->fd >= 0)
		close(self->fd);
	qt_sim_stop(&self->sim, SIGTERM);
	EXPECT_EQ(self->refcnt, qt_wait_refcnt(self->refcnt));
}

TEST_F_TIMEOUT(hung, restart_backoff, 240)
{
	long next;

	self->fd = qt_attach(self->sim.slave);
	ASSERT_LE(0, self->fd);
	/* Each round: 15 AT probes (7.5 s) and an unanswered CFUN (15 s). */
	ASSERT_EQ(0, qt_wait_state(self->sim.slave, "backoff", 200, self->line, LINE))
		TH_LOG("modem: %s", self->line);
	EXPECT_EQ(4, qt_field(self->line, "restarts"));
	EXPECT_EQ(4, qt_field(self->line, "restart_failures"));
	next = qt_field(self->line, "next_restart_s");
	EXPECT_LE(590, next);
	EXPECT_GE(600, next);
}

/*
 * A modem belongs to the network namespace of whoever attached it: only
 * that namespace's /proc/net/quectel_modem lists it.
 */
TEST(modem_belongs_to_attacher_netns)
{
	char path[64], tty[32], line[LINE];
	int master, slave, status, sync[2], go[2];
	pid_t pid;
	char c;

	master = qt_open_pty(&slave, path, sizeof(path));
	ASSERT_LE(0, master);
	qt_tty_name(path, tty, sizeof(tty));
	ASSERT_EQ(0, pipe(sync));
	ASSERT_EQ(0, pipe(go));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int ldisc = N_QUECTEL, rc = 0;

		if (unshare(CLONE_NEWNET))
			_exit(2);
		if (ioctl(slave, TIOCSETD, &ldisc))
			_exit(3);
		if (qt_modem_line(tty, line, sizeof(line)))
			rc = 4;		/* not visible where it was attached */
		if (write(sync[1], "x", 1) != 1 || read(go[0], &c, 1) != 1)
			rc = 5;
		_exit(rc);
	}
	ASSERT_EQ(1, read(sync[0], &c, 1));
	EXPECT_NE(0, qt_modem_line(tty, line, sizeof(line)))
		TH_LOG("visible outside its namespace: %s", line);
	ASSERT_EQ(1, write(go[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(slave);
	close(master);
	close(sync[0]);
	close(sync[1]);
	close(go[0]);
	close(go[1]);
}

TEST_HARNESS_MAIN
