// SPDX-License-Identifier: GPL-2.0
/*
 * qrepctl up / down / reconnect: bring a resource's device up over its
 * replicas, take it down, hand a fresh connection to one replica.
 *
 * Connections are made and checked here, in user space (connect, then the
 * handshake that checks the device UUID and size, and proves the
 * resource's secret both ways when it has a secret-file), and only then
 * handed to qrep.ko, which never sees the handshake. "up" connects to every replica before it creates anything,
 * and undoes the device if a later step fails: a resource is up whole or
 * not at all. In mirror mode every replica must answer; in quorum mode a
 * write quorum of them is enough (the device is correct without the
 * others, which come back with "reconnect"). In both modes the device
 * takes an epoch newer than any its targets have seen, and reserves it
 * at them first (EPOCH_PROPOSE): every later request of a device that
 * wrote there before is refused, so a manual takeover fences the old
 * primary (Documentation/durability.rst, scenario 6).
 *
 * Before the device exists, the replicas are compared region by region
 * (uptodate.h): one that lacks a version another holds is added stale,
 * whatever its highest version. In mirror mode, if every replica lacks
 * something, the one that lacks least is filled from the others first.
 *
 * "up" of a device that exists as a secondary (a demoted primary, which
 * keeps nothing of its term) makes it primary at the reserved epoch
 * instead of creating it, with its replicas judged as above.
 *
 * --no-resync (up, reconnect) leaves stale replicas stale: for tests
 * that need one to stay behind, and for an operator who wants to choose
 * when the copy runs ("qrepctl resync").
 *
 * "up" refuses a cluster resource (node lines), whose device qrepd makes
 * on the node it elects: the command a DRBD user types by habit would
 * otherwise fence the elected primary. --force takes over anyway.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <linux/qrep.h>
#include <linux/qrep_quorum.h>

#include "device.h"
#include "qrepctl.h"
#include "quorum.h"
#include "replica_add.h"
#include "resync_driver.h"
#include "uptodate.h"
#include "view.h"

/* lib/uptodate.c's sentences, in qrepctl's voice. */
static void note_stderr(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "qrepctl: %s\n", msg);
}

/* The resource's secret, if it has one (*out NULL if not); 0 or an exit code. */
static int load_secret(const struct qrep_config *cfg,
		       struct qrep_secret *secret,
		       const struct qrep_secret **out)
{
	char err[512];

	if (qrep_secret_load_optional(cfg->secret_file, secret, out, err,
				      sizeof(err))) {
		fprintf(stderr, "qrepctl: %s\n", err);
		return QREPCTL_EXIT_FAIL;
	}
	return 0;
}

static int connect_replica(const struct qrep_config *cfg, unsigned int i,
			   uint64_t epoch, const struct qrep_secret *secret,
			   struct qrep_replica_conn *conn)
{
	const struct qrep_config_replica *r = &cfg->replicas[i];
	char err[256];

	if (qrep_replica_open(cfg, i, epoch, secret, conn, err, sizeof(err))) {
		fprintf(stderr, "qrepctl: replica %s (%s): %s\n", r->name,
			r->addr, err);
		return -1;
	}
	return 0;
}

static int add_replica(struct qrep_genl *g, const struct qrep_config *cfg,
		       unsigned int i, const struct qrep_replica_conn *conn)
{
	int ret = qrep_replica_hand_over(g, cfg, i, conn->fd,
					 conn->hello.max_version, conn->stale);

	if (ret) {
		fprintf(stderr, "qrepctl: replica %s: ", cfg->replicas[i].name);
		return qrepctl_genl_fail(g, "add", ret);
	}
	return 0;
}

static int create_device(struct qrep_genl *g, const struct qrep_config *cfg,
			 uint64_t epoch)
{
	int ret = qrep_device_create(g, cfg, epoch, 0);

	return ret ? qrepctl_genl_fail(g, "create", ret) : 0;
}

static void destroy_device(struct qrep_genl *g, uint32_t index)
{
	if (qrep_device_destroy(g, index))
		fprintf(stderr, "qrepctl: could not remove /dev/qrep%u again: %s\n",
			index, g->error);
}

