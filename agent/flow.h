/*
 * flow.h - OAuth exchanges shared by login.c and refresh.c.
 *
 * An mm_flow is a small state machine on the event loop: discovery when
 * the issuer's metadata is not cached (from the MCP server's RFC 9728
 * metadata when only its URL is known), then one protocol step (code
 * exchange, refresh, device authorization or poll, revocation), plus ID
 * token verification, fetching the JWKS when needed and once more when the
 * token's kid is unknown (key rotation).  All HTTP is non-blocking (http.c),
 * so a hanging IdP delays only its own flow.  Inputs are copied in, so a
 * config reload while the flow runs cannot pull anything from under it.
 *
 * A flow knows nothing of profiles: whoever starts one says where to go
 * (mm_flow_target) and may hand over a hold on its own context (owner +
 * release), which the flow drops after done() has run.
 */
#ifndef MM_FLOW_H
#define MM_FLOW_H

#include "http.h"
#include "jwt.h"
#include "mimirapi.h"
#include "oauth.h"

typedef enum {
    MM_FLOW_DISCOVER,
    MM_FLOW_TOKEN, /* code exchange, refresh or device poll: the form says which */
    MM_FLOW_DEVICE_AUTH,
    MM_FLOW_REVOKE,
    MM_FLOW_MIMIR_CONFIG, /* GET the Mimir server's /auth/config (no OAuth at all) */
    MM_FLOW_PASSWORD,     /* Mimir's password grant: the form is the JSON body */
} mm_flow_kind;

/* Where a flow goes and how. */
typedef struct {
    const char *cache_key;  /* the metadata cache's key: issuer, else server URL */
    const char *issuer;     /* NULL: discover it from server_url (RFC 9728) */
    const char *server_url;
    const char *client_id;
    const char *ca_file;    /* NULL: the system trust store */
    int timeout_ms;         /* of each HTTP request */
} mm_flow_target;

typedef struct mm_flow mm_flow;
struct mm_flow {
    mm_flow_kind kind;
    int step;            /* flow.c's state */
    int jwks_refetched;  /* at most one refetch per flow */
    int meta_dirty;      /* discovery or JWKS fetched: update the cache */
    char url[2048];      /* of the request in flight */
    time_t sent_at;      /* when it was sent */
    mm_http *h;
    void (*done)(mm_flow *f); /* loop thread; the flow is freed after it */
    void *arg;
    void (*release)(void *owner); /* after done(): drop the starter's hold */
    void *owner;
    unsigned tag;        /* the starter's own (refresh: the credential generation) */
    /* inputs */
    char *cache_key, *issuer, *server_url, *client_id, *ca_file;
    mm_http_opts http;
    mm_oauth_meta meta;
    int have_meta;
    char *found_issuer;  /* from RFC 9728 discovery */
    long resource_status; /* what the MCP endpoint said to a request without credentials */
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
    mm_mimir_config mimir;
};

mm_flow *mm_flow_new(mm_http *h, const mm_flow_target *t, mm_flow_kind kind,
                     void (*done)(mm_flow *f), void *arg);
/* Starts the flow; done() runs exactly once, from a later loop turn (but for
 * a discovery the metadata cache answers at once). */
void mm_flow_submit(mm_flow *f);
/* Drop a flow that was never submitted (its release runs; done does not). */
void mm_flow_discard(mm_flow *f);

/* The metadata cache (discovery documents and JWKS), loop thread only. */
const mm_oauth_meta *mm_flow_cache_get(const char *key); /* NULL: none or stale */
/* Drop an entry: it led to a refusal, fetch it afresh next time. */
void mm_flow_cache_forget(const char *key);
void mm_flow_cache_clear(void);

#endif
