#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Inside a VM (bench/profile runs it through qemu/run-vm): set one row of
# the comparison up, write its region, then run one workload three times:
# plain, under `perf stat` (context switches and CPU time, whole system),
# and under `perf record -a -g` (where the CPU goes). Reports go to
# $QREP_CTL: fio.txt, stat.txt, report-comm.txt, report-sym.txt.
#
#   bench/guest-profile.sh KIND NODES WORKLOAD RUNTIME SIZE
#
# Only software events: TCG emulates no performance counters.

set -uo pipefail

. "$QREP_ROOT/bench/lib/guest.sh"
. "$QREP_ROOT/bench/lib/plan.sh"

kind=$1 nodes=$2 wl=$3 BENCH_RUNTIME=$4 BENCH_SIZE=$5
out=$QREP_CTL

bench_on() {
	shift
	eval "$*"
}

bench_prepare || exit 1
bench_row_up "$kind" "$nodes" || exit 1
dev=$(bench_row_dev "$kind")
bench_prefill "$dev" "$BENCH_SIZE" || exit 1

fio_run() {
	bench_fio "$dev" "$BENCH_RUNTIME" "$BENCH_SIZE" 0 "$wl"
}

rc=0
echo "== $kind on $dev, $wl, plain" >"$out/fio.txt"
fio_run >>"$out/fio.txt" || rc=1
echo "== under perf stat" >>"$out/fio.txt"
perf stat -a -e task-clock,context-switches,cpu-migrations,page-faults \
	-o "$out/stat.txt" -- bash -c ". bench/lib/guest.sh; $(declare -p dev wl BENCH_RUNTIME BENCH_SIZE); $(declare -f fio_run); fio_run" \
	>>"$out/fio.txt" || rc=1
echo "== under perf record" >>"$out/fio.txt"
perf record -q -a -g -F 499 -o "$BENCH_DIR/perf.data" -- \
	bash -c ". bench/lib/guest.sh; $(declare -p dev wl BENCH_RUNTIME BENCH_SIZE); $(declare -f fio_run); fio_run" \
	>>"$out/fio.txt" 2>/dev/null || rc=1
perf report -i "$BENCH_DIR/perf.data" --stdio --no-children -g none --sort comm \
	>"$out/report-comm.txt" 2>/dev/null || rc=1
perf report -i "$BENCH_DIR/perf.data" --stdio --no-children -g none \
	--sort comm,dso,sym --percent-limit 0.5 >"$out/report-sym.txt" 2>/dev/null || rc=1
bench_row_down "$kind" "$nodes"
exit "$rc"
