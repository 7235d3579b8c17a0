#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The thread variant of the shm torture test under ThreadSanitizer: any
# data race between the writer and the readers fails it (exit 66).
TSAN_OPTIONS='halt_on_error=1:exitcode=66'
export TSAN_OPTIONS
exec "${MQTTD_BUILDDIR:-.}/tests/unit/test_shm_tsan" --threads --seconds 3 --readers 3
