// SPDX-License-Identifier: GPL-2.0
/*
 * qrepd's cluster mode: see cluster.h.
 *
 * Three threads of work, so that nothing slow holds up the heartbeats:
 *
 * - the main loop owns the election: poll() on the UDP socket, the
 *   kernel's event socket, the results pipe and a CLOCK_MONOTONIC
 *   deadline; it feeds the state machine and carries out its actions.
 *   Role changes of the device (DEV_CREATE, DEV_SET) are quick netlink
 *   calls made here, at once: a demotion must not wait for anything.
 * - each EPOCH_PROPOSE to a target runs in a short-lived thread
 *   (connect, hello at epoch 0 with the secret, the request, the answer,
 *   bounded by the epoch quorum timeout), which writes its answer to the
 *   results pipe; the main loop feeds it to the election as a message.
 * - the replica thread keeps the device's replicas as the role wants
 *   them: none while secondary; while primary at epoch E, every
 *   reachable target connected with a hello at E, failed ones
 *   reconnected and stale ones resynced (which can take long). It works
 *   from the role the main loop publishes, and looks again when woken or
 *   every reconnect-interval, so a race with a role change only costs
 *   one round.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/qrep.h>
#include <linux/qrep_quorum.h>

#include "auth.h"
#include "bytes.h"
#include "client.h"
#include "cluster.h"
#include "cluster_proto.h"
#include "cluster_status.h"
#include "device.h"
#include "peer.h"
#include "election.h"
#include "genl.h"
#include "log.h"
#include "net.h"
#include "replica_add.h"
#include "resync_driver.h"
#include "uptodate.h"
#include "view.h"

#define EXIT_FAIL	1

/* At most this many proposals in flight: more means targets hang. */
#define MAX_JOBS		(2 * QREP_MAX_REPLICAS)
/* A dropped datagram is logged at most once per this, per kind. */
#define DROP_LOG_INTERVAL_MS	10000
/* The status file's "last heard" times are refreshed this often. */
#define STATUS_REFRESH_MS	1000

_Static_assert(QREP_CONFIG_MAX_NODES == QREP_ELECTION_MAX_NODES, "nodes");
_Static_assert(QREP_MAX_REPLICAS <= QREP_ELECTION_MAX_TARGETS, "targets");

/* What a proposal thread reports through the pipe (< PIPE_BUF: atomic). */
enum job_outcome {
	JOB_ACCEPTED,		/* the target took the epoch */
	JOB_REJECTED,		/* it holds that epoch or a newer one; or,
				 * a probe (epoch 0), it answered */
	JOB_FAILED,		/* no answer: unreachable, refused, broken */
};

/* Written whole to a pipe: under PIPE_BUF, so never interleaved. */
struct job_result {
	uint32_t target;
	uint32_t round;
	uint32_t outcome;	/* enum job_outcome */
	uint64_t epoch;		/* proposed; 0: a probe */
	uint64_t store_epoch;	/* the target's, after it */
	char why[256];
};

_Static_assert(sizeof(struct job_result) < PIPE_BUF, "one atomic write");

struct job {
	const struct qrep_config *cfg;
	const struct qrep_secret *secret;
	atomic_uint *in_flight;
	int pipe_fd;
	int timeout_ms;
	struct job_result r;
};

struct drop_log {
	uint64_t last_ms;
	unsigned long suppressed;
};

/*
 * Why a datagram was dropped, for the log: a verdict of
 * qrep_cluster_accept(), or, for one that passed them all, that it came
 * from another address than its sender's node line.
 */
#define DROP_WRONG_ADDRESS	(QREP_CLUSTER_REPLAYED + 1)
#define DROP_KINDS		(DROP_WRONG_ADDRESS + 1)

struct cluster {
	const struct qrep_config *cfg;
	uint32_t self;
	char status_path[4096];
	struct qrep_secret secret_buf;
	const struct qrep_secret *secret;

	struct qrep_election el;
	struct qrep_cluster_tx tx;
	struct qrep_cluster_rx rx;
	int udp;
	struct sockaddr_storage addr[QREP_CONFIG_MAX_NODES];
	socklen_t addr_len[QREP_CONFIG_MAX_NODES];	/* 0: unresolved */

	struct qrep_genl ctl, events;
	int results[2];		/* proposal threads -> main loop */
	atomic_uint jobs;

	/* Published to the replica thread. */
	_Atomic uint64_t primary_epoch;	/* 0: not primary */
	atomic_uint uptodate;	/* replicas the device has up to date */
	atomic_bool stop;
	int wake;		/* eventfd: look at the replicas again */
	/* Replica thread: the newer epoch a target refused us with, logged. */
	uint64_t left_out_epoch[QREP_MAX_REPLICAS];
	bool joining_told[QREP_MAX_REPLICAS];	/* said once per joining */

	uint32_t local_targets;	/* replicas on this node's host */
	uint64_t caught_up_fed;	/* epoch CAUGHT_UP was fed for */
	const char *device_role;	/* "primary", "secondary", "none" */
	char last_change[QREP_CLUSTER_STATUS_TEXT_MAX];
	uint64_t heard_ms[QREP_CONFIG_MAX_NODES];	/* Unix ms */
	uint64_t status_written;	/* monotonic ms */
	uint64_t deadline;		/* the election's next TICK; 0 none */
	struct drop_log drops[DROP_KINDS];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int node_slot(const struct cluster *c, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < c->cfg->nr_nodes; i++)
		if (c->cfg->nodes[i].id == id)
			return (int)i;
	return -1;
}

