/*
 * ops.c - request dispatch: one handler per protocol op, read top to bottom.
 *
 * A handler either answers at once (mm_conn_send) or parks the request and
 * answers later: on a profile (token, headers), on a login (login,
 * login_wait) or on a keyring job (set_api_key, logout).  A parked request
 * holds its connection; the server keeps that connection's later requests
 * queued until the answer is sent, which is what makes replies come back in
 * order.  This file is also the only one that turns profile state into
 * JSON: replies, status and events.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jwt.h"
#include "log.h"
#include "login.h"
#include "logout.h"
#include "mimir/proto.h"
#include "mimir/version.h"
#include "ops.h"
#include "policy.h"
#include "probe.h"
#include "profiles.h"
#include "refresh.h"

typedef void (*op_handler)(mm_agent *a, mm_conn *c, mm_request *req);

static void reply_err(mm_conn *c, const cJSON *id, mm_err e, const char *msg)
{
    mm_conn_send(c, mm_proto_reply_err(id, e, msg));
}

/* Resolve the request's profile or answer with unknown_profile. */
static mm_profile *need_profile(mm_agent *a, mm_conn *c, const mm_request *req)
{
    mm_profile *p = mm_profiles_find(a, req->profile);
    if (p)
        return p;
    char msg[160];
    if (req->profile)
        snprintf(msg, sizeof(msg), "no profile named \"%.64s\" in %s", req->profile,
                 a->config_path);
    else
        snprintf(msg, sizeof(msg),
                 "no default profile; add one with 'mimir-helper profile add'");
    reply_err(c, req->id, MM_ERR_UNKNOWN_PROFILE, msg);
    return NULL;
}

/* ---- parked requests ---------------------------------------------------------- */

/* A request answered later.  It holds its connection and a copy of its id;
 * pending_answer sends the reply, lets the connection go and frees it. */
typedef struct {
    mm_pwait wait;            /* parked on a profile (token, headers) */
    mm_login_listener login;  /* or listening to a login */
    mm_conn *conn;
    cJSON *id;
    mm_op op;
    double min_ttl;
    mm_secret *rejected; /* token/headers: the credential a server refused */
    int refreshed;       /* waited through a refresh already */
    mm_secret *key;      /* set_api_key: the new key until it is stored */
    mm_agent *agent;     /* for requests that need it when answered */
} pending;

static pending *pending_new(mm_conn *c, const mm_request *req)
{
    pending *pd = calloc(1, sizeof(*pd));
    if (!pd || (req->id && !(pd->id = cJSON_Duplicate(req->id, 0)))) {
        free(pd);
        reply_err(c, req->id, MM_ERR_NOMEM, NULL);
        return NULL;
    }
    pd->conn = c;
    pd->op = req->op;
    mm_conn_hold(c);
    return pd;
}

static void pending_answer(pending *pd, cJSON *reply)
{
    mm_conn_send(pd->conn, reply);
    mm_conn_release(pd->conn);
    cJSON_Delete(pd->id);
    mm_secret_free(pd->rejected);
    mm_secret_free(pd->key);
    free(pd);
}

/* ---- token and headers ------------------------------------------------------------ */

/* A string member that borrows val instead of copying it: the token stays
 * in its guarded buffer and no heap copy of it is made and wiped per
 * reply.  Only for replies printed before val can change, which
 * mm_conn_send guarantees (it serialises at once). */
static void add_borrowed(cJSON *obj, const char *key, const char *val)
{
    cJSON_AddItemToObjectCS(obj, key, cJSON_CreateStringReference(val));
}

/* The credential a profile serves: NULL for kind "none". */
static const mm_secret *served(const mm_profile *p)
{
    switch (p->cfg->kind) {
    case MM_KIND_API_KEY: return p->cred;
    case MM_KIND_NONE: return NULL;
    default: return p->access;
    }
}

/* The reply carrying the credential.  It borrows the profile's token: hand
 * it to mm_conn_send straight away. */
