/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_route_users: GET/POST users, GET/PUT/DELETE users/{name}, POST auth,
 * PUT change_pwd/{name}, with EMQ 2.3's codes: 103 wrong username or
 * password, 104 empty username or password, 105 no such user, 106 admin
 * cannot be deleted (nor its role lowered), 107/108/109 for the body, 113
 * user exists, 114 old password wrong.  Each field is checked against its
 * own limit (api_users.h) and a 108 names the field.  Edits go through
 * api_users (locked, atomic); this process's auth cache is dropped at
 * once, the other workers notice the new file within API_AUTH_CHECK_MS.
 */
#include "config.h"

#include "fcgi/api_body.h"
#include "fcgi/api_route_int.h"
#include "fcgi/api_users.h"

#include <errno.h>
#include <string.h>

static void
user_json(struct api_jw *w, const api_users *u, size_t i)
{
	api_jw_object(w);
	API_JW_KEY(w, "username");
	api_jw_cstr(w, api_users_name(u, i));
	API_JW_KEY(w, "tags");
	api_jw_cstr(w, api_users_tags(u, i));
	API_JW_KEY(w, "role");
	api_jw_cstr(w, api_role_name(api_users_role(u, i)));
	api_jw_object_end(w);
}

static api_users *
load(struct hctx *h)
{
	api_users *u = NULL;
	int        rc = api_users_load(&u, h->t->cfg->users_path);

	if (rc != 0)
		api_err_set(
		    &h->err, API_EUNKNOWN, "users file: %s", strerror(-rc));
	return u;
}

/* Maps an api_users edit result to the envelope. */
static void
edited(struct hctx *h, int rc)
{
	if (rc == 0) {
		api_auth_invalidate(h->t->auth); /* the result is [] */
	} else if (rc == -EEXIST) {
		api_err_set(&h->err, API_EUSEREXISTS, "user already exists");
	} else if (rc == -ENOENT) {
		api_err_set(&h->err, API_ENOUSER, "no such user");
	} else if (rc == -EINVAL) { /* the handlers checked each field */
		api_err_set(&h->err, API_ETYPE, "invalid field");
	} else {
		api_err_set(
		    &h->err, API_EUNKNOWN, "users file: %s", strerror(-rc));
	}
}

void
api__users_list(struct hctx *h)
{
	api_users *u = load(h);

	if (u == NULL)
		return;
	api_jw_array(h->w);
	for (size_t i = 0; i < api_users_count(u); i++)
		user_json(h->w, u, i);
	api_jw_array_end(h->w);
	api_users_free(&u);
}

void
api__user_get(struct hctx *h)
{
	api_users *u = load(h);
	long       i;

	if (u == NULL)
		return;
	i = api_users_find(u, h->id);
	if (i < 0)
		api_err_set(&h->err, API_ENOUSER, "no such user");
	else
		user_json(h->w, u, (size_t) i);
	api_users_free(&u);
}

/* The limits of the string fields of the users routes. */
static size_t
max_of(const char *key)
{
	return strcmp(key, "username") == 0 ? API_USERS_NAME_MAX
	                                    : API_USERS_PASSWORD_MAX;
}

/* Reads two required string fields a and b from the body (UTF-8, within
 * their limits; the caller checks the rest). */
