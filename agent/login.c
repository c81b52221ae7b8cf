/*
 * login.c - interactive login: authorization code + PKCE through the
 * browser and the loopback listener, or the device grant; logout.
 *
 * One login per profile at a time; a second `login` request joins the
 * running one.  The sequence, each step on the loop thread unless noted:
 *   login op -> (worker) discovery -> listener up, browser opened, reply
 *   -> /callback with matching state -> (worker) code exchange + ID token
 *   check -> (worker) keyring write -> login_wait waiters answered.
 * A deadline timer bounds the whole login; whatever happens, finish()
 * closes the listener, wipes the PKCE verifier and answers everyone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "browser.h"
#include "flow.h"
#include "log.h"
#include "login.h"
#include "loopback.h"

#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"

struct mm_login {
    mm_profile *p;
    char id[24];
    int device, open_browser, browser_opened, exchanging;
    mm_pstate prev_state;
    mm_secret *verifier; /* PKCE code_verifier: the proof only we can give */
    char state[48], nonce[48];
    char redirect_uri[64];
    char *url;
    char *issuer;  /* from the metadata the URL was built with: the cache may */
    int iss_param; /* expire or be replaced before the redirect comes back */
    mm_loopback *lb;
    mm_device_auth dev;
    uint64_t deadline_timer, poll_timer;
    time_t expires_at;
    mm_waiter *starters; /* `login` requests waiting for the URL / code */
    mm_waiter *waiters;  /* `login_wait` requests */
};

static void random_b64(char *out, size_t outlen, size_t nbytes)
{
    unsigned char raw[32];
    randombytes_buf(raw, nbytes);
    sodium_bin2base64(out, outlen, raw, nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

static void add_waiter(mm_waiter **list, mm_conn *c, const mm_request *req)
{
    mm_waiter *w = mm_waiter_new(c, req, 0);
    if (w) {
        w->next = *list;
        *list = w;
    }
}

/* Answer every waiter in list with a copy of body (ok) or the error. */
static void answer_all(mm_waiter **list, const cJSON *body, mm_err e, const char *msg)
{
    mm_waiter *w = *list;
    *list = NULL;
    while (w) {
        mm_waiter *next = w->next;
        cJSON *r;
        if (e != MM_OK) {
            r = mm_proto_reply_err(w->id, e, msg);
        } else {
            r = mm_proto_reply_ok(w->id);
            const cJSON *it;
            cJSON_ArrayForEach(it, body) cJSON_AddItemToObject(r, it->string,
                                                               cJSON_Duplicate(it, 1));
        }
        mm_waiter_finish(w, r);
        w = next;
    }
}

/* The challenge the user must act on: a URL, or a device code. */
static void answer_starters(mm_login *l, int joined)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "login_id", l->id);
    cJSON_AddStringToObject(b, "profile", l->p->key.profile);
    cJSON_AddStringToObject(b, "mode", l->device ? "device" : "browser");
    if (l->url) {
        cJSON_AddStringToObject(b, "url", l->url);
        cJSON_AddStringToObject(b, "redirect_uri", l->redirect_uri);
        cJSON_AddBoolToObject(b, "browser_opened", l->browser_opened);
    }
    if (l->dev.user_code) {
        cJSON_AddStringToObject(b, "user_code", l->dev.user_code);
        cJSON_AddStringToObject(b, "verification_uri", l->dev.verification_uri);
        if (l->dev.verification_uri_complete)
            cJSON_AddStringToObject(b, "verification_uri_complete",
                                    l->dev.verification_uri_complete);
        mm_json_add_int(b, "interval", l->dev.interval);
    }
    mm_json_add_int(b, "expires_at", (long long)l->expires_at);
    if (joined)
        cJSON_AddBoolToObject(b, "joined", 1);
    answer_all(&l->starters, b, MM_OK, NULL);
    cJSON_Delete(b);
}

/* ---- the end of a login ---------------------------------------------------- */

static void login_free(mm_login *l)
{
    mm_loop *loop = l->p->agent->loop;
    mm_loopback_stop(l->lb);
    mm_loop_del_timer(loop, l->deadline_timer);
    mm_loop_del_timer(loop, l->poll_timer);
    mm_secret_free(l->verifier);
    mm_device_auth_free(&l->dev);
    sodium_memzero(l->state, sizeof(l->state));
    sodium_memzero(l->nonce, sizeof(l->nonce));
    free(l->url);
    free(l->issuer);
    free(l);
}

