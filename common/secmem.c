/* secmem.c - secrets out of core dumps and freed memory (see secmem.h). */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cjson/cJSON.h>

#include "mimir/secmem.h"

void mm_secmem_nodump(void)
{
    setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* The whole usable block: cJSON does not tell us how much of it it used. */
void mm_secmem_free(void *p)
{
    if (!p)
        return;
    explicit_bzero(p, malloc_usable_size(p));
    free(p);
}

void mm_secmem_wipe_json(void)
{
    cJSON_Hooks hooks = {.malloc_fn = malloc, .free_fn = mm_secmem_free};
    cJSON_InitHooks(&hooks);
}
