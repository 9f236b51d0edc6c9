#!/bin/bash
# Torn writes at a target (issue 14, scenario 7), in quorum mode with
# N=3, W=2, R=2. A torn block holds a record whose version its data does
# not match. It is staged by editing a store the way a power loss leaves
# it: the record of a rewrite on disk, the data still the old one.
#
#  1. Target a crashes (kill -9) with block 7 torn; restarted, it finds
#     the block torn before it serves and reports it held at no version;
#     with a back (stale), reads return the good copy, and a resync
#     repairs a (qrep-store versions, qrepctl verify and qrep-store
#     compare agree).
#  2. A block whose record vouches for a version its data does not hold
#     on a running target (the highest version among the replicas): reads
#     return the valid copy of the others instead of failing with EIO.
#  3. Scenario 14, in quorum mode and then in mirror mode, on fresh
#     stores: every target loses power while block 40 is rewritten and
#     keeps it torn, each with other bytes (no replica holds a valid
#     copy, and none is newer than another). qrepctl up writes the block
#     to all three at one version of its epoch (zeros: the write was never
#     acknowledged), so every replica is up to date and equal: qrepctl
#     verify finds nothing, reads of the block return zeros every time,
#     and the stores are identical. Before the fix, verify reported the
#     three copies and reads of the block failed.
#
# Like every vm test, it also fails if the guest kernel log shows a BUG,
# WARNING, Oops, hung task (qemu/run-vm checks the console log).
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"
. "$QREP_ROOT/selftests/lib/targets.sh"

SIZE=64M
BLOCKS=16384
# Store layout (Documentation/store-format.rst): records of 16 bytes
# from 4096, data from 4096 plus the record area rounded up to 4 KiB.
META_AT=4096
DATA_AT=$((4096 + (BLOCKS * 16 + 4095) / 4096 * 4096))
IO_TIMEOUT=5s
# How long a resync of a few blocks may take under TCG.
RESYNC_WAIT_SEC=120
REF=/tmp/torn-ref
# Case 3's block, and how many reads of it must agree.
ALL_TORN_BLOCK=40
READS=8

# record_version STORE BLOCK: the version in BLOCK's record.
record_version()
{
	od -An -t u8 -j $((META_AT + $2 * 16)) -N 8 "$1" | tr -d ' '
}

# set_record_version STORE BLOCK VERSION: rewrites it, little-endian.
set_record_version()
{
	local v=$3 i esc=""
	for i in 0 1 2 3 4 5 6 7; do
		esc="$esc\\x$(printf %02x $((v & 255)))"
		v=$((v >> 8))
	done
	printf "$esc" | dd of="$1" bs=1 seek=$((META_AT + $2 * 16)) count=8 \
		conv=notrunc status=none
}

# read_store_block STORE BLOCK FILE: BLOCK's data slot into FILE;
# write_store_block STORE BLOCK FILE: FILE into it.
read_store_block()
{
	dd if="$1" of="$3" bs=1 skip=$((DATA_AT + $2 * 4096)) count=4096 \
		status=none
}

write_store_block()
{
	dd if="$3" of="$1" bs=1 seek=$((DATA_AT + $2 * 4096)) count=4096 \
		conv=notrunc status=none
}

# write_blocks BLOCK COUNT: random data to the device and the reference.
write_blocks()
{
	dd if=/dev/urandom of=/tmp/wb.data bs=4k count="$2" status=none
	dd if=/tmp/wb.data of=/dev/qrep0 bs=4k seek="$1" oflag=direct status=none ||
		{ echo "writing blocks $1+$2 failed"; return 1; }
	dd if=/tmp/wb.data of="$REF" bs=4k seek="$1" conv=notrunc status=none
}

