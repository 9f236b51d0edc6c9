/* SPDX-License-Identifier: GPL-2.0 */
/* What qrepctl needs to know of a device, read from the kernel. */
#ifndef QREPCTL_VIEW_H
#define QREPCTL_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/qrep.h>

#include "genl.h"

struct qrep_view_replica {
	bool present;
	uint32_t state;			/* enum qrep_replica_state */
	uint64_t instance;
	uint64_t dirty_regions;
	bool history_unknown;
	bool check_data;		/* a read found a corrupt block on it */
	bool unreconciled;		/* rejoined: no reads, no resync source */
};

struct qrep_view {
	uint64_t size, epoch, regions;
	uint32_t mode;			/* enum qrep_mode */
	uint32_t role;			/* enum qrep_role */
	uint32_t read_quorum;		/* R in quorum mode, or 0 */
	struct qrep_view_replica replicas[QREP_MAX_REPLICAS];
};

/*
 * One DEV_GET reply into @v (which the caller zeroed): 0, or -EPROTO if
 * it lacks the size or epoch or an attribute is malformed. A reply
 * without QREP_A_DEV_MODE is mirror mode (a kernel from before quorum
 * mode), one without QREP_A_DEV_ROLE a primary; read_quorum is 0 if the
 * reply gives none.
 */
int qrep_view_parse(const struct nlmsghdr *nlh, struct qrep_view *v);

/*
 * May slot @slot be a resync's source, as the kernel described it in @v?
 * The shared rule (qrep_resync_source_ok, linux/qrep_data.h): in quorum
 * mode live (up to date or stale) and not unreconciled, in mirror mode
 * up to date.
 */
bool qrep_view_source_ok(const struct qrep_view *v, unsigned int slot);

/* 0, or -errno with g->error saying why. */
int qrep_view_load(struct qrep_genl *g, uint32_t index, struct qrep_view *v);

/*
 * The whole bitmap of slot @slot (malloc'ed into *bits, bit i = region
 * i), and the replica as it was then (history unknown, check data).
 * -ESTALE if the slot's replica is no longer @instance.
 */
int qrep_view_bitmap(struct qrep_genl *g, uint32_t index, uint32_t slot,
		     uint64_t instance, uint32_t **bits,
		     struct qrep_view_replica *replica);

#endif /* QREPCTL_VIEW_H */
