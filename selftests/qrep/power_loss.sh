#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The cases are functions that ktap_step runs in this shell.
# shellcheck disable=SC2317
#
# Durability across real power loss: what an application fsync'd on
# /dev/qrep0 is there after the machine holding every store lost power
# mid-write and booted again on the same disks. Runs on the host, drives
# one VM with qemu/cluster.sh, prints KTAP; exits 0 iff no case failed.
#
#   node1: qrep-target a, b: files on ext4 on persistent disk 0
#          qrep-target c:    persistent disk 1 itself (a raw block device)
#          /dev/qrep0 (mirror of a, b, c over loopback), ext4 on it,
#          a writer appending numbered, checksummed records to a file,
#          each with its own write + fsync; the number of every one
#          acknowledged goes to the host (the VM's control share)
#
# The disks are files on the host (cache=writeback): a power-off keeps
# what the guest's kernel had written out to them and loses its page
# cache, so a store keeps exactly what its target flushed (fdatasync)
# and whatever the kernel's writeback happened to write before the cut.
# Every round: the VM's dirty page writeback is set (fast in some rounds,
# so a power-off finds some later writes on disk and some earlier ones
# not; the kernel's default in another), the writer runs, and once it has
# a number of records acknowledged (from the seed) the VM loses power
# (QEMU quits). The VM boots again on the same disk files; the stores'
# ext4 replays its journal and must be fsck-clean; the targets serve the
# same stores and `qrepctl up` brings the device back; `qrepctl verify`
# finds no copies that differ on the replicas it reports up to date; its
# ext4 replays its
# journal; every record acknowledged in every round so far must read back
# whole, through the file system on /dev/qrep0 (a fresh boot: nothing is
# cached, every block comes from the stores), and fsck.ext4 -fn must be
# clean.
#
# Before that, qemu/run-vm's --disk on its own: a file one run wrote and
# synced on disk qrep-disk0 is there for the next run, which is given the
# two disk files in the other order and finds it on qrep-disk1.
#
# POWER_LOSS_SEED replays a run's power-off points (printed at the start).
# In selftests/TESTS as power-loss.

set -uo pipefail

ROOT=$(cd -P "$(dirname "$0")/../.." && pwd)
# shellcheck source=selftests/lib/ktap.sh
. "$ROOT/selftests/lib/ktap.sh"
# shellcheck source=qemu/cluster.sh
. "$ROOT/qemu/cluster.sh"
# shellcheck source=selftests/lib/records.sh
. "$ROOT/selftests/lib/records.sh"

SIZE=64M		# the device
DISK0_SIZE=512M		# ext4 with the stores a and b
DISK1_SIZE=96M		# store c, raw (its metadata needs room past SIZE)
IO_TIMEOUT=20s
ROUNDS=3
# The writeback of each round (vm.dirty_expire_centisecs and
# vm.dirty_writeback_centisecs): fast, the kernel's default, fast.
ROUND_EXPIRE_CS=(25 3000 25)
ROUND_INTERVAL_CS=(10 500 10)
# Records acknowledged before the power-off: RECORDS_MIN plus up to
# RECORDS_SPREAD - 1 more, from the seed.
RECORDS_MIN=8
RECORDS_SPREAD=12
WRITER_WAIT=120		# seconds for the writer to acknowledge that many
SETUP_WAIT=60		# seconds for a mount, an fsck, a device to come up

# In the VM (/run is its tmpfs; the disks are mounted under it too).
NODE_DIR=/run/qrep-test
MNT=$NODE_DIR/mnt
RECORDS=$MNT/records

RUN_VM_TIMEOUT=300	# seconds for each run-vm of the first case

CASES=$((1 + 2 + 6 * ROUNDS + 1))
SEED=${POWER_LOSS_SEED:-$((RANDOM * 32768 + RANDOM))}

ktap_plan "$CASES"
ktap_need_tools power-loss "$CASES" "make deps, make" "$QREP_QEMU" vde_switch \
	"$QREP_BUILD/bin/qrep-target" "$QREP_BUILD/bin/qrepctl"
ktap_diag "seed $SEED (POWER_LOSS_SEED=$SEED replays the power-off points)"
RANDOM=$SEED

trap cluster_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

WORK=""		# host directory for this run (in CLUSTER_DIR)
TAGS=()		# the writers so far, one per round

ctl() { echo "$CLUSTER_DIR/node1/ctl"; }

# --- in the guest ---------------------------------------------------------

