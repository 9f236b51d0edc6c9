// SPDX-License-Identifier: GPL-2.0
/*
 * Quorum mode's shared rules (<linux/qrep_quorum.h>: majority, the two
 * quorum rules, the version layout) and the tools' side of it
 * (lib/quorum.c: the epoch "qrepctl up" picks, the status line and the
 * event flags, with every attribute an older kernel may leave out).
 */
#include <errno.h>
#include <string.h>
#include <linux/genetlink.h>
#include <linux/qrep.h>
#include <linux/qrep_quorum.h>

#include "kselftest_harness.h"

#include "genl.h"
#include "quorum.h"

TEST(majority)
{
	EXPECT_EQ(1U, qrep_quorum_majority(1));
	EXPECT_EQ(2U, qrep_quorum_majority(2));
	EXPECT_EQ(2U, qrep_quorum_majority(3));
	EXPECT_EQ(3U, qrep_quorum_majority(4));
	EXPECT_EQ(3U, qrep_quorum_majority(5));
	EXPECT_EQ(5U, qrep_quorum_majority(QREP_MAX_REPLICAS));
}

/* The majority is always legal, for both quorums, at every N. */
TEST(majority_is_legal)
{
	uint32_t n, m;

	for (n = 1; n <= QREP_MAX_REPLICAS; n++) {
		m = qrep_quorum_majority(n);
		EXPECT_EQ(NULL, qrep_quorum_problem(n, m, m)) TH_LOG("N=%u", n);
	}
}

/* Every (N, W, R) against the two rules written out plainly. */
TEST(problem_matches_rules)
{
	uint32_t n, w, r;

	for (n = 1; n <= QREP_MAX_REPLICAS; n++)
		for (w = 0; w <= n + 1; w++)
			for (r = 0; r <= n + 1; r++) {
				bool legal = w >= 1 && w <= n && r >= 1 &&
					     r <= n && 2 * w > n && r + w > n;

				EXPECT_EQ(legal, qrep_quorum_problem(n, w, r) == NULL)
					TH_LOG("N=%u W=%u R=%u", n, w, r);
			}
}

TEST(problem_messages)
{
	EXPECT_NE(NULL, strstr(qrep_quorum_problem(0, 1, 1), "at least one replica"));
	EXPECT_NE(NULL, strstr(qrep_quorum_problem(3, 0, 2), "write quorum W"));
	EXPECT_NE(NULL, strstr(qrep_quorum_problem(3, 4, 2), "write quorum W"));
	EXPECT_NE(NULL, strstr(qrep_quorum_problem(3, 2, 0), "read quorum R"));
	EXPECT_NE(NULL, strstr(qrep_quorum_problem(3, 2, 4), "read quorum R"));
	EXPECT_NE(NULL, strstr(qrep_quorum_problem(3, 1, 3), "2W > N"));
	EXPECT_NE(NULL, strstr(qrep_quorum_problem(4, 2, 4), "2W > N"));
	EXPECT_NE(NULL, strstr(qrep_quorum_problem(3, 2, 1), "R + W > N"));
	/* Write-all, read-one. */
	EXPECT_EQ(NULL, qrep_quorum_problem(3, 3, 1));
	EXPECT_EQ(NULL, qrep_quorum_problem(1, 1, 1));
}

TEST(versions)
{
	EXPECT_EQ(0ULL, qrep_version_base(0));
	EXPECT_EQ(1ULL << QREP_VERSION_EPOCH_SHIFT, qrep_version_base(1));
	EXPECT_EQ(7ULL, qrep_version_epoch(qrep_version_base(7) + 12345));
	EXPECT_EQ(6ULL, qrep_version_epoch(qrep_version_base(7) - 1));
	/* The largest epoch still leaves the sign bit clear. */
	EXPECT_EQ(QREP_MAX_QUORUM_EPOCH,
		  qrep_version_epoch(qrep_version_base(QREP_MAX_QUORUM_EPOCH)));
	EXPECT_EQ(0ULL, qrep_version_base(QREP_MAX_QUORUM_EPOCH) >> 63);
	/* Every version of a later epoch beats every one of an earlier. */
	EXPECT_LT(qrep_version_base(3) + ((1ULL << QREP_VERSION_EPOCH_SHIFT) - 1),
		  qrep_version_base(4));
}

