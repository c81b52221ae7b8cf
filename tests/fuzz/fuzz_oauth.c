/*
 * fuzz_oauth.c - every identity provider answer the agent parses
 * (agent/oauth.c): discovery (mm_oauth_parse_meta), protected resource
 * metadata (mm_oauth_parse_prm, and mm_oauth_prm_url over a
 * WWW-Authenticate header), the token endpoint (mm_oauth_parse_token),
 * JWKS (mm_oauth_parse_jwks), device authorization (mm_oauth_parse_device)
 * and revocation (mm_oauth_check_revoke); and the same kind of answers from
 * a Mimir server's own API (agent/mimirapi.c): /auth/config
 * (mm_mimir_parse_config) and its password grant (mm_mimir_parse_token).
 *
 * Feeds: one HTTP answer, given to each parser: the first byte picks the
 * status (status_of), the rest is the body (and the WWW-Authenticate value).
 * Asserts, beyond no crash or leak: nothing but a 200 is ever accepted.
 * Discovery: the document names exactly the expected issuer, has a token
 * endpoint, and every endpoint is safe by curl's own parse (fuzz_url_safe).
 * Token: the access token is a valid bearer credential
 * (mm_policy_credential_ok), its lifetime lies within
 * MM_POLICY_LIFETIME_MIN..MAX of the send time; a refused answer hands over
 * no access token and at most a valid refresh token; OAuth error codes are
 * only read from 4xx answers.  JWKS: accepted only with a "keys" array, and
 * a refused one leaves the old JWKS in place.  Device: the user code is
 * printable, the verification URIs are safe and hold no control bytes, the
 * interval is 1..60 s and the expiry 1..3600 s away.  Mimir's token: as
 * the token endpoint's, but it may also never expire (expires_at 0).
 * Mimir's config: providers only as a non-empty array.
 */
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fuzz.h"
#include "mimirapi.h"
#include "oauth.h"
#include "policy.h"

#define ISS "https://id.example.test"
#define SERVER "https://mcp.example.test/mcp"
#define URL "https://id.example.test/any"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return mm_secret_init() == MM_OK ? 0 : 1;
}

/* '0'..'7' (and most bytes) are 200; '8'.. pick the answers IdPs give. */
static long status_of(uint8_t b)
{
    static const long other[] = {400, 401, 403, 404, 429, 500, 503, 302};
    return (b & 15) < 8 ? 200 : other[(b & 15) - 8];
}

static void meta(const mm_http_resp *r)
{
    mm_oauth_meta m;
    char why[512] = "";
    if (mm_oauth_parse_meta(r, URL, ISS, &m, why, sizeof(why)) != MM_OK) {
        FUZZ_ASSERT(why[0] && !m.issuer && !m.token_endpoint);
        return;
    }
    FUZZ_ASSERT(r->status == 200 && !strcmp(m.issuer, ISS) && m.token_endpoint);
    const char *eps[] = {m.authorization_endpoint, m.token_endpoint, m.jwks_uri,
                         m.revocation_endpoint, m.device_authorization_endpoint};
    for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++)
        FUZZ_ASSERT(!eps[i] || fuzz_url_safe(eps[i]));
    mm_oauth_meta_free(&m);
}

static void prm(const mm_http_resp *r)
{
    char *issuer = NULL, why[512] = "", url[2048];
    mm_err e = mm_oauth_parse_prm(r, URL, SERVER, &issuer, why, sizeof(why));
    FUZZ_ASSERT(e == MM_OK ? r->status == 200 && issuer : !issuer && why[0]);
    free(issuer);
    mm_oauth_prm_url(SERVER, r->body, url, sizeof(url));
    FUZZ_ASSERT(strlen(url) < sizeof(url));
}

