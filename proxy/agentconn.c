/* agentconn.c - non-blocking requests to mimir-agent over a few connections (see agentconn.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "agentconn.h"
#include "log.h"
#include "mimir/client.h"
#include "mimir/proto.h"

#define CONNECT_TIMEOUT_MS 5000
/* A request whose connection broke is sent again this many times, the
 * n-th time after n * RESEND_DELAY_MS: a connect right after the agent died
 * can still reach the dying process. */
#define MAX_RESENDS 3
#define RESEND_DELAY_MS 100

typedef struct conn conn;

struct mm_agentreq {
    mm_agentconn *a;
    long id;
    char *line; /* the request (with "rejected", a credential): wiped when freed */
    size_t len;
    int resent, cancelled;
    uint64_t timer;    /* waiting to be sent again */
    mm_err err; /* a failure reported from the loop */
    char why[512];
    mm_agentconn_cb cb;
    void *arg;
    mm_agentreq *next;
};

struct conn {
    mm_agentconn *a;
    int fd;
    char *in;          /* replies: MM_PROTO_MAX_LINE + 1, wiped as consumed */
    size_t in_len;
    char *out;         /* requests not yet accepted by the socket */
    size_t out_len, out_cap;
    int polling_out;
    mm_agentreq *head, *tail; /* sent, awaiting replies in this order */
    int n;
    uint64_t timer;    /* the head's deadline */
    conn *next;
};

struct mm_agentconn {
    mm_loop *loop;
    char *profile;
    int timeout_ms;
    conn *conns;
    int nconns;
    long next_id;
    mm_agentreq *failed; /* to be told from the loop */
    uint64_t fail_timer;
    mm_agentreq *resending; /* waiting for their timers */
    int autostart;
};

static void req_free(mm_agentreq *r)
{
    if (r->line) {
        sodium_memzero(r->line, r->len);
        cJSON_free(r->line);
    }
    free(r);
}

/* ---- failures are told from the loop ------------------------------------------- */

static void tell_failures(mm_loop *loop, void *data)
{
    (void)loop;
    mm_agentconn *a = data;
    a->fail_timer = 0;
    mm_agentreq *r = a->failed;
    a->failed = NULL;
    while (r) {
        mm_agentreq *next = r->next;
        if (!r->cancelled)
            r->cb(r->arg, r->err, NULL, r->why);
        req_free(r);
        r = next;
    }
}

static void fail_later(mm_agentreq *r, mm_err e, const char *why)
{
    mm_agentconn *a = r->a;
    r->err = e;
    snprintf(r->why, sizeof(r->why), "%s", why);
    r->next = a->failed;
    a->failed = r;
    if (!a->fail_timer)
        a->fail_timer = mm_loop_add_timer(a->loop, 0, tell_failures, a);
}

/* ---- connections ------------------------------------------------------------------------ */

static void dispatch(mm_agentreq *r);
static void on_fd(mm_loop *loop, int fd, uint32_t events, void *data);

static void conn_close(conn *c)
{
    mm_agentconn *a = c->a;
    for (conn **pp = &a->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            a->nconns--;
            break;
        }
    mm_loop_del_fd(a->loop, c->fd);
    close(c->fd);
    if (c->timer)
        mm_loop_del_timer(a->loop, c->timer);
    sodium_memzero(c->in, c->in_len);
    free(c->in);
    if (c->out)
        sodium_memzero(c->out, c->out_cap);
    free(c->out);
    free(c);
}

