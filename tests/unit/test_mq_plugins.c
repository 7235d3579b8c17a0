/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the broker plugins (mq_plugins, mq_creds, mq_acl, mq_file):
 * state file, auth chain, ACL rules. */
#include "config.h"

#include "broker/mq_file.h"
#include "broker/mq_plugins.h"
#include "tests/harness/t.h"

#include <errno.h>
#include <sys/stat.h>
#include <time.h>

static char  root[64]; /* made by the parent, removed when it exits */
static char  dir[96];  /* one per test, under root */
static pid_t parent;

static void __attribute__((constructor)) root_make(void)
{
	parent = getpid();
	strcpy(root, "/tmp/test_mq_plugins.XXXXXX");
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

static void __attribute__((destructor)) root_remove(void)
{
	char cmd[128];

	if (getpid() != parent) /* a test child that failed with exit() */
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
}

/* A path in this test's own directory (each test runs in a child). */
static const char *
tmp_path(const char *name)
{
	static char buf[8][160];
	static int  next;
	char       *p = buf[next++ % 8];

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "%s/t.XXXXXX", root);
		T_ASSERT(mkdtemp(dir) != NULL);
	}
	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	T_ASSERT(f != NULL);
	fputs(text, f);
	T_EQ(fclose(f), 0);
}

