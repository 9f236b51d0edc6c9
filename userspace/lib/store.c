// SPDX-License-Identifier: GPL-2.0
/*
 * The replica store's block I/O: read with checksum verification,
 * write-if-newer per block, group-committed flush, and max_version.
 *
 * Nothing is cached in memory but the header fields: a record is read
 * and written with pread/pwrite when a request needs it, so memory does
 * not grow with the store. Locking is described in store_priv.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/qrep_data.h>

#include "bytes.h"
#include "crc32c.h"
#include "log.h"
#include "store_priv.h"
#include "term.h"

/* Metadata records read per syscall when scanning the whole area. */
#define SCAN_RECS		4096U
#define BS			((size_t)QREP_BLOCK_SIZE)

struct stripe_set {
	unsigned int idx[STRIPES_PER_IO_MAX];
	unsigned int n;
};

/* The stripes covering [block, block + n), in ascending index order. */
static void stripes_of(uint64_t block, uint32_t n, struct stripe_set *set)
{
	/* Units are consecutive and fewer than STRIPE_LOCKS: no duplicates. */
	uint64_t unit, first = block >> STRIPE_UNIT_SHIFT;
	uint64_t last = (block + n - 1) >> STRIPE_UNIT_SHIFT;
	unsigned int i, v;

	set->n = 0;
	for (unit = first; unit <= last; unit++) {
		v = (unsigned int)(unit % STRIPE_LOCKS);
		for (i = set->n; i > 0 && set->idx[i - 1] > v; i--)
			set->idx[i] = set->idx[i - 1];
		set->idx[i] = v;
		set->n++;
	}
}

static void stripes_lock(struct qrep_store *s, const struct stripe_set *set,
			 bool write)
{
	unsigned int i;

	for (i = 0; i < set->n; i++) {
		if (write)
			pthread_rwlock_wrlock(&s->stripe_locks[set->idx[i]]);
		else
			pthread_rwlock_rdlock(&s->stripe_locks[set->idx[i]]);
	}
}

static void stripes_unlock(struct qrep_store *s, const struct stripe_set *set)
{
	unsigned int i = set->n;

	while (i--)
		pthread_rwlock_unlock(&s->stripe_locks[set->idx[i]]);
}

static int check_range(const struct qrep_store *s, uint64_t block,
		       uint32_t n)
{
	if (!n || n > QREP_STORE_MAX_IO_BLOCKS)
		return -EINVAL;
	if (block >= s->info.nblocks || n > s->info.nblocks - block)
		return -ERANGE;
	return 0;
}

static uint64_t meta_pos(const struct qrep_store *s, uint64_t block)
{
	return s->info.meta_offset + block * META_REC_BYTES;
}

static uint64_t data_pos(const struct qrep_store *s, uint64_t block)
{
	return s->info.data_offset + block * QREP_BLOCK_SIZE;
}

static int read_meta(struct qrep_store *s, uint64_t block, uint32_t n,
		     uint64_t *versions, uint32_t *crcs, bool *torn)
{
	uint8_t recs[QREP_STORE_MAX_IO_BLOCKS * META_REC_BYTES];
	struct stripe_set set;
	uint32_t i;
	int err;

	err = check_range(s, block, n);
	if (err)
		return err;
	stripes_of(block, n, &set);
	stripes_lock(s, &set, false);
	err = qrep_store_pread(s->fd, recs, n * META_REC_BYTES,
			       meta_pos(s, block));
	stripes_unlock(s, &set);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		versions[i] = qrep_get_le64(recs + i * META_REC_BYTES +
					    MO_VERSION);
		if (crcs)
			crcs[i] = qrep_get_le32(recs + i * META_REC_BYTES +
						MO_CRC);
		if (torn)
			torn[i] = !versions[i] &&
				  (qrep_get_le32(recs + i * META_REC_BYTES +
						 MO_FLAGS) & REC_FLAG_TORN);
	}
	return 0;
}

int qrep_store_read_meta(struct qrep_store *s, uint64_t block, uint32_t n,
			 uint64_t *versions, uint32_t *crcs)
{
	return read_meta(s, block, n, versions, crcs, NULL);
}

int qrep_store_read_meta_torn(struct qrep_store *s, uint64_t block,
			      uint32_t n, uint64_t *versions, bool *torn)
{
	return read_meta(s, block, n, versions, NULL, torn);
}

