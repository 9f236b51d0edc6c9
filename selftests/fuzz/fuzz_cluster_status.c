// SPDX-License-Identifier: GPL-2.0
/*
 * The cluster status file (lib/cluster_status.c) that qrepd writes and
 * qrepctl status reads: a reader must survive any file, and what the
 * writer writes must read back as it was written.
 *
 * Input, used twice:
 *  - as the text of a status file, given to the parser in a heap buffer
 *    of exactly its length, so reading past the end is caught;
 *  - as the fields of a status (numbers, then strings cut from the rest
 *    at NUL bytes), which is formatted and parsed back.
 *
 * Invariants:
 *  - the parser returns 0 or -EINVAL; what it accepts has NUL-terminated
 *    strings within their buffers, at most QREP_CONFIG_MAX_NODES nodes,
 *    each with a non-zero id;
 *  - formatting an accepted status and parsing the text again succeeds
 *    and formats to the same text (the writer and the reader agree);
 *  - a status built from any fields that formats at all parses back with
 *    the same numbers and nodes.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "cluster_status.h"
#include "fuzz.h"

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void check_shape(const struct qrep_cluster_status *st)
{
	unsigned int i;

	FUZZ_ASSERT(terminated(st->resource, sizeof(st->resource)));
	FUZZ_ASSERT(terminated(st->election, sizeof(st->election)));
	FUZZ_ASSERT(terminated(st->device_role, sizeof(st->device_role)));
	FUZZ_ASSERT(terminated(st->last_change, sizeof(st->last_change)));
	FUZZ_ASSERT(st->nr_nodes <= QREP_CONFIG_MAX_NODES);
	for (i = 0; i < st->nr_nodes; i++) {
		FUZZ_ASSERT(st->nodes[i].id != 0);
		FUZZ_ASSERT(terminated(st->nodes[i].addr,
				       sizeof(st->nodes[i].addr)));
	}
}

/* Formats @st, parses the text back into @back; the text's length. */
static size_t round_trip(const struct qrep_cluster_status *st,
			 struct qrep_cluster_status *back, char *text)
{
	size_t len = qrep_cluster_status_format(st, text,
						 QREP_CLUSTER_STATUS_MAX);

	if (len) {
		FUZZ_ASSERT(len < QREP_CLUSTER_STATUS_MAX);
		FUZZ_ASSERT(qrep_cluster_status_parse(text, len, back) == 0);
		check_shape(back);
	}
	return len;
}

static void parse_text(const uint8_t *data, size_t size)
{
	static char text[QREP_CLUSTER_STATUS_MAX], again[QREP_CLUSTER_STATUS_MAX];
	struct qrep_cluster_status st, back, back2;
	char *copy = malloc(size ? size : 1);
	size_t len, len2;
	int ret;

	FUZZ_ASSERT(copy);
	memcpy(copy, data, size);
	ret = qrep_cluster_status_parse(copy, size, &st);
	free(copy);
	FUZZ_ASSERT(ret == 0 || ret == -EINVAL);
	if (ret)
		return;
	check_shape(&st);
	len = round_trip(&st, &back, text);
	if (!len)
		return;
	len2 = round_trip(&back, &back2, again);
	FUZZ_ASSERT(len2 == len && !memcmp(text, again, len));
}

/* One word, as a name or an address in a config file: up to a blank. */
static void one_word(char *s)
{
	while (*s && !isspace((unsigned char)*s))
		s++;
	*s = '\0';
}

/* Cuts the next string off the input: up to a NUL, or all that is left. */
static void take_string(struct fuzz_input *in, char *s, size_t size)
{
	size_t n = 0;

	while (in->left && n + 1 < size) {
		char c = (char)*in->p++;

		in->left--;
		if (!c)
			break;
		s[n++] = c;
	}
	s[n] = '\0';
}

static void format_fields(const uint8_t *data, size_t size)
{
	static char text[QREP_CLUSTER_STATUS_MAX];
	struct fuzz_input in = { .p = data, .left = size };
	struct qrep_cluster_status st = { 0 }, back;
	unsigned int i;

	st.device = fuzz_u32(&in);
	st.self = fuzz_u32(&in);
	st.pid = fuzz_u32(&in);
	st.updated_ms = fuzz_u64(&in);
	st.primary = fuzz_u32(&in);
	st.epoch = fuzz_u64(&in);
	st.seen_epoch = fuzz_u64(&in);
	st.nr_nodes = fuzz_u8(&in) % (QREP_CONFIG_MAX_NODES + 1);
	for (i = 0; i < st.nr_nodes; i++) {
		/* As qrepd writes them: ids of the config, never 0. */
		st.nodes[i].id = fuzz_u32(&in) | 1;
		st.nodes[i].last_heard_ms = fuzz_u64(&in);
	}
	/* A resource name and an address are one word (config.c). */
	take_string(&in, st.resource, sizeof(st.resource));
	one_word(st.resource);
	take_string(&in, st.election, sizeof(st.election));
	take_string(&in, st.device_role, sizeof(st.device_role));
	take_string(&in, st.last_change, sizeof(st.last_change));
	for (i = 0; i < st.nr_nodes; i++) {
		char *a = st.nodes[i].addr;

		take_string(&in, a, sizeof(st.nodes[i].addr));
		one_word(a);
		if (!a[0])
			strcpy(a, "-");
	}

	if (!round_trip(&st, &back, text))
		return;
	FUZZ_ASSERT(back.device == st.device && back.self == st.self);
	FUZZ_ASSERT(back.pid == st.pid && back.updated_ms == st.updated_ms);
	FUZZ_ASSERT(back.primary == st.primary && back.epoch == st.epoch);
	FUZZ_ASSERT(back.seen_epoch == st.seen_epoch);
	FUZZ_ASSERT(!strcmp(back.resource, st.resource));
	FUZZ_ASSERT(back.nr_nodes == st.nr_nodes);
	for (i = 0; i < st.nr_nodes; i++) {
		FUZZ_ASSERT(back.nodes[i].id == st.nodes[i].id);
		FUZZ_ASSERT(back.nodes[i].last_heard_ms ==
			    st.nodes[i].last_heard_ms);
		FUZZ_ASSERT(!strcmp(back.nodes[i].addr, st.nodes[i].addr));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_text(data, size);
	format_fields(data, size);
	return 0;
}
