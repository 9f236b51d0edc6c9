#!/bin/bash
# Mirror mode when targets fail: one killed mid-workload, one that stops
# answering, then all of them. The file system side sees no error while a
# replica lives, and an I/O error in bounded time when none does.
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"
. "$QREP_ROOT/selftests/lib/targets.sh"

SIZE=256M
IO_TIMEOUT_SEC=8
# The longest an I/O may take to fail once every target is gone: the io
# timeout, plus slack for a slow emulated machine.
EIO_DEADLINE_SEC=$((IO_TIMEOUT_SEC * 3))
# fio's writes must show in the device's counters within this: starting
# fio and a first batch of writes, the io timeout at worst.
WRITES_SEEN_WAIT_SEC=$((IO_TIMEOUT_SEC * 3))
VERIFY_RUN=(fio --name=verify --filename=/dev/qrep0 --direct=1
	--ioengine=libaio --rw=randwrite --bs=4k --iodepth=16 --size=48M
	--verify=crc32c --verify_fatal=1 --output-format=terse)

kill_one_during_verify()
{
	local pid rc
	"${VERIFY_RUN[@]}" >/tmp/fio.out 2>&1 &
	pid=$!
	# Let the workload get going, then crash target b under it.
	ktap_assert "fio's writes reach the device before b is killed" \
		wait_for "$WRITES_SEEN_WAIT_SEC" bash -c \
		"qrepctl status --json | grep -q '\"writes\":[1-9][0-9][0-9]'" ||
		{ kill "$pid"; wait "$pid"; return 1; }
	target_kill 1
	wait "$pid" && rc=0 || rc=$?
	[ "$rc" -eq 0 ] || cat /tmp/fio.out
	return "$rc"
}

failed_replica_reported()
{
	qrepctl status 0
	cat /tmp/events
	grep -q 'event=replica-failed device=qrep0 replica=1 name=b@.* reason="' /tmp/events &&
		[ "$(replica_state b)" = failed ] &&
		[ "$(replica_state a)" = up-to-date ] &&
		[ "$(replica_state c)" = up-to-date ] &&
		qrepctl status 0 | grep -q 'last error:'
}

live_stores_identical()
{
	qrepctl down -c "$QREP_CONF" || return 1
	qrep-store compare "$(target_store 0)" "$(target_store 2)" || return 1
	# b was killed mid-run: it must be behind, not equal.
	if qrep-store compare "$(target_store 0)" "$(target_store 1)" >/tmp/cmp.out; then
		echo "the dead replica's store is identical, but it missed writes"
		return 1
	fi
	head -n 3 /tmp/cmp.out
}

# A target that stops answering (SIGSTOP) is dropped after the io timeout.
stalled_target_dropped()
{
	local start elapsed
	target_start 1 || return 1
	qrepctl up -c "$QREP_CONF" || return 1
	target_stop 2
	start=$SECONDS
	dd if=/dev/urandom of=/dev/qrep0 bs=64k count=64 oflag=direct status=none || return 1
	elapsed=$((SECONDS - start))
	echo "writes finished after ${elapsed}s with target c stopped"
	target_cont 2
	[ "$(replica_state c)" = failed ]
}

all_targets_gone_eio()
{
	local start elapsed rc
	[ "$(replica_state a)" = up-to-date ] || { echo "the device is not up"; return 1; }
	target_kill 0
	target_kill 1
	target_kill 2
	start=$SECONDS
	timeout $((EIO_DEADLINE_SEC * 2)) dd if=/dev/urandom of=/dev/qrep0 bs=4k \
		count=16 oflag=direct status=none && rc=0 || rc=$?
	elapsed=$((SECONDS - start))
	echo "write returned status $rc after ${elapsed}s"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || return 1
	[ "$elapsed" -le "$EIO_DEADLINE_SEC" ] || { echo "too slow: ${elapsed}s"; return 1; }
	timeout "$EIO_DEADLINE_SEC" dd if=/dev/qrep0 of=/dev/null bs=4k count=1 \
		iflag=direct status=none && return 1
	return 0
}

ktap_plan 6
qrep_load
if ! targets_setup 3 "$SIZE" "${IO_TIMEOUT_SEC}s"; then
	ktap_diag "could not start the targets"
	ktap_finish
fi
ktap_assert "the device comes up" qrepctl up -c "$QREP_CONF"
qrepctl events >/tmp/events &
EVENTS_PID=$!
ktap_test "kill -9 of a target during fio verify: zero errors" kill_one_during_verify
ktap_test "status and the event stream show the killed replica failed, the others up to date" failed_replica_reported
ktap_test "the live stores are identical, the dead one is behind" live_stores_identical
ktap_test "a target that stops answering is dropped after the io timeout" stalled_target_dropped
ktap_test "every target gone: I/O fails with an error in bounded time" all_targets_gone_eio
ktap_test "the device can be taken down and the module unloaded" \
	bash -c "qrepctl down -c '$QREP_CONF' && rmmod qrep"
kill "$EVENTS_PID"
targets_teardown
ktap_finish
