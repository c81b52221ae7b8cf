/*
 * server.c - Unix socket server (see server.h).
 *
 * Security reasoning, in the order a connection meets it:
 *  - The socket lives in a 0700 directory we own (checked, not assumed), and
 *    is itself 0600.  That alone keeps other users out on a normal system.
 *  - SO_PEERCRED is checked anyway on every accept: a directory opened up by
 *    mistake, or a socket handed over by systemd, must not expose tokens.
 *  - Running out of descriptors must not make accept() spin: a spare fd is
 *    kept to accept-and-refuse with, and the connection count is capped
 *    below the limit.  Refusals are logged at most once per interval.
 *  - A line is capped at MM_PROTO_MAX_LINE; the input buffer never grows
 *    beyond that, so a client cannot make us allocate without bound.
 *  - Output is bounded by backpressure: a connection whose unsent replies
 *    pass OUT_HIGH is not read until they drain below OUT_LOW, and while all
 *    connections together hold more than OUT_BUDGET nobody is read.  A
 *    client that never reads stops being served instead of growing our
 *    memory, and is closed once its output has not moved for the line
 *    timeout; one that reads, however slowly, gets every reply.
 *  - Idle and slow connections are swept once a second, so a client that
 *    connects and sends nothing costs one fd for a while and nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "listen.h"
#include "log.h"
#include "mimir/paths.h"
#include "mimir/proto.h"
#include "secret.h"
#include "server.h"

#define OUT_HIGH (128u * 1024)          /* stop reading this connection above */
#define OUT_LOW (32u * 1024)            /* ... and start again below */
#define OUT_MAX (1024u * 1024)          /* a subscriber that lets events pile up */
#define OUT_BUDGET (16u * 1024 * 1024)  /* all connections together */
#define SWEEP_MS 1000
#define REFUSAL_LOG_MS 10000

/* A connection's life: OPEN (reading requests, answering them in order),
 * then DRAINING (no more requests; closed once its output is out), then
 * CLOSED (fd gone; the struct lives while a parked request holds it).
 * conn_close() is the one way into CLOSED, conn_unref() the one way out. */
typedef enum { CONN_OPEN, CONN_DRAINING, CONN_CLOSED } conn_state;

struct mm_conn {
    mm_server *srv;
    int fd;
    struct ucred cred;
    conn_state state;
    int parked;         /* requests that will be answered later (holds) */
    int dispatching;    /* inside the line callback: queue, do not flush */
    int eof;            /* the peer will send nothing more */
    int subscribed;
    char *in;           /* MM_PROTO_MAX_LINE bytes */
    size_t in_len;      /* bytes buffered */
    size_t in_used;     /* high-water mark: what must be wiped */
    mm_buf out;         /* replies; out.buf[out_off..out.len) not yet sent */
    size_t out_off;
    uint32_t events;
    uint64_t last_active, partial_since, last_sent;
    mm_conn *prev, *next;
};

struct mm_server {
    mm_loop *loop;
    int lfd;
    int spare_fd;       /* /dev/null, given up to accept-and-refuse at EMFILE */
    int listening;      /* the listener is in the loop (paused when no spare) */
    mm_server_opts opts;
    mm_line_cb cb;
    void *ctx;
    mm_conn *conns;
    int nconns;
    size_t out_total;   /* unsent bytes of all connections */
    int budget_paused;  /* reading was paused by OUT_BUDGET */
    uint64_t sweep_timer, resume_timer;
    uint64_t refusal_logged;
    unsigned refused;   /* since the last log line */
    char *watch_path;   /* our socket file; gone or replaced: we stop */
    dev_t watch_dev;
    ino_t watch_ino;
};

static void conn_io(mm_loop *loop, int fd, uint32_t events, void *data);
static int conn_process(mm_conn *c);

/* ---- listening ------------------------------------------------------- */

