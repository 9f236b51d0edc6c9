// SPDX-License-Identifier: GPL-2.0
/*
 * Writes the generated seeds of the fuzzing corpus:
 *
 *   gen_corpus DIR      (make -C selftests/fuzz corpus)
 *
 * into DIR/<harness>/<name>, one small file each, made with the library's
 * own encoders so they stay valid when a format changes. Files not named
 * here (regression seeds, hand-made ones) are left alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/qrep.h>

#include "bytes.h"
#include "cluster_proto.h"
#include "cluster_status.h"
#include "fuzz.h"
#include "genl.h"
#include "proto.h"
#include "store.h"
#include "uuid.h"

#define BS		QREP_BLOCK_SIZE
#define STORE_SEED_SIZE	(64ULL * BS)

static const char *out_dir;

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void put_seed(const char *harness, const char *name, const void *buf,
		     size_t len)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", out_dir, harness);
	if (mkdir(path, 0755) && errno != EEXIST)
		die("%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, harness, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len || close(fd))
		die("%s: %s", path, strerror(errno));
}

/* A growing byte buffer for streams. */
struct buf {
	uint8_t data[16384];
	size_t len;
};

static void buf_add(struct buf *b, const void *p, size_t len)
{
	if (len > sizeof(b->data) - b->len)
		die("seed too large");
	memcpy(b->data + b->len, p, len);
	b->len += len;
}

static void buf_byte(struct buf *b, uint8_t v)
{
	buf_add(b, &v, 1);
}

static void buf_be64(struct buf *b, uint64_t v)
{
	uint8_t x[8];

	qrep_put_be64(x, v);
	buf_add(b, x, 8);
}

static void add_hello(struct buf *b, const struct qrep_hello_msg *m)
{
	uint8_t x[QREP_HELLO_SIZE];

	qrep_hello_encode(m, x);
	buf_add(b, x, sizeof(x));
}

static void add_req(struct buf *b, const struct qrep_req_msg *m)
{
	uint8_t x[QREP_REQ_SIZE];

	qrep_req_encode(m, x);
	buf_add(b, x, sizeof(x));
}

static void add_blocks(struct buf *b, uint32_t n, uint8_t fill)
{
	uint8_t block[BS];
	uint32_t i;

	for (i = 0; i < n; i++) {
		memset(block, fill + i, sizeof(block));
		buf_add(b, block, sizeof(block));
	}
}

/* ---- fuzz_proto: a kind byte, the message, for requests dev_blocks --- */

