// SPDX-License-Identifier: GPL-2.0
/*
 * What each replica missed, and the kernel's side of bringing it back.
 *
 * Every slot that has had a replica has a bitmap with one bit per region
 * (QREP_REGION_BLOCKS blocks, 1 MiB). A set bit says "the replica in this
 * slot may lack a write to this region". Bits are set:
 *
 *  - when a WRITE is dispatched while the slot has no live replica
 *    (qrep_dirty_mark_absent, under RCU in queue_rq);
 *  - when a live replica lets go of a WRITE it did not acknowledge: an
 *    error reply, or the sweep after it failed (receive.c). That happens
 *    only once the replica is FAILED;
 *  - when a READ finds a block whose data fails its checksum: the
 *    replica is demoted to STALE and the region marked (receive.c), and
 *    "check data" is set: the resync then asks the replica to check its
 *    data in the marked regions, not only its versions;
 *  - all of them at once when nothing is known about what the replica
 *    holds (it joined stale with no history in this device, or its store
 *    holds less than the replica before it had acknowledged). Then
 *    "history unknown" is also set, and the resync compares region
 *    summaries before blocks.
 *
 * A bit is cleared only by a resync that has copied the region from an
 * up-to-date source (qrep_resync_clear), under the replica's state_lock
 * and only while the replica is not FAILED and the source still is up to
 * date. Marks of the second kind happen after FAILED is set, so a clear
 * can never erase a mark made for a write the copy could not have seen.
 * Marks of the first kind concern writes dispatched before the replica
 * joined: a resync's START waits for all of them that are in flight to
 * complete before the resync reads the bitmap, so each is both in the
 * bitmap and on every up-to-date replica by then. A write held for want
 * of a quorum is in flight nowhere and is not waited for (see
 * qrep_io_held). START waits with no lock held, the device kept by a
 * drainer reference (qrep_resync_start_begin/_end): every other netlink
 * command, of this device and of the others, goes on meanwhile.
 *
 * A STALE replica gets every write and serves no reads; FINISH promotes
 * it once its bitmap is empty (and, in quorum mode, lets FLUSHes held for
 * want of W up-to-date replicas go again: quorum.c).
 */
#include <linux/bitmap.h>
#include <linux/blk-mq.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/netlink.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "device.h"
#include "netlink.h"
#include "quorum.h"
#include "replica.h"
#include "request.h"
#include "resync.h"

/* How often a resync START looks again for older writes in flight. */
#define QREP_RESYNC_DRAIN_POLL_MS	20

unsigned long qrep_regions_of(u64 size)
{
	u64 blocks = size >> QREP_BLOCK_SHIFT;

	return (blocks + QREP_REGION_BLOCKS - 1) >> QREP_REGION_SHIFT;
}

int qrep_dirty_track(struct qrep_device *dev, unsigned int slot)
{
	unsigned long *map;

	lockdep_assert_held(&dev->slots_mutex);

	if (dev->dirty[slot])
		return 0;
	map = kvcalloc(BITS_TO_LONGS(dev->nr_regions), sizeof(long),
		       GFP_KERNEL);
	if (!map)
		return -ENOMEM;
	/* The map's zeroes before the pointer: see qrep_dirty_map(). */
	smp_store_release(&dev->dirty[slot], map);
	return 0;
}

void qrep_dirty_free(struct qrep_device *dev)
{
	unsigned int slot;

	for (slot = 0; slot < QREP_MAX_REPLICAS; slot++)
		kvfree(dev->dirty[slot]);
}

static unsigned long *qrep_dirty_map(struct qrep_device *dev,
				     unsigned int slot)
{
	/* Pairs with qrep_dirty_track(): a map seen is a zeroed map. */
	return smp_load_acquire(&dev->dirty[slot]);
}

/*
 * Sets or clears @count bits from @start a word at a time, each word
 * atomically: marks come from the I/O path on any CPU while a resync
 * clears other bits of the same words, and a device of the largest size
 * has tens of millions of regions, too many to take one by one (least of
 * all under a spinlock).
 */
