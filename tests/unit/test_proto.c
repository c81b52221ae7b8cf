/*
 * test_proto.c - the wire codec (common/proto.c) and the error table
 * (common/err.c): request parsing, reply/event encoding, response parsing,
 * error codes and exit statuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mimir/err.h"
#include "mimir/proto.h"

/* ---- helpers ------------------------------------------------------------ */

typedef struct {
    mm_err err;
    mm_request req;
    const char *why;
} parsed;

/* Parse from a heap copy of exactly len bytes, with no terminator after
 * it: under ASan any read past len is caught. */
static parsed parse_n(const char *line, size_t len)
{
    parsed p;
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, line, len);
    p.err = mm_proto_parse_request(copy, len, &p.req, &p.why);
    /* The request must not point into the caller's buffer. */
    memset(copy, 'X', len);
    free(copy);
    return p;
}

static parsed parse(const char *line) { return parse_n(line, strlen(line)); }

static void expect_fail(const char *line, mm_err want)
{
    parsed p = parse(line);
    if (p.err != want)
        fail_msg("%s: expected %s, got %s", line, mm_err_code(want), mm_err_code(p.err));
    assert_non_null(p.why);
    assert_true(strlen(p.why) > 0);
    mm_request_free(&p.req);
}

static char *encode(cJSON *msg, size_t *len)
{
    char *s = mm_proto_encode(msg, len);
    assert_non_null(s);
    cJSON_Delete(msg);
    return s;
}

/* ---- request parsing ---------------------------------------------------- */

static void test_parse_valid(void **state)
{
    (void)state;
    parsed p = parse("{\"v\":1,\"id\":7,\"op\":\"token\",\"profile\":\"work\"}");
    assert_int_equal(p.err, MM_OK);
    assert_null(p.why);
    assert_int_equal(p.req.op, MM_OP_TOKEN);
    assert_string_equal(p.req.op_name, "token");
    assert_non_null(p.req.id);
    assert_true(cJSON_IsNumber(p.req.id));
    assert_int_equal(p.req.id->valueint, 7);
    assert_string_equal(p.req.profile, "work");
    mm_request_free(&p.req);
    assert_null(p.req.root);
}

static void test_parse_every_op(void **state)
{
    (void)state;
    for (int op = 0; op < MM_OP__COUNT; op++) {
        char line[128];
        snprintf(line, sizeof(line), "{\"v\":1,\"op\":\"%s\"}", mm_op_name((mm_op)op));
        parsed p = parse(line);
        assert_int_equal(p.err, MM_OK);
        assert_int_equal(p.req.op, op);
        assert_null(p.req.id);
        assert_null(p.req.profile);
        mm_request_free(&p.req);
    }
}

static void test_parse_crlf(void **state)
{
    (void)state;
    parsed p = parse("{\"v\":1,\"id\":1,\"op\":\"hello\"}\r");
    assert_int_equal(p.err, MM_OK);
    assert_int_equal(p.req.op, MM_OP_HELLO);
    mm_request_free(&p.req);
}

static void test_parse_missing_v(void **state)
{
    (void)state;
    parsed p = parse("{\"id\":3,\"op\":\"token\"}");
    assert_int_equal(p.err, MM_ERR_BAD_REQUEST);
    assert_non_null(strstr(p.why, "\"v\""));
    /* The id is known, so the error reply can be matched. */
    assert_non_null(p.req.id);
    assert_int_equal(p.req.id->valueint, 3);
    mm_request_free(&p.req);
    expect_fail("{\"v\":\"1\",\"op\":\"token\"}", MM_ERR_BAD_REQUEST);
    expect_fail("{\"v\":null,\"op\":\"token\"}", MM_ERR_BAD_REQUEST);
}

static void test_parse_wrong_v(void **state)
{
    (void)state;
    parsed p = parse("{\"v\":2,\"id\":\"x\",\"op\":\"token\"}");
    assert_int_equal(p.err, MM_ERR_UNSUPPORTED_VERSION);
    assert_non_null(p.req.id);
    assert_string_equal(p.req.id->valuestring, "x");
    mm_request_free(&p.req);
    expect_fail("{\"v\":0,\"op\":\"token\"}", MM_ERR_UNSUPPORTED_VERSION);
    expect_fail("{\"v\":1.5,\"op\":\"token\"}", MM_ERR_UNSUPPORTED_VERSION);
}

