#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The cases are functions that ktap_step runs in this shell.
# shellcheck disable=SC2317
#
# Failover of a 3-node cluster in quorum mode, as a user sees it: the
# election (qrepd --node, Documentation/election.rst) picks a writable
# primary, a crash or a cut moves the role, no acknowledged write is lost,
# a cut-off primary cannot write and a lone node never becomes writable.
# Runs on the host, drives three VMs with qemu/cluster.sh, prints KTAP;
# exits 0 iff no case failed.
#
#   node1 192.0.2.1        node2 192.0.2.2        node3 192.0.2.3
#   qrep-target n1         qrep-target n2         qrep-target n3
#   qrepd --node 1         qrepd --node 2         qrepd --node 3
#   /dev/qrep0             /dev/qrep0             /dev/qrep0
#        |                      |                      |
#   =====+========== vde_switch --hub (no host port) ==+=====
#
# One resource r0 (mode quorum, W = R = 2 of 3), the same file and the same
# secret (mode 0600) on every node; each store on the node's tmpfs.
#
#  1. qrepd starts on all three at once: node3, the biggest id, becomes the
#     writable primary within a bound derived from the timeouts; node1 and
#     node2 refuse to open /dev/qrep0 (EMEDIUMTYPE). ext4 on node3, and a
#     writer appends numbered records, each write + fsync; the number of
#     every acknowledged one goes to the host (the VM's control share,
#     which outlives the VM). node3 loses power mid-write: node2 becomes
#     the primary within the bound (the time is printed); there fsck is
#     clean and every acknowledged record is there, intact.
#  2. node3 comes back (a fresh VM: its tmpfs store is new and blank, as
#     after a disk replacement): with failback never it follows node2,
#     which stays primary; node2 resyncs n3 (up to date in its status)
#     while its own writer runs; no record lost.
#  3. node2's link is cut: node3 (with node1, the majority) becomes the
#     primary and writes; node2 acknowledges nothing from the cut + a few
#     seconds on, nor after the heal, when it demotes (log, device). Then
#     node3's file system holds every record node2 and node3 acknowledged,
#     intact, fsck clean: nothing forked.
#  4. node1's link is cut (alone, a minority): through several election
#     cycles it never becomes writable though its qrepd keeps trying, and
#     node3 keeps writing; healed, node1 follows node3.
#  5. The election channel, with node3 the primary and writing all along:
#     node1's qrepd is restarted with a wrong secret, then with none.
#     Through its listening and two election cycles at least, nodes 2
#     and 3 log its datagrams dropped as bad MAC (wrong, then missing),
#     it drops node3's, every target refuses its epoch proposals (log,
#     auth_failed) and its /dev/qrep0 never opens for writing; node3
#     stays primary at the same epoch and its writer is acknowledged.
#     Then node1, as a third machine on the hub, records one of node3's
#     datagrams to node2 and sends it again byte for byte from node3's
#     address (udp_replay.c): node2 drops it as replayed, nothing
#     changes. Last, node1's qrepd with the right secret follows node3.
#
# A qrepd without --node (no cluster mode) fails every case.
#
# In selftests/TESTS as cluster-failover. The election channel's cases
# (5) took 69 s in one run on a busy machine, where the cases before them
# took 211 s.

set -uo pipefail

ROOT=$(cd -P "$(dirname "$0")/../.." && pwd)
# shellcheck source=selftests/lib/ktap.sh
. "$ROOT/selftests/lib/ktap.sh"
# shellcheck source=qemu/cluster.sh
. "$ROOT/qemu/cluster.sh"
# shellcheck source=selftests/lib/records.sh
. "$ROOT/selftests/lib/records.sh"

# --- qrepd's cluster mode: names to adjust when it lands ------------------

QREPD_NODE_OPT=--node			# qrepd -c CONF --node ID
CLUSTER_STATUS=/run/qrep/r0.cluster	# qrepd's view, in each VM
# How a node line and the election settings are spelled in the resource.
KEY_NODE=node
KEY_HB_INTERVAL=heartbeat-interval
KEY_HB_TIMEOUT=heartbeat-timeout
KEY_ACK_TIMEOUT=election-ack-timeout
KEY_COORD_TIMEOUT=coordinator-timeout
KEY_QUORUM_TIMEOUT=epoch-quorum-timeout
KEY_FAILBACK=failback
# qrepd's log when it gives up the role (election.rst: "says why").
DEMOTE_LOG_RE='demot|read-only|secondary'
# qrepd's log when it runs an election or proposes an epoch.
ELECTION_LOG_RE='[Ee]lection|ELECTION|[Cc]andidate|[Pp]ropos'

# status_primary: read qrepd's status file or `qrepctl status` on stdin;
# print the id of the primary it names, if any. Accepted: a line
# "primary 2", "primary: node2", "primary=2" (any case, indented).
status_primary() {
	sed -nE 's/^[[:space:]]*[Pp]rimary[[:space:]]*[:=]?[[:space:]]*(node)?([0-9]+)\b.*/\2/p' |
		head -n 1
}

# --- the election's timeouts (ms) and the bounds derived from them --------

HB_INTERVAL_MS=250
HB_TIMEOUT_MS=1500
ACK_TIMEOUT_MS=500
COORD_TIMEOUT_MS=3000
QUORUM_TIMEOUT_MS=1000
FAILBACK=never
# D, the largest one-way delay between two TCG guests on the hub.
DELAY_MS=250
# What the bounds add for the observation itself: qrepd telling the
# kernel, the test's polling (0.1 s in the guest) and vm_exec (0.4 s).
OBSERVE_MS=3000

max() { if [ "$1" -gt "$2" ]; then echo "$1"; else echo "$2"; fi; }
LISTEN_MS=$(max "$ACK_TIMEOUT_MS" "$HB_TIMEOUT_MS")
# All three start at once: the biggest listens, then proposes; one
# proposal round (election.rst, "Node 3 starts").
BOOT_BOUND_MS=$((LISTEN_MS + QUORUM_TIMEOUT_MS + 4 * DELAY_MS + OBSERVE_MS))
# The primary fails: election.rst, "Node 2 is writable at most heartbeat
# interval + heartbeat timeout + ack timeout + 4 D after the crash".
FAILOVER_BOUND_MS=$((HB_INTERVAL_MS + HB_TIMEOUT_MS + ACK_TIMEOUT_MS + 4 * DELAY_MS + OBSERVE_MS))
# A returning node has listened and heard the primary by then.
FOLLOW_BOUND_MS=$((LISTEN_MS + 2 * HB_INTERVAL_MS + 4 * DELAY_MS + OBSERVE_MS))
# One attempt of a lone node: no answer, declare, no quorum, listen again.
CYCLE_MS=$((ACK_TIMEOUT_MS + QUORUM_TIMEOUT_MS + LISTEN_MS))
MINORITY_CYCLES=5
MINORITY_WAIT_MS=$((HB_TIMEOUT_MS + MINORITY_CYCLES * CYCLE_MS))

