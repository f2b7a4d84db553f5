// SPDX-License-Identifier: GPL-2.0
/*
 * Attaching and detaching the quectel line discipline: TIOCSETD and
 * ldattach(8), privilege checks, hangup while attached, unload refused
 * while a tty holds the discipline, repeated cycles.
 */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "qt_test.h"

FIXTURE(pty) {
	int refcnt;		/* module refcount before the test */
	int master;
	int slave;
	char path[64];
};

FIXTURE_SETUP(pty)
{
	self->refcnt = qt_module_refcnt();
	ASSERT_LE(0, self->refcnt);
	self->master = qt_open_pty(&self->slave, self->path, sizeof(self->path));
	ASSERT_LE(0, self->master);
	ASSERT_EQ(0, qt_get_ldisc(self->slave));
}

FIXTURE_TEARDOWN(pty)
{
	if (self->slave >= 0)
		close(self->slave);
	if (self->master >= 0)
		close(self->master);
}

TEST_F(pty, tiocsetd_attach_detach)
{
	int ldisc = N_QUECTEL, n_tty = N_TTY;

	ASSERT_EQ(0, ioctl(self->slave, TIOCSETD, &ldisc));
	EXPECT_EQ(N_QUECTEL, qt_get_ldisc(self->slave));
	/* The discipline pins the module while a tty uses it. */
	EXPECT_NE(0, qt_module_unload());

	EXPECT_EQ(self->refcnt + 1, qt_module_refcnt());

	ASSERT_EQ(0, ioctl(self->slave, TIOCSETD, &n_tty));
	EXPECT_EQ(N_TTY, qt_get_ldisc(self->slave));
	EXPECT_EQ(self->refcnt, qt_module_refcnt());
}

TEST_F(pty, close_while_attached)
{
	int ldisc = N_QUECTEL;

	ASSERT_EQ(0, ioctl(self->slave, TIOCSETD, &ldisc));
	EXPECT_EQ(self->refcnt + 1, qt_module_refcnt());
	/*
	 * A pty keeps its discipline while either side is open; closing both
	 * releases the tty, which closes the discipline and drops its pin.
	 */
	close(self->slave);
	self->slave = -1;
	EXPECT_EQ(self->refcnt + 1, qt_module_refcnt());
	close(self->master);
	self->master = -1;
	EXPECT_EQ(self->refcnt, qt_wait_refcnt(self->refcnt));
}

TEST_F(pty, hangup_while_attached)
{
	int ldisc = N_QUECTEL;
	char c;

	ASSERT_EQ(0, ioctl(self->slave, TIOCSETD, &ldisc));
	/* Closing the master hangs the slave up: the modem is gone. */
	close(self->master);
	self->master = -1;
	EXPECT_EQ(-1, write(self->slave, "AT\r", 3));
	EXPECT_EQ(0, read(self->slave, &c, 1) > 0);
	close(self->slave);
	self->slave = -1;
	EXPECT_EQ(self->refcnt, qt_wait_refcnt(self->refcnt));
}

TEST_F(pty, unprivileged_attach_is_eperm)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		int ldisc = N_QUECTEL;

		if (qt_drop_privileges())
			_exit(2);
		if (ioctl(self->slave, TIOCSETD, &ldisc) == 0)
			_exit(3);
		_exit(errno == EPERM ? 0 : 4);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(N_TTY, qt_get_ldisc(self->slave));
}

TEST_F(pty, ldattach)
{
	struct timespec delay = { 0, 20 * 1000 * 1000 };
	int i, ldisc = -1, status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* -d: stay in the foreground so the test can stop it. */
		execlp("ldattach", "ldattach", "-d", "29", self->path, NULL);
		_exit(127);
	}
	for (i = 0; i < 250; i++) {
		ldisc = qt_get_ldisc(self->slave);
		if (ldisc == N_QUECTEL)
			break;
		nanosleep(&delay, NULL);
	}
	EXPECT_EQ(N_QUECTEL, ldisc);
	EXPECT_EQ(self->refcnt + 1, qt_module_refcnt());

	/*
	 * ldattach detaches by closing its fd; once ours and the master are
	 * closed too, the tty is released and the discipline with it.
	 */
	kill(pid, SIGTERM);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) || WIFEXITED(status));
	close(self->slave);
	self->slave = -1;
	close(self->master);
	self->master = -1;
	EXPECT_EQ(self->refcnt, qt_wait_refcnt(self->refcnt));
}

TEST(attach_detach_cycles)
{
	int i, n = getenv("QT_CYCLES") ? atoi(getenv("QT_CYCLES")) : 50;
	int ldisc = N_QUECTEL, n_tty = N_TTY;
	int refcnt = qt_module_refcnt();

	for (i = 0; i < n; i++) {
		char path[64];
		int slave, master = qt_open_pty(&slave, path, sizeof(path));

		ASSERT_LE(0, master);
		ASSERT_EQ(0, ioctl(slave, TIOCSETD, &ldisc));
		/* Alternate the ways out: back to N_TTY, close, hangup. */
		if (i % 3 == 0)
			ASSERT_EQ(0, ioctl(slave, TIOCSETD, &n_tty));
		if (i % 3 == 2) {
			close(master);
			close(slave);
		} else {
			close(slave);
			close(master);
		}
	}
	EXPECT_EQ(refcnt, qt_wait_refcnt(refcnt));
}

TEST(two_modems_at_once)
{
	int ldisc = N_QUECTEL;
	char p1[64], p2[64];
	int s1, s2, m1, m2;
	int refcnt = qt_module_refcnt();

	m1 = qt_open_pty(&s1, p1, sizeof(p1));
	m2 = qt_open_pty(&s2, p2, sizeof(p2));
	ASSERT_LE(0, m1);
	ASSERT_LE(0, m2);
	ASSERT_EQ(0, ioctl(s1, TIOCSETD, &ldisc));
	ASSERT_EQ(0, ioctl(s2, TIOCSETD, &ldisc));
	EXPECT_EQ(N_QUECTEL, qt_get_ldisc(s1));
	EXPECT_EQ(N_QUECTEL, qt_get_ldisc(s2));
	EXPECT_EQ(refcnt + 2, qt_module_refcnt());
	close(s1);
	close(m1);
	close(m2);
	close(s2);
	EXPECT_EQ(refcnt, qt_wait_refcnt(refcnt));
}

TEST_HARNESS_MAIN
