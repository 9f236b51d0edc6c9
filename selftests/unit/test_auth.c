// SPDX-License-Identifier: GPL-2.0
/*
 * Peer authentication: the messages' layout, the HMAC proofs (a known
 * answer computed outside this code, and what each input changes), the
 * secret file's checks, and the handshake's two state machines driven
 * against each other in memory, with a man in the middle that records,
 * replays, reflects and alters messages:
 *
 *   client machine --hello--> [mitm] --> target machine
 *                  <-challenge-[mitm]<--
 *                  --response-> [mitm] -->
 *                  <-reply+proof[mitm]<--  (store checks simulated)
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "auth.h"
#include "bytes.h"
#include "handshake.h"
#include "proto.h"

#define KEY_A	"0123456789abcdef0123456789abcdef"
#define KEY_B	"0123456789abcdef0123456789abcdeF"	/* one bit off */

/* The store the simulated target describes. */
#define STORE_SIZE	(1ULL << 30)
#define STORE_MAXV	7ULL
#define STORE_EPOCH	3ULL

static void secret_of(struct qrep_secret *s, const char *key)
{
	if (qrep_secret_set(s, key, strlen(key)))
		abort();
}

/* ---- messages ------------------------------------------------------- */

TEST(auth_messages_layout_and_round_trip)
{
	struct qrep_auth_challenge_msg ch = {
		QREP_CHALLENGE_MAGIC, QREP_PROTO_VERSION,
		QREP_AUTH_HMAC_SHA256, 0, { [0 ... 31] = 0xa1 },
	}, ch2;
	struct qrep_auth_response_msg rs = {
		QREP_RESPONSE_MAGIC, QREP_AUTH_HMAC_SHA256,
		{ [0 ... 31] = 0xb2 }, { [0 ... 31] = 0xc3 },
	}, rs2;
	struct qrep_auth_proof_msg pf = {
		QREP_PROOF_MAGIC, QREP_PROTO_VERSION, { [0 ... 31] = 0xd4 },
	}, pf2;
	uint8_t buf[QREP_AUTH_RESPONSE_SIZE];

	qrep_auth_challenge_encode(&ch, buf);
	EXPECT_EQ(0, memcmp(buf, "QRCH\0\0\0\1\0\0\0\1\0\0\0\0", 16));
	EXPECT_EQ(0xa1, buf[16]);
	EXPECT_EQ(0xa1, buf[47]);
	qrep_auth_challenge_decode(buf, &ch2);
	EXPECT_EQ(0, memcmp(&ch, &ch2, sizeof(ch)));

	qrep_auth_response_encode(&rs, buf);
	EXPECT_EQ(0, memcmp(buf, "QRRS\0\0\0\1", 8));
	EXPECT_EQ(0xb2, buf[8]);
	EXPECT_EQ(0xb2, buf[39]);
	EXPECT_EQ(0xc3, buf[40]);
	EXPECT_EQ(0xc3, buf[71]);
	qrep_auth_response_decode(buf, &rs2);
	EXPECT_EQ(0, memcmp(&rs, &rs2, sizeof(rs)));

	qrep_auth_proof_encode(&pf, buf);
	EXPECT_EQ(0, memcmp(buf, "QRPF\0\0\0\1", 8));
	EXPECT_EQ(0xd4, buf[39]);
	qrep_auth_proof_decode(buf, &pf2);
	EXPECT_EQ(0, memcmp(&pf, &pf2, sizeof(pf)));
}

