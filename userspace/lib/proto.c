// SPDX-License-Identifier: GPL-2.0
/*
 * qrep wire protocol: encode, decode, validate.
 *
 * Field offsets are spelled out next to each access and checked against
 * the uapi structures at build time, so that this file and the kernel's
 * view of the same header cannot drift apart silently.
 */
#include <stddef.h>
#include <stdbool.h>
#include <string.h>

#include "bytes.h"
#include "proto.h"

_Static_assert(sizeof(struct qrep_hello) == QREP_HELLO_SIZE, "hello size");
_Static_assert(sizeof(struct qrep_hello_reply) == QREP_HELLO_REPLY_SIZE,
	       "hello reply size");
_Static_assert(sizeof(struct qrep_auth_challenge) == QREP_AUTH_CHALLENGE_SIZE,
	       "auth challenge size");
_Static_assert(sizeof(struct qrep_auth_response) == QREP_AUTH_RESPONSE_SIZE,
	       "auth response size");
_Static_assert(sizeof(struct qrep_auth_proof) == QREP_AUTH_PROOF_SIZE,
	       "auth proof size");
_Static_assert(sizeof(struct qrep_req) == QREP_REQ_SIZE, "req size");
_Static_assert(sizeof(struct qrep_reply) == QREP_REPLY_SIZE, "reply size");

_Static_assert(offsetof(struct qrep_hello, uuid) == 8, "hello.uuid");
_Static_assert(offsetof(struct qrep_hello, size) == 24, "hello.size");
_Static_assert(offsetof(struct qrep_hello, block_size) == 32, "hello.bs");
_Static_assert(offsetof(struct qrep_hello, flags) == 36, "hello.flags");
_Static_assert(offsetof(struct qrep_hello, epoch) == 40, "hello.epoch");

_Static_assert(offsetof(struct qrep_hello_reply, status) == 8, "hr.status");
_Static_assert(offsetof(struct qrep_hello_reply, block_size) == 12, "hr.bs");
_Static_assert(offsetof(struct qrep_hello_reply, uuid) == 16, "hr.uuid");
_Static_assert(offsetof(struct qrep_hello_reply, size) == 32, "hr.size");
_Static_assert(offsetof(struct qrep_hello_reply, max_version) == 40,
	       "hr.max_version");
_Static_assert(offsetof(struct qrep_hello_reply, epoch) == 48, "hr.epoch");

_Static_assert(offsetof(struct qrep_auth_challenge, method) == 8, "ch.method");
_Static_assert(offsetof(struct qrep_auth_challenge, nonce) == 16, "ch.nonce");
_Static_assert(offsetof(struct qrep_auth_response, nonce) == 8, "rs.nonce");
_Static_assert(offsetof(struct qrep_auth_response, mac) == 40, "rs.mac");
_Static_assert(offsetof(struct qrep_auth_proof, mac) == 8, "pf.mac");

_Static_assert(offsetof(struct qrep_req, op) == 4, "req.op");
_Static_assert(offsetof(struct qrep_req, flags) == 6, "req.flags");
_Static_assert(offsetof(struct qrep_req, handle) == 8, "req.handle");
_Static_assert(offsetof(struct qrep_req, epoch) == 16, "req.epoch");
_Static_assert(offsetof(struct qrep_req, block) == 24, "req.block");
_Static_assert(offsetof(struct qrep_req, nblocks) == 32, "req.nblocks");
_Static_assert(offsetof(struct qrep_req, reserved) == 36, "req.reserved");
_Static_assert(offsetof(struct qrep_req, version) == 40, "req.version");

_Static_assert(offsetof(struct qrep_reply, status) == 4, "reply.status");
_Static_assert(offsetof(struct qrep_reply, handle) == 8, "reply.handle");
_Static_assert(offsetof(struct qrep_reply, nblocks) == 16, "reply.nblocks");
_Static_assert(offsetof(struct qrep_reply, flags) == 20, "reply.flags");
_Static_assert(offsetof(struct qrep_reply, epoch) == 24, "reply.epoch");

/* Reply flags a client accepts; the target never sets anything else. */
#define QREP_REPLY_FLAGS_ALL	QREP_REPLY_OLDER_IGNORED

