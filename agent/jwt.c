/* jwt.c - JWS signature and ID token claim checks (see jwt.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "jwt.h"
#include "mimir/proto.h"

typedef enum { ALG_RS256, ALG_PS256, ALG_ES256, ALG_BAD } jwt_alg;

static mm_err bad(char *why, size_t whylen, const char *msg)
{
    snprintf(why, whylen, "ID token rejected: %s", msg);
    return MM_ERR_INVALID_ID_TOKEN;
}

/* base64url without padding -> malloc'd bytes. */
static unsigned char *b64url_decode(const char *s, size_t slen, size_t *outlen)
{
    unsigned char *out = malloc(slen * 3 / 4 + 3);
    if (out && sodium_base642bin(out, slen * 3 / 4 + 3, s, slen, NULL, outlen, NULL,
                                 sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0)
        return out;
    free(out);
    return NULL;
}

static cJSON *decode_json_part(const char *s, size_t len)
{
    size_t n;
    unsigned char *raw = b64url_decode(s, len, &n);
    cJSON *j = raw ? mm_json_parse((const char *)raw, n) : NULL;
    free(raw);
    return cJSON_IsObject(j) ? j : (cJSON_Delete(j), NULL);
}

static BIGNUM *jwk_bn(const cJSON *jwk, const char *name)
{
    const char *v = mm_json_str(jwk, name);
    size_t n;
    unsigned char *raw = v ? b64url_decode(v, strlen(v), &n) : NULL;
    BIGNUM *bn = raw ? BN_bin2bn(raw, (int)n, NULL) : NULL;
    free(raw);
    return bn;
}

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1)
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *rsa_key(const cJSON *jwk)
{
    BIGNUM *n = jwk_bn(jwk, "n"), *e = jwk_bn(jwk, "e");
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (n && e && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        pkey = pkey_from_params("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return pkey;
}

static EVP_PKEY *ec_key(const cJSON *jwk)
{
    const char *crv = mm_json_str(jwk, "crv"), *x = mm_json_str(jwk, "x"),
               *y = mm_json_str(jwk, "y");
    if (!crv || strcmp(crv, "P-256") || !x || !y)
        return NULL;
    size_t xl = 0, yl = 0;
    unsigned char *xb = b64url_decode(x, strlen(x), &xl), *yb = b64url_decode(y, strlen(y), &yl);
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (xb && yb && xl == 32 && yl == 32 && bld) {
        unsigned char pt[65] = {0x04}; /* uncompressed point */
        memcpy(pt + 1, xb, 32);
        memcpy(pt + 33, yb, 32);
        if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)))
            pkey = pkey_from_params("EC", bld);
    }
    OSSL_PARAM_BLD_free(bld);
    free(xb);
    free(yb);
    return pkey;
}

/* The JWK for kid (or the only key of the right type when kid is absent). */
static const cJSON *find_jwk(const cJSON *jwks, const char *kid, const char *kty)
{
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(jwks, "keys"), *k, *only = NULL;
    int count = 0;
    cJSON_ArrayForEach(k, keys)
    {
        const char *use = mm_json_str(k, "use"), *t = mm_json_str(k, "kty");
        if (!t || strcmp(t, kty) || (use && strcmp(use, "sig")))
            continue;
        const char *kk = mm_json_str(k, "kid");
        if (kid && kk && !strcmp(kid, kk))
            return k;
        only = k;
        count++;
    }
    return !kid && count == 1 ? only : NULL;
}

/* ES256 signatures are raw r||s; OpenSSL wants DER. */
static unsigned char *es256_der(const unsigned char *sig, size_t len, size_t *outlen)
{
    if (len != 64)
        return NULL;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;
    if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* owned by es now */
        int n = i2d_ECDSA_SIG(es, &der);
        *outlen = n > 0 ? (size_t)n : 0;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return der;
}

static int verify_sig(EVP_PKEY *pkey, jwt_alg alg, const char *input, size_t inlen,
                      const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *der = NULL;
    int ok = 0;
    if (alg == ALG_ES256 && !(der = es256_der(sig, siglen, &siglen)))
        goto out;
    if (!md || EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pkey) != 1)
        goto out;
    if (alg == ALG_PS256 && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
        goto out;
    ok = EVP_DigestVerify(md, der ? der : sig, siglen, (const unsigned char *)input, inlen) == 1;
out:
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    return ok;
}

static jwt_alg parse_alg(const char *a)
{
    if (!a)
        return ALG_BAD;
    return !strcmp(a, "RS256") ? ALG_RS256 : !strcmp(a, "PS256") ? ALG_PS256
                                         : !strcmp(a, "ES256") ? ALG_ES256 : ALG_BAD;
}

