/*
 * http.h - HTTP on libcurl's multi interface, driven by the event loop.
 *
 * Every transfer has a connect timeout and a total timeout; TLS peer and
 * host verification are always on (a profile may add a CA file); only
 * http and https are allowed, and redirects are not followed (an IdP
 * endpoint that redirects is misconfigured, and following would let a
 * redirect carry a refresh token elsewhere).  Bodies are capped and wiped
 * when freed: token responses hold secrets.
 */
#ifndef MM_HTTP_H
#define MM_HTTP_H

#include <stddef.h>

#include "loop.h"
#include "mimir/err.h"
#include "secret.h"

#define MM_HTTP_MAX_BODY (1024 * 1024)

typedef struct {
    const char *ca_file;  /* NULL: system trust store */
    int timeout_ms;       /* total; connect timeout is min(5 s, this) */
    int fresh_connect;    /* never reuse a pooled connection (retry after a hang) */
    int json_body;        /* the POST body is JSON, not a form */
} mm_http_opts;

typedef struct {
    long status;
    char *body; /* NUL-terminated */
    size_t len;
    char *www_authenticate; /* the header, when present */
} mm_http_resp;

/* An application/x-www-form-urlencoded body (wiped on free). */
typedef mm_buf mm_form;

void mm_form_add(mm_form *f, const char *key, const char *value);
void mm_form_free(mm_form *f);
/* Percent-encode for a URL query (same encoding as the form). */
char *mm_url_escape(const char *s);

/*
 * Transfers run on libcurl's multi interface, driven by the agent's event
 * loop (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION): a slow or hanging IdP
 * holds a socket and a timer, never the loop.  cb runs on the loop, always
 * from a later loop turn than mm_http_start, exactly once per request.
 * It owns nothing: the response is freed after cb returns.
 */
typedef struct mm_http mm_http;
typedef void (*mm_http_cb)(void *arg, mm_err e, mm_http_resp *r, const char *why);

mm_http *mm_http_new(mm_loop *loop);
/* Aborts transfers in flight: their callbacks run with MM_ERR_INTERNAL. */
void mm_http_free(mm_http *h);
/* GET when form is NULL, else POST the form (copied). */
void mm_http_start(mm_http *h, const char *url, const mm_form *form, const mm_http_opts *o,
                   mm_http_cb cb, void *arg);
void mm_http_resp_free(mm_http_resp *r);

/* https://, or http:// to 127.0.0.0/8, [::1] or localhost: else refuse. */
mm_err mm_url_check_secure(const char *url, char *why, size_t whylen);

#endif
