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

#include "cli.h"
#include "log.h"
#include "tools.h"

static const struct qrep_cli_command commands[] = {
	{ "versions", qrep_store_cmd_versions,
	  "--store PATH [--from BLOCK] [--count N] [--written]", NULL },
	{ "compare", qrep_store_cmd_compare, "STORE_A STORE_B [STORE...]", NULL },
	{ "check", qrep_store_cmd_check, "--store PATH", NULL },
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

int main(int argc, char **argv)
{
	qrep_log_init("qrep-store");
	return qrep_cli_main("qrep-store", commands,
			     sizeof(commands) / sizeof(commands[0]), argc, argv);
}
