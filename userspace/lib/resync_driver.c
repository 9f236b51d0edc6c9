// SPDX-License-Identifier: GPL-2.0
/*
 * Driving a resync: brings a resource's stale replicas up to date,
 * online. The kernel keeps what each replica missed (a bitmap of regions)
 * and decides when it is up to date; this does the copying (resync.c) and
 * reports progress to the kernel, which shows it in status and events.
 * qrepctl and qrepd both use it. Documentation/resync.rst.
 *
 * Mirror mode copies from one up-to-date replica. Quorum mode copies
 * from every live replica but the destination, stale ones included:
 * none need hold the newest of every block, but together with the
 * destination they make a read quorum, which holds it. Never from an
 * unreconciled one, which may hold a deposed primary's write that would
 * pass for the newest version (qrep_view_source_ok, over the shared rule
 * qrep_resync_source_ok of linux/qrep_data.h).
 */
#include <errno.h>
#include <error.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/qrep.h>

#include "replica_add.h"
#include "resync.h"
#include "resync_driver.h"
#include "view.h"

/*
 * How long the copy pauses when application I/O is in flight on the
 * device, before each copy: resync yields, but always makes progress.
 */
#define QREP_RESYNC_YIELD_US		2000
/* Passes over the bitmap before giving up on regions marked again. */
#define QREP_RESYNC_MAX_PASSES		8
/* Progress lines on stderr at most this often. */
#define QREP_RESYNC_REPORT_MS		1000

struct resync_run {
	struct qrep_genl *g;
	const struct qrep_config *cfg;
	struct qrep_view *view;
	unsigned int dst, src;		/* src: mirror mode's source */
	/*
	 * Quorum mode: the sources' slots and instances, in step with the
	 * job's srcs (the same index), and the regions still to clear: a
	 * copy of the bitmap, cleared as the kernel accepts each batch, so
	 * that going on without a failed source copies nothing twice.
	 */
	bool quorum;
	unsigned int nr_srcs;
	unsigned int src_slot[QREP_RESYNC_MAX_SOURCES];
	uint64_t src_instance[QREP_RESYNC_MAX_SOURCES];
	struct qrep_peer src_peers[QREP_RESYNC_MAX_SOURCES];
	uint32_t *left;
	uint64_t regions_total;		/* marked at the start of the pass */
	uint64_t regions_before;	/* done in earlier passes */
	struct timespec start;
	uint64_t last_report_ms;
};

/* One line on stderr, prefixed with the program's name. */
__attribute__((format(printf, 1, 2)))
static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s", program_invocation_short_name, line);
}

static int genl_fail(struct qrep_genl *g, const char *what, int err)
{
	say("%s: %s\n", what, g->error[0] ? g->error : strerror(-err));
	return -1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t elapsed_ms(const struct resync_run *run)
{
	uint64_t start = (uint64_t)run->start.tv_sec * 1000 +
			 (uint64_t)run->start.tv_nsec / 1000000;

	return now_ms() - start;
}

static struct nlmsghdr *update_msg(struct resync_run *run, uint32_t phase)
{
	struct nlmsghdr *nlh = qrep_genl_request(run->g, QREP_CMD_RESYNC_UPDATE, 0);

	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, run->cfg->device);
	mnl_attr_put_u32(nlh, QREP_A_REPLICA_ID, run->dst);
	mnl_attr_put_u64(nlh, QREP_A_REPLICA_INSTANCE,
			 run->view->replicas[run->dst].instance);
	mnl_attr_put_u32(nlh, QREP_A_RESYNC_PHASE, phase);
	return nlh;
}

