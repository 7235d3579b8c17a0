/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_ctl: the client side of the broker's control socket
 * (docs/architecture.md, "Control socket protocol"): one JSON line out,
 * one JSON line back, within a deadline.  One connection per call, so a
 * worker thread never shares a socket and a broker restart between two
 * calls costs nothing.  Thread-safe.
 */
#ifndef API_CTL_H
#define API_CTL_H

#include <json-c/json.h>

#include "fcgi/api.h"

/*
 * Sends cmd (borrowed) to the unix socket at path and waits at most
 * timeout_ms for the reply.  Returns 0 when the broker answered code 0;
 * otherwise sets e and returns its code: the broker's own code and
 * message, or 101 (badrpc) when the broker is unreachable, does not
 * answer in time, or answers something that is not a reply.
 */
int api_ctl_call(
    const char *path, json_object *cmd, int timeout_ms, struct api_err *e);

#endif
