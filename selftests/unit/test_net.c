// SPDX-License-Identifier: GPL-2.0
/*
 * Socket helpers: exact reads (clean end, truncation), exact vectored
 * writes larger than a socket buffer, listen/connect on IPv4 and IPv6,
 * "port in use", refused and unparsable addresses. Loopback only.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "net.h"

#define TIMEOUT_MS	5000

TEST(read_full_clean_end_and_truncation)
{
	char buf[16];
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, qrep_write_full(sv[0], "abcdefgh", 8));
	EXPECT_EQ(8, qrep_read_full(sv[1], buf, 8));
	EXPECT_EQ(0, memcmp(buf, "abcdefgh", 8));
	/* three bytes, then the writer goes: a truncated message */
	ASSERT_EQ(0, qrep_write_full(sv[0], "xyz", 3));
	close(sv[0]);
	EXPECT_EQ(-EPIPE, qrep_read_full(sv[1], buf, 8));
	/* nothing left at all: a clean end */
	EXPECT_EQ(0, qrep_read_full(sv[1], buf, 8));
	close(sv[1]);
}

TEST(read_full_timeout)
{
	char buf[4];
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, qrep_sock_set_timeouts(sv[1], 0, 50));
	EXPECT_EQ(-EAGAIN, qrep_read_full(sv[1], buf, sizeof(buf)));
	close(sv[0]);
	close(sv[1]);
}

TEST(write_to_closed_peer_is_an_error_not_a_signal)
{
	char big[1 << 16] = { 0 };
	int sv[2], err = 0, i;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	close(sv[1]);
	for (i = 0; i < 4 && !err; i++)
		err = qrep_write_full(sv[0], big, sizeof(big));
	EXPECT_EQ(-EPIPE, err);
	close(sv[0]);
}

struct sink {
	int fd;
	size_t want;
	uint8_t *got;
};

static void *sink_thread(void *arg)
{
	struct sink *s = arg;

	if (qrep_read_full(s->fd, s->got, s->want) != (ssize_t)s->want)
		s->want = 0;
	return NULL;
}

/* Several megabytes through several iovecs: partial sends resume right. */
TEST(writev_full_large)
{
	const size_t sizes[] = { 1, 4095, 1 << 20, 3 << 20, 7 };
	struct iovec iov[5];
	uint8_t *src, *p;
	struct sink s;
	pthread_t th;
	size_t total = 0, i;
	int sv[2];

	for (i = 0; i < 5; i++)
		total += sizes[i];
	src = malloc(total);
	s.got = malloc(total);
	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, s.got);
	for (i = 0; i < total; i++)
		src[i] = (uint8_t)(i * 131 + (i >> 11));
	for (i = 0, p = src; i < 5; p += sizes[i], i++) {
		iov[i].iov_base = p;
		iov[i].iov_len = sizes[i];
	}
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	s.fd = sv[1];
	s.want = total;
	ASSERT_EQ(0, pthread_create(&th, NULL, sink_thread, &s));
	EXPECT_EQ(0, qrep_writev_full(sv[0], iov, 5));
	pthread_join(th, NULL);
	EXPECT_EQ(total, s.want);
	EXPECT_EQ(0, memcmp(src, s.got, total));
	close(sv[0]);
	close(sv[1]);
	free(src);
	free(s.got);
}

static void listen_connect(struct __test_metadata *_metadata,
			   const char *listen_addr, const char *connect_host)
{
	char name[QREP_ADDR_STR_MAX], target[QREP_ADDR_STR_MAX];
	const char *port;
	int lfd, cfd, afd;

	lfd = qrep_listen(listen_addr, 4);
	if (lfd == -EADDRNOTAVAIL || lfd == -EAFNOSUPPORT)
		SKIP(return, "%s not available here", listen_addr);
	ASSERT_LE(0, lfd) TH_LOG("%s: %s", listen_addr, strerror(-lfd));
	qrep_sock_name(lfd, false, name, sizeof(name));
	port = strrchr(name, ':');
	ASSERT_NE(NULL, port);
	snprintf(target, sizeof(target), "%s:%s", connect_host, port + 1);

	cfd = qrep_connect(target, TIMEOUT_MS);
	ASSERT_LE(0, cfd) TH_LOG("%s: %s", target, strerror(-cfd));
	afd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	EXPECT_EQ(0, qrep_sock_set_nodelay(cfd));
	EXPECT_EQ(0, qrep_sock_set_keepalive(cfd, 30, 10, 3));
	EXPECT_EQ(0, qrep_write_full(cfd, "ping", 4));
	{
		char buf[4];

		EXPECT_EQ(4, qrep_read_full(afd, buf, 4));
		EXPECT_EQ(0, memcmp(buf, "ping", 4));
	}

	/* The same address again: in use. */
	EXPECT_EQ(-EADDRINUSE, qrep_listen(name, 4)) TH_LOG("%s", name);
	close(afd);
	close(cfd);
	close(lfd);

	/* Nobody listening any more: refused. */
	EXPECT_EQ(-ECONNREFUSED, qrep_connect(target, TIMEOUT_MS));
}

TEST(ipv4_listen_connect_in_use_refused)
{
	listen_connect(_metadata, "127.0.0.1:0", "127.0.0.1");
}

TEST(ipv6_listen_connect_in_use_refused)
{
	listen_connect(_metadata, "[::1]:0", "[::1]");
}

TEST(bad_addresses)
{
	EXPECT_EQ(-EINVAL, qrep_listen("127.0.0.1", 4));
	EXPECT_EQ(-EINVAL, qrep_listen("127.0.0.1:99999", 4));
	EXPECT_EQ(-EINVAL, qrep_connect("127.0.0.1:0", TIMEOUT_MS));
	EXPECT_EQ(-EINVAL, qrep_connect("::1:80", TIMEOUT_MS));
	EXPECT_GT(0, qrep_listen("192.0.2.77:1", 4));	/* not ours */
}

TEST_HARNESS_MAIN