TEST(auth_messages_check_table)
{
	static const struct {
		struct qrep_auth_challenge_msg m;
		enum qrep_status want;
	} chs[] = {
		/* 0 */ { { QREP_CHALLENGE_MAGIC, QREP_PROTO_VERSION,
			    QREP_AUTH_HMAC_SHA256, 0, { 0 } }, QREP_OK },
		/* 1 */ { { QREP_HELLO_MAGIC, QREP_PROTO_VERSION,
			    QREP_AUTH_HMAC_SHA256, 0, { 0 } }, QREP_ERR_PROTO },
		/* 2 */ { { QREP_CHALLENGE_MAGIC, 2, QREP_AUTH_HMAC_SHA256, 0,
			    { 0 } }, QREP_ERR_PROTO },
		/* 3 */ { { QREP_CHALLENGE_MAGIC, QREP_PROTO_VERSION, 2, 0,
			    { 0 } }, QREP_ERR_PROTO },
		/* 4 */ { { QREP_CHALLENGE_MAGIC, QREP_PROTO_VERSION,
			    QREP_AUTH_HMAC_SHA256, 1, { 0 } }, QREP_ERR_PROTO },
	};
	static const struct {
		struct qrep_auth_response_msg m;
		enum qrep_status want;
	} rss[] = {
		/* 0 */ { { QREP_RESPONSE_MAGIC, QREP_AUTH_HMAC_SHA256,
			    { 0 }, { 0 } }, QREP_OK },
		/* 1 */ { { QREP_REQ_MAGIC, QREP_AUTH_HMAC_SHA256, { 0 },
			    { 0 } }, QREP_ERR_PROTO },
		/* 2 */ { { QREP_RESPONSE_MAGIC, 0, { 0 }, { 0 } },
			  QREP_ERR_PROTO },
	};
	static const struct {
		struct qrep_auth_proof_msg m;
		enum qrep_status want;
	} pfs[] = {
		/* 0 */ { { QREP_PROOF_MAGIC, QREP_PROTO_VERSION, { 0 } },
			  QREP_OK },
		/* 1 */ { { QREP_REPLY_MAGIC, QREP_PROTO_VERSION, { 0 } },
			  QREP_ERR_PROTO },
		/* 2 */ { { QREP_PROOF_MAGIC, 0, { 0 } }, QREP_ERR_PROTO },
	};
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(chs) / sizeof(chs[0]); i++) {
		why = NULL;
		EXPECT_EQ(chs[i].want, qrep_auth_challenge_check(&chs[i].m, &why))
			TH_LOG("challenge row %zu", i);
		EXPECT_NE(NULL, why);
	}
	for (i = 0; i < sizeof(rss) / sizeof(rss[0]); i++)
		EXPECT_EQ(rss[i].want, qrep_auth_response_check(&rss[i].m, &why))
			TH_LOG("response row %zu", i);
	for (i = 0; i < sizeof(pfs) / sizeof(pfs[0]); i++)
		EXPECT_EQ(pfs[i].want, qrep_auth_proof_check(&pfs[i].m, &why))
			TH_LOG("proof row %zu", i);
	EXPECT_STREQ("authentication failed", qrep_status_str(QREP_ERR_AUTH));
	/* Handshake only: never a status a reply to a request may carry. */
	EXPECT_LE(__QREP_ERR_MAX, QREP_ERR_AUTH);
	{
		struct qrep_reply_msg r = { QREP_REPLY_MAGIC, QREP_ERR_AUTH,
					    1, 0, 0, 0 };
		struct qrep_hello_reply_msg hr = {
			QREP_HELLO_MAGIC, QREP_PROTO_VERSION, QREP_ERR_AUTH,
			0, { 0 }, 0, 0, 0,
		};

		EXPECT_EQ(QREP_ERR_INVAL, qrep_reply_check(&r, &why));
		EXPECT_EQ(QREP_OK, qrep_hello_reply_check(&hr, &why));
	}
}

/* ---- proofs --------------------------------------------------------- */

struct proof_inputs {
	uint8_t tn[QREP_AUTH_NONCE_SIZE];
	uint8_t cn[QREP_AUTH_NONCE_SIZE];
	uint8_t hello[QREP_HELLO_SIZE];
	uint8_t reply[QREP_HELLO_REPLY_SIZE];
};

