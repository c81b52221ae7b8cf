/* http.c - libcurl multi transfers driven by the event loop (see http.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <sys/epoll.h>

#include <curl/curl.h>
#include <sodium.h>

#include "http.h"
#include "mimir/version.h"

#define CONNECT_TIMEOUT_MS 5000

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
        mm_buf_append(f, "&", 1);
    mm_buf_append(f, key, strlen(key));
    mm_buf_append(f, "=", 1);
    mm_buf_append(f, v, strlen(v));
    sodium_memzero(v, strlen(v));
    free(v);
}

void mm_form_free(mm_form *f) { mm_buf_free(f); }

void mm_http_resp_free(mm_http_resp *r)
{
    if (r->body) {
        sodium_memzero(r->body, r->len);
        free(r->body);
    }
    free(r->www_authenticate);
    memset(r, 0, sizeof(*r));
}

/* One transfer in flight. */
typedef struct req {
    mm_http *h;
    CURL *easy;
    char *url;
    mm_buf post;  /* our copy of the body: curl does not copy POSTFIELDS */
    mm_buf body;  /* the response */
    mm_http_resp resp;
    struct curl_slist *hdrs;
    char errbuf[CURL_ERROR_SIZE];
    char why[512];
    mm_err early; /* refused before starting: reported from a timer */
    mm_http_cb cb;
    void *arg;
    struct req *prev, *next;
} req;

struct mm_http {
    mm_loop *loop;
    CURLM *multi;
    uint64_t timer;
    req *reqs;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    mm_buf *buf = arg;
    size_t len = size * n;
    if (buf->len + len > MM_HTTP_MAX_BODY)
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    mm_buf_append(buf, data, len);
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

/* ---- the transfer's end ---------------------------------------------------- */

static void req_finish(req *r, mm_err e)
{
    mm_http *h = r->h;
    if (r->prev)
        r->prev->next = r->next;
    else
        h->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (r->easy) {
        curl_multi_remove_handle(h->multi, r->easy);
        curl_easy_cleanup(r->easy);
    }
    if (e == MM_OK) {
        r->resp.body = r->body.buf ? r->body.buf : strdup("");
        r->resp.len = r->body.len;
        r->body.buf = NULL;
        if (!r->resp.body)
            e = MM_ERR_NOMEM;
    }
    r->cb(r->arg, e, e == MM_OK ? &r->resp : NULL, r->why);
    mm_http_resp_free(&r->resp);
    mm_buf_free(&r->post);
    mm_buf_free(&r->body);
    curl_slist_free_all(r->hdrs);
    free(r->url);
    free(r);
}

static void check_done(mm_http *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        req *r;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode c = m->data.result;
        mm_err e = MM_OK;
        if (c != CURLE_OK)
            e = map_curl(c, r->url, r->errbuf, r->why, sizeof(r->why));
        else
            curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->resp.status);
        req_finish(r, e);
    }
}

/* ---- curl <-> event loop ------------------------------------------------------ */

