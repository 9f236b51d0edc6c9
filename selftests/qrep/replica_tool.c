// SPDX-License-Identifier: GPL-2.0
/*
 * replica_tool: drives qrep.ko's replica commands for the data path
 * selftests, until qrepctl covers them.
 *
 *   replica_tool create --size SIZE [--index N] [--uuid UUID]
 *                       [--epoch E] [--io-timeout-ms MS] [--quorum N]
 *   replica_tool add --dev N --slot S --target HOST:PORT [--name NAME]
 *                    [--stale]
 *   replica_tool remove --dev N --slot S
 *   replica_tool status --dev N
 *   replica_tool fake --dev N --slot S --mode MODE [--op read|write|flush]
 *                     [--wait-ms MS] [--size SIZE]
 *   replica_tool check --dev N
 *   replica_tool demote --dev N
 *
 * add connects to a qrep-target, does the handshake with the device's
 * UUID, size and epoch (asked from the kernel), and hands the connected
 * socket over with QREP_CMD_REPLICA_ADD. The kernel holds its own
 * reference to the socket, so the tool exits at once.
 *
 * status prints one "key=value ..." line for the device and one per
 * replica, for scripts.
 *
 * fake plays a broken target: it hands the kernel one end of a loopback
 * TCP connection and answers requests on the other end as MODE says (see
 * fake_modes): every request, or with --op only that kind (the others
 * get a correct answer, a READ all zeros). It exits 0 once the kernel
 * has failed the replica, printing the reason, or 1 after --wait-ms
 * (default 20000). Two modes are no broken target but a small store of
 * --size bytes in memory: "store" answers like a target, "store-late"
 * too but holds its WRITE replies and sends them late and in reverse
 * order (see store_serve). Those serve until the kernel closes the
 * connection and exit 0 then, printing "closed", or 1 if --wait-ms runs
 * out or the replica fails first.
 *
 * create --quorum N makes a quorum-mode device of N replicas with the
 * default (majority) quorums.
 *
 * demote makes device N secondary with QREP_CMD_DEV_SET, as qrepd does
 * when its node loses the role ("qrepctl up" makes it primary again).
 *
 * check feeds QREP_CMD_REPLICA_ADD and friends bad input (wrong kinds of
 * file descriptor, bad names, slots, flags, read-only attributes) on
 * device N, which must exist and have no replicas, and checks that each
 * is refused with the expected error. It prints a line per case and
 * exits 0 if all were.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/qrep.h>
#include <linux/qrep_proto.h>

#include "client.h"
#include "genl.h"
#include "net.h"
#include "parse.h"
#include "proto.h"
#include "uuid.h"

#define CONNECT_TIMEOUT_MS	5000
#define FAKE_WAIT_MS		20000
#define POLL_MS			50

struct opts {
	uint64_t size;
	int64_t index;
	uint64_t epoch;
	uint64_t io_timeout_ms;
	uint8_t uuid[QREP_UUID_SIZE];
	bool have_uuid;
	int64_t dev;
	int64_t slot;
	const char *target;
	const char *name;
	bool stale;
	const char *mode;
	const char *op;
	uint64_t wait_ms;
	uint32_t quorum;
};

static int usage(void)
{
	fprintf(stderr,
		"usage: replica_tool create --size SIZE [--index N] [--uuid UUID]\n"
		"                           [--epoch E] [--io-timeout-ms MS]\n"
		"                           [--quorum N]\n"
		"       replica_tool add --dev N --slot S --target HOST:PORT\n"
		"                        [--name NAME] [--stale]\n"
		"       replica_tool remove --dev N --slot S\n"
		"       replica_tool status --dev N\n"
		"       replica_tool fake --dev N --slot S --mode MODE [--op OP]\n"
		"                         [--wait-ms MS] [--size SIZE]\n"
		"       replica_tool check --dev N\n"
		"       replica_tool demote --dev N\n");
	return 2;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "index", required_argument, NULL, 'i' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "epoch", required_argument, NULL, 'e' },
		{ "io-timeout-ms", required_argument, NULL, 'T' },
		{ "dev", required_argument, NULL, 'd' },
		{ "slot", required_argument, NULL, 'S' },
		{ "target", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'n' },
		{ "stale", no_argument, NULL, 'x' },
		{ "mode", required_argument, NULL, 'm' },
		{ "wait-ms", required_argument, NULL, 'w' },
		{ "op", required_argument, NULL, 'o' },
		{ "quorum", required_argument, NULL, 'q' },
		{ 0 }
	};
	uint64_t v;
	int c;

	o->index = -1;
	o->dev = -1;
	o->slot = -1;
	o->wait_ms = FAKE_WAIT_MS;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (qrep_parse_size(optarg, &o->size))
				return -1;
			break;
		case 'i':
		case 'd':
		case 'S':
			if (qrep_parse_u64(optarg, &v) || v > INT32_MAX)
				return -1;
			*(c == 'i' ? &o->index : c == 'd' ? &o->dev : &o->slot) =
				(int64_t)v;
			break;
		case 'u':
			if (qrep_uuid_parse(optarg, o->uuid))
				return -1;
			o->have_uuid = true;
			break;
		case 'e':
			if (qrep_parse_u64(optarg, &o->epoch))
				return -1;
			break;
		case 'T':
			if (qrep_parse_u64(optarg, &o->io_timeout_ms))
				return -1;
			break;
		case 'w':
			if (qrep_parse_u64(optarg, &o->wait_ms))
				return -1;
			break;
		case 't':
			o->target = optarg;
			break;
		case 'n':
			o->name = optarg;
			break;
		case 'x':
			o->stale = true;
			break;
		case 'm':
			o->mode = optarg;
			break;
		case 'o':
			o->op = optarg;
			break;
		case 'q':
			if (qrep_parse_u64(optarg, &v) || !v || v > QREP_MAX_REPLICAS)
				return -1;
			o->quorum = (uint32_t)v;
			break;
		default:
			return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

static int genl_fail(struct qrep_genl *g, const char *what, int err)
{
	fprintf(stderr, "replica_tool: %s: %s%s%s\n", what, strerror(-err),
		g->error[0] ? ": " : "", g->error);
	return 1;
}

static int open_genl(struct qrep_genl *g)
{
	int ret = qrep_genl_open(g);

	if (ret)
		fprintf(stderr, "replica_tool: %s\n",
			g->error[0] ? g->error : strerror(-ret));
	return ret;
}

static int print_created(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[QREP_A_MAX + 1];

	(void)data;
	if (qrep_genl_parse(nlh, tb) == 0 && tb[QREP_A_DEV_NAME])
		printf("/dev/%s\n", mnl_attr_get_str(tb[QREP_A_DEV_NAME]));
	return MNL_CB_OK;
}

static int cmd_create(const struct opts *o)
{
	struct qrep_genl g;
	struct nlmsghdr *nlh;
	int ret;

	if (!o->size)
		return usage();
	if (open_genl(&g))
		return 1;
	nlh = qrep_genl_request(&g, QREP_CMD_DEV_CREATE, 0);
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, o->size);
	if (o->index >= 0)
		mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, (uint32_t)o->index);
	if (o->have_uuid)
		mnl_attr_put(nlh, QREP_A_DEV_UUID, QREP_UUID_SIZE, o->uuid);
	if (o->epoch)
		mnl_attr_put_u64(nlh, QREP_A_DEV_EPOCH, o->epoch);
	if (o->io_timeout_ms)
		mnl_attr_put_u32(nlh, QREP_A_DEV_IO_TIMEOUT_MS,
				 (uint32_t)o->io_timeout_ms);
	if (o->quorum) {
		mnl_attr_put_u32(nlh, QREP_A_DEV_MODE, QREP_MODE_QUORUM);
		mnl_attr_put_u32(nlh, QREP_A_DEV_REPLICAS, o->quorum);
	}
	ret = qrep_genl_talk(&g, nlh, print_created, NULL);
	if (ret)
		ret = genl_fail(&g, "create", ret);
	qrep_genl_close(&g);
	return ret;
}

/* What the handshake needs to know about the device. */
struct dev_info {
	bool found;
	struct qrep_client_device dev;
};

