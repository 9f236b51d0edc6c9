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

# ktap_step runs its case in this shell: what the case sets stays set.
remember_value() { REMEMBERED=42; }
value_remembered() { [ "${REMEMBERED:-}" = 42 ]; }

ktap_plan 4
ktap_test "a case that passes" true
ktap_test "an assertion that holds, a job waited for" background_job_ok
ktap_step "a step sets a value" remember_value
ktap_test "the value is still set after the step" value_remembered
ktap_finish
