/* SPDX-License-Identifier: GPL-2.0 */
/* Connecting to a resource's replica and handing the connection to qrep.ko. */
#ifndef QREP_LIB_REPLICA_ADD_H
#define QREP_LIB_REPLICA_ADD_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "genl.h"
#include "proto.h"

/*
 * Connects to replica @i of @cfg and does the handshake (with the
 * resource's secret, if it has a secret-file; the hello claims no
 * epoch). Returns the socket, or -errno with a sentence in @err.
 */
int qrep_replica_connect(const struct qrep_config *cfg, unsigned int i,
			 struct qrep_hello_reply_msg *hello, char *err,
			 size_t errlen);

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
