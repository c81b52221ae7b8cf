/*
 * fuzz_proto_request.c - the agent's side of the socket protocol
 * (common/proto.c): mm_proto_parse_request, then the reply round trip.
 *
 * Feeds: the input as one request line (without its newline), exactly as
 * the agent hands a line to the parser: a length, no terminator, so ASan
 * sees any read past the line.
 * Asserts: a request parsed as MM_OK names a known op by its own name, has
 * v == 1 and a non-empty profile or none; an id is only ever a finite
 * number or a string.  Whatever parsed far enough to have an id (or none)
 * gets a reply, ok or error, that mm_proto_encode makes into exactly one
 * line and mm_proto_parse_response reads back: same ok, same error code,
 * and the same id: the same string, or exactly the same number (as
 * mm_response.id too when the client can match it: an integer 0..2^53).
 */
#include <math.h>
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

static void round_trip(const mm_request *req, mm_err e, const char *why)
{
    cJSON *reply = e == MM_OK ? mm_proto_reply_ok(req->id) : mm_proto_reply_err(req->id, e, why);
    FUZZ_ASSERT(reply);
    size_t len = 0;
    char *line = mm_proto_encode(reply, &len);
    FUZZ_ASSERT(line && len >= 2 && line[len - 1] == '\n' && strlen(line) == len);
    FUZZ_ASSERT(memchr(line, '\n', len - 1) == NULL); /* one line, whatever the id held */

    mm_response resp;
    FUZZ_ASSERT(mm_proto_parse_response(line, len - 1, &resp) == MM_OK);
    FUZZ_ASSERT(!resp.event && resp.ok == (e == MM_OK));
    FUZZ_ASSERT(resp.err == e);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(resp.root, "id");
    if (!req->id) {
        FUZZ_ASSERT(!id && resp.id == -1);
    } else if (cJSON_IsString(req->id)) {
        FUZZ_ASSERT(cJSON_IsString(id) && !strcmp(id->valuestring, req->id->valuestring));
        FUZZ_ASSERT(resp.id == -1);
    } else {
        double d = req->id->valuedouble;
        int matchable = d >= 0 && d <= 9007199254740992.0 && d == floor(d);
        FUZZ_ASSERT(cJSON_IsNumber(id) && id->valuedouble == d);
        FUZZ_ASSERT(resp.id == (matchable ? (long)d : -1));
    }
    mm_response_free(&resp);
    cJSON_free(line);
    cJSON_Delete(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MM_PROTO_MAX_LINE)
        return 0;
    mm_request req;
    const char *why = NULL;
    mm_err e = mm_proto_parse_request((const char *)data, size, &req, &why);
    if (req.id)
        FUZZ_ASSERT(cJSON_IsString(req.id) ||
                    (cJSON_IsNumber(req.id) && isfinite(req.id->valuedouble)));
    if (e == MM_OK) {
        double v = 0;
        FUZZ_ASSERT(!why && mm_json_num(req.root, "v", &v) && v == MM_PROTO_VERSION);
        FUZZ_ASSERT(req.op > MM_OP_UNKNOWN && req.op < MM_OP__COUNT);
        FUZZ_ASSERT(req.op_name && !strcmp(req.op_name, mm_op_name(req.op)));
        FUZZ_ASSERT(!req.profile || req.profile[0]);
    } else {
        FUZZ_ASSERT(why && why[0]);
    }
    /* The agent answers every line; an id it could not read is left out. */
    round_trip(&req, e, why);
    mm_request_free(&req);
    return 0;
}
