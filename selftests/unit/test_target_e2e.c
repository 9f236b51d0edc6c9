// SPDX-License-Identifier: GPL-2.0
/*
 * End to end on the host: runs build/bin/qrep-target on 127.0.0.1 and
 * talks to it as a primary would, using the library's protocol code.
 *
 *   test client ---- TCP 127.0.0.1:<free port> ---- qrep-target serve
 *                                                    |
 *                                                    store in a temp dir
 *
 * Covers the handshake (good, wrong UUID, wrong size, wrong protocol),
 * peer authentication (right, wrong and missing secrets, a replayed
 * handshake, refused secret files),
 * write/read/flush and write-if-newer over the wire, fencing by epoch,
 * malformed requests, clients vanishing mid-request, checksum errors,
 * the resync ops (VERSIONS, SUMMARY, CHECKSUMS, WRITE with REPAIR), the
 * election's EPOCH_PROPOSE, the
 * stats file, clean shutdown, the CLI's errors, and a throughput figure.
 * The target binary is found next to this test's build folder
 * (../bin/qrep-target) or in $QREP_TARGET_BIN; without it, tests fail
 * (make unit builds it first).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "target_proc.h"

#include "auth.h"
#include "bytes.h"
#include "client.h"
#include "crc32c.h"
#include "handshake.h"
#include "net.h"
#include "peer.h"
#include "proto.h"
#include "store.h"
#include "uuid.h"

#define BS			QREP_BLOCK_SIZE
#define STORE_SIZE		(16U << 20)		/* 4096 blocks */
#define STORE_BLOCKS		(STORE_SIZE / BS)
#define TEST_UUID		"0f8e2c1a-5b3d-4e6f-9a7b-8c9d0e1f2a3b"
#define OTHER_UUID		"11111111-2222-4333-8444-555555555555"
/* How long the target may take to start listening. */
#define START_TIMEOUT_MS	5000
/* Any single reply; generous for a loaded 2-core machine under ASan. */
#define CLIENT_TIMEOUT_MS	10000
#define POLL_STEP_MS		20
/* Attempts at finding a free port (another process may take ours). */
#define PORT_ATTEMPTS		5

FIXTURE(target)
{
	char bin[PATH_MAX];
	char dir[PATH_MAX - 64];
	char store[PATH_MAX];
	char log[PATH_MAX];
	char stats[PATH_MAX];
	char shm_store[PATH_MAX];	/* outside dir: removed on its own */
	char secret[PATH_MAX];		/* serve --secret-file, if set */
	char addr[64];
	int port;
	pid_t pid;
	uint8_t uuid[QREP_UUID_SIZE];
	uint8_t *buf;		/* QREP_MAX_REQ_BLOCKS blocks */
	uint8_t *rbuf;
	uint64_t versions[QREP_MAX_REQ_BLOCKS];
};

/* ---- processes -------------------------------------------------------- */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Runs argv with stdout and stderr appended to log; if uid is not -1 the
 * child drops to that user first. Returns the child's pid.
 */
static pid_t spawn(char *const argv[], const char *log, uid_t uid)
{
	pid_t pid = fork();
	int fd;

	if (pid)
		return pid;
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0)
		_exit(126);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	if (uid != (uid_t)-1 && (setgid(uid) || setuid(uid)))
		_exit(126);
	execv(argv[0], argv);
	_exit(127);
}

static int wait_exit(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Runs a command to completion; returns its exit code. */
static int run(char *const argv[], const char *log, uid_t uid)
{
	return wait_exit(spawn(argv, log, uid));
}

static bool file_has(const char *path, const char *needle)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/* "key value" lines; returns -1 if the key is missing. */
static long long stats_get(const char *path, const char *key)
{
	char line[256], k[128];
	long long v, found = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %lld", k, &v) == 2 && !strcmp(k, key))
			found = v;
	fclose(f);
	return found;
}

static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!bind(fd, (struct sockaddr *)&sin, sizeof(sin)) &&
	    !getsockname(fd, (struct sockaddr *)&sin, &len))
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * The target's descriptor count once it stops changing (connections
 * close asynchronously), or -1.
 */
static int settled_fds(pid_t pid)
{
	int last = -1, n, same = 0, waited;

	for (waited = 0; waited < START_TIMEOUT_MS; waited += POLL_STEP_MS) {
		n = count_fds(pid);
		same = n == last ? same + 1 : 0;
		if (same == 5)
			return n;
		last = n;
		sleep_ms(POLL_STEP_MS);
	}
	return -1;
}

/* ---- protocol client -------------------------------------------------- */

static int cli_connect(const char *addr)
{
	int fd = qrep_connect(addr, CLIENT_TIMEOUT_MS);

	if (fd >= 0)
		qrep_sock_set_timeouts(fd, CLIENT_TIMEOUT_MS,
				       CLIENT_TIMEOUT_MS);
	return fd;
}

static int cli_hello(int fd, const uint8_t *uuid, uint64_t size,
		     uint64_t epoch, struct qrep_hello_reply_msg *rep)
{
	struct qrep_hello_msg h = {
		.magic = QREP_HELLO_MAGIC,
		.proto_version = QREP_PROTO_VERSION,
		.size = size,
		.block_size = QREP_BLOCK_SIZE,
		.epoch = epoch,
	};
	uint8_t buf[QREP_HELLO_REPLY_SIZE];
	ssize_t n;
	int err;

	memcpy(h.uuid, uuid, QREP_UUID_SIZE);
	qrep_hello_encode(&h, buf);
	err = qrep_write_full(fd, buf, QREP_HELLO_SIZE);
	if (err)
		return err;
	n = qrep_read_full(fd, buf, QREP_HELLO_REPLY_SIZE);
	if (n != QREP_HELLO_REPLY_SIZE)
		return n < 0 ? (int)n : -EPIPE;
	qrep_hello_reply_decode(buf, rep);
	return qrep_hello_reply_check(rep, NULL) == QREP_OK ? 0 : -EPROTO;
}

/* Connects and completes a good handshake at epoch; fd or -errno. */
static int cli_open_sized(const char *addr, const uint8_t *uuid,
			  uint64_t size, uint64_t epoch)
{
	struct qrep_hello_reply_msg rep;
	int fd = cli_connect(addr), err;

	if (fd < 0)
		return fd;
	err = cli_hello(fd, uuid, size, epoch, &rep);
	if (!err && rep.status != QREP_OK)
		err = -EACCES;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int cli_open(const char *addr, const uint8_t *uuid, uint64_t epoch)
{
	return cli_open_sized(addr, uuid, STORE_SIZE, epoch);
}

static int cli_send(int fd, uint16_t op, uint16_t flags, uint64_t handle,
		    uint64_t epoch, uint64_t block, uint32_t n,
		    uint64_t version, const void *data)
{
	struct qrep_req_msg m = {
		.magic = QREP_REQ_MAGIC, .op = op, .flags = flags,
		.handle = handle, .epoch = epoch, .block = block,
		.nblocks = n, .version = version,
	};
	uint8_t hdr[QREP_REQ_SIZE];
	struct iovec iov[2] = {
		{ hdr, sizeof(hdr) },
		{ (void *)data, op == QREP_OP_WRITE ? (size_t)n * BS : 0 },
	};

	qrep_req_encode(&m, hdr);
	return qrep_writev_full(fd, iov, 2);
}

static int cli_send_raw(int fd, const struct qrep_req_msg *m)
{
	uint8_t hdr[QREP_REQ_SIZE];

	qrep_req_encode(m, hdr);
	return qrep_write_full(fd, hdr, sizeof(hdr));
}

/* Reads one reply, with versions and data if it carries them. */
static int cli_recv(int fd, struct qrep_reply_msg *rep, uint64_t *versions,
		    void *data)
{
	uint8_t hdr[QREP_REPLY_SIZE], vbuf[QREP_MAX_REQ_BLOCKS * 8];
	uint32_t i;
	ssize_t n;

	n = qrep_read_full(fd, hdr, sizeof(hdr));
	if (n != (ssize_t)sizeof(hdr))
		return n < 0 ? (int)n : -EPIPE;
	qrep_reply_decode(hdr, rep);
	if (qrep_reply_check(rep, NULL) != QREP_OK)
		return -EPROTO;
	if (!rep->nblocks)
		return 0;
	n = qrep_read_full(fd, vbuf, (size_t)rep->nblocks * 8);
	if (n != (ssize_t)rep->nblocks * 8)
		return -EPIPE;
	for (i = 0; i < rep->nblocks; i++)
		versions[i] = qrep_get_be64(vbuf + i * 8);
	n = qrep_read_full(fd, data, (size_t)rep->nblocks * BS);
	return n == (ssize_t)rep->nblocks * BS ? 0 : -EPIPE;
}

/* One request, one reply. */
static int cli_call(int fd, uint16_t op, uint16_t flags, uint64_t epoch,
		    uint64_t block, uint32_t n, uint64_t version,
		    const void *wdata, struct qrep_reply_msg *rep,
		    uint64_t *versions, void *rdata)
{
	static uint64_t handle = 1000;
	int err;

	handle++;
	err = cli_send(fd, op, flags, handle, epoch, block, n, version,
		       wdata);
	if (err)
		return err;
	err = cli_recv(fd, rep, versions, rdata);
	if (!err && rep->handle != handle)
		return -EPROTO;
	return err;
}

/* True if the peer closed the connection (EOF or reset). */
static bool cli_closed(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;
	ssize_t n;

	if (poll(&p, 1, CLIENT_TIMEOUT_MS) <= 0)
		return false;
	n = read(fd, &c, 1);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/*
 * One request of an op whose successful reply carries metadata (VERSIONS,
 * SUMMARY, CHECKSUMS): reads the reply and exactly the bytes it implies
 * into meta, which has room for QREP_MAX_REQ_BLOCKS entries of any op.
 */
static int cli_call_meta(int fd, uint16_t op, uint16_t flags, uint64_t epoch,
			 uint64_t block, uint32_t n,
			 struct qrep_reply_msg *rep, uint8_t *meta)
{
	static uint64_t handle = 500000;
	uint8_t hdr[QREP_REPLY_SIZE];
	size_t len;
	ssize_t got;
	int err;

	handle++;
	err = cli_send(fd, op, flags, handle, epoch, block, n, 0, NULL);
	if (err)
		return err;
	got = qrep_read_full(fd, hdr, sizeof(hdr));
	if (got != (ssize_t)sizeof(hdr))
		return got < 0 ? (int)got : -EPIPE;
	qrep_reply_decode(hdr, rep);
	if (qrep_reply_check(rep, NULL) != QREP_OK || rep->handle != handle)
		return -EPROTO;
	len = qrep_reply_payload_bytes(op, rep->nblocks);
	if (!len)
		return 0;
	got = qrep_read_full(fd, meta, len);
	return got == (ssize_t)len ? 0 : -EPIPE;
}

/* Entry i of a CHECKSUMS reply. */
static void check_entry(const uint8_t *meta, uint32_t i, uint64_t *version,
			uint32_t *crc, uint32_t *flags)
{
	const uint8_t *e = meta + (size_t)i * QREP_BLOCK_CHECK_SIZE;

	*version = qrep_get_be64(e);
	*crc = qrep_get_be32(e + 8);
	*flags = qrep_get_be32(e + 12);
}

/*
 * What SUMMARY must answer for versions v[0..n) of blocks none of which
 * is torn: FNV-1a 64 over each version's eight bytes, most significant
 * first, bit 0 clear.
 */
static uint64_t expect_summary(const uint64_t *v, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint32_t i;
	int shift;

	for (i = 0; i < n; i++)
		for (shift = 56; shift >= 0; shift -= 8) {
			h ^= (v[i] >> shift) & 0xff;
			h *= 0x100000001b3ULL;
		}
	return h & ~1ULL;
}

static void fill(uint8_t *b, uint64_t block, uint64_t version)
{
	size_t i;

	for (i = 0; i < BS; i += 16) {
		qrep_put_le64(b + i, block);
		qrep_put_le64(b + i + 8, version);
	}
}

static bool is_fill(const uint8_t *b, uint64_t block, uint64_t version)
{
	uint8_t want[BS];

	fill(want, block, version);
	return !memcmp(b, want, BS);
}

/* ---- the target under test -------------------------------------------- */

static int target_init_store(FIXTURE_DATA(target) *self, const char *store,
			     uint64_t size)
{
	char sz[32];
	char *argv[] = { self->bin, "init", "--store", (char *)store,
			 "--size", sz, "--uuid", TEST_UUID, NULL };

	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	return run(argv, self->log, (uid_t)-1);
}

/*
 * Starts "serve" on a free port, waiting until it accepts. Returns 0, or
 * the exit code if it exited (after retrying ports taken meanwhile).
 */
static int target_start_store(FIXTURE_DATA(target) *self, const char *store,
			      const char *threads)
{
	char *argv[] = { self->bin, "serve", "--store", (char *)store,
			 "--listen", self->addr, "--stats-file", self->stats,
			 "--threads", (char *)threads, NULL, NULL, NULL };
	int attempt, waited, fd, status;

	if (self->secret[0]) {
		argv[10] = "--secret-file";
		argv[11] = self->secret;
	}
	for (attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
		self->port = free_port();
		snprintf(self->addr, sizeof(self->addr), "127.0.0.1:%d",
			 self->port);
		self->pid = spawn(argv, self->log, (uid_t)-1);
		for (waited = 0; waited < START_TIMEOUT_MS;
		     waited += POLL_STEP_MS) {
			if (waitpid(self->pid, &status, WNOHANG) == self->pid) {
				self->pid = 0;
				break;
			}
			fd = qrep_connect(self->addr, CLIENT_TIMEOUT_MS);
			if (fd >= 0) {
				close(fd);
				return 0;
			}
			sleep_ms(POLL_STEP_MS);
		}
		if (self->pid) {
			kill(self->pid, SIGKILL);
			wait_exit(self->pid);
			self->pid = 0;
			return -ETIMEDOUT;
		}
		if (!file_has(self->log, "address already in use"))
			return WEXITSTATUS(status);
	}
	return -EADDRINUSE;
}

static int target_start(FIXTURE_DATA(target) *self)
{
	return target_start_store(self, self->store, "4");
}

/* SIGTERM, then its exit code. */
static int target_stop(FIXTURE_DATA(target) *self)
{
	int rc;

	if (!self->pid)
		return -1;
	kill(self->pid, SIGTERM);
	rc = wait_exit(self->pid);
	self->pid = 0;
	return rc;
}

FIXTURE_SETUP(target)
{
	const char *tmp = getenv("TMPDIR");

	self->pid = 0;
	/* make unit builds it first: its absence is a broken build. */
	ASSERT_TRUE(tp_locate_target(self->bin, sizeof(self->bin)))
		TH_LOG("no qrep-target at %s (make userspace)", self->bin);
	self->buf = malloc((size_t)QREP_MAX_REQ_BLOCKS * BS);
	self->rbuf = malloc((size_t)QREP_MAX_REQ_BLOCKS * BS);
	ASSERT_NE(NULL, self->buf);
	ASSERT_NE(NULL, self->rbuf);
	snprintf(self->dir, sizeof(self->dir), "%s/qrep-e2e-XXXXXX",
		 tmp ? tmp : "/tmp");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, chmod(self->dir, 0755));	/* for the unprivileged run */
	snprintf(self->store, sizeof(self->store), "%s/replica", self->dir);
	snprintf(self->log, sizeof(self->log), "%s/target.log", self->dir);
	snprintf(self->stats, sizeof(self->stats), "%s/stats", self->dir);
	ASSERT_EQ(0, qrep_uuid_parse(TEST_UUID, self->uuid));
	ASSERT_EQ(0, target_init_store(self, self->store, STORE_SIZE));
}

FIXTURE_TEARDOWN(target)
{
	char cmd[PATH_MAX + 64];

	if (self->pid) {
		kill(self->pid, SIGKILL);
		wait_exit(self->pid);
	}
	if (self->shm_store[0])
		unlink(self->shm_store);
	if (getenv("QREP_E2E_KEEP")) {
		TH_LOG("kept %s", self->dir);
	} else {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
		if (system(cmd))
			TH_LOG("cannot remove %s", self->dir);
	}
	free(self->buf);
	free(self->rbuf);
}

/* ---- tests ------------------------------------------------------------ */

TEST_F(target, handshake_good)
{
	struct qrep_hello_reply_msg rep;
	int fd;

	ASSERT_EQ(0, target_start(self));
	fd = cli_connect(self->addr);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, cli_hello(fd, self->uuid, STORE_SIZE, 0, &rep));
	EXPECT_EQ(QREP_OK, rep.status);
	EXPECT_EQ(0, memcmp(rep.uuid, self->uuid, QREP_UUID_SIZE));
	EXPECT_EQ(STORE_SIZE, rep.size);
	EXPECT_EQ(QREP_BLOCK_SIZE, rep.block_size);
	EXPECT_EQ(0ULL, rep.max_version);
	EXPECT_EQ(0ULL, rep.epoch);
	close(fd);
	EXPECT_EQ(0, target_stop(self));
}

