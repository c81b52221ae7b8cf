/* buf.c - growable buffers that never leave a stale copy behind (see buf.h). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"

int mm_buf_reserve(mm_buf *b, size_t more, size_t max)
{
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    if (max && cap > max + 1)
        return -1;
    char *n = malloc(cap);
    if (!n)
        return -1;
    if (b->buf) {
        memcpy(n, b->buf, b->len);
        sodium_memzero(b->buf, b->cap);
        free(b->buf);
    }
    b->buf = n;
    b->cap = cap;
    b->buf[b->len] = '\0';
    return 0;
}

void mm_buf_append(mm_buf *b, const void *data, size_t n)
{
    if (b->oom || mm_buf_reserve(b, n, 0) < 0) {
        b->oom = 1;
        return;
    }
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

void mm_buf_free(mm_buf *b)
{
    if (b->buf) {
        sodium_memzero(b->buf, b->cap);
        free(b->buf);
    }
    memset(b, 0, sizeof(*b));
}
