/*
 * flow.h - OAuth work items shared by login.c and refresh.c.
 *
 * An mm_flow is one worker job: discovery when the issuer's metadata is not
 * cached, then one protocol step (code exchange, refresh, device
 * authorization or poll, revocation), plus ID token verification when the
 * answer carries one.  Inputs are copied in on the loop thread, so a
 * config reload while the job runs cannot pull anything from under it.
 */
#ifndef MM_FLOW_H
#define MM_FLOW_H

#include "agent.h"
#include "oauth.h"

typedef enum {
    MM_FLOW_DISCOVER,
    MM_FLOW_TOKEN, /* code exchange, refresh or device poll: the form says which */
    MM_FLOW_DEVICE_AUTH,
    MM_FLOW_REVOKE,
} mm_flow_kind;

typedef struct mm_flow mm_flow;
struct mm_flow {
    mm_job job;
    mm_flow_kind kind;
    mm_profile *p;
    void (*done)(mm_flow *f); /* loop thread; the flow is freed after it */
    void *arg;
    /* inputs */
    char *cache_key, *issuer, *server_url, *client_id, *ca_file;
    mm_http_opts http;
    mm_oauth_meta meta;
    int have_meta;
    mm_form form;
    char *nonce;        /* expected ID token nonce; NULL for refresh/device */
    int want_id_token;  /* a code exchange must return one */
    mm_secret *secret;  /* token to revoke */
    /* outputs */
    mm_err err;
    char why[512];
    mm_tokens tokens;
    mm_jwt_claims claims;
    mm_device_auth dev;
};

mm_flow *mm_flow_new(mm_profile *p, mm_flow_kind kind, void (*done)(mm_flow *f), void *arg);
void mm_flow_submit(mm_flow *f);
/* Cached issuer metadata for p, or NULL. */
const mm_oauth_meta *mm_flow_cached_meta(const mm_profile *p);

#endif
