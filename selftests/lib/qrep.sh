#!/bin/bash
# Helpers for selftests that run inside a VM (see qemu/run-vm).
# QREP_ROOT, QREP_BUILD and KVER come from the harness.

: "${QREP_ROOT:?run this inside the VM harness (qemu/run-vm)}"
: "${QREP_BUILD:=$QREP_ROOT/build}"
: "${KVER:=$(uname -r)}"
QREP_KO=$QREP_BUILD/kmod/$KVER/drivers/block/qrep/qrep.ko
export PATH="$QREP_BUILD/bin:$PATH"

qrep_load()
{
	lsmod | grep -q '^qrep ' || insmod "$QREP_KO"
}

# The kernel's own module loading runs in the initramfs root, which has no
# modules: load what a test needs (e.g. ext4) from the shared root first.
need_modules()
{
	modprobe -a "$@"
}

qrep_unload()
{
	! lsmod | grep -q '^qrep ' || rmmod qrep
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for()
{
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# Single 4 KiB blocks of a qrep device: $QREP_DEV, /dev/qrep0 unless set.
# write_block BLOCK BYTE: one O_DIRECT write of BYTE repeated, no flush:
# acknowledged by every live replica, durable on none yet.
write_block()
{
	head -c 4096 /dev/zero | tr '\0' "\\$(printf '%03o' "$2")" |
		dd of="${QREP_DEV:-/dev/qrep0}" bs=4096 seek="$1" oflag=direct status=none
}

# block_sum BLOCK: the sha256 of what an O_DIRECT read of BLOCK returns.
block_sum() { dd if="${QREP_DEV:-/dev/qrep0}" bs=4096 skip="$1" count=1 iflag=direct status=none | sha256sum; }

# pattern_sum BYTE: the sha256 of a block of BYTE repeated.
pattern_sum() { head -c 4096 /dev/zero | tr '\0' "\\$(printf '%03o' "$1")" | sha256sum; }

# reads_return BLOCK SUM WHAT: $READS reads of BLOCK (the test sets how
# many) all return SUM; one that does not returned WHAT, said so.
reads_return()
{
	local i
	for i in $(seq 1 "${READS:?the test sets READS}"); do
		[ "$(block_sum "$1")" = "$2" ] ||
			{ echo "read $i of block $1 returned $3"; return 1; }
	done
}

# qrep_dev_state: what /dev/qrep0 is to a writer on this node: absent,
# writable, secondary (the open is refused with "wrong medium type": in
# a cluster another node is the primary), or unusable (WHY). Opened with
# a redirection in a subshell, no program started: cheap to poll.
qrep_dev_state()
{
	local err
	if [ ! -b /dev/qrep0 ]; then
		echo absent
	elif err=$( { exec 3<>/dev/qrep0; } 2>&1); then
		echo writable
	elif [[ $err == *"Wrong medium type"* ]]; then
		echo secondary
	else
		echo "unusable (${err##*: })"
	fi
}

# bg NAME CMD...: CMD in the background; its output goes to /tmp/NAME.out
# and, when it ends, its exit status to /tmp/NAME.rc. (Nothing of it may
# keep ktap_test's output pipe open.) bg_done NAME: it has ended; bg_rc
# NAME: its exit status.
bg()
{
	local name=$1
	shift
	rm -f "/tmp/$name.rc" "/tmp/$name.out"
	( "$@"; echo $? >"/tmp/$name.rc.tmp"; mv "/tmp/$name.rc.tmp" "/tmp/$name.rc" ) \
		>"/tmp/$name.out" 2>&1 </dev/null &
}
bg_done() { [ -s "/tmp/$1.rc" ]; }
bg_rc() { cat "/tmp/$1.rc"; }
