#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Persistent disks inside a test VM (qemu/run-vm --disk FILE,
# cluster_start --disk SIZE): a power-off keeps on them what the guest's
# kernel had written out and loses what was in its page cache.
#
#   disk_dev I           the device of persistent disk I (0, 1, ...):
#                        /dev/disk/by-id/virtio-qrep-diskI, named by its
#                        serial, whatever order the kernel found them in
#   disk_mount I [DIR]   mount the ext4 on disk I at DIR (default
#                        $DISK_MNT_BASE/diskI), making it first if the disk
#                        has no file system yet: once on a new disk, kept
#                        from then on; after a power-off the mount replays
#                        its journal
#   disk_writeback EXPIRE INTERVAL
#                        the VM's dirty page writeback, in centiseconds:
#                        vm.dirty_expire_centisecs (a dirty page older than
#                        this is written out) and
#                        vm.dirty_writeback_centisecs (how often the
#                        flusher looks). Small values make a power-off find
#                        some later writes on the disk and some earlier
#                        ones not, as on a busy machine; the kernel's
#                        defaults are 3000 and 500
#
# Sourced inside a VM, after selftests/lib/qrep.sh (need_modules). And on
# the host, by a test that reruns itself in a VM with its own disks:
#
#   disk_vm_run NAME SECONDS NDISKS SCRIPT
#                        boot one VM (qemu/run-vm) with NDISKS new disk
#                        files in a new folder NAME.XXXXXX of the build
#                        tree and run "bash SCRIPT" (a path in the tree)
#                        in it, within SECONDS; the disk files (big,
#                        sparse) are removed afterwards, the VM's logs
#                        kept. Returns run-vm's status.

DISK_BY_ID=/dev/disk/by-id
DISK_SERIAL=qrep-disk
DISK_MNT_BASE=${DISK_MNT_BASE:-/run/qrep-disks}

disk_dev()
{
	local dev=$DISK_BY_ID/virtio-$DISK_SERIAL$1

	if [ ! -b "$dev" ]; then
		echo "disk: no persistent disk $1 ($dev): was the VM given one?" >&2
		return 1
	fi
	echo "$dev"
}

disk_mount()
{
	local dev dir=${2:-$DISK_MNT_BASE/disk$1} fs

	dev=$(disk_dev "$1") || return 1
	need_modules ext4 || return 1
	# blkid -p probes the device itself (no cache); status 2: nothing found.
	fs=$(blkid -p -s TYPE -o value "$dev" 2>/dev/null) || fs=""
	case $fs in
	ext4) ;;
	"") mkfs.ext4 -q "$dev" || return 1 ;;
	*)
		echo "disk: $dev holds $fs, not ext4: not touching it" >&2
		return 1
		;;
	esac
	mkdir -p "$dir" && mount -t ext4 "$dev" "$dir" || return 1
	echo "$dir"
}

disk_writeback()
{
	sysctl -q -w vm.dirty_expire_centisecs="$1" \
		vm.dirty_writeback_centisecs="$2"
}

disk_vm_run() {
	local name=$1 secs=$2 ndisks=$3 script=$4 root dir i rc
	local -a disks=()

	root=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	dir=$(mktemp -d "${QREP_BUILD:-$root/build}/$name.XXXXXX") || return 1
	for ((i = 0; i < ndisks; i++)); do
		disks+=(--disk "$dir/d$i.img")
	done
	"$root/qemu/run-vm" --timeout "$secs" --log-dir "$dir/vm" \
		"${disks[@]}" -- bash "$script"
	rc=$?
	rm -f "$dir"/d*.img
	return "$rc"
}
