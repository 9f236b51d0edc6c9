#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What must not wait: nothing stalls behind I/O that is held or slow.
#
#  1. Quorum mode (N=3, W=R=2, on-no-quorum suspend), c stale, a and b
#     stopped with a write in flight: a resync START waits for that
#     write (until the io-timeout fails a and b), but without the lock
#     every netlink command takes: "qrepctl status" answers meanwhile.
#     (START held that lock for up to twice the io-timeout, so every
#     command of every device, qrepd's demotion included, waited.)
#  2. The write is now held (a and b failed, one replica left): a START
#     returns at once, not after twice the io-timeout. A held write is
#     in flight on no replica, and START does not wait for it.
#  3. a and b come back: the held write completes, and after the device
#     is brought up again every block reads back what was written.
#  4. A quorum-mode device (suspend) made with no replica has size 0, so
#     a probe (blkid, as udev runs one on every new disk) returns at
#     once instead of sleeping in D state until W replicas come; with
#     one replica, short of W = 2, still 0; with two, its size, and the
#     probe reads it.
#  5. Mirror mode, b behind a slow link (netem rate limit), io-timeout
#     short: fio at queue depth 128 keeps a transmit backlog much longer
#     than the io-timeout, and b is not failed: its clock starts when a
#     request is sent to it, and its replies keep coming.
#  6. b really dead (stopped): a write still fails it within the
#     io-timeout (plus the timer's rounding and a slack for the emulated
#     machine) and completes on a alone.
#
# Like every vm test, it also fails if the guest kernel log shows a BUG,
# WARNING, Oops or hung task (qemu/run-vm checks the console log).
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"
. "$QREP_ROOT/selftests/lib/targets.sh"
. "$QREP_ROOT/selftests/lib/netfault.sh"

RT=$QREP_BUILD/selftests/replica_tool
SIZE=64M

# Cases 1-3. A long io-timeout, so that "at once" and "after the
# io-timeout" are far apart even on a slow emulated machine.
RS_IO_TIMEOUT_SEC=15
# How long a START with only held writes before it may take (the whole
# qrepctl resync command: connect, START, and giving up for want of a
# source), far below the io-timeout.
START_PROMPT_SEC=5
# How long one qrepctl status may take while a START waits.
STATUS_PROMPT_SEC=5
# How long the io-timeout may take to fail a stopped replica, with slack.
FAIL_WAIT_SEC=$((RS_IO_TIMEOUT_SEC * 3))
# How long a write to a live quorum, or the device's setup, may take.
WRITE_WAIT_SEC=30

# Case 4: a device of its own, on replica_tool's stores in memory.
CAP_INDEX=5
CAP_SIZE=16M
CAP_BYTES=$((16 << 20))
CAP_STORE_WAIT_MS=600000
# How long a probe of the device may take: a read of a few blocks.
PROBE_SEC=20

# Cases 5-6. A short io-timeout, and a link from which a queue of 128
# writes of 64 KiB (8 MiB) takes about 16 s: four io-timeouts. Both
# directions share one netem queue (netfault.sh), so its limit (packets)
# bounds how long a reply waits behind the writes: about 1 s here. A
# real link's replies do not queue behind its writes at all.
SLOW_IO_TIMEOUT_SEC=4
SLOW_LINK=(delay 20ms rate 4mbit limit 8)
FIO_DEPTH=128
FIO_BS=64k
FIO_MIB=8
# fio's whole run over the slow link (8 MiB at 0.5 MB/s), with slack.
FIO_DEADLINE_SEC=300
# A dead replica is failed within the io-timeout plus the block layer's
# timer rounding (whole seconds: the timer fires up to a second late, and
# again when it is re-armed for the rest of a replica's time) and a slack
# for a slow emulated machine (dd's start, a busy host).
TIMER_ROUNDING_SEC=2
DEAD_SLACK_SEC=6

PIDS=()

