// SPDX-License-Identifier: GPL-2.0
/*
 * CRC32C in software (slicing by 8: eight table lookups per 8 bytes) and
 * with the SSE4.2 crc32 instruction. Both give identical results; the
 * choice is made once, at the first call, from what the CPU reports.
 */
#include <pthread.h>
#include <string.h>

#include "crc32c.h"

#define CRC32C_POLY	0x82F63B78U	/* Castagnoli, bit-reflected */
#define SLICES		8

static uint32_t crc_table[SLICES][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static bool crc_use_hw;

static void crc32c_init(void)
{
	uint32_t c;
	int i, j;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (c & 1 ? CRC32C_POLY : 0);
		crc_table[0][i] = c;
	}
	/* table[k][i]: CRC of byte i followed by k zero bytes. */
	for (i = 0; i < 256; i++) {
		c = crc_table[0][i];
		for (j = 1; j < SLICES; j++) {
			c = (c >> 8) ^ crc_table[0][c & 0xff];
			crc_table[j][i] = c;
		}
	}
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	crc_use_hw = __builtin_cpu_supports("sse4.2");
#endif
}

uint32_t qrep_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t w;

	pthread_once(&crc_once, crc32c_init);
	crc = ~crc;
	while (len && ((uintptr_t)p & 7)) {
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		/*
		 * Assemble the word byte by byte: the tables assume the
		 * first byte in the low bits whatever the host order is.
		 */
		w = (uint64_t)p[0] | (uint64_t)p[1] << 8 |
		    (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
		    (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
		    (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
		w ^= crc;
		crc = crc_table[7][w & 0xff] ^
		      crc_table[6][(w >> 8) & 0xff] ^
		      crc_table[5][(w >> 16) & 0xff] ^
		      crc_table[4][(w >> 24) & 0xff] ^
		      crc_table[3][(w >> 32) & 0xff] ^
		      crc_table[2][(w >> 40) & 0xff] ^
		      crc_table[1][(w >> 48) & 0xff] ^
		      crc_table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = ~crc, w;

	while (len && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	while (len >= 8) {
		memcpy(&w, p, sizeof(w));	/* x86 is little-endian */
		c = _mm_crc32_u64(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}
#endif

bool qrep_crc32c_hw_available(void)
{
	pthread_once(&crc_once, crc32c_init);
	return crc_use_hw;
}

uint32_t qrep_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
#if defined(__x86_64__)
	if (qrep_crc32c_hw_available())
		return crc32c_sse42(crc, buf, len);
#endif
	return qrep_crc32c_sw(crc, buf, len);
}

uint32_t qrep_crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (qrep_crc32c_hw_available())
		return qrep_crc32c_hw(crc, buf, len);
	return qrep_crc32c_sw(crc, buf, len);
}
