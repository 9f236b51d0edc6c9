// SPDX-License-Identifier: GPL-2.0
/*
 * Opening a replica store whose header and metadata come from outside
 * (lib/store_header.c, lib/store.c), then using it.
 *
 * Input: one control byte, then the first bytes of the store file (the
 * header block, then the metadata area); the rest of the file is a hole.
 * The file is a memfd. Control bits, so that the fuzzer reaches past the
 * checksums and size checks as well as into them:
 *   0x01, 0x02  recompute slot 0's, slot 1's CRC32C
 *   0x04        make the file exactly as long as the size in the slot
 *               chosen by 0x10 implies (when that is at most 64 MiB)
 *   0x08        with 0x04: also set that slot's offsets to match its size
 *   0x10        slot 1 instead of slot 0 for 0x04 and 0x08
 *   0x20        open read-only
 * Layout and offsets: Documentation/store-format.rst.
 *
 * Invariants:
 *  - open refuses with a message, or accepts a store whose layout follows
 *    from its size and fills the file exactly;
 *  - every block reads back with the version its record holds, zeros if
 *    version 0, and a checksum verdict only for written blocks and those
 *    whose record is marked torn (found so at an unclean open); after
 *    an unclean close (the header does not vouch for it) max_version is
 *    at least every block's version;
 *  - read-only, nothing in the file changes;
 *  - writable: a write above max_version applies and reads back, the
 *    epoch can be raised, close succeeds, and the store opens again
 *    cleanly with what was written.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "crc32c.h"
#include "fuzz.h"
#include "store.h"

#define BS		QREP_BLOCK_SIZE
#define SLOT_BYTES	512
#define HO_SIZE		32
#define HO_META_OFFSET	40
#define HO_DATA_OFFSET	48
#define HO_CRC		(SLOT_BYTES - 4)
#define REC_BYTES	16
/* Largest device 0x04 sizes the file for: 16384 blocks. */
#define FUZZ_MAX_SIZE	(64ULL << 20)
/* Blocks read back at most, in requests of READ_CHUNK. */
#define READ_MAX	2048
#define READ_CHUNK	64

#define CTRL_CRC0	0x01
#define CTRL_CRC1	0x02
#define CTRL_SIZE	0x04
#define CTRL_OFFSETS	0x08
#define CTRL_SLOT1	0x10
#define CTRL_RDONLY	0x20

static uint64_t layout_data_offset(uint64_t size)
{
	uint64_t meta = size / BS * REC_BYTES;

	return BS + ((meta + BS - 1) & ~(uint64_t)(BS - 1));
}

