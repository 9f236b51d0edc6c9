#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Self-test of the VM harness (qemu/run-vm and its kernel log scan) and of
# the test runner's rules (selftests/run). Runs on the host and starts the
# VMs itself; prints KTAP and exits 0 iff all cases pass.
#
#   1 a trivial command succeeds and its output reaches the host
#   2 a command's exit status (3) comes back as run-vm's
#   3 a module that WARNs fails the run (status 125), the warning shown
#   4 a command that never ends is killed at --timeout (status 124)
#   5 --interactive runs a scripted session and ends
#   6 the kernel log patterns catch each kind of report, and not a clean
#     boot (no VM: sample lines)
#   7-11 selftests/run, on tests planted in selftests/harness/planted/
#     (no VM, a second or two): it fails a test whose plan and results
#     differ, a skip that its allow-list does not allow with that reason,
#     a case whose failed assertion was swallowed, and a failed assertion
#     after the last case; it passes a test that keeps the rules and an
#     allowed skip.
#  12 selftests/run fails a test named for a kernel series that is not
#     installed, and a host test named for one, saying why (no VM).
#
# Cases 1-5 each boot a VM. Case 4 idles for most of its 30 s, so it runs
# alongside the others, which go two at a time (one per core).

set -euo pipefail

ROOT=$(cd -P "$(dirname "$0")/../.." && pwd)
# shellcheck source=selftests/lib/ktap.sh
. "$ROOT/selftests/lib/ktap.sh"
# shellcheck source=qemu/lib.sh
. "$ROOT/qemu/lib.sh"

RUN_VM=$ROOT/qemu/run-vm
HANG_TIMEOUT=30		# case 4: run-vm --timeout
HANG_LIMIT=40		# case 4: run-vm must have returned by then
VM_TIMEOUT=300		# every other case: a backstop, never reached
KVER=${KVER:-$(qrep_vm_default_kver)}
export KVER
WARN_KO=$QREP_BUILD/harness-kmod/$KVER/qrep_warn_test.ko

PLANTED=$ROOT/selftests/harness/planted
CASES=12

ktap_plan "$CASES"
for tool in "$QREP_QEMU" vde_switch; do
	if ! command -v "$tool" >/dev/null; then
		for ((i = 1; i <= CASES; i++)); do
			ktap_skip "harness case $i" "no $tool (make deps)"
		done
		exit 4
	fi
done

mkdir -p "$QREP_VM_DIR"
WORK=$(mktemp -d "$QREP_VM_DIR/harness-selftest.XXXXXX")
pids=() hang_pid=""
# On an early exit, stop the cases still running: each is a subshell
# waiting for a run-vm, which kills its VM when terminated.
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	local pid

	for pid in "${pids[@]}" ${hang_pid:+"$hang_pid"}; do
		pkill -TERM -P "$pid" 2>/dev/null || true
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}
trap cleanup EXIT
# A signal ends the test through the EXIT trap too.
trap 'exit 130' INT
trap 'exit 143' TERM
ktap_diag "logs in $WORK"

# case NAME CMD...: run CMD in the background, its stdout in NAME.out,
# stderr in NAME.err, exit status in NAME.rc, seconds taken in NAME.time.
case_start() {
	local name=$1
	shift
	(
		start=$SECONDS
		rc=0
		"$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
		echo "$rc" >"$WORK/$name.rc"
		echo $((SECONDS - start)) >"$WORK/$name.time"
	) &
	pids+=("$!")
}

case_wait() {
	wait "${pids[@]}" 2>/dev/null || true
	pids=()
}

rc_of() {
	cat "$WORK/$1.rc"
}

# show NAME: the case's output as diagnostics, for a failing case.
show() {
	ktap_diag "exit status $(rc_of "$1") after $(cat "$WORK/$1.time") s; stdout:"
	sed 's/^/#   /' "$WORK/$1.out"
	ktap_diag "stderr:"
	sed 's/^/#   /' "$WORK/$1.err"
}

# The hanging VM first: it sleeps in the background of everything else.
case_start hang "$RUN_VM" --timeout "$HANG_TIMEOUT" --log-dir "$WORK/hang.vm" \
	-- sleep infinity
hang_pid=${pids[0]}
pids=()

# shellcheck disable=SC2016 # expanded in the guest
case_start hello "$RUN_VM" --timeout "$VM_TIMEOUT" --log-dir "$WORK/hello.vm" \
	-- bash -c 'echo "harness-selftest: hello from $(uname -r), QREP_VM=$QREP_VM"'
