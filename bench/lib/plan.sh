# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# bench/lib/plan.sh: what a benchmark run measures and in which order.
# Sourced by both halves of make bench: bench/guest-local.sh, inside the
# single VM, and bench/run, on the host, for the two VMs of the DRBD
# comparison. The caller defines
#
#   bench_on NODE CMD...   run the shell command line CMD on node NODE
#                          (1: the node whose device is measured), with
#                          bench/lib/guest.sh's functions; its stdout
#                          comes back on ours
#   bench_emit SECTION ROW WORKLOAD METRIC REP VALUE
#                          record one raw result (bench/report turns
#                          them into the table)
#   bench_log TEXT         progress, for the person waiting
#
# and the settings BENCH_REPS, BENCH_RUNTIME, BENCH_RAMP and BENCH_SIZE
# (see bench/run).
#
# A row of the comparison is "ID|KIND|NODES|LABEL", NODES a comma list:
#
#   qrep-mirror    one qrep-target on each NODE, /dev/qrep0 on node 1
#   qrep-quorum    the same in quorum mode
#   nbd            nbd-server on the (one) NODE, the kernel client on 1
#   md-raid1-nbd   an nbd-server on each NODE, md raid1 over their nbd
#                  devices on node 1
#   drbd-c         DRBD protocol C, primary on node 1, peer on the
#                  other NODE (two nodes exactly)
#
# A daemon on node 1 is reached over loopback, one on node I over the
# virtual switch at 192.0.2.I. Every row gets the same fresh, empty stores
# (files on a tmpfs, sized BENCH_SIZE) for every repetition, is written
# once in full before any read workload (so reads find data), then runs
# the workloads one after the other.

BENCH_NET=192.0.2
BENCH_QREP_PORT=7801
BENCH_NBD_PORT=10809
BENCH_DRBD_PORT=7789
BENCH_NAMES=(a b c d e f g h)

# bench_addr NODE: how node 1 reaches a daemon on NODE.
bench_addr() {
	if [ "$1" = 1 ]; then
		echo 127.0.0.1
	else
		echo "$BENCH_NET.$1"
	fi
}

bench_uuid() {
	cat /proc/sys/kernel/random/uuid
}

# bench_row_dev KIND: the device a row measures, on node 1.
bench_row_dev() {
	case $1 in
	qrep-*) echo /dev/qrep0 ;;
	nbd) echo /dev/nbd0 ;;
	md-raid1-nbd) echo /dev/md127 ;;
	drbd-c) echo /dev/drbd0 ;;
	esac
}

# bench_row_up KIND NODES: set the row up.
bench_row_up() {
	local kind=$1 i n addr uuid mode=mirror
	local -a nodes reps=() loops=()

	IFS=, read -r -a nodes <<<"$2"
	case $kind in
	qrep-mirror | qrep-quorum)
		[ "$kind" = qrep-mirror ] || mode=quorum
		uuid=$(bench_uuid)
		for i in "${!nodes[@]}"; do
			n=${nodes[i]}
			addr=$(bench_addr "$n"):$((BENCH_QREP_PORT + i))
			bench_on "$n" bench_target_start "${BENCH_NAMES[i]}" "$BENCH_SIZE" \
				"$uuid" "$addr" || return 1
			reps+=("${BENCH_NAMES[i]}=$addr")
		done
		bench_on 1 bench_qrep_up 0 "$BENCH_SIZE" "$uuid" "$mode" "${reps[@]}" || return 1
		;;
	nbd)
		n=${nodes[0]}
		bench_on "$n" bench_nbd_serve nbd0 "$BENCH_SIZE" "$BENCH_NBD_PORT" || return 1
		bench_on 1 bench_nbd_connect 0 "$(bench_addr "$n")" "$BENCH_NBD_PORT" || return 1
		;;
	md-raid1-nbd)
		for i in "${!nodes[@]}"; do
			n=${nodes[i]}
			bench_on "$n" bench_nbd_serve "nbd$((i + 1))" "$BENCH_SIZE" \
				$((BENCH_NBD_PORT + i + 1)) || return 1
			bench_on 1 bench_nbd_connect $((i + 1)) "$(bench_addr "$n")" \
				$((BENCH_NBD_PORT + i + 1)) || return 1
			loops+=("/dev/nbd$((i + 1))")
		done
		bench_on 1 bench_md_up "${loops[@]}" || return 1
		;;
	drbd-c)
		if [ "${#nodes[@]}" != 2 ] || [ "${nodes[0]}" != 1 ]; then
			echo "bench: drbd-c runs on node 1 and one other" >&2
			return 1
		fi
		n=${nodes[1]}
		loops[0]=$(bench_on 1 bench_drbd_backing "$BENCH_SIZE") || return 1
		loops[1]=$(bench_on "$n" bench_drbd_backing "$BENCH_SIZE") || return 1
		for i in 1 "$n"; do
			bench_on "$i" bench_drbd_conf \
				node1 "$BENCH_NET.1:$BENCH_DRBD_PORT" "${loops[0]}" \
				"node$n" "$BENCH_NET.$n:$BENCH_DRBD_PORT" "${loops[1]}" || return 1
		done
		bench_on 1 bench_drbd_up || return 1
		bench_on "$n" bench_drbd_up || return 1
		bench_on 1 bench_drbd_primary || return 1
		;;
	*)
		echo "bench: unknown kind of row '$kind'" >&2
		return 1
		;;
	esac
}

