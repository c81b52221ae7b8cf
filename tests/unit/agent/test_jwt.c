/*
 * test_jwt.c - agent/jwt.c against tokens signed here with OpenSSL: every
 * supported algorithm (RS256, PS256, ES256) verifies; every refused case
 * (alg none/HS256, another key, unknown kid, tampered payload, each bad
 * claim) is refused with the right hint.  The end-to-end tests only see
 * the IdP's RS256, so the other algorithms are proven here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "jwt.h"

#define ISS "https://id.example.test"
#define CLIENT "mimir-cli"
#define NONCE "n-0S6_WzA2Mj"

static void b64url(const unsigned char *in, size_t n, char *out, size_t outlen)
{
    sodium_bin2base64(out, outlen, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void b64url_bn(EVP_PKEY *k, const char *param, char *out, size_t outlen)
{
    BIGNUM *bn = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(k, param, &bn), 1);
    unsigned char buf[512];
    int n = BN_bn2bin(bn, buf);
    b64url(buf, (size_t)n, out, outlen);
    BN_free(bn);
}

/* The public half of k as a JWKS with one key named kid. */
static cJSON *jwks_for(EVP_PKEY *k, const char *kid)
{
    char a[700], b[700];
    cJSON *key = cJSON_CreateObject();
    cJSON_AddStringToObject(key, "kid", kid);
    cJSON_AddStringToObject(key, "use", "sig");
    if (EVP_PKEY_is_a(k, "EC")) {
        b64url_bn(k, OSSL_PKEY_PARAM_EC_PUB_X, a, sizeof(a));
        b64url_bn(k, OSSL_PKEY_PARAM_EC_PUB_Y, b, sizeof(b));
        cJSON_AddStringToObject(key, "kty", "EC");
        cJSON_AddStringToObject(key, "crv", "P-256");
        cJSON_AddStringToObject(key, "x", a);
        cJSON_AddStringToObject(key, "y", b);
    } else {
        b64url_bn(k, OSSL_PKEY_PARAM_RSA_N, a, sizeof(a));
        b64url_bn(k, OSSL_PKEY_PARAM_RSA_E, b, sizeof(b));
        cJSON_AddStringToObject(key, "kty", "RSA");
        cJSON_AddStringToObject(key, "n", a);
        cJSON_AddStringToObject(key, "e", b);
    }
    cJSON *jwks = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(jwks, "keys"), key);
    return jwks;
}

/* ES256 wants r||s, OpenSSL gives DER. */
static size_t der_to_raw(const unsigned char *der, size_t len, unsigned char *raw)
{
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &der, (long)len);
    assert_non_null(s);
    BN_bn2binpad(ECDSA_SIG_get0_r(s), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(s), raw + 32, 32);
    ECDSA_SIG_free(s);
    return 64;
}

/* header.payload.signature, signed with k as alg. */
static char *sign_jwt(EVP_PKEY *k, const char *alg, const char *kid, const cJSON *claims)
{
    char hdr[200], h64[300], *body = cJSON_PrintUnformatted(claims);
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", alg, kid);
    b64url((unsigned char *)hdr, strlen(hdr), h64, sizeof(h64));
    size_t blen = strlen(body), cap = strlen(h64) + blen * 2 + 1200;
    char *out = malloc(cap);
    int n = snprintf(out, cap, "%s.", h64);
    b64url((unsigned char *)body, blen, out + n, cap - (size_t)n);
    cJSON_free(body);
    size_t input_len = strlen(out);
    unsigned char sig[600], raw[64];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    assert_int_equal(EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, k), 1);
    if (!strcmp(alg, "PS256")) {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    assert_int_equal(EVP_DigestSign(md, sig, &siglen, (unsigned char *)out, input_len), 1);
    EVP_MD_CTX_free(md);
    const unsigned char *s = sig;
    if (!strcmp(alg, "ES256"))
        siglen = der_to_raw(sig, siglen, raw), s = raw;
    strcat(out, ".");
    b64url(s, siglen, out + strlen(out), cap - strlen(out));
    return out;
}

static cJSON *good_claims(void)
{
    time_t now = time(NULL);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "iss", ISS);
    cJSON_AddStringToObject(c, "sub", "alice");
    cJSON_AddStringToObject(c, "aud", CLIENT);
    cJSON_AddNumberToObject(c, "iat", (double)now);
    cJSON_AddNumberToObject(c, "exp", (double)now + 3600);
    cJSON_AddStringToObject(c, "nonce", NONCE);
    return c;
}

