// SPDX-License-Identifier: GPL-2.0
/*
 * qrep-store compare: are these replicas identical, block for block, in
 * data and in versions? Each store is compared with the first. Exit 0 if
 * so; else the first QREP_COMPARE_SHOW differing blocks are listed, then
 * their count, and the exit code is 1. A block failing its checksum in
 * any store counts as differing. Only regions where some store has
 * metadata are read.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "uuid.h"
#include "tools.h"

/* Differing blocks listed before only counting the rest. */
#define QREP_COMPARE_SHOW	20

struct cmp_store {
	const char *path;
	struct qrep_store *s;
	uint8_t *data;
	uint64_t versions[QREP_STORE_CHUNK];
	bool bad[QREP_STORE_CHUNK];
};

static int compare_usage(const char *why)
{
	if (why)
		fprintf(stderr, "qrep-store compare: %s\n", why);
	fprintf(stderr, "usage: qrep-store compare STORE_A STORE_B "
		"[STORE...]\n");
	return QREP_STORE_EXIT_TROUBLE;
}

static bool block_same(const struct cmp_store *a, const struct cmp_store *b,
		       uint32_t i)
{
	size_t off = (size_t)i * QREP_BLOCK_SIZE;

	return a->versions[i] == b->versions[i] && !a->bad[i] && !b->bad[i] &&
	       !memcmp(a->data + off, b->data + off, QREP_BLOCK_SIZE);
}

static void show_block(const struct cmp_store *c, int nc, uint64_t blk,
		       uint32_t i)
{
	int k;

	printf("block %llu:", (unsigned long long)blk);
	for (k = 0; k < nc; k++)
		printf("%s %s v%llu%s%s", k ? "," : "", c[k].path,
		       (unsigned long long)c[k].versions[i],
		       c[k].bad[i] ? " crc-bad" : "",
		       k && c[k].versions[i] == c[0].versions[i] &&
		       !c[k].bad[i] && !c[0].bad[i] &&
		       memcmp(c[k].data + (size_t)i * QREP_BLOCK_SIZE,
			      c[0].data + (size_t)i * QREP_BLOCK_SIZE,
			      QREP_BLOCK_SIZE) ? " (data differs)" : "");
	printf("\n");
}

static int compare_stores(struct cmp_store *c, struct qrep_store **ss,
			  int nc, uint64_t *differ)
{
	uint64_t pos = 0, end = qrep_store_info(c[0].s)->nblocks, start;
	uint32_t n, i;
	int k, ret;
	bool same;

	for (;;) {
		ret = qrep_tool_next_chunk(ss, nc, pos, end, &start, &n);
		if (ret)
			return ret < 0 ? ret : 0;
		for (k = 0; k < nc; k++) {
			ret = qrep_store_read(c[k].s, start, n, c[k].data,
					      c[k].versions, c[k].bad);
			if (ret < 0) {
				qrep_err("%s: %s", c[k].path, strerror(-ret));
				return ret;
			}
		}
		for (i = 0; i < n; i++) {
			same = true;
			for (k = 1; k < nc && same; k++)
				same = block_same(&c[0], &c[k], i);
			if (same)
				continue;
			if (*differ < QREP_COMPARE_SHOW)
				show_block(c, nc, start + i, i);
			(*differ)++;
		}
		pos = start + n;
	}
}

/* Stores of different sizes cannot be replicas of one device. */
static bool same_shape(const struct cmp_store *c, int nc)
{
	const struct qrep_store_info *a = qrep_store_info(c[0].s), *b;
	char ua[QREP_UUID_STR_LEN + 1], ub[QREP_UUID_STR_LEN + 1];
	bool ok = true;
	int k;

	qrep_uuid_format(a->uuid, ua);
	for (k = 1; k < nc; k++) {
		b = qrep_store_info(c[k].s);
		if (b->size != a->size) {
			printf("%s is %llu bytes, %s is %llu bytes\n",
			       c[0].path, (unsigned long long)a->size,
			       c[k].path, (unsigned long long)b->size);
			ok = false;
		}
		if (memcmp(a->uuid, b->uuid, QREP_UUID_SIZE)) {
			qrep_uuid_format(b->uuid, ub);
			printf("note: %s belongs to device %s, %s to %s\n",
			       c[0].path, ua, c[k].path, ub);
		}
	}
	return ok;
}

int qrep_store_cmd_compare(int argc, char **argv)
{
	struct qrep_store **ss = NULL;
	struct cmp_store *c = NULL;
	int nc = argc - 1, k, ret, rc = QREP_STORE_EXIT_TROUBLE;
	uint64_t differ = 0;

	if (argc > 1 && (!strcmp(argv[1], "-h") ||
			 !strcmp(argv[1], "--help"))) {
		compare_usage(NULL);
		return QREP_STORE_EXIT_SAME;
	}
	if (nc < 2)
		return compare_usage("at least two stores are needed");
	for (k = 1; k < argc; k++)
		if (argv[k][0] == '-')
			return compare_usage("unknown option");

	c = calloc((size_t)nc, sizeof(*c));
	ss = calloc((size_t)nc, sizeof(*ss));
	if (!c || !ss) {
		qrep_err("out of memory");
		goto out;
	}
	for (k = 0; k < nc; k++) {
		c[k].path = argv[k + 1];
		c[k].s = qrep_tool_open(c[k].path);
		if (!c[k].s)
			goto out;
		ss[k] = c[k].s;
		c[k].data = malloc((size_t)QREP_STORE_CHUNK * QREP_BLOCK_SIZE);
		if (!c[k].data) {
			qrep_err("out of memory");
			goto out;
		}
	}
	if (!same_shape(c, nc)) {
		rc = QREP_STORE_EXIT_DIFFER;
		goto out;
	}
	ret = compare_stores(c, ss, nc, &differ);
	if (ret < 0)
		goto out;
	if (differ > QREP_COMPARE_SHOW)
		printf("... (%llu more)\n",
		       (unsigned long long)(differ - QREP_COMPARE_SHOW));
	printf("%llu differing blocks\n", (unsigned long long)differ);
	rc = differ ? QREP_STORE_EXIT_DIFFER : QREP_STORE_EXIT_SAME;
out:
	if (fflush(stdout))
		rc = QREP_STORE_EXIT_TROUBLE;
	for (k = 0; c && k < nc; k++) {
		free(c[k].data);
		if (c[k].s)
			qrep_store_close(c[k].s);
	}
	free(c);
	free(ss);
	return rc;
}
