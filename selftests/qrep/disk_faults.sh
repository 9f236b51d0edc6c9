#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The cases are functions that ktap_test calls.
# shellcheck disable=SC2317
#
# Disk faults under the stores: device-mapper between a target's store
# and its persistent disk (selftests/lib/dm.sh), its table swapped while
# a mirror of three replicas runs on loopback in one VM.
#
#   store a: a file on ext4 on dm "qf-a" on persistent disk 0
#   store b: dm "qf-b" itself (a raw block-device store) on disk 1
#   store c: a file on ext4 on persistent disk 2 (no fault, ever)
#   /dev/qrep0: mirror of a, b, c; every write here is O_DIRECT and
#   fsync'd (a FLUSH), and kept in a reference file the reads are
#   checked against
#
#  1-4  b's disk dies (dm-error) under a write. The write succeeds (a and
#       c have it), b is failed and says why (qrepctl status: "I/O error
#       on the store"; b's log: its failed fdatasync), what was fsync'd
#       reads back. Its disk repaired, the same target process must not
#       take b back (a failed fdatasync fails the store until the target
#       restarts: what it had in its page cache may never have reached
#       the disk, and a second fdatasync would not say so). Restarted,
#       b is resynced; verify agrees.
#  5-6  a's disk fails every write for a window (dm-flakey error_writes,
#       a file on ext4): a is failed and says why; after the window the
#       operator's remedy (target stopped, ext4 checked, target
#       restarted) brings it back through a resync.
#  7-8  b's disk drops writes for a window (dm-flakey drop_writes): the
#       disk lies, the writes are acknowledged. Once b's page cache is
#       gone, qrepctl verify names the blocks b lost, --repair rewrites
#       them from the newest copy, and reads return what was written.
#  9-11 b's disk is slow (dm-delay): below io-timeout b stays up to date
#       while writes wait for it; well above io-timeout it is failed
#       naming the timeout, writes go on without it; restarted on a
#       healthy disk it is resynced. The three stores end identical.
#
# Runs on the host as a test of its own (selftests/TESTS: disk-faults):
# makes three disk files, boots one VM with them (qemu/run-vm --disk) and
# runs itself inside. Like every VM run, it also fails if the guest
# kernel log shows a BUG, WARNING, Oops or hung task.
set -u

if [ -z "${QREP_VM:-}" ]; then
	ROOT=$(cd -P "$(dirname "$0")/../.." && pwd)
	# shellcheck source=selftests/lib/disk.sh
	. "$ROOT/selftests/lib/disk.sh"
	# The VM's time limit: inside the runner's own for this test.
	disk_vm_run disk-faults "${DISK_FAULTS_VM_TIMEOUT:-840}" 3 selftests/qrep/disk_faults.sh
	exit
fi

. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"
. "$QREP_ROOT/selftests/lib/targets.sh"
. "$QREP_ROOT/selftests/lib/disk.sh"
. "$QREP_ROOT/selftests/lib/dm.sh"

SIZE=64M
IO_TIMEOUT_SEC=5
# How long a replica may take to be failed once its disk fails: a
# request may wait io-timeout for it, then it is failed; twice that for
# a slow emulated machine.
FAIL_WAIT_SEC=$((IO_TIMEOUT_SEC * 2))
# A slow disk that must stay a live replica: every I/O of b's store
# waits a 25th of io-timeout. One that must be failed: three times it.
DELAY_LIVE_MS=$((IO_TIMEOUT_SEC * 1000 / 25))
DELAY_DEAD_MS=$((IO_TIMEOUT_SEC * 1000 * 3))
# A write the slow replica was failed under completes within this.
SLOW_WRITE_MAX_SEC=$((IO_TIMEOUT_SEC * 3))
# How long a resync of a few MiB may take under TCG.
RESYNC_WAIT_SEC=120
MNT_A=/run/qrep-df/a
REF=/tmp/disk-faults-ref
# The size of each request the tests' dd makes on /dev/qrep0.
IO_BYTES=256K
DEV_A="" DEV_B=""

target_store()
{
	case $1 in
	0) echo "$MNT_A/a.store" ;;
	1) echo "$DEV_B" ;;
	2) echo "$DISK_MNT_BASE/disk2/c.store" ;;
	esac
}

# write_blocks BLOCK COUNT: random data to the device, O_DIRECT, and an
# fsync (a FLUSH) before it returns; and to the reference.
write_blocks()
{
	dd if=/dev/urandom of=/tmp/wb.data bs=4k count="$2" status=none
	dd if=/tmp/wb.data of=/dev/qrep0 bs="$IO_BYTES" seek=$(($1 * 4096)) \
		oflag=direct,seek_bytes conv=fsync,notrunc status=none ||
		{ echo "writing blocks $1+$2 failed"; return 1; }
	dd if=/tmp/wb.data of="$REF" bs=4k seek="$1" conv=notrunc status=none
}

