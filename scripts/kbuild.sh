#!/bin/bash
# Run Kbuild for an external module directory and fail on any warning:
#   scripts/kbuild.sh KVER DIR [make arguments...]
# The output is shown and kept in DIR/build.log. QREP_KDIR, if set, is the
# kernel build tree (default /lib/modules/KVER/build).
set -uo pipefail
kver=$1 dir=$2
shift 2
make -C "${QREP_KDIR:-/lib/modules/$kver/build}" M="$dir" "$@" 2>&1 | tee "$dir/build.log"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || exit "$rc"
if grep -E 'warning:|error:' "$dir/build.log" >/dev/null; then
	echo "kbuild: the build for $kver printed warnings (see above)" >&2
	exit 1
fi