static int activated_fd(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    if (!pid || !fds || atol(pid) != (long)getpid() || atoi(fds) < 1)
        return -1;
    unsetenv("LISTEN_PID"); /* not for our children */
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    int fd = 3; /* SD_LISTEN_FDS_START */
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

mm_err mm_server_listen(const char *path, int *out_fd, int *lock_fd, char *why, size_t whylen)
{
    *lock_fd = -1;
    if ((*out_fd = activated_fd()) >= 0)
        return MM_OK;
    return mm_listen_unix(path, "mimir-agent", 512, out_fd, lock_fd, why, whylen);
}

/* ---- output ---------------------------------------------------------------- */

static size_t out_pending(const mm_conn *c) { return c->out.len - c->out_off; }

/* Not reading this connection now: it has a request parked, its output is
 * backed up, or everybody's is. */
static int paused(const mm_conn *c)
{
    return c->parked || out_pending(c) > OUT_HIGH || c->srv->budget_paused;
}

static void conn_update_events(mm_conn *c)
{
    uint32_t ev = 0;
    if (c->state == CONN_OPEN && !c->eof && !paused(c) && c->in_len < MM_PROTO_MAX_LINE)
        ev |= EPOLLIN;
    if (out_pending(c))
        ev |= EPOLLOUT;
    if (ev != c->events && mm_loop_mod_fd(c->srv->loop, c->fd, ev) == 0)
        c->events = ev;
}

static void resume_all(mm_loop *loop, void *data)
{
    (void)loop;
    mm_server *s = data;
    s->resume_timer = 0;
    for (mm_conn *c = s->conns, *next; c; c = next) {
        next = c->next; /* conn_process may free c */
        if (c->state == CONN_OPEN)
            (void)conn_process(c);
    }
}

static void account(mm_server *s, size_t added, size_t removed)
{
    s->out_total = s->out_total + added - removed;
    if (!s->budget_paused && s->out_total > OUT_BUDGET) {
        s->budget_paused = 1;
        mm_warn("%zu bytes of replies are unread; reading no requests until clients catch up",
                s->out_total);
    } else if (s->budget_paused && s->out_total < OUT_BUDGET / 2) {
        s->budget_paused = 0; /* resume from a later turn: we may be inside a connection */
        if (!s->resume_timer)
            s->resume_timer = mm_loop_add_timer(s->loop, 0, resume_all, s);
    }
}

/* ---- the end of a connection ---------------------------------------------------- */

static void conn_free(mm_conn *c)
{
    mm_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    /* Buffers may hold tokens or an API key on its way in. */
    sodium_memzero(c->in, c->in_used); /* not all 64 KiB: untouched pages stay so */
    free(c->in);
    mm_buf_free(&c->out);
    free(c);
}

/* The one place a connection's fd is closed. */
static void conn_close(mm_conn *c)
{
    if (c->state != CONN_CLOSED) {
        mm_loop_del_fd(c->srv->loop, c->fd);
        close(c->fd);
        account(c->srv, 0, out_pending(c));
        c->out_off = c->out.len = 0;
        c->state = CONN_CLOSED;
    }
    if (!c->parked)
        conn_free(c);
}

/* Returns -1 when the connection was closed. */
static int conn_flush(mm_conn *c)
{
    while (out_pending(c)) {
        ssize_t n = send(c->fd, c->out.buf + c->out_off, out_pending(c), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            conn_close(c);
            return -1;
        }
        c->out_off += (size_t)n;
        account(c->srv, 0, (size_t)n);
        c->last_active = c->last_sent = mm_now_ms();
    }
    if (!out_pending(c)) {
        sodium_memzero(c->out.buf, c->out.len);
        c->out_off = c->out.len = 0;
        if (c->state == CONN_DRAINING) {
            conn_close(c);
            return -1;
        }
    }
    conn_update_events(c);
    return 0;
}

static int out_reserve(mm_conn *c, size_t more)
{
    mm_buf *b = &c->out;
    if (c->out_off && b->len + more + 1 > b->cap) { /* compact before growing */
        memmove(b->buf, b->buf + c->out_off, b->len - c->out_off);
        b->len -= c->out_off;
        sodium_memzero(b->buf + b->len, c->out_off);
        c->out_off = 0;
    }
    return mm_buf_reserve(b, more, OUT_MAX + 64 * 1024);
}

/* Print msg straight into the output buffer, newline-terminated.  No
 * temporary string: this is the token path's hot spot, and a token printed
 * here lives only in the buffer that is wiped once sent. */
static int out_print(mm_conn *c, const cJSON *msg)
{
    size_t room = 512;
    for (;;) {
        if (out_reserve(c, room) < 0)
            return -1;
        char *at = c->out.buf + c->out.len;
        /* One byte kept for the newline.  cJSON never writes past the
         * length it is given, but may refuse a buffer that would just
         * fit: then the loop grows it. */
        size_t avail = c->out.cap - c->out.len - 1;
        if (avail > INT_MAX)
            avail = INT_MAX;
        if (cJSON_PrintPreallocated((cJSON *)msg, at, (int)avail, 0)) {
            size_t n = strlen(at);
            at[n] = '\n';
            c->out.len += n + 1;
            account(c->srv, n + 1, 0);
            return 0;
        }
        room = (c->out.cap - c->out.len) * 2;
    }
}

static void conn_queue(mm_conn *c, cJSON *msg)
{
    if (!msg) { /* out of memory building it: say what we have, then close */
        c->state = CONN_DRAINING;
        return;
    }
    /* Only events can pile up past OUT_HIGH (requests are not read then). */
    if (out_pending(c) > OUT_MAX || out_print(c, msg) < 0) {
        mm_warn("client pid %ld does not read its replies; disconnecting", (long)c->cred.pid);
        account(c->srv, 0, out_pending(c));
        c->out_off = c->out.len = 0;
        c->state = CONN_DRAINING;
    }
    cJSON_Delete(msg);
}

void mm_conn_send(mm_conn *c, cJSON *msg)
{
    if (c->state == CONN_CLOSED) {
        cJSON_Delete(msg);
        return;
    }
    conn_queue(c, msg);
    /* Inside dispatch, conn_process flushes once for the whole batch;
     * flushing here could free c under its feet. */
    if (!c->parked && !c->dispatching)
        conn_flush(c);
}

void mm_conn_hold(mm_conn *c) { c->parked++; }
void mm_conn_subscribe(mm_conn *c) { c->subscribed = 1; }
pid_t mm_conn_pid(const mm_conn *c) { return c->cred.pid; }

/* ---- input ------------------------------------------------------------------ */

/* The next complete line in c->in from off: its length, or -1.  At EOF the
 * last bytes count as a line even without a newline. */
static long next_line(const mm_conn *c, size_t off)
{
    const char *nl = memchr(c->in + off, '\n', c->in_len - off);
    if (nl)
        return nl - (c->in + off);
    return c->eof && c->in_len > off && c->in_len < MM_PROTO_MAX_LINE ? (long)(c->in_len - off)
                                                                       : -1;
}

/* Dispatch the lines in c->in from the start until one holds the
 * connection or output backs up; then drop what was dispatched. */
static void dispatch(mm_conn *c)
{
    size_t off = 0;
    long len;
    while (c->state == CONN_OPEN && !paused(c) && (len = next_line(c, off)) >= 0) {
        c->dispatching = 1;
        c->srv->cb(c->srv->ctx, c, c->in + off, (size_t)len);
        c->dispatching = 0;
        off += (size_t)len + (off + (size_t)len < c->in_len); /* the newline, if any */
    }
    if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
        sodium_memzero(c->in + c->in_len, off);
    }
    c->partial_since = c->in_len ? (c->partial_since ? c->partial_since : mm_now_ms()) : 0;
    if (c->state == CONN_OPEN && !c->parked && c->in_len >= MM_PROTO_MAX_LINE &&
        next_line(c, 0) < 0) {
        conn_queue(c, mm_proto_reply_err(NULL, MM_ERR_TOO_LARGE,
                                         "request line exceeds 65536 bytes; closing"));
        c->state = CONN_DRAINING;
    }
    if (c->state == CONN_OPEN && !c->parked && c->eof && !c->in_len)
        c->state = CONN_DRAINING; /* peer is done and every request has its answer */
}

