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
/* Replace control and non-ASCII bytes of an IdP-supplied text by '?': such
 * texts end up in terminals and log lines. */
void mm_oauth_printable(char *s);
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

/* The OAuth error codes the agent acts on (RFC 6749 5.2, RFC 8628 3.5);
 * turned into this enum once, here, from the IdP's string. */
typedef enum {
    MM_OAUTH_ERR_NONE,           /* no OAuth error object: a transport or format problem */
    MM_OAUTH_ERR_INVALID_GRANT,  /* the refresh token (or code) is dead */
    MM_OAUTH_ERR_ACCESS_DENIED,  /* the user or the IdP said no */
    MM_OAUTH_ERR_EXPIRED_TOKEN,  /* the device code expired */
    MM_OAUTH_ERR_AUTHORIZATION_PENDING,
    MM_OAUTH_ERR_SLOW_DOWN,
    MM_OAUTH_ERR_OTHER,          /* any other error code */
} mm_oauth_error;

mm_oauth_error mm_oauth_error_from_string(const char *code);

typedef struct {
    mm_secret *access;
    mm_secret *refresh; /* NULL when none was issued */
    char *id_token;
    char *scope;
    time_t expires_at;
    time_t issued_at;
    int lifetime_given; /* the answer had expires_in (else an hour is assumed) */
    mm_oauth_error error;
} mm_tokens;

void mm_tokens_free(mm_tokens *t);

/*
 * A token endpoint answer.  MM_OK with tokens; an OAuth error answer gives
 * MM_ERR_IDP with t->error set; 5xx and garbage give MM_ERR_IDP with
 * t->error MM_OAUTH_ERR_NONE (retryable).  The lifetime is clamped
 * (policy.h) and the access token must be a b64token: a token that could
 * inject a header is refused here, before anyone stores or serves it.  A
 * valid refresh_token in an answer refused for such reasons is still handed
 * over in t->refresh (with MM_ERR_IDP): the IdP may have rotated already.
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
