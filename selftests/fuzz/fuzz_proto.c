// SPDX-License-Identifier: GPL-2.0
/*
 * The wire protocol's decoders and checks (lib/proto.c) on arbitrary
 * bytes, as a target sees a hello or a request and a client sees a hello
 * reply or a reply.
 *
 * Input: one byte choosing the message (hello, hello reply, request,
 * reply, authentication challenge, response, proof), the message
 * (missing bytes read as zeros), then for a request
 * the device size in blocks it is checked against (8 bytes, big-endian;
 * 1024 if absent).
 *
 * Invariants, for every input:
 *  - decoding then encoding gives back the same bytes (every byte of every
 *    message is a field), and encoding then decoding the same fields;
 *  - a check returns a known status and says why, with and without the
 *    "why" pointer alike;
 *  - what a check accepts satisfies the rules of qrep_proto.h: known
 *    magic, version, op and flags (flags on a WRITE only), zero reserved
 *    fields, nblocks within the limits, blocks inside the device without
 *    wrapping; for SUMMARY, an aligned first region and every region
 *    starting inside the device, RANGE exactly when one does not;
 *  - a successful reply's payload is what the op implies;
 *  - QREP_ERR_RANGE only for a request whose header is well formed, so
 *    the stream is still in step; its payload never exceeds one request's
 *    worth of data.
 */
#include <string.h>

#include "fuzz.h"
#include "proto.h"

#define MSG_MAX		QREP_AUTH_RESPONSE_SIZE
#define DEFAULT_BLOCKS	1024

static void check_why(enum qrep_status st, enum qrep_status st_nowhy,
		      const char *why)
{
	FUZZ_ASSERT(st < __QREP_ERR_MAX);
	FUZZ_ASSERT(st == st_nowhy);
	FUZZ_ASSERT(why && why[0]);
	FUZZ_ASSERT(strlen(qrep_status_str(st)) > 0);
}

static void fuzz_hello(const uint8_t *buf)
{
	struct qrep_hello_msg m, back;
	uint8_t out[QREP_HELLO_SIZE];
	enum qrep_status st;
	const char *why = NULL;

	qrep_hello_decode(buf, &m);
	qrep_hello_encode(&m, out);
	FUZZ_ASSERT(!memcmp(out, buf, sizeof(out)));
	qrep_hello_decode(out, &back);
	FUZZ_ASSERT(!memcmp(&m, &back, sizeof(m)));

	st = qrep_hello_check(&m, &why);
	check_why(st, qrep_hello_check(&m, NULL), why);
	if (st == QREP_OK) {
		FUZZ_ASSERT(m.magic == QREP_HELLO_MAGIC);
		FUZZ_ASSERT(m.proto_version == QREP_PROTO_VERSION);
		FUZZ_ASSERT(m.block_size == QREP_BLOCK_SIZE);
		FUZZ_ASSERT(!(m.flags & ~QREP_HELLO_FLAGS_ALL));
	}
}

/* The authentication messages: round trips and their shape checks. */
static void fuzz_auth(unsigned int kind, const uint8_t *buf)
{
	struct qrep_auth_challenge_msg ch, ch2;
	struct qrep_auth_response_msg rs, rs2;
	struct qrep_auth_proof_msg pf, pf2;
	uint8_t out[QREP_AUTH_RESPONSE_SIZE];
	enum qrep_status st;
	const char *why = NULL;

	switch (kind) {
	case 4:
		qrep_auth_challenge_decode(buf, &ch);
		qrep_auth_challenge_encode(&ch, out);
		FUZZ_ASSERT(!memcmp(out, buf, QREP_AUTH_CHALLENGE_SIZE));
		qrep_auth_challenge_decode(out, &ch2);
		FUZZ_ASSERT(!memcmp(&ch, &ch2, sizeof(ch)));
		st = qrep_auth_challenge_check(&ch, &why);
		check_why(st, qrep_auth_challenge_check(&ch, NULL), why);
		FUZZ_ASSERT(st == QREP_OK || st == QREP_ERR_PROTO);
		if (st == QREP_OK)
			FUZZ_ASSERT(ch.magic == QREP_CHALLENGE_MAGIC &&
				    ch.proto_version == QREP_PROTO_VERSION &&
				    ch.method == QREP_AUTH_HMAC_SHA256 &&
				    !ch.reserved);
		break;
	case 5:
		qrep_auth_response_decode(buf, &rs);
		qrep_auth_response_encode(&rs, out);
		FUZZ_ASSERT(!memcmp(out, buf, QREP_AUTH_RESPONSE_SIZE));
		qrep_auth_response_decode(out, &rs2);
		FUZZ_ASSERT(!memcmp(&rs, &rs2, sizeof(rs)));
		st = qrep_auth_response_check(&rs, &why);
		check_why(st, qrep_auth_response_check(&rs, NULL), why);
		FUZZ_ASSERT(st == QREP_OK || st == QREP_ERR_PROTO);
		if (st == QREP_OK)
			FUZZ_ASSERT(rs.magic == QREP_RESPONSE_MAGIC &&
				    rs.method == QREP_AUTH_HMAC_SHA256);
		break;
	default:
		qrep_auth_proof_decode(buf, &pf);
		qrep_auth_proof_encode(&pf, out);
		FUZZ_ASSERT(!memcmp(out, buf, QREP_AUTH_PROOF_SIZE));
		qrep_auth_proof_decode(out, &pf2);
		FUZZ_ASSERT(!memcmp(&pf, &pf2, sizeof(pf)));
		st = qrep_auth_proof_check(&pf, &why);
		check_why(st, qrep_auth_proof_check(&pf, NULL), why);
		FUZZ_ASSERT(st == QREP_OK || st == QREP_ERR_PROTO);
		if (st == QREP_OK)
			FUZZ_ASSERT(pf.magic == QREP_PROOF_MAGIC &&
				    pf.proto_version == QREP_PROTO_VERSION);
		break;
	}
}

