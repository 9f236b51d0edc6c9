#!/bin/bash
# Durability across a replica's crash (Documentation/durability.rst): the
# scenarios of the durability model staged with real processes, each a
# named case that failed before its fix.
#
# A power failure at a target keeps only what its store had flushed. The
# cases here stage exactly that loss on a stopped target's store file
# (record and data of one block put back as they were at the last
# flush) - the outcome a power-off can leave, made certain instead of
# likely - then let the replica come back as it would after the reboot.
#
# Quorum mode's flush accounting (scenario 3 of the table there): a
# FLUSH counts only the answers of replicas that held every acknowledged
# write when it was sent. c misses write Z and comes back stale, not
# resynced (--no-resync stands for a resync still under way); b stops
# answering. A FLUSH then gets its W=2 answers only from a and c: the
# code before the fix completed it, though Z was durable on a alone. Now
# it is held (on-no-quorum suspend) until the resync has brought c up to
# date and c has answered it again, or fails (on-no-quorum error).
#
# Quorum mode's reads of a write that never completed (scenario 10): X
# reaches replica a alone and fails; the primary crashes, and up brings
# the device back on all three, b and c stale without X. A read that
# returned X once must return it ever after, also from b and c alone:
# before the fix a read quorum without a returned the older data (new,
# old: a disk's contents do not flicker after a crash). Now the read that
# found X on one replica of its quorum wrote it back to another before it
# returned.
#
# A primary's crash is staged by taking its device down: what the kernel
# knew (which regions a stale replica missed) goes with it, as in a crash,
# and the stores stay as they were.
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"
. "$QREP_ROOT/selftests/lib/targets.sh"

SIZE=64M
# The quorum cases: small stores, so that the resync that releases a
# held FLUSH is quick (the FLUSH's caller is in D state meanwhile, and
# the VM reports a task hung for 60 s).
QUORUM_SIZE=16M
QUORUM_IO_TIMEOUT_SEC=2
# How long a FLUSH must stay held to count as held: several io-timeouts,
# so that no timeout could still be about to complete it.
FLUSH_HOLD_SEC=$((QUORUM_IO_TIMEOUT_SEC * 3))
# The longest a FLUSH may take once it can complete or must fail: the
# io-timeout plus a lot of slack for TCG.
FLUSH_DEADLINE_SEC=$((QUORUM_IO_TIMEOUT_SEC * 10))
# Reads of one block after the rejoin: enough that the read balancing
# sends some to every up-to-date replica.
READS=32
# How long a replica may take to be failed once its target is killed
# (the connection drops at once; a backstop), and a stale one to be
# resynced once the device is up again (a few regions of a 64M store).
FAIL_WAIT_SEC=30
RESYNC_WAIT_SEC=60

# store_area I NAME: the byte offset of area NAME ("metadata" or "data")
# in target I's store, as qrep-target info reports it.
store_area()
{
	qrep-target info --store "$(target_store "$1")" |
		awk -v a="$2" '$1 == a && $2 == "area:" { sub(",", "", $4); print $4 }'
}

# block_save I BLOCK FILE: copy block BLOCK's record and data from target
# I's store (the target stopped or idle) to FILE.rec and FILE.data.
block_save()
{
	local store meta data
	store=$(target_store "$1")
	meta=$(store_area "$1" metadata) && data=$(store_area "$1" data) &&
		[ -n "$meta" ] && [ -n "$data" ] || return 1
	dd if="$store" of="$3.rec" bs=16 skip=$((meta / 16 + $2)) count=1 status=none &&
		dd if="$store" of="$3.data" bs=4096 skip=$((data / 4096 + $2)) count=1 status=none
}

# block_restore I BLOCK FILE: put them back, behind the target's back.
block_restore()
{
	local store meta data
	store=$(target_store "$1")
	meta=$(store_area "$1" metadata) && data=$(store_area "$1" data) &&
		[ -n "$meta" ] && [ -n "$data" ] || return 1
	dd if="$3.rec" of="$store" bs=16 seek=$((meta / 16 + $2)) conv=notrunc status=none &&
		dd if="$3.data" of="$store" bs=4096 seek=$((data / 4096 + $2)) conv=notrunc status=none
}

# replica_in NAME STATE: replica NAME is in STATE (for wait_for).
replica_in() { [ "$(replica_state "$1")" = "$2" ]; }

