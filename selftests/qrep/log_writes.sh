#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The cases are functions that ktap_test calls.
# shellcheck disable=SC2317
#
# Crash consistency of a store at every flush, the way xfstests checks
# file systems: the store sits on dm-log-writes, which logs every write
# to a second disk once a FLUSH made it durable (or at once if FUA), so
# that replaying a prefix of the log onto a blank disk gives what the
# store's disk could hold after a power cut at that moment. Our own
# replay tool (selftests/qrep/log_replay.c) and record checker
# (selftests/qrep/crash_records.c) do the replaying and the checking.
#
#   disk 0: the store's disk, under dm-log-writes "qlw": first the
#           store is a raw block-device store on /dev/mapper/qlw, then a
#           file on an ext4 made on /dev/mapper/qlw (LW_FS_SIZE of it)
#   disk 1: the log
#   disk 2: the replay, moved forward from one flush point to the next
#   disk 3: a scratch copy of the replay, which qrep-target's open path
#           may repair (an unclean open resets torn blocks)
#
#  1  a writer puts LW_RECORDS self-checking records (one a block, spread
#     over every write-intent region of the store) LW_ROUNDS times through
#     /dev/qrep0, LW_BATCH at a time: O_DIRECT writes, then an fsync (a
#     FLUSH through qrep to the target, an fdatasync there); once the
#     fsync returned, the batch is logged as acknowledged and a mark
#     "ackK" is put in the log.
#  2  the log lists its entries and flush points, and every batch's mark
#     is there, in order.
#  3  the whole log replayed is the store, byte for byte (the replay
#     tool checked against the real disk).
#  4  for every flush point from the store's creation on: the replay is
#     moved to it, copied to the scratch disk and opened as qrep-target
#     opens its store at start after a crash; it must open, and every
#     record whose batch's mark lies before the next flush point (the
#     flush that made that batch durable is this one or an earlier one)
#     must read back whole, with the round it was acknowledged at or a
#     later one, at a version that fits (the last round's own version,
#     or a lower one for an earlier round), no version lower than at the
#     point before. Prints the number of flush points and records
#     checked.
#  5  the same for a file store on ext4: the writer, the log with its
#  6  marks, the whole log replayed equal to the file system, and
#  7  every flush point, at which ext4 must mount (replaying its journal
#     as after a power cut) before the store is opened and checked.
#  8  a log with bad bytes (magic, sector size, entry count, lengths,
#     flags, an entry outside the device) is refused, saying which entry
#     and why, and nothing is written.
#
# Runs on the host as a test of its own (selftests/TESTS: log-writes):
# makes four disk files, boots one VM with them (qemu/run-vm --disk) and
# runs itself inside.
set -u

if [ -z "${QREP_VM:-}" ]; then
	ROOT=$(cd -P "$(dirname "$0")/../.." && pwd)
	# shellcheck source=selftests/lib/disk.sh
	. "$ROOT/selftests/lib/disk.sh"
	# The VM's time limit: inside the runner's own for this test.
	disk_vm_run log-writes "${LOG_WRITES_VM_TIMEOUT:-1140}" 4 selftests/qrep/log_writes.sh
	exit
fi

. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"
. "$QREP_ROOT/selftests/lib/targets.sh"
. "$QREP_ROOT/selftests/lib/disk.sh"
. "$QREP_ROOT/selftests/lib/dm.sh"

