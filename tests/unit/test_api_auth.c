/* Unit tests for fcgi/api_auth: the verified-credential cache. */
#include "config.h"

#include "fcgi/api_auth.h"
#include "fcgi/api_users.h"
#include "tests/harness/t.h"

#include <errno.h>
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

static const struct t_case cases[] = {
	T_ENTRY(basic_and_cache),
	T_ENTRY(file_changes),
	T_ENTRY(roles),
};

T_MAIN(cases)