static void proto_seeds(void)
{
	struct qrep_hello_msg h = {
		QREP_HELLO_MAGIC, QREP_PROTO_VERSION, { 1, 2, 3, 4 },
		1 << 30, BS, 0, 7,
	};
	struct qrep_hello_reply_msg hr = {
		QREP_HELLO_MAGIC, QREP_PROTO_VERSION, QREP_OK, BS, { 1, 2 },
		1 << 30, 99, 7,
	};
	struct qrep_req_msg rq = {
		QREP_REQ_MAGIC, QREP_OP_WRITE, QREP_REQ_FUA, 0x1234, 7, 16, 4,
		0, 42,
	};
	struct qrep_reply_msg rp = {
		QREP_REPLY_MAGIC, QREP_OK, 0x1234, 4, 0, 7,
	};
	struct qrep_auth_challenge_msg ch = {
		QREP_CHALLENGE_MAGIC, QREP_PROTO_VERSION,
		QREP_AUTH_HMAC_SHA256, 0, { [0 ... 31] = 0x5a },
	};
	struct qrep_auth_response_msg rs = {
		QREP_RESPONSE_MAGIC, QREP_AUTH_HMAC_SHA256,
		{ [0 ... 31] = 0xa5 }, { [0 ... 31] = 0x3c },
	};
	struct qrep_auth_proof_msg pf = {
		QREP_PROOF_MAGIC, QREP_PROTO_VERSION, { [0 ... 31] = 0xc3 },
	};
	uint8_t x[QREP_AUTH_RESPONSE_SIZE];
	struct buf b;

#define PROTO_SEED(name, kind, encode, msg, size, blocks) do {	\
		b.len = 0;						\
		buf_byte(&b, kind);					\
		encode(&(msg), x);					\
		buf_add(&b, x, size);					\
		if (blocks)						\
			buf_be64(&b, blocks);				\
		put_seed("proto", name, b.data, b.len);			\
	} while (0)

	PROTO_SEED("hello-ok", 0, qrep_hello_encode, h, QREP_HELLO_SIZE, 0);
	h.flags = 1;
	PROTO_SEED("hello-flags", 0, qrep_hello_encode, h, QREP_HELLO_SIZE, 0);
	PROTO_SEED("hello-reply-ok", 1, qrep_hello_reply_encode, hr,
		   QREP_HELLO_REPLY_SIZE, 0);
	hr.status = QREP_ERR_EPOCH;
	hr.block_size = 0;
	PROTO_SEED("hello-reply-fenced", 1, qrep_hello_reply_encode, hr,
		   QREP_HELLO_REPLY_SIZE, 0);
	PROTO_SEED("req-write-fua", 2, qrep_req_encode, rq, QREP_REQ_SIZE,
		   1024);
	rq.op = QREP_OP_READ;
	rq.flags = 0;
	rq.block = UINT64_MAX - 1;
	PROTO_SEED("req-read-wraps", 2, qrep_req_encode, rq, QREP_REQ_SIZE,
		   UINT64_MAX);
	rq.op = QREP_OP_FLUSH;
	rq.block = 0;
	rq.nblocks = 0;
	PROTO_SEED("req-flush", 2, qrep_req_encode, rq, QREP_REQ_SIZE, 1);
	rq.op = QREP_OP_READ;
	rq.nblocks = QREP_MAX_REQ_BLOCKS;
	PROTO_SEED("req-read-max-blocks", 2, qrep_req_encode, rq,
		   QREP_REQ_SIZE, QREP_MAX_REQ_BLOCKS);
	PROTO_SEED("reply-read", 3, qrep_reply_encode, rp, QREP_REPLY_SIZE, 0);
	rp.status = QREP_ERR_CHECKSUM;
	rp.nblocks = 0;
	rp.flags = QREP_REPLY_OLDER_IGNORED;
	PROTO_SEED("reply-error", 3, qrep_reply_encode, rp, QREP_REPLY_SIZE,
		   0);
	h.flags = QREP_HELLO_F_AUTH;
	PROTO_SEED("hello-auth", 0, qrep_hello_encode, h, QREP_HELLO_SIZE, 0);
	PROTO_SEED("auth-challenge", 4, qrep_auth_challenge_encode, ch,
		   QREP_AUTH_CHALLENGE_SIZE, 0);
	PROTO_SEED("auth-response", 5, qrep_auth_response_encode, rs,
		   QREP_AUTH_RESPONSE_SIZE, 0);
	PROTO_SEED("auth-proof", 6, qrep_auth_proof_encode, pf,
		   QREP_AUTH_PROOF_SIZE, 0);
#undef PROTO_SEED
}

/* ---- fuzz_handshake: a control byte, then the peer's messages ------- */

static void handshake_seeds(void)
{
	static struct buf b;
	struct qrep_hello_msg h = {
		QREP_HELLO_MAGIC, QREP_PROTO_VERSION, { 1, 2, 3 }, 1 << 20, BS,
		0, 3,
	};
	struct qrep_hello_reply_msg hr = {
		QREP_HELLO_MAGIC, QREP_PROTO_VERSION, QREP_OK, BS, { 1, 2, 3 },
		1 << 20, 9, 3,
	};
	struct qrep_auth_challenge_msg ch = {
		QREP_CHALLENGE_MAGIC, QREP_PROTO_VERSION,
		QREP_AUTH_HMAC_SHA256, 0, { [0 ... 31] = 0x11 },
	};
	struct qrep_auth_response_msg rs = {
		QREP_RESPONSE_MAGIC, QREP_AUTH_HMAC_SHA256,
		{ [0 ... 31] = 0x22 }, { [0 ... 31] = 0x33 },
	};
	struct qrep_auth_proof_msg pf = {
		QREP_PROOF_MAGIC, QREP_PROTO_VERSION, { [0 ... 31] = 0x44 },
	};
	uint8_t x[QREP_AUTH_RESPONSE_SIZE];

	/* A target without a secret, a plain hello. */
	b.len = 0;
	buf_byte(&b, 0);
	add_hello(&b, &h);
	put_seed("handshake", "target-plain", b.data, b.len);
	/* A target with a secret: an authenticating hello, a response. */
	b.len = 0;
	buf_byte(&b, 1);
	h.flags = QREP_HELLO_F_AUTH;
	add_hello(&b, &h);
	qrep_auth_response_encode(&rs, x);
	buf_add(&b, x, QREP_AUTH_RESPONSE_SIZE);
	put_seed("handshake", "target-auth", b.data, b.len);
	/* A client without a secret: a hello reply. */
	b.len = 0;
	buf_byte(&b, 2);
	qrep_hello_reply_encode(&hr, x);
	buf_add(&b, x, QREP_HELLO_REPLY_SIZE);
	put_seed("handshake", "client-plain", b.data, b.len);
	/* A client with a secret: challenge, reply, proof. */
	b.len = 0;
	buf_byte(&b, 3);
	qrep_auth_challenge_encode(&ch, x);
	buf_add(&b, x, QREP_AUTH_CHALLENGE_SIZE);
	qrep_hello_reply_encode(&hr, x);
	buf_add(&b, x, QREP_HELLO_REPLY_SIZE);
	qrep_auth_proof_encode(&pf, x);
	buf_add(&b, x, QREP_AUTH_PROOF_SIZE);
	put_seed("handshake", "client-auth", b.data, b.len);
	/* A client with a secret, refused at once. */
	b.len = 0;
	buf_byte(&b, 3);
	hr.status = QREP_ERR_AUTH;
	qrep_hello_reply_encode(&hr, x);
	buf_add(&b, x, QREP_HELLO_REPLY_SIZE);
	put_seed("handshake", "client-auth-refused", b.data, b.len);
}