static void on_fd(mm_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    mm_http *h = data;
    int flags = (events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                (events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                (events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
    int running;
    curl_multi_socket_action(h->multi, fd, flags, &running);
    check_done(h);
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
    (void)e;
    mm_http *h = userp;
    if (what == CURL_POLL_REMOVE) {
        if (sockp)
            mm_loop_del_fd(h->loop, s);
        curl_multi_assign(h->multi, s, NULL);
        return 0;
    }
    uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (sockp)
        mm_loop_mod_fd(h->loop, s, ev);
    else if (mm_loop_add_fd(h->loop, s, ev, on_fd, h) == 0)
        curl_multi_assign(h->multi, s, h);
    return 0;
}

static void on_timeout(mm_loop *loop, void *data)
{
    (void)loop;
    mm_http *h = data;
    int running;
    h->timer = 0;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    mm_http *h = userp;
    if (h->timer)
        mm_loop_del_timer(h->loop, h->timer);
    h->timer = timeout_ms >= 0 ? mm_loop_add_timer(h->loop, (uint64_t)timeout_ms, on_timeout, h)
                               : 0;
    return 0;
}

mm_http *mm_http_new(mm_loop *loop)
{
    mm_http *h = calloc(1, sizeof(*h));
    if (!h || !(h->multi = curl_multi_init())) {
        free(h);
        return NULL;
    }
    h->loop = loop;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    return h;
}

void mm_http_free(mm_http *h)
{
    if (!h)
        return;
    while (h->reqs) {
        snprintf(h->reqs->why, sizeof(h->reqs->why), "mimir-agent is shutting down");
        req_finish(h->reqs, MM_ERR_INTERNAL);
    }
    if (h->timer)
        mm_loop_del_timer(h->loop, h->timer);
    curl_multi_cleanup(h->multi);
    free(h);
}

/* ---- starting a transfer ------------------------------------------------------- */

static void early_fail(mm_loop *loop, void *data)
{
    (void)loop;
    req *r = data;
    req_finish(r, r->early);
}

static mm_err setup(req *r, const mm_form *form, const mm_http_opts *o)
{
    CURL *e = r->easy = curl_easy_init();
    r->hdrs = curl_slist_append(NULL, "Accept: application/json");
    if (r->hdrs && o->json_body) /* else curl says x-www-form-urlencoded */
        r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
    if (!e || !r->hdrs)
        return MM_ERR_NOMEM;
    long timeout = o->timeout_ms > 0 ? o->timeout_ms : 15000;
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout < CONNECT_TIMEOUT_MS ? timeout : (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
    if (o->fresh_connect)
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "mimir-agent/" MIMIR_VERSION);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &r->resp);
    if (form) {
        if (form->oom)
            return MM_ERR_NOMEM;
        mm_buf_append(&r->post, form->buf ? form->buf : "", form->len);
        if (r->post.oom)
            return MM_ERR_NOMEM;
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->post.buf ? r->post.buf : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)r->post.len);
    }
    return curl_multi_add_handle(r->h->multi, e) == CURLM_OK ? MM_OK : MM_ERR_INTERNAL;
}

static void req_link(mm_http *h, req *r)
{
    r->h = h;
    r->next = h->reqs;
    if (h->reqs)
        h->reqs->prev = r;
    h->reqs = r;
}

/* A request refused before it started: reported from the loop, as
 * promised.  Returns the timer's id. */
static uint64_t req_fail_early(req *r, mm_err e)
{
    r->early = e;
    if (r->easy) {
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
    }
    return mm_loop_add_timer(r->h->loop, 0, early_fail, r);
}

void mm_http_start(mm_http *h, const char *url, const mm_form *form, const mm_http_opts *o,
                   mm_http_cb cb, void *arg)
{
    req *r = calloc(1, sizeof(*r));
    if (!r || !(r->url = strdup(url))) {
        free(r);
        cb(arg, MM_ERR_NOMEM, NULL, "out of memory");
        return;
    }
    r->cb = cb;
    r->arg = arg;
    req_link(h, r);
    mm_err e = mm_url_check_secure(url, r->why, sizeof(r->why));
    if (e == MM_OK && (e = setup(r, form, o)) != MM_OK)
        snprintf(r->why, sizeof(r->why), "cannot start a request to %s", url);
    if (e != MM_OK)
        req_fail_early(r, e);
}

/* localhost, [::1] or an IPv4 literal in 127.0.0.0/8: never a DNS name
 * that merely starts with "127." */
