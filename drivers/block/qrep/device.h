/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A qrep device: the configuration it was created with, and the running
 * block device (/dev/qrepN) built from it.
 */
#ifndef _QREP_DEVICE_H
#define _QREP_DEVICE_H

#include <linux/atomic.h>
#include <linux/blk-mq.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/qrep.h>
#include <linux/qrep_proto.h>

/* Requests in flight per hardware queue. */
#define QREP_QUEUE_DEPTH	128

struct qrep_replica;

/* What user space asked for; never changes while the device lives. */
struct qrep_dev_config {
	u64 size;			/* bytes, a multiple of QREP_BLOCK_SIZE */
	u32 mode;			/* enum qrep_mode */
	u8 uuid[QREP_UUID_SIZE];
	u64 epoch;			/* at creation; dev->epoch is the live one */
	u32 role;			/* at creation; dev->role is the live one */
	u32 io_timeout_ms;		/* the blk-mq request timeout */
	/* Quorum mode only (see quorum.c); 0 in mirror mode. */
	u32 nr_replicas;		/* N: slots 0..N-1 */
	u32 write_quorum;		/* W */
	u32 read_quorum;		/* R */
	u32 on_no_quorum;		/* enum qrep_on_no_quorum */
};

/* Bits in qrep_device.flags. */
enum {
	QREP_DEV_WRITTEN,		/* a write has been stamped with a version */
	QREP_DEV_READ,			/* a read has been sent */
	QREP_DEV_NO_REPLICAS_SENT,	/* QREP_EVENT_DEV_NO_REPLICAS is out */
	QREP_DEV_DYING,			/* being destroyed: no more events */
	QREP_DEV_SIZE_SHOWN,		/* the disk has its size: see quorum.c */
};

struct qrep_device {
	struct list_head node;		/* in qrep_devices, under qrep_devices_mutex */
	int index;			/* N of /dev/qrepN */
	struct qrep_dev_config config;

	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;

	/*
	 * The request in flight on each driver tag (hardware queue times
	 * QREP_QUEUE_DEPTH plus tag), under inflight_lock, and the count
	 * that makes every dispatch's handle new: see request.c.
	 */
	spinlock_t inflight_lock;
	struct qrep_io **inflight;
	atomic64_t handle_seq;

	/*
	 * The replicas, by slot (QREP_A_REPLICA_ID). Readers, the I/O path
	 * among them, use RCU; slots change only under slots_mutex, and a
	 * replica leaves its slot as described in replica.c.
	 */
	struct mutex slots_mutex;
	struct qrep_replica __rcu *replicas[QREP_MAX_REPLICAS];

	/*
	 * The last version stamped on a write. Every write takes the next
	 * one (atomic64_inc_return), and every replica that joins raises it
	 * to at least the highest version that replica holds. So a write's
	 * version is larger than any version of its blocks written before
	 * it, whether by this device or on a replica before it joined: a
	 * target that keeps the newest version of each block keeps this
	 * write over anything older.
	 */
	atomic64_t version;
	unsigned long flags;		/* QREP_DEV_* bits */

	/*
	 * The role (enum qrep_role) and the epoch stamped on every request.
	 * Both change only through qrep_device_set(), under
	 * qrep_devices_mutex; the I/O path reads them without a lock
	 * (qrep_device_role(), qrep_device_epoch()). The epoch only grows.
	 */
	u32 role;
	atomic64_t epoch;

	/* What each slot's replica missed: see resync.c. */
	unsigned long nr_regions;
	unsigned long *dirty[QREP_MAX_REPLICAS];
	unsigned long history_unknown;	/* slots whose every region is suspect */
	unsigned long check_data;	/* slots a read found a corrupt block on */
	atomic_t read_rotor;		/* where the search for a reader starts */

	/* Quorum mode: see quorum.c. */
	unsigned long quorum_flags;	/* QREP_QUORUM_F_* last announced */
	spinlock_t held_lock;		/* held and nr_held */
	struct list_head held;		/* of struct qrep_io, waiting for a quorum */
	unsigned int nr_held;
	struct work_struct quorum_work;	/* re-counts quorums, releases held I/O */
	struct delayed_work late_watch;	/* fails replicas silent on late replies */

	/*
	 * Resync STARTs waiting for older writes with no lock held: each
	 * keeps the device alive, and a teardown waits for them (resync.c).
	 */
	atomic_t drainers;
	wait_queue_head_t drain_wait;
};

/*
 * Serialises device creation and destruction and protects the device
 * list. Netlink handlers hold it for the whole command, so a device found
 * by lookup stays alive until they release it; the one exception, a
 * resync START waiting for older writes, holds a drainer reference
 * instead (resync.c), so that it never makes the others wait.
 */
extern struct mutex qrep_devices_mutex;
extern struct list_head qrep_devices;
/* Bumped on every change to qrep_devices, for consistent dumps. */
extern unsigned int qrep_devices_generation;
/*
 * Where the work that completes or releases I/O runs (held requests,
 * failed and stale replicas, late replies): WQ_MEM_RECLAIM, so a rescuer
 * keeps it going when memory is short and the writeback that would free
 * some waits on qrep itself.
 */
extern struct workqueue_struct *qrep_wq;

struct netlink_ext_ack;

struct qrep_device *qrep_device_create(const struct qrep_dev_config *config,
				       int index,
				       struct netlink_ext_ack *extack);
int qrep_device_destroy(struct qrep_device *dev, struct netlink_ext_ack *extack);
struct qrep_device *qrep_device_lookup(int index);
void qrep_devices_destroy_all(void);

/* Raises dev->version to at least @version. */
void qrep_device_seed_version(struct qrep_device *dev, u64 version);

/* Driver tags over all hardware queues: the size of tables kept by tag. */
static inline unsigned int qrep_device_tags(const struct qrep_device *dev)
{
	return dev->tag_set.nr_hw_queues * QREP_QUEUE_DEPTH;
}

static inline enum qrep_role qrep_device_role(const struct qrep_device *dev)
{
	return READ_ONCE(dev->role);
}

/* Pairs with the release in qrep_device_set(): see there. */
static inline u64 qrep_device_epoch(struct qrep_device *dev)
{
	return atomic64_read_acquire(&dev->epoch);
}

/*
 * What QREP_CMD_DEV_SET changes; 0 leaves a field as it is. The caller
 * has checked that a new epoch is larger than the device's and fits.
 */
struct qrep_dev_change {
	u32 role;			/* enum qrep_role, or 0 */
	u64 epoch;			/* or 0 */
};

void qrep_device_set(struct qrep_device *dev,
		     const struct qrep_dev_change *change);

int qrep_device_init(void);
void qrep_device_uninit(void);

#endif /* _QREP_DEVICE_H */
