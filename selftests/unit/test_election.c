// SPDX-License-Identifier: GPL-2.0
/*
 * The election state machine (userspace/qrepd/election.c), one node at a
 * time: numbered rows feed it events and check its role, epochs, device
 * change and the messages of the last step. The whole cluster is in
 * test_election_sim.c.
 *
 * Every row runs in the cluster 1, 2, 3 with 3 targets, W = 2, the
 * heartbeat every 100 ms, heartbeat timeout 500, ACK timeout 200,
 * coordinator timeout 1000, quorum timeout 300, and START's nonce 100.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "election.h"

#define CUR	0xffffffffu	/* round: the node's current one */
#define ECUR	UINT64_MAX	/* epoch: the node's current proposal */

struct step {
	uint32_t at;
	enum qrep_election_event_type ev;
	enum qrep_election_msg_type msg;
	uint32_t from;
	uint32_t round;
	uint64_t epoch, seen;
};

#define START(t)		{ t, QREP_EV_START, 0, 0, 0, 0, 0 }
#define START_AT(t, e)		{ t, QREP_EV_START, 0, 0, 0, e, 0 }
#define TICK(t)			{ t, QREP_EV_TICK, 0, 0, 0, 0, 0 }
#define CAUGHT_UP(t)		{ t, QREP_EV_CAUGHT_UP, 0, 0, 0, 0, 0 }
#define FENCED(t, e)		{ t, QREP_EV_FENCED, 0, 0, 0, e, 0 }
#define MSG(t, m, f, r, e, s)	{ t, QREP_EV_MSG, QREP_MSG_##m, f, r, e, s }
#define HB(t, f, e)		MSG(t, HEARTBEAT, f, 0, e, e)
#define COORD(t, f, e)		MSG(t, COORDINATOR, f, 0, e, e)
#define ACCEPT(t, tg)		MSG(t, EPOCH_ACCEPT, tg, CUR, ECUR, 0)
/* Node 3 becomes primary at epoch 1: listens 500 ms, two targets accept. */
#define PRIMARY_3 START(0), TICK(500), ACCEPT(510, 0), ACCEPT(510, 1)

#define F_ROLE(r)	QREP_EL_##r
#define UNCH		QREP_DEVICE_UNCHANGED
#define WRITABLE	QREP_DEVICE_WRITABLE
#define READONLY	QREP_DEVICE_READONLY
#define NEVER		QREP_FAILBACK_NEVER
#define CATCHUP		QREP_FAILBACK_CATCHUP

