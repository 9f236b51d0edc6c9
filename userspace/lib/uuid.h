/* SPDX-License-Identifier: GPL-2.0 */
/*
 * UUIDs in their RFC 4122 text form, 8-4-4-4-12 hex digits:
 * "0f8e2c1a-5b3d-4e6f-9a7b-8c9d0e1f2a3b". Parsing accepts either case;
 * formatting writes lower case.
 */
#ifndef QREP_LIB_UUID_H
#define QREP_LIB_UUID_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/qrep_proto.h>

#define QREP_UUID_STR_LEN	36	/* without the terminating NUL */

int qrep_uuid_parse(const char *s, uint8_t uuid[QREP_UUID_SIZE]);
void qrep_uuid_format(const uint8_t uuid[QREP_UUID_SIZE],
		      char out[QREP_UUID_STR_LEN + 1]);
/* A random (version 4) UUID from the kernel's random pool. */
int qrep_uuid_generate(uint8_t uuid[QREP_UUID_SIZE]);
bool qrep_uuid_is_null(const uint8_t uuid[QREP_UUID_SIZE]);

#endif /* QREP_LIB_UUID_H */