cleanup()
{
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	netfault_clear >/dev/null 2>&1
	qrepctl destroy "$CAP_INDEX" >/dev/null 2>&1
	targets_teardown >/dev/null 2>&1
}
trap cleanup EXIT

replica_inflight()
{
	qrepctl status 0 | awk -v n="$1" '$1 == "replica" && $3 ~ "^" n "@" { print $6 }'
}
inflight_at_least() { [ "$(replica_inflight "$1")" -ge "$2" ] 2>/dev/null; }
held()
{
	qrepctl status 0 | sed -n '/quorum:/s/.*held \([0-9][0-9]*\).*/\1/p'
}
held_at_least() { [ "$(held)" -ge "$1" ] 2>/dev/null; }

# now_ms: milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# --- 1-3: resync START ---------------------------------------------------

resync_setup()
{
	targets_setup 3 "$SIZE" "${RS_IO_TIMEOUT_SEC}s" || return 1
	sed -i -e 's/^mode .*/mode quorum/' "$QREP_CONF"
	{
		echo "write-quorum 2"
		echo "read-quorum 2"
		echo "on-no-quorum suspend"
	} >>"$QREP_CONF"
	qrepctl up -c "$QREP_CONF" || return 1
	write_block 100 1 || return 1
	# c misses a write and comes back stale, its resync not yet run.
	target_kill 2 || return 1
	write_block 101 2 || return 1
	wait_for "$FAIL_WAIT_SEC" state_is c failed ||
		{ echo "c was not failed"; qrepctl status 0; return 1; }
	target_start 2 || return 1
	qrepctl reconnect --no-resync -c "$QREP_CONF" c || return 1
	state_is c stale || { echo "c is not stale"; qrepctl status 0; return 1; }
	qrepctl status 0
}

# status_prompt_while NAME: qrepctl status, over and over until the
# background job NAME ends; each must answer within STATUS_PROMPT_SEC.
status_prompt_while()
{
	local start took n=0
	until bg_done "$1"; do
		start=$(now_ms)
		timeout $((STATUS_PROMPT_SEC * 20)) qrepctl status 0 >/dev/null ||
			{ echo "qrepctl status failed"; return 1; }
		took=$(($(now_ms) - start))
		n=$((n + 1))
		[ "$took" -le $((STATUS_PROMPT_SEC * 1000)) ] ||
			{ echo "qrepctl status took ${took} ms while a resync START waited"; return 1; }
	done
	echo "qrepctl status answered $n times while the resync ran"
}

start_waits_without_the_lock()
{
	# a and b stop answering with a write in flight; c acknowledges it.
	target_stop 0 && target_stop 1 || return 1
	bg held_write write_block 102 3
	wait_for "$WRITE_WAIT_SEC" inflight_at_least a 1 ||
		{ echo "the write never reached a"; qrepctl status 0; return 1; }
	bg rs1 qrepctl resync -c "$QREP_CONF"
	status_prompt_while rs1 || return 1
	cat /tmp/rs1.out
	! grep -q "still in flight" /tmp/rs1.out ||
		{ echo "START gave up waiting for the write"; return 1; }
	state_is a failed && state_is b failed ||
		{ echo "a and b were not failed by the io-timeout"; qrepctl status 0; return 1; }
}

start_skips_held_writes()
{
	local start took
	wait_for "$WRITE_WAIT_SEC" held_at_least 1 ||
		{ echo "the write is not held"; qrepctl status 0; return 1; }
	! bg_done held_write || { echo "the held write completed"; return 1; }
	start=$(now_ms)
	timeout $((RS_IO_TIMEOUT_SEC * 4)) qrepctl resync -c "$QREP_CONF" \
		>/tmp/rs2.out 2>&1
	took=$(($(now_ms) - start))
	cat /tmp/rs2.out
	echo "qrepctl resync took ${took} ms"
	! grep -q "still in flight" /tmp/rs2.out ||
		{ echo "START waited for the held write"; return 1; }
	[ "$took" -le $((START_PROMPT_SEC * 1000)) ] ||
		{ echo "START did not return within ${START_PROMPT_SEC}s"; return 1; }
	! bg_done held_write || { echo "the held write completed"; return 1; }
}

