// SPDX-License-Identifier: GPL-2.0
/*
 * The small parsers of command-line and configuration values: numbers and
 * sizes (lib/parse.c), UUIDs (lib/uuid.c), "host:port" (lib/net.c) and
 * durations (lib/config.c).
 *
 * Input: the text, given to every parser (up to its first NUL), in a heap
 * buffer of exactly its length so that reading past the end is caught.
 *
 * Invariants:
 *  - a failure leaves the output alone, and is -EINVAL or -ERANGE;
 *  - an accepted number prints back as the same digits, leading zeros
 *    aside; qrep_parse_uint agrees with qrep_parse_u64 within its bounds;
 *    a size is not 0 and is its digits times its unit;
 *  - an accepted UUID formats back as the same text in lower case, and
 *    that parses to the same bytes;
 *  - an accepted "host:port" gives a NUL-terminated host without
 *    brackets or blanks and a port in range, both fitting their buffers,
 *    and putting them back together parses to the same parts;
 *  - an accepted duration is at least 1 ms and its number times its unit.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "net.h"
#include "parse.h"
#include "uuid.h"

#define UNTOUCHED	0x5a5a5a5a5a5a5a5aULL

static bool all_digits(const char *s)
{
	return s[0] && strspn(s, "0123456789") == strlen(s);
}

/* The decimal digits of s without leading zeros ("0" stays "0"). */
static const char *strip_zeros(const char *s)
{
	while (s[0] == '0' && s[1])
		s++;
	return s;
}

static void fuzz_numbers(const char *s)
{
	static const uint64_t bounds[][2] = {
		{ 0, UINT64_MAX }, { 1, 65535 }, { 1, 256 }, { 7, 7 },
	};
	uint64_t v = UNTOUCHED, u, sz = UNTOUCHED;
	char back[32];
	size_t i, digits;
	int err, err2;

	err = qrep_parse_u64(s, &v);
	FUZZ_ASSERT(err == 0 || err == -EINVAL || err == -ERANGE);
	if (err) {
		FUZZ_ASSERT(v == UNTOUCHED);
		FUZZ_ASSERT(!all_digits(s) || err == -ERANGE);
	} else {
		FUZZ_ASSERT(all_digits(s));
		snprintf(back, sizeof(back), "%" PRIu64, v);
		FUZZ_ASSERT(!strcmp(back, strip_zeros(s)));
	}

	for (i = 0; i < FUZZ_ARRAY_SIZE(bounds); i++) {
		u = UNTOUCHED;
		err2 = qrep_parse_uint(s, bounds[i][0], bounds[i][1], &u);
		if (err) {
			FUZZ_ASSERT(err2 == err && u == UNTOUCHED);
		} else if (v < bounds[i][0] || v > bounds[i][1]) {
			FUZZ_ASSERT(err2 == -ERANGE && u == UNTOUCHED);
		} else {
			FUZZ_ASSERT(err2 == 0 && u == v);
		}
	}

	err2 = qrep_parse_size(s, &sz);
	FUZZ_ASSERT(err2 == 0 || err2 == -EINVAL || err2 == -ERANGE);
	if (err2) {
		FUZZ_ASSERT(sz == UNTOUCHED);
		return;
	}
	FUZZ_ASSERT(sz > 0);
	digits = strspn(s, "0123456789");
	FUZZ_ASSERT(digits > 0);
	if (!s[digits]) {
		FUZZ_ASSERT(err == 0 && sz == v);
	} else {
		static const char units[] = "kmgtp";
		const char *unit = strchr(units,
					  tolower((unsigned char)s[digits]));
		char *number = strndup(s, digits);
		uint64_t n;
		int shift;

		FUZZ_ASSERT(unit && *unit);
		FUZZ_ASSERT(!s[digits + 1] || !strcmp(s + digits + 1, "iB"));
		shift = 10 * (int)(unit - units + 1);
		FUZZ_ASSERT(number && qrep_parse_u64(number, &n) == 0);
		FUZZ_ASSERT(n > 0 && n <= UINT64_MAX >> shift);
		FUZZ_ASSERT(sz == n << shift);
		free(number);
	}
}