static void finish(mm_login *l, mm_err e, const char *msg)
{
    mm_profile *p = l->p;
    p->login = NULL;
    snprintf(p->last_login_id, sizeof(p->last_login_id), "%s", l->id);
    p->last_login_err = e;
    snprintf(p->last_login_msg, sizeof(p->last_login_msg), "%s", msg ? msg : "");
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "profile", p->key.profile);
    if (e == MM_OK) {
        mm_info("profile %s: signed in as %s", p->key.profile, p->subject ? p->subject : "?");
        p->last_err = MM_OK;
        mm_profile_set_state(p, MM_PS_READY, MM_OK, NULL);
        if (p->subject)
            cJSON_AddStringToObject(body, "subject", p->subject);
        mm_json_add_int(body, "expires_at", (long long)p->access_exp);
        cJSON_AddBoolToObject(body, "refresh_token_stored", p->cred != NULL);
        mm_refresh_schedule(p);
    } else {
        mm_warn("profile %s: login failed: %s: %s", p->key.profile, mm_err_code(e), msg);
        mm_profile_set_state(p, l->prev_state, e, msg);
    }
    answer_all(&l->starters, body, e, msg);
    answer_all(&l->waiters, body, e, msg);
    cJSON_Delete(body);
    login_free(l);
    mm_profile_wake(p, MM_OK, NULL); /* token requests that waited on the login */
}

void mm_login_set_prev_state(mm_profile *p, mm_pstate s)
{
    if (p->login)
        p->login->prev_state = s;
}

void mm_login_cancel(mm_profile *p)
{
    if (p->login)
        finish(p->login, MM_ERR_LOGIN_REQUIRED, "the login was cancelled");
}

static void on_deadline(mm_loop *loop, void *data)
{
    (void)loop;
    mm_login *l = data;
    l->deadline_timer = 0;
    if (l->exchanging) /* the token request has its own HTTP deadline */
        return;
    finish(l, MM_ERR_TIMEOUT, "the login was not completed in time; the redirect "
           "listener is closed");
}

/* ---- tokens arrived ------------------------------------------------------------ */

static void saved(mm_profile *p, mm_err e, const char *why, mm_secret *doc, void *arg)
{
    (void)doc, (void)why;
    mm_login *l = arg;
    if (p->login != l) /* cancelled (logout, reload) while the write ran */
        return;
    if (e != MM_OK) /* the login worked; the refresh token lives in memory */
        mm_warn("profile %s: signed in, but the refresh token could not be stored; it will "
                "be lost when the agent stops", p->key.profile);
    finish(l, MM_OK, NULL);
}

/* Adopt a successful token response (login or refresh). */
void mm_login_adopt_tokens(mm_profile *p, mm_flow *f)
{
    mm_tokens *t = &f->tokens;
    mm_secret_clear(&p->access);
    p->access = t->access;
    t->access = NULL;
    p->access_exp = t->expires_at;
    p->access_iat = t->issued_at;
    if (f->claims.sub) {
        free(p->subject);
        p->subject = strdup(f->claims.sub);
    }
    if (t->scope) {
        free(p->scope);
        p->scope = strdup(t->scope);
    }
}

static void revoked_quietly(mm_flow *f)
{
    if (f->err != MM_OK)
        mm_warn("profile %s: could not revoke a superseded refresh token: %s",
                f->p->key.profile, f->why);
}

/* Best effort: a refresh token we will not keep should not stay valid. */
static void revoke_quietly(mm_profile *p, mm_secret *rt)
{
    mm_flow *f = rt ? mm_flow_new(p, MM_FLOW_REVOKE, revoked_quietly, NULL) : NULL;
    if (!f) {
        mm_secret_free(rt);
        return;
    }
    f->secret = rt;
    mm_flow_submit(f);
}

