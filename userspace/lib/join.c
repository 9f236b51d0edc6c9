// SPDX-License-Identifier: GPL-2.0
/* The joining rule: see join.h. */
#include <errno.h>
#include <linux/qrep.h>

#include "join.h"

unsigned int qrep_join_answers_needed(uint32_t mode, unsigned int nr_replicas,
				      unsigned int write_quorum)
{
	if (!nr_replicas)
		return 0;
	if (mode == QREP_MODE_QUORUM && write_quorum >= 1 &&
	    write_quorum <= nr_replicas)
		return nr_replicas - write_quorum + 1;
	return nr_replicas - 1;
}

int qrep_join_floor(const struct qrep_join_answer *answers, unsigned int n,
		    unsigned int needed, uint64_t own, uint64_t *floor,
		    unsigned int *counted)
{
	uint64_t best = own;
	unsigned int i, got = 0;

	for (i = 0; i < n; i++) {
		if (!answers[i].answered || answers[i].joining)
			continue;
		got++;
		if (answers[i].epoch > best)
			best = answers[i].epoch;
	}
	*counted = got;
	if (got < needed)
		return -EAGAIN;
	*floor = best;
	return 0;
}
