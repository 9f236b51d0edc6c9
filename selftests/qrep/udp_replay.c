// SPDX-License-Identifier: GPL-2.0
/*
 * udp_replay: records one UDP datagram on the wire and sends it again,
 * as an attacker on the network would, for the election channel's replay
 * test (selftests/qrep/cluster_failover.sh).
 *
 *   udp_replay --ifname IF --from ADDR --to ADDR --port PORT
 *              [--delay-ms MS] [--timeout-ms MS]
 *
 * It listens on interface IF with an AF_PACKET socket (promiscuous, so
 * that on a hub it also sees datagrams between two other machines) for
 * an IPv4 datagram from ADDR to ADDR:PORT, waits --delay-ms (default
 * 1000), and sends the captured IP packet again with a raw socket
 * (IP_HDRINCL): the same header (source address and port included) and
 * the same payload, byte for byte. The kernel recomputes only the IP
 * header checksum, to the same value. The one exception: a UDP checksum
 * that does not verify (offloaded, not yet filled in) is sent as 0, "no
 * checksum", which IPv4 allows; the tool says so.
 *
 * Every received packet is checked before any field of it is used
 * (lengths, version, header length, fragments, the IP header checksum);
 * one that does not pass is skipped and counted. Exits 0 once the
 * datagram was sent again, 1 if none came within --timeout-ms (default
 * 10000) or something failed, 2 on bad usage.
 */
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <net/ethernet.h>
#include <netpacket/packet.h>
#include <sys/socket.h>

#define MAX_MS		600000		/* bound on --delay-ms, --timeout-ms */
#define DEFAULT_DELAY_MS	1000		/* --delay-ms */
#define DEFAULT_TIMEOUT_MS	10000		/* --timeout-ms */
#define IP_MIN_HDR	20
#define UDP_HDR		8

struct opts {
	const char *ifname;
	struct in_addr from, to;
	uint16_t port;
	unsigned long delay_ms, timeout_ms;
};

/* A captured datagram: the whole IP packet, and where its parts are. */
struct dgram {
	uint8_t pkt[65536];
	size_t len;		/* the IP total length */
	size_t ihl;		/* IP header length, bytes */
	uint16_t sport;
};

/* Why packets were skipped, for the report when nothing matched. */
struct skipped {
	unsigned long other;		/* fine, but not the datagram wanted */
	unsigned long malformed;	/* too short, lengths wrong, ... */
};

static int usage(void)
{
	fprintf(stderr,
		"usage: udp_replay --ifname IF --from ADDR --to ADDR --port PORT\n"
		"                  [--delay-ms MS] [--timeout-ms MS]\n");
	return 2;
}

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && !*end && *out <= max;
}

