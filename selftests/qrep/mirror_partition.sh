#!/bin/bash
# Mirror mode under a network partition (selftests/lib/partition.sh: the
# targets keep running, their packets are dropped). Mirror mode has no
# quorum; this shows what that means:
#  - cut off from one replica, the device goes on: the write that meets
#    the cut waits until that replica is failed (io-timeout), then
#    completes on the replica it still reaches; the cut-off one falls
#    behind and cannot be reconnected until the network heals;
#  - healed, it is reconnected and resynced, and holds what it missed;
#  - cut off from every replica, I/O fails with an error within about
#    io-timeout: nothing is held, nothing hangs.
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"
. "$QREP_ROOT/selftests/lib/targets.sh"
. "$QREP_ROOT/selftests/lib/partition.sh"

SIZE=64M
IO_TIMEOUT_SEC=2
# The longest an I/O meeting a cut may take: the io-timeout, plus a lot
# of slack for a slow emulated machine (the timer is checked once per
# timeout period, and the first request may be queued behind others).
CUT_DEADLINE_SEC=$((IO_TIMEOUT_SEC * 10))
# Written while b is cut off, at this offset (MiB).
DATA=/tmp/cut-data
DATA_MIB=4
DATA_OFF_MIB=8

cleanup()
{
	partition_heal_all
	targets_teardown
}
trap cleanup EXIT

read_back_ok()
{
	local want got
	want=$(sha256sum <"$DATA")
	got=$(dd if=/dev/qrep0 bs=1M skip=$DATA_OFF_MIB count=$DATA_MIB \
		iflag=direct status=none | sha256sum)
	[ "$got" = "$want" ] || { echo "read back $got, wrote $want"; return 1; }
}

cannot_connect()
{
	! timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

helpers_idempotent()
{
	local pids_before pids_after cuts
	pids_before="$(target_pid 0) $(target_pid 1)"
	partition_cut 1 && partition_cut 1 || return 1
	cuts=$(partition_cuts | tr '\n' ' ')
	echo "cut ports: $cuts"
	[ "$cuts" = "$(target_port 1) " ] || { echo "expected only $(target_port 1) cut"; return 1; }
	partition_is_cut 1 && ! partition_is_cut 0 || return 1
	cannot_connect "$(target_port 1)" ||
		{ echo "a new connection to the cut target got through"; return 1; }
	target_listening "$(target_port 0)" ||
		{ echo "the other target is unreachable"; return 1; }
	partition_heal 1 && partition_heal 1 && partition_heal 0 || return 1
	[ -z "$(partition_cuts)" ] || { echo "still cut: $(partition_cuts)"; return 1; }
	target_listening "$(target_port 1)" ||
		{ echo "the healed target is unreachable"; return 1; }
	partition_heal_all && partition_heal_all || return 1
	pids_after="$(target_pid 0) $(target_pid 1)"
	[ "$pids_before" = "$pids_after" ] ||
		{ echo "target pids changed: $pids_before -> $pids_after"; return 1; }
}

write_with_b_cut()
{
	local start elapsed pid
	pid=$(target_pid 1)
	partition_cut 1 || return 1
	start=$SECONDS
	timeout $((CUT_DEADLINE_SEC * 2)) dd if="$DATA" of=/dev/qrep0 bs=1M \
		seek=$DATA_OFF_MIB oflag=direct status=none ||
		{ echo "the write failed with b cut off"; return 1; }
	elapsed=$((SECONDS - start))
	echo "the write completed after ${elapsed}s with b cut off"
	qrepctl status 0
	[ "$elapsed" -le "$CUT_DEADLINE_SEC" ] || { echo "too slow"; return 1; }
	[ "$(replica_state b)" = failed ] || { echo "b is not failed"; return 1; }
	[ "$(replica_state a)" = up-to-date ] || { echo "a is not up to date"; return 1; }
	grep 'event=replica-failed device=qrep0 replica=1 ' /tmp/events ||
		{ echo "no replica-failed event for b"; return 1; }
	[ "$(target_pid 1)" = "$pid" ] ||
		{ echo "b's target process is gone: the cut must not kill it"; return 1; }
	read_back_ok
}

reconnect_while_cut_fails()
{
	local start rc
	start=$SECONDS
	timeout 60 qrepctl reconnect -c "$QREP_CONF" b && rc=0 || rc=$?
	echo "reconnect returned $rc after $((SECONDS - start))s"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || return 1
	[ "$(replica_state b)" = failed ]
}

heal_reconnect_b()
{
	partition_heal 1 || return 1
	qrepctl reconnect -c "$QREP_CONF" b || return 1
	qrepctl status 0
	[ "$(replica_state b)" = up-to-date ]
}

# b got, by resync, what it missed: cut a off and read it from b.
b_holds_what_it_missed()
{
	local rc
	partition_cut 0 || return 1
	read_back_ok && rc=0 || rc=1
	qrepctl status 0
	[ "$(replica_state a)" = failed ] ||
		{ echo "a is not failed: the read did not meet the cut"; rc=1; }
	partition_heal 0 || return 1
	qrepctl reconnect -c "$QREP_CONF" a || return 1
	[ "$(replica_state a)" = up-to-date ] || rc=1
	return "$rc"
}

all_cut_eio()
{
	local start elapsed rc
	[ "$(replica_state a)" = up-to-date ] && [ "$(replica_state b)" = up-to-date ] ||
		{ echo "the device is not whole"; return 1; }
	partition_cut 0 && partition_cut 1 || return 1
	start=$SECONDS
	timeout $((CUT_DEADLINE_SEC * 2)) dd if=/dev/urandom of=/dev/qrep0 bs=4k \
		count=16 oflag=direct status=none && rc=0 || rc=$?
	elapsed=$((SECONDS - start))
	echo "the write returned status $rc after ${elapsed}s"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || return 1
	[ "$elapsed" -le "$CUT_DEADLINE_SEC" ] || { echo "too slow"; return 1; }
	timeout "$CUT_DEADLINE_SEC" dd if=/dev/qrep0 of=/dev/null bs=4k count=1 \
		iflag=direct status=none && { echo "a read succeeded"; return 1; }
	partition_heal_all || return 1
	qrepctl down -c "$QREP_CONF"
}

ktap_plan 7
qrep_load
dd if=/dev/urandom of="$DATA" bs=1M count=$DATA_MIB status=none
if ! partition_setup || ! targets_setup 2 "$SIZE" "${IO_TIMEOUT_SEC}s" ||
	! qrepctl up -c "$QREP_CONF"; then
	ktap_diag "could not set up nftables, the targets or the device"
	ktap_finish
fi
qrepctl events >/tmp/events &
EVENTS_PID=$!
ktap_test "partition helpers: idempotent, cut only their target, kill nothing" helpers_idempotent
ktap_test "b cut off: a write completes once b is failed (io-timeout)" write_with_b_cut
ktap_test "b still cut off: reconnect fails, new connections are dropped too" reconnect_while_cut_fails
ktap_test "healed: b reconnects and is resynced" heal_reconnect_b
ktap_test "a cut off: reads come from b and return what b missed while cut" b_holds_what_it_missed
ktap_test "after the heal the stores are identical" stores_identical_at_rest
ktap_test "every target cut off: I/O fails with an error within about io-timeout" all_cut_eio
kill "$EVENTS_PID" 2>/dev/null
ktap_finish
