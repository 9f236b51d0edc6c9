#!/bin/bash
# Bad input to qrepctl up and qrep-target: each gets a clear error, and
# nothing is half-created.
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"
. "$QREP_ROOT/selftests/lib/targets.sh"

SIZE=64M
BAD=$TARGETS_DIR/bad.conf

# up_fails MESSAGE: "qrepctl up -c $BAD" fails, says MESSAGE, leaves no device.
up_fails()
{
	local out
	if out=$(qrepctl up -c "$BAD" 2>&1); then
		echo "up succeeded: $out"
		qrepctl down -c "$BAD" >/dev/null 2>&1
		return 1
	fi
	echo "$out"
	echo "$out" | grep -q -- "$1" || { echo "expected: $1"; return 1; }
	[ "$(qrepctl status)" = "no qrep devices" ] || { qrepctl status; return 1; }
}

wrong_size()
{
	sed "s/^size .*/size 128M/" "$QREP_CONF" >"$BAD"
	up_fails "the store holds 67108864 bytes, the device is 134217728"
}

duplicate_replica()
{
	cp "$QREP_CONF" "$BAD"
	echo "replica d 127.0.0.1:$(target_port 0)" >>"$BAD"
	up_fails "have the same address"
}

unreachable_target()
{
	sed "s/^replica c .*/replica c 127.0.0.1:$(target_port 7)/" "$QREP_CONF" >"$BAD"
	up_fails "replica c (127.0.0.1:$(target_port 7)): cannot connect"
}

foreign_store()
{
	qrep-target init --store "$TARGETS_DIR/other.store" --size "$SIZE" >/dev/null || return 1
	setsid qrep-target serve --store "$TARGETS_DIR/other.store" \
		--listen "127.0.0.1:$(target_port 5)" >"$TARGETS_DIR/other.log" 2>&1 &
	wait_for 10 target_listening "$(target_port 5)" || return 1
	sed "s/^replica c .*/replica c 127.0.0.1:$(target_port 5)/" "$QREP_CONF" >"$BAD"
	up_fails "the store belongs to device"
}

malformed_config()
{
	printf 'resource r0\ndevice zero\n' >"$BAD"
	up_fails "line 2: device must be a number"
}

# A cluster resource (node lines): qrepd makes its device, so "up" is
# refused, saying why and what --force would fence; --force brings it up.
cluster_resource()
{
	local out
	sed "s/^mode mirror/mode quorum/" "$QREP_CONF" >"$BAD"
	echo "node 1 127.0.0.1:7790" >>"$BAD"
	up_fails "qrepd elects its primary and makes its device; 'up' here would take a newer epoch at the targets and fence the elected primary" ||
		return 1
	out=$(qrepctl up --force -c "$BAD" 2>&1) || { echo "up --force failed: $out"; return 1; }
	echo "$out"
	echo "$out" | grep -q "is up: resource r0, quorum mode" || return 1
	qrepctl down -c "$BAD"
}

good_up_still_works()
{
	qrepctl up -c "$QREP_CONF" && dd if=/dev/zero of=/dev/qrep0 bs=4k count=1 \
		oflag=direct status=none && qrepctl down -c "$QREP_CONF"
}

target_errors()
{
	local out ok=0
	out=$(qrep-target serve --store /tmp/does-not-exist --listen 127.0.0.1:7999 2>&1) && ok=1
	echo "missing store: $out"
	echo "$out" | grep -qi "no such file" || ok=1
	qrep-target init --store "$TARGETS_DIR/x.store" --size "$SIZE" >/dev/null || ok=1
	out=$(qrep-target serve --store "$TARGETS_DIR/x.store" --listen "127.0.0.1:$(target_port 0)" 2>&1) && ok=1
	echo "port in use: $out"
	echo "$out" | grep -qi "address already in use" || ok=1
	head -c 1M /dev/zero >"$TARGETS_DIR/junk.store"
	out=$(qrep-target serve --store "$TARGETS_DIR/junk.store" --listen 127.0.0.1:7999 2>&1) && ok=1
	echo "not a store: $out"
	out=$(qrep-target init --store "$(target_store 0)" --size "$SIZE" 2>&1) && ok=1
	echo "init over a store: $out"
	echo "$out" | grep -qi "in use" || ok=1
	chmod 600 "$(target_store 2)"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
		qrep-target serve --store "$(target_store 2)" --listen 127.0.0.1:7999 2>&1) && ok=1
	echo "no permission: $out"
	echo "$out" | grep -qi "permission" || ok=1
	[ "$ok" -eq 0 ]
}

ktap_plan 8
qrep_load
if ! targets_setup 3 "$SIZE"; then
	ktap_diag "could not start the targets"
	ktap_finish
fi
ktap_test "wrong size is refused by the handshake" wrong_size
ktap_test "a duplicate replica is refused" duplicate_replica
ktap_test "an unreachable target is refused" unreachable_target
ktap_test "another device's store is refused" foreign_store
ktap_test "a malformed configuration is refused with its line" malformed_config
ktap_test "a cluster resource is refused without --force, comes up with it" cluster_resource
ktap_test "after all that, a good configuration still comes up" good_up_still_works
ktap_test "qrep-target: missing store, port in use, not a store, re-init, no permission" target_errors
pkill -f "qrep-target serve --store $TARGETS_DIR/other.store" || true
targets_teardown
qrep_unload
ktap_finish
