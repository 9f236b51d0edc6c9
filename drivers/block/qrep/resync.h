/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What each replica missed, region by region, and the kernel's side of a
 * resync: user space copies (Documentation/resync.rst), the device keeps
 * the record and decides when a replica is up to date again.
 */
#ifndef _QREP_RESYNC_H
#define _QREP_RESYNC_H

#include <linux/types.h>

struct netlink_ext_ack;
struct qrep_device;
struct qrep_replica;

/* Regions of a device of @size bytes. */
unsigned long qrep_regions_of(u64 size);

/* The slot's bitmap, allocated on the slot's first replica; GFP_KERNEL. */
int qrep_dirty_track(struct qrep_device *dev, unsigned int slot);
void qrep_dirty_free(struct qrep_device *dev);

/* Records that the slot's replica lacks the blocks given. Any context. */
void qrep_dirty_mark(struct qrep_device *dev, unsigned int slot,
		     u64 block, u32 nblocks);
/* The slot's replica may lack anything: every region, summaries first. */
void qrep_dirty_mark_all(struct qrep_device *dev, unsigned int slot);
/*
 * A WRITE being dispatched: recorded for every tracked slot with no live
 * replica to send it to. Under rcu_read_lock, from queue_rq.
 */
void qrep_dirty_mark_absent(struct qrep_device *dev, u64 block, u32 nblocks);
unsigned long qrep_dirty_weight(struct qrep_device *dev, unsigned int slot);
bool qrep_dirty_history_unknown(struct qrep_device *dev, unsigned int slot);
/*
 * A READ found a block of the slot's replica failing its checksum: the
 * resync must read the data of its marked regions, not only versions.
 */
void qrep_dirty_mark_corrupt(struct qrep_device *dev, unsigned int slot,
			     u64 block, u32 nblocks);
bool qrep_dirty_check_data(struct qrep_device *dev, unsigned int slot);
/*
 * Copies regions [@start, @start + @count) of the slot's bitmap into
 * @words (bit i of the result = region @start + i); returns how many
 * regions it copied.
 */
unsigned long qrep_dirty_get(struct qrep_device *dev, unsigned int slot,
			     unsigned long start, u32 *words,
			     unsigned long max);

/*
 * QREP_CMD_RESYNC_UPDATE's START, in two halves. _begin, under
 * qrep_devices_mutex and slots_mutex: checks the replica, notes the
 * last version stamped and takes a drainer reference on the device and
 * one on the replica. _end, with no lock held: waits for the older
 * writes in flight, then marks the resync active if the replica is
 * still in its slot and stale, and drops both references.
 */
int qrep_resync_start_begin(struct qrep_device *dev, struct qrep_replica *r,
			    u64 *version, struct netlink_ext_ack *extack);
int qrep_resync_start_end(struct qrep_device *dev, struct qrep_replica *r,
			  u64 version, struct netlink_ext_ack *extack);
/* Teardown, once QREP_DEV_DYING is set: the STARTs in progress end. */
void qrep_resync_drainers_wait(struct qrep_device *dev);
/* The other phases; the caller holds slots_mutex. */
/* @source: mirror mode's up-to-date source; NULL in quorum mode (netlink.c checked the sources). */
int qrep_resync_clear(struct qrep_device *dev, struct qrep_replica *r,
		      struct qrep_replica *source, unsigned long start,
		      unsigned long count, struct netlink_ext_ack *extack);
int qrep_resync_finish(struct qrep_device *dev, struct qrep_replica *r,
		       struct netlink_ext_ack *extack);
void qrep_resync_progress(struct qrep_replica *r, u64 done, u64 total,
			  u64 rate);
void qrep_resync_stop(struct qrep_replica *r);

#endif /* _QREP_RESYNC_H */
