/*
 * fuzz.h - what the harnesses share: a hard assertion that libFuzzer
 * reports as a crash (with the input saved), and the independent judge of
 * URLs that the URL and IdP-answer harnesses hold the agent's checks to.
 */
#ifndef MM_FUZZ_H
#define MM_FUZZ_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

/* assert() would vanish under NDEBUG; an invariant broken here must crash. */
#define FUZZ_ASSERT(cond)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* A fixed "now" for everything that checks times, so that seeds stay valid. */
#define FUZZ_NOW ((time_t)1790000000)

/*
 * 1 when curl itself, parsing url as an easy handle does (CURLOPT_URL:
 * scheme guessing on, unknown schemes allowed), would send it over https,
 * or over plain http to a loopback host, with no user or password part.
 * Written apart from runtime/http.c on purpose: it is the oracle.
 */
static inline int fuzz_url_safe(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *user = NULL, *pass = NULL;
    int ok = 0;
    if (u &&
        curl_url_set(u, CURLUPART_URL, url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) ==
            CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER &&
        curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_NO_PASSWORD) {
        unsigned char a[4];
        int loopback = !strcasecmp(host, "localhost") || !strcmp(host, "[::1]") ||
                       (inet_pton(AF_INET, host, a) == 1 && a[0] == 127);
        ok = !strcasecmp(scheme, "https") || (!strcasecmp(scheme, "http") && loopback);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(pass);
    curl_url_cleanup(u);
    return ok;
}

/* A NUL-terminated copy of the fuzzer's bytes (the parsers take C strings). */
static inline char *fuzz_strndup(const unsigned char *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