# Scenario: replica b acknowledged X (block 10) and then Y (block 5000),
# and lost power before a flush reached it. Its disk kept Y's record and
# data but not X's: its highest version did not go down. The device
# flushed on a alone meanwhile. When b comes back it must be resynced for
# X, not taken as up to date because its highest version is the newest.
lost_unflushed_write_resynced()
{
	local x=10 y=5000 want i
	write_block $x 1 && sync /dev/qrep0 || { echo "first write of X failed"; return 1; }
	target_stop 1
	block_save 1 $x /tmp/x-flushed || { echo "could not read b's store"; return 1; }
	target_cont 1
	write_block $x 2 && write_block $y 3 || { echo "writes of X, Y failed"; return 1; }
	want=$(block_sum $x)
	target_kill 1 || return 1
	wait_for "$FAIL_WAIT_SEC" replica_in b failed || { echo "b not failed"; qrepctl status 0; return 1; }
	sync /dev/qrep0 || { echo "flush on a alone failed"; return 1; }
	block_restore 1 $x /tmp/x-flushed || { echo "could not stage the loss"; return 1; }
	target_start 1 || return 1
	qrepctl reconnect -c "$QREP_CONF" b || return 1
	replica_in b up-to-date || { qrepctl status 0; return 1; }
	for i in $(seq 1 $READS); do
		[ "$(block_sum $x)" = "$want" ] ||
			{ echo "read $i of block $x returned the lost write's predecessor"; return 1; }
	done
	qrepctl verify -c "$QREP_CONF" || { echo "verify found copies that differ"; return 1; }
	qrepctl down -c "$QREP_CONF" && stores_identical &&
		qrepctl up -c "$QREP_CONF"
}

# --- quorum mode: flush accounting ----------------------------------------

# quorum_up POLICY: the resource file made quorum (N=3, W=R=2 by default)
# with on-no-quorum POLICY, and the device up.
quorum_up()
{
	sed -i -e 's/^mode .*/mode quorum/' -e '/^on-no-quorum /d' "$QREP_CONF"
	echo "on-no-quorum $1" >>"$QREP_CONF"
	qrepctl up -c "$QREP_CONF"
}

# flush_bg: a FLUSH (fsync of the device) in the background; its exit
# status goes to /tmp/flush.rc when it ends, its messages to /tmp/flush.out.
flush_bg()
{
	rm -f /tmp/flush.rc /tmp/flush.out
	( sync /dev/qrep0; echo $? >/tmp/flush.rc.tmp; mv /tmp/flush.rc.tmp /tmp/flush.rc ) \
		>/tmp/flush.out 2>&1 </dev/null &
}
flush_done() { [ -s /tmp/flush.rc ]; }
flush_rc() { cat /tmp/flush.rc; }
held_some() { qrepctl status 0 | grep -q 'held [1-9]'; }

# stale_flush_staged BYTE: c misses Z (block 20, BYTE repeated) and comes
# back stale, b stops answering, and a FLUSH is sent: the replicas that
# answer it are a (up to date) and c (stale, without Z).
stale_flush_staged()
{
	write_block 10 "$1" && sync /dev/qrep0 || { echo "the first write failed"; return 1; }
	target_kill 2 || return 1
	wait_for "$FAIL_WAIT_SEC" replica_in c failed || { echo "c not failed"; qrepctl status 0; return 1; }
	write_block 20 "$1" || { echo "Z failed"; return 1; }
	target_start 2 || return 1
	qrepctl reconnect --no-resync -c "$QREP_CONF" c || return 1
	replica_in c stale || { echo "c is not stale"; qrepctl status 0; return 1; }
	target_stop 1 || return 1
	flush_bg
	wait_for "$FLUSH_DEADLINE_SEC" replica_in b failed ||
		{ echo "b was not failed"; qrepctl status 0; return 1; }
}

# Both cases end with every replica back and up to date, Z on all three.
replicas_back_identical()
{
	qrepctl resync -c "$QREP_CONF" || return 1
	target_cont 1 || return 1
	qrepctl reconnect -c "$QREP_CONF" b || return 1
	replica_in b up-to-date && replica_in c up-to-date ||
		{ echo "b or c is not up to date"; qrepctl status 0; return 1; }
	sync /dev/qrep0 || { echo "a FLUSH with all three up to date failed"; return 1; }
	qrepctl verify -c "$QREP_CONF" || { echo "verify found copies that differ"; return 1; }
	qrepctl down -c "$QREP_CONF" && stores_identical
}

quorum_flush_held_until_resynced()
{
	stale_flush_staged 4 || return 1
	sleep "$FLUSH_HOLD_SEC"
	if flush_done; then
		echo "the FLUSH completed (status $(flush_rc)) on the answers of a and stale c:"
		cat /tmp/flush.out
		return 1
	fi
	held_some || { echo "status shows nothing held"; qrepctl status 0; return 1; }
	qrepctl status 0
	# c resynced: the FLUSH goes out again and a and c answer it.
	qrepctl resync -c "$QREP_CONF" || return 1
	wait_for "$FLUSH_DEADLINE_SEC" flush_done ||
		{ echo "the FLUSH is still held with c up to date"; qrepctl status 0; return 1; }
	[ "$(flush_rc)" = 0 ] || { echo "the FLUSH failed:"; cat /tmp/flush.out; return 1; }
	replicas_back_identical
}

