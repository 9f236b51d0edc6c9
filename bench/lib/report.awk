# SPDX-License-Identifier: GPL-2.0
#
# bench/lib/report.awk: raw benchmark results in, the table and the CSV
# out. Plain POSIX awk (Debian's default, mawk, has no asort).
#
#   awk -F, -f report.awk -v csv=OUT.csv -v meta=META RAW.csv > OUT.md
#
# RAW.csv lines: section,row,workload,metric,rep,value. Metric "label"
# names a row (first seen, first shown); "status" says why a row has no
# numbers; "error" records a failed step. META holds key=value lines
# (date, kernel, accelerator, settings) for the heading.
#
# For each (section, row, workload, metric) the median, minimum and
# maximum over the repetitions. Each qrep row is also given as a ratio of
# its median to the median of the reference rows of its section: single
# nbd and md raid1 over nbd in "compare", DRBD and the remote nbd in
# "pair". For IOPS and MiB/s above 1 is better than the reference; for
# latencies below 1 is better.

function key(s, r, w, m) { return s SUBSEP r SUBSEP w SUBSEP m }

# The median, min and max of the values of k, into MED, MIN, MAX.
function stats(k,    n, i, j, v, a) {
	n = cnt[k]
	for (i = 1; i <= n; i++)
		a[i] = val[k, i] + 0
	for (i = 2; i <= n; i++) {	# insertion sort: a handful of values
		v = a[i]
		for (j = i - 1; j >= 1 && a[j] > v; j--)
			a[j + 1] = a[j]
		a[j + 1] = v
	}
	MIN = a[1]; MAX = a[n]
	MED = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	return n
}

function fmt(v, m) {
	if (m == "mibps" || m ~ /_mib$/)
		return sprintf("%.1f", v)
	if (m == "ratio")
		return sprintf("%.3f", v)
	if (m ~ /_ms$/)
		return sprintf("%.0f", v)
	if (v >= 100)
		return sprintf("%.0f", v)
	return sprintf("%.1f", v)
}

function has(s, r, w, m) { return cnt[key(s, r, w, m)] > 0 }

# One table cell: "median (min-max)", or the median alone for one value.
function cell(s, r, w, m,    k, n) {
	k = key(s, r, w, m)
	if (!cnt[k])
		return (key(s, r, w, "error") in errs) ? "failed" : "-"
	n = stats(k)
	if (n == 1 || fmt(MIN, m) == fmt(MAX, m))
		return fmt(MED, m)
	return fmt(MED, m) " (" fmt(MIN, m) "-" fmt(MAX, m) ")"
}

function median(s, r, w, m) {
	if (!has(s, r, w, m))
		return ""
	stats(key(s, r, w, m))
	return MED
}

function ratio(s, r, ref, w, m,    a, b) {
	a = median(s, r, w, m); b = median(s, ref, w, m)
	if (a == "" || b == "" || b + 0 == 0)
		return ""
	return sprintf("%.2f", a / b)
}

function units(m) {
	if (m ~ /_kib$/) return "KiB"
	if (m ~ /_mib$/) return "MiB"
	if (m ~ /_ms$/) return "ms"
	if (m == "time_s") return "s"
	if (m == "ratio") return "x"
	if (m == "iops") return "IOPS"
	if (m == "mibps") return "MiB/s"
	return "us"
}

# The columns of the comparison tables.
function columns() {
	ncol = 0
	col("randwrite-qd1", "p50_us", "4k randwrite QD1 p50 (us)")
	col("randwrite-qd1", "p99_us", "4k randwrite QD1 p99 (us)")
	col("randwrite-qd32", "iops", "4k randwrite QD32 IOPS")
	col("randread-qd32", "iops", "4k randread QD32 IOPS")
	col("seqwrite-1m", "mibps", "1M seq write MiB/s")
	col("seqread-1m", "mibps", "1M seq read MiB/s")
}
function col(w, m, title) { ncol++; cw[ncol] = w; cm[ncol] = m; ct[ncol] = title }

function header(first,    i, line, sep) {
	line = "| " first; sep = "| ---"
	for (i = 1; i <= ncol; i++) { line = line " | " ct[i]; sep = sep " | ---:" }
	print line " |"
	print sep " |"
}