static cJSON *credential_reply(const mm_profile *p, const cJSON *id, mm_op op)
{
    mm_kind kind = p->cfg->kind;
    const mm_secret *s = served(p);
    cJSON *r = mm_proto_reply_ok(id);
    add_borrowed(r, "profile", p->key.profile);
    if (op == MM_OP_HEADERS) {
        cJSON *h = cJSON_AddObjectToObject(r, "headers");
        if (kind == MM_KIND_API_KEY) {
            add_borrowed(h, "X-API-Key", s->data);
        } else if (s) {
            size_t n = s->len + 8;
            char *v = cJSON_malloc(n); /* wiped on free */
            if (v) {
                snprintf(v, n, "Bearer %s", s->data);
                cJSON_AddStringToObject(h, "Authorization", v);
                cJSON_free(v);
            }
        }
    } else {
        if (s)
            add_borrowed(r, "token", s->data);
        add_borrowed(r, "token_type", kind == MM_KIND_API_KEY ? "api-key"
                                      : kind == MM_KIND_NONE  ? "none"
                                                              : "Bearer");
    }
    if (s && kind != MM_KIND_API_KEY && p->access_exp)
        mm_json_add_int(r, "expires_at", (long long)p->access_exp);
    return r;
}

static cJSON *failure_reply(const mm_profile *p, const cJSON *id, mm_token_why why)
{
    char msg[300];
    const char *n = p->key.profile;
    int api = p->cfg->kind == MM_KIND_API_KEY;
    switch (why) {
    case MM_WHY_LAST_ERROR:
        if (p->last_err != MM_OK)
            return mm_proto_reply_err(id, p->last_err, p->last_msg);
        snprintf(msg, sizeof(msg), "the identity provider issued a token for profile %s that "
                 "expires at once", n);
        return mm_proto_reply_err(id, MM_ERR_IDP, msg);
    case MM_WHY_LOGGING_IN:
        snprintf(msg, sizeof(msg), "a login for profile %s is in progress; finish it in the "
                 "browser, or run 'mimir-helper login --profile %s' again", n, n);
        break;
    case MM_WHY_REFUSED:
        snprintf(msg, sizeof(msg), api ? "the server refused the API key of profile %s; store "
                 "a new one with 'mimir-helper set-api-key --profile %s'"
                 : "the server refused the token of profile %s and it cannot be renewed; run "
                   "'mimir-helper login --profile %s'", n, n);
        break;
    default:
        /* A stored credential refused for a reason the profile recorded
         * (pinned to another server): that reason, not a generic one. */
        if (!p->cred && p->pin_refused)
            return mm_proto_reply_err(id, MM_ERR_LOGIN_REQUIRED, p->last_msg);
        if (api)
            snprintf(msg, sizeof(msg), "no API key stored for profile %s; run 'mimir-helper "
                     "set-api-key --profile %s'", n, n);
        else
            snprintf(msg, sizeof(msg), "profile %s is not logged in%s; run 'mimir-helper "
                     "login --profile %s'", n,
                     p->state == MM_PS_LOGIN_REQUIRED && p->last_err == MM_ERR_LOGIN_REQUIRED
                         ? " (the identity provider ended the session)" : "",
                     n);
    }
    return mm_proto_reply_err(id, MM_ERR_LOGIN_REQUIRED, msg);
}

static mm_token_decision decide(const mm_profile *p, double min_ttl, const mm_secret *rejected,
                                int refreshed)
{
    const mm_secret *s = served(p);
    mm_token_view v = {.kind = p->cfg->kind, .state = p->state, .has_cred = p->cred != NULL,
                       .has_access = p->access != NULL,
                       /* 0: a token that does not expire (a Mimir token without exp) */
                       .access_exp = p->access_exp ? (int64_t)p->access_exp : INT64_MAX,
                       .now = (int64_t)time(NULL), .min_ttl = min_ttl, .refreshed = refreshed,
                       .rejected = rejected && s && mm_secret_equal(s->data, rejected->data)};
    return mm_policy_token(&v);
}

static void token_woken(mm_pwait *w, mm_profile *p, mm_err e, const char *msg);

/* Park pd on p; start the refresh it needs.  Nothing may touch pd after
 * this: the refresh can answer it before returning. */
static void park(mm_profile *p, pending *pd, mm_token_action action)
{
    pd->refreshed |= action == MM_TOKEN_REFRESH || p->state == MM_PS_REFRESHING;
    pd->wait.wake = token_woken;
    mm_profile_park(p, &pd->wait);
    if (action == MM_TOKEN_REFRESH)
        mm_refresh_start(p);
}