/* Answer what is buffered and send it, as long as the output keeps
 * draining: requests read while the replies backed up wait in c->in, where
 * no EPOLLIN will announce them.  Returns -1 when the connection was closed
 * (and maybe freed). */
static int conn_process(mm_conn *c)
{
    for (;;) {
        dispatch(c);
        if (c->parked) {
            conn_update_events(c);
            return 0;
        }
        if (conn_flush(c) < 0)
            return -1;
        if (c->state != CONN_OPEN || paused(c) || next_line(c, 0) < 0)
            return 0;
    }
}

void mm_conn_release(mm_conn *c)
{
    if (--c->parked > 0)
        return;
    if (c->state == CONN_CLOSED) {
        conn_free(c);
        return;
    }
    c->last_active = mm_now_ms();
    /* Released inside its own dispatch (answered at once after all): the
     * dispatch loop goes on with the next line itself; recursing here
     * would handle the current line again. */
    if (!c->dispatching)
        (void)conn_process(c);
}

static void conn_read(mm_conn *c)
{
    while (c->in_len < MM_PROTO_MAX_LINE) {
        ssize_t n = recv(c->fd, c->in + c->in_len, MM_PROTO_MAX_LINE - c->in_len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            c->eof = 1;
            break;
        }
        c->in_len += (size_t)n;
        if (c->in_len > c->in_used)
            c->in_used = c->in_len;
        c->last_active = mm_now_ms();
        /* A short read drained the socket: skip the recv that would only
         * say EAGAIN (level-triggered epoll reports what comes later). */
        if ((size_t)n < MM_PROTO_MAX_LINE - (c->in_len - (size_t)n))
            break;
    }
}

