// SPDX-License-Identifier: GPL-2.0
/*
 * The election rules. Each role has one timer (deadline_ms):
 *
 *   role                 timer fires after        then
 *   FOLLOWER             heartbeat timeout        primary failed: election
 *   CANDIDATE            ack timeout (*)          no ACK: declare itself,
 *                                                 propose a new epoch (or,
 *                                                 cut off, probe first)
 *   WAITING_COORDINATOR  coordinator timeout      restart the election
 *   PRIMARY_PENDING      quorum timeout           restart the election
 *   PROBING              quorum timeout           restart the election
 *   PRIMARY              heartbeat interval       send HEARTBEAT to all
 *
 *   (*) max(ack timeout, heartbeat timeout) when the election was started
 *   by a start, a demotion or a probe that W targets answered: time to
 *   hear a live primary first.
 *
 * The bully rules, as the seed gives them:
 *   - an election starts when a node starts (recovers) or its primary
 *     fails (heartbeat timeout);
 *   - it sends ELECTION to every bigger id; any ACK: give up and wait for
 *     COORDINATOR, restarting if none comes; no ACK: declare itself;
 *   - on ELECTION from a smaller node: ACK, and start an election unless
 *     one is in progress.
 * Around them:
 *   - a declared winner is writable only once W targets accepted its new
 *     epoch, 1 + the largest it has seen; only then does it announce
 *     COORDINATOR and send heartbeats;
 *   - a live writable primary is the answer to an election: it replies
 *     COORDINATOR to ELECTION, its heartbeat ends a wait for COORDINATOR,
 *     and a node that follows it does not start an election of its own on
 *     ELECTION (failback policy; CATCHUP lets a caught-up bigger node take
 *     over);
 *   - a primary that learns of a newer epoch than its own (COORDINATOR,
 *     HEARTBEAT, a node's message, a target's refusal) demotes itself;
 *   - a primary that hears another node claim its own epoch (COORDINATOR,
 *     HEARTBEAT) demotes itself too: two primaries of one epoch mean a
 *     store voted twice, and neither may go on writing; it tells the
 *     other, follows neither that epoch again, and runs an election,
 *     which proposes above it;
 *   - a node whose proposal reached fewer than W targets is cut off, or
 *     may be: it proposes again only after W targets answered a probe (a
 *     hello that claims no epoch) and a heartbeat timeout passed with no
 *     primary heard. Its ELECTIONs may have been lost in the cut, and a
 *     proposal made just as the cut heals would otherwise depose a live
 *     primary it has not heard yet. It also stops raising its own
 *     target's epoch once per election while it is alone.
 */
#include <errno.h>
#include <string.h>

#include "election.h"

