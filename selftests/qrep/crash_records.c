// SPDX-License-Identifier: GPL-2.0
/*
 * crash_records: self-checking records written through a qrep device and
 * checked in a store replayed to a crash point (log_writes.sh).
 *
 *   crash_records write --dev DEV --stride S --from I --count K --round R
 *   crash_records check --store PATH --stride S --records N --rounds R
 *                       --required FILE --final FILE
 *                       [--prev FILE] [--save FILE]
 *
 * Record slot I lives in block I * S of the device (a stride that spreads
 * the records over many write-intent regions); round R of it is a block
 * whose first line names the slot, its block and R and whose other bytes
 * are a stream seeded by (slot, round), so that a torn, stale or
 * misplaced block shows.
 *
 * write writes rounds R of slots I .. I+K-1, each with its own O_DIRECT
 * write, then one fsync (a FLUSH through the device): exit 0 means all K
 * are acknowledged as durable.
 *
 * check opens the store the way qrep-target does at start (writable, so
 * an unclean last close makes it check and reset torn blocks), then reads
 * every slot. The required FILE has lines "SLOT ROUND": that round of the
 * slot (or a later one) was acknowledged before this crash point, so it
 * must read back whole. The final FILE is "qrep-store versions --written"
 * of the store after the whole run: the version the last round of each
 * slot got. A slot must hold either nothing (version 0) or an intact
 * record of some round with a version that fits: the final version for
 * the last round, a lower one for an earlier round. With --prev, no
 * slot's version may be lower than at the previous crash point (a
 * durable write never goes away); --save writes this point's versions
 * for the next. Prints one line per problem and a summary; exit 0 if
 * there was none, 1 if there was, 2 on bad usage or a store that does
 * not open.
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

#include "log.h"
#include "parse.h"
#include "store.h"

#define REC_BLOCK		QREP_BLOCK_SIZE
/* The first line of a record: slot, block and round, space padded. */
#define REC_HEAD_BYTES		64
/* The most slots a check takes (bounds the tables read from files). */
#define REC_MAX_SLOTS		65536U
#define REC_MAX_ROUNDS		1000U

#define EXIT_PROBLEM		1
#define EXIT_TROUBLE		2

struct opts {
	const char *dev;
	const char *store;
	const char *required;
	const char *final;
	const char *prev;
	const char *save;
	uint64_t stride;
	uint64_t from;
	uint64_t count;
	uint64_t round;
	uint64_t records;
	uint64_t rounds;
};

