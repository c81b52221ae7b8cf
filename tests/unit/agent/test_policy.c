/* test_policy.c - the agent's pure decisions (agent/policy.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#define NOW 1800000000LL

static mm_token_view oauth(mm_pstate s, int cred, int64_t exp_in)
{
    return (mm_token_view){.kind = MM_KIND_OAUTH, .state = s, .has_cred = cred,
                           .has_access = exp_in != INT64_MIN, .access_exp = NOW + exp_in,
                           .now = NOW};
}

static void expect(mm_token_view v, mm_token_action a, mm_token_why why)
{
    mm_token_decision d = mm_policy_token(&v);
    assert_int_equal(d.action, a);
    if (a == MM_TOKEN_FAIL)
        assert_int_equal(d.why, why);
}

static void test_fresh_tokens_are_served(void **state)
{
    (void)state;
    expect(oauth(MM_PS_READY, 1, 600), MM_TOKEN_SERVE, 0);
    /* even while a refresh runs or fails: nobody waits for an early refresh */
    expect(oauth(MM_PS_REFRESHING, 1, 600), MM_TOKEN_SERVE, 0);
    expect(oauth(MM_PS_RETRYING, 1, 600), MM_TOKEN_SERVE, 0);
    /* a login in progress does not take away a token that still works */
    expect(oauth(MM_PS_LOGGING_IN, 1, 600), MM_TOKEN_SERVE, 0);
}

static void test_min_ttl(void **state)
{
    (void)state;
    mm_token_view v = oauth(MM_PS_READY, 1, 600);
    v.min_ttl = 599;
    expect(v, MM_TOKEN_SERVE, 0);
    v.min_ttl = 600; /* more life than is left: refresh first */
    expect(v, MM_TOKEN_REFRESH, 0);
    v.state = MM_PS_REFRESHING;
    expect(v, MM_TOKEN_WAIT, 0);
    /* after one refresh the request takes what it brought */
    v.state = MM_PS_READY;
    v.refreshed = 1;
    expect(v, MM_TOKEN_SERVE, 0);
    /* without a refresh token nothing can do better: serve the best there is */
    v = oauth(MM_PS_READY, 0, 600);
    v.min_ttl = 3600;
    expect(v, MM_TOKEN_SERVE, 0);
}

static void test_expired_and_missing(void **state)
{
    (void)state;
    expect(oauth(MM_PS_READY, 1, -1), MM_TOKEN_REFRESH, 0);
    expect(oauth(MM_PS_READY, 1, INT64_MIN), MM_TOKEN_REFRESH, 0); /* loaded: no access yet */
    expect(oauth(MM_PS_LOADING, 0, INT64_MIN), MM_TOKEN_WAIT, 0);
    expect(oauth(MM_PS_LOGIN_REQUIRED, 0, INT64_MIN), MM_TOKEN_FAIL, MM_WHY_NO_CREDENTIAL);
    expect(oauth(MM_PS_READY, 0, -1), MM_TOKEN_FAIL, MM_WHY_NO_CREDENTIAL);
    expect(oauth(MM_PS_LOGGING_IN, 0, INT64_MIN), MM_TOKEN_FAIL, MM_WHY_LOGGING_IN);
    expect(oauth(MM_PS_STORE_ERROR, 0, INT64_MIN), MM_TOKEN_FAIL, MM_WHY_LAST_ERROR);
    /* backing off: the old token while valid, else bring the attempt forward */
    expect(oauth(MM_PS_RETRYING, 1, 5), MM_TOKEN_SERVE, 0);
    expect(oauth(MM_PS_RETRYING, 1, -1), MM_TOKEN_REFRESH, 0);
    /* a request that already waited through a refresh is not queued again */
    mm_token_view v = oauth(MM_PS_RETRYING, 1, -1);
    v.refreshed = 1;
    expect(v, MM_TOKEN_FAIL, MM_WHY_LAST_ERROR);
}

static void test_rejected(void **state)
{
    (void)state;
    mm_token_view v = oauth(MM_PS_READY, 1, 600);
    v.rejected = 1; /* fresh to us, refused by the server: renew at once */
    expect(v, MM_TOKEN_REFRESH, 0);
    v.state = MM_PS_RETRYING;
    expect(v, MM_TOKEN_REFRESH, 0); /* never the refused token again */
    v = oauth(MM_PS_READY, 0, 600);
    v.rejected = 1;
    expect(v, MM_TOKEN_FAIL, MM_WHY_REFUSED);
    v = (mm_token_view){.kind = MM_KIND_API_KEY, .state = MM_PS_READY, .has_cred = 1,
                        .rejected = 1};
    expect(v, MM_TOKEN_FAIL, MM_WHY_REFUSED);
}

