// SPDX-License-Identifier: GPL-2.0
/*
 * Running one request against the store, and sending its reply.
 *
 * The epoch rule (fencing): a request whose epoch is older than the
 * store's is refused with QREP_ERR_EPOCH and touches nothing. A request
 * with a newer epoch first raises the store's epoch, durably, just as a
 * hello would: whoever speaks with a newer epoch fences the older ones at
 * once. Both happen under fence_lock (see target.h).
 *
 * EPOCH_PROPOSE is the exception: the election's proposal is not fenced
 * by the epoch it proposes, and never raises the epoch as a side effect.
 * It raises it, or is refused, as one step under fence_lock held for
 * writing (run_epoch_propose).
 *
 * FLUSH: its reply says that every request that arrived before it on the
 * same connection has been run, answered, and made durable. The
 * connection's requests run side by side on the workers, so a FLUSH
 * first waits until each one before it has been answered
 * (qrep_target_req_wait_earlier), then syncs the store. Without the wait,
 * a FLUSH could be answered while a WRITE sent before it was still being
 * applied: the client would count that replica as holding the WRITE
 * durably when it does not (Documentation/durability.rst, scenario 4).
 * Its reply also comes after theirs on the stream, so a client has taken
 * in every earlier answer, an error included, before it sees the FLUSH's.
 * Requests that arrive after the FLUSH are not held back.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/qrep_data.h>

#include "bytes.h"
#include "log.h"
#include "target.h"

int qrep_target_raise_epoch(struct qrep_target *t, uint64_t epoch)
{
	int err;

	pthread_rwlock_wrlock(&t->fence_lock);
	err = qrep_store_set_epoch(t->store, epoch);
	pthread_rwlock_unlock(&t->fence_lock);
	if (err)
		qrep_err("cannot persist epoch %llu: %s",
			 (unsigned long long)epoch, strerror(-err));
	else
		qrep_info("epoch is now %llu",
			  (unsigned long long)qrep_store_epoch(t->store));
	return err;
}

/*
 * Takes fence_lock for reading with the request's epoch admitted, raising
 * the store's epoch first if the request's is newer. Returns QREP_OK with
 * the lock held, or an error status without it.
 */
static enum qrep_status fence_enter(struct qrep_target *t, uint64_t epoch)
{
	for (;;) {
		pthread_rwlock_rdlock(&t->fence_lock);
		switch (qrep_epoch_request(epoch, qrep_store_epoch(t->store))) {
		case QREP_EPOCH_ADMIT:
			return QREP_OK;
		case QREP_EPOCH_FENCED:
		case QREP_EPOCH_JOINING:
			pthread_rwlock_unlock(&t->fence_lock);
			return QREP_ERR_EPOCH;
		case QREP_EPOCH_RAISE:
			break;
		}
		pthread_rwlock_unlock(&t->fence_lock);
		if (qrep_target_raise_epoch(t, epoch))
			return QREP_ERR_IO;
	}
}

/*
 * EPOCH_PROPOSE: accepted only if this very request raises the store's
 * epoch, durably, from below the proposal to exactly it. The comparison
 * and the raise happen under fence_lock held for writing, which every
 * other raise (a hello, a request of a newer epoch, another proposal)
 * also takes: so of two proposals of one epoch exactly one is accepted,
 * and once the reply says so, no request of an older epoch is still
 * being applied. The reply carries the store's epoch afterwards, either
 * way, so a refused proposer learns what to outbid.
 */
static enum qrep_status run_epoch_propose(struct qrep_target *t,
					  struct qrep_target_req *r)
{
	uint64_t proposed = r->msg.epoch, held;
	enum qrep_status st = QREP_ERR_EPOCH;
	int err;