static int dev_info_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[QREP_A_MAX + 1];
	struct dev_info *info = data;

	if (qrep_genl_parse(nlh, tb) || !tb[QREP_A_DEV_UUID] ||
	    !tb[QREP_A_DEV_SIZE] || !tb[QREP_A_DEV_EPOCH])
		return MNL_CB_ERROR;
	memcpy(info->dev.uuid, mnl_attr_get_payload(tb[QREP_A_DEV_UUID]),
	       QREP_UUID_SIZE);
	info->dev.size = mnl_attr_get_u64(tb[QREP_A_DEV_SIZE]);
	info->dev.epoch = mnl_attr_get_u64(tb[QREP_A_DEV_EPOCH]);
	info->found = true;
	return MNL_CB_OK;
}

static int get_dev(struct qrep_genl *g, uint32_t index, mnl_cb_t cb,
		   void *data)
{
	struct nlmsghdr *nlh = qrep_genl_request(g, QREP_CMD_DEV_GET, 0);

	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, index);
	return qrep_genl_talk(g, nlh, cb, data);
}

static int replica_add(struct qrep_genl *g, const struct opts *o, int fd,
		       const char *name, uint64_t max_version)
{
	struct nlmsghdr *nlh = qrep_genl_request(g, QREP_CMD_REPLICA_ADD, 0);

	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, (uint32_t)o->dev);
	mnl_attr_put_u32(nlh, QREP_A_REPLICA_ID, (uint32_t)o->slot);
	mnl_attr_put_u32(nlh, QREP_A_REPLICA_FD, (uint32_t)fd);
	mnl_attr_put_strz(nlh, QREP_A_REPLICA_NAME, name);
	mnl_attr_put_u64(nlh, QREP_A_REPLICA_MAX_VERSION, max_version);
	if (o->stale)
		mnl_attr_put_u32(nlh, QREP_A_REPLICA_FLAGS,
				 QREP_REPLICA_F_STALE);
	return qrep_genl_talk(g, nlh, NULL, NULL);
}