/* Refused handshakes: the status comes back, then the target closes. */
TEST_F(target, handshake_refusals)
{
	struct qrep_hello_reply_msg rep;
	uint8_t other[QREP_UUID_SIZE];
	uint8_t rbuf[QREP_HELLO_REPLY_SIZE];
	uint8_t buf[QREP_HELLO_SIZE];
	struct qrep_hello_msg h;
	int fd, i;
	static const struct {
		int what;	/* 0 uuid, 1 size, 2 version, 3 block size */
		uint32_t want;
	} rows[] = {
		/* 0 */ { 0, QREP_ERR_UUID },
		/* 1 */ { 1, QREP_ERR_SIZE },
		/* 2 */ { 2, QREP_ERR_PROTO },
		/* 3 */ { 3, QREP_ERR_SIZE },
	};

	ASSERT_EQ(0, qrep_uuid_parse(OTHER_UUID, other));
	ASSERT_EQ(0, target_start(self));
	for (i = 0; i < (int)(sizeof(rows) / sizeof(rows[0])); i++) {
		fd = cli_connect(self->addr);
		ASSERT_LE(0, fd);
		h = (struct qrep_hello_msg){
			.magic = QREP_HELLO_MAGIC,
			.proto_version = QREP_PROTO_VERSION,
			.size = STORE_SIZE, .block_size = QREP_BLOCK_SIZE,
		};
		memcpy(h.uuid, rows[i].what == 0 ? other : self->uuid,
		       QREP_UUID_SIZE);
		if (rows[i].what == 1)
			h.size = STORE_SIZE * 2;
		if (rows[i].what == 2)
			h.proto_version = QREP_PROTO_VERSION + 1;
		if (rows[i].what == 3)
			h.block_size = 512;
		qrep_hello_encode(&h, buf);
		ASSERT_EQ(0, qrep_write_full(fd, buf, sizeof(buf)));
		ASSERT_EQ(QREP_HELLO_REPLY_SIZE,
			  qrep_read_full(fd, rbuf, sizeof(rbuf)));
		qrep_hello_reply_decode(rbuf, &rep);
		EXPECT_EQ(rows[i].want, rep.status) TH_LOG("row %d", i);
		/* The reply still describes the store. */
		EXPECT_EQ(0, memcmp(rep.uuid, self->uuid, QREP_UUID_SIZE));
		EXPECT_EQ(STORE_SIZE, rep.size);
		EXPECT_TRUE(cli_closed(fd)) TH_LOG("row %d", i);
		close(fd);
	}
	/* Garbage instead of a hello, and silence then close. */
	fd = cli_connect(self->addr);
	ASSERT_LE(0, fd);
	memset(buf, 0x41, sizeof(buf));
	ASSERT_EQ(0, qrep_write_full(fd, buf, sizeof(buf)));
	ASSERT_EQ(QREP_HELLO_REPLY_SIZE,
		  qrep_read_full(fd, rbuf, sizeof(rbuf)));
	qrep_hello_reply_decode(rbuf, &rep);
	EXPECT_EQ(QREP_ERR_PROTO, rep.status);
	EXPECT_TRUE(cli_closed(fd));
	close(fd);
	fd = cli_connect(self->addr);
	ASSERT_LE(0, fd);
	close(fd);

	/* Still serving. */
	fd = cli_open(self->addr, self->uuid, 0);
	EXPECT_LE(0, fd);
	close(fd);
	EXPECT_EQ(0, target_stop(self));
	/* The silent connection (like the start-up probe) is no attempt. */
	EXPECT_EQ(5, stats_get(self->stats, "handshakes_failed"));
}

/* ---- authentication --------------------------------------------------- */

#define SECRET		"correct horse battery staple 42"
#define WRONG_SECRET	"correct horse battery staple 43"

/* Counts the lines of a file that contain both a and b. */
static int lines_with(const char *path, const char *a, const char *b)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, a) && strstr(line, b))
			n++;
	fclose(f);
	return n;
}

/* Writes a secret file with @mode; returns its path in @path. */
static int write_secret(FIXTURE_DATA(target) *self, const char *name,
			const char *secret, mode_t mode, char *path,
			size_t len)
{
	int fd;

	snprintf(path, len, "%s/%s", self->dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, secret, strlen(secret)) != (ssize_t)strlen(secret) ||
	    fchmod(fd, mode)) {
		close(fd);
		return -EIO;
	}
	return close(fd);
}

static int open_client(FIXTURE_DATA(target) *self,
		       const struct qrep_secret *secret, uint64_t epoch,
		       struct qrep_hello_reply_msg *rep, char *err,
		       size_t errlen)
{
	struct qrep_client_device dev = {
		.size = STORE_SIZE, .epoch = epoch, .secret = secret,
	};

	memcpy(dev.uuid, self->uuid, QREP_UUID_SIZE);
	return qrep_client_open(self->addr, &dev, CLIENT_TIMEOUT_MS, rep, err,
				errlen);
}

/*
 * Runs the client's side of an authenticated handshake by hand and keeps
 * the bytes it sent, as an eavesdropper would record them.
 */
static int auth_record(FIXTURE_DATA(target) *self,
		       const struct qrep_secret *secret, uint8_t *hello,
		       uint8_t *response)
{
	struct qrep_hello_msg h = {
		.magic = QREP_HELLO_MAGIC, .proto_version = QREP_PROTO_VERSION,
		.size = STORE_SIZE, .block_size = QREP_BLOCK_SIZE,
	};
	uint8_t in[QREP_HELLO_REPLY_SIZE], out[QREP_AUTH_RESPONSE_SIZE];
	struct qrep_hs_client c;
	const char *why;
	size_t n;
	int fd, ret = -EPROTO;

	fd = cli_connect(self->addr);
	if (fd < 0)
		return fd;
	memcpy(h.uuid, self->uuid, QREP_UUID_SIZE);
	qrep_hs_client_start(&c, &h, secret, hello);
	if (qrep_write_full(fd, hello, QREP_HELLO_SIZE) ||
	    qrep_read_full(fd, in, QREP_AUTH_CHALLENGE_SIZE) !=
	    QREP_AUTH_CHALLENGE_SIZE ||
	    qrep_hs_client_input(&c, in, out, &n, &why) != QREP_HS_SEND)
		goto out;
	memcpy(response, out, QREP_AUTH_RESPONSE_SIZE);
	if (qrep_write_full(fd, out, n) ||
	    qrep_read_full(fd, in, QREP_HELLO_REPLY_SIZE) !=
	    QREP_HELLO_REPLY_SIZE ||
	    qrep_hs_client_input(&c, in, out, &n, &why) != QREP_HS_READ ||
	    qrep_read_full(fd, in, QREP_AUTH_PROOF_SIZE) !=
	    QREP_AUTH_PROOF_SIZE ||
	    qrep_hs_client_input(&c, in, out, &n, &why) != QREP_HS_DONE)
		goto out;
	ret = c.authenticated ? 0 : -EACCES;
out:
	close(fd);
	return ret;
}

