/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for fcgi/api_auth: the verified-credential cache. */
#include "config.h"

#include "fcgi/api_auth.h"
#include "fcgi/api_users.h"
#include "tests/harness/t.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

/* "Basic " + base64("admin:public") and friends */
#define ADMIN_PUBLIC "Basic YWRtaW46cHVibGlj"
#define ADMIN_SECRET "Basic YWRtaW46c2VjcmV0"
#define BOB_PW       "Basic Ym9iOnB3"

static char path[128];

static api_auth *
setup(void)
{
	static char dir[64];
	api_auth   *a = NULL;

	snprintf(dir, sizeof(dir), "/tmp/test_api_auth.XXXXXX");
	T_ASSERT(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/users", dir);
	T_EQ(api_users_init(path, "admin", "public", ""), 0);
	T_EQ(api_auth_new(&a, path), 0);
	return a;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

T_TEST(basic_and_cache)
{
	api_auth *a = setup();
	double    t0;

	T_EQ(api_auth_check(a, NULL, true, NULL), -EACCES);
	T_EQ(api_auth_check(a, "", true, NULL), -EACCES);
	T_EQ(api_auth_check(a, "Bearer x", true, NULL), -EACCES);
	T_EQ(api_auth_check(a, "Basic !!!", true, NULL), -EACCES);
	T_EQ(api_auth_check(a, ADMIN_SECRET, true, NULL), -EACCES);
	/* gate: not cached yet, so no hashing, ask nginx to come back */
	T_EQ(api_auth_check(a, ADMIN_PUBLIC, false, NULL), -EAGAIN);
	T_EQ(api_auth_check(a, ADMIN_PUBLIC, true, NULL), 0);
	T_EQ(api_auth_check(a, ADMIN_PUBLIC, false, NULL), 0);
	T_EQ(api_auth_check(a, "basic YWRtaW46cHVibGlj", true, NULL), 0);
	/* failures are never cached: still a miss under the gate */
	T_EQ(api_auth_check(a, ADMIN_SECRET, false, NULL), -EAGAIN);
	/* 20000 hits cost far less than 20000 crypts (~1 ms each) */
	t0 = now_s();
	for (int i = 0; i < 20000; i++)
		T_EQ(api_auth_check(a, ADMIN_PUBLIC, false, NULL), 0);
	T_ASSERT(now_s() - t0 < 2.0);
	api_auth_free(&a);
}

T_TEST(file_changes)
{
	api_auth *a = setup();
	double    t0;

	T_EQ(api_auth_check(a, ADMIN_PUBLIC, true, NULL), 0);
	/* a new user works on the very next request */
	T_EQ(api_users_add(path, "bob", "pw", "", API_ROLE_ADMIN), 0);
	T_EQ(api_auth_check(a, BOB_PW, true, NULL), 0);
	/* a changed password: the old one stops within the check period */
	T_EQ(api_users_set_password(path, "admin", "secret"), 0);
	T_EQ(api_auth_check(a, ADMIN_SECRET, true, NULL), 0);
	t0 = now_s();
	while (api_auth_check(a, ADMIN_PUBLIC, false, NULL) == 0)
		T_ASSERT(now_s() - t0 < 1.0);
	/* a deleted user too */
	T_EQ(api_users_delete(path, "bob"), 0);
	t0 = now_s();
	while (api_auth_check(a, BOB_PW, true, NULL) == 0)
		T_ASSERT(now_s() - t0 < 1.0);
	api_auth_free(&a);
}

/* The role comes with the verdict, from the cache too, and a change of
 * role is seen like a change of password. */
T_TEST(roles)
{
	api_auth     *a = setup();
	enum api_role r = API_ROLE_VIEWER;
	double        t0;

	T_EQ(api_auth_check(a, ADMIN_PUBLIC, true, &r), 0);
	T_EQ(r, API_ROLE_ADMIN);
	T_EQ(api_users_add(path, "bob", "pw", "", API_ROLE_VIEWER), 0);
	T_EQ(api_auth_check(a, BOB_PW, true, &r), 0);
	T_EQ(r, API_ROLE_VIEWER);
	r = API_ROLE_ADMIN;
	T_EQ(api_auth_check(a, BOB_PW, false, &r), 0); /* a hit */
	T_EQ(r, API_ROLE_VIEWER);
	T_EQ(api_users_set_role(path, "bob", API_ROLE_ADMIN), 0);
	t0 = now_s();
	do {
		T_ASSERT(now_s() - t0 < 1.0);
		T_EQ(api_auth_check(a, BOB_PW, true, &r), 0);
	} while (r != API_ROLE_ADMIN);
	api_auth_free(&a);
}

/*
 * Readers on three threads while the file changes under them and the
 * snapshot is replaced: every reload frees a version and each fill after
 * it frees a cache entry that the other readers may still be looking at,
 * so a grace period that ends too early is a use-after-free under ASan
 * (./dev test; with the grace period taken out, about half the runs
 * failed here).  And no reader may see a verdict that no version of the
 * file gave.
 * admin:public (an admin) never changes; bob's role flips.  Thread 0
 * hashes (fills the cache after each reload), the others only look up,
 * so that they are inside a read-side section most of the time.
 */
struct stress {
	api_auth            *a;
	atomic_bool          stop;
	atomic_uint_fast64_t hits, fills;
};

struct stress_thread {
	struct stress *st;
	int            id;
};

static void
stress_fill(struct stress *st)
{
	enum api_role r = API_ROLE_VIEWER;

	T_EQ(api_auth_check(st->a, ADMIN_PUBLIC, true, &r), 0);
	T_EQ(r, API_ROLE_ADMIN);
	T_EQ(api_auth_check(st->a, ADMIN_SECRET, true, &r), -EACCES);
	r = (enum api_role) - 1;
	T_EQ(api_auth_check(st->a, BOB_PW, true, &r), 0);
	T_ASSERT(r == API_ROLE_ADMIN || r == API_ROLE_VIEWER);
	atomic_fetch_add(&st->fills, 1);
}

static void
stress_look(struct stress *st)
{
	enum api_role r = API_ROLE_VIEWER;
	int           rc = api_auth_check(st->a, ADMIN_PUBLIC, false, &r);

	T_ASSERT(rc == 0 || rc == -EAGAIN);
	T_ASSERT(rc != 0 || r == API_ROLE_ADMIN);
	rc = api_auth_check(st->a, BOB_PW, false, &r);
	T_ASSERT(rc == 0 || rc == -EAGAIN);
	T_ASSERT(rc != 0 || r == API_ROLE_ADMIN || r == API_ROLE_VIEWER);
	T_EQ(api_auth_check(st->a, ADMIN_SECRET, false, &r), -EAGAIN);
	if (rc == 0)
		atomic_fetch_add(&st->hits, 1);
}

static void *
stress_reader(void *arg)
{
	struct stress_thread *t = arg;

	while (!atomic_load(&t->st->stop)) {
		if (t->id == 0)
			stress_fill(t->st);
		else
			stress_look(t->st);
	}
	return NULL;
}

T_TEST(reload_under_readers)
{
	struct stress        st = { .a = setup() };
	struct stress_thread t[3];
	pthread_t            th[3];
	enum api_role        r = API_ROLE_VIEWER;
	int                  changes = 0;
	double               t0;

	T_EQ(api_users_add(path, "bob", "pw", "", API_ROLE_VIEWER), 0);
	api_auth_invalidate(st.a);
	for (int i = 0; i < 3; i++) {
		t[i] = (struct stress_thread) { &st, i };
		T_EQ(pthread_create(&th[i], NULL, stress_reader, &t[i]), 0);
	}
	t0 = now_s();
	while (now_s() - t0 < 1.5 || changes < 20) {
		T_EQ(api_users_set_role(path, "bob",
		         changes % 2 ? API_ROLE_VIEWER : API_ROLE_ADMIN),
		    0);
		changes++;
		/* more reloads than file changes: more frees to get wrong */
		for (int i = 0; i < 16; i++)
			api_auth_invalidate(st.a);
		T_ASSERT(now_s() - t0 < 20.0);
	}
	atomic_store(&st.stop, true);
	for (int i = 0; i < 3; i++)
		T_EQ(pthread_join(th[i], NULL), 0);
	/* both kinds of reader got through, and the last version is the
	 * one seen */
	T_ASSERT(atomic_load(&st.fills) > 0);
	T_ASSERT(atomic_load(&st.hits) > 0);
	T_EQ(api_auth_check(st.a, BOB_PW, true, &r), 0);
	T_EQ(r, changes % 2 ? API_ROLE_ADMIN : API_ROLE_VIEWER);
	fprintf(stderr, "  %d changes, %ju fills, %ju hits\n", changes,
	    (uintmax_t) atomic_load(&st.fills),
	    (uintmax_t) atomic_load(&st.hits));
	api_auth_free(&st.a);
}

static const struct t_case cases[] = {
	T_ENTRY(basic_and_cache),
	T_ENTRY(file_changes),
	T_ENTRY(roles),
	T_ENTRY(reload_under_readers),
};

T_MAIN(cases)