static void conn_io(mm_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop, (void)fd;
    mm_conn *c = data;
    if (events & EPOLLOUT) {
        if (conn_flush(c) < 0)
            return;
        /* Below the low-water mark: go on with what was read meanwhile. */
        if (c->in_len && !c->parked && out_pending(c) < OUT_LOW && conn_process(c) < 0)
            return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (events & EPOLLERR && !(events & EPOLLIN)) {
            conn_close(c);
            return;
        }
        if (!paused(c))
            conn_read(c);
        if (conn_process(c) < 0)
            return;
        /* Full hangup: nobody can read our answers.  A connection that is
         * not read now (parked, backed up) would otherwise report EPOLLHUP
         * in a tight loop. */
        if (events & EPOLLHUP && paused(c))
            conn_close(c);
    }
}

/* ---- accepting ----------------------------------------------------------------- */

/* Tell a connection we will not serve why, then close it (best effort). */
static void refuse(int fd, mm_err e, const char *msg)
{
    cJSON *r = mm_proto_reply_err(NULL, e, msg);
    size_t len;
    char *line = r ? mm_proto_encode(r, &len) : NULL;
    if (line && send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) { /* best effort */
    }
    cJSON_free(line);
    cJSON_Delete(r);
    close(fd);
}

static void log_refusal(mm_server *s, const char *why)
{
    uint64_t now = mm_now_ms();
    s->refused++;
    if (s->refusal_logged && now - s->refusal_logged < REFUSAL_LOG_MS)
        return;
    mm_warn("refused %u connection(s): %s", s->refused, why);
    s->refusal_logged = now;
    s->refused = 0;
}

static void on_accept(mm_loop *loop, int lfd, uint32_t events, void *data);

static void listen_again(mm_loop *loop, void *data)
{
    mm_server *s = data;
    if (s->spare_fd < 0)
        s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (mm_loop_add_fd(loop, s->lfd, EPOLLIN, on_accept, s) == 0)
        s->listening = 1;
}

/* Out of descriptors: give up the spare to accept one waiting client and
 * refuse it, so the listen queue drains instead of reporting EMFILE in a
 * tight loop.  Without a spare, stop listening for a second. */
static void out_of_fds(mm_server *s, int err)
{
    log_refusal(s, strerror(err));
    if (s->spare_fd >= 0) {
        close(s->spare_fd);
        int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            refuse(fd, MM_ERR_BUSY, "mimir-agent has run out of file descriptors; try again");
        s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (s->spare_fd >= 0)
            return;
    }
    mm_loop_del_fd(s->loop, s->lfd);
    s->listening = 0;
    mm_loop_add_timer(s->loop, 1000, listen_again, s);
}

static void conn_new(mm_server *s, int fd, const struct ucred *cr)
{
    mm_conn *c = calloc(1, sizeof(*c));
    char *in = malloc(MM_PROTO_MAX_LINE);
    if (!c || !in || mm_loop_add_fd(s->loop, fd, EPOLLIN, conn_io, c) < 0) {
        free(c);
        free(in);
        close(fd);
        return;
    }
    *c = (mm_conn){.srv = s, .fd = fd, .cred = *cr, .in = in, .events = EPOLLIN,
                   .last_active = mm_now_ms(), .next = s->conns};
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    /* A client usually writes its request right after connecting; it may be
     * here already, which saves a trip through epoll_wait. */
    conn_io(s->loop, fd, EPOLLIN, c);
}

