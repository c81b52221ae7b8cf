/* loopback.c - the listener for the authorization redirect (see loopback.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "loopback.h"

#define REQ_MAX 8192
#define REQ_TIMEOUT_MS 3000 /* a browser sends its request at once */
#define MAX_CONNS 16

typedef struct lb_conn {
    mm_loopback *lb;
    int fd;
    char buf[REQ_MAX + 1];
    size_t len;
    uint64_t timer;
    struct lb_conn *next; /* newest first */
} lb_conn;

struct mm_loopback {
    mm_loop *loop;
    int fd, port;
    mm_callback_fn fn;
    void *ctx;
    lb_conn *conns;
    int nconns;
};

static void conn_drop(lb_conn *c)
{
    mm_loopback *lb = c->lb;
    for (lb_conn **pp = &lb->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    lb->nconns--;
    mm_loop_del_fd(lb->loop, c->fd);
    mm_loop_del_timer(lb->loop, c->timer);
    close(c->fd);
    sodium_memzero(c->buf, sizeof(c->buf)); /* held an authorization code */
    free(c);
}

/* ---- the page ------------------------------------------------------------- */

/* HTML-escape src into dst (always NUL-terminated, truncated to fit).  The
 * text can carry the IdP's error_description, which anyone can put into a
 * redirect: it must never become markup. */
static void html_escape(char *dst, size_t len, const char *src)
{
    size_t o = 0;
    for (; *src && o + 7 < len; src++) {
        const char *rep = NULL;
        switch (*src) {
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '&': rep = "&amp;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        }
        if (rep) {
            memcpy(dst + o, rep, strlen(rep));
            o += strlen(rep);
        } else {
            dst[o++] = *src;
        }
    }
    dst[o] = '\0';
}

static void page(int fd, int status, const char *title, const char *text)
{
    char t[256], x[1600], body[2048], resp[2600];
    html_escape(t, sizeof(t), title);
    html_escape(x, sizeof(x), text);
    int bl = snprintf(body, sizeof(body),
                      "<!doctype html><html><head><meta charset=\"utf-8\"><title>Mimir: %s"
                      "</title></head><body><h1>%s</h1><p>%s</p></body></html>",
                      t, t, x);
    /* No script, style or frame of any origin may run here, and the page
     * (whose URL held the code) is neither cached nor sent as a referrer. */
    int rl = snprintf(resp, sizeof(resp),
                      "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
                      "Content-Length: %d\r\nCache-Control: no-store\r\n"
                      "Content-Security-Policy: default-src 'none'\r\n"
                      "X-Content-Type-Options: nosniff\r\n"
                      "Referrer-Policy: no-referrer\r\nConnection: close\r\n\r\n%s",
                      status, status == 200 ? "OK" : status == 404 ? "Not Found" : "Bad Request",
                      bl, body);
    /* Best effort, non-blocking: a page is small and the socket is fresh. */
    if (send(fd, resp, (size_t)rl, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
    }
}

/* ---- parsing -------------------------------------------------------------- */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* In-place percent-decoding of a query component; -1 for an encoded NUL,
 * which would cut the value short where nobody looks. */
static int url_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '+')
            *o++ = ' ';
        else if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *o = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            if (!*o++)
                return -1;
            s += 2;
        } else
            *o++ = *s;
    }
    *o = '\0';
    return 0;
}

/* A repeated parameter makes the whole callback invalid (no ambiguity). */
static int parse_query(char *q, mm_callback *cb)
{
    char *save = NULL;
    for (char *tok = strtok_r(q, "&", &save); tok; tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = '\0';
        if (url_decode(eq + 1) < 0)
            return -1;
        const char **slot = !strcmp(tok, "code")    ? &cb->code
                            : !strcmp(tok, "state") ? &cb->state
                            : !strcmp(tok, "error") ? &cb->error
                            : !strcmp(tok, "error_description") ? &cb->error_description
                            : !strcmp(tok, "iss") ? &cb->iss : NULL;
        if (slot && *slot)
            return -1;
        if (slot)
            *slot = eq + 1;
    }
    return 0;
}

