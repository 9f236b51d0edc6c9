# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# qemu/cluster.sh: several qrep test VMs on one virtual Ethernet, for
# tests that run on the host. Source it from bash:
#
#   . "$(dirname "$0")/../../qemu/cluster.sh"
#   trap cluster_stop EXIT
#   cluster_start 3
#   vm_exec 1 ping -c 1 192.0.2.2
#   cluster_stop || echo "a guest kernel complained"
#
# The VMs are those of qemu/run-vm (same kernel command line, the host's
# root read-only over 9p, the same environment), plus:
#
#     node1 192.0.2.1        node2 192.0.2.2    ...    nodeN 192.0.2.N
#        |  eth0 (virtio-net)   |                         |
#   =====+======================+=======  vde_switch --hub  ======+=====
#
# a hub with no host interface: the VMs reach only one another. Each node
# has /etc/hosts with node1..nodeN.
#
# Functions (all return non-zero on failure and say why on stderr):
#
#   cluster_start N [--mem MIB] [--kernel KVER] [--disk SIZE]...
#       Start the switch and N VMs (1 <= N <= 5), booting in parallel, and
#       wait until every VM's agent is ready. Sets CLUSTER_DIR and
#       CLUSTER_N. KVER defaults to $KVER, else the newest 6.1. Each
#       --disk gives every node one persistent disk of SIZE (N, NK, NM,
#       NG; a sparse file nodeI/diskJ.img): the first is
#       /dev/disk/by-id/virtio-qrep-disk0 in the guest, the next
#       qrep-disk1. A node keeps its disks across vm_crash and vm_start:
#       what its kernel had written out is there after the next boot,
#       what was in its page cache is not (qemu/lib.sh).
#   vm_exec I CMD...
#       Run CMD (its arguments joined by spaces, run by bash, as with ssh)
#       in VM I, in the project root; print its stdout and stderr on ours;
#       return its exit status. Returns as soon as the command's bash exits:
#       `vm_exec 2 'setsid mydaemon >/tmp/d.log 2>&1 &'` does not wait
#       for the daemon. Gives up after $VM_EXEC_TIMEOUT seconds (the
#       command is killed, status 124); status 126 if the VM is not
#       running or dies meanwhile. Calls may run concurrently, to the same
#       VM or to different ones: each is a job of its own in the guest.
#   vm_crash I
#       Power VM I off at once (QEMU quits; no guest shutdown, unsynced
#       data is lost). Not a problem by itself for cluster_stop.
#   vm_start I
#       Boot VM I again (same MAC, address and hostname, same disk files;
#       a fresh guest, tmpfs contents are gone) and wait for its agent.
#   vm_link I off|on
#       Cut or restore VM I's network link (QEMU's set_link): the guest
#       sees its carrier go down.
#   vm_disk I [J]
#       Print the path of the host file behind VM I's disk J (default 0).
#   vm_log I
#       Print the path of VM I's console log (every boot of VM I, each
#       after a line "=== qrep cluster: nodeI boot B ===").
#   cluster_stop
#       Power off all VMs (through their agents, then forcibly), stop the
#       switch, remove the socket directory and the disk files (kept with
#       CLUSTER_KEEP_DISKS=1), and scan every console log of every boot with
#       qemu/kernel-log-patterns, as run-vm does. Returns 1 and prints the
#       matching lines if a guest kernel complained. Idempotent: a second
#       call returns the first one's status, so `trap cluster_stop EXIT`
#       is safe next to an explicit call, which a test should make to
#       check the result (a trap cannot change the exit status).
#
# Variables: CLUSTER_DIR is the run directory, under $QREP_BUILD/vm (per
# node nodeI/: console.log, qemu.log, the control share ctl/,
# monitor.out, the disk files). It is kept after cluster_stop for
# reading. The switch's unix sockets are not in it: a unix socket's path
# is limited to 108 bytes (sun_path, its NUL included), which a checkout
# in a deep directory would pass, so they live in a short directory of
# their own, made by mktemp under $QREP_VM_SOCK_BASE (/tmp), named in
# CLUSTER_DIR/sockdir and removed by cluster_stop. cluster_start refuses one that is still too
# long, saying so (vde_switch's own errors, "Is a directory" or "Address
# already in use", would not). QEMU's monitor and the agent's channel
# are FIFOs, which have no such limit: they stay in CLUSTER_DIR.
# CLUSTER_DIR and CLUSTER_N are exported, and the cluster's settings live
# in CLUSTER_DIR: a script the test runs may source this file and use
# the same VMs (but must not call cluster_stop).
# Timeouts, overridable from the environment:

