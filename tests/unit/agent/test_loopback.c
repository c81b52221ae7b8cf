/* test_loopback.c - the redirect listener's request parsing (agent/loopback.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "loopback.h"

static mm_lb_kind parse(const char *text, char *buf, size_t len, mm_callback *cb)
{
    snprintf(buf, len, "%s", text);
    return mm_loopback_parse(buf, cb);
}

static void test_callback(void **state)
{
    (void)state;
    char buf[512];
    mm_callback cb;
    assert_int_equal(parse("GET /callback?code=abc%2Fd&state=s+t&iss=http%3A%2F%2Fi HTTP/1.1\r\n"
                           "Host: 127.0.0.1\r\n\r\n", buf, sizeof(buf), &cb),
                     MM_LB_CALLBACK);
    assert_string_equal(cb.code, "abc/d");
    assert_string_equal(cb.state, "s t");
    assert_string_equal(cb.iss, "http://i");
    assert_null(cb.error);
    assert_int_equal(parse("GET /callback?error=access_denied&error_description=%3Cb%3Eno"
                           "&state=x HTTP/1.1\r\n\r\n", buf, sizeof(buf), &cb),
                     MM_LB_CALLBACK);
    assert_string_equal(cb.error, "access_denied");
    assert_string_equal(cb.error_description, "<b>no"); /* escaped when shown, not here */
    /* unknown parameters and ones without a value are ignored */
    assert_int_equal(parse("GET /callback?x=1&flag&code=c HTTP/1.0\r\n\r\n", buf, sizeof(buf),
                           &cb), MM_LB_CALLBACK);
    assert_string_equal(cb.code, "c");
}

static void test_refused(void **state)
{
    (void)state;
    char buf[512];
    mm_callback cb;
    assert_int_equal(parse("POST /callback?code=a HTTP/1.1\r\n\r\n", buf, sizeof(buf), &cb),
                     MM_LB_BAD);
    assert_int_equal(parse("GET\r\n\r\n", buf, sizeof(buf), &cb), MM_LB_BAD);
    assert_int_equal(parse("", buf, sizeof(buf), &cb), MM_LB_BAD);
    assert_int_equal(parse("GET /favicon.ico HTTP/1.1\r\n\r\n", buf, sizeof(buf), &cb),
                     MM_LB_NOT_FOUND);
    assert_int_equal(parse("GET /callbackx?code=a HTTP/1.1\r\n\r\n", buf, sizeof(buf), &cb),
                     MM_LB_NOT_FOUND);
    /* a repeated parameter is ambiguous: which code, which state? */
    assert_int_equal(parse("GET /callback?code=a&code=b HTTP/1.1\r\n\r\n", buf, sizeof(buf), &cb),
                     MM_LB_INVALID);
    assert_null(cb.code);
    assert_int_equal(parse("GET /callback?state=a&state=a HTTP/1.1\r\n\r\n", buf, sizeof(buf),
                           &cb), MM_LB_INVALID);
    assert_int_equal(parse("GET /callback HTTP/1.1\r\n\r\n", buf, sizeof(buf), &cb),
                     MM_LB_INVALID);
}

static void test_decoding_edges(void **state)
{
    (void)state;
    char buf[512];
    mm_callback cb;
    /* truncated or bad escapes stay as they are; an encoded NUL is refused */
    assert_int_equal(parse("GET /callback?code=a%2&state=%zz%4 HTTP/1.1\r\n\r\n", buf,
                           sizeof(buf), &cb), MM_LB_CALLBACK);
    assert_string_equal(cb.code, "a%2");
    assert_string_equal(cb.state, "%zz%4");
    assert_int_equal(parse("GET /callback?code=a%00b HTTP/1.1\r\n\r\n", buf, sizeof(buf), &cb),
                     MM_LB_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_callback),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_decoding_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