# bench_row_down KIND NODES: undo bench_row_up, also a half-done one.
bench_row_down() {
	local kind=$1 i
	local -a nodes

	IFS=, read -r -a nodes <<<"$2"
	case $kind in
	qrep-*)
		bench_on 1 "bench_qrep_down 0 2>/dev/null"
		for i in "${!nodes[@]}"; do
			bench_on "${nodes[i]}" bench_target_stop "${BENCH_NAMES[i]}"
		done
		;;
	nbd)
		bench_on 1 bench_nbd_disconnect 0
		bench_on "${nodes[0]}" bench_nbd_unserve nbd0
		;;
	md-raid1-nbd)
		bench_on 1 bench_md_down
		for i in "${!nodes[@]}"; do
			bench_on 1 bench_nbd_disconnect $((i + 1))
			bench_on "${nodes[i]}" bench_nbd_unserve "nbd$((i + 1))"
		done
		;;
	drbd-c)
		# Secondary first: a primary going down alone would be fine too.
		bench_on "${nodes[1]}" bench_drbd_down
		bench_on 1 bench_drbd_down
		;;
	esac
	return 0
}

# bench_compare SECTION "WORKLOAD..." ROW...: every workload on every row,
# BENCH_REPS times. The repetitions are the outer loop, so that a burst of
# load from elsewhere on the machine spreads over all rows instead of
# falling on one. A row that cannot be set up is left out of the later
# repetitions: reported as not available, with the reason, if it never
# was set up, else listed as a failed step beside the numbers it has.
bench_compare() {
	local section=$1 wl rep row id kind nodes label err out metric value dev prefill=0
	local -a workloads rows
	local -A dead=() measured=()

	read -r -a workloads <<<"$2"
	shift 2
	rows=("$@")
	case " ${workloads[*]} " in
	*read*) prefill=1 ;;
	esac
	for row in "${rows[@]}"; do
		IFS='|' read -r id kind nodes label <<<"$row"
		bench_emit "$section" "$id" - label - "$label"
	done
	for ((rep = 1; rep <= BENCH_REPS; rep++)); do
		for row in "${rows[@]}"; do
			IFS='|' read -r id kind nodes label <<<"$row"
			[ -z "${dead[$id]:-}" ] || continue
			bench_log "$section: $id, repetition $rep of $BENCH_REPS"
			if ! err=$(bench_row_up "$kind" "$nodes" 2>&1); then
				bench_log "$id: set-up failed: $err"
				if [ -n "${measured[$id]:-}" ]; then
					# It worked before: keep its numbers, list the failure.
					bench_emit "$section" "$id" - error "$rep" \
						"set-up failed: $(bench_first_line "$err")"
				else
					bench_emit "$section" "$id" - status - \
						"not available: set-up failed: $(bench_first_line "$err")"
				fi
				dead[$id]=1
				bench_row_down "$kind" "$nodes" >/dev/null 2>&1
				continue
			fi
			measured[$id]=1
			dev=$(bench_row_dev "$kind")
			if [ "$prefill" = 1 ] && ! err=$(bench_on 1 bench_prefill "$dev" "$BENCH_SIZE" 2>&1); then
				bench_log "$id: writing the region failed: $err"
				bench_emit "$section" "$id" - error "$rep" "prefill failed: $(bench_first_line "$err")"
			fi
			if ! out=$(bench_on 1 bench_fio "$dev" "$BENCH_RUNTIME" "$BENCH_SIZE" \
				"$BENCH_RAMP" "${workloads[@]}" 2>&1); then
				bench_log "$id: fio failed: $out"
				for wl in "${workloads[@]}"; do
					bench_emit "$section" "$id" "$wl" error "$rep" "$(bench_first_line "$out")"
				done
			fi
			while read -r wl metric value; do
				[[ $value =~ ^[0-9.e+-]+$ ]] || continue
				bench_emit "$section" "$id" "$wl" "$metric" "$rep" "$value"
			done <<<"$out"
			bench_row_down "$kind" "$nodes" >/dev/null 2>&1
		done
	done
}

