// SPDX-License-Identifier: GPL-2.0
/*
 * qrep-target serve: open the store, listen, accept, and stop cleanly.
 *
 * Start-up order: the store first (most errors are about it), then the
 * threads, then the listening socket, so that a client able to connect
 * finds everything ready. SIGTERM and SIGINT are blocked in every thread
 * and read from a signalfd by the accept loop. On either: stop accepting,
 * stop every reader, let queued requests finish and answer, stop the
 * workers, flush the store and mark it clean, exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"
#include "uuid.h"
#include "target.h"

/*
 * Pause after accept() fails for lack of descriptors or memory, so the
 * loop does not spin while connections close and free some.
 */
#define QREP_TARGET_ACCEPT_RETRY_MS	100

struct serve_opts {
	const char *store;
	const char *listen;
	const char *stats_file;
	const char *secret_file;
	unsigned int threads;
};

static int serve_usage(const char *why)
{
	if (why)
		fprintf(stderr, "qrep-target serve: %s\n", why);
	fprintf(stderr, "usage: qrep-target serve --store PATH --listen "
		"ADDR:PORT [--threads N] [--stats-file PATH]\n"
		"                         [--secret-file PATH]\n"
		"  ADDR:PORT: 192.0.2.1:7789, [2001:db8::1]:7789, "
		"0.0.0.0:7789, [::]:7789\n"
		"  --threads: worker threads, 1..%u (default %u)\n"
		"  --secret-file: clients must prove they know this secret "
		"(mode 0600)\n",
		QREP_TARGET_MAX_THREADS, QREP_TARGET_DEFAULT_THREADS);
	return QREP_EXIT_USAGE;
}

static int parse_serve_opts(int argc, char **argv, struct serve_opts *o)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "stats-file", required_argument, NULL, 'S' },
		{ "secret-file", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char host[QREP_HOST_MAX], port[QREP_PORT_MAX];
	uint64_t v;
	int c;

	o->threads = QREP_TARGET_DEFAULT_THREADS;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->store = optarg;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 't':
			if (qrep_parse_uint(optarg, 1, QREP_TARGET_MAX_THREADS,
					    &v))
				return serve_usage("invalid --threads");
			o->threads = (unsigned int)v;
			break;
		case 'S':
			o->stats_file = optarg;
			break;
		case 'K':
			o->secret_file = optarg;
			break;
		case 'h':
			serve_usage(NULL);
			return -1;
		default:
			return serve_usage(NULL);
		}
	}
	if (optind != argc)
		return serve_usage("unexpected argument");
	if (!o->store || !o->listen)
		return serve_usage("--store and --listen are required");
	if (qrep_parse_hostport(o->listen, host, sizeof(host), port,
				sizeof(port), true))
		return serve_usage("invalid --listen address");
	return 0;
}

void qrep_target_init(struct qrep_target *t)
{
	pthread_rwlockattr_t attr;

	/* An epoch raise must not wait behind an endless stream of I/O. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
		PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&t->fence_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&t->pool_mutex, NULL);
	pthread_cond_init(&t->pool_cond, NULL);
	pthread_mutex_init(&t->queue_mutex, NULL);
	pthread_cond_init(&t->queue_cond, NULL);
	pthread_mutex_init(&t->conns_mutex, NULL);
	pthread_cond_init(&t->conns_cond, NULL);
}

void qrep_target_uninit(struct qrep_target *t)
{
	pthread_rwlock_destroy(&t->fence_lock);
	pthread_mutex_destroy(&t->pool_mutex);
	pthread_cond_destroy(&t->pool_cond);
	pthread_mutex_destroy(&t->queue_mutex);
	pthread_cond_destroy(&t->queue_cond);
	pthread_mutex_destroy(&t->conns_mutex);
	pthread_cond_destroy(&t->conns_cond);
}

static uint64_t stats_epoch(void *arg)
{
	return qrep_store_epoch(((struct qrep_target *)arg)->store);
}

/* Blocks SIGTERM/SIGINT (inherited by every thread to come) for sigfd. */
static int signals_setup(void)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };
	sigset_t set;
	int fd;

	/* A peer that vanishes must not kill us; sends use MSG_NOSIGNAL too. */
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void accept_loop(struct qrep_target *t, int lfd, int sfd)
{
	struct pollfd pfd[2] = {
		{ .fd = lfd, .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
	};
	struct signalfd_siginfo si;
	struct timespec pause = {
		.tv_sec = QREP_TARGET_ACCEPT_RETRY_MS / 1000,
		.tv_nsec = (QREP_TARGET_ACCEPT_RETRY_MS % 1000) * 1000000L,
	};
	int fd;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			qrep_err("poll: %s", strerror(errno));
			return;
		}
		if (pfd[1].revents) {
			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				qrep_info("%s: shutting down",
					  strsignal((int)si.ssi_signo));
			return;
		}
		if (!pfd[0].revents)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == ECONNABORTED)
				continue;
			qrep_warn("accept: %s", strerror(errno));
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				nanosleep(&pause, NULL);
			continue;
		}
		qrep_target_conn_start(t, fd);
	}
}

