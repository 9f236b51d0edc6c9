#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug kernel of the qrep test VMs from Debian's linux-source
# package (make deps installs it) with the config fragment next to this
# script on top of the kernel's tinyconfig:
#
#   qemu/debug-kernel/build.sh [--print-dir]
#
# The result is cached in $QREP_BUILD/debug-kernel/obj-SERIES, keyed by
# the source package's version, the compiler, the fragment and RECIPE
# below (raise it when a change here changes what is built): a second run
# with the same key builds nothing; a new key reconfigures the same tree,
# and kbuild rebuilds what the change touches. $QREP_BUILD/debug-kernel/current
# points at the tree once it is built; in it:
#   vmlinux        the uncompressed kernel (PVH entry), booted by run-vm
#   kernelrelease  its release string (the KVER of the VM tests)
#   modroot/lib/modules/RELEASE: modules.builtin and the depmod indexes,
#                  which the guest mounts on /lib/modules/RELEASE, so
#                  that modprobe of a built-in module succeeds
#   build-time     the build's wall time and the machine's load around it
# The tree is also an ordinary kernel build directory: qrep.ko is built
# against it (make debug-kernel).
#
# The build runs under nice -n $QREP_DEBUG_KERNEL_NICE with
# $QREP_DEBUG_KERNEL_JOBS jobs (the machine is shared).
# --print-dir prints the tree's path when the build is done.
set -euo pipefail

HERE=$(cd -P "$(dirname "$0")" && pwd)
ROOT=$(cd -P "$HERE/../.." && pwd)
BUILD=$(realpath -m "${QREP_BUILD:-$ROOT/build}")
OUT=$BUILD/debug-kernel
SERIES=6.12
PKG=linux-source-$SERIES
TARBALL=/usr/src/$PKG.tar.xz
FRAGMENT=$HERE/debug.config
RECIPE=1
: "${QREP_DEBUG_KERNEL_JOBS:=2}"
: "${QREP_DEBUG_KERNEL_NICE:=5}"

print_dir=0
[ "${1:-}" = --print-dir ] && print_dir=1

die() {
	echo "debug-kernel: $*" >&2
	exit 1
}

[ -r "$TARBALL" ] || die "no $TARBALL: run make deps (it installs $PKG)"
version=$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null) ||
	die "$PKG is not installed: run make deps"
key=$({
	echo "$PKG $version"
	gcc --version | head -n 1
	echo "recipe $RECIPE"
	cat "$FRAGMENT"
} | sha256sum | cut -c1-16)
src=$OUT/src-$version/$PKG
obj=$OUT/obj-$SERIES

mkdir -p "$OUT"
exec {lock}>"$OUT/.lock"
flock "$lock"

if [ "$(cat "$obj/.done" 2>/dev/null)" = "$key" ]; then
	ln -sfn "obj-$SERIES" "$OUT/current"
	[ "$print_dir" = 0 ] || echo "$obj"
	exit 0
fi

if [ ! -f "$src/.extracted" ]; then
	echo "debug-kernel: extracting $TARBALL ($version)" >&2
	rm -rf "$OUT/src-$version"
	mkdir -p "$OUT/src-$version"
	tar -xJf "$TARBALL" -C "$OUT/src-$version"
	touch "$src/.extracted"
fi

rm -f "$OUT/current" "$obj/.done"
# A tree built from another source version starts afresh.
if [ "$(cat "$obj/source-version" 2>/dev/null)" != "$version" ]; then
	rm -rf "$obj"
	mkdir -p "$obj"
	echo "$version" >"$obj/source-version"
fi
kmake() {
	nice -n "$QREP_DEBUG_KERNEL_NICE" make -C "$src" O="$obj" \
		-j"$QREP_DEBUG_KERNEL_JOBS" "$@"
}
echo "debug-kernel: configuring in $obj" >&2
kmake -s tinyconfig
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$FRAGMENT" >"$obj/merge.log"
kmake -s olddefconfig
# Every line of the fragment must have survived olddefconfig: a symbol
# whose dependencies are missing is dropped silently otherwise.
bad=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*) want=$line ;;
	"# CONFIG_"*" is not set") want=$line ;;
	*) continue ;;
	esac
	sym=${want#\# }
	sym=${sym%%[= ]*}
	got=$(grep -E "^($sym=|# $sym is not set)" "$obj/.config" || true)
	# An absent symbol counts as "not set".
	if [ "$got" != "$want" ] && ! { [ -z "$got" ] && [ "${want:0:1}" = "#" ]; }; then
		echo "debug-kernel: wanted '$want', got '${got:-nothing}'" >&2
		bad=1
	fi
done <"$FRAGMENT"
[ "$bad" = 0 ] || die "the config fragment does not apply (see above)"

echo "debug-kernel: building in $obj (log: $obj/build.log)" >&2
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
if ! kmake vmlinux modules >"$obj/build.log" 2>&1; then
	tail -n 30 "$obj/build.log" >&2
	die "the build failed (see $obj/build.log)"
fi
end=$(date +%s)
kmake -s kernelrelease >"$obj/kernelrelease"
# No modules but the lists of built-in ones and depmod's indexes.
rm -rf "$obj/modroot"
kmake -s INSTALL_MOD_PATH="$obj/modroot" modules_install >>"$obj/build.log" 2>&1 ||
	die "modules_install failed (see $obj/build.log)"
{
	echo "wall_seconds=$((end - start))"
	echo "jobs=$QREP_DEBUG_KERNEL_JOBS nice=$QREP_DEBUG_KERNEL_NICE cpus=$(nproc)"
	echo "loadavg_before=$load_before"
	echo "loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$obj/build-time"
echo "debug-kernel: built in $((end - start)) s" >&2
echo "$key" >"$obj/.done"
ln -sfn "obj-$SERIES" "$OUT/current"
# Sources of other versions are not needed any more.
for old in "$OUT"/src-*; do
	[ "$old" = "$OUT/src-$version" ] || rm -rf "$old"
done
[ "$print_dir" = 0 ] || echo "$obj"