/* ---- status ----------------------------------------------------------- */

static void write_status(struct cluster *c)
{
	struct qrep_cluster_status st = { 0 };
	unsigned int i;
	int ret;

	snprintf(st.resource, sizeof(st.resource), "%s", c->cfg->name);
	st.device = c->cfg->device;
	st.self = c->self;
	st.pid = (uint32_t)getpid();
	st.updated_ms = unix_ms();
	snprintf(st.election, sizeof(st.election), "%s",
		 qrep_election_role_name(qrep_election_role(&c->el)));
	snprintf(st.device_role, sizeof(st.device_role), "%s", c->device_role);
	st.primary = qrep_election_primary(&c->el);
	st.epoch = qrep_election_epoch(&c->el);
	st.seen_epoch = qrep_election_seen_epoch(&c->el);
	snprintf(st.last_change, sizeof(st.last_change), "%s", c->last_change);
	st.nr_nodes = c->cfg->nr_nodes;
	for (i = 0; i < c->cfg->nr_nodes; i++) {
		st.nodes[i].id = c->cfg->nodes[i].id;
		snprintf(st.nodes[i].addr, sizeof(st.nodes[i].addr), "%s",
			 c->cfg->nodes[i].addr);
		st.nodes[i].last_heard_ms = c->heard_ms[i];
	}
	ret = qrep_cluster_status_write(c->status_path, &st);
	if (ret)
		qrep_warn("status file %s: %s", c->status_path, strerror(-ret));
	c->status_written = mono_ms();
}

__attribute__((format(printf, 2, 3)))
static void change(struct cluster *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->last_change, sizeof(c->last_change), fmt, ap);
	va_end(ap);
	qrep_info("%s", c->last_change);
}

/* ---- the device's role ------------------------------------------------ */

static void wake_replicas(struct cluster *c)
{
	uint64_t one = 1;

	if (write(c->wake, &one, sizeof(one)) < 0 && errno != EAGAIN)
		qrep_warn("waking the replica thread: %s", strerror(errno));
}

static bool device_exists(struct cluster *c, struct qrep_view *v)
{
	memset(v, 0, sizeof(*v));
	return qrep_view_load(&c->ctl, c->cfg->device, v) == 0;
}

/* The election made us writable at @epoch: primary, then the replicas. */
static void make_primary(struct cluster *c, uint64_t epoch)
{
	struct qrep_view v;
	bool exists;
	int ret;

	if (epoch > QREP_MAX_QUORUM_EPOCH) {
		qrep_err("epoch %" PRIu64 " is beyond what quorum mode can stamp (%llu): the stores must be initialised again",
			 epoch, (unsigned long long)QREP_MAX_QUORUM_EPOCH);
		return;
	}
	exists = device_exists(c, &v);
	if (exists && v.epoch > epoch) {
		/* Stamping a larger epoch than we won could be another's. */
		qrep_err("/dev/qrep%u holds epoch %" PRIu64 ", above the %" PRIu64 " this node won: not making it primary",
			 c->cfg->device, v.epoch, epoch);
		return;
	}
	if (exists) {
		/*
		 * The same epoch as the device's: it was made secondary at
		 * that epoch and never wrote under it (an election always
		 * takes a new one). Only the role changes then.
		 */
		ret = qrep_device_set_role(&c->ctl, c->cfg->device,
					   QREP_ROLE_PRIMARY,
					   v.epoch == epoch ? 0 : epoch);
	} else {
		ret = qrep_device_create(&c->ctl, c->cfg, epoch,
					 QREP_ROLE_PRIMARY);
	}
	if (ret) {
		/*
		 * Safe, if useless: the device refuses I/O, and the
		 * targets hold our epoch. The next election may do better.
		 */
		qrep_err("/dev/qrep%u: cannot make it primary at epoch %" PRIu64 ": %s",
			 c->cfg->device, epoch,
			 c->ctl.error[0] ? c->ctl.error : strerror(-ret));
		return;
	}
	c->device_role = "primary";
	atomic_store(&c->primary_epoch, epoch);
	wake_replicas(c);
}

/* The election demoted us: the device refuses I/O from now on. */
static void make_secondary(struct cluster *c, const char *why)
{
	struct qrep_view v;
	int ret;

	atomic_store(&c->primary_epoch, 0);
	if (!device_exists(c, &v)) {
		c->device_role = "none";
		return;
	}
	ret = qrep_device_set_role(&c->ctl, c->cfg->device,
				   QREP_ROLE_SECONDARY, 0);
	if (ret)
		qrep_err("/dev/qrep%u: cannot make it secondary (%s): %s",
			 c->cfg->device, why,
			 c->ctl.error[0] ? c->ctl.error : strerror(-ret));
	else
		c->device_role = "secondary";
	wake_replicas(c);	/* it removes the replicas */
}

/*
 * At start: a device that exists is left to the election (whose start
 * demotes it); else one is made as a secondary, so /dev/qrepN is there
 * and refuses I/O until this node wins. Returns the device's epoch (0 if
 * none), the largest this node knows of.
 */
