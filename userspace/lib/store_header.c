// SPDX-License-Identifier: GPL-2.0
/*
 * The replica store's header and lifetime: layout, the two header slots,
 * init, open (with every validation), close, and the durable epoch.
 * Documentation/store-format.rst has the tables.
 *
 * Header writes alternate between two 512-byte slots, each with its own
 * generation and checksum, so a write torn by a crash leaves the previous
 * header intact in the other slot.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "crc32c.h"
#include "store_priv.h"
#include "uuid.h"

/* Zeroes written per syscall when a block device cannot BLKZEROOUT. */
#define ZERO_CHUNK_BYTES	(1U << 20)

#define STORE_MAGIC		"QREPSTOR"
#define STORE_MAGIC_LEN		8
#define HDR_SLOT_BYTES		512U
#define HDR_SLOTS		2U

/* Header slot field offsets. */
#define HO_MAGIC		0
#define HO_FORMAT		8
#define HO_BLOCK_SIZE		12
#define HO_UUID			16
#define HO_SIZE			32
#define HO_META_OFFSET		40
#define HO_DATA_OFFSET		48
#define HO_META_REC_SIZE	56
#define HO_FLAGS		60
#define HO_EPOCH		64
#define HO_MAX_VERSION		72
#define HO_GENERATION		80
#define HO_REGION_BLOCKS	88	/* format 2: blocks per intent bit */
#define HO_CRC			(HDR_SLOT_BYTES - 4)

#define HDR_FLAG_CLEAN		0x1U	/* closed cleanly; max_version valid */
/*
 * A replacement that has not learned the epoch floor yet (qrep-target
 * init --replace, cleared by qrep-target join). A program that does not
 * know this bit refuses the store (unsupported flags), so no older
 * qrep-target can serve a joining store as one with a vote.
 */
#define HDR_FLAG_JOINING	0x2U
#define HDR_FLAGS_ALL		(HDR_FLAG_CLEAN | HDR_FLAG_JOINING)

/* The decoded content of one header slot. */
struct hdr_fields {
	uint32_t format_version;
	uint32_t block_size;
	uint8_t uuid[QREP_UUID_SIZE];
	uint64_t size;
	uint64_t meta_offset;
	uint64_t data_offset;
	uint32_t meta_rec_size;
	uint32_t flags;
	uint64_t epoch;
	uint64_t max_version;
	uint64_t generation;
	uint32_t region_blocks;
};

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int qrep_store_pread(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done,
			  (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;	/* shorter than its header says */
		done += (size_t)n;
	}
	return 0;
}