static char *
read_text(const char *path)
{
	static char buf[4096];
	FILE       *f = fopen(path, "r");
	size_t      n;

	T_ASSERT(f != NULL);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static mq_plugins *
make(const char *state, const char *users, const char *clients,
    const char *acl, bool anon)
{
	struct mq_plugins_config cfg = { state, users, clients, acl, anon };
	mq_plugins              *p = NULL;

	T_EQ(mq_plugins_new(&p, &cfg), 0);
	T_ASSERT(p != NULL);
	return p;
}

#define S(x) (x), strlen(x)

T_TEST(names_and_find)
{
	static const char *names[MQ_PLUGIN_COUNT] = {
		"mqttd_retainer",
		"mqttd_auth_username",
		"mqttd_auth_clientid",
		"mqttd_acl_file",
		"mqttd_sys",
		"mqttd_auth_redis",
		"mqttd_auth_pgsql",
		"mqttd_auth_jwt",
		"mqttd_auth_http",
	};

	for (int i = 0; i < MQ_PLUGIN_COUNT; i++) {
		T_STREQ(mq_plugin_name(i), names[i]);
		T_EQ(mq_plugin_find(S(names[i])), i);
		T_STREQ(mq_plugin_version(i), PACKAGE_VERSION);
		T_ASSERT(strlen(mq_plugin_description(i)) > 5);
	}
	T_EQ(mq_plugin_find(S("mqttd_retaine")), -ENOENT);
	T_EQ(mq_plugin_find(S("mqttd_retainerX")), -ENOENT);
	T_EQ(mq_plugin_find("mqttd_sys", 9), MQ_PLUGIN_SYS);
	T_EQ(mq_plugin_find("mqttd_sysX", 9), MQ_PLUGIN_SYS);
	T_EQ(mq_plugin_find(NULL, 0), -ENOENT);
	T_ASSERT(mq_plugin_name(MQ_PLUGIN_COUNT) == NULL);
}

T_TEST(defaults_without_state_file)
{
	mq_plugins *p = make(tmp_path("plugins.state"), NULL, NULL, NULL, 1);

	T_ASSERT(mq_plugins_active(p, MQ_PLUGIN_RETAINER));
	T_ASSERT(mq_plugins_active(p, MQ_PLUGIN_SYS));
	T_ASSERT(!mq_plugins_active(p, MQ_PLUGIN_AUTH_USERNAME));
	T_ASSERT(!mq_plugins_active(p, MQ_PLUGIN_AUTH_CLIENTID));
	T_ASSERT(!mq_plugins_active(p, MQ_PLUGIN_ACL_FILE));
	mq_plugins_free(&p);
	T_ASSERT(p == NULL);
	/* Nothing was switched: nothing was written. */
	T_ASSERT(access(tmp_path("plugins.state"), F_OK) < 0);
}

T_TEST(state_round_trip)
{
	const char *st = tmp_path("plugins.state");
	mq_plugins *p = make(st, NULL, NULL, NULL, true);

	T_EQ(mq_plugins_set_active(p, MQ_PLUGIN_RETAINER, false), 0);
	T_EQ(mq_plugins_set_active(p, MQ_PLUGIN_ACL_FILE, true), 0);
	T_EQ(mq_plugins_set_active(p, MQ_PLUGIN_ACL_FILE, true), -EALREADY);
	T_EQ(mq_plugins_set_active(p, MQ_PLUGIN_SYS, true), -EALREADY);
	T_ASSERT(!mq_plugins_active(p, MQ_PLUGIN_RETAINER));
	T_STREQ(read_text(st),
	    "mqttd_retainer off\n"
	    "mqttd_auth_username off\n"
	    "mqttd_auth_clientid off\n"
	    "mqttd_acl_file on\n"
	    "mqttd_sys on\n"
	    "mqttd_auth_redis off\n"
	    "mqttd_auth_pgsql off\n"
	    "mqttd_auth_jwt off\n"
	    "mqttd_auth_http off\n");
	T_ASSERT(access(tmp_path("plugins.state.tmp"), F_OK) < 0);
	mq_plugins_free(&p);

	p = make(st, NULL, NULL, NULL, true);
	T_ASSERT(!mq_plugins_active(p, MQ_PLUGIN_RETAINER));
	T_ASSERT(mq_plugins_active(p, MQ_PLUGIN_ACL_FILE));
	T_ASSERT(mq_plugins_active(p, MQ_PLUGIN_SYS));
	T_EQ(mq_plugins_set_active(p, MQ_PLUGIN_RETAINER, true), 0);
	mq_plugins_free(&p);
	p = make(st, NULL, NULL, NULL, true);
	T_ASSERT(mq_plugins_active(p, MQ_PLUGIN_RETAINER));
	mq_plugins_free(&p);
}

T_TEST(state_file_malformed_lines)
{
	const char *st = tmp_path("plugins.state");
	mq_plugins *p;

	write_text(st,
	    "# comment\n"
	    "\n"
	    "mqttd_retainer   off  \r\n"
	    "mqttd_sys maybe\n"
	    "mqttd_nosuch on\n"
	    "mqttd_auth_username on extra\n"
	    "mqttd_auth_clientid\n"
	    "   mqttd_acl_file\ton\n");
	p = make(st, NULL, NULL, NULL, true);
	T_ASSERT(!mq_plugins_active(p, MQ_PLUGIN_RETAINER));
	T_ASSERT(mq_plugins_active(p, MQ_PLUGIN_SYS)); /* default kept */
	T_ASSERT(!mq_plugins_active(p, MQ_PLUGIN_AUTH_USERNAME));
	T_ASSERT(!mq_plugins_active(p, MQ_PLUGIN_AUTH_CLIENTID));
	T_ASSERT(mq_plugins_active(p, MQ_PLUGIN_ACL_FILE));
	mq_plugins_free(&p);
}

T_TEST(state_save_failure_keeps_state)
{
	mq_plugins *p
	    = make("/nonexistent-dir/x/plugins.state", NULL, NULL, NULL, true);

	T_EQ(mq_plugins_set_active(p, MQ_PLUGIN_ACL_FILE, true), -ENOENT);
	T_ASSERT(!mq_plugins_active(p, MQ_PLUGIN_ACL_FILE));
	mq_plugins_free(&p);
}

T_TEST(no_state_path_switches_in_memory)
{
	mq_plugins *p = make(NULL, NULL, NULL, NULL, true);

	T_EQ(mq_plugins_set_active(p, MQ_PLUGIN_RETAINER, false), 0);
	T_ASSERT(!mq_plugins_active(p, MQ_PLUGIN_RETAINER));
	mq_plugins_free(&p);
}

T_TEST(hash_password_round_trip)
{
	char h[256];

	T_ASSERT(mq_creds_hash_password(h, sizeof(h), "pw", false) > 0);
	T_ASSERT(strncmp(h, "$y$", 3) == 0);
	T_ASSERT(mq_creds_hash_password(h, sizeof(h), "pw", true) > 0);
	T_ASSERT(strncmp(h, "$6$", 3) == 0);
	T_EQ(mq_creds_hash_password(h, 10, "pw", true), -ENOSPC);
}

/* Writes an auth file with good, weak, plain and malformed entries. */
static void
write_users(const char *path)
{
	char a[256], b[256], c[256], text[2048];

	T_ASSERT(mq_creds_hash_password(a, sizeof(a), "alice-pw", false) > 0);
	T_ASSERT(mq_creds_hash_password(b, sizeof(b), "bob-pw", true) > 0);
	T_ASSERT(mq_creds_hash_password(c, sizeof(c), "other", true) > 0);
	snprintf(text, sizeof(text),
	    "# users\n"
	    "alice:%s\n"
	    "  \n"
	    "bob:%s\r\n"
	    "alice:%s\n"       /* duplicate: ignored */
	    "carol:carol-pw\n" /* plain text */
	    "dave:$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0\n" /* MD5 */
	    "erin:abJnggxhB/yWI\n"                      /* DES */
	    "frank:$2b$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/"
	    ".AySBTTZIIVFJeBui\n"
	    "nocolon\n"
	    ":$6$x$y\n"
	    "gina:$6$\n"
	    "hal:$6$salt$bad hash with spaces\n"
	    "dev:client:%s\n", /* name with a colon */
	    a, b, c, b);
	write_text(path, text);
}

T_TEST(auth_chain_table)
{
	const char *uf = tmp_path("users"), *cf = tmp_path("clients");
	char        h[256], text[512];
	static const struct {
		bool        user_on, client_on, anon;
		const char *cid, *user, *pw;
		int         want;
	} rows[] = {
		/* both off: allow_anonymous decides */
		{ 0, 0, 1, "c", "alice", "wrong", MQ_AUTH_ALLOW },
		{ 0, 0, 0, "c", "alice", "alice-pw", MQ_AUTH_NOT_AUTHORIZED },
		/* username plugin */
		{ 1, 0, 0, "c", "alice", "alice-pw", MQ_AUTH_ALLOW },
		{ 1, 0, 1, "c", "alice", "alice-pw!",
		    MQ_AUTH_BAD_CREDENTIALS },
		{ 1, 0, 1, "c", "alice", "", MQ_AUTH_BAD_CREDENTIALS },
		{ 1, 0, 1, "c", "alice", NULL, MQ_AUTH_BAD_CREDENTIALS },
		{ 1, 0, 0, "c", "bob", "bob-pw", MQ_AUTH_ALLOW },
		{ 1, 0, 0, "c", "bob", "other", MQ_AUTH_BAD_CREDENTIALS },
		{ 1, 0, 0, "c", "dev:client", "bob-pw", MQ_AUTH_ALLOW },
		/* refused entries do not exist: ignore */
		{ 1, 0, 1, "c", "carol", "carol-pw", MQ_AUTH_ALLOW },
		{ 1, 0, 0, "c", "carol", "carol-pw", MQ_AUTH_NOT_AUTHORIZED },
		{ 1, 0, 0, "c", "dave", "x", MQ_AUTH_NOT_AUTHORIZED },
		{ 1, 0, 0, "c", "erin", "x", MQ_AUTH_NOT_AUTHORIZED },
		{ 1, 0, 0, "c", "frank", "x", MQ_AUTH_NOT_AUTHORIZED },
		{ 1, 0, 0, "c", "gina", "x", MQ_AUTH_NOT_AUTHORIZED },
		{ 1, 0, 0, "c", "hal", "x", MQ_AUTH_NOT_AUTHORIZED },
		/* unknown user or no username: ignore */
		{ 1, 0, 1, "c", "zed", "x", MQ_AUTH_ALLOW },
		{ 1, 0, 0, "c", "zed", "x", MQ_AUTH_NOT_AUTHORIZED },
		{ 1, 0, 0, "c", NULL, NULL, MQ_AUTH_NOT_AUTHORIZED },
		{ 1, 0, 0, "c", "", "alice-pw", MQ_AUTH_NOT_AUTHORIZED },
		{ 1, 0, 0, "c", "alic", "alice-pw", MQ_AUTH_NOT_AUTHORIZED },
		{ 1, 0, 0, "c", "alicee", "alice-pw", MQ_AUTH_NOT_AUTHORIZED },
		/* clientid plugin */
		{ 0, 1, 0, "dev1", NULL, "dev1-pw", MQ_AUTH_ALLOW },
		{ 0, 1, 1, "dev1", NULL, "nope", MQ_AUTH_BAD_CREDENTIALS },
		{ 0, 1, 1, "dev1", NULL, NULL, MQ_AUTH_BAD_CREDENTIALS },
		{ 0, 1, 0, "dev2", NULL, "dev1-pw", MQ_AUTH_NOT_AUTHORIZED },
		/* chain: a username accept stops the chain; a username
		 * ignore hands over to the clientid plugin; a reject stops */
		{ 1, 1, 0, "dev1", "alice", "alice-pw", MQ_AUTH_ALLOW },
		{ 1, 1, 0, "dev1", "zed", "dev1-pw", MQ_AUTH_ALLOW },
		{ 1, 1, 0, "dev1", "alice", "dev1-pw",
		    MQ_AUTH_BAD_CREDENTIALS },
		{ 1, 1, 0, "dev2", "zed", "x", MQ_AUTH_NOT_AUTHORIZED },
		{ 1, 1, 1, "dev2", "zed", "x", MQ_AUTH_ALLOW },
	};

	write_users(uf);
	T_ASSERT(mq_creds_hash_password(h, sizeof(h), "dev1-pw", true) > 0);
	snprintf(text, sizeof(text), "dev1:%s\n", h);
	write_text(cf, text);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		mq_plugins *p = make(NULL, uf, cf, NULL, rows[i].anon);
		int         got;

		if (rows[i].user_on)
			T_EQ(mq_plugins_set_active(
			         p, MQ_PLUGIN_AUTH_USERNAME, true),
			    0);
		if (rows[i].client_on)
			T_EQ(mq_plugins_set_active(
			         p, MQ_PLUGIN_AUTH_CLIENTID, true),
			    0);
		got = mq_plugins_authenticate(p, S(rows[i].cid), rows[i].user,
		    rows[i].user ? strlen(rows[i].user) : 0, rows[i].pw,
		    rows[i].pw ? strlen(rows[i].pw) : 0);
		if (got != rows[i].want)
			T_FAIL_AT("row %zu (%s/%s/%s): got %d want %d", i,
			    rows[i].cid, rows[i].user ? rows[i].user : "-",
			    rows[i].pw ? rows[i].pw : "-", got, rows[i].want);
		mq_plugins_free(&p);
	}
}

