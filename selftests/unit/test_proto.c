// SPDX-License-Identifier: GPL-2.0
/*
 * Wire protocol: encode/decode round trips, exact byte layout, and every
 * validation rejection, table-driven with numbered rows; the resync ops
 * (VERSIONS, SUMMARY, CHECKSUMS), the REPAIR flag, and reply payloads.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kselftest_harness.h"

#include "bytes.h"
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
		/*  9 */ { R(QREP_OP_WRITE, 0x0004, 0, 1), QREP_ERR_INVAL },
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
		/* 21: flags belong to a WRITE alone */
		/* 21 */ { R(QREP_OP_FLUSH, QREP_REQ_FUA, 0, 0),
			   QREP_ERR_INVAL },
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

/*
 * VERSIONS, SUMMARY, CHECKSUMS and the REPAIR flag. Each row names the
 * device size it is checked against: DEV_BLOCKS (4 whole regions) or
 * ODD_BLOCKS (3 whole regions and a fourth of 232 blocks).
 */
#define ODD_BLOCKS	1000ULL

TEST(req_check_new_ops_table)
{
	static const struct {
		struct qrep_req_msg m;
		uint64_t dev_blocks;
		enum qrep_status want;
	} rows[] = {
#define Q(op_, fl_, blk_, n_) { QREP_REQ_MAGIC, op_, fl_, 9, 2, blk_, n_, 0, 0 }
#define PR(ep_, blk_, n_, ver_, fl_) \
	{ QREP_REQ_MAGIC, QREP_OP_EPOCH_PROPOSE, fl_, 9, ep_, blk_, n_, 0, ver_ }
		/* VERSIONS and CHECKSUMS take block ranges, as READ does */
		/*  0 */ { Q(QREP_OP_VERSIONS, 0, 0, 256), DEV_BLOCKS,
			   QREP_OK },
		/*  1 */ { Q(QREP_OP_VERSIONS, 0, DEV_BLOCKS - 1, 1),
			   DEV_BLOCKS, QREP_OK },
		/*  2 */ { Q(QREP_OP_VERSIONS, 0, DEV_BLOCKS - 1, 2),
			   DEV_BLOCKS, QREP_ERR_RANGE },
		/*  3 */ { Q(QREP_OP_VERSIONS, 0, 0, 0), DEV_BLOCKS,
			   QREP_ERR_INVAL },
		/*  4 */ { Q(QREP_OP_VERSIONS, 0, 0, 257), DEV_BLOCKS,
			   QREP_ERR_INVAL },
		/*  5 */ { Q(QREP_OP_CHECKSUMS, 0, 768, 256), DEV_BLOCKS,
			   QREP_OK },
		/*  6 */ { Q(QREP_OP_CHECKSUMS, 0, 769, 256), DEV_BLOCKS,
			   QREP_ERR_RANGE },
		/*  7 */ { Q(QREP_OP_CHECKSUMS, 0, UINT64_MAX - 3, 8),
			   DEV_BLOCKS, QREP_ERR_RANGE },	/* wraps */
		/*  8 */ { Q(QREP_OP_CHECKSUMS, 0, 0, 0), DEV_BLOCKS,
			   QREP_ERR_INVAL },
		/* SUMMARY: block is a region's first, nblocks counts regions */
		/*  9 */ { Q(QREP_OP_SUMMARY, 0, 0, 1), DEV_BLOCKS, QREP_OK },
		/* 10 */ { Q(QREP_OP_SUMMARY, 0, 0, 4), DEV_BLOCKS, QREP_OK },
		/* 11 */ { Q(QREP_OP_SUMMARY, 0, 256, 3), DEV_BLOCKS, QREP_OK },
		/* 12 */ { Q(QREP_OP_SUMMARY, 0, 768, 1), DEV_BLOCKS, QREP_OK },
		/* 13 */ { Q(QREP_OP_SUMMARY, 0, 0, 5), DEV_BLOCKS,
			   QREP_ERR_RANGE },
		/* 14 */ { Q(QREP_OP_SUMMARY, 0, 256, 4), DEV_BLOCKS,
			   QREP_ERR_RANGE },
		/* 15 */ { Q(QREP_OP_SUMMARY, 0, DEV_BLOCKS, 1), DEV_BLOCKS,
			   QREP_ERR_RANGE },
		/* 16: aligned, huge */
		/* 16 */ { Q(QREP_OP_SUMMARY, 0, UINT64_MAX - 255, 1),
			   DEV_BLOCKS, QREP_ERR_RANGE },
		/* 17 */ { Q(QREP_OP_SUMMARY, 0, UINT64_MAX - 255, 256),
			   DEV_BLOCKS, QREP_ERR_RANGE },
		/* 18: not at a region's first block */
		/* 18 */ { Q(QREP_OP_SUMMARY, 0, 1, 1), DEV_BLOCKS,
			   QREP_ERR_INVAL },
		/* 19 */ { Q(QREP_OP_SUMMARY, 0, 255, 1), DEV_BLOCKS,
			   QREP_ERR_INVAL },
		/* 20: unaligned and beyond the end: malformed first */
		/* 20 */ { Q(QREP_OP_SUMMARY, 0, DEV_BLOCKS + 1, 1), DEV_BLOCKS,
			   QREP_ERR_INVAL },
		/* 21 */ { Q(QREP_OP_SUMMARY, 0, 0, 0), DEV_BLOCKS,
			   QREP_ERR_INVAL },
		/* 22 */ { Q(QREP_OP_SUMMARY, 0, 0, 257), DEV_BLOCKS,
			   QREP_ERR_INVAL },
		/* a shorter last region still counts, and starts inside */
		/* 23 */ { Q(QREP_OP_SUMMARY, 0, 768, 1), ODD_BLOCKS, QREP_OK },
		/* 24 */ { Q(QREP_OP_SUMMARY, 0, 0, 4), ODD_BLOCKS, QREP_OK },
		/* 25 */ { Q(QREP_OP_SUMMARY, 0, 0, 5), ODD_BLOCKS,
			   QREP_ERR_RANGE },
		/* 26 */ { Q(QREP_OP_SUMMARY, 0, 1024, 1), ODD_BLOCKS,
			   QREP_ERR_RANGE },
		/* 27 */ { Q(QREP_OP_SUMMARY, 0, 0, 1), 1, QREP_OK },
		/* 28 */ { Q(QREP_OP_SUMMARY, 0, 0, 2), 1, QREP_ERR_RANGE },
		/* 29 */ { Q(QREP_OP_SUMMARY, 0, 0, 1), 0, QREP_ERR_RANGE },
		/* 30 */ { Q(QREP_OP_SUMMARY, 0, 65536, 256), 65536 + 256 * 256,
			   QREP_OK },
		/* 31 */ { Q(QREP_OP_SUMMARY, 0, 65536, 256),
			   65536 + 255 * 256 + 1, QREP_OK },
		/* 32 */ { Q(QREP_OP_SUMMARY, 0, 65536, 256),
			   65536 + 255 * 256, QREP_ERR_RANGE },
		/* REPAIR: on a WRITE only, alone or with FUA */
		/* 33 */ { Q(QREP_OP_WRITE, QREP_REQ_REPAIR, 0, 1), DEV_BLOCKS,
			   QREP_OK },
		/* 34 */ { Q(QREP_OP_WRITE, QREP_REQ_REPAIR | QREP_REQ_FUA, 8,
			     256), DEV_BLOCKS, QREP_OK },
		/* 35 */ { Q(QREP_OP_WRITE, QREP_REQ_REPAIR, DEV_BLOCKS, 1),
			   DEV_BLOCKS, QREP_ERR_RANGE },
		/* 36 */ { Q(QREP_OP_WRITE, QREP_REQ_REPAIR | 0x0008, 0, 1),
			   DEV_BLOCKS, QREP_ERR_INVAL },
		/* any flag on another op: malformed, whatever the range */
		/* 37 */ { Q(QREP_OP_READ, QREP_REQ_REPAIR, 0, 1), DEV_BLOCKS,
			   QREP_ERR_INVAL },
		/* 38 */ { Q(QREP_OP_READ, QREP_REQ_FUA, 0, 1), DEV_BLOCKS,
			   QREP_ERR_INVAL },
		/* 39 */ { Q(QREP_OP_FLUSH, QREP_REQ_REPAIR, 0, 0), DEV_BLOCKS,
			   QREP_ERR_INVAL },
		/* 40 */ { Q(QREP_OP_VERSIONS, QREP_REQ_FUA, 0, 1), DEV_BLOCKS,
			   QREP_ERR_INVAL },
		/* 41 */ { Q(QREP_OP_VERSIONS, QREP_REQ_REPAIR, DEV_BLOCKS, 1),
			   DEV_BLOCKS, QREP_ERR_INVAL },
		/* 42 */ { Q(QREP_OP_SUMMARY, QREP_REQ_REPAIR, 0, 1),
			   DEV_BLOCKS, QREP_ERR_INVAL },
		/* 43 */ { Q(QREP_OP_SUMMARY, QREP_REQ_FUA, 0, 1), DEV_BLOCKS,
			   QREP_ERR_INVAL },
		/* 44 */ { Q(QREP_OP_CHECKSUMS, QREP_REQ_REPAIR, 0, 1),
			   DEV_BLOCKS, QREP_ERR_INVAL },
		/* 45 */ { Q(QREP_OP_CHECKSUMS, QREP_REQ_FUA | QREP_REQ_REPAIR,
			     0, 1), DEV_BLOCKS, QREP_ERR_INVAL },
		/* the first op past the new ones is still unknown */
		/* 46 */ { Q(QREP_OP_EPOCH_PROPOSE + 1, 0, 0, 1), DEV_BLOCKS,
			   QREP_ERR_INVAL },
		/* EPOCH_PROPOSE: an epoch, and nothing else */
		/* 47 */ { PR(9, 0, 0, 0, 0), DEV_BLOCKS, QREP_OK },
		/* 48 */ { PR(UINT64_MAX, 0, 0, 0, 0), 0, QREP_OK },
		/* 49 */ { PR(0, 0, 0, 0, 0), DEV_BLOCKS, QREP_ERR_INVAL },
		/* 50 */ { PR(9, 1, 0, 0, 0), DEV_BLOCKS, QREP_ERR_INVAL },
		/* 51 */ { PR(9, 0, 1, 0, 0), DEV_BLOCKS, QREP_ERR_INVAL },
		/* 52 */ { PR(9, 0, 0, 1, 0), DEV_BLOCKS, QREP_ERR_INVAL },
		/* 53 */ { PR(9, 0, 0, 0, QREP_REQ_FUA), DEV_BLOCKS,
			   QREP_ERR_INVAL },
		/* ROLLBACK: on a WRITE, with REPAIR only */
		/* 54 */ { Q(QREP_OP_WRITE, QREP_REQ_REPAIR | QREP_REQ_ROLLBACK,
			     0, 1), DEV_BLOCKS, QREP_OK },
		/* 55 */ { Q(QREP_OP_WRITE, QREP_REQ_ROLLBACK, 0, 1), DEV_BLOCKS,
			   QREP_ERR_INVAL },
		/* 56 */ { Q(QREP_OP_READ, QREP_REQ_REPAIR | QREP_REQ_ROLLBACK,
			     0, 1), DEV_BLOCKS, QREP_ERR_INVAL },
#undef PR
#undef Q
	};
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		why = NULL;
		EXPECT_EQ(rows[i].want,
			  qrep_req_check(&rows[i].m, rows[i].dev_blocks, &why))
			TH_LOG("row %zu: %s", i, why ? why : "(null)");
		EXPECT_NE(NULL, why);
		/* Same verdict without asking why. */
		EXPECT_EQ(rows[i].want,
			  qrep_req_check(&rows[i].m, rows[i].dev_blocks, NULL))
			TH_LOG("row %zu", i);
		/* Only a WRITE carries data after its header. */
		EXPECT_EQ(rows[i].m.op == QREP_OP_WRITE ?
			  (uint64_t)rows[i].m.nblocks * QREP_BLOCK_SIZE : 0,
			  qrep_req_payload_bytes(&rows[i].m))
			TH_LOG("row %zu", i);
	}
}

