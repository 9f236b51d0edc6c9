// SPDX-License-Identifier: GPL-2.0
/*
 * qrepd's node-to-node datagrams (userspace/qrepd/cluster_proto.c) as
 * they arrive from the network: anything at all.
 *
 * Input: a stream of datagrams, each one length byte and that many bytes
 * (a length past the end takes what is left), delivered in order to node
 * 1 of nodes 1, 2, 3 twice over: a receiver with the resource's secret
 * (FUZZ_CLUSTER_SECRET) and one without.
 *
 * Invariants:
 *  - decode and accept return a known verdict, with a reason exactly when
 *    they refuse;
 *  - whatever accept takes, decode takes, and it is addressed to node 1,
 *    from node 2 or 3, of this resource, with a MAC exactly when the
 *    receiver has a secret;
 *  - a decoded datagram without a MAC encodes back to the same bytes
 *    (one encoding per message), and one with a MAC keeps its header;
 *  - a datagram accepted once is refused as a replay when it comes again.
 */
#include <string.h>

#include "cluster_proto.h"
#include "fuzz.h"

static const uint32_t ids[] = { 1, 2, 3 };

static void check_verdict(enum qrep_cluster_verdict v, const char *why)
{
	FUZZ_ASSERT(v >= QREP_CLUSTER_OK && v <= QREP_CLUSTER_REPLAYED);
	FUZZ_ASSERT((v == QREP_CLUSTER_OK) == (why == NULL));
}

static void one(struct qrep_cluster_rx *rx, const uint8_t *buf, size_t len)
{
	uint8_t again[QREP_CLUSTER_MAX_SIZE];
	struct qrep_cluster_dgram d, d2;
	enum qrep_cluster_verdict v, v2;
	const char *why = "unset";
	size_t n;

	v = qrep_cluster_decode(buf, len, &d, &why);
	check_verdict(v, why);
	if (v == QREP_CLUSTER_OK) {
		n = qrep_cluster_encode(&d, NULL, again);
		FUZZ_ASSERT(n == QREP_CLUSTER_HDR_SIZE);
		if (d.flags & QREP_CLUSTER_F_MAC)
			/* Our encoding without the MAC: same but the flag. */
			FUZZ_ASSERT(!memcmp(again + 8, buf + 8,
					    QREP_CLUSTER_HDR_SIZE - 8));
		else
			FUZZ_ASSERT(n == len && !memcmp(again, buf, len));
	}

	why = "unset";
	v2 = qrep_cluster_accept(rx, buf, len, &d2, &why);
	check_verdict(v2, why);
	if (v2 != QREP_CLUSTER_OK)
		return;
	FUZZ_ASSERT(v == QREP_CLUSTER_OK);
	FUZZ_ASSERT(d2.to == 1 && (d2.from == 2 || d2.from == 3));
	FUZZ_ASSERT(!memcmp(d2.uuid, rx->uuid, QREP_UUID_SIZE));
	FUZZ_ASSERT(!!(d2.flags & QREP_CLUSTER_F_MAC) == (rx->secret != NULL));
	v2 = qrep_cluster_accept(rx, buf, len, &d2, &why);
	FUZZ_ASSERT(v2 == QREP_CLUSTER_REPLAYED);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct qrep_cluster_rx with, without;
	static struct qrep_secret secret;
	static bool ready;
	uint8_t uuid[QREP_UUID_SIZE];
	size_t len;

	if (!ready) {
		FUZZ_ASSERT(!qrep_secret_set(&secret, FUZZ_CLUSTER_SECRET,
					     strlen(FUZZ_CLUSTER_SECRET)));
		ready = true;
	}
	memset(uuid, FUZZ_CLUSTER_UUID_BYTE, sizeof(uuid));
	FUZZ_ASSERT(!qrep_cluster_rx_init(&with, 1, ids, 3, uuid, &secret));
	FUZZ_ASSERT(!qrep_cluster_rx_init(&without, 1, ids, 3, uuid, NULL));
	while (size) {
		len = data[0];
		data++;
		size--;
		if (len > size)
			len = size;
		one(&with, data, len);
		one(&without, data, len);
		data += len;
		size -= len;
	}
	return 0;
}
