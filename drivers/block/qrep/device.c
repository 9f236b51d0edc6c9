// SPDX-License-Identifier: GPL-2.0
/*
 * Creating and destroying qrep devices.
 *
 * A device is created in full (tag set, disk, registration) or not at all;
 * it becomes visible to the rest of the module and to user space last, by
 * add_disk and by joining qrep_devices. Destruction runs in the opposite
 * order, replicas first (see qrep_device_teardown). Both happen under
 * qrep_devices_mutex.
 */
#include <linux/bitmap.h>
#include <linux/blkdev.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "device.h"
#include "netlink.h"
#include "quorum.h"
#include "replica.h"
#include "request.h"
#include "resync.h"
#include "sysfs.h"

/* See device.h: the device list and create/destroy. */
DEFINE_MUTEX(qrep_devices_mutex);
LIST_HEAD(qrep_devices);
unsigned int qrep_devices_generation;

struct workqueue_struct *qrep_wq;

static DEFINE_IDA(qrep_index_ida);
static int qrep_major;

/*
 * A secondary serves no I/O at all, so nobody may open it: that is what
 * keeps a file system from being mounted on the node that lost the role.
 * An opener that raced with a demotion keeps its descriptor, but every
 * request it submits fails in queue_rq.
 */
int qrep_disk_open(struct gendisk *disk)
{
	struct qrep_device *dev = disk->private_data;

	return qrep_device_role(dev) == QREP_ROLE_SECONDARY ? -EMEDIUMTYPE : 0;
}

/*
 * The block layer holds a module reference for every open of the disk, so
 * the module cannot be unloaded while a device is open.
 */
static const struct block_device_operations qrep_fops = {
	.owner = THIS_MODULE,
	.open = qrep_compat_bdev_open,
};

static int qrep_index_alloc(int index, struct netlink_ext_ack *extack)
{
	int ret;

	if (index >= 0) {
		ret = ida_alloc_range(&qrep_index_ida, index, index, GFP_KERNEL);
		if (ret == -ENOSPC) {
			NL_SET_ERR_MSG_MOD(extack,
					   "a device with this index exists");
			return -EEXIST;
		}
		return ret;
	}
	ret = ida_alloc_max(&qrep_index_ida, QREP_MAX_DEVICES - 1, GFP_KERNEL);
	if (ret == -ENOSPC)
		NL_SET_ERR_MSG_MOD(extack, "all qrep device indexes are in use");
	return ret;
}

static int qrep_tag_set_init(struct qrep_device *dev)
{
	struct blk_mq_tag_set *set = &dev->tag_set;
	int ret;

	set->ops = &qrep_mq_ops;
	set->nr_hw_queues = 1;
	set->queue_depth = QREP_QUEUE_DEPTH;
	set->numa_node = NUMA_NO_NODE;
	set->cmd_size = sizeof(struct qrep_io);
	if (qrep_quorum_mode(dev))
		set->cmd_size += sizeof(struct qrep_quorum_read);
	/*
	 * Not BLK_MQ_F_BLOCKING: queue_rq only queues requests to the
	 * replicas' sender threads (see send.c) and never sleeps.
	 */
	set->flags = 0;
	set->timeout = msecs_to_jiffies(dev->config.io_timeout_ms);
	set->driver_data = dev;
	/* A handle has QREP_HANDLE_TAG_BITS for the tag: see request.c. */
	if (WARN_ON_ONCE(qrep_device_tags(dev) > BIT(QREP_HANDLE_TAG_BITS)))
		return -EINVAL;
	spin_lock_init(&dev->inflight_lock);
	dev->inflight = kvcalloc(qrep_device_tags(dev), sizeof(*dev->inflight),
				 GFP_KERNEL);
	if (!dev->inflight)
		return -ENOMEM;
	ret = blk_mq_alloc_tag_set(set);
	if (ret)
		kvfree(dev->inflight);
	return ret;
}

void qrep_device_seed_version(struct qrep_device *dev, u64 version)
{
	s64 cur = atomic64_read(&dev->version);

	while ((u64)cur < version &&
	       !atomic64_try_cmpxchg(&dev->version, &cur, version))
		;
}

static const char *qrep_role_name(u32 role)
{
	return role == QREP_ROLE_SECONDARY ? "secondary" : "primary";
}

/*
 * A demoted device forgets its term, so that a promotion starts as a
 * device made anew: with no replica (qrep_replicas_remove_all has taken
 * them), no write or read stamped (QREP_DEV_WRITTEN and QREP_DEV_READ
 * decide whether a replica that joins may be up to date and counts for
 * reads, see replica.c), no bitmap of what a replica missed and no
 * version seen. Kept, those would judge the replicas of the next term by
 * the last one: every replica added after a promotion would join with
 * every region suspect (the device had written), none up to date, and
 * a mirror device could read from none of them. Which of them are behind
 * is decided by whoever adds them, comparing their regions (qrepd and
 * qrepctl up, userspace/lib/uptodate.c), as for a new device. The
 * version restarts from 0: every version the next term stamps is above
 * its epoch's base, so above every version of this one
 * (<linux/qrep_quorum.h>).
 */
