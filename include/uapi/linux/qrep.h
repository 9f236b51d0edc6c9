/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * qrep generic netlink interface, shared by qrep.ko and its tools.
 *
 * Documentation/netlink/qrep.yaml describes the same family; keep the two
 * in step. Every command that changes state needs CAP_NET_ADMIN in the
 * caller's network namespace (GENL_ADMIN_PERM). Status (QREP_CMD_DEV_GET)
 * is open to everyone: it reveals no data, only the device's shape.
 */
#ifndef _UAPI_LINUX_QREP_H
#define _UAPI_LINUX_QREP_H

#define QREP_GENL_NAME		"qrep"
#define QREP_GENL_VERSION	1
#define QREP_GENL_MCGRP_EVENTS	"events"

/* Highest number of devices one module instance serves (/dev/qrep0..N-1). */
#define QREP_MAX_DEVICES	64
/* Highest number of replicas of one device (N = K + 1). */
#define QREP_MAX_REPLICAS	8

/*
 * QREP_A_DEV_IO_TIMEOUT_MS: a request not answered by a replica within
 * this time fails that replica. Also the bound on how long I/O can wait
 * when every replica has gone silent: it then fails with EIO.
 */
#define QREP_DEFAULT_IO_TIMEOUT_MS	30000
#define QREP_MIN_IO_TIMEOUT_MS		1000
#define QREP_MAX_IO_TIMEOUT_MS		3600000

/* QREP_A_DEV_EPOCH when the creator gives none. */
#define QREP_DEFAULT_EPOCH	1

/* QREP_A_REPLICA_NAME: bytes, with the terminating NUL. */
#define QREP_REPLICA_NAME_MAX	64

enum qrep_cmd {
	QREP_CMD_UNSPEC,
	QREP_CMD_DEV_CREATE,	/* admin: make /dev/qrepN */
	QREP_CMD_DEV_DESTROY,	/* admin: remove /dev/qrepN */
	QREP_CMD_DEV_GET,	/* anyone: one device, or dump all */
	QREP_CMD_EVENT,		/* kernel -> "events" group only */
	QREP_CMD_REPLICA_ADD,	/* admin: hand a connected socket to a slot */
	QREP_CMD_REPLICA_REMOVE,	/* admin: drop a replica from a device */
	QREP_CMD_RESYNC_GET,	/* admin: what a replica missed (its bitmap) */
	QREP_CMD_RESYNC_UPDATE,	/* admin: resync start, progress, finish */
	QREP_CMD_DEV_SET,	/* admin: change a device's role and epoch */
	__QREP_CMD_MAX,
};

#define QREP_CMD_MAX (__QREP_CMD_MAX - 1)

enum qrep_mode {
	QREP_MODE_MIRROR = 1,
	QREP_MODE_QUORUM = 2,
};

enum qrep_event {
	QREP_EVENT_DEV_CREATED = 1,
	QREP_EVENT_DEV_DESTROYED = 2,
	QREP_EVENT_REPLICA_ADDED = 3,	/* a socket was handed to a slot */
	QREP_EVENT_REPLICA_FAILED = 4,	/* dropped from the live set */
	QREP_EVENT_REPLICA_REMOVED = 5,
	QREP_EVENT_DEV_NO_REPLICAS = 6,	/* no live replica: I/O fails */
	QREP_EVENT_REPLICA_STALE = 7,	/* up to date no more: needs resync */
	QREP_EVENT_RESYNC_STARTED = 8,
	QREP_EVENT_RESYNC_PROGRESS = 9,	/* at each tenth of the way */
	QREP_EVENT_RESYNC_FINISHED = 10, /* the replica is up to date */
	QREP_EVENT_RESYNC_STOPPED = 11,	/* given up part way; resumes later */
	QREP_EVENT_QUORUM_LOST = 12,	/* quorum mode: a write or read quorum went */
	QREP_EVENT_QUORUM_REGAINED = 13, /* quorum mode: a quorum came back */
	QREP_EVENT_DEV_ROLE = 14,	/* the role or epoch changed (DEV_SET) */
	QREP_EVENT_REPLICA_FENCED = 15,	/* a target refused our epoch */
};

