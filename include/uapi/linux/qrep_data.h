/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The data plane's small decision rules, each compiled into the code that
 * applies it and into the data-plane simulation
 * (selftests/unit/test_data_sim.c), which runs them under crashes, lost
 * caches and failures: the store's write rule (the target), the resync's
 * copy rule (user space), its choice of sources (user space and qrep.ko)
 * and the rule that lets a joining replica be up to date (qrep.ko).
 * Documentation/durability.rst gives the argument.
 *
 * QREP_PLANT_* switches put a broken rule back, for the simulation's
 * check that it finds each one; nothing else ever defines them.
 */
#ifndef _UAPI_LINUX_QREP_DATA_H
#define _UAPI_LINUX_QREP_DATA_H

#include <linux/types.h>

/*
 * Write-if-newer: a store applies a write of @version to a block holding
 * @stored only if it is newer; a repair (a resync's copy) also replaces
 * an equal version, a bad copy of the same write. So a late or
 * duplicated write never undoes a newer one.
 */
static inline int qrep_store_write_applies(__u64 version, __u64 stored,
					   int repair)
{
#ifdef QREP_PLANT_STORE_APPLY_ANY
	return version != stored || repair;	/* planted: older ones too */
#else
	return version > stored || (repair && version == stored);
#endif
}

/*
 * The resync's copy rule, per block: copy the sources' newest version
 * @best to the destination holding @dst when it is newer, or the same
 * version but @dst_bad (a corrupt copy). A block no source has written
 * (@best 0) is never copied.
 */
static inline int qrep_resync_needs_copy(__u64 best, __u64 dst, int dst_bad)
{
	return best > dst || (best && best == dst && dst_bad);
}

/*
 * May a replica be a resync's source? It must be @live (up to date or
 * stale, not failed). Mirror mode copies from one replica that is
 * @uptodate. Quorum mode copies the newest of several, stale ones too
 * (with the destination they make a read quorum), but never one that is
 * @unreconciled: it rejoined a running device and may hold a deposed
 * primary's write of an older epoch that no write quorum holds (an
 * orphan, Documentation/durability.rst, D3). As a source its orphan
 * would be the newest version of its block, and would be copied, as an
 * ordinary newer write, to a replica that reads ask; quorum reads leave
 * it out for the same reason, until its own resync has rolled that back.
 * User space picks its sources by it (lib/resync_driver.c) and qrep.ko
 * clears no region copied from a source it refuses (netlink.c).
 */
static inline int qrep_resync_source_ok(int quorum, int live, int uptodate,
					int unreconciled)
{
#ifdef QREP_PLANT_UNRECONCILED_SOURCE
	/* planted: the old rule, every live replica in quorum mode */
	(void)unreconciled;
	return live && (quorum || uptodate);
#else
	return live && !unreconciled && (quorum || uptodate);
#endif
}

/*
 * A replica joining a device may start up to date only if nothing says
 * otherwise: user space did not find it behind (@stale), it does not
 * come back to a slot whose replica failed (@reconnect: what it lost,
 * acknowledged but unflushed, is unknown), the device has sent no I/O
 * since it was made - no write (@dev_written: a write may have gone
 * without it) and no read (@dev_read: a read returned what the others
 * hold, and the joiner's newer version may be a deposed primary's write
 * of an older epoch that no write quorum holds, an orphan; taking it as
 * up to date would let reads return it, D3, or go back, D5) - and it
 * holds the highest version seen so far (@max_version against
 * @dev_version; versions carry their epoch in the high bits, so its
 * newest version's epoch is not older than any the device has seen).
 * Otherwise it is suspect in every region, resynced, and, once the
 * device has sent I/O, unreconciled until then: its resync rolls an
 * orphan back. A joiner of a device that has sent nothing is one the
 * device starts with, as if `qrepctl up` had reached it.
 */
static inline int qrep_joiner_may_be_uptodate(int stale, int reconnect,
					      int dev_written, int dev_read,
					      __u64 max_version,
					      __u64 dev_version)
{
#if defined(QREP_PLANT_REJOIN_BY_MAX_VERSION)
	/* planted: the old rule, its highest version vouches for it */
	(void)reconnect;
	(void)dev_written;
	(void)dev_read;
	return !stale && max_version >= dev_version;
#elif defined(QREP_PLANT_JOIN_AFTER_READS)
	/* planted: the old rule, blind to the reads the device served */
	(void)dev_read;
	return !stale && !reconnect && !dev_written &&
	       max_version >= dev_version;
#else
	return !stale && !reconnect && !dev_written && !dev_read &&
	       max_version >= dev_version;
#endif
}

/*
 * The target's epoch rules (fencing; userspace/target/conn.c and
 * request.c, Documentation/election.rst). A store holds epoch @held; its
 * epoch never goes down, and a store made by qrep-target init --replace
 * is @joining until qrep-target join sets it to the epoch floor
 * (userspace/lib/join.h).
 */
enum qrep_epoch_verdict {
	QREP_EPOCH_ADMIT,	/* the store's epoch: go on */
	QREP_EPOCH_RAISE,	/* newer: raise the store's epoch, then go on */
	QREP_EPOCH_FENCED,	/* older than the store's: refused */
	QREP_EPOCH_JOINING,	/* the store is joining: it serves nobody */
};

/*
 * A hello of @epoch. A joining store has learned no floor: any epoch it
 * accepted could be one a write quorum already holds, so it refuses every
 * hello. Epoch 0 claims nothing (the client learns the store's epoch from
 * the reply; its requests are fenced one by one).
 */
static inline enum qrep_epoch_verdict
qrep_epoch_hello(__u64 epoch, __u64 held, int joining)
{
#ifdef QREP_PLANT_EPOCH_FLOOR
	(void)joining;		/* planted: a replaced store serves at once */
#else
	if (joining)
		return QREP_EPOCH_JOINING;
#endif
	if (epoch == 0 || epoch == held)
		return QREP_EPOCH_ADMIT;
	return epoch < held ? QREP_EPOCH_FENCED : QREP_EPOCH_RAISE;
}

/* A request of @epoch on a connection whose hello was admitted. */
static inline enum qrep_epoch_verdict qrep_epoch_request(__u64 epoch,
							 __u64 held)
{
	if (epoch == held)
		return QREP_EPOCH_ADMIT;
	return epoch < held ? QREP_EPOCH_FENCED : QREP_EPOCH_RAISE;
}

/*
 * EPOCH_PROPOSE of @proposed: accepted only if it raises the store's
 * epoch, so of two proposals of one epoch at most one is accepted.
 */
static inline int qrep_epoch_proposal_accepted(__u64 proposed, __u64 held)
{
#ifdef QREP_PLANT_PROPOSE_EQUAL
	return proposed >= held;	/* planted: an equal one too */
#else
	return proposed > held;
#endif
}

#endif /* _UAPI_LINUX_QREP_DATA_H */