mm_lb_kind mm_loopback_parse(char *req, mm_callback *cb)
{
    memset(cb, 0, sizeof(*cb));
    char *sp1 = strchr(req, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (strncmp(req, "GET ", 4) || !sp2)
        return MM_LB_BAD;
    *sp2 = '\0';
    char *target = sp1 + 1, *q = strchr(target, '?');
    if (q)
        *q++ = '\0';
    if (strcmp(target, "/callback"))
        return MM_LB_NOT_FOUND;
    if (!q || parse_query(q, cb) < 0) {
        memset(cb, 0, sizeof(*cb));
        return MM_LB_INVALID;
    }
    return MM_LB_CALLBACK;
}

/* ---- connections ---------------------------------------------------------- */

static void handle_request(lb_conn *c)
{
    mm_loopback *lb = c->lb;
    mm_callback cb;
    char msg[300] = "";
    static const char only[] = "This address only receives sign-in redirects.";
    switch (mm_loopback_parse(c->buf, &cb)) {
    case MM_LB_BAD: page(c->fd, 400, "Bad request", only); return;
    case MM_LB_NOT_FOUND: page(c->fd, 404, "Not found", only); return;
    case MM_LB_INVALID:
        page(c->fd, 400, "Not a valid sign-in response",
             "The request did not match the sign-in in progress.");
        return;
    case MM_LB_CALLBACK: break;
    }
    mm_cb_verdict v = lb->fn(lb->ctx, &cb, msg, sizeof(msg));
    if (v == MM_CB_SUCCESS)
        page(c->fd, 200, "Sign-in received",
             "Mimir received the identity provider's answer and is completing the "
             "sign-in. You can close this tab; the result appears in your terminal or "
             "editor.");
    else
        page(c->fd, 400, v == MM_CB_FAILED ? "Sign-in failed" : "Not a valid sign-in response",
             msg[0] ? msg : "The request did not match the sign-in in progress.");
}

static void conn_timeout(mm_loop *loop, void *data)
{
    (void)loop;
    lb_conn *c = data;
    c->timer = 0;
    conn_drop(c);
}

static void conn_io(mm_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop, (void)events;
    lb_conn *c = data;
    ssize_t n = recv(fd, c->buf + c->len, REQ_MAX - c->len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0)
        c->len += (size_t)n;
    c->buf[c->len] = '\0';
    int complete = strstr(c->buf, "\r\n\r\n") || strstr(c->buf, "\n\n");
    if (n > 0 && !complete && c->len < REQ_MAX)
        return; /* wait for the rest of the headers */
    if (complete || c->len >= REQ_MAX)
        handle_request(c);
    conn_drop(c);
}

/* Every slot taken: the oldest connection (the list's last) makes room. */
static void evict_oldest(mm_loopback *lb)
{
    lb_conn *c = lb->conns;
    while (c && c->next)
        c = c->next;
    if (c)
        conn_drop(c);
}

static void on_accept(mm_loop *loop, int fd, uint32_t events, void *data)
{
    (void)events;
    mm_loopback *lb = data;
    int cfd;
    while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        if (lb->nconns >= MAX_CONNS)
            evict_oldest(lb);
        lb_conn *c = calloc(1, sizeof(*c));
        if (!c || mm_loop_add_fd(loop, cfd, EPOLLIN, conn_io, c) < 0) {
            free(c);
            close(cfd);
            continue;
        }
        c->lb = lb;
        c->fd = cfd;
        c->timer = mm_loop_add_timer(loop, REQ_TIMEOUT_MS, conn_timeout, c);
        c->next = lb->conns;
        lb->conns = c;
        lb->nconns++;
    }
}

mm_loopback *mm_loopback_start(mm_loop *loop, int port, mm_callback_fn fn, void *ctx,
                               char *why, size_t whylen)
{
    mm_loopback *lb = calloc(1, sizeof(*lb));
    if (!lb)
        return NULL;
    *lb = (mm_loopback){.loop = loop, .fn = fn, .ctx = ctx};
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    lb->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lb->fd < 0 || bind(lb->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(lb->fd, 64) < 0 || getsockname(lb->fd, (struct sockaddr *)&sa, &sl) < 0 ||
        mm_loop_add_fd(loop, lb->fd, EPOLLIN, on_accept, lb) < 0) {
        snprintf(why, whylen, "cannot listen on 127.0.0.1:%d for the sign-in redirect: %s",
                 port, strerror(errno));
        if (lb->fd >= 0)
            close(lb->fd);
        free(lb);
        return NULL;
    }
    lb->port = ntohs(sa.sin_port);
    return lb;
}

int mm_loopback_port(const mm_loopback *lb) { return lb->port; }

void mm_loopback_stop(mm_loopback *lb)
{
    if (!lb)
        return;
    while (lb->conns)
        conn_drop(lb->conns);
    mm_loop_del_fd(lb->loop, lb->fd);
    close(lb->fd);
    free(lb);
}