static void token_woken(mm_pwait *w, mm_profile *p, mm_err e, const char *msg)
{
    pending *pd = (pending *)((char *)w - offsetof(pending, wait));
    if (e != MM_OK) {
        pending_answer(pd, mm_proto_reply_err(pd->id, e, msg));
        return;
    }
    mm_token_decision d = decide(p, pd->min_ttl, pd->rejected, pd->refreshed);
    if (d.action == MM_TOKEN_SERVE)
        pending_answer(pd, credential_reply(p, pd->id, pd->op));
    else if (d.action == MM_TOKEN_FAIL)
        pending_answer(pd, failure_reply(p, pd->id, d.why));
    else
        park(p, pd, d.action);
}

static int token_args(mm_conn *c, const mm_request *req, double *min_ttl, const char **rejected)
{
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(req->root, "min_ttl");
    const cJSON *rj = cJSON_GetObjectItemCaseSensitive(req->root, "rejected");
    if (mt && (!cJSON_IsNumber(mt) || !(mt->valuedouble >= 0 && mt->valuedouble <= 86400))) {
        reply_err(c, req->id, MM_ERR_BAD_REQUEST, "\"min_ttl\" must be a number of seconds "
                  "0..86400");
        return -1;
    }
    if (rj && (!cJSON_IsString(rj) || strlen(rj->valuestring) > MM_POLICY_CREDENTIAL_MAX)) {
        reply_err(c, req->id, MM_ERR_BAD_REQUEST, "\"rejected\" must be the credential the "
                  "server refused");
        return -1;
    }
    *min_ttl = mt ? mt->valuedouble : 0;
    *rejected = rj ? rj->valuestring : NULL;
    return 0;
}

/* The hot path: a fresh token is answered without any allocation but the
 * reply; only a request that must wait is copied. */
static void op_token(mm_agent *a, mm_conn *c, mm_request *req)
{
    mm_profile *p = need_profile(a, c, req);
    double min_ttl;
    const char *rj;
    if (!p || token_args(c, req, &min_ttl, &rj) < 0)
        return;
    mm_secret *rejected = rj ? mm_secret_from_str(rj) : NULL;
    mm_token_decision d = decide(p, min_ttl, rejected, 0);
    if (d.action == MM_TOKEN_SERVE || d.action == MM_TOKEN_FAIL) {
        mm_secret_free(rejected);
        mm_conn_send(c, d.action == MM_TOKEN_SERVE ? credential_reply(p, req->id, req->op)
                                                   : failure_reply(p, req->id, d.why));
        return;
    }
    pending *pd = pending_new(c, req);
    if (!pd) {
        mm_secret_free(rejected);
        return;
    }
    pd->min_ttl = min_ttl;
    pd->rejected = rejected;
    park(p, pd, d.action);
}

/* ---- api keys, logout ---------------------------------------------------------- */

/* The new key replaces the old one only once it is in the keyring. */
static void api_key_saved(mm_profile *p, mm_err e, const char *why, const mm_secret *doc,
                          void *arg)
{
    (void)doc;
    pending *pd = arg;
    if (e != MM_OK || mm_profile_retired(p)) { /* the old key, if any, stays in place */
        pending_answer(pd, mm_proto_reply_err(pd->id, e != MM_OK ? e : MM_ERR_UNKNOWN_PROFILE,
                                              e != MM_OK ? why : "the profile was removed"));
        return;
    }
    mm_profile_set_cred(p, pd->key);
    pd->key = NULL;
    p->last_err = MM_OK;
    mm_profile_set_state(p, MM_PS_READY, MM_OK, NULL);
    mm_info("profile %s: API key stored in the %s", p->key.profile, mm_store_label());
    cJSON *r = mm_proto_reply_ok(pd->id);
    cJSON_AddStringToObject(r, "profile", p->key.profile);
    if (mm_store_in_use())
        cJSON_AddStringToObject(r, "store", mm_store_in_use());
    pending_answer(pd, r);
}

static void op_set_api_key(mm_agent *a, mm_conn *c, mm_request *req)
{
    mm_profile *p = need_profile(a, c, req);
    if (!p)
        return;
    const char *key = mm_json_str(req->root, "api_key");
    if (!key || !mm_policy_credential_ok(key)) {
        reply_err(c, req->id, MM_ERR_BAD_REQUEST, "\"api_key\" must be a bearer token: "
                  "letters, digits and - . _ ~ + / (then = padding), at most 16384 bytes");
        return;
    }
    if (p->cfg->kind != MM_KIND_API_KEY) {
        char msg[160];
        snprintf(msg, sizeof(msg), "this profile logs in with %s; API keys go into profiles "
                 "of kind \"api-key\"", p->cfg->kind == MM_KIND_OAUTH ? "OAuth"
                 : p->cfg->kind == MM_KIND_MIMIR ? "Mimir's own login" : "no credential");
        reply_err(c, req->id, MM_ERR_WRONG_KIND, msg);
        return;
    }
    pending *pd = pending_new(c, req);
    if (!pd)
        return;
    if (!(pd->key = mm_secret_from_str(key))) {
        pending_answer(pd, mm_proto_reply_err(pd->id, MM_ERR_NOMEM, NULL));
        return;
    }
    mm_profile_store(p, MM_STORE_SAVE, mm_profile_make_doc(p, key), api_key_saved, pd);
}