# The stores: a and b on the ext4 of disk 0, c on disk 1 itself.
g_target_store() {
	if [ "$1" = 2 ]; then
		disk_dev 1
	else
		echo "$DISK_MNT_BASE/disk0/${TARGET_NAMES[$1]}.store"
	fi
}

# g_store_fs_clean: mount the stores' ext4 (replaying its journal), then
# e2fsck -fn on it unmounted must find nothing.
g_store_fs_clean() {
	local dir
	dir=$(disk_mount 0) || return 1
	umount "$dir" && fsck.ext4 -fn "$(disk_dev 0)"
}

# g_device_up INIT: the stores' file system, the three targets and the
# device; with INIT=1 the stores are made first (the first boot).
g_device_up() {
	local i uuid
	disk_mount 0 >/dev/null || return 1
	mkdir -p "$TARGETS_DIR" "$MNT"
	if [ "$1" = 1 ]; then
		uuid=$(qrep-target init --store "$(target_store 0)" --size "$SIZE" | tail -n 1) ||
			return 1
		for i in 1 2; do
			qrep-target init --store "$(target_store "$i")" --size "$SIZE" \
				--uuid "$uuid" >/dev/null || return 1
		done
	fi
	uuid=$(qrep-target info --store "$(target_store 0)" | awk '$1 == "uuid:" { print $2 }')
	for i in 0 1 2; do
		target_start "$i" || return 1
	done
	targets_write_conf 3 "$SIZE" "$uuid" "$IO_TIMEOUT"
	qrep_load && timeout "$SETUP_WAIT" qrepctl up -c "$QREP_CONF" && qrepctl status 0
}

