/* profile.c - a profile's state, waiters, renewal timer, keyring jobs and
 * lifetime (see profile.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mimirapi.h"
#include "mimir/proto.h"
#include "policy.h"
#include "profile.h"

const char *mm_profile_state_name(mm_pstate s)
{
    static const char *const names[] = {
        [MM_PS_LOADING] = "loading",        [MM_PS_READY] = "ready",
        [MM_PS_REFRESHING] = "refreshing",  [MM_PS_RETRYING] = "retrying",
        [MM_PS_LOGIN_REQUIRED] = "login_required", [MM_PS_LOGGING_IN] = "logging_in",
        [MM_PS_STORE_ERROR] = "storage_error",
    };
    return names[s];
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = v ? strdup(v) : NULL;
}

void mm_profile_set_subject(mm_profile *p, const char *subject)
{
    set_str(&p->subject, subject);
    if (p->subject) {
        /* An IdP's or a server's text: it reaches terminals (status) and the
         * log, where escape sequences and newlines could forge lines. */
        if (strlen(p->subject) > 256)
            p->subject[256] = '\0';
        mm_oauth_printable(p->subject);
    }
}

/* ---- lifetime ------------------------------------------------------------- */

void mm_profile_hold(mm_profile *p) { p->refs++; }

void mm_profile_release(mm_profile *p)
{
    if (--p->refs > 0)
        return;
    mm_profile_forget(p);
    free(p);
}

int mm_profile_retired(const mm_profile *p) { return p->cfg == NULL; }

void mm_profile_set_cfg(mm_profile *p, const mm_profile_cfg *cfg)
{
    p->cfg = cfg;
    memset(&p->key, 0, sizeof(p->key));
    snprintf(p->key.profile, sizeof(p->key.profile), "%s", cfg->name);
    snprintf(p->key.issuer, sizeof(p->key.issuer), "%s", cfg->issuer ? cfg->issuer : "");
    snprintf(p->key.client_id, sizeof(p->key.client_id), "%s",
             cfg->client_id ? cfg->client_id : "");
}

static void loaded(mm_profile *p, mm_err e, const char *why, const mm_secret *doc, void *arg);

mm_profile *mm_profile_new(mm_agent *a, const mm_profile_cfg *cfg)
{
    mm_profile *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->agent = a;
    p->refs = 1;
    mm_profile_set_cfg(p, cfg);
    p->state = MM_PS_LOADING;
    if (cfg->kind == MM_KIND_NONE) { /* nothing to keep: never ask the keyring */
        p->state = MM_PS_READY;
        return p;
    }
    p->loading = 1;
    mm_profile_store(p, MM_STORE_LOAD, NULL, loaded, NULL);
    return p;
}

static void saved_again(mm_profile *p, mm_err e, const char *why, const mm_secret *doc,
                        void *arg)
{
    (void)p, (void)e, (void)why, (void)doc, (void)arg; /* a failure was logged */
}

void mm_profile_reload(mm_profile *p)
{
    if (p->loading || p->login || p->cfg->kind == MM_KIND_NONE)
        return;
    if (p->cred) { /* got while the store was locked: it belongs there now */
        mm_profile_store(p, MM_STORE_SAVE, mm_profile_make_doc(p, p->cred->data), saved_again,
                         NULL);
        return;
    }
    p->loading = 1;
    mm_profile_set_state(p, MM_PS_LOADING, MM_OK, NULL);
    mm_profile_store(p, MM_STORE_LOAD, NULL, loaded, NULL);
}

void mm_profile_locked(mm_profile *p, const char *msg)
{
    if (p->cfg->kind == MM_KIND_NONE)
        return;
    mm_profile_forget(p);
    p->store_err = MM_ERR_STORE_LOCKED;
    mm_profile_set_state(p, MM_PS_STORE_ERROR, MM_ERR_STORE_LOCKED, msg);
    mm_profile_wake(p, MM_ERR_STORE_LOCKED, msg);
}

void mm_profile_retire(mm_profile *p)
{
    mm_profile_wake(p, MM_ERR_UNKNOWN_PROFILE, "the profile was removed from the config");
    mm_profile_forget(p);
    p->cfg = NULL;
    mm_profile_release(p);
}

/* ---- state and waiters ----------------------------------------------------- */