static void put_progress(struct resync_run *run, struct nlmsghdr *nlh,
			 const struct qrep_resync_stats *st)
{
	uint64_t ms = elapsed_ms(run), done = run->regions_before +
		      (st ? st->regions_done : 0);

	mnl_attr_put_u64(nlh, QREP_A_RESYNC_DONE_BYTES,
			 done * QREP_REGION_BLOCKS * QREP_BLOCK_SIZE);
	mnl_attr_put_u64(nlh, QREP_A_RESYNC_TOTAL_BYTES,
			 (run->regions_before + run->regions_total) *
			 QREP_REGION_BLOCKS * QREP_BLOCK_SIZE);
	mnl_attr_put_u64(nlh, QREP_A_RESYNC_RATE,
			 ms ? done * QREP_REGION_BLOCKS * QREP_BLOCK_SIZE *
			 1000 / ms : 0);
}

/* Bit N: slot N is a source (QREP_A_RESYNC_SOURCES). */
static uint32_t sources_mask(const struct resync_run *run)
{
	uint32_t mask = 0;
	unsigned int k;

	for (k = 0; k < run->nr_srcs; k++)
		mask |= 1U << run->src_slot[k];
	return mask;
}

/*
 * The kernel clears regions only on the word of sources it can check:
 * mirror mode names the one up-to-date source (slot and instance);
 * quorum mode names every slot read from, and the kernel checks that
 * they and the destination make a read quorum of live replicas.
 */
static int regions_done(void *arg, uint64_t start, uint64_t count)
{
	struct resync_run *run = arg;
	struct nlmsghdr *nlh = update_msg(run, QREP_RESYNC_PROGRESS);
	uint64_t i;
	int ret;

	mnl_attr_put_u64(nlh, QREP_A_RESYNC_START, start);
	mnl_attr_put_u64(nlh, QREP_A_RESYNC_COUNT, count);
	if (run->quorum) {
		mnl_attr_put_u32(nlh, QREP_A_RESYNC_SOURCES, sources_mask(run));
	} else {
		mnl_attr_put_u32(nlh, QREP_A_RESYNC_SOURCE_ID, run->src);
		mnl_attr_put_u64(nlh, QREP_A_RESYNC_SOURCE_INSTANCE,
				 run->view->replicas[run->src].instance);
	}
	ret = qrep_genl_talk(run->g, nlh, NULL, NULL);
	if (ret || !run->left)
		return ret;
	/* The engine only reports regions inside the bitmap it was given. */
	for (i = start; i < start + count && i < run->view->regions; i++)
		run->left[i / 32] &= ~(1U << (i % 32));
	return 0;
}

static bool device_busy(const struct resync_run *run)
{
	char path[64];
	unsigned long long r = 0, w = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/block/qrep%u/inflight",
		 run->cfg->device);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fscanf(f, "%llu %llu", &r, &w) != 2)
		r = w = 0;
	fclose(f);
	return r + w > 0;
}

/* resync-rate, and a short pause whenever the application has I/O out. */
static void throttle(void *arg, const struct qrep_resync_stats *st)
{
	struct resync_run *run = arg;
	uint64_t ms = elapsed_ms(run);
	uint64_t allowed = run->cfg->resync_rate * ms / 1000;

	if (st->bytes_copied > allowed)
		usleep((useconds_t)((st->bytes_copied - allowed) * 1000000 /
				    run->cfg->resync_rate));
	if (device_busy(run))
		usleep(QREP_RESYNC_YIELD_US);
}

static void report(struct resync_run *run, const struct qrep_resync_stats *st,
		   bool last)
{
	uint64_t ms = elapsed_ms(run), total, done, eta;

	if (!last && now_ms() - run->last_report_ms < QREP_RESYNC_REPORT_MS)
		return;
	run->last_report_ms = now_ms();
	total = run->regions_before + run->regions_total;
	done = run->regions_before + st->regions_done;
	eta = done && total > done ? (total - done) * ms / done / 1000 : 0;
	say("resync %s: %3" PRIu64 "%% (%" PRIu64 "/%" PRIu64
		" regions), %.1f MiB copied, %.1f MiB/s, ETA %" PRIu64 " s\n",
		run->cfg->replicas[run->dst].name,
		total ? done * 100 / total : 100, done, total,
		st->bytes_copied / 1048576.0,
		ms ? st->bytes_copied / 1048576.0 * 1000 / ms : 0.0, eta);
}

