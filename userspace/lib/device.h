/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bringing a resource's device up, shared by qrepctl (up, reconnect) and
 * qrepd (cluster mode): connections to the replicas' targets made and
 * checked in user space, and the netlink commands that create, change and
 * remove the device and its replicas. Which replicas are behind is
 * uptodate.h's business.
 *
 * Nothing here prints: sentences go to the caller (an error buffer, the
 * kernel's message in g->error, or a note callback), which says them in
 * its own voice (qrepctl on stderr, qrepd in its log).
 */
#ifndef QREP_LIB_DEVICE_H
#define QREP_LIB_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "genl.h"
#include "proto.h"

/* One replica's connection, before it is handed to the kernel. */
struct qrep_replica_conn {
	int fd;				/* -1: not connected */
	struct qrep_hello_reply_msg hello;
	bool stale;			/* behind the others: see uptodate.h */
};

/* Receives one sentence (no prefix, no newline). */
typedef void qrep_note_fn(void *arg, const char *msg);

/* Formats one sentence and hands it to @note. */
void qrep_note(qrep_note_fn *note, void *arg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void qrep_replica_conns_init(struct qrep_replica_conn *conns, unsigned int n);
void qrep_replica_conns_close(struct qrep_replica_conn *conns, unsigned int n);

/*
 * Connects to replica @i of @cfg and does the handshake with @secret
 * (NULL: none), claiming @epoch in the hello (0 only asks; a newer one
 * raises the target's, durably). 0, or -errno with a sentence in @err
 * (conn->fd is then -1).
 */
int qrep_replica_open(const struct qrep_config *cfg, unsigned int i,
		      uint64_t epoch, const struct qrep_secret *secret,
		      struct qrep_replica_conn *conn, char *err,
		      size_t errlen);

/* The highest epoch any connected target reported (0 if none has one). */
uint64_t qrep_replica_conns_highest_epoch(const struct qrep_config *cfg,
					  const struct qrep_replica_conn *conns);

/*
 * How many rounds of proposals qrep_replica_conns_reserve_epoch() makes
 * before it gives up: each refused round means another device (or an
 * election) took the epoch just proposed, or a newer one, meanwhile.
 */
#define QREP_RESERVE_EPOCH_ROUNDS	8

/*
 * Reserves the epoch of a device about to be made over @conns (a manual
 * `up`): proposes (QREP_OP_EPOCH_PROPOSE) one above every epoch the
 * connected targets reported, and needs every connected target to accept
 * it: in mirror mode every replica, in quorum mode at least the write
 * quorum (a target whose connection fails meanwhile is dropped,
 * conns[i].fd = -1, as if it never answered). A target that refuses
 * already holds that epoch or a newer one: the next round proposes above
 * the newest such, for at most QREP_RESERVE_EPOCH_ROUNDS rounds. Once
 * every connected target holds the epoch, each refuses every request of
 * an older one: whatever device wrote there before is fenced, and no
 * version of this device's epoch was ever stamped by another.
 *
 * On success *epoch is the reserved epoch and each connection's
 * hello.epoch says it. 0, or -ERANGE (no epoch left that fits a version:
 * QREP_MAX_QUORUM_EPOCH), -EAGAIN (refused in every round), -EIO (too
 * few targets left), with sentences given to @note.
 */
int qrep_replica_conns_reserve_epoch(const struct qrep_config *cfg,
				     struct qrep_replica_conn *conns,
				     uint64_t *epoch, qrep_note_fn *note,
				     void *arg);

/*
 * QREP_CMD_DEV_CREATE of @cfg's device at @epoch, with @role
 * (QREP_ROLE_*; 0 leaves it out: the kernel's default, primary). 0 or
 * -errno with g->error saying why.
 */
int qrep_device_create(struct qrep_genl *g, const struct qrep_config *cfg,
		       uint64_t epoch, uint32_t role);

/* QREP_CMD_DEV_DESTROY; 0 or -errno with g->error. */
int qrep_device_destroy(struct qrep_genl *g, uint32_t index);

/*
 * QREP_CMD_DEV_SET: the device's @role, and with @epoch not 0 its new
 * epoch (the kernel wants it strictly larger). 0 or -errno with g->error.
 */
int qrep_device_set_role(struct qrep_genl *g, uint32_t index, uint32_t role,
			 uint64_t epoch);

/* QREP_CMD_REPLICA_REMOVE of slot @slot; 0 or -errno with g->error. */
int qrep_device_remove_replica(struct qrep_genl *g, uint32_t index,
			       uint32_t slot);

#endif /* QREP_LIB_DEVICE_H */
