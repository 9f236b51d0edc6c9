// SPDX-License-Identifier: GPL-2.0
/*
 * The resync copy engine (lib/resync.c) end to end: two qrep-target
 * processes on 127.0.0.1, one the source and one the destination, each
 * reached through a lib/peer.c connection that the test also uses to set
 * up and inspect the stores.
 *
 *   this test --- peer "src" --- qrep-target --- store src
 *             \-- peer "dst" --- qrep-target --- store dst
 *
 * The device has 300 whole regions and a last one of 100 blocks, so a
 * bitmap over all of it is two batches of regions. Covered: only marked
 * regions change and each is reported done exactly once; a newer block
 * on the destination is kept; a corrupt copy of the source's version is
 * repaired once the engine checks the destination's data (check_data),
 * and is invisible to versions alone; summaries skip the regions that
 * agree; what crosses the wire is the copied data plus small headers;
 * the source or the destination dying mid-way stops the copy and says
 * which one; a caller's error from regions_done stops it too. With a
 * third target as a second source (quorum mode): each block comes from
 * the source holding its newest version, summaries must agree on every
 * source, and a failing source is named and can be dropped. Last,
 * lib/peer.c's checks of a reply against its request, with a scripted
 * target on a socketpair.
 *
 * The target binary is found as test_target_e2e finds it: next to this
 * test's build folder (../bin/qrep-target) or in $QREP_TARGET_BIN. Without
 * it, every test fails (make unit builds it first).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/qrep_quorum.h>

#include "kselftest_harness.h"
#include "target_proc.h"

#include "bytes.h"
#include "client.h"
#include "net.h"
#include "peer.h"
#include "resync.h"
#include "store.h"
#include "uuid.h"

#define BS		QREP_BLOCK_SIZE
#define RB		QREP_REGION_BLOCKS
#define LAST_REGION	300U
#define NREGIONS	(LAST_REGION + 1)
#define LAST_LEN	100U		/* blocks in the last region */
#define NBLOCKS		((uint64_t)LAST_REGION * RB + LAST_LEN)
#define DEV_UUID	"5c0ffee0-1d2b-4c3d-8e9f-0a1b2c3d4e5f"
#define EPOCH		1
#define BITMAP_WORDS	((NREGIONS + 31) / 32)
/* A request header: all that a request without data costs on the wire. */
#define HDR		QREP_REQ_SIZE
/* Start-up, and any one reply (generous: a loaded machine, ASan). */
#define START_MS	5000
#define IO_MS		10000
#define STEP_MS		20
#define PORT_TRIES	5

/* One qrep-target and the test's connection to it. */
struct node {
	const char *name;
	char store[PATH_MAX];
	char log[PATH_MAX];
	char stats[PATH_MAX];		/* its counters, at exit */
	char addr[64];
	pid_t pid;
	struct qrep_peer peer;
};

/* What the engine's callbacks saw, and what they are to do. */
struct watch {
	uint32_t done[NREGIONS];	/* times reported done */
	uint64_t lo, hi;		/* the range handed to the engine */
	const uint32_t *bits;		/* ... and its bitmap */
	int stray;			/* reports outside it, or unmarked */
	int done_calls;
	int done_ret;			/* regions_done's answer */
	int throttles;
	int progresses;
	uint64_t progress_done;		/* regions_done, last progress */
	int kill_at;			/* throttle call killing victim */
	struct node *victim;
	unsigned int rollback_srcs;	/* run_engine_from's job's */
};

FIXTURE(resync)
{
	char bin[PATH_MAX];
	char dir[PATH_MAX - 128];
	uint8_t uuid[QREP_UUID_SIZE];
	struct node src, dst;
	struct node src2;		/* a second source, on demand */
	uint8_t *buf;			/* QREP_MAX_REQ_BLOCKS blocks */
	uint8_t *rbuf;
	uint8_t meta[QREP_MAX_REQ_BLOCKS * QREP_BLOCK_CHECK_SIZE];
	uint8_t rversions[QREP_MAX_REQ_BLOCKS * 8];
	uint32_t bits[BITMAP_WORDS];
	struct watch w;
};

/* ---- the target processes ----------------------------------------------- */

static bool log_mentions(const char *path, const char *what)
{
	char text[32768];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return false;
	text[n] = '\0';
	return strstr(text, what) != NULL;
}

static int node_make_store(const char *bin, struct node *n)
{
	char size[32];
	char *argv[] = { (char *)bin, "init", "--store", n->store, "--size",
			 size, "--uuid", DEV_UUID, NULL };

	snprintf(size, sizeof(size), "%llu",
		 (unsigned long long)(NBLOCKS * BS));
	return tp_reap(tp_launch(argv, n->log));
}

/*
 * Runs "serve" until it accepts a connection. 0, the exit code of a
 * target that gave up, or -errno.
 */
static int node_serve(const char *bin, struct node *n)
{
	char *argv[] = { (char *)bin, "serve", "--store", n->store,
			 "--listen", n->addr, "--threads", "2",
			 "--stats-file", n->stats, NULL };
	int tries, waited, st, fd;

	for (tries = 0; tries < PORT_TRIES; tries++) {
		snprintf(n->addr, sizeof(n->addr), "127.0.0.1:%d",
			 tp_unused_port());
		n->pid = tp_launch(argv, n->log);
		for (waited = 0; waited < START_MS; waited += STEP_MS) {
			if (waitpid(n->pid, &st, WNOHANG) == n->pid) {
				n->pid = 0;
				break;
			}
			fd = qrep_connect(n->addr, IO_MS);
			if (fd >= 0) {
				close(fd);
				return 0;
			}
			tp_nap(STEP_MS);
		}
		if (n->pid) {
			kill(n->pid, SIGKILL);
			tp_reap(n->pid);
			n->pid = 0;
			return -ETIMEDOUT;
		}
		if (!log_mentions(n->log, "address already in use"))
			return WIFEXITED(st) ? WEXITSTATUS(st) : -ECHILD;
	}
	return -EADDRINUSE;
}

/* Handshake as a resync tool does, then a peer with I/O timeouts. */
static int node_connect(struct node *n, const uint8_t *uuid)
{
	struct qrep_client_device dev = { .size = NBLOCKS * BS,
					  .epoch = EPOCH };
	struct qrep_hello_reply_msg hello;
	char err[256];
	int fd;

	memcpy(dev.uuid, uuid, QREP_UUID_SIZE);
	fd = qrep_client_open(n->addr, &dev, IO_MS, &hello, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "# %s: %s\n", n->name, err);
		return fd;
	}
	qrep_sock_set_timeouts(fd, IO_MS, IO_MS);
	qrep_peer_init(&n->peer, fd, n->name, EPOCH);
	return 0;
}

static int node_up(const char *bin, struct node *n, const uint8_t *uuid)
{
	int err = node_make_store(bin, n);

	if (!err)
		err = node_serve(bin, n);
	if (!err)
		err = node_connect(n, uuid);
	return err;
}

/* Closes our connection and stops the target; its exit code. */
static int node_stop(struct node *n)
{
	int rc;

	qrep_peer_close(&n->peer);
	if (n->pid <= 0)
		return -1;
	kill(n->pid, SIGTERM);
	rc = tp_reap(n->pid);
	n->pid = 0;
	return rc;
}

/* A counter from a stopped target's stats file ("key value"), or -1. */
static long long stat_of(const struct node *n, const char *key)
{
	char line[256], name[128];
	long long val, found = -1;
	FILE *f = fopen(n->stats, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %lld", name, &val) == 2 &&
		    strcmp(name, key) == 0)
			found = val;
	fclose(f);
	return found;
}

/* A stopped target's counters, from its stats file. */
struct counters {
	long long received;		/* all bytes, less the handshake */
	long long writes, write_bytes, ignored;
	long long reads, versions, checksums, summaries;
};

