// SPDX-License-Identifier: GPL-2.0
/*
 * A replica's lifetime and state.
 *
 * States (enum qrep_replica_state) and the only ways between them:
 *
 *   added -> STALE		qrep_replica_join
 *   STALE -> UPTODATE		right after joining, if it may be up to date
 *				(qrep_replica_may_be_uptodate) and the device
 *				has sent no I/O; or when a resync finishes
 *				(resync.c)
 *   UPTODATE -> STALE		before the first read or write, a replica
 *				joined with newer data than it has; or a READ
 *				found a block on it failing its checksum
 *   UPTODATE, STALE -> FAILED	qrep_replica_fail: socket error, protocol
 *				violation, error reply, I/O timeout, removal
 *
 * FAILED is final: a failed replica stays in its slot, for status, until
 * user space hands over a new connection for the slot (which replaces it)
 * or removes it.
 *
 * A replica leaves its slot in phases (qrep_replicas_retire): it fails,
 * which shuts its socket down; it is unpublished from the slot; a grace
 * period passes, after which no queue_rq can still be queueing to it;
 * its receiver thread exits, having waited for its sender and swept
 * every request still waiting for it; its failure event goes out; then
 * the slot's reference is dropped. The last reference (a timeout handler
 * may hold one a little longer) releases the socket and frees it.
 *
 * Because the old receiver has swept the slot's bits before a new
 * replica is published in the slot, a pending bit always means the
 * replica that is in the slot now.
 */
#include <linux/file.h>
#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/netlink.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <linux/qrep_data.h>

#include "device.h"
#include "netlink.h"
#include "quorum.h"
#include "replica.h"
#include "resync.h"

/* Numbers every replica ever added, so that a resync names its replica. */
static atomic64_t qrep_replica_instances = ATOMIC64_INIT(0);

void qrep_replica_get(struct qrep_replica *r)
{
	kref_get(&r->ref);
}

static void qrep_replica_release(struct kref *ref)
{
	struct qrep_replica *r = container_of(ref, struct qrep_replica, ref);
	struct sock *sk = r->sock->sk;

	lock_sock(sk);
	sk_clear_memalloc(sk);
	release_sock(sk);
	sockfd_put(r->sock);
	qrep_late_free(r);
	kfree(r);
}

void qrep_replica_put(struct qrep_replica *r)
{
	kref_put(&r->ref, qrep_replica_release);
}

static struct qrep_replica *qrep_slot(struct qrep_device *dev, u32 slot)
{
	return rcu_dereference_protected(dev->replicas[slot],
					 lockdep_is_held(&dev->slots_mutex));
}

struct qrep_replica *qrep_replica_in_slot(struct qrep_device *dev, u32 slot)
{
	return qrep_slot(dev, slot);
}

bool qrep_replicas_serving(struct qrep_device *dev)
{
	struct qrep_replica *r;
	unsigned int slot;

	for (slot = 0; slot < QREP_MAX_REPLICAS; slot++) {
		r = rcu_dereference_check(dev->replicas[slot],
					  lockdep_is_held(&dev->slots_mutex));
		if (r && qrep_replica_state(r) == QREP_REPLICA_UPTODATE)
			return true;
	}
	return false;
}

unsigned int qrep_replicas_live(struct qrep_device *dev)
{
	struct qrep_replica *r;
	unsigned int slot, n = 0;

	for (slot = 0; slot < QREP_MAX_REPLICAS; slot++) {
		r = rcu_dereference_check(dev->replicas[slot],
					  lockdep_is_held(&dev->slots_mutex));
		if (r && qrep_replica_live(r))
			n++;
	}
	return n;
}

