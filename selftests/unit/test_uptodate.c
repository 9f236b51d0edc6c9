// SPDX-License-Identifier: GPL-2.0
/*
 * Which replicas are up to date at "up" (lib/uptodate.c): the rule per
 * region as a table, then the comparison and the fill end to end over
 * three qrep-target processes on 127.0.0.1, written to directly:
 *
 *   this test --- peer a --- qrep-target --- store a
 *             +-- peer b --- qrep-target --- store b
 *             \-- peer c --- qrep-target --- store c
 *
 * Covered: equal stores (nothing behind, no region compared block by
 * block); one replica behind with the same highest version as the other
 * (issue 14's scenario 2: it missed X, both took the newer Y); each
 * replica lacking a write another holds (none complete: the one lacking
 * least is filled, and then holds everything); a replica not connected
 * takes no part; a target that dies mid-way is named. Then the same on
 * a resource's connections, as qrepctl up makes them: the flags, the
 * fill in mirror mode only, and what is said. And the kernel's rule for
 * a replica that joins a running device (qrep_joiner_may_be_uptodate,
 * linux/qrep_data.h) as a table.
 *
 * The target binary is found as test_resync finds it: $QREP_TARGET_BIN,
 * or ../bin/qrep-target beside this test's folder (make unit builds it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/qrep_data.h>
#include <linux/qrep_quorum.h>

#include "kselftest_harness.h"
#include "target_proc.h"

#include "bytes.h"
#include "client.h"
#include "device.h"
#include "net.h"
#include "peer.h"
#include "store.h"
#include "uptodate.h"
#include "uuid.h"

#define BS		QREP_BLOCK_SIZE
#define RB		QREP_REGION_BLOCKS
/* Two whole regions and a part of a third. */
#define NBLOCKS		((uint64_t)2 * RB + 50)
#define DEV_UUID	"7a1d0c3e-5b6f-4e21-9d8c-2f4e6a8b0c1d"
#define EPOCH		1
#define NODES		3
/* Start-up and any one reply (a loaded machine, ASan). */
#define START_MS	5000
#define IO_MS		10000
#define STEP_MS		20
#define PORT_TRIES	5

/* ---- the rule, per region ------------------------------------------------ */

TEST(region_rule)
{
	static const uint64_t same[] = { 1, 2, 0, 7 };
	static const uint64_t older[] = { 1, 1, 0, 7 };	/* lacks block 1 */
	static const uint64_t other[] = { 1, 2, 3, 6 };	/* lacks block 3 */
	static const uint64_t newer[] = { 9, 9, 9, 9 };
	static const struct {
		const uint64_t *v[3];
		uint64_t want[3];
	} rows[] = {
		/* 0: equal */		{ { same, same, NULL }, { 0, 0, 0 } },
		/* 1: one behind */	{ { same, older, NULL }, { 0, 1, 0 } },
		/* 2: both lacking */	{ { older, other, NULL }, { 2, 1, 0 } },
		/* 3: not connected */	{ { same, same, newer }, { 4, 4, 0 } },
		/* 4: ...left out */	{ { same, NULL, newer }, { 4, 0, 0 } },
		/* 5: alone */		{ { NULL, older, NULL }, { 0, 0, 0 } },
		/* 6: none */		{ { NULL, NULL, NULL }, { 0, 0, 0 } },
	};
	uint64_t lacking[3];
	unsigned int r, k;

	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		memset(lacking, 0, sizeof(lacking));
		qrep_uptodate_region(rows[r].v, 3, 4, lacking);
		for (k = 0; k < 3; k++)
			EXPECT_EQ(rows[r].want[k], lacking[k])
				TH_LOG("row %u, replica %u", r, k);
	}
}

/*
 * The kernel's join (drivers/block/qrep/replica.c): up to date only if
 * user space did not flag it, it takes no failed replica's slot, the
 * device has sent neither a write nor a read, and it holds the highest
 * version seen. Row 6 is scenario 5's open part: a deposed primary's
 * orphan, newer than what the device served, on a replica that
 * `qrepctl reconnect` adds to a slot `up` left empty after reads.
 */
