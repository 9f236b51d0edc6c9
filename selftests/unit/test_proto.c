// SPDX-License-Identifier: GPL-2.0
/*
 * Wire protocol: encode/decode round trips, exact byte layout, and every
 * validation rejection, table-driven with numbered rows.
 */
#include <stdint.h>
#include <string.h>

#include "kselftest_harness.h"

#include "proto.h"

#define DEV_BLOCKS	1024ULL

TEST(req_layout_is_big_endian)
{
	static const uint8_t want[QREP_REQ_SIZE] = {
		'Q', 'R', 'E', 'Q',		/* magic */
		0x00, 0x02,			/* op WRITE */
		0x00, 0x01,			/* FUA */
		1, 2, 3, 4, 5, 6, 7, 8,		/* handle */
		0, 0, 0, 0, 0, 0, 0, 9,		/* epoch */
		0, 0, 0, 0, 0, 0, 1, 0,		/* block 256 */
		0, 0, 0, 4,			/* nblocks */
		0, 0, 0, 0,			/* reserved */
		0x80, 0, 0, 0, 0, 0, 0, 1,	/* version */
	};
	struct qrep_req_msg m = {
		.magic = QREP_REQ_MAGIC, .op = QREP_OP_WRITE,
		.flags = QREP_REQ_FUA, .handle = 0x0102030405060708ULL,
		.epoch = 9, .block = 256, .nblocks = 4,
		.version = 0x8000000000000001ULL,
	};
	uint8_t buf[QREP_REQ_SIZE];

	qrep_req_encode(&m, buf);
	ASSERT_EQ(0, memcmp(buf, want, sizeof(want)));
}

TEST(hello_round_trip)
{
	static const struct qrep_hello_msg rows[] = {
		/* 0 */ { QREP_HELLO_MAGIC, 1, { 1, 2, 3 }, 4096, 4096, 0, 0 },
		/* 1 */ { UINT32_MAX, UINT32_MAX,
			  { [0 ... 15] = 0xff }, UINT64_MAX, UINT32_MAX,
			  UINT32_MAX, UINT64_MAX },
		/* 2 */ { 0 },
	};
	struct qrep_hello_msg back;
	uint8_t buf[QREP_HELLO_SIZE];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&back, 0xa5, sizeof(back));
		qrep_hello_encode(&rows[i], buf);
		qrep_hello_decode(buf, &back);
		EXPECT_EQ(0, memcmp(&rows[i], &back, sizeof(back)))
			TH_LOG("row %zu", i);
	}
}

TEST(hello_reply_round_trip)
{
	static const struct qrep_hello_reply_msg rows[] = {
		/* 0 */ { QREP_HELLO_MAGIC, 1, QREP_ERR_UUID, 4096,
			  { 9, 8, 7 }, 1 << 30, 77, 5 },
		/* 1 */ { UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX,
			  { [0 ... 15] = 0xff }, UINT64_MAX, UINT64_MAX,
			  UINT64_MAX },
	};
	struct qrep_hello_reply_msg back;
	uint8_t buf[QREP_HELLO_REPLY_SIZE];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&back, 0xa5, sizeof(back));
		qrep_hello_reply_encode(&rows[i], buf);
		qrep_hello_reply_decode(buf, &back);
		EXPECT_EQ(0, memcmp(&rows[i], &back, sizeof(back)))
			TH_LOG("row %zu", i);
	}
}

TEST(req_and_reply_round_trip)
{
	static const struct qrep_req_msg reqs[] = {
		/* 0 */ { QREP_REQ_MAGIC, QREP_OP_READ, 0, 1, 2, 3, 4, 0, 0 },
		/* 1 */ { UINT32_MAX, UINT16_MAX, UINT16_MAX, UINT64_MAX,
			  UINT64_MAX, UINT64_MAX, UINT32_MAX, UINT32_MAX,
			  UINT64_MAX },
	};
	static const struct qrep_reply_msg reps[] = {
		/* 0 */ { QREP_REPLY_MAGIC, QREP_OK, 42, 256,
			  QREP_REPLY_OLDER_IGNORED, 3 },
		/* 1 */ { UINT32_MAX, UINT32_MAX, UINT64_MAX, UINT32_MAX,
			  UINT32_MAX, UINT64_MAX },
	};
	struct qrep_req_msg rq;
	struct qrep_reply_msg rp;
	uint8_t buf[QREP_REQ_SIZE];
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		memset(&rq, 0xa5, sizeof(rq));
		qrep_req_encode(&reqs[i], buf);
		qrep_req_decode(buf, &rq);
		EXPECT_EQ(0, memcmp(&reqs[i], &rq, sizeof(rq)))
			TH_LOG("req row %zu", i);
	}
	for (i = 0; i < sizeof(reps) / sizeof(reps[0]); i++) {
		memset(&rp, 0xa5, sizeof(rp));
		qrep_reply_encode(&reps[i], buf);
		qrep_reply_decode(buf, &rp);
		EXPECT_EQ(0, memcmp(&reps[i], &rp, sizeof(rp)))
			TH_LOG("reply row %zu", i);
	}
}

