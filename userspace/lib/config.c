// SPDX-License-Identifier: GPL-2.0
/*
 * Resource configuration parser. The input is untrusted: every line is
 * bounded, every value checked, and the first problem is reported with
 * its line number. Nothing is half-applied: on error *cfg is unspecified
 * and must not be used.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/qrep_quorum.h>

#include "config.h"
#include "parse.h"
#include "uuid.h"

#define LINE_MAX_BYTES	1024
#define MAX_WORDS	4

/* Keywords that may appear once, as bits of a "seen" mask. */
enum {
	SEEN_RESOURCE = 1 << 0,
	SEEN_DEVICE = 1 << 1,
	SEEN_SIZE = 1 << 2,
	SEEN_UUID = 1 << 3,
	SEEN_MODE = 1 << 4,
	SEEN_IO_TIMEOUT = 1 << 5,
	SEEN_CONNECT_TIMEOUT = 1 << 6,
	SEEN_RESYNC_RATE = 1 << 7,
	SEEN_RECONNECT_INTERVAL = 1 << 8,
	SEEN_SECRET_FILE = 1 << 9,
	SEEN_WRITE_QUORUM = 1 << 10,
	SEEN_READ_QUORUM = 1 << 11,
	SEEN_ON_NO_QUORUM = 1 << 12,
	SEEN_HEARTBEAT_INTERVAL = 1 << 13,
	SEEN_HEARTBEAT_TIMEOUT = 1 << 14,
	SEEN_ACK_TIMEOUT = 1 << 15,
	SEEN_COORDINATOR_TIMEOUT = 1 << 16,
	SEEN_QUORUM_TIMEOUT = 1 << 17,
	SEEN_FAILBACK = 1 << 18,
};

/*
 * The quorum keywords: their bit, and the line each was given on, so that
 * "needs mode quorum" can point at it once the whole file (and so the
 * mode, which may come later) is known.
 */
static const struct {
	unsigned int bit;
	const char *keyword;
} quorum_keys[] = {
	{ SEEN_WRITE_QUORUM, "write-quorum" },
	{ SEEN_READ_QUORUM, "read-quorum" },
	{ SEEN_ON_NO_QUORUM, "on-no-quorum" },
};

#define NR_QUORUM_KEYS	(sizeof(quorum_keys) / sizeof(quorum_keys[0]))

/*
 * The election keywords: durations (all but failback) that only a cluster
 * resource (node lines) uses; where each value goes, and the line it was
 * given on, for "needs node lines".
 */
static const struct {
	unsigned int bit;
	const char *keyword;
	size_t offset;		/* in struct qrep_config_election */
} election_keys[] = {
	{ SEEN_HEARTBEAT_INTERVAL, "heartbeat-interval",
	  offsetof(struct qrep_config_election, heartbeat_interval_ms) },
	{ SEEN_HEARTBEAT_TIMEOUT, "heartbeat-timeout",
	  offsetof(struct qrep_config_election, heartbeat_timeout_ms) },
	{ SEEN_ACK_TIMEOUT, "election-ack-timeout",
	  offsetof(struct qrep_config_election, ack_timeout_ms) },
	{ SEEN_COORDINATOR_TIMEOUT, "coordinator-timeout",
	  offsetof(struct qrep_config_election, coordinator_timeout_ms) },
	{ SEEN_QUORUM_TIMEOUT, "epoch-quorum-timeout",
	  offsetof(struct qrep_config_election, quorum_timeout_ms) },
	{ SEEN_FAILBACK, "failback", 0 },
};

#define NR_ELECTION_KEYS	(sizeof(election_keys) / sizeof(election_keys[0]))

struct parser {
	struct qrep_config *cfg;
	unsigned int line;
	unsigned int seen;
	unsigned int quorum_key_line[NR_QUORUM_KEYS];
	unsigned int election_key_line[NR_ELECTION_KEYS];
	unsigned int first_node_line;
	char *err;
	size_t errlen;
};