/* ---- fuzz_parse and fuzz_config: text ------------------------------- */

static void text_seed(const char *harness, const char *name, const char *s)
{
	put_seed(harness, name, s, strlen(s));
}

static void parse_seeds(void)
{
	text_seed("parse", "size-gib", "1GiB");
	text_seed("parse", "size-max", "18446744073709551615");
	text_seed("parse", "size-overflow", "16384P");
	text_seed("parse", "uuid", "0F8E2C1A-5b3d-4e6f-9a7b-8c9d0e1f2a3b");
	text_seed("parse", "hostport-v4", "192.0.2.1:7789");
	text_seed("parse", "hostport-v6", "[2001:db8::1]:065535");
	text_seed("parse", "hostport-any", ":0");
	text_seed("parse", "duration-ms", "500ms");
	text_seed("parse", "duration-m", "71582m");
}

static void config_seeds(void)
{
	text_seed("config", "full",
		  "# r0\n"
		  "resource r0   # trailing comment\n"
		  "device 3\n"
		  "size 256M\n"
		  "uuid 0b7c8f6e-2d0a-4a3b-9c1d-5e6f7a8b9c0d\n"
		  "mode mirror\n"
		  "\tio-timeout 5s\n"
		  "connect-timeout 500ms\n"
		  "secret-file /etc/qrep/r0.secret\n"
		  "replica a 127.0.0.1:7801\n"
		  "replica b [::1]:7802\r\n"
		  "replica c node3:7800");
	text_seed("config", "minimal",
		  "resource x\ndevice 63\nsize 4096\n"
		  "uuid 00000000-0000-0000-0000-000000000001\n"
		  "replica a h:1\n");
	text_seed("config", "eight-replicas",
		  "resource big.set_1\ndevice 0\nsize 1T\nmode quorum\n"
		  "uuid 7d4c2f0e-9a1b-4c3d-8e5f-a1b2c3d4e5f6\n"
		  "replica a 192.0.2.1:7800\nreplica b 192.0.2.2:7800\n"
		  "replica c 192.0.2.3:7800\nreplica d 192.0.2.4:7800\n"
		  "replica e [2001:db8::5]:7800\nreplica f [2001:db8::6]:7800\n"
		  "replica g node7:7800\nreplica h node8:7800\n");
	text_seed("config", "quorum-settings",
		  "resource q\ndevice 2\nsize 64M\n"
		  "uuid 7d4c2f0e-9a1b-4c3d-8e5f-a1b2c3d4e5f6\n"
		  "write-quorum 3\nread-quorum 1\non-no-quorum error\n"
		  "mode quorum\n"
		  "replica a 192.0.2.1:7800\nreplica b 192.0.2.2:7800\n"
		  "replica c 192.0.2.3:7800\n");
	text_seed("config", "quorum-refused",
		  "resource q\ndevice 2\nsize 64M\nmode quorum\n"
		  "uuid 7d4c2f0e-9a1b-4c3d-8e5f-a1b2c3d4e5f6\n"
		  "write-quorum 1\nread-quorum 3\non-no-quorum suspend\n"
		  "replica a 192.0.2.1:7800\nreplica b 192.0.2.2:7800\n"
		  "replica c 192.0.2.3:7800\n");
	text_seed("config", "cluster",
		  "resource c\ndevice 0\nsize 1G\nmode quorum\n"
		  "uuid 7d4c2f0e-9a1b-4c3d-8e5f-a1b2c3d4e5f6\n"
		  "replica a 192.0.2.1:7800\nreplica b 192.0.2.2:7800\n"
		  "replica c 192.0.2.3:7800\n"
		  "node 1 192.0.2.1:7790\nnode 2 192.0.2.2:7790\n"
		  "node 3 [2001:db8::3]:7790\n"
		  "heartbeat-interval 250ms\nheartbeat-timeout 1500ms\n"
		  "election-ack-timeout 500ms\ncoordinator-timeout 3s\n"
		  "epoch-quorum-timeout 1s\nfailback catchup\n");
	text_seed("config", "cluster-in-mirror",
		  "resource c\ndevice 0\nsize 1G\n"
		  "uuid 7d4c2f0e-9a1b-4c3d-8e5f-a1b2c3d4e5f6\n"
		  "replica a 192.0.2.1:7800\nnode 1 192.0.2.1:7790\n");
	text_seed("config", "duplicate-address",
		  "resource r\ndevice 1\nsize 1G\n"
		  "uuid 7d4c2f0e-9a1b-4c3d-8e5f-a1b2c3d4e5f6\n"
		  "replica a 192.0.2.1:7800\nreplica b 192.0.2.1:7800\n");
}

