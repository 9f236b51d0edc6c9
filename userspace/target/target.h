/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qrep-target: the network block target serving one replica store.
 *
 * Threads of a serving target:
 *  - main: accepts connections and waits for SIGTERM/SIGINT (cmd_serve.c);
 *  - one reader per connection: handshake, then parses requests; runs
 *    the cheap ones itself, and sends their replies, when nothing else
 *    of the connection is in progress, and queues the others (conn.c);
 *  - a fixed pool of workers: run queued requests against the store
 *    and send the replies (pool.c, request.c);
 *  - the stats writer, if --stats-file is given (stats.c).
 *
 * A connection is reference counted: its reader holds one reference and
 * every queued request one more. The last put closes the socket, so a
 * reply is never written to a descriptor number that has been reused.
 */
#ifndef QREP_TARGET_H
#define QREP_TARGET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "net.h"
#include "proto.h"
#include "stats.h"
#include "store.h"

/*
 * Tunables. Each is a named default; the ones with an option say so.
 *
 * QREP_TARGET_DEFAULT_THREADS: worker threads running requests
 * (--threads). Store I/O blocks in pread/pwrite/fdatasync, so more
 * threads than cores keep the disk busy.
 *
 * QREP_TARGET_MAX_INFLIGHT: requests in progress across all connections.
 * Each owns a 1 MiB buffer (address space; resident only as far as
 * requests have used it).
 *
 * QREP_TARGET_CONN_MAX_INFLIGHT: requests in progress on one connection,
 * so that one client cannot hold them all.
 *
 * QREP_TARGET_RUN_HERE_MAX_BLOCKS: the largest WRITE a connection's
 * reader runs itself rather than queueing it for a worker (conn.c).
 *
 * QREP_TARGET_MAX_CONNS: connections served at once; more are refused.
 *
 * QREP_TARGET_HELLO_TIMEOUT_MS: a client must send its hello this soon.
 *
 * QREP_TARGET_SEND_TIMEOUT_MS: a reply that cannot be sent this long
 * ends the connection: a client that stops reading must not hold a
 * worker for ever.
 *
 * QREP_TARGET_KEEPALIVE_*: TCP keepalive on idle connections, to notice
 * a peer that vanished without a FIN or RST (power loss, a cut cable)
 * after 30 s + 3 x 10 s.
 */
#define QREP_TARGET_DEFAULT_THREADS	8
#define QREP_TARGET_MAX_THREADS		256
#define QREP_TARGET_MAX_INFLIGHT	64
#define QREP_TARGET_CONN_MAX_INFLIGHT	32
#define QREP_TARGET_RUN_HERE_MAX_BLOCKS	16
#define QREP_TARGET_MAX_CONNS		256
#define QREP_TARGET_LISTEN_BACKLOG	64
#define QREP_TARGET_HELLO_TIMEOUT_MS	10000
#define QREP_TARGET_SEND_TIMEOUT_MS	30000
#define QREP_TARGET_KEEPALIVE_IDLE_S	30
#define QREP_TARGET_KEEPALIVE_INTVL_S	10
#define QREP_TARGET_KEEPALIVE_CNT	3

/* Exit codes of qrep-target. */
#define QREP_EXIT_OK		0
#define QREP_EXIT_FAIL		1	/* runtime error */
#define QREP_EXIT_USAGE		2	/* bad arguments */

struct qrep_target;

struct qrep_target_conn {
	struct qrep_target *t;
	int fd;
	uint64_t id;
	char peer[QREP_ADDR_STR_MAX];
	atomic_int refs;
	pthread_mutex_t send_mutex;	/* one reply on the wire at a time */
	atomic_bool dead;		/* a send failed: drop later replies */
	unsigned int inflight;		/* t->pool_mutex: requests held */
	/*
	 * t->pool_mutex: the requests held, oldest first. The reader takes
	 * a request object before it reads the request into it, so this is
	 * the order they arrived in (see qrep_target_req_wait_earlier()).
	 */
	struct qrep_target_req *oldest, *newest;
	struct qrep_target_conn *prev, *next;	/* t->conns_mutex */
};