static void on_accept(mm_loop *loop, int lfd, uint32_t events, void *data)
{
    (void)loop, (void)events;
    mm_server *s = data;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EMFILE || errno == ENFILE)
                out_of_fds(s, errno);
            else if (errno != EAGAIN && errno != EWOULDBLOCK)
                mm_warn("accept: %s", strerror(errno));
            return;
        }
        struct ucred cr = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
        socklen_t len = sizeof(cr);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != geteuid()) {
            mm_warn("refused connection from uid %u (pid %ld): not our user",
                    (unsigned)cr.uid, (long)cr.pid);
            refuse(fd, MM_ERR_PERMISSION_DENIED, "mimir-agent serves only its own user");
        } else if (s->nconns >= s->opts.max_conns) {
            log_refusal(s, "too many connections");
            refuse(fd, MM_ERR_BUSY, "mimir-agent has too many connections open; try again");
        } else {
            conn_new(s, fd, &cr);
        }
    }
}

/* ---- housekeeping ---------------------------------------------------------------- */

/* Like gpg-agent: when our socket file is removed or replaced (the
 * runtime directory was cleaned, another agent took over), nobody can
 * reach us any more, so lingering would only keep secrets in memory. */
static int socket_gone(const mm_server *s)
{
    struct stat st;
    return s->watch_path && (lstat(s->watch_path, &st) < 0 || st.st_ino != s->watch_ino ||
                             st.st_dev != s->watch_dev);
}

static const char *overdue(const mm_conn *c, uint64_t now, const mm_server_opts *o)
{
    if (c->state == CONN_CLOSED || c->parked)
        return NULL;
    if (out_pending(c) && now - c->last_sent > (uint64_t)o->line_timeout_ms)
        return "non-reading";
    if (c->partial_since && now - c->partial_since > (uint64_t)o->line_timeout_ms)
        return "slow";
    if (!c->subscribed && now - c->last_active > (uint64_t)o->idle_timeout_ms)
        return "idle";
    return NULL;
}

static void sweep(mm_loop *loop, void *data)
{
    mm_server *s = data;
    uint64_t now = mm_now_ms();
    if (socket_gone(s)) {
        mm_warn("socket %s was removed or replaced; shutting down", s->watch_path);
        mm_loop_stop(loop);
        return;
    }
    for (mm_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        const char *why = overdue(c, now, &s->opts);
        if (why && !strcmp(why, "non-reading"))
            mm_warn("client pid %ld does not read its replies; disconnecting",
                    (long)c->cred.pid);
        else if (why)
            mm_debug("closing %s connection of pid %ld", why, (long)c->cred.pid);
        if (why)
            conn_close(c);
    }
    s->sweep_timer = mm_loop_add_timer(loop, SWEEP_MS, sweep, s);
}

mm_server *mm_server_new(mm_loop *loop, int lfd, const mm_server_opts *opts, mm_line_cb cb,
                         void *ctx)
{
    mm_server *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    *s = (mm_server){.loop = loop, .lfd = lfd, .opts = *opts, .cb = cb, .ctx = ctx,
                     .spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)};
    if (mm_loop_add_fd(loop, lfd, EPOLLIN, on_accept, s) < 0) {
        if (s->spare_fd >= 0)
            close(s->spare_fd);
        free(s);
        return NULL;
    }
    s->listening = 1;
    s->sweep_timer = mm_loop_add_timer(loop, SWEEP_MS, sweep, s);
    return s;
}

void mm_server_watch(mm_server *s, const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0 && (s->watch_path = strdup(path))) {
        s->watch_dev = st.st_dev;
        s->watch_ino = st.st_ino;
    }
}

int mm_server_owns_socket(const mm_server *s) { return s->watch_path && !socket_gone(s); }

void mm_server_free(mm_server *s)
{
    if (!s)
        return;
    free(s->watch_path);
    mm_loop_del_timer(s->loop, s->sweep_timer);
    mm_loop_del_timer(s->loop, s->resume_timer);
    if (s->listening)
        mm_loop_del_fd(s->loop, s->lfd);
    while (s->conns) {
        mm_conn *c = s->conns;
        if (c->parked)
            mm_warn("a request of pid %ld was still parked at exit", (long)c->cred.pid);
        c->parked = 0;
        conn_close(c);
    }
    if (s->spare_fd >= 0)
        close(s->spare_fd);
    free(s);
}

void mm_server_broadcast(mm_server *s, cJSON *msg)
{
    for (mm_conn *c = s->conns, *next; c; c = next) {
        next = c->next; /* mm_conn_send may free c */
        if (c->subscribed && c->state != CONN_CLOSED)
            mm_conn_send(c, cJSON_Duplicate(msg, 1));
    }
    cJSON_Delete(msg);
}
