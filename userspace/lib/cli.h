/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command dispatch every qrep tool shares: "PROG COMMAND [ARGS]", one
 * function per command, a usage listing, help on -h/--help/help.
 */
#ifndef QREP_LIB_CLI_H
#define QREP_LIB_CLI_H

#include <stddef.h>

/* Exit status for bad usage, the same for every tool. */
#define QREP_CLI_EXIT_USAGE	2

struct qrep_cli_command {
	const char *name;
	int (*run)(int argc, char **argv);	/* argv[0] is the command */
	const char *args;			/* shown after the name */
	const char *summary;			/* optional, a line of its own */
};

/*
 * Runs the command argv[1] names. No command, or an unknown one: the
 * usage on stderr and QREP_CLI_EXIT_USAGE. Help: the usage on stdout, 0.
 */
int qrep_cli_main(const char *prog, const struct qrep_cli_command *cmds,
		  size_t n, int argc, char **argv);

/* "usage: PROG NAME ARGS" on stderr, for a command's own argument errors. */
void qrep_cli_usage_of(const char *prog, const struct qrep_cli_command *cmds,
		       size_t n, const char *name);

#endif /* QREP_LIB_CLI_H */
