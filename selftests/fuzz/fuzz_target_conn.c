// SPDX-License-Identifier: GPL-2.0
/*
 * qrep-target's request path as a peer drives it: the bytes of one
 * connection (hello, requests, WRITE data) go into the target's own
 * connection handling, against a real store, and the replies come back
 * and are checked against a model of what the target must answer.
 *
 *   input --> writer thread --> [socketpair] --> reader thread
 *                                                (qrep_target_conn_serve)
 *   checks <-- this thread <--- [socketpair] <--      | queued requests
 *   against                                      worker thread (one)
 *   the model                                         |
 *                                      store: a memfd, 320 blocks,
 *                                      block 5 written, then damaged
 *
 * Everything is made and torn down per input: store, target, worker,
 * connection. One worker runs the requests in the order the reader
 * queued them, and the reader runs one itself only when none of the
 * connection's is in progress, so the replies and the store's contents
 * are a function of the input alone; the one reply that can overtake
 * others is the reader's answer to a malformed header, which is matched
 * wherever it comes.
 *
 * Invariants:
 *  - nothing but the connection ends: the target closes its side once
 *    every complete, well-formed request has been answered, and all its
 *    objects are freed (the sanitizers check the rest);
 *  - a complete hello gets one well-formed reply with the store's
 *    identity, size, max_version and epoch; the handshake succeeds
 *    exactly when the hello matches the store and is not fenced;
 *  - each complete request gets exactly one reply, in order, with its
 *    handle and the status, flags, epoch, versions and data that the
 *    protocol's rules (write-if-newer per block, or equal too with
 *    REPAIR, fencing by epoch, ranges, checksum errors until a block is
 *    rewritten) give; VERSIONS, SUMMARY and CHECKSUMS answer from the
 *    model's versions, CRCs and damage; EPOCH_PROPOSE is accepted
 *    exactly when it raises the epoch, and says the epoch either way; a truncated WRITE is never
 *    applied; a malformed header gets QREP_ERR_INVAL and ends the
 *    stream;
 *  - at the end the store holds exactly the model's versions, epoch and
 *    max_version, and closes cleanly.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bytes.h"
#include "crc32c.h"
#include "fuzz.h"
#include "target.h"
#include "uuid.h"

#define BS		QREP_BLOCK_SIZE
#define STORE_BLOCKS	FUZZ_TARGET_BLOCKS
#define STORE_SIZE	((uint64_t)STORE_BLOCKS * BS)
#define STORE_UUID	FUZZ_TARGET_UUID
/* One worker: requests run in order, so the result is deterministic. */
#define WORKERS		1
/* Written at version 1 before the connection, then damaged on disk. */
#define BAD_BLOCK	5

/* A complete request as the target's reader sees it. */
struct fuzz_req {
	struct qrep_req_msg msg;
	enum qrep_status status;	/* qrep_req_check's: OK or RANGE */
	const uint8_t *data;		/* WRITE: its blocks in the input */
};

/*
 * What the store must hold: one version and one CRC per block, and
 * whether its data no longer matches that CRC.
 */
struct model {
	uint64_t versions[STORE_BLOCKS];
	uint32_t crcs[STORE_BLOCKS];
	bool bad[STORE_BLOCKS];
	uint64_t epoch;
	uint64_t max_version;
};

struct peer {
	int fd;
	const uint8_t *data;
	size_t size;
};

struct server {
	struct qrep_target *t;
	int fd;
};

static void *writer_thread(void *arg)
{
	struct peer *p = arg;

	/* The target may stop reading and close: EPIPE is no failure. */
	qrep_write_full(p->fd, p->data, p->size);
	shutdown(p->fd, SHUT_WR);
	return NULL;
}

static void *server_thread(void *arg)
{
	struct server *sv = arg;

	qrep_target_conn_serve(sv->t, sv->fd);
	return NULL;
}

/*
 * Splits the input as the target's reader does: the hello, then whole
 * requests until the end, a truncated one or a malformed header (whose
 * handle goes to *bad). Returns the number of requests.
 */
