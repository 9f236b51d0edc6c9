#!/bin/bash
# Extract checkpatch.pl and the kselftest headers from Debian's
# linux-source-6.1 tarball into build/tools (ignored, never committed).
# Quick when already extracted.
set -euo pipefail
out=${1:-build/tools}
tarball=$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null | head -n 1)
stamp="$out/.extracted"
if [ -f "$stamp" ] && [ "$stamp" -nt "$tarball" ]; then
	exit 0
fi
[ -n "$tarball" ] || { echo "kernel-tools: linux-source-6.1 is not installed (make deps)" >&2; exit 1; }
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
echo "kernel-tools: extracting checkpatch.pl and kselftest headers from $tarball"
tar -xJf "$tarball" -C "$out.tmp" --strip-components=1 --wildcards \
	'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
	'*/scripts/const_structs.checkpatch' \
	'*/tools/testing/selftests/kselftest_harness.h' \
	'*/tools/testing/selftests/kselftest.h'
rm -rf "$out"
mkdir -p "$out/kselftest"
mv "$out.tmp/scripts" "$out/scripts"
mv "$out.tmp/tools/testing/selftests/"kselftest*.h "$out/kselftest/"
rm -rf "$out.tmp"
touch "$stamp"
