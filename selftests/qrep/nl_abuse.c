// SPDX-License-Identifier: GPL-2.0
/*
 * The qrep netlink family under hostile or careless callers: missing,
 * oversized, wrongly typed, unknown, wrongly nested and truncated
 * attributes must each get a clear error and create nothing; an
 * unprivileged caller must get EPERM for every command that changes
 * state or listens to events. Runs as root inside a VM with qrep.ko loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/qrep.h>
#include <linux/qrep_proto.h>
#include <linux/qrep_quorum.h>

#include "kselftest_harness.h"
#include "genl.h"

/* How long to wait for an answer the kernel may never send. */
#define NO_REPLY_TIMEOUT_SEC	2
#define NOBODY_UID		65534

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(*(int *)data)++;
	return MNL_CB_OK;
}

static int count_devices(struct qrep_genl *g)
{
	struct nlmsghdr *nlh = qrep_genl_request(g, QREP_CMD_DEV_GET, NLM_F_DUMP);
	int count = 0;
	int ret = qrep_genl_talk(g, nlh, count_cb, &count);

	return ret ? ret : count;
}

/* One malformed DEV_CREATE: what to put in it and what must come back. */
struct bad_create {
	const char *what;
	void (*fill)(struct nlmsghdr *nlh);
	int expect;		/* negative errno */
};

static void fill_nothing(struct nlmsghdr *nlh) { (void)nlh; }

static void fill_size_u32(struct nlmsghdr *nlh)
{
	mnl_attr_put_u32(nlh, QREP_A_DEV_SIZE, 1 << 20);
}

static void fill_size_zero(struct nlmsghdr *nlh)
{
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 0);
}

static void fill_size_unaligned(struct nlmsghdr *nlh)
{
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, (1 << 20) + 512);
}

static void fill_size_huge(struct nlmsghdr *nlh)
{
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1ULL << 62);
}

static void fill_uuid_long(struct nlmsghdr *nlh)
{
	char uuid[QREP_UUID_SIZE + 1] = { 0 };

	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
	mnl_attr_put(nlh, QREP_A_DEV_UUID, sizeof(uuid), uuid);
}

static void fill_uuid_short(struct nlmsghdr *nlh)
{
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
	mnl_attr_put(nlh, QREP_A_DEV_UUID, 4, "abcd");
}

static void fill_uuid_oversized(struct nlmsghdr *nlh)
{
	static char big[4000];

	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
	mnl_attr_put(nlh, QREP_A_DEV_UUID, sizeof(big), big);
}

static void fill_index_out_of_range(struct nlmsghdr *nlh)
{
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, QREP_MAX_DEVICES);
}

static void fill_index_u8(struct nlmsghdr *nlh)
{
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
	mnl_attr_put_u8(nlh, QREP_A_DEV_INDEX, 1);
}

static void fill_mode_unknown(struct nlmsghdr *nlh)
{
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
	mnl_attr_put_u32(nlh, QREP_A_DEV_MODE, 99);
}

static void fill_unknown_attr(struct nlmsghdr *nlh)
{
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
	mnl_attr_put_u32(nlh, QREP_A_MAX + 7, 1);
}

static void fill_size_nested(struct nlmsghdr *nlh)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, QREP_A_DEV_SIZE);

	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
	mnl_attr_nest_end(nlh, nest);
}

/* An attribute whose length runs past the end of the message. */
static void fill_truncated_attr(struct nlmsghdr *nlh)
{
	struct nlattr *attr;

	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
	attr = (struct nlattr *)((char *)nlh + nlh->nlmsg_len -
				 MNL_ALIGN(sizeof(struct nlattr) + 8));
	attr->nla_len = 64;
}