/*
 * QREP_A_DEV_ROLE. A primary serves I/O. A secondary refuses it: opening
 * the device fails with EMEDIUMTYPE and any request already queued fails
 * with EIO. A secondary keeps nothing of its term: the demotion fails and
 * removes every replica (what they had not sent is never sent) and
 * forgets what the device wrote, so a promotion starts as a new device
 * does, with the replicas user space adds and judges again. qrepd makes
 * the device primary when this node wins an election (with the winning
 * epoch) and secondary when it loses the role. A device created without
 * a role is a primary (qrepctl up), and so is a secondary that qrepctl
 * up brings up again.
 */
enum qrep_role {
	QREP_ROLE_PRIMARY = 1,
	QREP_ROLE_SECONDARY = 2,
};

/*
 * QREP_A_DEV_ON_NO_QUORUM: what quorum mode does with I/O that cannot
 * reach its quorum (fewer than W replicas live for a WRITE or FLUSH,
 * fewer than R for a READ).
 */
enum qrep_on_no_quorum {
	QREP_NO_QUORUM_SUSPEND = 1,	/* hold it until a quorum returns */
	QREP_NO_QUORUM_ERROR = 2,	/* fail it with EIO */
};

/* QREP_A_DEV_QUORUM_FLAGS: which quorums the device can reach now. */
#define QREP_QUORUM_F_WRITE	0x1U
#define QREP_QUORUM_F_READ	0x2U

/*
 * QREP_A_RESYNC_PHASE: what a QREP_CMD_RESYNC_UPDATE reports.
 *
 * START waits until every write stamped before it has completed (so the
 * bitmap holds every write the replica missed), then the caller reads
 * the bitmap with QREP_CMD_RESYNC_GET. PROGRESS clears the regions the
 * caller has copied (QREP_A_RESYNC_CLEAR_*), FINISH promotes the replica
 * to up to date if nothing is left in its bitmap, STOP records that the
 * caller gave up.
 */
enum qrep_resync_phase {
	QREP_RESYNC_START = 1,
	QREP_RESYNC_PROGRESS = 2,
	QREP_RESYNC_FINISH = 3,
	QREP_RESYNC_STOP = 4,
};

/*
 * QREP_CMD_RESYNC_GET answers with at most this many regions of bitmap
 * (16 KiB) at a time; QREP_A_RESYNC_START asks for the next ones.
 */
#define QREP_RESYNC_GET_MAX_REGIONS	131072

/* A replica's state, as the device sees it. */
enum qrep_replica_state {
	QREP_REPLICA_EMPTY = 0,		/* slot not in use */
	QREP_REPLICA_UPTODATE = 1,	/* gets writes, serves reads */
	QREP_REPLICA_STALE = 2,		/* gets writes, serves no reads: needs resync */
	QREP_REPLICA_FAILED = 3,	/* disconnected; gets nothing */
};

/*
 * QREP_A_REPLICA_FLAGS
 * QREP_REPLICA_F_STALE: added behind, and by how much is not known: no
 * reads until a resync has compared every region with an up-to-date
 * replica.
 */
#define QREP_REPLICA_F_STALE	0x1U
#define QREP_REPLICA_F_ALL	QREP_REPLICA_F_STALE

