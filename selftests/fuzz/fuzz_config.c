// SPDX-License-Identifier: GPL-2.0
/*
 * The resource configuration parser (lib/config.c) on arbitrary text.
 *
 * Input: the file's bytes, NULs and all.
 *
 * Invariants:
 *  - the result does not depend on the size of the error buffer, and the
 *    message fits it, NUL-terminated; a failure says something;
 *  - an accepted file gives fields within their documented bounds
 *    (Documentation/admin-guide/configuration.rst): a valid resource
 *    name, device < QREP_MAX_DEVICES, a size that is a non-zero multiple
 *    of 4 KiB, a non-null UUID, a known mode, an io-timeout the kernel
 *    accepts (QREP_MIN/MAX_IO_TIMEOUT_MS), a non-zero connect-timeout, 1 to
 *    QREP_MAX_REPLICAS replicas with valid, unique names and parseable,
 *    distinct addresses (the same host and port written two ways is still
 *    one address), every string NUL-terminated in its array; in mirror
 *    mode no quorum settings, in quorum mode W and R that pass
 *    qrep_quorum_problem() and a known on-no-quorum policy; node lines
 *    only in quorum mode, at most QREP_CONFIG_MAX_NODES, with unique
 *    non-zero ids and distinct parseable addresses; election settings
 *    only with node lines, each 0 (the default) or a duration up to
 *    QREP_CONFIG_MAX_ELECTION_TIMEOUT_MS, and a known failback;
 *  - written back out as a file, an accepted configuration parses again
 *    to the same fields.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <linux/qrep_quorum.h>

#include "config.h"
#include "fuzz.h"
#include "uuid.h"

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
		   "0123456789_.-"

static void check_name(const char *name)
{
	size_t len = strnlen(name, QREP_CONFIG_NAME_MAX);

	FUZZ_ASSERT(len > 0 && len < QREP_CONFIG_NAME_MAX);
	FUZZ_ASSERT(strspn(name, NAME_CHARS) == len);
}

struct endpoint {
	char host[QREP_HOST_MAX];
	char port[QREP_PORT_MAX];
};

static void endpoint_of(const char *addr, struct endpoint *e)
{
	FUZZ_ASSERT(strnlen(addr, QREP_ADDR_STR_MAX) < QREP_ADDR_STR_MAX);
	FUZZ_ASSERT(qrep_parse_hostport(addr, e->host, sizeof(e->host),
					e->port, sizeof(e->port), false) == 0);
}

/* Numeric addresses compare by value, names without regard to case. */
static bool same_endpoint(const struct endpoint *a, const struct endpoint *b)
{
	uint8_t x[16], y[16];

	if (strcmp(a->port, b->port))	/* both in canonical decimal */
		return false;
	if (inet_pton(AF_INET6, a->host, x) == 1 &&
	    inet_pton(AF_INET6, b->host, y) == 1)
		return !memcmp(x, y, 16);
	if (inet_pton(AF_INET, a->host, x) == 1 &&
	    inet_pton(AF_INET, b->host, y) == 1)
		return !memcmp(x, y, 4);
	return !strcasecmp(a->host, b->host);
}

static void check_cluster(const struct qrep_config *cfg)
{
	const struct qrep_config_election *el = &cfg->election;
	const uint32_t ms[] = {
		el->heartbeat_interval_ms, el->heartbeat_timeout_ms,
		el->ack_timeout_ms, el->coordinator_timeout_ms,
		el->quorum_timeout_ms,
	};
	struct endpoint ep[QREP_CONFIG_MAX_NODES];
	unsigned int i, j;

	FUZZ_ASSERT(cfg->nr_nodes <= QREP_CONFIG_MAX_NODES);
	if (!cfg->nr_nodes) {
		FUZZ_ASSERT(el->failback == QREP_CONFIG_FAILBACK_NEVER);
		for (i = 0; i < FUZZ_ARRAY_SIZE(ms); i++)
			FUZZ_ASSERT(ms[i] == 0);
		return;
	}
	FUZZ_ASSERT(cfg->mode == QREP_MODE_QUORUM);
	FUZZ_ASSERT(el->failback == QREP_CONFIG_FAILBACK_NEVER ||
		    el->failback == QREP_CONFIG_FAILBACK_CATCHUP);
	for (i = 0; i < FUZZ_ARRAY_SIZE(ms); i++)
		FUZZ_ASSERT(ms[i] <= QREP_CONFIG_MAX_ELECTION_TIMEOUT_MS);
	for (i = 0; i < cfg->nr_nodes; i++) {
		FUZZ_ASSERT(cfg->nodes[i].id != 0);
		FUZZ_ASSERT(qrep_config_node(cfg, cfg->nodes[i].id) ==
			    &cfg->nodes[i]);
		endpoint_of(cfg->nodes[i].addr, &ep[i]);
		for (j = 0; j < i; j++)
			FUZZ_ASSERT(!same_endpoint(&ep[i], &ep[j]));
	}
}

