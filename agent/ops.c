/*
 * ops.c - request dispatch: one handler per protocol op.
 *
 * A handler either answers at once (mm_conn_send) or parks the request on
 * a profile (mm_profile_wait) or a keyring job and answers later; the
 * server keeps the connection's later requests queued until then, which is
 * what makes replies come back in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "login.h"
#include "mimir/version.h"

#define API_KEY_MAX 4096

typedef void (*op_handler)(mm_agent *a, mm_conn *c, mm_request *req);

static void reply_err(mm_conn *c, const mm_request *req, mm_err e, const char *msg)
{
    mm_conn_send(c, mm_proto_reply_err(req->id, e, msg));
}

/* Resolve the request's profile or answer with unknown_profile. */
static mm_profile *need_profile(mm_agent *a, mm_conn *c, const mm_request *req)
{
    mm_profile *p = mm_agent_profile(a, req->profile);
    if (p)
        return p;
    char msg[160];
    if (req->profile)
        snprintf(msg, sizeof(msg), "no profile named \"%.64s\" in %s", req->profile,
                 a->config_path);
    else
        snprintf(msg, sizeof(msg),
                 "no default profile; add one with 'mimir-helper profile add'");
    reply_err(c, req, MM_ERR_UNKNOWN_PROFILE, msg);
    return NULL;
}

void mm_agent_event(mm_agent *a, mm_profile *p, const char *event)
{
    if (!a->server || a->shutting_down)
        return;
    cJSON *ev = mm_proto_event(event);
    cJSON_AddStringToObject(ev, "profile", p->key.profile);
    cJSON_AddStringToObject(ev, "state", mm_pstate_name(p->state));
    if (p->subject)
        cJSON_AddStringToObject(ev, "subject", p->subject);
    if (p->state == MM_PS_LOGIN_REQUIRED || p->state == MM_PS_STORE_ERROR ||
        p->state == MM_PS_RETRYING) {
        cJSON *err = cJSON_AddObjectToObject(ev, "error");
        cJSON_AddStringToObject(err, "code", mm_err_code(p->last_err));
        cJSON_AddStringToObject(err, "message", p->last_msg);
    }
    mm_server_broadcast(a->server, ev);
}

/* ---- token and headers -------------------------------------------------- */

/* A string member that borrows val instead of copying it: the token stays
 * in its guarded buffer and no heap copy of it is made and wiped per
 * reply.  Only for replies printed before val can change, which
 * mm_conn_send guarantees (it serialises at once). */
static void add_borrowed(cJSON *obj, const char *key, const char *val)
{
    cJSON_AddItemToObjectCS(obj, key, cJSON_CreateStringReference(val));
}

static void add_credential(cJSON *r, const mm_profile *p, mm_op op)
{
    int api = p->cfg->kind == MM_KIND_API_KEY;
    const char *tok = api ? p->cred->data : p->access->data;
    add_borrowed(r, "profile", p->key.profile);
    if (op == MM_OP_HEADERS) {
        cJSON *h = cJSON_AddObjectToObject(r, "headers");
        if (api) {
            add_borrowed(h, "X-API-Key", tok);
        } else {
            size_t n = strlen(tok) + 8;
            char *v = cJSON_malloc(n); /* wiped on free */
            snprintf(v, n, "Bearer %s", tok);
            cJSON_AddStringToObject(h, "Authorization", v);
            cJSON_free(v);
        }
    } else {
        add_borrowed(r, "token", tok);
        add_borrowed(r, "token_type", api ? "api-key" : "Bearer");
    }
    if (!api)
        mm_json_add_int(r, "expires_at", (long long)p->access_exp);
}

/* The reply for a token/headers request given the profile's current state.
 * It borrows the profile's token: hand it to mm_conn_send straight away. */
