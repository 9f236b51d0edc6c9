// SPDX-License-Identifier: GPL-2.0
/*
 * libmnl was chosen over libnl-genl because it is small and has no hidden
 * state: every message is built and parsed in plain sight, which keeps the
 * wire format obvious and the fuzzing surface small (see
 * Documentation/netlink.rst).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/qrep.h>
#include <linux/qrep_proto.h>

#include "genl.h"

/* The kernel's MAX_ERRNO: error numbers are 1..4095. */
#define NL_MAX_ERRNO	4095

static void set_error(struct qrep_genl *g, const char *msg)
{
	snprintf(g->error, sizeof(g->error), "%s", msg);
}

static struct nlmsghdr *put_header(struct qrep_genl *g, uint16_t type,
				   uint8_t cmd, uint8_t version, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(g->buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++g->seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = version;
	return nlh;
}

struct family_info {
	uint16_t id;
	uint32_t events_group;
};

static int mcgrp_cb(const struct nlattr *grp, struct family_info *info)
{
	const struct nlattr *attr;
	const char *name = NULL;
	uint32_t id = 0;

	mnl_attr_for_each_nested(attr, grp) {
		switch (mnl_attr_get_type(attr)) {
		case CTRL_ATTR_MCAST_GRP_NAME:
			if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
				name = mnl_attr_get_str(attr);
			break;
		case CTRL_ATTR_MCAST_GRP_ID:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				id = mnl_attr_get_u32(attr);
			break;
		}
	}
	if (name && strcmp(name, QREP_GENL_MCGRP_EVENTS) == 0)
		info->events_group = id;
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	struct family_info *info = data;
	const struct nlattr *attr, *grp;

	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(attr)) {
		case CTRL_ATTR_FAMILY_ID:
			if (mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
				info->id = mnl_attr_get_u16(attr);
			break;
		case CTRL_ATTR_MCAST_GROUPS:
			mnl_attr_for_each_nested(grp, attr)
				mcgrp_cb(grp, info);
			break;
		}
	}
	return MNL_CB_OK;
}

int qrep_genl_open(struct qrep_genl *g)
{
	struct family_info info = { 0 };
	struct nlmsghdr *nlh;
	int one = 1;
	int ret;

	memset(g, 0, sizeof(*g));
	g->buf = malloc(QREP_GENL_BUF_SIZE);
	if (!g->buf)
		return -ENOMEM;
	g->nl = mnl_socket_open(NETLINK_GENERIC);
	if (!g->nl) {
		ret = -errno;
		set_error(g, "cannot open a generic netlink socket");
		goto err_free;
	}
	if (mnl_socket_bind(g->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		set_error(g, "cannot bind the netlink socket");
		goto err_close;
	}
	/*
	 * Ask for the kernel's error strings, and for errors without a copy
	 * of the request (which could outgrow the buffer).
	 */
	mnl_socket_setsockopt(g->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(g->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	g->portid = mnl_socket_get_portid(g->nl);
	g->seq = (uint32_t)time(NULL);

	nlh = put_header(g, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, QREP_GENL_NAME);
	ret = qrep_genl_talk(g, nlh, family_cb, &info);
	if (ret == -ENOENT) {
		set_error(g, "the qrep module is not loaded (modprobe qrep / insmod qrep.ko)");
		goto err_close;
	}
	if (ret)
		goto err_close;
	if (!info.id) {
		ret = -EPROTO;
		set_error(g, "the kernel did not report the qrep family id");
		goto err_close;
	}
	g->family_id = info.id;
	g->events_group = info.events_group;
	return 0;

err_close:
	mnl_socket_close(g->nl);
	g->nl = NULL;
err_free:
	free(g->buf);
	g->buf = NULL;
	return ret;
}

void qrep_genl_close(struct qrep_genl *g)
{
	if (g->nl)
		mnl_socket_close(g->nl);
	free(g->buf);
	g->nl = NULL;
	g->buf = NULL;
}

struct nlmsghdr *qrep_genl_request(struct qrep_genl *g, uint8_t cmd,
				   uint16_t flags)
{
	return put_header(g, g->family_id, cmd, QREP_GENL_VERSION, flags);
}

/*
 * An error number from a message: -errno, as the kernel sends it. Anything
 * else (positive, or below -MAX_ERRNO, which callers would negate into an
 * overflow) is turned into -EPROTO.
 */
static int msg_errno(int e)
{
	return e <= 0 && e >= -NL_MAX_ERRNO ? e : -EPROTO;
}

int qrep_genl_parse_error(const struct nlmsghdr *nlh, char *msg,
			  size_t msglen)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	unsigned int offset;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
		return -EPROTO;
	if (err->error == 0)
		return 0;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return msg_errno(err->error);
	/*
	 * The TLVs follow the echoed request, or only its header if capped.
	 * An echo claiming to be shorter than its header or longer than
	 * what holds it would put them outside the message: none, then.
	 */
	offset = sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (err->msg.nlmsg_len < sizeof(err->msg) ||
		    err->msg.nlmsg_len - sizeof(err->msg) >
		    mnl_nlmsg_get_payload_len(nlh) - sizeof(*err))
			return msg_errno(err->error);
		offset += err->msg.nlmsg_len - sizeof(err->msg);
	}
	mnl_attr_for_each(attr, nlh, offset) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(msg, msglen, "%s", mnl_attr_get_str(attr));
	}
	return msg_errno(err->error);
}

