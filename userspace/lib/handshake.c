// SPDX-License-Identifier: GPL-2.0
/*
 * The handshake's two state machines (handshake.h).
 *
 * Rules both sides keep:
 *  - each side decides from its own configuration whether it needs
 *    authentication; the peer's messages never switch it off, so a
 *    stripped QREP_HELLO_F_AUTH or a forged "no secret here" ends the
 *    connection instead of downgrading it;
 *  - a proof is checked before anything it covers is used: the target
 *    checks the client's proof before it looks at the hello's UUID, size
 *    or epoch; the client checks the target's proof before it believes
 *    the hello reply;
 *  - every proof covers both nonces, so a recorded handshake does not
 *    authenticate a new one, and a direction label, so a proof made by
 *    one side is never accepted from the other.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "bytes.h"
#include "handshake.h"

static enum qrep_hs_step client_fail(struct qrep_hs_client *c, int error,
				     const char **why, const char *msg)
{
	c->state = QREP_HSC_FAILED;
	c->error = error;
	*why = msg;
	return QREP_HS_FAIL;
}

void qrep_hs_client_start(struct qrep_hs_client *c,
			  const struct qrep_hello_msg *h,
			  const struct qrep_secret *secret, uint8_t *out)
{
	struct qrep_hello_msg m = *h;

	memset(c, 0, sizeof(*c));
	c->secret = secret;
	if (secret)
		m.flags |= QREP_HELLO_F_AUTH;
	qrep_hello_encode(&m, c->hello);
	memcpy(out, c->hello, QREP_HELLO_SIZE);
	c->state = QREP_HSC_HELLO_SENT;
}

size_t qrep_hs_client_next_size(struct qrep_hs_client *c,
				const uint8_t *prefix, const char **why)
{
	uint32_t magic = qrep_get_be32(prefix);
	uint32_t version = qrep_get_be32(prefix + 4);
	size_t size = 0;

	if (c->state == QREP_HSC_HELLO_SENT && magic == QREP_HELLO_MAGIC)
		size = QREP_HELLO_REPLY_SIZE;
	else if (c->state == QREP_HSC_HELLO_SENT &&
		 magic == QREP_CHALLENGE_MAGIC && c->secret)
		size = QREP_AUTH_CHALLENGE_SIZE;
	else if (c->state == QREP_HSC_RESPONSE_SENT &&
		 magic == QREP_HELLO_MAGIC)
		size = QREP_HELLO_REPLY_SIZE;
	else if (c->state == QREP_HSC_PROOF_WAIT && magic == QREP_PROOF_MAGIC)
		size = QREP_AUTH_PROOF_SIZE;

	if (!size) {
		client_fail(c, -EPROTO, why, magic == QREP_CHALLENGE_MAGIC ?
			    "the target sent an authentication challenge "
			    "that was not asked for" :
			    "not a qrep target, or a broken one (unexpected "
			    "message)");
		return 0;
	}
	/* An older or newer target says so in every message's prefix. */
	if (version != QREP_PROTO_VERSION) {
		client_fail(c, -EPROTO, why, "the target speaks another "
			    "version of the qrep protocol");
		return 0;
	}
	return size;
}

/* The target's hello reply before authentication: only refusals. */
static enum qrep_hs_step client_early_reply(struct qrep_hs_client *c,
					    const char **why)
{
	switch (c->reply_msg.status) {
	case QREP_ERR_AUTH:
		return client_fail(c, -EACCES, why, "authentication failed: "
				   "the target has no secret (qrep-target "
				   "serve --secret-file); refusing an "
				   "unauthenticated connection");
	case QREP_ERR_INVAL:
		return client_fail(c, -EACCES, why, "authentication failed: "
				   "the target refused the authentication "
				   "request (a qrep-target without "
				   "authentication support?)");
	case QREP_OK:
		return client_fail(c, -EACCES, why, "authentication failed: "
				   "the target accepted the connection "
				   "without authenticating; refusing it");
	default:
		return client_fail(c, -EPROTO, why, "the target refused the "
				   "hello before authentication");
	}
}