static size_t split_input(const uint8_t *data, size_t size,
			  struct fuzz_req *reqs, bool *malformed,
			  struct qrep_req_msg *bad)
{
	size_t pos = QREP_HELLO_SIZE, n = 0;
	uint64_t payload;

	*malformed = false;
	while (size - pos >= QREP_REQ_SIZE) {
		struct fuzz_req *r = &reqs[n];

		qrep_req_decode(data + pos, &r->msg);
		pos += QREP_REQ_SIZE;
		r->status = qrep_req_check(&r->msg, STORE_BLOCKS, NULL);
		if (r->status == QREP_ERR_INVAL) {
			*malformed = true;
			*bad = r->msg;
			break;
		}
		payload = qrep_req_payload_bytes(&r->msg);
		if (payload > size - pos)
			break;		/* truncated: never applied */
		r->data = data + pos;
		pos += payload;
		n++;
	}
	return n;
}

/* Reads a message the target must send whole; false at a clean end. */
static bool read_msg(int fd, void *buf, size_t len)
{
	ssize_t n = qrep_read_full(fd, buf, len);

	/* Closing with our unread input queued makes it a reset: an end. */
	if (n == 0 || n == -ECONNRESET)
		return false;
	FUZZ_ASSERT(n == (ssize_t)len);
	return true;
}

static enum qrep_status hello_expect(const struct qrep_hello_msg *h,
				     const uint8_t *uuid, struct model *m)
{
	enum qrep_status st = qrep_hello_check(h, NULL);

	if (st != QREP_OK)
		return st;
	/* This target has no secret: a client that authenticates is refused. */
	if (h->flags & QREP_HELLO_F_AUTH)
		return QREP_ERR_AUTH;
	if (memcmp(h->uuid, uuid, QREP_UUID_SIZE))
		return QREP_ERR_UUID;
	if (h->size != STORE_SIZE)
		return QREP_ERR_SIZE;
	if (h->epoch < m->epoch)
		return QREP_ERR_EPOCH;
	m->epoch = h->epoch;
	return QREP_OK;
}

/* Checks the hello reply; true if requests may follow. */
static bool check_hello(int fd, const uint8_t *data, size_t size,
			const uint8_t *uuid, struct model *m)
{
	uint8_t buf[QREP_HELLO_REPLY_SIZE];
	struct qrep_hello_reply_msg rep;
	struct qrep_hello_msg h;
	enum qrep_status st;

	if (size < QREP_HELLO_SIZE) {
		/* No hello, no answer. */
		FUZZ_ASSERT(!read_msg(fd, buf, 1));
		return false;
	}
	qrep_hello_decode(data, &h);
	st = hello_expect(&h, uuid, m);
	FUZZ_ASSERT(read_msg(fd, buf, sizeof(buf)));
	qrep_hello_reply_decode(buf, &rep);
	FUZZ_ASSERT(qrep_hello_reply_check(&rep, NULL) == QREP_OK);
	FUZZ_ASSERT(rep.status == st);
	FUZZ_ASSERT(rep.block_size == BS);
	FUZZ_ASSERT(rep.size == STORE_SIZE);
	FUZZ_ASSERT(!memcmp(rep.uuid, uuid, QREP_UUID_SIZE));
	FUZZ_ASSERT(rep.max_version == m->max_version);
	FUZZ_ASSERT(rep.epoch == m->epoch);
	return st == QREP_OK;
}

/* Whether a successful reply to op carries nblocks entries after it. */
static bool op_has_payload(uint16_t op)
{
	return op == QREP_OP_READ || op == QREP_OP_VERSIONS ||
	       op == QREP_OP_SUMMARY || op == QREP_OP_CHECKSUMS;
}

/*
 * The entries a reply of status st to q carries: an EPOCH_PROPOSE's,
 * accepted or refused, one (the store's epoch); other ops' nblocks of
 * them if they succeeded and have any.
 */
