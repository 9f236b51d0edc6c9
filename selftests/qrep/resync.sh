#!/bin/bash
# Resync: a replica that comes back gets exactly what it missed, online,
# from an up-to-date one; the bytes it receives stay proportional to what
# it missed; the copy survives its source dying; a new empty store is
# filled; a corrupt block is never returned and gets repaired; verify
# finds corruption; after a restart (no bitmap) summaries find the
# difference.
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"
. "$QREP_ROOT/selftests/lib/targets.sh"

# The measured resync runs on a 1 GiB device; the others on a smaller
# one, which keeps them quick under emulation.
SIZE=1G
SMALL_SIZE=256M
# ~5% of the device's blocks, rewritten at random while a replica is away.
MISSED_BLOCKS=13107
# What a resync may move: the missed data times this, over 100, plus a
# request header per region compared (region rounding).
BYTES_SLACK_PCT=105
REGION_OVERHEAD=$((1024 * 96))
# The resource's io timeout: a killed target's replica is failed within
# it (at once, when the connection is reset).
IO_TIMEOUT_SEC=10
REPLICA_FAILED_WAIT=$((IO_TIMEOUT_SEC * 2))
# A target rewrites its stats file every QREP_TARGET_STATS_INTERVAL_MS
# (1 s, Documentation/qrep-target.rst), renaming a new file over it.
STATS_INTERVAL_SEC=1
STATS_REWRITE_WAIT=$((STATS_INTERVAL_SEC * 5))
# Test 3's resync, slow enough to be caught in the middle: the blocks c
# misses, copied at this rate, take MID_RESYNC_SEC. Its progress must show
# before twice that.
MID_RESYNC_BLOCKS=4096
MID_RESYNC_RATE_MIB=1
MID_RESYNC_SEC=$((MID_RESYNC_BLOCKS * 4 / 1024 / MID_RESYNC_RATE_MIB))
MID_RESYNC_PROGRESS_WAIT=$((MID_RESYNC_SEC * 2))

# Random 4 KiB writes to distinct blocks, @1 of them, seed @2.
write_random_blocks()
{
	fio --name=rnd --filename=/dev/qrep0 --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --iodepth=16 \
		--io_size=$(($1 * 4096)) --randseed="$2" --output-format=terse \
		>/dev/null
}

received() { target_stats "$1" bytes_received; }

# Test 1: b misses ~5% of the blocks; its resync moves about that much.
missed_writes_resync()
{
	local before after missed limit
	target_kill 1
	write_random_blocks $MISSED_BLOCKS 1 || return 1
	ktap_assert "b is failed after its target was killed" \
		wait_for "$REPLICA_FAILED_WAIT" bash -c \
		"[ \"\$(qrepctl status 0 | awk '/ b@/ {print \$4}')\" = failed ]" || return 1
	target_start 1 || return 1
	stats_settle 1 || return 1
	before=$(received 1)
	qrepctl reconnect -c "$QREP_CONF" b || return 1
	[ "$(replica_state b)" = up-to-date ] || return 1
	stats_settle 1 || return 1
	after=$(received 1)
	missed=$((MISSED_BLOCKS * 4096))
	limit=$((missed * BYTES_SLACK_PCT / 100 + REGION_OVERHEAD))
	echo "b missed $missed bytes; its resync sent it $((after - before)) (limit $limit)"
	[ $((after - before)) -le "$limit" ] || return 1
	[ $((after - before)) -ge "$missed" ] || return 1
	qrepctl down -c "$QREP_CONF" && stores_identical
}

# Test 2: the same, with fio writing and verifying during the resync.
resync_under_fio()
{
	local fio_pid rc
	target_kill 2
	write_random_blocks 2048 2 || return 1
	target_start 2 || return 1
	fio --name=verify --filename=/dev/qrep0 --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --iodepth=8 --size=16M --offset=128M \
		--verify=crc32c --verify_fatal=1 --output-format=terse \
		>/tmp/fio-verify.out 2>&1 &
	fio_pid=$!
	qrepctl reconnect -c "$QREP_CONF" c || { wait "$fio_pid"; return 1; }
	wait "$fio_pid" && rc=0 || rc=$?
	[ "$rc" -eq 0 ] || { cat /tmp/fio-verify.out; return 1; }
	[ "$(replica_state c)" = up-to-date ] || return 1
	qrepctl down -c "$QREP_CONF" && stores_identical &&
		qrepctl up -c "$QREP_CONF"
}