enum qrep_attr {
	QREP_A_UNSPEC,
	QREP_A_DEV_INDEX,	/* u32: N of /dev/qrepN */
	QREP_A_DEV_SIZE,	/* u64: bytes, a multiple of the block size */
	QREP_A_DEV_MODE,	/* u32: enum qrep_mode */
	QREP_A_DEV_UUID,	/* binary, exactly QREP_UUID_SIZE bytes */
	QREP_A_DEV_NAME,	/* string: the disk's name, e.g. "qrep0" */
	QREP_A_EVENT,		/* u32: enum qrep_event */
	QREP_A_EVENT_SEQ,	/* u64: events are numbered from 1 */
	QREP_A_PAD,
	QREP_A_DEV_EPOCH,	/* u64: stamped on every request */
	QREP_A_DEV_IO_TIMEOUT_MS, /* u32: a replica silent this long fails */
	QREP_A_DEV_VERSION,	/* u64: the last version stamped (read-only) */
	QREP_A_DEV_LIVE_REPLICAS, /* u32: replicas not failed (read-only) */
	QREP_A_REPLICA,		/* nested: one replica (QREP_A_REPLICA_*) */
	QREP_A_REPLICA_ID,	/* u32: slot, 0..QREP_MAX_REPLICAS-1 */
	QREP_A_REPLICA_FD,	/* u32: connected TCP socket, after the handshake */
	QREP_A_REPLICA_NAME,	/* string: "host:port", for people */
	QREP_A_REPLICA_FLAGS,	/* u32: QREP_REPLICA_F_* */
	QREP_A_REPLICA_MAX_VERSION, /* u64: the target's highest block version */
	QREP_A_REPLICA_STATE,	/* u32: enum qrep_replica_state (read-only) */
	QREP_A_REPLICA_INFLIGHT, /* u32: requests awaiting a reply (read-only) */
	QREP_A_REPLICA_ERRORS,	/* u64: failures seen (read-only) */
	QREP_A_REPLICA_READS,	/* u64: read requests served (read-only) */
	QREP_A_REPLICA_WRITES,	/* u64: write requests acknowledged (read-only) */
	QREP_A_REPLICA_LAST_ERROR, /* string: why it failed (read-only) */
	QREP_A_REPLICA_INSTANCE, /* u64: tells apart replicas of one slot */
	QREP_A_REPLICA_DIRTY_REGIONS, /* u64: regions it may lack (read-only) */
	QREP_A_REPLICA_HISTORY_UNKNOWN, /* flag: it may lack anything (read-only) */
	QREP_A_RESYNC_PHASE,	/* u32: enum qrep_resync_phase */
	QREP_A_RESYNC_SOURCE_ID, /* u32: slot of the up-to-date source */
	QREP_A_RESYNC_SOURCE_INSTANCE, /* u64: the source's instance */
	QREP_A_RESYNC_START,	/* u64: first region wanted or cleared */
	QREP_A_RESYNC_COUNT,	/* u64: regions cleared, from START */
	QREP_A_RESYNC_REGIONS,	/* u64: regions in the device (read-only) */
	QREP_A_RESYNC_BITMAP,	/* binary: u32 words, bit i = region START + i */
	QREP_A_RESYNC_DONE_BYTES, /* u64: resync progress, for status */
	QREP_A_RESYNC_TOTAL_BYTES, /* u64 */
	QREP_A_RESYNC_RATE,	/* u64: bytes per second, recent */
	QREP_A_RESYNC_ACTIVE,	/* flag: a resync of this replica runs (read-only) */
	QREP_A_REPLICA_CHECK_DATA, /* flag: a block of it failed its checksum (read-only) */
	QREP_A_DEV_REPLICAS,	/* u32: N, the replica slots in use (quorum mode) */
	QREP_A_DEV_WRITE_QUORUM, /* u32: W (quorum mode; default a majority) */
	QREP_A_DEV_READ_QUORUM,	/* u32: R (quorum mode; default a majority) */
	QREP_A_DEV_ON_NO_QUORUM, /* u32: enum qrep_on_no_quorum (default suspend) */
	QREP_A_DEV_QUORUM_FLAGS, /* u32: QREP_QUORUM_F_* (read-only) */
	QREP_A_DEV_HELD,	/* u32: requests held for want of a quorum (read-only) */
	QREP_A_RESYNC_SOURCES,	/* u32: quorum mode, bit N: slot N was read from */
	QREP_A_DEV_ROLE,	/* u32: enum qrep_role (create: default primary) */
	QREP_A_REPLICA_FENCED_EPOCH, /* u64: epoch a target refused (read-only) */
	QREP_A_REPLICA_UNRECONCILED, /* flag: no reads, no resync source (read-only) */
	__QREP_A_MAX,
};

#define QREP_A_MAX (__QREP_A_MAX - 1)

#endif /* _UAPI_LINUX_QREP_H */
