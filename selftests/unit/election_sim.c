// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated cluster (see election_sim.h and test_election_sim.c):
 * the event queue, the network, the nodes with their devices and kernels,
 * the targets, and the invariant checks listed in test_election_sim.c.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "election_sim.h"

void sim_fail(struct sim *s, const char *fmt, ...)
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

void sim_ev_push(struct sim *s, struct sim_ev ev)
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
		if (c + 1 < s->heap_len &&
		    ev_before(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!ev_before(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	s->heap[i] = last;
	return top;
}

void sim_ev_at(struct sim *s, uint64_t at, enum sim_kind kind, uint8_t dst,
		  uint32_t inc, uint32_t arg)
{
	struct sim_ev ev = { .at = at, .kind = kind, .dst = dst, .inc = inc,
			     .arg = arg };

	sim_ev_push(s, ev);
}

/* The trace: a ring of compact records, printed only when needed. */

static void trace_print(const struct sim *s, const struct trace_rec *r)
{
	static const char *const target_what[] = {
		"accepts", "refuses", "applies write", "refuses write",
	};
	static const char *const chaos_what[] = {
		"node crashes", "node restarts", "target crashes",
		"target restarts", "cut", "weather", "one-way cuts",
	};
	char ep[8];

	printf("#   %8" PRIu64 "  ", r->at);
	switch (r->what) {
	case TR_MSG:
		if (r->c)
			snprintf(ep, sizeof(ep), "t%u", r->x);
		else
			snprintf(ep, sizeof(ep), "%u", r->x);
		printf("node %u <- %s from %s, epoch %" PRIu64 " seen %"
		       PRIu64 "\n", s->nodes[r->a].id,
		       qrep_election_msg_name(r->b), ep, r->e1, r->e2);
		break;
	case TR_ROLE:
		printf("node %u: %s, primary %u, epoch %" PRIu64 ", seen %"
		       PRIu64 "\n", s->nodes[r->a].id,
		       qrep_election_role_name(r->b), r->x, r->e1, r->e2);
		break;
	case TR_DEVICE:
		if (r->b)
			printf("node %u: device WRITABLE at epoch %" PRIu64
			       "\n", s->nodes[r->a].id, r->e1);
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
			printf(": groups %08x (2 bits an endpoint, nodes "
			       "first)", r->x);
		else if (r->c == 6)
			printf(": endpoint %u (nodes 0-7, targets 8-15) does "
			       "not reach mask %04x", r->a, r->x);
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
			printf("-- stable; nothing older in flight from %"
			       PRIu64 "; settled by %" PRIu64 " (T = %" PRIu64
			       ")\n", r->e1, r->e2, r->e2 - r->e1);
		else
			printf("-- unstable period %u\n", r->x);
		break;
	}
}

void sim_trace(struct sim *s, uint8_t what, uint8_t a, uint8_t b, uint8_t c,
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
		sim_fail(s, "epoch %" PRIu64 " is beyond the simulation's "
			 "bound", epoch);
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

int sim_node_index(const struct sim *s, uint32_t id)
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

bool sim_connected(const struct sim *s, uint8_t a, uint8_t b)
{
	return s->group[a] == s->group[b] && !(s->oneway[a] & (1u << b));
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
		sim_ev_push(s, ev);
	}
}

/* The nodes */

static void device_writable(struct sim *s, unsigned int i, uint64_t epoch)
{
	struct sim_node *n = &s->nodes[i];
	struct sim_epoch *rec = epoch_rec(s, epoch);
	struct sim_quorum q = { .epoch = epoch };
	unsigned int t, have = 0;
	size_t k;

	for (t = 0; t < s->p.nr_targets; t++) {
		have += s->group[TGT(t)] == s->group[i];
		if (rec->by_node[t] == i + 1 && rec->by_inc[t] == n->inc)
			q.mask |= 1u << t;
	}
	/* White box: the accepts the node counted are all real. */
	if (popcount8(q.mask) < s->p.w || (n->el.accepted & ~q.mask))
		sim_fail(s, "(d) node %u writable at epoch %" PRIu64 " with %u "
			 "target accepts of its proposal (it counted %#x), W = "
			 "%u", n->id, epoch, popcount8(q.mask), n->el.accepted,
			 s->p.w);
	if (rec->writable && (rec->writable != i + 1 ||
			      rec->writable_inc != n->inc) &&
	    !s->store_replaced)
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
	sim_ev_at(s, s->now + rng_range(&s->rng, 1, s->p.write_every),
	      SK_WRITE_TIMER, i, n->inc, (uint32_t)epoch);
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
	bool primary = qrep_election_role(el) == QREP_EL_PRIMARY;

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
		sim_fail(s, "(d) node %u: device %s at %" PRIu64 ", role %s "
			 "at %" PRIu64, n->id,
			 n->writable ? "writable" : "read-only", n->dev_epoch,
			 qrep_election_role_name(el->role),
			 qrep_election_epoch(el));
}

static void node_route(struct sim *s, unsigned int i,
		       const struct qrep_election_send *snd)
{
	int j;

	if (snd->dest == QREP_DEST_TARGET) {
		if (snd->to >= s->p.nr_targets)
			sim_fail(s, "node %u sends to target %u",
				 s->nodes[i].id, snd->to);
		else
			net_send(s, i, TGT(snd->to), SK_MSG, &snd->msg,
				 s->nodes[i].inc, 0);
		return;
	}
	j = sim_node_index(s, snd->to);
	if (j < 0 || (unsigned int)j == i)
		sim_fail(s, "node %u sends to node %u", s->nodes[i].id,
			 snd->to);
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

	if (s->p.failback != QREP_FAILBACK_CATCHUP || !s->p.auto_caught_up ||
	    qrep_election_role(&n->el) != QREP_EL_FOLLOWER ||
	    n->cu_epoch == qrep_election_epoch(&n->el))
		return;
	n->cu_epoch = qrep_election_epoch(&n->el);
	cu.at = s->now + rng_range(&s->rng, 0, s->p.caught_up_max);
	cu.msg.epoch = n->cu_epoch;
	sim_ev_push(s, cu);
}

void sim_node_step(struct sim *s, unsigned int i,
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
		sim_trace(s, TR_DEVICE, i, 1, 0, 0, out.device_epoch, 0);
		device_writable(s, i, out.device_epoch);
	} else if (out.device == QREP_DEVICE_READONLY) {
		if (n->writable || out.reason != QREP_DEMOTE_START)
			sim_trace(s, TR_DEVICE, i, 0, out.reason,
				  out.reason_from, out.reason_epoch, 0);
		n->writable = false;
	}
	if (n->el.role != before || out.role_changed)
		sim_trace(s, TR_ROLE, i, n->el.role, 0,
			  qrep_election_primary(&n->el), n->el.epoch,
			  n->el.seen_epoch);
	if (out.next_deadline_ms &&
	    (!n->tick_at || out.next_deadline_ms < n->tick_at)) {
		n->tick_at = out.next_deadline_ms;
		sim_ev_at(s, n->tick_at, SK_TICK, i, n->inc, 0);
	}
	node_check(s, i);
	caught_up_schedule(s, i);
}

void sim_node_start(struct sim *s, unsigned int i)
{
	struct sim_node *n = &s->nodes[i];
	struct qrep_election_event ev = { .type = QREP_EV_START };

	n->alive = true;
	/* The daemon may know its local store's epoch, or nothing. */
	if (s->p.start_hint && i < s->p.nr_targets && rng_pm(&s->rng, 500))
		ev.epoch = s->targets[i].stored;
	ev.nonce = (uint32_t)rng_next(&s->rng);
	n->mon_epoch = 0;
	n->mon_seen = 0;
	n->cu_epoch = 0;
	sim_node_step(s, i, &ev);
}

void sim_node_crash(struct sim *s, unsigned int i)
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

void sim_node_write(struct sim *s, unsigned int i, bool script)
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
		sim_node_step(s, i, &fenced);
		return;
	}
	w->acked_by |= bit;
	if (w->acked || popcount8(w->acked_by) < s->p.w)
		return;
	w->acked = true;
	sim_trace(s, TR_WRITE, i, 0, 0, ev->arg, w->epoch, 0);
	for (k = 0; k < s->nr_quorums; k++)
		check_write_in_quorum(s, w, &s->quorums[k]);
}

