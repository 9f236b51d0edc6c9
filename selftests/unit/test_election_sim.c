// SPDX-License-Identifier: GPL-2.0
/*
 * The election core (userspace/qrepd/election.c) in a simulated cluster.
 *
 * N nodes, each an election state machine driving a device (writable or
 * not, with an epoch), and T targets that each keep one stored epoch,
 * which survives their crashes. A simulated clock; a network that delays
 * (and so reorders), loses and duplicates messages and can be cut into
 * groups that cannot talk; node crashes (the node loses everything) and
 * restarts; a kernel that writes through the targets with its epoch and
 * reports refusals (QREP_EV_FENCED). One seeded PRNG drives it all, so a
 * seed replays exactly.
 *
 * Invariants, checked after every event:
 *   (a) at most one node is ever made writable in an epoch (one node, one
 *       run of it);
 *   (b) a node's epoch and seen epoch never decrease while it runs, and
 *       seen >= epoch; a target's stored epoch never decreases;
 *   (c) liveness: from T ms after the network became stable (below) until
 *       the stable period ends, in the group that holds W live targets
 *       and a live node, exactly one node is writable, every other live
 *       node of the group follows it at its epoch, no target of the group
 *       holds a newer epoch (so its writes succeed), and nothing changes;
 *       with failback=catchup the writable node is the group's biggest id;
 *   (d) a node is made writable at epoch E only if W targets accepted E
 *       from this very proposal (this node, this run of it); and where the
 *       groups never change (class "minority"), a node in a group with
 *       fewer than W targets is never writable; the device is writable
 *       exactly when the role is PRIMARY, at the role's epoch;
 *   (e) every acknowledged write (W targets applied it) of epoch E was
 *       applied, before it accepted E', by a target of the quorum that
 *       made each later epoch E' writable: the new primary's quorum holds
 *       every write acknowledged before it.
 *
 * "Stable": no crash, restart or cut any more, no loss, delays within the
 * run's bound D, and no message of the unstable period still in flight.
 * T is derived from the timeouts in liveness_bound().
 *
 *   QREP_SIM_RUNS=N    seeded runs in all (12000), shared by the classes
 *   QREP_SIM_FIRST=N   the first run index (0)
 *   QREP_SIM_JOBS=N    worker processes per class (1)
 *   QREP_SIM_SEED=S    run only seed S (as printed), tracing every event
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "election.h"

#define MAXN		QREP_ELECTION_MAX_NODES
#define MAXT		QREP_ELECTION_MAX_TARGETS
#define TGT(t)		(MAXN + (t))	/* endpoints: nodes 0..7, targets 8..15 */
#define NR_EP		(MAXN + MAXT)
#define NR_GROUPS	4
#define TRACE_RING	128
#define TRACE_TAIL	80
#define MAX_EPOCH	(1u << 20)
#define SIM_TIMEOUT_S	(24 * 3600)	/* make check's runner has its own */
#define DEFAULT_RUNS	12000

/* The PRNG: splitmix64. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((rng_next(s) >> 32) * n) >> 32);
}

static uint32_t rng_range(uint64_t *s, uint32_t lo, uint32_t hi)
{
	return lo + rng_below(s, hi - lo + 1);
}

static bool rng_pm(uint64_t *s, uint32_t per_mille)
{
	return rng_below(s, 1000) < per_mille;
}

enum sim_class {
	SIM_BOOT,	/* nodes start at random times; loss, duplicates */
	SIM_CRASH,	/* + node and target crashes and restarts */
	SIM_PARTITION,	/* + cuts into groups, changing, and crashes */
	SIM_MINORITY,	/* fixed groups, one of them a minority; crashes */
	SIM_ASYNC,	/* all of it, delays far beyond every timeout */
	SIM_NR_CLASSES,
	SIM_SCRIPT = SIM_NR_CLASSES,	/* the table rows */
};

static const struct {
	const char *name;
	unsigned int percent;	/* of the runs */
} classes[] = {
	[SIM_BOOT] = { "boot", 15 },
	[SIM_CRASH] = { "crash", 25 },
	[SIM_PARTITION] = { "partition", 25 },
	[SIM_MINORITY] = { "minority", 15 },
	[SIM_ASYNC] = { "async", 20 },
};

struct sim_params {
	unsigned int nr_nodes, nr_targets, w;
	enum qrep_failback failback;
	uint32_t hi, ht, at, ct, qt;	/* the election's timeouts */
	uint32_t d_max;			/* one-way delay bound when stable */
	uint32_t write_every;		/* the kernel writes this often */
	uint32_t caught_up_max;		/* CATCHUP: resync takes up to this */
	unsigned int cycles;		/* unstable + stable periods */
	uint32_t chaos_min, chaos_max;	/* length of an unstable period */
	uint32_t loss_max, dup_max;	/* per mille, unstable */
	uint32_t chaos_d_max;		/* delay bound, unstable */
	bool crashes, target_crashes, cuts, fixed_groups;
};

enum sim_kind {
	SK_MSG,		/* election message, to a node or a target */
	SK_WRITE,	/* the kernel's write, node -> target */
	SK_WRITE_OK,	/* target -> node */
	SK_WRITE_REFUSED,	/* target -> node: older epoch */
	SK_BOOT,	/* a node starts for the first time */
	SK_TICK,	/* a node's deadline */
	SK_WRITE_TIMER,	/* a node's kernel writes, if writable */
	SK_CAUGHT_UP,	/* CATCHUP: resync finished */
	SK_CHAOS,	/* the scenario breaks something */
	SK_PHASE,	/* the scenario's next period */
	SK_SCRIPT,	/* a step of a table row */
};

struct sim_ev {
	uint64_t at, seq;
	uint8_t kind, src, dst;		/* endpoints, or node indexes */
	uint32_t inc;			/* the sender's (owner's) incarnation */
	uint32_t arg;			/* write index, script step, cycle */
	struct qrep_election_msg msg;
};

struct sim_node {
	uint32_t id;
	bool alive;
	uint32_t inc;			/* +1 at each crash */
	struct qrep_election el;
	uint64_t tick_at;		/* the TICK in the queue; 0: none */
	bool writable;			/* the device, as the actions set it */
	uint64_t dev_epoch;
	uint64_t mon_epoch, mon_seen;	/* (b) */
	uint64_t cu_epoch;		/* CAUGHT_UP scheduled for this epoch */
	int last_write;			/* scripts: write index + 1, -1 refused */
	bool never;			/* scripts: must not become writable */
};

struct sim_target {
	bool alive;
	uint64_t stored;
};

/* What the targets did with one epoch. */
struct sim_epoch {
	uint32_t inc[MAXN];		/* the proposal mask[] counts for */
	uint8_t mask[MAXN];		/* targets that accepted it */
	uint64_t accept_step[MAXT];	/* when target t accepted it, +1 */
	uint8_t writable;		/* node index + 1 made writable in it */
	uint32_t writable_inc;
};

struct sim_write {
	uint64_t epoch;
	uint8_t node;
	uint32_t inc;
	uint8_t acked_by, refused_by;
	bool acked;
	uint64_t applied_step[MAXT];	/* +1 */
};

struct sim_quorum {
	uint64_t epoch;
	uint8_t mask;
};

enum trace_what {
	TR_MSG, TR_ROLE, TR_DEVICE, TR_TARGET, TR_WRITE, TR_CHAOS, TR_PHASE,
};

struct trace_rec {
	uint64_t at;
	uint8_t what, a, b, c;
	uint32_t x;
	uint64_t e1, e2;
};

#define SCRIPT_MAX_STEPS	40
#define SCRIPT_MAX_ARGS		16

struct script_step {
	uint32_t at;
	char op[12];
	char arg[SCRIPT_MAX_ARGS][24];
	unsigned int nr_args;
};

struct sim {
	struct sim_params p;
	uint64_t seed, rng, now, seq, step;
	int cls;
	bool trace_all;
	struct sim_node nodes[MAXN];
	struct sim_target targets[MAXT];
	uint8_t group[NR_EP];
	uint32_t loss_pm, dup_pm, d_max;	/* the network now */
	/* periods */
	unsigned int cycle;
	bool stable;
	uint64_t stable_from, check_from, T;
	bool conv, checking;
	bool dirty;			/* a role, epoch or link changed */
	uint64_t conv_at, conv_epoch, cur_epoch;
	uint32_t conv_primary, cur_primary;
	uint64_t worst_conv, worst_T;	/* ms from stable to converged */
	/* pools, reused from run to run */
	struct sim_ev *heap;
	size_t heap_len, heap_cap;
	struct sim_epoch *epochs;
	size_t epochs_cap;
	uint64_t max_epoch;
	struct sim_write *writes;
	size_t nr_writes, writes_cap;
	struct sim_quorum *quorums;
	size_t nr_quorums, quorums_cap;
	struct trace_rec ring[TRACE_RING];
	uint64_t nr_trace;
	/* table rows */
	struct script_step script[SCRIPT_MAX_STEPS];
	unsigned int nr_script;
	/* the verdict */
	bool failed;
	char why[512];
};

