/*
 * secret.h - secrets in libsodium guarded memory.
 *
 * Refresh tokens, API keys and access tokens live in sodium_malloc'd
 * buffers: guard pages, mlock (never swapped), wiped by sodium_free.
 * Copies that must pass through ordinary memory (cJSON documents of
 * protocol replies and IdP responses, curl buffers) are wiped when freed:
 * mm_secret_init installs cJSON allocation hooks that zero every block.
 */
#ifndef MM_SECRET_H
#define MM_SECRET_H

#include <stddef.h>

#include "mimir/err.h"

typedef struct {
    size_t len;
    char data[]; /* NUL-terminated */
} mm_secret;

/* sodium_init, cJSON wiping hooks.  Call once before anything else. */
mm_err mm_secret_init(void);

mm_secret *mm_secret_new(const char *data, size_t len);
mm_secret *mm_secret_from_str(const char *s);
void mm_secret_free(mm_secret *s);
/* Free *s and set it NULL. */
void mm_secret_clear(mm_secret **s);

/* Constant-time string equality (lengths are not secret). */
int mm_secret_equal(const char *a, const char *b);

/*
 * A growable byte buffer for data that may be secret (request bodies,
 * responses, socket output): it never reallocs, so no stale copy is left
 * behind, and it is wiped when freed.  Always NUL-terminated when non-NULL.
 */
typedef struct {
    char *buf;
    size_t len, cap;
    int oom; /* an append failed; the buffer is incomplete */
} mm_buf;

/* Room for more bytes; -1 when that would pass max (0: no limit) or on OOM. */
int mm_buf_reserve(mm_buf *b, size_t more, size_t max);
void mm_buf_append(mm_buf *b, const void *data, size_t n);
void mm_buf_free(mm_buf *b);

/* Zero a heap string's bytes, then free it. */
void mm_wipe_free(char *s);

#endif
