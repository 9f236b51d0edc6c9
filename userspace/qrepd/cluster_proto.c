// SPDX-License-Identifier: GPL-2.0
/* qrepd's node-to-node datagrams: see cluster_proto.h. */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "cluster_proto.h"

/* Field offsets, as in the table of cluster_proto.h. */
enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 4,
	OFF_TYPE = 5,
	OFF_FLAGS = 6,
	OFF_FROM = 8,
	OFF_TO = 12,
	OFF_ROUND = 16,
	OFF_UPTODATE = 20,
	OFF_EPOCH = 24,
	OFF_SEEN = 32,
	OFF_SEQ = 40,
	OFF_NONCE = 48,
	OFF_UUID = 64,
	OFF_MAC = QREP_CLUSTER_HDR_SIZE,
};

_Static_assert(OFF_UUID + QREP_UUID_SIZE == QREP_CLUSTER_HDR_SIZE,
	       "the header ends with the UUID");
_Static_assert(QREP_ELECTION_MAX_TARGETS <= 32, "uptodate is a u32 of targets");
_Static_assert(QREP_CLUSTER_WINDOW == 64, "the window is one u64");

/* Targets a HEARTBEAT's uptodate may name. */
#define UPTODATE_VALID	((uint32_t)((1ULL << QREP_ELECTION_MAX_TARGETS) - 1))

size_t qrep_cluster_encode(const struct qrep_cluster_dgram *d,
			   const struct qrep_secret *secret, uint8_t *buf)
{
	uint16_t flags = (uint16_t)(d->flags & ~QREP_CLUSTER_F_MAC);

	if (secret)
		flags |= QREP_CLUSTER_F_MAC;
	qrep_put_be32(buf + OFF_MAGIC, QREP_CLUSTER_MAGIC);
	buf[OFF_VERSION] = QREP_CLUSTER_VERSION;
	buf[OFF_TYPE] = d->type;
	qrep_put_be16(buf + OFF_FLAGS, flags);
	qrep_put_be32(buf + OFF_FROM, d->from);
	qrep_put_be32(buf + OFF_TO, d->to);
	qrep_put_be32(buf + OFF_ROUND, d->round);
	qrep_put_be32(buf + OFF_UPTODATE, d->uptodate);
	qrep_put_be64(buf + OFF_EPOCH, d->epoch);
	qrep_put_be64(buf + OFF_SEEN, d->seen_epoch);
	qrep_put_be64(buf + OFF_SEQ, d->seq);
	memcpy(buf + OFF_NONCE, d->nonce, QREP_CLUSTER_NONCE_SIZE);
	memcpy(buf + OFF_UUID, d->uuid, QREP_UUID_SIZE);
	if (!secret)
		return QREP_CLUSTER_HDR_SIZE;
	if (qrep_auth_hmac(secret, QREP_CLUSTER_MAC_CONTEXT, buf,
			   QREP_CLUSTER_HDR_SIZE, buf + OFF_MAC))
		return 0;
	return QREP_CLUSTER_MAX_SIZE;
}

static enum qrep_cluster_verdict malformed(const char **why, const char *what)
{
	*why = what;
	return QREP_CLUSTER_MALFORMED;
}