cJSON *mm_profile_token_reply(mm_profile *p, const cJSON *id, mm_op op, double min_ttl)
{
    char msg[200];
    if (p->state == MM_PS_STORE_ERROR)
        return mm_proto_reply_err(id, p->last_err, p->last_msg);
    int api = p->cfg->kind == MM_KIND_API_KEY;
    if (api ? p->cred != NULL
            : p->access && p->access_exp > time(NULL) + (time_t)min_ttl) {
        cJSON *r = mm_proto_reply_ok(id);
        add_credential(r, p, op);
        return r;
    }
    if (!api && p->cred && p->last_err != MM_OK && p->state != MM_PS_LOGIN_REQUIRED)
        return mm_proto_reply_err(id, p->last_err, p->last_msg);
    if (api)
        snprintf(msg, sizeof(msg),
                 "no API key stored for profile %s; run 'mimir-helper set-api-key --profile %s'",
                 p->key.profile, p->key.profile);
    else
        snprintf(msg, sizeof(msg), "profile %s is not logged in%s; run 'mimir-helper login "
                 "--profile %s'", p->key.profile,
                 p->state == MM_PS_LOGIN_REQUIRED && p->last_err == MM_ERR_LOGIN_REQUIRED
                     ? " (the identity provider ended the session)" : "",
                 p->key.profile);
    return mm_proto_reply_err(id, MM_ERR_LOGIN_REQUIRED, msg);
}

static void op_token(mm_agent *a, mm_conn *c, mm_request *req)
{
    mm_profile *p = need_profile(a, c, req);
    if (!p)
        return;
    double min_ttl = 0;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(req->root, "min_ttl");
    if (mt && (!cJSON_IsNumber(mt) || mt->valuedouble < 0 || mt->valuedouble > 86400)) {
        reply_err(c, req, MM_ERR_BAD_REQUEST, "\"min_ttl\" must be a number of seconds 0..86400");
        return;
    }
    if (mt)
        min_ttl = mt->valuedouble;
    const cJSON *rj = cJSON_GetObjectItemCaseSensitive(req->root, "rejected");
    if (rj && !cJSON_IsString(rj)) {
        reply_err(c, req, MM_ERR_BAD_REQUEST, "\"rejected\" must be a string");
        return;
    }
    int fresh = p->access && p->access_exp > time(NULL) + (time_t)min_ttl;
    if (rj && p->cfg->kind == MM_KIND_API_KEY && p->cred &&
        mm_secret_equal(p->cred->data, rj->valuestring)) {
        char msg[200];
        snprintf(msg, sizeof(msg), "the server refused the API key of profile %s; store a "
                 "new one with 'mimir-helper set-api-key --profile %s'", p->key.profile,
                 p->key.profile);
        reply_err(c, req, MM_ERR_LOGIN_REQUIRED, msg);
        return;
    }
    /* The server refused the token we hold: it was revoked or the server's
     * clock runs ahead.  Refresh now, however fresh it looks to us. */
    if (rj && p->access && mm_secret_equal(p->access->data, rj->valuestring))
        fresh = 0;
    /* A fresh token is served even while a refresh runs: an early refresh
     * that hangs at the IdP must not make anyone wait. */
    if (p->state == MM_PS_LOADING || (p->state == MM_PS_REFRESHING && !fresh)) {
        mm_profile_wait(p, c, req, min_ttl);
        return;
    }
    if (p->state == MM_PS_RETRYING && !fresh) {
        /* Backing off: serve the old token while it lasts.  Once it has
         * expired there is nothing to protect, so a caller may bring the
         * next attempt forward (at most one per second). */
        if (p->access && p->access_exp > time(NULL)) {
            mm_conn_send(c, mm_profile_token_reply(p, req->id, req->op, 0));
            return;
        }
        if (!mm_refresh_retry_now(p)) {
            mm_conn_send(c, mm_profile_token_reply(p, req->id, req->op, 0));
            return;
        }
        mm_profile_wait(p, c, req, min_ttl);
        return;
    }
    if (p->cfg->kind == MM_KIND_OAUTH && !fresh && p->cred && p->state != MM_PS_LOGGING_IN) {
        /* Single flight: the first caller starts the refresh, everyone
         * arriving while it runs waits for the same result. */
        mm_profile_wait(p, c, req, min_ttl);
        mm_refresh_start(p);
        return;
    }
    mm_conn_send(c, mm_profile_token_reply(p, req->id, req->op, min_ttl));
}