/* An NLMSG_ERROR: errno 0 is the ACK; else keep the extack message. */
static int error_msg(struct qrep_genl *g, const struct nlmsghdr *nlh)
{
	g->error[0] = '\0';
	return qrep_genl_parse_error(nlh, g->error, sizeof(g->error));
}

/*
 * mnl_nlmsg_ok(), but refusing a length of 2 GiB or more too: libmnl
 * 1.0.4 compares it as an int, takes it for negative and accepts it, and
 * the next message would then be looked for gigabytes away.
 */
static bool msg_ok(const struct nlmsghdr *nlh, int left)
{
	return left >= (int)sizeof(*nlh) &&
	       nlh->nlmsg_len >= sizeof(*nlh) &&
	       nlh->nlmsg_len <= (unsigned int)left;
}

int qrep_genl_handle(struct qrep_genl *g, const void *buf, size_t len,
		     uint32_t seq, mnl_cb_t cb, void *data)
{
	const struct nlmsghdr *nlh = buf;
	int left = len > INT_MAX ? INT_MAX : (int)len;

	for (; msg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (seq && nlh->nlmsg_seq != seq)
			continue;
		switch (nlh->nlmsg_type) {
		case NLMSG_ERROR:
			return error_msg(g, nlh);
		case NLMSG_DONE:
			/* A dump that failed part way says so here. */
			if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
				return msg_errno(*(const int *)
					mnl_nlmsg_get_payload(nlh));
			return 0;
		case NLMSG_NOOP:
		case NLMSG_OVERRUN:
			continue;
		}
		if (cb && cb(nlh, data) < MNL_CB_OK)
			return -EPROTO;
	}
	/* Events (seq 0) come one batch at a time. */
	return seq ? QREP_GENL_MORE : 0;
}

static int receive(struct qrep_genl *g, uint32_t seq, mnl_cb_t cb, void *data)
{
	ssize_t len;
	int ret;

	do {
		len = mnl_socket_recvfrom(g->nl, g->buf, QREP_GENL_BUF_SIZE);
		if (len < 0)
			return -errno;
		ret = qrep_genl_handle(g, g->buf, (size_t)len, seq, cb, data);
	} while (ret == QREP_GENL_MORE);
	return ret;
}

