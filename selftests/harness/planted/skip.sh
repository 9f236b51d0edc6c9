#!/bin/bash
# Planted for harness_selftest.sh: one case passes, the other skips for
# the reason given as $1. Whether the runner accepts the skip depends on
# its allow-list.
. "$QREP_ROOT/selftests/lib/ktap.sh"

ktap_plan 2
ktap_test "a case that runs" true
ktap_skip "a case that cannot run here" "$1"
ktap_finish
