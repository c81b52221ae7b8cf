/*
 * in.h - the proxy's standard input, split into lines (the stdio
 * transport: one JSON-RPC message per line).
 *
 * A line longer than max is never held: its first bytes are kept (the
 * message id may be among them) and the rest is skipped up to the next
 * newline.  The reader can be paused (the proxy holds too many messages
 * already) and resumed; while paused nothing more is read, so the client's
 * writes block instead of the proxy's memory growing.
 */
#ifndef MM_IN_H
#define MM_IN_H

#include <stddef.h>

#include "loop.h"

#define MM_IN_HEAD_KEPT (64 * 1024)

typedef struct {
    /* A line without its newline (and a CR before it).  line is malloc'd,
     * NUL-terminated, and now the callee's to free. */
    void (*line)(void *arg, char *line, size_t len);
    /* A line over max bytes: its first n bytes (at most MM_IN_HEAD_KEPT). */
    void (*too_long)(void *arg, const char *head, size_t n);
    /* End of input (or a read error, logged): once, after the last line. */
    void (*eof)(void *arg);
} mm_in_cbs;

typedef struct mm_in mm_in;

mm_in *mm_in_new(mm_loop *loop, int fd, size_t max, const mm_in_cbs *cbs, void *arg);
/* Restores the descriptor's flags. */
void mm_in_free(mm_in *in);
void mm_in_pause(mm_in *in);
void mm_in_resume(mm_in *in);

#endif