static void fuzz_uuid(const char *s)
{
	uint8_t uuid[QREP_UUID_SIZE], again[QREP_UUID_SIZE];
	char text[QREP_UUID_STR_LEN + 1];
	size_t i;

	memset(uuid, 0xa5, sizeof(uuid));
	if (qrep_uuid_parse(s, uuid)) {
		for (i = 0; i < sizeof(uuid); i++)
			FUZZ_ASSERT(uuid[i] == 0xa5);
		return;
	}
	FUZZ_ASSERT(strlen(s) == QREP_UUID_STR_LEN);
	qrep_uuid_format(uuid, text);
	FUZZ_ASSERT(strlen(text) == QREP_UUID_STR_LEN);
	for (i = 0; i < QREP_UUID_STR_LEN; i++)
		FUZZ_ASSERT(text[i] == tolower((unsigned char)s[i]));
	FUZZ_ASSERT(qrep_uuid_parse(text, again) == 0);
	FUZZ_ASSERT(!memcmp(uuid, again, sizeof(uuid)));
	FUZZ_ASSERT(qrep_uuid_is_null(uuid) ==
		    !strcmp(text, "00000000-0000-0000-0000-000000000000"));
}

/* Parses with buffers of exactly hostlen and portlen bytes on the heap. */
static int hostport(const char *s, size_t hostlen, size_t portlen,
		    bool allow_zero, char **host, char **port)
{
	int err;

	*host = malloc(hostlen);
	*port = malloc(portlen);
	FUZZ_ASSERT(*host && *port);
	memset(*host, 'H', hostlen);
	memset(*port, 'P', portlen);
	err = qrep_parse_hostport(s, *host, hostlen, *port, portlen,
				  allow_zero);
	FUZZ_ASSERT(err == 0 || err == -EINVAL || err == -ENAMETOOLONG);
	if (!err) {
		FUZZ_ASSERT(memchr(*host, '\0', hostlen));
		FUZZ_ASSERT(memchr(*port, '\0', portlen));
	}
	return err;
}

static void fuzz_hostport(const char *s, size_t len)
{
	/* What the callers pass, and small buffers cut from the input. */
	const size_t sizes[][2] = {
		{ QREP_HOST_MAX, QREP_PORT_MAX },
		{ 1 + len % 64, 1 + len % QREP_PORT_MAX },
	};
	char *host, *port, *host2, *port2, *joined;
	bool allow_zero;
	uint64_t pn;
	size_t i, z, need;
	int err;

	for (i = 0; i < FUZZ_ARRAY_SIZE(sizes); i++) {
		for (z = 0; z < 2; z++) {
			allow_zero = z;
			err = hostport(s, sizes[i][0], sizes[i][1],
				       allow_zero, &host, &port);
			if (err)
				goto next;
			FUZZ_ASSERT(!strpbrk(host, "[] "));
			FUZZ_ASSERT(qrep_parse_uint(port, allow_zero ? 0 : 1,
						    65535, &pn) == 0);
			FUZZ_ASSERT(!strcmp(port, strip_zeros(port)));

			/* Put back together, it means the same. */
			need = strlen(host) + strlen(port) + 4;
			joined = malloc(need);
			FUZZ_ASSERT(joined);
			if (!host[0])
				snprintf(joined, need, ":%s", port);
			else if (strchr(host, ':'))
				snprintf(joined, need, "[%s]:%s", host, port);
			else
				snprintf(joined, need, "%s:%s", host, port);
			err = hostport(joined, strlen(host) + 1,
				       strlen(port) + 1, allow_zero, &host2,
				       &port2);
			FUZZ_ASSERT(err == 0);
			FUZZ_ASSERT(!strcmp(host, host2));
			FUZZ_ASSERT(!strcmp(port, port2));
			free(joined);
			free(host2);
			free(port2);
next:
			free(host);
			free(port);
		}
	}
}

static void fuzz_duration(const char *s)
{
	static const struct { const char *unit; uint64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 },
	};
	uint32_t ms = 0xdeadbeef;
	size_t digits = strspn(s, "0123456789"), i;
	char number[32];
	uint64_t n;
	int err;

	err = qrep_parse_duration_ms(s, &ms);
	FUZZ_ASSERT(err == 0 || err == -EINVAL || err == -ERANGE);
	if (err) {
		FUZZ_ASSERT(ms == 0xdeadbeef);
		return;
	}
	FUZZ_ASSERT(ms > 0);
	FUZZ_ASSERT(digits > 0 && digits < sizeof(number));
	memcpy(number, s, digits);
	number[digits] = '\0';
	FUZZ_ASSERT(qrep_parse_u64(number, &n) == 0);
	for (i = 0; i < FUZZ_ARRAY_SIZE(units); i++)
		if (!strcmp(s + digits, units[i].unit))
			break;
	FUZZ_ASSERT(i < FUZZ_ARRAY_SIZE(units));
	FUZZ_ASSERT(n * units[i].ms == ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = strnlen((const char *)data, size);
	char *s = malloc(len + 1);

	FUZZ_ASSERT(s);
	memcpy(s, data, len);
	s[len] = '\0';
	fuzz_numbers(s);
	fuzz_uuid(s);
	fuzz_hostport(s, len);
	fuzz_duration(s);
	free(s);
	return 0;
}