/* Every rule of qrep_req_check, one row each, against DEV_BLOCKS. */
TEST(req_check_table)
{
	static const struct {
		struct qrep_req_msg m;
		enum qrep_status want;
	} rows[] = {
#define R(op_, fl_, blk_, n_) { QREP_REQ_MAGIC, op_, fl_, 7, 1, blk_, n_, 0, 1 }
		/*  0 */ { R(QREP_OP_READ, 0, 0, 1), QREP_OK },
		/*  1 */ { R(QREP_OP_WRITE, QREP_REQ_FUA, 0, 256), QREP_OK },
		/*  2 */ { R(QREP_OP_FLUSH, 0, 0, 0), QREP_OK },
		/*  3 */ { R(QREP_OP_READ, 0, DEV_BLOCKS - 1, 1), QREP_OK },
		/*  4 */ { R(QREP_OP_WRITE, 0, DEV_BLOCKS - 256, 256),
			   QREP_OK },
		/*  5 */ { { 0x51524552U, QREP_OP_READ, 0, 7, 1, 0, 1, 0, 0 },
			   QREP_ERR_INVAL },			/* magic */
		/*  6 */ { R(0, 0, 0, 1), QREP_ERR_INVAL },	/* op 0 */
		/*  7 */ { R(__QREP_OP_MAX, 0, 0, 1), QREP_ERR_INVAL },
		/*  8 */ { R(0xffff, 0, 0, 1), QREP_ERR_INVAL },
		/*  9 */ { R(QREP_OP_WRITE, 0x0002, 0, 1), QREP_ERR_INVAL },
		/* 10 */ { R(QREP_OP_READ, 0x8000, 0, 1), QREP_ERR_INVAL },
		/* 11 */ { { QREP_REQ_MAGIC, QREP_OP_READ, 0, 7, 1, 0, 1, 1,
			     0 },
			   QREP_ERR_INVAL },			/* reserved */
		/* 12 */ { R(QREP_OP_READ, 0, 0, 0), QREP_ERR_INVAL },
		/* 13 */ { R(QREP_OP_WRITE, 0, 0, 0), QREP_ERR_INVAL },
		/* 14 */ { R(QREP_OP_READ, 0, 0, 257), QREP_ERR_INVAL },
		/* 15 */ { R(QREP_OP_WRITE, 0, 0, UINT32_MAX), QREP_ERR_INVAL },
		/* 16 */ { R(QREP_OP_FLUSH, 0, 0, 1), QREP_ERR_INVAL },
		/* 17 */ { R(QREP_OP_READ, 0, DEV_BLOCKS, 1), QREP_ERR_RANGE },
		/* 18 */ { R(QREP_OP_READ, 0, DEV_BLOCKS - 1, 2),
			   QREP_ERR_RANGE },
		/* 19 */ { R(QREP_OP_WRITE, 0, UINT64_MAX, 1), QREP_ERR_RANGE },
		/* 20 */ { R(QREP_OP_WRITE, 0, UINT64_MAX - 100, 256),
			   QREP_ERR_RANGE },			/* wraps */
		/* 21 */ { R(QREP_OP_FLUSH, QREP_REQ_FUA, 0, 0), QREP_OK },
#undef R
	};
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		why = NULL;
		EXPECT_EQ(rows[i].want,
			  qrep_req_check(&rows[i].m, DEV_BLOCKS, &why))
			TH_LOG("row %zu: %s", i, why ? why : "(null)");
		EXPECT_NE(NULL, why);
	}
}

