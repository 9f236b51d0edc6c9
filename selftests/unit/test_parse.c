// SPDX-License-Identifier: GPL-2.0
/*
 * Command-line parsers: sizes, plain numbers, "host:port" and UUIDs.
 * Each table holds accepted and rejected inputs, numbered.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "kselftest_harness.h"

#include "net.h"
#include "parse.h"
#include "uuid.h"

/* GCC 12 cannot see that table strings are never NULL. */
#define S(x)	((x) ? (x) : "(null)")

TEST(size_table)
{
	static const struct {
		const char *s;
		int err;
		uint64_t want;
	} rows[] = {
		/*  0 */ { "4096", 0, 4096 },
		/*  1 */ { "1K", 0, 1024 },
		/*  2 */ { "512M", 0, 512ULL << 20 },
		/*  3 */ { "1G", 0, 1ULL << 30 },
		/*  4 */ { "64g", 0, 64ULL << 30 },
		/*  5 */ { "2T", 0, 2ULL << 40 },
		/*  6 */ { "1P", 0, 1ULL << 50 },
		/*  7 */ { "1GiB", 0, 1ULL << 30 },
		/*  8 */ { "18446744073709551615", 0, UINT64_MAX },
		/*  9 */ { "0", -EINVAL, 0 },
		/* 10 */ { "0G", -EINVAL, 0 },
		/* 11 */ { "", -EINVAL, 0 },
		/* 12 */ { "G", -EINVAL, 0 },
		/* 13 */ { "-1", -EINVAL, 0 },
		/* 14 */ { "+1", -EINVAL, 0 },
		/* 15 */ { " 1", -EINVAL, 0 },
		/* 16 */ { "1 ", -EINVAL, 0 },
		/* 17 */ { "1X", -EINVAL, 0 },
		/* 18 */ { "1GG", -EINVAL, 0 },
		/* 19 */ { "1Gb", -EINVAL, 0 },
		/* 20 */ { "1.5G", -EINVAL, 0 },
		/* 21 */ { "0x10", -EINVAL, 0 },
		/* 22 */ { "18446744073709551616", -ERANGE, 0 },
		/* 23 */ { "16384P", -ERANGE, 0 },
		/* 24 */ { "17179869184G", -ERANGE, 0 },
		/* 25 */ { "1B", -EINVAL, 0 },
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		v = 0xdead;
		EXPECT_EQ(rows[i].err, qrep_parse_size(rows[i].s, &v))
			TH_LOG("row %zu '%s'", i, S(rows[i].s));
		EXPECT_EQ(rows[i].err ? 0xdead : rows[i].want, v)
			TH_LOG("row %zu '%s'", i, S(rows[i].s));
	}
	EXPECT_EQ(-EINVAL, qrep_parse_size(NULL, &v));
}

TEST(uint_table)
{
	static const struct {
		const char *s;
		uint64_t min, max;
		int err;
	} rows[] = {
		/* 0 */ { "1", 1, 256, 0 },
		/* 1 */ { "256", 1, 256, 0 },
		/* 2 */ { "0", 1, 256, -ERANGE },
		/* 3 */ { "257", 1, 256, -ERANGE },
		/* 4 */ { "8k", 1, 256, -EINVAL },
		/* 5 */ { "", 1, 256, -EINVAL },
		/* 6 */ { "99999999999999999999", 0, UINT64_MAX, -ERANGE },
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		EXPECT_EQ(rows[i].err, qrep_parse_uint(rows[i].s, rows[i].min,
						       rows[i].max, &v))
			TH_LOG("row %zu '%s'", i, S(rows[i].s));
}

TEST(hostport_table)
{
	static const struct {
		const char *s;
		bool allow_zero;
		int err;
		const char *host, *port;
	} rows[] = {
		/*  0 */ { "127.0.0.1:7789", false, 0, "127.0.0.1", "7789" },
		/*  1 */ { "[::1]:7789", false, 0, "::1", "7789" },
		/*  2 */ { "[2001:db8::1]:1", false, 0, "2001:db8::1", "1" },
		/*  3 */ { "node-a.example:65535", false, 0, "node-a.example",
			   "65535" },
		/*  4 */ { ":7789", false, 0, "", "7789" },
		/*  5 */ { "0.0.0.0:0", true, 0, "0.0.0.0", "0" },
		/*  6 */ { "0.0.0.0:0", false, -EINVAL, NULL, NULL },
		/*  7 */ { "127.0.0.1", false, -EINVAL, NULL, NULL },
		/*  8 */ { "127.0.0.1:", false, -EINVAL, NULL, NULL },
		/*  9 */ { "127.0.0.1:65536", false, -EINVAL, NULL, NULL },
		/* 10 */ { "127.0.0.1:-1", false, -EINVAL, NULL, NULL },
		/* 11 */ { "127.0.0.1:77x", false, -EINVAL, NULL, NULL },
		/* 12 */ { "::1:7789", false, -EINVAL, NULL, NULL },
		/* 13 */ { "[::1:7789", false, -EINVAL, NULL, NULL },
		/* 14 */ { "[::1]7789", false, -EINVAL, NULL, NULL },
		/* 15 */ { "[]:7789", false, -EINVAL, NULL, NULL },
		/* 16 */ { "", false, -EINVAL, NULL, NULL },
		/* 17 */ { "a b:1", false, -EINVAL, NULL, NULL },
		/* 18 */ { "[::1]:", false, -EINVAL, NULL, NULL },
		/* 19 */ { "x]:1", false, -EINVAL, NULL, NULL },
	};
	char host[QREP_HOST_MAX], port[QREP_PORT_MAX];
	size_t i;
	int err;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		err = qrep_parse_hostport(rows[i].s, host, sizeof(host), port,
					  sizeof(port), rows[i].allow_zero);
		EXPECT_EQ(rows[i].err, err) TH_LOG("row %zu '%s'", i,
						   S(rows[i].s));
		if (err || rows[i].err)
			continue;
		EXPECT_STREQ(rows[i].host, host) TH_LOG("row %zu", i);
		EXPECT_STREQ(rows[i].port, port) TH_LOG("row %zu", i);
	}
}