static uint64_t device_at_start(struct cluster *c)
{
	struct qrep_view v;
	int ret;

	if (device_exists(c, &v)) {
		c->device_role = "unknown";
		return v.epoch;
	}
	ret = qrep_device_create(&c->ctl, c->cfg, QREP_DEFAULT_EPOCH,
				 QREP_ROLE_SECONDARY);
	if (ret) {
		qrep_err("/dev/qrep%u: cannot create it as a secondary: %s; it is made when this node wins an election",
			 c->cfg->device,
			 c->ctl.error[0] ? c->ctl.error : strerror(-ret));
		c->device_role = "none";
	} else {
		qrep_info("/dev/qrep%u created as a secondary: it refuses I/O until this node is elected",
			  c->cfg->device);
		c->device_role = "secondary";
	}
	return 0;
}

/* ---- proposals to the targets ---------------------------------------- */

static void *job_run(void *arg)
{
	struct job *j = arg;
	const struct qrep_config *cfg = j->cfg;
	struct qrep_client_device dev = {
		.size = cfg->size, .epoch = 0, .secret = j->secret,
	};
	struct qrep_hello_reply_msg hello;
	struct qrep_peer peer;
	bool accepted = false;
	char err[256];
	int fd;

	memcpy(dev.uuid, cfg->uuid, sizeof(dev.uuid));
	j->r.outcome = JOB_FAILED;
	fd = qrep_client_open(cfg->replicas[j->r.target].addr, &dev,
			      j->timeout_ms, &hello, err, sizeof(err));
	if (fd < 0) {
		snprintf(j->r.why, sizeof(j->r.why), "%s", err);
	} else if (!j->r.epoch) {
		/* A probe: the hello, which claims no epoch, is the answer. */
		j->r.store_epoch = hello.epoch;
		j->r.outcome = JOB_REJECTED;
		close(fd);
	} else {
		/* The proposal's answer is as urgent as the handshake. */
		qrep_sock_set_timeouts(fd, j->timeout_ms, j->timeout_ms);
		/* Epoch 0, as in the hello: a proposal claims no epoch. */
		qrep_peer_init(&peer, fd, cfg->replicas[j->r.target].name, 0);
		if (qrep_peer_propose_epoch(&peer, j->r.epoch, &accepted,
					    &j->r.store_epoch))
			snprintf(j->r.why, sizeof(j->r.why), "%s", peer.error);
		else
			j->r.outcome = accepted ? JOB_ACCEPTED : JOB_REJECTED;
		qrep_peer_close(&peer);
	}
	if (write(j->pipe_fd, &j->r, sizeof(j->r)) != (ssize_t)sizeof(j->r))
		qrep_warn("proposal result lost: %s", strerror(errno));
	atomic_fetch_sub(j->in_flight, 1);
	free(j);
	return NULL;
}

static void propose(struct cluster *c, const struct qrep_election_send *s)
{
	const struct qrep_election_config *ec = &c->el.cfg;
	pthread_attr_t attr;
	pthread_t tid;
	struct job *j;

	if (s->to >= c->cfg->nr_replicas)
		return;
	/* Dropped like a lost message: the election copes with those. */
	if (atomic_load(&c->jobs) >= MAX_JOBS) {
		qrep_warn("replica %s: too many proposals in flight; not sending %s",
			  c->cfg->replicas[s->to].name,
			  qrep_election_msg_name(s->msg.type));
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->cfg = c->cfg;
	j->secret = c->secret;
	j->in_flight = &c->jobs;
	j->pipe_fd = c->results[1];
	/* An answer after the quorum timeout no longer counts anyway. */
	j->timeout_ms = (int)(c->cfg->connect_timeout_ms < ec->quorum_timeout_ms ?
			      c->cfg->connect_timeout_ms : ec->quorum_timeout_ms);
	j->r.target = s->to;
	j->r.round = s->msg.round;
	j->r.epoch = s->msg.type == QREP_MSG_TARGET_PROBE ? 0 : s->msg.epoch;
	atomic_fetch_add(&c->jobs, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, job_run, j)) {
		atomic_fetch_sub(&c->jobs, 1);
		free(j);
		qrep_warn("cannot start a proposal thread");
	}
	pthread_attr_destroy(&attr);
}

/* ---- the replica thread ----------------------------------------------- */

static void note_log(void *arg, const char *msg)
{
	(void)arg;
	qrep_info("%s", msg);
}

/*
 * One look at the replicas. Secondary: none may stay. Primary at E:
 * those connected at another epoch go (their targets saw an older hello),
 * every missing or failed one is connected with a hello at E, and stale
 * ones are resynced.
 */
