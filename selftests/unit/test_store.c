// SPDX-License-Identifier: GPL-2.0
/*
 * The replica store: init/open and their refusals, write-if-newer per
 * block, checksums catching corruption, epoch durability, max_version
 * after clean and unclean closes, a sparse 64 GiB store, concurrent
 * writers racing on the same blocks, what resync relies on: REPAIR
 * writes, region summaries, and reads that report checksums, and torn
 * writes found through the write-intent bitmap at an unclean open.
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
#include <linux/qrep_quorum.h>
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

/*
 * QREP_STORE_REPAIR, step by step on blocks 30..33: also replaces a block
 * of the same version, never an older one over a newer. Each row writes
 * [block, block + n) at version, every byte of it data; want[] is each
 * block's version afterwards and holds[] the byte its data is made of.
 */
TEST_F(store, repair_replaces_equal_version_never_older)
{
	static const struct {
		uint64_t block;
		uint32_t n;
		uint64_t version;
		unsigned int flags;
		uint8_t data;
		uint32_t ignored;
		uint64_t want[4];
		uint8_t holds[4];	/* data byte each block holds */
	} rows[] = {
		/* 0: a plain write at 5 */
		{ 30, 4, 5, 0, 0x11, 0, { 5, 5, 5, 5 },
		  { 0x11, 0x11, 0x11, 0x11 } },
		/* 1: same version, other data, no REPAIR: left alone */
		{ 30, 4, 5, 0, 0x22, 4, { 5, 5, 5, 5 },
		  { 0x11, 0x11, 0x11, 0x11 } },
		/* 2: same version with REPAIR: replaced */
		{ 31, 2, 5, QREP_STORE_REPAIR, 0x33, 0, { 5, 5, 5, 5 },
		  { 0x11, 0x33, 0x33, 0x11 } },
		/* 3: older with REPAIR: never */
		{ 30, 4, 4, QREP_STORE_REPAIR, 0x44, 4, { 5, 5, 5, 5 },
		  { 0x11, 0x33, 0x33, 0x11 } },
		/* 4: block 33 moves on to 8 */
		{ 33, 1, 8, 0, 0x55, 0, { 5, 5, 5, 8 },
		  { 0x11, 0x33, 0x33, 0x55 } },
		/* 5: REPAIR at 5 across it: equal ones replaced, 33 kept */
		{ 30, 4, 5, QREP_STORE_REPAIR | QREP_STORE_FUA, 0x66, 1,
		  { 5, 5, 5, 8 }, { 0x66, 0x66, 0x66, 0x55 } },
		/* 6: REPAIR at a newer version is a plain newer write */
		{ 32, 2, 9, QREP_STORE_REPAIR, 0x77, 0, { 5, 5, 9, 9 },
		  { 0x66, 0x66, 0x77, 0x77 } },
		/* 7: REPAIR at 8: below 9 on 32..33, above 5 on 30..31 */
		{ 30, 4, 8, QREP_STORE_REPAIR, 0x88, 2, { 8, 8, 9, 9 },
		  { 0x88, 0x88, 0x77, 0x77 } },
	};
	uint32_t ignored, i, k;
	uint64_t max = 0;
	char err[256];
	size_t r;

	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		memset(self->buf, rows[r].data, (size_t)rows[r].n * BS);
		ignored = 99;
		ASSERT_EQ(0, qrep_store_write(self->s, rows[r].block,
					      rows[r].n, self->buf,
					      rows[r].version, rows[r].flags,
					      &ignored)) TH_LOG("row %zu", r);
		EXPECT_EQ(rows[r].ignored, ignored) TH_LOG("row %zu", r);
		ASSERT_EQ(0, qrep_store_read(self->s, 30, 4, self->buf,
					     self->versions, self->bad));
		for (k = 0; k < 4; k++) {
			const uint8_t *b = self->buf + (size_t)k * BS;

			EXPECT_EQ(rows[r].want[k], self->versions[k])
				TH_LOG("row %zu block %u", r, 30 + k);
			EXPECT_FALSE(self->bad[k]);
			for (i = 0; i < BS && b[i] == rows[r].holds[k]; i++)
				;
			EXPECT_EQ(BS, i) TH_LOG("row %zu block %u holds %#x",
						r, 30 + k, b[0]);
		}
	}
	EXPECT_EQ(0, qrep_store_max_version(self->s, &max));
	EXPECT_EQ(9ULL, max);
	/* REPAIR does not make version 0 writable. */
	EXPECT_EQ(-EINVAL, qrep_store_write(self->s, 40, 1, self->buf, 0,
					    QREP_STORE_REPAIR, NULL));
}

/*
 * Term reconciliation (term.h): a rollback replaces a block of an older
 * epoch than the store's, even with a lower version or version 0, and
 * never one of the store's own epoch.
 */