static void exchanged(mm_flow *f)
{
    mm_profile *p = f->p;
    mm_login *l = f->arg;
    if (p->login != l) /* cancelled meanwhile */
        return;
    l->exchanging = 0;
    if (f->err != MM_OK) {
        if (!strcmp(f->tokens.oauth_error, "access_denied"))
            f->err = MM_ERR_ACCESS_DENIED;
        /* e.g. a refused ID token: the tokens that came with it are unwanted */
        revoke_quietly(p, f->tokens.refresh);
        f->tokens.refresh = NULL;
        finish(l, f->err, f->why);
        return;
    }
    mm_login_adopt_tokens(p, f);
    if (p->cred && !(f->tokens.refresh && mm_secret_equal(p->cred->data,
                                                          f->tokens.refresh->data)))
        revoke_quietly(p, p->cred); /* the previous login's, now superseded */
    else
        mm_secret_free(p->cred);
    p->cred = NULL;
    if (f->tokens.refresh) {
        p->cred = f->tokens.refresh;
        f->tokens.refresh = NULL;
        mm_store_submit_save(p, mm_profile_make_doc(p, p->cred->data), saved, l);
    } else { /* nothing long-lived: drop any older item, it belongs to a past login */
        mm_info("profile %s: no refresh token issued (add offline_access to the scope?)",
                p->key.profile);
        mm_store_submit_erase(p, saved, l);
    }
}

static void submit_token(mm_login *l, mm_form form)
{
    mm_flow *f = mm_flow_new(l->p, MM_FLOW_TOKEN, exchanged, l);
    if (!f) {
        mm_form_free(&form);
        finish(l, MM_ERR_NOMEM, "out of memory");
        return;
    }
    f->form = form;
    f->want_id_token = 1;
    f->nonce = l->device ? NULL : strdup(l->nonce);
    l->exchanging = 1;
    mm_flow_submit(f);
}

/* ---- browser flow -------------------------------------------------------------- */

static void stop_listener(mm_loop *loop, void *data)
{
    (void)loop;
    mm_loopback_stop(data);
}

/* The verdict is final: close the listener on the next loop turn (we are
 * running inside it) and forget it here. */
static void detach_listener(mm_login *l)
{
    mm_loop_add_timer(l->p->agent->loop, 0, stop_listener, l->lb);
    l->lb = NULL;
}

static int secret_eq(const char *a, const char *b)
{
    return a && b && strlen(a) == strlen(b) && sodium_memcmp(a, b, strlen(a)) == 0;
}

static mm_cb_verdict on_callback(void *ctx, const mm_callback *cb, char *msg, size_t msglen)
{
    mm_login *l = ctx;
    mm_profile *p = l->p;
    if (l->exchanging || !l->lb) {
        snprintf(msg, msglen, "This sign-in was already received.");
        return MM_CB_IGNORE;
    }
    if (!secret_eq(cb->state, l->state)) {
        mm_warn("profile %s: ignored a redirect with a missing or wrong state", p->key.profile);
        snprintf(msg, msglen, "The response does not belong to the sign-in in progress "
                 "(state mismatch). Start the sign-in again from Mimir.");
        return MM_CB_IGNORE;
    }
    /* RFC 9207: with a valid state, a wrong iss means a mix-up attack. */
    if ((cb->iss || l->iss_param) && (!cb->iss || strcmp(cb->iss, l->issuer))) {
        snprintf(msg, msglen, "The response came from an unexpected issuer.");
        detach_listener(l);
        finish(l, MM_ERR_STATE_MISMATCH, "the authorization response's \"iss\" does not "
               "match the issuer (RFC 9207)");
        return MM_CB_FAILED;
    }
    if (cb->error || !cb->code) {
        char why[300];
        snprintf(why, sizeof(why), "the identity provider answered %s%s%.200s",
                 cb->error ? cb->error : "without a code", cb->error_description ? ": " : "",
                 cb->error_description ? cb->error_description : "");
        snprintf(msg, msglen, "Sign-in did not complete: %s.", why);
        detach_listener(l);
        finish(l, cb->error && !strcmp(cb->error, "access_denied") ? MM_ERR_ACCESS_DENIED
                                                                    : MM_ERR_IDP, why);
        return MM_CB_FAILED;
    }
    mm_form form = {0};
    mm_form_add(&form, "grant_type", "authorization_code");
    mm_form_add(&form, "code", cb->code);
    mm_form_add(&form, "redirect_uri", l->redirect_uri);
    mm_form_add(&form, "client_id", p->cfg->client_id);
    mm_form_add(&form, "code_verifier", l->verifier->data);
    if (p->cfg->resource)
        mm_form_add(&form, "resource", p->cfg->resource);
    detach_listener(l);
    submit_token(l, form);
    return MM_CB_SUCCESS;
}

static void add_param(char **url, const char *k, const char *v)
{
    char *ev = mm_url_escape(v);
    size_t n = strlen(*url) + strlen(k) + (ev ? strlen(ev) : 0) + 3;
    char *u = malloc(n);
    if (u && ev)
        snprintf(u, n, "%s%c%s=%s", *url, strchr(*url, '?') ? '&' : '?', k, ev);
    free(ev);
    free(*url);
    *url = u && ev ? u : (free(u), NULL);
}

