// SPDX-License-Identifier: GPL-2.0
/*
 * Netlink reply handling without a socket: walking a received buffer
 * (qrep_genl_handle), error and extended-ack messages
 * (qrep_genl_parse_error), attribute parsing (qrep_genl_parse). The
 * malformed rows are the shapes fuzz_genl found unsafe: a length of
 * 2 GiB or more, an echoed request whose length puts the extended ack
 * outside the message, error numbers that are not -errno.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/qrep.h>

#include "kselftest_harness.h"

#include "genl.h"

#define SEQ	7

/* An aligned buffer to build messages in, and one to receive them. */
static union {
	char buf[4096];
	struct nlmsghdr align;
} msgbuf;

static struct nlmsghdr *data_msg(char *buf, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = 0x20;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = QREP_CMD_DEV_GET;
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 3);
	mnl_attr_put_strz(nlh, QREP_A_DEV_NAME, "qrep3");
	return nlh;
}

/*
 * An NLMSG_ERROR for a request of echo_len bytes (its header then zeros),
 * with an extended-ack message if msg is not NULL.
 */
static struct nlmsghdr *error_msg(char *buf, int error, uint16_t flags,
				  uint32_t echo_len, uint32_t echoed,
				  const char *msg)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = SEQ;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	e->msg.nlmsg_len = echo_len;
	e->msg.nlmsg_seq = SEQ;
	if (echoed)
		mnl_nlmsg_put_extra_header(nlh, echoed);
	if (msg)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, msg);
	return nlh;
}

TEST(parse_error_table)
{
	static const struct {
		int error;
		uint16_t flags;
		uint32_t echo_len, echoed;
		const char *msg;
		int want;
		const char *want_msg;
	} rows[] = {
		/*  0 */ { 0, 0, 16, 0, NULL, 0, "" },
		/*  1 */ { -EINVAL, 0, 16, 0, "ignored", -EINVAL, "" },
		/*  2 */ { -EINVAL, NLM_F_ACK_TLVS, 16, 0, "bad size", -EINVAL,
			   "bad size" },
		/*  3 */ { -EEXIST, NLM_F_ACK_TLVS, 40, 24, "exists", -EEXIST,
			   "exists" },
		/*  4 */ { -EEXIST, NLM_F_ACK_TLVS | NLM_F_CAPPED, 400, 0,
			   "capped", -EEXIST, "capped" },
		/* An echo shorter than a header, or longer than the message. */
		/*  5 */ { -EINVAL, NLM_F_ACK_TLVS, 0, 0, "x", -EINVAL, "" },
		/*  6 */ { -EINVAL, NLM_F_ACK_TLVS, 15, 0, "x", -EINVAL, "" },
		/*  7 */ { -EINVAL, NLM_F_ACK_TLVS, UINT32_MAX, 0, "x", -EINVAL,
			   "" },
		/*  8 */ { -EINVAL, NLM_F_ACK_TLVS, 16 + 64, 0, "x", -EINVAL,
			   "" },
		/* Error numbers that are not -errno. */
		/*  9 */ { 5, 0, 16, 0, NULL, -EPROTO, "" },
		/* 10 */ { INT_MIN, NLM_F_ACK_TLVS, 16, 0, "x", -EPROTO, "x" },
		/* 11 */ { -4096, 0, 16, 0, NULL, -EPROTO, "" },
		/* 12 */ { -4095, 0, 16, 0, NULL, -4095, "" },
	};
	char text[64];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct nlmsghdr *nlh;

		memset(msgbuf.buf, 0, sizeof(msgbuf.buf));
		nlh = error_msg(msgbuf.buf, rows[i].error, rows[i].flags,
				rows[i].echo_len, rows[i].echoed, rows[i].msg);
		text[0] = '\0';
		EXPECT_EQ(rows[i].want,
			  qrep_genl_parse_error(nlh, text, sizeof(text)))
			TH_LOG("row %zu", i);
		EXPECT_STREQ(rows[i].want_msg, text) TH_LOG("row %zu", i);
	}

	/* Too short to hold a struct nlmsgerr. */
	memset(msgbuf.buf, 0, sizeof(msgbuf.buf));
	msgbuf.align.nlmsg_len = NLMSG_HDRLEN + 4;
	msgbuf.align.nlmsg_type = NLMSG_ERROR;
	EXPECT_EQ(-EPROTO, qrep_genl_parse_error(&msgbuf.align, text,
						 sizeof(text)));
}

