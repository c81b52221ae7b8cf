/* secret.c - guarded secret buffers and wipe-on-free JSON (see secret.h). */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "mimir/secmem.h"
#include "secret.h"

mm_err mm_secret_init(void)
{
    if (sodium_init() < 0)
        return MM_ERR_INTERNAL;
    mm_secmem_wipe_json();
    return MM_OK;
}

mm_secret *mm_secret_new(const char *data, size_t len)
{
    /* sodium_malloc puts the block right before a guard page, so its
     * address is only aligned if the size is a multiple of the alignment. */
    size_t size = (sizeof(mm_secret) + len + 1 + 15) & ~(size_t)15;
    mm_secret *s = sodium_malloc(size);
    if (!s)
        return NULL;
    s->len = len;
    memcpy(s->data, data, len);
    s->data[len] = '\0';
    return s;
}

mm_secret *mm_secret_from_str(const char *s) { return s ? mm_secret_new(s, strlen(s)) : NULL; }

void mm_secret_free(mm_secret *s)
{
    if (s)
        sodium_free(s);
}

void mm_secret_clear(mm_secret **s)
{
    mm_secret_free(*s);
    *s = NULL;
}

int mm_secret_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la == lb && sodium_memcmp(a, b, la) == 0;
}

void mm_secret_wipe_free(char *s)
{
    if (s)
        sodium_memzero(s, strlen(s));
    free(s);
}