static int loopback_host(const char *h)
{
    struct in_addr a;
    return !strcasecmp(h, "localhost") || !strcmp(h, "[::1]") ||
           (inet_pton(AF_INET, h, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127);
}

/*
 * The URL is parsed by curl itself (curl_url), so the host judged here is
 * the host curl will connect to: a hand-made parse once took
 * "http://127.0.0.1:1@evil/" for loopback while curl went to "evil".
 * Userinfo is refused outright: no URL the agent uses needs it, and it
 * only ever serves to disguise a host.  Redirects are never followed
 * (CURLOPT_FOLLOWLOCATION is off), so nothing can move a request carrying
 * a code or a token to another host or from https to http.
 */
mm_err mm_url_check_secure(const char *url, char *why, size_t whylen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *user = NULL, *pass = NULL;
    mm_err e = MM_ERR_INSECURE_ISSUER;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        snprintf(why, whylen, "%.300s is not a valid absolute URL", url);
    else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
             curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK)
        snprintf(why, whylen, "refusing %.300s: user information (\"...@\") in a URL is not "
                 "allowed", url);
    else if (!strcmp(scheme, "https") || (!strcmp(scheme, "http") && loopback_host(host)))
        e = MM_OK;
    else if (!strcmp(scheme, "http"))
        snprintf(why, whylen, "refusing plain http to %.300s: only https, or http on the "
                 "loopback interface, may carry credentials", url);
    else
        snprintf(why, whylen, "unsupported URL scheme in %.300s (https required)", url);
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(pass);
    curl_url_cleanup(u);
    return e;
}

/* ---- streamed transfers (see http.h) -------------------------------------------
 * A streamed transfer is an ordinary req whose cb is stream_done, so that
 * the loop glue, the completion path and mm_http_free treat both kinds
 * alike; only the body and header callbacks differ. */

struct mm_http_xfer {
    req *r;
    mm_http_stream_cbs cbs;
    void *arg;
    uint64_t timer;  /* a deferred cancel or resume */
    int head_seen;
    int cancelled;
    int aborted;     /* a callback of the caller's asked to stop */
};

/* libcurl forbids removing handles from inside its callbacks; a cancel or
 * resume asked for there waits for the next loop turn. */
static int stream_cb_depth;

static void stream_done(void *arg, mm_err e, mm_http_resp *resp, const char *why)
{
    (void)resp;
    mm_http_xfer *x = arg;
    for (struct curl_slist *l = x->r->hdrs; l; l = l->next)
        sodium_memzero(l->data, strlen(l->data)); /* credentials */
    if (x->timer)
        mm_loop_del_timer(x->r->h->loop, x->timer);
    if (!x->cancelled) {
        if (x->aborted) {
            e = MM_ERR_INTERNAL;
            why = "the transfer was ended by its receiver";
        }
        x->cbs.done(x->arg, e, why);
    }
    free(x);
}

static int stream_call_head(mm_http_xfer *x)
{
    long status = 0;
    curl_easy_getinfo(x->r->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200)
        return 0; /* an interim answer (100 Continue): the real one follows */
    x->head_seen = 1;
    stream_cb_depth++;
    int rc = x->cbs.head(x->arg, x, status);
    stream_cb_depth--;
    return rc;
}

static size_t stream_header(char *data, size_t size, size_t n, void *arg)
{
    mm_http_xfer *x = arg;
    size_t len = size * n;
    if (x->cancelled || x->aborted)
        return 0;
    /* The blank line that ends a header block; later blocks are trailers. */
    if (x->head_seen || len > 2 || (data[0] != '\r' && data[0] != '\n'))
        return len;
    if (stream_call_head(x) < 0 || x->cancelled) {
        x->aborted = !x->cancelled;
        return 0;
    }
    return len;
}

static size_t stream_body(char *data, size_t size, size_t n, void *arg)
{
    mm_http_xfer *x = arg;
    size_t len = size * n;
    if (!x->cancelled && !x->aborted && !x->head_seen && stream_call_head(x) < 0)
        x->aborted = 1;
    if (x->cancelled || x->aborted)
        return 0;
    stream_cb_depth++;
    int rc = x->cbs.data(x->arg, data, len);
    stream_cb_depth--;
    if (rc < 0 || x->cancelled) {
        x->aborted = !x->cancelled;
        return 0;
    }
    return rc > 0 ? CURL_WRITEFUNC_PAUSE : len;
}

