// SPDX-License-Identifier: GPL-2.0
/*
 * qrepd: the per-node helper of a resource.
 *
 * Without --node it keeps the resource's replicas whole, on the node
 * where its device is up (qrepctl up): it gives a failed replica a new
 * connection as soon as its target answers again, and resyncs every
 * stale replica (one that came back, or one a read found a corrupt block
 * on). It acts on the kernel's events, and looks again every
 * reconnect-interval in case it missed one.
 *
 * With --node ID (a cluster resource, with node lines) it is that node of
 * the cluster: it runs the election with the other nodes and makes the
 * device primary or secondary as it decides (cluster.c), and keeps the
 * replicas while primary.
 *
 * Usage: qrepd [-c FILE] [--node ID [--status-file PATH]] [RESOURCE];
 * runs in the foreground, logs to stderr, stops on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/qrep.h>

#include "cluster.h"
#include "config.h"
#include "genl.h"
#include "log.h"
#include "parse.h"
#include "replica_add.h"
#include "resync_driver.h"
#include "view.h"

#define QREPD_EXIT_FAIL		1
#define QREPD_EXIT_USAGE	2

struct qrepd {
	struct qrep_config cfg;
	uint32_t node;			/* --node: cluster mode; 0 if not */
	const char *status_file;	/* --status-file, or NULL */
	struct qrep_genl ctl;		/* commands */
	struct qrep_genl events;	/* the events group */
	uint64_t next_try_ms[QREP_MAX_REPLICAS];
	bool device_seen;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void usage(void)
{
	fprintf(stderr, "usage: qrepd [-c FILE] [--node ID [--status-file PATH]] [RESOURCE]\n"
		"  keeps the resource's replicas connected and up to date;\n"
		"  with --node, is node ID of a cluster resource: elects the primary\n");
}

static int load_config(int argc, char **argv, struct qrepd *d)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "node", required_argument, NULL, 'n' },
		{ "status-file", required_argument, NULL, 's' },
		{ 0 }
	};
	struct qrep_config *cfg = &d->cfg;
	const char *file = NULL, *dir;
	char path[4096], err[512];
	uint64_t id;
	int opt;

	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			file = optarg;
			break;
		case 'n':
			if (qrep_parse_uint(optarg, 1, UINT32_MAX, &id)) {
				fprintf(stderr, "qrepd: --node takes a node id (1 to %u), not '%s'\n",
					UINT32_MAX, optarg);
				return QREPD_EXIT_USAGE;
			}
			d->node = (uint32_t)id;
			break;
		case 's':
			d->status_file = optarg;
			break;
		default:
			usage();
			return QREPD_EXIT_USAGE;
		}
	}
	if (d->status_file && !d->node) {
		usage();
		return QREPD_EXIT_USAGE;
	}
	if (argc - optind > 1 || (!file && argc - optind != 1)) {
		usage();
		return QREPD_EXIT_USAGE;
	}
	if (!file) {
		dir = getenv("QREP_CONFIG_DIR");
		snprintf(path, sizeof(path), "%s/%s.conf",
			 dir ? dir : QREP_CONFIG_DIR, argv[optind]);
		file = path;
	}
	if (qrep_config_load(file, cfg, err, sizeof(err))) {
		qrep_err("%s", err);
		return QREPD_EXIT_FAIL;
	}
	if (argc - optind == 1 && strcmp(argv[optind], cfg->name) != 0) {
		qrep_err("%s describes resource '%s', not '%s'", file,
			 cfg->name, argv[optind]);
		return QREPD_EXIT_FAIL;
	}
	return 0;
}

