/* SPDX-License-Identifier: BSD-2-Clause */
/* mq_log: leveled log lines on stderr ("mqttd: info: ..."). */
#ifndef MQ_LOG_H
#define MQ_LOG_H

enum { MQ_LOG_ERROR, MQ_LOG_WARN, MQ_LOG_INFO, MQ_LOG_DEBUG };

extern int mq_log_level;

void mq_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int mq_log_parse_level(const char *s); /* -EINVAL if unknown */

#define mq_err(...)  mq_log(MQ_LOG_ERROR, __VA_ARGS__)
#define mq_warn(...) mq_log(MQ_LOG_WARN, __VA_ARGS__)
#define mq_info(...)                                                          \
	do {                                                                  \
		if (mq_log_level >= MQ_LOG_INFO)                              \
			mq_log(MQ_LOG_INFO, __VA_ARGS__);                     \
	} while (0)
#define mq_debug(...)                                                         \
	do {                                                                  \
		if (mq_log_level >= MQ_LOG_DEBUG)                             \
			mq_log(MQ_LOG_DEBUG, __VA_ARGS__);                    \
	} while (0)

#endif
