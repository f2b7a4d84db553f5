// SPDX-License-Identifier: GPL-2.0
/*
 * The modem on a real UART: the guest's ttyS1 (an emulated 8250 whose
 * transmit-empty interrupt calls write_wakeup in hard interrupt context),
 * wired by selftests/vm/run --uart-sim to a qtsim on the host. Bring-up and
 * a hash-checked transfer through a TCP echo server on the host's loopback.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <poll.h>

#include "kselftest_harness.h"
#include "qt_sim.h"

#define UART		"/dev/ttyS1"
#define XFER		(64 * 1024)

static unsigned long long fnv1a(const unsigned char *p, size_t n)
{
	unsigned long long h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ *p++) * 1099511628211ULL;
	return h;
}

FIXTURE(uart) {
	int fd;
	int refcnt;
	char line[1024];
};

FIXTURE_SETUP(uart)
{
	struct termios tio;
	int ldisc = N_QUECTEL;

	ASSERT_NE(NULL, getenv("QT_UART_ECHO_PORT"))
		TH_LOG("run me with selftests/vm/run --uart-sim");
	self->refcnt = qt_module_refcnt();
	self->fd = open(UART, O_RDWR | O_NOCTTY | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, tcgetattr(self->fd, &tio));
	cfmakeraw(&tio);
	cfsetspeed(&tio, B115200);
	ASSERT_EQ(0, tcsetattr(self->fd, TCSANOW, &tio));
	ASSERT_EQ(0, ioctl(self->fd, TIOCSETD, &ldisc));
}

FIXTURE_TEARDOWN(uart)
{
	int n_tty = N_TTY;

	if (self->fd >= 0) {
		ioctl(self->fd, TIOCSETD, &n_tty);
		close(self->fd);
	}
	EXPECT_EQ(self->refcnt, qt_wait_refcnt(self->refcnt));
}

TEST_F_TIMEOUT(uart, bringup_and_transfer, 240)
{
	static unsigned char out[XFER], in[XFER];
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 60 };
	size_t sent = 0, got = 0;
	int sk, i;

	ASSERT_EQ(0, qt_wait_tty_state("ttyS1", "ready", 60, self->line, sizeof(self->line)))
		TH_LOG("modem: %s", self->line);

	for (i = 0; i < XFER; i++)
		out[i] = (unsigned char)(i * 2654435761U >> 13);
	sin.sin_port = htons(atoi(getenv("QT_UART_ECHO_PORT")));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sk = socket(AF_QUECTEL, SOCK_STREAM, 0);
	ASSERT_LE(0, sk);
	ASSERT_EQ(0, setsockopt(sk, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	ASSERT_EQ(0, setsockopt(sk, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	ASSERT_EQ(0, connect(sk, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("connect: %s", strerror(errno));

	/* Both directions at once, so the echo never stalls on our reads. */
	while (got < XFER) {
		struct pollfd p = { .fd = sk, .events = POLLIN };
		ssize_t n;

		if (sent < XFER)
			p.events |= POLLOUT;
		ASSERT_LT(0, poll(&p, 1, 60000)) TH_LOG("stalled at %zu/%zu", sent, got);
		if (p.revents & POLLOUT) {
			n = send(sk, out + sent, XFER - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
			ASSERT_TRUE(n > 0 || errno == EAGAIN) TH_LOG("send: %s", strerror(errno));
			if (n > 0)
				sent += n;
		}
		if (p.revents & (POLLIN | POLLERR | POLLHUP)) {
			n = recv(sk, in + got, XFER - got, MSG_DONTWAIT);
			ASSERT_TRUE(n > 0 || errno == EAGAIN) TH_LOG("recv: %zd %s", n, strerror(errno));
			if (n > 0)
				got += n;
		}
	}
	EXPECT_EQ(fnv1a(out, XFER), fnv1a(in, XFER));
	close(sk);

	ASSERT_EQ(0, qt_modem_line("ttyS1", self->line, sizeof(self->line)));
	EXPECT_EQ(0, qt_field(self->line, "parse_errors")) TH_LOG("%s", self->line);
	EXPECT_EQ(0, qt_field(self->line, "timeouts")) TH_LOG("%s", self->line);
}

TEST_HARNESS_MAIN
