/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Explicit byte-order loads and stores on byte buffers.
 *
 * Network buffers and on-disk records are never cast to structures: every
 * field is read and written through these helpers at its documented offset,
 * so alignment, padding and the host's byte order never matter.
 */
#ifndef QREP_BYTES_H
#define QREP_BYTES_H

#include <stdint.h>

static inline void qrep_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void qrep_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static inline void qrep_put_be64(uint8_t *p, uint64_t v)
{
	qrep_put_be32(p, v >> 32);
	qrep_put_be32(p + 4, (uint32_t)v);
}

static inline uint16_t qrep_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t qrep_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t qrep_get_be64(const uint8_t *p)
{
	return (uint64_t)qrep_get_be32(p) << 32 | qrep_get_be32(p + 4);
}

static inline void qrep_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static inline void qrep_put_le64(uint8_t *p, uint64_t v)
{
	qrep_put_le32(p, (uint32_t)v);
	qrep_put_le32(p + 4, v >> 32);
}

static inline uint32_t qrep_get_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t qrep_get_le64(const uint8_t *p)
{
	return (uint64_t)qrep_get_le32(p + 4) << 32 | qrep_get_le32(p);
}

#endif /* QREP_BYTES_H */
