// SPDX-License-Identifier: GPL-2.0
/* The cluster status file qrepd writes and qrepctl status reads. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "cluster_status.h"

static void sample(struct qrep_cluster_status *st)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->resource, sizeof(st->resource), "r0");
	st->device = 3;
	st->self = 2;
	st->pid = 812;
	st->updated_ms = 1700000000123ULL;
	snprintf(st->election, sizeof(st->election), "PRIMARY");
	snprintf(st->device_role, sizeof(st->device_role), "primary");
	st->primary = 2;
	st->epoch = 7;
	st->seen_epoch = 8;
	snprintf(st->last_change, sizeof(st->last_change),
		 "won the election\nat epoch 7");	/* a newline, on purpose */
	st->nr_nodes = 3;
	st->nodes[0] = (struct qrep_cluster_status_node){ 1, "192.0.2.1:7790", 1700000000000ULL };
	st->nodes[1] = (struct qrep_cluster_status_node){ 2, "192.0.2.2:7790", 0 };
	st->nodes[2] = (struct qrep_cluster_status_node){ 3, "[2001:db8::3]:7790", 0 };
}

TEST(round_trip)
{
	struct qrep_cluster_status st, back;
	char buf[QREP_CLUSTER_STATUS_MAX];
	size_t len;

	sample(&st);
	len = qrep_cluster_status_format(&st, buf, sizeof(buf));
	ASSERT_NE(0, len);
	ASSERT_EQ(0, qrep_cluster_status_parse(buf, len, &back));
	EXPECT_STREQ("r0", back.resource);
	EXPECT_EQ(3, back.device);
	EXPECT_EQ(2, back.self);
	EXPECT_EQ(812, back.pid);
	EXPECT_EQ(1700000000123ULL, back.updated_ms);
	EXPECT_STREQ("PRIMARY", back.election);
	EXPECT_STREQ("primary", back.device_role);
	EXPECT_EQ(2, back.primary);
	EXPECT_EQ(7, back.epoch);
	EXPECT_EQ(8, back.seen_epoch);
	/* One line per key: the newline became a space. */
	EXPECT_STREQ("won the election at epoch 7", back.last_change);
	ASSERT_EQ(3, back.nr_nodes);
	EXPECT_EQ(1, back.nodes[0].id);
	EXPECT_STREQ("192.0.2.1:7790", back.nodes[0].addr);
	EXPECT_EQ(1700000000000ULL, back.nodes[0].last_heard_ms);
	EXPECT_STREQ("[2001:db8::3]:7790", back.nodes[2].addr);
	/* Too small a buffer: nothing rather than a cut file. */
	EXPECT_EQ(0, qrep_cluster_status_format(&st, buf, 40));
}

/* The longest address a node line of the config can hold reads back. */
TEST(longest_address)
{
	struct qrep_cluster_status st, back;
	char buf[QREP_CLUSTER_STATUS_MAX];
	char *addr;
	size_t len, i;

	sample(&st);
	for (i = 0; i < QREP_CONFIG_MAX_NODES; i++) {
		addr = st.nodes[i].addr;
		memset(addr, 'h', QREP_ADDR_STR_MAX - 1);
		memcpy(addr + QREP_ADDR_STR_MAX - 7, ":65535", 7);
		st.nodes[i].id = UINT32_MAX - i;
		st.nodes[i].last_heard_ms = UINT64_MAX;
	}
	st.nr_nodes = QREP_CONFIG_MAX_NODES;
	len = qrep_cluster_status_format(&st, buf, sizeof(buf));
	ASSERT_NE(0, len);
	ASSERT_EQ(0, qrep_cluster_status_parse(buf, len, &back));
	ASSERT_EQ(QREP_CONFIG_MAX_NODES, back.nr_nodes);
	EXPECT_STREQ(st.nodes[7].addr, back.nodes[7].addr);
	EXPECT_EQ(UINT64_MAX, back.nodes[7].last_heard_ms);
}

TEST(reader_is_careful)
{
	static const char *const bad[] = {
		"",
		"resource r0\n",				/* no first line */
		"qrep-cluster-status 2\n",			/* another format */
		"qrep-cluster-status 1\nepoch -1\n",
		"qrep-cluster-status 1\ndevice 4294967296\n",
		"qrep-cluster-status 1\nnode 0 h:1 0\n",
		"qrep-cluster-status 1\nnode 1 h:1\n",
		"qrep-cluster-status 1\nnode 1 h:1 0 extra\n",
	};
	static const char skips[] = "qrep-cluster-status 1\nfuture-key 1\n"
				    "lonely\nself 4\n";
	struct qrep_cluster_status st;
	char many[2048] = "qrep-cluster-status 1\n";
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-EINVAL, qrep_cluster_status_parse(bad[i], strlen(bad[i]), &st))
			TH_LOG("row %zu accepted", i);
	ASSERT_EQ(0, qrep_cluster_status_parse(skips, strlen(skips), &st));
	EXPECT_EQ(4, st.self);
	for (i = 0; i <= QREP_CONFIG_MAX_NODES; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "node %zu h:%zu 0\n", i + 1, i + 1);
	EXPECT_EQ(-EINVAL, qrep_cluster_status_parse(many, strlen(many), &st));
}

TEST(write_and_read)
{
	char dir[] = "/tmp/qrep-status-XXXXXX", path[256];
	struct qrep_cluster_status st, back;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r0.cluster", dir);
	sample(&st);
	ASSERT_EQ(0, qrep_cluster_status_write(path, &st));
	st.epoch = 9;
	ASSERT_EQ(0, qrep_cluster_status_write(path, &st));	/* replaced */
	ASSERT_EQ(0, qrep_cluster_status_read(path, &back));
	EXPECT_EQ(9, back.epoch);
	unlink(path);
	EXPECT_EQ(-ENOENT, qrep_cluster_status_read(path, &back));
	rmdir(dir);
}

TEST_HARNESS_MAIN
