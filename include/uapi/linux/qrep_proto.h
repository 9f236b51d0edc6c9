/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * qrep wire protocol: the bytes exchanged between a primary (qrep.ko, or a
 * user-space tool) and a qrep-target over TCP.
 *
 * This header holds on-wire structures only. It is shared by the kernel
 * module and by user space, so it uses nothing but <linux/types.h>.
 *
 * Every multi-byte field is big-endian. Every structure has a fixed size
 * (checked at build time on both sides) and no implicit padding.
 *
 * A connection starts with a handshake done in user space: the client
 * sends struct qrep_hello, the target answers with struct qrep_hello_reply.
 * When both ends share a secret, the client sets QREP_HELLO_F_AUTH and an
 * HMAC-SHA256 challenge-response runs between the two (struct
 * qrep_auth_challenge, struct qrep_auth_response, and struct
 * qrep_auth_proof after the hello reply): see Documentation/protocol.rst.
 * After that the connection carries requests (struct qrep_req, followed for
 * WRITE by the data) and replies (struct qrep_reply, followed for READ by
 * one version per block and then the data). Replies may come in any order;
 * the handle ties a reply to its request.
 */
#ifndef _UAPI_LINUX_QREP_PROTO_H
#define _UAPI_LINUX_QREP_PROTO_H

#include <linux/types.h>

#define QREP_PROTO_VERSION	1

#define QREP_HELLO_MAGIC	0x5152484cU	/* "QRHL" */
#define QREP_REQ_MAGIC		0x51524551U	/* "QREQ" */
#define QREP_REPLY_MAGIC	0x51525250U	/* "QRRP" */
#define QREP_CHALLENGE_MAGIC	0x51524348U	/* "QRCH" */
#define QREP_RESPONSE_MAGIC	0x51525253U	/* "QRRS" */
#define QREP_PROOF_MAGIC	0x51525046U	/* "QRPF" */

/* Every store, request and device speaks in blocks of this size. */
#define QREP_BLOCK_SHIFT	12
#define QREP_BLOCK_SIZE		(1U << QREP_BLOCK_SHIFT)

/* Largest READ or WRITE a single request may carry: 1 MiB. */
#define QREP_MAX_REQ_BLOCKS	256U

#define QREP_UUID_SIZE		16

enum qrep_op {
	QREP_OP_READ = 1,	/* reply: nblocks versions, then the data */
	QREP_OP_WRITE = 2,	/* request carries data; one version for all */
	QREP_OP_FLUSH = 3,	/* everything acknowledged before is durable */
	QREP_OP_VERSIONS = 4,	/* reply: nblocks versions, no data */
	QREP_OP_SUMMARY = 5,	/* reply: one summary per region */
	QREP_OP_CHECKSUMS = 6,	/* reply: nblocks struct qrep_block_check */
	QREP_OP_EPOCH_PROPOSE = 7, /* reply: one __be64, the store's epoch */
	__QREP_OP_MAX,
};

/*
 * A region: QREP_REGION_BLOCKS consecutive blocks starting at a multiple
 * of it (the last region of a device may be shorter). The unit in which
 * a primary records what a replica missed, and the unit of SUMMARY.
 *
 * SUMMARY: block is the first block of a region, nblocks the number of
 * regions (1..QREP_MAX_REQ_BLOCKS); each must start inside the device.
 * The reply carries one __be64 per region: the FNV-1a 64-bit hash of the
 * big-endian versions of its blocks, in order. Equal summaries mean equal
 * versions, up to a hash collision; unequal ones mean some block differs.
 * A block found torn (CHECKSUMS: version 0, QREP_CHECK_BAD) is hashed as
 * QREP_SUMMARY_TORN_VERSION, which no block is ever stored at, and its
 * region's summary has QREP_SUMMARY_TORN set; every other summary has it
 * clear. So a torn block never looks like a block never written, and a
 * region holding one is seen as such even where every replica holds it
 * torn (Documentation/durability.rst, "Torn blocks at a target").
 */
#define QREP_REGION_SHIFT	8
#define QREP_REGION_BLOCKS	(1U << QREP_REGION_SHIFT)
#define QREP_FNV64_OFFSET	0xcbf29ce484222325ULL
#define QREP_FNV64_PRIME	0x100000001b3ULL
#define QREP_SUMMARY_TORN_VERSION	0xffffffffffffffffULL
#define QREP_SUMMARY_TORN	0x1ULL

