/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP helpers shared by the target, the daemons and the tests.
 *
 * Functions return 0 (or a file descriptor) on success and -errno on
 * failure, so callers can print strerror(-ret).
 */
#ifndef QREP_LIB_NET_H
#define QREP_LIB_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Room for any numeric host or port, with its NUL. */
#define QREP_HOST_MAX		256
#define QREP_PORT_MAX		8
/* Room for "[host]:port" with its NUL. */
#define QREP_ADDR_STR_MAX	(QREP_HOST_MAX + QREP_PORT_MAX + 4)

/*
 * Reads exactly len bytes, retrying on EINTR and short reads.
 * Returns len; 0 if the peer closed before the first byte (a clean end
 * between messages); -EPIPE if it closed part way (a truncated message);
 * -errno on error (-EAGAIN when a receive timeout expired).
 */
ssize_t qrep_read_full(int fd, void *buf, size_t len);

/* Writes exactly len bytes; 0 or -errno. Never raises SIGPIPE. */
int qrep_write_full(int fd, const void *buf, size_t len);

/*
 * Writes all of iov[0..iovcnt-1] (the array is modified as it goes);
 * 0 or -errno. Never raises SIGPIPE.
 */
int qrep_writev_full(int fd, struct iovec *iov, int iovcnt);

/*
 * Splits "host:port", "[v6addr]:port" or ":port" (any address) into its
 * parts. The port must be a number 0..65535; 0 only if allow_zero (asking
 * the kernel for a free port when listening).
 */
int qrep_parse_hostport(const char *s, char *host, size_t hostlen,
			char *port, size_t portlen, bool allow_zero);

/*
 * Listens on "ADDR:PORT" (IPv4 or IPv6; an empty or "*" host means every
 * address) with SO_REUSEADDR. EADDRINUSE comes back as -EADDRINUSE.
 */
int qrep_listen(const char *hostport, int backlog);

/* Connects to "host:port", giving up after timeout_ms (-ETIMEDOUT). */
int qrep_connect(const char *hostport, int timeout_ms);

/* Formats the local or peer address of a socket as "[v6]:port"/"v4:port". */
void qrep_sock_name(int fd, bool peer, char *buf, size_t len);

/* TCP_NODELAY: requests and replies are small and latency-bound. */
int qrep_sock_set_nodelay(int fd);

/* Send and receive timeouts (0 = wait forever). */
int qrep_sock_set_timeouts(int fd, int send_ms, int recv_ms);

/* TCP keepalive: probe after idle_s, every intvl_s, give up after cnt. */
int qrep_sock_set_keepalive(int fd, int idle_s, int intvl_s, int cnt);

#endif /* QREP_LIB_NET_H */
