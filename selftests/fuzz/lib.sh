#!/bin/bash
# Shared by run.sh (make fuzz) and run_brief.sh (the fuzz-brief test):
# which harnesses there are, how each is run, and reading its result.
#
#   fuzz_harnesses                  the harness names, one a line
#   fuzz_run NAME SECONDS CORPUS ARTIFACTS LOG
#                                   fuzz NAME for SECONDS, growing CORPUS
#                                   (a directory), crashes to ARTIFACTS/;
#                                   returns libFuzzer's status
#   fuzz_execs LOG                  inputs executed, from a run's log
#   fuzz_seed_corpus NAME DIR       copy the tree's seeds for NAME into DIR

FUZZ_SRC=${QREP_ROOT:?}/selftests/fuzz
FUZZ_BIN=${QREP_BUILD:?}/fuzz
# Longest a single input may take, in seconds; longer is a failure (hang).
FUZZ_INPUT_TIMEOUT=${FUZZ_INPUT_TIMEOUT:-10}

fuzz_harnesses()
{
	local f

	for f in "$FUZZ_SRC"/fuzz_*.c; do
		f=${f##*/fuzz_}
		f=${f%.c}
		[ "$f" = util ] || echo "$f"
	done
}

# The largest input worth trying: a message, a handshake's messages, a
# config file, a few datagrams, a netlink buffer, a store's header and metadata, one
# connection's bytes.
fuzz_max_len()
{
	case "$1" in
	proto) echo 128 ;;
	cluster_proto) echo 1024 ;;
	handshake) echo 256 ;;
	parse) echo 512 ;;
	store) echo 16384 ;;
	target_conn) echo 32768 ;;
	*) echo 4096 ;;
	esac
}

fuzz_seed_corpus()
{
	mkdir -p "$2"
	if [ -d "$FUZZ_SRC/corpus/$1" ]; then
		cp -n "$FUZZ_SRC/corpus/$1"/* "$2"/ 2>/dev/null || true
	fi
}

fuzz_run()
{
	local name=$1 seconds=$2 corpus=$3 artifacts=$4 log=$5
	local dict=()

	[ -f "$FUZZ_SRC/$name.dict" ] && dict=(-dict="$FUZZ_SRC/$name.dict")
	mkdir -p "$corpus" "$artifacts"
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
	"$FUZZ_BIN/fuzz_$name" \
		-max_total_time="$seconds" \
		-timeout="$FUZZ_INPUT_TIMEOUT" \
		-max_len="$(fuzz_max_len "$name")" \
		-print_final_stats=1 -print_funcs=0 \
		-artifact_prefix="$artifacts/" \
		"${dict[@]}" "$corpus" >"$log" 2>&1
}

fuzz_execs()
{
	local n

	n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1" | tail -n 1)
	[ -n "$n" ] || n=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$1" | tail -n 1)
	echo "${n:-0}"
}
