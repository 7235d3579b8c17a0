# SPDX-License-Identifier: BSD-2-Clause
# nginx: fragment owned by the nginx module.
# The front's template, its renderer and the stack launcher of ./dev run;
# deploy/ holds the systemd units.  Nothing to compile.
dist_noinst_SCRIPTS += nginx/stack
# render and the templates are installed with the dashboard (dashboard/local.mk).
EXTRA_DIST += bench/auth.sh \
	deploy/mqttd.service deploy/mqttd-api.service