static void proof_inputs_fixed(struct proof_inputs *in)
{
	struct qrep_hello_msg h = {
		QREP_HELLO_MAGIC, QREP_PROTO_VERSION,
		{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
		STORE_SIZE, QREP_BLOCK_SIZE, QREP_HELLO_F_AUTH, 5,
	};
	struct qrep_hello_reply_msg r = {
		QREP_HELLO_MAGIC, QREP_PROTO_VERSION, QREP_OK, QREP_BLOCK_SIZE,
		{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
		STORE_SIZE, STORE_MAXV, 5,
	};

	memset(in->tn, 0x11, sizeof(in->tn));
	memset(in->cn, 0x22, sizeof(in->cn));
	qrep_hello_encode(&h, in->hello);
	qrep_hello_reply_encode(&r, in->reply);
}

/*
 * HMAC-SHA256 of the layout in Documentation/protocol.rst, computed with
 * another implementation (Python's hmac module): pins the wire format.
 */
TEST(proof_known_answer)
{
	static const uint8_t want_c2t[QREP_AUTH_MAC_SIZE] = {
		0x09, 0x0c, 0x73, 0xd7, 0xf5, 0x47, 0x97, 0xd1,
		0xcc, 0xbc, 0x8d, 0xfc, 0x52, 0x7a, 0x22, 0x2b,
		0x4e, 0xc9, 0x4d, 0x49, 0xe3, 0xa7, 0x0f, 0x90,
		0xe2, 0x1e, 0xb2, 0xf6, 0x57, 0x41, 0x80, 0x14,
	};
	static const uint8_t want_t2c[QREP_AUTH_MAC_SIZE] = {
		0x5e, 0xdd, 0xcc, 0x44, 0xd5, 0xfb, 0x12, 0x4c,
		0x4e, 0x03, 0x4f, 0x83, 0x96, 0x47, 0x68, 0x1e,
		0x06, 0x40, 0xf9, 0x43, 0xc0, 0xc4, 0xb4, 0xa3,
		0x71, 0xf1, 0xa0, 0x4f, 0xab, 0xf7, 0xba, 0xab,
	};
	struct proof_inputs in;
	struct qrep_secret s;
	uint8_t mac[QREP_AUTH_MAC_SIZE];

	secret_of(&s, KEY_A);
	proof_inputs_fixed(&in);
	ASSERT_EQ(0, qrep_auth_mac(&s, QREP_AUTH_CLIENT_TO_TARGET, in.tn,
				   in.cn, in.hello, NULL, mac));
	EXPECT_EQ(0, memcmp(mac, want_c2t, sizeof(mac)));
	ASSERT_EQ(0, qrep_auth_mac(&s, QREP_AUTH_TARGET_TO_CLIENT, in.tn,
				   in.cn, in.hello, in.reply, mac));
	EXPECT_EQ(0, memcmp(mac, want_t2c, sizeof(mac)));
	/* A reply belongs to the target's proof only. */
	EXPECT_EQ(-EINVAL, qrep_auth_mac(&s, QREP_AUTH_CLIENT_TO_TARGET, in.tn,
					 in.cn, in.hello, in.reply, mac));
	EXPECT_EQ(-EINVAL, qrep_auth_mac(&s, QREP_AUTH_TARGET_TO_CLIENT, in.tn,
					 in.cn, in.hello, NULL, mac));
}

/* Every byte of every input, the direction and the secret count. */
TEST(proof_covers_every_input)
{
	struct proof_inputs in, bent;
	struct qrep_secret s, other;
	uint8_t good[QREP_AUTH_MAC_SIZE], mac[QREP_AUTH_MAC_SIZE];
	uint8_t *bytes = (uint8_t *)&bent;
	size_t i;

	secret_of(&s, KEY_A);
	secret_of(&other, KEY_B);
	proof_inputs_fixed(&in);
	ASSERT_EQ(0, qrep_auth_mac(&s, QREP_AUTH_TARGET_TO_CLIENT, in.tn,
				   in.cn, in.hello, in.reply, good));
	EXPECT_TRUE(qrep_auth_mac_ok(&s, QREP_AUTH_TARGET_TO_CLIENT, in.tn,
				     in.cn, in.hello, in.reply, good));
	for (i = 0; i < sizeof(bent); i++) {
		bent = in;
		bytes[i] ^= 0x01;
		EXPECT_FALSE(qrep_auth_mac_ok(&s, QREP_AUTH_TARGET_TO_CLIENT,
					      bent.tn, bent.cn, bent.hello,
					      bent.reply, good))
			TH_LOG("input byte %zu", i);
	}
	for (i = 0; i < sizeof(good) * 8; i++) {
		memcpy(mac, good, sizeof(mac));
		mac[i / 8] ^= (uint8_t)(1 << (i % 8));
		EXPECT_FALSE(qrep_auth_mac_ok(&s, QREP_AUTH_TARGET_TO_CLIENT,
					      in.tn, in.cn, in.hello, in.reply,
					      mac)) TH_LOG("mac bit %zu", i);
	}
	EXPECT_FALSE(qrep_auth_mac_ok(&other, QREP_AUTH_TARGET_TO_CLIENT,
				      in.tn, in.cn, in.hello, in.reply, good));
	/* The two nonces swapped are another proof. */
	EXPECT_FALSE(qrep_auth_mac_ok(&s, QREP_AUTH_TARGET_TO_CLIENT, in.cn,
				      in.tn, in.hello, in.reply, good));
	/* A client's proof is not a target's, over the same inputs. */
	ASSERT_EQ(0, qrep_auth_mac(&s, QREP_AUTH_CLIENT_TO_TARGET, in.tn,
				   in.cn, in.hello, NULL, mac));
	EXPECT_NE(0, memcmp(mac, good, sizeof(mac)));
}

TEST(nonces_are_fresh)
{
	uint8_t a[QREP_AUTH_NONCE_SIZE], b[QREP_AUTH_NONCE_SIZE];

	ASSERT_EQ(0, qrep_auth_nonce(a, sizeof(a)));
	ASSERT_EQ(0, qrep_auth_nonce(b, sizeof(b)));
	EXPECT_NE(0, memcmp(a, b, sizeof(a)));
}

/* ---- the secret file ------------------------------------------------ */

FIXTURE(secret_file)
{
	char dir[64];
	char path[128];
	char err[512];
	struct qrep_secret s;
};

FIXTURE_SETUP(secret_file)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/qrep-auth-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/secret", self->dir);
}

FIXTURE_TEARDOWN(secret_file)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
	if (system(cmd))
		TH_LOG("cannot remove %s", self->dir);
}

static int write_file(const char *path, const void *data, size_t len,
		      mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len || fchmod(fd, mode)) {
		close(fd);
		return -EIO;
	}
	return close(fd);
}

TEST_F(secret_file, good_and_trailing_newlines)
{
	ASSERT_EQ(0, write_file(self->path, KEY_A "\n", 33, 0600));
	ASSERT_EQ(0, qrep_secret_load(self->path, &self->s, self->err,
				      sizeof(self->err))) TH_LOG("%s", self->err);
	EXPECT_EQ(32U, self->s.len);
	EXPECT_EQ(0, memcmp(self->s.key, KEY_A, 32));
	/* printf, echo and a Windows editor all give the same secret. */
	ASSERT_EQ(0, write_file(self->path, KEY_A "\r\n\n", 35, 0400));
	ASSERT_EQ(0, qrep_secret_load(self->path, &self->s, self->err,
				      sizeof(self->err)));
	EXPECT_EQ(32U, self->s.len);
	/* Binary secrets are fine; a newline inside is kept. */
	ASSERT_EQ(0, write_file(self->path, "\0\1\2\n\3\4\5\6\7\10\11\12\13\14"
				"\15\16\17", 17, 0600));
	ASSERT_EQ(0, qrep_secret_load(self->path, &self->s, self->err,
				      sizeof(self->err)));
	EXPECT_EQ(17U, self->s.len);
	qrep_secret_wipe(&self->s);
	EXPECT_EQ(0U, self->s.len);
}