# guest SCRIPT: run SCRIPT in the VM with the test's settings and helpers.
guest() {
	vm_exec 1 "set -u
. selftests/lib/qrep.sh
. selftests/lib/targets.sh
. selftests/lib/disk.sh
TARGETS_DIR=$NODE_DIR/targets QREP_CONF=$NODE_DIR/targets/r0.conf
SIZE=$SIZE IO_TIMEOUT=$IO_TIMEOUT SETUP_WAIT=$SETUP_WAIT
MNT=$MNT RECORDS=$RECORDS
$(declare -f g_target_store g_store_fs_clean g_device_up)
target_store() { g_target_store \"\$@\"; }
$*"
}

# --- on the host ----------------------------------------------------------

acked() { records_acked "$(ctl)" "$1"; }
writer_ended() { records_writer_ended "$(ctl)" "$1"; }

# writer_start TAG: append records TAG 1, 2, ... to the records file on
# /dev/qrep0's ext4, the number of each acknowledged one to ctl/acked.TAG.
writer_start() {
	guest "rm -f \$QREP_CTL/writer.$1.rc
setsid bash -c '. selftests/lib/records.sh
records_writer \"\$@\"; echo \$? >\$QREP_CTL/writer.$1.rc' writer \
	\$RECORDS \$QREP_CTL/acked.$1 $1 1 $NODE_DIR/stop.$1 \$QREP_CTL/writer.$1.err \
	</dev/null >/dev/null 2>&1 &"
}

# wait_acked TAG N: writer TAG has acknowledged N records.
wait_acked() { records_wait_acked "$(ctl)" "$1" "$2" "$WRITER_WAIT"; }

# --- the cases ------------------------------------------------------------

# run_vm_disks: run-vm --disk A --disk B writes a marker on A's ext4
# (qrep-disk0) and syncs; run-vm --disk B --disk A finds it on qrep-disk1.
run_vm_disks() {
	local dir rc=0 marker

	mkdir -p "$QREP_VM_DIR"
	dir=$(mktemp -d "$QREP_VM_DIR/power-loss-run-vm.XXXXXX")
	marker="written by the first run ($$)"
	# shellcheck disable=SC2016 # expanded in the guest
	"$ROOT/qemu/run-vm" --timeout "$RUN_VM_TIMEOUT" --log-dir "$dir/run1" \
		--disk "$dir/a.img" --disk "$dir/b.img" -- bash -c '
. selftests/lib/qrep.sh; . selftests/lib/disk.sh
d=$(disk_mount 0) && echo "$1" >"$d/marker" && sync' run1 "$marker" || rc=1
	if [ "$rc" = 0 ]; then
		# shellcheck disable=SC2016 # expanded in the guest
		"$ROOT/qemu/run-vm" --timeout "$RUN_VM_TIMEOUT" --log-dir "$dir/run2" \
			--disk "$dir/b.img" --disk "$dir/a.img" -- bash -c '
. selftests/lib/qrep.sh; . selftests/lib/disk.sh
d=$(disk_mount 1) && [ "$(cat "$d/marker")" = "$1" ] &&
	[ "$(cat /sys/block/$(basename "$(readlink -f "$(disk_dev 1)")")/serial)" = qrep-disk1 ]' \
			run2 "$marker" || rc=1
	fi
	rm -rf "$dir"
	return "$rc"
}

boot() {
	cluster_start 1 --disk "$DISK0_SIZE" --disk "$DISK1_SIZE" || return 1
	WORK=$CLUSTER_DIR/power-loss
	mkdir -p "$WORK"
	echo "booted ($CLUSTER_DIR)"
}

# The first boot: stores, targets, device, ext4 on it, all on disk
# (sync) before the first power-off.
first_setup() {
	guest "g_device_up 1 && mkfs.ext4 -q /dev/qrep0 &&
timeout $SETUP_WAIT mount -t ext4 /dev/qrep0 \$MNT && : >\$RECORDS && sync"
}

# power_off R: round R's writeback, its writer, and the power-off once
# the writer has its number of records acknowledged.
power_off() {
	local r=$1 tag=r$1 want
	want=$((RECORDS_MIN + RANDOM % RECORDS_SPREAD))
	guest "disk_writeback ${ROUND_EXPIRE_CS[r - 1]} ${ROUND_INTERVAL_CS[r - 1]}" || return 1
	writer_start "$tag" || return 1
	TAGS+=("$tag")
	wait_acked "$tag" "$want" || return 1
	vm_crash 1 || return 1
	# The control share is the host's directory: what the writer logged
	# before the power went is all there; the next boot wipes it.
	cp "$(ctl)/acked.$tag" "$WORK/acked.$tag" || return 1
	echo "writer $tag: power off after $(wc -l <"$WORK/acked.$tag") acknowledged records" \
		"(waited for $want; writeback ${ROUND_EXPIRE_CS[r - 1]}/${ROUND_INTERVAL_CS[r - 1]} cs)"
}

restart() { vm_start 1; }

stores_fs_clean() { restart && guest g_store_fs_clean; }

device_up() { guest "g_device_up 0"; }

# Every copy on a replica reported up to date matches its checksum and
# the other copies of its version.
replicas_agree() { guest "timeout $SETUP_WAIT qrepctl verify -c \$QREP_CONF"; }

# records_back R: mount /dev/qrep0 (replaying its journal) and check the
# records file against the host's log of every writer so far.
records_back() {
	local file=$WORK/records.round$1 tag rc=0
	guest "timeout $SETUP_WAIT mount -t ext4 /dev/qrep0 \$MNT && cat \$RECORDS" >"$file" ||
		{ echo "cannot read the records file"; return 1; }
	for tag in "${TAGS[@]}"; do
		records_check "$file" "$WORK/acked.$tag" "$tag" || rc=1
	done
	return "$rc"
}

fs_clean() {
	guest "umount \$MNT && fsck.ext4 -fn /dev/qrep0 &&
timeout $SETUP_WAIT mount -t ext4 /dev/qrep0 \$MNT"
}

ktap_step "run-vm --disk: what one run synced, the next reads (disks given the other way round)" run_vm_disks
ktap_step "one VM boots with two persistent disks" boot
if [ -z "$WORK" ]; then
	for ((i = 3; i <= CASES; i++)); do
		ktap_report "power-loss case $i (the VM did not boot)" 1
	done
	ktap_finish
fi
ktap_step "stores on the disks (two files on ext4, one raw), device up, ext4 on it" first_setup
for ((r = 1; r <= ROUNDS; r++)); do
	ktap_step "round $r: power off while the writer runs" power_off "$r"
	ktap_step "round $r: booted on the same disks, the stores' ext4 is fsck-clean" stores_fs_clean
	ktap_step "round $r: the targets serve the same stores, device up again" device_up
	ktap_step "round $r: qrepctl verify: the up-to-date replicas' copies agree" replicas_agree
	ktap_step "round $r: every acknowledged record reads back through /dev/qrep0" records_back "$r"
	ktap_step "round $r: ext4 on /dev/qrep0 is fsck-clean" fs_clean
done
ktap_step "every console log is clean" cluster_stop

ktap_finish
