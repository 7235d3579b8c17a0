/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mqttd: the broker process.  Reads the configuration, creates the state
 * directory, opens the segment (unless --no-segment) and the plugins, and
 * runs the broker's loop until SIGINT / SIGTERM.
 */
#include "config.h"

#include "broker/mq_broker.h"
#include "broker/mq_config.h"
#include "broker/mq_log.h"
#include "broker/mq_plugins.h"
#include "collector/col.h"
#ifdef MQTTD_CLUSTER
#include "cluster/cl_link.h"
#endif

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

static int
state_dir(const mq_config *cfg, char *real, size_t len)
{
	if (mkdir(cfg->state_dir, 0750) != 0 && errno != EEXIST) {
		mq_err("mkdir(%s): %s", cfg->state_dir, strerror(errno));
		return -errno;
	}
	if (realpath(cfg->state_dir, real) == NULL) {
		mq_err("realpath(%s): %s", cfg->state_dir, strerror(errno));
		return -errno;
	}
	(void) len;
	return 0;
}

/*
 * Every client is a descriptor: take what the hard limit allows (before
 * the configuration, whose max_clients default is sized from the result).
 * Returns setrlimit's errno, logged once the log level is known.
 */
static int
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			return errno;
	}
	return 0;
}

static void
log_capacity(const mq_config *cfg, int raise_err)
{
	struct rlimit rl;
	uint64_t      sum = 0;

	if (raise_err != 0)
		mq_warn("setrlimit(NOFILE) to the hard limit: %s",
		    strerror(raise_err));
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	for (unsigned i = 0; i < cfg->nlisten; i++)
		sum += cfg->listen[i].max_clients;
	mq_info("open files: limit %llu (hard %llu): room for %u clients; "
	        "listeners allow %llu",
	    (unsigned long long) rl.rlim_cur, (unsigned long long) rl.rlim_max,
	    mq_config_fd_clients(), (unsigned long long) sum);
	if (sum > mq_config_fd_clients())
		mq_warn(
		    "the listeners' max_clients (%llu in all) exceed what "
		    "the open-files limit allows (%u): connections past it "
		    "are accepted and closed at once",
		    (unsigned long long) sum, mq_config_fd_clients());
}

/* The collector logs through mq_log, at its levels. */
_Static_assert((int) MQ_LOG_ERROR == (int) COL_LOG_ERROR
        && (int) MQ_LOG_WARN == (int) COL_LOG_WARN,
    "col_log_fn levels are mq_log's");

static int
open_segment(const mq_config *cfg, const char *dir, col **out)
{
	struct col_config cc = {
		.node = cfg->node,
		.version = PACKAGE_VERSION,
		.sysdescr = "mqttd",
		.max_clients = cfg->seg_clients,
		.max_sessions = cfg->seg_sessions,
		.max_subscriptions = cfg->seg_subscriptions,
		.max_routes = cfg->seg_routes,
		.string_arena_bytes = cfg->seg_string_bytes,
		.log = mq_log,
	};

	cc.state_dir = dir;
	return col_open(out, &cc);
}

int
main(int argc, char **argv)
{
	mq_config   cfg;
	char        dir[PATH_MAX], st[PATH_MAX + 32];
	col        *c = NULL;
	mq_plugins *pl = NULL;
	mq_broker  *b = NULL;
#ifdef MQTTD_CLUSTER
	struct cl_link *cl = NULL;
#endif
	struct mq_plugins_config pc;
	struct mq_jwt_config     jwt;
	int                      rc, raise_err = raise_nofile();

	rc = mq_config_load(&cfg, argc, argv);
	if (rc != 0) {
		mq_config_fini(&cfg);
		return rc == 1 ? 0 : 2;
	}
	mq_log_level = cfg.log_level;
	log_capacity(&cfg, raise_err);
	rc = state_dir(&cfg, dir, sizeof(dir));
	if (rc == 0 && !cfg.no_segment)
		rc = open_segment(&cfg, dir, &c);
	if (rc == 0) {
		jwt = (struct mq_jwt_config) {
			.secret = cfg.jwt_secret,
			.pubkey_file = cfg.jwt_pubkey,
			.leeway_s = cfg.jwt_leeway,
			.verify_clientid = cfg.jwt_verify_clientid,
			.verify_username = cfg.jwt_verify_username,
			.acl_claim = cfg.jwt_acl_claim,
		};
		snprintf(st, sizeof(st), "%s/plugins.state", dir);
		pc = (struct mq_plugins_config) {
			.state_path = st,
			.username_file = cfg.username_file,
			.clientid_file = cfg.clientid_file,
			.acl_file = cfg.acl_file,
			.allow_anonymous = cfg.allow_anonymous,
			.jwt = &jwt,
			.jwt_from_username = cfg.jwt_from != NULL
			    && strcmp(cfg.jwt_from, "username") == 0,
		};
		rc = mq_plugins_new(&pl, &pc);
	}
	if (rc == 0)
		rc = mq_broker_new(&b, &cfg, c, pl);
	if (rc == 0 && cfg.cluster_nats != NULL) {
#ifdef MQTTD_CLUSTER
		rc = cl_link_new(&cl, b, cfg.cluster_nats, cfg.node);
#else
		mq_err("cluster_nats is set, but this mqttd was built "
		       "without the cluster (./configure --with-cluster)");
		rc = -ENOTSUP;
#endif
	}
	if (rc == 0) {
		mq_info("mqttd %s node %s, state dir %s%s", PACKAGE_VERSION,
		    cfg.node, dir, c ? "" : ", no segment");
		rc = mq_broker_run(b);
	}
	/* The broker's teardown still calls the cluster's hooks. */
	mq_broker_free(&b);
#ifdef MQTTD_CLUSTER
	cl_link_free(&cl);
#endif
	mq_plugins_free(&pl);
	if (c != NULL)
		col_close(&c);
	mq_config_fini(&cfg);
	if (rc != 0)
		mq_err("mqttd: exiting: %s", strerror(-rc));
	return rc == 0 ? 0 : 1;
}