static void read_counters(const struct node *n, struct counters *c)
{
	c->received = stat_of(n, "bytes_received") - QREP_HELLO_SIZE;
	c->writes = stat_of(n, "write_requests");
	c->write_bytes = stat_of(n, "write_bytes_received");
	c->ignored = stat_of(n, "write_blocks_ignored");
	c->reads = stat_of(n, "read_requests");
	c->versions = stat_of(n, "versions_requests");
	c->checksums = stat_of(n, "checksums_requests");
	c->summaries = stat_of(n, "summary_requests");
}

/*
 * Stops a target, takes what it counted since it started (one
 * handshake: ours), and serves the same store again with fresh counters.
 */
static int node_restart(const char *bin, struct node *n, const uint8_t *uuid,
			struct counters *c)
{
	int err = node_stop(n);

	if (err)
		return err > 0 ? -ECHILD : err;
	read_counters(n, c);
	err = node_serve(bin, n);
	if (!err)
		err = node_connect(n, uuid);
	return err;
}

/* Takes the target down hard, as a crash would. */
static void node_kill(struct node *n)
{
	if (n->pid > 0) {
		kill(n->pid, SIGKILL);
		tp_reap(n->pid);
	}
	n->pid = 0;
}

/* ---- data and inspection ------------------------------------------------ */

/* The content a write of version v gives block b, on any replica. */
static void pattern(uint8_t *p, uint64_t b, uint64_t v)
{
	uint64_t x = b * 0x9e3779b97f4a7c15ULL ^ (v << 17) ^ 0x5bd1e995ULL;
	size_t i;

	for (i = 0; i < BS; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		qrep_put_le64(p + i, x);
	}
}

static bool has_pattern(const uint8_t *p, uint64_t b, uint64_t v)
{
	uint8_t want[BS];

	pattern(want, b, v);
	return memcmp(p, want, BS) == 0;
}

/* Writes [b, b + n) at version v over a node's peer; 0 or -errno. */
static int put(FIXTURE_DATA(resync) *self, struct node *n, uint64_t b,
	       uint32_t cnt, uint64_t v)
{
	uint32_t i;

	for (i = 0; i < cnt; i++)
		pattern(self->buf + (size_t)i * BS, b + i, v);
	return qrep_peer_call(&n->peer, QREP_OP_WRITE, 0, b, cnt, v, self->buf,
			      NULL, NULL);
}

/* The versions of region r (all its blocks) as a node's VERSIONS says. */
static int region_versions(FIXTURE_DATA(resync) *self, struct node *n,
			   uint32_t r, uint64_t *out, uint32_t *len)
{
	uint32_t cnt = r == LAST_REGION ? LAST_LEN : RB, i;
	int err;

	err = qrep_peer_call(&n->peer, QREP_OP_VERSIONS, 0, (uint64_t)r * RB,
			     cnt, 0, NULL, self->meta, NULL);
	if (err)
		return err;
	for (i = 0; i < cnt; i++)
		out[i] = qrep_get_be64(self->meta + i * 8);
	*len = cnt;
	return 0;
}

/* Whether a region holds the same versions on both sides. */
static bool same_region(FIXTURE_DATA(resync) *self, uint32_t r)
{
	uint64_t a[RB], b[RB];
	uint32_t la = 0, lb = 0;

	if (region_versions(self, &self->src, r, a, &la) ||
	    region_versions(self, &self->dst, r, b, &lb))
		return false;
	return la == lb && memcmp(a, b, la * sizeof(a[0])) == 0;
}

/* Whether a region of a node has no block written. */
static bool empty_region(FIXTURE_DATA(resync) *self, struct node *n,
			 uint32_t r)
{
	uint64_t v[RB];
	uint32_t len = 0, i;

	if (region_versions(self, n, r, v, &len))
		return false;
	for (i = 0; i < len; i++)
		if (v[i])
			return false;
	return true;
}

/* A block as a node's READ gives it: 0 if it is version v's content. */
static int block_is(FIXTURE_DATA(resync) *self, struct node *n, uint64_t b,
		    uint64_t v)
{
	int err = qrep_peer_call(&n->peer, QREP_OP_READ, 0, b, 1, 0, NULL,
				 self->rversions, self->rbuf);

	if (err)
		return err;
	if (qrep_get_be64(self->rversions) != v)
		return -ESTALE;
	return has_pattern(self->rbuf, b, v) ? 0 : -EBADMSG;
}

/* Flips one bit of a block's data in a node's store file. */
static int spoil(struct node *n, uint64_t b)
{
	struct qrep_store *s;
	uint8_t byte;
	uint64_t at;
	int fd, err;

	err = qrep_store_open(n->store, QREP_STORE_RDONLY, &s, NULL, 0);
	if (err)
		return err;
	at = qrep_store_info(s)->data_offset + b * BS + 1234;
	qrep_store_close(s);
	fd = open(n->store, O_RDWR);
	if (fd < 0)
		return -errno;
	err = -EIO;
	if (pread(fd, &byte, 1, (off_t)at) == 1) {
		byte ^= 0x01;
		if (pwrite(fd, &byte, 1, (off_t)at) == 1)
			err = 0;
	}
	close(fd);
	return err;
}

static void mark(uint32_t *bits, uint32_t r)
{
	bits[r / 32] |= 1U << (r % 32);
}

static bool marked(const uint32_t *bits, uint64_t i)
{
	return bits[i / 32] >> (i % 32) & 1;
}

/* ---- the engine's callbacks --------------------------------------------- */

static int on_done(void *arg, uint64_t start, uint64_t count)
{
	struct watch *w = arg;
	uint64_t r;

	w->done_calls++;
	for (r = start; r < start + count; r++) {
		if (r >= NREGIONS || r < w->lo || r >= w->hi ||
		    !marked(w->bits, r - w->lo))
			w->stray++;
		else
			w->done[r]++;
	}
	return w->done_ret;
}

static void on_throttle(void *arg, const struct qrep_resync_stats *st)
{
	struct watch *w = arg;

	(void)st;
	if (++w->throttles == w->kill_at && w->victim)
		node_kill(w->victim);
}

static void on_progress(void *arg, const struct qrep_resync_stats *st)
{
	struct watch *w = arg;

	w->progresses++;
	w->progress_done = st->regions_done;
}

static const struct qrep_resync_ops watch_ops = {
	.regions_done = on_done,
	.throttle = on_throttle,
	.progress = on_progress,
};

/*
 * Runs the engine over count regions from first (bit i of self->bits is
 * region first + i), with the fixture's peers and callbacks; summaries
 * and check_data as the job's use_summaries and check_data.
 */
static int run_engine(FIXTURE_DATA(resync) *self, struct qrep_resync_job *job,
		      uint64_t first, uint64_t count, bool summaries,
		      bool check_data)
{
	static struct qrep_resync_ops ops;

	ops = watch_ops;
	ops.arg = &self->w;
	self->w.lo = first;
	self->w.hi = first + count;
	self->w.bits = self->bits;
	memset(job, 0, sizeof(*job));
	job->src = &self->src.peer;
	job->dst = &self->dst.peer;
	job->dev_blocks = NBLOCKS;
	job->use_summaries = summaries;
	job->check_data = check_data;
	job->ops = &ops;
	return qrep_resync_regions(job, self->bits, first, count);
}

/*
 * As run_engine, from the @n sources @srcs in that order (quorum mode's
 * form of the job).
 */
static int run_engine_from(FIXTURE_DATA(resync) *self,
			   struct qrep_resync_job *job, struct node **srcs,
			   unsigned int n, bool summaries, bool check_data)
{
	static struct qrep_resync_ops ops;
	unsigned int k;

	ops = watch_ops;
	ops.arg = &self->w;
	self->w.lo = 0;
	self->w.hi = NREGIONS;
	self->w.bits = self->bits;
	memset(job, 0, sizeof(*job));
	for (k = 0; k < n; k++)
		job->srcs[k] = &srcs[k]->peer;
	job->nr_srcs = n;
	job->dst = &self->dst.peer;
	job->dev_blocks = NBLOCKS;
	job->use_summaries = summaries;
	job->check_data = check_data;
	job->rollback_srcs = self->w.rollback_srcs;
	job->ops = &ops;
	return qrep_resync_regions(job, self->bits, 0, NREGIONS);
}

