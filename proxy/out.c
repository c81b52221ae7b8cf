/* out.c - whole messages to standard output with bounded buffering (see out.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "out.h"

#define CHUNK (16 * 1024)
#define IOV_MAX_USED 64
/* A message still arriving goes out in pieces at least this big: readers
 * that gather a line by concatenation (the MCP SDK's stdio client does)
 * pay for every piece with a copy of all they have so far. */
#define STREAM_PIECE (64 * 1024)

typedef struct chunk {
    struct chunk *next;
    size_t off, len, cap; /* data[off..len) is still to be written */
    char data[];
} chunk;

struct mm_outmsg {
    mm_out *o;
    chunk *first, *last;
    size_t held;    /* bytes not yet written */
    size_t written;
    int queued;     /* in the write queue: its turn will come */
    int complete;   /* the newline is in */
    mm_outmsg *next;
};

struct mm_out {
    mm_loop *loop;
    int fd, old_flags;
    int pollable;   /* epoll takes it (a pipe, a tty, a socket; not a plain file) */
    int polling_out;
    int failed;
    mm_outmsg *qhead, *qtail;
    size_t total;   /* bytes held by every message, queued or not */
    mm_out_waiter *waiters;
    uint64_t wake_timer, changed_timer;
    void (*changed)(void *arg);
    void *arg;
};

static void flush(mm_out *o);

static void on_fd(mm_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)fd;
    mm_out *o = data;
    if ((events & (EPOLLERR | EPOLLHUP)) && !o->qhead) {
        /* Nothing to write, and the reader has gone: we will never be read. */
        o->failed = 1;
        mm_loop_del_fd(o->loop, o->fd);
        o->pollable = 0;
    }
    flush(o);
}

mm_out *mm_out_new(mm_loop *loop, int fd, void (*changed)(void *arg), void *arg)
{
    mm_out *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    *o = (mm_out){.loop = loop, .fd = fd, .changed = changed, .arg = arg};
    o->old_flags = fcntl(fd, F_GETFL);
    /* A plain file cannot be polled (EPERM); it is written blocking. */
    if (mm_loop_add_fd(loop, fd, 0, on_fd, o) == 0) {
        o->pollable = 1;
        if (o->old_flags >= 0)
            fcntl(fd, F_SETFL, o->old_flags | O_NONBLOCK);
    }
    return o;
}

