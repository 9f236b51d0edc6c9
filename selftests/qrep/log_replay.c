// SPDX-License-Identifier: GPL-2.0
/*
 * log_replay: reads a dm-log-writes log device and replays its writes onto
 * another device, for the crash-consistency test (log_writes.sh).
 *
 *   log_replay list --log LOG [--points]
 *   log_replay replay --log LOG --dev DEV [--from N]
 *                     (--to N | --to-mark TEXT | --to-point K | --to-end)
 *
 * The log (Documentation/admin-guide/device-mapper/log-writes.rst in the
 * kernel): a super block in the first sector (magic, version, number of
 * entries, the logged device's sector size S), then the entries one after
 * the other, each a header sector (sector, number of sectors, flags and
 * data length, little-endian 64-bit words; a mark's text follows those in
 * the same sector) and, for a write, its data: number of sectors * S
 * bytes. Sectors and lengths are in units of S. A write is logged only
 * once a FLUSH that followed its completion has completed (the writes go
 * in just before that FLUSH's entry), or at once if it was FUA: a prefix
 * of the log is what a disk that honours flushes may hold after a crash.
 *
 * list prints the entries, one a line:
 *   entry IDX FLAGS SECTOR SECTORS [mark TEXT]
 * FLAGS being "write" or a comma list of flush, fua, discard, mark,
 * metadata. With --points, only the crash points instead:
 *   point K entry IDX cut N
 * one per FLUSH or FUA entry (K from 1): replaying the first N entries
 * (replay --to N) gives what the disk holds just after that entry
 * completed. For a FLUSH that carries data and is not FUA, that data is
 * not part of it (N = IDX); otherwise N = IDX + 1.
 *
 * replay writes entries [from, to) onto DEV (from: default 0), so that a
 * caller can move a replay forward point by point: --to-mark TEXT up to
 * and including the first mark TEXT, --to-point K to point K's cut,
 * --to-end the whole log. A discard is replayed as zeros.
 *
 * Every byte of the log is untrusted: the super block, every header and
 * every length is checked against the log's size, the device's size and
 * the format before anything is written; an entry that does not fit is
 * an error naming it. Exit status: 0 done, 1 a bad log or a failed I/O,
 * 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>

#include "parse.h"

#define LW_MAGIC		0x6a736677736872ULL
#define LW_VERSION		1ULL
#define LW_FLUSH		(1ULL << 0)
#define LW_FUA			(1ULL << 1)
#define LW_DISCARD		(1ULL << 2)
#define LW_MARK			(1ULL << 3)
#define LW_METADATA		(1ULL << 4)
#define LW_KNOWN_FLAGS		(LW_FLUSH | LW_FUA | LW_DISCARD | LW_MARK | \
				 LW_METADATA)
/* The header's four 64-bit words; a mark's text follows them. */
#define LW_ENTRY_WORDS		4
#define LW_ENTRY_BYTES		(LW_ENTRY_WORDS * 8)
/* The sector sizes a block device may have. */
#define LW_SECTOR_MIN		512U
#define LW_SECTOR_MAX		65536U
/* Bytes copied per read/write while replaying one entry. */
#define LW_CHUNK		(1U << 20)

#define EXIT_BAD		1
#define EXIT_USAGE		2

struct lw_log {
	int fd;
	const char *path;
	uint64_t size;		/* bytes */
	uint32_t sectorsize;
	uint64_t nr_entries;
	uint64_t pos;		/* byte offset of the next entry's header */
	uint64_t next;		/* index of the next entry */
	uint8_t *hdr;		/* one sector */
};