/* The targets */

static void target_receive(struct sim *s, unsigned int t,
			   const struct sim_ev *ev)
{
	struct sim_target *tg = &s->targets[t];
	struct qrep_election_msg r = ev->msg;
	uint64_t before = tg->stored;
	uint8_t node = ev->src;

	if (ev->kind == SK_WRITE) {
		struct sim_write *w = &s->writes[ev->arg];

		if (ev->msg.epoch >= tg->stored) {
			tg->stored = ev->msg.epoch;	/* newer: raised */
			if (!w->applied_step[t])
				w->applied_step[t] = s->step + 1;
			r.seen_epoch = tg->stored;
			net_send(s, TGT(t), node, SK_WRITE_OK, &r, 0, ev->arg);
		} else {
			r.seen_epoch = tg->stored;
			sim_trace(s, TR_TARGET, t, node, 3, 0, ev->msg.epoch,
				  tg->stored);
			net_send(s, TGT(t), node, SK_WRITE_REFUSED, &r, 0,
				 ev->arg);
		}
	} else if (ev->msg.type == QREP_MSG_EPOCH_PROPOSE) {
		r.from = t;
		if (ev->msg.epoch > tg->stored) {
			struct sim_epoch *rec = epoch_rec(s, ev->msg.epoch);

			tg->stored = ev->msg.epoch;
			rec->by_node[t] = node + 1;
			rec->by_inc[t] = ev->inc;
			rec->accept_step[t] = s->step + 1;
			r.type = QREP_MSG_EPOCH_ACCEPT;
		} else {
			r.type = QREP_MSG_EPOCH_REJECT;
		}
		r.seen_epoch = tg->stored;
		sim_trace(s, TR_TARGET, t, node,
			  r.type == QREP_MSG_EPOCH_ACCEPT ? 0 : 1, 0,
			  ev->msg.epoch, tg->stored);
		net_send(s, TGT(t), node, SK_MSG, &r, 0, 0);
	} else if (ev->msg.type == QREP_MSG_TARGET_PROBE) {
		/* qrepd's probe is a hello: it tells the epoch, changes none. */
		r.from = t;
		r.type = QREP_MSG_EPOCH_REJECT;
		r.epoch = 0;
		r.seen_epoch = tg->stored;
		net_send(s, TGT(t), node, SK_MSG, &r, 0, 0);
	}
	if (tg->stored < before)
		sim_fail(s, "(b) t%u: stored epoch went back", t);
	s->dirty |= tg->stored != before;
}

