// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers every harness links (see fuzz.h), and the stand-in for
 * lib/log.c: messages are still formatted, so the sanitizers check every
 * format and its arguments, but printed only when QREP_FUZZ_LOG is set in
 * the environment. A harness prints nothing on the happy path.
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>

#include "fuzz.h"
#include "log.h"

static int log_mode = -1;	/* -1 until read from the environment */

void qrep_log_init(const char *prog)
{
	(void)prog;
}

void qrep_log_set_level(enum qrep_log_level level)
{
	(void)level;
}

void qrep_log(enum qrep_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (log_mode < 0)
		log_mode = getenv("QREP_FUZZ_LOG") != NULL;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_mode)
		fprintf(stderr, "log %d: %s\n", (int)level, line);
}

int fuzz_memfd(const char *name, char *path, size_t pathlen)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

uint8_t fuzz_u8(struct fuzz_input *in)
{
	uint8_t v = 0;

	if (in->left) {
		v = *in->p++;
		in->left--;
	}
	return v;
}

uint32_t fuzz_u32(struct fuzz_input *in)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = v << 8 | fuzz_u8(in);
	return v;
}

uint64_t fuzz_u64(struct fuzz_input *in)
{
	return (uint64_t)fuzz_u32(in) << 32 | fuzz_u32(in);
}
