/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running a resync against qrep.ko: the kernel's bitmap and bookkeeping
 * on one side, the copy engine (resync.h) on the other. For qrepctl and
 * qrepd; messages go to stderr, prefixed with the program's name.
 */
#ifndef QREP_LIB_RESYNC_DRIVER_H
#define QREP_LIB_RESYNC_DRIVER_H

#include <stdint.h>

#include "config.h"
#include "genl.h"
#include "peer.h"

/*
 * Resyncs the device's stale replicas (only slot @only if >= 0), one
 * after the other, with progress. Returns 0 when each one it tried is up
 * to date, -1 otherwise (the reason printed).
 */
int qrep_resync_stale(struct qrep_genl *g, const struct qrep_config *cfg,
		      int only);

/*
 * A tool's own connection to replica @i of @cfg (handshake done, epoch
 * @epoch on every request, io-timeout on every read and write). Returns 0
 * or -errno, the reason printed.
 */
int qrep_peer_open_replica(const struct qrep_config *cfg, unsigned int i,
			   uint64_t epoch, struct qrep_peer *p);

#endif /* QREP_LIB_RESYNC_DRIVER_H */
