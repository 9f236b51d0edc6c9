#!/bin/bash
# Install what qrep needs to build and test, from Debian's archive.
# Idempotent and quick when everything is present: it only calls apt-get
# when a package is missing. Usage: scripts/deps.sh [6.1|6.12 ...]
set -euo pipefail

series=("$@")
[ ${#series[@]} -gt 0 ] || series=(6.1)

pkgs=(
	# build; the 6.12 headers so that every check builds against both
	build-essential make gcc pkg-config libmnl-dev linux-source-6.1
	# peer authentication: HMAC-SHA256 from OpenSSL's libcrypto
	libssl-dev
	sparse xz-utils zstd linux-headers-6.12-amd64
	# make check boots some tests on 6.12 too (selftests/TESTS, NAME@6.12)
	linux-image-6.12-amd64
	# the VMs' debug kernel (make debug-kernel, qemu/debug-kernel/): its
	# source and what a kernel build needs beyond the above
	linux-source-6.12 flex bison bc libelf-dev
	# the VM harness: QEMU under TCG, a busybox init, a virtual switch
	qemu-system-x86 busybox-static vde2 kmod cpio
	# what tests and the demo run inside the VMs
	e2fsprogs fio iproute2 nftables util-linux procps
	# disk faults under the stores (selftests/lib/dm.sh)
	dmsetup
	# the documentation's build and check (make docs)
	python3-sphinx
	# fuzzing and sanitizers
	clang libclang-rt-14-dev
	# what make bench measures qrep against, in the VMs; jq reads fio's JSON
	nbd-server nbd-client mdadm drbd-utils jq
)
for s in "${series[@]}"; do
	case "$s" in
	6.1) pkgs+=(linux-image-amd64 linux-headers-amd64) ;;
	6.12) pkgs+=(linux-image-6.12-amd64 linux-headers-6.12-amd64) ;;
	*) echo "deps: unknown kernel series '$s' (use 6.1 or 6.12)" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
