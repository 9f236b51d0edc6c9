/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI,
 * ext4 and btrfs. qrep_crc32c(0, "123456789", 9) == 0xE3069283.
 *
 * The value returned is the finished CRC (inverted), and passing it back
 * in as @crc continues it over more data, so a CRC can be built in pieces.
 */
#ifndef QREP_LIB_CRC32C_H
#define QREP_LIB_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Picks the SSE4.2 instruction when the CPU has it, else software. */
uint32_t qrep_crc32c(uint32_t crc, const void *buf, size_t len);

/* The two implementations, exposed so tests can compare them. */
uint32_t qrep_crc32c_sw(uint32_t crc, const void *buf, size_t len);
bool qrep_crc32c_hw_available(void);
/* Only call when qrep_crc32c_hw_available(); falls back to software. */
uint32_t qrep_crc32c_hw(uint32_t crc, const void *buf, size_t len);

#endif /* QREP_LIB_CRC32C_H */
