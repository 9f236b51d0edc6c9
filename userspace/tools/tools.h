/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qrep-store: reads replica stores by their on-disk format, for tests and
 * administrators. Stores are opened read-only and without the target's
 * lock; read a store while its target is stopped, or a block being
 * written at that moment may show as crc-bad.
 */
#ifndef QREP_TOOLS_H
#define QREP_TOOLS_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* Exit codes, as cmp(1) and diff(1) use them. */
#define QREP_STORE_EXIT_SAME	0	/* identical / all checksums good */
#define QREP_STORE_EXIT_DIFFER	1	/* differences / bad checksums */
#define QREP_STORE_EXIT_TROUBLE	2	/* usage or I/O error */

/* Blocks handled per step: one store read each. */
#define QREP_STORE_CHUNK	QREP_STORE_MAX_IO_BLOCKS

int qrep_store_cmd_versions(int argc, char **argv);
int qrep_store_cmd_compare(int argc, char **argv);
int qrep_store_cmd_check(int argc, char **argv);

/* Opens read-only, printing the reason on failure. */
struct qrep_store *qrep_tool_open(const char *path);

/*
 * The next chunk at or after pos, before end, in which at least one of
 * the stores may hold a written block (holes in their metadata areas
 * are skipped). Returns 0 and sets *start and *n, or 1 when there is
 * none left, or -errno.
 */
int qrep_tool_next_chunk(struct qrep_store **stores, int nstores,
			 uint64_t pos, uint64_t end, uint64_t *start,
			 uint32_t *n);

#endif /* QREP_TOOLS_H */