/* Tells user space; runs on the system workqueue, never in the I/O path. */
static void qrep_replica_failed_worker(struct work_struct *work)
{
	struct qrep_replica *r = container_of(work, struct qrep_replica,
					      failed_work);
	struct qrep_device *dev = r->dev;
	bool serving;

	qrep_netlink_notify_replica(dev, r, QREP_EVENT_REPLICA_FAILED);
	/* Set before this work was queued, under state_lock: see fail. */
	if (r->fenced)
		qrep_netlink_notify_replica(dev, r, QREP_EVENT_REPLICA_FENCED);
	qrep_quorum_changed(dev);
	rcu_read_lock();
	serving = qrep_replicas_serving(dev);
	rcu_read_unlock();
	/* A demotion takes every replica away: that is no news. */
	if (!serving && !test_bit(QREP_DEV_DYING, &dev->flags) &&
	    qrep_device_role(dev) == QREP_ROLE_PRIMARY &&
	    !test_and_set_bit(QREP_DEV_NO_REPLICAS_SENT, &dev->flags)) {
		pr_warn("qrep%d: no replica left to serve I/O%s\n", dev->index,
			r->fenced ? ": fenced, a device of a newer epoch holds the targets" : "");
		qrep_netlink_notify_dev(dev, QREP_EVENT_DEV_NO_REPLICAS);
	}
}

/* How a replica fails: what user space hears, what becomes of its socket. */
enum qrep_fail_how {
	QREP_FAIL_SHUTDOWN,	/* the socket is shut down */
	QREP_FAIL_FENCED,	/* the same, and a fenced event follows */
	QREP_FAIL_ABORT,	/* the socket is reset: nothing queued goes */
};

/*
 * Drops @r from the live set, for the reason given; only the first call
 * counts, and says whether a fenced event follows the failed one. Sleeps
 * (socket shutdown): process context only. The event work is queued
 * under state_lock, so whoever sees FAILED can flush it.
 *
 * A shutdown still lets TCP send what the sender had written to the
 * socket before it; an abort resets the connection and drops that too
 * (tcp_abort purges the write queue), so that once it returns nothing
 * more of this replica's reaches its target.
 */
static __printf(4, 0)
void qrep_replica_vfail(struct qrep_replica *r, enum qrep_fail_how how,
			u64 fenced_epoch, const char *fmt, va_list args)
{
	spin_lock(&r->state_lock);
	if (r->state == QREP_REPLICA_FAILED) {
		spin_unlock(&r->state_lock);
		if (how == QREP_FAIL_ABORT)
			tcp_abort(r->sock->sk, ECONNABORTED);
		return;
	}
	WRITE_ONCE(r->state, QREP_REPLICA_FAILED);
	r->fenced = how == QREP_FAIL_FENCED;
	r->fenced_epoch = fenced_epoch;
	vsnprintf(r->last_error, sizeof(r->last_error), fmt, args);
	queue_work(qrep_wq, &r->failed_work);
	spin_unlock(&r->state_lock);

	atomic64_inc(&r->errors);
	pr_info("qrep%d: replica %u (%s) failed: %s\n", r->dev->index, r->id,
		r->name, r->last_error);
	/* Wakes the receiver, and the sender if it is blocked sending. */
	if (how == QREP_FAIL_ABORT)
		tcp_abort(r->sock->sk, ECONNABORTED);
	else
		kernel_sock_shutdown(r->sock, SHUT_RDWR);
	wake_up(&r->tx_wait);
}

void qrep_replica_fail(struct qrep_replica *r, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	qrep_replica_vfail(r, QREP_FAIL_SHUTDOWN, 0, fmt, args);
	va_end(args);
}

/* A helper with a fixed format: vfail takes a va_list only. */
static __printf(4, 5)
void qrep_replica_fail_how(struct qrep_replica *r, enum qrep_fail_how how,
			   u64 fenced_epoch, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	qrep_replica_vfail(r, how, fenced_epoch, fmt, args);
	va_end(args);
}

void qrep_replica_fail_fenced(struct qrep_replica *r, const char *what,
			      u64 epoch, u64 ours)
{
	qrep_replica_fail_how(r, QREP_FAIL_FENCED, ours,
			      "%s refused: %s: the target holds epoch %llu, ours is %llu",
			      what, qrep_status_name(QREP_ERR_EPOCH), epoch,
			      ours);
}

