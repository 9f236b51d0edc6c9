// SPDX-License-Identifier: GPL-2.0
/*
 * qrep-target join: gives a joining store (qrep-target init --replace)
 * the epoch floor, so that it may vote and take writes.
 *
 * It asks the resource's other replicas for their stores' epochs (a hello
 * at epoch 0, which claims and changes nothing, authenticated with the
 * resource's secret), needs enough answers that they include a member of
 * every write quorum (lib/join.h), raises the store's epoch to the
 * highest one seen and clears the joining flag, durably, in one header
 * write. --epoch-floor E skips the asking: the operator vouches for E.
 *
 * The store is opened exclusively: its target must not be serving it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "client.h"
#include "config.h"
#include "join.h"
#include "log.h"
#include "parse.h"
#include "uuid.h"
#include "target.h"

struct join_opts {
	const char *store, *config, *replica;
	bool have_floor;
	uint64_t floor;
};

static int join_usage(const char *why)
{
	if (why)
		fprintf(stderr, "qrep-target join: %s\n", why);
	fprintf(stderr, "usage: qrep-target join --store PATH --config FILE "
		"--replica NAME\n"
		"       qrep-target join --store PATH --epoch-floor E "
		"[--config FILE --replica NAME]\n"
		"  learns the epoch the other replicas of the resource hold "
		"and ends the\n  store's joining state; --epoch-floor: the "
		"operator vouches for E instead\n");
	return QREP_EXIT_USAGE;
}

static int join_parse(int argc, char **argv, struct join_opts *o)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "replica", required_argument, NULL, 'r' },
		{ "epoch-floor", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->store = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'r':
			o->replica = optarg;
			break;
		case 'e':
			if (qrep_parse_u64(optarg, &o->floor))
				return join_usage("invalid --epoch-floor");
			o->have_floor = true;
			break;
		case 'h':
			join_usage(NULL);
			return -1;
		default:
			return join_usage(NULL);
		}
	}
	if (optind != argc)
		return join_usage("unexpected argument");
	if (!o->store)
		return join_usage("--store is required");
	if (!o->config != !o->replica)
		return join_usage("--config and --replica go together");
	if (!o->config && !o->have_floor)
		return join_usage("--config and --replica are required (or "
				  "--epoch-floor)");
	return 0;
}

/* The resource's replica that this store is, checked against the store. */
static int join_check_config(const struct join_opts *o,
			     const struct qrep_config *cfg,
			     const struct qrep_store_info *info,
			     unsigned int *self)
{
	unsigned int i;

	for (i = 0; i < cfg->nr_replicas; i++)
		if (!strcmp(cfg->replicas[i].name, o->replica))
			break;
	if (i == cfg->nr_replicas) {
		qrep_err("%s: no replica '%s' in it", o->config, o->replica);
		return -ENOENT;
	}
	if (memcmp(cfg->uuid, info->uuid, QREP_UUID_SIZE) ||
	    cfg->size != info->size) {
		qrep_err("%s is not a store of resource %s (another device "
			 "UUID or size)", o->store, cfg->name);
		return -EMEDIUMTYPE;
	}
	*self = i;
	return 0;
}

/*
 * Asks every other replica for its epoch, printing each answer. Returns
 * 0 with the floor in *floor, or -errno (said why).
 */
