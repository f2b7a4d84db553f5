/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running one of the project's programs (userspace/<tool>/<tool>) from an
 * in-guest selftest: its path under $QT_TOP, a child with stdin from
 * /dev/null and stdout/stderr in files, run as root, as "nobody" without
 * capabilities, or in a network namespace of its own; a bounded wait for
 * its exit status. Header-only so each test stays one program.
 */
#ifndef QT_PROG_H
#define QT_PROG_H

#include <sched.h>

#include "qt_net.h"
#include "qt_test.h"

/* Who runs the program. */
enum qt_as {
	QT_AS_ROOT,
	QT_AS_NOBODY,	/* uid/gid 65534, no capabilities */
	QT_AS_NETNS,	/* root in a network namespace of its own */
};

/* $QT_TOP/@rel (from selftests/ without QT_TOP: ../@rel); static buffer. */
static inline const char *qt_prog_path(const char *rel)
{
	static char path[512];
	const char *top = getenv("QT_TOP");

	snprintf(path, sizeof(path), "%s/%s", top ? top : "..", rel);
	return path;
}

/* Is the effective capability set of this process empty? */
static inline bool qt_no_caps(void)
{
	char line[256];
	bool none = false;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7))
			none = strtoull(line + 7, NULL, 16) == 0;
	if (f)
		fclose(f);
	return none;
}

/*
 * Start @prog with @args (NULL-terminated) as @as, stdout and stderr to
 * the files @out and @err (truncated), in a child that dies with us; its
 * pid, or -1. The child exits 124..127 if it cannot become what @as says
 * or cannot run @prog.
 */
static inline pid_t qt_prog_spawn(const char *prog, enum qt_as as, const char *out,
				  const char *err, const char *const *args)
{
	const char *argv[40];
	int n = 0, fo, fe, fi;
	pid_t pid;

	argv[n++] = prog;
	while (*args && n < 39)
		argv[n++] = *args++;
	argv[n] = NULL;
	pid = fork();
	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	fi = open("/dev/null", O_RDONLY);
	if (fo < 0 || fe < 0 || fi < 0 || dup2(fi, 0) < 0 || dup2(fo, 1) < 0 ||
	    dup2(fe, 2) < 0)
		_exit(126);
	signal(SIGPIPE, SIG_DFL);
	if (as == QT_AS_NOBODY && (qt_drop_privileges() || !qt_no_caps()))
		_exit(125);
	if (as == QT_AS_NETNS && unshare(CLONE_NEWNET))
		_exit(124);
	execv(argv[0], (char **)argv);
	_exit(127);
}

/*
 * Wait up to @ms for child *@pid: its exit status or 128 + signal, and
 * *@pid = 0; or -1 when it took too long (then it is killed and reaped).
 */
static inline int qt_prog_status(pid_t *pid, int ms)
{
	int st = qn_wait_exit(*pid, ms);

	if (st == -1) {
		qn_kill_reap(pid);
		return -1;
	}
	*pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A whole text file (malloc'd); "" if it cannot be read. */
static inline char *qt_read_text(const char *path)
{
	char *s = qn_read_file(path, NULL);

	return s ? s : strdup("");
}

#endif /* QT_PROG_H */
