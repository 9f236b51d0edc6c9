#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The cases are functions that ktap_test calls.
# shellcheck disable=SC2317
#
# bench/lib/report.awk on made-up raw results, no VM: medians of odd and
# even counts, min and max, ratios to the references, a row that is not
# available, a failed step. Runs on the host in a second.

set -uo pipefail

ROOT=$(cd -P "$(dirname "$0")/../.." && pwd)
# shellcheck source=selftests/lib/ktap.sh
. "$ROOT/selftests/lib/ktap.sh"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cat >"$TMP/raw.csv" <<'EOF'
compare,qrep-mirror-3,-,label,-,qrep mirror N=3
compare,qrep-quorum-3,-,label,-,qrep quorum N=3
compare,nbd,-,label,-,single nbd
compare,md-raid1-nbd-3,-,label,-,md raid1 over 3 nbd
compare,qrep-mirror-3,randwrite-qd32,iops,1,300
compare,qrep-mirror-3,randwrite-qd32,iops,2,100
compare,qrep-mirror-3,randwrite-qd32,iops,3,200
compare,qrep-quorum-3,-,status,-,not available: set-up failed: no targets
compare,nbd,randwrite-qd32,iops,1,400
compare,nbd,randwrite-qd32,iops,2,500
compare,md-raid1-nbd-3,randwrite-qd32,iops,1,100
compare,qrep-mirror-3,randwrite-qd1,p99_us,1,1000
compare,qrep-mirror-3,randwrite-qd1,p99_us,2,3000
compare,nbd,randwrite-qd1,p99_us,1,500
compare,md-raid1-nbd-3,seqread-1m,error,1,fio failed
mem,1G,-,label,-,1G
mem,1G,-,kmem_up_kib,1,352
resync,1,-,label,-,1 % of 1G
resync,1,-,time_s,1,3.25
resync,1,-,time_s,2,2.5
resync,1,-,moved_mib,1,10.38
resync,1,-,moved_mib,2,10.5
resync,1,-,missed_mib,1,10.25
resync,1,-,missed_mib,2,10.25
resync,1,-,ratio,1,1.0127
resync,1,-,ratio,2,1.0244
resync,100,-,label,-,100 % of 1G
resync,100,-,status,-,not available: qrepctl reconnect: timed out
failover,qrep-quorum-3,-,label,-,qrep quorum N=3 on 3 VMs
failover,qrep-quorum-3,-,heartbeat-interval_ms,1,250
failover,qrep-quorum-3,-,heartbeat-timeout_ms,1,1500
failover,qrep-quorum-3,-,election-ack-timeout_ms,1,500
failover,qrep-quorum-3,-,coordinator-timeout_ms,1,3000
failover,qrep-quorum-3,-,epoch-quorum-timeout_ms,1,1000
failover,qrep-quorum-3,-,failover_ms,1,2900
failover,qrep-quorum-3,-,failover_ms,2,3400
failover,qrep-quorum-3,-,failover_ms,3,2500
EOF
printf 'date=2026-01-01 00:00 UTC\nkernel=6.1.0-1-amd64\naccel=TCG\n' >"$TMP/meta"

report() {
	awk -F, -f "$ROOT/bench/lib/report.awk" -v csv="$TMP/out.csv" \
		-v meta="$TMP/meta" "$TMP/raw.csv" >"$TMP/out.md"
}

# field SECTION ROW WORKLOAD METRIC COLUMN: one CSV field.
field() {
	awk -F, -v s="$1" -v r="$2" -v w="$3" -v m="$4" -v c="$5" \
		'$1 == s && $2 == r && $4 == w && $5 == m { print $c }' "$TMP/out.csv"
}

# expect WHAT GOT WANT
expect() {
	[ "$2" = "$3" ] || { echo "$1: got '$2', want '$3'"; return 1; }
}