quorum_flush_fails_eio()
{
	stale_flush_staged 5 || return 1
	wait_for "$FLUSH_DEADLINE_SEC" flush_done ||
		{ echo "the FLUSH neither completed nor failed"; qrepctl status 0; return 1; }
	cat /tmp/flush.out
	[ "$(flush_rc)" != 0 ] && grep -q 'Input/output error' /tmp/flush.out ||
		{ echo "the FLUSH did not fail with EIO (status $(flush_rc))"; return 1; }
	held_some && { echo "a request is held under on-no-quorum error"; return 1; }
	replicas_back_identical
}

QS_DESC="quorum, suspend: a FLUSH answered by one up-to-date and one stale replica is held until the resync"
QE_DESC="quorum, error: a FLUSH answered by one up-to-date and one stale replica fails with EIO"
# up_after_crash FILE: qrepctl up, as after the primary's crash, its
# messages kept in FILE as well.
up_after_crash()
{
	qrepctl up -c "$QREP_CONF" >"$1" 2>&1
	local rc=$?
	cat "$1"
	return $rc
}

# The stage of scenario 2 up to the primary's crash: replica b blips; X
# (block 20) is acknowledged and flushed by a alone; b is reconnected
# stale and receives the newer write Y (block 6000) - with --no-resync,
# the resync that would reach X has not yet. Both stores now report Y's
# version as their highest. Then the primary crashes: the device goes
# (qrepctl down here, the same loss: the kernel's record of what b
# missed lived only in its memory), the stores stay as they are. Sets
# X_WANT and Y_WANT, the sums of X and Y as the device returned them.
# FLUSH_Y: flush Y too (else it is acknowledged by both, durable on none).
stage_crash_mid_resync()
{
	local x=20 y=6000
	write_block $x 4 && sync /dev/qrep0 || { echo "first write of block $x failed"; return 1; }
	target_kill 1 || return 1
	wait_for "$FAIL_WAIT_SEC" replica_in b failed || { echo "b not failed"; qrepctl status 0; return 1; }
	write_block $x 5 && sync /dev/qrep0 || { echo "X, flushed on a alone, failed"; return 1; }
	X_WANT=$(block_sum $x)
	target_start 1 || return 1
	qrepctl reconnect --no-resync -c "$QREP_CONF" b || return 1
	replica_in b stale || { echo "b did not come back stale"; qrepctl status 0; return 1; }
	sync /dev/qrep0 || return 1
	block_save 0 $y /tmp/y-before || { echo "could not read a's store"; return 1; }
	write_block $y 6 || { echo "write of Y failed"; return 1; }
	[ "$FLUSH_Y" = 0 ] || sync /dev/qrep0 || { echo "flush of Y failed"; return 1; }
	Y_WANT=$(block_sum $y)
	replica_in b stale || { echo "b is no longer stale"; qrepctl status 0; return 1; }
	qrepctl down -c "$QREP_CONF" || return 1
}

# Scenario 2 (issue 14): after the stage above, `up` finds b behind by
# comparing region summaries and block versions (their highest versions
# are equal), resyncs it, and X survives the loss of a.
crash_mid_resync_stale_found_by_regions()
{
	local x=20 y=6000
	FLUSH_Y=1 stage_crash_mid_resync || return 1
	up_after_crash /tmp/up.out || return 1
	reads_return $x "$X_WANT" "X's predecessor" || return 1
	reads_return $y "$Y_WANT" "Y's predecessor" || return 1
	grep -q "replica b is behind in 1 region" /tmp/up.out ||
		{ echo "up did not say that b was behind"; return 1; }
	replica_in b up-to-date || { echo "b not resynced"; qrepctl status 0; return 1; }
	# Lose a: X must still be there, on b.
	target_kill 0 || return 1
	wait_for "$FAIL_WAIT_SEC" replica_in a failed || { echo "a not failed"; qrepctl status 0; return 1; }
	reads_return $x "$X_WANT" "X's predecessor with a lost" || return 1
	target_start 0 || return 1
	qrepctl reconnect -c "$QREP_CONF" a || return 1
	qrepctl verify -c "$QREP_CONF" || { echo "verify found copies that differ"; return 1; }
	stores_identical_at_rest
}

# The same stage, but Y is not flushed, and a's machine loses power after
# the primary's crash: Y survives on b but not on a (an unflushed write
# carries no promise; a power failure may keep it on one replica only).
# Now each replica lacks a write the other holds: a lacks Y, b lacks X.
# Mirror mode has no replica to start from, so `up` first fills the one
# that lacks least from the other, then resyncs the rest from it.
each_lacks_something_one_filled()
{
	local x=20 y=6000
	FLUSH_Y=0 stage_crash_mid_resync || return 1
	target_kill 0 || return 1
	block_restore 0 $y /tmp/y-before || { echo "could not stage the loss"; return 1; }
	target_start 0 || return 1
	up_after_crash /tmp/up.out || return 1
	reads_return $x "$X_WANT" "X's predecessor" || return 1
	reads_return $y "$Y_WANT" "Y's predecessor" || return 1
	grep -q "no replica holds every write the others hold" /tmp/up.out ||
		{ echo "up did not say that it filled a replica"; return 1; }
	wait_for "$RESYNC_WAIT_SEC" replica_in a up-to-date && wait_for "$RESYNC_WAIT_SEC" replica_in b up-to-date ||
		{ echo "the replicas are not both up to date"; qrepctl status 0; return 1; }
	qrepctl verify -c "$QREP_CONF" || { echo "verify found copies that differ"; return 1; }
	stores_identical_at_rest
}