static int fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
	size_t used = 0;
	va_list ap;

	if (p->line) {
		snprintf(p->err, p->errlen, "line %u: ", p->line);
		used = strlen(p->err);
	}
	va_start(ap, fmt);
	vsnprintf(p->err + used, p->errlen - used, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int qrep_parse_duration_ms(const char *s, uint32_t *ms)
{
	static const struct { const char *suffix; uint64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 },
	};
	size_t digits = strspn(s, "0123456789");
	char number[21];
	uint64_t value;
	size_t i;

	if (digits == 0 || digits >= sizeof(number))
		return -EINVAL;
	memcpy(number, s, digits);
	number[digits] = '\0';
	if (qrep_parse_u64(number, &value))
		return -EINVAL;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s + digits, units[i].suffix) != 0)
			continue;
		if (value == 0 || value > UINT32_MAX / units[i].ms)
			return -ERANGE;
		*ms = (uint32_t)(value * units[i].ms);
		return 0;
	}
	return -EINVAL;
}

static bool valid_name(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len < QREP_CONFIG_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_.-") == len;
}

static int once(struct parser *p, unsigned int bit, const char *keyword)
{
	if (p->seen & bit)
		return fail(p, "'%s' given twice", keyword);
	p->seen |= bit;
	return 0;
}

/*
 * Whether two checked "host:port" strings name the same endpoint: ports
 * as numbers ("07800" is 7800), numeric addresses by value ("[::1]" and
 * "[0:0::1]"), names regardless of case, as DNS compares them. Two
 * replica lines naming one target would count one store twice.
 */
static bool same_address(const char *a, const char *b)
{
	char ha[QREP_HOST_MAX], hb[QREP_HOST_MAX];
	char pa[QREP_PORT_MAX], pb[QREP_PORT_MAX];
	struct in6_addr x, y;

	if (qrep_parse_hostport(a, ha, sizeof(ha), pa, sizeof(pa), false) ||
	    qrep_parse_hostport(b, hb, sizeof(hb), pb, sizeof(pb), false))
		return !strcmp(a, b);
	if (strcmp(pa, pb))		/* both in plain decimal */
		return false;
	if (inet_pton(AF_INET6, ha, &x) == 1 && inet_pton(AF_INET6, hb, &y) == 1)
		return !memcmp(&x, &y, sizeof(x));
	if (inet_pton(AF_INET, ha, &x) == 1 && inet_pton(AF_INET, hb, &y) == 1)
		return !memcmp(&x, &y, sizeof(struct in_addr));
	return !strcasecmp(ha, hb);
}

static int parse_replica(struct parser *p, char **w)
{
	struct qrep_config *cfg = p->cfg;
	struct qrep_config_replica *r;
	char host[QREP_HOST_MAX], port[QREP_PORT_MAX];
	unsigned int i;

	if (!valid_name(w[1]))
		return fail(p, "'%s' is not a replica name (letters, digits, _ . -; under %d characters)",
			    w[1], QREP_CONFIG_NAME_MAX);
	if (strlen(w[2]) >= QREP_ADDR_STR_MAX ||
	    qrep_parse_hostport(w[2], host, sizeof(host), port, sizeof(port),
				false))
		return fail(p, "'%s' is not an address (host:port or [v6]:port)", w[2]);
	if (cfg->nr_replicas == QREP_MAX_REPLICAS)
		return fail(p, "more than %d replicas", QREP_MAX_REPLICAS);
	for (i = 0; i < cfg->nr_replicas; i++) {
		if (strcmp(cfg->replicas[i].name, w[1]) == 0)
			return fail(p, "replica '%s' given twice", w[1]);
		if (same_address(cfg->replicas[i].addr, w[2]))
			return fail(p, "replicas '%s' and '%s' have the same address (%s, %s)",
				    cfg->replicas[i].name, w[1],
				    cfg->replicas[i].addr, w[2]);
	}
	r = &cfg->replicas[cfg->nr_replicas++];
	snprintf(r->name, sizeof(r->name), "%s", w[1]);
	snprintf(r->addr, sizeof(r->addr), "%s", w[2]);
	return 0;
}

static void note_quorum_key(struct parser *p, unsigned int bit)
{
	size_t i;

	for (i = 0; i < NR_QUORUM_KEYS; i++)
		if (quorum_keys[i].bit == bit)
			p->quorum_key_line[i] = p->line;
}

