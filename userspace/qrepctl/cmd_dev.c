// SPDX-License-Identifier: GPL-2.0
/* qrepctl create / destroy: a bare device, without replicas. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/qrep.h>
#include <linux/qrep_proto.h>

#include "qrepctl.h"
#include "parse.h"
#include "uuid.h"

static int parse_index(const char *arg, uint32_t *index)
{
	uint64_t value;

	if (qrep_parse_u64(arg, &value) || value >= QREP_MAX_DEVICES) {
		fprintf(stderr, "qrepctl: '%s' is not a device index (0..%d)\n",
			arg, QREP_MAX_DEVICES - 1);
		return -EINVAL;
	}
	*index = (uint32_t)value;
	return 0;
}

static int print_created(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[QREP_A_MAX + 1];

	(void)data;
	if (qrep_genl_parse(nlh, tb) == 0 && tb[QREP_A_DEV_NAME])
		printf("/dev/%s\n", mnl_attr_get_str(tb[QREP_A_DEV_NAME]));
	return MNL_CB_OK;
}

int qrepctl_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "index", required_argument, NULL, 'i' },
		{ "uuid", required_argument, NULL, 'u' },
		{ 0 }
	};
	uint8_t uuid[QREP_UUID_SIZE];
	bool have_index = false, have_uuid = false;
	uint64_t size = 0;
	uint32_t index = 0;
	struct qrep_genl g;
	struct nlmsghdr *nlh;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "s:i:u:", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (qrep_parse_size(optarg, &size)) {
				fprintf(stderr, "qrepctl: '%s' is not a size (e.g. 1G, 512M, 4096)\n",
					optarg);
				return QREPCTL_EXIT_USAGE;
			}
			break;
		case 'i':
			if (parse_index(optarg, &index))
				return QREPCTL_EXIT_USAGE;
			have_index = true;
			break;
		case 'u':
			if (qrep_uuid_parse(optarg, uuid)) {
				fprintf(stderr, "qrepctl: '%s' is not a UUID\n", optarg);
				return QREPCTL_EXIT_USAGE;
			}
			have_uuid = true;
			break;
		default:
			qrepctl_usage_of("create");
			return QREPCTL_EXIT_USAGE;
		}
	}
	if (!size || optind != argc) {
		qrepctl_usage_of("create");
		return QREPCTL_EXIT_USAGE;
	}

	ret = qrepctl_genl_open(&g);
	if (ret)
		return ret;
	nlh = qrep_genl_request(&g, QREP_CMD_DEV_CREATE, 0);
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, size);
	if (have_index)
		mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, index);
	if (have_uuid)
		mnl_attr_put(nlh, QREP_A_DEV_UUID, QREP_UUID_SIZE, uuid);
	ret = qrep_genl_talk(&g, nlh, print_created, NULL);
	if (ret)
		ret = qrepctl_genl_fail(&g, "create", ret);
	qrep_genl_close(&g);
	return ret;
}

int qrepctl_destroy(int argc, char **argv)
{
	struct qrep_genl g;
	struct nlmsghdr *nlh;
	uint32_t index;
	int ret;

	if (argc != 2) {
		qrepctl_usage_of("destroy");
		return QREPCTL_EXIT_USAGE;
	}
	if (parse_index(argv[1], &index))
		return QREPCTL_EXIT_USAGE;
	ret = qrepctl_genl_open(&g);
	if (ret)
		return ret;
	nlh = qrep_genl_request(&g, QREP_CMD_DEV_DESTROY, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, index);
	ret = qrep_genl_talk(&g, nlh, NULL, NULL);
	if (ret)
		ret = qrepctl_genl_fail(&g, "destroy", ret);
	qrep_genl_close(&g);
	return ret;
}
