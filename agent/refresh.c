/*
 * refresh.c - the refresh grant (see refresh.h).
 *
 * Single flight: the REFRESHING state is the lock.  Token requests that
 * need a new token park on the profile (ops.c), so any number of callers
 * at an expiry boundary cause one call to the IdP.
 *
 * Rotation: when the IdP returns a new refresh token the old one is dead
 * at the IdP.  The new one replaces the old in memory at once and goes to
 * the keyring in the same loop turn; the parked callers are answered only
 * when the write has completed.  The crash window is therefore the time
 * from the IdP's answer to the end of the keyring write (one D-Bus round
 * trip); a crash inside it loses the login, any crash after it loses
 * nothing.  A failed write is retried with backoff and shown in status
 * ("storage": "error") while the token lives on in memory.
 *
 * Bounds: an attempt gets the access token's remaining life (at least
 * MM_POLICY_ATTEMPT_FLOOR_MS), so a connection that hangs at the IdP never
 * holds callers past the token's expiry; an attempt that timed out while
 * callers wait is retried at once on a fresh connection, with the full
 * HTTP deadline.  Other failures (network, 5xx, garbage) back off
 * exponentially with jitter while a still-valid access token keeps being
 * served; invalid_grant means the login is over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "desktop.h"
#include "policy.h"
#include "refresh.h"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mm_refresh_busy(const mm_profile *p)
{
    return p->state == MM_PS_REFRESHING || p->writes > 0;
}

void mm_refresh_check_all(mm_agent *a)
{
    time_t now = time(NULL);
    for (mm_profile *p = a->profiles; p; p = p->next)
        if (p->state == MM_PS_READY && p->cred && p->renew.next_at && p->renew.next_at < now - 5)
            mm_refresh_start(p);
}

/* ---- the outcome ------------------------------------------------------------ */

static void ready(mm_profile *p)
{
    p->renew.failures = 0;
    p->last_err = MM_OK;
    mm_profile_set_state(p, MM_PS_READY, MM_OK, NULL);
    mm_profile_schedule_renewal(p);
    mm_profile_wake(p, MM_OK, NULL);
}

static void persist(mm_profile *p, mm_profile_store_done done);

static void persist_again(mm_loop *loop, void *data);

/* A keyring write of the current refresh token ended.  Keep the only valid
 * refresh token in memory and keep trying while it fails. */
static void persist_outcome(mm_profile *p, mm_err e)
{
    if (e == MM_OK) {
        p->renew.persist_failures = 0;
        mm_debug("profile %s: rotated refresh token stored", p->key.profile);
        return;
    }
    uint64_t delay = mm_policy_backoff_ms(p->renew.persist_failures++, 0);
    if (!p->renew.persist_timer && !p->agent->stopping)
        p->renew.persist_timer = mm_loop_add_timer(p->agent->loop, delay, persist_again, p);
}

/* The write that follows a rotation: the parked callers were held for it. */
static void rotation_stored(mm_profile *p, mm_err e, const char *why, const mm_secret *doc,
                            void *arg)
{
    (void)why, (void)doc, (void)arg;
    if (mm_profile_retired(p))
        return;
    ready(p);
    persist_outcome(p, e);
}

static void retry_stored(mm_profile *p, mm_err e, const char *why, const mm_secret *doc,
                         void *arg)
{
    (void)why, (void)doc, (void)arg;
    if (!mm_profile_retired(p))
        persist_outcome(p, e);
}

static void persist(mm_profile *p, mm_profile_store_done done)
{
    mm_profile_store(p, MM_STORE_SAVE, mm_profile_make_doc(p, p->cred->data), done, NULL);
}

static void persist_again(mm_loop *loop, void *data)
{
    (void)loop;
    mm_profile *p = data;
    p->renew.persist_timer = 0;
    if (p->cred)
        persist(p, retry_stored);
}

static void erased_dead(mm_profile *p, mm_err e, const char *why, const mm_secret *doc,
                        void *arg)
{
    (void)p, (void)e, (void)why, (void)doc, (void)arg; /* a failure was logged */
}