/* ---- api keys, logout ---------------------------------------------------- */

/* A set_api_key waiting for its keyring write: the new key stays in
 * guarded memory and replaces the old one only once stored. */
typedef struct {
    mm_waiter *w;
    mm_secret *key;
} key_change;

static void key_change_finish(key_change *kc, cJSON *reply)
{
    mm_waiter_finish(kc->w, reply);
    mm_secret_free(kc->key);
    free(kc);
}

static void api_key_saved(mm_profile *p, mm_err e, const char *why, mm_secret *doc, void *arg)
{
    (void)doc;
    key_change *kc = arg;
    if (e != MM_OK) { /* the old key, if any, stays in place */
        key_change_finish(kc, mm_proto_reply_err(kc->w->id, e, why));
        return;
    }
    mm_secret_clear(&p->cred);
    p->cred = kc->key;
    kc->key = NULL;
    p->last_err = MM_OK;
    mm_profile_set_state(p, MM_PS_READY, MM_OK, NULL);
    mm_info("profile %s: API key stored in the keyring", p->key.profile);
    cJSON *r = mm_proto_reply_ok(kc->w->id);
    cJSON_AddStringToObject(r, "profile", p->key.profile);
    key_change_finish(kc, r);
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || *s == 0x7f)
            return 0;
    return 1;
}

static void op_set_api_key(mm_agent *a, mm_conn *c, mm_request *req)
{
    mm_profile *p = need_profile(a, c, req);
    if (!p)
        return;
    const char *key = mm_json_str(req->root, "api_key");
    if (!key || !key[0] || strlen(key) > API_KEY_MAX || !printable(key)) {
        reply_err(c, req, MM_ERR_BAD_REQUEST,
                  "\"api_key\" must be a non-empty string of printable characters "
                  "without spaces, at most 4096 bytes");
        return;
    }
    if (p->cfg->kind != MM_KIND_API_KEY) {
        reply_err(c, req, MM_ERR_WRONG_KIND, "this profile logs in with OAuth; API keys "
                  "go into profiles of kind \"api-key\"");
        return;
    }
    key_change *kc = calloc(1, sizeof(*kc));
    if (!kc || !(kc->key = mm_secret_from_str(key))) {
        free(kc);
        reply_err(c, req, MM_ERR_NOMEM, NULL);
        return;
    }
    if (!(kc->w = mm_waiter_new(c, req, 0))) {
        mm_secret_free(kc->key);
        free(kc);
        return;
    }
    mm_store_submit_save(p, mm_profile_make_doc(p, key), api_key_saved, kc);
}

static void logout_erased(mm_profile *p, mm_err e, const char *why, mm_secret *doc, void *arg)
{
    (void)doc;
    mm_waiter *w = arg;
    cJSON *r;
    if (e != MM_OK) {
        r = mm_proto_reply_err(w->id, e, why);
    } else {
        r = mm_proto_reply_ok(w->id);
        cJSON_AddStringToObject(r, "profile", p->key.profile);
        cJSON_AddBoolToObject(r, "erased", 1);
        mm_logout_annotate(p, r);
    }
    p->last_err = MM_OK;
    mm_profile_set_state(p, MM_PS_LOGIN_REQUIRED, MM_OK, NULL);
    mm_waiter_finish(w, r);
}

/* Memory is wiped at once; the keyring erase (after a revoke, for OAuth)
 * follows.  Logging out must work offline, so a failed revoke does not
 * stop the erase: it is only reported. */
static void op_logout(mm_agent *a, mm_conn *c, mm_request *req)
{
    mm_profile *p = need_profile(a, c, req);
    if (!p)
        return;
    mm_waiter *w = mm_waiter_new(c, req, 0);
    if (!w)
        return;
    mm_login_cancel(p);
    mm_logout_start(p, logout_erased, w);
}

/* ---- the rest ------------------------------------------------------------ */