/* ---- fuzz_genl: netlink messages as the kernel sends them ----------- */

static struct nlmsghdr *genl_msg(char *buf, uint16_t type, uint8_t cmd)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_seq = 1;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = QREP_GENL_VERSION;
	return nlh;
}

static void genl_seeds(void)
{
	static char buf[8192];
	uint8_t uuid[QREP_UUID_SIZE] = { 0x0b, 0x7c, 0x8f, 0x6e };
	struct nlmsghdr *nlh, *err_nlh;
	struct nlmsgerr *e;
	struct nlattr *nest;
	size_t len;
	int i;

	memset(buf, 0, sizeof(buf));
	nlh = genl_msg(buf, 0x20, QREP_CMD_DEV_GET);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	mnl_attr_put_strz(nlh, QREP_A_DEV_NAME, "qrep0");
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 30);
	mnl_attr_put_u32(nlh, QREP_A_DEV_MODE, QREP_MODE_MIRROR);
	mnl_attr_put(nlh, QREP_A_DEV_UUID, sizeof(uuid), uuid);
	mnl_attr_put_u64(nlh, QREP_A_DEV_EPOCH, 3);
	mnl_attr_put_u64(nlh, QREP_A_DEV_VERSION, 1000);
	mnl_attr_put_u32(nlh, QREP_A_DEV_IO_TIMEOUT_MS, 30000);
	mnl_attr_put_u32(nlh, QREP_A_DEV_LIVE_REPLICAS, 2);
	for (i = 0; i < 2; i++) {
		nest = mnl_attr_nest_start(nlh, QREP_A_REPLICA);
		mnl_attr_put_u32(nlh, QREP_A_REPLICA_ID, (uint32_t)i);
		mnl_attr_put_strz(nlh, QREP_A_REPLICA_NAME, "192.0.2.1:7800");
		mnl_attr_put_u32(nlh, QREP_A_REPLICA_STATE, 1);
		mnl_attr_put_u32(nlh, QREP_A_REPLICA_FLAGS, 0);
		mnl_attr_put_u32(nlh, QREP_A_REPLICA_INFLIGHT, 4);
		mnl_attr_put_u64(nlh, QREP_A_REPLICA_MAX_VERSION, 999);
		mnl_attr_put_u64(nlh, QREP_A_REPLICA_READS, 10);
		mnl_attr_put_u64(nlh, QREP_A_REPLICA_WRITES, 20);
		mnl_attr_put_u64(nlh, QREP_A_REPLICA_ERRORS, 1);
		mnl_attr_put_strz(nlh, QREP_A_REPLICA_LAST_ERROR, "timed out");
		mnl_attr_nest_end(nlh, nest);
	}
	/* A dump: the device, then NLMSG_DONE. */
	len = nlh->nlmsg_len;
	nlh = (struct nlmsghdr *)(buf + len);
	nlh = mnl_nlmsg_put_header(nlh);
	nlh->nlmsg_type = NLMSG_DONE;
	mnl_nlmsg_put_extra_header(nlh, sizeof(int));
	len += nlh->nlmsg_len;
	put_seed("genl", "dev-dump", buf, len);

	memset(buf, 0, sizeof(buf));
	nlh = genl_msg(buf, 0x20, QREP_CMD_EVENT);
	mnl_attr_put_u32(nlh, QREP_A_EVENT, 1);
	mnl_attr_put_u64(nlh, QREP_A_EVENT_SEQ, 1);
	mnl_attr_put_strz(nlh, QREP_A_DEV_NAME, "qrep1");
	/* An attribute from a newer kernel. */
	mnl_attr_put_u32(nlh, QREP_A_MAX + 1, 0);
	put_seed("genl", "event", buf, nlh->nlmsg_len);

	/* A quorum device as DEV_GET shows it, and a quorum event. */
	memset(buf, 0, sizeof(buf));
	nlh = genl_msg(buf, 0x20, QREP_CMD_DEV_GET);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 1);
	mnl_attr_put_strz(nlh, QREP_A_DEV_NAME, "qrep1");
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 26);
	mnl_attr_put_u32(nlh, QREP_A_DEV_MODE, QREP_MODE_QUORUM);
	mnl_attr_put_u64(nlh, QREP_A_DEV_EPOCH, 2);
	mnl_attr_put_u32(nlh, QREP_A_DEV_REPLICAS, 3);
	mnl_attr_put_u32(nlh, QREP_A_DEV_WRITE_QUORUM, 2);
	mnl_attr_put_u32(nlh, QREP_A_DEV_READ_QUORUM, 2);
	mnl_attr_put_u32(nlh, QREP_A_DEV_ON_NO_QUORUM, QREP_NO_QUORUM_SUSPEND);
	mnl_attr_put_u32(nlh, QREP_A_DEV_QUORUM_FLAGS, QREP_QUORUM_F_READ);
	mnl_attr_put_u32(nlh, QREP_A_DEV_HELD, 5);
	put_seed("genl", "dev-quorum", buf, nlh->nlmsg_len);

	memset(buf, 0, sizeof(buf));
	nlh = genl_msg(buf, 0x20, QREP_CMD_EVENT);
	mnl_attr_put_u32(nlh, QREP_A_EVENT, QREP_EVENT_QUORUM_LOST);
	mnl_attr_put_u64(nlh, QREP_A_EVENT_SEQ, 9);
	mnl_attr_put_strz(nlh, QREP_A_DEV_NAME, "qrep1");
	mnl_attr_put_u32(nlh, QREP_A_DEV_QUORUM_FLAGS, QREP_QUORUM_F_READ);
	put_seed("genl", "event-quorum-lost", buf, nlh->nlmsg_len);

	/* An error with an extended ack, the request echoed (not capped). */
	memset(buf, 0, sizeof(buf));
	err_nlh = mnl_nlmsg_put_header(buf);
	err_nlh->nlmsg_type = NLMSG_ERROR;
	err_nlh->nlmsg_flags = NLM_F_ACK_TLVS;
	e = mnl_nlmsg_put_extra_header(err_nlh, sizeof(*e));
	e->error = -EINVAL;
	nlh = genl_msg(buf + 2048, 0x20, QREP_CMD_DEV_CREATE);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	e->msg = *nlh;
	mnl_nlmsg_put_extra_header(err_nlh, nlh->nlmsg_len - sizeof(*nlh));
	memcpy(e + 1, (char *)nlh + sizeof(*nlh),
	       nlh->nlmsg_len - sizeof(*nlh));
	mnl_attr_put_strz(err_nlh, NLMSGERR_ATTR_MSG,
			  "size is not a multiple of 4096");
	put_seed("genl", "error-extack", buf, err_nlh->nlmsg_len);

	/* The same, capped: only the request's header is echoed. */
	memset(buf, 0, sizeof(buf));
	err_nlh = mnl_nlmsg_put_header(buf);
	err_nlh->nlmsg_type = NLMSG_ERROR;
	err_nlh->nlmsg_flags = NLM_F_ACK_TLVS | NLM_F_CAPPED;
	e = mnl_nlmsg_put_extra_header(err_nlh, sizeof(*e));
	e->error = -EEXIST;
	e->msg.nlmsg_len = 64;
	mnl_attr_put_strz(err_nlh, NLMSGERR_ATTR_MSG, "device exists");
	put_seed("genl", "error-capped", buf, err_nlh->nlmsg_len);
}

