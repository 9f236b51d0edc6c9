#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Mirror mode over links that are bad without being cut
# (selftests/lib/netfault.sh): a replica behind a slow, lossy link that
# duplicates and reorders is slow, not dead, and ends identical; one
# slower than the io-timeout is failed cleanly and taken back when the
# link recovers; a one-way cut (the target gets the writes but its
# replies are lost, or the other way round) fails the replica, never
# counts an answer that did not come back, and the resync makes the
# stores identical again.
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"
. "$QREP_ROOT/selftests/lib/targets.sh"
. "$QREP_ROOT/selftests/lib/netfault.sh"

SIZE=128M
IO_TIMEOUT_SEC=6
# A bad link that TCP rides out: each packet, each way.
LOSSY_LINK=(delay 30ms 10ms loss 3% duplicate 2% reorder 25% 50%)
# A link slower than the io-timeout, each way.
SLOW_LINK=(delay "$((IO_TIMEOUT_SEC * 1000))ms")
# A delayed handshake takes at least two one-way delays of this link.
PROBE_LINK=(delay 1000ms)
PROBE_MIN_MS=2000
# The longest one probe's connect may take before it counts as no answer.
PROBE_CONNECT_TIMEOUT_SEC=10
# The longest a write meeting a failing replica may take: the io-timeout,
# plus slack for a slow emulated machine.
FAIL_DEADLINE_SEC=$((IO_TIMEOUT_SEC * 5))
MNT=/tmp/net-faults-mnt
FIO_DIR_MIB=16
# fio calls fsync after this many writes: each is a FLUSH through b's link.
FIO_FSYNC_EVERY=32
DATA=/tmp/net-faults-data
DATA_MIB=4

cleanup()
{
	umount "$MNT" 2>/dev/null
	netfault_clear
	targets_teardown
}
trap cleanup EXIT

connect_ms()
{
	local start end
	start=$(date +%s%N)
	timeout "$PROBE_CONNECT_TIMEOUT_SEC" bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null || return 1
	end=$(date +%s%N)
	echo $(((end - start) / 1000000))
}

helpers_shape_only_their_target()
{
	local ms
	netfault_shape 1 "${PROBE_LINK[@]}" || return 1
	ms=$(connect_ms "$(target_port 1)") || { echo "cannot reach b"; return 1; }
	echo "connect to b, shaped: $ms ms"
	[ "$ms" -ge "$PROBE_MIN_MS" ] || { echo "b's link is not delayed"; return 1; }
	ms=$(connect_ms "$(target_port 0)") || { echo "cannot reach a"; return 1; }
	echo "connect to a, not shaped: $ms ms"
	[ "$ms" -lt "$PROBE_MIN_MS" ] || { echo "a's link is delayed too"; return 1; }
	netfault_unshape 1 || return 1
	ms=$(connect_ms "$(target_port 1)") || return 1
	echo "connect to b, unshaped: $ms ms"
	[ "$ms" -lt "$PROBE_MIN_MS" ] || { echo "b is still delayed"; return 1; }
	netfault_stats 1
}

# Once a second while fio runs: b must stay up to date.
watch_b_up_to_date()
{
	local state
	while [ ! -e /tmp/net-faults-done ]; do
		state=$(replica_state b)
		ktap_assert "b is up to date while its link is bad (it is $state)" \
			[ "$state" = up-to-date ] || return 1
		sleep 1
	done
}

lossy_link_fio_verify()
{
	local fio_pid watch_pid rc=0 stats
	mkfs.ext4 -q /dev/qrep0 && mkdir -p "$MNT" && mount /dev/qrep0 "$MNT" ||
		return 1
	netfault_shape 1 "${LOSSY_LINK[@]}" || { umount "$MNT"; return 1; }
	rm -f /tmp/net-faults-done
	watch_b_up_to_date &
	watch_pid=$!
	fio --name=lossy --directory="$MNT" --size="${FIO_DIR_MIB}M" \
		--rw=randwrite --bs=4k --ioengine=psync --fsync="$FIO_FSYNC_EVERY" \
		--verify=crc32c --verify_fatal=1 --output-format=terse \
		>/tmp/fio.lossy 2>&1 &
	fio_pid=$!
	wait "$fio_pid" || { rc=1; cat /tmp/fio.lossy; }
	touch /tmp/net-faults-done
	ktap_wait "$watch_pid" || rc=1
	stats=$(netfault_stats 1)
	echo "b's link: $stats"
	netfault_unshape 1 || rc=1
	# The faults were real: netem dropped some of b's packets.
	[[ $stats =~ dropped\ [1-9] ]] || { echo "netem dropped nothing"; rc=1; }
	umount "$MNT" || rc=1
	fsck.ext4 -fn /dev/qrep0 >/tmp/fsck.out 2>&1 || { rc=1; cat /tmp/fsck.out; }
	return "$rc"
}