data_intact()
{
	local block byte
	target_kill 0 && target_kill 1 || return 1
	target_start 0 && target_start 1 || return 1
	qrepctl reconnect --no-resync -c "$QREP_CONF" a || return 1
	wait_for "$WRITE_WAIT_SEC" bg_done held_write ||
		{ echo "the held write did not complete"; qrepctl status 0; return 1; }
	[ "$(bg_rc held_write)" = 0 ] || { echo "the held write failed"; cat /tmp/held_write.out; return 1; }
	qrepctl reconnect --no-resync -c "$QREP_CONF" b || return 1
	qrepctl down -c "$QREP_CONF" && qrepctl up -c "$QREP_CONF" || return 1
	qrepctl status 0
	for block in 100 101 102; do
		byte=$((block - 99))
		[ "$(block_sum $block)" = "$(pattern_sum $byte)" ] ||
			{ echo "block $block does not read back what was written"; return 1; }
	done
	qrepctl verify -c "$QREP_CONF" || { echo "the replicas differ"; return 1; }
}

# --- 4: the size of a quorum device short of its quorums -----------------

cap_status() { "$RT" status --dev "$CAP_INDEX"; }
cap_has_replicas() { [ "$(cap_status | grep -c '^replica slot=')" -eq "$1" ]; }
cap_size() { blockdev --getsize64 "/dev/qrep$CAP_INDEX"; }

# cap_add SLOT: a store in memory in slot SLOT.
cap_add()
{
	"$RT" fake --dev "$CAP_INDEX" --slot "$1" --mode store --size "$CAP_SIZE" \
		--wait-ms "$CAP_STORE_WAIT_MS" >"/tmp/cap-store$1.out" 2>&1 &
	PIDS+=($!)
	wait_for "$WRITE_WAIT_SEC" cap_has_replicas $(($1 + 1)) ||
		{ echo "store $1 was not added"; cap_status; return 1; }
}

size_zero_until_quorum()
{
	local dev=/dev/qrep$CAP_INDEX size rc=0 pid
	"$RT" create --size "$CAP_SIZE" --index "$CAP_INDEX" --quorum 3 >/dev/null ||
		return 1
	size=$(cap_size)
	echo "size with no replica: $size"
	[ "$size" = 0 ] || { echo "the size is $size before any replica, not 0"; rc=1; }
	bg probe1 blkid -p "$dev"
	wait_for "$PROBE_SEC" bg_done probe1 ||
		{ echo "blkid did not return within ${PROBE_SEC}s with no replica"; rc=1; }
	cap_add 0 || return 1
	size=$(cap_size)
	echo "size with one replica: $size"
	[ "$size" = 0 ] || { echo "the size is $size with one replica of W=2, not 0"; rc=1; }
	cap_add 1 || return 1
	size=$(cap_size)
	echo "size with two replicas: $size"
	[ "$size" = "$CAP_BYTES" ] || { echo "the size is $size with W=2 replicas, not $CAP_BYTES"; rc=1; }
	# The first probe ends now whatever happened to it.
	wait_for "$PROBE_SEC" bg_done probe1 || { echo "blkid still hangs"; rc=1; }
	timeout "$PROBE_SEC" blkid -p "$dev"
	[ $? -ne 124 ] || { echo "blkid hung with the quorums there"; rc=1; }
	dd if="$dev" of=/dev/null bs=4096 count=16 iflag=direct status=none ||
		{ echo "reading the device failed"; rc=1; }
	qrepctl destroy "$CAP_INDEX" || rc=1
	for pid in "${PIDS[@]}"; do
		wait "$pid" || { echo "a store did not end cleanly"; rc=1; }
	done
	PIDS=()
	cat /tmp/cap-store*.out
	return "$rc"
}

# --- 5-6: the request timer ----------------------------------------------