static const struct row {
	const char *what;
	uint32_t self;
	enum qrep_failback failback;
	struct step steps[8];
	/* after the last step */
	enum qrep_election_role role;
	uint32_t primary;
	uint64_t epoch, seen;
	enum qrep_device_change device;
	const char *sends;	/* of the last step */
} rows[] = {
	/*  1 */ { "start, biggest id: nobody to send ELECTION to", 3, NEVER,
		   { START(0) }, F_ROLE(CANDIDATE), 0, 0, 0, READONLY, "" },
	/*  2 */ { "start: ELECTION to every bigger id", 1, NEVER,
		   { START(0) }, F_ROLE(CANDIDATE), 0, 0, 0, READONLY,
		   "ELECTION>2 ELECTION>3" },
	/*  3 */ { "a starting node listens a heartbeat timeout first", 3, NEVER,
		   { START(0), TICK(499) }, F_ROLE(CANDIDATE), 0, 0, 0, UNCH, "" },
	/*  4 */ { "no ACK: declares itself, proposes epoch 1 to every target", 3, NEVER,
		   { START(0), TICK(500) }, F_ROLE(PRIMARY_PENDING), 0, 0, 1, UNCH,
		   "EPOCH_PROPOSE>t0 EPOCH_PROPOSE>t1 EPOCH_PROPOSE>t2" },
	/*  5 */ { "one accept of W = 2: not writable yet", 3, NEVER,
		   { START(0), TICK(500), ACCEPT(505, 2) },
		   F_ROLE(PRIMARY_PENDING), 0, 0, 1, UNCH, "" },
	/*  6 */ { "W accepts: writable at epoch 1, COORDINATOR to all", 3, NEVER,
		   { PRIMARY_3 }, F_ROLE(PRIMARY), 3, 1, 1, WRITABLE,
		   "COORDINATOR>1 COORDINATOR>2" },
	/*  7 */ { "primary: HEARTBEAT every interval", 3, NEVER,
		   { PRIMARY_3, TICK(610) }, F_ROLE(PRIMARY), 3, 1, 1, UNCH,
		   "HEARTBEAT>1 HEARTBEAT>2" },
	/*  8 */ { "ACKed candidate waits for COORDINATOR", 1, NEVER,
		   { START(0), MSG(10, ACK, 2, CUR, 0, 0) },
		   F_ROLE(WAITING_COORDINATOR), 0, 0, 0, UNCH, "" },
	/*  9 */ { "an ACK of an earlier round is ignored", 1, NEVER,
		   { START(0), MSG(10, ACK, 2, 5, 0, 0) },
		   F_ROLE(CANDIDATE), 0, 0, 0, UNCH, "" },
	/* 10 */ { "no COORDINATOR in time: the election restarts", 1, NEVER,
		   { START(0), MSG(10, ACK, 2, CUR, 0, 0), TICK(1010) },
		   F_ROLE(CANDIDATE), 0, 0, 0, UNCH, "ELECTION>2 ELECTION>3" },
	/* 11 */ { "COORDINATOR ends the wait", 1, NEVER,
		   { START(0), MSG(10, ACK, 2, CUR, 0, 0), COORD(20, 3, 1) },
		   F_ROLE(FOLLOWER), 3, 1, 1, UNCH, "" },
	/* 12 */ { "never: a starting bigger node follows a live primary", 3, NEVER,
		   { START(0), HB(50, 2, 4) }, F_ROLE(FOLLOWER), 2, 4, 4, UNCH, "" },
	/* 13 */ { "heartbeat timeout: the follower starts an election", 1, NEVER,
		   { START(0), COORD(20, 3, 1), TICK(520) },
		   F_ROLE(CANDIDATE), 0, 1, 1, UNCH, "ELECTION>2 ELECTION>3" },
	/* 14 */ { "heartbeats keep a follower", 1, NEVER,
		   { START(0), COORD(20, 3, 1), HB(400, 3, 1), TICK(520) },
		   F_ROLE(FOLLOWER), 3, 1, 1, UNCH, "" },
	/* 15 */ { "follower of a live primary: ACK, no election of its own", 2, NEVER,
		   { START(0), COORD(20, 3, 1), MSG(30, ELECTION, 1, 7, 0, 0) },
		   F_ROLE(FOLLOWER), 3, 1, 1, UNCH, "ACK>1" },
	/* 16 */ { "candidate: ACK, its election is in progress", 2, NEVER,
		   { START(0), MSG(10, ELECTION, 1, 7, 0, 0) },
		   F_ROLE(CANDIDATE), 0, 0, 0, UNCH, "ACK>1" },
	/* 17 */ { "ELECTION from a bigger id is ignored", 2, NEVER,
		   { START(0), COORD(20, 3, 1), MSG(30, ELECTION, 3, 7, 0, 0) },
		   F_ROLE(FOLLOWER), 3, 1, 1, UNCH, "" },
	/* 18 */ { "primary: ACK and COORDINATOR answer ELECTION", 3, NEVER,
		   { PRIMARY_3, MSG(600, ELECTION, 1, 9, 0, 0) },
		   F_ROLE(PRIMARY), 3, 1, 1, UNCH, "ACK>1 COORDINATOR>1" },
	/* 19 */ { "its primary calls an election: the follower starts one", 3, NEVER,
		   { START(0), HB(50, 2, 1), MSG(60, ELECTION, 2, 9, 1, 1) },
		   F_ROLE(CANDIDATE), 0, 1, 1, UNCH, "ACK>2" },
	/* 20 */ { "newer HEARTBEAT: the primary demotes, follows", 3, NEVER,
		   { PRIMARY_3, HB(600, 2, 2) },
		   F_ROLE(FOLLOWER), 2, 2, 2, READONLY, "" },
	/* 21 */ { "older HEARTBEAT: the primary stays, tells the sender", 3, NEVER,
		   { START_AT(0, 4), TICK(500), ACCEPT(510, 0), ACCEPT(510, 1),
		     HB(600, 2, 3) },
		   F_ROLE(PRIMARY), 3, 5, 5, UNCH, "COORDINATOR>2" },
	/* 22 */ { "a target holds a newer epoch: demote, new election", 3, NEVER,
		   { PRIMARY_3, MSG(600, EPOCH_REJECT, 2, 77, 1, 6) },
		   F_ROLE(CANDIDATE), 0, 1, 6, READONLY, "" },
	/* 23 */ { "the kernel was fenced at a newer epoch: demote", 3, NEVER,
		   { PRIMARY_3, FENCED(600, 3) },
		   F_ROLE(CANDIDATE), 0, 1, 3, READONLY, "" },
	/* 24 */ { "fenced at its own epoch: nothing", 3, NEVER,
		   { PRIMARY_3, FENCED(600, 1) },
		   F_ROLE(PRIMARY), 3, 1, 1, UNCH, "" },
	/* 25 */ { "ELECTION from a node that knows a newer primary: demote", 3, NEVER,
		   { PRIMARY_3, MSG(600, ELECTION, 1, 9, 2, 2) },
		   F_ROLE(CANDIDATE), 0, 2, 2, READONLY, "ACK>1" },
	/* 26 */ { "a duplicate's refusal, then the accept: the accept counts", 3, NEVER,
		   { START(0), TICK(500), MSG(505, EPOCH_REJECT, 0, CUR, ECUR, 1),
		     ACCEPT(506, 0), ACCEPT(507, 1) },
		   F_ROLE(PRIMARY), 3, 1, 1, WRITABLE,
		   "COORDINATOR>1 COORDINATOR>2" },
	/* 27 */ { "a late refusal at its own epoch is ignored", 3, NEVER,
		   { PRIMARY_3, MSG(600, EPOCH_REJECT, 2, 0, 1, 1) },
		   F_ROLE(PRIMARY), 3, 1, 1, UNCH, "" },
	/* 28 */ { "accepts of another round or epoch are ignored", 3, NEVER,
		   { START(0), TICK(500), MSG(505, EPOCH_ACCEPT, 0, 3, ECUR, 1),
		     MSG(506, EPOCH_ACCEPT, 1, CUR, 9, 9) },
		   F_ROLE(PRIMARY_PENDING), 0, 0, 1, UNCH, "" },
	/* 29 */ { "a target holds a newer epoch: the proposal ends at once", 3, NEVER,
		   { START(0), TICK(500), MSG(505, EPOCH_REJECT, 0, CUR, ECUR, 7) },
		   F_ROLE(CANDIDATE), 0, 0, 7, UNCH, "" },
	/* 30 */ { "... the next one is above every epoch seen", 3, NEVER,
		   { START(0), TICK(500), MSG(505, EPOCH_REJECT, 0, CUR, ECUR, 7),
		     MSG(506, EPOCH_REJECT, 1, CUR, ECUR, 7), TICK(705) },
		   F_ROLE(PRIMARY_PENDING), 0, 0, 8, UNCH,
		   "EPOCH_PROPOSE>t0 EPOCH_PROPOSE>t1 EPOCH_PROPOSE>t2" },
	/* 31 */ { "refusals at its own epoch put W out of reach: new election", 3, NEVER,
		   { START(0), TICK(500), MSG(505, EPOCH_REJECT, 0, CUR, ECUR, 1),
		     MSG(506, EPOCH_REJECT, 1, CUR, ECUR, 1) },
		   F_ROLE(CANDIDATE), 0, 0, 1, UNCH, "" },
	/* 32 */ { "no quorum within the quorum timeout: a new election", 3, NEVER,
		   { START(0), TICK(500), ACCEPT(505, 0), TICK(800) },
		   F_ROLE(CANDIDATE), 0, 0, 1, UNCH, "" },
	/* 33 */ { "started knowing epoch 9: proposes 10", 3, NEVER,
		   { START_AT(0, 9), TICK(500) }, F_ROLE(PRIMARY_PENDING), 0, 0, 10,
		   UNCH, "EPOCH_PROPOSE>t0 EPOCH_PROPOSE>t1 EPOCH_PROPOSE>t2" },
	/* 34 */ { "catchup: caught up, bigger than the primary: election", 3, CATCHUP,
		   { START(0), HB(50, 2, 1), CAUGHT_UP(60) },
		   F_ROLE(CANDIDATE), 0, 1, 1, UNCH, "" },
	/* 35 */ { "catchup: ... which it wins with a newer epoch", 3, CATCHUP,
		   { START(0), HB(50, 2, 1), CAUGHT_UP(60), TICK(260) },
		   F_ROLE(PRIMARY_PENDING), 0, 1, 2, UNCH,
		   "EPOCH_PROPOSE>t0 EPOCH_PROPOSE>t1 EPOCH_PROPOSE>t2" },
	/* 36 */ { "catchup: the old primary's heartbeat does not stop it", 3, CATCHUP,
		   { START(0), HB(50, 2, 1), CAUGHT_UP(60), HB(150, 2, 1) },
		   F_ROLE(CANDIDATE), 0, 1, 1, UNCH, "" },
	/* 37 */ { "never: caught up changes nothing", 3, NEVER,
		   { START(0), HB(50, 2, 1), CAUGHT_UP(60) },
		   F_ROLE(FOLLOWER), 2, 1, 1, UNCH, "" },
	/* 38 */ { "catchup: caught up with an earlier primary does not count", 2, CATCHUP,
		   { START(0), HB(50, 3, 1), CAUGHT_UP(60), HB(500, 1, 2) },
		   F_ROLE(FOLLOWER), 1, 2, 2, UNCH, "" },
	/* 39 */ { "catchup: a bigger node answers the takeover: follow, no loop", 2, CATCHUP,
		   { START(0), HB(50, 1, 1), CAUGHT_UP(60), MSG(70, ACK, 3, CUR, 1, 1),
		     HB(150, 1, 1) },
		   F_ROLE(FOLLOWER), 1, 1, 1, UNCH, "" },
	/* 40 */ { "before START every event is ignored", 1, NEVER,
		   { HB(0, 3, 1), TICK(5000) }, F_ROLE(DOWN), 0, 0, 0, UNCH, "" },
	/* 41 */ { "ELECTION knows a newer primary: the follower's is superseded", 2, NEVER,
		   { START(0), COORD(20, 3, 1), MSG(30, ELECTION, 1, 9, 4, 4) },
		   F_ROLE(CANDIDATE), 0, 4, 4, UNCH, "ACK>1 ELECTION>3" },
	/* 42 */ { "pending: a bigger primary's heartbeat wins", 2, NEVER,
		   { START_AT(0, 5), TICK(500), HB(505, 3, 2) },
		   F_ROLE(FOLLOWER), 3, 2, 6, UNCH, "" },
	/* 43 */ { "pending: a smaller primary of an older epoch does not", 3, NEVER,
		   { START_AT(0, 5), TICK(500), HB(505, 1, 2) },
		   F_ROLE(PRIMARY_PENDING), 0, 2, 6, UNCH, "" },
	/* 44 */ { "a stale COORDINATOR (older epoch) is ignored", 1, NEVER,
		   { START(0), COORD(20, 3, 4), COORD(30, 2, 3) },
		   F_ROLE(FOLLOWER), 3, 4, 4, UNCH, "" },
	/* 45 */ { "a duplicate COORDINATOR changes nothing", 1, NEVER,
		   { START(0), COORD(20, 3, 4), COORD(30, 3, 4) },
		   F_ROLE(FOLLOWER), 3, 4, 4, UNCH, "" },
	/* 46 */ { "a restart forgets the role, the device goes read-only", 3, NEVER,
		   { PRIMARY_3, START(600) }, F_ROLE(CANDIDATE), 0, 0, 0, READONLY, "" },
	/* 47 */ { "a proposal fewer than W targets answered: the next election "
		   "probes them, claiming no epoch", 3, NEVER,
		   { START(0), TICK(500), ACCEPT(505, 0), TICK(800), TICK(1000) },
		   F_ROLE(PROBING), 0, 0, 1, UNCH,
		   "TARGET_PROBE>t0 TARGET_PROBE>t1 TARGET_PROBE>t2" },
	/* 48 */ { "... W targets answer the probe: it listens a heartbeat "
		   "timeout, proposing nothing", 3, NEVER,
		   { START(0), TICK(500), ACCEPT(505, 0), TICK(800), TICK(1000),
		     MSG(1005, EPOCH_REJECT, 0, CUR, 0, 4),
		     MSG(1006, EPOCH_REJECT, 1, CUR, 0, 1) },
		   F_ROLE(CANDIDATE), 0, 0, 4, UNCH, "" },
	/* 49 */ { "... no primary heard meanwhile: proposes above every "
		   "epoch the targets hold", 3, NEVER,
		   { START(0), TICK(500), ACCEPT(505, 0), TICK(800), TICK(1000),
		     MSG(1005, EPOCH_REJECT, 0, CUR, 0, 4),
		     MSG(1006, EPOCH_REJECT, 1, CUR, 0, 1), TICK(1506) },
		   F_ROLE(PRIMARY_PENDING), 0, 0, 5, UNCH,
		   "EPOCH_PROPOSE>t0 EPOCH_PROPOSE>t1 EPOCH_PROPOSE>t2" },
	/* 50 */ { "... fewer than W answer the probe: the next election "
		   "probes again", 3, NEVER,
		   { START(0), TICK(500), ACCEPT(505, 0), TICK(800), TICK(1000),
		     MSG(1005, EPOCH_REJECT, 0, CUR, 0, 1), TICK(1300),
		     TICK(1500) },
		   F_ROLE(PROBING), 0, 0, 1, UNCH,
		   "TARGET_PROBE>t0 TARGET_PROBE>t1 TARGET_PROBE>t2" },
	/* 51 */ { "... a primary's heartbeat while probing: follows it", 3, NEVER,
		   { START(0), TICK(500), ACCEPT(505, 0), TICK(800), TICK(1000),
		     HB(1010, 2, 4) },
		   F_ROLE(FOLLOWER), 2, 4, 4, UNCH, "" },
	/* 52 */ { "a probe's answer of an earlier round counts for nothing", 3, NEVER,
		   { START(0), TICK(500), ACCEPT(505, 0), TICK(800), TICK(1000),
		     MSG(1005, EPOCH_REJECT, 0, CUR, 0, 1),
		     MSG(1006, EPOCH_REJECT, 1, 7, 0, 1) },
		   F_ROLE(PROBING), 0, 0, 1, UNCH, "" },
	/* 53 */ { "a heartbeat of another primary at its own epoch: demote, "
		   "tell it, new election", 3, NEVER,
		   { PRIMARY_3, HB(600, 2, 1) },
		   F_ROLE(CANDIDATE), 0, 1, 1, READONLY, "COORDINATOR>2" },
	/* 54 */ { "... a COORDINATOR at its own epoch: the same", 2, NEVER,
		   { START(0), TICK(500), ACCEPT(510, 0), ACCEPT(510, 1),
		     COORD(600, 3, 1) },
		   F_ROLE(CANDIDATE), 0, 1, 1, READONLY,
		   "COORDINATOR>3 ELECTION>3" },
	/* 55 */ { "... that primary's next heartbeat: not followed, told "
		   "again", 3, NEVER,
		   { PRIMARY_3, HB(600, 2, 1), HB(700, 2, 1) },
		   F_ROLE(CANDIDATE), 0, 1, 1, UNCH, "COORDINATOR>2" },
	/* 56 */ { "... its COORDINATOR: not followed, not answered", 3, NEVER,
		   { PRIMARY_3, HB(600, 2, 1), COORD(700, 2, 1) },
		   F_ROLE(CANDIDATE), 0, 1, 1, UNCH, "" },
	/* 57 */ { "... the election proposes above the conflicted epoch", 3,
		   NEVER,
		   { PRIMARY_3, HB(600, 2, 1), HB(700, 2, 1), TICK(1100) },
		   F_ROLE(PRIMARY_PENDING), 0, 1, 2, UNCH,
		   "EPOCH_PROPOSE>t0 EPOCH_PROPOSE>t1 EPOCH_PROPOSE>t2" },
	/*
	 * qrepd feeds a kernel's fence of a request of epoch F as F + 1
	 * (cluster.c): the target holds at least that.
	 */
	/* 58 */ { "primary at 5, a request of its last term (4) fenced: nothing",
		   3, NEVER,
		   { START_AT(0, 4), TICK(500), ACCEPT(510, 0), ACCEPT(510, 1),
		     FENCED(600, 5) },
		   F_ROLE(PRIMARY), 3, 5, 5, UNCH, "" },
	/* 59 */ { "primary at 5, a request of epoch 5 fenced: demote", 3, NEVER,
		   { START_AT(0, 4), TICK(500), ACCEPT(510, 0), ACCEPT(510, 1),
		     FENCED(600, 6) },
		   F_ROLE(CANDIDATE), 0, 5, 6, READONLY, "" },
};