/* A new connection for failed replica @i, if its target answers. */
static void reconnect(struct qrepd *d, unsigned int i)
{
	const struct qrep_config_replica *r = &d->cfg.replicas[i];
	struct qrep_hello_reply_msg hello;
	char err[256];
	int fd, ret;

	if (now_ms() < d->next_try_ms[i])
		return;
	d->next_try_ms[i] = now_ms() + d->cfg.reconnect_interval_ms;
	fd = qrep_replica_connect(&d->cfg, i, &hello, err, sizeof(err));
	if (fd < 0) {
		qrep_dbg("replica %s: %s", r->name, err);
		return;
	}
	ret = qrep_replica_hand_over(&d->ctl, &d->cfg, i, fd,
				     hello.max_version, false);
	close(fd);
	if (ret)
		qrep_warn("replica %s: reconnect refused: %s", r->name,
			  d->ctl.error[0] ? d->ctl.error : strerror(-ret));
	else
		qrep_info("replica %s reconnected", r->name);
}

/* Looks at the device and does what its replicas need. */
static void reconcile(struct qrepd *d)
{
	struct qrep_view view;
	unsigned int i;

	if (qrep_view_load(&d->ctl, d->cfg.device, &view)) {
		if (d->device_seen)
			qrep_info("/dev/qrep%u is gone; waiting for it",
				  d->cfg.device);
		d->device_seen = false;
		return;
	}
	if (!d->device_seen)
		qrep_info("watching /dev/qrep%u of resource %s",
			  d->cfg.device, d->cfg.name);
	d->device_seen = true;
	for (i = 0; i < d->cfg.nr_replicas; i++)
		if (view.replicas[i].present &&
		    view.replicas[i].state == QREP_REPLICA_FAILED)
			reconnect(d, i);
	if (qrep_view_load(&d->ctl, d->cfg.device, &view))
		return;
	for (i = 0; i < d->cfg.nr_replicas; i++) {
		if (!view.replicas[i].present ||
		    view.replicas[i].state != QREP_REPLICA_STALE)
			continue;
		qrep_info("replica %s is stale: resyncing it",
			  d->cfg.replicas[i].name);
		if (qrep_resync_stale(&d->ctl, &d->cfg, (int)i) == 0)
			qrep_info("replica %s is up to date",
				  d->cfg.replicas[i].name);
	}
}

/* Events only wake us up: reconcile() reads the state itself. */
static int drain_event(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static int signal_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static int run(struct qrepd *d)
{
	struct pollfd pfd[2];
	int sfd, ret;

	sfd = signal_fd();
	if (sfd < 0) {
		qrep_err("signalfd: %s", strerror(errno));
		return QREPD_EXIT_FAIL;
	}
	pfd[0].fd = mnl_socket_get_fd(d->events.nl);
	pfd[0].events = POLLIN;
	pfd[1].fd = sfd;
	pfd[1].events = POLLIN;
	for (;;) {
		reconcile(d);
		ret = poll(pfd, 2, (int)d->cfg.reconnect_interval_ms);
		if (ret < 0 && errno != EINTR) {
			qrep_err("poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents) {
			qrep_info("stopping");
			break;
		}
		/* A lost event (ENOBUFS) is harmless: we look anyway. */
		if (pfd[0].revents)
			qrep_genl_recv_events(&d->events, drain_event, NULL);
	}
	close(sfd);
	return 0;
}

int main(int argc, char **argv)
{
	struct qrepd d = { 0 };
	int ret;

	qrep_log_init("qrepd");
	ret = load_config(argc, argv, &d);
	if (ret)
		return ret;
	if (d.node) {
		if (!d.cfg.nr_nodes) {
			qrep_err("resource %s has no node lines: --node needs a cluster resource",
				 d.cfg.name);
			return QREPD_EXIT_FAIL;
		}
		return qrepd_cluster_run(&d.cfg, d.node, d.status_file);
	}
	if (d.cfg.nr_nodes)
		qrep_warn("resource %s is a cluster resource: without --node, qrepd only tends the replicas of a device made by hand",
			  d.cfg.name);
	if (qrep_genl_open(&d.ctl) || qrep_genl_open(&d.events) ||
	    qrep_genl_subscribe(&d.events)) {
		qrep_err("qrep netlink family: %s (is qrep.ko loaded?)",
			 d.ctl.error[0] ? d.ctl.error : d.events.error);
		return QREPD_EXIT_FAIL;
	}
	ret = run(&d);
	qrep_genl_close(&d.events);
	qrep_genl_close(&d.ctl);
	return ret;
}
