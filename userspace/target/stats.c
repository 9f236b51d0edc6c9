// SPDX-License-Identifier: GPL-2.0
/* Counters of a serving target and the --stats-file writer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/qrep_proto.h>

#include "log.h"
#include "stats.h"

static const char *const kind_names[QREP_STATS_KINDS] = {
	[QREP_STATS_HELLO] = "hello",
	[QREP_OP_READ] = "read",
	[QREP_OP_WRITE] = "write",
	[QREP_OP_FLUSH] = "flush",
	[QREP_OP_VERSIONS] = "versions",
	[QREP_OP_SUMMARY] = "summary",
	[QREP_OP_CHECKSUMS] = "checksums",
	[QREP_OP_EPOCH_PROPOSE] = "epoch_propose",
};

_Static_assert(__QREP_OP_MAX == QREP_STATS_KINDS, "one kind per op");

unsigned int qrep_stats_kind(unsigned int op)
{
	return op < QREP_STATS_KINDS ? op : QREP_STATS_HELLO;
}

static uint64_t get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void write_stats(FILE *f, const struct qrep_target_stats_writer *w)
{
	const struct qrep_target_stats *s = w->stats;
	struct timespec now;
	unsigned int k;

	clock_gettime(CLOCK_MONOTONIC, &now);
	fprintf(f, "uptime_seconds %lld\n",
		(long long)(now.tv_sec - w->start.tv_sec));
	fprintf(f, "epoch %llu\n", (unsigned long long)w->epoch(w->arg));
	fprintf(f, "bytes_received %llu\n",
		(unsigned long long)get(&s->bytes_received_total));
	fprintf(f, "bytes_sent %llu\n",
		(unsigned long long)get(&s->bytes_sent_total));
	fprintf(f, "connections_accepted %llu\n",
		(unsigned long long)get(&s->connections_accepted));
	fprintf(f, "connections_refused %llu\n",
		(unsigned long long)get(&s->connections_refused));
	fprintf(f, "connections_active %llu\n",
		(unsigned long long)get(&s->connections_active));
	fprintf(f, "handshakes_failed %llu\n",
		(unsigned long long)get(&s->handshakes_failed));
	fprintf(f, "auth_failed %llu\n",
		(unsigned long long)get(&s->auth_failed));
	fprintf(f, "requests_malformed %llu\n",
		(unsigned long long)get(&s->malformed));
	fprintf(f, "checksum_errors %llu\n",
		(unsigned long long)get(&s->checksum_errors));
	fprintf(f, "write_blocks_ignored %llu\n",
		(unsigned long long)get(&s->write_blocks_ignored));
	for (k = 0; k < QREP_STATS_KINDS; k++) {
		const char *n = kind_names[k];

		fprintf(f, "%s_requests %llu\n", n,
			(unsigned long long)get(&s->requests[k]));
		fprintf(f, "%s_errors %llu\n", n,
			(unsigned long long)get(&s->errors[k]));
		if (k == QREP_OP_READ || k == QREP_OP_WRITE)
			fprintf(f, "%s_blocks %llu\n", n,
				(unsigned long long)get(&s->blocks[k]));
		fprintf(f, "%s_bytes_received %llu\n", n,
			(unsigned long long)get(&s->bytes_received[k]));
		fprintf(f, "%s_bytes_sent %llu\n", n,
			(unsigned long long)get(&s->bytes_sent[k]));
	}
}

int qrep_stats_write_file(const struct qrep_target_stats_writer *w)
{
	size_t len = strlen(w->path) + sizeof(".tmp");
	char *tmp = malloc(len);
	FILE *f;
	int err = 0;

	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, len, "%s.tmp", w->path);
	f = fopen(tmp, "we");
	if (!f) {
		err = -errno;
		goto out;
	}
	write_stats(f, w);
	if (ferror(f))
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, w->path))
		err = -errno;
	if (err)
		unlink(tmp);
out:
	free(tmp);
	return err;
}

static void *stats_writer_thread(void *arg)
{
	struct qrep_target_stats_writer *w = arg;
	struct timespec deadline;
	bool warned = false;
	int err;

	pthread_mutex_lock(&w->mutex);
	while (!w->stop) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += QREP_TARGET_STATS_INTERVAL_MS / 1000;
		deadline.tv_nsec += (QREP_TARGET_STATS_INTERVAL_MS % 1000) *
				    1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		while (!w->stop &&
		       pthread_cond_timedwait(&w->cond, &w->mutex,
					      &deadline) != ETIMEDOUT)
			;
		if (w->stop)
			break;
		pthread_mutex_unlock(&w->mutex);
		err = qrep_stats_write_file(w);
		/* Once per failure streak: the log must not fill up. */
		if (err && !warned)
			qrep_warn("cannot write stats file %s: %s", w->path,
				  strerror(-err));
		warned = err != 0;
		pthread_mutex_lock(&w->mutex);
	}
	pthread_mutex_unlock(&w->mutex);
	return NULL;
}

int qrep_stats_writer_start(struct qrep_target_stats_writer *w)
{
	pthread_condattr_t attr;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &w->start);
	w->stop = false;
	pthread_mutex_init(&w->mutex, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &attr);
	pthread_condattr_destroy(&attr);
	err = qrep_stats_write_file(w);
	if (err)
		goto fail;
	err = -pthread_create(&w->thread, NULL, stats_writer_thread, w);
	if (err)
		goto fail;
	return 0;
fail:
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mutex);
	return err;
}

int qrep_stats_writer_stop(struct qrep_target_stats_writer *w)
{
	pthread_mutex_lock(&w->mutex);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mutex);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mutex);
	return qrep_stats_write_file(w);
}
