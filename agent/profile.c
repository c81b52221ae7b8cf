/*
 * profile.c - per-profile runtime state: loading credentials from the
 * keyring, waiters, status, and keeping state across config reloads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "login.h"

const char *mm_pstate_name(mm_pstate s)
{
    static const char *const names[] = {
        [MM_PS_LOADING] = "loading",        [MM_PS_READY] = "ready",
        [MM_PS_REFRESHING] = "refreshing",  [MM_PS_RETRYING] = "retrying",
        [MM_PS_LOGIN_REQUIRED] = "login_required", [MM_PS_LOGGING_IN] = "logging_in",
        [MM_PS_STORE_ERROR] = "storage_error",
    };
    return names[s];
}

/* ---- keyring jobs ------------------------------------------------------ */

typedef enum { JOB_LOAD, JOB_SAVE, JOB_ERASE } store_op;

struct mm_store_job {
    mm_job job;
    mm_profile *p;
    store_op op;
    mm_store_key key; /* copied: the config may be reloaded meanwhile */
    mm_secret *doc;
    mm_err err;
    char why[512];
    mm_store_done done;
    void *arg;
};

static void profile_free(mm_profile *p);

static void store_run(mm_job *job)
{
    mm_store_job *j = (mm_store_job *)job;
    switch (j->op) {
    case JOB_LOAD: j->err = mm_store_load(&j->key, &j->doc, j->why, sizeof(j->why)); break;
    case JOB_SAVE: j->err = mm_store_save(&j->key, j->doc, j->why, sizeof(j->why)); break;
    case JOB_ERASE: j->err = mm_store_erase(&j->key, j->why, sizeof(j->why)); break;
    }
}

static void store_done(mm_job *job)
{
    mm_store_job *j = (mm_store_job *)job;
    mm_profile *p = j->p;
    p->jobs--;
    /* Callbacks run even for a profile a reload removed: a client may be
     * waiting on this job (set_api_key, logout).  They must not touch
     * p->cfg when p->orphan is set. */
    if (!p->agent->shutting_down) {
        p->store_err = j->err;
        if (j->err != MM_OK)
            mm_warn("profile %s: %s", p->key.profile, j->why);
        j->done(p, j->err, j->why, j->doc, j->arg);
    }
    if (p->orphan && !p->jobs)
        profile_free(p);
    mm_secret_free(j->doc);
    free(j);
}

static void store_submit(mm_profile *p, store_op op, mm_secret *doc, mm_store_done done,
                         void *arg)
{
    mm_store_job *j = calloc(1, sizeof(*j));
    if (!j) {
        mm_secret_free(doc);
        done(p, MM_ERR_NOMEM, "out of memory", NULL, arg);
        return;
    }
    *j = (mm_store_job){.job = {.run = store_run, .done = store_done}, .p = p, .op = op,
                        .key = p->key, .doc = doc, .done = done, .arg = arg};
    p->jobs++;
    mm_worker_submit(p->agent->worker, &j->job);
}

void mm_store_submit_load(mm_profile *p, mm_store_done done, void *arg)
{
    store_submit(p, JOB_LOAD, NULL, done, arg);
}

void mm_store_submit_save(mm_profile *p, mm_secret *doc, mm_store_done done, void *arg)
{
    store_submit(p, JOB_SAVE, doc, done, arg);
}

void mm_store_submit_erase(mm_profile *p, mm_store_done done, void *arg)
{
    store_submit(p, JOB_ERASE, NULL, done, arg);
}

/* ---- credential documents --------------------------------------------- */

static const char *doc_kind(const mm_profile *p)
{
    return p->cfg->kind == MM_KIND_API_KEY ? "api_key" : "refresh_token";
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = v ? strdup(v) : NULL;
}

mm_err mm_profile_adopt_doc(mm_profile *p, const mm_secret *doc)
{
    cJSON *j = mm_json_parse(doc->data, doc->len);
    const char *kind = mm_json_str(j, "kind"), *secret = mm_json_str(j, "secret");
    mm_err e = MM_OK;
    if (!kind || !secret || strcmp(kind, doc_kind(p)) != 0) {
        mm_warn("profile %s: keyring item is not a %s document; ignoring it", p->key.profile,
                doc_kind(p));
        e = MM_ERR_STORE;
    } else {
        mm_secret_clear(&p->cred);
        p->cred = mm_secret_from_str(secret);
        set_str(&p->subject, mm_json_str(j, "subject"));
        set_str(&p->scope, mm_json_str(j, "scope"));
    }
    cJSON_Delete(j); /* wiping free */
    return e;
}

