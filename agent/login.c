/*
 * login.c - interactive login (see login.h).
 *
 * The browser sequence, each step on the loop thread:
 *   start -> discovery (a flow, or the metadata cache) -> listener up, browser
 *   opened if asked, challenge told -> /callback with the right state ->
 *   code exchange + ID token check (a flow) -> keyring write -> outcome told.
 * The device sequence: device authorization (a flow) -> challenge told ->
 * polling the token endpoint at the IdP's interval -> keyring write ->
 * outcome told.  A deadline timer bounds the whole login; whatever happens,
 * finish() closes the listener, wipes the PKCE verifier and tells everyone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "login.h"
#include "loopback.h"
#include "mimir/opener.h"

#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"

struct mm_login {
    mm_profile *p; /* held for the login's life */
    char id[24];
    int device, open_browser, browser_opened, exchanging;
    mm_secret *verifier; /* PKCE code_verifier: the proof only we can give */
    char state[48], nonce[48];
    char redirect_uri[64];
    char *url;
    char *issuer;  /* from the metadata the URL was built with: the cache may */
    int iss_param; /* expire or be replaced before the redirect comes back */
    mm_loopback *lb;
    mm_flow *flow; /* the flow in flight: its completion finds the login by it */
    int saving;    /* the keyring write of the new tokens is in flight */
    mm_device_auth dev;
    mm_secret *password; /* Mimir's login: kept only when it is to be remembered */
    char *username;
    uint64_t deadline_timer, poll_timer;
    time_t expires_at;
    mm_login_listener *starters; /* waiting for the challenge */
    mm_login_listener *waiters;  /* waiting for the outcome */
};