# reads_match BLOCK COUNT TIMES: O_DIRECT reads of the device give the
# reference, every time (the mirror spreads them over its replicas).
reads_match()
{
	local k
	for k in $(seq 1 "$3"); do
		dd if=/dev/qrep0 of=/tmp/rd.data bs="$IO_BYTES" skip=$(($1 * 4096)) \
			count=$(($2 * 4096)) iflag=direct,skip_bytes,count_bytes \
			status=none ||
			{ echo "read $k of blocks $1+$2 failed"; return 1; }
		dd if="$REF" of=/tmp/rd.ref bs=4k skip="$1" count="$2" status=none
		cmp -s /tmp/rd.data /tmp/rd.ref ||
			{ echo "read $k of blocks $1+$2 is not what was written"; return 1; }
	done
}

# last_error NAME: the last error qrepctl status shows for replica NAME.
last_error()
{
	qrepctl status 0 | awk -v n="$1" '
		$1 == "replica" { mine = $3 ~ "^" n "@" }
		mine && /last error:/ { sub(/.*last error: /, ""); print }'
}

# failed_because NAME TEXT: NAME is failed, its last error says TEXT.
failed_because()
{
	ktap_assert "$1 is failed" wait_for "$FAIL_WAIT_SEC" state_is "$1" failed ||
		{ qrepctl status 0; return 1; }
	echo "$1: last error: $(last_error "$1")"
	ktap_assert "$1's last error says '$2'" \
		bash -c "[[ \"\$1\" == *\"\$2\"* ]]" - "$(last_error "$1")" "$2"
}

others_up()
{
	local n
	for n in "$@"; do
		ktap_assert "$n is up to date" state_is "$n" up-to-date ||
			{ qrepctl status 0; return 1; }
	done
}

# back_in I: target I restarted on its store, reconnected and resynced;
# every replica up to date and verify finds nothing.
back_in()
{
	local n=${TARGET_NAMES[$1]}
	target_kill "$1" && target_start "$1" || return 1
	qrepctl reconnect -c "$QREP_CONF" "$n" || return 1
	ktap_assert "$n is resynced" wait_for "$RESYNC_WAIT_SEC" state_is "$n" up-to-date ||
		{ qrepctl status 0; return 1; }
	ktap_assert "qrepctl verify finds the replicas identical" \
		qrepctl verify -c "$QREP_CONF"
}

setup()
{
	need_modules ext4 || return 1
	DEV_A=$(dm_create qf-a "$(disk_dev 0)") || return 1
	DEV_B=$(dm_create qf-b "$(disk_dev 1)") || return 1
	mkfs.ext4 -q "$DEV_A" && mkdir -p "$MNT_A" &&
		mount -t ext4 "$DEV_A" "$MNT_A" || return 1
	disk_mount 2 >/dev/null || return 1
	targets_setup 3 "$SIZE" "${IO_TIMEOUT_SEC}s" || return 1
	rm -f "$REF"
	truncate -s "$SIZE" "$REF"
	qrepctl up -c "$QREP_CONF" || { cat "$QREP_CONF"; return 1; }
	write_blocks 0 1024
}

# 1-4: b's disk dies.
b_disk_dies()
{
	dm_set qf-b error || return 1
	dm_table qf-b
	ktap_assert "a write with b's disk dead succeeds" write_blocks 2048 256 || return 1
	failed_because b "I/O error on the store" || return 1
	grep -E 'fdatasync failed|Input/output error' "$TARGETS_DIR/b.log" | sed 's/^/  b: /'
	ktap_assert "b's log says its fdatasync failed and the store is failed" \
		grep -q 'fdatasync failed: Input/output error; the store is failed until restarted' \
		"$TARGETS_DIR/b.log" || return 1
	others_up a c
}

fsynced_reads_back() { reads_match 0 2304 3; }

# The disk works again, but b's store failed an fdatasync: the same
# process must refuse to serve as an up-to-date replica.
b_failed_store_stays_failed()
{
	dm_set qf-b linear || return 1
	# qrepctl reconnect returns once the resync is over, or failed.
	if qrepctl reconnect -c "$QREP_CONF" b >/tmp/reconnect.out 2>&1; then
		sed 's/^/  reconnect: /' /tmp/reconnect.out
		qrepctl status 0
		echo "b was resynced by the target whose store failed"
		return 1
	fi
	sed 's/^/  reconnect: /' /tmp/reconnect.out
	ktap_assert "b is failed again" wait_for "$FAIL_WAIT_SEC" state_is b failed ||
		{ qrepctl status 0; return 1; }
	echo "b: last error: $(last_error b)"
	ktap_assert "b's last error is its store's" \
		bash -c "[[ \"\$1\" == *'I/O error on the store'* ]]" - "$(last_error b)"
}

b_restarted() { back_in 1 && reads_match 0 2304 1; }

# 5-6: a's disk (ext4 under a file store) fails every write for a while.
a_disk_write_errors()
{
	dm_set qf-a error-writes || return 1
	dm_table qf-a
	ktap_assert "a write with a's disk failing writes succeeds" \
		write_blocks 3072 256 || return 1
	failed_because a "I/O error on the store" || return 1
	grep -E 'fdatasync|error' "$TARGETS_DIR/a.log" | sed 's/^/  a: /'
	others_up b c && reads_match 3072 256 3
}

