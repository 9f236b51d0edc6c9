/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The client side of a target connection: connect and handshake, as
 * qrepctl and qrepd do before handing the socket to qrep.ko.
 */
#ifndef QREP_LIB_CLIENT_H
#define QREP_LIB_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <linux/qrep_proto.h>

#include "proto.h"

#include "auth.h"

/*
 * What the client claims about the device it serves, and the resource's
 * secret if it has one (NULL: no authentication; a target with a secret
 * then refuses us, and we refuse a target that has one when we do not).
 */
struct qrep_client_device {
	uint8_t uuid[QREP_UUID_SIZE];
	uint64_t size;
	uint64_t epoch;
	const struct qrep_secret *secret;
};

/*
 * Connects to "host:port" and performs the handshake (with the
 * challenge-response when dev->secret is set). Returns the connected
 * socket, or -errno with a sentence in @err saying what went wrong
 * (refused, timed out, another device's store, wrong size; -EACCES and
 * "authentication failed: ..." when either side could not prove the
 * secret or only one side has one; -ESTALE when the store holds a newer
 * epoch; -EBUSY when the store is joining, see qrep-target join).
 * The socket keeps a receive/send timeout of @timeout_ms for the
 * handshake only; it is cleared before returning.
 */
int qrep_client_open(const char *addr, const struct qrep_client_device *dev,
		     int timeout_ms, struct qrep_hello_reply_msg *reply,
		     char *err, size_t errlen);

#endif /* QREP_LIB_CLIENT_H */