struct seen {
	int calls;
	uint32_t index;
};

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[QREP_A_MAX + 1];
	struct seen *seen = data;

	seen->calls++;
	if (qrep_genl_parse(nlh, tb) == 0 && tb[QREP_A_DEV_INDEX])
		seen->index = mnl_attr_get_u32(tb[QREP_A_DEV_INDEX]);
	return MNL_CB_OK;
}

/* A data message followed by an NLMSG_DONE carrying done_error. */
static size_t dump(char *buf, uint32_t seq, int done_error)
{
	struct nlmsghdr *nlh = data_msg(buf, seq), *done;
	size_t len = nlh->nlmsg_len;

	done = mnl_nlmsg_put_header(buf + len);
	done->nlmsg_type = NLMSG_DONE;
	done->nlmsg_seq = seq;
	*(int *)mnl_nlmsg_put_extra_header(done, sizeof(int)) = done_error;
	return len + done->nlmsg_len;
}

TEST(handle_dump_and_done)
{
	struct qrep_genl g = { 0 };
	struct seen seen = { 0 };
	size_t len;

	memset(msgbuf.buf, 0, sizeof(msgbuf.buf));
	len = dump(msgbuf.buf, SEQ, 0);
	EXPECT_EQ(0, qrep_genl_handle(&g, msgbuf.buf, len, SEQ, count_cb,
				      &seen));
	EXPECT_EQ(1, seen.calls);
	EXPECT_EQ(3, seen.index);

	/* Another request's answer is skipped: wait for more. */
	seen.calls = 0;
	EXPECT_EQ(QREP_GENL_MORE, qrep_genl_handle(&g, msgbuf.buf, len,
						   SEQ + 1, count_cb, &seen));
	EXPECT_EQ(0, seen.calls);

	/* A dump failing part way; and a DONE whose errno is not one. */
	len = dump(msgbuf.buf, SEQ, -ENOBUFS);
	EXPECT_EQ(-ENOBUFS, qrep_genl_handle(&g, msgbuf.buf, len, SEQ,
					     NULL, NULL));
	len = dump(msgbuf.buf, SEQ, 3);
	EXPECT_EQ(-EPROTO, qrep_genl_handle(&g, msgbuf.buf, len, SEQ, NULL,
					    NULL));
	len = dump(msgbuf.buf, SEQ, INT_MIN);
	EXPECT_EQ(-EPROTO, qrep_genl_handle(&g, msgbuf.buf, len, SEQ, NULL,
					    NULL));
}

TEST(handle_error_keeps_extack)
{
	struct qrep_genl g = { 0 };
	struct nlmsghdr *nlh;

	memset(msgbuf.buf, 0, sizeof(msgbuf.buf));
	nlh = error_msg(msgbuf.buf, -ERANGE, NLM_F_ACK_TLVS | NLM_F_CAPPED,
			16, 0, "io-timeout out of range");
	EXPECT_EQ(-ERANGE, qrep_genl_handle(&g, msgbuf.buf, nlh->nlmsg_len,
					    SEQ, NULL, NULL));
	EXPECT_STREQ("io-timeout out of range", g.error);
}

TEST(handle_refuses_lengths_past_the_buffer)
{
	static const uint32_t lens[] = {
		/* libmnl 1.0.4 takes the first three for negative. */
		/* 0 */ 0x80000000U,
		/* 1 */ 0xffffffffU,
		/* 2 */ 0xffef0000U,
		/* 3 */ 4096,		/* more than was received */
		/* 4 */ 15,		/* less than a header */
	};
	struct qrep_genl g = { 0 };
	struct seen seen = { 0 };
	struct nlmsghdr *nlh;
	size_t i, len;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(msgbuf.buf, 0, sizeof(msgbuf.buf));
		nlh = data_msg(msgbuf.buf, SEQ);
		len = nlh->nlmsg_len;
		/* A second message, claiming lens[i] bytes. */
		nlh = data_msg(msgbuf.buf + len, SEQ);
		len += nlh->nlmsg_len;
		nlh->nlmsg_len = lens[i];
		seen.calls = 0;
		EXPECT_EQ(0, qrep_genl_handle(&g, msgbuf.buf, len, 0,
					      count_cb, &seen))
			TH_LOG("row %zu", i);
		EXPECT_EQ(1, seen.calls) TH_LOG("row %zu", i);
	}
}

TEST_HARNESS_MAIN
