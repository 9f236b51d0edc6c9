// SPDX-License-Identifier: GPL-2.0
/* A cluster node's status file: see cluster_status.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster_status.h"
#include "parse.h"

#define STATUS_MAGIC	"qrep-cluster-status 1"
/*
 * The longest line the writer makes, with its newline: a node line with
 * the longest address and the widest numbers. A free-text line is
 * shorter (its value is cut to QREP_CLUSTER_STATUS_TEXT_MAX).
 */
#define STATUS_LINE_MAX	(sizeof("node 4294967295  18446744073709551615\n") + \
			 QREP_ADDR_STR_MAX)
_Static_assert(STATUS_LINE_MAX > sizeof("device-role ") +
	       QREP_CLUSTER_STATUS_TEXT_MAX, "a text line fits a line");

const char *qrep_run_dir(void)
{
	const char *dir = getenv("QREP_RUN_DIR");

	return dir && dir[0] ? dir : QREP_RUN_DIR;
}

struct out {
	char *buf;
	size_t len, used;
	bool full;
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->used)
		o->full = true;
	else
		o->used += (size_t)n;
}

/* A free-text value on one line: newlines would start a new key. */
static void put_text(struct out *o, const char *key, const char *s)
{
	char clean[QREP_CLUSTER_STATUS_TEXT_MAX];
	size_t i;

	snprintf(clean, sizeof(clean), "%s", s);
	for (i = 0; clean[i]; i++)
		if (clean[i] == '\n' || clean[i] == '\r')
			clean[i] = ' ';
	put(o, "%s %s\n", key, clean[0] ? clean : "-");
}

size_t qrep_cluster_status_format(const struct qrep_cluster_status *st,
				  char *buf, size_t len)
{
	struct out o = { .buf = buf, .len = len };
	unsigned int i;

	put(&o, "%s\nresource %s\ndevice %" PRIu32 "\nself %" PRIu32
	    "\npid %" PRIu32 "\nupdated %" PRIu64 "\n", STATUS_MAGIC,
	    st->resource, st->device, st->self, st->pid, st->updated_ms);
	put_text(&o, "election", st->election);
	put_text(&o, "device-role", st->device_role);
	put(&o, "primary %" PRIu32 "\nepoch %" PRIu64 "\nseen-epoch %" PRIu64
	    "\n", st->primary, st->epoch, st->seen_epoch);
	put_text(&o, "last-change", st->last_change);
	for (i = 0; i < st->nr_nodes && i < QREP_CONFIG_MAX_NODES; i++)
		put(&o, "node %" PRIu32 " %s %" PRIu64 "\n", st->nodes[i].id,
		    st->nodes[i].addr, st->nodes[i].last_heard_ms);
	return o.full ? 0 : o.used;
}

static int get_u64(const char *s, uint64_t max, uint64_t *out)
{
	return qrep_parse_uint(s, 0, max, out);
}

static int parse_node(const char *value, struct qrep_cluster_status *st)
{
	struct qrep_cluster_status_node *n;
	char addr[QREP_ADDR_STR_MAX];
	char id[16], heard[24], extra;
	uint64_t v;

	if (st->nr_nodes == QREP_CONFIG_MAX_NODES)
		return -EINVAL;
	/* Widths one below each buffer: sscanf writes the NUL after. */
	_Static_assert(QREP_ADDR_STR_MAX == 268, "the %267s below");
	if (sscanf(value, "%15s %267s %23s %c", id, addr, heard, &extra) != 3)
		return -EINVAL;
	n = &st->nodes[st->nr_nodes];
	if (get_u64(id, UINT32_MAX, &v) || !v)
		return -EINVAL;
	n->id = (uint32_t)v;
	snprintf(n->addr, sizeof(n->addr), "%s", addr);
	if (get_u64(heard, UINT64_MAX, &n->last_heard_ms))
		return -EINVAL;
	st->nr_nodes++;
	return 0;
}

static int parse_line(char *line, struct qrep_cluster_status *st)
{
	char *value = strchr(line, ' ');
	uint64_t v;

	if (!value)
		return 0;		/* not ours to judge: skipped */
	*value++ = '\0';
	if (!strcmp(line, "resource")) {
		snprintf(st->resource, sizeof(st->resource), "%s", value);
	} else if (!strcmp(line, "election")) {
		snprintf(st->election, sizeof(st->election), "%s", value);
	} else if (!strcmp(line, "device-role")) {
		snprintf(st->device_role, sizeof(st->device_role), "%s", value);
	} else if (!strcmp(line, "last-change")) {
		snprintf(st->last_change, sizeof(st->last_change), "%s", value);
	} else if (!strcmp(line, "node")) {
		return parse_node(value, st);
	} else if (!strcmp(line, "device") || !strcmp(line, "self") ||
		   !strcmp(line, "pid") || !strcmp(line, "primary")) {
		if (get_u64(value, UINT32_MAX, &v))
			return -EINVAL;
		if (!strcmp(line, "device"))
			st->device = (uint32_t)v;
		else if (!strcmp(line, "self"))
			st->self = (uint32_t)v;
		else if (!strcmp(line, "pid"))
			st->pid = (uint32_t)v;
		else
			st->primary = (uint32_t)v;
	} else if (!strcmp(line, "updated")) {
		return get_u64(value, UINT64_MAX, &st->updated_ms);
	} else if (!strcmp(line, "epoch")) {
		return get_u64(value, UINT64_MAX, &st->epoch);
	} else if (!strcmp(line, "seen-epoch")) {
		return get_u64(value, UINT64_MAX, &st->seen_epoch);
	}
	return 0;
}

int qrep_cluster_status_parse(const char *text, size_t len,
			      struct qrep_cluster_status *st)
{
	char line[STATUS_LINE_MAX];
	size_t pos = 0, n;
	bool first = true;

	memset(st, 0, sizeof(*st));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);

		n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		if (n >= sizeof(line) || memchr(text + pos, '\0', n))
			return -EINVAL;
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + 1;
		if (first) {
			if (strcmp(line, STATUS_MAGIC))
				return -EINVAL;
			first = false;
			continue;
		}
		if (parse_line(line, st))
			return -EINVAL;
	}
	return first ? -EINVAL : 0;
}

int qrep_cluster_status_write(const char *path,
			      const struct qrep_cluster_status *st)
{
	char buf[QREP_CLUSTER_STATUS_MAX], tmp[4096];
	size_t len = qrep_cluster_status_format(st, buf, sizeof(buf));
	int fd, ret = 0;

	if (!len)
		return -ENOSPC;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) != (ssize_t)len)
		ret = errno ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

int qrep_cluster_status_read(const char *path, struct qrep_cluster_status *st)
{
	char buf[QREP_CLUSTER_STATUS_MAX];
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret)
		return ret;
	if ((size_t)n == sizeof(buf))
		return -EFBIG;
	return qrep_cluster_status_parse(buf, (size_t)n, st);
}