static void config_3(struct qrep_election_config *c, uint32_t self,
		     enum qrep_failback failback)
{
	qrep_election_config_default(c);
	c->self = self;
	c->nodes[0] = 1;
	c->nodes[1] = 2;
	c->nodes[2] = 3;
	c->nr_nodes = 3;
	c->nr_targets = 3;
	c->write_quorum = 2;
	c->failback = failback;
	c->heartbeat_interval_ms = 100;
	c->heartbeat_timeout_ms = 500;
	c->ack_timeout_ms = 200;
	c->coordinator_timeout_ms = 1000;
	c->quorum_timeout_ms = 300;
}

static void format_sends(const struct qrep_election_actions *out, char *buf,
			 size_t len)
{
	size_t used = 0;
	unsigned int i;

	buf[0] = 0;
	for (i = 0; i < out->nr_sends && used < len; i++) {
		const struct qrep_election_send *s = &out->sends[i];

		used += snprintf(buf + used, len - used, "%s%s>%s%u",
				 i ? " " : "",
				 qrep_election_msg_name(s->msg.type),
				 s->dest == QREP_DEST_TARGET ? "t" : "", s->to);
	}
}

TEST(transitions)
{
	size_t r, k;

	for (r = 0; r < ARRAY_SIZE(rows); r++) {
		const struct row *row = &rows[r];
		struct qrep_election_config cfg;
		struct qrep_election e;
		struct qrep_election_actions out;
		char sends[512];

		config_3(&cfg, row->self, row->failback);
		ASSERT_EQ(0, qrep_election_init(&e, &cfg));
		for (k = 0; k < 8 && row->steps[k].ev; k++) {
			const struct step *st = &row->steps[k];
			struct qrep_election_event ev = {
				.type = st->ev,
				.epoch = st->epoch,
				.nonce = 100,
			};

			ev.msg.type = st->msg;
			ev.msg.from = st->from;
			ev.msg.round = st->round == CUR ? e.round : st->round;
			ev.msg.epoch = st->epoch == ECUR ? e.proposal_epoch :
							   st->epoch;
			ev.msg.seen_epoch = st->seen;
			qrep_election_step(&e, st->at, &ev, &out);
			EXPECT_FALSE(out.sends_overflowed);
		}
		format_sends(&out, sends, sizeof(sends));
		EXPECT_EQ(row->role, qrep_election_role(&e))
			TH_LOG("row %zu (%s): role %s", r + 1, row->what,
			       qrep_election_role_name(qrep_election_role(&e)));
		EXPECT_EQ(row->primary, qrep_election_primary(&e))
			TH_LOG("row %zu (%s): primary", r + 1, row->what);
		EXPECT_EQ(row->epoch, qrep_election_epoch(&e))
			TH_LOG("row %zu (%s): epoch", r + 1, row->what);
		EXPECT_EQ(row->seen, qrep_election_seen_epoch(&e))
			TH_LOG("row %zu (%s): seen epoch", r + 1, row->what);
		EXPECT_EQ(row->device, out.device)
			TH_LOG("row %zu (%s): device change", r + 1, row->what);
		EXPECT_STREQ(row->sends, sends)
			TH_LOG("row %zu (%s): sends", r + 1, row->what);
		if (row->device == WRITABLE)
			EXPECT_EQ(row->epoch, out.device_epoch);
		/* The deadline is the role's timer; none when down. */
		EXPECT_EQ(row->role == QREP_EL_DOWN ? 0 : e.deadline_ms,
			  out.next_deadline_ms);
	}
	ksft_print_msg("%zu transition rows\n", r);
	fflush(stdout);
}

