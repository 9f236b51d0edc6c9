// SPDX-License-Identifier: GPL-2.0
/*
 * The "qrep" generic netlink family: see Documentation/netlink/qrep.yaml.
 *
 * Every command that changes state is GENL_ADMIN_PERM (CAP_NET_ADMIN);
 * QREP_CMD_DEV_GET is open to all. All commands are validated strictly
 * against one policy: unknown attributes, wrong types and wrong lengths
 * are refused by the core before a handler runs. Rules that span several
 * attributes live in the handlers' precheck helpers.
 */
#include <linux/atomic.h>
#include <linux/module.h>
#include <net/genetlink.h>
#include <linux/qrep_data.h>

#include "device.h"
#include "netlink.h"
#include "quorum.h"
#include "replica.h"
#include "resync.h"

/* Largest device we accept: 2^50 bytes (1 PiB). */
#define QREP_MAX_DEV_SIZE	BIT_ULL(50)

/* Not const: 6.1's policy macros take a plain pointer. */
static struct netlink_range_validation qrep_size_range = {
	.min = QREP_BLOCK_SIZE,
	.max = QREP_MAX_DEV_SIZE,
};

static struct netlink_range_validation qrep_io_timeout_range = {
	.min = QREP_MIN_IO_TIMEOUT_MS,
	.max = QREP_MAX_IO_TIMEOUT_MS,
};

static struct netlink_range_validation qrep_fd_range = {
	.max = INT_MAX,
};

/* Leaves 2^63 versions of headroom whatever a target reports. */
static struct netlink_range_validation qrep_max_version_range = {
	.max = S64_MAX,
};

#define QREP_READ_ONLY \
	{ .type = NLA_REJECT, .reject_message = "read-only attribute" }

static const struct nla_policy qrep_policy[QREP_A_MAX + 1] = {
	[QREP_A_DEV_INDEX] = NLA_POLICY_MAX(NLA_U32, QREP_MAX_DEVICES - 1),
	[QREP_A_DEV_SIZE] = NLA_POLICY_FULL_RANGE(NLA_U64, &qrep_size_range),
	[QREP_A_DEV_MODE] = NLA_POLICY_RANGE(NLA_U32, QREP_MODE_MIRROR,
					     QREP_MODE_QUORUM),
	[QREP_A_DEV_UUID] = NLA_POLICY_EXACT_LEN(QREP_UUID_SIZE),
	[QREP_A_DEV_EPOCH] = NLA_POLICY_MIN(NLA_U64, 1),
	[QREP_A_DEV_IO_TIMEOUT_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &qrep_io_timeout_range),
	[QREP_A_DEV_VERSION] = QREP_READ_ONLY,
	[QREP_A_DEV_LIVE_REPLICAS] = QREP_READ_ONLY,
	[QREP_A_REPLICA] = QREP_READ_ONLY,
	[QREP_A_REPLICA_ID] = NLA_POLICY_MAX(NLA_U32, QREP_MAX_REPLICAS - 1),
	[QREP_A_REPLICA_FD] = NLA_POLICY_FULL_RANGE(NLA_U32, &qrep_fd_range),
	[QREP_A_REPLICA_NAME] = { .type = NLA_NUL_STRING,
				  .len = QREP_REPLICA_NAME_MAX - 1 },
	[QREP_A_REPLICA_FLAGS] = NLA_POLICY_MASK(NLA_U32, QREP_REPLICA_F_ALL),
	[QREP_A_REPLICA_MAX_VERSION] =
		NLA_POLICY_FULL_RANGE(NLA_U64, &qrep_max_version_range),
	[QREP_A_REPLICA_STATE] = QREP_READ_ONLY,
	[QREP_A_REPLICA_INFLIGHT] = QREP_READ_ONLY,
	[QREP_A_REPLICA_ERRORS] = QREP_READ_ONLY,
	[QREP_A_REPLICA_READS] = QREP_READ_ONLY,
	[QREP_A_REPLICA_WRITES] = QREP_READ_ONLY,
	[QREP_A_REPLICA_LAST_ERROR] = QREP_READ_ONLY,
	[QREP_A_REPLICA_INSTANCE] = NLA_POLICY_MIN(NLA_U64, 1),
	[QREP_A_REPLICA_DIRTY_REGIONS] = QREP_READ_ONLY,
	[QREP_A_REPLICA_HISTORY_UNKNOWN] = QREP_READ_ONLY,
	[QREP_A_RESYNC_PHASE] = NLA_POLICY_RANGE(NLA_U32, QREP_RESYNC_START,
						 QREP_RESYNC_STOP),
	[QREP_A_RESYNC_SOURCE_ID] = NLA_POLICY_MAX(NLA_U32,
						   QREP_MAX_REPLICAS - 1),
	[QREP_A_RESYNC_SOURCE_INSTANCE] = NLA_POLICY_MIN(NLA_U64, 1),
	[QREP_A_RESYNC_START] = { .type = NLA_U64 },
	[QREP_A_RESYNC_COUNT] = { .type = NLA_U64 },
	[QREP_A_RESYNC_REGIONS] = QREP_READ_ONLY,
	[QREP_A_RESYNC_BITMAP] = QREP_READ_ONLY,
	[QREP_A_RESYNC_DONE_BYTES] = { .type = NLA_U64 },
	[QREP_A_RESYNC_TOTAL_BYTES] = { .type = NLA_U64 },
	[QREP_A_RESYNC_RATE] = { .type = NLA_U64 },
	[QREP_A_RESYNC_ACTIVE] = QREP_READ_ONLY,
	[QREP_A_REPLICA_CHECK_DATA] = QREP_READ_ONLY,
	[QREP_A_DEV_REPLICAS] = NLA_POLICY_RANGE(NLA_U32, 1, QREP_MAX_REPLICAS),
	[QREP_A_DEV_WRITE_QUORUM] = NLA_POLICY_RANGE(NLA_U32, 1,
						     QREP_MAX_REPLICAS),
	[QREP_A_DEV_READ_QUORUM] = NLA_POLICY_RANGE(NLA_U32, 1,
						    QREP_MAX_REPLICAS),
	[QREP_A_DEV_ON_NO_QUORUM] = NLA_POLICY_RANGE(NLA_U32,
						     QREP_NO_QUORUM_SUSPEND,
						     QREP_NO_QUORUM_ERROR),
	[QREP_A_DEV_QUORUM_FLAGS] = QREP_READ_ONLY,
	[QREP_A_DEV_HELD] = QREP_READ_ONLY,
	[QREP_A_RESYNC_SOURCES] = NLA_POLICY_MASK(NLA_U32,
						  BIT(QREP_MAX_REPLICAS) - 1),
	[QREP_A_DEV_ROLE] = NLA_POLICY_RANGE(NLA_U32, QREP_ROLE_PRIMARY,
					     QREP_ROLE_SECONDARY),
	[QREP_A_REPLICA_FENCED_EPOCH] = QREP_READ_ONLY,
	[QREP_A_REPLICA_UNRECONCILED] = QREP_READ_ONLY,
};