/* Delivery: a cut between the two ends, or a dead receiver, drops it. */
void sim_deliver(struct sim *s, const struct sim_ev *ev)
{
	struct qrep_election_event in = { .type = QREP_EV_MSG, .msg = ev->msg };
	bool from_target = ev->src >= TGT(0);
	struct sim_node *n;
	bool rival;

	if (!sim_connected(s, ev->src, ev->dst))
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
	sim_trace(s, TR_MSG, ev->dst, ev->msg.type, from_target,
		  from_target ? (uint32_t)(ev->src - TGT(0)) :
				s->nodes[ev->src].id,
		  ev->msg.epoch, ev->msg.seen_epoch);
	rival = !from_target && n->writable &&
		ev->msg.epoch == n->dev_epoch && ev->msg.from != n->id &&
		(ev->msg.type == QREP_MSG_COORDINATOR ||
		 ev->msg.type == QREP_MSG_HEARTBEAT);
	sim_node_step(s, ev->dst, &in);
	/* (f) */
	if (rival && n->writable && n->dev_epoch == ev->msg.epoch)
		sim_fail(s, "(f) node %u, writable at epoch %" PRIu64 ", heard "
			 "node %u's %s of that epoch and is still writable",
			 n->id, n->dev_epoch, ev->msg.from,
			 qrep_election_msg_name(ev->msg.type));
}

/* Liveness (c) */

