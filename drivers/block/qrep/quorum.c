// SPDX-License-Identifier: GPL-2.0
/*
 * Quorum mode: N replicas, a write quorum W and a read quorum R, with
 * R + W > N and 2W > N (checked at creation, qrep_quorum_problem()).
 * Documentation/quorum.rst gives the argument; this is the mechanism.
 *
 * Replicas that count: every live one, up to date or stale. A stale
 * replica lacks some writes, but every block it holds carries its
 * version, and a read takes the highest version among R replicas, which
 * by R + W > N includes a replica that acknowledged the last completed
 * write of that block. So a replica that comes back from a crash or a
 * partition counts for writes at once; the resync that follows (qrepd)
 * restores redundancy. For a FLUSH it does not count until that resync
 * has finished (below), nor for a READ: it was not among the replicas
 * that accepted the epoch, and may hold a deposed primary's writes of
 * an older epoch, at versions above the truth's, that only its resync
 * rolls back (r->unreconciled).
 *
 * WRITE: stamped with the device's next version, which carries the
 * epoch in its high bits (qrep_quorum.h), and sent to every live
 * replica. Once W of them acknowledged it, it completes: the others'
 * replies become "late replies" (qrep_io_detach). They still get the
 * write; a late reply that is an error marks the write in that slot's
 * bitmap and fails the replica, like any refused write, and a replica
 * that has owed a late reply for the I/O timeout, with no reply to
 * anything meanwhile, is failed (qrep_late_watch_worker), as a request
 * timer would (timers.c).
 *
 * Two writes to the same blocks in flight at once: each version is
 * larger than the last, and a target keeps the higher version of a
 * block whatever order writes arrive in. So every replica ends with
 * the later write, whichever it got first: one writer needs no lock
 * beyond its own ordering (the seed's lock is the version counter).
 *
 * FLUSH: sent to every live replica, and waits for all of them, as in
 * mirror mode: a write may have completed on a different W replicas
 * than the ones a FLUSH would otherwise wait for, and each of those must
 * have made it durable. It succeeds if W of the replicas that held
 * every acknowledged write when it was sent (r->holds_all, recorded in
 * io->flush_holders) acknowledged it (qrep_flush_complete): a replica
 * being resynced lacks writes acknowledged before it came back, so its
 * acknowledgment does not make them durable anywhere. A replica a read
 * found behind is stale too, but it missed nothing: the write was on its
 * way, and it applies it before it answers a later FLUSH. With fewer
 * than W holders live a FLUSH is not sent at all; like a FLUSH that
 * ended short of W such answers, it is held or failed as below. A held
 * FLUSH goes out again, to every live replica, once enough are up to
 * date: a finished resync re-counts (qrep_resync_finish), and the
 * replica it brought up to date must answer the new FLUSH, since its
 * first answer, given while it was stale, covered neither the writes it
 * was resynced with nor those it lacked.
 *
 * READ: phase 1 reads the data from one replica (an up-to-date one if
 * possible) and the versions only from R - 1 others; if the data
 * replica holds the highest version of every block, that is the answer.
 * Otherwise phase 2 fetches each block from a replica that holds its
 * highest version (struct qrep_quorum_read). A replica that answered
 * with a checksum error is left out of the request's later rounds, for
 * its versions too, so a corrupt block cannot win the merge: the read
 * quorum is formed without it.
 *
 * Phase 3 makes what the read returns stable (Documentation/durability.rst,
 * D5): a version that fewer than W replicas hold may be a write that
 * never completed (it reached one replica, then the device lost the
 * others or crashed), and a later read quorum without that replica
 * would return the block's older data. So when fewer than W replicas of
 * the read quorum hold a block's newest version, the read writes that
 * version, with the data it found, to enough of the others (those found
 * behind), FUA, and returns only once they have acknowledged it: then W
 * replicas hold it, and by R + W > N every later read quorum sees it.
 * One span of blocks of equal version per round (a WRITE carries one
 * version). It is a WRITE at the version found, never a new one, so the
 * targets' newer-wins rule keeps a newer write that races it: it cannot
 * undo one, and its acknowledgment is the read's, never a write's. If
 * the write back fails, the read goes round from phase 1 (held or
 * failed as below when too few replicas are left). This needs R >= W:
 * with R < W a read quorum cannot show W holders, and a read does not
 * write back (its blocks may still flicker; durability.rst says so).
 * The data goes from the read's pages, as a WRITE's goes from the
 * writer's: an O_DIRECT reader that changes its buffer during the read
 * has that written back (durability.rst, the limits).
 * A replica still behind afterwards (R > W, or R < W) is repaired off
 * the read's path: the read marks the blocks in its bitmap and makes it
 * stale, and qrepd's resync copies the newest versions to it.
 *
 * No quorum: with fewer than W live replicas a WRITE, with fewer than W
 * up-to-date ones a FLUSH, with fewer than R live a READ, is held
 * (on-no-quorum suspend) on dev->held until the quorums are re-counted
 * with enough replicas, then re-dispatched (a held WRITE gets a new
 * version); or it fails with EIO (error). A request that was dispatched
 * but ended short of its quorum (replicas failed under it) is treated
 * the same way. Held requests keep their timers running, but the timeout
 * handler finds no replica holding them and only re-arms the timer.
 */
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/bitops.h>
#include <linux/kobject.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "device.h"
#include "netlink.h"
#include "quorum.h"
#include "replica.h"
#include "request.h"
#include "resync.h"

