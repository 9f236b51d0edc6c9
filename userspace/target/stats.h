/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counters of a serving target, and the --stats-file writer.
 *
 * The file is rewritten atomically (temporary file, then rename) every
 * QREP_TARGET_STATS_INTERVAL_MS and once more at exit, one "key value"
 * pair per line; Documentation/qrep-target.rst lists the keys.
 */
#ifndef QREP_TARGET_STATS_H
#define QREP_TARGET_STATS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define QREP_TARGET_STATS_INTERVAL_MS	1000

/* Index 0 counts the handshake; the others are enum qrep_op. */
#define QREP_STATS_HELLO	0
#define QREP_STATS_KINDS	8

struct qrep_target_stats {
	_Atomic uint64_t requests[QREP_STATS_KINDS];
	_Atomic uint64_t errors[QREP_STATS_KINDS];	/* status != OK */
	_Atomic uint64_t blocks[QREP_STATS_KINDS];
	_Atomic uint64_t bytes_received[QREP_STATS_KINDS];
	_Atomic uint64_t bytes_sent[QREP_STATS_KINDS];
	_Atomic uint64_t bytes_received_total;	/* includes malformed input */
	_Atomic uint64_t bytes_sent_total;
	_Atomic uint64_t write_blocks_ignored;
	_Atomic uint64_t checksum_errors;
	_Atomic uint64_t malformed;
	_Atomic uint64_t connections_accepted;
	_Atomic uint64_t connections_refused;
	_Atomic uint64_t connections_active;
	_Atomic uint64_t handshakes_failed;
	_Atomic uint64_t auth_failed;	/* a subset of handshakes_failed */
};

struct qrep_target_stats_writer {
	const struct qrep_target_stats *stats;
	const char *path;
	uint64_t (*epoch)(void *arg);	/* live values worth a line */
	void *arg;
	pthread_t thread;
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	bool stop;			/* mutex */
	struct timespec start;
};

static inline void qrep_stat_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* Kind index for an op: QREP_STATS_HELLO for anything unknown. */
unsigned int qrep_stats_kind(unsigned int op);

int qrep_stats_write_file(const struct qrep_target_stats_writer *w);
int qrep_stats_writer_start(struct qrep_target_stats_writer *w);
/* Stops the thread and writes the file a last time. */
int qrep_stats_writer_stop(struct qrep_target_stats_writer *w);

#endif /* QREP_TARGET_STATS_H */