	pthread_rwlock_wrlock(&t->fence_lock);
	held = qrep_store_epoch(t->store);
	if (qrep_epoch_proposal_accepted(proposed, held)) {
		err = qrep_store_set_epoch(t->store, proposed);
		st = err ? QREP_ERR_IO : QREP_OK;
	}
	held = qrep_store_epoch(t->store);
	pthread_rwlock_unlock(&t->fence_lock);

	if (st == QREP_ERR_IO) {
		qrep_err("%s: EPOCH_PROPOSE %llu: cannot persist it",
			 r->conn->peer, (unsigned long long)proposed);
		return st;
	}
	if (st == QREP_OK)
		qrep_info("%s: epoch %llu proposed and accepted",
			  r->conn->peer, (unsigned long long)proposed);
	else
		qrep_info("%s: epoch %llu proposed, refused: the store holds "
			  "epoch %llu", r->conn->peer,
			  (unsigned long long)proposed,
			  (unsigned long long)held);
	qrep_put_be64(r->meta_wire, held);
	r->meta_len = sizeof(uint64_t);
	return st;
}

static enum qrep_status status_of(int err)
{
	return err == -ERANGE ? QREP_ERR_RANGE :
	       err == -EINVAL ? QREP_ERR_INVAL : QREP_ERR_IO;
}

/* The reply carries r->versions, big-endian, before anything else. */
static enum qrep_status reply_versions(struct qrep_target_req *r)
{
	uint32_t i;

	for (i = 0; i < r->msg.nblocks; i++)
		qrep_put_be64(r->meta_wire + i * sizeof(uint64_t),
			      r->versions[i]);
	r->meta_len = (size_t)r->msg.nblocks * sizeof(uint64_t);
	return QREP_OK;
}

static enum qrep_status run_read(struct qrep_target *t,
				 struct qrep_target_req *r)
{
	const struct qrep_req_msg *m = &r->msg;
	uint32_t i;
	int ret;

	ret = qrep_store_read(t->store, m->block, m->nblocks, r->data,
			      r->versions, r->crc_bad);
	if (ret < 0) {
		qrep_err("%s: READ %llu+%u: %s", r->conn->peer,
			 (unsigned long long)m->block, m->nblocks,
			 strerror(-ret));
		return status_of(ret);
	}
	if (ret > 0) {
		for (i = 0; i < m->nblocks; i++)
			if (r->crc_bad[i])
				qrep_err("%s: READ: block %llu (version %llu) "
					 "fails its checksum", r->conn->peer,
					 (unsigned long long)(m->block + i),
					 (unsigned long long)r->versions[i]);
		qrep_stat_add(&t->stats.checksum_errors, (uint64_t)ret);
		return QREP_ERR_CHECKSUM;
	}
	return reply_versions(r);
}

/* VERSIONS: the blocks' metadata only; no data is read. */
static enum qrep_status run_versions(struct qrep_target *t,
				     struct qrep_target_req *r)
{
	const struct qrep_req_msg *m = &r->msg;
	int err;

	err = qrep_store_read_meta(t->store, m->block, m->nblocks,
				   r->versions, NULL);
	if (err) {
		qrep_err("%s: VERSIONS %llu+%u: %s", r->conn->peer,
			 (unsigned long long)m->block, m->nblocks,
			 strerror(-err));
		return status_of(err);
	}
	return reply_versions(r);
}

/* SUMMARY: one hash of versions per region (see qrep_proto.h). */
static enum qrep_status run_summary(struct qrep_target *t,
				    struct qrep_target_req *r)
{
	const struct qrep_req_msg *m = &r->msg;
	uint64_t summary;
	uint32_t i;
	int err;

	for (i = 0; i < m->nblocks; i++) {
		err = qrep_store_region_summary(t->store, m->block +
						(uint64_t)i * QREP_REGION_BLOCKS,
						&summary);
		if (err) {
			qrep_err("%s: SUMMARY of region %llu: %s",
				 r->conn->peer,
				 (unsigned long long)(m->block >>
						      QREP_REGION_SHIFT) + i,
				 strerror(-err));
			return status_of(err);
		}
		qrep_put_be64(r->meta_wire + i * sizeof(uint64_t), summary);
	}
	r->meta_len = (size_t)m->nblocks * sizeof(uint64_t);
	return QREP_OK;
}

