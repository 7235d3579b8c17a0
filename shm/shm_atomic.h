/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shm_atomic: the few memory-ordering primitives of the segment.
 *
 * liburcu 0.13's uatomic_read()/uatomic_set() are volatile accesses and
 * its cmm_smp_rmb()/cmm_smp_wmb() are bare compiler barriers on x86: right
 * on the hardware, but invisible to ThreadSanitizer and outside the C11
 * model.  So the protocol is written with the GCC __atomic builtins (C11
 * atomics on plain fields); only caa_cpu_relax() comes from liburcu.
 *
 * Rule: every access to the segment that can race with the other side is
 * one of these.  Writer-only reads of its own data may stay plain.
 */
#ifndef SHM_ATOMIC_H
#define SHM_ATOMIC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <urcu/arch.h>

#define SHM_LD(p)        __atomic_load_n((p), __ATOMIC_RELAXED)
#define SHM_LD_ACQ(p)    __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define SHM_ST(p, v)     __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define SHM_ST_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* Orders earlier loads before later loads (reader: data before re-check). */
#define shm_fence_acq() __atomic_thread_fence(__ATOMIC_ACQUIRE)
/* Orders earlier stores before later stores (writer: odd seq before data). */
#define shm_fence_rel() __atomic_thread_fence(__ATOMIC_RELEASE)

/*
 * Copies n bytes (a multiple of 8, both sides 8-aligned) word by word
 * with relaxed atomic loads: the reader's half of every racing copy.
 */
static inline void
shm_copy_in(void *dst, const void *src, size_t n)
{
	const uint64_t *s = src;
	uint64_t       *d = dst;

	for (size_t i = 0; i < n / 8; i++)
		d[i] = SHM_LD(&s[i]);
}

/* The writer's half: relaxed atomic stores of whole words. */
static inline void
shm_copy_out(void *dst, const void *src, size_t n)
{
	const uint64_t *s = src;
	uint64_t       *d = dst;

	for (size_t i = 0; i < n / 8; i++)
		SHM_ST(&d[i], s[i]);
}

/* Writer: stores len bytes into 8-aligned dst, zero-padding the tail. */
static inline void
shm_store_bytes(void *dst, const void *src, size_t len)
{
	uint64_t *d = dst;
	size_t    full = len / 8;
	uint64_t  w;

	for (size_t i = 0; i < full; i++) {
		memcpy(&w, (const char *) src + i * 8, 8);
		SHM_ST(&d[i], w);
	}
	if (len % 8) {
		w = 0;
		memcpy(&w, (const char *) src + full * 8, len % 8);
		SHM_ST(&d[full], w);
	}
}

/* Reader: loads len bytes from 8-aligned src into dst (any alignment). */
static inline void
shm_load_bytes(void *dst, const void *src, size_t len)
{
	const uint64_t *s = src;
	size_t          full = len / 8;
	uint64_t        w;

	for (size_t i = 0; i < full; i++) {
		w = SHM_LD(&s[i]);
		memcpy((char *) dst + i * 8, &w, 8);
	}
	if (len % 8) {
		w = SHM_LD(&s[full]);
		memcpy((char *) dst + full * 8, &w, len % 8);
	}
}

#endif
