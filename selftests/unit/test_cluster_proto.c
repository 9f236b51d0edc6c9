// SPDX-License-Identifier: GPL-2.0
/*
 * qrepd's node-to-node datagrams (userspace/qrepd/cluster_proto.c):
 * encoding, every malformed shape, authentication, and replays.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "bytes.h"
#include "cluster_proto.h"

static const uint8_t uuid[QREP_UUID_SIZE] = {
	0x0b, 0x7c, 0x8f, 0x6e, 0x2d, 0x0a, 0x4a, 0x3b,
	0x9c, 0x1d, 0x5e, 0x6f, 0x7a, 0x8b, 0x9c, 0x0d,
};
static const uint32_t ids[] = { 1, 2, 3 };

static void secret_of(struct qrep_secret *s, const char *key)
{
	if (qrep_secret_set(s, key, strlen(key)))
		abort();
}

/* A sender: node @self, boot nonce filled with @boot. */
static void tx_init(struct qrep_cluster_tx *tx, uint32_t self, uint8_t boot,
		    const struct qrep_secret *secret)
{
	memset(tx, 0, sizeof(*tx));
	tx->self = self;
	memcpy(tx->uuid, uuid, sizeof(uuid));
	memset(tx->nonce, boot, sizeof(tx->nonce));
	tx->secret = secret;
}

static const struct qrep_election_msg heartbeat = {
	.type = QREP_MSG_HEARTBEAT, .from = 3, .round = 7, .epoch = 5,
	.seen_epoch = 6,
};

TEST(round_trip)
{
	struct qrep_cluster_dgram d;
	struct qrep_election_msg m;
	struct qrep_cluster_tx tx;
	struct qrep_secret secret;
	uint8_t buf[QREP_CLUSTER_MAX_SIZE];
	const char *why;
	size_t len;

	tx_init(&tx, 3, 0xaa, NULL);
	len = qrep_cluster_build(&tx, &heartbeat, 1, 0x5, buf);
	ASSERT_EQ(QREP_CLUSTER_HDR_SIZE, len);
	EXPECT_EQ(QREP_CLUSTER_MAGIC, qrep_get_be32(buf));
	ASSERT_EQ(QREP_CLUSTER_OK, qrep_cluster_decode(buf, len, &d, &why));
	EXPECT_EQ(QREP_MSG_HEARTBEAT, d.type);
	EXPECT_EQ(0, d.flags);
	EXPECT_EQ(3, d.from);
	EXPECT_EQ(1, d.to);
	EXPECT_EQ(7, d.round);
	EXPECT_EQ(0x5, d.uptodate);
	EXPECT_EQ(5, d.epoch);
	EXPECT_EQ(6, d.seen_epoch);
	EXPECT_EQ(1, d.seq);
	EXPECT_EQ(0xaa, d.nonce[15]);
	EXPECT_EQ(0, memcmp(d.uuid, uuid, sizeof(uuid)));
	qrep_cluster_to_msg(&d, &m);
	EXPECT_EQ(QREP_MSG_HEARTBEAT, m.type);
	EXPECT_EQ(3, m.from);
	EXPECT_EQ(7, m.round);
	EXPECT_EQ(5, m.epoch);
	EXPECT_EQ(6, m.seen_epoch);

	secret_of(&secret, "0123456789abcdef-secret");
	tx.secret = &secret;
	len = qrep_cluster_build(&tx, &heartbeat, 2, 0, buf);
	ASSERT_EQ(QREP_CLUSTER_MAX_SIZE, len);
	ASSERT_EQ(QREP_CLUSTER_OK, qrep_cluster_decode(buf, len, &d, &why));
	EXPECT_EQ(QREP_CLUSTER_F_MAC, d.flags);
	EXPECT_EQ(2, d.seq);
}

/* Only a HEARTBEAT carries up-to-date targets; the builder drops others. */
TEST(uptodate_only_in_heartbeat)
{
	struct qrep_election_msg m = heartbeat;
	struct qrep_cluster_dgram d;
	struct qrep_cluster_tx tx;
	uint8_t buf[QREP_CLUSTER_MAX_SIZE];
	const char *why;
	size_t len;

	tx_init(&tx, 3, 1, NULL);
	m.type = QREP_MSG_COORDINATOR;
	len = qrep_cluster_build(&tx, &m, 1, 0x7, buf);
	ASSERT_EQ(QREP_CLUSTER_OK, qrep_cluster_decode(buf, len, &d, &why));
	EXPECT_EQ(0, d.uptodate);
}