/*
 * write-quorum / read-quorum: a number of replicas. Only its range is
 * checked here; whether it fits N and the other quorum is known once
 * every replica line has been read (check_quorum).
 */
static int parse_quorum_size(struct parser *p, unsigned int bit,
			     const char *keyword, const char *value,
			     uint32_t *out)
{
	uint64_t n;

	if (once(p, bit, keyword))
		return -EINVAL;
	note_quorum_key(p, bit);
	if (qrep_parse_uint(value, 1, QREP_MAX_REPLICAS, &n))
		return fail(p, "%s is a number of replicas from 1 to %d, not '%s'",
			    keyword, QREP_MAX_REPLICAS, value);
	*out = (uint32_t)n;
	return 0;
}

const struct qrep_config_node *qrep_config_node(const struct qrep_config *cfg,
						uint32_t id)
{
	unsigned int i;

	for (i = 0; i < cfg->nr_nodes; i++)
		if (cfg->nodes[i].id == id)
			return &cfg->nodes[i];
	return NULL;
}

int qrep_config_manual_up_check(const struct qrep_config *cfg, bool force,
				char *err, size_t errlen)
{
	if (!cfg->nr_nodes || force)
		return 0;
	snprintf(err, errlen,
		 "resource %s is a cluster resource (node lines): qrepd elects its primary and makes its device; 'up' here would take a newer epoch at the targets and fence the elected primary (its writes refused, its device made secondary). To take over by hand, stop qrepd on every node, then 'qrepctl up --force %s'",
		 cfg->name, cfg->name);
	return -EPERM;
}

/* node ID HOST:PORT: a qrepd of the cluster and its UDP address. */
static int parse_node(struct parser *p, char **w)
{
	struct qrep_config *cfg = p->cfg;
	char host[QREP_HOST_MAX], port[QREP_PORT_MAX];
	struct qrep_config_node *node;
	uint64_t id;
	unsigned int i;

	if (qrep_parse_uint(w[1], 1, UINT32_MAX, &id))
		return fail(p, "a node id is a number from 1 to %u (the bully order: bigger wins), not '%s'",
			    UINT32_MAX, w[1]);
	if (strlen(w[2]) >= QREP_ADDR_STR_MAX ||
	    qrep_parse_hostport(w[2], host, sizeof(host), port, sizeof(port),
				false))
		return fail(p, "'%s' is not an address (host:port or [v6]:port)", w[2]);
	if (cfg->nr_nodes == QREP_CONFIG_MAX_NODES)
		return fail(p, "more than %d nodes", QREP_CONFIG_MAX_NODES);
	for (i = 0; i < cfg->nr_nodes; i++) {
		if (cfg->nodes[i].id == id)
			return fail(p, "node %" PRIu64 " given twice", id);
		if (same_address(cfg->nodes[i].addr, w[2]))
			return fail(p, "nodes %u and %" PRIu64 " have the same address (%s, %s)",
				    cfg->nodes[i].id, id, cfg->nodes[i].addr,
				    w[2]);
	}
	if (!cfg->nr_nodes)
		p->first_node_line = p->line;
	node = &cfg->nodes[cfg->nr_nodes++];
	node->id = (uint32_t)id;
	snprintf(node->addr, sizeof(node->addr), "%s", w[2]);
	return 0;
}

/* An election keyword (election_keys[k]) and its value. */
static int parse_election_key(struct parser *p, size_t k, const char *value)
{
	struct qrep_config_election *el = &p->cfg->election;
	uint32_t ms;

	if (once(p, election_keys[k].bit, election_keys[k].keyword))
		return -EINVAL;
	p->election_key_line[k] = p->line;
	if (election_keys[k].bit == SEEN_FAILBACK) {
		if (strcmp(value, "never") == 0)
			el->failback = QREP_CONFIG_FAILBACK_NEVER;
		else if (strcmp(value, "catchup") == 0)
			el->failback = QREP_CONFIG_FAILBACK_CATCHUP;
		else
			return fail(p, "failback is 'never' or 'catchup', not '%s'",
				    value);
		return 0;
	}
	if (qrep_parse_duration_ms(value, &ms) ||
	    ms > QREP_CONFIG_MAX_ELECTION_TIMEOUT_MS)
		return fail(p, "%s is a duration from 1ms to %um (e.g. 500ms, 2s), not '%s'",
			    election_keys[k].keyword,
			    QREP_CONFIG_MAX_ELECTION_TIMEOUT_MS / 60000, value);
	memcpy((char *)el + election_keys[k].offset, &ms, sizeof(ms));
	return 0;
}

