// SPDX-License-Identifier: GPL-2.0
/* Strict number and size parsers; see parse.h. */
#include <errno.h>
#include <string.h>

#include "parse.h"

/* Parses leading digits; returns the number of characters consumed. */
static int parse_digits(const char *s, uint64_t *out, size_t *used)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned int d = (unsigned int)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (i == 0)
		return -EINVAL;
	*out = v;
	*used = i;
	return 0;
}

int qrep_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v;
	size_t used;
	int err;

	if (!s)
		return -EINVAL;
	err = parse_digits(s, &v, &used);
	if (err)
		return err;
	if (s[used])
		return -EINVAL;
	*out = v;
	return 0;
}

int qrep_parse_uint(const char *s, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	uint64_t v;
	int err;

	err = qrep_parse_u64(s, &v);
	if (err)
		return err;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int unit_shift(char c)
{
	switch (c) {
	case 'k': case 'K':
		return 10;
	case 'm': case 'M':
		return 20;
	case 'g': case 'G':
		return 30;
	case 't': case 'T':
		return 40;
	case 'p': case 'P':
		return 50;
	}
	return -1;
}

int qrep_parse_size(const char *s, uint64_t *out)
{
	const char *rest;
	uint64_t v;
	size_t used;
	int shift = 0;
	int err;

	if (!s)
		return -EINVAL;
	err = parse_digits(s, &v, &used);
	if (err)
		return err;
	rest = s + used;
	if (*rest) {
		shift = unit_shift(*rest);
		if (shift < 0)
			return -EINVAL;
		rest++;
		if (*rest && strcmp(rest, "iB"))
			return -EINVAL;
	}
	if (v == 0)
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}