static void logged_out(mm_profile *p, mm_err e, const char *why, const mm_logout_result *lr,
                       void *arg)
{
    pending *pd = arg;
    if (e != MM_OK) {
        pending_answer(pd, mm_proto_reply_err(pd->id, e, why));
        return;
    }
    cJSON *r = mm_proto_reply_ok(pd->id);
    cJSON_AddStringToObject(r, "profile", p->key.profile);
    cJSON_AddBoolToObject(r, "erased", lr->erased);
    cJSON_AddBoolToObject(r, "revoked", lr->revoked);
    if (lr->revoke_err != MM_OK)
        cJSON_AddStringToObject(r, "revoke_error", lr->revoke_msg);
    pending_answer(pd, r);
}

static void op_logout(mm_agent *a, mm_conn *c, mm_request *req)
{
    mm_profile *p = need_profile(a, c, req);
    pending *pd = p ? pending_new(c, req) : NULL;
    if (!pd)
        return;
    mm_login_cancel(p);
    mm_logout_start(p, logged_out, pd);
}

/* ---- login ------------------------------------------------------------------------- */

static pending *of_login(mm_login_listener *l)
{
    return (pending *)((char *)l - offsetof(pending, login));
}

static void login_challenge(mm_login_listener *l, mm_profile *p, const mm_login_challenge *c)
{
    pending *pd = of_login(l);
    cJSON *r = mm_proto_reply_ok(pd->id);
    cJSON_AddStringToObject(r, "login_id", c->id);
    cJSON_AddStringToObject(r, "profile", p->key.profile);
    cJSON_AddStringToObject(r, "mode", c->device ? "device" : "browser");
    if (c->url) {
        cJSON_AddStringToObject(r, "url", c->url);
        cJSON_AddStringToObject(r, "redirect_uri", c->redirect_uri);
        cJSON_AddBoolToObject(r, "browser_opened", c->browser_opened);
    }
    if (c->user_code) {
        cJSON_AddStringToObject(r, "user_code", c->user_code);
        cJSON_AddStringToObject(r, "verification_uri", c->verification_uri);
        if (c->verification_uri_complete)
            cJSON_AddStringToObject(r, "verification_uri_complete",
                                    c->verification_uri_complete);
        mm_json_add_int(r, "interval", c->interval);
    }
    mm_json_add_int(r, "expires_at", (long long)c->expires_at);
    if (c->joined)
        cJSON_AddBoolToObject(r, "joined", 1);
    pending_answer(pd, r);
}

/* The outcome of a login, as login_wait reports it. */
static cJSON *login_outcome(const mm_profile *p, const cJSON *id, mm_err e, const char *msg)
{
    if (e != MM_OK)
        return mm_proto_reply_err(id, e, msg);
    cJSON *r = mm_proto_reply_ok(id);
    cJSON_AddStringToObject(r, "profile", p->key.profile);
    if (p->subject)
        cJSON_AddStringToObject(r, "subject", p->subject);
    if (p->access_exp)
        mm_json_add_int(r, "expires_at", (long long)p->access_exp);
    cJSON_AddBoolToObject(r, "refresh_token_stored", p->cred != NULL);
    return r;
}

static void login_ended(mm_login_listener *l, mm_profile *p, mm_err e, const char *msg)
{
    pending *pd = of_login(l);
    pending_answer(pd, login_outcome(p, pd->id, e, msg));
}

static int login_opts(const mm_request *req, mm_login_opts *o)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(req->root, "device");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(req->root, "open_browser");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(req->root, "timeout");
    if ((d && !cJSON_IsBool(d)) || (b && !cJSON_IsBool(b)) ||
        (t && (!cJSON_IsNumber(t) || !(t->valuedouble >= 1 && t->valuedouble <= 3600))))
        return -1;
    o->device = cJSON_IsTrue(d);
    o->open_browser = cJSON_IsTrue(b); /* the requester opens it, in its own environment */
    if (t)
        o->timeout_s = t->valuedouble;
    return 0;
}

