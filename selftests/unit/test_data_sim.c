// SPDX-License-Identifier: GPL-2.0
/*
 * The data plane in a deterministic, seeded simulation (issue 14), with
 * the real decision rules inside:
 *
 *   - the store's write rule (qrep_write_applies, lib/term.h, over
 *     qrep_store_write_applies, linux/qrep_data.h, as userspace/lib/
 *     store.c applies it): write-if-newer, and a rollback's write over a
 *     version of an older epoch than the store's;
 *   - the resync's copy rule (qrep_resync_needs_copy, as lib/resync.c),
 *     its choice of sources (qrep_resync_source_ok, linux/qrep_data.h, as
 *     lib/resync_driver.c and drivers/block/qrep/netlink.c: no
 *     unreconciled replica) and its rollback of a deposed primary's
 *     writes (qrep_resync_rolls_back, lib/term.h, as find_orphans; with
 *     rollback_srcs sources, as lib/resync_driver.c);
 *   - the rule that lets a joining replica start up to date
 *     (qrep_joiner_may_be_uptodate, as drivers/block/qrep/replica.c);
 *   - quorum flush accounting (qrep_flush_may_issue, qrep_flush_complete,
 *     linux/qrep_quorum.h, as drivers/block/qrep/quorum.c) and the
 *     quorum version rule (qrep_version_base);
 *   - the up-to-date decision of `qrepctl up` (qrep_uptodate_region,
 *     qrep_uptodate_any_complete, qrep_uptodate_pick_fill of
 *     lib/uptodate.c, on arrays instead of connections).
 *
 * The model. A primary (the device) writes versioned blocks to N targets,
 * in mirror mode (a write or FLUSH completes when every live replica has
 * answered or failed, and succeeds if an up-to-date one answered; reads
 * from one up-to-date replica) or quorum mode (W, R; reads take the
 * newest of R live replicas). Each target is a volatile write cache over
 * stable media: what it acknowledged is in the cache, a FLUSH moves it all
 * to the media, a power loss keeps the media and any subset of the cache
 * (each kept write applied by the store rule). Each target serves its
 * connection in order (a FIFO, lossless while it lasts, as TCP; a target
 * answers a FLUSH after every earlier request, which test_target_flush
 * checks of the real target): loss is a broken connection, that is a
 * failed replica. Resync copies travel apart from the writes (their own
 * connection), so they arrive in any order against the writes, and may
 * arrive twice (a duplicate of an old copy, late). Events: writes,
 * deliveries, flushes, reads, replica failures (connection breaks), target
 * power losses, rejoins (a returning replica is suspect in every region
 * and resynced region by region), primary crashes (each target's
 * connection delivers some prefix of what was sent, the rest is lost,
 * resyncs included) followed by `up`, which decides which replicas are
 * up to date (mirror mode fills one when none holds everything).
 * Quorum mode also has scenario 5: a cut leaves the primary a minority of
 * targets; it writes on, to them only (acknowledged only on W answers,
 * so never), until a new primary's `up` takes a newer epoch on the
 * others (a takeover) and leaves them out; the deposed one's messages to
 * its side arrive (a prefix of each connection), and those targets
 * join the new device later, each to a slot `up` left empty (not as a
 * failed replica's return, so qrep_joiner_may_be_uptodate weighs it):
 * once the device has sent I/O, unreconciled (they lend nothing to
 * reads, drivers/block/qrep/quorum.c) until their resync has rolled back
 * what the new epoch's targets do not hold; before it, as replicas the
 * device starts with, as if `up` had reached them.
 *
 * Invariants, after every event:
 *   D1  every write acknowledged before a completed FLUSH stays readable:
 *       mirror: every live up-to-date replica holds it (or newer), so any
 *       all but one may be lost; quorum: W stores hold it on their media
 *       (any N - W may be lost) and fewer than R live replicas lack it;
 *   D5  a read never returns older than a value already read of the block
 *       in this run of the device (a crash ends it), unless a write of
 *       it was in flight (reads concurrent with a write may see either);
 *   V   one version, one content: every copy of a block's version holds
 *       the data of the write that stamped it;
 *   S   after a heal and a resync (every replica live and up to date,
 *       nothing in flight) all replicas hold identical data;
 *   D3  no replica reads may ask (quorum: live and not unreconciled;
 *       mirror: up to date) holds an orphan, and no read returns one: a
 *       write of an older epoch newer than all that the targets which
 *       accepted the device's epoch held of its block at its `up` (or
 *       when they joined before the device's first I/O).
 *   D2 (one writer per epoch) holds trivially in the data plane (one
 *   primary at a time); the epoch layer below checks it.
 *
 * Not modelled yet, or not asserted because the code does not keep it yet
 * (Documentation/durability.rst, the scenario table):
 *   - mirror mode's versions are bare counters here and its `up` reaches
 *     every replica (as the real one must), so a deposed mirror primary's
 *     writes are what a crash leaves, seen by `up`: nothing is rolled
 *     back in mirror mode (the real mirror versions carry the epoch);
 *   - a later `up` that reaches a target still holding an orphan of an
 *     earlier takeover takes it as that target's content (no check
 *     looks back past the current epoch's `up`);
 *   - quorum mode: D5 is not asserted for any block after a power loss,
 *     nor for a block a crash or a failed write left half written, until
 *     a write of it issued after that completes (unsettled[]): reads count
 *     stale replicas, so a read quorum may miss a write that is left on
 *     fewer than W replicas (scenario 10, open). D1 is checked throughout;
 *   - the mirror flush rule (an answer counts if its replica is up to
 *     date when it comes; a request succeeds if one such answered) is the
 *     kernel's (receive.c, request.c) restated here, not shared code yet;
 *     so are the kernel's wait, before a resync starts, for the writes
 *     sent before the replica joined, qrep_replicas_demote_behind, and
 *     which replicas are unreconciled and lend nothing to reads
 *     (replica.c, quorum.c);
 *   - torn blocks (scenario 7: test_store and torn-write cover it),
 *     elections in the data plane (a takeover is an `up` on the cut's
 *     other side; its fencing of the deposed primary, replacement and
 *     join's floor are the epoch layer's below, test_election_sim the
 *     election itself), the healed minority (8, open).
 *
 *   QREP_SIM_RUNS=N    seeded runs (20000)
 *   QREP_SIM_FIRST=N   the first seed (0)
 *   QREP_SIM_JOBS=N    worker processes (1)
 *   QREP_SIM_SEED=S    run only seed S, tracing every event
 *   QREP_SIM_ROW=N     run only scripted row N, tracing every event
 *   QREP_SIM_STATE=1   with either: every target's state after each event
 *
 * Planted bugs (QREP_PLANT_*: qrep_quorum.h, qrep_data.h, uptodate.c,
 * term.h); UNRECONCILED_SOURCE takes every live replica as a quorum
 * resync's source, as lib/resync_driver.c did (seed 0x2a, row 9);
 * JOIN_AFTER_READS lets a replica joining a slot `up` left empty be up to
 * date after the device has read, as replica.c did (rows 9 and 10, seed
 * 0x61).
 * EPOCH_FLOOR and PROPOSE_EQUAL are the epoch layer's (below).
 * make unit builds this test once more per plant (data_sim_plant_*), and
 * the "plants" test runs each and expects a violation.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/qrep_data.h>
#include <linux/qrep_quorum.h>

#include "kselftest_harness.h"
#include "join.h"
#include "term.h"
#include "uptodate.h"

#define SIM_TIMEOUT_S	(24 * 3600)	/* the runner has its own */
#define DEFAULT_RUNS	20000
#define NT		5		/* targets at most */
#define NB		8		/* blocks of the device */
#define RB		4		/* blocks per region */
#define NREG		(NB / RB)
#define ALL_REGIONS	((1U << NREG) - 1)
#define QMAX		128		/* messages queued at a target */
#define CMAX		256		/* cache entries of a target */
#define WMAX		1024		/* writes per run */
#define FMAX		256		/* flushes per run */
#define EVMAX		4096		/* events per run */
#define RANDOM_EVENTS	240		/* events of a random run */

struct cell {
	uint64_t v;
	uint32_t d;			/* the write's id + 1; 0: never written */
};

enum msg_op { M_WRITE, M_FLUSH };

struct msg {
	uint8_t op, block, repair, dup, rollback;
	int8_t region;			/* a resync copy's region, or -1 */
	uint32_t id;			/* write or flush index */
	uint64_t v;
	uint32_t d;
};

struct cache_ent {
	uint8_t block, repair, rollback;
	struct cell c;
	uint64_t epoch;			/* the store's when it applied it */
};

struct target {
	struct cell media[NB], vis[NB];
	struct cache_ent cache[CMAX];
	unsigned int nc;
	struct msg q[QMAX];		/* the connection, in order */
	unsigned int nq;
	struct msg side[QMAX];		/* resync copies, any order */
	unsigned int ns;
	uint64_t epoch;			/* the store's (quorum mode) */
};

struct replica {
	bool live, uptodate;
	bool unreconciled;		/* lends nothing to reads (quorum.c) */
	uint32_t todo;			/* regions still to resync */
	unsigned int copies[NREG];	/* resync copies in flight */
	unsigned int joined_at;		/* the first write sent to it */
};

struct write {
	uint8_t block;
	uint64_t v;
	uint32_t d;
	uint64_t out, acked;		/* sent and not answered; answered */
	bool done, dead;
	/*
	 * D3: of an older epoch than the device's, and newer than anything
	 * the targets that accepted the device's epoch held of its block
	 * when `up` reached them: an orphan of a deposed primary.
	 */
	bool orphan;
};

struct flush {
	uint64_t out, acked, holders;
	uint64_t snap[NB];		/* completed writes when issued */
	bool done, failed;
};

enum ev_op {
	E_WRITE, E_DELIVER, E_SIDE, E_FLUSH, E_READ, E_FAIL, E_POWER,
	E_JOIN, E_RESYNC, E_CRASH, E_UP, E_CUT, E_TAKEOVER, E_EXPECT, E_NR
};

static const char *const ev_names[E_NR] = {
	"write", "deliver", "side", "flush", "read", "fail", "power-loss",
	"rejoin", "resync", "crash", "up", "cut", "takeover", "expect",
};

/* What an E_EXPECT step checks (arg a: a target where it names one). */
enum expect_what {
	X_STALE, X_UPTODATE, X_FLUSH_DONE, X_FLUSH_NOT_DONE, X_IDENTICAL,
	X_READ,				/* the last read returned version b */
	X_READ_DATA,			/* ... the data of write b - 1, 0: none */
	X_UNRECONCILED,			/* replica a lends nothing to reads */
};

struct ev {
	uint8_t op, a;
	uint32_t b;			/* a mask, count or value */
};

