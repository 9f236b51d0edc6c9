// SPDX-License-Identifier: GPL-2.0
/* Deciding which replicas are up to date, by their regions: see uptodate.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/qrep_quorum.h>

#include "bytes.h"
#include "net.h"
#include "resync.h"
#include "uptodate.h"

/* A SUMMARY reply: one hash per region. */
#define SUMMARY_SIZE	sizeof(uint64_t)

/* One batch's replies, on the heap (about 32 KiB). */
struct compare_work {
	uint8_t sums[QREP_MAX_REPLICAS][QREP_MAX_REQ_BLOCKS * SUMMARY_SIZE];
	uint8_t raw[QREP_MAX_REPLICAS][QREP_REGION_BLOCKS * sizeof(uint64_t)];
	uint64_t versions[QREP_MAX_REPLICAS][QREP_REGION_BLOCKS];
	uint8_t checks[QREP_REGION_BLOCKS * QREP_BLOCK_CHECK_SIZE];
	bool torn[QREP_MAX_REPLICAS][QREP_REGION_BLOCKS];
	bool unsettled[QREP_REGION_BLOCKS];
};

_Static_assert(QREP_REGION_BLOCKS <= QREP_MAX_REQ_BLOCKS,
	       "one VERSIONS request covers a region");

void qrep_uptodate_region(const uint64_t *const versions[], unsigned int nr,
			  uint32_t n, uint64_t lacking[])
{
	unsigned int k;
	uint64_t best;
	uint32_t i;

#ifdef QREP_PLANT_UPTODATE_MAX_VERSION
	/*
	 * Planted for the data-plane simulation: the old rule, a replica
	 * lacks something only if its highest version is below another's
	 * (here per region), so one that missed X and took the newer Y
	 * passes.
	 */
	uint64_t top[QREP_MAX_REPLICAS] = { 0 };

	best = 0;
	for (k = 0; k < nr && k < QREP_MAX_REPLICAS; k++)
		for (i = 0; versions[k] && i < n; i++)
			if (versions[k][i] > top[k])
				top[k] = versions[k][i];
	for (k = 0; k < nr && k < QREP_MAX_REPLICAS; k++)
		if (top[k] > best)
			best = top[k];
	for (k = 0; k < nr && k < QREP_MAX_REPLICAS; k++)
		if (versions[k] && top[k] < best)
			lacking[k]++;
#else
	for (i = 0; i < n; i++) {
		best = 0;
		for (k = 0; k < nr; k++)
			if (versions[k] && versions[k][i] > best)
				best = versions[k][i];
		for (k = 0; k < nr; k++)
			if (versions[k] && versions[k][i] < best)
				lacking[k]++;
	}
#endif
}