static void test_parse_missing_op(void **state)
{
    (void)state;
    parsed p = parse("{\"v\":1,\"id\":9}");
    assert_int_equal(p.err, MM_ERR_BAD_REQUEST);
    assert_non_null(strstr(p.why, "\"op\""));
    assert_int_equal(p.req.id->valueint, 9);
    mm_request_free(&p.req);
    expect_fail("{\"v\":1,\"op\":42}", MM_ERR_BAD_REQUEST);
    expect_fail("{\"v\":1,\"op\":null}", MM_ERR_BAD_REQUEST);
    expect_fail("{\"v\":1,\"op\":[\"token\"]}", MM_ERR_BAD_REQUEST);
}

static void test_parse_unknown_op(void **state)
{
    (void)state;
    parsed p = parse("{\"v\":1,\"id\":5,\"op\":\"frobnicate\"}");
    assert_int_equal(p.err, MM_ERR_UNKNOWN_OP);
    assert_int_equal(p.req.op, MM_OP_UNKNOWN);
    assert_string_equal(p.req.op_name, "frobnicate"); /* for the error message */
    assert_int_equal(p.req.id->valueint, 5);
    mm_request_free(&p.req);
    expect_fail("{\"v\":1,\"op\":\"\"}", MM_ERR_UNKNOWN_OP);
    expect_fail("{\"v\":1,\"op\":\"TOKEN\"}", MM_ERR_UNKNOWN_OP); /* case matters */
    expect_fail("{\"v\":1,\"op\":\"unknown\"}", MM_ERR_UNKNOWN_OP);
}

static void test_parse_id(void **state)
{
    (void)state;
    parsed p = parse("{\"v\":1,\"id\":\"req-1\",\"op\":\"hello\"}");
    assert_int_equal(p.err, MM_OK);
    assert_true(cJSON_IsString(p.req.id));
    assert_string_equal(p.req.id->valuestring, "req-1");
    mm_request_free(&p.req);

    p = parse("{\"v\":1,\"id\":123456789,\"op\":\"hello\"}");
    assert_int_equal(p.err, MM_OK);
    assert_true(cJSON_IsNumber(p.req.id));
    assert_true(p.req.id->valuedouble == 123456789.0);
    mm_request_free(&p.req);

    p = parse("{\"v\":1,\"op\":\"hello\"}");
    assert_int_equal(p.err, MM_OK);
    assert_null(p.req.id);
    mm_request_free(&p.req);

    static const char *const bad[] = {
        "{\"v\":1,\"id\":{},\"op\":\"hello\"}", "{\"v\":1,\"id\":[1],\"op\":\"hello\"}",
        "{\"v\":1,\"id\":true,\"op\":\"hello\"}", "{\"v\":1,\"id\":null,\"op\":\"hello\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = parse(bad[i]);
        assert_int_equal(p.err, MM_ERR_BAD_REQUEST);
        assert_null(p.req.id); /* an invalid id is not echoed */
        assert_non_null(strstr(p.why, "\"id\""));
        mm_request_free(&p.req);
    }
}

static void test_parse_profile(void **state)
{
    (void)state;
    expect_fail("{\"v\":1,\"op\":\"token\",\"profile\":\"\"}", MM_ERR_BAD_REQUEST);
    expect_fail("{\"v\":1,\"op\":\"token\",\"profile\":5}", MM_ERR_BAD_REQUEST);
    expect_fail("{\"v\":1,\"op\":\"token\",\"profile\":{}}", MM_ERR_BAD_REQUEST);
    expect_fail("{\"v\":1,\"op\":\"token\",\"profile\":true}", MM_ERR_BAD_REQUEST);
    parsed p = parse("{\"v\":1,\"op\":\"token\",\"profile\":null}");
    assert_int_equal(p.err, MM_OK);
    assert_null(p.req.profile); /* null: the default profile */
    mm_request_free(&p.req);
}

static void test_parse_not_an_object(void **state)
{
    (void)state;
    static const char *const bad[] = {"",     "   ",     "not json", "[1,2]",   "\"str\"",
                                      "42",   "null",    "true",     "{",       "{\"v\":1,",
                                      "{]",   "{\"v\":1 \"op\":\"hello\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        parsed p = parse(bad[i]);
        if (p.err != MM_ERR_BAD_REQUEST)
            fail_msg("'%s': expected bad_request, got %s", bad[i], mm_err_code(p.err));
        assert_null(p.req.id);
        mm_request_free(&p.req);
    }
}

