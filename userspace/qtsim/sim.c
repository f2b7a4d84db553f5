// SPDX-License-Identifier: GPL-2.0
/*
 * qtsim: a simulated Quectel modem on a tty, backed by real sockets.
 *
 * This file is the engine's skeleton: options, where the modem serves
 * (a new pty, an existing tty, or stdin/stdout), the poll() loop with
 * its timers and fd watches, signals, and power-on/reboot. Everything
 * runs in one thread; every fd is nonblocking.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "conn.h"
#include "control.h"
#include "dialect.h"
#include "faults.h"
#include "sim.h"
#include "util.h"

struct options opt = {
	.dialect = "modern",
	.model = NULL,		/* the dialect's default_model */
	.revision = NULL,
	.imei = "866758041234567",
	.at_port = "usbmodem",
	.rdy_delay_ms = 300,
	.reboot_ms = 1000,
	.rxbuf = 64 * 1024,
	.txbuf = 64 * 1024,
	.guard_ms = 1000,
	.open_timeout_ms = 150000,
};

const struct dialect *dialect;

/* ---- timers ------------------------------------------------------ */

static struct timer *timers;	/* unsorted: there are only a handful */

void timer_stop(struct timer *t)
{
	struct timer **pp;

	if (!t->armed)
		return;
	for (pp = &timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	t->armed = 0;
}

void timer_arm(struct timer *t, uint64_t delay_ms, void (*fn)(void *), void *arg)
{
	timer_stop(t);
	t->when = now_ms() + delay_ms;
	t->fn = fn;
	t->arg = arg;
	t->armed = 1;
	t->next = timers;
	timers = t;
}

/* Run the timers that are due, earliest first. */
static void run_timers(void)
{
	for (;;) {
		uint64_t now = now_ms();
		struct timer *t, *due = NULL;

		for (t = timers; t; t = t->next)
			if (t->when <= now && (!due || t->when < due->when))
				due = t;
		if (!due)
			return;
		/* One at a time: a callback may arm or stop others. */
		timer_stop(due);
		due->fn(due->arg);
	}
}

/* ms until the next timer (0 if one is due), or -1 if none. */
static int next_timer_ms(void)
{
	uint64_t now = now_ms(), next = UINT64_MAX;

	for (struct timer *t = timers; t; t = t->next)
		if (t->when < next)
			next = t->when;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)MIN(next - now, 60000);
}

/* ---- watches ----------------------------------------------------- */

static struct watch *watches;
static int watch_gen;		/* bumped whenever a watch goes away */

void watch_add(struct watch *w, int fd, void (*fn)(struct watch *, short), void *arg)
{
	w->fd = fd;
	w->fn = fn;
	w->arg = arg;
	w->events = 0;
	if (!w->added) {
		w->next = watches;
		watches = w;
		w->added = 1;
	}
}