struct qrep_target_req {
	struct qrep_target_req *next;	/* free list or work queue */
	struct qrep_target_conn *conn;
	/* t->pool_mutex: on conn's list of requests held (above). */
	struct qrep_target_req *conn_prev, *conn_next;
	struct qrep_req_msg msg;
	enum qrep_status status;	/* set by the reader: OK or RANGE */
	uint8_t *data;			/* QREP_MAX_REQ_BLOCKS blocks */
	uint64_t versions[QREP_MAX_REQ_BLOCKS];
	uint32_t crcs[QREP_MAX_REQ_BLOCKS];
	bool crc_bad[QREP_MAX_REQ_BLOCKS];
	/* What a reply carries before any data: versions, summaries, checks. */
	uint8_t meta_wire[QREP_MAX_REQ_BLOCKS * QREP_BLOCK_CHECK_SIZE];
	size_t meta_len;
};

struct qrep_target {
	struct qrep_store *store;
	const struct qrep_store_info *info;
	/* Clients must prove they know it; NULL: none may try. */
	const struct qrep_secret *secret;
	struct qrep_target_stats stats;

	/*
	 * Readers: every request, from its epoch check until its store
	 * operation is done. Writer: raising the epoch. So once a new epoch
	 * is durable, no request of an older one is still being applied,
	 * and none will be.
	 */
	pthread_rwlock_t fence_lock;

	pthread_mutex_t pool_mutex;
	pthread_cond_t pool_cond;	/* a request was freed, or stopping */
	struct qrep_target_req *free_reqs;
	unsigned int reqs_allocated;
	bool stopping;			/* pool_mutex: readers take no more */

	pthread_mutex_t queue_mutex;
	pthread_cond_t queue_cond;
	struct qrep_target_req *queue_head, *queue_tail;
	bool workers_stop;		/* queue_mutex */
	pthread_t *workers;
	unsigned int nworkers;

	pthread_mutex_t conns_mutex;
	pthread_cond_t conns_cond;	/* a connection went away */
	struct qrep_target_conn *conns;
	unsigned int nconns;
	uint64_t next_conn_id;
};

/* Subcommands: argc/argv start at the subcommand's name. */
int qrep_target_cmd_init(int argc, char **argv);
int qrep_target_cmd_serve(int argc, char **argv);
int qrep_target_cmd_info(int argc, char **argv);
int qrep_target_cmd_join(int argc, char **argv);

/* cmd_serve.c: the locks and condition variables of a new target. */
void qrep_target_init(struct qrep_target *t);
void qrep_target_uninit(struct qrep_target *t);

/* conn.c: each takes over fd, closing it on failure. */
int qrep_target_conn_start(struct qrep_target *t, int fd);
/*
 * Serves a connection in the calling thread, as the reader thread of
 * qrep_target_conn_start() would, and returns when the reader is done;
 * requests it queued may still be running. For the fuzzer and tests.
 */
int qrep_target_conn_serve(struct qrep_target *t, int fd);
void qrep_target_conn_get(struct qrep_target_conn *c);
void qrep_target_conn_put(struct qrep_target_conn *c);
/* Stops every reader: their sockets stop delivering requests. */
void qrep_target_conns_shutdown(struct qrep_target *t);
void qrep_target_conns_wait_idle(struct qrep_target *t);

/* pool.c */
int qrep_target_pool_start(struct qrep_target *t, unsigned int nworkers);
void qrep_target_pool_stop(struct qrep_target *t);
struct qrep_target_req *qrep_target_req_get(struct qrep_target *t,
					    struct qrep_target_conn *c);
void qrep_target_req_put(struct qrep_target *t, struct qrep_target_req *r);
void qrep_target_req_queue(struct qrep_target *t, struct qrep_target_req *r);
/*
 * Returns once every request that arrived on r's connection before r has
 * been run and answered (its object put back). A FLUSH waits so: see
 * request.c.
 */
void qrep_target_req_wait_earlier(struct qrep_target *t,
				  struct qrep_target_req *r);
void qrep_target_pool_stopping(struct qrep_target *t);

/* request.c */
void qrep_target_req_run(struct qrep_target *t, struct qrep_target_req *r);
int qrep_target_send_reply(struct qrep_target_conn *c,
			   const struct qrep_reply_msg *m,
			   const void *meta, size_t meta_len,
			   const void *data, size_t data_len,
			   unsigned int kind);
int qrep_target_raise_epoch(struct qrep_target *t, uint64_t epoch);

#endif /* QREP_TARGET_H */