static uint32_t reply_entries(const struct qrep_req_msg *q,
			      enum qrep_status st)
{
	if (q->op == QREP_OP_EPOCH_PROPOSE)
		return st == QREP_OK || st == QREP_ERR_EPOCH ?
		       QREP_EPOCH_PROPOSE_REPLY_ENTRIES : 0;
	return st == QREP_OK && op_has_payload(q->op) ? q->nblocks : 0;
}

/* FNV-1a 64 over the big-endian versions of the model's blocks. */
static uint64_t model_summary(const struct model *m, uint64_t first)
{
	uint64_t h = QREP_FNV64_OFFSET, end = first + QREP_REGION_BLOCKS;
	uint64_t b;
	int shift;

	if (end > STORE_BLOCKS)
		end = STORE_BLOCKS;
	for (b = first; b < end; b++)
		for (shift = 56; shift >= 0; shift -= 8) {
			h ^= (m->versions[b] >> shift) & 0xff;
			h *= QREP_FNV64_PRIME;
		}
	return h & ~QREP_SUMMARY_TORN;		/* the model tears nothing */
}

/*
 * Reads and checks what follows a successful VERSIONS, SUMMARY or
 * CHECKSUMS reply against the model: versions; one summary per region;
 * version, recorded CRC (0 if never written) and the BAD flag per block.
 */
static void check_meta(int fd, const struct qrep_req_msg *q,
		       const struct model *m)
{
	uint8_t e[QREP_BLOCK_CHECK_SIZE];
	uint64_t b;
	uint32_t i;

	for (i = 0; i < q->nblocks; i++) {
		if (q->op == QREP_OP_SUMMARY) {
			b = q->block + (uint64_t)i * QREP_REGION_BLOCKS;
			FUZZ_ASSERT(read_msg(fd, e, 8));
			FUZZ_ASSERT(qrep_get_be64(e) == model_summary(m, b));
			continue;
		}
		b = q->block + i;
		if (q->op == QREP_OP_VERSIONS) {
			FUZZ_ASSERT(read_msg(fd, e, 8));
			FUZZ_ASSERT(qrep_get_be64(e) == m->versions[b]);
			continue;
		}
		FUZZ_ASSERT(read_msg(fd, e, sizeof(e)));
		FUZZ_ASSERT(qrep_get_be64(e) == m->versions[b]);
		FUZZ_ASSERT(qrep_get_be32(e + 8) ==
			    (m->versions[b] ? m->crcs[b] : 0));
		FUZZ_ASSERT(qrep_get_be32(e + 12) ==
			    (m->bad[b] ? QREP_CHECK_BAD : 0));
	}
}

/*
 * Reads and checks what follows a successful reply against the model: a
 * READ's versions and data, or another op's entries (check_meta).
 */
static void check_payload(int fd, const struct qrep_req_msg *q,
			  const struct model *m, uint8_t *block)
{
	uint8_t version[8];
	uint32_t i;

	if (q->op == QREP_OP_EPOCH_PROPOSE) {
		FUZZ_ASSERT(read_msg(fd, version, sizeof(version)));
		FUZZ_ASSERT(qrep_get_be64(version) == m->epoch);
		return;
	}
	if (q->op != QREP_OP_READ) {
		check_meta(fd, q, m);
		return;
	}
	for (i = 0; i < q->nblocks; i++) {
		FUZZ_ASSERT(read_msg(fd, version, sizeof(version)));
		FUZZ_ASSERT(qrep_get_be64(version) ==
			    m->versions[q->block + i]);
	}
	for (i = 0; i < q->nblocks; i++) {
		FUZZ_ASSERT(read_msg(fd, block, BS));
		if (m->versions[q->block + i])
			FUZZ_ASSERT(qrep_crc32c(0, block, BS) ==
				    m->crcs[q->block + i]);
		else
			FUZZ_ASSERT(block[0] == 0 &&
				    !memcmp(block, block + 1, BS - 1));
	}
}