static unsigned int popcount(uint32_t mask)
{
	return (unsigned int)__builtin_popcount(mask);
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Messages */

static void send_msg(struct qrep_election_actions *out,
		     enum qrep_election_dest dest, uint32_t to,
		     const struct qrep_election_msg *msg)
{
	struct qrep_election_send *s;

	if (out->nr_sends == QREP_ELECTION_MAX_SENDS) {
		out->sends_overflowed = true;
		return;
	}
	s = &out->sends[out->nr_sends++];
	s->dest = dest;
	s->to = to;
	s->msg = *msg;
}

static void send_node(const struct qrep_election *e,
		      struct qrep_election_actions *out, uint32_t to,
		      enum qrep_election_msg_type type, uint32_t round)
{
	struct qrep_election_msg m = {
		.type = type,
		.from = e->cfg.self,
		.round = round,
		.epoch = e->epoch,
		.seen_epoch = e->seen_epoch,
	};

	send_msg(out, QREP_DEST_NODE, to, &m);
}

static void send_others(const struct qrep_election *e,
			struct qrep_election_actions *out,
			enum qrep_election_msg_type type)
{
	unsigned int i;

	for (i = 0; i < e->cfg.nr_nodes; i++)
		if (e->cfg.nodes[i] != e->cfg.self)
			send_node(e, out, e->cfg.nodes[i], type, 0);
}

/* Roles */

static void set_role(struct qrep_election *e, struct qrep_election_actions *out,
		     enum qrep_election_role role, uint64_t timeout_ms)
{
	if (role != e->role)
		out->role_changed = true;
	e->role = role;
	e->deadline_ms = e->now_ms + timeout_ms;
}

static void learn_seen(struct qrep_election *e, uint64_t epoch)
{
	e->seen_epoch = max_u64(e->seen_epoch, epoch);
}

/* The only way out of PRIMARY: the device refuses I/O before anything else. */
static void demote(struct qrep_election *e, struct qrep_election_actions *out,
		   enum qrep_demote_reason reason, uint64_t epoch,
		   uint32_t from)
{
	out->device = QREP_DEVICE_READONLY;
	out->reason = reason;
	out->reason_epoch = epoch;
	out->reason_from = from;
	e->primary = 0;
}

static void election_start(struct qrep_election *e,
			   struct qrep_election_actions *out, bool listen)
{
	const struct qrep_election_config *c = &e->cfg;
	uint32_t wait = c->ack_timeout_ms;
	unsigned int i;

	if (listen && c->heartbeat_timeout_ms > wait)
		wait = c->heartbeat_timeout_ms;
	e->round++;
	e->primary = 0;
	for (i = 0; i < c->nr_nodes; i++)
		if (c->nodes[i] > c->self)
			send_node(e, out, c->nodes[i], QREP_MSG_ELECTION,
				  e->round);
	set_role(e, out, QREP_EL_CANDIDATE, wait);
}

/*
 * A proposal's time is up without W acceptances. Fewer than W answers at
 * all, refusals included: the targets are out of reach, likely this node
 * with them (see cut_off).
 */
static void proposal_ended(struct qrep_election *e)
{
	if (popcount(e->accepted | e->rejected) < e->cfg.write_quorum)
		e->cut_off = true;
}

/*
 * A new round of questions to every target (a proposal of @epoch, or a
 * probe), its answers counted from nothing, in @role until they are in.
 */
static void targets_ask(struct qrep_election *e,
			struct qrep_election_actions *out,
			enum qrep_election_msg_type type, uint64_t epoch,
			enum qrep_election_role role)
{
	struct qrep_election_msg m = {
		.type = type,
		.from = e->cfg.self,
		.round = ++e->round,
		.epoch = epoch,
		.seen_epoch = e->seen_epoch,
	};
	unsigned int t;

	e->accepted = 0;
	e->rejected = 0;
	for (t = 0; t < e->cfg.nr_targets; t++)
		send_msg(out, QREP_DEST_TARGET, t, &m);
	set_role(e, out, role, e->cfg.quorum_timeout_ms);
}

/* Cut off: ask every target for its epoch, changing none of them. */
static void probe_start(struct qrep_election *e,
			struct qrep_election_actions *out)
{
	targets_ask(e, out, QREP_MSG_TARGET_PROBE, 0, QREP_EL_PROBING);
}

/* No bigger node answered: declare itself, and fence every older epoch. */
static void proposal_start(struct qrep_election *e,
			   struct qrep_election_actions *out)
{
	e->proposal_epoch = e->seen_epoch + 1;
	e->seen_epoch = e->proposal_epoch;
	targets_ask(e, out, QREP_MSG_EPOCH_PROPOSE, e->proposal_epoch,
		    QREP_EL_PRIMARY_PENDING);
}

static void become_primary(struct qrep_election *e,
			   struct qrep_election_actions *out)
{
	e->epoch = e->proposal_epoch;
	e->primary = e->cfg.self;
	out->device = QREP_DEVICE_WRITABLE;
	out->device_epoch = e->epoch;
	send_others(e, out, QREP_MSG_COORDINATOR);
	set_role(e, out, QREP_EL_PRIMARY, e->cfg.heartbeat_interval_ms);
}

/*
 * CATCHUP: a node bigger than the primary of epoch pe takes over once it
 * has caught up with that primary (not with an earlier one).
 */
static bool takeover_wanted(const struct qrep_election *e, uint32_t primary,
			    uint64_t pe)
{
	return e->cfg.failback == QREP_FAILBACK_CATCHUP &&
	       e->caught_up_epoch == pe && e->cfg.self > primary;
}

/*
 * At most one takeover election per coordinator timeout: while a bigger
 * node that is not caught up yet keeps answering, the smaller one retries
 * that often instead of in a loop.
 */
static void takeover_maybe(struct qrep_election *e,
			   struct qrep_election_actions *out)
{
	if (e->role != QREP_EL_FOLLOWER ||
	    !takeover_wanted(e, e->primary, e->epoch) ||
	    e->now_ms < e->takeover_after_ms)
		return;
	e->takeover_after_ms = e->now_ms + e->cfg.coordinator_timeout_ms;
	election_start(e, out, false);
}

static void become_follower(struct qrep_election *e,
			    struct qrep_election_actions *out, uint32_t primary,
			    uint64_t epoch)
{
	e->primary = primary;
	e->epoch = epoch;
	e->cut_off = false;	/* a primary's datagrams reach us */
	learn_seen(e, epoch);
	set_role(e, out, QREP_EL_FOLLOWER, e->cfg.heartbeat_timeout_ms);
	takeover_maybe(e, out);
}

/* Timers: one per role, see the table at the top. */

static void timer_expired(struct qrep_election *e,
			  struct qrep_election_actions *out)
{
	switch (e->role) {
	case QREP_EL_PRIMARY_PENDING:
		proposal_ended(e);
		election_start(e, out, false);
		break;
	case QREP_EL_FOLLOWER:
	case QREP_EL_WAITING_COORDINATOR:
	case QREP_EL_PROBING:
		election_start(e, out, false);
		break;
	case QREP_EL_CANDIDATE:
		if (e->cut_off)
			probe_start(e, out);
		else
			proposal_start(e, out);
		break;
	case QREP_EL_PRIMARY:
		send_others(e, out, QREP_MSG_HEARTBEAT);
		set_role(e, out, QREP_EL_PRIMARY,
			 e->cfg.heartbeat_interval_ms);
		break;
	case QREP_EL_DOWN:
		break;
	}
}

/* Events */

static void on_start(struct qrep_election *e, struct qrep_election_actions *out,
		     const struct qrep_election_event *ev)
{
	struct qrep_election_config cfg = e->cfg;
	uint64_t now = e->now_ms;

	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	e->now_ms = now;
	e->seen_epoch = ev->epoch;
	e->round = ev->nonce;
	/* The kernel may still be writable from before: not any more. */
	out->device = QREP_DEVICE_READONLY;
	out->reason = QREP_DEMOTE_START;
	election_start(e, out, true);
}

/*
 * ELECTION and ACK carry the newest epoch their sender knows a primary was
 * made in. A bigger one than ours means our primary (or we) were
 * superseded. Returns true if an election was started.
 */
static bool superseded_check(struct qrep_election *e,
			     struct qrep_election_actions *out,
			     const struct qrep_election_msg *m)
{
	if (m->epoch <= e->epoch)
		return false;
	e->epoch = m->epoch;
	learn_seen(e, m->epoch);
	switch (e->role) {
	case QREP_EL_PRIMARY:
		demote(e, out, QREP_DEMOTE_ELECTION, m->epoch, m->from);
		election_start(e, out, true);
		return true;
	case QREP_EL_FOLLOWER:
		election_start(e, out, false);
		return true;
	default:
		return false;
	}
}

static void on_election(struct qrep_election *e,
			struct qrep_election_actions *out,
			const struct qrep_election_msg *m)
{
	if (m->from >= e->cfg.self)
		return;		/* ELECTION goes to bigger ids only */
	send_node(e, out, m->from, QREP_MSG_ACK, m->round);
	if (superseded_check(e, out, m))
		return;
	switch (e->role) {
	case QREP_EL_FOLLOWER:
		/*
		 * A live primary answers this election (its heartbeats reach
		 * the sender); start one only if the primary itself asks.
		 */
		if (m->from == e->primary)
			election_start(e, out, false);
		break;
	case QREP_EL_PRIMARY:
		send_node(e, out, m->from, QREP_MSG_COORDINATOR, 0);
		break;
	default:
		break;		/* an election is in progress */
	}
}

static void on_ack(struct qrep_election *e, struct qrep_election_actions *out,
		   const struct qrep_election_msg *m)
{
	if (superseded_check(e, out, m))
		return;
	if (e->role == QREP_EL_CANDIDATE && m->round == e->round &&
	    m->from > e->cfg.self)
		set_role(e, out, QREP_EL_WAITING_COORDINATOR,
			 e->cfg.coordinator_timeout_ms);
}

/*
 * Another node claims to be primary in our own epoch. The epoch quorum
 * makes that impossible while every target keeps its epoch, so a target
 * voted for this epoch twice: its store was replaced or restored from an
 * old copy, and it answered at epoch 0 (Documentation/election.rst,
 * "Two primaries in one epoch"). Both primaries have written at this
 * epoch, and neither knows the other's writes: both must stop. This one
 * tells the other first (its heartbeats stop now, so the other might
 * never hear one), then demotes, and runs an election, listening first.
 * That election proposes above every epoch seen, so above this one; its
 * quorum fences whichever primary is still writing. Until then a primary
 * of this epoch is not followed (see on_primary_heard()).
 */
static void primary_conflict(struct qrep_election *e,
			     struct qrep_election_actions *out,
			     const struct qrep_election_msg *m)
{
	send_node(e, out, m->from, QREP_MSG_COORDINATOR, 0);
	demote(e, out, QREP_DEMOTE_CONFLICT, m->epoch, m->from);
	e->conflict_epoch = e->epoch;
	election_start(e, out, true);
}

/* COORDINATOR and HEARTBEAT: m->from is a writable primary at m->epoch. */
static void on_primary_heard(struct qrep_election *e,
			     struct qrep_election_actions *out,
			     const struct qrep_election_msg *m)
{
	uint32_t p = m->from;
	uint64_t pe = m->epoch;

	if (p == e->cfg.self)
		return;
	if (pe < e->epoch) {
		/* A deposed primary that has not heard: tell it. */
		if (e->role == QREP_EL_PRIMARY)
			send_node(e, out, p, QREP_MSG_COORDINATOR, 0);
		return;
	}
	if (e->conflict_epoch && pe <= e->conflict_epoch) {
		/*
		 * A primary of the epoch we stepped down in (pe == our
		 * epoch) still sends heartbeats: it did not hear us. Tell it
		 * again; only a heartbeat, which only a primary's timer
		 * sends, so two demoted nodes never answer each other.
		 */
		if (m->type == QREP_MSG_HEARTBEAT)
			send_node(e, out, p, QREP_MSG_COORDINATOR, 0);
		return;
	}
	switch (e->role) {
	case QREP_EL_FOLLOWER:
	case QREP_EL_WAITING_COORDINATOR:
	case QREP_EL_PROBING:
		become_follower(e, out, p, pe);
		break;
	case QREP_EL_CANDIDATE:
		if (takeover_wanted(e, p, pe))
			e->epoch = pe;	/* keep campaigning */
		else
			become_follower(e, out, p, pe);
		break;
	case QREP_EL_PRIMARY_PENDING:
		/* Our proposal is older, or the bully order says p. */
		if (pe >= e->proposal_epoch || p > e->cfg.self)
			become_follower(e, out, p, pe);
		else
			e->epoch = pe;
		break;
	case QREP_EL_PRIMARY:
		if (pe == e->epoch) {
			primary_conflict(e, out, m);
			break;
		}
		demote(e, out, m->type == QREP_MSG_COORDINATOR ?
		       QREP_DEMOTE_COORDINATOR : QREP_DEMOTE_HEARTBEAT, pe, p);
		become_follower(e, out, p, pe);
		break;
	case QREP_EL_DOWN:
		break;
	}
}

static bool proposal_reply_matches(const struct qrep_election *e,
				   const struct qrep_election_msg *m)
{
	return e->role == QREP_EL_PRIMARY_PENDING &&
	       m->from < e->cfg.nr_targets && m->round == e->round &&
	       m->epoch == e->proposal_epoch;
}

static void on_epoch_accept(struct qrep_election *e,
			    struct qrep_election_actions *out,
			    const struct qrep_election_msg *m)
{
	uint32_t bit;

	if (!proposal_reply_matches(e, m))
		return;
	bit = 1u << m->from;
	e->accepted |= bit;
	e->rejected &= ~bit;	/* a duplicate's refusal came first */
	if (popcount(e->accepted) >= e->cfg.write_quorum)
		become_primary(e, out);
}

/*
 * W targets answered the probe: reachable again. Listen a heartbeat
 * timeout for a live primary before proposing (election_start's listen).
 */
static void on_probe_answer(struct qrep_election *e,
			    struct qrep_election_actions *out,
			    const struct qrep_election_msg *m)
{
	if (m->from >= e->cfg.nr_targets || m->round != e->round || m->epoch)
		return;
	e->rejected |= 1u << m->from;
	if (popcount(e->rejected) < e->cfg.write_quorum)
		return;
	e->cut_off = false;
	election_start(e, out, true);
}

static void on_epoch_reject(struct qrep_election *e,
			    struct qrep_election_actions *out,
			    const struct qrep_election_msg *m)
{
	uint32_t bit;

	learn_seen(e, m->seen_epoch);
	if (e->role == QREP_EL_PRIMARY && m->seen_epoch > e->epoch) {
		demote(e, out, QREP_DEMOTE_TARGET_REJECT, m->seen_epoch,
		       m->from);
		election_start(e, out, true);
		return;
	}
	if (e->role == QREP_EL_PROBING) {
		on_probe_answer(e, out, m);
		return;
	}
	if (!proposal_reply_matches(e, m))
		return;
	/*
	 * A target holds a newer epoch: it would refuse our writes, and
	 * becoming writable would only get us fenced. Start over above it.
	 */
	if (m->seen_epoch > e->proposal_epoch) {
		election_start(e, out, false);
		return;
	}
	bit = 1u << m->from;
	if (e->accepted & bit)
		return;
	e->rejected |= bit;
	if (popcount(e->rejected) > e->cfg.nr_targets - e->cfg.write_quorum)
		election_start(e, out, false);	/* W is out of reach */
}

static void on_msg(struct qrep_election *e, struct qrep_election_actions *out,
		   const struct qrep_election_msg *m)
{
	switch (m->type) {
	case QREP_MSG_EPOCH_ACCEPT:
		on_epoch_accept(e, out, m);
		return;
	case QREP_MSG_EPOCH_REJECT:
		on_epoch_reject(e, out, m);
		return;
	case QREP_MSG_EPOCH_PROPOSE:
	case QREP_MSG_TARGET_PROBE:
		return;		/* for targets */
	default:
		break;
	}
	learn_seen(e, max_u64(m->epoch, m->seen_epoch));
	switch (m->type) {
	case QREP_MSG_ELECTION:
		on_election(e, out, m);
		break;
	case QREP_MSG_ACK:
		on_ack(e, out, m);
		break;
	case QREP_MSG_COORDINATOR:
	case QREP_MSG_HEARTBEAT:
		on_primary_heard(e, out, m);
		break;
	default:
		break;
	}
}

/* Only a follower syncs from a primary; in other roles this is stale. */
static void on_caught_up(struct qrep_election *e,
			 struct qrep_election_actions *out)
{
	if (e->role != QREP_EL_FOLLOWER)
		return;
	e->caught_up_epoch = e->epoch;
	takeover_maybe(e, out);
}

static void on_fenced(struct qrep_election *e,
		      struct qrep_election_actions *out, uint64_t epoch)
{
	learn_seen(e, epoch);
	if (e->role == QREP_EL_PRIMARY && epoch > e->epoch) {
		demote(e, out, QREP_DEMOTE_FENCED, epoch, 0);
		election_start(e, out, true);
	}
}

void qrep_election_step(struct qrep_election *e, uint64_t now_ms,
			const struct qrep_election_event *ev,
			struct qrep_election_actions *out)
{
	out->nr_sends = 0;
	out->sends_overflowed = false;
	out->device = QREP_DEVICE_UNCHANGED;
	out->device_epoch = 0;
	out->reason = QREP_DEMOTE_NONE;
	out->reason_epoch = 0;
	out->reason_from = 0;
	out->role_changed = false;

	if (now_ms > e->now_ms)
		e->now_ms = now_ms;	/* a clock going back is ignored */
	if (ev->type == QREP_EV_START)
		on_start(e, out, ev);
	else if (e->role != QREP_EL_DOWN) {
		/* A due timer first: it happened before this event. */
		if (e->now_ms >= e->deadline_ms)
			timer_expired(e, out);
		switch (ev->type) {
		case QREP_EV_MSG:
			on_msg(e, out, &ev->msg);
			break;
		case QREP_EV_CAUGHT_UP:
			on_caught_up(e, out);
			break;
		case QREP_EV_FENCED:
			on_fenced(e, out, ev->epoch);
			break;
		default:
			break;
		}
	}
	out->next_deadline_ms = e->role == QREP_EL_DOWN ? 0 : e->deadline_ms;
}

/* Set-up and accessors */

void qrep_election_config_default(struct qrep_election_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->failback = QREP_FAILBACK_NEVER;
	cfg->heartbeat_interval_ms = QREP_ELECTION_HEARTBEAT_INTERVAL_MS;
	cfg->heartbeat_timeout_ms = QREP_ELECTION_HEARTBEAT_TIMEOUT_MS;
	cfg->ack_timeout_ms = QREP_ELECTION_ACK_TIMEOUT_MS;
	cfg->coordinator_timeout_ms = QREP_ELECTION_COORDINATOR_TIMEOUT_MS;
	cfg->quorum_timeout_ms = QREP_ELECTION_QUORUM_TIMEOUT_MS;
}

const char *qrep_election_config_check(const struct qrep_election_config *c)
{
	unsigned int i, k;
	bool self_found = false;

	if (c->nr_nodes < 1 || c->nr_nodes > QREP_ELECTION_MAX_NODES)
		return "between 1 and 8 nodes";
	for (i = 0; i < c->nr_nodes; i++) {
		if (c->nodes[i] == 0)
			return "node id 0 is reserved";
		for (k = 0; k < i; k++)
			if (c->nodes[k] == c->nodes[i])
				return "node ids must differ";
		self_found |= c->nodes[i] == c->self;
	}
	if (!self_found)
		return "this node's id is not among the nodes";
	if (c->nr_targets < 1 || c->nr_targets > QREP_ELECTION_MAX_TARGETS)
		return "between 1 and 8 targets";
	if (2 * c->write_quorum <= c->nr_targets ||
	    c->write_quorum > c->nr_targets)
		return "the write quorum W needs 2W > targets and W <= targets";
	if (c->failback != QREP_FAILBACK_NEVER &&
	    c->failback != QREP_FAILBACK_CATCHUP)
		return "failback is never or catchup";
	if (!c->heartbeat_interval_ms || !c->ack_timeout_ms ||
	    !c->coordinator_timeout_ms || !c->quorum_timeout_ms)
		return "timeouts must not be 0";
	if (c->heartbeat_timeout_ms <= c->heartbeat_interval_ms)
		return "heartbeat timeout must exceed the heartbeat interval";
	return NULL;
}

int qrep_election_init(struct qrep_election *e,
		       const struct qrep_election_config *cfg)
{
	struct qrep_election_config c;

	if (qrep_election_config_check(cfg))
		return -EINVAL;
	c = *cfg;	/* cfg may be e's own */
	memset(e, 0, sizeof(*e));
	e->cfg = c;
	e->role = QREP_EL_DOWN;
	return 0;
}

enum qrep_election_role qrep_election_role(const struct qrep_election *e)
{
	return e->role;
}

uint32_t qrep_election_primary(const struct qrep_election *e)
{
	if (e->role == QREP_EL_FOLLOWER || e->role == QREP_EL_PRIMARY)
		return e->primary;
	return 0;
}

uint64_t qrep_election_epoch(const struct qrep_election *e)
{
	return e->epoch;
}

uint64_t qrep_election_seen_epoch(const struct qrep_election *e)
{
	return e->seen_epoch;
}

const char *qrep_election_role_name(enum qrep_election_role role)
{
	static const char *const names[] = {
		[QREP_EL_DOWN] = "down",
		[QREP_EL_FOLLOWER] = "follower",
		[QREP_EL_CANDIDATE] = "candidate",
		[QREP_EL_WAITING_COORDINATOR] = "waiting-coordinator",
		[QREP_EL_PRIMARY_PENDING] = "primary-pending",
		[QREP_EL_PRIMARY] = "primary",
		[QREP_EL_PROBING] = "probing",
	};

	if ((unsigned int)role < sizeof(names) / sizeof(names[0]))
		return names[role];
	return "?";
}

const char *qrep_election_msg_name(enum qrep_election_msg_type type)
{
	static const char *const names[] = {
		[QREP_MSG_ELECTION] = "ELECTION",
		[QREP_MSG_ACK] = "ACK",
		[QREP_MSG_COORDINATOR] = "COORDINATOR",
		[QREP_MSG_HEARTBEAT] = "HEARTBEAT",
		[QREP_MSG_EPOCH_PROPOSE] = "EPOCH_PROPOSE",
		[QREP_MSG_EPOCH_ACCEPT] = "EPOCH_ACCEPT",
		[QREP_MSG_EPOCH_REJECT] = "EPOCH_REJECT",
		[QREP_MSG_TARGET_PROBE] = "TARGET_PROBE",
	};

	if ((unsigned int)type < sizeof(names) / sizeof(names[0]) &&
	    names[type])
		return names[type];
	return "?";
}

const char *qrep_election_reason_name(enum qrep_demote_reason reason)
{
	static const char *const names[] = {
		[QREP_DEMOTE_NONE] = "none",
		[QREP_DEMOTE_START] = "start",
		[QREP_DEMOTE_COORDINATOR] = "a newer primary's COORDINATOR",
		[QREP_DEMOTE_HEARTBEAT] = "a newer primary's HEARTBEAT",
		[QREP_DEMOTE_ELECTION] = "a node knows a newer primary",
		[QREP_DEMOTE_TARGET_REJECT] = "a target holds a newer epoch",
		[QREP_DEMOTE_FENCED] = "a target fenced the device",
		[QREP_DEMOTE_CONFLICT] = "another primary at its own epoch",
	};

	if ((unsigned int)reason < sizeof(names) / sizeof(names[0]))
		return names[reason];
	return "?";
}
