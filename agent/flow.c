/* flow.c - OAuth exchanges as event-loop state machines; metadata cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "log.h"

#define META_TTL 3600

enum { ST_RESOURCE, ST_PRM, ST_OIDC, ST_AS, ST_MAIN, ST_JWKS, ST_MIMIR };

/* Discovery documents and JWKS per issuer (or per MCP server URL when the
 * issuer is discovered).  Loop thread only. */
typedef struct meta_entry {
    char *key;
    mm_oauth_meta meta;
    time_t fetched;
    struct meta_entry *next;
} meta_entry;

static meta_entry *cache;

const mm_oauth_meta *mm_flow_cache_get(const char *key)
{
    for (meta_entry *e = cache; e; e = e->next)
        if (!strcmp(e->key, key) && time(NULL) - e->fetched < META_TTL)
            return &e->meta;
    return NULL;
}

static void cache_put(const char *key, const mm_oauth_meta *m)
{
    meta_entry *e = cache;
    while (e && strcmp(e->key, key))
        e = e->next;
    if (!e) {
        if (!(e = calloc(1, sizeof(*e))) || !(e->key = strdup(key))) {
            free(e);
            return;
        }
        e->next = cache;
        cache = e;
    } else {
        mm_oauth_meta_free(&e->meta);
    }
    if (mm_oauth_meta_copy(&e->meta, m) != MM_OK)
        mm_oauth_meta_free(&e->meta); /* an empty entry is never a cache hit */
    e->fetched = e->meta.issuer ? time(NULL) : 0;
}

void mm_flow_cache_forget(const char *key)
{
    for (meta_entry **pp = &cache; *pp; pp = &(*pp)->next)
        if (!strcmp((*pp)->key, key)) {
            meta_entry *e = *pp;
            *pp = e->next;
            mm_oauth_meta_free(&e->meta);
            free(e->key);
            free(e);
            return;
        }
}

void mm_flow_cache_clear(void)
{
    while (cache) {
        meta_entry *e = cache;
        cache = e->next;
        mm_oauth_meta_free(&e->meta);
        free(e->key);
        free(e);
    }
}

static char *dup0(const char *s) { return s ? strdup(s) : NULL; }

static void flow_free(mm_flow *f);

mm_flow *mm_flow_new(mm_http *h, const mm_flow_target *t, mm_flow_kind kind,
                     void (*done)(mm_flow *f), void *arg)
{
    mm_flow *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->kind = kind;
    f->h = h;
    f->done = done;
    f->arg = arg;
    f->cache_key = dup0(t->cache_key);
    f->issuer = dup0(t->issuer);
    f->server_url = dup0(t->server_url);
    f->client_id = dup0(t->client_id);
    f->ca_file = dup0(t->ca_file);
    f->http = (mm_http_opts){.ca_file = f->ca_file, .timeout_ms = t->timeout_ms};
    if (!f->cache_key || (t->issuer && !f->issuer) || (t->server_url && !f->server_url) ||
        (t->client_id && !f->client_id) || (t->ca_file && !f->ca_file)) {
        flow_free(f);
        return NULL;
    }
    const mm_oauth_meta *m = mm_flow_cache_get(f->cache_key);
    if (m && mm_oauth_meta_copy(&f->meta, m) == MM_OK)
        f->have_meta = 1;
    else
        mm_oauth_meta_free(&f->meta);
    return f;
}

/* ---- the end ------------------------------------------------------------- */

static void flow_free(mm_flow *f)
{
    mm_oauth_meta_free(&f->meta);
    mm_form_free(&f->form);
    mm_tokens_free(&f->tokens);
    mm_jwt_claims_free(&f->claims);
    mm_device_auth_free(&f->dev);
    mm_mimir_config_free(&f->mimir);
    mm_secret_free(f->secret);
    free(f->nonce);
    free(f->found_issuer);
    free(f->cache_key);
    free(f->issuer);
    free(f->server_url);
    free(f->client_id);
    free(f->ca_file);
    free(f);
}

static void complete(mm_flow *f, mm_err e)
{
    f->err = e;
    if (f->meta_dirty && f->have_meta)
        cache_put(f->cache_key, &f->meta);
    f->done(f);
    if (f->release)
        f->release(f->owner);
    flow_free(f);
}

void mm_flow_discard(mm_flow *f)
{
    if (!f)
        return;
    if (f->release)
        f->release(f->owner);
    flow_free(f);
}

/* ---- requests -------------------------------------------------------------- */

static void on_http(void *arg, mm_err e, mm_http_resp *r, const char *why);

static void request(mm_flow *f, int step, const char *url, const mm_form *form)
{
    f->step = step;
    f->sent_at = time(NULL);
    snprintf(f->url, sizeof(f->url), "%s", url);
    mm_http_start(f->h, url, form, &f->http, on_http, f);
}

static void fail(mm_flow *f, mm_err e, const char *msg)
{
    snprintf(f->why, sizeof(f->why), "%s", msg);
    complete(f, e);
}

/* Discovery done (or cached): the flow's own request. */
static void main_step(mm_flow *f)
{
    const mm_oauth_meta *m = &f->meta;
    const char *url = m->token_endpoint;
    if (f->kind == MM_FLOW_DISCOVER) {
        complete(f, MM_OK);
        return;
    }
    if (f->kind == MM_FLOW_DEVICE_AUTH && !(url = m->device_authorization_endpoint)) {
        fail(f, MM_ERR_IDP, "the identity provider offers no device authorization");
        return;
    }
    if (f->kind == MM_FLOW_REVOKE) {
        if (!(url = m->revocation_endpoint)) {
            fail(f, MM_ERR_IDP, "the identity provider offers no revocation");
            return;
        }
        mm_oauth_revoke_form(&f->form, f->secret->data, f->client_id);
    }
    request(f, ST_MAIN, url, &f->form);
}

