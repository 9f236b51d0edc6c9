# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# bench/lib/guest.sh: the pieces of a benchmark that run inside a VM
# (qemu/run-vm or a qemu/cluster.sh node), as root, in the project root.
# Sourced, never run. Every store lives on a tmpfs of its own at
# $BENCH_DIR, so that every device under test writes to the same kind of
# memory-backed file.
#
#   bench_prepare                   tmpfs on $BENCH_DIR, modules loaded
#   bench_target_start NAME SIZE UUID LISTEN [stats]
#   bench_target_stop NAME          a qrep-target and its store
#   bench_target_serve NAME LISTEN [stats]  bench_target_kill NAME
#                                   restart it on its store; kill -9 it
#   bench_target_stat NAME KEY      a counter from its --stats-file
#   bench_qrep_up DEV SIZE UUID MODE NAME=HOST:PORT...
#   bench_qrep_down DEV             /dev/qrepDEV over those targets
#   bench_nbd_serve NAME SIZE PORT  an nbd-server exporting a tmpfs file
#   bench_nbd_unserve NAME
#   bench_nbd_connect I HOST PORT   /dev/nbdI: the kernel's nbd client
#   bench_nbd_disconnect I
#   bench_md_up DEV...  bench_md_down   /dev/md/bench, raid1 over DEVs
#   bench_drbd_*                    DRBD 8.4 (see the functions)
#   bench_fio DEV RUNTIME SIZE RAMP WORKLOAD...
#                                   one fio run; "WORKLOAD METRIC VALUE" lines
#   bench_prefill DEV SIZE          write every block of the region once
#   bench_resync_once SIZE PCT SPAN one resync after PCT % divergence;
#                                   "METRIC VALUE" lines
#   bench_fo_node NODE ADDR  bench_fo_qrepd NODE
#                                   a failover cluster node's target, qrepd
#   bench_wait_state STATE SECONDS  bench_fo_poll FILE
#                                   /dev/qrep0 writable/secondary; the
#                                   first write accepted (failover.sh)
#   bench_kmem                      kernel memory in use, KiB
#   bench_rss PID                   resident set of a process, KiB
#
# Functions return non-zero and say why on stderr when something fails.

# The selftests' VM helpers: QREP_KO, PATH, qrep_load, wait_for.
# shellcheck source=selftests/lib/qrep.sh
. "${QREP_ROOT:?run inside the VM harness}/selftests/lib/qrep.sh"

BENCH_DIR=${BENCH_DIR:-/tmp/bench}
# Seconds a daemon may take to listen, a device to appear, DRBD to connect.
BENCH_START_TIMEOUT=30

bench_err() {
	echo "bench: $*" >&2
}

