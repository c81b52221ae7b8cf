/* proto.c - request/response codec for the agent socket (see proto.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mimir/proto.h"

static const char *const op_names[MM_OP__COUNT] = {
    [MM_OP_HELLO] = "hello",           [MM_OP_STATUS] = "status",
    [MM_OP_TOKEN] = "token",           [MM_OP_HEADERS] = "headers",
    [MM_OP_SET_API_KEY] = "set_api_key", [MM_OP_LOGOUT] = "logout",
    [MM_OP_RELOAD] = "reload",         [MM_OP_LOGIN] = "login",
    [MM_OP_LOGIN_WAIT] = "login_wait", [MM_OP_SUBSCRIBE] = "subscribe",
    [MM_OP_UNLOCK] = "unlock",         [MM_OP_LOCK] = "lock",
    [MM_OP_IMPORT_TOKEN] = "import_token", [MM_OP_PROBE] = "probe",
};

const char *mm_op_name(mm_op op)
{
    return (op >= 0 && op < MM_OP__COUNT) ? op_names[op] : "unknown";
}

mm_op mm_op_from_name(const char *name)
{
    for (int i = 0; i < MM_OP__COUNT; i++)
        if (strcmp(op_names[i], name) == 0)
            return (mm_op)i;
    return MM_OP_UNKNOWN;
}

/* A "\u0000" escape would end the C string cJSON makes of it: what we
 * checked and what we use would differ.  No legitimate input needs one. */
static int has_nul_escape(const char *s, size_t len)
{
    for (const char *p = s; (p = memchr(p, '\\', (size_t)(s + len - p))) && p + 6 <= s + len;
         p += 2) {
        if (p[1] == '\\')
            continue; /* an escaped backslash, skipped by p += 2 */
        if (p[1] == 'u' && !memcmp(p + 2, "000", 3) && p[5] == '0')
            return 1;
    }
    return 0;
}

/* Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF).  cJSON copies bytes as they come, and whatever it accepts may
 * be stored in the keyring or echoed to a terminal. */
static int utf8_valid(const unsigned char *s, size_t len)
{
    static const unsigned min[] = {0, 0x80, 0x800, 0x10000};
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n = (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 0;
        if (!n || i + n >= len)
            return 0;
        unsigned cp = c & (0x3fu >> n);
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3fu);
        }
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* JSON allows no raw control character inside a string (RFC 8259 7); cJSON
 * takes them, and they would reach terminals and logs as they are. */
static int raw_control_in_string(const char *s, size_t len)
{
    int in = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (in && c < 0x20)
            return 1;
        if (in && c == '\\')
            i++; /* the escaped character cannot end the string */
        else if (c == '"')
            in = !in;
    }
    return 0;
}

