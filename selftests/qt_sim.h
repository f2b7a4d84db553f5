/* SPDX-License-Identifier: GPL-2.0 */
/*
 * In-guest helpers to run qtsim on a pty, steer it through its control
 * socket, attach the line discipline and read /proc/net/quectel_modem.
 */
#ifndef QT_SIM_H
#define QT_SIM_H

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "qt_test.h"

struct qt_sim {
	pid_t pid;
	char slave[64];
	char control[96];
};

static inline const char *qt_sim_bin(void)
{
	static char path[512];
	const char *top = getenv("QT_TOP");

	snprintf(path, sizeof(path), "%s/userspace/qtsim/qtsim", top ? top : ".");
	return path;
}

/*
 * Start qtsim --pty with @extra options (NULL-terminated list); returns 0
 * and fills @sim, or -1.
 */
static inline int qt_sim_start(struct qt_sim *sim, const char *const *extra)
{
	const char *argv[32];
	int pfd[2], n = 0, i;
	FILE *out;

	memset(sim, 0, sizeof(*sim));
	snprintf(sim->control, sizeof(sim->control), "/tmp/qtsim-ctl.%d.%ld",
		 getpid(), (long)random());
	argv[n++] = qt_sim_bin();
	argv[n++] = "--pty";
	argv[n++] = "--control";
	argv[n++] = sim->control;
	for (i = 0; extra && extra[i] && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	if (pipe(pfd))
		return -1;
	sim->pid = fork();
	if (sim->pid < 0)
		return -1;
	if (sim->pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	close(pfd[1]);
	out = fdopen(pfd[0], "r");
	if (!out || !fgets(sim->slave, sizeof(sim->slave), out)) {
		if (out)
			fclose(out);
		return -1;
	}
	fclose(out);
	sim->slave[strcspn(sim->slave, "\n")] = 0;
	return 0;
}

/* Kill qtsim with @sig and reap it. */
static inline void qt_sim_stop(struct qt_sim *sim, int sig)
{
	if (sim->pid > 0) {
		kill(sim->pid, sig);
		waitpid(sim->pid, NULL, 0);
		sim->pid = 0;
	}
	unlink(sim->control);
}

/* Send one control command; 0 if qtsim answered "ok". */
static inline int qt_sim_ctl(struct qt_sim *sim, const char *cmd)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[256];
	int fd, i, n, ok = -1;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sim->control);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* The control socket appears shortly after the pty path is printed. */
	for (i = 0; i < 200; i++) {
		if (!connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
			break;
		usleep(10000);
	}
	if (i == 200)
		goto out;
	snprintf(buf, sizeof(buf), "%s\n", cmd);
	if (write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf))
		goto out;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = 0;
		ok = strncmp(buf, "ok", 2) ? -1 : 0;
	}
out:
	close(fd);
	return ok;
}

/* Open the slave and attach the quectel discipline: the slave fd or -1. */
static inline int qt_attach(const char *slave)
{
	int ldisc = N_QUECTEL;
	int fd = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (ioctl(fd, TIOCSETD, &ldisc)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The /proc/net/quectel_modem line of the modem on @tty (e.g. "pts3"),
 * copied into @line; 0 if found.
 */
static inline int qt_modem_line(const char *tty, char *line, size_t len)
{
	char want[80];
	FILE *f = fopen("/proc/net/quectel_modem", "r");
	int found = -1;

	if (!f)
		return -1;
	snprintf(want, sizeof(want), " tty=%s ", tty);
	while (fgets(line, len, f))
		if (strstr(line, want)) {
			found = 0;
			break;
		}
	fclose(f);
	return found;
}

/* A numeric key=value field of a modem line, or -1. */
static inline long qt_field(const char *line, const char *key)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), " %s=", key);
	p = strstr(line, want);
	return p ? strtol(p + strlen(want), NULL, 10) : -1;
}

/* "pts/3" -> "pts3", the tty name the kernel uses. */
static inline const char *qt_tty_name(const char *slave, char *buf, size_t len)
{
	const char *p = strstr(slave, "pts/");

	snprintf(buf, len, "pts%s", p ? p + 4 : "?");
	return buf;
}

/*
 * Wait up to @secs for the modem on kernel tty @tty ("pts3", "ttyS1") to
 * show " state=@state ". Returns 0, leaving its line in @line.
 */
static inline int qt_wait_tty_state(const char *tty, const char *state,
				    int secs, char *line, size_t len)
{
	char want[48];
	int i;

	snprintf(want, sizeof(want), " state=%s ", state);
	for (i = 0; i < secs * 20; i++) {
		if (!qt_modem_line(tty, line, len) && strstr(line, want))
			return 0;
		usleep(50000);
	}
	line[0] = 0;
	qt_modem_line(tty, line, len);
	return -1;
}

/* As qt_wait_tty_state(), for the modem on pty slave path @slave. */
static inline int qt_wait_state(const char *slave, const char *state,
				int secs, char *line, size_t len)
{
	char tty[32];

	return qt_wait_tty_state(qt_tty_name(slave, tty, sizeof(tty)), state,
				 secs, line, len);
}

#endif /* QT_SIM_H */
