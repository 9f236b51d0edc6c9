/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Real qrep-target processes for the unit tests that need a target on
 * the other end of a socket (test_resync, test_uptodate, test_target_e2e):
 * finding the binary, starting it with its output in a log, reaping it,
 * and a free loopback port to give it.
 */
#ifndef QREP_TEST_TARGET_PROC_H
#define QREP_TEST_TARGET_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Sleeps @ms milliseconds. */
void tp_nap(int ms);

/* $QREP_TARGET_BIN, else bin/qrep-target beside the test's unit/ folder. */
bool tp_locate_target(char *out, size_t len);

/* fork + exec of @argv, both output streams appended to @logpath. */
pid_t tp_launch(char *const argv[], const char *logpath);

/* Waits for @pid: its exit code, 128 + signal, or -1. */
int tp_reap(pid_t pid);

/* A loopback port nobody listens on right now (a race the caller retries). */
int tp_unused_port(void);

#endif /* QREP_TEST_TARGET_PROC_H */