static void qrep_replica_stale_worker(struct work_struct *work)
{
	struct qrep_replica *r = container_of(work, struct qrep_replica,
					      stale_work);

	qrep_netlink_notify_replica(r->dev, r, QREP_EVENT_REPLICA_STALE);
}

/*
 * Takes an up-to-date replica out of the readers; it still gets writes.
 * Whatever made it stale has been marked in its bitmap before, so that
 * a resync finishing meanwhile cannot promote it past that. Any context.
 */
void qrep_replica_make_stale(struct qrep_replica *r, const char *fmt, ...)
{
	va_list args;

	spin_lock(&r->state_lock);
	if (r->state != QREP_REPLICA_UPTODATE) {
		spin_unlock(&r->state_lock);
		return;
	}
	WRITE_ONCE(r->state, QREP_REPLICA_STALE);
	va_start(args, fmt);
	vsnprintf(r->last_error, sizeof(r->last_error), fmt, args);
	va_end(args);
	queue_work(qrep_wq, &r->stale_work);
	spin_unlock(&r->state_lock);
	pr_info("qrep%d: replica %u (%s) is stale: %s\n", r->dev->index, r->id,
		r->name, r->last_error);
}

/* Only the receiver updates max_version (and REPLICA_ADD, before it runs). */
void qrep_replica_note_version(struct qrep_replica *r, u64 version)
{
	if (version > atomic64_read(&r->max_version))
		atomic64_set(&r->max_version, version);
}

enum qrep_replica_state qrep_replica_snapshot(struct qrep_replica *r,
					      char *last_error, size_t len)
{
	enum qrep_replica_state state;

	spin_lock(&r->state_lock);
	state = r->state;
	strscpy(last_error, r->last_error, len);
	spin_unlock(&r->state_lock);
	return state;
}

/* The caller's fd, if it is a connected TCP socket nobody else drives. */
static struct socket *qrep_replica_sock_lookup(int fd,
					       struct netlink_ext_ack *extack)
{
	struct socket *sock;
	struct sock *sk;
	int err;

	sock = sockfd_lookup(fd, &err);
	if (!sock) {
		if (err == -ENOTSOCK)
			NL_SET_ERR_MSG_MOD(extack, "the replica fd is not a socket");
		else
			NL_SET_ERR_MSG_MOD(extack, "the replica fd is not an open file");
		return ERR_PTR(err);
	}
	sk = sock->sk;
	err = -EINVAL;
	if (sock->type != SOCK_STREAM || sk->sk_protocol != IPPROTO_TCP ||
	    (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)) {
		NL_SET_ERR_MSG_MOD(extack, "the replica fd is not a TCP socket");
	} else if (READ_ONCE(sk->sk_state) != TCP_ESTABLISHED) {
		err = -ENOTCONN;
		NL_SET_ERR_MSG_MOD(extack, "the replica socket is not connected");
	} else if (sock_flag(sk, SOCK_MEMALLOC)) {
		err = -EBUSY;
		NL_SET_ERR_MSG_MOD(extack,
				   "the replica socket is already in use by a block device");
	} else {
		return sock;
	}
	sockfd_put(sock);
	return ERR_PTR(err);
}

/*
 * The socket now carries block I/O: it may dip into the memory reserves
 * (it must make progress for reclaim to), a send that cannot progress
 * for io_timeout fails, and a receive waits as long as it must (idle is
 * normal; requests have their own timer).
 */
static void qrep_replica_sock_setup(struct qrep_replica *r)
{
	struct sock *sk = r->sock->sk;

	sk_set_memalloc(sk);
	lock_sock(sk);
	sk->sk_allocation = GFP_NOIO | __GFP_MEMALLOC;
	sk->sk_sndtimeo = msecs_to_jiffies(r->dev->config.io_timeout_ms);
	sk->sk_rcvtimeo = MAX_SCHEDULE_TIMEOUT;
	release_sock(sk);
	tcp_sock_set_nodelay(sk);
}