TEST_F(store, rollback_replaces_only_older_epochs)
{
#define V(e, c) ((uint64_t)(e) << QREP_VERSION_EPOCH_SHIFT | (c))
	const unsigned int rb = QREP_STORE_REPAIR | QREP_STORE_ROLLBACK;
	static const struct {
		uint64_t block;
		uint32_t n;
		uint64_t version;
		unsigned int flags;
		uint8_t data;
		uint32_t ignored;
		uint64_t want[4];
		uint8_t holds[4];
	} rows[] = {
		/* 0: epoch 4 writes 30..33 at counter 9 (the orphans) */
		{ 30, 4, V(4, 9), 0, 0x11, 0, { V(4, 9), V(4, 9), V(4, 9),
		  V(4, 9) }, { 0x11, 0x11, 0x11, 0x11 } },
		/* 1: epoch 5 writes block 33 */
		{ 33, 1, V(5, 1), 0, 0x22, 0, { V(4, 9), V(4, 9), V(4, 9),
		  V(5, 1) }, { 0x11, 0x11, 0x11, 0x22 } },
		/* 2: an older version, REPAIR alone: never */
		{ 30, 1, V(4, 2), QREP_STORE_REPAIR, 0x33, 1, { V(4, 9),
		  V(4, 9), V(4, 9), V(5, 1) }, { 0x11, 0x11, 0x11, 0x22 } },
		/* 3: rolled back to V(4, 2); 33, of epoch 5, kept */
		{ 30, 4, V(4, 2), rb, 0x33, 1, { V(4, 2), V(4, 2), V(4, 2),
		  V(5, 1) }, { 0x33, 0x33, 0x33, 0x22 } },
		/* 4: rolled back to "never written": reads zeros */
		{ 31, 1, 0, rb, 0x44, 0, { V(4, 2), 0, V(4, 2), V(5, 1) },
		  { 0x33, 0, 0x33, 0x22 } },
		/* 5: ROLLBACK without REPAIR: the plain rule */
		{ 32, 1, V(4, 1), QREP_STORE_ROLLBACK, 0x55, 1, { V(4, 2), 0,
		  V(4, 2), V(5, 1) }, { 0x33, 0, 0x33, 0x22 } },
		/* 6: a newer version with ROLLBACK is a plain newer write */
		{ 32, 1, V(5, 3), rb, 0x66, 0, { V(4, 2), 0, V(5, 3),
		  V(5, 1) }, { 0x33, 0, 0x66, 0x22 } },
	};
	uint32_t ignored, i, k;
	char err[256];
	size_t r;

	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	ASSERT_EQ(0, qrep_store_set_epoch(self->s, 5));
	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		memset(self->buf, rows[r].data, (size_t)rows[r].n * BS);
		ignored = 99;
		ASSERT_EQ(0, qrep_store_write(self->s, rows[r].block,
					      rows[r].n, self->buf,
					      rows[r].version, rows[r].flags,
					      &ignored)) TH_LOG("row %zu", r);
		EXPECT_EQ(rows[r].ignored, ignored) TH_LOG("row %zu", r);
		ASSERT_EQ(0, qrep_store_read(self->s, 30, 4, self->buf,
					     self->versions, self->bad));
		for (k = 0; k < 4; k++) {
			const uint8_t *b = self->buf + (size_t)k * BS;

			EXPECT_EQ(rows[r].want[k], self->versions[k])
				TH_LOG("row %zu block %u", r, 30 + k);
			EXPECT_FALSE(self->bad[k]);
			for (i = 0; i < BS && b[i] == rows[r].holds[k]; i++)
				;
			EXPECT_EQ(BS, i) TH_LOG("row %zu block %u holds %#x",
						r, 30 + k, b[0]);
		}
	}
	/* Version 0 stays refused without ROLLBACK and REPAIR both. */
	EXPECT_EQ(-EINVAL, qrep_store_write(self->s, 40, 1, self->buf, 0,
					    QREP_STORE_ROLLBACK, NULL));
#undef V
}

