/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The election core of qrepd: the bully algorithm, plus the epoch quorum
 * that makes a winner writable, as a pure state machine.
 *
 * It owns no socket, clock, timer, thread or netlink handle and allocates
 * nothing. The daemon (or the simulation in selftests/unit) feeds it one
 * event at a time with the current time, and carries out the actions it
 * returns:
 *
 *	struct qrep_election_actions out;
 *
 *	qrep_election_step(&el, now_ms, &event, &out);
 *	for (i = 0; i < out.nr_sends; i++)
 *		send out.sends[i].msg to node out.sends[i].to (a node id) or
 *		to target out.sends[i].to (an index), as .dest says;
 *	if (out.device == QREP_DEVICE_WRITABLE)
 *		make the device writable, stamping out.device_epoch;
 *	if (out.device == QREP_DEVICE_READONLY)
 *		make it refuse I/O now, and log out.reason;
 *	feed QREP_EV_TICK at out.next_deadline_ms (or earlier: harmless).
 *
 * Documentation/election.rst explains the algorithm, the safety argument
 * and every timeout.
 */
#ifndef QREP_ELECTION_H
#define QREP_ELECTION_H

#include <stdbool.h>
#include <stdint.h>

#define QREP_ELECTION_MAX_NODES		8
#define QREP_ELECTION_MAX_TARGETS	8
/* One step sends at most a broadcast, a proposal round and two replies. */
#define QREP_ELECTION_MAX_SENDS		32

/*
 * Default timeouts in milliseconds. Safety never depends on them; the
 * liveness conditions they must meet (D = the largest one-way message
 * delay) are in Documentation/election.rst:
 *
 * heartbeat interval    a writable primary sends HEARTBEAT to every node
 *                       this often.
 * heartbeat timeout     a follower that hears nothing from its primary for
 *                       this long declares it failed and starts an
 *                       election. Needs > interval + D. A starting (or
 *                       demoted) node also listens this long for a live
 *                       primary before it may declare itself.
 * ack timeout           a candidate that gets no ACK from a bigger node
 *                       within this declares itself primary. Needs > 2D.
 * coordinator timeout   a candidate that got an ACK restarts its election
 *                       if no COORDINATOR (or heartbeat) comes within this.
 * quorum timeout        a declared winner that has not had its new epoch
 *                       accepted by W targets within this gives up and
 *                       starts a new election. Needs > 2D.
 */
#define QREP_ELECTION_HEARTBEAT_INTERVAL_MS	250
#define QREP_ELECTION_HEARTBEAT_TIMEOUT_MS	1500
#define QREP_ELECTION_ACK_TIMEOUT_MS		500
#define QREP_ELECTION_COORDINATOR_TIMEOUT_MS	3000
#define QREP_ELECTION_QUORUM_TIMEOUT_MS		1000

/*
 * What a recovered node bigger than a live writable primary does.
 * NEVER: it follows that primary; the bully order applies again at the
 * next election. CATCHUP: it follows until the daemon feeds
 * QREP_EV_CAUGHT_UP (its replica is up to date), then runs an election,
 * which it wins.
 */
enum qrep_failback {
	QREP_FAILBACK_NEVER,
	QREP_FAILBACK_CATCHUP,
};

struct qrep_election_config {
	uint32_t self;			/* this node's id, not 0 */
	uint32_t nodes[QREP_ELECTION_MAX_NODES];	/* all ids, self too */
	unsigned int nr_nodes;
	unsigned int nr_targets;		/* targets 0..nr_targets-1 */
	unsigned int write_quorum;		/* W, 2W > nr_targets */
	enum qrep_failback failback;
	uint32_t heartbeat_interval_ms;
	uint32_t heartbeat_timeout_ms;
	uint32_t ack_timeout_ms;
	uint32_t coordinator_timeout_ms;
	uint32_t quorum_timeout_ms;
};

/*
 * QREP_EL_*, not QREP_ROLE_*: the device's role (enum qrep_role of
 * <linux/qrep.h>, primary or secondary) is another, coarser thing, and
 * qrepd uses both.
 */