static int cmd_add(const struct opts *o)
{
	struct dev_info info = { 0 };
	struct qrep_hello_reply_msg reply;
	uint64_t max_version;
	struct qrep_genl g;
	char err[256];
	int fd, ret;

	if (o->dev < 0 || o->slot < 0 || !o->target)
		return usage();
	if (open_genl(&g))
		return 1;
	ret = get_dev(&g, (uint32_t)o->dev, dev_info_cb, &info);
	if (ret || !info.found) {
		ret = genl_fail(&g, "device", ret ? ret : -ENODEV);
		goto out_close;
	}
	fd = qrep_client_open(o->target, &info.dev, CONNECT_TIMEOUT_MS, &reply,
			      err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "replica_tool: %s: %s\n", o->target, err);
		ret = 1;
		goto out_close;
	}
	max_version = reply.max_version;
	ret = replica_add(&g, o, fd, o->name ? o->name : o->target,
			  max_version);
	if (ret)
		ret = genl_fail(&g, "add", ret);
	close(fd);
out_close:
	qrep_genl_close(&g);
	return ret;
}

static int cmd_remove(const struct opts *o)
{
	struct qrep_genl g;
	struct nlmsghdr *nlh;
	int ret;

	if (o->dev < 0 || o->slot < 0)
		return usage();
	if (open_genl(&g))
		return 1;
	nlh = qrep_genl_request(&g, QREP_CMD_REPLICA_REMOVE, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, (uint32_t)o->dev);
	mnl_attr_put_u32(nlh, QREP_A_REPLICA_ID, (uint32_t)o->slot);
	ret = qrep_genl_talk(&g, nlh, NULL, NULL);
	if (ret)
		ret = genl_fail(&g, "remove", ret);
	qrep_genl_close(&g);
	return ret;
}

static const char *state_name(uint32_t state)
{
	switch (state) {
	case QREP_REPLICA_UPTODATE:
		return "uptodate";
	case QREP_REPLICA_STALE:
		return "stale";
	case QREP_REPLICA_FAILED:
		return "failed";
	}
	return "unknown";
}

static uint64_t u64_of(const struct nlattr *a)
{
	return a ? mnl_attr_get_u64(a) : 0;
}

static uint32_t u32_of(const struct nlattr *a)
{
	return a ? mnl_attr_get_u32(a) : 0;
}

static void print_replica(const struct nlattr *nest)
{
	const struct nlattr *tb[QREP_A_MAX + 1];

	if (qrep_genl_parse_nested(nest, tb))
		return;
	printf("replica slot=%" PRIu32 " name=%s state=%s inflight=%" PRIu32
	       " reads=%" PRIu64 " writes=%" PRIu64 " errors=%" PRIu64
	       " max_version=%" PRIu64 " last_error=%s\n",
	       u32_of(tb[QREP_A_REPLICA_ID]),
	       tb[QREP_A_REPLICA_NAME] ?
	       mnl_attr_get_str(tb[QREP_A_REPLICA_NAME]) : "",
	       state_name(u32_of(tb[QREP_A_REPLICA_STATE])),
	       u32_of(tb[QREP_A_REPLICA_INFLIGHT]),
	       u64_of(tb[QREP_A_REPLICA_READS]),
	       u64_of(tb[QREP_A_REPLICA_WRITES]),
	       u64_of(tb[QREP_A_REPLICA_ERRORS]),
	       u64_of(tb[QREP_A_REPLICA_MAX_VERSION]),
	       tb[QREP_A_REPLICA_LAST_ERROR] ?
	       mnl_attr_get_str(tb[QREP_A_REPLICA_LAST_ERROR]) : "");
}

static int status_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[QREP_A_MAX + 1];
	const struct nlattr *attr;

	(void)data;
	if (qrep_genl_parse(nlh, tb))
		return MNL_CB_ERROR;
	printf("device index=%" PRIu32 " version=%" PRIu64 " live=%" PRIu32
	       " epoch=%" PRIu64 " io_timeout_ms=%" PRIu32 "\n",
	       u32_of(tb[QREP_A_DEV_INDEX]), u64_of(tb[QREP_A_DEV_VERSION]),
	       u32_of(tb[QREP_A_DEV_LIVE_REPLICAS]),
	       u64_of(tb[QREP_A_DEV_EPOCH]),
	       u32_of(tb[QREP_A_DEV_IO_TIMEOUT_MS]));
	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(attr) == QREP_A_REPLICA)
			print_replica(attr);
	return MNL_CB_OK;
}

