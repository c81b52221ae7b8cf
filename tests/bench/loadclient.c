/*
 * loadclient - hammer mimir-agent with token requests and check every reply.
 *
 *   loadclient --socket PATH --conns N --requests M [--profile P]
 *              [--pipeline K] [--op token|headers|hello] [--threads T]
 *              [--timeout SEC]
 *
 * Opens N connections, spread over T threads each running its own epoll
 * loop.  Every connection sends M requests with distinct ids, keeping at
 * most K of them in flight (K = 1: strict request/reply), and checks that
 * each reply is ok, carries the id of the next outstanding request (the
 * agent answers in order) and, for token/headers, a non-empty credential.
 *
 * Prints "requests=R errors=E seconds=S rps=X" (R counts replies received)
 * and exits 1 when any reply was wrong or missing, 2 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "mimir/config.h"
#include "mimir/paths.h"
#include "mimir/proto.h"

#define MAX_REPORTED_ERRORS 10
#define REQ_MAX 256

typedef struct {
    const char *socket;
    long conns, requests, pipeline, threads, timeout_s;
    const char *profile;
    const char *op;
    mm_op opcode;
} options;

typedef struct {
    int fd;
    long base;       /* ids of this connection: base+1 .. base+requests */
    long sent, recvd;
    char *out;
    size_t out_len, out_off;
    char *in;
    size_t in_len;
    int done;
    uint32_t events;
} conn;

typedef struct {
    const options *o;
    conn *conns;
    long nconns;
    double deadline;
    long replies, errors, missing;
    pthread_t tid;
    int failed_setup;
} worker;

static atomic_long reported_errors;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(long conn_no, long id, const char *msg, const char *detail)
{
    if (atomic_fetch_add(&reported_errors, 1) >= MAX_REPORTED_ERRORS)
        return;
    fprintf(stderr, "loadclient: connection %ld, request id %ld: %s%s%s\n", conn_no, id, msg,
            detail ? ": " : "", detail ? detail : "");
}