static void progress(void *arg, const struct qrep_resync_stats *st)
{
	struct resync_run *run = arg;
	struct nlmsghdr *nlh = update_msg(run, QREP_RESYNC_PROGRESS);

	put_progress(run, nlh, st);
	qrep_genl_talk(run->g, nlh, NULL, NULL);
	report(run, st, false);
}

int qrep_peer_open_replica(const struct qrep_config *cfg, unsigned int i,
			   uint64_t epoch, struct qrep_peer *p)
{
	struct qrep_hello_reply_msg hello;
	struct timeval tv = {
		.tv_sec = cfg->io_timeout_ms / 1000,
		.tv_usec = (cfg->io_timeout_ms % 1000) * 1000,
	};
	char err[256];
	int fd;

	fd = qrep_replica_connect(cfg, i, &hello, err, sizeof(err));
	if (fd < 0) {
		say("replica %s (%s): %s\n",
			cfg->replicas[i].name, cfg->replicas[i].addr, err);
		return fd;
	}
	/* A target that stops answering must not hang the tool. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	qrep_peer_init(p, fd, cfg->replicas[i].name, epoch);
	return 0;
}

/* The first up-to-date replica we can reach. */
static int pick_source(struct resync_run *run, struct qrep_peer *p)
{
	unsigned int i;

	for (i = 0; i < run->cfg->nr_replicas; i++) {
		if (i == run->dst || !qrep_view_source_ok(run->view, i))
			continue;
		if (qrep_peer_open_replica(run->cfg, i, run->view->epoch, p) == 0) {
			run->src = i;
			return 0;
		}
	}
	return -ENOENT;
}

/* The engine's callbacks, for @run. */
static struct qrep_resync_ops resync_ops(struct resync_run *run)
{
	return (struct qrep_resync_ops){
		.regions_done = regions_done, .throttle = throttle,
		.progress = progress, .arg = run,
	};
}

/* A pass's job: to @dst, as the kernel describes @replica. */
static struct qrep_resync_job resync_job(struct resync_run *run,
					 struct qrep_peer *dst,
					 const struct qrep_view_replica *replica,
					 const struct qrep_resync_ops *ops,
					 const struct qrep_resync_stats *total_st)
{
	return (struct qrep_resync_job){
		.dst = dst, .dev_blocks = run->cfg->size / QREP_BLOCK_SIZE,
		.use_summaries = replica->history_unknown,
		.check_data = replica->check_data, .ops = ops,
		.stats = *total_st,
		/* Who holds every acknowledged write (resync.h). */
		.rollback_srcs = run->quorum ? run->view->read_quorum : 1,
	};
}

/*
 * One pass over the bitmap from one up-to-date source. -EAGAIN: the
 * source failed, or the kernel no longer counts it up to date; what was
 * cleared stands, and the next pass fetches what is left.
 */
static int resync_pass_mirror(struct resync_run *run, struct qrep_peer *dst,
			      const uint32_t *bits,
			      const struct qrep_view_replica *replica,
			      struct qrep_resync_stats *total_st)
{
	const struct qrep_resync_ops ops = resync_ops(run);
	struct qrep_resync_job job = resync_job(run, dst, replica, &ops,
						total_st);
	const char *name = run->cfg->replicas[run->dst].name;
	struct qrep_peer src;
	int err;

	if (pick_source(run, &src)) {
		say("resync %s: no up-to-date replica to copy from\n",
			name);
		return -ENOENT;
	}
	job.src = &src;
	err = qrep_resync_regions(&job, bits, 0, run->view->regions);
	*total_st = job.stats;
	if (err && job.dst_failed) {
		say("resync %s: %s\n", name, dst->error);
	} else if (err && (job.src_failed || err == -ESTALE)) {
		say("resync %s: source %s: %s; trying again\n",
			name, run->cfg->replicas[run->src].name,
			job.src_failed ? src.error : run->g->error);
		err = -EAGAIN;
	} else if (err) {
		say("resync %s: %s\n", name,
			run->g->error[0] ? run->g->error : strerror(-err));
	}
	qrep_peer_close(&src);
	return err;
}

static void close_sources(struct resync_run *run)
{
	unsigned int k;

	for (k = 0; k < run->nr_srcs; k++)
		qrep_peer_close(&run->src_peers[k]);
	run->nr_srcs = 0;
}

/*
 * The copies needed to make a read quorum with the destination: R - 1,
 * and at least one, since with none there is nothing to copy from.
 */
static unsigned int sources_needed(const struct resync_run *run)
{
	return run->view->read_quorum > 1 ? run->view->read_quorum - 1 : 1;
}

static bool enough_sources(struct resync_run *run, unsigned int unreachable)
{
	const char *name = run->cfg->replicas[run->dst].name;

	if (run->nr_srcs >= sources_needed(run))
		return true;
	if (run->view->read_quorum > 1)
		say("resync of %s needs R-1=%u sources, only %u live%s (an unreconciled replica is none)\n",
		    name, sources_needed(run), run->nr_srcs,
		    unreachable ? " and reachable" : "");
	else
		say("resync of %s needs another live replica to copy from (an unreconciled replica is none)\n",
		    name);
	return false;
}

/*
 * Every live replica but the destination that answers us, stale or not,
 * but none unreconciled (qrep_view_source_ok).
 */
static void open_sources(struct resync_run *run, unsigned int *unreachable)
{
	const struct qrep_view_replica *r;
	unsigned int i;

	*unreachable = 0;
	for (i = 0; i < run->cfg->nr_replicas && i < QREP_MAX_REPLICAS; i++) {
		r = &run->view->replicas[i];
		if (i == run->dst || !qrep_view_source_ok(run->view, i))
			continue;
		if (qrep_peer_open_replica(run->cfg, i, run->view->epoch,
					   &run->src_peers[run->nr_srcs])) {
			(*unreachable)++;
			continue;
		}
		run->src_slot[run->nr_srcs] = i;
		run->src_instance[run->nr_srcs] = r->instance;
		run->nr_srcs++;
	}
}

/* Source @k goes, from the run and from the job alike. */
static void drop_source(struct resync_run *run, struct qrep_resync_job *job,
			unsigned int k)
{
	unsigned int rest = run->nr_srcs - k - 1;

	qrep_peer_close(&run->src_peers[k]);
	memmove(&run->src_slot[k], &run->src_slot[k + 1],
		rest * sizeof(run->src_slot[0]));
	memmove(&run->src_instance[k], &run->src_instance[k + 1],
		rest * sizeof(run->src_instance[0]));
	memmove(&run->src_peers[k], &run->src_peers[k + 1],
		rest * sizeof(run->src_peers[0]));
	run->nr_srcs--;
	/* The peers moved: the job points at their new places. */
	qrep_resync_drop_source(job, k);
	for (k = 0; k < run->nr_srcs; k++)
		job->srcs[k] = &run->src_peers[k];
}

/*
 * The kernel refused to clear regions (-ESTALE): a source failed or was
 * replaced in its view since we opened it. Drops every such one; false
 * if none is (the refusal was about the destination, or is not ours to
 * mend), or the state cannot be read.
 */
static bool drop_sources_gone(struct resync_run *run,
			      struct qrep_resync_job *job)
{
	const struct qrep_view_replica *r, *d;
	bool dropped = false;
	struct qrep_view now;
	unsigned int k;

	/* Not into run->view: it keeps the destination's instance. */
	if (qrep_view_load(run->g, run->cfg->device, &now))
		return false;
	d = &now.replicas[run->dst];
	if (!d->present || d->state != QREP_REPLICA_STALE ||
	    d->instance != run->view->replicas[run->dst].instance)
		return false;
	for (k = 0; k < run->nr_srcs;) {
		r = &now.replicas[run->src_slot[k]];
		if (qrep_view_source_ok(&now, run->src_slot[k]) &&
		    r->instance == run->src_instance[k]) {
			k++;
			continue;
		}
		say("resync %s: source %s is no longer live and reconciled; going on without it\n",
		    run->cfg->replicas[run->dst].name,
		    run->cfg->replicas[run->src_slot[k]].name);
		drop_source(run, job, k);
		dropped = true;
	}
	return dropped;
}

/*
 * One pass over the bitmap, quorum mode: from every live replica but the
 * destination. A source that fails is dropped and the copy goes on with
 * the others while they and the destination still make a read quorum;
 * below that the pass stops, and what was cleared stands for the next
 * resync.
 */
static int resync_pass_quorum(struct resync_run *run, struct qrep_peer *dst,
			      const uint32_t *bits,
			      const struct qrep_view_replica *replica,
			      struct qrep_resync_stats *total_st)
{
	const struct qrep_resync_ops ops = resync_ops(run);
	struct qrep_resync_job job = resync_job(run, dst, replica, &ops,
						total_st);
	const char *name = run->cfg->replicas[run->dst].name;
	size_t words = (run->view->regions + 31) / 32;
	unsigned int unreachable, k;
	int err;

	open_sources(run, &unreachable);
	if (!enough_sources(run, unreachable)) {
		err = -ENOENT;
		goto out;
	}
	run->left = malloc((words ? words : 1) * sizeof(uint32_t));
	if (!run->left) {
		err = -ENOMEM;
		say("resync %s: %s\n", name, strerror(-err));
		goto out;
	}
	memcpy(run->left, bits, words * sizeof(uint32_t));
	for (k = 0; k < run->nr_srcs; k++)
		job.srcs[k] = &run->src_peers[k];
	job.nr_srcs = run->nr_srcs;
	for (;;) {
		err = qrep_resync_regions(&job, run->left, 0,
					  run->view->regions);
		if (!err || job.dst_failed)
			break;
		if (job.src_failed && job.failed_src >= 0 &&
		    (unsigned int)job.failed_src < run->nr_srcs) {
			k = (unsigned int)job.failed_src;
			say("resync %s: source %s: %s; going on without it\n",
			    name, run->cfg->replicas[run->src_slot[k]].name,
			    run->src_peers[k].error);
			drop_source(run, &job, k);
		} else if (err != -ESTALE || !drop_sources_gone(run, &job)) {
			break;
		}
		if (!enough_sources(run, 0)) {
			err = -ENOENT;
			goto out;
		}
	}
	if (err && job.dst_failed) {
		say("resync %s: %s\n", name, dst->error);
	} else if (err && job.rollback_short) {
		say("resync %s: it holds writes of an older epoch that its sources lack; rolling them back needs R=%u live sources, only %u\n",
		    name, job.rollback_srcs, run->nr_srcs);
		err = -ENOENT;
	} else if (err) {
		say("resync %s: %s\n", name,
		    run->g->error[0] ? run->g->error : strerror(-err));
	}
out:
	*total_st = job.stats;
	free(run->left);
	run->left = NULL;
	close_sources(run);
	return err;
}

static int resync_one(struct qrep_genl *g, const struct qrep_config *cfg,
		      unsigned int dst)
{
	struct resync_run run = { .g = g, .cfg = cfg, .dst = dst };
	struct qrep_resync_stats st = { 0 };
	struct qrep_view view;
	struct qrep_peer peer;
	unsigned int pass;
	uint32_t *bits = NULL;
	struct qrep_view_replica as_fetched;
	int ret;

	if (qrep_view_load(g, cfg->device, &view))
		return genl_fail(g, "status", -EIO);
	run.view = &view;
	if (!view.replicas[dst].present ||
	    view.replicas[dst].state != QREP_REPLICA_STALE) {
		say("replica %s is not stale: nothing to resync\n",
			cfg->replicas[dst].name);
		return 0;
	}
	run.quorum = view.mode == QREP_MODE_QUORUM;
	if (run.quorum && (view.read_quorum < 1 ||
			   view.read_quorum > QREP_MAX_REPLICAS)) {
		say("resync %s: the kernel gives no valid read quorum for /dev/qrep%u (R = %u)\n",
		    cfg->replicas[dst].name, cfg->device, view.read_quorum);
		return -1;
	}
	if (qrep_peer_open_replica(cfg, dst, view.epoch, &peer))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &run.start);
	ret = qrep_genl_talk(g, update_msg(&run, QREP_RESYNC_START), NULL, NULL);
	if (ret) {
		ret = genl_fail(g, "resync start", ret);
		goto out;
	}
	for (pass = 0; pass < QREP_RESYNC_MAX_PASSES; pass++) {
		free(bits);
		ret = qrep_view_bitmap(g, cfg->device, dst,
				       view.replicas[dst].instance, &bits,
				       &as_fetched);
		if (ret) {
			ret = genl_fail(g, "resync bitmap", ret);
			goto stop;
		}
		run.regions_before += st.regions_done;
		st.regions_done = 0;
		run.regions_total = qrep_resync_count_bits(bits, view.regions);
		if (qrep_view_load(g, cfg->device, &view) == 0 &&
		    view.replicas[dst].state != QREP_REPLICA_STALE) {
			say("resync %s: the replica is no longer stale\n",
				cfg->replicas[dst].name);
			ret = -1;
			goto stop;
		}
		ret = run.quorum ?
		      resync_pass_quorum(&run, &peer, bits, &as_fetched, &st) :
		      resync_pass_mirror(&run, &peer, bits, &as_fetched, &st);
		if (ret == -EAGAIN)
			continue;
		if (ret) {
			ret = -1;
			goto stop;
		}
		ret = qrep_genl_talk(g, update_msg(&run, QREP_RESYNC_FINISH),
				     NULL, NULL);
		if (ret != -EAGAIN)
			break;
	}
	if (ret) {
		ret = genl_fail(g, "resync finish", ret);
		goto stop;
	}
	report(&run, &st, true);
	printf("replica %s is up to date: %" PRIu64 " blocks (%.1f MiB) copied; %"
	       PRIu64 " regions marked, %" PRIu64 " compared block by block; %.1f s\n",
	       cfg->replicas[dst].name, st.blocks_copied,
	       st.bytes_copied / 1048576.0, run.regions_before + st.regions_done,
	       st.regions_compared, elapsed_ms(&run) / 1000.0);
	goto out;
stop:
	report(&run, &st, true);
	say("resync of %s stopped; what is left stays marked and a new resync takes it from there\n",
		cfg->replicas[dst].name);
	qrep_genl_talk(g, update_msg(&run, QREP_RESYNC_STOP), NULL, NULL);
out:
	free(bits);
	qrep_peer_close(&peer);
	return ret;
}

int qrep_resync_stale(struct qrep_genl *g, const struct qrep_config *cfg,
		      int only)
{
	struct qrep_view view;
	unsigned int i;
	int ret = 0;

	if (qrep_view_load(g, cfg->device, &view))
		return genl_fail(g, "status", -EIO);
	for (i = 0; i < cfg->nr_replicas; i++) {
		if ((only >= 0 && (unsigned int)only != i) ||
		    !view.replicas[i].present ||
		    view.replicas[i].state != QREP_REPLICA_STALE)
			continue;
		if (resync_one(g, cfg, i))
			ret = -1;
	}
	return ret;
}
