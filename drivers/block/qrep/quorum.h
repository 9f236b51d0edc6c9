/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Quorum mode: writes complete on W acknowledgments, reads take the
 * newest of R replicas' versions, and I/O that cannot reach its quorum
 * is held or failed. See quorum.c and Documentation/quorum.rst.
 */
#ifndef _QREP_QUORUM_H
#define _QREP_QUORUM_H

#include <linux/types.h>
#include <linux/qrep.h>
#include <linux/qrep_quorum.h>

#include "device.h"

struct qrep_io;
struct qrep_replica;
struct qrep_reply;

static inline bool qrep_quorum_mode(const struct qrep_device *dev)
{
	return dev->config.mode == QREP_MODE_QUORUM;
}

/* Device lifetime. */
void qrep_quorum_init(struct qrep_device *dev);
/* Before the disk goes: every held request fails, nothing more is held. */
void qrep_quorum_teardown(struct qrep_device *dev);

/*
 * Quorum mode with on-no-quorum suspend: the disk's size, 0 at
 * creation, until the device first has its read and write quorums.
 */
bool qrep_quorum_hides_size(const struct qrep_dev_config *config);
/* Sets the size if the quorums are there now; process context. */
void qrep_quorum_show_size(struct qrep_device *dev);

/* The replicas changed: re-count the quorums (from any context). */
void qrep_quorum_changed(struct qrep_device *dev);
/* Sends every held request back to queue_rq (a demotion fails them). */
void qrep_quorum_release_all(struct qrep_device *dev);
/* QREP_QUORUM_F_* as last announced, and the requests held now. */
u32 qrep_quorum_flags(struct qrep_device *dev);
unsigned int qrep_quorum_held(struct qrep_device *dev);

/* queue_rq; under rcu_read_lock. */
void qrep_quorum_dispatch(struct qrep_device *dev, struct qrep_io *io);
/* The last reference to @io went. */
void qrep_quorum_complete(struct qrep_device *dev, struct qrep_io *io);

/*
 * A WRITE that has its W acknowledgments stops waiting for the others:
 * their replies are expected as late replies (below). Called by a
 * receiver after an acknowledgment and by a sender after it let go.
 */
void qrep_io_detach(struct qrep_device *dev, struct qrep_io *io);

/* A replica's table of late replies: replica create and release. */
int qrep_late_alloc(struct qrep_replica *r);
void qrep_late_free(struct qrep_replica *r);
/*
 * A reply whose handle no request waits for: if it is a late reply this
 * replica owes, it is dealt with and true is returned. @ret is what the
 * receiver loop goes on with (0, or an error that ends it).
 */
bool qrep_late_reply(struct qrep_replica *r, const struct qrep_reply *reply,
		     int *ret);
/* The receiver is ending: no late reply will come. */
void qrep_late_sweep(struct qrep_replica *r);

/* receive.c: a READ reply to a quorum read. */
u32 qrep_quorum_read_blocks(struct qrep_replica *r, struct qrep_io *io);
bool qrep_quorum_read_versions(struct qrep_replica *r, struct qrep_io *io,
			       const __be64 *versions, u32 nblocks);
bool qrep_quorum_read_wants_data(struct qrep_replica *r, struct qrep_io *io);
int qrep_quorum_read_data(struct qrep_replica *r, struct qrep_io *io);
void qrep_quorum_read_done(struct qrep_replica *r, struct qrep_io *io);

/* receive.c: a READ in phase 3 went as a WRITE, and @r acknowledged it. */
bool qrep_quorum_read_writing(struct qrep_io *io);
void qrep_quorum_read_written(struct qrep_replica *r, struct qrep_io *io);

/* send.c: what a READ asks this replica for (phase 3: a WRITE). */
void qrep_quorum_build_read(struct qrep_replica *r, struct qrep_io *io,
			    u16 *op, u16 *flags, u64 *block, u32 *nblocks);

#endif /* _QREP_QUORUM_H */
