#!/bin/bash
# Planted for harness_selftest.sh: a test that keeps every rule, and
# passes.
. "$QREP_ROOT/selftests/lib/ktap.sh"

background_job_ok()
{
	local pid
	sleep 0.1 &
	pid=$!
	ktap_assert "true holds" true || return 1
	ktap_wait "$pid"
}

ktap_plan 2
ktap_test "a case that passes" true
ktap_test "an assertion that holds, a job waited for" background_job_ok
ktap_finish