/* The right secret: connected, authenticated both ways, serving. */
TEST_F(target, auth_good)
{
	struct qrep_hello_reply_msg rep;
	struct qrep_reply_msg r;
	struct qrep_secret secret;
	char err[256];
	int fd;

	ASSERT_EQ(0, write_secret(self, "secret", SECRET "\n", 0600,
				  self->secret, sizeof(self->secret)));
	ASSERT_EQ(0, qrep_secret_set(&secret, SECRET, strlen(SECRET)));
	ASSERT_EQ(0, target_start(self));
	fd = open_client(self, &secret, 2, &rep, err, sizeof(err));
	ASSERT_LE(0, fd) TH_LOG("%s", err);
	EXPECT_EQ(QREP_OK, rep.status);
	EXPECT_EQ(2ULL, rep.epoch);
	EXPECT_EQ(STORE_SIZE, rep.size);
	fill(self->buf, 3, 1);
	qrep_sock_set_timeouts(fd, CLIENT_TIMEOUT_MS, CLIENT_TIMEOUT_MS);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, 0, 2, 3, 1, 1, self->buf,
			      &r, NULL, NULL));
	EXPECT_EQ(QREP_OK, r.status);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_READ, 0, 2, 3, 1, 0, NULL, &r,
			      self->versions, self->rbuf));
	EXPECT_TRUE(is_fill(self->rbuf, 3, 1));
	close(fd);
	EXPECT_EQ(0, target_stop(self));
	EXPECT_TRUE(file_has(self->log, "clients must prove the secret"));
	EXPECT_TRUE(file_has(self->log, "ready, authenticated"));
	EXPECT_EQ(0, stats_get(self->stats, "auth_failed"));
}

/*
 * A target with a secret refuses a wrong secret, no secret, a plain
 * hello and a replayed handshake; each is logged with the peer's address
 * and the reason, none learns about the store or moves its epoch, and
 * the target goes on serving the right client.
 */
TEST_F(target, auth_refusals)
{
	uint8_t hello[QREP_HELLO_SIZE], resp[QREP_AUTH_RESPONSE_SIZE];
	uint8_t buf[QREP_HELLO_REPLY_SIZE];
	struct qrep_hello_reply_msg rep;
	struct qrep_secret secret, wrong;
	char err[256];
	int fd;

	ASSERT_EQ(0, write_secret(self, "secret", SECRET, 0600, self->secret,
				  sizeof(self->secret)));
	ASSERT_EQ(0, qrep_secret_set(&secret, SECRET, strlen(SECRET)));
	ASSERT_EQ(0, qrep_secret_set(&wrong, WRONG_SECRET,
				     strlen(WRONG_SECRET)));
	ASSERT_EQ(0, target_start(self));

	/* Wrong secret, claiming an epoch that would fence everyone. */
	fd = open_client(self, &wrong, 50, &rep, err, sizeof(err));
	EXPECT_EQ(-EACCES, fd);
	EXPECT_STREQ("authentication failed: wrong secret (the target "
		     "refused our proof)", err);
	/* No secret at all. */
	fd = open_client(self, NULL, 50, &rep, err, sizeof(err));
	EXPECT_EQ(-EACCES, fd);
	EXPECT_NE(NULL, strstr(err, "requires a shared secret")) TH_LOG("%s", err);
	/* A plain hello learns nothing about the store. */
	fd = cli_connect(self->addr);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, cli_hello(fd, self->uuid, STORE_SIZE, 0, &rep));
	EXPECT_EQ(QREP_ERR_AUTH, rep.status);
	EXPECT_EQ(0ULL, rep.size);
	EXPECT_EQ(0, rep.uuid[0] | rep.uuid[15]);
	EXPECT_TRUE(cli_closed(fd));
	close(fd);

	/* A recorded handshake, replayed: the target's new nonce foils it. */
	ASSERT_EQ(0, auth_record(self, &secret, hello, resp));
	fd = cli_connect(self->addr);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, qrep_write_full(fd, hello, sizeof(hello)));
	ASSERT_EQ(QREP_AUTH_CHALLENGE_SIZE,
		  qrep_read_full(fd, buf, QREP_AUTH_CHALLENGE_SIZE));
	ASSERT_EQ(0, qrep_write_full(fd, resp, sizeof(resp)));
	ASSERT_EQ(QREP_HELLO_REPLY_SIZE,
		  qrep_read_full(fd, buf, QREP_HELLO_REPLY_SIZE));
	qrep_hello_reply_decode(buf, &rep);
	EXPECT_EQ(QREP_ERR_AUTH, rep.status);
	EXPECT_TRUE(cli_closed(fd));
	close(fd);

	/* The right client still gets in, and the epoch never moved. */
	fd = open_client(self, &secret, 0, &rep, err, sizeof(err));
	ASSERT_LE(0, fd) TH_LOG("%s", err);
	EXPECT_EQ(0ULL, rep.epoch);
	close(fd);
	EXPECT_EQ(0, target_stop(self));
	EXPECT_EQ(4, stats_get(self->stats, "auth_failed"));
	/* Who and why: "127.0.0.1:PORT: authentication refused: ...". */
	EXPECT_EQ(4, lines_with(self->log, "127.0.0.1:",
				": authentication refused: "));
	EXPECT_EQ(2, lines_with(self->log, "authentication refused: wrong "
				"proof: the client does not know the secret "
				"(wrong secret, or a replayed handshake)", ""));
	EXPECT_EQ(2, lines_with(self->log, "authentication refused: the "
				"client does not authenticate", ""));
}

/* A client with a secret refuses a target without one. */
TEST_F(target, auth_target_without_secret)
{
	struct qrep_hello_reply_msg rep;
	struct qrep_secret secret;
	char err[256];
	int fd;

	ASSERT_EQ(0, qrep_secret_set(&secret, SECRET, strlen(SECRET)));
	ASSERT_EQ(0, target_start(self));
	fd = open_client(self, &secret, 3, &rep, err, sizeof(err));
	EXPECT_EQ(-EACCES, fd);
	EXPECT_NE(NULL, strstr(err, "authentication failed: the target has "
			       "no secret")) TH_LOG("%s", err);
	/* Nothing was done with the hello: the epoch is still 0. */
	fd = open_client(self, NULL, 0, &rep, err, sizeof(err));
	ASSERT_LE(0, fd) TH_LOG("%s", err);
	EXPECT_EQ(0ULL, rep.epoch);
	close(fd);
	EXPECT_EQ(0, target_stop(self));
	EXPECT_TRUE(file_has(self->log, "no --secret-file: clients are not "
			     "authenticated"));
	EXPECT_TRUE(file_has(self->log, "authentication refused: the client "
			     "authenticates, but this target has no secret"));
	EXPECT_EQ(1, stats_get(self->stats, "auth_failed"));
}

/* serve refuses a secret file others can read, or one too short. */
TEST_F(target, auth_bad_secret_file)
{
	static const struct {
		const char *secret;
		mode_t mode;
		const char *message;
	} rows[] = {
		/* 0 */ { SECRET, 0644, "permissions 0644 let group or others "
			  "at it; it must be readable by its owner only "
			  "(chmod 600)" },
		/* 1 */ { SECRET, 0660, "(chmod 600)" },
		/* 2 */ { "", 0600, "empty" },
		/* 3 */ { "hunter2\n", 0600, "too short" },
	};
	int i;

	for (i = 0; i < (int)(sizeof(rows) / sizeof(rows[0])); i++) {
		ASSERT_EQ(0, write_secret(self, "secret", rows[i].secret,
					  rows[i].mode, self->secret,
					  sizeof(self->secret)));
		EXPECT_EQ(1, target_start(self)) TH_LOG("row %d", i);
		EXPECT_TRUE(file_has(self->log, rows[i].message))
			TH_LOG("row %d", i);
	}
	snprintf(self->secret, sizeof(self->secret), "%s", self->dir);
	EXPECT_EQ(1, target_start(self));
	EXPECT_TRUE(file_has(self->log, "not a regular file"));
}

TEST_F(target, write_read_flush)
{
	struct qrep_reply_msg rep;
	uint32_t i;
	int fd;

	ASSERT_EQ(0, target_start(self));
	fd = cli_open(self->addr, self->uuid, 1);
	ASSERT_LE(0, fd);

	/* 4 blocks at version 10, FUA */
	for (i = 0; i < 4; i++)
		fill(self->buf + (size_t)i * BS, 100 + i, 10);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, QREP_REQ_FUA, 1, 100, 4, 10,
			      self->buf, &rep, NULL, NULL));
	EXPECT_EQ(QREP_OK, rep.status);
	EXPECT_EQ(0U, rep.flags);
	EXPECT_EQ(1ULL, rep.epoch);
	EXPECT_EQ(0U, rep.nblocks);

	/* read 98..105: two unwritten, four at 10, two unwritten */
	ASSERT_EQ(0, cli_call(fd, QREP_OP_READ, 0, 1, 98, 8, 0, NULL, &rep,
			      self->versions, self->rbuf));
	ASSERT_EQ(QREP_OK, rep.status);
	ASSERT_EQ(8U, rep.nblocks);
	for (i = 0; i < 8; i++) {
		bool written = i >= 2 && i < 6;

		EXPECT_EQ(written ? 10ULL : 0ULL, self->versions[i]);
		if (written)
			EXPECT_TRUE(is_fill(self->rbuf + (size_t)i * BS,
					    98 + i, 10));
	}

	/* an older write over part of it: ignored, flagged */
	for (i = 0; i < 2; i++)
		fill(self->buf + (size_t)i * BS, 102 + i, 5);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, 0, 1, 102, 2, 5, self->buf,
			      &rep, NULL, NULL));
	EXPECT_EQ(QREP_OK, rep.status);
	EXPECT_EQ(QREP_REPLY_OLDER_IGNORED, rep.flags);

	/* a newer one applies, partly over unwritten blocks */
	for (i = 0; i < 4; i++)
		fill(self->buf + (size_t)i * BS, 102 + i, 11);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, 0, 1, 102, 4, 11, self->buf,
			      &rep, NULL, NULL));
	EXPECT_EQ(0U, rep.flags);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_FLUSH, 0, 1, 0, 0, 0, NULL, &rep,
			      NULL, NULL));
	EXPECT_EQ(QREP_OK, rep.status);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_READ, 0, 1, 100, 6, 0, NULL, &rep,
			      self->versions, self->rbuf));
	for (i = 0; i < 6; i++)
		EXPECT_EQ(i < 2 ? 10ULL : 11ULL, self->versions[i]);

	/* out of range: an error reply, and the stream stays in step */
	ASSERT_EQ(0, cli_call(fd, QREP_OP_READ, 0, 1, STORE_BLOCKS - 1, 2, 0,
			      NULL, &rep, NULL, NULL));
	EXPECT_EQ(QREP_ERR_RANGE, rep.status);
	EXPECT_EQ(0U, rep.nblocks);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, 0, 1, STORE_BLOCKS, 3, 12,
			      self->buf, &rep, NULL, NULL));
	EXPECT_EQ(QREP_ERR_RANGE, rep.status);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, 0, 1, 0, 1, 0, self->buf,
			      &rep, NULL, NULL));
	EXPECT_EQ(QREP_ERR_INVAL, rep.status);	/* version 0 */
	ASSERT_EQ(0, cli_call(fd, QREP_OP_READ, 0, 1, STORE_BLOCKS - 1, 1, 0,
			      NULL, &rep, self->versions, self->rbuf));
	EXPECT_EQ(QREP_OK, rep.status);
	EXPECT_EQ(0ULL, self->versions[0]);
	close(fd);

	/* max_version and the data survive a restart */
	ASSERT_EQ(0, target_stop(self));
	ASSERT_EQ(0, target_start(self));
	fd = cli_connect(self->addr);
	ASSERT_LE(0, fd);
	{
		struct qrep_hello_reply_msg hr;

		ASSERT_EQ(0, cli_hello(fd, self->uuid, STORE_SIZE, 1, &hr));
		EXPECT_EQ(11ULL, hr.max_version);
	}
	ASSERT_EQ(0, cli_call(fd, QREP_OP_READ, 0, 1, 104, 2, 0, NULL, &rep,
			      self->versions, self->rbuf));
	EXPECT_TRUE(is_fill(self->rbuf, 104, 11));
	EXPECT_TRUE(is_fill(self->rbuf + BS, 105, 11));
	close(fd);
	EXPECT_EQ(0, target_stop(self));
}

