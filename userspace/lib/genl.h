/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small client of the "qrep" generic netlink family, on top of libmnl:
 * resolve the family, send a command, collect replies and the kernel's
 * extended-ack error message, subscribe to events.
 */
#ifndef QREP_GENL_H
#define QREP_GENL_H

#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

/* Requests and replies: room for the largest message qrep sends. */
#define QREP_GENL_BUF_SIZE	32768

struct qrep_genl {
	struct mnl_socket *nl;
	uint16_t family_id;
	uint32_t events_group;
	uint32_t portid;
	uint32_t seq;
	char *buf;			/* QREP_GENL_BUF_SIZE bytes */
	char error[256];		/* the kernel's message for the last error */
};

/* Returns 0, or -errno with g->error saying what went wrong. */
int qrep_genl_open(struct qrep_genl *g);
void qrep_genl_close(struct qrep_genl *g);

/* Starts a request in g->buf; add attributes with mnl_attr_put_*(). */
struct nlmsghdr *qrep_genl_request(struct qrep_genl *g, uint8_t cmd,
				   uint16_t flags);

/*
 * Sends @nlh and reads replies until the kernel's ACK or end of dump,
 * calling @cb (may be NULL) for each data message. Returns 0, or -errno
 * with g->error holding the kernel's extended ack message if it sent one.
 */
int qrep_genl_talk(struct qrep_genl *g, struct nlmsghdr *nlh, mnl_cb_t cb,
		   void *data);

/*
 * Handles one buffer of messages as received from the kernel (receive()
 * calls it for each recvfrom): messages of other sequence numbers than
 * @seq are skipped (@seq 0 takes all, as for events), an NLMSG_ERROR or
 * NLMSG_DONE ends the exchange with its errno (its extended ack message
 * in g->error), and @cb is called for each data message. Returns 0 or
 * -errno when the exchange is over, QREP_GENL_MORE if it goes on in the
 * next buffer. Only g->error is used: fuzzers call it without a socket.
 */
#define QREP_GENL_MORE	1
int qrep_genl_handle(struct qrep_genl *g, const void *buf, size_t len,
		     uint32_t seq, mnl_cb_t cb, void *data);

/* Joins the "events" multicast group. */
int qrep_genl_subscribe(struct qrep_genl *g);

/* Blocks for the next batch of event messages and calls @cb for each. */
int qrep_genl_recv_events(struct qrep_genl *g, mnl_cb_t cb, void *data);

/*
 * An NLMSG_ERROR message: returns its error (0 for an ACK, else -errno;
 * -EPROTO if it is too short) and copies the kernel's extended-ack
 * message, if there is one, to msg.
 */
int qrep_genl_parse_error(const struct nlmsghdr *nlh, char *msg,
			  size_t msglen);

/*
 * The libmnl type every qrep attribute must have (0: not checked); the
 * parsers below refuse a message whose attributes do not match.
 */
extern const int qrep_genl_attr_types[];

/* Parses a qrep message's attributes into tb[QREP_A_MAX + 1]. */
int qrep_genl_parse(const struct nlmsghdr *nlh, const struct nlattr **tb);
/* The same for the attributes inside a nested one (QREP_A_REPLICA). */
int qrep_genl_parse_nested(const struct nlattr *nest, const struct nlattr **tb);

#endif /* QREP_GENL_H */