static void replicas_once(struct cluster *c, struct qrep_genl *g,
			  uint64_t *slot_epoch, uint64_t *next_try)
{
	struct qrep_replica_conn conns[QREP_MAX_REPLICAS];
	const struct qrep_config *cfg = c->cfg;
	uint64_t epoch = atomic_load(&c->primary_epoch), now = mono_ms();
	unsigned int i, added = 0, uptodate = 0;
	bool batch;
	struct qrep_view v;
	char err[256];
	int ret;

	memset(&v, 0, sizeof(v));
	if (qrep_view_load(g, cfg->device, &v))
		return;
	/* A first connection of the whole set: stale ones are found. */
	batch = true;
	for (i = 0; i < cfg->nr_replicas; i++)
		if (v.replicas[i].present && slot_epoch[i] == epoch && epoch)
			batch = false;
	qrep_replica_conns_init(conns, cfg->nr_replicas);
	for (i = 0; i < cfg->nr_replicas; i++) {
		bool present = v.replicas[i].present;

		if (present && (!epoch || slot_epoch[i] != epoch)) {
			ret = qrep_device_remove_replica(g, cfg->device, i);
			if (ret && ret != -ENOENT)
				qrep_warn("replica %s: cannot remove it: %s",
					  cfg->replicas[i].name, g->error);
			present = false;
			slot_epoch[i] = 0;
		}
		if (!epoch || (present &&
			       v.replicas[i].state != QREP_REPLICA_FAILED))
			continue;
		if (now < next_try[i])
			continue;
		next_try[i] = now + cfg->reconnect_interval_ms;
		ret = qrep_replica_open(cfg, i, epoch, c->secret, &conns[i],
					err, sizeof(err));
		if (ret == -ESTALE) {
			/*
			 * One target holds a newer epoch. Not a reason to step
			 * down by itself: a node cut off alone raises the
			 * epoch of the target it reaches, its own, every time
			 * it tries an election, and a primary that stepped
			 * down for that would fail its file system's I/O at
			 * every heal. If a newer primary exists, W targets
			 * refuse our writes (the kernel's fenced events) and
			 * its heartbeats reach us: either demotes us. This
			 * target is left out until the next election.
			 */
			if (c->left_out_epoch[i] != conns[i].hello.epoch)
				qrep_warn("replica %s holds epoch %" PRIu64 ", newer than ours (%" PRIu64 "): left out until the next election",
					  cfg->replicas[i].name,
					  conns[i].hello.epoch, epoch);
			c->left_out_epoch[i] = conns[i].hello.epoch;
		} else if (ret == -EBUSY) {
			/* A replacement store, waiting for qrep-target join. */
			if (!c->joining_told[i])
				qrep_warn("replica %s: %s", cfg->replicas[i].name,
					  err);
			c->joining_told[i] = true;
		} else if (ret) {
			qrep_dbg("replica %s: %s", cfg->replicas[i].name, err);
		} else {
			c->joining_told[i] = false;
		}
	}
	/*
	 * Which are behind, by their regions (uptodate.h), before the kernel
	 * sees any: its bitmaps died with the last primary. If that cannot
	 * be decided, none is added this round.
	 */
	if (batch && qrep_replica_conns_find_stale(cfg, conns, note_log, NULL))
		qrep_replica_conns_close(conns, cfg->nr_replicas);
	for (i = 0; i < cfg->nr_replicas; i++) {
		if (conns[i].fd < 0)
			continue;
		/* The role may have changed while we connected. */
		if (atomic_load(&c->primary_epoch) != epoch)
			break;
		if (v.replicas[i].present)	/* failed: give it a new socket */
			ret = qrep_replica_hand_over(g, cfg, i, conns[i].fd,
						     conns[i].hello.max_version,
						     false);
		else
			ret = qrep_replica_hand_over(g, cfg, i, conns[i].fd,
						     conns[i].hello.max_version,
						     conns[i].stale);
		if (ret) {
			qrep_warn("replica %s: not added: %s",
				  cfg->replicas[i].name,
				  g->error[0] ? g->error : strerror(-ret));
			continue;
		}
		slot_epoch[i] = epoch;
		added++;
		qrep_info("replica %s connected at epoch %" PRIu64,
			  cfg->replicas[i].name, epoch);
	}
	qrep_replica_conns_close(conns, cfg->nr_replicas);
	if (!epoch) {
		atomic_store(&c->uptodate, 0);
		return;
	}
	if (added && qrep_view_load(g, cfg->device, &v))
		return;
	for (i = 0; i < cfg->nr_replicas; i++) {
		if (v.replicas[i].present &&
		    v.replicas[i].state == QREP_REPLICA_UPTODATE)
			uptodate |= 1u << i;
	}
	atomic_store(&c->uptodate, uptodate);
	for (i = 0; i < cfg->nr_replicas; i++) {
		if (atomic_load(&c->primary_epoch) != epoch)
			return;
		if (!v.replicas[i].present ||
		    v.replicas[i].state != QREP_REPLICA_STALE)
			continue;
		qrep_info("replica %s is stale: resyncing it",
			  cfg->replicas[i].name);
		if (qrep_resync_stale(g, cfg, (int)i) == 0) {
			qrep_info("replica %s is up to date",
				  cfg->replicas[i].name);
			atomic_fetch_or(&c->uptodate, 1u << i);
		}
	}
}

static void *replica_thread(void *arg)
{
	uint64_t slot_epoch[QREP_MAX_REPLICAS] = { 0 };
	uint64_t next_try[QREP_MAX_REPLICAS] = { 0 };
	struct cluster *c = arg;
	struct qrep_genl g, ev;
	struct pollfd pfd[2];
	uint64_t val;

	if (qrep_genl_open(&g) || qrep_genl_open(&ev) ||
	    qrep_genl_subscribe(&ev)) {
		qrep_err("replica thread: qrep netlink family: %s",
			 g.error[0] ? g.error : ev.error);
		return NULL;
	}
	pfd[0].fd = c->wake;
	pfd[0].events = POLLIN;
	pfd[1].fd = mnl_socket_get_fd(ev.nl);
	pfd[1].events = POLLIN;
	while (!atomic_load(&c->stop)) {
		/* A role change makes the next attempt immediate. */
		if (pfd[0].revents)
			memset(next_try, 0, sizeof(next_try));
		replicas_once(c, &g, slot_epoch, next_try);
		pfd[0].revents = 0;
		pfd[1].revents = 0;
		if (poll(pfd, 2, (int)c->cfg->reconnect_interval_ms) < 0 &&
		    errno != EINTR)
			break;
		if (pfd[0].revents && read(c->wake, &val, sizeof(val)) < 0)
			val = 0;
		if (pfd[1].revents)	/* replica events: look again */
			qrep_genl_recv_events(&ev, NULL, NULL);
	}
	qrep_genl_close(&ev);
	qrep_genl_close(&g);
	return NULL;
}