# (Functions and subshells rather than new programs: under TCG every
# exec costs a tenth of a second, and these are polled.)
bench_listening() {
	(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

bench_gone() {
	! kill -0 "$1" 2>/dev/null
}

# The stores get a tmpfs of their own, allowed most of the guest's memory
# (the default /tmp gets half). Its pages are allocated only when written,
# so sparse stores of any size fit.
bench_prepare() {
	mkdir -p "$BENCH_DIR"
	if ! mountpoint -q "$BENCH_DIR"; then
		mount -t tmpfs -o size=90%,mode=700 bench "$BENCH_DIR" || return 1
	fi
	modprobe -a nbd loop raid1 || return 1
	qrep_load
}

# ---- qrep ---------------------------------------------------------------

bench_target_start() {
	local name=$1 size=$2 uuid=$3 listen=$4

	qrep-target init --store "$BENCH_DIR/$name.store" --size "$size" \
		--uuid "$uuid" >/dev/null || return 1
	bench_target_serve "$name" "$listen" "${5:-}"
}

# bench_target_serve NAME LISTEN [stats]: a qrep-target on NAME's store
# (made by bench_target_start), again after bench_target_kill; with
# "stats", its counters in $BENCH_DIR/NAME.stats (bench_target_stat).
bench_target_serve() {
	local name=$1 listen=$2 log host
	local -a opt=()

	log=$BENCH_DIR/$name.log
	[ "${3:-}" != stats ] || opt=(--stats-file "$BENCH_DIR/$name.stats")
	setsid qrep-target serve --store "$BENCH_DIR/$name.store" --listen "$listen" \
		"${opt[@]}" >>"$log" 2>&1 </dev/null &
	echo "$!" >"$BENCH_DIR/$name.pid"
	host=${listen%:*}
	[ "$host" != 0.0.0.0 ] || host=127.0.0.1
	if ! wait_for "$BENCH_START_TIMEOUT" bench_listening "$host" "${listen##*:}"; then
		bench_err "qrep-target $name did not start:"
		tail -n 5 "$log" >&2
		return 1
	fi
}

# bench_target_kill NAME: kill -9, a crash; the store stays.
bench_target_kill() {
	local pid

	pid=$(cat "$BENCH_DIR/$1.pid" 2>/dev/null) || return 0
	kill -9 "$pid" 2>/dev/null || true
	wait_for 10 bench_gone "$pid"
	rm -f "$BENCH_DIR/$1.pid"
}

# bench_target_stat NAME KEY: a counter of NAME's stats file (0 if none).
bench_target_stat() {
	awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }' \
		"$BENCH_DIR/$1.stats" 2>/dev/null || echo 0
}

# bench_stop_pid FILE: end the process whose pid FILE holds, and wait.
bench_stop_pid() {
	local pid

	pid=$(cat "$1" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
	wait_for 10 bench_gone "$pid" || kill -9 "$pid" 2>/dev/null || true
	rm -f "$1"
}

bench_target_stop() {
	bench_stop_pid "$BENCH_DIR/$1.pid"
	rm -f "$BENCH_DIR/$1.store" "$BENCH_DIR/$1.log" "$BENCH_DIR/$1.stats"
}

bench_target_pid() {
	cat "$BENCH_DIR/$1.pid"
}

bench_qrep_conf() {
	echo "$BENCH_DIR/qrep$1.conf"
}

bench_qrep_up() {
	local dev=$1 size=$2 uuid=$3 mode=$4 r conf
	shift 4

	conf=$(bench_qrep_conf "$dev")
	{
		echo "resource bench$dev"
		echo "device $dev"
		echo "size $size"
		echo "uuid $uuid"
		echo "mode $mode"
		for r in "$@"; do
			echo "replica ${r%%=*} ${r#*=}"
		done
	} >"$conf"
	qrepctl up -c "$conf" >/dev/null || { rm -f "$conf"; return 1; }
	wait_for "$BENCH_START_TIMEOUT" test -b "/dev/qrep$dev"
}

bench_qrep_down() {
	local conf

	conf=$(bench_qrep_conf "$1")
	qrepctl down -c "$conf" >/dev/null || return 1
	rm -f "$conf"
}

# ---- nbd ----------------------------------------------------------------

# An nbd-server per export, each its own process and port, as three
# qrep-targets are three processes. FLUSH and FUA are offered, as qrep
# honours them.
bench_nbd_serve() {
	local name=$1 size=$2 port=$3 conf

	conf=$BENCH_DIR/$name.nbd.conf
	truncate -s "$size" "$BENCH_DIR/$name.img" || return 1
	cat >"$conf" <<-EOF
		[generic]
		port = $port
		allowlist = false
		[bench]
		exportname = $BENCH_DIR/$name.img
		flush = true
		fua = true
	EOF
	nbd-server -C "$conf" -p "$BENCH_DIR/$name.nbd.pid" \
		>"$BENCH_DIR/$name.nbd.log" 2>&1 </dev/null || {
		cat "$BENCH_DIR/$name.nbd.log" >&2
		return 1
	}
	wait_for "$BENCH_START_TIMEOUT" bench_listening 127.0.0.1 "$port" || {
		bench_err "nbd-server $name did not start"
		return 1
	}
}

bench_nbd_unserve() {
	bench_stop_pid "$BENCH_DIR/$1.nbd.pid"
	rm -f "$BENCH_DIR/$1.img" "$BENCH_DIR/$1".nbd.*
}

bench_nbd_connect() {
	local i=$1 host=$2 port=$3

	nbd-client -N bench -b 4096 "$host" "$port" "/dev/nbd$i" >/dev/null || return 1
	wait_for "$BENCH_START_TIMEOUT" bench_nbd_connected "$i"
}

bench_nbd_connected() {
	local sectors=0

	read -r sectors <"/sys/block/nbd$1/size" 2>/dev/null
	[ "${sectors:-0}" -gt 0 ]
}

bench_nbd_disconnect() {
	nbd-client -d "/dev/nbd$1" >/dev/null 2>&1 || true
	wait_for 10 eval "! bench_nbd_connected $1"
}

# ---- md raid1 -----------------------------------------------------------

BENCH_MD=/dev/md127

# No write-intent bitmap: qrep keeps none either (yet). --assume-clean:
# the members start equal (all zeros), no initial resync.
bench_md_up() {
	mdadm --create "$BENCH_MD" --run --level=1 --raid-devices=$# \
		--metadata=1.2 --bitmap=none --assume-clean "$@" </dev/null >/dev/null 2>&1 ||
		{ bench_err "mdadm --create failed"; return 1; }
	wait_for "$BENCH_START_TIMEOUT" test -b "$BENCH_MD"
}

bench_md_down() {
	mdadm --stop "$BENCH_MD" >/dev/null 2>&1
}

# ---- DRBD 8.4 -------------------------------------------------------------

BENCH_DRBD_CONF=$BENCH_DIR/drbd.res
BENCH_DRBD_DEV=/dev/drbd0

# bench_drbd_backing SIZE: a loop device on a tmpfs file, DRBD's disk.
# Internal metadata takes a little room at its end: 32 MiB more than the
# region under test.
bench_drbd_backing() {
	local file=$BENCH_DIR/drbd.img

	truncate -s "$1" "$file" && truncate -s +32M "$file" || return 1
	losetup --find --show "$file" >"$BENCH_DIR/drbd.loop" || return 1
	cat "$BENCH_DIR/drbd.loop"
}

# bench_drbd_conf NAME1 ADDR1 DISK1 NAME2 ADDR2 DISK2: the resource
# file, the same on both nodes. usage-count no: drbdadm would otherwise
# try to reach the outside world and ask questions.
bench_drbd_conf() {
	cat >"$BENCH_DRBD_CONF" <<-EOF
		global { usage-count no; }
		resource bench {
			protocol C;
			on $1 {
				device $BENCH_DRBD_DEV minor 0;
				disk $3;
				address $2;
				meta-disk internal;
			}
			on $4 {
				device $BENCH_DRBD_DEV minor 0;
				disk $6;
				address $5;
				meta-disk internal;
			}
		}
	EOF
}

bench_drbdadm() {
	drbdadm -c "$BENCH_DRBD_CONF" "$@" </dev/null
}

bench_drbd_up() {
	modprobe drbd || return 1
	bench_drbdadm -- --force create-md bench >/dev/null 2>&1 ||
		{ bench_err "drbdadm create-md failed"; return 1; }
	bench_drbdadm up bench
}

bench_drbd_connected() {
	[ "$(bench_drbdadm cstate bench 2>/dev/null)" = Connected ]
}

# On one node, once both are connected: both disks hold the same zeros,
# so skip the initial full sync, and become primary.
bench_drbd_primary() {
	wait_for "$BENCH_START_TIMEOUT" bench_drbd_connected ||
		{ bench_err "DRBD did not connect: $(bench_drbdadm cstate bench 2>&1)"; return 1; }
	bench_drbdadm -- --clear-bitmap new-current-uuid bench || return 1
	wait_for "$BENCH_START_TIMEOUT" bench_drbd_uptodate ||
		{ bench_err "DRBD disks: $(bench_drbdadm dstate bench 2>&1)"; return 1; }
	bench_drbdadm primary bench
}

bench_drbd_uptodate() {
	[ "$(bench_drbdadm dstate bench 2>/dev/null)" = UpToDate/UpToDate ]
}

bench_drbd_down() {
	bench_drbdadm down bench >/dev/null 2>&1 || true
	if [ -s "$BENCH_DIR/drbd.loop" ]; then
		losetup -d "$(cat "$BENCH_DIR/drbd.loop")" || true
	fi
	rm -f "$BENCH_DIR"/drbd.*
}

# ---- measuring ------------------------------------------------------------

# fio's arguments for each workload; the metrics each reports follow.
bench_fio_args() {
	case $1 in
	randwrite-qd1) echo "--rw=randwrite --bs=4k --iodepth=1" ;;
	randwrite-qd32) echo "--rw=randwrite --bs=4k --iodepth=32" ;;
	randread-qd32) echo "--rw=randread --bs=4k --iodepth=32" ;;
	seqwrite-1m) echo "--rw=write --bs=1M --iodepth=4" ;;
	seqread-1m) echo "--rw=read --bs=1M --iodepth=4" ;;
	*) return 1 ;;
	esac
}

