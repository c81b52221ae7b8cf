/* doctor.c - the identity provider check of `mimir-helper doctor` (see doctor.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "doctor.h"
#include "http.h"
#include "mimir/err.h"
#include "mimir/proto.h"

#define BODY_MAX (256 * 1024)

typedef struct {
    char *body;
    size_t len;
    time_t date; /* the Date header, 0 when absent */
} fetched;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    fetched *f = arg;
    size_t k = size * n;
    if (f->len + k > BODY_MAX)
        return 0; /* a discovery document is small: refuse the rest */
    char *nb = realloc(f->body, f->len + k + 1);
    if (!nb)
        return 0;
    memcpy(nb + f->len, p, k);
    f->body = nb;
    f->len += k;
    f->body[f->len] = '\0';
    return k;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    fetched *f = arg;
    size_t k = size * n;
    if (k > 5 && !strncasecmp(p, "Date:", 5)) {
        char v[128];
        snprintf(v, sizeof(v), "%.*s", (int)(k - 5), p + 5);
        v[strcspn(v, "\r\n")] = '\0';
        time_t t = curl_getdate(v, NULL);
        f->date = t > 0 ? t : 0;
    }
    return k;
}

static mm_err curl_err(CURLcode c)
{
    switch (c) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
        return MM_ERR_TLS;
    case CURLE_OPERATION_TIMEDOUT:
        return MM_ERR_TIMEOUT;
    default:
        return MM_ERR_NETWORK;
    }
}

/* GET url into f; the HTTP status in *status.  MM_OK or why. */
static mm_err get(const char *url, const char *ca_file, int timeout_s, fetched *f, long *status,
                  char *why, size_t whylen)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c = curl_easy_init();
    if (!c)
        return snprintf(why, whylen, "cannot start libcurl"), MM_ERR_NOMEM;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "mimir-doctor");
    if (ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    if (rc == CURLE_OK)
        return MM_OK;
    snprintf(why, whylen, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return curl_err(rc);
}

/* OpenID Connect discovery, then RFC 8414 (the agent's order). */
static void discovery_urls(const char *issuer, char *oidc, char *rfc8414, size_t len)
{
    size_t n = strlen(issuer);
    while (n && issuer[n - 1] == '/')
        n--;
    snprintf(oidc, len, "%.*s/.well-known/openid-configuration", (int)n, issuer);
    const char *host = strstr(issuer, "://");
    const char *path = host ? strchr(host + 3, '/') : NULL;
    if (!path || (size_t)(path - issuer) >= n)
        snprintf(rfc8414, len, "%.*s/.well-known/oauth-authorization-server", (int)n, issuer);
    else
        snprintf(rfc8414, len, "%.*s/.well-known/oauth-authorization-server%.*s",
                 (int)(path - issuer), issuer, (int)(n - (size_t)(path - issuer)), path);
}

static void set_error(cJSON *out, mm_err e, const char *why)
{
    cJSON *err = cJSON_AddObjectToObject(out, "error");
    cJSON_AddStringToObject(err, "code", mm_err_code(e));
    cJSON_AddStringToObject(err, "message", why);
}

/* One discovery URL: 1 when it gave a document (ok or not), 0 to try the next. */
static int try_url(cJSON *out, const char *url, const char *issuer, const char *ca, int timeout_s)
{
    fetched f = {0};
    long status = 0;
    char why[CURL_ERROR_SIZE + 2200];
    mm_err e = get(url, ca, timeout_s, &f, &status, why, sizeof(why));
    cJSON_DeleteItemFromObject(out, "url");
    cJSON_AddStringToObject(out, "url", url);
    cJSON_DeleteItemFromObject(out, "status");
    mm_json_add_int(out, "status", status);
    if (f.date) {
        cJSON_DeleteItemFromObject(out, "date");
        mm_json_add_int(out, "date", (long long)f.date);
    }
    cJSON_DeleteItemFromObject(out, "now");
    mm_json_add_int(out, "now", (long long)time(NULL));
    cJSON *doc = e == MM_OK && status == 200 ? mm_json_parse(f.body, f.len) : NULL;
    free(f.body);
    cJSON_DeleteItemFromObject(out, "error");
    if (e != MM_OK) {
        set_error(out, e, why);
        return 1; /* the host itself failed: the other URL would too */
    }
    if (!doc) {
        snprintf(why, sizeof(why), "%s answered HTTP %ld without a discovery document", url,
                 status);
        set_error(out, MM_ERR_IDP, why);
        return 0;
    }
    const char *iss = mm_json_str(doc, "issuer");
    int match = iss && !strcmp(iss, issuer);
    cJSON_AddBoolToObject(out, "issuer_matches", match);
    cJSON_AddBoolToObject(out, "ok", match);
    if (!match) {
        snprintf(why, sizeof(why), "%s names the issuer \"%s\", not \"%s\"", url,
                 iss ? iss : "(none)", issuer);
        set_error(out, MM_ERR_IDP, why);
    }
    cJSON_Delete(doc);
    return 1;
}

int mm_proxy_doctor_main(int argc, char **argv)
{
    static const struct option lo[] = {{"ca-file", required_argument, NULL, 'c'},
                                       {"timeout", required_argument, NULL, 't'},
                                       {0, 0, 0, 0}};
    const char *ca = NULL;
    int ch, timeout_s = 10;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (ch == 'c')
            ca = optarg;
        else if (ch == 't' && (timeout_s = atoi(optarg)) > 0 && timeout_s <= 300)
            ;
        else
            return fputs("usage: mimir-proxy --doctor-idp ISSUER [--ca-file FILE] "
                         "[--timeout SEC]\n", stderr), MM_EXIT_USAGE;
    }
    if (argc - optind != 1)
        return fputs("mimir-proxy --doctor-idp: one issuer URL\n", stderr), MM_EXIT_USAGE;
    const char *issuer = argv[optind];
    char why[600], oidc[2200], rfc[2200];
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "url", issuer);
    if (mm_url_check_secure(issuer, why, sizeof(why)) != MM_OK) {
        cJSON_AddBoolToObject(out, "ok", 0);
        set_error(out, MM_ERR_INSECURE_ISSUER, why);
    } else {
        cJSON_AddStringToObject(out, "tls", strncmp(issuer, "https:", 6) ? "plain-loopback"
                                                                         : "verified");
        discovery_urls(issuer, oidc, rfc, sizeof(oidc));
        if (!try_url(out, oidc, issuer, ca, timeout_s))
            try_url(out, rfc, issuer, ca, timeout_s);
        if (!cJSON_GetObjectItem(out, "ok"))
            cJSON_AddBoolToObject(out, "ok", 0);
    }
    char *s = cJSON_PrintUnformatted(out);
    if (s)
        puts(s);
    cJSON_free(s);
    cJSON_Delete(out);
    return fflush(stdout) == 0 ? 0 : 1;
}
