/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place that knows kernel versions. qrep builds against Debian's
 * 6.1 and the 6.12 LTS kernel; everything that differs between them is
 * wrapped here, detected by the feature itself rather than by a version
 * number, so that no other file needs an #if.
 */
#ifndef _QREP_COMPAT_H
#define _QREP_COMPAT_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>

/* The shape of a qrep disk, applied the way each kernel wants it. */
struct qrep_disk_limits {
	unsigned int block_size;	/* logical == physical block size */
	unsigned int max_hw_sectors;	/* largest request, 512-byte units */
	unsigned short max_segments;
	bool write_cache;		/* honour FLUSH and FUA */
	bool stable_writes;		/* no page changes during writeback */
};

/* 6.11 moved queue features (write cache, FUA) into queue_limits. */
#ifdef BLK_FEAT_WRITE_CACHE

static inline struct gendisk *
qrep_compat_alloc_disk(struct blk_mq_tag_set *set,
		       const struct qrep_disk_limits *dl, void *queuedata)
{
	struct queue_limits lim = {
		.logical_block_size = dl->block_size,
		.physical_block_size = dl->block_size,
		.io_min = dl->block_size,
		.max_hw_sectors = dl->max_hw_sectors,
		.max_segments = dl->max_segments,
	};

	if (dl->write_cache)
		lim.features |= BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA;
	if (dl->stable_writes)
		lim.features |= BLK_FEAT_STABLE_WRITES;
	return blk_mq_alloc_disk(set, &lim, queuedata);
}

#else /* the 6.1 API: set each limit on the allocated queue */

static inline struct gendisk *
qrep_compat_alloc_disk(struct blk_mq_tag_set *set,
		       const struct qrep_disk_limits *dl, void *queuedata)
{
	struct gendisk *disk = blk_mq_alloc_disk(set, queuedata);
	struct request_queue *q;

	if (IS_ERR(disk))
		return disk;
	q = disk->queue;
	blk_queue_logical_block_size(q, dl->block_size);
	blk_queue_physical_block_size(q, dl->block_size);
	blk_queue_io_min(q, dl->block_size);
	blk_queue_max_hw_sectors(q, dl->max_hw_sectors);
	blk_queue_max_segments(q, dl->max_segments);
	blk_queue_write_cache(q, dl->write_cache, dl->write_cache);
	if (dl->stable_writes)
		blk_queue_flag_set(QUEUE_FLAG_STABLE_WRITES, q);
	/* 6.11 made non-rotational the default; before, it must be said. */
	blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	return disk;
}

#endif

/*
 * block_device_operations.open: 6.5 passes the gendisk and a blk_mode_t
 * (and defines BLK_OPEN_WRITE), 6.1 the block_device and an fmode_t.
 * Either way qrep only asks the disk (device.c).
 */
int qrep_disk_open(struct gendisk *disk);

#ifdef BLK_OPEN_WRITE
static inline int qrep_compat_bdev_open(struct gendisk *disk, blk_mode_t mode)
{
	return qrep_disk_open(disk);
}
#else
static inline int qrep_compat_bdev_open(struct block_device *bdev,
					fmode_t mode)
{
	return qrep_disk_open(bdev->bd_disk);
}
#endif

#endif /* _QREP_COMPAT_H */