# bench_fio DEV RUNTIME SIZE RAMP WORKLOAD...: run the workloads one after
# the other, in one fio process (under TCG starting fio costs seconds),
# each for RUNTIME seconds after RAMP seconds not measured, over the first
# SIZE bytes of DEV (O_DIRECT, libaio). Prints one "WORKLOAD METRIC VALUE"
# a line: iops, mibps, p50_us and p99_us. The latencies are fio's total
# latency, submission to completion: a driver that does its work inside
# io_submit shows it there rather than in the completion latency.
bench_fio() {
	local dev=$1 runtime=$2 size=$3 ramp=$4 wl args out
	local -a jobs=()
	shift 4

	for wl in "$@"; do
		args=$(bench_fio_args "$wl") || { bench_err "unknown workload $wl"; return 1; }
		# shellcheck disable=SC2206 # args is a list of words
		jobs+=(--name="$wl" --stonewall $args)
	done
	out=$BENCH_DIR/fio.json
	fio --filename="$dev" --direct=1 --ioengine=libaio --size="$size" \
		--time_based --runtime="$runtime" --ramp_time="$ramp" \
		--norandommap --randrepeat=0 --percentile_list=50:99 --lat_percentiles=1 \
		--output-format=json --output="$out" "${jobs[@]}" >/dev/null 2>"$out.err" || {
		bench_err "fio on $dev failed:"
		cat "$out.err" >&2
		return 1
	}
	jq -r '.jobs[] | .jobname as $n |
		(if ($n | test("read")) then .read else .write end) |
		"\($n) iops \(.iops)",
		"\($n) mibps \(.bw / 1024)",
		"\($n) p50_us \(.lat_ns.percentile["50.000000"] / 1000)",
		"\($n) p99_us \(.lat_ns.percentile["99.000000"] / 1000)"' "$out"
	rm -f "$out" "$out.err"
}

