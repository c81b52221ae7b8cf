/*
 * fuzz_jwt.c - ID token verification (agent/jwt.c): mm_jwt_verify, the
 * signature against the issuer's JWKS and then the claims.
 *
 * Feeds, by the first byte:
 *  - even: "TOKEN\nJWKS": a compact JWS and a JWKS document, both from the
 *    input (the seeds are real RS256/ES256 tokens with their keys);
 *  - odd: "HEADER\nCLAIMS": two texts this harness encodes and signs with a
 *    key of its own (ES256, RS256 or PS256, from the first byte), so that
 *    the claim checks behind the signature are fuzzed too.
 * Bit 7 of the first byte drops the nonce check, as refreshes do.  Every
 * token also goes through mm_jwt_peek (unverified claims of Mimir's own
 * tokens).
 * Asserts: an accepted token names a subject, is not expired and not issued
 * in the future (with MM_JWT_LEEWAY), and never sets unknown_kid; a refused
 * one says why and hands out no claims.  For the tokens signed here: an
 * accepted one carries the expected iss, aud and nonce and declares the
 * algorithm it was really signed with, and the same token is refused by a
 * JWKS that has other keys under the same key ids.  Peeked times are
 * clamped to 0..9999-12-31, and a token that cannot be read yields nothing.
 */
#include <stddef.h>
#include <stdint.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "fuzz.h"
#include "jwt.h"
#include "mimir/proto.h"
#include "secret.h"

#define ISS "https://id.example.test"
#define CLIENT "mimir-cli"
#define NONCE "n-0S6_WzA2Mj"

static const char *const algs[] = {"ES256", "RS256", "PS256"};
static EVP_PKEY *ec, *rsa, *other_ec, *other_rsa;
static cJSON *jwks, *other_jwks;

