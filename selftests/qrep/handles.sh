#!/bin/bash
# Request handles: every reply must reach the request it answers, or be
# refused, however a target orders, delays, repeats or invents replies,
# and while the block layer changes the requests under the driver.
#
#  1. A quorum device (N=3, W=2, R=2) on three replica_tool stores in
#     memory, one of which ("store-late") holds its WRITE replies and
#     sends them late (after the write completed on the other two) and in
#     reverse order. fio writes and verifies the device while the I/O
#     scheduler is switched between none and mq-deadline and nr_requests
#     changed, over and over: the scheduler's requests outnumber the
#     driver's tags and are freed and made anew by each change, so a
#     handle made of the tag and a per-request count would name two
#     requests at once. fio must verify, no replica may fail (a late
#     reply credited to the wrong request fails the late replica as a
#     protocol violation, or acknowledges a write it never got), and
#     every replica's in-flight count must return to 0.
#  2. Quorum mode, one replica that answers a WRITE correctly and then
#     sends a reply with handle 0, which no request ever has: the replica
#     fails as a protocol violation (an empty late-reply entry once took
#     it for a late reply, and the in-flight count went below 0).
#  3. Quorum mode, a second reply to the same WRITE: the replica fails as
#     a protocol violation.
#
# Like every vm test, it also fails if the guest kernel log shows a BUG,
# WARNING, Oops or hung task.
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"

RT=$QREP_BUILD/selftests/replica_tool
SIZE=16M
IO_TIMEOUT_MS=10000
# How long a store may wait for the kernel to close its connection: the
# whole fio run.
STORE_WAIT_MS=1200000
FAKE_WAIT_MS=30000
# fio's passes over the device (each writes it all, verifying as it goes).
FIO_LOOPS=3
# Between two scheduler/nr_requests changes, so that I/O gets through.
CHURN_PAUSE_SEC=0.2
# How long the in-flight counts may take to drain once fio is done.
DRAIN_SEC=30
DIR=/tmp/qrep-handles.$$
STOP=$DIR/churn.stop
INDEX=0
PIDS=()

cleanup()
{
	touch "$STOP" 2>/dev/null
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	qrep_unload 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

status() { "$RT" status --dev "$INDEX"; }
replicas() { status | grep -c '^replica slot='; }
has_replicas() { [ "$(replicas)" -eq "$1" ]; }

# The scheduler and nr_requests, changed until $STOP appears; prints the
# number of rounds.
churn()
{
	local q=/sys/block/qrep$INDEX/queue n=0
	while [ ! -e "$STOP" ]; do
		echo none >"$q/scheduler" || return 1
		echo 64 >"$q/nr_requests" || return 1
		sleep "$CHURN_PAUSE_SEC"
		echo mq-deadline >"$q/scheduler" || return 1
		echo $((n % 2 ? 32 : 256)) >"$q/nr_requests" || return 1
		sleep "$CHURN_PAUSE_SEC"
		n=$((n + 1))
	done
	echo "$n"
}

no_inflight() { ! status | grep '^replica ' | grep -qv ' inflight=0 '; }

late_replies()
{
	local dev=/dev/qrep$INDEX slot mode churn_pid rounds rc=0
	"$RT" create --size "$SIZE" --index "$INDEX" --quorum 3 \
		--io-timeout-ms "$IO_TIMEOUT_MS" >/dev/null || return 1
	for slot in 0 1 2; do
		mode=store
		[ "$slot" -eq 2 ] && mode=store-late
		"$RT" fake --dev "$INDEX" --slot "$slot" --mode "$mode" \
			--size "$SIZE" --wait-ms "$STORE_WAIT_MS" \
			>"$DIR/store$slot.out" 2>&1 &
		PIDS+=($!)
		wait_for 10 has_replicas $((slot + 1)) || return 1
	done
	status
	rm -f "$STOP"
	churn >"$DIR/churn.out" 2>&1 &
	churn_pid=$!
	fio --name=handles --filename="$dev" --direct=1 --ioengine=libaio \
		--iodepth=32 --rw=randwrite --bsrange=4k-64k --size="$SIZE" \
		--loops="$FIO_LOOPS" --fsync=8 --verify=crc32c \
		--verify_backlog=32 --verify_fatal=1 >"$DIR/fio.out" 2>&1 || rc=1
	touch "$STOP"
	wait "$churn_pid" || { echo "churn failed:"; cat "$DIR/churn.out"; rc=1; }
	rounds=$(cat "$DIR/churn.out")
	echo "scheduler changes during fio: $rounds"
	[ "${rounds:-0}" -gt 0 ] 2>/dev/null || { echo "no change made"; rc=1; }
	[ "$rc" -eq 0 ] || { echo "fio:"; cat "$DIR/fio.out"; }
	wait_for "$DRAIN_SEC" no_inflight || { echo "in-flight counts never drained"; rc=1; }
	status
	status | grep '^replica ' | grep -q 'state=failed' &&
		{ echo "a replica failed"; rc=1; }
	[ "$(status | grep -c '^replica .* state=uptodate ')" -eq 3 ] ||
		{ echo "not every replica is up to date"; rc=1; }
	qrepctl destroy "$INDEX" || rc=1
	for pid in "${PIDS[@]}"; do
		wait "$pid" || { echo "a store did not end cleanly"; rc=1; }
	done
	PIDS=()
	cat "$DIR"/store*.out
	return "$rc"
}

# bad_reply MODE EXPECT: a quorum device of one fake replica answering
# WRITEs as MODE says (a correct answer first); the write succeeds, then
# the replica must fail with EXPECT.
bad_reply()
{
	local mode=$1 expect=$2 dev=/dev/qrep$INDEX pid rc=0
	"$RT" create --size "$SIZE" --index "$INDEX" --quorum 1 \
		--io-timeout-ms "$IO_TIMEOUT_MS" >/dev/null || return 1
	"$RT" fake --dev "$INDEX" --slot 0 --mode "$mode" --op write \
		--wait-ms "$FAKE_WAIT_MS" >"$DIR/fake.out" 2>&1 &
	pid=$!
	wait_for 10 has_replicas 1 || { kill "$pid"; return 1; }
	timeout 60 dd if=/dev/zero of="$dev" bs=64k count=1 oflag=direct || rc=1
	wait "$pid" || rc=1
	cat "$DIR/fake.out"
	status
	grep -q -- "$expect" "$DIR/fake.out" || rc=1
	status | grep -q ' inflight=0 ' || { echo "in-flight count wrong"; rc=1; }
	qrepctl destroy "$INDEX" || rc=1
	return "$rc"
}

mkdir -p "$DIR"
ktap_plan 4
qrep_load
ktap_test "late, out-of-order replies under scheduler and nr_requests changes: fio verifies, no replica fails" \
	late_replies
INDEX=$((INDEX + 1))
ktap_test "quorum mode: a reply with handle 0 fails the replica" \
	bad_reply zero-handle "protocol violation: reply to unknown handle 0"
INDEX=$((INDEX + 1))
ktap_test "quorum mode: a second reply to a WRITE fails the replica" \
	bad_reply double "protocol violation: reply to unknown handle"
ktap_test "rmmod" rmmod qrep
ktap_finish
