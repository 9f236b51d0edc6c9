/* SPDX-License-Identifier: GPL-2.0 */
#ifndef QREPCTL_H
#define QREPCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "genl.h"

/* Exit codes: 0 success, 1 the operation failed, 2 bad usage. */
#define QREPCTL_EXIT_FAIL	1
#define QREPCTL_EXIT_USAGE	2

int qrepctl_create(int argc, char **argv);
int qrepctl_destroy(int argc, char **argv);
int qrepctl_status(int argc, char **argv);
int qrepctl_events(int argc, char **argv);
int qrepctl_up(int argc, char **argv);
int qrepctl_down(int argc, char **argv);
int qrepctl_reconnect(int argc, char **argv);
int qrepctl_resync(int argc, char **argv);
int qrepctl_verify(int argc, char **argv);


/*
 * Parses "[-c FILE] [RESOURCE] ARGS..." for a resource command: loads the
 * configuration and points *rest at the @extra_args arguments after it.
 * Returns 0 or an exit code (the reason already printed).
 */
int qrepctl_resource_load(int argc, char **argv, const char *command,
			  int extra_args, struct qrep_config *cfg,
			  char ***rest);

/* Opens the netlink family or prints why not; returns 0 or an exit code. */
int qrepctl_genl_open(struct qrep_genl *g);
/* Prints "qrepctl: <what>: <kernel message or strerror>"; returns 1. */
int qrepctl_genl_fail(struct qrep_genl *g, const char *what, int err);
void qrepctl_usage_of(const char *name);

const char *qrepctl_mode_name(uint32_t mode);
/*
 * QREP_A_DEV_ROLE as a word; an older module sends none, and every
 * device of such a module serves I/O: "primary".
 */
const char *qrepctl_role_name(const struct nlattr *role);

#endif /* QREPCTL_H */