static struct qrep_replica *
qrep_replica_alloc(struct qrep_device *dev,
		   const struct qrep_replica_config *config)
{
	struct qrep_replica *r = kzalloc(sizeof(*r), GFP_KERNEL);

	if (!r)
		return NULL;
	r->dev = dev;
	r->id = config->id;
	strscpy(r->name, config->name, sizeof(r->name));
	kref_init(&r->ref);
	spin_lock_init(&r->state_lock);
	spin_lock_init(&r->tx_queue_lock);
	INIT_LIST_HEAD(&r->tx_queue);
	init_waitqueue_head(&r->tx_wait);
	init_completion(&r->tx_exited);
	init_completion(&r->rx_exited);
	atomic64_set(&r->max_version, config->max_version);
	r->instance = atomic64_inc_return(&qrep_replica_instances);
	r->last_reply = jiffies;
	ewma_qrep_latency_init(&r->read_latency);
	INIT_WORK(&r->failed_work, qrep_replica_failed_worker);
	INIT_WORK(&r->stale_work, qrep_replica_stale_worker);
	if (qrep_late_alloc(r)) {
		kfree(r);
		return NULL;
	}
	return r;
}

/* Both threads, created stopped: qrep_replica_start runs them. */
static int qrep_replica_threads_create(struct qrep_replica *r)
{
	r->tx_thread = kthread_create(qrep_send_worker, r, "qrep%d-r%u-tx",
				      r->dev->index, r->id);
	if (IS_ERR(r->tx_thread))
		return PTR_ERR(r->tx_thread);
	r->rx_thread = kthread_create(qrep_receive_worker, r, "qrep%d-r%u-rx",
				      r->dev->index, r->id);
	if (IS_ERR(r->rx_thread)) {
		kthread_stop(r->tx_thread);
		return PTR_ERR(r->rx_thread);
	}
	return 0;
}

/* A replica ready to start, or an ERR_PTR explained in extack. */
static struct qrep_replica *
qrep_replica_create(struct qrep_device *dev,
		    const struct qrep_replica_config *config,
		    struct netlink_ext_ack *extack)
{
	struct qrep_replica *r;
	struct socket *sock;
	int ret;

	sock = qrep_replica_sock_lookup(config->fd, extack);
	if (IS_ERR(sock))
		return ERR_CAST(sock);
	ret = -ENOMEM;
	r = qrep_replica_alloc(dev, config);
	if (!r)
		goto err_put_sock;
	r->sock = sock;
	ret = qrep_replica_threads_create(r);
	if (ret)
		goto err_free;
	return r;

err_free:
	qrep_late_free(r);
	kfree(r);
err_put_sock:
	sockfd_put(sock);
	return ERR_PTR(ret);
}

static void qrep_replica_start(struct qrep_replica *r)
{
	qrep_replica_sock_setup(r);
	wake_up_process(r->tx_thread);
	wake_up_process(r->rx_thread);
}

/*
 * Up to date only if nothing says otherwise. A replica is stale when user
 * space says so; when it takes over a failed replica's slot (it comes
 * back from a failure, and what it missed is not tracked yet); when this
 * device has stamped a write it may not have been there for, or sent a
 * read (what the read returned is the device's content, and a version
 * the newcomer holds above it may be a deposed primary's orphan); or
 * when it holds less than the highest version seen so far, so it lacks
 * that write.
 */
static bool qrep_replica_may_be_uptodate(struct qrep_device *dev,
					 const struct qrep_replica_config *config,
					 bool reconnect)
{
	return qrep_joiner_may_be_uptodate(config->stale, reconnect,
					   test_bit(QREP_DEV_WRITTEN, &dev->flags),
					   test_bit(QREP_DEV_READ, &dev->flags),
					   config->max_version,
					   (u64)atomic64_read(&dev->version));
}

/*
 * Before the first I/O, a replica joining with newer data than the
 * others makes them stale: they lack whatever stamped those versions.
 * Once the device has written, its replicas hold what it acknowledged;
 * once it has read, what they returned is the device's content, and the
 * newer data may be a deposed primary's orphan that the newcomer's
 * resync rolls back. Either way a late joiner changes nothing about them.
 */
