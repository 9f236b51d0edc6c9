#!/bin/bash
# Durability across a replica's crash (Documentation/durability.rst): the
# scenarios of the durability model staged with real processes, each a
# named case that failed before its fix.
#
# A power failure at a target keeps only what its store had flushed. The
# cases here stage exactly that loss on a stopped target's store file
# (record and data of one block put back as they were at the last
# flush) - the outcome a power-off can leave, made certain instead of
# likely - then let the replica come back as it would after the reboot.
# A primary's crash is staged by taking its device down: what the kernel
# knew (which regions a stale replica missed) goes with it, as in a crash,
# and the stores stay as they were.
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"
. "$QREP_ROOT/selftests/lib/targets.sh"

SIZE=64M
# Reads of one block after the rejoin: enough that the read balancing
# sends some to every up-to-date replica.
READS=32

# store_area I NAME: the byte offset of area NAME ("metadata" or "data")
# in target I's store, as qrep-target info reports it.
store_area()
{
	qrep-target info --store "$(target_store "$1")" |
		awk -v a="$2" '$1 == a && $2 == "area:" { sub(",", "", $4); print $4 }'
}

# block_save I BLOCK FILE: copy block BLOCK's record and data from target
# I's store (the target stopped or idle) to FILE.rec and FILE.data.
block_save()
{
	local store meta data
	store=$(target_store "$1")
	meta=$(store_area "$1" metadata) && data=$(store_area "$1" data) &&
		[ -n "$meta" ] && [ -n "$data" ] || return 1
	dd if="$store" of="$3.rec" bs=16 skip=$((meta / 16 + $2)) count=1 status=none &&
		dd if="$store" of="$3.data" bs=4096 skip=$((data / 4096 + $2)) count=1 status=none
}

# block_restore I BLOCK FILE: put them back, behind the target's back.
block_restore()
{
	local store meta data
	store=$(target_store "$1")
	meta=$(store_area "$1" metadata) && data=$(store_area "$1" data) &&
		[ -n "$meta" ] && [ -n "$data" ] || return 1
	dd if="$3.rec" of="$store" bs=16 seek=$((meta / 16 + $2)) conv=notrunc status=none &&
		dd if="$3.data" of="$store" bs=4096 seek=$((data / 4096 + $2)) conv=notrunc status=none
}

# write_block BLOCK BYTE: one 4 KiB O_DIRECT write of BYTE repeated, no
# flush: acknowledged by every live replica, durable on none yet.
write_block()
{
	head -c 4096 /dev/zero | tr '\0' "\\$(printf '%03o' "$2")" |
		dd of=/dev/qrep0 bs=4096 seek="$1" oflag=direct status=none
}

block_sum() { dd if=/dev/qrep0 bs=4096 skip="$1" count=1 iflag=direct status=none | sha256sum; }

# replica_in NAME STATE: replica NAME is in STATE (for wait_for).
replica_in() { [ "$(replica_state "$1")" = "$2" ]; }

# Scenario: replica b acknowledged X (block 10) and then Y (block 5000),
# and lost power before a flush reached it. Its disk kept Y's record and
# data but not X's: its highest version did not go down. The device
# flushed on a alone meanwhile. When b comes back it must be resynced for
# X, not taken as up to date because its highest version is the newest.
lost_unflushed_write_resynced()
{
	local x=10 y=5000 want i
	write_block $x 1 && sync /dev/qrep0 || { echo "first write of X failed"; return 1; }
	target_stop 1
	block_save 1 $x /tmp/x-flushed || { echo "could not read b's store"; return 1; }
	target_cont 1
	write_block $x 2 && write_block $y 3 || { echo "writes of X, Y failed"; return 1; }
	want=$(block_sum $x)
	target_kill 1 || return 1
	wait_for 30 replica_in b failed || { echo "b not failed"; qrepctl status 0; return 1; }
	sync /dev/qrep0 || { echo "flush on a alone failed"; return 1; }
	block_restore 1 $x /tmp/x-flushed || { echo "could not stage the loss"; return 1; }
	target_start 1 || return 1
	qrepctl reconnect -c "$QREP_CONF" b || return 1
	replica_in b up-to-date || { qrepctl status 0; return 1; }
	for i in $(seq 1 $READS); do
		[ "$(block_sum $x)" = "$want" ] ||
			{ echo "read $i of block $x returned the lost write's predecessor"; return 1; }
	done
	qrepctl verify -c "$QREP_CONF" || { echo "verify found copies that differ"; return 1; }
	qrepctl down -c "$QREP_CONF" && stores_identical &&
		qrepctl up -c "$QREP_CONF"
}

# up_after_crash FILE: qrepctl up, as after the primary's crash, its
# messages kept in FILE as well.
up_after_crash()
{
	qrepctl up -c "$QREP_CONF" >"$1" 2>&1
	local rc=$?
	cat "$1"
	return $rc
}

# reads_return BLOCK WANT WHAT: READS reads of BLOCK all return WANT.
reads_return()
{
	local i
	for i in $(seq 1 $READS); do
		[ "$(block_sum "$1")" = "$2" ] ||
			{ echo "read $i of block $1 returned $3"; return 1; }
	done
}