SIZE=8M
# Records: slot I in block I * LW_STRIDE (4 per 256-block write-intent
# region, every region of the store), written LW_ROUNDS times, LW_BATCH
# records per fsync. Fewer records on ext4, whose journal commits add
# flush points of their own.
LW_RECORDS=${LW_RECORDS:-24}
LW_FS_RECORDS=${LW_FS_RECORDS:-8}
LW_STRIDE=64
LW_ROUNDS=${LW_ROUNDS:-2}
LW_BATCH=${LW_BATCH:-2}
# The ext4 holding the file store: small, since every flush point copies
# all of it to the scratch disk.
LW_FS_SIZE_MB=32
LW_BASE=/tmp/log-writes
REPLAY=$QREP_BUILD/selftests/log_replay
RECORDS=$QREP_BUILD/selftests/crash_records
DM_NAME=qlw
DM_DEV=/dev/mapper/$DM_NAME
MNT=/run/qrep-lw/fs
MNT_S=/run/qrep-lw/scratch
DATA_DEV="" LOG_DEV="" REPLAY_DEV="" SCRATCH_DEV=""
KIND="" LW="" STORE="" NREC=0

target_store() { echo "$STORE"; }

# use_kind raw|ext4: the store the next cases are about.
use_kind()
{
	KIND=$1
	LW=$LW_BASE/$KIND
	case $KIND in
	raw) STORE=$DM_DEV NREC=$LW_RECORDS ;;
	ext4) STORE=$MNT/s.store NREC=$LW_FS_RECORDS ;;
	esac
	rm -rf "$LW" && mkdir -p "$LW"
}

# lw_create SECTORS: dm-log-writes over the first SECTORS of disk 0,
# logging to disk 1 (its old super block wiped first).
lw_create()
{
	dd if=/dev/zero of="$LOG_DEV" bs=4096 count=1 conv=fsync status=none &&
		echo "0 $1 log-writes $DATA_DEV $LOG_DEV" | dmsetup create "$DM_NAME" ||
		return 1
	[ -b "$DM_DEV" ] || { echo "no $DM_DEV after dmsetup create"; return 1; }
}

# The store made and served, the device up; its creation marked.
store_up()
{
	targets_setup 1 "$SIZE" || return 1
	# qrep-target init has returned: from here on the store must open.
	dmsetup message "$DM_NAME" 0 mark store-made || return 1
	qrepctl up -c "$QREP_CONF" || { cat "$QREP_CONF"; return 1; }
}

# The store's bytes (metadata and data) as qrep-target info reports them.
store_bytes()
{
	qrep-target info --store "$1" |
		awk '$1 == "data" && $2 == "area:" { sub(",", "", $4); print $4 + $5 }'
}

setup()
{
	need_modules dm_mod dm_log_writes ext4 || return 1
	DATA_DEV=$(readlink -f "$(disk_dev 0)") &&
		LOG_DEV=$(readlink -f "$(disk_dev 1)") &&
		REPLAY_DEV=$(readlink -f "$(disk_dev 2)") &&
		SCRATCH_DEV=$(readlink -f "$(disk_dev 3)") || return 1
	mkdir -p "$MNT" "$MNT_S" || return 1
	lw_create "$(blockdev --getsz "$DATA_DEV")" && store_up
}

# 5: the file store on ext4. A replay starts from a blank disk, so the
# part of disk 0 under the file system is blanked first, and the replay
# disk (which holds the raw store's last point) too.
ext4_write_records()
{
	local bytes=$((LW_FS_SIZE_MB << 20)) d
	for d in "$DATA_DEV" "$REPLAY_DEV"; do
		dd if=/dev/zero of="$d" bs=1M count="$LW_FS_SIZE_MB" conv=fsync \
			status=none || return 1
	done
	lw_create $((bytes / 512)) || return 1
	mkfs.ext4 -q "$DM_DEV" && mount -t ext4 "$DM_DEV" "$MNT" || return 1
	store_up && write_records
}

