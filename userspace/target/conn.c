// SPDX-License-Identifier: GPL-2.0
/*
 * One client connection: its lifetime, the handshake, and the reader that
 * turns the byte stream into requests, which it runs itself or queues
 * for the workers (conn_run_here).
 *
 * Whatever the client does (closes, resets, stalls, sends garbage) ends
 * at most this connection: the reader stops, queued requests still run
 * and answer if they can, and the last reference closes the socket. A
 * WRITE whose data did not arrive in full is never run, so the store
 * only ever sees complete writes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/qrep_data.h>

#include "handshake.h"
#include "log.h"
#include "uuid.h"
#include "target.h"

void qrep_target_conn_get(struct qrep_target_conn *c)
{
	atomic_fetch_add(&c->refs, 1);
}

void qrep_target_conn_put(struct qrep_target_conn *c)
{
	struct qrep_target *t = c->t;

	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	/*
	 * Once the connection is unlinked, qrep_target_conns_wait_idle()
	 * may return and the target be freed: touch t only before that.
	 */
	atomic_fetch_sub(&t->stats.connections_active, 1);
	pthread_mutex_lock(&t->conns_mutex);
	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	t->nconns--;
	pthread_cond_broadcast(&t->conns_cond);
	pthread_mutex_unlock(&t->conns_mutex);

	qrep_info("%s: connection %llu closed", c->peer,
		  (unsigned long long)c->id);
	close(c->fd);
	pthread_mutex_destroy(&c->send_mutex);
	free(c);
}

static void count_rx(struct qrep_target *t, unsigned int kind, uint64_t n)
{
	qrep_stat_add(&t->stats.bytes_received[kind], n);
	qrep_stat_add(&t->stats.bytes_received_total, n);
}

/* Checks a decoded hello against the store; returns the reply status. */
static enum qrep_status hello_verdict(struct qrep_target *t,
				      const struct qrep_hello_msg *h,
				      const char **why)
{
	enum qrep_status st = qrep_hello_check(h, why);

	if (st != QREP_OK)
		return st;
	if (memcmp(h->uuid, t->info->uuid, QREP_UUID_SIZE)) {
		*why = "device UUID differs from the store's";
		return QREP_ERR_UUID;
	}
	if (h->size != t->info->size) {
		*why = "device size differs from the store's";
		return QREP_ERR_SIZE;
	}
	/*
	 * A store that failed an fdatasync may have lost writes it
	 * acknowledged, and its page cache may still show them: it serves
	 * no one until the target restarts and reopens it from the disk.
	 */
	if (qrep_store_failed(t->store)) {
		*why = "the store failed (fdatasync error): restart the target once its disk works";
		return QREP_ERR_IO;
	}
	/*
	 * A joining store has not learned the epoch the others hold: any
	 * epoch it accepted, or any proposal, could be one a write quorum
	 * already holds. It serves nobody until qrep-target join.
	 *
	 * Epoch 0 claims nothing: the client only learns the store's epoch
	 * and max_version from the reply, and its requests are fenced one by
	 * one. A client from an older epoch is fenced at the door; the reply
	 * still tells it the store's epoch and max_version.
	 */
	switch (qrep_epoch_hello(h->epoch, qrep_store_epoch(t->store),
				 qrep_store_joining(t->store))) {
	case QREP_EPOCH_JOINING:
		*why = "the store is joining: run 'qrep-target join' before "
		       "serving it";
		return QREP_ERR_JOINING;
	case QREP_EPOCH_FENCED:
		*why = "client epoch older than the store's (fenced)";
		return QREP_ERR_EPOCH;
	case QREP_EPOCH_RAISE:
		if (qrep_target_raise_epoch(t, h->epoch)) {
			*why = "cannot persist the new epoch";
			return QREP_ERR_IO;
		}
		break;
	case QREP_EPOCH_ADMIT:
		break;
	}
	return QREP_OK;
}