/* Mimir's own login: username and password in the request (they never
 * touch argv or a file on the way; the password is kept only if asked). */
static mm_err login_password(mm_profile *p, const mm_request *req, const mm_login_opts *o,
                             pending *pd)
{
    const char *user = mm_json_str(req->root, "username");
    const char *pass = mm_json_str(req->root, "password");
    const cJSON *rem = cJSON_GetObjectItemCaseSensitive(req->root, "remember_password");
    if (!user || !user[0] || !pass || !pass[0] || strlen(user) > 256 || strlen(pass) > 1024 ||
        (rem && !cJSON_IsBool(rem)))
        return MM_ERR_BAD_REQUEST;
    return mm_login_password(p, o, user, pass, cJSON_IsTrue(rem), &pd->login);
}

static void op_login(mm_agent *a, mm_conn *c, mm_request *req)
{
    mm_profile *p = need_profile(a, c, req);
    if (!p)
        return;
    mm_login_opts o = {.timeout_s = a->login_timeout_s, .open_browser = 0};
    if (login_opts(req, &o) < 0) {
        reply_err(c, req->id, MM_ERR_BAD_REQUEST, "\"device\" and \"open_browser\" must be "
                  "booleans, \"timeout\" 1..3600 seconds");
        return;
    }
    pending *pd = pending_new(c, req);
    if (!pd)
        return;
    pd->login = (mm_login_listener){.challenge = login_challenge, .ended = login_ended};
    mm_err e = p->cfg->kind == MM_KIND_MIMIR ? login_password(p, req, &o, pd)
                                             : mm_login_start(p, &o, &pd->login);
    /* (pd may be answered already: nothing touches it below unless e says so) */
    if (e == MM_ERR_BAD_REQUEST)
        pending_answer(pd, mm_proto_reply_err(pd->id, e, "Mimir's own login needs \"username\" "
                                              "and \"password\" (strings), "
                                              "\"remember_password\" a boolean"));
    else if (e == MM_ERR_WRONG_KIND)
        pending_answer(pd, mm_proto_reply_err(pd->id, e, p->cfg->kind == MM_KIND_NONE
            ? "this server runs with security off: there is nothing to log in to"
            : "this profile does not log in; for api-key profiles use "
              "'mimir-helper set-api-key'"));
    else if (e == MM_ERR_LOGIN_IN_PROGRESS)
        pending_answer(pd, mm_proto_reply_err(pd->id, e, o.device
            ? "a browser login is already running for this profile; finish it or let it time out"
            : "a device login is already running for this profile"));
    else if (e != MM_OK)
        pending_answer(pd, mm_proto_reply_err(pd->id, e, NULL));
}

static void op_login_wait(mm_agent *a, mm_conn *c, mm_request *req)
{
    mm_profile *p = need_profile(a, c, req);
    if (!p)
        return;
    const char *id = mm_json_str(req->root, "login_id");
    if (!id) {
        reply_err(c, req->id, MM_ERR_BAD_REQUEST, "missing string field \"login_id\"");
        return;
    }
    pending *pd = pending_new(c, req);
    if (!pd)
        return;
    pd->login = (mm_login_listener){.ended = login_ended};
    int r = mm_login_wait(p, id, &pd->login);
    if (r < 0)
        pending_answer(pd, mm_proto_reply_err(pd->id, MM_ERR_UNKNOWN_LOGIN,
                                              "no login with this id on this profile"));
    else if (r == 0)
        pending_answer(pd, login_outcome(p, pd->id, p->last_login.err, p->last_login.msg));
}

/* ---- status and events ------------------------------------------------------------- */

static const char *storage_health(mm_err e)
{
    return e == MM_OK                      ? "ok"
           : e == MM_ERR_STORE_UNAVAILABLE ? "unavailable"
           : e == MM_ERR_STORE_LOCKED      ? "locked"
                                           : "error";
}

/* The store in use: what the last store call used, else what the config says. */
static const char *store_name(const mm_agent *a)
{
    const char *s = mm_store_in_use();
    return s ? s : a->cfg.store == MM_STORE_PREF_FILE ? "file" : "keyring";
}