TEST(joiner_rule)
{
	const uint64_t e1 = qrep_version_base(1), e2 = qrep_version_base(2);
	const struct {
		int stale, reconnect, written, read;
		uint64_t max, dev;
		int want;
	} rows[] = {
		/* 0: one of those the device starts with */
		{ 0, 0, 0, 0, e1 + 5, e1 + 5, 1 },
		/* 1: user space found it behind */
		{ 1, 0, 0, 0, e1 + 5, e1 + 5, 0 },
		/* 2: a failed replica's return */
		{ 0, 1, 0, 0, e1 + 5, e1 + 5, 0 },
		/* 3: the device has written */
		{ 0, 0, 1, 0, e2 + 1, e2 + 1, 0 },
		/* 4: lacks the highest version seen */
		{ 0, 0, 0, 0, e1 + 4, e1 + 5, 0 },
		/* 5: newer data before any I/O: it counts, as at `up` */
		{ 0, 0, 0, 0, e1 + 9, e1 + 5, 1 },
		/* 6: newer data (an orphan) after reads: suspect */
		{ 0, 0, 0, 1, e1 + 9, e1 + 5, 0 },
		/* 7: after reads, even level with the device */
		{ 0, 0, 0, 1, e1 + 5, e1 + 5, 0 },
		/* 8: an older epoch's highest version, below the device's */
		{ 0, 0, 0, 0, e1 + 9, e2, 0 },
	};
	unsigned int r;

	/* Braces: EXPECT_EQ is two statements, its message handler the second. */
	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		EXPECT_EQ(rows[r].want,
			  qrep_joiner_may_be_uptodate(rows[r].stale,
						      rows[r].reconnect,
						      rows[r].written,
						      rows[r].read,
						      rows[r].max, rows[r].dev))
			TH_LOG("row %u", r);
	}
}

/* The replica to fill: the one lacking least, never when one is complete. */
TEST(pick_fill)
{
	struct qrep_peer p[3];
	struct qrep_uptodate u = { .nr = 3 };

	u.peers[0] = &p[0];
	u.peers[1] = &p[1];
	u.blocks_behind[0] = 5;
	u.blocks_behind[1] = 2;
	EXPECT_EQ(1, qrep_uptodate_pick_fill(&u));
	EXPECT_FALSE(qrep_uptodate_any_complete(&u));
	u.blocks_behind[0] = 2;
	EXPECT_EQ(0, qrep_uptodate_pick_fill(&u));	/* equals: lowest slot */
	u.peers[2] = &p[2];				/* complete */
	EXPECT_EQ(-1, qrep_uptodate_pick_fill(&u));
	EXPECT_TRUE(qrep_uptodate_any_complete(&u));
	u.peers[2] = NULL;
	u.peers[1] = NULL;				/* one connected */
	EXPECT_EQ(-1, qrep_uptodate_pick_fill(&u));
}

/*
 * Unsettled blocks (scenario 14): at version 0 on every replica taking
 * part, torn on at least one. A real version anywhere settles it (the
 * torn copies are behind it); a replica not taking part counts for
 * nothing.
 */
TEST(torn_rule)
{
	static const uint64_t v0[] = { 0, 0, 0, 0 };
	static const uint64_t v1[] = { 0, 3, 0, 0 };	/* block 1 written */
	static const bool t0[] = { true, true, false, false };
	static const bool t1[] = { false, false, true, false };
	static const bool none[] = { false, false, false, false };
	static const struct {
		const uint64_t *v[3];
		const bool *t[3];
		bool want[4];
	} rows[] = {
		/* 0: torn on all */	{ { v0, v0, v0 }, { t0, t0, t0 },
					  { 1, 1, 0, 0 } },
		/* 1: torn, never */	{ { v0, v0, NULL }, { t1, none, NULL },
					  { 0, 0, 1, 0 } },
		/* 2: a copy held */	{ { v0, v1, NULL }, { t0, none, NULL },
					  { 1, 0, 0, 0 } },
		/* 3: no torn flags */	{ { v0, v0, v0 }, { NULL, NULL, NULL },
					  { 0, 0, 0, 0 } },
		/* 4: torn, left out */	{ { v0, NULL, v0 }, { none, t0, none },
					  { 0, 0, 0, 0 } },
		/* 5: none taking part */ { { NULL, NULL, NULL },
					    { t0, t0, t0 }, { 0, 0, 0, 0 } },
	};
	bool got[4];
	unsigned int r, i, n;

	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		for (n = 0, i = 0; i < 4; i++)
			n += rows[r].want[i];
		EXPECT_EQ(n, qrep_uptodate_torn_region(rows[r].v, rows[r].t,
						       3, 4, got))
			TH_LOG("row %u", r);
		for (i = 0; i < 4; i++)
			EXPECT_EQ(rows[r].want[i], got[i])
				TH_LOG("row %u, block %u", r, i);
	}
}

/* ---- three targets --------------------------------------------------------- */

struct node {
	char name[2];
	char store[PATH_MAX];
	char log[PATH_MAX];
	char addr[64];
	pid_t pid;
	struct qrep_peer peer;
};

