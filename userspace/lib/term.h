/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Term reconciliation: the rules by which a target applies a WRITE, and
 * by which a resync rolls back a write of an older epoch that the
 * quorum of the current epoch does not hold (Documentation/durability.rst,
 * D3). Pure functions of versions, flags and epochs, shared by the store
 * (store.c), the resync engine (resync.c) and the data-plane simulation.
 *
 * A version carries its epoch in its high bits (<linux/qrep_quorum.h>).
 *
 * QREP_PLANT_ORPHAN_ROLLBACK puts the old resync back (no rollback), for
 * the data-plane simulation's check that it finds it; nothing else ever
 * defines it (linux/qrep_data.h).
 */
#ifndef QREP_LIB_TERM_H
#define QREP_LIB_TERM_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/qrep_data.h>
#include <linux/qrep_quorum.h>

/*
 * Does a WRITE of @version replace a block stored at @stored, on a store
 * whose epoch is @store_epoch (the request's: fencing admitted it only
 * at that epoch)? A newer version always does; with @repair an equal
 * one does too (the same write's good data over a bad copy); with
 * @rollback (which comes with @repair) any version does, 0 included,
 * if the stored one belongs to an older epoch than the store's: a write
 * of a deposed primary that the current epoch's quorum does not hold.
 * A stored version of the current epoch is never rolled back, so a
 * rollback that races with the primary's own write of the block loses.
 */
static inline bool qrep_write_applies(uint64_t stored, uint64_t version,
				      bool repair, bool rollback,
				      uint64_t store_epoch)
{
	/* The ordinary rule (write-if-newer), for every real version. */
	if (version && qrep_store_write_applies(version, stored, repair))
		return true;
	return rollback && repair && stored &&
	       qrep_version_epoch(stored) < store_epoch;
}

/*
 * Is the destination's version @dst of a block an orphan that a resync at
 * @epoch rolls back to @best, the newest version its sources hold? Only
 * when the sources hold every acknowledged write (the caller's part: an
 * up-to-date source in mirror mode, R live sources in quorum mode):
 * then @dst above @best was never acknowledged.
 */
static inline bool qrep_resync_rolls_back(uint64_t dst, uint64_t best,
					  uint64_t epoch)
{
#ifdef QREP_PLANT_ORPHAN_ROLLBACK
	/* planted: versions alone decide, the orphan stays */
	(void)dst;
	(void)best;
	(void)epoch;
	return false;
#else
	return dst > best && qrep_version_epoch(dst) < epoch;
#endif
}

#endif /* QREP_LIB_TERM_H */