int qrep_store_region_summary(struct qrep_store *s, uint64_t block,
			      uint64_t *summary)
{
	uint64_t versions[QREP_REGION_BLOCKS];
	bool torn[QREP_REGION_BLOCKS], any_torn = false;
	uint64_t h = QREP_FNV64_OFFSET;
	uint8_t be[sizeof(uint64_t)];
	uint32_t i, n;
	unsigned int k;
	int err;

	if (block % QREP_REGION_BLOCKS || block >= s->info.nblocks)
		return -ERANGE;
	n = s->info.nblocks - block < QREP_REGION_BLOCKS ?
	    (uint32_t)(s->info.nblocks - block) : QREP_REGION_BLOCKS;
	err = qrep_store_read_meta_torn(s, block, n, versions, torn);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		any_torn |= torn[i];
		qrep_put_be64(be, torn[i] ? QREP_SUMMARY_TORN_VERSION :
			      versions[i]);
		for (k = 0; k < sizeof(be); k++) {
			h ^= be[k];
			h *= QREP_FNV64_PRIME;
		}
	}
	*summary = any_torn ? h | QREP_SUMMARY_TORN : h & ~QREP_SUMMARY_TORN;
	return 0;
}

int qrep_store_read(struct qrep_store *s, uint64_t block, uint32_t n,
		    void *data, uint64_t *versions, bool *crc_bad)
{
	return qrep_store_read_checked(s, block, n, data, versions, NULL,
				       crc_bad);
}

int qrep_store_read_checked(struct qrep_store *s, uint64_t block, uint32_t n,
			    void *data, uint64_t *versions, uint32_t *crcs,
			    bool *crc_bad)
{
	uint8_t recs[QREP_STORE_MAX_IO_BLOCKS * META_REC_BYTES];
	uint8_t *buf = data;
	struct stripe_set set;
	uint32_t i, first = n, last = 0;
	int err, bad = 0;

	err = check_range(s, block, n);
	if (err)
		return err;
	stripes_of(block, n, &set);
	stripes_lock(s, &set, false);
	err = qrep_store_pread(s->fd, recs, n * META_REC_BYTES,
			       meta_pos(s, block));
	if (err)
		goto out_unlock;
	for (i = 0; i < n; i++) {
		versions[i] = qrep_get_le64(recs + i * META_REC_BYTES +
					    MO_VERSION);
		if (versions[i]) {
			if (first == n)
				first = i;
			last = i;
		}
	}
	/* Only the span holding written blocks is read from the data area. */
	if (first < n)
		err = qrep_store_pread(s->fd,
				       buf + (size_t)first * QREP_BLOCK_SIZE,
				       (size_t)(last - first + 1) *
				       QREP_BLOCK_SIZE,
				       data_pos(s, block + first));
out_unlock:
	stripes_unlock(s, &set);
	if (err)
		return err;

	for (i = 0; i < n; i++) {
		uint8_t *b = buf + (size_t)i * QREP_BLOCK_SIZE;
		uint32_t crc = qrep_get_le32(recs + i * META_REC_BYTES + MO_CRC);
		bool is_bad = false;

		if (crcs)
			crcs[i] = crc;
		if (!versions[i]) {
			memset(b, 0, QREP_BLOCK_SIZE);
			is_bad = qrep_get_le32(recs + i * META_REC_BYTES +
					       MO_FLAGS) & REC_FLAG_TORN;
			bad += is_bad;
		} else if (qrep_crc32c(0, b, QREP_BLOCK_SIZE) != crc) {
			is_bad = true;
			bad++;
		}
		if (crc_bad)
			crc_bad[i] = is_bad;
	}
	return bad;
}

void qrep_store_max_version_raise(struct qrep_store *s, uint64_t v)
{
	uint64_t cur = atomic_load(&s->max_version);

	while (cur < v &&
	       !atomic_compare_exchange_weak(&s->max_version, &cur, v))
		;
}

/* Writes the runs of applied blocks: their data, or their records. */
static int write_runs(struct qrep_store *s, uint64_t block, uint32_t n,
		      const uint8_t *data, const uint8_t *recs,
		      const bool *apply, bool meta)
{
	uint32_t i = 0, j;
	int err;

	while (i < n) {
		if (!apply[i]) {
			i++;
			continue;
		}
		for (j = i; j < n && apply[j]; j++)
			;
		if (meta)
			err = qrep_store_pwrite(s->fd,
						recs + i * META_REC_BYTES,
						(j - i) * META_REC_BYTES,
						meta_pos(s, block + i));
		else
			err = qrep_store_pwrite(s->fd, data + i * BS,
						(j - i) * BS,
						data_pos(s, block + i));
		if (err)
			return err;
		i = j;
	}
	return 0;
}

