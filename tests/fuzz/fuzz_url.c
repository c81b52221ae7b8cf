/*
 * fuzz_url.c - mm_url_check_secure (runtime/http.c), the rule that decides
 * which URLs may carry a code, a token or a key.
 *
 * Feeds: the input as one URL string.
 * Asserts: whenever the check says MM_OK, curl's own parse of the URL, made
 * the way an easy handle makes it (fuzz_url_safe), has scheme https, or
 * http with a loopback host (127.0.0.0/8, localhost, [::1]), and no user or
 * password; any other answer is MM_ERR_INSECURE_ISSUER with a reason.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = fuzz_strndup(data, size);
    char why[512] = "";
    mm_err e = mm_url_check_secure(url, why, sizeof(why));
    if (e == MM_OK)
        FUZZ_ASSERT(fuzz_url_safe(url));
    else
        FUZZ_ASSERT(e == MM_ERR_INSECURE_ISSUER && why[0]);
    free(url);
    return 0;
}
