/*
 * oauth.c - the OAuth/OIDC messages: request bodies and the parsing and
 * checking of every answer (discovery, token, JWKS, revocation, device
 * authorization).  No I/O here; flow.c sends and receives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mimir/proto.h"
#include "oauth.h"
#include "policy.h"

/* ---- metadata ------------------------------------------------------------ */

void mm_oauth_meta_free(mm_oauth_meta *m)
{
    free(m->issuer);
    free(m->authorization_endpoint);
    free(m->token_endpoint);
    free(m->jwks_uri);
    free(m->revocation_endpoint);
    free(m->device_authorization_endpoint);
    cJSON_Delete(m->jwks);
    memset(m, 0, sizeof(*m));
}

static char *dup0(const char *s) { return s ? strdup(s) : NULL; }

void mm_oauth_printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            *s = '?';
}

mm_err mm_oauth_meta_copy(mm_oauth_meta *d, const mm_oauth_meta *s)
{
    *d = (mm_oauth_meta){
        .issuer = dup0(s->issuer),
        .authorization_endpoint = dup0(s->authorization_endpoint),
        .token_endpoint = dup0(s->token_endpoint),
        .jwks_uri = dup0(s->jwks_uri),
        .revocation_endpoint = dup0(s->revocation_endpoint),
        .device_authorization_endpoint = dup0(s->device_authorization_endpoint),
        .iss_param = s->iss_param,
        .s256 = s->s256,
        .jwks = s->jwks ? cJSON_Duplicate(s->jwks, 1) : NULL,
    };
    return d->issuer && d->token_endpoint ? MM_OK : MM_ERR_NOMEM;
}

/* A 200 response holding a JSON object. */
static mm_err json_200(const mm_http_resp *r, const char *url, cJSON **out, char *why,
                       size_t whylen)
{
    *out = NULL;
    if (r->status != 200) {
        snprintf(why, whylen, "%s answered HTTP %ld", url, r->status);
        return MM_ERR_IDP;
    }
    if (!cJSON_IsObject(*out = mm_json_parse(r->body, r->len))) {
        cJSON_Delete(*out);
        *out = NULL;
        snprintf(why, whylen, "%s did not return a JSON object", url);
        return MM_ERR_IDP;
    }
    return MM_OK;
}

static int has_string(const cJSON *arr, const char *s)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it) && !strcmp(it->valuestring, s)) return 1;
    return 0;
}

static mm_err parse_meta(const cJSON *doc, const char *issuer, mm_oauth_meta *m, char *why,
                         size_t whylen)
{
    const char *iss = mm_json_str(doc, "issuer");
    /* Mix-up defence (RFC 8414 section 3.3): the document must be about
     * the issuer we asked for. */
    if (!iss || strcmp(iss, issuer)) {
        snprintf(why, whylen, "discovery document of %s names issuer \"%s\"", issuer,
                 iss ? iss : "(none)");
        return MM_ERR_IDP;
    }
    m->issuer = strdup(iss);
    m->authorization_endpoint = dup0(mm_json_str(doc, "authorization_endpoint"));
    m->token_endpoint = dup0(mm_json_str(doc, "token_endpoint"));
    m->jwks_uri = dup0(mm_json_str(doc, "jwks_uri"));
    m->revocation_endpoint = dup0(mm_json_str(doc, "revocation_endpoint"));
    m->device_authorization_endpoint =
        dup0(mm_json_str(doc, "device_authorization_endpoint"));
    m->iss_param = cJSON_IsTrue(
        cJSON_GetObjectItemCaseSensitive(doc, "authorization_response_iss_parameter_supported"));
    m->s256 = has_string(cJSON_GetObjectItemCaseSensitive(doc, "code_challenge_methods_supported"),
                         "S256");
    if (!m->token_endpoint) {
        snprintf(why, whylen, "discovery document of %s has no token_endpoint", issuer);
        return MM_ERR_IDP;
    }
    /* Every endpoint must be as safe as the issuer itself. */
    const char *eps[] = {m->authorization_endpoint, m->token_endpoint, m->jwks_uri,
                         m->revocation_endpoint, m->device_authorization_endpoint};
    for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
        mm_err e = eps[i] ? mm_url_check_secure(eps[i], why, whylen) : MM_OK;
        if (e != MM_OK)
            return e;
    }
    return MM_OK;
}