static json_object *
two_strings(struct hctx *h, const char *ka, const char **a, const char *kb,
    const char **b)
{
	json_object *o = api_body_parse(h->rq->body, h->rq->body_len, &h->err);
	size_t       la, lb;

	if (o == NULL)
		return NULL;
	if (api_body_string(o, ka, true, max_of(ka), a, &la, &h->err) < 0
	    || api_body_string(o, kb, true, max_of(kb), b, &lb, &h->err) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static bool
is_admin(struct hctx *h, const char *name)
{
	const char *admin = h->t->cfg->admin_user;

	return strcmp(name, "admin") == 0
	    || (admin && strcmp(name, admin) == 0);
}

/* 108 naming the field if name does not fit the users file. */
static bool
name_ok(struct hctx *h, const char *key, const char *name)
{
	if (api_users_name_valid(name))
		return true;
	api_err_set(&h->err, API_ETYPE,
	    "%s: 1 to %d bytes, no ':' or control characters, not starting "
	    "with '#'",
	    key, API_USERS_NAME_MAX);
	return false;
}

/* The optional "tags" (true if absent or fine; *tags untouched if
 * absent). */
static bool
tags_ok(struct hctx *h, json_object *o, const char **tags)
{
	size_t tl;

	int rc = api_body_string(
	    o, "tags", false, API_USERS_TAGS_MAX, tags, &tl, &h->err);

	if (rc <= 0)
		return rc == 0;
	if (api_users_tags_valid(*tags))
		return true;
	api_err_set(&h->err, API_ETYPE,
	    "tags: at most %d bytes, no ':' or control characters",
	    API_USERS_TAGS_MAX);
	return false;
}

/* The optional "role": 1 present (*role set), 0 absent, -EINVAL (108). */
static int
role_of(struct hctx *h, json_object *o, enum api_role *role)
{
	const char *s;
	size_t      len;
	int rc = api_body_string(o, "role", false, 16, &s, &len, &h->err);

	if (rc <= 0)
		return rc;
	rc = api_role_parse(s, len);
	if (rc < 0) {
		api_err_set(&h->err, API_ETYPE,
		    "role: must be \"admin\" or \"viewer\"");
		return -EINVAL;
	}
	*role = (enum api_role) rc;
	return 1;
}

void
api__user_add(struct hctx *h)
{
	const char   *name, *pw, *tags = "";
	enum api_role role = API_ROLE_ADMIN; /* EMQ 2.3: every user */
	json_object  *o = two_strings(h, "username", &name, "password", &pw);

	if (o == NULL)
		return;
	if (name[0] == '\0' || pw[0] == '\0')
		api_err_set(&h->err, API_EEMPTY,
		    "username and password must not be empty");
	else if (name_ok(h, "username", name) && tags_ok(h, o, &tags)
	    && role_of(h, o, &role) >= 0)
		edited(h,
		    api_users_add(
		        h->t->cfg->users_path, name, pw, tags, role));
	json_object_put(o);
}

/* PUT users/{name}: {"tags": S} and/or {"role": "admin"|"viewer"}. */
void
api__user_put(struct hctx *h)
{
	json_object *o = api_body_parse(h->rq->body, h->rq->body_len, &h->err);
	const char  *tags = NULL;
	enum api_role role = API_ROLE_ADMIN;
	int           has_role;

	if (o == NULL)
		return;
	if (!tags_ok(h, o, &tags) || (has_role = role_of(h, o, &role)) < 0)
		goto out;
	if (tags == NULL && !has_role) {
		api_err_set(&h->err, API_EMISSING, "tags: missing");
	} else if (has_role && role != API_ROLE_ADMIN && is_admin(h, h->id)) {
		api_err_set(&h->err, API_EADMIN,
		    "role: the role of %s cannot be lowered", h->id);
	} else {
		int rc = 0;

		if (tags != NULL)
			rc = api_users_set_tags(
			    h->t->cfg->users_path, h->id, tags);
		if (rc == 0 && has_role)
			rc = api_users_set_role(
			    h->t->cfg->users_path, h->id, role);
		edited(h, rc);
	}
out:
	json_object_put(o);
}

void
api__user_delete(struct hctx *h)
{
	if (is_admin(h, h->id))
		api_err_set(&h->err, API_EADMIN, "admin cannot be deleted");
	else
		edited(h, api_users_delete(h->t->cfg->users_path, h->id));
}

/* 0 if name/password verify, else the code (103/105 per no_user). */
static int
verify(
    struct hctx *h, const char *name, const char *pw, int no_user, int bad_pw)
{
	api_users *u = load(h);
	long       i;
	int        rc = 0;

	if (u == NULL)
		return h->err.code;
	i = api_users_find(u, name);
	if (i < 0)
		rc = api_err_set(&h->err, no_user, "%s",
		    no_user == API_ENOUSER ? "no such user"
		                           : "username or password error");
	else if (!api_users_verify(u, (size_t) i, pw))
		rc = api_err_set(&h->err, bad_pw, "%s",
		    bad_pw == API_EOLDPWD ? "old password error"
		                          : "username or password error");
	api_users_free(&u);
	return rc;
}

void
api__auth(struct hctx *h)
{
	const char  *name, *pw;
	json_object *o = two_strings(h, "username", &name, "password", &pw);

	if (o == NULL)
		return;
	if (name[0] == '\0' || pw[0] == '\0')
		api_err_set(&h->err, API_EEMPTY,
		    "username and password must not be empty");
	else
		verify(h, name, pw, API_EAUTH, API_EAUTH); /* ok: [] */
	json_object_put(o);
}

void
api__change_pwd(struct hctx *h)
{
	const char  *old, *new;
	json_object *o = two_strings(h, "old_pwd", &old, "new_pwd", &new);

	if (o == NULL)
		return;
	if (new[0] == '\0')
		api_err_set(
		    &h->err, API_EEMPTY, "new password must not be empty");
	else if (!api_users_password_valid(new))
		api_err_set(&h->err, API_ETYPE, "new_pwd: 1 to %d bytes",
		    API_USERS_PASSWORD_MAX);
	else if (verify(h, h->id, old, API_ENOUSER, API_EOLDPWD) == 0)
		edited(h,
		    api_users_set_password(h->t->cfg->users_path, h->id, new));
	json_object_put(o);
}