T_TEST(auth_password_with_nul_or_too_long)
{
	const char *uf = tmp_path("users");
	mq_plugins *p;
	static char big[2048];

	write_users(uf);
	p = make(NULL, uf, NULL, NULL, false);
	T_EQ(mq_plugins_set_active(p, MQ_PLUGIN_AUTH_USERNAME, true), 0);
	/* "alice-pw\0x": the NUL must not truncate to a match */
	T_EQ(mq_plugins_authenticate(p, S("c"), S("alice"), "alice-pw\0x", 10),
	    MQ_AUTH_BAD_CREDENTIALS);
	/* not NUL-terminated: only the length counts */
	T_EQ(mq_plugins_authenticate(p, S("c"), S("alice"), "alice-pwXX", 8),
	    MQ_AUTH_ALLOW);
	memset(big, 'a', sizeof(big) - 1);
	T_EQ(mq_plugins_authenticate(p, S("c"), S("alice"), S(big)),
	    MQ_AUTH_BAD_CREDENTIALS);
	mq_plugins_free(&p);
}

T_TEST(auth_missing_file_means_no_entries)
{
	mq_plugins *p = make(NULL, tmp_path("nope"), NULL, NULL, false);

	T_EQ(mq_plugins_set_active(p, MQ_PLUGIN_AUTH_USERNAME, true), 0);
	T_EQ(mq_plugins_authenticate(p, S("c"), S("alice"), S("x")),
	    MQ_AUTH_NOT_AUTHORIZED);
	mq_plugins_free(&p);
}