struct sim {
	uint64_t seed;
	struct { uint64_t s; } rng;
	bool quorum, trace_all, failed, scripted;
	unsigned int n, w, r;
	struct target t[NT];
	struct replica rep[NT];
	/* The primary. */
	bool alive, written, dev_read;
	bool orphans;			/* some write is an orphan (D3) */
	/*
	 * The slots that have held a replica since `up` (a replica that
	 * comes back to one takes a failed replica's place), and, per block,
	 * the newest version the replicas the device started with held: D3's
	 * truth.
	 */
	uint64_t slots;
	uint64_t top[NB];
	uint64_t cut;			/* the targets it cannot reach */
	uint64_t dev_version, epoch, counter;
	struct write writes[WMAX];
	unsigned int nw;
	struct flush flushes[FMAX];
	unsigned int nf;
	/* What the invariants need. */
	uint64_t floor[NB];		/* flushed: acknowledged before a FLUSH */
	uint64_t completed[NB];		/* newest acknowledged write */
	uint64_t last_read[NB];
	unsigned int in_flight[NB];	/* writes not completed */
	/*
	 * Quorum mode: a block D5 is not asserted for, until a write of it
	 * issued from write settle_from[b] on completes.
	 */
	bool unsettled[NB];
	unsigned int settle_from[NB];
	uint64_t read_v;
	uint32_t read_d;
	struct ev log[EVMAX];
	unsigned int nlog;
	char why[256];
};

/* ---- randomness: splitmix64, one stream per run -------------------- */

