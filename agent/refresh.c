/*
 * refresh.c - the refresh grant: single-flight, proactive, rotation-safe.
 *
 * Single flight: the REFRESHING state is the lock.  Token requests that
 * find the profile refreshing wait on it (ops.c), so any number of callers
 * at an expiry boundary cause one call to the IdP.
 *
 * Rotation: when the IdP returns a new refresh token the old one is dead
 * at the IdP.  The new one replaces the old in memory at once and goes to
 * the keyring in the same loop turn; the waiting callers are answered only
 * when the write has completed.  The crash window is therefore the time
 * from the IdP's answer to the end of the keyring write (one D-Bus round
 * trip, milliseconds); a crash inside it loses the login, any crash after
 * it loses nothing.  A failed write is retried with backoff and shown in
 * status ("storage": "error") while the token lives on in memory.
 *
 * Failures: network errors, timeouts, 5xx and garbage are retried with
 * exponential backoff and jitter while the access token, if still valid,
 * keeps being served; invalid_grant means the login is over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "flow.h"
#include "log.h"
#include "login.h"
#include "notify.h"

#define BACKOFF_MIN_MS 1000u
#define BACKOFF_MAX_MS 60000u
#define REFRESH_AT 0.75 /* of the access token's lifetime */

static void on_timer(mm_loop *loop, void *data)
{
    (void)loop;
    mm_profile *p = data;
    p->refresh_timer = 0;
    p->next_refresh = 0;
    if (p->state == MM_PS_READY || p->state == MM_PS_RETRYING)
        mm_refresh_start(p);
}

static void arm(mm_profile *p, uint64_t delay_ms)
{
    if (p->refresh_timer)
        mm_loop_del_timer(p->agent->loop, p->refresh_timer);
    p->refresh_timer = mm_loop_add_timer(p->agent->loop, delay_ms, on_timer, p);
    p->next_refresh = time(NULL) + (time_t)(delay_ms / 1000);
}

/*
 * Timers run on CLOCK_BOOTTIME, so one that expired during suspend fires on
 * resume.  The wall clock can still jump (NTP after resume, manual
 * changes) and expiry times are wall-clock: a slow periodic check catches
 * any profile whose refresh time has passed without its timer firing.
 */
