// SPDX-License-Identifier: GPL-2.0
/* Bringing a resource's device up: see device.h. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/qrep.h>

#include "client.h"
#include "device.h"

void qrep_replica_conns_init(struct qrep_replica_conn *conns, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		memset(&conns[i], 0, sizeof(conns[i]));
		conns[i].fd = -1;
	}
}

void qrep_replica_conns_close(struct qrep_replica_conn *conns, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (conns[i].fd >= 0)
			close(conns[i].fd);
		conns[i].fd = -1;
	}
}

int qrep_replica_open(const struct qrep_config *cfg, unsigned int i,
		      uint64_t epoch, const struct qrep_secret *secret,
		      struct qrep_replica_conn *conn, char *err,
		      size_t errlen)
{
	struct qrep_client_device dev = {
		.size = cfg->size, .epoch = epoch, .secret = secret,
	};

	memcpy(dev.uuid, cfg->uuid, sizeof(dev.uuid));
	conn->stale = false;
	conn->fd = qrep_client_open(cfg->replicas[i].addr, &dev,
				    (int)cfg->connect_timeout_ms, &conn->hello,
				    err, errlen);
	return conn->fd < 0 ? conn->fd : 0;
}

uint64_t qrep_replica_conns_highest_epoch(const struct qrep_config *cfg,
					  const struct qrep_replica_conn *conns)
{
	uint64_t epoch = 0;
	unsigned int i;

	for (i = 0; i < cfg->nr_replicas; i++)
		if (conns[i].fd >= 0 && conns[i].hello.epoch > epoch)
			epoch = conns[i].hello.epoch;
	return epoch;
}

int qrep_device_create(struct qrep_genl *g, const struct qrep_config *cfg,
		       uint64_t epoch, uint32_t role)
{
	struct nlmsghdr *nlh = qrep_genl_request(g, QREP_CMD_DEV_CREATE, 0);

	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, cfg->device);
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, cfg->size);
	mnl_attr_put_u32(nlh, QREP_A_DEV_MODE, cfg->mode);
	mnl_attr_put(nlh, QREP_A_DEV_UUID, QREP_UUID_SIZE, cfg->uuid);
	mnl_attr_put_u64(nlh, QREP_A_DEV_EPOCH, epoch);
	mnl_attr_put_u32(nlh, QREP_A_DEV_IO_TIMEOUT_MS, cfg->io_timeout_ms);
	/*
	 * The quorum settings go only with mode quorum: a kernel without
	 * quorum mode refuses the mode with its own message, and a mirror
	 * device is created exactly as before. The same for the role: a
	 * device created without one is a primary, on any kernel.
	 */
	if (cfg->mode == QREP_MODE_QUORUM) {
		mnl_attr_put_u32(nlh, QREP_A_DEV_REPLICAS, cfg->nr_replicas);
		mnl_attr_put_u32(nlh, QREP_A_DEV_WRITE_QUORUM, cfg->write_quorum);
		mnl_attr_put_u32(nlh, QREP_A_DEV_READ_QUORUM, cfg->read_quorum);
		mnl_attr_put_u32(nlh, QREP_A_DEV_ON_NO_QUORUM, cfg->on_no_quorum);
	}
	if (role)
		mnl_attr_put_u32(nlh, QREP_A_DEV_ROLE, role);
	return qrep_genl_talk(g, nlh, NULL, NULL);
}

int qrep_device_destroy(struct qrep_genl *g, uint32_t index)
{
	struct nlmsghdr *nlh = qrep_genl_request(g, QREP_CMD_DEV_DESTROY, 0);

	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, index);
	return qrep_genl_talk(g, nlh, NULL, NULL);
}

int qrep_device_set_role(struct qrep_genl *g, uint32_t index, uint32_t role,
			 uint64_t epoch)
{
	struct nlmsghdr *nlh = qrep_genl_request(g, QREP_CMD_DEV_SET, 0);

	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, index);
	mnl_attr_put_u32(nlh, QREP_A_DEV_ROLE, role);
	if (epoch)
		mnl_attr_put_u64(nlh, QREP_A_DEV_EPOCH, epoch);
	return qrep_genl_talk(g, nlh, NULL, NULL);
}

int qrep_device_remove_replica(struct qrep_genl *g, uint32_t index,
			       uint32_t slot)
{
	struct nlmsghdr *nlh = qrep_genl_request(g, QREP_CMD_REPLICA_REMOVE, 0);

	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, index);
	mnl_attr_put_u32(nlh, QREP_A_REPLICA_ID, slot);
	return qrep_genl_talk(g, nlh, NULL, NULL);
}