# --- scenario 6: a manual takeover fences the old primary ------------------

# The second device of the takeover: the same resource over the same
# targets, as another node's `up --force` would make it, here as
# /dev/qrep1 beside the old primary's /dev/qrep0 in one VM.
TAKEOVER_CONF=$TARGETS_DIR/takeover.conf
# How many bits of a version the counter takes (<linux/qrep_quorum.h>).
VERSION_EPOCH_SHIFT=40

# dev_field INDEX epoch|version: that number of "qrepctl status INDEX".
dev_field()
{
	qrepctl status "$1" | awk -v f="$2" '$1 == "epoch" {
		gsub(",", ""); for (i = 1; i < NF; i++) if ($i == f) print $(i + 1) }'
}

# dev_replicas_fenced INDEX: every replica of the device failed as fenced.
dev_replicas_fenced()
{
	local n
	n=$(qrepctl status "$1" | grep -c "older epoch (fenced)")
	[ "$n" -eq "$TARGETS_N" ]
}

# Scenario 6 (issue 14): device A (/dev/qrep0) is up on a, b, c and has
# written; device B (/dev/qrep1) takes over. B's `up` reserves a newer
# epoch at every target before it reads or writes them, so A's next
# write is refused everywhere (EIO, its replicas failed as fenced), and
# no version is stamped by both: B's are of its own epoch, above all of
# A's. Before the fix, mirror `up` took the epoch the stores held: A
# went on writing beside B, both stamping the same bare counters.
takeover_fences_the_old_primary()
{
	local ea eb va vb a_sum
	write_block 30 1 && write_block 31 1 && sync /dev/qrep0 ||
		{ echo "A's first writes failed"; return 1; }
	a_sum=$(block_sum 30)
	ea=$(dev_field 0 epoch)
	sed 's/^device .*/device 1/' "$QREP_CONF" >"$TAKEOVER_CONF"
	qrepctl up -c "$TAKEOVER_CONF" || { echo "B's up failed"; return 1; }
	if write_block 31 2; then
		echo "A's write after the takeover succeeded: two writers"
		qrepctl status 0
		return 1
	fi
	wait_for "$FAIL_WAIT_SEC" dev_replicas_fenced 0 ||
		{ echo "A's replicas are not all failed as fenced"; qrepctl status 0; return 1; }
	dmesg | grep -q "qrep0: no replica left to serve I/O: fenced" ||
		{ echo "the kernel did not say why A has no replica"; return 1; }
	eb=$(dev_field 1 epoch)
	[ -n "$ea" ] && [ -n "$eb" ] && [ "$eb" -gt "$ea" ] ||
		{ echo "B took epoch $eb, not newer than A's $ea"; return 1; }
	QREP_DEV=/dev/qrep1 write_block 31 3 && sync /dev/qrep1 ||
		{ echo "B's write failed"; return 1; }
	va=$(dev_field 0 version)
	vb=$(dev_field 1 version)
	[ $((vb >> VERSION_EPOCH_SHIFT)) -eq "$eb" ] && [ "$va" -lt "$((eb << VERSION_EPOCH_SHIFT))" ] ||
		{ echo "versions not apart by epoch: A's last $va, B's $vb (epoch $eb)"; return 1; }
	QREP_DEV=/dev/qrep1 reads_return 30 "$a_sum" "not A's flushed write" || return 1
	[ "$(QREP_DEV=/dev/qrep1 block_sum 31)" != "$a_sum" ] ||
		{ echo "B reads A's data back for its own write"; return 1; }
	qrepctl verify -c "$TAKEOVER_CONF" || { echo "verify found copies that differ"; return 1; }
	qrepctl down -c "$QREP_CONF" && qrepctl down -c "$TAKEOVER_CONF" &&
		stores_identical
}

# --- quorum mode: term reconciliation (scenario 5) --------------------------

# Reads of each orphan block at each step: with R=2 of 3, a read asks
# two replicas, so one in two reads would ask c if it were allowed to.
ORPHAN_READS=12

# reads_never BLOCK WANT BAD WHAT: ORPHAN_READS reads of BLOCK all return
# WANT; one returning BAD (the deposed primary's write) says so.
reads_never()
{
	local i got
	for i in $(seq 1 $ORPHAN_READS); do
		got=$(block_sum "$1")
		[ "$got" = "$3" ] && { echo "read $i of block $1 returned $4"; return 1; }
		[ "$got" = "$2" ] || { echo "read $i of block $1 returned neither the truth nor $4"; return 1; }
	done
}