static const char *vault_state(const mm_agent *a)
{
    struct stat st;
    if (mm_store_unlocked())
        return "unlocked";
    return lstat(a->vault_path, &st) == 0 ? "locked" : "absent";
}

static cJSON *profile_status(const mm_agent *a, const mm_profile *p)
{
    const mm_profile_cfg *c = p->cfg;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", c->name);
    cJSON_AddStringToObject(o, "kind", mm_kind_name(c->kind));
    cJSON_AddBoolToObject(o, "default", a->cfg.default_profile &&
                                            !strcmp(a->cfg.default_profile, c->name));
    cJSON_AddStringToObject(o, "state", mm_profile_state_name(p->state));
    const char *strs[][2] = {{"server_url", c->server_url}, {"issuer", c->issuer},
                             {"client_id", c->client_id}, {"subject", p->subject}};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        if (strs[i][1])
            cJSON_AddStringToObject(o, strs[i][0], strs[i][1]);
    cJSON_AddBoolToObject(o, "has_credential", p->cred != NULL);
    if (p->access && p->access_exp) /* absent: a token that does not expire */
        mm_json_add_int(o, "access_expires_at", (long long)p->access_exp);
    if (p->renew.next_at)
        mm_json_add_int(o, "next_refresh_at", (long long)p->renew.next_at);
    if (p->last_err != MM_OK) {
        cJSON *le = cJSON_AddObjectToObject(o, "last_error");
        cJSON_AddStringToObject(le, "code", mm_err_code(p->last_err));
        cJSON_AddStringToObject(le, "message", p->last_msg);
    }
    cJSON_AddStringToObject(o, "storage", storage_health(p->store_err));
    if (c->kind != MM_KIND_NONE)
        cJSON_AddStringToObject(o, "store", store_name(a));
    mm_json_add_int(o, "waiters", p->nwaiters);
    return o;
}