static void qrep_dirty_update(unsigned long *map, unsigned long start,
			      unsigned long count, bool set)
{
	unsigned long end = start + count;
	unsigned long bits, mask;

	while (start < end) {
		bits = min(end - start, BITS_PER_LONG - start % BITS_PER_LONG);
		mask = BITMAP_LAST_WORD_MASK(bits) << (start % BITS_PER_LONG);
		set_mask_bits(&map[BIT_WORD(start)], mask, set ? mask : 0);
		start += bits;
	}
}

void qrep_dirty_mark(struct qrep_device *dev, unsigned int slot,
		     u64 block, u32 nblocks)
{
	unsigned long *map = qrep_dirty_map(dev, slot);
	unsigned long first, last;

	if (!map || !nblocks)
		return;
	first = block >> QREP_REGION_SHIFT;
	last = min_t(u64, (block + nblocks - 1) >> QREP_REGION_SHIFT,
		     dev->nr_regions - 1);
	qrep_dirty_update(map, first, last - first + 1, true);
}

void qrep_dirty_mark_all(struct qrep_device *dev, unsigned int slot)
{
	unsigned long *map = qrep_dirty_map(dev, slot);

	if (!map)
		return;
	set_bit(slot, &dev->history_unknown);
	qrep_dirty_update(map, 0, dev->nr_regions, true);
}

void qrep_dirty_mark_absent(struct qrep_device *dev, u64 block, u32 nblocks)
{
	struct qrep_replica *r;
	unsigned int slot;

	for (slot = 0; slot < QREP_MAX_REPLICAS; slot++) {
		if (!qrep_dirty_map(dev, slot))
			continue;
		r = rcu_dereference(dev->replicas[slot]);
		if (!r || !qrep_replica_live(r))
			qrep_dirty_mark(dev, slot, block, nblocks);
	}
}

void qrep_dirty_mark_corrupt(struct qrep_device *dev, unsigned int slot,
			     u64 block, u32 nblocks)
{
	set_bit(slot, &dev->check_data);
	qrep_dirty_mark(dev, slot, block, nblocks);
}

bool qrep_dirty_check_data(struct qrep_device *dev, unsigned int slot)
{
	return test_bit(slot, &dev->check_data);
}

unsigned long qrep_dirty_weight(struct qrep_device *dev, unsigned int slot)
{
	unsigned long *map = qrep_dirty_map(dev, slot);

	return map ? bitmap_weight(map, dev->nr_regions) : 0;
}

bool qrep_dirty_history_unknown(struct qrep_device *dev, unsigned int slot)
{
	return test_bit(slot, &dev->history_unknown);
}

unsigned long qrep_dirty_get(struct qrep_device *dev, unsigned int slot,
			     unsigned long start, u32 *words,
			     unsigned long max)
{
	unsigned long *map = qrep_dirty_map(dev, slot);
	unsigned long n, i;

	if (start >= dev->nr_regions)
		return 0;
	n = min(dev->nr_regions - start, max);
	memset(words, 0, DIV_ROUND_UP(n, 32) * sizeof(u32));
	if (!map)
		return n;
	/* Only the marked regions are visited: most of a map is clear. */
	i = start;
	for_each_set_bit_from(i, map, start + n)
		words[(i - start) / 32] |= BIT((i - start) % 32);
	return n;
}

struct qrep_drain_ctx {
	struct qrep_device *dev;
	u64 version;		/* writes stamped up to this one */
	unsigned int found;
};

/*
 * A request held for want of a quorum (quorum.c) is in flight on no
 * replica: it was held only once every replica it went to had let go of
 * it, so the up-to-date replicas hold of it all they ever will, and the
 * resync copies that. It goes out again only through queue_rq, with a
 * new version, to every live replica: the one being resynced gets it
 * like any new write, or, absent again by then, has it marked.
 */
