#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ./dev bench durability: see bench/durability.py (issue 11).
# Usage: bench/durability.sh BUILDDIR
exec /usr/bin/python3 "$(dirname "$0")/durability.py" "$@"