void mm_profile_set_state(mm_profile *p, mm_pstate s, mm_err e, const char *msg)
{
    mm_pstate old = p->state;
    p->state = s;
    if (e != MM_OK) {
        p->last_err = e;
        snprintf(p->last_msg, sizeof(p->last_msg), "%s", msg ? msg : mm_err_describe(e));
    }
    if (old != s && p->agent->hooks.state_changed)
        p->agent->hooks.state_changed(p->agent, p);
}

void mm_profile_settle(mm_profile *p)
{
    int usable = p->access && (!p->access_exp || p->access_exp > time(NULL));
    mm_pstate s = p->loading                                   ? MM_PS_LOADING
                  : p->cred || usable || p->cfg->kind == MM_KIND_NONE ? MM_PS_READY
                  : p->store_err != MM_OK && p->state == MM_PS_STORE_ERROR
                      ? MM_PS_STORE_ERROR
                      : MM_PS_LOGIN_REQUIRED;
    mm_profile_set_state(p, s, MM_OK, NULL);
}

void mm_profile_park(mm_profile *p, mm_pwait *w)
{
    w->next = p->waiters;
    p->waiters = w;
    p->nwaiters++;
}

void mm_profile_wake(mm_profile *p, mm_err e, const char *msg)
{
    mm_pwait *w = p->waiters;
    p->waiters = NULL;
    p->nwaiters = 0;
    while (w) {
        mm_pwait *next = w->next;
        w->wake(w, p, e, msg);
        w = next;
    }
}

/* ---- credentials in memory ----------------------------------------------------- */

void mm_profile_renew_cancel(mm_profile *p)
{
    if (p->renew.timer)
        mm_loop_del_timer(p->agent->loop, p->renew.timer);
    p->renew.timer = 0;
    p->renew.next_at = 0;
}

void mm_profile_set_cred(mm_profile *p, mm_secret *cred)
{
    mm_secret_free(p->cred);
    p->cred = cred;
    p->cred_gen++;
    p->pin_refused = 0;
}

void mm_profile_forget(mm_profile *p)
{
    mm_profile_set_cred(p, NULL);
    mm_secret_clear(&p->access);
    p->access_exp = p->access_iat = 0;
    mm_profile_set_subject(p, NULL);
    set_str(&p->scope, NULL);
    mm_profile_renew_cancel(p);
    if (p->renew.persist_timer)
        mm_loop_del_timer(p->agent->loop, p->renew.persist_timer);
    p->renew.persist_timer = 0;
}

static void renew_fired(mm_loop *loop, void *data)
{
    (void)loop;
    mm_profile *p = data;
    p->renew.timer = 0;
    p->renew.next_at = 0;
    if (p->agent->hooks.renew_due)
        p->agent->hooks.renew_due(p);
}

