/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The replica store: one file or block device holding a device's blocks,
 * each with the version it was written at and a CRC32C of its data.
 * Documentation/store-format.rst describes the layout and the
 * crash-consistency argument; the rules in short:
 *
 *  - version 0 means "never written": such a block reads as zeros, and
 *    neither its data area nor its checksum is consulted;
 *  - a write applies per block, only where its version is newer than the
 *    stored one;
 *  - data is written before its metadata record, and a block whose data
 *    does not match its record's checksum is reported, never returned as
 *    good;
 *  - the epoch only grows, and is durable before qrep_store_set_epoch()
 *    returns;
 *  - a store made as a replacement (QREP_STORE_INIT_JOINING) is
 *    "joining": it takes no write and raises no epoch until
 *    qrep_store_join() gives it the epoch floor the other replicas hold,
 *    so that it never votes with an epoch it did not learn.
 *
 * All I/O functions may be called from many threads at once. They return
 * 0 (or a count) on success and -errno on failure.
 */
#ifndef QREP_LIB_STORE_H
#define QREP_LIB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/qrep_proto.h>

/*
 * 2: the header block holds the write-intent bitmap. A version 1 store is
 * still opened, and upgraded by the first writable open.
 */
#define QREP_STORE_FORMAT_VERSION	2
#define QREP_STORE_FORMAT_VERSION_MIN	1
/* Largest device a store may describe (keeps every offset in an off_t). */
#define QREP_STORE_MAX_SIZE		(1ULL << 50)
/* Largest read or write in one call, the protocol's request limit. */
#define QREP_STORE_MAX_IO_BLOCKS	QREP_MAX_REQ_BLOCKS

/* Flags for qrep_store_init(). */
#define QREP_STORE_INIT_FORCE	0x1U	/* overwrite an existing store */
#define QREP_STORE_INIT_JOINING	0x2U	/* a replacement: joining, no vote */

/* Flags for qrep_store_open(). */
#define QREP_STORE_RDONLY	0x1U	/* no writes; header left as found */
#define QREP_STORE_EXCL		0x2U	/* flock: one writer per store */

/* Flags for qrep_store_write(). */
#define QREP_STORE_FUA		0x1U	/* durable before returning */
#define QREP_STORE_REPAIR	0x2U	/* also replace blocks of equal version */
/* With REPAIR: also replace a block of an older epoch (term.h). */
#define QREP_STORE_ROLLBACK	0x4U

struct qrep_store;

/* What the header says, plus the layout derived from it. */
struct qrep_store_info {
	uint32_t format_version;
	uint32_t block_size;
	uint8_t uuid[QREP_UUID_SIZE];
	uint64_t size;		/* device size in bytes */
	uint64_t nblocks;	/* size / block_size */
	uint64_t meta_offset;	/* byte offset of the metadata area */
	uint64_t data_offset;	/* byte offset of the data area */
	uint64_t store_bytes;	/* data_offset + size: the whole store */
	uint64_t epoch;
	uint64_t generation;	/* header writes so far */
	bool clean;		/* as found at open: last close was clean */
	bool joining;		/* no epoch learned yet: qrep_store_join() */
	bool is_blockdev;
	uint64_t region_blocks;	/* blocks per write-intent region */
	/* What an unclean writable open checked and found torn. */
	uint64_t regions_verified;
	uint64_t blocks_verified;
	uint64_t torn_blocks;	/* reset to "no valid version" */
};

/*
 * Creates a store of size bytes (a multiple of QREP_BLOCK_SIZE, not 0) at
 * path: a regular file is created or truncated (sparse), a block device
 * must be large enough and gets its metadata area zeroed. Unless
 * QREP_STORE_INIT_FORCE, an existing store, or anything else that is not
 * zeros in the first 4 KiB, is left alone (-EEXIST). A null uuid
 * means "generate one"; the uuid used is written back.
 * On failure, err (if not NULL) holds a one-line explanation.
 */
int qrep_store_init(const char *path, uint64_t size,
		    uint8_t uuid[QREP_UUID_SIZE], unsigned int flags,
		    char *err, size_t errlen);

/*
 * Opens and validates a store. Unless QREP_STORE_RDONLY, the header is
 * marked "not clean" (durably) before this returns, since writes may
 * follow; and if the last close was not clean, every block that may have
 * been written since the last completed flush is checked first, a torn
 * one (data not matching its record) being reset to "no valid version"
 * (info: torn_blocks). On failure, err (if not NULL) holds a one-line
 * explanation.
 */
int qrep_store_open(const char *path, unsigned int flags,
		    struct qrep_store **out, char *err, size_t errlen);

/*
 * Flushes and, for a writable store that saw no I/O error, records the
 * highest version and marks the header clean. Frees the store either way;
 * returns the first error met.
 */
