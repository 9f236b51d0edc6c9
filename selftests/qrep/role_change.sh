#!/bin/bash
# A device's role change, primary -> secondary -> primary
# (Documentation/durability.rst, scenario 11; issue 16, finding 4).
#
# A demotion ends the device's term: it holds no replica afterwards,
# nothing it had queued for a target is sent, and nothing it knew of its
# replicas (which were up to date, what the device had written, what
# each missed) is kept for the next term. A promotion ("qrepctl up" of
# the demoted device, as qrepd's make_primary does it) takes a new epoch
# and judges the replicas again by their regions, as for a new device.
#
#   /dev/qrep0 (A) ----+---- a   (127.0.0.1, one qrep-target per store)
#                      +---- b
#                      +---- c
#   /dev/qrep1 (B) ----+---- a, b only: c misses what B writes
#
# Demotion is the netlink command qrepd uses (QREP_CMD_DEV_SET, through
# replica_tool demote).
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"
. "$QREP_ROOT/selftests/lib/targets.sh"
. "$QREP_ROOT/selftests/lib/netfault.sh"

SIZE=16M
# Long enough that no request times out while a target is cut off on
# purpose: only the demotion may end them.
IO_TIMEOUT_SEC=120
# Reads of one block: enough that read balancing asks every up-to-date
# replica.
READS=24
# How long a replica may take to fail once fenced, a resync of a 16M
# store to finish, and the events of a change to be printed.
FAIL_WAIT_SEC=30
RESYNC_WAIT_SEC=120
EVENT_WAIT_SEC=10
# The full tx queue: fio's writes at this depth, and how many of them
# must wait for the cut-off target before the demotion.
FIO_DEPTH=64
QUEUED_MIN=32
QUEUE_WAIT_SEC=60
# Once a cut heals, how long TCP may take to send what a socket still
# holds (its retransmission timer has backed off meanwhile), and how
# often the stats file of a target is rewritten, at most.
DRAIN_WAIT_SEC=90
STATS_REWRITE_WAIT=10

RT=$QREP_BUILD/selftests/replica_tool
# B's resource: A's, as device 1, on a and b only.
B_CONF=$TARGETS_DIR/b.conf
EVENTS=/tmp/role-events

replica_in() { [ "$(replica_state "$1")" = "$2" ]; }

dev_epoch() { "$RT" status --dev "$1" | sed -n 's/^device .* epoch=\([0-9]*\) .*/\1/p'; }

# dev_replicas N: how many replicas /dev/qrepN holds, failed ones too.
dev_replicas() { "$RT" status --dev "$1" | grep -c '^replica '; }

a_and_b_failed() { replica_in a failed && replica_in b failed; }

events_start()
{
	qrepctl events >"$EVENTS" 2>&1 &
	EVENTS_PID=$!
	wait_for "$EVENT_WAIT_SEC" test -e "$EVENTS"
}

events_stop() { kill "$EVENTS_PID" 2>/dev/null; wait "$EVENTS_PID" 2>/dev/null; }