# --- the resource ---------------------------------------------------------

SIZE=64M
IO_TIMEOUT=2s
TARGET_PORT=7801
QREPD_PORT=7901
# Records the first primary acknowledges before it loses power, and the
# others write before the next event.
RECORDS_BEFORE_CRASH=20
RECORDS_MIN=5
WRITER_WAIT=120		# seconds for a writer to acknowledge that many
# From the cut + ACK_GRACE on, the cut-off primary must acknowledge
# nothing: a record it logs that late was not durable on a write quorum.
ACK_GRACE=3
# A cut primary's held writes must end (fenced, demoted) this long after
# the heal; the guest's hung-task detector fires at 60 s of holding.
HEAL_END_WAIT=30
RESYNC_WAIT=180		# seconds for a blank replica to be resynced
SETUP_WAIT=60		# seconds for a target to listen, a mount, ...

# In the VMs (tmpfs: /run; QREP_CTL is the control share).
NODE_DIR=/run/qrep-test
CONF=$NODE_DIR/r0.conf
SECRET=$NODE_DIR/r0.secret
STORE=$NODE_DIR/r0.store
MNT=$NODE_DIR/mnt
RECORDS=$MNT/records

CASES=18

ktap_plan "$CASES"
ktap_need_tools failover "$CASES" "make deps" "$QREP_QEMU" vde_switch
for tool in qrep-target qrepd qrepctl; do
	if [ ! -x "$QREP_BUILD/bin/$tool" ]; then
		for ((i = 1; i <= CASES; i++)); do
			ktap_skip "failover case $i" "no $QREP_BUILD/bin/$tool (make)"
		done
		exit 4
	fi
done
# (Its usage exits non-zero: no pipe into grep under pipefail.)
usage=$("$QREP_BUILD/bin/qrepd" -h 2>&1 || true)
if ! grep -q -- "$QREPD_NODE_OPT" <<<"$usage"; then
	for ((i = 1; i <= CASES; i++)); do
		ktap_report "failover case $i (qrepd has no $QREPD_NODE_OPT: no cluster mode)" 1
	done
	ktap_finish
fi
ktap_diag "election: qrepd $QREPD_NODE_OPT; bounds: boot ${BOOT_BOUND_MS} ms," \
	"failover ${FAILOVER_BOUND_MS} ms, minority wait ${MINORITY_WAIT_MS} ms"

trap cluster_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- host-side helpers ----------------------------------------------------

WORK=""		# host directory for this run (in CLUSTER_DIR)
PRIMARY=""	# the node whose device is writable, as far as we know
declare -A WRITER_NODE=()	# writer TAG -> the node it runs on

now_ms() { echo $((${EPOCHREALTIME/[.,]/} / 1000)); }
ctl() { echo "$CLUSTER_DIR/node$1/ctl"; }

# The functions every guest command may use, shipped with it (besides
# selftests/lib/qrep.sh's: qrep_dev_state, wait_for).

# guest_wait_state STATE SECONDS: poll the device until it is STATE.
guest_wait_state() {
	local end=$((SECONDS + $2)) s
	until s=$(qrep_dev_state) && [ "$s" = "$1" ]; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "/dev/qrep0 on $(hostname) is still $s after $2 s"
			return 1
		fi
		sleep 0.1
	done
}

# guest_replica_state NAME: the state of replica NAME in this node's device.
guest_replica_state() {
	qrepctl status 0 2>/dev/null |
		awk -v n="$1" '$1 == "replica" && ($3 == n || index($3, n "@") == 1) { print $4 }'
}

guest_status() {
	cat "$CLUSTER_STATUS" 2>/dev/null
	qrepctl status 2>&1
}

# guest I SCRIPT: run SCRIPT in VM I with the test's settings and helpers.
guest() {
	local i=$1
	shift
	vm_exec "$i" "set -u
. selftests/lib/qrep.sh
. selftests/lib/records.sh
NODE=$i NODE_DIR=$NODE_DIR CONF=$CONF SECRET=$SECRET STORE=$STORE MNT=$MNT
RECORDS=$RECORDS CLUSTER_STATUS=$CLUSTER_STATUS
$(declare -f guest_wait_state guest_replica_state guest_status guest_facts)
$*"
}

dev_state() { guest "$1" qrep_dev_state; }

# expect_state I STATE: VM I's device is STATE now.
expect_state() {
	local s
	s=$(dev_state "$1")
	[ "$s" = "$2" ] && return 0
	echo "node$1's /dev/qrep0 is $s, not $2"
	return 1
}

# wait_state I STATE MS: the time it took VM I's device to become STATE,
# in ms (host clock, from the call), or fail after MS.
wait_state() {
	local t0
	t0=$(now_ms)
	guest "$1" "guest_wait_state $2 $((($3 + 999) / 1000))" || return 1
	WAITED_MS=$(($(now_ms) - t0))
}

# wait_up_to_date I NAME: node I's device reports replica NAME up to date.
wait_up_to_date() {
	local t0
	t0=$(now_ms)
	guest "$1" "up() { [ \"\$(guest_replica_state $2)\" = up-to-date ]; }
if ! wait_for $RESYNC_WAIT up; then
	echo \"replica $2 is still \$(guest_replica_state $2) after $RESYNC_WAIT s\"
	qrepctl status 0
	exit 1
fi
qrepctl status 0" || return 1
	echo "replica $2 up to date on node$1 after $(($(now_ms) - t0)) ms"
}

# not_writable I: VM I's device is anything but writable (absent while
# qrepd creates it, or secondary).
not_writable() {
	local s
	s=$(dev_state "$1")
	[ "$s" != writable ] && return 0
	echo "node$1's /dev/qrep0 is writable"
	return 1
}

