// SPDX-License-Identifier: GPL-2.0
/* Bringing a resource's device up: see device.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/qrep.h>
#include <linux/qrep_quorum.h>

#include "client.h"
#include "device.h"
#include "net.h"
#include "peer.h"
#include "quorum.h"

void qrep_note(qrep_note_fn *note, void *arg, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	note(arg, msg);
}

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

/* The connected targets, and how many a device of @cfg needs to start. */
static unsigned int conns_left(const struct qrep_config *cfg,
			       const struct qrep_replica_conn *conns)
{
	unsigned int i, n = 0;

	for (i = 0; i < cfg->nr_replicas; i++)
		n += conns[i].fd >= 0;
	return n;
}

static unsigned int conns_needed(const struct qrep_config *cfg)
{
	return cfg->mode == QREP_MODE_QUORUM ? cfg->write_quorum :
	       cfg->nr_replicas;
}

/*
 * One round: proposes @want to every connected target. Returns 0 when
 * every one that still answers accepted it; 1 when one refused it,
 * with *above the newest epoch a refusing target holds.
 */
static int propose_round(const struct qrep_config *cfg,
			 struct qrep_replica_conn *conns, uint64_t want,
			 uint64_t *above, qrep_note_fn *note, void *arg)
{
	const char *name;
	struct qrep_peer p;
	uint64_t held;
	unsigned int i;
	bool accepted;
	int err, refused = 0;

	for (i = 0; i < cfg->nr_replicas; i++) {
		if (conns[i].fd < 0)
			continue;
		name = cfg->replicas[i].name;
		qrep_sock_set_timeouts(conns[i].fd, (int)cfg->io_timeout_ms,
				       (int)cfg->io_timeout_ms);
		qrep_peer_init(&p, conns[i].fd, name, 0);
		err = qrep_peer_propose_epoch(&p, want, &accepted, &held);
		if (err) {
			qrep_note(note, arg, "replica %s: cannot reserve epoch %" PRIu64 ": %s",
				  name, want, p.error[0] ? p.error : strerror(-err));
			/* Closed on a broken connection; not on a refusal. */
			if (p.fd >= 0)
				close(p.fd);
			conns[i].fd = -1;
			continue;
		}
		qrep_sock_set_timeouts(conns[i].fd, 0, 0);
		if (accepted) {
			conns[i].hello.epoch = want;
			continue;
		}
		qrep_note(note, arg, "replica %s already holds epoch %" PRIu64 " (another device or an election took it meanwhile)",
			  name, held);
		conns[i].hello.epoch = held;
		if (!refused || held > *above)
			*above = held;
		refused = 1;
	}
	return refused;
}

/* Enough targets still connected for @cfg's device; said if not. */
static bool conns_enough(const struct qrep_config *cfg,
			 const struct qrep_replica_conn *conns,
			 qrep_note_fn *note, void *arg)
{
	unsigned int left = conns_left(cfg, conns);

	if (left >= conns_needed(cfg))
		return true;
	qrep_note(note, arg, "only %u of %u targets answer; %s mode needs %u",
		  left, cfg->nr_replicas,
		  cfg->mode == QREP_MODE_QUORUM ? "quorum" : "mirror",
		  conns_needed(cfg));
	return false;
}

int qrep_replica_conns_reserve_epoch(const struct qrep_config *cfg,
				     struct qrep_replica_conn *conns,
				     uint64_t *epoch, qrep_note_fn *note,
				     void *arg)
{
	uint64_t want = qrep_replica_conns_highest_epoch(cfg, conns), above = 0;
	unsigned int round;
	int refused;

	for (round = 0; round < QREP_RESERVE_EPOCH_ROUNDS; round++) {
		if (!conns_enough(cfg, conns, note, arg))
			return -EIO;
		if (qrep_quorum_up_epoch(want, &want)) {
			qrep_note(note, arg,
				  "a target holds epoch %" PRIu64 ": no newer one fits a version (the highest is %llu); the stores must be initialised again",
				  want, (unsigned long long)QREP_MAX_QUORUM_EPOCH);
			return -ERANGE;
		}
		refused = propose_round(cfg, conns, want, &above, note, arg);
		if (!conns_enough(cfg, conns, note, arg))
			return -EIO;
		if (!refused) {
			*epoch = want;
			return 0;
		}
		want = above;
	}
	qrep_note(note, arg,
		  "could not reserve an epoch in %u rounds: another device keeps taking newer ones",
		  QREP_RESERVE_EPOCH_ROUNDS);
	return -EAGAIN;
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
