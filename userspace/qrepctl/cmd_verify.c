// SPDX-License-Identifier: GPL-2.0
/*
 * qrepctl verify: reads every block's version and checksum on every
 * up-to-date replica (each target reads its own data and checks it, so
 * only 16 bytes per block cross the network) and reports blocks whose
 * copies disagree: a copy whose data no longer matches its checksum, or
 * two copies of one version with different checksums. With --repair, a
 * bad copy is rewritten from a good copy of the newest version; so is,
 * in mirror mode, a valid copy of an older version. Every up-to-date
 * mirror replica acknowledged every write, so one still holding an
 * older version lost a write it acknowledged: its disk dropped it (a
 * disk that lies, Documentation/durability.rst). In quorum mode an
 * older version is a replica outside a write quorum, which reads and
 * resync deal with, not verify.
 *
 * Replicas may differ for a moment while a write is on its way; a block
 * that differs is looked at again before it is reported.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/qrep.h>

#include "bytes.h"
#include "peer.h"
#include "qrepctl.h"
#include "resync_driver.h"
#include "view.h"

/* How long a disagreement may last before it is one (a write in flight). */
#define QREP_VERIFY_RECHECK_US		200000

struct copy {
	uint64_t version;
	uint32_t crc;
	bool bad;
};

struct verify {
	const struct qrep_config *cfg;
	struct qrep_peer peers[QREP_MAX_REPLICAS];
	unsigned int nr;		/* peers in use */
	unsigned int slot[QREP_MAX_REPLICAS];
	uint8_t meta[QREP_MAX_REQ_BLOCKS * QREP_BLOCK_CHECK_SIZE];
	uint8_t versions[QREP_MAX_REQ_BLOCKS * sizeof(uint64_t)];
	uint8_t data[QREP_BLOCK_SIZE];
	bool repair;
	uint64_t blocks, mismatches, repaired;
};

static int checks(struct verify *v, unsigned int p, uint64_t block,
		  uint32_t n, struct copy *out)
{
	const uint8_t *e;
	uint32_t i;
	int err;

	err = qrep_peer_call(&v->peers[p], QREP_OP_CHECKSUMS, 0, block, n, 0,
			     NULL, v->meta, NULL);
	if (err) {
		fprintf(stderr, "qrepctl: verify: %s\n", v->peers[p].error);
		return err;
	}
	for (i = 0; i < n; i++) {
		e = v->meta + (size_t)i * QREP_BLOCK_CHECK_SIZE;
		out[i].version = qrep_get_be64(e);
		out[i].crc = qrep_get_be32(e + 8);
		out[i].bad = qrep_get_be32(e + 12) & QREP_CHECK_BAD;
	}
	return 0;
}

/* The copies of one block agree: no bad one, one checksum per version. */
static bool agree(const struct copy *c, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (c[i].bad || c[i].version != c[0].version ||
		    c[i].crc != c[0].crc)
			return false;
	return true;
}

/* Rewrites @bad's copy of @block from @good's, at the good version. */
static int repair(struct verify *v, uint64_t block, unsigned int good,
		  unsigned int bad)
{
	uint64_t version;
	int err;

	err = qrep_peer_call(&v->peers[good], QREP_OP_READ, 0, block, 1, 0,
			     NULL, v->versions, v->data);
	if (err)
		return err;
	version = qrep_get_be64(v->versions);
	err = qrep_peer_call(&v->peers[bad], QREP_OP_WRITE, QREP_REQ_REPAIR,
			     block, 1, version, v->data, NULL, NULL);
	if (!err)
		v->repaired++;
	return err;
}

/* --repair rewrites @c from the newest good copy: see the top. */
static bool repairable(const struct verify *v, const struct copy *c,
		       uint64_t newest)
{
	if (c->bad)
		return c->version <= newest;
	return v->cfg->mode == QREP_MODE_MIRROR && c->version < newest;
}

