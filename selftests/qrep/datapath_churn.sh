#!/bin/bash
# Replicas coming and going while I/O runs, and devices with live
# replicas destroyed and unloaded:
#
#        /dev/qrep0
#       /    |     \
#   slot 0  slot 1  slot 2      slots 1 and 2 removed and re-added in a
#     |       |       |         loop during fio verify; slot 0 stays
#   target 0  target 1  target 2    (qrep-target on 127.0.0.1, tmpfs)
#
# fio must see no error while slots 1 and 2 churn (re-added replicas
# come back stale, so reads go to slot 0). Then: status dumps racing with
# the churn, the last up-to-date replica removed under I/O (EIO, no
# hang), create/add/destroy cycles, and rmmod with live replicas.
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"

RT=$QREP_BUILD/selftests/replica_tool
DIR=/tmp/qrep-churn.$$
PORT_BASE=$((7800 + $$ % 500))
UUID=7a1d0c2e-3b4f-4a5e-8d6c-9e0f1a2b3c4d
SIZE=128M
CHURN_ROUNDS=6
CYCLES=5
# The devices' io timeout: replica_tool creates them with the default,
# QREP_DEFAULT_IO_TIMEOUT_MS. A first I/O of a workload completes within
# it, when a replica is up to date.
IO_TIMEOUT_SEC=30

cleanup()
{
	local f
	for f in "$DIR"/target*.pid; do
		[ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	qrep_unload 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

listening() { bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

target_start()
{
	local i=$1 store=$DIR/store$1
	[ -e "$store" ] || qrep-target init --store "$store" --size "$SIZE" \
		--uuid "$UUID" >/dev/null || return 1
	qrep-target serve --store "$store" --listen "127.0.0.1:$((PORT_BASE + i))" \
		>>"$DIR/target$i.log" 2>&1 &
	echo $! >"$DIR/target$i.pid"
	wait_for 20 listening $((PORT_BASE + i))
}

add() { "$RT" add --dev "$1" --slot "$2" --target "127.0.0.1:$((PORT_BASE + $2))"; }

state() { "$RT" status --dev "$1" | sed -n "s/^replica slot=$2 .* state=\([a-z]*\) .*/\1/p"; }

written() { [ "$(cat "/sys/block/qrep$1/qrep/version")" -gt 0 ]; }

# dev_up N: device N over the three targets.
dev_up()
{
	"$RT" create --size "$SIZE" --uuid "$UUID" --index "$1" >/dev/null &&
		add "$1" 0 && add "$1" 1 && add "$1" 2
}

setup()
{
	mkdir -p "$DIR" && target_start 0 && target_start 1 && target_start 2 &&
		qrep_load && dev_up 0
}

churn_during_verify()
{
	local pid rc round slot
	fio --name=churn --filename=/dev/qrep0 --direct=1 --ioengine=libaio \
		--rw=randrw --bs=4k --iodepth=16 --size=32M --verify=crc32c \
		--verify_fatal=1 >"$DIR/fio.churn" 2>&1 &
	pid=$!
	# Once writes flow, re-added replicas must come back stale.
	wait_for 60 written 0 || { kill "$pid"; return 1; }
	for round in $(seq "$CHURN_ROUNDS"); do
		for slot in 1 2; do
			sleep 1
			"$RT" remove --dev 0 --slot "$slot" || { kill "$pid"; return 1; }
			"$RT" status --dev 0 >/dev/null || { kill "$pid"; return 1; }
			add 0 "$slot" || { kill "$pid"; return 1; }
			[ "$(state 0 "$slot")" = stale ] ||
				{ "$RT" status --dev 0; kill "$pid"; return 1; }
		done
	done
	wait "$pid" && rc=0 || rc=$?
	"$RT" status --dev 0
	[ "$rc" -eq 0 ] || { cat "$DIR/fio.churn"; return 1; }
	[ "$(state 0 0)" = uptodate ]
}

status_dumps()
{
	local i
	for i in $(seq 50); do "$RT" status --dev 0 >/dev/null || return 1; done
}

status_races()
{
	local i pid rc=0
	status_dumps &
	pid=$!
	for i in $(seq 3); do
		"$RT" remove --dev 0 --slot 2 && add 0 2 || { rc=1; break; }
	done
	ktap_wait "$pid" || return 1
	return "$rc"
}

# ios_done N: I/Os completed by /dev/qrepN, reads and writes.
ios_done() { awk '{ print $1 + $5 }' "/sys/block/qrep$1/stat"; }

ios_done_above() { [ "$(ios_done "$1")" -gt "$2" ]; }

# Slot 0 is the only up-to-date replica: removing it under I/O ends that
# I/O with errors, promptly.
last_uptodate_removed()
{
	local pid rc start=$SECONDS ios
	[ "$(state 0 1)" = stale ] && [ "$(state 0 2)" = stale ] ||
		{ "$RT" status --dev 0; return 1; }
	ios=$(ios_done 0)
	timeout 120 fio --name=last --filename=/dev/qrep0 --direct=1 \
		--ioengine=libaio --rw=randrw --bs=4k --iodepth=16 --size=32M \
		--time_based --runtime=60 >"$DIR/fio.last" 2>&1 &
	pid=$!
	# Under I/O: once fio's first ones have completed.
	ktap_assert "fio's I/O reaches the device" \
		wait_for "$IO_TIMEOUT_SEC" ios_done_above 0 "$ios" ||
		{ kill "$pid"; wait "$pid"; return 1; }
	"$RT" remove --dev 0 --slot 0 || { kill "$pid"; return 1; }
	wait "$pid" && rc=0 || rc=$?
	echo "fio: status $rc after $((SECONDS - start)) s"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] &&
		grep -q 'Input/output error' "$DIR/fio.last" || { cat "$DIR/fio.last"; return 1; }
	qrepctl destroy 0
}

create_destroy_cycles()
{
	local i
	for i in $(seq "$CYCLES"); do
		dev_up 1 || return 1
		dd if=/dev/urandom of=/dev/qrep1 bs=64k count=16 oflag=direct status=none ||
			return 1
		dd if=/dev/qrep1 of=/dev/null bs=64k count=16 iflag=direct status=none ||
			return 1
		qrepctl destroy 1 || return 1
	done
}

unload_with_live_replicas()
{
	dev_up 2 && dev_up 3 || return 1
	dd if=/dev/zero of=/dev/qrep2 bs=4k count=8 oflag=direct status=none || return 1
	rmmod qrep && ! ls /dev/qrep* 2>/dev/null
}

ktap_plan 6
ktap_test "three targets, one device" setup
ktap_test "slots 1 and 2 removed and re-added during fio verify" churn_during_verify
ktap_test "status dumps while a slot churns" status_races
ktap_test "last up-to-date replica removed under I/O: EIO, no hang" last_uptodate_removed
ktap_test "create, add, I/O, destroy: $CYCLES cycles" create_destroy_cycles
ktap_test "rmmod with two devices and live replicas" unload_with_live_replicas
ktap_finish
