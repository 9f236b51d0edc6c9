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
#include "cli.h"
#include "log.h"
#include "target.h"

static const struct qrep_cli_command commands[] = {
	{ "init", qrep_target_cmd_init,
	  "--store PATH --size SIZE [--uuid UUID] [--force]", NULL },
	{ "serve", qrep_target_cmd_serve,
	  "--store PATH --listen ADDR:PORT [--threads N] "
	  "[--stats-file PATH]", NULL },
	{ "info", qrep_target_cmd_info, "--store PATH", NULL },
};

int main(int argc, char **argv)
{
	qrep_log_init("qrep-target");
	return qrep_cli_main("qrep-target", commands,
			     sizeof(commands) / sizeof(commands[0]), argc, argv);
}