static void fuzz_hello_reply(const uint8_t *buf)
{
	struct qrep_hello_reply_msg m, back;
	uint8_t out[QREP_HELLO_REPLY_SIZE];
	enum qrep_status st;
	const char *why = NULL;

	qrep_hello_reply_decode(buf, &m);
	qrep_hello_reply_encode(&m, out);
	FUZZ_ASSERT(!memcmp(out, buf, sizeof(out)));
	qrep_hello_reply_decode(out, &back);
	FUZZ_ASSERT(!memcmp(&m, &back, sizeof(m)));

	st = qrep_hello_reply_check(&m, &why);
	check_why(st, qrep_hello_reply_check(&m, NULL), why);
	if (st == QREP_OK) {
		FUZZ_ASSERT(m.magic == QREP_HELLO_MAGIC);
		FUZZ_ASSERT(m.proto_version == QREP_PROTO_VERSION);
		FUZZ_ASSERT(m.status < __QREP_ERR_MAX ||
			    m.status == QREP_ERR_AUTH);
		FUZZ_ASSERT(m.status != QREP_OK ||
			    m.block_size == QREP_BLOCK_SIZE);
		FUZZ_ASSERT(strlen(qrep_status_str(m.status)) > 0);
	}
}

/*
 * What a successful reply to a well-formed request carries: READ a
 * version and a block each, VERSIONS and SUMMARY a __be64 each,
 * CHECKSUMS a struct qrep_block_check each; WRITE and FLUSH nothing;
 * EPOCH_PROPOSE one __be64 whatever its (zero) nblocks.
 */
static void check_reply_payload(const struct qrep_req_msg *m)
{
	size_t want = 0, got = qrep_reply_payload_bytes(m->op, m->nblocks);

	switch (m->op) {
	case QREP_OP_READ:
		want = (size_t)m->nblocks * (8 + QREP_BLOCK_SIZE);
		break;
	case QREP_OP_VERSIONS:
	case QREP_OP_SUMMARY:
		want = (size_t)m->nblocks * 8;
		break;
	case QREP_OP_CHECKSUMS:
		want = (size_t)m->nblocks * QREP_BLOCK_CHECK_SIZE;
		break;
	case QREP_OP_EPOCH_PROPOSE:
		/* Well formed, it has no blocks: the reply's count is 1. */
		FUZZ_ASSERT(m->nblocks == 0 && m->block == 0 && m->epoch);
		FUZZ_ASSERT(qrep_reply_payload_bytes(m->op,
				QREP_EPOCH_PROPOSE_REPLY_ENTRIES) == 8);
		break;
	}
	FUZZ_ASSERT(got == want);
	FUZZ_ASSERT(got <= (size_t)QREP_MAX_REQ_BLOCKS *
			   (8 + QREP_BLOCK_SIZE));
}

/*
 * SUMMARY counts regions from a region's first block: malformed unless
 * aligned; otherwise in range exactly when its last region starts inside
 * the device (which may end in a shorter region). In region numbers,
 * which cannot overflow.
 */
static void check_summary_range(const struct qrep_req_msg *m,
				uint64_t dev_blocks, enum qrep_status st)
{
	uint64_t regions = dev_blocks / QREP_REGION_BLOCKS +
			   (dev_blocks % QREP_REGION_BLOCKS != 0);
	uint64_t last = (m->block >> QREP_REGION_SHIFT) + m->nblocks - 1;

	FUZZ_ASSERT(m->block % QREP_REGION_BLOCKS == 0);
	FUZZ_ASSERT((st == QREP_OK) == (last < regions));
}