static const struct bad_create bad_creates[] = {
	/*  1 */ { "no size", fill_nothing, -EINVAL },
	/*  2 */ { "size as u32", fill_size_u32, -EINVAL },
	/*  3 */ { "size zero", fill_size_zero, -ERANGE },
	/*  4 */ { "size not a block multiple", fill_size_unaligned, -EINVAL },
	/*  5 */ { "size beyond the maximum", fill_size_huge, -ERANGE },
	/*  6 */ { "uuid 17 bytes", fill_uuid_long, -ERANGE },
	/*  7 */ { "uuid 4 bytes", fill_uuid_short, -ERANGE },
	/*  8 */ { "uuid 4000 bytes", fill_uuid_oversized, -ERANGE },
	/*  9 */ { "index out of range", fill_index_out_of_range, -ERANGE },
	/* 10 */ { "index as u8", fill_index_u8, -EINVAL },
	/* 11 */ { "unknown mode", fill_mode_unknown, -ERANGE },
	/* 12 */ { "unknown attribute", fill_unknown_attr, -EINVAL },
	/* 13 */ { "size wrongly nested", fill_size_nested, -EINVAL },
	/* 14 */ { "attribute past the message end", fill_truncated_attr, -EINVAL },
};

FIXTURE(nl) {
	struct qrep_genl g;
};

FIXTURE_SETUP(nl)
{
	ASSERT_EQ(0, qrep_genl_open(&self->g)) TH_LOG("%s", self->g.error);
	ASSERT_EQ(0, count_devices(&self->g)) TH_LOG("devices left over");
}

FIXTURE_TEARDOWN(nl)
{
	qrep_genl_close(&self->g);
}

TEST_F(nl, malformed_create_is_refused)
{
	size_t i;

	for (i = 0; i < sizeof(bad_creates) / sizeof(bad_creates[0]); i++) {
		const struct bad_create *row = &bad_creates[i];
		struct nlmsghdr *nlh;
		int ret;

		nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_CREATE, 0);
		row->fill(nlh);
		ret = qrep_genl_talk(&self->g, nlh, NULL, NULL);
		TH_LOG("row %zu (%s): %s [%s]", i + 1, row->what,
		       strerror(-ret), self->g.error);
		EXPECT_EQ(row->expect, ret);
		EXPECT_EQ(0, count_devices(&self->g));
	}
}

/* A quorum create with N replicas, W and R (0: not sent). */
static int quorum_create(struct qrep_genl *g, uint32_t n, uint32_t w,
			 uint32_t r)
{
	struct nlmsghdr *nlh = qrep_genl_request(g, QREP_CMD_DEV_CREATE, 0);

	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
	mnl_attr_put_u32(nlh, QREP_A_DEV_MODE, QREP_MODE_QUORUM);
	if (n)
		mnl_attr_put_u32(nlh, QREP_A_DEV_REPLICAS, n);
	if (w)
		mnl_attr_put_u32(nlh, QREP_A_DEV_WRITE_QUORUM, w);
	if (r)
		mnl_attr_put_u32(nlh, QREP_A_DEV_READ_QUORUM, r);
	return qrep_genl_talk(g, nlh, NULL, NULL);
}

/* The kernel refuses what the tools refuse, with the rule's own words. */
TEST_F(nl, quorum_settings_are_checked)
{
	struct nlmsghdr *nlh;

	EXPECT_EQ(-EINVAL, quorum_create(&self->g, 0, 0, 0));
	EXPECT_NE(NULL, strstr(self->g.error, "number of replicas"));
	EXPECT_EQ(-EINVAL, quorum_create(&self->g, 3, 1, 3));
	EXPECT_NE(NULL, strstr(self->g.error, "2W > N"));
	EXPECT_EQ(-EINVAL, quorum_create(&self->g, 3, 2, 1));
	EXPECT_NE(NULL, strstr(self->g.error, "R + W > N"));
	EXPECT_EQ(-EINVAL, quorum_create(&self->g, 3, 4, 0));
	EXPECT_EQ(0, count_devices(&self->g));

	/* Quorum settings on a mirror device are a mistake, not ignored. */
	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_CREATE, 0);
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
	mnl_attr_put_u32(nlh, QREP_A_DEV_WRITE_QUORUM, 2);
	EXPECT_EQ(-EINVAL, qrep_genl_talk(&self->g, nlh, NULL, NULL));
	EXPECT_NE(NULL, strstr(self->g.error, "quorum mode"));
	EXPECT_EQ(0, count_devices(&self->g));

	/* Write-all/read-one is a setting like any other. */
	EXPECT_EQ(0, quorum_create(&self->g, 3, 3, 1));
	EXPECT_EQ(1, count_devices(&self->g));
	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_DESTROY, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	EXPECT_EQ(0, qrep_genl_talk(&self->g, nlh, NULL, NULL));
}

