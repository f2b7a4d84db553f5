// SPDX-License-Identifier: GPL-2.0
/* AT+QPING's echo requests; see ping.h. One ping run at a time. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "ping.h"
#include "sim.h"
#include "util.h"

#define PING_BYTES 32

enum ping_kind { PK_DGRAM, PK_RAW, PK_TCP };

static struct {
	int running;
	const struct ping_ops *ops;
	enum ping_kind kind;
	int fd;
	struct watch w;
	struct timer t;
	struct sockaddr_storage dst;
	socklen_t dstlen;
	char ip[64];
	int timeout_s, count, sent, rcvd, min, max, sum;
	uint16_t id, seq;
	uint64_t t0;
} P;

static void next_echo(void *arg);

static void close_sock(void)
{
	if (P.fd >= 0) {
		watch_del(&P.w);
		close(P.fd);
		P.fd = -1;
	}
}

static void finish(int result)
{
	const struct ping_ops *ops = P.ops;
	int avg = P.rcvd ? P.sum / P.rcvd : 0;

	close_sock();
	timer_stop(&P.t);
	P.running = 0;
	if (result)
		ops->done(result, 0, 0, 0, 0, 0, 0);
	else
		ops->done(0, P.sent, P.rcvd, P.sent - P.rcvd,
			  P.rcvd ? P.min : 0, P.max, avg);
}

static void got_reply(int ttl)
{
	int ms = (int)(now_ms() - P.t0);

	timer_stop(&P.t);
	if (P.kind == PK_TCP)
		close_sock();
	if (!P.rcvd || ms < P.min)
		P.min = ms;
	if (ms > P.max)
		P.max = ms;
	P.sum += ms;
	P.rcvd++;
	P.ops->reply(0, P.ip, PING_BYTES, ms, ttl);
	timer_arm(&P.t, 0, next_echo, NULL);
}

static void echo_timeout(void *arg)
{
	(void)arg;
	if (P.kind == PK_TCP)
		close_sock();
	P.ops->reply(569, NULL, 0, 0, 0);
	next_echo(NULL);
}

static void on_icmp(struct watch *w, short rev)
{
	unsigned char pkt[1500], cbuf[256];
	struct iovec iov = { pkt, sizeof(pkt) };
	struct msghdr mh = { 0 };
	struct icmphdr *ic;
	ssize_t n;
	int ttl = 64;

	(void)w;
	(void)rev;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	n = recvmsg(P.fd, &mh, 0);
	if (n <= 0)
		return;
	if (P.kind == PK_RAW) {
		struct iphdr *ip = (void *)pkt;
		size_t hl = ip->ihl * 4;

		if ((size_t)n < hl + sizeof(*ic))
			return;
		ttl = ip->ttl;
		ic = (void *)(pkt + hl);
		if (ic->type != ICMP_ECHOREPLY || ntohs(ic->un.echo.id) != P.id)
			return;
	} else {
		if ((size_t)n < sizeof(*ic))
			return;
		ic = (void *)pkt;
		if (ic->type != ICMP_ECHOREPLY)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL)
				memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
	}
	if (ntohs(ic->un.echo.sequence) != P.seq)
		return;	/* a late answer to an echo already timed out */
	got_reply(ttl);
}

static void on_tcp(struct watch *w, short rev)
{
	int e = 0;
	socklen_t len = sizeof(e);

	(void)w;
	(void)rev;
	getsockopt(P.fd, SOL_SOCKET, SO_ERROR, &e, &len);
	if (e == 0 || e == ECONNREFUSED)
		got_reply(64);
	/* anything else (unreachable): let the timeout report it */
	else
		w->events = 0;
}

static uint16_t csum(const void *p, size_t n)
{
	const uint16_t *s = p;
	uint32_t sum = 0;

	for (; n > 1; n -= 2)
		sum += *s++;
	if (n)
		sum += *(const uint8_t *)s;
	sum = (sum >> 16) + (sum & 0xffff);
	sum += sum >> 16;
	return ~sum;
}

static void next_echo(void *arg)
{
	(void)arg;
	if (P.sent == P.count) {
		finish(0);
		return;
	}
	P.seq++;
	P.sent++;
	P.t0 = now_ms();
	timer_arm(&P.t, P.timeout_s * 1000ULL, echo_timeout, NULL);
	if (P.kind == PK_TCP) {
		struct sockaddr_storage d = P.dst;

		((struct sockaddr_in *)&d)->sin_port = htons(80);	/* same offset in v6 */
		P.fd = socket(d.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (P.fd < 0)
			return;
		watch_add(&P.w, P.fd, on_tcp, NULL);
		if (connect(P.fd, (struct sockaddr *)&d, P.dstlen) == 0 || errno == ECONNREFUSED) {
			got_reply(64);
			return;
		}
		P.w.events = POLLOUT;
	} else {
		unsigned char pkt[sizeof(struct icmphdr) + PING_BYTES];
		struct icmphdr *ic = (void *)pkt;

		memset(pkt, 0, sizeof(pkt));
		ic->type = ICMP_ECHO;
		ic->un.echo.id = htons(P.id);
		ic->un.echo.sequence = htons(P.seq);
		for (int i = 0; i < PING_BYTES; i++)
			pkt[sizeof(*ic) + i] = 'a' + i % 23;
		ic->checksum = csum(pkt, sizeof(pkt));
		sendto(P.fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&P.dst, P.dstlen);
	}
}

static void dns_failed(void *arg)
{
	(void)arg;
	finish(565);
}

static void start(void *arg)
{
	(void)arg;
	next_echo(NULL);
}

int ping_start(const char *host, int timeout_s, int count, const struct ping_ops *ops)
{
	struct addrinfo hints = { 0 }, *res;
	int port, one = 1;

	if (P.running)
		return -1;
	memset(&P, 0, sizeof(P));
	P.fd = -1;
	P.ops = ops;
	P.running = 1;
	P.timeout_s = timeout_s;
	P.count = count;
	P.id = getpid() & 0xffff;
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0) {
		/* Report after the OK the command prints first. */
		P.count = 0;
		timer_arm(&P.t, 0, dns_failed, NULL);
		return 0;
	}
	/* prefer IPv4: ICMP (v4) is what we can send */
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		if (a->ai_family == AF_INET || !P.dstlen) {
			memcpy(&P.dst, a->ai_addr, a->ai_addrlen);
			P.dstlen = a->ai_addrlen;
			if (a->ai_family == AF_INET)
				break;
		}
	}
	freeaddrinfo(res);
	addr_str(&P.dst, P.ip, sizeof(P.ip), &port);

	P.kind = PK_TCP;
	if (P.dst.ss_family == AF_INET && !opt.ping_tcp) {
		P.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
		if (P.fd >= 0) {
			P.kind = PK_DGRAM;
			setsockopt(P.fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one));
		} else {
			P.fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
			if (P.fd >= 0)
				P.kind = PK_RAW;
		}
		if (P.fd >= 0) {
			watch_add(&P.w, P.fd, on_icmp, NULL);
			P.w.events = POLLIN;
		}
	}
	timer_arm(&P.t, 0, start, NULL);
	return 0;
}

void ping_cancel(void)
{
	if (!P.running)
		return;
	close_sock();
	timer_stop(&P.t);
	P.running = 0;
}