static void state_changed(mm_agent *a, mm_profile *p)
{
    if (!a->server || a->stopping)
        return;
    cJSON *ev = mm_proto_event("state");
    cJSON_AddStringToObject(ev, "profile", p->key.profile);
    cJSON_AddStringToObject(ev, "state", mm_profile_state_name(p->state));
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

static void op_status(mm_agent *a, mm_conn *c, mm_request *req)
{
    mm_profile *p = req->profile ? need_profile(a, c, req) : NULL;
    if (req->profile && !p)
        return;
    cJSON *r = mm_proto_reply_ok(req->id);
    if (p) {
        cJSON_AddItemToObject(r, "profile", profile_status(a, p));
    } else {
        cJSON_AddStringToObject(r, "config", a->config_path);
        cJSON_AddStringToObject(r, "store", store_name(a));
        if (!strcmp(store_name(a), "file"))
            cJSON_AddStringToObject(r, "vault", vault_state(a));
        if (a->cfg.default_profile)
            cJSON_AddStringToObject(r, "default_profile", a->cfg.default_profile);
        cJSON *arr = cJSON_AddArrayToObject(r, "profiles");
        for (mm_profile *q = a->profiles; q; q = q->next)
            cJSON_AddItemToArray(arr, profile_status(a, q));
    }
    mm_conn_send(c, r);
}

/* ---- tokens obtained elsewhere, servers not known yet ------------------------------ */

/* import_token: a Mimir token (say from Mimir's own editor extension) for a
 * profile of kind "mimir"; its expiry read from the JWT when it is one.
 * Stored first, then it replaces what the profile held. */
static void token_imported(mm_profile *p, mm_err e, const char *why, const mm_secret *doc,
                           void *arg)
{
    (void)doc;
    pending *pd = arg;
    if (e != MM_OK || mm_profile_retired(p)) {
        pending_answer(pd, mm_proto_reply_err(pd->id, e != MM_OK ? e : MM_ERR_UNKNOWN_PROFILE,
                                              e != MM_OK ? why : "the profile was removed"));
        return;
    }
    mm_jwt_claims c;
    mm_jwt_peek(pd->key->data, &c);
    mm_profile_forget(p);
    p->access = pd->key;
    pd->key = NULL;
    p->access_exp = c.exp;
    mm_profile_set_subject(p, c.sub);
    mm_jwt_claims_free(&c);
    p->last_err = MM_OK;
    mm_profile_set_state(p, MM_PS_READY, MM_OK, NULL);
    mm_info("profile %s: imported a token", p->key.profile);
    pending_answer(pd, login_outcome(p, pd->id, MM_OK, NULL));
}

static void op_import_token(mm_agent *a, mm_conn *c, mm_request *req)
{
    mm_profile *p = need_profile(a, c, req);
    if (!p)
        return;
    const char *tok = mm_json_str(req->root, "token");
    mm_jwt_claims cl = {0};
    if (!tok || !mm_policy_credential_ok(tok)) {
        reply_err(c, req->id, MM_ERR_BAD_REQUEST, "\"token\" must be a bearer token");
        return;
    }
    if (p->cfg->kind != MM_KIND_MIMIR) {
        reply_err(c, req->id, MM_ERR_WRONG_KIND, p->cfg->kind == MM_KIND_API_KEY
                  ? "an api-key profile takes its key with set_api_key"
                  : "tokens are imported into profiles of kind \"mimir\"");
        return;
    }
    mm_jwt_peek(tok, &cl);
    time_t exp = cl.exp;
    mm_jwt_claims_free(&cl);
    if (exp && exp <= time(NULL)) {
        reply_err(c, req->id, MM_ERR_BAD_REQUEST, "that token has expired already");
        return;
    }
    pending *pd = pending_new(c, req);
    if (!pd)
        return;
    if (!(pd->key = mm_secret_from_str(tok))) {
        pending_answer(pd, mm_proto_reply_err(pd->id, MM_ERR_NOMEM, NULL));
        return;
    }
    mm_profile_store(p, MM_STORE_SAVE, mm_profile_token_doc(p, tok, exp), token_imported, pd);
}

static void probed(void *arg, mm_err e, const char *why, const mm_probe_result *res)
{
    pending *pd = arg;
    if (e != MM_OK) {
        pending_answer(pd, mm_proto_reply_err(pd->id, e, why));
        return;
    }
    cJSON *r = mm_proto_reply_ok(pd->id);
    cJSON_AddStringToObject(r, "server_url", res->server_url);
    cJSON_AddBoolToObject(r, "security", res->security);
    cJSON_AddBoolToObject(r, "dev_login", res->dev_login);
    if (res->issuer)
        cJSON_AddStringToObject(r, "issuer", res->issuer);
    if (res->providers)
        cJSON_AddItemToObject(r, "oauth_providers", cJSON_Duplicate(res->providers, 1));
    cJSON *modes = cJSON_AddArrayToObject(r, "modes");
    if (!res->security)
        cJSON_AddItemToArray(modes, cJSON_CreateString("none"));
    if (res->issuer || res->providers)
        cJSON_AddItemToArray(modes, cJSON_CreateString("oauth"));
    if (res->dev_login)
        cJSON_AddItemToArray(modes, cJSON_CreateString("dev"));
    if (res->security)
        cJSON_AddItemToArray(modes, cJSON_CreateString("api-key"));
    pending_answer(pd, r);
}

static void op_probe(mm_agent *a, mm_conn *c, mm_request *req)
{
    const char *url = mm_json_str(req->root, "url");
    char why[512];
    if (!url || mm_url_check_secure(url, why, sizeof(why)) != MM_OK) {
        reply_err(c, req->id, MM_ERR_BAD_REQUEST, url ? why : "missing string field \"url\"");
        return;
    }
    pending *pd = pending_new(c, req);
    if (pd)
        mm_probe_start(a, url, probed, pd);
}

/* ---- the encrypted file store --------------------------------------------------------- */

static void unlocked(void *arg, mm_err e, const char *why, const mm_secret *doc)
{
    (void)doc;
    pending *pd = arg;
    mm_agent *a = pd->agent;
    a->vault_op = 0;
    if (e != MM_OK) {
        pending_answer(pd, mm_proto_reply_err(pd->id, e, why));
        return;
    }
    int unlock = pd->op == MM_OP_UNLOCK;
    mm_info("credential vault %s", unlock ? "unlocked" : "locked");
    mm_profiles_vault_changed(a, unlock);
    cJSON *r = mm_proto_reply_ok(pd->id);
    cJSON_AddStringToObject(r, "vault", unlock ? "unlocked" : "locked");
    pending_answer(pd, r);
}

static void op_unlock(mm_agent *a, mm_conn *c, mm_request *req)
{
    const char *pass = mm_json_str(req->root, "passphrase");
    const cJSON *cr = cJSON_GetObjectItemCaseSensitive(req->root, "create");
    if (req->op == MM_OP_UNLOCK && (!pass || !pass[0] || strlen(pass) > 1024 ||
                                    (cr && !cJSON_IsBool(cr)))) {
        reply_err(c, req->id, MM_ERR_BAD_REQUEST, "\"passphrase\" must be a non-empty string "
                  "of at most 1024 bytes, \"create\" a boolean");
        return;
    }
    /* One at a time: a second unlock queued behind a slow Argon2id would run
     * long after its client gave up.  And no lock while a refresh or a store
     * write is in flight: a rotated refresh token that cannot be written
     * after the lock is a lost login. */
    if (a->vault_op || (req->op == MM_OP_LOCK && mm_profiles_busy(a))) {
        reply_err(c, req->id, MM_ERR_STORE_BUSY, a->vault_op
                  ? "an unlock or lock of the vault is already running; try again when it "
                    "has finished"
                  : "a refresh is writing a new credential to the vault; lock again in a "
                    "moment");
        return;
    }
    pending *pd = pending_new(c, req);
    if (!pd)
        return;
    pd->agent = a;
    a->vault_op = 1;
    mm_secret *p = pass ? mm_secret_from_str(pass) : NULL;
    mm_store_op op = req->op == MM_OP_LOCK ? MM_STORE_LOCK
                     : cJSON_IsTrue(cr)    ? MM_STORE_UNLOCK_CREATE
                                           : MM_STORE_UNLOCK;
    /* Argon2id takes about a second on purpose: on the worker, like any store call. */
    mm_store_submit(a->worker, a->loop, op, NULL, p, a->keyring_timeout_ms, unlocked, pd);
}

/* ---- the rest ----------------------------------------------------------------------- */

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

static void op_reload(mm_agent *a, mm_conn *c, mm_request *req)
{
    char why[512];
    mm_err e = mm_profiles_load(a, why, sizeof(why));
    if (e != MM_OK) {
        mm_warn("reload failed, keeping the previous config: %s", why);
        reply_err(c, req->id, e, why);
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

static const op_handler handlers[MM_OP__COUNT] = {
    [MM_OP_HELLO] = op_hello,         [MM_OP_STATUS] = op_status,
    [MM_OP_TOKEN] = op_token,         [MM_OP_HEADERS] = op_token,
    [MM_OP_SET_API_KEY] = op_set_api_key, [MM_OP_LOGOUT] = op_logout,
    [MM_OP_RELOAD] = op_reload,       [MM_OP_LOGIN] = op_login,
    [MM_OP_LOGIN_WAIT] = op_login_wait, [MM_OP_SUBSCRIBE] = op_subscribe,
    [MM_OP_UNLOCK] = op_unlock,       [MM_OP_LOCK] = op_unlock,
    [MM_OP_IMPORT_TOKEN] = op_import_token, [MM_OP_PROBE] = op_probe,
};

void mm_ops_on_line(void *ctx, mm_conn *c, const char *line, size_t len)
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
        reply_err(c, req.id, e, e == MM_ERR_UNKNOWN_OP ? msg : why);
    } else {
        handlers[req.op](a, c, &req);
    }
    mm_request_free(&req);
}

/* A login nobody on the socket waits for: its outcome goes to the log (and
 * to subscribers, as state events). */
static void signin_told(mm_login_listener *l, mm_profile *p, const mm_login_challenge *c)
{
    (void)c;
    mm_info("profile %s: sign-in started from the desktop notification", p->key.profile);
    free(l);
}

static void signin_ended(mm_login_listener *l, mm_profile *p, mm_err e, const char *msg)
{
    if (e != MM_OK)
        mm_warn("profile %s: sign-in from the notification failed: %s", p->key.profile,
                msg ? msg : mm_err_code(e));
    free(l);
}

void mm_ops_signin(void *ctx, const char *name)
{
    mm_agent *a = ctx;
    mm_profile *p = mm_profiles_find(a, name);
    mm_login_listener *l = p ? calloc(1, sizeof(*l)) : NULL;
    if (!l)
        return;
    *l = (mm_login_listener){.challenge = signin_told, .ended = signin_ended};
    mm_login_opts o = {.open_browser = 1, .timeout_s = a->login_timeout_s};
    if (mm_login_start(p, &o, l) != MM_OK)
        free(l);
}

void mm_ops_init(mm_agent *a)
{
    a->hooks = (mm_agent_hooks){.state_changed = state_changed, .renew_due = mm_refresh_start};
}