static mm_err check_signature(const char *jwt, const char *dot1, const char *dot2,
                              const cJSON *hdr, const cJSON *jwks, int *unknown_kid, char *why,
                              size_t whylen)
{
    jwt_alg alg = parse_alg(mm_json_str(hdr, "alg"));
    if (alg == ALG_BAD)
        return bad(why, whylen, "unsupported signature algorithm (RS256, PS256, ES256 only)");
    const char *kty = alg == ALG_ES256 ? "EC" : "RSA";
    const char *kid = mm_json_str(hdr, "kid");
    const cJSON *jwk = find_jwk(jwks, kid, kty);
    if (!jwk) {
        *unknown_kid = 1;
        return bad(why, whylen, "signing key not found in the issuer's JWKS");
    }
    const char *jalg = mm_json_str(jwk, "alg");
    if (jalg && strcmp(jalg, mm_json_str(hdr, "alg")))
        return bad(why, whylen, "the key's \"alg\" does not match the token's");
    EVP_PKEY *pkey = alg == ALG_ES256 ? ec_key(jwk) : rsa_key(jwk);
    if (!pkey)
        return bad(why, whylen, "the issuer's key could not be loaded");
    size_t siglen;
    const char *s = dot2 + 1;
    unsigned char *sig = b64url_decode(s, strlen(s), &siglen);
    int ok = sig && verify_sig(pkey, alg, jwt, (size_t)(dot2 - jwt), sig, siglen);
    free(sig);
    EVP_PKEY_free(pkey);
    (void)dot1;
    return ok ? MM_OK : bad(why, whylen, "bad signature");
}

static int aud_ok(const cJSON *claims, const char *client_id)
{
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud"), *a;
    if (cJSON_IsString(aud))
        return !strcmp(aud->valuestring, client_id);
    int found = 0, n = 0;
    cJSON_ArrayForEach(a, aud)
    {
        n++;
        found |= cJSON_IsString(a) && !strcmp(a->valuestring, client_id);
    }
    const char *azp = mm_json_str(claims, "azp");
    return found && (n == 1 || (azp && !strcmp(azp, client_id)));
}

/* A time claim as time_t.  Claims are JSON doubles: converting an absurd
 * one (1e300 passes the "exp" check) would be undefined, so it is clamped
 * to 0..9999-12-31 first. */
static time_t claim_time(double t)
{
    const double max = 253402300799.0;
    return t <= 0 ? 0 : t >= max ? (time_t)max : (time_t)t;
}

static mm_err check_claims(const cJSON *c, const mm_jwt_expect *x, mm_jwt_claims *out,
                           char *why, size_t whylen)
{
    const char *iss = mm_json_str(c, "iss"), *sub = mm_json_str(c, "sub");
    double exp, iat;
    if (!iss || strcmp(iss, x->issuer))
        return bad(why, whylen, "\"iss\" is not the configured issuer");
    if (!aud_ok(c, x->client_id))
        return bad(why, whylen, "\"aud\" does not name this client");
    if (!mm_json_num(c, "exp", &exp) || exp + MM_JWT_LEEWAY < (double)x->now)
        return bad(why, whylen, "expired (\"exp\" in the past)");
    if (!mm_json_num(c, "iat", &iat) || iat - MM_JWT_LEEWAY > (double)x->now)
        return bad(why, whylen, "\"iat\" missing or in the future");
    if (!sub || !sub[0])
        return bad(why, whylen, "no \"sub\" claim");
    if (x->nonce) {
        const char *nonce = mm_json_str(c, "nonce");
        if (!nonce || strlen(nonce) != strlen(x->nonce) ||
            sodium_memcmp(nonce, x->nonce, strlen(nonce)) != 0)
            return bad(why, whylen, "\"nonce\" does not match this login");
    }
    out->sub = strdup(sub);
    out->exp = claim_time(exp);
    out->iat = claim_time(iat);
    return out->sub ? MM_OK : MM_ERR_NOMEM;
}

mm_err mm_jwt_verify(const char *jwt, const cJSON *jwks, const mm_jwt_expect *x,
                     mm_jwt_claims *claims, int *unknown_kid, char *why, size_t whylen)
{
    memset(claims, 0, sizeof(*claims));
    *unknown_kid = 0;
    const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.'))
        return bad(why, whylen, "not a compact JWS");
    cJSON *hdr = decode_json_part(jwt, (size_t)(d1 - jwt));
    cJSON *body = decode_json_part(d1 + 1, (size_t)(d2 - d1 - 1));
    mm_err e;
    if (!hdr || !body)
        e = bad(why, whylen, "undecodable header or payload");
    else if ((e = check_signature(jwt, d1, d2, hdr, jwks, unknown_kid, why, whylen)) == MM_OK)
        e = check_claims(body, x, claims, why, whylen);
    cJSON_Delete(hdr);
    cJSON_Delete(body);
    return e;
}

int mm_jwt_peek(const char *jwt, mm_jwt_claims *claims)
{
    memset(claims, 0, sizeof(*claims));
    const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    cJSON *body = d2 && !strchr(d2 + 1, '.') ? decode_json_part(d1 + 1, (size_t)(d2 - d1 - 1))
                                             : NULL;
    if (!body)
        return -1;
    double exp, iat;
    const char *sub = mm_json_str(body, "sub");
    if (!sub)
        sub = mm_json_str(body, "username");
    claims->sub = sub ? strdup(sub) : NULL;
    /* An "exp" at or before 1970 is an expired token, not one without an
     * expiry (0 means that to callers). */
    if (mm_json_num(body, "exp", &exp))
        claims->exp = exp < 1 ? 1 : claim_time(exp);
    if (mm_json_num(body, "iat", &iat))
        claims->iat = claim_time(iat);
    cJSON_Delete(body);
    return 0;
}

void mm_jwt_claims_free(mm_jwt_claims *c)
{
    free(c->sub);
    memset(c, 0, sizeof(*c));
}
