/*
 * agent.h - the agent's context: what every part of the daemon shares
 * (the loop, the worker, the HTTP client, the configuration and the list of
 * profiles) and the hooks through which lower layers report upwards.
 * Everything here is touched only on the loop thread.
 */
#ifndef MM_AGENT_H
#define MM_AGENT_H

#include <stdint.h>

#include "http.h"
#include "loop.h"
#include "mimir/config.h"
#include "worker.h"

typedef struct mm_agent mm_agent;
struct mm_profile;
struct mm_server;
struct mm_desktop;

/* Filled in by the ops layer (ops.c); profile.c calls them, so that it
 * never needs to know who listens. */
typedef struct {
    void (*state_changed)(mm_agent *a, struct mm_profile *p);
    void (*renew_due)(struct mm_profile *p); /* the renewal timer fired */
} mm_agent_hooks;

struct mm_agent {
    mm_loop *loop;
    struct mm_server *server;
    mm_worker *worker;
    mm_http *http;
    struct mm_desktop *desktop; /* notifications; NULL when it could not start */
    mm_agent_hooks hooks;
    char config_path[4096];
    char vault_path[4096];
    mm_config cfg;
    struct mm_profile *profiles;
    int stopping;            /* the loop has ended: start nothing new */
    int vault_op;            /* an unlock or lock of the file store is queued */
    int login_timeout_s;
    int http_timeout_ms;
    int keyring_timeout_ms;
    uint64_t stop_deadline_ms; /* a stop was asked for; see main.c */
};

#endif