/* best[] of a block no replica has answered for yet. */
#define QREP_NO_SLOT		0xff
/*
 * Not announced to user space: at least W live replicas hold every
 * acknowledged write, so a FLUSH can be sent (qrep_flush_may_issue).
 */
#define QREP_QUORUM_F_FLUSH		BIT(31)
#define QREP_QUORUM_F_ANNOUNCED		(QREP_QUORUM_F_WRITE | QREP_QUORUM_F_READ)
/* Times one READ may go round (replicas failing, phase 2 going wrong). */
#define QREP_QUORUM_MAX_REDRIVES	(2 * QREP_MAX_REPLICAS)

/* A reply a replica owes for a WRITE that completed without it. */
struct qrep_late {
	u64 handle;			/* 0: free */
	u64 block;
	u64 version;
	u32 nblocks;
	unsigned long since;		/* jiffies, when it was detached */
};

/*
 * The live replicas that hold every acknowledged write, a bit per slot;
 * under rcu_read_lock.
 */
static unsigned long qrep_quorum_holders(struct qrep_device *dev)
{
	unsigned long slots = 0;
	struct qrep_replica *r;
	unsigned int slot;

	for (slot = 0; slot < QREP_MAX_REPLICAS; slot++) {
		r = rcu_dereference(dev->replicas[slot]);
		if (r && qrep_replica_live(r) && READ_ONCE(r->holds_all))
			__set_bit(slot, &slots);
	}
	return slots;
}

/*
 * The live replicas a read may ask: not the unreconciled ones, which
 * may hold a deposed primary's writes; under rcu_read_lock.
 */
static unsigned int qrep_quorum_readable(struct qrep_device *dev)
{
	struct qrep_replica *r;
	unsigned int slot, n = 0;

	for (slot = 0; slot < QREP_MAX_REPLICAS; slot++) {
		r = rcu_dereference(dev->replicas[slot]);
		if (r && qrep_replica_live(r) && !READ_ONCE(r->unreconciled))
			n++;
	}
	return n;
}

static u32 qrep_quorum_count(struct qrep_device *dev)
{
	unsigned long holders;
	unsigned int live, readable;
	u32 flags = 0;

	rcu_read_lock();
	live = qrep_replicas_live(dev);
	readable = qrep_quorum_readable(dev);
	holders = qrep_quorum_holders(dev);
	rcu_read_unlock();
	if (live >= dev->config.write_quorum)
		flags |= QREP_QUORUM_F_WRITE;
	if (readable >= dev->config.read_quorum)
		flags |= QREP_QUORUM_F_READ;
	if (qrep_flush_may_issue(holders, dev->config.write_quorum))
		flags |= QREP_QUORUM_F_FLUSH;
	return flags;
}

static u32 qrep_quorum_needed(struct request *rq)
{
	switch (req_op(rq)) {
	case REQ_OP_READ:
		return QREP_QUORUM_F_READ;
	case REQ_OP_FLUSH:
		return QREP_QUORUM_F_FLUSH;
	default:
		return QREP_QUORUM_F_WRITE;
	}
}

u32 qrep_quorum_flags(struct qrep_device *dev)
{
	return READ_ONCE(dev->quorum_flags);
}

unsigned int qrep_quorum_held(struct qrep_device *dev)
{
	return READ_ONCE(dev->nr_held);
}

/* Sends the held requests whose quorum is in @flags back to queue_rq. */
static void qrep_quorum_release(struct qrep_device *dev, u32 flags)
{
	struct qrep_io *io, *next;
	struct request *rq;
	LIST_HEAD(go);

	spin_lock(&dev->held_lock);
	list_for_each_entry_safe(io, next, &dev->held, held_node) {
		rq = blk_mq_rq_from_pdu(io);
		if (!(flags & qrep_quorum_needed(rq)))
			continue;
		list_move_tail(&io->held_node, &go);
		dev->nr_held--;
	}
	spin_unlock(&dev->held_lock);
	if (list_empty(&go))
		return;
	list_for_each_entry_safe(io, next, &go, held_node) {
		list_del_init(&io->held_node);
		io->redrives = 0;
		blk_mq_requeue_request(blk_mq_rq_from_pdu(io), false);
	}
	blk_mq_kick_requeue_list(dev->disk->queue);
}

void qrep_quorum_release_all(struct qrep_device *dev)
{
	if (qrep_quorum_mode(dev))
		qrep_quorum_release(dev, QREP_QUORUM_F_WRITE |
					 QREP_QUORUM_F_READ |
					 QREP_QUORUM_F_FLUSH);
}