static void random_b64(char *out, size_t outlen, size_t nbytes)
{
    unsigned char raw[32];
    randombytes_buf(raw, nbytes);
    sodium_bin2base64(out, outlen, raw, nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

static void push(mm_login_listener **list, mm_login_listener *l)
{
    l->next = *list;
    *list = l;
}

static void challenge_of(const mm_login *l, int joined, mm_login_challenge *c)
{
    *c = (mm_login_challenge){
        .id = l->id, .device = l->device, .url = l->url,
        .redirect_uri = l->url ? l->redirect_uri : NULL, .browser_opened = l->browser_opened,
        .user_code = l->dev.user_code, .verification_uri = l->dev.verification_uri,
        .verification_uri_complete = l->dev.verification_uri_complete,
        .interval = l->dev.interval, .expires_at = l->expires_at, .joined = joined};
}

/* The challenge is known: every starter hears it and is done. */
static void tell_starters(mm_login *l, int joined)
{
    mm_login_challenge c;
    challenge_of(l, joined, &c);
    mm_login_listener *s = l->starters;
    l->starters = NULL;
    while (s) {
        mm_login_listener *next = s->next;
        s->challenge(s, l->p, &c);
        s = next;
    }
}

static void tell_ended(mm_login_listener *list, mm_profile *p, mm_err e, const char *msg)
{
    while (list) {
        mm_login_listener *next = list->next;
        list->ended(list, p, e, msg);
        list = next;
    }
}

/* ---- the end of a login --------------------------------------------------- */

static void login_free(mm_login *l)
{
    mm_loop *loop = l->p->agent->loop;
    mm_loopback_stop(l->lb);
    mm_loop_del_timer(loop, l->deadline_timer);
    mm_loop_del_timer(loop, l->poll_timer);
    mm_secret_free(l->verifier);
    mm_secret_free(l->password);
    free(l->username);
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
    snprintf(p->last_login.id, sizeof(p->last_login.id), "%s", l->id);
    p->last_login.err = e;
    snprintf(p->last_login.msg, sizeof(p->last_login.msg), "%s", msg ? msg : "");
    if (e == MM_OK) {
        mm_info("profile %s: signed in as %s", p->key.profile, p->subject ? p->subject : "?");
        p->last_err = MM_OK;
        mm_profile_set_state(p, MM_PS_READY, MM_OK, NULL);
        mm_profile_schedule_renewal(p);
    } else {
        mm_warn("profile %s: login failed: %s: %s", p->key.profile, mm_err_code(e),
                msg ? msg : mm_err_describe(e));
        p->last_err = e;
        snprintf(p->last_msg, sizeof(p->last_msg), "%s", msg ? msg : mm_err_describe(e));
        if (!mm_profile_retired(p))
            mm_profile_settle(p);
    }
    mm_login_listener *starters = l->starters, *waiters = l->waiters;
    l->starters = l->waiters = NULL;
    login_free(l);
    tell_ended(starters, p, e, msg);
    tell_ended(waiters, p, e, msg);
    if (!mm_profile_retired(p))
        mm_profile_wake(p, MM_OK, NULL); /* anyone parked decides again */
    mm_profile_release(p);
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

/* ---- tokens arrived --------------------------------------------------------- */

/* The login a completed flow belongs to, or NULL when it was cancelled
 * meanwhile (the flow outlives a cancelled login: no pointer into the freed
 * login is kept, only the login's record of its own flow). */
static mm_login *login_of(mm_flow *f)
{
    mm_profile *p = f->owner;
    mm_login *l = p->login;
    if (!l || l->flow != f)
        return NULL;
    l->flow = NULL;
    return l;
}

static void submit(mm_login *l, mm_flow *f)
{
    l->flow = f;
    mm_flow_submit(f);
}

static void saved(mm_profile *p, mm_err e, const char *why, const mm_secret *doc, void *arg)
{
    (void)doc, (void)why, (void)arg;
    mm_login *l = p->login;
    if (!l || !l->saving) /* cancelled (logout, reload) while the write ran */
        return;
    l->saving = 0;
    if (e != MM_OK) /* the login worked; the refresh token lives in memory */
        mm_warn("profile %s: signed in, but the refresh token could not be stored; it will "
                "be lost when the agent stops", p->key.profile);
    finish(l, MM_OK, NULL);
}

/* The token endpoint accepted the code (or the device code). */
static void adopt(mm_login *l, mm_flow *f)
{
    mm_profile *p = l->p;
    mm_profile_adopt_tokens(p, &f->tokens, f->claims.sub);
    mm_secret *rt = f->tokens.refresh;
    f->tokens.refresh = NULL;
    if (p->cred && !(rt && mm_secret_equal(p->cred->data, rt->data))) {
        mm_profile_revoke_quietly(p, p->cred); /* the previous login's, now superseded */
        p->cred = NULL;
    }
    mm_profile_set_cred(p, rt);
    l->saving = 1;
    if (rt) {
        mm_profile_store(p, MM_STORE_SAVE, mm_profile_make_doc(p, rt->data), saved, NULL);
    } else { /* nothing long-lived: drop any older item, it belongs to a past login */
        mm_info("profile %s: no refresh token issued (add offline_access to the scope?)",
                p->key.profile);
        mm_profile_store(p, MM_STORE_ERASE, NULL, saved, NULL);
    }
}

static void exchanged(mm_flow *f)
{
    mm_login *l = login_of(f);
    mm_profile *p = f->owner;
    if (!l)
        return;
    l->exchanging = 0;
    if (f->err != MM_OK) {
        if (f->tokens.error == MM_OAUTH_ERR_ACCESS_DENIED)
            f->err = MM_ERR_ACCESS_DENIED;
        /* e.g. a refused ID token: the tokens that came with it are unwanted */
        mm_profile_revoke_quietly(p, f->tokens.refresh);
        f->tokens.refresh = NULL;
        finish(l, f->err, f->why);
        return;
    }
    adopt(l, f);
}

static void submit_token(mm_login *l, mm_flow *f)
{
    f->want_id_token = 1;
    f->nonce = l->device ? NULL : strdup(l->nonce);
    l->exchanging = 1;
    submit(l, f);
}

/* ---- browser flow ------------------------------------------------------------ */

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

static mm_cb_verdict callback_error(mm_login *l, const mm_callback *cb, char *msg, size_t msglen)
{
    char why[300];
    snprintf(why, sizeof(why), "the identity provider answered %.64s%s%.200s",
             cb->error ? cb->error : "without a code", cb->error_description ? ": " : "",
             cb->error_description ? cb->error_description : "");
    mm_oauth_printable(why);
    snprintf(msg, msglen, "Sign-in did not complete: %s.", why);
    detach_listener(l);
    mm_err e = mm_oauth_error_from_string(cb->error) == MM_OAUTH_ERR_ACCESS_DENIED
                   ? MM_ERR_ACCESS_DENIED
                   : MM_ERR_IDP;
    finish(l, e, why);
    return MM_CB_FAILED;
}

static mm_cb_verdict on_callback(void *ctx, const mm_callback *cb, char *msg, size_t msglen)
{
    mm_login *l = ctx;
    mm_profile *p = l->p;
    if (l->exchanging || !l->lb) {
        snprintf(msg, msglen, "This sign-in was already received.");
        return MM_CB_IGNORE;
    }
    if (!cb->state || !mm_secret_equal(cb->state, l->state)) {
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
    if (cb->error || !cb->code)
        return callback_error(l, cb, msg, msglen);
    mm_flow *f = mm_profile_flow(p, MM_FLOW_TOKEN, exchanged, NULL);
    detach_listener(l);
    if (!f) {
        finish(l, MM_ERR_NOMEM, "out of memory");
        return MM_CB_FAILED;
    }
    mm_form_add(&f->form, "grant_type", "authorization_code");
    mm_form_add(&f->form, "code", cb->code);
    mm_form_add(&f->form, "redirect_uri", l->redirect_uri);
    mm_form_add(&f->form, "client_id", p->cfg->client_id);
    mm_form_add(&f->form, "code_verifier", l->verifier->data);
    if (p->cfg->resource)
        mm_form_add(&f->form, "resource", p->cfg->resource);
    submit_token(l, f);
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
        mm_flow_target t;
        mm_profile_target(p, &t);
        mm_flow_cache_forget(t.cache_key); /* m dies here: the next login asks again */
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
    if (l->open_browser) { /* asked for by the requester: the agent's own environment */
        char bwhy[300];
        l->browser_opened = mm_opener_run(l->url, 2, bwhy, sizeof(bwhy)) == MM_OK;
        if (!l->browser_opened)
            mm_warn("profile %s: %s", p->key.profile, bwhy);
    }
    tell_starters(l, 0);
}

/* ---- device flow ---------------------------------------------------------------- */

static void poll_device(mm_loop *loop, void *data);

static void schedule_poll(mm_login *l)
{
    l->poll_timer = mm_loop_add_timer(l->p->agent->loop, (uint64_t)l->dev.interval * 1000,
                                      poll_device, l);
}

static void polled(mm_flow *f)
{
    mm_login *l = login_of(f);
    if (!l)
        return;
    l->exchanging = 0;
    if (f->err == MM_OK) {
        adopt(l, f);
        return;
    }
    switch (f->tokens.error) {
    case MM_OAUTH_ERR_ACCESS_DENIED: finish(l, MM_ERR_ACCESS_DENIED, f->why); return;
    case MM_OAUTH_ERR_EXPIRED_TOKEN: finish(l, MM_ERR_TIMEOUT, f->why); return;
    case MM_OAUTH_ERR_SLOW_DOWN: l->dev.interval += 5; break; /* RFC 8628 3.5 */
    case MM_OAUTH_ERR_AUTHORIZATION_PENDING: /* the user has not approved yet */
    case MM_OAUTH_ERR_NONE: break;           /* a transient failure: poll again */
    default: finish(l, f->err, f->why); return;
    }
    if (time(NULL) + l->dev.interval >= l->dev.expires_at) {
        finish(l, MM_ERR_TIMEOUT, "the device code expired before the login was approved");
        return;
    }
    schedule_poll(l);
}

static void poll_device(mm_loop *loop, void *data)
{
    (void)loop;
    mm_login *l = data;
    l->poll_timer = 0;
    mm_flow *f = mm_profile_flow(l->p, MM_FLOW_TOKEN, polled, NULL);
    if (!f) {
        finish(l, MM_ERR_NOMEM, "out of memory");
        return;
    }
    mm_form_add(&f->form, "grant_type", DEVICE_GRANT);
    mm_form_add(&f->form, "device_code", l->dev.device_code->data);
    mm_form_add(&f->form, "client_id", l->p->cfg->client_id);
    submit_token(l, f);
}

static void device_authorized(mm_flow *f)
{
    mm_login *l = login_of(f);
    if (!l)
        return;
    if (f->err != MM_OK) {
        finish(l, f->err, f->why);
        return;
    }
    l->dev = f->dev;
    memset(&f->dev, 0, sizeof(f->dev));
    if (l->dev.expires_at < l->expires_at)
        l->expires_at = l->dev.expires_at;
    tell_starters(l, 0);
    schedule_poll(l);
}

/* ---- start ------------------------------------------------------------------------ */

static void discovered(mm_flow *f)
{
    mm_login *l = login_of(f);
    if (!l)
        return;
    if (f->err != MM_OK)
        finish(l, f->err, f->why);
    else
        begin_browser(l, &f->meta);
}

static void start_flow(mm_login *l)
{
    mm_profile *p = l->p;
    mm_flow_target t;
    mm_profile_target(p, &t);
    const mm_oauth_meta *m = mm_flow_cache_get(t.cache_key);
    if (!l->device && m) { /* cached: no round trip */
        begin_browser(l, m);
        return;
    }
    mm_flow *f = mm_profile_flow(p, l->device ? MM_FLOW_DEVICE_AUTH : MM_FLOW_DISCOVER,
                                 l->device ? device_authorized : discovered, NULL);
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
    submit(l, f);
}

static mm_login *login_new(mm_profile *p, const mm_login_opts *o)
{
    mm_login *l = calloc(1, sizeof(*l));
    char v[64];
    random_b64(v, sizeof(v), 32); /* 43 chars: RFC 7636 wants 43..128 */
    if (!l || !(l->verifier = mm_secret_from_str(v))) {
        sodium_memzero(v, sizeof(v));
        free(l);
        return NULL;
    }
    sodium_memzero(v, sizeof(v));
    l->p = p;
    l->device = o->device;
    l->open_browser = o->open_browser;
    random_b64(l->id, sizeof(l->id), 12);
    random_b64(l->state, sizeof(l->state), 32);
    random_b64(l->nonce, sizeof(l->nonce), 32);
    l->expires_at = time(NULL) + (time_t)o->timeout_s;
    l->deadline_timer = mm_loop_add_timer(p->agent->loop, (uint64_t)(o->timeout_s * 1000),
                                          on_deadline, l);
    return l;
}

mm_err mm_login_start(mm_profile *p, const mm_login_opts *o, mm_login_listener *starter)
{
    if (p->cfg->kind != MM_KIND_OAUTH)
        return MM_ERR_WRONG_KIND;
    if (p->login && p->login->device != o->device) /* cannot join: the other flow */
        return MM_ERR_LOGIN_IN_PROGRESS;
    if (p->login) { /* join: one login per profile */
        push(&p->login->starters, starter);
        if (p->login->url || p->login->dev.user_code) /* already told: replay */
            tell_starters(p->login, 1);
        return MM_OK;
    }
    mm_login *l = login_new(p, o);
    if (!l)
        return MM_ERR_NOMEM;
    mm_profile_hold(p);
    p->login = l;
    push(&l->starters, starter);
    mm_profile_set_state(p, MM_PS_LOGGING_IN, MM_OK, NULL);
    start_flow(l);
    return MM_OK;
}

/* ---- Mimir's own login ----------------------------------------------------------- */

static void password_done(mm_flow *f)
{
    mm_login *l = login_of(f);
    mm_profile *p = f->owner;
    if (!l)
        return;
    l->exchanging = 0;
    if (f->err != MM_OK) {
        int refused = f->tokens.error == MM_OAUTH_ERR_INVALID_GRANT;
        finish(l, refused ? MM_ERR_ACCESS_DENIED : f->err,
               refused ? "the server refused the username or password" : f->why);
        return;
    }
    mm_profile_adopt_tokens(p, &f->tokens, l->username);
    mm_profile_set_cred(p, l->password); /* NULL unless remembered */
    l->password = NULL;
    l->saving = 1;
    mm_profile_store(p, MM_STORE_SAVE, mm_profile_make_doc(p, p->cred ? p->cred->data : NULL),
                     saved, NULL);
}

mm_err mm_login_password(mm_profile *p, const mm_login_opts *o, const char *username,
                         const char *password, int remember, mm_login_listener *starter)
{
    if (p->cfg->kind != MM_KIND_MIMIR)
        return MM_ERR_WRONG_KIND;
    if (p->login)
        return MM_ERR_LOGIN_IN_PROGRESS;
    mm_login *l = login_new(p, o);
    if (!l)
        return MM_ERR_NOMEM;
    mm_flow *f = mm_profile_flow(p, MM_FLOW_PASSWORD, password_done, NULL);
    if (!f || !(l->username = strdup(username)) ||
        (remember && !(l->password = mm_secret_from_str(password)))) {
        mm_flow_discard(f);
        login_free(l);
        return MM_ERR_NOMEM;
    }
    mm_mimir_password_body(&f->form, username, password);
    mm_profile_hold(p);
    p->login = l;
    push(&l->waiters, starter); /* no challenge: the starter hears the outcome */
    mm_profile_set_state(p, MM_PS_LOGGING_IN, MM_OK, NULL);
    l->exchanging = 1;
    submit(l, f);
    return MM_OK;
}

int mm_login_wait(mm_profile *p, const char *id, mm_login_listener *w)
{
    if (p->login && !strcmp(p->login->id, id)) {
        push(&p->login->waiters, w);
        return 1;
    }
    return strcmp(p->last_login.id, id) ? -1 : 0;
}
