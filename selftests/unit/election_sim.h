/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The simulated cluster that test_election_sim.c drives the election core
 * in: nodes (an election state machine and a device each), targets (a
 * stored epoch each), a clock, a network, and the invariant checks. The
 * scenarios (what breaks when) are the test's; this is the world.
 */
#ifndef QREP_ELECTION_SIM_H
#define QREP_ELECTION_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "election.h"

#define MAXN		QREP_ELECTION_MAX_NODES
#define MAXT		QREP_ELECTION_MAX_TARGETS
/* Endpoints: node indexes 0..7, targets 8..15. */
#define TGT(t)		(MAXN + (t))
#define NR_EP		(MAXN + MAXT)
#define NR_GROUPS	4
#define TRACE_RING	128
#define TRACE_TAIL	80
#define MAX_EPOCH	(1u << 20)

/* The PRNG, one per run: splitmix64. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint32_t rng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((rng_next(s) >> 32) * n) >> 32);
}

static inline uint32_t rng_range(uint64_t *s, uint32_t lo, uint32_t hi)
{
	return lo + rng_below(s, hi - lo + 1);
}

static inline bool rng_pm(uint64_t *s, uint32_t per_mille)
{
	return rng_below(s, 1000) < per_mille;
}

struct sim_params {
	unsigned int nr_nodes, nr_targets, w;
	enum qrep_failback failback;
	uint32_t hi, ht, at, ct, qt;	/* the election's timeouts */
	uint32_t d_max;			/* delay bound when stable */
	uint32_t write_every;		/* the kernel writes this often */
	uint32_t caught_up_max;		/* CATCHUP: resync time bound */
	unsigned int cycles;		/* unstable + stable periods */
	uint32_t chaos_min, chaos_max;	/* length of an unstable period */
	uint32_t loss_max, dup_max;	/* per mille, unstable */
	uint32_t chaos_d_max;		/* delay bound, unstable */
	bool crashes, target_crashes, cuts, fixed_groups;
	bool oneway;			/* one-way cuts too */
	bool hetero;			/* each node its own timeouts, up to
					 * the ones above */
	bool start_hint;		/* START may know a store's epoch */
	bool auto_caught_up;		/* CATCHUP: resync on its own */
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
	SK_SCENARIO,	/* the scenario's: sim->scenario() handles it */
};

struct sim_ev {
	uint64_t at, seq;
	uint8_t kind, src, dst;		/* endpoints, or node indexes */
	uint32_t inc;			/* the sender's (owner's) run */
	uint32_t arg;			/* write index; the scenario's */
	struct qrep_election_msg msg;
};

struct sim_node {
	uint32_t id;
	bool alive;
	uint32_t inc;			/* +1 at each crash */
	struct qrep_election el;
	uint64_t tick_at;		/* the TICK in the queue; 0: none */
	bool writable;			/* the device, set by actions */
	uint64_t dev_epoch;
	uint64_t mon_epoch, mon_seen;	/* (b) */
	uint64_t cu_epoch;		/* CAUGHT_UP due for this epoch */
	int last_write;			/* scripts: write # + 1; -1 */
	bool never;			/* scripts: must not be writable */
};

struct sim_target {
	bool alive;
	uint64_t stored;
};

/* What the targets did with one epoch. */
struct sim_epoch {
	/* A target accepts an epoch once: from whom (node index + 1, run). */
	uint8_t by_node[MAXT];
	uint32_t by_inc[MAXT];
	uint64_t accept_step[MAXT];	/* when target t accepted it, +1 */
	uint8_t writable;		/* node index + 1 writable in it */
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


struct sim {
	struct sim_params p;
	uint64_t seed, rng, now, seq, step;
	const char *label;		/* the scenario, for reports */
	bool replayable;		/* by QREP_SIM_SEED */
	bool trace_all;
	void (*scenario)(struct sim *s, const struct sim_ev *ev);
	void *scenario_data;
	struct sim_node nodes[MAXN];
	struct sim_target targets[MAXT];
	uint8_t group[NR_EP];		/* talk only within a group */
	uint16_t oneway[NR_EP];		/* nor src -> these dst bits */
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
	/*
	 * A script replaced a target's store by a new one at epoch 0, which
	 * breaks what (a) rests on (a target accepts an epoch once): two
	 * nodes writable in one epoch is then traced, not failed, and (f)
	 * says what must still hold.
	 */
	bool store_replaced;
	/* the verdict */
	bool failed;
	char why[512];
};

void sim_fail(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sim_reset(struct sim *s, uint64_t seed, const char *label);
/* After p and the node ids are set: every node DOWN, targets alive. */
void sim_nodes_init(struct sim *s);
void sim_free(struct sim *s);
void sim_loop(struct sim *s);
void sim_report(const struct sim *s);
void sim_params_print(const struct sim *s);
const char *sim_failback_name(enum qrep_failback f);

void sim_ev_push(struct sim *s, struct sim_ev ev);
void sim_ev_at(struct sim *s, uint64_t at, enum sim_kind kind, uint8_t dst,
	       uint32_t inc, uint32_t arg);
void sim_trace(struct sim *s, uint8_t what, uint8_t a, uint8_t b, uint8_t c,
	       uint32_t x, uint64_t e1, uint64_t e2);

int sim_node_index(const struct sim *s, uint32_t id);
void sim_node_start(struct sim *s, unsigned int i);
void sim_node_crash(struct sim *s, unsigned int i);
void sim_node_step(struct sim *s, unsigned int i,
		   const struct qrep_election_event *ev);
/* The kernel writes through the targets (script: remember it). */
void sim_node_write(struct sim *s, unsigned int i, bool script);

bool sim_connected(const struct sim *s, uint8_t a, uint8_t b);
void sim_deliver(struct sim *s, const struct sim_ev *ev);
void sim_weather(struct sim *s, uint32_t loss, uint32_t dup, uint32_t d_max);
uint32_t sim_groups_packed(const struct sim *s);
int sim_majority_group(const struct sim *s);
uint64_t sim_liveness_bound(const struct sim_params *p);

#endif /* QREP_ELECTION_SIM_H */
