/* flow.c - OAuth worker jobs and the per-issuer metadata cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "log.h"

#define META_TTL 3600

/* Discovery documents and JWKS per issuer (or per MCP server URL when the
 * issuer is discovered).  Loop thread only. */
typedef struct meta_entry {
    char *key;
    mm_oauth_meta meta;
    time_t fetched;
    struct meta_entry *next;
} meta_entry;

static meta_entry *cache;

static const char *cache_key(const mm_profile *p)
{
    return p->cfg->issuer ? p->cfg->issuer : p->cfg->server_url;
}

const mm_oauth_meta *mm_flow_cached_meta(const mm_profile *p)
{
    const char *key = cache_key(p);
    for (meta_entry *e = cache; e; e = e->next)
        if (!strcmp(e->key, key) && time(NULL) - e->fetched < META_TTL)
            return &e->meta;
    return NULL;
}

static void cache_put(const char *key, mm_oauth_meta *m)
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
    e->meta = *m; /* take ownership */
    memset(m, 0, sizeof(*m));
    e->fetched = time(NULL);
}

void mm_oauth_cache_clear(void)
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

mm_flow *mm_flow_new(mm_profile *p, mm_flow_kind kind, void (*done)(mm_flow *f), void *arg)
{
    mm_flow *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    const mm_profile_cfg *c = p->cfg;
    f->kind = kind;
    f->p = p;
    f->done = done;
    f->arg = arg;
    f->cache_key = dup0(cache_key(p));
    f->issuer = dup0(c->issuer);
    f->server_url = dup0(c->server_url);
    f->client_id = dup0(c->client_id);
    f->ca_file = dup0(c->ca_file);
    f->http = (mm_http_opts){.ca_file = f->ca_file, .timeout_ms = p->agent->http_timeout_ms};
    const mm_oauth_meta *m = mm_flow_cached_meta(p);
    if (m && mm_oauth_meta_copy(&f->meta, m) == MM_OK)
        f->have_meta = 1;
    return f;
}

static void flow_run(mm_job *job)
{
    mm_flow *f = (mm_flow *)job;
    if (!f->have_meta) {
        f->err = mm_oauth_discover(f->issuer, f->server_url, &f->http, &f->meta, f->why,
                                   sizeof(f->why));
        if (f->err != MM_OK)
            return;
        f->have_meta = 2; /* fresh: the loop caches it */
    }
    switch (f->kind) {
    case MM_FLOW_DISCOVER: break;
    case MM_FLOW_DEVICE_AUTH:
        f->err = mm_oauth_device_authorize(&f->meta, &f->form, &f->http, &f->dev, f->why,
                                           sizeof(f->why));
        break;
    case MM_FLOW_REVOKE:
        if (!f->meta.revocation_endpoint) {
            f->err = MM_ERR_IDP;
            snprintf(f->why, sizeof(f->why), "the identity provider offers no revocation");
            break;
        }
        f->err = mm_oauth_revoke(&f->meta, f->secret->data, f->client_id, &f->http, f->why,
                                 sizeof(f->why));
        break;
    case MM_FLOW_TOKEN:
        f->err = mm_oauth_token(&f->meta, &f->form, &f->http, &f->tokens, f->why,
                                sizeof(f->why));
        if (f->err != MM_OK)
            break;
        if (!f->tokens.id_token) {
            if (f->want_id_token) {
                f->err = MM_ERR_INVALID_ID_TOKEN;
                snprintf(f->why, sizeof(f->why), "the token response has no ID token "
                         "(is \"openid\" in the scope?)");
            }
            break;
        }
        mm_jwt_expect x = {.issuer = f->meta.issuer, .client_id = f->client_id,
                           .nonce = f->nonce, .now = time(NULL)};
        int had_jwks = f->meta.jwks != NULL;
        f->err = mm_oauth_verify_id_token(&f->meta, f->tokens.id_token, &x, &f->http,
                                          &f->claims, f->why, sizeof(f->why));
        if (!had_jwks && f->meta.jwks && f->have_meta == 1)
            f->have_meta = 2; /* newly fetched keys: worth caching */
        break;
    }
}

static void flow_done(mm_job *job)
{
    mm_flow *f = (mm_flow *)job;
    mm_profile *p = f->p;
    p->jobs--;
    if (f->have_meta == 2 || (f->have_meta && f->meta.jwks)) {
        mm_oauth_meta copy;
        if (mm_oauth_meta_copy(&copy, &f->meta) == MM_OK)
            cache_put(f->cache_key, &copy);
        else
            mm_oauth_meta_free(&copy);
    }
    if (!p->orphan && !p->agent->shutting_down)
        f->done(f);
    else if (p->orphan && !p->jobs)
        free(p); /* its state was wiped when it was retired */
    mm_oauth_meta_free(&f->meta);
    mm_form_free(&f->form);
    mm_tokens_free(&f->tokens);
    mm_jwt_claims_free(&f->claims);
    mm_device_auth_free(&f->dev);
    mm_secret_free(f->secret);
    free(f->nonce);
    free(f->cache_key);
    free(f->issuer);
    free(f->server_url);
    free(f->client_id);
    free(f->ca_file);
    free(f);
}

void mm_flow_submit(mm_flow *f)
{
    f->job.run = flow_run;
    f->job.done = flow_done;
    f->p->jobs++;
    mm_worker_submit(f->p->agent->worker, &f->job);
}