/* The parser is told the length: it must neither need a terminator nor
 * look past len, whatever the buffer holds after it. */
static void test_parse_uses_length(void **state)
{
    (void)state;
    const char full[] = "{\"v\":1,\"id\":1,\"op\":\"token\"}";
    /* Cut short, the same bytes are not a request. */
    for (size_t n = 1; n < sizeof(full) - 1; n++) {
        parsed p = parse_n(full, n);
        assert_int_equal(p.err, MM_ERR_BAD_REQUEST);
        mm_request_free(&p.req);
    }
    /* Exactly the object, no terminator anywhere (parse_n's copy). */
    parsed p = parse_n(full, sizeof(full) - 1);
    assert_int_equal(p.err, MM_OK);
    assert_int_equal(p.req.op, MM_OP_TOKEN);
    mm_request_free(&p.req);

    /* Embedded NUL before the end of the object: what follows the NUL
     * within len is still parsed, nothing after len is. */
    const char nul_then_rest[] = "{\"v\":1,\0\"op\":\"hello\"}";
    p = parse_n(nul_then_rest, 8); /* up to and including the NUL */
    assert_int_equal(p.err, MM_ERR_BAD_REQUEST);
    mm_request_free(&p.req);

    /* A NUL inside a string value does not make "hel" + garbage "hello". */
    const char nul_in_op[] = "{\"v\":1,\"op\":\"hel\0lo\"}";
    p = parse_n(nul_in_op, sizeof(nul_in_op) - 1);
    assert_int_not_equal(p.err, MM_OK);
    mm_request_free(&p.req);
}

/* Bytes after the JSON object, and NULs inside strings (raw or \u0000),
 * are refused: either would make what is checked differ from what is used. */
static void test_parse_rejects_trailing_data(void **state)
{
    (void)state;
    expect_fail("{\"v\":1,\"op\":\"hello\"} trailing", MM_ERR_BAD_REQUEST);
    expect_fail("{\"v\":1,\"op\":\"hello\"}{\"v\":1,\"op\":\"logout\"}", MM_ERR_BAD_REQUEST);
}

static void test_parse_rejects_nul_in_strings(void **state)
{
    (void)state;
    const char raw[] = "{\"v\":1,\"op\":\"hello\0x\"}";
    parsed p = parse_n(raw, sizeof(raw) - 1);
    assert_int_not_equal(p.err, MM_OK);
    mm_request_free(&p.req);
    expect_fail("{\"v\":1,\"op\":\"hello\\u0000x\"}", MM_ERR_BAD_REQUEST);
}

/* cJSON prints numbers with %1.15g; integral ids up to 2^53 must still
 * come back exactly, or the client cannot match its reply. */
static void test_reply_echoes_big_ids_exactly(void **state)
{
    (void)state;
    cJSON *id = cJSON_CreateNumber(9007199254740991.0);
    size_t len;
    char *s = encode(mm_proto_reply_ok(id), &len);
    cJSON_Delete(id);
    int exact = strstr(s, "\"id\":9007199254740991,") != NULL;
    if (!exact)
        fail_msg("2^53-1 echoed as %s", s);
    cJSON_free(s);
}

/* ---- encoding ----------------------------------------------------------- */

static void assert_one_line(const char *s, size_t len)
{
    assert_int_equal(strlen(s), len);
    assert_true(len > 1);
    assert_int_equal(s[len - 1], '\n');
    assert_ptr_equal(strchr(s, '\n'), s + len - 1);
}

static void test_reply_ok(void **state)
{
    (void)state;
    cJSON *id = cJSON_CreateNumber(42);
    cJSON *r = mm_proto_reply_ok(id);
    cJSON_AddStringToObject(r, "token", "line1\nline2"); /* escaped, not a newline */
    size_t len;
    char *s = encode(r, &len);
    assert_one_line(s, len);
    cJSON *back = cJSON_ParseWithLength(s, len - 1);
    assert_non_null(back);
    assert_int_equal(cJSON_GetObjectItem(back, "v")->valueint, MM_PROTO_VERSION);
    assert_int_equal(cJSON_GetObjectItem(back, "id")->valueint, 42);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(back, "ok")));
    assert_string_equal(mm_json_str(back, "token"), "line1\nline2");
    cJSON_Delete(back);
    cJSON_free(s);
    cJSON_Delete(id);
}