TEST_F(secret_file, refused)
{
	static const struct {
		const char *data;
		size_t len;
		mode_t mode;
		int want;
		const char *message;
	} rows[] = {
		/* 0 */ { KEY_A, 32, 0640, -EPERM, "permissions 0640" },
		/* 1 */ { KEY_A, 32, 0604, -EPERM, "chmod 600" },
		/* 2 */ { KEY_A, 32, 0620, -EPERM, "group or others" },
		/* 3 */ { KEY_A, 32, 0601, -EPERM, "permissions 0601" },
		/* 4 */ { "", 0, 0600, -EINVAL, "empty" },
		/* 5 */ { "\n\n", 2, 0600, -EINVAL, "empty" },
		/* 6 */ { "short-secret\n", 13, 0600, -EINVAL, "too short" },
		/* 7 */ { "0123456789abcde", 15, 0600, -EINVAL,
			  "at least 16 bytes" },
	};
	static char big[QREP_SECRET_MAX_LEN + 1];
	char fifo[160];
	size_t i;
	int ret;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ASSERT_EQ(0, write_file(self->path, rows[i].data, rows[i].len,
					rows[i].mode));
		self->err[0] = '\0';
		ret = qrep_secret_load(self->path, &self->s, self->err,
				       sizeof(self->err));
		EXPECT_EQ(rows[i].want, ret) TH_LOG("row %zu", i);
		EXPECT_NE(NULL, strstr(self->err, rows[i].message))
			TH_LOG("row %zu: %s", i, self->err);
		EXPECT_NE(NULL, strstr(self->err, self->path));
		EXPECT_EQ(0U, self->s.len);
	}
	memset(big, 'x', sizeof(big));
	ASSERT_EQ(0, write_file(self->path, big, sizeof(big), 0600));
	EXPECT_EQ(-EFBIG, qrep_secret_load(self->path, &self->s, self->err,
					   sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "longer than 1024 bytes"));

	/* Not a regular file: a directory, and a FIFO (without hanging). */
	EXPECT_EQ(-EINVAL, qrep_secret_load(self->dir, &self->s, self->err,
					    sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "not a regular file"));
	snprintf(fifo, sizeof(fifo), "%s/fifo", self->dir);
	ASSERT_EQ(0, mkfifo(fifo, 0600));
	EXPECT_EQ(-EINVAL, qrep_secret_load(fifo, &self->s, self->err,
					    sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "not a regular file"));
	snprintf(fifo, sizeof(fifo), "%s/missing", self->dir);
	EXPECT_EQ(-ENOENT, qrep_secret_load(fifo, &self->s, self->err,
					    sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "No such file"));
}

/* A configuration without secret-file has no secret; with one, it must load. */
TEST_F(secret_file, optional)
{
	const struct qrep_secret *out = &self->s;

	EXPECT_EQ(0, qrep_secret_load_optional("", &self->s, &out, self->err,
					       sizeof(self->err)));
	EXPECT_EQ(NULL, out);
	ASSERT_EQ(0, write_file(self->path, KEY_A, 32, 0600));
	EXPECT_EQ(0, qrep_secret_load_optional(self->path, &self->s, &out,
					       self->err, sizeof(self->err)));
	EXPECT_EQ(&self->s, out);
	EXPECT_EQ(32U, self->s.len);
	ASSERT_EQ(0, chmod(self->path, 0640));
	EXPECT_EQ(-EPERM, qrep_secret_load_optional(self->path, &self->s,
						    &out, self->err,
						    sizeof(self->err)));
	EXPECT_EQ(NULL, out);
}

/* Someone else's file would let them choose our secret. */
TEST_F(secret_file, owned_by_another_user)
{
	struct passwd *nobody = getpwnam("nobody");

	if (geteuid() != 0 || !nobody)
		SKIP(return, "needs root and a 'nobody' user");
	ASSERT_EQ(0, write_file(self->path, KEY_A, 32, 0600));
	ASSERT_EQ(0, chown(self->path, nobody->pw_uid, nobody->pw_gid));
	EXPECT_EQ(-EPERM, qrep_secret_load(self->path, &self->s, self->err,
					   sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "must belong to this user"))
		TH_LOG("%s", self->err);
}

/* ---- the handshake machines against each other ---------------------- */

enum msg_kind { MSG_HELLO, MSG_CHALLENGE, MSG_RESPONSE, MSG_REPLY, MSG_PROOF };

struct session {
	const struct qrep_secret *cs, *ts;	/* client's, target's */
	uint64_t epoch;				/* the client claims */
	/* The man in the middle: may alter a message in flight. */
	void (*mitm)(struct session *s, enum msg_kind kind, uint8_t *msg);
	const void *mitm_arg;
	/* What crossed the wire, as delivered. */
	uint8_t hello[QREP_HELLO_SIZE];
	uint8_t challenge[QREP_AUTH_CHALLENGE_SIZE];
	uint8_t response[QREP_AUTH_RESPONSE_SIZE];
	uint8_t reply[QREP_HELLO_REPLY_SIZE];
	uint8_t proof[QREP_AUTH_PROOF_SIZE];
	bool challenged, proven;
	/* Outcome. */
	struct qrep_hs_client c;
	struct qrep_hs_target t;
	enum qrep_hs_step cstep;
	const char *cwhy, *twhy;
	uint32_t status;		/* of the reply the target sent */
	bool acted_on_hello;		/* the target ran its store checks */
};

