/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A replica: one target's copy of a device, reached over one TCP
 * connection that user space connected, checked (handshake) and handed
 * over with QREP_CMD_REPLICA_ADD.
 *
 * Each replica has two kernel threads of its own: a sender (send.c), the
 * only one writing to the socket, and a receiver (receive.c), the only
 * one reading from it. They live as long as the connection does.
 */
#ifndef _QREP_REPLICA_H
#define _QREP_REPLICA_H

#include <linux/atomic.h>
#include <linux/average.h>
#include <linux/bvec.h>
#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/qrep.h>
#include <linux/qrep_proto.h>

/* QREP_A_REPLICA_LAST_ERROR: bytes, with the terminating NUL. */
#define QREP_REPLICA_LAST_ERROR_MAX	128
/* Data moves to and from the socket this many segments at a time. */
#define QREP_BVEC_BATCH			32

/* READ reply latency in microseconds; each new sample weighs 1/8. */
DECLARE_EWMA(qrep_latency, 4, 8)

struct netlink_ext_ack;
struct qrep_device;
struct qrep_io;
struct qrep_late;
struct socket;
struct task_struct;

/* What QREP_CMD_REPLICA_ADD asks for. */
struct qrep_replica_config {
	u32 id;				/* the slot */
	int fd;				/* the caller's connected TCP socket */
	char name[QREP_REPLICA_NAME_MAX];
	u64 max_version;		/* the target's highest block version */
	bool stale;			/* QREP_REPLICA_F_STALE */
};

struct qrep_replica {
	struct qrep_device *dev;
	u32 id;
	char name[QREP_REPLICA_NAME_MAX];
	struct kref ref;
	struct socket *sock;		/* we hold a reference to its file */

	spinlock_t state_lock;		/* state changes and last_error */
	enum qrep_replica_state state;	/* read without the lock: READ_ONCE */
	char last_error[QREP_REPLICA_LAST_ERROR_MAX];
	bool fenced;			/* failed because a target refused our epoch */
	u64 fenced_epoch;		/* the epoch it refused; under state_lock */
	/*
	 * Holds every write the device acknowledged: up to date once (at
	 * join or by a resync) and live since. A read that finds it behind
	 * makes it stale, not this false. Under state_lock; READ_ONCE.
	 */
	bool holds_all;
	/*
	 * Joined stale a device that had already served I/O, or took a
	 * failed replica's slot: it was not among the replicas that
	 * accepted the epoch, and may hold writes of an older one that they
	 * do not (Documentation/durability.rst, D3). It lends neither data
	 * nor versions to a quorum read until its resync, which rolls those
	 * back, has finished. Under state_lock; READ_ONCE.
	 */
	bool unreconciled;

	/* Transmit: requests wait in tx_queue for the sender thread. */
	spinlock_t tx_queue_lock;	/* tx_queue and tx_closed */
	struct list_head tx_queue;	/* of struct qrep_io_tx */
	bool tx_closed;			/* the sender is gone: queue nothing */
	wait_queue_head_t tx_wait;	/* the sender sleeps here */
	struct task_struct *tx_thread;
	struct completion tx_exited;
	struct bio_vec tx_bvec[QREP_BVEC_BATCH];	/* the sender's own */

	/* Receive: the receiver's thread and its own buffers. */
	struct task_struct *rx_thread;
	struct completion rx_exited;
	struct bio_vec rx_bvec[QREP_BVEC_BATCH];
	__be64 rx_versions[QREP_MAX_REQ_BLOCKS];

	/* Status, and what read balancing looks at. */
	atomic_t inflight;		/* requests whose reply we await */
	atomic64_t errors;
	atomic64_t reads;
	atomic64_t writes;
	atomic64_t max_version;		/* highest acknowledged or reported */
	u64 instance;			/* unique among all replicas ever added */