/*
 * Size 0 until the device can serve I/O, as nbd does before its socket
 * is set up. With on-no-quorum suspend, a device made with fewer than
 * W (or R) replicas holds every request until they come, and whoever
 * opens it first (udev's blkid reading its label, right after the
 * device appears) would sleep in D state meanwhile, beyond the reach
 * of a signal. A device of size 0 has nothing to read: such a probe
 * ends at once, and the size, once set, comes with a change uevent
 * that makes udev look again. Once the read and write quorums were
 * there, the size stays: losing them later holds I/O as it should
 * (the file system on it waits for the replicas to come back).
 *
 * The read and write quorums, not W up-to-date replicas: stale
 * replicas serve both (see the top), and a device brought up on stale
 * replicas, their resync still under way, is readable and writable.
 * A FLUSH may still be held until a resync finishes; a probe does not
 * send one.
 *
 * Only a device made primary: one made secondary (qrepd's, on every
 * node) refuses every open until it is promoted, so no probe can sleep
 * on it, and it shows its size from the start. Hidden there, the size
 * would come a moment after the promotion, once qrepd has added the
 * replicas, and a mount the moment the node turns primary would find an
 * empty disk rather than wait for them.
 */
bool qrep_quorum_hides_size(const struct qrep_dev_config *config)
{
	return config->mode == QREP_MODE_QUORUM &&
	       config->on_no_quorum == QREP_NO_QUORUM_SUSPEND &&
	       config->role != QREP_ROLE_SECONDARY;
}

void qrep_quorum_show_size(struct qrep_device *dev)
{
	const u32 need = QREP_QUORUM_F_WRITE | QREP_QUORUM_F_READ;

	if (test_bit(QREP_DEV_SIZE_SHOWN, &dev->flags) ||
	    (qrep_quorum_count(dev) & need) != need ||
	    test_and_set_bit(QREP_DEV_SIZE_SHOWN, &dev->flags))
		return;
	pr_info("qrep%d: read and write quorums reached: size %llu bytes\n",
		dev->index, dev->config.size);
	/* No uevent from a size of 0 there: send the change ourselves. */
	if (!set_capacity_and_notify(dev->disk,
				     dev->config.size >> SECTOR_SHIFT))
		kobject_uevent(&disk_to_dev(dev->disk)->kobj, KOBJ_CHANGE);
}

static void qrep_quorum_worker(struct work_struct *work)
{
	struct qrep_device *dev = container_of(work, struct qrep_device,
					       quorum_work);
	u32 flags = qrep_quorum_count(dev);
	u32 announced = flags & QREP_QUORUM_F_ANNOUNCED;
	u32 old;

	if (test_bit(QREP_DEV_DYING, &dev->flags))
		return;
	qrep_quorum_show_size(dev);
	old = xchg(&dev->quorum_flags, announced);
	/* The held I/O goes first: telling user space allocates. */
	qrep_quorum_release(dev, flags);
	if (old != announced) {
		pr_info("qrep%d: write quorum %s, read quorum %s\n", dev->index,
			flags & QREP_QUORUM_F_WRITE ? "reached" : "lost",
			flags & QREP_QUORUM_F_READ ? "reached" : "lost");
		qrep_netlink_notify_dev(dev, old & ~announced ?
					QREP_EVENT_QUORUM_LOST :
					QREP_EVENT_QUORUM_REGAINED);
	}
}

void qrep_quorum_changed(struct qrep_device *dev)
{
	if (qrep_quorum_mode(dev))
		queue_work(qrep_wq, &dev->quorum_work);
}

/* Holds @io until its quorum is there, or fails it (see the top). */
static void qrep_io_hold(struct qrep_device *dev, struct qrep_io *io)
{
	struct request *rq = blk_mq_rq_from_pdu(io);
	bool fail;

	spin_lock(&dev->held_lock);
	/*
	 * A secondary holds nothing: under held_lock, so that a demotion
	 * (qrep_device_set) either sees this request held and releases it,
	 * or this sees the demotion.
	 */
	fail = dev->config.on_no_quorum == QREP_NO_QUORUM_ERROR ||
	       test_bit(QREP_DEV_DYING, &dev->flags) ||
	       qrep_device_role(dev) == QREP_ROLE_SECONDARY;
	if (!fail) {
		list_add_tail(&io->held_node, &dev->held);
		dev->nr_held++;
	}
	spin_unlock(&dev->held_lock);
	if (fail) {
		blk_mq_end_request(rq, BLK_STS_IOERR);
		return;
	}
	/* If the quorum is there after all, the worker sends it again. */
	queue_work(qrep_wq, &dev->quorum_work);
}