# reads_match BLOCK COUNT TIMES: O_DIRECT reads of the device give the
# reference, every time.
reads_match()
{
	local k
	for k in $(seq 1 "$3"); do
		dd if=/dev/qrep0 of=/tmp/rd.data bs=4k skip="$1" count="$2" \
			iflag=direct status=none ||
			{ echo "read $k of blocks $1+$2 failed"; return 1; }
		# (No process substitution: the VM has no /dev/fd.)
		dd if="$REF" of=/tmp/rd.ref bs=4k skip="$1" count="$2" status=none
		cmp -s /tmp/rd.data /tmp/rd.ref ||
			{ echo "read $k of blocks $1+$2 is not what was written"; return 1; }
	done
}

version_above() { [ "$(record_version "$1" "$2")" -gt "$3" ]; }

setup()
{
	targets_setup 3 "$SIZE" "$IO_TIMEOUT" || return 1
	sed -i 's/^mode .*/mode quorum/' "$QREP_CONF"
	echo "write-quorum 2" >>"$QREP_CONF"
	echo "read-quorum 2" >>"$QREP_CONF"
	rm -f "$REF"
	truncate -s "$SIZE" "$REF"
	qrepctl up -c "$QREP_CONF" || { cat "$QREP_CONF"; return 1; }
	write_blocks 0 64
}

# 1. A power loss at target a while block 7 was rewritten: the new record
# reached its disk, the new data did not.
crash_with_torn_block()
{
	local store old
	store=$(target_store 0)
	read_store_block "$store" 7 /tmp/a7.old || return 1
	old=$(record_version "$store" 7)
	write_blocks 7 1 || return 1
	# W=2: a's copy may still be on its way.
	wait_for 10 version_above "$store" 7 "$old" ||
		{ echo "a did not take the rewrite of block 7"; return 1; }
	target_kill 0 || return 1
	write_store_block "$store" 7 /tmp/a7.old
}

restart_finds_it()
{
	local log=$TARGETS_DIR/a.log
	target_start 0 || return 1
	grep 'torn' "$log" | sed 's/^/  /'
	grep -q 'block 7: data does not match its record' "$log" &&
		grep -q ': 1 torn' "$log" ||
		{ echo "a did not report block 7 torn"; tail -n 5 "$log"; return 1; }
	qrep-store versions --store "$(target_store 0)" --from 7 --count 1 |
		grep -qx '7 0 crc-bad' ||
		{ echo "a's block 7 is not held at version 0"; return 1; }
}

# a back, stale and not resynced: every read quorum but {b, c} holds it.
reads_take_the_good_copy()
{
	wait_for 30 state_is a failed ||
		{ echo "a was not failed"; qrepctl status 0; return 1; }
	qrepctl reconnect --no-resync -c "$QREP_CONF" a || return 1
	state_is a stale || { echo "a is not stale"; qrepctl status 0; return 1; }
	reads_match 0 64 6
}

resync_repairs_it()
{
	qrepctl resync -c "$QREP_CONF" || return 1
	wait_for "$RESYNC_WAIT_SEC" state_is a up-to-date ||
		{ echo "a is not up to date"; qrepctl status 0; return 1; }
	qrepctl verify -c "$QREP_CONF" || { echo "qrepctl verify found differences"; return 1; }
	qrep-store versions --store "$(target_store 0)" --from 7 --count 1 |
		grep -q ' crc-ok$' || { echo "a's block 7 was not repaired"; return 1; }
	reads_match 0 64 1
}

# 2. On a running target, block 20's record claims a version above every
# replica's and its data does not match it (a torn block a target did
# not check, or one damaged since). Every read quorum but {b, c} holds a.
corrupt_record_at_running_target()
{
	local store v
	store=$(target_store 0)
	v=$(record_version "$store" 20)
	[ "$v" -gt 0 ] || { echo "block 20 has no version on a"; return 1; }
	set_record_version "$store" 20 $((v + 1))
	dd if=/dev/urandom of=/tmp/junk bs=4k count=1 status=none
	write_store_block "$store" 20 /tmp/junk
}

reads_do_not_fail() { reads_match 16 8 6; }

