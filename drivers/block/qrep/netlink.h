/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _QREP_NETLINK_H
#define _QREP_NETLINK_H

#include <linux/qrep.h>

struct qrep_device;
struct qrep_replica;

int qrep_netlink_init(void);
void qrep_netlink_uninit(void);

/* Events on the "events" group; process context, may sleep. */
void qrep_netlink_notify_dev(struct qrep_device *dev, enum qrep_event event);
void qrep_netlink_notify_replica(struct qrep_device *dev,
				 struct qrep_replica *r, enum qrep_event event);

#endif /* _QREP_NETLINK_H */