# orphans_read_as_truth WHEN: the two orphan blocks read back as the new
# epoch's truth, never as P's writes.
orphans_read_as_truth()
{
	reads_never $ORPHAN_W "$W_WANT" "$W_BAD" "P's write of an older epoch ($1)" &&
		reads_never $ORPHAN_Z "$Z_WANT" "$Z_BAD" "P's write of an older epoch over a block never written ($1)"
}

# Scenario 5 (issue 14): partition {P, c} | {Q, a, b}. P, primary at
# epoch E, writes block ORPHAN_W (written and acknowledged at E before)
# and block ORPHAN_Z (never written) while a and b do not answer: c
# applies both, a and b are failed, the writes fail (on-no-quorum error),
# never acknowledged. P goes; Q comes up on a and b (c is down) at epoch
# E+1 and writes another block. c comes back: until its resync has rolled
# P's writes back it must lend them to no read, and afterwards it holds
# Q's truth - although P's versions are higher than anything a and b
# hold for those blocks.
deposed_primary_writes_rolled_back()
{
	local q=50
	ORPHAN_W=30 ORPHAN_Z=40
	write_block $ORPHAN_W 1 && sync /dev/qrep0 || { echo "the first write failed"; return 1; }
	W_WANT=$(block_sum $ORPHAN_W)
	Z_WANT=$(block_sum $ORPHAN_Z)
	# The partition: a and b stop answering; P's writes reach c only
	# (they are killed before they read them).
	target_stop 0 && target_stop 1 || return 1
	write_block $ORPHAN_W 7 && { echo "P's write to c alone was acknowledged"; return 1; }
	write_block $ORPHAN_Z 7 && { echo "P's second write to c alone was acknowledged"; return 1; }
	replica_in a failed && replica_in b failed ||
		{ echo "a and b were not failed"; qrepctl status 0; return 1; }
	W_BAD=$(head -c 4096 /dev/zero | tr '\0' '\007' | sha256sum)
	Z_BAD=$W_BAD
	qrepctl down -c "$QREP_CONF" || return 1
	# Q: a and b answer again, c is down; up takes epoch E+1 on a and b.
	# a and b restart: P's writes still in their sockets never arrive.
	target_kill 2 && target_kill 0 && target_kill 1 || return 1
	target_start 0 && target_start 1 || return 1
	qrepctl up -c "$QREP_CONF" || return 1
	orphans_read_as_truth "before c is back" || return 1
	write_block $q 8 && sync /dev/qrep0 || { echo "Q's write failed"; return 1; }
	# c comes back, not yet resynced: it must not serve P's writes.
	target_start 2 || return 1
	qrepctl reconnect --no-resync -c "$QREP_CONF" c || return 1
	replica_in c stale || { echo "c is not stale"; qrepctl status 0; return 1; }
	orphans_read_as_truth "c back, not resynced" || return 1
	qrepctl resync -c "$QREP_CONF" || return 1
	replica_in c up-to-date || { echo "c not resynced"; qrepctl status 0; return 1; }
	orphans_read_as_truth "c resynced" || return 1
	qrepctl verify -c "$QREP_CONF" || { echo "verify found copies that differ"; return 1; }
	# c's store holds Q's truth: every block at a's and b's version and data.
	qrepctl down -c "$QREP_CONF" && stores_identical
}

QO_DESC="quorum: a deposed primary's writes of an older epoch, on one target only, are rolled back when it rejoins and never read"

# replica_unreconciled NAME: qrepctl status says replica NAME is
# unreconciled (the line under its own).
replica_unreconciled()
{
	qrepctl status 0 | awk -v n="$1" '
		$1 == "replica" { mine = ($3 ~ "^" n "@") }
		mine && $1 == "unreconciled:" { found = 1 }
		END { exit !found }'
}

# unreconciled_count: how many replicas qrepctl status --json calls so.
unreconciled_count() { qrepctl status --json 0 | grep -o '"unreconciled":true' | wc -l; }