int qrep_store_write(struct qrep_store *s, uint64_t block, uint32_t n,
		     const void *data, uint64_t version, unsigned int flags,
		     uint32_t *ignored)
{
	uint8_t recs[QREP_STORE_MAX_IO_BLOCKS * META_REC_BYTES];
	uint32_t crcs[QREP_STORE_MAX_IO_BLOCKS];
	bool apply[QREP_STORE_MAX_IO_BLOCKS];
	const uint8_t *buf = data;
	struct stripe_set set;
	bool repair = flags & QREP_STORE_REPAIR;
	bool rollback = flags & QREP_STORE_ROLLBACK;
	uint32_t i, skipped = 0;
	uint64_t stored, epoch;
	int err;

	if (s->flags & QREP_STORE_RDONLY)
		return -EROFS;
	err = check_range(s, block, n);
	if (err)
		return err;
	/* 0 is reserved for "never written": only a rollback restores it. */
	if (!version && !(rollback && repair))
		return -EINVAL;
	if (atomic_load(&s->failed))
		return -EIO;
	if (atomic_load(&s->joining))
		return -EPERM;		/* no epoch learned: no writes */

	/* Checksums outside the lock: wasted only on ignored blocks. */
	for (i = 0; i < n; i++)
		crcs[i] = qrep_crc32c(0, buf + (size_t)i * QREP_BLOCK_SIZE,
				      QREP_BLOCK_SIZE);

	/* The regions' intent bits are durable before any of the data. */
	pthread_rwlock_rdlock(&s->intent_lock);
	err = qrep_store_intent_mark(s, block, n);
	if (err) {
		pthread_rwlock_unlock(&s->intent_lock);
		return err;
	}
	stripes_of(block, n, &set);
	stripes_lock(s, &set, true);
	err = qrep_store_pread(s->fd, recs, n * META_REC_BYTES,
			       meta_pos(s, block));
	if (err)
		goto out_unlock;
	/* The request's epoch: the target's fence holds it while we write. */
	epoch = qrep_store_epoch(s);
	for (i = 0; i < n; i++) {
		uint8_t *rec = recs + i * META_REC_BYTES;

		stored = qrep_get_le64(rec + MO_VERSION);
		apply[i] = qrep_write_applies(stored, version, repair,
					      rollback, epoch);
		if (!apply[i]) {
			skipped++;
			continue;
		}
		/* Version 0: a record of zeros, "never written", reads zeros. */
		memset(rec, 0, META_REC_BYTES);
		if (!version)
			continue;
		qrep_put_le64(rec + MO_VERSION, version);
		qrep_put_le32(rec + MO_CRC, crcs[i]);
	}
	/*
	 * Data before records: a crash in between leaves new data under an
	 * old record, which the checksum exposes (or, for a block never
	 * written, which is never read). The page cache may still write the
	 * two back in either order; the intent bit makes the next open check
	 * the block (Documentation/store-format.rst, crash consistency).
	 */
	if (skipped < n) {
		err = write_runs(s, block, n, buf, recs, apply, false);
		if (!err)
			err = write_runs(s, block, n, buf, recs, apply, true);
	}
out_unlock:
	stripes_unlock(s, &set);
	pthread_rwlock_unlock(&s->intent_lock);
	if (err)
		return err;
	if (skipped < n)
		qrep_store_max_version_raise(s, version);
	if (ignored)
		*ignored = skipped;
	if (flags & QREP_STORE_FUA)
		return qrep_store_flush(s);
	return 0;
}

/*
 * Group commit: each caller takes a ticket; one fdatasync covers every
 * ticket handed out before it started. A caller arriving while one runs
 * waits for the next, since the running one may have started before the
 * caller's writes.
 */
