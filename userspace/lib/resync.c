// SPDX-License-Identifier: GPL-2.0
/* The resync copy engine: see resync.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/qrep_data.h>

#include "bytes.h"
#include "resync.h"
#include "term.h"

/* Regions copied between two reports of what is done. */
#define QREP_RESYNC_REPORT_REGIONS	16

/* A SUMMARY reply: one FNV-1a hash per region. */
#define QREP_SUMMARY_SIZE		sizeof(uint64_t)

/* Buffers of one region's work; about 1 MiB, on the heap. */
struct region_work {
	/* Per block: the highest version among the sources, and who has it. */
	uint64_t best_v[QREP_REGION_BLOCKS];
	uint8_t holder[QREP_REGION_BLOCKS];	/* an index in job->srcs */
	uint64_t dst_v[QREP_REGION_BLOCKS];
	bool dst_bad[QREP_REGION_BLOCKS];
	bool rollback[QREP_REGION_BLOCKS];	/* dst_v is an orphan */
	uint8_t meta[QREP_REGION_BLOCKS * QREP_BLOCK_CHECK_SIZE];
	/* SUMMARY replies of a batch: each source's, then the destination's. */
	uint8_t sums[QREP_RESYNC_MAX_SOURCES + 1]
		    [QREP_MAX_REQ_BLOCKS * QREP_SUMMARY_SIZE];
	uint8_t rversions[QREP_MAX_REQ_BLOCKS * sizeof(uint64_t)];
	uint8_t data[QREP_MAX_REQ_BLOCKS * QREP_BLOCK_SIZE];
};

_Static_assert(QREP_RESYNC_MAX_SOURCES <= UINT8_MAX,
	       "region_work.holder holds an index in job->srcs");

static bool bit_set(const uint32_t *bits, uint64_t i)
{
	return bits[i / 32] >> (i % 32) & 1;
}

uint64_t qrep_resync_count_bits(const uint32_t *bits, uint64_t count)
{
	uint64_t i, n = 0;

	for (i = 0; i < count; i++)
		n += bit_set(bits, i);
	return n;
}

static int src_fail(struct qrep_resync_job *job, unsigned int k, int err)
{
	job->src_failed = true;
	job->failed_src = (int)k;
	return err;
}

static int dst_fail(struct qrep_resync_job *job, int err)
{
	job->dst_failed = true;
	return err;
}

static uint32_t region_blocks(const struct qrep_resync_job *job,
			      uint64_t region)
{
	uint64_t first = region << QREP_REGION_SHIFT;
	uint64_t left = job->dev_blocks - first;

	return left < QREP_REGION_BLOCKS ? (uint32_t)left : QREP_REGION_BLOCKS;
}

/*
 * A run of blocks whose newest version is on source @k: each is written
 * with the version it has there when read (at least the one VERSIONS
 * gave: a target's versions only grow).
 */
static int copy_run(struct qrep_resync_job *job, struct region_work *w,
		    unsigned int k, uint64_t block, uint32_t n, bool rollback)
{
	uint16_t flags = QREP_REQ_REPAIR | (rollback ? QREP_REQ_ROLLBACK : 0);
	uint32_t i, j;
	uint64_t v;
	int err;

	if (job->ops->throttle)
		job->ops->throttle(job->ops->arg, &job->stats);
	err = qrep_peer_call(job->srcs[k], QREP_OP_READ, 0, block, n, 0, NULL,
			     w->rversions, w->data);
	if (err)
		return src_fail(job, k, err);
	for (i = 0; i < n; i = j) {
		v = qrep_get_be64(w->rversions + i * sizeof(uint64_t));
		for (j = i + 1; j < n &&
		     qrep_get_be64(w->rversions + j * sizeof(uint64_t)) == v; j++)
			;
		/*
		 * Never written on the source: nothing to copy, unless the
		 * destination's is an orphan, which goes back to "never".
		 */
		if (!v && !rollback)
			continue;
		err = qrep_peer_call(job->dst, QREP_OP_WRITE, flags,
				     block + i, j - i, v,
				     w->data + (size_t)i * QREP_BLOCK_SIZE,
				     NULL, NULL);
		if (err)
			return dst_fail(job, err);
		job->stats.blocks_copied += j - i;
		job->stats.bytes_copied += (uint64_t)(j - i) * QREP_BLOCK_SIZE;
	}
	return 0;
}

static bool needs_copy(const struct region_work *w, uint32_t i)
{
	return qrep_resync_needs_copy(w->best_v[i], w->dst_v[i],
				      w->dst_bad[i]) || w->rollback[i];
}

