/* policy.c - pure decisions about tokens and refresh timing (see policy.h). */
#include <math.h>

#include "policy.h"

static mm_token_decision act(mm_token_action a) { return (mm_token_decision){a, MM_WHY_NONE}; }
static mm_token_decision fail(mm_token_why why) { return (mm_token_decision){MM_TOKEN_FAIL, why}; }

/* Credentials that do not expire: the key (or nothing) is what is served. */
static mm_token_decision static_credential(const mm_token_view *v)
{
    if (v->kind == MM_KIND_NONE)
        return act(MM_TOKEN_SERVE);
    if (!v->has_cred)
        return fail(MM_WHY_NO_CREDENTIAL);
    return v->rejected ? fail(MM_WHY_REFUSED) : act(MM_TOKEN_SERVE);
}

/*
 * An OAuth profile, read top to bottom:
 *  - a token with enough life left is served, even while a refresh runs (an
 *    early refresh that hangs at the IdP must not make anyone wait);
 *  - a request that already waited through one refresh takes what that
 *    refresh brought: it never queues for a second one;
 *  - loading or refreshing: wait for the outcome;
 *  - no refresh token: nothing can be renewed;
 *  - backing off after failures: the old token while it is valid;
 *  - otherwise refresh (refresh.c spaces attempts; see REFRESH_SPACING).
 */
static mm_token_decision renewable(const mm_token_view *v)
{
    int valid = v->has_access && !v->rejected && v->access_exp > v->now;
    int fresh = valid && (double)(v->access_exp - v->now) > v->min_ttl;
    if (v->state == MM_PS_STORE_ERROR && !valid)
        return fail(MM_WHY_LAST_ERROR);
    if (fresh || (v->refreshed && valid))
        return act(MM_TOKEN_SERVE);
    if (v->state == MM_PS_LOADING || v->state == MM_PS_REFRESHING)
        return act(MM_TOKEN_WAIT);
    if (v->state == MM_PS_LOGGING_IN)
        return valid ? act(MM_TOKEN_SERVE) : fail(MM_WHY_LOGGING_IN);
    if (!v->has_cred) {
        if (valid)
            return act(MM_TOKEN_SERVE); /* min_ttl cannot be met: the best there is */
        return fail(v->rejected ? MM_WHY_REFUSED : MM_WHY_NO_CREDENTIAL);
    }
    if (v->refreshed)
        return fail(MM_WHY_LAST_ERROR);
    if (v->state == MM_PS_RETRYING && valid)
        return act(MM_TOKEN_SERVE);
    return act(MM_TOKEN_REFRESH);
}

mm_token_decision mm_policy_token(const mm_token_view *v)
{
    if (v->kind == MM_KIND_API_KEY || v->kind == MM_KIND_NONE)
        return v->state == MM_PS_STORE_ERROR ? fail(MM_WHY_LAST_ERROR)
               : v->state == MM_PS_LOADING   ? act(MM_TOKEN_WAIT)
                                             : static_credential(v);
    return renewable(v);
}

int64_t mm_policy_lifetime(double expires_in)
{
    if (!isfinite(expires_in) || expires_in <= 0)
        return -1;
    if (expires_in < MM_POLICY_LIFETIME_MIN)
        return MM_POLICY_LIFETIME_MIN;
    if (expires_in > (double)MM_POLICY_LIFETIME_MAX)
        return MM_POLICY_LIFETIME_MAX;
    return (int64_t)expires_in;
}

int64_t mm_policy_refresh_at_ms(int64_t iat, int64_t exp)
{
    /* Both come from a send time plus a clamped lifetime: no overflow. */
    int64_t life_ms = (exp > iat ? exp - iat : 0) * 1000;
    return iat * 1000 + life_ms / 4 * 3;
}

uint64_t mm_policy_refresh_delay_ms(int64_t due_ms, int64_t now_wall_ms, uint64_t last_ms,
                                    uint64_t now_ms)
{
    uint64_t delay = due_ms > now_wall_ms ? (uint64_t)(due_ms - now_wall_ms) : 0;
    if (last_ms && now_ms < last_ms + MM_POLICY_REFRESH_SPACING_MS) {
        uint64_t spacing = last_ms + MM_POLICY_REFRESH_SPACING_MS - now_ms;
        if (delay < spacing)
            delay = spacing;
    }
    return delay;
}

int mm_policy_attempt_timeout_ms(int64_t access_exp_ms, int64_t now_wall_ms,
                                 int http_timeout_ms)
{
    int64_t left = access_exp_ms - now_wall_ms;
    if (left < MM_POLICY_ATTEMPT_FLOOR_MS)
        left = MM_POLICY_ATTEMPT_FLOOR_MS;
    return left < http_timeout_ms ? (int)left : http_timeout_ms;
}

uint64_t mm_policy_backoff_ms(int n, double jitter)
{
    unsigned shift = n < 6 ? (unsigned)(n < 0 ? 0 : n) : 6;
    uint64_t delay = 1000u << shift;
    if (delay > 60000u)
        delay = 60000u;
    if (jitter > 0 && jitter <= 1)
        delay += (uint64_t)((double)delay / 2 * jitter);
    return delay;
}

int mm_policy_credential_ok(const char *s)
{
    size_t n = 0;
    for (; s[n] && s[n] != '='; n++) {
        char c = s[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'))
            return 0;
    }
    if (n == 0)
        return 0;
    while (s[n] == '=')
        n++;
    return s[n] == '\0' && n <= MM_POLICY_CREDENTIAL_MAX;
}
