/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Peer authentication: the resource's shared secret, fresh nonces, and the
 * two HMAC-SHA256 proofs of the handshake (Documentation/protocol.rst,
 * "Authentication"). The crypto is OpenSSL's libcrypto; nonces come from
 * getrandom(2); proofs are compared in constant time.
 *
 *   client proof = HMAC(secret, QREP_AUTH_CONTEXT || "client->target" ||
 *                        target nonce || client nonce || hello)
 *   target proof = HMAC(secret, QREP_AUTH_CONTEXT || "target->client" ||
 *                        target nonce || client nonce || hello ||
 *                        hello reply)
 *
 * Every part has a fixed size, so the concatenation is unambiguous; the
 * hello and hello reply are their exact bytes on the wire.
 */
#ifndef QREP_LIB_AUTH_H
#define QREP_LIB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/qrep_proto.h>

/* A secret file shorter than this (after trailing newlines) is refused. */
#define QREP_SECRET_MIN_LEN	16
/* Nor may it be longer than this. */
#define QREP_SECRET_MAX_LEN	1024

/*
 * What every proof starts with, so that a MAC made with the same secret
 * for anything else (another protocol, a later version of this one) is
 * never a qrep proof.
 */
#define QREP_AUTH_CONTEXT	"qrep-auth-v1"
/* The direction labels: same length, so nothing else shifts. */
#define QREP_AUTH_LABEL_C2T	"client->target"
#define QREP_AUTH_LABEL_T2C	"target->client"

struct qrep_secret {
	size_t len;
	uint8_t key[QREP_SECRET_MAX_LEN];
};

/*
 * Sets a secret from bytes (tests, and what qrep_secret_load() does once
 * the file passed its checks). -EINVAL if the length is out of bounds.
 */
int qrep_secret_set(struct qrep_secret *s, const void *key, size_t len);

/* Which way a proof goes: the label that stops a reflected proof. */
enum qrep_auth_dir {
	QREP_AUTH_CLIENT_TO_TARGET,
	QREP_AUTH_TARGET_TO_CLIENT,
};

/*
 * Reads a secret from @path: a regular file, owned by this user or root,
 * with no permission bits for group or others, holding 16 to 1024 bytes
 * once trailing newlines (\n, \r) are dropped. On failure returns -errno
 * and says why in @err, naming the file and the fix.
 */
int qrep_secret_load(const char *path, struct qrep_secret *s, char *err,
		     size_t errlen);

/*
 * For a configuration's optional secret-file (struct qrep_config's
 * secret_file): with an empty @path, *out is NULL and nothing is read;
 * else @buf is loaded from @path and *out points at it. Every tool that
 * connects to targets for a resource should get its secret this way.
 */
int qrep_secret_load_optional(const char *path, struct qrep_secret *buf,
			      const struct qrep_secret **out, char *err,
			      size_t errlen);

/* Wipes a secret (the memory is not freed: it is the caller's). */
void qrep_secret_wipe(struct qrep_secret *s);

/* Fills @buf with @len bytes from getrandom(2); 0 or -errno. */
int qrep_auth_nonce(uint8_t *buf, size_t len);

/*
 * Computes a proof into @mac (QREP_AUTH_MAC_SIZE bytes). @reply is the
 * encoded hello reply for QREP_AUTH_TARGET_TO_CLIENT, NULL otherwise.
 * Returns 0, or -EIO if libcrypto failed.
 */
int qrep_auth_mac(const struct qrep_secret *s, enum qrep_auth_dir dir,
		  const uint8_t *target_nonce, const uint8_t *client_nonce,
		  const uint8_t *hello, const uint8_t *reply, uint8_t *mac);

/* Whether @mac is the proof qrep_auth_mac() gives; constant time. */
bool qrep_auth_mac_ok(const struct qrep_secret *s, enum qrep_auth_dir dir,
		      const uint8_t *target_nonce, const uint8_t *client_nonce,
		      const uint8_t *hello, const uint8_t *reply,
		      const uint8_t *mac);

/*
 * HMAC-SHA256 with the secret over @context (a NUL-terminated label that
 * keeps MACs of different uses apart; its bytes without the NUL) followed
 * by @len bytes of @data, into @mac (QREP_AUTH_MAC_SIZE bytes). For other
 * messages than the handshake's, e.g. qrepd's datagrams. 0, -EIO, or
 * -EINVAL if context and data together exceed QREP_AUTH_HMAC_INPUT_MAX.
 */
#define QREP_AUTH_HMAC_INPUT_MAX	512
int qrep_auth_hmac(const struct qrep_secret *s, const char *context,
		   const void *data, size_t len, uint8_t *mac);

/* Whether @mac is qrep_auth_hmac()'s for these bytes; constant time. */
bool qrep_auth_hmac_ok(const struct qrep_secret *s, const char *context,
		       const void *data, size_t len, const uint8_t *mac);

#endif /* QREP_LIB_AUTH_H */