static mm_err stream_header_add(req *r, const char *h)
{
    struct curl_slist *s = curl_slist_append(r->hdrs, h);
    if (!s)
        return MM_ERR_NOMEM;
    r->hdrs = s;
    return MM_OK;
}

static mm_err stream_headers(req *r, const char *const *hs)
{
    for (; hs && *hs; hs++)
        if (stream_header_add(r, *hs) != MM_OK)
            return MM_ERR_NOMEM;
    /* For large bodies curl would send "Expect: 100-continue" and wait
     * for a go-ahead first: a round trip for nothing. */
    return stream_header_add(r, "Expect:");
}

static void stream_method(CURL *e, const mm_http_stream_req *rq)
{
    const char *m = rq->method ? rq->method : "GET";
    if (!strcmp(m, "GET")) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (rq->body || !strcmp(m, "POST")) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    }
    if (strcmp(m, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
}

static mm_err stream_setup(req *r, mm_http_xfer *x, const mm_http_stream_req *rq)
{
    CURL *e = r->easy = curl_easy_init();
    if (!e || stream_headers(r, rq->headers) != MM_OK)
        return MM_ERR_NOMEM;
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* never carry credentials elsewhere */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (rq->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, rq->ca_file);
    /* Streams live as long as the server keeps them: the total deadline is
     * the caller's; a silent one ends after idle_s, a dead peer by keepalive. */
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    if (rq->timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)rq->timeout_ms);
    if (rq->idle_s > 0) {
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)rq->idle_s);
    }
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 15L);
    curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, stream_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, stream_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    stream_method(e, rq);
    return curl_multi_add_handle(r->h->multi, e) == CURLM_OK ? MM_OK : MM_ERR_INTERNAL;
}

mm_http_xfer *mm_http_stream(mm_http *h, const mm_http_stream_req *rq,
                             const mm_http_stream_cbs *cbs, void *arg)
{
    mm_http_xfer *x = calloc(1, sizeof(*x));
    req *r = calloc(1, sizeof(*r));
    if (!x || !r || !(r->url = strdup(rq->url))) {
        free(x);
        free(r);
        return NULL;
    }
    *x = (mm_http_xfer){.r = r, .cbs = *cbs, .arg = arg};
    r->cb = stream_done;
    r->arg = x;
    req_link(h, r);
    mm_err e = mm_url_check_secure(rq->url, r->why, sizeof(r->why));
    if (e == MM_OK && (e = stream_setup(r, x, rq)) != MM_OK)
        snprintf(r->why, sizeof(r->why), "cannot start a request to %s", rq->url);
    if (e != MM_OK)
        x->timer = req_fail_early(r, e);
    return x;
}

const char *mm_http_xfer_header(mm_http_xfer *x, const char *name)
{
    struct curl_header *hd;
    if (!x->r->easy || curl_easy_header(x->r->easy, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
        return NULL;
    return hd->value;
}

static void stream_deferred(mm_loop *loop, void *data)
{
    (void)loop;
    mm_http_xfer *x = data;
    x->timer = 0;
    if (x->cancelled)
        req_finish(x->r, MM_ERR_INTERNAL);
    else if (x->r->easy)
        curl_easy_pause(x->r->easy, CURLPAUSE_CONT);
}

static void stream_defer(mm_http_xfer *x)
{
    if (!x->timer)
        x->timer = mm_loop_add_timer(x->r->h->loop, 0, stream_deferred, x);
}

void mm_http_xfer_resume(mm_http_xfer *x)
{
    if (x->cancelled || !x->r->easy)
        return;
    if (stream_cb_depth)
        stream_defer(x);
    else
        curl_easy_pause(x->r->easy, CURLPAUSE_CONT);
}

void mm_http_xfer_cancel(mm_http_xfer *x)
{
    if (x->cancelled)
        return;
    x->cancelled = 1;
    if (stream_cb_depth || (x->timer && !x->r->easy))
        stream_defer(x); /* the early-failure timer, if pending, does it */
    else
        req_finish(x->r, MM_ERR_INTERNAL);
}