# A row that has a status instead of numbers: print it across NCOL
# cells and say so.
function status_row(s, r, name, ncol,    line, j) {
	if (!((s, r) in status))
		return 0
	line = "| " name " | " status[s, r]
	for (j = 2; j <= ncol; j++)
		line = line " | "
	print line " |"
	return 1
}

# A table of section S's rows, one cell per column of col(), the rows
# named by their labels under the heading FIRST.
function rows_table(s, first,    i, j, r, line) {
	header(first)
	for (i = 1; i <= nrows[s]; i++) {
		r = rows[s, i]
		if (status_row(s, r, label[s, r], ncol))
			continue
		line = "| " label[s, r]
		for (j = 1; j <= ncol; j++)
			line = line " | " cell(s, r, cw[j], cm[j])
		print line " |"
	}
	print ""
}

# A comparison table: absolute numbers, then the ratios of the qrep rows.
function table(s, refs, nref,    i, j, k, r, v, line, row, ref) {
	if (!nrows[s])
		return
	rows_table(s, "device")
	split(refs, ref, " ")
	line = ""
	for (i = 1; i <= nrows[s]; i++) {
		r = rows[s, i]
		if (r !~ /^qrep/ || ((s, r) in status))
			continue
		for (j = 1; j <= nref; j++) {
			if (!((s, ref[j]) in label) || ((s, ref[j]) in status))
				continue
			if (line == "") {
				print "Ratios of medians (IOPS, MiB/s: above 1 is faster; latency: below 1 is faster):"
				print ""
				header("qrep row / reference")
				line = "x"
			}
			row = "| " label[s, r] " / " label[s, ref[j]]
			for (k = 1; k <= ncol; k++) {
				v = ratio(s, r, ref[j], cw[k], cm[k])
				row = row " | " (v == "" ? "-" : v)
			}
			print row " |"
		}
	}
	if (line != "")
		print ""
}

function csvrow(s, r, w, m,    k, n, refs, i, out, ref) {
	k = key(s, r, w, m)
	n = stats(k)
	out = s "," r "," label[s, r] "," w "," m "," units(m) "," \
		MED "," MIN "," MAX "," n
	# Ratios: to single nbd and md raid1 (compare), DRBD (pair).
	split("nbd md-raid1-nbd-3 drbd-c", ref, " ")
	for (i = 1; i <= 3; i++)
		out = out "," ((r ~ /^qrep/) ? ratio(s, r, ref[i], w, m) : "")
	print out "," >> csv
}

BEGIN {
	while ((getline line < meta) > 0) {
		p = index(line, "=")
		if (p) M[substr(line, 1, p - 1)] = substr(line, p + 1)
	}
}

{
	s = $1; r = $2; w = $3; m = $4; rep = $5
	v = $6
	for (i = 7; i <= NF; i++) v = v "," $i
	if (!((s, r) in seen)) {
		seen[s, r] = 1
		nrows[s]++
		rows[s, nrows[s]] = r
		label[s, r] = r
	}
	if (m == "label") { label[s, r] = v; next }
	if (m == "status") { status[s, r] = v; next }
	if (m == "error") { errs[key(s, r, w, "error")] = v; nerr++; errtext[nerr] = s ": " r " " w ": " v; next }
	k = key(s, r, w, m)
	if (!(k in cnt)) { nk++; keys[nk] = k; ks[nk] = s; kr[nk] = r; kw[nk] = w; km[nk] = m }
	cnt[k]++
	val[k, cnt[k]] = v
}