T_TEST(reload_picks_up_new_entries)
{
	const char *uf = tmp_path("users");
	char        h[256], text[512];
	mq_plugins *p;

	write_text(uf, "");
	p = make(NULL, uf, NULL, NULL, false);
	T_EQ(mq_plugins_set_active(p, MQ_PLUGIN_AUTH_USERNAME, true), 0);
	T_EQ(mq_plugins_authenticate(p, S("c"), S("zoe"), S("zoe-pw")),
	    MQ_AUTH_NOT_AUTHORIZED);
	T_ASSERT(mq_creds_hash_password(h, sizeof(h), "zoe-pw", true) > 0);
	snprintf(text, sizeof(text), "zoe:%s\n", h);
	write_text(uf, text);
	T_EQ(mq_plugins_reload(p), 0);
	T_EQ(mq_plugins_authenticate(p, S("c"), S("zoe"), S("zoe-pw")),
	    MQ_AUTH_ALLOW);
	unlink(uf);
	T_EQ(mq_plugins_reload(p), -ENOENT);
	T_EQ(mq_plugins_authenticate(p, S("c"), S("zoe"), S("zoe-pw")),
	    MQ_AUTH_NOT_AUTHORIZED);
	mq_plugins_free(&p);
}

static const char acl_text[] = "# test rules\n"
                               "allow user admin pubsub #\n"
                               "deny  all subscribe eq #\n"
                               "deny  all subscribe $SYS/#\n"
                               "allow client cam1 publish cams/cam1/+\n"
                               "deny  client cam1 publish cams/#\n"
                               "allow all pubsub users/%u/#\n"
                               "allow all publish devices/%c\n"
                               "deny  all pubsub users/#\n"
                               "deny  all pubsub devices/+\n"
                               "deny  all publish secret/#\n"
                               "allow all subscribe public/+/news\n"
                               "deny  all subscribe public/#\n"
                               "deny  user bob pubsub %u/private/#\n"
                               "   # indented comment\n"
                               "bogus line here\n"
                               "allow someone publish x\n"
                               "allow all publish\n"
                               "allow all read x\n"
                               "allow all publish a/#/b\n"
                               "allow all publish a/b+\n"
                               "allow user\n"
                               "deny all pubsub bad/x#\n";

