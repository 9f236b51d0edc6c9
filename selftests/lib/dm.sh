#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Disk faults inside a test VM: a device-mapper device stacked on a disk
# (usually a persistent one, selftests/lib/disk.sh), whose table is
# swapped while it is in use, so that a store on it sees its disk start
# and stop failing under it.
#
#   dm_create NAME DEV    /dev/mapper/NAME, linear over all of DEV (a
#                         healthy disk); prints its path
#   dm_set NAME FAULT [ARG...]
#                         swap NAME's table, the device staying open:
#     linear              healthy again
#     error               every read and write fails (dm-error)
#     error-writes        writes fail, reads work (dm-flakey error_writes)
#     drop-writes         writes are acknowledged and thrown away, reads
#                         return what was there before (dm-flakey
#                         drop_writes): a disk that lies
#     corrupt-writes BYTE VALUE
#                         every write lands with its byte BYTE (1-based)
#                         set to VALUE (dm-flakey corrupt_bio_byte)
#     flakey UP DOWN      healthy for UP seconds, then every I/O fails for
#                         DOWN seconds, over and over (dm-flakey)
#     delay MS            every read and write waits MS milliseconds
#                         (dm-delay): a slow but live disk
#   dm_table NAME         NAME's table as the kernel has it
#   dm_remove NAME        remove NAME (nothing may hold it open)
#
# A fault stays until the next dm_set: dm_set NAME FAULT ... dm_set NAME
# linear is a window. The swap suspends NAME without freezing a file
# system on it (--nolockfs: freezing would write, and the new table may
# be one that fails every write), so I/O in flight finishes under the old
# table and the next under the new one.
#
# The guest has no udev: libdevmapper makes the /dev/mapper nodes itself
# (DM_DISABLE_UDEV). Sourced inside a VM, after selftests/lib/qrep.sh.

export DM_DISABLE_UDEV=1
DM_MODULES=(dm_mod dm_flakey dm_delay)
# dm_create NAME writes the device under NAME to $DM_UNDER_DIR/NAME:
# dm_create runs in a command substitution, whose variables are lost.
DM_UNDER_DIR=/run/qrep-dm

dm_create()
{
	local name=$1 dev=$2 sectors

	need_modules "${DM_MODULES[@]}" || return 1
	dev=$(readlink -f "$dev")
	sectors=$(blockdev --getsz "$dev") || return 1
	echo "0 $sectors linear $dev 0" | dmsetup create "$name" || return 1
	[ -b "/dev/mapper/$name" ] || {
		echo "dm: no /dev/mapper/$name after dmsetup create" >&2
		return 1
	}
	mkdir -p "$DM_UNDER_DIR" && echo "$dev" >"$DM_UNDER_DIR/$name" || return 1
	echo "/dev/mapper/$name"
}

# dm_line NAME FAULT [ARG...]: the one-line table for FAULT.
dm_line()
{
	local name=$1 fault=$2 dev sectors
	shift 2

	dev=$(cat "$DM_UNDER_DIR/$name" 2>/dev/null) ||
		{ echo "dm: $name was not made by dm_create" >&2; return 1; }
	sectors=$(blockdev --getsz "$dev") || return 1
	case $fault in
	linear) echo "0 $sectors linear $dev 0" ;;
	error) echo "0 $sectors error" ;;
	# flakey's "up 0, down N": down from the start, for N seconds, then
	# up for 0 and down again: down until the table is swapped. Its
	# features apply while it is down.
	error-writes) echo "0 $sectors flakey $dev 0 0 86400 1 error_writes" ;;
	drop-writes) echo "0 $sectors flakey $dev 0 0 86400 1 drop_writes" ;;
	corrupt-writes)
		echo "0 $sectors flakey $dev 0 0 86400 5 corrupt_bio_byte $1 w $2 0"
		;;
	flakey) echo "0 $sectors flakey $dev 0 $1 $2" ;;
	delay) echo "0 $sectors delay $dev 0 $1" ;;
	*) echo "dm: unknown fault '$fault'" >&2; return 1 ;;
	esac
}

dm_set()
{
	local name=$1 line

	line=$(dm_line "$@") || return 1
	echo "$line" | dmsetup load "$name" || return 1
	dmsetup suspend --nolockfs "$name" && dmsetup resume "$name"
}

dm_table() { dmsetup table "$1"; }

dm_remove()
{
	dmsetup remove "$1" && rm -f "$DM_UNDER_DIR/$1"
}
