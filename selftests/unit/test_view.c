// SPDX-License-Identifier: GPL-2.0
/*
 * lib/view.c's reading of a DEV_GET reply, without a socket: what the
 * resync driver takes from it to choose its sources - the device's mode
 * and read quorum R, each replica's state and whether it is unreconciled
 * - the sources it then allows, and the replies it refuses.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <linux/genetlink.h>
#include <linux/qrep.h>

#include "kselftest_harness.h"

#include "view.h"

/* Bytes of a 1 GiB device: 1024 regions of 1 MiB. */
#define DEV_BYTES	(1ULL << 30)
#define DEV_REGIONS	1024U
#define DEV_EPOCH	9U
/* A netlink type above the control family's, as a family's would be. */
#define FAMILY_ID	0x20

static union {
	char buf[4096];
	struct nlmsghdr align;
} msgbuf;

/* A DEV_GET reply: size and epoch, and the mode if @mode is not 0. */
static struct nlmsghdr *dev_msg(uint32_t mode)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	memset(msgbuf.buf, 0, sizeof(msgbuf.buf));
	nlh = mnl_nlmsg_put_header(msgbuf.buf);
	nlh->nlmsg_type = FAMILY_ID;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = QREP_CMD_DEV_GET;
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, DEV_BYTES);
	mnl_attr_put_u64(nlh, QREP_A_DEV_EPOCH, DEV_EPOCH);
	if (mode)
		mnl_attr_put_u32(nlh, QREP_A_DEV_MODE, mode);
	return nlh;
}

static void put_replica_flag(struct nlmsghdr *nlh, uint32_t id,
			     uint32_t state, uint64_t instance, uint16_t flag)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, QREP_A_REPLICA);

	mnl_attr_put_u32(nlh, QREP_A_REPLICA_ID, id);
	mnl_attr_put_u32(nlh, QREP_A_REPLICA_STATE, state);
	mnl_attr_put_u64(nlh, QREP_A_REPLICA_INSTANCE, instance);
	if (flag)
		mnl_attr_put(nlh, flag, 0, NULL);
	mnl_attr_nest_end(nlh, nest);
}

static void put_replica(struct nlmsghdr *nlh, uint32_t id, uint32_t state,
			uint64_t instance)
{
	put_replica_flag(nlh, id, state, instance, 0);
}

TEST(quorum_mode_and_read_quorum)
{
	struct nlmsghdr *nlh = dev_msg(QREP_MODE_QUORUM);
	struct qrep_view v = { 0 };

	mnl_attr_put_u32(nlh, QREP_A_DEV_READ_QUORUM, 2);
	put_replica(nlh, 0, QREP_REPLICA_UPTODATE, 11);
	put_replica(nlh, 1, QREP_REPLICA_STALE, 12);
	put_replica(nlh, 2, QREP_REPLICA_FAILED, 13);
	ASSERT_EQ(0, qrep_view_parse(nlh, &v));
	EXPECT_EQ((uint32_t)QREP_MODE_QUORUM, v.mode);
	EXPECT_EQ(2U, v.read_quorum);
	EXPECT_EQ(DEV_BYTES, v.size);
	EXPECT_EQ((uint64_t)DEV_REGIONS, v.regions);
	EXPECT_TRUE(v.replicas[1].present);
	EXPECT_EQ((uint32_t)QREP_REPLICA_STALE, v.replicas[1].state);
	EXPECT_EQ(13ULL, v.replicas[2].instance);
	EXPECT_FALSE(v.replicas[3].present);
}

/*
 * The resync's sources (qrep_view_source_ok): in quorum mode every live
 * replica, up to date or stale, but none the kernel reports unreconciled
 * (it rejoined and may hold a deposed primary's write: scenario 5); in
 * mirror mode an up-to-date one only. A failed, empty or out-of-range
 * slot never is one.
 */
TEST(unreconciled_is_no_source)
{
	static const uint32_t modes[] = { QREP_MODE_QUORUM, QREP_MODE_MIRROR };
	/* Slots 0-4, per mode: may it be a source? */
	static const bool want[2][5] = {
		{ true, true, false, false, false },
		{ true, false, false, false, false },
	};
	struct nlmsghdr *nlh;
	struct qrep_view v;
	unsigned int m, i;

	for (m = 0; m < 2; m++) {
		nlh = dev_msg(modes[m]);
		mnl_attr_put_u32(nlh, QREP_A_DEV_READ_QUORUM, 2);
		put_replica(nlh, 0, QREP_REPLICA_UPTODATE, 11);
		put_replica(nlh, 1, QREP_REPLICA_STALE, 12);
		put_replica_flag(nlh, 2, QREP_REPLICA_STALE, 13,
				 QREP_A_REPLICA_UNRECONCILED);
		put_replica_flag(nlh, 3, QREP_REPLICA_FAILED, 14,
				 QREP_A_REPLICA_UNRECONCILED);
		memset(&v, 0, sizeof(v));
		ASSERT_EQ(0, qrep_view_parse(nlh, &v));
		EXPECT_FALSE(v.replicas[1].unreconciled);
		EXPECT_TRUE(v.replicas[2].unreconciled);
		for (i = 0; i < 5; i++) {
			if (qrep_view_source_ok(&v, i) != want[m][i])
				TH_LOG("mode %u, slot %u: source %d, want %d",
				       modes[m], i, qrep_view_source_ok(&v, i),
				       want[m][i]);
			EXPECT_EQ(want[m][i], qrep_view_source_ok(&v, i));
		}
		EXPECT_FALSE(qrep_view_source_ok(&v, QREP_MAX_REPLICAS));
	}
}

/* A kernel from before quorum mode gives no mode: that is mirror mode. */
TEST(no_mode_is_mirror)
{
	struct qrep_view v = { 0 };

	ASSERT_EQ(0, qrep_view_parse(dev_msg(0), &v));
	EXPECT_EQ((uint32_t)QREP_MODE_MIRROR, v.mode);
	EXPECT_EQ(0U, v.read_quorum);
}

/* A read quorum that is not a u32 is not read past its end. */
TEST(short_read_quorum_refused)
{
	struct nlmsghdr *nlh = dev_msg(QREP_MODE_QUORUM);
	struct qrep_view v = { 0 };
	uint16_t r = 2;

	mnl_attr_put(nlh, QREP_A_DEV_READ_QUORUM, sizeof(r), &r);
	EXPECT_EQ(-EPROTO, qrep_view_parse(nlh, &v));
}

/* A replica slot beyond QREP_MAX_REPLICAS, or no size: refused. */
TEST(bad_replies_refused)
{
	struct nlmsghdr *nlh = dev_msg(QREP_MODE_QUORUM);
	struct genlmsghdr *g;
	struct qrep_view v = { 0 };

	put_replica(nlh, QREP_MAX_REPLICAS, QREP_REPLICA_STALE, 1);
	EXPECT_EQ(-EPROTO, qrep_view_parse(nlh, &v));

	memset(msgbuf.buf, 0, sizeof(msgbuf.buf));
	nlh = mnl_nlmsg_put_header(msgbuf.buf);
	nlh->nlmsg_type = FAMILY_ID;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = QREP_CMD_DEV_GET;
	mnl_attr_put_u64(nlh, QREP_A_DEV_EPOCH, DEV_EPOCH);
	memset(&v, 0, sizeof(v));
	EXPECT_EQ(-EPROTO, qrep_view_parse(nlh, &v));
}

TEST_HARNESS_MAIN