TEST(hostport_too_long_for_buffer)
{
	char host[4], port[QREP_PORT_MAX];

	EXPECT_EQ(-ENAMETOOLONG, qrep_parse_hostport("abcdef:1", host,
						     sizeof(host), port,
						     sizeof(port), false));
}

TEST(uuid_table)
{
	static const struct {
		const char *s;
		int err;
	} rows[] = {
		/*  0 */ { "0f8e2c1a-5b3d-4e6f-9a7b-8c9d0e1f2a3b", 0 },
		/*  1 */ { "0F8E2C1A-5B3D-4E6F-9A7B-8C9D0E1F2A3B", 0 },
		/*  2 */ { "00000000-0000-0000-0000-000000000000", 0 },
		/*  3 */ { "0f8e2c1a5b3d4e6f9a7b8c9d0e1f2a3b", -EINVAL },
		/*  4 */ { "0f8e2c1a-5b3d-4e6f-9a7b-8c9d0e1f2a3", -EINVAL },
		/*  5 */ { "0f8e2c1a-5b3d-4e6f-9a7b-8c9d0e1f2a3bb", -EINVAL },
		/*  6 */ { "0f8e2c1a-5b3d-4e6f-9a7b+8c9d0e1f2a3b", -EINVAL },
		/*  7 */ { "0f8e2c1g-5b3d-4e6f-9a7b-8c9d0e1f2a3b", -EINVAL },
		/*  8 */ { "0f8e2c1-a5b3d-4e6f-9a7b-8c9d0e1f2a3b", -EINVAL },
		/*  9 */ { "{0f8e2c1a-5b3d-4e6f-9a7b-8c9d0e1f2a3}", -EINVAL },
		/* 10 */ { "", -EINVAL },
		/* 11 */ { " 0f8e2c1a-5b3d-4e6f-9a7b-8c9d0e1f2a3", -EINVAL },
	};
	uint8_t u[QREP_UUID_SIZE];
	char back[QREP_UUID_STR_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		EXPECT_EQ(rows[i].err, qrep_uuid_parse(rows[i].s, u))
			TH_LOG("row %zu '%s'", i, S(rows[i].s));
	ASSERT_EQ(0, qrep_uuid_parse(rows[1].s, u));
	EXPECT_EQ(0x0f, u[0]);
	EXPECT_EQ(0x3b, u[15]);
	qrep_uuid_format(u, back);
	EXPECT_STREQ(rows[0].s, back);
	EXPECT_EQ(-EINVAL, qrep_uuid_parse(NULL, u));
}

TEST(uuid_generate_is_v4_and_random)
{
	uint8_t a[QREP_UUID_SIZE], b[QREP_UUID_SIZE];
	char s[QREP_UUID_STR_LEN + 1];

	ASSERT_EQ(0, qrep_uuid_generate(a));
	ASSERT_EQ(0, qrep_uuid_generate(b));
	EXPECT_NE(0, memcmp(a, b, sizeof(a)));
	EXPECT_EQ(0x40, a[6] & 0xf0);
	EXPECT_EQ(0x80, a[8] & 0xc0);
	EXPECT_FALSE(qrep_uuid_is_null(a));
	qrep_uuid_format(a, s);
	EXPECT_EQ(0, qrep_uuid_parse(s, b));
	EXPECT_EQ(0, memcmp(a, b, sizeof(a)));
}

TEST_HARNESS_MAIN
