// SPDX-License-Identifier: GPL-2.0
/*
 * qrep-target init: create a store and print its device UUID.
 *
 * --replace makes the store of a replica that replaces a lost one: it is
 * "joining" (no vote, no writes) until qrep-target join gives it the
 * epoch the other replicas hold. Plain init is for a new cluster, whose
 * stores all start at epoch 0 together.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "parse.h"
#include "uuid.h"
#include "target.h"

static int init_usage(const char *why)
{
	if (why)
		fprintf(stderr, "qrep-target init: %s\n", why);
	fprintf(stderr, "usage: qrep-target init --store PATH --size SIZE "
		"[--uuid UUID] [--replace] [--force]\n"
		"  SIZE: bytes, or with a K/M/G/T suffix (binary); a multiple "
		"of %u\n"
		"  --replace: a replacement for a lost store of a running "
		"device (needs --uuid);\n"
		"    it is joining, with no vote, until 'qrep-target join'\n",
		QREP_BLOCK_SIZE);
	return QREP_EXIT_USAGE;
}

int qrep_target_cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'z' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "force", no_argument, NULL, 'f' },
		{ "replace", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint8_t uuid[QREP_UUID_SIZE] = { 0 };
	char ustr[QREP_UUID_STR_LEN + 1];
	const char *store = NULL, *size_str = NULL;
	unsigned int flags = 0;
	char err[512];
	uint64_t size;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			store = optarg;
			break;
		case 'z':
			size_str = optarg;
			break;
		case 'u':
			if (qrep_uuid_parse(optarg, uuid) ||
			    qrep_uuid_is_null(uuid))
				return init_usage("invalid --uuid: expected "
						  "a non-nil UUID like "
						  "0f8e2c1a-5b3d-4e6f-9a7b-"
						  "8c9d0e1f2a3b");
			break;
		case 'f':
			flags |= QREP_STORE_INIT_FORCE;
			break;
		case 'r':
			flags |= QREP_STORE_INIT_JOINING;
			break;
		case 'h':
			init_usage(NULL);
			return QREP_EXIT_OK;
		default:
			return init_usage(NULL);
		}
	}
	if (optind != argc)
		return init_usage("unexpected argument");
	if (!store || !size_str)
		return init_usage("--store and --size are required");
	if ((flags & QREP_STORE_INIT_JOINING) && qrep_uuid_is_null(uuid))
		return init_usage("--replace needs the device's --uuid");
	ret = qrep_parse_size(size_str, &size);
	if (ret)
		return init_usage(ret == -ERANGE ? "--size is too large" :
				  "invalid --size");
	if (size % QREP_BLOCK_SIZE)
		return init_usage("--size must be a multiple of the block "
				  "size");

	ret = qrep_store_init(store, size, uuid, flags, err, sizeof(err));
	if (ret) {
		qrep_err("%s", err);
		return QREP_EXIT_FAIL;
	}
	qrep_uuid_format(uuid, ustr);
	if (flags & QREP_STORE_INIT_JOINING)
		qrep_info("%s: joining: it has no vote and takes no writes "
			  "until 'qrep-target join' gives it the epoch the "
			  "other replicas hold", store);
	printf("%s\n", ustr);
	return fflush(stdout) ? QREP_EXIT_FAIL : QREP_EXIT_OK;
}