/* ---- fuzz_store: a control byte, then the header and metadata ------- */

static void store_image(const char *name, const char *path, uint8_t ctrl,
			void (*damage)(uint8_t *img, size_t len))
{
	static uint8_t img[1 + 2 * BS];
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	img[0] = ctrl;
	if (fd < 0 || pread(fd, img + 1, 2 * BS, 0) != 2 * BS)
		die("%s: cannot read the store", path);
	close(fd);
	/* The header and the written records; the rest is a hole anyway. */
	for (len = 1 + 2 * BS; len > 1 && !img[len - 1]; len--)
		;
	if (damage)
		damage(img + 1, len - 1);
	put_seed("store", name, img, len);
}

static void break_slot1_crc(uint8_t *img, size_t len)
{
	if (len > 512 + 100)
		img[512 + 100] ^= 1;
}

static void store_seeds(void)
{
	static uint8_t data[4 * BS];
	/* Fixed, so that the seeds come out the same every time. */
	uint8_t uuid[QREP_UUID_SIZE] = { 0x61, 0x27, 0xfc, 0x35, 0x8a, 0x24,
					 0x49, 0xc6, 0x84, 0x59, 0x72, 0xb8,
					 0x97, 0xd9, 0x26, 0xe0 };
	struct qrep_store *s;
	char path[64], err[512];
	int fd, i;

	fd = fuzz_memfd("gen-store", path, sizeof(path));
	if (fd < 0 || qrep_store_init(path, STORE_SEED_SIZE, uuid, 0, err,
				      sizeof(err)))
		die("cannot make a store: %s", err);
	store_image("fresh", path, 0x04, NULL);
	store_image("fresh-rdonly", path, 0x24, NULL);

	if (qrep_store_open(path, QREP_STORE_EXCL, &s, err, sizeof(err)))
		die("%s", err);
	for (i = 0; i < 4; i++)
		memset(data + i * BS, i ? 0x11 * i : 0, BS);
	if (qrep_store_write(s, 0, 4, data, 5, 0, NULL) ||
	    qrep_store_write(s, 62, 2, data, 9, 0, NULL) ||
	    qrep_store_set_epoch(s, 3))
		die("cannot write the store");
	/* Open, written to: the header says "not clean". */
	store_image("unclean", path, 0x04, NULL);
	if (qrep_store_close(s))
		die("cannot close the store");
	store_image("clean", path, 0x04, NULL);
	store_image("clean-slot1-corrupt", path, 0x04, break_slot1_crc);
	close(fd);

	/* The smallest store: one block. */
	fd = fuzz_memfd("gen-store-1", path, sizeof(path));
	if (fd < 0 || qrep_store_init(path, BS, uuid, 0, err, sizeof(err)))
		die("cannot make a store: %s", err);
	store_image("one-block", path, 0x04, NULL);
	close(fd);
}

