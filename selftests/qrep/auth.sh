#!/bin/bash
# Peer authentication on the data channel: three targets that require the
# resource's secret, and qrepctl with the right secret, a wrong one, none,
# and an unsafe file; a target without a secret; a replica reconnected
# with a wrong secret. Every refusal is a clear message, the target logs
# who and why, and the kernel gets no replica from a refused connection.
#
#   qrepctl up/reconnect --TCP 127.0.0.1--> qrep-target a --secret-file S
#   (-c conf: secret-file S,   \-----------> qrep-target b --secret-file S
#    or W, or none, or S644)    \----------> qrep-target c --secret-file S
set -u
. "$QREP_ROOT/selftests/lib/ktap.sh"
. "$QREP_ROOT/selftests/lib/qrep.sh"
. "$QREP_ROOT/selftests/lib/targets.sh"

SIZE=64M
SECRETS=/tmp/qrep-auth-secrets.$$
GOOD=$SECRETS/r0.secret
WRONG=$SECRETS/wrong.secret
OPEN=$SECRETS/open.secret
CONF=$TARGETS_DIR/test.conf

cleanup()
{
	targets_teardown
	rm -rf "$SECRETS"
	qrep_unload 2>/dev/null
}
trap cleanup EXIT

make_secrets()
{
	mkdir -p "$SECRETS" && chmod 700 "$SECRETS" || return 1
	(umask 077 &&
		head -c 32 /dev/urandom | base64 >"$GOOD" &&
		head -c 32 /dev/urandom | base64 >"$WRONG" &&
		cp "$GOOD" "$OPEN") || return 1
	chmod 644 "$OPEN"
}

# conf_with FILE: the resource file with secret-file FILE ("" for none).
conf_with()
{
	grep -v '^secret-file ' "$QREP_CONF" >"$CONF"
	[ -z "$1" ] || echo "secret-file $1" >>"$CONF"
}

no_device() { [ "$(qrepctl status)" = "no qrep devices" ]; }

# up_refused SECRET MESSAGE: up with that secret fails saying MESSAGE,
# and leaves no device behind.
up_refused()
{
	local out
	conf_with "$1"
	if out=$(qrepctl up -c "$CONF" 2>&1); then
		echo "up succeeded: $out"
		qrepctl down -c "$CONF" >/dev/null 2>&1
		return 1
	fi
	echo "$out"
	echo "$out" | grep -qF -- "$2" || { echo "expected: $2"; return 1; }
	no_device || { qrepctl status; return 1; }
}

replica_is() { [ "$(replica_state "$1")" = "$2" ]; }

# log_has I TEXT: target I logged TEXT.
log_has() { grep -qF -- "$2" "$TARGETS_DIR/${TARGET_NAMES[$1]}.log"; }
# The target rewrites its stats file once a second: a refusal shows there
# within this long.
STATS_WAIT_SEC=5
auth_failure_counted() { [ "$(target_stats "$1" auth_failed)" -ge 1 ]; }

right_secret_up()
{
	conf_with "$GOOD"
	qrepctl up -c "$CONF" || return 1
	qrepctl status 0
	[ "$(replica_state a)" = up-to-date ] &&
		[ "$(replica_state b)" = up-to-date ] &&
		[ "$(replica_state c)" = up-to-date ] || return 1
	dd if=/dev/urandom of=/tmp/auth-data bs=64k count=16 status=none &&
		dd if=/tmp/auth-data of=/dev/qrep0 bs=64k oflag=direct status=none &&
		dd if=/dev/qrep0 of=/tmp/auth-back bs=64k count=16 iflag=direct \
			status=none &&
		cmp /tmp/auth-data /tmp/auth-back || return 1
	qrepctl down -c "$CONF" &&
		log_has 0 "ready, authenticated" && log_has 2 "ready, authenticated"
}

