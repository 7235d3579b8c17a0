/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t.h: the in-tree unit-test harness.
 *
 * A test file defines functions with T_TEST(name), lists them in a table
 * with T_ENTRY(name), and ends with T_MAIN(table).  Each test runs in a
 * forked child so that a crash (or an ASan abort) fails that test only and
 * the others still report.  Assertions print both operands, in the manner
 * of libuv's ASSERT_BASE, and the run closes with the line
 * "N passed, M failed" that ./dev test adds up.
 */
#ifndef T_H
#define T_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct t_case {
	const char *name;
	void (*fn)(void);
};

#define T_TEST(name) static void t_##name(void)
#define T_ENTRY(name)                                                         \
	{                                                                     \
#name, t_##name                                               \
	}

#define T_FAIL_AT(...)                                                        \
	do {                                                                  \
		fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);             \
		fprintf(stderr, __VA_ARGS__);                                 \
		fputc('\n', stderr);                                          \
		exit(1);                                                      \
	} while (0)

#define T_ASSERT(c)                                                           \
	do {                                                                  \
		if (!(c))                                                     \
			T_FAIL_AT("assertion failed: %s", #c);                \
	} while (0)

/* Integers of any width, signed or not, compared as intmax_t. */
#define T_EQ(a, b)                                                            \
	do {                                                                  \
		intmax_t t_a_ = (intmax_t) (a), t_b_ = (intmax_t) (b);        \
		if (t_a_ != t_b_)                                             \
			T_FAIL_AT(                                            \
			    "%s == %s: %jd != %jd", #a, #b, t_a_, t_b_);      \
	} while (0)

#define T_STREQ(a, b)                                                         \
	do {                                                                  \
		const char *t_a_ = (a), *t_b_ = (b);                          \
		if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0)  \
			T_FAIL_AT("%s == %s: \"%s\" != \"%s\"", #a, #b,       \
			    t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");  \
	} while (0)

#define T_MEMEQ(a, b, n)                                                      \
	do {                                                                  \
		if (memcmp((a), (b), (n)) != 0)                               \
			T_FAIL_AT(                                            \
			    "%s and %s differ in their first %zu bytes", #a,  \
			    #b, (size_t) (n));                                \
	} while (0)

static inline int
t_run(const struct t_case *cases, size_t n, int argc, char **argv)
{
	size_t passed = 0, failed = 0;

	for (size_t i = 0; i < n; i++) {
		int   status = 0;
		pid_t pid;

		if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)
			continue;
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			cases[i].fn();
			fflush(NULL);
			_exit(0);
		}
		while (waitpid(pid, &status, 0) < 0)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("ok   %s\n", cases[i].name);
			passed++;
		} else {
			printf("FAIL %s (%s %d)\n", cases[i].name,
			    WIFSIGNALED(status) ? "signal" : "exit",
			    WIFSIGNALED(status) ? WTERMSIG(status)
			                        : WEXITSTATUS(status));
			failed++;
		}
	}
	printf("%zu passed, %zu failed\n", passed, failed);
	return failed ? 1 : 0;
}

#define T_MAIN(table)                                                         \
	int main(int argc, char **argv)                                       \
	{                                                                     \
		return t_run(                                                 \
		    table, sizeof(table) / sizeof(table[0]), argc, argv);     \
	}

#endif
