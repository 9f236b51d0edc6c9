# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Host-side helpers shared by qemu/run-vm and qemu/cluster.sh. Sourced,
# never run. It defines no traps and changes no shell options, so that
# the scripts sourcing it keep control of both.
#
# What a qrep test VM is (both users build the same machine):
#   - Debian's kernel /boot/vmlinuz-$KVER, booted uncompressed through its
#     PVH entry (qrep_vm_kernel), no KVM unless it really works
#     (qrep_vm_accel), so TCG with "-cpu max" on most machines; or, with
#     QREP_VM_KERNEL=debug, the project's debug kernel (KASAN, KFENCE,
#     UBSAN, lockdep, kmemleak: qemu/debug-kernel/, make debug-kernel),
#     everything built in, on QREP_DEBUG_VM_CPUS vCPUs;
#   - an initramfs with a static busybox and the virtio/9p modules, built
#     once per kernel release and cached in $QREP_VM_DIR (qrep_vm_initramfs);
#     its PID 1 is qemu/initramfs-init;
#   - the host's root, read-only over 9p (tag "host"); the guest chroots
#     into it and runs qemu/guest-stage2 from the project tree, so the
#     host's tools and the project's build/ run unchanged in the guest;
#   - one writable 9p share per VM (tag "ctl", a host directory), the
#     control channel: the config the guest reads, the exit status it
#     writes, command output;
#   - the kernel console on the first serial port, saved to a file that
#     qrep_vm_log_scan checks against qemu/kernel-log-patterns;
#   - if asked for, persistent disks: files on the host that outlive the
#     VM (qrep_vm_disk_args).

QREP_QEMU_DIR=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
QREP_ROOT=$(cd -P "$QREP_QEMU_DIR/.." && pwd)
QREP_BUILD=$(realpath -m "${QREP_BUILD:-$QREP_ROOT/build}")
QREP_VM_DIR=$QREP_BUILD/vm
QREP_VM_PATTERNS=$QREP_QEMU_DIR/kernel-log-patterns

# Defaults; each can be overridden from the environment.
: "${QREP_VM_MEM:=1024}"		# MiB per VM
# The kernel the VMs boot: "stock" (Debian's: --kernel, $KVER or the
# newest 6.1) or "debug" (the project's debug kernel, built by make
# debug-kernel into $QREP_DEBUG_KERNEL_DIR; it ignores $KVER).
: "${QREP_VM_KERNEL:=stock}"
QREP_DEBUG_KERNEL_DIR=$QREP_BUILD/debug-kernel/current
# vCPUs of a VM on the debug kernel, unless QREP_VM_CPUS says otherwise:
# the lock and memory detectors see races only with several CPUs.
: "${QREP_DEBUG_VM_CPUS:=2}"
if [ "$QREP_VM_KERNEL" = debug ]; then
	: "${QREP_VM_CPUS:=$QREP_DEBUG_VM_CPUS}"
fi
: "${QREP_VM_CPUS:=1}"
# The guest's kernel.hung_task_timeout_secs: Debian's default (120 s) is
# longer than many test steps; a blocked task reported here fails the run.
: "${QREP_HUNG_TASK_TIMEOUT:=60}"
# The guest's RCU CPU stall timeout, in seconds (the kernel's default is
# 21). A VM the host does not run for that long reports a stall when it
# runs again: QEMU under TCG keeps the guest's clocks on the host's, and
# the guest sees a grace period that "lasted" the whole pause, with one
# tick in it ("1 ticks this GP", "kthread timer wakeup didn't happen").
# Stopping a busy VM's QEMU for 26 s produced exactly that report, and CI
# once met it on a loaded machine. 60 s, as for blocked tasks, tolerates
# the same host hiccups in both detectors; a CPU really stuck in the
# guest is still reported, 39 s later.
: "${QREP_RCU_STALL_TIMEOUT:=60}"
# How long the KVM probe may take before KVM is declared unusable.
: "${QREP_KVM_PROBE_TIMEOUT:=20}"
# tcg, kvm or auto (probe once per host boot, use KVM only if the kernel
# boots under it).
: "${QREP_ACCEL:=auto}"
# slub_debug flags: F sanity checks, Z red zones, P poisoning, U owner
# tracking (who allocated and freed an object, in every report). Under
# TCG they cost about 2 s a boot and 40 % more per exec(), U the most.
: "${QREP_SLUB_DEBUG:=FZPU}"
# Extra kernel command line arguments, appended.
: "${QREP_VM_CMDLINE:=}"
QREP_QEMU=${QREP_QEMU:-qemu-system-x86_64}

