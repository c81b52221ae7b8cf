/*
 * buf.h - a growable byte buffer for data that may be secret (request
 * bodies, responses, socket output): it never reallocs, so no stale copy is
 * left behind, and it is wiped when freed.  Always NUL-terminated when
 * non-NULL.
 */
#ifndef MM_BUF_H
#define MM_BUF_H

#include <stddef.h>

typedef struct {
    char *buf;
    size_t len, cap;
    int oom; /* an append failed; the buffer is incomplete */
} mm_buf;

/* Room for more bytes; -1 when that would pass max (0: no limit) or on OOM. */
int mm_buf_reserve(mm_buf *b, size_t more, size_t max);
void mm_buf_append(mm_buf *b, const void *data, size_t n);
void mm_buf_free(mm_buf *b);

#endif
