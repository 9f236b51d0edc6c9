#!/bin/bash
# KTAP output for shell selftests. Source it, then:
#
#   ktap_plan 3
#   ktap_test "module loads" insmod "$QREP_KO"     # runs the command
#   ktap_step "elect" elect_primary                # same, in this shell
#   ktap_expect_fail "bad size refused" qrepctl create --size 0
#   ktap_skip "needs two CPUs" "one CPU here"      # see below
#   ktap_finish                                   # exit 0 iff all passed
#
# Inside a case (a function ktap_test runs), what must hold is asserted:
#
#   ktap_assert "writes flow" wait_for "$WAIT" writes_seen || return 1
#   some_job & pid=$!; ...; ktap_wait "$pid" || return 1
#
# A failed assertion fails the case that is running, whatever the case
# does afterwards: also when the assertion ran in a background job or a
# subshell whose status was lost, or when the case echoed and went on.
# One outside any case fails the next case reported, or the program.
# ktap_finish fails the program when the cases reported are not the
# plan's number. The runner (selftests/run) fails a skip unless
# selftests/ALLOWED_SKIPS allows it.
#
# A test's own output is shown as KTAP diagnostics ("# ..."), so a reader
# sees why a case failed right above its "not ok" line.

KTAP_COUNT=0
KTAP_PASS=0
KTAP_FAIL=0
KTAP_SKIP=0
KTAP_PLANNED=""
# Failed assertions not yet charged to a case, one a line. A file, not a
# variable: an assertion in a subshell or a background job must reach it.
# Made only when an assertion fails; $$ is this script's pid in every
# subshell too.
KTAP_ASSERT_LOG=${TMPDIR:-/tmp}/ktap-asserts.$$
# What selftests/run looks for: a failed assertion that no case took.
KTAP_ASSERT_MARK="ASSERTION FAILED:"

ktap_plan()
{
	KTAP_PLANNED=$1
	rm -f "$KTAP_ASSERT_LOG"
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

# ktap_assertion_failed WHAT: record a failed assertion and say so (as a
# diagnostic when outside a case, whose output ktap_test shows as such).
ktap_assertion_failed()
{
	if [ -n "${KTAP_IN_CASE:-}" ]; then
		echo "$KTAP_ASSERT_MARK $1"
	else
		ktap_diag "$KTAP_ASSERT_MARK $1"
	fi
	echo "$1" >>"$KTAP_ASSERT_LOG"
}

# ktap_assert DESCRIPTION COMMAND...: COMMAND must succeed; its status is
# returned. COMMAND's output is the caller's.
ktap_assert()
{
	local desc=$1 rc
	shift
	"$@" && return 0
	rc=$?
	ktap_assertion_failed "$desc (status $rc: $*)"
	return "$rc"
}

# ktap_wait PID...: wait for background jobs of this shell; each must exit
# 0. Returns 1 if one did not (after waiting for all of them).
ktap_wait()
{
	local pid rc bad=0
	for pid in "$@"; do
		wait "$pid" && continue
		rc=$?
		ktap_assertion_failed "background job $pid exited with status $rc"
		bad=1
	done
	return "$bad"
}

# ktap_take_assertions: 1 (and the failed assertions as diagnostics) if
# any is pending, which it then no longer is; else 0.
ktap_take_assertions()
{
	[ -s "$KTAP_ASSERT_LOG" ] || return 0
	ktap_diag "failed assertions:"
	sed 's/^/#   /' "$KTAP_ASSERT_LOG"
	rm -f "$KTAP_ASSERT_LOG"
	return 1
}

# ktap_report DESCRIPTION STATUS: record one result (0 pass, else fail);
# a pending failed assertion fails it.
ktap_report()
{
	local status=$2
	ktap_take_assertions || status=1
	KTAP_COUNT=$((KTAP_COUNT + 1))
	if [ "$status" -eq 0 ]; then
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
	out=$(KTAP_IN_CASE=1 "$@" 2>&1) && rc=0 || rc=$?
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/# /'
	[ "$rc" -eq 0 ] || ktap_diag "command failed with status $rc: $*"
	ktap_diag "took $((SECONDS - start)) s"
	ktap_report "$desc" "$rc"
	return 0
}

# ktap_step DESCRIPTION COMMAND...: as ktap_test, but COMMAND runs in this
# shell, not a subshell, so what it sets (the current primary, a pid) is
# still set for the cases after it. Its output goes through a file, so it
# still reads as diagnostics.
ktap_step()
{
	local desc=$1 out rc=0 start=$SECONDS
	shift
	out=$(mktemp "${TMPDIR:-/tmp}/ktap-step.XXXXXX") || return 1
	KTAP_IN_CASE=1 "$@" >"$out" 2>&1 || rc=$?
	sed 's/^/# /' "$out"
	rm -f "$out"
	[ "$rc" -eq 0 ] || ktap_diag "command failed with status $rc: $*"
	ktap_diag "took $((SECONDS - start)) s"
	ktap_report "$desc" "$rc"
	return 0
}

# ktap_expect_fail DESCRIPTION COMMAND...: passes when COMMAND fails (for
# a refusal; an assertion that fails inside COMMAND still fails the case).
ktap_expect_fail()
{
	local desc=$1 out rc
	shift
	out=$(KTAP_IN_CASE=1 "$@" 2>&1) && rc=0 || rc=$?
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/# /'
	if [ "$rc" -eq 0 ]; then
		ktap_diag "expected a failure, but the command succeeded: $*"
		ktap_report "$desc" 1
	else
		ktap_report "$desc" 0
	fi
	return 0
}

# ktap_skip DESCRIPTION REASON: a case not run. selftests/run fails it
# unless selftests/ALLOWED_SKIPS lists the test with this REASON.
ktap_skip()
{
	if ! ktap_take_assertions; then
		ktap_report "$1" 1
		return 0
	fi
	KTAP_COUNT=$((KTAP_COUNT + 1))
	KTAP_SKIP=$((KTAP_SKIP + 1))
	echo "ok $KTAP_COUNT $1 # SKIP ${2:-}"
}

# ktap_need_tools NAME CASES HINT TOOL...: if a TOOL is missing, skip the
# CASES cases ("NAME case I", the reason "no TOOL (HINT)") and exit 4.
ktap_need_tools()
{
	local name=$1 cases=$2 hint=$3 tool i
	shift 3
	for tool in "$@"; do
		command -v "$tool" >/dev/null && continue
		for ((i = 1; i <= cases; i++)); do
			ktap_skip "$name case $i" "no $tool ($hint)"
		done
		exit 4
	done
}

# ktap_finish: exit 0 iff no case failed, the plan's number of cases
# were reported and no failed assertion is left over.
ktap_finish()
{
	local bad=0
	if ! ktap_take_assertions; then
		ktap_diag "(after the last case)"
		bad=1
	fi
	if [ -n "$KTAP_PLANNED" ] && [ "$KTAP_COUNT" -ne "$KTAP_PLANNED" ]; then
		ktap_diag "the plan promised $KTAP_PLANNED cases, $KTAP_COUNT were reported"
		bad=1
	fi
	echo "# Totals: pass:$KTAP_PASS fail:$KTAP_FAIL skip:$KTAP_SKIP"
	[ "$KTAP_FAIL" -eq 0 ] && [ "$bad" -eq 0 ] && exit 0
	exit 1
}
