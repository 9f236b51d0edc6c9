// SPDX-License-Identifier: GPL-2.0
/* qrepctl resync: resync every stale replica of a resource, by hand. */
#include <linux/qrep.h>

#include "qrepctl.h"
#include "resync_driver.h"

int qrepctl_resync(int argc, char **argv)
{
	struct qrep_config cfg;
	struct qrep_genl g;
	char **rest;
	int ret;

	ret = qrepctl_resource_load(argc, argv, "resync", 0, &cfg, &rest);
	if (ret)
		return ret;
	ret = qrepctl_genl_open(&g);
	if (ret)
		return ret;
	ret = qrep_resync_stale(&g, &cfg, -1) ? QREPCTL_EXIT_FAIL : 0;
	qrep_genl_close(&g);
	return ret;
}