static int cmd_status(const struct opts *o)
{
	struct qrep_genl g;
	int ret;

	if (o->dev < 0)
		return usage();
	if (open_genl(&g))
		return 1;
	ret = get_dev(&g, (uint32_t)o->dev, status_cb, NULL);
	if (ret)
		ret = genl_fail(&g, "status", ret);
	qrep_genl_close(&g);
	return ret;
}

/*
 * The broken targets. Each answers a request (already read, with its
 * WRITE data) in its own wrong way; "silent" never answers, "close"
 * hangs up, "stall-data" sends a READ's reply header and then nothing
 * while keeping the connection open. "good" answers correctly (a READ
 * gets zeros).
 */
enum fake_mode {
	FAKE_BAD_MAGIC,
	FAKE_BAD_STATUS,
	FAKE_BAD_FLAGS,
	FAKE_UNKNOWN_HANDLE,
	FAKE_STALE_GEN,
	FAKE_BAD_TAG,
	FAKE_NBLOCKS,
	FAKE_ERROR,
	FAKE_CHECKSUM,
	FAKE_DOUBLE,
	FAKE_TRUNCATED,
	FAKE_CLOSE,
	FAKE_SILENT,
	FAKE_GARBAGE,
	FAKE_GOOD,
	FAKE_STALL_DATA,
	FAKE_ZERO_HANDLE,
	FAKE_STORE,
	FAKE_STORE_LATE,
};

static const char *const fake_modes[] = {
	[FAKE_BAD_MAGIC] = "bad-magic",
	[FAKE_BAD_STATUS] = "bad-status",
	[FAKE_BAD_FLAGS] = "bad-flags",
	[FAKE_UNKNOWN_HANDLE] = "unknown-handle",
	[FAKE_STALE_GEN] = "stale-gen",
	[FAKE_BAD_TAG] = "bad-tag",
	[FAKE_NBLOCKS] = "nblocks",
	[FAKE_ERROR] = "error",
	[FAKE_CHECKSUM] = "checksum",
	[FAKE_DOUBLE] = "double",
	[FAKE_TRUNCATED] = "truncated",
	[FAKE_CLOSE] = "close",
	[FAKE_SILENT] = "silent",
	[FAKE_GARBAGE] = "garbage",
	[FAKE_GOOD] = "good",
	[FAKE_STALL_DATA] = "stall-data",
	[FAKE_ZERO_HANDLE] = "zero-handle",
	[FAKE_STORE] = "store",
	[FAKE_STORE_LATE] = "store-late",
};

static int fake_mode_of(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(fake_modes) / sizeof(fake_modes[0]); i++)
		if (name && strcmp(name, fake_modes[i]) == 0)
			return (int)i;
	return -1;
}

/* A connected loopback TCP pair: *ours and *theirs. */
static int tcp_pair(int *ours, int *theirs)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	int lfd, cfd, afd, ret;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len))
		goto err;
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0)
		goto err;
	if (connect(cfd, (struct sockaddr *)&addr, sizeof(addr))) {
		close(cfd);
		goto err;
	}
	afd = accept(lfd, NULL, NULL);
	if (afd < 0) {
		close(cfd);
		goto err;
	}
	close(lfd);
	qrep_sock_set_nodelay(afd);
	*ours = afd;
	*theirs = cfd;
	return 0;
err:
	ret = errno ? -errno : -EIO;
	close(lfd);
	return ret;
}

static int send_reply(int fd, uint32_t magic, uint32_t status,
		      uint64_t handle, uint32_t nblocks, uint32_t flags)
{
	struct qrep_reply_msg m = {
		.magic = magic,
		.status = status,
		.handle = handle,
		.nblocks = nblocks,
		.flags = flags,
	};
	uint8_t buf[QREP_REPLY_SIZE];

	qrep_reply_encode(&m, buf);
	return qrep_write_full(fd, buf, sizeof(buf));
}

/* A correct reply to @req: a READ gets zero versions and zero data. */
static int send_good_reply(int fd, const struct qrep_req_msg *req)
{
	static uint8_t zeros[QREP_MAX_REQ_BLOCKS * (QREP_BLOCK_SIZE + 8)];
	uint32_t n = req->op == QREP_OP_READ ? req->nblocks : 0;
	int ret;

	ret = send_reply(fd, QREP_REPLY_MAGIC, QREP_OK, req->handle, n, 0);
	if (!ret && n)
		ret = qrep_write_full(fd, zeros,
				      (size_t)n * (QREP_BLOCK_SIZE + 8));
	return ret;
}