/* The second source: its own store, target and connection. */
static int src2_up(FIXTURE_DATA(resync) *self)
{
	struct node *n = &self->src2;

	snprintf(n->store, sizeof(n->store), "%s/src2.store", self->dir);
	snprintf(n->log, sizeof(n->log), "%s/src2.log", self->dir);
	snprintf(n->stats, sizeof(n->stats), "%s/src2.stats", self->dir);
	return node_up(self->bin, n, self->uuid);
}

/* ---- fixture ------------------------------------------------------------ */

FIXTURE_SETUP(resync)
{
	const char *tmp = getenv("TMPDIR");

	memset(&self->src, 0, sizeof(self->src));
	memset(&self->dst, 0, sizeof(self->dst));
	self->src.peer.fd = -1;
	self->dst.peer.fd = -1;
	memset(&self->src2, 0, sizeof(self->src2));
	self->src2.peer.fd = -1;
	self->src2.name = "src2";
	self->src.name = "src";
	self->dst.name = "dst";
	memset(self->bits, 0, sizeof(self->bits));
	memset(&self->w, 0, sizeof(self->w));
	/* make unit builds it first: its absence is a broken build. */
	ASSERT_TRUE(tp_locate_target(self->bin, sizeof(self->bin)))
		TH_LOG("no qrep-target at %s (make userspace)", self->bin);
	self->buf = malloc((size_t)QREP_MAX_REQ_BLOCKS * BS);
	self->rbuf = malloc((size_t)QREP_MAX_REQ_BLOCKS * BS);
	ASSERT_NE(NULL, self->buf);
	ASSERT_NE(NULL, self->rbuf);
	snprintf(self->dir, sizeof(self->dir), "%s/qrep-resync-XXXXXX",
		 tmp ? tmp : "/tmp");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->src.store, sizeof(self->src.store), "%s/src.store",
		 self->dir);
	snprintf(self->dst.store, sizeof(self->dst.store), "%s/dst.store",
		 self->dir);
	snprintf(self->src.log, sizeof(self->src.log), "%s/src.log",
		 self->dir);
	snprintf(self->dst.log, sizeof(self->dst.log), "%s/dst.log",
		 self->dir);
	snprintf(self->src.stats, sizeof(self->src.stats), "%s/src.stats",
		 self->dir);
	snprintf(self->dst.stats, sizeof(self->dst.stats), "%s/dst.stats",
		 self->dir);
	ASSERT_EQ(0, qrep_uuid_parse(DEV_UUID, self->uuid));
	ASSERT_EQ(0, node_up(self->bin, &self->src, self->uuid));
	ASSERT_EQ(0, node_up(self->bin, &self->dst, self->uuid));
}

FIXTURE_TEARDOWN(resync)
{
	char cmd[PATH_MAX + 32];

	qrep_peer_close(&self->src.peer);
	qrep_peer_close(&self->dst.peer);
	qrep_peer_close(&self->src2.peer);
	node_kill(&self->src);
	node_kill(&self->dst);
	node_kill(&self->src2);
	if (getenv("QREP_RESYNC_KEEP")) {
		TH_LOG("kept %s", self->dir);
	} else {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
		if (system(cmd))
			TH_LOG("cannot remove %s", self->dir);
	}
	free(self->buf);
	free(self->rbuf);
}

#define NEED_TARGETS() do { \
	if (_metadata->skip) \
		return; \
} while (0)

/* ---- tests -------------------------------------------------------------- */

/*
 * Writes on the source in marked and unmarked regions, including both
 * sides of a bitmap word (31, 32), both sides of a batch (255, 256) and
 * the short last region. Only the marked ones reach the destination,
 * each reported done once, and the destination receives the blocks plus
 * a header per run of one version and one per region.
 */
TEST_F(resync, copies_marked_regions_only)
{
	static const struct {
		uint64_t block;
		uint32_t n;
		uint64_t version;
		bool marked;
	} w[] = {
		{ 0, 10, 5, true },			/* region 0 */
		{ 1 * RB + 44, 4, 6, false },		/* region 1 */
		{ 2 * RB, 1, 7, true },			/* region 2: */
		{ 2 * RB + 1, 1, 8, true },		/* 2 versions */
		{ 3 * RB + 200, 1, 8, false },		/* region 3 */
		{ 31 * RB + 255, 1, 3, true },		/* region 31 */
		{ 32 * RB, 2, 3, true },		/* region 32 */
		{ 33 * RB, 1, 3, false },		/* region 33 */
		{ 255 * RB + 255, 1, 9, true },		/* region 255 */
		{ 256 * RB, 1, 10, true },		/* region 256 */
		{ 299 * RB + 9, 1, 4, false },		/* region 299 */
		{ 300 * RB, LAST_LEN, 11, true },	/* region 300 */
	};
	uint64_t copied = 0, runs = 0, lo, hi, got;
	struct qrep_resync_job job;
	struct counters c;
	uint32_t nmarked = 0, r, i;
	size_t k;

	NEED_TARGETS();
	for (k = 0; k < sizeof(w) / sizeof(w[0]); k++) {
		ASSERT_EQ(0, put(self, &self->src, w[k].block, w[k].n,
				 w[k].version))
			TH_LOG("%s", self->src.peer.error);
		r = (uint32_t)(w[k].block / RB);
		if (w[k].marked) {
			if (!marked(self->bits, r))
				nmarked++;
			mark(self->bits, r);
			copied += w[k].n;
			runs++;
		}
	}

	ASSERT_EQ(0, run_engine(self, &job, 0, NREGIONS, false, false))
		TH_LOG("%s / %s", self->src.peer.error, self->dst.peer.error);
	EXPECT_FALSE(job.src_failed);
	EXPECT_FALSE(job.dst_failed);
	EXPECT_EQ(copied, job.stats.blocks_copied);
	EXPECT_EQ(copied * BS, job.stats.bytes_copied);
	EXPECT_EQ(nmarked, job.stats.regions_compared);
	EXPECT_EQ(nmarked, job.stats.regions_done);

	/* Reported done: every marked region once, nothing else. */
	EXPECT_EQ(0, self->w.stray);
	for (r = 0; r < NREGIONS; r++)
		EXPECT_EQ(marked(self->bits, r) ? 1U : 0U, self->w.done[r])
			TH_LOG("region %u", r);
	/* Progress came at least once per batch, last with the final count. */
	EXPECT_LE(2, self->w.progresses);
	EXPECT_EQ(nmarked, self->w.progress_done);
	/* Each marked region here has one stretch of blocks to copy. */
	EXPECT_EQ((int)nmarked, self->w.throttles);

	/*
	 * What the destination received, by its own count: the blocks, a
	 * WRITE header per run of one version, the request that read the
	 * region's versions; within two header-sized requests per region
	 * of the bare data.
	 */
	ASSERT_EQ(0, node_restart(self->bin, &self->dst, self->uuid, &c));
	got = (uint64_t)c.received;
	lo = copied * BS;
	hi = copied * (BS + HDR) + (uint64_t)nmarked * 2 * HDR;
	TH_LOG("%llu blocks in %llu runs over %u regions: %llu bytes to the "
	       "destination (%.4f x the data)", (unsigned long long)copied,
	       (unsigned long long)runs, nmarked, (unsigned long long)got,
	       (double)got / (double)lo);
	EXPECT_LE(lo, got);
	EXPECT_GE(hi, got);
	EXPECT_EQ((long long)runs, c.writes);
	EXPECT_EQ((long long)(lo + runs * HDR), c.write_bytes);
	EXPECT_EQ((long long)nmarked, c.versions);
	EXPECT_EQ(0, c.checksums);
	EXPECT_EQ(0, c.summaries);
	EXPECT_EQ(0, c.reads);
	EXPECT_EQ(0, c.ignored);

	/* Marked regions now agree; the unmarked ones were not touched. */
	for (k = 0; k < sizeof(w) / sizeof(w[0]); k++) {
		r = (uint32_t)(w[k].block / RB);
		EXPECT_TRUE(w[k].marked ? same_region(self, r) :
			    empty_region(self, &self->dst, r))
			TH_LOG("region %u", r);
		for (i = 0; i < w[k].n; i++)
			EXPECT_EQ(w[k].marked ? 0 : -ESTALE,
				  block_is(self, &self->dst, w[k].block + i,
					   w[k].version))
				TH_LOG("block %llu", (unsigned long long)
				       (w[k].block + i));
	}
}

