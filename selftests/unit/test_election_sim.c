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
 *       from this very proposal (this node, this run of it), and every
 *       accept the node counted is one of those; where the groups never
 *       change (class "minority"), a node in a group with fewer than W
 *       targets is never writable; the device is writable exactly when
 *       the role is PRIMARY, at the role's epoch;
 *   (e) every acknowledged write (W targets applied it) of epoch E was
 *       applied, before it accepted E', by a target of the quorum that
 *       made each later epoch E' writable: the new primary's quorum holds
 *       every write acknowledged before it;
 *   (f) a writable node that hears another node's COORDINATOR or
 *       HEARTBEAT of its own epoch is read-only after that step. Two
 *       primaries in one epoch need a target that voted twice, which (a)
 *       rules out unless a script replaces a target's store by a new one
 *       at epoch 0 ("replace"): (a) is then not checked, and (f) says
 *       that the two stop writing as soon as they hear each other.
 *
 * "Stable": no crash, restart or cut any more, no loss, delays within the
 * run's bound D, and no message of the unstable period still in flight.
 * T is derived from the timeouts in sim_liveness_bound().
 *
 *   QREP_SIM_RUNS=N    seeded runs in all (20000), shared by the classes
 *   QREP_SIM_FIRST=N   the first run index (0)
 *   QREP_SIM_JOBS=N    worker processes per class (1)
 *   QREP_SIM_SEED=S    run only seed S (as printed), tracing every event
 *   QREP_SIM_ROW=N     run only scripted row N, tracing every event
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "election_sim.h"

#define SIM_TIMEOUT_S	(24 * 3600)	/* the runner has its own */
#define DEFAULT_RUNS	20000

enum sim_class {
	SIM_BOOT,	/* nodes start at random times; loss, duplicates */
	SIM_CRASH,	/* + node and target crashes and restarts */
	SIM_PARTITION,	/* + cuts into groups, changing, and crashes */
	SIM_MINORITY,	/* fixed groups, one of them a minority; crashes */
	SIM_ASYNC,	/* all of it, delays far beyond every timeout */
	SIM_NR_CLASSES,
};

/* The scenario's events (SK_SCENARIO): ev->src says which, ev->arg when. */
enum {
	SCN_CHAOS,	/* break something; arg: the period */
	SCN_PHASE,	/* the next period; arg: the period */
	SCN_SCRIPT,	/* a table row's step; arg: its index */
};

static void scenario_at(struct sim *s, uint64_t at, uint8_t what, uint32_t arg)
{
	struct sim_ev ev = { .at = at, .kind = SK_SCENARIO, .src = what,
			     .arg = arg };

	sim_ev_push(s, ev);
}

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

/*
 * The random scenarios: each run picks its parameters, then alternates
 * unstable periods (chaos events every so often) and stable ones (the
 * network calms down, and liveness is checked T after it did).
 */