/* Each way of breaking a good datagram, and what decode says. */
TEST(malformed)
{
	static const struct {
		size_t off;		/* byte to set */
		size_t width;		/* 1, 2, 4 or 8 */
		uint64_t value;
		const char *why;
	} rows[] = {
		{ 0, 4, 0x51524551, "bad magic" },
		{ 4, 1, 2, "unknown version" },
		{ 5, 1, 0, "not a node-to-node message type" },
		{ 5, 1, QREP_MSG_EPOCH_PROPOSE, "not a node-to-node" },
		{ 5, 1, 0xff, "not a node-to-node" },
		{ 6, 2, 0x8000, "unknown flags" },
		{ 6, 2, QREP_CLUSTER_F_MAC, "size does not match" },
		{ 8, 4, 0, "bad node ids" },
		{ 12, 4, 0, "bad node ids" },
		{ 12, 4, 3, "bad node ids" },		/* to itself */
		{ 20, 4, 0x100, "cannot exist" },
		{ 24, 8, 7, "seen epoch below the epoch" },
		{ 40, 8, 0, "sequence number 0" },
	};
	struct qrep_cluster_dgram d;
	struct qrep_cluster_tx tx;
	uint8_t good[QREP_CLUSTER_MAX_SIZE], buf[QREP_CLUSTER_MAX_SIZE];
	const char *why;
	size_t i, len;

	tx_init(&tx, 3, 1, NULL);
	len = qrep_cluster_build(&tx, &heartbeat, 1, 0x1, good);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memcpy(buf, good, len);
		switch (rows[i].width) {
		case 1:
			buf[rows[i].off] = (uint8_t)rows[i].value;
			break;
		case 2:
			qrep_put_be16(buf + rows[i].off, (uint16_t)rows[i].value);
			break;
		case 4:
			qrep_put_be32(buf + rows[i].off, (uint32_t)rows[i].value);
			break;
		default:
			qrep_put_be64(buf + rows[i].off, rows[i].value);
		}
		EXPECT_EQ(QREP_CLUSTER_MALFORMED,
			  qrep_cluster_decode(buf, len, &d, &why))
			TH_LOG("row %zu accepted", i);
		EXPECT_NE(NULL, strstr(why, rows[i].why))
			TH_LOG("row %zu: '%s'", i, why);
	}
	/* Sizes: short, long, a MAC's worth without the flag. */
	EXPECT_EQ(QREP_CLUSTER_MALFORMED, qrep_cluster_decode(good, 0, &d, &why));
	EXPECT_EQ(QREP_CLUSTER_MALFORMED,
		  qrep_cluster_decode(good, len - 1, &d, &why));
	EXPECT_EQ(QREP_CLUSTER_MALFORMED,
		  qrep_cluster_decode(good, QREP_CLUSTER_MAX_SIZE, &d, &why));
	EXPECT_EQ(QREP_CLUSTER_MALFORMED,
		  qrep_cluster_decode(good, QREP_CLUSTER_MAX_SIZE + 1, &d, &why));
	/* An ACK with up-to-date targets. */
	memcpy(buf, good, len);
	buf[5] = QREP_MSG_ACK;
	EXPECT_EQ(QREP_CLUSTER_MALFORMED, qrep_cluster_decode(buf, len, &d, &why));
	EXPECT_NE(NULL, strstr(why, "outside a heartbeat"));
}

static enum qrep_cluster_verdict deliver(struct qrep_cluster_rx *rx,
					 const uint8_t *buf, size_t len)
{
	struct qrep_cluster_dgram d;
	const char *why;

	return qrep_cluster_accept(rx, buf, len, &d, &why);
}