static int connect_to(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    for (int attempt = 0;; attempt++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        int err = errno;
        close(fd);
        /* A full accept backlog says EAGAIN: give the agent a moment. */
        if ((err != EAGAIN && err != EINTR) || attempt > 2000) {
            errno = err;
            return -1;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static size_t format_request(const options *o, long id, char *buf, size_t len)
{
    int n;
    if (o->profile)
        n = snprintf(buf, len, "{\"v\":1,\"id\":%ld,\"op\":\"%s\",\"profile\":\"%s\"}\n", id,
                     o->op, o->profile);
    else
        n = snprintf(buf, len, "{\"v\":1,\"id\":%ld,\"op\":\"%s\"}\n", id, o->op);
    return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

/* 1 when the reply is a correct answer to request id. */
static int check_reply(const options *o, long conn_no, long id, const char *line, size_t len)
{
    mm_response r;
    int good = 0;
    if (mm_proto_parse_response(line, len, &r) != MM_OK) {
        report(conn_no, id, "unparsable reply", NULL);
    } else if (r.event) {
        report(conn_no, id, "unexpected event", r.event);
    } else if (r.id != id) {
        char got[32];
        snprintf(got, sizeof(got), "%ld", r.id);
        report(conn_no, id, "reply carries another id", got);
    } else if (!r.ok) {
        report(conn_no, id, "error reply", mm_err_code(r.err));
    } else if (o->opcode == MM_OP_TOKEN) {
        const char *tok = mm_json_str(r.root, "token");
        good = tok && tok[0];
        if (!good)
            report(conn_no, id, "ok reply without a token", NULL);
    } else if (o->opcode == MM_OP_HEADERS) {
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(r.root, "headers");
        good = cJSON_IsObject(h) && cJSON_IsString(h->child) && h->child->valuestring[0];
        if (!good)
            report(conn_no, id, "ok reply without headers", NULL);
    } else {
        good = 1;
    }
    mm_response_free(&r);
    return good;
}

static void conn_finish(worker *w, conn *c, int epfd)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->done = 1;
    if (c->recvd < w->o->requests)
        w->missing += w->o->requests - c->recvd;
}

/* Queue requests up to the pipeline depth and write what the socket takes.
 * Returns -1 when the connection broke. */
static int conn_write(worker *w, conn *c)
{
    const options *o = w->o;
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    while (c->sent < o->requests && c->sent - c->recvd < o->pipeline) {
        size_t n = format_request(o, c->base + c->sent + 1, c->out + c->out_len, REQ_MAX);
        if (!n)
            return -1;
        c->out_len += n;
        c->sent++;
    }
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0)
            return -1;
        c->out_off += (size_t)n;
    }
    return 0;
}

/* Returns -1 when the peer closed or failed. */
static int conn_read(worker *w, conn *c, long conn_no)
{
    for (;;) {
        if (c->in_len == MM_PROTO_MAX_LINE) {
            report(conn_no, c->base + c->recvd + 1, "reply longer than 64 KiB", NULL);
            w->errors++;
            return -1;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, MM_PROTO_MAX_LINE - c->in_len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n <= 0)
            return -1;
        c->in_len += (size_t)n;
        size_t off = 0;
        char *nl;
        while ((nl = memchr(c->in + off, '\n', c->in_len - off))) {
            size_t len = (size_t)(nl - (c->in + off));
            long id = c->base + c->recvd + 1;
            if (c->recvd >= c->sent) {
                report(conn_no, id, "reply to a request never sent", NULL);
                w->errors++;
            } else {
                if (!check_reply(w->o, conn_no, id, c->in + off, len))
                    w->errors++;
                c->recvd++;
                w->replies++;
            }
            off += len + 1;
        }
        if (off) {
            memmove(c->in, c->in + off, c->in_len - off);
            c->in_len -= off;
        }
    }
}

static void set_events(int epfd, conn *c, uint32_t ev)
{
    if (ev == c->events)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
        c->events = ev;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    const options *o = w->o;
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    long open_conns = 0;
    if (epfd < 0) {
        perror("loadclient: epoll_create1");
        w->failed_setup = 1;
        return NULL;
    }
    for (long i = 0; i < w->nconns; i++) {
        conn *c = &w->conns[i];
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
        c->events = ev.events;
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
            perror("loadclient: epoll_ctl");
            conn_finish(w, c, epfd);
            continue;
        }
        open_conns++;
    }
    struct epoll_event evs[256];
    while (open_conns > 0) {
        double left = w->deadline - now_s();
        if (left <= 0)
            break;
        int n = epoll_wait(epfd, evs, 256, left > 1 ? 1000 : (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR) {
            perror("loadclient: epoll_wait");
            break;
        }
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            long conn_no = c->base / (o->requests ? o->requests : 1);
            if (c->done)
                continue;
            int broken = 0;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                broken = conn_read(w, c, conn_no) < 0;
            if (!broken && c->recvd == o->requests) {
                conn_finish(w, c, epfd);
                open_conns--;
                continue;
            }
            if (!broken)
                broken = conn_write(w, c) < 0;
            if (broken) {
                if (c->recvd < o->requests)
                    report(conn_no, c->base + c->recvd + 1,
                           "connection closed before every reply came", NULL);
                conn_finish(w, c, epfd);
                open_conns--;
                continue;
            }
            set_events(epfd, c, EPOLLIN | (c->out_off < c->out_len ? EPOLLOUT : 0));
        }
    }
    for (long i = 0; i < w->nconns; i++)
        if (!w->conns[i].done) {
            conn *c = &w->conns[i];
            report(c->base / (o->requests ? o->requests : 1), c->base + c->recvd + 1,
                   "no reply before the deadline", NULL);
            conn_finish(w, c, epfd);
        }
    close(epfd);
    return NULL;
}