/* New groups; with majority, group 0 holds W targets and a node. */
static void groups_random(struct sim *s, bool majority)
{
	unsigned int i, g0 = 0;
	uint8_t order[MAXT];

	for (i = 0; i < NR_EP; i++)
		s->group[i] = rng_below(&s->rng, majority ? 3 : NR_GROUPS);
	if (!majority)
		return;
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

static void chaos(struct sim *s)
{
	const struct sim_params *p = &s->p;
	unsigned int i, what;

	if (s->stable)
		return;
	what = rng_below(&s->rng, 7);
	i = rng_below(&s->rng, what < 2 ? p->nr_nodes : p->nr_targets);
	switch (what) {
	case 0:
	case 1:
		if (!p->crashes)
			break;
		if (s->nodes[i].alive && rng_pm(&s->rng, 600)) {
			sim_trace(s, TR_CHAOS, i, 0, 0, 0, 0, 0);
			sim_node_crash(s, i);
		} else if (!s->nodes[i].alive) {
			sim_trace(s, TR_CHAOS, i, 0, 1, 0, 0, 0);
			sim_node_start(s, i);
		}
		break;
	case 2:
		if (!p->target_crashes)
			break;
		s->targets[i].alive = !s->targets[i].alive;
		sim_trace(s, TR_CHAOS, i, 0, s->targets[i].alive ? 3 : 2, 0, 0,
			  0);
		break;
	case 3:
	case 4:
		if (!p->cuts)
			break;
		if (rng_pm(&s->rng, 300))
			memset(s->group, 0, sizeof(s->group));
		else
			groups_random(s, rng_pm(&s->rng, 500));
		sim_trace(s, TR_CHAOS, 0, 0, 4, sim_groups_packed(s), 0, 0);
		break;
	case 5:
		sim_weather(s, rng_range(&s->rng, 0, p->loss_max),
			    rng_range(&s->rng, 0, p->dup_max),
			    rng_range(&s->rng, 1, p->chaos_d_max));
		break;
	case 6:
		if (!p->oneway)
			break;
		i = rng_below(&s->rng, NR_EP);
		s->oneway[i] ^= 1u << rng_below(&s->rng, NR_EP);
		sim_trace(s, TR_CHAOS, i, 0, 6, s->oneway[i], 0, 0);
		break;
	}
	scenario_at(s, s->now + rng_range(&s->rng, 1, 2 * p->ht), SCN_CHAOS,
		    s->cycle);
}

static void phase_unstable(struct sim *s)
{
	const struct sim_params *p = &s->p;

	s->stable = false;
	s->cycle++;
	sim_trace(s, TR_PHASE, 0, 0, 0, s->cycle, 0, 0);
	sim_weather(s, rng_range(&s->rng, 0, p->loss_max),
		    rng_range(&s->rng, 0, p->dup_max),
		    rng_range(&s->rng, 1, p->chaos_d_max));
	scenario_at(s, s->now + rng_range(&s->rng, 1, p->ht), SCN_CHAOS,
		    s->cycle);
	scenario_at(s, s->now + rng_range(&s->rng, p->chaos_min, p->chaos_max),
		    SCN_PHASE, s->cycle);
}

static void phase_stable(struct sim *s)
{
	const struct sim_params *p = &s->p;
	unsigned int i, alive = 0;
	int g;
	size_t k;

	s->stable = true;
	memset(s->oneway, 0, sizeof(s->oneway));
	if (p->cuts) {
		if (rng_pm(&s->rng, 500))
			memset(s->group, 0, sizeof(s->group));
		else
			groups_random(s, true);
		sim_trace(s, TR_CHAOS, 0, 0, 4, sim_groups_packed(s), 0, 0);
	}
	for (i = 0; i < p->nr_targets; i++)
		if (!s->targets[i].alive && rng_pm(&s->rng, 500))
			s->targets[i].alive = true;
	for (i = 0; i < p->nr_nodes; i++)
		if (!s->nodes[i].alive && rng_pm(&s->rng, 500))
			sim_node_start(s, i);
	/* The group with W targets gets them all alive, and a live node. */
	for (g = 0; g < NR_GROUPS && sim_majority_group(s) < 0; g++) {
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
				sim_node_start(s, i);
				alive++;
			}
	}
	sim_weather(s, 0, rng_range(&s->rng, 0, 50), p->d_max);
	/* Stable once nothing sent before is still in flight. */
	s->stable_from = s->now;
	for (k = 0; k < s->heap_len; k++)
		if (s->heap[k].kind <= SK_WRITE_REFUSED &&
		    s->heap[k].at > s->stable_from)
			s->stable_from = s->heap[k].at;
	s->T = sim_liveness_bound(p);
	s->check_from = s->stable_from + s->T;
	s->conv = false;
	s->checking = false;
	sim_trace(s, TR_PHASE, 0, 0, 1, 0, s->stable_from, s->check_from);
	scenario_at(s, s->check_from + 2 * p->ht, SCN_PHASE, s->cycle);
}

