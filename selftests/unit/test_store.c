// SPDX-License-Identifier: GPL-2.0
/*
 * The replica store: init/open and their refusals, write-if-newer per
 * block, checksums catching corruption, epoch durability, max_version
 * after clean and unclean closes, a sparse 64 GiB store, and concurrent
 * writers racing on the same blocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "bytes.h"
#include "crc32c.h"
#include "store.h"
#include "uuid.h"

#define BS		QREP_BLOCK_SIZE
#define SMALL_SIZE	(1U << 20)		/* 256 blocks */
#define HDR_SLOT	512			/* see store-format.rst */

static const uint8_t test_uuid[QREP_UUID_SIZE] = {
	0x0f, 0x8e, 0x2c, 0x1a, 0x5b, 0x3d, 0x4e, 0x6f,
	0x9a, 0x7b, 0x8c, 0x9d, 0x0e, 0x1f, 0x2a, 0x3b,
};

/* Block content that says which block and version wrote it. */
static void fill(uint8_t *b, uint64_t block, uint64_t version)
{
	size_t i;

	for (i = 0; i < BS; i += 16) {
		qrep_put_le64(b + i, block);
		qrep_put_le64(b + i + 8, version);
	}
}

static bool is_fill(const uint8_t *b, uint64_t block, uint64_t version)
{
	uint8_t want[BS];

	fill(want, block, version);
	return !memcmp(b, want, BS);
}

static bool is_zero(const uint8_t *b)
{
	size_t i;

	for (i = 0; i < BS; i++)
		if (b[i])
			return false;
	return true;
}

static int make_store(const char *path, uint64_t size)
{
	uint8_t u[QREP_UUID_SIZE];
	char err[256];
	int ret;

	memcpy(u, test_uuid, sizeof(u));
	ret = qrep_store_init(path, size, u, 0, err, sizeof(err));
	if (ret)
		fprintf(stderr, "# init: %s\n", err);
	return ret;
}

static int patch_file(const char *path, uint64_t off, const void *buf,
		      size_t len)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pwrite(fd, buf, len, (off_t)off);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

static int patch_file_create(const char *path, uint64_t off, const void *buf,
			     size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0600);

	if (fd < 0)
		return -errno;
	close(fd);
	return patch_file(path, off, buf, len);
}

static int read_file(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, buf, len, (off_t)off);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

FIXTURE(store)
{
	char dir[PATH_MAX - 32];
	char path[PATH_MAX];
	struct qrep_store *s;
	uint8_t buf[QREP_STORE_MAX_IO_BLOCKS * BS];
	uint64_t versions[QREP_STORE_MAX_IO_BLOCKS];
	bool bad[QREP_STORE_MAX_IO_BLOCKS];
};

FIXTURE_SETUP(store)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(self->dir, sizeof(self->dir), "%s/qrep-store-XXXXXX",
		 tmp ? tmp : "/tmp");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/replica", self->dir);
	self->s = NULL;
}

FIXTURE_TEARDOWN(store)
{
	char p[PATH_MAX];

	if (self->s)
		qrep_store_close(self->s);
	unlink(self->path);
	snprintf(p, sizeof(p), "%s/other", self->dir);
	unlink(p);
	rmdir(self->dir);
}

TEST_F(store, init_then_open)
{
	const struct qrep_store_info *info;
	uint64_t max = 1;
	char err[256];

	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, QREP_STORE_EXCL, &self->s,
				     err, sizeof(err))) TH_LOG("%s", err);
	info = qrep_store_info(self->s);
	EXPECT_EQ(0, memcmp(info->uuid, test_uuid, QREP_UUID_SIZE));
	EXPECT_EQ(SMALL_SIZE, info->size);
	EXPECT_EQ(SMALL_SIZE / BS, info->nblocks);
	EXPECT_EQ(4096ULL, info->meta_offset);
	EXPECT_EQ(8192ULL, info->data_offset);	/* 256 x 16 B = 4 KiB */
	EXPECT_EQ(8192ULL + SMALL_SIZE, info->store_bytes);
	EXPECT_EQ(QREP_STORE_FORMAT_VERSION, info->format_version);
	EXPECT_TRUE(info->clean);
	EXPECT_EQ(0ULL, qrep_store_epoch(self->s));
	EXPECT_EQ(0, qrep_store_max_version(self->s, &max));
	EXPECT_EQ(0ULL, max);
}

