/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tool's own connection to a target: one request at a time, each
 * answered before the next is sent. What resync and verify use to read
 * versions, summaries, checksums and blocks, and to write copies.
 *
 * Every reply is checked as untrusted input: magic, the handle of the
 * request just sent, a known status, and exactly the payload the request
 * implies. Anything else ends the connection (-EPROTO).
 */
#ifndef QREP_LIB_PEER_H
#define QREP_LIB_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/qrep_proto.h>

#include "proto.h"

struct qrep_peer {
	int fd;				/* -1 once broken */
	const char *name;		/* for messages */
	uint64_t epoch;			/* stamped on every request */
	uint64_t next_handle;
	uint32_t status;		/* of the last reply: enum qrep_status */
	uint32_t reply_flags;
	uint64_t bytes_sent;		/* on this connection, headers included */
	char error[160];		/* why the last call failed */
};

void qrep_peer_init(struct qrep_peer *p, int fd, const char *name,
		    uint64_t epoch);
void qrep_peer_close(struct qrep_peer *p);

/*
 * One exchange. @data: a WRITE's blocks. @meta: room for the reply's
 * versions, summaries or checks (qrep_reply_payload_bytes of the op).
 * @rdata: room for a READ's blocks. Returns 0 when the target answered
 * QREP_OK; -EREMOTEIO when it answered with an error status (in
 * p->status; the connection stays usable); other -errno when the
 * connection failed or the target broke the protocol (it is closed).
 */
int qrep_peer_call(struct qrep_peer *p, uint16_t op, uint16_t flags,
		   uint64_t block, uint32_t nblocks, uint64_t version,
		   const void *data, void *meta, void *rdata);

/*
 * QREP_OP_EPOCH_PROPOSE of @epoch (not p->epoch: a proposal is no request
 * of the peer's own epoch). Returns 0 when the target answered: with
 * *accepted true if this request raised its epoch to exactly @epoch,
 * false if it already held @epoch or a newer one; *store_epoch is the
 * target's epoch afterwards either way. -EREMOTEIO when it could not
 * decide (QREP_ERR_IO: it could not persist the epoch; p->status);
 * -EINVAL for epoch 0; other -errno as qrep_peer_call().
 */
int qrep_peer_propose_epoch(struct qrep_peer *p, uint64_t epoch,
			    bool *accepted, uint64_t *store_epoch);

#endif /* QREP_LIB_PEER_H */
