/*
 * oauth.h - the OAuth 2.0 / OIDC protocol pieces, blocking, for worker
 * jobs: discovery (OIDC, RFC 8414, RFC 9728 from an MCP server URL), the
 * token endpoint, revocation (RFC 7009), device authorization (RFC 8628),
 * JWKS fetch and ID token verification with one JWKS refetch on an
 * unknown kid.  The flows that sequence them live in login.c/refresh.c.
 */
#ifndef MM_OAUTH_H
#define MM_OAUTH_H

#include <time.h>

#include <cjson/cJSON.h>

#include "http.h"
#include "jwt.h"
#include "secret.h"

typedef struct {
    char *issuer;
    char *authorization_endpoint;
    char *token_endpoint;
    char *jwks_uri;
    char *revocation_endpoint;           /* NULL: no RFC 7009 */
    char *device_authorization_endpoint; /* NULL: no RFC 8628 */
    int iss_param;                       /* RFC 9207 advertised */
    int s256;                            /* PKCE S256 advertised */
    cJSON *jwks;                         /* NULL until fetched */
} mm_oauth_meta;

void mm_oauth_meta_free(mm_oauth_meta *m);
mm_err mm_oauth_meta_copy(mm_oauth_meta *dst, const mm_oauth_meta *src);

/* issuer may be NULL when only the MCP server URL is known. */
mm_err mm_oauth_discover(const char *issuer, const char *server_url, const mm_http_opts *o,
                         mm_oauth_meta *m, char *why, size_t whylen);

typedef struct {
    mm_secret *access;
    mm_secret *refresh; /* NULL when none was issued */
    char *id_token;
    char *scope;
    time_t expires_at;
    time_t issued_at;
    char oauth_error[64]; /* "invalid_grant", "authorization_pending", ... */
} mm_tokens;

void mm_tokens_free(mm_tokens *t);

/*
 * POST form to the token endpoint.  MM_OK with tokens; an OAuth error
 * answer gives MM_ERR_IDP with t->oauth_error set; 5xx, garbage and
 * transport failures give MM_ERR_IDP/NETWORK/TIMEOUT/TLS with
 * oauth_error empty (retryable).
 */
mm_err mm_oauth_token(const mm_oauth_meta *m, const mm_form *form, const mm_http_opts *o,
                      mm_tokens *t, char *why, size_t whylen);

/* Verify an ID token, refetching the JWKS once if its kid is unknown
 * (key rotation).  m->jwks is updated in place. */
mm_err mm_oauth_verify_id_token(mm_oauth_meta *m, const char *id_token,
                                const mm_jwt_expect *x, const mm_http_opts *o,
                                mm_jwt_claims *claims, char *why, size_t whylen);

mm_err mm_oauth_revoke(const mm_oauth_meta *m, const char *token, const char *client_id,
                       const mm_http_opts *o, char *why, size_t whylen);

typedef struct {
    mm_secret *device_code;
    char *user_code;
    char *verification_uri;
    char *verification_uri_complete;
    int interval;
    time_t expires_at;
} mm_device_auth;

void mm_device_auth_free(mm_device_auth *d);
mm_err mm_oauth_device_authorize(const mm_oauth_meta *m, const mm_form *form,
                                 const mm_http_opts *o, mm_device_auth *d, char *why,
                                 size_t whylen);

#endif