/* Sends handshake bytes, counting them; 0 or -errno. */
static int conn_send_hs(struct qrep_target *t, struct qrep_target_conn *c,
			const uint8_t *buf, size_t len)
{
	int err;

	pthread_mutex_lock(&c->send_mutex);
	err = qrep_write_full(c->fd, buf, len);
	pthread_mutex_unlock(&c->send_mutex);
	if (!err) {
		qrep_stat_add(&t->stats.bytes_sent[QREP_STATS_HELLO], len);
		qrep_stat_add(&t->stats.bytes_sent_total, len);
	}
	return err;
}

/* Reads one handshake message; false (logged) if it did not all come. */
static bool conn_read_hs(struct qrep_target *t, struct qrep_target_conn *c,
			 uint8_t *buf, size_t len, const char *what)
{
	ssize_t n = qrep_read_full(c->fd, buf, len);

	if (n == (ssize_t)len) {
		count_rx(t, QREP_STATS_HELLO, len);
		return true;
	}
	qrep_info("%s: no %s: %s", c->peer, what,
		  n == -EAGAIN ? "timed out" : n == -EPIPE || n == 0 ?
		  "closed part way" : strerror((int)-n));
	return false;
}

/*
 * The handshake (lib/handshake.h): the hello, the challenge-response if
 * this target has a secret, then the store's own checks and the reply,
 * followed by the target's proof to an authenticated client.
 */
static bool conn_handshake(struct qrep_target *t, struct qrep_target_conn *c)
{
	struct qrep_hello_reply_msg rep = {
		.magic = QREP_HELLO_MAGIC,
		.proto_version = QREP_PROTO_VERSION,
		.block_size = QREP_BLOCK_SIZE,
	};
	uint8_t in[QREP_AUTH_RESPONSE_SIZE];
	uint8_t out[QREP_HELLO_REPLY_SIZE + QREP_AUTH_PROOF_SIZE];
	char theirs[QREP_UUID_STR_LEN + 1];
	enum qrep_hs_target_state state;
	struct qrep_hs_target hs;
	const char *why = "";
	uint32_t st;		/* enum qrep_status, or QREP_ERR_AUTH */
	size_t len;
	ssize_t n;
	int err, proof;

	_Static_assert(QREP_AUTH_RESPONSE_SIZE >= QREP_HELLO_SIZE, "buffer");
	_Static_assert(QREP_HELLO_REPLY_SIZE >= QREP_AUTH_CHALLENGE_SIZE,
		       "buffer");
	qrep_hs_target_init(&hs, t->secret);
	n = qrep_read_full(c->fd, in, QREP_HELLO_SIZE);
	if (n == 0) {
		/* Connected and left: a liveness probe, not a handshake. */
		qrep_dbg("%s: closed before a hello", c->peer);
		return false;
	}
	qrep_stat_add(&t->stats.requests[QREP_STATS_HELLO], 1);
	if (n != QREP_HELLO_SIZE) {
		qrep_info("%s: no hello: %s", c->peer,
			  n == -EAGAIN ? "timed out" : n == -EPIPE ?
			  "closed part way" : strerror((int)-n));
		goto fail;
	}
	count_rx(t, QREP_STATS_HELLO, QREP_HELLO_SIZE);

	state = qrep_hs_target_hello(&hs, in, out, &why);
	if (state == QREP_HST_WAIT_RESPONSE) {
		err = conn_send_hs(t, c, out, QREP_AUTH_CHALLENGE_SIZE);
		if (err) {
			qrep_info("%s: challenge not sent: %s", c->peer,
				  strerror(-err));
			goto fail;
		}
		if (!conn_read_hs(t, c, in, QREP_AUTH_RESPONSE_SIZE,
				  "authentication response"))
			goto fail;
		state = qrep_hs_target_response(&hs, in, &why);
	}
	/* Only now, authenticated (or with no secret), act on the hello. */
	st = state == QREP_HST_VERDICT ?
	     hello_verdict(t, &hs.hello_msg, &why) : hs.status;
	if (qrep_hs_target_may_describe(&hs)) {
		/* After any epoch raise: covers every older epoch's write. */
		err = qrep_store_max_version(t->store, &rep.max_version);
		if (err && st == QREP_OK) {
			st = QREP_ERR_IO;
			why = "cannot determine max_version";
		}
		rep.epoch = qrep_store_epoch(t->store);
		rep.size = t->info->size;
		memcpy(rep.uuid, t->info->uuid, QREP_UUID_SIZE);
	}
	rep.status = st;
	qrep_hello_reply_encode(&rep, out);
	len = QREP_HELLO_REPLY_SIZE;
	proof = qrep_hs_target_proof(&hs, out, out + len);
	if (proof > 0)
		len += QREP_AUTH_PROOF_SIZE;
	if (proof < 0) {
		qrep_err("%s: cannot compute the proof: %s", c->peer,
			 strerror(-proof));
		goto fail;
	}
	err = conn_send_hs(t, c, out, len);

	if (hs.auth_refused) {
		qrep_warn("%s: authentication refused: %s", c->peer, why);
		qrep_stat_add(&t->stats.auth_failed, 1);
		goto fail;
	}
	if (st != QREP_OK) {
		qrep_uuid_format(hs.hello_msg.uuid, theirs);
		qrep_warn("%s: handshake refused: %s (client device %s, "
			  "%llu bytes, epoch %llu)", c->peer, why, theirs,
			  (unsigned long long)hs.hello_msg.size,
			  (unsigned long long)hs.hello_msg.epoch);
		goto fail;
	}
	if (err) {
		qrep_info("%s: hello reply not sent: %s", c->peer,
			  strerror(-err));
		goto fail;
	}
	qrep_info("%s: connection %llu ready%s (client epoch %llu, store "
		  "epoch %llu, max_version %llu)", c->peer,
		  (unsigned long long)c->id,
		  hs.authenticated ? ", authenticated" : "",
		  (unsigned long long)hs.hello_msg.epoch,
		  (unsigned long long)rep.epoch,
		  (unsigned long long)rep.max_version);
	return true;

fail:
	qrep_stat_add(&t->stats.errors[QREP_STATS_HELLO], 1);
	qrep_stat_add(&t->stats.handshakes_failed, 1);
	return false;
}

