/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The resource configuration file, shared by qrepctl and qrepd. The format
 * is described in Documentation/admin-guide/configuration.rst: one
 * "keyword value..." per line, '#' starts a comment.
 */
#ifndef QREP_LIB_CONFIG_H
#define QREP_LIB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/qrep.h>
#include <linux/qrep_proto.h>

#include "net.h"

#define QREP_CONFIG_NAME_MAX	32	/* resource and replica names */
#define QREP_CONFIG_PATH_MAX	256	/* secret-file, with its NUL */
#define QREP_CONFIG_MAX_BYTES	65536	/* a larger file is refused */
/* Default directory for "qrepctl up NAME": NAME.conf in it. */
#define QREP_CONFIG_DIR		"/etc/qrep"
/* Default connect-timeout: how long to wait for a target to answer. */
#define QREP_DEFAULT_CONNECT_TIMEOUT_MS	5000
/* resync-rate: bytes of block data a resync copies per second, at most. */
#define QREP_DEFAULT_RESYNC_RATE	(100ULL << 20)
#define QREP_MIN_RESYNC_RATE		(1ULL << 20)
/* reconnect-interval: how often qrepd tries a failed replica's target. */
#define QREP_DEFAULT_RECONNECT_INTERVAL_MS	5000
#define QREP_MIN_RECONNECT_INTERVAL_MS		100
/*
 * Cluster mode (node lines, Documentation/admin-guide/cluster.rst): at
 * most this many qrepd nodes, the election's limit.
 */
#define QREP_CONFIG_MAX_NODES		8
/*
 * The election timeouts: longer than this is a typo (an hour would mean a
 * dead primary is noticed after an hour), not a policy.
 */
#define QREP_CONFIG_MAX_ELECTION_TIMEOUT_MS	(10U * 60 * 1000)

/* failback: what a returning bigger node does (election.h). */
enum qrep_config_failback {
	QREP_CONFIG_FAILBACK_NEVER = 0,		/* the default */
	QREP_CONFIG_FAILBACK_CATCHUP = 1,
};

struct qrep_config_replica {
	char name[QREP_CONFIG_NAME_MAX];
	char addr[QREP_ADDR_STR_MAX];		/* "host:port" */
};

/* One qrepd of a cluster: its id (the bully order) and its UDP address. */
struct qrep_config_node {
	uint32_t id;				/* not 0, unique */
	char addr[QREP_ADDR_STR_MAX];		/* "host:port" */
};

/*
 * The election settings of a cluster resource, in milliseconds. 0 means
 * "not given": qrepd then uses the default of userspace/qrepd/election.h,
 * the one place those defaults live.
 */
struct qrep_config_election {
	uint32_t heartbeat_interval_ms;
	uint32_t heartbeat_timeout_ms;
	uint32_t ack_timeout_ms;		/* election-ack-timeout */
	uint32_t coordinator_timeout_ms;
	uint32_t quorum_timeout_ms;		/* epoch-quorum-timeout */
	uint32_t failback;			/* enum qrep_config_failback */
};

struct qrep_config {
	char name[QREP_CONFIG_NAME_MAX];
	uint32_t device;			/* N of /dev/qrepN */
	uint64_t size;				/* bytes */
	uint8_t uuid[QREP_UUID_SIZE];
	uint32_t mode;				/* enum qrep_mode */
	uint32_t io_timeout_ms;
	uint32_t connect_timeout_ms;
	uint64_t resync_rate;			/* bytes per second */
	uint32_t reconnect_interval_ms;
	/*
	 * Quorum mode only (0 in mirror mode): W, R and enum
	 * qrep_on_no_quorum. After a successful parse they hold the values
	 * in force, defaults filled in (a majority, suspend), and W and R
	 * pass qrep_quorum_problem() for nr_replicas.
	 */
	uint32_t write_quorum;
	uint32_t read_quorum;
	uint32_t on_no_quorum;
	/* "" if none: then no connection is authenticated. */
	char secret_file[QREP_CONFIG_PATH_MAX];
	unsigned int nr_replicas;
	struct qrep_config_replica replicas[QREP_MAX_REPLICAS];
	/*
	 * Cluster mode: the qrepd nodes that elect the primary (none: no
	 * election; qrepctl up makes the device). Needs mode quorum: the
	 * epoch quorum is the write quorum. The election settings are
	 * refused without nodes.
	 */
	unsigned int nr_nodes;
	struct qrep_config_node nodes[QREP_CONFIG_MAX_NODES];
	struct qrep_config_election election;
};

/* The node with id @id, or NULL. */
const struct qrep_config_node *qrep_config_node(const struct qrep_config *cfg,
						uint32_t id);

/*
 * May "qrepctl up" make this resource's device? Not a cluster resource's
 * (node lines) unless @force: qrepd elects its primary and makes the
 * device, and "up" would take an epoch above every target's, fencing the
 * elected primary. Returns 0, or -EPERM with the explanation (what qrepd
 * does, what --force would fence) in @err.
 */
int qrep_config_manual_up_check(const struct qrep_config *cfg, bool force,
				char *err, size_t errlen);

/*
 * Parses @len bytes of @text (need not be NUL-terminated). Returns 0, or
 * -EINVAL with "line N: what is wrong" in @err.
 */
int qrep_config_parse(const char *text, size_t len, struct qrep_config *cfg,
		      char *err, size_t errlen);

/* Reads and parses @path; refuses files over QREP_CONFIG_MAX_BYTES. */
int qrep_config_load(const char *path, struct qrep_config *cfg, char *err,
		     size_t errlen);

/* Parses "30s", "500ms", "2m" into milliseconds (a unit is required). */
int qrep_parse_duration_ms(const char *s, uint32_t *ms);

#endif /* QREP_LIB_CONFIG_H */