/*
 * The bytes the engine puts on the destination's connection as
 * peer.bytes_sent counts them ("on this connection, headers included",
 * peer.h): the copied blocks, a header per run of one version and one
 * per region, as the destination target itself counts what it got.
 */
TEST_F(resync, peer_bytes_sent_are_the_copied_blocks)
{
	static const uint32_t regions[] = { 4, 5, 7, 120 };
	uint64_t copied, d0, s0, sent, to_src, lo, hi, got;
	struct qrep_resync_job job;
	struct counters c;
	size_t k;

	NEED_TARGETS();
	/* One run of 37 blocks, one of 256, two of 1 (other versions). */
	ASSERT_EQ(0, put(self, &self->src, 4 * RB + 3, 37, 2));
	ASSERT_EQ(0, put(self, &self->src, 5 * RB, RB, 3));
	ASSERT_EQ(0, put(self, &self->src, 7 * RB + 100, 1, 4));
	ASSERT_EQ(0, put(self, &self->src, 120 * RB + 255, 1, 5));
	copied = 37 + RB + 1 + 1;
	for (k = 0; k < sizeof(regions) / sizeof(regions[0]); k++)
		mark(self->bits, regions[k]);

	d0 = self->dst.peer.bytes_sent;
	s0 = self->src.peer.bytes_sent;
	ASSERT_EQ(0, run_engine(self, &job, 0, NREGIONS, false, true));
	sent = self->dst.peer.bytes_sent - d0;
	to_src = self->src.peer.bytes_sent - s0;
	EXPECT_EQ(copied, job.stats.blocks_copied);

	/* The destination saw the handshake and the engine's requests. */
	ASSERT_EQ(0, node_restart(self->bin, &self->dst, self->uuid, &c));
	got = (uint64_t)c.received;
	lo = copied * BS;
	hi = copied * (BS + HDR) + 4 * 2 * HDR;
	TH_LOG("%llu blocks copied: the destination received %llu bytes "
	       "(%.4f x the data); peer.bytes_sent says %llu; the source was "
	       "sent %llu", (unsigned long long)copied,
	       (unsigned long long)got, (double)got / (double)lo,
	       (unsigned long long)sent, (unsigned long long)to_src);
	/* As the engine is today: 4 CHECKSUMS (check_data), 4 WRITEs. */
	EXPECT_EQ(lo + 8 * HDR, got);
	EXPECT_EQ(4, c.writes);
	EXPECT_EQ(4, c.checksums);

	/* The peer's own count agrees with the target's. */
	EXPECT_LE(lo, sent)
		TH_LOG("peer.bytes_sent leaves out WRITE data (lib/peer.c "
		       "reads iov[1].iov_len after qrep_writev_full consumed "
		       "it)");
	EXPECT_GE(hi, sent);
	EXPECT_EQ(got, sent);
	/* The source is only sent request headers: VERSIONS and READ. */
	EXPECT_EQ(8ULL * HDR, to_src);
	for (k = 0; k < sizeof(regions) / sizeof(regions[0]); k++)
		EXPECT_TRUE(same_region(self, regions[k]));
}

/*
 * Per block: newer on the source is copied; newer on the destination is
 * kept, whether the source has an older version or none. A corrupt copy
 * of the source's version is invisible to versions alone, and replaced
 * with the source's good copy once the engine checks the data.
 */
TEST_F(resync, newer_destination_kept_corrupt_copy_repaired)
{
	static uint8_t meta[QREP_BLOCK_CHECK_SIZE * 32];
	struct qrep_resync_job job;
	uint32_t i;

	NEED_TARGETS();
	/* src: 0..15 at 4, then 3 at 6. */
	ASSERT_EQ(0, put(self, &self->src, 0, 16, 4));
	ASSERT_EQ(0, put(self, &self->src, 3, 1, 6));
	/* dst: 0..11 at 4, 5 at 9, 20 at 3 (never on src), 7 corrupt. */
	ASSERT_EQ(0, put(self, &self->dst, 0, 12, 4));
	ASSERT_EQ(0, put(self, &self->dst, 5, 1, 9));
	ASSERT_EQ(0, put(self, &self->dst, 20, 1, 3));
	ASSERT_EQ(0, spoil(&self->dst, 7));
	ASSERT_EQ(0, qrep_peer_call(&self->dst.peer, QREP_OP_CHECKSUMS, 0, 7,
				    1, 0, NULL, meta, NULL));
	ASSERT_EQ(QREP_CHECK_BAD, qrep_get_be32(meta + 12));
	mark(self->bits, 0);

	/* Versions only: 3 (newer) and 12..15 (missing); 7 looks fine. */
	ASSERT_EQ(0, run_engine(self, &job, 0, NREGIONS, false, false))
		TH_LOG("%s / %s", self->src.peer.error, self->dst.peer.error);
	EXPECT_EQ(5ULL, job.stats.blocks_copied);
	EXPECT_EQ(1U, self->w.done[0]);
	EXPECT_EQ(-EREMOTEIO, block_is(self, &self->dst, 7, 4));
	EXPECT_EQ(QREP_ERR_CHECKSUM, self->dst.peer.status);

	/* Checking the data: 7 is replaced, nothing else moves. */
	memset(&self->w, 0, sizeof(self->w));
	ASSERT_EQ(0, run_engine(self, &job, 0, NREGIONS, false, true))
		TH_LOG("%s / %s", self->src.peer.error, self->dst.peer.error);
	EXPECT_EQ(1ULL, job.stats.blocks_copied);
	EXPECT_EQ(1U, self->w.done[0]);

	EXPECT_EQ(0, block_is(self, &self->dst, 3, 6));
	EXPECT_EQ(0, block_is(self, &self->dst, 5, 9));	/* kept */
	EXPECT_EQ(0, block_is(self, &self->dst, 7, 4));	/* repaired */
	EXPECT_EQ(0, block_is(self, &self->dst, 20, 3));	/* kept */
	for (i = 0; i < 16; i++) {
		if (i == 3 || i == 5)
			continue;
		EXPECT_EQ(0, block_is(self, &self->dst, i, 4))
			TH_LOG("block %u", i);
	}
	/* No bad copy left in the region. */
	ASSERT_EQ(0, qrep_peer_call(&self->dst.peer, QREP_OP_CHECKSUMS, 0, 0,
				    32, 0, NULL, meta, NULL));
	for (i = 0; i < 32; i++)
		EXPECT_EQ(0U, qrep_get_be32(meta + i * QREP_BLOCK_CHECK_SIZE +
					    12)) TH_LOG("block %u", i);

	/* A third pass, either way, finds nothing to do. */
	ASSERT_EQ(0, run_engine(self, &job, 0, NREGIONS, false, true));
	EXPECT_EQ(0ULL, job.stats.blocks_copied);
	ASSERT_EQ(0, run_engine(self, &job, 0, NREGIONS, false, false));
	EXPECT_EQ(0ULL, job.stats.blocks_copied);
}

/*
 * With summaries, over every region: only the regions whose versions
 * differ are compared block by block; all are reported done.
 */