FIXTURE(targets)
{
	char bin[PATH_MAX];
	char dir[PATH_MAX - 128];
	uint8_t uuid[QREP_UUID_SIZE];
	struct node n[NODES];
	struct qrep_uptodate u;
	uint8_t buf[BS];
};

/* A target serving the store, and our connection: 0 or an error. */
static int node_serve(const char *bin, struct node *n, const uint8_t *uuid)
{
	struct qrep_client_device dev = { .size = NBLOCKS * BS, .epoch = EPOCH };
	struct qrep_hello_reply_msg hello;
	char err[256];
	char *serve[] = { (char *)bin, "serve", "--store", n->store,
			  "--listen", n->addr, "--threads", "2", NULL };
	int tries, waited, fd = -1;

	memcpy(dev.uuid, uuid, QREP_UUID_SIZE);
	for (tries = 0; tries < PORT_TRIES && fd < 0; tries++) {
		snprintf(n->addr, sizeof(n->addr), "127.0.0.1:%d",
			 tp_unused_port());
		n->pid = tp_launch(serve, n->log);
		for (waited = 0; waited < START_MS && fd < 0; waited += STEP_MS) {
			if (waitpid(n->pid, NULL, WNOHANG) == n->pid) {
				n->pid = 0;	/* the port was taken: again */
				break;
			}
			fd = qrep_client_open(n->addr, &dev, IO_MS, &hello, err,
					      sizeof(err));
			if (fd < 0)
				tp_nap(STEP_MS);
		}
	}
	if (fd < 0)
		return -ETIMEDOUT;
	qrep_sock_set_timeouts(fd, IO_MS, IO_MS);
	qrep_peer_init(&n->peer, fd, n->name, EPOCH);
	return 0;
}

/* A store, a target serving it, and our connection: 0 or an error. */
static int node_up(const char *bin, struct node *n, const uint8_t *uuid)
{
	char size[32];
	char *init[] = { (char *)bin, "init", "--store", n->store, "--size",
			 size, "--uuid", DEV_UUID, NULL };

	snprintf(size, sizeof(size), "%llu", (unsigned long long)(NBLOCKS * BS));
	if (tp_reap(tp_launch(init, n->log)))
		return -EIO;
	return node_serve(bin, n, uuid);
}

static void node_kill(struct node *n)
{
	qrep_peer_close(&n->peer);
	if (n->pid > 0) {
		kill(n->pid, SIGKILL);
		tp_reap(n->pid);
	}
	n->pid = 0;
}

FIXTURE_SETUP(targets)
{
	const char *tmp = getenv("TMPDIR");
	unsigned int k;

	memset(self->n, 0, sizeof(self->n));
	memset(&self->u, 0, sizeof(self->u));
	for (k = 0; k < NODES; k++)
		self->n[k].peer.fd = -1;
	ASSERT_TRUE(tp_locate_target(self->bin, sizeof(self->bin)))
		TH_LOG("no qrep-target at %s (make userspace)", self->bin);
	snprintf(self->dir, sizeof(self->dir), "%s/qrep-uptodate-XXXXXX",
		 tmp ? tmp : "/tmp");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, qrep_uuid_parse(DEV_UUID, self->uuid));
	for (k = 0; k < NODES; k++) {
		struct node *n = &self->n[k];

		n->name[0] = (char)('a' + k);
		snprintf(n->store, sizeof(n->store), "%s/%s.store", self->dir,
			 n->name);
		snprintf(n->log, sizeof(n->log), "%s/%s.log", self->dir,
			 n->name);
		ASSERT_EQ(0, node_up(self->bin, n, self->uuid))
			TH_LOG("target %s: see %s", n->name, n->log);
		self->u.peers[k] = &n->peer;
	}
	self->u.nr = NODES;
	self->u.dev_blocks = NBLOCKS;
}

