// SPDX-License-Identifier: GPL-2.0
/* Exact reads and writes, address parsing, listen and connect. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "parse.h"

ssize_t qrep_read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, (char *)buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return done ? -EPIPE : 0;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int qrep_writev_full(int fd, struct iovec *iov, int iovcnt)
{
	struct msghdr msg = { 0 };
	ssize_t n;
	size_t left;

	while (iovcnt > 0) {
		/* Skip what is done; empty entries too. */
		if (!iov->iov_len) {
			iov++;
			iovcnt--;
			continue;
		}
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)iovcnt;
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOTSOCK) {
				n = writev(fd, iov, iovcnt);
				if (n < 0)
					return -errno;
			} else {
				return -errno;
			}
		}
		left = (size_t)n;
		while (left && iovcnt > 0) {
			if (left >= iov->iov_len) {
				left -= iov->iov_len;
				iov->iov_len = 0;
				iov++;
				iovcnt--;
			} else {
				iov->iov_base = (char *)iov->iov_base + left;
				iov->iov_len -= left;
				left = 0;
			}
		}
	}
	return 0;
}

int qrep_write_full(int fd, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return qrep_writev_full(fd, &iov, 1);
}

int qrep_parse_hostport(const char *s, char *host, size_t hostlen,
			char *port, size_t portlen, bool allow_zero)
{
	const char *colon, *h, *p;
	size_t hlen;
	uint64_t pn;

	if (!s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(close - h);
		if (!hlen)
			return -EINVAL;
		p = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		/* A bare IPv6 address must be bracketed to carry a port. */
		if (memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL;
		h = s;
		hlen = (size_t)(colon - s);
		p = colon + 1;
	}
	if (memchr(h, '[', hlen) || memchr(h, ']', hlen) ||
	    memchr(h, ' ', hlen))
		return -EINVAL;
	if (qrep_parse_uint(p, allow_zero ? 0 : 1, 65535, &pn))
		return -EINVAL;
	if (hlen + 1 > hostlen || strlen(p) + 1 > portlen)
		return -ENAMETOOLONG;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	snprintf(port, portlen, "%u", (unsigned int)pn);
	return 0;
}

static int resolve(const char *hostport, bool passive, struct addrinfo **res)
{
	char host[QREP_HOST_MAX], port[QREP_PORT_MAX];
	struct addrinfo hints = { 0 };
	const char *node;
	int err;

	err = qrep_parse_hostport(hostport, host, sizeof(host), port,
				  sizeof(port), passive);
	if (err)
		return err;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	node = host;
	if (passive && (!host[0] || !strcmp(host, "*")))
		node = NULL;
	err = getaddrinfo(node, port, &hints, res);
	if (err)
		return err == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
	return 0;
}

int qrep_listen(const char *hostport, int backlog)
{
	struct addrinfo *res, *ai;
	int fd = -1, err, one = 1;

	err = resolve(hostport, true, &res);
	if (err)
		return err;
	err = -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
			       sizeof(one)) ||
		    bind(fd, ai->ai_addr, ai->ai_addrlen) ||
		    listen(fd, backlog)) {
			err = -errno;
			close(fd);
			fd = -1;
			continue;
		}
		break;
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : err;
}

static int connect_one(const struct addrinfo *ai, int timeout_ms)
{
	struct pollfd pfd;
	socklen_t len;
	int fd, err, flags, soerr = 0;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS)
		goto fail_errno;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do {
		err = poll(&pfd, 1, timeout_ms);
	} while (err < 0 && errno == EINTR);
	if (err < 0)
		goto fail_errno;
	if (err == 0) {
		err = -ETIMEDOUT;
		goto fail;
	}
	len = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
		goto fail_errno;
	if (soerr) {
		err = -soerr;
		goto fail;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK))
		goto fail_errno;
	return fd;

fail_errno:
	err = -errno;
fail:
	close(fd);
	return err;
}

int qrep_connect(const char *hostport, int timeout_ms)
{
	struct addrinfo *res, *ai;
	int fd = -EADDRNOTAVAIL, err;

	err = resolve(hostport, false, &res);
	if (err)
		return err;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = connect_one(ai, timeout_ms);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(res);
	return fd;
}

void qrep_sock_name(int fd, bool peer, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	int err;

	if (peer)
		err = getpeername(fd, (struct sockaddr *)&ss, &sl);
	else
		err = getsockname(fd, (struct sockaddr *)&ss, &sl);
	if (err)
		goto unknown;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		if (!inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)))
			goto unknown;
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
		return;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		if (!inet_ntop(AF_INET6, &sin6->sin6_addr, host,
			       sizeof(host)))
			goto unknown;
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
		return;
	}
unknown:
	snprintf(buf, len, "?");
}

int qrep_sock_set_nodelay(int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		return -errno;
	return 0;
}

static void ms_to_tv(int ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

int qrep_sock_set_timeouts(int fd, int send_ms, int recv_ms)
{
	struct timeval tv;

	ms_to_tv(send_ms, &tv);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -errno;
	ms_to_tv(recv_ms, &tv);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return -errno;
	return 0;
}

int qrep_sock_set_keepalive(int fd, int idle_s, int intvl_s, int cnt)
{
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s,
		       sizeof(idle_s)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl_s,
		       sizeof(intvl_s)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)))
		return -errno;
	return 0;
}
