// SPDX-License-Identifier: GPL-2.0
/* Finding a resource's configuration: -c FILE, or NAME in the config dir. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrepctl.h"

int qrepctl_resource_load(int argc, char **argv, const char *command,
			  int extra_args, struct qrep_config *cfg,
			  char ***rest)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ 0 }
	};
	const char *file = NULL, *name = NULL, *dir;
	char path[4096], err[512];
	int opt;

	while ((opt = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (opt != 'c') {
			qrepctl_usage_of(command);
			return QREPCTL_EXIT_USAGE;
		}
		file = optarg;
	}
	/* RESOURCE is optional with -c, and then checked against the file. */
	if (argc - optind == extra_args + 1) {
		name = argv[optind++];
	} else if (!file || argc - optind != extra_args) {
		qrepctl_usage_of(command);
		return QREPCTL_EXIT_USAGE;
	}
	*rest = argv + optind;

	if (!file) {
		dir = getenv("QREP_CONFIG_DIR");
		snprintf(path, sizeof(path), "%s/%s.conf", dir ? dir : QREP_CONFIG_DIR,
			 name);
		file = path;
	}
	if (qrep_config_load(file, cfg, err, sizeof(err))) {
		fprintf(stderr, "qrepctl: %s\n", err);
		return QREPCTL_EXIT_FAIL;
	}
	if (name && strcmp(name, cfg->name) != 0) {
		fprintf(stderr, "qrepctl: %s describes resource '%s', not '%s'\n",
			file, cfg->name, name);
		return QREPCTL_EXIT_FAIL;
	}
	return 0;
}
