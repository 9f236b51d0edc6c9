// SPDX-License-Identifier: GPL-2.0
/* Replica connections for qrep.ko: see replica_add.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/qrep.h>

#include "auth.h"
#include "client.h"
#include "device.h"
#include "replica_add.h"

int qrep_replica_connect(const struct qrep_config *cfg, unsigned int i,
			 struct qrep_hello_reply_msg *hello, char *err,
			 size_t errlen)
{
	const struct qrep_secret *use;
	struct qrep_replica_conn conn;
	struct qrep_secret secret;
	int ret;

	if (qrep_secret_load_optional(cfg->secret_file, &secret, &use, err,
				      errlen))
		return -EACCES;
	/* Epoch 0 claims nothing: the target tells us its own. */
	ret = qrep_replica_open(cfg, i, 0, use, &conn, err, errlen);
	qrep_secret_wipe(&secret);
	if (ret)
		return ret;
	*hello = conn.hello;
	return conn.fd;
}

int qrep_replica_hand_over(struct qrep_genl *g, const struct qrep_config *cfg,
			   unsigned int i, int fd, uint64_t max_version,
			   bool stale)
{
	const struct qrep_config_replica *r = &cfg->replicas[i];
	char name[QREP_CONFIG_NAME_MAX + QREP_ADDR_STR_MAX + 2];
	struct nlmsghdr *nlh;

	/* The kernel shows "name@address": who it is and where. */
	snprintf(name, sizeof(name), "%s@%s", r->name, r->addr);
	nlh = qrep_genl_request(g, QREP_CMD_REPLICA_ADD, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, cfg->device);
	mnl_attr_put_u32(nlh, QREP_A_REPLICA_ID, i);
	mnl_attr_put_u32(nlh, QREP_A_REPLICA_FD, (uint32_t)fd);
	mnl_attr_put_strz(nlh, QREP_A_REPLICA_NAME, name);
	mnl_attr_put_u64(nlh, QREP_A_REPLICA_MAX_VERSION, max_version);
	if (stale)
		mnl_attr_put_u32(nlh, QREP_A_REPLICA_FLAGS, QREP_REPLICA_F_STALE);
	return qrep_genl_talk(g, nlh, NULL, NULL);
}