	/* Resync progress, as user space reports it; under state_lock. */
	bool resync_active;
	unsigned int resync_tenths;	/* the last milestone announced */
	u64 resync_done;		/* bytes */
	u64 resync_total;
	u64 resync_rate;		/* bytes per second */
	/* Written by the receiver only. */
	struct ewma_qrep_latency read_latency;
	unsigned long read_sampled;	/* jiffies of the last sample */
	unsigned long last_reply;	/* jiffies: the last reply (timers.c) */

	/*
	 * Quorum mode: replies this replica owes for WRITEs that completed
	 * without it, by request tag (quorum.c).
	 */
	spinlock_t late_lock;
	struct qrep_late *late;
	bool late_closed;		/* the receiver is gone */
	/* Phase 2 of a quorum READ: blocks of a span we do not want. */
	u8 rx_discard[QREP_BLOCK_SIZE];

	struct work_struct failed_work;	/* tells user space it failed */
	struct work_struct stale_work;	/* tells user space it needs resync */
};

static inline enum qrep_replica_state
qrep_replica_state(const struct qrep_replica *r)
{
	return READ_ONCE(r->state);
}

/* Gets writes: up to date or stale, not failed. */
static inline bool qrep_replica_live(const struct qrep_replica *r)
{
	enum qrep_replica_state state = qrep_replica_state(r);

	return state == QREP_REPLICA_UPTODATE || state == QREP_REPLICA_STALE;
}

/*
 * A replica found in its slot under rcu_read_lock may be got: the slot's
 * own reference is dropped only a grace period after it left the slot.
 */
void qrep_replica_get(struct qrep_replica *r);
void qrep_replica_put(struct qrep_replica *r);

__printf(2, 3)
void qrep_replica_fail(struct qrep_replica *r, const char *fmt, ...);
/*
 * The same for a target that answered @what of epoch @ours with
 * QREP_ERR_EPOCH, holding @epoch: user space also gets
 * QREP_EVENT_REPLICA_FENCED, with @ours, so that the node's qrepd can
 * demote the device - unless it has taken a newer epoch since, and the
 * refusal is of a request of its last term.
 */
void qrep_replica_fail_fenced(struct qrep_replica *r, const char *what,
			      u64 epoch, u64 ours);
/* Up to date no more, for the reason given: it serves no reads. */
__printf(2, 3)
void qrep_replica_make_stale(struct qrep_replica *r, const char *fmt, ...);
/* The replica in @slot, under slots_mutex. */
struct qrep_replica *qrep_replica_in_slot(struct qrep_device *dev, u32 slot);
void qrep_replica_note_version(struct qrep_replica *r, u64 version);
/* Copies last_error (empty if none) and returns the state it goes with. */
enum qrep_replica_state qrep_replica_snapshot(struct qrep_replica *r,
					      char *last_error, size_t len);

int qrep_replica_add(struct qrep_device *dev,
		     const struct qrep_replica_config *config,
		     struct netlink_ext_ack *extack);
int qrep_replica_remove(struct qrep_device *dev, u32 slot,
			struct netlink_ext_ack *extack);
void qrep_replicas_remove_all(struct qrep_device *dev, const char *why);

/* Counts over the slots; the caller holds rcu_read_lock or slots_mutex. */
bool qrep_replicas_serving(struct qrep_device *dev);
unsigned int qrep_replicas_live(struct qrep_device *dev);

/* send.c */
bool qrep_replica_queue(struct qrep_replica *r, struct qrep_io *io);
int qrep_send_worker(void *data);

/* receive.c */
int qrep_receive_worker(void *data);
const char *qrep_status_name(u32 status);
/* Fill all of a buffer, or of @nr segments, from @r's socket. */
int qrep_recv_buf(struct qrep_replica *r, void *buf, size_t len);
int qrep_recv_bvecs(struct qrep_replica *r, struct bio_vec *bvec,
		    unsigned int nr, size_t bytes, bool more);

#endif /* _QREP_REPLICA_H */