static uint64_t rng_next(struct sim *s)
{
	uint64_t z = (s->rng.s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int rng_below(struct sim *s, unsigned int n)
{
	return n ? (unsigned int)(rng_next(s) % n) : 0;
}

/* The first failure of a run is the one kept (both worlds' *_fail). */
static void first_failure(bool *failed, char *why, size_t len,
			  const char *fmt, va_list ap)
{
	if (*failed)
		return;
	*failed = true;
	vsnprintf(why, len, fmt, ap);
}

__attribute__((format(printf, 2, 3)))
static void sim_fail(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	first_failure(&s->failed, s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

static uint64_t bit(unsigned int k)
{
	return 1ULL << k;
}

/* ---- targets --------------------------------------------------------- */

/*
 * The store's rule (qrep_write_applies, lib/term.h, as lib/store.c): a
 * newer version, an equal one with @repair, and with @rollback any one
 * over a version of an older epoch than the store's.
 */
static void store_write(struct target *t, unsigned int b, struct cell c,
			bool repair, bool rollback)
{
	if (!qrep_write_applies(t->vis[b].v, c.v, repair, rollback, t->epoch))
		return;
	t->vis[b] = c;
	if (t->nc < CMAX) {
		t->cache[t->nc++] = (struct cache_ent){ .block = b,
			.repair = repair, .rollback = rollback, .c = c,
			.epoch = t->epoch };
	} else {
		/* A full cache writes itself back: as a flush, silently. */
		memcpy(t->media, t->vis, sizeof(t->media));
		t->nc = 0;
	}
}

static void store_flush(struct target *t)
{
	memcpy(t->media, t->vis, sizeof(t->media));
	t->nc = 0;
}

/* A power loss keeps the media and the cache entries in @keep. */
static void store_power_loss(struct target *t, uint64_t keep)
{
	unsigned int i;

	memcpy(t->vis, t->media, sizeof(t->vis));
	for (i = 0; i < t->nc; i++) {
		const struct cache_ent *e = &t->cache[i];

		if (i < 64 && (keep & bit(i)) &&
		    qrep_write_applies(t->vis[e->block].v, e->c.v, e->repair,
				       e->rollback, e->epoch))
			t->vis[e->block] = e->c;
	}
	memcpy(t->media, t->vis, sizeof(t->media));
	t->nc = 0;
}

static uint64_t store_max_version(const struct target *t)
{
	uint64_t m = 0;
	unsigned int b;

	for (b = 0; b < NB; b++)
		if (t->vis[b].v > m)
			m = t->vis[b].v;
	return m;
}

/* ---- the primary ------------------------------------------------------- */

static uint64_t live_mask(const struct sim *s)
{
	uint64_t m = 0;
	unsigned int k;

	for (k = 0; k < s->n; k++)
		if (s->rep[k].live)
			m |= bit(k);
	return m;
}

static uint64_t holders_mask(const struct sim *s)
{
	uint64_t m = 0;
	unsigned int k;

	for (k = 0; k < s->n; k++)
		if (s->rep[k].live && s->rep[k].uptodate)
			m |= bit(k);
	return m;
}

static void write_settle(struct sim *s, struct write *wr)
{
	bool done;

	if (wr->done || wr->dead)
		return;
	if (s->quorum)
		done = qrep_quorum_weight(wr->acked) >= s->w;
	else
		done = !wr->out && wr->acked;
	if (!done) {
		if (!wr->out) {	/* too few answers: an I/O error */
			wr->dead = true;
			s->in_flight[wr->block]--;
			/* on some replicas, not on others: as after a crash */
			s->unsettled[wr->block] = s->quorum;
			s->settle_from[wr->block] = s->nw;
		}
		return;
	}
	wr->done = true;
	s->in_flight[wr->block]--;
	if (wr->v > s->completed[wr->block])
		s->completed[wr->block] = wr->v;
	if ((unsigned int)(wr - s->writes) >= s->settle_from[wr->block])
		s->unsettled[wr->block] = false;
}

static void flush_settle(struct sim *s, struct flush *f)
{
	bool done;
	unsigned int b;

	if (f->done || f->failed)
		return;
	if (s->quorum)
		done = qrep_flush_complete(f->holders, f->acked, s->w);
	else
		done = !f->out && f->acked;
	if (!done) {
		if (!f->out)
			f->failed = true;
		return;
	}
	f->done = true;
	if (s->trace_all)
		printf("#          flush %u completes: answered by %#" PRIx64
		       ", holders %#" PRIx64 "\n", (unsigned int)(f - s->flushes),
		       f->acked, f->holders);
	for (b = 0; b < NB; b++)
		if (f->snap[b] > s->floor[b])
			s->floor[b] = f->snap[b];
}

static void settle_all(struct sim *s)
{
	unsigned int i;

	for (i = 0; i < s->nw; i++)
		write_settle(s, &s->writes[i]);
	for (i = 0; i < s->nf; i++)
		flush_settle(s, &s->flushes[i]);
}

static void send_msg(struct sim *s, unsigned int k, struct msg m)
{
	struct target *t = &s->t[k];

	if (t->nq == QMAX) {
		sim_fail(s, "target %u: queue full (the simulation's limit)", k);
		return;
	}
	t->q[t->nq++] = m;
}

static bool can_write(const struct sim *s)
{
	if (!s->alive || s->nw == WMAX)
		return false;
	if (s->quorum)
		return qrep_quorum_weight(live_mask(s)) >= s->w;
	return holders_mask(s) != 0;
}

static void do_write(struct sim *s, unsigned int b)
{
	struct write *wr = &s->writes[s->nw];
	unsigned int k;

	if (!can_write(s))
		return;
	memset(wr, 0, sizeof(*wr));
	wr->block = (uint8_t)b;
	s->counter++;
	wr->v = s->quorum ? qrep_version_base(s->epoch) + s->counter :
	    ++s->dev_version;
	wr->d = s->nw + 1;
	wr->out = live_mask(s);
	for (k = 0; k < s->n; k++)
		if (wr->out & bit(k))
			send_msg(s, k, (struct msg){ .op = M_WRITE,
				 .block = (uint8_t)b, .id = s->nw, .v = wr->v,
				 .d = wr->d, .region = -1 });
	s->written = true;
	s->in_flight[b]++;
	s->nw++;
}

static void do_flush(struct sim *s)
{
	struct flush *f = &s->flushes[s->nf];
	unsigned int k;

	if (!s->alive || s->nf == FMAX || !live_mask(s))
		return;
	if (s->quorum && !qrep_flush_may_issue(holders_mask(s), s->w))
		return;		/* held, as on-no-quorum says: not modelled */
	memset(f, 0, sizeof(*f));
	f->out = live_mask(s);
	f->holders = holders_mask(s);
	memcpy(f->snap, s->completed, sizeof(f->snap));
	for (k = 0; k < s->n; k++)
		if (f->out & bit(k))
			send_msg(s, k, (struct msg){ .op = M_FLUSH,
				 .id = s->nf, .region = -1 });
	s->nf++;
}

static void resync_check_done(struct sim *s, unsigned int k)
{
	struct replica *r = &s->rep[k];
	unsigned int i;

	if (r->uptodate || !r->live || r->todo)
		return;
	for (i = 0; i < NREG; i++)
		if (r->copies[i])
			return;
	r->uptodate = true;
	r->unreconciled = false;
}

/* Target @k takes the message at the head of its connection. */
static void deliver(struct sim *s, unsigned int k)
{
	struct target *t = &s->t[k];
	struct msg m;
	bool counts;

	if (!t->nq || (s->cut & bit(k)))
		return;
	m = t->q[0];
	memmove(t->q, t->q + 1, --t->nq * sizeof(t->q[0]));
	/*
	 * An answer counts if the replica is up to date when it comes, or
	 * in quorum mode live at all (qrep_receive_ack, receive.c); a
	 * mirror request succeeds if one that counts answered.
	 */
	counts = s->rep[k].live && (s->quorum || s->rep[k].uptodate);
	if (m.op == M_WRITE) {
		store_write(t, m.block, (struct cell){ m.v, m.d }, m.repair,
			    m.rollback);
		s->writes[m.id].out &= ~bit(k);
		if (counts)
			s->writes[m.id].acked |= bit(k);
	} else {
		store_flush(t);
		s->flushes[m.id].out &= ~bit(k);
		if (counts)
			s->flushes[m.id].acked |= bit(k);
	}
	settle_all(s);
}

/* Target @k takes resync copy @i, out of order; @dup: it comes again. */
static void deliver_side(struct sim *s, unsigned int k, unsigned int i,
			 bool dup)
{
	struct target *t = &s->t[k];
	struct msg m;

	if (i >= t->ns || (s->cut & bit(k)))
		return;
	m = t->side[i];
	if (dup && t->ns < QMAX) {
		t->side[t->ns] = m;
		t->side[t->ns++].dup = 1;
	}
	t->side[i] = t->side[--t->ns];
	store_write(t, m.block, (struct cell){ m.v, m.d }, true, m.rollback);
	if (!m.dup && m.region >= 0 && s->rep[k].copies[m.region]) {
		s->rep[k].copies[m.region]--;
		resync_check_done(s, k);
	}
}

/* Replica @k's connection breaks: it fails; what was queued is lost. */
static void replica_fail(struct sim *s, unsigned int k)
{
	struct target *t = &s->t[k];
	unsigned int i;

	t->nq = 0;
	t->ns = 0;
	if (!s->alive || !s->rep[k].live)
		return;
	memset(&s->rep[k], 0, sizeof(s->rep[k]));
	for (i = 0; i < s->nw; i++)
		s->writes[i].out &= ~bit(k);
	for (i = 0; i < s->nf; i++)
		s->flushes[i].out &= ~bit(k);
	settle_all(s);
}

/* The kernel's join of replica @k (drivers/block/qrep/replica.c). */
static void replica_join(struct sim *s, unsigned int k, bool stale,
			 bool reconnect, uint64_t max_version)
{
	struct replica *r = &s->rep[k];
	unsigned int j;

	memset(r, 0, sizeof(*r));
	r->live = true;
	r->joined_at = s->nw;
	s->slots |= bit(k);
	r->uptodate = qrep_joiner_may_be_uptodate(stale, reconnect,
						  s->written, s->dev_read,
						  max_version, s->dev_version);
	if (!r->uptodate)
		r->todo = ALL_REGIONS;
	/*
	 * drivers/block/qrep/replica.c: a stale newcomer lends nothing to
	 * reads until resynced, unless it is one of those the device starts
	 * with (no I/O sent yet, not a failed replica's return).
	 */
	r->unreconciled = !r->uptodate &&
			  (reconnect || s->written || s->dev_read);
	/* Its hello raises the store's epoch (target/conn.c). */
	if (s->t[k].epoch < s->epoch)
		s->t[k].epoch = s->epoch;
	if (max_version > s->dev_version) {
		/* qrep_replicas_demote_behind: before any I/O only */
		for (j = 0; j < s->n && !s->written && !s->dev_read; j++) {
			if (j == k || !s->rep[j].live ||
			    store_max_version(&s->t[j]) >= max_version)
				continue;
			s->rep[j].uptodate = false;
			s->rep[j].todo = ALL_REGIONS;
		}
		s->dev_version = max_version;
	}
}

static void mark_orphans(struct sim *s);

/*
 * A replica joins: to a slot that held one since `up`, as a failed
 * replica's return; to a slot `up` left empty (a target it did not
 * reach), as a new one, which qrepctl reconnect does not flag stale. One
 * that joins before the device has sent any I/O is one the device
 * starts with, as if `up` had reached it: what it holds is part of D3's
 * truth.
 */
static void do_rejoin(struct sim *s, unsigned int k)
{
	bool reconnect = s->slots & bit(k), quiet = !s->written &&
						   !s->dev_read;
	unsigned int b;

	if (!s->alive || s->rep[k].live || (s->cut & bit(k)))
		return;
	replica_join(s, k, false, reconnect, store_max_version(&s->t[k]));
	if (!quiet || reconnect)
		return;
	for (b = 0; b < NB; b++)
		if (s->t[k].vis[b].v > s->top[b])
			s->top[b] = s->t[k].vis[b].v;
	mark_orphans(s);
}

/* One region of replica @k's resync: its copies go out. */
static void resync_step(struct sim *s, unsigned int k)
{
	struct replica *r = &s->rep[k];
	unsigned int reg, b, j, nsrc = 0, src[NT];
	uint64_t best[RB];
	bool rollback[RB], orphans = false;
	int holder[RB];

	if (!s->alive || !r->live || r->uptodate || !r->todo ||
	    (s->cut & bit(k)))
		return;
	/*
	 * qrep_resync_start (drivers/block/qrep/resync.c) waits until every
	 * write sent before the replica joined has completed: one that went
	 * only to the others must be there before a copy reads them.
	 */
	for (j = 0; j < r->joined_at; j++)
		if (!s->writes[j].done && !s->writes[j].dead)
			return;
	/*
	 * Mirror: one up-to-date replica. Quorum: every other live one that
	 * is not unreconciled (it may hold an orphan, which would pass for
	 * the newest version); with the destination they make a read quorum
	 * (lib/resync.h). The rule is lib/resync_driver.c's and the kernel's
	 * (qrep_resync_source_ok); the device reaches no target of the cut.
	 */
	for (j = 0; j < s->n; j++)
		if (j != k && !(s->cut & bit(j)) && (s->quorum || !nsrc) &&
		    qrep_resync_source_ok(s->quorum, s->rep[j].live,
					  s->rep[j].uptodate,
					  s->rep[j].unreconciled))
			src[nsrc++] = j;
	if (!nsrc || (s->quorum && nsrc + 1 < s->r))
		return;
	for (reg = 0; !(r->todo & bit(reg)); reg++)
		;
	for (b = 0; b < RB; b++) {
		best[b] = 0;
		holder[b] = -1;
		for (j = 0; j < nsrc; j++)
			if (s->t[src[j]].vis[reg * RB + b].v > best[b]) {
				best[b] = s->t[src[j]].vis[reg * RB + b].v;
				holder[b] = (int)src[j];
			}
		/* find_orphans (lib/resync.c): at the device's epoch */
		rollback[b] = qrep_resync_rolls_back(s->t[k].vis[reg * RB + b].v,
						     best[b], s->epoch);
		orphans |= rollback[b];
	}
	/*
	 * rollback_srcs (lib/resync_driver.c): a rollback needs sources
	 * that hold every acknowledged write, R in quorum mode, one up-to-
	 * date replica in mirror mode; with fewer the region stays marked.
	 */
	if (orphans && nsrc < (s->quorum ? s->r : 1))
		return;
	for (b = 0; b < RB; b++) {
		unsigned int blk = reg * RB + b;

		if (!qrep_resync_needs_copy(best[b], s->t[k].vis[blk].v, 0) &&
		    !rollback[b])
			continue;
		if (s->t[k].ns == QMAX) {
			sim_fail(s, "target %u: too many copies", k);
			return;
		}
		s->t[k].side[s->t[k].ns++] = (struct msg){ .op = M_WRITE,
			.block = (uint8_t)blk, .repair = 1,
			.rollback = rollback[b], .region = (int8_t)reg,
			.v = best[b],
			.d = holder[b] >= 0 ? s->t[holder[b]].vis[blk].d : 0 };
		r->copies[reg]++;
	}
	r->todo &= ~(uint32_t)bit(reg);
	resync_check_done(s, k);
}

/*
 * The primary crashes, or is deposed: each connection to a target it
 * reaches (not in s->cut) delivers a prefix (target k the first
 * (@keep >> 5k) & 31 of its messages), the rest, what was sent to the
 * others and the resync copies are lost. Nothing of it is acknowledged
 * any more.
 */
static void primary_crash(struct sim *s, uint64_t keep)
{
	unsigned int k, i, n;

	if (!s->alive)
		return;
	s->alive = false;
	for (i = 0; i < s->nw; i++)
		if (!s->writes[i].done && !s->writes[i].dead) {
			s->writes[i].dead = true;
			s->unsettled[s->writes[i].block] = s->quorum;
			s->settle_from[s->writes[i].block] = s->nw;
		}
	for (i = 0; i < s->nf; i++)
		if (!s->flushes[i].done)
			s->flushes[i].failed = true;
	for (k = 0; k < s->n; k++) {
		for (n = (keep >> (5 * k)) & 31; n && s->t[k].nq; n--)
			deliver(s, k);
		s->t[k].nq = 0;
		s->t[k].ns = 0;
	}
	memset(s->rep, 0, sizeof(s->rep));
	memset(s->in_flight, 0, sizeof(s->in_flight));
	/* D5 is a promise within one run of the device; D1 goes on. */
	memcpy(s->last_read, s->floor, sizeof(s->last_read));
	memcpy(s->completed, s->floor, sizeof(s->completed));
	s->cut = 0;	/* the next `up` is the heal */
}

/*
 * D3: the device's truth is what the targets that accepted its epoch
 * hold (s->top: those `up` reached, and any that joined before the
 * device sent I/O); a write of an older epoch newer than all of it, held
 * only by targets `up` did not reach, is an orphan.
 */
static void mark_orphans(struct sim *s)
{
	unsigned int i;

	s->orphans = false;
	for (i = 0; i < s->nw; i++) {
		s->writes[i].orphan =
			s->writes[i].v > s->top[s->writes[i].block] &&
			qrep_version_epoch(s->writes[i].v) < s->epoch;
		s->orphans |= s->writes[i].orphan;
	}
}

/*
 * qrepctl up, reaching the targets in @reach (every target, but for a
 * takeover): which are up to date (uptodate.c); the others stay out and
 * rejoin later as returning replicas.
 */
static void primary_up_on(struct sim *s, uint64_t reach)
{
	static struct qrep_peer dummy;
	struct qrep_uptodate u = { .dev_blocks = NB };
	uint64_t vers[NT][RB], maxv[NT], top = 0, best, held = 0;
	const uint64_t *vp[NT];
	unsigned int k, j, reg, b, nr = 0, idx[NT];
	int fill;

	if (s->alive)
		return;
	for (k = 0; k < s->n; k++) {
		if (!(reach & bit(k)))
			continue;
		u.peers[nr] = &dummy;
		vp[nr] = vers[nr];
		idx[nr++] = k;
	}
	u.nr = nr;
	for (reg = 0; reg < NREG; reg++) {
		for (j = 0; j < nr; j++)
			for (b = 0; b < RB; b++)
				vers[j][b] = s->t[idx[j]].vis[reg * RB + b].v;
		qrep_uptodate_region(vp, nr, RB, u.blocks_behind);
	}
	for (j = 0; j < nr; j++) {
		maxv[j] = store_max_version(&s->t[idx[j]]);
		if (maxv[j] > top)
			top = maxv[j];
		if (s->t[idx[j]].epoch > held)
			held = s->t[idx[j]].epoch;
	}
	if (!s->quorum && !qrep_uptodate_any_complete(&u)) {
		fill = qrep_uptodate_pick_fill(&u);
		if (fill < 0) {
			sim_fail(s, "up: no replica is complete, none picked to fill");
			return;
		}
		for (b = 0; b < NB; b++) {
			best = 0;
			k = idx[fill];
			for (j = 0; j < nr; j++)
				if (s->t[idx[j]].vis[b].v > best) {
					best = s->t[idx[j]].vis[b].v;
					k = idx[j];
				}
			if (qrep_resync_needs_copy(best,
						   s->t[idx[fill]].vis[b].v, 0))
				store_write(&s->t[idx[fill]], b, s->t[k].vis[b],
					    true, false);
		}
		u.blocks_behind[fill] = 0;
		maxv[fill] = top;
	}
	s->alive = true;
	s->written = false;
	s->dev_read = false;
	s->slots = 0;
	s->dev_version = 0;
	s->counter = 0;
	/*
	 * Quorum mode: an epoch above every one the reached targets hold
	 * (the reservation of `up`, and an election's). The model's mirror
	 * versions are bare counters, its stores at epoch 0: nothing to roll
	 * back (mirror's `up` reaches every replica).
	 */
	if (s->quorum) {
		if (qrep_version_epoch(top) > held)
			held = qrep_version_epoch(top);
		s->epoch = held + 1;
	}
	for (j = 0; j < nr; j++)
		replica_join(s, idx[j], u.blocks_behind[j] != 0, false,
			     maxv[j]);
	memset(s->top, 0, sizeof(s->top));
	for (j = 0; j < nr; j++)
		for (b = 0; b < NB; b++)
			if (s->t[idx[j]].vis[b].v > s->top[b])
				s->top[b] = s->t[idx[j]].vis[b].v;
	mark_orphans(s);
}

static void primary_up(struct sim *s)
{
	primary_up_on(s, bit(s->n) - 1);
}

/*
 * Scenario 5: the targets in s->cut, a write quorum the primary cannot
 * reach, take a new primary's newer epoch. The deposed one wrote on to
 * the targets it reached until now (its messages to them arrive, as a
 * prefix of each connection, before the heal lets them rejoin the new
 * device; to the others, never). It acknowledged only what W of them
 * answered.
 */
static void primary_takeover(struct sim *s, uint64_t keep)
{
	uint64_t b_side = s->cut;

	if (!s->alive || !s->quorum || !b_side ||
	    qrep_quorum_weight(b_side) < s->w)
		return;
	primary_crash(s, keep);
	primary_up_on(s, b_side);
}

/* The replicas a read may ask: live, reached, and not unreconciled. */
static uint64_t readable_mask(const struct sim *s)
{
	uint64_t m = 0;
	unsigned int k;

	for (k = 0; k < s->n; k++)
		if (s->rep[k].live && !s->rep[k].unreconciled &&
		    !(s->cut & bit(k)))
			m |= bit(k);
	return m;
}

static void do_read(struct sim *s, unsigned int b)
{
	unsigned int k, pick[NT], np = 0, i;
	struct cell c = { 0, 0 };
	uint64_t live = readable_mask(s);

	if (!s->alive)
		return;
	if (s->quorum) {
		/* qrep_quorum_readable (quorum.c): fewer than R, held */
		if (qrep_quorum_weight(live) < s->r)
			return;
		/* R of the live replicas, at random. */
		for (k = 0; k < s->n; k++)
			if (live & bit(k))
				pick[np++] = k;
		for (i = 0; i < s->r; i++) {
			unsigned int j = i + rng_below(s, np - i), tmp;

			tmp = pick[i];
			pick[i] = pick[j];
			pick[j] = tmp;
			if (s->t[pick[i]].vis[b].v > c.v)
				c = s->t[pick[i]].vis[b];
		}
	} else {
		uint64_t h = holders_mask(s) & ~s->cut;

		if (!h)
			return;
		for (k = 0; k < s->n; k++)
			if (h & bit(k))
				pick[np++] = k;
		c = s->t[pick[rng_below(s, np)]].vis[b];
	}
	s->dev_read = true;
	s->read_v = c.v;
	s->read_d = c.d;
	if (c.d && c.d <= s->nw && s->writes[c.d - 1].orphan)
		sim_fail(s, "D3: block %u read version %#" PRIx64 ", a deposed"
			 " primary's write no target of epoch %" PRIu64
			 " held", b, c.v, s->epoch);
	if (c.v < s->floor[b])
		sim_fail(s, "D1: block %u read version %#" PRIx64
			 ", older than the flushed %#" PRIx64, b, c.v,
			 s->floor[b]);
	if (s->in_flight[b] || s->unsettled[b])
		return;
	if (c.v < s->last_read[b])
		sim_fail(s, "D5: block %u read version %#" PRIx64
			 " after %#" PRIx64, b, c.v, s->last_read[b]);
	s->last_read[b] = c.v;
}

static void power_loss(struct sim *s, unsigned int k, uint64_t keep)
{
	unsigned int b;

	replica_fail(s, k);
	store_power_loss(&s->t[k], keep);
	/*
	 * Quorum mode: what it lost may now be on fewer than W replicas,
	 * and reads count every live one: D5 is not asserted for any block
	 * until it is rewritten (header; scenario 10).
	 */
	for (b = 0; b < NB && s->quorum; b++) {
		s->unsettled[b] = true;
		s->settle_from[b] = s->nw;
	}
}

/* ---- the invariants ---------------------------------------------------- */

/* V: a copy's data is its version's write, and one version one content. */
static void check_versions(struct sim *s, unsigned int b)
{
	const struct cell *c[2 * NT];
	unsigned int k, j, nc = 0;

	for (k = 0; k < s->n; k++) {
		c[nc++] = &s->t[k].vis[b];
		c[nc++] = &s->t[k].media[b];
	}
	for (k = 0; k < nc; k++) {
		const struct write *wr;

		if (!c[k]->v)
			continue;
		wr = c[k]->d && c[k]->d <= s->nw ? &s->writes[c[k]->d - 1] :
		     NULL;
		if (!wr || wr->block != b || wr->v != c[k]->v)
			sim_fail(s, "V: target %u block %u holds version %#"
				 PRIx64 " with data no such write wrote",
				 k / 2, b, c[k]->v);
		for (j = 0; j < k; j++)
			if (c[j]->v == c[k]->v && c[j]->d != c[k]->d)
				sim_fail(s, "V: block %u version %#" PRIx64
					 " has two contents (targets %u, %u)",
					 b, c[k]->v, j / 2, k / 2);
	}
}

static void check(struct sim *s)
{
	unsigned int b, k, have, lacking;
	uint64_t h = holders_mask(s), live = live_mask(s);
	bool settled;

	for (b = 0; b < NB && !s->failed; b++) {
		check_versions(s, b);
		if (!s->floor[b])
			continue;
		have = 0;
		lacking = 0;
		for (k = 0; k < s->n; k++) {
			have += s->t[k].media[b].v >= s->floor[b];
			if ((live & bit(k)) && s->t[k].vis[b].v < s->floor[b])
				lacking++;
			if (!s->quorum && (h & bit(k)) &&
			    s->t[k].vis[b].v < s->floor[b])
				sim_fail(s, "D1: up-to-date replica %u holds"
					 " block %u at %#" PRIx64 ", older"
					 " than the flushed %#" PRIx64, k, b,
					 s->t[k].vis[b].v, s->floor[b]);
		}
		if (have < (s->quorum ? s->w : 1))
			sim_fail(s, "D1: block %u's flushed version %#" PRIx64
				 " is durable on %u stores", b, s->floor[b],
				 have);
		if (s->quorum && s->alive && lacking >= s->r)
			sim_fail(s, "D1: %u live replicas (R = %u) lack block"
				 " %u's flushed version %#" PRIx64, lacking,
				 s->r, b, s->floor[b]);
	}
	/*
	 * D3: a replica reads may ask (quorum: live and reconciled; mirror:
	 * up to date) holds no orphan; one that rejoined holds it only
	 * until its resync rolled it back.
	 */
	for (k = 0; k < s->n && s->orphans && s->alive && !s->failed; k++) {
		if (!s->rep[k].live || (s->quorum ? s->rep[k].unreconciled :
					!s->rep[k].uptodate))
			continue;
		for (b = 0; b < NB; b++) {
			uint32_t d = s->t[k].vis[b].d;

			if (d && d <= s->nw && s->writes[d - 1].orphan)
				sim_fail(s, "D3: replica %u, %s, holds block %u"
					 " at %#" PRIx64 ", a deposed primary's"
					 " write no target of epoch %" PRIu64
					 " held", k, s->rep[k].uptodate ?
					 "up to date" : "read from", b,
					 s->t[k].vis[b].v, s->epoch);
		}
	}
	/* S: healed and resynced, nothing in flight: identical. */
	settled = s->alive && h == bit(s->n) - 1;
	for (k = 0; k < s->n && settled; k++)
		settled = !s->t[k].nq && !s->t[k].ns;
	for (b = 0; b < NB && settled; b++)
		settled = !s->in_flight[b];
	for (k = 1; k < s->n && settled && !s->failed; k++)
		if (memcmp(s->t[k].vis, s->t[0].vis, sizeof(s->t[0].vis)))
			sim_fail(s, "S: every replica is up to date and idle, "
				 "but targets 0 and %u differ", k);
}

/* ---- events -------------------------------------------------------------- */

static void trace_ev(const struct ev *e, unsigned int i)
{
	printf("#   %4u %-10s %u %#x\n", i, ev_names[e->op], e->a, e->b);
}

/* With QREP_SIM_STATE set, a traced run prints this after each event. */
static void print_state(const struct sim *s)
{
	unsigned int i, b;

	for (i = 0; i < s->n; i++) {
		printf("#          t%u %s%s todo %#x q %u side %u:", i,
		       s->rep[i].live ? "live" : "failed",
		       s->rep[i].uptodate ? " up to date" : "",
		       s->rep[i].todo, s->t[i].nq, s->t[i].ns);
		for (b = 0; b < NB; b++)
			printf(" %" PRIx64 "/%" PRIx64, s->t[i].vis[b].v,
			       s->t[i].media[b].v);
		printf("\n");
	}
}

static void run_expect(struct sim *s, const struct ev *e)
{
	const struct replica *r = &s->rep[e->a];
	const struct flush *f = s->nf ? &s->flushes[s->nf - 1] : NULL;

	switch (e->b >> 24) {
	case X_STALE:
		if (!r->live || r->uptodate)
			sim_fail(s, "expected replica %u live and stale", e->a);
		break;
	case X_UPTODATE:
		if (!r->live || !r->uptodate)
			sim_fail(s, "expected replica %u up to date", e->a);
		break;
	case X_FLUSH_DONE:
		if (!f || !f->done)
			sim_fail(s, "expected the last flush completed");
		break;
	case X_FLUSH_NOT_DONE:
		if (!f || f->done)
			sim_fail(s, "expected the last flush not completed");
		break;
	case X_IDENTICAL: {
		unsigned int k;

		for (k = 1; k < s->n; k++)
			if (memcmp(s->t[k].vis, s->t[0].vis,
				   sizeof(s->t[0].vis)))
				sim_fail(s, "expected identical replicas: "
					 "targets 0 and %u differ", k);
		break;
	}
	case X_READ:
		if (s->read_v != (e->b & 0xffffff))
			sim_fail(s, "expected the read to return version %u, "
				 "it returned %#" PRIx64, e->b & 0xffffff,
				 s->read_v);
		break;
	case X_READ_DATA:
		if (s->read_d != (e->b & 0xffffff))
			sim_fail(s, "expected the read to return the data of "
				 "write %u (0: none), it returned write %u's",
				 e->b & 0xffffff, s->read_d);
		break;
	case X_UNRECONCILED:
		if (!r->live || !r->unreconciled)
			sim_fail(s, "expected replica %u live and lending "
				 "nothing to reads", e->a);
		break;
	}
}

static void run_ev(struct sim *s, const struct ev *e)
{
	unsigned int i;

	if (s->nlog < EVMAX)
		s->log[s->nlog++] = *e;
	if (s->trace_all)
		trace_ev(e, s->nlog - 1);
	switch (e->op) {
	case E_WRITE:
		do_write(s, e->a % NB);
		break;
	case E_DELIVER:
		for (i = 0; i < (e->b ? e->b : 1); i++)
			deliver(s, e->a);
		break;
	case E_SIDE:
		/* b: the index of the copy, bit 31: it is duplicated */
		deliver_side(s, e->a, e->b & 0xffff, e->b >> 31);
		break;
	case E_FLUSH:
		do_flush(s);
		break;
	case E_READ:
		do_read(s, e->a % NB);
		break;
	case E_FAIL:
		replica_fail(s, e->a);
		break;
	case E_POWER:
		power_loss(s, e->a, e->b);
		break;
	case E_JOIN:
		do_rejoin(s, e->a);
		break;
	case E_RESYNC:
		/* b != 0: the whole resync, its copies delivered in order */
		do {
			resync_step(s, e->a);
			while (e->b && s->t[e->a].ns)
				deliver_side(s, e->a, 0, false);
		} while (e->b && s->alive && s->rep[e->a].todo);
		break;
	case E_CRASH:
		primary_crash(s, e->b);
		break;
	case E_UP:
		primary_up(s);
		break;
	case E_CUT:
		/*
		 * b: the targets the primary no longer reaches, a write
		 * quorum (a new primary's side); it reaches the others.
		 */
		if (s->alive && s->quorum && !s->cut &&
		    (e->b & (bit(s->n) - 1)) != bit(s->n) - 1 &&
		    qrep_quorum_weight(e->b & (bit(s->n) - 1)) >= s->w)
			s->cut = e->b & (bit(s->n) - 1);
		break;
	case E_TAKEOVER:
		primary_takeover(s, e->b);
		break;
	case E_EXPECT:
		run_expect(s, e);
		break;
	}
	if (!s->failed)
		check(s);
	if (s->trace_all && getenv("QREP_SIM_STATE"))
		print_state(s);
}

static void sim_reset(struct sim *s, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->seed = seed;
	s->rng.s = seed;
}

static void sim_report(const struct sim *s)
{
	unsigned int i;

	if (s->scripted)
		printf("# VIOLATION row %" PRIu64 ": %s\n", s->seed, s->why);
	else
		printf("# VIOLATION seed %#" PRIx64 ": %s\n", s->seed, s->why);
	printf("#   %s mode, N = %u%s", s->quorum ? "quorum" : "mirror", s->n,
	       s->quorum ? "" : "\n");
	if (s->quorum)
		printf(", W = %u, R = %u\n", s->w, s->r);
	if (s->scripted)
		printf("#   events (replay: QREP_SIM_ROW=%" PRIu64 "):\n",
		       s->seed);
	else
		printf("#   events (replay: QREP_SIM_SEED=%#" PRIx64 "):\n",
		       s->seed);
	for (i = 0; i < s->nlog; i++)
		trace_ev(&s->log[i], i);
	printf("#   at the end (per target: versions/on media):\n");
	print_state(s);
	fflush(stdout);
}

static void sim_start(struct sim *s, bool quorum, unsigned int n,
		      unsigned int w, unsigned int r)
{
	s->quorum = quorum;
	s->n = n;
	s->w = w;
	s->r = r;
	primary_up(s);
}

/* ---- random runs ---------------------------------------------------------- */

static struct ev random_ev(struct sim *s)
{
	struct ev e = { .a = (uint8_t)rng_below(s, s->n) };
	unsigned int x = rng_below(s, 100);
	struct target *t = &s->t[e.a];
	uint64_t h = holders_mask(s);

	if (!s->alive) {
		/* Targets may lose power before the device is made again. */
		if (x < 15) {
			e.op = E_POWER;
			e.b = (uint32_t)rng_next(s);
		} else {
			e.op = E_UP;
		}
		return e;
	}
	/*
	 * Quorum mode: a cut leaves the primary a minority, whose targets
	 * take its writes; a new primary takes over on the others.
	 */
	if (s->quorum && s->n > s->w && (s->cut ? x < 8 : x < 2)) {
		unsigned int drop;

		if (s->cut) {
			e.op = E_TAKEOVER;
			e.b = (uint32_t)rng_next(s);
			return e;
		}
		e.op = E_CUT;
		e.b = (uint32_t)(bit(s->n) - 1);
		for (drop = 1 + rng_below(s, s->n - s->w); drop; drop--)
			e.b &= ~(uint32_t)bit(rng_below(s, s->n));
		if (qrep_quorum_weight(e.b) < s->w ||
		    e.b == (uint32_t)(bit(s->n) - 1))
			e.b = (uint32_t)(bit(s->n) - 1) & ~(uint32_t)bit(e.a);
		return e;
	}
	if (x < 24) {
		e.op = E_WRITE;
		e.a = (uint8_t)rng_below(s, NB);
	} else if (x < 52) {
		e.op = E_DELIVER;
		e.b = 1 + rng_below(s, 3);
	} else if (x < 60) {
		e.op = E_SIDE;
		e.b = t->ns ? rng_below(s, t->ns) : 0;
		if (!rng_below(s, 8))
			e.b |= 1U << 31;
	} else if (x < 66) {
		e.op = E_FLUSH;
	} else if (x < 78) {
		e.op = E_READ;
		e.a = (uint8_t)rng_below(s, NB);
	} else if (x < 81) {
		e.op = E_FAIL;
	} else if (x < 83) {
		e.op = E_POWER;
		e.b = (uint32_t)rng_next(s);
	} else if (x < 89) {
		e.op = E_JOIN;
	} else if (x < 98) {
		e.op = E_RESYNC;
	} else {
		e.op = E_CRASH;
		e.b = (uint32_t)rng_next(s);
	}
	/*
	 * Mirror mode promises D1 only while one up-to-date replica is
	 * left: the simulation never takes the last one (K failures).
	 */
	if ((e.op == E_FAIL || e.op == E_POWER) && !s->quorum &&
	    h == bit(e.a))
		e.op = E_READ;
	return e;
}

static bool sim_run(struct sim *s, uint64_t seed, bool trace_all)
{
	unsigned int i, n, w, r;
	bool quorum;

	sim_reset(s, seed);
	s->trace_all = trace_all;
	quorum = rng_below(s, 2);
	if (quorum) {
		n = 3 + rng_below(s, NT - 2);
		w = qrep_quorum_majority(n) + rng_below(s, n - qrep_quorum_majority(n) + 1);
		r = n - w + 1 + rng_below(s, w);
	} else {
		n = 2 + rng_below(s, NT - 1);
		w = r = 1;
	}
	sim_start(s, quorum, n, w, r);
	if (trace_all)
		printf("# seed %#" PRIx64 ": %s mode, N = %u, W = %u, R = %u\n",
		       seed, quorum ? "quorum" : "mirror", n, w, r);
	for (i = 0; i < RANDOM_EVENTS && !s->failed; i++) {
		struct ev e = random_ev(s);

		run_ev(s, &e);
	}
	if (s->failed)
		sim_report(s);
	return !s->failed;
}

/* ---- the named rows: issue 14's scenarios as fixed scripts ---------------- */

#define W_(b)		{ E_WRITE, b, 0 }
#define D_(t, n)	{ E_DELIVER, t, n }
#define F_		{ E_FLUSH, 0, 0 }
#define R_(b)		{ E_READ, b, 0 }
#define FAIL_(t)	{ E_FAIL, t, 0 }
#define PL_(t, keep)	{ E_POWER, t, keep }
#define JOIN_(t)	{ E_JOIN, t, 0 }
#define RS_(t)		{ E_RESYNC, t, 1 }
#define RS1_(t)		{ E_RESYNC, t, 0 }
#define SIDE_(t, i)	{ E_SIDE, t, i }
#define CRASH_(keep)	{ E_CRASH, 0, keep }
#define UP_		{ E_UP, 0, 0 }
#define CUT_(mask)	{ E_CUT, 0, mask }
#define TAKE_(keep)	{ E_TAKEOVER, 0, keep }
#define X_(what, t, v)	{ E_EXPECT, t, ((uint32_t)(what) << 24) | (v) }
#define END_		{ E_NR, 0, 0 }

struct row {
	const char *what;
	bool quorum;
	unsigned int n, w, r;
	struct ev ev[48];
};

static const struct row script_rows[] = {
	/*
	 * 1: scenario 3, mirror. a (0) acknowledges X (block 0, v1) and Y
	 * (block 1, v2), and loses power keeping Y's cache entry but not
	 * X's; the FLUSH completes on b alone; a comes back. It must be
	 * stale (its highest version is the device's), and after its
	 * resync identical. With the old rejoin rule it is up to date and
	 * holds X's predecessor.
	 */
	{ "scenario 3, mirror: a replica that lost an acknowledged, "
	  "unflushed write comes back stale", false, 2, 1, 1,
	  { W_(0), D_(0, 1), D_(1, 1), W_(1), D_(0, 1), D_(1, 1),
	    PL_(0, 0x2), F_, D_(1, 1), X_(X_FLUSH_DONE, 0, 0), JOIN_(0),
	    X_(X_STALE, 0, 0), R_(0), X_(X_READ, 0, 1), RS_(0),
	    X_(X_UPTODATE, 0, 0), X_(X_IDENTICAL, 0, 0), END_ } },
	/*
	 * 2: scenario 2, mirror: b (1) blips; X (block 0) is flushed on a
	 * alone; b comes back stale and takes Y (block 1, same region);
	 * the primary crashes before the resync reaches X. `up` must find
	 * b behind, by its region, though its highest version is a's.
	 */
	{ "scenario 2, mirror: a crash mid-resync, up finds the stale "
	  "replica by its regions", false, 2, 1, 1,
	  { FAIL_(1), W_(0), D_(0, 1), F_, D_(0, 1), X_(X_FLUSH_DONE, 0, 0),
	    JOIN_(1), X_(X_STALE, 1, 0), W_(1), D_(0, 1), D_(1, 1),
	    CRASH_(0), UP_, X_(X_UPTODATE, 0, 0), X_(X_STALE, 1, 0),
	    R_(0), X_(X_READ, 0, 1), RS_(1), X_(X_IDENTICAL, 0, 0),
	    X_(X_UPTODATE, 1, 0), END_ } },
	/*
	 * 3: scenario 2 with each replica lacking a write the other holds:
	 * X flushed on a alone; b back stale takes Y, a's connection loses
	 * Y at the crash. `up` fills a (lacking fewest, the lower slot)
	 * from b, and starts with a up to date and b stale.
	 */
	{ "scenario 2, mirror: none holds everything, up fills one",
	  false, 2, 1, 1,
	  { FAIL_(1), W_(0), D_(0, 1), F_, D_(0, 1), JOIN_(1), W_(1),
	    D_(1, 1), CRASH_(0), UP_, X_(X_UPTODATE, 0, 0),
	    X_(X_STALE, 1, 0), R_(0), X_(X_READ, 0, 1), R_(1),
	    X_(X_READ, 0, 2), RS_(1), X_(X_IDENTICAL, 0, 0), END_ } },
	/*
	 * 4: scenario 3, quorum (N 3, W = R = 2): c (2) fails; X is
	 * acknowledged by a and b; c comes back stale; a FLUSH goes out,
	 * b fails before answering it, a and the stale c answer. It must
	 * not complete: X is durable on a alone. With the old rule (any
	 * W answers) it did.
	 */
	{ "scenario 3, quorum: a FLUSH answered by a stale replica does "
	  "not complete", true, 3, 2, 2,
	  { FAIL_(2), W_(0), D_(0, 1), D_(1, 1), JOIN_(2),
	    X_(X_STALE, 2, 0), F_, D_(0, 1), PL_(1, 0), D_(2, 1),
	    X_(X_FLUSH_NOT_DONE, 0, 0), JOIN_(1), RS_(1), RS_(2),
	    X_(X_IDENTICAL, 0, 0), END_ } },
	/*
	 * 5: scenario 4, quorum: X is acknowledged by a and b while c's
	 * copy waits in its connection; a FLUSH counted on b and c must
	 * cover X on c: the target answers it after every earlier request
	 * (in the model: its connection is in order).
	 */
	{ "scenario 4, quorum: a FLUSH does not overtake a write on its "
	  "connection", true, 3, 2, 2,
	  { W_(0), D_(0, 1), D_(1, 1), F_, FAIL_(0), D_(1, 1), D_(2, 2),
	    X_(X_FLUSH_DONE, 0, 0), R_(0), END_ } },
	/*
	 * 6: a late duplicate of a resync copy: b is resynced with X's
	 * old version in flight, then a newer write Z arrives first; the
	 * copy and its duplicate must not undo Z (write-if-newer).
	 */
	{ "a late, duplicated resync copy never undoes a newer write",
	  false, 2, 1, 1,
	  { W_(0), D_(0, 1), D_(1, 1), FAIL_(1), W_(0), D_(0, 1), JOIN_(1),
	    RS1_(1), W_(0), D_(0, 1), D_(1, 1), SIDE_(1, 0x80000000),
	    SIDE_(1, 0), RS_(1), X_(X_UPTODATE, 1, 0), R_(0),
	    X_(X_READ, 0, 3),
	    X_(X_IDENTICAL, 0, 0), END_ } },
	/*
	 * 7: quorum, a crash mid-resync: `up` takes a new epoch and finds
	 * the replica that missed X behind; after its resync all agree.
	 */
	{ "quorum: a crash mid-resync, up finds the replica behind",
	  true, 3, 2, 2,
	  { FAIL_(2), W_(0), D_(0, 1), D_(1, 1), F_, D_(0, 1), D_(1, 1),
	    JOIN_(2), W_(1), D_(0, 1), D_(1, 1), D_(2, 1), CRASH_(0), UP_,
	    X_(X_STALE, 2, 0), X_(X_UPTODATE, 0, 0), RS_(2),
	    X_(X_IDENTICAL, 0, 0), END_ } },
	/*
	 * 8: scenario 5, quorum (N 3, W = R = 2). X (block 0, write 1) is
	 * on every target. A cut leaves the primary with c (2) alone: its
	 * writes Y (block 0) and Z (block 1, never written) reach c only,
	 * unacknowledged. A new primary takes over on a and b at a newer
	 * epoch and writes block 2. c rejoins: it lends nothing to reads
	 * (they return X and "never written") until its resync rolls Y and
	 * Z back (qrep_resync_rolls_back, qrep_write_applies); then all
	 * agree. Without the rollback, c is up to date holding Y and Z.
	 */
	{ "scenario 5, quorum: a deposed primary's writes are rolled back "
	  "before they are read", true, 3, 2, 2,
	  { W_(0), D_(0, 1), D_(1, 1), D_(2, 1), CUT_(0x3), W_(0), D_(2, 1),
	    W_(1), D_(2, 1), R_(0), TAKE_(0), R_(0), X_(X_READ_DATA, 0, 1),
	    R_(1), X_(X_READ_DATA, 0, 0), W_(2), D_(0, 1), D_(1, 1),
	    JOIN_(2), X_(X_UNRECONCILED, 2, 0), R_(0),
	    X_(X_READ_DATA, 0, 1), R_(1), X_(X_READ_DATA, 0, 0), RS_(2),
	    X_(X_UPTODATE, 2, 0), X_(X_IDENTICAL, 0, 0), R_(0),
	    X_(X_READ_DATA, 0, 1), R_(1), X_(X_READ_DATA, 0, 0), END_ } },
	/*
	 * 9: scenario 5's resync sources, quorum (N 4, W 3, R 2; seed 0x2a
	 * found it). X (block 0, write 1) is on every target; Y (block 1,
	 * write 2) on b, c and d (1-3) only. A cut leaves the primary with
	 * c alone: its write Z (block 3, never written) reaches c only. A
	 * new primary takes over on a, b and d: a is behind (it lacks Y)
	 * and stale, but one the device starts with, so reads may ask it.
	 * After a read (the device has sent I/O), c joins, unreconciled. a's resync must not take c as a source:
	 * Z would be the newest version of block 3 there, and be copied to
	 * a as an ordinary write (qrep_resync_source_ok). Then c's resync
	 * rolls Z back, and all agree.
	 */
	{ "scenario 5, quorum: a resync takes no unreconciled replica as a "
	  "source", true, 4, 3, 2,
	  { W_(0), D_(0, 1), D_(1, 1), D_(2, 1), D_(3, 1), W_(1), D_(1, 1),
	    D_(2, 1), D_(3, 1), CUT_(0xb), W_(3), D_(2, 1), TAKE_(0),
	    X_(X_STALE, 0, 0), X_(X_UPTODATE, 1, 0), X_(X_UPTODATE, 3, 0),
	    R_(3), X_(X_READ_DATA, 3, 0), JOIN_(2), X_(X_UNRECONCILED, 2, 0), R_(3), X_(X_READ_DATA, 3, 0),
	    RS_(0), X_(X_UPTODATE, 0, 0), R_(3), X_(X_READ_DATA, 3, 0),
	    RS_(2), X_(X_UPTODATE, 2, 0), X_(X_IDENTICAL, 0, 0), R_(3),
	    X_(X_READ_DATA, 3, 0), R_(1), X_(X_READ_DATA, 1, 2), END_ } },
	/*
	 * 10: scenario 5, a replica joining a slot `up` left empty, quorum
	 * (N 3, W = R = 2). X (block 0, write 1) is on every target. A cut
	 * leaves the primary with c (2) alone: its write Y (block 0) reaches
	 * c only. A new primary takes over on a and b, which serve a read
	 * of X before it writes anything; then c, which `up` did not reach,
	 * joins its empty slot, not as a failed replica's return. Its
	 * highest version, Y's, is above the device's, but the device has
	 * read: c must join stale and unreconciled, leave a and b up to
	 * date, and reads return X until its resync rolls Y back. With the
	 * old rule (qrep_joiner_may_be_uptodate blind to reads) c joins up
	 * to date holding Y, and a and b are made stale.
	 */
	{ "scenario 5, quorum: a replica joining a slot up left empty, "
	  "after reads, joins unreconciled", true, 3, 2, 2,
	  { W_(0), D_(0, 1), D_(1, 1), D_(2, 1), CUT_(0x3), W_(0), D_(2, 1),
	    TAKE_(0), R_(0), X_(X_READ_DATA, 0, 1), JOIN_(2),
	    X_(X_UNRECONCILED, 2, 0), X_(X_UPTODATE, 0, 0),
	    X_(X_UPTODATE, 1, 0), R_(0), X_(X_READ_DATA, 0, 1), RS_(2),
	    X_(X_UPTODATE, 2, 0), X_(X_IDENTICAL, 0, 0), R_(0),
	    X_(X_READ_DATA, 0, 1), END_ } },
};

static bool row_run(struct sim *s, unsigned int i, bool trace_all)
{
	const struct row *rw = &script_rows[i];
	unsigned int k;

	sim_reset(s, i + 1);
	s->trace_all = trace_all;
	s->scripted = true;
	sim_start(s, rw->quorum, rw->n, rw->w, rw->r);
	for (k = 0; rw->ev[k].op != E_NR && !s->failed; k++)
		run_ev(s, &rw->ev[k]);
	if (s->failed) {
		printf("# row %u: %s\n", i + 1, rw->what);
		sim_report(s);
	}
	return !s->failed;
}

/* ---- epochs: fencing, elections, store replacement and the floor --------- */

/*
 * The epoch layer, run beside the data plane with its own state (not yet
 * one model with it): N stores, each with an epoch and a joining flag;
 * EN nodes, each knowing the highest epoch it has seen; partitions as the
 * set of stores a step reaches. The real rules decide: the target's hello,
 * request and proposal predicates (qrep_epoch_hello, qrep_epoch_request,
 * qrep_epoch_proposal_accepted, linux/qrep_data.h, as target/conn.c and
 * target/request.c) and join's floor (qrep_join_answers_needed,
 * qrep_join_floor, lib/join.c, as qrep-target join).
 *
 * An election: a node says hello (epoch 0) to the stores it reaches,
 * learns their epochs, then (perhaps after other steps: elections race)
 * proposes one above all it knows, and wins when W stores accepted it
 * (mirror: every store). A winner writes at its epoch on
 * connections it opens with a hello of that epoch, and goes on after it
 * is deposed (a deposed primary writes until its io-timeout).
 *
 * Invariants:
 *   D2  at most one writer per epoch: no epoch is won twice, and a store
 *       admits a request of epoch e only from e's winner;
 *   F   a replaced store never lets an older epoch's writer in: it never
 *       accepts a proposal of, nor admits a request below, an epoch won
 *       before it was replaced.
 */
#define EN		3		/* nodes */
#define EMAX		64		/* epochs a run may reach */
#define EPOCH_EVENTS	60		/* events of a random epoch run */

enum eev_op { EE_ELECT, EE_PROPOSE, EE_WRITE, EE_REPLACE, EE_JOIN, EE_NR };

static const char *const eev_names[EE_NR] = {
	"elect", "propose", "write", "replace", "join",
};

struct eev {
	uint8_t op, node, t;
	uint8_t mask;			/* the stores reached, or answering */
};

struct esim {
	struct { uint64_t s; } rng;
	uint64_t seed;
	bool quorum, failed, scripted;
	unsigned int n, w;
	uint64_t held[NT], floor_needed[NT];
	bool joining[NT];
	bool conn[EN][NT];		/* a hello admitted at the node's epoch */
	uint64_t view[EN], mine[EN];	/* highest known; the epoch won */
	uint64_t pend[EN];		/* the epoch it proposes, or 0 */
	unsigned int accepted[EN];	/* the stores that accepted it */
	int owner[EMAX];		/* the node that won it, or -1 */
	uint64_t top;			/* the highest epoch won */
	struct eev log[EVMAX];
	unsigned int nlog;
	char why[256];
};

__attribute__((format(printf, 2, 3)))
static void esim_fail(struct esim *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	first_failure(&s->failed, s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

/* Node @nd's hello at @epoch to store @k; true if it was admitted. */
static bool esim_hello(struct esim *s, unsigned int nd, unsigned int k,
		       uint64_t epoch)
{
	switch (qrep_epoch_hello(epoch, s->held[k], s->joining[k])) {
	case QREP_EPOCH_JOINING:
		return false;
	case QREP_EPOCH_FENCED:
		break;
	case QREP_EPOCH_RAISE:
		s->held[k] = epoch;
		return true;
	case QREP_EPOCH_ADMIT:
		/* The reply tells the store's epoch. */
		if (s->held[k] > s->view[nd])
			s->view[nd] = s->held[k];
		return true;
	}
	if (s->held[k] > s->view[nd])
		s->view[nd] = s->held[k];
	return false;
}

/* An election's first half: hellos to @mask, then the epoch to propose. */
static void esim_elect(struct esim *s, unsigned int nd, unsigned int mask)
{
	unsigned int k;

	for (k = 0; k < s->n; k++)
		if (mask & (1U << k))
			esim_hello(s, nd, k, 0);
	s->pend[nd] = s->view[nd] + 1 < EMAX ? s->view[nd] + 1 : 0;
	s->accepted[nd] = 0;
}

/*
 * Its second half, perhaps after other steps: node @nd's pending proposal
 * goes to the stores in @mask; it wins on W acceptances (mirror: all).
 */
static void esim_propose(struct esim *s, unsigned int nd, unsigned int mask)
{
	unsigned int k, need = s->quorum ? s->w : s->n;
	uint64_t p = s->pend[nd];

	if (!p)
		return;
	for (k = 0; k < s->n; k++) {
		if (!(mask & (1U << k)) || (s->accepted[nd] & (1U << k)))
			continue;
		/* A joining store refused the hello: no proposal. */
		if (qrep_epoch_hello(0, s->held[k], s->joining[k]) ==
		    QREP_EPOCH_JOINING)
			continue;
		if (!qrep_epoch_proposal_accepted(p, s->held[k])) {
			if (s->held[k] > s->view[nd])
				s->view[nd] = s->held[k];
			continue;
		}
		if (p <= s->floor_needed[k])
			esim_fail(s, "F: store %u, replaced, accepted a proposal of "
				  "epoch %" PRIu64 ", already won before", k, p);
		s->held[k] = p;
		s->accepted[nd] |= 1U << k;
	}
	if (p > s->view[nd])
		s->view[nd] = p;
	if ((unsigned int)__builtin_popcount(s->accepted[nd]) < need)
		return;
	s->pend[nd] = 0;
	if (s->owner[p] >= 0)
		esim_fail(s, "D2: node %u won epoch %" PRIu64 ", which node %d "
			  "already won: two writers in one epoch", nd, p,
			  s->owner[p]);
	s->owner[p] = (int)nd;
	s->mine[nd] = p;
	memset(s->conn[nd], 0, sizeof(s->conn[nd]));
	if (p > s->top)
		s->top = p;
}

/* Node @nd, if it ever won, writes to store @k at its epoch. */
static void esim_write(struct esim *s, unsigned int nd, unsigned int k)
{
	uint64_t e = s->mine[nd];

	if (!e)
		return;
	if (!s->conn[nd][k]) {
		s->conn[nd][k] = esim_hello(s, nd, k, e);
		if (!s->conn[nd][k])
			return;
	}
	switch (qrep_epoch_request(e, s->held[k])) {
	case QREP_EPOCH_FENCED:
	case QREP_EPOCH_JOINING:
		/* The reply fences it: the connection breaks. */
		s->conn[nd][k] = false;
		if (s->held[k] > s->view[nd])
			s->view[nd] = s->held[k];
		return;
	case QREP_EPOCH_RAISE:
		s->held[k] = e;
		break;
	case QREP_EPOCH_ADMIT:
		break;
	}
	if (s->owner[e] != (int)nd)
		esim_fail(s, "D2: store %u admitted node %u's write at epoch %"
			  PRIu64 ", which node %d won", k, nd, e, s->owner[e]);
	if (e < s->floor_needed[k])
		esim_fail(s, "F: store %u, replaced, admitted a write of epoch %"
			  PRIu64 ", older than epoch %" PRIu64 " won before",
			  k, e, s->floor_needed[k]);
}

/* qrep-target init --replace of store @k: a new store, joining. */
static void esim_replace(struct esim *s, unsigned int k)
{
	unsigned int nd;

	s->held[k] = 0;
	s->joining[k] = true;
	s->floor_needed[k] = s->top;
	/*
	 * A proposal still collecting that counts the lost store's accept
	 * is the open part of scenario 1 (Documentation/durability.rst):
	 * not modelled, the proposer forgets it.
	 */
	for (nd = 0; nd < EN; nd++) {
		s->conn[nd][k] = false;
		s->accepted[nd] &= ~(1U << k);
	}
}

/* qrep-target join of store @k, asking the stores in @mask. */
static void esim_join(struct esim *s, unsigned int k, unsigned int mask)
{
	struct qrep_join_answer ans[NT];
	unsigned int j, na = 0, counted;
	uint64_t floor;

	if (!s->joining[k])
		return;
	for (j = 0; j < s->n; j++) {
		if (j == k)
			continue;
		ans[na] = (struct qrep_join_answer){
			.answered = (mask & (1U << j)) && !s->joining[j],
			.joining = (mask & (1U << j)) && s->joining[j],
			.epoch = s->held[j],
		};
		na++;
	}
	if (qrep_join_floor(ans, na,
			    qrep_join_answers_needed(s->quorum ?
						     QREP_MODE_QUORUM :
						     QREP_MODE_MIRROR,
						     s->n, s->w),
			    s->held[k], &floor, &counted))
		return;
	s->held[k] = floor;
	s->joining[k] = false;
}

static void esim_ev(struct esim *s, const struct eev *e)
{
	if (s->nlog < EVMAX)
		s->log[s->nlog++] = *e;
	switch (e->op) {
	case EE_ELECT:
		esim_elect(s, e->node, e->mask);
		break;
	case EE_PROPOSE:
		esim_propose(s, e->node, e->mask);
		break;
	case EE_WRITE:
		esim_write(s, e->node, e->t);
		break;
	case EE_REPLACE:
		esim_replace(s, e->t);
		break;
	case EE_JOIN:
		esim_join(s, e->t, e->mask);
		break;
	}
}

static void esim_start(struct esim *s, uint64_t seed, bool quorum,
		       unsigned int n, unsigned int w)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->seed = seed;
	s->rng.s = seed ^ 0x5eedULL;
	s->quorum = quorum;
	s->n = n;
	s->w = w;
	for (i = 0; i < EMAX; i++)
		s->owner[i] = -1;
}

static void esim_report(const struct esim *s)
{
	unsigned int i, k;

	if (s->scripted)
		printf("# VIOLATION epoch row %" PRIu64 ": %s\n", s->seed,
		       s->why);
	else
		printf("# VIOLATION seed %#" PRIx64 " (epochs): %s\n", s->seed,
		       s->why);
	printf("#   %s mode, N = %u, W = %u; events:\n",
	       s->quorum ? "quorum" : "mirror", s->n, s->w);
	for (i = 0; i < s->nlog; i++)
		printf("#   %3u %-8s node %u store %u mask %#x\n", i,
		       eev_names[s->log[i].op], s->log[i].node, s->log[i].t,
		       s->log[i].mask);
	for (k = 0; k < s->n; k++)
		printf("#   store %u: epoch %" PRIu64 "%s\n", k, s->held[k],
		       s->joining[k] ? ", joining" : "");
	fflush(stdout);
}

static uint64_t esim_rng(struct esim *s)
{
	uint64_t z = (s->rng.s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static bool esim_run(struct esim *s, uint64_t seed)
{
	unsigned int i, n, w, x, replaced = 0;
	bool quorum;

	esim_start(s, seed, false, 0, 0);
	quorum = esim_rng(s) % 4 != 0;
	n = 3 + esim_rng(s) % (NT - 2);
	w = quorum ? qrep_quorum_majority(n) +
		     esim_rng(s) % (n - qrep_quorum_majority(n) + 1) : n;
	s->quorum = quorum;
	s->n = n;
	s->w = w;
	for (i = 0; i < EPOCH_EVENTS && !s->failed; i++) {
		struct eev e = {
			.node = (uint8_t)(esim_rng(s) % EN),
			.t = (uint8_t)(esim_rng(s) % n),
			.mask = (uint8_t)(esim_rng(s) & ((1U << n) - 1)),
		};

		x = esim_rng(s) % 100;
		if (x < 15)
			e.op = EE_ELECT;
		else if (x < 35)
			e.op = EE_PROPOSE;
		else if (x < 80)
			e.op = EE_WRITE;
		else if (x < 88 && replaced < 3)
			e.op = EE_REPLACE, replaced++;
		else
			e.op = EE_JOIN;
		esim_ev(s, &e);
	}
	if (s->failed)
		esim_report(s);
	return !s->failed;
}

#define EL_(nd, m)	{ EE_ELECT, nd, 0, m }, { EE_PROPOSE, nd, 0, m }
#define EH_(nd, m)	{ EE_ELECT, nd, 0, m }
#define EP_(nd, m)	{ EE_PROPOSE, nd, 0, m }
#define EW_(nd, t)	{ EE_WRITE, nd, t, 0 }
#define ERP_(t)		{ EE_REPLACE, 0, t, 0 }
#define EJ_(t, m)	{ EE_JOIN, 0, t, m }
#define EEND_		{ EE_NR, 0, 0, 0 }

struct erow {
	const char *what;
	bool quorum;
	unsigned int n, w;
	struct eev ev[40];
};

static const struct erow epoch_rows[] = {
	/*
	 * 1: scenario 1, quorum N = 3, W = 2. Node a (0) wins epoch 1 on
	 * every store, then epoch 2 on {t0, t1} (t2 away, it keeps 1) and
	 * writes there. A cut isolates {a, t1}; t0 is replaced. Node b (1)
	 * reaches {t0, t2}: it must not win (t0 is joining), and a's write
	 * to t0 must not be admitted. Fixed: t0 joins asking t1 only (one
	 * answer, two needed: it stays joining), then {t1, t2}: floor 2; b
	 * then wins 3, and a is fenced everywhere it goes.
	 */
	{ "scenario 1: a replaced store at epoch 0 votes: two writers in one epoch",
	  true, 3, 2, {
		EL_(0, 7), EL_(0, 3), EW_(0, 0), EW_(0, 1), ERP_(0),
		EL_(1, 5), EW_(0, 0), EW_(1, 0), EW_(1, 2),
		EJ_(0, 2), EL_(1, 5), EJ_(0, 6), EW_(0, 0),
		EL_(1, 5), EW_(1, 0), EW_(1, 2), EW_(0, 0), EW_(0, 2),
		EW_(0, 1), EL_(0, 3), EEND_ } },
	/*
	 * 2: mirror, N = 3: a replaced store must hear every other store;
	 * the old primary's write at its epoch is fenced after the join.
	 */
	{ "mirror: a replaced store waits for every other store's epoch",
	  false, 3, 3, {
		EL_(0, 7), EW_(0, 0), EW_(0, 1), EW_(0, 2), ERP_(2),
		EW_(0, 2), EJ_(2, 1), EW_(0, 2), EJ_(2, 3), EW_(0, 2),
		EL_(1, 7), EW_(0, 2), EW_(1, 2), EW_(0, 0), EEND_ } },
	/*
	 * 3: two elections race, quorum N = 3, W = 2: a and b both hear
	 * epoch 0 and propose 1; a's reaches {t0, t1} first and wins; b's
	 * reaches {t1, t2}: t1 holds 1 already and must refuse, so b does
	 * not win 1 as well. b's next try, knowing 1, proposes 2 and wins;
	 * a's write to t1 is then fenced.
	 */
	{ "two proposals of one epoch: at most one is accepted per store",
	  true, 3, 2, {
		EH_(0, 7), EH_(1, 7), EP_(0, 3), EW_(0, 0), EW_(0, 1),
		EP_(1, 6), EW_(1, 2), EW_(0, 2), EL_(1, 6), EW_(1, 1),
		EW_(0, 1), EW_(0, 0), EEND_ } },
};

static bool erow_run(struct esim *s, unsigned int i)
{
	const struct erow *rw = &epoch_rows[i];
	unsigned int k;

	esim_start(s, i + 1, rw->quorum, rw->n, rw->w);
	s->scripted = true;
	for (k = 0; rw->ev[k].op != EE_NR && !s->failed; k++)
		esim_ev(s, &rw->ev[k]);
	if (s->failed) {
		printf("# epoch row %u: %s\n", i + 1, rw->what);
		esim_report(s);
	}
	return !s->failed;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : dflt;
}

static bool plant_child(const char *mode)
{
	const char *v = getenv("QREP_SIM_PLANT_CHILD");

	return v && !strcmp(v, mode);
}

TEST(rows)
{
	unsigned int i, failed = 0, only = env_u64("QREP_SIM_ROW", 0);
	struct esim *es;
	struct sim *s;

	if (plant_child("seeds"))
		SKIP(return, "a planted build, asked for its seeds only");
	s = calloc(1, sizeof(*s));
	ASSERT_NE(NULL, s);
	for (i = 0; i < ARRAY_SIZE(script_rows); i++)
		if (!only || only == i + 1)
			failed += !row_run(s, i, only == i + 1);
	free(s);
	es = calloc(1, sizeof(*es));
	ASSERT_NE(NULL, es);
	for (i = 0; i < ARRAY_SIZE(epoch_rows) && !only; i++)
		failed += !erow_run(es, i);
	free(es);
	ksft_print_msg("%zu scenario rows, %zu epoch rows, %u failed\n",
		       ARRAY_SIZE(script_rows), ARRAY_SIZE(epoch_rows), failed);
	fflush(stdout);
	ASSERT_EQ(0, failed);
}

struct seeds_result {
	uint64_t runs, failures, events;
};

static struct seeds_result seeds_run(uint64_t first, uint64_t runs,
				     unsigned int jobs)
{
	struct seeds_result res = { 0 };
	int fds[64];
	pid_t pids[64];
	unsigned int j;

	if (jobs < 1)
		jobs = 1;
	if (jobs > 64)
		jobs = 64;
	for (j = 0; j < jobs; j++) {
		struct seeds_result mine = { 0 };
		struct esim *es;
		struct sim *s;
		int fd[2];
		uint64_t i;

		if (jobs > 1) {
			if (pipe(fd) || (pids[j] = fork()) < 0) {
				perror("fork");
				abort();
			}
			if (pids[j]) {
				close(fd[1]);
				fds[j] = fd[0];
				continue;
			}
			close(fd[0]);
		}
		s = calloc(1, sizeof(*s));
		es = calloc(1, sizeof(*es));
		if (!s || !es)
			abort();
		for (i = first + j; i < first + runs; i += jobs) {
			mine.runs++;
			if (!sim_run(s, i, false) || !esim_run(es, i)) {
				mine.failures++;
				break;
			}
			mine.events += s->nlog + es->nlog;
		}
		free(es);
		free(s);
		if (jobs == 1)
			return mine;
		if (write(fd[1], &mine, sizeof(mine)) != sizeof(mine))
			_exit(2);
		_exit(0);
	}
	for (j = 0; j < jobs; j++) {
		struct seeds_result got = { 0 };

		if (read(fds[j], &got, sizeof(got)) != sizeof(got))
			got.failures = 1;
		close(fds[j]);
		waitpid(pids[j], NULL, 0);
		res.runs += got.runs;
		res.failures += got.failures;
		res.events += got.events;
	}
	return res;
}

FIXTURE(sim) {
	int unused;
};

FIXTURE_SETUP(sim)
{
	(void)self;
}

FIXTURE_TEARDOWN(sim)
{
	(void)self;
}

TEST_F_TIMEOUT(sim, seeds, SIM_TIMEOUT_S)
{
	uint64_t runs = env_u64("QREP_SIM_RUNS", DEFAULT_RUNS);
	uint64_t first = env_u64("QREP_SIM_FIRST", 0);
	unsigned int jobs = env_u64("QREP_SIM_JOBS", 1);
	const char *one = getenv("QREP_SIM_SEED");
	struct seeds_result res;
	struct timespec t0, t1;

	(void)self;
	if (env_u64("QREP_SIM_ROW", 0))
		SKIP(return, "one row asked");
	if (one && *one) {
		struct sim *s = calloc(1, sizeof(*s));
		uint64_t seed = strtoull(one, NULL, 0);
		bool ok;

		ASSERT_NE(NULL, s);
		ok = sim_run(s, seed, true);
		free(s);
		if (ok) {
			struct esim *es = calloc(1, sizeof(*es));

			ASSERT_NE(NULL, es);
			ok = esim_run(es, seed);
			free(es);
		}
		printf("# seed %#" PRIx64 ": %s\n", seed, ok ? "ok" : "FAILED");
		fflush(stdout);
		ASSERT_TRUE(ok);
		return;
	}
	if (plant_child("rows")) {
		/* A planted build: a row that catches it is enough. */
		struct sim *s = calloc(1, sizeof(*s));
		unsigned int i, failed = 0;
		struct esim *es;

		ASSERT_NE(NULL, s);
		for (i = 0; i < ARRAY_SIZE(script_rows) && !failed; i++)
			failed += !row_run(s, i, false);
		free(s);
		es = calloc(1, sizeof(*es));
		ASSERT_NE(NULL, es);
		for (i = 0; i < ARRAY_SIZE(epoch_rows) && !failed; i++)
			failed += !erow_run(es, i);
		free(es);
		ASSERT_EQ(0, failed);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	res = seeds_run(first, runs, jobs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# %" PRIu64 " runs, %" PRIu64 " failed, %" PRIu64
	       " events, %.1f s\n", res.runs, res.failures, res.events,
	       (double)(t1.tv_sec - t0.tv_sec) +
	       (t1.tv_nsec - t0.tv_nsec) / 1e9);
	fflush(stdout);
	ASSERT_EQ(0, res.failures);
	ASSERT_EQ(runs, res.runs);
}

/*
 * The planted bugs (built by make unit as data_sim_plant_<name>, the list
 * as userspace/Makefile's DATA_SIM_PLANTS): each must make the simulation
 * find a violation, in a row or a seed.
 */
static const char *const plants[] = {
	"FLUSH_ANY_W",			/* quorum flush counts any W answers */
	"UPTODATE_MAX_VERSION",		/* up compares highest versions */
	"REJOIN_BY_MAX_VERSION",	/* a returning replica trusted */
	"STORE_APPLY_ANY",		/* the store applies older writes */
	"EPOCH_FLOOR",			/* a replaced store serves at epoch 0 */
	"PROPOSE_EQUAL",		/* a store accepts an equal proposal */
	"ORPHAN_ROLLBACK",		/* the resync rolls nothing back */
	"UNRECONCILED_SOURCE",		/* a resync copies from a rejoined one */
	"JOIN_AFTER_READS",		/* a joiner up to date after reads */
};

/*
 * A plant's build, run on the rows (@mode "rows": the seeds only if no
 * row catches it) or on the seeds alone: @caught, the first violation it
 * printed; @status, its exit status.
 */
static bool plant_run(const char *name, const char *mode, int *status,
		      char *caught, size_t len)
{
	char exe[4096], cmd[4096 + 256], line[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	FILE *p;

	caught[0] = 0;
	if (n <= 0)
		return false;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = 0;
	snprintf(cmd, sizeof(cmd),
		 "QREP_SIM_PLANT_CHILD=%s QREP_SIM_SEED= QREP_SIM_ROW= "
		 "QREP_SIM_FIRST=0 QREP_SIM_JOBS=1 QREP_SIM_RUNS=%d "
		 "'%s/data_sim_plant_%s' 2>&1", mode, DEFAULT_RUNS, exe, name);
	p = popen(cmd, "r");
	if (!p)
		return false;
	while (fgets(line, sizeof(line), p))
		if (!caught[0] && !strncmp(line, "# VIOLATION ", 12)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(caught, len, "%s", line + 12);
		}
	*status = pclose(p);
	return true;
}

TEST_F_TIMEOUT(sim, plants, SIM_TIMEOUT_S)
{
	static const char *const modes[] = { "rows", "seeds" };
	unsigned int i, m, missed = 0;
	char caught[512];
	int status;

	(void)self;
	if (getenv("QREP_SIM_PLANT_CHILD"))
		SKIP(return, "a planted build runs no plants of its own");
	if ((getenv("QREP_SIM_SEED") && *getenv("QREP_SIM_SEED")) ||
	    (getenv("QREP_SIM_ROW") && *getenv("QREP_SIM_ROW")))
		SKIP(return, "one seed or row asked");
	/* Each plant must be caught by a named row and by the seeds. */
	for (i = 0; i < ARRAY_SIZE(plants); i++) {
		for (m = 0; m < ARRAY_SIZE(modes); m++) {
			if (!plant_run(plants[i], modes[m], &status, caught,
				       sizeof(caught))) {
				printf("# plant %s: cannot run it\n",
				       plants[i]);
				missed++;
				continue;
			}
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 1 ||
			    !caught[0]) {
				printf("# plant %s: NOT caught by the %s "
				       "(status %#x)\n", plants[i], modes[m],
				       status);
				missed++;
				continue;
			}
			printf("# plant %s: the %s catch it: %s\n", plants[i],
			       modes[m], caught);
		}
	}
	fflush(stdout);
	ASSERT_EQ(0, missed);
}

TEST_HARNESS_MAIN
