// SPDX-License-Identifier: GPL-2.0
/*
 * The store's write-intent bitmap and the torn-block recovery it bounds.
 *
 * A write puts a block's data and its record into the page cache with no
 * order between them, so after a power loss the record of an unflushed
 * write can be on disk without its data (a "torn" block). Such a block
 * would report a version whose data it does not hold: VERSIONS and
 * SUMMARY vouch for it, so neither resync nor a quorum read would fetch
 * the good copy from another replica. An unclean open therefore checks
 * every block that may have been written since the last completed flush
 * and turns each torn one into "no valid version" (version 0, flag TORN):
 * lower than any real version, so the REPAIR rule and the read's
 * "highest version wins" both take another replica's copy, and still
 * reported as a checksum error (not as zeros) if read before that.
 *
 * Which blocks "may have been written": one bit per region in the header
 * block, made durable before the first write into a region whose bit is
 * clear. Bits are cleared lazily (without a sync), after a completed
 * flush, and only while more than intent_active_max regions are marked:
 * the least recently written regions whose writes are all durable go
 * first. So a working set of up to INTENT_ACTIVE_BYTES costs one extra
 * fdatasync per region when it is first written, not one per flush
 * cycle, and an unclean open reads at most that much data.
 * Documentation/store-format.rst has the argument and the measured cost.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "crc32c.h"
#include "log.h"
#include "store_priv.h"

/* Blocks checked per read during recovery. */
#define RECOVER_CHUNK		QREP_STORE_MAX_IO_BLOCKS
/* Torn blocks logged one by one; the rest are only counted. */
#define RECOVER_LOG_MAX		16U

static bool bit_test(_Atomic uint8_t *bytes, uint64_t r)
{
	return atomic_load(&bytes[r / 8]) & (1U << (r % 8));
}

/* Writes the in-memory bitmap to the header block. Caller: intent_mutex. */
static int intent_write_locked(struct qrep_store *s)
{
	uint8_t copy[INTENT_BYTES];
	unsigned int i;

	for (i = 0; i < INTENT_BYTES; i++)
		copy[i] = atomic_load(&s->intent_disk[i]);
	return qrep_store_pwrite(s->fd, copy, sizeof(copy), INTENT_OFFSET);
}

int qrep_store_intent_mark(struct qrep_store *s, uint64_t block, uint32_t n)
{
	uint64_t r, first = block >> s->region_shift;
	uint64_t last = (block + n - 1) >> s->region_shift;
	bool need = false;
	int err = 0;

	for (r = first; r <= last; r++) {
		atomic_fetch_or(&s->intent_touched[r / 64], 1ULL << (r % 64));
		if (!bit_test(s->intent_disk, r))
			need = true;
	}
	if (!need)
		return 0;

	pthread_mutex_lock(&s->intent_mutex);
	need = false;
	for (r = first; r <= last; r++) {
		if (!bit_test(s->intent_disk, r)) {
			atomic_fetch_or(&s->intent_disk[r / 8], 1U << (r % 8));
			s->intent_last[r] = s->intent_cycle;
			s->intent_marked++;
			need = true;
		}
	}
	if (need) {
		/* Durable before any data of the region can reach the disk. */
		err = intent_write_locked(s);
		if (!err && fdatasync(s->fd)) {
			err = -errno;
			qrep_err("store: fdatasync failed: %s; the store is "
				 "failed until restarted", strerror(errno));
			atomic_store(&s->failed, true);
		}
		atomic_fetch_add(&s->intent_sets, 1);
	}
	pthread_mutex_unlock(&s->intent_mutex);
	return err;
}

void qrep_store_intent_snapshot(struct qrep_store *s,
				uint64_t snap[INTENT_WORDS])
{
	unsigned int w;

	/* No write between marking and its last pwrite while we look. */
	pthread_rwlock_wrlock(&s->intent_lock);
	for (w = 0; w < INTENT_WORDS; w++)
		snap[w] = atomic_exchange(&s->intent_touched[w], 0);
	pthread_rwlock_unlock(&s->intent_lock);
}