/* Many requests in flight on one connection; replies match by handle. */
TEST_F(target, pipelined_requests)
{
	enum { N = 200 };
	struct qrep_reply_msg rep;
	bool seen[N] = { 0 };
	uint64_t h;
	int fd, i;

	ASSERT_EQ(0, target_start(self));
	fd = cli_open(self->addr, self->uuid, 0);
	ASSERT_LE(0, fd);
	for (i = 0; i < N; i++) {
		fill(self->buf, (uint64_t)i, 3);
		ASSERT_EQ(0, cli_send(fd, QREP_OP_WRITE, 0, (uint64_t)i, 0,
				      (uint64_t)i, 1, 3, self->buf));
	}
	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, cli_recv(fd, &rep, NULL, NULL));
		EXPECT_EQ(QREP_OK, rep.status);
		ASSERT_LT(rep.handle, (uint64_t)N);
		EXPECT_FALSE(seen[rep.handle]);
		seen[rep.handle] = true;
	}
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, cli_send(fd, QREP_OP_READ, 0, 1000 + (uint64_t)i,
				      0, (uint64_t)i, 1, 0, NULL));
	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, cli_recv(fd, &rep, self->versions, self->rbuf));
		h = rep.handle - 1000;
		ASSERT_LT(h, (uint64_t)N);
		EXPECT_EQ(3ULL, self->versions[0]);
		EXPECT_TRUE(is_fill(self->rbuf, h, 3));
	}
	close(fd);
	EXPECT_EQ(0, target_stop(self));
}

/*
 * Fencing. A primary at epoch 5 arrives; the old one at epoch 3 has its
 * requests refused on its open connection, and a new handshake at epoch
 * 3 is refused too. The new epoch survives a restart. A request with a
 * newer epoch raises it.
 */
TEST_F(target, stale_epoch_is_fenced)
{
	struct qrep_hello_reply_msg hr;
	struct qrep_reply_msg rep;
	int old_fd, new_fd;

	ASSERT_EQ(0, target_start(self));
	old_fd = cli_open(self->addr, self->uuid, 3);
	ASSERT_LE(0, old_fd);
	fill(self->buf, 7, 1);
	ASSERT_EQ(0, cli_call(old_fd, QREP_OP_WRITE, 0, 3, 7, 1, 1, self->buf,
			      &rep, NULL, NULL));
	EXPECT_EQ(QREP_OK, rep.status);
	EXPECT_EQ(3ULL, rep.epoch);

	new_fd = cli_connect(self->addr);
	ASSERT_LE(0, new_fd);
	ASSERT_EQ(0, cli_hello(new_fd, self->uuid, STORE_SIZE, 5, &hr));
	EXPECT_EQ(QREP_OK, hr.status);
	EXPECT_EQ(5ULL, hr.epoch);
	EXPECT_EQ(1ULL, hr.max_version);

	/* the old primary, on its existing connection: fenced */
	fill(self->buf, 7, 2);
	ASSERT_EQ(0, cli_call(old_fd, QREP_OP_WRITE, 0, 3, 7, 1, 2, self->buf,
			      &rep, NULL, NULL));
	EXPECT_EQ(QREP_ERR_EPOCH, rep.status);
	EXPECT_EQ(5ULL, rep.epoch);
	ASSERT_EQ(0, cli_call(old_fd, QREP_OP_READ, 0, 3, 7, 1, 0, NULL, &rep,
			      NULL, NULL));
	EXPECT_EQ(QREP_ERR_EPOCH, rep.status);
	ASSERT_EQ(0, cli_call(old_fd, QREP_OP_FLUSH, 0, 4, 0, 0, 0, NULL, &rep,
			      NULL, NULL));
	EXPECT_EQ(QREP_ERR_EPOCH, rep.status);

	/* the new one works, and block 7 still holds version 1 */
	ASSERT_EQ(0, cli_call(new_fd, QREP_OP_READ, 0, 5, 7, 1, 0, NULL, &rep,
			      self->versions, self->rbuf));
	EXPECT_EQ(QREP_OK, rep.status);
	EXPECT_EQ(1ULL, self->versions[0]);
	EXPECT_TRUE(is_fill(self->rbuf, 7, 1));

	/*
	 * An old primary reconnecting is refused at the handshake, but
	 * learns the epoch and max_version from the reply.
	 */
	close(old_fd);
	old_fd = cli_connect(self->addr);
	ASSERT_LE(0, old_fd);
	ASSERT_EQ(0, cli_hello(old_fd, self->uuid, STORE_SIZE, 3, &hr));
	EXPECT_EQ(QREP_ERR_EPOCH, hr.status);
	EXPECT_EQ(5ULL, hr.epoch);
	EXPECT_EQ(1ULL, hr.max_version);
	EXPECT_TRUE(cli_closed(old_fd));
	close(old_fd);

	/* a request with a newer epoch raises it for everyone */
	ASSERT_EQ(0, cli_call(new_fd, QREP_OP_FLUSH, 0, 6, 0, 0, 0, NULL, &rep,
			      NULL, NULL));
	EXPECT_EQ(QREP_OK, rep.status);
	EXPECT_EQ(6ULL, rep.epoch);
	ASSERT_EQ(0, cli_call(new_fd, QREP_OP_FLUSH, 0, 5, 0, 0, 0, NULL, &rep,
			      NULL, NULL));
	EXPECT_EQ(QREP_ERR_EPOCH, rep.status);
	close(new_fd);

	/* durable across a restart */
	ASSERT_EQ(0, target_stop(self));
	ASSERT_EQ(0, target_start(self));
	new_fd = cli_connect(self->addr);
	ASSERT_LE(0, new_fd);
	ASSERT_EQ(0, cli_hello(new_fd, self->uuid, STORE_SIZE, 1, &hr));
	EXPECT_EQ(QREP_ERR_EPOCH, hr.status);
	EXPECT_EQ(6ULL, hr.epoch);
	close(new_fd);

	/*
	 * Epoch 0 claims nothing: the handshake succeeds and tells the
	 * store's epoch, but every request is still fenced on its own.
	 */
	new_fd = cli_connect(self->addr);
	ASSERT_LE(0, new_fd);
	ASSERT_EQ(0, cli_hello(new_fd, self->uuid, STORE_SIZE, 0, &hr));
	EXPECT_EQ(QREP_OK, hr.status);
	EXPECT_EQ(6ULL, hr.epoch);
	ASSERT_EQ(0, cli_call(new_fd, QREP_OP_FLUSH, 0, 5, 0, 0, 0, NULL, &rep,
			      NULL, NULL));
	EXPECT_EQ(QREP_ERR_EPOCH, rep.status);
	ASSERT_EQ(0, cli_call(new_fd, QREP_OP_FLUSH, 0, 6, 0, 0, 0, NULL, &rep,
			      NULL, NULL));
	EXPECT_EQ(QREP_OK, rep.status);
	close(new_fd);
	new_fd = cli_open(self->addr, self->uuid, 6);
	EXPECT_LE(0, new_fd);
	close(new_fd);
	EXPECT_EQ(0, target_stop(self));
}

/* A tool's connection (lib/peer.c) after a hello of epoch 0, or -errno. */
static int peer_open(FIXTURE_DATA(target) *self, struct qrep_peer *p)
{
	int fd = cli_open(self->addr, self->uuid, 0);

	if (fd < 0)
		return fd;
	qrep_peer_init(p, fd, self->addr, 0);
	return 0;
}

/* Two proposers of one epoch, released together by a barrier. */
struct proposer {
	struct qrep_peer peer;
	pthread_barrier_t *go;
	uint64_t epoch;
	bool accepted;
	uint64_t held;
	int err;
};

static void *proposer_thread(void *arg)
{
	struct proposer *pr = arg;

	pthread_barrier_wait(pr->go);
	pr->err = qrep_peer_propose_epoch(&pr->peer, pr->epoch, &pr->accepted,
					  &pr->held);
	return NULL;
}

/* Rounds of the race: each proposes the next epoch from both sides. */
#define PROPOSE_RACE_ROUNDS	50

/*
 * EPOCH_PROPOSE (the election): accepted only when it raises the store's
 * epoch to exactly the proposal; a proposal of the epoch the store holds,
 * or of an older one, is refused, and every reply carries the store's
 * epoch. A connection whose hello claimed nothing (epoch 0) may propose;
 * two proposers of one epoch never both win; and what was accepted is
 * durable and fences older requests, across a restart too.
 */
TEST_F(target, epoch_propose)
{
	struct qrep_hello_reply_msg hr;
	struct proposer pr[2];
	pthread_barrier_t go;
	struct qrep_reply_msg rep;
	struct qrep_peer p;
	uint8_t meta[8];
	uint64_t held, e;
	bool accepted;
	pthread_t th[2];
	int i, won, fd;

	ASSERT_EQ(0, target_start(self));
	ASSERT_EQ(0, peer_open(self, &p));

	/* accepted: from the store's epoch to exactly the proposal */
	ASSERT_EQ(0, qrep_peer_propose_epoch(&p, 7, &accepted, &held));
	EXPECT_TRUE(accepted);
	EXPECT_EQ(7ULL, held);
	/* the same epoch again, from the same proposer: refused */
	ASSERT_EQ(0, qrep_peer_propose_epoch(&p, 7, &accepted, &held));
	EXPECT_FALSE(accepted);
	EXPECT_EQ(7ULL, held);
	/* older: refused, and told the epoch to outbid */
	ASSERT_EQ(0, qrep_peer_propose_epoch(&p, 3, &accepted, &held));
	EXPECT_FALSE(accepted);
	EXPECT_EQ(7ULL, held);
	EXPECT_EQ((uint32_t)QREP_ERR_EPOCH, p.status);
	EXPECT_EQ(-EINVAL, qrep_peer_propose_epoch(&p, 0, &accepted, &held));

	/* the wire: one entry either way, and the header agrees */
	fd = cli_open(self->addr, self->uuid, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, cli_call_meta(fd, QREP_OP_EPOCH_PROPOSE, 0, 6, 0, 0,
				   &rep, meta));
	EXPECT_EQ(QREP_ERR_EPOCH, rep.status);
	EXPECT_EQ(1U, rep.nblocks);
	EXPECT_EQ(7ULL, rep.epoch);
	EXPECT_EQ(7ULL, qrep_get_be64(meta));
	ASSERT_EQ(0, cli_call_meta(fd, QREP_OP_EPOCH_PROPOSE, 0, 8, 0, 0,
				   &rep, meta));
	EXPECT_EQ(QREP_OK, rep.status);
	EXPECT_EQ(1U, rep.nblocks);
	EXPECT_EQ(8ULL, rep.epoch);
	EXPECT_EQ(8ULL, qrep_get_be64(meta));
	/* the raise fences the old epoch, on this very connection too */
	ASSERT_EQ(0, cli_call(fd, QREP_OP_FLUSH, 0, 7, 0, 0, 0, NULL, &rep,
			      NULL, NULL));
	EXPECT_EQ(QREP_ERR_EPOCH, rep.status);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_FLUSH, 0, 8, 0, 0, 0, NULL, &rep,
			      NULL, NULL));
	EXPECT_EQ(QREP_OK, rep.status);
	close(fd);

	/* two proposers of each epoch: exactly one wins every round */
	ASSERT_EQ(0, pthread_barrier_init(&go, NULL, 2));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, peer_open(self, &pr[i].peer));
		pr[i].go = &go;
	}
	for (e = 9; e < 9 + PROPOSE_RACE_ROUNDS; e++) {
		for (i = 0; i < 2; i++) {
			pr[i].epoch = e;
			pr[i].accepted = false;
			ASSERT_EQ(0, pthread_create(&th[i], NULL,
						    proposer_thread, &pr[i]));
		}
		won = 0;
		for (i = 0; i < 2; i++) {
			pthread_join(th[i], NULL);
			ASSERT_EQ(0, pr[i].err) TH_LOG("epoch %llu",
						       (unsigned long long)e);
			EXPECT_EQ(e, pr[i].held);
			won += pr[i].accepted;
		}
		EXPECT_EQ(1, won) TH_LOG("epoch %llu", (unsigned long long)e);
	}
	pthread_barrier_destroy(&go);
	for (i = 0; i < 2; i++)
		qrep_peer_close(&pr[i].peer);
	e--;

	/* durable: after a restart the store holds it and refuses it again */
	qrep_peer_close(&p);
	ASSERT_EQ(0, target_stop(self));
	ASSERT_EQ(0, target_start(self));
	fd = cli_connect(self->addr);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, cli_hello(fd, self->uuid, STORE_SIZE, 0, &hr));
	EXPECT_EQ(QREP_OK, hr.status);
	EXPECT_EQ(e, hr.epoch);
	qrep_peer_init(&p, fd, self->addr, 0);
	ASSERT_EQ(0, qrep_peer_propose_epoch(&p, e, &accepted, &held));
	EXPECT_FALSE(accepted);
	EXPECT_EQ(e, held);
	ASSERT_EQ(0, qrep_peer_propose_epoch(&p, e + 1, &accepted, &held));
	EXPECT_TRUE(accepted);
	qrep_peer_close(&p);
	EXPECT_EQ(0, target_stop(self));
	/* the counters of this run of the target only */
	EXPECT_EQ(2LL, stats_get(self->stats, "epoch_propose_requests"));
	EXPECT_EQ(1LL, stats_get(self->stats, "epoch_propose_errors"));
}

