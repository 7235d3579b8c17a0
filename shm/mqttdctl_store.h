/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mqttdctl_store: `mqttdctl store check|dump`, the broker's store read
 * offline (mqttdctl_store.c).
 */
#ifndef MQTTDCTL_STORE_H
#define MQTTDCTL_STORE_H

/* what: "check" or "dump".  Exit status: 0, 1 (damaged / error), 2 usage. */
int mqttdctl_store(const char *dir, const char *what);

#endif