static void rec_fill(uint8_t *buf, uint64_t slot, uint64_t block,
		     uint64_t round)
{
	uint64_t x = (slot + 1) * 0x9e3779b97f4a7c15ULL ^ (round + 1) * 0xbf58476d1ce4e5b9ULL;
	size_t i;

	memset(buf, ' ', REC_HEAD_BYTES);
	snprintf((char *)buf, REC_HEAD_BYTES, "crash-record slot %08" PRIu64 " block %010" PRIu64 " round %04" PRIu64,
		 slot, block, round);
	buf[strlen((char *)buf)] = ' ';
	buf[REC_HEAD_BYTES - 1] = '\n';
	for (i = REC_HEAD_BYTES; i < REC_BLOCK; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
}

/* The round of the record in buf if it is an intact record of slot, else 0. */
static uint64_t rec_round(const uint8_t *buf, uint64_t slot, uint64_t block,
			  uint64_t rounds, uint8_t *want)
{
	uint64_t r;

	for (r = 1; r <= rounds; r++) {
		rec_fill(want, slot, block, r);
		if (!memcmp(buf, want, REC_BLOCK))
			return r;
	}
	return 0;
}

static int cmd_write(const struct opts *o)
{
	uint8_t *buf;
	uint64_t i;
	int fd, ret = EXIT_PROBLEM;

	if (posix_memalign((void **)&buf, REC_BLOCK, REC_BLOCK)) {
		qrep_err("out of memory");
		return EXIT_TROUBLE;
	}
	fd = open(o->dev, O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		qrep_err("%s: %s", o->dev, strerror(errno));
		free(buf);
		return EXIT_TROUBLE;
	}
	for (i = o->from; i < o->from + o->count; i++) {
		uint64_t block = i * o->stride;

		rec_fill(buf, i, block, o->round);
		if (pwrite(fd, buf, REC_BLOCK, (off_t)(block * REC_BLOCK)) != REC_BLOCK) {
			qrep_err("writing slot %" PRIu64 " (block %" PRIu64 "): %s",
				 i, block, strerror(errno));
			goto out;
		}
	}
	if (fsync(fd)) {
		qrep_err("fsync %s: %s", o->dev, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	close(fd);
	free(buf);
	return ret;
}

/*
 * Reads "A B ..." lines of FILE: table[A] = B for every A < n (a bigger
 * A, or a line that does not parse, is an error). keep_max: the largest
 * B for an A wins. by_stride: A is a block, stored at A / stride if it
 * is a slot's block.
 */
static int read_table(const char *path, uint64_t *table, uint64_t n,
		      uint64_t stride, bool by_stride)
{
	unsigned long long a, b;
	char line[256];
	unsigned int lineno = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		qrep_err("%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (sscanf(line, "%llu %llu", &a, &b) != 2) {
			qrep_err("%s:%u: not 'NUMBER NUMBER ...'", path, lineno);
			fclose(f);
			return -1;
		}
		if (by_stride) {
			if (a % stride)
				continue;
			a /= stride;
			if (a >= n)
				continue;
		} else if (a >= n) {
			qrep_err("%s:%u: slot %llu, only %" PRIu64 " exist", path,
				 lineno, a, n);
			fclose(f);
			return -1;
		}
		if (b > table[a])
			table[a] = b;
	}
	fclose(f);
	return 0;
}

struct check_counts {
	uint64_t held;		/* slots holding an intact record */
	uint64_t required;	/* slots whose record was acknowledged */
	uint64_t empty;
	uint64_t torn;		/* not required, and not held */
	uint64_t problems;
};

static void check_slot(const struct opts *o, uint64_t slot, const uint8_t *buf,
		       uint64_t version, bool crc_bad, uint64_t need,
		       uint64_t final, uint64_t prev, uint8_t *want,
		       struct check_counts *c)
{
	uint64_t block = slot * o->stride, r;

	if (need)
		c->required++;
	if (crc_bad) {
		c->torn++;
		if (need) {
			printf("slot %" PRIu64 " (block %" PRIu64 "): round %" PRIu64 " was acknowledged, the block fails its checksum\n",
			       slot, block, need);
			c->problems++;
		}
		return;
	}
	if (!version) {
		c->empty++;
		if (need) {
			printf("slot %" PRIu64 " (block %" PRIu64 "): round %" PRIu64 " was acknowledged, the store holds nothing\n",
			       slot, block, need);
			c->problems++;
		}
		return;
	}
	r = rec_round(buf, slot, block, o->rounds, want);
	if (!r) {
		printf("slot %" PRIu64 " (block %" PRIu64 "): version %" PRIu64 ", and not an intact record of this slot\n",
		       slot, block, version);
		c->problems++;
		return;
	}
	c->held++;
	if (r < need) {
		printf("slot %" PRIu64 " (block %" PRIu64 "): holds round %" PRIu64 ", round %" PRIu64 " was acknowledged\n",
		       slot, block, r, need);
		c->problems++;
	}
	if (r == o->rounds ? version != final : version >= final) {
		printf("slot %" PRIu64 " (block %" PRIu64 "): round %" PRIu64 " at version %" PRIu64 ", the last round's version is %" PRIu64 "\n",
		       slot, block, r, version, final);
		c->problems++;
	}
	if (version < prev) {
		printf("slot %" PRIu64 " (block %" PRIu64 "): version %" PRIu64 ", it was %" PRIu64 " at the previous crash point\n",
		       slot, block, version, prev);
		c->problems++;
	}
}

static int cmd_check(const struct opts *o)
{
	uint64_t *need, *final, *prev, *seen, slot, version;
	const struct qrep_store_info *info;
	struct check_counts c = { 0 };
	uint8_t *buf = NULL, *want = NULL;
	struct qrep_store *s = NULL;
	int ret = EXIT_TROUBLE, n;
	char err[512];
	bool crc_bad;
	FILE *f;

	need = calloc(o->records, sizeof(*need));
	final = calloc(o->records, sizeof(*final));
	prev = calloc(o->records, sizeof(*prev));
	seen = calloc(o->records, sizeof(*seen));
	buf = malloc(REC_BLOCK);
	want = malloc(REC_BLOCK);
	if (!need || !final || !prev || !seen || !buf || !want) {
		qrep_err("out of memory");
		goto out;
	}
	if (read_table(o->required, need, o->records, 1, false) ||
	    read_table(o->final, final, o->records, o->stride, true) ||
	    (o->prev && read_table(o->prev, prev, o->records, 1, false)))
		goto out;
	/* As qrep-target serve opens it. */
	if (qrep_store_open(o->store, QREP_STORE_EXCL, &s, err, sizeof(err))) {
		printf("the store does not open: %s\n", err);
		goto out;
	}
	info = qrep_store_info(s);
	printf("store opened: last close %s; %" PRIu64 " regions, %" PRIu64 " blocks checked, %" PRIu64 " torn\n",
	       info->clean ? "clean" : "unclean", info->regions_verified,
	       info->blocks_verified, info->torn_blocks);
	if ((o->records - 1) * o->stride >= info->nblocks) {
		qrep_err("slot %" PRIu64 " lies outside the store's %" PRIu64 " blocks",
			 o->records - 1, info->nblocks);
		goto out;
	}
	for (slot = 0; slot < o->records; slot++) {
		n = qrep_store_read(s, slot * o->stride, 1, buf, &version,
				    &crc_bad);
		if (n < 0) {
			qrep_err("reading slot %" PRIu64 ": %s", slot, strerror(-n));
			goto out;
		}
		check_slot(o, slot, buf, version, crc_bad, need[slot],
			   final[slot], prev[slot], want, &c);
		seen[slot] = crc_bad ? 0 : version;
	}
	printf("records: %" PRIu64 " slots read, %" PRIu64 " acknowledged ones required, %" PRIu64 " hold a record, %" PRIu64 " empty, %" PRIu64 " torn; %" PRIu64 " problems\n",
	       o->records, c.required, c.held, c.empty, c.torn, c.problems);
	if (o->save) {
		f = fopen(o->save, "w");
		if (!f) {
			qrep_err("%s: %s", o->save, strerror(errno));
			goto out;
		}
		/* A version never drops: keep the highest seen so far. */
		for (slot = 0; slot < o->records; slot++)
			fprintf(f, "%" PRIu64 " %" PRIu64 "\n", slot,
				seen[slot] > prev[slot] ? seen[slot] : prev[slot]);
		if (fclose(f)) {
			qrep_err("%s: %s", o->save, strerror(errno));
			goto out;
		}
	}
	ret = c.problems ? EXIT_PROBLEM : 0;
out:
	if (s && qrep_store_close(s)) {
		qrep_err("closing the store failed");
		ret = EXIT_TROUBLE;
	}
	free(need);
	free(final);
	free(prev);
	free(seen);
	free(buf);
	free(want);
	return ret;
}

static int usage(const char *why)
{
	if (why)
		fprintf(stderr, "crash_records: %s\n", why);
	fprintf(stderr,
		"usage: crash_records write --dev DEV --stride S --from I --count K --round R\n"
		"       crash_records check --store PATH --stride S --records N --rounds R\n"
		"                     --required FILE --final FILE [--prev FILE] [--save FILE]\n");
	return EXIT_TROUBLE;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "store", required_argument, NULL, 's' },
		{ "stride", required_argument, NULL, 'S' },
		{ "from", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'c' },
		{ "round", required_argument, NULL, 'r' },
		{ "records", required_argument, NULL, 'n' },
		{ "rounds", required_argument, NULL, 'R' },
		{ "required", required_argument, NULL, 'q' },
		{ "final", required_argument, NULL, 'F' },
		{ "prev", required_argument, NULL, 'p' },
		{ "save", required_argument, NULL, 'w' },
		{ 0 }
	};
	struct opts o = { 0 };
	uint64_t *num;
	const char *cmd;
	int c;

	qrep_log_init("crash_records");
	if (argc < 2)
		return usage(NULL);
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		num = NULL;
		switch (c) {
		case 'd': o.dev = optarg; break;
		case 's': o.store = optarg; break;
		case 'S': num = &o.stride; break;
		case 'f': num = &o.from; break;
		case 'c': num = &o.count; break;
		case 'r': num = &o.round; break;
		case 'n': num = &o.records; break;
		case 'R': num = &o.rounds; break;
		case 'q': o.required = optarg; break;
		case 'F': o.final = optarg; break;
		case 'p': o.prev = optarg; break;
		case 'w': o.save = optarg; break;
		default: return usage(NULL);
		}
		if (num && qrep_parse_u64(optarg, num))
			return usage("a number option wants a decimal number");
	}
	if (optind != argc)
		return usage("unexpected arguments");
	if (!o.stride || o.stride > QREP_STORE_MAX_SIZE / REC_BLOCK)
		return usage("--stride wants a number from 1");
	if (!strcmp(cmd, "write")) {
		if (!o.dev || !o.count || !o.round || o.round > REC_MAX_ROUNDS ||
		    o.from > REC_MAX_SLOTS || o.count > REC_MAX_SLOTS - o.from)
			return usage("write needs --dev, --count, --round (1..1000) and slots below 65536");
		return cmd_write(&o);
	}
	if (strcmp(cmd, "check"))
		return usage("unknown command");
	if (!o.store || !o.required || !o.final || !o.records ||
	    o.records > REC_MAX_SLOTS || !o.rounds || o.rounds > REC_MAX_ROUNDS)
		return usage("check needs --store, --required, --final, --records (1..65536) and --rounds (1..1000)");
	return cmd_check(&o);
}
