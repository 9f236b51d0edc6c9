// SPDX-License-Identifier: GPL-2.0
/*
 * A FLUSH at qrep-target covers every request that arrived before it on
 * its connection (userspace/target/request.c): its reply comes only after
 * each of them has been applied and answered, and after a sync that
 * began once they were applied. Requests that arrive after the FLUSH are
 * not held back by it.
 *
 *   this thread --- [socketpair] --- reader (qrep_target_conn_serve)
 *                                        |  queued requests
 *                                    workers (4)
 *                                        |
 *                                    store in a temp dir, its writes
 *                                    and flushes seen through
 *                                    --wrap (UNIT_LDFLAGS in the
 *                                    Makefile)
 *
 * The target runs in this process, so one WRITE can be held inside the
 * store for as long as the test likes: the target must not answer the
 * FLUSH sent behind it, nor sync for it, until that WRITE is released.
 * Without the wait in the target, the FLUSH runs on another worker at
 * once and its reply overtakes the WRITE's.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "log.h"
#include "net.h"
#include "proto.h"
#include "store.h"
#include "target.h"
#include "uuid.h"

#define BS		QREP_BLOCK_SIZE
#define STORE_BLOCKS	1024U
#define WORKERS		4
#define EPOCH		1
/* Larger than the reader runs itself: it goes to a worker. */
#define SLOW_NBLOCKS	(QREP_TARGET_RUN_HERE_MAX_BLOCKS + 1)
#define SLOW_BLOCK	64U
#define OTHER_BLOCK	512U
/* How long a reply that must not come yet is waited for. */
#define QUIET_MS	500
/* Any event that must come; generous for ASan on a loaded machine. */
#define WAIT_MS		10000

enum { H_SLOW = 1, H_FLUSH, H_READ };

/* What the wrapped store calls saw. Under mu. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool hold;		/* the slow WRITE waits while set */
	bool slow_started;
	bool slow_applied;
	unsigned int flushes;
	unsigned int flushes_before_slow_applied;
} seen = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

int __real_qrep_store_write(struct qrep_store *s, uint64_t block,
			    uint32_t n, const void *data, uint64_t version,
			    unsigned int flags, uint32_t *ignored);
int __real_qrep_store_flush(struct qrep_store *s);
int __wrap_qrep_store_write(struct qrep_store *s, uint64_t block,
			    uint32_t n, const void *data, uint64_t version,
			    unsigned int flags, uint32_t *ignored);
int __wrap_qrep_store_flush(struct qrep_store *s);

int __wrap_qrep_store_write(struct qrep_store *s, uint64_t block,
			    uint32_t n, const void *data, uint64_t version,
			    unsigned int flags, uint32_t *ignored)
{
	bool slow = block == SLOW_BLOCK;
	int ret;

	pthread_mutex_lock(&seen.mu);
	if (slow) {
		seen.slow_started = true;
		pthread_cond_broadcast(&seen.cond);
		while (seen.hold)
			pthread_cond_wait(&seen.cond, &seen.mu);
	}
	pthread_mutex_unlock(&seen.mu);
	ret = __real_qrep_store_write(s, block, n, data, version, flags,
				      ignored);
	if (slow) {
		pthread_mutex_lock(&seen.mu);
		seen.slow_applied = true;
		pthread_mutex_unlock(&seen.mu);
	}
	return ret;
}

