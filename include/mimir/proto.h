/*
 * proto.h - the wire protocol between mimir-agent and its clients
 * (mimir-helper, the VS Code extension).  docs/protocol.md is the
 * normative description; this is its only implementation, linked into
 * both the agent and the helper.
 *
 * Framing: one UTF-8 JSON object per line, at most MM_PROTO_MAX_LINE bytes
 * including the newline.  Requests carry "v", optional "id", "op" and an
 * optional "profile"; replies echo "id" and carry "ok" plus either the
 * op's fields or an "error" object {code, message}.  Events (for
 * subscribers) carry "event" and no "id".
 */
#ifndef MIMIR_PROTO_H
#define MIMIR_PROTO_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "mimir/err.h"

#define MM_PROTO_VERSION 1
#define MM_PROTO_MAX_LINE (64 * 1024)

typedef enum {
    MM_OP_UNKNOWN = -1,
    MM_OP_HELLO = 0,
    MM_OP_STATUS,
    MM_OP_TOKEN,
    MM_OP_HEADERS,
    MM_OP_SET_API_KEY,
    MM_OP_LOGOUT,
    MM_OP_RELOAD,
    MM_OP_LOGIN,
    MM_OP_LOGIN_WAIT,
    MM_OP_SUBSCRIBE,
    MM_OP_UNLOCK,
    MM_OP_LOCK,
    MM_OP_IMPORT_TOKEN,
    MM_OP_PROBE,
    MM_OP__COUNT
} mm_op;

const char *mm_op_name(mm_op op);
mm_op mm_op_from_name(const char *name);

/* A parsed request.  All pointers point into root. */
typedef struct {
    cJSON *root;
    const cJSON *id;     /* echoed verbatim; NULL when absent */
    mm_op op;
    const char *op_name; /* as sent, for error messages */
    const char *profile; /* NULL: the default profile */
} mm_request;

/*
 * Parse one line (without its newline).  On failure *why says what was
 * wrong and req->id is still filled when the id could be read, so the
 * error reply can be matched by the client.
 */
mm_err mm_proto_parse_request(const char *line, size_t len, mm_request *req,
                              const char **why);
void mm_request_free(mm_request *req);

/* Replies.  Add op fields to the object returned by mm_proto_reply_ok. */
cJSON *mm_proto_reply_ok(const cJSON *id);
cJSON *mm_proto_reply_err(const cJSON *id, mm_err e, const char *message);
cJSON *mm_proto_event(const char *event);

/* Serialise as one line ending in '\n'.  Caller frees with cJSON_free. */
char *mm_proto_encode(const cJSON *msg, size_t *len);

/* Client side: {"v":1,"id":id,"op":op[,"profile":profile]}. */
cJSON *mm_proto_request(mm_op op, long id, const char *profile);

typedef struct {
    cJSON *root;
    int ok;
    long id;             /* -1 when absent or not an integer */
    mm_err err;          /* MM_OK when ok */
    const char *message; /* error message, points into root */
    const char *event;   /* non-NULL for events */
} mm_response;

mm_err mm_proto_parse_response(const char *line, size_t len, mm_response *out);
void mm_response_free(mm_response *resp);

/* Parse exactly one JSON document from buf[0..len): trailing garbage,
 * NUL bytes and \u0000 escapes are refused (NULL). */
cJSON *mm_json_parse(const char *buf, size_t len);

/* Add an integer member without cJSON's float formatting (hot path). */
cJSON *mm_json_add_int(cJSON *obj, const char *key, long long v);

/* Small typed accessors; NULL / 0 when absent or of the wrong type. */
const char *mm_json_str(const cJSON *obj, const char *key);
int mm_json_num(const cJSON *obj, const char *key, double *out);

#endif
