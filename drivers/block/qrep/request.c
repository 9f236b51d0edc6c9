// SPDX-License-Identifier: GPL-2.0
/*
 * Requests: fan-out to the replicas, and completion once the write
 * policy is met.
 *
 * Mirror mode:
 *  - WRITE (and FUA) goes to every live replica, up to date or stale,
 *    stamped with the device's next version. It completes when each of
 *    them has answered or has failed; it succeeds if an up-to-date
 *    replica acknowledged it.
 *  - FLUSH goes to every live replica and completes the same way.
 *  - READ goes to one up-to-date replica (qrep_pick_replica). If that
 *    replica fails or answers with an error, the read is requeued and
 *    goes to another one; with none left it fails.
 *  - With no up-to-date replica, every request fails at once with an I/O
 *    error (see qrep_no_replicas).
 *
 * Quorum mode differs in each of these: see quorum.c.
 *
 * queue_rq never sleeps: it only queues the request to the replicas'
 * sender threads (send.c), which do the socket work, so the tag set is
 * not BLK_MQ_F_BLOCKING.
 */
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/rcupdate.h>

#include "device.h"
#include "quorum.h"
#include "replica.h"
#include "request.h"
#include "resync.h"

int qrep_rq_xfer_range(struct qrep_replica *r, struct request *rq,
		       size_t off, size_t len, struct bio_vec *batch,
		       qrep_xfer_fn xfer)
{
	size_t pos = 0, left = len, bytes = 0, skip, take;
	struct req_iterator iter;
	unsigned int nr = 0;
	struct bio_vec bv;
	int ret;

	/*
	 * A nested loop: "continue" past the window rather than break. And
	 * @bv is the iterator's own (it advances by bv.bv_len): trim a copy.
	 */
	rq_for_each_bvec(bv, rq, iter) {
		if (!left || pos + bv.bv_len <= off) {
			pos += bv.bv_len;
			continue;
		}
		skip = off > pos ? off - pos : 0;
		take = min_t(size_t, bv.bv_len - skip, left);
		pos += bv.bv_len;
		batch[nr] = bv;
		batch[nr].bv_offset += skip;
		batch[nr].bv_len = take;
		nr++;
		bytes += take;
		left -= take;
		if (nr < QREP_BVEC_BATCH && left)
			continue;
		ret = xfer(r, batch, nr, bytes, left != 0);
		if (ret)
			return ret;
		nr = 0;
		bytes = 0;
	}
	return WARN_ON_ONCE(left) ? -EIO : 0;
}

int qrep_rq_xfer_batches(struct qrep_replica *r, struct request *rq,
			 struct bio_vec *batch, qrep_xfer_fn xfer)
{
	return qrep_rq_xfer_range(r, rq, 0, blk_rq_bytes(rq), batch, xfer);
}

u64 qrep_rq_block(struct request *rq)
{
	return blk_rq_pos(rq) >> (QREP_BLOCK_SHIFT - SECTOR_SHIFT);
}

u32 qrep_rq_nblocks(struct request *rq)
{
	return blk_rq_bytes(rq) >> QREP_BLOCK_SHIFT;
}

/*
 * A READ whose replica failed goes round again while it has somewhere to
 * go: every failure takes a replica out of the up-to-date set, so this is
 * bounded, and the redrive count bounds it regardless.
 */
static bool qrep_io_redrive(struct qrep_io *io, struct request *rq)
{
	if (req_op(rq) != REQ_OP_READ || io->read_ok || !io->sent ||
	    io->redrives >= QREP_MAX_REPLICAS)
		return false;
	io->redrives++;
	blk_mq_requeue_request(rq, true);
	return true;
}

static void qrep_io_complete(struct qrep_io *io)
{
	struct request *rq = blk_mq_rq_from_pdu(io);
	struct qrep_device *dev = rq->q->queuedata;
	bool ok;

	if (qrep_quorum_mode(dev)) {
		qrep_quorum_complete(dev, io);
		return;
	}
	if (qrep_io_redrive(io, rq))
		return;
	ok = req_op(rq) == REQ_OP_READ ? io->read_ok : io->acked != 0;
	blk_mq_end_request(rq, ok ? BLK_STS_OK : BLK_STS_IOERR);
}