/* Phase 1 of a READ: see struct qrep_quorum_read. */
static void qrep_quorum_read_start(struct qrep_device *dev, struct qrep_io *io)
{
	struct request *rq = blk_mq_rq_from_pdu(io);
	struct qrep_quorum_read *qr = io->qr;
	unsigned int need = dev->config.read_quorum;
	u32 n = qrep_rq_nblocks(rq);
	unsigned long skip = qr->refused;	/* not for the data again */
	struct qrep_replica *r;

	BUILD_BUG_ON(QREP_MAX_REPLICAS > BITS_PER_BYTE);	/* qr->holders */
	qr->data_ok = false;
	qr->versions_only = 0;
	qr->merged = 0;
	qr->fetch = 0;
	qr->fetched = 0;
	memset(qr->best, QREP_NO_SLOT, n);
	memset(qr->holders, 0, n);
	memset(qr->newest, 0, n * sizeof(qr->newest[0]));
	/* Inside the dispatch's RCU read section: see qrep_replica_join. */
	if (!test_bit(QREP_DEV_READ, &dev->flags))
		set_bit(QREP_DEV_READ, &dev->flags);

	for (;;) {
		r = qrep_pick_replica(dev, skip, false);
		if (!r)
			r = qrep_pick_replica(dev, skip, true);
		if (!r)
			return;		/* completion holds or fails it */
		__set_bit(r->id, &skip);
		qr->data_slot = r->id;
		if (qrep_replica_queue(r, io))
			break;
	}
	/*
	 * Nor for versions: its versions may vouch for the very block that
	 * failed its checksum, which would then win the merge and be asked
	 * for again until the read fails. The read quorum is made of the
	 * others, or the read goes round again until it is.
	 */
	skip = BIT(qr->data_slot) | qr->refused;
	while (--need && (r = qrep_pick_replica(dev, skip, true))) {
		__set_bit(r->id, &skip);
		/* Before the queueing that lets its sender see it. */
		set_bit(r->id, &qr->versions_only);
		if (!qrep_replica_queue(r, io)) {
			clear_bit(r->id, &qr->versions_only);
			need++;
		}
	}
}

static void qrep_quorum_read_fetch(struct qrep_device *dev, struct qrep_io *io)
{
	struct qrep_replica *r;
	unsigned int slot;

	for_each_set_bit(slot, &io->qr->fetch, QREP_MAX_REPLICAS) {
		r = rcu_dereference(dev->replicas[slot]);
		if (r && qrep_replica_live(r))
			qrep_replica_queue(r, io);
	}
}

/*
 * Phase 3: the span goes to the replicas chosen, as a WRITE of its own
 * version (qrep_quorum_build_read) with the read's data for it. A slot
 * whose replica was replaced since phase 1 by one still unreconciled is
 * skipped, as a read would skip it: its acknowledgment could come from
 * a deposed primary's newer write, which its resync rolls back. The
 * span is then short of W holders and the read goes round again.
 */
static void qrep_quorum_read_write_back(struct qrep_device *dev,
					struct qrep_io *io)
{
	struct qrep_quorum_read *qr = io->qr;
	struct qrep_replica *r;
	unsigned int slot;

	io->version = qr->wb_version;
	for_each_set_bit(slot, &qr->wb_to, QREP_MAX_REPLICAS) {
		r = rcu_dereference(dev->replicas[slot]);
		if (r && qrep_replica_live(r) && !READ_ONCE(r->unreconciled))
			qrep_replica_queue(r, io);
	}
}

/*
 * The holders now are the replicas whose answers will count. A slot's
 * replica cannot be replaced by a newcomer within this dispatch: a new
 * replica is published only a grace period after the old one left the
 * slot, and the caller is inside one RCU read section.
 */
static void qrep_quorum_flush_start(struct qrep_device *dev,
				    struct qrep_io *io)
{
	io->flush_holders = qrep_quorum_holders(dev);
	if (qrep_flush_may_issue(io->flush_holders, dev->config.write_quorum))
		qrep_dispatch_all(dev, io);
}

void qrep_quorum_dispatch(struct qrep_device *dev, struct qrep_io *io)
{
	struct request *rq = blk_mq_rq_from_pdu(io);

	/* Short of a quorum, nothing is sent: completion holds it. */
	if (!(qrep_quorum_count(dev) & qrep_quorum_needed(rq)))
		return;
	if (req_op(rq) == REQ_OP_WRITE)
		qrep_dispatch_write(dev, io);
	else if (req_op(rq) == REQ_OP_FLUSH)
		qrep_quorum_flush_start(dev, io);
	else if (io->qr->write_back)
		qrep_quorum_read_write_back(dev, io);
	else if (io->qr->phase2)
		qrep_quorum_read_fetch(dev, io);
	else
		qrep_quorum_read_start(dev, io);
}

/*
 * After phase 1: which replicas hold blocks newer than the data
 * replica's, and the span of the request each is to send. False if
 * the data replica's data is the answer.
 */
static bool qrep_quorum_read_plan(struct qrep_io *io, u32 n)
{
	struct qrep_quorum_read *qr = io->qr;
	unsigned int slot;
	u32 i;

	qr->fetch = 0;
	qr->fetched = 0;
	for (i = 0; i < n; i++) {
		slot = qr->best[i];
		if (slot == qr->data_slot || slot >= QREP_MAX_REPLICAS)
			continue;
		if (!__test_and_set_bit(slot, &qr->fetch))
			qr->span_first[slot] = i;
		qr->span_count[slot] = i - qr->span_first[slot] + 1;
	}
	return qr->fetch != 0;
}

