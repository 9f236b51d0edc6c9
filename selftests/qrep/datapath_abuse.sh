#!/bin/bash
# Every byte from a target is untrusted. replica_tool fake plays a broken
# target on one end of a loopback TCP connection whose other end is the
# only replica of a fresh device:
#
#   /dev/qrepN -- slot 0 -- [TCP, 127.0.0.1] -- replica_tool fake --mode M
#
# For each way of misbehaving, the I/O that provoked it must end (with EIO
# unless a correct answer came first), the replica must be FAILED with the
# expected reason (or, for a checksum error on a read, STALE: the stream
# is still in step, the replica just serves no more reads until a resync
# has repaired it), and the kernel log must stay clean (the VM harness
# fails the run on any warning). Also: REPLICA_ADD and REPLICA_REMOVE
# refuse bad input with the expected errors.
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"

RT=$QREP_BUILD/selftests/replica_tool
IO_TIMEOUT_MS=2000
FAKE_WAIT_MS=30000
DIR=/tmp/qrep-abuse.$$
INDEX=0

cleanup()
{
	qrep_unload 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

has_replica() { "$RT" status --dev "$1" | grep -q '^replica slot=0 '; }

# fake_case MODE OP IO EXPECT: a new device with a fake replica serving
# MODE (for OP requests only, or "any"); IO is read, write or fsync; the
# reason must contain EXPECT. IO must fail, except in mode "double",
# where the first, correct answer completes it.
fake_case()
{
	local mode=$1 op=$2 io=$3 expect=$4 dev=/dev/qrep$INDEX pid rc out
	local opt=()
	[ "$op" = any ] || opt=(--op "$op")
	"$RT" create --size 64M --index "$INDEX" --io-timeout-ms "$IO_TIMEOUT_MS" \
		>/dev/null || return 1
	"$RT" fake --dev "$INDEX" --slot 0 --mode "$mode" "${opt[@]}" \
		--wait-ms "$FAKE_WAIT_MS" >"$DIR/fake.out" 2>&1 &
	pid=$!
	wait_for 10 has_replica "$INDEX" || { kill "$pid"; return 1; }
	case $io in
	read) out=$(timeout 60 dd if="$dev" of=/dev/null bs=64k count=1 iflag=direct 2>&1) ;;
	write) out=$(timeout 60 dd if=/dev/zero of="$dev" bs=64k count=1 oflag=direct 2>&1) ;;
	fsync) out=$(timeout 60 dd if=/dev/zero of="$dev" bs=4k count=1 oflag=direct conv=fsync 2>&1) ;;
	esac
	rc=$?
	echo "$io: status $rc: $out"
	[ "$rc" -ne 124 ] || { echo "I/O hung"; kill "$pid"; return 1; }
	if [ "$mode" = double ]; then
		[ "$rc" -eq 0 ] || { kill "$pid"; return 1; }
	else
		[ "$rc" -ne 0 ] && echo "$out" | grep -q 'Input/output error' ||
			{ kill "$pid"; return 1; }
	fi
	wait "$pid" || { cat "$DIR/fake.out"; return 1; }
	cat "$DIR/fake.out"
	grep -q -- "$expect" "$DIR/fake.out" || return 1
	qrepctl destroy "$INDEX" && INDEX=$((INDEX + 1))
}

# The cases: mode, op, I/O, the reason the kernel must give.
CASES=(
	"bad-magic any read protocol violation: reply magic"
	"garbage any read protocol violation: reply magic"
	"bad-status any read protocol violation: unknown status"
	"bad-flags any read protocol violation: reply flags"
	"unknown-handle any read reply to unknown handle"
	"stale-gen any read reply to unknown handle"
	"bad-tag any read reply to unknown handle"
	"nblocks read read READ reply with 17 blocks, expected 16"
	"nblocks write write WRITE reply with 1 blocks, expected 0"
	"nblocks flush fsync FLUSH reply with 1 blocks, expected 0"
	"error read read READ refused: I/O error"
	"checksum read read stale: READ of blocks 0+16: stored checksum mismatch"
	"error write write WRITE refused: I/O error"
	"error flush fsync FLUSH refused: I/O error"
	"double read read reply to unknown handle"
	"truncated read read connection closed in the middle of a reply"
	"stall-data read read no reply within the I/O timeout"
	"close any write connection closed by the target"
	"silent read read no reply within the I/O timeout"
	"silent write write no reply within the I/O timeout"
)

mkdir -p "$DIR"
ktap_plan $((${#CASES[@]} + 3))
qrep_load
for c in "${CASES[@]}"; do
	set -- $c
	mode=$1 op=$2 io=$3
	shift 3
	ktap_test "fake target '$mode' on $op, $io: replica dropped with '$*'" \
		fake_case "$mode" "$op" "$io" "$*"
	# ktap_test runs in a subshell: count devices here.
	INDEX=$((INDEX + 1))
done
# Two fake replicas: slot 0 answers READs with a checksum error, slot 1
# correctly. Every read must succeed, re-driven to slot 1 if need be; slot
# 0 turns stale (it serves no more reads) rather than failed.
read_redriven()
{
	local dev=/dev/qrep$INDEX bad good rc
	"$RT" create --size 64M --index "$INDEX" --io-timeout-ms "$IO_TIMEOUT_MS" \
		>/dev/null || return 1
	"$RT" fake --dev "$INDEX" --slot 0 --mode checksum --op read \
		--wait-ms "$FAKE_WAIT_MS" >"$DIR/bad.out" 2>&1 &
	bad=$!
	wait_for 10 has_replica "$INDEX" || return 1
	"$RT" fake --dev "$INDEX" --slot 1 --mode good --wait-ms "$FAKE_WAIT_MS" \
		>"$DIR/good.out" 2>&1 &
	good=$!
	wait_for 10 bash -c "'$RT' status --dev $INDEX | grep -q '^replica slot=1 '" ||
		return 1
	timeout 60 dd if="$dev" of=/dev/null bs=4k count=32 iflag=direct && rc=0 || rc=$?
	"$RT" status --dev "$INDEX"
	kill "$good"
	wait "$bad" || { cat "$DIR/bad.out"; return 1; }
	cat "$DIR/bad.out"
	[ "$rc" -eq 0 ] && grep -q 'stale: READ of blocks .*: stored checksum mismatch' "$DIR/bad.out" &&
		qrepctl destroy "$INDEX"
}

check_add()
{
	"$RT" create --size 64M --index 63 >/dev/null && "$RT" check --dev 63 &&
		qrepctl destroy 63
}
ktap_test "a READ refused by one replica is re-driven to the other" read_redriven
INDEX=$((INDEX + 1))
ktap_test "REPLICA_ADD and REPLICA_REMOVE refuse bad input" check_add
ktap_test "rmmod" rmmod qrep
ktap_finish
