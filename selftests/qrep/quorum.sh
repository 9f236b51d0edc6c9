#!/bin/bash
# Quorum mode (mode quorum: write quorum W, read quorum R of N replicas)
# under network partitions made with selftests/lib/partition.sh: the
# targets keep running, their packets are dropped, and the device finds
# out through its io-timeout, as it would behind a dead switch.
#
#  1. N=3 majority, one target cut off: reads and writes go on; healed,
#     qrepd resyncs it; every block reads back what was last written.
#  2. Two of three cut off: with on-no-quorum suspend, writes and reads
#     are held (status and events say so) and complete after the heal;
#     with on-no-quorum error, they fail with EIO.
#  3. A replica reconnected with --no-resync lends nothing to reads until
#     resynced: with another cut off, reads are held, then return the
#     newest data once it is resynced.
#  4. W=3, R=1: one target cut off holds writes, not reads; qrepctl up
#     refuses W=1 of 3 and R+W <= N, naming the rule.
#  5. ext4 under fio verify while one target's link flaps.
#  6. N=5, W=3, R=3: two cut off, service goes on; three, writes held.
#
# Like every vm test, it also fails if the guest kernel log shows a BUG,
# WARNING, Oops, hung task (qemu/run-vm checks the console log).
#
# Not in selftests/TESTS until quorum mode lands; then, for example:
#   quorum  vm  full  1500  selftests/qrep/quorum.sh
# (about 12 minutes under TCG on an idle 2-core machine, by the mirror-mode
# dry run of cases 1 and 5: 110 s and 165 s).
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"
. "$QREP_ROOT/selftests/lib/targets.sh"
. "$QREP_ROOT/selftests/lib/partition.sh"

SIZE=64M
SIZE_MIB=64
IO_TIMEOUT_SEC=2
# The longest an I/O that meets a cut may take before it completes or
# fails: the io-timeout plus a lot of slack for TCG.
DEADLINE_SEC=$((IO_TIMEOUT_SEC * 10))
# How long a held request must stay held to count as held: several
# io-timeouts, so that no timeout could still be about to complete it.
HOLD_SEC=$((IO_TIMEOUT_SEC * 3))
# How long qrepd may take to reconnect and resync a healed replica.
RESYNC_WAIT_SEC=120
# What the test wrote to the device, byte for byte (fresh stores read as
# zeros): every read of the device must give this.
REF=/tmp/quorum-ref
MNT=/tmp/quorum-mnt
# A flapping link: cut this long, then healed this long.
FLAP_CUT_SEC=4
FLAP_UP_SEC=4
FLAP_STOP=/tmp/flap.stop

SETUP_OK=0
EVENTS_PID=""
QREPD_PID=""
FLAP_PID=""

# --- set-up and clean-up (in the main shell, so that every pid is ours) --

# quorum_conf W R POLICY: turn the mirror resource file of targets.sh into
# a quorum one; an empty W, R or POLICY leaves that setting to its default.
quorum_conf()
{
	sed -i -e 's/^mode .*/mode quorum/' \
		-e '/^\(write-quorum\|read-quorum\|on-no-quorum\|reconnect-interval\) /d' \
		"$QREP_CONF"
	{
		[ -z "$1" ] || echo "write-quorum $1"
		[ -z "$2" ] || echo "read-quorum $2"
		[ -z "$3" ] || echo "on-no-quorum $3"
		echo "reconnect-interval 1s"
	} >>"$QREP_CONF"
}

# quorum_setup N W R POLICY: N fresh targets, the device up, events logged.
quorum_setup()
{
	SETUP_OK=0
	targets_setup "$1" "$SIZE" "${IO_TIMEOUT_SEC}s" || return 1
	quorum_conf "$2" "$3" "$4"
	rm -f "$REF"
	truncate -s "$SIZE" "$REF"
	qrepctl up -c "$QREP_CONF" || { cat "$QREP_CONF"; return 1; }
	qrepctl status 0
	qrepctl events >/tmp/events 2>&1 &
	EVENTS_PID=$!
	SETUP_OK=1
}

start_qrepd()
{
	qrepd -c "$QREP_CONF" >/tmp/qrepd.log 2>&1 &
	QREPD_PID=$!
	wait_for 20 grep -q 'watching /dev/qrep0' /tmp/qrepd.log ||
		{ cat /tmp/qrepd.log; return 1; }
}