static int parse_words(struct parser *p, char **w, int n)
{
	struct qrep_config *cfg = p->cfg;
	uint64_t value;
	const char *k = w[0];

	if (strcmp(k, "replica") == 0) {
		if (n != 3)
			return fail(p, "usage: replica NAME HOST:PORT");
		return parse_replica(p, w);
	}
	if (strcmp(k, "node") == 0) {
		if (n != 3)
			return fail(p, "usage: node ID HOST:PORT");
		return parse_node(p, w);
	}
	if (n != 2)
		return fail(p, "'%s' takes exactly one value", k);
	for (size_t i = 0; i < NR_ELECTION_KEYS; i++)
		if (strcmp(k, election_keys[i].keyword) == 0)
			return parse_election_key(p, i, w[1]);

	if (strcmp(k, "resource") == 0) {
		if (once(p, SEEN_RESOURCE, k))
			return -EINVAL;
		if (!valid_name(w[1]))
			return fail(p, "'%s' is not a resource name", w[1]);
		snprintf(cfg->name, sizeof(cfg->name), "%s", w[1]);
	} else if (strcmp(k, "device") == 0) {
		if (once(p, SEEN_DEVICE, k))
			return -EINVAL;
		if (qrep_parse_u64(w[1], &value) || value >= QREP_MAX_DEVICES)
			return fail(p, "device must be a number from 0 to %d (for /dev/qrepN)",
				    QREP_MAX_DEVICES - 1);
		cfg->device = (uint32_t)value;
	} else if (strcmp(k, "size") == 0) {
		if (once(p, SEEN_SIZE, k))
			return -EINVAL;
		if (qrep_parse_size(w[1], &cfg->size) ||
		    cfg->size % QREP_BLOCK_SIZE)
			return fail(p, "'%s' is not a size in whole 4 KiB blocks (e.g. 1G, 256M)",
				    w[1]);
	} else if (strcmp(k, "uuid") == 0) {
		if (once(p, SEEN_UUID, k))
			return -EINVAL;
		if (qrep_uuid_parse(w[1], cfg->uuid) || qrep_uuid_is_null(cfg->uuid))
			return fail(p, "'%s' is not a UUID", w[1]);
	} else if (strcmp(k, "mode") == 0) {
		if (once(p, SEEN_MODE, k))
			return -EINVAL;
		if (strcmp(w[1], "mirror") == 0)
			cfg->mode = QREP_MODE_MIRROR;
		else if (strcmp(w[1], "quorum") == 0)
			cfg->mode = QREP_MODE_QUORUM;
		else
			return fail(p, "mode is 'mirror' or 'quorum', not '%s'", w[1]);
	} else if (strcmp(k, "io-timeout") == 0) {
		if (once(p, SEEN_IO_TIMEOUT, k))
			return -EINVAL;
		if (qrep_parse_duration_ms(w[1], &cfg->io_timeout_ms))
			return fail(p, "'%s' is not a duration (e.g. 30s, 500ms)", w[1]);
		if (cfg->io_timeout_ms < QREP_MIN_IO_TIMEOUT_MS ||
		    cfg->io_timeout_ms > QREP_MAX_IO_TIMEOUT_MS)
			return fail(p, "io-timeout must be from %ds to %dm",
				    QREP_MIN_IO_TIMEOUT_MS / 1000,
				    QREP_MAX_IO_TIMEOUT_MS / 60000);
	} else if (strcmp(k, "connect-timeout") == 0) {
		if (once(p, SEEN_CONNECT_TIMEOUT, k))
			return -EINVAL;
		if (qrep_parse_duration_ms(w[1], &cfg->connect_timeout_ms))
			return fail(p, "'%s' is not a duration (e.g. 5s)", w[1]);
	} else if (strcmp(k, "reconnect-interval") == 0) {
		if (once(p, SEEN_RECONNECT_INTERVAL, k))
			return -EINVAL;
		if (qrep_parse_duration_ms(w[1], &cfg->reconnect_interval_ms) ||
		    cfg->reconnect_interval_ms < QREP_MIN_RECONNECT_INTERVAL_MS)
			return fail(p, "reconnect-interval is a duration of at least 100ms (e.g. 5s), not '%s'",
				    w[1]);
	} else if (strcmp(k, "resync-rate") == 0) {
		if (once(p, SEEN_RESYNC_RATE, k))
			return -EINVAL;
		if (qrep_parse_size(w[1], &cfg->resync_rate) ||
		    cfg->resync_rate < QREP_MIN_RESYNC_RATE)
			return fail(p, "resync-rate is bytes per second, at least 1M (e.g. 100M), not '%s'",
				    w[1]);
	} else if (strcmp(k, "secret-file") == 0) {
		if (once(p, SEEN_SECRET_FILE, k))
			return -EINVAL;
		/* Read when used (qrep_secret_load), which checks the file. */
		if (w[1][0] != '/' || strlen(w[1]) >= sizeof(cfg->secret_file))
			return fail(p, "secret-file must be an absolute path of at most %zu bytes",
				    sizeof(cfg->secret_file) - 1);
		snprintf(cfg->secret_file, sizeof(cfg->secret_file), "%s", w[1]);
	} else if (strcmp(k, "write-quorum") == 0) {
		return parse_quorum_size(p, SEEN_WRITE_QUORUM, k, w[1],
					 &cfg->write_quorum);
	} else if (strcmp(k, "read-quorum") == 0) {
		return parse_quorum_size(p, SEEN_READ_QUORUM, k, w[1],
					 &cfg->read_quorum);
	} else if (strcmp(k, "on-no-quorum") == 0) {
		if (once(p, SEEN_ON_NO_QUORUM, k))
			return -EINVAL;
		note_quorum_key(p, SEEN_ON_NO_QUORUM);
		if (strcmp(w[1], "suspend") == 0)
			cfg->on_no_quorum = QREP_NO_QUORUM_SUSPEND;
		else if (strcmp(w[1], "error") == 0)
			cfg->on_no_quorum = QREP_NO_QUORUM_ERROR;
		else
			return fail(p, "on-no-quorum is 'suspend' or 'error', not '%s'",
				    w[1]);
	} else {
		return fail(p, "unknown keyword '%s'", k);
	}
	return 0;
}

