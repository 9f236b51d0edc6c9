#!/bin/bash
# fuzz-brief (selftests/TESTS): every fuzzing harness for a few seconds,
# starting from the tree's corpus (so every regression seed is replayed),
# two at a time. One KTAP case per harness; a crash, sanitizer report,
# leak or hang fails it. The corpus grown here is thrown away: it lives in
# build/fuzz/brief/ and the tree's corpus is only read.
#
# FUZZ_BRIEF_SECONDS: per harness (default 10).
set -uo pipefail

QREP_ROOT=${QREP_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
QREP_BUILD=${QREP_BUILD:-$QREP_ROOT/build}
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/fuzz/lib.sh"

seconds=${FUZZ_BRIEF_SECONDS:-10}
work=$FUZZ_BIN/brief
mapfile -t names < <(fuzz_harnesses)

ktap_plan "${#names[@]}"
if ! command -v clang >/dev/null; then
	for n in "${names[@]}"; do
		ktap_skip "fuzz_$n" "clang is not installed (make deps)"
	done
	ktap_finish
fi

rm -rf "$work"
mkdir -p "$work"
brief_one()
{
	local n=$1

	fuzz_seed_corpus "$n" "$work/corpus/$n"
	fuzz_run "$n" "$seconds" "$work/corpus/$n" "$work/crashes/$n" \
		"$work/$n.log"
	echo $? >"$work/$n.rc"
}

running=0
for n in "${names[@]}"; do
	if [ ! -x "$FUZZ_BIN/fuzz_$n" ]; then
		echo 127 >"$work/$n.rc"
		continue
	fi
	if [ "$running" -ge 2 ]; then
		wait -n
		running=$((running - 1))
	fi
	brief_one "$n" &
	running=$((running + 1))
done
wait

for n in "${names[@]}"; do
	rc=$(cat "$work/$n.rc")
	if [ "$rc" -eq 127 ]; then
		ktap_diag "$FUZZ_BIN/fuzz_$n is missing: make fuzz-build"
	elif [ "$rc" -ne 0 ]; then
		# The report: from libFuzzer's or a sanitizer's first line on.
		sed -n '/^==[0-9]*==\|ERROR: libFuzzer\|invariant broken\|runtime error/,$p' \
			"$work/$n.log" | head -n 60 | sed 's/^/# /'
		ktap_diag "log: $work/$n.log" \
			"input: $(find "$work/crashes/$n" -type f 2>/dev/null | head -n 1)"
	else
		ktap_diag "$(fuzz_execs "$work/$n.log") inputs in $seconds s"
	fi
	ktap_report "fuzz_$n" "$rc"
done
ktap_finish