primary_seen_by() { guest "$1" guest_status | status_primary; }

acked() { local f; f=$(ctl "$1")/acked.$2; [ -f "$f" ] && wc -l <"$f" || echo 0; }
acked_at_least() { [ "$(acked "$1" "$2")" -ge "$3" ]; }

# wait_acked I TAG N: writer TAG on node I has acknowledged N records.
wait_acked() {
	local end=$((SECONDS + WRITER_WAIT))
	until acked_at_least "$1" "$2" "$3"; do
		if [ "$SECONDS" -ge "$end" ] || writer_ended "$1" "$2"; then
			echo "writer $2 on node$1: $(acked "$1" "$2") records acknowledged, not $3"
			cat "$(ctl "$1")/writer.$2.err" 2>/dev/null
			return 1
		fi
		sleep 0.2
	done
}

writer_ended() { [ -s "$(ctl "$1")/writer.$2.rc" ]; }

# writer_start I TAG: append records TAG 1, 2, ... to the file system
# mounted on node I, the acknowledged numbers to ctl/acked.TAG.
writer_start() {
	WRITER_NODE[$2]=$1
	guest "$1" "rm -f \$NODE_DIR/stop.$2 \$QREP_CTL/writer.$2.rc
setsid bash -c '. selftests/lib/records.sh
records_writer \"\$@\"; echo \$? >\$QREP_CTL/writer.$2.rc' writer \
	\$RECORDS \$QREP_CTL/acked.$2 $2 1 \$NODE_DIR/stop.$2 \$QREP_CTL/writer.$2.err \
	</dev/null >/dev/null 2>&1 &
echo \$! >\$NODE_DIR/writer.$2.pid"
}

# writer_kill I TAG: end writer TAG on node I at once (it may be blocked).
writer_kill() {
	guest "$1" "kill -9 \$(cat \$NODE_DIR/writer.$2.pid) 2>/dev/null; true"
}

# writer_stop I TAG: ask writer TAG to stop, and wait until it has.
writer_stop() {
	local end=$((SECONDS + SETUP_WAIT))
	guest "$1" "touch \$NODE_DIR/stop.$2" || return 1
	until writer_ended "$1" "$2"; do
		[ "$SECONDS" -lt "$end" ] || { echo "writer $2 on node$1 did not stop"; return 1; }
		sleep 0.2
	done
}

# save_ctl I: keep what VM I left in its control share (the acked logs,
# qrepd's and the target's logs), which its next boot wipes.
save_ctl() {
	local dir
	dir=$WORK/node$1.boot$(cat "$CLUSTER_DIR/node$1/boots").ctl
	cp -a "$(ctl "$1")" "$dir" || return 1
	cp "$dir"/acked.* "$WORK/" 2>/dev/null || true
}

# check_records I DESC TAG...: node I's records file, fetched through its
# file system, holds every acknowledged record of each TAG. The acked logs
# are read first: a record a running writer acknowledges later may not be
# in the file yet. The log of a writer whose node has been rebooted since
# was saved in WORK.
check_records() {
	local i=$1 desc=$2 tag log rc=0 file=$WORK/records.node$1.$2
	shift 2
	for tag in "$@"; do
		log=$WORK/acked.$tag
		[ -f "$log" ] || log=$(ctl "${WRITER_NODE[$tag]}")/acked.$tag
		if ! [ -s "$log" ]; then
			echo "no acknowledged $tag records in $log: nothing to check"
			return 1
		fi
		cat "$log" >"$WORK/snap.$desc.$tag" || return 1
	done
	guest "$i" "cat \$RECORDS" >"$file" || { echo "cannot read node$i's records file"; return 1; }
	for tag in "$@"; do
		records_check "$file" "$WORK/snap.$desc.$tag" "$tag" || rc=1
	done
	return "$rc"
}

# The resource file: the same on every node.
write_resource() {
	local uuid=$1 i
	{
		echo "resource r0"
		echo "device 0"
		echo "size $SIZE"
		echo "uuid $uuid"
		echo "mode quorum"
		echo "io-timeout $IO_TIMEOUT"
		echo "connect-timeout 2s"
		echo "reconnect-interval 1s"
		echo "secret-file $SECRET"
		for i in 1 2 3; do
			echo "replica n$i $CLUSTER_NET.$i:$TARGET_PORT"
		done
		for i in 1 2 3; do
			echo "$KEY_NODE $i $CLUSTER_NET.$i:$QREPD_PORT"
		done
		echo "$KEY_HB_INTERVAL ${HB_INTERVAL_MS}ms"
		echo "$KEY_HB_TIMEOUT ${HB_TIMEOUT_MS}ms"
		echo "$KEY_ACK_TIMEOUT ${ACK_TIMEOUT_MS}ms"
		echo "$KEY_COORD_TIMEOUT ${COORD_TIMEOUT_MS}ms"
		echo "$KEY_QUORUM_TIMEOUT ${QUORUM_TIMEOUT_MS}ms"
		echo "$KEY_FAILBACK $FAILBACK"
	} >"$WORK/r0.conf"
}

