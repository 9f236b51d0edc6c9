/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qrepd's cluster mode (qrepd -c FILE --node ID): runs the election of
 * election.c over UDP with the other nodes, proposes epochs to the
 * targets, and makes this node's /dev/qrepN primary or secondary as the
 * election says. Documentation/admin-guide/cluster.rst is the guide.
 */
#ifndef QREPD_CLUSTER_H
#define QREPD_CLUSTER_H

#include <stdint.h>

#include "config.h"

/*
 * Runs until SIGTERM or SIGINT. @status_path: where the cluster view is
 * written (NULL: QREP_RUN_DIR/RESOURCE.cluster). Returns an exit code.
 */
int qrepd_cluster_run(const struct qrep_config *cfg, uint32_t self,
		      const char *status_path);

#endif /* QREPD_CLUSTER_H */