cJSON *mm_json_parse(const char *buf, size_t len)
{
    if (memchr(buf, '\0', len) || has_nul_escape(buf, len) ||
        !utf8_valid((const unsigned char *)buf, len) || raw_control_in_string(buf, len))
        return NULL;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    /* One document only: trailing bytes other than whitespace are refused,
     * or "{...}{...}" would silently drop its second request. */
    while (j && end && end < buf + len && strchr(" \t\r\n", *end))
        end++;
    if (j && end != buf + len) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

const char *mm_json_str(const cJSON *obj, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

int mm_json_num(const cJSON *obj, const char *key, double *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(it))
        return 0;
    *out = it->valuedouble;
    return 1;
}

mm_err mm_proto_parse_request(const char *line, size_t len, mm_request *req,
                              const char **why)
{
    memset(req, 0, sizeof(*req));
    req->op = MM_OP_UNKNOWN;
    *why = NULL;
    if (len && line[len - 1] == '\r') /* tolerate CRLF from hand-typed input */
        len--;
    /* The parser needs no terminator: it is told the length. */
    req->root = mm_json_parse(line, len);
    if (!req->root || !cJSON_IsObject(req->root)) {
        *why = "request is not a JSON object";
        return MM_ERR_BAD_REQUEST;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(req->root, "id");
    if (id && ((cJSON_IsNumber(id) && isfinite(id->valuedouble)) || cJSON_IsString(id)))
        req->id = id;
    else if (id) {
        *why = "\"id\" must be a finite number or a string";
        return MM_ERR_BAD_REQUEST;
    }
    double v;
    if (!mm_json_num(req->root, "v", &v)) {
        *why = "missing protocol version \"v\"";
        return MM_ERR_BAD_REQUEST;
    }
    if (v != MM_PROTO_VERSION) {
        *why = "this agent speaks protocol version 1";
        return MM_ERR_UNSUPPORTED_VERSION;
    }
    req->op_name = mm_json_str(req->root, "op");
    if (!req->op_name) {
        *why = "missing string field \"op\"";
        return MM_ERR_BAD_REQUEST;
    }
    const cJSON *prof = cJSON_GetObjectItemCaseSensitive(req->root, "profile");
    if (prof && !cJSON_IsNull(prof)) {
        if (!cJSON_IsString(prof) || !prof->valuestring[0]) {
            *why = "\"profile\" must be a non-empty string";
            return MM_ERR_BAD_REQUEST;
        }
        req->profile = prof->valuestring;
    }
    req->op = mm_op_from_name(req->op_name);
    if (req->op == MM_OP_UNKNOWN) {
        *why = "unknown op";
        return MM_ERR_UNKNOWN_OP;
    }
    return MM_OK;
}

void mm_request_free(mm_request *req)
{
    cJSON_Delete(req->root);
    memset(req, 0, sizeof(*req));
}

/*
 * Integers as raw JSON text: cJSON prints every number with "%1.15g" and
 * reads it back with sscanf to check the round trip, which costs more than
 * the rest of a token reply together.  Integral values need neither.
 */
cJSON *mm_json_add_int(cJSON *obj, const char *key, long long v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%lld", v);
    return cJSON_AddRawToObject(obj, key, buf);
}

static cJSON *reply_head(const cJSON *id, int ok)
{
    cJSON *r = cJSON_CreateObject();
    if (!r)
        return NULL;
    cJSON_AddRawToObject(r, "v", "1");
    if (cJSON_IsNumber(id) && fabs(id->valuedouble) <= 9007199254740992.0 && /* 2^53 */
        id->valuedouble == (double)(long long)id->valuedouble) {
        mm_json_add_int(r, "id", (long long)id->valuedouble);
    } else if (cJSON_IsNumber(id) && isfinite(id->valuedouble)) {
        /* The shortest text that reads back as exactly this double (17
         * digits always do): cJSON's 15 digits may not, and turned the id
         * 455055550014068.94 into 455055550014069.  No setlocale anywhere,
         * so the decimal point is '.'. */
        char buf[32];
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, sizeof(buf), "%.*g", prec, id->valuedouble);
            if (strtod(buf, NULL) == id->valuedouble)
                break;
        }
        cJSON_AddRawToObject(r, "id", buf);
    } else if (id) {
        cJSON_AddItemToObject(r, "id", cJSON_Duplicate(id, 0));
    }
    cJSON_AddBoolToObject(r, "ok", ok);
    return r;
}

cJSON *mm_proto_reply_ok(const cJSON *id) { return reply_head(id, 1); }

cJSON *mm_proto_reply_err(const cJSON *id, mm_err e, const char *message)
{
    cJSON *r = reply_head(id, 0);
    cJSON *err = cJSON_AddObjectToObject(r, "error");
    cJSON_AddStringToObject(err, "code", mm_err_code(e));
    cJSON_AddStringToObject(err, "message", message ? message : mm_err_describe(e));
    return r;
}

cJSON *mm_proto_event(const char *event)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddRawToObject(r, "v", "1");
    cJSON_AddStringToObject(r, "event", event);
    return r;
}

char *mm_proto_encode(const cJSON *msg, size_t *len)
{
    char *s = cJSON_PrintUnformatted(msg);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    /* cJSON allocated exactly n+1 bytes; grow by one for the newline. */
    char *line = cJSON_malloc(n + 2);
    if (line) {
        memcpy(line, s, n);
        line[n] = '\n';
        line[n + 1] = '\0';
        *len = n + 1;
    }
    explicit_bzero(s, n); /* requests carry keys and passphrases */
    cJSON_free(s);
    return line;
}

cJSON *mm_proto_request(mm_op op, long id, const char *profile)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "v", MM_PROTO_VERSION);
    cJSON_AddNumberToObject(r, "id", (double)id);
    cJSON_AddStringToObject(r, "op", mm_op_name(op));
    if (profile)
        cJSON_AddStringToObject(r, "profile", profile);
    return r;
}

mm_err mm_proto_parse_response(const char *line, size_t len, mm_response *out)
{
    memset(out, 0, sizeof(*out));
    out->id = -1;
    out->root = mm_json_parse(line, len);
    if (!cJSON_IsObject(out->root))
        return MM_ERR_BAD_REQUEST;
    double d;
    if (mm_json_num(out->root, "id", &d) && d >= 0 && d <= 9007199254740992.0 && /* 2^53 */
        d == (double)(long long)d)
        out->id = (long)d;
    out->event = mm_json_str(out->root, "event");
    if (out->event)
        return MM_OK;
    out->ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(out->root, "ok"));
    if (out->ok)
        return MM_OK;
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(out->root, "error");
    const char *code = mm_json_str(err, "code");
    if (!code || (out->err = mm_err_from_code(code)) == MM_OK)
        return MM_ERR_BAD_REQUEST; /* a failure must say which */
    out->message = mm_json_str(err, "message");
    if (!out->message)
        out->message = mm_err_describe(out->err);
    return MM_OK;
}

void mm_response_free(mm_response *resp)
{
    cJSON_Delete(resp->root);
    memset(resp, 0, sizeof(*resp));
}