enum qrep_mcgrp {
	QREP_MCGRP_EVENTS,
};

/*
 * Listening needs CAP_NET_ADMIN: events are sent from the I/O path (a
 * replica failing), and each listener costs a copy of every one, so an
 * unprivileged user must not be able to add listeners. Status stays open
 * through DEV_GET.
 */
static const struct genl_multicast_group qrep_mcgrps[] = {
	[QREP_MCGRP_EVENTS] = {
		.name = QREP_GENL_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_NET_ADMIN,
	},
};

static struct genl_family qrep_genl_family;

/*
 * Events are numbered and sent under qrep_events_mutex, so they arrive in
 * the order of their numbers. Senders may hold qrep_devices_mutex; the
 * replica failure work, which device teardown flushes, must not take it.
 */
static DEFINE_MUTEX(qrep_events_mutex);
static u64 qrep_event_seq;

/* A replica's resync bookkeeping, inside its QREP_A_REPLICA. */
static int qrep_fill_replica_resync(struct sk_buff *skb,
				    struct qrep_replica *r)
{
	struct qrep_device *dev = r->dev;
	u64 done, total, rate;
	bool active;

	spin_lock(&r->state_lock);
	active = r->resync_active;
	done = r->resync_done;
	total = r->resync_total;
	rate = r->resync_rate;
	spin_unlock(&r->state_lock);

	if (nla_put_u64_64bit(skb, QREP_A_REPLICA_INSTANCE, r->instance,
			      QREP_A_PAD) ||
	    nla_put_u64_64bit(skb, QREP_A_REPLICA_DIRTY_REGIONS,
			      qrep_dirty_weight(dev, r->id), QREP_A_PAD) ||
	    (qrep_dirty_history_unknown(dev, r->id) &&
	     nla_put_flag(skb, QREP_A_REPLICA_HISTORY_UNKNOWN)) ||
	    (active && nla_put_flag(skb, QREP_A_RESYNC_ACTIVE)) ||
	    (qrep_dirty_check_data(dev, r->id) &&
	     nla_put_flag(skb, QREP_A_REPLICA_CHECK_DATA)) ||
	    (READ_ONCE(r->unreconciled) &&
	     nla_put_flag(skb, QREP_A_REPLICA_UNRECONCILED)) ||
	    nla_put_u64_64bit(skb, QREP_A_RESYNC_DONE_BYTES, done,
			      QREP_A_PAD) ||
	    nla_put_u64_64bit(skb, QREP_A_RESYNC_TOTAL_BYTES, total,
			      QREP_A_PAD) ||
	    nla_put_u64_64bit(skb, QREP_A_RESYNC_RATE, rate, QREP_A_PAD))
		return -EMSGSIZE;
	return 0;
}