/* Applies the control bits to the image; returns the file's length. */
static uint64_t prepare(uint8_t *img, size_t len, uint8_t ctrl)
{
	uint8_t *slot = img + (ctrl & CTRL_SLOT1 ? SLOT_BYTES : 0);
	uint64_t file_len = len, size;
	int i;

	if ((ctrl & CTRL_SIZE) && len >= 2 * SLOT_BYTES) {
		size = qrep_get_le64(slot + HO_SIZE);
		if (size && size % BS == 0 && size <= FUZZ_MAX_SIZE) {
			file_len = layout_data_offset(size) + size;
			if (ctrl & CTRL_OFFSETS) {
				qrep_put_le64(slot + HO_META_OFFSET, BS);
				qrep_put_le64(slot + HO_DATA_OFFSET,
					      layout_data_offset(size));
			}
		}
	}
	for (i = 0; i < 2; i++) {
		if (!(ctrl & (CTRL_CRC0 << i)) ||
		    len < (size_t)(i + 1) * SLOT_BYTES)
			continue;
		slot = img + i * SLOT_BYTES;
		qrep_put_le32(slot + HO_CRC, qrep_crc32c(0, slot, HO_CRC));
	}
	return file_len;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Whether block's record carries the TORN flag (record bytes 12..15). */
static bool record_torn(int fd, const struct qrep_store_info *info,
			uint64_t block)
{
	uint8_t flags[4];

	FUZZ_ASSERT(pread(fd, flags, sizeof(flags), (off_t)(info->meta_offset +
			  block * REC_BYTES + 12)) == (ssize_t)sizeof(flags));
	return qrep_get_le32(flags) & 0x1;
}

/* Reads back (part of) the store; returns the highest version seen. */
static uint64_t read_back(struct qrep_store *s, int fd, uint8_t *data)
{
	const struct qrep_store_info *info = qrep_store_info(s);
	uint64_t versions[READ_CHUNK], meta_versions[READ_CHUNK];
	uint64_t pos = 0, next, end, max = 0;
	uint32_t crcs[READ_CHUNK], n, i;
	bool crc_bad[READ_CHUNK];
	int bad, nbad;

	end = info->nblocks < READ_MAX ? info->nblocks : READ_MAX;
	while (pos < end) {
		FUZZ_ASSERT(qrep_store_next_meta_data(s, pos, &next) == 0);
		FUZZ_ASSERT(next >= pos && next <= info->nblocks);
		if (next >= end)
			break;
		n = end - next < READ_CHUNK ? (uint32_t)(end - next) :
		    READ_CHUNK;
		FUZZ_ASSERT(qrep_store_read_meta(s, next, n, meta_versions,
						 crcs) == 0);
		bad = qrep_store_read(s, next, n, data, versions, crc_bad);
		FUZZ_ASSERT(bad >= 0 && (uint32_t)bad <= n);
		nbad = 0;
		for (i = 0; i < n; i++) {
			FUZZ_ASSERT(versions[i] == meta_versions[i]);
			if (!versions[i]) {
				FUZZ_ASSERT(crc_bad[i] ==
					    record_torn(fd, info, next + i));
				FUZZ_ASSERT(all_zero(data + (size_t)i * BS,
						     BS));
			}
			nbad += crc_bad[i];
			if (versions[i] > max)
				max = versions[i];
		}
		FUZZ_ASSERT(nbad == bad);
		pos = next + n;
	}
	/* Out of range is refused, never read. */
	FUZZ_ASSERT(qrep_store_read(s, info->nblocks, 1, data, versions,
				    NULL) == -ERANGE);
	FUZZ_ASSERT(qrep_store_read(s, 0, 0, data, versions, NULL) ==
		    -EINVAL);
	return max;
}

/* Writes block b at version v and reads it back. */
static void write_back(struct qrep_store *s, uint64_t b, uint64_t v,
		       uint8_t *data)
{
	uint64_t version;
	uint32_t ignored = 99;
	bool crc_bad;

	memset(data, (int)(b & 0xff) ^ 0x5a, BS);
	FUZZ_ASSERT(qrep_store_write(s, b, 1, data, v, QREP_STORE_FUA,
				     &ignored) == 0);
	FUZZ_ASSERT(ignored == 0);
	memset(data, 0, BS);
	FUZZ_ASSERT(qrep_store_read(s, b, 1, data, &version, &crc_bad) == 0);
	FUZZ_ASSERT(version == v && !crc_bad);
	FUZZ_ASSERT(data[0] == (uint8_t)((b & 0xff) ^ 0x5a));
}

static void use_store(struct qrep_store *s, int fd, bool rdonly,
		      uint64_t file_len, uint8_t *data)
{
	const struct qrep_store_info *info = qrep_store_info(s);
	uint64_t max, seen, epoch, v, first, last;

	FUZZ_ASSERT(info->block_size == BS);
	FUZZ_ASSERT(info->size && info->size % BS == 0 &&
		    info->size <= QREP_STORE_MAX_SIZE);
	FUZZ_ASSERT(info->nblocks == info->size / BS);
	FUZZ_ASSERT(info->meta_offset == BS);
	FUZZ_ASSERT(info->data_offset == layout_data_offset(info->size));
	FUZZ_ASSERT(info->store_bytes == info->data_offset + info->size);
	FUZZ_ASSERT(info->store_bytes == file_len);
	FUZZ_ASSERT(info->epoch == qrep_store_epoch(s));

	FUZZ_ASSERT(qrep_store_max_version(s, &max) == 0);
	seen = read_back(s, fd, data);
	if (!info->clean)
		FUZZ_ASSERT(seen <= max);
	if (rdonly) {
		FUZZ_ASSERT(qrep_store_write(s, 0, 1, data, 1, 0, NULL) ==
			    -EROFS);
		FUZZ_ASSERT(qrep_store_set_epoch(s, info->epoch + 1) ==
			    -EROFS);
		return;
	}

	/*
	 * Above every version the store holds, so it applies. A clean
	 * header's max_version is taken on trust: look at the two blocks'
	 * own records as well.
	 */
	v = max > seen ? max : seen;
	FUZZ_ASSERT(qrep_store_read_meta(s, 0, 1, &first, NULL) == 0);
	FUZZ_ASSERT(qrep_store_read_meta(s, info->nblocks - 1, 1, &last,
					 NULL) == 0);
	v = v > first ? v : first;
	v = v > last ? v : last;
	v = v < UINT64_MAX ? v + 1 : 0;
	if (v) {
		write_back(s, 0, v, data);
		if (info->nblocks > 1)
			write_back(s, info->nblocks - 1, v, data);
		FUZZ_ASSERT(qrep_store_max_version(s, &max) == 0 && max >= v);
	}
	epoch = qrep_store_epoch(s);
	if (epoch < UINT64_MAX) {
		FUZZ_ASSERT(qrep_store_set_epoch(s, epoch + 1) == 0);
		FUZZ_ASSERT(qrep_store_epoch(s) == epoch + 1);
		epoch++;
	}
	FUZZ_ASSERT(qrep_store_set_epoch(s, 0) == 0);
	FUZZ_ASSERT(qrep_store_epoch(s) == epoch);
	FUZZ_ASSERT(qrep_store_flush(s) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t ctrl = fuzz_u8(&in), *img, *blocks, *after;
	struct qrep_store *s, *again;
	char path[64], err[512];
	uint64_t file_len, epoch, max, max2;
	size_t kept;
	bool rdonly = ctrl & CTRL_RDONLY;
	int fd, ret;

	img = malloc(in.left + 1);
	blocks = malloc((size_t)READ_CHUNK * BS);
	FUZZ_ASSERT(img && blocks);
	memcpy(img, in.p, in.left);
	file_len = prepare(img, in.left, ctrl);

	fd = fuzz_memfd("fuzz-store", path, sizeof(path));
	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(pwrite(fd, img, in.left, 0) == (ssize_t)in.left);
	FUZZ_ASSERT(ftruncate(fd, (off_t)file_len) == 0);

	err[0] = '\0';
	ret = qrep_store_open(path, rdonly ? QREP_STORE_RDONLY :
			      QREP_STORE_EXCL, &s, err, sizeof(err));
	if (ret) {
		FUZZ_ASSERT(ret < 0 && err[0]);
		goto out;
	}
	use_store(s, fd, rdonly, file_len, blocks);
	epoch = qrep_store_epoch(s);
	FUZZ_ASSERT(qrep_store_max_version(s, &max) == 0);
	FUZZ_ASSERT(qrep_store_close(s) == 0);

	if (rdonly) {
		/* Nothing written: the file is as it was. */
		kept = in.left < file_len ? in.left : file_len;
		after = malloc(kept + 1);
		FUZZ_ASSERT(after);
		FUZZ_ASSERT(pread(fd, after, kept, 0) == (ssize_t)kept);
		FUZZ_ASSERT(!memcmp(after, img, kept));
		free(after);
		goto out;
	}
	/* Closed cleanly, it opens cleanly with what it held. */
	ret = qrep_store_open(path, QREP_STORE_RDONLY, &again, err,
			      sizeof(err));
	FUZZ_ASSERT(ret == 0);
	FUZZ_ASSERT(qrep_store_info(again)->clean);
	FUZZ_ASSERT(qrep_store_epoch(again) == epoch);
	FUZZ_ASSERT(qrep_store_max_version(again, &max2) == 0 && max2 == max);
	FUZZ_ASSERT(qrep_store_close(again) == 0);
out:
	close(fd);
	free(img);
	free(blocks);
	return 0;
}