/*
 * Clears the marked regions last written longest ago, and not written
 * since the snapshot, until at most intent_active_max stay marked.
 * Returns how many it cleared. Caller holds intent_lock (exclusively)
 * and intent_mutex.
 */
static uint32_t evict_oldest(struct qrep_store *s)
{
	uint32_t oldest, age, cleared = 0;
	uint64_t r, busy;
	bool found;

	while (s->intent_marked > s->intent_active_max) {
		found = false;
		oldest = 0;
		for (r = 0; r < INTENT_BITS; r++) {
			busy = atomic_load(&s->intent_touched[r / 64]);
			if (!bit_test(s->intent_disk, r) ||
			    (busy & (1ULL << (r % 64))))
				continue;
			age = s->intent_cycle - s->intent_last[r];
			if (!found || age > oldest)
				oldest = age;
			found = true;
		}
		if (!found)
			break;
		for (r = 0; r < INTENT_BITS &&
		     s->intent_marked > s->intent_active_max; r++) {
			busy = atomic_load(&s->intent_touched[r / 64]);
			if (!bit_test(s->intent_disk, r) ||
			    (busy & (1ULL << (r % 64))) ||
			    s->intent_cycle - s->intent_last[r] != oldest)
				continue;
			atomic_fetch_and(&s->intent_disk[r / 8],
					 (uint8_t)~(1U << (r % 8)));
			s->intent_marked--;
			cleared++;
		}
	}
	return cleared;
}

/*
 * After an fdatasync that started after snapshot snap: every write
 * counted in snap, and every earlier one, is durable, so any region not
 * written since the snapshot may be cleared. The clear is not synced: if
 * it is lost, a later unclean open only checks a region for nothing.
 */
void qrep_store_intent_retire(struct qrep_store *s,
			      const uint64_t snap[INTENT_WORDS])
{
	uint32_t cleared;
	unsigned int w;
	uint64_t bits;
	int b;

	pthread_rwlock_wrlock(&s->intent_lock);
	pthread_mutex_lock(&s->intent_mutex);
	s->intent_cycle++;
	for (w = 0; w < INTENT_WORDS; w++) {
		for (bits = snap[w]; bits; bits &= bits - 1) {
			b = __builtin_ctzll(bits);
			s->intent_last[w * 64 + (unsigned int)b] =
				s->intent_cycle;
		}
	}
	cleared = evict_oldest(s);
	if (cleared && !intent_write_locked(s))
		atomic_fetch_add(&s->intent_clears, cleared);
	pthread_mutex_unlock(&s->intent_mutex);
	pthread_rwlock_unlock(&s->intent_lock);
}

int qrep_store_intent_load(struct qrep_store *s)
{
	uint8_t bytes[INTENT_BYTES];
	unsigned int i;
	int err;

	err = qrep_store_pread(s->fd, bytes, sizeof(bytes), INTENT_OFFSET);
	if (err)
		return err;
	s->intent_marked = 0;
	for (i = 0; i < INTENT_BYTES; i++) {
		atomic_store(&s->intent_disk[i], bytes[i]);
		s->intent_marked += (uint32_t)__builtin_popcount(bytes[i]);
	}
	return 0;
}

/* Turns the record of a torn block into "no valid version, torn". */
static void mark_torn(struct qrep_store *s, uint64_t block, uint8_t *rec)
{
	uint64_t v = qrep_get_le64(rec + MO_VERSION);
	uint64_t found = s->info.torn_blocks;

	/* Versions chosen later must still stay above the lost one. */
	qrep_store_max_version_raise(s, v);
	if (found < RECOVER_LOG_MAX)
		qrep_warn("store: block %llu: data does not match its record "
			  "(version %llu) after an unclean shutdown: reported "
			  "as not held, to be repaired from a replica",
			  (unsigned long long)block, (unsigned long long)v);
	qrep_put_le64(rec + MO_VERSION, 0);
	qrep_put_le32(rec + MO_FLAGS,
		      qrep_get_le32(rec + MO_FLAGS) | REC_FLAG_TORN);
	s->info.torn_blocks = found + 1;
}

