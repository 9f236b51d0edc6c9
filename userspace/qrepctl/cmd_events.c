// SPDX-License-Identifier: GPL-2.0
/* qrepctl events: the kernel's event stream, one line per event. */
#include <inttypes.h>
#include <stdio.h>
#include <linux/qrep.h>

#include "qrepctl.h"
#include "quorum.h"

/* Room for "write=... read=...", with its NUL. */
#define QUORUM_FLAGS_TEXT_MAX	32

static const char *event_name(uint32_t event)
{
	switch (event) {
	case QREP_EVENT_DEV_CREATED:
		return "device-created";
	case QREP_EVENT_DEV_DESTROYED:
		return "device-destroyed";
	case QREP_EVENT_REPLICA_ADDED:
		return "replica-added";
	case QREP_EVENT_REPLICA_FAILED:
		return "replica-failed";
	case QREP_EVENT_REPLICA_REMOVED:
		return "replica-removed";
	case QREP_EVENT_DEV_NO_REPLICAS:
		return "no-replicas-left";
	case QREP_EVENT_REPLICA_STALE:
		return "replica-stale";
	case QREP_EVENT_RESYNC_STARTED:
		return "resync-started";
	case QREP_EVENT_RESYNC_PROGRESS:
		return "resync-progress";
	case QREP_EVENT_RESYNC_FINISHED:
		return "resync-finished";
	case QREP_EVENT_RESYNC_STOPPED:
		return "resync-stopped";
	case QREP_EVENT_QUORUM_LOST:
		return "quorum-lost";
	case QREP_EVENT_QUORUM_REGAINED:
		return "quorum-regained";
	case QREP_EVENT_DEV_ROLE:
		return "device-role";
	case QREP_EVENT_REPLICA_FENCED:
		return "replica-fenced";
	}
	return "unknown";
}

static bool device_event(uint32_t event)
{
	return event == QREP_EVENT_DEV_CREATED ||
	       event == QREP_EVENT_DEV_DESTROYED ||
	       event == QREP_EVENT_DEV_NO_REPLICAS ||
	       event == QREP_EVENT_QUORUM_LOST ||
	       event == QREP_EVENT_QUORUM_REGAINED ||
	       event == QREP_EVENT_DEV_ROLE;
}

/* A replica event carries the replica as one nested QREP_A_REPLICA. */
static void print_replica(const struct nlattr *nest, uint32_t event)
{
	const struct nlattr *tb[QREP_A_MAX + 1];
	uint64_t done, total;

	if (qrep_genl_parse_nested(nest, tb))
		return;
	if (tb[QREP_A_REPLICA_ID])
		printf(" replica=%" PRIu32, mnl_attr_get_u32(tb[QREP_A_REPLICA_ID]));
	if (tb[QREP_A_REPLICA_NAME])
		printf(" name=%s", mnl_attr_get_str(tb[QREP_A_REPLICA_NAME]));
	if (event >= QREP_EVENT_RESYNC_STARTED && event <= QREP_EVENT_RESYNC_STOPPED &&
	    tb[QREP_A_RESYNC_DONE_BYTES] && tb[QREP_A_RESYNC_TOTAL_BYTES]) {
		done = mnl_attr_get_u64(tb[QREP_A_RESYNC_DONE_BYTES]);
		total = mnl_attr_get_u64(tb[QREP_A_RESYNC_TOTAL_BYTES]);
		printf(" done=%" PRIu64 "%%", total ? done * 100 / total : 0);
	} else if (tb[QREP_A_REPLICA_LAST_ERROR]) {
		printf(" reason=\"%s\"", mnl_attr_get_str(tb[QREP_A_REPLICA_LAST_ERROR]));
	}
	if (event == QREP_EVENT_REPLICA_FENCED &&
	    tb[QREP_A_REPLICA_FENCED_EPOCH])
		printf(" fenced_epoch=%" PRIu64,
		       mnl_attr_get_u64(tb[QREP_A_REPLICA_FENCED_EPOCH]));
}

static int print_event(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[QREP_A_MAX + 1];
	char flags[QUORUM_FLAGS_TEXT_MAX];
	uint32_t event;

	(void)data;
	if (qrep_genl_parse(nlh, tb) || !tb[QREP_A_EVENT] ||
	    !tb[QREP_A_EVENT_SEQ])
		return MNL_CB_OK;	/* not an event we understand */
	event = mnl_attr_get_u32(tb[QREP_A_EVENT]);
	printf("seq=%" PRIu64 " event=%s", mnl_attr_get_u64(tb[QREP_A_EVENT_SEQ]),
	       event_name(event));
	if (tb[QREP_A_DEV_NAME])
		printf(" device=%s", mnl_attr_get_str(tb[QREP_A_DEV_NAME]));
	/* Which quorums are reachable now, after the change: "?" if not sent. */
	if (event == QREP_EVENT_QUORUM_LOST || event == QREP_EVENT_QUORUM_REGAINED) {
		qrep_quorum_flags_format(tb[QREP_A_DEV_QUORUM_FLAGS], flags,
					 sizeof(flags));
		printf(" %s", flags);
		if (tb[QREP_A_DEV_HELD])
			printf(" held=%" PRIu32,
			       mnl_attr_get_u32(tb[QREP_A_DEV_HELD]));
	}
	if (event == QREP_EVENT_DEV_ROLE) {
		printf(" role=%s", qrepctl_role_name(tb[QREP_A_DEV_ROLE]));
		if (tb[QREP_A_DEV_EPOCH])
			printf(" epoch=%" PRIu64,
			       mnl_attr_get_u64(tb[QREP_A_DEV_EPOCH]));
	}
	/* Device events carry the whole device: no one replica is meant. */
	if (tb[QREP_A_REPLICA] && !device_event(event))
		print_replica(tb[QREP_A_REPLICA], event);
	printf("\n");
	fflush(stdout);
	return MNL_CB_OK;
}

int qrepctl_events(int argc, char **argv)
{
	struct qrep_genl g;
	int ret;

	(void)argv;
	if (argc != 1) {
		qrepctl_usage_of("events");
		return QREPCTL_EXIT_USAGE;
	}
	ret = qrepctl_genl_open(&g);
	if (ret)
		return ret;
	ret = qrep_genl_subscribe(&g);
	while (!ret)
		ret = qrep_genl_recv_events(&g, print_event, NULL);
	ret = qrepctl_genl_fail(&g, "events", ret);
	qrep_genl_close(&g);
	return ret;
}