static int parse_line(struct parser *p, char *line)
{
	char *w[MAX_WORDS + 1];
	char *save = NULL, *tok;
	int n = 0;

	line[strcspn(line, "#")] = '\0';
	for (tok = strtok_r(line, " \t\r", &save); tok;
	     tok = strtok_r(NULL, " \t\r", &save)) {
		if (n == MAX_WORDS)
			return fail(p, "too many words");
		w[n++] = tok;
	}
	return n ? parse_words(p, w, n) : 0;
}

/*
 * The quorum settings, once the mode and every replica are known: none
 * of them outside quorum mode (they would be silently ignored there,
 * and a mirror is not what their writer expected); in quorum mode the
 * defaults filled in and the two rules of qrep_quorum_problem() checked,
 * the same check qrep.ko makes, so that a bad file fails here, with its
 * values named, rather than at DEV_CREATE.
 */
static int check_quorum(struct parser *p)
{
	struct qrep_config *cfg = p->cfg;
	const char *problem;
	size_t i;

	if (cfg->mode != QREP_MODE_QUORUM) {
		for (i = 0; i < NR_QUORUM_KEYS; i++) {
			if (!(p->seen & quorum_keys[i].bit))
				continue;
			p->line = p->quorum_key_line[i];
			return fail(p, "%s needs mode quorum", quorum_keys[i].keyword);
		}
		return 0;
	}
	if (!cfg->write_quorum)
		cfg->write_quorum = qrep_quorum_majority(cfg->nr_replicas);
	if (!cfg->read_quorum)
		cfg->read_quorum = qrep_quorum_majority(cfg->nr_replicas);
	if (!cfg->on_no_quorum)
		cfg->on_no_quorum = QREP_NO_QUORUM_SUSPEND;
	problem = qrep_quorum_problem(cfg->nr_replicas, cfg->write_quorum,
				      cfg->read_quorum);
	if (problem)
		return fail(p, "write-quorum %u%s and read-quorum %u%s with %u replica%s: %s",
			    cfg->write_quorum,
			    p->seen & SEEN_WRITE_QUORUM ? "" : " (the default)",
			    cfg->read_quorum,
			    p->seen & SEEN_READ_QUORUM ? "" : " (the default)",
			    cfg->nr_replicas, cfg->nr_replicas == 1 ? "" : "s",
			    problem);
	return 0;
}