# Write the region once, so that reads find data everywhere (a block never
# written may cost nothing to read).
bench_prefill() {
	fio --name=prefill --filename="$1" --direct=1 --ioengine=libaio \
		--rw=write --bs=1M --iodepth=4 --size="$2" \
		--output-format=terse >/dev/null 2>"$BENCH_DIR/prefill.err" || {
		cat "$BENCH_DIR/prefill.err" >&2
		return 1
	}
}

# Kernel memory in use, KiB: slab, vmalloc, per-CPU, stacks and page
# tables, from /proc/meminfo.
bench_kmem() {
	awk '$1 ~ /^(Slab|VmallocUsed|Percpu|KernelStack|PageTables):$/ { s += $2 }
		END { print s }' /proc/meminfo
}

bench_rss() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"
}

# ---- resync -----------------------------------------------------------------

bench_now_ms() {
	echo $((${EPOCHREALTIME/[.,]/} / 1000))
}

bench_replica_state() {
	qrepctl status "$1" 2>/dev/null |
		awk -v n="$2" '$1 == "replica" && index($3, n "@") == 1 { print $4 }'
}

bench_replica_failed() {
	[ "$(bench_replica_state "$1" "$2")" = failed ]
}

# bench_resync_once SIZE PCT SPAN: qrep mirror N=3 (targets a, b, c on
# loopback, stores of SIZE); b crashes (kill -9); PCT % of the device is
# written as random, distinct SPAN-sized writes (fio randwrite, each span
# once); b is restarted on its store and `qrepctl reconnect` brings it
# back: its resync copies what b missed. Prints "METRIC VALUE" lines:
# time_s (the reconnect, from the command to b up to date), moved_mib
# (what b's target received meanwhile, from its stats file: block data,
# headers, version requests), missed_mib (what was written while b was
# away) and ratio (moved / missed).
bench_resync_once() {
	local size=$1 pct=$2 span=$3 uuid i conf spans depth bytes span_b before after t0 t1 err
	local -a reps=()

	bytes=$(bench_bytes "$size") && span_b=$(bench_bytes "$span") || return 1
	spans=$((bytes * pct / 100 / span_b))
	[ "$spans" -gt 0 ] || spans=1
	# At most 4 MiB in flight: under TCG, more can keep a target from
	# answering within the I/O timeout.
	depth=$(((4 << 20) / span_b))
	[ "$depth" -le 16 ] || depth=16
	[ "$depth" -ge 1 ] || depth=1
	uuid=$(bench_uuid)
	for i in 0 1 2; do
		bench_target_start "${BENCH_NAMES[i]}" "$size" "$uuid" \
			"127.0.0.1:$((BENCH_QREP_PORT + i))" stats || return 1
		reps+=("${BENCH_NAMES[i]}=127.0.0.1:$((BENCH_QREP_PORT + i))")
	done
	bench_qrep_up 0 "$size" "$uuid" mirror "${reps[@]}" || return 1
	conf=$(bench_qrep_conf 0)
	bench_target_kill b
	fio --name=diverge --filename=/dev/qrep0 --direct=1 --ioengine=libaio \
		--rw=randwrite --bs="$span" --iodepth="$depth" --size="$size" \
		--io_size=$((spans * span_b)) --randrepeat=0 \
		--output-format=terse >/dev/null 2>"$BENCH_DIR/diverge.err" || {
		cat "$BENCH_DIR/diverge.err" >&2
		return 1
	}
	wait_for 30 bench_replica_failed 0 b ||
		{ bench_err "b is $(bench_replica_state 0 b), not failed"; return 1; }
	bench_target_serve b "127.0.0.1:$((BENCH_QREP_PORT + 1))" stats || return 1
	# The stats file is rewritten once a second.
	sleep 1.5
	before=$(bench_target_stat b bytes_received)
	t0=$(bench_now_ms)
	err=$(qrepctl reconnect -c "$conf" b 2>&1) ||
		{ bench_err "qrepctl reconnect: $err"; return 1; }
	t1=$(bench_now_ms)
	[ "$(bench_replica_state 0 b)" = up-to-date ] ||
		{ bench_err "b is $(bench_replica_state 0 b) after the resync"; return 1; }
	sleep 1.5
	after=$(bench_target_stat b bytes_received)
	awk -v t=$((t1 - t0)) -v m=$((after - before)) -v x=$((spans * span_b)) 'BEGIN {
		printf "time_s %.3f\nmoved_mib %.3f\nmissed_mib %.3f\nratio %.4f\n",
			t / 1000, m / 1048576, x / 1048576, m / x }'
}