/*
 * CHECKSUMS: reads the data and says, block by block, whether it still
 * matches its recorded checksum. A mismatch is the answer here, not an
 * error: verify wants to know where the bad copies are.
 */
static enum qrep_status run_checksums(struct qrep_target *t,
				      struct qrep_target_req *r)
{
	const struct qrep_req_msg *m = &r->msg;
	uint8_t *e;
	uint32_t i;
	int ret;

	ret = qrep_store_read_checked(t->store, m->block, m->nblocks, r->data,
				      r->versions, r->crcs, r->crc_bad);
	if (ret < 0) {
		qrep_err("%s: CHECKSUMS %llu+%u: %s", r->conn->peer,
			 (unsigned long long)m->block, m->nblocks,
			 strerror(-ret));
		return status_of(ret);
	}
	if (ret > 0)
		qrep_stat_add(&t->stats.checksum_errors, (uint64_t)ret);
	for (i = 0; i < m->nblocks; i++) {
		e = r->meta_wire + (size_t)i * QREP_BLOCK_CHECK_SIZE;
		qrep_put_be64(e, r->versions[i]);
		qrep_put_be32(e + 8, r->versions[i] ? r->crcs[i] : 0);
		qrep_put_be32(e + 12, r->crc_bad[i] ? QREP_CHECK_BAD : 0);
	}
	r->meta_len = (size_t)m->nblocks * QREP_BLOCK_CHECK_SIZE;
	return QREP_OK;
}

static enum qrep_status run_write(struct qrep_target *t,
				  struct qrep_target_req *r,
				  uint32_t *reply_flags)
{
	const struct qrep_req_msg *m = &r->msg;
	unsigned int flags = 0;
	uint32_t ignored = 0;
	int err;

	if (m->flags & QREP_REQ_FUA)
		flags |= QREP_STORE_FUA;
	if (m->flags & QREP_REQ_REPAIR)
		flags |= QREP_STORE_REPAIR;
	if (m->flags & QREP_REQ_ROLLBACK)
		flags |= QREP_STORE_ROLLBACK;
	err = qrep_store_write(t->store, m->block, m->nblocks, r->data,
			       m->version, flags, &ignored);
	if (err) {
		qrep_err("%s: WRITE %llu+%u v%llu: %s", r->conn->peer,
			 (unsigned long long)m->block, m->nblocks,
			 (unsigned long long)m->version, strerror(-err));
		return status_of(err);
	}
	if (ignored) {
		*reply_flags |= QREP_REPLY_OLDER_IGNORED;
		qrep_stat_add(&t->stats.write_blocks_ignored, ignored);
	}
	return QREP_OK;
}

static enum qrep_status run_flush(struct qrep_target *t,
				  struct qrep_target_req *r)
{
	int err = qrep_store_flush(t->store);

	if (err) {
		qrep_err("%s: FLUSH: %s", r->conn->peer, strerror(-err));
		return QREP_ERR_IO;
	}
	return QREP_OK;
}

