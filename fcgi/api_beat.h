/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_beat: the workers' heartbeats, which the master watches.
 *
 * A worker that stops making progress (SIGSTOP, a deadlock, a handler
 * that loops) holds every request nginx has sent over the connections it
 * keeps; the master kills it (its connections close, nginx retries the
 * idempotent requests on another worker) and respawns it.  Each worker
 * slot has two monotonic stamps in a mapping shared by the master and the
 * workers:
 *
 *   alive  stamped every API_BEAT_TICK_MS by a worker thread that does
 *          nothing else: stale only when the process does not run at all;
 *   turn   stamped by the thread leading the worker's event loop each time
 *          it waits for the next event (at least every tick): stale when
 *          no thread is free to take the next event.
 *
 * The master judges them with two limits: a short one for `alive` (the
 * bound on what a stopped worker costs) and a longer one for `turn`, which
 * must exceed the longest a request may legitimately hold every thread
 * (a command waits up to --ctl-timeout-ms for the broker).
 */
#ifndef API_BEAT_H
#define API_BEAT_H

#include <stdint.h>

/* How often a worker stamps, and how often the master looks. */
#define API_BEAT_TICK_MS 100

typedef struct api_beat api_beat;

/* The master, before it forks: room for `slots` workers.  0 or -errno. */
int api_beat_new(api_beat **out, int slots);

/* The master, when it forks slot's worker: both stamps grace_ms in the
 * future, so a worker starting up is not judged before it could stamp. */
void api_beat_arm(api_beat *b, int slot, int grace_ms);

/* The worker: starts the thread that stamps `alive`.  0 or -errno. */
int api_beat_start(api_beat *b, int slot);

/* The worker's event-loop leader, before each wait for an event. */
void api_beat_turn(api_beat *b, int slot);

/* The master: 0 if slot's worker is fine, else how many ms the stale
 * stamp is old, with *what naming it ("alive" or "turn"). */
int64_t api_beat_stale(const api_beat *b, int slot, int alive_limit_ms,
    int turn_limit_ms, const char **what);

#endif