TEST(addressing)
{
	struct qrep_cluster_rx rx;
	struct qrep_cluster_tx tx;
	uint8_t buf[QREP_CLUSTER_MAX_SIZE];
	size_t len;

	ASSERT_EQ(0, qrep_cluster_rx_init(&rx, 1, ids, 3, uuid, NULL));
	tx_init(&tx, 3, 1, NULL);
	len = qrep_cluster_build(&tx, &heartbeat, 1, 0, buf);
	EXPECT_EQ(QREP_CLUSTER_OK, deliver(&rx, buf, len));

	len = qrep_cluster_build(&tx, &heartbeat, 2, 0, buf);	/* to node 2 */
	EXPECT_EQ(QREP_CLUSTER_NOT_OURS, deliver(&rx, buf, len));

	tx_init(&tx, 9, 1, NULL);				/* a stranger */
	len = qrep_cluster_build(&tx, &heartbeat, 1, 0, buf);
	EXPECT_EQ(QREP_CLUSTER_NOT_OURS, deliver(&rx, buf, len));

	tx_init(&tx, 2, 1, NULL);
	tx.uuid[0] ^= 1;					/* another resource */
	len = qrep_cluster_build(&tx, &heartbeat, 1, 0, buf);
	EXPECT_EQ(QREP_CLUSTER_NOT_OURS, deliver(&rx, buf, len));
}

TEST(authentication)
{
	struct qrep_secret secret, other;
	struct qrep_cluster_rx rx, plain;
	struct qrep_cluster_tx tx;
	uint8_t buf[QREP_CLUSTER_MAX_SIZE];
	size_t len, i;

	secret_of(&secret, "the cluster's shared secret");
	secret_of(&other, "somebody else's secret!!");
	ASSERT_EQ(0, qrep_cluster_rx_init(&rx, 1, ids, 3, uuid, &secret));
	ASSERT_EQ(0, qrep_cluster_rx_init(&plain, 1, ids, 3, uuid, NULL));

	tx_init(&tx, 2, 1, &secret);
	len = qrep_cluster_build(&tx, &heartbeat, 1, 0, buf);
	EXPECT_EQ(QREP_CLUSTER_OK, deliver(&rx, buf, len));
	/* A receiver without a secret refuses a MAC it cannot check. */
	EXPECT_EQ(QREP_CLUSTER_BAD_MAC, deliver(&plain, buf, len));

	/* Any bit flipped anywhere: header (MAC no longer matches) or MAC. */
	for (i = 0; i < len; i++) {
		len = qrep_cluster_build(&tx, &heartbeat, 1, 0, buf);
		buf[i] ^= 0x10;
		EXPECT_NE(QREP_CLUSTER_OK, deliver(&rx, buf, len))
			TH_LOG("byte %zu flipped, accepted", i);
	}

	tx_init(&tx, 2, 2, &other);
	len = qrep_cluster_build(&tx, &heartbeat, 1, 0, buf);
	EXPECT_EQ(QREP_CLUSTER_BAD_MAC, deliver(&rx, buf, len));

	tx_init(&tx, 2, 3, NULL);				/* no MAC */
	len = qrep_cluster_build(&tx, &heartbeat, 1, 0, buf);
	EXPECT_EQ(QREP_CLUSTER_BAD_MAC, deliver(&rx, buf, len));

	/* A MAC-less header with a MAC flag and a forged (zero) MAC. */
	qrep_put_be16(buf + 6, QREP_CLUSTER_F_MAC);
	memset(buf + QREP_CLUSTER_HDR_SIZE, 0, QREP_CLUSTER_MAC_SIZE);
	EXPECT_EQ(QREP_CLUSTER_BAD_MAC,
		  deliver(&rx, buf, QREP_CLUSTER_MAX_SIZE));
}