static char *authorization_url(mm_login *l, const mm_oauth_meta *m)
{
    const mm_profile_cfg *c = l->p->cfg;
    unsigned char hash[crypto_hash_sha256_BYTES];
    char challenge[64];
    crypto_hash_sha256(hash, (const unsigned char *)l->verifier->data, l->verifier->len);
    sodium_bin2base64(challenge, sizeof(challenge), hash, sizeof(hash),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *url = strdup(m->authorization_endpoint);
    const char *kv[][2] = {{"response_type", "code"},     {"client_id", c->client_id},
                           {"redirect_uri", l->redirect_uri},
                           {"scope", c->scope ? c->scope : MM_DEFAULT_SCOPE},
                           {"state", l->state},          {"nonce", l->nonce},
                           {"code_challenge", challenge}, {"code_challenge_method", "S256"},
                           {"resource", c->resource},    {"audience", c->audience}};
    for (size_t i = 0; url && i < sizeof(kv) / sizeof(kv[0]); i++)
        if (kv[i][1])
            add_param(&url, kv[i][0], kv[i][1]);
    const cJSON *it;
    cJSON_ArrayForEach(it, c->auth_params) if (url) add_param(&url, it->string, it->valuestring);
    return url;
}

static void begin_browser(mm_login *l, const mm_oauth_meta *m)
{
    mm_profile *p = l->p;
    char why[300];
    if (!m->s256 || !m->authorization_endpoint) {
        mm_err e = m->s256 ? MM_ERR_IDP : MM_ERR_PKCE_UNSUPPORTED;
        snprintf(why, sizeof(why), m->s256 ? "%s has no authorization endpoint"
                 : "%s does not advertise PKCE with S256; Mimir refuses to log in without it",
                 m->issuer);
        mm_flow_forget_meta(p); /* m dies here: the next login asks the IdP again */
        finish(l, e, why);
        return;
    }
    l->lb = mm_loopback_start(p->agent->loop, p->cfg->redirect_port, on_callback, l, why,
                              sizeof(why));
    if (!l->lb) {
        finish(l, MM_ERR_IO, why);
        return;
    }
    snprintf(l->redirect_uri, sizeof(l->redirect_uri), "http://127.0.0.1:%d/callback",
             mm_loopback_port(l->lb));
    l->iss_param = m->iss_param;
    if (!(l->issuer = strdup(m->issuer)) || !(l->url = authorization_url(l, m))) {
        finish(l, MM_ERR_NOMEM, "out of memory");
        return;
    }
    if (l->open_browser)
        l->browser_opened = mm_browser_open(l->url) == 0;
    answer_starters(l, 0);
}

/* ---- device flow ------------------------------------------------------------------ */

static void poll_device(mm_loop *loop, void *data);

static void polled(mm_flow *f)
{
    mm_login *l = f->arg;
    if (f->p->login != l)
        return;
    l->exchanging = 0;
    const char *oe = f->tokens.oauth_error;
    if (f->err == MM_OK) {
        exchanged(f);
        return;
    }
    if (!strcmp(oe, "access_denied") || !strcmp(oe, "expired_token")) {
        finish(l, oe[0] == 'a' ? MM_ERR_ACCESS_DENIED : MM_ERR_TIMEOUT, f->why);
        return;
    }
    if (!strcmp(oe, "slow_down"))
        l->dev.interval += 5; /* RFC 8628 3.5 */
    else if (oe[0] && strcmp(oe, "authorization_pending")) {
        finish(l, f->err, f->why);
        return;
    }
    /* pending, slow_down, or a transient failure: poll again until expiry */
    if (time(NULL) + l->dev.interval >= l->dev.expires_at) {
        finish(l, MM_ERR_TIMEOUT, "the device code expired before the login was approved");
        return;
    }
    l->poll_timer = mm_loop_add_timer(f->p->agent->loop, (uint64_t)l->dev.interval * 1000,
                                      poll_device, l);
}

static void poll_device(mm_loop *loop, void *data)
{
    (void)loop;
    mm_login *l = data;
    l->poll_timer = 0;
    mm_flow *f = mm_flow_new(l->p, MM_FLOW_TOKEN, polled, l);
    if (!f) {
        finish(l, MM_ERR_NOMEM, "out of memory");
        return;
    }
    mm_form_add(&f->form, "grant_type", DEVICE_GRANT);
    mm_form_add(&f->form, "device_code", l->dev.device_code->data);
    mm_form_add(&f->form, "client_id", l->p->cfg->client_id);
    f->want_id_token = 1;
    l->exchanging = 1;
    mm_flow_submit(f);
}

static void device_authorized(mm_flow *f)
{
    mm_login *l = f->arg;
    if (f->p->login != l)
        return;
    if (f->err != MM_OK) {
        finish(l, f->err, f->why);
        return;
    }
    l->dev = f->dev;
    memset(&f->dev, 0, sizeof(f->dev));
    if (l->dev.expires_at < l->expires_at)
        l->expires_at = l->dev.expires_at;
    answer_starters(l, 0);
    l->poll_timer = mm_loop_add_timer(f->p->agent->loop, (uint64_t)l->dev.interval * 1000,
                                      poll_device, l);
}

/* ---- start ---------------------------------------------------------------------------- */

static void discovered(mm_flow *f)
{
    mm_login *l = f->arg;
    if (f->p->login != l)
        return;
    if (f->err != MM_OK)
        finish(l, f->err, f->why);
    else
        begin_browser(l, &f->meta);
}

static void start_flow(mm_login *l)
{
    mm_profile *p = l->p;
    const mm_oauth_meta *m = mm_flow_cached_meta(p);
    if (!l->device && m) { /* cached: no worker round trip */
        begin_browser(l, m);
        return;
    }
    mm_flow *f = mm_flow_new(p, l->device ? MM_FLOW_DEVICE_AUTH : MM_FLOW_DISCOVER,
                             l->device ? device_authorized : discovered, l);
    if (!f) {
        finish(l, MM_ERR_NOMEM, "out of memory");
        return;
    }
    if (l->device) {
        mm_form_add(&f->form, "client_id", p->cfg->client_id);
        mm_form_add(&f->form, "scope", p->cfg->scope ? p->cfg->scope : MM_DEFAULT_SCOPE);
        if (p->cfg->resource)
            mm_form_add(&f->form, "resource", p->cfg->resource);
    }
    mm_flow_submit(f);
}

static int parse_login_opts(const mm_request *req, int *device, int *open_browser,
                            double *timeout)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(req->root, "device");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(req->root, "open_browser");
    if ((d && !cJSON_IsBool(d)) || (b && !cJSON_IsBool(b)))
        return -1;
    *device = cJSON_IsTrue(d);
    *open_browser = !b || cJSON_IsTrue(b);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(req->root, "timeout");
    if (t && (!cJSON_IsNumber(t) || t->valuedouble < 1 || t->valuedouble > 3600))
        return -1;
    if (t)
        *timeout = t->valuedouble;
    return 0;
}

