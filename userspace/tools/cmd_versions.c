// SPDX-License-Identifier: GPL-2.0
/*
 * qrep-store versions: one line per block, "<block> <version> <crc-ok|
 * crc-bad>". A block never written has version 0, reads as zeros and is
 * crc-ok; one a target found torn after an unclean shutdown (and no write
 * has repaired yet) is "<block> 0 crc-bad". With --written, only blocks
 * with a version or a bad checksum are listed, and unwritten regions are
 * skipped without being read.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "parse.h"
#include "tools.h"

static int versions_usage(const char *why)
{
	if (why)
		fprintf(stderr, "qrep-store versions: %s\n", why);
	fprintf(stderr, "usage: qrep-store versions --store PATH "
		"[--from BLOCK] [--count N] [--written]\n");
	return QREP_STORE_EXIT_TROUBLE;
}

struct versions_buf {
	uint8_t *data;
	uint64_t versions[QREP_STORE_CHUNK];
	bool bad[QREP_STORE_CHUNK];
};

/* Prints [pos, end): chunks in metadata holes without reading them. */
static int print_range(struct qrep_store *s, uint64_t pos, uint64_t end,
		       bool written_only, struct versions_buf *b)
{
	uint64_t start, blk;
	uint32_t n, i;
	int ret;

	while (pos < end) {
		ret = qrep_tool_next_chunk(&s, 1, pos, end, &start, &n);
		if (ret < 0)
			return ret;
		if (ret > 0)
			start = end;
		if (!written_only)
			for (blk = pos; blk < start; blk++)
				printf("%llu 0 crc-ok\n",
				       (unsigned long long)blk);
		if (ret > 0)
			break;
		ret = qrep_store_read(s, start, n, b->data, b->versions,
				      b->bad);
		if (ret < 0)
			return ret;
		for (i = 0; i < n; i++) {
			if (written_only && !b->versions[i] && !b->bad[i])
				continue;
			printf("%llu %llu %s\n",
			       (unsigned long long)(start + i),
			       (unsigned long long)b->versions[i],
			       b->bad[i] ? "crc-bad" : "crc-ok");
		}
		pos = start + n;
	}
	return 0;
}

int qrep_store_cmd_versions(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "from", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'c' },
		{ "written", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t from = 0, count = 0, nblocks;
	bool have_count = false, written = false;
	const char *path = NULL;
	struct versions_buf *b = NULL;
	struct qrep_store *s;
	int c, ret, rc = QREP_STORE_EXIT_TROUBLE;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'f':
			if (qrep_parse_u64(optarg, &from))
				return versions_usage("invalid --from");
			break;
		case 'c':
			if (qrep_parse_u64(optarg, &count))
				return versions_usage("invalid --count");
			have_count = true;
			break;
		case 'w':
			written = true;
			break;
		case 'h':
			versions_usage(NULL);
			return QREP_STORE_EXIT_SAME;
		default:
			return versions_usage(NULL);
		}
	}
	if (optind != argc)
		return versions_usage("unexpected argument");
	if (!path)
		return versions_usage("--store is required");

	s = qrep_tool_open(path);
	if (!s)
		return QREP_STORE_EXIT_TROUBLE;
	nblocks = qrep_store_info(s)->nblocks;
	if (!have_count)
		count = from < nblocks ? nblocks - from : 0;
	if (from > nblocks || count > nblocks - from) {
		qrep_err("blocks %llu..+%llu lie outside the store's %llu "
			 "blocks", (unsigned long long)from,
			 (unsigned long long)count,
			 (unsigned long long)nblocks);
		goto out_close;
	}
	b = calloc(1, sizeof(*b));
	if (b)
		b->data = malloc((size_t)QREP_STORE_CHUNK * QREP_BLOCK_SIZE);
	if (!b || !b->data) {
		qrep_err("out of memory");
		goto out_free;
	}
	ret = print_range(s, from, from + count, written, b);
	if (ret < 0)
		qrep_err("%s: %s", path, strerror(-ret));
	else
		rc = QREP_STORE_EXIT_SAME;
	if (fflush(stdout))
		rc = QREP_STORE_EXIT_TROUBLE;
out_free:
	if (b)
		free(b->data);
	free(b);
out_close:
	qrep_store_close(s);
	return rc;
}