static int join_ask(const struct join_opts *o, const struct qrep_config *cfg,
		    unsigned int self, uint64_t own, uint64_t *floor)
{
	struct qrep_join_answer answers[QREP_MAX_REPLICAS] = { 0 };
	struct qrep_client_device dev = { .size = cfg->size, .epoch = 0 };
	unsigned int i, n = 0, needed, counted;
	struct qrep_hello_reply_msg reply;
	struct qrep_secret secret;
	char err[512];
	int fd, ret;

	ret = qrep_secret_load_optional(cfg->secret_file, &secret, &dev.secret,
					err, sizeof(err));
	if (ret) {
		qrep_err("%s", err);
		return ret;
	}
	memcpy(dev.uuid, cfg->uuid, QREP_UUID_SIZE);
	needed = qrep_join_answers_needed(cfg->mode, cfg->nr_replicas,
					  cfg->write_quorum);
	for (i = 0; i < cfg->nr_replicas; i++) {
		const struct qrep_config_replica *r = &cfg->replicas[i];
		struct qrep_join_answer *a;

		if (i == self)
			continue;
		a = &answers[n++];
		fd = qrep_client_open(r->addr, &dev,
				      (int)cfg->connect_timeout_ms, &reply,
				      err, sizeof(err));
		if (fd >= 0) {
			close(fd);
			a->answered = true;
			a->epoch = reply.epoch;
			printf("replica %s (%s): epoch %" PRIu64 "\n", r->name,
			       r->addr, reply.epoch);
		} else {
			a->joining = fd == -EBUSY;
			printf("replica %s (%s): not counted: %s\n", r->name,
			       r->addr, err);
		}
	}
	if (dev.secret)
		qrep_secret_wipe(&secret);
	ret = qrep_join_floor(answers, n, needed, own, floor, &counted);
	if (ret) {
		qrep_err("%s: %u of the %u other replicas answered, %u needed "
			 "(%s): the store stays joining. Bring them back and "
			 "retry, or, knowing the epoch the cluster holds, give "
			 "--epoch-floor", o->store, counted, n, needed,
			 cfg->mode == QREP_MODE_QUORUM ?
			 "N - W + 1, to meet every write quorum" :
			 "mirror mode: all of them");
		return ret;
	}
	printf("learned epoch %" PRIu64 " from %u of %u other replicas "
	       "(%u needed)\n", *floor, counted, n, needed);
	return 0;
}

int qrep_target_cmd_join(int argc, char **argv)
{
	struct join_opts o = { 0 };
	const struct qrep_store_info *info;
	struct qrep_config cfg;
	struct qrep_store *s;
	unsigned int self = 0;
	uint64_t floor;
	char err[512];
	int ret;

	ret = join_parse(argc, argv, &o);
	if (ret)
		return ret < 0 ? QREP_EXIT_OK : ret;
	if (o.config && qrep_config_load(o.config, &cfg, err, sizeof(err))) {
		qrep_err("%s", err);
		return QREP_EXIT_FAIL;
	}
	ret = qrep_store_open(o.store, QREP_STORE_EXCL, &s, err, sizeof(err));
	if (ret) {
		qrep_err("%s%s", err, ret == -EBUSY ? " (stop its qrep-target "
			 "serve first: join runs on a store nobody serves)" : "");
		return QREP_EXIT_FAIL;
	}
	info = qrep_store_info(s);
	if (o.config) {
		ret = join_check_config(&o, &cfg, info, &self);
		if (ret)
			goto out;
	}
	if (!info->joining) {
		printf("%s is not joining (it votes, at epoch %" PRIu64 "): "
		       "nothing to do\n", o.store, info->epoch);
		goto out;
	}
	if (o.have_floor) {
		floor = o.floor > info->epoch ? o.floor : info->epoch;
		printf("epoch floor %" PRIu64 " given by the operator\n",
		       floor);
	} else {
		ret = join_ask(&o, &cfg, self, info->epoch, &floor);
		if (ret)
			goto out;
	}
	ret = qrep_store_join(s, floor);
	if (ret) {
		qrep_err("%s: cannot record the epoch: %s", o.store,
			 strerror(-ret));
		goto out;
	}
	printf("%s joined at epoch %" PRIu64 ": it may vote and take writes "
	       "now\n", o.store, floor);
out:
	if (qrep_store_close(s) && !ret) {
		qrep_err("%s: cannot close the store cleanly", o.store);
		ret = -EIO;
	}
	if (fflush(stdout))
		ret = -EIO;
	return ret ? QREP_EXIT_FAIL : QREP_EXIT_OK;
}
