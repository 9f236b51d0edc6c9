#!/bin/bash
# KTAP output for shell selftests. Source it, then:
#
#   ktap_plan 3
#   ktap_test "module loads" insmod "$QREP_KO"     # runs the command
#   ktap_result "device exists" test -b /dev/qrep0
#   ktap_skip "needs two CPUs"
#   ktap_finish                                   # exit 0 iff all passed
#
# A test's own output is shown as KTAP diagnostics ("# ..."), so a reader
# sees why a case failed right above its "not ok" line.

KTAP_COUNT=0
KTAP_PASS=0
KTAP_FAIL=0
KTAP_SKIP=0

ktap_plan()
{
	echo "TAP version 13"
	echo "1..$1"
}

ktap_diag()
{
	local line
	for line in "$@"; do
		printf '# %s\n' "$line"
	done
}

# ktap_report DESCRIPTION STATUS: record one result (0 pass, else fail).
ktap_report()
{
	KTAP_COUNT=$((KTAP_COUNT + 1))
	if [ "$2" -eq 0 ]; then
		KTAP_PASS=$((KTAP_PASS + 1))
		echo "ok $KTAP_COUNT $1"
	else
		KTAP_FAIL=$((KTAP_FAIL + 1))
		echo "not ok $KTAP_COUNT $1"
	fi
}

# ktap_test DESCRIPTION COMMAND...: run COMMAND, its output as diagnostics.
ktap_test()
{
	local desc=$1 out rc start=$SECONDS
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/# /'
	[ "$rc" -eq 0 ] || ktap_diag "command failed with status $rc: $*"
	ktap_diag "took $((SECONDS - start)) s"
	ktap_report "$desc" "$rc"
	return 0
}

# ktap_expect_fail DESCRIPTION COMMAND...: passes when COMMAND fails.
ktap_expect_fail()
{
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/# /'
	if [ "$rc" -eq 0 ]; then
		ktap_diag "expected a failure, but the command succeeded: $*"
		ktap_report "$desc" 1
	else
		ktap_report "$desc" 0
	fi
	return 0
}

ktap_skip()
{
	KTAP_COUNT=$((KTAP_COUNT + 1))
	KTAP_SKIP=$((KTAP_SKIP + 1))
	echo "ok $KTAP_COUNT $1 # SKIP ${2:-}"
}

ktap_finish()
{
	echo "# Totals: pass:$KTAP_PASS fail:$KTAP_FAIL skip:$KTAP_SKIP"
	[ "$KTAP_FAIL" -eq 0 ] && exit 0
	exit 1
}