# stop_flapping: ask the flapping loop to stop, and wait until it has
# healed its target (it may be called from a case's subshell, which cannot
# wait for the main shell's children).
stop_flapping()
{
	[ -n "$FLAP_PID" ] || return 0
	touch "$FLAP_STOP"
	wait_for $((FLAP_CUT_SEC + FLAP_UP_SEC + 20)) grep -q '^stopped' /tmp/flap.log ||
		{ echo "the flapping loop did not stop"; return 1; }
}

# A zombie (exited, not yet reaped by the main shell) has an empty cmdline.
pid_gone() { [ -z "$(tr -d '\0' 2>/dev/null </proc/"$1"/cmdline)" ]; }

# stop_qrepd: for a case (a subshell): qrepd is gone when this returns.
stop_qrepd()
{
	[ -n "$QREPD_PID" ] || return 0
	kill "$QREPD_PID" 2>/dev/null
	wait_for 20 pid_gone "$QREPD_PID" || { echo "qrepd did not stop"; return 1; }
}

quorum_teardown()
{
	stop_flapping
	[ -z "$FLAP_PID" ] || wait "$FLAP_PID" 2>/dev/null
	FLAP_PID=""
	[ -z "$QREPD_PID" ] || { kill "$QREPD_PID"; wait "$QREPD_PID"; } 2>/dev/null
	[ -z "$EVENTS_PID" ] || { kill "$EVENTS_PID"; wait "$EVENTS_PID"; } 2>/dev/null
	QREPD_PID="" EVENTS_PID=""
	partition_heal_all
	! mountpoint -q "$MNT" || umount "$MNT"
	targets_teardown
	SETUP_OK=0
}
trap 'quorum_teardown >/dev/null 2>&1' EXIT

# case_setup N W R POLICY [qrepd]: quorum_setup, its output as diagnostics;
# with "qrepd", qrepd runs in the background too.
case_setup()
{
	local rc
	if quorum_setup "$1" "$2" "$3" "$4" >/tmp/setup.out 2>&1; then
		rc=0
		[ "${5:-}" != qrepd ] || start_qrepd >>/tmp/setup.out 2>&1 || rc=1
	else
		rc=1
	fi
	sed 's/^/# /' /tmp/setup.out
	[ "$rc" -eq 0 ] || SETUP_OK=0
	return "$rc"
}

# qtest DESCRIPTION FUNCTION: one KTAP case, failed at once if the case's
# set-up failed.
qtest()
{
	if [ "$SETUP_OK" = 1 ]; then
		ktap_test "$@"
	else
		ktap_diag "the set-up of this case failed"
		ktap_report "$1" 1
	fi
}

# --- data ----------------------------------------------------------------

# write_blocks BLOCK COUNT: COUNT random 4 KiB blocks at BLOCK, to the
# device and to the reference.
write_blocks()
{
	dd if=/dev/urandom of=/tmp/wb.data bs=4k count="$2" status=none
	dd if=/tmp/wb.data of=/dev/qrep0 bs=4k seek="$1" oflag=direct status=none ||
		{ echo "writing blocks $1..$(($1 + $2 - 1)) failed"; return 1; }
	dd if=/tmp/wb.data of="$REF" bs=4k seek="$1" conv=notrunc status=none
}

# write_spread SEED: 16 runs of 64 blocks spread over the first 32 MiB.
write_spread()
{
	local i
	for i in $(seq 0 15); do
		write_blocks $(((i * 509 + $1 * 37) % 8100)) 64 || return 1
	done
}

# device_matches_ref [MIB]: the first MIB (default all) of the device read
# back, against what was written.
device_matches_ref()
{
	local mib=${1:-$SIZE_MIB} want got first
	want=$(head -c $((mib * 1048576)) "$REF" | sha256sum)
	dd if=/dev/qrep0 of=/tmp/dev.img bs=1M count="$mib" iflag=direct status=none ||
		{ echo "reading the device failed"; return 1; }
	got=$(sha256sum </tmp/dev.img)
	if [ "$got" != "$want" ]; then
		# (No process substitution: the VM has no /dev/fd.)
		first=$(head -c $((mib * 1048576)) "$REF" | cmp /tmp/dev.img - |
			awk '{ sub(",", "", $5); print $5 }')
		echo "the device does not read back what was written: first difference at byte $first (block $(((first - 1) / 4096)))"
		rm -f /tmp/dev.img
		return 1
	fi
	rm -f /tmp/dev.img
}

# --- status, events, background I/O ---------------------------------------