case_start status "$RUN_VM" --timeout "$VM_TIMEOUT" --log-dir "$WORK/status.vm" \
	-- bash -c 'echo "exiting with 3"; exit 3'
case_wait

if [ -f "$WARN_KO" ]; then
	case_start warn "$RUN_VM" --timeout "$VM_TIMEOUT" --log-dir "$WORK/warn.vm" \
		-- bash -c "insmod '$WARN_KO' && rmmod qrep_warn_test"
fi
# shellcheck disable=SC2016,SC2317 # expanded in the guest; run by case_start
interactive_session() {
	printf '%s\n' 'echo "interactive: $QREP_VM $(hostname)"' 'exit 0' |
		"$RUN_VM" --interactive --timeout "$VM_TIMEOUT" --log-dir "$WORK/interactive.vm"
}
case_start interactive interactive_session
case_wait
pids=("$hang_pid")
case_wait
hang_pid=""

# 1
expect="harness-selftest: hello from $KVER, QREP_VM=1"
if [ "$(rc_of hello)" = 0 ] && grep -qxF "$expect" "$WORK/hello.out" &&
	grep -qxF "$expect" "$WORK/hello.vm/output.log"; then
	ktap_diag "case 1 took $(cat "$WORK/hello.time") s, sharing the CPUs with other cases"
	ktap_report "trivial command succeeds, its output reaches the host" 0
else
	show hello
	ktap_report "trivial command succeeds, its output reaches the host" 1
fi

# 2
if [ "$(rc_of status)" = 3 ] && grep -qxF "exiting with 3" "$WORK/status.out"; then
	ktap_report "command exit status 3 is run-vm's" 0
else
	show status
	ktap_report "command exit status 3 is run-vm's" 1
fi

# 3: the failure is the expected result.
if [ ! -f "$WARN_KO" ]; then
	# make check builds it: missing, the set-up is broken.
	ktap_diag "no $WARN_KO (make harness-module)"
	ktap_report "a WARN in the guest fails the run" 1
elif [ "$(rc_of warn)" = 125 ] &&
	grep -q '^run-vm: kernel log shows a problem:' "$WORK/warn.err" &&
	grep -q 'WARNING: .*qrep_warn_test' "$WORK/warn.err"; then
	ktap_report "a WARN in the guest fails the run" 0
else
	show warn
	ktap_report "a WARN in the guest fails the run" 1
fi

# 4
if [ "$(rc_of hang)" = 124 ] && [ "$(cat "$WORK/hang.time")" -le "$HANG_LIMIT" ] &&
	grep -q "^run-vm: TIMEOUT after $HANG_TIMEOUT s" "$WORK/hang.err"; then
	ktap_diag "the hanging VM was killed after $(cat "$WORK/hang.time") s"
	ktap_report "a hanging command is killed at --timeout" 0
else
	show hang
	ktap_report "a hanging command is killed at --timeout" 1
fi

# 5
if [ "$(rc_of interactive)" = 0 ] &&
	tr -d '\r' <"$WORK/interactive.out" | grep -qx 'interactive: 1 qrep-vm' &&
	grep -q "^qrep-vm: .*leave with" "$WORK/interactive.out"; then
	ktap_report "interactive mode runs scripted input and ends" 0
else
	show interactive
	ktap_report "interactive mode runs scripted input and ends" 1
fi