/*
 * Marks the blocks whose destination version is an orphan of an older
 * epoch (term.h). -EAGAIN if there is one and too few sources to know
 * that it was never acknowledged: the region stays marked.
 */
static int find_orphans(struct qrep_resync_job *job, struct region_work *w,
			uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		w->rollback[i] = qrep_resync_rolls_back(w->dst_v[i],
							w->best_v[i],
							job->dst->epoch);
		if (!w->rollback[i])
			continue;
		if (!job->rollback_srcs)
			w->rollback[i] = false;
		else if (job->nr_srcs < job->rollback_srcs)
			job->rollback_short = true;
	}
	return job->rollback_short ? -EAGAIN : 0;
}

/*
 * The highest version of each of the region's @n blocks among the
 * sources, and the first source that has it. A block no source has
 * written stays at version 0 and is never copied.
 */
static int newest_of_sources(struct qrep_resync_job *job,
			     struct region_work *w, uint64_t first, uint32_t n)
{
	unsigned int k;
	uint64_t v;
	uint32_t i;
	int err;

	memset(w->best_v, 0, sizeof(w->best_v));
	memset(w->holder, 0, sizeof(w->holder));
	for (k = 0; k < job->nr_srcs; k++) {
		err = qrep_peer_call(job->srcs[k], QREP_OP_VERSIONS, 0, first,
				     n, 0, NULL, w->meta, NULL);
		if (err)
			return src_fail(job, k, err);
		for (i = 0; i < n; i++) {
			v = qrep_get_be64(w->meta + i * sizeof(uint64_t));
			if (v > w->best_v[i]) {
				w->best_v[i] = v;
				w->holder[i] = (uint8_t)k;
			}
		}
	}
	return 0;
}