# The stage of scenario 2 up to the primary's crash: replica b blips; X
# (block 20) is acknowledged and flushed by a alone; b is reconnected
# stale and receives the newer write Y (block 6000) - with --no-resync,
# the resync that would reach X has not yet. Both stores now report Y's
# version as their highest. Then the primary crashes: the device goes
# (qrepctl down here, the same loss: the kernel's record of what b
# missed lived only in its memory), the stores stay as they are. Sets
# X_WANT and Y_WANT, the sums of X and Y as the device returned them.
# FLUSH_Y: flush Y too (else it is acknowledged by both, durable on none).
stage_crash_mid_resync()
{
	local x=20 y=6000
	write_block $x 4 && sync /dev/qrep0 || { echo "first write of block $x failed"; return 1; }
	target_kill 1 || return 1
	wait_for 30 replica_in b failed || { echo "b not failed"; qrepctl status 0; return 1; }
	write_block $x 5 && sync /dev/qrep0 || { echo "X, flushed on a alone, failed"; return 1; }
	X_WANT=$(block_sum $x)
	target_start 1 || return 1
	qrepctl reconnect --no-resync -c "$QREP_CONF" b || return 1
	replica_in b stale || { echo "b did not come back stale"; qrepctl status 0; return 1; }
	sync /dev/qrep0 || return 1
	block_save 0 $y /tmp/y-before || { echo "could not read a's store"; return 1; }
	write_block $y 6 || { echo "write of Y failed"; return 1; }
	[ "$FLUSH_Y" = 0 ] || sync /dev/qrep0 || { echo "flush of Y failed"; return 1; }
	Y_WANT=$(block_sum $y)
	replica_in b stale || { echo "b is no longer stale"; qrepctl status 0; return 1; }
	qrepctl down -c "$QREP_CONF" || return 1
}

# Scenario 2 (issue 14): after the stage above, `up` finds b behind by
# comparing region summaries and block versions (their highest versions
# are equal), resyncs it, and X survives the loss of a.
crash_mid_resync_stale_found_by_regions()
{
	local x=20 y=6000
	FLUSH_Y=1 stage_crash_mid_resync || return 1
	up_after_crash /tmp/up.out || return 1
	reads_return $x "$X_WANT" "X's predecessor" || return 1
	reads_return $y "$Y_WANT" "Y's predecessor" || return 1
	grep -q "replica b is behind in 1 region" /tmp/up.out ||
		{ echo "up did not say that b was behind"; return 1; }
	replica_in b up-to-date || { echo "b not resynced"; qrepctl status 0; return 1; }
	# Lose a: X must still be there, on b.
	target_kill 0 || return 1
	wait_for 30 replica_in a failed || { echo "a not failed"; qrepctl status 0; return 1; }
	reads_return $x "$X_WANT" "X's predecessor with a lost" || return 1
	target_start 0 || return 1
	qrepctl reconnect -c "$QREP_CONF" a || return 1
	qrepctl verify -c "$QREP_CONF" || { echo "verify found copies that differ"; return 1; }
	stores_identical_at_rest
}

# The same stage, but Y is not flushed, and a's machine loses power after
# the primary's crash: Y survives on b but not on a (an unflushed write
# carries no promise; a power failure may keep it on one replica only).
# Now each replica lacks a write the other holds: a lacks Y, b lacks X.
# Mirror mode has no replica to start from, so `up` first fills the one
# that lacks least from the other, then resyncs the rest from it.
each_lacks_something_one_filled()
{
	local x=20 y=6000
	FLUSH_Y=0 stage_crash_mid_resync || return 1
	target_kill 0 || return 1
	block_restore 0 $y /tmp/y-before || { echo "could not stage the loss"; return 1; }
	target_start 0 || return 1
	up_after_crash /tmp/up.out || return 1
	reads_return $x "$X_WANT" "X's predecessor" || return 1
	reads_return $y "$Y_WANT" "Y's predecessor" || return 1
	grep -q "no replica holds every write the others hold" /tmp/up.out ||
		{ echo "up did not say that it filled a replica"; return 1; }
	wait_for 60 replica_in a up-to-date && wait_for 60 replica_in b up-to-date ||
		{ echo "the replicas are not both up to date"; qrepctl status 0; return 1; }
	qrepctl verify -c "$QREP_CONF" || { echo "verify found copies that differ"; return 1; }
	stores_identical_at_rest
}

ktap_plan 3
qrep_load
if ! targets_setup 2 $SIZE 10s || ! qrepctl up -c "$QREP_CONF"; then
	ktap_diag "could not start the targets and the device"
	ktap_finish
fi
ktap_test "mirror: a replica that lost an acknowledged, unflushed write is resynced, reads never go back" \
	lost_unflushed_write_resynced
ktap_test "mirror: the primary crashes mid-resync; up finds the replica behind at an equal highest version, by region" \
	crash_mid_resync_stale_found_by_regions
ktap_test "mirror: each replica lacks a write the other holds; up fills one before the device starts" \
	each_lacks_something_one_filled
targets_teardown
ktap_finish
