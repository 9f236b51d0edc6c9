// SPDX-License-Identifier: GPL-2.0
/*
 * The transmit side of a replica: a queue of requests, and one sender
 * thread that writes each to the socket, its header and, for a WRITE,
 * its data straight from the request's pages.
 *
 * Why a thread rather than sending from queue_rq: queue_rq runs in
 * whatever task submitted the I/O, and a signal pending there interrupts
 * a send blocked on a full socket part way through a message; a TCP
 * stream cannot take back half a message, so that replica would have to
 * be failed for somebody's Ctrl-C. A kernel thread gets no signals: it
 * stops only for a socket error, the send timeout, or the replica
 * failing (which shuts the socket down and so wakes it). The replicas'
 * sends also run side by side instead of one after the other.
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

/*
 * Queues @io for @r's sender, with a reference for the sender and one for
 * the reply. Called under rcu_read_lock from queue_rq (the replica cannot
 * be freed meanwhile); returns false once the sender has gone.
 */
bool qrep_replica_queue(struct qrep_replica *r, struct qrep_io *io)
{
	bool queued = false;

	spin_lock(&r->tx_queue_lock);
	if (!r->tx_closed) {
		atomic_add(2, &io->refs);
		__set_bit(r->id, &io->sent);
		set_bit(r->id, &io->queued);
		set_bit(r->id, &io->pending);
		atomic_inc(&r->inflight);
		list_add_tail(&io->tx[r->id].node, &r->tx_queue);
		queued = true;
	}
	spin_unlock(&r->tx_queue_lock);
	if (queued)
		wake_up(&r->tx_wait);
	return queued;
}

/* The sender lets go of @io (quorum mode: its reply may now be late). */
static void qrep_send_done(struct qrep_replica *r, struct qrep_io *io)
{
	WRITE_ONCE(io->sent_at[r->id], jiffies);
	/* The time before the bit: pairs with timers.c's read. */
	smp_mb__before_atomic();
	clear_bit(r->id, &io->queued);
	qrep_io_detach(r->dev, io);
	qrep_io_put(io);
}

/* The next request to send, or NULL once the replica has failed. */
static struct qrep_io *qrep_send_next(struct qrep_replica *r)
{
	struct qrep_io_tx *tx;

	for (;;) {
		wait_event_interruptible(r->tx_wait,
					 !list_empty(&r->tx_queue) ||
					 !qrep_replica_live(r));
		if (!qrep_replica_live(r))
			return NULL;
		spin_lock(&r->tx_queue_lock);
		tx = list_first_entry_or_null(&r->tx_queue, struct qrep_io_tx,
					      node);
		if (tx)
			list_del_init(&tx->node);
		spin_unlock(&r->tx_queue_lock);
		if (tx)
			return tx->io;
	}
}

/* Closes the queue and lets go of everything still in it. */
static void qrep_send_drain(struct qrep_replica *r)
{
	struct qrep_io_tx *tx, *next;
	LIST_HEAD(unsent);

	spin_lock(&r->tx_queue_lock);
	r->tx_closed = true;
	list_splice_init(&r->tx_queue, &unsent);
	spin_unlock(&r->tx_queue_lock);

	list_for_each_entry_safe(tx, next, &unsent, node) {
		list_del_init(&tx->node);
		qrep_send_done(r, tx->io);
	}
}

/*
 * Sends all of @msg. Allocations for it must not recurse into reclaim,
 * which could write back to this very device.
 */
static int qrep_sock_send(struct qrep_replica *r, struct msghdr *msg)
{
	unsigned int noreclaim = memalloc_noreclaim_save();
	int ret = 0;

	while (msg_data_left(msg)) {
		ret = sock_sendmsg(r->sock, msg);
		if (ret <= 0) {
			ret = ret ? ret : -EPIPE;
			break;
		}
		ret = 0;
	}
	memalloc_noreclaim_restore(noreclaim);
	return ret;
}