slow_setup()
{
	targets_setup 2 "$SIZE" "${SLOW_IO_TIMEOUT_SEC}s" &&
		qrepctl up -c "$QREP_CONF" && qrepctl status 0
}

deep_queue_slow_link()
{
	local start rc=0
	netfault_shape 1 "${SLOW_LINK[@]}" || return 1
	start=$SECONDS
	timeout "$FIO_DEADLINE_SEC" fio --name=deep --filename=/dev/qrep0 \
		--direct=1 --ioengine=libaio --iodepth="$FIO_DEPTH" --rw=write \
		--bs="$FIO_BS" --size="${FIO_MIB}M" --verify=crc32c \
		--verify_fatal=1 --output-format=terse >/tmp/fio.deep 2>&1 ||
		{ echo "fio failed:"; cat /tmp/fio.deep; rc=1; }
	echo "fio took $((SECONDS - start))s, io-timeout ${SLOW_IO_TIMEOUT_SEC}s"
	echo "b's link: $(netfault_stats 1)"
	netfault_unshape 1 || rc=1
	qrepctl status 0
	state_is b up-to-date ||
		{ echo "b was failed, though its link was only slow"; rc=1; }
	# The backlog was real: fio took several io-timeouts.
	[ $((SECONDS - start)) -ge $((SLOW_IO_TIMEOUT_SEC * 3)) ] ||
		{ echo "fio was too quick to make a backlog"; rc=1; }
	return "$rc"
}

dead_replica_failed()
{
	local start took
	# Alive to begin with, whatever case 5 did to it.
	if ! state_is b up-to-date; then
		qrepctl reconnect -c "$QREP_CONF" b || return 1
		state_is b up-to-date || { echo "b is not up to date"; qrepctl status 0; return 1; }
	fi
	target_stop 1 || return 1
	start=$(now_ms)
	timeout $((SLOW_IO_TIMEOUT_SEC * 20)) dd if=/dev/urandom of=/dev/qrep0 bs=4k count=1 \
		oflag=direct status=none || { echo "the write failed"; return 1; }
	took=$(($(now_ms) - start))
	echo "the write completed after ${took} ms"
	qrepctl status 0
	state_is b failed || { echo "b is not failed"; return 1; }
	[ "$took" -le $(((SLOW_IO_TIMEOUT_SEC + TIMER_ROUNDING_SEC + DEAD_SLACK_SEC) * 1000)) ] ||
		{ echo "b was not failed within the io-timeout"; return 1; }
}

ktap_plan 7
qrep_load
if resync_setup >/tmp/setup.out 2>&1; then
	sed 's/^/# /' /tmp/setup.out
	ktap_test "resync START waits for a write in flight without blocking qrepctl status" \
		start_waits_without_the_lock
	ktap_test "resync START with only a held write left returns at once" \
		start_skips_held_writes
	ktap_test "the held write completes once a replica returns; every block reads back" \
		data_intact
else
	sed 's/^/# /' /tmp/setup.out
	ktap_diag "the set-up failed"
	ktap_report "resync START waits without blocking qrepctl status" 1
	ktap_report "resync START with only a held write returns at once" 1
	ktap_report "the held write completes; every block reads back" 1
fi
targets_teardown >/dev/null 2>&1
ktap_test "quorum device (suspend): size 0 and blkid returns until the quorums, then its size" \
	size_zero_until_quorum
if slow_setup >/tmp/setup.out 2>&1; then
	sed 's/^/# /' /tmp/setup.out
	ktap_test "fio QD$FIO_DEPTH over a slow link (backlog beyond the io-timeout): b not failed" \
		deep_queue_slow_link
	ktap_test "b dead: a write fails it within the io-timeout and completes" \
		dead_replica_failed
else
	sed 's/^/# /' /tmp/setup.out
	ktap_diag "the set-up failed"
	ktap_report "deep queue over a slow link" 1
	ktap_report "dead replica failed" 1
fi
targets_teardown >/dev/null 2>&1
ktap_test "rmmod" qrep_unload
ktap_finish