/* One nested QREP_A_REPLICA: its slot, name, state and counters. */
static int qrep_fill_replica(struct sk_buff *skb, struct qrep_replica *r)
{
	char last_error[QREP_REPLICA_LAST_ERROR_MAX];
	enum qrep_replica_state state;
	u64 fenced_epoch = 0;
	struct nlattr *nest;

	state = qrep_replica_snapshot(r, last_error, sizeof(last_error));
	/* Set before FAILED, under state_lock: see qrep_replica_vfail. */
	if (state == QREP_REPLICA_FAILED && READ_ONCE(r->fenced))
		fenced_epoch = READ_ONCE(r->fenced_epoch);
	nest = nla_nest_start(skb, QREP_A_REPLICA);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, QREP_A_REPLICA_ID, r->id) ||
	    nla_put_string(skb, QREP_A_REPLICA_NAME, r->name) ||
	    nla_put_u32(skb, QREP_A_REPLICA_STATE, state) ||
	    nla_put_u32(skb, QREP_A_REPLICA_INFLIGHT,
			max(atomic_read(&r->inflight), 0)) ||
	    nla_put_u64_64bit(skb, QREP_A_REPLICA_ERRORS,
			      atomic64_read(&r->errors), QREP_A_PAD) ||
	    nla_put_u64_64bit(skb, QREP_A_REPLICA_READS,
			      atomic64_read(&r->reads), QREP_A_PAD) ||
	    nla_put_u64_64bit(skb, QREP_A_REPLICA_WRITES,
			      atomic64_read(&r->writes), QREP_A_PAD) ||
	    nla_put_u64_64bit(skb, QREP_A_REPLICA_MAX_VERSION,
			      atomic64_read(&r->max_version), QREP_A_PAD) ||
	    (last_error[0] &&
	     nla_put_string(skb, QREP_A_REPLICA_LAST_ERROR, last_error)) ||
	    (fenced_epoch &&
	     nla_put_u64_64bit(skb, QREP_A_REPLICA_FENCED_EPOCH, fenced_epoch,
			       QREP_A_PAD)) ||
	    qrep_fill_replica_resync(skb, r)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int qrep_fill_replicas(struct sk_buff *skb, struct qrep_device *dev)
{
	struct qrep_replica *r;
	unsigned int slot;
	int ret = 0;

	rcu_read_lock();
	for (slot = 0; slot < QREP_MAX_REPLICAS && !ret; slot++) {
		r = rcu_dereference(dev->replicas[slot]);
		if (r)
			ret = qrep_fill_replica(skb, r);
	}
	rcu_read_unlock();
	return ret;
}

/* The device's identity: enough to name it in an event. */
static int qrep_fill_dev_id(struct sk_buff *skb, struct qrep_device *dev)
{
	if (nla_put_u32(skb, QREP_A_DEV_INDEX, dev->index) ||
	    nla_put_string(skb, QREP_A_DEV_NAME, dev->disk->disk_name))
		return -EMSGSIZE;
	return 0;
}

/* Quorum mode's settings and state; nothing for a mirror device. */
static int qrep_fill_dev_quorum(struct sk_buff *skb, struct qrep_device *dev)
{
	const struct qrep_dev_config *c = &dev->config;

	if (!qrep_quorum_mode(dev))
		return 0;
	if (nla_put_u32(skb, QREP_A_DEV_REPLICAS, c->nr_replicas) ||
	    nla_put_u32(skb, QREP_A_DEV_WRITE_QUORUM, c->write_quorum) ||
	    nla_put_u32(skb, QREP_A_DEV_READ_QUORUM, c->read_quorum) ||
	    nla_put_u32(skb, QREP_A_DEV_ON_NO_QUORUM, c->on_no_quorum) ||
	    nla_put_u32(skb, QREP_A_DEV_QUORUM_FLAGS, qrep_quorum_flags(dev)) ||
	    nla_put_u32(skb, QREP_A_DEV_HELD, qrep_quorum_held(dev)))
		return -EMSGSIZE;
	return 0;
}

static int qrep_fill_dev(struct sk_buff *skb, struct qrep_device *dev)
{
	unsigned int live;

	rcu_read_lock();
	live = qrep_replicas_live(dev);
	rcu_read_unlock();
	if (qrep_fill_dev_id(skb, dev) ||
	    nla_put_u64_64bit(skb, QREP_A_DEV_SIZE, dev->config.size,
			      QREP_A_PAD) ||
	    nla_put_u32(skb, QREP_A_DEV_MODE, dev->config.mode) ||
	    nla_put(skb, QREP_A_DEV_UUID, QREP_UUID_SIZE, dev->config.uuid) ||
	    nla_put_u64_64bit(skb, QREP_A_DEV_EPOCH, qrep_device_epoch(dev),
			      QREP_A_PAD) ||
	    nla_put_u32(skb, QREP_A_DEV_ROLE, qrep_device_role(dev)) ||
	    nla_put_u32(skb, QREP_A_DEV_IO_TIMEOUT_MS,
			dev->config.io_timeout_ms) ||
	    nla_put_u64_64bit(skb, QREP_A_DEV_VERSION,
			      atomic64_read(&dev->version), QREP_A_PAD) ||
	    nla_put_u32(skb, QREP_A_DEV_LIVE_REPLICAS, live) ||
	    qrep_fill_dev_quorum(skb, dev))
		return -EMSGSIZE;
	return qrep_fill_replicas(skb, dev);
}

static const int qrep_quorum_attrs[] = {
	QREP_A_DEV_REPLICAS, QREP_A_DEV_WRITE_QUORUM, QREP_A_DEV_READ_QUORUM,
	QREP_A_DEV_ON_NO_QUORUM,
};

/*
 * Quorum mode needs N; W and R default to a majority, the policy to
 * suspend. The rules are qrep_quorum_problem()'s, shared with the tools.
 */
static int qrep_create_quorum_precheck(struct genl_info *info,
				       struct qrep_dev_config *config)
{
	struct nlattr **attrs = info->attrs;
	const char *problem;
	unsigned int i;