static void qrep_device_forget_term(struct qrep_device *dev)
{
	unsigned int slot;

	mutex_lock(&dev->slots_mutex);
	for (slot = 0; slot < QREP_MAX_REPLICAS; slot++) {
		WARN_ON_ONCE(qrep_replica_in_slot(dev, slot));
		if (dev->dirty[slot])
			bitmap_zero(dev->dirty[slot], dev->nr_regions);
	}
	dev->history_unknown = 0;
	dev->check_data = 0;
	clear_bit(QREP_DEV_WRITTEN, &dev->flags);
	clear_bit(QREP_DEV_READ, &dev->flags);
	clear_bit(QREP_DEV_NO_REPLICAS_SENT, &dev->flags);
	atomic64_set(&dev->version, 0);
	mutex_unlock(&dev->slots_mutex);
}

/*
 * Changes the role and/or raises the epoch, then tells user space.
 *
 * The epoch: dev->version is raised to the new epoch's version base
 * before the epoch is published (with release order, paired with the
 * acquire in qrep_device_epoch()). A write stamps its version after it
 * read the epoch (qrep_dispatch_write), so whoever stamps after the raise
 * gets a version above the new base, and every request carries the
 * epoch its version was stamped under.
 *
 * Demotion: once the role reads secondary, queue_rq fails every request
 * and held requests fail when released. The grace period waits for
 * dispatches already inside queue_rq (they run under rcu_read_lock), so
 * after it nothing more is queued to a replica; releasing the held ones
 * sends them through queue_rq to fail there. What the replicas' senders
 * still hold is dropped with the replicas: each is failed with its
 * connection reset and retired, so when this returns no request of the
 * old epoch is queued, in a socket or sent again, and every request that
 * waited for a replica has failed. Then the term is forgotten (above).
 */
void qrep_device_set(struct qrep_device *dev,
		     const struct qrep_dev_change *change)
{
	u32 old_role = qrep_device_role(dev);
	u64 old_epoch = qrep_device_epoch(dev);

	lockdep_assert_held(&qrep_devices_mutex);

	if (change->epoch) {
		/*
		 * Mirror mode's first write of the epoch seeds the counter
		 * itself (qrep_dispatch_write): raised here, it would make
		 * every replica qrepd adds next stale, leaving none to read.
		 * So would quorum mode's on a promotion, where the replicas
		 * come next; only a primary that stays one is raised.
		 */
		if (qrep_quorum_mode(dev) && old_role == QREP_ROLE_PRIMARY &&
		    change->role != QREP_ROLE_SECONDARY)
			qrep_device_seed_version(dev,
						 qrep_version_base(change->epoch));
		atomic64_set_release(&dev->epoch, change->epoch);
	}
	if (change->role)
		WRITE_ONCE(dev->role, change->role);
	if (qrep_device_role(dev) == old_role && !change->epoch)
		return;		/* nothing changed: no event */
	if (qrep_device_role(dev) == QREP_ROLE_SECONDARY) {
		synchronize_rcu();
		qrep_quorum_release_all(dev);
		qrep_replicas_remove_all(dev, "the device was made secondary");
		qrep_device_forget_term(dev);
	}
	pr_info("qrep%d: role %s, epoch %llu (was %s, epoch %llu)\n",
		dev->index, qrep_role_name(qrep_device_role(dev)),
		qrep_device_epoch(dev), qrep_role_name(old_role), old_epoch);
	qrep_netlink_notify_dev(dev, QREP_EVENT_DEV_ROLE);
}

struct qrep_device *qrep_device_create(const struct qrep_dev_config *config,
				       int index,
				       struct netlink_ext_ack *extack)
{
	const struct qrep_disk_limits limits = {
		.block_size = QREP_BLOCK_SIZE,
		.max_hw_sectors = (QREP_MAX_REQ_BLOCKS * QREP_BLOCK_SIZE) >>
				  SECTOR_SHIFT,
		.max_segments = QREP_MAX_REQ_BLOCKS,
		.write_cache = true,
		/*
		 * Every replica must get the same bytes: pages under
		 * writeback stay unchanged until all have them.
		 */
		.stable_writes = true,
	};
	struct qrep_device *dev;
	struct gendisk *disk;
	int ret;

	lockdep_assert_held(&qrep_devices_mutex);

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	dev->config = *config;
	mutex_init(&dev->slots_mutex);
	atomic_set(&dev->drainers, 0);
	init_waitqueue_head(&dev->drain_wait);
	qrep_quorum_init(dev);
	atomic64_set(&dev->version, 0);
	atomic64_set(&dev->epoch, config->epoch);
	dev->role = config->role;
	dev->nr_regions = qrep_regions_of(config->size);