T_TEST(acl_table)
{
	static const struct {
		const char *cid, *user, *topic;
		int         access;
		bool        want;
	} rows[] = {
		/* admin: first rule */
		{ "c", "admin", "#", MQ_ACL_SUBSCRIBE, true },
		{ "c", "admin", "$SYS/x", MQ_ACL_PUBLISH, true },
		/* eq # and $SYS */
		{ "c", "u", "#", MQ_ACL_SUBSCRIBE, false },
		{ "c", "u", "$SYS/x", MQ_ACL_PUBLISH,
		    true }, /* subscribe rules */
		{ "c", "u", "$SYS/brokers/n/uptime", MQ_ACL_SUBSCRIBE, false },
		{ "c", "u", "$SYS/#", MQ_ACL_SUBSCRIBE, false },
		{ "c", "u", "+/brokers", MQ_ACL_SUBSCRIBE,
		    false }, /* users/# */
		/* client rules: allow covers, later deny catches the rest */
		{ "cam1", NULL, "cams/cam1/img", MQ_ACL_PUBLISH, true },
		{ "cam1", NULL, "cams/cam2/img", MQ_ACL_PUBLISH, false },
		{ "cam1", NULL, "cams/cam1/img/x", MQ_ACL_PUBLISH, false },
		{ "cam2", NULL, "cams/cam2/img", MQ_ACL_PUBLISH, true },
		/* %u: own tree yes, others no */
		{ "c", "ann", "users/ann/inbox", MQ_ACL_PUBLISH, true },
		{ "c", "ann", "users/ann", MQ_ACL_SUBSCRIBE, true },
		{ "c", "ann", "users/ann/#", MQ_ACL_SUBSCRIBE, true },
		{ "c", "ann", "users/bob/inbox", MQ_ACL_PUBLISH, false },
		{ "c", "ann", "users/+/inbox", MQ_ACL_SUBSCRIBE, false },
		{ "c", "ann", "users/#", MQ_ACL_SUBSCRIBE, false },
		{ "c", NULL, "users/x/y", MQ_ACL_PUBLISH, false },
		{ "c", "", "users//y", MQ_ACL_PUBLISH, false },
		/* a username with wildcards or '/' never widens a rule */
		{ "c", "+", "users/bob/x", MQ_ACL_PUBLISH, false },
		{ "c", "#", "users/bob/x", MQ_ACL_PUBLISH, false },
		{ "c", "a/b", "users/a/b/x", MQ_ACL_PUBLISH, false },
		/* %c */
		{ "d7", NULL, "devices/d7", MQ_ACL_PUBLISH, true },
		{ "d7", NULL, "devices/d8", MQ_ACL_PUBLISH, false },
		{ "d+", NULL, "devices/d8", MQ_ACL_PUBLISH, false },
		/* deny by overlap */
		{ "c", "u", "secret/a", MQ_ACL_PUBLISH, false },
		{ "c", "u", "secret", MQ_ACL_PUBLISH, false },
		{ "c", "u", "secrets", MQ_ACL_PUBLISH, true },
		{ "c", "u", "public/a/news", MQ_ACL_SUBSCRIBE, true },
		{ "c", "u", "public/+/news", MQ_ACL_SUBSCRIBE, true },
		{ "c", "u", "public/+/sport", MQ_ACL_SUBSCRIBE, false },
		{ "c", "u", "public/#", MQ_ACL_SUBSCRIBE, false },
		{ "c", "u", "+/a/sport", MQ_ACL_SUBSCRIBE, false },
		{ "c", "u", "+/+/+/+", MQ_ACL_SUBSCRIBE, false }, /* users/# */
		{ "c", "u", "public", MQ_ACL_SUBSCRIBE, false },
		{ "c", "u", "publico/x", MQ_ACL_SUBSCRIBE, true },
		/* user rule with %u */
		{ "c", "bob", "bob/private/x", MQ_ACL_SUBSCRIBE, false },
		{ "c", "bob", "+/private/x", MQ_ACL_SUBSCRIBE, false },
		{ "c", "ann", "bob/private/x", MQ_ACL_SUBSCRIBE, true },
		/* no match: allow */
		{ "c", "u", "anything/else", MQ_ACL_PUBLISH, true },
		{ "c", "u", "x", MQ_ACL_PUBLISH, true },
		{ "c", "u", "a/x/b", MQ_ACL_PUBLISH, true },
		{ "c", "u", "bad/x#", MQ_ACL_PUBLISH, true },
	};
	const char *af = tmp_path("acl");
	mq_plugins *p;

	write_text(af, acl_text);
	p = make(NULL, NULL, NULL, af, true);
	/* Off: everything allowed. */
	T_ASSERT(mq_plugins_acl_check(
	    p, S("c"), S("u"), S("secret/a"), MQ_ACL_PUBLISH));
	T_EQ(mq_plugins_set_active(p, MQ_PLUGIN_ACL_FILE, true), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool got = mq_plugins_acl_check(p, S(rows[i].cid),
		    rows[i].user, rows[i].user ? strlen(rows[i].user) : 0,
		    S(rows[i].topic), rows[i].access);

		if (got != rows[i].want)
			T_FAIL_AT("row %zu (%s/%s %s %s): got %d", i,
			    rows[i].cid, rows[i].user ? rows[i].user : "-",
			    rows[i].access == MQ_ACL_PUBLISH ? "pub" : "sub",
			    rows[i].topic, got);
	}
	mq_plugins_free(&p);
}