# 1: the writer.
write_records()
{
	local round from k=0
	: >"$LW/acks"
	for round in $(seq 1 "$LW_ROUNDS"); do
		for ((from = 0; from < NREC; from += LW_BATCH)); do
			"$RECORDS" write --dev /dev/qrep0 --stride "$LW_STRIDE" \
				--from "$from" --count "$LW_BATCH" --round "$round" ||
				{ echo "batch $((k + 1)) failed"; return 1; }
			k=$((k + 1))
			echo "$k $round $from $LW_BATCH" >>"$LW/acks"
			dmsetup message "$DM_NAME" 0 mark "ack$k" || return 1
		done
	done
	echo "$k batches of $LW_BATCH records acknowledged, each after its fsync"
	qrepctl down -c "$QREP_CONF" || return 1
	# A clean stop: the store's final versions, read with nothing open.
	targets_teardown
	qrep-store versions --store "$STORE" --written >"$LW/final" || return 1
	# The bytes a replay is compared and copied by.
	if [ "$KIND" = raw ]; then
		store_bytes "$STORE" >"$LW/bytes"
	else
		umount "$MNT" || return 1
		echo $((LW_FS_SIZE_MB << 20)) >"$LW/bytes"
	fi
	# Removing it logs what was never flushed and updates the super block.
	dmsetup remove "$DM_NAME"
}

# 2: the log, its flush points, the marks.
log_lists()
{
	local k n
	"$REPLAY" list --log "$LOG_DEV" >"$LW/entries" || return 1
	"$REPLAY" list --log "$LOG_DEV" --points >"$LW/points" || return 1
	head -n 1 "$LW/entries"
	n=$(grep -c '^point ' "$LW/points")
	echo "flush points: $n; flags seen: $(awk '$1 == "entry" { print $3 }' "$LW/entries" | sort | uniq -c | xargs)"
	ktap_assert "the log has flush points" [ "$n" -gt 0 ] || return 1
	k=$(wc -l <"$LW/acks")
	awk '$1 == "entry" && $6 == "mark" && $7 ~ /^ack/ { print substr($7, 4) }' \
		"$LW/entries" >"$LW/mark_order"
	seq 1 "$k" >"$LW/mark_want"
	ktap_assert "every batch's mark is in the log, in order" \
		cmp -s "$LW/mark_order" "$LW/mark_want" || return 1
	ktap_assert "the store's creation is marked" \
		grep -q ' mark store-made$' "$LW/entries"
}

ext4_log_and_replay() { log_lists && whole_log_is_the_store; }

# 3: the whole log replayed is the store (or the file system).
whole_log_is_the_store()
{
	local bytes
	bytes=$(cat "$LW/bytes")
	[ -n "$bytes" ] || return 1
	"$REPLAY" replay --log "$LOG_DEV" --dev "$REPLAY_DEV" --to-end || return 1
	ktap_assert "the replay equals disk 0" cmp -n "$bytes" "$REPLAY_DEV" \
		"$DATA_DEV" || return 1
	# Back to blank for the walk over the flush points.
	dd if=/dev/zero of="$REPLAY_DEV" bs=1M iflag=count_bytes count="$bytes" \
		conv=fsync status=none
}

# mark_index TEXT: the entry index of mark TEXT.
mark_index()
{
	awk -v m="$1" '$1 == "entry" && $6 == "mark" && $7 == m { print $2; exit }' \
		"$LW/entries"
}

# required_before INDEX: "SLOT ROUND" for every record of every batch
# whose mark lies before entry INDEX.
required_before()
{
	awk -v lim="$1" '
		NR == FNR { if ($1 == "entry" && $6 == "mark" && $7 ~ /^ack/)
				at[substr($7, 4)] = $2
			    next }
		at[$1] != "" && at[$1] + 0 < lim {
			for (i = $3; i < $3 + $4; i++) print i, $2
		}' "$LW/entries" "$LW/acks"
}

# check_point: the scratch copy opened as after a power cut (ext4
# mounted first, replaying its journal) and its records checked.
check_point()
{
	local store=$SCRATCH_DEV rc
	if [ "$KIND" = ext4 ]; then
		mount -t ext4 "$SCRATCH_DEV" "$MNT_S" ||
			{ echo "ext4 does not mount"; return 1; }
		store=$MNT_S/s.store
	fi
	"$RECORDS" check --store "$store" --stride "$LW_STRIDE" \
		--records "$NREC" --rounds "$LW_ROUNDS" \
		--required "$LW/required" --final "$LW/final" \
		--prev "$LW/prev" --save "$LW/prev"
	rc=$?
	[ "$KIND" = raw ] || umount "$MNT_S" || return 1
	return "$rc"
}

