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

/*
 * Flush accounting (qrep_flush_may_issue, qrep_flush_complete): slots
 * a..e are bits 0..4. "holders" are the replicas that held every
 * acknowledged write when the FLUSH was sent (up to date); "acked" the
 * ones whose answer came, whatever their state then or now.
 */
#define A 0x01ULL
#define B 0x02ULL
#define C 0x04ULL
#define D 0x08ULL
#define E 0x10ULL

static const struct flush_row {
	const char *what;
	uint32_t w;
	uint64_t holders, acked;
	bool may_issue, complete, any_w;	/* any_w: the old rule */
} flush_rows[] = {
	{ "all up to date, all answer", 2, A | B | C, A | B | C, true, true, true },
	{ "W up-to-date answers complete it, c silent", 2, A | B | C, A | B, true, true, true },
	{ "stale c's answer is not counted (b silent)", 2, A | B, A | C, true, false, true },
	{ "stale c's answer adds nothing to W up-to-date ones", 2, A | B, A | B | C, true, true, true },
	{ "b failed after its answer: still counted", 2, A | B, A | B, true, true, true },
	{ "b failed before answering: one of W", 2, A | B, A, true, false, false },
	{ "one up to date of W=2: not sent", 2, A, 0, false, false, false },
	{ "one up to date, two stale answer: not complete", 2, A, A | B | C, false, false, true },
	{ "resync finished: c up to date, sent again, a and c answer", 2, A | C, A | C, true, true, true },
	{ "no answer at all", 2, A | B | C, 0, true, false, false },
	{ "W=3 of 3: two answers are short", 3, A | B | C, A | B, true, false, false },
	{ "N=5 W=3: two stale answers do not make up the third", 3, A | B | C, A | B | D | E, true, false, true },
	{ "N=5 W=3: three up-to-date answers", 3, A | B | C | D, B | C | D, true, true, true },
	{ "N=1: the one replica", 1, A, A, true, true, true },
	{ "N=1: the one replica stale", 1, 0, A, false, false, true },
};

TEST(flush_accounting_table)
{
	const struct flush_row *row;
	size_t i;

	for (i = 0; i < sizeof(flush_rows) / sizeof(flush_rows[0]); i++) {
		row = &flush_rows[i];
		EXPECT_EQ(row->may_issue,
			  !!qrep_flush_may_issue(row->holders, row->w)) TH_LOG("%s", row->what);
		EXPECT_EQ(row->complete,
			  !!qrep_flush_complete(row->holders, row->acked, row->w))
			TH_LOG("%s", row->what);
		/* The rule before: any W answers, stale ones included. */
		EXPECT_EQ(row->any_w, qrep_quorum_weight(row->acked) >= row->w)
			TH_LOG("%s", row->what);
	}
	EXPECT_EQ(0U, qrep_quorum_weight(0));
	EXPECT_EQ(64U, qrep_quorum_weight(~0ULL));
	EXPECT_EQ(3U, qrep_quorum_weight(A | C | E));
}

/*
 * Every small history of one write Z and the FLUSH after it, run on a
 * model of the replicas' stores, and both rules judged by what the model
 * says is durable. For N = 1..5 and every legal W:
 *
 *   1. replicas in @away have failed; Z is acknowledged by the others
 *      (only if they are at least W: otherwise it never completes);
 *   2. those of @away in @back reconnect, stale: they lack Z;
 *   3. those of @back in @resynced finish their resync: they get Z and
 *      are up to date again (the kernel's holds_all);
 *   4. the FLUSH is sent: the device records the live replicas that are
 *      up to date (the rule's holders) and sends it to every live one;
 *   5. those in @acks answer it (each makes durable what it holds), the
 *      others fail before they do; some that answered may fail after,
 *      which changes nothing on their stores.
 *
 * D1 for the FLUSH: if it completes, Z is durable on W replicas, so it
 * survives the loss of any N - W. The new rule must never break it and
 * must complete whenever every holder answered (no needless hold); the
 * old one (any W answers) must break it in some history, or this test
 * would not show why the rule changed.
 */
TEST(flush_accounting_histories)
{
	unsigned int old_broken = 0, histories = 0;
	uint64_t all, away, back, resynced, acks, live, holders, has_z;
	uint32_t n, w, durable;

	for (n = 1; n <= 5; n++) {
		all = (1ULL << n) - 1;
		for (w = 1; w <= n; w++) {
			if (qrep_quorum_problem(n, w, n + 1 - w))
				continue;
			for (away = 0; away <= all; away++) {
				if (qrep_quorum_weight(all & ~away) < w)
					continue;	/* Z never completes */
				for (back = 0; back <= all; back++) {
					if (back & ~away)
						continue;
					for (resynced = 0; resynced <= all; resynced++) {
						if (resynced & ~back)
							continue;
						live = (all & ~away) | back;
						has_z = (all & ~away) | resynced;
						holders = has_z & live;
						for (acks = 0; acks <= all; acks++) {
							if (acks & ~live)
								continue;
							histories++;
							durable = qrep_quorum_weight(acks & has_z);
							if (qrep_flush_may_issue(holders, w) &&
							    qrep_flush_complete(holders, acks, w))
								EXPECT_GE(durable, w)
									TH_LOG("N=%u W=%u away=%#llx back=%#llx resynced=%#llx acks=%#llx",
									       n, w, (unsigned long long)away,
									       (unsigned long long)back,
									       (unsigned long long)resynced,
									       (unsigned long long)acks);
							if (acks == live && qrep_quorum_weight(holders) >= w)
								EXPECT_TRUE(qrep_flush_complete(holders, acks, w));
							if (qrep_quorum_weight(acks) >= w && durable < w)
								old_broken++;
						}
					}
				}
			}
		}
	}
	EXPECT_GT(histories, 1000U);
	EXPECT_GT(old_broken, 0U);
	TH_LOG("%u histories; the any-W rule loses a flushed write in %u of them",
	       histories, old_broken);
}

#undef A
#undef B
#undef C
#undef D
#undef E

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
