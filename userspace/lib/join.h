/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The joining rule: how a replacement store learns the epoch floor before
 * it may vote (qrep-target join; Documentation/election.rst, "Two
 * primaries in one epoch"). Pure functions, no I/O: qrep-target and the
 * election simulation use the same ones.
 *
 * Every epoch a primary was made writable in was accepted by a write
 * quorum of W stores. The lost store may have been one of them, so at
 * least W - 1 of the N - 1 others hold that epoch or a newer one (a
 * store's epoch never goes down). Any N - W + 1 of the others therefore
 * include one of them, and the highest epoch those answers show is at
 * least every epoch any write quorum accepted. Set to that floor, the
 * new store accepts only proposals above it: never an epoch in use.
 * In mirror mode the write set is every replica, so every other replica
 * must answer.
 *
 * A store that is itself joining knows no floor: its answer does not
 * count.
 */
#ifndef QREP_LIB_JOIN_H
#define QREP_LIB_JOIN_H

#include <stdbool.h>
#include <stdint.h>

/* What one other replica said when asked. */
struct qrep_join_answer {
	bool answered;		/* its hello reply came, status OK */
	bool joining;		/* it refused: it is joining too */
	uint64_t epoch;		/* its store's epoch, if answered */
};

/*
 * How many of the other replicas must answer: N - W + 1 in quorum mode
 * (mode QREP_MODE_QUORUM, write_quorum W), N - 1 (all the others)
 * otherwise. 0 if nr_replicas is 0.
 */
unsigned int qrep_join_answers_needed(uint32_t mode, unsigned int nr_replicas,
				      unsigned int write_quorum);

/*
 * From the answers of the other replicas: the epoch floor (the highest
 * epoch among those that answered, and not below @own, the store's own
 * epoch) in *floor, and 0 if at least @needed answered; -EAGAIN if fewer
 * did (*counted says how many). A joining replica's answer never counts.
 */
int qrep_join_floor(const struct qrep_join_answer *answers, unsigned int n,
		    unsigned int needed, uint64_t own, uint64_t *floor,
		    unsigned int *counted);

#endif /* QREP_LIB_JOIN_H */
