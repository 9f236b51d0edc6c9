// SPDX-License-Identifier: GPL-2.0
/*
 * The handshake's state machines (lib/handshake.c) fed by a peer that
 * sends anything: a target reading a hello and an authentication
 * response, or a client reading whatever a target sends back (challenges,
 * hello replies, proofs, in any order and of any content).
 *
 * Input: one control byte, then the peer's bytes.
 *   bit 0: the side under test has the secret;
 *   bit 1: the side under test is the client (else the target).
 * The target reads a hello (48 bytes) and, if it challenges, a response
 * (72); the client reads messages as lib/client.c does: an 8-byte prefix,
 * then the rest of the size the machine asks for, until it is done or
 * fails or the input runs out.
 *
 * Invariants, for every input:
 *  - nobody is authenticated by a peer that does not know the secret:
 *    the peer's bytes were chosen without seeing this connection's fresh
 *    nonce, so a target with a secret never reaches its verdict, never
 *    describes its store and sends no proof; a client with a secret never
 *    finishes;
 *  - without secrets, the target reaches its verdict exactly when the
 *    hello passes qrep_hello_check and does not ask for authentication,
 *    and the client finishes exactly on a well-formed hello reply whose
 *    status is not QREP_ERR_AUTH;
 *  - a failure always says why and gives a negative errno; the only
 *    message a client sends after its hello is a well-formed response;
 *  - the machines never read outside the messages (the sanitizers).
 */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "fuzz.h"
#include "handshake.h"

#define SECRET	"fuzzing-secret-0123456789"

static void take(struct fuzz_input *in, uint8_t *buf, size_t len)
{
	size_t n = len < in->left ? len : in->left;

	memset(buf, 0, len);
	memcpy(buf, in->p, n);
	in->p += n;
	in->left -= n;
}

static void fuzz_target(struct fuzz_input *in, const struct qrep_secret *s)
{
	uint8_t hello[QREP_HELLO_SIZE], resp[QREP_AUTH_RESPONSE_SIZE];
	uint8_t challenge[QREP_AUTH_CHALLENGE_SIZE];
	uint8_t reply[QREP_HELLO_REPLY_SIZE] = { 0 };
	uint8_t proof[QREP_AUTH_PROOF_SIZE];
	struct qrep_auth_challenge_msg ch;
	struct qrep_hello_msg h;
	struct qrep_hs_target t;
	enum qrep_hs_target_state st;
	const char *why = NULL;
	bool plain_ok;

	take(in, hello, sizeof(hello));
	qrep_hello_decode(hello, &h);
	plain_ok = qrep_hello_check(&h, NULL) == QREP_OK &&
		   !(h.flags & QREP_HELLO_F_AUTH);

	qrep_hs_target_init(&t, s);
	st = qrep_hs_target_hello(&t, hello, challenge, &why);
	FUZZ_ASSERT(why && why[0]);
	if (!s)
		FUZZ_ASSERT((st == QREP_HST_VERDICT) == plain_ok);
	if (st == QREP_HST_WAIT_RESPONSE) {
		FUZZ_ASSERT(s);
		qrep_auth_challenge_decode(challenge, &ch);
		FUZZ_ASSERT(qrep_auth_challenge_check(&ch, NULL) == QREP_OK);
		take(in, resp, sizeof(resp));
		why = NULL;
		st = qrep_hs_target_response(&t, resp, &why);
		FUZZ_ASSERT(why && why[0]);
	}
	if (st == QREP_HST_REFUSED) {
		FUZZ_ASSERT(t.status != QREP_OK &&
			    (t.status < __QREP_ERR_MAX ||
			     t.status == QREP_ERR_AUTH));
		FUZZ_ASSERT(!t.authenticated);
	} else {
		FUZZ_ASSERT(st == QREP_HST_VERDICT);
	}
	if (s) {
		FUZZ_ASSERT(st == QREP_HST_REFUSED);
		FUZZ_ASSERT(!qrep_hs_target_may_describe(&t));
	}
	FUZZ_ASSERT(qrep_hs_target_proof(&t, reply, proof) == 0);
	/* Whatever came before, a second hello is out of turn. */
	FUZZ_ASSERT(qrep_hs_target_hello(&t, hello, challenge, &why) ==
		    QREP_HST_REFUSED);
}

