/* Unit tests for fcgi/api_users: the htpasswd file and its edits. */
#include "config.h"

#include "fcgi/api_users.h"
#include "tests/harness/t.h"

#include <errno.h>

static char dir[64], path[128];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_api_users.XXXXXX");
	T_ASSERT(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/users", dir);
}

static bool
check(const char *name, const char *pw)
{
	api_users *u = NULL;
	long       i;
	bool       ok;

	T_EQ(api_users_load(&u, path), 0);
	i = api_users_find(u, name);
	ok = i >= 0 && api_users_verify(u, (size_t) i, pw);
	api_users_free(&u);
	return ok;
}

T_TEST(init_and_verify)
{
	char  line[512];
	FILE *fp;

	setup();
	T_EQ(api_users_init(path, "admin", "public", "administrator"), 0);
	T_EQ(api_users_init(path, "admin", "other", ""), -EEXIST);
	T_ASSERT(check("admin", "public"));
	T_ASSERT(!check("admin", "Public"));
	T_ASSERT(!check("nobody", "public"));
	fp = fopen(path, "r");
	T_ASSERT(fgets(line, sizeof(line), fp) != NULL);
	fclose(fp);
	/* salted SHA-512 crypt, tags after the hash */
	T_ASSERT(strncmp(line, "admin:$6$", 9) == 0);
	T_ASSERT(strstr(line, ":administrator\n") != NULL);
}

T_TEST(edits)
{
	api_users *u = NULL;
	FILE      *fp;

	setup();
	fp = fopen(path, "w");
	fputs("# kept\nadmin:$6$x$y\n", fp);
	fclose(fp);
	T_EQ(api_users_add(path, "bob", "pw:with:colons", "viewer"), 0);
	T_EQ(api_users_add(path, "bob", "x", ""), -EEXIST);
	T_EQ(api_users_add(path, "a:b", "x", ""), -EINVAL);
	T_EQ(api_users_add(path, "", "x", ""), -EINVAL);
	T_ASSERT(check("bob", "pw:with:colons"));
	T_EQ(api_users_set_password(path, "bob", "new"), 0);
	T_ASSERT(check("bob", "new"));
	T_ASSERT(!check("bob", "pw:with:colons"));
	T_EQ(api_users_set_tags(path, "bob", "admin2"), 0);
	T_EQ(api_users_set_tags(path, "carol", "x"), -ENOENT);
	T_EQ(api_users_load(&u, path), 0);
	T_EQ(api_users_count(u), 2);
	T_STREQ(api_users_name(u, 1), "bob");
	T_STREQ(api_users_tags(u, 1), "admin2");
	T_STREQ(api_users_tags(u, 0), "");
	api_users_free(&u);
	T_ASSERT(check("bob", "new")); /* tags kept the hash */
	T_EQ(api_users_delete(path, "bob"), 0);
	T_EQ(api_users_delete(path, "bob"), -ENOENT);
	T_ASSERT(!check("bob", "new"));
	fp = fopen(path, "r");
	T_ASSERT(fgets((char[64]) { 0 }, 64, fp) != NULL);
	fclose(fp);
}

T_TEST(rename_makes_new_inode)
{
	struct api_users_sig a, b;

	setup();
	api_users_stat(path, &a);
	T_EQ(a.ino, 0);
	T_EQ(api_users_init(path, "admin", "public", ""), 0);
	api_users_stat(path, &a);
	T_EQ(api_users_add(path, "x", "y", ""), 0);
	api_users_stat(path, &b);
	T_ASSERT(!api_users_sig_eq(&a, &b));
}

/* Concurrent editors in separate processes lose no edit (flock). */
T_TEST(concurrent_adds)
{
	enum { N = 8 };
	api_users *u = NULL;

	setup();
	T_EQ(api_users_init(path, "admin", "public", ""), 0);
	for (int i = 0; i < N; i++) {
		if (fork() == 0) {
			char name[16];

			snprintf(name, sizeof(name), "u%d", i);
			_exit(
			    api_users_add(path, name, "pw", "") == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < N; i++) {
		int st;

		T_ASSERT(wait(&st) > 0);
		T_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	T_EQ(api_users_load(&u, path), 0);
	T_EQ(api_users_count(u), N + 1);
	api_users_free(&u);
}

static const struct t_case cases[] = {
	T_ENTRY(init_and_verify),
	T_ENTRY(edits),
	T_ENTRY(rename_makes_new_inode),
	T_ENTRY(concurrent_adds),
};

T_MAIN(cases)
