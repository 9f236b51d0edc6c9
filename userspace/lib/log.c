// SPDX-License-Identifier: GPL-2.0
/* Timestamped log lines on stderr; see log.h for the format. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Longer messages are cut; a log line is not the place for bulk data. */
#define LOG_LINE_MAX	1024

static const char *log_prog = "qrep";
static enum qrep_log_level log_level = QREP_LOG_INFO;

static const char *const level_names[] = {
	[QREP_LOG_ERR] = "error",
	[QREP_LOG_WARN] = "warning",
	[QREP_LOG_INFO] = "info",
	[QREP_LOG_DEBUG] = "debug",
};

void qrep_log_init(const char *prog)
{
	const char *slash = strrchr(prog, '/');

	log_prog = slash ? slash + 1 : prog;
}

void qrep_log_set_level(enum qrep_log_level level)
{
	log_level = level;
}

void qrep_log(enum qrep_log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	int saved_errno = errno;
	va_list ap;
	size_t len;
	int n;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
		     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d]: %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_prog,
		     (int)getpid(), level_names[level]);
	if (n < 0)
		goto out;
	len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	va_start(ap, fmt);
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	va_end(ap);
	if (n > 0)
		len += (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* Best effort: there is nowhere to report a failed log write. */
	if (write(STDERR_FILENO, line, len) < 0)
		goto out;
out:
	errno = saved_errno;
}
