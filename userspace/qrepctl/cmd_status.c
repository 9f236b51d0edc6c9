// SPDX-License-Identifier: GPL-2.0
/*
 * qrepctl status: every device and its replicas, for people (a line per
 * device and per replica) or for programs (--json).
 */
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/genetlink.h>
#include <linux/qrep.h>
#include <linux/qrep_proto.h>

#include "cluster_status.h"
#include "parse.h"
#include "qrepctl.h"
#include "quorum.h"
#include "uuid.h"

struct status_ctx {
	bool json;
	unsigned int count;
};

/* Room for the quorum line or its JSON object (each well under it). */
#define QUORUM_TEXT_MAX	512

static const char *state_name(uint32_t state)
{
	switch (state) {
	case QREP_REPLICA_UPTODATE:
		return "up-to-date";
	case QREP_REPLICA_STALE:
		return "stale";
	case QREP_REPLICA_FAILED:
		return "failed";
	}
	return "unknown";
}

/* Strings from the kernel may hold anything a caller once put there. */
static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static uint64_t get_u64(const struct nlattr *a)
{
	return a ? mnl_attr_get_u64(a) : 0;
}

static uint32_t get_u32(const struct nlattr *a)
{
	return a ? mnl_attr_get_u32(a) : 0;
}

static const char *get_str(const struct nlattr *a)
{
	return a ? mnl_attr_get_str(a) : "";
}

/*
 * Resync progress: percent, rate and the time left at that rate; and
 * whether the replica is still unreconciled (no quorum reads, no resync
 * source until its resync finishes).
 */
static void print_resync(const struct nlattr **tb, bool json)
{
	uint64_t done = get_u64(tb[QREP_A_RESYNC_DONE_BYTES]);
	uint64_t total = get_u64(tb[QREP_A_RESYNC_TOTAL_BYTES]);
	uint64_t rate = get_u64(tb[QREP_A_RESYNC_RATE]);
	uint64_t eta = rate && total > done ? (total - done) / rate : 0;
	bool active = tb[QREP_A_RESYNC_ACTIVE];
	bool unreconciled = tb[QREP_A_REPLICA_UNRECONCILED];

	if (json) {
		printf(",\"dirty_regions\":%" PRIu64 ",\"history_unknown\":%s"
		       ",\"unreconciled\":%s"
		       ",\"resync\":{\"active\":%s,\"done_bytes\":%" PRIu64
		       ",\"total_bytes\":%" PRIu64 ",\"rate\":%" PRIu64
		       ",\"eta_seconds\":%" PRIu64 "}",
		       get_u64(tb[QREP_A_REPLICA_DIRTY_REGIONS]),
		       tb[QREP_A_REPLICA_HISTORY_UNKNOWN] ? "true" : "false",
		       unreconciled ? "true" : "false",
		       active ? "true" : "false", done, total, rate, eta);
		return;
	}
	if (unreconciled)
		printf("    unreconciled: rejoined a running device; serves no reads and is no resync source until its resync finishes\n");
	if (active)
		printf("    resyncing: %" PRIu64 "%% (%" PRIu64 " of %" PRIu64
		       " MiB of regions), %.1f MiB/s, ETA %" PRIu64 " s\n",
		       total ? done * 100 / total : 0, done >> 20, total >> 20,
		       rate / 1048576.0, eta);
	else if (get_u32(tb[QREP_A_REPLICA_STATE]) == QREP_REPLICA_STALE)
		printf("    needs resync: %" PRIu64 " regions marked%s\n",
		       get_u64(tb[QREP_A_REPLICA_DIRTY_REGIONS]),
		       tb[QREP_A_REPLICA_HISTORY_UNKNOWN] ?
		       " (history unknown: every region is compared)" : "");
}

