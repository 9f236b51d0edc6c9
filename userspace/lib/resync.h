/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The copy engine of a resync: brings a destination target's regions up
 * to a source target's, moving only blocks whose versions differ.
 * Documentation/resync.rst describes the scheme and what it costs.
 *
 * Per region it is given:
 *  - with summaries (history unknown): the region's SUMMARY on both;
 *    equal ones are done, unequal ones go on to the next step;
 *  - the source's VERSIONS and the destination's VERSIONS of the region
 *    (metadata only) - or, with check_data (a read found a corrupt block
 *    on the destination), its CHECKSUMS: it reads its own data, locally,
 *    and says which blocks are bad;
 *  - blocks newer on the source, or of the same version but bad on the
 *    destination, are READ from the source and written to the
 *    destination with their own versions (QREP_REQ_REPAIR, so that an
 *    equal version replaces a bad copy; a newer block on the destination
 *    is never overwritten, whatever the order).
 */
#ifndef QREP_LIB_RESYNC_H
#define QREP_LIB_RESYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "peer.h"

struct qrep_resync_stats {
	uint64_t regions_total;		/* marked when the pass began */
	uint64_t regions_done;
	uint64_t regions_compared;	/* looked at block by block */
	uint64_t blocks_copied;
	uint64_t bytes_copied;		/* block data written */
};

struct qrep_resync_ops {
	/*
	 * Regions [start, start + count) are copied: the caller clears them
	 * (in the kernel's bitmap). A negative return stops the engine.
	 */
	int (*regions_done)(void *arg, uint64_t start, uint64_t count);
	/* Before each copy: rate limit and yielding to application I/O. */
	void (*throttle)(void *arg, const struct qrep_resync_stats *st);
	/* After each batch of regions. */
	void (*progress)(void *arg, const struct qrep_resync_stats *st);
	void *arg;
};

struct qrep_resync_job {
	struct qrep_peer *src, *dst;
	uint64_t dev_blocks;
	bool use_summaries;
	bool check_data;
	const struct qrep_resync_ops *ops;
	struct qrep_resync_stats stats;
	/* Which side failed, when qrep_resync_regions returns an error. */
	bool src_failed, dst_failed;
};

/*
 * Resyncs the regions whose bits are set in @bits (bit i = region
 * @first + i, @count of them). Returns 0, or -errno with job->src_failed
 * or job->dst_failed saying where (the peer's error says why), or the
 * negative value regions_done returned.
 */
int qrep_resync_regions(struct qrep_resync_job *job, const uint32_t *bits,
			uint64_t first, uint64_t count);

/* The number of set bits among the first @count of @bits. */
uint64_t qrep_resync_count_bits(const uint32_t *bits, uint64_t count);

#endif /* QREP_LIB_RESYNC_H */
