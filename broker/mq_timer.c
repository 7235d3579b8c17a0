/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_timer: min-heap of embedded timers (libuv heap-inl.h in spirit, with
 * an array).  Each timer remembers its index, so cancel and re-arm are
 * O(log n) without a search.
 */
#include "config.h"

#include "broker/mq_timer.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

uint64_t
mq_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void
place(mq_timers *ts, mq_timer *t, uint32_t i)
{
	ts->heap[i] = t;
	t->idx = i;
}

static void
sift_up(mq_timers *ts, uint32_t i)
{
	mq_timer *t = ts->heap[i];

	while (i > 0) {
		uint32_t p = (i - 1) / 2;

		if (ts->heap[p]->deadline <= t->deadline)
			break;
		place(ts, ts->heap[p], i);
		i = p;
	}
	place(ts, t, i);
}

static void
sift_down(mq_timers *ts, uint32_t i)
{
	mq_timer *t = ts->heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= ts->len)
			break;
		if (c + 1 < ts->len
		    && ts->heap[c + 1]->deadline < ts->heap[c]->deadline)
			c++;
		if (ts->heap[c]->deadline >= t->deadline)
			break;
		place(ts, ts->heap[c], i);
		i = c;
	}
	place(ts, t, i);
}

void
mq_timers_fini(mq_timers *ts)
{
	for (uint32_t i = 0; i < ts->len; i++)
		ts->heap[i]->idx = MQ_TIMER_IDLE;
	free(ts->heap);
	ts->heap = NULL;
	ts->len = ts->cap = 0;
}

int
mq_timer_set(mq_timers *ts, mq_timer *t, uint64_t deadline)
{
	if (mq_timer_armed(t)) {
		uint64_t old = t->deadline;

		t->deadline = deadline;
		if (deadline < old)
			sift_up(ts, t->idx);
		else
			sift_down(ts, t->idx);
		return 0;
	}
	if (ts->len == ts->cap) {
		uint32_t   cap = ts->cap ? ts->cap * 2 : 64;
		mq_timer **h = realloc(ts->heap, cap * sizeof(*h));

		if (h == NULL)
			return -ENOMEM;
		ts->heap = h;
		ts->cap = cap;
	}
	t->deadline = deadline;
	place(ts, t, ts->len++);
	sift_up(ts, t->idx);
	return 0;
}

void
mq_timer_cancel(mq_timers *ts, mq_timer *t)
{
	uint32_t i = t->idx;

	if (i == MQ_TIMER_IDLE)
		return;
	t->idx = MQ_TIMER_IDLE;
	if (--ts->len == i)
		return;
	mq_timer *m = ts->heap[ts->len];

	place(ts, m, i);
	sift_up(ts, i);
	sift_down(ts, m->idx);
}

int
mq_timers_next(const mq_timers *ts, uint64_t now)
{
	uint64_t d;

	if (ts->len == 0)
		return -1;
	d = ts->heap[0]->deadline;
	if (d <= now)
		return 0;
	return d - now > 86400000 ? 86400000 : (int) (d - now);
}

void
mq_timers_expire(mq_timers *ts, uint64_t now)
{
	while (ts->len > 0 && ts->heap[0]->deadline <= now) {
		mq_timer *t = ts->heap[0];

		mq_timer_cancel(ts, t);
		t->fn(t);
	}
}