/* Replicas of the read quorum that lack some block's newest version. */
static unsigned long qrep_quorum_read_behind(struct qrep_io *io, u32 n)
{
	struct qrep_quorum_read *qr = io->qr;
	unsigned long behind = 0;
	u32 i;

	for (i = 0; i < n; i++)
		behind |= qr->merged & ~(unsigned long)qr->holders[i];
	return behind;
}

/*
 * Read repair of what phase 3 left behind: those replicas get the
 * request's blocks marked and turn stale, so qrepd resyncs them.
 */
static void qrep_quorum_read_repair(struct qrep_device *dev, struct qrep_io *io)
{
	struct request *rq = blk_mq_rq_from_pdu(io);
	unsigned long behind = qrep_quorum_read_behind(io, qrep_rq_nblocks(rq));
	struct qrep_replica *r;
	unsigned int slot;

	if (!behind)
		return;
	rcu_read_lock();
	for_each_set_bit(slot, &behind, QREP_MAX_REPLICAS) {
		qrep_dirty_mark(dev, slot, qrep_rq_block(rq),
				qrep_rq_nblocks(rq));
		r = rcu_dereference(dev->replicas[slot]);
		if (r)
			qrep_replica_make_stale(r, "a read found it behind on blocks %llu+%u",
						qrep_rq_block(rq),
						qrep_rq_nblocks(rq));
	}
	rcu_read_unlock();
}

/* Block @i's newest version is on fewer than W replicas of the quorum. */
static bool qrep_quorum_block_unstable(const struct qrep_quorum_read *qr,
				       u32 i, unsigned int w)
{
	/* Version 0: never written (or torn), nothing to make stable. */
	return qr->newest[i] && hweight8(qr->holders[i]) < w;
}

/*
 * Once the data is in, before phase 3: the first span of blocks that
 * are not stable, of one version and the same holders, and the replicas
 * of the read quorum to write it back to, enough of those behind to
 * make W holders (with R >= W there are enough: see the top). False if
 * every block is stable.
 */
static bool qrep_quorum_read_settle_plan(struct qrep_device *dev,
					 struct qrep_io *io, u32 n)
{
	struct qrep_quorum_read *qr = io->qr;
	unsigned int w = dev->config.write_quorum, need, slot;
	unsigned long behind;
	u32 i, j;

	if (dev->config.read_quorum < w)
		return false;
	for (i = 0; i < n && !qrep_quorum_block_unstable(qr, i, w); i++)
		;
	if (i == n)
		return false;
	for (j = i + 1; j < n && qrep_quorum_block_unstable(qr, j, w) &&
	     qr->newest[j] == qr->newest[i] &&
	     qr->holders[j] == qr->holders[i]; j++)
		;
	qr->wb_first = i;
	qr->wb_count = j - i;
	qr->wb_version = qr->newest[i];
	qr->wb_to = 0;
	qr->wb_acked = 0;
	need = w - hweight8(qr->holders[i]);
	behind = qr->merged & ~(unsigned long)qr->holders[i];
	for_each_set_bit(slot, &behind, QREP_MAX_REPLICAS) {
		if (hweight_long(qr->wb_to) >= need)
			break;
		__set_bit(slot, &qr->wb_to);
	}
	return true;
}

/*
 * After phase 3: the replicas that acknowledged the span hold it now
 * (or a newer write of it). One that did not may lack it: marked, as a
 * WRITE it let go of would be. False if the span is short of W holders.
 */
static bool qrep_quorum_read_written_back(struct qrep_device *dev,
					  struct qrep_io *io)
{
	struct request *rq = blk_mq_rq_from_pdu(io);
	struct qrep_quorum_read *qr = io->qr;
	unsigned long missed = qr->wb_to & ~qr->wb_acked;
	unsigned int slot;
	u32 i;

	for_each_set_bit(slot, &missed, QREP_MAX_REPLICAS)
		qrep_dirty_mark(dev, slot, qrep_rq_block(rq) + qr->wb_first,
				qr->wb_count);
	for (i = qr->wb_first; i < qr->wb_first + qr->wb_count; i++)
		qr->holders[i] |= qr->wb_acked;
	return hweight8(qr->holders[qr->wb_first]) >= dev->config.write_quorum;
}

/*
 * The last reference of a dispatch went: the next phase, or round again
 * from phase 1, or the end.
 */
static void qrep_quorum_read_complete(struct qrep_device *dev,
				      struct qrep_io *io)
{
	struct request *rq = blk_mq_rq_from_pdu(io);
	struct qrep_quorum_read *qr = io->qr;
	u32 n = qrep_rq_nblocks(rq);

