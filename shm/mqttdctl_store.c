/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mqttdctl store check|dump: the broker's store (broker/mq_store), read
 * offline.  check walks it exactly as the broker does before it opens it
 * and says whether the broker would keep it; dump prints one JSON object
 * per record (payloads are summarized by length, not printed).
 */
#include "config.h"

#include "shm/mqttdctl_store.h"

#include "broker/mq_store.h"
#include "broker/mq_store_rec.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static json_object *
jstr(const void *p, size_t n)
{
	return json_object_new_string_len(p, (int) n);
}

static void
add(json_object *o, const char *k, json_object *v)
{
	json_object_object_add(o, k, v);
}

static void
msg_fields(json_object *o, const struct mq_rec_msg *m)
{
	add(o, "topic", jstr(m->topic, m->topic_len));
	add(o, "qos", json_object_new_int(m->qos));
	add(o, "payload_bytes", json_object_new_int64(m->payload_len));
	add(o, "properties_bytes", json_object_new_int64(m->props_len));
	add(o, "expire_at_ms",
	    json_object_new_int64((int64_t) m->expire_wall_ms));
}

static int
dump_one(void *arg, enum mq_store_db db, const void *val, size_t len, int ok)
{
	json_object       *o = json_object_new_object(), *subs = NULL;
	struct mq_rec_rd   r;
	struct mq_rec_item it;
	int                n[16] = { 0 };

	(void) arg;
	add(o, "db",
	    json_object_new_string(db == MQ_STORE_RETAINED ? "retained"
	            : db == MQ_STORE_SESSIONS              ? "sessions"
	                                                   : "messages"));
	add(o, "valid", json_object_new_boolean(ok == 0));
	if (ok == 0 && mq_rec_open(&r, val, len) == 0) {
		while (mq_rec_next(&r, &it) == 1) {
			n[it.tag & 15]++;
			if (it.tag == MQ_REC_T_MSG) {
				msg_fields(o, &it.msg);
			} else if (it.tag == MQ_REC_T_QMSG) {
				/* qos: the message's; delivery_qos: the
				 * subscription's grant it goes out with. */
				add(o, "client_id", jstr(it.id, it.id_len));
				add(o, "seq",
				    json_object_new_int64((int64_t) it.seq));
				add(o, "delivery_qos",
				    json_object_new_int(it.qos));
				msg_fields(o, &it.msg);
			} else if (it.tag == MQ_REC_T_SESS) {
				add(o, "client_id", jstr(it.id, it.id_len));
				add(o, "v5", json_object_new_boolean(it.v5));
				add(o, "expiry_s",
				    json_object_new_int64(it.expiry_s));
				add(o, "offline_deadline_ms",
				    json_object_new_int64(
				        (int64_t) it.deadline_wall_ms));
				subs = json_object_new_array();
				add(o, "subscriptions", subs);
			} else if (it.tag == MQ_REC_T_SUB && subs != NULL) {
				json_object *s = json_object_new_object();

				add(s, "filter",
				    jstr(it.filter, it.filter_len));
				add(s, "qos", json_object_new_int(it.qos));
				json_object_array_add(subs, s);
			}
		}
		if (db == MQ_STORE_SESSIONS) {
			/* queued: format 1 only; format 2 has a
			 * "messages" record per queued message. */
			add(o, "inflight",
			    json_object_new_int(
			        n[MQ_REC_T_INFLIGHT] + n[MQ_REC_T_WINDOW]));
			add(o, "queued",
			    json_object_new_int(n[MQ_REC_T_QUEUED]));
			add(o, "awaiting_rel",
			    json_object_new_int(n[MQ_REC_T_AWREL]));
			add(o, "will",
			    json_object_new_boolean(n[MQ_REC_T_WILL]));
		}
	} else {
		add(o, "bytes", json_object_new_int64((int64_t) len));
	}
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return 0;
}

int
mqttdctl_store(const char *dir, const char *what)
{
	long n;
	int  rc;

	if (strcmp(what, "check") == 0) {
		json_object *o = json_object_new_object();

		rc = mq_store_check(dir);
		add(o, "state_dir", json_object_new_string(dir));
		add(o, "result",
		    json_object_new_string(rc == 0 ? "ok"
		            : rc == -EBADMSG       ? "damaged"
		            : rc == -EPROTO        ? "newer format"
		                                   : strerror(-rc)));
		puts(
		    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		return rc == 0 ? 0 : 1;
	}
	if (strcmp(what, "dump") == 0) {
		n = mq_store_dump(dir, dump_one, NULL);
		if (n < 0) {
			fprintf(stderr, "mqttdctl: %s/store: %s\n", dir,
			    strerror((int) -n));
			return 1;
		}
		return 0;
	}
	return 2;
}