# Scenario 5's resync sources (issue 14; the data-plane simulation's
# seed 0x2a and row 9). a misses Y (block 60), which b and c
# acknowledge. Then the partition {P, c} | {Q, a, b}: P's write Z (block
# ORPHAN_Z, never written) reaches c only and fails. Q comes up at E+1
# on a and b with --no-resync: a is behind (it lacks Y) and stale, but
# one of the replicas the device starts with, so reads ask it. Q writes
# (block 50, no flush: a stale replica is no holder for it). c comes
# back, unreconciled (status says so). Then the resync of a, then of c:
# a's must not take c as a source, or Z, the newest version of its block
# there, is copied to a as an ordinary write, and reads through a return
# it. Before the fix they did.
resync_takes_no_unreconciled_source()
{
	local y=60 y_want
	ORPHAN_Z=40
	write_block 30 1 && sync /dev/qrep0 || { echo "the first write failed"; return 1; }
	Z_WANT=$(block_sum $ORPHAN_Z)
	target_kill 0 || return 1
	wait_for "$FAIL_WAIT_SEC" replica_in a failed || { echo "a not failed"; qrepctl status 0; return 1; }
	write_block $y 2 && sync /dev/qrep0 || { echo "Y on b and c failed"; return 1; }
	y_want=$(block_sum $y)
	# The partition: b stops answering; P's write reaches c only.
	target_stop 1 || return 1
	write_block $ORPHAN_Z 7 && { echo "P's write to c alone was acknowledged"; return 1; }
	Z_BAD=$(pattern_sum 7)
	qrepctl down -c "$QREP_CONF" || return 1
	# Q: a and b, c down; P's write still in b's socket never arrives.
	target_kill 1 && target_kill 2 || return 1
	target_start 0 && target_start 1 || return 1
	up_no_resync "a and b" || return 1
	replica_in a stale && replica_in b up-to-date ||
		{ echo "up did not find a behind b"; qrepctl status 0; return 1; }
	reads_never $ORPHAN_Z "$Z_WANT" "$Z_BAD" "P's write (c down)" || return 1
	write_block 50 8 || { echo "Q's write failed"; return 1; }
	target_start 2 || return 1
	qrepctl reconnect --no-resync -c "$QREP_CONF" c || return 1
	replica_in c stale || { echo "c is not stale"; qrepctl status 0; return 1; }
	replica_unreconciled c && ! replica_unreconciled a && [ "$(unreconciled_count)" = 1 ] ||
		{ echo "status does not show c, and c alone, unreconciled"; qrepctl status 0; return 1; }
	reads_never $ORPHAN_Z "$Z_WANT" "$Z_BAD" "P's write (c back, unreconciled)" || return 1
	qrepctl resync -c "$QREP_CONF" || return 1
	replica_in a up-to-date && replica_in c up-to-date ||
		{ echo "a or c not resynced"; qrepctl status 0; return 1; }
	[ "$(unreconciled_count)" = 0 ] || { echo "a replica is unreconciled after its resync"; return 1; }
	reads_never $ORPHAN_Z "$Z_WANT" "$Z_BAD" "P's write, copied by a resync from unreconciled c" ||
		return 1
	reads_return $y "$y_want" "Y's predecessor" || return 1
	qrepctl verify -c "$QREP_CONF" || { echo "verify found copies that differ"; return 1; }
	qrepctl down -c "$QREP_CONF" && stores_identical
}

QU_DESC="quorum: a resync takes no unreconciled replica as a source; a deposed primary's write on one is not copied to a replica behind"

# Scenario 5, a replica that joins a slot up left empty (issue 14; the
# data-plane simulation's row 10). X (block 30) is on all three. The
# partition {P, c} | {Q, a, b}: P's write Z (block ORPHAN_Z, never
# written) reaches c only and fails. Q comes up at E+1 on a and b alone:
# c's slot stays empty. Q serves reads of Z's block (the truth: never
# written) and writes nothing. c is reconnected: its highest version, Z's,
# is above every version the device has seen, and before the fix the
# kernel took it as up to date for that (no write yet), made a and b
# stale, and reads returned Z. Now c joins stale and unreconciled, a and
# b stay up to date, and no read returns Z, before c's resync rolls it
# back or after.
join_empty_slot_after_reads()
{
	local x=30 x_want
	ORPHAN_Z=40
	write_block $x 1 && sync /dev/qrep0 || { echo "the first write failed"; return 1; }
	x_want=$(block_sum $x)
	Z_WANT=$(block_sum $ORPHAN_Z)
	# The partition: a and b stop answering; P's write reaches c only.
	target_stop 0 && target_stop 1 || return 1
	write_block $ORPHAN_Z 7 && { echo "P's write to c alone was acknowledged"; return 1; }
	Z_BAD=$(pattern_sum 7)
	qrepctl down -c "$QREP_CONF" || return 1
	# Q: a and b, c down; P's write still in their sockets never arrives.
	target_kill 2 && target_kill 0 && target_kill 1 || return 1
	target_start 0 && target_start 1 || return 1
	qrepctl up -c "$QREP_CONF" || return 1
	replica_in a up-to-date && replica_in b up-to-date ||
		{ echo "up did not start with a and b up to date"; qrepctl status 0; return 1; }
	reads_never $ORPHAN_Z "$Z_WANT" "$Z_BAD" "P's write (c down)" || return 1
	reads_return $x "$x_want" "X's predecessor (c down)" || return 1
	# c comes back to the slot up left empty; the device has read, not written.
	target_start 2 || return 1
	qrepctl reconnect --no-resync -c "$QREP_CONF" c || return 1
	reads_never $ORPHAN_Z "$Z_WANT" "$Z_BAD" "P's write (c back, not resynced)" ||
		{ qrepctl status 0; return 1; }
	replica_in c stale && replica_in a up-to-date && replica_in b up-to-date ||
		{ echo "c did not join stale beside a and b up to date"; qrepctl status 0; return 1; }
	replica_unreconciled c && [ "$(unreconciled_count)" = 1 ] ||
		{ echo "status does not show c, and c alone, unreconciled"; qrepctl status 0; return 1; }
	qrepctl resync -c "$QREP_CONF" || return 1
	replica_in c up-to-date || { echo "c not resynced"; qrepctl status 0; return 1; }
	[ "$(unreconciled_count)" = 0 ] || { echo "c is unreconciled after its resync"; return 1; }
	reads_never $ORPHAN_Z "$Z_WANT" "$Z_BAD" "P's write (c resynced)" || return 1
	reads_return $x "$x_want" "X's predecessor" || return 1
	qrepctl verify -c "$QREP_CONF" || { echo "verify found copies that differ"; return 1; }
	qrepctl down -c "$QREP_CONF" && stores_identical
}

