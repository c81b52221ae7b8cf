/*
 * server.c - Unix socket server (see server.h).
 *
 * Security reasoning, in the order a connection meets it:
 *  - The socket lives in a 0700 directory we own (checked, not assumed), and
 *    is itself 0600.  That alone keeps other users out on a normal system.
 *  - SO_PEERCRED is checked anyway on every accept: a directory opened up by
 *    mistake, or a socket handed over by systemd, must not expose tokens.
 *  - A line is capped at MM_PROTO_MAX_LINE; the input buffer never grows
 *    beyond that, so a client cannot make us allocate without bound.  Output
 *    is capped too: a client that never reads is disconnected.
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
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "mimir/paths.h"
#include "mimir/proto.h"
#include "secret.h"
#include "server.h"

#define OUT_MAX (4u * 1024 * 1024)
#define SWEEP_MS 1000

struct mm_conn {
    mm_server *srv;
    int fd;
    struct ucred cred;
    char *in;       /* MM_PROTO_MAX_LINE bytes */
    size_t in_len;  /* bytes buffered */
    size_t in_used; /* high-water mark: what conn_free must wipe */
    mm_buf out;     /* replies; out.buf[out_off..out.len) not yet sent */
    size_t out_off;
    uint32_t events;
    uint64_t last_active, partial_since;
    int held;       /* a request is being answered later */
    int eof;        /* peer finished sending */
    int closing;    /* close once output is flushed */
    int dead;       /* fd closed; freed when no longer held */
    int subscribed;
    int dispatching; /* inside the line callback: queue, do not flush */
    mm_conn *prev, *next;
};

struct mm_server {
    mm_loop *loop;
    int lfd;
    mm_server_opts opts;
    mm_line_cb cb;
    void *ctx;
    mm_conn *conns;
    uint64_t sweep_timer;
    char *watch_path; /* our socket file; gone or replaced: we stop */
    dev_t watch_dev;
    ino_t watch_ino;
};

static void conn_io(mm_loop *loop, int fd, uint32_t events, void *data);

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

static mm_err take_lock(const char *path, int *lock_fd, char *why, size_t whylen)
{
    char lpath[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
    snprintf(lpath, sizeof(lpath), "%s.lock", path);
    int fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(why, whylen, "cannot open %s: %s", lpath, strerror(errno));
        return MM_ERR_IO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(why, whylen, "another mimir-agent (pid %s) is already running on %s",
                 pid[0] ? pid : "unknown", path);
        close(fd);
        return MM_ERR_CONFIG;
    }
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) < 0)
        mm_warn("cannot record pid in %s", lpath);
    *lock_fd = fd;
    return MM_OK;
}

mm_err mm_server_listen(const char *path, int *out_fd, int *lock_fd, char *why, size_t whylen)
{
    *lock_fd = -1;
    if ((*out_fd = activated_fd()) >= 0)
        return MM_OK;
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    mm_err e = mm_dirname(path, dir, sizeof(dir));
    if (e == MM_OK)
        e = mm_private_dir(dir, 1, why, whylen);
    if (e == MM_OK)
        e = take_lock(path, lock_fd, why, whylen);
    if (e != MM_OK)
        return e;
    /* We hold the lock, so whatever socket is at path is stale. */
    unlink(path);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    mode_t old = umask(0177); /* the socket file is born 0600 */
    int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0 || listen(fd, 512) < 0) {
        snprintf(why, whylen, "cannot listen on %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        close(*lock_fd);
        *lock_fd = -1;
        return MM_ERR_IO;
    }
    *out_fd = fd;
    return MM_OK;
}

/* ---- connections ----------------------------------------------------- */

static void conn_free(mm_conn *c)
{
    mm_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    /* Buffers may hold tokens or an API key on its way in. */
    sodium_memzero(c->in, c->in_used); /* not all 64 KiB: untouched pages stay so */
    free(c->in);
    mm_buf_free(&c->out);
    free(c);
}