static int fake_answer(int fd, enum fake_mode mode,
		       const struct qrep_req_msg *req)
{
	uint32_t n = req->op == QREP_OP_READ ? req->nblocks : 0;
	static const uint8_t junk[QREP_REPLY_SIZE] = "garbage garbage garbage garbag";

	switch (mode) {
	case FAKE_BAD_MAGIC:
		return send_reply(fd, 0x12345678, QREP_OK, req->handle, n, 0);
	case FAKE_BAD_STATUS:
		return send_reply(fd, QREP_REPLY_MAGIC, 99, req->handle, 0, 0);
	case FAKE_BAD_FLAGS:
		return send_reply(fd, QREP_REPLY_MAGIC, QREP_OK, req->handle,
				  n, 0x80);
	case FAKE_UNKNOWN_HANDLE:
		return send_reply(fd, QREP_REPLY_MAGIC, QREP_OK,
				  0xdeadbeefcafef00dULL, 0, 0);
	case FAKE_STALE_GEN:
		return send_reply(fd, QREP_REPLY_MAGIC, QREP_OK,
				  req->handle + (1ULL << 32), n, 0);
	case FAKE_BAD_TAG:
		return send_reply(fd, QREP_REPLY_MAGIC, QREP_OK,
				  req->handle ^ 0x7fff, n, 0);
	case FAKE_NBLOCKS:
		return send_reply(fd, QREP_REPLY_MAGIC, QREP_OK, req->handle,
				  n ? n + 1 : 1, 0);
	case FAKE_ERROR:
		return send_reply(fd, QREP_REPLY_MAGIC, QREP_ERR_IO,
				  req->handle, 0, 0);
	case FAKE_CHECKSUM:
		return send_reply(fd, QREP_REPLY_MAGIC, QREP_ERR_CHECKSUM,
				  req->handle, 0, 0);
	case FAKE_DOUBLE:
		if (send_good_reply(fd, req))
			return -EPIPE;
		return send_good_reply(fd, req);
	case FAKE_TRUNCATED:
		send_reply(fd, QREP_REPLY_MAGIC, QREP_OK, req->handle, n, 0);
		return -ECONNRESET;	/* hang up part way */
	case FAKE_CLOSE:
		return -ECONNRESET;
	case FAKE_SILENT:
		return 0;
	case FAKE_GARBAGE:
		return qrep_write_full(fd, junk, sizeof(junk));
	case FAKE_GOOD:
		return send_good_reply(fd, req);
	case FAKE_STALL_DATA:
		/* The header promises data that never comes: keep quiet. */
		send_reply(fd, QREP_REPLY_MAGIC, QREP_OK, req->handle, n, 0);
		return 1;
	case FAKE_ZERO_HANDLE:
		/* A correct answer, then one to a handle never issued. */
		if (send_good_reply(fd, req))
			return -EPIPE;
		return send_reply(fd, QREP_REPLY_MAGIC, QREP_OK, 0, 0, 0);
	case FAKE_STORE:
	case FAKE_STORE_LATE:
		break;	/* store_serve() */
	}
	return -EINVAL;
}

static bool fake_op_matches(const char *op, uint32_t wire_op)
{
	if (!op)
		return true;
	return (strcmp(op, "read") == 0 && wire_op == QREP_OP_READ) ||
	       (strcmp(op, "write") == 0 && wire_op == QREP_OP_WRITE) ||
	       (strcmp(op, "flush") == 0 && wire_op == QREP_OP_FLUSH);
}

/* Reads one request (and a WRITE's data); 0, or -errno at the end. */
static int fake_read_req(int fd, struct qrep_req_msg *req)
{
	static uint8_t data[QREP_MAX_REQ_BLOCKS * QREP_BLOCK_SIZE];
	uint8_t hdr[QREP_REQ_SIZE];
	uint64_t len;
	ssize_t n;

	n = qrep_read_full(fd, hdr, sizeof(hdr));
	if (n != (ssize_t)sizeof(hdr))
		return -EPIPE;
	qrep_req_decode(hdr, req);
	len = qrep_req_payload_bytes(req);
	if (len > sizeof(data))
		return -EPROTO;
	if (len && qrep_read_full(fd, data, len) != (ssize_t)len)
		return -EPIPE;
	return 0;
}

/* The replica's state and reason, from the kernel. */
struct replica_state {
	uint32_t slot;
	uint32_t state;
	char last_error[QREP_REPLICA_NAME_MAX * 4];
};

static int replica_state_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[QREP_A_MAX + 1];
	struct replica_state *rs = data;
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(attr) != QREP_A_REPLICA ||
		    qrep_genl_parse_nested(attr, tb) ||
		    u32_of(tb[QREP_A_REPLICA_ID]) != rs->slot)
			continue;
		rs->state = u32_of(tb[QREP_A_REPLICA_STATE]);
		if (tb[QREP_A_REPLICA_LAST_ERROR])
			snprintf(rs->last_error, sizeof(rs->last_error), "%s",
				 mnl_attr_get_str(tb[QREP_A_REPLICA_LAST_ERROR]));
	}
	return MNL_CB_OK;
}

