/*
 * mimirapi.h - Mimir's own authentication API, as its server speaks it, for
 * profiles of kind "mimir" and for finding out how a server authenticates:
 *
 *   GET  <origin>/auth/config
 *        {"devLoginEnabled": bool, "oauthProviders": [{"name","url","displayName"}]}
 *        (both empty/false when the server runs with security off)
 *   POST <origin>/auth/token   {"grant_type":"password","username","password"}
 *        {"access_token","token_type":"Bearer","scope"[,"expires_in"]}; a bad
 *        password: 401 {"error":"invalid_grant"}
 *
 * The token is the server's own HS256 JWT: only the server can verify it.
 * Its "exp" (or expires_in) says when to renew; without either it never
 * expires.  Pure functions over HTTP answers, like oauth.c.
 */
#ifndef MM_MIMIRAPI_H
#define MM_MIMIRAPI_H

#include <cjson/cJSON.h>

#include "oauth.h"

typedef struct {
    int dev_login;
    cJSON *providers; /* the oauthProviders array (owned), or NULL */
} mm_mimir_config;

/* scheme://host[:port] of server_url, then path: the auth endpoints live at
 * the server's root whatever the MCP endpoint's path is. */
mm_err mm_mimir_url(const char *server_url, const char *path, char *out, size_t len);

mm_err mm_mimir_parse_config(const mm_http_resp *r, const char *url, mm_mimir_config *c,
                             char *why, size_t whylen);
void mm_mimir_config_free(mm_mimir_config *c);

/* The password grant's JSON body (wiped with the buffer). */
void mm_mimir_password_body(mm_buf *b, const char *username, const char *password);

/* The token answer: as mm_oauth_parse_token (a 401's invalid_grant included),
 * with the expiry from the JWT's exp, else expires_in, else none
 * (expires_at 0: the token does not expire). */
mm_err mm_mimir_parse_token(const mm_http_resp *r, time_t sent_at, mm_tokens *t, char *why,
                            size_t whylen);

#endif