bench_first_line() {
	local line

	# The last line says most: the tool's own error after any chatter.
	line=$(printf '%s\n' "$1" | grep -v '^[[:space:]]*$' | tail -n 1)
	line=${line//,/;}
	echo "${line:0:160}"
}

# bench_grow SIZE...: memory as the device grows, on node 1 (all local):
# three targets on sparse stores of SIZE; kernel memory before and after
# the device is created; the targets' resident memory after creation and
# after BENCH_RUNTIME seconds of 4k random writes over the whole device;
# the tmpfs the stores then use (metadata and data written).
bench_grow() {
	local size uuid i pid kmem0 kmem1 kmem2 rss1=0 rss2=0 store=0 r v
	local -a reps

	for size in "$@"; do
		bench_log "memory: a device of $size"
		bench_emit mem "$size" - label - "$size"
		uuid=$(bench_uuid)
		reps=()
		for i in 0 1 2; do
			bench_on 1 bench_target_start "${BENCH_NAMES[i]}" "$size" "$uuid" \
				"127.0.0.1:$((BENCH_QREP_PORT + i))" || break
			reps+=("${BENCH_NAMES[i]}=127.0.0.1:$((BENCH_QREP_PORT + i))")
		done
		kmem0=$(bench_on 1 bench_kmem)
		if [ "${#reps[@]}" = 3 ] && bench_on 1 bench_qrep_up 0 "$size" "$uuid" mirror "${reps[@]}"; then
			kmem1=$(bench_on 1 bench_kmem)
			rss1=0
			for i in 0 1 2; do
				pid=$(bench_on 1 bench_target_pid "${BENCH_NAMES[i]}")
				rss1=$((rss1 + $(bench_on 1 bench_rss "$pid")))
			done
			bench_on 1 bench_fio /dev/qrep0 "$BENCH_RUNTIME" "$size" 0 randwrite-qd32 >/dev/null
			kmem2=$(bench_on 1 bench_kmem)
			rss2=0 store=0
			for i in 0 1 2; do
				pid=$(bench_on 1 bench_target_pid "${BENCH_NAMES[i]}")
				rss2=$((rss2 + $(bench_on 1 bench_rss "$pid")))
				store=$((store + $(bench_on 1 "du -k $BENCH_DIR/${BENCH_NAMES[i]}.store | cut -f1")))
			done
			for r in "kmem_up_kib:$((kmem1 - kmem0))" "kmem_io_kib:$((kmem2 - kmem0))" \
				"target_rss_kib:$((rss1 / 3))" "target_rss_io_kib:$((rss2 / 3))" \
				"store_kib:$((store / 3))"; do
				v=${r#*:}
				bench_emit mem "$size" - "${r%%:*}" 1 "$v"
			done
		else
			bench_emit mem "$size" - status - "not available: the device did not come up"
		fi
		bench_row_down qrep-mirror 1,1,1 >/dev/null 2>&1
	done
}

# bench_resync SIZE SPAN PCT...: resync after PCT % of a SIZE device was
# written (in random SPAN-sized writes) while one replica of qrep mirror
# N=3 was away, on node 1 (all local), BENCH_REPS times; repetitions are
# the outer loop, as in bench_compare. Fresh stores for each measurement.
bench_resync() {
	local size=$1 span=$2 pct rep out err metric value
	local -A dead=()
	shift 2

	for pct in "$@"; do
		bench_emit resync "$pct" - label - "$pct % of $size"
	done
	for ((rep = 1; rep <= BENCH_REPS; rep++)); do
		for pct in "$@"; do
			[ -z "${dead[$pct]:-}" ] || continue
			bench_log "resync: $pct % of $size, repetition $rep of $BENCH_REPS"
			if ! out=$(bench_on 1 bench_resync_once "$size" "$pct" "$span" 2>&1); then
				err=$(bench_first_line "$out")
				bench_log "resync of $pct %: $out"
				if [ "$rep" = 1 ]; then
					bench_emit resync "$pct" - status - "not available: $err"
				else
					bench_emit resync "$pct" - error "$rep" "$err"
				fi
				dead[$pct]=1
			fi
			while read -r metric value; do
				[[ $value =~ ^[0-9.e+-]+$ ]] || continue
				bench_emit resync "$pct" - "$metric" "$rep" "$value"
			done <<<"$out"
			bench_row_down qrep-mirror 1,1,1 >/dev/null 2>&1
		done
	done
}
