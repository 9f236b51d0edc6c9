// SPDX-License-Identifier: GPL-2.0
/* The resource configuration parser: good files and every kind of bad. */
#include <errno.h>
#include <string.h>
#include <linux/qrep.h>
#include <linux/qrep_quorum.h>

#include "kselftest_harness.h"
#include "config.h"

#define GOOD_HEAD "resource r0\ndevice 0\nsize 1G\n" \
		  "uuid 0b7c8f6e-2d0a-4a3b-9c1d-5e6f7a8b9c0d\n"
#define THREE_REPLICAS "replica a h:1\nreplica b h:2\nreplica c h:3\n"
#define QUORUM_HEAD GOOD_HEAD "mode quorum\n"

TEST(good_file)
{
	static const char text[] =
		"# a comment\n"
		"resource r0   # trailing comment\n"
		"device 3\n"
		"size 256M\n"
		"uuid 0b7c8f6e-2d0a-4a3b-9c1d-5e6f7a8b9c0d\n"
		"mode mirror\n"
		"\tio-timeout 5s\n"
		"connect-timeout 500ms\n"
		"replica a 127.0.0.1:7801\n"
		"replica b [::1]:7802\n"
		"replica c node3:7800";	/* no final newline */
	struct qrep_config cfg;
	char err[256];

	ASSERT_EQ(0, qrep_config_parse(text, strlen(text), &cfg, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_STREQ("r0", cfg.name);
	EXPECT_EQ(3, cfg.device);
	EXPECT_EQ(256ULL << 20, cfg.size);
	EXPECT_EQ(QREP_MODE_MIRROR, cfg.mode);
	EXPECT_EQ(5000, cfg.io_timeout_ms);
	EXPECT_EQ(500, cfg.connect_timeout_ms);
	ASSERT_EQ(3, cfg.nr_replicas);
	EXPECT_STREQ("b", cfg.replicas[1].name);
	EXPECT_STREQ("[::1]:7802", cfg.replicas[1].addr);
	EXPECT_STREQ("node3:7800", cfg.replicas[2].addr);
	EXPECT_EQ(0x0b, cfg.uuid[0]);
}

TEST(defaults)
{
	static const char text[] = GOOD_HEAD "replica a 127.0.0.1:1\n";
	struct qrep_config cfg;
	char err[256];

	ASSERT_EQ(0, qrep_config_parse(text, strlen(text), &cfg, err, sizeof(err)));
	EXPECT_EQ(QREP_MODE_MIRROR, cfg.mode);
	EXPECT_EQ(QREP_DEFAULT_IO_TIMEOUT_MS, cfg.io_timeout_ms);
	EXPECT_EQ(QREP_DEFAULT_CONNECT_TIMEOUT_MS, cfg.connect_timeout_ms);
	EXPECT_STREQ("", cfg.secret_file);
	EXPECT_EQ(QREP_DEFAULT_RESYNC_RATE, cfg.resync_rate);
	EXPECT_EQ(QREP_DEFAULT_RECONNECT_INTERVAL_MS, cfg.reconnect_interval_ms);
	/* Mirror mode has no quorums: 0, as the kernel is told nothing. */
	EXPECT_EQ(0U, cfg.write_quorum);
	EXPECT_EQ(0U, cfg.read_quorum);
	EXPECT_EQ(0U, cfg.on_no_quorum);
}

/* Quorum mode with nothing said: a majority both ways, suspend. */
TEST(quorum_defaults)
{
	static const struct { const char *replicas; uint32_t n, majority; } rows[] = {
		{ "replica a h:1\n", 1, 1 },
		{ "replica a h:1\nreplica b h:2\n", 2, 2 },
		{ THREE_REPLICAS, 3, 2 },
		{ THREE_REPLICAS "replica d h:4\n", 4, 3 },
		{ THREE_REPLICAS "replica d h:4\nreplica e h:5\n", 5, 3 },
	};
	struct qrep_config cfg;
	char text[512], err[256];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(text, sizeof(text), QUORUM_HEAD "%s", rows[i].replicas);
		ASSERT_EQ(0, qrep_config_parse(text, strlen(text), &cfg, err,
					       sizeof(err)))
			TH_LOG("row %zu: %s", i, err);
		EXPECT_EQ(QREP_MODE_QUORUM, cfg.mode);
		EXPECT_EQ(rows[i].n, cfg.nr_replicas);
		EXPECT_EQ(rows[i].majority, cfg.write_quorum);
		EXPECT_EQ(rows[i].majority, cfg.read_quorum);
		EXPECT_EQ(QREP_NO_QUORUM_SUSPEND, cfg.on_no_quorum);
	}
}

/* The keys may come before "mode quorum": the check waits for the end. */
TEST(quorum_settings)
{
	static const char text[] = GOOD_HEAD "write-quorum 3\nread-quorum 2\n"
		"on-no-quorum error\n" THREE_REPLICAS "replica d h:4\n"
		"mode quorum\n";
	struct qrep_config cfg;
	char err[256];

	ASSERT_EQ(0, qrep_config_parse(text, strlen(text), &cfg, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_EQ(3U, cfg.write_quorum);
	EXPECT_EQ(2U, cfg.read_quorum);
	EXPECT_EQ(QREP_NO_QUORUM_ERROR, cfg.on_no_quorum);
}

/* Write-all, read-one: W = N, R = 1 is legal (the seed's first example). */
TEST(quorum_write_all_read_one)
{
	static const char text[] = QUORUM_HEAD "write-quorum 3\nread-quorum 1\n"
		"on-no-quorum suspend\n" THREE_REPLICAS;
	struct qrep_config cfg;
	char err[256];

	ASSERT_EQ(0, qrep_config_parse(text, strlen(text), &cfg, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_EQ(3U, cfg.write_quorum);
	EXPECT_EQ(1U, cfg.read_quorum);
	EXPECT_EQ(QREP_NO_QUORUM_SUSPEND, cfg.on_no_quorum);
}

TEST(resync_settings)
{
	static const char text[] = GOOD_HEAD "resync-rate 20M\n"
		"reconnect-interval 1500ms\nreplica a 127.0.0.1:1\n";
	struct qrep_config cfg;
	char err[256];

	ASSERT_EQ(0, qrep_config_parse(text, strlen(text), &cfg, err, sizeof(err)));
	EXPECT_EQ(20ULL << 20, cfg.resync_rate);
	EXPECT_EQ(1500U, cfg.reconnect_interval_ms);
}

/* The path only: the file itself is checked when it is read (test_auth). */
TEST(secret_file)
{
	static const char text[] = GOOD_HEAD "secret-file /etc/qrep/r0.secret\n"
		"replica a 127.0.0.1:1\n";
	struct qrep_config cfg;
	char err[256];

	ASSERT_EQ(0, qrep_config_parse(text, strlen(text), &cfg, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_STREQ("/etc/qrep/r0.secret", cfg.secret_file);
}

static const struct {
	const char *text;
	const char *message;	/* a part of the expected error */
} bad[] = {
	/*  1 */ { "", "no 'resource' line" },
	/*  2 */ { GOOD_HEAD, "no 'replica' line" },
	/*  3 */ { "resource r0\nsize 1G\nuuid 0b7c8f6e-2d0a-4a3b-9c1d-5e6f7a8b9c0d\nreplica a h:1\n", "no 'device' line" },
	/*  4 */ { GOOD_HEAD "replica a h:1\nbogus 1\n", "line 6: unknown keyword 'bogus'" },
	/*  5 */ { GOOD_HEAD "size 2G\nreplica a h:1\n", "line 5: 'size' given twice" },
	/*  6 */ { "resource r0\ndevice 64\n", "line 2: device must be" },
	/*  7 */ { "resource r0\nsize 1000\n", "whole 4 KiB blocks" },
	/*  8 */ { "resource r0\nsize 0\n", "not a size" },
	/*  9 */ { "resource r0\nsize 1Z\n", "not a size" },
	/* 10 */ { "resource r0\nuuid 1234\n", "not a UUID" },
	/* 11 */ { "resource r0\nuuid 00000000-0000-0000-0000-000000000000\n", "not a UUID" },
	/* 12 */ { "resource r0\nmode raid5\n", "mode is 'mirror' or 'quorum'" },
	/* 13 */ { "resource r0\nio-timeout 30\n", "not a duration" },
	/* 14 */ { "resource r0\nio-timeout 0s\n", "not a duration" },
	/* 15 */ { "resource r0\nio-timeout 99999999999s\n", "not a duration" },
	/* 16 */ { GOOD_HEAD "replica a h:1\nreplica a h:2\n", "replica 'a' given twice" },
	/* 17 */ { GOOD_HEAD "replica a h:1\nreplica b h:1\n", "same address" },
	/* 18 */ { GOOD_HEAD "replica a nohostport\n", "not an address" },
	/* 19 */ { GOOD_HEAD "replica a h:99999\n", "not an address" },
	/* 20 */ { GOOD_HEAD "replica a\n", "usage: replica" },
	/* 21 */ { GOOD_HEAD "replica a/b h:1\n", "not a replica name" },
	/* 22 */ { "resource r0 r1\n", "exactly one value" },
	/* 23 */ { "resource\n", "exactly one value" },
	/* 24 */ { "resource a b c d e\n", "too many words" },
	/* 25 */ { "resource thisnameiswaytoolongforaresourcename0\n", "not a resource name" },
	/* 26 */ { GOOD_HEAD "replica a h:1\nreplica b h:2\nreplica c h:3\nreplica d h:4\n"
		   "replica e h:5\nreplica f h:6\nreplica g h:7\nreplica h h:8\nreplica i h:9\n",
		   "more than 8 replicas" },
	/* 27 */ { GOOD_HEAD "replica a 192.0.2.1:7800\nreplica b 192.0.2.1:07800\n", "same address" },
	/* 28 */ { GOOD_HEAD "replica a [::1]:7800\nreplica b [0:0::0001]:7800\n", "same address" },
	/* 29 */ { GOOD_HEAD "replica a Node3:7800\nreplica b node3:7800\n", "same address" },
	/* 30 */ { "resource r0\nsecret-file r0.secret\n", "line 2: secret-file must be an absolute path" },
	/* 31 */ { "secret-file /a\nsecret-file /b\n", "line 2: 'secret-file' given twice" },
	/* 32 */ { "secret-file /a b\n", "exactly one value" },
	/* 33 */ { "resync-rate 512K\n", "line 1: resync-rate is bytes per second, at least 1M" },
	/* 34 */ { "resync-rate fast\n", "line 1: resync-rate is bytes per second" },
	/* 35 */ { "resync-rate 1M\nresync-rate 2M\n", "line 2: 'resync-rate' given twice" },
	/* 36 */ { "reconnect-interval 50ms\n", "line 1: reconnect-interval is a duration of at least 100ms" },
	/* 37 */ { "reconnect-interval soon\n", "line 1: reconnect-interval is a duration" },
	/* Quorum settings outside quorum mode, pointing at their line. */
	/* 38 */ { GOOD_HEAD "write-quorum 2\n" THREE_REPLICAS, "line 5: write-quorum needs mode quorum" },
	/* 39 */ { GOOD_HEAD "mode mirror\n" THREE_REPLICAS "read-quorum 2\n", "line 9: read-quorum needs mode quorum" },
	/* 40 */ { GOOD_HEAD THREE_REPLICAS "on-no-quorum error\n", "line 8: on-no-quorum needs mode quorum" },
	/* Bad values. */
	/* 41 */ { "write-quorum 0\n", "line 1: write-quorum is a number of replicas from 1 to 8, not '0'" },
	/* 42 */ { "read-quorum 9\n", "line 1: read-quorum is a number of replicas from 1 to 8, not '9'" },
	/* 43 */ { "write-quorum two\n", "not 'two'" },
	/* 44 */ { "write-quorum -1\n", "not '-1'" },
	/* 45 */ { "read-quorum 18446744073709551617\n", "from 1 to 8" },
	/* 46 */ { "write-quorum 2\nwrite-quorum 2\n", "line 2: 'write-quorum' given twice" },
	/* 47 */ { "on-no-quorum hang\n", "line 1: on-no-quorum is 'suspend' or 'error', not 'hang'" },
	/* 48 */ { "on-no-quorum error\non-no-quorum error\n", "line 2: 'on-no-quorum' given twice" },
	/* 49 */ { "write-quorum 2 3\n", "exactly one value" },
	/* The rules, with the values named. */
	/* 50 */ { QUORUM_HEAD "write-quorum 1\nread-quorum 3\n" THREE_REPLICAS,
		   "write-quorum 1 and read-quorum 3 with 3 replicas: 2W > N is required" },
	/* 51 */ { QUORUM_HEAD "write-quorum 2\nread-quorum 1\n" THREE_REPLICAS,
		   "write-quorum 2 and read-quorum 1 with 3 replicas: R + W > N is required" },
	/* 52 */ { QUORUM_HEAD "write-quorum 2\n" THREE_REPLICAS "replica d h:4\n",
		   "write-quorum 2 and read-quorum 3 (the default) with 4 replicas: 2W > N" },
	/* 53 */ { QUORUM_HEAD "write-quorum 4\n" THREE_REPLICAS,
		   "write-quorum 4 and read-quorum 2 (the default) with 3 replicas: the write quorum W must be between 1 and N" },
	/* 54 */ { QUORUM_HEAD "read-quorum 3\nreplica a h:1\nreplica b h:2\n",
		   "with 2 replicas: the read quorum R must be between 1 and N" },
	/* 55 */ { QUORUM_HEAD "write-quorum 1\nreplica a h:1\nreplica b h:2\n",
		   "write-quorum 1 and read-quorum 2 (the default) with 2 replicas: 2W > N" },
	/* Cluster: node lines and the election settings. */
	/* 56 */ { GOOD_HEAD THREE_REPLICAS "node 1 n1:7790\n",
		   "line 8: node lines need mode quorum" },
	/* 57 */ { QUORUM_HEAD THREE_REPLICAS "heartbeat-timeout 2s\n",
		   "line 9: heartbeat-timeout needs node lines" },
	/* 58 */ { QUORUM_HEAD THREE_REPLICAS "failback catchup\n",
		   "line 9: failback needs node lines" },
	/* 59 */ { "node 0 n1:7790\n", "line 1: a node id is a number from 1" },
	/* 60 */ { "node 4294967296 n1:7790\n", "a node id is a number from 1" },
	/* 61 */ { "node one n1:7790\n", "not 'one'" },
	/* 62 */ { "node 1 n1:7790\nnode 1 n2:7790\n", "line 2: node 1 given twice" },
	/* 63 */ { "node 1 n1:7790\nnode 2 N1:07790\n", "line 2: nodes 1 and 2 have the same address" },
	/* 64 */ { "node 1 n1\n", "not an address" },
	/* 65 */ { "node 1 n1:0\n", "not an address" },
	/* 66 */ { "node 1\n", "usage: node ID HOST:PORT" },
	/* 67 */ { "node 1 n1:1\nnode 2 n2:1\nnode 3 n3:1\nnode 4 n4:1\nnode 5 n5:1\n"
		   "node 6 n6:1\nnode 7 n7:1\nnode 8 n8:1\nnode 9 n9:1\n", "line 9: more than 8 nodes" },
	/* 68 */ { "heartbeat-interval 0ms\n", "heartbeat-interval is a duration from 1ms to 10m" },
	/* 69 */ { "election-ack-timeout 11m\n", "election-ack-timeout is a duration" },
	/* 70 */ { "coordinator-timeout 3\n", "not '3'" },
	/* 71 */ { "epoch-quorum-timeout 1s\nepoch-quorum-timeout 1s\n",
		   "line 2: 'epoch-quorum-timeout' given twice" },
	/* 72 */ { "failback always\n", "failback is 'never' or 'catchup', not 'always'" },
	/* 73 */ { "failback never\nfailback never\n", "line 2: 'failback' given twice" },
	/* 74 */ { "heartbeat-timeout 1s 2s\n", "exactly one value" },
};

TEST(cluster)
{
	static const char text[] = QUORUM_HEAD THREE_REPLICAS
		"node 3 192.0.2.3:7790\n"
		"node 1 192.0.2.1:7790\n"
		"node 2 [2001:db8::2]:7790\n"
		"heartbeat-interval 100ms\n"
		"heartbeat-timeout 1s\n"
		"election-ack-timeout 300ms\n"
		"coordinator-timeout 2s\n"
		"epoch-quorum-timeout 800ms\n"
		"failback catchup\n";
	struct qrep_config cfg;
	char err[256];

	ASSERT_EQ(0, qrep_config_parse(text, strlen(text), &cfg, err, sizeof(err)))
		TH_LOG("%s", err);
	ASSERT_EQ(3, cfg.nr_nodes);
	EXPECT_EQ(3, cfg.nodes[0].id);
	EXPECT_STREQ("192.0.2.3:7790", cfg.nodes[0].addr);
	EXPECT_EQ(1, cfg.nodes[1].id);
	EXPECT_STREQ("[2001:db8::2]:7790", cfg.nodes[2].addr);
	EXPECT_EQ(100, cfg.election.heartbeat_interval_ms);
	EXPECT_EQ(1000, cfg.election.heartbeat_timeout_ms);
	EXPECT_EQ(300, cfg.election.ack_timeout_ms);
	EXPECT_EQ(2000, cfg.election.coordinator_timeout_ms);
	EXPECT_EQ(800, cfg.election.quorum_timeout_ms);
	EXPECT_EQ(QREP_CONFIG_FAILBACK_CATCHUP, cfg.election.failback);
	EXPECT_EQ(2, cfg.write_quorum);
	ASSERT_NE(NULL, qrep_config_node(&cfg, 2));
	EXPECT_STREQ("[2001:db8::2]:7790", qrep_config_node(&cfg, 2)->addr);
	EXPECT_EQ(NULL, qrep_config_node(&cfg, 4));
}

/* Unset election settings stay 0: qrepd takes election.h's defaults. */
TEST(cluster_defaults)
{
	static const char text[] = QUORUM_HEAD THREE_REPLICAS
		"node 1 n1:7790\n";
	struct qrep_config cfg;
	char err[256];

	ASSERT_EQ(0, qrep_config_parse(text, strlen(text), &cfg, err, sizeof(err)))
		TH_LOG("%s", err);
	ASSERT_EQ(1, cfg.nr_nodes);
	EXPECT_EQ(0, cfg.election.heartbeat_interval_ms);
	EXPECT_EQ(0, cfg.election.heartbeat_timeout_ms);
	EXPECT_EQ(0, cfg.election.ack_timeout_ms);
	EXPECT_EQ(0, cfg.election.coordinator_timeout_ms);
	EXPECT_EQ(0, cfg.election.quorum_timeout_ms);
	EXPECT_EQ(QREP_CONFIG_FAILBACK_NEVER, cfg.election.failback);
}

TEST(no_cluster)
{
	static const char text[] = GOOD_HEAD THREE_REPLICAS;
	struct qrep_config cfg;
	char err[256];

	ASSERT_EQ(0, qrep_config_parse(text, strlen(text), &cfg, err, sizeof(err)));
	EXPECT_EQ(0, cfg.nr_nodes);
}

/* qrepctl up refuses a cluster resource, naming qrepd and --force. */
TEST(manual_up_of_cluster)
{
	static const char cluster[] = QUORUM_HEAD THREE_REPLICAS
		"node 1 n1:7790\n";
	static const char plain[] = QUORUM_HEAD THREE_REPLICAS;
	struct qrep_config cfg;
	char err[512] = "";

	ASSERT_EQ(0, qrep_config_parse(cluster, strlen(cluster), &cfg, err,
				       sizeof(err)));
	EXPECT_EQ(-EPERM, qrep_config_manual_up_check(&cfg, false, err,
						      sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "is a cluster resource (node lines)"))
		TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "qrepd elects its primary"));
	EXPECT_NE(NULL, strstr(err, "fence the elected primary"));
	EXPECT_NE(NULL, strstr(err, "qrepctl up --force"));
	EXPECT_EQ(0, qrep_config_manual_up_check(&cfg, true, err,
						 sizeof(err)));
	ASSERT_EQ(0, qrep_config_parse(plain, strlen(plain), &cfg, err,
				       sizeof(err)));
	EXPECT_EQ(0, qrep_config_manual_up_check(&cfg, false, err,
						 sizeof(err)));
}

TEST(bad_files)
{
	struct qrep_config cfg;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = qrep_config_parse(bad[i].text, strlen(bad[i].text),
					    &cfg, err, sizeof(err));

		EXPECT_EQ(-EINVAL, ret) TH_LOG("row %zu accepted", i + 1);
		EXPECT_NE(NULL, strstr(err, bad[i].message))
			TH_LOG("row %zu: got '%s', want '%s'", i + 1, err,
			       bad[i].message);
	}
}

TEST(long_line_and_nul)
{
	char text[2048];
	struct qrep_config cfg;
	char err[256];

	memset(text, 'x', sizeof(text));
	EXPECT_EQ(-EINVAL, qrep_config_parse(text, sizeof(text), &cfg, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "longer than"));
	memcpy(text, "resource r0\0\n", 13);
	EXPECT_EQ(-EINVAL, qrep_config_parse(text, 13, &cfg, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "NUL"));
}

TEST(durations)
{
	uint32_t ms;

	EXPECT_EQ(0, qrep_parse_duration_ms("250ms", &ms));
	EXPECT_EQ(250, ms);
	EXPECT_EQ(0, qrep_parse_duration_ms("2m", &ms));
	EXPECT_EQ(120000, ms);
	EXPECT_NE(0, qrep_parse_duration_ms("", &ms));
	EXPECT_NE(0, qrep_parse_duration_ms("s", &ms));
	EXPECT_NE(0, qrep_parse_duration_ms("5 s", &ms));
	EXPECT_NE(0, qrep_parse_duration_ms("-5s", &ms));
	EXPECT_NE(0, qrep_parse_duration_ms("5h", &ms));
}

TEST_HARNESS_MAIN