TEST(replay)
{
	uint8_t first[QREP_CLUSTER_MAX_SIZE], buf[QREP_CLUSTER_MAX_SIZE];
	uint8_t old[QREP_CLUSTER_WINDOW + 2][QREP_CLUSTER_MAX_SIZE];
	struct qrep_cluster_rx rx;
	struct qrep_cluster_tx tx;
	struct qrep_secret secret;
	size_t len, i;

	secret_of(&secret, "the cluster's shared secret");
	ASSERT_EQ(0, qrep_cluster_rx_init(&rx, 1, ids, 3, uuid, &secret));
	tx_init(&tx, 2, 1, &secret);
	len = qrep_cluster_build(&tx, &heartbeat, 1, 0, first);
	EXPECT_EQ(QREP_CLUSTER_OK, deliver(&rx, first, len));
	EXPECT_EQ(QREP_CLUSTER_REPLAYED, deliver(&rx, first, len));

	/* Out of order within the window: each counts once. */
	for (i = 0; i < QREP_CLUSTER_WINDOW + 2; i++)
		qrep_cluster_build(&tx, &heartbeat, 1, 0, old[i]);
	EXPECT_EQ(QREP_CLUSTER_OK, deliver(&rx, old[QREP_CLUSTER_WINDOW + 1], len));
	EXPECT_EQ(QREP_CLUSTER_OK, deliver(&rx, old[2], len));
	EXPECT_EQ(QREP_CLUSTER_REPLAYED, deliver(&rx, old[2], len));
	/* Further back than the window: dropped, it cannot be told apart. */
	EXPECT_EQ(QREP_CLUSTER_REPLAYED, deliver(&rx, old[0], len));
	EXPECT_EQ(QREP_CLUSTER_REPLAYED, deliver(&rx, first, len));

	/* The sender restarts: a new nonce, numbering from 1 again. */
	tx_init(&tx, 2, 2, &secret);
	len = qrep_cluster_build(&tx, &heartbeat, 1, 0, buf);
	EXPECT_EQ(QREP_CLUSTER_OK, deliver(&rx, buf, len));
	/* The old boot's datagrams stay replays. */
	EXPECT_EQ(QREP_CLUSTER_REPLAYED, deliver(&rx, first, len));
	EXPECT_EQ(QREP_CLUSTER_REPLAYED, deliver(&rx, old[2], len));
	/* And the new boot goes on. */
	len = qrep_cluster_build(&tx, &heartbeat, 1, 0, buf);
	EXPECT_EQ(QREP_CLUSTER_OK, deliver(&rx, buf, len));
}

/*
 * Replays of many old boots cannot push out the live one: it is used at
 * every datagram, and the least recently used session goes first.
 */
TEST(live_session_survives)
{
	uint8_t boots[QREP_CLUSTER_SESSIONS + 2][QREP_CLUSTER_MAX_SIZE];
	uint8_t buf[QREP_CLUSTER_MAX_SIZE], live_first[QREP_CLUSTER_MAX_SIZE];
	struct qrep_cluster_tx live, old;
	struct qrep_cluster_rx rx;
	size_t len, i;

	ASSERT_EQ(0, qrep_cluster_rx_init(&rx, 1, ids, 3, uuid, NULL));
	for (i = 0; i < QREP_CLUSTER_SESSIONS + 2; i++) {
		tx_init(&old, 3, (uint8_t)(0x40 + i), NULL);
		len = qrep_cluster_build(&old, &heartbeat, 1, 0, boots[i]);
	}
	tx_init(&live, 3, 0x01, NULL);
	len = qrep_cluster_build(&live, &heartbeat, 1, 0, live_first);
	EXPECT_EQ(QREP_CLUSTER_OK, deliver(&rx, live_first, len));
	for (i = 0; i < QREP_CLUSTER_SESSIONS + 2; i++) {
		EXPECT_EQ(QREP_CLUSTER_OK, deliver(&rx, boots[i], len));
		len = qrep_cluster_build(&live, &heartbeat, 1, 0, buf);
		EXPECT_EQ(QREP_CLUSTER_OK, deliver(&rx, buf, len));
	}
	EXPECT_EQ(QREP_CLUSTER_REPLAYED, deliver(&rx, live_first, len));
}

TEST(rx_init)
{
	struct qrep_cluster_rx rx;
	uint32_t many[QREP_ELECTION_MAX_NODES + 1] = { 1 };

	EXPECT_EQ(-EINVAL, qrep_cluster_rx_init(&rx, 0, ids, 3, uuid, NULL));
	EXPECT_EQ(-EINVAL, qrep_cluster_rx_init(&rx, 1, many,
						QREP_ELECTION_MAX_NODES + 1,
						uuid, NULL));
}

TEST_HARNESS_MAIN