quorum_status() { qrepctl status 0 | grep 'quorum:'; }
held() { quorum_status | sed -n 's/.*held \([0-9][0-9]*\).*/\1/p'; }
held_at_least() { [ "$(held)" -ge "$1" ] 2>/dev/null; }
write_quorum() { quorum_status | grep -q "write quorum $1"; }
read_quorum() { quorum_status | grep -q "read quorum $1"; }

# still_held NAME...: no background I/O NAME has completed after HOLD_SEC.
# The fixed wait is the point: nothing may complete them in that time.
still_held()
{
	local name rc=0
	sleep "$HOLD_SEC"
	for name in "$@"; do
		if bg_done "$name"; then
			echo "$name completed (status $(bg_rc "$name")) although it should be held:"
			cat "/tmp/$name.out"
			rc=1
		fi
	done
	return "$rc"
}

# held_write NAME BLOCK: write one new block in the background; the
# reference is updated once it has completed (held_write_done).
held_write()
{
	dd if=/dev/urandom of="/tmp/$1.data" bs=4k count=1 status=none
	bg "$1" dd if="/tmp/$1.data" of=/dev/qrep0 bs=4k seek="$2" oflag=direct status=none
}

held_write_done()
{
	local block=$2
	wait_for "$DEADLINE_SEC" bg_done "$1" ||
		{ echo "$1 is still not complete"; qrepctl status 0; return 1; }
	[ "$(bg_rc "$1")" = 0 ] || { echo "$1 failed:"; cat "/tmp/$1.out"; return 1; }
	dd if="/tmp/$1.data" of="$REF" bs=4k seek="$block" conv=notrunc status=none
}

# reconnect NAME...: hand each named replica a fresh connection.
reconnect()
{
	local r
	for r in "$@"; do
		qrepctl reconnect -c "$QREP_CONF" "$r" || return 1
	done
}

# wait_failed NAME...: each named replica is failed (by the io-timeout).
wait_failed()
{
	local r
	for r in "$@"; do
		wait_for "$DEADLINE_SEC" state_is "$r" failed ||
			{ echo "replica $r was not failed"; qrepctl status 0; return 1; }
	done
}

wait_up_to_date()
{
	local r
	for r in "$@"; do
		wait_for "$RESYNC_WAIT_SEC" state_is "$r" up-to-date ||
			{ echo "replica $r is not up to date"; qrepctl status 0; return 1; }
	done
}

FIO_REGION=(--filename=/dev/qrep0 --direct=1 --ioengine=libaio --rw=randwrite
	--bs=4k --iodepth=8 --offset=32M --size=16M --randseed=11
	--verify=crc32c --verify_fatal=1 --output-format=terse)

# --- 1. N=3 majority, one target cut off -----------------------------------

majority_one_cut()
{
	quorum_status | grep -q 'W=2 R=2 of N=3, on-no-quorum suspend' ||
		{ echo "status does not show the default majority:"; qrepctl status 0; return 1; }
	write_spread 1 || return 1
	partition_cut 2 || return 1
	fio --name=cut "${FIO_REGION[@]}" >/tmp/fio.out 2>&1 ||
		{ echo "fio verify failed with c cut off:"; cat /tmp/fio.out; return 1; }
	write_spread 2 || return 1
	wait_failed c || return 1
	write_quorum yes && read_quorum yes ||
		{ echo "two of three live, but a quorum is reported missing"; quorum_status; return 1; }
	device_matches_ref 32
}

majority_healed()
{
	partition_heal 2 || return 1
	wait_up_to_date c || return 1
	grep 'replica c' /tmp/qrepd.log
	device_matches_ref 32 || return 1
	fio --name=cut "${FIO_REGION[@]}" --verify_only=1 >/tmp/fio.out 2>&1 ||
		{ echo "fio's region no longer verifies:"; cat /tmp/fio.out; return 1; }
	stop_qrepd || return 1
	qrepctl down -c "$QREP_CONF" && stores_identical
}

# --- 2. two of three cut off ------------------------------------------------

