/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Quorum mode in the tools: the epoch "qrepctl up" picks, and a quorum
 * device's settings and state as status and events show them. The
 * arithmetic itself (majority, the two rules, the version layout) is in
 * <linux/qrep_quorum.h>, shared with qrep.ko.
 */
#ifndef QREP_LIB_QUORUM_H
#define QREP_LIB_QUORUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

/*
 * The epoch to bring a quorum device up with, given the highest epoch
 * any reachable target has accepted: one above it, so that every version
 * stamped from now on (qrep_version_base(epoch) and up) is above every
 * version written in an earlier epoch. Returns 0, or -ERANGE if that
 * epoch would not fit a version (QREP_MAX_QUORUM_EPOCH).
 */
int qrep_quorum_up_epoch(uint64_t highest_seen, uint64_t *epoch);

/* "suspend", "error", or "unknown" for a value this tool does not know. */
const char *qrep_on_no_quorum_name(uint32_t policy);

/*
 * QREP_A_DEV_QUORUM_FLAGS for people: "write=yes read=no". @flags NULL
 * (an event or status without them: an older kernel) gives
 * "write=? read=?". Returns what snprintf returns.
 */
int qrep_quorum_flags_format(const struct nlattr *flags, char *buf,
			     size_t len);

/*
 * The quorum line of "qrepctl status" from a DEV_GET reply's attributes
 * (tb as qrep_genl_parse fills it), without a newline:
 *   quorum: W=2 R=2 of N=3, on-no-quorum suspend; write quorum yes,
 *   read quorum yes, held 0
 * (one line), or with @json the value of its "quorum" member:
 *   {"replicas":3,"write_quorum":2,...}
 * An attribute the kernel did not send is "?" (null in JSON). Returns
 * what snprintf returns.
 */
int qrep_quorum_status_format(const struct nlattr *const *tb, bool json,
			      char *buf, size_t len);

#endif /* QREP_LIB_QUORUM_H */