TEST_F(resync, summaries_skip_regions_that_agree)
{
	static const uint32_t both[] = { 0, 1, 2, 100, 256, 257, LAST_REGION };
	struct qrep_resync_job job;
	struct counters c;
	uint64_t got;
	uint32_t r;
	size_t k;

	NEED_TARGETS();
	for (k = 0; k < sizeof(both) / sizeof(both[0]); k++) {
		r = both[k];
		ASSERT_EQ(0, put(self, &self->src, (uint64_t)r * RB + 1, 2,
				 2 + r));
		ASSERT_EQ(0, put(self, &self->dst, (uint64_t)r * RB + 1, 2,
				 2 + r));
	}
	/* Differences in region 2 (first batch) and 257 (second). */
	ASSERT_EQ(0, put(self, &self->src, 2 * RB + 9, 1, 20));
	ASSERT_EQ(0, put(self, &self->src, 257 * RB + 250, 3, 21));
	for (r = 0; r < NREGIONS; r++)
		mark(self->bits, r);
	/* Fresh counters on the destination: the engine's traffic only. */
	ASSERT_EQ(0, node_restart(self->bin, &self->dst, self->uuid, &c));

	ASSERT_EQ(0, run_engine(self, &job, 0, NREGIONS, true, false))
		TH_LOG("%s / %s", self->src.peer.error, self->dst.peer.error);
	EXPECT_EQ(2ULL, job.stats.regions_compared);
	EXPECT_EQ(4ULL, job.stats.blocks_copied);
	EXPECT_EQ((uint64_t)NREGIONS, job.stats.regions_done);
	EXPECT_EQ(0, self->w.stray);
	for (r = 0; r < NREGIONS; r++)
		EXPECT_EQ(1U, self->w.done[r]) TH_LOG("region %u", r);

	/* A SUMMARY per batch, VERSIONS per differing region, two runs. */
	ASSERT_EQ(0, node_restart(self->bin, &self->dst, self->uuid, &c));
	got = (uint64_t)c.received;
	TH_LOG("%llu bytes to the destination for 4 blocks",
	       (unsigned long long)got);
	EXPECT_LE(4ULL * BS, got);
	EXPECT_GE(4ULL * (BS + HDR) + 2 * 2 * HDR, got);
	EXPECT_EQ(2, c.summaries);
	EXPECT_EQ(2, c.versions);
	EXPECT_EQ(2, c.writes);

	EXPECT_TRUE(same_region(self, 2));
	EXPECT_TRUE(same_region(self, 257));
	EXPECT_EQ(0, block_is(self, &self->dst, 257 * RB + 252, 21));
	/* Every summary now agrees. */
	ASSERT_EQ(0, qrep_peer_call(&self->src.peer, QREP_OP_SUMMARY, 0, 0,
				    RB, 0, NULL, self->meta, NULL));
	ASSERT_EQ(0, qrep_peer_call(&self->dst.peer, QREP_OP_SUMMARY, 0, 0,
				    RB, 0, NULL, self->meta + RB * 8, NULL));
	EXPECT_EQ(0, memcmp(self->meta, self->meta + RB * 8, RB * 8));
	ASSERT_EQ(0, qrep_peer_call(&self->src.peer, QREP_OP_SUMMARY, 0,
				    (uint64_t)RB * RB, NREGIONS - RB, 0, NULL,
				    self->meta, NULL));
	ASSERT_EQ(0, qrep_peer_call(&self->dst.peer, QREP_OP_SUMMARY, 0,
				    (uint64_t)RB * RB, NREGIONS - RB, 0, NULL,
				    self->meta + RB * 8, NULL));
	EXPECT_EQ(0, memcmp(self->meta, self->meta + RB * 8,
			    (NREGIONS - RB) * 8));

	/* Again: nothing differs, nothing compared. */
	memset(&self->w, 0, sizeof(self->w));
	ASSERT_EQ(0, run_engine(self, &job, 0, NREGIONS, true, false));
	EXPECT_EQ(0ULL, job.stats.regions_compared);
	EXPECT_EQ(0ULL, job.stats.blocks_copied);
	EXPECT_EQ((uint64_t)NREGIONS, job.stats.regions_done);
}

/*
 * A window of the bitmap: bit i is region first + i. Regions are reported
 * by their own numbers, and the unmarked ones in between are left alone.
 */
TEST_F(resync, window_from_a_first_region)
{
	struct qrep_resync_job job;
	uint32_t r;

	NEED_TARGETS();
	for (r = 250; r < 260; r++)
		ASSERT_EQ(0, put(self, &self->src, (uint64_t)r * RB + r % 7, 1,
				 r));
	mark(self->bits, 254 - 250);
	mark(self->bits, 256 - 250);
	mark(self->bits, 259 - 250);
	ASSERT_EQ(0, run_engine(self, &job, 250, 10, false, false));
	EXPECT_EQ(3ULL, job.stats.blocks_copied);
	EXPECT_EQ(0, self->w.stray);
	for (r = 0; r < NREGIONS; r++)
		EXPECT_EQ(r == 254 || r == 256 || r == 259 ? 1U : 0U,
			  self->w.done[r]) TH_LOG("region %u", r);
	for (r = 250; r < 260; r++) {
		bool want = r == 254 || r == 256 || r == 259;

		EXPECT_TRUE(want ? same_region(self, r) :
			    empty_region(self, &self->dst, r))
			TH_LOG("region %u", r);
	}
}

/*
 * The source dies before the 35th of 40 copies (one per region): the
 * engine stops with an error blamed on the source. What it reported done
 * is a run of regions from the first, each really copied, none at or
 * after the one it was copying; what it copied stays; the destination's
 * connection is still good.
 */
TEST_F(resync, source_dying_midway_is_src_failed)
{
	struct qrep_resync_job job;
	uint32_t r, reported = 0;
	int ret;

	NEED_TARGETS();
	for (r = 0; r < 40; r++) {
		ASSERT_EQ(0, put(self, &self->src, (uint64_t)r * RB + 5, 1,
				 7));
		mark(self->bits, r);
	}
	self->w.kill_at = 35;
	self->w.victim = &self->src;
	ret = run_engine(self, &job, 0, NREGIONS, false, false);
	EXPECT_GT(0, ret);
	EXPECT_TRUE(job.src_failed);
	EXPECT_EQ(0, job.failed_src);		/* the job's one source */
	EXPECT_FALSE(job.dst_failed);
	EXPECT_NE(0, self->src.peer.error[0]);
	EXPECT_EQ(34ULL, job.stats.blocks_copied);
	EXPECT_EQ(0, self->w.stray);
	for (r = 0; r < NREGIONS && self->w.done[r]; r++)
		reported++;
	for (r = reported; r < NREGIONS; r++)
		EXPECT_EQ(0U, self->w.done[r]) TH_LOG("region %u", r);
	EXPECT_GT(35U, reported);
	EXPECT_EQ((uint64_t)reported, job.stats.regions_done);
	TH_LOG("engine: %d (%s); src: %s; regions reported done: %u of 34 "
	       "copied", ret, strerror(-ret), self->src.peer.error, reported);

	/* What was copied is there; the destination still answers. */
	for (r = 0; r < 40; r++)
		EXPECT_EQ(r < 34 ? 0 : -ESTALE,
			  block_is(self, &self->dst, (uint64_t)r * RB + 5, 7))
			TH_LOG("region %u", r);
}