enum qrep_cluster_verdict qrep_cluster_decode(const uint8_t *buf, size_t len,
					      struct qrep_cluster_dgram *d,
					      const char **why)
{
	if (len < QREP_CLUSTER_HDR_SIZE)
		return malformed(why, "shorter than a header");
	if (len > QREP_CLUSTER_MAX_SIZE)
		return malformed(why, "longer than a datagram can be");
	memset(d, 0, sizeof(*d));
	if (qrep_get_be32(buf + OFF_MAGIC) != QREP_CLUSTER_MAGIC)
		return malformed(why, "bad magic");
	if (buf[OFF_VERSION] != QREP_CLUSTER_VERSION)
		return malformed(why, "unknown version");
	d->type = buf[OFF_TYPE];
	d->flags = qrep_get_be16(buf + OFF_FLAGS);
	d->from = qrep_get_be32(buf + OFF_FROM);
	d->to = qrep_get_be32(buf + OFF_TO);
	d->round = qrep_get_be32(buf + OFF_ROUND);
	d->uptodate = qrep_get_be32(buf + OFF_UPTODATE);
	d->epoch = qrep_get_be64(buf + OFF_EPOCH);
	d->seen_epoch = qrep_get_be64(buf + OFF_SEEN);
	d->seq = qrep_get_be64(buf + OFF_SEQ);
	memcpy(d->nonce, buf + OFF_NONCE, QREP_CLUSTER_NONCE_SIZE);
	memcpy(d->uuid, buf + OFF_UUID, QREP_UUID_SIZE);

	if (d->flags & ~QREP_CLUSTER_F_ALL)
		return malformed(why, "unknown flags");
	if (len != (d->flags & QREP_CLUSTER_F_MAC ? QREP_CLUSTER_MAX_SIZE :
		    QREP_CLUSTER_HDR_SIZE))
		return malformed(why, "size does not match the MAC flag");
	if (d->type < QREP_MSG_ELECTION || d->type > QREP_MSG_HEARTBEAT)
		return malformed(why, "not a node-to-node message type");
	if (!d->from || !d->to || d->from == d->to)
		return malformed(why, "bad node ids");
	if (d->uptodate && d->type != QREP_MSG_HEARTBEAT)
		return malformed(why, "up-to-date targets outside a heartbeat");
	if (d->uptodate & ~UPTODATE_VALID)
		return malformed(why, "up-to-date targets that cannot exist");
	if (d->seen_epoch < d->epoch)
		return malformed(why, "seen epoch below the epoch");
	if (!d->seq)
		return malformed(why, "sequence number 0");
	*why = NULL;
	return QREP_CLUSTER_OK;
}

size_t qrep_cluster_build(struct qrep_cluster_tx *tx,
			  const struct qrep_election_msg *m, uint32_t to,
			  uint32_t uptodate, uint8_t *buf)
{
	struct qrep_cluster_dgram d = {
		.type = (uint8_t)m->type,
		.from = tx->self,
		.to = to,
		.round = m->round,
		.uptodate = m->type == QREP_MSG_HEARTBEAT ?
			    uptodate & UPTODATE_VALID : 0,
		.epoch = m->epoch,
		.seen_epoch = m->seen_epoch,
		.seq = ++tx->seq,
	};

	memcpy(d.nonce, tx->nonce, sizeof(d.nonce));
	memcpy(d.uuid, tx->uuid, sizeof(d.uuid));
	return qrep_cluster_encode(&d, tx->secret, buf);
}

int qrep_cluster_rx_init(struct qrep_cluster_rx *rx, uint32_t self,
			 const uint32_t *ids, unsigned int nr_ids,
			 const uint8_t *uuid, const struct qrep_secret *secret)
{
	if (!self || nr_ids > QREP_ELECTION_MAX_NODES)
		return -EINVAL;
	memset(rx, 0, sizeof(*rx));
	rx->self = self;
	rx->secret = secret;
	rx->nr_nodes = nr_ids;
	memcpy(rx->nodes, ids, nr_ids * sizeof(*ids));
	memcpy(rx->uuid, uuid, QREP_UUID_SIZE);
	return 0;
}

static int node_index(const struct qrep_cluster_rx *rx, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < rx->nr_nodes; i++)
		if (rx->nodes[i] == id)
			return (int)i;
	return -1;
}

/*
 * The session of @nonce for a sender: its own if known, else a free or
 * the least recently used one, reset (a new boot, or one forgotten).
 */
static struct qrep_cluster_session *
session_of(struct qrep_cluster_session *s, const uint8_t *nonce)
{
	struct qrep_cluster_session *victim = &s[0];
	unsigned int i;

	for (i = 0; i < QREP_CLUSTER_SESSIONS; i++)
		if (s[i].used && !memcmp(s[i].nonce, nonce,
					 QREP_CLUSTER_NONCE_SIZE))
			return &s[i];
	for (i = 0; i < QREP_CLUSTER_SESSIONS; i++) {
		if (!s[i].used) {
			victim = &s[i];
			break;
		}
		if (s[i].last_used < victim->last_used)
			victim = &s[i];
	}
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->nonce, nonce, QREP_CLUSTER_NONCE_SIZE);
	return victim;
}

