/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_timer: a binary min-heap of deadlines.  Timers are embedded in their
 * owners (connections, sessions), so arming one never allocates except
 * when the heap array grows.  The loop sleeps until mq_timers_next() and
 * runs mq_timers_expire(); there is no periodic tick.
 *
 * Times are CLOCK_MONOTONIC milliseconds (mq_now_ms()).
 */
#ifndef MQ_TIMER_H
#define MQ_TIMER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct mq_timer mq_timer;
typedef void (*mq_timer_fn)(mq_timer *t);

struct mq_timer {
	uint64_t    deadline;
	uint32_t    idx; /* position in the heap; MQ_TIMER_IDLE if unarmed */
	mq_timer_fn fn;
};
#define MQ_TIMER_IDLE UINT32_MAX

typedef struct mq_timers {
	mq_timer **heap;
	uint32_t   len, cap;
} mq_timers;

uint64_t mq_now_ms(void);

static inline void
mq_timer_init(mq_timer *t, mq_timer_fn fn)
{
	t->deadline = 0;
	t->idx = MQ_TIMER_IDLE;
	t->fn = fn;
}

static inline bool
mq_timer_armed(const mq_timer *t)
{
	return t->idx != MQ_TIMER_IDLE;
}

void mq_timers_fini(mq_timers *ts);

/* Arms (or re-arms) t for `deadline`.  Returns 0 or -ENOMEM. */
int  mq_timer_set(mq_timers *ts, mq_timer *t, uint64_t deadline);
void mq_timer_cancel(mq_timers *ts, mq_timer *t);

/* Milliseconds until the earliest deadline (0 if due), -1 if none. */
int mq_timers_next(const mq_timers *ts, uint64_t now);

/* Runs every timer due at `now`; a callback may re-arm its timer. */
void mq_timers_expire(mq_timers *ts, uint64_t now);

#endif