TEST(up_epoch)
{
	uint64_t epoch = 99;

	EXPECT_EQ(0, qrep_quorum_up_epoch(0, &epoch));
	EXPECT_EQ(1ULL, epoch);
	EXPECT_EQ(0, qrep_quorum_up_epoch(41, &epoch));
	EXPECT_EQ(42ULL, epoch);
	EXPECT_EQ(0, qrep_quorum_up_epoch(QREP_MAX_QUORUM_EPOCH - 1, &epoch));
	EXPECT_EQ(QREP_MAX_QUORUM_EPOCH, epoch);
	epoch = 99;
	EXPECT_EQ(-ERANGE, qrep_quorum_up_epoch(QREP_MAX_QUORUM_EPOCH, &epoch));
	EXPECT_EQ(-ERANGE, qrep_quorum_up_epoch(UINT64_MAX, &epoch));
	EXPECT_EQ(99ULL, epoch);	/* untouched on failure */
}

TEST(policy_names)
{
	EXPECT_STREQ("suspend", qrep_on_no_quorum_name(QREP_NO_QUORUM_SUSPEND));
	EXPECT_STREQ("error", qrep_on_no_quorum_name(QREP_NO_QUORUM_ERROR));
	EXPECT_STREQ("unknown", qrep_on_no_quorum_name(0));
	EXPECT_STREQ("unknown", qrep_on_no_quorum_name(77));
}

static union {
	char buf[1024];
	struct nlmsghdr align;
} msgbuf;

/* A DEV_GET reply with the quorum attributes in @have (bits: 1 << attr). */
static struct nlmsghdr *dev_msg(uint64_t have, uint32_t flags, uint32_t policy)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(msgbuf.buf);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));

	g->cmd = QREP_CMD_DEV_GET;
	mnl_attr_put_u32(nlh, QREP_A_DEV_MODE, QREP_MODE_QUORUM);
	if (have & (1ULL << QREP_A_DEV_REPLICAS))
		mnl_attr_put_u32(nlh, QREP_A_DEV_REPLICAS, 3);
	if (have & (1ULL << QREP_A_DEV_WRITE_QUORUM))
		mnl_attr_put_u32(nlh, QREP_A_DEV_WRITE_QUORUM, 2);
	if (have & (1ULL << QREP_A_DEV_READ_QUORUM))
		mnl_attr_put_u32(nlh, QREP_A_DEV_READ_QUORUM, 2);
	if (have & (1ULL << QREP_A_DEV_ON_NO_QUORUM))
		mnl_attr_put_u32(nlh, QREP_A_DEV_ON_NO_QUORUM, policy);
	if (have & (1ULL << QREP_A_DEV_QUORUM_FLAGS))
		mnl_attr_put_u32(nlh, QREP_A_DEV_QUORUM_FLAGS, flags);
	if (have & (1ULL << QREP_A_DEV_HELD))
		mnl_attr_put_u32(nlh, QREP_A_DEV_HELD, 17);
	return nlh;
}

#define ALL_QUORUM_ATTRS ((1ULL << QREP_A_DEV_REPLICAS) | \
			  (1ULL << QREP_A_DEV_WRITE_QUORUM) | \
			  (1ULL << QREP_A_DEV_READ_QUORUM) | \
			  (1ULL << QREP_A_DEV_ON_NO_QUORUM) | \
			  (1ULL << QREP_A_DEV_QUORUM_FLAGS) | \
			  (1ULL << QREP_A_DEV_HELD))