/*
 * Malformed headers: each gets QREP_ERR_INVAL for its handle, then the
 * connection closes; the target goes on serving others.
 */
/* ---- a replacement store: joining ----------------------------------- */

/* Writes a resource file; the replicas are "name addr" pairs. */
static int write_conf(const char *path, const char *mode, const char *a,
		      const char *b, const char *c)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "resource r0\ndevice 0\nsize %u\nuuid %s\nmode %s\n"
		"connect-timeout 2s\nreplica a %s\nreplica b %s\n", STORE_SIZE,
		TEST_UUID, mode, a, b);
	if (c)
		fprintf(f, "replica c %s\n", c);
	return fclose(f) ? -errno : 0;
}

static int store_state(const char *path, uint64_t *epoch, bool *joining)
{
	struct qrep_store *s;
	int ret = qrep_store_open(path, QREP_STORE_RDONLY, &s, NULL, 0);

	if (ret)
		return ret;
	*epoch = qrep_store_epoch(s);
	*joining = qrep_store_info(s)->joining;
	return qrep_store_close(s);
}

/*
 * issue 14, scenario 1, the store's side. A replacement made by "init
 * --replace" is joining: served, it refuses every hello (at epoch 0 or
 * any other, so no proposal, vote or write reaches it) with
 * QREP_ERR_JOINING, which the client library turns into a sentence. "join"
 * learns the floor from N - W + 1 other replicas (quorum) or all of them
 * (mirror), says so, and refuses when too few answer; once joined, the
 * store holds the epoch in use, so a proposal of it is refused and only a
 * newer one accepted. --epoch-floor is the operator's override.
 */
TEST_F(target, joining_store_votes_only_after_join)
{
	char bstore[PATH_MAX], cstore[PATH_MAX], conf[PATH_MAX], out[PATH_MAX];
	char dead[64], dead2[64], a_addr[64], floor_arg[] = "7";
	char *init_b[12] = { self->bin, "init", "--replace", "--store", bstore,
			   "--size", "16777216", "--uuid", TEST_UUID, NULL };
	char *init_nouuid[] = { self->bin, "init", "--replace", "--store",
				cstore, "--size", "16777216", NULL };
	char *join_b[] = { self->bin, "join", "--store", bstore, "--config",
			   conf, "--replica", "b", NULL };
	char *join_c[] = { self->bin, "join", "--store", cstore,
			   "--epoch-floor", floor_arg, NULL };
	char *join_bad[] = { self->bin, "join", "--store", cstore, NULL };
	struct qrep_client_device dev = { .size = STORE_SIZE };
	struct qrep_hello_reply_msg rep;
	struct qrep_peer p;
	char err[256];
	uint64_t epoch, held;
	bool joining, accepted;
	int fd, i;

	memcpy(dev.uuid, self->uuid, QREP_UUID_SIZE);
	snprintf(bstore, sizeof(bstore), "%s/b", self->dir);
	snprintf(cstore, sizeof(cstore), "%s/c", self->dir);
	snprintf(conf, sizeof(conf), "%s/r0.conf", self->dir);
	snprintf(out, sizeof(out), "%s/join.out", self->dir);
	snprintf(dead, sizeof(dead), "127.0.0.1:%d", free_port());
	snprintf(dead2, sizeof(dead2), "127.0.0.1:%d", free_port() + 1);

	EXPECT_EQ(2, run(init_nouuid, out, (uid_t)-1));
	ASSERT_EQ(0, run(init_b, self->log, (uid_t)-1));
	ASSERT_EQ(0, store_state(bstore, &epoch, &joining));
	EXPECT_TRUE(joining);
	EXPECT_EQ(0ULL, epoch);

	/* Served while joining: every hello refused, the epoch told. */
	ASSERT_EQ(0, target_start_store(self, bstore, "4"));
	EXPECT_TRUE(file_has(self->log, "is joining"));
	for (i = 0; i < 3; i++) {
		fd = cli_connect(self->addr);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, cli_hello(fd, self->uuid, STORE_SIZE,
				       (uint64_t)i * 3, &rep));
		EXPECT_EQ(QREP_ERR_JOINING, rep.status) TH_LOG("epoch %d", i * 3);
		EXPECT_EQ(0ULL, rep.epoch);
		EXPECT_TRUE(cli_closed(fd));
		close(fd);
	}
	fd = qrep_client_open(self->addr, &dev, CLIENT_TIMEOUT_MS, &rep, err,
			      sizeof(err));
	EXPECT_EQ(-EBUSY, fd);
	EXPECT_NE(NULL, strstr(err, "qrep-target join")) TH_LOG("%s", err);
	EXPECT_EQ(0, target_stop(self));
	ASSERT_EQ(0, store_state(bstore, &epoch, &joining));
	EXPECT_TRUE(joining);
	EXPECT_EQ(0ULL, epoch);

	/* a holds epoch 5, the one in use. */
	ASSERT_EQ(0, target_start(self));
	snprintf(a_addr, sizeof(a_addr), "%s", self->addr);
	fd = cli_open(a_addr, self->uuid, 5);
	ASSERT_LE(0, fd);
	close(fd);

	/* Quorum, N = 3, W = 2: a and c must both answer; c is gone. */
	ASSERT_EQ(0, write_conf(conf, "quorum", a_addr, dead, dead2));
	EXPECT_EQ(1, run(join_b, out, (uid_t)-1));
	EXPECT_TRUE(file_has(out, "replica a ("));
	EXPECT_TRUE(file_has(out, ": epoch 5"));
	EXPECT_TRUE(file_has(out, "1 of the 2 other replicas answered, 2 "
			     "needed"));
	EXPECT_TRUE(file_has(out, "the store stays joining"));
	ASSERT_EQ(0, store_state(bstore, &epoch, &joining));
	EXPECT_TRUE(joining);
	EXPECT_EQ(0ULL, epoch);

	/* Mirror, a and b: a is all the others. */
	ASSERT_EQ(0, write_conf(conf, "mirror", a_addr, dead, NULL));
	EXPECT_EQ(0, run(join_b, out, (uid_t)-1));
	EXPECT_TRUE(file_has(out, "learned epoch 5 from 1 of 1 other "
			     "replicas (1 needed)"));
	EXPECT_TRUE(file_has(out, "joined at epoch 5"));
	ASSERT_EQ(0, store_state(bstore, &epoch, &joining));
	EXPECT_FALSE(joining);
	EXPECT_EQ(5ULL, epoch);
	EXPECT_EQ(0, run(join_b, out, (uid_t)-1));	/* nothing to do */
	EXPECT_TRUE(file_has(out, "is not joining"));
	EXPECT_EQ(0, target_stop(self));

	/* Joined: it serves, and votes only above the epoch in use. */
	ASSERT_EQ(0, target_start_store(self, bstore, "4"));
	fd = cli_open(self->addr, self->uuid, 0);
	ASSERT_LE(0, fd);
	qrep_peer_init(&p, fd, self->addr, 0);
	ASSERT_EQ(0, qrep_peer_propose_epoch(&p, 5, &accepted, &held));
	EXPECT_FALSE(accepted);
	EXPECT_EQ(5ULL, held);
	ASSERT_EQ(0, qrep_peer_propose_epoch(&p, 6, &accepted, &held));
	EXPECT_TRUE(accepted);
	qrep_peer_close(&p);
	EXPECT_EQ(0, target_stop(self));

	/* The operator's override, and its usage. */
	ASSERT_EQ(0, target_init_store(self, cstore, STORE_SIZE));
	EXPECT_EQ(0, run(join_c, out, (uid_t)-1));	/* not joining */
	init_b[4] = cstore;
	init_b[9] = "--force";
	init_b[10] = NULL;
	ASSERT_EQ(0, run(init_b, self->log, (uid_t)-1));
	EXPECT_EQ(2, run(join_bad, out, (uid_t)-1));
	EXPECT_EQ(0, run(join_c, out, (uid_t)-1));
	EXPECT_TRUE(file_has(out, "epoch floor 7 given by the operator"));
	ASSERT_EQ(0, store_state(cstore, &epoch, &joining));
	EXPECT_FALSE(joining);
	EXPECT_EQ(7ULL, epoch);
}

TEST_F(target, malformed_request_closes_connection)
{
#define M(magic_, op_, fl_, n_, rsv_) \
	{ magic_, op_, fl_, 77, 0, 0, n_, rsv_, 1 }
#define MB(op_, fl_, blk_, n_) \
	{ QREP_REQ_MAGIC, op_, fl_, 77, 0, blk_, n_, 0, 1 }
#define P(epoch_, blk_, n_, ver_, fl_) \
	{ QREP_REQ_MAGIC, QREP_OP_EPOCH_PROPOSE, fl_, 77, epoch_, blk_, n_, \
	  0, ver_ }
	static const struct qrep_req_msg rows[] = {
		/* 0: magic */ M(0xdeadbeef, QREP_OP_READ, 0, 1, 0),
		/* 1: op 0 */ M(QREP_REQ_MAGIC, 0, 0, 1, 0),
		/* 2: op 9 */ M(QREP_REQ_MAGIC, 9, 0, 1, 0),
		/* 3: flags */ M(QREP_REQ_MAGIC, QREP_OP_WRITE, 0x10, 1, 0),
		/* 4: reserved */ M(QREP_REQ_MAGIC, QREP_OP_READ, 0, 1, 1),
		/* 5: nblocks 0 */ M(QREP_REQ_MAGIC, QREP_OP_READ, 0, 0, 0),
		/* 6: too many */ M(QREP_REQ_MAGIC, QREP_OP_WRITE, 0, 257, 0),
		/* 7: huge */ M(QREP_REQ_MAGIC, QREP_OP_WRITE, 0, UINT32_MAX,
				0),
		/* 8: flush n */ M(QREP_REQ_MAGIC, QREP_OP_FLUSH, 0, 1, 0),
		/* flags on anything but a WRITE */
		/* 9 */ MB(QREP_OP_VERSIONS, QREP_REQ_FUA, 0, 1),
		/* 10 */ MB(QREP_OP_SUMMARY, QREP_REQ_REPAIR, 0, 1),
		/* 11 */ MB(QREP_OP_CHECKSUMS, QREP_REQ_REPAIR, 0, 1),
		/* 12 */ MB(QREP_OP_READ, QREP_REQ_REPAIR, 0, 1),
		/* 13 */ MB(QREP_OP_FLUSH, QREP_REQ_FUA, 0, 0),
		/* 14: REPAIR with an unknown flag */
		MB(QREP_OP_WRITE, QREP_REQ_REPAIR | 0x0100, 0, 1),
		/* SUMMARY: unaligned, no region, too many regions */
		/* 15 */ MB(QREP_OP_SUMMARY, 0, 100, 1),
		/* 16 */ MB(QREP_OP_SUMMARY, 0, STORE_BLOCKS + 1, 1),
		/* 17 */ MB(QREP_OP_SUMMARY, 0, 0, 0),
		/* 18 */ MB(QREP_OP_SUMMARY, 0, 0, 257),
		/* VERSIONS and CHECKSUMS: nblocks 0 or too many */
		/* 19 */ MB(QREP_OP_VERSIONS, 0, 0, 0),
		/* 20 */ MB(QREP_OP_CHECKSUMS, 0, 0, 257),
		/* 21: the op after the last one */
		MB(QREP_OP_EPOCH_PROPOSE + 1, 0, 0, 1),
		/* EPOCH_PROPOSE: epoch 0, blocks, nblocks, version, flags */
		/* 22 */ P(0, 0, 0, 0, 0),
		/* 23 */ P(9, 1, 0, 0, 0),
		/* 24 */ P(9, 0, 1, 0, 0),
		/* 25 */ P(9, 0, 0, 1, 0),
		/* 26 */ P(9, 0, 0, 0, QREP_REQ_FUA),
	};
#undef P
#undef MB
#undef M
	struct qrep_reply_msg rep;
	int fd, before, i;

	ASSERT_EQ(0, target_start(self));
	before = settled_fds(self->pid);
	ASSERT_LT(0, before);
	for (i = 0; i < (int)(sizeof(rows) / sizeof(rows[0])); i++) {
		fd = cli_open(self->addr, self->uuid, 0);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, cli_send_raw(fd, &rows[i]));
		ASSERT_EQ(0, cli_recv(fd, &rep, NULL, NULL)) TH_LOG("row %d",
								     i);
		EXPECT_EQ(QREP_ERR_INVAL, rep.status) TH_LOG("row %d", i);
		EXPECT_EQ(77ULL, rep.handle);
		EXPECT_TRUE(cli_closed(fd)) TH_LOG("row %d", i);
		close(fd);
	}
	fd = cli_open(self->addr, self->uuid, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_FLUSH, 0, 0, 0, 0, 0, NULL, &rep,
			      NULL, NULL));
	EXPECT_EQ(QREP_OK, rep.status);
	close(fd);
	/* No descriptor left behind. */
	EXPECT_EQ(before, settled_fds(self->pid));
	EXPECT_EQ(0, target_stop(self));
	EXPECT_EQ((long long)(sizeof(rows) / sizeof(rows[0])),
		  stats_get(self->stats, "requests_malformed"));
}

