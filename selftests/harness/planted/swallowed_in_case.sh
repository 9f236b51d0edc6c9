#!/bin/bash
# Planted for harness_selftest.sh: a case checks a precondition in a
# background job, loses the job's status to a bare wait, says it goes on
# and returns 0. The failed assertion must fail the case all the same,
# whether ktap_test or ktap_step runs it.
. "$QREP_ROOT/selftests/lib/ktap.sh"

precondition_in_background()
{
	ktap_assert "the frobnicator is up" false &
	wait
	echo "going on as if the frobnicator were up"
}

ktap_plan 2
ktap_test "a case whose failure is swallowed" precondition_in_background
ktap_step "a step whose failure is swallowed" precondition_in_background
ktap_finish