static void sim_fail(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sim_fail(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (s->failed)
		return;
	s->failed = true;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 64;

	if (need <= *cap)
		return p;
	while (n < need)
		n *= 2;
	p = realloc(p, n * size);
	if (!p) {
		perror("realloc");
		abort();
	}
	*cap = n;
	return p;
}

/* The event queue: a binary heap on (at, seq). */

static bool ev_before(const struct sim_ev *a, const struct sim_ev *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void ev_push(struct sim *s, struct sim_ev ev)
{
	size_t i;

	s->heap = grow(s->heap, &s->heap_cap, s->heap_len + 1, sizeof(ev));
	ev.seq = s->seq++;
	i = s->heap_len++;
	while (i && ev_before(&ev, &s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = ev;
}

static struct sim_ev ev_pop(struct sim *s)
{
	struct sim_ev top = s->heap[0], last = s->heap[--s->heap_len];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < s->heap_len) {
		if (c + 1 < s->heap_len && ev_before(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!ev_before(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	s->heap[i] = last;
	return top;
}

static void ev_at(struct sim *s, uint64_t at, enum sim_kind kind, uint8_t dst,
		  uint32_t inc, uint32_t arg)
{
	struct sim_ev ev = { .at = at, .kind = kind, .dst = dst, .inc = inc,
			     .arg = arg };

	ev_push(s, ev);
}

/* The trace: a ring of compact records, printed only when needed. */

static void trace_print(const struct sim *s, const struct trace_rec *r)
{
	static const char *const target_what[] = {
		"accepts", "refuses", "applies write", "refuses write",
	};
	static const char *const chaos_what[] = {
		"node crashes", "node restarts", "target crashes",
		"target restarts", "cut", "weather",
	};
	char ep[8];

	printf("#   %8" PRIu64 "  ", r->at);
	switch (r->what) {
	case TR_MSG:
		if (r->c)
			snprintf(ep, sizeof(ep), "t%u", r->x);
		else
			snprintf(ep, sizeof(ep), "%u", r->x);
		printf("node %u <- %s from %s, epoch %" PRIu64 " seen %" PRIu64
		       "\n", s->nodes[r->a].id, qrep_election_msg_name(r->b), ep,
		       r->e1, r->e2);
		break;
	case TR_ROLE:
		printf("node %u: %s, primary %u, epoch %" PRIu64 ", seen %"
		       PRIu64 "\n", s->nodes[r->a].id,
		       qrep_election_role_name(r->b), r->x, r->e1, r->e2);
		break;
	case TR_DEVICE:
		if (r->b)
			printf("node %u: device WRITABLE at epoch %" PRIu64 "\n",
			       s->nodes[r->a].id, r->e1);
		else
			printf("node %u: device read-only: %s (epoch %" PRIu64
			       ", from %u)\n", s->nodes[r->a].id,
			       qrep_election_reason_name(r->c), r->e1, r->x);
		break;
	case TR_TARGET:
		printf("t%u %s epoch %" PRIu64 " of node %u (stored %" PRIu64
		       ")\n", r->a, target_what[r->c], r->e1,
		       s->nodes[r->b].id, r->e2);
		break;
	case TR_WRITE:
		printf("node %u: write #%u acknowledged at epoch %" PRIu64 "\n",
		       s->nodes[r->a].id, r->x, r->e1);
		break;
	case TR_CHAOS:
		printf("%s", chaos_what[r->c]);
		if (r->c <= 1)
			printf(" %u", s->nodes[r->a].id);
		else if (r->c <= 3)
			printf(" t%u", r->a);
		else if (r->c == 4)
			printf(": groups %08x (2 bits an endpoint, nodes first)",
			       r->x);
		else
			printf(": loss %u, dup %u per mille, delay <= %"
			       PRIu64 " ms", r->a, r->b, r->e1);
		printf("\n");
		break;
	case TR_PHASE:
		if (r->c == 2)
			printf("-- settled after %" PRIu64 " ms: primary %u, "
			       "epoch %" PRIu64 "\n", r->e1, r->x, r->e2);
		else if (r->c)
			printf("-- stable; nothing older in flight from %" PRIu64
			       "; settled by %" PRIu64 " (T = %" PRIu64 ")\n",
			       r->e1, r->e2, r->e2 - r->e1);
		else
			printf("-- unstable period %u\n", r->x);
		break;
	}
}

static void trace(struct sim *s, uint8_t what, uint8_t a, uint8_t b, uint8_t c,
		  uint32_t x, uint64_t e1, uint64_t e2)
{
	struct trace_rec *r = &s->ring[s->nr_trace++ % TRACE_RING];

	r->at = s->now;
	r->what = what;
	r->a = a;
	r->b = b;
	r->c = c;
	r->x = x;
	r->e1 = e1;
	r->e2 = e2;
	if (s->trace_all)
		trace_print(s, r);
}

/* Bookkeeping for the invariants */

static struct sim_epoch *epoch_rec(struct sim *s, uint64_t epoch)
{
	size_t old = s->epochs_cap;

	if (epoch >= MAX_EPOCH) {
		sim_fail(s, "epoch %" PRIu64 " is beyond the simulation's bound",
			 epoch);
		epoch = 0;
	}
	s->epochs = grow(s->epochs, &s->epochs_cap, epoch + 1,
			 sizeof(*s->epochs));
	if (s->epochs_cap > old)
		memset(s->epochs + old, 0,
		       (s->epochs_cap - old) * sizeof(*s->epochs));
	if (epoch > s->max_epoch)
		s->max_epoch = epoch;
	return &s->epochs[epoch];
}

static unsigned int popcount8(uint8_t m)
{
	return (unsigned int)__builtin_popcount(m);
}

static int node_index(const struct sim *s, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < s->p.nr_nodes; i++)
		if (s->nodes[i].id == id)
			return (int)i;
	return -1;
}

/* (e) for one acknowledged write and one writable quorum */
static void check_write_in_quorum(struct sim *s, const struct sim_write *w,
				  const struct sim_quorum *q)
{
	const struct sim_epoch *rec;
	unsigned int t;

	if (q->epoch <= w->epoch)
		return;
	rec = &s->epochs[q->epoch];
	for (t = 0; t < s->p.nr_targets; t++)
		if ((q->mask & (1u << t)) && w->applied_step[t] &&
		    w->applied_step[t] < rec->accept_step[t])
			return;
	sim_fail(s, "(e) write #%zu of epoch %" PRIu64 " was acknowledged, "
		 "but no target of epoch %" PRIu64 "'s quorum (mask %#x) had "
		 "it before accepting that epoch", (size_t)(w - s->writes),
		 w->epoch, q->epoch, q->mask);
}

/* The network */

static bool connected(const struct sim *s, uint8_t a, uint8_t b)
{
	return s->group[a] == s->group[b];
}

static void net_send(struct sim *s, uint8_t src, uint8_t dst,
		     enum sim_kind kind, const struct qrep_election_msg *msg,
		     uint32_t inc, uint32_t arg)
{
	struct sim_ev ev = { .kind = kind, .src = src, .dst = dst, .inc = inc,
			     .arg = arg };
	unsigned int copies = 1, i;

	if (msg)
		ev.msg = *msg;
	if (s->loss_pm && rng_pm(&s->rng, s->loss_pm))
		return;
	if (s->dup_pm && rng_pm(&s->rng, s->dup_pm))
		copies = 2;
	for (i = 0; i < copies; i++) {
		ev.at = s->now + rng_range(&s->rng, 1, s->d_max);
		ev_push(s, ev);
	}
}

/* The nodes */

static void node_step(struct sim *s, unsigned int i,
		      const struct qrep_election_event *ev);

static void device_writable(struct sim *s, unsigned int i, uint64_t epoch)
{
	struct sim_node *n = &s->nodes[i];
	struct sim_epoch *rec = epoch_rec(s, epoch);
	struct sim_quorum q = { .epoch = epoch };
	unsigned int t, have = 0;
	size_t k;

	for (t = 0; t < s->p.nr_targets; t++)
		have += s->group[TGT(t)] == s->group[i];
	if (rec->inc[i] != n->inc || popcount8(rec->mask[i]) < s->p.w)
		sim_fail(s, "(d) node %u writable at epoch %" PRIu64 " with %u "
			 "target accepts of its proposal, W = %u", n->id, epoch,
			 rec->inc[i] == n->inc ? popcount8(rec->mask[i]) : 0,
			 s->p.w);
	if (rec->writable && (rec->writable != i + 1 ||
			      rec->writable_inc != n->inc))
		sim_fail(s, "(a) nodes %u and %u both writable at epoch %"
			 PRIu64, s->nodes[rec->writable - 1].id, n->id, epoch);
	if (s->p.fixed_groups && have < s->p.w)
		sim_fail(s, "(d) node %u writable in a group with %u targets "
			 "(W = %u)", n->id, have, s->p.w);
	if (n->never)
		sim_fail(s, "node %u writable, which the row forbids", n->id);
	rec->writable = i + 1;
	rec->writable_inc = n->inc;
	n->writable = true;
	n->dev_epoch = epoch;
	/* The kernel writes while the device is writable. */
	ev_at(s, s->now + rng_range(&s->rng, 1, s->p.write_every),
	      SK_WRITE_TIMER, i, n->inc, (uint32_t)epoch);
	q.mask = rec->mask[i];
	s->quorums = grow(s->quorums, &s->quorums_cap, s->nr_quorums + 1,
			  sizeof(q));
	s->quorums[s->nr_quorums++] = q;
	for (k = 0; k < s->nr_writes; k++)
		if (s->writes[k].acked)
			check_write_in_quorum(s, &s->writes[k], &q);
}

static void node_check(struct sim *s, unsigned int i)
{
	struct sim_node *n = &s->nodes[i];
	const struct qrep_election *el = &n->el;
	bool primary = qrep_election_role(el) == QREP_ROLE_PRIMARY;

	if (qrep_election_epoch(el) < n->mon_epoch ||
	    qrep_election_seen_epoch(el) < n->mon_seen)
		sim_fail(s, "(b) node %u: epoch %" PRIu64 " seen %" PRIu64
			 " went back from %" PRIu64 " / %" PRIu64, n->id,
			 qrep_election_epoch(el), qrep_election_seen_epoch(el),
			 n->mon_epoch, n->mon_seen);
	if (qrep_election_seen_epoch(el) < qrep_election_epoch(el))
		sim_fail(s, "(b) node %u: seen epoch below its epoch", n->id);
	n->mon_epoch = qrep_election_epoch(el);
	n->mon_seen = qrep_election_seen_epoch(el);
	if (n->writable != primary ||
	    (primary && n->dev_epoch != qrep_election_epoch(el)))
		sim_fail(s, "(d) node %u: device %s at %" PRIu64 ", role %s at %"
			 PRIu64, n->id, n->writable ? "writable" : "read-only",
			 n->dev_epoch, qrep_election_role_name(el->role),
			 qrep_election_epoch(el));
}

static void node_route(struct sim *s, unsigned int i,
		       const struct qrep_election_send *snd)
{
	int j;

	if (snd->dest == QREP_DEST_TARGET) {
		if (snd->to >= s->p.nr_targets)
			sim_fail(s, "node %u sends to target %u", s->nodes[i].id,
				 snd->to);
		else
			net_send(s, i, TGT(snd->to), SK_MSG, &snd->msg,
				 s->nodes[i].inc, 0);
		return;
	}
	j = node_index(s, snd->to);
	if (j < 0 || (unsigned int)j == i)
		sim_fail(s, "node %u sends to node %u", s->nodes[i].id, snd->to);
	else
		net_send(s, i, j, SK_MSG, &snd->msg, s->nodes[i].inc, 0);
}

/*
 * CATCHUP: the daemon resyncs from each primary it follows and says so
 * when done (if it still follows that primary then).
 */
static void caught_up_schedule(struct sim *s, unsigned int i)
{
	struct sim_node *n = &s->nodes[i];
	struct sim_ev cu = { .kind = SK_CAUGHT_UP, .dst = i, .inc = n->inc };

	if (s->p.failback != QREP_FAILBACK_CATCHUP || s->cls == SIM_SCRIPT ||
	    qrep_election_role(&n->el) != QREP_ROLE_FOLLOWER ||
	    n->cu_epoch == qrep_election_epoch(&n->el))
		return;
	n->cu_epoch = qrep_election_epoch(&n->el);
	cu.at = s->now + rng_range(&s->rng, 0, s->p.caught_up_max);
	cu.msg.epoch = n->cu_epoch;
	ev_push(s, cu);
}

static void node_step(struct sim *s, unsigned int i,
		      const struct qrep_election_event *ev)
{
	struct sim_node *n = &s->nodes[i];
	struct qrep_election_actions out;
	enum qrep_election_role before = n->el.role;
	uint32_t primary = qrep_election_primary(&n->el);
	uint64_t epoch = n->el.epoch;
	unsigned int k;

	qrep_election_step(&n->el, s->now, ev, &out);
	s->dirty |= out.role_changed || out.device != QREP_DEVICE_UNCHANGED ||
		    primary != qrep_election_primary(&n->el) ||
		    epoch != n->el.epoch;
	if (out.sends_overflowed)
		sim_fail(s, "node %u: too many sends in one step", n->id);
	for (k = 0; k < out.nr_sends; k++)
		node_route(s, i, &out.sends[k]);
	if (out.device == QREP_DEVICE_WRITABLE) {
		trace(s, TR_DEVICE, i, 1, 0, 0, out.device_epoch, 0);
		device_writable(s, i, out.device_epoch);
	} else if (out.device == QREP_DEVICE_READONLY) {
		if (n->writable || out.reason != QREP_DEMOTE_START)
			trace(s, TR_DEVICE, i, 0, out.reason, out.reason_from,
			      out.reason_epoch, 0);
		n->writable = false;
	}
	if (n->el.role != before || out.role_changed)
		trace(s, TR_ROLE, i, n->el.role, 0, qrep_election_primary(&n->el),
		      n->el.epoch, n->el.seen_epoch);
	if (out.next_deadline_ms &&
	    (!n->tick_at || out.next_deadline_ms < n->tick_at)) {
		n->tick_at = out.next_deadline_ms;
		ev_at(s, n->tick_at, SK_TICK, i, n->inc, 0);
	}
	node_check(s, i);
	caught_up_schedule(s, i);
}

static void node_start(struct sim *s, unsigned int i)
{
	struct sim_node *n = &s->nodes[i];
	struct qrep_election_event ev = { .type = QREP_EV_START };

	n->alive = true;
	/* The daemon may know its local store's epoch, or nothing. */
	if (s->cls != SIM_SCRIPT && i < s->p.nr_targets && rng_pm(&s->rng, 500))
		ev.epoch = s->targets[i].stored;
	ev.nonce = (uint32_t)rng_next(&s->rng);
	n->mon_epoch = 0;
	n->mon_seen = 0;
	n->cu_epoch = 0;
	node_step(s, i, &ev);
}

static void node_crash(struct sim *s, unsigned int i)
{
	struct sim_node *n = &s->nodes[i];

	n->alive = false;
	n->inc++;
	n->tick_at = 0;
	n->writable = false;
	s->dirty = true;
	if (qrep_election_init(&n->el, &n->el.cfg))
		sim_fail(s, "init failed");
}

static void node_write(struct sim *s, unsigned int i, bool script)
{
	struct sim_node *n = &s->nodes[i];
	struct qrep_election_msg m = { .epoch = n->dev_epoch };
	struct sim_write *w;
	unsigned int t;

	if (!n->writable) {
		if (script)
			n->last_write = -1;
		return;
	}
	s->writes = grow(s->writes, &s->writes_cap, s->nr_writes + 1,
			 sizeof(*w));
	w = &s->writes[s->nr_writes];
	memset(w, 0, sizeof(*w));
	w->epoch = n->dev_epoch;
	w->node = i;
	w->inc = n->inc;
	if (script)
		n->last_write = s->nr_writes + 1;
	for (t = 0; t < s->p.nr_targets; t++)
		net_send(s, i, TGT(t), SK_WRITE, &m, n->inc, s->nr_writes);
	s->nr_writes++;
}

/* The kernel hears back from a target about a write. */
static void node_write_reply(struct sim *s, unsigned int i,
			     const struct sim_ev *ev)
{
	struct sim_node *n = &s->nodes[i];
	struct sim_write *w = &s->writes[ev->arg];
	uint8_t bit = 1u << (ev->src - TGT(0));
	struct qrep_election_event fenced = { .type = QREP_EV_FENCED };
	size_t k;

	if (w->node != i || w->inc != n->inc)
		return;		/* the kernel that sent it is gone */
	if (ev->kind == SK_WRITE_REFUSED) {
		w->refused_by |= bit;
		fenced.epoch = ev->msg.seen_epoch;
		node_step(s, i, &fenced);
		return;
	}
	w->acked_by |= bit;
	if (w->acked || popcount8(w->acked_by) < s->p.w)
		return;
	w->acked = true;
	trace(s, TR_WRITE, i, 0, 0, ev->arg, w->epoch, 0);
	for (k = 0; k < s->nr_quorums; k++)
		check_write_in_quorum(s, w, &s->quorums[k]);
}

/* The targets */

static void target_receive(struct sim *s, unsigned int t, const struct sim_ev *ev)
{
	struct sim_target *tg = &s->targets[t];
	struct qrep_election_msg r = ev->msg;
	uint64_t before = tg->stored;
	uint8_t node = ev->src;

	if (ev->kind == SK_WRITE) {
		struct sim_write *w = &s->writes[ev->arg];

		if (ev->msg.epoch >= tg->stored) {
			tg->stored = ev->msg.epoch;	/* a newer one raises it */
			if (!w->applied_step[t])
				w->applied_step[t] = s->step + 1;
			r.seen_epoch = tg->stored;
			net_send(s, TGT(t), node, SK_WRITE_OK, &r, 0, ev->arg);
		} else {
			r.seen_epoch = tg->stored;
			trace(s, TR_TARGET, t, node, 3, 0, ev->msg.epoch, tg->stored);
			net_send(s, TGT(t), node, SK_WRITE_REFUSED, &r, 0, ev->arg);
		}
	} else if (ev->msg.type == QREP_MSG_EPOCH_PROPOSE) {
		r.from = t;
		if (ev->msg.epoch > tg->stored) {
			struct sim_epoch *rec = epoch_rec(s, ev->msg.epoch);

			tg->stored = ev->msg.epoch;
			if (rec->inc[node] != ev->inc) {
				rec->inc[node] = ev->inc;
				rec->mask[node] = 0;
			}
			rec->mask[node] |= 1u << t;
			rec->accept_step[t] = s->step + 1;
			r.type = QREP_MSG_EPOCH_ACCEPT;
		} else {
			r.type = QREP_MSG_EPOCH_REJECT;
		}
		r.seen_epoch = tg->stored;
		trace(s, TR_TARGET, t, node, r.type == QREP_MSG_EPOCH_ACCEPT ? 0 : 1,
		      0, ev->msg.epoch, tg->stored);
		net_send(s, TGT(t), node, SK_MSG, &r, 0, 0);
	}
	if (tg->stored < before)
		sim_fail(s, "(b) t%u: stored epoch went back", t);
	s->dirty |= tg->stored != before;
}

/* Delivery: a cut between the two ends, or a dead receiver, drops it. */
static void deliver(struct sim *s, const struct sim_ev *ev)
{
	struct qrep_election_event in = { .type = QREP_EV_MSG, .msg = ev->msg };
	struct sim_node *n;

	if (!connected(s, ev->src, ev->dst))
		return;
	if (ev->dst >= TGT(0)) {
		if (s->targets[ev->dst - TGT(0)].alive)
			target_receive(s, ev->dst - TGT(0), ev);
		return;
	}
	n = &s->nodes[ev->dst];
	if (!n->alive)
		return;
	if (ev->kind == SK_WRITE_OK || ev->kind == SK_WRITE_REFUSED) {
		node_write_reply(s, ev->dst, ev);
		return;
	}
	trace(s, TR_MSG, ev->dst, ev->msg.type, ev->src >= TGT(0),
	      ev->src >= TGT(0) ? (uint32_t)(ev->src - TGT(0)) : s->nodes[ev->src].id,
	      ev->msg.epoch, ev->msg.seen_epoch);
	node_step(s, ev->dst, &in);
}

/* Liveness (c) */

static int majority_group(const struct sim *s)
{
	unsigned int g, i, targets, nodes;

	for (g = 0; g < NR_GROUPS; g++) {
		targets = 0;
		nodes = 0;
		for (i = 0; i < s->p.nr_targets; i++)
			targets += s->targets[i].alive && s->group[TGT(i)] == g;
		for (i = 0; i < s->p.nr_nodes; i++)
			nodes += s->nodes[i].alive && s->group[i] == g;
		if (targets >= s->p.w && nodes)
			return (int)g;
	}
	return -1;
}

/* Is the majority group settled? If not and why is given, say why. */
static bool converged(const struct sim *s, uint32_t *pid, uint64_t *pe,
		      char *why, size_t len)
{
	int g = majority_group(s);
	const struct sim_node *prim = NULL;
	uint32_t biggest = 0;
	unsigned int i;

	*pid = 0;
	*pe = 0;
	if (g < 0)
		return true;	/* nothing to elect: nobody may be writable */
	for (i = 0; i < s->p.nr_nodes; i++) {
		const struct sim_node *n = &s->nodes[i];

		if (!n->alive || s->group[i] != g)
			continue;
		if (n->id > biggest)
			biggest = n->id;
		if (qrep_election_role(&n->el) != QREP_ROLE_PRIMARY)
			continue;
		if (prim) {
			if (why)
				snprintf(why, len, "nodes %u and %u both primary",
					 prim->id, n->id);
			return false;
		}
		prim = n;
	}
	if (!prim) {
		if (why)
			snprintf(why, len, "no primary in the majority group");
		return false;
	}
	*pid = prim->id;
	*pe = qrep_election_epoch(&prim->el);
	if (s->p.failback == QREP_FAILBACK_CATCHUP && prim->id != biggest) {
		if (why)
			snprintf(why, len, "catchup: primary %u, not %u",
				 prim->id, biggest);
		return false;
	}
	for (i = 0; i < s->p.nr_nodes; i++) {
		const struct sim_node *n = &s->nodes[i];

		if (!n->alive || s->group[i] != g || n == prim)
			continue;
		if (qrep_election_role(&n->el) != QREP_ROLE_FOLLOWER ||
		    qrep_election_primary(&n->el) != prim->id ||
		    qrep_election_epoch(&n->el) != *pe) {
			if (why)
				snprintf(why, len, "node %u is %s of %u at %" PRIu64,
					 n->id,
					 qrep_election_role_name(n->el.role),
					 qrep_election_primary(&n->el),
					 qrep_election_epoch(&n->el));
			return false;
		}
	}
	for (i = 0; i < s->p.nr_targets; i++) {
		if (!s->targets[i].alive || s->group[TGT(i)] != g ||
		    s->targets[i].stored <= *pe)
			continue;
		if (why)
			snprintf(why, len, "t%u holds epoch %" PRIu64 " > %" PRIu64,
				 i, s->targets[i].stored, *pe);
		return false;
	}
	return true;
}

static void liveness_check(struct sim *s)
{
	char why[160];

	if (!s->stable || s->now < s->stable_from)
		return;
	if (s->dirty) {
		bool ok = converged(s, &s->cur_primary, &s->cur_epoch, NULL, 0);

		if (ok && !s->conv) {
			s->conv_at = s->now;
			trace(s, TR_PHASE, 0, 0, 2, s->cur_primary,
			      s->now - s->stable_from, s->cur_epoch);
		}
		s->conv = ok;
		s->dirty = false;
	}
	if (s->now < s->check_from)
		return;
	if (!s->conv) {
		converged(s, &s->cur_primary, &s->cur_epoch, why, sizeof(why));
		sim_fail(s, "(c) %" PRIu64 " ms after the network became stable "
			 "(T = %" PRIu64 "): %s", s->now - s->stable_from, s->T,
			 why);
		return;
	}
	if (!s->checking) {
		s->checking = true;
		s->conv_primary = s->cur_primary;
		s->conv_epoch = s->cur_epoch;
		if (!s->worst_T || (s->conv_at - s->stable_from) * 1000 / s->T >
				   s->worst_conv * 1000 / s->worst_T) {
			s->worst_conv = s->conv_at - s->stable_from;
			s->worst_T = s->T;
		}
	} else if (s->cur_primary != s->conv_primary ||
		   s->cur_epoch != s->conv_epoch) {
		sim_fail(s, "(c) the primary changed from %u at %" PRIu64 " to %u"
			 " at %" PRIu64 " in a stable network", s->conv_primary,
			 s->conv_epoch, s->cur_primary, s->cur_epoch);
	}
}

/*
 * T: how long after the network became stable the majority group must
 * have settled; Documentation/election.rst derives it. With D the delay
 * bound, L = max(ack timeout, heartbeat timeout) and W_I the kernel's
 * write interval:
 *
 *   S = max(L, coordinator, quorum timeout) + heartbeat interval + D
 *       every timer set before the network became stable has fired
 *   R = L + heartbeat timeout + 2 ack + quorum timeout + W_I + 12 D
 *       one round: a stale primary or target epoch is found (a refusal,
 *       a heartbeat) and a primary is elected above it
 *   T = S + 2 R, and with catchup + caught-up delay + coordinator + R
 */
static uint64_t liveness_bound(const struct sim_params *p)
{
	uint64_t l = p->ht > p->at ? p->ht : p->at;
	uint64_t settle = l, round, t;

	if (p->ct > settle)
		settle = p->ct;
	if (p->qt > settle)
		settle = p->qt;
	settle += p->hi + p->d_max;
	round = l + p->ht + 2 * p->at + p->qt + p->write_every + 12ull * p->d_max;
	t = settle + 2 * round;
	if (p->failback == QREP_FAILBACK_CATCHUP)
		t += p->caught_up_max + p->ct + round;
	return t;
}

/* The scenario */

static void groups_random(struct sim *s, bool majority)
{
	unsigned int i, g0 = 0;
	uint8_t order[MAXT];

	for (i = 0; i < NR_EP; i++)
		s->group[i] = rng_below(&s->rng, majority ? 3 : NR_GROUPS);
	if (!majority)
		return;
	/* Group 0 gets W to all targets and at least one node. */
	for (i = 0; i < s->p.nr_targets; i++)
		order[i] = i;
	for (i = s->p.nr_targets; i > 1; i--) {
		unsigned int j = rng_below(&s->rng, i);
		uint8_t tmp = order[i - 1];

		order[i - 1] = order[j];
		order[j] = tmp;
	}
	g0 = rng_range(&s->rng, s->p.w, s->p.nr_targets);
	for (i = 0; i < s->p.nr_targets; i++)
		s->group[TGT(order[i])] = i < g0 ? 0 : rng_range(&s->rng, 1, 2);
	s->group[rng_below(&s->rng, s->p.nr_nodes)] = 0;
}

static uint32_t groups_packed(const struct sim *s)
{
	uint32_t x = 0;
	unsigned int i;

	for (i = 0; i < NR_EP; i++)
		x |= (uint32_t)(s->group[i] & 3) << (2 * i);
	return x;
}

static void weather(struct sim *s, uint32_t loss, uint32_t dup, uint32_t d_max)
{
	s->loss_pm = loss;
	s->dup_pm = dup;
	s->d_max = d_max ? d_max : 1;
	trace(s, TR_CHAOS, loss, dup, 5, 0, s->d_max, 0);
}

static void chaos(struct sim *s, const struct sim_ev *ev)
{
	const struct sim_params *p = &s->p;
	unsigned int i, what;

	if (s->stable || ev->arg != s->cycle)
		return;
	s->dirty = true;
	what = rng_below(&s->rng, 6);
	i = rng_below(&s->rng, what < 2 ? p->nr_nodes : p->nr_targets);
	switch (what) {
	case 0:
	case 1:
		if (!p->crashes)
			break;
		if (s->nodes[i].alive && rng_pm(&s->rng, 600)) {
			trace(s, TR_CHAOS, i, 0, 0, 0, 0, 0);
			node_crash(s, i);
		} else if (!s->nodes[i].alive) {
			trace(s, TR_CHAOS, i, 0, 1, 0, 0, 0);
			node_start(s, i);
		}
		break;
	case 2:
		if (!p->target_crashes)
			break;
		s->targets[i].alive = !s->targets[i].alive;
		trace(s, TR_CHAOS, i, 0, s->targets[i].alive ? 3 : 2, 0, 0, 0);
		break;
	case 3:
	case 4:
		if (!p->cuts)
			break;
		if (rng_pm(&s->rng, 300))
			memset(s->group, 0, sizeof(s->group));
		else
			groups_random(s, rng_pm(&s->rng, 500));
		trace(s, TR_CHAOS, 0, 0, 4, groups_packed(s), 0, 0);
		break;
	case 5:
		weather(s, rng_range(&s->rng, 0, p->loss_max),
			rng_range(&s->rng, 0, p->dup_max),
			rng_range(&s->rng, 1, p->chaos_d_max));
		break;
	}
	ev_at(s, s->now + rng_range(&s->rng, 1, 2 * p->ht), SK_CHAOS, 0, 0,
	      s->cycle);
}

static void phase_unstable(struct sim *s)
{
	const struct sim_params *p = &s->p;

	s->stable = false;
	s->cycle++;
	trace(s, TR_PHASE, 0, 0, 0, s->cycle, 0, 0);
	weather(s, rng_range(&s->rng, 0, p->loss_max),
		rng_range(&s->rng, 0, p->dup_max),
		rng_range(&s->rng, 1, p->chaos_d_max));
	ev_at(s, s->now + rng_range(&s->rng, 1, p->ht), SK_CHAOS, 0, 0, s->cycle);
	ev_at(s, s->now + rng_range(&s->rng, p->chaos_min, p->chaos_max),
	      SK_PHASE, 0, 0, s->cycle);
}

static void phase_stable(struct sim *s)
{
	const struct sim_params *p = &s->p;
	unsigned int i, alive = 0;
	int g;
	size_t k;

	s->stable = true;
	s->dirty = true;
	if (p->cuts) {
		if (rng_pm(&s->rng, 500))
			memset(s->group, 0, sizeof(s->group));
		else
			groups_random(s, true);
		trace(s, TR_CHAOS, 0, 0, 4, groups_packed(s), 0, 0);
	}
	for (i = 0; i < p->nr_targets; i++)
		if (!s->targets[i].alive && rng_pm(&s->rng, 500))
			s->targets[i].alive = true;
	for (i = 0; i < p->nr_nodes; i++)
		if (!s->nodes[i].alive && rng_pm(&s->rng, 500))
			node_start(s, i);
	/* The group with W targets gets them all alive, and a live node. */
	for (g = 0; g < NR_GROUPS && majority_group(s) < 0; g++) {
		unsigned int have = 0;

		for (i = 0; i < p->nr_targets; i++)
			have += s->group[TGT(i)] == g;
		if (have < p->w)
			continue;
		for (i = 0; i < p->nr_targets; i++)
			if (s->group[TGT(i)] == g)
				s->targets[i].alive = true;
		for (i = 0; i < p->nr_nodes; i++)
			if (s->group[i] == g && s->nodes[i].alive)
				alive++;
		for (i = 0; i < p->nr_nodes && !alive; i++)
			if (s->group[i] == g) {
				node_start(s, i);
				alive++;
			}
	}
	weather(s, 0, rng_range(&s->rng, 0, 50), p->d_max);
	/* Stable once nothing sent before is still in flight. */
	s->stable_from = s->now;
	for (k = 0; k < s->heap_len; k++)
		if (s->heap[k].kind <= SK_WRITE_REFUSED &&
		    s->heap[k].at > s->stable_from)
			s->stable_from = s->heap[k].at;
	s->T = liveness_bound(p);
	s->check_from = s->stable_from + s->T;
	s->conv = false;
	s->checking = false;
	trace(s, TR_PHASE, 0, 0, 1, 0, s->stable_from, s->check_from);
	ev_at(s, s->check_from + 2 * p->ht, SK_PHASE, 0, 0, s->cycle);
}

static void phase(struct sim *s, const struct sim_ev *ev)
{
	if (ev->arg != s->cycle)
		return;
	if (!s->stable)
		phase_stable(s);
	else if (s->cycle < s->p.cycles)
		phase_unstable(s);
	else
		s->heap_len = 0;	/* the end */
}

static void params_pick(struct sim *s)
{
	struct sim_params *p = &s->p;
	uint64_t *r = &s->rng;

	memset(p, 0, sizeof(*p));
	p->nr_nodes = rng_range(r, 1, MAXN);
	p->nr_targets = rng_pm(r, 700) ? p->nr_nodes : rng_range(r, 1, MAXT);
	p->w = p->nr_targets / 2 + 1;
	if (rng_pm(r, 300))
		p->w = rng_range(r, p->w, p->nr_targets);
	p->failback = rng_below(r, 2) ? QREP_FAILBACK_CATCHUP : QREP_FAILBACK_NEVER;
	p->d_max = rng_range(r, 1, 5);
	p->hi = rng_range(r, 5, 20);
	p->ht = p->hi + p->d_max + rng_range(r, 1, 3 * p->hi);
	p->at = 2 * p->d_max + rng_range(r, 1, 20);
	p->ct = rng_pm(r, 800) ? rng_range(r, p->at, 4 * p->ht) :
				 rng_range(r, 1, p->at);
	p->qt = 2 * p->d_max + rng_range(r, 1, 30);
	p->write_every = rng_range(r, p->hi, 4 * p->hi);
	p->caught_up_max = rng_range(r, 0, 2 * p->ht);
	p->cycles = 1;
	p->chaos_min = 2 * p->ht;
	p->chaos_max = 10 * p->ht;
	p->loss_max = 50;
	p->dup_max = 50;
	p->chaos_d_max = p->d_max;
	switch (s->cls) {
	case SIM_BOOT:
		p->chaos_min = 4 * p->ht;
		break;
	case SIM_CRASH:
		p->cycles = rng_range(r, 1, 3);
		p->crashes = true;
		p->target_crashes = true;
		break;
	case SIM_PARTITION:
		p->cycles = rng_range(r, 1, 3);
		p->crashes = rng_pm(r, 500);
		p->cuts = true;
		break;
	case SIM_MINORITY:
		p->cycles = rng_range(r, 1, 2);
		p->crashes = true;
		p->fixed_groups = true;
		break;
	case SIM_ASYNC:
		p->cycles = rng_range(r, 1, 2);
		p->crashes = true;
		p->target_crashes = true;
		p->cuts = true;
		p->loss_max = 300;
		p->dup_max = 200;
		p->chaos_d_max = rng_range(r, p->d_max, 10 * p->ht);
		break;
	}
}

static void nodes_init(struct sim *s)
{
	const struct sim_params *p = &s->p;
	struct qrep_election_config cfg;
	unsigned int i, k;

	qrep_election_config_default(&cfg);
	cfg.nr_nodes = p->nr_nodes;
	cfg.nr_targets = p->nr_targets;
	cfg.write_quorum = p->w;
	cfg.failback = p->failback;
	cfg.heartbeat_interval_ms = p->hi;
	cfg.heartbeat_timeout_ms = p->ht;
	cfg.ack_timeout_ms = p->at;
	cfg.coordinator_timeout_ms = p->ct;
	cfg.quorum_timeout_ms = p->qt;
	for (i = 0; i < p->nr_nodes; i++)
		cfg.nodes[i] = s->nodes[i].id;
	for (i = 0; i < p->nr_nodes; i++) {
		cfg.self = s->nodes[i].id;
		if (qrep_election_init(&s->nodes[i].el, &cfg))
			sim_fail(s, "init: %s", qrep_election_config_check(&cfg));
	}
	(void)k;
}

static void sim_reset(struct sim *s, uint64_t seed, int cls)
{
	s->seed = seed;
	s->rng = seed;
	s->cls = cls;
	s->now = 0;
	s->seq = 0;
	s->step = 0;
	memset(s->nodes, 0, sizeof(s->nodes));
	memset(s->targets, 0, sizeof(s->targets));
	memset(s->group, 0, sizeof(s->group));
	s->cycle = 0;
	s->stable = false;
	s->conv = false;
	s->checking = false;
	s->heap_len = 0;
	if (s->epochs_cap)
		memset(s->epochs, 0, (s->max_epoch + 1) * sizeof(*s->epochs));
	s->max_epoch = 0;
	s->nr_writes = 0;
	s->nr_quorums = 0;
	s->nr_trace = 0;
	s->failed = false;
	s->why[0] = 0;
}

static void sim_setup_random(struct sim *s)
{
	const struct sim_params *p = &s->p;
	unsigned int i, k;

	params_pick(s);
	/* Distinct ids from 1 to 64, in no particular order. */
	for (i = 0; i < p->nr_nodes; i++) {
again:
		s->nodes[i].id = rng_range(&s->rng, 1, 64);
		for (k = 0; k < i; k++)
			if (s->nodes[k].id == s->nodes[i].id)
				goto again;
	}
	nodes_init(s);
	for (i = 0; i < p->nr_targets; i++) {
		s->targets[i].alive = true;
		if (rng_pm(&s->rng, 300))
			s->targets[i].stored = rng_range(&s->rng, 0, 5);
	}
	if (p->fixed_groups)
		groups_random(s, true);
	for (i = 0; i < p->nr_nodes; i++)
		ev_at(s, rng_below(&s->rng, p->chaos_min), SK_BOOT, i, 0, 0);
	phase_unstable(s);
	s->cycle = 1;
}

static void script_run_step(struct sim *s, unsigned int k);

static void dispatch(struct sim *s, const struct sim_ev *ev)
{
	struct qrep_election_event in = { 0 };
	struct sim_node *n = ev->dst < MAXN ? &s->nodes[ev->dst] : NULL;

	switch (ev->kind) {
	case SK_MSG:
	case SK_WRITE:
	case SK_WRITE_OK:
	case SK_WRITE_REFUSED:
		deliver(s, ev);
		break;
	case SK_BOOT:
		if (!n->alive && !n->inc)
			node_start(s, ev->dst);
		break;
	case SK_TICK:
		if (!n->alive || ev->inc != n->inc || ev->at != n->tick_at)
			break;
		n->tick_at = 0;
		in.type = QREP_EV_TICK;
		node_step(s, ev->dst, &in);
		break;
	case SK_WRITE_TIMER:
		if (!n->alive || ev->inc != n->inc || !n->writable ||
		    (uint32_t)n->dev_epoch != ev->arg)
			break;
		node_write(s, ev->dst, false);
		ev_at(s, s->now + rng_range(&s->rng, 1, s->p.write_every),
		      SK_WRITE_TIMER, ev->dst, n->inc, ev->arg);
		break;
	case SK_CAUGHT_UP:
		if (!n->alive || ev->inc != n->inc)
			break;
		if (qrep_election_role(&n->el) != QREP_ROLE_FOLLOWER ||
		    qrep_election_epoch(&n->el) != ev->msg.epoch) {
			n->cu_epoch = 0;	/* resync again when it follows */
			caught_up_schedule(s, ev->dst);
			break;
		}
		in.type = QREP_EV_CAUGHT_UP;
		node_step(s, ev->dst, &in);
		/* Ignored (a timer fired first)? Say it again when it follows. */
		if (qrep_election_role(&n->el) != QREP_ROLE_FOLLOWER ||
		    qrep_election_epoch(&n->el) != ev->msg.epoch) {
			n->cu_epoch = 0;
			caught_up_schedule(s, ev->dst);
		}
		break;
	case SK_CHAOS:
		chaos(s, ev);
		break;
	case SK_PHASE:
		phase(s, ev);
		break;
	case SK_SCRIPT:
		script_run_step(s, ev->arg);
		break;
	}
}

static void sim_loop(struct sim *s)
{
	while (s->heap_len && !s->failed) {
		struct sim_ev ev = ev_pop(s);

		s->now = ev.at;
		s->step++;
		dispatch(s, &ev);
		liveness_check(s);
	}
}

static const char *failback_name(enum qrep_failback f)
{
	return f == QREP_FAILBACK_CATCHUP ? "catchup" : "never";
}

static void params_print(const struct sim *s)
{
	const struct sim_params *p = &s->p;
	unsigned int i;

	printf("#   N=%u targets=%u W=%u failback=%s heartbeat %u/%u ack %u "
	       "coordinator %u quorum %u ms, D=%u ms, writes every %u ms; ids",
	       p->nr_nodes, p->nr_targets, p->w, failback_name(p->failback),
	       p->hi, p->ht, p->at, p->ct, p->qt, p->d_max, p->write_every);
	for (i = 0; i < p->nr_nodes; i++)
		printf(" %u", s->nodes[i].id);
	printf("\n");
}

static void sim_report(const struct sim *s)
{
	const struct sim_params *p = &s->p;
	uint64_t first = s->nr_trace > TRACE_TAIL ? s->nr_trace - TRACE_TAIL : 0;
	unsigned int i;

	printf("# FAIL seed %#" PRIx64 " (class %s): %s\n", s->seed,
	       s->cls < SIM_NR_CLASSES ? classes[s->cls].name : "script", s->why);
	params_print(s);
	for (i = 0; i < p->nr_nodes; i++) {
		const struct sim_node *n = &s->nodes[i];

		printf("#   node %u%s group %u: %s, primary %u, epoch %" PRIu64
		       ", seen %" PRIu64 "%s\n", n->id, n->alive ? "" : " (down)",
		       s->group[i], qrep_election_role_name(n->el.role),
		       qrep_election_primary(&n->el), n->el.epoch,
		       n->el.seen_epoch, n->writable ? ", WRITABLE" : "");
	}
	for (i = 0; i < p->nr_targets; i++)
		printf("#   t%u%s group %u: epoch %" PRIu64 "\n", i,
		       s->targets[i].alive ? "" : " (down)", s->group[TGT(i)],
		       s->targets[i].stored);
	printf("#   the last events:\n");
	for (; first < s->nr_trace; first++)
		trace_print(s, &s->ring[first % TRACE_RING]);
	if (s->cls < SIM_NR_CLASSES)
		printf("#   replay: QREP_SIM_SEED=%#" PRIx64
		       " build/unit/test_election_sim\n", s->seed);
	fflush(stdout);
}

static bool sim_run(struct sim *s, uint64_t seed, bool trace_all)
{
	int cls = (int)(seed >> 56) - 1;

	sim_reset(s, seed, cls);
	s->trace_all = trace_all;
	sim_setup_random(s);
	if (trace_all)
		params_print(s);
	sim_loop(s);
	if (s->failed)
		sim_report(s);
	return !s->failed;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : dflt;
}

/*
 * The table rows: scripted scenarios on a 5 ms network without loss, with
 * the heartbeat every 100 ms, heartbeat timeout 500, ACK timeout 200,
 * coordinator timeout 1000, quorum timeout 300, and the kernel writing
 * every 50 ms while writable. Nodes are n1..nN (ids 1..N), targets
 * t0..t(T-1). A script is "MS OP ARGS; ...":
 *
 *   start|crash|restart nI...   tcrash|trestart tJ   stored tJ E
 *   cut A... / B... [/ C...]    the lists become groups 0, 1, 2; the
 *                               endpoints not listed are in group 0
 *   heal                        caughtup nI          write nI
 *   late nI TYPE nK|tJ E        nI receives an old message of epoch E
 *   never nI                    nI must not be writable from now on
 *   expect nI primary [E]       role PRIMARY, device writable [at E]
 *   expect nI follows nK [E]    expect nI readonly   expect nI role R
 *   expect nI write ok|notok    the last write was acknowledged, or not
 *   end                         the row ends
 */
struct script_row {
	const char *what;
	unsigned int nodes, targets, w;
	enum qrep_failback failback;
	const char *script;
};

#define NEVER	QREP_FAILBACK_NEVER
#define CATCHUP	QREP_FAILBACK_CATCHUP

static const struct script_row script_rows[] = {
	/*  1 */ { "3 nodes start: 3 is writable once 2 targets accept epoch 1",
		   3, 3, 2, NEVER,
		   "0 start n1 n2 n3; 499 expect n3 role candidate;"
		   "499 expect n1 role waiting-coordinator; 1000 expect n3 primary 1;"
		   "1000 expect n1 follows n3 1; 1000 expect n2 follows n3 1;"
		   "1000 write n3; 1100 expect n3 write ok; 1100 end" },
	/*  2 */ { "the primary crashes: 2 is elected at epoch 2", 3, 3, 2, NEVER,
		   "0 start n1 n2 n3; 1000 crash n3; 1400 expect n2 follows n3 1;"
		   "2500 expect n2 primary 2; 2500 expect n1 follows n2 2;"
		   "2500 write n2; 2600 expect n2 write ok; 2600 end" },
	/*  3 */ { "3 returns, failback never: it follows 2", 3, 3, 2, NEVER,
		   "0 start n1 n2 n3; 1000 crash n3; 3000 restart n3;"
		   "3400 expect n3 follows n2 2; 6000 expect n2 primary 2;"
		   "6000 expect n3 follows n2 2; 6000 end" },
	/*  4 */ { "3 returns, failback catchup: it takes over once caught up",
		   3, 3, 2, CATCHUP,
		   "0 start n1 n2 n3; 1000 crash n3; 3000 restart n3;"
		   "3900 expect n3 follows n2 2; 3900 expect n2 primary 2;"
		   "4000 caughtup n3; 4500 expect n3 primary 3;"
		   "4500 expect n2 follows n3 3; 4500 expect n1 follows n3 3;"
		   "4500 write n3; 4600 expect n3 write ok; 4600 end" },
	/*  5 */ { "the primary cut off alone: 2 is elected, 3 cannot write, "
		   "and demotes when the cut heals", 3, 3, 2, NEVER,
		   "0 start n1 n2 n3; 1000 cut n3 / n1 n2 t0 t1 t2;"
		   "2500 expect n2 primary 2; 2500 expect n3 primary 1;"
		   "2500 write n3; 2700 expect n3 write notok; 3000 heal;"
		   "3500 expect n3 follows n2 2; 3500 end" },
	/*  6 */ { "the primary cut off with its own target: cannot write either",
		   3, 3, 2, NEVER,
		   "0 start n1 n2 n3; 1000 cut n3 t2 / n1 n2 t0 t1;"
		   "2500 expect n2 primary 2; 2500 write n3;"
		   "2700 expect n3 write notok; 3000 heal;"
		   "3500 expect n3 follows n2 2; 3500 write n2;"
		   "3600 expect n2 write ok; 3600 end" },
	/*  7 */ { "the deposed primary learns it from a target's refusal",
		   3, 3, 2, NEVER,
		   "0 start n1 n2 n3; 1000 cut n3 / n1 n2 t0 t1 t2;"
		   "2500 expect n2 primary 2; 2600 cut n3 t0 t1 t2 / n1 n2;"
		   "2700 expect n3 readonly; 4000 expect n3 primary 3;"
		   "4000 write n2; 4200 expect n2 write notok; 4200 end" },
	/*  8 */ { "2 nodes cut off with 1 of 3 targets are never writable",
		   3, 3, 2, NEVER,
		   "0 cut n2 n3 t2 / n1 t0 t1; 0 never n2; 0 never n3;"
		   "0 start n1 n2 n3; 3000 expect n1 primary 1; 3000 write n1;"
		   "3100 expect n1 write ok; 8000 expect n1 primary 1; 8000 end" },
	/*  9 */ { "no target reachable: nobody is ever writable", 3, 3, 2, NEVER,
		   "0 cut n1 n2 n3 / t0 t1 t2; 0 never n1; 0 never n2; 0 never n3;"
		   "0 start n1 n2 n3; 8000 expect n3 readonly; 8000 end" },
	/* 10 */ { "the targets hold newer epochs: refused, then above them",
		   3, 3, 2, NEVER,
		   "0 stored t0 5; 0 stored t1 5; 0 stored t2 7; 0 start n1 n2 n3;"
		   "600 expect n3 role candidate; 2000 expect n3 primary 8;"
		   "2000 expect n1 follows n3 8; 2000 end" },
	/* 11 */ { "late and duplicate messages of an old epoch change nothing",
		   3, 3, 2, NEVER,
		   "0 start n1 n2 n3; 1000 crash n3; 2500 expect n2 primary 2;"
		   "2600 late n1 HEARTBEAT n3 1; 2600 late n1 COORDINATOR n3 1;"
		   "2600 late n2 COORDINATOR n3 1; 2600 late n2 EPOCH_ACCEPT t0 1;"
		   "2600 late n2 EPOCH_REJECT t1 1; 2600 late n1 ACK n2 1;"
		   "2600 expect n1 follows n2 2; 2600 expect n2 primary 2;"
		   "2700 expect n2 primary 2; 2700 expect n1 follows n2 2; 2700 end" },
	/* 12 */ { "one node, one target, W = 1", 1, 1, 1, NEVER,
		   "0 start n1; 1000 expect n1 primary 1; 1000 write n1;"
		   "1100 expect n1 write ok; 1100 end" },
	/* 13 */ { "5 nodes: 5 and 4 cut off with 2 of 5 targets; 3 is "
		   "elected; never: 5 follows 3 after the heal", 5, 5, 3, NEVER,
		   "0 start n1 n2 n3 n4 n5; 1000 cut n4 n5 t3 t4 / n1 n2 n3 t0 t1 t2;"
		   "1000 never n4; 3000 expect n3 primary 2; 3000 expect n1 follows n3 2;"
		   "3000 write n5; 3200 expect n5 write notok; 3300 heal;"
		   "4000 expect n3 primary 2; 4000 expect n5 follows n3 2;"
		   "4000 expect n4 follows n3 2; 4000 end" },
	/* 14 */ { "... catchup: 5 takes over once caught up", 5, 5, 3, CATCHUP,
		   "0 start n1 n2 n3 n4 n5; 1000 cut n4 n5 t3 t4 / n1 n2 n3 t0 t1 t2;"
		   "1000 never n4; 3000 expect n3 primary 2; 3300 heal;"
		   "4000 expect n5 follows n3 2; 4100 caughtup n5;"
		   "4800 expect n5 primary 3; 4800 expect n3 follows n5 3;"
		   "4800 expect n4 follows n5 3; 4800 end" },
	/* 15 */ { "the primary restarts before anyone notices: new epoch",
		   3, 3, 2, NEVER,
		   "0 start n1 n2 n3; 1000 crash n3; 1200 restart n3;"
		   "2500 expect n3 primary 2; 2500 expect n1 follows n3 2;"
		   "2500 expect n2 follows n3 2; 2500 end" },
	/* 16 */ { "a target crashes: W = 2 of 3 still reached; two: nobody "
		   "new is writable", 3, 3, 2, NEVER,
		   "0 tcrash t2; 0 start n1 n2 n3; 1000 expect n3 primary 1;"
		   "1000 tcrash t1; 1100 crash n3; 1100 never n1; 1100 never n2;"
		   "4000 expect n2 readonly; 4000 expect n1 readonly; 4000 end" },
	/* 17 */ { "... and when one returns, 2 is elected", 3, 3, 2, NEVER,
		   "0 tcrash t2; 0 start n1 n2 n3; 1000 tcrash t1; 1100 crash n3;"
		   "4000 expect n2 readonly; 4000 trestart t1;"
		   "5000 expect n2 primary; 5000 expect n1 follows n2; 5000 end" },
};

static int script_node(struct sim *s, const char *tok)
{
	int i = tok[0] == 'n' ? node_index(s, (uint32_t)atoi(tok + 1)) : -1;

	if (i < 0)
		sim_fail(s, "script: '%s' is not a node", tok);
	return i < 0 ? 0 : i;
}

static unsigned int script_target(struct sim *s, const char *tok)
{
	unsigned int t = tok[0] == 't' ? (unsigned int)atoi(tok + 1) : MAXT;

	if (t >= s->p.nr_targets) {
		sim_fail(s, "script: '%s' is not a target", tok);
		t = 0;
	}
	return t;
}

static void script_cut(struct sim *s, const struct script_step *st)
{
	unsigned int k, g = 0;

	memset(s->group, 0, sizeof(s->group));
	for (k = 0; k < st->nr_args; k++) {
		const char *a = st->arg[k];

		if (!strcmp(a, "/"))
			g++;
		else if (a[0] == 't')
			s->group[TGT(script_target(s, a))] = g;
		else
			s->group[script_node(s, a)] = g;
	}
	trace(s, TR_CHAOS, 0, 0, 4, groups_packed(s), 0, 0);
}

static enum qrep_election_msg_type msg_type_named(const char *name)
{
	int t;

	for (t = QREP_MSG_ELECTION; t <= QREP_MSG_EPOCH_REJECT; t++)
		if (!strcmp(name, qrep_election_msg_name(t)))
			return t;
	return 0;
}

/* late nI TYPE from E: an old message, delivered now. */
static void script_late(struct sim *s, const struct script_step *st)
{
	struct sim_ev ev = { .kind = SK_MSG };

	if (st->nr_args != 4) {
		sim_fail(s, "script: late nI TYPE nK|tJ E");
		return;
	}
	ev.dst = script_node(s, st->arg[0]);
	ev.msg.type = msg_type_named(st->arg[1]);
	if (st->arg[2][0] == 't') {
		ev.src = TGT(script_target(s, st->arg[2]));
		ev.msg.from = ev.src - TGT(0);
	} else {
		ev.src = script_node(s, st->arg[2]);
		ev.msg.from = s->nodes[ev.src].id;
	}
	ev.msg.epoch = strtoull(st->arg[3], NULL, 10);
	ev.msg.seen_epoch = ev.msg.epoch;
	ev.msg.round = 1;
	if (!ev.msg.type)
		sim_fail(s, "script: no message '%s'", st->arg[1]);
	if (!s->failed && connected(s, ev.src, ev.dst))
		deliver(s, &ev);
}

static void script_expect(struct sim *s, const struct script_step *st)
{
	const struct sim_node *n;
	const char *what = st->arg[1];
	bool ok;

	if (st->nr_args < 2) {
		sim_fail(s, "script: expect nI WHAT ...");
		return;
	}
	n = &s->nodes[script_node(s, st->arg[0])];
	if (!strcmp(what, "primary")) {
		ok = qrep_election_role(&n->el) == QREP_ROLE_PRIMARY &&
		     n->writable && (st->nr_args < 3 ||
		     n->dev_epoch == strtoull(st->arg[2], NULL, 10));
	} else if (!strcmp(what, "follows") && st->nr_args >= 3) {
		ok = qrep_election_role(&n->el) == QREP_ROLE_FOLLOWER &&
		     (int)qrep_election_primary(&n->el) ==
		     atoi(st->arg[2] + 1) && !n->writable &&
		     (st->nr_args < 4 || qrep_election_epoch(&n->el) ==
		      strtoull(st->arg[3], NULL, 10));
	} else if (!strcmp(what, "readonly")) {
		ok = !n->writable;
	} else if (!strcmp(what, "role") && st->nr_args >= 3) {
		ok = !strcmp(qrep_election_role_name(n->el.role), st->arg[2]);
	} else if (!strcmp(what, "write") && st->nr_args >= 3) {
		ok = n->last_write > 0 && s->writes[n->last_write - 1].acked;
		if (strcmp(st->arg[2], "ok"))
			ok = !ok;
	} else {
		sim_fail(s, "script: cannot expect '%s'", what);
		return;
	}
	if (!ok)
		sim_fail(s, "at %u ms, expected node %u %s %s %s: it is %s%s, "
			 "primary %u, epoch %" PRIu64 ", last write #%d", st->at,
			 n->id, what, st->nr_args > 2 ? st->arg[2] : "",
			 st->nr_args > 3 ? st->arg[3] : "",
			 qrep_election_role_name(n->el.role),
			 n->writable ? " (writable)" : "",
			 qrep_election_primary(&n->el), n->el.epoch,
			 n->last_write - 1);
}

static void script_run_step(struct sim *s, unsigned int k)
{
	const struct script_step *st = &s->script[k];
	struct qrep_election_event in = { .type = QREP_EV_CAUGHT_UP };
	const char *op = st->op;
	unsigned int a;

	s->dirty = true;
	if (!strcmp(op, "expect")) {
		script_expect(s, st);
	} else if (!strcmp(op, "cut")) {
		script_cut(s, st);
	} else if (!strcmp(op, "heal")) {
		memset(s->group, 0, sizeof(s->group));
		trace(s, TR_CHAOS, 0, 0, 4, 0, 0, 0);
	} else if (!strcmp(op, "late")) {
		script_late(s, st);
	} else if (!strcmp(op, "stored") && st->nr_args == 2) {
		s->targets[script_target(s, st->arg[0])].stored =
			strtoull(st->arg[1], NULL, 10);
	} else if (!strcmp(op, "end")) {
		s->heap_len = 0;
	} else {
		for (a = 0; a < st->nr_args; a++) {
			const char *x = st->arg[a];

			if (!strcmp(op, "tcrash"))
				s->targets[script_target(s, x)].alive = false;
			else if (!strcmp(op, "trestart"))
				s->targets[script_target(s, x)].alive = true;
			else if (!strcmp(op, "start") || !strcmp(op, "restart"))
				node_start(s, script_node(s, x));
			else if (!strcmp(op, "crash"))
				node_crash(s, script_node(s, x));
			else if (!strcmp(op, "caughtup"))
				node_step(s, script_node(s, x), &in);
			else if (!strcmp(op, "write"))
				node_write(s, script_node(s, x), true);
			else if (!strcmp(op, "never")) {
				s->nodes[script_node(s, x)].never = true;
				if (s->nodes[script_node(s, x)].writable)
					sim_fail(s, "node %s is writable", x);
			} else {
				sim_fail(s, "script: no op '%s'", op);
				return;
			}
		}
	}
}

static void script_parse(struct sim *s, const char *text)
{
	char buf[2048], *step_save, *step;

	snprintf(buf, sizeof(buf), "%s", text);
	s->nr_script = 0;
	for (step = strtok_r(buf, ";", &step_save); step;
	     step = strtok_r(NULL, ";", &step_save)) {
		struct script_step *st = &s->script[s->nr_script];
		char *save, *tok = strtok_r(step, " ", &save);

		if (!tok)
			continue;
		if (s->nr_script == SCRIPT_MAX_STEPS) {
			sim_fail(s, "script: too many steps");
			return;
		}
		memset(st, 0, sizeof(*st));
		st->at = (uint32_t)atoi(tok);
		tok = strtok_r(NULL, " ", &save);
		snprintf(st->op, sizeof(st->op), "%s", tok ? tok : "");
		while ((tok = strtok_r(NULL, " ", &save)) &&
		       st->nr_args < SCRIPT_MAX_ARGS)
			snprintf(st->arg[st->nr_args++], sizeof(st->arg[0]),
				 "%s", tok);
		ev_at(s, st->at, SK_SCRIPT, 0, 0, s->nr_script);
		s->nr_script++;
	}
}

static bool script_run(struct sim *s, unsigned int row, bool trace_all)
{
	const struct script_row *r = &script_rows[row];
	struct sim_params *p = &s->p;
	unsigned int i;

	sim_reset(s, row + 1, SIM_SCRIPT);
	s->trace_all = trace_all;
	memset(p, 0, sizeof(*p));
	p->nr_nodes = r->nodes;
	p->nr_targets = r->targets;
	p->w = r->w;
	p->failback = r->failback;
	p->hi = 100;
	p->ht = 500;
	p->at = 200;
	p->ct = 1000;
	p->qt = 300;
	p->d_max = 5;
	p->write_every = 50;
	for (i = 0; i < p->nr_nodes; i++)
		s->nodes[i].id = i + 1;
	for (i = 0; i < p->nr_targets; i++)
		s->targets[i].alive = true;
	nodes_init(s);
	weather(s, 0, 0, p->d_max);
	script_parse(s, r->script);
	sim_loop(s);
	if (s->failed) {
		printf("# row %u (%s):\n", row + 1, r->what);
		sim_report(s);
	}
	return !s->failed;
}

TEST(scenarios)
{
	struct sim s = { 0 };
	unsigned int r, failed = 0, only = env_u64("QREP_SIM_ROW", 0);

	for (r = 0; r < sizeof(script_rows) / sizeof(script_rows[0]); r++)
		if (!only || only == r + 1)
			failed += !script_run(&s, r, only == r + 1);
	free(s.heap);
	free(s.epochs);
	free(s.writes);
	free(s.quorums);
	ksft_print_msg("%u scenario rows, %u failed\n", r, failed);
	fflush(stdout);
	ASSERT_EQ(0, failed);
}

/* Seeds that once failed, after the fix: each must pass. */
static const uint64_t regression_seeds[] = {
	0,
};

TEST(regressions)
{
	struct sim s = { 0 };
	size_t i, failed = 0;

	for (i = 0; i < sizeof(regression_seeds) / sizeof(regression_seeds[0]); i++)
		if (regression_seeds[i])
			failed += !sim_run(&s, regression_seeds[i], false);
	free(s.heap);
	free(s.epochs);
	free(s.writes);
	free(s.quorums);
	ASSERT_EQ(0, failed);
}

static uint64_t seed_of(int cls, uint64_t index)
{
	return ((uint64_t)(cls + 1) << 56) | index;
}

struct class_result {
	uint64_t runs, failures, worst_conv, worst_T, events, worst_seed;
};

/* Runs [first, first + runs) of a class, in jobs processes. */
static struct class_result sim_class_run(int cls, uint64_t first,
					 uint64_t runs, unsigned int jobs)
{
	struct class_result res = { 0 };
	int fds[MAXN];
	pid_t pids[MAXN];
	unsigned int j;

	if (jobs < 1)
		jobs = 1;
	if (jobs > MAXN)
		jobs = MAXN;
	for (j = 0; j < jobs; j++) {
		struct class_result mine = { 0 };
		struct sim s = { 0 };
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
		for (i = first + j; i < first + runs; i += jobs) {
			mine.runs++;
			if (!sim_run(&s, seed_of(cls, i), false)) {
				mine.failures++;
				break;
			}
			if (s.worst_T && s.worst_conv * 1000 / s.worst_T >
			    mine.worst_conv * 1000 /
			    (mine.worst_T ? mine.worst_T : 1)) {
				mine.worst_conv = s.worst_conv;
				mine.worst_T = s.worst_T;
				mine.worst_seed = s.seed;
			}
			s.worst_conv = 0;
			s.worst_T = 0;
			mine.events += s.step;
		}
		free(s.heap);
		free(s.epochs);
		free(s.writes);
		free(s.quorums);
		if (jobs == 1)
			return mine;
		if (write(fd[1], &mine, sizeof(mine)) != sizeof(mine))
			_exit(2);
		_exit(0);
	}
	for (j = 0; j < jobs; j++) {
		struct class_result got = { 0 };

		if (read(fds[j], &got, sizeof(got)) != sizeof(got))
			got.failures = 1;
		close(fds[j]);
		waitpid(pids[j], NULL, 0);
		res.runs += got.runs;
		res.failures += got.failures;
		res.events += got.events;
		if (got.worst_T && (!res.worst_T || got.worst_conv * 1000 /
				    got.worst_T > res.worst_conv * 1000 /
				    res.worst_T)) {
			res.worst_conv = got.worst_conv;
			res.worst_T = got.worst_T;
			res.worst_seed = got.worst_seed;
		}
	}
	return res;
}

/* One TEST per class: its share of QREP_SIM_RUNS, or the one seed asked. */
static int sim_class_test(int cls)
{
	uint64_t runs = env_u64("QREP_SIM_RUNS", DEFAULT_RUNS);
	uint64_t first = env_u64("QREP_SIM_FIRST", 0);
	unsigned int jobs = env_u64("QREP_SIM_JOBS", 1);
	const char *one = getenv("QREP_SIM_SEED");
	struct class_result res;
	struct timespec t0, t1;

	if (one && *one) {
		uint64_t seed = strtoull(one, NULL, 0);
		struct sim s = { 0 };
		bool ok;

		if ((int)(seed >> 56) - 1 != cls)
			return 1;
		ok = sim_run(&s, seed, true);
		printf("# seed %#" PRIx64 ": %s\n", seed, ok ? "ok" : "FAILED");
		fflush(stdout);
		return ok ? 0 : -1;
	}
	runs = runs * classes[cls].percent / 100;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	res = sim_class_run(cls, first, runs, jobs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# %s: %" PRIu64 " runs, %" PRIu64 " failed, %" PRIu64
	       " events, %.1f s; slowest convergence %" PRIu64 " ms of T = %"
	       PRIu64 " ms (seed %#" PRIx64 ")\n", classes[cls].name, res.runs,
	       res.failures, res.events,
	       (double)(t1.tv_sec - t0.tv_sec) +
	       (t1.tv_nsec - t0.tv_nsec) / 1e9, res.worst_conv, res.worst_T,
	       res.worst_seed);
	fflush(stdout);
	return res.failures || res.runs < runs ? -1 : 0;
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

#define SIM_CLASS_TEST(name, cls)					\
	TEST_F_TIMEOUT(sim, name, SIM_TIMEOUT_S)			\
	{								\
		int ret = sim_class_test(cls);				\
									\
		(void)self;						\
		if (ret > 0)						\
			SKIP(return, "QREP_SIM_SEED is another class's");\
		ASSERT_EQ(0, ret);					\
	}

SIM_CLASS_TEST(boot, SIM_BOOT)
SIM_CLASS_TEST(crash, SIM_CRASH)
SIM_CLASS_TEST(partition, SIM_PARTITION)
SIM_CLASS_TEST(minority, SIM_MINORITY)
SIM_CLASS_TEST(async, SIM_ASYNC)

TEST_HARNESS_MAIN
