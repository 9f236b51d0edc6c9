// SPDX-License-Identifier: GPL-2.0
/*
 * The receive side of a replica: one thread reads the replies, matches
 * each to its request by handle, takes in a READ's versions and data,
 * and lets go of the request.
 *
 * Every byte from a target is untrusted. A reply must carry the reply
 * magic, a known status, known flags, a handle naming a request that is
 * in flight and waits for this replica in its current dispatch, and
 * exactly the number of blocks its request implies (a successful READ:
 * the request's; anything else: none). Anything else is a protocol
 * violation: the replica fails and its stream is read no further. An
 * error status is no violation, but it fails the replica all the same:
 * a WRITE it refused has left it behind, and a READ it cannot serve is
 * re-driven to another replica. One exception: a READ refused with
 * QREP_ERR_CHECKSUM (a block on the store no longer matches its
 * checksum) makes the replica stale instead, with that region marked for
 * the resync to repair; the read is re-driven, and the connection, still
 * in step, goes on carrying writes.
 *
 * A WRITE that this replica lets go of without acknowledging it (an
 * error, or the sweep) is marked in the slot's bitmap: see resync.c.
 *
 * In quorum mode a READ may be one of several (quorum.c): this replica
 * may be asked for its versions only, or for a span of the request, and
 * a reply may be a late one, for a WRITE that completed without waiting
 * for it.
 *
 * However the loop ends (violation, error, end of stream, or the socket
 * shut down by qrep_replica_fail), the thread fails the replica if no one
 * has yet, waits for the sender to let go of its requests, and sweeps:
 * every request still waiting for this replica's reply stops waiting for
 * it. WRITEs and FLUSHes then complete without it, READs are re-driven.
 */
#include <linux/blk-mq.h>
#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/sched/mm.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <net/sock.h>

#include "device.h"
#include "quorum.h"
#include "replica.h"
#include "request.h"
#include "resync.h"

#define QREP_REPLY_KNOWN_FLAGS	QREP_REPLY_OLDER_IGNORED

const char *qrep_status_name(u32 status)
{
	static const char * const names[] = {
		[QREP_OK] = "ok",
		[QREP_ERR_IO] = "I/O error on the store",
		[QREP_ERR_RANGE] = "blocks outside the device",
		[QREP_ERR_INVAL] = "malformed request",
		[QREP_ERR_EPOCH] = "older epoch (fenced)",
		[QREP_ERR_CHECKSUM] = "stored checksum mismatch",
		[QREP_ERR_UUID] = "device UUID differs",
		[QREP_ERR_SIZE] = "device size differs",
		[QREP_ERR_PROTO] = "protocol version",
		[QREP_ERR_JOINING] = "store joining (no epoch yet)",
	};

	BUILD_BUG_ON(ARRAY_SIZE(names) != __QREP_ERR_MAX);
	return status < ARRAY_SIZE(names) ? names[status] : "unknown";
}

static const char *qrep_rq_op_name(struct request *rq)
{
	switch (req_op(rq)) {
	case REQ_OP_READ:
		return "READ";
	case REQ_OP_WRITE:
		return "WRITE";
	default:
		return "FLUSH";
	}
}

/*
 * Fills all of @msg. Returns 0, -ESHUTDOWN if the stream ended before the
 * first byte, -EPIPE if it ended part way, or the socket's error.
 */
static int qrep_sock_recv(struct qrep_replica *r, struct msghdr *msg)
{
	unsigned int noreclaim = memalloc_noreclaim_save();
	size_t want = msg_data_left(msg);
	int ret = 0;

	while (msg_data_left(msg)) {
		ret = sock_recvmsg(r->sock, msg, MSG_WAITALL | MSG_NOSIGNAL);
		if (ret <= 0)
			break;
		ret = 0;
	}
	memalloc_noreclaim_restore(noreclaim);
	if (!msg_data_left(msg))
		return 0;
	if (ret < 0)
		return ret;
	return msg_data_left(msg) == want ? -ESHUTDOWN : -EPIPE;
}

int qrep_recv_buf(struct qrep_replica *r, void *buf, size_t len)
{
	struct kvec vec = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {};

	iov_iter_kvec(&msg.msg_iter, ITER_DEST, &vec, 1, len);
	return qrep_sock_recv(r, &msg);
}

/* @more is for the sender's benefit; a receiver just takes what comes. */
int qrep_recv_bvecs(struct qrep_replica *r, struct bio_vec *bvec,
		    unsigned int nr, size_t bytes, bool more)
{
	struct msghdr msg = {};

	iov_iter_bvec(&msg.msg_iter, ITER_DEST, bvec, nr, bytes);
	return qrep_sock_recv(r, &msg);
}

/* A READ's data, straight into the request's pages. */
static int qrep_recv_data(struct qrep_replica *r, struct request *rq)
{
	return qrep_rq_xfer_batches(r, rq, r->rx_bvec, qrep_recv_bvecs);
}