/* Whether @seq is new for session @s (not changed). */
static bool seq_is_new(const struct qrep_cluster_session *s, uint64_t seq)
{
	uint64_t behind;

	if (!s->used || seq > s->top)
		return true;
	behind = s->top - seq;
	if (behind >= QREP_CLUSTER_WINDOW)
		return false;		/* too old to tell: dropped */
	return !(s->window & (1ULL << behind));
}

static void seq_record(struct qrep_cluster_session *s, uint64_t seq)
{
	uint64_t ahead;

	if (!s->used) {
		s->used = true;
		s->top = seq;
		s->window = 1;
		return;
	}
	if (seq > s->top) {
		ahead = seq - s->top;
		s->window = ahead >= QREP_CLUSTER_WINDOW ? 0 :
			    s->window << ahead;
		s->window |= 1;
		s->top = seq;
		return;
	}
	s->window |= 1ULL << (s->top - seq);
}

enum qrep_cluster_verdict qrep_cluster_accept(struct qrep_cluster_rx *rx,
					      const uint8_t *buf, size_t len,
					      struct qrep_cluster_dgram *d,
					      const char **why)
{
	struct qrep_cluster_session *s;
	enum qrep_cluster_verdict v;
	int from;

	v = qrep_cluster_decode(buf, len, d, why);
	if (v != QREP_CLUSTER_OK)
		return v;
	if (memcmp(d->uuid, rx->uuid, QREP_UUID_SIZE)) {
		*why = "for another resource (device UUID)";
		return QREP_CLUSTER_NOT_OURS;
	}
	if (d->to != rx->self) {
		*why = "for another node";
		return QREP_CLUSTER_NOT_OURS;
	}
	from = node_index(rx, d->from);
	if (from < 0) {
		*why = "from a node not in the configuration";
		return QREP_CLUSTER_NOT_OURS;
	}
	if (rx->secret && !(d->flags & QREP_CLUSTER_F_MAC)) {
		*why = "no MAC, and the resource has a secret";
		return QREP_CLUSTER_BAD_MAC;
	}
	if (!rx->secret && (d->flags & QREP_CLUSTER_F_MAC)) {
		*why = "a MAC, and this node has no secret-file";
		return QREP_CLUSTER_BAD_MAC;
	}
	if (rx->secret && !qrep_auth_hmac_ok(rx->secret,
					     QREP_CLUSTER_MAC_CONTEXT, buf,
					     QREP_CLUSTER_HDR_SIZE,
					     buf + OFF_MAC)) {
		*why = "wrong MAC (another secret, or altered)";
		return QREP_CLUSTER_BAD_MAC;
	}
	/*
	 * Only now, authenticated, may it touch the replay state. A nonce
	 * not known takes a fresh session, whose first datagram is always
	 * new: so a session is only ever replaced by an accepted datagram.
	 */
	s = session_of(rx->sessions[from], d->nonce);
	if (!seq_is_new(s, d->seq)) {
		*why = "seen before (a replay or a duplicate)";
		return QREP_CLUSTER_REPLAYED;
	}
	seq_record(s, d->seq);
	s->last_used = ++rx->clock;
	*why = NULL;
	return QREP_CLUSTER_OK;
}

void qrep_cluster_to_msg(const struct qrep_cluster_dgram *d,
			 struct qrep_election_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = (enum qrep_election_msg_type)d->type;
	m->from = d->from;
	m->round = d->round;
	m->epoch = d->epoch;
	m->seen_epoch = d->seen_epoch;
}

const char *qrep_cluster_verdict_name(enum qrep_cluster_verdict v)
{
	switch (v) {
	case QREP_CLUSTER_OK:
		return "ok";
	case QREP_CLUSTER_MALFORMED:
		return "malformed";
	case QREP_CLUSTER_NOT_OURS:
		return "not ours";
	case QREP_CLUSTER_BAD_MAC:
		return "bad MAC";
	case QREP_CLUSTER_REPLAYED:
		return "replayed";
	}
	return "unknown";
}