/* Runs a queued request on the model: its reply's status and flags. */
static enum qrep_status model_run(const struct fuzz_req *r, struct model *m,
				  uint32_t *flags)
{
	const struct qrep_req_msg *q = &r->msg;
	bool applied = false;
	uint32_t i;

	*flags = 0;
	if (r->status != QREP_OK)
		return r->status;
	/* Not fenced by its own epoch: it raises to exactly it, or not. */
	if (q->op == QREP_OP_EPOCH_PROPOSE) {
		if (q->epoch <= m->epoch)
			return QREP_ERR_EPOCH;
		m->epoch = q->epoch;
		return QREP_OK;
	}
	if (q->epoch < m->epoch)
		return QREP_ERR_EPOCH;
	m->epoch = q->epoch;
	if (q->op == QREP_OP_READ) {
		for (i = 0; i < q->nblocks; i++)
			if (m->bad[q->block + i])
				return QREP_ERR_CHECKSUM;
		return QREP_OK;
	}
	/* FLUSH, and the resync ops: they read, a bad block included. */
	if (q->op != QREP_OP_WRITE)
		return QREP_OK;
	if (!q->version)
		return QREP_ERR_INVAL;
	for (i = 0; i < q->nblocks; i++) {
		uint64_t stored = m->versions[q->block + i];

		/* Newer applies; equal too with REPAIR; older never. */
		if (q->version < stored ||
		    (q->version == stored && !(q->flags & QREP_REQ_REPAIR))) {
			*flags = QREP_REPLY_OLDER_IGNORED;
			continue;
		}
		m->versions[q->block + i] = q->version;
		m->crcs[q->block + i] = qrep_crc32c(0, r->data + (size_t)i * BS,
						    BS);
		m->bad[q->block + i] = false;
		applied = true;
	}
	if (applied && q->version > m->max_version)
		m->max_version = q->version;
	return QREP_OK;
}

/* Whether rep is the answer to r with the model as it stands. */
static bool is_reply_to(const struct qrep_reply_msg *rep,
			const struct fuzz_req *r, const struct model *m)
{
	struct model after = *m;
	enum qrep_status st;
	uint32_t flags;

	if (rep->handle != r->msg.handle)
		return false;
	st = model_run(r, &after, &flags);
	return rep->status == st && rep->flags == flags &&
	       rep->epoch == after.epoch &&
	       rep->nblocks == reply_entries(&r->msg, st);
}

/*
 * Reads every reply: one per queued request, in order, and the floating
 * answer to a malformed header wherever it comes (the input may give it
 * the handle of a request, so a reply is the request's only if all of it
 * is what the request must get). Then the end of the stream.
 */
static void check_replies(int fd, const struct fuzz_req *reqs, size_t n,
			  bool malformed, const struct qrep_req_msg *bad,
			  struct model *m, uint8_t *block)
{
	uint8_t buf[QREP_REPLY_SIZE];
	struct qrep_reply_msg rep;
	size_t next = 0;
	uint32_t flags;

	while (read_msg(fd, buf, sizeof(buf))) {
		qrep_reply_decode(buf, &rep);
		FUZZ_ASSERT(qrep_reply_check(&rep, NULL) == QREP_OK);
		if (next < n && is_reply_to(&rep, &reqs[next], m)) {
			model_run(&reqs[next], m, &flags);
			if (rep.nblocks)
				check_payload(fd, &reqs[next].msg, m, block);
			next++;
			continue;
		}
		/* Not the next request's: the malformed header's, once. */
		FUZZ_ASSERT(malformed && rep.handle == bad->handle);
		FUZZ_ASSERT(rep.status == QREP_ERR_INVAL && rep.nblocks == 0 &&
			    rep.flags == 0);
		malformed = false;
	}
	FUZZ_ASSERT(next == n);
	FUZZ_ASSERT(!malformed);
}

/*
 * Gives the store one written block whose data no longer matches its
 * checksum, as a torn write or a bad disk would leave it.
 */