static void check_config(const struct qrep_config *cfg)
{
	struct endpoint ep[QREP_MAX_REPLICAS];
	unsigned int i, j;

	check_name(cfg->name);
	FUZZ_ASSERT(cfg->device < QREP_MAX_DEVICES);
	FUZZ_ASSERT(cfg->size > 0 && cfg->size % QREP_BLOCK_SIZE == 0);
	FUZZ_ASSERT(!qrep_uuid_is_null(cfg->uuid));
	FUZZ_ASSERT(cfg->mode == QREP_MODE_MIRROR ||
		    cfg->mode == QREP_MODE_QUORUM);
	FUZZ_ASSERT(cfg->io_timeout_ms >= QREP_MIN_IO_TIMEOUT_MS &&
		    cfg->io_timeout_ms <= QREP_MAX_IO_TIMEOUT_MS);
	FUZZ_ASSERT(cfg->connect_timeout_ms > 0);
	FUZZ_ASSERT(cfg->resync_rate >= QREP_MIN_RESYNC_RATE);
	FUZZ_ASSERT(cfg->reconnect_interval_ms >= QREP_MIN_RECONNECT_INTERVAL_MS);
	if (cfg->mode == QREP_MODE_QUORUM) {
		FUZZ_ASSERT(!qrep_quorum_problem(cfg->nr_replicas,
						 cfg->write_quorum,
						 cfg->read_quorum));
		FUZZ_ASSERT(cfg->on_no_quorum == QREP_NO_QUORUM_SUSPEND ||
			    cfg->on_no_quorum == QREP_NO_QUORUM_ERROR);
	} else {
		FUZZ_ASSERT(!cfg->write_quorum && !cfg->read_quorum &&
			    !cfg->on_no_quorum);
	}
	/* None, or an absolute path of one word. */
	FUZZ_ASSERT(memchr(cfg->secret_file, '\0', sizeof(cfg->secret_file)));
	FUZZ_ASSERT(!cfg->secret_file[0] || (cfg->secret_file[0] == '/' &&
		    !strpbrk(cfg->secret_file, " \t\r\n#")));
	FUZZ_ASSERT(cfg->nr_replicas >= 1 &&
		    cfg->nr_replicas <= QREP_MAX_REPLICAS);
	for (i = 0; i < cfg->nr_replicas; i++) {
		check_name(cfg->replicas[i].name);
		endpoint_of(cfg->replicas[i].addr, &ep[i]);
		for (j = 0; j < i; j++) {
			FUZZ_ASSERT(strcmp(cfg->replicas[i].name,
					   cfg->replicas[j].name));
			FUZZ_ASSERT(!same_endpoint(&ep[i], &ep[j]));
		}
	}
	check_cluster(cfg);
}

/* Appends one line to buf (of len, used so far *used). */
__attribute__((format(printf, 4, 5)))
static void put_line(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	FUZZ_ASSERT(n > 0 && (size_t)n < len - *used);
	*used += (size_t)n;
}

/* The node lines and the election settings given (0: not given). */
static void cluster_write(const struct qrep_config *cfg, char *buf,
			  size_t len, size_t *used)
{
	const struct qrep_config_election *el = &cfg->election;
	const struct { const char *key; uint32_t ms; } keys[] = {
		{ "heartbeat-interval", el->heartbeat_interval_ms },
		{ "heartbeat-timeout", el->heartbeat_timeout_ms },
		{ "election-ack-timeout", el->ack_timeout_ms },
		{ "coordinator-timeout", el->coordinator_timeout_ms },
		{ "epoch-quorum-timeout", el->quorum_timeout_ms },
	};
	unsigned int i;

	if (!cfg->nr_nodes)
		return;
	for (i = 0; i < cfg->nr_nodes; i++)
		put_line(buf, len, used, "node %" PRIu32 " %s\n",
			 cfg->nodes[i].id, cfg->nodes[i].addr);
	for (i = 0; i < FUZZ_ARRAY_SIZE(keys); i++)
		if (keys[i].ms)
			put_line(buf, len, used, "%s %" PRIu32 "ms\n",
				 keys[i].key, keys[i].ms);
	put_line(buf, len, used, "failback %s\n",
		 el->failback == QREP_CONFIG_FAILBACK_CATCHUP ? "catchup" :
		 "never");
}

