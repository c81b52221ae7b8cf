/*
 * policy.h - the agent's decisions about credentials, as pure functions:
 * whether a token request is served, waits or needs a refresh; when the
 * next refresh is due; how long to back off; which lifetimes and which
 * credential texts the agent accepts at all.
 *
 * Nothing here reads a clock, touches a profile or does I/O: the callers
 * pass what they know, so every rule can be tested by itself
 * (tests/unit/agent/test_policy.c) and read in one place.
 */
#ifndef MM_POLICY_H
#define MM_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "mimir/config.h"
#include "pstate.h"

/* A token lifetime the IdP announced, clamped to this range (seconds). */
#define MM_POLICY_LIFETIME_MIN 1
#define MM_POLICY_LIFETIME_MAX (366LL * 24 * 3600)
/* No two refresh attempts of a profile start closer than this, whatever
 * the IdP answers or the callers ask for: nothing can make refresh spin. */
#define MM_POLICY_REFRESH_SPACING_MS 1000u
/* A refresh attempt gets the time the access token has left, but at least
 * this much (and at most the HTTP deadline). */
#define MM_POLICY_ATTEMPT_FLOOR_MS 4000u
/* Longest credential the agent holds or serves (bytes). */
#define MM_POLICY_CREDENTIAL_MAX 16384

/* Everything the token decision depends on. */
typedef struct {
    mm_kind kind;
    mm_pstate state;
    int has_cred;        /* refresh token, API key or stored bearer token */
    int has_access;      /* an access token is held */
    int64_t access_exp;  /* its expiry, wall-clock seconds */
    int64_t now;         /* wall-clock seconds */
    double min_ttl;      /* the caller wants at least this much life left */
    int rejected;        /* a server refused the credential we hold */
    int refreshed;       /* this request already waited through a refresh */
} mm_token_view;

typedef enum {
    MM_TOKEN_SERVE,   /* answer with the credential held */
    MM_TOKEN_WAIT,    /* park until the profile settles (load, refresh) */
    MM_TOKEN_REFRESH, /* park and start a refresh (single flight) */
    MM_TOKEN_FAIL,    /* answer with an error; why says which */
} mm_token_action;

typedef enum {
    MM_WHY_NONE,
    MM_WHY_NO_CREDENTIAL, /* never logged in / no key stored */
    MM_WHY_LOGGING_IN,    /* a login is running and nothing usable is held */
    MM_WHY_LAST_ERROR,    /* the profile's last error says it (store, refresh) */
    MM_WHY_REFUSED,       /* the server refused a credential we cannot renew */
} mm_token_why;

typedef struct {
    mm_token_action action;
    mm_token_why why; /* for MM_TOKEN_FAIL */
} mm_token_decision;

mm_token_decision mm_policy_token(const mm_token_view *v);

/* The announced expires_in (any double an IdP may send) as whole seconds
 * within [MM_POLICY_LIFETIME_MIN, MM_POLICY_LIFETIME_MAX]; -1 when it is not
 * a positive finite number. */
int64_t mm_policy_lifetime(double expires_in);

/* When to refresh a token valid from iat to exp (wall seconds): at 75% of its
 * life, in wall-clock milliseconds. */
int64_t mm_policy_refresh_at_ms(int64_t iat, int64_t exp);

/* How long to wait before the next attempt may start: until due_ms (wall
 * clock) but never sooner than MM_POLICY_REFRESH_SPACING_MS after the last
 * attempt began (last_ms and now_ms on the boot clock; last_ms 0: never). */
uint64_t mm_policy_refresh_delay_ms(int64_t due_ms, int64_t now_wall_ms, uint64_t last_ms,
                                    uint64_t now_ms);

/* Deadline of one refresh attempt: the access token's remaining life, within
 * [MM_POLICY_ATTEMPT_FLOOR_MS, http_timeout_ms]. */
int mm_policy_attempt_timeout_ms(int64_t access_exp_ms, int64_t now_wall_ms,
                                 int http_timeout_ms);

/* Backoff after the n-th failed attempt (n from 0): 1 s doubling to 60 s;
 * jitter (0..1) adds up to half of it. */
uint64_t mm_policy_backoff_ms(int n, double jitter);

/* 1 when s is an acceptable bearer credential: RFC 6750 b64token characters
 * (A-Z a-z 0-9 - . _ ~ + /, then '=' padding only), 1..MM_POLICY_CREDENTIAL_MAX
 * bytes.  Anything else (spaces, CR/LF, quotes, non-ASCII) could smuggle a
 * second header into `mimir-helper header` output or a client's request. */
int mm_policy_credential_ok(const char *s);

#endif
