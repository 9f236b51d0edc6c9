// SPDX-License-Identifier: GPL-2.0
/* The resync copy engine: see resync.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "resync.h"

/* Regions copied between two reports of what is done. */
#define QREP_RESYNC_REPORT_REGIONS	16

/* Buffers of one region's work; about 1 MiB, on the heap. */
struct region_work {
	uint64_t src_v[QREP_REGION_BLOCKS];
	uint64_t dst_v[QREP_REGION_BLOCKS];
	bool dst_bad[QREP_REGION_BLOCKS];
	uint8_t meta[QREP_REGION_BLOCKS * QREP_BLOCK_CHECK_SIZE];
	uint8_t rversions[QREP_MAX_REQ_BLOCKS * sizeof(uint64_t)];
	uint8_t data[QREP_MAX_REQ_BLOCKS * QREP_BLOCK_SIZE];
};

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

static int src_fail(struct qrep_resync_job *job, int err)
{
	job->src_failed = true;
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

/* Each block of the run gets written with the version it has on the source. */
static int copy_run(struct qrep_resync_job *job, struct region_work *w,
		    uint64_t block, uint32_t n)
{
	uint32_t i, j;
	uint64_t v;
	int err;

	if (job->ops->throttle)
		job->ops->throttle(job->ops->arg, &job->stats);
	err = qrep_peer_call(job->src, QREP_OP_READ, 0, block, n, 0, NULL,
			     w->rversions, w->data);
	if (err)
		return src_fail(job, err);
	for (i = 0; i < n; i = j) {
		v = qrep_get_be64(w->rversions + i * sizeof(uint64_t));
		for (j = i + 1; j < n &&
		     qrep_get_be64(w->rversions + j * sizeof(uint64_t)) == v; j++)
			;
		if (!v)		/* never written on the source: nothing to copy */
			continue;
		err = qrep_peer_call(job->dst, QREP_OP_WRITE, QREP_REQ_REPAIR,
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
	return w->src_v[i] > w->dst_v[i] ||
	       (w->src_v[i] && w->src_v[i] == w->dst_v[i] && w->dst_bad[i]);
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
	err = qrep_peer_call(job->src, QREP_OP_VERSIONS, 0, first, n, 0, NULL,
			     w->meta, NULL);
	if (err)
		return src_fail(job, err);
	for (i = 0; i < n; i++)
		w->src_v[i] = qrep_get_be64(w->meta + i * sizeof(uint64_t));
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
	for (i = 0; i < n; i = j) {
		if (!needs_copy(w, i)) {
			j = i + 1;
			continue;
		}
		for (j = i + 1; j < n && needs_copy(w, j); j++)
			;
		err = copy_run(job, w, first + i, j - i);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Summaries of regions [first, first + n) on both sides; clears from
 * @todo (bit i = region first + i) the regions whose summaries agree.
 */
static int filter_by_summary(struct qrep_resync_job *job,
			     struct region_work *w, uint64_t first,
			     uint32_t n, bool *todo)
{
	uint8_t *dmeta = w->meta + QREP_REGION_BLOCKS * sizeof(uint64_t);
	uint32_t i;
	int err;

	err = qrep_peer_call(job->src, QREP_OP_SUMMARY, 0,
			     first << QREP_REGION_SHIFT, n, 0, NULL, w->meta,
			     NULL);
	if (err)
		return src_fail(job, err);
	err = qrep_peer_call(job->dst, QREP_OP_SUMMARY, 0,
			     first << QREP_REGION_SHIFT, n, 0, NULL, dmeta,
			     NULL);
	if (err)
		return dst_fail(job, err);
	for (i = 0; i < n; i++)
		if (memcmp(w->meta + i * 8, dmeta + i * 8, 8) == 0)
			todo[i] = false;
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

int qrep_resync_regions(struct qrep_resync_job *job, const uint32_t *bits,
			uint64_t first, uint64_t count)
{
	bool todo[QREP_MAX_REQ_BLOCKS];
	struct region_work *w;
	uint64_t at, n;
	uint32_t i;
	bool any;
	int err = 0;

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