TEST_F(store, init_generates_uuid_and_refuses_overwrite)
{
	uint8_t u[QREP_UUID_SIZE] = { 0 }, u2[QREP_UUID_SIZE] = { 0 };
	char err[256];

	ASSERT_EQ(0, qrep_store_init(self->path, SMALL_SIZE, u, 0, err,
				     sizeof(err)));
	EXPECT_FALSE(qrep_uuid_is_null(u));
	EXPECT_EQ(-EEXIST, qrep_store_init(self->path, SMALL_SIZE, u2, 0, err,
					   sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "--force")) TH_LOG("%s", err);
	EXPECT_EQ(0, qrep_store_init(self->path, 2 * SMALL_SIZE, u2,
				     QREP_STORE_INIT_FORCE, err, sizeof(err)));
	EXPECT_NE(0, memcmp(u, u2, sizeof(u)));
	ASSERT_EQ(0, qrep_store_open(self->path, QREP_STORE_RDONLY, &self->s,
				     err, sizeof(err)));
	EXPECT_EQ(0, memcmp(qrep_store_info(self->s)->uuid, u2, sizeof(u2)));
	EXPECT_EQ(2ULL * SMALL_SIZE, qrep_store_info(self->s)->size);
}

/* Without force, init writes only over zeros and holes. */
TEST_F(store, init_refuses_foreign_data)
{
	uint8_t u[QREP_UUID_SIZE];
	char err[256];

	memcpy(u, test_uuid, sizeof(u));
	ASSERT_EQ(0, patch_file_create(self->path, 5000, "ext4?", 5));
	EXPECT_EQ(0, qrep_store_init(self->path, SMALL_SIZE, u, 0, err,
				     sizeof(err)));	/* data beyond 4 KiB */
	ASSERT_EQ(0, unlink(self->path));
	ASSERT_EQ(0, patch_file_create(self->path, 1080, "\x53\xef", 2));
	EXPECT_EQ(-EEXIST, qrep_store_init(self->path, SMALL_SIZE, u, 0, err,
					   sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not empty")) TH_LOG("%s", err);
	EXPECT_EQ(0, qrep_store_init(self->path, SMALL_SIZE, u,
				     QREP_STORE_INIT_FORCE, err,
				     sizeof(err)));
}

TEST_F(store, init_rejects_bad_sizes)
{
	static const uint64_t rows[] = {
		/* 0 */ 0, /* 1 */ 1, /* 2 */ BS - 1, /* 3 */ BS + 1,
		/* 4 */ QREP_STORE_MAX_SIZE + BS, /* 5 */ UINT64_MAX,
	};
	uint8_t u[QREP_UUID_SIZE];
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memcpy(u, test_uuid, sizeof(u));
		EXPECT_EQ(-EINVAL, qrep_store_init(self->path, rows[i], u, 0,
						   err, sizeof(err)))
			TH_LOG("row %zu", i);
	}
	EXPECT_NE(0, access(self->path, F_OK));	/* nothing left behind */
}

/* What open says about files that are not a usable store. */
TEST_F(store, open_refusals)
{
	uint8_t zeros[8192] = { 0 }, slot[HDR_SLOT];
	struct qrep_store *s = NULL;
	char err[256];
	int fd;

	/* 0: missing */
	EXPECT_EQ(-ENOENT, qrep_store_open(self->path, 0, &s, err,
					   sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "init")) TH_LOG("%s", err);

	/* 1: empty file */
	fd = open(self->path, O_CREAT | O_RDWR, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(-ENODATA, qrep_store_open(self->path, 0, &s, err,
					    sizeof(err)));

	/* 2: zeros, no magic: not initialised */
	ASSERT_EQ(0, patch_file(self->path, 0, zeros, sizeof(zeros)));
	EXPECT_EQ(-ENODATA, qrep_store_open(self->path, 0, &s, err,
					    sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not a qrep store")) TH_LOG("%s", err);

	/* 3: a store whose file grew */
	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, truncate(self->path, 8192 + SMALL_SIZE + BS));
	EXPECT_EQ(-EPROTO, qrep_store_open(self->path, 0, &s, err,
					   sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "size mismatch")) TH_LOG("%s", err);

	/* 4: ... or shrank */
	ASSERT_EQ(0, truncate(self->path, 8192 + SMALL_SIZE - BS));
	EXPECT_EQ(-EPROTO, qrep_store_open(self->path, 0, &s, err,
					   sizeof(err)));

	/* 5: both header slots corrupt */
	ASSERT_EQ(0, unlink(self->path));
	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, read_file(self->path, 0, slot, sizeof(slot)));
	slot[40] ^= 1;
	ASSERT_EQ(0, patch_file(self->path, 0, slot, sizeof(slot)));
	ASSERT_EQ(0, patch_file(self->path, HDR_SLOT, slot, sizeof(slot)));
	EXPECT_EQ(-EBADMSG, qrep_store_open(self->path, 0, &s, err,
					    sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "corrupt")) TH_LOG("%s", err);

	/* 6: an unknown format version, correctly checksummed */
	ASSERT_EQ(0, unlink(self->path));
	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, read_file(self->path, 0, slot, sizeof(slot)));
	qrep_put_le32(slot + 8, QREP_STORE_FORMAT_VERSION + 1);
	qrep_put_le32(slot + HDR_SLOT - 4, qrep_crc32c(0, slot,
						       HDR_SLOT - 4));
	ASSERT_EQ(0, patch_file(self->path, 0, slot, sizeof(slot)));
	ASSERT_EQ(0, patch_file(self->path, HDR_SLOT, slot, sizeof(slot)));
	EXPECT_EQ(-EPROTO, qrep_store_open(self->path, 0, &s, err,
					   sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "format version")) TH_LOG("%s", err);

	/* 7: a directory */
	EXPECT_EQ(-EISDIR, qrep_store_open(self->dir, 0, &s, err,
					   sizeof(err)));
	EXPECT_EQ(-EINVAL, qrep_store_open(self->dir, QREP_STORE_RDONLY, &s,
					   err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not a regular file")) TH_LOG("%s", err);
	EXPECT_EQ(NULL, s);
}

/* A torn header write damages one slot; the other one still opens. */
TEST_F(store, one_corrupt_header_slot_is_survived)
{
	uint8_t slot[HDR_SLOT];
	char err[256];
	int i;

	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	ASSERT_EQ(0, qrep_store_set_epoch(self->s, 9));
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;
	for (i = 0; i < 2; i++) {
		struct qrep_store *s;

		ASSERT_EQ(0, read_file(self->path, (uint64_t)i * HDR_SLOT,
				       slot, sizeof(slot)));
		slot[100] ^= 0x55;
		ASSERT_EQ(0, patch_file(self->path, (uint64_t)i * HDR_SLOT,
					slot, sizeof(slot)));
		ASSERT_EQ(0, qrep_store_open(self->path, QREP_STORE_RDONLY,
					     &s, err, sizeof(err)))
			TH_LOG("slot %d: %s", i, err);
		/* The newest slot holds 9; the older one the epoch before. */
		EXPECT_LE(qrep_store_epoch(s), 9ULL);
		qrep_store_close(s);
		slot[100] ^= 0x55;
		ASSERT_EQ(0, patch_file(self->path, (uint64_t)i * HDR_SLOT,
					slot, sizeof(slot)));
	}
}

TEST_F(store, unwritten_blocks_read_as_zero_version_0)
{
	char err[256];
	uint32_t i;

	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	memset(self->buf, 0xee, sizeof(self->buf));
	ASSERT_EQ(0, qrep_store_read(self->s, 0, 256, self->buf,
				     self->versions, self->bad));
	for (i = 0; i < 256; i++) {
		EXPECT_EQ(0ULL, self->versions[i]);
		EXPECT_FALSE(self->bad[i]);
		EXPECT_TRUE(is_zero(self->buf + (size_t)i * BS));
	}
	EXPECT_EQ(-ERANGE, qrep_store_read(self->s, 256, 1, self->buf,
					   self->versions, NULL));
	EXPECT_EQ(-ERANGE, qrep_store_read(self->s, 255, 2, self->buf,
					   self->versions, NULL));
	EXPECT_EQ(-EINVAL, qrep_store_read(self->s, 0, 0, self->buf,
					   self->versions, NULL));
	EXPECT_EQ(-EINVAL, qrep_store_read(self->s, 0, 257, self->buf,
					   self->versions, NULL));
}

/*
 * Write-if-newer, step by step on blocks 10..13. Each row writes
 * [block, block + n) at version; want[] is the version of 10..13
 * afterwards and ignored the count of blocks left alone.
 */
TEST_F(store, write_if_newer_table)
{
	static const struct {
		uint64_t block;
		uint32_t n;
		uint64_t version;
		uint32_t ignored;
		uint64_t want[4];
	} rows[] = {
		/* 0: first write applies */
		{ 10, 1, 5, 0, { 5, 0, 0, 0 } },
		/* 1: equal version is ignored */
		{ 10, 1, 5, 1, { 5, 0, 0, 0 } },
		/* 2: older version is ignored */
		{ 10, 1, 4, 1, { 5, 0, 0, 0 } },
		/* 3: newer applies */
		{ 10, 1, 6, 0, { 6, 0, 0, 0 } },
		/* 4: multi-block, all new */
		{ 11, 3, 3, 0, { 6, 3, 3, 3 } },
		/* 5: multi-block across a newer block: per block */
		{ 10, 4, 4, 1, { 6, 4, 4, 4 } },
		/* 6: newer in the middle keeps both ends' gaps */
		{ 12, 1, 9, 0, { 6, 4, 9, 4 } },
		/* 7: only the outer blocks are older */
		{ 10, 4, 7, 1, { 7, 7, 9, 7 } },
		/* 8: all older */
		{ 10, 4, 2, 4, { 7, 7, 9, 7 } },
	};
	uint64_t writer[4] = { 0 }, max;
	uint32_t ignored, i, k;
	char err[256];
	size_t r;

	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		for (i = 0; i < rows[r].n; i++)
			fill(self->buf + (size_t)i * BS, rows[r].block + i,
			     rows[r].version);
		ignored = 99;
		ASSERT_EQ(0, qrep_store_write(self->s, rows[r].block,
					      rows[r].n, self->buf,
					      rows[r].version, 0, &ignored));
		EXPECT_EQ(rows[r].ignored, ignored) TH_LOG("row %zu", r);
		for (k = 0; k < 4; k++)
			if (rows[r].want[k] != writer[k] &&
			    rows[r].want[k] == rows[r].version)
				writer[k] = rows[r].version;

		ASSERT_EQ(0, qrep_store_read(self->s, 10, 4, self->buf,
					     self->versions, self->bad));
		for (k = 0; k < 4; k++) {
			EXPECT_EQ(rows[r].want[k], self->versions[k])
				TH_LOG("row %zu block %u", r, 10 + k);
			EXPECT_FALSE(self->bad[k]);
			/* The data is the one written at that version. */
			EXPECT_TRUE(rows[r].want[k] ?
				    is_fill(self->buf + (size_t)k * BS, 10 + k,
					    rows[r].want[k]) :
				    is_zero(self->buf + (size_t)k * BS))
				TH_LOG("row %zu block %u", r, 10 + k);
		}
	}
	EXPECT_EQ(0, qrep_store_max_version(self->s, &max));
	EXPECT_EQ(9ULL, max);
	EXPECT_EQ(-EINVAL, qrep_store_write(self->s, 0, 1, self->buf, 0, 0,
					    NULL));
	EXPECT_EQ(-ERANGE, qrep_store_write(self->s, 255, 2, self->buf, 1, 0,
					    NULL));
	EXPECT_EQ(0, qrep_store_write(self->s, 255, 1, self->buf, 1,
				      QREP_STORE_FUA, NULL));
	EXPECT_EQ(0, qrep_store_flush(self->s));
}

/* A flipped byte in the data area is reported for that block only. */
TEST_F(store, checksum_catches_flipped_byte)
{
	const struct qrep_store_info *info;
	uint64_t data_offset;
	uint8_t byte;
	char err[256];
	uint32_t i;

	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	for (i = 0; i < 8; i++)
		fill(self->buf + (size_t)i * BS, 20 + i, 3);
	ASSERT_EQ(0, qrep_store_write(self->s, 20, 8, self->buf, 3, 0, NULL));
	info = qrep_store_info(self->s);
	data_offset = info->data_offset;
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;

	ASSERT_EQ(0, read_file(self->path, data_offset + 23ULL * BS + 1000,
			       &byte, 1));
	byte ^= 0x01;
	ASSERT_EQ(0, patch_file(self->path, data_offset + 23ULL * BS + 1000,
				&byte, 1));

	ASSERT_EQ(0, qrep_store_open(self->path, QREP_STORE_RDONLY, &self->s,
				     err, sizeof(err)));
	EXPECT_EQ(1, qrep_store_read(self->s, 20, 8, self->buf,
				     self->versions, self->bad));
	for (i = 0; i < 8; i++) {
		EXPECT_EQ(i == 3, self->bad[i]) TH_LOG("block %u", 20 + i);
		EXPECT_EQ(3ULL, self->versions[i]);
	}
	/* Without the per-block array the count still tells. */
	EXPECT_EQ(1, qrep_store_read(self->s, 23, 1, self->buf,
				     self->versions, NULL));
	EXPECT_EQ(0, qrep_store_read(self->s, 24, 1, self->buf,
				     self->versions, NULL));
}

/* A crash between data and record leaves new data under version 0. */
TEST_F(store, data_without_record_reads_as_unwritten)
{
	const struct qrep_store_info *info;
	uint8_t junk[BS];
	char err[256];

	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, QREP_STORE_RDONLY, &self->s,
				     err, sizeof(err)));
	info = qrep_store_info(self->s);
	memset(junk, 0x77, sizeof(junk));
	ASSERT_EQ(0, patch_file(self->path, info->data_offset + 5ULL * BS,
				junk, sizeof(junk)));
	EXPECT_EQ(0, qrep_store_read(self->s, 5, 1, self->buf,
				     self->versions, self->bad));
	EXPECT_EQ(0ULL, self->versions[0]);
	EXPECT_TRUE(is_zero(self->buf));
}