static void test_reply_string_id_and_no_id(void **state)
{
    (void)state;
    cJSON *id = cJSON_CreateString("abc");
    size_t len;
    char *s = encode(mm_proto_reply_ok(id), &len);
    assert_non_null(strstr(s, "\"id\":\"abc\""));
    cJSON_free(s);
    cJSON_Delete(id);

    s = encode(mm_proto_reply_ok(NULL), &len);
    assert_one_line(s, len);
    assert_null(strstr(s, "\"id\""));
    cJSON_free(s);

    /* Numeric ids come back as the same number, whatever their size. */
    static const double ids[] = {0, 1, -5, 2.5, 123456789012.0, 999999999999999.0, 1e15,
                                 -1e15, 1e17, 1e300, -1e300};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        id = cJSON_CreateNumber(ids[i]);
        s = encode(mm_proto_reply_ok(id), &len);
        assert_one_line(s, len);
        cJSON *back = cJSON_Parse(s);
        assert_non_null(back);
        const cJSON *got = cJSON_GetObjectItem(back, "id");
        if (!cJSON_IsNumber(got) || got->valuedouble != ids[i])
            fail_msg("id %g echoed as %s", ids[i], s);
        cJSON_Delete(back);
        cJSON_free(s);
        cJSON_Delete(id);
    }
}

static void test_reply_err(void **state)
{
    (void)state;
    cJSON *id = cJSON_CreateNumber(3);
    size_t len;
    char *s = encode(mm_proto_reply_err(id, MM_ERR_LOGIN_REQUIRED, "run login"), &len);
    assert_one_line(s, len);
    cJSON *back = cJSON_ParseWithLength(s, len);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(back, "ok")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(back, "ok")));
    assert_int_equal(cJSON_GetObjectItem(back, "id")->valueint, 3);
    cJSON *err = cJSON_GetObjectItem(back, "error");
    assert_string_equal(mm_json_str(err, "code"), "login_required");
    assert_string_equal(mm_json_str(err, "message"), "run login");
    cJSON_Delete(back);
    cJSON_free(s);

    /* No message: the table's description. */
    s = encode(mm_proto_reply_err(id, MM_ERR_TIMEOUT, NULL), &len);
    back = cJSON_Parse(s);
    err = cJSON_GetObjectItem(back, "error");
    assert_string_equal(mm_json_str(err, "code"), "timeout");
    assert_string_equal(mm_json_str(err, "message"), mm_err_describe(MM_ERR_TIMEOUT));
    cJSON_Delete(back);
    cJSON_free(s);
    cJSON_Delete(id);
}

static void test_event(void **state)
{
    (void)state;
    cJSON *ev = mm_proto_event("state");
    cJSON_AddStringToObject(ev, "profile", "work");
    size_t len;
    char *s = encode(ev, &len);
    assert_one_line(s, len);
    cJSON *back = cJSON_Parse(s);
    assert_string_equal(mm_json_str(back, "event"), "state");
    assert_null(cJSON_GetObjectItem(back, "id"));
    assert_null(cJSON_GetObjectItem(back, "ok"));
    cJSON_Delete(back);

    mm_response r;
    assert_int_equal(mm_proto_parse_response(s, len - 1, &r), MM_OK);
    assert_string_equal(r.event, "state");
    assert_int_equal(r.id, -1);
    mm_response_free(&r);
    cJSON_free(s);
}

static void test_request_builder_roundtrip(void **state)
{
    (void)state;
    size_t len;
    char *s = encode(mm_proto_request(MM_OP_HEADERS, 17, "work"), &len);
    assert_one_line(s, len);
    parsed p = parse_n(s, len - 1);
    assert_int_equal(p.err, MM_OK);
    assert_int_equal(p.req.op, MM_OP_HEADERS);
    assert_int_equal(p.req.id->valueint, 17);
    assert_string_equal(p.req.profile, "work");
    mm_request_free(&p.req);
    cJSON_free(s);

    s = encode(mm_proto_request(MM_OP_STATUS, 1, NULL), &len);
    assert_null(strstr(s, "profile"));
    cJSON_free(s);
}