static char *b64url(const void *in, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(cap);
    FUZZ_ASSERT(out);
    sodium_bin2base64(out, cap, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static void add_bn(cJSON *key, const char *name, EVP_PKEY *k, const char *param)
{
    BIGNUM *bn = NULL;
    unsigned char buf[512];
    FUZZ_ASSERT(EVP_PKEY_get_bn_param(k, param, &bn) == 1);
    /* EC coordinates are fixed-size (RFC 7518 6.2.1.2): keep leading zeros */
    int n = EVP_PKEY_is_a(k, "EC") ? BN_bn2binpad(bn, buf, 32) : BN_bn2bin(bn, buf);
    char *s = b64url(buf, (size_t)n);
    cJSON_AddStringToObject(key, name, s);
    free(s);
    BN_free(bn);
}

/* {"keys":[EC key "e1", RSA key "r1"]}, public halves. */
static cJSON *jwks_of(EVP_PKEY *e, EVP_PKEY *r)
{
    cJSON *doc = cJSON_CreateObject(), *keys = cJSON_AddArrayToObject(doc, "keys");
    cJSON *ek = cJSON_CreateObject(), *rk = cJSON_CreateObject();
    cJSON_AddStringToObject(ek, "kty", "EC");
    cJSON_AddStringToObject(ek, "kid", "e1");
    cJSON_AddStringToObject(ek, "crv", "P-256");
    add_bn(ek, "x", e, OSSL_PKEY_PARAM_EC_PUB_X);
    add_bn(ek, "y", e, OSSL_PKEY_PARAM_EC_PUB_Y);
    cJSON_AddStringToObject(rk, "kty", "RSA");
    cJSON_AddStringToObject(rk, "kid", "r1");
    add_bn(rk, "n", r, OSSL_PKEY_PARAM_RSA_N);
    add_bn(rk, "e", r, OSSL_PKEY_PARAM_RSA_E);
    cJSON_AddItemToArray(keys, ek);
    cJSON_AddItemToArray(keys, rk);
    return doc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (mm_secret_init() != MM_OK)
        return 1;
    /* 1024-bit RSA: signing runs once per input, and the size of the key
     * is not what is being tested. */
    ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    other_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    other_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    FUZZ_ASSERT(ec && other_ec && rsa && other_rsa);
    jwks = jwks_of(ec, rsa);
    other_jwks = jwks_of(other_ec, other_rsa);
    return 0;
}

/* base64url(header).base64url(claims).base64url(signature by alg). */
static char *sign(int alg, const char *hdr, size_t hlen, const char *claims, size_t clen)
{
    char *h = b64url(hdr, hlen), *c = b64url(claims, clen);
    size_t inlen = strlen(h) + 1 + strlen(c), cap = inlen + 1 + 700;
    char *out = malloc(cap);
    FUZZ_ASSERT(out);
    snprintf(out, cap, "%s.%s", h, c);
    free(h);
    free(c);
    unsigned char sig[512], raw[64];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    FUZZ_ASSERT(md && EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, alg ? rsa : ec) == 1);
    if (alg == 2) {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    FUZZ_ASSERT(EVP_DigestSign(md, sig, &siglen, (unsigned char *)out, inlen) == 1);
    EVP_MD_CTX_free(md);
    const unsigned char *s = sig;
    if (alg == 0) { /* JWS wants r||s, OpenSSL gives DER */
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
        FUZZ_ASSERT(es);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
        ECDSA_SIG_free(es);
        s = raw, siglen = 64;
    }
    char *sig64 = b64url(s, siglen);
    snprintf(out + inlen, cap - inlen, ".%s", sig64);
    free(sig64);
    return out;
}

static mm_err verify(const char *token, const cJSON *keys, const char *nonce,
                     mm_jwt_claims *c)
{
    mm_jwt_expect x = {.issuer = ISS, .client_id = CLIENT, .nonce = nonce, .now = FUZZ_NOW};
    int unknown_kid = -1;
    char why[512] = "";
    mm_err e = mm_jwt_verify(token, keys, &x, c, &unknown_kid, why, sizeof(why));
    FUZZ_ASSERT(unknown_kid == 0 || unknown_kid == 1);
    if (e == MM_OK) {
        FUZZ_ASSERT(!unknown_kid && c->sub);
        FUZZ_ASSERT(c->exp + MM_JWT_LEEWAY >= FUZZ_NOW && c->iat - MM_JWT_LEEWAY <= FUZZ_NOW);
    } else {
        FUZZ_ASSERT(e == MM_ERR_INVALID_ID_TOKEN && why[0] && !c->sub);
    }
    return e;
}

static int streq(const char *a, const char *b) { return a && b && !strcmp(a, b); }

static void peek(const char *token)
{
    mm_jwt_claims c;
    int rc = mm_jwt_peek(token, &c);
    FUZZ_ASSERT(rc == 0 || (rc == -1 && !c.sub && !c.exp && !c.iat));
    FUZZ_ASSERT(c.exp >= 0 && c.exp <= 253402300799 && c.iat >= 0 && c.iat <= 253402300799);
    mm_jwt_claims_free(&c);
}

/* What the harness itself reads in the texts it signed. */
static void check_signed(int alg, const char *hdr, size_t hlen, const char *claims,
                         size_t clen, const char *nonce)
{
    cJSON *h = cJSON_ParseWithLength(hdr, hlen), *c = cJSON_ParseWithLength(claims, clen);
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(c, "aud");
    FUZZ_ASSERT(streq(mm_json_str(h, "alg"), algs[alg]));
    FUZZ_ASSERT(streq(mm_json_str(c, "iss"), ISS));
    FUZZ_ASSERT(cJSON_IsString(aud) ? streq(aud->valuestring, CLIENT) : cJSON_IsArray(aud));
    FUZZ_ASSERT(!nonce || streq(mm_json_str(c, "nonce"), nonce));
    cJSON_Delete(h);
    cJSON_Delete(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *nonce = data[0] & 0x80 ? NULL : NONCE;
    char *in = fuzz_strndup(data + 1, size - 1), *nl = strchr(in, '\n');
    const char *first = in, *second = nl ? nl + 1 : "";
    size_t flen = nl ? (size_t)(nl - in) : strlen(in);
    mm_jwt_claims c;
    if (!(data[0] & 1)) {
        if (nl)
            *nl = '\0';
        cJSON *keys = mm_json_parse(second, strlen(second));
        verify(first, keys, nonce, &c);
        peek(first);
        mm_jwt_claims_free(&c);
        cJSON_Delete(keys);
    } else {
        int alg = (data[0] >> 1) % 3;
        char *token = sign(alg, first, flen, second, strlen(second));
        peek(token);
        if (verify(token, jwks, nonce, &c) == MM_OK) {
            check_signed(alg, first, flen, second, strlen(second), nonce);
            mm_jwt_claims other;
            FUZZ_ASSERT(verify(token, other_jwks, nonce, &other) != MM_OK);
        }
        mm_jwt_claims_free(&c);
        free(token);
    }
    free(in);
    return 0;
}