# The operator's remedy once the disk works: stop the target, check its
# file system (it saw write errors), start the target again.
a_back_after_fsck()
{
	local rc
	dm_set qf-a linear || return 1
	target_kill 0 || return 1
	umount "$MNT_A" || return 1
	e2fsck -fy "$DEV_A" >/tmp/fsck.out 2>&1 && rc=0 || rc=$?
	sed 's/^/  fsck: /' /tmp/fsck.out
	# 0: clean, 1: errors corrected. Anything else: not usable.
	[ "$rc" -le 1 ] || { echo "e2fsck: status $rc"; return 1; }
	mount -t ext4 "$DEV_A" "$MNT_A" || return 1
	back_in 0 && reads_match 0 3328 1
}

# 7-8: b's disk acknowledges writes and drops them.
b_disk_drops_writes()
{
	dm_set qf-b drop-writes || return 1
	dm_table qf-b
	write_blocks 4096 64 || return 1
	dm_set qf-b linear || return 1
	# Nothing noticed: b's page cache still holds what its disk lost.
	others_up a b c
}

# b's cache gone (as after a power cut): the lost writes show.
verify_finds_lost_writes()
{
	blockdev --flushbufs "$DEV_B" && echo 3 >/proc/sys/vm/drop_caches || return 1
	if qrepctl verify -c "$QREP_CONF" >/tmp/verify.out 2>&1; then
		cat /tmp/verify.out
		echo "qrepctl verify found nothing wrong"
		return 1
	fi
	head -n 3 /tmp/verify.out
	tail -n 1 /tmp/verify.out
	ktap_assert "verify names b's blocks" grep -q '^block 4[01][0-9][0-9]: b holds version' \
		/tmp/verify.out || return 1
	qrepctl verify --repair -c "$QREP_CONF" >/tmp/repair.out 2>&1
	tail -n 1 /tmp/repair.out
	ktap_assert "qrepctl verify finds the replicas identical after --repair" \
		qrepctl verify -c "$QREP_CONF" || return 1
	reads_match 4096 64 6
}

# 9-11: b's disk is slow.
b_slow_but_live()
{
	local start ms
	dm_set qf-b delay "$DELAY_LIVE_MS" || return 1
	dm_table qf-b
	start=$(date +%s%N)
	write_blocks 5120 64 || return 1
	ms=$((($(date +%s%N) - start) / 1000000))
	echo "a write and its fsync took $ms ms (b's disk: $DELAY_LIVE_MS ms a request)"
	ktap_assert "the write waited for b's slow disk" [ "$ms" -ge "$DELAY_LIVE_MS" ] || return 1
	write_blocks 5184 64 && write_blocks 5248 64 || return 1
	others_up a b c
}

b_slower_than_io_timeout()
{
	local start
	dm_set qf-b delay "$DELAY_DEAD_MS" || return 1
	dm_table qf-b
	start=$SECONDS
	write_blocks 5312 64 || return 1
	echo "the write took $((SECONDS - start)) s"
	ktap_assert "the write did not wait for b's disk" \
		[ $((SECONDS - start)) -le "$SLOW_WRITE_MAX_SEC" ] || return 1
	failed_because b "within the I/O timeout" || return 1
	others_up a c && reads_match 5120 256 2
}

b_back_and_identical()
{
	dm_set qf-b linear || return 1
	back_in 1 || return 1
	reads_match 0 5376 1 || return 1
	qrepctl down -c "$QREP_CONF" || return 1
	qrep-store compare "$(target_store 0)" "$(target_store 1)" \
		"$(target_store 2)"
}

teardown()
{
	targets_teardown
	qrep_unload
	umount "$MNT_A" 2>/dev/null
	umount "$DISK_MNT_BASE/disk2" 2>/dev/null
	dm_remove qf-a
	dm_remove qf-b
}

ktap_plan 11
qrep_load
if ! setup >/tmp/setup.out 2>&1; then
	sed 's/^/# /' /tmp/setup.out
	ktap_diag "set-up failed"
	ktap_finish
fi
ktap_test "b's disk dies (dm-error): b is failed, saying why; a and c serve" b_disk_dies
ktap_test "what was fsync'd reads back with b's disk dead" fsynced_reads_back
ktap_test "b's disk repaired, same target: its failed store keeps b out" b_failed_store_stays_failed
ktap_test "b restarted: resynced, verify finds the replicas identical" b_restarted
ktap_test "a's disk fails writes (dm-flakey, file on ext4): a is failed, saying why" a_disk_write_errors
ktap_test "a's disk back: fsck, target restarted, resynced" a_back_after_fsck
ktap_test "b's disk drops writes (dm-flakey): acknowledged, unnoticed" b_disk_drops_writes
ktap_test "b's cache gone: verify names the lost blocks, --repair fixes them" verify_finds_lost_writes
ktap_test "b's disk slow (dm-delay, below io-timeout): b stays up to date" b_slow_but_live
ktap_test "b's disk slower than io-timeout: b is failed, writes go on" b_slower_than_io_timeout
ktap_test "b back on a healthy disk: resynced, the three stores identical" b_back_and_identical
teardown >/dev/null 2>&1
ktap_finish