/* Coverage and overlap, one rule at a time. */
T_TEST(acl_filter_semantics)
{
	static const struct {
		const char *rule, *sub;
		bool        allowed;
	} rows[] = {
		/* "allow all subscribe R" then "deny all subscribe #":
		 * allowed iff R covers S */
		{ "allow all subscribe a/+", "a/b", true },
		{ "allow all subscribe a/+", "a/+", true },
		{ "allow all subscribe a/+", "a/#", false },
		{ "allow all subscribe a/+", "a", false },
		{ "allow all subscribe a/+", "a/b/c", false },
		{ "allow all subscribe a/#", "a", true },
		{ "allow all subscribe a/#", "a/#", true },
		{ "allow all subscribe a/#", "a/+/c", true },
		{ "allow all subscribe a/#", "+/b", false },
		{ "allow all subscribe #", "#", true },
		{ "allow all subscribe #", "$SYS/x", true },
		{ "allow all subscribe +", "$SYS", true },
		{ "allow all subscribe a//b", "a//b", true },
		{ "allow all subscribe a//b", "a/+/b", false },
		{ "allow all subscribe /a", "/a", true },
		{ "allow all subscribe +/a", "/a", true },
		{ "allow all subscribe eq a/+", "a/+", true },
		{ "allow all subscribe eq a/+", "a/b", false },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *af = tmp_path("acl1");
		char        text[256];
		mq_plugins *p;
		bool        got;

		snprintf(text, sizeof(text), "%s\ndeny all subscribe #\n",
		    rows[i].rule);
		write_text(af, text);
		p = make(NULL, NULL, NULL, af, true);
		T_EQ(mq_plugins_set_active(p, MQ_PLUGIN_ACL_FILE, true), 0);
		got = mq_plugins_acl_check(
		    p, S("c"), S("u"), S(rows[i].sub), MQ_ACL_SUBSCRIBE);
		if (got != rows[i].allowed)
			T_FAIL_AT("row %zu: '%s' vs '%s': got %d", i,
			    rows[i].rule, rows[i].sub, got);
		mq_plugins_free(&p);
	}
}

T_TEST(acl_deny_overlap_table)
{
	static const struct {
		const char *rule, *sub;
		bool        denied;
	} rows[] = {
		{ "a/#", "+/b", true },
		{ "a/#", "a", true },
		{ "a/#", "#", true },
		{ "a/b", "a/+", true },
		{ "a/b", "a/#", true },
		{ "a/b", "+/+/+", false },
		{ "a/+/c", "a/b/+", true },
		{ "a/+/c", "a/b/d", false },
		{ "a/b", "a", false },
		{ "a", "a/b", false },
		/* a wildcard-first subscription never reaches "$" topics */
		{ "$SYS/#", "#", false },
		{ "$SYS/#", "+/x", false },
		{ "$SYS/#", "$SYS/x", true },
		{ "#", "$SYS/x", true },
		{ "+/x", "$SYS/x", true },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *af = tmp_path("acl2");
		char        text[256];
		mq_plugins *p;
		bool        got;

		snprintf(text, sizeof(text), "deny all subscribe %s\n",
		    rows[i].rule);
		write_text(af, text);
		p = make(NULL, NULL, NULL, af, true);
		T_EQ(mq_plugins_set_active(p, MQ_PLUGIN_ACL_FILE, true), 0);
		got = !mq_plugins_acl_check(
		    p, S("c"), S("u"), S(rows[i].sub), MQ_ACL_SUBSCRIBE);
		if (got != rows[i].denied)
			T_FAIL_AT("row %zu: deny '%s' vs '%s': denied=%d", i,
			    rows[i].rule, rows[i].sub, got);
		mq_plugins_free(&p);
	}
}