/*
 * Has the kernel dropped the replica: failed it, or (a checksum error on
 * a read) made it stale, which takes it out of the readers?
 */
static bool replica_dropped(struct qrep_genl *g, const struct opts *o,
			    struct replica_state *rs)
{
	rs->slot = (uint32_t)o->slot;
	rs->state = QREP_REPLICA_EMPTY;
	rs->last_error[0] = '\0';
	if (get_dev(g, (uint32_t)o->dev, replica_state_cb, rs))
		return false;
	return rs->state == QREP_REPLICA_FAILED ||
	       (rs->state == QREP_REPLICA_STALE && rs->last_error[0]);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Serves @fd badly until the kernel drops the replica or time runs out. */
static int fake_serve(struct qrep_genl *g, const struct opts *o, int fd,
		      enum fake_mode mode)
{
	uint64_t deadline = now_ms() + o->wait_ms;
	struct replica_state rs;
	struct qrep_req_msg req;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	bool open = true;
	int ret;

	while (now_ms() < deadline) {
		if (open && poll(&pfd, 1, POLL_MS) > 0) {
			ret = fake_read_req(fd, &req);
			if (!ret)
				ret = fake_op_matches(o->op, req.op) ?
				      fake_answer(fd, mode, &req) :
				      send_good_reply(fd, &req);
			if (ret < 0)
				shutdown(fd, SHUT_RDWR);
			open = !ret;	/* > 0: stop serving, stay connected */
			continue;
		}
		/* Idle, or hung up: has the kernel noticed? */
		if (replica_dropped(g, o, &rs)) {
			printf("%s: %s\n", rs.state == QREP_REPLICA_FAILED ?
			       "failed" : "stale", rs.last_error);
			return 0;
		}
		if (!open)
			usleep(POLL_MS * 1000);
	}
	fprintf(stderr, "replica_tool: the replica did not fail in %" PRIu64
		" ms\n", o->wait_ms);
	return 1;
}

/*
 * The store modes: a device of --size bytes in memory, each block with
 * the version it was last written at (a WRITE keeps only blocks it makes
 * newer, as a target does). "store-late" holds its WRITE replies, up to
 * STORE_HELD of them, and sends them newest first once that many are
 * held or the kernel has been quiet for POLL_MS: late (in quorum mode
 * after the write completed on the others) and out of order.
 */
#define STORE_HELD	16

struct store {
	uint8_t *data;
	uint64_t *versions;
	uint64_t blocks;
	uint64_t held[STORE_HELD];	/* WRITE handles not yet answered */
	unsigned int nheld;
};

static int store_release(int fd, struct store *st)
{
	while (st->nheld)
		if (send_reply(fd, QREP_REPLY_MAGIC, QREP_OK,
			       st->held[--st->nheld], 0, 0))
			return -EPIPE;
	return 0;
}

static int store_send_blocks(int fd, const struct store *st,
			     const struct qrep_req_msg *req, bool data)
{
	uint8_t versions[QREP_MAX_REQ_BLOCKS * 8];
	uint32_t i, j;

	for (i = 0; i < req->nblocks; i++)
		for (j = 0; j < 8; j++)
			versions[i * 8 + j] =
				(uint8_t)(st->versions[req->block + i] >> (56 - 8 * j));
	if (send_reply(fd, QREP_REPLY_MAGIC, QREP_OK, req->handle,
		       req->nblocks, 0) ||
	    qrep_write_full(fd, versions, (size_t)req->nblocks * 8))
		return -EPIPE;
	if (data && qrep_write_full(fd, st->data + req->block * QREP_BLOCK_SIZE,
				    (size_t)req->nblocks * QREP_BLOCK_SIZE))
		return -EPIPE;
	return 0;
}

static int store_answer(int fd, struct store *st,
			const struct qrep_req_msg *req, const uint8_t *payload,
			bool late)
{
	uint64_t b = req->block;
	uint32_t i;

	if (req->op == QREP_OP_FLUSH)
		return send_reply(fd, QREP_REPLY_MAGIC, QREP_OK, req->handle,
				  0, 0);
	if (b > st->blocks || req->nblocks > st->blocks - b ||
	    req->nblocks > QREP_MAX_REQ_BLOCKS)
		return send_reply(fd, QREP_REPLY_MAGIC, QREP_ERR_RANGE,
				  req->handle, 0, 0);
	switch (req->op) {
	case QREP_OP_READ:
	case QREP_OP_VERSIONS:
		return store_send_blocks(fd, st, req, req->op == QREP_OP_READ);
	case QREP_OP_WRITE:
		for (i = 0; i < req->nblocks; i++) {
			if (req->version <= st->versions[b + i])
				continue;
			st->versions[b + i] = req->version;
			memcpy(st->data + (b + i) * QREP_BLOCK_SIZE,
			       payload + (size_t)i * QREP_BLOCK_SIZE,
			       QREP_BLOCK_SIZE);
		}
		if (!late)
			return send_reply(fd, QREP_REPLY_MAGIC, QREP_OK,
					  req->handle, 0, 0);
		st->held[st->nheld++] = req->handle;
		return st->nheld == STORE_HELD ? store_release(fd, st) : 0;
	default:
		return send_reply(fd, QREP_REPLY_MAGIC, QREP_ERR_INVAL,
				  req->handle, 0, 0);
	}
}

static int store_serve(const struct opts *o, int fd, bool late)
{
	static uint8_t payload[QREP_MAX_REQ_BLOCKS * QREP_BLOCK_SIZE];
	uint64_t deadline = now_ms() + o->wait_ms, len;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint8_t hdr[QREP_REQ_SIZE];
	struct qrep_req_msg req;
	struct store st = { 0 };
	int ret = 1, n;

	st.blocks = o->size / QREP_BLOCK_SIZE;
	st.data = calloc(st.blocks, QREP_BLOCK_SIZE);
	st.versions = calloc(st.blocks, sizeof(*st.versions));
	if (!st.data || !st.versions) {
		fprintf(stderr, "replica_tool: no memory for the store\n");
		goto out;
	}
	while (now_ms() < deadline) {
		n = poll(&pfd, 1, POLL_MS);
		if (n < 0 && errno != EINTR)
			goto out;
		if (n <= 0) {
			/* Quiet: the held replies go now. */
			if (store_release(fd, &st))
				goto closed;
			continue;
		}
		if (qrep_read_full(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr))
			goto closed;
		qrep_req_decode(hdr, &req);
		len = qrep_req_payload_bytes(&req);
		if (len > sizeof(payload)) {
			fprintf(stderr, "replica_tool: %" PRIu64
				" bytes of data in a request\n", len);
			goto out;
		}
		if (len && qrep_read_full(fd, payload, len) != (ssize_t)len)
			goto closed;
		if (store_answer(fd, &st, &req, payload, late))
			goto closed;
	}
	fprintf(stderr, "replica_tool: still connected after %" PRIu64
		" ms\n", o->wait_ms);
	goto out;
closed:
	printf("closed\n");
	ret = 0;
out:
	free(st.data);
	free(st.versions);
	return ret;
}

static int cmd_fake(const struct opts *o)
{
	int mode = fake_mode_of(o->mode);
	struct qrep_genl g;
	int ours = -1, theirs = -1, ret;

	if (o->dev < 0 || o->slot < 0 || mode < 0)
		return usage();
	if ((mode == FAKE_STORE || mode == FAKE_STORE_LATE) &&
	    (!o->size || o->size % QREP_BLOCK_SIZE))
		return usage();
	if (open_genl(&g))
		return 1;
	ret = tcp_pair(&ours, &theirs);
	if (ret) {
		fprintf(stderr, "replica_tool: loopback pair: %s\n",
			strerror(-ret));
		ret = 1;
		goto out_close;
	}
	ret = replica_add(&g, o, theirs, o->mode, 0);
	close(theirs);
	if (ret) {
		ret = genl_fail(&g, "add", ret);
		goto out_fd;
	}
	if (mode == FAKE_STORE || mode == FAKE_STORE_LATE)
		ret = store_serve(o, ours, mode == FAKE_STORE_LATE);
	else
		ret = fake_serve(&g, o, ours, (enum fake_mode)mode);
out_fd:
	close(ours);
out_close:
	qrep_genl_close(&g);
	return ret;
}

/* One bad REPLICA_ADD: what to send, and the errno that must come back. */
struct bad_add {
	const char *what;
	int fd;			/* -1: leave QREP_A_REPLICA_FD out */
	uint32_t slot;
	const char *name;	/* NULL: leave QREP_A_REPLICA_NAME out */
	uint32_t flags;		/* sent if not 0 */
	bool read_only;		/* add QREP_A_REPLICA_STATE */
	int expect;
};

static int try_add(struct qrep_genl *g, uint32_t dev, const struct bad_add *b)
{
	struct nlmsghdr *nlh = qrep_genl_request(g, QREP_CMD_REPLICA_ADD, 0);

	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, dev);
	mnl_attr_put_u32(nlh, QREP_A_REPLICA_ID, b->slot);
	if (b->fd >= 0)
		mnl_attr_put_u32(nlh, QREP_A_REPLICA_FD, (uint32_t)b->fd);
	if (b->name)
		mnl_attr_put_strz(nlh, QREP_A_REPLICA_NAME, b->name);
	if (b->flags)
		mnl_attr_put_u32(nlh, QREP_A_REPLICA_FLAGS, b->flags);
	if (b->read_only)
		mnl_attr_put_u32(nlh, QREP_A_REPLICA_STATE, QREP_REPLICA_FAILED);
	return qrep_genl_talk(g, nlh, NULL, NULL);
}

