// SPDX-License-Identifier: GPL-2.0
/*
 * qrep-store: inspect replica stores offline.
 *
 *   qrep-store versions --store PATH [--from BLOCK --count N] [--written]
 *   qrep-store compare STORE_A STORE_B [STORE...]
 *   qrep-store check --store PATH
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "tools.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *args;
} commands[] = {
	{ "versions", qrep_store_cmd_versions,
	  "--store PATH [--from BLOCK] [--count N] [--written]" },
	{ "compare", qrep_store_cmd_compare, "STORE_A STORE_B [STORE...]" },
	{ "check", qrep_store_cmd_check, "--store PATH" },
};

struct qrep_store *qrep_tool_open(const char *path)
{
	struct qrep_store *s;
	char err[512];

	if (qrep_store_open(path, QREP_STORE_RDONLY, &s, err, sizeof(err))) {
		qrep_err("%s", err);
		return NULL;
	}
	return s;
}

int qrep_tool_next_chunk(struct qrep_store **stores, int nstores,
			 uint64_t pos, uint64_t end, uint64_t *start,
			 uint32_t *n)
{
	uint64_t best = end, next;
	int i, err;

	for (i = 0; i < nstores; i++) {
		err = qrep_store_next_meta_data(stores[i], pos, &next);
		if (err)
			return err;
		if (next < best)
			best = next;
	}
	if (best >= end)
		return 1;
	*start = best;
	*n = end - best < QREP_STORE_CHUNK ? (uint32_t)(end - best) :
	     QREP_STORE_CHUNK;
	return 0;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  qrep-store %-8s %s\n", commands[i].name,
			commands[i].args);
}

int main(int argc, char **argv)
{
	size_t i;

	qrep_log_init("qrep-store");
	if (argc < 2) {
		usage(stderr);
		return QREP_STORE_EXIT_TROUBLE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return QREP_STORE_EXIT_SAME;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "qrep-store: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return QREP_STORE_EXIT_TROUBLE;
}