/*
 * The device, primary at @epoch: created; or, if it exists as a
 * secondary (demoted, it holds no replica and nothing of its last term:
 * <linux/qrep.h>), made primary at @epoch, as qrepd promotes it. Either
 * way the replicas come next, judged afresh. *promoted says which, for
 * the undo (undo_device). 0 or an exit code.
 */
static int make_device(struct qrep_genl *g, const struct qrep_config *cfg,
		       uint64_t epoch, bool *promoted)
{
	struct qrep_view v;
	int ret;

	*promoted = false;
	if (qrep_view_load(g, cfg->device, &v) || v.role != QREP_ROLE_SECONDARY)
		return create_device(g, cfg, epoch);
	if (v.size != cfg->size || v.mode != cfg->mode) {
		fprintf(stderr, "qrepctl: /dev/qrep%u exists as a secondary of another size or mode than resource %s's: not made primary\n",
			cfg->device, cfg->name);
		return QREPCTL_EXIT_FAIL;
	}
	ret = qrep_device_set_role(g, cfg->device, QREP_ROLE_PRIMARY, epoch);
	if (ret)
		return qrepctl_genl_fail(g, "promote", ret);
	*promoted = true;
	printf("/dev/qrep%u was a secondary (epoch %" PRIu64 "): made primary\n",
	       cfg->device, v.epoch);
	return 0;
}

/* A failed up leaves the device as it found it: absent, or secondary. */
static void undo_device(struct qrep_genl *g, uint32_t index, bool promoted)
{
	if (!promoted)
		destroy_device(g, index);
	else if (qrep_device_set_role(g, index, QREP_ROLE_SECONDARY, 0))
		fprintf(stderr, "qrepctl: could not make /dev/qrep%u secondary again: %s\n",
			index, g->error);
}

/*
 * The device epoch, reserved at the targets before anything else reads
 * or writes them (lib/device.h): newer than every epoch a reachable
 * target has seen, so every version the device stamps beats every
 * version written before (<linux/qrep_quorum.h>), and every target
 * refuses whatever device wrote there before. 0, or an exit code with
 * the reason printed.
 */
static int device_epoch(const struct qrep_config *cfg,
			struct qrep_replica_conn *conns, uint64_t *epoch)
{
	if (qrep_replica_conns_reserve_epoch(cfg, conns, epoch, note_stderr,
					     NULL)) {
		fprintf(stderr, "qrepctl: no epoch reserved: /dev/qrep%u not made\n",
			cfg->device);
		return QREPCTL_EXIT_FAIL;
	}
	return 0;
}

/*
 * Connects to every replica. Mirror mode needs them all. Quorum mode
 * goes on without the unreachable ones as long as W answered: the device
 * is correct with a write quorum, and the others are added later
 * (reconnect, qrepd). 0, or an exit code with the reasons printed.
 */
static int connect_all(const struct qrep_config *cfg,
		       const struct qrep_secret *secret,
		       struct qrep_replica_conn *conns)
{
	unsigned int i, reachable = 0;

	for (i = 0; i < cfg->nr_replicas; i++) {
		/* Epoch 0 in the hello only asks; it raises nothing. */
		if (connect_replica(cfg, i, 0, secret, &conns[i]) == 0)
			reachable++;
		else if (cfg->mode != QREP_MODE_QUORUM)
			return QREPCTL_EXIT_FAIL;
	}
	if (cfg->mode != QREP_MODE_QUORUM || reachable == cfg->nr_replicas)
		return 0;
	if (reachable < cfg->write_quorum) {
		fprintf(stderr,
			"qrepctl: only %u of %u targets reachable; quorum mode needs W=%u to start\n",
			reachable, cfg->nr_replicas, cfg->write_quorum);
		return QREPCTL_EXIT_FAIL;
	}
	fprintf(stderr,
		"qrepctl: %u of %u targets reachable (W=%u): starting without the others; 'qrepctl reconnect %s REPLICA' adds one later\n",
		reachable, cfg->nr_replicas, cfg->write_quorum, cfg->name);
	return 0;
}

/*
 * Which replicas are behind, by their regions (uptodate.h); in mirror
 * mode one is filled first if none holds everything. Mirror mode needs
 * every replica, so one lost meanwhile fails up as if it never
 * answered; quorum mode goes on while W are left. 0 or an exit code.
 */