static int qrep_send_bvecs(struct qrep_replica *r, struct bio_vec *bvec,
			   unsigned int nr, size_t bytes, bool more)
{
	struct msghdr msg = {
		.msg_flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0),
	};

	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, bvec, nr, bytes);
	return qrep_sock_send(r, &msg);
}

/*
 * The data of the WRITE @req, QREP_BVEC_BATCH segments per sendmsg: all
 * of a WRITE request's, or the span of a quorum read's pages that its
 * write back carries (quorum.c), as the header names it.
 */
static int qrep_send_data(struct qrep_replica *r, struct request *rq,
			  const struct qrep_req *req)
{
	u64 first = be64_to_cpu(req->block) - qrep_rq_block(rq);
	u32 nblocks = be32_to_cpu(req->nblocks);

	return qrep_rq_xfer_range(r, rq, (size_t)first << QREP_BLOCK_SHIFT,
				  (size_t)nblocks << QREP_BLOCK_SHIFT,
				  r->tx_bvec, qrep_send_bvecs);
}

static void qrep_build_req(struct qrep_replica *r, struct qrep_io *io,
			   struct qrep_req *req)
{
	struct request *rq = blk_mq_rq_from_pdu(io);
	u16 op = QREP_OP_FLUSH, flags = 0;
	u64 block = 0;
	u32 nblocks = 0;

	memset(req, 0, sizeof(*req));
	if (req_op(rq) == REQ_OP_READ || req_op(rq) == REQ_OP_WRITE) {
		op = req_op(rq) == REQ_OP_READ ? QREP_OP_READ : QREP_OP_WRITE;
		block = qrep_rq_block(rq);
		nblocks = qrep_rq_nblocks(rq);
	}
	if (op == QREP_OP_READ && qrep_quorum_mode(r->dev))
		qrep_quorum_build_read(r, io, &op, &flags, &block, &nblocks);
	req->block = cpu_to_be64(block);
	req->nblocks = cpu_to_be32(nblocks);
	if (op == QREP_OP_WRITE) {
		if (rq->cmd_flags & REQ_FUA)
			flags |= QREP_REQ_FUA;
		req->version = cpu_to_be64(io->version);
	}
	req->magic = cpu_to_be32(QREP_REQ_MAGIC);
	req->op = cpu_to_be16(op);
	req->flags = cpu_to_be16(flags);
	req->handle = cpu_to_be64(qrep_io_handle(io));
	req->epoch = cpu_to_be64(io->epoch);
}

static int qrep_send_io(struct qrep_replica *r, struct qrep_io *io)
{
	struct qrep_req req;
	struct kvec vec = { .iov_base = &req, .iov_len = sizeof(req) };
	struct msghdr msg = {};
	bool data;
	int ret;

	BUILD_BUG_ON(sizeof(req) != QREP_REQ_SIZE);
	qrep_build_req(r, io, &req);
	data = req.op == cpu_to_be16(QREP_OP_WRITE);
	msg.msg_flags = MSG_NOSIGNAL | (data ? MSG_MORE : 0);
	iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, &vec, 1, sizeof(req));
	ret = qrep_sock_send(r, &msg);
	if (!ret && data)
		ret = qrep_send_data(r, blk_mq_rq_from_pdu(io), &req);
	return ret;
}

/* The sender thread: see the top of this file. */
int qrep_send_worker(void *data)
{
	struct qrep_replica *r = data;
	struct qrep_io *io;
	int ret;

	while ((io = qrep_send_next(r))) {
		ret = qrep_send_io(r, io);
		if (ret == -EAGAIN)	/* the socket's send timeout */
			qrep_replica_fail(r, "send made no progress within the I/O timeout (%u ms)",
					  r->dev->config.io_timeout_ms);
		else if (ret)
			qrep_replica_fail(r, "send failed: %pe", ERR_PTR(ret));
		qrep_send_done(r, io);
	}
	qrep_send_drain(r);
	kthread_complete_and_exit(&r->tx_exited, 0);
}