QJ_DESC="quorum: a replica joining a slot up left empty after reads holds a deposed primary's write; it joins unreconciled and the write is never read"

# --- quorum mode: reads of a write that never completed (scenario 10) ------

# How long a write may take to reach a running target's store.
WRITE_WAIT_SEC=30

# store_block_is I BLOCK BYTE: block BLOCK of target I's store is BYTE
# repeated (read from the store file, beside the running target).
store_block_is()
{
	local data
	data=$(store_area "$1" data) && [ -n "$data" ] || return 1
	[ "$(dd if="$(target_store "$1")" bs=4096 skip=$((data / 4096 + $2)) count=1 status=none |
		sha256sum)" = "$(pattern_sum "$3")" ]
}

# write_bg BLOCK BYTE: write_block in the background; its exit status
# goes to /tmp/write.rc when it ends.
write_bg()
{
	rm -f /tmp/write.rc
	( write_block "$1" "$2"; echo $? >/tmp/write.rc.tmp; mv /tmp/write.rc.tmp /tmp/write.rc ) \
		>/tmp/write.out 2>&1 </dev/null &
}
write_done() { [ -s /tmp/write.rc ]; }

# up_no_resync WHAT: qrepctl up as after the primary's crash, stale
# replicas left stale (a resync not yet under way).
up_no_resync()
{
	qrepctl up --no-resync -c "$QREP_CONF" || { echo "up failed ($1)"; return 1; }
}

# Scenario 10 (issue 14), N=3, W=R=2, on-no-quorum error. X (block 30)
# is sent while b and c are stopped, and they are killed before they read
# it: X reaches a alone and fails, never acknowledged. The primary
# crashes (the device goes: qrepctl down), and the device comes back with
# up on all three, --no-resync: a holds X, b and c are stale without it,
# and all three, the replicas the device starts with, lend their versions
# to reads. The first read (its data from a, the one up-to-date replica)
# returns X. Then a is lost: every read quorum is {b, c}, and every read
# must still return X (a disk's contents do not go new, old after a
# crash). Before the fix, the first read without a returned the data from
# before X. Then the device crashes again and comes up on b and c alone:
# X still; a comes back, is resynced, and the stores end identical.
unacked_write_reads_stable()
{
	local x=30 want old
	write_block $x 7 && sync /dev/qrep0 || { echo "the first write failed"; return 1; }
	old=$(pattern_sum 7)
	want=$(pattern_sum 8)
	target_stop 1 && target_stop 2 || return 1
	write_bg $x 8
	wait_for "$WRITE_WAIT_SEC" store_block_is 0 $x 8 ||
		{ echo "X did not reach a"; return 1; }
	target_kill 1 && target_kill 2 || return 1
	wait_for "$FLUSH_DEADLINE_SEC" write_done ||
		{ echo "the write of X neither completed nor failed"; qrepctl status 0; return 1; }
	[ "$(cat /tmp/write.rc)" != 0 ] ||
		{ echo "X was acknowledged though it reached a alone"; return 1; }
	# The primary crashes; b and c come back (their machines rebooted).
	qrepctl down -c "$QREP_CONF" || return 1
	target_start 1 && target_start 2 || return 1
	up_no_resync "a, b and c" || return 1
	replica_in a up-to-date && replica_in b stale && replica_in c stale ||
		{ echo "up did not find b and c behind a"; qrepctl status 0; return 1; }
	[ "$(block_sum $x)" = "$want" ] || { echo "the first read did not return X"; return 1; }
	# Lose a: from now on every read quorum is {b, c}.
	target_kill 0 || return 1
	wait_for "$FAIL_WAIT_SEC" replica_in a failed || { echo "a not failed"; qrepctl status 0; return 1; }
	reads_never $x "$want" "$old" "the data from before X, after X had been read (a lost)" ||
		return 1
	# Another crash; the device comes up on b and c alone.
	qrepctl down -c "$QREP_CONF" || return 1
	up_no_resync "b and c, a down" || return 1
	reads_never $x "$want" "$old" "the data from before X, after a crash, on b and c" ||
		return 1
	target_start 0 || return 1
	qrepctl reconnect -c "$QREP_CONF" a || return 1
	qrepctl resync -c "$QREP_CONF" || return 1
	replica_in a up-to-date && replica_in b up-to-date && replica_in c up-to-date ||
		{ echo "not every replica is up to date"; qrepctl status 0; return 1; }
	reads_never $x "$want" "$old" "the data from before X, every replica back" || return 1
	qrepctl verify -c "$QREP_CONF" || { echo "verify found copies that differ"; return 1; }
	qrepctl down -c "$QREP_CONF" && stores_identical
}