# 3. Fresh stores in MODE (N=3; W=R=2 in quorum mode), block 40 written.
setup_mode()
{
	targets_teardown
	targets_setup 3 "$SIZE" "$IO_TIMEOUT" || return 1
	if [ "$1" = quorum ]; then
		sed -i 's/^mode .*/mode quorum/' "$QREP_CONF"
		echo "write-quorum 2" >>"$QREP_CONF"
		echo "read-quorum 2" >>"$QREP_CONF"
	fi
	qrepctl up -c "$QREP_CONF" || { cat "$QREP_CONF"; return 1; }
	write_block "$ALL_TORN_BLOCK" 17
}

# Every target loses power with the rewrite of the block in flight: the
# new record and the write-intent bit on its disk, the data another mix
# on each (bytes 0x41, 0x42, 0x43). Each restart finds the block torn.
tear_everywhere()
{
	local i store old=() log
	for i in 0 1 2; do
		old[i]=$(record_version "$(target_store "$i")" "$ALL_TORN_BLOCK")
	done
	write_block "$ALL_TORN_BLOCK" 99 || return 1
	for i in 0 1 2; do
		store=$(target_store "$i")
		wait_for 10 version_above "$store" "$ALL_TORN_BLOCK" "${old[i]}" ||
			{ echo "target $i did not take the rewrite"; return 1; }
	done
	for i in 0 1 2; do
		target_kill "$i" || return 1
	done
	qrepctl down -c "$QREP_CONF" || return 1
	for i in 0 1 2; do
		head -c 4096 /dev/zero | tr '\0' "\\$(printf '%03o' $((65 + i)))" \
			>/tmp/junk
		write_store_block "$(target_store "$i")" "$ALL_TORN_BLOCK" /tmp/junk
	done
	for i in 0 1 2; do
		log=$TARGETS_DIR/${TARGET_NAMES[$i]}.log
		target_start "$i" || return 1
		grep -q "block $ALL_TORN_BLOCK: data does not match its record" "$log" ||
			{ echo "target $i did not find the block torn"; tail -n 5 "$log"; return 1; }
	done
}

# qrepctl up: every replica up to date, verify finds no difference.
up_settles_it()
{
	local name
	qrepctl up -c "$QREP_CONF" || return 1
	for name in a b c; do
		state_is "$name" up-to-date ||
			{ echo "replica $name is not up to date"; qrepctl status 0; return 1; }
	done
	qrepctl verify -c "$QREP_CONF" ||
		{ echo "qrepctl verify found differences"; return 1; }
}

# Every read of the block returns zeros, and the stores are identical.
reads_stable_stores_equal()
{
	reads_return "$ALL_TORN_BLOCK" "$(pattern_sum 0)" "something else than zeros" ||
		return 1
	stores_identical_at_rest
}

ktap_plan 13
qrep_load
if ! setup >/tmp/setup.out 2>&1; then
	sed 's/^/# /' /tmp/setup.out
	ktap_diag "set-up failed"
	ktap_finish
fi
ktap_test "a crashes with block 7 torn (new record, old data)" crash_with_torn_block
ktap_test "restarted, a reports block 7 torn and held at version 0" restart_finds_it
ktap_test "a back, stale: quorum reads return what was written" reads_take_the_good_copy
ktap_test "qrepctl resync repairs a; qrepctl verify agrees" resync_repairs_it
ktap_test "the three stores are identical" stores_identical_at_rest
ktap_test "a running target's record vouches for data it does not hold" corrupt_record_at_running_target
ktap_test "quorum reads return the valid copy, not EIO" reads_do_not_fail
for mode in quorum mirror; do
	if ! setup_mode "$mode" >/tmp/setup.out 2>&1; then
		sed 's/^/# /' /tmp/setup.out
		ktap_diag "$mode set-up failed"
		ktap_finish
	fi
	ktap_test "$mode: every target keeps block $ALL_TORN_BLOCK torn, each other bytes" tear_everywhere
	ktap_test "$mode: qrepctl up settles it; every replica up to date, verify agrees" up_settles_it
	ktap_test "$mode: reads of it return zeros every time; the stores are identical" reads_stable_stores_equal
done
targets_teardown
qrep_unload
ktap_finish