static void conn_close(mm_conn *c)
{
    if (!c->dead) {
        mm_loop_del_fd(c->srv->loop, c->fd);
        close(c->fd);
        c->dead = 1;
    }
    if (!c->held)
        conn_free(c);
}

static void conn_update_events(mm_conn *c)
{
    uint32_t ev = 0;
    if (!c->eof && !c->closing && c->in_len < MM_PROTO_MAX_LINE)
        ev |= EPOLLIN;
    if (c->out.len > c->out_off)
        ev |= EPOLLOUT;
    if (ev != c->events && mm_loop_mod_fd(c->srv->loop, c->fd, ev) == 0)
        c->events = ev;
}

/* Returns -1 when the connection was closed. */
static int conn_flush(mm_conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.buf + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            conn_close(c);
            return -1;
        }
        c->out_off += (size_t)n;
        c->last_active = mm_now_ms();
    }
    if (c->out_off == c->out.len) {
        sodium_memzero(c->out.buf, c->out.len);
        c->out_off = c->out.len = 0;
        if (c->closing) {
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
    return mm_buf_reserve(b, more, OUT_MAX);
}

/* Print msg straight into the output buffer, newline-terminated.  No
 * temporary string: this is the token path's hot spot (three mallocs and
 * copies fewer per reply than printing first), and a token printed here
 * lives only in the buffer that is wiped once sent. */
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
            return 0;
        }
        room = (c->out.cap - c->out.len) * 2;
    }
}

static void conn_queue(mm_conn *c, cJSON *msg)
{
    if (!msg) { /* out of memory building it: say what we have, then close */
        c->closing = 1;
        return;
    }
    if (out_print(c, msg) < 0) {
        mm_warn("client pid %ld does not read its replies; disconnecting", (long)c->cred.pid);
        c->closing = 1;
        c->out_off = c->out.len = 0;
    }
    cJSON_Delete(msg);
}

void mm_conn_send(mm_conn *c, cJSON *msg)
{
    if (c->dead) {
        cJSON_Delete(msg);
        return;
    }
    conn_queue(c, msg);
    /* Inside dispatch, conn_process flushes once for the whole batch;
     * flushing here could free c under its feet. */
    if (!c->held && !c->dispatching)
        conn_flush(c);
}

void mm_conn_hold(mm_conn *c) { c->held++; }
void mm_conn_subscribe(mm_conn *c) { c->subscribed = 1; }
uid_t mm_conn_uid(const mm_conn *c) { return c->cred.uid; }
pid_t mm_conn_pid(const mm_conn *c) { return c->cred.pid; }

/* Dispatch buffered complete lines until one holds the connection.
 * Returns -1 when the connection was closed (and maybe freed). */
static int conn_process(mm_conn *c)
{
    size_t off = 0;
    while (!c->held && !c->dead && !c->closing) {
        char *nl = memchr(c->in + off, '\n', c->in_len - off);
        if (!nl)
            break;
        size_t len = (size_t)(nl - (c->in + off));
        c->dispatching = 1;
        c->srv->cb(c->srv->ctx, c, c->in + off, len);
        c->dispatching = 0;
        off += len + 1;
    }
    if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
        sodium_memzero(c->in + c->in_len, off);
    }
    c->partial_since = c->in_len ? (c->partial_since ? c->partial_since : mm_now_ms()) : 0;
    if (!c->held && c->in_len >= MM_PROTO_MAX_LINE) {
        conn_queue(c, mm_proto_reply_err(NULL, MM_ERR_TOO_LARGE,
                                         "request line exceeds 65536 bytes; closing"));
        c->closing = 1;
    }
    if (!c->held && c->eof && !c->closing)
        c->closing = 1; /* peer is done and every request has its answer */
    if (!c->held)
        return conn_flush(c);
    conn_update_events(c);
    return 0;
}