	ret = qrep_index_alloc(index, extack);
	if (ret < 0)
		goto err_free_dev;
	dev->index = ret;

	ret = qrep_tag_set_init(dev);
	if (ret)
		goto err_free_index;

	disk = qrep_compat_alloc_disk(&dev->tag_set, &limits, dev);
	if (IS_ERR(disk)) {
		ret = PTR_ERR(disk);
		goto err_free_tag_set;
	}
	disk->major = qrep_major;
	disk->first_minor = dev->index;
	disk->minors = 1;
	disk->fops = &qrep_fops;
	disk->private_data = dev;
	disk->flags |= GENHD_FL_NO_PART;
	snprintf(disk->disk_name, DISK_NAME_LEN, "qrep%d", dev->index);
	/* Quorum mode may show 0 until it can serve I/O (quorum.c). */
	if (!qrep_quorum_hides_size(config)) {
		set_bit(QREP_DEV_SIZE_SHOWN, &dev->flags);
		set_capacity(disk, config->size >> SECTOR_SHIFT);
	}
	dev->disk = disk;

	ret = device_add_disk(NULL, disk, qrep_disk_groups);
	if (ret)
		goto err_put_disk;

	list_add_tail(&dev->node, &qrep_devices);
	qrep_devices_generation++;
	qrep_netlink_notify_dev(dev, QREP_EVENT_DEV_CREATED);
	return dev;

err_put_disk:
	put_disk(disk);
err_free_tag_set:
	blk_mq_free_tag_set(&dev->tag_set);
	kvfree(dev->inflight);
err_free_index:
	ida_free(&qrep_index_ida, dev->index);
err_free_dev:
	mutex_destroy(&dev->slots_mutex);
	kfree(dev);
	return ERR_PTR(ret);
}

/*
 * In phases: out of the list; a resync START still waiting for older
 * writes (with no lock: resync.c) sees the device dying and ends; every
 * replica failed, its threads gone and
 * every request it held completed or failed (a read re-driven now finds
 * no replica and fails at once); then the disk, whose queue has nothing
 * left to wait for, and the rest.
 */
static void qrep_device_teardown(struct qrep_device *dev)
{
	list_del(&dev->node);
	qrep_devices_generation++;
	set_bit(QREP_DEV_DYING, &dev->flags);
	qrep_resync_drainers_wait(dev);
	qrep_replicas_remove_all(dev, "device destroyed");
	qrep_quorum_teardown(dev);
	qrep_netlink_notify_dev(dev, QREP_EVENT_DEV_DESTROYED);

	del_gendisk(dev->disk);
	put_disk(dev->disk);
	blk_mq_free_tag_set(&dev->tag_set);
	kvfree(dev->inflight);
	ida_free(&qrep_index_ida, dev->index);
	qrep_dirty_free(dev);
	mutex_destroy(&dev->slots_mutex);
	kfree(dev);
}

/*
 * Refused while the disk is open (mounted, or held by a process). A new
 * open racing with this check is harmless: del_gendisk marks the disk dead
 * and that opener's I/O fails, as with any hot-unplugged disk.
 */
int qrep_device_destroy(struct qrep_device *dev, struct netlink_ext_ack *extack)
{
	lockdep_assert_held(&qrep_devices_mutex);

	if (disk_openers(dev->disk)) {
		NL_SET_ERR_MSG_MOD(extack, "device is open (mounted or in use)");
		return -EBUSY;
	}
	qrep_device_teardown(dev);
	return 0;
}

struct qrep_device *qrep_device_lookup(int index)
{
	struct qrep_device *dev;

	lockdep_assert_held(&qrep_devices_mutex);

	list_for_each_entry(dev, &qrep_devices, node)
		if (dev->index == index)
			return dev;
	return NULL;
}

/* Module unload: nothing can have a device open (see qrep_fops). */
void qrep_devices_destroy_all(void)
{
	struct qrep_device *dev, *next;

	mutex_lock(&qrep_devices_mutex);
	list_for_each_entry_safe(dev, next, &qrep_devices, node)
		qrep_device_teardown(dev);
	mutex_unlock(&qrep_devices_mutex);
}

int qrep_device_init(void)
{
	qrep_wq = alloc_workqueue("qrep", WQ_MEM_RECLAIM, 0);
	if (!qrep_wq)
		return -ENOMEM;
	qrep_major = register_blkdev(0, "qrep");
	if (qrep_major < 0) {
		destroy_workqueue(qrep_wq);
		return qrep_major;
	}
	return 0;
}

/* After every device is gone, so no work of theirs can be queued. */
void qrep_device_uninit(void)
{
	unregister_blkdev(qrep_major, "qrep");
	ida_destroy(&qrep_index_ida);
	destroy_workqueue(qrep_wq);
}