/* ---- the election ----------------------------------------------------- */

static void send_node(struct cluster *c, const struct qrep_election_send *s)
{
	uint8_t buf[QREP_CLUSTER_MAX_SIZE];
	int slot = node_slot(c, s->to);
	size_t len;

	if (slot < 0 || !c->addr_len[slot])
		return;
	len = qrep_cluster_build(&c->tx, &s->msg, s->to,
				 atomic_load(&c->uptodate), buf);
	if (!len) {
		qrep_err("cannot MAC a datagram (libcrypto)");
		return;
	}
	/* Lost datagrams are the election's business, not ours. */
	if (sendto(c->udp, buf, len, MSG_DONTWAIT,
		   (const struct sockaddr *)&c->addr[slot],
		   c->addr_len[slot]) < 0)
		qrep_dbg("node %u: %s", s->to, strerror(errno));
}

/* Election starts, wins and losses, said in words. */
static void log_role(struct cluster *c, enum qrep_election_role old,
		     uint64_t proposal)
{
	enum qrep_election_role now = qrep_election_role(&c->el);
	uint64_t epoch = qrep_election_epoch(&c->el);

	switch (now) {
	case QREP_EL_CANDIDATE:
		change(c, "election started (was %s): ELECTION to the bigger nodes",
		       qrep_election_role_name(old));
		break;
	case QREP_EL_WAITING_COORDINATOR:
		change(c, "a bigger node answered: waiting for its COORDINATOR");
		break;
	case QREP_EL_PRIMARY_PENDING:
		change(c, "no bigger node answered: proposing epoch %" PRIu64 " to the targets",
		       proposal);
		break;
	case QREP_EL_PROBING:
		change(c, "no bigger node answered, and fewer than W targets answered the last try: probing them before proposing");
		break;
	case QREP_EL_PRIMARY:
		change(c, "election won: primary of epoch %" PRIu64, epoch);
		break;
	case QREP_EL_FOLLOWER:
		change(c, "%sfollows node %u, primary of epoch %" PRIu64,
		       old == QREP_EL_FOLLOWER ? "" :
		       old == QREP_EL_PRIMARY ? "lost the role: " :
		       "election over: ", qrep_election_primary(&c->el), epoch);
		break;
	case QREP_EL_DOWN:
		break;
	}
}

static void step(struct cluster *c, const struct qrep_election_event *ev)
{
	enum qrep_election_role old = qrep_election_role(&c->el);
	struct qrep_election_actions out;
	uint64_t proposal = 0;
	unsigned int i;

	qrep_election_step(&c->el, mono_ms(), ev, &out);
	c->deadline = out.next_deadline_ms;
	if (out.sends_overflowed)
		qrep_err("election: actions overflowed (a bug)");
	/* Read-only first: nothing may be written after we lost the role. */
	if (out.device == QREP_DEVICE_READONLY) {
		char why[160];

		snprintf(why, sizeof(why), "%s, epoch %" PRIu64 " from %s %u",
			 qrep_election_reason_name(out.reason),
			 out.reason_epoch,
			 out.reason == QREP_DEMOTE_TARGET_REJECT ? "target" :
			 "node", out.reason_from);
		make_secondary(c, why);
		change(c, "device made secondary: %s", why);
	}
	for (i = 0; i < out.nr_sends; i++) {
		if (out.sends[i].dest == QREP_DEST_NODE)
			send_node(c, &out.sends[i]);
		else {
			proposal = out.sends[i].msg.epoch;
			propose(c, &out.sends[i]);
		}
	}
	if (out.device == QREP_DEVICE_WRITABLE)
		make_primary(c, out.device_epoch);
	if (out.role_changed || out.device != QREP_DEVICE_UNCHANGED) {
		if (out.role_changed)
			log_role(c, old, proposal);
		write_status(c);
	}
}

static void feed(struct cluster *c, enum qrep_election_event_type type,
		 uint64_t epoch)
{
	struct qrep_election_event ev = { .type = type, .epoch = epoch };

	step(c, &ev);
}

static void drop(struct cluster *c, unsigned int kind, const char *from,
		 const char *why)
{
	struct drop_log *d = &c->drops[kind];
	uint64_t now = mono_ms();

	if (d->last_ms && now - d->last_ms < DROP_LOG_INTERVAL_MS) {
		d->suppressed++;
		return;
	}
	qrep_warn("datagram from %s dropped (%s): %s%s", from,
		  kind == DROP_WRONG_ADDRESS ? "wrong address" :
		  qrep_cluster_verdict_name(kind), why,
		  d->suppressed ? "; more were dropped since the last report" : "");
	d->last_ms = now;
	d->suppressed = 0;
}

static bool same_sockaddr(const struct sockaddr_storage *a,
			  const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return false;
}

