/* SPDX-License-Identifier: GPL-2.0 */
/* Handing a target connection to qrep.ko, for qrepctl and qrepd. */
#ifndef QREP_LIB_REPLICA_ADD_H
#define QREP_LIB_REPLICA_ADD_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "genl.h"

/*
 * QREP_CMD_REPLICA_ADD: the connected, handshaken socket @fd becomes
 * replica @i of @cfg's device. @stale: it is behind by an unknown amount
 * (QREP_REPLICA_F_STALE). Returns 0 or -errno, with g->error saying why.
 * The caller still owns @fd (the kernel takes its own reference).
 */
int qrep_replica_hand_over(struct qrep_genl *g, const struct qrep_config *cfg,
			   unsigned int i, int fd, uint64_t max_version,
			   bool stale);

#endif /* QREP_LIB_REPLICA_ADD_H */