/* ---- response parsing --------------------------------------------------- */

static void test_response_ok(void **state)
{
    (void)state;
    const char *l = "{\"v\":1,\"id\":12,\"ok\":true,\"token\":\"abc\"}";
    mm_response r;
    assert_int_equal(mm_proto_parse_response(l, strlen(l), &r), MM_OK);
    assert_true(r.ok);
    assert_int_equal(r.id, 12);
    assert_int_equal(r.err, MM_OK);
    assert_null(r.event);
    assert_null(r.message);
    assert_string_equal(mm_json_str(r.root, "token"), "abc");
    mm_response_free(&r);
    assert_null(r.root);
}

static void test_response_errors(void **state)
{
    (void)state;
    for (int e = 1; e < MM_ERR__COUNT; e++) {
        char l[256];
        snprintf(l, sizeof(l),
                 "{\"v\":1,\"id\":%d,\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":\"m%d\"}}",
                 e, mm_err_code((mm_err)e), e);
        mm_response r;
        assert_int_equal(mm_proto_parse_response(l, strlen(l), &r), MM_OK);
        assert_false(r.ok);
        assert_int_equal(r.id, e);
        assert_int_equal(r.err, e);
        char want[16];
        snprintf(want, sizeof(want), "m%d", e);
        assert_string_equal(r.message, want);
        mm_response_free(&r);
    }
    /* An unknown code from a newer agent: internal; no message: description. */
    const char *l = "{\"v\":1,\"id\":1,\"ok\":false,\"error\":{\"code\":\"brand_new\"}}";
    mm_response r;
    assert_int_equal(mm_proto_parse_response(l, strlen(l), &r), MM_OK);
    assert_int_equal(r.err, MM_ERR_INTERNAL);
    assert_string_equal(r.message, mm_err_describe(MM_ERR_INTERNAL));
    mm_response_free(&r);
    /* Not ok and no error code: malformed. */
    l = "{\"v\":1,\"id\":1,\"ok\":false}";
    assert_int_equal(mm_proto_parse_response(l, strlen(l), &r), MM_ERR_BAD_REQUEST);
    mm_response_free(&r);
    l = "{\"v\":1,\"id\":1,\"ok\":false,\"error\":{\"code\":7}}";
    assert_int_equal(mm_proto_parse_response(l, strlen(l), &r), MM_ERR_BAD_REQUEST);
    mm_response_free(&r);
}

static void test_response_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "garbage", "[1]", "\"ok\"", "{\"ok\":true"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mm_response r;
        assert_int_equal(mm_proto_parse_response(bad[i], strlen(bad[i]), &r),
                         MM_ERR_BAD_REQUEST);
        mm_response_free(&r);
    }
    /* Ids that are not integers read as -1; "ok" must be true, not truthy. */
    const char *l = "{\"id\":\"seven\",\"ok\":1}";
    mm_response r;
    assert_int_equal(mm_proto_parse_response(l, strlen(l), &r), MM_ERR_BAD_REQUEST);
    assert_int_equal(r.id, -1);
    mm_response_free(&r);
}

/* Ids no integer holds, or no number at all, and text that is not UTF-8:
 * found by fuzzing (a float-to-integer overflow in the reply parser) and by
 * review (invalid UTF-8 stored and echoed, -1e400 echoed as null). */
