/* ctx.c - the shared state of mimir-proxy (see ctx.h). */
#include <stdlib.h>
#include <string.h>

#include "ctx.h"

void mm_ctx_set(char **member, const char *value)
{
    char *copy = value ? strdup(value) : NULL;
    if (value && !copy)
        return; /* out of memory: keep the old value */
    free(*member);
    *member = copy;
}
