#!/bin/bash
# Durability: what was synced before every target crashed is there after
# they restart and the device is brought up again.
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"
. "$QREP_ROOT/selftests/lib/targets.sh"

SIZE=128M
DATA_MIB=32
MNT=/tmp/mnt

write_and_sync()
{
	head -c "${DATA_MIB}M" /dev/urandom >/tmp/data || return 1
	dd if=/tmp/data of=/dev/qrep0 bs=1M conv=fsync status=none || return 1
}

crash_all_targets()
{
	target_kill 0; target_kill 1; target_kill 2
	qrepctl down -c "$QREP_CONF"
}

restart_and_up()
{
	target_start 0 && target_start 1 && target_start 2 &&
		qrepctl up -c "$QREP_CONF"
}

synced_data_present()
{
	head -c "${DATA_MIB}M" /dev/qrep0 | cmp - /tmp/data
}

all_replicas_current()
{
	qrepctl status 0
	[ "$(replica_state a)" = up-to-date ] && [ "$(replica_state b)" = up-to-date ] &&
		[ "$(replica_state c)" = up-to-date ]
}

# Files synced with fsync on ext4, then every target crashes.
ext4_fsync_survives()
{
	mkfs.ext4 -q /dev/qrep0 && mkdir -p "$MNT" && mount /dev/qrep0 "$MNT" || return 1
	head -c 4M /dev/urandom >/tmp/file && cp /tmp/file "$MNT/file" && sync "$MNT/file" || return 1
	umount "$MNT" || return 1
	crash_all_targets || return 1
	restart_and_up || return 1
	mount /dev/qrep0 "$MNT" || return 1
	cmp "$MNT/file" /tmp/file && umount "$MNT" && fsck.ext4 -fn /dev/qrep0
}

ktap_plan 6
qrep_load
need_modules ext4
if ! targets_setup 3 "$SIZE" 20s; then
	ktap_diag "could not start the targets"
	ktap_finish
fi
qrepctl up -c "$QREP_CONF"
ktap_test "write ${DATA_MIB} MiB and fsync" write_and_sync
ktap_test "kill -9 every target, device down" crash_all_targets
ktap_test "targets restarted, device up again" restart_and_up
ktap_test "every synced byte is there" synced_data_present
ktap_test "all replicas came back up to date" all_replicas_current
ktap_test "ext4: an fsync'd file survives every target crashing" ext4_fsync_survives
targets_teardown
qrep_unload
ktap_finish