static void op_hello(mm_agent *a, mm_conn *c, mm_request *req)
{
    cJSON *r = mm_proto_reply_ok(req->id);
    cJSON_AddStringToObject(r, "agent", "mimir-agent");
    cJSON_AddStringToObject(r, "version", MIMIR_VERSION);
    mm_json_add_int(r, "protocol", MM_PROTO_VERSION);
    mm_json_add_int(r, "pid", (long long)getpid());
    if (a->cfg.default_profile)
        cJSON_AddStringToObject(r, "default_profile", a->cfg.default_profile);
    mm_conn_send(c, r);
}

static void op_status(mm_agent *a, mm_conn *c, mm_request *req)
{
    cJSON *r;
    if (req->profile) {
        mm_profile *p = need_profile(a, c, req);
        if (!p)
            return;
        r = mm_proto_reply_ok(req->id);
        cJSON_AddItemToObject(r, "profile", mm_profile_status(p));
    } else {
        r = mm_proto_reply_ok(req->id);
        cJSON_AddStringToObject(r, "config", a->config_path);
        if (a->cfg.default_profile)
            cJSON_AddStringToObject(r, "default_profile", a->cfg.default_profile);
        cJSON *arr = cJSON_AddArrayToObject(r, "profiles");
        for (mm_profile *p = a->profiles; p; p = p->next)
            cJSON_AddItemToArray(arr, mm_profile_status(p));
    }
    mm_conn_send(c, r);
}

static void op_reload(mm_agent *a, mm_conn *c, mm_request *req)
{
    char why[512];
    mm_err e = mm_agent_load_profiles(a, why, sizeof(why));
    if (e != MM_OK) {
        mm_warn("reload failed, keeping the previous config: %s", why);
        reply_err(c, req, e, why);
        return;
    }
    mm_info("configuration reloaded from %s", a->config_path);
    cJSON *r = mm_proto_reply_ok(req->id);
    cJSON *arr = cJSON_AddArrayToObject(r, "profiles");
    for (mm_profile *p = a->profiles; p; p = p->next)
        cJSON_AddItemToArray(arr, cJSON_CreateString(p->key.profile));
    mm_conn_send(c, r);
}

static void op_subscribe(mm_agent *a, mm_conn *c, mm_request *req)
{
    (void)a;
    mm_conn_subscribe(c);
    mm_conn_send(c, mm_proto_reply_ok(req->id));
}

static void op_login(mm_agent *a, mm_conn *c, mm_request *req)
{
    mm_profile *p = need_profile(a, c, req);
    if (p)
        mm_login_op(p, c, req);
}

static void op_login_wait(mm_agent *a, mm_conn *c, mm_request *req)
{
    mm_profile *p = need_profile(a, c, req);
    if (p)
        mm_login_wait_op(p, c, req);
}

static const op_handler handlers[MM_OP__COUNT] = {
    [MM_OP_HELLO] = op_hello,         [MM_OP_STATUS] = op_status,
    [MM_OP_TOKEN] = op_token,         [MM_OP_HEADERS] = op_token,
    [MM_OP_SET_API_KEY] = op_set_api_key, [MM_OP_LOGOUT] = op_logout,
    [MM_OP_RELOAD] = op_reload,       [MM_OP_LOGIN] = op_login,
    [MM_OP_LOGIN_WAIT] = op_login_wait, [MM_OP_SUBSCRIBE] = op_subscribe,
};

void mm_agent_on_line(void *ctx, mm_conn *c, const char *line, size_t len)
{
    mm_agent *a = ctx;
    mm_request req;
    const char *why;
    mm_err e = mm_proto_parse_request(line, len, &req, &why);
    if (e != MM_OK) {
        char msg[160];
        if (e == MM_ERR_UNKNOWN_OP)
            snprintf(msg, sizeof(msg), "unknown op \"%.64s\"", req.op_name);
        mm_debug("rejected request from pid %ld: %s", (long)mm_conn_pid(c), mm_err_code(e));
        reply_err(c, &req, e, e == MM_ERR_UNKNOWN_OP ? msg : why);
    } else {
        handlers[req.op](a, c, &req);
    }
    mm_request_free(&req);
}
