/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the replica store: the on-disk layout constants and the store
 * object, shared by store_header.c (header, init, open, close, epoch) and
 * store.c (block I/O, flush, max_version). Nothing else includes this.
 *
 * Locking:
 *  - stripe_locks[] serialise "read record, compare version, write data,
 *    write record" for a block against every other reader and writer of
 *    that block. Blocks map to stripes in units of 2^STRIPE_UNIT_SHIFT
 *    blocks, so one request takes a handful of locks, always in ascending
 *    index order (no deadlock between requests).
 *  - header_mutex serialises header writes (epoch, clean flag).
 *  - flush_mutex protects the group-commit counters.
 *  - epoch, max_version and failed are atomics, read without locks.
 */
#ifndef QREP_LIB_STORE_PRIV_H
#define QREP_LIB_STORE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* The header block: two slots, described in store_header.c. */
#define HDR_BLOCK_BYTES		4096U

/* Metadata record: u64 version, u32 crc32c of the data, u32 zero. */
#define META_REC_BYTES		16U
#define MO_VERSION		0
#define MO_CRC			8

#define STRIPE_LOCKS		1024U
#define STRIPE_UNIT_SHIFT	4	/* 16 blocks (64 KiB) per stripe unit */
/* Most stripes one request can touch: 256 blocks over 16-block units. */
#define STRIPES_PER_IO_MAX \
	((QREP_STORE_MAX_IO_BLOCKS >> STRIPE_UNIT_SHIFT) + 1)

_Static_assert(STRIPES_PER_IO_MAX < STRIPE_LOCKS, "stripes must not wrap");
_Static_assert(QREP_BLOCK_SIZE == HDR_BLOCK_BYTES, "header is one block");

struct qrep_store {
	int fd;
	unsigned int flags;
	struct qrep_store_info info;

	pthread_rwlock_t stripe_locks[STRIPE_LOCKS];

	pthread_mutex_t header_mutex;	/* serialises header writes */
	bool header_clean;		/* header_mutex: flag last written */

	pthread_mutex_t scan_mutex;	/* one max_version scan at a time */
	atomic_bool max_known;		/* max_version covers the store */
	_Atomic uint64_t max_version;
	_Atomic uint64_t epoch;
	atomic_bool failed;		/* an fdatasync failed: stay failed */

	pthread_mutex_t flush_mutex;
	pthread_cond_t flush_done_cond;
	uint64_t flush_requested;	/* flush_mutex: tickets handed out */
	uint64_t flush_completed;	/* flush_mutex: tickets made durable */
	bool flush_running;		/* flush_mutex: fdatasync under way */
};

/* pread/pwrite of exactly len bytes at off; 0 or -errno (-EIO at EOF). */
int qrep_store_pread(int fd, void *buf, size_t len, uint64_t off);
int qrep_store_pwrite(int fd, const void *buf, size_t len, uint64_t off);

/*
 * Writes the next header generation (durably) with the store's current
 * fields and the given clean flag, max_version and epoch. Caller holds
 * s->header_mutex.
 */
int qrep_store_hdr_write_locked(struct qrep_store *s, bool clean,
				uint64_t max_version, uint64_t epoch);

#endif /* QREP_LIB_STORE_PRIV_H */