# node_setup I: modules, the resource file and the secret (0600), a blank
# store (on the node's tmpfs, so blank after every boot) and its target.
node_setup() {
	local i=$1
	cp "$WORK/r0.conf" "$WORK/r0.secret" "$(ctl "$i")/" || return 1
	guest "$i" "set -e
need_modules ext4
qrep_load
mkdir -p \$NODE_DIR \$MNT
install -m 0600 \$QREP_CTL/r0.secret \$SECRET
cp \$QREP_CTL/r0.conf \$CONF
qrep-target init --store \$STORE --size $SIZE --uuid $UUID >/dev/null
setsid qrep-target serve --store \$STORE --listen $CLUSTER_NET.$i:$TARGET_PORT \
	--secret-file \$SECRET --stats-file \$NODE_DIR/target.stats \
	</dev/null >>\$QREP_CTL/target.log 2>&1 &
listening() { bash -c 'exec 3<>/dev/tcp/$CLUSTER_NET.$i/$TARGET_PORT'; }
wait_for $SETUP_WAIT listening || { tail -n 5 \$QREP_CTL/target.log; exit 1; }
[ \"\$(stat -c %a \$SECRET)\" = 600 ]"
}

# qrepd_cmd I [CONF]: the guest command that starts qrepd for node I
# (with resource file CONF in the VM, the shared one by default), in the
# background, its log on the host.
qrepd_cmd() {
	local conf=${2:-$CONF}
	echo "setsid qrepd -c $conf $QREPD_NODE_OPT $1 </dev/null >>\$QREP_CTL/qrepd.log 2>&1 &
echo \$! >\$NODE_DIR/qrepd.pid"
}

qrepd_start() { guest "$1" "$(qrepd_cmd "$@")"; }

qrepd_alive() { guest "$1" "pgrep -x qrepd >/dev/null"; }

# mount_fs I: mount node I's device (replaying the journal of whoever
# had it mounted before).
mount_fs() {
	guest "$1" "timeout $SETUP_WAIT mount -t ext4 /dev/qrep0 \$MNT" ||
		{ echo "mount on node$1 failed"; return 1; }
}

# fsck_clean I: on node I, with the device not mounted: replay the
# journal (a mount does it; e2fsck -n would skip it and then report what
# the journal already fixes), then e2fsck -fn must find nothing.
fsck_clean() {
	guest "$1" "timeout $SETUP_WAIT mount -t ext4 /dev/qrep0 \$MNT && umount \$MNT &&
fsck.ext4 -fn /dev/qrep0" || { echo "fsck.ext4 -fn on node$1 is not clean"; return 1; }
}

need_primary() {
	[ -n "$PRIMARY" ] && return 0
	echo "no primary: an earlier case failed"
	return 1
}

# --- the cases ------------------------------------------------------------

boot() {
	local i pids=() rc=0
	cluster_start 3 || return 1
	echo "three VMs booted ($CLUSTER_DIR)"
	WORK=$CLUSTER_DIR/failover
	mkdir -p "$WORK"
	UUID=$(cat /proc/sys/kernel/random/uuid)
	head -c 32 /dev/urandom | base64 >"$WORK/r0.secret"
	chmod 600 "$WORK/r0.secret"
	write_resource "$UUID"
	sed 's/^/  /' "$WORK/r0.conf"
	for i in 1 2 3; do
		node_setup "$i" >"$WORK/setup.$i" 2>&1 &
		pids+=("$!")
	done
	for i in 1 2 3; do
		wait "${pids[i - 1]}" || { echo "node$i's set-up failed:"; cat "$WORK/setup.$i"; rc=1; }
	done
	return "$rc"
}

first_primary() {
	local i pids=() t0
	# Node 3 first. Started together, the three qrepd come up over a
	# second or more under TCG, and a smaller node whose listening period
	# ends before node 3's qrepd answers is elected; with failback never
	# it then stays primary (Documentation/election.rst). Node 3 alone
	# must win within the bound: no bigger id, and W targets up.
	t0=$(now_ms)
	qrepd_start 3 || { echo "qrepd did not start on node3"; return 1; }
	wait_state 3 writable "$BOOT_BOUND_MS" ||
		{ echo "node3 not writable within $BOOT_BOUND_MS ms"; guest 3 guest_status; return 1; }
	echo "node3 writable $WAITED_MS ms after its qrepd started (bound $BOOT_BOUND_MS ms)"
	PRIMARY=3
	for i in 1 2; do
		qrepd_start "$i" &
		pids+=("$!")
	done
	for i in 1 2; do
		wait "${pids[i - 1]}" || { echo "qrepd did not start on node$i"; return 1; }
	done
	wait_state 1 secondary "$FOLLOW_BOUND_MS" && wait_state 2 secondary "$FOLLOW_BOUND_MS" ||
		return 1
	expect_state 3 writable || return 1
	echo "node1's status names the primary: node$(primary_seen_by 1)"
}

ext4_writer() {
	need_primary || return 1
	guest 3 "mkfs.ext4 -q -F /dev/qrep0" || { echo "mkfs.ext4 on node3 failed"; return 1; }
	mount_fs 3 || return 1
	writer_start 3 n3a || return 1
	wait_acked 3 n3a "$RECORDS_BEFORE_CRASH" || return 1
	echo "node3's writer: $(acked 3 n3a) records acknowledged so far"
}

crash_failover() {
	local a
	need_primary || return 1
	PRIMARY=""
	a=$(acked 3 n3a)
	vm_crash 3 || return 1
	echo "node3 lost power after $a acknowledged records (the writer was running)"
	save_ctl 3 || return 1
	echo "$(wc -l <"$WORK/acked.n3a") records acknowledged in all"
	wait_state 2 writable "$FAILOVER_BOUND_MS" ||
		{ echo "node2 not writable within $FAILOVER_BOUND_MS ms"; guest 2 guest_status; return 1; }
	echo "failover: node2 writable $WAITED_MS ms after node3's power cut (bound $FAILOVER_BOUND_MS ms)"
	PRIMARY=2
	expect_state 1 secondary
}

node2_data() {
	[ "$PRIMARY" = 2 ] || { echo "node2 is not the primary"; return 1; }
	fsck_clean 2 || return 1
	mount_fs 2 || return 1
	check_records 2 after-crash n3a || return 1
	# node2 writes from here on, through node3's return and resync.
	writer_start 2 n2 && wait_acked 2 n2 "$RECORDS_MIN"
}

node3_returns() {
	local t0 seen
	vm_start 3 || return 1
	node_setup 3 || return 1
	echo "node3 is back with a blank store"
	t0=$(now_ms)
	qrepd_start 3 || return 1
	# Give it its listening time and more: then it must be following.
	while [ $(($(now_ms) - t0)) -lt "$FOLLOW_BOUND_MS" ]; do
		not_writable 3 || return 1
		sleep 0.5
	done
	expect_state 3 secondary && expect_state 2 writable || return 1
	seen=$(primary_seen_by 3)
	[ "$seen" = 2 ] || { echo "node3's status names primary '$seen', not 2:"; guest 3 guest_status; return 1; }
	echo "node3 follows node2 (failback $FAILBACK)"
}

node3_resynced() {
	local n
	[ "$PRIMARY" = 2 ] || { echo "node2 is not the primary"; return 1; }
	n=$(acked 2 n2)
	wait_up_to_date 2 n3 || return 1
	acked_at_least 2 n2 $((n + 1)) ||
		{ echo "node2's writer acknowledged nothing during the resync"; return 1; }
	check_records 2 after-resync n3a n2
}

# The cut: node2 (the primary) is cut off; the majority goes on.
CUT_AT=""
ACKED_AT_CUT=""
cut_primary() {
	[ "$PRIMARY" = 2 ] || { echo "node2 is not the primary"; return 1; }
	wait_acked 2 n2 $(($(acked 2 n2) + 1)) || return 1
	vm_link 2 off || return 1
	CUT_AT=$SECONDS
	ACKED_AT_CUT=$(acked 2 n2)
	PRIMARY=""
	echo "node2's link cut; its writer had acknowledged $ACKED_AT_CUT records"
	wait_state 3 writable "$FAILOVER_BOUND_MS" ||
		{ echo "node3 not writable within $FAILOVER_BOUND_MS ms"; guest 3 guest_status; return 1; }
	echo "node3 writable $WAITED_MS ms after the cut (bound $FAILOVER_BOUND_MS ms)"
	PRIMARY=3
	mount_fs 3 || return 1
	writer_start 3 n3b && wait_acked 3 n3b "$RECORDS_MIN"
}

fenced_no_acks() {
	local a1 a2 end rc=0
	[ -n "$CUT_AT" ] || { echo "the link was not cut"; return 1; }
	while [ "$SECONDS" -lt $((CUT_AT + ACK_GRACE)) ]; do sleep 0.2; done
	a1=$(acked 2 n2)
	echo "node2's writer: $ACKED_AT_CUT acknowledged at the cut, $a1 at the cut + $ACK_GRACE s"
	vm_link 2 on || return 1
	echo "healed $((SECONDS - CUT_AT)) s after the cut"
	# Its held writes now meet targets of a newer epoch: node2 demotes
	# and they fail (EIO), the writer ends.
	end=$((SECONDS + HEAL_END_WAIT))
	while :; do
		if writer_ended 2 n2; then
			echo "node2's writer ended with status $(cat "$(ctl 2)/writer.n2.rc"):"
			sed 's/^/  /' "$(ctl 2)/writer.n2.err"
			break
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			echo "node2's writes have not failed $HEAL_END_WAIT s after the heal"
			guest 2 "qrepctl status 0"
			rc=1
			break
		fi
		sleep 0.5
	done
	a2=$(acked 2 n2)
	echo "node2's writer: $a2 acknowledged in all"
	[ "$a2" = "$a1" ] ||
		{ echo "node2 acknowledged $((a2 - a1)) records after the cut + $ACK_GRACE s"; rc=1; }
	return "$rc"
}

node2_demoted() {
	local seen
	wait_state 2 secondary "$FOLLOW_BOUND_MS" || return 1
	grep -E "$DEMOTE_LOG_RE" "$(ctl 2)/qrepd.log" ||
		{ echo "node2's qrepd log does not say it demoted"; tail -n 20 "$(ctl 2)/qrepd.log"; return 1; }
	seen=$(primary_seen_by 2)
	[ "$seen" = 3 ] || { echo "node2's status names primary '$seen', not 3"; guest 2 guest_status; return 1; }
}

# Nothing forked: node3 sees every record either side acknowledged.
not_diverged() {
	local rc=0
	[ "$PRIMARY" = 3 ] || { echo "node3 is not the primary"; return 1; }
	# node2's file system is dead (EIO); let go of it.
	writer_kill 2 n2
	guest 2 "timeout 20 umount \$MNT" || { echo "umount on node2 failed"; rc=1; }
	writer_stop 3 n3b || return 1
	guest 3 "umount \$MNT" || return 1
	# n2 missed what node3 wrote during the cut; node3's qrepd brings it
	# back (whatever it held of node2's unacknowledged writes included).
	wait_up_to_date 3 n2 || rc=1
	fsck_clean 3 || rc=1
	mount_fs 3 || return 1
	check_records 3 after-heal n3a n2 n3b || rc=1
	ktap_assert "qrepctl verify on node3 finds the replicas identical" \
		guest 3 "timeout 120 qrepctl verify -c \$CONF" || rc=1
	return "$rc"
}

minority() {
	local before after
	[ "$PRIMARY" = 3 ] || { echo "node3 is not the primary"; return 1; }
	expect_state 1 secondary || return 1
	before=$(grep -cE "$ELECTION_LOG_RE" "$(ctl 1)/qrepd.log")
	vm_link 1 off || return 1
	echo "node1 alone for $MINORITY_WAIT_MS ms ($MINORITY_CYCLES election cycles)"
	# node3 keeps writing (W = 2 of n2, n3) meanwhile.
	writer_start 3 n3c || return 1
	if guest 1 "guest_wait_state writable $((MINORITY_WAIT_MS / 1000))" >/dev/null; then
		echo "node1, alone, became writable"
		guest 1 guest_status
		return 1
	fi
	expect_state 1 secondary || return 1
	qrepd_alive 1 || { echo "node1's qrepd is gone: nothing was tested"; return 1; }
	after=$(grep -cE "$ELECTION_LOG_RE" "$(ctl 1)/qrepd.log")
	[ "$after" -gt "$before" ] ||
		{ echo "node1's qrepd logged no election attempt while alone"; tail -n 20 "$(ctl 1)/qrepd.log"; return 1; }
	echo "node1 stayed secondary; its qrepd logged $((after - before)) election lines"
	acked_at_least 3 n3c "$RECORDS_MIN" ||
		{ echo "node3 acknowledged only $(acked 3 n3c) records meanwhile"; return 1; }
}

minority_healed() {
	local seen end
	vm_link 1 on || return 1
	end=$((SECONDS + (FOLLOW_BOUND_MS + 999) / 1000))
	until seen=$(primary_seen_by 1) && [ "$seen" = 3 ]; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "node1's status names primary '$seen', not 3, $FOLLOW_BOUND_MS ms after the heal"
			guest 1 guest_status
			return 1
		fi
		sleep 0.5
	done
	# Alone, node1 kept proposing epochs to the one target it reached,
	# its own, which now refuses node3's epoch: node3 leaves that target
	# out and stays primary (Documentation/election.rst, "A healed
	# minority"); its writer never sees an error.
	expect_state 1 secondary && expect_state 3 writable || return 1
	grep -q 'left out until the next election' "$(ctl 3)/qrepd.log" ||
		{ echo "node3's qrepd does not say it left n1 out"; return 1; }
	writer_stop 3 n3c && check_records 3 final n3a n2 n3b n3c
}

# --- the election channel: strangers and a replay -------------------------
#
# From here node3 is the primary and nodes 1 and 2 follow it. Node1's
# qrepd is restarted with a wrong secret, then with none, then with the
# right one; between the last two, a third machine on the hub replays one
# of node3's datagrams to node2. The channel must drop what does not
# prove the secret or was accepted before, say so in the receiver's log,
# and the election must go on as if nothing came: node3 primary at the
# same epoch, writing; node1 never writable.

# The test's writer on node3 while the election channel is attacked.
CHANNEL_WRITER=n3d
# A stranger (node1 restarted without the secret) is watched at least
# this long: its listening, then two election cycles of its own.
STRANGER_MIN_MS=$((LISTEN_MS + 2 * CYCLE_MS))
# qrepd logs a kind of drop at most once per 10 s (cluster.c,
# DROP_LOG_INTERVAL_MS): the second stranger's first report can wait
# that long after the first stranger's last.
DROP_LOG_INTERVAL_MS=10000
STRANGER_MAX_MS=$((DROP_LOG_INTERVAL_MS + STRANGER_MIN_MS + OBSERVE_MS))
# node1 with the right secret again follows node3 within FOLLOW_BOUND_MS;
# seeing it takes more vm_exec calls here than elsewhere: a generous bound.
RESTORED_WAIT_MS=$((3 * FOLLOW_BOUND_MS))
REPLAY_NODE=1		# the machine that replays: a third one on the hub
REPLAY_DELAY_MS=1000	# between capture and replay
REPLAY_WAIT_MS=10000	# for a datagram to capture, and for the log line
# node1's resource files in its VM: a copy of the resource with another
# secret, and one without secret-file.
WRONG_SECRET=$NODE_DIR/wrong.secret
WRONG_CONF=$NODE_DIR/r0.wrong-secret.conf
NO_SECRET_CONF=$NODE_DIR/r0.no-secret.conf

# guest_facts: what a user checks on a node, one KEY=VALUE a line:
# qrepd's status file (primary, epoch, election, device-role; fresh=yes
# if the qrepd running now wrote it), whether that qrepd runs, the
# device's state, and the local target's count of refused handshakes.
# Shell builtins only: an exec costs a tenth of a second or more in a
# TCG guest.
guest_facts() {
	local k v rest pid="" spid=""
	[ ! -r "$NODE_DIR/qrepd.pid" ] || read -r pid <"$NODE_DIR/qrepd.pid"
	while read -r k v rest; do
		case $k in
		primary | epoch | election | device-role) echo "$k=$v" ;;
		pid) spid=$v ;;
		esac
	done <"$CLUSTER_STATUS"
	if [ -n "$pid" ] && [ "$spid" = "$pid" ]; then echo fresh=yes; else echo fresh=no; fi
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo qrepd=running; else echo qrepd=gone; fi
	echo "state=$(qrep_dev_state)"
	while read -r k v rest; do
		[ "$k" != auth_failed ] || echo "auth_failed=$v"
	done <"$NODE_DIR/target.stats"
}