/* A corrupt copy is made good by rewriting it at its own version. */
TEST_F(store, repair_fixes_a_corrupt_block)
{
	uint64_t data_offset;
	uint32_t ignored = 99;
	uint8_t byte;
	char err[256];

	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	data_offset = qrep_store_info(self->s)->data_offset;
	fill(self->buf, 70, 6);
	ASSERT_EQ(0, qrep_store_write(self->s, 70, 1, self->buf, 6, 0, NULL));
	ASSERT_EQ(0, read_file(self->path, data_offset + 70ULL * BS + 7,
			       &byte, 1));
	byte ^= 0x40;
	ASSERT_EQ(0, patch_file(self->path, data_offset + 70ULL * BS + 7,
				&byte, 1));
	EXPECT_EQ(1, qrep_store_read(self->s, 70, 1, self->buf,
				     self->versions, self->bad));

	/* Without REPAIR the same write changes nothing. */
	fill(self->buf, 70, 6);
	ASSERT_EQ(0, qrep_store_write(self->s, 70, 1, self->buf, 6, 0,
				      &ignored));
	EXPECT_EQ(1U, ignored);
	EXPECT_EQ(1, qrep_store_read(self->s, 70, 1, self->buf,
				     self->versions, self->bad));

	fill(self->buf, 70, 6);
	ASSERT_EQ(0, qrep_store_write(self->s, 70, 1, self->buf, 6,
				      QREP_STORE_REPAIR, &ignored));
	EXPECT_EQ(0U, ignored);
	EXPECT_EQ(0, qrep_store_read(self->s, 70, 1, self->buf,
				     self->versions, self->bad));
	EXPECT_EQ(6ULL, self->versions[0]);
	EXPECT_TRUE(is_fill(self->buf, 70, 6));
}

/*
 * FNV-1a, 64 bits, written out here rather than taken from the library:
 * offset basis and prime from the FNV specification, bytes fed one by
 * one.
 */
static uint64_t ref_fnv1a_bytes(uint64_t h, const uint8_t *p, size_t len)
{
	while (len--) {
		h ^= *p++;
		h *= 1099511628211ULL;		/* 2^40 + 2^8 + 0xb3 */
	}
	return h;
}

#define REF_FNV_BASIS	14695981039346656037ULL

/* The hash of the versions' big-endian bytes, most significant first. */
static uint64_t ref_summary(const uint64_t *versions, size_t n)
{
	uint64_t h = REF_FNV_BASIS;
	uint8_t be[8];
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < 8; k++)
			be[k] = (uint8_t)(versions[i] >> (56 - 8 * k));
		h = ref_fnv1a_bytes(h, be, sizeof(be));
	}
	/* Bit 0 says whether a block is torn: clear, none is. */
	return h & ~1ULL;
}

/*
 * qrep_store_region_summary against the reference: a store of two whole
 * regions and a third of 37 blocks, written at various versions.
 */
#define SUM_REGIONS	3
#define SUM_BLOCKS	(2 * QREP_REGION_BLOCKS + 37)

TEST_F(store, region_summary_is_fnv1a_of_be_versions)
{
	static uint64_t want[SUM_BLOCKS];
	uint64_t got[SUM_REGIONS], before[SUM_REGIONS], summary;
	uint32_t r, len;
	char err[256];
	uint64_t b;

	/* The reference itself, on the published test vectors. */
	ASSERT_EQ(0xcbf29ce484222325ULL, ref_fnv1a_bytes(REF_FNV_BASIS,
							 NULL, 0));
	ASSERT_EQ(0xaf63dc4c8601ec8cULL,
		  ref_fnv1a_bytes(REF_FNV_BASIS, (const uint8_t *)"a", 1));
	ASSERT_EQ(0x85944171f73967e8ULL,
		  ref_fnv1a_bytes(REF_FNV_BASIS, (const uint8_t *)"foobar",
				  6));
	ASSERT_EQ(REF_FNV_BASIS, QREP_FNV64_OFFSET);
	ASSERT_EQ(1099511628211ULL, QREP_FNV64_PRIME);

	ASSERT_EQ(0, make_store(self->path, (uint64_t)SUM_BLOCKS * BS));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));

	/* Empty: every region hashes zeros, the short one fewer of them. */
	for (r = 0; r < SUM_REGIONS; r++) {
		len = r < 2 ? QREP_REGION_BLOCKS : 37;
		ASSERT_EQ(0, qrep_store_region_summary(self->s,
				(uint64_t)r * QREP_REGION_BLOCKS, &summary));
		EXPECT_EQ(ref_summary(want, len), summary) TH_LOG("region %u",
								   r);
		before[r] = summary;
	}
	EXPECT_EQ(before[0], before[1]);
	EXPECT_NE(before[0], before[2]);

	/*
	 * Versions with high bytes set (byte order matters), a run, and
	 * the short region's first and last blocks.
	 */
	for (b = 3; b < 40; b++)
		want[b] = 7;
	want[0] = 0x0102030405060708ULL;
	want[255] = 0x8000000000000001ULL;
	want[256] = 2;
	want[2 * QREP_REGION_BLOCKS] = 11;
	want[SUM_BLOCKS - 1] = 0xff00000000000000ULL;
	for (b = 0; b < SUM_BLOCKS; b++) {
		if (!want[b])
			continue;
		fill(self->buf, b, want[b]);
		ASSERT_EQ(0, qrep_store_write(self->s, b, 1, self->buf,
					      want[b], 0, NULL));
	}
	for (r = 0; r < SUM_REGIONS; r++) {
		len = r < 2 ? QREP_REGION_BLOCKS : 37;
		ASSERT_EQ(0, qrep_store_region_summary(self->s,
				(uint64_t)r * QREP_REGION_BLOCKS, &got[r]));
		EXPECT_EQ(ref_summary(want + r * QREP_REGION_BLOCKS, len),
			  got[r]) TH_LOG("region %u", r);
		EXPECT_NE(before[r], got[r]) TH_LOG("region %u", r);
	}

	/* One block of region 1 moves on: only region 1's summary moves. */
	want[300] = 12;
	fill(self->buf, 300, 12);
	ASSERT_EQ(0, qrep_store_write(self->s, 300, 1, self->buf, 12, 0,
				      NULL));
	for (r = 0; r < SUM_REGIONS; r++) {
		ASSERT_EQ(0, qrep_store_region_summary(self->s,
				(uint64_t)r * QREP_REGION_BLOCKS, &summary));
		EXPECT_EQ(r == 1, got[r] != summary) TH_LOG("region %u", r);
		len = r < 2 ? QREP_REGION_BLOCKS : 37;
		EXPECT_EQ(ref_summary(want + r * QREP_REGION_BLOCKS, len),
			  summary) TH_LOG("region %u", r);
	}

	/* Same versions in another order hash differently. */
	EXPECT_NE(ref_summary((const uint64_t[]){ 1, 2 }, 2),
		  ref_summary((const uint64_t[]){ 2, 1 }, 2));

	/* Not a region's first block, or past the end. */
	summary = 42;
	EXPECT_EQ(-ERANGE, qrep_store_region_summary(self->s, 1, &summary));
	EXPECT_EQ(-ERANGE, qrep_store_region_summary(self->s, 255, &summary));
	EXPECT_EQ(-ERANGE, qrep_store_region_summary(self->s,
			3ULL * QREP_REGION_BLOCKS, &summary));
	EXPECT_EQ(-ERANGE, qrep_store_region_summary(self->s,
			UINT64_MAX - 255, &summary));
	EXPECT_EQ(42ULL, summary);
}