static int print_replica(const struct nlattr *nest, bool json, bool first)
{
	const struct nlattr *tb[QREP_A_MAX + 1];

	if (qrep_genl_parse_nested(nest, tb) || !tb[QREP_A_REPLICA_ID])
		return -1;
	if (json) {
		printf("%s{\"id\":%" PRIu32 ",\"name\":", first ? "" : ",",
		       get_u32(tb[QREP_A_REPLICA_ID]));
		json_string(get_str(tb[QREP_A_REPLICA_NAME]));
		printf(",\"state\":\"%s\",\"inflight\":%" PRIu32 ",\"reads\":%" PRIu64
		       ",\"writes\":%" PRIu64 ",\"errors\":%" PRIu64
		       ",\"max_version\":%" PRIu64 ",\"last_error\":",
		       state_name(get_u32(tb[QREP_A_REPLICA_STATE])),
		       get_u32(tb[QREP_A_REPLICA_INFLIGHT]),
		       get_u64(tb[QREP_A_REPLICA_READS]),
		       get_u64(tb[QREP_A_REPLICA_WRITES]),
		       get_u64(tb[QREP_A_REPLICA_ERRORS]),
		       get_u64(tb[QREP_A_REPLICA_MAX_VERSION]));
		json_string(get_str(tb[QREP_A_REPLICA_LAST_ERROR]));
		print_resync(tb, true);
		printf("}");
		return 0;
	}
	printf("  replica %" PRIu32 " %-24s %-10s inflight %" PRIu32
	       " reads %" PRIu64 " writes %" PRIu64 " errors %" PRIu64
	       " version %" PRIu64 "\n",
	       get_u32(tb[QREP_A_REPLICA_ID]), get_str(tb[QREP_A_REPLICA_NAME]),
	       state_name(get_u32(tb[QREP_A_REPLICA_STATE])),
	       get_u32(tb[QREP_A_REPLICA_INFLIGHT]),
	       get_u64(tb[QREP_A_REPLICA_READS]),
	       get_u64(tb[QREP_A_REPLICA_WRITES]),
	       get_u64(tb[QREP_A_REPLICA_ERRORS]),
	       get_u64(tb[QREP_A_REPLICA_MAX_VERSION]));
	if (tb[QREP_A_REPLICA_LAST_ERROR])
		printf("    last error: %s\n", get_str(tb[QREP_A_REPLICA_LAST_ERROR]));
	print_resync(tb, false);
	return 0;
}

static int print_replicas(const struct nlmsghdr *nlh, bool json)
{
	const struct nlattr *attr;
	bool first = true;

	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(attr) != QREP_A_REPLICA)
			continue;
		if (print_replica(attr, json, first))
			return -1;
		first = false;
	}
	return 0;
}