static void deliver(struct session *s, enum msg_kind kind, uint8_t *msg)
{
	if (s->mitm)
		s->mitm(s, kind, msg);
}

/* Feeds one target message to the client, as lib/client.c does. */
static enum qrep_hs_step client_gets(struct session *s, const uint8_t *msg,
				     size_t len, uint8_t *out, size_t *out_len)
{
	size_t want = qrep_hs_client_next_size(&s->c, msg, &s->cwhy);

	if (!want)
		return QREP_HS_FAIL;
	if (want != len) {
		s->cwhy = "test: message of another size";
		return QREP_HS_FAIL;
	}
	return qrep_hs_client_input(&s->c, msg, out, out_len, &s->cwhy);
}

static void run_session(struct session *s)
{
	struct qrep_hello_msg h = {
		.magic = QREP_HELLO_MAGIC,
		.proto_version = QREP_PROTO_VERSION,
		.uuid = { 7, 7, 7 },
		.size = STORE_SIZE,
		.block_size = QREP_BLOCK_SIZE,
		.epoch = s->epoch,
	};
	struct qrep_hello_reply_msg rep = {
		.magic = QREP_HELLO_MAGIC,
		.proto_version = QREP_PROTO_VERSION,
		.block_size = QREP_BLOCK_SIZE,
	};
	uint8_t out[QREP_AUTH_RESPONSE_SIZE];
	enum qrep_hs_target_state ts;
	size_t out_len = 0;
	int proof;

	qrep_hs_client_start(&s->c, &h, s->cs, s->hello);
	qrep_hs_target_init(&s->t, s->ts);
	deliver(s, MSG_HELLO, s->hello);
	ts = qrep_hs_target_hello(&s->t, s->hello, s->challenge, &s->twhy);
	s->cstep = QREP_HS_READ;
	if (ts == QREP_HST_WAIT_RESPONSE) {
		s->challenged = true;
		deliver(s, MSG_CHALLENGE, s->challenge);
		s->cstep = client_gets(s, s->challenge, sizeof(s->challenge),
				       out, &out_len);
		if (s->cstep != QREP_HS_SEND) {
			/* The client hangs up: the target hears nothing. */
			s->status = __QREP_ERR_MAX;	/* no reply */
			return;
		}
		memcpy(s->response, out, sizeof(s->response));
		deliver(s, MSG_RESPONSE, s->response);
		ts = qrep_hs_target_response(&s->t, s->response, &s->twhy);
	}
	/* The store's checks: this store accepts the hello as it is. */
	s->acted_on_hello = ts == QREP_HST_VERDICT;
	s->status = s->acted_on_hello ? QREP_OK : s->t.status;
	rep.status = s->status;
	if (qrep_hs_target_may_describe(&s->t)) {
		memcpy(rep.uuid, s->t.hello_msg.uuid, QREP_UUID_SIZE);
		rep.size = STORE_SIZE;
		rep.max_version = STORE_MAXV;
		rep.epoch = STORE_EPOCH;
	}
	qrep_hello_reply_encode(&rep, s->reply);
	proof = qrep_hs_target_proof(&s->t, s->reply, s->proof);
	s->proven = proof == 1;

	deliver(s, MSG_REPLY, s->reply);
	s->cstep = client_gets(s, s->reply, sizeof(s->reply), out, &out_len);
	if (s->cstep == QREP_HS_READ) {
		/* A man in the middle may send a proof of its own. */
		if (!s->proven && !s->mitm) {
			s->cwhy = "test: the target closed (no proof)";
			s->cstep = QREP_HS_FAIL;
			return;
		}
		deliver(s, MSG_PROOF, s->proof);
		s->cstep = client_gets(s, s->proof, sizeof(s->proof), out,
				       &out_len);
	}
}

/* A session between two sides holding @key, through @mitm. */
static void run_attacked(struct session *s, const struct qrep_secret *key,
			 void (*mitm)(struct session *s, enum msg_kind kind,
				      uint8_t *msg))
{
	memset(s, 0, sizeof(*s));
	s->cs = s->ts = key;
	s->mitm = mitm;
	run_session(s);
}

static bool has(const char *s, const char *part)
{
	return s && strstr(s, part);
}

