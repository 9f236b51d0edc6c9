/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The handshake of a target connection as two state machines, one per
 * side, with no sockets: bytes in, bytes out. lib/client.c and
 * target/conn.c move the bytes; the unit tests and the fuzzer drive the
 * machines directly. The exchange (Documentation/protocol.rst):
 *
 *   neither side has a secret        both sides have the secret
 *
 *   C -> T  hello (flags 0)          C -> T  hello (QREP_HELLO_F_AUTH)
 *   T -> C  hello reply              T -> C  challenge (target nonce)
 *                                    C -> T  response (client nonce,
 *                                                      client proof)
 *                                    T -> C  hello reply, proof
 *
 * Any other combination ends in a hello reply with QREP_ERR_AUTH (or an
 * earlier error), and the target closes: no side ever falls back to an
 * unauthenticated connection when one of them has a secret. The target
 * acts on the hello (UUID, size, epoch; raising the epoch durably) only
 * once the client is authenticated, and describes its store to no one it
 * has not authenticated when it has a secret.
 *
 * Every message from the target to the client starts with a magic and the
 * protocol version (QREP_HS_PREFIX_SIZE bytes), so the client can tell
 * which message comes, and an old target's refusal, from that prefix.
 */
#ifndef QREP_LIB_HANDSHAKE_H
#define QREP_LIB_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "proto.h"

#define QREP_HS_PREFIX_SIZE	8

/* What the caller does next. */
enum qrep_hs_step {
	QREP_HS_SEND,		/* send the output, then read what is asked */
	QREP_HS_READ,		/* read what qrep_hs_client_next_size says */
	QREP_HS_DONE,		/* handshake over: see the result */
	QREP_HS_FAIL,		/* refused or broken: close; why says it */
};

/* ---- client ---------------------------------------------------------- */

enum qrep_hs_client_state {
	QREP_HSC_HELLO_SENT,	/* expecting a challenge or a hello reply */
	QREP_HSC_RESPONSE_SENT,	/* expecting the hello reply */
	QREP_HSC_PROOF_WAIT,	/* expecting the target's proof */
	QREP_HSC_DONE,
	QREP_HSC_FAILED,
};

struct qrep_hs_client {
	enum qrep_hs_client_state state;
	const struct qrep_secret *secret;	/* NULL: no authentication */
	uint8_t hello[QREP_HELLO_SIZE];		/* as sent */
	uint8_t reply[QREP_HELLO_REPLY_SIZE];	/* as received */
	uint8_t target_nonce[QREP_AUTH_NONCE_SIZE];
	uint8_t client_nonce[QREP_AUTH_NONCE_SIZE];
	struct qrep_hello_reply_msg reply_msg;
	bool authenticated;	/* the target proved the secret */
	int error;		/* on failure: -errno for the caller */
};

/*
 * Starts a handshake: encodes @h (with QREP_HELLO_F_AUTH set if @secret
 * is not NULL) into @out, QREP_HELLO_SIZE bytes to send. @secret must
 * outlive the handshake.
 */
void qrep_hs_client_start(struct qrep_hs_client *c,
			  const struct qrep_hello_msg *h,
			  const struct qrep_secret *secret, uint8_t *out);

/*
 * How many bytes to read next, given the @prefix (QREP_HS_PREFIX_SIZE
 * bytes) of the target's next message: the whole message's size, or 0 if
 * the prefix is wrong for this state (*why says how; the handshake has
 * failed).
 */
size_t qrep_hs_client_next_size(struct qrep_hs_client *c,
				const uint8_t *prefix, const char **why);

/*
 * Feeds the whole message (prefix included, of the size just given).
 * QREP_HS_SEND: send *out_len bytes of @out (QREP_AUTH_RESPONSE_SIZE
 * room), then read the next message. QREP_HS_READ: read the next message.
 * QREP_HS_DONE: c->reply_msg holds the target's hello reply (its status
 * may still be a refusal: UUID, size, epoch...). QREP_HS_FAIL: *why says
 * what went wrong, c->error is -EACCES for authentication, -EPROTO for a
 * broken exchange.
 */
enum qrep_hs_step qrep_hs_client_input(struct qrep_hs_client *c,
				       const uint8_t *msg, uint8_t *out,
				       size_t *out_len, const char **why);

/* ---- target ---------------------------------------------------------- */

enum qrep_hs_target_state {
	QREP_HST_WAIT_HELLO,
	QREP_HST_WAIT_RESPONSE,
	QREP_HST_VERDICT,	/* the store's checks decide the reply */
	QREP_HST_REFUSED,	/* send the hello reply, then close */
};

struct qrep_hs_target {
	enum qrep_hs_target_state state;
	const struct qrep_secret *secret;	/* NULL: none */
	uint8_t hello[QREP_HELLO_SIZE];
	struct qrep_hello_msg hello_msg;
	uint8_t target_nonce[QREP_AUTH_NONCE_SIZE];
	uint8_t client_nonce[QREP_AUTH_NONCE_SIZE];
	bool authenticated;	/* the client proved the secret */
	uint32_t status;	/* QREP_HST_REFUSED: the reply's status */
	bool auth_refused;	/* refused for authentication */
};

void qrep_hs_target_init(struct qrep_hs_target *t,
			 const struct qrep_secret *secret);

/*
 * Feeds the hello (QREP_HELLO_SIZE bytes). Returns QREP_HST_VERDICT (the
 * hello may be acted on: check it against the store and reply),
 * QREP_HST_WAIT_RESPONSE (send the QREP_AUTH_CHALLENGE_SIZE bytes put in
 * @challenge, then read a response) or QREP_HST_REFUSED (reply with
 * t->status, then close). *why says why, whatever the outcome.
 */
enum qrep_hs_target_state qrep_hs_target_hello(struct qrep_hs_target *t,
					       const uint8_t *hello,
					       uint8_t *challenge,
					       const char **why);

/*
 * Feeds the client's response (QREP_AUTH_RESPONSE_SIZE bytes). Returns
 * QREP_HST_VERDICT if the client proved the secret, else
 * QREP_HST_REFUSED.
 */
enum qrep_hs_target_state qrep_hs_target_response(struct qrep_hs_target *t,
						  const uint8_t *resp,
						  const char **why);

/*
 * Whether the hello reply may describe the store (UUID, size, epoch,
 * max_version): always without a secret, else only to an authenticated
 * client.
 */
bool qrep_hs_target_may_describe(const struct qrep_hs_target *t);

/*
 * After the encoded hello reply: whether a proof must follow it, and if
 * so writes it (QREP_AUTH_PROOF_SIZE bytes) into @proof. A proof follows
 * exactly when the client was authenticated, whatever the reply's status.
 * Returns 1 (send it), 0 (no proof) or -EIO (libcrypto failed: close).
 */
int qrep_hs_target_proof(const struct qrep_hs_target *t,
			 const uint8_t *reply, uint8_t *proof);

#endif /* QREP_LIB_HANDSHAKE_H */