static int print_dev(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[QREP_A_MAX + 1];
	struct status_ctx *ctx = data;
	char uuid[QREP_UUID_STR_LEN + 1] = "";
	char quorum[QUORUM_TEXT_MAX] = "";
	const char *name, *mode;
	uint32_t mode_nr;
	uint64_t size;

	if (qrep_genl_parse(nlh, tb) || !tb[QREP_A_DEV_NAME] ||
	    !tb[QREP_A_DEV_SIZE] || !tb[QREP_A_DEV_MODE] ||
	    !tb[QREP_A_DEV_INDEX])
		return MNL_CB_ERROR;
	name = mnl_attr_get_str(tb[QREP_A_DEV_NAME]);
	size = mnl_attr_get_u64(tb[QREP_A_DEV_SIZE]);
	mode_nr = mnl_attr_get_u32(tb[QREP_A_DEV_MODE]);
	mode = qrepctl_mode_name(mode_nr);
	if (tb[QREP_A_DEV_UUID])
		qrep_uuid_format(mnl_attr_get_payload(tb[QREP_A_DEV_UUID]), uuid);
	/* Mirror devices show exactly what they did before quorum mode. */
	if (mode_nr == QREP_MODE_QUORUM)
		qrep_quorum_status_format(tb, ctx->json, quorum, sizeof(quorum));

	if (ctx->json) {
		printf("%s{\"name\":", ctx->count ? "," : "");
		json_string(name);
		printf(",\"index\":%" PRIu32 ",\"size\":%" PRIu64
		       ",\"mode\":\"%s\",\"uuid\":\"%s\",\"role\":\"%s\""
		       ",\"epoch\":%" PRIu64
		       ",\"version\":%" PRIu64 ",\"io_timeout_ms\":%" PRIu32
		       ",\"live_replicas\":%" PRIu32 ",\"replicas\":[",
		       mnl_attr_get_u32(tb[QREP_A_DEV_INDEX]), size, mode, uuid,
		       qrepctl_role_name(tb[QREP_A_DEV_ROLE]),
		       get_u64(tb[QREP_A_DEV_EPOCH]), get_u64(tb[QREP_A_DEV_VERSION]),
		       get_u32(tb[QREP_A_DEV_IO_TIMEOUT_MS]),
		       get_u32(tb[QREP_A_DEV_LIVE_REPLICAS]));
		if (print_replicas(nlh, true))
			return MNL_CB_ERROR;
		printf("]");
		if (quorum[0])
			printf(",\"quorum\":%s", quorum);
		printf("}");
	} else {
		printf("%s: %" PRIu64 " bytes (%" PRIu64 " MiB), mode %s, uuid %s\n",
		       name, size, size >> 20, mode, uuid);
		if (tb[QREP_A_DEV_ROLE])
			printf("  role %s\n",
			       qrepctl_role_name(tb[QREP_A_DEV_ROLE]));
		if (tb[QREP_A_DEV_EPOCH])
			printf("  epoch %" PRIu64 ", version %" PRIu64
			       ", io-timeout %" PRIu32 " ms, %" PRIu32 " live replicas\n",
			       get_u64(tb[QREP_A_DEV_EPOCH]),
			       get_u64(tb[QREP_A_DEV_VERSION]),
			       get_u32(tb[QREP_A_DEV_IO_TIMEOUT_MS]),
			       get_u32(tb[QREP_A_DEV_LIVE_REPLICAS]));
		if (quorum[0])
			printf("  %s\n", quorum);
		if (print_replicas(nlh, false))
			return MNL_CB_ERROR;
	}
	ctx->count++;
	return MNL_CB_OK;
}

