// SPDX-License-Identifier: GPL-2.0
/* A tool's synchronous connection to a target: see peer.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bytes.h"
#include "net.h"
#include "peer.h"

void qrep_peer_init(struct qrep_peer *p, int fd, const char *name,
		    uint64_t epoch)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->name = name;
	p->epoch = epoch;
	p->next_handle = 1;
}

void qrep_peer_close(struct qrep_peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

static int broken(struct qrep_peer *p, int err, const char *what)
{
	snprintf(p->error, sizeof(p->error), "%s: %s", p->name, what);
	qrep_peer_close(p);
	return err;
}

static int read_exact(struct qrep_peer *p, void *buf, size_t len)
{
	ssize_t n = qrep_read_full(p->fd, buf, len);

	if (n == (ssize_t)len)
		return 0;
	return broken(p, n < 0 ? (int)n : -EPIPE,
		      n < 0 ? "connection lost" : "connection closed");
}

/*
 * Sends @req (and a WRITE's @data) and reads the reply's header, checked
 * for shape and handle. 0, or -errno with the connection closed.
 */
static int exchange(struct qrep_peer *p, const struct qrep_req_msg *req,
		    const void *data, struct qrep_reply_msg *reply)
{
	uint8_t hdr[QREP_REQ_SIZE], rhdr[QREP_REPLY_SIZE];
	struct iovec iov[2];
	const char *why;
	int iovcnt = 1, err;
	size_t sent;

	if (p->fd < 0)
		return -ENOTCONN;
	qrep_req_encode(req, hdr);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	if (req->op == QREP_OP_WRITE) {
		iov[1].iov_base = (void *)data;
		iov[1].iov_len = (size_t)req->nblocks * QREP_BLOCK_SIZE;
		iovcnt = 2;
	}
	/* Counted before sending: the write consumes the iovec. */
	sent = sizeof(hdr) + (iovcnt == 2 ? iov[1].iov_len : 0);
	err = qrep_writev_full(p->fd, iov, iovcnt);
	if (err)
		return broken(p, err, "connection lost sending a request");
	p->bytes_sent += sent;

	err = read_exact(p, rhdr, sizeof(rhdr));
	if (err)
		return err;
	qrep_reply_decode(rhdr, reply);
	if (qrep_reply_check(reply, &why) != QREP_OK)
		return broken(p, -EPROTO, why);
	if (reply->handle != req->handle)
		return broken(p, -EPROTO, "reply to another request");
	p->status = reply->status;
	p->reply_flags = reply->flags;
	return 0;
}

int qrep_peer_call(struct qrep_peer *p, uint16_t op, uint16_t flags,
		   uint64_t block, uint32_t nblocks, uint64_t version,
		   const void *data, void *meta, void *rdata)
{
	struct qrep_req_msg req = {
		.magic = QREP_REQ_MAGIC, .op = op, .flags = flags,
		.handle = p->next_handle++, .epoch = p->epoch,
		.block = block, .nblocks = nblocks, .version = version,
	};
	struct qrep_reply_msg reply;
	size_t meta_len;
	int err;

	/* Its reply has a shape of its own: qrep_peer_propose_epoch(). */
	if (op == QREP_OP_EPOCH_PROPOSE)
		return -EINVAL;
	err = exchange(p, &req, data, &reply);
	if (err)
		return err;
	if (reply.status != QREP_OK) {
		/* Only a refused proposal carries anything: not ours. */
		if (reply.nblocks)
			return broken(p, -EPROTO, "error reply with data");
		snprintf(p->error, sizeof(p->error), "%s: %s %llu+%u: %s",
			 p->name, qrep_op_str(op), (unsigned long long)block,
			 nblocks, qrep_status_str(reply.status));
		return -EREMOTEIO;
	}
	/* The count the request implies, not the one the reply claims. */
	meta_len = qrep_reply_payload_bytes(op, nblocks);
	if (reply.nblocks != (meta_len ? nblocks : 0))
		return broken(p, -EPROTO, "reply with the wrong block count");
	if (op == QREP_OP_READ) {
		meta_len = (size_t)nblocks * sizeof(uint64_t);
		err = read_exact(p, meta, meta_len);
		if (!err)
			err = read_exact(p, rdata,
					 (size_t)nblocks * QREP_BLOCK_SIZE);
		return err;
	}
	return meta_len ? read_exact(p, meta, meta_len) : 0;
}

int qrep_peer_propose_epoch(struct qrep_peer *p, uint64_t epoch,
			    bool *accepted, uint64_t *store_epoch)
{
	struct qrep_req_msg req = {
		.magic = QREP_REQ_MAGIC, .op = QREP_OP_EPOCH_PROPOSE,
		.handle = p->next_handle++, .epoch = epoch,
	};
	struct qrep_reply_msg reply;
	uint8_t held[sizeof(uint64_t)];
	int err;

	if (!epoch)
		return -EINVAL;
	err = exchange(p, &req, NULL, &reply);
	if (err)
		return err;
	if (reply.status != QREP_OK && reply.status != QREP_ERR_EPOCH) {
		if (reply.nblocks)
			return broken(p, -EPROTO, "error reply with data");
		snprintf(p->error, sizeof(p->error), "%s: EPOCH_PROPOSE %llu: %s",
			 p->name, (unsigned long long)epoch,
			 qrep_status_str(reply.status));
		return -EREMOTEIO;
	}
	if (reply.nblocks != QREP_EPOCH_PROPOSE_REPLY_ENTRIES)
		return broken(p, -EPROTO,
			      "EPOCH_PROPOSE reply without the store's epoch");
	err = read_exact(p, held, sizeof(held));
	if (err)
		return err;
	*store_epoch = qrep_get_be64(held);
	*accepted = reply.status == QREP_OK;
	/* What the target claims must be consistent with its answer. */
	if (*accepted ? *store_epoch != epoch : *store_epoch < epoch)
		return broken(p, -EPROTO,
			      "EPOCH_PROPOSE answer contradicts its epoch");
	return 0;
}
