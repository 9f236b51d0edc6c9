// SPDX-License-Identifier: GPL-2.0
/*
 * qrepctl: the operator's tool for qrep. One file per command; this file
 * only dispatches.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/qrep.h>

#include "cli.h"
#include "qrepctl.h"

static const struct qrep_cli_command commands[] = {
	{ "up", qrepctl_up, "[-c FILE] [--no-resync] [--force] RESOURCE",
	  "connect to the replicas and create the device; --no-resync: leave stale replicas stale; --force: even for a cluster resource (node lines), fencing its elected primary" },
	{ "down", qrepctl_down, "[-c FILE] RESOURCE",
	  "remove the resource's device (refused while it is open)" },
	{ "reconnect", qrepctl_reconnect, "[-c FILE] [--no-resync] RESOURCE REPLICA",
	  "hand a fresh connection to a failed replica and resync it (--no-resync: don't)" },
	{ "resync", qrepctl_resync, "[-c FILE] RESOURCE",
	  "copy to each stale replica what it lacks, online, with progress" },
	{ "verify", qrepctl_verify, "[-c FILE] [--repair] RESOURCE",
	  "compare every block's checksum across replicas; --repair fixes bad copies" },
	{ "create", qrepctl_create, "--size SIZE [--index N] [--uuid UUID]",
	  "create /dev/qrepN (no replicas: I/O fails until they are added)" },
	{ "destroy", qrepctl_destroy, "N",
	  "remove /dev/qrepN (refused while it is open)" },
	{ "status", qrepctl_status, "[N] [--json]",
	  "show devices and their replicas" },
	{ "events", qrepctl_events, "",
	  "print the kernel's events, one line each, until interrupted" },
};

#define NR_COMMANDS	(sizeof(commands) / sizeof(commands[0]))

void qrepctl_usage_of(const char *name)
{
	qrep_cli_usage_of("qrepctl", commands, NR_COMMANDS, name);
}

int qrepctl_genl_open(struct qrep_genl *g)
{
	int ret = qrep_genl_open(g);

	if (ret) {
		fprintf(stderr, "qrepctl: %s\n",
			g->error[0] ? g->error : strerror(-ret));
		return QREPCTL_EXIT_FAIL;
	}
	return 0;
}

int qrepctl_genl_fail(struct qrep_genl *g, const char *what, int err)
{
	if (err == -EPERM)
		fprintf(stderr, "qrepctl: %s: permission denied (needs CAP_NET_ADMIN)\n",
			what);
	else if (g->error[0])
		fprintf(stderr, "qrepctl: %s: %s (%s)\n", what, g->error,
			strerror(-err));
	else
		fprintf(stderr, "qrepctl: %s: %s\n", what, strerror(-err));
	return QREPCTL_EXIT_FAIL;
}

const char *qrepctl_mode_name(uint32_t mode)
{
	switch (mode) {
	case QREP_MODE_MIRROR:
		return "mirror";
	case QREP_MODE_QUORUM:
		return "quorum";
	}
	return "unknown";
}

const char *qrepctl_role_name(const struct nlattr *role)
{
	if (!role)
		return "primary";
	switch (mnl_attr_get_u32(role)) {
	case QREP_ROLE_PRIMARY:
		return "primary";
	case QREP_ROLE_SECONDARY:
		return "secondary";
	}
	return "unknown";
}

int main(int argc, char **argv)
{
	return qrep_cli_main("qrepctl", commands, NR_COMMANDS, argc, argv);
}