FIXTURE_TEARDOWN(targets)
{
	char cmd[PATH_MAX + 32];
	unsigned int k;

	qrep_uptodate_release(&self->u);
	for (k = 0; k < NODES; k++)
		node_kill(&self->n[k]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
	if (system(cmd))
		TH_LOG("cannot remove %s", self->dir);
}

/* Block @b at version @v on node @k, its data made from both. */
static int put(FIXTURE_DATA(targets) *self, unsigned int k, uint64_t b,
	       uint64_t v)
{
	memset(self->buf, (int)(b * 31 + v), BS);
	return qrep_peer_call(&self->n[k].peer, QREP_OP_WRITE, 0, b, 1, v,
			      self->buf, NULL, NULL);
}

/* Node @k holds block @b at version @v, with the data put() wrote. */
static bool holds(FIXTURE_DATA(targets) *self, unsigned int k, uint64_t b,
		  uint64_t v)
{
	uint8_t want[BS], version[8];

	memset(want, (int)(b * 31 + v), BS);
	if (qrep_peer_call(&self->n[k].peer, QREP_OP_READ, 0, b, 1, 0, NULL,
			   version, self->buf))
		return false;
	return qrep_get_be64(version) == v && memcmp(want, self->buf, BS) == 0;
}

/* The X and Y of the scenarios: X in region 0, Y in the last region. */
#define X	20
#define Y	(2 * RB + 10)

TEST_F(targets, equal_stores)
{
	unsigned int k;

	for (k = 0; k < NODES; k++) {
		ASSERT_EQ(0, put(self, k, X, 1));
		ASSERT_EQ(0, put(self, k, Y, 2));
	}
	ASSERT_EQ(0, qrep_uptodate_compare(&self->u));
	for (k = 0; k < NODES; k++) {
		EXPECT_EQ(0U, self->u.blocks_behind[k]);
		EXPECT_EQ(0U, self->u.regions_behind[k]);
	}
	EXPECT_EQ(3U, self->u.regions);
	EXPECT_EQ(0U, self->u.regions_compared);	/* summaries agreed */
	EXPECT_EQ(-1, qrep_uptodate_pick_fill(&self->u));
}

/*
 * Scenario 2: b missed X (version 2 of block 20), then both took Y
 * (version 3): the same highest version, b behind in region 0 only.
 */
TEST_F(targets, one_behind_at_equal_max_version)
{
	unsigned int k;

	for (k = 0; k < NODES; k++)
		ASSERT_EQ(0, put(self, k, X, 1));
	ASSERT_EQ(0, put(self, 0, X, 2));
	ASSERT_EQ(0, put(self, 2, X, 2));
	for (k = 0; k < NODES; k++)
		ASSERT_EQ(0, put(self, k, Y, 3));
	ASSERT_EQ(0, qrep_uptodate_compare(&self->u));
	EXPECT_EQ(0U, self->u.blocks_behind[0]);
	EXPECT_EQ(1U, self->u.blocks_behind[1]);
	EXPECT_EQ(1U, self->u.regions_behind[1]);
	EXPECT_EQ(1U, self->u.behind[1][0]);		/* region 0 */
	EXPECT_EQ(0U, self->u.blocks_behind[2]);
	EXPECT_EQ(1U, self->u.regions_compared);
	EXPECT_TRUE(qrep_uptodate_any_complete(&self->u));
	EXPECT_EQ(-1, qrep_uptodate_pick_fill(&self->u));
}

/*
 * a lacks Y, b lacks X and Y (c not connected): none complete; a, which
 * lacks least, is filled from b, and then holds everything.
 */
TEST_F(targets, both_lacking_one_filled)
{
	uint64_t copied = 0;

	self->u.peers[2] = NULL;
	ASSERT_EQ(0, put(self, 0, X, 2));
	ASSERT_EQ(0, put(self, 0, RB + 1, 4));
	ASSERT_EQ(0, put(self, 1, X, 1));
	ASSERT_EQ(0, put(self, 1, Y, 3));
	ASSERT_EQ(0, put(self, 1, Y + 1, 5));
	ASSERT_EQ(0, qrep_uptodate_compare(&self->u));
	EXPECT_EQ(2U, self->u.blocks_behind[0]);	/* Y, Y + 1 */
	EXPECT_EQ(1U, self->u.regions_behind[0]);
	EXPECT_EQ(2U, self->u.blocks_behind[1]);	/* X, RB + 1 */
	EXPECT_EQ(2U, self->u.regions_behind[1]);
	EXPECT_FALSE(qrep_uptodate_any_complete(&self->u));
	ASSERT_EQ(0, qrep_uptodate_pick_fill(&self->u));
	ASSERT_EQ(0, qrep_uptodate_fill(&self->u, 0, &copied));
	EXPECT_EQ(2U, copied);
	EXPECT_TRUE(holds(self, 0, X, 2));		/* its own, kept */
	EXPECT_TRUE(holds(self, 0, Y, 3));
	EXPECT_TRUE(holds(self, 0, Y + 1, 5));
	EXPECT_TRUE(holds(self, 1, X, 1));		/* b untouched */
	ASSERT_EQ(0, qrep_uptodate_compare(&self->u));
	EXPECT_EQ(0U, self->u.blocks_behind[0]);
	EXPECT_EQ(2U, self->u.blocks_behind[1]);
	EXPECT_TRUE(qrep_uptodate_any_complete(&self->u));
}

/* c holds a newer X; not connected, it takes no part; connected, it does. */
TEST_F(targets, disconnected_replica_left_out)
{
	unsigned int k;

	for (k = 0; k < NODES; k++)
		ASSERT_EQ(0, put(self, k, X, 1));
	ASSERT_EQ(0, put(self, 2, X, 2));
	self->u.peers[2] = NULL;
	ASSERT_EQ(0, qrep_uptodate_compare(&self->u));
	EXPECT_EQ(0U, self->u.blocks_behind[0]);
	EXPECT_EQ(0U, self->u.blocks_behind[1]);
	EXPECT_EQ(0U, self->u.blocks_behind[2]);
	EXPECT_EQ(0U, self->u.regions_compared);
	self->u.peers[2] = &self->n[2].peer;
	ASSERT_EQ(0, qrep_uptodate_compare(&self->u));
	EXPECT_EQ(1U, self->u.blocks_behind[0]);
	EXPECT_EQ(1U, self->u.blocks_behind[1]);
	EXPECT_EQ(0U, self->u.blocks_behind[2]);
}

/* A target that is gone is named, so the caller can go on without it. */
TEST_F(targets, dead_target_named)
{
	kill(self->n[1].pid, SIGKILL);
	tp_reap(self->n[1].pid);
	self->n[1].pid = 0;
	EXPECT_GT(0, qrep_uptodate_compare(&self->u));
	EXPECT_EQ(1, self->u.failed);
	self->u.peers[1] = NULL;
	EXPECT_EQ(0, qrep_uptodate_compare(&self->u));
	EXPECT_EQ(-1, self->u.failed);
}

/* ---- on a device's connections (qrepctl up, qrepd) --------------------- */

struct notes {
	char text[4096];
};

static void note_keep(void *arg, const char *msg)
{
	struct notes *n = arg;
	size_t len = strlen(n->text);

	snprintf(n->text + len, sizeof(n->text) - len, "%s\n", msg);
}

/*
 * A resource over a and b (c not connected), their connections as up
 * makes them: a holds X at 2 (highest 2), b X at 1 and Y at 3 (highest 3).
 */
static void conns_setup(FIXTURE_DATA(targets) *self, struct qrep_config *cfg,
			struct qrep_replica_conn *conns, uint32_t mode)
{
	unsigned int k;

	memset(cfg, 0, sizeof(*cfg));
	cfg->size = NBLOCKS * BS;
	cfg->mode = mode;
	cfg->io_timeout_ms = IO_MS;
	cfg->nr_replicas = NODES;
	cfg->write_quorum = 2;
	cfg->read_quorum = 2;
	qrep_replica_conns_init(conns, NODES);
	for (k = 0; k < NODES; k++) {
		snprintf(cfg->replicas[k].name, sizeof(cfg->replicas[k].name),
			 "%s", self->n[k].name);
		conns[k].hello.epoch = EPOCH;
	}
	conns[0].fd = self->n[0].peer.fd;
	conns[0].hello.max_version = 2;
	conns[1].fd = self->n[1].peer.fd;
	conns[1].hello.max_version = 3;
}

static void conns_done(FIXTURE_DATA(targets) *self,
		       struct qrep_replica_conn *conns)
{
	unsigned int k;

	/* A connection find_stale closed is closed for the peer too. */
	for (k = 0; k < 2; k++)
		if (conns[k].fd < 0)
			self->n[k].peer.fd = -1;
}

TEST_F(targets, conns_mirror_fills_and_flags)
{
	struct qrep_replica_conn conns[NODES];
	struct notes notes = { "" };
	struct qrep_config cfg;

	ASSERT_EQ(0, put(self, 0, X, 2));
	ASSERT_EQ(0, put(self, 1, X, 1));
	ASSERT_EQ(0, put(self, 1, Y, 3));
	conns_setup(self, &cfg, conns, QREP_MODE_MIRROR);
	EXPECT_EQ(0, qrep_replica_conns_find_stale(&cfg, conns, note_keep,
						   &notes));
	conns_done(self, conns);
	TH_LOG("%s", notes.text);
	ASSERT_LE(0, conns[0].fd);
	ASSERT_LE(0, conns[1].fd);
	EXPECT_FALSE(conns[0].stale);
	EXPECT_TRUE(conns[1].stale);
	EXPECT_FALSE(conns[2].stale);
	/* a now holds Y: the kernel must not find b newer than it. */
	EXPECT_EQ(3U, conns[0].hello.max_version);
	EXPECT_TRUE(holds(self, 0, Y, 3));
	EXPECT_NE(NULL, strstr(notes.text, "no replica holds every write the others hold: filling replica a (behind in 1 block)"));
	EXPECT_NE(NULL, strstr(notes.text, "replica a filled: 1 block copied"));
	EXPECT_NE(NULL, strstr(notes.text, "replica b is behind in 1 region (1 block): it serves no reads until resynced"));
}

/* Quorum mode marks both stale and copies nothing. */
TEST_F(targets, conns_quorum_flags_only)
{
	struct qrep_replica_conn conns[NODES];
	struct notes notes = { "" };
	struct qrep_config cfg;

	ASSERT_EQ(0, put(self, 0, X, 2));
	ASSERT_EQ(0, put(self, 1, X, 1));
	ASSERT_EQ(0, put(self, 1, Y, 3));
	conns_setup(self, &cfg, conns, QREP_MODE_QUORUM);
	EXPECT_EQ(0, qrep_replica_conns_find_stale(&cfg, conns, note_keep,
						   &notes));
	conns_done(self, conns);
	TH_LOG("%s", notes.text);
	EXPECT_TRUE(conns[0].stale);
	EXPECT_TRUE(conns[1].stale);
	EXPECT_EQ(2U, conns[0].hello.max_version);
	EXPECT_TRUE(holds(self, 0, X, 2));
	EXPECT_FALSE(holds(self, 0, Y, 3));
	EXPECT_EQ(NULL, strstr(notes.text, "filling"));
	EXPECT_NE(NULL, strstr(notes.text, "replica a is behind in 1 region (1 block): it is stale until resynced"));
}

/* Every replica equal: none stale, nothing said. */
TEST_F(targets, conns_equal_nothing_said)
{
	struct qrep_replica_conn conns[NODES];
	struct notes notes = { "" };
	struct qrep_config cfg;

	ASSERT_EQ(0, put(self, 0, X, 2));
	ASSERT_EQ(0, put(self, 1, X, 2));
	conns_setup(self, &cfg, conns, QREP_MODE_MIRROR);
	EXPECT_EQ(0, qrep_replica_conns_find_stale(&cfg, conns, note_keep,
						   &notes));
	conns_done(self, conns);
	EXPECT_FALSE(conns[0].stale);
	EXPECT_FALSE(conns[1].stale);
	EXPECT_STREQ("", notes.text);
}

/* ---- the epoch `up` reserves (lib/device.c) ------------------------------ */

/* All three connected, as `up` connects them: each at its store's EPOCH. */
static void conns_all(FIXTURE_DATA(targets) *self, struct qrep_config *cfg,
		      struct qrep_replica_conn *conns, uint32_t mode)
{
	conns_setup(self, cfg, conns, mode);
	conns[2].fd = self->n[2].peer.fd;
}

/* A connection reserve closed is closed for the peer too. */
static void conns_all_done(FIXTURE_DATA(targets) *self,
			   struct qrep_replica_conn *conns)
{
	unsigned int k;

	for (k = 0; k < NODES; k++)
		if (conns[k].fd < 0)
			self->n[k].peer.fd = -1;
}

/* Node @k refuses a write of the peer's old EPOCH as fenced. */
static bool fenced(FIXTURE_DATA(targets) *self, unsigned int k)
{
	return put(self, k, X, 7) == -EREMOTEIO &&
	       self->n[k].peer.status == QREP_ERR_EPOCH;
}

/* One above what the stores hold; every one holds it; the old is fenced. */
TEST_F(targets, reserve_epoch_fences_the_old)
{
	struct qrep_replica_conn conns[NODES];
	struct notes notes = { "" };
	struct qrep_config cfg;
	uint64_t epoch = 0;
	unsigned int k;

	ASSERT_EQ(0, put(self, 0, X, 2));	/* the old device writes */
	conns_all(self, &cfg, conns, QREP_MODE_MIRROR);
	EXPECT_EQ(0, qrep_replica_conns_reserve_epoch(&cfg, conns, &epoch,
						      note_keep, &notes));
	conns_all_done(self, conns);
	TH_LOG("%s", notes.text);
	EXPECT_EQ(EPOCH + 1, epoch);
	EXPECT_STREQ("", notes.text);
	for (k = 0; k < NODES; k++) {
		ASSERT_LE(0, conns[k].fd);
		EXPECT_EQ(EPOCH + 1, conns[k].hello.epoch);
		EXPECT_TRUE(fenced(self, k)) TH_LOG("node %u", k);
	}
	/* What the old device wrote stays, read at the new epoch. */
	self->n[0].peer.epoch = epoch;
	EXPECT_TRUE(holds(self, 0, X, 2));
}

/*
 * b took a newer epoch after our hello (another device's `up`): the
 * first proposal is refused there, the next goes above it.
 */
TEST_F(targets, reserve_epoch_outbids_a_taken_one)
{
	struct qrep_replica_conn conns[NODES];
	struct notes notes = { "" };
	struct qrep_config cfg;
	uint64_t epoch = 0, held = 0;
	bool accepted = false;
	unsigned int k;

	ASSERT_EQ(0, qrep_peer_propose_epoch(&self->n[1].peer, 5, &accepted,
					     &held));
	ASSERT_TRUE(accepted);
	conns_all(self, &cfg, conns, QREP_MODE_QUORUM);
	EXPECT_EQ(0, qrep_replica_conns_reserve_epoch(&cfg, conns, &epoch,
						      note_keep, &notes));
	conns_all_done(self, conns);
	TH_LOG("%s", notes.text);
	EXPECT_EQ(6U, epoch);
	EXPECT_NE(NULL, strstr(notes.text, "replica b already holds epoch 5"));
	for (k = 0; k < NODES; k++)
		EXPECT_EQ(6U, conns[k].hello.epoch);
	/* What the first round left at a: the second raised it again. */
	ASSERT_EQ(0, qrep_peer_propose_epoch(&self->n[0].peer, 6, &accepted,
					     &held));
	EXPECT_FALSE(accepted);
	EXPECT_EQ(6U, held);
}

/* No newer epoch fits a version: refused, said, nothing raised. */
TEST_F(targets, reserve_epoch_none_left)
{
	struct qrep_replica_conn conns[NODES];
	struct notes notes = { "" };
	struct qrep_config cfg;
	uint64_t epoch = 0, held = 0;
	bool accepted = false;

	ASSERT_EQ(0, qrep_peer_propose_epoch(&self->n[2].peer,
					     QREP_MAX_QUORUM_EPOCH, &accepted,
					     &held));
	conns_all(self, &cfg, conns, QREP_MODE_MIRROR);
	conns[2].hello.epoch = QREP_MAX_QUORUM_EPOCH;
	EXPECT_EQ(-ERANGE, qrep_replica_conns_reserve_epoch(&cfg, conns,
							    &epoch, note_keep,
							    &notes));
	conns_all_done(self, conns);
	EXPECT_NE(NULL, strstr(notes.text, "no newer one fits a version"));
	EXPECT_FALSE(fenced(self, 0));
}

/* c dies: quorum mode goes on with W = 2, mirror mode cannot. */
TEST_F(targets, reserve_epoch_without_a_dead_target)
{
	struct qrep_replica_conn conns[NODES];
	struct notes notes = { "" };
	struct qrep_config cfg;
	uint64_t epoch = 0, held = 0;
	pid_t pid = self->n[2].pid;
	bool accepted;

	kill(pid, SIGKILL);
	tp_reap(pid);
	self->n[2].pid = 0;
	conns_all(self, &cfg, conns, QREP_MODE_QUORUM);
	EXPECT_EQ(0, qrep_replica_conns_reserve_epoch(&cfg, conns, &epoch,
						      note_keep, &notes));
	conns_all_done(self, conns);
	TH_LOG("%s", notes.text);
	EXPECT_EQ(EPOCH + 1, epoch);
	EXPECT_EQ(-1, conns[2].fd);
	EXPECT_NE(NULL, strstr(notes.text, "replica c: cannot reserve epoch 2"));

	/* Mirror mode: the same, but c is needed. */
	memset(&notes, 0, sizeof(notes));
	conns_all(self, &cfg, conns, QREP_MODE_MIRROR);
	conns[2].fd = -1;
	conns[0].hello.epoch = epoch;
	conns[1].hello.epoch = epoch;
	EXPECT_EQ(-EIO, qrep_replica_conns_reserve_epoch(&cfg, conns, &epoch,
							 note_keep, &notes));
	conns_all_done(self, conns);
	/* Nothing proposed: a still takes epoch 3. */
	accepted = false;
	EXPECT_EQ(0, qrep_peer_propose_epoch(&self->n[0].peer, 3, &accepted,
					     &held));
	EXPECT_TRUE(accepted);
	EXPECT_NE(NULL, strstr(notes.text, "only 2 of 3 targets answer; mirror mode needs 3"));
}

/* ---- torn blocks no replica holds whole (scenario 14) ------------------ */

/*
 * Node @k loses power while it rewrites block @b: the record and intent
 * bit reached its disk, the data is a mix no record vouches for (bytes
 * @junk). It comes back, finds @b torn and holds it at version 0.
 */
static int tear(FIXTURE_DATA(targets) *self, unsigned int k, uint64_t b,
		uint64_t v, int junk)
{
	struct qrep_store *s;
	uint64_t at;
	int fd, err;

	err = put(self, k, b, v);
	if (err)
		return err;
	node_kill(&self->n[k]);
	err = qrep_store_open(self->n[k].store, QREP_STORE_RDONLY, &s, NULL, 0);
	if (err)
		return err;
	at = qrep_store_info(s)->data_offset + b * BS;
	qrep_store_close(s);
	memset(self->buf, junk, BS);
	fd = open(self->n[k].store, O_WRONLY);
	if (fd < 0)
		return -errno;
	err = pwrite(fd, self->buf, BS, (off_t)at) == BS ? 0 : -EIO;
	close(fd);
	return err ? err : node_serve(self->bin, &self->n[k], self->uuid);
}

/* Node @k holds block @b at version @v as zeros. */
static bool holds_zeros(FIXTURE_DATA(targets) *self, unsigned int k,
			uint64_t b, uint64_t v)
{
	static const uint8_t zeros[BS];
	uint8_t version[8];

	if (qrep_peer_call(&self->n[k].peer, QREP_OP_READ, 0, b, 1, 0, NULL,
			   version, self->buf))
		return false;
	return qrep_get_be64(version) == v && memcmp(zeros, self->buf, BS) == 0;
}

/*
 * Scenario 14: every replica lost power with a rewrite of X in flight
 * and kept it torn, each with other bytes; Y written everywhere. No copy
 * is newer than another, so before the fix all three came up "up to
 * date" with X unreadable on each and the copies different. Now X is
 * written as zeros at one version of the epoch on all three, above
 * every version they hold (the kernel is told so), in either mode.
 */
static void torn_everywhere(FIXTURE_DATA(targets) *self,
			    struct __test_metadata *_metadata, uint32_t mode)
{
	const uint64_t v = qrep_version_base(EPOCH) + 1;
	struct qrep_replica_conn conns[NODES];
	struct notes notes = { "" };
	struct qrep_config cfg;
	unsigned int k;

	for (k = 0; k < NODES; k++) {
		ASSERT_EQ(0, put(self, k, Y, 3));
		ASSERT_EQ(0, tear(self, k, X, 2, 0x40 + (int)k))
			TH_LOG("node %s: see %s", self->n[k].name,
			       self->n[k].log);
		ASSERT_FALSE(holds(self, k, X, 2));
	}
	conns_all(self, &cfg, conns, mode);
	for (k = 0; k < NODES; k++) {
		conns[k].fd = self->n[k].peer.fd;
		conns[k].hello.max_version = 3;
	}
	EXPECT_EQ(0, qrep_replica_conns_find_stale(&cfg, conns, note_keep,
						   &notes));
	TH_LOG("%s", notes.text);
	EXPECT_NE(NULL, strstr(notes.text, "1 block (the first 20) torn where no replica holds a valid copy"));
	for (k = 0; k < NODES; k++) {
		ASSERT_LE(0, conns[k].fd);
		EXPECT_FALSE(conns[k].stale);
		EXPECT_EQ(v, conns[k].hello.max_version);
		EXPECT_TRUE(holds_zeros(self, k, X, v)) TH_LOG("node %u", k);
		EXPECT_TRUE(holds(self, k, Y, 3));
	}
	/* Settled for good: compared again, nothing torn, nothing behind. */
	ASSERT_EQ(0, qrep_uptodate_compare(&self->u));
	EXPECT_EQ(0U, self->u.nr_torn);
	for (k = 0; k < NODES; k++)
		EXPECT_EQ(0U, self->u.blocks_behind[k]);
	EXPECT_EQ(0U, self->u.regions_compared);
}

TEST_F(targets, torn_everywhere_settled_mirror)
{
	torn_everywhere(self, _metadata, QREP_MODE_MIRROR);
}

TEST_F(targets, torn_everywhere_settled_quorum)
{
	torn_everywhere(self, _metadata, QREP_MODE_QUORUM);
}

/*
 * a keeps X torn, b never got it (c not connected): b's copy, a block
 * never written, is the only valid one, and X is zeros on both.
 */
TEST_F(targets, torn_beside_never_written_settled)
{
	const uint64_t v = qrep_version_base(EPOCH) + 1;
	struct qrep_replica_conn conns[NODES];
	struct notes notes = { "" };
	struct qrep_config cfg;

	ASSERT_EQ(0, tear(self, 0, X, 2, 0x40));
	conns_setup(self, &cfg, conns, QREP_MODE_QUORUM);
	conns[0].fd = self->n[0].peer.fd;
	EXPECT_EQ(0, qrep_replica_conns_find_stale(&cfg, conns, note_keep,
						   &notes));
	conns_done(self, conns);
	TH_LOG("%s", notes.text);
	EXPECT_TRUE(holds_zeros(self, 0, X, v));
	EXPECT_TRUE(holds_zeros(self, 1, X, v));
	EXPECT_FALSE(conns[0].stale);
	EXPECT_FALSE(conns[1].stale);
}

TEST_HARNESS_MAIN