static void qrep_replicas_demote_behind(struct qrep_device *dev, u64 version)
{
	struct qrep_replica *r;
	unsigned int slot;

	lockdep_assert_held(&dev->slots_mutex);

	if (test_bit(QREP_DEV_WRITTEN, &dev->flags) ||
	    test_bit(QREP_DEV_READ, &dev->flags))
		return;
	for (slot = 0; slot < QREP_MAX_REPLICAS; slot++) {
		r = qrep_slot(dev, slot);
		if (!r || (u64)atomic64_read(&r->max_version) >= version)
			continue;
		qrep_dirty_mark_all(dev, slot);
		spin_lock(&r->state_lock);
		WRITE_ONCE(r->holds_all, false);
		spin_unlock(&r->state_lock);
		qrep_replica_make_stale(r, "a replica joined with newer data (version %llu)",
					version);
	}
}

static void qrep_replica_promote(struct qrep_replica *r)
{
	spin_lock(&r->state_lock);
	if (r->state == QREP_REPLICA_STALE) {
		WRITE_ONCE(r->state, QREP_REPLICA_UPTODATE);
		WRITE_ONCE(r->holds_all, true);
	}
	spin_unlock(&r->state_lock);
}

/*
 * Publishes @r in its slot and starts it. It joins stale and
 * unreconciled; after a grace period, if the device has sent no I/O by
 * then, it is one of the replicas the device starts with: no longer
 * unreconciled (unless it takes a failed replica's slot), and promoted
 * if it may be up to date. A read or a write that looked at the slots
 * before @r was there set QREP_DEV_READ or QREP_DEV_WRITTEN inside its
 * RCU read section, so after the grace period the flags show it; a later
 * one finds @r, stale and unreconciled until this decides. If the
 * device wrote meanwhile, what @r missed is not known: every region is
 * suspect. If it read, what it returned came from the others, and @r's
 * newer versions may be orphans (Documentation/durability.rst, D3):
 * @r lends nothing to reads until its resync has rolled them back.
 */
static void qrep_replica_join(struct qrep_device *dev, struct qrep_replica *r,
			      bool may_be_uptodate, bool reconnect)
{
	lockdep_assert_held(&dev->slots_mutex);

	r->state = QREP_REPLICA_STALE;
	r->unreconciled = true;
	rcu_assign_pointer(dev->replicas[r->id], r);
	qrep_replica_start(r);
	synchronize_rcu();
	if (test_bit(QREP_DEV_WRITTEN, &dev->flags) ||
	    test_bit(QREP_DEV_READ, &dev->flags)) {
		if (may_be_uptodate)
			qrep_dirty_mark_all(dev, r->id);
		return;
	}
	if (!reconnect) {
		spin_lock(&r->state_lock);
		WRITE_ONCE(r->unreconciled, false);
		spin_unlock(&r->state_lock);
	}
	if (!may_be_uptodate)
		return;
	qrep_replica_promote(r);
	clear_bit(QREP_DEV_NO_REPLICAS_SENT, &dev->flags);
}

/*
 * Takes the replicas in @slots out of the device, in the phases described
 * at the top of this file. Each has been failed already.
 */
static void qrep_replicas_retire(struct qrep_device *dev, unsigned long slots)
{
	struct qrep_replica *gone[QREP_MAX_REPLICAS] = {};
	struct qrep_replica *r;
	unsigned int slot;

	lockdep_assert_held(&dev->slots_mutex);

	for_each_set_bit(slot, &slots, QREP_MAX_REPLICAS) {
		gone[slot] = qrep_slot(dev, slot);
		RCU_INIT_POINTER(dev->replicas[slot], NULL);
	}
	synchronize_rcu();
	for (slot = 0; slot < QREP_MAX_REPLICAS; slot++) {
		r = gone[slot];
		if (!r)
			continue;
		wait_for_completion(&r->rx_exited);
		flush_work(&r->failed_work);
		flush_work(&r->stale_work);
		qrep_netlink_notify_replica(dev, r, QREP_EVENT_REPLICA_REMOVED);
		qrep_replica_put(r);
	}
	qrep_quorum_changed(dev);
}