static void test_hostile_numbers_and_text(void **state)
{
    (void)state;
    static const char *const ids[] = {"555555500140689555555070", "-1e400", "1e400",
                                      "1e17", "-1", "0.5"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char l[128];
        snprintf(l, sizeof(l), "{\"v\":1,\"id\":%s,\"ok\":true}", ids[i]);
        mm_response r;
        assert_int_equal(mm_proto_parse_response(l, strlen(l), &r), MM_OK);
        assert_int_equal(r.id, -1); /* not an id this client sent */
        mm_response_free(&r);
    }
    expect_fail("{\"v\":1,\"id\":-1e400,\"op\":\"hello\"}", MM_ERR_BAD_REQUEST);
    /* a fractional id comes back as exactly itself, never as another number */
    parsed q = parse("{\"v\":1,\"id\":455055550014068.955559,\"op\":\"hello\"}");
    assert_int_equal(q.err, MM_OK);
    size_t len;
    char *line = encode(mm_proto_reply_ok(q.req.id), &len);
    cJSON *back = cJSON_Parse(line);
    assert_true(cJSON_GetObjectItem(back, "id")->valuedouble == q.req.id->valuedouble);
    cJSON_Delete(back);
    cJSON_free(line);
    mm_request_free(&q.req);
    /* raw control characters are not JSON; a failure must name its code */
    expect_fail("{\"v\":1,\"op\":\"hello\",\"x\":\"a\x01b\"}", MM_ERR_BAD_REQUEST);
    const char *okerr = "{\"v\":1,\"ok\":false,\"error\":{\"code\":\"ok\"}}";
    mm_response rr;
    assert_int_equal(mm_proto_parse_response(okerr, strlen(okerr), &rr), MM_ERR_BAD_REQUEST);
    mm_response_free(&rr);
    expect_fail("{\"v\":1,\"id\":1e400,\"op\":\"hello\"}", MM_ERR_BAD_REQUEST);
    static const char *const text[] = {
        "{\"v\":1,\"op\":\"hello\",\"x\":\"\xff\"}",          /* not UTF-8 at all */
        "{\"v\":1,\"op\":\"hello\",\"x\":\"\xc0\xaf\"}",      /* overlong '/' */
        "{\"v\":1,\"op\":\"hello\",\"x\":\"\xed\xa0\x80\"}",  /* a surrogate */
        "{\"v\":1,\"op\":\"hello\",\"x\":\"\xf4\x90\x80\x80\"}", /* > U+10FFFF */
        "{\"v\":1,\"op\":\"hello\",\"x\":\"\xe2\x82\"}",      /* truncated */
    };
    for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
        expect_fail(text[i], MM_ERR_BAD_REQUEST);
    parsed p = parse("{\"v\":1,\"op\":\"hello\",\"x\":\"caf\xc3\xa9 \xf0\x9f\x94\x91\"}");
    assert_int_equal(p.err, MM_OK); /* real UTF-8 is fine */
    mm_request_free(&p.req);
}

/* ---- the error table ---------------------------------------------------- */

static void test_err_codes_distinct_and_roundtrip(void **state)
{
    (void)state;
    for (int a = 0; a < MM_ERR__COUNT; a++) {
        const char *ca = mm_err_code((mm_err)a);
        assert_non_null(ca);
        assert_true(strlen(ca) > 0);
        for (const char *p = ca; *p; p++) /* snake_case wire codes */
            assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
        assert_true(strlen(mm_err_describe((mm_err)a)) > 0);
        assert_int_equal(mm_err_from_code(ca), a);
        for (int b = a + 1; b < MM_ERR__COUNT; b++)
            if (strcmp(ca, mm_err_code((mm_err)b)) == 0)
                fail_msg("errors %d and %d share the code %s", a, b, ca);
    }
    assert_string_equal(mm_err_code(MM_OK), "ok");
    assert_string_equal(mm_err_code(MM_ERR_LOGIN_REQUIRED), "login_required");
    assert_string_equal(mm_err_code(MM_ERR_TOO_LARGE), "too_large");
    assert_string_equal(mm_err_code(MM_ERR_PERMISSION_DENIED), "permission_denied");
    assert_string_equal(mm_err_code(MM_ERR_STORE_UNAVAILABLE), "store_unavailable");
    assert_int_equal(mm_err_from_code(NULL), MM_ERR_INTERNAL);
    assert_int_equal(mm_err_from_code("no_such_code"), MM_ERR_INTERNAL);
    assert_int_equal(mm_err_from_code(""), MM_ERR_INTERNAL);
    assert_string_equal(mm_err_code((mm_err)-1), "internal");
    assert_string_equal(mm_err_code(MM_ERR__COUNT), "internal");
    assert_int_equal(mm_err_exit_status(MM_ERR__COUNT), MM_EXIT_FAILURE);
}