/* ---- fuzz_target_conn: one connection's bytes ----------------------- */

static void target_seeds(void)
{
	static struct buf b;
	struct qrep_hello_msg h = {
		QREP_HELLO_MAGIC, QREP_PROTO_VERSION, { 0 },
		(uint64_t)FUZZ_TARGET_BLOCKS * BS, BS, 0, 1,
	};
	struct qrep_req_msg w = {
		QREP_REQ_MAGIC, QREP_OP_WRITE, 0, 1, 1, 10, 1, 0, 5,
	};
	struct qrep_req_msg r = {
		QREP_REQ_MAGIC, QREP_OP_READ, 0, 2, 1, 9, 3, 0, 0,
	};
	struct qrep_req_msg f = {
		QREP_REQ_MAGIC, QREP_OP_FLUSH, 0, 3, 1, 0, 0, 0, 0,
	};
	struct qrep_req_msg p = {
		QREP_REQ_MAGIC, QREP_OP_EPOCH_PROPOSE, 0, 20, 0, 0, 0, 0, 0,
	};

	if (qrep_uuid_parse(FUZZ_TARGET_UUID, h.uuid))
		die("bad FUZZ_TARGET_UUID");

	b.len = 0;
	add_hello(&b, &h);
	put_seed("target_conn", "hello", b.data, b.len);

	/* Write, read around it, flush. */
	add_req(&b, &w);
	add_blocks(&b, 1, 0xa0);
	add_req(&b, &r);
	add_req(&b, &f);
	put_seed("target_conn", "write-read-flush", b.data, b.len);

	/* An older write over part of it (ignored there), FUA, newer epoch. */
	b.len = 0;
	add_hello(&b, &h);
	w.block = 11;
	w.version = 7;
	add_req(&b, &w);
	add_blocks(&b, 1, 0x10);
	w.handle = 4;
	w.block = 10;
	w.nblocks = 2;
	w.version = 6;
	w.flags = QREP_REQ_FUA;
	w.epoch = 2;
	add_req(&b, &w);
	add_blocks(&b, 2, 0x20);
	r.epoch = 2;
	r.block = 10;
	add_req(&b, &r);
	put_seed("target_conn", "older-ignored-epoch-raise", b.data, b.len);

	/* A stale epoch, then blocks beyond the end (data still sent). */
	b.len = 0;
	h.epoch = 5;
	add_hello(&b, &h);
	r.epoch = 4;
	add_req(&b, &r);
	w.epoch = 5;
	w.block = FUZZ_TARGET_BLOCKS - 1;
	w.nblocks = 2;
	w.flags = 0;
	add_req(&b, &w);
	add_blocks(&b, 2, 0x30);
	r.epoch = 5;
	r.block = FUZZ_TARGET_BLOCKS - 256;
	r.nblocks = QREP_MAX_REQ_BLOCKS;
	add_req(&b, &r);
	put_seed("target_conn", "fenced-and-range", b.data, b.len);

	/* A version 0 write, then a malformed header: the end. */
	b.len = 0;
	h.epoch = 1;
	add_hello(&b, &h);
	w.epoch = 1;
	w.block = 0;
	w.nblocks = 1;
	w.version = 0;
	add_req(&b, &w);
	add_blocks(&b, 1, 0x40);
	f.reserved = 1;
	add_req(&b, &f);
	f.reserved = 0;
	add_req(&b, &f);
	put_seed("target_conn", "version0-malformed", b.data, b.len);

	/* A write whose data stops short: never applied. */
	b.len = 0;
	add_hello(&b, &h);
	w.version = 3;
	add_req(&b, &w);
	add_blocks(&b, 1, 0x50);
	b.len -= 100;
	put_seed("target_conn", "truncated-write", b.data, b.len);

	/* The damaged block: a checksum error until it is rewritten. */
	b.len = 0;
	add_hello(&b, &h);
	r.epoch = 1;
	r.block = 4;
	r.nblocks = 2;
	add_req(&b, &r);
	w.epoch = 1;
	w.block = 5;
	w.version = 2;
	add_req(&b, &w);
	add_blocks(&b, 1, 0x60);
	add_req(&b, &r);
	put_seed("target_conn", "checksum-error-then-rewrite", b.data, b.len);

	/* Refused handshakes: another device, another size. */
	b.len = 0;
	h.uuid[15] ^= 1;
	add_hello(&b, &h);
	put_seed("target_conn", "hello-wrong-uuid", b.data, b.len);
	h.uuid[15] ^= 1;
	b.len = 0;
	h.size += BS;
	add_hello(&b, &h);
	put_seed("target_conn", "hello-wrong-size", b.data, b.len);

	/* Authentication offered to a target without a secret: refused. */
	b.len = 0;
	h.size -= BS;
	h.flags = QREP_HELLO_F_AUTH;
	add_hello(&b, &h);
	add_req(&b, &f);
	put_seed("target_conn", "hello-auth-no-secret", b.data, b.len);

	/*
	 * The election's proposals from a hello that claims nothing:
	 * accepted, the same again and an older one refused, the old
	 * epoch fenced, the new one served, then a proposal of epoch 0
	 * (malformed: the end).
	 */
	b.len = 0;
	h.flags = 0;
	h.epoch = 0;
	add_hello(&b, &h);
	p.epoch = 3;
	add_req(&b, &p);
	p.handle++;
	add_req(&b, &p);
	p.handle++;
	p.epoch = 2;
	add_req(&b, &p);
	f.epoch = 2;
	add_req(&b, &f);
	f.epoch = 3;
	add_req(&b, &f);
	p.handle++;
	p.epoch = 0;
	add_req(&b, &p);
	put_seed("target_conn", "epoch-propose", b.data, b.len);
}