/* mimir: Mimir's own token answer, which may never expire. */
static void token(const mm_http_resp *r, int mimir)
{
    mm_tokens t;
    char why[512] = "";
    mm_err e = mimir ? mm_mimir_parse_token(r, FUZZ_NOW, &t, why, sizeof(why))
                     : mm_oauth_parse_token(r, FUZZ_NOW, &t, why, sizeof(why));
    if (e == MM_OK) {
        FUZZ_ASSERT(r->status == 200 && t.error == MM_OAUTH_ERR_NONE);
        FUZZ_ASSERT(t.access && mm_policy_credential_ok(t.access->data));
        FUZZ_ASSERT(t.issued_at == FUZZ_NOW);
        FUZZ_ASSERT((mimir && t.expires_at == 0) ||
                    (t.expires_at - FUZZ_NOW >= MM_POLICY_LIFETIME_MIN &&
                     t.expires_at - FUZZ_NOW <= MM_POLICY_LIFETIME_MAX));
        FUZZ_ASSERT(!t.refresh || (t.refresh->len && t.refresh->len <= MM_POLICY_CREDENTIAL_MAX));
    } else {
        FUZZ_ASSERT(why[0] && !t.access && !t.id_token);
        FUZZ_ASSERT(!t.refresh || mm_policy_credential_ok(t.refresh->data));
        if (r->status == 200 || r->status >= 500)
            FUZZ_ASSERT(t.error == MM_OAUTH_ERR_NONE);
    }
    mm_tokens_free(&t);
}

static void mimir_config(const mm_http_resp *r)
{
    mm_mimir_config c;
    char why[512] = "";
    if (mm_mimir_parse_config(r, URL, &c, why, sizeof(why)) == MM_OK)
        FUZZ_ASSERT(r->status == 200 &&
                    (!c.providers ||
                     (cJSON_IsArray(c.providers) && cJSON_GetArraySize(c.providers) > 0)));
    else
        FUZZ_ASSERT(why[0] && !c.providers);
    mm_mimir_config_free(&c);
}

static void jwks(const mm_http_resp *r)
{
    cJSON *old = cJSON_CreateObject(), *cur = old;
    char why[512] = "";
    FUZZ_ASSERT(old);
    if (mm_oauth_parse_jwks(r, URL, &cur, why, sizeof(why)) == MM_OK) {
        FUZZ_ASSERT(r->status == 200 && cur != old);
        FUZZ_ASSERT(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(cur, "keys")));
    } else {
        FUZZ_ASSERT(cur == old && why[0]);
    }
    cJSON_Delete(cur);
}

static void revoke(const mm_http_resp *r)
{
    char why[512] = "";
    mm_err e = mm_oauth_check_revoke(r, why, sizeof(why));
    FUZZ_ASSERT((e == MM_OK) == (r->status == 200));
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

static int no_controls(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
            return 0;
    return 1;
}

static void device(const mm_http_resp *r)
{
    mm_device_auth d;
    char why[512] = "";
    time_t before = time(NULL);
    mm_err e = mm_oauth_parse_device(r, &d, why, sizeof(why));
    time_t after = time(NULL);
    if (e == MM_OK) {
        FUZZ_ASSERT(r->status == 200 && d.device_code && d.user_code && printable(d.user_code));
        FUZZ_ASSERT(fuzz_url_safe(d.verification_uri) && no_controls(d.verification_uri));
        FUZZ_ASSERT(!d.verification_uri_complete ||
                    (fuzz_url_safe(d.verification_uri_complete) &&
                     no_controls(d.verification_uri_complete)));
        FUZZ_ASSERT(d.interval >= 1 && d.interval <= 60);
        FUZZ_ASSERT(d.expires_at >= before + 1 && d.expires_at <= after + 3600);
    } else {
        FUZZ_ASSERT(why[0] && !d.device_code && !d.user_code);
    }
    mm_device_auth_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    mm_http_resp r = {.status = status_of(data[0]), .len = size - 1};
    r.body = fuzz_strndup(data + 1, size - 1);
    meta(&r);
    prm(&r);
    token(&r, 0);
    token(&r, 1);
    mimir_config(&r);
    jwks(&r);
    revoke(&r);
    device(&r);
    free(r.body);
    return 0;
}
