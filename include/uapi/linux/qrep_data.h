/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The data plane's small decision rules, each compiled into the code that
 * applies it and into the data-plane simulation
 * (selftests/unit/test_data_sim.c), which runs them under crashes, lost
 * caches and failures: the store's write rule (the target), the resync's
 * copy rule (user space) and the rule that lets a joining replica be up
 * to date (qrep.ko). Documentation/durability.rst gives the argument.
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
 * A replica joining a device may start up to date only if nothing says
 * otherwise: user space did not find it behind (@stale), it does not
 * come back to a slot whose replica failed (@reconnect: what it lost,
 * acknowledged but unflushed, is unknown), the device has not written
 * since it was made (@dev_written: a write may have gone without it),
 * and it holds the highest version seen so far (@max_version against
 * @dev_version). Otherwise it is suspect in every region and resynced.
 */
static inline int qrep_joiner_may_be_uptodate(int stale, int reconnect,
					      int dev_written,
					      __u64 max_version,
					      __u64 dev_version)
{
#ifdef QREP_PLANT_REJOIN_BY_MAX_VERSION
	/* planted: the old rule, its highest version vouches for it */
	(void)reconnect;
	(void)dev_written;
	return !stale && max_version >= dev_version;
#else
	return !stale && !reconnect && !dev_written &&
	       max_version >= dev_version;
#endif
}

#endif /* _UAPI_LINUX_QREP_DATA_H */