uint32_t qrep_uptodate_torn_region(const uint64_t *const versions[],
				   const bool *const torn[], unsigned int nr,
				   uint32_t n, bool unsettled[])
{
	bool written, any_torn, any;
	uint32_t i, found = 0;
	unsigned int k;

	for (i = 0; i < n; i++) {
		written = false;
		any_torn = false;
		any = false;
		for (k = 0; k < nr; k++) {
			if (!versions[k])
				continue;
			any = true;
			written |= versions[k][i] != 0;
			any_torn |= torn[k] && torn[k][i];
		}
		unsettled[i] = any && !written && any_torn;
		found += unsettled[i];
	}
	return found;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int peer_failed(struct qrep_uptodate *u, unsigned int k, int err)
{
	u->failed = (int)k;
	return err;
}

static void note_progress(struct qrep_uptodate *u, uint64_t done,
			  uint64_t *last)
{
	char msg[160];

	if (!u->note || now_ms() - *last < QREP_UPTODATE_REPORT_MS)
		return;
	*last = now_ms();
	snprintf(msg, sizeof(msg),
		 "comparing the replicas' regions: %" PRIu64 "%% (%" PRIu64
		 "/%" PRIu64 "), %" PRIu64 " compared block by block",
		 done * 100 / u->regions, done, u->regions,
		 u->regions_compared);
	u->note(u->note_arg, msg);
}

static uint32_t region_blocks(const struct qrep_uptodate *u, uint64_t region)
{
	uint64_t left = u->dev_blocks - (region << QREP_REGION_SHIFT);

	return left < QREP_REGION_BLOCKS ? (uint32_t)left : QREP_REGION_BLOCKS;
}

static int torn_add(struct qrep_uptodate *u, uint64_t block)
{
	uint64_t *more;
	uint64_t cap;

	if (u->nr_torn == u->torn_cap) {
		cap = u->torn_cap ? 2 * u->torn_cap : 64;
		more = realloc(u->torn, cap * sizeof(*more));
		if (!more)
			return -ENOMEM;
		u->torn = more;
		u->torn_cap = cap;
	}
	u->torn[u->nr_torn++] = block;
	return 0;
}

/*
 * The torn flags of a region's blocks that every connected replica holds
 * at version 0, asked (CHECKSUMS, which reads no data for a block at
 * version 0) of the replicas in @torn_mask, whose summaries say they
 * hold a torn block there; then the region's unsettled blocks.
 */
static int find_torn(struct qrep_uptodate *u, struct compare_work *w,
		     uint64_t region, uint32_t n, unsigned int torn_mask,
		     const uint64_t *const versions[])
{
	const bool *torn[QREP_MAX_REPLICAS] = { NULL };
	uint64_t first = region << QREP_REGION_SHIFT;
	uint32_t i, j, b;
	unsigned int k;
	bool zero;
	int err;

	for (k = 0; k < u->nr; k++) {
		if (!(torn_mask & (1U << k)))
			continue;
		memset(w->torn[k], 0, sizeof(w->torn[k]));
		torn[k] = w->torn[k];
	}
	for (i = 0; i < n; i = j) {
		/* A run of blocks at version 0 everywhere: [i, j). */
		for (j = i; j < n; j++) {
			zero = true;
			for (k = 0; k < u->nr && zero; k++)
				zero = !versions[k] || !versions[k][j];
			if (!zero)
				break;
		}
		if (j == i) {
			j++;
			continue;
		}
		for (k = 0; k < u->nr; k++) {
			if (!torn[k])
				continue;
			err = qrep_peer_call(u->peers[k], QREP_OP_CHECKSUMS, 0,
					     first + i, j - i, 0, NULL,
					     w->checks, NULL);
			if (err)
				return peer_failed(u, k, err);
			for (b = i; b < j; b++) {
				const uint8_t *e = w->checks + (size_t)(b - i) *
						   QREP_BLOCK_CHECK_SIZE;

				w->torn[k][b] = !qrep_get_be64(e) &&
						(qrep_get_be32(e + 12) &
						 QREP_CHECK_BAD);
			}
		}
	}
	if (!qrep_uptodate_torn_region(versions, torn, u->nr, n, w->unsettled))
		return 0;
	for (i = 0; i < n; i++) {
		if (!w->unsettled[i])
			continue;
		err = torn_add(u, first + i);
		if (err)
			return err;
	}
	return 0;
}

/*
 * One region whose summaries differ, or that some replica holds a torn
 * block in (@torn_mask), block by block.
 */
static int compare_region(struct qrep_uptodate *u, struct compare_work *w,
			  uint64_t region, unsigned int torn_mask)
{
	const uint64_t *versions[QREP_MAX_REPLICAS] = { NULL };
	uint64_t lacking[QREP_MAX_REPLICAS] = { 0 };
	uint32_t n = region_blocks(u, region), i;
	unsigned int k;
	int err;

	u->regions_compared++;
	for (k = 0; k < u->nr; k++) {
		if (!u->peers[k])
			continue;
		err = qrep_peer_call(u->peers[k], QREP_OP_VERSIONS, 0,
				     region << QREP_REGION_SHIFT, n, 0, NULL,
				     w->raw[k], NULL);
		if (err)
			return peer_failed(u, k, err);
		for (i = 0; i < n; i++)
			w->versions[k][i] = qrep_get_be64(w->raw[k] +
							  i * sizeof(uint64_t));
		versions[k] = w->versions[k];
	}
	if (torn_mask) {
		err = find_torn(u, w, region, n, torn_mask, versions);
		if (err)
			return err;
	}
	qrep_uptodate_region(versions, u->nr, n, lacking);
	for (k = 0; k < u->nr; k++) {
		if (!lacking[k])
			continue;
		u->blocks_behind[k] += lacking[k];
		u->regions_behind[k]++;
		u->behind[k][region / 32] |= 1U << (region % 32);
	}
	return 0;
}

/* Regions [first, first + n): summaries, then the ones that differ. */
static int compare_batch(struct qrep_uptodate *u, struct compare_work *w,
			 uint64_t first, uint32_t n)
{
	unsigned int k, ref = u->nr, torn_mask;
	uint32_t i;
	int err;

	for (k = 0; k < u->nr; k++) {
		if (!u->peers[k])
			continue;
		err = qrep_peer_call(u->peers[k], QREP_OP_SUMMARY, 0,
				     first << QREP_REGION_SHIFT, n, 0, NULL,
				     w->sums[k], NULL);
		if (err)
			return peer_failed(u, k, err);
		if (ref == u->nr)
			ref = k;
	}
	for (i = 0; i < n; i++) {
		torn_mask = 0;
		for (k = 0; k < u->nr; k++)
			if (u->peers[k] &&
			    (qrep_get_be64(w->sums[k] + i * SUMMARY_SIZE) &
			     QREP_SUMMARY_TORN))
				torn_mask |= 1U << k;
		for (k = ref + 1; k < u->nr; k++)
			if (u->peers[k] &&
			    memcmp(w->sums[k] + i * SUMMARY_SIZE,
				   w->sums[ref] + i * SUMMARY_SIZE,
				   SUMMARY_SIZE) != 0)
				break;
		if (k == u->nr && !torn_mask)
			continue;	/* the same versions everywhere */
		err = compare_region(u, w, first + i, torn_mask);
		if (err)
			return err;
	}
	return 0;
}

void qrep_uptodate_release(struct qrep_uptodate *u)
{
	unsigned int k;

	for (k = 0; k < QREP_MAX_REPLICAS; k++) {
		free(u->behind[k]);
		u->behind[k] = NULL;
	}
	free(u->torn);
	u->torn = NULL;
	u->nr_torn = 0;
	u->torn_cap = 0;
}

int qrep_uptodate_compare(struct qrep_uptodate *u)
{
	uint64_t at, n, last = now_ms();
	struct compare_work *w;
	size_t words;
	unsigned int k, connected = 0;
	int err = 0;

	u->failed = -1;
	u->regions = (u->dev_blocks + QREP_REGION_BLOCKS - 1) >> QREP_REGION_SHIFT;
	u->regions_compared = 0;
	words = (u->regions + 31) / 32;
	qrep_uptodate_release(u);
	if (u->nr > QREP_MAX_REPLICAS)
		return -EINVAL;
	for (k = 0; k < u->nr; k++) {
		u->blocks_behind[k] = 0;
		u->regions_behind[k] = 0;
		connected += !!u->peers[k];
	}
	/* One replica, or none: nothing to compare it with. */
	if (connected < 2)
		return 0;
	for (k = 0; k < u->nr; k++) {
		u->behind[k] = calloc(words ? words : 1, sizeof(uint32_t));
		if (!u->behind[k]) {
			qrep_uptodate_release(u);
			return -ENOMEM;
		}
	}
	w = malloc(sizeof(*w));
	if (!w) {
		qrep_uptodate_release(u);
		return -ENOMEM;
	}
	for (at = 0; at < u->regions && !err; at += n) {
		n = u->regions - at < QREP_MAX_REQ_BLOCKS ? u->regions - at :
		    QREP_MAX_REQ_BLOCKS;
		err = compare_batch(u, w, at, (uint32_t)n);
		note_progress(u, at + n, &last);
	}
	free(w);
	return err;
}

bool qrep_uptodate_any_complete(const struct qrep_uptodate *u)
{
	unsigned int k;

	for (k = 0; k < u->nr; k++)
		if (u->peers[k] && !u->blocks_behind[k])
			return true;
	return false;
}

int qrep_uptodate_pick_fill(const struct qrep_uptodate *u)
{
	unsigned int k, connected = 0;
	int best = -1;

	for (k = 0; k < u->nr; k++) {
		if (!u->peers[k])
			continue;
		connected++;
		if (!u->blocks_behind[k])
			return -1;
		if (best < 0 || u->blocks_behind[k] < u->blocks_behind[best])
			best = (int)k;
	}
	return connected < 2 ? -1 : best;
}

/* The fill's progress, for its notes. */
struct fill_run {
	struct qrep_uptodate *u;
	unsigned int slot;
	uint64_t regions;		/* to fill */
	uint64_t last_ms;
};

static int fill_regions_done(void *arg, uint64_t start, uint64_t count)
{
	(void)arg;
	(void)start;
	(void)count;
	return 0;
}

static void fill_progress(void *arg, const struct qrep_resync_stats *st)
{
	struct fill_run *run = arg;
	char msg[160];

	if (!run->u->note || now_ms() - run->last_ms < QREP_UPTODATE_REPORT_MS)
		return;
	run->last_ms = now_ms();
	snprintf(msg, sizeof(msg),
		 "filling replica %s: %" PRIu64 "/%" PRIu64 " regions, %"
		 PRIu64 " blocks copied", run->u->peers[run->slot]->name,
		 st->regions_done, run->regions, st->blocks_copied);
	run->u->note(run->u->note_arg, msg);
}

int qrep_uptodate_fill(struct qrep_uptodate *u, unsigned int slot,
		       uint64_t *copied)
{
	struct fill_run run = { .u = u, .slot = slot, .last_ms = now_ms() };
	const struct qrep_resync_ops ops = {
		.regions_done = fill_regions_done, .progress = fill_progress,
		.arg = &run,
	};
	struct qrep_resync_job job = {
		.dev_blocks = u->dev_blocks, .ops = &ops,
	};
	unsigned int k, src_slot[QREP_RESYNC_MAX_SOURCES];
	int err;

	u->failed = -1;
	*copied = 0;
	if (slot >= u->nr || u->nr > QREP_MAX_REPLICAS || !u->peers[slot] ||
	    !u->behind[slot])
		return -EINVAL;
	job.dst = u->peers[slot];
	run.regions = u->regions_behind[slot];
	/* Every other connected replica, in slot order. */
	for (k = 0; k < u->nr; k++) {
		if (k == slot || !u->peers[k])
			continue;
		src_slot[job.nr_srcs] = k;
		job.srcs[job.nr_srcs++] = u->peers[k];
	}
	err = qrep_resync_regions(&job, u->behind[slot], 0, u->regions);
	*copied = job.stats.blocks_copied;
	if (err && job.dst_failed)
		return peer_failed(u, slot, err);
	if (err && job.src_failed && job.failed_src >= 0)
		return peer_failed(u, src_slot[job.failed_src], err);
	if (err)
		return err;
	u->blocks_behind[slot] = 0;
	u->regions_behind[slot] = 0;
	memset(u->behind[slot], 0,
	       ((u->regions + 31) / 32 ? (u->regions + 31) / 32 : 1) *
	       sizeof(uint32_t));
	return 0;
}

/* Zeros for the unsettled blocks: runs of up to this many per WRITE. */
#define SETTLE_RUN_BLOCKS	16U

int qrep_uptodate_settle_torn(struct qrep_uptodate *u, uint64_t version)
{
	uint64_t i, j;
	unsigned int k;
	uint8_t *zeros;
	int err = 0;

	u->failed = -1;
	if (!u->nr_torn)
		return 0;
	if (!version)
		return -EINVAL;
	zeros = calloc(SETTLE_RUN_BLOCKS, QREP_BLOCK_SIZE);
	if (!zeros)
		return -ENOMEM;
	for (i = 0; i < u->nr_torn && !err; i = j) {
		for (j = i + 1; j < u->nr_torn && j - i < SETTLE_RUN_BLOCKS &&
		     u->torn[j] == u->torn[j - 1] + 1; j++)
			;
		for (k = 0; k < u->nr && !err; k++) {
			if (!u->peers[k])
				continue;
			err = qrep_peer_call(u->peers[k], QREP_OP_WRITE,
					     QREP_REQ_FUA, u->torn[i],
					     (uint32_t)(j - i), version, zeros,
					     NULL, NULL);
			if (err)
				err = peer_failed(u, k, err);
		}
	}
	free(zeros);
	if (!err)
		u->nr_torn = 0;
	return err;
}

/* ---- on a device's new connections ---------------------------------- */

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/*
 * Compares the connected replicas, each through a peer on its own
 * connection (io-timeout on every reply meanwhile), dropping one whose
 * connection fails and trying again without it.
 */
static int compare_conns(const struct qrep_config *cfg,
			 struct qrep_replica_conn *conns,
			 struct qrep_peer *peers, struct qrep_uptodate *u,
			 qrep_note_fn *note, void *arg)
{
	unsigned int i;
	int err;

	for (;;) {
		for (i = 0; i < cfg->nr_replicas; i++)
			u->peers[i] = conns[i].fd >= 0 ? &peers[i] : NULL;
		err = qrep_uptodate_compare(u);
		if (!err || u->failed < 0)
			return err;
		i = (unsigned int)u->failed;
		qrep_note(note, arg, "replica %s: %s; comparing the others without it",
			  cfg->replicas[i].name, peers[i].error[0] ? peers[i].error :
			  strerror(-err));
		qrep_peer_close(&peers[i]);
		conns[i].fd = -1;
	}
}

/*
 * Blocks no replica holds a valid copy of, torn on some (a write in
 * flight when every replica lost power): written as zeros to every
 * connected replica at a version of the device's epoch above all they
 * hold, which the kernel is then told as each one's highest.
 */
static int settle_torn(const struct qrep_config *cfg,
		       struct qrep_replica_conn *conns,
		       struct qrep_peer *peers, struct qrep_uptodate *u,
		       qrep_note_fn *note, void *arg)
{
	uint64_t version = 0, epoch = 0, n = u->nr_torn;
	unsigned int i;
	int err;

	if (!n)
		return 0;
	for (i = 0; i < cfg->nr_replicas; i++) {
		if (conns[i].fd < 0)
			continue;
		if (conns[i].hello.epoch > epoch)
			epoch = conns[i].hello.epoch;
		if (conns[i].hello.max_version > version)
			version = conns[i].hello.max_version;
	}
	if (qrep_version_base(epoch) > version)
		version = qrep_version_base(epoch);
	version++;
	qrep_note(note, arg,
		  "%" PRIu64 " block%s (the first %" PRIu64 ") torn where no replica holds a valid copy (a write in flight when every replica lost power): writing zeros at version %" PRIu64 " to every replica before the device starts",
		  n, plural(n), u->torn[0], version);
	err = qrep_uptodate_settle_torn(u, version);
	if (err) {
		if (u->failed >= 0) {
			qrep_note(note, arg, "writing the torn blocks to replica %s failed: %s",
				  cfg->replicas[u->failed].name,
				  peers[u->failed].error[0] ?
				  peers[u->failed].error : strerror(-err));
			qrep_peer_close(&peers[u->failed]);
			conns[u->failed].fd = -1;
		} else {
			qrep_note(note, arg, "writing the torn blocks failed: %s",
				  strerror(-err));
		}
		return err;
	}
	for (i = 0; i < cfg->nr_replicas; i++)
		if (conns[i].fd >= 0 && conns[i].hello.max_version < version)
			conns[i].hello.max_version = version;
	return 0;
}

/* Mirror mode with no complete replica: fills the one that lacks least. */
static int fill_one(const struct qrep_config *cfg,
		    struct qrep_replica_conn *conns, struct qrep_peer *peers,
		    struct qrep_uptodate *u, qrep_note_fn *note, void *arg)
{
	int slot = qrep_uptodate_pick_fill(u), err;
	uint64_t copied;
	unsigned int i;
	const char *name;

	if (slot < 0)
		return 0;
	name = cfg->replicas[slot].name;
	qrep_note(note, arg,
		  "no replica holds every write the others hold: filling replica %s (behind in %" PRIu64 " block%s) from the others before the device starts",
		  name, u->blocks_behind[slot], plural(u->blocks_behind[slot]));
	err = qrep_uptodate_fill(u, (unsigned int)slot, &copied);
	if (err) {
		if (u->failed >= 0) {
			qrep_note(note, arg, "filling replica %s failed: %s", name,
				  peers[u->failed].error[0] ? peers[u->failed].error :
				  strerror(-err));
			qrep_peer_close(&peers[u->failed]);
			conns[u->failed].fd = -1;
		} else {
			qrep_note(note, arg, "filling replica %s failed: %s", name,
				  strerror(-err));
		}
		return err;
	}
	qrep_note(note, arg, "replica %s filled: %" PRIu64 " block%s copied; it holds every write the others hold",
		  name, copied, plural(copied));
	/*
	 * Its hello's highest version is older than what it holds now: the
	 * kernel, told the old one, would find the others newer and make it
	 * stale too, leaving no replica to read from.
	 */
	for (i = 0; i < cfg->nr_replicas; i++)
		if (conns[i].fd >= 0 &&
		    conns[i].hello.max_version > conns[slot].hello.max_version)
			conns[slot].hello.max_version = conns[i].hello.max_version;
	return 0;
}

int qrep_replica_conns_find_stale(const struct qrep_config *cfg,
				  struct qrep_replica_conn *conns,
				  qrep_note_fn *note, void *arg)
{
	struct qrep_peer peers[QREP_MAX_REPLICAS];
	struct qrep_uptodate u = {
		.nr = cfg->nr_replicas, .dev_blocks = cfg->size / QREP_BLOCK_SIZE,
		.note = note, .note_arg = arg,
	};
	unsigned int i;
	int err;

	for (i = 0; i < cfg->nr_replicas; i++) {
		conns[i].stale = false;
		if (conns[i].fd < 0)
			continue;
		qrep_sock_set_timeouts(conns[i].fd, (int)cfg->io_timeout_ms,
				       (int)cfg->io_timeout_ms);
		/* Each target at its own epoch: comparing raises none. */
		qrep_peer_init(&peers[i], conns[i].fd, cfg->replicas[i].name,
			       conns[i].hello.epoch);
	}
	err = compare_conns(cfg, conns, peers, &u, note, arg);
	if (err) {
		qrep_note(note, arg, "cannot compare the replicas: %s", strerror(-err));
		goto out;
	}
	err = settle_torn(cfg, conns, peers, &u, note, arg);
	if (err)
		goto out;
	if (cfg->mode != QREP_MODE_QUORUM && !qrep_uptodate_any_complete(&u)) {
		err = fill_one(cfg, conns, peers, &u, note, arg);
		if (err)
			goto out;
	}
	for (i = 0; i < cfg->nr_replicas; i++) {
		if (conns[i].fd < 0 || !u.blocks_behind[i])
			continue;
		conns[i].stale = true;
		qrep_note(note, arg,
			  "replica %s is behind in %" PRIu64 " region%s (%" PRIu64 " block%s): %s",
			  cfg->replicas[i].name, u.regions_behind[i],
			  plural(u.regions_behind[i]), u.blocks_behind[i],
			  plural(u.blocks_behind[i]),
			  cfg->mode == QREP_MODE_QUORUM ?
			  "it is stale until resynced (reads take the newest of a read quorum meanwhile)" :
			  "it serves no reads until resynced");
	}
out:
	/* The kernel takes the sockets as the handshake left them. */
	for (i = 0; i < cfg->nr_replicas; i++)
		if (conns[i].fd >= 0)
			qrep_sock_set_timeouts(conns[i].fd, 0, 0);
	qrep_uptodate_release(&u);
	return err;
}