int __wrap_qrep_store_flush(struct qrep_store *s)
{
	pthread_mutex_lock(&seen.mu);
	seen.flushes++;
	if (!seen.slow_applied)
		seen.flushes_before_slow_applied++;
	pthread_mutex_unlock(&seen.mu);
	return __real_qrep_store_flush(s);
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Waits until the slow WRITE is inside the store; false on timeout. */
static bool wait_slow_started(void)
{
	struct timespec ts;
	int err = 0;

	deadline_in(&ts, WAIT_MS);
	pthread_mutex_lock(&seen.mu);
	while (!seen.slow_started && !err)
		err = pthread_cond_timedwait(&seen.cond, &seen.mu, &ts);
	err = seen.slow_started ? 0 : err;
	pthread_mutex_unlock(&seen.mu);
	return !err;
}

static void release_slow(void)
{
	pthread_mutex_lock(&seen.mu);
	seen.hold = false;
	pthread_cond_broadcast(&seen.cond);
	pthread_mutex_unlock(&seen.mu);
}

struct server {
	struct qrep_target *t;
	int fd;
};

static void *server_thread(void *arg)
{
	struct server *sv = arg;

	qrep_target_conn_serve(sv->t, sv->fd);
	return NULL;
}

static int send_hello(int fd, const uint8_t *uuid)
{
	struct qrep_hello_msg h = {
		.magic = QREP_HELLO_MAGIC,
		.proto_version = QREP_PROTO_VERSION,
		.size = (uint64_t)STORE_BLOCKS * BS,
		.block_size = BS,
		.epoch = EPOCH,
	};
	struct qrep_hello_reply_msg rep;
	uint8_t buf[QREP_HELLO_REPLY_SIZE];
	int err;

	memcpy(h.uuid, uuid, QREP_UUID_SIZE);
	qrep_hello_encode(&h, buf);
	err = qrep_write_full(fd, buf, QREP_HELLO_SIZE);
	if (err)
		return err;
	if (qrep_read_full(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return -EPIPE;
	qrep_hello_reply_decode(buf, &rep);
	return rep.status == QREP_OK ? 0 : -EPROTO;
}

static int send_req(int fd, uint16_t op, uint64_t handle, uint64_t block,
		    uint32_t n, uint64_t version, const void *data)
{
	struct qrep_req_msg m = {
		.magic = QREP_REQ_MAGIC, .op = op, .handle = handle,
		.epoch = EPOCH, .block = block, .nblocks = n,
		.version = version,
	};
	uint8_t hdr[QREP_REQ_SIZE];
	struct iovec iov[2] = {
		{ hdr, sizeof(hdr) },
		{ (void *)data, op == QREP_OP_WRITE ? (size_t)n * BS : 0 },
	};

	qrep_req_encode(&m, hdr);
	return qrep_writev_full(fd, iov, 2);
}

/* Whether a reply starts to arrive within ms. */
static bool reply_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* One reply; its versions and data, if any, are read and dropped. */
static int recv_reply(int fd, struct qrep_reply_msg *rep, uint8_t *sink,
		      size_t sink_len)
{
	uint8_t hdr[QREP_REPLY_SIZE];
	size_t more;

	if (!reply_within(fd, WAIT_MS))
		return -ETIMEDOUT;
	if (qrep_read_full(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr))
		return -EPIPE;
	qrep_reply_decode(hdr, rep);
	if (qrep_reply_check(rep, NULL) != QREP_OK)
		return -EPROTO;
	more = (size_t)rep->nblocks * sizeof(uint64_t);
	if (rep->status == QREP_OK && rep->nblocks)
		more += (size_t)rep->nblocks * BS;
	if (more > sink_len)
		return -EPROTO;
	if (more && qrep_read_full(fd, sink, more) != (ssize_t)more)
		return -EPIPE;
	return 0;
}

FIXTURE(flush)
{
	char dir[64];
	char path[96];
	struct qrep_store *store;
	struct qrep_target t;
	struct server server;
	pthread_t reader;
	int fd;			/* the client's end */
	uint8_t *buf;
	size_t buf_len;
};

FIXTURE_SETUP(flush)
{
	uint8_t uuid[QREP_UUID_SIZE] = { 0 };
	char err[256];
	int sv[2];

	qrep_log_set_level(QREP_LOG_ERR);
	seen.hold = true;
	seen.slow_started = seen.slow_applied = false;
	seen.flushes = seen.flushes_before_slow_applied = 0;

	snprintf(self->dir, sizeof(self->dir), "/tmp/qrep-flush.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/store", self->dir);
	ASSERT_EQ(0, qrep_store_init(self->path, (uint64_t)STORE_BLOCKS * BS,
				     uuid, 0, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->store, err,
				     sizeof(err))) TH_LOG("%s", err);

	memset(&self->t, 0, sizeof(self->t));
	qrep_target_init(&self->t);
	self->t.store = self->store;
	self->t.info = qrep_store_info(self->store);
	ASSERT_EQ(0, qrep_target_pool_start(&self->t, WORKERS));

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	self->fd = sv[0];
	self->server = (struct server){ &self->t, sv[1] };
	ASSERT_EQ(0, pthread_create(&self->reader, NULL, server_thread,
				    &self->server));
	ASSERT_EQ(0, send_hello(self->fd, uuid));

	self->buf_len = (size_t)QREP_MAX_REQ_BLOCKS * (BS + sizeof(uint64_t));
	self->buf = calloc(1, self->buf_len);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(flush)
{
	char cmd[128];

	release_slow();
	close(self->fd);
	pthread_join(self->reader, NULL);
	qrep_target_pool_stop(&self->t);
	qrep_target_conns_wait_idle(&self->t);
	EXPECT_EQ(0, qrep_store_close(self->store));
	qrep_target_uninit(&self->t);
	free(self->buf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
	EXPECT_EQ(0, system(cmd));
}

/*
 * WRITE (held in the store), FLUSH, READ: the READ is answered while the
 * WRITE is held; the FLUSH is neither synced nor answered until the
 * WRITE has been applied and answered.
 */
TEST_F(flush, waits_for_earlier_writes)
{
	struct qrep_reply_msg rep;

	memset(self->buf, 0xa5, (size_t)SLOW_NBLOCKS * BS);
	ASSERT_EQ(0, send_req(self->fd, QREP_OP_WRITE, H_SLOW, SLOW_BLOCK,
			      SLOW_NBLOCKS, 1, self->buf));
	ASSERT_TRUE(wait_slow_started());
	ASSERT_EQ(0, send_req(self->fd, QREP_OP_FLUSH, H_FLUSH, 0, 0, 0,
			      NULL));
	ASSERT_EQ(0, send_req(self->fd, QREP_OP_READ, H_READ, OTHER_BLOCK, 1,
			      0, NULL));

	/* Behind the FLUSH, but not held back by it. */
	ASSERT_EQ(0, recv_reply(self->fd, &rep, self->buf, self->buf_len));
	EXPECT_EQ(H_READ, rep.handle);
	EXPECT_EQ(QREP_OK, rep.status);

	/* The WRITE before it is still in the store: no answer, no sync. */
	EXPECT_FALSE(reply_within(self->fd, QUIET_MS))
		TH_LOG("a reply came while the WRITE before the FLUSH was still being applied");
	pthread_mutex_lock(&seen.mu);
	EXPECT_EQ(0U, seen.flushes);
	pthread_mutex_unlock(&seen.mu);

	release_slow();
	ASSERT_EQ(0, recv_reply(self->fd, &rep, self->buf, self->buf_len));
	EXPECT_EQ(H_SLOW, rep.handle) TH_LOG("the FLUSH was answered before the WRITE sent before it");
	EXPECT_EQ(QREP_OK, rep.status);
	ASSERT_EQ(0, recv_reply(self->fd, &rep, self->buf, self->buf_len));
	EXPECT_EQ(H_FLUSH, rep.handle);
	EXPECT_EQ(QREP_OK, rep.status);

	pthread_mutex_lock(&seen.mu);
	EXPECT_EQ(1U, seen.flushes);
	EXPECT_EQ(0U, seen.flushes_before_slow_applied)
		TH_LOG("the store was synced for the FLUSH before the WRITE sent before it was applied");
	pthread_mutex_unlock(&seen.mu);
}

/* A FLUSH with nothing before it is answered at once. */
TEST_F(flush, alone_answers_at_once)
{
	struct qrep_reply_msg rep;

	release_slow();
	ASSERT_EQ(0, send_req(self->fd, QREP_OP_FLUSH, H_FLUSH, 0, 0, 0,
			      NULL));
	ASSERT_EQ(0, recv_reply(self->fd, &rep, self->buf, self->buf_len));
	EXPECT_EQ(H_FLUSH, rep.handle);
	EXPECT_EQ(QREP_OK, rep.status);
	pthread_mutex_lock(&seen.mu);
	EXPECT_EQ(1U, seen.flushes);
	pthread_mutex_unlock(&seen.mu);
}

TEST_HARNESS_MAIN
