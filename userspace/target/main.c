// SPDX-License-Identifier: GPL-2.0
/*
 * qrep-target: serves one replica store over TCP.
 *
 *   qrep-target init  --store PATH --size SIZE [--uuid UUID] [--replace]
 *                     [--force]
 *   qrep-target serve --store PATH --listen ADDR:PORT [--threads N]
 *                     [--stats-file PATH]
 *   qrep-target info  --store PATH
 *   qrep-target join  --store PATH --config FILE --replica NAME
 *                     [--epoch-floor E]
 *
 * Each subcommand lives in its own file; this one only dispatches.
 */
#include "cli.h"
#include "log.h"
#include "target.h"

static const struct qrep_cli_command commands[] = {
	{ "init", qrep_target_cmd_init,
	  "--store PATH --size SIZE [--uuid UUID] [--replace] [--force]",
	  NULL },
	{ "serve", qrep_target_cmd_serve,
	  "--store PATH --listen ADDR:PORT [--threads N] "
	  "[--stats-file PATH]", NULL },
	{ "info", qrep_target_cmd_info, "--store PATH", NULL },
	{ "join", qrep_target_cmd_join,
	  "--store PATH --config FILE --replica NAME [--epoch-floor E]",
	  NULL },
};

int main(int argc, char **argv)
{
	qrep_log_init("qrep-target");
	return qrep_cli_main("qrep-target", commands,
			     sizeof(commands) / sizeof(commands[0]), argc, argv);
}