# Scenario 11: A is primary at epoch E1 and writes; B takes a and b over
# at E2 and A's FLUSH is fenced there (the kernel says at which epoch);
# A is demoted and keeps nothing of its term; B writes blocks A had
# written and one A never had, on a and b only; A is made primary again
# at E3. c holds none of B's writes: it must come back stale and be
# resynced, a and b up to date, and every block must read B's data.
# Before the fix, the demoted device kept its replicas and what it had
# written: made primary again, it either went on with the replicas of
# its last term as they were, or, given them again, judged every one
# stale (it had written) and a mirror device could read from none.
primary_secondary_primary()
{
	local e1 e2 e3 b_sum
	write_block 10 1 && write_block 20 1 && write_block 5 1 && sync /dev/qrep0 ||
		{ echo "A's writes failed"; return 1; }
	e1=$(dev_epoch 0)
	grep -v '^replica c ' "$QREP_CONF" | sed 's/^device .*/device 1/' >"$B_CONF"
	qrepctl up -c "$B_CONF" || { echo "B's up failed"; return 1; }
	e2=$(dev_epoch 1)
	# A FLUSH goes to every replica and changes no block: a and b,
	# which took B's epoch, refuse it.
	sync /dev/qrep0
	wait_for "$FAIL_WAIT_SEC" a_and_b_failed ||
		{ echo "A's FLUSH was not refused by a and b"; qrepctl status 0; return 1; }
	"$RT" demote --dev 0 || { echo "the demotion failed"; return 1; }
	[ "$(qrep_dev_state)" = secondary ] || { echo "A is not secondary"; return 1; }
	[ "$(dev_replicas 0)" -eq 0 ] ||
		{ echo "the demoted device still holds its replicas"; "$RT" status --dev 0; return 1; }
	wait_for "$EVENT_WAIT_SEC" grep -q "event=replica-fenced device=qrep0 .* fenced_epoch=$e1\$" "$EVENTS" ||
		{ echo "no replica-fenced event of A saying epoch $e1"; cat "$EVENTS"; return 1; }
	QREP_DEV=/dev/qrep1 write_block 10 2 && QREP_DEV=/dev/qrep1 write_block 30 2 &&
		sync /dev/qrep1 || { echo "B's writes failed"; return 1; }
	b_sum=$(pattern_sum 2)
	qrepctl down -c "$B_CONF" || return 1
	qrepctl up --no-resync -c "$QREP_CONF" >/tmp/up.out 2>&1 ||
		{ cat /tmp/up.out; echo "A was not made primary again"; return 1; }
	cat /tmp/up.out
	grep -q "was a secondary" /tmp/up.out || { echo "up made a new device"; return 1; }
	e3=$(dev_epoch 0)
	[ "$e1" -lt "$e2" ] && [ "$e2" -lt "$e3" ] ||
		{ echo "epochs not newer each time: $e1, $e2, $e3"; return 1; }
	[ "$(qrep_dev_state)" = writable ] || { echo "A is not writable at epoch $e3"; return 1; }
	replica_in a up-to-date && replica_in b up-to-date ||
		{ echo "a and b, which hold every write, are not up to date"; qrepctl status 0; return 1; }
	replica_in c stale || { echo "c, which lacks B's writes, is not stale"; qrepctl status 0; return 1; }
	reads_return 10 "$b_sum" "not B's write over A's" &&
		reads_return 30 "$b_sum" "not B's write" &&
		reads_return 20 "$(pattern_sum 1)" "not A's write" || return 1
	qrepctl resync -c "$QREP_CONF" || return 1
	wait_for "$RESYNC_WAIT_SEC" replica_in c up-to-date ||
		{ echo "c was not resynced"; qrepctl status 0; return 1; }
	reads_return 30 "$b_sum" "not B's write, c resynced" || return 1
	qrepctl verify -c "$QREP_CONF" || { echo "verify found copies that differ"; return 1; }
	qrepctl down -c "$QREP_CONF" && stores_identical
}

# --- issue 16, finding 4: a demotion with a full tx queue ---------------

# unsent PORT: bytes the device's sockets to PORT still hold to send.
unsent()
{
	ss -tnH state all "( dport = :$1 )" | awk '{ n += $3 } END { print n + 0 }'
}

nothing_unsent() { [ "$(unsent "$1")" -eq 0 ]; }

# c_queued: requests the device has queued for c and not had answered.
c_queued()
{
	"$RT" status --dev 0 | sed -n 's/^replica slot=2 .* inflight=\([0-9]*\) .*/\1/p'
}

c_queue_full() { [ "$(c_queued)" -ge "$QUEUED_MIN" ]; }