static void msg_free(mm_outmsg *m)
{
    m->o->total -= m->held;
    for (chunk *c = m->first, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(m);
}

void mm_out_free(mm_out *o)
{
    if (!o)
        return;
    while (o->qhead) { /* complete ones: producers have dropped theirs */
        mm_outmsg *m = o->qhead;
        o->qhead = m->next;
        msg_free(m);
    }
    if (o->pollable)
        mm_loop_del_fd(o->loop, o->fd);
    if (o->old_flags >= 0)
        fcntl(o->fd, F_SETFL, o->old_flags);
    if (o->wake_timer)
        mm_loop_del_timer(o->loop, o->wake_timer);
    if (o->changed_timer)
        mm_loop_del_timer(o->loop, o->changed_timer);
    free(o);
}

/* ---- producers waiting for room ------------------------------------------------ */

static void wake(mm_loop *loop, void *data)
{
    (void)loop;
    mm_out *o = data;
    o->wake_timer = 0;
    mm_out_waiter *w = o->waiters;
    o->waiters = NULL;
    while (w) {
        mm_out_waiter *next = w->next;
        w->waiting = 0;
        w->next = NULL;
        w->cb(w); /* may wait again, or free other waiters' owners: see unwait */
        w = next;
    }
}

/* Producers resume from the loop, never from inside the write path (which
 * can run inside an HTTP callback). */
static void schedule_wake(mm_out *o)
{
    if (o->waiters && !o->wake_timer)
        o->wake_timer = mm_loop_add_timer(o->loop, 0, wake, o);
}

void mm_out_wait(mm_out *o, mm_out_waiter *w)
{
    if (w->waiting)
        return;
    w->waiting = 1;
    w->next = o->waiters;
    o->waiters = w;
}

void mm_out_unwait(mm_out *o, mm_out_waiter *w)
{
    for (mm_out_waiter **pp = &o->waiters; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    w->waiting = 0;
    w->next = NULL;
}

/* ---- writing ------------------------------------------------------------------------- */

static void changed_cb(mm_loop *loop, void *data)
{
    (void)loop;
    mm_out *o = data;
    o->changed_timer = 0;
    o->changed(o->arg);
}

static void notify(mm_out *o)
{
    if (o->changed && !o->changed_timer)
        o->changed_timer = mm_loop_add_timer(o->loop, 0, changed_cb, o);
}

static void poll_out(mm_out *o, int on)
{
    if (o->pollable && o->polling_out != on) {
        mm_loop_mod_fd(o->loop, o->fd, on ? EPOLLOUT : 0);
        o->polling_out = on;
    }
}

/* Complete messages at the head of the queue, and the head's written part
 * if it is still streaming, in one writev. */
static int gather(mm_out *o, struct iovec *iov)
{
    int n = 0;
    for (mm_outmsg *m = o->qhead; m && n < IOV_MAX_USED; m = m->next) {
        for (chunk *c = m->first; c && n < IOV_MAX_USED; c = c->next)
            if (c->len > c->off)
                iov[n++] = (struct iovec){c->data + c->off, c->len - c->off};
        if (!m->complete)
            break;
    }
    return n;
}

static void consume(mm_out *o, size_t n)
{
    while (o->qhead) {
        mm_outmsg *m = o->qhead;
        while (m->first && n) {
            chunk *c = m->first;
            size_t k = c->len - c->off < n ? c->len - c->off : n;
            c->off += k;
            n -= k;
            m->held -= k;
            m->written += k;
            o->total -= k;
            if (c->off == c->len && (c->next || m->complete)) {
                m->first = c->next;
                if (!m->first)
                    m->last = NULL;
                free(c);
            }
        }
        if (m->held || !m->complete)
            return;
        o->qhead = m->next;
        if (!o->qhead)
            o->qtail = NULL;
        msg_free(m);
    }
}

static void fail(mm_out *o, int err)
{
    if (!o->failed)
        mm_warn("cannot write to standard output: %s", strerror(err));
    o->failed = 1;
    /* Complete messages belong to the queue; one still being produced
     * stays its producer's, who ends or drops it (then it is freed). */
    while (o->qhead) {
        mm_outmsg *m = o->qhead;
        o->qhead = m->next;
        m->next = NULL;
        m->queued = 0;
        if (m->complete)
            msg_free(m);
    }
    o->qtail = NULL;
    poll_out(o, 0);
}

static void flush(mm_out *o)
{
    struct iovec iov[IOV_MAX_USED];
    int progress = 0, n;
    while (!o->failed && (n = gather(o, iov)) > 0) {
        ssize_t w = writev(o->fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (w <= 0) {
            fail(o, w < 0 ? errno : EPIPE);
            break;
        }
        consume(o, (size_t)w);
        progress = 1;
    }
    poll_out(o, !o->failed && gather(o, iov) > 0);
    if (progress || o->failed)
        schedule_wake(o);
    if (o->failed || !o->qhead)
        notify(o);
}

/* ---- messages ------------------------------------------------------------------------ */

mm_outmsg *mm_out_begin(mm_out *o)
{
    mm_outmsg *m = calloc(1, sizeof(*m));
    if (m)
        m->o = o;
    return m;
}

static void enqueue(mm_outmsg *m)
{
    mm_out *o = m->o;
    if (m->queued)
        return;
    m->queued = 1;
    if (o->qtail)
        o->qtail->next = m;
    else
        o->qhead = m;
    o->qtail = m;
}

/* Copy with line breaks turned into spaces. */
static void copy_flat(char *dst, const char *src, size_t n)
{
    memcpy(dst, src, n);
    for (char *p = dst, *end = dst + n; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        *p = ' ';
    for (char *p = dst, *end = dst + n; (p = memchr(p, '\r', (size_t)(end - p))); p++)
        *p = ' ';
}

/* flat: turn line breaks into spaces (message bytes; not its final newline) */
static int append(mm_outmsg *m, const char *p, size_t n, int flat)
{
    while (n) {
        chunk *c = m->last;
        if (!c || c->len == c->cap) {
            /* Small messages get a small chunk: most are a few hundred bytes. */
            size_t cap = m->held + n < 1024 ? 1024 : CHUNK;
            if (!(c = malloc(sizeof(*c) + cap)))
                return -1;
            *c = (chunk){.cap = cap};
            if (m->last)
                m->last->next = c;
            else
                m->first = c;
            m->last = c;
        }
        size_t k = c->cap - c->len < n ? c->cap - c->len : n;
        if (flat)
            copy_flat(c->data + c->len, p, k);
        else
            memcpy(c->data + c->len, p, k);
        c->len += k;
        m->held += k;
        m->o->total += k;
        p += k;
        n -= k;
    }
    return 0;
}

int mm_out_write(mm_outmsg *m, const char *p, size_t n)
{
    if (m->o->failed)
        return 0; /* nobody reads any more: swallow */
    if (append(m, p, n, 1) < 0)
        return -1;
    if (m->held + m->written >= MM_OUT_STREAM_AT)
        enqueue(m);
    if (m == m->o->qhead && m->held >= STREAM_PIECE)
        flush(m->o);
    return 0;
}

int mm_out_committed(const mm_outmsg *m) { return m->queued; }

void mm_out_end(mm_outmsg *m)
{
    mm_out *o = m->o;
    if (o->failed) {
        msg_free(m);
        return;
    }
    if (append(m, "\n", 1, 0) < 0 && !m->queued) {
        mm_warn("out of memory: a message to standard output was lost");
        msg_free(m);
        return;
    }
    m->complete = 1;
    enqueue(m);
    flush(o);
}

void mm_out_drop(mm_outmsg *m)
{
    if (!m->queued || m->o->failed) {
        msg_free(m);
        return;
    }
    mm_out_end(m);
}

int mm_out_line(mm_out *o, const char *msg, size_t n)
{
    mm_outmsg *m = mm_out_begin(o);
    if (!m || append(m, msg, n, 1) < 0) {
        if (m)
            msg_free(m);
        return -1;
    }
    mm_out_end(m);
    return 0;
}

/* ---- back pressure ---------------------------------------------------------------- */

int mm_out_busy(mm_out *o, mm_outmsg *m)
{
    if (o->failed)
        return 0;
    if (m && m == o->qhead)
        return m->held >= MM_OUT_HEAD_MAX;
    if (m && m->queued) /* waits for its turn */
        return m->held >= MM_OUT_STREAM_AT || o->total >= MM_OUT_TOTAL_MAX;
    if (o->total < MM_OUT_TOTAL_MAX)
        return 0;
    /* Over budget and m is not queued: give it its turn now.  Held bytes
     * only ever leave through the queue; a message outside it could wait
     * for room forever. */
    if (m && m->held) {
        enqueue(m);
        flush(o); /* it may be first in line now */
        return mm_out_busy(o, m);
    }
    return 1;
}

int mm_out_idle(const mm_out *o) { return !o->qhead; }
int mm_out_failed(const mm_out *o) { return o->failed; }