TEST(handshake_outcomes_table)
{
	struct qrep_secret a, b;
	static const struct {
		int client, target;	/* 0 none, 1 secret a, 2 secret b */
		bool ok;		/* the client is DONE with QREP_OK */
		bool authenticated;
		int cerr;
		const char *client_says;
		const char *target_says;
	} rows[] = {
		/* 0: nobody has a secret: as before authentication */
		{ 0, 0, true, false, 0, "ok", "ok" },
		/* 1: both the same secret */
		{ 1, 1, true, true, 0, "ok", "ok" },
		/* 2: wrong secret */
		{ 2, 1, false, false, -EACCES, "wrong secret", "wrong proof" },
		/* 3: no secret on the client */
		{ 0, 1, false, false, -EACCES,
		  "requires a shared secret", "does not authenticate" },
		/* 4: no secret on the target */
		{ 1, 0, false, false, -EACCES, "target has no secret",
		  "has no secret" },
	};
	const struct qrep_secret *keys[] = { NULL, &a, &b };
	struct session s;
	size_t i;

	secret_of(&a, KEY_A);
	secret_of(&b, KEY_B);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&s, 0, sizeof(s));
		s.cs = keys[rows[i].client];
		s.ts = keys[rows[i].target];
		s.epoch = 4;
		run_session(&s);
		EXPECT_EQ(rows[i].ok ? QREP_HS_DONE : QREP_HS_FAIL, s.cstep)
			TH_LOG("row %zu: %s", i, s.cwhy);
		EXPECT_TRUE(has(s.cwhy, rows[i].client_says))
			TH_LOG("row %zu: client: %s", i, s.cwhy);
		EXPECT_TRUE(has(s.twhy, rows[i].target_says))
			TH_LOG("row %zu: target: %s", i, s.twhy);
		EXPECT_EQ(rows[i].ok, s.acted_on_hello) TH_LOG("row %zu", i);
		EXPECT_EQ(rows[i].authenticated, s.c.authenticated);
		EXPECT_EQ(rows[i].authenticated, s.t.authenticated);
		EXPECT_EQ(rows[i].authenticated, s.challenged && s.proven);
		if (!rows[i].ok) {
			EXPECT_EQ(rows[i].cerr, s.c.error) TH_LOG("row %zu", i);
			EXPECT_TRUE(s.t.auth_refused) TH_LOG("row %zu", i);
		} else {
			EXPECT_EQ(QREP_OK, s.c.reply_msg.status);
			EXPECT_EQ(STORE_MAXV, s.c.reply_msg.max_version);
		}
		/* A refused client learns nothing about the store. */
		if (!rows[i].ok && rows[i].target) {
			EXPECT_EQ(0ULL, qrep_get_be64(s.reply + 32));
			EXPECT_EQ(0ULL, qrep_get_be64(s.reply + 40));
			EXPECT_EQ(0ULL, qrep_get_be64(s.reply + 48));
		}
	}
}

/* Replays: a recorded client or target, against a fresh other side. */
static void mitm_replay_client(struct session *s, enum msg_kind kind,
			       uint8_t *msg)
{
	const struct session *old = s->mitm_arg;

	if (kind == MSG_RESPONSE)
		memcpy(msg, old->response, QREP_AUTH_RESPONSE_SIZE);
}

static void mitm_replay_target(struct session *s, enum msg_kind kind,
			       uint8_t *msg)
{
	const struct session *old = s->mitm_arg;

	if (kind == MSG_CHALLENGE)
		memcpy(msg, old->challenge, QREP_AUTH_CHALLENGE_SIZE);
	else if (kind == MSG_REPLY)
		memcpy(msg, old->reply, QREP_HELLO_REPLY_SIZE);
	else if (kind == MSG_PROOF)
		memcpy(msg, old->proof, QREP_AUTH_PROOF_SIZE);
}

TEST(handshake_replay_fails)
{
	struct session first, again;
	struct qrep_secret a;

	secret_of(&a, KEY_A);
	memset(&first, 0, sizeof(first));
	first.cs = first.ts = &a;
	first.epoch = 9;
	run_session(&first);
	ASSERT_EQ(QREP_HS_DONE, first.cstep) TH_LOG("%s", first.cwhy);

	/*
	 * The recorded client's hello and response to a fresh target: the
	 * target's new nonce makes the old proof worthless, and the hello
	 * (epoch 9, which would fence others) is never acted on.
	 */
	memset(&again, 0, sizeof(again));
	again.cs = again.ts = &a;
	again.epoch = 9;
	again.mitm = mitm_replay_client;
	again.mitm_arg = &first;
	run_session(&again);
	EXPECT_FALSE(again.acted_on_hello);
	EXPECT_EQ(QREP_ERR_AUTH, again.status);
	EXPECT_TRUE(has(again.twhy, "replayed")) TH_LOG("%s", again.twhy);
	EXPECT_EQ(QREP_HS_FAIL, again.cstep);
	EXPECT_TRUE(has(again.cwhy, "wrong secret")) TH_LOG("%s", again.cwhy);

	/*
	 * A recorded target (its challenge, reply and proof) to a fresh
	 * client: the client's new nonce makes the old proof worthless.
	 */
	memset(&again, 0, sizeof(again));
	again.cs = &a;
	again.ts = &a;
	again.epoch = 9;
	again.mitm = mitm_replay_target;
	again.mitm_arg = &first;
	run_session(&again);
	EXPECT_EQ(QREP_HS_FAIL, again.cstep);
	EXPECT_EQ(-EACCES, again.c.error);
	EXPECT_TRUE(has(again.cwhy, "target's proof is wrong"))
		TH_LOG("%s", again.cwhy);
	EXPECT_FALSE(again.c.authenticated);
}

