// SPDX-License-Identifier: GPL-2.0
/* A device's shape, its replicas and their bitmaps, from the kernel. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/genetlink.h>
#include <linux/qrep_data.h>
#include <linux/qrep_proto.h>

#include "view.h"

static int view_replica(const struct nlattr *nest, struct qrep_view *v,
			uint32_t *slot)
{
	const struct nlattr *tb[QREP_A_MAX + 1];
	struct qrep_view_replica *r;
	uint32_t id;

	if (qrep_genl_parse_nested(nest, tb) || !tb[QREP_A_REPLICA_ID] ||
	    !tb[QREP_A_REPLICA_STATE] || !tb[QREP_A_REPLICA_INSTANCE])
		return -EPROTO;
	id = mnl_attr_get_u32(tb[QREP_A_REPLICA_ID]);
	if (id >= QREP_MAX_REPLICAS)
		return -EPROTO;
	r = &v->replicas[id];
	r->present = true;
	r->state = mnl_attr_get_u32(tb[QREP_A_REPLICA_STATE]);
	r->instance = mnl_attr_get_u64(tb[QREP_A_REPLICA_INSTANCE]);
	r->dirty_regions = tb[QREP_A_REPLICA_DIRTY_REGIONS] ?
		mnl_attr_get_u64(tb[QREP_A_REPLICA_DIRTY_REGIONS]) : 0;
	r->history_unknown = tb[QREP_A_REPLICA_HISTORY_UNKNOWN];
	r->check_data = tb[QREP_A_REPLICA_CHECK_DATA];
	r->unreconciled = tb[QREP_A_REPLICA_UNRECONCILED];
	if (slot)
		*slot = id;
	return 0;
}

int qrep_view_parse(const struct nlmsghdr *nlh, struct qrep_view *v)
{
	const struct nlattr *tb[QREP_A_MAX + 1];
	const struct nlattr *attr;

	if (qrep_genl_parse(nlh, tb) || !tb[QREP_A_DEV_SIZE] ||
	    !tb[QREP_A_DEV_EPOCH])
		return -EPROTO;
	v->size = mnl_attr_get_u64(tb[QREP_A_DEV_SIZE]);
	v->epoch = mnl_attr_get_u64(tb[QREP_A_DEV_EPOCH]);
	/* A kernel from before quorum mode says no mode: it mirrors. */
	v->mode = tb[QREP_A_DEV_MODE] ? mnl_attr_get_u32(tb[QREP_A_DEV_MODE]) :
		  QREP_MODE_MIRROR;
	v->role = tb[QREP_A_DEV_ROLE] ? mnl_attr_get_u32(tb[QREP_A_DEV_ROLE]) :
		  QREP_ROLE_PRIMARY;
	/*
	 * Checked here, not only by qrep_genl_parse: its table of types may
	 * not know the quorum attributes yet, and a short one must not be
	 * read past its end.
	 */
	if (tb[QREP_A_DEV_READ_QUORUM] &&
	    mnl_attr_validate(tb[QREP_A_DEV_READ_QUORUM], MNL_TYPE_U32) < 0)
		return -EPROTO;
	v->read_quorum = tb[QREP_A_DEV_READ_QUORUM] ?
		mnl_attr_get_u32(tb[QREP_A_DEV_READ_QUORUM]) : 0;
	v->regions = (v->size / QREP_BLOCK_SIZE + QREP_REGION_BLOCKS - 1) /
		     QREP_REGION_BLOCKS;
	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(attr) == QREP_A_REPLICA &&
		    view_replica(attr, v, NULL))
			return -EPROTO;
	return 0;
}

bool qrep_view_source_ok(const struct qrep_view *v, unsigned int slot)
{
	const struct qrep_view_replica *r;

	if (slot >= QREP_MAX_REPLICAS || !v->replicas[slot].present)
		return false;
	r = &v->replicas[slot];
	return qrep_resync_source_ok(v->mode == QREP_MODE_QUORUM,
				     r->state == QREP_REPLICA_UPTODATE ||
				     r->state == QREP_REPLICA_STALE,
				     r->state == QREP_REPLICA_UPTODATE,
				     r->unreconciled);
}