/* The new on-wire constants and struct qrep_block_check's layout. */
TEST(block_check_and_region_layout)
{
	struct qrep_block_check c;
	const uint8_t *p = (const uint8_t *)&c;

	ASSERT_EQ(QREP_BLOCK_CHECK_SIZE, sizeof(struct qrep_block_check));
	EXPECT_EQ(0U, offsetof(struct qrep_block_check, version));
	EXPECT_EQ(8U, offsetof(struct qrep_block_check, crc));
	EXPECT_EQ(12U, offsetof(struct qrep_block_check, flags));
	EXPECT_EQ(256U, QREP_REGION_BLOCKS);
	EXPECT_EQ(QREP_REGION_BLOCKS, 1U << QREP_REGION_SHIFT);
	EXPECT_EQ(QREP_MAX_REQ_BLOCKS, QREP_REGION_BLOCKS);
	EXPECT_EQ(0x1U, QREP_CHECK_BAD);
	EXPECT_EQ(0x2U, QREP_REQ_REPAIR);
	EXPECT_EQ(0x4U, QREP_REQ_ROLLBACK);
	EXPECT_EQ(0x7U, QREP_REQ_FLAGS_ALL);
	EXPECT_EQ(4, QREP_OP_VERSIONS);
	EXPECT_EQ(5, QREP_OP_SUMMARY);
	EXPECT_EQ(6, QREP_OP_CHECKSUMS);
	EXPECT_EQ(7, QREP_OP_EPOCH_PROPOSE);
	EXPECT_EQ(8, __QREP_OP_MAX);

	/* Big-endian fields, as the library's byte helpers write them. */
	memset(&c, 0, sizeof(c));
	qrep_put_be64((uint8_t *)&c.version, 0x0102030405060708ULL);
	qrep_put_be32((uint8_t *)&c.crc, 0xa1b2c3d4U);
	qrep_put_be32((uint8_t *)&c.flags, QREP_CHECK_BAD);
	EXPECT_EQ(0x01, p[0]);
	EXPECT_EQ(0x08, p[7]);
	EXPECT_EQ(0xa1, p[8]);
	EXPECT_EQ(0xd4, p[11]);
	EXPECT_EQ(0x00, p[12]);
	EXPECT_EQ(0x01, p[15]);
}