static EVP_PKEY *rsa, *rsa2, *ec;

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    rsa2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    return rsa && rsa2 && ec ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rsa2);
    EVP_PKEY_free(ec);
    return 0;
}

/* Verify a token signed by signer (alg, kid) against jwks of key/kid. */
static mm_err check(EVP_PKEY *signer, const char *alg, const char *kid, cJSON *claims,
                    EVP_PKEY *key, const char *jwks_kid, int *unknown_kid, char *why)
{
    char *jwt = sign_jwt(signer, alg, kid, claims);
    cJSON *jwks = jwks_for(key, jwks_kid);
    mm_jwt_expect x = {.issuer = ISS, .client_id = CLIENT, .nonce = NONCE, .now = time(NULL)};
    mm_jwt_claims out;
    mm_err e = mm_jwt_verify(jwt, jwks, &x, &out, unknown_kid, why, 300);
    if (e == MM_OK)
        assert_string_equal(out.sub, "alice");
    mm_jwt_claims_free(&out);
    cJSON_Delete(jwks);
    cJSON_Delete(claims);
    free(jwt);
    return e;
}

static void test_algorithms_verify(void **state)
{
    (void)state;
    int unk;
    char why[300];
    assert_int_equal(check(rsa, "RS256", "k1", good_claims(), rsa, "k1", &unk, why), MM_OK);
    assert_int_equal(check(rsa, "PS256", "k1", good_claims(), rsa, "k1", &unk, why), MM_OK);
    assert_int_equal(check(ec, "ES256", "e1", good_claims(), ec, "e1", &unk, why), MM_OK);
}

static void test_wrong_key_and_kid(void **state)
{
    (void)state;
    int unk = 0;
    char why[300];
    assert_int_equal(check(rsa2, "RS256", "k1", good_claims(), rsa, "k1", &unk, why),
                     MM_ERR_INVALID_ID_TOKEN);
    assert_non_null(strstr(why, "bad signature"));
    assert_int_equal(unk, 0);
    assert_int_equal(check(rsa, "RS256", "k2", good_claims(), rsa, "k1", &unk, why),
                     MM_ERR_INVALID_ID_TOKEN);
    assert_int_equal(unk, 1); /* the caller refetches the JWKS once */
    /* an RSA token cannot borrow the EC key, nor the other way round */
    assert_int_equal(check(ec, "ES256", "e1", good_claims(), rsa, "e1", &unk, why),
                     MM_ERR_INVALID_ID_TOKEN);
}

static void test_refused_algorithms(void **state)
{
    (void)state;
    int unk;
    char why[300];
    /* A token claiming "none" or HS256 is refused before any key is used. */
    const char *jwts[] = {"eyJhbGciOiJub25lIiwia2lkIjoiazEifQ.eyJzdWIiOiJhbGljZSJ9.",
                          "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2ln"};
    cJSON *jwks = jwks_for(rsa, "k1");
    mm_jwt_expect x = {.issuer = ISS, .client_id = CLIENT, .nonce = NONCE, .now = time(NULL)};
    for (size_t i = 0; i < 2; i++) {
        mm_jwt_claims out;
        assert_int_equal(mm_jwt_verify(jwts[i], jwks, &x, &out, &unk, why, sizeof(why)),
                         MM_ERR_INVALID_ID_TOKEN);
        assert_non_null(strstr(why, "unsupported signature algorithm"));
    }
    mm_jwt_claims out;
    assert_int_equal(mm_jwt_verify("not-a-jwt", jwks, &x, &out, &unk, why, sizeof(why)),
                     MM_ERR_INVALID_ID_TOKEN);
    cJSON_Delete(jwks);
}

static void test_tampered_payload(void **state)
{
    (void)state;
    cJSON *alice = good_claims();
    char *jwt = sign_jwt(rsa, "RS256", "k1", alice);
    cJSON *evil = good_claims();
    cJSON_ReplaceItemInObject(evil, "sub", cJSON_CreateString("mallory"));
    char *other = sign_jwt(rsa2, "RS256", "k1", evil);
    /* header + mallory's payload + alice's signature */
    char *d1 = strchr(jwt, '.'), *d2 = strchr(d1 + 1, '.');
    char *o1 = strchr(other, '.'), *o2 = strchr(o1 + 1, '.');
    char forged[4096];
    snprintf(forged, sizeof(forged), "%.*s%.*s%s", (int)(d1 - jwt), jwt, (int)(o2 - o1), o1, d2);
    cJSON *jwks = jwks_for(rsa, "k1");
    mm_jwt_expect x = {.issuer = ISS, .client_id = CLIENT, .nonce = NONCE, .now = time(NULL)};
    mm_jwt_claims out;
    int unk;
    char why[300];
    assert_int_equal(mm_jwt_verify(forged, jwks, &x, &out, &unk, why, sizeof(why)),
                     MM_ERR_INVALID_ID_TOKEN);
    cJSON_Delete(jwks);
    cJSON_Delete(evil);
    cJSON_Delete(alice);
    free(jwt);
    free(other);
}