T_TEST(acl_reload_and_missing)
{
	const char *af = tmp_path("acl");
	mq_plugins *p;

	write_text(af, "deny all publish x\n");
	p = make(NULL, NULL, NULL, af, true);
	T_EQ(mq_plugins_set_active(p, MQ_PLUGIN_ACL_FILE, true), 0);
	T_ASSERT(
	    !mq_plugins_acl_check(p, S("c"), NULL, 0, S("x"), MQ_ACL_PUBLISH));
	write_text(af, "deny all publish y\n");
	T_EQ(mq_plugins_reload(p), 0);
	T_ASSERT(
	    mq_plugins_acl_check(p, S("c"), NULL, 0, S("x"), MQ_ACL_PUBLISH));
	T_ASSERT(
	    !mq_plugins_acl_check(p, S("c"), NULL, 0, S("y"), MQ_ACL_PUBLISH));
	mq_plugins_free(&p);
}

T_TEST(write_file_atomic)
{
	const char *f = tmp_path("w");
	struct stat st;

	T_EQ(mq_file_replace(f, "one\n", 4, 0600), 0);
	T_STREQ(read_text(f), "one\n");
	T_EQ(mq_file_replace(f, "two\n", 4, 0600), 0);
	T_STREQ(read_text(f), "two\n");
	T_EQ(stat(f, &st), 0);
	T_EQ(st.st_mode & 0777, 0600);
	T_ASSERT(access(tmp_path("w.tmp"), F_OK) < 0);
	T_EQ(mq_file_replace("/nonexistent-dir/w", "x", 1, 0600), -ENOENT);
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

/* The verify cache: a repeated good password skips crypt; it never lets a
 * wrong one in, and a reload forgets it. */
T_TEST(auth_verify_cache)
{
	const char *uf = tmp_path("users");
	char        h[256], text[512];
	mq_plugins *p;
	double      t0, slow, fast;

	T_ASSERT(mq_creds_hash_password(h, sizeof(h), "pw-one", false) > 0);
	snprintf(text, sizeof(text), "yuri:%s\n", h); /* yescrypt: slow */
	write_text(uf, text);
	p = make(NULL, uf, NULL, NULL, false);
	T_EQ(mq_plugins_set_active(p, MQ_PLUGIN_AUTH_USERNAME, true), 0);
	t0 = now_s();
	T_EQ(mq_plugins_authenticate(p, S("c"), S("yuri"), S("pw-one")),
	    MQ_AUTH_ALLOW);
	slow = now_s() - t0;
	t0 = now_s();
	for (int i = 0; i < 10; i++)
		T_EQ(
		    mq_plugins_authenticate(p, S("c"), S("yuri"), S("pw-one")),
		    MQ_AUTH_ALLOW);
	fast = (now_s() - t0) / 10;
	if (!(fast * 20 < slow))
		T_FAIL_AT("cached verify %.6f s vs crypt %.6f s", fast, slow);
	T_EQ(mq_plugins_authenticate(p, S("c"), S("yuri"), S("pw-one!")),
	    MQ_AUTH_BAD_CREDENTIALS);
	T_EQ(mq_plugins_authenticate(p, S("c"), S("yuri"), "pw-one", 5),
	    MQ_AUTH_BAD_CREDENTIALS);
	T_EQ(mq_plugins_authenticate(p, S("c"), S("yuri"), S("pw-one")),
	    MQ_AUTH_ALLOW);
	/* a new password in the file: the old one is forgotten at reload */
	T_ASSERT(mq_creds_hash_password(h, sizeof(h), "pw-two", true) > 0);
	snprintf(text, sizeof(text), "yuri:%s\n", h);
	write_text(uf, text);
	T_EQ(mq_plugins_reload(p), 0);
	T_EQ(mq_plugins_authenticate(p, S("c"), S("yuri"), S("pw-one")),
	    MQ_AUTH_BAD_CREDENTIALS);
	T_EQ(mq_plugins_authenticate(p, S("c"), S("yuri"), S("pw-two")),
	    MQ_AUTH_ALLOW);
	mq_plugins_free(&p);
}

/* The broker's split check: _begin hands out the crypt part, which runs
 * apart (here: inline) and is judged by _finish.  A cache hit never goes
 * pending; the verdict is the one of submit time, and a reload meanwhile
 * keeps the cache from learning a password for a replaced hash. */
T_TEST(auth_begin_run_finish)
{
	const char           *uf = tmp_path("users");
	char                  h[256], text[512];
	mq_plugins           *p;
	struct mq_auth_check *ck = NULL;

	T_ASSERT(mq_creds_hash_password(h, sizeof(h), "pw-one", true) > 0);
	snprintf(text, sizeof(text), "yuri:%s\n", h);
	write_text(uf, text);
	p = make(NULL, uf, NULL, NULL, false);
	T_EQ(mq_plugins_set_active(p, MQ_PLUGIN_AUTH_USERNAME, true), 0);
	/* nothing slow to do: answered at once, no check */
	T_EQ(mq_plugins_authenticate_begin(p, S("c"), S("zed"), S("x"), &ck),
	    MQ_AUTH_NOT_AUTHORIZED);
	T_ASSERT(ck == NULL);
	T_EQ(mq_plugins_authenticate_begin(p, S("c"), S("yuri"), NULL, 0, &ck),
	    MQ_AUTH_BAD_CREDENTIALS);
	T_ASSERT(ck == NULL);
	/* wrong password: pending, then refused */
	T_EQ(mq_plugins_authenticate_begin(
	         p, S("c"), S("yuri"), S("nope"), &ck),
	    MQ_AUTH_PENDING);
	T_ASSERT(ck != NULL);
	mq_creds_check_run(ck);
	T_EQ(mq_plugins_check_finish(p, ck), MQ_AUTH_BAD_CREDENTIALS);
	/* right password: pending, allowed, then cached (no check) */
	T_EQ(mq_plugins_authenticate_begin(
	         p, S("c"), S("yuri"), S("pw-one"), &ck),
	    MQ_AUTH_PENDING);
	mq_creds_check_run(ck);
	T_EQ(mq_plugins_check_finish(p, ck), MQ_AUTH_ALLOW);
	ck = NULL;
	T_EQ(mq_plugins_authenticate_begin(
	         p, S("c"), S("yuri"), S("pw-one"), &ck),
	    MQ_AUTH_ALLOW);
	T_ASSERT(ck == NULL);
	/* a check begun before a reload that replaced the hash: judged as
	 * begun, but the new entry does not learn the old password */
	T_ASSERT(mq_creds_hash_password(h, sizeof(h), "pw-two", true) > 0);
	snprintf(text, sizeof(text), "yuri:%s\n", h);
	write_text(uf, text);
	T_EQ(mq_plugins_reload(p), 0);
	T_EQ(mq_plugins_authenticate_begin(
	         p, S("c"), S("yuri"), S("pw-one"), &ck),
	    MQ_AUTH_PENDING);
	T_EQ(mq_plugins_reload(p), 0);
	mq_creds_check_run(ck);
	T_EQ(mq_plugins_check_finish(p, ck), MQ_AUTH_BAD_CREDENTIALS);
	T_EQ(mq_plugins_authenticate_begin(
	         p, S("c"), S("yuri"), S("pw-two"), &ck),
	    MQ_AUTH_PENDING);
	/* dropped unjudged (the client went away): nothing leaks */
	mq_creds_check_free(ck);
	mq_plugins_free(&p);
}

static const struct t_case cases[] = {
	T_ENTRY(names_and_find),
	T_ENTRY(defaults_without_state_file),
	T_ENTRY(state_round_trip),
	T_ENTRY(state_file_malformed_lines),
	T_ENTRY(state_save_failure_keeps_state),
	T_ENTRY(no_state_path_switches_in_memory),
	T_ENTRY(hash_password_round_trip),
	T_ENTRY(auth_chain_table),
	T_ENTRY(auth_password_with_nul_or_too_long),
	T_ENTRY(auth_missing_file_means_no_entries),
	T_ENTRY(reload_picks_up_new_entries),
	T_ENTRY(acl_table),
	T_ENTRY(acl_filter_semantics),
	T_ENTRY(acl_deny_overlap_table),
	T_ENTRY(acl_reload_and_missing),
	T_ENTRY(write_file_atomic),
	T_ENTRY(auth_verify_cache),
	T_ENTRY(auth_begin_run_finish),
};

T_MAIN(cases)