END {
	columns()
	print "# qrep benchmark results"
	print ""
	print "- date: " M["date"]
	print "- kernel: " M["kernel"] " (guest), accelerator: " M["accel"] ", " \
		M["vm_cpus"] " vCPU per VM, host: " M["host_cpus"] " CPUs"
	print "- source: " M["source"]
	print "- settings: " M["settings"]
	print ""
	print "Absolute numbers under TCG mean little; compare rows of one run only."
	print "Each cell: median (min-max) over the repetitions."
	print ""
	if (nrows["compare"]) {
		print "## One VM: every device on loopback, stores on tmpfs"
		print ""
		table("compare", "nbd md-raid1-nbd-3", 2)
	}
	if (nrows["pair"]) {
		print "## Two VMs on a virtual switch: node1 uses the device, node2 holds the remote copy"
		print ""
		table("pair", "drbd-c nbd", 2)
	}
	if (nrows["scale"]) {
		print "## Scaling: qrep mirror with N replicas (one VM)"
		print ""
		ncol = 0
		col("randwrite-qd32", "iops", "4k randwrite QD32 IOPS")
		col("randwrite-qd1", "p50_us", "4k randwrite QD1 p50 (us)")
		col("randwrite-qd1", "p99_us", "4k randwrite QD1 p99 (us)")
		rows_table("scale", "replicas")
	}
	if (nrows["mem"]) {
		print "## Memory as the device grows (qrep mirror N=3, sparse stores, one VM)"
		print ""
		print "Kernel memory: slab, vmalloc, per-CPU, stacks and page tables from"
		print "/proc/meminfo, change since before `qrepctl up`; target RSS per target;"
		print "store: tmpfs used per store. \"after I/O\": after the 4k randwrite QD32"
		print "run over the whole device."
		print ""
		ncol = 0
		col("-", "kmem_up_kib", "kernel, after up (KiB)")
		col("-", "kmem_io_kib", "kernel, after I/O (KiB)")
		col("-", "target_rss_kib", "target RSS after up (KiB)")
		col("-", "target_rss_io_kib", "target RSS after I/O (KiB)")
		col("-", "store_kib", "store after I/O (KiB)")
		rows_table("mem", "device size")
	}
	if (nrows["resync"]) {
		print "## Resync after divergence (qrep mirror N=3, one VM)"
		print ""
		print "One replica killed (kill -9); the given share of the device written"
		print "through /dev/qrep0 as random writes, each span once; the replica's"
		print "target restarted on its store; `qrepctl reconnect` timed until the"
		print "replica is up to date. Moved: what its target received meanwhile"
		print "(block data, headers, version requests); missed: what was written."
		print ""
		ncol = 0
		col("-", "missed_mib", "missed (MiB)")
		col("-", "time_s", "resync time (s)")
		col("-", "moved_mib", "moved (MiB)")
		col("-", "ratio", "moved / missed")
		rows_table("resync", "divergence")
	}
	if (nrows["failover"]) {
		print "## Failover (three VMs, qrepd --node, quorum mode)"
		print ""
		print "The primary powered off (QEMU quits) until a 4 KiB O_DIRECT write is"
		print "accepted on the node that takes over (polled every 20 ms, dd started"
		print "once the device opens for writing); the election's settings beside."
		print ""
		ncol = 0
		col("-", "failover_ms", "power off to first write (ms)")
		col("-", "heartbeat-interval_ms", "heartbeat interval (ms)")
		col("-", "heartbeat-timeout_ms", "heartbeat timeout (ms)")
		col("-", "election-ack-timeout_ms", "election ack timeout (ms)")
		col("-", "coordinator-timeout_ms", "coordinator timeout (ms)")
		col("-", "epoch-quorum-timeout_ms", "epoch quorum timeout (ms)")
		rows_table("failover", "cluster")
	}
	if (nerr) {
		print "## Steps that failed"
		print ""
		for (i = 1; i <= nerr; i++)
			print "- " errtext[i]
		print ""
	}

	print "section,row,label,workload,metric,unit,median,min,max,n,ratio_to_single_nbd,ratio_to_md_raid1,ratio_to_drbd,note" > csv
	for (s in nrows)
		for (i = 1; i <= nrows[s]; i++) {
			r = rows[s, i]
			if ((s, r) in status)
				print s "," r "," label[s, r] ",,status,,,,,0,,,," status[s, r] >> csv
		}
	for (i = 1; i <= nk; i++)
		csvrow(ks[i], kr[i], kw[i], km[i])
	for (i = 1; i <= nerr; i++)
		print "error,,,,,,,,,0,,,," errtext[i] >> csv
}
