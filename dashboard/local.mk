# SPDX-License-Identifier: BSD-2-Clause
# dashboard: static files served by nginx at / (see nginx/mqttd-api.conf.in).
# Installed to $(pkgdatadir)/dashboard, beside $(pkgdatadir)/nginx, so the
# installed nginx/render finds it as it does in the source tree.
# tests/integration/test_dashboard_static.py checks that this list holds
# every file of dashboard/.
nobase_dist_pkgdata_DATA = \
	dashboard/index.html \
	dashboard/favicon.svg \
	dashboard/css/app.css \
	dashboard/js/api.js \
	dashboard/js/app.js \
	dashboard/js/dom.js \
	dashboard/js/mqtt.js \
	dashboard/js/poll.js \
	dashboard/js/sampler.js \
	dashboard/js/table.js \
	dashboard/js/pages/alarms.js \
	dashboard/js/pages/clients.js \
	dashboard/js/pages/listeners.js \
	dashboard/js/pages/metrics.js \
	dashboard/js/pages/overview.js \
	dashboard/js/pages/plugins.js \
	dashboard/js/pages/sessions.js \
	dashboard/js/pages/subscriptions.js \
	dashboard/js/pages/topics.js \
	dashboard/js/pages/users.js \
	dashboard/js/pages/websocket.js \
	nginx/mqttd-api.conf.in \
	nginx/nginx.conf.in
nobase_dist_pkgdata_SCRIPTS = nginx/render
EXTRA_DIST += dashboard/local.mk deploy/grafana/mqttd.json