/*
 * Clients vanish at every stage of a WRITE: inside the header, inside
 * the data, with a FIN or a reset. Nothing partial is applied, the
 * target keeps serving and leaks no descriptor.
 */
TEST_F(target, client_vanishing_mid_write)
{
	static const struct {
		size_t bytes;		/* of header + 8 blocks sent */
		bool reset;
	} rows[] = {
		/* 0 */ { 1, false },
		/* 1 */ { QREP_REQ_SIZE - 1, false },
		/* 2 */ { QREP_REQ_SIZE, false },
		/* 3 */ { QREP_REQ_SIZE + 1, true },
		/* 4 */ { QREP_REQ_SIZE + 4 * BS, false },
		/* 5 */ { QREP_REQ_SIZE + 8 * BS - 1, true },
		/* 6 */ { QREP_REQ_SIZE + 8 * BS - 1, false },
	};
	struct qrep_req_msg m = {
		.magic = QREP_REQ_MAGIC, .op = QREP_OP_WRITE, .handle = 1,
		.block = 300, .nblocks = 8, .version = 4,
	};
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct qrep_reply_msg rep;
	uint8_t *msg = malloc(QREP_REQ_SIZE + 8 * BS);
	int fd, i, before;

	ASSERT_NE(NULL, msg);
	qrep_req_encode(&m, msg);
	for (i = 0; i < 8; i++)
		fill(msg + QREP_REQ_SIZE + (size_t)i * BS, 300 + i, 4);
	ASSERT_EQ(0, target_start(self));
	before = settled_fds(self->pid);
	ASSERT_LT(0, before);
	for (i = 0; i < (int)(sizeof(rows) / sizeof(rows[0])); i++) {
		fd = cli_open(self->addr, self->uuid, 0);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, qrep_write_full(fd, msg, rows[i].bytes));
		if (rows[i].reset)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	/* Also: vanish with a hello half sent. */
	fd = cli_connect(self->addr);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, qrep_write_full(fd, "QRHL", 4));
	close(fd);

	fd = cli_open(self->addr, self->uuid, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_READ, 0, 0, 300, 8, 0, NULL, &rep,
			      self->versions, self->rbuf));
	ASSERT_EQ(QREP_OK, rep.status);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(0ULL, self->versions[i]) TH_LOG("block %d", 300 + i);
	close(fd);
	EXPECT_EQ(before, settled_fds(self->pid));
	EXPECT_EQ(0, target_stop(self));
	EXPECT_EQ(0, stats_get(self->stats, "write_blocks"));
	free(msg);
}

/* A replica returning corrupt data says so instead. */
TEST_F(target, checksum_error_reply)
{
	struct qrep_reply_msg rep;
	uint64_t data_offset = 4096 + (uint64_t)STORE_BLOCKS * 16;
	uint8_t byte;
	int fd, sfd;

	ASSERT_EQ(0, target_start(self));
	fd = cli_open(self->addr, self->uuid, 0);
	ASSERT_LE(0, fd);
	fill(self->buf, 40, 2);
	fill(self->buf + BS, 41, 2);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, QREP_REQ_FUA, 0, 40, 2, 2,
			      self->buf, &rep, NULL, NULL));
	ASSERT_EQ(QREP_OK, rep.status);
	close(fd);
	ASSERT_EQ(0, target_stop(self));

	sfd = open(self->store, O_RDWR);
	ASSERT_LE(0, sfd);
	ASSERT_EQ(1, pread(sfd, &byte, 1, (off_t)(data_offset + 41 * BS + 9)));
	byte ^= 0x80;
	ASSERT_EQ(1, pwrite(sfd, &byte, 1, (off_t)(data_offset + 41 * BS + 9)));
	close(sfd);

	ASSERT_EQ(0, target_start(self));
	fd = cli_open(self->addr, self->uuid, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_READ, 0, 0, 40, 2, 0, NULL, &rep,
			      self->versions, self->rbuf));
	EXPECT_EQ(QREP_ERR_CHECKSUM, rep.status);
	EXPECT_EQ(0U, rep.nblocks);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_READ, 0, 0, 40, 1, 0, NULL, &rep,
			      self->versions, self->rbuf));
	EXPECT_EQ(QREP_OK, rep.status);
	/* rewriting the block repairs it */
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, 0, 0, 41, 1, 3, self->buf,
			      &rep, NULL, NULL));
	ASSERT_EQ(0, cli_call(fd, QREP_OP_READ, 0, 0, 41, 1, 0, NULL, &rep,
			      self->versions, self->rbuf));
	EXPECT_EQ(QREP_OK, rep.status);
	EXPECT_EQ(3ULL, self->versions[0]);
	close(fd);
	EXPECT_EQ(0, target_stop(self));
	EXPECT_TRUE(file_has(self->log, "block 41 (version 2) fails its "
			     "checksum"));
	EXPECT_EQ(1, stats_get(self->stats, "checksum_errors"));
}

/* Flips one bit of a block's data in the store file, found from its layout. */
static int corrupt_block(const char *store, uint64_t block, uint32_t at)
{
	struct qrep_store *s;
	uint64_t off;
	uint8_t byte;
	int fd, err;

	err = qrep_store_open(store, QREP_STORE_RDONLY, &s, NULL, 0);
	if (err)
		return err;
	off = qrep_store_info(s)->data_offset + block * BS + at;
	qrep_store_close(s);
	fd = open(store, O_RDWR);
	if (fd < 0)
		return -errno;
	err = pread(fd, &byte, 1, (off_t)off) == 1 ? 0 : -EIO;
	byte ^= 0x10;
	if (!err && pwrite(fd, &byte, 1, (off_t)off) != 1)
		err = -EIO;
	close(fd);
	return err;
}

/*
 * VERSIONS, SUMMARY and CHECKSUMS over the wire: the replies' payloads
 * against what was written, ranges refused with the stream kept, and
 * the stats the target keeps for each op.
 */
TEST_F(target, versions_summary_checksums)
{
	static uint64_t model[STORE_BLOCKS];
	static uint8_t meta[QREP_MAX_REQ_BLOCKS * QREP_BLOCK_CHECK_SIZE];
	uint32_t crc_of[8] = { 0 }, crc, flags, i;
	struct qrep_reply_msg rep;
	uint64_t v, b;
	int fd;

	ASSERT_EQ(0, target_start(self));
	fd = cli_open(self->addr, self->uuid, 1);
	ASSERT_LE(0, fd);

	/* 100..103 at 10, then 102 at 12; the last block; one in region 5. */
	for (i = 0; i < 4; i++)
		fill(self->buf + (size_t)i * BS, 100 + i, 10);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, 0, 1, 100, 4, 10, self->buf,
			      &rep, NULL, NULL));
	ASSERT_EQ(QREP_OK, rep.status);
	fill(self->buf, 102, 12);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, 0, 1, 102, 1, 12, self->buf,
			      &rep, NULL, NULL));
	fill(self->buf, STORE_BLOCKS - 1, 3);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, QREP_REQ_FUA, 1,
			      STORE_BLOCKS - 1, 1, 3, self->buf, &rep, NULL,
			      NULL));
	fill(self->buf, 5 * 256 + 7, 0x0807060504030201ULL);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, 0, 1, 5 * 256 + 7, 1,
			      0x0807060504030201ULL, self->buf, &rep, NULL,
			      NULL));
	ASSERT_EQ(QREP_OK, rep.status);
	for (b = 100; b < 104; b++)
		model[b] = b == 102 ? 12 : 10;
	model[STORE_BLOCKS - 1] = 3;
	model[5 * 256 + 7] = 0x0807060504030201ULL;
	for (i = 0; i < 8; i++) {
		b = 98 + i;
		if (model[b]) {
			fill(self->buf, b, model[b]);
			crc_of[i] = qrep_crc32c(0, self->buf, BS);
		}
	}

	/* VERSIONS: metadata only, nblocks entries. */
	ASSERT_EQ(0, cli_call_meta(fd, QREP_OP_VERSIONS, 0, 1, 98, 8, &rep,
				   meta));
	ASSERT_EQ(QREP_OK, rep.status);
	EXPECT_EQ(8U, rep.nblocks);
	EXPECT_EQ(0U, rep.flags);
	EXPECT_EQ(1ULL, rep.epoch);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(model[98 + i], qrep_get_be64(meta + i * 8))
			TH_LOG("block %u", 98 + i);
	ASSERT_EQ(0, cli_call_meta(fd, QREP_OP_VERSIONS, 0, 1,
				   STORE_BLOCKS - 256, 256, &rep, meta));
	ASSERT_EQ(256U, rep.nblocks);
	for (i = 0; i < 256; i++)
		EXPECT_EQ(model[STORE_BLOCKS - 256 + i],
			  qrep_get_be64(meta + i * 8)) TH_LOG("entry %u", i);

	/* SUMMARY: every region at once, then one alone. */
	ASSERT_EQ(0, cli_call_meta(fd, QREP_OP_SUMMARY, 0, 1, 0,
				   STORE_BLOCKS / 256, &rep, meta));
	ASSERT_EQ(QREP_OK, rep.status);
	ASSERT_EQ(STORE_BLOCKS / 256, rep.nblocks);
	for (i = 0; i < STORE_BLOCKS / 256; i++)
		EXPECT_EQ(expect_summary(model + i * 256, 256),
			  qrep_get_be64(meta + i * 8)) TH_LOG("region %u", i);
	/* Regions 2..4 hold nothing, region 5 one block. */
	EXPECT_EQ(qrep_get_be64(meta + 2 * 8), qrep_get_be64(meta + 3 * 8));
	EXPECT_NE(qrep_get_be64(meta + 2 * 8), qrep_get_be64(meta + 5 * 8));
	ASSERT_EQ(0, cli_call_meta(fd, QREP_OP_SUMMARY, 0, 1, 5 * 256, 1,
				   &rep, meta));
	ASSERT_EQ(1U, rep.nblocks);
	EXPECT_EQ(expect_summary(model + 5 * 256, 256), qrep_get_be64(meta));

	/* CHECKSUMS: version, recorded crc (0 if never written), no flag. */
	ASSERT_EQ(0, cli_call_meta(fd, QREP_OP_CHECKSUMS, 0, 1, 98, 8, &rep,
				   meta));
	ASSERT_EQ(QREP_OK, rep.status);
	ASSERT_EQ(8U, rep.nblocks);
	for (i = 0; i < 8; i++) {
		check_entry(meta, i, &v, &crc, &flags);
		EXPECT_EQ(model[98 + i], v) TH_LOG("block %u", 98 + i);
		EXPECT_EQ(crc_of[i], crc) TH_LOG("block %u", 98 + i);
		EXPECT_EQ(0U, flags) TH_LOG("block %u", 98 + i);
	}

	/* Out of range: an error without payload, the stream in step. */
	ASSERT_EQ(0, cli_call_meta(fd, QREP_OP_VERSIONS, 0, 1,
				   STORE_BLOCKS - 1, 2, &rep, meta));
	EXPECT_EQ(QREP_ERR_RANGE, rep.status);
	EXPECT_EQ(0U, rep.nblocks);
	ASSERT_EQ(0, cli_call_meta(fd, QREP_OP_SUMMARY, 0, 1, 0,
				   STORE_BLOCKS / 256 + 1, &rep, meta));
	EXPECT_EQ(QREP_ERR_RANGE, rep.status);
	EXPECT_EQ(0U, rep.nblocks);
	ASSERT_EQ(0, cli_call_meta(fd, QREP_OP_SUMMARY, 0, 1, STORE_BLOCKS, 1,
				   &rep, meta));
	EXPECT_EQ(QREP_ERR_RANGE, rep.status);
	ASSERT_EQ(0, cli_call_meta(fd, QREP_OP_CHECKSUMS, 0, 1, STORE_BLOCKS,
				   1, &rep, meta));
	EXPECT_EQ(QREP_ERR_RANGE, rep.status);
	EXPECT_EQ(0U, rep.nblocks);
	/* Fenced like any other request. */
	ASSERT_EQ(0, cli_call_meta(fd, QREP_OP_VERSIONS, 0, 0, 98, 8, &rep,
				   meta));
	EXPECT_EQ(QREP_ERR_EPOCH, rep.status);
	EXPECT_EQ(0U, rep.nblocks);
	ASSERT_EQ(0, cli_call_meta(fd, QREP_OP_SUMMARY, 0, 1,
				   STORE_BLOCKS - 256, 1, &rep, meta));
	EXPECT_EQ(QREP_OK, rep.status);
	EXPECT_EQ(expect_summary(model + STORE_BLOCKS - 256, 256),
		  qrep_get_be64(meta));
	close(fd);
	EXPECT_EQ(0, target_stop(self));

	/* Header and payload counted per op. */
	EXPECT_EQ(4, stats_get(self->stats, "versions_requests"));
	EXPECT_EQ(2, stats_get(self->stats, "versions_errors"));
	EXPECT_EQ(4 * QREP_REPLY_SIZE + (8 + 256) * 8,
		  stats_get(self->stats, "versions_bytes_sent"));
	EXPECT_EQ(4 * QREP_REQ_SIZE,
		  stats_get(self->stats, "versions_bytes_received"));
	EXPECT_EQ(5, stats_get(self->stats, "summary_requests"));
	EXPECT_EQ(2, stats_get(self->stats, "summary_errors"));
	EXPECT_EQ(5 * QREP_REPLY_SIZE + (STORE_BLOCKS / 256 + 1 + 1) * 8,
		  stats_get(self->stats, "summary_bytes_sent"));
	EXPECT_EQ(2, stats_get(self->stats, "checksums_requests"));
	EXPECT_EQ(1, stats_get(self->stats, "checksums_errors"));
	EXPECT_EQ(2 * QREP_REPLY_SIZE + 8 * QREP_BLOCK_CHECK_SIZE,
		  stats_get(self->stats, "checksums_bytes_sent"));
	EXPECT_EQ(0, stats_get(self->stats, "checksum_errors"));
	EXPECT_EQ(0, stats_get(self->stats, "requests_malformed"));
}