/*
 * Reflection: the target's own proof sent back as the client's, and the
 * target's own nonce sent back as the client's.
 */
static void mitm_reflect_proof(struct session *s, enum msg_kind kind,
			       uint8_t *msg)
{
	struct qrep_auth_response_msg r;
	uint8_t fake_reply[QREP_HELLO_REPLY_SIZE] = { 0 };

	if (kind != MSG_RESPONSE)
		return;
	/*
	 * What an attacker can get from a target: proofs in the other
	 * direction. Even one over exactly these nonces and hello (here
	 * computed with the secret, as if obtained) does not pass.
	 */
	qrep_auth_response_decode(msg, &r);
	qrep_auth_mac(s->ts, QREP_AUTH_TARGET_TO_CLIENT, s->t.target_nonce,
		      r.nonce, s->hello, fake_reply, r.mac);
	qrep_auth_response_encode(&r, msg);
}

static void mitm_reflect_nonce(struct session *s, enum msg_kind kind,
			       uint8_t *msg)
{
	struct qrep_auth_response_msg r;

	if (kind != MSG_RESPONSE)
		return;
	qrep_auth_response_decode(msg, &r);
	memcpy(r.nonce, s->t.target_nonce, QREP_AUTH_NONCE_SIZE);
	qrep_auth_mac(s->cs, QREP_AUTH_CLIENT_TO_TARGET, s->t.target_nonce,
		      r.nonce, s->hello, NULL, r.mac);
	qrep_auth_response_encode(&r, msg);
}

/* A target that answers with the client's kind of proof. */
static void mitm_client_proof_as_target(struct session *s, enum msg_kind kind,
					uint8_t *msg)
{
	if (kind != MSG_PROOF)
		return;
	qrep_auth_mac(s->ts, QREP_AUTH_CLIENT_TO_TARGET, s->c.target_nonce,
		      s->c.client_nonce, s->hello, NULL, msg + 8);
}

TEST(handshake_reflection_fails)
{
	struct session s;
	struct qrep_secret a;

	secret_of(&a, KEY_A);
	run_attacked(&s, &a, mitm_reflect_proof);
	EXPECT_FALSE(s.acted_on_hello);
	EXPECT_EQ(QREP_ERR_AUTH, s.status);
	EXPECT_TRUE(has(s.twhy, "wrong proof")) TH_LOG("%s", s.twhy);

	run_attacked(&s, &a, mitm_reflect_nonce);
	EXPECT_FALSE(s.acted_on_hello);
	EXPECT_EQ(QREP_ERR_AUTH, s.status);
	EXPECT_TRUE(has(s.twhy, "reflected")) TH_LOG("%s", s.twhy);

	run_attacked(&s, &a, mitm_client_proof_as_target);
	EXPECT_EQ(QREP_HS_FAIL, s.cstep);
	EXPECT_TRUE(has(s.cwhy, "target's proof is wrong"))
		TH_LOG("%s", s.cwhy);
}

/* On-path changes to what the proofs cover, and downgrades. */
static void mitm_raise_epoch(struct session *s, enum msg_kind kind,
			     uint8_t *msg)
{
	(void)s;
	if (kind == MSG_HELLO)
		qrep_put_be64(msg + 40, 1000);
}

static void mitm_lower_max_version(struct session *s, enum msg_kind kind,
				   uint8_t *msg)
{
	(void)s;
	if (kind == MSG_REPLY)
		qrep_put_be64(msg + 40, 1);
}

static void mitm_strip_auth(struct session *s, enum msg_kind kind,
			    uint8_t *msg)
{
	(void)s;
	if (kind == MSG_HELLO)
		qrep_put_be32(msg + 36, 0);
}

TEST(handshake_tampering_fails)
{
	struct qrep_hello_msg h = {
		.magic = QREP_HELLO_MAGIC, .proto_version = QREP_PROTO_VERSION,
		.size = STORE_SIZE, .block_size = QREP_BLOCK_SIZE,
	};
	struct qrep_hello_reply_msg ok = {
		QREP_HELLO_MAGIC, QREP_PROTO_VERSION, QREP_OK, QREP_BLOCK_SIZE,
		{ 0 }, STORE_SIZE, 1, 1,
	};
	uint8_t out[QREP_AUTH_RESPONSE_SIZE];
	struct session s;
	struct qrep_secret a;
	size_t n;

	secret_of(&a, KEY_A);

	/* A raised epoch would fence the real primary: refused unread. */
	memset(&s, 0, sizeof(s));
	s.cs = s.ts = &a;
	s.epoch = 2;
	s.mitm = mitm_raise_epoch;
	run_session(&s);
	EXPECT_FALSE(s.acted_on_hello);
	EXPECT_EQ(QREP_ERR_AUTH, s.status);
	EXPECT_EQ(QREP_HS_FAIL, s.cstep);

	/* A lowered max_version would make the primary reuse versions. */
	run_attacked(&s, &a, mitm_lower_max_version);
	EXPECT_TRUE(s.acted_on_hello);
	EXPECT_EQ(QREP_HS_FAIL, s.cstep);
	EXPECT_TRUE(has(s.cwhy, "reply was altered")) TH_LOG("%s", s.cwhy);

	/* Stripping the flag: the target still insists. */
	run_attacked(&s, &a, mitm_strip_auth);
	EXPECT_FALSE(s.acted_on_hello);
	EXPECT_EQ(QREP_ERR_AUTH, s.status);
	EXPECT_EQ(QREP_HS_FAIL, s.cstep);

	/* Answering the hello with a plain "OK": the client insists. */
	memset(&s, 0, sizeof(s));
	s.cs = &a;
	qrep_hs_client_start(&s.c, &h, &a, s.hello);
	qrep_hello_reply_encode(&ok, s.reply);
	s.cstep = client_gets(&s, s.reply, sizeof(s.reply), out, &n);
	EXPECT_EQ(QREP_HS_FAIL, s.cstep);
	EXPECT_EQ(-EACCES, s.c.error);
	EXPECT_TRUE(has(s.cwhy, "without authenticating")) TH_LOG("%s", s.cwhy);
}

