/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shm_names: the wire names of the segment's enums (EMQ 2.3's spelling).
 */
#include "config.h"

#include "shm/shm.h"

static const char *const metric_names[SHM_METRIC_COUNT] = {
	[SHM_M_BYTES_RECEIVED] = "bytes/received",
	[SHM_M_BYTES_SENT] = "bytes/sent",
	[SHM_M_PACKETS_RECEIVED] = "packets/received",
	[SHM_M_PACKETS_SENT] = "packets/sent",
	[SHM_M_PACKETS_CONNECT] = "packets/connect",
	[SHM_M_PACKETS_CONNACK] = "packets/connack",
	[SHM_M_PACKETS_PUBLISH_RECEIVED] = "packets/publish/received",
	[SHM_M_PACKETS_PUBLISH_SENT] = "packets/publish/sent",
	[SHM_M_PACKETS_PUBACK_RECEIVED] = "packets/puback/received",
	[SHM_M_PACKETS_PUBACK_SENT] = "packets/puback/sent",
	[SHM_M_PACKETS_PUBACK_MISSED] = "packets/puback/missed",
	[SHM_M_PACKETS_PUBREC_RECEIVED] = "packets/pubrec/received",
	[SHM_M_PACKETS_PUBREC_SENT] = "packets/pubrec/sent",
	[SHM_M_PACKETS_PUBREC_MISSED] = "packets/pubrec/missed",
	[SHM_M_PACKETS_PUBREL_RECEIVED] = "packets/pubrel/received",
	[SHM_M_PACKETS_PUBREL_SENT] = "packets/pubrel/sent",
	[SHM_M_PACKETS_PUBREL_MISSED] = "packets/pubrel/missed",
	[SHM_M_PACKETS_PUBCOMP_RECEIVED] = "packets/pubcomp/received",
	[SHM_M_PACKETS_PUBCOMP_SENT] = "packets/pubcomp/sent",
	[SHM_M_PACKETS_PUBCOMP_MISSED] = "packets/pubcomp/missed",
	[SHM_M_PACKETS_SUBSCRIBE] = "packets/subscribe",
	[SHM_M_PACKETS_SUBACK] = "packets/suback",
	[SHM_M_PACKETS_UNSUBSCRIBE] = "packets/unsubscribe",
	[SHM_M_PACKETS_UNSUBACK] = "packets/unsuback",
	[SHM_M_PACKETS_PINGREQ] = "packets/pingreq",
	[SHM_M_PACKETS_PINGRESP] = "packets/pingresp",
	[SHM_M_PACKETS_DISCONNECT] = "packets/disconnect",
	[SHM_M_MESSAGES_RECEIVED] = "messages/received",
	[SHM_M_MESSAGES_SENT] = "messages/sent",
	[SHM_M_MESSAGES_QOS0_RECEIVED] = "messages/qos0/received",
	[SHM_M_MESSAGES_QOS0_SENT] = "messages/qos0/sent",
	[SHM_M_MESSAGES_QOS1_RECEIVED] = "messages/qos1/received",
	[SHM_M_MESSAGES_QOS1_SENT] = "messages/qos1/sent",
	[SHM_M_MESSAGES_QOS2_RECEIVED] = "messages/qos2/received",
	[SHM_M_MESSAGES_QOS2_SENT] = "messages/qos2/sent",
	[SHM_M_MESSAGES_QOS2_DROPPED] = "messages/qos2/dropped",
	[SHM_M_MESSAGES_RETAINED] = "messages/retained",
	[SHM_M_MESSAGES_DROPPED] = "messages/dropped",
};

static const char *const stat_names[SHM_STAT_COUNT] = {
	[SHM_S_CLIENTS_COUNT] = "clients/count",
	[SHM_S_CLIENTS_MAX] = "clients/max",
	[SHM_S_RETAINED_COUNT] = "retained/count",
	[SHM_S_RETAINED_MAX] = "retained/max",
	[SHM_S_ROUTES_COUNT] = "routes/count",
	[SHM_S_ROUTES_MAX] = "routes/max",
	[SHM_S_SESSIONS_COUNT] = "sessions/count",
	[SHM_S_SESSIONS_MAX] = "sessions/max",
	[SHM_S_SUBSCRIBERS_COUNT] = "subscribers/count",
	[SHM_S_SUBSCRIBERS_MAX] = "subscribers/max",
	[SHM_S_SUBSCRIPTIONS_COUNT] = "subscriptions/count",
	[SHM_S_SUBSCRIPTIONS_MAX] = "subscriptions/max",
	[SHM_S_TOPICS_COUNT] = "topics/count",
	[SHM_S_TOPICS_MAX] = "topics/max",
};

static const char *const shutdown_names[SHM_SHUTDOWN_COUNT] = {
	[SHM_SHUT_CLOSED] = "closed",
	[SHM_SHUT_KEEPALIVE_TIMEOUT] = "keepalive_timeout",
	[SHM_SHUT_MALFORMED] = "malformed",
	[SHM_SHUT_TAKEOVER] = "takeover",
	[SHM_SHUT_KICKED] = "kicked",
	[SHM_SHUT_AUTH_FAILED] = "auth_failure",
	[SHM_SHUT_MAX_CLIENTS] = "max_clients",
	[SHM_SHUT_SLOW_CONSUMER] = "slow_consumer",
	[SHM_SHUT_ERROR] = "error",
};

static const char *const overflow_names[SHM_OVERFLOW_COUNT] = {
	[SHM_OVF_CLIENTS] = "clients",
	[SHM_OVF_SESSIONS] = "sessions",
	[SHM_OVF_SUBSCRIPTIONS] = "subscriptions",
	[SHM_OVF_ROUTES] = "routes",
	[SHM_OVF_STRINGS] = "strings",
};

const char *
shm_metric_name(enum shm_metric m)
{
	return (unsigned) m < SHM_METRIC_COUNT ? metric_names[m] : NULL;
}

const char *
shm_stat_name(enum shm_stat s)
{
	return (unsigned) s < SHM_STAT_COUNT ? stat_names[s] : NULL;
}

const char *
shm_shutdown_name(enum shm_shutdown s)
{
	return (unsigned) s < SHM_SHUTDOWN_COUNT ? shutdown_names[s] : NULL;
}

const char *
shm_overflow_name(enum shm_overflow o)
{
	return (unsigned) o < SHM_OVERFLOW_COUNT ? overflow_names[o] : NULL;
}

static const char *const store_fig_names[SHM_STORE_FIG_COUNT] = {
	"enabled",
	"size_bytes",
	"last_sync_us",
	"transactions",
	"bytes_written",
	"records_loaded",
	"corrupt_events",
	"disk_full_errors",
};

const char *
shm_store_fig_name(enum shm_store_fig f)
{
	return (unsigned) f < SHM_STORE_FIG_COUNT ? store_fig_names[f] : NULL;
}