/* What follows a successful reply, per op, at the limits. */
TEST(reply_payload_bytes)
{
	static const struct {
		uint32_t op, nblocks;
		size_t want;
	} rows[] = {
		/*  0 */ { QREP_OP_READ, 1, 8 + QREP_BLOCK_SIZE },
		/*  1 */ { QREP_OP_READ, 256, 256 * (8 + QREP_BLOCK_SIZE) },
		/*  2 */ { QREP_OP_READ, 0, 0 },
		/*  3 */ { QREP_OP_WRITE, 256, 0 },
		/*  4 */ { QREP_OP_FLUSH, 0, 0 },
		/*  5 */ { QREP_OP_FLUSH, 7, 0 },
		/*  6 */ { QREP_OP_VERSIONS, 1, 8 },
		/*  7 */ { QREP_OP_VERSIONS, 256, 2048 },
		/*  8 */ { QREP_OP_SUMMARY, 1, 8 },
		/*  9 */ { QREP_OP_SUMMARY, 256, 2048 },
		/* 10 */ { QREP_OP_CHECKSUMS, 1, QREP_BLOCK_CHECK_SIZE },
		/* 11 */ { QREP_OP_CHECKSUMS, 256, 4096 },
		/* 12 */ { QREP_OP_CHECKSUMS, 0, 0 },
		/* 13 */ { 0, 256, 0 },
		/* 14 */ { __QREP_OP_MAX, 256, 0 },
		/* 15 */ { UINT32_MAX, 256, 0 },
		/* 16: the reply's count, always one (the store's epoch) */
		{ QREP_OP_EPOCH_PROPOSE, 1, 8 },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		EXPECT_EQ(rows[i].want,
			  qrep_reply_payload_bytes(rows[i].op,
						   rows[i].nblocks))
			TH_LOG("row %zu", i);
}

TEST(op_names)
{
	static const char *const names[] = {
		[QREP_OP_READ] = "READ",
		[QREP_OP_WRITE] = "WRITE",
		[QREP_OP_FLUSH] = "FLUSH",
		[QREP_OP_VERSIONS] = "VERSIONS",
		[QREP_OP_SUMMARY] = "SUMMARY",
		[QREP_OP_CHECKSUMS] = "CHECKSUMS",
		[QREP_OP_EPOCH_PROPOSE] = "EPOCH_PROPOSE",
	};
	uint32_t op;

	for (op = QREP_OP_READ; op < __QREP_OP_MAX; op++)
		EXPECT_STREQ(names[op], qrep_op_str(op)) TH_LOG("op %u", op);
	EXPECT_STREQ("unknown", qrep_op_str(0));
	EXPECT_STREQ("unknown", qrep_op_str(__QREP_OP_MAX));
	EXPECT_STREQ("unknown", qrep_op_str(UINT32_MAX));
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
		/* a refused EPOCH_PROPOSE carries the store's epoch: one */
		/* 7 */ { { QREP_REPLY_MAGIC, QREP_ERR_EPOCH, 1, 1, 0, 9 },
			  QREP_OK },
		/* 8 */ { { QREP_REPLY_MAGIC, QREP_ERR_EPOCH, 1, 2, 0, 9 },
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