/* Checks n blocks from block; buf holds RECOVER_CHUNK blocks. */
static int recover_chunk(struct qrep_store *s, uint64_t block, uint32_t n,
			 uint8_t *buf)
{
	uint8_t recs[RECOVER_CHUNK * META_REC_BYTES];
	uint64_t meta = s->info.meta_offset + block * META_REC_BYTES;
	uint32_t i, torn = 0;
	uint8_t *rec;
	int err;

	err = qrep_store_pread(s->fd, recs, (size_t)n * META_REC_BYTES, meta);
	if (err)
		return err;
	for (i = 0; i < n && !qrep_get_le64(recs + i * META_REC_BYTES); i++)
		;
	if (i == n)
		return 0;			/* nothing written here */
	err = qrep_store_pread(s->fd, buf, (size_t)n * QREP_BLOCK_SIZE,
			       s->info.data_offset + block * QREP_BLOCK_SIZE);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		rec = recs + i * META_REC_BYTES;
		if (!qrep_get_le64(rec + MO_VERSION) ||
		    qrep_crc32c(0, buf + (size_t)i * QREP_BLOCK_SIZE,
				QREP_BLOCK_SIZE) == qrep_get_le32(rec + MO_CRC))
			continue;
		mark_torn(s, block + i, rec);
		torn++;
	}
	if (!torn)
		return 0;
	return qrep_store_pwrite(s->fd, recs, (size_t)n * META_REC_BYTES, meta);
}

/* Checks the blocks of [block, end) whose records are not in a hole. */
static int recover_range(struct qrep_store *s, uint64_t block, uint64_t end,
			 uint8_t *buf)
{
	uint64_t next;
	uint32_t n;
	int err;

	while (block < end) {
		err = qrep_store_next_meta_data(s, block, &next);
		if (err)
			return err;
		if (next >= end)
			break;
		n = end - next < RECOVER_CHUNK ? (uint32_t)(end - next) :
		    RECOVER_CHUNK;
		err = recover_chunk(s, next, n, buf);
		if (err)
			return err;
		s->info.blocks_verified += n;
		block = next + n;
	}
	return 0;
}

/*
 * At an unclean open, before anything is served: single-threaded. The
 * resets are made durable before the bits are cleared, so a crash in
 * between only repeats the check (a reset record has version 0 and is
 * not checked again).
 */
int qrep_store_intent_recover(struct qrep_store *s, bool all_regions)
{
	uint64_t r, nregions, start, end;
	uint8_t *buf;
	int err = 0;

	buf = malloc((size_t)RECOVER_CHUNK * QREP_BLOCK_SIZE);
	if (!buf)
		return -ENOMEM;
	nregions = ((s->info.nblocks - 1) >> s->region_shift) + 1;
	for (r = 0; r < nregions && !err; r++) {
		if (!all_regions && !bit_test(s->intent_disk, r))
			continue;
		start = r << s->region_shift;
		end = start + (1ULL << s->region_shift);
		if (end > s->info.nblocks)
			end = s->info.nblocks;
		err = recover_range(s, start, end, buf);
		s->info.regions_verified++;
	}
	free(buf);
	if (err)
		return err;
	if (s->info.torn_blocks && fdatasync(s->fd))
		return -errno;
	return qrep_store_intent_clear_all(s);
}

int qrep_store_intent_clear_all(struct qrep_store *s)
{
	unsigned int i;
	int err;

	pthread_mutex_lock(&s->intent_mutex);
	for (i = 0; i < INTENT_BYTES; i++)
		atomic_store(&s->intent_disk[i], 0);
	s->intent_marked = 0;
	err = intent_write_locked(s);
	pthread_mutex_unlock(&s->intent_mutex);
	return err;
}

uint32_t qrep_store_intent_active_max(unsigned int region_shift)
{
	uint64_t n = INTENT_ACTIVE_BYTES >> (region_shift + QREP_BLOCK_SHIFT);

	return n < INTENT_ACTIVE_MIN ? INTENT_ACTIVE_MIN : (uint32_t)n;
}

void qrep_store_set_intent_limit(struct qrep_store *s, uint32_t regions)
{
	pthread_mutex_lock(&s->intent_mutex);
	s->intent_active_max = regions;
	pthread_mutex_unlock(&s->intent_mutex);
}
