#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The cases are functions that ktap_step runs in this shell.
# shellcheck disable=SC2317
#
# Durability across the power loss of one target machine while the others
# keep writing (issue 14's trial): after each round, every replica the
# device reports up to date holds what the others hold (`qrepctl verify`:
# 0 mismatched blocks) and every record an fsync acknowledged reads back.
# Runs on the host, drives three VMs with qemu/cluster.sh, prints KTAP;
# exits 0 iff no case failed.
#
#   node1 192.0.2.1          node2 192.0.2.2          node3 192.0.2.3
#   qrep-target a            qrep-target b            qrep-target c
#   /dev/qrep0 (a, b, c)     (powered off in          (powered off in
#   qrepd -c (reconnects,     some rounds)             the others)
#     resyncs)
#   ext4 on /dev/qrep0, the writer
#        |                        |                        |
#   =====+=========== vde_switch --hub (no host port) =====+=====
#
# Each store is a file on ext4 on its node's persistent disk (a file on
# the host, cache=writeback): a power-off keeps what the node's kernel had
# written out and loses its page cache, so a store keeps what its target
# flushed (fdatasync) and whatever writeback happened to write before the
# cut. Every node's dirty page writeback is fast (WRITEBACK_EXPIRE_CS,
# WRITEBACK_INTERVAL_CS), so a power-off finds some later writes on disk
# and some earlier ones not, as a real crash does.
#
# For each mode given (mirror, quorum: W = R = 2 of 3), on new stores: the
# device, ext4 on it and qrepd on node1; then ROUNDS rounds. In each, a
# writer on node1 appends numbered, checksummed records to a file on the
# ext4 (selftests/lib/records.sh), each its own write, an fsync every
# FSYNC_EVERY of them; the numbers of the records an fsync covered go to
# the host (node1's control share); beside it, until the power-off, fio
# overwrites random blocks of another file (the churn: many writes in
# flight at the stores). Once the writer has a number of fsyncs
# acknowledged (from the seed) and a few hundred milliseconds more, node2
# or node3 (alternately) loses power (QEMU quits) while the writer goes
# on. It boots again on its disk: the store's ext4 replays its journal and
# must be fsck-clean; its target serves the same store; qrepd on node1
# reconnects it and resyncs it, and all three replicas must be up to date
# within RESYNC_WAIT while the writer goes on (its writes must flow to
# the replica that came back: FSYNC_AFTER more fsyncs). The writer stops
# (it must never have seen an error), then:
#   - `qrepctl verify` checks the three replicas: every copy matches its
#     checksum, and every replica holds every block's newest version with
#     the same checksum; 0 mismatched blocks;
#   - /dev/qrep0's ext4 is mounted again with every cache dropped (every
#     block read from the replicas): every record acknowledged in every
#     round so far of this mode reads back whole; fsck.ext4 -fn is clean.
#
# POWER_LOSS_TARGETS_SEED replays a run's power-off points (printed at
# the start: which node, after how many fsyncs, how long after).
#
# It can fail: with the kernel trusting a returning replica's bitmap
# (qrep_replica_publish marking every region only for a new slot), round
# 1's verify found 11 blocks on the returning replica b, one torn and
# ten at version 0 (writes it had acknowledged and lost unflushed), still
# there after round 2; the records read back, served from the others.
#
#   power_loss_targets.sh [MODE...]      (default: mirror quorum)
#
# In selftests/TESTS as power-loss-targets.

set -uo pipefail

ROOT=$(cd -P "$(dirname "$0")/../.." && pwd)
# shellcheck source=selftests/lib/ktap.sh
. "$ROOT/selftests/lib/ktap.sh"
# shellcheck source=qemu/cluster.sh
. "$ROOT/qemu/cluster.sh"
# shellcheck source=selftests/lib/records.sh
. "$ROOT/selftests/lib/records.sh"