/*
 * qrep_store_read_checked: the recorded CRC32C of every written block, 0
 * for a never-written one, and after a byte of the data area is flipped,
 * that block flagged bad with its record's CRC unchanged.
 */
TEST_F(store, read_checked_reports_crcs_and_bad_blocks)
{
	uint32_t crcs[16], want_crc[16];
	uint64_t data_offset;
	uint8_t byte;
	char err[256];
	uint32_t i;

	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	/* Blocks 100..115: 102..109 written at 4, 112 at 9. */
	for (i = 0; i < 8; i++) {
		fill(self->buf + (size_t)i * BS, 102 + i, 4);
		want_crc[2 + i] = qrep_crc32c(0, self->buf + (size_t)i * BS,
					      BS);
	}
	ASSERT_EQ(0, qrep_store_write(self->s, 102, 8, self->buf, 4, 0,
				      NULL));
	fill(self->buf, 112, 9);
	want_crc[12] = qrep_crc32c(0, self->buf, BS);
	ASSERT_EQ(0, qrep_store_write(self->s, 112, 1, self->buf, 9, 0,
				      NULL));

	memset(crcs, 0xee, sizeof(crcs));
	memset(self->buf, 0xee, 16 * BS);
	ASSERT_EQ(0, qrep_store_read_checked(self->s, 100, 16, self->buf,
					     self->versions, crcs,
					     self->bad));
	for (i = 0; i < 16; i++) {
		bool written = (i >= 2 && i < 10) || i == 12;

		EXPECT_EQ(written ? (i == 12 ? 9ULL : 4ULL) : 0ULL,
			  self->versions[i]) TH_LOG("block %u", 100 + i);
		EXPECT_EQ(written ? want_crc[i] : 0U, crcs[i])
			TH_LOG("block %u", 100 + i);
		EXPECT_FALSE(self->bad[i]);
		EXPECT_TRUE(written ? is_fill(self->buf + (size_t)i * BS,
					      100 + i, self->versions[i]) :
				      is_zero(self->buf + (size_t)i * BS))
			TH_LOG("block %u", 100 + i);
	}

	/* Flip one byte of block 105's data, found from the layout. */
	data_offset = qrep_store_info(self->s)->data_offset;
	ASSERT_EQ(0, read_file(self->path, data_offset + 105ULL * BS + 4000,
			       &byte, 1));
	byte ^= 0x08;
	ASSERT_EQ(0, patch_file(self->path, data_offset + 105ULL * BS + 4000,
				&byte, 1));

	memset(crcs, 0xee, sizeof(crcs));
	EXPECT_EQ(1, qrep_store_read_checked(self->s, 100, 16, self->buf,
					     self->versions, crcs,
					     self->bad));
	for (i = 0; i < 16; i++) {
		bool written = (i >= 2 && i < 10) || i == 12;

		EXPECT_EQ(i == 5, self->bad[i]) TH_LOG("block %u", 100 + i);
		/* The record is untouched: its CRC is still the good one. */
		EXPECT_EQ(written ? want_crc[i] : 0U, crcs[i])
			TH_LOG("block %u", 100 + i);
	}
	EXPECT_EQ(4ULL, self->versions[5]);
	EXPECT_NE(want_crc[5], qrep_crc32c(0, self->buf + 5ULL * BS, BS));

	/* Optional outputs may be left out; the count still tells. */
	EXPECT_EQ(1, qrep_store_read_checked(self->s, 105, 1, self->buf,
					     self->versions, NULL, NULL));
	EXPECT_EQ(0, qrep_store_read_checked(self->s, 106, 4, self->buf,
					     self->versions, crcs, NULL));
	EXPECT_EQ(want_crc[6], crcs[0]);
	/* Same limits as qrep_store_read. */
	EXPECT_EQ(-ERANGE, qrep_store_read_checked(self->s, 255, 2, self->buf,
						   self->versions, crcs,
						   NULL));
	EXPECT_EQ(-EINVAL, qrep_store_read_checked(self->s, 0, 0, self->buf,
						   self->versions, crcs,
						   NULL));
	EXPECT_EQ(-EINVAL, qrep_store_read_checked(self->s, 0, 257,
						   self->buf, self->versions,
						   crcs, NULL));
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

/*
 * Torn writes (Documentation/store-format.rst, crash consistency): a
 * 64 MiB store has 16 write-intent regions of 1024 blocks, one bit each
 * in the header block from byte INTENT_AT.
 */
#define TORN_SIZE	(64U << 20)
#define TORN_REGIONS	16U
#define REGION		1024U
#define INTENT_AT	1024

/* Writes blocks [block, block + n) at version, filled as fill() does. */
static int write_filled(struct qrep_store *s, uint64_t block, uint32_t n,
			uint64_t version, unsigned int flags)
{
	static uint8_t b[8 * BS];
	uint32_t i;

	for (i = 0; i < n; i++)
		fill(b + (size_t)i * BS, block + i, version);
	return qrep_store_write(s, block, n, b, version, flags, NULL);
}

/* A child that opens the store, writes 5..7 at v20 and dies. */
static int crash_writing(const char *path)
{
	struct qrep_store *s;
	int status;

	if (fork() == 0) {
		if (qrep_store_open(path, 0, &s, NULL, 0) ||
		    write_filled(s, 5, 3, 20, 0))
			_exit(1);
		_exit(0);		/* no flush, no close */
	}
	if (wait(&status) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* A child that opens the store, joins it at @floor and dies uncleanly. */
static int crash_joining(const char *path, uint64_t floor)
{
	struct qrep_store *s;
	int status;

	if (fork() == 0) {
		if (qrep_store_open(path, 0, &s, NULL, 0) ||
		    qrep_store_join(s, floor))
			_exit(1);
		_exit(0);		/* no close */
	}
	if (wait(&status) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * A replacement (init with QREP_STORE_INIT_JOINING) has no vote: it
 * raises no epoch and takes no write, across closes and crashes, until
 * qrep_store_join() gives it a floor; that one header write is durable
 * on its own and clears the state for good. A plain init is not joining.
 */
TEST_F(store, joining_store_has_no_vote_until_joined)
{
	uint8_t u[QREP_UUID_SIZE];
	char err[256];

	ASSERT_EQ(0, make_store(self->path, SMALL_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	EXPECT_FALSE(qrep_store_info(self->s)->joining);
	EXPECT_FALSE(qrep_store_joining(self->s));
	ASSERT_EQ(0, qrep_store_close(self->s));

	memcpy(u, test_uuid, sizeof(u));
	ASSERT_EQ(0, qrep_store_init(self->path, SMALL_SIZE, u,
				     QREP_STORE_INIT_FORCE |
				     QREP_STORE_INIT_JOINING, err, sizeof(err)));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	EXPECT_TRUE(qrep_store_info(self->s)->joining);
	EXPECT_TRUE(qrep_store_joining(self->s));
	EXPECT_EQ(-EPERM, qrep_store_set_epoch(self->s, 5));
	EXPECT_EQ(0ULL, qrep_store_epoch(self->s));
	EXPECT_EQ(-EPERM, write_filled(self->s, 3, 1, 4, 0));
	EXPECT_EQ(-EPERM, write_filled(self->s, 3, 1, 4,
				       QREP_STORE_FUA | QREP_STORE_REPAIR));
	ASSERT_EQ(0, qrep_store_read(self->s, 3, 1, self->buf,
				     self->versions, NULL));
	EXPECT_EQ(0ULL, self->versions[0]);
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;

	/* Still joining after a clean close, and after a crash. */
	ASSERT_EQ(0, qrep_store_open(self->path, QREP_STORE_RDONLY, &self->s,
				     err, sizeof(err)));
	EXPECT_TRUE(qrep_store_info(self->s)->joining);
	ASSERT_EQ(0, qrep_store_close(self->s));
	ASSERT_EQ(0, crash_writing(self->path) == 1 ? 0 : -1);
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	EXPECT_TRUE(qrep_store_joining(self->s));
	EXPECT_EQ(-EPERM, qrep_store_set_epoch(self->s, 5));
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;

	/* Joined by a process that dies at once: durable. */
	ASSERT_EQ(0, crash_joining(self->path, 9));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	EXPECT_FALSE(qrep_store_info(self->s)->joining);
	EXPECT_FALSE(qrep_store_joining(self->s));
	EXPECT_EQ(9ULL, qrep_store_epoch(self->s));
	/* Now it votes and writes like any store; epochs still only grow. */
	EXPECT_EQ(0, qrep_store_set_epoch(self->s, 9));	/* no-op */
	EXPECT_EQ(0, qrep_store_set_epoch(self->s, 10));
	EXPECT_EQ(10ULL, qrep_store_epoch(self->s));
	EXPECT_EQ(0, write_filled(self->s, 3, 1, 4, 0));
	EXPECT_EQ(0, qrep_store_join(self->s, 2));	/* never lowers */
	EXPECT_EQ(10ULL, qrep_store_epoch(self->s));
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;
	ASSERT_EQ(0, qrep_store_open(self->path, QREP_STORE_RDONLY, &self->s,
				     err, sizeof(err)));
	EXPECT_FALSE(qrep_store_info(self->s)->joining);
	EXPECT_EQ(10ULL, qrep_store_epoch(self->s));
	EXPECT_EQ(-EROFS, qrep_store_join(self->s, 11));
}

/*
 * A power loss while rewriting blocks 5..7 from v10 to v20 (never
 * flushed): block 5 kept its new record but its old data, block 6 both
 * new, block 7 its new data under its old record. The unclean open finds
 * 5 and 7 torn and reports them as held at no version (read: checksum
 * error), keeps 6, and checks only the region written since the last
 * flush; a REPAIR write at a replica's version then restores each.
 */
TEST_F(store, torn_write_is_found_at_unclean_open_and_repaired)
{
	const struct qrep_store_info *info;
	uint8_t old_data[BS], old_rec[16];
	uint64_t max = 0, meta_off, data_off;
	char err[256];

	ASSERT_EQ(0, make_store(self->path, TORN_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	ASSERT_EQ(0, write_filled(self->s, 5, 3, 10, 0));
	ASSERT_EQ(0, write_filled(self->s, 5 * REGION, 1, 10, 0));
	info = qrep_store_info(self->s);
	meta_off = info->meta_offset;
	data_off = info->data_offset;
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;
	ASSERT_EQ(0, read_file(self->path, data_off + 5ULL * BS, old_data,
			       BS));
	ASSERT_EQ(0, read_file(self->path, meta_off + 7ULL * 16, old_rec,
			       16));

	ASSERT_EQ(0, crash_writing(self->path));
	ASSERT_EQ(0, patch_file(self->path, data_off + 5ULL * BS, old_data,
				BS));
	ASSERT_EQ(0, patch_file(self->path, meta_off + 7ULL * 16, old_rec,
				16));

	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err))) TH_LOG("%s", err);
	info = qrep_store_info(self->s);
	EXPECT_FALSE(info->clean);
	EXPECT_EQ(2ULL, info->torn_blocks);
	EXPECT_EQ(1ULL, info->regions_verified);
	EXPECT_LE(info->blocks_verified, (uint64_t)REGION);
	EXPECT_EQ(2, qrep_store_read(self->s, 5, 3, self->buf,
				     self->versions, self->bad));
	EXPECT_TRUE(self->bad[0]);
	EXPECT_FALSE(self->bad[1]);
	EXPECT_TRUE(self->bad[2]);
	EXPECT_EQ(0ULL, self->versions[0]);
	EXPECT_EQ(20ULL, self->versions[1]);
	EXPECT_EQ(0ULL, self->versions[2]);
	EXPECT_TRUE(is_fill(self->buf + BS, 6, 20));
	/* What VERSIONS and SUMMARY report: not held, any copy is newer. */
	EXPECT_EQ(0, qrep_store_read_meta(self->s, 5, 3, self->versions,
					  NULL));
	EXPECT_EQ(0ULL, self->versions[0]);
	EXPECT_EQ(20ULL, self->versions[1]);
	EXPECT_EQ(0ULL, self->versions[2]);
	/* New versions stay above the lost one. */
	EXPECT_EQ(0, qrep_store_max_version(self->s, &max));
	EXPECT_LE(20ULL, max);

	/* Repaired from replicas: block 5 from one at v10, 7 at v20. */
	ASSERT_EQ(0, write_filled(self->s, 5, 1, 10, QREP_STORE_REPAIR));
	ASSERT_EQ(0, write_filled(self->s, 7, 1, 20, QREP_STORE_REPAIR));
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;
	ASSERT_EQ(0, qrep_store_open(self->path, QREP_STORE_RDONLY, &self->s,
				     err, sizeof(err)));
	EXPECT_EQ(0, qrep_store_read(self->s, 5, 3, self->buf,
				     self->versions, self->bad));
	EXPECT_EQ(10ULL, self->versions[0]);
	EXPECT_EQ(20ULL, self->versions[1]);
	EXPECT_EQ(20ULL, self->versions[2]);
	EXPECT_TRUE(is_fill(self->buf, 5, 10));
	EXPECT_TRUE(is_fill(self->buf + 2 * BS, 7, 20));
}

/* A torn block stays reported until written, across clean closes. */
TEST_F(store, torn_block_stays_bad_until_written)
{
	static uint64_t want[QREP_REGION_BLOCKS];
	uint8_t old_data[BS];
	uint64_t at, sum;
	char err[256];

	ASSERT_EQ(0, make_store(self->path, TORN_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	ASSERT_EQ(0, write_filled(self->s, 5, 1, 10, QREP_STORE_FUA));
	at = qrep_store_info(self->s)->data_offset + 5ULL * BS;
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;
	ASSERT_EQ(0, read_file(self->path, at, old_data, BS));
	ASSERT_EQ(0, crash_writing(self->path));
	ASSERT_EQ(0, patch_file(self->path, at, old_data, BS));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	EXPECT_EQ(1ULL, qrep_store_info(self->s)->torn_blocks);
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;

	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	EXPECT_TRUE(qrep_store_info(self->s)->clean);
	EXPECT_EQ(0ULL, qrep_store_info(self->s)->regions_verified);
	EXPECT_EQ(1, qrep_store_read(self->s, 5, 1, self->buf,
				     self->versions, self->bad));
	EXPECT_TRUE(self->bad[0]);
	EXPECT_EQ(0ULL, self->versions[0]);
	/*
	 * Its region's SUMMARY says so (scenario 14): the torn flag set, and
	 * not the summary of the same versions with block 5 never written.
	 */
	memset(want, 0, sizeof(want));
	ASSERT_EQ(0, qrep_store_region_summary(self->s, 0, &sum));
	EXPECT_NE(ref_summary(want, QREP_REGION_BLOCKS), sum);
	want[5] = UINT64_MAX;
	want[6] = 20;			/* crash_writing's, whole */
	want[7] = 20;
	EXPECT_EQ(ref_summary(want, QREP_REGION_BLOCKS) | QREP_SUMMARY_TORN,
		  sum);
	/* Any real version replaces it, and the flag goes with it. */
	ASSERT_EQ(0, write_filled(self->s, 5, 1, 1, 0));
	EXPECT_EQ(0, qrep_store_read(self->s, 5, 1, self->buf,
				     self->versions, self->bad));
	EXPECT_EQ(1ULL, self->versions[0]);
	EXPECT_TRUE(is_fill(self->buf, 5, 1));
	ASSERT_EQ(0, qrep_store_region_summary(self->s, 0, &sum));
	EXPECT_EQ(0ULL, sum & QREP_SUMMARY_TORN);
}

/*
 * The bitmap's hysteresis, with room for one marked region: a region
 * written in every flush cycle costs one durable bit set, not one per
 * cycle; a newly written region pushes out the one written longest ago,
 * and an unclean open then checks only the region still marked. A clean
 * open checks nothing.
 */
TEST_F(store, intent_bitmap_marks_only_recent_regions)
{
	struct qrep_store *s;
	uint64_t sets = 0, clears = 0;
	uint8_t bits[2];
	char err[256];
	int status, i;

	ASSERT_EQ(0, make_store(self->path, TORN_SIZE));
	if (fork() == 0) {
		if (qrep_store_open(self->path, 0, &s, NULL, 0))
			_exit(10);
		qrep_store_set_intent_limit(s, 1);
		for (i = 0; i < 8; i++)
			if (write_filled(s, (uint64_t)i, 1, 1 + (uint64_t)i,
					 0) || qrep_store_flush(s))
				_exit(11);
		qrep_store_intent_stats(s, &sets, &clears);
		if (sets != 1 || clears != 0)
			_exit(12);
		for (i = 0; i < 4; i++)
			if (write_filled(s, 3 * REGION + (uint64_t)i, 1,
					 50 + (uint64_t)i, 0) ||
			    qrep_store_flush(s))
				_exit(13);
		qrep_store_intent_stats(s, &sets, &clears);
		if (sets != 2 || clears != 1)
			_exit(14);
		if (read_file(self->path, INTENT_AT, bits, sizeof(bits)) ||
		    bits[0] != 0x08 || bits[1])
			_exit(15);
		_exit(0);
	}
	ASSERT_LT(0, wait(&status));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err))) TH_LOG("%s", err);
	EXPECT_FALSE(qrep_store_info(self->s)->clean);
	EXPECT_EQ(1ULL, qrep_store_info(self->s)->regions_verified);
	EXPECT_EQ(0ULL, qrep_store_info(self->s)->torn_blocks);
	EXPECT_EQ(0, qrep_store_read(self->s, 7, 1, self->buf,
				     self->versions, self->bad));
	EXPECT_EQ(8ULL, self->versions[0]);
	EXPECT_EQ(0, qrep_store_read(self->s, 3 * REGION + 3, 1, self->buf,
				     self->versions, self->bad));
	EXPECT_EQ(53ULL, self->versions[0]);
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;
	ASSERT_EQ(0, read_file(self->path, INTENT_AT, bits, sizeof(bits)));
	EXPECT_EQ(0, bits[0] | bits[1]);

	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	EXPECT_TRUE(qrep_store_info(self->s)->clean);
	EXPECT_EQ(0ULL, qrep_store_info(self->s)->regions_verified);
	EXPECT_EQ(0ULL, qrep_store_info(self->s)->blocks_verified);
}

/* Rewrites both header slots as format 1 (no bitmap) and not clean. */
static int make_format1_unclean(const char *path)
{
	uint8_t slot[HDR_SLOT];
	int i, err;

	for (i = 0; i < 2; i++) {
		err = read_file(path, (uint64_t)i * HDR_SLOT, slot,
				sizeof(slot));
		if (err)
			return err;
		qrep_put_le32(slot + 8, 1);		/* format_version */
		qrep_put_le32(slot + 60, 0);		/* flags: not clean */
		qrep_put_le32(slot + 88, 0);		/* reserved in 1 */
		qrep_put_le32(slot + HDR_SLOT - 4,
			      qrep_crc32c(0, slot, HDR_SLOT - 4));
		err = patch_file(path, (uint64_t)i * HDR_SLOT, slot,
				 sizeof(slot));
		if (err)
			return err;
	}
	return 0;
}

/*
 * A format 1 store left unclean has no bitmap to say where to look: its
 * first writable open checks every written block, then upgrades it.
 */
TEST_F(store, format1_store_is_checked_whole_and_upgraded)
{
	uint64_t data_off;
	uint8_t byte;
	char err[256];

	ASSERT_EQ(0, make_store(self->path, TORN_SIZE));
	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err)));
	ASSERT_EQ(0, write_filled(self->s, 3, 1, 5, 0));
	ASSERT_EQ(0, write_filled(self->s, 11 * REGION + 7, 1, 5, 0));
	data_off = qrep_store_info(self->s)->data_offset;
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;
	ASSERT_EQ(0, read_file(self->path, data_off +
			       (11ULL * REGION + 7) * BS + 99, &byte, 1));
	byte ^= 0x10;
	ASSERT_EQ(0, patch_file(self->path, data_off +
				(11ULL * REGION + 7) * BS + 99, &byte, 1));
	ASSERT_EQ(0, make_format1_unclean(self->path));

	ASSERT_EQ(0, qrep_store_open(self->path, QREP_STORE_RDONLY, &self->s,
				     err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(1U, qrep_store_info(self->s)->format_version);
	EXPECT_EQ(0ULL, qrep_store_info(self->s)->regions_verified);
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;

	ASSERT_EQ(0, qrep_store_open(self->path, 0, &self->s, err,
				     sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ((uint64_t)TORN_REGIONS,
		  qrep_store_info(self->s)->regions_verified);
	EXPECT_EQ(1ULL, qrep_store_info(self->s)->torn_blocks);
	EXPECT_EQ((unsigned int)QREP_STORE_FORMAT_VERSION,
		  qrep_store_info(self->s)->format_version);
	ASSERT_EQ(0, qrep_store_close(self->s));
	self->s = NULL;
	ASSERT_EQ(0, qrep_store_open(self->path, QREP_STORE_RDONLY, &self->s,
				     err, sizeof(err)));
	EXPECT_EQ((unsigned int)QREP_STORE_FORMAT_VERSION,
		  qrep_store_info(self->s)->format_version);
	EXPECT_TRUE(qrep_store_info(self->s)->clean);
	EXPECT_EQ(1, qrep_store_read(self->s, 11 * REGION + 7, 1, self->buf,
				     self->versions, self->bad));
	EXPECT_EQ(0ULL, self->versions[0]);
	EXPECT_EQ(0, qrep_store_read(self->s, 3, 1, self->buf,
				     self->versions, self->bad));
	EXPECT_EQ(5ULL, self->versions[0]);
}

TEST_HARNESS_MAIN
