// SPDX-License-Identifier: GPL-2.0
/*
 * qrep-store check: verifies the checksum of every written block. Lists
 * each bad one as "<block> <version> crc-bad", or "<block> 0 torn" for a
 * block a target found torn after an unclean shutdown and that no write
 * has repaired yet, then a summary; exits 1 if there was any.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tools.h"

static int check_usage(const char *why)
{
	if (why)
		fprintf(stderr, "qrep-store check: %s\n", why);
	fprintf(stderr, "usage: qrep-store check --store PATH\n");
	return QREP_STORE_EXIT_TROUBLE;
}

static int check_store(struct qrep_store *s, uint8_t *data,
		       uint64_t *written, uint64_t *bad)
{
	uint64_t versions[QREP_STORE_CHUNK];
	bool crc_bad[QREP_STORE_CHUNK];
	uint64_t pos = 0, end = qrep_store_info(s)->nblocks, start;
	uint32_t n, i;
	int ret;

	for (;;) {
		ret = qrep_tool_next_chunk(&s, 1, pos, end, &start, &n);
		if (ret)
			return ret < 0 ? ret : 0;
		ret = qrep_store_read(s, start, n, data, versions, crc_bad);
		if (ret < 0)
			return ret;
		for (i = 0; i < n; i++) {
			/* Version 0 and bad: found torn, awaiting repair. */
			if (!versions[i] && !crc_bad[i])
				continue;
			(*written)++;
			if (!crc_bad[i])
				continue;
			(*bad)++;
			printf("%llu %llu %s\n",
			       (unsigned long long)(start + i),
			       (unsigned long long)versions[i],
			       versions[i] ? "crc-bad" : "torn");
		}
		pos = start + n;
	}
}

int qrep_store_cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t written = 0, bad = 0;
	const char *path = NULL;
	struct qrep_store *s;
	uint8_t *data;
	int c, ret, rc = QREP_STORE_EXIT_TROUBLE;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'h':
			check_usage(NULL);
			return QREP_STORE_EXIT_SAME;
		default:
			return check_usage(NULL);
		}
	}
	if (optind != argc)
		return check_usage("unexpected argument");
	if (!path)
		return check_usage("--store is required");

	s = qrep_tool_open(path);
	if (!s)
		return QREP_STORE_EXIT_TROUBLE;
	data = malloc((size_t)QREP_STORE_CHUNK * QREP_BLOCK_SIZE);
	if (!data) {
		qrep_err("out of memory");
		goto out_close;
	}
	ret = check_store(s, data, &written, &bad);
	if (ret < 0) {
		qrep_err("%s: %s", path, strerror(-ret));
	} else {
		printf("%llu written blocks checked, %llu with a bad "
		       "checksum\n", (unsigned long long)written,
		       (unsigned long long)bad);
		rc = bad ? QREP_STORE_EXIT_DIFFER : QREP_STORE_EXIT_SAME;
	}
	if (fflush(stdout))
		rc = QREP_STORE_EXIT_TROUBLE;
	free(data);
out_close:
	qrep_store_close(s);
	return rc;
}
