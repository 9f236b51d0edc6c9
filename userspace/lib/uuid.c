// SPDX-License-Identifier: GPL-2.0
/* UUID text form and generation; see uuid.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "uuid.h"

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_dash_pos(size_t i)
{
	return i == 8 || i == 13 || i == 18 || i == 23;
}

int qrep_uuid_parse(const char *s, uint8_t uuid[QREP_UUID_SIZE])
{
	uint8_t tmp[QREP_UUID_SIZE];
	size_t i, n = 0;
	int hi, lo;

	if (!s || strlen(s) != QREP_UUID_STR_LEN)
		return -EINVAL;
	for (i = 0; i < QREP_UUID_STR_LEN; ) {
		if (is_dash_pos(i)) {
			if (s[i] != '-')
				return -EINVAL;
			i++;
			continue;
		}
		hi = hex_val(s[i]);
		lo = hex_val(s[i + 1]);
		if (hi < 0 || lo < 0 || is_dash_pos(i + 1))
			return -EINVAL;
		tmp[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	memcpy(uuid, tmp, QREP_UUID_SIZE);
	return 0;
}

void qrep_uuid_format(const uint8_t uuid[QREP_UUID_SIZE],
		      char out[QREP_UUID_STR_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < QREP_UUID_SIZE; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[uuid[i] >> 4];
		out[o++] = hex[uuid[i] & 0xf];
	}
	out[o] = '\0';
}

int qrep_uuid_generate(uint8_t uuid[QREP_UUID_SIZE])
{
	ssize_t n = getrandom(uuid, QREP_UUID_SIZE, 0);

	if (n != QREP_UUID_SIZE)
		return n < 0 ? -errno : -EIO;
	uuid[6] = (uuid[6] & 0x0f) | 0x40;	/* version 4: random */
	uuid[8] = (uuid[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	return 0;
}

bool qrep_uuid_is_null(const uint8_t uuid[QREP_UUID_SIZE])
{
	int i;

	for (i = 0; i < QREP_UUID_SIZE; i++)
		if (uuid[i])
			return false;
	return true;
}