int sim_majority_group(const struct sim *s)
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
	int g = sim_majority_group(s);
	const struct sim_node *prim = NULL;
	uint32_t biggest = 0;
	unsigned int i;

	*pid = 0;
	*pe = 0;
	if (g < 0)
		return true;	/* no quorum anywhere: nothing to elect */
	for (i = 0; i < s->p.nr_nodes; i++) {
		const struct sim_node *n = &s->nodes[i];

		if (!n->alive || s->group[i] != g)
			continue;
		if (n->id > biggest)
			biggest = n->id;
		if (qrep_election_role(&n->el) != QREP_EL_PRIMARY)
			continue;
		if (prim) {
			if (why)
				snprintf(why, len, "nodes %u and %u both "
					 "primary", prim->id, n->id);
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
		if (qrep_election_role(&n->el) != QREP_EL_FOLLOWER ||
		    qrep_election_primary(&n->el) != prim->id ||
		    qrep_election_epoch(&n->el) != *pe) {
			if (why)
				snprintf(why, len, "node %u is %s of %u at %"
					 PRIu64,
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
			snprintf(why, len, "t%u holds epoch %" PRIu64 " > %"
				 PRIu64, i, s->targets[i].stored, *pe);
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
			sim_trace(s, TR_PHASE, 0, 0, 2, s->cur_primary,
			      s->now - s->stable_from, s->cur_epoch);
		}
		s->conv = ok;
		s->dirty = false;
	}
	if (s->now < s->check_from)
		return;
	if (!s->conv) {
		converged(s, &s->cur_primary, &s->cur_epoch, why, sizeof(why));
		sim_fail(s, "(c) %" PRIu64 " ms after the network became "
			 "stable (T = %" PRIu64 "): %s",
			 s->now - s->stable_from, s->T, why);
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
		sim_fail(s, "(c) the primary changed from %u at %" PRIu64
			 " to %u at %" PRIu64 " in a stable network",
			 s->conv_primary, s->conv_epoch, s->cur_primary,
			 s->cur_epoch);
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
uint64_t sim_liveness_bound(const struct sim_params *p)
{
	uint64_t l = p->ht > p->at ? p->ht : p->at;
	uint64_t settle = l, round, t;

	if (p->ct > settle)
		settle = p->ct;
	if (p->qt > settle)
		settle = p->qt;
	settle += p->hi + p->d_max;
	round = l + p->ht + 2 * p->at + p->qt + p->write_every +
		12ull * p->d_max;
	t = settle + 2 * round;
	if (p->failback == QREP_FAILBACK_CATCHUP)
		t += p->caught_up_max + p->ct + round;
	return t;
}

/* The scenario */


uint32_t sim_groups_packed(const struct sim *s)
{
	uint32_t x = 0;
	unsigned int i;

	for (i = 0; i < NR_EP; i++)
		x |= (uint32_t)(s->group[i] & 3) << (2 * i);
	return x;
}

void sim_weather(struct sim *s, uint32_t loss, uint32_t dup, uint32_t d_max)
{
	s->loss_pm = loss;
	s->dup_pm = dup;
	s->d_max = d_max ? d_max : 1;
	sim_trace(s, TR_CHAOS, loss, dup, 5, 0, s->d_max, 0);
}


/* A timeout of node i: the run's, or with hetero one of its own. */
static uint32_t node_timeout(struct sim *s, uint32_t lo, uint32_t max)
{
	if (!s->p.hetero || lo >= max)
		return max;
	return rng_range(&s->rng, lo, max);
}

void sim_nodes_init(struct sim *s)
{
	const struct sim_params *p = &s->p;
	struct qrep_election_config cfg;
	unsigned int i;

	qrep_election_config_default(&cfg);
	cfg.nr_nodes = p->nr_nodes;
	cfg.nr_targets = p->nr_targets;
	cfg.write_quorum = p->w;
	cfg.failback = p->failback;
	for (i = 0; i < p->nr_nodes; i++)
		cfg.nodes[i] = s->nodes[i].id;
	for (i = 0; i < p->nr_targets; i++)
		s->targets[i].alive = true;
	/*
	 * Different timeouts on different nodes are fine for safety; for
	 * liveness every heartbeat timeout must exceed every interval + D.
	 */
	for (i = 0; i < p->nr_nodes; i++) {
		cfg.self = s->nodes[i].id;
		cfg.heartbeat_interval_ms = node_timeout(s, p->hi / 2 + 1,
							 p->hi);
		cfg.heartbeat_timeout_ms = node_timeout(s, p->hi + p->d_max + 1,
							p->ht);
		cfg.ack_timeout_ms = node_timeout(s, 2 * p->d_max + 1, p->at);
		cfg.coordinator_timeout_ms = node_timeout(s, 1, p->ct);
		cfg.quorum_timeout_ms = node_timeout(s, 2 * p->d_max + 1,
						     p->qt);
		if (qrep_election_init(&s->nodes[i].el, &cfg))
			sim_fail(s, "init: %s",
				 qrep_election_config_check(&cfg));
	}
}

/* A new run; the pools are kept. */
void sim_reset(struct sim *s, uint64_t seed, const char *label)
{
	s->seed = seed;
	s->rng = seed;
	s->label = label;
	s->replayable = false;
	s->now = 0;
	s->seq = 0;
	s->step = 0;
	memset(s->nodes, 0, sizeof(s->nodes));
	memset(s->targets, 0, sizeof(s->targets));
	memset(s->group, 0, sizeof(s->group));
	memset(s->oneway, 0, sizeof(s->oneway));
	s->cycle = 0;
	s->stable = false;
	s->conv = false;
	s->checking = false;
	s->dirty = true;
	s->heap_len = 0;
	if (s->epochs_cap)
		memset(s->epochs, 0, (s->max_epoch + 1) * sizeof(*s->epochs));
	s->max_epoch = 0;
	s->nr_writes = 0;
	s->nr_quorums = 0;
	s->nr_trace = 0;
	s->store_replaced = false;
	s->failed = false;
	s->why[0] = 0;
}

void sim_free(struct sim *s)
{
	free(s->heap);
	free(s->epochs);
	free(s->writes);
	free(s->quorums);
	memset(s, 0, sizeof(*s));
}

static void dispatch(struct sim *s, const struct sim_ev *ev)
{
	struct qrep_election_event in = { 0 };
	struct sim_node *n = ev->dst < MAXN ? &s->nodes[ev->dst] : NULL;

	switch (ev->kind) {
	case SK_MSG:
	case SK_WRITE:
	case SK_WRITE_OK:
	case SK_WRITE_REFUSED:
		sim_deliver(s, ev);
		break;
	case SK_BOOT:
		if (!n->alive && !n->inc)
			sim_node_start(s, ev->dst);
		break;
	case SK_TICK:
		if (!n->alive || ev->inc != n->inc || ev->at != n->tick_at)
			break;
		n->tick_at = 0;
		in.type = QREP_EV_TICK;
		sim_node_step(s, ev->dst, &in);
		break;
	case SK_WRITE_TIMER:
		if (!n->alive || ev->inc != n->inc || !n->writable ||
		    (uint32_t)n->dev_epoch != ev->arg)
			break;
		sim_node_write(s, ev->dst, false);
		sim_ev_at(s, s->now + rng_range(&s->rng, 1, s->p.write_every),
		      SK_WRITE_TIMER, ev->dst, n->inc, ev->arg);
		break;
	case SK_CAUGHT_UP:
		if (!n->alive || ev->inc != n->inc)
			break;
		if (qrep_election_role(&n->el) != QREP_EL_FOLLOWER ||
		    qrep_election_epoch(&n->el) != ev->msg.epoch) {
			n->cu_epoch = 0;	/* again when it follows */
			caught_up_schedule(s, ev->dst);
			break;
		}
		in.type = QREP_EV_CAUGHT_UP;
		sim_node_step(s, ev->dst, &in);
		/* Ignored (a timer fired first)? Again when it follows. */
		if (qrep_election_role(&n->el) != QREP_EL_FOLLOWER ||
		    qrep_election_epoch(&n->el) != ev->msg.epoch) {
			n->cu_epoch = 0;
			caught_up_schedule(s, ev->dst);
		}
		break;
	case SK_SCENARIO:
		s->dirty = true;
		s->scenario(s, ev);
		break;
	}
}

void sim_loop(struct sim *s)
{
	while (s->heap_len && !s->failed) {
		struct sim_ev ev = ev_pop(s);

		s->now = ev.at;
		s->step++;
		dispatch(s, &ev);
		liveness_check(s);
	}
}

const char *sim_failback_name(enum qrep_failback f)
{
	return f == QREP_FAILBACK_CATCHUP ? "catchup" : "never";
}

void sim_params_print(const struct sim *s)
{
	const struct sim_params *p = &s->p;
	unsigned int i;

	printf("#   N=%u targets=%u W=%u failback=%s heartbeat %u/%u ack %u "
	       "coordinator %u quorum %u ms, D=%u ms, writes every %u ms; ids",
	       p->nr_nodes, p->nr_targets, p->w, sim_failback_name(p->failback),
	       p->hi, p->ht, p->at, p->ct, p->qt, p->d_max, p->write_every);
	for (i = 0; i < p->nr_nodes; i++)
		printf(" %u", s->nodes[i].id);
	printf("\n");
}

void sim_report(const struct sim *s)
{
	const struct sim_params *p = &s->p;
	uint64_t first = s->nr_trace > TRACE_TAIL ?
			 s->nr_trace - TRACE_TAIL : 0;
	unsigned int i;

	printf("# FAIL seed %#" PRIx64 " (class %s): %s\n", s->seed,
	       s->label, s->why);
	sim_params_print(s);
	for (i = 0; i < p->nr_nodes; i++) {
		const struct sim_node *n = &s->nodes[i];

		printf("#   node %u%s group %u: %s, primary %u, epoch %"
		       PRIu64 ", seen %" PRIu64 "%s\n", n->id,
		       n->alive ? "" : " (down)", s->group[i],
		       qrep_election_role_name(n->el.role),
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
	if (s->replayable)
		printf("#   replay: QREP_SIM_SEED=%#" PRIx64
		       " build/unit/test_election_sim\n", s->seed);
	fflush(stdout);
}

