/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_authq: the broker's auth threads.  Password checks that need
 * crypt(3) (milliseconds each, tens of them for yescrypt) run here, so
 * that no client's login, let alone a loop of wrong passwords, stalls the
 * event loop.  The loop submits jobs; a fixed pool of threads runs them
 * (mq_creds_check_run: the check's own copies, nothing shared); done
 * jobs come back through an eventfd that the loop watches in its epoll
 * set, and only the loop judges them (plugins, cache, segment).
 *
 * The queue is bounded: past max_jobs waiting checks, submit says
 * -EBUSY and the caller refuses the CONNECT rather than queue without
 * limit.
 *
 * Errors: int functions return 0 or -errno; the failure is logged once.
 */
#ifndef MQ_AUTHQ_H
#define MQ_AUTHQ_H

#include <stdbool.h>

struct mq_auth_check;
typedef struct mq_authq mq_authq;

/* One check on its way through the pool; owner is the caller's. */
struct mq_auth_job {
	struct mq_auth_job   *next;
	struct mq_auth_check *ck;
	void                 *owner;
	bool                  cancelled; /* under the queue's lock */
};

int mq_authq_new(mq_authq **out, unsigned threads, unsigned max_jobs);
/* Stops and joins the threads; frees every job not yet returned. */
void mq_authq_free(mq_authq **q);

/* The eventfd to watch (readable when jobs are done). */
int mq_authq_fd(const mq_authq *q);

/* Queues j (0), or -EBUSY when max_jobs are already waiting. */
int mq_authq_submit(mq_authq *q, struct mq_auth_job *j);

/*
 * Marks j's owner gone: a job not yet started is skipped (no crypt), a
 * running one finishes; either way it comes back from mq_authq_done with
 * cancelled set, for the caller to free.
 */
void mq_authq_cancel(mq_authq *q, struct mq_auth_job *j);

/* Takes the done jobs (a list through next, oldest first). */
struct mq_auth_job *mq_authq_done(mq_authq *q);

/* Waiting checks (not yet taken by a thread). */
unsigned mq_authq_waiting(mq_authq *q);

#endif