static enum qrep_hs_step client_reply(struct qrep_hs_client *c,
				      const uint8_t *msg, const char **why)
{
	memcpy(c->reply, msg, QREP_HELLO_REPLY_SIZE);
	qrep_hello_reply_decode(msg, &c->reply_msg);
	if (qrep_hello_reply_check(&c->reply_msg, why) != QREP_OK)
		return client_fail(c, -EPROTO, why, *why);

	if (c->state == QREP_HSC_HELLO_SENT) {
		if (c->secret)
			return client_early_reply(c, why);
		if (c->reply_msg.status == QREP_ERR_AUTH)
			return client_fail(c, -EACCES, why,
					   "authentication failed: the target "
					   "requires a shared secret and none "
					   "is configured here (secret-file)");
		c->state = QREP_HSC_DONE;
		*why = "ok";
		return QREP_HS_DONE;
	}
	/* After our response: a refusal of our proof, or a proven reply. */
	if (c->reply_msg.status == QREP_ERR_AUTH)
		return client_fail(c, -EACCES, why, "authentication failed: "
				   "wrong secret (the target refused our "
				   "proof)");
	c->state = QREP_HSC_PROOF_WAIT;
	*why = "ok";
	return QREP_HS_READ;
}

static enum qrep_hs_step client_challenge(struct qrep_hs_client *c,
					  const uint8_t *msg, uint8_t *out,
					  size_t *out_len, const char **why)
{
	struct qrep_auth_challenge_msg ch;
	struct qrep_auth_response_msg r = {
		.magic = QREP_RESPONSE_MAGIC,
		.method = QREP_AUTH_HMAC_SHA256,
	};
	int err;

	qrep_auth_challenge_decode(msg, &ch);
	if (qrep_auth_challenge_check(&ch, why) != QREP_OK)
		return client_fail(c, -EPROTO, why, *why);
	memcpy(c->target_nonce, ch.nonce, QREP_AUTH_NONCE_SIZE);
	err = qrep_auth_nonce(c->client_nonce, QREP_AUTH_NONCE_SIZE);
	if (err)
		return client_fail(c, err, why, "cannot get random bytes");
	memcpy(r.nonce, c->client_nonce, QREP_AUTH_NONCE_SIZE);
	if (qrep_auth_mac(c->secret, QREP_AUTH_CLIENT_TO_TARGET,
			  c->target_nonce, c->client_nonce, c->hello, NULL,
			  r.mac))
		return client_fail(c, -EIO, why, "HMAC-SHA256 failed");
	qrep_auth_response_encode(&r, out);
	OPENSSL_cleanse(&r, sizeof(r));
	*out_len = QREP_AUTH_RESPONSE_SIZE;
	c->state = QREP_HSC_RESPONSE_SENT;
	*why = "ok";
	return QREP_HS_SEND;
}

static enum qrep_hs_step client_proof(struct qrep_hs_client *c,
				      const uint8_t *msg, const char **why)
{
	struct qrep_auth_proof_msg p;

	qrep_auth_proof_decode(msg, &p);
	if (qrep_auth_proof_check(&p, why) != QREP_OK)
		return client_fail(c, -EPROTO, why, *why);
	if (!qrep_auth_mac_ok(c->secret, QREP_AUTH_TARGET_TO_CLIENT,
			      c->target_nonce, c->client_nonce, c->hello,
			      c->reply, p.mac))
		return client_fail(c, -EACCES, why, "authentication failed: "
				   "the target's proof is wrong (it does not "
				   "know our secret, or the reply was "
				   "altered)");
	c->authenticated = true;
	c->state = QREP_HSC_DONE;
	*why = "ok";
	return QREP_HS_DONE;
}

enum qrep_hs_step qrep_hs_client_input(struct qrep_hs_client *c,
				       const uint8_t *msg, uint8_t *out,
				       size_t *out_len, const char **why)
{
	uint32_t magic = qrep_get_be32(msg);

	*out_len = 0;
	switch (c->state) {
	case QREP_HSC_HELLO_SENT:
		if (magic == QREP_CHALLENGE_MAGIC && c->secret)
			return client_challenge(c, msg, out, out_len, why);
		if (magic == QREP_HELLO_MAGIC)
			return client_reply(c, msg, why);
		break;
	case QREP_HSC_RESPONSE_SENT:
		if (magic == QREP_HELLO_MAGIC)
			return client_reply(c, msg, why);
		break;
	case QREP_HSC_PROOF_WAIT:
		if (magic == QREP_PROOF_MAGIC)
			return client_proof(c, msg, why);
		break;
	default:
		break;
	}
	return client_fail(c, -EPROTO, why, "unexpected handshake message");
}

/* ---- target ---------------------------------------------------------- */

static enum qrep_hs_target_state target_refuse(struct qrep_hs_target *t,
					       uint32_t st,
					       bool auth, const char **why,
					       const char *msg)
{
	t->state = QREP_HST_REFUSED;
	t->status = st;
	t->auth_refused = auth;
	*why = msg;
	return t->state;
}