static void damage_block(struct qrep_store *s, int fd, struct model *m,
			 uint8_t *block)
{
	const struct qrep_store_info *info = qrep_store_info(s);

	memset(block, 0x77, BS);
	FUZZ_ASSERT(qrep_store_write(s, BAD_BLOCK, 1, block, 1, 0, NULL) == 0);
	m->versions[BAD_BLOCK] = 1;
	m->crcs[BAD_BLOCK] = qrep_crc32c(0, block, BS);
	m->bad[BAD_BLOCK] = true;
	m->max_version = 1;
	FUZZ_ASSERT(pwrite(fd, "X", 1, (off_t)(info->data_offset +
					      BAD_BLOCK * BS + 100)) == 1);
}

static void check_store(struct qrep_store *s, const struct model *m)
{
	uint64_t versions[QREP_STORE_MAX_IO_BLOCKS], max;
	uint32_t b, n, i;

	for (b = 0; b < STORE_BLOCKS; b += n) {
		n = STORE_BLOCKS - b < QREP_STORE_MAX_IO_BLOCKS ?
		    STORE_BLOCKS - b : QREP_STORE_MAX_IO_BLOCKS;
		FUZZ_ASSERT(qrep_store_read_meta(s, b, n, versions, NULL) == 0);
		for (i = 0; i < n; i++)
			FUZZ_ASSERT(versions[i] == m->versions[b + i]);
	}
	FUZZ_ASSERT(qrep_store_epoch(s) == m->epoch);
	FUZZ_ASSERT(qrep_store_max_version(s, &max) == 0);
	FUZZ_ASSERT(max == m->max_version);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t uuid[QREP_UUID_SIZE], *block;
	struct qrep_req_msg bad;
	struct qrep_target *t;
	struct qrep_store *s;
	struct fuzz_req *reqs;
	struct model *m;
	struct peer peer;
	struct server server;
	pthread_t writer, reader;
	char path[64], err[512];
	size_t nreqs = 0;
	bool malformed = false, ok;
	int mfd, sv[2];

	FUZZ_ASSERT(qrep_uuid_parse(STORE_UUID, uuid) == 0);
	mfd = fuzz_memfd("fuzz-target-store", path, sizeof(path));
	FUZZ_ASSERT(mfd >= 0);
	FUZZ_ASSERT(qrep_store_init(path, STORE_SIZE, uuid, 0, err,
				    sizeof(err)) == 0);
	FUZZ_ASSERT(qrep_store_open(path, QREP_STORE_EXCL, &s, err,
				    sizeof(err)) == 0);

	t = calloc(1, sizeof(*t));
	m = calloc(1, sizeof(*m));
	block = malloc(BS);
	reqs = calloc(size / QREP_REQ_SIZE + 1, sizeof(*reqs));
	FUZZ_ASSERT(t && m && block && reqs);
	damage_block(s, mfd, m, block);
	qrep_target_init(t);
	t->store = s;
	t->info = qrep_store_info(s);
	FUZZ_ASSERT(qrep_target_pool_start(t, WORKERS) == 0);

	FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			       sv) == 0);
	server = (struct server){ t, sv[1] };
	peer = (struct peer){ sv[0], data, size };
	FUZZ_ASSERT(pthread_create(&reader, NULL, server_thread,
				   &server) == 0);
	FUZZ_ASSERT(pthread_create(&writer, NULL, writer_thread, &peer) == 0);

	ok = check_hello(sv[0], data, size, uuid, m);
	if (ok)
		nreqs = split_input(data, size, reqs, &malformed, &bad);
	check_replies(sv[0], reqs, nreqs, malformed, &bad, m, block);

	pthread_join(writer, NULL);
	pthread_join(reader, NULL);
	qrep_target_pool_stop(t);	/* runs what is queued, then joins */
	qrep_target_conns_wait_idle(t);
	FUZZ_ASSERT(t->nconns == 0 && t->reqs_allocated == 0);
	close(sv[0]);

	check_store(s, m);
	FUZZ_ASSERT(qrep_store_close(s) == 0);
	qrep_target_uninit(t);
	close(mfd);
	free(t);
	free(m);
	free(block);
	free(reqs);
	return 0;
}