void qrep_hello_encode(const struct qrep_hello_msg *m, uint8_t *buf)
{
	int i;

	qrep_put_be32(buf + 0, m->magic);
	qrep_put_be32(buf + 4, m->proto_version);
	for (i = 0; i < QREP_UUID_SIZE; i++)
		buf[8 + i] = m->uuid[i];
	qrep_put_be64(buf + 24, m->size);
	qrep_put_be32(buf + 32, m->block_size);
	qrep_put_be32(buf + 36, m->flags);
	qrep_put_be64(buf + 40, m->epoch);
}

void qrep_hello_decode(const uint8_t *buf, struct qrep_hello_msg *m)
{
	int i;

	m->magic = qrep_get_be32(buf + 0);
	m->proto_version = qrep_get_be32(buf + 4);
	for (i = 0; i < QREP_UUID_SIZE; i++)
		m->uuid[i] = buf[8 + i];
	m->size = qrep_get_be64(buf + 24);
	m->block_size = qrep_get_be32(buf + 32);
	m->flags = qrep_get_be32(buf + 36);
	m->epoch = qrep_get_be64(buf + 40);
}

void qrep_hello_reply_encode(const struct qrep_hello_reply_msg *m,
			     uint8_t *buf)
{
	int i;

	qrep_put_be32(buf + 0, m->magic);
	qrep_put_be32(buf + 4, m->proto_version);
	qrep_put_be32(buf + 8, m->status);
	qrep_put_be32(buf + 12, m->block_size);
	for (i = 0; i < QREP_UUID_SIZE; i++)
		buf[16 + i] = m->uuid[i];
	qrep_put_be64(buf + 32, m->size);
	qrep_put_be64(buf + 40, m->max_version);
	qrep_put_be64(buf + 48, m->epoch);
}

void qrep_hello_reply_decode(const uint8_t *buf,
			     struct qrep_hello_reply_msg *m)
{
	int i;

	m->magic = qrep_get_be32(buf + 0);
	m->proto_version = qrep_get_be32(buf + 4);
	m->status = qrep_get_be32(buf + 8);
	m->block_size = qrep_get_be32(buf + 12);
	for (i = 0; i < QREP_UUID_SIZE; i++)
		m->uuid[i] = buf[16 + i];
	m->size = qrep_get_be64(buf + 32);
	m->max_version = qrep_get_be64(buf + 40);
	m->epoch = qrep_get_be64(buf + 48);
}

void qrep_auth_challenge_encode(const struct qrep_auth_challenge_msg *m,
				uint8_t *buf)
{
	qrep_put_be32(buf + 0, m->magic);
	qrep_put_be32(buf + 4, m->proto_version);
	qrep_put_be32(buf + 8, m->method);
	qrep_put_be32(buf + 12, m->reserved);
	memcpy(buf + 16, m->nonce, QREP_AUTH_NONCE_SIZE);
}

void qrep_auth_challenge_decode(const uint8_t *buf,
				struct qrep_auth_challenge_msg *m)
{
	m->magic = qrep_get_be32(buf + 0);
	m->proto_version = qrep_get_be32(buf + 4);
	m->method = qrep_get_be32(buf + 8);
	m->reserved = qrep_get_be32(buf + 12);
	memcpy(m->nonce, buf + 16, QREP_AUTH_NONCE_SIZE);
}

void qrep_auth_response_encode(const struct qrep_auth_response_msg *m,
			       uint8_t *buf)
{
	qrep_put_be32(buf + 0, m->magic);
	qrep_put_be32(buf + 4, m->method);
	memcpy(buf + 8, m->nonce, QREP_AUTH_NONCE_SIZE);
	memcpy(buf + 40, m->mac, QREP_AUTH_MAC_SIZE);
}

void qrep_auth_response_decode(const uint8_t *buf,
			       struct qrep_auth_response_msg *m)
{
	m->magic = qrep_get_be32(buf + 0);
	m->method = qrep_get_be32(buf + 4);
	memcpy(m->nonce, buf + 8, QREP_AUTH_NONCE_SIZE);
	memcpy(m->mac, buf + 40, QREP_AUTH_MAC_SIZE);
}

void qrep_auth_proof_encode(const struct qrep_auth_proof_msg *m, uint8_t *buf)
{
	qrep_put_be32(buf + 0, m->magic);
	qrep_put_be32(buf + 4, m->proto_version);
	memcpy(buf + 8, m->mac, QREP_AUTH_MAC_SIZE);
}