	if (config->mode != QREP_MODE_QUORUM) {
		for (i = 0; i < ARRAY_SIZE(qrep_quorum_attrs); i++) {
			if (!attrs[qrep_quorum_attrs[i]])
				continue;
			NL_SET_ERR_MSG_ATTR(info->extack,
					    attrs[qrep_quorum_attrs[i]],
					    "quorum settings need quorum mode");
			return -EINVAL;
		}
		return 0;
	}
	if (GENL_REQ_ATTR_CHECK(info, QREP_A_DEV_REPLICAS)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "quorum mode needs the number of replicas");
		return -EINVAL;
	}
	config->nr_replicas = nla_get_u32(attrs[QREP_A_DEV_REPLICAS]);
	config->write_quorum = qrep_quorum_majority(config->nr_replicas);
	config->read_quorum = config->write_quorum;
	config->on_no_quorum = QREP_NO_QUORUM_SUSPEND;
	if (attrs[QREP_A_DEV_WRITE_QUORUM])
		config->write_quorum =
			nla_get_u32(attrs[QREP_A_DEV_WRITE_QUORUM]);
	if (attrs[QREP_A_DEV_READ_QUORUM])
		config->read_quorum = nla_get_u32(attrs[QREP_A_DEV_READ_QUORUM]);
	if (attrs[QREP_A_DEV_ON_NO_QUORUM])
		config->on_no_quorum =
			nla_get_u32(attrs[QREP_A_DEV_ON_NO_QUORUM]);
	problem = qrep_quorum_problem(config->nr_replicas,
				      config->write_quorum,
				      config->read_quorum);
	if (problem) {
		/* A literal from qrep_quorum.h: static, as _msg must be. */
		if (info->extack)
			info->extack->_msg = problem;
		return -EINVAL;
	}
	return 0;
}

static int qrep_create_precheck(struct genl_info *info,
				struct qrep_dev_config *config)
{
	struct nlattr **attrs = info->attrs;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, QREP_A_DEV_SIZE)) {
		NL_SET_ERR_MSG_MOD(info->extack, "the device size is required");
		return -EINVAL;
	}
	config->size = nla_get_u64(attrs[QREP_A_DEV_SIZE]);
	if (!IS_ALIGNED(config->size, QREP_BLOCK_SIZE)) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[QREP_A_DEV_SIZE],
				    "size must be a multiple of 4096 bytes");
		return -EINVAL;
	}

	config->mode = QREP_MODE_MIRROR;
	if (attrs[QREP_A_DEV_MODE])
		config->mode = nla_get_u32(attrs[QREP_A_DEV_MODE]);
	ret = qrep_create_quorum_precheck(info, config);
	if (ret)
		return ret;

	if (attrs[QREP_A_DEV_UUID])
		nla_memcpy(config->uuid, attrs[QREP_A_DEV_UUID],
			   QREP_UUID_SIZE);

	config->epoch = QREP_DEFAULT_EPOCH;
	if (attrs[QREP_A_DEV_EPOCH])
		config->epoch = nla_get_u64(attrs[QREP_A_DEV_EPOCH]);
	/* Both modes stamp the epoch into every version (qrep_quorum.h). */
	if (config->epoch > QREP_MAX_QUORUM_EPOCH) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[QREP_A_DEV_EPOCH],
				    "the epoch does not fit in a version");
		return -ERANGE;
	}
	config->role = QREP_ROLE_PRIMARY;
	if (attrs[QREP_A_DEV_ROLE])
		config->role = nla_get_u32(attrs[QREP_A_DEV_ROLE]);
	config->io_timeout_ms = QREP_DEFAULT_IO_TIMEOUT_MS;
	if (attrs[QREP_A_DEV_IO_TIMEOUT_MS])
		config->io_timeout_ms =
			nla_get_u32(attrs[QREP_A_DEV_IO_TIMEOUT_MS]);
	return 0;
}

static int qrep_reply_dev(struct genl_info *info, struct qrep_device *dev)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &qrep_genl_family, 0, info->genlhdr->cmd);
	if (!hdr || qrep_fill_dev(msg, dev)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int qrep_nl_dev_create(struct sk_buff *skb, struct genl_info *info)
{
	struct qrep_dev_config config = {};
	struct qrep_device *dev;
	int index = -1;
	int ret;

	ret = qrep_create_precheck(info, &config);
	if (ret)
		return ret;
	if (info->attrs[QREP_A_DEV_INDEX])
		index = nla_get_u32(info->attrs[QREP_A_DEV_INDEX]);

	mutex_lock(&qrep_devices_mutex);
	dev = qrep_device_create(&config, index, info->extack);
	if (IS_ERR(dev)) {
		ret = PTR_ERR(dev);
		goto out_unlock;
	}
	/*
	 * The device exists whether or not the requester reads this reply;
	 * a failure to send it is the requester's problem, not a reason to
	 * undo the creation.
	 */
	qrep_reply_dev(info, dev);
	ret = 0;
out_unlock:
	mutex_unlock(&qrep_devices_mutex);
	return ret;
}

/* The device named by QREP_A_DEV_INDEX, or an ERR_PTR explained in extack. */
static struct qrep_device *qrep_nl_find_dev(struct genl_info *info)
{
	struct qrep_device *dev;

	lockdep_assert_held(&qrep_devices_mutex);

	if (GENL_REQ_ATTR_CHECK(info, QREP_A_DEV_INDEX)) {
		NL_SET_ERR_MSG_MOD(info->extack, "the device index is required");
		return ERR_PTR(-EINVAL);
	}
	dev = qrep_device_lookup(nla_get_u32(info->attrs[QREP_A_DEV_INDEX]));
	if (!dev) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[QREP_A_DEV_INDEX],
				    "no such device");
		return ERR_PTR(-ENODEV);
	}
	return dev;
}

