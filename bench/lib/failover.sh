# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# bench/lib/failover.sh: the failover part of make bench, on the host,
# with three VMs of qemu/cluster.sh (sourced first). Each node runs a
# qrep-target and qrepd --node on one resource in quorum mode (W = R = 2
# of 3), as selftests/qrep/cluster_failover.sh sets it up; the nodes
# elect the biggest id they reach. Each repetition powers the primary off
# (QEMU quits: no shutdown) and measures the time until a 4 KiB O_DIRECT
# write is accepted on the node expected to win (the biggest id left):
# from the host's clock before the power cut to the moment a poller,
# started on that node before the cut, reports the write done through
# the node's control share (polled every 10 ms). The node that was
# switched off is then booted again, blank, and follows; the next
# repetition cuts the new primary. The caller defines bench_emit and
# bench_log (as for plan.sh) and sets BENCH_REPS.
#
#   bench_failover SIZE

BENCH_FO_TARGET_PORT=7801
BENCH_DIR_GUEST=/tmp/bench	# guest.sh's BENCH_DIR
BENCH_FO_QREPD_PORT=7901
# The election's settings, written into the resource file and reported
# beside the times: qrepd's defaults (userspace/qrepd/election.h).
BENCH_FO_SETTINGS="heartbeat-interval:250 heartbeat-timeout:1500
election-ack-timeout:500 coordinator-timeout:3000 epoch-quorum-timeout:1000"
# Seconds: to boot and elect the first primary, for a failover, for a
# node that comes back to follow and be resynced.
BENCH_FO_ELECT_WAIT=60
BENCH_FO_WAIT=60
BENCH_FO_FOLLOW_WAIT=180

bench_fo_now_ms() {
	echo $((${EPOCHREALTIME/[.,]/} / 1000))
}

bench_fo_on() {
	local node=$1
	shift
	vm_exec "$node" ". bench/lib/guest.sh && $*"
}

bench_fo_ctl() {
	echo "$CLUSTER_DIR/node$1/ctl"
}

# bench_fo_resource SIZE DIR: fo.conf and fo.secret in DIR.
bench_fo_resource() {
	local i kv

	head -c 32 /dev/urandom | base64 >"$2/fo.secret" || return 1
	chmod 600 "$2/fo.secret"
	{
		echo "resource fo"
		echo "device 0"
		echo "size $1"
		echo "uuid $(cat /proc/sys/kernel/random/uuid)"
		echo "mode quorum"
		echo "io-timeout 2s"
		echo "connect-timeout 2s"
		echo "reconnect-interval 1s"
		echo "secret-file $BENCH_DIR_GUEST/fo.secret"
		for i in 1 2 3; do
			echo "replica n$i $CLUSTER_NET.$i:$BENCH_FO_TARGET_PORT"
		done
		for i in 1 2 3; do
			echo "node $i $CLUSTER_NET.$i:$BENCH_FO_QREPD_PORT"
		done
		for kv in $BENCH_FO_SETTINGS; do
			echo "${kv%%:*} ${kv#*:}ms"
		done
		echo "failback never"
	} >"$2/fo.conf"
}

# bench_fo_start NODE: a freshly booted node's target (blank store).
bench_fo_start() {
	cp "$WORK_FO/fo.conf" "$WORK_FO/fo.secret" "$(bench_fo_ctl "$1")/" &&
		bench_fo_on "$1" bench_fo_node "$1" "$CLUSTER_NET.$1:$BENCH_FO_TARGET_PORT"
}

# bench_fo_once FROM TO: power FROM (the primary) off; print the ms until
# TO accepted a write.
bench_fo_once() {
	local from=$1 to=$2 flag t0 end

	flag=$(bench_fo_ctl "$to")/fo.accepted
	rm -f "$flag" "$flag.started"
	bench_fo_on "$to" "setsid bash -c '. bench/lib/guest.sh && bench_fo_poll \$QREP_CTL/fo.accepted' \
		</dev/null >/dev/null 2>&1 &" || return 1
	end=$((SECONDS + 30))
	until [ -e "$flag.started" ]; do
		[ "$SECONDS" -lt "$end" ] || { echo "the poller on node$to did not start"; return 1; }
		sleep 0.05
	done
	[ ! -e "$flag" ] || { echo "node$to accepted a write before the power cut"; return 1; }
	t0=$(bench_fo_now_ms)
	vm_crash "$from" || return 1
	end=$((SECONDS + BENCH_FO_WAIT))
	until [ -e "$flag" ]; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "node$to accepted no write within $BENCH_FO_WAIT s"
			vm_exec "$to" "qrepctl status; cat /run/qrep/fo.cluster" 2>&1 | head -n 30
			return 1
		fi
		sleep 0.01
	done
	echo $(($(bench_fo_now_ms) - t0))
}

bench_failover() {
	local size=$1 rep primary=3 next i ms kv pids=() rc=0

	bench_emit failover qrep-quorum-3 - label - "qrep quorum N=3 on 3 VMs"
	for kv in $BENCH_FO_SETTINGS; do
		bench_emit failover qrep-quorum-3 - "${kv%%:*}_ms" 1 "${kv#*:}"
	done
	WORK_FO=$CLUSTER_DIR/failover
	mkdir -p "$WORK_FO" && bench_fo_resource "$size" "$WORK_FO" || return 1
	for i in 1 2 3; do
		bench_fo_start "$i" &
		pids+=("$!")
	done
	for i in 0 1 2; do
		wait "${pids[i]}" || rc=1
	done
	[ "$rc" = 0 ] || return 1
	# qrepd on node 3 first, so that it is the first primary (as in the
	# cluster test: started together, a smaller node may win and stay).
	bench_fo_on 3 bench_fo_qrepd 3 &&
		bench_fo_on 3 bench_wait_state writable "$BENCH_FO_ELECT_WAIT" || return 1
	for i in 1 2; do
		bench_fo_on "$i" bench_fo_qrepd "$i" || return 1
	done
	for i in 1 2; do
		bench_fo_on "$i" bench_wait_state secondary "$BENCH_FO_ELECT_WAIT" || return 1
	done
	for ((rep = 1; rep <= BENCH_REPS; rep++)); do
		# The biggest id left wins.
		next=3
		[ "$primary" != 3 ] || next=2
		bench_log "failover: node$primary powered off, node$next should take over ($rep of $BENCH_REPS)"
		if ! ms=$(bench_fo_once "$primary" "$next" 2>&1) || ! [[ $ms =~ ^[0-9]+$ ]]; then
			bench_log "failover: $ms"
			bench_emit failover qrep-quorum-3 - error "$rep" "$(bench_first_line "$ms")"
			return 1
		fi
		bench_log "failover: node$next accepted a write after $ms ms"
		bench_emit failover qrep-quorum-3 - failover_ms "$rep" "$ms"
		# The last time nothing follows: leave the node off.
		[ "$rep" -lt "$BENCH_REPS" ] || break
		vm_start "$primary" && bench_fo_start "$primary" &&
			bench_fo_on "$primary" bench_fo_qrepd "$primary" || return 1
		bench_fo_on "$primary" bench_wait_state secondary "$BENCH_FO_FOLLOW_WAIT" || return 1
		bench_fo_on "$next" wait_for "$BENCH_FO_FOLLOW_WAIT" bench_replica_up_to_date "n$primary" ||
			{ bench_log "failover: n$primary was not resynced on node$next"; return 1; }
		primary=$next
	done
}