two_cut_suspend_held()
{
	write_spread 3 || return 1
	partition_cut 1 && partition_cut 2 || return 1
	held_write hw 100
	wait_for "$DEADLINE_SEC" write_quorum no ||
		{ echo "status never showed 'write quorum no'"; qrepctl status 0; return 1; }
	wait_for "$DEADLINE_SEC" held_at_least 1 ||
		{ echo "status never showed a held request"; qrepctl status 0; return 1; }
	# A read needs R=2 of the one replica left: held too. (Both are
	# watched in one hold period, to keep them short of the VM's 60 s
	# hung-task limit on a loaded machine.)
	bg hr dd if=/dev/qrep0 of=/tmp/hr.data bs=4k skip=200 count=1 iflag=direct status=none
	wait_for "$DEADLINE_SEC" held_at_least 2 ||
		{ echo "the read is not counted as held"; qrepctl status 0; return 1; }
	still_held hw hr || return 1
	read_quorum no || { echo "status does not show 'read quorum no'"; return 1; }
	qrepctl status 0
	grep 'event=quorum-lost' /tmp/events || { echo "no quorum-lost event"; return 1; }
}

two_cut_suspend_healed()
{
	partition_heal 1 && partition_heal 2 || return 1
	held_write_done hw 100 || return 1
	wait_for "$DEADLINE_SEC" bg_done hr && [ "$(bg_rc hr)" = 0 ] ||
		{ echo "the held read did not complete"; cat /tmp/hr.out; return 1; }
	dd if="$REF" bs=4k skip=200 count=1 status=none | cmp /tmp/hr.data - ||
		{ echo "the held read returned wrong data"; return 1; }
	wait_for "$DEADLINE_SEC" write_quorum yes || return 1
	[ "$(held)" = 0 ] || { echo "still held: $(held)"; return 1; }
	grep 'event=quorum-regained' /tmp/events || { echo "no quorum-regained event"; return 1; }
	# Nothing lost: every block as written. Nothing duplicated: a newer
	# write of the held block stays, once the replicas are resynced.
	write_blocks 100 1 || return 1
	wait_up_to_date b c || return 1
	device_matches_ref || return 1
	stop_qrepd || return 1
	qrepctl down -c "$QREP_CONF" && stores_identical
}

two_cut_error_eio()
{
	local start rc
	quorum_status | grep -q 'on-no-quorum error' ||
		{ echo "status does not show on-no-quorum error"; qrepctl status 0; return 1; }
	write_spread 4 || return 1
	partition_cut 1 && partition_cut 2 || return 1
	start=$SECONDS
	timeout $((DEADLINE_SEC * 2)) dd if=/dev/urandom of=/dev/qrep0 bs=4k seek=300 \
		count=1 oflag=direct status=none 2>/tmp/dd.err && rc=0 || rc=$?
	cat /tmp/dd.err
	echo "the write returned $rc after $((SECONDS - start))s"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q 'Input/output error' /tmp/dd.err ||
		{ echo "the write did not fail with EIO"; return 1; }
	[ $((SECONDS - start)) -le "$DEADLINE_SEC" ] || { echo "too slow"; return 1; }
	timeout "$DEADLINE_SEC" dd if=/dev/qrep0 of=/dev/null bs=4k skip=10 count=1 \
		iflag=direct status=none 2>/tmp/dd.err && rc=0 || rc=$?
	cat /tmp/dd.err
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q 'Input/output error' /tmp/dd.err ||
		{ echo "the read did not fail with EIO"; return 1; }
	grep 'event=quorum-lost' /tmp/events || { echo "no quorum-lost event"; return 1; }
	[ "$(held)" = 0 ] || { echo "requests held under on-no-quorum error"; return 1; }
	partition_heal_all || return 1
	reconnect b c || return 1
	# The failed write may or may not have reached a: a write that failed
	# is undefined. Overwrite it; then everything must read back.
	write_blocks 300 1 || return 1
	device_matches_ref
}

# --- 3. a replica that rejoined lends nothing to reads until resynced -----