void mm_profile_renew_in(mm_profile *p, uint64_t delay_ms)
{
    mm_profile_renew_cancel(p);
    p->renew.timer = mm_loop_add_timer(p->agent->loop, delay_ms, renew_fired, p);
    p->renew.next_at = time(NULL) + (time_t)(delay_ms / 1000);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mm_profile_adopt_tokens(mm_profile *p, mm_tokens *t, const char *subject)
{
    mm_secret_clear(&p->access);
    p->access = t->access;
    t->access = NULL;
    p->access_exp = t->expires_at;
    p->access_iat = t->issued_at;
    if (subject)
        mm_profile_set_subject(p, subject);
    if (t->scope)
        set_str(&p->scope, t->scope);
}

void mm_profile_schedule_renewal(mm_profile *p)
{
    /* nothing to renew with, nothing to renew, or a token that does not expire */
    if (!p->cred || !p->access || !p->access_exp)
        return;
    int64_t due = mm_policy_refresh_at_ms((int64_t)p->access_iat, (int64_t)p->access_exp);
    mm_profile_renew_in(p, mm_policy_refresh_delay_ms(due, wall_ms(), p->renew.last_ms,
                                                      mm_now_ms()));
}

/* ---- OAuth flows ---------------------------------------------------------------- */

void mm_profile_target(const mm_profile *p, mm_flow_target *t)
{
    const mm_profile_cfg *c = p->cfg;
    *t = (mm_flow_target){.cache_key = c->issuer ? c->issuer : c->server_url,
                          .issuer = c->issuer, .server_url = c->server_url,
                          .client_id = c->client_id, .ca_file = c->ca_file,
                          .timeout_ms = p->agent->http_timeout_ms};
}

static void release_owner(void *owner) { mm_profile_release(owner); }

mm_flow *mm_profile_flow(mm_profile *p, mm_flow_kind kind, void (*done)(mm_flow *f), void *arg)
{
    mm_flow_target t;
    mm_profile_target(p, &t);
    mm_flow *f = mm_flow_new(p->agent->http, &t, kind, done, arg);
    if (f) {
        mm_profile_hold(p);
        f->owner = p;
        f->release = release_owner;
    }
    return f;
}

static void revoked_quietly(mm_flow *f)
{
    if (f->err != MM_OK)
        mm_warn("profile %s: could not revoke a refresh token it will not keep: %s",
                ((mm_profile *)f->owner)->key.profile, f->why);
}

void mm_profile_revoke_quietly(mm_profile *p, mm_secret *rt)
{
    mm_flow *f = rt ? mm_profile_flow(p, MM_FLOW_REVOKE, revoked_quietly, NULL) : NULL;
    if (!f) {
        mm_secret_free(rt);
        return;
    }
    f->secret = rt;
    mm_flow_submit(f);
}

/* ---- keyring jobs ------------------------------------------------------------------ */

typedef struct {
    mm_profile *p;
    mm_store_op op;
    mm_profile_store_done done;
    void *arg;
} store_ctx;

static void stored(void *arg, mm_err e, const char *why, const mm_secret *doc)
{
    store_ctx *x = arg;
    mm_profile *p = x->p;
    if (x->op == MM_STORE_LOAD)
        p->loading = 0;
    else
        p->writes--;
    p->store_err = e;
    if (e != MM_OK)
        mm_warn("profile %s: %s", p->key.profile, why);
    x->done(p, e, why, doc, x->arg);
    free(x);
    mm_profile_release(p);
}

void mm_profile_store(mm_profile *p, mm_store_op op, mm_secret *doc, mm_profile_store_done done,
                      void *arg)
{
    store_ctx *x = malloc(sizeof(*x));
    if (!x) {
        mm_secret_free(doc);
        done(p, MM_ERR_NOMEM, "out of memory", NULL, arg);
        return;
    }
    *x = (store_ctx){p, op, done, arg};
    mm_profile_hold(p);
    if (op != MM_STORE_LOAD)
        p->writes++;
    mm_store_submit(p->agent->worker, p->agent->loop, op, &p->key, doc,
                    p->agent->keyring_timeout_ms, stored, x);
}

static void loaded(mm_profile *p, mm_err e, const char *why, const mm_secret *doc, void *arg)
{
    (void)arg;
    if (mm_profile_retired(p))
        return;
    if (e != MM_OK) {
        if (!p->login)
            mm_profile_set_state(p, MM_PS_STORE_ERROR, e, why);
        mm_profile_wake(p, e, why);
        return;
    }
    int repin = 0;
    if (doc && mm_profile_adopt_doc(p, doc, &repin) == MM_OK) {
        mm_info("profile %s: credential loaded from the %s", p->key.profile, mm_store_label());
        if (repin && p->cred) /* written before documents named their server */
            mm_profile_store(p, MM_STORE_SAVE, mm_profile_make_doc(p, p->cred->data),
                             saved_again, NULL);
    }
    if (!p->login) /* a login that began meanwhile owns the state */
        mm_profile_settle(p);
    /* Requests that arrived while we read decide again: an OAuth profile
     * has only a refresh token now, so the first of them starts a refresh. */
    mm_profile_wake(p, MM_OK, NULL);
}

/* ---- credential documents ---------------------------------------------------------- */

static const char *doc_kind(const mm_profile *p)
{
    switch (p->cfg->kind) {
    case MM_KIND_API_KEY: return "api_key";
    case MM_KIND_MIMIR: return "mimir";
    default: return "refresh_token";
    }
}

/* A Mimir token is kept with its expiry (0: it does not expire), so that a
 * restart needs no new login; the password only when it is remembered. */
static mm_err adopt_mimir(mm_profile *p, const cJSON *j)
{
    const char *tok = mm_json_str(j, "token");
    double exp = 0;
    mm_json_num(j, "expires_at", &exp);
    if (!tok || !mm_policy_credential_ok(tok) || !(exp >= 0 && exp < 1e11))
        return MM_ERR_STORE;
    mm_secret_clear(&p->access);
    p->access = mm_secret_from_str(tok);
    p->access_exp = (time_t)exp;
    p->access_iat = 0;
    return MM_OK;
}

/* An API key or a Mimir password goes to the profile's server itself, and
 * the store finds it by profile name alone.  So the document remembers the
 * server's origin, and a profile re-pointed at another server does not send
 * it there: the credential of https://a is never offered to https://b. */
static int pinned(const mm_profile *p, char *origin, size_t len)
{
    int k = p->cfg->kind;
    return (k == MM_KIND_API_KEY || k == MM_KIND_MIMIR) && p->cfg->server_url &&
           mm_mimir_url(p->cfg->server_url, "/", origin, len) == MM_OK;
}

/* MM_OK: the pin matches, or the document predates pins (it is pinned to
 * the current server on the next write, see *repin). */
static mm_err check_pin(mm_profile *p, const cJSON *j, int *repin)
{
    char origin[512];
    const char *was = mm_json_str(j, "server");
    if (!pinned(p, origin, sizeof(origin)))
        return MM_OK;
    *repin = !was;
    if (!was || !strcmp(was, origin))
        return MM_OK;
    mm_oauth_printable(origin); /* both go to the log */
    char shown[128];
    snprintf(shown, sizeof(shown), "%s", was);
    mm_oauth_printable(shown);
    snprintf(p->last_msg, sizeof(p->last_msg), "the stored %s belongs to %s, and the profile "
             "now points at %s: log in again (or set the key again)",
             p->cfg->kind == MM_KIND_MIMIR ? "password" : "API key", shown, origin);
    p->last_err = MM_ERR_LOGIN_REQUIRED;
    p->pin_refused = 1;
    mm_warn("profile %s: %s", p->key.profile, p->last_msg);
    return MM_ERR_LOGIN_REQUIRED;
}

mm_err mm_profile_adopt_doc(mm_profile *p, const mm_secret *doc, int *repin)
{
    cJSON *j = mm_json_parse(doc->data, doc->len);
    const char *kind = mm_json_str(j, "kind"), *secret = mm_json_str(j, "secret");
    int mimir = p->cfg->kind == MM_KIND_MIMIR;
    *repin = 0;
    mm_err e = kind && !strcmp(kind, doc_kind(p)) ? MM_OK : MM_ERR_STORE;
    if (e == MM_OK && !mimir && !(secret && mm_policy_credential_ok(secret)))
        e = MM_ERR_STORE;
    if (e == MM_OK)
        e = check_pin(p, j, repin);
    if (e == MM_OK && mimir)
        e = adopt_mimir(p, j);
    if (e == MM_ERR_STORE) {
        mm_warn("profile %s: keyring item is not a valid %s document; ignoring it",
                p->key.profile, doc_kind(p));
    } else if (e == MM_OK) {
        mm_profile_set_cred(p, secret ? mm_secret_from_str(secret) : NULL);
        mm_profile_set_subject(p, mm_json_str(j, "subject"));
        set_str(&p->scope, mm_json_str(j, "scope"));
    }
    cJSON_Delete(j); /* wiping free */
    return e;
}

static mm_secret *make_doc(const mm_profile *p, const char *secret, const char *token,
                           time_t exp)
{
    cJSON *j = cJSON_CreateObject();
    mm_json_add_int(j, "v", 1);
    cJSON_AddStringToObject(j, "kind", doc_kind(p));
    if (secret)
        cJSON_AddStringToObject(j, "secret", secret);
    if (token) {
        cJSON_AddStringToObject(j, "token", token);
        mm_json_add_int(j, "expires_at", (long long)exp);
    }
    if (p->subject)
        cJSON_AddStringToObject(j, "subject", p->subject);
    if (p->scope)
        cJSON_AddStringToObject(j, "scope", p->scope);
    char origin[512];
    if (pinned(p, origin, sizeof(origin)))
        cJSON_AddStringToObject(j, "server", origin);
    mm_json_add_int(j, "updated_at", (long long)time(NULL));
    char *s = cJSON_PrintUnformatted(j);
    mm_secret *doc = mm_secret_from_str(s);
    if (s)
        cJSON_free(s); /* wiping free */
    cJSON_Delete(j);
    return doc;
}

mm_secret *mm_profile_make_doc(const mm_profile *p, const char *secret)
{
    int mimir = p->cfg->kind == MM_KIND_MIMIR && p->access;
    return make_doc(p, secret, mimir ? p->access->data : NULL, mimir ? p->access_exp : 0);
}

mm_secret *mm_profile_token_doc(const mm_profile *p, const char *token, time_t exp)
{
    return make_doc(p, NULL, token, exp);
}
