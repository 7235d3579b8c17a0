# nginx: fragment owned by the nginx module.
# The front's template, its renderer and the stack launcher of ./dev run;
# deploy/ holds the systemd units.  Nothing to compile.
dist_noinst_SCRIPTS += nginx/stack nginx/render
EXTRA_DIST += nginx/mqttd-api.conf.in nginx/nginx.conf.in bench/auth.sh \
	deploy/mqttd.service deploy/mqttd-api.service
