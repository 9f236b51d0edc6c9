// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f, const char *prog,
		  const struct qrep_cli_command *cmds, size_t n)
{
	size_t i;

	fprintf(f, "usage: %s COMMAND [ARGS]\n\ncommands:\n", prog);
	for (i = 0; i < n; i++) {
		fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].args);
		if (cmds[i].summary)
			fprintf(f, "            %s\n", cmds[i].summary);
	}
}

void qrep_cli_usage_of(const char *prog, const struct qrep_cli_command *cmds,
		       size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(cmds[i].name, name) == 0)
			fprintf(stderr, "usage: %s %s %s\n", prog, name,
				cmds[i].args);
}

int qrep_cli_main(const char *prog, const struct qrep_cli_command *cmds,
		  size_t n, int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr, prog, cmds, n);
		return QREP_CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout, prog, cmds, n);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[1]);
	usage(stderr, prog, cmds, n);
	return QREP_CLI_EXIT_USAGE;
}
