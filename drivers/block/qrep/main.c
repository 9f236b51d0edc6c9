// SPDX-License-Identifier: GPL-2.0
/*
 * qrep: a replicated network block device. Module init and exit only;
 * see device.c for the devices and netlink.c for the control interface.
 */
#include <linux/module.h>

#include "device.h"
#include "netlink.h"

static int __init qrep_init(void)
{
	int ret;

	ret = qrep_device_init();
	if (ret)
		return ret;
	ret = qrep_netlink_init();
	if (ret)
		goto err_device_uninit;
	pr_info("qrep: loaded\n");
	return 0;

err_device_uninit:
	qrep_device_uninit();
	return ret;
}

/*
 * The netlink family goes first, so no new device can be created while
 * the remaining ones are destroyed.
 */
static void __exit qrep_exit(void)
{
	qrep_netlink_uninit();
	qrep_devices_destroy_all();
	qrep_device_uninit();
	pr_info("qrep: unloaded\n");
}

module_init(qrep_init);
module_exit(qrep_exit);
MODULE_DESCRIPTION("qrep: replicated network block device");
MODULE_LICENSE("GPL");