void watch_del(struct watch *w)
{
	struct watch **pp;

	if (!w->added)
		return;
	for (pp = &watches; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	w->added = 0;
	w->events = 0;
	watch_gen++;
}

/* ---- signals ----------------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* ---- power-on and reboot ----------------------------------------- */

static struct timer rdy_timer;

static void rdy(void *arg)
{
	(void)arg;
	cmd_release();
	in_line();
	if (dialect->autobaud && dialect->autobaud()) {
		/* The rate is unknown: nothing to say, nobody to hear it. */
		in_autobaud();
		return;
	}
	/* RDY is a URC of the boot, not an answer to anything. */
	out_urc("RDY");
	if (opt.boot_urcs)
		for (const char *const *u = dialect->boot_urcs; *u; u++)
			out_urc("%s", *u);
}

void sim_reboot(unsigned delay_ms)
{
	/* A module that reboots keeps nothing: sockets, contexts, echo. */
	conn_close_all();
	dialect->reset();
	set_echo(1);
	in_off();
	timer_arm(&rdy_timer, delay_ms, rdy, NULL);
}

/* ---- where the modem serves -------------------------------------- */

static int make_raw(int fd)
{
	struct termios tio;

	if (tcgetattr(fd, &tio) < 0)
		return -1;
	cfmakeraw(&tio);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (opt.baud) {
		speed_t sp = 0;

		switch (opt.baud) {
		case 9600: sp = B9600; break;
		case 19200: sp = B19200; break;
		case 38400: sp = B38400; break;
		case 57600: sp = B57600; break;
		case 115200: sp = B115200; break;
		case 230400: sp = B230400; break;
		case 460800: sp = B460800; break;
		case 921600: sp = B921600; break;
		}
		if (sp)
			cfsetspeed(&tio, sp);
	}
	return tcsetattr(fd, TCSANOW, &tio);
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static const char *link_path;
static int slave_keep = -1;

/*
 * A new pty pair. We keep our own slave fd open so that the master never
 * sees a hangup when the host closes and reopens the slave (e.g. when the
 * line discipline is attached by ldattach, which opens it anew).
 */
static int open_pty(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	const char *name;

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		die("cannot create a pty: %s", strerror(errno));
	name = ptsname(m);
	if (!name)
		die("ptsname: %s", strerror(errno));
	slave_keep = open(name, O_RDWR | O_NOCTTY);
	if (slave_keep < 0)
		die("open %s: %s", name, strerror(errno));
	/* Raw on the slave side: no byte may be translated or echoed. */
	if (make_raw(slave_keep) < 0)
		die("raw mode on %s: %s", name, strerror(errno));
	if (link_path) {
		unlink(link_path);
		if (symlink(name, link_path) < 0)
			die("symlink %s: %s", link_path, strerror(errno));
	}
	printf("%s\n", name);
	fflush(stdout);
	set_nonblock(m);
	return m;
}

static void __attribute__((noreturn)) usage(int code)
{
	fputs(
"usage: qtsim [--pty [--link PATH] | --tty PATH] [options]\n"
"  --pty               serve a new pty; its slave path is printed on stdout\n"
"  --link PATH         also make PATH a symlink to the pty slave\n"
"  --tty PATH          serve an existing tty (set to raw mode)\n"
"                      (neither: serve stdin/stdout)\n"
"  --dialect NAME      command set: modern (default) or legacy (M-series GSM)\n"
"  --model NAME        model in ATI/AT+CGMM (default EC25; legacy M95)\n"
"  --revision REV      firmware revision in ATI/AT+CGMR\n"
"  --imei N            IMEI for AT+GSN\n"
"  --at-port NAME      <AT_port> in +QISTATE (default usbmodem)\n"
"  --rdy-delay MS      power-on time before RDY (default 300)\n"
"  --reboot-delay MS   AT+CFUN=1,1 time before RDY (default 1000)\n"
"  --boot-urcs         after RDY also print the boot URCs (+CFUN, +CPIN, ...)\n"
"  --ipr RATE          legacy: the saved AT+IPR at power-on (default 0: auto-baud)\n"
"  --baud N            throttle both directions to N/10 bytes/s\n"
"  --latency MS        processing time added to every command\n"
"  --chunk N           write at most N bytes at a time to the host\n"
"  --rxbuf N           per-connection receive buffer (default 65536)\n"
"  --txbuf N           per-connection send buffer (default 65536)\n"
"  --guard MS          +++ guard time (default 1000)\n"
"  --open-timeout MS   TCP connect timeout (default 150000)\n"
"  --act-delay MS      AT+QIACT processing time (default 0)\n"
"  --ping auto|tcp     AT+QPING: ICMP if permitted (auto), or TCP connect timing\n"
"  --control PATH      unix socket for run-time fault injection\n"
"  --log PATH          transcript of every byte in (\"> \") and out (\"< \")\n",
		code ? stderr : stdout);
	exit(code);
}

static unsigned long num_arg(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end)
		die("bad number for %s: %s", what, s);
	return v;
}

int main(int argc, char **argv)
{
	enum { O_PTY = 256, O_LINK, O_TTY, O_DIALECT, O_MODEL, O_REV, O_IMEI,
	       O_ATPORT, O_RDY, O_REBOOT, O_BOOTURC, O_BAUD, O_LAT, O_CHUNK,
	       O_RXBUF, O_TXBUF, O_GUARD, O_OPENTO, O_ACT, O_PING, O_CONTROL, O_LOG,
	       O_IPR };
	static const struct option lo[] = {
		{ "pty", no_argument, 0, O_PTY },
		{ "link", required_argument, 0, O_LINK },
		{ "tty", required_argument, 0, O_TTY },
		{ "dialect", required_argument, 0, O_DIALECT },
		{ "model", required_argument, 0, O_MODEL },
		{ "revision", required_argument, 0, O_REV },
		{ "imei", required_argument, 0, O_IMEI },
		{ "at-port", required_argument, 0, O_ATPORT },
		{ "rdy-delay", required_argument, 0, O_RDY },
		{ "reboot-delay", required_argument, 0, O_REBOOT },
		{ "boot-urcs", no_argument, 0, O_BOOTURC },
		{ "ipr", required_argument, 0, O_IPR },
		{ "baud", required_argument, 0, O_BAUD },
		{ "latency", required_argument, 0, O_LAT },
		{ "chunk", required_argument, 0, O_CHUNK },
		{ "rxbuf", required_argument, 0, O_RXBUF },
		{ "txbuf", required_argument, 0, O_TXBUF },
		{ "guard", required_argument, 0, O_GUARD },
		{ "open-timeout", required_argument, 0, O_OPENTO },
		{ "act-delay", required_argument, 0, O_ACT },
		{ "ping", required_argument, 0, O_PING },
		{ "control", required_argument, 0, O_CONTROL },
		{ "log", required_argument, 0, O_LOG },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	int use_pty = 0, rfd, wfd, c;
	const char *tty = NULL, *control = NULL, *log = NULL;
	struct sigaction sa;
	sigset_t block, orig;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_PTY: use_pty = 1; break;
		case O_LINK: link_path = optarg; break;
		case O_TTY: tty = optarg; break;
		case O_DIALECT: opt.dialect = optarg; break;
		case O_MODEL: opt.model = optarg; break;
		case O_REV: opt.revision = optarg; break;
		case O_IMEI: opt.imei = optarg; break;
		case O_ATPORT: opt.at_port = optarg; break;
		case O_RDY: opt.rdy_delay_ms = num_arg(optarg, "--rdy-delay"); break;
		case O_REBOOT: opt.reboot_ms = num_arg(optarg, "--reboot-delay"); break;
		case O_BOOTURC: opt.boot_urcs = 1; break;
		case O_IPR: opt.ipr = num_arg(optarg, "--ipr"); break;
		case O_BAUD: opt.baud = num_arg(optarg, "--baud"); break;
		case O_LAT: opt.latency_ms = num_arg(optarg, "--latency"); break;
		case O_CHUNK: opt.chunk = num_arg(optarg, "--chunk"); break;
		case O_RXBUF: opt.rxbuf = num_arg(optarg, "--rxbuf"); break;
		case O_TXBUF: opt.txbuf = num_arg(optarg, "--txbuf"); break;
		case O_GUARD: opt.guard_ms = num_arg(optarg, "--guard"); break;
		case O_OPENTO: opt.open_timeout_ms = num_arg(optarg, "--open-timeout"); break;
		case O_ACT: opt.act_ms = num_arg(optarg, "--act-delay"); break;
		case O_PING:
			if (strcmp(optarg, "tcp") && strcmp(optarg, "auto"))
				die("--ping: auto or tcp");
			opt.ping_tcp = !strcmp(optarg, "tcp");
			break;
		case O_CONTROL: control = optarg; break;
		case O_LOG: log = optarg; break;
		case 'h': usage(0);
		default: usage(2);
		}
	}
	if (optind != argc || (use_pty && tty) || (link_path && !use_pty))
		usage(2);
	if (opt.rxbuf < 1500)
		opt.rxbuf = 1500;
	if (opt.txbuf < 1460)
		opt.txbuf = 1460;

	if (!strcmp(opt.dialect, "modern"))
		dialect = &dialect_modern;
	else if (!strcmp(opt.dialect, "legacy"))
		dialect = &dialect_legacy;
	else
		die("unknown dialect %s", opt.dialect);
	if (!opt.model)
		opt.model = dialect->default_model;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Signals are only delivered inside ppoll(): no lost wake-ups. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);

	if (log && link_log_open(log) < 0)
		die("cannot open log %s: %s", log, strerror(errno));
	if (control && control_open(control) < 0)
		die("cannot listen on %s: %s", control, strerror(errno));

	if (use_pty) {
		rfd = wfd = open_pty();
		link_init(rfd, wfd);
	} else if (tty) {
		rfd = wfd = open(tty, O_RDWR | O_NOCTTY | O_NONBLOCK);
		if (rfd < 0)
			die("open %s: %s", tty, strerror(errno));
		if (make_raw(rfd) < 0)
			die("raw mode on %s: %s", tty, strerror(errno));
		link_init(rfd, wfd);
	} else {
		rfd = 0;
		wfd = 1;
		if (isatty(0))
			make_raw(0);
		set_nonblock(0);
		set_nonblock(1);
		link_init(rfd, wfd);
	}

	conn_init();
	dialect->reset();
	set_echo(1);
	in_off();
	timer_arm(&rdy_timer, opt.rdy_delay_ms, rdy, NULL);

	while (!stop_signal) {
		struct pollfd pfd[64];
		struct watch *wl[64], *w;
		int n = 0, tmo, r, busy;
		struct timespec ts, *tsp = NULL;

		run_timers();
		/* Consuming input runs commands, which may arm timers. */
		link_process();
		run_timers();
		conn_prepare();
		/* Input a released command left unprocessed: come back at once. */
		busy = link_prepare();
		/* Preparing may arm timers too (throttling): ask last. */
		tmo = busy ? 0 : next_timer_ms();
		for (w = watches; w && n < (int)ARRAY_SIZE(pfd); w = w->next) {
			if (!w->events)
				continue;
			pfd[n].fd = w->fd;
			pfd[n].events = w->events;
			pfd[n].revents = 0;
			wl[n++] = w;
		}
		if (tmo >= 0) {
			ts.tv_sec = tmo / 1000;
			ts.tv_nsec = (tmo % 1000) * 1000000L;
			tsp = &ts;
		}
		r = ppoll(pfd, n, tsp, &orig);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		for (int i = 0, gen = watch_gen; i < n; i++) {
			/*
			 * A callback that removed a watch may have freed a later
			 * one: stop here. poll() is level-triggered, so whatever
			 * is left is reported again next time round.
			 */
			if (gen != watch_gen)
				break;
			if (pfd[i].revents)
				wl[i]->fn(wl[i], pfd[i].revents);
		}
		if (link_eof())
			break;
	}

	conn_close_all();
	control_close();
	link_shutdown();
	link_log_close();
	if (slave_keep >= 0)
		close(slave_keep);
	if (link_path)
		unlink(link_path);
	return 0;
}