# facts I...: each node's facts, read at once, into FACTS[I].
declare -A FACTS=()
facts() {
	local i pids=() rc=0
	for i in "$@"; do
		guest "$i" guest_facts >"$WORK/facts.$i" 2>&1 &
		pids+=("$!")
	done
	for i in "$@"; do
		if wait "${pids[0]}"; then
			FACTS[$i]=$(<"$WORK/facts.$i")
		else
			echo "cannot read node$i's facts:"
			cat "$WORK/facts.$i"
			rc=1
		fi
		pids=("${pids[@]:1}")
	done
	return "$rc"
}
# fact I KEY: KEY from FACTS[I].
fact() { sed -n "s/^$2=//p" <<<"${FACTS[$1]}" | head -n 1; }

log_lines() { wc -l <"$(ctl "$1")/$2"; }
# logged_since I FILE LINES TEXT: node I's log FILE has a line with TEXT
# after its first LINES lines (printed).
logged_since() { tail -n "+$(($3 + 1))" "$(ctl "$1")/$2" | grep -F -- "$4"; }

# qrepd_restart I CONF [PREP]: in one guest command (PREP first), stop
# node I's qrepd and wait until it is gone (the new one binds the same
# port), then start it again with resource CONF.
qrepd_restart() {
	guest "$1" "${3:-}
read -r pid <\$NODE_DIR/qrepd.pid && kill \$pid || exit 1
for ((n = 0; n < 100; n++)); do kill -0 \$pid 2>/dev/null || break; sleep 0.1; done
! kill -0 \$pid 2>/dev/null || { echo \"qrepd \$pid did not stop\"; exit 1; }
$(qrepd_cmd "$1" "$2")"
}

need_known_epoch() {
	[ "$PRIMARY" = 3 ] && [ -n "$PRIMARY_EPOCH" ] && return 0
	echo "node3 is not the primary at a known epoch: an earlier case failed"
	return 1
}

# node3_unmoved [cached]: node3 is still the writable primary at epoch
# PRIMARY_EPOCH, node2 follows it, by their status files and devices
# (with "cached", by the facts last read).
PRIMARY_EPOCH=""
node3_unmoved() {
	local i rc=0
	if [ "${1:-}" != cached ]; then
		facts 2 3 || return 1
	fi
	for i in 2 3; do
		[ "$(fact "$i" primary)" = 3 ] && [ "$(fact "$i" epoch)" = "$PRIMARY_EPOCH" ] && continue
		echo "node$i's status names primary $(fact "$i" primary) at epoch $(fact "$i" epoch), not 3 at $PRIMARY_EPOCH"
		rc=1
	done
	[ "$(fact 3 state)" = writable ] || { echo "node3's /dev/qrep0 is $(fact 3 state)"; rc=1; }
	[ "$(fact 2 state)" = secondary ] || { echo "node2's /dev/qrep0 is $(fact 2 state)"; rc=1; }
	return "$rc"
}

# stranger CONF PREP DROP_WHY OWN_WHY CLIENT_WHY TARGET_WHY: node1's qrepd
# runs with resource CONF (made by the guest command PREP: a wrong
# secret, or none). Through its listening and at least two election
# cycles, until everything below was logged (or STRANGER_MAX_MS):
# node1's /dev/qrep0 never opens for writing; nodes 2 and 3 log node1's
# datagrams dropped as "bad MAC: DROP_WHY", node1 node3's as "bad MAC:
# OWN_WHY"; node1 logs its epoch proposals failed (CLIENT_WHY); every
# target logs a refused handshake from node1 (TARGET_WHY) and counts it;
# node3 stays the primary at the same epoch, node2 follows it, and
# node3's writer is acknowledged meanwhile.
stranger() {
	local conf=$1 prep=$2 drop_why=$3 own_why=$4 client_why=$5 target_why=$6
	local i t0 a0 all rc=0 watcher stop
	local -A lines=() tlines=() auth0=()
	[ "$PRIMARY" = 3 ] || { echo "node3 is not the primary"; return 1; }
	for i in 1 2 3; do
		lines[$i]=$(log_lines "$i" qrepd.log)
		tlines[$i]=$(log_lines "$i" target.log)
	done
	facts 1 2 3 || return 1
	for i in 1 2 3; do
		auth0[$i]=$(fact "$i" auth_failed)
	done
	PRIMARY_EPOCH=$(fact 3 epoch)
	[ -n "$PRIMARY_EPOCH" ] || { echo "node3's status file has no epoch"; return 1; }
	node3_unmoved cached || return 1
	a0=$(acked 3 "$CHANNEL_WRITER")
	echo "node3 primary at epoch $PRIMARY_EPOCH; its writer has $a0 records acknowledged"

	qrepd_restart 1 "$conf" "$prep" || return 1
	t0=$(now_ms)
	# Watch node1's device from inside until the host says stop (in the
	# control share, which neither side caches).
	stop=$(ctl 1)/watch.stop
	rm -f "$stop"
	guest 1 "n=0 end=\$((SECONDS + $(((STRANGER_MAX_MS + 999) / 1000 + 10))))
until [ -e \$QREP_CTL/watch.stop ] || [ \$SECONDS -ge \$end ]; do
	s=\$(qrep_dev_state)
	[ \"\$s\" != writable ] || { echo 'node1 became writable:'; guest_status; exit 1; }
	n=\$((n + 1)); sleep 0.2
done
echo \"node1's /dev/qrep0 looked at \$n times, never writable\"
[ \$n -gt 0 ]" >"$WORK/watch.out" 2>&1 &
	watcher=$!

	while :; do
		all=1
		logged_since 2 qrepd.log "${lines[2]}" "datagram from $CLUSTER_NET.1 dropped (bad MAC): $drop_why" >/dev/null &&
			logged_since 3 qrepd.log "${lines[3]}" "datagram from $CLUSTER_NET.1 dropped (bad MAC): $drop_why" >/dev/null &&
			logged_since 1 qrepd.log "${lines[1]}" "datagram from $CLUSTER_NET.3 dropped (bad MAC): $own_why" >/dev/null &&
			logged_since 1 qrepd.log "${lines[1]}" "not proposed: $client_why" >/dev/null || all=0
		for i in 1 2 3; do
			logged_since "$i" target.log "${tlines[$i]}" "$target_why" |
				grep -F " $CLUSTER_NET.1:" >/dev/null || all=0
		done
		[ "$all" = 1 ] && [ $(($(now_ms) - t0)) -ge "$STRANGER_MIN_MS" ] && break
		if [ $(($(now_ms) - t0)) -ge "$STRANGER_MAX_MS" ]; then
			echo "not everything was logged within $STRANGER_MAX_MS ms"
			rc=1
			break
		fi
		sleep 0.5
	done
	touch "$stop"
	wait "$watcher" || rc=1
	cat "$WORK/watch.out"
	echo "node1 ran $(($(now_ms) - t0)) ms as a stranger (at least $STRANGER_MIN_MS)"

	for i in 2 3; do
		echo "node$i's qrepd:"
		logged_since "$i" qrepd.log "${lines[$i]}" "datagram from $CLUSTER_NET.1 dropped (bad MAC): $drop_why" ||
			{ echo "  nothing dropped from node1 as bad MAC: $drop_why"; rc=1; }
	done
	echo "node1's qrepd:"
	logged_since 1 qrepd.log "${lines[1]}" "datagram from $CLUSTER_NET.3 dropped (bad MAC): $own_why" ||
		{ echo "  nothing dropped from node3 as bad MAC: $own_why"; rc=1; }
	logged_since 1 qrepd.log "${lines[1]}" "not proposed: $client_why" | tail -n 3 ||
		{ echo "  no epoch proposal failed with: $client_why"; rc=1; }
	logged_since 1 qrepd.log "${lines[1]}" "election won" &&
		{ echo "node1's qrepd won an election"; rc=1; }
	for i in 1 2 3; do
		echo "target n$i:"
		logged_since "$i" target.log "${tlines[$i]}" "$target_why" | grep -F " $CLUSTER_NET.1:" | tail -n 1 ||
			{ echo "  no handshake from node1 refused with: $target_why"; rc=1; }
	done
	# A target rewrites its stats file once a second: look again once.
	facts 1 2 3 || return 1
	for i in 1 2 3; do
		[ "$(fact "$i" auth_failed)" -gt "${auth0[$i]}" ] && continue
		sleep 1.5
		facts 1 2 3 || return 1
		break
	done
	for i in 1 2 3; do
		echo "target n$i auth_failed: ${auth0[$i]} before, $(fact "$i" auth_failed) after"
		[ "$(fact "$i" auth_failed)" -gt "${auth0[$i]}" ] ||
			{ echo "target n$i counted no refused handshake"; rc=1; }
	done
	[ "$(fact 1 qrepd)" = running ] || { echo "node1's qrepd is gone: nothing was tested"; rc=1; }
	[ "$(fact 1 state)" != writable ] || { echo "node1's /dev/qrep0 is writable"; rc=1; }
	node3_unmoved cached || rc=1
	acked_at_least 3 "$CHANNEL_WRITER" $((a0 + 1)) ||
		{ echo "node3's writer acknowledged nothing meanwhile"; rc=1; }
	echo "node3's writer: $(($(acked 3 "$CHANNEL_WRITER") - a0)) records acknowledged meanwhile"
	return "$rc"
}

wrong_secret() {
	[ "$PRIMARY" = 3 ] || { echo "node3 is not the primary"; return 1; }
	writer_start 3 "$CHANNEL_WRITER" || return 1
	# Another secret (0600), and node1's resource file pointing at it.
	stranger "$WRONG_CONF" "(umask 077; head -c 32 /dev/urandom | base64 >$WRONG_SECRET) &&
sed 's|^secret-file .*|secret-file $WRONG_SECRET|' \$CONF >$WRONG_CONF &&
grep -qx 'secret-file $WRONG_SECRET' $WRONG_CONF || exit 1" \
		"wrong MAC" "wrong MAC" \
		"authentication failed: wrong secret" \
		"authentication refused: wrong proof"
}

no_secret() {
	local lines
	lines=$(log_lines 1 qrepd.log)
	stranger "$NO_SECRET_CONF" "grep -v '^secret-file ' \$CONF >$NO_SECRET_CONF || exit 1" \
		"no MAC, and the resource has a secret" \
		"a MAC, and this node has no secret-file" \
		"authentication failed: the target requires a shared secret and none is configured here" \
		"authentication refused: the client does not authenticate" || return 1
	logged_since 1 qrepd.log "$lines" "has no secret-file: election datagrams are not authenticated" ||
		{ echo "node1's qrepd did not warn that it runs without a secret"; return 1; }
}

# A machine on the hub records one of node3's datagrams to node2 and
# sends it again, byte for byte, from node3's address and port.
replayed() {
	local lines out end rc=0
	need_known_epoch || return 1
	lines=$(log_lines 2 qrepd.log)
	out=$(guest "$REPLAY_NODE" "ifname=\$(ip -o -4 addr show |
	awk '{ split(\$4, a, \"/\"); if (a[1] == \"$CLUSTER_NET.$REPLAY_NODE\") { print \$2; exit } }')
[ -n \"\$ifname\" ] || { echo 'no interface has $CLUSTER_NET.$REPLAY_NODE'; exit 1; }
\$QREP_BUILD/selftests/udp_replay --ifname \$ifname --from $CLUSTER_NET.3 --to $CLUSTER_NET.2 \
	--port $QREPD_PORT --delay-ms $REPLAY_DELAY_MS --timeout-ms $REPLAY_WAIT_MS" 2>&1) || rc=1
	echo "on node$REPLAY_NODE: $out"
	[ "$rc" = 0 ] || { echo "udp_replay failed"; return 1; }
	end=$((SECONDS + REPLAY_WAIT_MS / 1000))
	until logged_since 2 qrepd.log "$lines" "datagram from $CLUSTER_NET.3 dropped (replayed)"; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "node2's qrepd logged no replayed datagram from node3"
			tail -n 5 "$(ctl 2)/qrepd.log"
			return 1
		fi
		sleep 0.5
	done
	node3_unmoved
}

# node1's qrepd with the right secret again: it follows node3, which
# is still the primary at the same epoch, and node3's file system holds
# every record its writer had acknowledged through the attacks.
secret_restored() {
	local t0 seen end
	need_known_epoch || return 1
	qrepd_restart 1 "$CONF" || return 1
	t0=$(now_ms)
	while :; do
		facts 1 || return 1
		seen=$(fact 1 primary)
		[ "$(fact 1 fresh)" = yes ] && [ "$seen" = 3 ] && break
		if [ $(($(now_ms) - t0)) -ge "$RESTORED_WAIT_MS" ]; then
			echo "node1's status names primary '$seen', not 3, $RESTORED_WAIT_MS ms after its restart"
			guest 1 guest_status
			return 1
		fi
		sleep 0.5
	done
	echo "node1 seen following node3 $(($(now_ms) - t0)) ms after its restart"
	[ "$(fact 1 state)" = secondary ] || { echo "node1's /dev/qrep0 is $(fact 1 state)"; return 1; }
	node3_unmoved || return 1
	writer_stop 3 "$CHANNEL_WRITER" && check_records 3 channel "$CHANNEL_WRITER"
}

start=$SECONDS
ktap_step "three VMs boot; each runs its target with the shared 0600 secret" boot
if [ -z "$WORK" ] || [ ! -f "$WORK/r0.conf" ]; then
	for ((i = 2; i <= CASES; i++)); do
		ktap_report "failover case $i (the cluster did not start)" 1
	done
	ktap_finish
fi
ktap_step "node3 (biggest id) becomes the writable primary; node1, node2 refuse opens" first_primary
ktap_step "ext4 on node3; a writer's acknowledged records reach the host" ext4_writer
ktap_step "node3 loses power mid-write: node2 becomes the writable primary in time" crash_failover
ktap_step "node2: fsck.ext4 -fn clean, every acknowledged record there and intact" node2_data
ktap_step "node3 returns blank: it follows node2 (failback $FAILBACK)" node3_returns
ktap_step "node2 resyncs n3 while writing; no record lost" node3_resynced
ktap_step "node2's link cut: node3 and node1 elect node3, which writes" cut_primary
ktap_step "cut-off node2 acknowledges nothing from cut + ${ACK_GRACE} s, nor after the heal" fenced_no_acks
ktap_step "healed node2 demotes: device secondary, log says so, follows node3" node2_demoted
ktap_step "not diverged: node3 holds every acknowledged record of both sides; fsck clean" not_diverged
ktap_step "node1 alone never becomes writable over $MINORITY_CYCLES election cycles" minority
ktap_step "node1 healed: follows node3; every record of every writer there" minority_healed
ktap_step "node1's qrepd with a wrong secret: dropped as bad MAC, refused by the targets, never writable" wrong_secret
ktap_step "node1's qrepd with no secret: dropped as bad MAC (none), refused by the targets, never writable" no_secret
ktap_step "a datagram from node3 replayed on the wire to node2: dropped as replayed, nothing changes" replayed
ktap_step "node1's qrepd with the right secret again: follows node3, same epoch; every record there" secret_restored
# quiesce: writers and qrepd stopped, the file system unmounted, the
# device down, so that the VMs power off cleanly.
quiesce() {
	local i
	for i in 1 2 3; do
		guest "$i" "kill \$(cat \$NODE_DIR/writer.*.pid \$NODE_DIR/qrepd.pid 2>/dev/null) 2>/dev/null
! mountpoint -q \$MNT || wait_for 20 umount \$MNT
[ ! -b /dev/qrep0 ] || qrepctl down -c \$CONF" || echo "(node$i did not quiesce)"
	done
}

finish() {
	[ -z "$WORK" ] || quiesce
	cluster_stop
}

ktap_diag "cases took $((SECONDS - start)) s"
ktap_step "every console log is clean" finish
ktap_finish