	if (qr->write_back) {
		if (!qrep_quorum_read_written_back(dev, io))
			goto round;
	} else if (!qr->phase2) {
		if (!qr->data_ok ||
		    hweight_long(qr->merged) < dev->config.read_quorum)
			goto round;
		if (qrep_quorum_read_plan(io, n)) {
			qr->phase2 = true;
			goto again;
		}
	} else if (qr->fetched != qr->fetch) {
		goto round;
	}
	/*
	 * The data is in. Phase 3 while a span is not stable: each round
	 * that succeeds makes one more span stable, so this ends; it is
	 * progress, not a redrive.
	 */
	qr->phase2 = false;
	qr->write_back = qrep_quorum_read_settle_plan(dev, io, n);
	if (qr->write_back) {
		blk_mq_requeue_request(rq, true);
		return;
	}
	qrep_quorum_read_repair(dev, io);
	blk_mq_end_request(rq, BLK_STS_OK);
	return;
round:
	/* Someone failed to answer: phase 1 again, with who is left. */
	qr->phase2 = false;
	qr->write_back = false;
	if (!(qrep_quorum_count(dev) & QREP_QUORUM_F_READ)) {
		qrep_io_hold(dev, io);
		return;
	}
again:
	if (io->redrives >= QREP_QUORUM_MAX_REDRIVES) {
		blk_mq_end_request(rq, BLK_STS_IOERR);
		return;
	}
	io->redrives++;
	blk_mq_requeue_request(rq, true);
}

void qrep_quorum_complete(struct qrep_device *dev, struct qrep_io *io)
{
	struct request *rq = blk_mq_rq_from_pdu(io);

	if (req_op(rq) == REQ_OP_READ) {
		qrep_quorum_read_complete(dev, io);
		return;
	}
	if (io->refused)
		blk_mq_end_request(rq, BLK_STS_IOERR);
	else if (req_op(rq) == REQ_OP_FLUSH ?
		 qrep_flush_complete(io->flush_holders, io->acked,
				     dev->config.write_quorum) :
		 hweight_long(io->acked) >= dev->config.write_quorum)
		blk_mq_end_request(rq, BLK_STS_OK);
	else
		qrep_io_hold(dev, io);
}

/*
 * Where @handle's late reply is kept, or -1 if it cannot be one of ours.
 * A free entry holds handle 0, which is never issued: a reply with handle
 * 0 must not match it.
 */
static int qrep_late_index(struct qrep_replica *r, u64 handle)
{
	unsigned int tag = qrep_handle_tag(handle);

	if (!r->late || !handle || tag >= qrep_device_tags(r->dev))
		return -1;
	return tag;
}

int qrep_late_alloc(struct qrep_replica *r)
{
	struct qrep_device *dev = r->dev;

	spin_lock_init(&r->late_lock);
	if (!qrep_quorum_mode(dev))
		return 0;
	r->late = kvcalloc(qrep_device_tags(dev), sizeof(*r->late),
			   GFP_KERNEL);
	return r->late ? 0 : -ENOMEM;
}

void qrep_late_free(struct qrep_replica *r)
{
	kvfree(r->late);
}

/* One slot per request tag: if it is taken, @io waits for @r as usual. */
static bool qrep_late_add(struct qrep_replica *r, struct qrep_io *io)
{
	struct request *rq = blk_mq_rq_from_pdu(io);
	u64 handle = qrep_io_handle(io);
	int idx = qrep_late_index(r, handle);
	struct qrep_late *late;
	bool added = false;

	if (idx < 0)
		return false;
	spin_lock(&r->late_lock);
	late = &r->late[idx];
	if (!r->late_closed && !late->handle) {
		late->handle = handle;
		late->block = qrep_rq_block(rq);
		late->nblocks = qrep_rq_nblocks(rq);
		late->version = io->version;
		late->since = jiffies;
		added = true;
	}
	spin_unlock(&r->late_lock);
	if (added)
		queue_delayed_work(qrep_wq, &r->dev->late_watch,
				   msecs_to_jiffies(r->dev->config.io_timeout_ms));
	return added;
}

void qrep_io_detach(struct qrep_device *dev, struct qrep_io *io)
{
	struct request *rq = blk_mq_rq_from_pdu(io);
	unsigned long waiting, drop = 0;
	struct qrep_replica *r;
	unsigned int slot;

	if (!qrep_quorum_mode(dev) || req_op(rq) != REQ_OP_WRITE)
		return;
	/* Our acked or queued change, then the other's: see quorum.h. */
	smp_mb();
	if (hweight_long(READ_ONCE(io->acked)) < dev->config.write_quorum)
		return;
	rcu_read_lock();
	spin_lock(&io->lock);
	waiting = io->pending & ~READ_ONCE(io->queued);
	for_each_set_bit(slot, &waiting, QREP_MAX_REPLICAS) {
		r = rcu_dereference(dev->replicas[slot]);
		if (r && qrep_late_add(r, io)) {
			clear_bit(slot, &io->pending);
			__set_bit(slot, &drop);
		}
	}
	spin_unlock(&io->lock);
	rcu_read_unlock();
	/* The caller still holds a reference: @io cannot complete here. */
	for_each_set_bit(slot, &drop, QREP_MAX_REPLICAS)
		qrep_io_put(io);
}

