// SPDX-License-Identifier: GPL-2.0
/*
 * The joining rule (userspace/lib/join.c): how many of the other
 * replicas a replacement store must hear, and the floor it takes.
 */
#include <errno.h>
#include <linux/qrep.h>

#include "kselftest_harness.h"
#include "join.h"

#define Q	QREP_MODE_QUORUM
#define M	QREP_MODE_MIRROR

TEST(answers_needed)
{
	static const struct {
		uint32_t mode;
		unsigned int n, w, want;
	} rows[] = {
		/* 0 */ { Q, 3, 2, 2 },	/* N - W + 1: every other one */
		/* 1 */ { Q, 5, 3, 3 },
		/* 2 */ { Q, 5, 4, 2 },
		/* 3 */ { Q, 3, 3, 1 },	/* write-all: any one holds it */
		/* 4 */ { Q, 4, 3, 2 },
		/* 5 */ { M, 3, 0, 2 },	/* mirror: all the others */
		/* 6 */ { M, 2, 0, 1 },
		/* 7 */ { M, 1, 0, 0 },
		/* 8 */ { Q, 0, 0, 0 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rows); i++)
		EXPECT_EQ(rows[i].want,
			  qrep_join_answers_needed(rows[i].mode, rows[i].n,
						   rows[i].w)) TH_LOG("row %u", i);
}

/*
 * Every answer set that meets the count yields the highest epoch among
 * the answers that count; joining replicas and silent ones never count.
 */
TEST(floor_from_answers)
{
	static const struct {
		struct qrep_join_answer a[4];
		unsigned int n, needed;
		uint64_t own;
		int ret;
		uint64_t floor;
		unsigned int counted;
	} rows[] = {
		/* 0: both answer, the higher wins */
		{ { { true, false, 5 }, { true, false, 3 } }, 2, 2, 0, 0, 5, 2 },
		/* 1: one silent: too few */
		{ { { true, false, 5 }, { false, false, 0 } }, 2, 2, 0,
		  -EAGAIN, 0, 1 },
		/* 2: a joining one does not count, even with an epoch */
		{ { { true, true, 9 }, { true, false, 3 } }, 2, 2, 0,
		  -EAGAIN, 0, 1 },
		/* 3: N - W + 1 = 3 of 4 others: one silent is fine */
		{ { { true, false, 4 }, { false, false, 0 },
		    { true, false, 7 }, { true, false, 6 } }, 4, 3, 0, 0, 7, 3 },
		/* 4: the store's own epoch is a floor too */
		{ { { true, false, 2 } }, 1, 1, 4, 0, 4, 1 },
		/* 5: nothing needed: its own epoch */
		{ { { false, false, 0 } }, 1, 0, 0, 0, 0, 0 },
		/* 6: a joining one is not an answer, whatever it says */
		{ { { false, true, 0 }, { true, false, 8 }, { true, false, 8 } },
		  3, 3, 0, -EAGAIN, 0, 2 },
	};
	unsigned int i, counted;
	uint64_t floor;
	int ret;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		floor = 0xdead;
		counted = 99;
		ret = qrep_join_floor(rows[i].a, rows[i].n, rows[i].needed,
				      rows[i].own, &floor, &counted);
		EXPECT_EQ(rows[i].ret, ret) TH_LOG("row %u", i);
		EXPECT_EQ(rows[i].counted, counted) TH_LOG("row %u", i);
		EXPECT_EQ(ret ? 0xdeadULL : rows[i].floor, floor)
			TH_LOG("row %u", i);
	}
}

TEST_HARNESS_MAIN