static int find_stale(const struct qrep_config *cfg,
		      struct qrep_replica_conn *conns)
{
	unsigned int i, left = 0;

	if (qrep_replica_conns_find_stale(cfg, conns, note_stderr, NULL))
		return QREPCTL_EXIT_FAIL;
	for (i = 0; i < cfg->nr_replicas; i++)
		left += conns[i].fd >= 0;
	if (cfg->mode != QREP_MODE_QUORUM && left < cfg->nr_replicas) {
		fprintf(stderr,
			"qrepctl: mirror mode needs every replica: /dev/qrep%u not made\n",
			cfg->device);
		return QREPCTL_EXIT_FAIL;
	}
	if (cfg->mode == QREP_MODE_QUORUM && left < cfg->write_quorum) {
		fprintf(stderr,
			"qrepctl: only %u of %u targets still reachable; quorum mode needs W=%u to start\n",
			left, cfg->nr_replicas, cfg->write_quorum);
		return QREPCTL_EXIT_FAIL;
	}
	return 0;
}

/*
 * Takes @flag (e.g. "--no-resync") out of argv, wherever it stands (the
 * rest is a resource command); returns whether it was there.
 */
static bool take_flag(int *argc, char **argv, const char *flag)
{
	bool found = false;
	int i = 1;

	while (i < *argc) {
		if (strcmp(argv[i], flag) != 0) {
			i++;
			continue;
		}
		memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i) * sizeof(*argv));
		(*argc)--;
		found = true;
	}
	return found;
}

int qrepctl_up(int argc, char **argv)
{
	struct qrep_replica_conn conns[QREP_MAX_REPLICAS];
	const struct qrep_secret *secret;
	struct qrep_secret secret_buf;
	struct qrep_config cfg;
	struct qrep_genl g;
	bool no_resync, force, promoted;
	uint64_t epoch;
	unsigned int i;
	char **rest;
	char err[512];
	int ret;

	no_resync = take_flag(&argc, argv, "--no-resync");
	force = take_flag(&argc, argv, "--force");
	ret = qrepctl_resource_load(argc, argv, "up", 0, &cfg, &rest);
	if (ret)
		return ret;
	if (qrep_config_manual_up_check(&cfg, force, err, sizeof(err))) {
		fprintf(stderr, "qrepctl: %s\n", err);
		return QREPCTL_EXIT_FAIL;
	}
	ret = load_secret(&cfg, &secret_buf, &secret);
	if (ret)
		return ret;
	ret = qrepctl_genl_open(&g);
	if (ret)
		goto out_secret;

	qrep_replica_conns_init(conns, cfg.nr_replicas);
	ret = connect_all(&cfg, secret, conns);
	if (ret)
		goto out;
	/* First: the replicas are compared with no older device writing. */
	ret = device_epoch(&cfg, conns, &epoch);
	if (ret)
		goto out;
	ret = find_stale(&cfg, conns);
	if (ret)
		goto out;

	ret = make_device(&g, &cfg, epoch, &promoted);
	if (ret)
		goto out;
	for (i = 0; i < cfg.nr_replicas; i++) {
		if (conns[i].fd < 0)
			continue;	/* quorum mode: unreachable for now */
		ret = add_replica(&g, &cfg, i, &conns[i]);
		if (ret) {
			undo_device(&g, cfg.device, promoted);
			goto out;
		}
	}
	if (cfg.mode == QREP_MODE_QUORUM)
		printf("/dev/qrep%u is up: resource %s, quorum mode, %u replicas, W=%u R=%u, on-no-quorum %s, epoch %" PRIu64 "\n",
		       cfg.device, cfg.name, cfg.nr_replicas, cfg.write_quorum,
		       cfg.read_quorum, qrep_on_no_quorum_name(cfg.on_no_quorum),
		       epoch);
	else
		printf("/dev/qrep%u is up: resource %s, %s mode, %u replicas, epoch %" PRIu64 "\n",
		       cfg.device, cfg.name, qrepctl_mode_name(cfg.mode),
		       cfg.nr_replicas, epoch);
	fflush(stdout);
	if (no_resync) {
		for (i = 0; i < cfg.nr_replicas; i++)
			if (conns[i].fd >= 0 && conns[i].stale)
				printf("replica %s left stale (--no-resync): 'qrepctl resync %s' resyncs it\n",
				       cfg.replicas[i].name, cfg.name);
		goto out;
	}
	/* The device serves meanwhile; a failed resync leaves it up. */
	if (qrep_resync_stale(&g, &cfg, -1))
		fprintf(stderr, "qrepctl: /dev/qrep%u is up, but a replica is still stale: see above; 'qrepctl resync %s' tries again\n",
			cfg.device, cfg.name);
out:
	/* The kernel holds its own references to the sockets it took. */
	qrep_replica_conns_close(conns, cfg.nr_replicas);
	qrep_genl_close(&g);
out_secret:
	qrep_secret_wipe(&secret_buf);
	return ret;
}