void qrep_hs_target_init(struct qrep_hs_target *t,
			 const struct qrep_secret *secret)
{
	memset(t, 0, sizeof(*t));
	t->secret = secret;
	t->state = QREP_HST_WAIT_HELLO;
}

enum qrep_hs_target_state qrep_hs_target_hello(struct qrep_hs_target *t,
					       const uint8_t *hello,
					       uint8_t *challenge,
					       const char **why)
{
	struct qrep_auth_challenge_msg ch = {
		.magic = QREP_CHALLENGE_MAGIC,
		.proto_version = QREP_PROTO_VERSION,
		.method = QREP_AUTH_HMAC_SHA256,
	};
	enum qrep_status st;
	bool offers;

	if (t->state != QREP_HST_WAIT_HELLO)
		return target_refuse(t, QREP_ERR_PROTO, false, why,
				     "hello out of turn");
	memcpy(t->hello, hello, QREP_HELLO_SIZE);
	qrep_hello_decode(hello, &t->hello_msg);
	st = qrep_hello_check(&t->hello_msg, why);
	if (st != QREP_OK)
		return target_refuse(t, st, false, why, *why);

	offers = t->hello_msg.flags & QREP_HELLO_F_AUTH;
	if (offers && !t->secret)
		return target_refuse(t, QREP_ERR_AUTH, true, why,
				     "the client authenticates, but this "
				     "target has no secret (--secret-file)");
	if (!offers && t->secret)
		return target_refuse(t, QREP_ERR_AUTH, true, why,
				     "the client does not authenticate (no "
				     "secret-file in its configuration?)");
	if (!t->secret) {
		t->state = QREP_HST_VERDICT;
		*why = "ok";
		return t->state;
	}
	if (qrep_auth_nonce(t->target_nonce, QREP_AUTH_NONCE_SIZE))
		return target_refuse(t, QREP_ERR_IO, false, why,
				     "cannot get random bytes");
	memcpy(ch.nonce, t->target_nonce, QREP_AUTH_NONCE_SIZE);
	qrep_auth_challenge_encode(&ch, challenge);
	t->state = QREP_HST_WAIT_RESPONSE;
	*why = "ok";
	return t->state;
}

enum qrep_hs_target_state qrep_hs_target_response(struct qrep_hs_target *t,
						  const uint8_t *resp,
						  const char **why)
{
	struct qrep_auth_response_msg r;

	if (t->state != QREP_HST_WAIT_RESPONSE)
		return target_refuse(t, QREP_ERR_PROTO, false, why,
				     "authentication response out of turn");
	qrep_auth_response_decode(resp, &r);
	if (qrep_auth_response_check(&r, why) != QREP_OK)
		return target_refuse(t, QREP_ERR_PROTO, true, why,
				     "malformed authentication response");
	/*
	 * The labels already make a reflected proof fail; refusing our own
	 * nonce back costs nothing and says plainly what happened.
	 */
	if (!CRYPTO_memcmp(r.nonce, t->target_nonce, QREP_AUTH_NONCE_SIZE))
		return target_refuse(t, QREP_ERR_AUTH, true, why,
				     "the client's nonce is ours: a reflected "
				     "challenge");
	if (!qrep_auth_mac_ok(t->secret, QREP_AUTH_CLIENT_TO_TARGET,
			      t->target_nonce, r.nonce, t->hello, NULL,
			      r.mac))
		return target_refuse(t, QREP_ERR_AUTH, true, why,
				     "wrong proof: the client does not know "
				     "the secret (wrong secret, or a replayed "
				     "handshake)");
	memcpy(t->client_nonce, r.nonce, QREP_AUTH_NONCE_SIZE);
	t->authenticated = true;
	t->state = QREP_HST_VERDICT;
	*why = "ok";
	return t->state;
}

bool qrep_hs_target_may_describe(const struct qrep_hs_target *t)
{
	return !t->secret || t->authenticated;
}

int qrep_hs_target_proof(const struct qrep_hs_target *t,
			 const uint8_t *reply, uint8_t *proof)
{
	struct qrep_auth_proof_msg p = {
		.magic = QREP_PROOF_MAGIC,
		.proto_version = QREP_PROTO_VERSION,
	};

	if (!t->authenticated)
		return 0;
	if (qrep_auth_mac(t->secret, QREP_AUTH_TARGET_TO_CLIENT,
			  t->target_nonce, t->client_nonce, t->hello, reply,
			  p.mac))
		return -EIO;
	qrep_auth_proof_encode(&p, proof);
	return 1;
}