TEST(status_line)
{
	const struct nlattr *tb[QREP_A_MAX + 1];
	char line[256];

	ASSERT_EQ(0, qrep_genl_parse(dev_msg(ALL_QUORUM_ATTRS, QREP_QUORUM_F_WRITE |
					     QREP_QUORUM_F_READ,
					     QREP_NO_QUORUM_SUSPEND), tb));
	qrep_quorum_status_format(tb, false, line, sizeof(line));
	EXPECT_STREQ("quorum: W=2 R=2 of N=3, on-no-quorum suspend; write quorum yes, read quorum yes, held 17",
		     line);
	qrep_quorum_status_format(tb, true, line, sizeof(line));
	EXPECT_STREQ("{\"replicas\":3,\"write_quorum\":2,\"read_quorum\":2,"
		     "\"on_no_quorum\":\"suspend\",\"write_quorum_reachable\":true,"
		     "\"read_quorum_reachable\":true,\"held\":17}", line);

	ASSERT_EQ(0, qrep_genl_parse(dev_msg(ALL_QUORUM_ATTRS, QREP_QUORUM_F_READ,
					     QREP_NO_QUORUM_ERROR), tb));
	qrep_quorum_status_format(tb, false, line, sizeof(line));
	EXPECT_STREQ("quorum: W=2 R=2 of N=3, on-no-quorum error; write quorum no, read quorum yes, held 17",
		     line);
	qrep_quorum_status_format(tb, true, line, sizeof(line));
	EXPECT_NE(NULL, strstr(line, "\"write_quorum_reachable\":false,\"read_quorum_reachable\":true"));
}

/* An older kernel sends none of them: shown as unknown, not as 0. */
TEST(status_line_older_kernel)
{
	const struct nlattr *tb[QREP_A_MAX + 1];
	char line[256];

	ASSERT_EQ(0, qrep_genl_parse(dev_msg(0, 0, 0), tb));
	qrep_quorum_status_format(tb, false, line, sizeof(line));
	EXPECT_STREQ("quorum: W=? R=? of N=?, on-no-quorum ?; write quorum ?, read quorum ?, held ?",
		     line);
	qrep_quorum_status_format(tb, true, line, sizeof(line));
	EXPECT_STREQ("{\"replicas\":null,\"write_quorum\":null,\"read_quorum\":null,"
		     "\"on_no_quorum\":null,\"write_quorum_reachable\":null,"
		     "\"read_quorum_reachable\":null,\"held\":null}", line);

	/* A policy this tool does not know yet. */
	ASSERT_EQ(0, qrep_genl_parse(dev_msg(1ULL << QREP_A_DEV_ON_NO_QUORUM, 0, 9), tb));
	qrep_quorum_status_format(tb, true, line, sizeof(line));
	EXPECT_NE(NULL, strstr(line, "\"on_no_quorum\":\"unknown\""));
}

/* A quorum attribute of the wrong size makes the whole message refused. */
TEST(status_attr_wrong_type)
{
	const struct nlattr *tb[QREP_A_MAX + 1];
	struct nlmsghdr *nlh = dev_msg(0, 0, 0);

	mnl_attr_put_u64(nlh, QREP_A_DEV_HELD, 1);
	EXPECT_EQ(-EPROTO, qrep_genl_parse(nlh, tb));
}

TEST(event_flags)
{
	const struct nlattr *tb[QREP_A_MAX + 1];
	char s[64];

	ASSERT_EQ(0, qrep_genl_parse(dev_msg(1ULL << QREP_A_DEV_QUORUM_FLAGS,
					     QREP_QUORUM_F_READ, 0), tb));
	qrep_quorum_flags_format(tb[QREP_A_DEV_QUORUM_FLAGS], s, sizeof(s));
	EXPECT_STREQ("write=no read=yes", s);
	ASSERT_EQ(0, qrep_genl_parse(dev_msg(1ULL << QREP_A_DEV_QUORUM_FLAGS,
					     QREP_QUORUM_F_WRITE | QREP_QUORUM_F_READ, 0), tb));
	qrep_quorum_flags_format(tb[QREP_A_DEV_QUORUM_FLAGS], s, sizeof(s));
	EXPECT_STREQ("write=yes read=yes", s);
	qrep_quorum_flags_format(NULL, s, sizeof(s));
	EXPECT_STREQ("write=? read=?", s);
}

TEST_HARNESS_MAIN