# c comes back with --no-resync (its resync not done yet). It may hold a
# deposed primary's writes (Documentation/durability.rst, D3), so no read
# asks it until its resync has finished: with a and b live, reads go on
# from them; with a cut off too, b alone is short of R=2 and reads are
# held (on-no-quorum suspend), then resume with the newest data once c
# is resynced.
rejoined_replica_reads_held_until_resynced()
{
	write_spread 5 || return 1
	# c misses many writes.
	partition_cut 2 || return 1
	write_spread 6 && write_spread 7 || return 1
	wait_failed c || return 1
	partition_heal 2 || return 1
	qrepctl reconnect --no-resync -c "$QREP_CONF" c || return 1
	state_is c stale || { echo "c is not stale"; qrepctl status 0; return 1; }
	device_matches_ref || { echo "(reading from a and b, c not resynced)"; return 1; }
	# a is cut off: b alone is no read quorum, and c does not count yet.
	partition_cut 0 || return 1
	bg hr dd if=/dev/qrep0 of=/tmp/hr.data bs=4k skip=200 count=1 iflag=direct status=none
	wait_for "$DEADLINE_SEC" held_at_least 1 ||
		{ echo "the read is not held with b and unresynced c"; qrepctl status 0; return 1; }
	still_held hr || return 1
	read_quorum no || { echo "status does not show 'read quorum no'"; qrepctl status 0; return 1; }
	wait_failed a || return 1
	qrepctl resync -c "$QREP_CONF" || return 1
	wait_for "$DEADLINE_SEC" bg_done hr && [ "$(bg_rc hr)" = 0 ] ||
		{ echo "the held read did not complete once c was resynced"; cat /tmp/hr.out; return 1; }
	dd if="$REF" bs=4k skip=200 count=1 status=none | cmp /tmp/hr.data - ||
		{ echo "the held read returned wrong data"; return 1; }
	device_matches_ref || { echo "(a cut off, reading from b and resynced c)"; return 1; }
	write_spread 8 || return 1
	device_matches_ref || { echo "(a cut off, after new writes)"; return 1; }
	partition_heal 0 || return 1
	reconnect a || return 1
	qrepctl resync -c "$QREP_CONF" || return 1
	device_matches_ref || return 1
	qrepctl down -c "$QREP_CONF" && stores_identical
}

# --- 4. write-all, read-one ------------------------------------------------

write_all_read_one()
{
	quorum_status | grep -q 'W=3 R=1 of N=3' ||
		{ echo "status does not show W=3 R=1"; qrepctl status 0; return 1; }
	write_spread 9 || return 1
	partition_cut 2 || return 1
	held_write hw 500
	wait_for "$DEADLINE_SEC" write_quorum no ||
		{ echo "status never showed 'write quorum no'"; qrepctl status 0; return 1; }
	read_quorum yes || { echo "one replica left of R=1, yet no read quorum"; return 1; }
	# Reads go on while the write is held (block 500 is not compared:
	# its new version is not complete).
	dd if=/dev/qrep0 of=/tmp/dev.img bs=4k count=500 iflag=direct status=none ||
		{ echo "a read failed with one replica cut off"; return 1; }
	head -c $((500 * 4096)) "$REF" | cmp /tmp/dev.img - ||
		{ echo "reads returned wrong data"; return 1; }
	bg_done hw && { echo "the write completed on two of W=3"; return 1; }
	held_at_least 1 || { echo "status shows nothing held"; qrepctl status 0; return 1; }
	partition_heal 2 || return 1
	reconnect c || return 1
	held_write_done hw 500 || return 1
	device_matches_ref
}

refuses_bad_quorums()
{
	local rc=0
	qrepctl down -c "$QREP_CONF" || return 1
	cp "$QREP_CONF" /tmp/bad.conf
	sed -i -e 's/^write-quorum .*/write-quorum 1/' -e 's/^read-quorum .*/read-quorum 3/' /tmp/bad.conf
	if qrepctl up -c /tmp/bad.conf >/tmp/up.out 2>&1; then
		echo "W=1 of N=3 was accepted"; rc=1
	fi
	cat /tmp/up.out
	grep -q '2W > N' /tmp/up.out || { echo "the message does not name 2W > N"; rc=1; }
	sed -i -e 's/^write-quorum .*/write-quorum 2/' -e 's/^read-quorum .*/read-quorum 1/' /tmp/bad.conf
	if qrepctl up -c /tmp/bad.conf >/tmp/up.out 2>&1; then
		echo "W=2 R=1 of N=3 was accepted"; rc=1
	fi
	cat /tmp/up.out
	grep -q 'R + W > N' /tmp/up.out || { echo "the message does not name R + W > N"; rc=1; }
	! qrepctl status 2>&1 | grep -q '^qrep0:' ||
		{ echo "a refused set-up left qrep0 behind"; qrepctl status; rc=1; }
	return "$rc"
}

# --- 5. ext4 while one link flaps ------------------------------------------

# flap I: cut and heal target I's link, one period after another, until
# FLAP_STOP exists; healed when it returns. The sleeps are the flapping.
flap()
{
	while [ ! -e "$FLAP_STOP" ]; do
		partition_cut "$1" || break
		echo "$(date +%T) cut ${TARGET_NAMES[$1]}"
		sleep "$FLAP_CUT_SEC"
		partition_heal "$1" || break
		echo "$(date +%T) healed ${TARGET_NAMES[$1]}"
		sleep "$FLAP_UP_SEC"
	done
	partition_heal "$1"
	echo "stopped"
}

