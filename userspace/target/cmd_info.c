// SPDX-License-Identifier: GPL-2.0
/* qrep-target info: print a store's header in human-readable form. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "uuid.h"
#include "target.h"

static int info_usage(const char *why)
{
	if (why)
		fprintf(stderr, "qrep-target info: %s\n", why);
	fprintf(stderr, "usage: qrep-target info --store PATH\n");
	return QREP_EXIT_USAGE;
}

int qrep_target_cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const struct qrep_store_info *info;
	char ustr[QREP_UUID_STR_LEN + 1];
	const char *path = NULL;
	struct qrep_store *s;
	uint64_t max;
	char err[512];
	int c, ret;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'h':
			info_usage(NULL);
			return QREP_EXIT_OK;
		default:
			return info_usage(NULL);
		}
	}
	if (optind != argc)
		return info_usage("unexpected argument");
	if (!path)
		return info_usage("--store is required");

	ret = qrep_store_open(path, QREP_STORE_RDONLY, &s, err, sizeof(err));
	if (ret) {
		qrep_err("%s", err);
		return QREP_EXIT_FAIL;
	}
	info = qrep_store_info(s);
	qrep_uuid_format(info->uuid, ustr);
	printf("store:          %s (%s)\n", path,
	       info->is_blockdev ? "block device" : "file");
	printf("format:         %u\n", info->format_version);
	printf("uuid:           %s\n", ustr);
	printf("size:           %llu bytes (%.2f GiB)\n",
	       (unsigned long long)info->size,
	       (double)info->size / (1ULL << 30));
	printf("block size:     %u\n", info->block_size);
	printf("blocks:         %llu\n", (unsigned long long)info->nblocks);
	printf("epoch:          %llu\n", (unsigned long long)info->epoch);
	printf("joining:        %s\n", info->joining ?
	       "yes (no vote, no writes: run 'qrep-target join')" : "no");
	printf("clean:          %s\n", info->clean ? "yes" :
	       "no (in use, or not shut down cleanly)");
	ret = qrep_store_max_version(s, &max);
	if (ret)
		printf("max version:    unknown (%s)\n", strerror(-ret));
	else
		printf("max version:    %llu%s\n", (unsigned long long)max,
		       info->clean ? "" : " (found by scanning)");
	printf("header writes:  %llu\n",
	       (unsigned long long)info->generation);
	printf("metadata area:  offset %llu, %llu bytes\n",
	       (unsigned long long)info->meta_offset,
	       (unsigned long long)(info->data_offset - info->meta_offset));
	printf("data area:      offset %llu, %llu bytes\n",
	       (unsigned long long)info->data_offset,
	       (unsigned long long)info->size);
	qrep_store_close(s);
	return ret ? QREP_EXIT_FAIL : QREP_EXIT_OK;
}
