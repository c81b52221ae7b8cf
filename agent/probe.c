/* probe.c - how a Mimir server authenticates (see probe.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "flow.h"
#include "probe.h"

typedef struct {
    mm_probe_done done;
    void *arg;
    int pending;          /* flows still running */
    mm_err err;
    char why[512];
    mm_mimir_config cfg;
    char *issuer;
    int refused;          /* the MCP endpoint said 401 to a request without credentials */
    mm_probe_result r;
} probe;

static void finish(probe *pb)
{
    if (--pb->pending > 0)
        return;
    pb->r.dev_login = pb->cfg.dev_login;
    pb->r.providers = pb->cfg.providers;
    pb->r.issuer = pb->issuer;
    /* Only API keys (no login to offer) look like security off in
     * /auth/config: the endpoint's own 401 tells them apart. */
    pb->r.security = pb->cfg.dev_login || pb->cfg.providers || pb->issuer || pb->refused;
    pb->done(pb->arg, pb->err, pb->why, pb->err == MM_OK ? &pb->r : NULL);
    mm_mimir_config_free(&pb->cfg);
    free(pb->issuer);
    free(pb);
}

static void got_config(mm_flow *f)
{
    probe *pb = f->arg;
    pb->err = f->err;
    snprintf(pb->why, sizeof(pb->why), "%s", f->why);
    pb->cfg = f->mimir;
    memset(&f->mimir, 0, sizeof(f->mimir));
    finish(pb);
}

/* RFC 9728 is optional for a Mimir server: without it, OAuth needs an
 * issuer from the user. */
static void got_metadata(mm_flow *f)
{
    probe *pb = f->arg;
    if (f->err == MM_OK && f->meta.issuer)
        pb->issuer = strdup(f->meta.issuer);
    pb->refused = f->resource_status == 401;
    finish(pb);
}

/* The MCP endpoint: the URL as given, or its /mcp when it names no path
 * (set as the path, so that a query stays after it); a fragment, which is
 * never sent, is dropped. */
static int endpoint(const char *url, char *out, size_t len)
{
    CURLU *u = curl_url();
    char *path = NULL, *full = NULL;
    int ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
             (strcmp(path, "/") || curl_url_set(u, CURLUPART_PATH, "/mcp", 0) == CURLUE_OK) &&
             curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK;
    if (ok)
        ok = snprintf(out, len, "%s", full) < (int)len;
    curl_free(path);
    curl_free(full);
    curl_url_cleanup(u);
    return ok ? 0 : -1;
}

void mm_probe_start(mm_agent *a, const char *url, mm_probe_done done, void *arg)
{
    probe *pb = calloc(1, sizeof(*pb));
    if (!pb) {
        done(arg, MM_ERR_NOMEM, "out of memory", NULL);
        return;
    }
    pb->done = done;
    pb->arg = arg;
    if (endpoint(url, pb->r.server_url, sizeof(pb->r.server_url)) < 0)
        snprintf(pb->r.server_url, sizeof(pb->r.server_url), "%s", url); /* the flow says why */
    mm_flow_target t = {.cache_key = pb->r.server_url, .server_url = pb->r.server_url,
                        .timeout_ms = a->http_timeout_ms};
    mm_flow_cache_forget(t.cache_key); /* the server as it is now, not as it was */
    mm_flow *cfg = mm_flow_new(a->http, &t, MM_FLOW_MIMIR_CONFIG, got_config, pb);
    mm_flow *meta = mm_flow_new(a->http, &t, MM_FLOW_DISCOVER, got_metadata, pb);
    if (!cfg || !meta) {
        mm_flow_discard(cfg);
        mm_flow_discard(meta);
        free(pb);
        done(arg, MM_ERR_NOMEM, "out of memory", NULL);
        return;
    }
    pb->pending = 2;
    mm_flow_submit(cfg);
    mm_flow_submit(meta);
}