# bench_bytes SIZE: a size like 64k or 1G in bytes.
bench_bytes() {
	local n=${1%[KkMmGg]}

	[[ $n =~ ^[0-9]+$ ]] || { bench_err "'$1' is not a size"; return 1; }
	case $1 in
	*[Kk]) echo $((n << 10)) ;;
	*[Mm]) echo $((n << 20)) ;;
	*[Gg]) echo $((n << 30)) ;;
	*) echo "$n" ;;
	esac
}

# ---- failover (a qemu/cluster.sh node; qrepd --node) ------------------------

# bench_fo_node NODE ADDR: this node's part of the cluster: the resource
# file and secret the host left in the control share, a blank store of
# the resource's size (the node's tmpfs: blank after every boot) and its
# qrep-target on ADDR (with the secret).
bench_fo_node() {
	local node=$1 addr=$2 size uuid

	qrep_load || return 1
	mkdir -p "$BENCH_DIR" || return 1
	install -m 0600 "$QREP_CTL/fo.secret" "$BENCH_DIR/fo.secret" &&
		cp "$QREP_CTL/fo.conf" "$BENCH_DIR/fo.conf" || return 1
	size=$(awk '$1 == "size" { print $2 }' "$BENCH_DIR/fo.conf")
	uuid=$(awk '$1 == "uuid" { print $2 }' "$BENCH_DIR/fo.conf")
	qrep-target init --store "$BENCH_DIR/fo.store" --size "$size" \
		--uuid "$uuid" >/dev/null || return 1
	setsid qrep-target serve --store "$BENCH_DIR/fo.store" --listen "$addr" \
		--secret-file "$BENCH_DIR/fo.secret" \
		>>"$QREP_CTL/target.log" 2>&1 </dev/null &
	wait_for "$BENCH_START_TIMEOUT" bench_listening "${addr%:*}" "${addr##*:}" ||
		{ bench_err "qrep-target on node$node did not start"; return 1; }
}