static int qrep_nl_dev_destroy(struct sk_buff *skb, struct genl_info *info)
{
	struct qrep_device *dev;
	int ret;

	mutex_lock(&qrep_devices_mutex);
	dev = qrep_nl_find_dev(info);
	ret = IS_ERR(dev) ? PTR_ERR(dev) : qrep_device_destroy(dev, info->extack);
	mutex_unlock(&qrep_devices_mutex);
	return ret;
}

static int qrep_nl_dev_get(struct sk_buff *skb, struct genl_info *info)
{
	struct qrep_device *dev;
	int ret;

	mutex_lock(&qrep_devices_mutex);
	dev = qrep_nl_find_dev(info);
	ret = IS_ERR(dev) ? PTR_ERR(dev) : qrep_reply_dev(info, dev);
	mutex_unlock(&qrep_devices_mutex);
	return ret;
}

/* cb->args[0]: how many devices earlier parts of this dump sent. */
static int qrep_nl_dev_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct qrep_device *dev;
	long skip = cb->args[0];
	long pos = 0;
	void *hdr;

	mutex_lock(&qrep_devices_mutex);
	cb->seq = qrep_devices_generation;
	list_for_each_entry(dev, &qrep_devices, node) {
		if (pos++ < skip)
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &qrep_genl_family,
				  NLM_F_MULTI, QREP_CMD_DEV_GET);
		if (!hdr)
			break;
		genl_dump_check_consistent(cb, hdr);
		if (qrep_fill_dev(skb, dev)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		cb->args[0] = pos;
	}
	mutex_unlock(&qrep_devices_mutex);
	return skb->len;
}

/*
 * DEV_SET: a role and/or an epoch. A new epoch must be larger than the
 * device's (epochs only grow: a primary's epoch names the election it
 * won) and, in quorum mode, fit in a version's epoch bits.
 */
static int qrep_set_precheck(struct genl_info *info, struct qrep_device *dev,
			     struct qrep_dev_change *change)
{
	struct nlattr **attrs = info->attrs;

	if (!attrs[QREP_A_DEV_ROLE] && !attrs[QREP_A_DEV_EPOCH]) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "nothing to change: give a role or an epoch");
		return -EINVAL;
	}
	if (attrs[QREP_A_DEV_ROLE])
		change->role = nla_get_u32(attrs[QREP_A_DEV_ROLE]);
	if (!attrs[QREP_A_DEV_EPOCH])
		return 0;
	change->epoch = nla_get_u64(attrs[QREP_A_DEV_EPOCH]);
	if (change->epoch <= qrep_device_epoch(dev)) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[QREP_A_DEV_EPOCH],
				    "the new epoch must be larger than the device's");
		return -EINVAL;
	}
	if (change->epoch > QREP_MAX_QUORUM_EPOCH) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[QREP_A_DEV_EPOCH],
				    "the epoch does not fit in a version");
		return -ERANGE;
	}
	return 0;
}

/*
 * Under qrep_devices_mutex, so that the check of the epoch and its raise
 * are one step against another DEV_SET, and the device stays.
 */
static int qrep_nl_dev_set(struct sk_buff *skb, struct genl_info *info)
{
	struct qrep_dev_change change = {};
	struct qrep_device *dev;
	int ret;

	mutex_lock(&qrep_devices_mutex);
	dev = qrep_nl_find_dev(info);
	if (IS_ERR(dev)) {
		ret = PTR_ERR(dev);
		goto out_unlock;
	}
	ret = qrep_set_precheck(info, dev, &change);
	if (ret)
		goto out_unlock;
	qrep_device_set(dev, &change);
out_unlock:
	mutex_unlock(&qrep_devices_mutex);
	return ret;
}

/* A name is for people and logs: printable ASCII, not empty. */
static bool qrep_replica_name_ok(const char *name)
{
	if (!*name)
		return false;
	for (; *name; name++)
		if (*name < 0x20 || *name > 0x7e)
			return false;
	return true;
}

static int qrep_replica_add_precheck(struct genl_info *info,
				     struct qrep_replica_config *config)
{
	struct nlattr **attrs = info->attrs;

	if (GENL_REQ_ATTR_CHECK(info, QREP_A_REPLICA_ID) ||
	    GENL_REQ_ATTR_CHECK(info, QREP_A_REPLICA_FD) ||
	    GENL_REQ_ATTR_CHECK(info, QREP_A_REPLICA_NAME)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "the replica slot, fd and name are required");
		return -EINVAL;
	}
	config->id = nla_get_u32(attrs[QREP_A_REPLICA_ID]);
	config->fd = nla_get_u32(attrs[QREP_A_REPLICA_FD]);
	nla_strscpy(config->name, attrs[QREP_A_REPLICA_NAME],
		    sizeof(config->name));
	if (!qrep_replica_name_ok(config->name)) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[QREP_A_REPLICA_NAME],
				    "the replica name must be printable and not empty");
		return -EINVAL;
	}
	if (attrs[QREP_A_REPLICA_MAX_VERSION])
		config->max_version =
			nla_get_u64(attrs[QREP_A_REPLICA_MAX_VERSION]);
	if (attrs[QREP_A_REPLICA_FLAGS])
		config->stale = nla_get_u32(attrs[QREP_A_REPLICA_FLAGS]) &
				QREP_REPLICA_F_STALE;
	return 0;
}