/*
 * Handles. A reply names its request by the handle it was sent with, and
 * a handle names one dispatch of one request for the life of the device:
 * the device's count of dispatches (the 48 bits above the tag's: nine
 * years at a million a second) above the driver tag the request holds
 * while it is in flight.
 * Never 0: the count starts at 1. Driver tags are few and shared (by the
 * scheduler's requests, by a requeued request and the next one, by the
 * flush machinery's request and the one it flushes for), so the tag only
 * says where to look, and the whole handle must match.
 *
 * Where to look is dev->inflight, not the tag set: a request is entered
 * there when it is dispatched and taken out, under inflight_lock, before
 * it completes or is requeued or held, so a receiver that finds it there
 * under that lock finds a request that is in flight in that dispatch and
 * cannot be freed (a scheduler switch or an nr_requests change frees the
 * scheduler's requests once the queue is frozen, that is once none is in
 * flight). Holding the request's lock as well, the receiver takes its
 * pending bit, and with it a reference (see qrep_receive_lookup()).
 */
static void qrep_io_publish(struct qrep_device *dev, struct qrep_io *io)
{
	struct request *rq = blk_mq_rq_from_pdu(io);
	unsigned int tag = rq->mq_hctx->queue_num * QREP_QUEUE_DEPTH + rq->tag;
	u64 seq = atomic64_inc_return(&dev->handle_seq);

	spin_lock(&dev->inflight_lock);
	WRITE_ONCE(io->handle, seq << QREP_HANDLE_TAG_BITS | tag);
	WARN_ON_ONCE(dev->inflight[tag]);
	dev->inflight[tag] = io;
	spin_unlock(&dev->inflight_lock);
}

static void qrep_io_unpublish(struct qrep_device *dev, struct qrep_io *io)
{
	unsigned int tag = qrep_handle_tag(io->handle);

	spin_lock(&dev->inflight_lock);
	if (dev->inflight[tag] == io)
		dev->inflight[tag] = NULL;
	spin_unlock(&dev->inflight_lock);
}

/* Drops one reference; the last one completes the request. */
void qrep_io_put(struct qrep_io *io)
{
	struct request *rq = blk_mq_rq_from_pdu(io);

	if (!atomic_dec_and_test(&io->refs))
		return;
	qrep_io_unpublish(rq->q->queuedata, io);
	qrep_io_complete(io);
}

/*
 * Fresh state for a new dispatch; nothing else holds the request now.
 * The epoch is read once here, before any version is stamped (see
 * qrep_device_set()); every replica gets the request under it.
 */
static void qrep_io_start(struct qrep_device *dev, struct qrep_io *io)
{
	io->read_ok = false;
	io->pending = 0;
	io->queued = 0;
	io->sent = 0;
	io->acked = 0;
	io->flush_holders = 0;
	io->written = 0;
	io->version = 0;
	io->epoch = qrep_device_epoch(dev);
	io->refused = false;
	io->start = ktime_get();
	atomic_set(&io->refs, 1);	/* the dispatch reference */
	qrep_io_publish(dev, io);	/* last: a receiver may find it now */
}

/* How much older than its last sample a latency estimate halves. */
#define QREP_READ_LATENCY_HALF_LIFE	HZ

/*
 * The cost of reading from @r: the requests it has in flight, plus this
 * one, times its recent READ latency. An idle replica close by wins;
 * once it is busy, the others take their share.
 *
 * Only reads feed the latency: a replica's 1 MiB writes say little about
 * its reads. An estimate halves for every QREP_READ_LATENCY_HALF_LIFE
 * without a new sample, so a replica that was slow once (or never read
 * from: no sample counts as fast) is tried again soon, and its next
 * sample says whether it still is.
 */
