// SPDX-License-Identifier: GPL-2.0
/*
 * Request objects and the worker pool.
 *
 * Request objects (with their 1 MiB data buffers) are allocated on first
 * need, up to QREP_TARGET_MAX_INFLIGHT, and then recycled through a free
 * list, so the steady state allocates nothing per request. A reader that
 * finds none free, or whose connection has QREP_TARGET_CONN_MAX_INFLIGHT
 * requests queued, waits: that is the target's back-pressure, and TCP
 * carries it to the client.
 *
 * Each connection also keeps its requests in the order they arrived, from
 * the moment the reader takes an object for one until the object is put
 * back after the reply: a FLUSH waits there for the ones before it
 * (qrep_target_req_wait_earlier). Nothing waits the other way round, so
 * this cannot deadlock: the requests a FLUSH waits for were run by the
 * reader before it read the FLUSH, or were queued before it and are taken
 * by workers first (the queue is FIFO).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "target.h"

#define REQ_DATA_BYTES	((size_t)QREP_MAX_REQ_BLOCKS * QREP_BLOCK_SIZE)

static struct qrep_target_req *req_alloc(void)
{
	struct qrep_target_req *r = calloc(1, sizeof(*r));
	void *data;

	if (!r)
		return NULL;
	/* Block-aligned, should the store ever use O_DIRECT. */
	if (posix_memalign(&data, QREP_BLOCK_SIZE, REQ_DATA_BYTES)) {
		free(r);
		return NULL;
	}
	r->data = data;
	return r;
}

static void req_free(struct qrep_target_req *r)
{
	free(r->data);
	free(r);
}

struct qrep_target_req *qrep_target_req_get(struct qrep_target *t,
					    struct qrep_target_conn *c)
{
	struct qrep_target_req *r = NULL;

	pthread_mutex_lock(&t->pool_mutex);
	for (;;) {
		if (t->stopping)
			goto out;
		if (c->inflight < QREP_TARGET_CONN_MAX_INFLIGHT) {
			if (t->free_reqs) {
				r = t->free_reqs;
				t->free_reqs = r->next;
				break;
			}
			if (t->reqs_allocated < QREP_TARGET_MAX_INFLIGHT) {
				r = req_alloc();
				if (!r) {
					qrep_err("out of memory for a request");
					goto out;
				}
				t->reqs_allocated++;
				break;
			}
		}
		pthread_cond_wait(&t->pool_cond, &t->pool_mutex);
	}
	c->inflight++;
	r->next = NULL;
	r->conn = c;
	r->status = QREP_OK;
	r->conn_next = NULL;
	r->conn_prev = c->newest;
	if (c->newest)
		c->newest->conn_next = r;
	else
		c->oldest = r;
	c->newest = r;
out:
	pthread_mutex_unlock(&t->pool_mutex);
	return r;
}

void qrep_target_req_put(struct qrep_target *t, struct qrep_target_req *r)
{
	struct qrep_target_conn *c = r->conn;

	pthread_mutex_lock(&t->pool_mutex);
	if (r->conn_prev)
		r->conn_prev->conn_next = r->conn_next;
	else
		c->oldest = r->conn_next;
	if (r->conn_next)
		r->conn_next->conn_prev = r->conn_prev;
	else
		c->newest = r->conn_prev;
	r->conn_prev = r->conn_next = NULL;
	c->inflight--;
	r->conn = NULL;
	r->next = t->free_reqs;
	t->free_reqs = r;
	pthread_cond_broadcast(&t->pool_cond);
	pthread_mutex_unlock(&t->pool_mutex);
}

void qrep_target_req_wait_earlier(struct qrep_target *t,
				  struct qrep_target_req *r)
{
	pthread_mutex_lock(&t->pool_mutex);
	while (r->conn->oldest != r)
		pthread_cond_wait(&t->pool_cond, &t->pool_mutex);
	pthread_mutex_unlock(&t->pool_mutex);
}

/* Wakes every reader waiting for a request object; they take no more. */
void qrep_target_pool_stopping(struct qrep_target *t)
{
	pthread_mutex_lock(&t->pool_mutex);
	t->stopping = true;
	pthread_cond_broadcast(&t->pool_cond);
	pthread_mutex_unlock(&t->pool_mutex);
}

/* The request holds a connection reference until its reply is sent. */
void qrep_target_req_queue(struct qrep_target *t, struct qrep_target_req *r)
{
	qrep_target_conn_get(r->conn);
	pthread_mutex_lock(&t->queue_mutex);
	if (t->queue_tail)
		t->queue_tail->next = r;
	else
		t->queue_head = r;
	t->queue_tail = r;
	pthread_cond_signal(&t->queue_cond);
	pthread_mutex_unlock(&t->queue_mutex);
}

static void *worker_thread(void *arg)
{
	struct qrep_target *t = arg;
	struct qrep_target_conn *c;
	struct qrep_target_req *r;

	for (;;) {
		pthread_mutex_lock(&t->queue_mutex);
		while (!t->queue_head && !t->workers_stop)
			pthread_cond_wait(&t->queue_cond, &t->queue_mutex);
		r = t->queue_head;
		if (!r) {	/* stopping, and the queue is drained */
			pthread_mutex_unlock(&t->queue_mutex);
			return NULL;
		}
		t->queue_head = r->next;
		if (!t->queue_head)
			t->queue_tail = NULL;
		pthread_mutex_unlock(&t->queue_mutex);

		c = r->conn;
		qrep_target_req_run(t, r);
		qrep_target_req_put(t, r);
		qrep_target_conn_put(c);
	}
}

int qrep_target_pool_start(struct qrep_target *t, unsigned int nworkers)
{
	unsigned int i;
	int err;

	t->workers = calloc(nworkers, sizeof(*t->workers));
	if (!t->workers)
		return -ENOMEM;
	for (i = 0; i < nworkers; i++) {
		err = pthread_create(&t->workers[i], NULL, worker_thread, t);
		if (err) {
			t->nworkers = i;
			qrep_target_pool_stop(t);
			return -err;
		}
	}
	t->nworkers = nworkers;
	return 0;
}

/* Workers finish what is queued, then exit; the objects are freed. */
void qrep_target_pool_stop(struct qrep_target *t)
{
	struct qrep_target_req *r;
	unsigned int i;

	pthread_mutex_lock(&t->queue_mutex);
	t->workers_stop = true;
	pthread_cond_broadcast(&t->queue_cond);
	pthread_mutex_unlock(&t->queue_mutex);
	for (i = 0; i < t->nworkers; i++)
		pthread_join(t->workers[i], NULL);
	free(t->workers);
	t->workers = NULL;
	t->nworkers = 0;

	pthread_mutex_lock(&t->pool_mutex);
	while ((r = t->free_reqs)) {
		t->free_reqs = r->next;
		req_free(r);
		t->reqs_allocated--;
	}
	pthread_mutex_unlock(&t->pool_mutex);
}