/* One claim changed at a time; each must be refused with its own reason. */
static void test_claims(void **state)
{
    (void)state;
    struct {
        const char *key;
        cJSON *value;
        const char *reason;
    } cases[] = {
        {"iss", cJSON_CreateString("https://evil.example"), "iss"},
        {"aud", cJSON_CreateString("mimir-other"), "aud"},
        {"nonce", cJSON_CreateString("not-the-nonce"), "nonce"},
        {"exp", cJSON_CreateNumber((double)time(NULL) - 3600), "expired"},
        {"iat", cJSON_CreateNumber((double)time(NULL) + 3600), "iat"},
        {"nonce", NULL, "nonce"},
        {"sub", NULL, "sub"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *c = good_claims();
        if (cases[i].value)
            cJSON_ReplaceItemInObject(c, cases[i].key, cases[i].value);
        else
            cJSON_DeleteItemFromObject(c, cases[i].key);
        int unk;
        char why[300];
        assert_int_equal(check(rsa, "RS256", "k1", c, rsa, "k1", &unk, why),
                         MM_ERR_INVALID_ID_TOKEN);
        if (!strstr(why, cases[i].reason))
            fail_msg("case %zu (%s): reason \"%s\"", i, cases[i].key, why);
    }
}

static void test_audience_arrays(void **state)
{
    (void)state;
    int unk;
    char why[300];
    cJSON *c = good_claims();
    cJSON *aud = cJSON_CreateArray();
    cJSON_AddItemToArray(aud, cJSON_CreateString(CLIENT));
    cJSON_AddItemToArray(aud, cJSON_CreateString("api"));
    cJSON_ReplaceItemInObject(c, "aud", aud);
    /* several audiences: azp must name us */
    assert_int_equal(check(rsa, "RS256", "k1", cJSON_Duplicate(c, 1), rsa, "k1", &unk, why),
                     MM_ERR_INVALID_ID_TOKEN);
    cJSON_AddStringToObject(c, "azp", CLIENT);
    assert_int_equal(check(rsa, "RS256", "k1", c, rsa, "k1", &unk, why), MM_OK);
}

/* Unverified peeks (Mimir's HS256 tokens): an "exp" of 0 or less is expired,
 * not "never expires"; an absent one is 0; absurd ones are clamped. */
static void test_peek_exp(void **state)
{
    (void)state;
    static const struct {
        const char *payload; /* base64url of the JSON */
        time_t exp;
    } cases[] = {
        {"eyJzdWIiOiJhIiwiZXhwIjowfQ", 1},                /* {"sub":"a","exp":0} */
        {"eyJzdWIiOiJhIiwiZXhwIjotNX0", 1},               /* {"sub":"a","exp":-5} */
        {"eyJzdWIiOiJhIn0", 0},                           /* {"sub":"a"} */
        {"eyJzdWIiOiJhIiwiZXhwIjoxZTMwMH0", 253402300799}, /* {"sub":"a","exp":1e300} */
        {"eyJzdWIiOiJhIiwiZXhwIjoxNzAwMDAwMDAwfQ", 1700000000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char jwt[200];
        mm_jwt_claims c;
        snprintf(jwt, sizeof(jwt), "eyJhbGciOiJIUzI1NiJ9.%s.c2ln", cases[i].payload);
        assert_int_equal(mm_jwt_peek(jwt, &c), 0);
        assert_int_equal(c.exp, cases[i].exp);
        assert_string_equal(c.sub, "a");
        mm_jwt_claims_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peek_exp),
        cmocka_unit_test(test_algorithms_verify), cmocka_unit_test(test_wrong_key_and_kid),
        cmocka_unit_test(test_refused_algorithms), cmocka_unit_test(test_tampered_payload),
        cmocka_unit_test(test_claims),             cmocka_unit_test(test_audience_arrays),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