# Test 3: the source dies part way; the copy goes on from another.
source_killed_mid_resync()
{
	local pid rc
	target_kill 2
	write_random_blocks "$MID_RESYNC_BLOCKS" 3 || return 1
	target_start 2 || return 1
	sed -i "s/^connect-timeout .*/&\nresync-rate ${MID_RESYNC_RATE_MIB}M/" "$QREP_CONF"
	qrepctl reconnect -c "$QREP_CONF" c >/tmp/reconnect.out 2>&1 &
	pid=$!
	ktap_assert "c's resync shows progress before its source is killed" \
		wait_for "$MID_RESYNC_PROGRESS_WAIT" bash -c \
		"qrepctl status 0 | grep -q 'resyncing: [1-9]'" ||
		{ wait "$pid"; cat /tmp/reconnect.out; sed -i '/^resync-rate/d' "$QREP_CONF"; return 1; }
	qrepctl status 0 | grep resyncing
	target_kill 0
	wait "$pid" && rc=0 || rc=$?
	cat /tmp/reconnect.out
	sed -i '/^resync-rate/d' "$QREP_CONF"
	[ "$rc" -eq 0 ] && [ "$(replica_state c)" = up-to-date ] || return 1
	grep -q 'source a: ' /tmp/reconnect.out || return 1
	target_start 0 || return 1
	qrepctl reconnect -c "$QREP_CONF" a || return 1
	[ "$(replica_state a)" = up-to-date ] || return 1
	qrepctl down -c "$QREP_CONF" && stores_identical &&
		qrepctl up -c "$QREP_CONF"
}

# store_epoch I: the epoch in store I's header.
store_epoch()
{
	qrep-target info --store "$(target_store "$1")" | awk '$1 == "epoch:" { print $2 }'
}

# Test 4: b's store is lost; a new, empty one takes its place, by the
# procedure of admin-guide/resync.rst: init --replace makes it joining
# (no vote, no writes), so the device is refused until join has learned
# the epoch the other replicas hold; then it serves and is filled.
replace_with_empty_store()
{
	local floor i
	target_kill 1
	rm -f "$(target_store 1)"
	qrep-target init --replace --store "$(target_store 1)" \
		--size $SMALL_SIZE --uuid "$QREP_UUID" >/dev/null || return 1
	target_start 1 || return 1
	if qrepctl reconnect -c "$QREP_CONF" b >/tmp/reconnect.out 2>&1; then
		echo "a joining store was reconnected"
		cat /tmp/reconnect.out
		return 1
	fi
	cat /tmp/reconnect.out
	grep -q 'the store is joining' /tmp/reconnect.out || return 1
	target_kill 1
	qrep-target join --store "$(target_store 1)" --config "$QREP_CONF" \
		--replica b >/tmp/join.out 2>&1 || { cat /tmp/join.out; return 1; }
	cat /tmp/join.out
	floor=$(for i in 0 2; do store_epoch "$i"; done | sort -n | tail -n 1)
	grep -q "learned epoch $floor from 2 of 2 other replicas (2 needed)" \
		/tmp/join.out || return 1
	[ "$(store_epoch 1)" = "$floor" ] || return 1
	qrep-target info --store "$(target_store 1)" | grep -q '^joining: *no' ||
		return 1
	target_start 1 || return 1
	qrepctl reconnect -c "$QREP_CONF" b || return 1
	qrepctl status 0
	[ "$(replica_state b)" = up-to-date ] || return 1
	qrepctl down -c "$QREP_CONF" && stores_identical &&
		qrepctl up -c "$QREP_CONF"
}

# Flips a byte inside block @2 of target @1's store, behind its back.
corrupt_block()
{
	local off
	off=$(qrep-target info --store "$(target_store "$1")" |
		awk '/^data area:/ { sub(",", "", $4); print $4 }')
	[ -n "$off" ] || { qrep-target info --store "$(target_store "$1")"; return 1; }
	printf '\xff\x00\xff' | dd of="$(target_store "$1")" bs=1 \
		seek=$((off + $2 * 4096 + 100)) conv=notrunc status=none
}

# qrepd, in the background from here on, keeps the replicas whole.
start_qrepd()
{
	echo "reconnect-interval 1s" >>"$QREP_CONF"
	qrepd -c "$QREP_CONF" >/tmp/qrepd.log 2>&1 &
	echo $! >/tmp/qrepd.pid
	wait_for 20 grep -q 'watching /dev/qrep0' /tmp/qrepd.log ||
		{ cat /tmp/qrepd.log; return 1; }
}

stop_qrepd()
{
	kill "$(cat /tmp/qrepd.pid)" 2>/dev/null
	sed -i '/^reconnect-interval/d' "$QREP_CONF"
	echo "qrepd's log:"
	cat /tmp/qrepd.log
}

