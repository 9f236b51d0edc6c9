// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "handshake.h"
#include "net.h"
#include "uuid.h"

/* Reads the target's next handshake message into buf; 0 or -errno. */
static int read_msg(int fd, struct qrep_hs_client *hs, uint8_t *buf,
		    char *err, size_t errlen)
{
	const char *why = NULL;
	size_t size;
	ssize_t n;

	n = qrep_read_full(fd, buf, QREP_HS_PREFIX_SIZE);
	if (n == QREP_HS_PREFIX_SIZE) {
		size = qrep_hs_client_next_size(hs, buf, &why);
		if (!size) {
			snprintf(err, errlen, "%s", why);
			return hs->error;
		}
		n = qrep_read_full(fd, buf + QREP_HS_PREFIX_SIZE,
				   size - QREP_HS_PREFIX_SIZE);
		if (n == (ssize_t)(size - QREP_HS_PREFIX_SIZE))
			return 0;
	}
	/* A target that refuses us closes: say so rather than "EPIPE". */
	snprintf(err, errlen, "no handshake reply: %s",
		 n == 0 || n == -EPIPE ? "connection closed by the target" :
		 n == -EAGAIN ? "timed out" : strerror((int)-n));
	return n < 0 && n != -EPIPE ? (int)n : -ECONNRESET;
}

/*
 * Runs the client's state machine over the socket until the target's
 * hello reply is in (and proven, when we have a secret).
 */
static int exchange(int fd, struct qrep_hs_client *hs,
		    const struct qrep_hello_msg *hello,
		    const struct qrep_secret *secret, char *err,
		    size_t errlen)
{
	uint8_t in[QREP_HELLO_REPLY_SIZE], out[QREP_AUTH_RESPONSE_SIZE];
	enum qrep_hs_step step;
	const char *why = NULL;
	size_t out_len;
	int ret;

	_Static_assert(QREP_HELLO_REPLY_SIZE >= QREP_AUTH_CHALLENGE_SIZE &&
		       QREP_HELLO_REPLY_SIZE >= QREP_AUTH_PROOF_SIZE &&
		       QREP_AUTH_RESPONSE_SIZE >= QREP_HELLO_SIZE, "buffers");
	qrep_hs_client_start(hs, hello, secret, out);
	out_len = QREP_HELLO_SIZE;
	for (;;) {
		if (out_len) {
			ret = qrep_write_full(fd, out, out_len);
			if (ret) {
				snprintf(err, errlen, "sending the handshake: %s",
					 strerror(-ret));
				return ret;
			}
		}
		ret = read_msg(fd, hs, in, err, errlen);
		if (ret)
			return ret;
		step = qrep_hs_client_input(hs, in, out, &out_len, &why);
		if (step == QREP_HS_DONE)
			return 0;
		if (step == QREP_HS_FAIL) {
			snprintf(err, errlen, "%s", why);
			return hs->error;
		}
	}
}

static int handshake(int fd, const struct qrep_client_device *dev,
		     struct qrep_hello_reply_msg *reply, char *err,
		     size_t errlen)
{
	struct qrep_hello_msg hello = {
		.magic = QREP_HELLO_MAGIC,
		.proto_version = QREP_PROTO_VERSION,
		.size = dev->size,
		.block_size = QREP_BLOCK_SIZE,
		.epoch = dev->epoch,
	};
	char want[QREP_UUID_STR_LEN + 1], have[QREP_UUID_STR_LEN + 1];
	struct qrep_hs_client hs;
	int ret;

	memcpy(hello.uuid, dev->uuid, QREP_UUID_SIZE);
	ret = exchange(fd, &hs, &hello, dev->secret, err, errlen);
	if (ret)
		return ret;
	*reply = hs.reply_msg;
	switch (reply->status) {
	case QREP_OK:
		return 0;
	case QREP_ERR_UUID:
		qrep_uuid_format(dev->uuid, want);
		qrep_uuid_format(reply->uuid, have);
		snprintf(err, errlen, "the store belongs to device %s, not %s",
			 have, want);
		return -EMEDIUMTYPE;
	case QREP_ERR_SIZE:
		snprintf(err, errlen,
			 "the store holds %" PRIu64 " bytes, the device is %" PRIu64,
			 reply->size, dev->size);
		return -EMEDIUMTYPE;
	case QREP_ERR_EPOCH:
		snprintf(err, errlen,
			 "the store has seen epoch %" PRIu64 ", newer than %" PRIu64,
			 reply->epoch, dev->epoch);
		return -ESTALE;
	case QREP_ERR_JOINING:
		snprintf(err, errlen, "the store is joining (a replacement "
			 "with no epoch yet): stop its target and run "
			 "'qrep-target join' on its machine");
		return -EBUSY;
	default:
		snprintf(err, errlen, "the target refused: %s",
			 qrep_status_str(reply->status));
		return -EPROTO;
	}
}

int qrep_client_open(const char *addr, const struct qrep_client_device *dev,
		     int timeout_ms, struct qrep_hello_reply_msg *reply,
		     char *err, size_t errlen)
{
	int fd, ret;

	err[0] = '\0';
	fd = qrep_connect(addr, timeout_ms);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect: %s", strerror(-fd));
		return fd;
	}
	ret = qrep_sock_set_timeouts(fd, timeout_ms, timeout_ms);
	if (!ret)
		ret = handshake(fd, dev, reply, err, errlen);
	if (!ret)
		ret = qrep_sock_set_timeouts(fd, 0, 0);
	if (!ret)
		ret = qrep_sock_set_nodelay(fd);
	if (ret) {
		if (!err[0])
			snprintf(err, errlen, "socket setup: %s", strerror(-ret));
		close(fd);
		return ret;
	}
	return fd;
}