void mm_refresh_check_all(mm_agent *a)
{
    time_t now = time(NULL);
    for (mm_profile *p = a->profiles; p; p = p->next)
        if (p->state == MM_PS_READY && p->cred && p->next_refresh && p->next_refresh < now - 5)
            mm_refresh_start(p);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mm_refresh_schedule(mm_profile *p)
{
    if (!p->cred || !p->access || p->cfg->kind != MM_KIND_OAUTH)
        return;
    /* In milliseconds: whole seconds would turn 75% of a 3 s token into 67%. */
    int64_t life = ((int64_t)p->access_exp - (int64_t)p->access_iat) * 1000;
    int64_t at = (int64_t)p->access_iat * 1000 + (int64_t)((double)life * REFRESH_AT);
    int64_t now = wall_ms();
    arm(p, at > now ? (uint64_t)(at - now) : 0);
}

int mm_refresh_retry_now(mm_profile *p)
{
    if (p->state != MM_PS_RETRYING || !p->cred ||
        mm_now_ms() - p->last_attempt_ms < BACKOFF_MIN_MS)
        return 0;
    mm_refresh_start(p);
    return p->state == MM_PS_REFRESHING;
}

static void retry_later(mm_profile *p)
{
    unsigned shift = p->retries < 6 ? (unsigned)p->retries : 6;
    uint64_t delay = BACKOFF_MIN_MS << shift;
    if (delay > BACKOFF_MAX_MS)
        delay = BACKOFF_MAX_MS;
    delay += randombytes_uniform((uint32_t)delay / 2 + 1); /* jitter: no thundering herd */
    p->retries++;
    arm(p, delay);
}

static void persist(mm_profile *p);

static void persist_retry(mm_loop *loop, void *data)
{
    (void)loop;
    mm_profile *p = data;
    p->persist_timer = 0;
    persist(p);
}

static void ready(mm_profile *p)
{
    p->retries = 0;
    p->last_err = MM_OK;
    mm_profile_set_state(p, MM_PS_READY, MM_OK, NULL);
    mm_refresh_schedule(p);
    mm_profile_wake(p, MM_OK, NULL);
}

static void persisted(mm_profile *p, mm_err e, const char *why, mm_secret *doc, void *arg)
{
    (void)doc, (void)why;
    if (p->orphan)
        return;
    if (arg) /* the refresh that rotated: its waiters were held for this write */
        ready(p);
    if (e == MM_OK) {
        p->persist_retries = 0;
        mm_debug("profile %s: rotated refresh token stored", p->key.profile);
        return;
    }
    /* Keep the only valid refresh token in memory and keep trying; status
     * shows "storage": "error" meanwhile. */
    unsigned shift = p->persist_retries < 6 ? (unsigned)p->persist_retries : 6;
    p->persist_retries++;
    if (!p->persist_timer)
        p->persist_timer = mm_loop_add_timer(p->agent->loop, (uint64_t)BACKOFF_MIN_MS << shift,
                                             persist_retry, p);
}

/* rotation: non-NULL for the write that follows a rotating refresh. */
static void persist_rt(mm_profile *p, void *rotation)
{
    if (p->cred)
        mm_store_submit_save(p, mm_profile_make_doc(p, p->cred->data), persisted, rotation);
    else if (rotation)
        ready(p);
}

static void persist(mm_profile *p) { persist_rt(p, NULL); }

static void erased_dead(mm_profile *p, mm_err e, const char *why, mm_secret *doc, void *arg)
{
    (void)p, (void)e, (void)why, (void)doc, (void)arg; /* store_done logged a failure */
}

static void refreshed(mm_flow *f)
{
    mm_profile *p = f->p;
    if (p->orphan) /* removed by a reload; its waiters were answered then */
        return;
    if (f->err == MM_OK) {
        mm_login_adopt_tokens(p, f);
        /* Rotation: only a different refresh token needs the keyring. */
        if (f->tokens.refresh && !(p->cred && mm_secret_equal(p->cred->data,
                                                              f->tokens.refresh->data))) {
            /* The old refresh token is dead at the IdP now.  Nothing is
             * answered until the new one is in the keyring: the profile
             * stays "refreshing", so callers keep waiting on this flight. */
            mm_secret_clear(&p->cred);
            p->cred = f->tokens.refresh;
            f->tokens.refresh = NULL;
            persist_rt(p, p);
            return;
        }
        ready(p);
        return;
    }
    if (!strcmp(f->tokens.oauth_error, "invalid_grant")) {
        mm_warn("profile %s: the identity provider rejected the refresh token; login "
                "required", p->key.profile);
        mm_profile_forget(p);
        /* The dead refresh token goes from the keyring too, or every start
         * would try it again (and notify again). */
        mm_store_submit_erase(p, erased_dead, NULL);
        mm_profile_set_state(p, MM_PS_LOGIN_REQUIRED, MM_ERR_LOGIN_REQUIRED,
                             "the identity provider ended the session (invalid_grant); "
                             "log in again");
        mm_profile_wake(p, MM_ERR_LOGIN_REQUIRED, p->last_msg);
        char body[200];
        snprintf(body, sizeof(body), "Profile %s needs a new login: run 'mimir-helper login "
                 "--profile %s'.", p->key.profile, p->key.profile);
        mm_notify(p->agent->worker, "Mimir: login required", body);
        return;
    }
    mm_warn("profile %s: refresh failed (%s), retrying: %s", p->key.profile,
            mm_err_code(f->err), f->why);
    mm_profile_set_state(p, MM_PS_RETRYING, f->err, f->why);
    retry_later(p);
    /* Waiters get the old token while it is valid, else the error. */
    int valid = p->access && p->access_exp > time(NULL);
    mm_profile_wake(p, valid ? MM_OK : f->err, f->why);
}

void mm_refresh_start(mm_profile *p)
{
    if (p->state == MM_PS_REFRESHING || p->cfg->kind != MM_KIND_OAUTH)
        return;
    if (!p->cred) {
        mm_profile_wake(p, MM_OK, NULL); /* the reply says login_required */
        return;
    }
    mm_flow *f = mm_flow_new(p, MM_FLOW_TOKEN, refreshed, NULL);
    if (!f) {
        mm_profile_wake(p, MM_ERR_NOMEM, "out of memory");
        return;
    }
    mm_form_add(&f->form, "grant_type", "refresh_token");
    mm_form_add(&f->form, "refresh_token", p->cred->data);
    mm_form_add(&f->form, "client_id", p->cfg->client_id);
    if (p->cfg->resource)
        mm_form_add(&f->form, "resource", p->cfg->resource);
    if (p->refresh_timer) /* this attempt replaces a scheduled one */
        mm_loop_del_timer(p->agent->loop, p->refresh_timer);
    p->refresh_timer = 0;
    p->next_refresh = 0;
    p->last_attempt_ms = mm_now_ms();
    mm_profile_set_state(p, MM_PS_REFRESHING, MM_OK, NULL);
    mm_flow_submit(f);
}
