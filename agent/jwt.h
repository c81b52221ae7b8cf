/*
 * jwt.h - ID token verification (OpenID Connect Core 3.1.3.7).
 *
 * Signature with OpenSSL against the issuer's JWKS: RS256, PS256, ES256
 * only ("none" and HMAC are refused: a public client has no shared secret,
 * and accepting either would let anyone mint tokens).  Claims: iss exact,
 * aud contains the client id (azp when several), exp, iat, nonce.
 */
#ifndef MM_JWT_H
#define MM_JWT_H

#include <time.h>

#include <cjson/cJSON.h>

#include "mimir/err.h"

#define MM_JWT_LEEWAY 60 /* seconds of clock skew tolerated */

typedef struct {
    const char *issuer;
    const char *client_id;
    const char *nonce; /* NULL: not checked (refresh responses) */
    time_t now;
} mm_jwt_expect;

typedef struct {
    char *sub;
    time_t exp, iat;
} mm_jwt_claims;

/*
 * MM_OK with claims filled, or MM_ERR_INVALID_ID_TOKEN with why set.  When
 * the token's kid is not in jwks, *unknown_kid is set so the caller can
 * refetch the JWKS once (key rotation) and try again.
 */
mm_err mm_jwt_verify(const char *jwt, const cJSON *jwks, const mm_jwt_expect *x,
                     mm_jwt_claims *claims, int *unknown_kid, char *why, size_t whylen);
void mm_jwt_claims_free(mm_jwt_claims *c);

/* Read sub (or username), exp and iat of a JWT without verifying it: for
 * tokens only their issuer can verify (Mimir's own HS256 tokens), to learn
 * when to renew them and whom they name, never to trust them.  -1 when it
 * is no JWT; absent claims stay 0/NULL. */
int mm_jwt_peek(const char *jwt, mm_jwt_claims *claims);

#endif