static int qrep_nl_replica_add(struct sk_buff *skb, struct genl_info *info)
{
	struct qrep_replica_config config = {};
	struct qrep_device *dev;
	int ret;

	ret = qrep_replica_add_precheck(info, &config);
	if (ret)
		return ret;
	mutex_lock(&qrep_devices_mutex);
	dev = qrep_nl_find_dev(info);
	ret = IS_ERR(dev) ? PTR_ERR(dev) :
	      qrep_replica_add(dev, &config, info->extack);
	/* Before the reply: whoever added the quorum finds the size there. */
	if (!ret)
		qrep_quorum_show_size(dev);
	mutex_unlock(&qrep_devices_mutex);
	return ret;
}

static int qrep_nl_replica_remove(struct sk_buff *skb, struct genl_info *info)
{
	struct qrep_device *dev;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, QREP_A_REPLICA_ID)) {
		NL_SET_ERR_MSG_MOD(info->extack, "the replica slot is required");
		return -EINVAL;
	}
	mutex_lock(&qrep_devices_mutex);
	dev = qrep_nl_find_dev(info);
	ret = IS_ERR(dev) ? PTR_ERR(dev) :
	      qrep_replica_remove(dev,
				  nla_get_u32(info->attrs[QREP_A_REPLICA_ID]),
				  info->extack);
	mutex_unlock(&qrep_devices_mutex);
	return ret;
}

/* The replica in QREP_A_REPLICA_ID, or an ERR_PTR explained in extack. */
static struct qrep_replica *qrep_nl_find_replica(struct genl_info *info,
						 struct qrep_device *dev)
{
	struct qrep_replica *r;

	if (GENL_REQ_ATTR_CHECK(info, QREP_A_REPLICA_ID)) {
		NL_SET_ERR_MSG_MOD(info->extack, "the replica slot is required");
		return ERR_PTR(-EINVAL);
	}
	r = qrep_replica_in_slot(dev,
				 nla_get_u32(info->attrs[QREP_A_REPLICA_ID]));
	if (!r) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[QREP_A_REPLICA_ID],
				    "no replica in this slot");
		return ERR_PTR(-ENOENT);
	}
	return r;
}

/* Bitmap words in one QREP_CMD_RESYNC_GET reply. */
#define QREP_RESYNC_GET_WORDS	(QREP_RESYNC_GET_MAX_REGIONS / 32)

static int qrep_resync_get_reply(struct genl_info *info,
				 struct qrep_device *dev,
				 struct qrep_replica *r, u64 start)
{
	size_t bytes = QREP_RESYNC_GET_WORDS * sizeof(u32);
	struct sk_buff *msg;
	unsigned long n;
	u32 *words;
	void *hdr;
	int ret = -EMSGSIZE;

	words = kvmalloc(bytes, GFP_KERNEL);
	if (!words)
		return -ENOMEM;
	n = qrep_dirty_get(dev, r->id, start, words,
			   QREP_RESYNC_GET_MAX_REGIONS);
	bytes = DIV_ROUND_UP(n, 32) * sizeof(u32);
	msg = genlmsg_new(bytes + NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg) {
		ret = -ENOMEM;
		goto out_free_words;
	}
	hdr = genlmsg_put_reply(msg, info, &qrep_genl_family, 0,
				QREP_CMD_RESYNC_GET);
	if (!hdr || qrep_fill_dev_id(msg, dev) || qrep_fill_replica(msg, r) ||
	    nla_put_u64_64bit(msg, QREP_A_RESYNC_REGIONS, dev->nr_regions,
			      QREP_A_PAD) ||
	    nla_put_u64_64bit(msg, QREP_A_RESYNC_START, start, QREP_A_PAD) ||
	    nla_put_u64_64bit(msg, QREP_A_RESYNC_COUNT, n, QREP_A_PAD) ||
	    nla_put(msg, QREP_A_RESYNC_BITMAP, bytes, words)) {
		nlmsg_free(msg);
		goto out_free_words;
	}
	genlmsg_end(msg, hdr);
	ret = genlmsg_reply(msg, info);
out_free_words:
	kvfree(words);
	return ret;
}

static int qrep_nl_resync_get(struct sk_buff *skb, struct genl_info *info)
{
	struct qrep_replica *r = NULL;
	struct qrep_device *dev;
	u64 start = 0;
	int ret;

	if (info->attrs[QREP_A_RESYNC_START])
		start = nla_get_u64(info->attrs[QREP_A_RESYNC_START]);
	mutex_lock(&qrep_devices_mutex);
	dev = qrep_nl_find_dev(info);
	if (IS_ERR(dev)) {
		ret = PTR_ERR(dev);
		goto out;
	}
	if (start >= dev->nr_regions) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[QREP_A_RESYNC_START],
				    "region beyond the end of the device");
		ret = -ERANGE;
		goto out;
	}
	mutex_lock(&dev->slots_mutex);
	r = qrep_nl_find_replica(info, dev);
	ret = IS_ERR(r) ? PTR_ERR(r) : qrep_resync_get_reply(info, dev, r, start);
	mutex_unlock(&dev->slots_mutex);
out:
	mutex_unlock(&qrep_devices_mutex);
	return ret;
}

/*
 * Quorum mode: the regions were copied from the newest of several
 * sources, which with the destination must make a read quorum; each must
 * still be live when the regions are cleared, and none unreconciled
 * (qrep_resync_source_ok): such a replica may hold an orphan, which a
 * copy would have taken as the newest version. A replica becomes
 * unreconciled only as it joins, so one that was not when the copy read
 * it and is now has taken the slot since: the copy is refused either way.
 */