void qrep_target_req_run(struct qrep_target *t, struct qrep_target_req *r)
{
	const struct qrep_req_msg *m = &r->msg;
	struct qrep_reply_msg reply = {
		.magic = QREP_REPLY_MAGIC,
		.handle = m->handle,
	};
	enum qrep_status st = r->status;
	size_t data_len = 0;

	r->meta_len = 0;
	/* Before the fence: the requests it waits for take it too. */
	if (st == QREP_OK && m->op == QREP_OP_FLUSH)
		qrep_target_req_wait_earlier(t, r);
	if (st == QREP_OK && m->op == QREP_OP_EPOCH_PROPOSE) {
		st = run_epoch_propose(t, r);
	} else if (st == QREP_OK) {
		st = fence_enter(t, m->epoch);
		if (st == QREP_OK) {
			switch (m->op) {
			case QREP_OP_READ:
				st = run_read(t, r);
				break;
			case QREP_OP_WRITE:
				/*
				 * A zero version means "never written": only a
				 * rollback may restore it (qrep_write_applies).
				 */
				st = m->version || (m->flags & QREP_REQ_ROLLBACK) ?
				     run_write(t, r, &reply.flags) :
				     QREP_ERR_INVAL;
				break;
			case QREP_OP_VERSIONS:
				st = run_versions(t, r);
				break;
			case QREP_OP_SUMMARY:
				st = run_summary(t, r);
				break;
			case QREP_OP_CHECKSUMS:
				st = run_checksums(t, r);
				break;
			default:
				st = run_flush(t, r);
				break;
			}
			pthread_rwlock_unlock(&t->fence_lock);
		}
	}
	reply.status = st;
	reply.epoch = qrep_store_epoch(t->store);
	if (st == QREP_OK && r->meta_len)
		reply.nblocks = m->nblocks;
	if (st == QREP_OK && m->op == QREP_OP_READ)
		data_len = (size_t)m->nblocks * QREP_BLOCK_SIZE;
	/*
	 * A proposal's reply carries the epoch, accepted or refused; the
	 * header says the same epoch, even if another raise came since.
	 */
	if (m->op == QREP_OP_EPOCH_PROPOSE && r->meta_len) {
		reply.nblocks = QREP_EPOCH_PROPOSE_REPLY_ENTRIES;
		reply.epoch = qrep_get_be64(r->meta_wire);
	}
	if (st != QREP_OK) {
		if (!reply.nblocks)
			r->meta_len = 0;
		qrep_stat_add(&t->stats.errors[qrep_stats_kind(m->op)], 1);
	}
	qrep_target_send_reply(r->conn, &reply, r->meta_wire, r->meta_len,
			       r->data, data_len, qrep_stats_kind(m->op));
}

/*
 * Sends one reply (header, then what the op returns: meta, and for a READ
 * the data) with a single writev under the connection's send lock, and
 * counts its bytes under stats kind. A failed send marks the connection
 * dead and shuts the socket down, which also ends its reader; later
 * replies on it are dropped.
 */
int qrep_target_send_reply(struct qrep_target_conn *c,
			   const struct qrep_reply_msg *m,
			   const void *meta, size_t meta_len,
			   const void *data, size_t data_len,
			   unsigned int kind)
{
	struct qrep_target_stats *stats = &c->t->stats;
	uint8_t hdr[QREP_REPLY_SIZE];
	struct iovec iov[3];
	size_t total;
	int iovcnt = 1, err;

	qrep_reply_encode(m, hdr);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	if (meta_len) {
		iov[iovcnt].iov_base = (void *)meta;
		iov[iovcnt++].iov_len = meta_len;
	}
	if (data_len) {
		iov[iovcnt].iov_base = (void *)data;
		iov[iovcnt++].iov_len = data_len;
	}
	total = sizeof(hdr) + meta_len + data_len;

	pthread_mutex_lock(&c->send_mutex);
	if (atomic_load(&c->dead)) {
		pthread_mutex_unlock(&c->send_mutex);
		return -EPIPE;
	}
	err = qrep_writev_full(c->fd, iov, iovcnt);
	if (err) {
		atomic_store(&c->dead, true);
		shutdown(c->fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&c->send_mutex);

	if (err) {
		qrep_info("%s: connection lost sending a reply: %s", c->peer,
			  strerror(-err));
		return err;
	}
	qrep_stat_add(&stats->bytes_sent[kind], total);
	qrep_stat_add(&stats->bytes_sent_total, total);
	return 0;
}