# write_meets_failing_replica NAME: a write completes within the deadline
# while replica NAME's link fails it, and NAME is failed with a reason.
write_meets_failing_replica()
{
	local start elapsed
	start=$SECONDS
	timeout $((FAIL_DEADLINE_SEC * 2)) dd if="$DATA" of=/dev/qrep0 bs=1M \
		oflag=direct conv=fsync status=none ||
		{ echo "the write failed"; return 1; }
	elapsed=$((SECONDS - start))
	echo "the write completed after ${elapsed}s"
	qrepctl status 0
	[ "$elapsed" -le "$FAIL_DEADLINE_SEC" ] || { echo "too slow"; return 1; }
	[ "$(replica_state "$1")" = failed ] || { echo "$1 is not failed"; return 1; }
	grep -q "event=replica-failed device=qrep0 replica=[0-9]* name=$1@.* reason=\"" \
		/tmp/events || { echo "no replica-failed event with a reason for $1"; return 1; }
}

read_back_ok()
{
	local want got
	want=$(sha256sum <"$DATA")
	got=$(dd if=/dev/qrep0 bs=1M count=$DATA_MIB iflag=direct status=none |
		sha256sum)
	[ "$got" = "$want" ] || { echo "read back $got, wrote $want"; return 1; }
}

# reconnected NAME: NAME comes back and is resynced.
reconnected()
{
	qrepctl reconnect -c "$QREP_CONF" "$1" || return 1
	qrepctl status 0
	[ "$(replica_state "$1")" = up-to-date ] || { echo "$1 is not up to date"; return 1; }
}

slower_than_io_timeout()
{
	local pid
	pid=$(target_pid 1)
	dd if=/dev/urandom of="$DATA" bs=1M count=$DATA_MIB status=none
	netfault_shape 1 "${SLOW_LINK[@]}" || return 1
	write_meets_failing_replica b || return 1
	[ "$(target_pid 1)" = "$pid" ] || { echo "b's target died"; return 1; }
	[ "$(replica_state a)" = up-to-date ] && [ "$(replica_state c)" = up-to-date ] ||
		{ echo "a slow b took another replica with it"; return 1; }
	read_back_ok
}

slow_link_recovers()
{
	netfault_unshape 1 && reconnected b && read_back_ok
}

# oneway_cut DIR: target c loses its replies (from) or its requests (to).
oneway_cut()
{
	dd if=/dev/urandom of="$DATA" bs=1M count=$DATA_MIB status=none
	netfault_oneway 2 "$1" || return 1
	write_meets_failing_replica c || return 1
	read_back_ok
}

oneway_heal()
{
	netfault_oneway_heal 2 && reconnected c && stores_identical_at_rest &&
		read_back_ok
}

ktap_plan 9
need_modules ext4
qrep_load
if ! targets_setup 3 "$SIZE" "${IO_TIMEOUT_SEC}s" ||
	! qrepctl up -c "$QREP_CONF"; then
	ktap_diag "could not set up the targets or the device"
	ktap_finish
fi
qrepctl events >/tmp/events &
EVENTS_PID=$!
ktap_test "netfault helpers: a shaped target's link is slow, another's is not" \
	helpers_shape_only_their_target
ktap_test "b's link slow, lossy, duplicating, reordering: fio verify on ext4 passes, b stays up to date, fsck clean" \
	lossy_link_fio_verify
ktap_test "after the bad link the three stores are identical" stores_identical_at_rest
ktap_test "b's link slower than the io-timeout: b is failed with a reason, the write completes on a and c" \
	slower_than_io_timeout
ktap_test "b's link recovers: b reconnects and is resynced" slow_link_recovers
ktap_test "one-way cut, c's replies lost: c is failed, the write completes on a and b" \
	oneway_cut from
ktap_test "c's replies flow again: c is resynced, the stores are identical" oneway_heal
ktap_test "one-way cut, c's requests lost: c is failed, the write completes on a and b" \
	oneway_cut to
ktap_test "c's requests flow again: c is resynced, the stores are identical" oneway_heal
kill "$EVENTS_PID" 2>/dev/null
ktap_finish