/*
 * failback catchup: the primary's heartbeat says which targets its
 * device has up to date; once every target on this node's host is among
 * them, this node's copy is the primary's, and it has caught up.
 */
static void maybe_caught_up(struct cluster *c, const struct qrep_cluster_dgram *d)
{
	if (c->cfg->election.failback != QREP_CONFIG_FAILBACK_CATCHUP ||
	    !c->local_targets || d->type != QREP_MSG_HEARTBEAT ||
	    qrep_election_role(&c->el) != QREP_EL_FOLLOWER ||
	    qrep_election_primary(&c->el) != d->from ||
	    (d->uptodate & c->local_targets) != c->local_targets ||
	    c->caught_up_fed == d->epoch)
		return;
	c->caught_up_fed = d->epoch;
	qrep_info("this node's replica is up to date with primary %u (epoch %" PRIu64 ")",
		  d->from, d->epoch);
	feed(c, QREP_EV_CAUGHT_UP, 0);
}

static void receive(struct cluster *c)
{
	uint8_t buf[QREP_CLUSTER_MAX_SIZE + 1];
	struct qrep_election_event ev = { .type = QREP_EV_MSG };
	struct qrep_cluster_dgram d;
	struct sockaddr_storage src;
	enum qrep_cluster_verdict v;
	char who[QREP_ADDR_STR_MAX];
	socklen_t srclen;
	const char *why;
	ssize_t n;
	int slot;

	for (;;) {
		srclen = sizeof(src);
		n = recvfrom(c->udp, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&src, &srclen);
		if (n < 0)
			return;
		if (getnameinfo((struct sockaddr *)&src, srclen, who,
				sizeof(who), NULL, 0, NI_NUMERICHOST))
			snprintf(who, sizeof(who), "?");
		v = qrep_cluster_accept(&c->rx, buf, (size_t)n, &d, &why);
		if (v != QREP_CLUSTER_OK) {
			drop(c, v, who, why);
			continue;
		}
		slot = node_slot(c, d.from);
		if (slot < 0 || !c->addr_len[slot] ||
		    !same_sockaddr(&src, &c->addr[slot])) {
			drop(c, DROP_WRONG_ADDRESS, who,
			     "a node's datagram from another address than its node line's");
			continue;
		}
		c->heard_ms[slot] = unix_ms();
		qrep_cluster_to_msg(&d, &ev.msg);
		step(c, &ev);
		maybe_caught_up(c, &d);
	}
}

static void proposal_results(struct cluster *c)
{
	struct qrep_election_event ev = { .type = QREP_EV_MSG };
	struct job_result r;

	while (read(c->results[0], &r, sizeof(r)) == (ssize_t)sizeof(r)) {
		const char *name = c->cfg->replicas[r.target].name;

		if (r.outcome == JOB_FAILED && !r.epoch) {
			qrep_info("replica %s: not reached by the probe: %s",
				  name, r.why);
			continue;
		}
		if (r.outcome == JOB_FAILED) {
			qrep_info("replica %s: epoch %" PRIu64 " not proposed: %s",
				  name, r.epoch, r.why);
			continue;
		}
		if (!r.epoch)
			qrep_info("replica %s answered the probe (it holds %" PRIu64 ")",
				  name, r.store_epoch);
		else
			qrep_info("replica %s %s epoch %" PRIu64 " (it holds %" PRIu64 ")",
				  name, r.outcome == JOB_ACCEPTED ?
				  "accepted" : "refused", r.epoch,
				  r.store_epoch);
		ev.msg.type = r.outcome == JOB_ACCEPTED ? QREP_MSG_EPOCH_ACCEPT :
			      QREP_MSG_EPOCH_REJECT;
		ev.msg.from = r.target;
		ev.msg.round = r.round;
		ev.msg.epoch = r.epoch;
		ev.msg.seen_epoch = r.store_epoch;
		step(c, &ev);
	}
}

/*
 * The epoch a REPLICA_FENCED event says the target refused (its
 * replica's QREP_A_REPLICA_FENCED_EPOCH), or 0 if it says none.
 */
static uint64_t fenced_epoch(const struct nlattr *replica)
{
	const struct nlattr *a;

	if (!replica)
		return 0;
	mnl_attr_for_each_nested(a, replica)
		if (mnl_attr_get_type(a) == QREP_A_REPLICA_FENCED_EPOCH &&
		    mnl_attr_validate(a, MNL_TYPE_U64) == 0)
			return mnl_attr_get_u64(a);
	return 0;
}

/*
 * A target refused a request of epoch @refused: it holds a newer one, at
 * least @refused + 1, which is what the election hears. Enough to demote;
 * the exact number comes with the next proposal's refusal, and the next
 * proposal goes above it. A refusal of an older epoch than this node's
 * term is a request of a term it left (sent before a demotion, refused
 * by a target that has taken this term's epoch since): the election
 * ignores it, since @refused + 1 is no newer than its epoch. A kernel
 * that does not say which epoch was refused is taken at its word for
 * the current one.
 */
static void fenced(struct cluster *c, uint64_t refused)
{
	uint64_t epoch = qrep_election_epoch(&c->el);

	if (!refused)
		refused = epoch;
	/* The election's own rule (selftests/unit/test_election.c); said here. */
	if (refused < epoch) {
		qrep_info("a target refused epoch %" PRIu64 " of /dev/qrep%u, older than this primary's %" PRIu64 ": a request of an earlier term, ignored",
			  refused, c->cfg->device, epoch);
		return;
	}
	qrep_warn("a target refused epoch %" PRIu64 " of /dev/qrep%u: fenced",
		  refused, c->cfg->device);
	feed(c, QREP_EV_FENCED, refused + 1);
}

