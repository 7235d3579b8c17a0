/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_beat: the workers' heartbeats (see api_beat.h).
 */
#include "config.h"

#include "fcgi/api.h"
#include "fcgi/api_beat.h"
#include "fcgi/api_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* One cache line per slot: only its worker writes it. */
struct beat_slot {
	_Atomic int64_t alive;
	_Atomic int64_t turn;
	char            pad[48];
};

struct api_beat {
	struct beat_slot *slot; /* MAP_SHARED: the master and its workers */
	int               n;
	int               mine; /* the worker's slot (its ticker stamps it) */
};

int
api_beat_new(api_beat **out, int slots)
{
	api_beat *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return -ENOMEM;
	b->slot = mmap(NULL, sizeof(*b->slot) * (size_t) slots,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (b->slot == MAP_FAILED) {
		int rc = -errno;

		api_err("mmap(heartbeats) failed: %s", strerror(-rc));
		free(b);
		return rc;
	}
	b->n = slots;
	*out = b;
	return 0;
}

void
api_beat_arm(api_beat *b, int slot, int grace_ms)
{
	int64_t t = api_clock_ms(CLOCK_MONOTONIC) + grace_ms;

	atomic_store(&b->slot[slot].alive, t);
	atomic_store(&b->slot[slot].turn, t);
}

void
api_beat_turn(api_beat *b, int slot)
{
	atomic_store_explicit(&b->slot[slot].turn,
	    api_clock_ms(CLOCK_MONOTONIC), memory_order_relaxed);
}

static void *
ticker(void *arg)
{
	api_beat             *b = arg;
	const struct timespec tick = { 0, API_BEAT_TICK_MS * 1000000L };

	for (;;) {
		atomic_store_explicit(&b->slot[b->mine].alive,
		    api_clock_ms(CLOCK_MONOTONIC), memory_order_relaxed);
		nanosleep(&tick, NULL);
	}
	return NULL;
}

int
api_beat_start(api_beat *b, int slot)
{
	pthread_attr_t attr;
	pthread_t      tid;
	int            rc;

	b->mine = slot;
	atomic_store(&b->slot[slot].alive, api_clock_ms(CLOCK_MONOTONIC));
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, ticker, b);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		api_err("pthread_create(heartbeat) failed: %s", strerror(rc));
		return -rc;
	}
	return 0;
}

int64_t
api_beat_stale(const api_beat *b, int slot, int alive_limit_ms,
    int turn_limit_ms, const char **what)
{
	int64_t now = api_clock_ms(CLOCK_MONOTONIC);
	int64_t alive = now - atomic_load(&b->slot[slot].alive);
	int64_t turn = now - atomic_load(&b->slot[slot].turn);

	if (alive > alive_limit_ms) {
		*what = "alive";
		return alive;
	}
	if (turn > turn_limit_ms) {
		*what = "turn";
		return turn;
	}
	return 0;
}