TEST(hello_check_table)
{
	static const struct {
		struct qrep_hello_msg m;
		enum qrep_status want;
	} rows[] = {
		/* 0 */ { { QREP_HELLO_MAGIC, QREP_PROTO_VERSION, { 0 }, 4096,
			    QREP_BLOCK_SIZE, 0, 0 }, QREP_OK },
		/* 1 */ { { QREP_REQ_MAGIC, QREP_PROTO_VERSION, { 0 }, 4096,
			    QREP_BLOCK_SIZE, 0, 0 }, QREP_ERR_PROTO },
		/* 2 */ { { QREP_HELLO_MAGIC, 2, { 0 }, 4096,
			    QREP_BLOCK_SIZE, 0, 0 }, QREP_ERR_PROTO },
		/* 3 */ { { QREP_HELLO_MAGIC, 0, { 0 }, 4096,
			    QREP_BLOCK_SIZE, 0, 0 }, QREP_ERR_PROTO },
		/* 4 */ { { QREP_HELLO_MAGIC, QREP_PROTO_VERSION, { 0 }, 4096,
			    512, 0, 0 }, QREP_ERR_SIZE },
		/* 5 */ { { QREP_HELLO_MAGIC, QREP_PROTO_VERSION, { 0 }, 4096,
			    QREP_BLOCK_SIZE, 2, 0 }, QREP_ERR_INVAL },
		/* 6 */ { { QREP_HELLO_MAGIC, QREP_PROTO_VERSION, { 0 }, 4096,
			    QREP_BLOCK_SIZE, QREP_HELLO_F_AUTH, 0 }, QREP_OK },
	};
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		EXPECT_EQ(rows[i].want, qrep_hello_check(&rows[i].m, &why))
			TH_LOG("row %zu: %s", i, why);
}

TEST(reply_check_table)
{
	static const struct {
		struct qrep_reply_msg m;
		enum qrep_status want;
	} rows[] = {
		/* 0 */ { { QREP_REPLY_MAGIC, QREP_OK, 1, 256, 0, 0 },
			  QREP_OK },
		/* 1 */ { { QREP_REPLY_MAGIC, QREP_OK, 1, 0,
			    QREP_REPLY_OLDER_IGNORED, 0 }, QREP_OK },
		/* 2 */ { { QREP_REQ_MAGIC, QREP_OK, 1, 0, 0, 0 },
			  QREP_ERR_INVAL },
		/* 3 */ { { QREP_REPLY_MAGIC, __QREP_ERR_MAX, 1, 0, 0, 0 },
			  QREP_ERR_INVAL },
		/* 4 */ { { QREP_REPLY_MAGIC, QREP_OK, 1, 0, 2, 0 },
			  QREP_ERR_INVAL },
		/* 5 */ { { QREP_REPLY_MAGIC, QREP_OK, 1, 257, 0, 0 },
			  QREP_ERR_INVAL },
		/* 6 */ { { QREP_REPLY_MAGIC, QREP_ERR_IO, 1, 1, 0, 0 },
			  QREP_ERR_INVAL },
	};
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		EXPECT_EQ(rows[i].want, qrep_reply_check(&rows[i].m, &why))
			TH_LOG("row %zu: %s", i, why);
}

TEST(hello_reply_check_table)
{
	static const struct {
		struct qrep_hello_reply_msg m;
		enum qrep_status want;
	} rows[] = {
		/* 0 */ { { QREP_HELLO_MAGIC, QREP_PROTO_VERSION, QREP_OK,
			    QREP_BLOCK_SIZE, { 0 }, 4096, 0, 0 }, QREP_OK },
		/* 1 */ { { 0, QREP_PROTO_VERSION, QREP_OK, QREP_BLOCK_SIZE,
			    { 0 }, 4096, 0, 0 }, QREP_ERR_PROTO },
		/* 2 */ { { QREP_HELLO_MAGIC, 9, QREP_OK, QREP_BLOCK_SIZE,
			    { 0 }, 4096, 0, 0 }, QREP_ERR_PROTO },
		/* 3 */ { { QREP_HELLO_MAGIC, QREP_PROTO_VERSION, 99,
			    QREP_BLOCK_SIZE, { 0 }, 4096, 0, 0 },
			  QREP_ERR_INVAL },
		/* 4 */ { { QREP_HELLO_MAGIC, QREP_PROTO_VERSION, QREP_OK,
			    8192, { 0 }, 4096, 0, 0 }, QREP_ERR_SIZE },
	};
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		EXPECT_EQ(rows[i].want,
			  qrep_hello_reply_check(&rows[i].m, &why))
			TH_LOG("row %zu: %s", i, why);
}

TEST(payload_and_strings)
{
	struct qrep_req_msg m = { .op = QREP_OP_WRITE, .nblocks = 3 };
	uint32_t st;

	EXPECT_EQ(3ULL * QREP_BLOCK_SIZE, qrep_req_payload_bytes(&m));
	m.op = QREP_OP_READ;
	EXPECT_EQ(0ULL, qrep_req_payload_bytes(&m));
	for (st = 0; st < __QREP_ERR_MAX; st++)
		EXPECT_STRNE("unknown status", qrep_status_str(st));
	EXPECT_STREQ("unknown status", qrep_status_str(__QREP_ERR_MAX));
	EXPECT_STREQ("WRITE", qrep_op_str(QREP_OP_WRITE));
	EXPECT_STREQ("unknown", qrep_op_str(0));
}

TEST_HARNESS_MAIN