int qrep_genl_talk(struct qrep_genl *g, struct nlmsghdr *nlh, mnl_cb_t cb,
		   void *data)
{
	g->error[0] = '\0';
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(g->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return receive(g, nlh->nlmsg_seq, cb, data);
}

int qrep_genl_subscribe(struct qrep_genl *g)
{
	if (!g->events_group) {
		set_error(g, "the kernel has no qrep events group");
		return -ENOENT;
	}
	if (mnl_socket_setsockopt(g->nl, NETLINK_ADD_MEMBERSHIP,
				  &g->events_group,
				  sizeof(g->events_group)) < 0)
		return -errno;
	return 0;
}

int qrep_genl_recv_events(struct qrep_genl *g, mnl_cb_t cb, void *data)
{
	return receive(g, 0, cb, data);
}

const int qrep_genl_attr_types[QREP_A_MAX + 1] = {
	[QREP_A_DEV_INDEX] = MNL_TYPE_U32,
	[QREP_A_DEV_SIZE] = MNL_TYPE_U64,
	[QREP_A_DEV_MODE] = MNL_TYPE_U32,
	[QREP_A_DEV_UUID] = MNL_TYPE_BINARY,
	[QREP_A_DEV_NAME] = MNL_TYPE_NUL_STRING,
	[QREP_A_EVENT] = MNL_TYPE_U32,
	[QREP_A_EVENT_SEQ] = MNL_TYPE_U64,
	[QREP_A_DEV_EPOCH] = MNL_TYPE_U64,
	[QREP_A_DEV_IO_TIMEOUT_MS] = MNL_TYPE_U32,
	[QREP_A_DEV_VERSION] = MNL_TYPE_U64,
	[QREP_A_DEV_LIVE_REPLICAS] = MNL_TYPE_U32,
	[QREP_A_REPLICA] = MNL_TYPE_NESTED,
	[QREP_A_REPLICA_ID] = MNL_TYPE_U32,
	[QREP_A_REPLICA_FD] = MNL_TYPE_U32,
	[QREP_A_REPLICA_NAME] = MNL_TYPE_NUL_STRING,
	[QREP_A_REPLICA_FLAGS] = MNL_TYPE_U32,
	[QREP_A_REPLICA_MAX_VERSION] = MNL_TYPE_U64,
	[QREP_A_REPLICA_STATE] = MNL_TYPE_U32,
	[QREP_A_REPLICA_INFLIGHT] = MNL_TYPE_U32,
	[QREP_A_REPLICA_ERRORS] = MNL_TYPE_U64,
	[QREP_A_REPLICA_READS] = MNL_TYPE_U64,
	[QREP_A_REPLICA_WRITES] = MNL_TYPE_U64,
	[QREP_A_REPLICA_LAST_ERROR] = MNL_TYPE_NUL_STRING,
	[QREP_A_REPLICA_INSTANCE] = MNL_TYPE_U64,
	[QREP_A_REPLICA_DIRTY_REGIONS] = MNL_TYPE_U64,
	[QREP_A_REPLICA_HISTORY_UNKNOWN] = MNL_TYPE_FLAG,
	[QREP_A_RESYNC_PHASE] = MNL_TYPE_U32,
	[QREP_A_RESYNC_SOURCE_ID] = MNL_TYPE_U32,
	[QREP_A_RESYNC_SOURCE_INSTANCE] = MNL_TYPE_U64,
	[QREP_A_RESYNC_START] = MNL_TYPE_U64,
	[QREP_A_RESYNC_COUNT] = MNL_TYPE_U64,
	[QREP_A_RESYNC_REGIONS] = MNL_TYPE_U64,
	[QREP_A_RESYNC_BITMAP] = MNL_TYPE_BINARY,
	[QREP_A_RESYNC_DONE_BYTES] = MNL_TYPE_U64,
	[QREP_A_RESYNC_TOTAL_BYTES] = MNL_TYPE_U64,
	[QREP_A_RESYNC_RATE] = MNL_TYPE_U64,
	[QREP_A_RESYNC_ACTIVE] = MNL_TYPE_FLAG,
	[QREP_A_REPLICA_CHECK_DATA] = MNL_TYPE_FLAG,
	[QREP_A_DEV_REPLICAS] = MNL_TYPE_U32,
	[QREP_A_DEV_WRITE_QUORUM] = MNL_TYPE_U32,
	[QREP_A_DEV_READ_QUORUM] = MNL_TYPE_U32,
	[QREP_A_DEV_ON_NO_QUORUM] = MNL_TYPE_U32,
	[QREP_A_DEV_QUORUM_FLAGS] = MNL_TYPE_U32,
	[QREP_A_DEV_HELD] = MNL_TYPE_U32,
	[QREP_A_RESYNC_SOURCES] = MNL_TYPE_U32,
	[QREP_A_DEV_ROLE] = MNL_TYPE_U32,
	[QREP_A_REPLICA_FENCED_EPOCH] = MNL_TYPE_U64,
	[QREP_A_REPLICA_UNRECONCILED] = MNL_TYPE_FLAG,
};

static int parse_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, QREP_A_MAX) < 0)
		return MNL_CB_OK;	/* newer kernel: skip what we don't know */
	if (qrep_genl_attr_types[type] &&
	    mnl_attr_validate(attr, qrep_genl_attr_types[type]) < 0)
		return MNL_CB_ERROR;
	if (type == QREP_A_DEV_UUID &&
	    mnl_attr_get_payload_len(attr) != QREP_UUID_SIZE)
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

int qrep_genl_parse(const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	memset(tb, 0, sizeof(*tb) * (QREP_A_MAX + 1));
	if (mnl_attr_parse(nlh, sizeof(struct genlmsghdr), parse_attr, tb) < 0)
		return -EPROTO;
	return 0;
}

int qrep_genl_parse_nested(const struct nlattr *nest, const struct nlattr **tb)
{
	memset(tb, 0, sizeof(*tb) * (QREP_A_MAX + 1));
	if (mnl_attr_parse_nested(nest, parse_attr, tb) < 0)
		return -EPROTO;
	return 0;
}