# Modules the initramfs loads; their dependencies come from modules.dep.
# Built-in or absent ones are skipped (6.12 has virtio_pci built in).
QREP_VM_MODULES=(virtio_pci virtio_net 9pnet_virtio 9p)

qrep_vm_die() {
	echo "${QREP_VM_PROG:-qemu}: $*" >&2
	exit 126
}

# The default kernel release: the debug kernel's with QREP_VM_KERNEL=debug,
# else $KVER if set, else the newest installed 6.1.
qrep_vm_default_kver() {
	case $QREP_VM_KERNEL in
	stock) ;;
	debug)
		cat "$QREP_DEBUG_KERNEL_DIR/kernelrelease" 2>/dev/null ||
			qrep_vm_die "no debug kernel in $QREP_DEBUG_KERNEL_DIR (make debug-kernel)"
		return
		;;
	*) qrep_vm_die "QREP_VM_KERNEL must be stock or debug, not '$QREP_VM_KERNEL'" ;;
	esac
	if [ -n "${KVER:-}" ]; then
		echo "$KVER"
	else
		"$QREP_ROOT/scripts/kver.sh" 6.1
	fi
}

# qrep_vm_is_debug KVER: KVER is the release of the built debug kernel.
qrep_vm_is_debug() {
	[ -n "$1" ] && [ "$(cat "$QREP_DEBUG_KERNEL_DIR/kernelrelease" 2>/dev/null)" = "$1" ]
}

# qrep_vm_moddir KVER: the directory with KVER's modules.dep and
# modules.builtin: /lib/modules/KVER, or the debug kernel's own (which the
# guest mounts on /lib/modules/KVER: qemu/guest-stage2).
qrep_vm_moddir() {
	if qrep_vm_is_debug "$1"; then
		echo "$QREP_DEBUG_KERNEL_DIR/modroot/lib/modules/$1"
	else
		echo "/lib/modules/$1"
	fi
}

# qrep_vm_check_kver KVER: the kernel image and its modules must exist.
qrep_vm_check_kver() {
	local kver=$1 moddir

	[ -n "$kver" ] || qrep_vm_die "no kernel release given and none found (make deps)"
	moddir=$(qrep_vm_moddir "$kver")
	if qrep_vm_is_debug "$kver"; then
		[ -r "$QREP_DEBUG_KERNEL_DIR/vmlinux" ] ||
			qrep_vm_die "no $QREP_DEBUG_KERNEL_DIR/vmlinux (make debug-kernel)"
	else
		[ -r "/boot/vmlinuz-$kver" ] || qrep_vm_die "no /boot/vmlinuz-$kver"
	fi
	[ -r "$moddir/modules.dep" ] || qrep_vm_die "no $moddir/modules.dep"
}

