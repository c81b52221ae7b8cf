/* oauth.c - discovery, token endpoint, revocation, device authorization. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mimir/proto.h"
#include "oauth.h"

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

/* GET url and parse a JSON object; status in *status. */
static mm_err get_json(const char *url, const mm_http_opts *o, cJSON **out, long *status,
                       char **www_auth, char *why, size_t whylen)
{
    mm_http_resp r;
    *out = NULL;
    mm_err e = mm_http_get(url, o, &r, why, whylen);
    if (e != MM_OK)
        return e;
    *status = r.status;
    if (www_auth) {
        *www_auth = r.www_authenticate;
        r.www_authenticate = NULL;
    }
    if (r.status == 200 && !cJSON_IsObject(*out = cJSON_ParseWithLength(r.body, r.len))) {
        cJSON_Delete(*out);
        *out = NULL;
        snprintf(why, whylen, "%s did not return a JSON object", url);
        e = MM_ERR_IDP;
    }
    mm_http_resp_free(&r);
    return e;
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

/* RFC 9728: the protected resource names its authorization server. */
static mm_err discover_from_resource(const char *server_url, const mm_http_opts *o,
                                     char **issuer, char *why, size_t whylen)
{
    cJSON *doc = NULL;
    long status = 0;
    char *www = NULL, url[2048];
    mm_err e = get_json(server_url, o, &doc, &status, &www, why, whylen);
    cJSON_Delete(doc);
    doc = NULL;
    const char *rm = www ? strstr(www, "resource_metadata=\"") : NULL;
    if (rm) {
        rm += strlen("resource_metadata=\"");
        snprintf(url, sizeof(url), "%.*s", (int)strcspn(rm, "\""), rm);
    } else { /* no hint: the well-known URI at the server's origin */
        const char *host = strstr(server_url, "://");
        const char *path = host ? strchr(host + 3, '/') : NULL;
        snprintf(url, sizeof(url), "%.*s/.well-known/oauth-protected-resource%s",
                 (int)(path ? path - server_url : (long)strlen(server_url)), server_url,
                 path && strcmp(path, "/") ? path : "");
    }
    free(www);
    e = get_json(url, o, &doc, &status, NULL, why, whylen);
    const cJSON *as = cJSON_GetObjectItemCaseSensitive(doc, "authorization_servers");
    const cJSON *first = cJSON_GetArrayItem(as, 0);
    if (e == MM_OK && cJSON_IsString(first)) {
        *issuer = strdup(first->valuestring);
    } else if (e == MM_OK) {
        snprintf(why, whylen, "%s does not name an authorization server; set the profile's "
                 "\"issuer\"", server_url);
        e = MM_ERR_IDP;
    }
    cJSON_Delete(doc);
    return e;
}

mm_err mm_oauth_discover(const char *issuer, const char *server_url, const mm_http_opts *o,
                         mm_oauth_meta *m, char *why, size_t whylen)
{
    memset(m, 0, sizeof(*m));
    char *found = NULL;
    mm_err e = MM_OK;
    if (!issuer && (e = discover_from_resource(server_url, o, &found, why, whylen)) != MM_OK)
        return e;
    if (!issuer)
        issuer = found;
    if ((e = mm_url_check_secure(issuer, why, whylen)) != MM_OK) {
        free(found);
        return e;
    }
    /* OIDC discovery first, then RFC 8414 (path inserted after the host). */
    char url[2048];
    size_t ilen = strlen(issuer);
    while (ilen && issuer[ilen - 1] == '/')
        ilen--;
    const char *host = strstr(issuer, "://") + 3;
    const char *path = strchr(host, '/');
    size_t origin = path ? (size_t)(path - issuer) : ilen;
    cJSON *doc = NULL;
    long status = 0;
    for (int i = 0; i < 2 && !doc; i++) {
        if (i == 0)
            snprintf(url, sizeof(url), "%.*s/.well-known/openid-configuration", (int)ilen, issuer);
        else
            snprintf(url, sizeof(url), "%.*s/.well-known/oauth-authorization-server%.*s",
                     (int)origin, issuer, (int)(ilen - origin), issuer + origin);
        e = get_json(url, o, &doc, &status, NULL, why, whylen);
        if (e != MM_OK)
            break;
        if (!doc)
            snprintf(why, whylen, "%s answered HTTP %ld", url, status), e = MM_ERR_IDP;
    }
    if (doc)
        e = parse_meta(doc, issuer, m, why, whylen);
    cJSON_Delete(doc);
    free(found);
    if (e != MM_OK)
        mm_oauth_meta_free(m);
    return e;
}

/* ---- token endpoint -------------------------------------------------------- */

void mm_tokens_free(mm_tokens *t)
{
    mm_secret_free(t->access);
    mm_secret_free(t->refresh);
    mm_wipe_free(t->id_token);
    free(t->scope);
    memset(t, 0, sizeof(*t));
}

/* An OAuth error object {"error":..., "error_description":...}. */
static mm_err oauth_error(const cJSON *doc, long status, char *code, size_t codelen,
                          char *why, size_t whylen)
{
    const char *err = mm_json_str(doc, "error"), *desc = mm_json_str(doc, "error_description");
    if (!err || status >= 500) {
        snprintf(why, whylen, "identity provider answered HTTP %ld%s%s", status,
                 err ? ": " : "", err ? err : "");
        return MM_ERR_IDP;
    }
    snprintf(code, codelen, "%s", err);
    snprintf(why, whylen, "identity provider refused: %s%s%.200s", err, desc ? ": " : "",
             desc ? desc : "");
    return MM_ERR_IDP;
}

static mm_err post_json(const char *url, const mm_form *form, const mm_http_opts *o,
                        cJSON **doc, long *status, char *why, size_t whylen)
{
    mm_http_resp r;
    mm_err e = mm_http_post_form(url, form, o, &r, why, whylen);
    *doc = NULL;
    if (e != MM_OK)
        return e;
    *status = r.status;
    *doc = cJSON_ParseWithLength(r.body, r.len);
    if (!cJSON_IsObject(*doc)) {
        cJSON_Delete(*doc);
        *doc = NULL;
        snprintf(why, whylen, "identity provider sent a malformed response (HTTP %ld, not "
                 "a JSON object)", r.status);
        e = MM_ERR_IDP;
    }
    mm_http_resp_free(&r);
    return e;
}

mm_err mm_oauth_token(const mm_oauth_meta *m, const mm_form *form, const mm_http_opts *o,
                      mm_tokens *t, char *why, size_t whylen)
{
    memset(t, 0, sizeof(*t));
    cJSON *doc;
    long status;
    mm_err e = post_json(m->token_endpoint, form, o, &doc, &status, why, whylen);
    if (e != MM_OK)
        return e;
    if (status != 200) {
        e = oauth_error(doc, status, t->oauth_error, sizeof(t->oauth_error), why, whylen);
        cJSON_Delete(doc);
        return e;
    }
    const char *at = mm_json_str(doc, "access_token"), *tt = mm_json_str(doc, "token_type");
    const char *rt = mm_json_str(doc, "refresh_token"), *idt = mm_json_str(doc, "id_token");
    double expires_in = 3600; /* RFC 6749 5.1: optional; assume an hour */
    mm_json_num(doc, "expires_in", &expires_in);
    if (!at || !at[0] || !tt || strcasecmp(tt, "Bearer") || expires_in <= 0) {
        snprintf(why, whylen, "identity provider sent a token response without a usable "
                 "Bearer access_token");
        cJSON_Delete(doc);
        return MM_ERR_IDP;
    }
    t->issued_at = time(NULL);
    t->expires_at = t->issued_at + (time_t)expires_in;
    t->access = mm_secret_from_str(at);
    t->refresh = rt && rt[0] ? mm_secret_from_str(rt) : NULL;
    t->id_token = dup0(idt);
    t->scope = dup0(mm_json_str(doc, "scope"));
    cJSON_Delete(doc);
    if (!t->access || (rt && rt[0] && !t->refresh)) {
        mm_tokens_free(t);
        return MM_ERR_NOMEM;
    }
    return MM_OK;
}

static mm_err fetch_jwks(mm_oauth_meta *m, const mm_http_opts *o, char *why, size_t whylen)
{
    if (!m->jwks_uri)
        return snprintf(why, whylen, "the issuer publishes no jwks_uri"), MM_ERR_IDP;
    cJSON *doc;
    long status = 0;
    mm_err e = get_json(m->jwks_uri, o, &doc, &status, NULL, why, whylen);
    if (e == MM_OK && !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "keys"))) {
        snprintf(why, whylen, "%s did not return a JWKS (HTTP %ld)", m->jwks_uri, status);
        e = MM_ERR_IDP;
    }
    if (e == MM_OK) {
        cJSON_Delete(m->jwks);
        m->jwks = doc;
    } else {
        cJSON_Delete(doc);
    }
    return e;
}