/* Writes cfg out in the file format; returns the length. */
static size_t config_write(const struct qrep_config *cfg, char *buf,
			   size_t len)
{
	char uuid[QREP_UUID_STR_LEN + 1];
	size_t used;
	unsigned int i;
	int n;

	qrep_uuid_format(cfg->uuid, uuid);
	n = snprintf(buf, len, "resource %s\ndevice %" PRIu32 "\n"
		     "size %" PRIu64 "\nuuid %s\nmode %s\n"
		     "io-timeout %" PRIu32 "ms\n"
		     "connect-timeout %" PRIu32 "ms\n"
		     "resync-rate %" PRIu64 "\n"
		     "reconnect-interval %" PRIu32 "ms\n",
		     cfg->name, cfg->device, cfg->size, uuid,
		     cfg->mode == QREP_MODE_MIRROR ? "mirror" : "quorum",
		     cfg->io_timeout_ms, cfg->connect_timeout_ms,
		     cfg->resync_rate, cfg->reconnect_interval_ms);
	FUZZ_ASSERT(n > 0 && (size_t)n < len);
	used = (size_t)n;
	if (cfg->mode == QREP_MODE_QUORUM) {
		n = snprintf(buf + used, len - used,
			     "write-quorum %" PRIu32 "\nread-quorum %" PRIu32
			     "\non-no-quorum %s\n", cfg->write_quorum,
			     cfg->read_quorum,
			     cfg->on_no_quorum == QREP_NO_QUORUM_ERROR ?
			     "error" : "suspend");
		FUZZ_ASSERT(n > 0 && (size_t)n < len - used);
		used += (size_t)n;
	}
	if (cfg->secret_file[0]) {
		n = snprintf(buf + used, len - used, "secret-file %s\n",
			     cfg->secret_file);
		FUZZ_ASSERT(n > 0 && (size_t)n < len - used);
		used += (size_t)n;
	}
	for (i = 0; i < cfg->nr_replicas; i++) {
		n = snprintf(buf + used, len - used, "replica %s %s\n",
			     cfg->replicas[i].name, cfg->replicas[i].addr);
		FUZZ_ASSERT(n > 0 && (size_t)n < len - used);
		used += (size_t)n;
	}
	cluster_write(cfg, buf, len, &used);
	return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[8192];
	struct qrep_config *cfg, *small_cfg, *again;
	size_t errlen = 1 + size % 24, n;
	char err[256], *small_err;
	int ret, ret2;

	/* qrep_config_load() refuses larger files before parsing. */
	if (size > QREP_CONFIG_MAX_BYTES)
		return 0;
	cfg = malloc(sizeof(*cfg));
	small_cfg = malloc(sizeof(*small_cfg));
	again = malloc(sizeof(*again));
	small_err = malloc(errlen);
	FUZZ_ASSERT(cfg && small_cfg && again && small_err);

	ret = qrep_config_parse((const char *)data, size, cfg, err,
				sizeof(err));
	FUZZ_ASSERT(ret == 0 || ret == -EINVAL);
	FUZZ_ASSERT(memchr(err, '\0', sizeof(err)));
	FUZZ_ASSERT(ret == 0 || err[0]);

	ret2 = qrep_config_parse((const char *)data, size, small_cfg,
				 small_err, errlen);
	FUZZ_ASSERT(ret2 == ret);
	FUZZ_ASSERT(memchr(small_err, '\0', errlen));
	FUZZ_ASSERT(!strncmp(small_err, err, errlen - 1));

	if (ret == 0) {
		FUZZ_ASSERT(!memcmp(cfg, small_cfg, sizeof(*cfg)));
		check_config(cfg);
		n = config_write(cfg, text, sizeof(text));
		ret = qrep_config_parse(text, n, again, err, sizeof(err));
		FUZZ_ASSERT(ret == 0);
		FUZZ_ASSERT(!memcmp(cfg, again, sizeof(*cfg)));
	}
	free(cfg);
	free(small_cfg);
	free(again);
	free(small_err);
	return 0;
}
