/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Quorum arithmetic and the version rule of quorum mode, compiled into
 * both qrep.ko and the tools so that both refuse the same settings and
 * the rules are unit-tested in user space.
 *
 * Documentation/quorum.rst gives the argument behind each rule.
 */
#ifndef _UAPI_LINUX_QREP_QUORUM_H
#define _UAPI_LINUX_QREP_QUORUM_H

#include <linux/types.h>

/*
 * A quorum-mode version: the device's epoch in the high bits, a counter
 * in the low QREP_VERSION_EPOCH_SHIFT. Each `qrepctl up` of a quorum
 * device takes an epoch larger than any its targets have seen, so every
 * version it stamps is larger than every version written before it, in
 * any quorum: even a write of a deposed device that reached only one
 * target loses to it.
 */
#define QREP_VERSION_EPOCH_SHIFT	40
#define QREP_MAX_QUORUM_EPOCH		((1ULL << (64 - QREP_VERSION_EPOCH_SHIFT - 1)) - 1)

static inline __u64 qrep_version_base(__u64 epoch)
{
	return epoch << QREP_VERSION_EPOCH_SHIFT;
}

static inline __u64 qrep_version_epoch(__u64 version)
{
	return version >> QREP_VERSION_EPOCH_SHIFT;
}

/* A majority of @n: the default for both W and R. */
static inline __u32 qrep_quorum_majority(__u32 n)
{
	return n / 2 + 1;
}

/*
 * Why N replicas with write quorum @w and read quorum @r are refused, or
 * a null pointer if they are fine. The two rules: every read quorum meets every
 * write quorum (R + W > N), so a read sees the last completed write; two
 * write quorums always meet (2W > N), so two sides of a partition cannot
 * both accept writes.
 */
static inline const char *qrep_quorum_problem(__u32 n, __u32 w, __u32 r)
{
	if (n < 1)
		return "a quorum device needs at least one replica";
	if (w < 1 || w > n)
		return "the write quorum W must be between 1 and N, the number of replicas";
	if (r < 1 || r > n)
		return "the read quorum R must be between 1 and N, the number of replicas";
	if (2 * w <= n)
		return "2W > N is required, or two sides of a partition could both write";
	if (r + w <= n)
		return "R + W > N is required, or a read can miss the last completed write";
	return (const char *)0;
}

/* Replicas in a bitmap of slots (bit i: the replica in slot i). */
static inline __u32 qrep_quorum_weight(__u64 slots)
{
	__u32 n = 0;

	for (; slots; slots &= slots - 1)
		n++;
	return n;
}

/*
 * Flush accounting. A FLUSH promises that every write acknowledged
 * before it survives the loss of any N - W replicas, so each must be
 * durable on W of them. A replica answering a FLUSH makes durable what
 * it holds; a replica being resynced after it came back lacks writes
 * acknowledged while it was away, whatever it answers, and so does one
 * that joins while the FLUSH is in flight. So only the live replicas
 * that held every acknowledged write when the FLUSH was issued count:
 * @holders_at_issue, the up-to-date ones (and those a read merely found
 * behind on a write still on its way to them). Of those, the ones that
 * acknowledged it, @acked, count even if they failed since: what they
 * made durable stays on their stores.
 *
 * qrep_flush_may_issue: a FLUSH is worth sending, W such replicas being
 * live (@holders); otherwise it is held or failed as the device's
 * on-no-quorum says, like a write short of W live replicas, and sent
 * again, to every live replica, once a resync has brought enough up to
 * date. qrep_flush_complete: the FLUSH that went out has succeeded.
 */
static inline int qrep_flush_may_issue(__u64 holders, __u32 w)
{
	return qrep_quorum_weight(holders) >= w;
}

static inline int qrep_flush_complete(__u64 holders_at_issue, __u64 acked,
				      __u32 w)
{
#ifdef QREP_PLANT_FLUSH_ANY_W
	/* Planted for the data-plane simulation: the old rule, any W. */
	(void)holders_at_issue;
	return qrep_quorum_weight(acked) >= w;
#else
	return qrep_quorum_weight(holders_at_issue & acked) >= w;
#endif
}

#endif /* _UAPI_LINUX_QREP_QUORUM_H */