mm_err mm_oauth_verify_id_token(mm_oauth_meta *m, const char *id_token,
                                const mm_jwt_expect *x, const mm_http_opts *o,
                                mm_jwt_claims *claims, char *why, size_t whylen)
{
    int unknown_kid = 0, fetched = 0;
    mm_err e;
    if (!m->jwks) {
        if ((e = fetch_jwks(m, o, why, whylen)) != MM_OK)
            return e;
        fetched = 1;
    }
    e = mm_jwt_verify(id_token, m->jwks, x, claims, &unknown_kid, why, whylen);
    if (e != MM_OK && unknown_kid && !fetched) { /* rotated keys: refetch once */
        if ((e = fetch_jwks(m, o, why, whylen)) != MM_OK)
            return e;
        e = mm_jwt_verify(id_token, m->jwks, x, claims, &unknown_kid, why, whylen);
    }
    return e;
}

mm_err mm_oauth_revoke(const mm_oauth_meta *m, const char *token, const char *client_id,
                       const mm_http_opts *o, char *why, size_t whylen)
{
    mm_form f = {0};
    mm_form_add(&f, "token", token);
    mm_form_add(&f, "token_type_hint", "refresh_token");
    mm_form_add(&f, "client_id", client_id);
    mm_http_resp r = {0};
    mm_err e = mm_http_post_form(m->revocation_endpoint, &f, o, &r, why, whylen);
    mm_form_free(&f);
    if (e == MM_OK && r.status != 200) {
        snprintf(why, whylen, "revocation endpoint answered HTTP %ld", r.status);
        e = MM_ERR_IDP;
    }
    mm_http_resp_free(&r);
    return e;
}