MODES=("$@")
[ ${#MODES[@]} -gt 0 ] || MODES=(mirror quorum)

SIZE=64M		# the device
DISK_SIZE=384M		# each node's disk: ext4 with one store per mode
# A powered-off target's replica is failed by then (and a busy one not:
# three TCG guests on two cores answer slowly).
IO_TIMEOUT=10s
RECONNECT_INTERVAL=1s	# qrepd tries a failed replica's target this often
ROUNDS=2		# power-offs per mode (node2 and node3 alternate)
FSYNC_EVERY=64		# the writer's records per fsync
# fsyncs the writer has acknowledged in a round before the power-off:
# FSYNCS_MIN plus up to FSYNCS_SPREAD - 1 more, from the seed; then the
# power-off comes 0 to CUT_DELAY_MS - 1 ms later, from the seed.
FSYNCS_MIN=2
FSYNCS_SPREAD=3
CUT_DELAY_MS=1000
FSYNC_AFTER=2		# fsyncs acknowledged after the resync, before the checks
# Beside the writer until the power-off, random 4 KiB overwrites of a
# file on the same ext4, an fsync every FSYNC_EVERY, CHURN_IOPS a second
# (fio, in runs of CHURN_RUN seconds): the stores are busy, so a power-off
# finds many writes in flight, half written back. (It stops then: the
# resync, which yields to the application's I/O, took 30 to 50 s with
# it, 5 s without.)
CHURN_MIB=16
CHURN_IOPS=100
CHURN_RUN=3
# Dirty pages older than this are written out, looked for this often (cs).
WRITEBACK_EXPIRE_CS=25
WRITEBACK_INTERVAL_CS=10
WRITER_WAIT=180		# seconds for the writer to acknowledge that many
RESYNC_WAIT=240		# seconds from the target's start to all up to date
VERIFY_WAIT=300		# seconds for qrepctl verify
SETUP_WAIT=60		# seconds for a mount, an fsck, a device to come up
TARGET_PORT=7801

# In the VMs (/run is their tmpfs; the disks are mounted under it too).
NODE_DIR=/run/qrep-test
TARGETS_DIR=$NODE_DIR/targets
MNT=$NODE_DIR/mnt
RECORDS=$MNT/records
CHURN=$MNT/churn
# Target I listens on node I + 1's address (qemu/cluster.sh's).
HOSTS="$CLUSTER_NET.1 $CLUSTER_NET.2 $CLUSTER_NET.3"

CASES=$((1 + ${#MODES[@]} * (1 + 6 * ROUNDS) + 1))
SEED=${POWER_LOSS_TARGETS_SEED:-$((RANDOM * 32768 + RANDOM))}

ktap_plan "$CASES"
for mode in "${MODES[@]}"; do
	case $mode in
	mirror | quorum) ;;
	*)
		ktap_diag "no mode '$mode': say mirror or quorum"
		for ((i = 1; i <= CASES; i++)); do
			ktap_report "power-loss-targets case $i" 1
		done
		ktap_finish
		;;
	esac
done
ktap_need_tools power-loss-targets "$CASES" "make deps, make" "$QREP_QEMU" vde_switch \
	"$QREP_BUILD/bin/qrep-target" "$QREP_BUILD/bin/qrepctl" "$QREP_BUILD/bin/qrepd"

# The power-off points, all drawn now, so a case that fails early does
# not change the ones after it: VICTIM (2 or 3, alternating from a
# seeded start), FSYNCS and DELAY, per mode and round ("m r").
RANDOM=$SEED
declare -A VICTIM=() FSYNCS=() DELAY=()
for ((m = 0; m < ${#MODES[@]}; m++)); do
	first=$((RANDOM % 2))
	for ((r = 1; r <= ROUNDS; r++)); do
		VICTIM["$m $r"]=$((2 + (first + r - 1) % 2))
		FSYNCS["$m $r"]=$((FSYNCS_MIN + RANDOM % FSYNCS_SPREAD))
		DELAY["$m $r"]=$((RANDOM % CUT_DELAY_MS))
	done
done
ktap_diag "seed $SEED (POWER_LOSS_TARGETS_SEED=$SEED replays the power-off points)"

trap cluster_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

WORK=""		# host directory for this run (in CLUSTER_DIR)
MODE=""		# the mode being tested
PREV_MODE=""	# the one before, whose targets may still run
TAGS=()		# the writers of this mode so far, one per round

# --- in the guests --------------------------------------------------------

# Target I's store, on node I + 1's disk; one per mode.
g_target_store() { echo "$DISK_MNT_BASE/disk0/$MODE.${TARGET_NAMES[$1]}.store"; }

# g_store_fs_clean: mount the disk's ext4 (replaying its journal), then
# e2fsck -fn on it unmounted must find nothing.
g_store_fs_clean() {
	local dir
	dir=$(disk_mount 0) || return 1
	umount "$dir" && fsck.ext4 -fn "$(disk_dev 0)"
}

# g_node_ready: this boot's writeback, the disk mounted.
g_node_ready() {
	disk_writeback "$WRITEBACK_EXPIRE_CS" "$WRITEBACK_INTERVAL_CS" || return 1
	mountpoint -q "$DISK_MNT_BASE/disk0" || disk_mount 0 >/dev/null || return 1
	mkdir -p "$TARGETS_DIR"
}

# g_replicas_uptodate: every replica of /dev/qrep0 is up to date.
g_replicas_uptodate() {
	local name
	for name in "${TARGET_NAMES[@]:0:3}"; do
		[ "$(replica_state "$name")" = up-to-date ] || return 1
	done
}

# g_churn STOP: fio's random overwrites of the churn file until STOP
# exists; fails if one run did.
g_churn() {
	while [ ! -e "$1" ]; do
		fio --name=churn --filename="$CHURN" --size="${CHURN_MIB}M" \
			--rw=randwrite --bs=4k --fsync="$FSYNC_EVERY" \
			--rate_iops="$CHURN_IOPS" --randrepeat=0 --time_based \
			--runtime="$CHURN_RUN" --output=/dev/null || return 1
	done
}

# guest I SCRIPT: run SCRIPT in VM I with the test's settings and helpers.
guest() {
	local i=$1
	shift
	vm_exec "$i" "set -u
. selftests/lib/qrep.sh
. selftests/lib/targets.sh
. selftests/lib/disk.sh
TARGETS_DIR=$TARGETS_DIR QREP_CONF=$TARGETS_DIR/r0.conf QREP_TEST_PORT_BASE=$TARGET_PORT
TARGET_HOSTS=($HOSTS)
MODE=$MODE SIZE=$SIZE IO_TIMEOUT=$IO_TIMEOUT SETUP_WAIT=$SETUP_WAIT
NODE_DIR=$NODE_DIR MNT=$MNT RECORDS=$RECORDS CHURN=$CHURN CHURN_MIB=$CHURN_MIB
CHURN_IOPS=$CHURN_IOPS CHURN_RUN=$CHURN_RUN FSYNC_EVERY=$FSYNC_EVERY
WRITEBACK_EXPIRE_CS=$WRITEBACK_EXPIRE_CS WRITEBACK_INTERVAL_CS=$WRITEBACK_INTERVAL_CS
$(declare -f g_target_store g_store_fs_clean g_node_ready g_replicas_uptodate g_churn)
target_store() { g_target_store \"\$@\"; }
$*"
}

# --- on the host ----------------------------------------------------------

ctl() { echo "$CLUSTER_DIR/node1/ctl"; }
acked() { records_acked "$(ctl)" "$1"; }
writer_ended() { records_writer_ended "$(ctl)" "$1"; }
churn_ended() { [ -s "$(ctl)/churn.$1.rc" ]; }

# writer_start TAG: on node1, append records TAG 1, 2, ... to the records
# file, an fsync every FSYNC_EVERY; the numbers to ctl/acked.TAG. And the
# churn beside it.
writer_start() {
	guest 1 "rm -f \$QREP_CTL/writer.$1.rc \$QREP_CTL/churn.$1.rc $NODE_DIR/stop.$1 $NODE_DIR/stop.churn.$1
setsid bash -c '. selftests/lib/records.sh
records_writer \"\$@\"; echo \$? >\$QREP_CTL/writer.$1.rc' writer \
	\$RECORDS \$QREP_CTL/acked.$1 $1 1 $NODE_DIR/stop.$1 \$QREP_CTL/writer.$1.err \
	$FSYNC_EVERY </dev/null >/dev/null 2>&1 &
export -f g_churn
export CHURN CHURN_MIB CHURN_IOPS CHURN_RUN FSYNC_EVERY
setsid bash -c 'g_churn $NODE_DIR/stop.churn.$1 2>\$QREP_CTL/churn.$1.err
echo \$? >\$QREP_CTL/churn.$1.rc' </dev/null >/dev/null 2>&1 &"
}

# wait_acked TAG N: writer TAG has acknowledged N records.
wait_acked() { records_wait_acked "$(ctl)" "$1" "$2" "$WRITER_WAIT"; }

# writer_stop TAG: the writer ends at its batch's end, without an error.
writer_stop() {
	local end=$((SECONDS + WRITER_WAIT)) rc
	guest 1 "touch $NODE_DIR/stop.$1 $NODE_DIR/stop.churn.$1" || return 1
	until writer_ended "$1" && churn_ended "$1"; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "writer $1 did not stop in $WRITER_WAIT s"
			return 1
		fi
		sleep 0.2
	done
	cp "$(ctl)/acked.$1" "$WORK/acked.$MODE.$1" || return 1
	rc=$(cat "$(ctl)/writer.$1.rc")
	echo "writer $1: $(acked "$1") records acknowledged, status $rc;" \
		"the churn's status $(cat "$(ctl)/churn.$1.rc")"
	if [ "$rc" != 0 ] || [ "$(cat "$(ctl)/churn.$1.rc")" != 0 ]; then
		cat "$(ctl)/writer.$1.err" "$(ctl)/churn.$1.err" 2>/dev/null
		return 1
	fi
}

# --- the cases ------------------------------------------------------------

boot() {
	cluster_start 3 --disk "$DISK_SIZE" || return 1
	WORK=$CLUSTER_DIR/power-loss-targets
	mkdir -p "$WORK"
	echo "booted ($CLUSTER_DIR)"
}

# mode_setup: the previous mode's device and targets gone; new stores
# (one per node), their targets, the device in MODE, ext4 on it, qrepd.
mode_setup() {
	local i uuid

	# shellcheck disable=SC2016 # expanded in the guest
	if [ -n "$PREV_MODE" ]; then
		guest 1 'kill "$(cat $NODE_DIR/qrepd.pid)" && rm $NODE_DIR/qrepd.pid &&
umount $MNT && qrepctl down -c $QREP_CONF' || return 1
		for i in 1 2 3; do
			guest "$i" "MODE=$PREV_MODE target_kill $((i - 1))" || return 1
		done
	fi
	for i in 1 2 3; do
		guest "$i" g_node_ready || return 1
	done
	uuid=$(guest 1 "qrep-target init --store \$(target_store 0) --size $SIZE | tail -n 1") ||
		return 1
	for i in 2 3; do
		guest "$i" "qrep-target init --store \$(target_store $((i - 1))) --size $SIZE \
--uuid $uuid >/dev/null" || return 1
	done
	for i in 1 2 3; do
		guest "$i" "target_start $((i - 1))" || return 1
	done
	# shellcheck disable=SC2016 # expanded in the guest
	guest 1 'targets_write_conf 3 $SIZE '"$uuid"' $IO_TIMEOUT &&
sed -i "s/^mode .*/mode $MODE/" $QREP_CONF &&
echo "reconnect-interval '"$RECONNECT_INTERVAL"'" >>$QREP_CONF && cat $QREP_CONF &&
qrep_load && timeout $SETUP_WAIT qrepctl up -c $QREP_CONF && qrepctl status 0 &&
{ setsid qrepd -c $QREP_CONF </dev/null >>$TARGETS_DIR/qrepd.$MODE.log 2>&1 &
echo $! >$NODE_DIR/qrepd.pid; } &&
mkfs.ext4 -q /dev/qrep0 && mkdir -p $MNT &&
timeout $SETUP_WAIT mount -t ext4 /dev/qrep0 $MNT && : >$RECORDS &&
fallocate -l ${CHURN_MIB}M $CHURN && sync' || return 1
	TAGS=()
}

# power_off M R: round R's writer, and node2's or node3's power-off once
# it has its number of fsyncs acknowledged and the delay has passed.
power_off() {
	local m=$1 r=$2 tag=${MODE:0:1}$2 victim=${VICTIM["$1 $2"]}
	local fsyncs=${FSYNCS["$1 $2"]} delay=${DELAY["$1 $2"]} n

	writer_start "$tag" || return 1
	TAGS+=("$tag")
	wait_acked "$tag" $((fsyncs * FSYNC_EVERY)) || return 1
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	n=$(acked "$tag")
	vm_crash "$victim" || return 1
	guest 1 "touch $NODE_DIR/stop.churn.$tag" || return 1
	echo "node$victim powered off $delay ms after fsync $fsyncs of writer $tag" \
		"($n records acknowledged when the power went)"
}

# rejoin M R: the node boots on its disk; the store's ext4 is clean; its
# target serves the same store (and says what its unclean open found).
rejoin() {
	local victim=${VICTIM["$1 $2"]} t
	t=$((victim - 1))

	vm_start "$victim" || return 1
	guest "$victim" "g_store_fs_clean && g_node_ready && target_start $t &&
{ grep -e torn -e cleanly \$TARGETS_DIR/\${TARGET_NAMES[$t]}.log || true; }"
}

# resynced M R: qrepd reconnects and resyncs the replica; all three are
# up to date, the writer goes on through it; then the writer stops.
resynced() {
	local victim=${VICTIM["$1 $2"]} tag=${MODE:0:1}$2 n rc=0 start=$SECONDS

	# shellcheck disable=SC2016 # expanded in the guest
	guest 1 'wait_for '"$RESYNC_WAIT"' g_replicas_uptodate ||
{ echo "not all replicas are up to date after '"$RESYNC_WAIT"' s:"; rc=1; }
qrepctl status 0; grep "replica ${TARGET_NAMES['"$((victim - 1))"']}" $TARGETS_DIR/qrepd.$MODE.log | tail -n 4
exit ${rc:-0}' || rc=1
	echo "all up to date $((SECONDS - start)) s after the target started"
	guest 1 "cp \$TARGETS_DIR/qrepd.\$MODE.log \$QREP_CTL/" &&
		cp "$(ctl)/qrepd.$MODE.log" "$WORK/" || rc=1
	n=$(acked "$tag")
	wait_acked "$tag" $((n + FSYNC_AFTER * FSYNC_EVERY)) || rc=1
	writer_stop "$tag" || rc=1
	return "$rc"
}

# verified: qrepctl verify finds 0 mismatched blocks on the 3 replicas.
verified() {
	local out rc=0
	out=$(guest 1 "wait_for $RESYNC_WAIT g_replicas_uptodate; qrepctl status 0 &&
timeout $VERIFY_WAIT qrepctl verify -c \$QREP_CONF") || rc=1
	echo "$out"
	[[ $out == *"on 3 replicas, 0 mismatched"* ]] ||
		{ echo "verify did not check 3 up-to-date replicas and find 0 mismatched"; rc=1; }
	return "$rc"
}

# records_back R: with every cache dropped, mount /dev/qrep0 again and
# check the records file against the host's log of every writer so far.
records_back() {
	local file=$WORK/records.$MODE.round$1 tag rc=0
	guest 1 "umount \$MNT && blockdev --flushbufs /dev/qrep0 &&
echo 3 >/proc/sys/vm/drop_caches &&
timeout \$SETUP_WAIT mount -t ext4 /dev/qrep0 \$MNT && cat \$RECORDS" >"$file" ||
		{ echo "cannot read the records file"; return 1; }
	for tag in "${TAGS[@]}"; do
		records_check "$file" "$WORK/acked.$MODE.$tag" "$tag" || rc=1
	done
	return "$rc"
}

fs_clean() {
	guest 1 "umount \$MNT && fsck.ext4 -fn /dev/qrep0 &&
timeout \$SETUP_WAIT mount -t ext4 /dev/qrep0 \$MNT"
}

# step DESC COMMAND...: ktap_step, unless what it builds on failed
# (BROKEN says what): then it fails at once rather than wait out its
# timeouts. A failed step of a kind that later ones build on sets BROKEN
# (case "KIND" below).
BROKEN=""
step() {
	local fails=$KTAP_FAIL
	if [ -n "$BROKEN" ]; then
		ktap_diag "not run: $BROKEN"
		ktap_report "$1" 1
		return 0
	fi
	ktap_step "$@"
	if [ "$KTAP_FAIL" -gt "$fails" ]; then
		case $2 in
		boot) BROKEN="the VMs did not boot" ;;
		mode_setup) BROKEN="the $MODE mode's setup failed" ;;
		power_off) BROKEN="round $r's power-off failed" ;;
		esac
	fi
}

step "three VMs boot, each with a persistent disk" boot
BOOT_BROKEN=$BROKEN
for ((m = 0; m < ${#MODES[@]}; m++)); do
	PREV_MODE=$MODE
	MODE=${MODES[m]}
	BROKEN=$BOOT_BROKEN
	desc="$MODE mode"
	[ "$MODE" = mirror ] || desc="quorum mode (W = R = 2 of 3)"
	step "$desc: stores on ext4 on each node's disk, device up on node1, ext4 on it, qrepd" \
		mode_setup
	MODE_BROKEN=$BROKEN
	for ((r = 1; r <= ROUNDS; r++)); do
		BROKEN=$MODE_BROKEN
		v=${VICTIM["$m $r"]}
		step "$MODE round $r: node$v powered off while the writer fsyncs every $FSYNC_EVERY writes" \
			power_off "$m" "$r"
		step "$MODE round $r: node$v boots on its disk, the store's ext4 is fsck-clean, its target serves it" \
			rejoin "$m" "$r"
		step "$MODE round $r: qrepd resyncs it, all replicas up to date, the writer goes on" \
			resynced "$m" "$r"
		step "$MODE round $r: qrepctl verify: 0 mismatched blocks on the 3 up-to-date replicas" \
			verified
		step "$MODE round $r: every acknowledged record reads back through /dev/qrep0" \
			records_back "$r"
		step "$MODE round $r: ext4 on /dev/qrep0 is fsck-clean" fs_clean
	done
done
ktap_step "every console log is clean" cluster_stop

ktap_finish
