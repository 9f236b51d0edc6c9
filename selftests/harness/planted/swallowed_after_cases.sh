#!/bin/bash
# Planted for harness_selftest.sh: every case passes, then a check after
# the last one fails, and the test exits 0 without ktap_finish, so that
# no case and no exit status carries the failure. The runner must see the
# failed assertion in the log and fail the test.
. "$QREP_ROOT/selftests/lib/ktap.sh"

ktap_plan 1
ktap_test "the one case" true
ktap_assert "nothing is left running at the end" false
exit 0