static void scenario_random(struct sim *s, const struct sim_ev *ev)
{
	if (ev->arg != s->cycle)
		return;		/* of an earlier period */
	if (ev->src == SCN_CHAOS)
		chaos(s);
	else if (!s->stable)
		phase_stable(s);
	else if (s->cycle < s->p.cycles)
		phase_unstable(s);
	else
		s->heap_len = 0;	/* the end */
}

static void params_pick(struct sim *s, int cls)
{
	struct sim_params *p = &s->p;
	uint64_t *r = &s->rng;

	memset(p, 0, sizeof(*p));
	p->nr_nodes = rng_range(r, 1, MAXN);
	p->nr_targets = rng_pm(r, 700) ? p->nr_nodes : rng_range(r, 1, MAXT);
	p->w = p->nr_targets / 2 + 1;
	if (rng_pm(r, 300))
		p->w = rng_range(r, p->w, p->nr_targets);
	p->failback = rng_below(r, 2) ? QREP_FAILBACK_CATCHUP :
					QREP_FAILBACK_NEVER;
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
	p->start_hint = true;
	p->auto_caught_up = true;
	switch (cls) {
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
		p->hetero = true;
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
		p->oneway = true;
		p->hetero = true;
		p->loss_max = 300;
		p->dup_max = 200;
		p->chaos_d_max = rng_range(r, p->d_max, 10 * p->ht);
		break;
	}
}

static void setup_random(struct sim *s, int cls)
{
	const struct sim_params *p = &s->p;
	unsigned int i, k;

	params_pick(s, cls);
	s->scenario = scenario_random;
	/* Distinct ids from 1 to 64, in no particular order. */
	for (i = 0; i < p->nr_nodes; i++) {
again:
		s->nodes[i].id = rng_range(&s->rng, 1, 64);
		for (k = 0; k < i; k++)
			if (s->nodes[k].id == s->nodes[i].id)
				goto again;
	}
	sim_nodes_init(s);
	for (i = 0; i < p->nr_targets; i++)
		if (rng_pm(&s->rng, 300))
			s->targets[i].stored = rng_range(&s->rng, 0, 5);
	if (p->fixed_groups)
		groups_random(s, true);
	for (i = 0; i < p->nr_nodes; i++)
		sim_ev_at(s, rng_below(&s->rng, p->chaos_min), SK_BOOT, i, 0,
			  0);
	phase_unstable(s);
}

