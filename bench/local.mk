# SPDX-License-Identifier: BSD-2-Clause
# bench/: load tools and benchmark scripts, never part of `make check`.
# Each benchmark keeps its own fragment.
EXTRA_DIST += bench/README.md bench/RESULTS.md
include bench/shm.mk
include bench/broker.mk
include bench/api.mk
