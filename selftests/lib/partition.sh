#!/bin/bash
# Network partitions between the device and its targets, inside one test
# VM, with nftables: the targets keep running, but nothing reaches them or
# comes back from them, as when a cable is pulled or a switch dies. TCP on
# the device's side stalls (retransmits, then the io-timeout fails the
# replica); new connections (qrepctl reconnect, qrepd) time out.
#
#   partition_cut I      cut target I (0-based) off: every TCP packet to
#                        or from its port is dropped, both directions,
#                        new connections included. Idempotent.
#   partition_heal I     undo exactly that cut; other cuts stay.
#                        Idempotent (healing a target not cut is fine).
#   partition_heal_all   undo every cut and remove our nftables table.
#                        Idempotent: call it from the test's cleanup.
#   partition_is_cut I   true while target I is cut
#   partition_cuts       the ports cut now, one a line
#
# Source it after targets.sh (it uses target_port). Targets listen on
# 127.0.0.1 ports; a cut is that port in a set that two rules (input and
# output hooks, raw priority, before anything else) match as source or
# destination port: on loopback each packet crosses both hooks, and
# matching either port covers both directions. Cut and heal add and
# delete one set element, so they are atomic, and cutting one target
# never touches another's cut.
#
# The set lives in table "inet qrep_partition"; nothing else of the
# machine's rules is changed (the test VM has none of its own).

PARTITION_TABLE=qrep_partition

# Load nf_tables (the VM boots with no netfilter) and create the table, its
# set and its two chains, once.
partition_setup()
{
	nft list table inet "$PARTITION_TABLE" >/dev/null 2>&1 && return 0
	if ! command -v nft >/dev/null; then
		echo "partition: the nft binary is missing (apt-get install nftables)"
		return 1
	fi
	modprobe -a nfnetlink nf_tables 2>/dev/null ||
		{ echo "partition: cannot load nf_tables"; return 1; }
	nft -f - <<-EOF || { echo "partition: cannot create the nftables table"; return 1; }
	table inet $PARTITION_TABLE {
		set cut {
			type inet_service
		}
		chain input {
			type filter hook input priority raw; policy accept;
			tcp dport @cut drop
			tcp sport @cut drop
		}
		chain output {
			type filter hook output priority raw; policy accept;
			tcp dport @cut drop
			tcp sport @cut drop
		}
	}
	EOF
}

partition_port_cut()
{
	nft get element inet "$PARTITION_TABLE" cut "{ $1 }" >/dev/null 2>&1
}

partition_is_cut() { partition_port_cut "$(target_port "$1")"; }

partition_cut()
{
	local port
	port=$(target_port "$1")
	partition_setup || return 1
	partition_port_cut "$port" && return 0
	nft add element inet "$PARTITION_TABLE" cut "{ $port }" ||
		{ echo "partition: cannot cut port $port"; return 1; }
	partition_port_cut "$port" ||
		{ echo "partition: port $port is not in the cut set after adding it"; return 1; }
}

partition_heal()
{
	local port
	port=$(target_port "$1")
	nft list table inet "$PARTITION_TABLE" >/dev/null 2>&1 || return 0
	partition_port_cut "$port" || return 0
	nft delete element inet "$PARTITION_TABLE" cut "{ $port }" ||
		{ echo "partition: cannot heal port $port"; return 1; }
	! partition_port_cut "$port" ||
		{ echo "partition: port $port is still cut after healing it"; return 1; }
}

partition_heal_all()
{
	nft list table inet "$PARTITION_TABLE" >/dev/null 2>&1 || return 0
	nft delete table inet "$PARTITION_TABLE" ||
		{ echo "partition: cannot remove table $PARTITION_TABLE"; return 1; }
}

partition_cuts()
{
	nft list table inet "$PARTITION_TABLE" >/dev/null 2>&1 || return 0
	nft -n list set inet "$PARTITION_TABLE" cut |
		sed -n 's/^[[:space:]]*elements = {\(.*\)}.*/\1/p' | tr ',' '\n' |
		tr -d ' \t'
}
