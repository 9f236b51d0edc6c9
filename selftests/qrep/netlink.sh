#!/bin/bash
# The qrep netlink family against malformed input and unprivileged
# callers (selftests/qrep/nl_abuse.c, kselftest harness output).
set -eu
. "$QREP_ROOT/selftests/lib/qrep.sh"
qrep_load
"$QREP_BUILD/selftests/nl_abuse"
qrep_unload