/*
 * A corrupt block: CHECKSUMS answers QREP_OK and flags it, READ refuses
 * it, a plain WRITE of the same version leaves it, an older one with
 * REPAIR too, and a WRITE with REPAIR at its own version makes it good.
 */
TEST_F(target, checksums_flag_bad_block_and_repair_fixes_it)
{
	static uint8_t meta[QREP_MAX_REQ_BLOCKS * QREP_BLOCK_CHECK_SIZE];
	uint32_t good_crc[4], crc, flags, i;
	struct qrep_reply_msg rep;
	uint64_t v;
	int fd;

	ASSERT_EQ(0, target_start(self));
	fd = cli_open(self->addr, self->uuid, 0);
	ASSERT_LE(0, fd);
	for (i = 0; i < 4; i++) {
		fill(self->buf + (size_t)i * BS, 40 + i, 2);
		good_crc[i] = qrep_crc32c(0, self->buf + (size_t)i * BS, BS);
	}
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, QREP_REQ_FUA, 0, 40, 4, 2,
			      self->buf, &rep, NULL, NULL));
	ASSERT_EQ(QREP_OK, rep.status);
	/* The target reads through the page cache: no restart needed. */
	ASSERT_EQ(0, corrupt_block(self->store, 41, 2049));

	ASSERT_EQ(0, cli_call_meta(fd, QREP_OP_CHECKSUMS, 0, 0, 40, 4, &rep,
				   meta));
	EXPECT_EQ(QREP_OK, rep.status);
	ASSERT_EQ(4U, rep.nblocks);
	for (i = 0; i < 4; i++) {
		check_entry(meta, i, &v, &crc, &flags);
		EXPECT_EQ(2ULL, v);
		EXPECT_EQ(good_crc[i], crc) TH_LOG("block %u", 40 + i);
		EXPECT_EQ(i == 1 ? QREP_CHECK_BAD : 0U, flags)
			TH_LOG("block %u", 40 + i);
	}
	ASSERT_EQ(0, cli_call(fd, QREP_OP_READ, 0, 0, 41, 1, 0, NULL, &rep,
			      self->versions, self->rbuf));
	EXPECT_EQ(QREP_ERR_CHECKSUM, rep.status);

	/* Same version, no REPAIR: ignored, still bad. */
	fill(self->buf, 41, 2);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, 0, 0, 41, 1, 2, self->buf,
			      &rep, NULL, NULL));
	EXPECT_EQ(QREP_OK, rep.status);
	EXPECT_EQ(QREP_REPLY_OLDER_IGNORED, rep.flags);
	/* Older, with REPAIR: ignored, still bad. */
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, QREP_REQ_REPAIR, 0, 41, 1, 1,
			      self->buf, &rep, NULL, NULL));
	EXPECT_EQ(QREP_OK, rep.status);
	EXPECT_EQ(QREP_REPLY_OLDER_IGNORED, rep.flags);
	ASSERT_EQ(0, cli_call_meta(fd, QREP_OP_CHECKSUMS, 0, 0, 41, 1, &rep,
				   meta));
	EXPECT_EQ(QREP_OK, rep.status);
	check_entry(meta, 0, &v, &crc, &flags);
	EXPECT_EQ(2ULL, v);
	EXPECT_EQ(QREP_CHECK_BAD, flags);

	/* Its own version with REPAIR, over a good neighbour too: fixed. */
	fill(self->buf, 40, 2);
	fill(self->buf + BS, 41, 2);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, QREP_REQ_REPAIR | QREP_REQ_FUA,
			      0, 40, 2, 2, self->buf, &rep, NULL, NULL));
	EXPECT_EQ(QREP_OK, rep.status);
	EXPECT_EQ(0U, rep.flags);
	ASSERT_EQ(0, cli_call_meta(fd, QREP_OP_CHECKSUMS, 0, 0, 40, 4, &rep,
				   meta));
	ASSERT_EQ(4U, rep.nblocks);
	for (i = 0; i < 4; i++) {
		check_entry(meta, i, &v, &crc, &flags);
		EXPECT_EQ(2ULL, v);
		EXPECT_EQ(good_crc[i], crc);
		EXPECT_EQ(0U, flags) TH_LOG("block %u", 40 + i);
	}
	ASSERT_EQ(0, cli_call(fd, QREP_OP_READ, 0, 0, 40, 4, 0, NULL, &rep,
			      self->versions, self->rbuf));
	ASSERT_EQ(QREP_OK, rep.status);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(2ULL, self->versions[i]);
		EXPECT_TRUE(is_fill(self->rbuf + (size_t)i * BS, 40 + i, 2));
	}

	/* A newer version is never replaced by REPAIR at an older one. */
	fill(self->buf, 42, 7);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, 0, 0, 42, 1, 7, self->buf,
			      &rep, NULL, NULL));
	fill(self->buf, 42, 2);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, QREP_REQ_REPAIR, 0, 42, 1, 2,
			      self->buf, &rep, NULL, NULL));
	EXPECT_EQ(QREP_REPLY_OLDER_IGNORED, rep.flags);
	ASSERT_EQ(0, cli_call(fd, QREP_OP_READ, 0, 0, 42, 1, 0, NULL, &rep,
			      self->versions, self->rbuf));
	EXPECT_EQ(7ULL, self->versions[0]);
	EXPECT_TRUE(is_fill(self->rbuf, 42, 7));
	close(fd);
	EXPECT_EQ(0, target_stop(self));

	/* CHECKSUMS found a bad block twice, READ once; none was an error. */
	EXPECT_EQ(3, stats_get(self->stats, "checksum_errors"));
	EXPECT_EQ(0, stats_get(self->stats, "checksums_errors"));
	EXPECT_EQ(1, stats_get(self->stats, "read_errors"));
	EXPECT_EQ(3, stats_get(self->stats, "write_blocks_ignored"));
	EXPECT_TRUE(file_has(self->log, "block 41 (version 2) fails its "
			     "checksum"));
}

/* The stats file counts exactly what crossed the wire. */
TEST_F(target, stats_file_counts)
{
	struct qrep_reply_msg rep;
	int fd, i;

	ASSERT_EQ(0, target_start(self));
	EXPECT_EQ(0, stats_get(self->stats, "bytes_received"));
	fd = cli_open(self->addr, self->uuid, 0);
	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, cli_call(fd, QREP_OP_WRITE, 0, 0, 10 * (uint64_t)i,
				      5, 1, self->buf, &rep, NULL, NULL));
	}
	ASSERT_EQ(0, cli_call(fd, QREP_OP_READ, 0, 0, 0, 2, 0, NULL, &rep,
			      self->versions, self->rbuf));
	ASSERT_EQ(0, cli_call(fd, QREP_OP_FLUSH, 0, 0, 0, 0, 0, NULL, &rep,
			      NULL, NULL));
	close(fd);
	/* the periodic rewrite sees it too */
	for (i = 0; i < 100 && stats_get(self->stats, "write_blocks") != 15;
	     i++)
		sleep_ms(POLL_STEP_MS * 5);
	EXPECT_EQ(15, stats_get(self->stats, "write_blocks"));
	EXPECT_EQ(0, target_stop(self));

	EXPECT_EQ(15, stats_get(self->stats, "write_blocks"));
	EXPECT_EQ(3, stats_get(self->stats, "write_requests"));
	EXPECT_EQ(2, stats_get(self->stats, "read_blocks"));
	EXPECT_EQ(1, stats_get(self->stats, "flush_requests"));
	EXPECT_EQ(QREP_HELLO_SIZE + 5 * QREP_REQ_SIZE + 15 * BS,
		  stats_get(self->stats, "bytes_received"));
	EXPECT_EQ(QREP_HELLO_REPLY_SIZE + 5 * QREP_REPLY_SIZE + 2 * (8 + BS),
		  stats_get(self->stats, "bytes_sent"));
	EXPECT_EQ(3 * (QREP_REQ_SIZE + 5 * BS),
		  stats_get(self->stats, "write_bytes_received"));
	EXPECT_EQ(QREP_REPLY_SIZE + 2 * (8 + BS),
		  stats_get(self->stats, "read_bytes_sent"));
	EXPECT_EQ(0, stats_get(self->stats, "connections_active"));
}

