/*
 * login.h - interactive login: authorization code + PKCE through the
 * browser and the loopback listener, or the device grant (RFC 8628).
 *
 * One login per profile at a time; a second request for the same mode
 * joins the running one.  Whoever asks is told through a listener: first
 * the challenge the user must act on (a URL or a device code), then the
 * outcome.  Turning either into a protocol reply is the caller's business.
 */
#ifndef MM_LOGIN_H
#define MM_LOGIN_H

#include <time.h>

#include "profile.h"

typedef struct {
    int device;       /* the device grant instead of the browser */
    int open_browser; /* the agent starts $BROWSER itself (only when asked) */
    double timeout_s; /* the whole login */
} mm_login_opts;

/* What the user must act on. */
typedef struct {
    const char *id;
    int device;
    const char *url, *redirect_uri; /* browser */
    int browser_opened;
    const char *user_code, *verification_uri, *verification_uri_complete; /* device */
    int interval;
    time_t expires_at;
    int joined; /* the listener joined a login that was already running */
} mm_login_challenge;

typedef struct mm_login_listener mm_login_listener;
struct mm_login_listener {
    /* The challenge is known (starters only; called at most once). */
    void (*challenge)(mm_login_listener *l, mm_profile *p, const mm_login_challenge *c);
    /* The login ended (or failed before a challenge): called exactly once;
     * the listener is off the list by then. */
    void (*ended)(mm_login_listener *l, mm_profile *p, mm_err e, const char *msg);
    mm_login_listener *next;
};

/* Start a login (or join the running one).  MM_ERR_LOGIN_IN_PROGRESS when a
 * login of the other mode runs, MM_ERR_WRONG_KIND for a profile that does
 * not log in; else MM_OK and the starter hears of it later. */
mm_err mm_login_start(mm_profile *p, const mm_login_opts *o, mm_login_listener *starter);

/* Mimir's own login (kind "mimir"): the password grant at the server.  The
 * starter hears only the outcome (there is nothing for the user to do).  The
 * password is kept (in the keyring, to renew the token) only when remember
 * is set.  A refused password gives MM_ERR_ACCESS_DENIED and stores nothing. */
mm_err mm_login_password(mm_profile *p, const mm_login_opts *o, const char *username,
                         const char *password, int remember, mm_login_listener *starter);

/* Wait for login `id` to end: 1 when parked (the listener will hear), 0
 * when it has already ended (its outcome is p->last_login), -1 when this
 * profile knows no such login. */
int mm_login_wait(mm_profile *p, const char *id, mm_login_listener *w);

/* End a running login (logout, reload): everyone hears "cancelled". */
void mm_login_cancel(mm_profile *p);

#endif
