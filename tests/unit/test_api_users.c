/* SPDX-License-Identifier: BSD-2-Clause */
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
	T_EQ(api_users_add(
	         path, "bob", "pw:with:colons", "viewer", API_ROLE_ADMIN),
	    0);
	T_EQ(api_users_add(path, "bob", "x", "", API_ROLE_ADMIN), -EEXIST);
	T_EQ(api_users_add(path, "a:b", "x", "", API_ROLE_ADMIN), -EINVAL);
	T_EQ(api_users_add(path, "", "x", "", API_ROLE_ADMIN), -EINVAL);
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
	T_EQ(api_users_add(path, "x", "y", "", API_ROLE_ADMIN), 0);
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
			_exit(api_users_add(
			          path, name, "pw", "", API_ROLE_VIEWER)
			            == 0
			        ? 0
			        : 1);
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

/* The role is the fourth field, written for viewers only: files from
 * before roles, and lines htpasswd adds, are administrators. */
T_TEST(roles)
{
	api_users *u = NULL;
	char       buf[4096];
	FILE      *fp;
	size_t     n;

	setup();
	fp = fopen(path, "w");
	fputs("old:$6$x$y:administrator\n"
	      "plain:$6$x$y\n"
	      "v:$6$x$y::viewer\n"
	      "tv:$6$x$y:ops:viewer\n"
	      "odd:$6$x$y:a:b\n",
	    fp);
	fclose(fp);
	T_EQ(api_users_load(&u, path), 0);
	T_EQ(api_users_role(u, 0), API_ROLE_ADMIN);
	T_STREQ(api_users_tags(u, 0), "administrator");
	T_EQ(api_users_role(u, 1), API_ROLE_ADMIN);
	T_EQ(api_users_role(u, 2), API_ROLE_VIEWER);
	T_STREQ(api_users_tags(u, 2), "");
	T_EQ(api_users_role(u, 3), API_ROLE_VIEWER);
	T_STREQ(api_users_tags(u, 3), "ops");
	/* a last field that names no role stays part of the tags */
	T_EQ(api_users_role(u, 4), API_ROLE_ADMIN);
	T_STREQ(api_users_tags(u, 4), "a:b");
	api_users_free(&u);
	T_EQ(api_users_add(path, "new", "pw", "t", API_ROLE_VIEWER), 0);
	T_EQ(api_users_set_tags(path, "new", "t2"), 0); /* keeps the role */
	T_EQ(api_users_set_password(path, "new", "pw2"), 0);
	T_EQ(api_users_load(&u, path), 0);
	T_EQ(api_users_role(u, 5), API_ROLE_VIEWER);
	T_STREQ(api_users_tags(u, 5), "t2");
	T_ASSERT(api_users_verify(u, 5, "pw2"));
	api_users_free(&u);
	T_EQ(api_users_set_role(path, "new", API_ROLE_ADMIN), 0);
	T_EQ(api_users_set_role(path, "ghost", API_ROLE_ADMIN), -ENOENT);
	T_EQ(api_users_set_role(path, "v", API_ROLE_ADMIN), 0);
	T_EQ(api_users_load(&u, path), 0);
	T_EQ(api_users_role(u, 5), API_ROLE_ADMIN);
	T_STREQ(api_users_tags(u, 5), "t2");
	T_EQ(api_users_role(u, 2), API_ROLE_ADMIN);
	api_users_free(&u);
	/* untouched lines are kept byte for byte */
	fp = fopen(path, "r");
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	T_ASSERT(strstr(buf, "tv:$6$x$y:ops:viewer\n") != NULL);
	T_ASSERT(strstr(buf, "odd:$6$x$y:a:b\n") != NULL);
	T_ASSERT(strstr(buf, "\nv:$6$x$y\n") != NULL);
	T_EQ(api_role_parse("viewer", 6), API_ROLE_VIEWER);
	T_EQ(api_role_parse("admin", 5), API_ROLE_ADMIN);
	T_EQ(api_role_parse("Admin", 5), -EINVAL);
	T_EQ(api_role_parse("view", 4), -EINVAL);
}

/* Each field has its own limit (a 512-byte password is the password's
 * problem, not the name's). */
T_TEST(limits)
{
	char long_pw[API_USERS_PASSWORD_MAX + 2];
	char name[API_USERS_NAME_MAX + 2];
	char tags[API_USERS_TAGS_MAX + 2];

	setup();
	memset(long_pw, 'p', sizeof(long_pw) - 1);
	long_pw[sizeof(long_pw) - 1] = '\0';
	T_ASSERT(!api_users_password_valid(long_pw));
	long_pw[API_USERS_PASSWORD_MAX] = '\0';
	T_ASSERT(api_users_password_valid(long_pw));
	T_ASSERT(!api_users_password_valid(""));
	T_EQ(api_users_add(path, "u", long_pw, "", API_ROLE_ADMIN), 0);
	T_ASSERT(check("u", long_pw));
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	T_ASSERT(!api_users_name_valid(name));
	name[API_USERS_NAME_MAX] = '\0';
	T_ASSERT(api_users_name_valid(name));
	T_ASSERT(!api_users_name_valid("#x"));
	memset(tags, 't', sizeof(tags) - 1);
	tags[sizeof(tags) - 1] = '\0';
	T_ASSERT(!api_users_tags_valid(tags));
	tags[API_USERS_TAGS_MAX] = '\0';
	T_ASSERT(api_users_tags_valid(tags));
}

static const struct t_case cases[] = {
	T_ENTRY(init_and_verify),
	T_ENTRY(edits),
	T_ENTRY(rename_makes_new_inode),
	T_ENTRY(concurrent_adds),
	T_ENTRY(roles),
	T_ENTRY(limits),
};

T_MAIN(cases)