QR_DESC="quorum: a write that reached one replica and failed, once read after a crash, reads back the same without that replica"

ktap_plan 10
qrep_load
if ! targets_setup 2 $SIZE 10s || ! qrepctl up -c "$QREP_CONF"; then
	ktap_diag "could not start the targets and the device"
	ktap_finish
fi
ktap_test "mirror: a replica that lost an acknowledged, unflushed write is resynced, reads never go back" \
	lost_unflushed_write_resynced
ktap_test "mirror: the primary crashes mid-resync; up finds the replica behind at an equal highest version, by region" \
	crash_mid_resync_stale_found_by_regions
ktap_test "mirror: each replica lacks a write the other holds; up fills one before the device starts" \
	each_lacks_something_one_filled
targets_teardown

if targets_setup 3 $QUORUM_SIZE "${QUORUM_IO_TIMEOUT_SEC}s" && quorum_up suspend; then
	ktap_test "$QS_DESC" quorum_flush_held_until_resynced
else
	ktap_diag "could not start the quorum device (suspend)"
	ktap_report "$QS_DESC" 1
fi
# Whatever the case before left: b answering, the device down.
target_cont 1 2>/dev/null
qrepctl down -c "$QREP_CONF" >/dev/null 2>&1
if quorum_up error; then
	ktap_test "$QE_DESC" quorum_flush_fails_eio
else
	ktap_diag "could not start the quorum device (error)"
	ktap_report "$QE_DESC" 1
fi
targets_teardown

TO_DESC="mirror: a second device's up takes over the targets; the old primary is fenced, no version is stamped by both"
if targets_setup 3 $QUORUM_SIZE "${QUORUM_IO_TIMEOUT_SEC}s" && qrepctl up -c "$QREP_CONF"; then
	ktap_test "$TO_DESC" takeover_fences_the_old_primary
else
	ktap_diag "could not start the targets and the device (takeover)"
	ktap_report "$TO_DESC" 1
fi
qrepctl down -c "$TAKEOVER_CONF" >/dev/null 2>&1
targets_teardown

if targets_setup 3 $QUORUM_SIZE "${QUORUM_IO_TIMEOUT_SEC}s" && quorum_up error; then
	ktap_test "$QO_DESC" deposed_primary_writes_rolled_back
else
	ktap_diag "could not start the quorum device (term reconciliation)"
	ktap_report "$QO_DESC" 1
fi
# Whatever the case left: every target answering.
target_cont 0 2>/dev/null
target_cont 1 2>/dev/null
qrepctl down -c "$QREP_CONF" >/dev/null 2>&1
targets_teardown

if targets_setup 3 $QUORUM_SIZE "${QUORUM_IO_TIMEOUT_SEC}s" && quorum_up error; then
	ktap_test "$QR_DESC" unacked_write_reads_stable
else
	ktap_diag "could not start the quorum device (unacknowledged write)"
	ktap_report "$QR_DESC" 1
fi
# Whatever the case left: every target answering.
target_cont 1 2>/dev/null
target_cont 2 2>/dev/null
qrepctl down -c "$QREP_CONF" >/dev/null 2>&1
targets_teardown

if targets_setup 3 $QUORUM_SIZE "${QUORUM_IO_TIMEOUT_SEC}s" && quorum_up error; then
	ktap_test "$QU_DESC" resync_takes_no_unreconciled_source
else
	ktap_diag "could not start the quorum device (resync sources)"
	ktap_report "$QU_DESC" 1
fi
# Whatever the case left: every target answering.
target_cont 1 2>/dev/null
qrepctl down -c "$QREP_CONF" >/dev/null 2>&1
targets_teardown

if targets_setup 3 $QUORUM_SIZE "${QUORUM_IO_TIMEOUT_SEC}s" && quorum_up error; then
	ktap_test "$QJ_DESC" join_empty_slot_after_reads
else
	ktap_diag "could not start the quorum device (a join to an empty slot)"
	ktap_report "$QJ_DESC" 1
fi
# Whatever the case left: every target answering.
target_cont 0 2>/dev/null
target_cont 1 2>/dev/null
qrepctl down -c "$QREP_CONF" >/dev/null 2>&1
targets_teardown
ktap_finish