/* One region, block by block. */
static int resync_region(struct qrep_resync_job *job, struct region_work *w,
			 uint64_t region)
{
	uint64_t first = region << QREP_REGION_SHIFT;
	uint32_t n = region_blocks(job, region), i, j;
	const uint8_t *e;
	int err;

	job->stats.regions_compared++;
	err = newest_of_sources(job, w, first, n);
	if (err)
		return err;
	err = qrep_peer_call(job->dst, job->check_data ? QREP_OP_CHECKSUMS :
			     QREP_OP_VERSIONS, 0, first, n, 0, NULL, w->meta,
			     NULL);
	if (err)
		return dst_fail(job, err);
	for (i = 0; i < n; i++) {
		if (!job->check_data) {
			w->dst_v[i] = qrep_get_be64(w->meta + i * sizeof(uint64_t));
			w->dst_bad[i] = false;
			continue;
		}
		e = w->meta + (size_t)i * QREP_BLOCK_CHECK_SIZE;
		w->dst_v[i] = qrep_get_be64(e);
		w->dst_bad[i] = qrep_get_be32(e + 12) & QREP_CHECK_BAD;
	}
	err = find_orphans(job, w, n);
	if (err)
		return err;
	/* Runs of blocks to copy that one source can give in one READ. */
	for (i = 0; i < n; i = j) {
		if (!needs_copy(w, i)) {
			j = i + 1;
			continue;
		}
		for (j = i + 1; j < n && needs_copy(w, j) &&
		     w->holder[j] == w->holder[i] &&
		     w->rollback[j] == w->rollback[i]; j++)
			;
		err = copy_run(job, w, w->holder[i], first + i, j - i,
			       w->rollback[i]);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Summaries of regions [first, first + n) on every source and the
 * destination; clears from @todo (bit i = region first + i) the regions
 * whose summaries all agree: then every source holds exactly the
 * destination's versions there, and nothing is newer anywhere.
 */
static int filter_by_summary(struct qrep_resync_job *job,
			     struct region_work *w, uint64_t first,
			     uint32_t n, bool *todo)
{
	const uint8_t *dsum = w->sums[job->nr_srcs];
	unsigned int k;
	uint32_t i;
	int err;

	for (k = 0; k < job->nr_srcs; k++) {
		err = qrep_peer_call(job->srcs[k], QREP_OP_SUMMARY, 0,
				     first << QREP_REGION_SHIFT, n, 0, NULL,
				     w->sums[k], NULL);
		if (err)
			return src_fail(job, k, err);
	}
	err = qrep_peer_call(job->dst, QREP_OP_SUMMARY, 0,
			     first << QREP_REGION_SHIFT, n, 0, NULL,
			     w->sums[job->nr_srcs], NULL);
	if (err)
		return dst_fail(job, err);
	for (i = 0; i < n; i++) {
		for (k = 0; k < job->nr_srcs; k++)
			if (memcmp(w->sums[k] + i * QREP_SUMMARY_SIZE,
				   dsum + i * QREP_SUMMARY_SIZE,
				   QREP_SUMMARY_SIZE) != 0)
				break;
		if (k == job->nr_srcs)
			todo[i] = false;
	}
	return 0;
}

/* Tells the caller that the marked regions of [first, first + n) are done. */
static int report_done(struct qrep_resync_job *job, const uint32_t *bits,
		       uint64_t base, uint64_t first, uint32_t n)
{
	uint32_t i, j;
	int err;

	for (i = 0; i < n; i = j) {
		if (!bit_set(bits, first - base + i)) {
			j = i + 1;
			continue;
		}
		for (j = i + 1; j < n && bit_set(bits, first - base + j); j++)
			;
		err = job->ops->regions_done(job->ops->arg, first + i, j - i);
		if (err)
			return err;
		job->stats.regions_done += j - i;
	}
	if (job->ops->progress)
		job->ops->progress(job->ops->arg, &job->stats);
	return 0;
}

/*
 * Up to QREP_MAX_REQ_BLOCKS regions from @first, those marked in @todo;
 * what is done is reported every QREP_RESYNC_REPORT_REGIONS regions, so
 * an interruption loses little and progress moves smoothly.
 */
static int resync_batch(struct qrep_resync_job *job, struct region_work *w,
			const uint32_t *bits, uint64_t base, uint64_t first,
			uint32_t n, bool *todo)
{
	uint32_t i, reported = 0;
	int err;

	/*
	 * Summaries say nothing of corrupt data (its version is right):
	 * with check_data every marked region is looked at block by block.
	 */
	if (job->use_summaries && !job->check_data) {
		err = filter_by_summary(job, w, first, n, todo);
		if (err)
			return err;
	}
	for (i = 0; i < n; i++) {
		if (todo[i]) {
			err = resync_region(job, w, first + i);
			if (err)
				return err;
		}
		if (i + 1 == n || (i + 1) % QREP_RESYNC_REPORT_REGIONS == 0) {
			err = report_done(job, bits, base, first + reported,
					  i + 1 - reported);
			if (err)
				return err;
			reported = i + 1;
		}
	}
	return 0;
}

void qrep_resync_drop_source(struct qrep_resync_job *job, unsigned int k)
{
	if (k >= job->nr_srcs)
		return;
	/* Else a job left with no source would fall back on it. */
	if (job->srcs[k] == job->src)
		job->src = NULL;
	memmove(&job->srcs[k], &job->srcs[k + 1],
		(job->nr_srcs - k - 1) * sizeof(job->srcs[0]));
	job->srcs[--job->nr_srcs] = NULL;
}

/* The sources are known, distinct from the destination, few enough. */
static int check_sources(struct qrep_resync_job *job)
{
	unsigned int k;

	if (!job->nr_srcs && job->src) {
		job->srcs[0] = job->src;
		job->nr_srcs = 1;
	}
	if (!job->nr_srcs || job->nr_srcs > QREP_RESYNC_MAX_SOURCES ||
	    !job->dst)
		return -EINVAL;
	for (k = 0; k < job->nr_srcs; k++)
		if (!job->srcs[k] || job->srcs[k] == job->dst)
			return -EINVAL;
	return 0;
}

int qrep_resync_regions(struct qrep_resync_job *job, const uint32_t *bits,
			uint64_t first, uint64_t count)
{
	bool todo[QREP_MAX_REQ_BLOCKS];
	struct region_work *w;
	uint64_t at, n;
	uint32_t i;
	bool any;
	int err;

	job->src_failed = false;
	job->dst_failed = false;
	job->rollback_short = false;
	job->failed_src = -1;
	err = check_sources(job);
	if (err)
		return err;
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (at = 0; at < count && !err; at += n) {
		n = count - at < QREP_MAX_REQ_BLOCKS ? count - at :
		    QREP_MAX_REQ_BLOCKS;
		any = false;
		for (i = 0; i < n; i++) {
			todo[i] = bit_set(bits, at + i);
			any |= todo[i];
		}
		if (!any)
			continue;
		err = resync_batch(job, w, bits, first, first + at,
				   (uint32_t)n, todo);
	}
	free(w);
	return err;
}