bool qrep_late_reply(struct qrep_replica *r, const struct qrep_reply *reply,
		     int *ret)
{
	u64 handle = be64_to_cpu(reply->handle);
	u32 status = be32_to_cpu(reply->status);
	u32 nblocks = be32_to_cpu(reply->nblocks);
	int idx = qrep_late_index(r, handle);
	struct qrep_late late = {};
	bool found = false;

	if (idx < 0)
		return false;
	spin_lock(&r->late_lock);
	if (r->late[idx].handle == handle) {
		late = r->late[idx];
		r->late[idx].handle = 0;
		found = true;
	}
	spin_unlock(&r->late_lock);
	if (!found)
		return false;

	atomic_dec(&r->inflight);
	*ret = 0;
	if (nblocks) {
		qrep_replica_fail(r, "protocol violation: WRITE reply with %u blocks, expected 0",
				  nblocks);
		*ret = -EPROTO;
	} else if (status == QREP_ERR_EPOCH) {
		qrep_replica_fail_fenced(r, "WRITE",
					 be64_to_cpu(reply->epoch),
					 qrep_version_epoch(late.version));
		*ret = -EIO;
	} else if (status != QREP_OK) {
		qrep_replica_fail(r, "WRITE refused: %s",
				  qrep_status_name(status));
		*ret = -EIO;
	} else {
		qrep_replica_note_version(r, late.version);
		atomic64_inc(&r->writes);
		return true;
	}
	/* After the failure: see qrep_resync_clear(). */
	qrep_dirty_mark(r->dev, r->id, late.block, late.nblocks);
	return true;
}

void qrep_late_sweep(struct qrep_replica *r)
{
	unsigned int i, n = qrep_device_tags(r->dev);
	struct qrep_late *late;

	if (!r->late)
		return;
	spin_lock(&r->late_lock);
	r->late_closed = true;
	for (i = 0; i < n; i++) {
		late = &r->late[i];
		if (!late->handle)
			continue;
		qrep_dirty_mark(r->dev, r->id, late->block, late->nblocks);
		atomic_dec(&r->inflight);
		late->handle = 0;
	}
	spin_unlock(&r->late_lock);
}

/*
 * The late replies' timer: a replica that has owed one for the I/O
 * timeout, with no reply to anything meanwhile, fails, as it would if a
 * request were still waiting for it (timers.c).
 */
static void qrep_late_watch_worker(struct work_struct *work)
{
	struct qrep_device *dev = container_of(to_delayed_work(work),
					       struct qrep_device, late_watch);
	unsigned long timeout = msecs_to_jiffies(dev->config.io_timeout_ms);
	unsigned int i, n = qrep_device_tags(dev);
	struct qrep_replica *silent[QREP_MAX_REPLICAS] = {};
	unsigned long left = timeout;
	struct qrep_replica *r;
	unsigned int slot;
	bool more = false;

	rcu_read_lock();
	for (slot = 0; slot < QREP_MAX_REPLICAS; slot++) {
		r = rcu_dereference(dev->replicas[slot]);
		if (!r || !r->late)
			continue;
		spin_lock(&r->late_lock);
		for (i = 0; i < n; i++) {
			if (!r->late[i].handle)
				continue;
			if (qrep_replica_silent(r, r->late[i].since, timeout,
						&left))
				silent[slot] = r;
			else
				more = true;
		}
		spin_unlock(&r->late_lock);
		if (silent[slot])
			qrep_replica_get(r);
	}
	rcu_read_unlock();

	for (slot = 0; slot < QREP_MAX_REPLICAS; slot++) {
		if (!silent[slot])
			continue;
		qrep_replica_fail(silent[slot],
				  "no reply to a WRITE within the I/O timeout (%u ms)",
				  dev->config.io_timeout_ms);
		qrep_replica_put(silent[slot]);
	}
	if (more && !test_bit(QREP_DEV_DYING, &dev->flags))
		queue_delayed_work(qrep_wq, &dev->late_watch, max(left, 1UL));
}

u32 qrep_quorum_read_blocks(struct qrep_replica *r, struct qrep_io *io)
{
	struct qrep_quorum_read *qr = io->qr;

	if (qr->write_back)
		return 0;
	if (qr->phase2)
		return qr->span_count[r->id];
	return qrep_rq_nblocks(blk_mq_rq_from_pdu(io));
}

/*
 * Phase 1: takes in one replica's versions. Phase 2: checks that each
 * block it is to give is still at least the version phase 1 found; if
 * not (its store went back, or another replica took over the slot), the
 * read goes round again. Returns false then. A block it now holds at a
 * newer version (a write landed meanwhile) is taken at that version,
 * the one its data has, so that phase 3 never writes one version's
 * data under another's.
 */