static bool check_one(struct qrep_genl *g, uint32_t dev, const struct bad_add *b)
{
	int ret = try_add(g, dev, b);
	bool ok = ret == b->expect;

	printf("%s %s: %s%s%s\n", ok ? "ok" : "FAIL", b->what,
	       ret ? strerror(-ret) : "accepted", g->error[0] ? ": " : "",
	       g->error);
	return ok;
}

static bool check_remove_empty(struct qrep_genl *g, uint32_t dev)
{
	struct nlmsghdr *nlh = qrep_genl_request(g, QREP_CMD_REPLICA_REMOVE, 0);
	int ret;

	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, dev);
	mnl_attr_put_u32(nlh, QREP_A_REPLICA_ID, 5);
	ret = qrep_genl_talk(g, nlh, NULL, NULL);
	printf("%s remove of an empty slot: %s%s%s\n",
	       ret == -ENOENT ? "ok" : "FAIL", strerror(-ret),
	       g->error[0] ? ": " : "", g->error);
	return ret == -ENOENT;
}

static int cmd_check(const struct opts *o)
{
	char long_name[QREP_REPLICA_NAME_MAX + 8];
	int null_fd, udp, tcp, unix_fd, listen_fd, ours, theirs;
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct qrep_genl g;
	bool ok = true;
	size_t i;

	if (o->dev < 0)
		return usage();
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unix_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (null_fd < 0 || udp < 0 || tcp < 0 || unix_fd < 0 || listen_fd < 0 ||
	    bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(listen_fd, 1) || tcp_pair(&ours, &theirs)) {
		perror("replica_tool: check setup");
		return 1;
	}
	{
		const struct bad_add cases[] = {
			{ "fd of a file", null_fd, 0, "x", 0, false, -ENOTSOCK },
			{ "closed fd", 1000, 0, "x", 0, false, -EBADF },
			{ "UDP socket", udp, 0, "x", 0, false, -EINVAL },
			{ "unix stream socket", unix_fd, 0, "x", 0, false, -EINVAL },
			{ "unconnected TCP socket", tcp, 0, "x", 0, false, -ENOTCONN },
			{ "listening TCP socket", listen_fd, 0, "x", 0, false, -ENOTCONN },
			{ "no fd", -1, 0, "x", 0, false, -EINVAL },
			{ "no name", theirs, 0, NULL, 0, false, -EINVAL },
			{ "empty name", theirs, 0, "", 0, false, -EINVAL },
			{ "name with a newline", theirs, 0, "a\nb", 0, false, -EINVAL },
			{ "name too long", theirs, 0, long_name, 0, false, -EINVAL },
			{ "slot out of range", theirs, QREP_MAX_REPLICAS, "x", 0, false, -ERANGE },
			{ "unknown flag", theirs, 0, "x", 0x2, false, -EINVAL },
			{ "read-only attribute", theirs, 0, "x", 0, true, -EINVAL },
			{ "good one, slot 0", theirs, 0, "good", 0, false, 0 },
			{ "slot 0 again: live replica", theirs, 0, "again", 0, false, -EBUSY },
			{ "same socket, slot 1", theirs, 1, "same", 0, false, -EBUSY },
		};

		if (open_genl(&g))
			return 1;
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			ok &= check_one(&g, (uint32_t)o->dev, &cases[i]);
	}
	ok &= check_remove_empty(&g, (uint32_t)o->dev);
	qrep_genl_close(&g);
	close(ours);
	close(theirs);
	close(null_fd);
	close(udp);
	close(tcp);
	close(unix_fd);
	close(listen_fd);
	return ok ? 0 : 1;
}

