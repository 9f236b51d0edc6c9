// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/block/qrepN/qrep/: a few read-only numbers, for scripts that do
 * not speak netlink. QREP_CMD_DEV_GET remains the full status.
 *
 * The attributes go away in del_gendisk, before the device is freed, so
 * the device behind a disk is always there while they are read.
 */
#include <linux/blkdev.h>
#include <linux/device.h>
#include <linux/rcupdate.h>
#include <linux/sysfs.h>

#include "device.h"
#include "replica.h"
#include "sysfs.h"

static struct qrep_device *qrep_sysfs_dev(struct device *d)
{
	return dev_to_disk(d)->private_data;
}

static ssize_t version_show(struct device *d, struct device_attribute *attr,
			    char *buf)
{
	struct qrep_device *dev = qrep_sysfs_dev(d);

	return sysfs_emit(buf, "%llu\n", (u64)atomic64_read(&dev->version));
}
static DEVICE_ATTR_RO(version);

static ssize_t epoch_show(struct device *d, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%llu\n", qrep_device_epoch(qrep_sysfs_dev(d)));
}
static DEVICE_ATTR_RO(epoch);

static ssize_t io_timeout_ms_show(struct device *d,
				  struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", qrep_sysfs_dev(d)->config.io_timeout_ms);
}
static DEVICE_ATTR_RO(io_timeout_ms);

static ssize_t live_replicas_show(struct device *d,
				  struct device_attribute *attr, char *buf)
{
	unsigned int live;

	rcu_read_lock();
	live = qrep_replicas_live(qrep_sysfs_dev(d));
	rcu_read_unlock();
	return sysfs_emit(buf, "%u\n", live);
}
static DEVICE_ATTR_RO(live_replicas);

static struct attribute *qrep_disk_attrs[] = {
	&dev_attr_version.attr,
	&dev_attr_epoch.attr,
	&dev_attr_io_timeout_ms.attr,
	&dev_attr_live_replicas.attr,
	NULL,
};

static const struct attribute_group qrep_disk_group = {
	.name = "qrep",
	.attrs = qrep_disk_attrs,
};

const struct attribute_group *qrep_disk_groups[] = {
	&qrep_disk_group,
	NULL,
};
