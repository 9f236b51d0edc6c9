#!/bin/bash
# Network faults short of a clean cut, between the device and its targets
# inside one test VM (partition.sh does the clean cut):
#
#   netfault_shape I NETEM...  target I's packets, both directions, go
#                              through tc netem with these parameters
#                              (delay 30ms 10ms loss 3% duplicate 2%
#                              reorder 25% ...); replaces I's last shape
#   netfault_unshape I         target I's packets pass unimpaired again
#   netfault_stats I           what I's netem did: "sent N dropped N"
#   netfault_oneway I to|from  drop only the packets to target I (its
#                              requests) or only those from it (its
#                              replies); the other direction flows
#   netfault_oneway_heal I     undo I's one-way cuts
#   netfault_clear             undo everything: call it from the cleanup
#
# Source it after targets.sh (it uses target_port and TARGETS_N). All the
# traffic is on loopback, where every packet leaves through lo's egress
# once: a prio qdisc there sends the packets whose source or destination
# port is target I's to a band of their own, whose child is I's netem
# while I is shaped and a plain pfifo otherwise (as in the other bands,
# which keep the default priority map, so nothing else is touched). The
# kernel refuses a duplicating netem beside another netem in the tree:
# with duplicate, shape one target at a time. One-way cuts are nftables rules on the output hook, in a table
# of their own, so partition.sh's cuts are independent of them.

NETFAULT_TABLE=qrep_netfault
# Bands 1:1-1:3 keep prio's default map; target I's band is 1:(4+I).
NETFAULT_FIRST_BAND=4
NETFAULT_BANDS=16

netfault_band() { echo "1:$((NETFAULT_FIRST_BAND + $1))"; }

# The prio qdisc, the filters and the one-way cut table, once.
netfault_setup()
{
	local i port

	tc qdisc show dev lo | grep -q '^qdisc prio 1: root' && return 0
	if [ "$TARGETS_N" -gt $((NETFAULT_BANDS - NETFAULT_FIRST_BAND + 1)) ]; then
		echo "netfault: $TARGETS_N targets, bands for only $((NETFAULT_BANDS - NETFAULT_FIRST_BAND + 1))"
		return 1
	fi
	modprobe -a sch_prio sch_netem cls_u32 nfnetlink nf_tables 2>/dev/null ||
		{ echo "netfault: cannot load sch_prio, sch_netem, cls_u32, nf_tables"; return 1; }
	tc qdisc add dev lo root handle 1: prio bands "$NETFAULT_BANDS" ||
		{ echo "netfault: cannot add the prio qdisc to lo"; return 1; }
	for ((i = 0; i < TARGETS_N; i++)); do
		port=$(target_port "$i")
		tc filter add dev lo parent 1: protocol ip prio 1 u32 \
			match ip sport "$port" 0xffff flowid "$(netfault_band "$i")" &&
		tc filter add dev lo parent 1: protocol ip prio 1 u32 \
			match ip dport "$port" 0xffff flowid "$(netfault_band "$i")" ||
			{ echo "netfault: cannot steer port $port to its band"; return 1; }
	done
	nft -f - <<-EOF || { echo "netfault: cannot create the nftables table"; return 1; }
	table inet $NETFAULT_TABLE {
		set to { type inet_service; }
		set from { type inet_service; }
		chain output {
			type filter hook output priority raw; policy accept;
			tcp dport @to drop
			tcp sport @from drop
		}
	}
	EOF
}

netfault_shape()
{
	local i=$1
	shift
	netfault_setup || return 1
	tc qdisc replace dev lo parent "$(netfault_band "$i")" netem "$@" ||
		{ echo "netfault: netem $* refused for target $i"; return 1; }
}

# Back to a pfifo, as prio's bands start (deleting the child would leave
# the band a black hole).
netfault_unshape()
{
	tc qdisc show dev lo | grep -q '^qdisc prio 1: root' || return 0
	tc qdisc replace dev lo parent "$(netfault_band "$1")" pfifo ||
		{ echo "netfault: cannot unshape target $1"; return 1; }
}

netfault_stats()
{
	tc -s qdisc show dev lo parent "$(netfault_band "$1")" |
		sed -n 's/^ *Sent [0-9]* bytes \([0-9]*\) pkt (dropped \([0-9]*\),.*/sent \1 dropped \2/p'
}

netfault_oneway()
{
	local port
	port=$(target_port "$1")
	case "$2" in
	to|from) ;;
	*) echo "netfault: one-way cut '$2': to or from"; return 1 ;;
	esac
	netfault_setup || return 1
	nft add element inet "$NETFAULT_TABLE" "$2" "{ $port }" ||
		{ echo "netfault: cannot cut port $port ($2)"; return 1; }
}

netfault_oneway_heal()
{
	local port dir
	port=$(target_port "$1")
	nft list table inet "$NETFAULT_TABLE" >/dev/null 2>&1 || return 0
	for dir in to from; do
		nft get element inet "$NETFAULT_TABLE" "$dir" "{ $port }" \
			>/dev/null 2>&1 || continue
		nft delete element inet "$NETFAULT_TABLE" "$dir" "{ $port }" ||
			{ echo "netfault: cannot heal port $port ($dir)"; return 1; }
	done
}

netfault_clear()
{
	local rc=0
	if tc qdisc show dev lo | grep -q '^qdisc prio 1: root'; then
		tc qdisc del dev lo root || rc=1
	fi
	if nft list table inet "$NETFAULT_TABLE" >/dev/null 2>&1; then
		nft delete table inet "$NETFAULT_TABLE" || rc=1
	fi
	[ "$rc" -eq 0 ] || echo "netfault: could not undo every fault"
	return "$rc"
}
