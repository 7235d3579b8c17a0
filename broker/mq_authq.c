/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_authq: a fixed pool of auth threads behind one bounded queue.
 *
 * One mutex guards the waiting list, the done list and every job's
 * cancelled flag; threads sleep on a condition variable.  A thread takes
 * the oldest waiting job, runs its crypt(3) outside the lock (unless the
 * job was cancelled meanwhile), puts it on the done list and bumps the
 * eventfd.  The loop drains the eventfd and takes the whole done list at
 * once.  Jobs are malloc'd by the submitter; whoever ends up with one
 * frees it (the loop, or mq_authq_free at shutdown).
 */
#include "config.h"

#include "broker/mq_authq.h"
#include "broker/mq_log.h"
#include "broker/mq_plugins.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MQ_AUTHQ_MAX_THREADS 2

struct mq_authq {
	pthread_mutex_t     mu;
	pthread_cond_t      cv;
	struct mq_auth_job *wait_head, *wait_tail;
	struct mq_auth_job *done_head, *done_tail;
	unsigned            nwait, max_jobs, nthreads;
	bool                stop;
	int                 efd;
	pthread_t           th[MQ_AUTHQ_MAX_THREADS];
};

static void
job_free(struct mq_auth_job *j)
{
	mq_creds_check_free(j->ck);
	free(j);
}

static void
list_free(struct mq_auth_job *j)
{
	while (j != NULL) {
		struct mq_auth_job *next = j->next;

		job_free(j);
		j = next;
	}
}

static void *
worker(void *arg)
{
	mq_authq *q = arg;
	uint64_t  one = 1;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct mq_auth_job *j;
		bool                skip;

		while (!q->stop && q->wait_head == NULL)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->stop)
			break;
		j = q->wait_head;
		q->wait_head = j->next;
		if (q->wait_head == NULL)
			q->wait_tail = NULL;
		q->nwait--;
		j->next = NULL;
		skip = j->cancelled;
		pthread_mutex_unlock(&q->mu);
		if (!skip) /* the slow part, outside the lock */
			mq_creds_check_run(j->ck);
		pthread_mutex_lock(&q->mu);
		if (q->done_tail != NULL)
			q->done_tail->next = j;
		else
			q->done_head = j;
		q->done_tail = j;
		/* A full counter (never, in practice) still leaves the fd
		 * readable, which is all the loop needs. */
		if (write(q->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			mq_err("write(auth eventfd): %s", strerror(errno));
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int
mq_authq_new(mq_authq **out, unsigned threads, unsigned max_jobs)
{
	mq_authq *q = calloc(1, sizeof(*q));
	int       rc;

	*out = NULL;
	if (q == NULL)
		return -ENOMEM;
	if (threads < 1)
		threads = 1;
	if (threads > MQ_AUTHQ_MAX_THREADS)
		threads = MQ_AUTHQ_MAX_THREADS;
	q->max_jobs = max_jobs;
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0) {
		rc = -errno;
		mq_err("eventfd: %s", strerror(-rc));
		free(q);
		return rc;
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	for (unsigned i = 0; i < threads; i++) {
		rc = pthread_create(&q->th[i], NULL, worker, q);
		if (rc != 0) {
			mq_err("pthread_create(auth): %s", strerror(rc));
			mq_authq_free(&q);
			return -rc;
		}
		q->nthreads++;
	}
	*out = q;
	return 0;
}

void
mq_authq_free(mq_authq **qp)
{
	mq_authq *q = *qp;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->th[i], NULL);
	list_free(q->wait_head);
	list_free(q->done_head);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	close(q->efd);
	free(q);
	*qp = NULL;
}

int
mq_authq_fd(const mq_authq *q)
{
	return q->efd;
}

int
mq_authq_submit(mq_authq *q, struct mq_auth_job *j)
{
	int rc = 0;

	j->next = NULL;
	j->cancelled = false;
	pthread_mutex_lock(&q->mu);
	if (q->nwait >= q->max_jobs) {
		rc = -EBUSY;
	} else {
		if (q->wait_tail != NULL)
			q->wait_tail->next = j;
		else
			q->wait_head = j;
		q->wait_tail = j;
		q->nwait++;
		pthread_cond_signal(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	return rc;
}

void
mq_authq_cancel(mq_authq *q, struct mq_auth_job *j)
{
	pthread_mutex_lock(&q->mu);
	j->cancelled = true;
	pthread_mutex_unlock(&q->mu);
}

struct mq_auth_job *
mq_authq_done(mq_authq *q)
{
	struct mq_auth_job *j;
	uint64_t            n;

	if (read(q->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		mq_err("read(auth eventfd): %s", strerror(errno));
	pthread_mutex_lock(&q->mu);
	j = q->done_head;
	q->done_head = q->done_tail = NULL;
	pthread_mutex_unlock(&q->mu);
	return j;
}

unsigned
mq_authq_waiting(mq_authq *q)
{
	unsigned n;

	pthread_mutex_lock(&q->mu);
	n = q->nwait;
	pthread_mutex_unlock(&q->mu);
	return n;
}