bool qrep_quorum_read_versions(struct qrep_replica *r, struct qrep_io *io,
			       const __be64 *versions, u32 nblocks)
{
	struct qrep_quorum_read *qr = io->qr;
	unsigned int slot = r->id;
	u32 i, first;
	u64 v;

	if (qr->phase2) {
		first = qr->span_first[slot];
		for (i = 0; i < nblocks; i++) {
			v = be64_to_cpu(versions[i]);
			if (qr->best[first + i] != slot ||
			    v == qr->newest[first + i])
				continue;
			if (v < qr->newest[first + i])
				return false;
			qr->newest[first + i] = v;
			qr->holders[first + i] = BIT(slot);
		}
		return true;
	}
	spin_lock(&io->lock);
	for (i = 0; i < nblocks; i++) {
		v = be64_to_cpu(versions[i]);
		if (qr->best[i] == QREP_NO_SLOT || v > qr->newest[i]) {
			/* Whoever answered before holds an older one. */
			qr->newest[i] = v;
			qr->best[i] = slot;
			qr->holders[i] = 0;
		} else if (v < qr->newest[i]) {
			continue;
		} else if (slot == qr->data_slot) {
			qr->best[i] = slot;	/* a tie: the same write */
		}
		qr->holders[i] |= BIT(slot);
	}
	__set_bit(slot, &qr->merged);
	spin_unlock(&io->lock);
	return true;
}

bool qrep_quorum_read_wants_data(struct qrep_replica *r, struct qrep_io *io)
{
	return io->qr->phase2 || !test_bit(r->id, &io->qr->versions_only);
}

/*
 * The data: in phase 1 all of it, into the request's pages; in phase 2
 * the replica's span, of which only the blocks it is best for go to the
 * pages and the rest is read and dropped.
 */
int qrep_quorum_read_data(struct qrep_replica *r, struct qrep_io *io)
{
	struct request *rq = blk_mq_rq_from_pdu(io);
	struct qrep_quorum_read *qr = io->qr;
	unsigned int slot = r->id;
	u32 i, j, end;
	bool mine;
	int ret;

	if (!qr->phase2)
		return qrep_rq_xfer_batches(r, rq, r->rx_bvec, qrep_recv_bvecs);

	i = qr->span_first[slot];
	end = i + qr->span_count[slot];
	while (i < end) {
		mine = qr->best[i] == slot;
		for (j = i + 1; j < end && (qr->best[j] == slot) == mine; j++)
			;
		if (mine) {
			ret = qrep_rq_xfer_range(r, rq,
						 (size_t)i << QREP_BLOCK_SHIFT,
						 (size_t)(j - i) << QREP_BLOCK_SHIFT,
						 r->rx_bvec, qrep_recv_bvecs);
			if (ret)
				return ret;
		} else {
			for (; i < j; i++) {
				ret = qrep_recv_buf(r, r->rx_discard,
						    QREP_BLOCK_SIZE);
				if (ret)
					return ret;
			}
		}
		i = j;
	}
	return 0;
}

void qrep_quorum_read_done(struct qrep_replica *r, struct qrep_io *io)
{
	struct qrep_quorum_read *qr = io->qr;

	if (qr->phase2)
		set_bit(r->id, &qr->fetched);
	else if (!test_bit(r->id, &qr->versions_only))
		WRITE_ONCE(qr->data_ok, true);
}

bool qrep_quorum_read_writing(struct qrep_io *io)
{
	return io->qr->write_back;
}

void qrep_quorum_read_written(struct qrep_replica *r, struct qrep_io *io)
{
	qrep_replica_note_version(r, io->qr->wb_version);
	set_bit(r->id, &io->qr->wb_acked);
}

/* Phase 3's WRITE is FUA: a holder it adds survives the loss of power. */
void qrep_quorum_build_read(struct qrep_replica *r, struct qrep_io *io,
			    u16 *op, u16 *flags, u64 *block, u32 *nblocks)
{
	struct qrep_quorum_read *qr = io->qr;

	if (qr->write_back) {
		*op = QREP_OP_WRITE;
		*flags |= QREP_REQ_FUA;
		*block += qr->wb_first;
		*nblocks = qr->wb_count;
	} else if (qr->phase2) {
		*block += qr->span_first[r->id];
		*nblocks = qr->span_count[r->id];
	} else if (test_bit(r->id, &qr->versions_only)) {
		*op = QREP_OP_VERSIONS;
	}
}

void qrep_quorum_init(struct qrep_device *dev)
{
	spin_lock_init(&dev->held_lock);
	INIT_LIST_HEAD(&dev->held);
	INIT_WORK(&dev->quorum_work, qrep_quorum_worker);
	INIT_DELAYED_WORK(&dev->late_watch, qrep_late_watch_worker);
}

void qrep_quorum_teardown(struct qrep_device *dev)
{
	struct qrep_io *io, *next;
	LIST_HEAD(gone);

	/* QREP_DEV_DYING is set: nothing is held from now on. */
	cancel_work_sync(&dev->quorum_work);
	cancel_delayed_work_sync(&dev->late_watch);
	spin_lock(&dev->held_lock);
	list_splice_init(&dev->held, &gone);
	dev->nr_held = 0;
	spin_unlock(&dev->held_lock);
	list_for_each_entry_safe(io, next, &gone, held_node) {
		list_del_init(&io->held_node);
		blk_mq_end_request(blk_mq_rq_from_pdu(io), BLK_STS_IOERR);
	}
}
