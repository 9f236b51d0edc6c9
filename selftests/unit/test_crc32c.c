// SPDX-License-Identifier: GPL-2.0
/*
 * CRC32C: known vectors (RFC 3720 appendix B.4 and the usual check
 * value), chaining, and software == SSE4.2 on every length and alignment.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kselftest_harness.h"

#include "crc32c.h"

static uint32_t (*const impls[])(uint32_t, const void *, size_t) = {
	qrep_crc32c_sw, qrep_crc32c_hw, qrep_crc32c,
};

TEST(known_vectors)
{
	static uint8_t zeros[32], ones[32], inc[32], dec[32];
	static const struct {
		const void *buf;
		size_t len;
		uint32_t want;
	} rows[] = {
		/* 0 */ { "123456789", 9, 0xE3069283 },
		/* 1 */ { "", 0, 0x00000000 },
		/* 2 */ { "a", 1, 0xC1D04330 },
		/* 3 */ { zeros, 32, 0x8A9136AA },	/* RFC 3720 B.4 */
		/* 4 */ { ones, 32, 0x62A8AB43 },
		/* 5 */ { inc, 32, 0x46DD794E },
		/* 6 */ { dec, 32, 0x113FDB5C },
	};
	size_t i, k;

	memset(ones, 0xff, sizeof(ones));
	for (i = 0; i < 32; i++) {
		inc[i] = (uint8_t)i;
		dec[i] = (uint8_t)(31 - i);
	}
	TH_LOG("SSE4.2 crc32 available: %s",
	       qrep_crc32c_hw_available() ? "yes" : "no");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		for (k = 0; k < sizeof(impls) / sizeof(impls[0]); k++)
			EXPECT_EQ(rows[i].want,
				  impls[k](0, rows[i].buf, rows[i].len))
				TH_LOG("row %zu impl %zu", i, k);
}

TEST(chaining_equals_one_pass)
{
	const char *s = "123456789";
	size_t split, k;
	uint32_t c;

	for (k = 0; k < sizeof(impls) / sizeof(impls[0]); k++)
		for (split = 0; split <= 9; split++) {
			c = impls[k](0, s, split);
			c = impls[k](c, s + split, 9 - split);
			EXPECT_EQ(0xE3069283U, c) TH_LOG("split %zu", split);
		}
}

TEST(sw_equals_hw_all_lengths_and_alignments)
{
	uint8_t *buf = malloc(4096 + 16);
	size_t len, off;
	unsigned int seed = 12345;

	ASSERT_NE(NULL, buf);
	if (!qrep_crc32c_hw_available()) {
		free(buf);
		SKIP(return, "no SSE4.2 on this CPU");
	}
	for (len = 0; len < 4096 + 16; len++)
		buf[len] = (uint8_t)rand_r(&seed);
	for (off = 0; off < 8; off++)
		for (len = 0; len <= 300; len++)
			ASSERT_EQ(qrep_crc32c_sw(0, buf + off, len),
				  qrep_crc32c_hw(0, buf + off, len))
				TH_LOG("off %zu len %zu", off, len);
	ASSERT_EQ(qrep_crc32c_sw(0, buf, 4096), qrep_crc32c_hw(0, buf, 4096));
	ASSERT_EQ(qrep_crc32c_sw(7, buf + 3, 4096),
		  qrep_crc32c_hw(7, buf + 3, 4096));
	free(buf);
}

static double mib_per_s(uint32_t (*f)(uint32_t, const void *, size_t),
			const uint8_t *buf, size_t len, int rounds)
{
	struct timespec a, b;
	volatile uint32_t sink = 0;
	double secs;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < rounds; i++)
		sink = f(sink, buf, len);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	return secs > 0 ? (double)len * rounds / secs / (1 << 20) : 0;
}

/* Not a pass/fail check: shows what each path costs (under ASan). */
TEST(throughput_report)
{
	size_t len = 1 << 20;
	uint8_t *buf = calloc(1, len);

	ASSERT_NE(NULL, buf);
	TH_LOG("software: %.0f MiB/s", mib_per_s(qrep_crc32c_sw, buf, len, 32));
	if (qrep_crc32c_hw_available())
		TH_LOG("sse4.2:   %.0f MiB/s",
		       mib_per_s(qrep_crc32c_hw, buf, len, 32));
	free(buf);
}

TEST_HARNESS_MAIN
