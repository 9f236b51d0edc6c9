/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the libFuzzer harnesses in this folder.
 *
 * A harness states what must hold for every input with FUZZ_ASSERT: a
 * broken invariant prints where and aborts, which libFuzzer records as a
 * crash like any sanitizer report.
 */
#ifndef QREP_FUZZ_H
#define QREP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ASSERT(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: invariant broken: %s\n",\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

#define FUZZ_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* The store fuzz_target_conn serves; gen_corpus's streams match it. */
#define FUZZ_TARGET_UUID	"0f8e2c1a-5b3d-4e6f-9a7b-8c9d0e1f2a3b"
#define FUZZ_TARGET_BLOCKS	320U

/*
 * fuzz_cluster_proto's receivers: the resource's secret and device UUID
 * (every byte this value); gen_corpus's datagrams use the same.
 */
#define FUZZ_CLUSTER_SECRET	"fuzz-cluster-secret-0123456789"
#define FUZZ_CLUSTER_UUID_BYTE	0x5a

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A memory-backed file (memfd, on the kernel's shmem: never on disk, gone
 * with its last descriptor) and a path that opens it again, for code that
 * takes a path. Returns the descriptor or -errno.
 */
int fuzz_memfd(const char *name, char *path, size_t pathlen);

/* Consumes input from the front: what is missing reads as zeros. */
struct fuzz_input {
	const uint8_t *p;
	size_t left;
};

uint8_t fuzz_u8(struct fuzz_input *in);
uint32_t fuzz_u32(struct fuzz_input *in);
uint64_t fuzz_u64(struct fuzz_input *in);

#endif /* QREP_FUZZ_H */
