// SPDX-License-Identifier: GPL-2.0
/*
 * Timeouts. Failure detection needs them (no purely asynchronous
 * algorithm can tell a slow replica from a dead one); each is a named
 * setting, and this is the list:
 *
 *  - io_timeout (QREP_A_DEV_IO_TIMEOUT_MS at create, default
 *    QREP_DEFAULT_IO_TIMEOUT_MS = 30 s). The blk-mq request timeout.
 *    When a request has waited this long, every replica it still waits
 *    for is failed (qrep_io_timed_out): a replica that stops answering
 *    is dropped after io_timeout, and I/O goes on with the others. The
 *    failed replicas' receivers then sweep their requests, so the
 *    timed-out request completes moments later: with another replica's
 *    data (a READ is re-driven), without the failed one (WRITE, FLUSH),
 *    or, if none is left, with an I/O error. No request waits much
 *    longer than io_timeout plus the time to re-drive it.
 *  - The send timeout of every replica socket, also io_timeout: a
 *    sender blocked that long on a full socket fails its replica even
 *    before the request timeout notices.
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

enum blk_eh_timer_return qrep_io_timed_out(struct request *rq)
{
	struct qrep_device *dev = rq->q->queuedata;
	struct qrep_replica *holders[QREP_MAX_REPLICAS];
	unsigned long found, unsent;
	unsigned int slot;

	found = qrep_io_get_holders(dev, blk_mq_rq_to_pdu(rq), holders,
				    &unsent);
	for_each_set_bit(slot, &found, QREP_MAX_REPLICAS) {
		qrep_replica_fail(holders[slot],
				  "%s within the I/O timeout (%u ms)",
				  test_bit(slot, &unsent) ?
				  "request not sent" : "no reply",
				  dev->config.io_timeout_ms);
		qrep_replica_put(holders[slot]);
	}
	/* The failed replicas' receivers complete the request. */
	return BLK_EH_RESET_TIMER;
}
