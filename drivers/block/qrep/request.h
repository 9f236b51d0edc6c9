/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The block layer side of a qrep device: what blk-mq calls for every
 * request, and the per-request state kept beside it.
 */
#ifndef _QREP_REQUEST_H
#define _QREP_REQUEST_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/blk-mq.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/types.h>
#include <linux/spinlock.h>
#include <linux/qrep.h>
#include <linux/qrep_proto.h>

struct qrep_io;

/*
 * A request's wire handle: a per-device count of dispatches above
 * QREP_HANDLE_TAG_BITS bits that name its driver tag (see
 * qrep_io_start()).
 */
#define QREP_HANDLE_TAG_BITS	16

/*
 * A quorum-mode READ (quorum.c). Phase 1 asks R replicas: one for the
 * data (READ), the others for their versions only (VERSIONS), and keeps
 * the highest version of each block, which replica holds it and which
 * replicas of the read quorum hold it. If the data replica holds the
 * highest of every block, that is the answer. Otherwise phase 2 fetches
 * each block from a replica holding its highest version, one span of
 * blocks per replica, taking only the blocks it is best for. Phase 3
 * (write back) makes the answer stable before the read returns: a span
 * of blocks whose highest version fewer than W replicas of the read
 * quorum hold is written, at that version, to enough of the others, one
 * span of equal version per round. Replicas still behind afterwards are
 * repaired by a resync.
 */
struct qrep_quorum_read {
	bool phase2;
	bool write_back;		/* phase 3 */
	bool data_ok;			/* phase 1: the data replica's data came */
	u8 data_slot;
	unsigned long versions_only;	/* phase 1: replicas asked for VERSIONS */
	unsigned long merged;		/* phase 1: replicas whose versions came */
	unsigned long fetch;		/* phase 2: replicas to fetch from */
	unsigned long fetched;		/* phase 2: ... whose data came */
	unsigned long refused;		/* gave a corrupt block for this request */
	unsigned long wb_to;		/* phase 3: replicas written back to */
	unsigned long wb_acked;		/* phase 3: ... that acknowledged */
	u64 wb_version;			/* phase 3: the span's version */
	u16 wb_first;			/* phase 3: the span, from the request's first */
	u16 wb_count;
	u16 span_first[QREP_MAX_REPLICAS];	/* phase 2: blocks, from the request's first */
	u16 span_count[QREP_MAX_REPLICAS];
	u8 best[QREP_MAX_REQ_BLOCKS];	/* slot holding each block's highest */
	u8 holders[QREP_MAX_REQ_BLOCKS];	/* slots of the read quorum holding it */
	u64 newest[QREP_MAX_REQ_BLOCKS];	/* and that version */
};

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
 * N's sender. The timeout handler fails a replica whose pending bit is
 * set only once it has had the request, sent, for the I/O timeout
 * (timers.c).
 */
struct qrep_io {
	u64 handle;			/* this dispatch's: see qrep_io_start() */
	u8 redrives;			/* times a failed read was sent elsewhere */
	bool read_ok;			/* a READ's data has arrived in full */
	bool refused;			/* failed before dispatch: never held */
	atomic_t refs;
	unsigned long pending;		/* replicas whose reply we await */
	unsigned long queued;		/* replicas whose sender holds it */
	unsigned long sent;		/* replicas it went to, this dispatch */
	unsigned long acked;		/* replicas that acknowledged (receive.c) */
	unsigned long flush_holders;	/* quorum FLUSH: r->holds_all when sent */
	unsigned long written;		/* any replica that acknowledged a WRITE */
	u64 version;			/* WRITE: the version stamped on it */
	u64 epoch;			/* the device's, at this dispatch */
	ktime_t start;			/* dispatch time, for reply latency */
	/* jiffies: when each replica's sender had sent it (timers.c) */
	unsigned long sent_at[QREP_MAX_REPLICAS];
	struct qrep_io_tx tx[QREP_MAX_REPLICAS];
	/*
	 * Quorum mode: a replica's pending bit may also be taken by
	 * qrep_io_detach() (another thread), so there every pending bit is
	 * cleared under this lock; see quorum.c.
	 */
	spinlock_t lock;
	struct list_head held_node;	/* on dev->held, waiting for a quorum */
	/* Quorum-mode READ; sized by cmd_size, absent in mirror mode. */
	struct qrep_quorum_read qr[];
};

extern const struct blk_mq_ops qrep_mq_ops;

/* The 64-bit handle of the request's current dispatch; never 0. */
static inline u64 qrep_io_handle(struct qrep_io *io)
{
	return READ_ONCE(io->handle);
}

/* The driver tag (index into dev->inflight) that @handle names. */
static inline unsigned int qrep_handle_tag(u64 handle)
{
	return handle & (BIT_ULL(QREP_HANDLE_TAG_BITS) - 1);
}

/* The request's first block and block count (0 for a FLUSH). */
u64 qrep_rq_block(struct request *rq);
u32 qrep_rq_nblocks(struct request *rq);

struct qrep_device;
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
/* The same for the bytes [@off, @off + @len) of @rq's data only. */
int qrep_rq_xfer_range(struct qrep_replica *r, struct request *rq,
		       size_t off, size_t len, struct bio_vec *batch,
		       qrep_xfer_fn xfer);
void qrep_io_put(struct qrep_io *io);

/* Used by quorum mode too; the caller holds rcu_read_lock. */
u64 qrep_read_cost(struct qrep_replica *r);
struct qrep_replica *qrep_pick_replica(struct qrep_device *dev,
				       unsigned long skip, bool any_live);
void qrep_dispatch_all(struct qrep_device *dev, struct qrep_io *io);
void qrep_dispatch_write(struct qrep_device *dev, struct qrep_io *io);

/* timers.c */
enum blk_eh_timer_return qrep_io_timed_out(struct request *rq);
/* A replica sent a request at @since (jiffies) and silent since: timers.c. */
bool qrep_replica_silent(struct qrep_replica *r, unsigned long since,
			 unsigned long timeout, unsigned long *left);

#endif /* _QREP_REQUEST_H */
