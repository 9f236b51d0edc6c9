/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which of a device's replicas are up to date when the device is made
 * from them (qrepctl up, qrepd's first connection of a primary), decided
 * by what the stores hold, never by their highest versions.
 *
 * The rule (Documentation/durability.rst, D4): replica r is behind when,
 * for some block, another connected replica holds a newer version than r
 * does. A replica can be behind with the newest highest version of all:
 * it missed X while it was away, and both then took the newer Y. So the
 * stores are compared region by region: each target's SUMMARY of every
 * region (a hash of its blocks' versions), and where the summaries of a
 * region differ, each one's VERSIONS of its blocks.
 *
 * Mirror mode reads from one up-to-date replica, so it needs a replica
 * that lacks nothing. When every replica lacks something another holds
 * (X on a only, Y on b only), the one that lacks fewest blocks is filled
 * from the others first - the blocks copied with their versions, as a
 * resync does (resync.h) - before the device exists. Quorum mode needs
 * no such replica: a read takes the newest of a read quorum; a replica
 * found behind is only marked stale, for its resync.
 *
 * Unreachable replicas take no part: what they hold is decided when they
 * come back (they join stale, and their resync compares every region).
 *
 * A block every connected replica holds at version 0, torn on at least
 * one (a write in flight when every replica lost power, that none kept
 * whole), is "unsettled": no replica's copy is newer than another's, so
 * neither this rule nor a resync would ever make them equal, and a read
 * of a torn copy fails. Such blocks are found through the torn flag of
 * their regions' summaries and CHECKSUMS, and written, before the device
 * exists, to every connected replica as zeros (the block as it was
 * before that write, if it was never written; in any case a content
 * that write may leave, since it was never acknowledged) at one version
 * of the device's epoch, above every version the replicas hold
 * (Documentation/durability.rst, scenario 14).
 */
#ifndef QREP_LIB_UPTODATE_H
#define QREP_LIB_UPTODATE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/qrep.h>

#include "config.h"
#include "device.h"
#include "peer.h"

/* Progress notes on the comparison at most this often. */
#define QREP_UPTODATE_REPORT_MS		1000

struct qrep_uptodate {
	/* In: per slot, a connection to its target, or NULL (not connected). */
	struct qrep_peer *peers[QREP_MAX_REPLICAS];
	unsigned int nr;		/* slots */
	uint64_t dev_blocks;
	/*
	 * Out, per slot: blocks and regions where another replica holds a
	 * newer version, and those regions (bit i: region i), allocated
	 * (qrep_uptodate_release frees them).
	 */
	uint64_t blocks_behind[QREP_MAX_REPLICAS];
	uint64_t regions_behind[QREP_MAX_REPLICAS];
	uint32_t *behind[QREP_MAX_REPLICAS];
	/*
	 * Out: the unsettled blocks, ascending (nr_torn of them, allocated;
	 * qrep_uptodate_release frees them).
	 */
	uint64_t *torn;
	uint64_t nr_torn;
	uint64_t torn_cap;
	uint64_t regions;		/* of the device */
	uint64_t regions_compared;	/* looked at block by block */
	/* The slot whose connection failed when an error is returned, or -1. */
	int failed;
	/* Optional: progress of a long comparison, in sentences. */
	qrep_note_fn *note;
	void *note_arg;
};

/*
 * Region @region's verdict from its blocks' versions: @versions[k] holds
 * replica k's @n versions, NULL if replica k takes no part. Adds to
 * @lacking[k] the number of blocks where another replica holds a newer
 * version than k. Pure: no I/O.
 */
void qrep_uptodate_region(const uint64_t *const versions[], unsigned int nr,
			  uint32_t n, uint64_t lacking[]);

/*
 * Which of a region's blocks are unsettled: @versions[k] and @torn[k]
 * hold replica k's @n versions and torn flags, NULL if replica k takes
 * no part. Sets @unsettled[i] when every replica taking part holds
 * block i at version 0 and at least one holds it torn; returns how many
 * are. Pure: no I/O.
 */
uint32_t qrep_uptodate_torn_region(const uint64_t *const versions[],
				   const bool *const torn[], unsigned int nr,
				   uint32_t n, bool unsettled[]);

/*
 * Compares the connected replicas (u->peers, u->nr, u->dev_blocks set):
 * fills the out fields. 0, -ENOMEM, or -errno with u->failed naming the
 * replica whose connection failed (its peer's error says why).
 */
int qrep_uptodate_compare(struct qrep_uptodate *u);

/* A connected replica that lacks nothing, after compare: is there one? */
bool qrep_uptodate_any_complete(const struct qrep_uptodate *u);

/*
 * The replica to fill when none is complete: the connected one lacking
 * fewest blocks (the lowest slot of equals); -1 if fewer than two are
 * connected or one is complete already. Pure.
 */
int qrep_uptodate_pick_fill(const struct qrep_uptodate *u);

/*
 * Copies to replica @slot, from every other connected replica, each
 * block where another holds a newer version (after compare); then @slot
 * lacks nothing and its counts are 0. @copied: the blocks written. 0 or
 * -errno with u->failed set as compare does.
 */
int qrep_uptodate_fill(struct qrep_uptodate *u, unsigned int slot,
		       uint64_t *copied);

/*
 * Writes every unsettled block (after compare) as zeros at @version, FUA,
 * to every connected replica; then nr_torn is 0. 0 or -errno with
 * u->failed set as compare does.
 */
int qrep_uptodate_settle_torn(struct qrep_uptodate *u, uint64_t version);

/* Frees what compare allocated. */
void qrep_uptodate_release(struct qrep_uptodate *u);

/*
 * For qrepctl up and qrepd: decides, on the connections of @conns just
 * made (handshake done, not yet handed to the kernel), which replicas are
 * stale (conns[i].stale), and in mirror mode fills one first if none
 * lacks nothing. Says what it finds and does through @note. A replica
 * whose connection fails meanwhile is closed (its fd -1) and the others
 * are compared again: in quorum mode the caller goes on without it, in
 * mirror mode it fails, as for one that never answered. Returns 0, or
 * -errno when no decision could be made (out of memory, or a fill that
 * failed), said through @note: the device must not be made.
 */
int qrep_replica_conns_find_stale(const struct qrep_config *cfg,
				  struct qrep_replica_conn *conns,
				  qrep_note_fn *note, void *arg);

#endif /* QREP_LIB_UPTODATE_H */
