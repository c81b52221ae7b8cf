/*
 * secret.h - secrets in libsodium guarded memory (and, through buf.h, the
 * wiping buffers that carry them on their way).
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

#include "buf.h"
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


/* Zero a heap string's bytes, then free it. */
void mm_secret_wipe_free(char *s);

#endif