/* The kernel's events about our device that the election must hear. */
static int kernel_event(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[QREP_A_MAX + 1];
	struct cluster *c = data;
	uint32_t event;

	if (qrep_genl_parse(nlh, tb) || !tb[QREP_A_EVENT] ||
	    !tb[QREP_A_DEV_INDEX] ||
	    mnl_attr_get_u32(tb[QREP_A_DEV_INDEX]) != c->cfg->device)
		return MNL_CB_OK;
	event = mnl_attr_get_u32(tb[QREP_A_EVENT]);
	if (event == QREP_EVENT_REPLICA_FENCED &&
	    qrep_election_role(&c->el) == QREP_EL_PRIMARY) {
		fenced(c, fenced_epoch(tb[QREP_A_REPLICA]));
	} else if (event == QREP_EVENT_DEV_DESTROYED) {
		qrep_warn("/dev/qrep%u was removed under qrepd", c->cfg->device);
		c->device_role = "none";
		write_status(c);
	}
	if (event != QREP_EVENT_DEV_ROLE)
		wake_replicas(c);
	return MNL_CB_OK;
}

/* ---- setup ------------------------------------------------------------ */

static int resolve(const char *hostport, struct sockaddr_storage *ss,
		   socklen_t *len, char *host, size_t hostlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICSERV }, *ai;
	char port[QREP_PORT_MAX];
	int ret;

	if (qrep_parse_hostport(hostport, host, hostlen, port, sizeof(port),
				false))
		return -EINVAL;
	ret = getaddrinfo(host, port, &hints, &ai);
	if (ret)
		return -EHOSTUNREACH;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* Replicas whose host is this node's: what catchup waits for. */
static uint32_t local_targets(const struct qrep_config *cfg, const char *host)
{
	char h[QREP_HOST_MAX], p[QREP_PORT_MAX];
	uint32_t mask = 0;
	unsigned int i;

	for (i = 0; i < cfg->nr_replicas; i++)
		if (!qrep_parse_hostport(cfg->replicas[i].addr, h, sizeof(h),
					 p, sizeof(p), false) &&
		    !strcasecmp(h, host))
			mask |= 1u << i;
	return mask;
}

static int election_config(struct cluster *c, struct qrep_election_config *ec)
{
	const struct qrep_config_election *el = &c->cfg->election;
	const char *problem;
	unsigned int i;

	qrep_election_config_default(ec);
	ec->self = c->self;
	ec->nr_nodes = c->cfg->nr_nodes;
	for (i = 0; i < c->cfg->nr_nodes; i++)
		ec->nodes[i] = c->cfg->nodes[i].id;
	ec->nr_targets = c->cfg->nr_replicas;
	ec->write_quorum = c->cfg->write_quorum;
	ec->failback = el->failback == QREP_CONFIG_FAILBACK_CATCHUP ?
		       QREP_FAILBACK_CATCHUP : QREP_FAILBACK_NEVER;
	/* 0: not in the file; election.h's default stays. */
	if (el->heartbeat_interval_ms)
		ec->heartbeat_interval_ms = el->heartbeat_interval_ms;
	if (el->heartbeat_timeout_ms)
		ec->heartbeat_timeout_ms = el->heartbeat_timeout_ms;
	if (el->ack_timeout_ms)
		ec->ack_timeout_ms = el->ack_timeout_ms;
	if (el->coordinator_timeout_ms)
		ec->coordinator_timeout_ms = el->coordinator_timeout_ms;
	if (el->quorum_timeout_ms)
		ec->quorum_timeout_ms = el->quorum_timeout_ms;
	problem = qrep_election_config_check(ec);
	if (problem) {
		qrep_err("the election settings of %s: %s", c->cfg->name, problem);
		return -EINVAL;
	}
	return 0;
}