static void session_ended(mm_profile *p)
{
    int mimir = p->cfg->kind == MM_KIND_MIMIR;
    mm_warn("profile %s: the %s was refused; login required", p->key.profile,
            mimir ? "remembered password" : "refresh token");
    mm_profile_forget(p);
    /* The dead credential goes from the keyring too, or every start would
     * try it again (and notify again). */
    mm_profile_store(p, MM_STORE_ERASE, NULL, erased_dead, NULL);
    mm_profile_set_state(p, MM_PS_LOGIN_REQUIRED, MM_ERR_LOGIN_REQUIRED,
                         mimir ? "the server refused the remembered password (it changed?); "
                                 "log in again"
                               : "the identity provider ended the session (invalid_grant); "
                                 "log in again");
    mm_profile_wake(p, MM_ERR_LOGIN_REQUIRED, p->last_msg);
    char body[240];
    snprintf(body, sizeof(body), "Profile %s needs a new login%s: %srun 'mimir-helper login "
             "--profile %s'.", p->key.profile,
             mimir ? " (the remembered password stopped working)" : "",
             mimir ? "" : "choose Sign in, or ", p->key.profile);
    mm_desktop_login_required(p->agent->desktop, p->key.profile, body, !mimir);
}

static void attempt(mm_profile *p, int fresh_connection);

static void retry_later(mm_profile *p, mm_flow *f)
{
    mm_warn("profile %s: refresh failed (%s), retrying: %s", p->key.profile,
            mm_err_code(f->err), f->why);
    mm_profile_set_state(p, MM_PS_RETRYING, f->err, f->why);
    double jitter = (double)randombytes_uniform(1001) / 1000.0; /* no thundering herd */
    mm_profile_renew_in(p, mm_policy_backoff_ms(p->renew.failures++, jitter));
    /* Parked callers get the old token while it is valid, else the error. */
    int valid = p->access && p->access_exp > time(NULL);
    mm_profile_wake(p, valid ? MM_OK : f->err, f->why);
}

static void refreshed(mm_flow *f)
{
    mm_profile *p = f->arg;
    if (mm_profile_retired(p)) /* its waiters were answered when it was retired */
        return;
    if (p->agent->stopping) {
        mm_profile_wake(p, f->err != MM_OK ? f->err : MM_ERR_INTERNAL, "mimir-agent is stopping");
        return;
    }
    /* Logged out, or logged in again (or a new key set) while it ran: its
     * answer belongs to a credential we no longer hold.  Applying it would
     * overwrite the new login, and an invalid_grant for the old token would
     * end the new session. */
    if (!p->cred || f->tag != p->cred_gen) {
        mm_info("profile %s: dropped a refresh result for a credential that was replaced "
                "meanwhile", p->key.profile);
        mm_profile_revoke_quietly(p, f->tokens.refresh);
        f->tokens.refresh = NULL;
        if (p->state == MM_PS_REFRESHING) { /* nothing else took the state over */
            mm_profile_settle(p);
            mm_profile_wake(p, MM_OK, NULL); /* they decide again, on what we hold now */
        }
        return;
    }
    if (f->err == MM_OK && p->cfg->kind == MM_KIND_MIMIR) {
        p->renew.quick_retried = 0;
        mm_profile_adopt_tokens(p, &f->tokens, NULL);
        persist(p, retry_stored); /* the new token outlives a restart; nobody waits for it */
        ready(p);
        return;
    }
    if (f->err == MM_OK) {
        p->renew.quick_retried = 0;
        mm_profile_adopt_tokens(p, &f->tokens, f->claims.sub);
        mm_secret *rt = f->tokens.refresh;
        if (rt && !mm_secret_equal(p->cred->data, rt->data)) {
            /* The old refresh token is dead at the IdP now.  Nothing is
             * answered until the new one is in the keyring: the profile
             * stays "refreshing", so callers keep waiting on this flight. */
            mm_profile_set_cred(p, rt);
            f->tokens.refresh = NULL;
            persist(p, rotation_stored);
            return;
        }
        ready(p);
        return;
    }
    if (f->tokens.error == MM_OAUTH_ERR_INVALID_GRANT) {
        session_ended(p);
        return;
    }
    /* A refused answer that still carried a rotated refresh token: the old
     * one is dead at the IdP, so the new one is kept and stored. */
    mm_secret *rt = f->tokens.refresh;
    if (rt && !mm_secret_equal(p->cred->data, rt->data)) {
        mm_profile_set_cred(p, rt);
        f->tokens.refresh = NULL;
        persist(p, retry_stored);
    }
    /* A hung or dropped connection: while callers wait, try once more at
     * once on a new connection rather than make them wait for the backoff. */
    if ((f->err == MM_ERR_TIMEOUT || f->err == MM_ERR_NETWORK) && p->waiters &&
        !p->renew.quick_retried) {
        mm_warn("profile %s: refresh attempt failed (%s); retrying at once on a new "
                "connection", p->key.profile, f->why);
        p->renew.quick_retried = 1;
        attempt(p, 1);
        return;
    }
    p->renew.quick_retried = 0;
    retry_later(p, f);
}