static int view_cb(const struct nlmsghdr *nlh, void *data)
{
	return qrep_view_parse(nlh, data) ? MNL_CB_ERROR : MNL_CB_OK;
}

int qrep_view_load(struct qrep_genl *g, uint32_t index, struct qrep_view *v)
{
	struct nlmsghdr *nlh = qrep_genl_request(g, QREP_CMD_DEV_GET, 0);

	memset(v, 0, sizeof(*v));
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, index);
	return qrep_genl_talk(g, nlh, view_cb, v);
}

struct bitmap_ctx {
	uint32_t *bits;
	uint64_t regions, start, got;
	uint64_t instance;
	struct qrep_view_replica replica;
	bool stale;
};

static int bitmap_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[QREP_A_MAX + 1];
	struct bitmap_ctx *c = data;
	struct qrep_view v = { 0 };
	uint64_t start, count;
	uint32_t slot, i;
	const uint32_t *words;

	if (qrep_genl_parse(nlh, tb) || !tb[QREP_A_REPLICA] ||
	    !tb[QREP_A_RESYNC_REGIONS] || !tb[QREP_A_RESYNC_START] ||
	    !tb[QREP_A_RESYNC_COUNT] || !tb[QREP_A_RESYNC_BITMAP] ||
	    view_replica(tb[QREP_A_REPLICA], &v, &slot))
		return MNL_CB_ERROR;
	start = mnl_attr_get_u64(tb[QREP_A_RESYNC_START]);
	count = mnl_attr_get_u64(tb[QREP_A_RESYNC_COUNT]);
	if (mnl_attr_get_u64(tb[QREP_A_RESYNC_REGIONS]) != c->regions ||
	    start != c->start || count == 0 || count > c->regions - start ||
	    mnl_attr_get_payload_len(tb[QREP_A_RESYNC_BITMAP]) !=
	    (count + 31) / 32 * 4)
		return MNL_CB_ERROR;
	c->stale = v.replicas[slot].instance != c->instance;
	c->replica = v.replicas[slot];
	words = mnl_attr_get_payload(tb[QREP_A_RESYNC_BITMAP]);
	for (i = 0; i < count; i++)
		if (words[i / 32] >> (i % 32) & 1)
			c->bits[(start + i) / 32] |= 1U << ((start + i) % 32);
	c->got = count;
	return MNL_CB_OK;
}

int qrep_view_bitmap(struct qrep_genl *g, uint32_t index, uint32_t slot,
		     uint64_t instance, uint32_t **bits,
		     struct qrep_view_replica *replica)
{
	struct bitmap_ctx c = { .instance = instance };
	struct qrep_view v;
	struct nlmsghdr *nlh;
	int ret;

	ret = qrep_view_load(g, index, &v);
	if (ret)
		return ret;
	c.regions = v.regions;
	c.bits = calloc((v.regions + 31) / 32 + 1, sizeof(uint32_t));
	if (!c.bits)
		return -ENOMEM;
	for (c.start = 0; c.start < c.regions; c.start += c.got) {
		nlh = qrep_genl_request(g, QREP_CMD_RESYNC_GET, 0);
		mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, index);
		mnl_attr_put_u32(nlh, QREP_A_REPLICA_ID, slot);
		mnl_attr_put_u64(nlh, QREP_A_RESYNC_START, c.start);
		c.got = 0;
		ret = qrep_genl_talk(g, nlh, bitmap_cb, &c);
		if (!ret && c.stale)
			ret = -ESTALE;
		if (!ret && !c.got)
			ret = -EPROTO;
		if (ret) {
			free(c.bits);
			return ret;
		}
	}
	*bits = c.bits;
	*replica = c.replica;
	return 0;
}