static void check_block(struct verify *v, uint64_t block)
{
	struct copy c[QREP_MAX_REPLICAS];
	unsigned int p, good = v->nr;
	uint64_t newest = 0;

	usleep(QREP_VERIFY_RECHECK_US);
	for (p = 0; p < v->nr; p++)
		if (checks(v, p, block, 1, &c[p]))
			return;
	if (agree(c, v->nr))
		return;
	v->mismatches++;
	for (p = 0; p < v->nr; p++)
		if (!c[p].bad && c[p].version >= newest) {
			newest = c[p].version;
			good = p;
		}
	for (p = 0; p < v->nr; p++) {
		const char *name = v->cfg->replicas[v->slot[p]].name;

		if (c[p].bad)
			printf("block %" PRIu64 ": %s's copy (version %" PRIu64
			       ") does not match its checksum\n", block, name,
			       c[p].version);
		else if (c[p].version == newest && c[p].crc != c[good].crc)
			printf("block %" PRIu64 ": %s holds version %" PRIu64
			       " with other data than %s\n", block, name,
			       c[p].version, v->cfg->replicas[v->slot[good]].name);
		else if (c[p].version != newest)
			printf("block %" PRIu64 ": %s holds version %" PRIu64
			       ", others %" PRIu64 "\n", block, name,
			       c[p].version, newest);
		else
			continue;
		if (v->repair && good < v->nr && repairable(v, &c[p], newest) &&
		    repair(v, block, good, p) == 0)
			printf("block %" PRIu64 ": %s repaired from %s\n", block,
			       name, v->cfg->replicas[v->slot[good]].name);
	}
}

static int verify_range(struct verify *v, uint64_t block, uint32_t n)
{
	static struct copy c[QREP_MAX_REPLICAS][QREP_MAX_REQ_BLOCKS];
	struct copy one[QREP_MAX_REPLICAS];
	unsigned int p;
	uint32_t i;

	for (p = 0; p < v->nr; p++)
		if (checks(v, p, block, n, c[p]))
			return -EIO;
	for (i = 0; i < n; i++) {
		for (p = 0; p < v->nr; p++)
			one[p] = c[p][i];
		if (!agree(one, v->nr))
			check_block(v, block + i);
	}
	v->blocks += n;
	return 0;
}

static int open_peers(struct verify *v, const struct qrep_view *view)
{
	unsigned int i;

	for (i = 0; i < v->cfg->nr_replicas; i++) {
		if (!view->replicas[i].present ||
		    view->replicas[i].state != QREP_REPLICA_UPTODATE)
			continue;
		if (qrep_peer_open_replica(v->cfg, i, view->epoch,
					   &v->peers[v->nr]))
			return -1;
		v->slot[v->nr++] = i;
	}
	return 0;
}

int qrepctl_verify(int argc, char **argv)
{
	struct verify *v;
	struct qrep_config cfg;
	struct qrep_view view;
	struct qrep_genl g;
	uint64_t block, blocks;
	bool repair = false;
	unsigned int p;
	char **rest;
	int i, ret;

	/* --repair may stand anywhere; the rest is a resource command. */
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--repair") == 0) {
			repair = true;
			memmove(&argv[i], &argv[i + 1],
				(size_t)(argc - i) * sizeof(*argv));
			argc--;
			break;
		}
	ret = qrepctl_resource_load(argc, argv, "verify", 0, &cfg, &rest);
	if (ret)
		return ret;
	ret = qrepctl_genl_open(&g);
	if (ret)
		return ret;
	ret = qrep_view_load(&g, cfg.device, &view);
	qrep_genl_close(&g);
	if (ret) {
		fprintf(stderr, "qrepctl: verify: /dev/qrep%u: %s\n", cfg.device,
			strerror(-ret));
		return QREPCTL_EXIT_FAIL;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return QREPCTL_EXIT_FAIL;
	v->cfg = &cfg;
	v->repair = repair;
	ret = QREPCTL_EXIT_FAIL;
	if (open_peers(v, &view))
		goto out;
	if (v->nr < 2)
		fprintf(stderr, "qrepctl: verify: only %u up-to-date replica: checking its checksums alone\n",
			v->nr);
	blocks = cfg.size / QREP_BLOCK_SIZE;
	for (block = 0; block < blocks; block += QREP_MAX_REQ_BLOCKS)
		if (verify_range(v, block, blocks - block < QREP_MAX_REQ_BLOCKS ?
				 (uint32_t)(blocks - block) : QREP_MAX_REQ_BLOCKS))
			goto out;
	printf("verify: %" PRIu64 " blocks on %u replicas, %" PRIu64
	       " mismatched, %" PRIu64 " repaired\n", v->blocks, v->nr,
	       v->mismatches, v->repaired);
	ret = v->mismatches > v->repaired ? QREPCTL_EXIT_FAIL : 0;
out:
	for (p = 0; p < v->nr; p++)
		qrep_peer_close(&v->peers[p]);
	free(v);
	return ret;
}