/* Messages out of turn or of the wrong kind end the handshake. */
TEST(handshake_unexpected_messages)
{
	struct qrep_hello_msg h = {
		.magic = QREP_HELLO_MAGIC, .proto_version = QREP_PROTO_VERSION,
		.size = STORE_SIZE, .block_size = QREP_BLOCK_SIZE,
	};
	uint8_t hello[QREP_HELLO_SIZE], msg[QREP_HELLO_REPLY_SIZE] = { 0 };
	uint8_t out[QREP_AUTH_RESPONSE_SIZE];
	struct qrep_hs_client c;
	struct qrep_hs_target t;
	struct qrep_secret a;
	const char *why;
	size_t n;

	secret_of(&a, KEY_A);
	/* A challenge to a client without a secret. */
	qrep_hs_client_start(&c, &h, NULL, hello);
	EXPECT_EQ(0, qrep_get_be32(hello + 36));
	qrep_put_be32(msg, QREP_CHALLENGE_MAGIC);
	qrep_put_be32(msg + 4, QREP_PROTO_VERSION);
	EXPECT_EQ(0U, qrep_hs_client_next_size(&c, msg, &why));
	EXPECT_TRUE(has(why, "not asked for"));
	EXPECT_EQ(-EPROTO, c.error);

	/* Another protocol version, in any message's prefix. */
	qrep_hs_client_start(&c, &h, &a, hello);
	EXPECT_EQ(QREP_HELLO_F_AUTH, qrep_get_be32(hello + 36));
	qrep_put_be32(msg + 4, QREP_PROTO_VERSION + 1);
	EXPECT_EQ(0U, qrep_hs_client_next_size(&c, msg, &why));
	EXPECT_TRUE(has(why, "another version"));

	/* A proof before any reply; garbage. */
	qrep_hs_client_start(&c, &h, &a, hello);
	qrep_put_be32(msg, QREP_PROOF_MAGIC);
	qrep_put_be32(msg + 4, QREP_PROTO_VERSION);
	EXPECT_EQ(0U, qrep_hs_client_next_size(&c, msg, &why));
	qrep_hs_client_start(&c, &h, &a, hello);
	EXPECT_EQ(QREP_HS_FAIL, qrep_hs_client_input(&c, msg, out, &n, &why));

	/* An old target refusing the unknown flag. */
	qrep_hs_client_start(&c, &h, &a, hello);
	memset(msg, 0, sizeof(msg));
	qrep_put_be32(msg, QREP_HELLO_MAGIC);
	qrep_put_be32(msg + 4, QREP_PROTO_VERSION);
	qrep_put_be32(msg + 8, QREP_ERR_INVAL);
	EXPECT_EQ((size_t)QREP_HELLO_REPLY_SIZE,
		  qrep_hs_client_next_size(&c, msg, &why));
	EXPECT_EQ(QREP_HS_FAIL, qrep_hs_client_input(&c, msg, out, &n, &why));
	EXPECT_TRUE(has(why, "without authentication support"));

	/* The target: a response without a challenge, a hello twice. */
	qrep_hs_target_init(&t, &a);
	EXPECT_EQ(QREP_HST_REFUSED, qrep_hs_target_response(&t, out, &why));
	qrep_hs_target_init(&t, NULL);
	qrep_hs_client_start(&c, &h, NULL, hello);
	EXPECT_EQ(QREP_HST_VERDICT, qrep_hs_target_hello(&t, hello, msg, &why));
	EXPECT_EQ(QREP_HST_REFUSED, qrep_hs_target_hello(&t, hello, msg, &why));
	EXPECT_TRUE(has(why, "out of turn"));
	/* A garbled response: refused, counted as authentication. */
	qrep_hs_target_init(&t, &a);
	qrep_hs_client_start(&c, &h, &a, hello);
	ASSERT_EQ(QREP_HST_WAIT_RESPONSE,
		  qrep_hs_target_hello(&t, hello, msg, &why));
	memset(out, 0x5a, sizeof(out));
	EXPECT_EQ(QREP_HST_REFUSED, qrep_hs_target_response(&t, out, &why));
	EXPECT_EQ(QREP_ERR_PROTO, t.status);
	EXPECT_TRUE(t.auth_refused);
	EXPECT_FALSE(qrep_hs_target_may_describe(&t));
}

TEST_HARNESS_MAIN