static int qrep_reply_check(struct qrep_replica *r,
			    const struct qrep_reply *reply)
{
	u32 magic = be32_to_cpu(reply->magic);
	u32 status = be32_to_cpu(reply->status);
	u32 flags = be32_to_cpu(reply->flags);

	if (magic != QREP_REPLY_MAGIC)
		qrep_replica_fail(r, "protocol violation: reply magic %#x",
				  magic);
	else if (status >= __QREP_ERR_MAX)
		qrep_replica_fail(r, "protocol violation: unknown status %u",
				  status);
	else if (flags & ~QREP_REPLY_KNOWN_FLAGS)
		qrep_replica_fail(r, "protocol violation: reply flags %#x",
				  flags);
	else
		return 0;
	return -EPROTO;
}

/*
 * The request that @handle names, if it is waiting for this replica's
 * reply in the dispatch the handle was made for: found in dev->inflight
 * under its lock, so it is in flight and cannot be freed meanwhile (see
 * the handles in request.c), and it then stays in flight for as long as
 * its pending bit for this replica is set. A READ keeps waiting for us
 * until qrep_receive_done(): only this thread clears a READ's bit for
 * this replica, so nothing else can complete it while its data lands in
 * its pages, and a target that stalls part way through a reply still
 * holds a request whose timer will fail it. A WRITE or FLUSH is claimed
 * here, its bit cleared under the request's lock: in quorum mode
 * qrep_io_detach() may take that bit too, and one of us must win.
 *
 * Handle 0 is never issued, and a handle is never issued twice: a reply
 * to any other handle (a second reply, a made-up one, one for a request
 * that completed without this replica) finds nothing here.
 */
static struct qrep_io *qrep_receive_lookup(struct qrep_replica *r,
					   u64 handle)
{
	struct qrep_device *dev = r->dev;
	unsigned int tag = qrep_handle_tag(handle);
	struct qrep_io *io;
	bool ours = false;

	if (!handle || tag >= qrep_device_tags(dev))
		return NULL;
	spin_lock(&dev->inflight_lock);
	io = dev->inflight[tag];
	if (io && READ_ONCE(io->handle) == handle) {
		spin_lock(&io->lock);
		ours = test_bit(r->id, &io->pending);
		if (ours && req_op(blk_mq_rq_from_pdu(io)) != REQ_OP_READ)
			clear_bit(r->id, &io->pending);
		spin_unlock(&io->lock);
	}
	spin_unlock(&dev->inflight_lock);
	return ours ? io : NULL;
}

/* Lets go of @io, whose reply bit this thread has taken. */
static void qrep_receive_release(struct qrep_replica *r, struct qrep_io *io)
{
	struct request *rq = blk_mq_rq_from_pdu(io);

	if (req_op(rq) == REQ_OP_WRITE && !test_bit(r->id, &io->written))
		qrep_dirty_mark(r->dev, r->id, qrep_rq_block(rq),
				qrep_rq_nblocks(rq));
	atomic_dec(&r->inflight);
	qrep_io_detach(r->dev, io);
	qrep_io_put(io);
}

/* This replica is done with @io, if it still waited for us. */
static void qrep_receive_done(struct qrep_replica *r, struct qrep_io *io)
{
	bool ours;

	spin_lock(&io->lock);
	ours = test_and_clear_bit(r->id, &io->pending);
	spin_unlock(&io->lock);
	if (ours)
		qrep_receive_release(r, io);
}

static int qrep_receive_read(struct qrep_replica *r, struct qrep_io *io,
			     u32 nblocks)
{
	struct request *rq = blk_mq_rq_from_pdu(io);
	bool quorum = qrep_quorum_mode(r->dev), ok = true;
	u64 max = 0;
	u32 i;
	int ret;

	ret = qrep_recv_buf(r, r->rx_versions, nblocks * sizeof(__be64));
	if (ret)
		goto out;
	for (i = 0; i < nblocks; i++)
		max = max(max, be64_to_cpu(r->rx_versions[i]));
	qrep_replica_note_version(r, max);
	if (!quorum) {
		ret = qrep_recv_data(r, rq);
		if (!ret)
			io->read_ok = true;
		goto out;
	}
	ok = qrep_quorum_read_versions(r, io, r->rx_versions, nblocks);
	if (qrep_quorum_read_wants_data(r, io))
		ret = qrep_quorum_read_data(r, io);
	if (!ret && ok)
		qrep_quorum_read_done(r, io);
out:
	/* The header came: an end of stream now cuts a reply short. */
	return ret == -ESHUTDOWN ? -EPIPE : ret;
}

static void qrep_receive_read_latency(struct qrep_replica *r,
				      struct qrep_io *io)
{
	s64 us = ktime_us_delta(ktime_get(), io->start);

	ewma_qrep_latency_add(&r->read_latency, max_t(s64, us, 0));
	WRITE_ONCE(r->read_sampled, jiffies);
}

/*
 * A WRITE or FLUSH done: it counts towards success if we are up to date,
 * or in quorum mode if we are live at all; a quorum FLUSH then counts it
 * only if we held every acknowledged write when it was sent (quorum.c).
 */
