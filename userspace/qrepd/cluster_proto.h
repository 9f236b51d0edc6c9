/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The datagrams qrepd nodes exchange over UDP: the election's node-to-node
 * messages (ELECTION, ACK, COORDINATOR, HEARTBEAT; election.h), one per
 * datagram, in a fixed big-endian layout. Pure code: no sockets, no clock,
 * so the unit tests and the fuzzer drive it directly.
 *
 * Layout (offsets in bytes; every field big-endian):
 *
 *    0  magic       u32  QREP_CLUSTER_MAGIC
 *    4  version     u8   QREP_CLUSTER_VERSION
 *    5  type        u8   enum qrep_election_msg_type, ELECTION..HEARTBEAT
 *    6  flags       u16  QREP_CLUSTER_F_*; others must be 0
 *    8  from        u32  sender's node id
 *   12  to          u32  receiver's node id
 *   16  round       u32  the election's round
 *   20  uptodate    u32  HEARTBEAT only: targets (bit i = replica i) the
 *                        primary's device has up to date; 0 otherwise
 *   24  epoch       u64  the sender's epoch (election.h)
 *   32  seen_epoch  u64  the largest epoch it has seen; >= epoch
 *   40  seq         u64  the sender's datagram number in this boot, from 1
 *   48  nonce       16   the sender's boot nonce (random at each start)
 *   64  uuid        16   the resource's device UUID
 *   80  mac         32   only with QREP_CLUSTER_F_MAC: HMAC-SHA256 with the
 *                        resource's secret over QREP_CLUSTER_MAC_CONTEXT and
 *                        bytes 0..79
 *
 * A receiver drops (and the daemon logs, rate-limited) a datagram that is
 * malformed, meant for another resource or node, from a stranger, whose
 * MAC is wrong, missing or unexpected, or that it has accepted before
 * (the boot nonce and sequence number: see struct qrep_cluster_rx).
 * Safety never depends on any of this (a target refuses an old epoch
 * whatever the nodes say; Documentation/election.rst); it keeps strangers
 * and replays from disturbing the election.
 */
#ifndef QREP_CLUSTER_PROTO_H
#define QREP_CLUSTER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/qrep_proto.h>

#include "auth.h"
#include "election.h"

#define QREP_CLUSTER_MAGIC	0x5152434cU	/* "QRCL" */
#define QREP_CLUSTER_VERSION	1
#define QREP_CLUSTER_NONCE_SIZE	16
#define QREP_CLUSTER_HDR_SIZE	80
#define QREP_CLUSTER_MAC_SIZE	QREP_AUTH_MAC_SIZE
#define QREP_CLUSTER_MAX_SIZE	(QREP_CLUSTER_HDR_SIZE + QREP_CLUSTER_MAC_SIZE)

#define QREP_CLUSTER_F_MAC	0x0001U	/* a MAC follows the header */
#define QREP_CLUSTER_F_ALL	QREP_CLUSTER_F_MAC

/* What a MAC starts with, so it is never mistaken for another qrep MAC. */
#define QREP_CLUSTER_MAC_CONTEXT	"qrep-cluster-v1"

/*
 * How many boots of each sender the receiver remembers (their nonces and
 * windows), least recently used first out: a replay of a datagram from
 * one of the last few boots of a node is dropped, and a node's live boot
 * is never pushed out by replays of old ones (it is used every heartbeat).
 */
#define QREP_CLUSTER_SESSIONS	4
/* Datagrams of one boot may arrive this far out of order and still count. */
#define QREP_CLUSTER_WINDOW	64

/* One datagram, in host order. */
struct qrep_cluster_dgram {
	uint8_t type;			/* enum qrep_election_msg_type */
	uint16_t flags;
	uint32_t from, to, round, uptodate;
	uint64_t epoch, seen_epoch, seq;
	uint8_t nonce[QREP_CLUSTER_NONCE_SIZE];
	uint8_t uuid[QREP_UUID_SIZE];
};