TEST_F(nl, error_messages_are_clear)
{
	struct nlmsghdr *nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_CREATE, 0);

	fill_size_unaligned(nlh);
	EXPECT_EQ(-EINVAL, qrep_genl_talk(&self->g, nlh, NULL, NULL));
	EXPECT_NE(NULL, strstr(self->g.error, "multiple of 4096"));

	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_DESTROY, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 5);
	EXPECT_EQ(-ENODEV, qrep_genl_talk(&self->g, nlh, NULL, NULL));
	EXPECT_NE(NULL, strstr(self->g.error, "no such device"));

	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_DESTROY, 0);
	EXPECT_EQ(-EINVAL, qrep_genl_talk(&self->g, nlh, NULL, NULL));
	EXPECT_NE(NULL, strstr(self->g.error, "index is required"));
}

/* The resync commands: strict attributes, clear errors, nothing changed. */
TEST_F(nl, resync_commands_checked)
{
	struct nlmsghdr *nlh;
	uint32_t junk = 0;

	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_CREATE, 0);
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 4 << 20);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	ASSERT_EQ(0, qrep_genl_talk(&self->g, nlh, NULL, NULL));

	/* No phase, no instance. */
	nlh = qrep_genl_request(&self->g, QREP_CMD_RESYNC_UPDATE, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	mnl_attr_put_u32(nlh, QREP_A_REPLICA_ID, 0);
	EXPECT_EQ(-EINVAL, qrep_genl_talk(&self->g, nlh, NULL, NULL));
	EXPECT_NE(NULL, strstr(self->g.error, "phase and the replica's instance"));

	/* A phase out of range: the policy refuses it. */
	nlh = qrep_genl_request(&self->g, QREP_CMD_RESYNC_UPDATE, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	mnl_attr_put_u32(nlh, QREP_A_REPLICA_ID, 0);
	mnl_attr_put_u64(nlh, QREP_A_REPLICA_INSTANCE, 1);
	mnl_attr_put_u32(nlh, QREP_A_RESYNC_PHASE, 9);
	EXPECT_EQ(-ERANGE, qrep_genl_talk(&self->g, nlh, NULL, NULL));

	/* A well-formed update for a slot with no replica. */
	nlh = qrep_genl_request(&self->g, QREP_CMD_RESYNC_UPDATE, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	mnl_attr_put_u32(nlh, QREP_A_REPLICA_ID, 3);
	mnl_attr_put_u64(nlh, QREP_A_REPLICA_INSTANCE, 1);
	mnl_attr_put_u32(nlh, QREP_A_RESYNC_PHASE, QREP_RESYNC_FINISH);
	EXPECT_EQ(-ENOENT, qrep_genl_talk(&self->g, nlh, NULL, NULL));
	EXPECT_NE(NULL, strstr(self->g.error, "no replica in this slot"));

	/* A bitmap is output only. */
	nlh = qrep_genl_request(&self->g, QREP_CMD_RESYNC_GET, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	mnl_attr_put_u32(nlh, QREP_A_REPLICA_ID, 0);
	mnl_attr_put(nlh, QREP_A_RESYNC_BITMAP, sizeof(junk), &junk);
	EXPECT_EQ(-EINVAL, qrep_genl_talk(&self->g, nlh, NULL, NULL));
	EXPECT_NE(NULL, strstr(self->g.error, "read-only"));

	/* A region past the end of the device. */
	nlh = qrep_genl_request(&self->g, QREP_CMD_RESYNC_GET, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	mnl_attr_put_u32(nlh, QREP_A_REPLICA_ID, 0);
	mnl_attr_put_u64(nlh, QREP_A_RESYNC_START, 4);
	EXPECT_EQ(-ERANGE, qrep_genl_talk(&self->g, nlh, NULL, NULL));
	EXPECT_NE(NULL, strstr(self->g.error, "beyond the end"));

	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_DESTROY, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	EXPECT_EQ(0, qrep_genl_talk(&self->g, nlh, NULL, NULL));
}

/* DEV_SET of device 0 with a role and an epoch (0: not sent). */
static int dev_set(struct qrep_genl *g, uint32_t role, uint64_t epoch)
{
	struct nlmsghdr *nlh = qrep_genl_request(g, QREP_CMD_DEV_SET, 0);

	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	if (role)
		mnl_attr_put_u32(nlh, QREP_A_DEV_ROLE, role);
	if (epoch)
		mnl_attr_put_u64(nlh, QREP_A_DEV_EPOCH, epoch);
	return qrep_genl_talk(g, nlh, NULL, NULL);
}

/* /sys/block/qrep0/qrep/epoch, or 0. */
static uint64_t sysfs_epoch(void)
{
	unsigned long long v = 0;
	FILE *f = fopen("/sys/block/qrep0/qrep/epoch", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* Opens /dev/qrep0 for writing: 0 or -errno. */
static int open_for_write(void)
{
	int fd = open("/dev/qrep0", O_WRONLY);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/*
 * DEV_SET: the index is required, the role must be known, a new epoch
 * larger than the device's (and in quorum mode small enough); a
 * secondary cannot be opened, a primary again can; nothing refused
 * changes anything.
 */
TEST_F(nl, dev_set_checked)
{
	struct nlmsghdr *nlh;

	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_CREATE, 0);
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	mnl_attr_put_u64(nlh, QREP_A_DEV_EPOCH, 5);
	ASSERT_EQ(0, qrep_genl_talk(&self->g, nlh, NULL, NULL));
	EXPECT_EQ(5ULL, sysfs_epoch());

	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_SET, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_ROLE, QREP_ROLE_SECONDARY);
	EXPECT_EQ(-EINVAL, qrep_genl_talk(&self->g, nlh, NULL, NULL));
	EXPECT_NE(NULL, strstr(self->g.error, "index is required"));
	EXPECT_EQ(-ERANGE, dev_set(&self->g, 3, 0));
	EXPECT_EQ(-ERANGE, dev_set(&self->g, 0xffffffffU, 0));
	EXPECT_EQ(-EINVAL, dev_set(&self->g, 0, 0));
	EXPECT_NE(NULL, strstr(self->g.error, "nothing to change"));
	EXPECT_EQ(-EINVAL, dev_set(&self->g, 0, 5));
	EXPECT_NE(NULL, strstr(self->g.error, "larger than the device's"));
	EXPECT_EQ(-EINVAL, dev_set(&self->g, QREP_ROLE_PRIMARY, 4));
	EXPECT_EQ(5ULL, sysfs_epoch());
	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_SET, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 7);
	mnl_attr_put_u32(nlh, QREP_A_DEV_ROLE, QREP_ROLE_PRIMARY);
	EXPECT_EQ(-ENODEV, qrep_genl_talk(&self->g, nlh, NULL, NULL));
	/* A read-only attribute stays one. */
	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_SET, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	mnl_attr_put_u64(nlh, QREP_A_DEV_VERSION, 9);
	EXPECT_EQ(-EINVAL, qrep_genl_talk(&self->g, nlh, NULL, NULL));

	/* A primary opens; a secondary is the wrong medium. */
	EXPECT_EQ(0, open_for_write());
	EXPECT_EQ(0, dev_set(&self->g, QREP_ROLE_SECONDARY, 0));
	EXPECT_EQ(-EMEDIUMTYPE, open_for_write());
	EXPECT_EQ(0, dev_set(&self->g, QREP_ROLE_PRIMARY, 6));
	EXPECT_EQ(6ULL, sysfs_epoch());
	EXPECT_EQ(0, open_for_write());

	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_DESTROY, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	EXPECT_EQ(0, qrep_genl_talk(&self->g, nlh, NULL, NULL));

	/* Quorum mode: the epoch must fit in a version's epoch bits. */
	ASSERT_EQ(0, quorum_create(&self->g, 3, 0, 0));
	EXPECT_EQ(-ERANGE, dev_set(&self->g, 0, QREP_MAX_QUORUM_EPOCH + 1));
	EXPECT_NE(NULL, strstr(self->g.error, "does not fit"));
	EXPECT_EQ(0, dev_set(&self->g, 0, QREP_MAX_QUORUM_EPOCH));
	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_DESTROY, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	EXPECT_EQ(0, qrep_genl_talk(&self->g, nlh, NULL, NULL));
}

/* nlmsg_len larger than what was sent: the kernel drops it unanswered. */
TEST_F(nl, truncated_message_creates_nothing)
{
	struct timeval tv = { .tv_sec = NO_REPLY_TIMEOUT_SEC };
	struct nlmsghdr *nlh;
	int ret, fd;

	fd = mnl_socket_get_fd(self->g.nl);
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_CREATE, NLM_F_ACK);
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
	ret = send(fd, nlh, nlh->nlmsg_len - 8, 0);
	ASSERT_EQ((int)nlh->nlmsg_len - 8, ret);
	tv.tv_sec = 0;
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	EXPECT_EQ(0, count_devices(&self->g));
}

/* Failed creates must not leak an index: index 0 is still free. */
TEST_F(nl, failures_leak_no_index)
{
	struct nlmsghdr *nlh;

	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_CREATE, 0);
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	ASSERT_EQ(0, qrep_genl_talk(&self->g, nlh, NULL, NULL)) TH_LOG("%s", self->g.error);
	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_CREATE, 0);
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	EXPECT_EQ(-EEXIST, qrep_genl_talk(&self->g, nlh, NULL, NULL));
	EXPECT_EQ(1, count_devices(&self->g));
	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_DESTROY, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	EXPECT_EQ(0, qrep_genl_talk(&self->g, nlh, NULL, NULL));
	EXPECT_EQ(0, count_devices(&self->g));
}

/*
 * Runs in a child that has given up root: 0, or which check failed first
 * (an exit status holds 8 bits: one code per check).
 */
static int unprivileged_checks(void)
{
	static const uint8_t admin_cmds[] = {
		QREP_CMD_DEV_CREATE, QREP_CMD_DEV_DESTROY,
		QREP_CMD_REPLICA_ADD, QREP_CMD_REPLICA_REMOVE,
		QREP_CMD_RESYNC_GET, QREP_CMD_RESYNC_UPDATE,
		QREP_CMD_DEV_SET,
	};
	struct qrep_genl g;
	struct nlmsghdr *nlh;
	int failed = 0;
	size_t i;

	if (setresgid(NOBODY_UID, NOBODY_UID, NOBODY_UID) ||
	    setresuid(NOBODY_UID, NOBODY_UID, NOBODY_UID))
		return 1;
	if (qrep_genl_open(&g))
		return 2;
	for (i = 0; i < sizeof(admin_cmds) && !failed; i++) {
		nlh = qrep_genl_request(&g, admin_cmds[i], 0);
		mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
		mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
		if (qrep_genl_talk(&g, nlh, NULL, NULL) != -EPERM)
			failed = 10 + admin_cmds[i];
	}
	/* Status is open to everyone. */
	if (!failed && count_devices(&g) < 0)
		failed = 3;
	/* Events are not: they are as telling as the admin commands. */
	if (!failed && qrep_genl_subscribe(&g) != -EPERM)
		failed = 4;
	qrep_genl_close(&g);
	return failed;
}

TEST_F(nl, unprivileged_gets_eperm)
{
	struct nlmsghdr *nlh;
	int status;
	pid_t pid;

	/* A device for DESTROY to find, so EPERM is the only reason to fail. */
	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_CREATE, 0);
	mnl_attr_put_u64(nlh, QREP_A_DEV_SIZE, 1 << 20);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	ASSERT_EQ(0, qrep_genl_talk(&self->g, nlh, NULL, NULL));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(unprivileged_checks());
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("failed check %d (10 + N: command N not refused)",
						 WEXITSTATUS(status));
	EXPECT_EQ(1, count_devices(&self->g));

	nlh = qrep_genl_request(&self->g, QREP_CMD_DEV_DESTROY, 0);
	mnl_attr_put_u32(nlh, QREP_A_DEV_INDEX, 0);
	EXPECT_EQ(0, qrep_genl_talk(&self->g, nlh, NULL, NULL));
}

TEST_HARNESS_MAIN