/*
 * The stream cannot be trusted to resynchronise after a malformed header,
 * so the reader stops. The client gets QREP_ERR_INVAL for that handle
 * (best effort) and then the connection closes.
 */
static void conn_malformed(struct qrep_target *t, struct qrep_target_conn *c,
			   const struct qrep_req_msg *m, const char *why)
{
	struct qrep_reply_msg rep = {
		.magic = QREP_REPLY_MAGIC,
		.status = QREP_ERR_INVAL,
		.handle = m->handle,
		.epoch = qrep_store_epoch(t->store),
	};

	qrep_stat_add(&t->stats.malformed, 1);
	qrep_err("%s: malformed request: %s (magic %#x op %u flags %#x "
		 "nblocks %u reserved %#x); closing the connection", c->peer,
		 why, m->magic, m->op, m->flags, m->nblocks, m->reserved);
	qrep_target_send_reply(c, &rep, NULL, 0, NULL, 0,
			       qrep_stats_kind(m->op));
}

/*
 * Whether the reader runs r itself, instead of handing it to a worker.
 * Each hand-off costs a wake-up and two context switches, which is most
 * of what a small request costs on a busy CPU; but a request the reader
 * runs holds up the connection's next ones, so only:
 *
 *  - when no other request of the connection is in progress: then the
 *    connection's requests still run, and are answered, in the order
 *    they came, and nothing already queued waits behind the reader;
 *  - a WRITE without FUA of at most QREP_TARGET_RUN_HERE_MAX_BLOCKS
 *    (it goes to the page cache; the durable ones, FUA writes and
 *    FLUSHes, wait for the disk and may share one fdatasync with
 *    others, so they go to the workers; a large one is worth the
 *    hand-off, which lets the reader take in the next one meanwhile);
 *  - a request refused before it reaches the store;
 *  - any other op that reads the store, when nothing more has arrived
 *    behind it: with requests waiting, reads from a disk are better
 *    spread over the workers. EPOCH_PROPOSE always goes to them.
 */