# Numbered rows: section row workload metric column want.
# Columns: 7 median, 8 min, 9 max, 10 n, 11 to nbd, 12 to md, 13 to drbd.
ROWS=(
	"1 compare qrep-mirror-3 randwrite-qd32 iops 7 200"
	"2 compare qrep-mirror-3 randwrite-qd32 iops 8 100"
	"3 compare qrep-mirror-3 randwrite-qd32 iops 9 300"
	"4 compare qrep-mirror-3 randwrite-qd32 iops 10 3"
	"5 compare nbd randwrite-qd32 iops 7 450"
	"6 compare qrep-mirror-3 randwrite-qd32 iops 11 0.44"
	"7 compare qrep-mirror-3 randwrite-qd32 iops 12 2.00"
	"8 compare qrep-mirror-3 randwrite-qd1 p99_us 7 2000"
	"9 compare qrep-mirror-3 randwrite-qd1 p99_us 11 4.00"
	"10 compare nbd randwrite-qd32 iops 11 "
	"11 mem 1G - kmem_up_kib 7 352"
	"12 mem 1G - kmem_up_kib 6 KiB"
	"13 resync 1 - time_s 7 2.875"
	"14 resync 1 - time_s 6 s"
	"15 resync 1 - ratio 8 1.0127"
	"16 resync 1 - ratio 9 1.0244"
	"17 resync 1 - moved_mib 6 MiB"
	"18 failover qrep-quorum-3 - failover_ms 7 2900"
	"19 failover qrep-quorum-3 - failover_ms 10 3"
	"20 failover qrep-quorum-3 - failover_ms 11 "
	"21 failover qrep-quorum-3 - heartbeat-timeout_ms 7 1500"
)

csv_rows() {
	local row n s r w m c want rc=0

	for row in "${ROWS[@]}"; do
		read -r n s r w m c want <<<"$row"
		expect "row $n ($s $r $w $m column $c)" "$(field "$s" "$r" "$w" "$m" "$c")" "${want:-}" || rc=1
	done
	return "$rc"
}

not_available() {
	grep -q '^compare,qrep-quorum-3,qrep quorum N=3,,status,.*not available: set-up failed: no targets$' \
		"$TMP/out.csv" || { echo "no status line for quorum"; return 1; }
	grep -q '^| qrep quorum N=3 | not available: set-up failed: no targets |' "$TMP/out.md" ||
		{ echo "no quorum row in the table"; return 1; }
}

table_cells() {
	grep -q '^| qrep mirror N=3 | - | 2000 (1000-3000) | 200 (100-300) | - | - | - |$' "$TMP/out.md" ||
		{ echo "qrep row:"; grep '^| qrep mirror N=3 |' "$TMP/out.md"; return 1; }
	grep -q '^| qrep mirror N=3 / single nbd | - | 4.00 | 0.44 | - | - | - |$' "$TMP/out.md" ||
		{ echo "ratio row:"; grep '^| qrep mirror N=3 /' "$TMP/out.md"; return 1; }
	grep -q '^| md raid1 over 3 nbd | .* | failed |$' "$TMP/out.md" ||
		{ echo "md row:"; grep '^| md raid1' "$TMP/out.md"; return 1; }
	grep -q '^- compare: md-raid1-nbd-3 seqread-1m: fio failed$' "$TMP/out.md" ||
		{ echo "no failed step listed"; return 1; }
	grep -q '^- kernel: 6.1.0-1-amd64 (guest), accelerator: TCG' "$TMP/out.md" ||
		{ echo "no heading"; return 1; }
}

resync_failover_tables() {
	grep -q '^## Resync after divergence' "$TMP/out.md" || { echo "no resync table"; return 1; }
	grep -q '^| 1 % of 1G | 10.2 | 2.9 (2.5-3.2) | 10.4 (10.4-10.5) | 1.019 (1.013-1.024) |$' "$TMP/out.md" ||
		{ echo "resync row:"; grep '^| 1 % of 1G' "$TMP/out.md"; return 1; }
	grep -q '^| 100 % of 1G | not available: qrepctl reconnect: timed out |  |  |  |$' "$TMP/out.md" ||
		{ echo "resync status row:"; grep '^| 100 % of 1G' "$TMP/out.md"; return 1; }
	grep -q '^## Failover' "$TMP/out.md" || { echo "no failover table"; return 1; }
	grep -q '^| qrep quorum N=3 on 3 VMs | 2900 (2500-3400) | 250 | 1500 | 500 | 3000 | 1000 |$' "$TMP/out.md" ||
		{ echo "failover row:"; grep '^| qrep quorum N=3, 3' "$TMP/out.md"; return 1; }
	grep -q '^resync,100,100 % of 1G,,status,' "$TMP/out.csv" ||
		{ echo "no status line for the 100 % resync"; return 1; }
}

ktap_plan 5
ktap_test "the report is written" report
ktap_test "medians, extremes, counts and ratios (${#ROWS[@]} rows)" csv_rows
ktap_test "a row not available says why" not_available
ktap_test "table cells, ratio rows, failures, heading" table_cells
ktap_test "resync and failover tables: cells, a resync not available" resync_failover_tables
ktap_finish