wrong_secret_refused()
{
	up_refused "$WRONG" "replica a (127.0.0.1:$(target_port 0)): authentication failed: wrong secret" &&
		log_has 0 "127.0.0.1:" &&
		log_has 0 "authentication refused: wrong proof: the client does not know the secret" &&
		wait_for "$STATS_WAIT_SEC" auth_failure_counted 0
}

no_secret_refused()
{
	up_refused "" "authentication failed: the target requires a shared secret and none is configured here (secret-file)" &&
		log_has 0 "authentication refused: the client does not authenticate"
}

open_secret_file_refused()
{
	local out
	up_refused "$OPEN" "permissions 0644 let group or others at it; it must be readable by its owner only (chmod 600)" ||
		return 1
	if out=$(qrep-target serve --store "$TARGETS_DIR/x.store" \
			--listen 127.0.0.1:7999 --secret-file "$OPEN" 2>&1); then
		echo "serve accepted it"
		return 1
	fi
	echo "$out"
	echo "$out" | grep -qF "chmod 600"
}

# Target c restarted without a secret: a client with one refuses it.
target_without_secret_refused()
{
	target_kill 2
	target_start 2 "" || return 1
	up_refused "$GOOD" "replica c (127.0.0.1:$(target_port 2)): authentication failed: the target has no secret" ||
		return 1
	log_has 2 "authentication refused: the client authenticates, but this target has no secret" ||
		return 1
	target_kill 2
	target_start 2
}

# With the device up, replica b dies and comes back: a reconnect with
# the wrong secret adds nothing to the device (b stays failed); with the
# right one b is back.
reconnect_wrong_secret_no_replica()
{
	local out
	conf_with "$GOOD"
	qrepctl up -c "$CONF" || return 1
	target_kill 1
	dd if=/dev/urandom of=/dev/qrep0 bs=4k count=16 oflag=direct status=none ||
		return 1
	wait_for 30 replica_is b failed || { qrepctl status 0; return 1; }
	target_start 1 || return 1
	conf_with "$WRONG"
	if out=$(qrepctl reconnect -c "$CONF" b 2>&1); then
		echo "reconnect succeeded: $out"
		return 1
	fi
	echo "$out"
	echo "$out" | grep -qF "authentication failed: wrong secret" || return 1
	qrepctl status 0
	replica_is b failed || return 1
	conf_with "$GOOD"
	qrepctl reconnect -c "$CONF" b || return 1
	# Back in the device (stale, resyncing or up to date: not our concern).
	qrepctl status 0
	! replica_is b failed
	qrepctl down -c "$CONF"
}

# ktap_test runs its command in a subshell; cases that restart targets
# run here, so that targets_teardown knows every target's pid.
ktap_test_here()
{
	local desc=$1 rc start=$SECONDS log=/tmp/qrep-auth-case.$$
	shift
	"$@" >"$log" 2>&1 && rc=0 || rc=$?
	sed 's/^/# /' "$log"
	rm -f "$log"
	[ "$rc" -eq 0 ] || ktap_diag "command failed with status $rc: $*"
	ktap_diag "took $((SECONDS - start)) s"
	ktap_report "$desc" "$rc"
}

start_targets()
{
	make_secrets && TARGET_SECRET=$GOOD && targets_setup 3 "$SIZE"
}

ktap_plan 9
qrep_load
ktap_test_here "secret files, and three targets that require the secret" \
	start_targets
ktap_test "up with the right secret: three replicas, data round trip" right_secret_up
ktap_test "up with a wrong secret: refused, logged, no device" wrong_secret_refused
ktap_test "up without a secret: refused, no device" no_secret_refused
ktap_test "a secret file others can read is refused" open_secret_file_refused
ktap_test_here "a target without a secret is refused by a client with one" \
	target_without_secret_refused
ktap_test_here "reconnect with a wrong secret adds no replica" \
	reconnect_wrong_secret_no_replica
ktap_test "still nothing up" no_device
ktap_test "rmmod" qrep_unload
ktap_finish
