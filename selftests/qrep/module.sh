#!/bin/bash
# qrep.ko's life cycle inside a VM: load/unload in a loop, devices created
# and destroyed through qrepctl, destroy and unload while a device is in
# use, I/O on a device without replicas, and the event stream.
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"

LOAD_CYCLES=20
EVENT_WAIT_SEC=10

load_unload_loop()
{
	local i
	for i in $(seq "$LOAD_CYCLES"); do
		insmod "$QREP_KO" || { echo "insmod failed in cycle $i"; return 1; }
		rmmod qrep || { echo "rmmod failed in cycle $i"; return 1; }
	done
	! lsmod | grep -q '^qrep '
}

create_shows_block_device()
{
	local out size
	out=$(qrepctl create --size 64M) || return 1
	[ "$out" = /dev/qrep0 ] || { echo "create printed '$out'"; return 1; }
	wait_for 5 test -b /dev/qrep0 || { echo "/dev/qrep0 did not appear"; return 1; }
	size=$(blockdev --getsize64 /dev/qrep0)
	[ "$size" -eq $((64 << 20)) ] || { echo "size $size"; return 1; }
	[ "$(blockdev --getss /dev/qrep0)" -eq 4096 ] || { echo "logical block size is not 4096"; return 1; }
	# A network device: no seek penalty for the I/O schedulers to plan
	# around, on every kernel (6.1 defaults to rotational, 6.12 not).
	[ "$(cat /sys/block/qrep0/queue/rotational)" -eq 0 ] || { echo "reported rotational"; return 1; }
	qrepctl status | grep -q '^qrep0: 67108864 bytes'
}

create_with_index_and_duplicate()
{
	qrepctl create --size 1M --index 7 --uuid 0b7c8f6e-2d0a-4a3b-9c1d-5e6f7a8b9c0d || return 1
	test -b /dev/qrep7 || return 1
	qrepctl status 7 | grep -q 'uuid 0b7c8f6e-2d0a-4a3b-9c1d-5e6f7a8b9c0d' || return 1
	local err
	if err=$(qrepctl create --size 1M --index 7 2>&1); then
		echo "duplicate index accepted"; return 1
	fi
	echo "$err"
	echo "$err" | grep -q 'a device with this index exists'
}

status_json()
{
	local json
	json=$(qrepctl status --json) || return 1
	echo "$json"
	echo "$json" | grep -q '"name":"qrep0"' &&
		echo "$json" | grep -q '"name":"qrep7"' &&
		echo "$json" | grep -q '"mode":"mirror"'
}

io_without_replicas_fails_fast()
{
	local rc
	# No replica to send to: an I/O error at once, never a hang.
	timeout 20 dd if=/dev/qrep0 of=/dev/null bs=4k count=1 iflag=direct 2>&1 && return 1
	rc=$?
	[ "$rc" -ne 124 ] || { echo "read hung"; return 1; }
	timeout 20 dd if=/dev/zero of=/dev/qrep0 bs=4k count=1 oflag=direct 2>&1 && return 1
	rc=$?
	[ "$rc" -ne 124 ] || { echo "write hung"; return 1; }
}

destroy_refused_while_open()
{
	local err rc
	exec 3</dev/qrep0
	err=$(qrepctl destroy 0 2>&1) && rc=0 || rc=$?
	echo "$err"
	[ "$rc" -ne 0 ] && echo "$err" | grep -q 'device is open' || { exec 3<&-; return 1; }
	# The module is pinned by the open device, too.
	if rmmod qrep 2>/dev/null; then exec 3<&-; echo "rmmod succeeded while open"; return 1; fi
	exec 3<&-
	qrepctl destroy 0 && ! test -e /dev/qrep0
}

unload_with_devices_cleans_up()
{
	qrepctl create --size 1M --index 1 >/dev/null &&
		qrepctl create --size 1M --index 2 >/dev/null || return 1
	rmmod qrep || return 1
	ls /dev/qrep* 2>/dev/null && return 1
	! test -e /sys/block/qrep7
}

all_indexes_then_full()
{
	local i out
	for i in $(seq 0 $((64 - 1))); do
		qrepctl create --size 1M >/dev/null || { echo "create $i failed"; return 1; }
	done
	out=$(qrepctl create --size 1M 2>&1) && return 1
	echo "$out"
	echo "$out" | grep -q 'all qrep device indexes are in use' || return 1
	for i in $(seq 0 $((64 - 1))); do
		qrepctl destroy "$i" || return 1
	done
	[ "$(qrepctl status)" = "no qrep devices" ]
}

# The listener joins the event group asynchronously, so create and
# destroy a device until it has seen a pair; then every pair it saw must
# be in order, with sequence numbers counting up by one.
events_in_order()
{
	local log=/tmp/events.$$ pid deadline=$((SECONDS + EVENT_WAIT_SEC))
	qrepctl events >"$log" &
	pid=$!
	until grep -q device-destroyed "$log"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			kill "$pid"; echo "no events seen"; return 1
		fi
		qrepctl create --size 1M --index 3 >/dev/null && qrepctl destroy 3 || { kill "$pid"; return 1; }
	done
	kill "$pid"
	cat "$log"
	awk '
		{ split($1, s, "="); seq = s[2] + 0 }
		NR > 1 && seq != prev + 1 { print "sequence gap at line " NR; bad = 1 }
		NR > 1 && $2 == last { print "same event twice at line " NR; bad = 1 }
		$0 !~ / device=qrep3$/ { print "wrong device at line " NR; bad = 1 }
		{ prev = seq; last = $2 }
		END { exit bad }' "$log" || return 1
	# The last two lines are the pair that ended the loop, in order.
	tail -n 2 "$log" | head -n 1 | grep -q 'event=device-created' &&
		tail -n 1 "$log" | grep -q 'event=device-destroyed'
}

ktap_plan 10
ktap_test "load and unload $LOAD_CYCLES times" load_unload_loop
qrep_load
ktap_test "create makes /dev/qrep0: 4 KiB blocks, not rotational" create_shows_block_device
ktap_test "create with index and uuid; duplicate index refused" create_with_index_and_duplicate
ktap_test "status --json lists devices" status_json
ktap_test "I/O without replicas fails at once" io_without_replicas_fails_fast
ktap_test "destroy and rmmod refused while open" destroy_refused_while_open
ktap_test "destroy of qrep7" qrepctl destroy 7
ktap_test "rmmod with devices present destroys them" unload_with_devices_cleans_up
qrep_load
ktap_test "64 devices, then a clear error" all_indexes_then_full
ktap_test "events: created/destroyed in order with sequence numbers" events_in_order
qrep_unload
ktap_finish