static int qrep_nl_resync_sources(struct genl_info *info,
				  struct qrep_device *dev,
				  struct qrep_replica *r, unsigned long *sources)
{
	struct nlattr **attrs = info->attrs;
	struct qrep_replica *source;
	unsigned int slot;

	if (attrs[QREP_A_RESYNC_SOURCE_ID] ||
	    attrs[QREP_A_RESYNC_SOURCE_INSTANCE] ||
	    GENL_REQ_ATTR_CHECK(info, QREP_A_RESYNC_SOURCES)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "quorum mode clears regions copied from the set of sources in QREP_A_RESYNC_SOURCES");
		return -EINVAL;
	}
	*sources = nla_get_u32(attrs[QREP_A_RESYNC_SOURCES]);
	if (test_bit(r->id, sources) ||
	    hweight_long(*sources) + 1 < dev->config.read_quorum) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[QREP_A_RESYNC_SOURCES],
				    "the sources and the destination must make a read quorum");
		return -EINVAL;
	}
	for_each_set_bit(slot, sources, QREP_MAX_REPLICAS) {
		source = qrep_replica_in_slot(dev, slot);
		if (!source ||
		    !qrep_resync_source_ok(true, qrep_replica_live(source),
					   qrep_replica_state(source) ==
					   QREP_REPLICA_UPTODATE,
					   READ_ONCE(source->unreconciled))) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    attrs[QREP_A_RESYNC_SOURCES],
					    "a source replica is gone, failed or not yet reconciled");
			return -ESTALE;
		}
	}
	return 0;
}

/*
 * PROGRESS and FINISH may clear regions copied from an up-to-date source
 * (mirror mode) or from a read quorum's newest (quorum mode).
 */
static int qrep_nl_resync_clear(struct genl_info *info,
				struct qrep_device *dev, struct qrep_replica *r)
{
	struct nlattr **attrs = info->attrs;
	struct qrep_replica *source = NULL;
	unsigned long sources = 0;
	int ret;

	if (!attrs[QREP_A_RESYNC_START] && !attrs[QREP_A_RESYNC_COUNT])
		return 0;
	if (GENL_REQ_ATTR_CHECK(info, QREP_A_RESYNC_START) ||
	    GENL_REQ_ATTR_CHECK(info, QREP_A_RESYNC_COUNT)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "clearing regions needs their start and count");
		return -EINVAL;
	}
	if (qrep_quorum_mode(dev)) {
		ret = qrep_nl_resync_sources(info, dev, r, &sources);
		if (ret)
			return ret;
		goto clear;
	}
	if (attrs[QREP_A_RESYNC_SOURCES] ||
	    GENL_REQ_ATTR_CHECK(info, QREP_A_RESYNC_SOURCE_ID) ||
	    GENL_REQ_ATTR_CHECK(info, QREP_A_RESYNC_SOURCE_INSTANCE)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "clearing regions needs the source's slot and instance");
		return -EINVAL;
	}
	source = qrep_replica_in_slot(dev,
				      nla_get_u32(attrs[QREP_A_RESYNC_SOURCE_ID]));
	if (!source || source == r ||
	    source->instance != nla_get_u64(attrs[QREP_A_RESYNC_SOURCE_INSTANCE])) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "the source replica is gone or was replaced");
		return -ESTALE;
	}
clear:
	return qrep_resync_clear(dev, r, source,
				 nla_get_u64(attrs[QREP_A_RESYNC_START]),
				 nla_get_u64(attrs[QREP_A_RESYNC_COUNT]),
				 info->extack);
}

static int qrep_nl_resync_phase(struct genl_info *info,
				struct qrep_device *dev, struct qrep_replica *r)
{
	struct nlattr **attrs = info->attrs;
	u32 phase = nla_get_u32(attrs[QREP_A_RESYNC_PHASE]);
	int ret;

	if (phase == QREP_RESYNC_STOP) {
		qrep_resync_stop(r);
		return 0;
	}
	ret = qrep_nl_resync_clear(info, dev, r);
	if (ret)
		return ret;
	if (attrs[QREP_A_RESYNC_DONE_BYTES] && attrs[QREP_A_RESYNC_TOTAL_BYTES])
		qrep_resync_progress(r,
				     nla_get_u64(attrs[QREP_A_RESYNC_DONE_BYTES]),
				     nla_get_u64(attrs[QREP_A_RESYNC_TOTAL_BYTES]),
				     attrs[QREP_A_RESYNC_RATE] ?
				     nla_get_u64(attrs[QREP_A_RESYNC_RATE]) : 0);
	if (phase == QREP_RESYNC_FINISH)
		return qrep_resync_finish(dev, r, info->extack);
	return 0;
}

static int qrep_nl_replica_replaced(struct genl_info *info)
{
	NL_SET_ERR_MSG_MOD(info->extack,
			   "the replica was replaced since the resync began");
	return -ESTALE;
}

static int qrep_nl_resync_update(struct sk_buff *skb, struct genl_info *info)
{
	struct qrep_device *dev;
	struct qrep_replica *r;
	u64 version = 0;
	bool start;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, QREP_A_RESYNC_PHASE) ||
	    GENL_REQ_ATTR_CHECK(info, QREP_A_REPLICA_INSTANCE)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "the phase and the replica's instance are required");
		return -EINVAL;
	}
	start = nla_get_u32(info->attrs[QREP_A_RESYNC_PHASE]) ==
		QREP_RESYNC_START;
	mutex_lock(&qrep_devices_mutex);
	dev = qrep_nl_find_dev(info);
	if (IS_ERR(dev)) {
		ret = PTR_ERR(dev);
		goto out;
	}
	mutex_lock(&dev->slots_mutex);
	r = qrep_nl_find_replica(info, dev);
	if (IS_ERR(r))
		ret = PTR_ERR(r);
	else if (r->instance != nla_get_u64(info->attrs[QREP_A_REPLICA_INSTANCE]))
		ret = qrep_nl_replica_replaced(info);
	else if (start)
		ret = qrep_resync_start_begin(dev, r, &version, info->extack);
	else
		ret = qrep_nl_resync_phase(info, dev, r);
	mutex_unlock(&dev->slots_mutex);
