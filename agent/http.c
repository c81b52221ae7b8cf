/* http.c - libcurl easy transfers with deadlines (see http.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#include "http.h"
#include "mimir/version.h"

#define CONNECT_TIMEOUT_MS 5000

static void form_append(mm_form *f, const char *s, size_t n)
{
    if (f->oom)
        return;
    if (f->len + n + 1 > f->cap) {
        size_t cap = (f->cap ? f->cap : 256);
        while (cap < f->len + n + 1)
            cap *= 2;
        char *b = malloc(cap); /* not realloc: the old block must be wiped */
        if (!b) {
            f->oom = 1;
            return;
        }
        if (f->buf) {
            memcpy(b, f->buf, f->len);
            sodium_memzero(f->buf, f->cap);
            free(f->buf);
        }
        f->buf = b;
        f->cap = cap;
    }
    memcpy(f->buf + f->len, s, n);
    f->len += n;
    f->buf[f->len] = '\0';
}

char *mm_url_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *copy = e ? strdup(e) : NULL;
    if (e) {
        sodium_memzero(e, strlen(e));
        curl_free(e);
    }
    return copy;
}

void mm_form_add(mm_form *f, const char *key, const char *value)
{
    char *v = mm_url_escape(value);
    if (!v) {
        f->oom = 1;
        return;
    }
    if (f->len)
        form_append(f, "&", 1);
    form_append(f, key, strlen(key));
    form_append(f, "=", 1);
    form_append(f, v, strlen(v));
    sodium_memzero(v, strlen(v));
    free(v);
}

void mm_form_free(mm_form *f)
{
    if (f->buf) {
        sodium_memzero(f->buf, f->cap);
        free(f->buf);
    }
    memset(f, 0, sizeof(*f));
}

void mm_http_resp_free(mm_http_resp *r)
{
    if (r->body) {
        sodium_memzero(r->body, r->len);
        free(r->body);
    }
    free(r->www_authenticate);
    memset(r, 0, sizeof(*r));
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    mm_form *buf = arg; /* reuse the wiping growable buffer */
    size_t len = size * n;
    if (buf->len + len > MM_HTTP_MAX_BODY)
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    form_append(buf, data, len);
    return buf->oom ? 0 : len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    mm_http_resp *r = arg;
    size_t len = size * n;
    static const char name[] = "www-authenticate:";
    if (len > sizeof(name) && strncasecmp(data, name, sizeof(name) - 1) == 0 &&
        !r->www_authenticate) {
        const char *v = data + sizeof(name) - 1;
        size_t vl = len - (sizeof(name) - 1);
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        r->www_authenticate = strndup(v, vl);
    }
    return len;
}

static mm_err map_curl(CURLcode c, const char *url, const char *errbuf, char *why,
                       size_t whylen)
{
    const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(c);
    snprintf(why, whylen, "%s: %s", url, detail);
    switch (c) {
    case CURLE_OPERATION_TIMEDOUT: return MM_ERR_TIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM: return MM_ERR_TLS;
    case CURLE_WRITE_ERROR:
        snprintf(why, whylen, "%s: response larger than 1 MiB", url);
        return MM_ERR_IDP;
    default: return MM_ERR_NETWORK;
    }
}

static mm_err perform(const char *url, const mm_form *form, const mm_http_opts *o,
                      mm_http_resp *r, char *why, size_t whylen)
{
    memset(r, 0, sizeof(*r));
    mm_err e = mm_url_check_secure(url, why, whylen);
    if (e != MM_OK)
        return e;
    CURL *h = curl_easy_init();
    if (!h)
        return MM_ERR_NOMEM;
    char errbuf[CURL_ERROR_SIZE] = "";
    mm_form body = {0};
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
    long timeout = o->timeout_ms > 0 ? o->timeout_ms : 15000;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* we run in worker threads */
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout < CONNECT_TIMEOUT_MS ? timeout : (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mimir-agent/" MIMIR_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    if (form) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, form->buf ? form->buf : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)form->len);
    }
    CURLcode c = curl_easy_perform(h);
    if (c != CURLE_OK) {
        e = map_curl(c, url, errbuf, why, whylen);
        mm_form_free(&body);
        mm_http_resp_free(r);
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        r->body = body.buf ? body.buf : strdup("");
        r->len = body.len;
        e = r->body ? MM_OK : MM_ERR_NOMEM;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return e;
}

mm_err mm_http_get(const char *url, const mm_http_opts *o, mm_http_resp *r, char *why,
                   size_t whylen)
{
    return perform(url, NULL, o, r, why, whylen);
}

mm_err mm_http_post_form(const char *url, const mm_form *form, const mm_http_opts *o,
                         mm_http_resp *r, char *why, size_t whylen)
{
    if (form->oom)
        return MM_ERR_NOMEM;
    return perform(url, form, o, r, why, whylen);
}

static int loopback_host(const char *h, size_t n)
{
    return (n == 9 && !strncasecmp(h, "localhost", 9)) || (n == 5 && !strncmp(h, "[::1]", 5)) ||
           (n >= 9 && !strncmp(h, "127.", 4));
}

mm_err mm_url_check_secure(const char *url, char *why, size_t whylen)
{
    if (!strncasecmp(url, "https://", 8))
        return MM_OK;
    if (!strncasecmp(url, "http://", 7)) {
        const char *h = url + 7;
        size_t n = strcspn(h, ":/?#");
        if (h[0] == '[')
            n = strcspn(h, "]") + 1;
        if (loopback_host(h, n))
            return MM_OK;
        snprintf(why, whylen, "refusing plain http to %s: only https, or http on the "
                 "loopback interface, may carry credentials", url);
        return MM_ERR_INSECURE_ISSUER;
    }
    snprintf(why, whylen, "unsupported URL scheme in %s (https required)", url);
    return MM_ERR_INSECURE_ISSUER;
}