static bool conn_run_here(struct qrep_target *t, struct qrep_target_conn *c,
			  const struct qrep_target_req *r)
{
	bool alone;
	int pending;

	pthread_mutex_lock(&t->pool_mutex);
	alone = c->inflight == 1;
	pthread_mutex_unlock(&t->pool_mutex);
	if (!alone)
		return false;
	if (r->status != QREP_OK)
		return true;
	switch (r->msg.op) {
	case QREP_OP_WRITE:
		return !(r->msg.flags & QREP_REQ_FUA) &&
		       r->msg.nblocks <= QREP_TARGET_RUN_HERE_MAX_BLOCKS;
	case QREP_OP_FLUSH:
	case QREP_OP_EPOCH_PROPOSE:
		return false;
	default:
		return !ioctl(c->fd, FIONREAD, &pending) && !pending;
	}
}

/*
 * Reads requests and runs or queues them until the stream ends, goes
 * wrong, or the target stops. Only complete, well-formed requests are
 * run.
 */
static void conn_read_requests(struct qrep_target *t,
			       struct qrep_target_conn *c)
{
	uint8_t hdr[QREP_REQ_SIZE];
	struct qrep_target_req *r;
	unsigned int kind;
	const char *why;
	uint64_t payload;
	ssize_t n;

	while ((r = qrep_target_req_get(t, c))) {
		n = qrep_read_full(c->fd, hdr, sizeof(hdr));
		if (n != (ssize_t)sizeof(hdr)) {
			if (n == 0)
				qrep_dbg("%s: end of stream", c->peer);
			else
				qrep_info("%s: request header lost: %s",
					  c->peer, n == -EPIPE ?
					  "closed part way" :
					  strerror((int)-n));
			break;
		}
		qrep_stat_add(&t->stats.bytes_received_total, sizeof(hdr));
		qrep_req_decode(hdr, &r->msg);
		r->status = qrep_req_check(&r->msg, t->info->nblocks, &why);
		if (r->status == QREP_ERR_INVAL) {
			conn_malformed(t, c, &r->msg, why);
			break;
		}

		kind = qrep_stats_kind(r->msg.op);
		qrep_stat_add(&t->stats.requests[kind], 1);
		qrep_stat_add(&t->stats.bytes_received[kind], sizeof(hdr));
		payload = qrep_req_payload_bytes(&r->msg);
		if (payload) {
			n = qrep_read_full(c->fd, r->data, payload);
			if (n != (ssize_t)payload) {
				qrep_info("%s: WRITE data lost (%s); nothing "
					  "of it applied", c->peer,
					  n == -EPIPE || n == 0 ?
					  "closed part way" :
					  strerror((int)-n));
				break;
			}
			count_rx(t, kind, payload);
		}
		if (r->status == QREP_OK)
			qrep_stat_add(&t->stats.blocks[kind], r->msg.nblocks);
		else
			qrep_warn("%s: %s %llu+%u: %s", c->peer,
				  qrep_op_str(r->msg.op),
				  (unsigned long long)r->msg.block,
				  r->msg.nblocks, why);
		if (conn_run_here(t, c, r)) {
			/* The reader's own reference covers the reply. */
			qrep_target_req_run(t, r);
			qrep_target_req_put(t, r);
		} else {
			qrep_target_req_queue(t, r);
		}
	}
	if (r)
		qrep_target_req_put(t, r);
}