out:
	mutex_unlock(&qrep_devices_mutex);
	/*
	 * START waits for older writes in flight (up to twice the I/O
	 * timeout) with no lock held: see qrep_resync_start_begin().
	 */
	if (!ret && start)
		ret = qrep_resync_start_end(dev, r, version, info->extack);
	return ret;
}

static const struct genl_ops qrep_genl_ops[] = {
	{
		.cmd = QREP_CMD_DEV_CREATE,
		.doit = qrep_nl_dev_create,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = QREP_CMD_DEV_DESTROY,
		.doit = qrep_nl_dev_destroy,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = QREP_CMD_DEV_GET,
		.doit = qrep_nl_dev_get,
		.dumpit = qrep_nl_dev_dump,
	},
	{
		.cmd = QREP_CMD_REPLICA_ADD,
		.doit = qrep_nl_replica_add,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = QREP_CMD_REPLICA_REMOVE,
		.doit = qrep_nl_replica_remove,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = QREP_CMD_RESYNC_GET,
		.doit = qrep_nl_resync_get,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = QREP_CMD_RESYNC_UPDATE,
		.doit = qrep_nl_resync_update,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = QREP_CMD_DEV_SET,
		.doit = qrep_nl_dev_set,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family qrep_genl_family __ro_after_init = {
	.name = QREP_GENL_NAME,
	.version = QREP_GENL_VERSION,
	.maxattr = QREP_A_MAX,
	.policy = qrep_policy,
	.netnsok = false,
	.module = THIS_MODULE,
	.ops = qrep_genl_ops,
	.n_ops = ARRAY_SIZE(qrep_genl_ops),
	/* Strict validation for every command, reserved header fields too. */
	.resv_start_op = QREP_CMD_MAX + 1,
	/*
	 * Not under genetlink's one mutex, which every family without this
	 * shares: each handler takes qrep_devices_mutex itself, and a
	 * resync START that waits for older writes (resync.c) then holds
	 * no lock at all, so that it makes no other command wait, of qrep
	 * or of any other family.
	 */
	.parallel_ops = true,
	.mcgrps = qrep_mcgrps,
	.n_mcgrps = ARRAY_SIZE(qrep_mcgrps),
};

/*
 * Numbers and multicasts one event; the caller has put its attributes.
 * Process context only.
 */
static void qrep_netlink_send_event(struct sk_buff *msg, void *hdr)
{
	lockdep_assert_held(&qrep_events_mutex);

	if (nla_put_u64_64bit(msg, QREP_A_EVENT_SEQ, ++qrep_event_seq,
			      QREP_A_PAD)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&qrep_genl_family, msg, 0, QREP_MCGRP_EVENTS,
			  GFP_NOIO);
}

/* A new event message for @event, or NULL when nobody listens. */
static struct sk_buff *qrep_netlink_event_new(enum qrep_event event,
					      void **hdr)
{
	struct sk_buff *msg;

	if (!genl_has_listeners(&qrep_genl_family, &init_net, QREP_MCGRP_EVENTS))
		return NULL;
	/*
	 * GFP_NOIO: events are sent from the work that fails replicas and
	 * releases held I/O, which reclaim must not wait on through qrep.
	 */
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_NOIO);
	if (!msg)
		return NULL;
	*hdr = genlmsg_put(msg, 0, 0, &qrep_genl_family, 0, QREP_CMD_EVENT);
	if (!*hdr || nla_put_u32(msg, QREP_A_EVENT, event)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* A device event: the device's full status. */
void qrep_netlink_notify_dev(struct qrep_device *dev, enum qrep_event event)
{
	struct sk_buff *msg;
	void *hdr;

	mutex_lock(&qrep_events_mutex);
	msg = qrep_netlink_event_new(event, &hdr);
	if (msg) {
		if (qrep_fill_dev(msg, dev))
			nlmsg_free(msg);
		else
			qrep_netlink_send_event(msg, hdr);
	}
	mutex_unlock(&qrep_events_mutex);
}

/* A replica event: the device's index and name, and one QREP_A_REPLICA. */
void qrep_netlink_notify_replica(struct qrep_device *dev,
				 struct qrep_replica *r, enum qrep_event event)
{
	struct sk_buff *msg;
	void *hdr;

	mutex_lock(&qrep_events_mutex);
	msg = qrep_netlink_event_new(event, &hdr);
	if (msg) {
		if (qrep_fill_dev_id(msg, dev) || qrep_fill_replica(msg, r))
			nlmsg_free(msg);
		else
			qrep_netlink_send_event(msg, hdr);
	}
	mutex_unlock(&qrep_events_mutex);
}

int __init qrep_netlink_init(void)
{
	return genl_register_family(&qrep_genl_family);
}

void qrep_netlink_uninit(void)
{
	genl_unregister_family(&qrep_genl_family);
}
