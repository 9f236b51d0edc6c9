/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Logging: one timestamped line per message on stderr, prefixed with the
 * program's name and pid, e.g.
 *
 *   2025-01-31T12:00:00.123Z qrep-target[812]: error: cannot open ...
 *
 * Each line is written with a single write(2), so lines from several
 * threads never interleave.
 */
#ifndef QREP_LIB_LOG_H
#define QREP_LIB_LOG_H

enum qrep_log_level {
	QREP_LOG_ERR,
	QREP_LOG_WARN,
	QREP_LOG_INFO,
	QREP_LOG_DEBUG,
};

void qrep_log_init(const char *prog);
void qrep_log_set_level(enum qrep_log_level level);
void qrep_log(enum qrep_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define qrep_err(...)	qrep_log(QREP_LOG_ERR, __VA_ARGS__)
#define qrep_warn(...)	qrep_log(QREP_LOG_WARN, __VA_ARGS__)
#define qrep_info(...)	qrep_log(QREP_LOG_INFO, __VA_ARGS__)
#define qrep_dbg(...)	qrep_log(QREP_LOG_DEBUG, __VA_ARGS__)

#endif /* QREP_LIB_LOG_H */
