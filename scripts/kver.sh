#!/bin/sh
# Print the newest installed Debian kernel release whose version starts with
# $1 (default 6.1) and that has headers to build against. Never hard-code
# an ABI number: the archive moves on and older ABIs stay installed.
series=${1:-6.1}
for dir in /lib/modules/"$series".*; do
	[ -e "$dir/build/Makefile" ] && basename "$dir"
done | sort -V | tail -n 1