/*
 * One block in a CHECKSUMS reply: its version, the checksum its metadata
 * record holds, and whether the data on the store still matches it.
 */
struct qrep_block_check {
	__be64 version;
	__be32 crc;			/* CRC32C of the data, as recorded */
	__be32 flags;			/* QREP_CHECK_* */
};

#define QREP_CHECK_BAD		0x1U	/* the data does not match the crc */

/*
 * QREP_OP_EPOCH_PROPOSE (the election, Documentation/election.rst): the
 * request's epoch field is the proposed epoch; block and nblocks are 0.
 * The target answers QREP_OK only if this very request raised its epoch,
 * durably, from below the proposal to exactly it; otherwise (it already
 * holds that epoch or a newer one) QREP_ERR_EPOCH. Either way the reply
 * has nblocks = 1 and carries one __be64: the store's epoch afterwards.
 */

/* Request flags. Unknown flags are refused with QREP_ERR_INVAL. */
#define QREP_REQ_FUA		0x0001U	/* WRITE durable before reply */
/*
 * WRITE: also replace blocks whose stored version equals the request's.
 * For repairing a corrupt copy with the same write's good data; a write
 * of a given version carries the same data wherever it goes.
 */
#define QREP_REQ_REPAIR		0x0002U
/*
 * WRITE, with QREP_REQ_REPAIR only: also replace blocks whose stored
 * version belongs to an epoch older than the target's (the request's),
 * whatever the request's version; version 0 makes a block "never
 * written" again. A resync's rollback of a deposed primary's write that
 * the current epoch's quorum does not hold (Documentation/durability.rst,
 * D3). A block stored at a version of the current epoch is kept.
 */
#define QREP_REQ_ROLLBACK	0x0004U
#define QREP_REQ_FLAGS_ALL	(QREP_REQ_FUA | QREP_REQ_REPAIR | \
				 QREP_REQ_ROLLBACK)

/* Reply flags. */
#define QREP_REPLY_OLDER_IGNORED 0x0001U /* WRITE: some blocks held newer */

enum qrep_status {
	QREP_OK = 0,
	QREP_ERR_IO = 1,		/* the store failed a read or write */
	QREP_ERR_RANGE = 2,		/* blocks outside the device */
	QREP_ERR_INVAL = 3,		/* malformed request */
	QREP_ERR_EPOCH = 4,		/* request from an older epoch: fenced */
	QREP_ERR_CHECKSUM = 5,		/* stored checksum does not match */
	QREP_ERR_UUID = 6,		/* handshake: another device's store */
	QREP_ERR_SIZE = 7,		/* handshake: size or block size differs */
	QREP_ERR_PROTO = 8,		/* handshake: protocol version unknown */
	/*
	 * The store is joining (a replacement, made by "qrep-target init
	 * --replace"): it has not learned the epoch the others hold, so it
	 * refuses every hello (and could take no write or vote) until
	 * "qrep-target join" gives it one (Documentation/election.rst).
	 */
	QREP_ERR_JOINING = 9,
	__QREP_ERR_MAX,
};

/* Client -> target, once, first thing on a new connection. */
struct qrep_hello {
	__be32 magic;			/* QREP_HELLO_MAGIC */
	__be32 proto_version;		/* QREP_PROTO_VERSION */
	__u8 uuid[QREP_UUID_SIZE];	/* the device this client serves */
	__be64 size;			/* device size in bytes */
	__be32 block_size;		/* QREP_BLOCK_SIZE */
	__be32 flags;			/* QREP_HELLO_F_*; others must be 0 */
	__be64 epoch;			/* client's epoch */
};

/* Hello flags. Unknown flags are refused with QREP_ERR_INVAL. */
#define QREP_HELLO_F_AUTH	0x00000001U /* challenge-response follows */
#define QREP_HELLO_FLAGS_ALL	QREP_HELLO_F_AUTH

/*
 * Hello reply status: authentication failed, or only one side has a
 * secret. Only ever in a hello reply, never in a reply to a request, so it
 * lies outside enum qrep_status (whose every value qrep.ko may meet in a
 * reply and names).
 */