/*
 * The cluster settings, once the whole file is known: the election
 * keywords mean nothing without node lines (an error rather than
 * silently ignored, like the quorum keywords), and node lines need quorum
 * mode, whose write quorum is the election's epoch quorum: a mirror has
 * no quorum that could stop two primaries.
 */
static int check_cluster(struct parser *p)
{
	struct qrep_config *cfg = p->cfg;
	size_t i;

	if (!cfg->nr_nodes) {
		for (i = 0; i < NR_ELECTION_KEYS; i++) {
			if (!(p->seen & election_keys[i].bit))
				continue;
			p->line = p->election_key_line[i];
			return fail(p, "%s needs node lines (a cluster resource)",
				    election_keys[i].keyword);
		}
		return 0;
	}
	if (cfg->mode != QREP_MODE_QUORUM) {
		p->line = p->first_node_line;
		return fail(p, "node lines need mode quorum (the election's epoch quorum is the write quorum)");
	}
	return 0;
}

static int check_complete(struct parser *p)
{
	static const struct { unsigned int bit; const char *keyword; } required[] = {
		{ SEEN_RESOURCE, "resource" }, { SEEN_DEVICE, "device" },
		{ SEEN_SIZE, "size" }, { SEEN_UUID, "uuid" },
	};
	size_t i;

	p->line = 0;
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!(p->seen & required[i].bit))
			return fail(p, "no '%s' line", required[i].keyword);
	if (!p->cfg->nr_replicas)
		return fail(p, "no 'replica' line");
	if (check_quorum(p))
		return -EINVAL;
	return check_cluster(p);
}

int qrep_config_parse(const char *text, size_t len, struct qrep_config *cfg,
		      char *err, size_t errlen)
{
	struct parser p = { .cfg = cfg, .err = err, .errlen = errlen };
	char line[LINE_MAX_BYTES];
	size_t pos = 0;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = QREP_MODE_MIRROR;
	cfg->io_timeout_ms = QREP_DEFAULT_IO_TIMEOUT_MS;
	cfg->connect_timeout_ms = QREP_DEFAULT_CONNECT_TIMEOUT_MS;
	cfg->resync_rate = QREP_DEFAULT_RESYNC_RATE;
	cfg->reconnect_interval_ms = QREP_DEFAULT_RECONNECT_INTERVAL_MS;
	err[0] = '\0';

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		p.line++;
		if (n >= sizeof(line))
			return fail(&p, "longer than %d bytes", LINE_MAX_BYTES - 1);
		memcpy(line, text + pos, n);
		line[n] = '\0';
		if (strlen(line) != n)
			return fail(&p, "contains a NUL byte");
		ret = parse_line(&p, line);
		if (ret)
			return ret;
		pos += n + 1;
	}
	return check_complete(&p);
}

int qrep_config_load(const char *path, struct qrep_config *cfg, char *err,
		     size_t errlen)
{
	char *text;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	text = malloc(QREP_CONFIG_MAX_BYTES + 1);
	if (!text) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	n = read(fd, text, QREP_CONFIG_MAX_BYTES + 1);
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	} else if (n > QREP_CONFIG_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %d bytes", path,
			 QREP_CONFIG_MAX_BYTES);
		ret = -EFBIG;
	} else {
		char why[256];

		ret = qrep_config_parse(text, (size_t)n, cfg, why, sizeof(why));
		if (ret)
			snprintf(err, errlen, "%s: %s", path, why);
	}
	free(text);
	return ret;
}