/* The destination dies: an error blamed on the destination. */
TEST_F(resync, destination_dying_is_dst_failed)
{
	struct qrep_resync_job job;
	int ret;

	NEED_TARGETS();
	ASSERT_EQ(0, put(self, &self->src, 3 * RB, 8, 2));
	ASSERT_EQ(0, put(self, &self->src, 4 * RB, 8, 2));
	mark(self->bits, 3);
	mark(self->bits, 4);
	self->w.kill_at = 2;
	self->w.victim = &self->dst;
	ret = run_engine(self, &job, 0, NREGIONS, false, true);
	EXPECT_GT(0, ret);
	EXPECT_TRUE(job.dst_failed);
	EXPECT_FALSE(job.src_failed);
	EXPECT_EQ(-1, job.failed_src);
	EXPECT_EQ(8ULL, job.stats.blocks_copied);
	EXPECT_EQ(0U, self->w.done[4]);		/* never finished */
	EXPECT_GE(1U, self->w.done[3]);
	EXPECT_EQ(0, self->w.stray);
	TH_LOG("engine: %d (%s); dst: %s", ret, strerror(-ret),
	       self->dst.peer.error);
	/* The source's connection is unaffected. */
	EXPECT_EQ(0, block_is(self, &self->src, 4 * RB + 7, 2));
}

/* regions_done refusing stops the engine with the caller's error. */
TEST_F(resync, regions_done_error_stops_the_engine)
{
	struct qrep_resync_job job;
	uint32_t r;

	NEED_TARGETS();
	for (r = 0; r < NREGIONS; r += 50)
		mark(self->bits, r);
	/* Marked in both batches: the first batch's report refuses. */
	self->w.done_ret = -ECANCELED;
	EXPECT_EQ(-ECANCELED, run_engine(self, &job, 0, NREGIONS, false,
					 false));
	EXPECT_FALSE(job.src_failed);
	EXPECT_FALSE(job.dst_failed);
	EXPECT_EQ(1, self->w.done_calls);
	EXPECT_EQ(1U, self->w.done[0]);
	EXPECT_EQ(0U, self->w.done[300]);
	EXPECT_EQ(0, self->w.progresses);
}

/* No marked region: no request at all. */
TEST_F(resync, nothing_marked_sends_nothing)
{
	struct qrep_resync_job job;
	uint64_t s0, d0;

	NEED_TARGETS();
	ASSERT_EQ(0, put(self, &self->src, 10, 1, 1));
	s0 = self->src.peer.bytes_sent;
	d0 = self->dst.peer.bytes_sent;
	EXPECT_EQ(0, run_engine(self, &job, 0, NREGIONS, true, true));
	EXPECT_EQ(s0, self->src.peer.bytes_sent);
	EXPECT_EQ(d0, self->dst.peer.bytes_sent);
	EXPECT_EQ(0, self->w.done_calls);
	EXPECT_EQ(0ULL, qrep_resync_count_bits(self->bits, NREGIONS));
	mark(self->bits, 0);
	mark(self->bits, 31);
	mark(self->bits, 32);
	mark(self->bits, LAST_REGION);
	EXPECT_EQ(4ULL, qrep_resync_count_bits(self->bits, NREGIONS));
	EXPECT_EQ(2ULL, qrep_resync_count_bits(self->bits, 32));
}

/* ---- several sources (quorum mode) --------------------------------------- */

/*
 * Quorum mode: no one source holds the newest of every block. Per block
 * the engine takes the highest version among the sources and reads it
 * from the (first) source holding it; a newer block on the destination
 * is kept; a bad copy of the newest version is replaced from the source
 * that has it. With summaries, a region is skipped only where every
 * source agrees with the destination.
 */
TEST_F(resync, several_sources_newest_of_each_block)
{
	struct node *both[2] = { &self->src, &self->src2 };
	uint64_t s0, s20, to_src, to_src2;
	struct qrep_resync_job job;
	uint32_t r;

	NEED_TARGETS();
	ASSERT_EQ(0, src2_up(self));
	/* Region 0, block 5: newest on src; 6: on src2; dst behind on both. */
	ASSERT_EQ(0, put(self, &self->src, 5, 1, 10));
	ASSERT_EQ(0, put(self, &self->src2, 5, 1, 7));
	ASSERT_EQ(0, put(self, &self->dst, 5, 1, 3));
	ASSERT_EQ(0, put(self, &self->src, 6, 1, 4));
	ASSERT_EQ(0, put(self, &self->src2, 6, 1, 12));
	ASSERT_EQ(0, put(self, &self->dst, 6, 1, 4));
	/* 7: newer on dst than anywhere, kept; 8: only src2 has it. */
	ASSERT_EQ(0, put(self, &self->src, 7, 1, 9));
	ASSERT_EQ(0, put(self, &self->dst, 7, 1, 20));
	ASSERT_EQ(0, put(self, &self->src2, 8, 1, 2));
	/* 20..29 at 6 on src, 24..25 at 8 on src2: three runs, two sources. */
	ASSERT_EQ(0, put(self, &self->src, 20, 10, 6));
	ASSERT_EQ(0, put(self, &self->src2, 24, 2, 8));
	/* 40: dst has src2's newest version, but a corrupt copy of it. */
	ASSERT_EQ(0, put(self, &self->src, 40, 1, 2));
	ASSERT_EQ(0, put(self, &self->src2, 40, 1, 5));
	ASSERT_EQ(0, put(self, &self->dst, 40, 1, 5));
	ASSERT_EQ(0, spoil(&self->dst, 40));
	/* Region 5: the same on both sources: read from the first. */
	ASSERT_EQ(0, put(self, &self->src, 5 * RB, 3, 3));
	ASSERT_EQ(0, put(self, &self->src2, 5 * RB, 3, 3));
	/* Region 9: the same everywhere. */
	for (r = 0; r < 2; r++)
		ASSERT_EQ(0, put(self, both[r], 9 * RB, 1, 4));
	ASSERT_EQ(0, put(self, &self->dst, 9 * RB, 1, 4));
	/* Region 11, not marked: newer on src2, left alone. */
	ASSERT_EQ(0, put(self, &self->src2, 11 * RB + 1, 1, 30));
	mark(self->bits, 0);
	mark(self->bits, 5);
	mark(self->bits, 9);

	s0 = self->src.peer.bytes_sent;
	s20 = self->src2.peer.bytes_sent;
	ASSERT_EQ(0, run_engine_from(self, &job, both, 2, false, false))
		TH_LOG("%s / %s / %s", self->src.peer.error,
		       self->src2.peer.error, self->dst.peer.error);
	to_src = self->src.peer.bytes_sent - s0;
	to_src2 = self->src2.peer.bytes_sent - s20;
	EXPECT_EQ(-1, job.failed_src);
	/* 5, 6, 8, 20..29 in region 0; 3 blocks in region 5. */
	EXPECT_EQ(16ULL, job.stats.blocks_copied);
	EXPECT_EQ(3ULL, job.stats.regions_compared);
	EXPECT_EQ(3ULL, job.stats.regions_done);
	EXPECT_EQ(0, self->w.stray);
	/*
	 * Each source: a VERSIONS per region, and a READ per run it holds
	 * the newest of - src: 5, 20..23, 26..29 and region 5's; src2: 6, 8,
	 * 24..25. Nothing is read twice.
	 */
	EXPECT_EQ((3ULL + 4) * HDR, to_src);
	EXPECT_EQ((3ULL + 3) * HDR, to_src2);

	EXPECT_EQ(0, block_is(self, &self->dst, 5, 10));
	EXPECT_EQ(0, block_is(self, &self->dst, 6, 12));
	EXPECT_EQ(0, block_is(self, &self->dst, 7, 20));	/* kept */
	EXPECT_EQ(0, block_is(self, &self->dst, 8, 2));
	for (r = 20; r < 30; r++)
		EXPECT_EQ(0, block_is(self, &self->dst, r,
				      r == 24 || r == 25 ? 8 : 6))
			TH_LOG("block %u", r);
	for (r = 0; r < 3; r++)
		EXPECT_EQ(0, block_is(self, &self->dst, 5 * RB + r, 3));
	EXPECT_EQ(-ESTALE, block_is(self, &self->dst, 11 * RB + 1, 30));
	/* Versions alone do not see the corrupt copy of 40. */
	EXPECT_EQ(-EREMOTEIO, block_is(self, &self->dst, 40, 5));

	/* Checking the data: 40 comes from src2, which has version 5. */
	memset(&self->w, 0, sizeof(self->w));
	ASSERT_EQ(0, run_engine_from(self, &job, both, 2, false, true))
		TH_LOG("%s / %s / %s", self->src.peer.error,
		       self->src2.peer.error, self->dst.peer.error);
	EXPECT_EQ(1ULL, job.stats.blocks_copied);
	EXPECT_EQ(0, block_is(self, &self->dst, 40, 5));

	/*
	 * Summaries over every region: region 11 agrees between src and
	 * dst but not src2, so it is compared (and copied); region 0
	 * differs (block 7); regions 5, 9 and the rest agree everywhere.
	 */
	memset(&self->w, 0, sizeof(self->w));
	for (r = 0; r < NREGIONS; r++)
		mark(self->bits, r);
	ASSERT_EQ(0, run_engine_from(self, &job, both, 2, true, false));
	EXPECT_EQ(2ULL, job.stats.regions_compared);
	EXPECT_EQ(1ULL, job.stats.blocks_copied);
	EXPECT_EQ((uint64_t)NREGIONS, job.stats.regions_done);
	EXPECT_EQ(0, block_is(self, &self->dst, 11 * RB + 1, 30));
	EXPECT_EQ(0, block_is(self, &self->dst, 7, 20));
}