#define QREP_ERR_AUTH		0x100U

/* Authentication: one method, HMAC-SHA256 over a shared secret. */
#define QREP_AUTH_HMAC_SHA256	1U
#define QREP_AUTH_NONCE_SIZE	32
#define QREP_AUTH_MAC_SIZE	32

/* Target -> client, the answer to struct qrep_hello. */
struct qrep_hello_reply {
	__be32 magic;			/* QREP_HELLO_MAGIC */
	__be32 proto_version;		/* QREP_PROTO_VERSION */
	__be32 status;			/* enum qrep_status, QREP_ERR_AUTH */
	__be32 block_size;
	__u8 uuid[QREP_UUID_SIZE];	/* the store's device UUID */
	__be64 size;			/* the store's size in bytes */
	__be64 max_version;		/* highest block version in the store */
	__be64 epoch;			/* highest epoch the store accepted */
};

/*
 * Target -> client, instead of the hello reply, when the hello asked for
 * QREP_HELLO_F_AUTH and the target has a secret: the target's nonce.
 */
struct qrep_auth_challenge {
	__be32 magic;			/* QREP_CHALLENGE_MAGIC */
	__be32 proto_version;		/* QREP_PROTO_VERSION */
	__be32 method;			/* QREP_AUTH_HMAC_SHA256 */
	__be32 reserved;		/* must be 0 */
	__u8 nonce[QREP_AUTH_NONCE_SIZE];	/* the target's, fresh */
};

/* Client -> target: the client's nonce and its proof. */
struct qrep_auth_response {
	__be32 magic;			/* QREP_RESPONSE_MAGIC */
	__be32 method;			/* QREP_AUTH_HMAC_SHA256 */
	__u8 nonce[QREP_AUTH_NONCE_SIZE];	/* the client's, fresh */
	__u8 mac[QREP_AUTH_MAC_SIZE];	/* HMAC, "client->target" */
};

/*
 * Target -> client, right after the hello reply of a connection whose
 * client proved itself: the target's proof, covering that reply too.
 */
struct qrep_auth_proof {
	__be32 magic;			/* QREP_PROOF_MAGIC */
	__be32 proto_version;		/* QREP_PROTO_VERSION */
	__u8 mac[QREP_AUTH_MAC_SIZE];	/* HMAC, "target->client" */
};

/* Client -> target: one request. WRITE is followed by nblocks blocks. */
struct qrep_req {
	__be32 magic;			/* QREP_REQ_MAGIC */
	__be16 op;			/* enum qrep_op */
	__be16 flags;			/* QREP_REQ_* */
	__be64 handle;			/* echoed in the reply */
	__be64 epoch;			/* refused if older than the store's */
	__be64 block;			/* first block */
	__be32 nblocks;			/* 1..QREP_MAX_REQ_BLOCKS; 0 for FLUSH */
	__be32 reserved;		/* must be 0 */
	__be64 version;			/* WRITE: stamped on every block */
};

/*
 * Target -> client: one reply. A successful READ is followed by nblocks
 * __be64 versions and then nblocks blocks of data; VERSIONS and SUMMARY
 * by nblocks __be64 values; CHECKSUMS by nblocks struct qrep_block_check.
 * Otherwise nothing follows and nblocks is 0.
 */
struct qrep_reply {
	__be32 magic;			/* QREP_REPLY_MAGIC */
	__be32 status;			/* enum qrep_status */
	__be64 handle;			/* the request's handle */
	__be32 nblocks;			/* READ: blocks that follow */
	__be32 flags;			/* QREP_REPLY_* */
	__be64 epoch;			/* the store's epoch */
};

#define QREP_HELLO_SIZE		48
#define QREP_HELLO_REPLY_SIZE	56
#define QREP_AUTH_CHALLENGE_SIZE	48
#define QREP_AUTH_RESPONSE_SIZE	72
#define QREP_AUTH_PROOF_SIZE	40
#define QREP_REQ_SIZE		48
#define QREP_REPLY_SIZE		32
#define QREP_BLOCK_CHECK_SIZE	16

#endif /* _UAPI_LINUX_QREP_PROTO_H */