static uint64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Milliseconds since @then, 0 if the clocks disagree. */
static uint64_t age_ms(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static void print_cluster(const struct qrep_cluster_status *st, bool json,
			  bool first)
{
	uint64_t now = unix_ms();
	unsigned int i;

	if (json) {
		printf("%s{\"resource\":", first ? "" : ",");
		json_string(st->resource);
		printf(",\"device\":%" PRIu32 ",\"self\":%" PRIu32
		       ",\"pid\":%" PRIu32 ",\"updated_age_ms\":%" PRIu64
		       ",\"election\":", st->device, st->self, st->pid,
		       age_ms(now, st->updated_ms));
		json_string(st->election);
		printf(",\"device_role\":");
		json_string(st->device_role);
		printf(",\"primary\":%" PRIu32 ",\"epoch\":%" PRIu64
		       ",\"seen_epoch\":%" PRIu64 ",\"last_change\":",
		       st->primary, st->epoch, st->seen_epoch);
		json_string(st->last_change);
		printf(",\"nodes\":[");
		for (i = 0; i < st->nr_nodes; i++) {
			printf("%s{\"id\":%" PRIu32 ",\"address\":",
			       i ? "," : "", st->nodes[i].id);
			json_string(st->nodes[i].addr);
			printf(",\"self\":%s,\"heard_age_ms\":",
			       st->nodes[i].id == st->self ? "true" : "false");
			if (st->nodes[i].last_heard_ms)
				printf("%" PRIu64 "}", age_ms(now, st->nodes[i].last_heard_ms));
			else
				printf("null}");
		}
		printf("]}");
		return;
	}
	printf("cluster %s (/dev/qrep%" PRIu32 "): node %" PRIu32 ", %s, device %s\n",
	       st->resource, st->device, st->self, st->election,
	       st->device_role);
	if (st->primary)
		printf("  primary node %" PRIu32 ", epoch %" PRIu64
		       " (largest seen %" PRIu64 ")\n", st->primary, st->epoch,
		       st->seen_epoch);
	else
		printf("  no primary known, epoch %" PRIu64 " (largest seen %"
		       PRIu64 ")\n", st->epoch, st->seen_epoch);
	for (i = 0; i < st->nr_nodes; i++) {
		printf("  node %" PRIu32 " %-24s ", st->nodes[i].id,
		       st->nodes[i].addr);
		if (st->nodes[i].id == st->self)
			printf("this node\n");
		else if (st->nodes[i].last_heard_ms)
			printf("heard %.1f s ago\n",
			       age_ms(now, st->nodes[i].last_heard_ms) / 1000.0);
		else
			printf("not heard\n");
	}
	printf("  last change: %s\n", st->last_change);
	printf("  written %.1f s ago by qrepd[%" PRIu32 "]\n",
	       age_ms(now, st->updated_ms) / 1000.0, st->pid);
}

/*
 * The cluster views qrepd wrote (RUN_DIR/RESOURCE.cluster), of every
 * device or of device @index only. Files that are not status files, or
 * that vanish while we look, are skipped: qrepd rewrites them at will.
 */
static void print_clusters(bool json, bool one, uint32_t index)
{
	const char *dir = qrep_run_dir();
	struct qrep_cluster_status st;
	struct dirent **names;
	char path[4096];
	bool first = true;
	size_t len, slen = strlen(QREP_CLUSTER_STATUS_SUFFIX);
	int n, i;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return;
	for (i = 0; i < n; i++) {
		len = strlen(names[i]->d_name);
		if (len > slen &&
		    !strcmp(names[i]->d_name + len - slen,
			    QREP_CLUSTER_STATUS_SUFFIX) &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     names[i]->d_name) < sizeof(path) &&
		    !qrep_cluster_status_read(path, &st) &&
		    (!one || st.device == index)) {
			if (json && first)
				printf(",\"clusters\":[");
			print_cluster(&st, json, first);
			first = false;
		}
		free(names[i]);
	}
	free(names);
	if (json && !first)
		printf("]");
}

int qrepctl_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	struct status_ctx ctx = { 0 };
	struct qrep_genl g;
	struct nlmsghdr *nlh;
	uint64_t index = 0;
	bool one = false;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (opt != 'j') {
			qrepctl_usage_of("status");
			return QREPCTL_EXIT_USAGE;
		}
		ctx.json = true;
	}
	if (optind < argc) {
		if (optind + 1 != argc || qrep_parse_u64(argv[optind], &index) ||
		    index >= QREP_MAX_DEVICES) {
			qrepctl_usage_of("status");
			return QREPCTL_EXIT_USAGE;
		}
		one = true;
	}

	ret = qrepctl_genl_open(&g);
	if (ret)
		return ret;
	nlh = qrep_genl_request(&g, QREP_CMD_DEV_GET, one ? 0 : NLM_F_DUMP);
	if (one)
		mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, (uint32_t)index);
	if (ctx.json)
		printf("{\"devices\":[");
	ret = qrep_genl_talk(&g, nlh, print_dev, &ctx);
	if (ctx.json)
		printf("]");
	else if (!ret && !ctx.count)
		printf("no qrep devices\n");
	/* What qrepd's election says, where a cluster node runs one. */
	print_clusters(ctx.json, one, (uint32_t)index);
	if (ctx.json)
		printf("}\n");
	if (ret)
		ret = qrepctl_genl_fail(&g, "status", ret);
	qrep_genl_close(&g);
	return ret;
}