mm_secret *mm_profile_make_doc(const mm_profile *p, const char *secret)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "v", 1);
    cJSON_AddStringToObject(j, "kind", doc_kind(p));
    cJSON_AddStringToObject(j, "secret", secret);
    if (p->subject)
        cJSON_AddStringToObject(j, "subject", p->subject);
    if (p->scope)
        cJSON_AddStringToObject(j, "scope", p->scope);
    cJSON_AddNumberToObject(j, "updated_at", (double)time(NULL));
    char *s = cJSON_PrintUnformatted(j);
    mm_secret *doc = mm_secret_from_str(s);
    cJSON_free(s);
    cJSON_Delete(j);
    return doc;
}

/* ---- state and waiters ------------------------------------------------ */

void mm_profile_set_state(mm_profile *p, mm_pstate s, mm_err e, const char *msg)
{
    mm_pstate old = p->state;
    p->state = s;
    if (e != MM_OK) {
        p->last_err = e;
        snprintf(p->last_msg, sizeof(p->last_msg), "%s", msg ? msg : mm_err_describe(e));
    }
    if (old != s)
        mm_agent_event(p->agent, p, "state");
}

mm_waiter *mm_waiter_new(mm_conn *c, const mm_request *req, double min_ttl)
{
    mm_waiter *w = calloc(1, sizeof(*w));
    if (!w) {
        mm_conn_send(c, mm_proto_reply_err(req->id, MM_ERR_NOMEM, NULL));
        return NULL;
    }
    *w = (mm_waiter){.conn = c, .id = req->id ? cJSON_Duplicate(req->id, 0) : NULL,
                     .op = req->op, .min_ttl = min_ttl};
    mm_conn_hold(c);
    return w;
}

void mm_waiter_finish(mm_waiter *w, cJSON *reply)
{
    mm_conn_send(w->conn, reply);
    mm_conn_release(w->conn);
    cJSON_Delete(w->id);
    free(w);
}

void mm_profile_wait(mm_profile *p, mm_conn *c, const mm_request *req, double min_ttl)
{
    mm_waiter *w = mm_waiter_new(c, req, min_ttl);
    if (w) {
        w->next = p->waiters;
        p->waiters = w;
    }
}

void mm_profile_wake(mm_profile *p, mm_err e, const char *msg)
{
    mm_waiter *w = p->waiters;
    p->waiters = NULL;
    while (w) {
        mm_waiter *next = w->next;
        mm_waiter_finish(w, e != MM_OK ? mm_proto_reply_err(w->id, e, msg)
                                        : mm_profile_token_reply(p, w->id, w->op, 0));
        w = next;
    }
}

static void loaded(mm_profile *p, mm_err e, const char *why, mm_secret *doc, void *arg)
{
    (void)arg;
    if (p->orphan)
        return;
    if (e != MM_OK) {
        mm_profile_set_state(p, MM_PS_STORE_ERROR, e, why);
        mm_profile_wake(p, e, why);
        return;
    }
    mm_pstate next = MM_PS_LOGIN_REQUIRED;
    if (doc && mm_profile_adopt_doc(p, doc) == MM_OK) {
        mm_info("profile %s: credential loaded from the keyring", p->key.profile);
        next = MM_PS_READY;
    }
    if (p->login) /* a login began while we read: it owns the state now */
        mm_login_set_prev_state(p, next);
    else
        mm_profile_set_state(p, next, MM_OK, NULL);
    /* Token requests that arrived while we read need an access token, and
     * for OAuth the keyring only had the refresh token: get one first. */
    if (next == MM_PS_READY && p->cfg->kind == MM_KIND_OAUTH && p->waiters && !p->login) {
        mm_refresh_start(p);
        return;
    }
    mm_profile_wake(p, MM_OK, NULL);
}

static void profile_set_cfg(mm_profile *p, const mm_profile_cfg *cfg)
{
    p->cfg = cfg;
    memset(&p->key, 0, sizeof(p->key));
    snprintf(p->key.profile, sizeof(p->key.profile), "%s", cfg->name);
    snprintf(p->key.issuer, sizeof(p->key.issuer), "%s", cfg->issuer ? cfg->issuer : "");
    snprintf(p->key.client_id, sizeof(p->key.client_id), "%s",
             cfg->client_id ? cfg->client_id : "");
}

static mm_profile *profile_new(mm_agent *a, const mm_profile_cfg *cfg)
{
    mm_profile *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->agent = a;
    profile_set_cfg(p, cfg);
    p->state = MM_PS_LOADING;
    mm_store_submit_load(p, loaded, NULL);
    return p;
}

