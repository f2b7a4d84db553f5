// SPDX-License-Identifier: GPL-2.0
/*
 * The module's life: parameters, socket creation while loaded, unload
 * refused while a socket holds it, EAFNOSUPPORT once unloaded, reload.
 */
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "qt_test.h"

static int read_param(const char *name)
{
	char path[128], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/quectel/parameters/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return atoi(buf);
}

FIXTURE(loaded) {};

FIXTURE_SETUP(loaded)
{
	if (!qt_module_loaded())
		ASSERT_EQ(0, qt_module_load());
}

FIXTURE_TEARDOWN(loaded)
{
	/* Leave the module loaded for whoever runs next. */
	if (!qt_module_loaded())
		qt_module_load();
}

TEST_F(loaded, parameters_readable)
{
	EXPECT_EQ(N_QUECTEL, read_param("ldisc"));
	EXPECT_EQ(AF_QUECTEL, read_param("family"));
}

TEST_F(loaded, socket_types)
{
	int fd;

	fd = socket(AF_QUECTEL, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);
	close(fd);

	fd = socket(AF_QUECTEL, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ASSERT_LE(0, fd);
	close(fd);

	EXPECT_EQ(-1, socket(AF_QUECTEL, SOCK_RAW, 0));
	EXPECT_EQ(ESOCKTNOSUPPORT, errno);
	EXPECT_EQ(-1, socket(AF_QUECTEL, SOCK_SEQPACKET, 0));
	EXPECT_EQ(ESOCKTNOSUPPORT, errno);
	EXPECT_EQ(-1, socket(AF_QUECTEL, SOCK_STREAM, 6));
	EXPECT_EQ(EPROTONOSUPPORT, errno);
}

TEST_F(loaded, unload_refused_while_socket_open)
{
	int fd = socket(AF_QUECTEL, SOCK_STREAM, 0);

	ASSERT_LE(0, fd);
	EXPECT_NE(0, qt_module_unload());
	EXPECT_TRUE(qt_module_loaded());
	close(fd);
}

TEST_F(loaded, unload_then_eafnosupport_then_reload)
{
	int fd, i;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, qt_module_unload());
		ASSERT_FALSE(qt_module_loaded());

		EXPECT_EQ(-1, socket(AF_QUECTEL, SOCK_STREAM, 0));
		EXPECT_EQ(EAFNOSUPPORT, errno);
		EXPECT_EQ(-1, socket(AF_QUECTEL, SOCK_DGRAM, 0));
		EXPECT_EQ(EAFNOSUPPORT, errno);

		ASSERT_EQ(0, qt_module_load());
		fd = socket(AF_QUECTEL, SOCK_STREAM, 0);
		ASSERT_LE(0, fd);
		close(fd);
	}
}

TEST_HARNESS_MAIN