void mm_login_op(mm_profile *p, mm_conn *c, mm_request *req)
{
    if (p->cfg->kind != MM_KIND_OAUTH) {
        mm_conn_send(c, mm_proto_reply_err(req->id, MM_ERR_WRONG_KIND, "api-key profiles do "
                     "not log in; use 'mimir-helper set-api-key'"));
        return;
    }
    int device, open_browser;
    double timeout = p->agent->login_timeout_s;
    if (parse_login_opts(req, &device, &open_browser, &timeout) < 0) {
        mm_conn_send(c, mm_proto_reply_err(req->id, MM_ERR_BAD_REQUEST, "\"device\" and "
                     "\"open_browser\" must be booleans, \"timeout\" 1..3600 seconds"));
        return;
    }
    if (p->login && p->login->device != device) { /* cannot join: other flow */
        mm_conn_send(c, mm_proto_reply_err(req->id, MM_ERR_LOGIN_IN_PROGRESS,
                     p->login->device ? "a device login is already running for this profile"
                                      : "a browser login is already running for this "
                                        "profile; finish it or let it time out"));
        return;
    }
    if (p->login) { /* join: one login per profile */
        add_waiter(&p->login->starters, c, req);
        if (p->login->url || p->login->dev.user_code) /* already started: replay */
            answer_starters(p->login, 1);
        return;
    }
    mm_login *l = calloc(1, sizeof(*l));
    char v[64];
    random_b64(v, sizeof(v), 32); /* 43 chars: RFC 7636 wants 43..128 */
    if (!l || !(l->verifier = mm_secret_from_str(v))) {
        free(l);
        mm_conn_send(c, mm_proto_reply_err(req->id, MM_ERR_NOMEM, NULL));
        return;
    }
    sodium_memzero(v, sizeof(v));
    l->p = p;
    l->device = device;
    l->open_browser = open_browser;
    random_b64(l->id, sizeof(l->id), 12);
    random_b64(l->state, sizeof(l->state), 32);
    random_b64(l->nonce, sizeof(l->nonce), 32);
    l->expires_at = time(NULL) + (time_t)timeout;
    l->prev_state = p->state == MM_PS_LOADING ? MM_PS_LOGIN_REQUIRED : p->state;
    l->deadline_timer = mm_loop_add_timer(p->agent->loop, (uint64_t)(timeout * 1000),
                                          on_deadline, l);
    p->login = l;
    add_waiter(&l->starters, c, req);
    mm_profile_set_state(p, MM_PS_LOGGING_IN, MM_OK, NULL);
    start_flow(l);
}