static int qrep_replica_publish(struct qrep_device *dev,
				const struct qrep_replica_config *config,
				struct netlink_ext_ack *extack)
{
	struct qrep_replica *old = qrep_slot(dev, config->id), *r;
	bool may_be_uptodate;
	int ret;

	if (qrep_quorum_mode(dev) && config->id >= dev->config.nr_replicas) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the replica slot is beyond the device's N replicas");
		return -ERANGE;
	}
	if (old && qrep_replica_state(old) != QREP_REPLICA_FAILED) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the replica slot holds a live replica");
		return -EBUSY;
	}
	ret = qrep_dirty_track(dev, config->id);
	if (ret)
		return ret;
	r = qrep_replica_create(dev, config, extack);
	if (IS_ERR(r))
		return PTR_ERR(r);
	/* The old receiver's sweep is done: see the top of this file. */
	if (old)
		qrep_replicas_retire(dev, BIT(config->id));

	/*
	 * A newcomer that may lack something is suspect everywhere: the
	 * slot's bitmap records what its predecessor was not sent, but not
	 * what that store acknowledged and then lost, unflushed, in a power
	 * failure, nor what a replaced or restored store never had. Its
	 * resync compares region summaries, so it still copies only what
	 * differs (Documentation/durability.rst).
	 */
	may_be_uptodate = qrep_replica_may_be_uptodate(dev, config, !!old);
	if (!may_be_uptodate)
		qrep_dirty_mark_all(dev, config->id);
	if (config->max_version > (u64)atomic64_read(&dev->version))
		qrep_replicas_demote_behind(dev, config->max_version);
	qrep_device_seed_version(dev, config->max_version);
	qrep_replica_join(dev, r, may_be_uptodate, !!old);
	qrep_netlink_notify_replica(dev, r, QREP_EVENT_REPLICA_ADDED);
	qrep_quorum_changed(dev);
	return 0;
}

int qrep_replica_add(struct qrep_device *dev,
		     const struct qrep_replica_config *config,
		     struct netlink_ext_ack *extack)
{
	int ret;

	mutex_lock(&dev->slots_mutex);
	ret = qrep_replica_publish(dev, config, extack);
	mutex_unlock(&dev->slots_mutex);
	return ret;
}

int qrep_replica_remove(struct qrep_device *dev, u32 slot,
			struct netlink_ext_ack *extack)
{
	struct qrep_replica *r;
	int ret = 0;

	mutex_lock(&dev->slots_mutex);
	r = qrep_slot(dev, slot);
	if (r) {
		qrep_replica_fail(r, "removed");
		qrep_replicas_retire(dev, BIT(slot));
	} else {
		NL_SET_ERR_MSG_MOD(extack, "no replica in this slot");
		ret = -ENOENT;
	}
	mutex_unlock(&dev->slots_mutex);
	return ret;
}

/*
 * Device teardown and demotion: every replica fails at once, its
 * connection reset, then all retire. When this returns, no request of
 * the device is queued to a sender or waits in a socket, and none is
 * sent again: each sender has exited, having let go of its queue.
 */
void qrep_replicas_remove_all(struct qrep_device *dev, const char *why)
{
	unsigned long slots = 0;
	struct qrep_replica *r;
	unsigned int slot;

	mutex_lock(&dev->slots_mutex);
	for (slot = 0; slot < QREP_MAX_REPLICAS; slot++) {
		r = qrep_slot(dev, slot);
		if (!r)
			continue;
		qrep_replica_fail_how(r, QREP_FAIL_ABORT, 0, "%s", why);
		__set_bit(slot, &slots);
	}
	qrep_replicas_retire(dev, slots);
	mutex_unlock(&dev->slots_mutex);
}