static void qrep_receive_ack(struct qrep_replica *r, struct qrep_io *io)
{
	enum qrep_replica_state state = qrep_replica_state(r);

	if (state == QREP_REPLICA_UPTODATE ||
	    (state == QREP_REPLICA_STALE && qrep_quorum_mode(r->dev)))
		set_bit(r->id, &io->acked);
}

/* What the reply says about its request. */
static int qrep_receive_answer(struct qrep_replica *r, struct qrep_io *io,
			       const struct qrep_reply *reply)
{
	struct request *rq = blk_mq_rq_from_pdu(io);
	u32 status = be32_to_cpu(reply->status);
	u32 nblocks = be32_to_cpu(reply->nblocks);
	bool quorum = qrep_quorum_mode(r->dev);
	/* A quorum READ's phase 3 went as a WRITE: its reply is a WRITE's. */
	bool reading = req_op(rq) == REQ_OP_READ &&
		       !(quorum && qrep_quorum_read_writing(io));
	const char *op = reading || req_op(rq) != REQ_OP_READ ?
			 qrep_rq_op_name(rq) : "WRITE (a read's write back)";
	u32 expect = 0;
	int ret;

	if (reading && status == QREP_OK)
		expect = quorum ? qrep_quorum_read_blocks(r, io) :
			 qrep_rq_nblocks(rq);
	if (nblocks != expect) {
		qrep_replica_fail(r, "protocol violation: %s reply with %u blocks, expected %u",
				  op, nblocks, expect);
		return -EPROTO;
	}
	if (status == QREP_ERR_CHECKSUM && reading) {
		qrep_dirty_mark_corrupt(r->dev, r->id, qrep_rq_block(rq),
					qrep_rq_nblocks(rq));
		if (qrep_quorum_mode(r->dev))
			set_bit(r->id, &io->qr->refused);
		qrep_replica_make_stale(r, "READ of blocks %llu+%u: %s",
					qrep_rq_block(rq), qrep_rq_nblocks(rq),
					qrep_status_name(status));
		return 0;
	}
	if (status == QREP_ERR_EPOCH) {
		qrep_replica_fail_fenced(r, op, be64_to_cpu(reply->epoch),
					 io->epoch);
		return -EIO;
	}
	if (status != QREP_OK) {
		qrep_replica_fail(r, "%s refused: %s", op,
				  qrep_status_name(status));
		return -EIO;
	}
	if (reading) {
		ret = qrep_receive_read(r, io, nblocks);
		if (ret)
			return ret;
		atomic64_inc(&r->reads);
		qrep_receive_read_latency(r, io);
	} else if (req_op(rq) == REQ_OP_READ) {
		qrep_quorum_read_written(r, io);
		atomic64_inc(&r->writes);
	} else {
		if (req_op(rq) == REQ_OP_WRITE) {
			qrep_replica_note_version(r, io->version);
			atomic64_inc(&r->writes);
			set_bit(r->id, &io->written);
		}
		qrep_receive_ack(r, io);
	}
	return 0;
}

static int qrep_receive_reply(struct qrep_replica *r)
{
	struct qrep_reply reply;
	struct qrep_io *io;
	u64 handle;
	int ret;

	BUILD_BUG_ON(sizeof(reply) != QREP_REPLY_SIZE);
	ret = qrep_recv_buf(r, &reply, sizeof(reply));
	if (ret)
		return ret;
	/* A sign of life, whatever the reply is: see timers.c. */
	WRITE_ONCE(r->last_reply, jiffies);
	ret = qrep_reply_check(r, &reply);
	if (ret)
		return ret;
	handle = be64_to_cpu(reply.handle);
	io = qrep_receive_lookup(r, handle);
	if (!io) {
		if (qrep_late_reply(r, &reply, &ret))
			return ret;
		qrep_replica_fail(r, "protocol violation: reply to unknown handle %#llx",
				  handle);
		return -EPROTO;
	}
	ret = qrep_receive_answer(r, io, &reply);
	if (req_op(blk_mq_rq_from_pdu(io)) == REQ_OP_READ)
		qrep_receive_done(r, io);
	else
		qrep_receive_release(r, io);	/* claimed by the lookup */
	return ret;
}

static bool qrep_receive_sweep_one(struct request *rq, void *data)
{
	qrep_receive_done(data, blk_mq_rq_to_pdu(rq));
	return true;
}

/* The receiver thread: see the top of this file. */
int qrep_receive_worker(void *data)
{
	struct qrep_replica *r = data;
	int ret;

	do {
		ret = qrep_receive_reply(r);
	} while (!ret);

	if (ret == -ESHUTDOWN)
		qrep_replica_fail(r, "connection closed by the target");
	else if (ret == -EPIPE)
		qrep_replica_fail(r, "connection closed in the middle of a reply");
	else
		qrep_replica_fail(r, "receive failed: %pe", ERR_PTR(ret));
	/* No request can be queued to us now: the sender closed the queue. */
	wait_for_completion(&r->tx_exited);
	blk_mq_tagset_busy_iter(&r->dev->tag_set, qrep_receive_sweep_one, r);
	qrep_late_sweep(r);
	kthread_complete_and_exit(&r->rx_exited, 0);
}