/* The block's version on a node, and whether its data is all zeros. */
static int block_zero(FIXTURE_DATA(resync) *self, struct node *n, uint64_t b,
		      uint64_t *v)
{
	int err = qrep_peer_call(&n->peer, QREP_OP_READ, 0, b, 1, 0, NULL,
				 self->rversions, self->rbuf);
	size_t i;

	if (err)
		return err;
	*v = qrep_get_be64(self->rversions);
	for (i = 0; i < BS && !self->rbuf[i]; i++)
		;
	return i == BS ? 0 : -EBADMSG;
}

/*
 * Term reconciliation (term.h): the destination holds writes of an older
 * epoch (versions of epoch 0; the peers speak epoch EPOCH) above what
 * the sources hold - a deposed primary's writes. With fewer sources than
 * rollback_srcs the engine stops, the region not done and nothing
 * changed; with enough, each goes back to the sources' newest (to
 * "never written" where none has it), and a block of the current epoch
 * is kept.
 */
TEST_F(resync, orphans_of_an_older_epoch_rolled_back)
{
	const uint64_t cur = (uint64_t)EPOCH << QREP_VERSION_EPOCH_SHIFT;
	struct node *both[2] = { &self->src, &self->src2 };
	struct qrep_resync_job job;
	uint64_t v;

	NEED_TARGETS();
	ASSERT_EQ(0, src2_up(self));
	/* 5: an orphan above both sources; the newest is src2's. */
	ASSERT_EQ(0, put(self, &self->src, 5, 1, 3));
	ASSERT_EQ(0, put(self, &self->src2, 5, 1, 4));
	ASSERT_EQ(0, put(self, &self->dst, 5, 1, 9));
	/* 6: an orphan of a block no source has written. */
	ASSERT_EQ(0, put(self, &self->dst, 6, 1, 9));
	/* 7: the current epoch's write on src: a plain copy. */
	ASSERT_EQ(0, put(self, &self->src, 7, 1, cur | 2));
	ASSERT_EQ(0, put(self, &self->dst, 7, 1, 9));
	/* 8: the destination's is of the current epoch: kept. */
	ASSERT_EQ(0, put(self, &self->src, 8, 1, 3));
	ASSERT_EQ(0, put(self, &self->dst, 8, 1, cur | 5));
	mark(self->bits, 0);

	self->w.rollback_srcs = 3;
	EXPECT_EQ(-EAGAIN, run_engine_from(self, &job, both, 2, false, false));
	EXPECT_TRUE(job.rollback_short);
	EXPECT_FALSE(job.src_failed || job.dst_failed);
	EXPECT_EQ(0ULL, job.stats.regions_done);
	EXPECT_EQ(0ULL, job.stats.blocks_copied);
	EXPECT_EQ(0, block_is(self, &self->dst, 5, 9));
	EXPECT_EQ(0, block_is(self, &self->dst, 6, 9));

	memset(&self->w, 0, sizeof(self->w));
	self->w.rollback_srcs = 2;
	ASSERT_EQ(0, run_engine_from(self, &job, both, 2, false, false))
		TH_LOG("%s / %s / %s", self->src.peer.error,
		       self->src2.peer.error, self->dst.peer.error);
	EXPECT_FALSE(job.rollback_short);
	EXPECT_EQ(1ULL, job.stats.regions_done);
	EXPECT_EQ(3ULL, job.stats.blocks_copied);
	EXPECT_EQ(0, self->w.stray);
	EXPECT_EQ(0, block_is(self, &self->dst, 5, 4));
	EXPECT_EQ(0, block_zero(self, &self->dst, 6, &v));
	EXPECT_EQ(0ULL, v);
	EXPECT_EQ(0, block_is(self, &self->dst, 7, cur | 2));
	EXPECT_EQ(0, block_is(self, &self->dst, 8, cur | 5));

	/* Without rollback_srcs (the old engine): orphans are kept. */
	ASSERT_EQ(0, put(self, &self->dst, 9, 1, 9));
	memset(&self->w, 0, sizeof(self->w));
	ASSERT_EQ(0, run_engine_from(self, &job, both, 2, false, false));
	EXPECT_EQ(0ULL, job.stats.blocks_copied);
	EXPECT_EQ(0, block_is(self, &self->dst, 9, 9));
}

/*
 * One of two sources dies mid-way: the engine stops, names that one
 * (failed_src) and not the destination; what it copied stays. Going on
 * as the driver does - without it, over the regions not reported done -
 * copies the rest of what the other source holds.
 */
TEST_F(resync, failing_source_is_named_and_can_be_dropped)
{
	struct node *both[2] = { &self->src, &self->src2 };
	struct qrep_resync_job job;
	uint32_t r;
	int ret;

	NEED_TARGETS();
	ASSERT_EQ(0, src2_up(self));
	/* Each of regions 0..9: block 1 newest on src, block 2 on src2. */
	for (r = 0; r < 10; r++) {
		ASSERT_EQ(0, put(self, &self->src, (uint64_t)r * RB + 1, 1, 5));
		ASSERT_EQ(0, put(self, &self->src2, (uint64_t)r * RB + 2, 1,
				 6));
		mark(self->bits, r);
	}
	/* Two copies per region, src's first: the 8th is region 3's src2. */
	self->w.kill_at = 8;
	self->w.victim = &self->src2;
	ret = run_engine_from(self, &job, both, 2, false, false);
	EXPECT_GT(0, ret);
	EXPECT_TRUE(job.src_failed);
	EXPECT_EQ(1, job.failed_src);
	EXPECT_FALSE(job.dst_failed);
	EXPECT_EQ(7ULL, job.stats.blocks_copied);
	TH_LOG("engine: %d (%s); src2: %s", ret, strerror(-ret),
	       self->src2.peer.error);

	/* The driver's way on: drop it, and take what is not yet done. */
	qrep_resync_drop_source(&job, (unsigned int)job.failed_src);
	EXPECT_EQ(1U, job.nr_srcs);
	EXPECT_EQ(&self->src.peer, job.srcs[0]);
	EXPECT_EQ(NULL, job.srcs[1]);
	for (r = 0; r < 10; r++)
		if (self->w.done[r])
			self->bits[r / 32] &= ~(1U << (r % 32));
	job.stats = (struct qrep_resync_stats){ 0 };
	self->w.kill_at = 0;
	ASSERT_EQ(0, qrep_resync_regions(&job, self->bits, 0, NREGIONS))
		TH_LOG("%s / %s", self->src.peer.error, self->dst.peer.error);
	EXPECT_EQ(0, self->w.stray);
	for (r = 0; r < 10; r++) {
		EXPECT_EQ(1U, self->w.done[r]) TH_LOG("region %u", r);
		EXPECT_EQ(0, block_is(self, &self->dst, (uint64_t)r * RB + 1,
				      5)) TH_LOG("region %u", r);
		EXPECT_EQ(r < 3 ? 0 : -ESTALE,
			  block_is(self, &self->dst, (uint64_t)r * RB + 2, 6))
			TH_LOG("region %u", r);
	}
}