/* SIGTERM with requests in flight: all answered, store left clean. */
TEST_F(target, clean_shutdown_with_requests_in_flight)
{
	char *info[] = { self->bin, "info", "--store", self->store, NULL };
	char out[PATH_MAX];
	struct qrep_reply_msg rep;
	int fd, i, answered = 0;

	ASSERT_EQ(0, target_start(self));
	fd = cli_open(self->addr, self->uuid, 0);
	ASSERT_LE(0, fd);
	for (i = 0; i < 16; i++)
		ASSERT_EQ(0, cli_send(fd, QREP_OP_WRITE, 0, (uint64_t)i, 0,
				      (uint64_t)i * 64, 64, 2, self->buf));
	kill(self->pid, SIGTERM);
	/* Each request sent before the signal is answered or never read. */
	while (cli_recv(fd, &rep, NULL, NULL) == 0) {
		EXPECT_EQ(QREP_OK, rep.status);
		answered++;
	}
	close(fd);
	EXPECT_EQ(0, wait_exit(self->pid));
	self->pid = 0;
	TH_LOG("%d of 16 writes answered before the stop", answered);

	snprintf(out, sizeof(out), "%s/info.out", self->dir);
	ASSERT_EQ(0, run(info, out, (uid_t)-1));
	EXPECT_TRUE(file_has(out, "clean:          yes"));
	EXPECT_TRUE(file_has(self->log, "marked clean"));
}

/* The CLI's errors: each a clear message and a non-zero exit. */
TEST_F(target, cli_errors)
{
	char missing[PATH_MAX], junk[PATH_MAX], out[PATH_MAX], busy[64];
	char *serve_missing[] = { self->bin, "serve", "--store", missing,
				  "--listen", "127.0.0.1:1", NULL };
	char *serve_junk[] = { self->bin, "serve", "--store", junk,
			       "--listen", "127.0.0.1:1", NULL };
	char *serve_busy[] = { self->bin, "serve", "--store", self->store,
			       "--listen", busy, NULL };
	char *serve_noaddr[] = { self->bin, "serve", "--store", self->store,
				 "--listen", "localhost", NULL };
	char *serve_perm[] = { self->bin, "serve", "--store", self->store,
			       "--listen", "127.0.0.1:1", NULL };
	char *init_again[] = { self->bin, "init", "--store", self->store,
			       "--size", "16M", NULL };
	char *init_bad[] = { self->bin, "init", "--store", junk, "--size",
			     "12x", NULL };
	char *no_cmd[] = { self->bin, "frobnicate", NULL };
	struct passwd *nobody;
	int lfd, fd;

	snprintf(missing, sizeof(missing), "%s/missing", self->dir);
	snprintf(junk, sizeof(junk), "%s/junk", self->dir);
	snprintf(out, sizeof(out), "%s/cli.out", self->dir);
	fd = open(junk, O_CREAT | O_WRONLY, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 1 << 20));
	close(fd);

	EXPECT_EQ(1, run(serve_missing, out, (uid_t)-1));
	EXPECT_TRUE(file_has(out, "no such file"));
	EXPECT_EQ(1, run(serve_junk, out, (uid_t)-1));
	EXPECT_TRUE(file_has(out, "not a qrep store"));
	EXPECT_EQ(1, run(init_again, out, (uid_t)-1));
	EXPECT_TRUE(file_has(out, "already holds a qrep store"));
	EXPECT_EQ(2, run(init_bad, out, (uid_t)-1));
	EXPECT_EQ(2, run(serve_noaddr, out, (uid_t)-1));
	EXPECT_EQ(2, run(no_cmd, out, (uid_t)-1));

	/* wrong size: the file no longer matches its header */
	ASSERT_EQ(0, truncate(junk, 0));
	ASSERT_EQ(0, target_init_store(self, junk, 1 << 20));
	ASSERT_EQ(0, truncate(junk, (1 << 20) + 8192 + 4096));
	EXPECT_EQ(1, run(serve_junk, out, (uid_t)-1));
	EXPECT_TRUE(file_has(out, "size mismatch"));

	/* port in use */
	lfd = qrep_listen("127.0.0.1:0", 1);
	ASSERT_LE(0, lfd);
	qrep_sock_name(lfd, false, busy, sizeof(busy));
	EXPECT_EQ(1, run(serve_busy, out, (uid_t)-1));
	EXPECT_TRUE(file_has(out, "address already in use"));
	close(lfd);

	/* permission denied: an unprivileged user cannot open it */
	nobody = getpwnam("nobody");
	if (geteuid() == 0 && nobody) {
		EXPECT_EQ(1, run(serve_perm, out, nobody->pw_uid));
		EXPECT_TRUE(file_has(out, "permission denied"));
	} else {
		TH_LOG("not root: permission case not run");
	}
}

/* Counts lines of a file that contain needle. */
static int count_lines(const char *path, const char *needle)
{
	char line[512];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static int store_put(const char *path, uint64_t block, uint64_t version,
		     uint8_t *buf)
{
	struct qrep_store *s;
	int err;

	err = qrep_store_open(path, 0, &s, NULL, 0);
	if (err)
		return err;
	fill(buf, block, version);
	err = qrep_store_write(s, block, 1, buf, version, 0, NULL);
	if (!err)
		err = qrep_store_close(s);
	else
		qrep_store_close(s);
	return err;
}

/* qrep-store versions / compare / check on stores written directly. */
TEST_F(target, store_tool)
{
	char tool[PATH_MAX + 16], b[PATH_MAX], out[PATH_MAX], *slash;
	char *versions[] = { tool, "versions", "--store", self->store,
			     "--from", "5", "--count", "4", NULL };
	char *written[] = { tool, "versions", "--store", self->store,
			    "--written", NULL };
	char *compare[] = { tool, "compare", self->store, b, NULL };
	char *check[] = { tool, "check", "--store", self->store, NULL };
	uint64_t data_offset = 4096 + (uint64_t)STORE_BLOCKS * 16;
	uint8_t byte = 0xff;
	int fd, i;

	snprintf(tool, sizeof(tool), "%s", self->bin);
	slash = strrchr(tool, '/');
	ASSERT_NE(NULL, slash);
	strcpy(slash + 1, "qrep-store");
	ASSERT_EQ(0, access(tool, X_OK))
		TH_LOG("no %s (make userspace)", tool);
	snprintf(b, sizeof(b), "%s/replica-b", self->dir);
	snprintf(out, sizeof(out), "%s/tool.out", self->dir);
	ASSERT_EQ(0, target_init_store(self, b, STORE_SIZE));

	/* identical: both empty, then both with the same writes */
	EXPECT_EQ(0, run(compare, out, (uid_t)-1));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, store_put(self->store, 6 + (uint64_t)i, 4,
				       self->buf));
		ASSERT_EQ(0, store_put(b, 6 + (uint64_t)i, 4, self->buf));
	}
	ASSERT_EQ(0, store_put(self->store, STORE_BLOCKS - 1, 9, self->buf));
	ASSERT_EQ(0, store_put(b, STORE_BLOCKS - 1, 9, self->buf));
	EXPECT_EQ(0, run(compare, out, (uid_t)-1));
	EXPECT_TRUE(file_has(out, "0 differing blocks"));

	/* versions: one line per block */
	unlink(out);
	EXPECT_EQ(0, run(versions, out, (uid_t)-1));
	EXPECT_TRUE(file_has(out, "5 0 crc-ok\n6 4 crc-ok\n7 4 crc-ok\n"
			     "8 4 crc-ok\n"));
	EXPECT_EQ(4, count_lines(out, "crc-ok"));
	unlink(out);
	EXPECT_EQ(0, run(written, out, (uid_t)-1));
	EXPECT_EQ(4, count_lines(out, " crc-ok"));
	EXPECT_TRUE(file_has(out, "4095 9 crc-ok"));

	/* a newer version on one side; then 25 blocks only on one side */
	ASSERT_EQ(0, store_put(b, 7, 5, self->buf));
	unlink(out);
	EXPECT_EQ(1, run(compare, out, (uid_t)-1));
	EXPECT_TRUE(file_has(out, "block 7:"));
	EXPECT_TRUE(file_has(out, "1 differing blocks"));
	for (i = 0; i < 25; i++)
		ASSERT_EQ(0, store_put(self->store, 1000 + (uint64_t)i, 2,
				       self->buf));
	unlink(out);
	EXPECT_EQ(1, run(compare, out, (uid_t)-1));
	EXPECT_EQ(20, count_lines(out, "block "));
	EXPECT_TRUE(file_has(out, "26 differing blocks"));

	/* check: clean, then one flipped byte */
	unlink(out);
	EXPECT_EQ(0, run(check, out, (uid_t)-1));
	EXPECT_TRUE(file_has(out, "29 written blocks checked, 0 with a bad"));
	fd = open(self->store, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, pwrite(fd, &byte, 1, (off_t)(data_offset + 1010 * BS)));
	close(fd);
	unlink(out);
	EXPECT_EQ(1, run(check, out, (uid_t)-1));
	EXPECT_TRUE(file_has(out, "1010 2 crc-bad"));
	EXPECT_TRUE(file_has(out, "1 with a bad checksum"));
}

/*
 * Not a pass/fail check: a throughput figure through loopback with this
 * test's simple pipelined client, on tmpfs when /dev/shm exists.
 */
static double pipelined(int fd, uint16_t op, uint32_t nblocks, int depth,
			uint64_t total_reqs, uint8_t *buf, uint64_t *versions,
			uint8_t *rbuf, uint64_t span)
{
	struct qrep_reply_msg rep;
	uint64_t sent = 0, done = 0;
	double t0 = now_s();

	while (done < total_reqs) {
		while (sent < total_reqs && sent - done < (uint64_t)depth) {
			uint64_t blk = (sent * nblocks) % span;

			if (cli_send(fd, op, 0, sent, 0, blk, nblocks, 7, buf))
				return -1;
			sent++;
		}
		if (cli_recv(fd, &rep, versions, rbuf) ||
		    rep.status != QREP_OK)
			return -1;
		done++;
	}
	return now_s() - t0;
}

TEST_F_TIMEOUT(target, throughput_report, 120)
{
	const uint64_t mib = 256, span = (64ULL << 20) / BS;
	char *store = self->shm_store;
	double secs;
	int fd;

	if (!access("/dev/shm", W_OK))
		snprintf(store, sizeof(self->shm_store),
			 "/dev/shm/qrep-e2e-%d", (int)getpid());
	else
		snprintf(store, sizeof(self->shm_store), "%s/big", self->dir);
	ASSERT_EQ(0, target_init_store(self, store, STORE_SIZE * 4));
	ASSERT_EQ(0, target_start_store(self, store, "4"));
	fd = cli_open_sized(self->addr, self->uuid, STORE_SIZE * 4, 0);
	ASSERT_LE(0, fd);
	memset(self->buf, 0x5a, (size_t)QREP_MAX_REQ_BLOCKS * BS);

	secs = pipelined(fd, QREP_OP_WRITE, 256, 8, mib, self->buf,
			 self->versions, self->rbuf, span);
	EXPECT_LT(0, secs);
	TH_LOG("1 MiB writes, depth 8: %.0f MiB/s", mib / secs);
	secs = pipelined(fd, QREP_OP_READ, 256, 8, mib, self->buf,
			 self->versions, self->rbuf, span);
	EXPECT_LT(0, secs);
	TH_LOG("1 MiB reads, depth 8: %.0f MiB/s", mib / secs);
	secs = pipelined(fd, QREP_OP_WRITE, 1, 32, 20000, self->buf,
			 self->versions, self->rbuf, span);
	EXPECT_LT(0, secs);
	TH_LOG("4 KiB writes, depth 32: %.0f IOPS", 20000 / secs);
	secs = pipelined(fd, QREP_OP_READ, 1, 32, 20000, self->buf,
			 self->versions, self->rbuf, span);
	EXPECT_LT(0, secs);
	TH_LOG("4 KiB reads, depth 32: %.0f IOPS", 20000 / secs);
	secs = pipelined(fd, QREP_OP_WRITE, 1, 1, 5000, self->buf,
			 self->versions, self->rbuf, span);
	EXPECT_LT(0, secs);
	TH_LOG("4 KiB writes, depth 1: %.0f IOPS (%.0f us each)",
	       5000 / secs, secs / 5000 * 1e6);
	close(fd);
	EXPECT_EQ(0, target_stop(self));
}

TEST_HARNESS_MAIN
