/*
 * http.h - blocking HTTP for worker jobs, on libcurl.
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

#include "mimir/err.h"

#define MM_HTTP_MAX_BODY (1024 * 1024)

typedef struct {
    const char *ca_file;  /* NULL: system trust store */
    int timeout_ms;       /* total; connect timeout is min(5 s, this) */
} mm_http_opts;

typedef struct {
    long status;
    char *body; /* NUL-terminated */
    size_t len;
    char *www_authenticate; /* the header, when present */
} mm_http_resp;

/* A growing application/x-www-form-urlencoded body (wiped on free). */
typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} mm_form;

void mm_form_add(mm_form *f, const char *key, const char *value);
void mm_form_free(mm_form *f);
/* Percent-encode for a URL query (same encoding as the form). */
char *mm_url_escape(const char *s);

mm_err mm_http_get(const char *url, const mm_http_opts *o, mm_http_resp *r, char *why,
                   size_t whylen);
mm_err mm_http_post_form(const char *url, const mm_form *form, const mm_http_opts *o,
                         mm_http_resp *r, char *why, size_t whylen);
void mm_http_resp_free(mm_http_resp *r);

/* https://, or http:// to 127.0.0.0/8, [::1] or localhost: else refuse. */
mm_err mm_url_check_secure(const char *url, char *why, size_t whylen);

#endif
