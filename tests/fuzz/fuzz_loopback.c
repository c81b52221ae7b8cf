/*
 * fuzz_loopback.c - mm_loopback_parse (agent/loopback.c), the redirect
 * listener's reading of a browser's request head.
 *
 * Feeds: the input as the request head (NUL-terminated, as the listener
 * hands it over; at most the listener's 8 KiB).
 * Asserts: only "GET /callback?..." is a callback; every parameter it
 * returns points into the request buffer; no callback is accepted whose
 * query has a value with an encoded NUL ("%00" would cut a value short
 * where nobody looks); every other verdict leaves the parameters empty.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "loopback.h"

#define REQ_MAX 8192

static void inside(const char *p, const char *buf, size_t size)
{
    if (p)
        FUZZ_ASSERT(p >= buf && p + strlen(p) <= buf + size);
}

/* Some value (after '=' in an '&'-separated part) of the query in the
 * original request target holds "%00". */
static int query_has_nul(const uint8_t *data, size_t size)
{
    char *s = fuzz_strndup(data, size), *save = NULL;
    char *sp1 = strchr(s, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    int found = 0;
    if (sp2) {
        *sp2 = '\0';
        char *q = strchr(sp1 + 1, '?');
        for (char *t = q ? strtok_r(q + 1, "&", &save) : NULL; t && !found;
             t = strtok_r(NULL, "&", &save))
            found = strchr(t, '=') && strstr(strchr(t, '='), "%00");
    }
    free(s);
    return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > REQ_MAX)
        return 0;
    char *req = fuzz_strndup(data, size);
    mm_callback cb;
    memset(&cb, 0x5a, sizeof(cb)); /* the parser must set every field */
    mm_lb_kind k = mm_loopback_parse(req, &cb);
    const char *fields[] = {cb.code, cb.state, cb.error, cb.error_description, cb.iss};
    if (k == MM_LB_CALLBACK) {
        FUZZ_ASSERT(size >= 14 && !memcmp(data, "GET /callback?", 14));
        FUZZ_ASSERT(!query_has_nul(data, size));
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
            inside(fields[i], req, size);
    } else {
        FUZZ_ASSERT(k == MM_LB_BAD || k == MM_LB_NOT_FOUND || k == MM_LB_INVALID);
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
            FUZZ_ASSERT(!fields[i]);
    }
    if (k != MM_LB_BAD)
        FUZZ_ASSERT(size >= 4 && !memcmp(data, "GET ", 4));
    free(req);
    return 0;
}
