/*
 * oauth.h - the OAuth 2.0 / OIDC messages: discovery (OIDC, RFC 8414,
 * RFC 9728 from an MCP server URL), the token endpoint, JWKS, revocation
 * (RFC 7009) and device authorization (RFC 8628).  Pure functions over
 * HTTP responses; flow.c does the I/O and sequencing.
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

/* RFC 9728: where the protected resource's metadata is, from the 401's
 * WWW-Authenticate resource_metadata hint or the well-known location. */
void mm_oauth_prm_url(const char *server_url, const char *www_authenticate, char *url,
                      size_t len);
/* The first authorization server the resource names. */
mm_err mm_oauth_parse_prm(const mm_http_resp *r, const char *url, const char *server_url,
                          char **issuer, char *why, size_t whylen);
/* OIDC discovery URL, or with rfc8414 set the RFC 8414 one. */
void mm_oauth_discovery_url(const char *issuer, int rfc8414, char *url, size_t len);
/* Parse a discovery document; it must name exactly this issuer. */
mm_err mm_oauth_parse_meta(const mm_http_resp *r, const char *url, const char *issuer,
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
 * A token endpoint answer.  MM_OK with tokens; an OAuth error answer gives
 * MM_ERR_IDP with t->oauth_error set; 5xx and garbage give MM_ERR_IDP with
 * oauth_error empty (retryable).
 */
mm_err mm_oauth_parse_token(const mm_http_resp *r, time_t sent_at, mm_tokens *t, char *why,
                            size_t whylen);
/* Replace *jwks with the JWKS in r. */
mm_err mm_oauth_parse_jwks(const mm_http_resp *r, const char *url, cJSON **jwks, char *why,
                           size_t whylen);

void mm_oauth_revoke_form(mm_form *f, const char *token, const char *client_id);
mm_err mm_oauth_check_revoke(const mm_http_resp *r, char *why, size_t whylen);

typedef struct {
    mm_secret *device_code;
    char *user_code;
    char *verification_uri;
    char *verification_uri_complete;
    int interval;
    time_t expires_at;
} mm_device_auth;

void mm_device_auth_free(mm_device_auth *d);
mm_err mm_oauth_parse_device(const mm_http_resp *r, mm_device_auth *d, char *why,
                            size_t whylen);

#endif
