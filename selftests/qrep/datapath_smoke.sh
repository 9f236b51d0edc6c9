#!/bin/bash
# The mirrored data path, end to end, through replica_tool (the replica
# commands straight over netlink) and qrep-targets on loopback:
#
#        /dev/qrep0 (io-timeout 30 s)         /dev/qrep1 (io-timeout 5 s)
#       /          |          \                /          \
#   slot 0      slot 1      slot 2         slot 0       slot 1
#     |           |           |              |            |
#  target 0    target 1    target 2       target 3     target 4
#                 (qrep-target on 127.0.0.1, stores on tmpfs)
#
# qrep0, healthy: fio write+verify (4k random, 1M sequential), reads
# spread over the replicas, ext4 + fsck. Then failures: kill -9 a target
# during a verify run (no error reaches fio; the replica shows FAILED
# with a reason), its reconnection (it comes back stale), all targets
# killed (EIO at once). qrep1: a stopped (SIGSTOP) target is dropped
# after the I/O timeout while I/O goes on; then the other one stops too
# (EIO within about the I/O timeout). Destroy and rmmod, with qrep1's
# targets still stopped.
#
# qrep0 keeps the default I/O timeout: under TCG on one CPU, a 1 MiB
# write queued behind others can take seconds, and a short timeout would
# drop healthy replicas. qrep1 sees only light I/O.
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"

RT=$QREP_BUILD/selftests/replica_tool
DIR=/tmp/qrep-datapath.$$
PORT_BASE=$((7300 + $$ % 500))
UUID=5d0c7e36-8a4b-4f1e-9b2a-3c4d5e6f7a80
UUID2=5d0c7e36-8a4b-4f1e-9b2a-3c4d5e6f7a81
SIZE=256M
IO_TIMEOUT_MS=5000		# qrep1
# Slack on top of the I/O timeout: blk-mq's timer rounds up to a second,
# and TCG is slow.
TIMEOUT_SLACK_S=8
MNT=$DIR/mnt
FIO_COMMON=(--direct=1 --ioengine=libaio --verify=crc32c --verify_fatal=1
	--output-format=terse)