enum qrep_election_role {
	QREP_EL_DOWN,			/* not started */
	QREP_EL_FOLLOWER,		/* follows a live primary */
	QREP_EL_CANDIDATE,		/* sent ELECTION, waits for ACKs */
	QREP_EL_WAITING_COORDINATOR,	/* ACKed: waits for the winner */
	QREP_EL_PRIMARY_PENDING,	/* won, collects EPOCH_ACCEPTs */
	QREP_EL_PRIMARY,		/* writable */
	QREP_EL_PROBING,		/* its last proposal reached fewer than
					 * W targets: asks them for their
					 * epochs, claiming none */
};

enum qrep_election_msg_type {
	QREP_MSG_ELECTION = 1,	/* node -> bigger nodes */
	QREP_MSG_ACK,		/* node -> the candidate */
	QREP_MSG_COORDINATOR,	/* new (or established) primary -> nodes */
	QREP_MSG_HEARTBEAT,	/* primary -> nodes, every interval */
	QREP_MSG_EPOCH_PROPOSE,	/* winner -> targets */
	QREP_MSG_EPOCH_ACCEPT,	/* target -> proposer */
	QREP_MSG_EPOCH_REJECT,	/* target -> proposer */
	QREP_MSG_TARGET_PROBE,	/* node -> targets: a hello, no proposal */
};

/*
 * One message. Between nodes, every message carries the sender's two
 * epochs: 'epoch', the newest epoch it knows a writable primary was made
 * in (for COORDINATOR and HEARTBEAT, the primary's own), and 'seen_epoch',
 * the largest epoch it has seen anywhere (failed proposals included).
 *
 * EPOCH_PROPOSE: epoch = the proposed epoch, round = the proposal.
 * EPOCH_ACCEPT/REJECT: from = the target's index; epoch and round echo the
 * proposal; seen_epoch = the target's stored epoch (after the proposal).
 * A target accepts only an epoch strictly above its stored one, and
 * stores it durably before it replies.
 *
 * TARGET_PROBE: round = the probe; epoch 0. The answer is an EPOCH_REJECT
 * of epoch 0 and that round, seen_epoch = the target's stored epoch: the
 * target was reached and nothing of it changed.
 */
struct qrep_election_msg {
	enum qrep_election_msg_type type;
	uint32_t from;		/* node id, or target index */
	uint32_t round;		/* which election, or which proposal */
	uint64_t epoch;
	uint64_t seen_epoch;
};

enum qrep_election_event_type {
	QREP_EV_START = 1,	/* the daemon (re)started: epoch, nonce */
	QREP_EV_TICK,		/* time passed (a deadline is due) */
	QREP_EV_MSG,		/* a message arrived: msg */
	QREP_EV_CAUGHT_UP,	/* the local replica is up to date with the
				 * primary this node follows */
	QREP_EV_FENCED,		/* a target refused the device's epoch */
};

struct qrep_election_event {
	enum qrep_election_event_type type;
	struct qrep_election_msg msg;	/* QREP_EV_MSG */
	/*
	 * QREP_EV_START: the largest epoch the daemon knows (e.g. its local
	 * store's; 0 if none). QREP_EV_FENCED: the epoch the target holds.
	 */
	uint64_t epoch;
	/*
	 * QREP_EV_START: a number that differs from the previous start's
	 * (from getrandom(2)); rounds count from it, so replies meant for an
	 * earlier run of the daemon are not taken for this one's.
	 */
	uint32_t nonce;
};

enum qrep_election_dest {
	QREP_DEST_NODE,		/* 'to' is a node id */
	QREP_DEST_TARGET,	/* 'to' is a target index */
};

struct qrep_election_send {
	enum qrep_election_dest dest;
	uint32_t to;
	struct qrep_election_msg msg;
};

enum qrep_device_change {
	QREP_DEVICE_UNCHANGED,
	QREP_DEVICE_WRITABLE,	/* at device_epoch */
	QREP_DEVICE_READONLY,	/* because of reason */
};

