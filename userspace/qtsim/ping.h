/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ICMP echo for AT+QPING, asynchronous on the poll loop. Uses an
 * unprivileged ICMP datagram socket when net.ipv4.ping_group_range
 * allows, else a raw socket (root), else times a TCP connect to port 80
 * (a refused or accepted connect both prove the host answered).
 */
#ifndef QTSIM_PING_H
#define QTSIM_PING_H

struct ping_ops {
	/* One echo: result 0 with ip/bytes/ms/ttl, or an error code. */
	void (*reply)(int result, const char *ip, int bytes, int ms, int ttl);
	/* The end: result 0 with the statistics, or an error code. */
	void (*done)(int result, int sent, int rcvd, int lost, int min, int max, int avg);
};

/* 0 started; -1 one is already running. */
int ping_start(const char *host, int timeout_s, int count, const struct ping_ops *ops);
void ping_cancel(void);

#endif