/* ---- device authorization ------------------------------------------------- */

void mm_device_auth_free(mm_device_auth *d)
{
    mm_secret_free(d->device_code);
    free(d->user_code);
    free(d->verification_uri);
    free(d->verification_uri_complete);
    memset(d, 0, sizeof(*d));
}

mm_err mm_oauth_device_authorize(const mm_oauth_meta *m, const mm_form *form,
                                 const mm_http_opts *o, mm_device_auth *d, char *why,
                                 size_t whylen)
{
    memset(d, 0, sizeof(*d));
    if (!m->device_authorization_endpoint)
        return snprintf(why, whylen, "%s offers no device authorization endpoint",
                        m->issuer), MM_ERR_IDP;
    cJSON *doc;
    long status;
    char code[64];
    mm_err e = post_json(m->device_authorization_endpoint, form, o, &doc, &status, why, whylen);
    if (e == MM_OK && status != 200)
        e = oauth_error(doc, status, code, sizeof(code), why, whylen);
    const char *dc = mm_json_str(doc, "device_code"), *uc = mm_json_str(doc, "user_code");
    const char *vu = mm_json_str(doc, "verification_uri");
    double interval = 5, expires_in = 600;
    if (e == MM_OK && (!dc || !uc || !vu)) {
        snprintf(why, whylen, "device authorization response lacks device_code, user_code "
                 "or verification_uri");
        e = MM_ERR_IDP;
    }
    if (e == MM_OK) {
        mm_json_num(doc, "interval", &interval);
        mm_json_num(doc, "expires_in", &expires_in);
        d->device_code = mm_secret_from_str(dc);
        d->user_code = strdup(uc);
        d->verification_uri = strdup(vu);
        d->verification_uri_complete = dup0(mm_json_str(doc, "verification_uri_complete"));
        d->interval = interval >= 1 && interval <= 60 ? (int)interval : 5;
        d->expires_at = time(NULL) + (time_t)(expires_in > 0 ? expires_in : 600);
    }
    cJSON_Delete(doc);
    return e;
}
