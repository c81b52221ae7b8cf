/*
 * fuzz_proto_response.c - the clients' side of the socket protocol
 * (common/proto.c): mm_proto_parse_response, what the helper and the
 * proxy believe an agent said.
 *
 * Feeds: the input as one reply or event line (without its newline), by
 * length, no terminator.
 * Asserts: MM_OK only for a JSON object; the id is -1 or an integer in
 * 0..2^53 that is exactly the line's "id"; an event has its name; an ok
 * reply carries MM_OK; a failed one carries an error code from the closed
 * list (an unknown code reads as "internal") and a message; a reply that
 * names no error code is refused.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "mimir/proto.h"
#include "secret.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return mm_secret_init() == MM_OK ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MM_PROTO_MAX_LINE)
        return 0;
    mm_response r;
    mm_err e = mm_proto_parse_response((const char *)data, size, &r);
    FUZZ_ASSERT(e == MM_OK || e == MM_ERR_BAD_REQUEST);
    if (e == MM_OK) {
        FUZZ_ASSERT(cJSON_IsObject(r.root));
        double d;
        if (r.id != -1)
            FUZZ_ASSERT(r.id >= 0 && r.id <= 9007199254740992L && mm_json_num(r.root, "id", &d) &&
                        d == (double)r.id);
        if (r.event) {
            FUZZ_ASSERT(r.event == mm_json_str(r.root, "event"));
        } else if (r.ok) {
            FUZZ_ASSERT(r.err == MM_OK);
            FUZZ_ASSERT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.root, "ok")));
        } else {
            const cJSON *err = cJSON_GetObjectItemCaseSensitive(r.root, "error");
            const char *code = mm_json_str(err, "code");
            FUZZ_ASSERT(code && r.message);
            FUZZ_ASSERT((int)r.err >= 0 && r.err < MM_ERR__COUNT);
            FUZZ_ASSERT(!strcmp(mm_err_code(r.err), code) || r.err == MM_ERR_INTERNAL);
        }
    }
    mm_response_free(&r);
    return 0;
}