# 6: one row per kind of report; "-" rows must not match.
log_rows=(
	"+ [   12.345678] BUG: kernel NULL pointer dereference, address: 0000000000000008"
	"+ [    3.000000] kernel BUG at drivers/block/qrep/request.c:42!"
	"+ [    4.100000] BUG kmalloc-64 (Not tainted): Redzone overwritten"
	"+ [    4.100000] BUG qrep_req (Tainted: G           OE     ): Poison overwritten"
	"+ [    4.200000] INFO: 0xffff888003ab1234-0xffff888003ab1237 @offset=52. First byte 0x0 instead of 0x6b; Object padding overwritten"
	"+ [    5.000000] WARNING: CPU: 0 PID: 77 at drivers/block/qrep/main.c:10 qrep_init+0x11/0x20 [qrep]"
	"+ [    6.000000] Oops: 0002 [#1] PREEMPT SMP NOPTI"
	"+ [    6.000000] general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP NOPTI"
	"+ [    7.000000] Kernel panic - not syncing: Fatal exception"
	"+ [  123.000000] INFO: task kworker/0:1:23 blocked for more than 61 seconds."
	"+ [   30.000000] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:"
	"+ [   30.000000] rcu: INFO: rcu_preempt self-detected stall on CPU"
	"+ [   40.000000] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [fio:123]"
	"+ [    8.000000] UBSAN: array-index-out-of-bounds in drivers/block/qrep/request.c:99:5"
	"+ [    8.000000] BUG: KASAN: slab-use-after-free in qrep_req_free+0x10/0x20 [qrep]"
	"+ [    9.000000] list_add corruption. prev->next should be next (ffff888004f0c000), but was 0000000000000000."
	"+ [    8.000000] BUG: KFENCE: out-of-bounds read in qrep_recv_reply+0x51/0x90 [qrep]"
	"+ [    8.000000] UBSAN: shift-out-of-bounds in drivers/block/qrep/bitmap.c:12:20"
	"+ [   10.000000] WARNING: possible circular locking dependency detected"
	"+ [   10.000000] possible circular locking dependency detected"
	"+ [   10.000000] WARNING: possible recursive locking detected"
	"+ [   10.000000] possible recursive locking detected"
	"+ [   10.000000] WARNING: inconsistent lock state"
	"+ [   10.000000] WARNING: possible irq lock inversion dependency detected"
	"+ [   10.000000] WARNING: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected"
	"+ [   10.000000] WARNING: suspicious RCU usage"
	"+ [   10.000000] WARNING: lock held when returning to user space!"
	"+ [   11.000000] BUG: sleeping function called from invalid context at mm/slub.c:4095"
	"+ [   11.000000] BUG: scheduling while atomic: kworker/1:2/88/0x00000002"
	"+ [   12.000000] ODEBUG: free active (active state 0) object: ffff888006cd1e10 object type: timer_list hint: qrep_timeout+0x0/0x40 [qrep]"
	"+ unreferenced object 0xffff888005a2c400 (size 192):"
	"+ [    0.500000] kmemleak: Kernel memory leak detector disabled"
	"+ [   14.000000] turning off the locking correctness validator."
	"- [    0.000000] kasan: KernelAddressSanitizer initialized"
	"- [    0.000000] kfence: initialized - using 2097152 bytes for 255 objects at 0x(____ptrval____)-0x(____ptrval____)"
	"- [    0.400000] kmemleak: Kernel memory leak detector initialized (mem pool available: 15717)"
	"- [    0.010000] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar"
	"- [    0.010000]  per task-struct memory footprint: 1920 bytes"
	"- qrep-guest: kmemleak: no leaks"
	"- [    9.000000] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)"
	"- [    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)"
	"- [    4.000000] qrep: loading out-of-tree module taints kernel."
	"- [    1.000000] clocksource: tsc: mask: 0xffffffffffffffff max_cycles: 0x233fc5d459f"
	"- === qrep cluster: node3 boot 2 ==="
)
bad=0
for ((i = 0; i < ${#log_rows[@]}; i++)); do
	row=${log_rows[i]}
	printf '%s\n' "${row:2}" >"$WORK/row.log"
	if qrep_vm_log_scan "$WORK/row.log" >/dev/null; then found=-; else found=+; fi
	if [ "$found" != "${row:0:1}" ]; then
		ktap_diag "row $((i + 1)): expected '${row:0:1}' (+ problem, - clean), got '$found': ${row:2}"
		bad=1
	fi
done
# A whole clean boot, from case 1, must pass too.
if [ -f "$WORK/hello.vm/console.log" ] &&
	! qrep_vm_log_scan "$WORK/hello.vm/console.log" >"$WORK/clean-scan.out"; then
	ktap_diag "the clean boot of case 1 matched:"
	sed 's/^/#   /' "$WORK/clean-scan.out"
	bad=1
fi
# A problem early in a long log (more than a pipe holds), scanned under
# this script's pipefail, is found every time.
{
	echo "[    5.000000] INFO: task dd:2057 blocked for more than 61 seconds."
	for ((i = 0; i < 4000; i++)); do
		echo "[  100.000000] qrep0: write quorum reached, read quorum reached"
	done
} >"$WORK/long.log"
for ((i = 0; i < 10; i++)); do
	if qrep_vm_log_scan "$WORK/long.log" >/dev/null; then
		ktap_diag "scan $((i + 1)) of a long log missed its hung task"
		bad=1
		break
	fi
done
[ "$bad" = 1 ] || ktap_diag "${#log_rows[@]} log rows classified right"
ktap_report "kernel log patterns catch each kind of report" "$bad"

# 7-11: selftests/run on the planted tests, with a build directory of its
# own (no unit tests there; its results) and a TMPDIR: a planted test
# leaves its failed assertion's file behind.
planted_run() {
	local run=$1 rc=0
	shift
	mkdir -p "$WORK/$run.tmp"
	TMPDIR=$WORK/$run.tmp QREP_BUILD=$WORK/$run.build "$ROOT/selftests/run" \
		--tests "$PLANTED/TESTS" --allowed-skips "$PLANTED/ALLOWED_SKIPS" "$@" \
		>"$WORK/$run.out" 2>&1 || rc=$?
	echo "$rc" >"$WORK/$run.rc"
}
planted_run runner-all
planted_run runner-good --only good,allowed-skip

# verdict_is RUN TEST REGEX: RUN's verdict line for TEST matches REGEX
# (after the name), or the line and RUN's output are shown.
verdict_is() {
	local line
	line=$(grep -E "^$2 +(PASS|FAIL|SKIP) " "$WORK/$1.out" || true)
	if [[ ${line#"$2"} =~ ^\ +$3$ ]]; then
		ktap_diag "$line"
		return 0
	fi
	ktap_diag "$2: expected a verdict matching '$3', got '$line'; the runner said:"
	sed 's/^/#   /' "$WORK/$1.out"
	return 1
}

# planted_log RUN TEST: the planted test's own log in RUN.
planted_log() { echo "$WORK/$1.build/test-results/$2.log"; }

# 7
bad=0
verdict_is runner-all short-plan \
	'FAIL  1 passed, 1 failed, 0 skipped, [0-9]+s \(plan 3, 1 result\)' || bad=1
ktap_report "runner: a test whose plan and results differ fails" "$bad"

# 8
bad=0
verdict_is runner-all unexpected-skip \
	'FAIL  1 passed, 1 failed, 0 skipped, [0-9]+s \(skip not allowed: case 2 "no frobnicator here"\)' ||
	bad=1
verdict_is runner-all wrong-reason-skip \
	'FAIL  1 passed, 1 failed, 0 skipped, [0-9]+s \(skip not allowed: case 2 "frobnicator broken"\)' ||
	bad=1
ktap_report "runner: a skip fails unless allowed for its reason" "$bad"

# 9
bad=0
verdict_is runner-all swallowed-in-case 'FAIL  0 passed, 2 failed, 0 skipped, [0-9]+s' || bad=1
for line in 'not ok 1 a case whose failure is swallowed' 'not ok 2 a step whose failure is swallowed'; do
	grep -qxF "$line" "$(planted_log runner-all swallowed-in-case)" ||
		{ ktap_diag "not reported failed: ${line#not ok }"; bad=1; }
done
ktap_report "an assertion failed in a background job fails its case (ktap_test or ktap_step), the case's 0 notwithstanding" "$bad"

# 10
bad=0
verdict_is runner-all swallowed-after-cases \
	'FAIL  1 passed, 1 failed, 0 skipped, [0-9]+s \(a failed assertion, and no failing case\)' ||
	bad=1
ktap_report "runner: a failed assertion that no case took fails the test" "$bad"

# 11
bad=0
verdict_is runner-all good 'PASS  4 passed, 0 failed, 0 skipped, [0-9]+s' || bad=1
verdict_is runner-all allowed-skip 'PASS  1 passed, 0 failed, 1 skipped, [0-9]+s' || bad=1
for run in "runner-all 1 9 passed, 8 failed, 1 skipped" "runner-good 0 5 passed, 0 failed, 1 skipped"; do
	read -r run rc closing <<<"$run"
	if [ "$(rc_of "$run")" != "$rc" ] || [ "$(tail -n 1 "$WORK/$run.out")" != "$closing" ]; then
		ktap_diag "$run: expected status $rc and '$closing' last; got status $(rc_of "$run"):"
		sed 's/^/#   /' "$WORK/$run.out"
		bad=1
	fi
done
ktap_report "runner: a test keeping the rules and an allowed skip pass; the closing line counts" "$bad"

# 12
bad=0
for t in "good@0.0|no kernel of series 0.0 with headers is installed" \
	"good@6.12|a host test runs on no kernel of its own"; do
	IFS='|' read -r name why <<<"$t"
	verdict_is runner-all "$name" 'FAIL  0 passed, 1 failed, 0 skipped, [0-9]+s \(.*\)' || bad=1
	if ! grep -qF "$why" "$(planted_log runner-all "$name")"; then
		ktap_diag "$name: its log does not say '$why'"
		bad=1
	fi
done
ktap_report "runner: a test named for a kernel series it cannot boot fails, saying why" "$bad"

ktap_finish