static bool sim_run(struct sim *s, uint64_t seed, bool trace_all)
{
	int cls = (int)(seed >> 56) - 1;

	sim_reset(s, seed, cls >= 0 && cls < SIM_NR_CLASSES ?
		  classes[cls].name : "?");
	s->replayable = true;
	s->trace_all = trace_all;
	setup_random(s, cls);
	if (trace_all)
		sim_params_print(s);
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
 *   replace tJ                  tJ's store is replaced by a new one, at
 *                               epoch 0 (qrep-target init): see (f)
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
#define SCRIPT_MAX_STEPS	40
#define SCRIPT_MAX_ARGS		16

struct script_step {
	uint32_t at;
	char op[12];
	char arg[SCRIPT_MAX_ARGS][24];
	unsigned int nr_args;
};

struct script {
	struct script_step steps[SCRIPT_MAX_STEPS];
	unsigned int nr_steps;
};

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
		   "499 expect n1 role waiting-coordinator;"
		   "1000 expect n3 primary 1; 1000 expect n1 follows n3 1;"
		   "1000 expect n2 follows n3 1; 1000 write n3;"
		   "1100 expect n3 write ok; 1100 end" },
	/*  2 */ { "the primary crashes: 2 is elected at epoch 2 within "
		   "interval + timeout + ack + 4 D", 3, 3, 2, NEVER,
		   "0 start n1 n2 n3; 1000 crash n3;"
		   "1400 expect n2 follows n3 1; 1820 expect n2 primary 2;"
		   "1820 expect n1 follows n2 2;"
		   "1820 write n2; 1900 expect n2 write ok; 1900 end" },
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
	/*  6 */ { "the primary cut off with its own target: cannot write "
		   "either", 3, 3, 2, NEVER,
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
		   "3100 expect n1 write ok; 8000 expect n1 primary 1;"
		   "8000 end" },
	/*  9 */ { "no target reachable: nobody is ever writable",
		   3, 3, 2, NEVER,
		   "0 cut n1 n2 n3 / t0 t1 t2; 0 never n1; 0 never n2;"
		   "0 never n3; 0 start n1 n2 n3; 8000 expect n3 readonly;"
		   "8000 end" },
	/* 10 */ { "the targets hold newer epochs: refused, then above them",
		   3, 3, 2, NEVER,
		   "0 stored t0 5; 0 stored t1 5; 0 stored t2 7;"
		   "0 start n1 n2 n3; 600 expect n3 role candidate;"
		   "2000 expect n3 primary 8; 2000 expect n1 follows n3 8;"
		   "2000 end" },
	/* 11 */ { "late and duplicate messages of an old epoch change nothing",
		   3, 3, 2, NEVER,
		   "0 start n1 n2 n3; 1000 crash n3; 2500 expect n2 primary 2;"
		   "2600 late n1 HEARTBEAT n3 1; 2600 late n1 COORDINATOR n3 1;"
		   "2600 late n2 COORDINATOR n3 1;"
		   "2600 late n2 EPOCH_ACCEPT t0 1;"
		   "2600 late n2 EPOCH_REJECT t1 1; 2600 late n1 ACK n2 1;"
		   "2600 expect n1 follows n2 2; 2600 expect n2 primary 2;"
		   "2700 expect n2 primary 2; 2700 expect n1 follows n2 2;"
		   "2700 end" },
	/* 12 */ { "one node, one target, W = 1", 1, 1, 1, NEVER,
		   "0 start n1; 1000 expect n1 primary 1; 1000 write n1;"
		   "1100 expect n1 write ok; 1100 end" },
	/* 13 */ { "5 nodes: 5 and 4 cut off with 2 of 5 targets; 3 is "
		   "elected; never: 5 follows 3 after the heal", 5, 5, 3, NEVER,
		   "0 start n1 n2 n3 n4 n5;"
		   "1000 cut n4 n5 t3 t4 / n1 n2 n3 t0 t1 t2; 1000 never n4;"
		   "3000 expect n3 primary 2; 3000 expect n1 follows n3 2;"
		   "3000 write n5; 3200 expect n5 write notok; 3300 heal;"
		   "4000 expect n3 primary 2; 4000 expect n5 follows n3 2;"
		   "4000 expect n4 follows n3 2; 4000 end" },
	/* 14 */ { "... catchup: 5 takes over once caught up", 5, 5, 3, CATCHUP,
		   "0 start n1 n2 n3 n4 n5;"
		   "1000 cut n4 n5 t3 t4 / n1 n2 n3 t0 t1 t2; 1000 never n4;"
		   "3000 expect n3 primary 2; 3300 heal;"
		   "4000 expect n5 follows n3 2; 4100 caughtup n5;"
		   "4800 expect n5 primary 3; 4800 expect n3 follows n5 3;"
		   "4800 expect n4 follows n5 3; 4800 end" },
	/* 15 */ { "the primary restarts before anyone notices: new epoch",
		   3, 3, 2, NEVER,
		   "0 start n1 n2 n3; 1000 crash n3; 1200 restart n3;"
		   "2500 expect n3 primary 2; 2500 expect n1 follows n3 2;"
		   "2500 expect n2 follows n3 2; 2500 end" },
	/* 16 */ { "two of three targets down: nobody new is writable",
		   3, 3, 2, NEVER,
		   "0 tcrash t2; 0 start n1 n2 n3; 1000 expect n3 primary 1;"
		   "1000 tcrash t1; 1100 crash n3; 1100 never n1;"
		   "1100 never n2; 4000 expect n2 readonly;"
		   "4000 expect n1 readonly; 4000 end" },
	/* 17 */ { "... and when one returns, 2 is elected", 3, 3, 2, NEVER,
		   "0 tcrash t2; 0 start n1 n2 n3; 1000 tcrash t1;"
		   "1100 crash n3; 4000 expect n2 readonly; 4000 trestart t1;"
		   "5000 expect n2 primary; 5000 expect n1 follows n2;"
		   "5000 end" },
	/* 18 */ { "never: a smaller node's restart does not make a bigger "
		   "follower depose a live primary", 3, 3, 2, NEVER,
		   "0 start n1 n2 n3; 1000 crash n3; 3000 restart n3;"
		   "4000 expect n3 follows n2 2; 4000 crash n1; 4500 restart n1;"
		   "6000 expect n2 primary 2; 6000 expect n3 follows n2 2;"
		   "6000 expect n1 follows n2 2; 6000 end" },
	/*
	 * 19: the heal comes while n1 waits for ACKs to an ELECTION the cut
	 * dropped, before a heartbeat of n3 gets through. Proposing at once,
	 * as n1 did before it probed first, it deposed n3 (heals at 2930,
	 * 3000, 3500 and 4000 all did).
	 */
	/* 19 */ { "a node cut off alone with its target, healed while it "
		   "waits for ACKs: it never becomes writable, follows 3",
		   3, 3, 2, NEVER,
		   "0 start n1 n2 n3; 1000 expect n3 primary 1;"
		   "1000 cut n1 t0 / n2 n3 t1 t2; 1000 never n1;"
		   "3000 heal; 6000 expect n3 primary;"
		   "6000 expect n1 follows n3; 6000 end" },
	/*
	 * 20: issue 14's scenario 1. n2 is primary at epoch 1 with t0 and
	 * t1 (t2 down). A cut isolates n2 and t1; t0's store is replaced
	 * (epoch 0) and t2 comes back at 0; n1, starting, has seen no epoch
	 * and wins epoch 1 too with t0 and t2. After the heal each hears
	 * the other's heartbeat at its own epoch: both must step down at
	 * once, and the election after it must go above epoch 1. Before the
	 * conflict rule both ignored it and wrote on at epoch 1.
	 */
	/* 20 */ { "a replaced store lets two nodes win epoch 1: when they "
		   "hear each other both step down, then epoch 2",
		   2, 3, 2, NEVER,
		   "0 tcrash t2; 0 start n2; 1000 expect n2 primary 1;"
		   "1000 cut n2 t1 / n1 t0 t2; 1000 trestart t2; 1000 replace t0;"
		   "1000 start n1; 2000 expect n1 primary 1;"
		   "2000 expect n2 primary 1; 2000 write n1;"
		   "2100 expect n1 write ok; 2200 heal;"
		   "2400 expect n1 readonly; 2400 expect n2 readonly;"
		   "4000 expect n2 primary 2; 4000 expect n1 follows n2 2;"
		   "4000 write n2; 4100 expect n2 write ok; 4100 end" },
};