# Test 5: a corrupt copy is never returned, the replica holding it turns
# stale, and qrepd's resync repairs it; verify finds a second one.
corrupt_block_repaired()
{
	local block=4242 want got i
	dd if=/dev/urandom of=/tmp/blk bs=4k count=2 status=none
	dd if=/tmp/blk of=/dev/qrep0 bs=4k seek=$block oflag=direct status=none || return 1
	want=$(head -c 4096 /tmp/blk | sha256sum)
	corrupt_block 0 $block || return 1
	for i in $(seq 1 24); do
		got=$(dd if=/dev/qrep0 bs=4k skip=$block count=1 iflag=direct status=none | sha256sum)
		[ "$got" = "$want" ] || { echo "read $i returned bad data"; return 1; }
	done
	grep 'replica=0' /tmp/events | tail -n 3
	grep -q 'event=replica-stale device=qrep0 replica=0 .*checksum' /tmp/events ||
		{ echo "a never served the block"; qrepctl status 0; return 1; }
	wait_for 60 grep -q 'replica a is up to date' /tmp/qrepd.log ||
		{ echo "qrepd did not repair a"; return 1; }
	[ "$(replica_state a)" = up-to-date ] || return 1
	corrupt_block 1 $((block + 1)) || return 1
	qrepctl verify -c "$QREP_CONF" >/tmp/verify.out && { cat /tmp/verify.out; return 1; }
	cat /tmp/verify.out
	grep -q "block $((block + 1)): b's copy .* does not match its checksum" /tmp/verify.out || return 1
	qrepctl verify -c "$QREP_CONF" --repair | tail -n 2 || return 1
	qrepctl verify -c "$QREP_CONF"
}

# qrepd gives a target that comes back a new connection and resyncs it.
qrepd_reconnects()
{
	target_kill 2
	write_random_blocks 1024 7 || return 1
	wait_for 30 bash -c "qrepctl status 0 | grep -q ' c@.* failed'" || return 1
	target_start 2 || return 1
	wait_for 120 bash -c "qrepctl status 0 | grep -q ' c@.* up-to-date'" ||
		{ qrepctl status 0; return 1; }
	grep -q 'replica c reconnected' /tmp/qrepd.log || return 1
	stop_qrepd
	qrepctl down -c "$QREP_CONF" && stores_identical &&
		qrep-store check --store "$(target_store 0)" >/dev/null &&
		qrep-store check --store "$(target_store 1)" >/dev/null
}

# Test 6: c misses writes made through a device that never knew it; a
# fresh device has no bitmap, and the summaries find what differs.
resync_without_bitmap()
{
	local before after missed limit
	grep -v '^replica c ' "$QREP_CONF" >/tmp/r0-ab.conf
	qrepctl up -c /tmp/r0-ab.conf || return 1
	write_random_blocks 1310 6 || return 1
	qrepctl down -c /tmp/r0-ab.conf || return 1
	stats_settle 2 || return 1
	before=$(received 2)
	qrepctl up -c "$QREP_CONF" >/tmp/up.out 2>&1 || { cat /tmp/up.out; return 1; }
	cat /tmp/up.out
	[ "$(replica_state c)" = up-to-date ] || return 1
	stats_settle 2 || return 1
	after=$(received 2)
	missed=$((1310 * 4096))
	limit=$((missed * BYTES_SLACK_PCT / 100 + REGION_OVERHEAD))
	echo "c missed $missed bytes; its resync sent it $((after - before)) (limit $limit)"
	[ $((after - before)) -le "$limit" ] || return 1
	qrepctl down -c "$QREP_CONF" && stores_identical
}

resync_events()
{
	grep -q 'event=resync-started device=qrep0 replica=1' /tmp/events &&
		grep -q 'event=resync-progress device=qrep0 replica=1' /tmp/events &&
		grep -q 'event=resync-finished device=qrep0 replica=1' /tmp/events &&
		grep -q 'event=replica-stale device=qrep0 replica=0' /tmp/events ||
		{ grep resync /tmp/events | head; return 1; }
}

ktap_plan 8
need_modules ext4
qrep_load
if ! targets_setup 3 $SIZE "${IO_TIMEOUT_SEC}s" || ! qrepctl up -c "$QREP_CONF"; then
	ktap_diag "could not start the targets and the device"
	ktap_finish
fi
qrepctl events >/tmp/events &
EVENTS_PID=$!
ktap_test "missed 5% of blocks: resync moves ~that much, replica up to date" missed_writes_resync
kill "$EVENTS_PID" 2>/dev/null
targets_teardown
if ! targets_setup 3 $SMALL_SIZE "${IO_TIMEOUT_SEC}s" || ! qrepctl up -c "$QREP_CONF"; then
	ktap_diag "could not start the targets and the smaller device"
	ktap_finish
fi
qrepctl events >>/tmp/events &
EVENTS_PID=$!
ktap_test "resync under fio verify: no errors, replicas identical" resync_under_fio
ktap_test "source killed mid-resync: completes from another, identical" source_killed_mid_resync
ktap_test "dead replica replaced by a joining empty store: refused until joined, then a full online copy" replace_with_empty_store
ktap_assert "qrepd starts" start_qrepd
ktap_test "corrupt block: never returned, repaired by qrepd; verify reports another" corrupt_block_repaired
ktap_test "qrepd reconnects a returning target and resyncs it" qrepd_reconnects
ktap_test "no bitmap: summaries find the difference, bytes proportional" resync_without_bitmap
ktap_test "events: resync started, progress, finished" resync_events
kill "$EVENTS_PID" 2>/dev/null
targets_teardown
ktap_finish
