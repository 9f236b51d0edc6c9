#!/bin/bash
# Replica targets for selftests inside a VM: stores on tmpfs, one
# qrep-target per store on loopback, and a resource file for qrepctl.
#
#   targets_setup N SIZE [IO_TIMEOUT]   stores, daemons, $QREP_CONF
#   target_kill I          kill -9 target I (0-based): a crash
#   target_stop I          SIGSTOP: a target that stops answering
#   target_start I [SECRET]  (re)start target I on its store and port,
#                          with --secret-file SECRET ("" for none;
#                          default $TARGET_SECRET)
#   target_store I         path of store I
#   target_stats I KEY     a counter from target I's stats file
#   stores_identical       every store holds the same blocks and versions
#                          (the device must be down, or idle)
#   stores_identical_at_rest  the same, with the device taken down for it
#                          and brought up again
#   targets_teardown       device down, daemons gone, stores removed
#
# Ports start at QREP_TEST_PORT_BASE; stores live in $TARGETS_DIR. Every
# target listens on loopback, unless TARGET_HOSTS names the address of
# target I's machine (a test over several VMs: target_start on each, the
# same TARGET_HOSTS everywhere, so the resource file names them all). With
# TARGET_SECRET set to a secret file, every target requires it and the
# resource file names it (secret-file); unset, nothing is authenticated.

: "${QREP_TEST_PORT_BASE:=7801}"
TARGETS_DIR=${TARGETS_DIR:-/tmp/qrep-targets}
QREP_CONF=$TARGETS_DIR/r0.conf
TARGET_NAMES=(a b c d e f g h)
TARGETS_N=0
TARGET_PIDS=()
TARGET_SECRET=${TARGET_SECRET:-}
TARGET_HOSTS=()
# How long a target may take to start listening.
TARGET_START_TIMEOUT=20

target_store() { echo "$TARGETS_DIR/${TARGET_NAMES[$1]}.store"; }
target_port() { echo $((QREP_TEST_PORT_BASE + $1)); }
target_host() { echo "${TARGET_HOSTS[$1]:-127.0.0.1}"; }

# target_listening PORT [HOST]
target_listening()
{
	bash -c "exec 3<>/dev/tcp/${2:-127.0.0.1}/$1" 2>/dev/null
}

target_start()
{
	local i=$1 port secret=${2-$TARGET_SECRET} opt=()
	port=$(target_port "$i")
	[ -z "$secret" ] || opt=(--secret-file "$secret")
	setsid qrep-target serve --store "$(target_store "$i")" \
		--listen "$(target_host "$i"):$port" \
		--stats-file "$TARGETS_DIR/${TARGET_NAMES[$i]}.stats" "${opt[@]}" \
		>>"$TARGETS_DIR/${TARGET_NAMES[$i]}.log" 2>&1 &
	TARGET_PIDS[$i]=$!
	wait_for "$TARGET_START_TIMEOUT" target_listening "$port" "$(target_host "$i")" || {
		echo "target ${TARGET_NAMES[$i]} did not start:"
		tail -n 5 "$TARGETS_DIR/${TARGET_NAMES[$i]}.log"
		return 1
	}
}

# The pid of target I, found by its store: a target (re)started inside a
# test's subshell is not in this shell's TARGET_PIDS.
target_pid()
{
	pgrep -f -- "qrep-target serve --store $(target_store "$1") " |
		head -n 1
}

target_gone() { [ -z "$(target_pid "$1")" ]; }

target_kill()
{
	local pid
	pid=$(target_pid "$1")
	[ -n "$pid" ] || return 0
	kill -9 "$pid" 2>/dev/null || true
	# No wait: in a test's subshell, bash may block on a pid that is
	# the parent shell's child. A killed process leaves the list at once
	# (a zombie has no command line for pgrep to match).
	wait_for 10 target_gone "$1"
}

target_stop() { kill -STOP "$(target_pid "$1")"; }
target_cont() { kill -CONT "$(target_pid "$1")"; }