void mm_login_wait_op(mm_profile *p, mm_conn *c, mm_request *req)
{
    const char *id = mm_json_str(req->root, "login_id");
    if (!id) {
        mm_conn_send(c, mm_proto_reply_err(req->id, MM_ERR_BAD_REQUEST,
                                           "missing string field \"login_id\""));
        return;
    }
    if (p->login && !strcmp(p->login->id, id)) {
        add_waiter(&p->login->waiters, c, req);
        return;
    }
    if (strcmp(p->last_login_id, id)) {
        mm_conn_send(c, mm_proto_reply_err(req->id, MM_ERR_UNKNOWN_LOGIN,
                                           "no login with this id on this profile"));
        return;
    }
    if (p->last_login_err != MM_OK) {
        mm_conn_send(c, mm_proto_reply_err(req->id, p->last_login_err, p->last_login_msg));
        return;
    }
    cJSON *r = mm_proto_reply_ok(req->id);
    cJSON_AddStringToObject(r, "profile", p->key.profile);
    if (p->subject)
        cJSON_AddStringToObject(r, "subject", p->subject);
    mm_json_add_int(r, "expires_at", (long long)p->access_exp);
    mm_conn_send(c, r);
}

/* ---- logout ------------------------------------------------------------------------------ */

typedef struct {
    mm_store_done done;
    void *arg;
    mm_err revoke_err;
    char revoke_msg[256];
    int revoked;
} logout_ctx;

static logout_ctx *last_logout; /* annotate() reads it right after done() */

static void logout_erased(mm_profile *p, mm_err e, const char *why, mm_secret *doc, void *arg)
{
    logout_ctx *x = arg;
    last_logout = x;
    x->done(p, e, why, doc, x->arg);
    last_logout = NULL;
    free(x);
}

static void logout_revoked(mm_flow *f)
{
    logout_ctx *x = f->arg;
    x->revoked = f->err == MM_OK;
    if (f->err != MM_OK) {
        x->revoke_err = f->err;
        snprintf(x->revoke_msg, sizeof(x->revoke_msg), "%s", f->why);
        mm_warn("profile %s: revocation failed: %s", f->p->key.profile, f->why);
    }
    mm_store_submit_erase(f->p, logout_erased, x);
}

void mm_logout_start(mm_profile *p, mm_store_done done, void *arg)
{
    logout_ctx *x = calloc(1, sizeof(*x));
    if (!x) {
        done(p, MM_ERR_NOMEM, "out of memory", NULL, arg);
        return;
    }
    x->done = done;
    x->arg = arg;
    mm_secret *rt = p->cfg->kind == MM_KIND_OAUTH ? p->cred : NULL;
    if (rt)
        p->cred = NULL; /* moves into the revoke job */
    mm_profile_forget(p);
    mm_flow *f = rt ? mm_flow_new(p, MM_FLOW_REVOKE, logout_revoked, x) : NULL;
    if (!f) {
        mm_secret_free(rt);
        mm_store_submit_erase(p, logout_erased, x);
        return;
    }
    f->secret = rt;
    mm_flow_submit(f);
}

void mm_logout_annotate(mm_profile *p, cJSON *reply)
{
    (void)p;
    cJSON_AddBoolToObject(reply, "revoked", last_logout && last_logout->revoked);
    if (last_logout && last_logout->revoke_err != MM_OK)
        cJSON_AddStringToObject(reply, "revoke_error", last_logout->revoke_msg);
}