static const char usage[] =
    "usage: loadclient --socket PATH --conns N --requests M [--profile P]\n"
    "                  [--pipeline K] [--op token|headers|hello] [--threads T]\n"
    "                  [--timeout SEC]\n"
    "Sends M requests on each of N connections to mimir-agent (at most K in\n"
    "flight per connection, default 1) and checks every reply.  Prints\n"
    "requests=... errors=... seconds=... rps=...; exit 1 on any bad or missing\n"
    "reply.  --socket defaults to the agent's usual path, --threads to 2.\n";

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    static const struct option lo[] = {
        {"socket", 1, 0, 's'},  {"conns", 1, 0, 'c'},   {"requests", 1, 0, 'n'},
        {"profile", 1, 0, 'p'}, {"pipeline", 1, 0, 'k'}, {"op", 1, 0, 'o'},
        {"threads", 1, 0, 't'}, {"timeout", 1, 0, 'T'}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "s:c:n:p:k:o:t:T:h", lo, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 's': o->socket = optarg; break;
        case 'c': bad = parse_long(optarg, 1, 100000, &o->conns); break;
        case 'n': bad = parse_long(optarg, 1, 1000000000L, &o->requests); break;
        case 'k': bad = parse_long(optarg, 1, 1000, &o->pipeline); break;
        case 't': bad = parse_long(optarg, 1, 256, &o->threads); break;
        case 'T': bad = parse_long(optarg, 1, 86400, &o->timeout_s); break;
        case 'p':
            o->profile = optarg;
            bad = !mm_profile_name_valid(optarg);
            break;
        case 'o':
            o->op = optarg;
            o->opcode = mm_op_from_name(optarg);
            bad = o->opcode != MM_OP_TOKEN && o->opcode != MM_OP_HEADERS &&
                  o->opcode != MM_OP_HELLO;
            break;
        case 'h': fputs(usage, stdout); exit(0);
        default: bad = 1;
        }
        if (bad) {
            if (ch != '?' && ch != 'h')
                fprintf(stderr, "loadclient: bad value for --%s: %s\n",
                        ch == 's' ? "socket" : ch == 'c' ? "conns" : ch == 'n' ? "requests"
                        : ch == 'k' ? "pipeline" : ch == 't' ? "threads"
                        : ch == 'T' ? "timeout" : ch == 'p' ? "profile" : "op", optarg);
            fputs(usage, stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "loadclient: unexpected argument '%s'\n%s", argv[optind], usage);
        return -1;
    }
    if (o->pipeline * REQ_MAX > 1024 * 1024) {
        fprintf(stderr, "loadclient: --pipeline too deep\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o = {.conns = 1, .requests = 1, .pipeline = 1, .threads = 2, .timeout_s = 120,
                 .op = "token", .opcode = MM_OP_TOKEN};
    if (parse_args(argc, argv, &o) < 0)
        return 2;
    char path[108];
    if (!o.socket) {
        if (mm_socket_path(path, sizeof(path)) != MM_OK) {
            fprintf(stderr, "loadclient: cannot derive the socket path; use --socket\n");
            return 2;
        }
        o.socket = path;
    }
    if (o.threads > o.conns)
        o.threads = o.conns;

    conn *conns = calloc((size_t)o.conns, sizeof(*conns));
    worker *ws = calloc((size_t)o.threads, sizeof(*ws));
    if (!conns || !ws) {
        fprintf(stderr, "loadclient: out of memory\n");
        return 1;
    }
    size_t outcap = (size_t)o.pipeline * REQ_MAX;
    for (long i = 0; i < o.conns; i++) {
        conn *c = &conns[i];
        c->base = i * o.requests;
        c->out = malloc(outcap);
        c->in = malloc(MM_PROTO_MAX_LINE);
        if (!c->out || !c->in) {
            fprintf(stderr, "loadclient: out of memory\n");
            return 1;
        }
        if ((c->fd = connect_to(o.socket)) < 0) {
            fprintf(stderr, "loadclient: cannot connect to %s (connection %ld): %s\n",
                    o.socket, i, strerror(errno));
            return 1;
        }
        int fl = fcntl(c->fd, F_GETFL);
        if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
            perror("loadclient: fcntl");
            return 1;
        }
    }

    double t0 = now_s();
    long per = o.conns / o.threads, extra = o.conns % o.threads, next = 0;
    for (long t = 0; t < o.threads; t++) {
        worker *w = &ws[t];
        w->o = &o;
        w->conns = &conns[next];
        w->nconns = per + (t < extra);
        w->deadline = t0 + (double)o.timeout_s;
        next += w->nconns;
        if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
            fprintf(stderr, "loadclient: cannot start thread %ld\n", t);
            return 1;
        }
    }
    long replies = 0, errors = 0, missing = 0;
    int setup_failed = 0;
    for (long t = 0; t < o.threads; t++) {
        pthread_join(ws[t].tid, NULL);
        replies += ws[t].replies;
        errors += ws[t].errors;
        missing += ws[t].missing;
        setup_failed |= ws[t].failed_setup;
    }
    double secs = now_s() - t0;
    if (secs <= 0)
        secs = 1e-9;
    printf("requests=%ld errors=%ld seconds=%.3f rps=%.0f", replies, errors, secs,
           (double)replies / secs);
    if (missing)
        printf(" missing=%ld", missing);
    putchar('\n');
    for (long i = 0; i < o.conns; i++) {
        free(conns[i].out);
        free(conns[i].in);
    }
    free(conns);
    free(ws);
    return errors || missing || setup_failed ? 1 : 0;
}
