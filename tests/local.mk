# SPDX-License-Identifier: BSD-2-Clause
# Test harness, integration runner, fuzzing and formatting.
EXTRA_DIST += tests/harness/t.h tests/integration tests/fuzz

# Integration tests: pytest (Debian's python3-pytest) against real processes.
TESTS += tests/integration/run
EXTRA_DIST += tests/integration/run

# libFuzzer targets.  Each module adds itself to FUZZERS with a rule that
# uses FUZZ_LINK; `make fuzz-run` runs every target for FUZZ_SECONDS and
# leaves one log per target with a "1 passed, 0 failed"-style tally.
FUZZ_SECONDS ?= 20
FUZZ_CFLAGS = -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -I$(srcdir) -I$(builddir) \
	$(JSONC_CFLAGS) $(URCU_CFLAGS)
FUZZ_LINK = @mkdir -p fuzz && $(FUZZ_CC) $(FUZZ_CFLAGS) -o $@

fuzz-build: $(FUZZERS)

fuzz-run: fuzz-build
	@srcdir='$(srcdir)' secs='$(FUZZ_SECONDS)'; \
	 ok=0; bad=0; \
	 for f in $(FUZZERS); do \
	   n=$$(basename $$f); corpus=fuzz/corpus-$$n; \
	   rm -rf $$corpus; mkdir -p $$corpus; \
	   if test -d $$srcdir/tests/fuzz/corpus/$$n; then \
	     cp $$srcdir/tests/fuzz/corpus/$$n/* $$corpus/ 2>/dev/null; fi; \
	   if ./$$f -max_total_time=$$secs -timeout=10 -rss_limit_mb=2048 \
	        -print_final_stats=1 -artifact_prefix=fuzz/$$n- $$corpus \
	        > fuzz/$$n.log 2>&1; then \
	     echo "fuzz $$n: ok ($$secs s)"; ok=$$((ok+1)); \
	     echo "1 passed, 0 failed" >> fuzz/$$n.log; \
	   else \
	     echo "fuzz $$n: FAILED, see fuzz/$$n.log"; bad=$$((bad+1)); \
	     tail -40 fuzz/$$n.log; echo "0 passed, 1 failed" >> fuzz/$$n.log; \
	   fi; \
	 done; \
	 test $$bad -eq 0

# Formatting: clang-format 14 with the project's .clang-format.
FORMAT_FILES = find $(srcdir)/shm $(srcdir)/collector $(srcdir)/broker \
	$(srcdir)/cluster \
	$(srcdir)/fcgi $(srcdir)/tests $(srcdir)/bench \
	-name '*.[ch]' -not -path '*/corpus/*'

format:
	$(FORMAT_FILES) | xargs -r clang-format -i

format-check:
	$(FORMAT_FILES) | xargs -r clang-format --dry-run --Werror

.PHONY: fuzz-build fuzz-run format format-check