static int setup(struct cluster *c)
{
	struct qrep_election_config ec;
	char host[QREP_HOST_MAX], port[QREP_PORT_MAX], err[512];
	uint32_t ids[QREP_CONFIG_MAX_NODES];
	int self_slot = node_slot(c, c->self);
	unsigned int i;

	if (election_config(c, &ec) || qrep_election_init(&c->el, &ec))
		return -EINVAL;
	if (qrep_secret_load_optional(c->cfg->secret_file, &c->secret_buf,
				      &c->secret, err, sizeof(err))) {
		qrep_err("%s", err);
		return -EACCES;
	}
	if (!c->secret)
		qrep_warn("resource %s has no secret-file: election datagrams are not authenticated",
			  c->cfg->name);
	for (i = 0; i < c->cfg->nr_nodes; i++) {
		ids[i] = c->cfg->nodes[i].id;
		if (resolve(c->cfg->nodes[i].addr, &c->addr[i], &c->addr_len[i],
			    host, sizeof(host))) {
			c->addr_len[i] = 0;
			qrep_warn("node %u: cannot resolve %s: it gets no datagrams",
				  ids[i], c->cfg->nodes[i].addr);
		}
	}
	if (!c->addr_len[self_slot]) {
		qrep_err("this node's address %s does not resolve",
			 c->cfg->nodes[self_slot].addr);
		return -EINVAL;
	}
	qrep_parse_hostport(c->cfg->nodes[self_slot].addr, host, sizeof(host),
			    port, sizeof(port), false);
	c->local_targets = local_targets(c->cfg, host);

	c->udp = socket(c->addr[self_slot].ss_family,
			SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->udp < 0 ||
	    bind(c->udp, (struct sockaddr *)&c->addr[self_slot],
		 c->addr_len[self_slot])) {
		qrep_err("UDP %s: %s", c->cfg->nodes[self_slot].addr,
			 strerror(errno));
		return -errno;
	}
	if (pipe2(c->results, O_CLOEXEC | O_NONBLOCK)) {
		qrep_err("pipe: %s", strerror(errno));
		return -errno;
	}
	c->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake < 0) {
		qrep_err("eventfd: %s", strerror(errno));
		return -errno;
	}

	c->tx.self = c->self;
	memcpy(c->tx.uuid, c->cfg->uuid, sizeof(c->tx.uuid));
	c->tx.secret = c->secret;
	if (qrep_auth_nonce(c->tx.nonce, sizeof(c->tx.nonce)))
		return -EIO;
	if (qrep_cluster_rx_init(&c->rx, c->self, ids, c->cfg->nr_nodes,
				 c->cfg->uuid, c->secret))
		return -EINVAL;

	if (qrep_genl_open(&c->ctl) || qrep_genl_open(&c->events) ||
	    qrep_genl_subscribe(&c->events)) {
		qrep_err("qrep netlink family: %s (is qrep.ko loaded?)",
			 c->ctl.error[0] ? c->ctl.error : c->events.error);
		return -ENOENT;
	}
	return 0;
}

static int signal_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static void run(struct cluster *c, int sfd)
{
	struct qrep_election_event start = { .type = QREP_EV_START };
	struct pollfd pfd[4];
	uint64_t now, deadline;
	uint32_t nonce;
	int timeout;

	start.epoch = device_at_start(c);
	if (qrep_auth_nonce((uint8_t *)&nonce, sizeof(nonce)))
		nonce = (uint32_t)mono_ms();
	start.nonce = nonce;
	qrep_info("node %u of resource %s starting: %u nodes, %u targets, W=%u",
		  c->self, c->cfg->name, c->cfg->nr_nodes, c->cfg->nr_replicas,
		  c->cfg->write_quorum);
	step(c, &start);
	write_status(c);

	pfd[0] = (struct pollfd){ .fd = c->udp, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = mnl_socket_get_fd(c->events.nl),
				  .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = c->results[0], .events = POLLIN };
	pfd[3] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		now = mono_ms();
		deadline = c->deadline;
		if (deadline && now >= deadline) {
			feed(c, QREP_EV_TICK, 0);
			continue;
		}
		if (now - c->status_written >= STATUS_REFRESH_MS)
			write_status(c);
		timeout = STATUS_REFRESH_MS;
		if (deadline && deadline - now < (uint64_t)timeout)
			timeout = (int)(deadline - now);
		if (poll(pfd, 4, timeout) < 0 && errno != EINTR) {
			qrep_err("poll: %s", strerror(errno));
			return;
		}
		if (pfd[3].revents) {
			qrep_info("stopping");
			return;
		}
		if (pfd[0].revents)
			receive(c);
		/* A lost event (ENOBUFS) is harmless: reconcile looks anyway. */
		if (pfd[1].revents)
			qrep_genl_recv_events(&c->events, kernel_event, c);
		if (pfd[2].revents)
			proposal_results(c);
	}
}

int qrepd_cluster_run(const struct qrep_config *cfg, uint32_t self,
		      const char *status_path)
{
	struct cluster *c;
	pthread_t tid;
	int sfd, ret = 0;

	if (!qrep_config_node(cfg, self)) {
		qrep_err("resource %s has no node %u (its node lines)",
			 cfg->name, self);
		return EXIT_FAIL;
	}
	/* Lives as long as the process: proposal threads may outlive run(). */
	c = calloc(1, sizeof(*c));
	if (!c)
		return EXIT_FAIL;
	c->cfg = cfg;
	c->self = self;
	c->udp = c->wake = -1;
	c->device_role = "none";
	snprintf(c->last_change, sizeof(c->last_change), "started");
	if (status_path) {
		snprintf(c->status_path, sizeof(c->status_path), "%s", status_path);
	} else {
		/* The default directory may not exist yet after a boot. */
		mkdir(qrep_run_dir(), 0755);
		snprintf(c->status_path, sizeof(c->status_path), "%s/%s%s",
			 qrep_run_dir(), cfg->name, QREP_CLUSTER_STATUS_SUFFIX);
	}
	sfd = signal_fd();	/* before any thread, so all inherit the mask */
	if (sfd < 0) {
		qrep_err("signalfd: %s", strerror(errno));
		return EXIT_FAIL;
	}
	if (setup(c))
		return EXIT_FAIL;
	if (pthread_create(&tid, NULL, replica_thread, c)) {
		qrep_err("cannot start the replica thread");
		return EXIT_FAIL;
	}
	run(c, sfd);
	atomic_store(&c->stop, true);
	wake_replicas(c);
	pthread_join(tid, NULL);
	qrep_genl_close(&c->events);
	qrep_genl_close(&c->ctl);
	qrep_secret_wipe(&c->secret_buf);
	close(sfd);
	return ret;
}
