#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Numbered, self-checking records: what an application appends to a file
# and fsyncs, and the log of the ones it was told are safe. Sourced both
# inside a VM (the writer) and on the host (the checker), so that both
# agree on what a record looks like.
#
#   record_line TAG N      print record N of writer TAG (no newline): a
#                          fixed-size line whose tail is derived from TAG
#                          and N, so a torn or misplaced record shows
#   records_writer FILE ACKLOG TAG START STOP ERR [BATCH]
#                          append records START, START+1, ... to FILE, each
#                          with its own write; every BATCHth (default 1:
#                          each) is written with an fsync (dd conv=fsync);
#                          once that returned success, append the numbers
#                          of the records it covers (the batch) to ACKLOG
#                          (on the host's share, so it outlives the VM).
#                          Stop, at the end of a batch, when the file STOP
#                          exists; on a failed write or fsync, say so in
#                          ERR and return 1.
#   records_check FILE ACKLOG TAG
#                          every record number in ACKLOG is in FILE, whole
#                          and intact; every line of FILE is a well-formed
#                          record of some writer (nothing torn or garbled).
#                          Prints what is wrong; returns 1 if anything is.
#
# On the host, for a writer started in a VM whose control share is DIR,
# with its acknowledgements in DIR/acked.TAG, its exit status written to
# DIR/writer.TAG.rc when it ends and its errors in DIR/writer.TAG.err:
#   records_acked DIR TAG  how many records it has acknowledged so far
#   records_writer_ended DIR TAG
#                          it has ended (for whatever reason)
#   records_wait_acked DIR TAG N SECONDS
#                          wait until it has acknowledged N records; if it
#                          ends first or SECONDS pass, say how far it got,
#                          with its errors, and return 1
#
# TAG is [a-z0-9]+. The acknowledged set is what the application saw
# succeed: a record written but not yet logged when the machine died may
# or may not be in FILE; a logged one must be.

RECORD_RE='^rec [a-z0-9]+ [0-9]{8} [0-9a-f]{32}$'

# _record_set TAG N: RECORD is record N of writer TAG, the tail 32 hex
# digits derived from TAG and N. No subshell: a writer makes thousands.
_record_set() {
	local tag=$1 n=$2 h=2166136261 i c out=""

	for ((i = 0; i < ${#tag}; i++)); do
		printf -v c '%d' "'${tag:i:1}"
		h=$(((h ^ c) * 16777619 & 0xffffffff))
	done
	h=$(((h ^ n) & 0xffffffff))
	for i in 1 2 3 4; do
		h=$(((h * 2654435761 + 12345 + i) & 0xffffffff))
		printf -v c '%08x' "$h"
		out+=$c
	done
	printf -v RECORD 'rec %s %08d %s' "$tag" "$n" "$out"
}

record_line() {
	_record_set "$1" "$2"
	printf '%s' "$RECORD"
}

records_writer() {
	local file=$1 ack=$2 tag=$3 n=$4 stop=$5 err=$6 batch=${7:-1} i nums

	while [ ! -e "$stop" ]; do
		nums=""
		for ((i = 1; i < batch; i++)); do
			_record_set "$tag" "$n"
			# One write, no fsync (printf is a builtin: one
			# write(2) of the whole line).
			if ! printf '%s\n' "$RECORD" >>"$file" 2>>"$err"; then
				echo "record $n: the write failed" >>"$err"
				return 1
			fi
			nums+="$n"$'\n'
			n=$((n + 1))
		done
		_record_set "$tag" "$n"
		# One write and one fsync; dd's status covers both. (<<< adds
		# the newline.)
		if ! dd of="$file" oflag=append conv=notrunc,fsync status=none \
			<<<"$RECORD" 2>>"$err"; then
			echo "record $n: the write or its fsync failed" >>"$err"
			return 1
		fi
		nums+="$n"$'\n'
		printf '%s' "$nums" >>"$ack"
		n=$((n + 1))
	done
}

records_check() {
	local file=$1 ack=$2 tag=$3 n t line bad=0 count=0
	local -A have=()

	if [ ! -f "$file" ]; then
		echo "records: no file $file"
		return 1
	fi
	while IFS= read -r line || [ -n "$line" ]; do
		if ! [[ $line =~ $RECORD_RE ]]; then
			echo "records: a garbled line in $file: '${line:0:80}'"
			bad=1
			continue
		fi
		read -r _ t n _ <<<"$line"
		_record_set "$t" "$((10#$n))"
		if [ "$line" != "$RECORD" ]; then
			echo "records: record $t $n is damaged: '$line'"
			bad=1
		fi
		have[$line]=1
	done <"$file"
	if [ -f "$ack" ]; then
		while read -r n; do
			[ -n "$n" ] || continue
			count=$((count + 1))
			_record_set "$tag" "$n"
			if [ -z "${have[$RECORD]:-}" ]; then
				echo "records: acknowledged record $tag $n is missing"
				bad=1
			fi
		done <"$ack"
	fi
	echo "records: $count acknowledged $tag records checked against ${#have[@]} in the file"
	return "$bad"
}

records_acked() {
	[ -f "$1/acked.$2" ] && wc -l <"$1/acked.$2" || echo 0
}

records_writer_ended() { [ -s "$1/writer.$2.rc" ]; }

records_wait_acked() {
	local dir=$1 tag=$2 want=$3 end=$((SECONDS + $4))

	until [ "$(records_acked "$dir" "$tag")" -ge "$want" ]; do
		if [ "$SECONDS" -ge "$end" ] || records_writer_ended "$dir" "$tag"; then
			echo "writer $tag: $(records_acked "$dir" "$tag") records acknowledged, not $want"
			cat "$dir/writer.$tag.err" 2>/dev/null
			return 1
		fi
		sleep 0.1
	done
}
