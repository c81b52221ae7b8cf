/*
 * agent.h - the agent's state: configuration, per-profile runtime state,
 * and the glue between the socket server, the worker pool and the OAuth
 * machinery.  Everything here is touched only on the loop thread.
 */
#ifndef MM_AGENT_H
#define MM_AGENT_H

#include <time.h>

#include "loop.h"
#include "mimir/config.h"
#include "mimir/proto.h"
#include "secret.h"
#include "server.h"
#include "store.h"
#include "worker.h"

typedef enum {
    MM_PS_LOADING,        /* keyring read in flight */
    MM_PS_READY,          /* a credential is present */
    MM_PS_REFRESHING,     /* refresh grant in flight */
    MM_PS_RETRYING,       /* refresh failed; retry scheduled */
    MM_PS_LOGIN_REQUIRED, /* nothing usable: log in (or set an API key) */
    MM_PS_LOGGING_IN,     /* a login is running */
    MM_PS_STORE_ERROR,    /* the keyring could not be read */
} mm_pstate;

/* A request waiting for a profile to settle (load, refresh, login). */
typedef struct mm_waiter {
    mm_conn *conn; /* held while waiting */
    cJSON *id;
    mm_op op;
    double min_ttl;
    struct mm_waiter *next;
} mm_waiter;

typedef struct mm_login mm_login;
typedef struct mm_agent mm_agent;

typedef struct mm_profile {
    mm_agent *agent;
    const mm_profile_cfg *cfg; /* points into agent->cfg; updated on reload */
    mm_store_key key;
    mm_pstate state;
    mm_secret *cred;   /* refresh token or API key, from the keyring */
    mm_secret *access; /* current access token */
    time_t access_exp;
    time_t access_iat;
    char *subject;
    char *scope;
    mm_err last_err;
    char last_msg[256];
    mm_err store_err; /* health of the last keyring operation */
    int jobs;         /* worker jobs in flight for this profile */
    int orphan;       /* removed by reload; freed when jobs reach 0 */
    mm_waiter *waiters;
    mm_login *login;
    char last_login_id[32]; /* outcome of the last finished login, for a */
    mm_err last_login_err;  /* login_wait that arrives after it ended */
    char last_login_msg[256];
    uint64_t refresh_timer;
    uint64_t persist_timer; /* retrying a failed keyring write */
    int persist_retries;
    time_t next_refresh;
    int retries;
    uint64_t last_attempt_ms; /* start of the last refresh (boot clock) */
    struct mm_profile *next;
} mm_profile;

struct mm_agent {
    mm_loop *loop;
    mm_server *server;
    mm_worker *worker;
    struct mm_http *http;
    char config_path[4096];
    mm_config cfg;
    mm_profile *profiles;
    int shutting_down;
    int login_timeout_s;
    int http_timeout_ms;
    uint64_t stop_deadline_ms; /* a stop was asked for; see main.c */
};

const char *mm_pstate_name(mm_pstate s);

/* profile.c */
mm_err mm_agent_load_profiles(mm_agent *a, char *why, size_t whylen);
mm_profile *mm_agent_profile(mm_agent *a, const char *name);
/* A parked request: holds its connection and its id.  On OOM the request
 * is answered with no_memory and NULL comes back. */
mm_waiter *mm_waiter_new(mm_conn *c, const mm_request *req, double min_ttl);
/* Answer with reply (consumed), release the connection, free w. */
void mm_waiter_finish(mm_waiter *w, cJSON *reply);
void mm_profile_wait(mm_profile *p, mm_conn *c, const mm_request *req, double min_ttl);
/* Answer waiters after a transition; e != MM_OK answers them with an error. */
void mm_profile_wake(mm_profile *p, mm_err e, const char *msg);
void mm_profile_set_state(mm_profile *p, mm_pstate s, mm_err e, const char *msg);
void mm_profile_forget(mm_profile *p);
cJSON *mm_profile_status(const mm_profile *p);
void mm_agent_free_profiles(mm_agent *a);

/* Install a credential document read from / written to the keyring. */
mm_err mm_profile_adopt_doc(mm_profile *p, const mm_secret *doc);
/* Build the keyring document for secret with the profile's metadata. */
mm_secret *mm_profile_make_doc(const mm_profile *p, const char *secret);

/* Keyring jobs; done callbacks run on the loop thread. */
typedef struct mm_store_job mm_store_job;
typedef void (*mm_store_done)(mm_profile *p, mm_err e, const char *why, mm_secret *doc,
                              void *arg);
void mm_store_submit_load(mm_profile *p, mm_store_done done, void *arg);
void mm_store_submit_save(mm_profile *p, mm_secret *doc, mm_store_done done, void *arg);
void mm_store_submit_erase(mm_profile *p, mm_store_done done, void *arg);

/* ops.c */
void mm_agent_on_line(void *ctx, mm_conn *c, const char *line, size_t len);
cJSON *mm_profile_token_reply(mm_profile *p, const cJSON *id, mm_op op, double min_ttl);
void mm_agent_event(mm_agent *a, mm_profile *p, const char *event);

/* oauth side (login.c, refresh.c); no-ops for api-key profiles. */
void mm_refresh_start(mm_profile *p);
void mm_refresh_schedule(mm_profile *p);
void mm_refresh_check_all(mm_agent *a);
/* While backing off: start the next attempt now unless one began within
 * the last second.  1 when a refresh is now running. */
int mm_refresh_retry_now(mm_profile *p);
void mm_login_cancel(mm_profile *p);
void mm_oauth_cache_clear(void);

#endif