int qrep_store_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(fd, (const char *)buf + done, len - done,
			   (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

static uint64_t meta_area_bytes(uint64_t nblocks)
{
	uint64_t bytes = nblocks * META_REC_BYTES;

	return (bytes + HDR_BLOCK_BYTES - 1) & ~(uint64_t)(HDR_BLOCK_BYTES - 1);
}

unsigned int qrep_store_region_shift(uint64_t nblocks)
{
	unsigned int shift = INTENT_MIN_SHIFT;

	while (((nblocks - 1) >> shift) + 1 > INTENT_BITS)
		shift++;
	return shift;
}

static void layout(struct qrep_store_info *info, uint64_t size)
{
	info->size = size;
	info->block_size = QREP_BLOCK_SIZE;
	info->nblocks = size / QREP_BLOCK_SIZE;
	info->meta_offset = HDR_BLOCK_BYTES;
	info->data_offset = HDR_BLOCK_BYTES + meta_area_bytes(info->nblocks);
	info->store_bytes = info->data_offset + size;
	info->region_blocks = 1ULL << qrep_store_region_shift(info->nblocks);
}

static void hdr_encode(const struct hdr_fields *h, uint8_t *slot)
{
	memset(slot, 0, HDR_SLOT_BYTES);
	memcpy(slot + HO_MAGIC, STORE_MAGIC, STORE_MAGIC_LEN);
	qrep_put_le32(slot + HO_FORMAT, h->format_version);
	qrep_put_le32(slot + HO_BLOCK_SIZE, h->block_size);
	memcpy(slot + HO_UUID, h->uuid, QREP_UUID_SIZE);
	qrep_put_le64(slot + HO_SIZE, h->size);
	qrep_put_le64(slot + HO_META_OFFSET, h->meta_offset);
	qrep_put_le64(slot + HO_DATA_OFFSET, h->data_offset);
	qrep_put_le32(slot + HO_META_REC_SIZE, h->meta_rec_size);
	qrep_put_le32(slot + HO_FLAGS, h->flags);
	qrep_put_le64(slot + HO_EPOCH, h->epoch);
	qrep_put_le64(slot + HO_MAX_VERSION, h->max_version);
	qrep_put_le64(slot + HO_GENERATION, h->generation);
	qrep_put_le32(slot + HO_REGION_BLOCKS, h->region_blocks);
	qrep_put_le32(slot + HO_CRC, qrep_crc32c(0, slot, HO_CRC));
}

enum slot_state { SLOT_EMPTY, SLOT_CORRUPT, SLOT_VALID };

static enum slot_state hdr_decode(const uint8_t *slot, struct hdr_fields *h)
{
	if (memcmp(slot + HO_MAGIC, STORE_MAGIC, STORE_MAGIC_LEN))
		return SLOT_EMPTY;
	if (qrep_get_le32(slot + HO_CRC) != qrep_crc32c(0, slot, HO_CRC))
		return SLOT_CORRUPT;
	h->format_version = qrep_get_le32(slot + HO_FORMAT);
	h->block_size = qrep_get_le32(slot + HO_BLOCK_SIZE);
	memcpy(h->uuid, slot + HO_UUID, QREP_UUID_SIZE);
	h->size = qrep_get_le64(slot + HO_SIZE);
	h->meta_offset = qrep_get_le64(slot + HO_META_OFFSET);
	h->data_offset = qrep_get_le64(slot + HO_DATA_OFFSET);
	h->meta_rec_size = qrep_get_le32(slot + HO_META_REC_SIZE);
	h->flags = qrep_get_le32(slot + HO_FLAGS);
	h->epoch = qrep_get_le64(slot + HO_EPOCH);
	h->max_version = qrep_get_le64(slot + HO_MAX_VERSION);
	h->generation = qrep_get_le64(slot + HO_GENERATION);
	h->region_blocks = qrep_get_le32(slot + HO_REGION_BLOCKS);
	return SLOT_VALID;
}

/*
 * Reads both slots and picks the valid one with the highest generation.
 * Header writes alternate between the slots, so a write torn by a crash
 * damages only the slot being written and the other still holds the
 * previous header. Returns SLOT_VALID, or what the better slot looked like.
 */
static enum slot_state hdr_read(int fd, struct hdr_fields *best)
{
	uint8_t buf[HDR_SLOT_BYTES * HDR_SLOTS];
	enum slot_state st, result = SLOT_EMPTY;
	struct hdr_fields h;
	unsigned int i;

	if (qrep_store_pread(fd, buf, sizeof(buf), 0))
		return SLOT_EMPTY;
	for (i = 0; i < HDR_SLOTS; i++) {
		st = hdr_decode(buf + i * HDR_SLOT_BYTES, &h);
		if (st == SLOT_VALID &&
		    (result != SLOT_VALID || h.generation > best->generation))
			*best = h;
		if (st > result)
			result = st;
	}
	return result;
}

/* Fills a header from the store's current state. */
static void hdr_from_store(struct qrep_store *s, struct hdr_fields *h,
			   bool clean, uint64_t max_version)
{
	memset(h, 0, sizeof(*h));
	h->format_version = QREP_STORE_FORMAT_VERSION;
	h->block_size = QREP_BLOCK_SIZE;
	memcpy(h->uuid, s->info.uuid, QREP_UUID_SIZE);
	h->size = s->info.size;
	h->meta_offset = s->info.meta_offset;
	h->data_offset = s->info.data_offset;
	h->meta_rec_size = META_REC_BYTES;
	h->flags = clean ? HDR_FLAG_CLEAN : 0;
	if (s->info.joining)
		h->flags |= HDR_FLAG_JOINING;
	h->epoch = atomic_load(&s->epoch);
	h->max_version = clean ? max_version : 0;
	h->region_blocks = 1U << s->region_shift;
}

/*
 * Writes the next header generation into the slot not holding the
 * current one, and makes it durable. Caller holds header_mutex.
 */
int qrep_store_hdr_write_locked(struct qrep_store *s, bool clean,
				uint64_t max_version, uint64_t epoch)
{
	uint8_t slot[HDR_SLOT_BYTES];
	struct hdr_fields h;
	uint64_t gen = s->info.generation + 1;
	int err;

	hdr_from_store(s, &h, clean, max_version);
	h.epoch = epoch;
	h.generation = gen;
	hdr_encode(&h, slot);
	err = qrep_store_pwrite(s->fd, slot, sizeof(slot),
				(gen % HDR_SLOTS) * HDR_SLOT_BYTES);
	if (err)
		return err;
	if (fdatasync(s->fd)) {
		err = -errno;
		atomic_store(&s->failed, true);
		return err;
	}
	s->info.generation = gen;
	s->header_clean = clean;
	return 0;
}

static int dev_bytes(int fd, const struct stat *st, uint64_t *bytes)
{
	if (S_ISREG(st->st_mode)) {
		*bytes = (uint64_t)st->st_size;
		return 0;
	}
	if (ioctl(fd, BLKGETSIZE64, bytes))
		return -errno;
	return 0;
}

/* Zeroes [0, len) of a block device: the header and metadata areas. */
static int blockdev_zero(int fd, uint64_t len)
{
	uint64_t range[2] = { 0, len };
	uint64_t off;
	void *zeros;
	int err = 0;

	if (!ioctl(fd, BLKZEROOUT, range))
		return 0;
	zeros = calloc(1, ZERO_CHUNK_BYTES);
	if (!zeros)
		return -ENOMEM;
	for (off = 0; off < len && !err; off += ZERO_CHUNK_BYTES) {
		uint64_t n = len - off < ZERO_CHUNK_BYTES ?
			     len - off : ZERO_CHUNK_BYTES;

		err = qrep_store_pwrite(fd, zeros, n, off);
	}
	free(zeros);
	return err;
}

static int fsync_parent_dir(const char *path)
{
	char *copy = strdup(path), *slash;
	const char *dir = ".";
	int fd, err = 0;

	if (!copy)
		return -ENOMEM;
	slash = strrchr(copy, '/');
	if (slash == copy)
		dir = "/";
	else if (slash) {
		*slash = '\0';
		dir = copy;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		err = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return err;
}

static const char *open_errstr(int err)
{
	switch (err) {
	case ENOENT:
		return "no such file or device";
	case EACCES:
	case EPERM:
		return "permission denied";
	case EROFS:
		return "read-only file system";
	}
	return strerror(err);
}

/* A store lives in a regular file or on a block device, nothing else. */
static int stat_store_file(int fd, const char *path, struct stat *st,
			   char *err, size_t errlen)
{
	if (fstat(fd, st)) {
		int ret = -errno;

		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
		set_err(err, errlen, "%s: not a regular file or block device",
			path);
		return -EINVAL;
	}
	return 0;
}

static int lock_store(int fd, const char *path, char *err, size_t errlen)
{
	if (!flock(fd, LOCK_EX | LOCK_NB))
		return 0;
	if (errno == EWOULDBLOCK) {
		set_err(err, errlen, "%s: in use by another qrep process",
			path);
		return -EBUSY;
	}
	set_err(err, errlen, "%s: cannot lock: %s", path, strerror(errno));
	return -errno;
}

/*
 * Without --force, init only writes over nothing: a valid store, or any
 * data at all in the first block (a file system, a partition table,
 * somebody's file), makes it refuse. Zeros and holes are fine, so a file
 * made with truncate(1) or a zeroed device can be initialised directly.
 */
static int check_overwrite(int fd, const char *path, char *err,
			   size_t errlen)
{
	char ustr[QREP_UUID_STR_LEN + 1];
	uint8_t first[HDR_BLOCK_BYTES];
	struct hdr_fields old;
	ssize_t n;
	size_t i;

	if (hdr_read(fd, &old) == SLOT_VALID) {
		qrep_uuid_format(old.uuid, ustr);
		set_err(err, errlen, "%s already holds a qrep store (device "
			"%s); use --force to overwrite it", path, ustr);
		return -EEXIST;
	}
	n = pread(fd, first, sizeof(first), 0);
	if (n < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	for (i = 0; i < (size_t)n; i++) {
		if (first[i]) {
			set_err(err, errlen, "%s is not empty (it holds data "
				"that is not a qrep store); use --force to "
				"overwrite it", path);
			return -EEXIST;
		}
	}
	return 0;
}

int qrep_store_init(const char *path, uint64_t size,
		    uint8_t uuid[QREP_UUID_SIZE], unsigned int flags,
		    char *err, size_t errlen)
{
	struct qrep_store tmp = { 0 };
	uint64_t have;
	struct stat st;
	bool created = false;
	int fd, ret;

	if (!size || size % QREP_BLOCK_SIZE || size > QREP_STORE_MAX_SIZE) {
		set_err(err, errlen, "size must be a non-zero multiple of %u "
			"bytes, at most %llu", QREP_BLOCK_SIZE,
			(unsigned long long)QREP_STORE_MAX_SIZE);
		return -EINVAL;
	}
	if (qrep_uuid_is_null(uuid)) {
		ret = qrep_uuid_generate(uuid);
		if (ret) {
			set_err(err, errlen, "cannot generate a UUID: %s",
				strerror(-ret));
			return ret;
		}
	}

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		created = fd >= 0;
	}
	if (fd < 0) {
		ret = -errno;
		set_err(err, errlen, "%s: %s", path, open_errstr(errno));
		return ret;
	}
	ret = lock_store(fd, path, err, errlen);
	if (ret)
		goto out_close;
	ret = stat_store_file(fd, path, &st, err, errlen);
	if (ret)
		goto out_close;
	if (!(flags & QREP_STORE_INIT_FORCE)) {
		ret = check_overwrite(fd, path, err, errlen);
		if (ret)
			goto out_close;
	}

	tmp.fd = fd;
	tmp.info.joining = flags & QREP_STORE_INIT_JOINING;
	memcpy(tmp.info.uuid, uuid, QREP_UUID_SIZE);
	layout(&tmp.info, size);
	tmp.region_shift = qrep_store_region_shift(tmp.info.nblocks);

	if (S_ISREG(st.st_mode)) {
		/* Truncating to 0 first drops old contents: all holes now. */
		if (ftruncate(fd, 0) ||
		    ftruncate(fd, (off_t)tmp.info.store_bytes)) {
			ret = -errno;
			set_err(err, errlen, "%s: cannot size to %llu "
				"bytes: %s", path,
				(unsigned long long)tmp.info.store_bytes,
				strerror(errno));
			goto out_close;
		}
	} else {
		ret = dev_bytes(fd, &st, &have);
		if (!ret && have < tmp.info.store_bytes)
			ret = -ENOSPC;
		if (ret) {
			set_err(err, errlen, "%s: device too small: a "
				"%llu-byte store needs %llu bytes", path,
				(unsigned long long)size,
				(unsigned long long)tmp.info.store_bytes);
			goto out_close;
		}
		ret = blockdev_zero(fd, tmp.info.data_offset);
		if (ret) {
			set_err(err, errlen, "%s: cannot zero the metadata "
				"area: %s", path, strerror(-ret));
			goto out_close;
		}
	}

	/* Both slots: a forced init must not leave an old slot valid. */
	tmp.info.generation = 0;
	ret = qrep_store_hdr_write_locked(&tmp, true, 0, 0);
	if (!ret)
		ret = qrep_store_hdr_write_locked(&tmp, true, 0, 0);
	if (!ret && created)
		ret = fsync_parent_dir(path);
	if (ret)
		set_err(err, errlen, "%s: cannot write the header: %s", path,
			strerror(-ret));
out_close:
	close(fd);
	if (ret && created)
		unlink(path);
	return ret;
}

static int check_header(const struct hdr_fields *h, const char *path,
			char *err, size_t errlen)
{
	struct qrep_store_info want = { 0 };

	if (h->format_version < QREP_STORE_FORMAT_VERSION_MIN ||
	    h->format_version > QREP_STORE_FORMAT_VERSION) {
		set_err(err, errlen, "%s: unsupported store format version "
			"%u (this program knows %u to %u)", path,
			h->format_version, QREP_STORE_FORMAT_VERSION_MIN,
			QREP_STORE_FORMAT_VERSION);
		return -EPROTO;
	}
	if (h->block_size != QREP_BLOCK_SIZE ||
	    h->meta_rec_size != META_REC_BYTES || (h->flags & ~HDR_FLAGS_ALL)) {
		set_err(err, errlen, "%s: header describes an unsupported "
			"layout (block size %u, record size %u, flags %#x)",
			path, h->block_size, h->meta_rec_size, h->flags);
		return -EPROTO;
	}
	if (!h->size || h->size % QREP_BLOCK_SIZE ||
	    h->size > QREP_STORE_MAX_SIZE) {
		set_err(err, errlen, "%s: header has an invalid device size "
			"%llu", path, (unsigned long long)h->size);
		return -EPROTO;
	}
	layout(&want, h->size);
	if (h->meta_offset != want.meta_offset ||
	    h->data_offset != want.data_offset) {
		set_err(err, errlen, "%s: header offsets do not match its "
			"size", path);
		return -EPROTO;
	}
	/* Format 1 had no bitmap: its field was reserved (zero). */
	if (h->region_blocks != (h->format_version == 1 ? 0 :
				 want.region_blocks)) {
		set_err(err, errlen, "%s: header has an invalid write-intent "
			"region size %u", path, h->region_blocks);
		return -EPROTO;
	}
	return 0;
}

static int store_alloc(int fd, unsigned int flags, struct qrep_store **out)
{
	struct qrep_store *s = calloc(1, sizeof(*s));
	pthread_rwlockattr_t attr;
	unsigned int i;

	if (!s)
		return -ENOMEM;
	s->fd = fd;
	s->flags = flags;
	/* Writers first: a stream of reads must not starve a write. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
		PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	for (i = 0; i < STRIPE_LOCKS; i++)
		pthread_rwlock_init(&s->stripe_locks[i], &attr);
	pthread_rwlock_init(&s->intent_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&s->intent_mutex, NULL);
	pthread_mutex_init(&s->header_mutex, NULL);
	pthread_mutex_init(&s->scan_mutex, NULL);
	pthread_mutex_init(&s->flush_mutex, NULL);
	pthread_cond_init(&s->flush_done_cond, NULL);
	*out = s;
	return 0;
}

static void store_free(struct qrep_store *s)
{
	unsigned int i;

	for (i = 0; i < STRIPE_LOCKS; i++)
		pthread_rwlock_destroy(&s->stripe_locks[i]);
	pthread_rwlock_destroy(&s->intent_lock);
	pthread_mutex_destroy(&s->intent_mutex);
	pthread_mutex_destroy(&s->header_mutex);
	pthread_mutex_destroy(&s->scan_mutex);
	pthread_mutex_destroy(&s->flush_mutex);
	pthread_cond_destroy(&s->flush_done_cond);
	close(s->fd);
	free(s);
}

/*
 * A writable open: after an unclean close, the torn blocks are found and
 * reset before anything can read them (format 1 kept no bitmap: every
 * written block is checked). Then, from here on writes may reach the
 * store, so the header must stop vouching for max_version before the
 * first of them; it is written in the current format.
 */
static int open_for_writing(struct qrep_store *s, const struct hdr_fields *h,
			    const char *path, char *err, size_t errlen)
{
	bool old_format = h->format_version < QREP_STORE_FORMAT_VERSION;
	int ret;

	ret = qrep_store_intent_load(s);
	if (!ret && old_format)
		ret = qrep_store_intent_clear_all(s);	/* was reserved */
	if (!ret && !s->info.clean)
		ret = qrep_store_intent_recover(s, old_format);
	if (ret) {
		set_err(err, errlen, "%s: cannot check the blocks written "
			"before an unclean shutdown: %s", path, strerror(-ret));
		return ret;
	}
	if (!s->info.clean && !old_format)
		return 0;
	pthread_mutex_lock(&s->header_mutex);
	ret = qrep_store_hdr_write_locked(s, false, 0, h->epoch);
	pthread_mutex_unlock(&s->header_mutex);
	if (ret)
		set_err(err, errlen, "%s: cannot update the header: %s",
			path, strerror(-ret));
	else
		s->info.format_version = QREP_STORE_FORMAT_VERSION;
	return ret;
}

int qrep_store_open(const char *path, unsigned int flags,
		    struct qrep_store **out, char *err, size_t errlen)
{
	bool rdonly = flags & QREP_STORE_RDONLY;
	struct qrep_store_info info = { 0 };
	struct qrep_store *s;
	struct hdr_fields h;
	struct stat st;
	uint64_t have;
	int fd, ret;

	fd = open(path, (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		set_err(err, errlen, "%s: %s%s", path, open_errstr(errno),
			errno == ENOENT ? " (create it with 'qrep-target "
			"init')" : "");
		return ret;
	}
	ret = stat_store_file(fd, path, &st, err, errlen);
	if (ret)
		goto out_close;
	if (flags & QREP_STORE_EXCL) {
		ret = lock_store(fd, path, err, errlen);
		if (ret)
			goto out_close;
	}
	ret = dev_bytes(fd, &st, &have);
	if (ret) {
		set_err(err, errlen, "%s: cannot get its size: %s", path,
			strerror(-ret));
		goto out_close;
	}
	if (have < HDR_BLOCK_BYTES) {
		set_err(err, errlen, "%s: not a qrep store (%llu bytes, "
			"smaller than a header): run 'qrep-target init'",
			path, (unsigned long long)have);
		ret = -ENODATA;
		goto out_close;
	}
	switch (hdr_read(fd, &h)) {
	case SLOT_EMPTY:
		set_err(err, errlen, "%s: not a qrep store (no store magic): "
			"run 'qrep-target init'", path);
		ret = -ENODATA;
		goto out_close;
	case SLOT_CORRUPT:
		set_err(err, errlen, "%s: corrupt store header (checksum "
			"mismatch in both copies)", path);
		ret = -EBADMSG;
		goto out_close;
	case SLOT_VALID:
		break;
	}
	ret = check_header(&h, path, err, errlen);
	if (ret)
		goto out_close;

	layout(&info, h.size);
	if ((S_ISREG(st.st_mode) && have != info.store_bytes) ||
	    have < info.store_bytes) {
		set_err(err, errlen, "%s: size mismatch: it is %llu bytes, its "
			"header describes a %llu-byte device needing %llu",
			path, (unsigned long long)have,
			(unsigned long long)h.size,
			(unsigned long long)info.store_bytes);
		ret = -EPROTO;
		goto out_close;
	}
	info.format_version = h.format_version;
	memcpy(info.uuid, h.uuid, QREP_UUID_SIZE);
	info.epoch = h.epoch;
	info.generation = h.generation;
	info.clean = h.flags & HDR_FLAG_CLEAN;
	info.joining = h.flags & HDR_FLAG_JOINING;
	info.is_blockdev = S_ISBLK(st.st_mode);

	ret = store_alloc(fd, flags, &s);
	if (ret) {
		set_err(err, errlen, "out of memory");
		goto out_close;
	}
	s->info = info;
	s->header_clean = info.clean;
	s->region_shift = qrep_store_region_shift(info.nblocks);
	s->intent_active_max = qrep_store_intent_active_max(s->region_shift);
	atomic_store(&s->epoch, h.epoch);
	atomic_store(&s->joining, info.joining);
	if (info.clean) {
		atomic_store(&s->max_version, h.max_version);
		atomic_store(&s->max_known, true);
	}
	if (!rdonly) {
		ret = open_for_writing(s, &h, path, err, errlen);
		if (ret) {
			store_free(s);
			return ret;
		}
	}
	*out = s;
	return 0;

out_close:
	close(fd);
	return ret;
}

const struct qrep_store_info *qrep_store_info(const struct qrep_store *s)
{
	return &s->info;
}

int qrep_store_set_epoch(struct qrep_store *s, uint64_t epoch)
{
	int err = 0;

	if (s->flags & QREP_STORE_RDONLY)
		return -EROFS;
	pthread_mutex_lock(&s->header_mutex);
	if (atomic_load(&s->joining))
		err = -EPERM;		/* no vote before it learned one */
	else if (epoch > atomic_load(&s->epoch)) {
		err = qrep_store_hdr_write_locked(s, s->header_clean,
				       atomic_load(&s->max_version), epoch);
		/* Published only once durable: nobody acts on a lost epoch. */
		if (!err) {
			atomic_store(&s->epoch, epoch);
			s->info.epoch = epoch;
		}
	}
	pthread_mutex_unlock(&s->header_mutex);
	return err;
}

bool qrep_store_joining(const struct qrep_store *s)
{
	return atomic_load(&s->joining);
}

int qrep_store_join(struct qrep_store *s, uint64_t floor)
{
	uint64_t epoch;
	int err;

	if (s->flags & QREP_STORE_RDONLY)
		return -EROFS;
	if (atomic_load(&s->failed))
		return -EIO;
	pthread_mutex_lock(&s->header_mutex);
	epoch = atomic_load(&s->epoch);
	if (floor > epoch)
		epoch = floor;
	/*
	 * One header write carries both, so a crash leaves the store either
	 * joining at its old epoch or joined at the floor, never joined
	 * below it. info.joining is what the header gets; the atomic that
	 * writes and epoch raises check is cleared only once it is durable.
	 */
	s->info.joining = false;
	err = qrep_store_hdr_write_locked(s, s->header_clean,
					  atomic_load(&s->max_version), epoch);
	if (err) {
		s->info.joining = atomic_load(&s->joining);
	} else {
		atomic_store(&s->epoch, epoch);
		s->info.epoch = epoch;
		atomic_store(&s->joining, false);
	}
	pthread_mutex_unlock(&s->header_mutex);
	return err;
}

int qrep_store_close(struct qrep_store *s)
{
	uint64_t max;
	int err = 0;

	if (!s)
		return 0;
	if (!(s->flags & QREP_STORE_RDONLY)) {
		err = qrep_store_flush(s);
		if (!err)
			err = qrep_store_max_version(s, &max);
		/* Everything is durable: no region needs checking. */
		if (!err)
			err = qrep_store_intent_clear_all(s);
		if (!err) {
			pthread_mutex_lock(&s->header_mutex);
			err = qrep_store_hdr_write_locked(s, true, max,
					       atomic_load(&s->epoch));
			pthread_mutex_unlock(&s->header_mutex);
		}
	}
	store_free(s);
	return err;
}
