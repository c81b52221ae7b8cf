/*
 * profile.h - one profile's runtime state: its credentials, its state
 * machine (pstate.h; the table is in docs/architecture.md), the requests
 * parked on it, its renewal timer, its keyring jobs and its lifetime.
 *
 * Lifetime: a profile is reference-counted.  The agent's list holds one
 * reference; everything that finishes later (a keyring job, an OAuth flow,
 * a login) holds another and drops it when done.  A reload that removes
 * the profile retires it: cfg becomes NULL, waiters are answered, memory
 * is wiped, and the struct lives until the last holder lets go.  Code that
 * runs after an asynchronous step checks mm_profile_retired() first.
 *
 * This file calls nobody above it: it tells the outside world what happens
 * through the agent's hooks (agent.h), which the ops layer registers.
 */
#ifndef MM_PROFILE_H
#define MM_PROFILE_H

#include <stdint.h>
#include <time.h>

#include "agent.h"
#include "flow.h"
#include "pstate.h"
#include "store.h"

/* A request parked until the profile settles.  The parker embeds this and
 * says what waking means; wake is called once, with e != MM_OK when the
 * outcome is an error for everyone. */
typedef struct mm_pwait mm_pwait;
struct mm_pwait {
    void (*wake)(mm_pwait *w, struct mm_profile *p, mm_err e, const char *msg);
    mm_pwait *next;
};

typedef struct mm_login mm_login;

typedef struct mm_profile {
    mm_agent *agent;
    const mm_profile_cfg *cfg; /* into agent->cfg; NULL once retired */
    mm_store_key key;          /* name, issuer, client id: outlive cfg */
    int refs;
    mm_pstate state;
    int loading;       /* keyring read in flight */
    int writes;        /* keyring writes (save, erase) in flight */
    mm_err store_err;  /* outcome of the last keyring operation */
    mm_secret *cred;   /* refresh token or API key, from the keyring */
    unsigned cred_gen; /* bumped whenever cred is replaced or dropped */
    int pin_refused;   /* the stored credential belongs to another server (last_msg says) */
    mm_secret *access; /* current access token */
    time_t access_exp, access_iat;
    char *subject, *scope;
    mm_err last_err;
    char last_msg[256];
    mm_pwait *waiters;
    int nwaiters;
    mm_login *login; /* login.c's, while one runs */
    struct {         /* the outcome of the last finished login (login_wait) */
        char id[32];
        mm_err err;
        char msg[256];
    } last_login;
    struct {                  /* renewal schedule (refresh.c starts the attempts) */
        uint64_t timer;       /* the next attempt, when armed */
        time_t next_at;       /* ... in wall-clock seconds, for status */
        uint64_t last_ms;     /* when the last attempt began (boot clock) */
        int failures;         /* failed attempts in a row */
        int quick_retried;    /* a timed-out attempt was retried at once */
        uint64_t persist_timer; /* retrying a keyring write of a rotated token */
        int persist_failures;
    } renew;
    struct mm_profile *next;
} mm_profile;

const char *mm_profile_state_name(mm_pstate s);

/* A new profile (one reference, the list's) whose keyring read starts now. */
mm_profile *mm_profile_new(mm_agent *a, const mm_profile_cfg *cfg);
/* A reload kept the profile: point it at the new config entry. */
void mm_profile_set_cfg(mm_profile *p, const mm_profile_cfg *cfg);
void mm_profile_hold(mm_profile *p);
void mm_profile_release(mm_profile *p);
int mm_profile_retired(const mm_profile *p);
/* Removed from the config: answer waiters, wipe, drop the list's reference.
 * (A running login must have been cancelled first.) */
void mm_profile_retire(mm_profile *p);

/* Read the credential from the store again (the vault was unlocked). */
void mm_profile_reload(mm_profile *p);
/* Forget what the store gave us and say it is locked (the vault was locked;
 * the caller cancelled a running login first). */
void mm_profile_locked(mm_profile *p, const char *msg);

/* Transitions tell the agent's state_changed hook; e != MM_OK is recorded
 * as the last error. */
void mm_profile_set_state(mm_profile *p, mm_pstate s, mm_err e, const char *msg);
/* The state a profile rests in when nothing runs: loading while its keyring
 * read is in flight, storage_error if that failed, ready with a credential,
 * else login_required. */
void mm_profile_settle(mm_profile *p);

void mm_profile_park(mm_profile *p, mm_pwait *w);
/* Wake every parked request (each exactly once; the list is emptied first,
 * so a request may park again from its wake). */
void mm_profile_wake(mm_profile *p, mm_err e, const char *msg);

/* Replace the credential (the old one is freed: a caller that keeps it
 * takes it and sets p->cred to NULL first).  A refresh that was started
 * with the old one sees the new generation and drops its answer. */
void mm_profile_set_cred(mm_profile *p, mm_secret *cred);
/* The signed-in user's name as shown and logged: printable ASCII, at most
 * 256 bytes (NULL: none). */
void mm_profile_set_subject(mm_profile *p, const char *subject);

/* Drop every credential held in memory (not the keyring item) and stop the
 * renewal timers. */
void mm_profile_forget(mm_profile *p);

/* Take the access token, expiry, scope (and subject, when given) of a
 * successful token response. */
void mm_profile_adopt_tokens(mm_profile *p, mm_tokens *t, const char *subject);
/* Arm the renewal for 75% of the access token's life (no sooner than the
 * spacing between attempts allows); nothing without a credential to renew
 * with. */
void mm_profile_schedule_renewal(mm_profile *p);
/* Arm the renewal timer: the agent's renew_due hook fires after delay_ms. */
void mm_profile_renew_in(mm_profile *p, uint64_t delay_ms);
void mm_profile_renew_cancel(mm_profile *p);

/* Where this profile's OAuth flows go. */
void mm_profile_target(const mm_profile *p, mm_flow_target *t);
/* A flow for this profile that holds it until the flow is done. */
mm_flow *mm_profile_flow(mm_profile *p, mm_flow_kind kind, void (*done)(mm_flow *f),
                         void *arg);

/* Best effort: a refresh token we will not keep (superseded, or from a
 * refused login) should not stay valid at the IdP.  Takes rt. */
void mm_profile_revoke_quietly(mm_profile *p, mm_secret *rt);

/* Keyring jobs for this profile: hold it, keep count, record the outcome in
 * store_err, and call done on the loop thread (also for a retired profile,
 * whose requester may still wait: it must not touch p->cfg then). */
typedef void (*mm_profile_store_done)(mm_profile *p, mm_err e, const char *why,
                                      const mm_secret *doc, void *arg);
void mm_profile_store(mm_profile *p, mm_store_op op, mm_secret *doc, mm_profile_store_done done,
                      void *arg);

/* The keyring document for secret, with the profile's metadata. */
mm_secret *mm_profile_make_doc(const mm_profile *p, const char *secret);
/* The keyring document of a Mimir profile holding token (expiring at exp, 0:
 * never), before the token replaces what the profile holds. */
mm_secret *mm_profile_token_doc(const mm_profile *p, const char *token, time_t exp);
/* Install a keyring document's credential; MM_ERR_STORE when it is not one
 * of this profile's kind, MM_ERR_LOGIN_REQUIRED when it was stored for
 * another server (an API key or Mimir password goes to the server itself).
 * *repin: the document predates server pins and should be written again. */
mm_err mm_profile_adopt_doc(mm_profile *p, const mm_secret *doc, int *repin);

#endif