TEST_F(store, epoch_is_durable_and_only_grows)
{
	char err[256];

	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	EXPECT_EQ(0, qrep_store_set_epoch(self->s, 7));
	EXPECT_EQ(7ULL, qrep_store_epoch(self->s));
	EXPECT_EQ(0, qrep_store_set_epoch(self->s, 3));	/* no-op */
	EXPECT_EQ(7ULL, qrep_store_epoch(self->s));
	ASSERT_EQ(0, qrep_store_close(self->s));

	ASSERT_EQ(0, qrep_store_open(self->path, QREP_STORE_RDONLY, &self->s,
				     err, sizeof(err)));
	EXPECT_EQ(7ULL, qrep_store_epoch(self->s));
	EXPECT_EQ(-EROFS, qrep_store_set_epoch(self->s, 8));
	EXPECT_EQ(-EROFS, qrep_store_write(self->s, 0, 1, self->buf, 1, 0,
					   NULL));
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;

	/* Durable without a clean close: a child sets it and dies. */
	if (fork() == 0) {
		struct qrep_store *s;

		if (qrep_store_open(self->path, 0, &s, NULL, 0) ||
		    qrep_store_set_epoch(s, 12))
			_exit(1);
		_exit(0);
	}
	{
		int status;

		ASSERT_LT(0, wait(&status));
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
	ASSERT_EQ(0, qrep_store_open(self->path, QREP_STORE_RDONLY, &self->s,
				     err, sizeof(err)));
	EXPECT_EQ(12ULL, qrep_store_epoch(self->s));
	EXPECT_FALSE(qrep_store_info(self->s)->clean);
}

/* max_version: from the header after a clean close, by scan otherwise. */
TEST_F(store, max_version_clean_and_after_crash)
{
	uint64_t max = 0;
	char err[256];
	int status;

	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	fill(self->buf, 1, 40);
	ASSERT_EQ(0, qrep_store_write(self->s, 1, 1, self->buf, 40, 0, NULL));
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;

	ASSERT_EQ(0, qrep_store_open(self->path, QREP_STORE_RDONLY, &self->s,
				     err, sizeof(err)));
	EXPECT_TRUE(qrep_store_info(self->s)->clean);
	EXPECT_EQ(0, qrep_store_max_version(self->s, &max));
	EXPECT_EQ(40ULL, max);
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;

	/* A writer that dies without closing. */
	if (fork() == 0) {
		struct qrep_store *s;
		static uint8_t b[BS];

		fill(b, 200, 77);
		if (qrep_store_open(self->path, 0, &s, NULL, 0) ||
		    qrep_store_write(s, 200, 1, b, 77, 0, NULL))
			_exit(1);
		_exit(0);
	}
	ASSERT_LT(0, wait(&status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	EXPECT_FALSE(qrep_store_info(self->s)->clean);
	EXPECT_EQ(0, qrep_store_max_version(self->s, &max));
	EXPECT_EQ(77ULL, max);
	ASSERT_EQ(0, qrep_store_read(self->s, 200, 1, self->buf,
				     self->versions, self->bad));
	EXPECT_TRUE(is_fill(self->buf, 200, 77));
}

TEST_F(store, exclusive_open)
{
	struct qrep_store *other = NULL;
	char err[256];

	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, QREP_STORE_EXCL, &self->s,
				     err, sizeof(err)));
	EXPECT_EQ(-EBUSY, qrep_store_open(self->path, QREP_STORE_EXCL, &other,
					  err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "in use")) TH_LOG("%s", err);
	/* Readers do not take the lock. */
	ASSERT_EQ(0, qrep_store_open(self->path, QREP_STORE_RDONLY, &other,
				     err, sizeof(err)));
	qrep_store_close(other);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * 64 GiB: init, write the last block, crash, reopen (scan), read back.
 * Must stay sparse (little disk) and quick (no full metadata read).
 */
TEST_F(store, sparse_64g_is_cheap)
{
	const uint64_t size = 64ULL << 30, last = size / BS - 1;
	uint64_t max = 0, next = 0;
	double t0 = now_s(), elapsed;
	struct stat st;
	char err[256];
	int status;

	ASSERT_EQ(0, make_store(self->path, size));
	if (fork() == 0) {
		struct qrep_store *s;
		static uint8_t b[BS];

		fill(b, last, 5);
		if (qrep_store_open(self->path, 0, &s, NULL, 0) ||
		    qrep_store_write(s, last, 1, b, 5, QREP_STORE_FUA, NULL))
			_exit(1);
		_exit(0);		/* no clean close: forces a scan */
	}
	ASSERT_LT(0, wait(&status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err))) TH_LOG("%s", err);
	EXPECT_FALSE(qrep_store_info(self->s)->clean);
	EXPECT_EQ(0, qrep_store_max_version(self->s, &max));
	EXPECT_EQ(5ULL, max);
	ASSERT_EQ(0, qrep_store_read(self->s, last, 1, self->buf,
				     self->versions, self->bad));
	EXPECT_EQ(5ULL, self->versions[0]);
	EXPECT_TRUE(is_fill(self->buf, last, 5));
	/* Holes are skipped: the next possibly written block is near last. */
	EXPECT_EQ(0, qrep_store_next_meta_data(self->s, 0, &next));
	EXPECT_GE(next + 256, last) TH_LOG("next %llu",
					   (unsigned long long)next);
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;
	elapsed = now_s() - t0;

	ASSERT_EQ(0, stat(self->path, &st));
	TH_LOG("64 GiB store: %lld bytes apparent, %lld KiB allocated, "
	       "%.3f s for init + write + scan + close",
	       (long long)st.st_size, (long long)st.st_blocks / 2, elapsed);
	EXPECT_EQ((off_t)(4096 + (size / BS) * 16 + size), st.st_size);
	EXPECT_LT(st.st_blocks * 512LL, 1LL << 20);
	EXPECT_LT(elapsed, 5.0);
}

/*
 * Writers race on the same 64 blocks with random versions and ranges.
 * Afterwards every block must hold the highest version written to it,
 * with that version's data and a good checksum: "compare, write data,
 * write record" is atomic per block.
 */
#define RACE_THREADS	4
#define RACE_BLOCKS	64
#define RACE_WRITES	400

struct race {
	struct qrep_store *s;
	unsigned int seed;
	uint64_t best[RACE_BLOCKS];	/* highest version this thread wrote */
	int err;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;
	uint8_t *buf = malloc(8 * BS);
	uint64_t block, version;
	uint32_t n, i;
	int w;

	if (!buf) {
		r->err = -ENOMEM;
		return NULL;
	}
	for (w = 0; w < RACE_WRITES && !r->err; w++) {
		block = (uint64_t)rand_r(&r->seed) % RACE_BLOCKS;
		n = 1 + (uint32_t)rand_r(&r->seed) % 8;
		if (block + n > RACE_BLOCKS)
			n = (uint32_t)(RACE_BLOCKS - block);
		/*
		 * Threads may pick the same version for a block: the data
		 * depends only on block and version, so either copy is it.
		 */
		version = 1 + (uint64_t)rand_r(&r->seed) % 100000;
		for (i = 0; i < n; i++)
			fill(buf + (size_t)i * BS, block + i, version);
		r->err = qrep_store_write(r->s, block, n, buf, version, 0,
					  NULL);
		for (i = 0; i < n; i++)
			if (version > r->best[block + i])
				r->best[block + i] = version;
	}
	free(buf);
	return NULL;
}

TEST_F(store, concurrent_writers_keep_the_newest)
{
	struct race races[RACE_THREADS] = { 0 };
	pthread_t th[RACE_THREADS];
	uint64_t want;
	char err[256];
	int t;
	uint32_t b;

	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	for (t = 0; t < RACE_THREADS; t++) {
		races[t].s = self->s;
		races[t].seed = 1000u + (unsigned int)t;
		ASSERT_EQ(0, pthread_create(&th[t], NULL, race_writer,
					    &races[t]));
	}
	for (t = 0; t < RACE_THREADS; t++) {
		pthread_join(th[t], NULL);
		EXPECT_EQ(0, races[t].err);
	}
	ASSERT_EQ(0, qrep_store_read(self->s, 0, RACE_BLOCKS, self->buf,
				     self->versions, self->bad));
	for (b = 0; b < RACE_BLOCKS; b++) {
		want = 0;
		for (t = 0; t < RACE_THREADS; t++)
			if (races[t].best[b] > want)
				want = races[t].best[b];
		EXPECT_EQ(want, self->versions[b]) TH_LOG("block %u", b);
		EXPECT_FALSE(self->bad[b]);
		EXPECT_TRUE(want ? is_fill(self->buf + (size_t)b * BS, b, want)
				 : is_zero(self->buf + (size_t)b * BS))
			TH_LOG("block %u", b);
	}
}

TEST_HARNESS_MAIN
