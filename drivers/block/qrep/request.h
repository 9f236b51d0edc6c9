/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The block layer side of a qrep device: what blk-mq calls for every
 * request, and the per-request state kept beside it.
 */
#ifndef _QREP_REQUEST_H
#define _QREP_REQUEST_H

#include <linux/atomic.h>
#include <linux/blk-mq.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/types.h>
#include <linux/qrep.h>

struct qrep_io;

/* A request's place in one replica's transmit queue. */
struct qrep_io_tx {
	struct list_head node;		/* under that replica's tx_queue_lock */
	struct qrep_io *io;
};

/*
 * Per-request driver data (tag_set.cmd_size). One dispatch of a request
 * (queue_rq, or again after a read is re-driven) goes to a set of
 * replicas, bit N standing for the replica in slot N.
 *
 * References: queue_rq holds one while it dispatches; each replica the
 * request is queued to adds two, one dropped by that replica's sender
 * once it is done with the request (sent, or given up), one by its
 * receiver once it has the reply or knows none will come. Whoever drops
 * the last completes the request (qrep_io_put).
 *
 * @pending bit N is set when the request is queued to replica N and
 * cleared only by replica N's receiver thread, with test_and_clear_bit:
 * once its reply has been taken in (a READ's data too), or by the sweep
 * that ends the thread. So the reply reference is dropped exactly once,
 * and nothing else can complete the request while the receiver reads a
 * READ's data into its pages. @queued bit N likewise belongs to replica
 * N's sender. The timeout handler fails every replica whose bit is set.
 */
struct qrep_io {
	u32 gen;			/* bumped per dispatch: high half of the handle */
	u8 redrives;			/* times a failed read was sent elsewhere */
	bool read_ok;			/* a READ's data has arrived in full */
	atomic_t refs;
	unsigned long pending;		/* replicas whose reply we await */
	unsigned long queued;		/* replicas whose sender holds it */
	unsigned long sent;		/* replicas it went to, this dispatch */
	unsigned long acked;		/* up-to-date replicas that acknowledged */
	unsigned long written;		/* any replica that acknowledged a WRITE */
	u64 version;			/* WRITE: the version stamped on it */
	ktime_t start;			/* dispatch time, for reply latency */
	struct qrep_io_tx tx[QREP_MAX_REPLICAS];
};

extern const struct blk_mq_ops qrep_mq_ops;

/* The 64-bit handle of the request's current dispatch. */
u64 qrep_io_handle(struct qrep_io *io);

/* The request's first block and block count (0 for a FLUSH). */
u64 qrep_rq_block(struct request *rq);
u32 qrep_rq_nblocks(struct request *rq);

struct qrep_replica;
struct bio_vec;

/* Moves @nr segments (@bytes in all) of @bvec; @more: data follows. */
typedef int (*qrep_xfer_fn)(struct qrep_replica *r, struct bio_vec *bvec,
			    unsigned int nr, size_t bytes, bool more);

/*
 * Walks @rq's data QREP_BVEC_BATCH segments at a time through @batch, the
 * caller's own array of that many, calling @xfer for each batch; stops at
 * the first error. The sender writes WRITE data this way, the receiver
 * reads READ data.
 */
int qrep_rq_xfer_batches(struct qrep_replica *r, struct request *rq,
			 struct bio_vec *batch, qrep_xfer_fn xfer);
void qrep_io_put(struct qrep_io *io);

/* timers.c */
enum blk_eh_timer_return qrep_io_timed_out(struct request *rq);

#endif /* _QREP_REQUEST_H */
