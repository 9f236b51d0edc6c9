/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Strict parsers for command-line numbers. Each accepts the whole string
 * or nothing: no leading blanks or signs, no trailing junk, no overflow.
 * They return 0 or -EINVAL / -ERANGE and leave *out alone on failure.
 */
#ifndef QREP_LIB_PARSE_H
#define QREP_LIB_PARSE_H

#include <stdint.h>

/* Decimal digits only. */
int qrep_parse_u64(const char *s, uint64_t *out);

/* Like qrep_parse_u64, bounded to [min, max]. */
int qrep_parse_uint(const char *s, uint64_t min, uint64_t max,
		    uint64_t *out);

/*
 * A size in bytes: digits, optionally followed by one binary unit K, M, G,
 * T or P (upper or lower case, optionally followed by "iB"), so "4096",
 * "512M", "1G", "1GiB". Zero is refused (-EINVAL).
 */
int qrep_parse_size(const char *s, uint64_t *out);

#endif /* QREP_LIB_PARSE_H */