/* A job with no source, or the destination among them, is refused. */
TEST_F(resync, a_job_needs_sources_other_than_the_destination)
{
	struct node *srcs[2] = { &self->src, &self->dst };
	struct qrep_resync_job job;
	uint64_t d0;

	NEED_TARGETS();
	mark(self->bits, 0);
	d0 = self->dst.peer.bytes_sent;
	EXPECT_EQ(-EINVAL, run_engine_from(self, &job, srcs, 0, false, false));
	EXPECT_EQ(-EINVAL, run_engine_from(self, &job, srcs, 2, false, false));
	job.nr_srcs = QREP_RESYNC_MAX_SOURCES + 1;
	EXPECT_EQ(-EINVAL, qrep_resync_regions(&job, self->bits, 0, NREGIONS));
	EXPECT_EQ(d0, self->dst.peer.bytes_sent);
	EXPECT_EQ(0, self->w.done_calls);
	/* The last source dropped: no fallback on job.src either. */
	memset(&job, 0, sizeof(job));
	job.src = &self->src.peer;
	job.srcs[0] = job.src;
	job.nr_srcs = 1;
	qrep_resync_drop_source(&job, 0);
	EXPECT_EQ(0U, job.nr_srcs);
	EXPECT_EQ(NULL, job.src);
}

/* ---- lib/peer.c against a scripted target ------------------------------- */

/* Answers one request with a reply made to order, then waits for EOF. */
struct script {
	int fd;
	uint32_t status, nblocks;	/* of the reply */
	uint64_t handle_delta;		/* added to the request's */
	size_t payload;			/* bytes sent after the header */
};

static void *scripted_target(void *arg)
{
	struct script *sc = arg;
	uint8_t hdr[QREP_REQ_SIZE], out[QREP_REPLY_SIZE], c;
	struct qrep_reply_msg rep = { .magic = QREP_REPLY_MAGIC };
	struct qrep_req_msg req;
	uint8_t *junk;

	if (qrep_read_full(sc->fd, hdr, sizeof(hdr)) != sizeof(hdr))
		return NULL;
	qrep_req_decode(hdr, &req);
	junk = calloc(1, (size_t)QREP_MAX_REQ_BLOCKS * (BS + 8));
	if (!junk)
		return NULL;
	if (qrep_req_payload_bytes(&req))
		qrep_read_full(sc->fd, junk, qrep_req_payload_bytes(&req));
	rep.status = sc->status;
	rep.nblocks = sc->nblocks;
	rep.handle = req.handle + sc->handle_delta;
	rep.epoch = EPOCH;
	qrep_reply_encode(&rep, out);
	if (!qrep_write_full(sc->fd, out, sizeof(out)) && sc->payload)
		qrep_write_full(sc->fd, junk, sc->payload);
	free(junk);
	while (read(sc->fd, &c, 1) > 0)
		;
	return NULL;
}

/*
 * peer.h: every reply is checked as untrusted input, down to "exactly
 * the payload the request implies"; anything else ends the connection
 * with -EPROTO. An error status keeps it (-EREMOTEIO).
 */
TEST(peer_checks_each_reply_against_its_request)
{
	static const struct {
		uint16_t op;
		uint32_t n;		/* request */
		uint32_t status, rn;	/* reply */
		uint64_t handle_delta;
		int want;
		bool open_after;
	} rows[] = {
		/*  0 */ { QREP_OP_VERSIONS, 4, QREP_OK, 4, 0, 0, true },
		/*  1 */ { QREP_OP_CHECKSUMS, 4, QREP_OK, 4, 0, 0, true },
		/*  2 */ { QREP_OP_SUMMARY, 2, QREP_OK, 2, 0, 0, true },
		/*  3 */ { QREP_OP_READ, 4, QREP_OK, 4, 0, 0, true },
		/*  4 */ { QREP_OP_WRITE, 1, QREP_OK, 0, 0, 0, true },
		/*  5 */ { QREP_OP_FLUSH, 0, QREP_OK, 0, 0, 0, true },
		/*  6 */ { QREP_OP_CHECKSUMS, 4, QREP_ERR_RANGE, 0, 0,
			   -EREMOTEIO, true },
		/* a successful reply missing its payload */
		/*  7 */ { QREP_OP_VERSIONS, 4, QREP_OK, 0, 0, -EPROTO, false },
		/*  8 */ { QREP_OP_CHECKSUMS, 4, QREP_OK, 0, 0, -EPROTO,
			   false },
		/*  9 */ { QREP_OP_SUMMARY, 2, QREP_OK, 0, 0, -EPROTO, false },
		/* 10 */ { QREP_OP_READ, 4, QREP_OK, 0, 0, -EPROTO, false },
		/* ... or with too little, or too much */
		/* 11 */ { QREP_OP_VERSIONS, 4, QREP_OK, 3, 0, -EPROTO, false },
		/* 12 */ { QREP_OP_READ, 2, QREP_OK, 3, 0, -EPROTO, false },
		/* 13 */ { QREP_OP_WRITE, 1, QREP_OK, 1, 0, -EPROTO, false },
		/* 14 */ { QREP_OP_FLUSH, 0, QREP_OK, 1, 0, -EPROTO, false },
		/* another request's reply; an error carrying data */
		/* 15 */ { QREP_OP_VERSIONS, 4, QREP_OK, 4, 1, -EPROTO, false },
		/* 16 */ { QREP_OP_VERSIONS, 4, QREP_ERR_IO, 4, 0, -EPROTO,
			   false },
	};
	uint8_t *meta = malloc(QREP_MAX_REQ_BLOCKS * QREP_BLOCK_CHECK_SIZE);
	uint8_t *data = calloc(QREP_MAX_REQ_BLOCKS, BS);
	struct qrep_peer p;
	struct script sc;
	pthread_t th;
	size_t i;
	int sv[2], ret;

	ASSERT_NE(NULL, meta);
	ASSERT_NE(NULL, data);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
		/* A peer waiting for bytes that never come gives up soon. */
		qrep_sock_set_timeouts(sv[0], 1000, 1000);
		sc = (struct script){
			.fd = sv[1], .status = rows[i].status,
			.nblocks = rows[i].rn,
			.handle_delta = rows[i].handle_delta,
			.payload = rows[i].status == QREP_OK ?
				   qrep_reply_payload_bytes(rows[i].op,
							    rows[i].rn) : 0,
		};
		ASSERT_EQ(0, pthread_create(&th, NULL, scripted_target, &sc));
		qrep_peer_init(&p, sv[0], "scripted", EPOCH);
		ret = qrep_peer_call(&p, rows[i].op, 0, 8, rows[i].n,
				     rows[i].op == QREP_OP_WRITE ? 3 : 0, data,
				     meta, data);
		EXPECT_EQ(rows[i].want, ret)
			TH_LOG("row %zu: %s %u, reply %u blocks: %s", i,
			       qrep_op_str(rows[i].op), rows[i].n, rows[i].rn,
			       p.error);
		EXPECT_EQ(rows[i].open_after, p.fd >= 0) TH_LOG("row %zu", i);
		if (ret == -EREMOTEIO)
			EXPECT_EQ(rows[i].status, p.status);
		qrep_peer_close(&p);
		pthread_join(th, NULL);
		close(sv[1]);
	}
	free(meta);
	free(data);
}

TEST_HARNESS_MAIN