static int script_node(struct sim *s, const char *tok)
{
	int i = tok[0] == 'n' ? sim_node_index(s, (uint32_t)atoi(tok + 1)) : -1;

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
	sim_trace(s, TR_CHAOS, 0, 0, 4, sim_groups_packed(s), 0, 0);
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
	if (!s->failed && sim_connected(s, ev.src, ev.dst))
		sim_deliver(s, &ev);
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
		ok = qrep_election_role(&n->el) == QREP_EL_PRIMARY &&
		     n->writable && (st->nr_args < 3 ||
		     n->dev_epoch == strtoull(st->arg[2], NULL, 10));
	} else if (!strcmp(what, "follows") && st->nr_args >= 3) {
		ok = qrep_election_role(&n->el) == QREP_EL_FOLLOWER &&
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
			 "primary %u, epoch %" PRIu64 ", last write #%d",
			 st->at,
			 n->id, what, st->nr_args > 2 ? st->arg[2] : "",
			 st->nr_args > 3 ? st->arg[3] : "",
			 qrep_election_role_name(n->el.role),
			 n->writable ? " (writable)" : "",
			 qrep_election_primary(&n->el), n->el.epoch,
			 n->last_write - 1);
}

static void script_run_step(struct sim *s, unsigned int k)
{
	const struct script *sc = s->scenario_data;
	const struct script_step *st = &sc->steps[k];
	struct qrep_election_event in = { .type = QREP_EV_CAUGHT_UP };
	const char *op = st->op;
	unsigned int a;

	if (!strcmp(op, "expect")) {
		script_expect(s, st);
	} else if (!strcmp(op, "cut")) {
		script_cut(s, st);
	} else if (!strcmp(op, "heal")) {
		memset(s->group, 0, sizeof(s->group));
		sim_trace(s, TR_CHAOS, 0, 0, 4, 0, 0, 0);
	} else if (!strcmp(op, "late")) {
		script_late(s, st);
	} else if (!strcmp(op, "replace") && st->nr_args == 1) {
		s->targets[script_target(s, st->arg[0])].stored = 0;
		s->store_replaced = true;
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
				sim_node_start(s, script_node(s, x));
			else if (!strcmp(op, "crash"))
				sim_node_crash(s, script_node(s, x));
			else if (!strcmp(op, "caughtup"))
				sim_node_step(s, script_node(s, x), &in);
			else if (!strcmp(op, "write"))
				sim_node_write(s, script_node(s, x), true);
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

static void script_parse(struct sim *s, struct script *sc, const char *text)
{
	char buf[2048], *step_save, *step;

	snprintf(buf, sizeof(buf), "%s", text);
	sc->nr_steps = 0;
	for (step = strtok_r(buf, ";", &step_save); step;
	     step = strtok_r(NULL, ";", &step_save)) {
		struct script_step *st = &sc->steps[sc->nr_steps];
		char *save, *tok = strtok_r(step, " ", &save);

		if (!tok)
			continue;
		if (sc->nr_steps == SCRIPT_MAX_STEPS) {
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
		scenario_at(s, st->at, SCN_SCRIPT, sc->nr_steps++);
	}
}

static void scenario_script(struct sim *s, const struct sim_ev *ev)
{
	script_run_step(s, ev->arg);
}

static bool script_run(struct sim *s, unsigned int row, bool trace_all)
{
	const struct script_row *r = &script_rows[row];
	struct sim_params *p = &s->p;
	struct script sc;
	char label[16];
	unsigned int i;

	snprintf(label, sizeof(label), "row %u", row + 1);
	sim_reset(s, row + 1, label);
	s->trace_all = trace_all;
	s->scenario = scenario_script;
	s->scenario_data = &sc;
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
	sim_nodes_init(s);
	sim_weather(s, 0, 0, p->d_max);
	script_parse(s, &sc, r->script);
	sim_loop(s);
	if (s->failed) {
		printf("# row %u: %s\n", row + 1, r->what);
		sim_report(s);
	}
	return !s->failed;
}

TEST(scenarios)
{
	struct sim s = { 0 };
	unsigned int r, failed = 0, only = env_u64("QREP_SIM_ROW", 0);

	for (r = 0; r < ARRAY_SIZE(script_rows); r++)
		if (!only || only == r + 1)
			failed += !script_run(&s, r, only == r + 1);
	sim_free(&s);
	ksft_print_msg("%u scenario rows, %u failed\n", r, failed);
	fflush(stdout);
	ASSERT_EQ(0, failed);
}

/* Seeds that once failed, after the fix: each must pass. */
static const uint64_t regression_seeds[] = {
	/*
	 * A node crashes while its proposal of epoch 61 is in flight and,
	 * restarted, proposes 61 too; the targets accept some of each. The
	 * state machine was right (the restarted node counted only its own
	 * 4 accepts, by round); the simulation's bookkeeping was not.
	 */
	0x500000000001a26,
};

TEST(regressions)
{
	struct sim s = { 0 };
	size_t i, failed = 0;

	for (i = 0; i < ARRAY_SIZE(regression_seeds); i++)
		if (regression_seeds[i])
			failed += !sim_run(&s, regression_seeds[i], false);
	sim_free(&s);
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
		sim_free(&s);
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

