/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _QREP_SYSFS_H
#define _QREP_SYSFS_H

#include <linux/sysfs.h>

/* Read-only attributes in /sys/block/qrepN/qrep/. */
extern const struct attribute_group *qrep_disk_groups[];

#endif /* _QREP_SYSFS_H */
