#!/bin/bash
# make fuzz: run every harness (or those named) for a bounded time, each
# on its own corpus in build/fuzz/corpus/NAME (seeded from the tree's
# selftests/fuzz/corpus/NAME, kept and grown from run to run), and report
# the inputs executed per harness.
#
#   selftests/fuzz/run.sh [--seconds N] [--jobs N] [NAME...]
#
# --seconds: per harness (FUZZ_SECONDS, default 60); --jobs: harnesses run
# at once (FUZZ_JOBS, default 1). Crashes, leaks and hangs are written to
# build/fuzz/crashes/NAME/, libFuzzer's output to build/fuzz/logs/NAME.log.
# Exit status: 0 if no harness failed.
set -uo pipefail

QREP_ROOT=${QREP_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
QREP_BUILD=${QREP_BUILD:-$QREP_ROOT/build}
. "$QREP_ROOT/selftests/fuzz/lib.sh"

seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
names=()
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds=$2; shift ;;
	--jobs) jobs=$2; shift ;;
	-*) echo "usage: $0 [--seconds N] [--jobs N] [NAME...]" >&2; exit 2 ;;
	*) names+=("$1") ;;
	esac
	shift
done
[ ${#names[@]} -gt 0 ] || mapfile -t names < <(fuzz_harnesses)

for n in "${names[@]}"; do
	if [ ! -x "$FUZZ_BIN/fuzz_$n" ]; then
		echo "fuzz: $FUZZ_BIN/fuzz_$n is missing: make fuzz-build" >&2
		exit 2
	fi
done

mkdir -p "$FUZZ_BIN/logs"
run_one()
{
	local n=$1 rc

	fuzz_seed_corpus "$n" "$FUZZ_BIN/corpus/$n"
	fuzz_run "$n" "$seconds" "$FUZZ_BIN/corpus/$n" \
		"$FUZZ_BIN/crashes/$n" "$FUZZ_BIN/logs/$n.log"
	rc=$?
	echo "$rc" >"$FUZZ_BIN/logs/$n.rc"
}

echo "fuzz: ${#names[@]} harnesses, $seconds s each, $jobs at a time"
running=0
for n in "${names[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_one "$n" &
	running=$((running + 1))
done
wait

failed=0
printf '%-14s %12s %10s %8s  %s\n' harness executions "per second" corpus result
for n in "${names[@]}"; do
	log=$FUZZ_BIN/logs/$n.log
	rc=$(cat "$FUZZ_BIN/logs/$n.rc" 2>/dev/null || echo 1)
	execs=$(fuzz_execs "$log")
	ncorpus=$(find "$FUZZ_BIN/corpus/$n" -type f | wc -l)
	result=ok
	if [ "$rc" -ne 0 ]; then
		result="FAILED (status $rc; see $log and $FUZZ_BIN/crashes/$n/)"
		failed=1
	fi
	printf '%-14s %12s %10s %8s  %s\n' "$n" "$execs" \
		"$((execs / (seconds > 0 ? seconds : 1)))" "$ncorpus" "$result"
done
exit "$failed"