struct lw_entry {
	uint64_t index;
	uint64_t sector;
	uint64_t nr_sectors;
	uint64_t flags;
	uint64_t data_len;
	uint64_t data_pos;	/* byte offset of its data in the log */
	uint64_t data_bytes;	/* bytes of data in the log (0: none) */
	char mark[LW_SECTOR_MAX];
};

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static int dev_size(int fd, const char *path, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st)) {
		fprintf(stderr, "log_replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size)) {
			fprintf(stderr, "log_replay: %s: BLKGETSIZE64: %s\n",
				path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "log_replay: %s: neither a file nor a block device\n",
			path);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Reads exactly len bytes at off; a short read is an error. */
static int read_at(int fd, const char *path, void *buf, size_t len,
		   uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (uint8_t *)buf + done, len - done,
			  (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "log_replay: reading %s at %" PRIu64 ": %s\n",
				path, off + done, strerror(errno));
			return -1;
		}
		if (n == 0) {
			fprintf(stderr, "log_replay: %s ends at %" PRIu64 "\n",
				path, off + done);
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

static int write_at(int fd, const char *path, const void *buf, size_t len,
		    uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(fd, (const uint8_t *)buf + done, len - done,
			   (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "log_replay: writing %s at %" PRIu64 ": %s\n",
				path, off + done, n ? strerror(errno) : "no progress");
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

static int log_open(struct lw_log *log, const char *path)
{
	uint8_t super[LW_SECTOR_MIN];
	uint64_t magic, version;

	memset(log, 0, sizeof(*log));
	log->path = path;
	log->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (log->fd < 0) {
		fprintf(stderr, "log_replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (dev_size(log->fd, path, &log->size))
		goto fail;
	if (log->size < LW_SECTOR_MIN) {
		fprintf(stderr, "log_replay: %s: %" PRIu64 " bytes, too small for a log's super block\n",
			path, log->size);
		goto fail;
	}
	if (read_at(log->fd, path, super, sizeof(super), 0))
		goto fail;
	magic = get_le64(super);
	version = get_le64(super + 8);
	log->nr_entries = get_le64(super + 16);
	log->sectorsize = get_le32(super + 24);
	if (magic != LW_MAGIC) {
		fprintf(stderr, "log_replay: %s: no dm-log-writes super block (magic %#" PRIx64 ", want %#llx)\n",
			path, magic, LW_MAGIC);
		goto fail;
	}
	if (version != LW_VERSION) {
		fprintf(stderr, "log_replay: %s: log format version %" PRIu64 ", only %llu is known\n",
			path, version, LW_VERSION);
		goto fail;
	}
	if (log->sectorsize < LW_SECTOR_MIN || log->sectorsize > LW_SECTOR_MAX ||
	    (log->sectorsize & (log->sectorsize - 1))) {
		fprintf(stderr, "log_replay: %s: sector size %u is not a power of two from %u to %u\n",
			path, log->sectorsize, LW_SECTOR_MIN, LW_SECTOR_MAX);
		goto fail;
	}
	/* Each entry takes a sector at least: a bound before any loop. */
	if (log->nr_entries > log->size / log->sectorsize - 1) {
		fprintf(stderr, "log_replay: %s: the super block claims %" PRIu64 " entries, more than a %" PRIu64 "-byte log can hold\n",
			path, log->nr_entries, log->size);
		goto fail;
	}
	log->hdr = malloc(log->sectorsize);
	if (!log->hdr) {
		fprintf(stderr, "log_replay: out of memory\n");
		goto fail;
	}
	log->pos = log->sectorsize;
	return 0;
fail:
	close(log->fd);
	log->fd = -1;
	return -1;
}

static void log_close(struct lw_log *log)
{
	if (log->fd >= 0)
		close(log->fd);
	free(log->hdr);
}

/* Reads and checks the next entry: 1 read, 0 no more, -1 a bad log. */
static int log_next(struct lw_log *log, struct lw_entry *e)
{
	uint64_t ss = log->sectorsize, rest, i;

	if (log->next >= log->nr_entries)
		return 0;
	e->index = log->next;
	if (log->pos > log->size || log->size - log->pos < ss) {
		fprintf(stderr, "log_replay: entry %" PRIu64 ": its header at byte %" PRIu64 " runs past the end of the log (%" PRIu64 " bytes)\n",
			e->index, log->pos, log->size);
		return -1;
	}
	if (read_at(log->fd, log->path, log->hdr, ss, log->pos))
		return -1;
	e->sector = get_le64(log->hdr);
	e->nr_sectors = get_le64(log->hdr + 8);
	e->flags = get_le64(log->hdr + 16);
	e->data_len = get_le64(log->hdr + 24);
	e->mark[0] = '\0';
	if (e->flags & ~LW_KNOWN_FLAGS) {
		fprintf(stderr, "log_replay: entry %" PRIu64 ": unknown flags %#" PRIx64 "\n",
			e->index, (uint64_t)(e->flags & ~LW_KNOWN_FLAGS));
		return -1;
	}
	if (e->flags & LW_MARK) {
		if (e->data_len > ss - LW_ENTRY_BYTES) {
			fprintf(stderr, "log_replay: entry %" PRIu64 ": a mark of %" PRIu64 " bytes does not fit its %" PRIu64 "-byte sector\n",
				e->index, e->data_len, ss);
			return -1;
		}
		if (e->nr_sectors) {
			fprintf(stderr, "log_replay: entry %" PRIu64 ": a mark that claims %" PRIu64 " sectors of data\n",
				e->index, e->nr_sectors);
			return -1;
		}
		/* Shown as one word: a space or unprintable byte is '?'. */
		for (i = 0; i < e->data_len; i++) {
			uint8_t c = log->hdr[LW_ENTRY_BYTES + i];

			e->mark[i] = c >= 0x21 && c < 0x7f ? (char)c : '?';
		}
		e->mark[e->data_len] = '\0';
	} else if (e->data_len) {
		/* Only marks carry private data in the format we know. */
		fprintf(stderr, "log_replay: entry %" PRIu64 ": %" PRIu64 " bytes of private data in an entry that is not a mark\n",
			e->index, e->data_len);
		return -1;
	}
	e->data_pos = log->pos + ss;
	rest = log->size - e->data_pos;
	if (e->flags & LW_DISCARD) {
		e->data_bytes = 0;
	} else {
		if (e->nr_sectors > rest / ss) {
			fprintf(stderr, "log_replay: entry %" PRIu64 ": %" PRIu64 " sectors of data at byte %" PRIu64 " run past the end of the log (%" PRIu64 " bytes)\n",
				e->index, e->nr_sectors, e->data_pos, log->size);
			return -1;
		}
		e->data_bytes = e->nr_sectors * ss;
	}
	log->pos = e->data_pos + e->data_bytes;
	log->next++;
	return 1;
}

static void flags_text(uint64_t flags, char *buf, size_t len)
{
	static const struct { uint64_t bit; const char *name; } names[] = {
		{ LW_FLUSH, "flush" }, { LW_FUA, "fua" },
		{ LW_DISCARD, "discard" }, { LW_MARK, "mark" },
		{ LW_METADATA, "metadata" },
	};
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].bit))
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "",
				      names[i].name);
		if (n >= len)
			break;
	}
	if (!n)
		snprintf(buf, len, "write");
}

/* The cut of a crash point at entry e, or 0 if e is not one. */
static uint64_t point_cut(const struct lw_entry *e)
{
	if (e->flags & LW_FUA)
		return e->index + 1;
	if (e->flags & LW_FLUSH)
		return e->data_bytes ? e->index : e->index + 1;
	return 0;
}

static int cmd_list(const char *path, bool points)
{
	struct lw_entry *e = malloc(sizeof(*e));
	uint64_t k = 0, cut;
	struct lw_log log;
	char flags[64];
	int ret = -1;

	if (!e || log_open(&log, path)) {
		free(e);
		return EXIT_BAD;
	}
	printf("log %s: %" PRIu64 " entries, sector size %u\n", path,
	       log.nr_entries, log.sectorsize);
	while ((ret = log_next(&log, e)) > 0) {
		if (points) {
			cut = point_cut(e);
			if (cut)
				printf("point %" PRIu64 " entry %" PRIu64 " cut %" PRIu64 "\n",
				       ++k, e->index, cut);
			continue;
		}
		flags_text(e->flags, flags, sizeof(flags));
		printf("entry %" PRIu64 " %s %" PRIu64 " %" PRIu64, e->index,
		       flags, e->sector, e->nr_sectors);
		if (e->flags & LW_MARK)
			printf(" mark %s", e->mark);
		printf("\n");
	}
	log_close(&log);
	free(e);
	return ret < 0 ? EXIT_BAD : 0;
}

/* Whether the sectors e writes lie outside the device (says so). */
static bool entry_outside(const struct lw_entry *e, uint64_t ss,
			  const char *dev_path, uint64_t dev_bytes)
{
	if (e->flags & LW_MARK || !e->nr_sectors)
		return false;
	if (e->sector <= dev_bytes / ss &&
	    e->nr_sectors <= dev_bytes / ss - e->sector)
		return false;
	fprintf(stderr, "log_replay: entry %" PRIu64 ": sectors %" PRIu64 "+%" PRIu64 " lie outside %s (%" PRIu64 " bytes)\n",
		e->index, e->sector, e->nr_sectors, dev_path, dev_bytes);
	return true;
}

/* Writes one entry's data (or zeros for a discard) onto the device. */
static int replay_entry(struct lw_log *log, const struct lw_entry *e,
			int dev, const char *dev_path, uint64_t dev_bytes,
			uint8_t *buf)
{
	uint64_t ss = log->sectorsize, off, len, done = 0;
	size_t n;

	if (e->flags & LW_MARK || !e->nr_sectors)
		return 0;
	if (entry_outside(e, ss, dev_path, dev_bytes))
		return -1;
	off = e->sector * ss;
	len = e->nr_sectors * ss;
	if (e->flags & LW_DISCARD)
		memset(buf, 0, LW_CHUNK);
	while (done < len) {
		n = len - done < LW_CHUNK ? (size_t)(len - done) : LW_CHUNK;
		if (!(e->flags & LW_DISCARD) &&
		    read_at(log->fd, log->path, buf, n, e->data_pos + done))
			return -1;
		if (write_at(dev, dev_path, buf, n, off + done))
			return -1;
		done += n;
	}
	return 0;
}

struct replay_opts {
	const char *log;
	const char *dev;
	uint64_t from;
	uint64_t to;
	const char *to_mark;
	uint64_t to_point;
	bool to_end;
	bool have_to;
};

/* Finds where the replay stops (the entry count) from the options. */
static int replay_end(const struct replay_opts *o, uint64_t *end)
{
	struct lw_entry *e = malloc(sizeof(*e));
	struct lw_log log;
	uint64_t k = 0, cut;
	int ret;

	if (!e || log_open(&log, o->log)) {
		free(e);
		return -1;
	}
	*end = log.nr_entries;
	if (o->have_to) {
		*end = o->to;
		ret = 1;
		if (o->to > log.nr_entries) {
			fprintf(stderr, "log_replay: --to %" PRIu64 ": the log has %" PRIu64 " entries\n",
				o->to, log.nr_entries);
			ret = -1;
		}
		goto out;
	}
	if (o->to_end) {
		ret = 1;
		goto out;
	}
	while ((ret = log_next(&log, e)) > 0) {
		if (o->to_mark && e->flags & LW_MARK &&
		    !strcmp(e->mark, o->to_mark)) {
			*end = e->index + 1;
			break;
		}
		cut = point_cut(e);
		if (o->to_point && cut && ++k == o->to_point) {
			*end = cut;
			break;
		}
	}
	if (ret == 0) {
		if (o->to_mark)
			fprintf(stderr, "log_replay: no mark '%s' in the log\n",
				o->to_mark);
		else
			fprintf(stderr, "log_replay: --to-point %" PRIu64 ": the log has %" PRIu64 " points\n",
				o->to_point, k);
		ret = -1;
	}
out:
	log_close(&log);
	free(e);
	return ret < 0 ? -1 : 0;
}

static int cmd_replay(const struct replay_opts *o)
{
	uint64_t end, dev_bytes, writes = 0, discards = 0, bytes = 0;
	struct lw_entry *e = malloc(sizeof(*e));
	uint8_t *buf = malloc(LW_CHUNK);
	struct lw_log log;
	int dev = -1, ret = -1;

	if (!e || !buf) {
		fprintf(stderr, "log_replay: out of memory\n");
		goto out_free;
	}
	if (replay_end(o, &end))
		goto out_free;
	if (o->from > end) {
		fprintf(stderr, "log_replay: --from %" PRIu64 " is past the end of the replay (%" PRIu64 ")\n",
			o->from, end);
		goto out_free;
	}
	if (log_open(&log, o->log))
		goto out_free;
	dev = open(o->dev, O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		fprintf(stderr, "log_replay: %s: %s\n", o->dev, strerror(errno));
		goto out_log;
	}
	if (dev_size(dev, o->dev, &dev_bytes))
		goto out_dev;
	/* Every entry up to end checked before anything is written. */
	while (log.next < end) {
		if (log_next(&log, e) <= 0 ||
		    entry_outside(e, log.sectorsize, o->dev, dev_bytes))
			goto out_dev;
	}
	log.next = 0;
	log.pos = log.sectorsize;
	/* Entries before from are read again, not written. */
	while (log.next < end) {
		if (log_next(&log, e) <= 0)
			goto out_dev;
		if (e->index < o->from)
			continue;
		if (replay_entry(&log, e, dev, o->dev, dev_bytes, buf))
			goto out_dev;
		if (e->flags & LW_MARK || !e->nr_sectors)
			continue;
		if (e->flags & LW_DISCARD)
			discards++;
		else
			writes++;
		bytes += e->nr_sectors * log.sectorsize;
	}
	if (fsync(dev)) {
		fprintf(stderr, "log_replay: fsync %s: %s\n", o->dev, strerror(errno));
		goto out_dev;
	}
	printf("replayed entries %" PRIu64 "-%" PRIu64 " of %" PRIu64 ": %" PRIu64 " writes, %" PRIu64 " discards, %" PRIu64 " bytes\n",
	       o->from, end, log.nr_entries, writes, discards, bytes);
	ret = 0;
out_dev:
	close(dev);
out_log:
	log_close(&log);
out_free:
	free(buf);
	free(e);
	return ret ? EXIT_BAD : 0;
}

static int usage(const char *why)
{
	if (why)
		fprintf(stderr, "log_replay: %s\n", why);
	fprintf(stderr,
		"usage: log_replay list --log LOG [--points]\n"
		"       log_replay replay --log LOG --dev DEV [--from N]\n"
		"                  (--to N | --to-mark TEXT | --to-point K | --to-end)\n");
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "log", required_argument, NULL, 'l' },
		{ "dev", required_argument, NULL, 'd' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "to-mark", required_argument, NULL, 'm' },
		{ "to-point", required_argument, NULL, 'p' },
		{ "to-end", no_argument, NULL, 'e' },
		{ "points", no_argument, NULL, 'P' },
		{ 0 }
	};
	struct replay_opts o = { 0 };
	bool points = false;
	const char *cmd;
	int c, ends;

	if (argc < 2)
		return usage(NULL);
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': o.log = optarg; break;
		case 'd': o.dev = optarg; break;
		case 'f':
			if (qrep_parse_u64(optarg, &o.from))
				return usage("--from wants an entry number");
			break;
		case 't':
			if (qrep_parse_u64(optarg, &o.to))
				return usage("--to wants an entry count");
			o.have_to = true;
			break;
		case 'm': o.to_mark = optarg; break;
		case 'p':
			if (qrep_parse_u64(optarg, &o.to_point) || !o.to_point)
				return usage("--to-point wants a point number from 1");
			break;
		case 'e': o.to_end = true; break;
		case 'P': points = true; break;
		default: return usage(NULL);
		}
	}
	if (optind != argc)
		return usage("unexpected arguments");
	if (!o.log)
		return usage("--log is required");
	if (!strcmp(cmd, "list"))
		return cmd_list(o.log, points);
	if (strcmp(cmd, "replay"))
		return usage("unknown command");
	if (!o.dev)
		return usage("replay needs --dev");
	ends = o.have_to + !!o.to_mark + !!o.to_point + o.to_end;
	if (ends != 1)
		return usage("replay needs exactly one of --to, --to-mark, --to-point, --to-end");
	return cmd_replay(&o);
}