# target_stats I KEY: the value of KEY in target I's stats file.
target_stats()
{
	awk -v k="$2" '$1 == k { print $2 }' "$TARGETS_DIR/${TARGET_NAMES[$1]}.stats"
}

# stats_id I: what changes when target I's stats file is rewritten.
stats_id() { stat -c '%i %y' "$TARGETS_DIR/${TARGET_NAMES[$1]}.stats" 2>/dev/null; }

stats_rewritten() { [ "$(stats_id "$1")" != "$2" ]; }

# stats_settle I: waits until target I's stats file has been rewritten
# twice from now (for at most $STATS_REWRITE_WAIT seconds each, which the
# test sets from its targets' --stats-interval): the second snapshot
# counts everything done before.
stats_settle()
{
	local n id
	for n in 1 2; do
		id=$(stats_id "$1")
		wait_for "${STATS_REWRITE_WAIT:?the test sets STATS_REWRITE_WAIT}" \
			stats_rewritten "$1" "$id" ||
			{ echo "target $1's stats file is not rewritten"; return 1; }
	done
}

# The stores compared block for block, data and versions: qrep-store
# compare lists the first blocks that differ.
stores_identical()
{
	local i stores=()

	for ((i = 0; i < TARGETS_N; i++)); do
		stores+=("$(target_store "$i")")
	done
	qrep-store compare "${stores[@]}" && return 0
	echo "the stores of ${TARGET_NAMES[*]:0:TARGETS_N} are not identical"
	return 1
}

stores_identical_at_rest()
{
	qrepctl down -c "$QREP_CONF" || return 1
	stores_identical || return 1
	qrepctl up -c "$QREP_CONF"
}

# targets_write_conf N SIZE UUID IO_TIMEOUT: the resource file.
targets_write_conf()
{
	local n=$1 i
	{
		echo "resource r0"
		echo "device 0"
		echo "size $2"
		echo "uuid $3"
		echo "mode mirror"
		echo "io-timeout $4"
		echo "connect-timeout 2s"
		[ -z "$TARGET_SECRET" ] || echo "secret-file $TARGET_SECRET"
		for i in $(seq 0 $((n - 1))); do
			echo "replica ${TARGET_NAMES[$i]} $(target_host "$i"):$(target_port "$i")"
		done
	} >"$QREP_CONF"
}

targets_setup()
{
	local n=$1 size=$2 io_timeout=${3:-10s} i
	TARGETS_N=$n
	mkdir -p "$TARGETS_DIR"
	QREP_UUID=$(qrep-target init --store "$(target_store 0)" --size "$size" | tail -n 1)
	for i in $(seq 1 $((n - 1))); do
		qrep-target init --store "$(target_store "$i")" --size "$size" \
			--uuid "$QREP_UUID" >/dev/null || return 1
	done
	for i in $(seq 0 $((n - 1))); do
		target_start "$i" || return 1
	done
	targets_write_conf "$n" "$size" "$QREP_UUID" "$io_timeout"
}

targets_teardown()
{
	local i
	qrepctl down -c "$QREP_CONF" >/dev/null 2>&1 || true
	for i in "${!TARGET_PIDS[@]}"; do
		kill -CONT "${TARGET_PIDS[$i]}" 2>/dev/null || true
		kill "${TARGET_PIDS[$i]}" 2>/dev/null || true
		wait "${TARGET_PIDS[$i]}" 2>/dev/null || true
	done
	for i in $(seq 0 $((TARGETS_N - 1))); do
		target_kill "$i"
	done
	TARGET_PIDS=()
	rm -rf "$TARGETS_DIR"
}

# replica_state NAME: the state qrepctl status reports for replica NAME.
replica_state()
{
	qrepctl status 0 | awk -v n="$1" '$1 == "replica" && $3 ~ "^" n "@" { print $4 }'
}

# state_is NAME STATE: replica NAME is in STATE (for wait_for).
state_is() { [ "$(replica_state "$1")" = "$2" ]; }