void mm_oauth_prm_url(const char *server_url, const char *www_authenticate, char *url,
                      size_t len)
{
    const char *rm = www_authenticate ? strstr(www_authenticate, "resource_metadata=\"") : NULL;
    if (rm) {
        rm += strlen("resource_metadata=\"");
        snprintf(url, len, "%.*s", (int)strcspn(rm, "\""), rm);
        return;
    }
    /* No hint: the well-known URI at the server's origin (RFC 9728 3.1). */
    const char *host = strstr(server_url, "://");
    const char *path = host ? strchr(host + 3, '/') : NULL;
    snprintf(url, len, "%.*s/.well-known/oauth-protected-resource%s",
             (int)(path ? path - server_url : (long)strlen(server_url)), server_url,
             path && strcmp(path, "/") ? path : "");
}

mm_err mm_oauth_parse_prm(const mm_http_resp *r, const char *url, const char *server_url,
                          char **issuer, char *why, size_t whylen)
{
    cJSON *doc;
    mm_err e = json_200(r, url, &doc, why, whylen);
    const cJSON *first =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "authorization_servers"), 0);
    const char *res = mm_json_str(doc, "resource");
    /* RFC 9728 3.3: metadata about another resource must not be used. */
    if (e == MM_OK && (!res || strcmp(res, server_url))) {
        snprintf(why, whylen, "%s describes resource \"%s\", not %s", url,
                 res ? res : "(none)", server_url);
        e = MM_ERR_IDP;
    }
    if (e == MM_OK && cJSON_IsString(first)) {
        *issuer = strdup(first->valuestring);
        e = *issuer ? MM_OK : MM_ERR_NOMEM;
    } else if (e == MM_OK) {
        snprintf(why, whylen, "%s does not name an authorization server; set the profile's "
                 "\"issuer\"", server_url);
        e = MM_ERR_IDP;
    }
    cJSON_Delete(doc);
    return e;
}

void mm_oauth_discovery_url(const char *issuer, int rfc8414, char *url, size_t len)
{
    size_t ilen = strlen(issuer);
    while (ilen && issuer[ilen - 1] == '/')
        ilen--;
    if (!rfc8414) {
        snprintf(url, len, "%.*s/.well-known/openid-configuration", (int)ilen, issuer);
        return;
    }
    /* RFC 8414 3.1: the well-known segment goes between host and path. */
    const char *host = strstr(issuer, "://");
    const char *path = host ? strchr(host + 3, '/') : NULL;
    size_t origin = path && (size_t)(path - issuer) < ilen ? (size_t)(path - issuer) : ilen;
    snprintf(url, len, "%.*s/.well-known/oauth-authorization-server%.*s", (int)origin, issuer,
             (int)(ilen - origin), issuer + origin);
}

mm_err mm_oauth_parse_meta(const mm_http_resp *r, const char *url, const char *issuer,
                           mm_oauth_meta *m, char *why, size_t whylen)
{
    cJSON *doc;
    memset(m, 0, sizeof(*m));
    mm_err e = json_200(r, url, &doc, why, whylen);
    if (e == MM_OK)
        e = parse_meta(doc, issuer, m, why, whylen);
    cJSON_Delete(doc);
    if (e != MM_OK)
        mm_oauth_meta_free(m);
    return e;
}

/* ---- token endpoint -------------------------------------------------------- */

void mm_tokens_free(mm_tokens *t)
{
    mm_secret_free(t->access);
    mm_secret_free(t->refresh);
    mm_secret_wipe_free(t->id_token);
    free(t->scope);
    memset(t, 0, sizeof(*t));
}