/* The sender's side: who we are and this boot's numbering. */
struct qrep_cluster_tx {
	uint32_t self;
	uint8_t uuid[QREP_UUID_SIZE];
	uint8_t nonce[QREP_CLUSTER_NONCE_SIZE];
	uint64_t seq;			/* of the last datagram built */
	const struct qrep_secret *secret;	/* NULL: no MAC */
};

struct qrep_cluster_session {
	bool used;
	uint8_t nonce[QREP_CLUSTER_NONCE_SIZE];
	uint64_t top;			/* highest seq accepted */
	uint64_t window;		/* bit i: seq top - i was accepted */
	uint64_t last_used;		/* for least recently used */
};

/* The receiver's side: what it accepts, and what it has accepted. */
struct qrep_cluster_rx {
	uint32_t self;
	uint8_t uuid[QREP_UUID_SIZE];
	const struct qrep_secret *secret;	/* NULL: MACs refused */
	unsigned int nr_nodes;
	uint32_t nodes[QREP_ELECTION_MAX_NODES];	/* every id, self too */
	uint64_t clock;				/* counts accepted datagrams */
	struct qrep_cluster_session sessions[QREP_ELECTION_MAX_NODES]
					    [QREP_CLUSTER_SESSIONS];
};

enum qrep_cluster_verdict {
	QREP_CLUSTER_OK,
	QREP_CLUSTER_MALFORMED,	/* size, magic, version, type, flags, fields */
	QREP_CLUSTER_NOT_OURS,	/* another resource, another node, a stranger */
	QREP_CLUSTER_BAD_MAC,	/* wrong, missing, or not expected */
	QREP_CLUSTER_REPLAYED,	/* accepted before, or too old */
};

/*
 * Encodes @d into @buf (QREP_CLUSTER_MAX_SIZE bytes), with a MAC if
 * @secret is not NULL (the MAC flag is set accordingly). Returns the
 * datagram's length, or 0 if libcrypto failed.
 */
size_t qrep_cluster_encode(const struct qrep_cluster_dgram *d,
			   const struct qrep_secret *secret, uint8_t *buf);

/*
 * Decodes and checks the shape of @len bytes: exactly the size its flags
 * imply, magic, version, a node-to-node type, known flags, non-zero and
 * distinct ids, uptodate only in a HEARTBEAT and only for existing
 * targets, seen_epoch >= epoch, seq > 0. The MAC is not checked. Returns
 * QREP_CLUSTER_OK or QREP_CLUSTER_MALFORMED with *why.
 */
enum qrep_cluster_verdict qrep_cluster_decode(const uint8_t *buf, size_t len,
					      struct qrep_cluster_dgram *d,
					      const char **why);

/*
 * Builds the next datagram carrying @m to node @to (and @uptodate, for a
 * HEARTBEAT) into @buf; returns its length, 0 if libcrypto failed.
 */
size_t qrep_cluster_build(struct qrep_cluster_tx *tx,
			  const struct qrep_election_msg *m, uint32_t to,
			  uint32_t uptodate, uint8_t *buf);

/*
 * Sets up @rx for node @self of the nodes @ids (self among them), the
 * resource's @uuid and @secret (NULL if it has none). 0, or -EINVAL.
 */
int qrep_cluster_rx_init(struct qrep_cluster_rx *rx, uint32_t self,
			 const uint32_t *ids, unsigned int nr_ids,
			 const uint8_t *uuid, const struct qrep_secret *secret);

/*
 * Everything a received datagram must pass, in order: its shape, that it
 * is for this resource and this node from another known node, its MAC
 * (required exactly when we have a secret), and that it is new. Only a
 * datagram that passes all of them changes @rx (it is recorded as seen)
 * and fills @d. *why says why one was dropped.
 */
enum qrep_cluster_verdict qrep_cluster_accept(struct qrep_cluster_rx *rx,
					      const uint8_t *buf, size_t len,
					      struct qrep_cluster_dgram *d,
					      const char **why);

/* The election message a datagram carries. */
void qrep_cluster_to_msg(const struct qrep_cluster_dgram *d,
			 struct qrep_election_msg *m);

const char *qrep_cluster_verdict_name(enum qrep_cluster_verdict v);

#endif /* QREP_CLUSTER_PROTO_H */
