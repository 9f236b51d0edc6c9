#!/bin/bash
# Checks on the kernel code that need no VM: checkpatch --strict, sparse,
# and warning-free builds against both supported kernel series.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/selftests/lib/ktap.sh"
cd "$ROOT"

kernel_series_build()
{
	local kver
	kver=$(scripts/kver.sh "$1")
	[ -n "$kver" ] || { echo "no $1 kernel headers installed (make deps)"; return 1; }
	make --no-print-directory module KVER="$kver"
}

ktap_plan 4
ktap_test "checkpatch --strict is clean" make --no-print-directory checkpatch
ktap_test "sparse is clean" make --no-print-directory sparse
ktap_test "builds warning-free against 6.1" kernel_series_build 6.1
ktap_test "builds warning-free against 6.12" kernel_series_build 6.12
ktap_finish