static int cmd_demote(const struct opts *o)
{
	struct qrep_genl g;
	struct nlmsghdr *nlh;
	int ret;

	if (o->dev < 0)
		return usage();
	if (open_genl(&g))
		return 1;
	nlh = qrep_genl_request(&g, QREP_CMD_DEV_SET, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, (uint32_t)o->dev);
	mnl_attr_put_u32(nlh, QREP_A_DEV_ROLE, QREP_ROLE_SECONDARY);
	ret = qrep_genl_talk(&g, nlh, NULL, NULL);
	if (ret)
		ret = genl_fail(&g, "demote", ret);
	qrep_genl_close(&g);
	return ret;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	const char *cmd;

	if (argc < 2)
		return usage();
	cmd = argv[1];
	if (parse_opts(argc - 1, argv + 1, &o))
		return usage();
	if (strcmp(cmd, "create") == 0)
		return cmd_create(&o);
	if (strcmp(cmd, "add") == 0)
		return cmd_add(&o);
	if (strcmp(cmd, "remove") == 0)
		return cmd_remove(&o);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(&o);
	if (strcmp(cmd, "fake") == 0)
		return cmd_fake(&o);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(&o);
	if (strcmp(cmd, "demote") == 0)
		return cmd_demote(&o);
	return usage();
}