/* Drop every credential held in memory (not the keyring item). */
void mm_profile_forget(mm_profile *p)
{
    mm_secret_clear(&p->cred);
    mm_secret_clear(&p->access);
    p->access_exp = p->access_iat = 0;
    set_str(&p->subject, NULL);
    set_str(&p->scope, NULL);
    if (p->refresh_timer)
        mm_loop_del_timer(p->agent->loop, p->refresh_timer);
    p->refresh_timer = 0;
    p->next_refresh = 0;
    if (p->persist_timer)
        mm_loop_del_timer(p->agent->loop, p->persist_timer);
    p->persist_timer = 0;
}

static void profile_free(mm_profile *p)
{
    mm_profile_forget(p);
    free(p);
}

/* Retire a profile that a reload removed: answer its waiters, and free it
 * now or, if a job still references it, when the last job completes. */
static void profile_retire(mm_profile *p)
{
    mm_login_cancel(p);
    mm_profile_wake(p, MM_ERR_UNKNOWN_PROFILE, "the profile was removed from the config");
    mm_profile_forget(p);
    p->cfg = NULL;
    p->orphan = 1;
    if (!p->jobs)
        profile_free(p);
}

mm_err mm_agent_load_profiles(mm_agent *a, char *why, size_t whylen)
{
    mm_config cfg;
    mm_err e = mm_config_load(a->config_path, &cfg, why, whylen);
    if (e != MM_OK)
        return e;
    mm_profile *list = NULL, **tail = &list;
    for (size_t i = 0; i < cfg.nprofiles; i++) {
        const mm_profile_cfg *pc = &cfg.profiles[i];
        mm_profile *p = NULL;
        for (mm_profile **pp = &a->profiles; *pp; pp = &(*pp)->next)
            if (strcmp((*pp)->cfg->name, pc->name) == 0 &&
                mm_profile_same_identity((*pp)->cfg, pc)) {
                p = *pp; /* unchanged identity: keep tokens and state */
                *pp = p->next;
                profile_set_cfg(p, pc);
                break;
            }
        if (!p && !(p = profile_new(a, pc))) {
            e = MM_ERR_NOMEM;
            break;
        }
        p->next = NULL;
        *tail = p;
        tail = &p->next;
    }
    while (a->profiles) { /* whatever is left was removed or changed */
        mm_profile *p = a->profiles;
        a->profiles = p->next;
        profile_retire(p);
    }
    a->profiles = list;
    mm_config_free(&a->cfg);
    a->cfg = cfg;
    return e;
}

void mm_agent_free_profiles(mm_agent *a)
{
    while (a->profiles) {
        mm_profile *p = a->profiles;
        a->profiles = p->next;
        mm_login_cancel(p);
        mm_profile_wake(p, MM_ERR_INTERNAL, "mimir-agent is shutting down");
        profile_free(p);
    }
    mm_config_free(&a->cfg);
}

mm_profile *mm_agent_profile(mm_agent *a, const char *name)
{
    if (!name)
        name = a->cfg.default_profile;
    for (mm_profile *p = a->profiles; name && p; p = p->next)
        if (strcmp(p->cfg->name, name) == 0)
            return p;
    return NULL;
}

cJSON *mm_profile_status(const mm_profile *p)
{
    const mm_profile_cfg *c = p->cfg;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", c->name);
    cJSON_AddStringToObject(o, "kind", mm_kind_name(c->kind));
    cJSON_AddBoolToObject(o, "default", p->agent->cfg.default_profile &&
                                            strcmp(p->agent->cfg.default_profile, c->name) == 0);
    cJSON_AddStringToObject(o, "state", mm_pstate_name(p->state));
    if (c->server_url)
        cJSON_AddStringToObject(o, "server_url", c->server_url);
    if (c->issuer)
        cJSON_AddStringToObject(o, "issuer", c->issuer);
    if (c->client_id)
        cJSON_AddStringToObject(o, "client_id", c->client_id);
    if (p->subject)
        cJSON_AddStringToObject(o, "subject", p->subject);
    cJSON_AddBoolToObject(o, "has_credential", p->cred != NULL);
    if (p->access)
        mm_json_add_int(o, "access_expires_at", (long long)p->access_exp);
    if (p->next_refresh)
        mm_json_add_int(o, "next_refresh_at", (long long)p->next_refresh);
    if (p->last_err != MM_OK) {
        cJSON *le = cJSON_AddObjectToObject(o, "last_error");
        cJSON_AddStringToObject(le, "code", mm_err_code(p->last_err));
        cJSON_AddStringToObject(le, "message", p->last_msg);
    }
    cJSON_AddStringToObject(o, "storage", p->store_err == MM_OK ? "ok"
                                          : p->store_err == MM_ERR_STORE_UNAVAILABLE
                                              ? "unavailable"
                                              : "error");
    return o;
}