static void fuzz_client(struct fuzz_input *in, const struct qrep_secret *s)
{
	struct qrep_hello_msg h = {
		.magic = QREP_HELLO_MAGIC, .proto_version = QREP_PROTO_VERSION,
		.uuid = { 1, 2, 3 }, .size = 1 << 20,
		.block_size = QREP_BLOCK_SIZE, .epoch = 3,
	};
	uint8_t msg[QREP_HELLO_REPLY_SIZE], out[QREP_AUTH_RESPONSE_SIZE];
	struct qrep_auth_response_msg r;
	struct qrep_hs_client c;
	enum qrep_hs_step step = QREP_HS_READ;
	const char *why;
	size_t size, out_len;

	_Static_assert(QREP_HELLO_REPLY_SIZE >= QREP_AUTH_CHALLENGE_SIZE &&
		       QREP_HELLO_REPLY_SIZE >= QREP_AUTH_PROOF_SIZE,
		       "message buffer");
	qrep_hs_client_start(&c, &h, s, out);
	FUZZ_ASSERT(!!(qrep_get_be32(out + 36) & QREP_HELLO_F_AUTH) == !!s);
	while (step == QREP_HS_READ || step == QREP_HS_SEND) {
		if (in->left < QREP_HS_PREFIX_SIZE)
			return;
		take(in, msg, QREP_HS_PREFIX_SIZE);
		why = NULL;
		size = qrep_hs_client_next_size(&c, msg, &why);
		if (!size) {
			FUZZ_ASSERT(why && why[0] && c.error < 0);
			FUZZ_ASSERT(c.state == QREP_HSC_FAILED);
			return;
		}
		FUZZ_ASSERT(size <= sizeof(msg) && size > QREP_HS_PREFIX_SIZE);
		if (in->left < size - QREP_HS_PREFIX_SIZE)
			return;
		take(in, msg + QREP_HS_PREFIX_SIZE, size - QREP_HS_PREFIX_SIZE);
		why = NULL;
		step = qrep_hs_client_input(&c, msg, out, &out_len, &why);
		FUZZ_ASSERT(why && why[0]);
		if (step == QREP_HS_SEND) {
			FUZZ_ASSERT(s && out_len == QREP_AUTH_RESPONSE_SIZE);
			qrep_auth_response_decode(out, &r);
			FUZZ_ASSERT(qrep_auth_response_check(&r, NULL) ==
				    QREP_OK);
		} else {
			FUZZ_ASSERT(out_len == 0);
		}
	}
	if (step == QREP_HS_FAIL) {
		FUZZ_ASSERT(c.error < 0 && c.state == QREP_HSC_FAILED);
		FUZZ_ASSERT(!c.authenticated);
		return;
	}
	FUZZ_ASSERT(step == QREP_HS_DONE);
	FUZZ_ASSERT(!s);	/* a stranger cannot prove our secret */
	FUZZ_ASSERT(qrep_hello_reply_check(&c.reply_msg, NULL) == QREP_OK);
	FUZZ_ASSERT(c.reply_msg.status != QREP_ERR_AUTH);
	FUZZ_ASSERT(!c.authenticated);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	static struct qrep_secret secret;
	uint8_t ctl = fuzz_u8(&in);

	if (!secret.len)
		FUZZ_ASSERT(qrep_secret_set(&secret, SECRET,
					    strlen(SECRET)) == 0);
	if (ctl & 2)
		fuzz_client(&in, ctl & 1 ? &secret : NULL);
	else
		fuzz_target(&in, ctl & 1 ? &secret : NULL);
	return 0;
}
