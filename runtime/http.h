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

/*
 * Streamed transfers (the MCP proxy): any method, the caller's headers, a
 * borrowed body, and the answer handed over as it arrives instead of
 * collected: status and headers once, then the body piece by piece.  A
 * piece the caller cannot take yet pauses the transfer (only that one)
 * until mm_http_xfer_resume.  Same loop, same multi handle, same URL rule
 * (mm_url_check_secure) as mm_http_start.  Headers are copied and wiped
 * when the transfer ends: they carry credentials.
 */
typedef struct mm_http_xfer mm_http_xfer;

typedef struct {
    const char *method;          /* "GET" (also when NULL), "POST", "DELETE" */
    const char *url;
    const char *const *headers;  /* "Name: value" strings, NULL-terminated */
    const char *body;            /* borrowed until done runs or cancel */
    size_t body_len;
    const char *ca_file;         /* NULL: system trust store */
    int timeout_ms;              /* total; 0: none (event streams) */
    int idle_s;                  /* abort after this long below 1 byte/s; 0: off */
} mm_http_stream_req;

typedef struct {
    /* The final status line and headers are in.  0 goes on, -1 aborts. */
    int (*head)(void *arg, mm_http_xfer *x, long status);
    /* A piece of the body: 0 when taken, 1 to pause (the same bytes come
     * again after mm_http_xfer_resume), -1 aborts. */
    int (*data)(void *arg, const char *p, size_t n);
    /* Exactly once per transfer unless cancelled, from a later loop turn
     * than mm_http_stream: MM_OK when the whole answer arrived. */
    void (*done)(void *arg, mm_err e, const char *why);
} mm_http_stream_cbs;

/* NULL only when out of memory (then no callback runs). */
mm_http_xfer *mm_http_stream(mm_http *h, const mm_http_stream_req *rq,
                             const mm_http_stream_cbs *cbs, void *arg);
/* A header of the answer (case-insensitive name), from head on; NULL when absent. */
const char *mm_http_xfer_header(mm_http_xfer *x, const char *name);
void mm_http_xfer_resume(mm_http_xfer *x);
/* Ends the transfer; no callback runs for it afterwards.  Safe inside its
 * own callbacks (it then ends as soon as the callback returns). */
void mm_http_xfer_cancel(mm_http_xfer *x);

#endif
