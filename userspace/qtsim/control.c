// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket: a unix stream socket; each client sends one text
 * command per line and gets one reply line ("ok" / "error <why>"). The
 * commands themselves are in faults.c; this file is only plumbing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "faults.h"
#include "sim.h"
#include "util.h"

#define MAX_CLIENTS 4

struct client {
	struct watch w;
	int fd;
	char line[512];
	size_t len;
};

static struct watch lw;
static int lfd = -1;
static char *spath;
static struct client clients[MAX_CLIENTS];

static void client_close(struct client *c)
{
	watch_del(&c->w);
	close(c->fd);
	c->fd = -1;
}

static void on_client(struct watch *w, short rev)
{
	struct client *c = w->arg;
	char tmp[256];
	ssize_t n;

	(void)rev;
	n = read(c->fd, tmp, sizeof(tmp));
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		client_close(c);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (tmp[i] == '\n') {
			char reply[128];

			c->line[c->len] = 0;
			faults_command(c->line, reply, sizeof(reply));
			c->len = 0;
			/* Replies are tiny: the socket buffer always has room. */
			if (write(c->fd, reply, strlen(reply)) < 0) {
				client_close(c);
				return;
			}
		} else if (c->len < sizeof(c->line) - 1) {
			c->line[c->len++] = tmp[i];
		}
	}
}

static void on_listen(struct watch *w, short rev)
{
	int fd;

	(void)w;
	(void)rev;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i].fd < 0) {
			clients[i].fd = fd;
			clients[i].len = 0;
			watch_add(&clients[i].w, fd, on_client, &clients[i]);
			clients[i].w.events = POLLIN;
			return;
		}
	}
	close(fd);	/* too many controllers */
}

int control_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -1;
	unlink(path);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0) {
		close(lfd);
		lfd = -1;
		return -1;
	}
	spath = strdup(path);
	watch_add(&lw, lfd, on_listen, NULL);
	lw.events = POLLIN;
	return 0;
}

void control_close(void)
{
	if (lfd < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			client_close(&clients[i]);
	watch_del(&lw);
	close(lfd);
	lfd = -1;
	unlink(spath);
	free(spath);
}