int qrepctl_down(int argc, char **argv)
{
	struct qrep_config cfg;
	struct qrep_genl g;
	struct nlmsghdr *nlh;
	char **rest;
	int ret;

	ret = qrepctl_resource_load(argc, argv, "down", 0, &cfg, &rest);
	if (ret)
		return ret;
	ret = qrepctl_genl_open(&g);
	if (ret)
		return ret;
	nlh = qrep_genl_request(&g, QREP_CMD_DEV_DESTROY, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, cfg.device);
	ret = qrep_genl_talk(&g, nlh, NULL, NULL);
	if (ret)
		ret = qrepctl_genl_fail(&g, "down", ret);
	else
		printf("/dev/qrep%u is down\n", cfg.device);
	qrep_genl_close(&g);
	return ret;
}

int qrepctl_reconnect(int argc, char **argv)
{
	/* Not flagged stale: the kernel knows what the replica missed. */
	struct qrep_replica_conn conn = { .fd = -1 };
	struct qrep_view view = { 0 };
	const struct qrep_secret *secret;
	struct qrep_secret secret_buf;
	struct qrep_config cfg;
	struct qrep_genl g;
	bool no_resync;
	unsigned int i;
	char **rest;
	int ret;

	no_resync = take_flag(&argc, argv, "--no-resync");
	ret = qrepctl_resource_load(argc, argv, "reconnect", 1, &cfg, &rest);
	if (ret)
		return ret;
	for (i = 0; i < cfg.nr_replicas; i++)
		if (strcmp(cfg.replicas[i].name, rest[0]) == 0)
			break;
	if (i == cfg.nr_replicas) {
		fprintf(stderr, "qrepctl: resource %s has no replica '%s'\n",
			cfg.name, rest[0]);
		return QREPCTL_EXIT_USAGE;
	}
	ret = load_secret(&cfg, &secret_buf, &secret);
	if (ret)
		return ret;
	ret = qrepctl_genl_open(&g);
	if (ret)
		goto out_secret;
	/*
	 * At the device's own epoch, never a new one: a target that holds
	 * a newer epoch (another device took over) refuses at the door, and
	 * one at an older epoch (it missed the reservation) is raised to it.
	 */
	ret = qrep_view_load(&g, cfg.device, &view);
	if (ret) {
		ret = qrepctl_genl_fail(&g, "reconnect", ret);
		goto out;
	}
	if (connect_replica(&cfg, i, view.epoch, secret, &conn)) {
		ret = QREPCTL_EXIT_FAIL;
		goto out;
	}
	ret = add_replica(&g, &cfg, i, &conn);
	if (!ret && no_resync) {
		printf("replica %s reconnected to /dev/qrep%u; not resyncing it (--no-resync): 'qrepctl resync %s' does\n",
		       cfg.replicas[i].name, cfg.device, cfg.name);
	} else if (!ret) {
		printf("replica %s reconnected to /dev/qrep%u; resyncing it\n",
		       cfg.replicas[i].name, cfg.device);
		ret = qrep_resync_stale(&g, &cfg, (int)i) ? QREPCTL_EXIT_FAIL : 0;
	}
out:
	qrep_replica_conns_close(&conn, 1);
	qrep_genl_close(&g);
out_secret:
	qrep_secret_wipe(&secret_buf);
	return ret;
}