int qrep_store_flush(struct qrep_store *s)
{
	uint64_t snap[INTENT_WORDS];
	uint64_t ticket, batch;
	int err;

	if (s->flags & QREP_STORE_RDONLY)
		return 0;
	pthread_mutex_lock(&s->flush_mutex);
	ticket = ++s->flush_requested;
	while (s->flush_completed < ticket) {
		if (s->flush_running) {
			pthread_cond_wait(&s->flush_done_cond,
					  &s->flush_mutex);
			continue;
		}
		s->flush_running = true;
		batch = s->flush_requested;
		pthread_mutex_unlock(&s->flush_mutex);
		qrep_store_intent_snapshot(s, snap);
		err = fdatasync(s->fd) ? errno : 0;
		if (!err)
			qrep_store_intent_retire(s, snap);
		pthread_mutex_lock(&s->flush_mutex);
		if (err) {
			qrep_err("store: fdatasync failed: %s; the store is "
				 "failed until restarted", strerror(err));
			atomic_store(&s->failed, true);
		}
		s->flush_running = false;
		s->flush_completed = batch;
		pthread_cond_broadcast(&s->flush_done_cond);
	}
	pthread_mutex_unlock(&s->flush_mutex);
	return atomic_load(&s->failed) ? -EIO : 0;
}

void qrep_store_intent_stats(struct qrep_store *s, uint64_t *sets,
			     uint64_t *clears)
{
	*sets = atomic_load(&s->intent_sets);
	*clears = atomic_load(&s->intent_clears);
}

bool qrep_store_failed(struct qrep_store *s)
{
	return atomic_load(&s->failed);
}

uint64_t qrep_store_epoch(struct qrep_store *s)
{
	return atomic_load(&s->epoch);
}

int qrep_store_next_meta_data(struct qrep_store *s, uint64_t block,
			      uint64_t *next)
{
	off_t off;

	if (block >= s->info.nblocks) {
		*next = s->info.nblocks;
		return 0;
	}
	off = lseek(s->fd, (off_t)meta_pos(s, block), SEEK_DATA);
	if (off < 0) {
		if (errno == ENXIO) {		/* only holes after this */
			*next = s->info.nblocks;
			return 0;
		}
		if (errno == EINVAL) {		/* no SEEK_DATA: assume data */
			*next = block;
			return 0;
		}
		return -errno;
	}
	if ((uint64_t)off >= s->info.data_offset) {
		*next = s->info.nblocks;
		return 0;
	}
	*next = ((uint64_t)off - s->info.meta_offset) / META_REC_BYTES;
	if (*next < block)
		*next = block;
	return 0;
}

/*
 * Scans every metadata record for the highest version: SCAN_RECS records
 * per read, holes skipped with SEEK_DATA, so it costs one sequential read
 * of the written part of the metadata area (16 bytes per 4 KiB block) and
 * a fixed 64 KiB buffer.
 *
 * It runs without the stripe locks: a record being rewritten meanwhile
 * may be read torn, but that write raises max_version itself, and the
 * torn value can only be above the old version (versions only grow in
 * place) or below the new one, which is counted anyway.
 */
static int scan_max_version(struct qrep_store *s, uint64_t *out)
{
	uint8_t *recs = malloc(SCAN_RECS * META_REC_BYTES);
	uint64_t pos = 0, next, max = 0, v;
	uint32_t i, n;
	int err = 0;

	if (!recs)
		return -ENOMEM;
	while (pos < s->info.nblocks) {
		err = qrep_store_next_meta_data(s, pos, &next);
		if (err || next >= s->info.nblocks)
			break;
		n = s->info.nblocks - next < SCAN_RECS ?
		    (uint32_t)(s->info.nblocks - next) : SCAN_RECS;
		err = qrep_store_pread(s->fd, recs,
				       (size_t)n * META_REC_BYTES,
				       meta_pos(s, next));
		if (err)
			break;
		for (i = 0; i < n; i++) {
			v = qrep_get_le64(recs + i * META_REC_BYTES +
					  MO_VERSION);
			if (v > max)
				max = v;
		}
		pos = next + n;
	}
	free(recs);
	*out = max;
	return err;
}

int qrep_store_max_version(struct qrep_store *s, uint64_t *out)
{
	uint64_t scanned;
	int err = 0;

	if (!atomic_load(&s->max_known)) {
		pthread_mutex_lock(&s->scan_mutex);
		if (!atomic_load(&s->max_known)) {
			err = scan_max_version(s, &scanned);
			if (!err) {
				qrep_store_max_version_raise(s, scanned);
				atomic_store(&s->max_known, true);
			}
		}
		pthread_mutex_unlock(&s->scan_mutex);
	}
	if (err)
		return err;
	*out = atomic_load(&s->max_version);
	return 0;
}

