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

/* Metadata record: u64 version, u32 crc32c of the data, u32 flags. */
#define META_REC_BYTES		16U
#define MO_VERSION		0
#define MO_CRC			8
#define MO_FLAGS		12
/*
 * Version 0 and TORN: the block's data did not match its record after an
 * unclean shutdown. It holds no valid version (reported as 0, so any
 * replica's copy is newer) and reads fail with a checksum error until a
 * write replaces it (store_intent.c).
 */
#define REC_FLAG_TORN		0x1U

/*
 * The write-intent bitmap: bytes INTENT_OFFSET.. of the header block, one
 * bit per region of 2^region_shift blocks, set durably before the first
 * write into a region and cleared once that region's writes are durable
 * (store_intent.c). INTENT_MIN_SHIFT: regions are at least 4 MiB.
 */
#define INTENT_OFFSET		1024U
#define INTENT_BYTES		3072U
#define INTENT_BITS		(INTENT_BYTES * 8U)
#define INTENT_WORDS		(INTENT_BITS / 64U)
#define INTENT_MIN_SHIFT	10U
/*
 * Bytes of regions the bitmap may keep marked (at least
 * INTENT_ACTIVE_MIN regions): the bound on what an unclean open reads,
 * and the working set whose writes cost no extra fdatasync.
 */
#define INTENT_ACTIVE_BYTES	(1ULL << 30)
#define INTENT_ACTIVE_MIN	16U

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
	/* No epoch learned yet; set at init, cleared by qrep_store_join()
	 * under header_mutex, never set again. */
	atomic_bool joining;

	/*
	 * Write-intent bitmap (store_intent.c). Writes hold intent_lock
	 * shared from marking their regions until their pwrites are done;
	 * a flush takes it exclusively to snapshot intent_touched, so every
	 * write counted in a snapshot was issued before the fdatasync that
	 * follows. intent_mutex serialises changes to intent_disk.
	 */
	pthread_rwlock_t intent_lock;
	pthread_mutex_t intent_mutex;
	unsigned int region_shift;	/* blocks per region: 1 << this */
	_Atomic uint8_t intent_disk[INTENT_BYTES];	/* bits as on disk */
	_Atomic uint64_t intent_touched[INTENT_WORDS];	/* since snapshot */
	uint32_t intent_last[INTENT_BITS];	/* intent_mutex: flush cycle
						 * each region was last written */
	uint32_t intent_cycle;		/* intent_mutex: flushes so far */
	uint32_t intent_marked;		/* intent_mutex: bits set */
	uint32_t intent_active_max;	/* most bits left set at a flush */
	_Atomic uint64_t intent_sets;	/* durable bit sets (fdatasyncs) */
	_Atomic uint64_t intent_clears;	/* bits cleared lazily */

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

/* Region size for a store of nblocks: the bitmap must cover it. */
unsigned int qrep_store_region_shift(uint64_t nblocks);
/* How many regions the bitmap keeps marked, for that region size. */
uint32_t qrep_store_intent_active_max(unsigned int region_shift);

void qrep_store_max_version_raise(struct qrep_store *s, uint64_t v);

/*
 * store_intent.c. mark: before a write's pwrites (intent_lock held
 * shared), makes the bits of the regions of [block, block + n) durable.
 * snapshot/retire: around a flush's fdatasync. load: reads the bitmap at
 * open. recover: at an unclean open, finds and resets torn blocks in the
 * marked regions (every region if all_regions). clear_all: at a clean
 * close, after the last flush.
 */
int qrep_store_intent_mark(struct qrep_store *s, uint64_t block, uint32_t n);
void qrep_store_intent_snapshot(struct qrep_store *s,
				uint64_t snap[INTENT_WORDS]);
void qrep_store_intent_retire(struct qrep_store *s,
			      const uint64_t snap[INTENT_WORDS]);
int qrep_store_intent_load(struct qrep_store *s);
int qrep_store_intent_recover(struct qrep_store *s, bool all_regions);
int qrep_store_intent_clear_all(struct qrep_store *s);

#endif /* QREP_LIB_STORE_PRIV_H */