u64 qrep_read_cost(struct qrep_replica *r)
{
	unsigned long age = jiffies - READ_ONCE(r->read_sampled);
	u64 latency = ewma_qrep_latency_read(&r->read_latency);

	latency >>= min_t(unsigned long, age / QREP_READ_LATENCY_HALF_LIFE, 32);
	latency = max_t(u64, latency, 1);

	return (u64)(atomic_read(&r->inflight) + 1) * latency;
}

/*
 * The cheapest replica not in @skip that is up to date, or with @any_live
 * also stale (but not unreconciled: see struct qrep_replica); ties go
 * round robin.
 */
struct qrep_replica *qrep_pick_replica(struct qrep_device *dev,
				       unsigned long skip, bool any_live)
{
	unsigned int start = atomic_inc_return(&dev->read_rotor);
	struct qrep_replica *best = NULL, *r;
	u64 best_cost = U64_MAX, cost;
	unsigned int i, slot;

	for (i = 0; i < QREP_MAX_REPLICAS; i++) {
		slot = (start + i) % QREP_MAX_REPLICAS;
		r = rcu_dereference(dev->replicas[slot]);
		if (!r || test_bit(slot, &skip))
			continue;
		if (any_live && (!qrep_replica_live(r) ||
				 READ_ONCE(r->unreconciled)))
			continue;
		if (!any_live &&
		    qrep_replica_state(r) != QREP_REPLICA_UPTODATE)
			continue;
		cost = qrep_read_cost(r);
		if (cost < best_cost) {
			best = r;
			best_cost = cost;
		}
	}
	return best;
}

static void qrep_dispatch_read(struct qrep_device *dev, struct qrep_io *io)
{
	unsigned long skip = 0;
	struct qrep_replica *r;

	/* Inside the dispatch's RCU read section: see qrep_replica_join. */
	if (!test_bit(QREP_DEV_READ, &dev->flags))
		set_bit(QREP_DEV_READ, &dev->flags);
	while ((r = qrep_pick_replica(dev, skip, false))) {
		if (qrep_replica_queue(r, io))
			return;
		__set_bit(r->id, &skip);	/* failed since we looked */
	}
}

/*
 * WRITE and FLUSH: every replica that takes writes. A WRITE that a
 * replica cannot take (its sender has just gone: it is failing) is
 * marked in that replica's bitmap, like one for a slot with no replica.
 */
void qrep_dispatch_all(struct qrep_device *dev, struct qrep_io *io)
{
	struct request *rq = blk_mq_rq_from_pdu(io);
	struct qrep_replica *r;
	unsigned int slot;

	for (slot = 0; slot < QREP_MAX_REPLICAS; slot++) {
		r = rcu_dereference(dev->replicas[slot]);
		if (!r || !qrep_replica_live(r) || qrep_replica_queue(r, io))
			continue;
		if (req_op(rq) == REQ_OP_WRITE)
			qrep_dirty_mark(dev, slot, qrep_rq_block(rq),
					qrep_rq_nblocks(rq));
	}
}

void qrep_dispatch_write(struct qrep_device *dev, struct qrep_io *io)
{
	struct request *rq = blk_mq_rq_from_pdu(io);

	if (!test_bit(QREP_DEV_WRITTEN, &dev->flags))
		set_bit(QREP_DEV_WRITTEN, &dev->flags);
	/*
	 * Every write of this epoch, the first too, in both modes: see
	 * qrep_quorum.h. The request's own epoch, so that its version is
	 * above that epoch's base even if the device's epoch is raised
	 * meanwhile. A mirror store written before versions carried the
	 * epoch holds bare counters, all below the base of epoch 1.
	 */
	qrep_device_seed_version(dev, qrep_version_base(io->epoch));
	io->version = atomic64_inc_return(&dev->version);
	/*
	 * A counter run into the epoch bits would outrank the next epoch.
	 * (Past the request's own epoch is fine if DEV_SET has raised the
	 * device's meanwhile: the version is then one of the new epoch's.)
	 */
	if (qrep_version_epoch(io->version) > qrep_device_epoch(dev)) {
		pr_warn_ratelimited("qrep%d: the versions of epoch %llu are used up: bring the device up again (a new epoch)\n",
				    dev->index, io->epoch);
		io->refused = true;
		return;
	}
	qrep_dirty_mark_absent(dev, qrep_rq_block(rq), qrep_rq_nblocks(rq));
	qrep_dispatch_all(dev, io);
}

