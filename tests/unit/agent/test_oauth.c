/* test_oauth.c - the IdP's answers as agent/oauth.c reads them: OAuth error
 * codes, token responses (lifetimes, token texts), device authorization. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "oauth.h"
#include "policy.h"

static mm_http_resp resp(long status, const char *body)
{
    return (mm_http_resp){.status = status, .body = (char *)body, .len = strlen(body)};
}

static mm_err token(long status, const char *body, mm_tokens *t)
{
    char why[512];
    mm_http_resp r = resp(status, body);
    return mm_oauth_parse_token(&r, 1000, t, why, sizeof(why));
}

static void test_error_codes(void **state)
{
    (void)state;
    assert_int_equal(mm_oauth_error_from_string("invalid_grant"), MM_OAUTH_ERR_INVALID_GRANT);
    assert_int_equal(mm_oauth_error_from_string("access_denied"), MM_OAUTH_ERR_ACCESS_DENIED);
    assert_int_equal(mm_oauth_error_from_string("expired_token"), MM_OAUTH_ERR_EXPIRED_TOKEN);
    assert_int_equal(mm_oauth_error_from_string("authorization_pending"),
                     MM_OAUTH_ERR_AUTHORIZATION_PENDING);
    assert_int_equal(mm_oauth_error_from_string("slow_down"), MM_OAUTH_ERR_SLOW_DOWN);
    assert_int_equal(mm_oauth_error_from_string("invalid_grantx"), MM_OAUTH_ERR_OTHER);
    assert_int_equal(mm_oauth_error_from_string("a"), MM_OAUTH_ERR_OTHER);
    assert_int_equal(mm_oauth_error_from_string(NULL), MM_OAUTH_ERR_NONE);

    mm_tokens t;
    assert_int_equal(token(400, "{\"error\":\"invalid_grant\"}", &t), MM_ERR_IDP);
    assert_int_equal(t.error, MM_OAUTH_ERR_INVALID_GRANT);
    /* a 5xx is retryable whatever it says */
    assert_int_equal(token(503, "{\"error\":\"invalid_grant\"}", &t), MM_ERR_IDP);
    assert_int_equal(t.error, MM_OAUTH_ERR_NONE);
    assert_int_equal(token(200, "<html>", &t), MM_ERR_IDP);
    assert_int_equal(t.error, MM_OAUTH_ERR_NONE);
}

static void test_lifetimes(void **state)
{
    (void)state;
    mm_tokens t;
    static const struct {
        const char *expires_in;
        int64_t life; /* -1: refused */
    } cases[] = {
        {"3600", 3600}, {"0.5", 1}, {"1e19", MM_POLICY_LIFETIME_MAX},
        {"1e300", MM_POLICY_LIFETIME_MAX}, {"0", -1}, {"-5", -1}, {"\"3600\"", -1},
        {"1e400", -1}, /* cJSON reads it as infinity */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[200];
        snprintf(body, sizeof(body), "{\"access_token\":\"at\",\"token_type\":\"Bearer\","
                 "\"expires_in\":%s}", cases[i].expires_in);
        mm_err e = token(200, body, &t);
        if (cases[i].life < 0) {
            assert_int_equal(e, MM_ERR_IDP);
            continue;
        }
        assert_int_equal(e, MM_OK);
        assert_int_equal(t.issued_at, 1000);
        assert_int_equal(t.expires_at, 1000 + cases[i].life);
        mm_tokens_free(&t);
    }
    /* absent: an hour (RFC 6749 5.1) */
    assert_int_equal(token(200, "{\"access_token\":\"at\",\"token_type\":\"bearer\"}", &t), MM_OK);
    assert_int_equal(t.expires_at, 1000 + 3600);
    mm_tokens_free(&t);
}

static void test_token_texts(void **state)
{
    (void)state;
    mm_tokens t;
    /* CR/LF in an access token would inject a header into `mimir-helper header` */
    assert_int_equal(token(200, "{\"access_token\":\"a\\r\\nX-Evil: 1\",\"token_type\":\"Bearer\"}",
                           &t), MM_ERR_IDP);
    assert_int_equal(token(200, "{\"access_token\":\"a b\",\"token_type\":\"Bearer\"}", &t),
                     MM_ERR_IDP);
    assert_int_equal(token(200, "{\"access_token\":\"\",\"token_type\":\"Bearer\"}", &t),
                     MM_ERR_IDP);
    assert_int_equal(token(200, "{\"access_token\":\"abc\",\"token_type\":\"mac\"}", &t),
                     MM_ERR_IDP);
    assert_int_equal(token(200, "{\"access_token\":\"abc\",\"token_type\":\"Bearer\","
                                "\"refresh_token\":\"r\",\"scope\":\"openid\"}", &t), MM_OK);
    assert_string_equal(t.access->data, "abc");
    assert_string_equal(t.refresh->data, "r");
    assert_string_equal(t.scope, "openid");
    mm_tokens_free(&t);
}

static void test_device(void **state)
{
    (void)state;
    char why[512];
    mm_device_auth d;
    mm_http_resp r = resp(200, "{\"device_code\":\"dc\",\"user_code\":\"AB\\u001bCD\","
                               "\"verification_uri\":\"https://id.example/device\","
                               "\"expires_in\":1e300,\"interval\":1e300}");
    assert_int_equal(mm_oauth_parse_device(&r, &d, why, sizeof(why)), MM_OK);
    assert_string_equal(d.user_code, "AB?CD"); /* no terminal escapes */
    assert_int_equal(d.interval, 5);
    assert_true(d.expires_at > 0);
    mm_device_auth_free(&d);
    r = resp(200, "{\"device_code\":\"dc\",\"user_code\":\"AB\","
                  "\"verification_uri\":\"http://evil.example/device\"}");
    assert_int_equal(mm_oauth_parse_device(&r, &d, why, sizeof(why)), MM_ERR_INSECURE_ISSUER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_lifetimes),
        cmocka_unit_test(test_token_texts),
        cmocka_unit_test(test_device),
    };
    if (mm_secret_init() != MM_OK) /* guarded memory for the tokens */
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