cleanup()
{
	local f
	for f in "$DIR"/target*.pid; do
		[ -e "$f" ] || continue
		kill -CONT "$(cat "$f")" 2>/dev/null
		kill -9 "$(cat "$f")" 2>/dev/null
	done
	umount "$MNT" 2>/dev/null
	qrep_unload 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

listening() { bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# Tests run in subshells (ktap_test), so target PIDs live in files.
target_pid() { cat "$DIR/target$1.pid"; }

port_closed() { ! listening "$1"; }

# target_start I [UUID]: store I (made on first use) served on port P+I.
target_start()
{
	local i=$1 uuid=${2:-$UUID} store=$DIR/store$1
	listening $((PORT_BASE + i)) && { echo "port $((PORT_BASE + i)) is busy"; return 1; }
	[ -e "$store" ] || qrep-target init --store "$store" --size "$SIZE" \
		--uuid "$uuid" >/dev/null || return 1
	qrep-target serve --store "$store" --listen "127.0.0.1:$((PORT_BASE + i))" \
		>>"$DIR/target$i.log" 2>&1 &
	echo $! >"$DIR/target$i.pid"
	wait_for 20 listening $((PORT_BASE + i)) || { tail -n 5 "$DIR/target$i.log"; return 1; }
}

# target_kill I: a crash. The target is not our child here: poll.
target_kill()
{
	local pid
	pid=$(target_pid "$1")
	kill -CONT "$pid" 2>/dev/null
	kill -9 "$pid" 2>/dev/null
	wait_for 10 port_closed $((PORT_BASE + $1))
}
target_stop() { kill -STOP "$(target_pid "$1")"; }

# field SLOT KEY [DEV]: a replica's KEY=value from replica_tool status.
field()
{
	"$RT" status --dev "${3:-0}" |
		awk -v s="slot=$1" -v k="$2" '$1 == "replica" && $2 == s {
			for (i = 3; i <= NF; i++) if (index($i, k "=") == 1) {
				print substr($i, length(k) + 2); exit } }'
}

# last_error SLOT [DEV]: the whole reason, which has spaces in it.
last_error()
{
	"$RT" status --dev "${2:-0}" | sed -n "s/^replica slot=$1 .* last_error=//p"
}

fio_run()
{
	fio --name="$1" --filename="${DEV:-/dev/qrep0}" "${FIO_COMMON[@]}" "${@:2}" \
		>"$DIR/fio.$1" 2>&1 || { cat "$DIR/fio.$1"; return 1; }
}

setup()
{
	local i
	mkdir -p "$DIR" "$MNT" || return 1
	for i in 0 1 2; do target_start "$i" || return 1; done
	qrep_load || return 1
	"$RT" create --size "$SIZE" --uuid "$UUID" --index 0 || return 1
	for i in 0 1 2; do
		"$RT" add --dev 0 --slot "$i" --target "127.0.0.1:$((PORT_BASE + i))" ||
			return 1
	done
	"$RT" status --dev 0
	[ "$(cat /sys/block/qrep0/qrep/live_replicas)" = 3 ] &&
		[ "$(field 0 state)" = uptodate ] && [ "$(field 2 state)" = uptodate ]
}

fio_randwrite_verify()
{
	fio_run rand4k --rw=randwrite --bs=4k --iodepth=16 --size=32M || return 1
	"$RT" status --dev 0
}

fio_seqwrite_verify()
{
	fio_run seq1m --rw=write --bs=1M --iodepth=4 --offset=64M --size=128M
}

# Every replica must have served some of a random read run.
reads_spread()
{
	local before=() i
	for i in 0 1 2; do before[$i]=$(field "$i" reads); done
	fio --name=spread --filename=/dev/qrep0 --direct=1 --ioengine=libaio \
		--rw=randread --bs=4k --iodepth=32 --size=64M --io_size=24M \
		--output-format=terse >"$DIR/fio.spread" 2>&1 || { cat "$DIR/fio.spread"; return 1; }
	"$RT" status --dev 0
	for i in 0 1 2; do
		[ "$(field "$i" reads)" -gt "${before[$i]}" ] ||
			{ echo "replica $i served no reads"; return 1; }
	done
}

ext4_files()
{
	local i
	modprobe ext4 || return 1
	mkfs.ext4 -q -F /dev/qrep0 || return 1
	mount /dev/qrep0 "$MNT" || return 1
	for i in $(seq 20); do
		head -c 1M /dev/urandom >"$MNT/f$i" || return 1
	done
	(cd "$MNT" && sha256sum f* >"$DIR/sums") || return 1
	umount "$MNT" || return 1
	fsck.ext4 -fn /dev/qrep0 || { echo "fsck found problems"; return 1; }
	mount /dev/qrep0 "$MNT" || return 1
	(cd "$MNT" && sha256sum --quiet -c "$DIR/sums") || { umount "$MNT"; return 1; }
	umount "$MNT"
}

# writes_reached SLOT N: the replica has acknowledged more than N writes.
writes_reached() { [ "$(field "$1" writes)" -gt "$2" ]; }

# kill -9 target 1 while fio writes and then verifies: fio sees no error.
kill_one_during_verify()
{
	local pid rc start=$SECONDS
	KILL_AFTER=$(($(field 1 writes) + 500))
	fio_run kill1 --rw=randwrite --bs=4k --iodepth=16 --size=48M &
	pid=$!
	wait_for 120 writes_reached 1 "$KILL_AFTER" ||
		{ echo "writes did not reach replica 1"; wait "$pid"; return 1; }
	target_kill 1
	wait "$pid" && rc=0 || rc=$?
	"$RT" status --dev 0
	ktap_diag "fio with a target killed: $((SECONDS - start)) s"
	[ "$rc" -eq 0 ] || { echo "fio failed"; return 1; }
	[ "$(field 1 state)" = failed ] || { echo "replica 1 not failed"; return 1; }
	[ -n "$(last_error 1)" ] || { echo "no reason given"; return 1; }
	echo "replica 1: $(last_error 1)"
	[ "$(field 0 state)" = uptodate ] && [ "$(field 2 state)" = uptodate ]
}

# A new connection for the failed slot: the replica comes back stale,
# gets writes and serves no reads.
reconnect_stale()
{
	local reads
	target_start 1 || return 1
	"$RT" add --dev 0 --slot 1 --target "127.0.0.1:$((PORT_BASE + 1))" || return 1
	[ "$(field 1 state)" = stale ] || { "$RT" status --dev 0; return 1; }
	reads=$(field 1 reads)
	fio_run stale --rw=randrw --bs=4k --iodepth=8 --size=8M || return 1
	"$RT" status --dev 0
	[ "$(field 1 writes)" -gt 0 ] && [ "$(field 1 reads)" = "$reads" ] &&
		[ "$(field 1 state)" = stale ]
}

# expect_eio WHAT SECONDS COMMAND...: COMMAND fails, with EIO, in time.
expect_eio()
{
	local what=$1 limit=$2 start=$SECONDS out rc
	shift 2
	out=$(timeout $((limit + 30)) "$@" 2>&1) && rc=0 || rc=$?
	echo "$what: status $rc after $((SECONDS - start)) s: $out"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || return 1
	echo "$out" | grep -q 'Input/output error' || return 1
	[ $((SECONDS - start)) -le "$limit" ]
}

# Every target gone: the sockets close, so no timeout is needed.
all_killed_eio()
{
	target_kill 0; target_kill 1; target_kill 2
	wait_for 10 bash -c "grep -qx 0 /sys/block/qrep0/qrep/live_replicas" || {
		"$RT" status --dev 0; return 1; }
	expect_eio "write" 5 \
		dd if=/dev/zero of=/dev/qrep0 bs=4k count=1 oflag=direct || return 1
	expect_eio "read" 5 \
		dd if=/dev/qrep0 of=/dev/null bs=4k count=1 iflag=direct || return 1
	"$RT" status --dev 0
}

qrep1_setup()
{
	local i
	for i in 3 4; do target_start "$i" "$UUID2" || return 1; done
	"$RT" create --size "$SIZE" --uuid "$UUID2" --io-timeout-ms "$IO_TIMEOUT_MS" \
		--index 1 || return 1
	for i in 3 4; do
		"$RT" add --dev 1 --slot $((i - 3)) --target "127.0.0.1:$((PORT_BASE + i))" ||
			return 1
	done
	DEV=/dev/qrep1 fio_run warm --rw=randwrite --bs=4k --iodepth=4 --size=4M
}

# SIGSTOP target 4: after the I/O timeout it is dropped, and fio finishes.
stalled_target_dropped()
{
	local start=$SECONDS elapsed
	target_stop 4 || return 1
	DEV=/dev/qrep1 fio_run stall --rw=randwrite --bs=4k --iodepth=4 --size=4M ||
		return 1
	elapsed=$((SECONDS - start))
	"$RT" status --dev 1
	ktap_diag "fio with a stopped target: $elapsed s (io-timeout $((IO_TIMEOUT_MS / 1000)) s)"
	[ "$(field 1 state 1)" = failed ] && [ "$(field 0 state 1)" = uptodate ] ||
		return 1
	last_error 1 1 | grep -q 'within the I/O timeout' || return 1
	[ "$elapsed" -lt $((IO_TIMEOUT_MS / 1000 + TIMEOUT_SLACK_S + 30)) ]
}

# The last target stops too: EIO after about the I/O timeout.
all_stalled_eio()
{
	target_stop 3 || return 1
	expect_eio "write" $((IO_TIMEOUT_MS / 1000 + TIMEOUT_SLACK_S)) \
		dd if=/dev/zero of=/dev/qrep1 bs=4k count=1 oflag=direct || return 1
	"$RT" status --dev 1
	[ "$(field 0 state 1)" = failed ] && [ "$(field 1 state 1)" = failed ]
}

# The second device's targets are still stopped: teardown must not care.
destroy_and_unload()
{
	qrepctl destroy 0 && qrepctl destroy 1 && rmmod qrep || return 1
	! ls /dev/qrep* 2>/dev/null
}

ktap_plan 12
ktap_test "three targets, a device, three replicas" setup
ktap_test "fio 4k random write + verify" fio_randwrite_verify
ktap_test "fio 1M sequential write + verify" fio_seqwrite_verify
ktap_test "random reads are spread over every replica" reads_spread
ktap_test "ext4: files survive umount, fsck clean" ext4_files
ktap_test "kill -9 a target during fio verify: no error, replica failed" kill_one_during_verify
ktap_test "reconnected replica is stale: writes, no reads" reconnect_stale
ktap_test "all targets killed: EIO at once, no hang" all_killed_eio
ktap_test "second device, two targets, 5 s I/O timeout" qrep1_setup
ktap_test "stopped target dropped after the I/O timeout, I/O goes on" stalled_target_dropped
ktap_test "last target stopped: EIO within the I/O timeout" all_stalled_eio
ktap_test "destroy both devices and rmmod" destroy_and_unload
ktap_finish