/* ---- fuzz_cluster_proto: qrepd's datagrams ---------------------------- */

/* One datagram of the stream: its length byte, then its bytes. */
static void add_dgram(struct buf *b, struct qrep_cluster_tx *tx,
		      enum qrep_election_msg_type type, uint32_t to,
		      uint64_t epoch, uint32_t uptodate)
{
	const struct qrep_election_msg m = {
		.type = type, .from = tx->self, .round = 42, .epoch = epoch,
		.seen_epoch = epoch + 1,
	};
	uint8_t d[QREP_CLUSTER_MAX_SIZE];
	size_t len = qrep_cluster_build(tx, &m, to, uptodate, d);

	if (!len)
		die("cluster datagram: libcrypto failed");
	buf_byte(b, (uint8_t)len);
	buf_add(b, d, len);
}

static void cluster_seeds(void)
{
	struct qrep_cluster_tx tx = { .self = 2 };
	struct qrep_secret secret;
	static struct buf b;
	uint8_t replay[1 + QREP_CLUSTER_MAX_SIZE];

	if (qrep_secret_set(&secret, FUZZ_CLUSTER_SECRET,
			    strlen(FUZZ_CLUSTER_SECRET)))
		die("cluster secret");
	memset(tx.uuid, FUZZ_CLUSTER_UUID_BYTE, sizeof(tx.uuid));
	memset(tx.nonce, 0x11, sizeof(tx.nonce));

	b.len = 0;
	add_dgram(&b, &tx, QREP_MSG_HEARTBEAT, 1, 5, 0x7);
	put_seed("cluster_proto", "heartbeat-plain", b.data, b.len);

	tx.secret = &secret;
	b.len = 0;
	add_dgram(&b, &tx, QREP_MSG_HEARTBEAT, 1, 5, 0x3);
	put_seed("cluster_proto", "heartbeat-mac", b.data, b.len);

	/* An election between 2 and 3, then a replay of the first. */
	b.len = 0;
	add_dgram(&b, &tx, QREP_MSG_ELECTION, 1, 0, 0);
	memcpy(replay, b.data, b.len);
	tx.self = 3;
	add_dgram(&b, &tx, QREP_MSG_ACK, 1, 0, 0);
	add_dgram(&b, &tx, QREP_MSG_COORDINATOR, 1, 6, 0);
	buf_add(&b, replay, 1 + QREP_CLUSTER_MAX_SIZE);
	put_seed("cluster_proto", "election-and-replay", b.data, b.len);

	/* Node 3 restarts: a new nonce, numbering from 1 again. */
	b.len = 0;
	add_dgram(&b, &tx, QREP_MSG_HEARTBEAT, 1, 6, 0x1);
	memset(tx.nonce, 0x22, sizeof(tx.nonce));
	tx.seq = 0;
	add_dgram(&b, &tx, QREP_MSG_ELECTION, 1, 6, 0);
	put_seed("cluster_proto", "restart", b.data, b.len);

	/* For another node, and from a stranger. */
	b.len = 0;
	add_dgram(&b, &tx, QREP_MSG_HEARTBEAT, 2, 6, 0);
	tx.self = 9;
	add_dgram(&b, &tx, QREP_MSG_HEARTBEAT, 1, 6, 0);
	put_seed("cluster_proto", "not-ours", b.data, b.len);
}