: "${VM_EXEC_TIMEOUT:=300}"	# seconds per vm_exec
: "${VM_BOOT_TIMEOUT:=180}"	# seconds from starting QEMU to a ready agent
# A clean power-off on the debug kernel (QREP_VM_KERNEL=debug) includes
# kmemleak's wait and scans (qemu/guest-stage2): a node killed before
# they end has its leaks unchecked. (120 s is not measured yet.)
if [ "${QREP_VM_KERNEL:-stock}" = debug ]; then
	: "${VM_STOP_TIMEOUT:=120}"
fi
: "${VM_STOP_TIMEOUT:=30}"	# seconds for a clean power-off
: "${VM_MONITOR_TIMEOUT:=10}"	# seconds for QEMU to answer a monitor command

# shellcheck source=qemu/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${QREP_VM_SOCK_BASE:=/tmp}"	# where the socket directory is made
# The longest name vde_switch and QEMU's libvdeplug make in the switch's
# directory, its slash included: ctl, "%03d.%d" per port, and
# ".%05d-%05d" or "vde.%05d-%05d" per client (a pid of up to 7 digits).
CLUSTER_SOCK_NAME_MAX=20
# sizeof(sun_path): a unix socket path and its terminating NUL.
UNIX_PATH_MAX=108

QREP_VM_PROG=cluster
CLUSTER_MAX=5
CLUSTER_NET=192.0.2
CLUSTER_DIR=${CLUSTER_DIR:-}
CLUSTER_N=${CLUSTER_N:-0}

_cluster_err() {
	echo "cluster: $*" >&2
}

_vm_node() {
	echo "$CLUSTER_DIR/node$1"
}

# _cluster_switch: the switch's directory (its unix sockets).
_cluster_switch() {
	echo "$(cat "$CLUSTER_DIR/sockdir")/switch"
}

