#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The documentation builds with Sphinx without a warning: no broken
# cross-reference, no page missing from the index, no malformed
# reStructuredText. And the check can fail: a copy of the tree with one
# page that breaks each of those rules must fail it, naming each fault.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/selftests/lib/ktap.sh"
cd "$ROOT"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# sphinx_check SRC OUT: build SRC's pages into OUT, failing on any warning.
sphinx_check()
{
	make --no-print-directory docs DOCS_SRC="$1" DOCS_OUT="$2"
}

planted_faults()
{
	cp -a Documentation "$WORK/src"
	cat >"$WORK/src/planted.rst" <<'RST'
Planted
=======

See :doc:`no-such-page`.

Short
====
RST
	if sphinx_check "$WORK/src" "$WORK/planted" >"$WORK/planted.log" 2>&1; then
		echo "the docs check passed a tree with a broken page"
		return 1
	fi
	local fault bad=0
	for fault in "unknown document" "Title underline too short" \
		"document isn't included in any toctree"; do
		grep -qF "$fault" "$WORK/planted.log" ||
			{ echo "not reported: $fault"; bad=1; }
	done
	[ "$bad" -eq 0 ] || sed 's/^/  /' "$WORK/planted.log"
	return "$bad"
}

ktap_plan 2
ktap_test "the documentation builds without a warning" \
	sphinx_check Documentation "$WORK/docs"
ktap_test "a page with a broken reference, a bad title and no index entry fails it" \
	planted_faults
ktap_finish
