/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A cluster node's view, as qrepd (cluster mode) writes it after every
 * change and qrepctl status shows it: a small text file, by default
 * QREP_RUN_DIR/RESOURCE.cluster, one "key value" a line:
 *
 *   qrep-cluster-status 1
 *   resource r0
 *   device 0
 *   self 2                    this node's id
 *   pid 812                   the qrepd that wrote it
 *   updated 1700000000123     when (Unix time, ms)
 *   election primary          its election role (election.h's name)
 *   device-role primary       what it made /dev/qrepN: primary,
 *                             secondary, or none (no device)
 *   primary 2                 the primary it follows or is; 0 if none
 *   epoch 7                   the newest epoch that had a primary
 *   seen-epoch 7              the largest epoch seen anywhere
 *   last-change ...           the last role change and why (to the end
 *                             of the line)
 *   node 1 192.0.2.1:7790 1700000000000   id, address, last heard (ms;
 *                             0 never, and for this node)
 *
 * The reader takes what it knows and skips unknown keys (a newer qrepd
 * may add some); a file without the first line is not a status file.
 */
#ifndef QREP_LIB_CLUSTER_STATUS_H
#define QREP_LIB_CLUSTER_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Where status files go unless the QREP_RUN_DIR environment says. */
#define QREP_RUN_DIR		"/run/qrep"
#define QREP_CLUSTER_STATUS_SUFFIX	".cluster"
/* A status file is smaller than this; a bigger one is not read. */
#define QREP_CLUSTER_STATUS_MAX	8192
#define QREP_CLUSTER_STATUS_TEXT_MAX	128

struct qrep_cluster_status_node {
	uint32_t id;
	char addr[QREP_ADDR_STR_MAX];
	uint64_t last_heard_ms;		/* Unix ms; 0: never */
};

struct qrep_cluster_status {
	char resource[QREP_CONFIG_NAME_MAX];
	uint32_t device;
	uint32_t self;
	uint32_t pid;
	uint64_t updated_ms;		/* Unix ms */
	char election[QREP_CLUSTER_STATUS_TEXT_MAX];
	char device_role[QREP_CLUSTER_STATUS_TEXT_MAX];
	uint32_t primary;
	uint64_t epoch, seen_epoch;
	char last_change[QREP_CLUSTER_STATUS_TEXT_MAX];
	unsigned int nr_nodes;
	struct qrep_cluster_status_node nodes[QREP_CONFIG_MAX_NODES];
};

/* The run directory: $QREP_RUN_DIR, or QREP_RUN_DIR. */
const char *qrep_run_dir(void);

/* Formats @st into @buf; returns the length, or 0 if it does not fit. */
size_t qrep_cluster_status_format(const struct qrep_cluster_status *st,
				  char *buf, size_t len);

/* Parses @len bytes of @text into @st; 0 or -EINVAL. */
int qrep_cluster_status_parse(const char *text, size_t len,
			      struct qrep_cluster_status *st);

/*
 * Writes @st to @path whole or not at all (a temporary file renamed over
 * it), so a reader never sees half a file. 0 or -errno.
 */
int qrep_cluster_status_write(const char *path,
			      const struct qrep_cluster_status *st);

/* Reads @path; 0, -errno, or -EINVAL if it is not a status file. */
int qrep_cluster_status_read(const char *path, struct qrep_cluster_status *st);

#endif /* QREP_LIB_CLUSTER_STATUS_H */
