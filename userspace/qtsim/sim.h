/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The engine of qtsim: what every dialect may use.
 *
 *  - options (parsed once in sim.c),
 *  - timers and fd watches of the single-threaded poll() loop (sim.c),
 *  - the link to the host: framed output, input modes, echo (link.c).
 *
 * A dialect (dialect.h) never touches the tty or poll() directly; it
 * produces text through out_*() and switches the input mode with in_*().
 */
#ifndef QTSIM_SIM_H
#define QTSIM_SIM_H

#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct options {
	const char *dialect;
	const char *model;
	const char *revision;
	const char *imei;
	const char *at_port;	/* <AT_port> field of +QISTATE */
	unsigned rdy_delay_ms;	/* power-on to RDY */
	unsigned reboot_ms;	/* AT+CFUN=1,1 / reboot: OK to RDY */
	unsigned baud;		/* 0: unthrottled */
	unsigned latency_ms;	/* added before every command's response */
	unsigned chunk;		/* max bytes per write to the host, 0: any */
	size_t rxbuf;		/* per-connection receive buffer (buffer mode) */
	size_t txbuf;		/* per-connection send buffer: SEND FAIL beyond */
	unsigned guard_ms;	/* +++ guard time */
	unsigned open_timeout_ms;
	unsigned act_ms;	/* AT+QIACT processing time */
	int ping_tcp;		/* QPING: always time a TCP connect */
	int boot_urcs;		/* also print +CPIN: READY etc. after RDY */
	unsigned ipr;		/* legacy: saved AT+IPR at power-on, 0 auto-baud */
};

extern struct options opt;

/* ---- timers (sim.c) ---------------------------------------------- */

struct timer {
	struct timer *next;
	uint64_t when;
	void (*fn)(void *arg);
	void *arg;
	int armed;
};

void timer_arm(struct timer *t, uint64_t delay_ms, void (*fn)(void *), void *arg);
void timer_stop(struct timer *t);

/* ---- fd watches (sim.c) -------------------------------------------
 * A watch with events == 0 is left out of poll() altogether, so a
 * socket we do not want to read (full buffer, peer gone) never makes
 * the loop spin on POLLHUP.
 */
struct watch {
	struct watch *next;
	int fd;
	short events;
	void (*fn)(struct watch *w, short revents);
	void *arg;
	int added;
};

void watch_add(struct watch *w, int fd, void (*fn)(struct watch *, short), void *arg);
void watch_del(struct watch *w);

/* Drop every connection, reset the dialect, and print RDY after delay_ms. */
void sim_reboot(unsigned delay_ms);

/* ---- the link to the host (link.c) -------------------------------- */

void link_init(int rfd, int wfd);
/* Consume buffered host input according to the input mode. */
void link_process(void);
/* Set the link's poll events; non-zero if input is waiting to be processed. */
int link_prepare(void);
/* The host side is gone for good (stdin EOF). */
int link_eof(void);
int link_log_open(const char *path);
void link_log_close(void);
void link_shutdown(void);

/* Raw bytes to the host: echo, payload. */
void out_raw(const void *p, size_t n);
/* An information response line: "\r\n<text>\r\n". */
void out_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_vline(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/*
 * A final result code (OK, ERROR, SEND OK, CONNECT, ...): framed like a
 * line, but the "drop-final" fault applies to it.
 */
void out_final(const char *text);
/*
 * A URC. While the port is in transparent mode URCs are held back and
 * printed when it returns to command mode.
 */
void out_urc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A URC followed by CR LF and payload bytes (direct push mode). */
void out_urc_data(const void *data, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Bytes queued for the host but not yet written. */
size_t out_queued(void);

void set_echo(int on);
int get_echo(void);

/* Input modes. */
#define DATA_ECHO	1	/* payload after "> " is echoed */
#define DATA_BACKSPACE	2	/* Ctrl-Z payload: 0x08 deletes the last byte */

void in_line(void);				/* AT command lines */
void in_data_fixed(size_t n, int flags);	/* exactly n bytes after "> " */
void in_data_ctrlz(size_t max, int flags);	/* up to Ctrl-Z / ESC */
void in_transparent(int escape);		/* bytes go to the socket;
						 * "+++" leaves if escape */
void in_off(void);				/* discard (rebooting) */
/*
 * Auto-baud: discard everything until the host's "AT" (or "at") arrives
 * whole; from its 'A' on, command lines as usual.
 */
void in_autobaud(void);
int in_is_transparent(void);

/*
 * A command that answers later (QIOPEN in transparent mode, QICLOSE
 * waiting for FIN, CFUN reboot) holds further input until it is done:
 * the host must not send the next command before the final result.
 */
void cmd_hold(void);
void cmd_release(void);

#endif