static int open_store(struct qrep_target *t, const char *path)
{
	char ustr[QREP_UUID_STR_LEN + 1], err[512];
	uint64_t max;
	int ret;

	ret = qrep_store_open(path, QREP_STORE_EXCL, &t->store, err,
			      sizeof(err));
	if (ret) {
		qrep_err("%s", err);
		return ret;
	}
	t->info = qrep_store_info(t->store);
	if (!t->info->clean) {
		qrep_warn("%s was not closed cleanly: scanning its metadata "
			  "for the highest version", path);
		qrep_warn("%s: checked %llu blocks in %llu write-intent "
			  "regions: %llu torn, reported as not held until a "
			  "replica's copy repairs them", path,
			  (unsigned long long)t->info->blocks_verified,
			  (unsigned long long)t->info->regions_verified,
			  (unsigned long long)t->info->torn_blocks);
	}
	ret = qrep_store_max_version(t->store, &max);
	if (ret) {
		qrep_err("%s: cannot read its metadata: %s", path,
			 strerror(-ret));
		qrep_store_close(t->store);
		return ret;
	}
	qrep_uuid_format(t->info->uuid, ustr);
	qrep_info("store %s: device %s, %llu bytes, epoch %llu, "
		  "max_version %llu", path, ustr,
		  (unsigned long long)t->info->size,
		  (unsigned long long)t->info->epoch,
		  (unsigned long long)max);
	if (t->info->joining)
		qrep_warn("store %s is joining (a replacement that has not "
			  "learned the cluster's epoch): every client is "
			  "refused until it is stopped and 'qrep-target join' "
			  "has run", path);
	return 0;
}

/*
 * The secret, before anything else is opened: a refused secret file is a
 * configuration error to fix, like a bad option.
 */
static int load_secret(const char *path, struct qrep_secret *secret)
{
	char err[512];
	int ret;

	if (!path) {
		qrep_warn("no --secret-file: clients are not authenticated; "
			  "anyone who can connect can read and write the "
			  "store");
		return 0;
	}
	ret = qrep_secret_load(path, secret, err, sizeof(err));
	if (ret) {
		qrep_err("%s", err);
		return ret;
	}
	qrep_info("clients must prove the secret in %s", path);
	return 0;
}

int qrep_target_cmd_serve(int argc, char **argv)
{
	struct qrep_target_stats_writer sw = { 0 };
	struct qrep_secret *secret = NULL;
	char addr[QREP_ADDR_STR_MAX];
	struct serve_opts o = { 0 };
	struct qrep_target *t;
	int lfd, sfd, ret, rc = QREP_EXIT_FAIL;

	ret = parse_serve_opts(argc, argv, &o);
	if (ret)
		return ret < 0 ? QREP_EXIT_OK : ret;

	t = calloc(1, sizeof(*t));
	if (!t) {
		qrep_err("out of memory");
		return QREP_EXIT_FAIL;
	}
	qrep_target_init(t);
	if (o.secret_file) {
		secret = calloc(1, sizeof(*secret));
		if (!secret) {
			qrep_err("out of memory");
			goto out_free;
		}
	}
	if (load_secret(o.secret_file, secret))
		goto out_free;
	t->secret = secret;
	if (open_store(t, o.store))
		goto out_free;

	sfd = signals_setup();
	if (sfd < 0) {
		qrep_err("cannot set up signals: %s", strerror(-sfd));
		goto out_store;
	}
	ret = qrep_target_pool_start(t, o.threads);
	if (ret) {
		qrep_err("cannot start workers: %s", strerror(-ret));
		goto out_signals;
	}
	if (o.stats_file) {
		sw.stats = &t->stats;
		sw.path = o.stats_file;
		sw.epoch = stats_epoch;
		sw.arg = t;
		ret = qrep_stats_writer_start(&sw);
		if (ret) {
			qrep_err("cannot write stats file %s: %s",
				 o.stats_file, strerror(-ret));
			sw.path = NULL;
			goto out_pool;
		}
	}

	/* Last: whoever can connect finds everything ready. */
	lfd = qrep_listen(o.listen, QREP_TARGET_LISTEN_BACKLOG);
	if (lfd < 0) {
		qrep_err("cannot listen on %s: %s", o.listen,
			 lfd == -EADDRINUSE ? "address already in use" :
			 strerror(-lfd));
		goto out_stats;
	}
	qrep_sock_name(lfd, false, addr, sizeof(addr));
	qrep_info("listening on %s with %u worker threads", addr, o.threads);

	accept_loop(t, lfd, sfd);
	rc = QREP_EXIT_OK;
	close(lfd);
	qrep_target_conns_shutdown(t);
	qrep_target_conns_wait_idle(t);
out_stats:
	if (sw.path) {
		ret = qrep_stats_writer_stop(&sw);
		if (ret)
			qrep_warn("cannot write stats file %s: %s",
				  o.stats_file, strerror(-ret));
	}
out_pool:
	qrep_target_pool_stop(t);
out_signals:
	close(sfd);
out_store:
	ret = qrep_store_close(t->store);
	if (ret) {
		qrep_err("%s: closing the store failed: %s", o.store,
			 strerror(-ret));
		rc = QREP_EXIT_FAIL;
	} else if (rc == QREP_EXIT_OK) {
		qrep_info("store flushed and marked clean; exiting");
	}
out_free:
	if (secret) {
		qrep_secret_wipe(secret);
		free(secret);
	}
	qrep_target_uninit(t);
	free(t);
	return rc;
}