/* ---- fuzz_cluster_status: qrepd's status file ------------------------- */

static void cluster_status_seeds(void)
{
	struct qrep_cluster_status st = {
		.resource = "r0", .device = 0, .self = 2, .pid = 812,
		.updated_ms = 1700000000123ULL, .election = "PRIMARY",
		.device_role = "primary", .primary = 2, .epoch = 7,
		.seen_epoch = 7, .last_change = "won the election at epoch 7",
		.nr_nodes = 3,
		.nodes = {
			{ 1, "192.0.2.1:7790", 1700000000000ULL },
			{ 2, "192.0.2.2:7790", 0 },
			{ 3, "[2001:db8::3]:7790", 1700000000100ULL },
		},
	};
	char text[QREP_CLUSTER_STATUS_MAX];
	size_t len = qrep_cluster_status_format(&st, text, sizeof(text));

	if (!len)
		die("cluster status: does not fit");
	put_seed("cluster_status", "primary", text, len);
	text_seed("cluster_status", "secondary-no-device",
		  "qrep-cluster-status 1\nresource r0\nself 1\n"
		  "election LISTENING\ndevice-role none\nprimary 0\n"
		  "future-key and more\nnode 1 192.0.2.1:7790 0\n");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	out_dir = argv[1];
	if (mkdir(out_dir, 0755) && errno != EEXIST)
		die("%s: %s", out_dir, strerror(errno));
	proto_seeds();
	handshake_seeds();
	parse_seeds();
	config_seeds();
	genl_seeds();
	store_seeds();
	target_seeds();
	cluster_seeds();
	cluster_status_seeds();
	return 0;
}