mm_oauth_error mm_oauth_error_from_string(const char *code)
{
    static const struct {
        const char *name;
        mm_oauth_error e;
    } codes[] = {
        {"invalid_grant", MM_OAUTH_ERR_INVALID_GRANT},
        {"access_denied", MM_OAUTH_ERR_ACCESS_DENIED},
        {"expired_token", MM_OAUTH_ERR_EXPIRED_TOKEN},
        {"authorization_pending", MM_OAUTH_ERR_AUTHORIZATION_PENDING},
        {"slow_down", MM_OAUTH_ERR_SLOW_DOWN},
    };
    if (!code)
        return MM_OAUTH_ERR_NONE;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (!strcmp(code, codes[i].name))
            return codes[i].e;
    return MM_OAUTH_ERR_OTHER;
}

/* An OAuth error object {"error":..., "error_description":...}.  The IdP's
 * text goes into messages only as printable ASCII: it reaches terminals. */
static mm_err oauth_error(const cJSON *doc, long status, mm_oauth_error *code, char *why,
                          size_t whylen)
{
    const char *err = mm_json_str(doc, "error"), *desc = mm_json_str(doc, "error_description");
    if (!err || status >= 500) {
        snprintf(why, whylen, "identity provider answered HTTP %ld%s%.64s", status,
                 err ? ": " : "", err ? err : "");
        mm_oauth_printable(why);
        return MM_ERR_IDP;
    }
    *code = mm_oauth_error_from_string(err);
    snprintf(why, whylen, "identity provider refused: %.64s%s%.200s", err, desc ? ": " : "",
             desc ? desc : "");
    mm_oauth_printable(why);
    return MM_ERR_IDP;
}

/* Any answer of the token or device endpoints: a JSON object, or garbage. */
static mm_err json_any(const mm_http_resp *r, cJSON **doc, char *why, size_t whylen)
{
    *doc = mm_json_parse(r->body, r->len);
    if (cJSON_IsObject(*doc))
        return MM_OK;
    cJSON_Delete(*doc);
    *doc = NULL;
    snprintf(why, whylen, "identity provider sent a malformed response (HTTP %ld, not a "
             "JSON object)", r->status);
    return MM_ERR_IDP;
}

mm_err mm_oauth_parse_token(const mm_http_resp *r, time_t sent_at, mm_tokens *t, char *why,
                            size_t whylen)
{
    memset(t, 0, sizeof(*t));
    cJSON *doc;
    mm_err e = json_any(r, &doc, why, whylen);
    if (e != MM_OK)
        return e;
    if (r->status != 200) {
        e = oauth_error(doc, r->status, &t->error, why, whylen);
        cJSON_Delete(doc);
        return e;
    }
    const char *at = mm_json_str(doc, "access_token"), *tt = mm_json_str(doc, "token_type");
    const char *rt = mm_json_str(doc, "refresh_token"), *idt = mm_json_str(doc, "id_token");
    double expires_in = 3600; /* RFC 6749 5.1: optional; assume an hour */
    const cJSON *ei = cJSON_GetObjectItemCaseSensitive(doc, "expires_in");
    if (ei && !cJSON_IsNumber(ei))
        expires_in = -1;
    else if (ei)
        expires_in = ei->valuedouble;
    int64_t life = mm_policy_lifetime(expires_in);
    const char *bad = !at || !tt || strcasecmp(tt, "Bearer") ? "no Bearer access_token"
                      : !mm_policy_credential_ok(at) ? "an access_token that is not a valid "
                                                       "bearer token (RFC 6750)"
                      : life < 0                      ? "an invalid expires_in"
                      : rt && rt[0] && !mm_policy_credential_ok(rt) ? "an invalid refresh_token"
                                                                   : NULL;
    if (bad) {
        snprintf(why, whylen, "identity provider sent a token response with %s", bad);
        /* An IdP that rotates has already killed the refresh token we sent:
         * a usable new one is kept even from an answer refused otherwise,
         * or refusing the answer would end the session. */
        if (rt && mm_policy_credential_ok(rt))
            t->refresh = mm_secret_from_str(rt);
        cJSON_Delete(doc);
        return MM_ERR_IDP;
    }
    /* Counted from when we asked, not when the answer came: the IdP issued
     * the token in between, so we never believe it lives longer than it does. */
    t->issued_at = sent_at;
    t->expires_at = sent_at + (time_t)life;
    t->lifetime_given = ei != NULL;
    t->access = mm_secret_from_str(at);
    t->refresh = rt && rt[0] ? mm_secret_from_str(rt) : NULL;
    t->id_token = dup0(idt);
    t->scope = dup0(mm_json_str(doc, "scope"));
    int oom = !t->access || (rt && rt[0] && !t->refresh); /* rt points into doc */
    cJSON_Delete(doc);
    if (oom) {
        mm_tokens_free(t);
        return MM_ERR_NOMEM;
    }
    return MM_OK;
}