# A writes at depth FIO_DEPTH while every packet to c is dropped: the
# writes wait for c in the device's tx queue and c's socket. A is
# demoted. When the demotion returns, nothing may be left to send to c,
# and once the cut heals c must receive none of those writes: they are
# of the old epoch, and the device is secondary. Then A is made primary
# at a newer epoch: c, which missed the writes a and b took, is resynced,
# and A stays primary. Before the fix, the demotion left the requests
# queued and in the socket, and c applied them after the heal.
full_tx_queue_demoted()
{
	local port before after e1 e2
	port=$(target_port 2)
	e1=$(dev_epoch 0)
	stats_settle 2 || return 1
	before=$(target_stats 2 write_requests)
	netfault_oneway 2 to || return 1
	fio --name=queue --filename=/dev/qrep0 --rw=randwrite --bs=4k --direct=1 \
		--ioengine=libaio --iodepth=$FIO_DEPTH --size=8M --time_based \
		--runtime=$((IO_TIMEOUT_SEC * 2)) --buffer_pattern=0x5a \
		>/tmp/fio.out 2>&1 &
	FIO_PID=$!
	wait_for "$QUEUE_WAIT_SEC" c_queue_full ||
		{ echo "fewer than $QUEUED_MIN writes queued for c"; "$RT" status --dev 0; kill "$FIO_PID"; return 1; }
	echo "queued for c: $(c_queued) requests, $(unsent "$port") bytes in its socket"
	"$RT" demote --dev 0 || { echo "the demotion failed"; return 1; }
	nothing_unsent "$port" ||
		{ echo "after the demotion, $(unsent "$port") bytes still wait to go to c"; ss -tn "( dport = :$port )"; kill "$FIO_PID"; return 1; }
	wait "$FIO_PID" && { echo "fio's writes did not fail on the secondary"; return 1; }
	netfault_oneway_heal 2 || return 1
	wait_for "$DRAIN_WAIT_SEC" nothing_unsent "$port" || return 1
	stats_settle 2 || return 1
	after=$(target_stats 2 write_requests)
	[ "$after" -eq "$before" ] ||
		{ echo "c received $((after - before)) writes of epoch $e1 after the demotion"; return 1; }
	qrepctl up -c "$QREP_CONF" >/tmp/up.out 2>&1 ||
		{ cat /tmp/up.out; echo "A was not made primary again"; return 1; }
	cat /tmp/up.out
	e2=$(dev_epoch 0)
	[ "$e2" -gt "$e1" ] || { echo "epoch $e2 not newer than $e1"; return 1; }
	wait_for "$RESYNC_WAIT_SEC" replica_in c up-to-date ||
		{ echo "c was not resynced"; qrepctl status 0; return 1; }
	write_block 40 3 && sync /dev/qrep0 || { echo "A's write at epoch $e2 failed"; return 1; }
	[ "$(qrep_dev_state)" = writable ] && [ "$(dev_epoch 0)" -eq "$e2" ] ||
		{ echo "A did not stay primary at epoch $e2"; return 1; }
	! grep -q "event=replica-fenced device=qrep0" "$EVENTS" ||
		{ echo "A was fenced after its promotion:"; grep fenced "$EVENTS"; return 1; }
	qrepctl verify -c "$QREP_CONF" || { echo "verify found copies that differ"; return 1; }
	qrepctl down -c "$QREP_CONF" && stores_identical
}

cleanup()
{
	events_stop
	netfault_clear
	qrepctl down -c "$B_CONF" >/dev/null 2>&1
	targets_teardown
}

EVENTS_PID=
trap cleanup EXIT
ktap_plan 2
qrep_load

PSP_DESC="mirror: primary, demoted, another writer on two of three targets, primary again: the replicas judged again, reads return the other writer's data"
if targets_setup 3 $SIZE "${IO_TIMEOUT_SEC}s" && qrepctl up -c "$QREP_CONF" && events_start; then
	ktap_test "$PSP_DESC" primary_secondary_primary
else
	ktap_diag "could not start the targets and the device"
	ktap_report "$PSP_DESC" 1
fi
events_stop
qrepctl down -c "$B_CONF" >/dev/null 2>&1
targets_teardown

FQ_DESC="mirror: demoted with a full tx queue: nothing of the old epoch reaches a target afterwards; primary again at a newer epoch, not fenced"
if targets_setup 3 $SIZE "${IO_TIMEOUT_SEC}s" && qrepctl up -c "$QREP_CONF" && events_start; then
	ktap_test "$FQ_DESC" full_tx_queue_demoted
else
	ktap_diag "could not start the targets and the device (full tx queue)"
	ktap_report "$FQ_DESC" 1
fi
ktap_finish