static void test_static_kinds(void **state)
{
    (void)state;
    mm_token_view v = {.kind = MM_KIND_API_KEY, .state = MM_PS_READY, .has_cred = 1};
    expect(v, MM_TOKEN_SERVE, 0);
    v.has_cred = 0;
    expect(v, MM_TOKEN_FAIL, MM_WHY_NO_CREDENTIAL);
    v.state = MM_PS_LOADING;
    expect(v, MM_TOKEN_WAIT, 0);
    v = (mm_token_view){.kind = MM_KIND_NONE, .state = MM_PS_READY};
    expect(v, MM_TOKEN_SERVE, 0);
}

static void test_lifetime(void **state)
{
    (void)state;
    assert_int_equal(mm_policy_lifetime(3600), 3600);
    assert_int_equal(mm_policy_lifetime(0.5), MM_POLICY_LIFETIME_MIN);
    assert_int_equal(mm_policy_lifetime(1e19), MM_POLICY_LIFETIME_MAX);
    assert_int_equal(mm_policy_lifetime(1e300), MM_POLICY_LIFETIME_MAX);
    assert_int_equal(mm_policy_lifetime(INFINITY), -1);
    assert_int_equal(mm_policy_lifetime(NAN), -1);
    assert_int_equal(mm_policy_lifetime(0), -1);
    assert_int_equal(mm_policy_lifetime(-5), -1);
}

static void test_schedule(void **state)
{
    (void)state;
    /* 75% of a 3 s token, in milliseconds (whole seconds would say 2 s) */
    assert_int_equal(mm_policy_refresh_at_ms(NOW, NOW + 3), NOW * 1000 + 2250);
    assert_int_equal(mm_policy_refresh_at_ms(NOW, NOW + MM_POLICY_LIFETIME_MAX),
                     NOW * 1000 + MM_POLICY_LIFETIME_MAX * 750);
    assert_int_equal(mm_policy_refresh_at_ms(NOW, NOW), NOW * 1000);
    /* due in 5 s, never attempted */
    assert_int_equal(mm_policy_refresh_delay_ms(10000, 5000, 0, 777), 5000);
    /* overdue: now */
    assert_int_equal(mm_policy_refresh_delay_ms(1000, 5000, 0, 777), 0);
    /* due now, but the last attempt began 500 ms ago: the spacing decides */
    assert_int_equal(mm_policy_refresh_delay_ms(1000, 5000, 10000, 10500),
                     MM_POLICY_REFRESH_SPACING_MS - 500);
    /* a token that lives 1 s cannot make refresh spin: one attempt per spacing */
    int64_t due = mm_policy_refresh_at_ms(NOW, NOW + mm_policy_lifetime(0.5));
    assert_true(mm_policy_refresh_delay_ms(due, NOW * 1000, 1000, 1000) >=
                MM_POLICY_REFRESH_SPACING_MS);
}

static void test_attempt_timeout_and_backoff(void **state)
{
    (void)state;
    assert_int_equal(mm_policy_attempt_timeout_ms(60000, 0, 15000), 15000);
    assert_int_equal(mm_policy_attempt_timeout_ms(8000, 0, 15000), 8000);
    assert_int_equal(mm_policy_attempt_timeout_ms(1000, 0, 15000), MM_POLICY_ATTEMPT_FLOOR_MS);
    assert_int_equal(mm_policy_attempt_timeout_ms(0, 5000, 15000), MM_POLICY_ATTEMPT_FLOOR_MS);
    assert_int_equal(mm_policy_attempt_timeout_ms(0, 5000, 2000), 2000);
    assert_int_equal(mm_policy_backoff_ms(0, 0), 1000);
    assert_int_equal(mm_policy_backoff_ms(3, 0), 8000);
    assert_int_equal(mm_policy_backoff_ms(50, 0), 60000);
    assert_int_equal(mm_policy_backoff_ms(2, 1), 6000);
    assert_int_equal(mm_policy_backoff_ms(-1, 0), 1000);
}

static void test_credentials(void **state)
{
    (void)state;
    assert_true(mm_policy_credential_ok("abc.DEF-123_~+/"));
    assert_true(mm_policy_credential_ok("eyJhbGciOi.eyJzdWIiOi.c2ln=="));
    assert_false(mm_policy_credential_ok(""));
    assert_false(mm_policy_credential_ok("=="));
    assert_false(mm_policy_credential_ok("abc\r\nX-Injected: 1"));
    assert_false(mm_policy_credential_ok("abc def"));
    assert_false(mm_policy_credential_ok("abc=def"));
    assert_false(mm_policy_credential_ok("\"quoted\""));
    assert_false(mm_policy_credential_ok("caf\xc3\xa9"));
    char big[MM_POLICY_CREDENTIAL_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_false(mm_policy_credential_ok(big));
    big[MM_POLICY_CREDENTIAL_MAX] = '\0';
    assert_true(mm_policy_credential_ok(big));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_tokens_are_served),
        cmocka_unit_test(test_min_ttl),
        cmocka_unit_test(test_expired_and_missing),
        cmocka_unit_test(test_rejected),
        cmocka_unit_test(test_static_kinds),
        cmocka_unit_test(test_lifetime),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_attempt_timeout_and_backoff),
        cmocka_unit_test(test_credentials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