static bool parse_addr(const char *s, struct in_addr *a)
{
	return inet_pton(AF_INET, s, a) == 1;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option long_opts[] = {
		{ "ifname", required_argument, NULL, 'i' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "timeout-ms", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	bool from = false, to = false;
	unsigned long port = 0;
	int c;

	memset(o, 0, sizeof(*o));
	o->delay_ms = DEFAULT_DELAY_MS;
	o->timeout_ms = DEFAULT_TIMEOUT_MS;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->ifname = optarg;
			break;
		case 'f':
			from = parse_addr(optarg, &o->from);
			if (!from) {
				fprintf(stderr, "udp_replay: --from: not an IPv4 address: %s\n",
					optarg);
				return 2;
			}
			break;
		case 't':
			to = parse_addr(optarg, &o->to);
			if (!to) {
				fprintf(stderr, "udp_replay: --to: not an IPv4 address: %s\n",
					optarg);
				return 2;
			}
			break;
		case 'p':
			if (!parse_ulong(optarg, 65535, &port) || !port) {
				fprintf(stderr, "udp_replay: --port: 1 to 65535, not %s\n", optarg);
				return 2;
			}
			o->port = (uint16_t)port;
			break;
		case 'd':
		case 'w':
			if (!parse_ulong(optarg, MAX_MS,
					 c == 'd' ? &o->delay_ms : &o->timeout_ms)) {
				fprintf(stderr, "udp_replay: --%s: 0 to %d ms, not %s\n",
					c == 'd' ? "delay-ms" : "timeout-ms", MAX_MS, optarg);
				return 2;
			}
			break;
		default:
			return usage();
		}
	}
	if (optind != argc || !o->ifname || !from || !to || !o->port)
		return usage();
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The ones' complement sum of @len bytes, added to @sum (not folded). */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Whether the UDP checksum of @d verifies (a checksum of 0 means none). */
static bool udp_csum_ok(const struct dgram *d)
{
	const uint8_t *udp = d->pkt + d->ihl;
	size_t udp_len = d->len - d->ihl;
	uint32_t sum = 0;

	if (!get16(udp + 6))
		return true;
	sum = csum_add(sum, d->pkt + 12, 8);	/* source, destination */
	sum += IPPROTO_UDP;
	sum += (uint32_t)udp_len;
	sum = csum_add(sum, udp, udp_len);
	return csum_fold(sum) == 0;
}

/*
 * Checks the @n bytes received, an IPv4 packet, field by field before
 * using any of them; if it is the datagram @o wants, fills @d and returns
 * true. Counts the others in @sk.
 */
static bool match(const struct opts *o, const uint8_t *buf, size_t n,
		  struct dgram *d, struct skipped *sk)
{
	size_t ihl, tot, udp_len;
	uint16_t frag;

	if (n < IP_MIN_HDR || buf[0] >> 4 != 4)
		goto malformed;
	ihl = (size_t)(buf[0] & 0x0f) * 4;
	if (ihl < IP_MIN_HDR || ihl > n)
		goto malformed;
	if (csum_fold(csum_add(0, buf, ihl)) != 0)
		goto malformed;
	/* The frame may carry padding after the packet: the IP length counts. */
	tot = get16(buf + 2);
	if (tot < ihl || tot > n)
		goto malformed;
	if (buf[9] != IPPROTO_UDP ||
	    memcmp(buf + 12, &o->from, 4) || memcmp(buf + 16, &o->to, 4)) {
		sk->other++;
		return false;
	}
	/* A fragment is not a whole datagram. */
	frag = get16(buf + 6);
	if (frag & (IP_MF | IP_OFFMASK)) {
		sk->other++;
		return false;
	}
	if (tot - ihl < UDP_HDR)
		goto malformed;
	udp_len = get16(buf + ihl + 4);
	if (udp_len != tot - ihl)
		goto malformed;
	if (get16(buf + ihl + 2) != o->port) {
		sk->other++;
		return false;
	}
	memcpy(d->pkt, buf, tot);
	d->len = tot;
	d->ihl = ihl;
	d->sport = get16(buf + ihl);
	return true;

malformed:
	sk->malformed++;
	return false;
}

static int capture_socket(const struct opts *o)
{
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
	};
	unsigned int ifindex;
	int fd;

	ifindex = if_nametoindex(o->ifname);
	if (!ifindex) {
		fprintf(stderr, "udp_replay: interface %s: %s\n", o->ifname,
			strerror(errno));
		return -1;
	}
	/* SOCK_DGRAM: the IP packet, without the link-layer header. */
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
	if (fd < 0) {
		fprintf(stderr, "udp_replay: AF_PACKET socket: %s\n", strerror(errno));
		return -1;
	}
	sll.sll_ifindex = (int)ifindex;
	mr.mr_ifindex = (int)ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
		fprintf(stderr, "udp_replay: listening on %s: %s\n", o->ifname,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Waits up to --timeout-ms for the datagram. 0, or -1 (said why). */
static int capture(const struct opts *o, struct dgram *d)
{
	static uint8_t buf[65536];
	struct skipped sk = { 0 };
	uint64_t end = now_ms() + o->timeout_ms, now;
	struct sockaddr_ll from;
	socklen_t fromlen;
	struct pollfd pfd;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	ssize_t n;
	int fd, r, ret = -1;

	fd = capture_socket(o);
	if (fd < 0)
		return -1;
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	for (;;) {
		now = now_ms();
		if (now >= end) {
			inet_ntop(AF_INET, &o->from, a, sizeof(a));
			inet_ntop(AF_INET, &o->to, b, sizeof(b));
			fprintf(stderr,
				"udp_replay: no UDP datagram from %s to %s:%u on %s within %lu ms (%lu other packets, %lu malformed)\n",
				a, b, o->port, o->ifname, o->timeout_ms,
				sk.other, sk.malformed);
			break;
		}
		r = poll(&pfd, 1, (int)(end - now));
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "udp_replay: poll: %s\n", strerror(errno));
			break;
		}
		if (r <= 0)
			continue;
		fromlen = sizeof(from);
		/* MSG_TRUNC: the packet's real length, to skip a cut one. */
		n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC,
			     (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "udp_replay: recvfrom: %s\n", strerror(errno));
			break;
		}
		/* Ours going out is not on the wire yet; theirs only counts. */
		if (fromlen < offsetof(struct sockaddr_ll, sll_addr) ||
		    from.sll_pkttype == PACKET_OUTGOING) {
			sk.other++;
			continue;
		}
		if ((size_t)n > sizeof(buf)) {
			sk.malformed++;
			continue;
		}
		if (match(o, buf, (size_t)n, d, &sk)) {
			ret = 0;
			break;
		}
	}
	close(fd);
	return ret;
}

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ms / 1000),
		.tv_nsec = (long)(ms % 1000) * 1000000,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Sends the captured packet again, as it is. 0, or -1 (said why). */
static int resend(const struct opts *o, const struct dgram *d)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_addr = o->to };
	int fd, one = 1;
	ssize_t n;

	/* IPPROTO_RAW: we supply the IP header (IP_HDRINCL, set anyway). */
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0) {
		fprintf(stderr, "udp_replay: raw socket: %s\n", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one))) {
		fprintf(stderr, "udp_replay: IP_HDRINCL: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	n = sendto(fd, d->pkt, d->len, 0, (struct sockaddr *)&dst, sizeof(dst));
	if (n != (ssize_t)d->len) {
		fprintf(stderr, "udp_replay: sendto: %s\n",
			n < 0 ? strerror(errno) : "sent short");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static struct dgram d;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	struct opts o;
	int ret;

	ret = parse_opts(argc, argv, &o);
	if (ret)
		return ret;
	inet_ntop(AF_INET, &o.from, a, sizeof(a));
	inet_ntop(AF_INET, &o.to, b, sizeof(b));
	if (capture(&o, &d))
		return 1;
	printf("captured a datagram %s:%u -> %s:%u on %s: %zu bytes of payload\n",
	       a, d.sport, b, o.port, o.ifname, d.len - d.ihl - UDP_HDR);
	if (!udp_csum_ok(&d)) {
		/* The only change: "no checksum" rather than a wrong one. */
		d.pkt[d.ihl + 6] = 0;
		d.pkt[d.ihl + 7] = 0;
		printf("its UDP checksum does not verify (offloaded?): sent as 0, no checksum\n");
	}
	sleep_ms(o.delay_ms);
	if (resend(&o, &d))
		return 1;
	printf("sent it again %lu ms later, from %s:%u to %s:%u, %zu bytes\n",
	       o.delay_ms, a, d.sport, b, o.port, d.len);
	return 0;
}