static bool qrep_io_held(struct qrep_device *dev, struct qrep_io *io)
{
	bool held;

	spin_lock(&dev->held_lock);
	held = !list_empty(&io->held_node);
	spin_unlock(&dev->held_lock);
	return held;
}

static bool qrep_drain_count(struct request *rq, void *data)
{
	struct qrep_io *io = blk_mq_rq_to_pdu(rq);
	struct qrep_drain_ctx *ctx = data;
	u64 version = READ_ONCE(io->version);

	if (req_op(rq) == REQ_OP_WRITE && version && version <= ctx->version &&
	    !qrep_io_held(ctx->dev, io))
		ctx->found++;
	return true;
}

/*
 * Waits until no WRITE stamped with a version up to @version is in
 * flight, for at most twice the I/O timeout (by then each has been
 * answered or its replicas failed); held ones do not count (above).
 * Called with no lock held: qrep_resync_start_begin() took a drainer
 * reference, which keeps the device alive, and a teardown ends the wait.
 */
static int qrep_writes_drain(struct qrep_device *dev, u64 version)
{
	struct qrep_drain_ctx ctx = { .dev = dev, .version = version };
	unsigned long deadline = jiffies +
		2 * msecs_to_jiffies(dev->config.io_timeout_ms);

	for (;;) {
		if (test_bit(QREP_DEV_DYING, &dev->flags))
			return -ENODEV;
		ctx.found = 0;
		blk_mq_tagset_busy_iter(&dev->tag_set, qrep_drain_count, &ctx);
		if (!ctx.found)
			return 0;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		msleep(QREP_RESYNC_DRAIN_POLL_MS);
	}
}

static void qrep_resync_notify(struct qrep_replica *r, enum qrep_event event)
{
	qrep_netlink_notify_replica(r->dev, r, event);
}

int qrep_resync_start_begin(struct qrep_device *dev, struct qrep_replica *r,
			    u64 *version, struct netlink_ext_ack *extack)
{
	lockdep_assert_held(&qrep_devices_mutex);
	lockdep_assert_held(&dev->slots_mutex);

	if (qrep_replica_state(r) != QREP_REPLICA_STALE) {
		NL_SET_ERR_MSG_MOD(extack, "the replica is not stale");
		return -EINVAL;
	}
	*version = atomic64_read(&dev->version);
	atomic_inc(&dev->drainers);
	qrep_replica_get(r);
	return 0;
}

static void qrep_drainer_put(struct qrep_device *dev)
{
	if (atomic_dec_and_test(&dev->drainers))
		wake_up_all(&dev->drain_wait);
}

void qrep_resync_drainers_wait(struct qrep_device *dev)
{
	lockdep_assert_held(&qrep_devices_mutex);
	WARN_ON_ONCE(!test_bit(QREP_DEV_DYING, &dev->flags));
	wait_event(dev->drain_wait, !atomic_read(&dev->drainers));
}

int qrep_resync_start_end(struct qrep_device *dev, struct qrep_replica *r,
			  u64 version, struct netlink_ext_ack *extack)
{
	int ret;

	ret = qrep_writes_drain(dev, version);
	if (ret == -ETIMEDOUT)
		NL_SET_ERR_MSG_MOD(extack,
				   "older writes still in flight after twice the I/O timeout");
	else if (ret)
		NL_SET_ERR_MSG_MOD(extack, "the device is being destroyed");
	mutex_lock(&dev->slots_mutex);
	if (ret)
		goto out;
	spin_lock(&r->state_lock);
	if (qrep_replica_in_slot(dev, r->id) != r) {
		NL_SET_ERR_MSG_MOD(extack, "the replica was removed meanwhile");
		ret = -ESTALE;
	} else if (r->state != QREP_REPLICA_STALE) {
		NL_SET_ERR_MSG_MOD(extack, "the replica is not stale");
		ret = -ESTALE;
	} else {
		r->resync_active = true;
		r->resync_done = 0;
		r->resync_total = 0;
		r->resync_rate = 0;
		r->resync_tenths = 0;
	}
	spin_unlock(&r->state_lock);
	if (!ret)
		qrep_resync_notify(r, QREP_EVENT_RESYNC_STARTED);
out:
	mutex_unlock(&dev->slots_mutex);
	qrep_replica_put(r);
	qrep_drainer_put(dev);
	return ret;
}