void qrep_auth_proof_decode(const uint8_t *buf, struct qrep_auth_proof_msg *m)
{
	m->magic = qrep_get_be32(buf + 0);
	m->proto_version = qrep_get_be32(buf + 4);
	memcpy(m->mac, buf + 8, QREP_AUTH_MAC_SIZE);
}

void qrep_req_encode(const struct qrep_req_msg *m, uint8_t *buf)
{
	qrep_put_be32(buf + 0, m->magic);
	qrep_put_be16(buf + 4, m->op);
	qrep_put_be16(buf + 6, m->flags);
	qrep_put_be64(buf + 8, m->handle);
	qrep_put_be64(buf + 16, m->epoch);
	qrep_put_be64(buf + 24, m->block);
	qrep_put_be32(buf + 32, m->nblocks);
	qrep_put_be32(buf + 36, m->reserved);
	qrep_put_be64(buf + 40, m->version);
}

void qrep_req_decode(const uint8_t *buf, struct qrep_req_msg *m)
{
	m->magic = qrep_get_be32(buf + 0);
	m->op = qrep_get_be16(buf + 4);
	m->flags = qrep_get_be16(buf + 6);
	m->handle = qrep_get_be64(buf + 8);
	m->epoch = qrep_get_be64(buf + 16);
	m->block = qrep_get_be64(buf + 24);
	m->nblocks = qrep_get_be32(buf + 32);
	m->reserved = qrep_get_be32(buf + 36);
	m->version = qrep_get_be64(buf + 40);
}

void qrep_reply_encode(const struct qrep_reply_msg *m, uint8_t *buf)
{
	qrep_put_be32(buf + 0, m->magic);
	qrep_put_be32(buf + 4, m->status);
	qrep_put_be64(buf + 8, m->handle);
	qrep_put_be32(buf + 16, m->nblocks);
	qrep_put_be32(buf + 20, m->flags);
	qrep_put_be64(buf + 24, m->epoch);
}

void qrep_reply_decode(const uint8_t *buf, struct qrep_reply_msg *m)
{
	m->magic = qrep_get_be32(buf + 0);
	m->status = qrep_get_be32(buf + 4);
	m->handle = qrep_get_be64(buf + 8);
	m->nblocks = qrep_get_be32(buf + 16);
	m->flags = qrep_get_be32(buf + 20);
	m->epoch = qrep_get_be64(buf + 24);
}

static enum qrep_status fail(const char **why, const char *msg,
			     enum qrep_status st)
{
	if (why)
		*why = msg;
	return st;
}

enum qrep_status qrep_hello_check(const struct qrep_hello_msg *m,
				  const char **why)
{
	if (m->magic != QREP_HELLO_MAGIC)
		return fail(why, "bad hello magic", QREP_ERR_PROTO);
	if (m->proto_version != QREP_PROTO_VERSION)
		return fail(why, "unsupported protocol version",
			    QREP_ERR_PROTO);
	if (m->block_size != QREP_BLOCK_SIZE)
		return fail(why, "unsupported block size", QREP_ERR_SIZE);
	if (m->flags & ~QREP_HELLO_FLAGS_ALL)
		return fail(why, "unknown hello flags", QREP_ERR_INVAL);
	return fail(why, "ok", QREP_OK);
}

enum qrep_status qrep_hello_reply_check(const struct qrep_hello_reply_msg *m,
					const char **why)
{
	if (m->magic != QREP_HELLO_MAGIC)
		return fail(why, "bad hello reply magic", QREP_ERR_PROTO);
	if (m->proto_version != QREP_PROTO_VERSION)
		return fail(why, "unsupported protocol version",
			    QREP_ERR_PROTO);
	if (m->status >= __QREP_ERR_MAX && m->status != QREP_ERR_AUTH)
		return fail(why, "unknown status", QREP_ERR_INVAL);
	if (m->status == QREP_OK && m->block_size != QREP_BLOCK_SIZE)
		return fail(why, "unsupported block size", QREP_ERR_SIZE);
	return fail(why, "ok", QREP_OK);
}