/*
 * No up-to-date replica: the request fails now. Mirror mode has no
 * policy that holds I/O until a replica returns; quorum mode has one
 * (quorum.c).
 */
static bool qrep_no_replicas(struct qrep_device *dev)
{
	return !qrep_replicas_serving(dev);
}

/* The block layer promises these; a violation is our bug, not the net's. */
static bool qrep_rq_well_formed(struct request *rq)
{
	unsigned int bytes = blk_rq_bytes(rq);

	if (req_op(rq) == REQ_OP_FLUSH)
		return true;
	return !WARN_ON_ONCE(!bytes || !IS_ALIGNED(bytes, QREP_BLOCK_SIZE) ||
			     bytes > QREP_MAX_REQ_BLOCKS * QREP_BLOCK_SIZE ||
			     !IS_ALIGNED(blk_rq_pos(rq) << SECTOR_SHIFT,
					 QREP_BLOCK_SIZE));
}

static blk_status_t qrep_queue_rq(struct blk_mq_hw_ctx *hctx,
				  const struct blk_mq_queue_data *bd)
{
	struct qrep_device *dev = hctx->queue->queuedata;
	struct request *rq = bd->rq;
	struct qrep_io *io = blk_mq_rq_to_pdu(rq);

	switch (req_op(rq)) {
	case REQ_OP_READ:
	case REQ_OP_WRITE:
	case REQ_OP_FLUSH:
		break;
	default:
		return BLK_STS_NOTSUPP;
	}
	if (!qrep_rq_well_formed(rq))
		return BLK_STS_IOERR;
	/*
	 * A secondary sends nothing to a target: a demoted primary's
	 * requests, new or requeued, fail here at once. The role is read
	 * inside the RCU section that the dispatch runs in, so a demotion's
	 * grace period (qrep_device_set) covers this check too.
	 */
	rcu_read_lock();
	if (qrep_device_role(dev) == QREP_ROLE_SECONDARY) {
		rcu_read_unlock();
		return BLK_STS_IOERR;
	}
	/* RQF_DONTPREP survives a requeue: set on the first dispatch only. */
	if (!(rq->rq_flags & RQF_DONTPREP)) {
		io->redrives = 0;
		if (qrep_quorum_mode(dev)) {
			io->qr->phase2 = false;
			io->qr->write_back = false;
			io->qr->refused = 0;
		}
		rq->rq_flags |= RQF_DONTPREP;
	}

	qrep_io_start(dev, io);
	/* The full I/O timeout: the handler may have shortened it (timers.c). */
	rq->timeout = 0;
	blk_mq_start_request(rq);
	if (qrep_quorum_mode(dev)) {
		qrep_quorum_dispatch(dev, io);
	} else if (!qrep_no_replicas(dev)) {
		if (req_op(rq) == REQ_OP_READ)
			qrep_dispatch_read(dev, io);
		else if (req_op(rq) == REQ_OP_WRITE)
			qrep_dispatch_write(dev, io);
		else
			qrep_dispatch_all(dev, io);
	}
	rcu_read_unlock();
	qrep_io_put(io);
	return BLK_STS_OK;
}

static int qrep_init_request(struct blk_mq_tag_set *set, struct request *rq,
			     unsigned int hctx_idx, unsigned int numa_node)
{
	struct qrep_io *io = blk_mq_rq_to_pdu(rq);
	unsigned int i;

	for (i = 0; i < QREP_MAX_REPLICAS; i++) {
		INIT_LIST_HEAD(&io->tx[i].node);
		io->tx[i].io = io;
	}
	spin_lock_init(&io->lock);
	INIT_LIST_HEAD(&io->held_node);
	return 0;
}

const struct blk_mq_ops qrep_mq_ops = {
	.queue_rq = qrep_queue_rq,
	.timeout = qrep_io_timed_out,
	.init_request = qrep_init_request,
};