# qrep_vm_module_order KVER: print the module files to load (paths relative
# to /lib/modules/KVER), each after its dependencies. Within a
# modules.dep line the dependencies are listed so that the last one must
# be loaded first.
qrep_vm_module_order() {
	local kver=$1 line rel name mod moddir
	local -A path_of=() deps_of=() builtin=() seen=()
	local -a order=()

	moddir=$(qrep_vm_moddir "$kver")

	while IFS= read -r line; do
		rel=${line%%:*}
		name=${rel##*/}
		name=${name%%.ko*}
		path_of[${name//-/_}]=$rel
		deps_of[$rel]=${line#*:}
	done <"$moddir/modules.dep"
	if [ -r "$moddir/modules.builtin" ]; then
		while IFS= read -r line; do
			name=${line##*/}
			name=${name%%.ko*}
			builtin[${name//-/_}]=1
		done <"$moddir/modules.builtin"
	fi

	_qrep_vm_visit() {
		local rel=$1 i
		local -a deps

		[ -z "${seen[$rel]:-}" ] || return 0
		seen[$rel]=1
		read -r -a deps <<<"${deps_of[$rel]}"
		for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
			_qrep_vm_visit "${deps[i]}"
		done
		order+=("$rel")
	}
	for mod in "${QREP_VM_MODULES[@]}"; do
		if [ -n "${path_of[$mod]:-}" ]; then
			_qrep_vm_visit "${path_of[$mod]}"
		elif [ -z "${builtin[$mod]:-}" ]; then
			echo "${QREP_VM_PROG:-qemu}: note: $kver has no module $mod, skipped" >&2
		fi
	done
	unset -f _qrep_vm_visit
	printf '%s\n' "${order[@]}"
}

# qrep_vm_initramfs_build KVER OUT: write the initramfs to OUT.
qrep_vm_initramfs_build() {
	local kver=$1 out=$2 tmp rel name moddir

	moddir=$(qrep_vm_moddir "$kver")
	tmp=$(mktemp -d "$QREP_VM_DIR/initramfs.XXXXXX")
	mkdir -p "$tmp"/{bin,dev,proc,sys,newroot,modules}
	cp /bin/busybox "$tmp/bin/busybox"
	cp "$QREP_QEMU_DIR/initramfs-init" "$tmp/init"
	chmod 755 "$tmp/init"
	# The kernel opens /dev/console for PID 1 before anything is mounted.
	mknod -m 600 "$tmp/dev/console" c 5 1 2>/dev/null || true

	qrep_vm_module_order "$kver" >"$tmp/order.rel"
	while IFS= read -r rel; do
		name=${rel##*/}
		name=${name%%.ko*}
		# busybox insmod takes only uncompressed modules.
		case $rel in
		*.ko.xz) xz -dc "$moddir/$rel" >"$tmp/modules/$name.ko" ;;
		*.ko.zst) zstd -qdc "$moddir/$rel" >"$tmp/modules/$name.ko" ;;
		*.ko.gz) gzip -dc "$moddir/$rel" >"$tmp/modules/$name.ko" ;;
		*.ko) cp "$moddir/$rel" "$tmp/modules/$name.ko" ;;
		*) continue ;;
		esac
		echo "$name" >>"$tmp/modules/order"
	done <"$tmp/order.rel"
	rm "$tmp/order.rel"

	(cd "$tmp" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$out.tmp"
	mv -f "$out.tmp" "$out"
	rm -rf "$tmp"
}

# What the initramfs depends on: a change in any of these rebuilds it.
qrep_vm_initramfs_key() {
	local kver=$1

	{
		echo "$kver"
		cat "$QREP_QEMU_DIR/initramfs-init"
		declare -f qrep_vm_module_order qrep_vm_initramfs_build
		printf '%s\n' "${QREP_VM_MODULES[@]}"
		cksum <"$(qrep_vm_moddir "$kver")/modules.dep"
		cksum </bin/busybox
	} | sha256sum | cut -d' ' -f1
}

# qrep_vm_initramfs KVER: print the path of the cached initramfs for
# KVER, building it first if it is missing or stale. Parallel callers
# wait for one another on a lock.
qrep_vm_initramfs() {
	local kver=$1 out key lock

	out=$QREP_VM_DIR/initramfs-$kver.cpio.gz
	mkdir -p "$QREP_VM_DIR"
	[ -x /bin/busybox ] || qrep_vm_die "no /bin/busybox (install busybox-static)"
	key=$(qrep_vm_initramfs_key "$kver")
	exec {lock}>"$QREP_VM_DIR/.initramfs-$kver.lock"
	flock "$lock"
	if [ ! -s "$out" ] || [ "$(cat "$out.key" 2>/dev/null)" != "$key" ]; then
		echo "${QREP_VM_PROG:-qemu}: building $out" >&2
		qrep_vm_initramfs_build "$kver" "$out"
		echo "$key" >"$out.key"
	fi
	exec {lock}>&-
	echo "$out"
}

# qrep_vm_kernel KVER: print the kernel image to boot. Under TCG, the
# bzImage's decompressor alone takes about 4 s of every boot; an
# uncompressed vmlinux with a PVH entry point (CONFIG_PVH, which Debian's
# kernels have) boots straight away. It is extracted once per kernel
# release into $QREP_VM_DIR. Falls back to the bzImage when that is not
# possible (or QREP_VM_PVH=0).
qrep_vm_kernel() {
	local kver=$1 bz out magic off dec lock

	if qrep_vm_is_debug "$kver"; then
		# Built as an uncompressed vmlinux with CONFIG_PVH.
		echo "$QREP_DEBUG_KERNEL_DIR/vmlinux"
		return
	fi
	bz=/boot/vmlinuz-$kver
	out=$QREP_VM_DIR/vmlinux-$kver
	if [ "${QREP_VM_PVH:-1}" = 0 ] ||
		! grep -q '^CONFIG_PVH=y' "/boot/config-$kver" 2>/dev/null; then
		echo "$bz"
		return
	fi
	mkdir -p "$QREP_VM_DIR"
	exec {lock}>"$QREP_VM_DIR/.vmlinux-$kver.lock"
	flock "$lock"
	if [ ! -s "$out" ] || [ "$bz" -nt "$out" ]; then
		rm -f "$out"
		# The payload is the first stream with a known magic number.
		for magic in 'xz:\xfd7zXZ\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08'; do
			dec=${magic%%:*}
			command -v "$dec" >/dev/null || continue
			off=$(LC_ALL=C grep -obUaP "${magic#*:}" "$bz" | head -n 1 | cut -d: -f1)
			[ -n "$off" ] || continue
			# Trailing data after the stream makes the decompressor
			# complain: the ELF header decides.
			tail -c "+$((off + 1))" "$bz" | "$dec" -dc >"$out.tmp" 2>/dev/null || true
			if [ "$(head -c 4 "$out.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
				mv -f "$out.tmp" "$out"
				break
			fi
		done
		rm -f "$out.tmp"
	fi
	exec {lock}>&-
	if [ -s "$out" ]; then
		echo "$out"
	else
		echo "$bz"
	fi
}

# qrep_vm_accel KERNEL: print the accelerator arguments. KVM is used only
# if the guest's own kernel boots under it to its end: a probe VM with no
# root file system must reach the kernel's "cannot mount root" panic
# (panic=-1 then ends it). Running firmware is not enough: here /dev/kvm
# exists and SeaBIOS runs under it, but the kernel stops early with "KVM
# internal error ... emulation failure" and QEMU hangs. The result is
# cached per host boot and kernel image.
qrep_vm_accel() {
	local kernel=$1 cache boot con pid i ok=0

	case $QREP_ACCEL in
	tcg) echo "-accel tcg -cpu max"; return ;;
	kvm) echo "-accel kvm -cpu host"; return ;;
	auto) ;;
	*) qrep_vm_die "QREP_ACCEL must be tcg, kvm or auto, not '$QREP_ACCEL'" ;;
	esac
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "-accel tcg -cpu max"
		return
	fi
	boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
	cache=$QREP_VM_DIR/accel.$boot.$(basename "$kernel")
	if [ ! -s "$cache" ]; then
		mkdir -p "$QREP_VM_DIR"
		con=$(mktemp "$QREP_VM_DIR/kvm-probe.XXXXXX")
		"$QREP_QEMU" -accel kvm -cpu host -M pc -m 256 -nodefaults \
			-display none -no-reboot -kernel "$kernel" \
			-append "console=ttyS0 panic=-1 loglevel=4" \
			-serial "file:$con" </dev/null >/dev/null 2>&1 &
		pid=$!
		for ((i = 0; i < QREP_KVM_PROBE_TIMEOUT * 10; i++)); do
			if grep -q 'Kernel panic' "$con" 2>/dev/null; then
				ok=1
				break
			fi
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		rm -f "$con"
		if [ "$ok" = 1 ]; then
			echo "-accel kvm -cpu host" >"$cache.tmp"
		else
			echo "-accel tcg -cpu max" >"$cache.tmp"
		fi
		mv -f "$cache.tmp" "$cache"
	fi
	cat "$cache"
}

# qrep_vm_cmdline: the guest kernel's command line. panic=-1 with QEMU's
# -no-reboot ends the VM at once on a panic, and oops=panic makes every
# oops a panic, so a crashed kernel fails the run quickly instead of
# hanging it until the timeout. Warnings do not panic: the run goes on
# and the console log scan fails it afterwards.
qrep_vm_cmdline() {
	local cmdline

	cmdline="console=ttyS0,115200 panic=-1 oops=panic slub_debug=$QREP_SLUB_DEBUG"
	cmdline+=" sysctl.kernel.hung_task_timeout_secs=$QREP_HUNG_TASK_TIMEOUT"
	cmdline+=" rcupdate.rcu_cpu_stall_timeout=$QREP_RCU_STALL_TIMEOUT"
	# Userspace markers in the kernel log are not rate-limited.
	cmdline+=" printk.devkmsg=on"
	# No speculation mitigations: they only slow TCG down.
	cmdline+=" mitigations=off"
	# ACPI IRQ routing runs AML, whose many small allocations are slow
	# under slub_debug (about 4 s per PCI device under TCG); the BIOS IRQ
	# table routes the same interrupts.
	cmdline+=" acpi=noirq"
	# The boot's check that the IO-APIC timer ticks measures against
	# wall time: on a loaded host under TCG it can find too few ticks
	# and panic ("IO-APIC + timer doesn't work!"); the timer is fine.
	cmdline+=" no_timer_check"
	echo "$cmdline${QREP_VM_CMDLINE:+ $QREP_VM_CMDLINE}"
}

# qrep_vm_qemu_args KVER CTLDIR: set the array QREP_QEMU_ARGS to the QEMU
# command for one VM, without serial ports or network.
qrep_vm_qemu_args() {
	local kver=$1 ctl=$2 kernel initrd accel
	local -a accel_args

	# Explicit returns: set -e does not apply when the caller tests us.
	kernel=$(qrep_vm_kernel "$kver") || return 1
	initrd=$(qrep_vm_initramfs "$kver") || return 1
	accel=$(qrep_vm_accel "$kernel") || return 1
	read -r -a accel_args <<<"$accel"
	# shellcheck disable=SC2034 # the callers' result
	QREP_QEMU_ARGS=(
		"$QREP_QEMU" -nodefaults -no-user-config -display none -no-reboot
		-M pc "${accel_args[@]}" -m "$QREP_VM_MEM" -smp "$QREP_VM_CPUS"
		-kernel "$kernel" -initrd "$initrd"
		-append "$(qrep_vm_cmdline)"
		-virtfs "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap"
		-virtfs "local,path=$ctl,mount_tag=ctl,security_model=none"
	)
}

# Persistent disks. Each is a raw file on the host, attached as a
# virtio-blk disk with cache=writeback: QEMU writes what the guest wrote
# into the host file (the host's page cache, which outlives the VM) and
# honours the guest's flushes, so a VM that is powered off (QEMU quits)
# and booted again on the same file finds on it what its kernel had
# written out, and loses what was still in its own page cache: a real
# machine's power loss. Disk I has the serial qrep-diskI (0, 1, ...);
# qemu/guest-stage2 names it /dev/disk/by-id/virtio-qrep-diskI, whatever
# the order in which the kernel found the disks.
QREP_VM_DISK_SERIAL=qrep-disk
: "${QREP_VM_DISK_SIZE:=1G}"		# a new disk file's size (truncate -s)

# qrep_vm_disk_create FILE SIZE: make FILE a sparse file of SIZE unless
# it exists (then it is kept as it is: that is the point).
qrep_vm_disk_create() {
	local file=$1 size=$2

	[ -e "$file" ] && return 0
	if ! [[ $size =~ ^[1-9][0-9]*[KMG]?$ ]]; then
		echo "${QREP_VM_PROG:-qemu}: a disk size is N, NK, NM or NG, not '$size'" >&2
		return 1
	fi
	truncate -s "$size" "$file"
}

# qrep_vm_disk_args FILE...: append one virtio-blk disk per FILE, in
# order, to QREP_QEMU_ARGS.
qrep_vm_disk_args() {
	local i=0 file

	for file; do
		if [ ! -f "$file" ]; then
			echo "${QREP_VM_PROG:-qemu}: no disk file $file" >&2
			return 1
		fi
		# (A comma in a QEMU option value is written twice.)
		# shellcheck disable=SC2054 # commas separate QEMU's suboptions
		QREP_QEMU_ARGS+=(
			-drive "file=${file//,/,,},if=none,id=disk$i,format=raw,cache=writeback"
			-device "virtio-blk-pci,drive=disk$i,serial=$QREP_VM_DISK_SERIAL$i"
		)
		i=$((i + 1))
	done
}

# qrep_vm_config FILE NAME=VALUE...: write the guest's config, which both
# busybox sh (initramfs-init) and bash (guest-stage2) source.
qrep_vm_config() {
	local file=$1 arg q="'" esc
	shift

	: >"$file.tmp"
	for arg in "$@"; do
		esc=${arg#*=}
		esc=${esc//$q/$q\\$q$q}
		printf "%s='%s'\n" "${arg%%=*}" "$esc" >>"$file.tmp"
	done
	mv -f "$file.tmp" "$file"
}

# qrep_vm_log_scan LOG...: print the lines of the kernel console logs that
# match qemu/kernel-log-patterns, with context; return 1 if any did.
qrep_vm_log_scan() {
	local log patterns found=0 ctx_before=3 ctx_after=15 max_lines=120

	patterns=$(grep -v -E '^[[:space:]]*(#|$)' "$QREP_VM_PATTERNS")
	for log in "$@"; do
		[ -f "$log" ] || continue
		# No grep -q: it would quit at the first match, and tr, killed
		# by SIGPIPE, would make the pipeline fail under the caller's
		# pipefail (run-vm, the cluster tests): a log longer than a
		# pipe's buffer would then pass however bad it is.
		if tr -d '\r' <"$log" | grep -E -e "$patterns" >/dev/null; then
			found=1
			echo "--- $log:"
			tr -d '\r' <"$log" |
				grep -n -E -B "$ctx_before" -A "$ctx_after" -e "$patterns" |
				head -n "$max_lines" | sed 's/^/  | /'
		fi
	done
	[ "$found" = 0 ]
}

# qrep_vm_log_tail LOG [N]: the last lines of a console log, to explain a
# VM that ended without reporting a status.
qrep_vm_log_tail() {
	[ -f "$1" ] || return 0
	tail -n "${2:-25}" "$1" | tr -d '\r' | sed 's/^/  | /'
}