static void unlink_resending(mm_agentreq *r)
{
    for (mm_agentreq **pp = &r->a->resending; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    r->next = NULL;
}

static void resend_cb(mm_loop *loop, void *data)
{
    (void)loop;
    mm_agentreq *r = data;
    r->timer = 0;
    unlink_resending(r);
    if (r->cancelled)
        req_free(r);
    else
        dispatch(r);
}

/* The connection is gone (or useless).  Its outstanding requests are sent
 * again (a few times, a little later) when resend is allowed, else fail. */
static void conn_broken(conn *c, int resend, mm_err e, const char *why)
{
    mm_agentreq *r = c->head;
    mm_agentconn *a = c->a;
    c->head = c->tail = NULL;
    conn_close(c);
    while (r) {
        mm_agentreq *next = r->next;
        r->next = NULL;
        if (r->cancelled) {
            req_free(r);
        } else if (resend && r->resent < MAX_RESENDS) {
            r->resent++;
            r->next = a->resending;
            a->resending = r;
            r->timer = mm_loop_add_timer(a->loop, (uint64_t)(RESEND_DELAY_MS * r->resent),
                                         resend_cb, r);
        } else {
            fail_later(r, e, why);
        }
        r = next;
    }
}

static void on_deadline(mm_loop *loop, void *data)
{
    (void)loop;
    conn *c = data;
    char why[160];
    c->timer = 0;
    snprintf(why, sizeof(why), "mimir-agent did not answer within %d s",
             c->a->timeout_ms / 1000);
    mm_warn("%s", why);
    conn_broken(c, 0, MM_ERR_TIMEOUT, why);
}

static void arm_deadline(conn *c)
{
    if (c->timer)
        mm_loop_del_timer(c->a->loop, c->timer);
    c->timer = c->head ? mm_loop_add_timer(c->a->loop, (uint64_t)c->a->timeout_ms, on_deadline, c)
                       : 0;
}

static conn *conn_open(mm_agentconn *a, mm_err *e, char *why, size_t whylen)
{
    mm_client *cl = malloc(sizeof(*cl));
    conn *c = calloc(1, sizeof(*c));
    if (!cl || !c || !(c->in = malloc(MM_PROTO_MAX_LINE + 1))) {
        *e = MM_ERR_NOMEM;
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    /* Blocking, but short: a Unix socket connect and the trust checks,
     * plus the agent's start-up when it has to be started. */
    if ((*e = mm_client_open(cl, CONNECT_TIMEOUT_MS, a->autostart)) != MM_OK) {
        snprintf(why, whylen, "%s", cl->why);
        goto fail;
    }
    c->fd = cl->fd;
    cl->fd = -1;
    mm_client_close(cl);
    free(cl);
    cl = NULL;
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    if (mm_loop_add_fd(a->loop, c->fd, EPOLLIN, on_fd, c) < 0) {
        close(c->fd);
        *e = MM_ERR_INTERNAL;
        snprintf(why, whylen, "cannot watch the agent connection: %s", strerror(errno));
        goto fail;
    }
    c->a = a;
    c->next = a->conns;
    a->conns = c;
    a->nconns++;
    return c;
fail:
    if (cl)
        mm_client_close(cl);
    free(cl);
    if (c)
        free(c->in);
    free(c);
    return NULL;
}

/* An idle connection, else a new one, else the least loaded. */
static conn *pick(mm_agentconn *a, mm_err *e, char *why, size_t whylen)
{
    conn *best = NULL;
    for (conn *c = a->conns; c; c = c->next) {
        if (!c->n)
            return c;
        if (!best || c->n < best->n)
            best = c;
    }
    if (a->nconns < MM_AGENTCONN_MAX) {
        conn *c = conn_open(a, e, why, whylen);
        if (c || !best)
            return c;
    }
    return best;
}

/* ---- sending ------------------------------------------------------------------------------ */

static int flush_out(conn *c)
{
    size_t done = 0;
    while (done < c->out_len) {
        ssize_t w = send(c->fd, c->out + done, c->out_len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (w <= 0)
            return -1;
        done += (size_t)w;
    }
    memmove(c->out, c->out + done, c->out_len - done);
    sodium_memzero(c->out + c->out_len - done, done);
    c->out_len -= done;
    int want = c->out_len > 0;
    if (want != c->polling_out) {
        mm_loop_mod_fd(c->a->loop, c->fd, EPOLLIN | (want ? EPOLLOUT : 0));
        c->polling_out = want;
    }
    return 0;
}

static int queue_out(conn *c, const char *p, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t cap = (c->out_len + n) * 2;
        char *o = malloc(cap);
        if (!o)
            return -1;
        if (c->out) {
            memcpy(o, c->out, c->out_len);
            sodium_memzero(c->out, c->out_cap);
            free(c->out);
        }
        c->out = o;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

static void dispatch(mm_agentreq *r)
{
    mm_agentconn *a = r->a;
    mm_err e = MM_OK;
    char why[512];
    conn *c = pick(a, &e, why, sizeof(why));
    if (!c) {
        fail_later(r, e, why);
        return;
    }
    if (queue_out(c, r->line, r->len) < 0) {
        fail_later(r, MM_ERR_NOMEM, "out of memory");
        return;
    }
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    if (c->n++ == 0)
        arm_deadline(c);
    if (flush_out(c) < 0)
        conn_broken(c, 1, MM_ERR_AGENT_UNREACHABLE, "mimir-agent closed the connection");
}

mm_agentreq *mm_agentconn_headers(mm_agentconn *a, const char *rejected, mm_agentconn_cb cb,
                                  void *arg)
{
    mm_agentreq *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    *r = (mm_agentreq){.a = a, .id = ++a->next_id, .cb = cb, .arg = arg};
    cJSON *q = mm_proto_request(MM_OP_HEADERS, r->id, a->profile);
    if (q && rejected)
        cJSON_AddStringToObject(q, "rejected", rejected);
    r->line = q ? mm_proto_encode(q, &r->len) : NULL;
    cJSON_Delete(q); /* cJSON's blocks are wiped when freed (mm_secret_init) */
    if (!r->line) {
        free(r);
        return NULL;
    }
    dispatch(r);
    return r;
}

void mm_agentconn_cancel(mm_agentreq *r) { r->cancelled = 1; }

void mm_agentconn_autostart(mm_agentconn *a, int on) { a->autostart = on; }

/* ---- replies --------------------------------------------------------------------------------- */

static int take_reply(conn *c, const char *line, size_t n)
{
    mm_response resp;
    if (mm_proto_parse_response(line, n, &resp) != MM_OK)
        return -1;
    if (resp.event) { /* not subscribed; nothing to do with it */
        mm_response_free(&resp);
        return 0;
    }
    mm_agentreq *r = c->head;
    if (!r || resp.id != r->id) {
        mm_response_free(&resp);
        return -1;
    }
    c->head = r->next;
    if (!c->head)
        c->tail = NULL;
    c->n--;
    arm_deadline(c);
    if (!r->cancelled)
        r->cb(r->arg, resp.ok ? MM_OK : resp.err, resp.root,
              resp.ok ? NULL : resp.message ? resp.message : mm_err_describe(resp.err));
    mm_response_free(&resp);
    req_free(r);
    return 0;
}

static void read_replies(conn *c)
{
    for (;;) {
        ssize_t got = recv(c->fd, c->in + c->in_len, MM_PROTO_MAX_LINE - c->in_len, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (got <= 0) {
            /* The agent restarted, or closed a connection idle too long. */
            conn_broken(c, 1, MM_ERR_AGENT_UNREACHABLE, "mimir-agent closed the connection");
            return;
        }
        c->in_len += (size_t)got;
        char *start = c->in, *nl;
        while ((nl = memchr(start, '\n', c->in_len - (size_t)(start - c->in)))) {
            if (take_reply(c, start, (size_t)(nl - start)) < 0) {
                conn_broken(c, 0, MM_ERR_INTERNAL, "mimir-agent sent an unexpected reply");
                return;
            }
            start = nl + 1;
        }
        size_t used = (size_t)(start - c->in);
        memmove(c->in, start, c->in_len - used);
        sodium_memzero(c->in + c->in_len - used, used); /* replies carry credentials */
        c->in_len -= used;
        if (c->in_len == MM_PROTO_MAX_LINE) {
            conn_broken(c, 0, MM_ERR_TOO_LARGE, "reply from mimir-agent too long");
            return;
        }
    }
}

static void on_fd(mm_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)fd;
    conn *c = data;
    if ((events & EPOLLOUT) && flush_out(c) < 0) {
        conn_broken(c, 1, MM_ERR_AGENT_UNREACHABLE, "mimir-agent closed the connection");
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        read_replies(c);
}

/* ---- the pool ------------------------------------------------------------------------------ */

mm_agentconn *mm_agentconn_new(mm_loop *loop, const char *profile, int timeout_ms)
{
    mm_agentconn *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    *a = (mm_agentconn){.loop = loop, .timeout_ms = timeout_ms, .autostart = 1};
    if (profile && !(a->profile = strdup(profile))) {
        free(a);
        return NULL;
    }
    return a;
}

void mm_agentconn_free(mm_agentconn *a)
{
    if (!a)
        return;
    while (a->conns) {
        conn *c = a->conns;
        for (mm_agentreq *r = c->head, *n; r; r = n) {
            n = r->next;
            req_free(r);
        }
        c->head = NULL;
        conn_close(c);
    }
    for (mm_agentreq *r = a->failed, *n; r; r = n) {
        n = r->next;
        req_free(r);
    }
    for (mm_agentreq *r = a->resending, *n; r; r = n) {
        n = r->next;
        mm_loop_del_timer(a->loop, r->timer);
        req_free(r);
    }
    if (a->fail_timer)
        mm_loop_del_timer(a->loop, a->fail_timer);
    free(a->profile);
    free(a);
}