static void discover(mm_flow *f)
{
    char url[2048];
    if (f->issuer) {
        mm_oauth_discovery_url(f->issuer, 0, url, sizeof(url));
        request(f, ST_OIDC, url, NULL);
    } else {
        request(f, ST_RESOURCE, f->server_url, NULL);
    }
}

/* Mimir's own endpoints, at the server's root: no discovery. */
static void mimir_step(mm_flow *f)
{
    char url[2048];
    int password = f->kind == MM_FLOW_PASSWORD;
    if (!f->server_url ||
        mm_mimir_url(f->server_url, password ? "/auth/token" : "/auth/config", url,
                     sizeof(url)) != MM_OK) {
        snprintf(f->why, sizeof(f->why), "%s is not a valid server URL",
                 f->server_url ? f->server_url : "(none)");
        f->step = ST_MIMIR;
        mm_http_start(f->h, "invalid:", NULL, &f->http, on_http, f); /* fails from the loop */
        return;
    }
    f->http.json_body = password;
    request(f, ST_MIMIR, url, password ? &f->form : NULL);
}

void mm_flow_submit(mm_flow *f)
{
    if (f->kind == MM_FLOW_MIMIR_CONFIG || f->kind == MM_FLOW_PASSWORD)
        mimir_step(f);
    else if (f->have_meta)
        main_step(f);
    else
        discover(f);
}

/* ---- answers --------------------------------------------------------------- */

static void verify(mm_flow *f)
{
    if (!f->tokens.id_token) {
        if (f->want_id_token)
            fail(f, MM_ERR_INVALID_ID_TOKEN,
                 "the token response has no ID token (is \"openid\" in the scope?)");
        else
            complete(f, MM_OK);
        return;
    }
    if (!f->meta.jwks && !f->meta.jwks_uri) {
        fail(f, MM_ERR_IDP, "the issuer publishes no jwks_uri");
        return;
    }
    if (!f->meta.jwks) {
        request(f, ST_JWKS, f->meta.jwks_uri, NULL);
        return;
    }
    mm_jwt_expect x = {.issuer = f->meta.issuer, .client_id = f->client_id,
                       .nonce = f->nonce, .now = time(NULL)};
    int unknown_kid = 0;
    mm_err e = mm_jwt_verify(f->tokens.id_token, f->meta.jwks, &x, &f->claims, &unknown_kid,
                             f->why, sizeof(f->why));
    if (e != MM_OK && unknown_kid && !f->jwks_refetched) { /* keys rotated: refetch once */
        f->jwks_refetched = 1;
        request(f, ST_JWKS, f->meta.jwks_uri, NULL);
        return;
    }
    complete(f, e);
}

static void on_http(void *arg, mm_err e, mm_http_resp *r, const char *why)
{
    mm_flow *f = arg;
    const char *iss = f->issuer ? f->issuer : f->found_issuer;
    char url[2048];
    if (e != MM_OK) {
        fail(f, e, why);
        return;
    }
    switch (f->step) {
    case ST_RESOURCE: /* any answer will do; a 401 names its metadata */
        f->resource_status = r->status;
        mm_oauth_prm_url(f->server_url, r->www_authenticate, url, sizeof(url));
        request(f, ST_PRM, url, NULL);
        return;
    case ST_PRM:
        e = mm_oauth_parse_prm(r, f->url, f->server_url, &f->found_issuer, f->why,
                               sizeof(f->why));
        if (e == MM_OK) {
            mm_oauth_discovery_url(f->found_issuer, 0, url, sizeof(url));
            request(f, ST_OIDC, url, NULL);
            return;
        }
        break;
    case ST_OIDC:
    case ST_AS:
        if (f->step == ST_OIDC && r->status != 200) { /* not OIDC: try RFC 8414 */
            mm_oauth_discovery_url(iss, 1, url, sizeof(url));
            request(f, ST_AS, url, NULL);
            return;
        }
        e = mm_oauth_parse_meta(r, f->url, iss, &f->meta, f->why, sizeof(f->why));
        if (e == MM_OK) {
            f->have_meta = f->meta_dirty = 1;
            main_step(f);
            return;
        }
        break;
    case ST_JWKS:
        e = mm_oauth_parse_jwks(r, f->url, &f->meta.jwks, f->why, sizeof(f->why));
        if (e == MM_OK) {
            f->meta_dirty = 1;
            verify(f);
            return;
        }
        break;
    case ST_MIMIR:
        e = f->kind == MM_FLOW_PASSWORD
                ? mm_mimir_parse_token(r, f->sent_at, &f->tokens, f->why, sizeof(f->why))
                : mm_mimir_parse_config(r, f->url, &f->mimir, f->why, sizeof(f->why));
        break;
    case ST_MAIN:
        if (f->kind == MM_FLOW_TOKEN) {
            e = mm_oauth_parse_token(r, f->sent_at, &f->tokens, f->why, sizeof(f->why));
            if (e == MM_OK) {
                verify(f);
                return;
            }
        } else if (f->kind == MM_FLOW_DEVICE_AUTH) {
            e = mm_oauth_parse_device(r, &f->dev, f->why, sizeof(f->why));
        } else {
            e = mm_oauth_check_revoke(r, f->why, sizeof(f->why));
        }
        break;
    }
    complete(f, e);
}