# bench_fo_qrepd NODE: qrepd --node NODE, in the background.
bench_fo_qrepd() {
	setsid qrepd -c "$BENCH_DIR/fo.conf" --node "$1" \
		>>"$QREP_CTL/qrepd.log" 2>&1 </dev/null &
}

bench_state_is() {
	[ "$(qrep_dev_state)" = "$1" ]
}

# bench_wait_state STATE SECONDS
bench_wait_state() {
	wait_for "$2" bench_state_is "$1" ||
		{ bench_err "/dev/qrep0 on $(hostname) is $(qrep_dev_state), not $1"; return 1; }
}

# bench_fo_poll FILE: until a 4 KiB O_DIRECT write to /dev/qrep0 is
# accepted, try every 20 ms; then write "ok" to FILE. The device is
# opened for writing cheaply (qrep_dev_state) until it is writable, and
# only then is dd started: under TCG starting a program takes a tenth
# of a second, and a poller that never sleeps would steal the vCPU from
# the election. Run it in the background.
bench_fo_poll() {
	local fifo=$BENCH_DIR/fo.poll fd

	rm -f "$fifo" "$1"
	mkfifo "$fifo" && exec {fd}<>"$fifo" || return 1
	echo started >"$1.started"
	until [ "$(qrep_dev_state)" = writable ] &&
		dd if=/dev/urandom of=/dev/qrep0 bs=4k count=1 oflag=direct \
			status=none 2>/dev/null; do
		read -r -t 0.02 -u "$fd"
	done
	echo ok >"$1"
}

# bench_replica_up_to_date NAME: replica NAME is up to date on this
# node's device.
bench_replica_up_to_date() {
	[ "$(bench_replica_state 0 "$1")" = up-to-date ]
}
