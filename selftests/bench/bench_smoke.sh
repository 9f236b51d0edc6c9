#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The cases are functions that ktap_test calls.
# shellcheck disable=SC2317
#
# The benchmark's machinery, briefly (bench/run --smoke): one VM, then
# two on a virtual switch, every row of the comparison for a second per
# workload. Runs on the host; prints KTAP. It checks that the table and
# the CSV are written and that every row that exists has numbers, never
# how fast anything is.
#
#   one VM:  qrep mirror N=3 | single nbd | md raid1 over 3 nbd   (loopback)
#            + qrep N=1, 2 (scaling) + memory of a 1 GiB device
#            + resync of a 16 MiB qrep mirror N=3 after 1, 10, 100 %
#              divergence (time, bytes moved)
#
#   node1 192.0.2.1 ---- vde_switch --hub ---- node2 192.0.2.2
#   (DRBD 8.4 protocol C primary,             (DRBD peer,
#    /dev/qrep0, target a on loopback)         target b)
#
# Not the failover part (bench/run's BENCH_FAILOVER, three more VMs to
# boot: a minute or two that make check cannot spare); make bench runs
# it.

set -uo pipefail

ROOT=$(cd -P "$(dirname "$0")/../.." && pwd)
# shellcheck source=selftests/lib/ktap.sh
. "$ROOT/selftests/lib/ktap.sh"

export BENCH_OUT=${QREP_BUILD:-$ROOT/build}/bench-smoke
MD=$BENCH_OUT/latest.md
CSV=$BENCH_OUT/latest.csv
# Every row bench/run --smoke measures: section,row.
ROWS="compare,qrep-mirror-3 compare,nbd compare,md-raid1-nbd-3
pair,drbd-c pair,qrep-mirror-2 scale,qrep-mirror-1 scale,qrep-mirror-2"
WORKLOADS="randwrite-qd1 randwrite-qd32 randread-qd32 seqwrite-1m seqread-1m"
RESYNC_PCTS="1 10 100"

ktap_plan 6
rm -rf "$BENCH_OUT"

ktap_test "bench/run --smoke ends cleanly" "$ROOT/bench/run" --smoke

table_written() {
	local section

	[ -s "$MD" ] || { echo "no $MD"; return 1; }
	for section in "One VM" "Two VMs" "Scaling" "Memory" "Resync"; do
		grep -q "^## $section" "$MD" || { echo "no section '$section'"; return 1; }
	done
	grep -qE '^- kernel: .*accelerator: (TCG|KVM)' "$MD" || { echo "no kernel or accelerator"; return 1; }
	grep -qE '^- date: [0-9]{4}-' "$MD" || { echo "no date"; return 1; }
}

# csv_value SECTION ROW WORKLOAD METRIC: the median the CSV gives.
csv_value() {
	awk -F, -v s="$1" -v r="$2" -v w="$3" -v m="$4" \
		'$1 == s && $2 == r && $4 == w && $5 == m { print $7 }' "$CSV"
}

is_number() {
	[[ $1 =~ ^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]
}

csv_numbers() {
	local bad

	[ -s "$CSV" ] || { echo "no $CSV"; return 1; }
	head -n 1 "$CSV" | grep -q '^section,row,label,workload,metric,unit,median,min,max,n,' ||
		{ echo "unexpected header: $(head -n 1 "$CSV")"; return 1; }
	# Every measured line: median, min and max are numbers, n >= 1.
	bad=$(awk -F, 'NR > 1 && $5 != "status" && $1 != "error" &&
		!($7 ~ /^[0-9.e+-]+$/ && $8 ~ /^[0-9.e+-]+$/ && $9 ~ /^[0-9.e+-]+$/ && $10 >= 1)' "$CSV")
	[ -z "$bad" ] || { echo "lines without numbers:"; echo "$bad"; return 1; }
}

every_row_measured() {
	local sr wl m v p rc=0 wls

	for sr in $ROWS; do
		wls=$WORKLOADS
		[ "${sr%%,*}" != scale ] || wls="randwrite-qd1 randwrite-qd32"
		for wl in $wls; do
			case $wl in
			randwrite-qd1) m=p99_us ;;
			*-1m) m=mibps ;;
			*) m=iops ;;
			esac
			v=$(csv_value "${sr%%,*}" "${sr#*,}" "$wl" "$m")
			is_number "$v" || { echo "$sr $wl: no $m"; rc=1; }
		done
	done
	v=$(csv_value mem 1G - kmem_up_kib)
	is_number "$v" || { echo "memory of a 1G device: no kernel memory"; rc=1; }
	v=$(csv_value mem 1G - target_rss_kib)
	is_number "$v" || { echo "memory of a 1G device: no target RSS"; rc=1; }
	for p in $RESYNC_PCTS; do
		for m in time_s moved_mib missed_mib ratio; do
			v=$(csv_value resync "$p" - "$m")
			is_number "$v" || { echo "resync after $p % divergence: no $m"; rc=1; }
		done
	done
	return "$rc"
}

# Every row has numbers: quorum mode too, now that it exists.
no_row_missing() {
	local out

	out=$(awk -F, '$5 == "status" || $1 == "error"' "$CSV")
	[ -z "$out" ] || { echo "rows not measured or steps failed:"; echo "$out"; return 1; }
	grep -q '^compare,qrep-quorum-3,' "$CSV" || { echo "no quorum row at all"; return 1; }
}

ratios_given() {
	local v

	v=$(awk -F, '$1 == "compare" && $2 == "qrep-mirror-3" && $4 == "randwrite-qd32" &&
		$5 == "iops" { print $11 "," $12 }' "$CSV")
	if ! is_number "${v%,*}" || ! is_number "${v#*,}"; then
		echo "qrep mirror N=3: no ratio to nbd and md ('$v')"
		return 1
	fi
	v=$(awk -F, '$1 == "pair" && $2 == "qrep-mirror-2" && $4 == "randwrite-qd32" &&
		$5 == "iops" { print $13 }' "$CSV")
	is_number "$v" || { echo "qrep mirror N=2: no ratio to DRBD ('$v')"; return 1; }
	grep -q "^| qrep mirror N=3 / single nbd |" "$MD" || { echo "no ratio rows in the table"; return 1; }
}

ktap_test "the table is written, with kernel, accelerator and date" table_written
ktap_test "the CSV is written; every measured line has numbers" csv_numbers
ktap_test "every row and workload has its numbers" every_row_measured
ktap_test "only quorum mode is reported not available" no_row_missing
ktap_test "qrep rows have ratios to nbd, md raid1 and DRBD" ratios_given
ktap_finish