void mm_conn_release(mm_conn *c)
{
    if (--c->held > 0)
        return;
    if (c->dead) {
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
    if (events & EPOLLOUT && conn_flush(c) < 0)
        return;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (events & EPOLLERR && !(events & EPOLLIN)) {
            conn_close(c);
            return;
        }
        conn_read(c);
        if (conn_process(c) < 0)
            return;
        /* Full hangup: nobody can read our answers.  Without this a held
         * connection would report EPOLLHUP in a tight loop. */
        if (events & EPOLLHUP && c->held)
            conn_close(c);
    }
}

static void refuse(int fd, const struct ucred *cr)
{
    mm_warn("refused connection from uid %u (pid %ld): not our user", (unsigned)cr->uid,
            (long)cr->pid);
    cJSON *r = mm_proto_reply_err(NULL, MM_ERR_PERMISSION_DENIED,
                                  "mimir-agent serves only its own user");
    size_t len;
    char *line = mm_proto_encode(r, &len);
    if (line && send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) { /* best effort */
    }
    cJSON_free(line);
    cJSON_Delete(r);
    close(fd);
}

static void on_accept(mm_loop *loop, int lfd, uint32_t events, void *data)
{
    (void)events;
    mm_server *s = data;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                mm_warn("accept: %s", strerror(errno));
            if (errno != EINTR)
                return;
            continue;
        }
        struct ucred cr = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
        socklen_t len = sizeof(cr);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != geteuid()) {
            refuse(fd, &cr);
            continue;
        }
        mm_conn *c = calloc(1, sizeof(*c));
        char *in = malloc(MM_PROTO_MAX_LINE);
        if (!c || !in || mm_loop_add_fd(loop, fd, EPOLLIN, conn_io, c) < 0) {
            free(c);
            free(in);
            close(fd);
            continue;
        }
        *c = (mm_conn){.srv = s, .fd = fd, .cred = cr, .in = in, .events = EPOLLIN,
                       .last_active = mm_now_ms(), .next = s->conns};
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        /* A client usually writes its request right after connecting; it
         * may be here already, which saves a trip through epoll_wait. */
        conn_io(loop, fd, EPOLLIN, c);
    }
}

/* Like gpg-agent: when our socket file is removed or replaced (the
 * runtime directory was cleaned, another agent took over), nobody can
 * reach us any more, so lingering would only keep secrets in memory. */
static int socket_gone(const mm_server *s)
{
    struct stat st;
    return s->watch_path && (lstat(s->watch_path, &st) < 0 || st.st_ino != s->watch_ino ||
                             st.st_dev != s->watch_dev);
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
        if (c->dead || c->held)
            continue;
        int idle = !c->subscribed && now - c->last_active > (uint64_t)s->opts.idle_timeout_ms;
        int slow = c->partial_since && now - c->partial_since > (uint64_t)s->opts.line_timeout_ms;
        if (idle || slow) {
            mm_debug("closing %s connection of pid %ld", slow ? "slow" : "idle",
                     (long)c->cred.pid);
            conn_close(c);
        }
    }
    s->sweep_timer = mm_loop_add_timer(loop, SWEEP_MS, sweep, s);
}

mm_server *mm_server_new(mm_loop *loop, int lfd, const mm_server_opts *opts, mm_line_cb cb,
                         void *ctx)
{
    mm_server *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    *s = (mm_server){.loop = loop, .lfd = lfd, .opts = *opts, .cb = cb, .ctx = ctx};
    if (mm_loop_add_fd(loop, lfd, EPOLLIN, on_accept, s) < 0) {
        free(s);
        return NULL;
    }
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
    mm_loop_del_fd(s->loop, s->lfd);
    while (s->conns) {
        s->conns->held = 0;
        conn_close(s->conns);
    }
    free(s);
}

void mm_server_broadcast(mm_server *s, cJSON *msg)
{
    for (mm_conn *c = s->conns, *next; c; c = next) {
        next = c->next; /* mm_conn_send may free c */
        if (c->subscribed && !c->dead)
            mm_conn_send(c, cJSON_Duplicate(msg, 1));
    }
    cJSON_Delete(msg);
}