mm_err mm_oauth_parse_jwks(const mm_http_resp *r, const char *url, cJSON **jwks, char *why,
                           size_t whylen)
{
    cJSON *doc;
    mm_err e = json_200(r, url, &doc, why, whylen);
    if (e == MM_OK && !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "keys"))) {
        snprintf(why, whylen, "%s did not return a JWKS", url);
        e = MM_ERR_IDP;
    }
    if (e == MM_OK) {
        cJSON_Delete(*jwks);
        *jwks = doc;
    } else {
        cJSON_Delete(doc);
    }
    return e;
}

void mm_oauth_revoke_form(mm_form *f, const char *token, const char *client_id)
{
    mm_form_add(f, "token", token);
    mm_form_add(f, "token_type_hint", "refresh_token");
    mm_form_add(f, "client_id", client_id);
}

mm_err mm_oauth_check_revoke(const mm_http_resp *r, char *why, size_t whylen)
{
    if (r->status == 200)
        return MM_OK;
    snprintf(why, whylen, "revocation endpoint answered HTTP %ld", r->status);
    return MM_ERR_IDP;
}

/* ---- device authorization ------------------------------------------------- */

static mm_err check_shown_url(const char *url, char *why, size_t whylen)
{
    for (const unsigned char *c = (const unsigned char *)url; *c; c++)
        if (*c < 0x21 || *c > 0x7e) {
            snprintf(why, whylen, "the identity provider's verification URI is not plain "
                     "printable ASCII");
            return MM_ERR_IDP;
        }
    return mm_url_check_secure(url, why, whylen);
}

void mm_device_auth_free(mm_device_auth *d)
{
    mm_secret_free(d->device_code);
    free(d->user_code);
    free(d->verification_uri);
    free(d->verification_uri_complete);
    memset(d, 0, sizeof(*d));
}

mm_err mm_oauth_parse_device(const mm_http_resp *r, mm_device_auth *d, char *why,
                            size_t whylen)
{
    memset(d, 0, sizeof(*d));
    cJSON *doc;
    mm_oauth_error code;
    mm_err e = json_any(r, &doc, why, whylen);
    if (e == MM_OK && r->status != 200)
        e = oauth_error(doc, r->status, &code, why, whylen);
    const char *dc = mm_json_str(doc, "device_code"), *uc = mm_json_str(doc, "user_code");
    const char *vu = mm_json_str(doc, "verification_uri");
    double interval = 5, expires_in = 600;
    const char *vc = mm_json_str(doc, "verification_uri_complete");
    if (e == MM_OK && (!dc || !uc || !vu)) {
        snprintf(why, whylen, "device authorization response lacks device_code, user_code "
                 "or verification_uri");
        e = MM_ERR_IDP;
    }
    /* The user is told to open these: the same rules as for the IdP itself,
     * and printable ASCII only (a C1 or bidi character would act on the
     * terminal that shows them). */
    if (e == MM_OK)
        e = check_shown_url(vu, why, whylen);
    if (e == MM_OK && vc)
        e = check_shown_url(vc, why, whylen);
    if (e == MM_OK) {
        mm_json_num(doc, "interval", &interval);
        mm_json_num(doc, "expires_in", &expires_in);
        d->device_code = mm_secret_from_str(dc);
        d->user_code = strdup(uc);
        d->verification_uri = strdup(vu);
        d->verification_uri_complete = dup0(vc);
        if (d->user_code)
            mm_oauth_printable(d->user_code);
        d->interval = interval >= 1 && interval <= 60 ? (int)interval : 5;
        d->expires_at = time(NULL) + (expires_in >= 1 && expires_in <= 3600 ? (time_t)expires_in
                                                                            : 600);
    }
    cJSON_Delete(doc);
    return e;
}
