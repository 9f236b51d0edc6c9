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

ktap_plan 1
qrep_load
if ! targets_setup 2 $SIZE 10s || ! qrepctl up -c "$QREP_CONF"; then
	ktap_diag "could not start the targets and the device"
	ktap_finish
fi
ktap_test "mirror: a replica that lost an acknowledged, unflushed write is resynced, reads never go back" \
	lost_unflushed_write_resynced
targets_teardown
ktap_finish