/* The renewal request: the refresh grant, or for a Mimir profile its
 * password grant with the remembered password. */
static mm_flow *renewal(mm_profile *p)
{
    int mimir = p->cfg->kind == MM_KIND_MIMIR;
    mm_flow *f = mm_profile_flow(p, mimir ? MM_FLOW_PASSWORD : MM_FLOW_TOKEN, refreshed, p);
    if (f && mimir) {
        mm_mimir_password_body(&f->form, p->subject ? p->subject : "", p->cred->data);
    } else if (f) {
        mm_form_add(&f->form, "grant_type", "refresh_token");
        mm_form_add(&f->form, "refresh_token", p->cred->data);
        mm_form_add(&f->form, "client_id", p->cfg->client_id);
        if (p->cfg->resource)
            mm_form_add(&f->form, "resource", p->cfg->resource);
    }
    return f;
}

static void attempt(mm_profile *p, int fresh_connection)
{
    mm_flow *f = renewal(p);
    if (!f) {
        mm_profile_settle(p);
        mm_profile_wake(p, MM_ERR_NOMEM, "out of memory");
        return;
    }
    if (!fresh_connection) /* a retry after a timeout gets the full deadline */
        f->http.timeout_ms = mm_policy_attempt_timeout_ms(
            p->access ? (int64_t)p->access_exp * 1000 : 0, wall_ms(), f->http.timeout_ms);
    f->http.fresh_connect = fresh_connection;
    f->tag = p->cred_gen;
    p->renew.last_ms = mm_now_ms();
    mm_flow_submit(f);
}

static void deferred(mm_loop *loop, void *data)
{
    (void)loop;
    mm_profile *p = data;
    p->renew.timer = 0;
    p->renew.next_at = 0;
    if (p->cred)
        attempt(p, 0);
    else
        ready(p);
}

void mm_refresh_start(mm_profile *p)
{
    if (p->state == MM_PS_REFRESHING || mm_profile_retired(p) || p->agent->stopping)
        return;
    if (!p->cred || (p->cfg->kind != MM_KIND_OAUTH && p->cfg->kind != MM_KIND_MIMIR)) {
        mm_profile_wake(p, MM_OK, NULL); /* their decision says what is missing */
        return;
    }
    mm_profile_renew_cancel(p); /* this attempt replaces a scheduled one */
    mm_profile_set_state(p, MM_PS_REFRESHING, MM_OK, NULL);
    uint64_t wait = mm_policy_refresh_delay_ms(0, 0, p->renew.last_ms, mm_now_ms());
    if (wait) /* too soon after the last attempt: no IdP answer can make us spin */
        p->renew.timer = mm_loop_add_timer(p->agent->loop, wait, deferred, p);
    else
        attempt(p, 0);
}