# _cluster_sock_dir: make the short directory for the unix sockets and
# record it in CLUSTER_DIR; refuse one whose sockets' paths would not fit.
_cluster_sock_dir() {
	local dir len

	dir=$(mktemp -d "$QREP_VM_SOCK_BASE/qrep-vm.XXXXXX") || {
		_cluster_err "cannot make a socket directory under $QREP_VM_SOCK_BASE"
		return 1
	}
	echo "$dir" >"$CLUSTER_DIR/sockdir"
	dir+=/switch
	len=$((${#dir} + CLUSTER_SOCK_NAME_MAX + 1))
	if [ "$len" -gt "$UNIX_PATH_MAX" ]; then
		_cluster_err "the switch's sockets in $dir would take up to $len bytes with the NUL: a unix socket path is limited to $UNIX_PATH_MAX bytes; set QREP_VM_SOCK_BASE to a shorter directory"
		rmdir "${dir%/switch}"
		return 1
	fi
}

_vm_check_index() {
	if ! [[ ${1:-} =~ ^[1-9][0-9]*$ ]] || [ "$1" -gt "$CLUSTER_N" ]; then
		_cluster_err "no VM '${1:-}' (the cluster has $CLUSTER_N)"
		return 1
	fi
}

_vm_pid() {
	cat "$(_vm_node "$1")/pid" 2>/dev/null
}

_vm_alive() {
	local pid

	pid=$(_vm_pid "$1") && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# _vm_wait_gone I SECONDS: wait for VM I's QEMU to exit.
_vm_wait_gone() {
	local end=$((SECONDS + $2))

	while _vm_alive "$1"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# _vm_send FIFO LINE: one write, never blocking: the FIFO is opened
# read-write (QEMU has it open for reading; if QEMU is gone, the line is
# dropped with the FIFO). A short line is written atomically, so
# concurrent callers do not mix.
_vm_send() {
	printf '%s\n' "$2" 1<>"$1"
}

# _vm_monitor I CMD: run a QEMU monitor command and wait until QEMU has
# processed it (it prints a new prompt). Serialised per VM.
_vm_monitor() {
	local node out lock before end rc=0

	node=$(_vm_node "$1")
	out=$node/monitor.out
	exec {lock}>"$node/monitor.lock"
	flock "$lock"
	before=$(grep -o '(qemu)' "$out" | wc -l)
	_vm_send "$node/monitor.in" "$2"
	end=$((SECONDS + VM_MONITOR_TIMEOUT))
	while [ "$(grep -o '(qemu)' "$out" | wc -l)" -le "$before" ]; do
		if ! _vm_alive "$1" || [ "$SECONDS" -ge "$end" ]; then
			_cluster_err "node$1: QEMU did not answer '$2'"
			rc=1
			break
		fi
		sleep 0.05
	done
	exec {lock}>&-
	return "$rc"
}

# _vm_boot I: start VM I's QEMU (in the background) on a clean control
# share. The cluster's settings are read from CLUSTER_DIR, so that a
# script started by the test can use these functions too.
_vm_boot() {
	local i=$1 node boot mac kver f d
	local -a sizes disks
	# (qrep_vm_qemu_args sees this one, the caller's stays as it was.)
	local QREP_VM_MEM

	kver=$(cat "$CLUSTER_DIR/kver")
	QREP_VM_MEM=$(cat "$CLUSTER_DIR/mem")
	mapfile -t sizes <"$CLUSTER_DIR/disks"

	node=$(_vm_node "$i")
	mkdir -p "$node"
	rm -rf "$node/ctl"
	mkdir -p "$node/ctl/jobs"
	cp "$CLUSTER_DIR/hosts" "$node/ctl/hosts"
	boot=$(($(cat "$node/boots" 2>/dev/null || echo 0) + 1))
	echo "$boot" >"$node/boots"
	mac=$(printf '52:54:00:c0:02:%02x' "$i")
	qrep_vm_config "$node/ctl/config" QREP_MODE=agent QREP_ROOT="$QREP_ROOT" \
		QREP_BUILD="$QREP_BUILD" KVER="$kver" \
		QREP_HOSTNAME="node$i" QREP_ADDR="$CLUSTER_NET.$i/24" \
		QREP_MAC="$mac" QREP_BOOT="$boot" QREP_DISKS="${#sizes[@]}"
	for f in agent monitor; do
		[ -p "$node/$f.in" ] || mkfifo "$node/$f.in"
		# QEMU writes here: a plain file needs no reader.
		: >"$node/$f.out"
	done
	# The console log keeps every boot; a crash may have cut a line.
	printf '\n=== qrep cluster: node%s boot %s ===\n' "$i" "$boot" >>"$node/console.log"

	qrep_vm_qemu_args "$kver" "$node/ctl" || return 1
	# The same files at every boot: that is what makes them persistent.
	disks=()
	for ((d = 0; d < ${#sizes[@]}; d++)); do
		qrep_vm_disk_create "$node/disk$d.img" "${sizes[d]}" || return 1
		disks+=("$node/disk$d.img")
	done
	qrep_vm_disk_args "${disks[@]}" || return 1
	# shellcheck disable=SC2054 # commas separate QEMU's suboptions
	QREP_QEMU_ARGS+=(
		-chardev "file,id=con,path=$node/console.log,append=on" -serial chardev:con
		-chardev "pipe,id=agent,path=$node/agent" -serial chardev:agent
		-chardev "pipe,id=mon,path=$node/monitor" -mon chardev=mon,mode=readline
		-netdev "vde,id=net0,sock=$(_cluster_switch)"
		-device "virtio-net-pci,netdev=net0,mac=$mac"
	)
	"${QREP_QEMU_ARGS[@]}" </dev/null >>"$node/qemu.log" 2>&1 &
	echo "$!" >"$node/pid"
}

# _vm_ready I: has VM I's agent reported this boot ready?
_vm_ready() {
	local node ready

	node=$(_vm_node "$1")
	ready=$(cat "$node/ctl/ready" 2>/dev/null) && [ -n "$ready" ] &&
		[ "$ready" = "$(cat "$node/boots" 2>/dev/null)" ]
}

# _vm_wait_ready I: wait for VM I's agent to report this boot ready.
_vm_wait_ready() {
	local i=$1 node end

	node=$(_vm_node "$i")
	end=$((SECONDS + VM_BOOT_TIMEOUT))
	until _vm_ready "$i"; do
		if ! _vm_alive "$i"; then
			_cluster_err "node$i died while booting; its console log ends with:"
			qrep_vm_log_tail "$node/console.log" >&2
			sed 's/^/  | qemu: /' "$node/qemu.log" >&2
			return 1
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			_cluster_err "node$i: no agent after $VM_BOOT_TIMEOUT s; console log ends with:"
			qrep_vm_log_tail "$node/console.log" >&2
			return 1
		fi
		sleep 0.2
	done
}

cluster_start() {
	local n=${1:-} i rc=0 kver="" mem=$QREP_VM_MEM size sizes=() sw

	shift || true
	while [ $# -gt 0 ]; do
		case $1 in
		--mem) mem=${2:?}; shift 2 ;;
		--kernel) kver=${2:?}; shift 2 ;;
		--disk) sizes+=("${2:?}"); shift 2 ;;
		*) _cluster_err "cluster_start: unknown argument '$1'"; return 1 ;;
		esac
	done
	if ! [[ $n =~ ^[1-9]$ ]] || [ "$n" -gt "$CLUSTER_MAX" ]; then
		_cluster_err "cluster_start: N must be 1..$CLUSTER_MAX, not '$n'"
		return 1
	fi
	if [ -n "$CLUSTER_DIR" ] && [ -d "$CLUSTER_DIR" ] && [ ! -e "$CLUSTER_DIR/stopped" ]; then
		_cluster_err "cluster_start: a cluster is already running in $CLUSTER_DIR"
		return 1
	fi
	if ! [[ $mem =~ ^[1-9][0-9]*$ ]]; then
		_cluster_err "cluster_start: --mem takes MiB, not '$mem'"
		return 1
	fi
	for size in "${sizes[@]}"; do
		if ! [[ $size =~ ^[1-9][0-9]*[KMG]?$ ]]; then
			_cluster_err "cluster_start: --disk takes a size (N, NK, NM, NG), not '$size'"
			return 1
		fi
	done
	kver=${kver:-$(qrep_vm_default_kver)}
	(qrep_vm_check_kver "$kver") || return 1
	mkdir -p "$QREP_VM_DIR"
	CLUSTER_DIR=$(mktemp -d "$QREP_VM_DIR/cluster.$(date +%Y%m%d-%H%M%S).XXXX")
	CLUSTER_N=$n
	export CLUSTER_DIR CLUSTER_N
	echo "$kver" >"$CLUSTER_DIR/kver"
	echo "$mem" >"$CLUSTER_DIR/mem"
	printf '%s\n' "${sizes[@]}" | sed '/^$/d' >"$CLUSTER_DIR/disks"
	_cluster_sock_dir || return 1
	sw=$(_cluster_switch)
	# Build the initramfs and the kernel image now, once, rather than in
	# N racing boots.
	(qrep_vm_qemu_args "$kver" "$CLUSTER_DIR") || return 1

	{
		echo "127.0.0.1 localhost"
		for ((i = 1; i <= n; i++)); do
			echo "$CLUSTER_NET.$i node$i"
		done
	} >"$CLUSTER_DIR/hosts"

	# The switch reads commands on stdin and quits at its end: give it a
	# FIFO that nobody writes to.
	mkfifo "$CLUSTER_DIR/switch.in"
	vde_switch --hub --sock "$sw" 0<>"$CLUSTER_DIR/switch.in" \
		>"$CLUSTER_DIR/switch.log" 2>&1 &
	echo "$!" >"$CLUSTER_DIR/switch.pid"
	# (It is up in milliseconds: the monitor's timeout is plenty.)
	i=$((SECONDS + VM_MONITOR_TIMEOUT))
	until [ -S "$sw/ctl" ]; do
		if [ "$SECONDS" -ge "$i" ] || ! kill -0 "$(cat "$CLUSTER_DIR/switch.pid")" 2>/dev/null; then
			_cluster_err "vde_switch did not start:"
			cat "$CLUSTER_DIR/switch.log" >&2
			return 1
		fi
		sleep 0.05
	done

	for ((i = 1; i <= n; i++)); do
		_vm_boot "$i" || return 1
	done
	for ((i = 1; i <= n; i++)); do
		_vm_wait_ready "$i" || rc=1
	done
	return "$rc"
}

vm_exec() {
	local i=${1:-} node dir id end nap=0.01 rc
	shift || true

	_vm_check_index "$i" || return 126
	if ! _vm_alive "$i"; then
		_cluster_err "vm_exec: node$i is not running"
		return 126
	fi
	node=$(_vm_node "$i")
	dir=$(mktemp -d "$node/ctl/jobs/XXXXXXXX")
	id=${dir##*/}
	printf '%s\n' "$*" >"$dir/cmd"
	_vm_send "$node/agent.in" "run $id"
	end=$((SECONDS + VM_EXEC_TIMEOUT))
	# The guest writes the status in one write(): non-empty is complete.
	until [ -s "$dir/status" ]; do
		if ! _vm_alive "$i"; then
			_cluster_err "vm_exec: node$i died running: $*"
			rc=126
			break
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			_cluster_err "vm_exec: node$i: timeout after $VM_EXEC_TIMEOUT s, killing: $*"
			_vm_send "$node/agent.in" "kill $id"
			rc=124
			break
		fi
		sleep "$nap"
		# Quick commands are answered quickly; long ones polled gently.
		case $nap in
		0.01) nap=0.02 ;; 0.02) nap=0.05 ;; 0.05) nap=0.1 ;;
		esac
	done
	cat "$dir/out" 2>/dev/null || true
	cat "$dir/err" >&2 2>/dev/null || true
	if [ -z "${rc:-}" ]; then
		rc=$(cat "$dir/status")
		rm -rf "$dir"
	fi
	return "$rc"
}

vm_crash() {
	local i=${1:-} pid

	_vm_check_index "$i" || return 1
	_vm_alive "$i" || return 0
	_vm_send "$(_vm_node "$i")/monitor.in" quit
	if ! _vm_wait_gone "$i" "$VM_MONITOR_TIMEOUT"; then
		pid=$(_vm_pid "$i")
		kill -KILL "$pid" 2>/dev/null || true
		_vm_wait_gone "$i" "$VM_MONITOR_TIMEOUT" || return 1
	fi
}

vm_start() {
	local i=${1:-}

	_vm_check_index "$i" || return 1
	if _vm_alive "$i"; then
		_cluster_err "vm_start: node$i is running"
		return 1
	fi
	_vm_boot "$i" && _vm_wait_ready "$i"
}

vm_link() {
	local i=${1:-} state=${2:-}

	_vm_check_index "$i" || return 1
	case $state in
	on | off) ;;
	*) _cluster_err "vm_link: say on or off, not '$state'"; return 1 ;;
	esac
	_vm_alive "$i" || { _cluster_err "vm_link: node$i is not running"; return 1; }
	_vm_monitor "$i" "set_link net0 $state"
}

vm_disk() {
	local j=${2:-0}

	_vm_check_index "${1:-}" || return 1
	if ! [[ $j =~ ^[0-9]+$ ]] || [ ! -f "$(_vm_node "$1")/disk$j.img" ]; then
		_cluster_err "vm_disk: node$1 has no disk '$j'"
		return 1
	fi
	echo "$(_vm_node "$1")/disk$j.img"
}

vm_log() {
	_vm_check_index "${1:-}" || return 1
	echo "$(_vm_node "$1")/console.log"
}

cluster_stop() {
	local i pid end rc=0 problems logs=()

	[ -n "$CLUSTER_DIR" ] && [ -d "$CLUSTER_DIR" ] || return 0
	if [ -e "$CLUSTER_DIR/stopped" ]; then
		return "$(cat "$CLUSTER_DIR/stopped")"
	fi
	# A clean power-off, all VMs at once, for those whose agent is up;
	# one still booting (cluster_start interrupted) would not hear it, so
	# QEMU quits at once; whoever does not go in time is killed.
	for ((i = 1; i <= CLUSTER_N; i++)); do
		_vm_alive "$i" || continue
		if _vm_ready "$i"; then
			_vm_send "$(_vm_node "$i")/agent.in" poweroff
		else
			_vm_send "$(_vm_node "$i")/monitor.in" quit
		fi
	done
	end=$((SECONDS + VM_STOP_TIMEOUT))
	for ((i = 1; i <= CLUSTER_N; i++)); do
		_vm_wait_gone "$i" $((end > SECONDS ? end - SECONDS : 0)) && continue
		_cluster_err "node$i did not power off in $VM_STOP_TIMEOUT s, killing it"
		kill -KILL "$(_vm_pid "$i")" 2>/dev/null || true
		_vm_wait_gone "$i" "$VM_MONITOR_TIMEOUT" || true
	done
	if pid=$(cat "$CLUSTER_DIR/switch.pid" 2>/dev/null); then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	# Reap the QEMUs if this shell started them (else wait fails at once).
	for ((i = 1; i <= CLUSTER_N; i++)); do
		if pid=$(_vm_pid "$i"); then
			wait "$pid" 2>/dev/null || true
		fi
	done

	for ((i = 1; i <= CLUSTER_N; i++)); do
		logs+=("$(_vm_node "$i")/console.log")
	done
	if ! problems=$(qrep_vm_log_scan "${logs[@]}"); then
		_cluster_err "kernel log shows a problem:"
		echo "$problems" >&2
		rc=1
	fi
	if [ -s "$CLUSTER_DIR/sockdir" ]; then
		rm -rf "$(cat "$CLUSTER_DIR/sockdir")"
	fi
	rm -f "$CLUSTER_DIR/switch.in"
	for ((i = 1; i <= CLUSTER_N; i++)); do
		rm -f "$(_vm_node "$i")"/{agent.in,monitor.in,monitor.lock}
		[ "${CLUSTER_KEEP_DISKS:-0}" = 1 ] || rm -f "$(_vm_node "$i")"/disk*.img
	done
	echo "$rc" >"$CLUSTER_DIR/stopped"
	[ "$rc" = 0 ] || _cluster_err "logs in $CLUSTER_DIR"
	return "$rc"
}
