#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The one-VM half of make bench, run inside a VM by bench/run through
# qemu/run-vm. Everything is on this VM: the devices, their daemons on
# loopback, their stores on one tmpfs. The settings come as BENCH_*
# variables (bench/run passes them with env); the raw results go to
# $QREP_CTL/raw.csv, which the host reads afterwards.
#
#   1. the comparison: qrep mirror N=3, qrep quorum N=3, a single nbd,
#      md raid1 over three nbd, every workload;
#   2. scaling: qrep mirror with BENCH_SCALE_NS replicas, 4k random
#      writes at QD32 and QD1;
#   3. memory as the device grows through BENCH_GROW_SIZES;
#   4. resync of qrep mirror N=3 after BENCH_RESYNC_PCTS % divergence of
#      a BENCH_RESYNC_SIZE device.

set -uo pipefail

. "$QREP_ROOT/bench/lib/guest.sh"
. "$QREP_ROOT/bench/lib/plan.sh"

RAW=$QREP_CTL/raw.csv

bench_on() {
	shift
	eval "$*"
}

bench_emit() {
	local IFS=,
	echo "$*" >>"$RAW"
}

bench_log() {
	echo "bench: [$(date +%H:%M:%S)] $*"
}

: >"$RAW"
bench_prepare || { echo "bench: cannot prepare the VM" >&2; exit 1; }

rows=()
for n in $BENCH_COMPARE; do
	case $n in
	qrep-mirror-3) rows+=("$n|qrep-mirror|1,1,1|qrep mirror N=3") ;;
	qrep-quorum-3) rows+=("$n|qrep-quorum|1,1,1|qrep quorum N=3") ;;
	nbd) rows+=("$n|nbd|1|single nbd") ;;
	md-raid1-nbd-3) rows+=("$n|md-raid1-nbd|1,1,1|md raid1 over 3 nbd") ;;
	*) echo "bench: unknown row '$n' in BENCH_COMPARE" >&2; exit 2 ;;
	esac
done
[ "${#rows[@]}" = 0 ] || bench_compare compare "$BENCH_WORKLOADS" "${rows[@]}"

rows=()
for n in $BENCH_SCALE_NS; do
	nodes=$(printf '1,%.0s' $(seq "$n"))
	rows+=("qrep-mirror-$n|qrep-mirror|${nodes%,}|qrep mirror N=$n")
done
[ "${#rows[@]}" = 0 ] || bench_compare scale "randwrite-qd32 randwrite-qd1" "${rows[@]}"

# shellcheck disable=SC2086 # a list of sizes
[ -z "$BENCH_GROW_SIZES" ] || bench_grow $BENCH_GROW_SIZES

# shellcheck disable=SC2086 # a list of percentages
[ -z "$BENCH_RESYNC_PCTS" ] ||
	bench_resync "$BENCH_RESYNC_SIZE" "$BENCH_RESYNC_SPAN" $BENCH_RESYNC_PCTS

bench_log "one-VM part done"