static void test_exit_statuses(void **state)
{
    (void)state;
    assert_int_equal(mm_err_exit_status(MM_OK), 0);
    assert_int_equal(mm_err_exit_status(MM_ERR_USAGE), 2);
    assert_int_equal(mm_err_exit_status(MM_ERR_AGENT_UNREACHABLE), 3);
    assert_int_equal(mm_err_exit_status(MM_ERR_LOGIN_REQUIRED), 4);
    assert_int_equal(mm_err_exit_status(MM_ERR_NETWORK), 5);
    assert_int_equal(mm_err_exit_status(MM_ERR_IDP), 5);
    assert_int_equal(mm_err_exit_status(MM_ERR_TLS), 5);
    assert_int_equal(mm_err_exit_status(MM_ERR_ACCESS_DENIED), 5);
    assert_int_equal(mm_err_exit_status(MM_ERR_TIMEOUT), 6);
    assert_int_equal(mm_err_exit_status(MM_ERR_BAD_REQUEST), 1);
    assert_int_equal(mm_err_exit_status(MM_ERR_UNKNOWN_PROFILE), 1);
    assert_int_equal(mm_err_exit_status(MM_ERR_STORE_UNAVAILABLE), 1);
    assert_int_equal(mm_err_exit_status(MM_ERR_CONFIG), 1);
    assert_int_equal(mm_err_exit_status(MM_ERR_PERMISSION_DENIED), 1);
    for (int e = 0; e < MM_ERR__COUNT; e++) {
        int s = mm_err_exit_status((mm_err)e);
        assert_true(s >= 0 && s <= 6);
        assert_true((s == 0) == (e == MM_OK));
    }
}

static void test_op_names(void **state)
{
    (void)state;
    for (int op = 0; op < MM_OP__COUNT; op++) {
        const char *n = mm_op_name((mm_op)op);
        assert_non_null(n);
        assert_int_equal(mm_op_from_name(n), op);
    }
    assert_string_equal(mm_op_name(MM_OP_SET_API_KEY), "set_api_key");
    assert_string_equal(mm_op_name(MM_OP_LOGIN_WAIT), "login_wait");
    assert_string_equal(mm_op_name(MM_OP_UNKNOWN), "unknown");
    assert_string_equal(mm_op_name(MM_OP__COUNT), "unknown");
    assert_int_equal(mm_op_from_name("nope"), MM_OP_UNKNOWN);
}

static void test_json_accessors(void **state)
{
    (void)state;
    cJSON *o = cJSON_Parse("{\"s\":\"x\",\"n\":2.5,\"b\":true}");
    double d = 0;
    assert_string_equal(mm_json_str(o, "s"), "x");
    assert_null(mm_json_str(o, "n"));
    assert_null(mm_json_str(o, "missing"));
    assert_null(mm_json_str(NULL, "s"));
    assert_true(mm_json_num(o, "n", &d));
    assert_true(d == 2.5);
    assert_false(mm_json_num(o, "s", &d));
    assert_false(mm_json_num(o, "b", &d));
    assert_false(mm_json_num(o, "missing", &d));
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_every_op),
        cmocka_unit_test(test_parse_crlf),
        cmocka_unit_test(test_parse_missing_v),
        cmocka_unit_test(test_parse_wrong_v),
        cmocka_unit_test(test_parse_missing_op),
        cmocka_unit_test(test_parse_unknown_op),
        cmocka_unit_test(test_parse_id),
        cmocka_unit_test(test_parse_profile),
        cmocka_unit_test(test_parse_not_an_object),
        cmocka_unit_test(test_parse_uses_length),
        cmocka_unit_test(test_parse_rejects_trailing_data),
        cmocka_unit_test(test_parse_rejects_nul_in_strings),
        cmocka_unit_test(test_reply_echoes_big_ids_exactly),
        cmocka_unit_test(test_reply_ok),
        cmocka_unit_test(test_reply_string_id_and_no_id),
        cmocka_unit_test(test_reply_err),
        cmocka_unit_test(test_event),
        cmocka_unit_test(test_request_builder_roundtrip),
        cmocka_unit_test(test_response_ok),
        cmocka_unit_test(test_response_errors),
        cmocka_unit_test(test_response_malformed),
        cmocka_unit_test(test_hostile_numbers_and_text),
        cmocka_unit_test(test_err_codes_distinct_and_roundtrip),
        cmocka_unit_test(test_exit_statuses),
        cmocka_unit_test(test_op_names),
        cmocka_unit_test(test_json_accessors),
    };
    return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