enum qrep_demote_reason {
	QREP_DEMOTE_NONE,
	QREP_DEMOTE_START,		/* a start: whatever the kernel had */
	QREP_DEMOTE_COORDINATOR,	/* a newer primary announced itself */
	QREP_DEMOTE_HEARTBEAT,		/* a newer primary's heartbeat */
	QREP_DEMOTE_ELECTION,		/* a node knows a newer primary */
	QREP_DEMOTE_TARGET_REJECT,	/* a target holds a newer epoch */
	QREP_DEMOTE_FENCED,		/* the kernel was refused */
	QREP_DEMOTE_CONFLICT,		/* another primary at our own epoch */
};

struct qrep_election_actions {
	unsigned int nr_sends;
	struct qrep_election_send sends[QREP_ELECTION_MAX_SENDS];
	bool sends_overflowed;		/* a bug if ever true */
	enum qrep_device_change device;
	uint64_t device_epoch;		/* WRITABLE */
	enum qrep_demote_reason reason;	/* READONLY */
	uint64_t reason_epoch;		/* the newer epoch learned */
	uint32_t reason_from;		/* node id, or target index */
	bool role_changed;
	uint64_t next_deadline_ms;	/* feed a TICK then; 0: none */
};

/*
 * The running object. Treat the fields as private: use the accessors.
 * Invariants: seen_epoch >= epoch, and neither ever decreases between two
 * starts; device writable <=> role == QREP_EL_PRIMARY.
 */
struct qrep_election {
	struct qrep_election_config cfg;
	enum qrep_election_role role;
	uint64_t now_ms;
	uint64_t deadline_ms;	/* the current role's one timer */
	uint64_t epoch;		/* newest epoch that had a primary */
	uint64_t seen_epoch;	/* largest epoch seen anywhere */
	uint32_t primary;	/* FOLLOWER: whom; PRIMARY: self */
	uint32_t round;		/* current election or proposal */
	uint64_t proposal_epoch;	/* PRIMARY_PENDING */
	uint32_t accepted;	/* targets (bits) that accepted it */
	uint32_t rejected;	/* targets that refused it (or, PROBING,
				 * answered the probe) */
	/*
	 * The last proposal ended with fewer than W targets answering: this
	 * node may be cut off. It proposes again only once W targets answer a
	 * probe and then a whole heartbeat timeout passes without a primary
	 * heard (see proposal_ended()).
	 */
	bool cut_off;
	/* CATCHUP: caught up with the primary of this epoch; no takeover
	 * election before takeover_after_ms. */
	uint64_t caught_up_epoch;
	uint64_t takeover_after_ms;
	/*
	 * The latest epoch in which this node, its primary, heard another
	 * node claim to be primary too (see primary_conflict()). A primary
	 * of that epoch or an older one is never followed again.
	 */
	uint64_t conflict_epoch;
};

void qrep_election_config_default(struct qrep_election_config *cfg);
/* NULL if cfg is usable, else why not (a constant string). */
const char *qrep_election_config_check(const struct qrep_election_config *cfg);
/* 0, or -EINVAL if qrep_election_config_check() objects. Role DOWN. */
int qrep_election_init(struct qrep_election *e,
		       const struct qrep_election_config *cfg);
void qrep_election_step(struct qrep_election *e, uint64_t now_ms,
			const struct qrep_election_event *ev,
			struct qrep_election_actions *out);

enum qrep_election_role qrep_election_role(const struct qrep_election *e);
/* The primary this node follows or is; 0 in the other roles. */
uint32_t qrep_election_primary(const struct qrep_election *e);
uint64_t qrep_election_epoch(const struct qrep_election *e);
uint64_t qrep_election_seen_epoch(const struct qrep_election *e);

const char *qrep_election_role_name(enum qrep_election_role role);
const char *qrep_election_msg_name(enum qrep_election_msg_type type);
const char *qrep_election_reason_name(enum qrep_demote_reason reason);

#endif /* QREP_ELECTION_H */
