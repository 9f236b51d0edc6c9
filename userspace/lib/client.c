// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "net.h"
#include "uuid.h"

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
	uint8_t buf[QREP_HELLO_REPLY_SIZE];
	char want[QREP_UUID_STR_LEN + 1], have[QREP_UUID_STR_LEN + 1];
	const char *why = NULL;
	ssize_t n;
	int ret;

	memcpy(hello.uuid, dev->uuid, QREP_UUID_SIZE);
	qrep_hello_encode(&hello, buf);
	ret = qrep_write_full(fd, buf, QREP_HELLO_SIZE);
	if (ret) {
		snprintf(err, errlen, "sending the handshake: %s", strerror(-ret));
		return ret;
	}
	n = qrep_read_full(fd, buf, QREP_HELLO_REPLY_SIZE);
	if (n != QREP_HELLO_REPLY_SIZE) {
		snprintf(err, errlen, "no handshake reply: %s",
			 n < 0 ? strerror((int)-n) : "connection closed");
		return n < 0 ? (int)n : -ECONNRESET;
	}
	qrep_hello_reply_decode(buf, reply);
	if (qrep_hello_reply_check(reply, &why) != QREP_OK) {
		snprintf(err, errlen, "not a qrep target: %s", why ? why : "bad reply");
		return -EPROTO;
	}
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