/* SUMMARY: nblocks counts regions; each must start inside the device. */
static enum qrep_status summary_check(const struct qrep_req_msg *m,
				      uint64_t dev_blocks, const char **why)
{
	/* Rounded up without dev_blocks + 255, which could wrap. */
	uint64_t regions = (dev_blocks >> QREP_REGION_SHIFT) +
			   !!(dev_blocks % QREP_REGION_BLOCKS);

	if (m->block % QREP_REGION_BLOCKS)
		return fail(why, "SUMMARY not at a region boundary",
			    QREP_ERR_INVAL);
	if (m->block >> QREP_REGION_SHIFT >= regions ||
	    regions - (m->block >> QREP_REGION_SHIFT) < m->nblocks)
		return fail(why, "regions beyond the end of the device",
			    QREP_ERR_RANGE);
	return fail(why, "ok", QREP_OK);
}

enum qrep_status
qrep_auth_challenge_check(const struct qrep_auth_challenge_msg *m,
			  const char **why)
{
	if (m->magic != QREP_CHALLENGE_MAGIC)
		return fail(why, "bad challenge magic", QREP_ERR_PROTO);
	if (m->proto_version != QREP_PROTO_VERSION)
		return fail(why, "unsupported protocol version",
			    QREP_ERR_PROTO);
	if (m->method != QREP_AUTH_HMAC_SHA256)
		return fail(why, "unknown authentication method",
			    QREP_ERR_PROTO);
	if (m->reserved)
		return fail(why, "reserved field not zero", QREP_ERR_PROTO);
	return fail(why, "ok", QREP_OK);
}

enum qrep_status
qrep_auth_response_check(const struct qrep_auth_response_msg *m,
			 const char **why)
{
	if (m->magic != QREP_RESPONSE_MAGIC)
		return fail(why, "bad response magic", QREP_ERR_PROTO);
	if (m->method != QREP_AUTH_HMAC_SHA256)
		return fail(why, "unknown authentication method",
			    QREP_ERR_PROTO);
	return fail(why, "ok", QREP_OK);
}

enum qrep_status qrep_auth_proof_check(const struct qrep_auth_proof_msg *m,
				       const char **why)
{
	if (m->magic != QREP_PROOF_MAGIC)
		return fail(why, "bad proof magic", QREP_ERR_PROTO);
	if (m->proto_version != QREP_PROTO_VERSION)
		return fail(why, "unsupported protocol version",
			    QREP_ERR_PROTO);
	return fail(why, "ok", QREP_OK);
}

/*
 * EPOCH_PROPOSE names no blocks and carries no version: only its epoch,
 * the proposal, which must be a real one (0 is "no epoch" in a hello).
 */
static enum qrep_status epoch_propose_check(const struct qrep_req_msg *m,
					    const char **why)
{
	if (m->block || m->nblocks)
		return fail(why, "EPOCH_PROPOSE with blocks", QREP_ERR_INVAL);
	if (m->version)
		return fail(why, "EPOCH_PROPOSE with a version",
			    QREP_ERR_INVAL);
	if (!m->epoch)
		return fail(why, "EPOCH_PROPOSE of epoch 0", QREP_ERR_INVAL);
	return fail(why, "ok", QREP_OK);
}

enum qrep_status qrep_req_check(const struct qrep_req_msg *m,
				uint64_t dev_blocks, const char **why)
{
	if (m->magic != QREP_REQ_MAGIC)
		return fail(why, "bad request magic", QREP_ERR_INVAL);
	if (m->op < QREP_OP_READ || m->op >= __QREP_OP_MAX)
		return fail(why, "unknown op", QREP_ERR_INVAL);
	if (m->flags & ~QREP_REQ_FLAGS_ALL)
		return fail(why, "unknown request flags", QREP_ERR_INVAL);
	if (m->flags && m->op != QREP_OP_WRITE)
		return fail(why, "flags on a request other than WRITE",
			    QREP_ERR_INVAL);
	if ((m->flags & QREP_REQ_ROLLBACK) && !(m->flags & QREP_REQ_REPAIR))
		return fail(why, "ROLLBACK without REPAIR", QREP_ERR_INVAL);
	if (m->reserved)
		return fail(why, "reserved field not zero", QREP_ERR_INVAL);

	if (m->op == QREP_OP_FLUSH) {
		if (m->nblocks)
			return fail(why, "FLUSH with nblocks != 0",
				    QREP_ERR_INVAL);
		return fail(why, "ok", QREP_OK);
	}
	if (m->op == QREP_OP_EPOCH_PROPOSE)
		return epoch_propose_check(m, why);
	if (m->nblocks == 0)
		return fail(why, "nblocks is 0", QREP_ERR_INVAL);
	if (m->nblocks > QREP_MAX_REQ_BLOCKS)
		return fail(why, "nblocks above QREP_MAX_REQ_BLOCKS",
			    QREP_ERR_INVAL);
	if (m->op == QREP_OP_SUMMARY)
		return summary_check(m, dev_blocks, why);
	/* Written so that neither side can wrap: nblocks <= 256. */
	if (m->block > UINT64_MAX - m->nblocks)
		return fail(why, "block + nblocks wraps", QREP_ERR_RANGE);
	if (m->block + m->nblocks > dev_blocks)
		return fail(why, "blocks beyond the end of the device",
			    QREP_ERR_RANGE);
	return fail(why, "ok", QREP_OK);
}

