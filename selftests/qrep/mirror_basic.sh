#!/bin/bash
# Mirror mode, all replicas healthy: ext4 on the device, fio verify on the
# raw device, reads spread over the replicas, and the version stamps the
# stores keep for a known write pattern.
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"
. "$QREP_ROOT/selftests/lib/targets.sh"

SIZE=256M
FILES_MIB=100
MNT=/tmp/mnt
FIO_COMMON=(--filename=/dev/qrep0 --direct=1 --ioengine=libaio
	--verify=crc32c --verify_fatal=1 --output-format=terse)

ext4_files_survive()
{
	local i
	mkfs.ext4 -q /dev/qrep0 || return 1
	mkdir -p "$MNT" && mount /dev/qrep0 "$MNT" || return 1
	for i in $(seq "$FILES_MIB"); do
		head -c 1M /dev/urandom >"$MNT/f$i" || return 1
	done
	(cd "$MNT" && sha256sum f* >/tmp/sums) || return 1
	umount "$MNT" || return 1
	fsck.ext4 -fn /dev/qrep0 || { echo "fsck found problems"; return 1; }
	mount /dev/qrep0 "$MNT" || return 1
	(cd "$MNT" && sha256sum --quiet -c /tmp/sums) || { umount "$MNT"; return 1; }
	umount "$MNT"
}

fio_verify()
{
	fio --name="$1" "${FIO_COMMON[@]}" "${@:2}" >/tmp/fio.out 2>&1 || {
		cat /tmp/fio.out; return 1
	}
}

# Total reads each replica served, as a list "a b c".
replica_reads()
{
	qrepctl status --json | tr '{' '\n' | sed -n 's/.*"reads":\([0-9]*\).*/\1/p' | tr '\n' ' '
}

reads_spread_over_replicas()
{
	local before after i
	before=($(replica_reads))
	fio --name=spread --filename=/dev/qrep0 --direct=1 --ioengine=libaio \
		--rw=randread --bs=4k --iodepth=32 --size=64M --runtime=5 \
		--time_based --output-format=terse >/dev/null || return 1
	after=($(replica_reads))
	echo "reads per replica before: ${before[*]}, after: ${after[*]}"
	[ "${#after[@]}" -eq 3 ] || return 1
	for i in 0 1 2; do
		[ "${after[$i]}" -gt "${before[$i]}" ] || { echo "replica $i served no reads"; return 1; }
	done
}

# Blocks 0..99 written one at a time in order, then 50..59 again: on
# every store, versions rise with the order of the writes and the stores
# agree block for block.
versions_follow_writes()
{
	local b i s
	for b in $(seq 0 99) $(seq 50 59); do
		dd if=/dev/urandom of=/dev/qrep0 bs=4k count=1 seek="$b" \
			oflag=direct status=none || return 1
	done
	qrepctl down -c "$QREP_CONF" || return 1
	for i in 0 1 2; do
		qrep-store versions --store "$(target_store "$i")" --from 0 --count 100 \
			>"/tmp/versions.$i" || return 1
	done
	cmp /tmp/versions.0 /tmp/versions.1 && cmp /tmp/versions.0 /tmp/versions.2 ||
		{ echo "stores disagree on versions"; return 1; }
	awk '
		$3 != "crc-ok" { print "block " $1 ": " $3; bad = 1 }
		$2 == 0 { print "block " $1 " was never written"; bad = 1 }
		{ v[$1] = $2 }
		END {
			for (b = 1; b < 50; b++) if (v[b] <= v[b-1]) { print "block " b " not newer than " b-1; bad = 1 }
			for (b = 61; b < 100; b++) if (v[b] <= v[b-1]) { print "block " b " not newer than " b-1; bad = 1 }
			for (b = 50; b < 60; b++) if (v[b] <= v[99]) { print "rewritten block " b " not newer than block 99"; bad = 1 }
			for (b = 51; b < 60; b++) if (v[b] <= v[b-1]) { print "block " b " not newer than " b-1; bad = 1 }
			exit bad
		}' /tmp/versions.0
}

ktap_plan 7
qrep_load
need_modules ext4
if ! targets_setup 3 "$SIZE"; then
	ktap_diag "could not start the targets"
	ktap_finish
fi
ktap_test "qrepctl up over three targets" qrepctl up -c "$QREP_CONF"
ktap_test "ext4: ${FILES_MIB} MiB of files, fsck clean, checksums equal after remount" ext4_files_survive
ktap_test "fio verify: random 4k writes" fio_verify rand4k --rw=randwrite --bs=4k --iodepth=16 --size=32M
ktap_test "fio verify: sequential 1M writes" fio_verify seq1m --rw=write --bs=1M --iodepth=4 --size=128M
ktap_test "fio verify: mixed random reads and writes" fio_verify mixed --rw=randrw --rwmixread=50 --bs=16k --iodepth=16 --size=32M
ktap_test "reads are spread over all three replicas" reads_spread_over_replicas
ktap_test "versions rise per block in write order and agree across stores" versions_follow_writes
targets_teardown
qrep_unload
ktap_finish
