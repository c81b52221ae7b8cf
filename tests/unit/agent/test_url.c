/* test_url.c - which URLs may carry credentials (runtime/http.c,
 * mm_url_check_secure), judged on the host curl will really connect to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http.h"

static mm_err check(const char *url)
{
    char why[512];
    return mm_url_check_secure(url, why, sizeof(why));
}

static void test_allowed(void **state)
{
    (void)state;
    assert_int_equal(check("https://id.example.com/"), MM_OK);
    assert_int_equal(check("https://id.example.com:8443/realms/x?y=1#z"), MM_OK);
    assert_int_equal(check("HTTPS://ID.EXAMPLE.COM/"), MM_OK);
    assert_int_equal(check("http://127.0.0.1:8080/token"), MM_OK);
    assert_int_equal(check("http://127.1.2.3/"), MM_OK);
    assert_int_equal(check("http://localhost:9042/mcp"), MM_OK);
    assert_int_equal(check("http://[::1]:9042/mcp"), MM_OK);
}

static void test_refused(void **state)
{
    (void)state;
    /* userinfo disguising the host: curl would connect to evil.example */
    assert_int_equal(check("http://127.0.0.1:1@evil.example/token"), MM_ERR_INSECURE_ISSUER);
    assert_int_equal(check("http://localhost@evil.example/"), MM_ERR_INSECURE_ISSUER);
    assert_int_equal(check("https://user:pw@id.example.com/"), MM_ERR_INSECURE_ISSUER);
    /* names that only look like loopback */
    assert_int_equal(check("http://127.0.0.1.evil.example/"), MM_ERR_INSECURE_ISSUER);
    assert_int_equal(check("http://localhost.evil.example/"), MM_ERR_INSECURE_ISSUER);
    assert_int_equal(check("http://id.example.com/"), MM_ERR_INSECURE_ISSUER);
    assert_int_equal(check("http://[::2]/"), MM_ERR_INSECURE_ISSUER);
    assert_int_equal(check("ftp://127.0.0.1/"), MM_ERR_INSECURE_ISSUER);
    assert_int_equal(check("file:///etc/passwd"), MM_ERR_INSECURE_ISSUER);
    assert_int_equal(check("/relative/path"), MM_ERR_INSECURE_ISSUER);
    assert_int_equal(check(""), MM_ERR_INSECURE_ISSUER);
    assert_int_equal(check("https://"), MM_ERR_INSECURE_ISSUER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allowed),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