int qrep_store_close(struct qrep_store *s);

const struct qrep_store_info *qrep_store_info(const struct qrep_store *s);

/*
 * How many write-intent regions may stay marked after a flush (regions
 * written since the last completed flush always do). The default keeps
 * 1 GiB of regions: Documentation/store-format.rst.
 */
void qrep_store_set_intent_limit(struct qrep_store *s, uint32_t regions);

/*
 * Durable write-intent bit sets (each one fdatasync on the write path)
 * and lazy clears so far.
 */
void qrep_store_intent_stats(struct qrep_store *s, uint64_t *sets,
			     uint64_t *clears);

/*
 * Reads n blocks (1..QREP_STORE_MAX_IO_BLOCKS) into data (n blocks) and
 * their versions into versions[n]. crc_bad[n], if not NULL, tells which
 * blocks failed their checksum (a block found torn at open: version 0,
 * and bad until written again). Returns the number of such blocks (their
 * data is whatever the store holds, never to be trusted), or -errno.
 */
int qrep_store_read(struct qrep_store *s, uint64_t block, uint32_t n,
		    void *data, uint64_t *versions, bool *crc_bad);

/*
 * qrep_store_read(), also giving the checksum each block's record holds
 * (crcs[n]; whatever a never-written block's record holds).
 */
int qrep_store_read_checked(struct qrep_store *s, uint64_t block, uint32_t n,
			    void *data, uint64_t *versions, uint32_t *crcs,
			    bool *crc_bad);

/*
 * The SUMMARY of the region starting at block (a multiple of
 * QREP_REGION_BLOCKS inside the store): see qrep_proto.h.
 */
int qrep_store_region_summary(struct qrep_store *s, uint64_t block,
			      uint64_t *summary);

/*
 * Writes n blocks at version (> 0), block by block only where version is
 * newer than the stored one (QREP_STORE_REPAIR: or equal to it;
 * QREP_STORE_ROLLBACK: or where the stored one is of an epoch older than
 * the store's, the rule of qrep_write_applies() in term.h; version 0
 * then makes the block "never written" again). *ignored,
 * if not NULL, gets the number of blocks left as they were.
 * QREP_STORE_FUA: durable before returning. -EPERM on a joining store.
 */
int qrep_store_write(struct qrep_store *s, uint64_t block, uint32_t n,
		     const void *data, uint64_t version, unsigned int flags,
		     uint32_t *ignored);

/*
 * Makes every write that returned before this call durable. Concurrent
 * callers share one fdatasync. After a failed fdatasync the store stays
 * failed (writes and flushes return -EIO): the kernel may already have
 * dropped the dirty pages, so retrying could report success falsely.
 */
int qrep_store_flush(struct qrep_store *s);

/* The store has failed (see qrep_store_flush); until the process ends. */
bool qrep_store_failed(struct qrep_store *s);

uint64_t qrep_store_epoch(struct qrep_store *s);

/*
 * Raises the epoch to epoch if it is higher; durable when it returns.
 * -EPERM on a joining store: it has no vote yet.
 */
int qrep_store_set_epoch(struct qrep_store *s, uint64_t epoch);

/* Whether the store is joining (also info->joining). */
bool qrep_store_joining(const struct qrep_store *s);

/*
 * Ends the joining state: raises the epoch to floor (if higher) and
 * clears the joining flag in one header write, durable (fdatasync) when
 * it returns. A store that is not joining only has its epoch raised.
 * From then on it takes writes and votes like any other.
 */
int qrep_store_join(struct qrep_store *s, uint64_t floor);

/*
 * The highest version of any block. Kept in memory and recorded in the
 * header at a clean close; after an unclean one the first call scans the
 * metadata area (holes skipped), see Documentation/store-format.rst.
 */
int qrep_store_max_version(struct qrep_store *s, uint64_t *out);

/*
 * Reads the metadata records of n blocks (1..QREP_STORE_MAX_IO_BLOCKS)
 * without touching the data area; crcs may be NULL.
 */
int qrep_store_read_meta(struct qrep_store *s, uint64_t block, uint32_t n,
			 uint64_t *versions, uint32_t *crcs);

/*
 * qrep_store_read_meta(), with torn[n]: whether each block is held torn
 * (found so at an unclean open, version 0, not written since).
 */
int qrep_store_read_meta_torn(struct qrep_store *s, uint64_t block,
			      uint32_t n, uint64_t *versions, bool *torn);

/*
 * The first block >= block whose metadata record may be non-zero, that is
 * which does not lie in a hole of a sparse store; nblocks if none.
 * Lets whole-store scans skip unwritten regions without reading them.
 */
int qrep_store_next_meta_data(struct qrep_store *s, uint64_t block,
			      uint64_t *next);

#endif /* QREP_LIB_STORE_H */
