/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Encoding, decoding and validation of the qrep wire protocol
 * (include/uapi/linux/qrep_proto.h, Documentation/protocol.rst).
 *
 * The *_msg structures hold a message in host byte order. Encoding writes
 * exactly QREP_*_SIZE bytes; decoding reads exactly that many and cannot
 * fail: whether the content makes sense is the job of the check functions,
 * which treat every byte as untrusted and say what was wrong.
 */
#ifndef QREP_LIB_PROTO_H
#define QREP_LIB_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <linux/qrep_proto.h>

struct qrep_hello_msg {
	uint32_t magic;
	uint32_t proto_version;
	uint8_t uuid[QREP_UUID_SIZE];
	uint64_t size;
	uint32_t block_size;
	uint32_t flags;
	uint64_t epoch;
};

struct qrep_hello_reply_msg {
	uint32_t magic;
	uint32_t proto_version;
	uint32_t status;
	uint32_t block_size;
	uint8_t uuid[QREP_UUID_SIZE];
	uint64_t size;
	uint64_t max_version;
	uint64_t epoch;
};

struct qrep_auth_challenge_msg {
	uint32_t magic;
	uint32_t proto_version;
	uint32_t method;
	uint32_t reserved;
	uint8_t nonce[QREP_AUTH_NONCE_SIZE];
};

struct qrep_auth_response_msg {
	uint32_t magic;
	uint32_t method;
	uint8_t nonce[QREP_AUTH_NONCE_SIZE];
	uint8_t mac[QREP_AUTH_MAC_SIZE];
};

struct qrep_auth_proof_msg {
	uint32_t magic;
	uint32_t proto_version;
	uint8_t mac[QREP_AUTH_MAC_SIZE];
};

struct qrep_req_msg {
	uint32_t magic;
	uint16_t op;
	uint16_t flags;
	uint64_t handle;
	uint64_t epoch;
	uint64_t block;
	uint32_t nblocks;
	uint32_t reserved;
	uint64_t version;
};

struct qrep_reply_msg {
	uint32_t magic;
	uint32_t status;
	uint64_t handle;
	uint32_t nblocks;
	uint32_t flags;
	uint64_t epoch;
};

void qrep_hello_encode(const struct qrep_hello_msg *m, uint8_t *buf);
void qrep_hello_decode(const uint8_t *buf, struct qrep_hello_msg *m);
void qrep_hello_reply_encode(const struct qrep_hello_reply_msg *m,
			     uint8_t *buf);
void qrep_hello_reply_decode(const uint8_t *buf,
			     struct qrep_hello_reply_msg *m);
void qrep_auth_challenge_encode(const struct qrep_auth_challenge_msg *m,
				uint8_t *buf);
void qrep_auth_challenge_decode(const uint8_t *buf,
				struct qrep_auth_challenge_msg *m);
void qrep_auth_response_encode(const struct qrep_auth_response_msg *m,
			       uint8_t *buf);
void qrep_auth_response_decode(const uint8_t *buf,
			       struct qrep_auth_response_msg *m);
void qrep_auth_proof_encode(const struct qrep_auth_proof_msg *m,
			    uint8_t *buf);
void qrep_auth_proof_decode(const uint8_t *buf, struct qrep_auth_proof_msg *m);
void qrep_req_encode(const struct qrep_req_msg *m, uint8_t *buf);
void qrep_req_decode(const uint8_t *buf, struct qrep_req_msg *m);
void qrep_reply_encode(const struct qrep_reply_msg *m, uint8_t *buf);
void qrep_reply_decode(const uint8_t *buf, struct qrep_reply_msg *m);

/*
 * Checks a hello as the target does before looking at its store: magic and
 * protocol version (QREP_ERR_PROTO), block size (QREP_ERR_SIZE), unknown
 * flags (QREP_ERR_INVAL). UUID and device size are the caller's to compare.
 * Returns QREP_OK or an error status; *why, if not NULL, is set to a
 * static description of the problem.
 */
enum qrep_status qrep_hello_check(const struct qrep_hello_msg *m,
				  const char **why);

/*
 * Checks the shape of a hello reply as the client does (magic, version,
 * a known status: enum qrep_status or QREP_ERR_AUTH).
 */
enum qrep_status qrep_hello_reply_check(const struct qrep_hello_reply_msg *m,
					const char **why);

/*
 * The shape of the authentication messages (magic, version, method,
 * reserved fields): QREP_OK or QREP_ERR_PROTO, with *why set. Whether a
 * proof is right is lib/auth.c's to say.
 */
enum qrep_status
qrep_auth_challenge_check(const struct qrep_auth_challenge_msg *m,
			  const char **why);
enum qrep_status
qrep_auth_response_check(const struct qrep_auth_response_msg *m,
			 const char **why);
enum qrep_status qrep_auth_proof_check(const struct qrep_auth_proof_msg *m,
				       const char **why);

/*
 * Checks a request against a device of dev_blocks blocks.
 *
 * QREP_ERR_INVAL: the header itself is malformed (magic, op, flags,
 * reserved, nblocks for the op). The stream cannot be trusted after that.
 * QREP_ERR_RANGE: well formed, but the blocks lie (partly) outside the
 * device or block + nblocks wraps. The stream is still in step: a WRITE's
 * data follows and must be consumed.
 */
enum qrep_status qrep_req_check(const struct qrep_req_msg *m,
				uint64_t dev_blocks, const char **why);

/*
 * Checks a reply header as a client does (magic, nblocks, flags). An
 * error reply carries nothing, except QREP_ERR_EPOCH with one entry,
 * which is what a refused EPOCH_PROPOSE looks like: the caller, knowing
 * its request, checks the count against it.
 */
enum qrep_status qrep_reply_check(const struct qrep_reply_msg *m,
				  const char **why);

/* Bytes of data following a request header on the wire. */
uint64_t qrep_req_payload_bytes(const struct qrep_req_msg *m);

/*
 * EPOCH_PROPOSE asks for no blocks, but its reply, accepted or refused
 * with QREP_ERR_EPOCH, carries this many entries: the store's epoch.
 */
#define QREP_EPOCH_PROPOSE_REPLY_ENTRIES	1

/*
 * Bytes following a successful reply of nblocks to a request of op (for
 * EPOCH_PROPOSE, nblocks is the reply's: QREP_EPOCH_PROPOSE_REPLY_ENTRIES).
 */
size_t qrep_reply_payload_bytes(uint32_t op, uint32_t nblocks);

const char *qrep_status_str(uint32_t status);
const char *qrep_op_str(uint32_t op);

#endif /* QREP_LIB_PROTO_H */