static void fuzz_req(const uint8_t *buf, uint64_t dev_blocks)
{
	struct qrep_req_msg m, back;
	uint8_t out[QREP_REQ_SIZE];
	enum qrep_status st;
	const char *why = NULL;
	uint64_t payload;

	qrep_req_decode(buf, &m);
	qrep_req_encode(&m, out);
	FUZZ_ASSERT(!memcmp(out, buf, sizeof(out)));
	qrep_req_decode(out, &back);
	FUZZ_ASSERT(!memcmp(&m, &back, sizeof(m)));
	FUZZ_ASSERT(strlen(qrep_op_str(m.op)) > 0);

	st = qrep_req_check(&m, dev_blocks, &why);
	check_why(st, qrep_req_check(&m, dev_blocks, NULL), why);
	FUZZ_ASSERT(st == QREP_OK || st == QREP_ERR_INVAL ||
		    st == QREP_ERR_RANGE);
	if (st == QREP_ERR_INVAL)
		return;

	/* Well formed: the reader consumes the payload and stays in step. */
	FUZZ_ASSERT(m.magic == QREP_REQ_MAGIC);
	FUZZ_ASSERT(m.op >= QREP_OP_READ && m.op < __QREP_OP_MAX);
	FUZZ_ASSERT(!(m.flags & ~QREP_REQ_FLAGS_ALL));
	FUZZ_ASSERT(m.flags == 0 || m.op == QREP_OP_WRITE);
	FUZZ_ASSERT(m.reserved == 0);
	check_reply_payload(&m);
	payload = qrep_req_payload_bytes(&m);
	FUZZ_ASSERT(payload <= (uint64_t)QREP_MAX_REQ_BLOCKS * QREP_BLOCK_SIZE);
	FUZZ_ASSERT(payload % QREP_BLOCK_SIZE == 0);
	if (m.op == QREP_OP_WRITE)
		FUZZ_ASSERT(payload == (uint64_t)m.nblocks * QREP_BLOCK_SIZE);
	else
		FUZZ_ASSERT(payload == 0);

	if (m.op == QREP_OP_FLUSH) {
		FUZZ_ASSERT(st == QREP_OK && m.nblocks == 0);
		return;
	}
	if (m.op == QREP_OP_EPOCH_PROPOSE) {
		FUZZ_ASSERT(st == QREP_OK && m.version == 0);
		return;
	}
	FUZZ_ASSERT(m.nblocks >= 1 && m.nblocks <= QREP_MAX_REQ_BLOCKS);
	if (m.op == QREP_OP_SUMMARY) {
		check_summary_range(&m, dev_blocks, st);
		return;
	}
	if (st == QREP_OK) {
		FUZZ_ASSERT(m.block < dev_blocks);
		FUZZ_ASSERT(m.nblocks <= dev_blocks - m.block);
	} else {
		FUZZ_ASSERT(m.block >= dev_blocks ||
			    m.nblocks > dev_blocks - m.block);
	}
}

static void fuzz_reply(const uint8_t *buf)
{
	struct qrep_reply_msg m, back;
	uint8_t out[QREP_REPLY_SIZE];
	enum qrep_status st;
	const char *why = NULL;

	qrep_reply_decode(buf, &m);
	qrep_reply_encode(&m, out);
	FUZZ_ASSERT(!memcmp(out, buf, sizeof(out)));
	qrep_reply_decode(out, &back);
	FUZZ_ASSERT(!memcmp(&m, &back, sizeof(m)));

	st = qrep_reply_check(&m, &why);
	check_why(st, qrep_reply_check(&m, NULL), why);
	FUZZ_ASSERT(st == QREP_OK || st == QREP_ERR_INVAL);
	if (st == QREP_OK) {
		FUZZ_ASSERT(m.magic == QREP_REPLY_MAGIC);
		FUZZ_ASSERT(m.status < __QREP_ERR_MAX);
		FUZZ_ASSERT(!(m.flags & ~QREP_REPLY_OLDER_IGNORED));
		FUZZ_ASSERT(m.nblocks <= QREP_MAX_REQ_BLOCKS);
		/* A refused EPOCH_PROPOSE says the store's epoch. */
		FUZZ_ASSERT(m.status == QREP_OK || m.nblocks == 0 ||
			    (m.status == QREP_ERR_EPOCH && m.nblocks == 1));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t buf[MSG_MAX] = { 0 };
	uint64_t dev_blocks = DEFAULT_BLOCKS;
	/* Kinds 0-3 kept their numbers when 4-6 were added. */
	unsigned int kind = fuzz_u8(&in) % 7;
	static const size_t sizes[] = {
		QREP_HELLO_SIZE, QREP_HELLO_REPLY_SIZE, QREP_REQ_SIZE,
		QREP_REPLY_SIZE, QREP_AUTH_CHALLENGE_SIZE,
		QREP_AUTH_RESPONSE_SIZE, QREP_AUTH_PROOF_SIZE,
	};
	size_t n = sizes[kind] < in.left ? sizes[kind] : in.left;

	memcpy(buf, in.p, n);
	in.p += n;
	in.left -= n;
	if (in.left >= 8)
		dev_blocks = fuzz_u64(&in);

	switch (kind) {
	case 0:
		fuzz_hello(buf);
		break;
	case 1:
		fuzz_hello_reply(buf);
		break;
	case 2:
		fuzz_req(buf, dev_blocks);
		break;
	case 3:
		fuzz_reply(buf);
		break;
	default:
		fuzz_auth(kind, buf);
		break;
	}
	return 0;
}