ext4_flapping()
{
	local rc=0
	mkfs.ext4 -q -F /dev/qrep0 || return 1
	mkdir -p "$MNT"
	mount /dev/qrep0 "$MNT" || return 1
	fio --name=fs --directory="$MNT" --size=24M --loops=2 --bs=4k \
		--rw=randwrite --ioengine=libaio --direct=1 --iodepth=8 \
		--verify=crc32c --verify_fatal=1 --output-format=terse \
		>/tmp/fio.out 2>&1 || { echo "fio verify failed:"; cat /tmp/fio.out; rc=1; }
	stop_flapping || rc=1
	cat /tmp/flap.log
	grep -q 'event=replica-failed device=qrep0 replica=2 ' /tmp/events ||
		{ echo "c never failed: the flapping did not reach the device"; rc=1; }
	umount "$MNT" || return 1
	wait_up_to_date c || return 1
	fsck.ext4 -f -n /dev/qrep0 || { echo "fsck found problems"; rc=1; }
	stop_qrepd || return 1
	qrepctl down -c "$QREP_CONF" && stores_identical || rc=1
	return "$rc"
}

# --- 6. N=5, W=3, R=3 --------------------------------------------------------

five_two_cut()
{
	quorum_status | grep -q 'W=3 R=3 of N=5' ||
		{ echo "status does not show W=3 R=3 of N=5"; qrepctl status 0; return 1; }
	write_spread 10 || return 1
	partition_cut 3 && partition_cut 4 || return 1
	write_spread 11 || return 1
	wait_failed d e || return 1
	write_quorum yes && read_quorum yes || { quorum_status; return 1; }
	device_matches_ref
}

five_three_cut()
{
	partition_cut 2 || return 1
	held_write hw 700
	wait_for "$DEADLINE_SEC" write_quorum no ||
		{ echo "status never showed 'write quorum no'"; qrepctl status 0; return 1; }
	wait_for "$DEADLINE_SEC" held_at_least 1 || { qrepctl status 0; return 1; }
	still_held hw || return 1
	partition_heal 2 || return 1
	reconnect c || return 1
	held_write_done hw 700 || return 1
	partition_heal_all || return 1
	reconnect d e || return 1
	device_matches_ref || return 1
	qrepctl down -c "$QREP_CONF" && stores_identical
}

ktap_plan 11
need_modules ext4
qrep_load
ktap_assert "nftables cuts links (every case uses it)" partition_setup

case_setup 3 "" "" "" qrepd
qtest "N=3 majority, c cut off: fio verify and reads of what was written go on" majority_one_cut
qtest "N=3 majority, c healed: qrepd resyncs it, every block reads back, stores identical" majority_healed
quorum_teardown >/dev/null 2>&1

case_setup 3 "" "" suspend qrepd
qtest "two of three cut off, suspend: a write and a read are held; status, events say so" two_cut_suspend_held
qtest "two of three healed: held I/O completes, nothing lost or duplicated" two_cut_suspend_healed
quorum_teardown >/dev/null 2>&1

case_setup 3 "" "" error
qtest "two of three cut off, on-no-quorum error: writes and reads fail with EIO" two_cut_error_eio
quorum_teardown >/dev/null 2>&1

case_setup 3 "" "" ""
qtest "a replica back with --no-resync serves no reads: with another cut off, reads held until its resync, then the newest data" rejoined_replica_reads_held_until_resynced
quorum_teardown >/dev/null 2>&1

case_setup 3 3 1 suspend
qtest "W=3 R=1, c cut off: writes held, reads go on; healed, the write completes" write_all_read_one
qtest "qrepctl up refuses W=1 of 3 and R+W <= N, naming the rule" refuses_bad_quorums
quorum_teardown >/dev/null 2>&1

case_setup 3 "" "" "" qrepd
rm -f "$FLAP_STOP"
[ "$SETUP_OK" = 0 ] || { flap 2 >/tmp/flap.log 2>&1 & FLAP_PID=$!; }
qtest "ext4 under fio verify while c's link flaps: verify clean, fsck clean" ext4_flapping
quorum_teardown >/dev/null 2>&1

case_setup 5 3 3 ""
qtest "N=5 W=3 R=3, d and e cut off: reads and writes go on" five_two_cut
qtest "N=5, c cut off too: a write is held; healed, it completes" five_three_cut
quorum_teardown >/dev/null 2>&1
ktap_finish
