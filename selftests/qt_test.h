/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the in-guest selftests: module load/unload, ptys,
 * dropping privileges. Header-only so each test stays one program.
 */
#ifndef QT_TEST_H
#define QT_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>
#include <linux/quectel.h>

/* Does /proc/modules list quectel? */
static inline bool qt_module_loaded(void)
{
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/modules", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "quectel ", 8))
			found = true;
	fclose(f);
	return found;
}

/* The module's reference count (each attached tty and socket holds one). */
static inline int qt_module_refcnt(void)
{
	int n = -1;
	FILE *f = fopen("/sys/module/quectel/refcnt", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/*
 * Wait up to a second for the refcount to reach @want (tty release may
 * finish a moment after the last close returns). Returns the last value.
 */
static inline int qt_wait_refcnt(int want)
{
	int i, n = -1;

	for (i = 0; i < 100; i++) {
		n = qt_module_refcnt();
		if (n == want)
			break;
		usleep(10000);
	}
	return n;
}

/* Load $QT_MODULE (set by the VM runner). 0 or -errno. */
static inline int qt_module_load(void)
{
	const char *path = getenv("QT_MODULE");
	int fd, ret;

	if (!path || !*path)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

/* Unload without waiting: 0, or -EBUSY/-EWOULDBLOCK while in use. */
static inline int qt_module_unload(void)
{
	return syscall(SYS_delete_module, "quectel", O_NONBLOCK) ? -errno : 0;
}

/*
 * Open a pty pair in raw mode. Returns the master fd and stores the slave
 * fd and path; -1 on failure.
 */
static inline int qt_open_pty(int *slave, char *path, size_t pathlen)
{
	struct termios tio;
	int master;

	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return -1;
	if (grantpt(master) || unlockpt(master) ||
	    ptsname_r(master, path, pathlen))
		goto err;
	*slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		goto err;
	if (tcgetattr(*slave, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(*slave, TCSANOW, &tio);
	}
	return master;
err:
	close(master);
	return -1;
}

static inline int qt_get_ldisc(int fd)
{
	int ldisc = -1;

	if (ioctl(fd, TIOCGETD, &ldisc))
		return -errno;
	return ldisc;
}

/* Become "nobody" with no capabilities left. 0 or -errno. */
static inline int qt_drop_privileges(void)
{
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		return -errno;
	return 0;
}

#endif /* QT_TEST_H */
