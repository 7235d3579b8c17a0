/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mq_file: the broker's small text files (plugin state, auth files, ACL
 * rules): reading them line by line with one set of rules (blanks
 * trimmed, blank lines and '#' comments skipped, NUL bytes refused), the
 * tokens of a line, and replacing a file durably.
 *
 * Errors: int functions return 0 or -errno; the failure is logged once.
 */
#ifndef MQ_FILE_H
#define MQ_FILE_H

#include <stdbool.h>
#include <stddef.h>

typedef int (*mq_line_fn)(void *ctx, const char *path, unsigned lineno,
    const char *line, size_t len);

/*
 * Calls fn for each line of path, without its newline and trimmed,
 * skipping blank lines and comments.  Returns 0, -errno when the file
 * cannot be read (logged unless quiet_enoent and it does not exist), or
 * fn's first error.
 */
int mq_file_lines(
    const char *path, bool quiet_enoent, mq_line_fn fn, void *ctx);

bool mq_is_blank(char c);
/* Trims blanks at both ends of [*s, *s + *n). */
void mq_trim(const char **s, size_t *n);
/* The next blank-separated token of [*s, end); false when there is none. */
bool mq_token_next(
    const char **s, const char *end, const char **tok, size_t *n);
bool mq_token_is(const char *tok, size_t n, const char *word);
/* A NUL-terminated copy of s[0..n), NULL on ENOMEM. */
char *mq_strndup(const char *s, size_t n);

/*
 * Replaces path with data durably: path.tmp (mode), fsync, rename, fsync
 * of the directory.  Returns 0 or -errno (path is then unchanged).
 */
int mq_file_replace(
    const char *path, const char *data, size_t len, unsigned mode);

#endif
