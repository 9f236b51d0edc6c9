/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The copy engine of a resync: brings a destination target's regions up
 * to the newest of one or more source targets, moving only blocks whose
 * versions differ. Documentation/resync.rst describes the scheme, what it
 * costs, and why several sources are needed in quorum mode.
 *
 * Mirror mode has one source, an up-to-date replica. Quorum mode has
 * several: no replica need hold the newest version of every block, but
 * the sources and the destination together make a read quorum, so for
 * every block the newest completed write is on one of them.
 *
 * Per region it is given:
 *  - with summaries (history unknown): the region's SUMMARY on every
 *    source and the destination; a region whose summaries are all equal
 *    is done, the others go on to the next step;
 *  - every source's VERSIONS and the destination's VERSIONS of the region
 *    (metadata only) - or, with check_data (a read found a corrupt block
 *    on the destination), its CHECKSUMS: it reads its own data, locally,
 *    and says which blocks are bad;
 *  - per block, the highest version among the sources; where that is
 *    newer than the destination's, or the same version but bad there,
 *    the block is READ from the source holding it and written to the
 *    destination with its own version (QREP_REQ_REPAIR, so that an equal
 *    version replaces a bad copy; a newer block on the destination is
 *    never overwritten, whatever the order);
 *  - where the destination holds a version of an epoch older than the
 *    peers' (the device's) above the sources' newest, a write of a
 *    deposed primary that never reached a write quorum: with enough
 *    sources (rollback_srcs) it is rolled back to the sources' newest,
 *    QREP_REQ_ROLLBACK (version 0: "never written").
 *
 * With one source this sends exactly the requests the single-source
 * engine always sent: nothing per region is added in mirror mode.
 */
#ifndef QREP_LIB_RESYNC_H
#define QREP_LIB_RESYNC_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/qrep.h>

#include "peer.h"

/* Every replica but the destination can be a source. */
#define QREP_RESYNC_MAX_SOURCES	(QREP_MAX_REPLICAS - 1)

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
	/*
	 * The sources, srcs[0..nr_srcs), read in that order; where several
	 * hold a block's highest version, the first of them is read. A job
	 * with nr_srcs == 0 has the one source @src (qrep_resync_regions
	 * then makes it srcs[0]).
	 */
	struct qrep_peer *srcs[QREP_RESYNC_MAX_SOURCES];
	unsigned int nr_srcs;
	struct qrep_peer *src, *dst;
	uint64_t dev_blocks;
	bool use_summaries;
	bool check_data;
	/*
	 * The sources needed to roll back a write of an older epoch that
	 * the destination holds and they do not (term.h): enough that they
	 * hold every acknowledged write - 1 in mirror mode (an up-to-date
	 * source), R in quorum mode. 0: never roll back. A block to roll
	 * back with fewer sources live stops the pass with -EAGAIN and
	 * rollback_short set, its region left marked.
	 */
	unsigned int rollback_srcs;
	bool rollback_short;
	const struct qrep_resync_ops *ops;
	struct qrep_resync_stats stats;
	/*
	 * Which side failed, when qrep_resync_regions returns an error;
	 * with src_failed, failed_src is the index in srcs of the source
	 * (else -1), so that a caller with other sources can drop that one
	 * and go on.
	 */
	bool src_failed, dst_failed;
	int failed_src;
};

/*
 * Resyncs the regions whose bits are set in @bits (bit i = region
 * @first + i, @count of them). Returns 0, or -errno with job->src_failed
 * (and job->failed_src) or job->dst_failed saying where (the peer's
 * error says why), or the negative value regions_done returned; -EINVAL
 * if the job has no source, too many, or the destination among them.
 */
int qrep_resync_regions(struct qrep_resync_job *job, const uint32_t *bits,
			uint64_t first, uint64_t count);

/*
 * Takes source @k out of job->srcs, keeping the others' order (and so
 * their indexes below @k): for a caller going on without a failed one.
 */
void qrep_resync_drop_source(struct qrep_resync_job *job, unsigned int k);

/* The number of set bits among the first @count of @bits. */
uint64_t qrep_resync_count_bits(const uint32_t *bits, uint64_t count);

#endif /* QREP_LIB_RESYNC_H */
