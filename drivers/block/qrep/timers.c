// SPDX-License-Identifier: GPL-2.0
/*
 * Timeouts. Failure detection needs them (no purely asynchronous
 * algorithm can tell a slow replica from a dead one); each is a named
 * setting, and this is the list:
 *
 *  - io_timeout (QREP_A_DEV_IO_TIMEOUT_MS at create, default
 *    QREP_DEFAULT_IO_TIMEOUT_MS = 30 s). How long a replica may hold a
 *    request it was sent without giving any sign of life. The clock of
 *    a replica starts when its sender has written the request to the
 *    socket, not when blk-mq dispatched it: a request waiting in a
 *    replica's transmit queue behind a deep backlog on a slow link is
 *    not that replica's fault. And every reply the replica sends, to
 *    any request, restarts it: a replica working through a backlog
 *    answers all the time. So the blk-mq request timer (set to
 *    io_timeout) is only a reminder to look (qrep_io_timed_out): a
 *    replica that has had the request, sent, for io_timeout and sent no
 *    reply at all meanwhile is failed, and I/O goes on with the others;
 *    the timer is re-armed for the moment the next replica holding the
 *    request would reach its io_timeout. The failed replicas' receivers
 *    then sweep their requests, so the request completes moments later:
 *    with another replica's data (a READ is re-driven), without the
 *    failed one (WRITE, FLUSH), or, if none is left, with an I/O error.
 *    A replica that stops answering altogether is failed io_timeout
 *    after its last reply or the send of the request, whichever came
 *    later. The limit: a target that goes on answering other requests
 *    but never one is not failed by this timer.
 *  - The send timeout of every replica socket, also io_timeout: a
 *    sender blocked that long on a full socket fails its replica. That
 *    is what watches a request not yet sent: its sender either makes
 *    progress or fails the replica within io_timeout.
 *  - In quorum mode, a replica that owes a late reply (quorum.c) is
 *    failed by the same rule, its clock starting when the request
 *    completed without it.
 *
 * Nothing else in the data path waits on the network without a bound:
 * a receiver may wait for a reply for ever, but only while no request
 * is waiting for it (an idle replica), and every request has a timer.
 */
#include <linux/blk-mq.h>
#include <linux/bitops.h>

#include "device.h"
#include "replica.h"
#include "request.h"

/*
 * Takes a reference on each replica that still holds @io: its reply is
 * pending, or its sender has not finished with it. The slot is read
 * before the masks: a replica that took over a slot was published only
 * after its predecessor's receiver had cleared that slot's bits, so a
 * bit seen after the new replica belongs to the new replica.
 */
static unsigned long qrep_io_get_holders(struct qrep_device *dev,
					 struct qrep_io *io,
					 struct qrep_replica **holders,
					 unsigned long *unsent)
{
	unsigned long mask, found = 0;
	struct qrep_replica *r;
	unsigned int slot;

	rcu_read_lock();
	for (slot = 0; slot < QREP_MAX_REPLICAS; slot++) {
		r = rcu_dereference(dev->replicas[slot]);
		if (!r)
			continue;
		smp_rmb();	/* pairs with rcu_assign_pointer() in replica.c */
		mask = READ_ONCE(io->pending) | READ_ONCE(io->queued);
		if (!test_bit(slot, &mask))
			continue;
		qrep_replica_get(r);
		holders[slot] = r;
		__set_bit(slot, &found);
	}
	rcu_read_unlock();
	*unsent = READ_ONCE(io->queued) & found;
	return found;
}

/*
 * Whether @r has had @io, sent, for @timeout with no reply to anything
 * meanwhile (see the top); if not, *@left is lowered to the time until
 * it would have.
 */
bool qrep_replica_silent(struct qrep_replica *r, unsigned long since,
			 unsigned long timeout, unsigned long *left)
{
	unsigned long reply = READ_ONCE(r->last_reply);
	unsigned long now = jiffies;

	if (time_after(reply, since))
		since = reply;
	if (time_after(since, now))
		since = now;
	if (now - since >= timeout)
		return true;
	*left = min(*left, timeout - (now - since));
	return false;
}

enum blk_eh_timer_return qrep_io_timed_out(struct request *rq)
{
	struct qrep_device *dev = rq->q->queuedata;
	struct qrep_io *io = blk_mq_rq_to_pdu(rq);
	unsigned long timeout = msecs_to_jiffies(dev->config.io_timeout_ms);
	struct qrep_replica *holders[QREP_MAX_REPLICAS];
	unsigned long found, unsent, left = timeout;
	unsigned int slot;

	found = qrep_io_get_holders(dev, io, holders, &unsent);
	/* The queued bits before the send times: pairs with send.c. */
	smp_rmb();
	for_each_set_bit(slot, &found, QREP_MAX_REPLICAS) {
		/* Not yet sent: the send timeout watches its sender. */
		if (!test_bit(slot, &unsent) &&
		    qrep_replica_silent(holders[slot],
					READ_ONCE(io->sent_at[slot]), timeout,
					&left))
			qrep_replica_fail(holders[slot],
					  "no reply within the I/O timeout (%u ms)",
					  dev->config.io_timeout_ms);
		qrep_replica_put(holders[slot]);
	}
	/*
	 * The failed replicas' receivers complete the request; the others
	 * are looked at again when the first of them would reach its
	 * timeout. queue_rq sets the full timeout again for a new dispatch.
	 */
	rq->timeout = max(left, 1UL);
	return BLK_EH_RESET_TIMER;
}