# 4: every flush point.
every_flush_point()
{
	local bytes made n j entry cut next prev=0 checked=0 skipped=0 recs=0 bad=0
	local unclean=0 torn=0 line
	local -a entries cuts req
	bytes=$(cat "$LW/bytes")
	made=$(mark_index store-made)
	[ -n "$made" ] || return 1
	grep '^point ' "$LW/points" >"$LW/points.only"
	while read -r _ _ _ entry _ cut; do
		entries+=("$entry")
		cuts+=("$cut")
	done <"$LW/points.only"
	n=${#cuts[@]}
	rm -f "$LW/prev"
	: >"$LW/prev"
	for ((j = 0; j < n; j++)); do
		# What this point must hold: the batches marked before the next
		# flush point (none comes between: this one made them durable).
		if ((j + 1 < n)); then
			next=${entries[j + 1]}
		else
			next=$(awk '$1 == "log" { print $3 }' "$LW/entries")
		fi
		# Before the store was made, there is no store to open.
		if ((next <= made)); then
			skipped=$((skipped + 1))
			continue
		fi
		"$REPLAY" replay --log "$LOG_DEV" --dev "$REPLAY_DEV" \
			--from "$prev" --to "${cuts[j]}" >/dev/null || return 1
		prev=${cuts[j]}
		required_before "$next" >"$LW/required"
		# Both through the page cache, as the store and ext4 read them:
		# no fsync needed.
		dd if="$REPLAY_DEV" of="$SCRATCH_DEV" bs=1M iflag=count_bytes \
			count="$bytes" status=none || return 1
		if ! check_point >"$LW/check.out" 2>&1; then
			echo "flush point $((j + 1)) (entry ${entries[j]}, cut ${cuts[j]}):"
			sed 's/^/  /' "$LW/check.out" | head -n 20
			bad=$((bad + 1))
			continue
		fi
		checked=$((checked + 1))
		# Counted with builtins: every exec is slow under TCG.
		while read -r line; do
			[[ $line == "store opened: last close unclean;"* ]] &&
				unclean=$((unclean + 1))
			[[ $line =~ ^store\ opened:.*\ ([0-9]+)\ torn$ ]] &&
				torn=$((torn + BASH_REMATCH[1]))
		done <"$LW/check.out"
		mapfile -t req <"$LW/required"
		recs=$((recs + ${#req[@]}))
	done
	tail -n 2 "$LW/check.out" | sed 's/^/last point: /'
	echo "flush points: $n in the log, $checked checked ($unclean opened as after an unclean stop, $torn torn blocks reset), $bad failed, $skipped before the store was made; acknowledged records checked: $recs"
	ktap_assert "every flush point after the store was made was checked" \
		[ "$checked" -gt 0 ] && [ "$bad" -eq 0 ] &&
		[ $((checked + skipped)) -eq "$n" ]
}

# refused WHAT FILE PATTERN: log_replay refuses log FILE, saying PATTERN,
# and writes nothing onto the victim device.
refused()
{
	local out
	rm -f "$LW/victim"
	truncate -s 1M "$LW/victim"
	if out=$("$REPLAY" replay --log "$2" --dev "$LW/victim" --to-end 2>&1); then
		echo "$1: accepted: $out"
		return 1
	fi
	echo "$1: $out"
	ktap_assert "$1: the error says '$3'" grep -q -- "$3" <<<"$out" &&
		ktap_assert "$1: nothing written" cmp -s "$LW/victim" "$LW/zeros"
}

# put LOG OFFSET HEXBYTES: overwrite bytes of a log file copy.
put()
{
	local hex=$3 i esc=""
	for ((i = 0; i < ${#hex}; i += 2)); do
		esc+="\\x${hex:i:2}"
	done
	printf '%b' "$esc" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# 5: bad logs. A small log of our own: super block, a write of one sector
# at sector 2, a flush.
bad_logs()
{
	local good=$LW/good.log f
	{
		# magic, version 1, 2 entries, sector size 512
		printf '\x72\x68\x73\x77\x66\x73\x6a\x00'
		printf '\x01\x00\x00\x00\x00\x00\x00\x00'
		printf '\x02\x00\x00\x00\x00\x00\x00\x00'
		printf '\x00\x02\x00\x00'
	} >"$good"
	truncate -s 512 "$good"
	put "$good" 512 02
	put "$good" 520 01
	truncate -s 1024 "$good"
	head -c 512 /dev/urandom >>"$good"
	put "$good" 1536 00
	put "$good" 1552 01
	truncate -s 2048 "$good"
	"$REPLAY" list --log "$good" || return 1
	rm -f "$LW/victim" "$LW/zeros"
	truncate -s 1M "$LW/victim" "$LW/zeros"
	ktap_assert "our small log replays" "$REPLAY" replay --log "$good" \
		--dev "$LW/victim" --to-end || return 1

	f=$LW/bad.log
	cp "$good" "$f" && put "$f" 0 00 && refused "bad magic" "$f" "no dm-log-writes super block" || return 1
	cp "$good" "$f" && put "$f" 24 0003 && refused "odd sector size" "$f" "sector size 768" || return 1
	cp "$good" "$f" && put "$f" 16 ff && refused "too many entries" "$f" "claims 255 entries" || return 1
	cp "$good" "$f" && put "$f" 520 ffffffffffffff7f && refused "huge length" "$f" "entry 0: .* run past the end of the log" || return 1
	cp "$good" "$f" && put "$f" 1552 80 && refused "unknown flags" "$f" "entry 1: unknown flags 0x80" || return 1
	cp "$good" "$f" && put "$f" 512 ffffffffffff && refused "outside the device" "$f" "entry 0: .* lie outside" || return 1
	cp "$good" "$f" && put "$f" 1552 08 && put "$f" 1560 ffff && refused "long mark" "$f" "entry 1: a mark of 65535 bytes" || return 1
	head -c 1600 "$good" >"$f" && refused "cut short" "$f" "entry 1: its header at byte 1536 runs past the end" || return 1
	cp "$good" "$f" && put "$f" 536 01 && refused "private data" "$f" "entry 0: 1 bytes of private data" || return 1
}

teardown()
{
	targets_teardown
	qrep_unload
	umount "$MNT" "$MNT_S" 2>/dev/null
	dmsetup remove "$DM_NAME" 2>/dev/null
}

ktap_plan 8
qrep_load
use_kind raw
if ! setup >/tmp/setup.out 2>&1; then
	sed 's/^/# /' /tmp/setup.out
	ktap_diag "set-up failed"
	ktap_finish
fi
ktap_test "raw block-device store on dm-log-writes: records written, each batch acknowledged by a FLUSH and marked" write_records
ktap_test "the log lists its entries and flush points, every batch's mark in order" log_lists
ktap_test "the whole log replayed is the store, byte for byte" whole_log_is_the_store
ktap_test "every flush point: the store opens as after a crash, every acknowledged record reads back" every_flush_point
use_kind ext4
ktap_test "file store on ext4 on dm-log-writes: records written, each batch acknowledged by a FLUSH and marked" ext4_write_records
ktap_test "ext4: the log lists every batch's mark in order; the whole log replayed is the file system" \
	ext4_log_and_replay
ktap_test "ext4: at every flush point it mounts, the store opens, every acknowledged record reads back" every_flush_point
ktap_test "bad logs are refused, saying which entry and why, nothing written" bad_logs
teardown >/dev/null 2>&1
ktap_finish
