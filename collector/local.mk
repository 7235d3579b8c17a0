# SPDX-License-Identifier: BSD-2-Clause
# collector: fragment owned by the collector module.
# libcol.a: the broker's writer into the segment (link libshm.a after it).
noinst_LIBRARIES += libcol.a
libcol_a_SOURCES = collector/col.h collector/col_impl.h collector/col.c \
	collector/col_tables.c
libcol_a_CPPFLAGS = $(AM_CPPFLAGS) $(URCU_CFLAGS)