enum qrep_status qrep_reply_check(const struct qrep_reply_msg *m,
				  const char **why)
{
	if (m->magic != QREP_REPLY_MAGIC)
		return fail(why, "bad reply magic", QREP_ERR_INVAL);
	if (m->status >= __QREP_ERR_MAX)
		return fail(why, "unknown status", QREP_ERR_INVAL);
	if (m->flags & ~QREP_REPLY_FLAGS_ALL)
		return fail(why, "unknown reply flags", QREP_ERR_INVAL);
	if (m->nblocks > QREP_MAX_REQ_BLOCKS)
		return fail(why, "nblocks above QREP_MAX_REQ_BLOCKS",
			    QREP_ERR_INVAL);
	/*
	 * The one error reply with data: an EPOCH_PROPOSE refused because
	 * the store holds the epoch or a newer one says which. Whether the
	 * request was a proposal is for the caller, who knows, to check.
	 */
	if (m->status != QREP_OK && m->nblocks &&
	    !(m->status == QREP_ERR_EPOCH && m->nblocks == 1))
		return fail(why, "error reply with data", QREP_ERR_INVAL);
	return fail(why, "ok", QREP_OK);
}

uint64_t qrep_req_payload_bytes(const struct qrep_req_msg *m)
{
	if (m->op != QREP_OP_WRITE)
		return 0;
	return (uint64_t)m->nblocks * QREP_BLOCK_SIZE;
}

size_t qrep_reply_payload_bytes(uint32_t op, uint32_t nblocks)
{
	switch (op) {
	case QREP_OP_READ:
		return (size_t)nblocks * (sizeof(uint64_t) + QREP_BLOCK_SIZE);
	case QREP_OP_VERSIONS:
	case QREP_OP_SUMMARY:
	case QREP_OP_EPOCH_PROPOSE:
		return (size_t)nblocks * sizeof(uint64_t);
	case QREP_OP_CHECKSUMS:
		return (size_t)nblocks * QREP_BLOCK_CHECK_SIZE;
	}
	return 0;
}

const char *qrep_status_str(uint32_t status)
{
	switch (status) {
	case QREP_OK:
		return "ok";
	case QREP_ERR_IO:
		return "I/O error on the store";
	case QREP_ERR_RANGE:
		return "blocks outside the device";
	case QREP_ERR_INVAL:
		return "malformed request";
	case QREP_ERR_EPOCH:
		return "stale epoch (fenced)";
	case QREP_ERR_CHECKSUM:
		return "stored checksum mismatch";
	case QREP_ERR_UUID:
		return "device UUID differs";
	case QREP_ERR_SIZE:
		return "device size or block size differs";
	case QREP_ERR_PROTO:
		return "protocol version or magic not understood";
	case QREP_ERR_JOINING:
		return "the store is joining: it has no epoch yet "
		       "(run 'qrep-target join' on its machine)";
	case QREP_ERR_AUTH:
		return "authentication failed";
	}
	return "unknown status";
}

const char *qrep_op_str(uint32_t op)
{
	switch (op) {
	case QREP_OP_READ:
		return "READ";
	case QREP_OP_WRITE:
		return "WRITE";
	case QREP_OP_FLUSH:
		return "FLUSH";
	case QREP_OP_VERSIONS:
		return "VERSIONS";
	case QREP_OP_SUMMARY:
		return "SUMMARY";
	case QREP_OP_CHECKSUMS:
		return "CHECKSUMS";
	case QREP_OP_EPOCH_PROPOSE:
		return "EPOCH_PROPOSE";
	}
	return "unknown";
}
