// SPDX-License-Identifier: GPL-2.0
/* Quorum mode in the tools: see quorum.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <linux/qrep.h>
#include <linux/qrep_quorum.h>

#include "quorum.h"

int qrep_quorum_up_epoch(uint64_t highest_seen, uint64_t *epoch)
{
	if (highest_seen >= QREP_MAX_QUORUM_EPOCH)
		return -ERANGE;
	*epoch = highest_seen + 1;
	return 0;
}

const char *qrep_on_no_quorum_name(uint32_t policy)
{
	switch (policy) {
	case QREP_NO_QUORUM_SUSPEND:
		return "suspend";
	case QREP_NO_QUORUM_ERROR:
		return "error";
	}
	return "unknown";
}

static const char *yes_no(const struct nlattr *flags, uint32_t bit)
{
	if (!flags)
		return "?";
	return mnl_attr_get_u32(flags) & bit ? "yes" : "no";
}

int qrep_quorum_flags_format(const struct nlattr *flags, char *buf,
			     size_t len)
{
	return snprintf(buf, len, "write=%s read=%s",
			yes_no(flags, QREP_QUORUM_F_WRITE),
			yes_no(flags, QREP_QUORUM_F_READ));
}

/* A u32 attribute as text: its value, or @absent when it was not sent. */
static const char *u32_text(const struct nlattr *a, const char *absent,
			    char *buf, size_t len)
{
	if (!a)
		return absent;
	snprintf(buf, len, "%" PRIu32, mnl_attr_get_u32(a));
	return buf;
}

static const char *json_bool(const struct nlattr *flags, uint32_t bit)
{
	if (!flags)
		return "null";
	return mnl_attr_get_u32(flags) & bit ? "true" : "false";
}

/* Room for a u32 in decimal, with its NUL. */
#define U32_TEXT_MAX	11
/* Room for a policy's name in JSON quotes, with its NUL. */
#define POLICY_TEXT_MAX	16

int qrep_quorum_status_format(const struct nlattr *const *tb, bool json,
			      char *buf, size_t len)
{
	const struct nlattr *flags = tb[QREP_A_DEV_QUORUM_FLAGS];
	const struct nlattr *policy = tb[QREP_A_DEV_ON_NO_QUORUM];
	const char *absent = json ? "null" : "?";
	char nb[U32_TEXT_MAX], wb[U32_TEXT_MAX], rb[U32_TEXT_MAX];
	char hb[U32_TEXT_MAX], pb[POLICY_TEXT_MAX];
	const char *n, *w, *r, *held, *pol = absent;

	n = u32_text(tb[QREP_A_DEV_REPLICAS], absent, nb, sizeof(nb));
	w = u32_text(tb[QREP_A_DEV_WRITE_QUORUM], absent, wb, sizeof(wb));
	r = u32_text(tb[QREP_A_DEV_READ_QUORUM], absent, rb, sizeof(rb));
	held = u32_text(tb[QREP_A_DEV_HELD], absent, hb, sizeof(hb));
	if (policy) {
		snprintf(pb, sizeof(pb), json ? "\"%s\"" : "%s",
			 qrep_on_no_quorum_name(mnl_attr_get_u32(policy)));
		pol = pb;
	}

	if (json)
		return snprintf(buf, len,
				"{\"replicas\":%s,\"write_quorum\":%s,\"read_quorum\":%s"
				",\"on_no_quorum\":%s,\"write_quorum_reachable\":%s"
				",\"read_quorum_reachable\":%s,\"held\":%s}",
				n, w, r, pol, json_bool(flags, QREP_QUORUM_F_WRITE),
				json_bool(flags, QREP_QUORUM_F_READ), held);
	return snprintf(buf, len,
			"quorum: W=%s R=%s of N=%s, on-no-quorum %s; write quorum %s, read quorum %s, held %s",
			w, r, n, pol, yes_no(flags, QREP_QUORUM_F_WRITE),
			yes_no(flags, QREP_QUORUM_F_READ), held);
}
