#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The cases are functions that ktap_step runs in this shell.
# shellcheck disable=SC2317
#
# The multi-VM harness (qemu/cluster.sh) on its own, before any qrep test
# relies on it. Runs on the host; prints KTAP; exits 0 iff all cases pass
# (4 if it cannot run at all).
#
#   node1 192.0.2.1     node2 192.0.2.2     node3 192.0.2.3
#        |                   |                   |
#   =====+=========== vde_switch --hub ==========+=====   (no host port)
#
# Every node reaches the other two; vm_exec's status, output and timeout
# behave; then node3 crashes (unreachable) and comes back (reachable),
# node2's link goes down (unreachable) and up (reachable); at the end
# every console log of every boot is clean and the switch's socket
# directory is gone. Before all that, a socket
# directory too deep for a unix socket's path is refused with a message
# that names the limit, and no switch is started there.

set -euo pipefail

ROOT=$(cd -P "$(dirname "$0")/../.." && pwd)
# shellcheck source=selftests/lib/ktap.sh
. "$ROOT/selftests/lib/ktap.sh"
# shellcheck source=qemu/cluster.sh
. "$ROOT/qemu/cluster.sh"

PING_WAIT=3		# seconds a ping may take to be answered
LOST_LIMIT=6		# seconds by which a lost node must be seen as lost
DAEMON_LIMIT=10		# seconds for vm_exec to start a background daemon
SHORT_EXEC_TIMEOUT=5	# VM_EXEC_TIMEOUT for the timeout case
KILLED_WAIT=20		# seconds for the timed-out command to be killed
DEEP_DIR_LEN=100	# characters of the too-deep socket directory
CASES=11

ktap_plan "$CASES"
ktap_need_tools cluster "$CASES" "make deps" "$QREP_QEMU" vde_switch

trap cluster_stop EXIT
# A signal ends the test through the EXIT trap too.
trap 'exit 130' INT
trap 'exit 143' TERM

# reach FROM TO: does node FROM get an answer from node TO's address?
# (busybox's ping: the host's root may have no iputils.)
reach() {
	vm_exec "$1" "busybox ping -c 1 -W $PING_WAIT $CLUSTER_NET.$2" >/dev/null
}

all_reach_all() {
	local from to

	for from in 1 2 3; do
		for to in 1 2 3; do
			[ "$from" = "$to" ] || reach "$from" "$to" ||
				{ ktap_diag "node$from cannot reach node$to"; return 1; }
		done
	done
}

# lost NODE FROM...: every FROM fails to reach NODE within LOST_LIMIT
# seconds. The FROMs try at the same time (concurrent vm_exec).
lost() {
	local node=$1 from start i pids=() rc=0
	shift

	start=$SECONDS
	for from in "$@"; do
		reach "$from" "$node" &
		pids+=("$!")
	done
	for ((i = 0; i < ${#pids[@]}; i++)); do
		if wait "${pids[i]}"; then
			ktap_diag "node${*:i+1:1} still reaches node$node"
			rc=1
		fi
	done
	if [ $((SECONDS - start)) -gt "$LOST_LIMIT" ]; then
		ktap_diag "giving up on node$node took $((SECONDS - start)) s"
		rc=1
	fi
	return "$rc"
}

found() {
	local node=$1 from
	shift

	for from in "$@"; do
		reach "$from" "$node" || { ktap_diag "node$from cannot reach node$node"; return 1; }
	done
}

exec_status() {
	local out rc=0

	# shellcheck disable=SC2016 # expanded in the guest
	out=$(vm_exec 2 'echo "on $(hostname)"; echo oops >&2; exit 7' 2>&1) || rc=$?
	ktap_diag "status $rc, output: ${out//$'\n'/ | }"
	[ "$rc" = 7 ] && [ "$out" = "on node2"$'\n'"oops" ]
}

exec_daemon() {
	local start=$SECONDS

	vm_exec 2 'setsid sleep 4242 >/dev/null 2>&1 &' || return 1
	[ $((SECONDS - start)) -le "$DAEMON_LIMIT" ] ||
		{ ktap_diag "vm_exec waited for the daemon"; return 1; }
	vm_exec 2 'pgrep -x sleep >/dev/null' ||
		{ ktap_diag "the daemon is not running"; return 1; }
}

exec_timeout() {
	local rc=0 end

	VM_EXEC_TIMEOUT=$SHORT_EXEC_TIMEOUT vm_exec 1 'sleep 4343' 2>/dev/null || rc=$?
	[ "$rc" = 124 ] || { ktap_diag "status $rc, not 124"; return 1; }
	# The agent kills the command's process group; poll for it.
	end=$((SECONDS + KILLED_WAIT))
	while vm_exec 1 'pgrep -f "sleep 4343" >/dev/null'; do
		[ "$SECONDS" -lt "$end" ] || { ktap_diag "the command survived"; return 1; }
		sleep 0.5
	done
}

# deep_sock_dir_refused: with the socket directory's base 100 characters
# deep, cluster_start must fail before booting anything, say why (the
# 108-byte limit) and leave no socket directory behind.
deep_sock_dir_refused() {
	local base err rc=0

	base=$(mktemp -d /tmp/qrep-deep.XXXXXX)
	while [ "${#base}" -lt "$DEEP_DIR_LEN" ]; do
		base+=/deeper-and-deeper
	done
	mkdir -p "$base"
	err=$( (CLUSTER_DIR="" QREP_VM_SOCK_BASE=$base cluster_start 1) 2>&1) && rc=1
	ktap_diag "cluster_start said: $err"
	[[ $err == *"limited to 108 bytes"* ]] || { ktap_diag "no word of the 108-byte limit"; rc=1; }
	if [ -n "$(find "$base" -mindepth 1 -print -quit)" ]; then
		ktap_diag "something was left in $base"
		rc=1
	fi
	rm -rf "${base%%/deeper-and-deeper*}"
	return "$rc"
}

# stop_clean: cluster_stop finds every console log clean and removes the
# switch's socket directory.
stop_clean() {
	local dir

	dir=$(cat "$CLUSTER_DIR/sockdir") || return 1
	cluster_stop || return 1
	[ ! -e "$dir" ] || { ktap_diag "$dir is still there"; return 1; }
}

crash_node3() {
	vm_crash 3 && lost 3 1 2
}

restart_node3() {
	vm_start 3 && found 3 1 2
}

cut_node2() {
	vm_link 2 off && lost 2 1 3
}

restore_node2() {
	vm_link 2 on && found 2 1 3
}

ktap_step "a socket directory too deep for a unix socket is refused" deep_sock_dir_refused

start=$SECONDS
if ! cluster_start 3; then
	ktap_report "three VMs boot" 1
	for ((i = 3; i <= CASES; i++)); do
		ktap_report "cluster case $i (the cluster did not start)" 1
	done
	ktap_finish
fi
ktap_diag "three VMs booted in $((SECONDS - start)) s ($CLUSTER_DIR)"
ktap_report "three VMs boot" 0

ktap_step "every node reaches the other two" all_reach_all
ktap_step "vm_exec returns the command's status and output" exec_status
ktap_step "vm_exec returns while a daemon it started runs" exec_daemon
ktap_step "vm_exec kills a command at its timeout" exec_timeout
ktap_step "crashed node3 is unreachable" crash_node3
ktap_step "restarted node3 is reachable" restart_node3
ktap_step "node2 with its link cut is unreachable" cut_node2
ktap_step "node2 with its link restored is reachable" restore_node2
ktap_step "every console log is clean, the socket directory gone" stop_clean

ktap_finish
