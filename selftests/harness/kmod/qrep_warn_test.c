// SPDX-License-Identifier: GPL-2.0
/*
 * qrep_warn_test: a self-test of the qrep VM harness, not part of qrep.
 *
 * Loading it triggers one kernel warning on purpose. The harness
 * self-test (selftests/harness/harness_selftest.sh) loads it in a VM and
 * expects qemu/run-vm to fail because the guest's kernel log shows a
 * WARNING, which proves that the log scan works. The module then stays
 * loaded and unloads cleanly.
 */

#include <linux/bug.h>
#include <linux/module.h>

static int __init qrep_warn_test_init(void)
{
	WARN(1, "qrep_warn_test: harness self-test, this warning is expected\n");
	return 0;
}

static void __exit qrep_warn_test_exit(void)
{
	pr_info("qrep_warn_test: unloaded\n");
}

module_init(qrep_warn_test_init);
module_exit(qrep_warn_test_exit);

MODULE_DESCRIPTION("qrep VM harness self-test: warns once when loaded");
MODULE_LICENSE("GPL");
