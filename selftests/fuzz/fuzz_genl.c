// SPDX-License-Identifier: GPL-2.0
/*
 * The netlink reply parsers of lib/genl.c on arbitrary messages: the
 * kernel is trusted, but a parser must stay within the message whatever
 * it holds.
 *
 * Input: a buffer of netlink messages as one recvfrom() would return it.
 * It goes to qrep_genl_handle(), which receive() uses on every buffer:
 * once taking every message (events) and once only those with the first
 * one's sequence number (a request's answer). An NLMSG_ERROR goes on to
 * qrep_genl_parse_error(); each data message to a callback that does what
 * qrepctl's do: qrep_genl_parse(), qrep_genl_parse_nested() for each
 * QREP_A_REPLICA, and reads the attributes they return, and formats a
 * quorum device's status and event flags as qrepctl prints them.
 *
 * libmnl, which does the walking, is not built with the sanitizers, so
 * the buffer ends right at an unmapped page: a read past its end faults
 * whoever does it.
 *
 * Invariants: only whole messages inside the buffer are handed out;
 * parsing fails cleanly or returns attributes that lie inside the
 * message (with its alignment padding, which libmnl counts in; the
 * receive buffer is aligned, so that is still inside it), of their
 * declared type's size (strings NUL-terminated, the
 * UUID 16 bytes); the result is 0, "more to come" (only when waiting for
 * one sequence number) or an errno callers can negate (-1..-4095), and
 * the error text is NUL-terminated.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/qrep.h>

#include "fuzz.h"
#include "genl.h"
#include "quorum.h"
#include "uuid.h"

/* Everything the parsers return must lie in [lo, hi). */
struct bounds {
	const char *lo, *hi;
};

static void use_attrs(const struct nlattr **tb, const struct bounds *b)
{
	char uuid[QREP_UUID_STR_LEN + 1];
	volatile uint64_t sink = 0;
	const char *p;
	uint16_t len;
	int i;

	for (i = 0; i <= QREP_A_MAX; i++) {
		if (!tb[i])
			continue;
		p = mnl_attr_get_payload(tb[i]);
		len = mnl_attr_get_payload_len(tb[i]);
		FUZZ_ASSERT(mnl_attr_get_type(tb[i]) == i);
		FUZZ_ASSERT((const char *)tb[i] >= b->lo);
		FUZZ_ASSERT(p + len <= b->hi);
		switch (qrep_genl_attr_types[i]) {
		case MNL_TYPE_U32:
			FUZZ_ASSERT(len == 4);
			sink += mnl_attr_get_u32(tb[i]);
			break;
		case MNL_TYPE_U64:
			FUZZ_ASSERT(len == 8);
			sink += mnl_attr_get_u64(tb[i]);
			break;
		case MNL_TYPE_NUL_STRING:
			FUZZ_ASSERT(len > 0 && memchr(p, '\0', len));
			sink += strlen(mnl_attr_get_str(tb[i]));
			break;
		default:
			break;
		}
	}
	if (tb[QREP_A_DEV_UUID]) {
		FUZZ_ASSERT(mnl_attr_get_payload_len(tb[QREP_A_DEV_UUID]) ==
			    QREP_UUID_SIZE);
		qrep_uuid_format(mnl_attr_get_payload(tb[QREP_A_DEV_UUID]),
				 uuid);
	}
	(void)sink;
}

/* As qrepctl status and events print a quorum device: bounded, terminated. */
static void use_quorum(const struct nlattr **tb)
{
	char text[512];
	int n;

	n = qrep_quorum_status_format(tb, false, text, sizeof(text));
	FUZZ_ASSERT(n > 0 && (size_t)n < sizeof(text));
	n = qrep_quorum_status_format(tb, true, text, sizeof(text));
	FUZZ_ASSERT(n > 0 && (size_t)n < sizeof(text));
	n = qrep_quorum_flags_format(tb[QREP_A_DEV_QUORUM_FLAGS], text,
				     sizeof(text));
	FUZZ_ASSERT(n > 0 && (size_t)n < sizeof(text));
}

/* A data message, handled as qrepctl's callbacks handle one. */
static int data_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[QREP_A_MAX + 1], *nested[QREP_A_MAX + 1];
	const struct nlattr *attr;
	const struct bounds *buf = arg;
	/* libmnl counts a message's alignment padding in, as the kernel's. */
	struct bounds b = {
		(const char *)nlh,
		(const char *)nlh + MNL_ALIGN(nlh->nlmsg_len),
	};
	struct bounds nb;

	/* The walk hands out only whole messages inside the buffer. */
	FUZZ_ASSERT(nlh->nlmsg_len >= sizeof(*nlh));
	FUZZ_ASSERT(b.lo >= buf->lo && b.hi <= buf->hi);
	if (qrep_genl_parse(nlh, tb))
		return MNL_CB_OK;
	use_attrs(tb, &b);
	use_quorum(tb);

	/* As qrepctl status walks the replicas of a device. */
	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(attr) != QREP_A_REPLICA)
			continue;
		if (qrep_genl_parse_nested(attr, nested))
			continue;
		nb.lo = mnl_attr_get_payload(attr);
		nb.hi = nb.lo + mnl_attr_get_payload_len(attr);
		use_attrs(nested, &nb);
	}
	return MNL_CB_OK;
}

/* size is what was received; the buffer holding it is 4-byte aligned. */
static void handle(const char *buf, size_t size, uint32_t seq)
{
	struct bounds b = { buf, buf + MNL_ALIGN(size) };
	struct qrep_genl g;
	int ret;

	memset(&g, 0, sizeof(g));
	memset(g.error, 'x', sizeof(g.error));
	g.error[0] = '\0';
	ret = qrep_genl_handle(&g, buf, size, seq, data_cb, &b);
	FUZZ_ASSERT(ret == QREP_GENL_MORE ? seq != 0 :
		    ret <= 0 && ret >= -4095);
	FUZZ_ASSERT(memchr(g.error, '\0', sizeof(g.error)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t padded = (size + 3) & ~(size_t)3;
	size_t map_len = ((padded + (size_t)page - 1) / (size_t)page + 1) *
			 (size_t)page;
	char *map, *buf;

	if (size > QREP_GENL_BUF_SIZE)	/* what receive() reads at most */
		return 0;
	map = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FUZZ_ASSERT(map != MAP_FAILED);
	FUZZ_ASSERT(!mprotect(map + map_len - page, (size_t)page, PROT_NONE));
	/* Netlink buffers are 4-byte aligned: end as close to the guard. */
	buf = map + map_len - page - padded;
	memcpy(buf, data, size);

	/* Events take every message; a request's answer only its own. */
	handle(buf, size, 0);
	if (size >= sizeof(struct nlmsghdr))
		handle(buf, size, ((const struct nlmsghdr *)buf)->nlmsg_seq);

	munmap(map, map_len);
	return 0;
}
