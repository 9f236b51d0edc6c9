// SPDX-License-Identifier: GPL-2.0
/*
 * qrep-target: serves one replica store over TCP.
 *
 *   qrep-target init  --store PATH --size SIZE [--uuid UUID] [--force]
 *   qrep-target serve --store PATH --listen ADDR:PORT [--threads N]
 *                     [--stats-file PATH]
 *   qrep-target info  --store PATH
 *
 * Each subcommand lives in its own file; this one only dispatches.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "target.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *args;
} commands[] = {
	{ "init", qrep_target_cmd_init,
	  "--store PATH --size SIZE [--uuid UUID] [--force]" },
	{ "serve", qrep_target_cmd_serve,
	  "--store PATH --listen ADDR:PORT [--threads N] "
	  "[--stats-file PATH]" },
	{ "info", qrep_target_cmd_info, "--store PATH" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  qrep-target %-5s %s\n", commands[i].name,
			commands[i].args);
}

int main(int argc, char **argv)
{
	size_t i;

	qrep_log_init("qrep-target");
	if (argc < 2) {
		usage(stderr);
		return QREP_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return QREP_EXIT_OK;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "qrep-target: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return QREP_EXIT_USAGE;
}