static void *conn_reader_thread(void *arg)
{
	struct qrep_target_conn *c = arg;
	struct qrep_target *t = c->t;

	if (conn_handshake(t, c)) {
		/* Idle primaries are normal: only keepalive bounds a read. */
		qrep_sock_set_timeouts(c->fd, QREP_TARGET_SEND_TIMEOUT_MS, 0);
		conn_read_requests(t, c);
	}
	qrep_target_conn_put(c);
	return NULL;
}

/*
 * Registers a connection on fd (taken over: closed on failure) holding
 * the reader's reference, and sets its socket options.
 */
static int conn_add(struct qrep_target *t, int fd,
		    struct qrep_target_conn **out)
{
	struct qrep_target_conn *c;

	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->t = t;
	c->fd = fd;
	atomic_init(&c->refs, 1);		/* the reader's */
	pthread_mutex_init(&c->send_mutex, NULL);
	qrep_sock_name(fd, true, c->peer, sizeof(c->peer));

	pthread_mutex_lock(&t->conns_mutex);
	if (t->nconns >= QREP_TARGET_MAX_CONNS) {
		pthread_mutex_unlock(&t->conns_mutex);
		qrep_warn("%s: refused: already %u connections", c->peer,
			  QREP_TARGET_MAX_CONNS);
		qrep_stat_add(&t->stats.connections_refused, 1);
		pthread_mutex_destroy(&c->send_mutex);
		free(c);
		close(fd);
		return -EBUSY;
	}
	c->id = ++t->next_conn_id;
	c->next = t->conns;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	t->nconns++;
	pthread_mutex_unlock(&t->conns_mutex);
	qrep_stat_add(&t->stats.connections_accepted, 1);
	qrep_stat_add(&t->stats.connections_active, 1);
	qrep_info("%s: connection %llu accepted", c->peer,
		  (unsigned long long)c->id);

	if (qrep_sock_set_nodelay(fd) ||
	    qrep_sock_set_keepalive(fd, QREP_TARGET_KEEPALIVE_IDLE_S,
				    QREP_TARGET_KEEPALIVE_INTVL_S,
				    QREP_TARGET_KEEPALIVE_CNT) ||
	    qrep_sock_set_timeouts(fd, QREP_TARGET_SEND_TIMEOUT_MS,
				   QREP_TARGET_HELLO_TIMEOUT_MS))
		qrep_warn("%s: cannot set socket options: %s", c->peer,
			  strerror(errno));
	*out = c;
	return 0;
}

int qrep_target_conn_start(struct qrep_target *t, int fd)
{
	struct qrep_target_conn *c;
	pthread_attr_t attr;
	int err;

	err = conn_add(t, fd, &c);
	if (err)
		return err;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&(pthread_t){ 0 }, &attr, conn_reader_thread, c);
	pthread_attr_destroy(&attr);
	if (err) {
		qrep_err("%s: cannot start a reader: %s", c->peer,
			 strerror(err));
		qrep_target_conn_put(c);
		return -err;
	}
	return 0;
}

int qrep_target_conn_serve(struct qrep_target *t, int fd)
{
	struct qrep_target_conn *c;
	int err;

	err = conn_add(t, fd, &c);
	if (err)
		return err;
	conn_reader_thread(c);
	return 0;
}

void qrep_target_conns_shutdown(struct qrep_target *t)
{
	struct qrep_target_conn *c;

	qrep_target_pool_stopping(t);
	pthread_mutex_lock(&t->conns_mutex);
	for (c = t->conns; c; c = c->next)
		shutdown(c->fd, SHUT_RD);
	pthread_mutex_unlock(&t->conns_mutex);
}

void qrep_target_conns_wait_idle(struct qrep_target *t)
{
	pthread_mutex_lock(&t->conns_mutex);
	while (t->nconns)
		pthread_cond_wait(&t->conns_cond, &t->conns_mutex);
	pthread_mutex_unlock(&t->conns_mutex);
}