TEST(config)
{
	static const struct {
		const char *what;
		unsigned int nodes, targets, w;
		uint32_t self, dup_id, hi, ht;	/* hi, ht: 0 = default */
		const char *error;	/* a part of it; NULL: valid */
	} cases[] = {
		/*  1 */ { "defaults", 3, 3, 2, 1, 0, 0, 0, NULL },
		/*  2 */ { "W = N", 3, 3, 3, 1, 0, 0, 0, NULL },
		/*  3 */ { "one node, one target", 1, 1, 1, 1, 0, 0, 0, NULL },
		/*  4 */ { "W not a majority", 4, 4, 2, 1, 0, 0, 0, "2W > targets" },
		/*  5 */ { "W above the targets", 3, 3, 4, 1, 0, 0, 0, "W <= targets" },
		/*  6 */ { "no targets", 3, 0, 1, 1, 0, 0, 0, "targets" },
		/*  7 */ { "nine nodes", 9, 3, 2, 1, 0, 0, 0, "between 1 and 8 nodes" },
		/*  8 */ { "self not a node", 3, 3, 2, 7, 0, 0, 0, "not among" },
		/*  9 */ { "duplicate id", 3, 3, 2, 1, 2, 0, 0, "must differ" },
		/* 10 */ { "timeout below interval", 3, 3, 2, 1, 0, 500, 400, "must exceed" },
		/* 11 */ { "interval 0", 3, 3, 2, 1, 0, UINT32_MAX, 0, "must not be 0" },
	};
	size_t i, k;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct qrep_election_config c;
		struct qrep_election e;
		const char *err;

		qrep_election_config_default(&c);
		c.self = cases[i].self;
		c.nr_nodes = cases[i].nodes;
		for (k = 0; k < QREP_ELECTION_MAX_NODES; k++)
			c.nodes[k] = k + 1;
		if (cases[i].dup_id)
			c.nodes[1] = c.nodes[0];
		c.nr_targets = cases[i].targets;
		c.write_quorum = cases[i].w;
		if (cases[i].hi)	/* UINT32_MAX: 0 */
			c.heartbeat_interval_ms = cases[i].hi == UINT32_MAX ?
						  0 : cases[i].hi;
		if (cases[i].ht)
			c.heartbeat_timeout_ms = cases[i].ht;
		err = qrep_election_config_check(&c);
		if (!cases[i].error) {
			EXPECT_EQ(NULL, err) TH_LOG("row %zu (%s): %s", i + 1,
						    cases[i].what, err);
			EXPECT_EQ(0, qrep_election_init(&e, &c));
			continue;
		}
		ASSERT_NE(NULL, err) TH_LOG("row %zu (%s) accepted", i + 1,
					    cases[i].what);
		EXPECT_NE(NULL, strstr(err, cases[i].error))
			TH_LOG("row %zu: got '%s'", i + 1, err);
		EXPECT_EQ(-EINVAL, qrep_election_init(&e, &c));
	}
}

TEST_HARNESS_MAIN