int qrep_resync_clear(struct qrep_device *dev, struct qrep_replica *r,
		      struct qrep_replica *source, unsigned long start,
		      unsigned long count, struct netlink_ext_ack *extack)
{
	unsigned long *map = qrep_dirty_map(dev, r->id);
	int ret = 0;

	if (start > dev->nr_regions || count > dev->nr_regions - start) {
		NL_SET_ERR_MSG_MOD(extack, "regions beyond the end of the device");
		return -ERANGE;
	}
	if (!map)
		return 0;
	spin_lock(&r->state_lock);
	if (r->state == QREP_REPLICA_FAILED) {
		NL_SET_ERR_MSG_MOD(extack, "the replica failed during the resync");
		ret = -ESTALE;
	} else if (source &&
		   qrep_replica_state(source) != QREP_REPLICA_UPTODATE) {
		NL_SET_ERR_MSG_MOD(extack, "the source is no longer up to date");
		ret = -ESTALE;
	} else {
		qrep_dirty_update(map, start, count, false);
	}
	spin_unlock(&r->state_lock);
	return ret;
}

int qrep_resync_finish(struct qrep_device *dev, struct qrep_replica *r,
		       struct netlink_ext_ack *extack)
{
	int ret = 0;

	spin_lock(&r->state_lock);
	if (r->state != QREP_REPLICA_STALE) {
		NL_SET_ERR_MSG_MOD(extack, "the replica is not stale");
		ret = -ESTALE;
	} else if (qrep_dirty_weight(dev, r->id)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "regions are still marked: resync again");
		ret = -EAGAIN;
	} else {
		clear_bit(r->id, &dev->history_unknown);
		clear_bit(r->id, &dev->check_data);
		WRITE_ONCE(r->state, QREP_REPLICA_UPTODATE);
		WRITE_ONCE(r->holds_all, true);
		WRITE_ONCE(r->unreconciled, false);
		r->resync_active = false;
		r->resync_done = r->resync_total;
	}
	spin_unlock(&r->state_lock);
	if (ret)
		return ret;
	clear_bit(QREP_DEV_NO_REPLICAS_SENT, &dev->flags);
	pr_info("qrep%d: replica %u (%s) is up to date\n", dev->index, r->id,
		r->name);
	qrep_resync_notify(r, QREP_EVENT_RESYNC_FINISHED);
	/* Quorum mode: a FLUSH held for want of up-to-date replicas. */
	qrep_quorum_changed(dev);
	/* And a read quorum only now: the size, before the reply. */
	if (qrep_quorum_mode(dev))
		qrep_quorum_show_size(dev);
	return 0;
}

/* Records progress; an event at each tenth of the way. */
void qrep_resync_progress(struct qrep_replica *r, u64 done, u64 total,
			  u64 rate)
{
	unsigned int tenths;
	bool milestone;

	done = min(done, total);
	tenths = total ? div64_u64(done * 10, total) : 0;
	spin_lock(&r->state_lock);
	r->resync_done = done;
	r->resync_total = total;
	r->resync_rate = rate;
	milestone = r->resync_active && tenths > r->resync_tenths;
	if (milestone)
		r->resync_tenths = tenths;
	spin_unlock(&r->state_lock);
	if (milestone)
		qrep_resync_notify(r, QREP_EVENT_RESYNC_PROGRESS);
}

void qrep_resync_stop(struct qrep_replica *r)
{
	spin_lock(&r->state_lock);
	r->resync_active = false;
	r->resync_rate = 0;
	spin_unlock(&r->state_lock);
	qrep_resync_notify(r, QREP_EVENT_RESYNC_STOPPED);
}
