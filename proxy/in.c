/* in.c - standard input as lines, bounded (see in.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "in.h"
#include "log.h"

#define READ_CHUNK (64 * 1024)

struct mm_in {
    mm_loop *loop;
    int fd, old_flags;
    int pollable;    /* a pipe or tty; a plain file is read from timers */
    size_t max;
    char *buf;
    size_t len, cap, scanned; /* buf[0..scanned) holds no newline */
    int discarding;  /* inside a line over max */
    char *head;      /* its first bytes */
    size_t head_len;
    int paused, eof, eof_told;
    uint64_t timer;
    mm_in_cbs cbs;
    void *arg;
};

static void on_fd(mm_loop *loop, int fd, uint32_t events, void *data);

static void set_reading(mm_in *in, int on)
{
    if (in->pollable)
        mm_loop_mod_fd(in->loop, in->fd, on ? EPOLLIN : 0);
}

mm_in *mm_in_new(mm_loop *loop, int fd, size_t max, const mm_in_cbs *cbs, void *arg)
{
    mm_in *in = calloc(1, sizeof(*in));
    if (!in)
        return NULL;
    *in = (mm_in){.loop = loop, .fd = fd, .max = max, .cbs = *cbs, .arg = arg};
    in->old_flags = fcntl(fd, F_GETFL);
    if (mm_loop_add_fd(loop, fd, EPOLLIN, on_fd, in) == 0) {
        in->pollable = 1;
        if (in->old_flags >= 0)
            fcntl(fd, F_SETFL, in->old_flags | O_NONBLOCK);
    } else {
        mm_in_resume(in); /* a plain file: read it from timers */
    }
    return in;
}

void mm_in_free(mm_in *in)
{
    if (!in)
        return;
    if (in->pollable)
        mm_loop_del_fd(in->loop, in->fd);
    if (in->old_flags >= 0)
        fcntl(in->fd, F_SETFL, in->old_flags);
    if (in->timer)
        mm_loop_del_timer(in->loop, in->timer);
    free(in->buf);
    free(in->head);
    free(in);
}

/* Hand buf[0..n) over as a line; buf[n] is its newline. */
static void deliver(mm_in *in, size_t n)
{
    size_t rest = in->len - n - 1;
    char *line;
    if (!rest || n >= READ_CHUNK) {
        /* The buffer becomes the line (no copy of a big one); what
         * follows it, if anything, moves to a fresh buffer. */
        char *next = NULL;
        if (rest && !(next = malloc(rest + READ_CHUNK))) {
            mm_error("out of memory reading standard input");
            in->len = in->scanned = 0;
            return;
        }
        if (rest)
            memcpy(next, in->buf + n + 1, rest);
        line = in->buf;
        in->buf = next;
        in->cap = rest ? rest + READ_CHUNK : 0;
    } else {
        if (!(line = malloc(n + 1))) {
            mm_error("out of memory reading standard input");
            n = 0;
            line = NULL;
        } else
            memcpy(line, in->buf, n);
        memmove(in->buf, in->buf + n + 1, rest);
    }
    in->len = rest;
    in->scanned = 0;
    if (!line)
        return;
    if (n && line[n - 1] == '\r')
        n--;
    line[n] = '\0';
    in->cbs.line(in->arg, line, n);
}

static void start_discarding(mm_in *in)
{
    in->discarding = 1;
    in->head_len = in->len < MM_IN_HEAD_KEPT ? in->len : MM_IN_HEAD_KEPT;
    in->head = malloc(in->head_len ? in->head_len : 1);
    if (in->head)
        memcpy(in->head, in->buf, in->head_len);
    else
        in->head_len = 0;
    in->len = in->scanned = 0;
}

/* The over-long line has ended (or input did): report it by its head. */
static void finish_discarding(mm_in *in)
{
    char *head = in->head;
    in->head = NULL;
    in->discarding = 0;
    in->cbs.too_long(in->arg, head ? head : "", head ? in->head_len : 0);
    free(head);
}

/* Drop buf[0..n] (a line and its newline). */
static void drop_line(mm_in *in, size_t n)
{
    memmove(in->buf, in->buf + n + 1, in->len - n - 1);
    in->len -= n + 1;
    in->scanned = 0;
}

static void tell_eof(mm_in *in)
{
    if (in->discarding)
        finish_discarding(in);
    if (in->len && !in->paused) { /* a last line without its newline */
        in->scanned = in->len;
        char *line = malloc(in->len + 1);
        if (line) {
            memcpy(line, in->buf, in->len);
            size_t n = in->len;
            in->len = in->scanned = 0;
            if (n && line[n - 1] == '\r')
                n--;
            line[n] = '\0';
            in->cbs.line(in->arg, line, n);
        }
        in->len = 0;
    }
    if (in->paused)
        return;
    in->eof_told = 1;
    in->cbs.eof(in->arg);
}

static void process(mm_in *in)
{
    while (!in->paused) {
        char *nl = in->len > in->scanned
                       ? memchr(in->buf + in->scanned, '\n', in->len - in->scanned)
                       : NULL;
        if (!nl) {
            in->scanned = in->len;
            break;
        }
        size_t n = (size_t)(nl - in->buf);
        if (in->discarding) {
            drop_line(in, n);
            finish_discarding(in);
        } else if (n > in->max) {
            in->cbs.too_long(in->arg, in->buf, n < MM_IN_HEAD_KEPT ? n : MM_IN_HEAD_KEPT);
            drop_line(in, n);
        } else {
            deliver(in, n);
        }
    }
    if (!in->discarding && in->len > in->max)
        start_discarding(in);
    else if (in->discarding)
        in->len = in->scanned = 0;
    if (in->eof && !in->paused && !in->eof_told)
        tell_eof(in);
}

static void read_some(mm_in *in)
{
    if (in->cap - in->len < READ_CHUNK) {
        size_t cap = in->cap * 2 > in->len + READ_CHUNK ? in->cap * 2 : in->len + READ_CHUNK;
        char *b = realloc(in->buf, cap);
        if (!b) {
            mm_error("out of memory reading standard input");
            return;
        }
        in->buf = b;
        in->cap = cap;
    }
    ssize_t r = read(in->fd, in->buf + in->len, READ_CHUNK);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        if (r < 0)
            mm_warn("reading standard input: %s", strerror(errno));
        in->eof = 1;
        if (in->pollable)
            mm_loop_del_fd(in->loop, in->fd);
        in->pollable = 0;
    } else {
        in->len += (size_t)r;
    }
    process(in);
}

static void on_fd(mm_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)fd;
    (void)events;
    read_some(data);
}

static void pump(mm_loop *loop, void *data)
{
    (void)loop;
    mm_in *in = data;
    in->timer = 0;
    if (in->paused)
        return;
    process(in); /* lines held back while paused */
    if (in->paused || in->eof_told)
        return;
    if (!in->pollable && !in->eof) {
        read_some(in);
        if (!in->paused && !in->eof_told && !in->timer)
            in->timer = mm_loop_add_timer(in->loop, 0, pump, in);
        return;
    }
    set_reading(in, !in->eof);
}

void mm_in_pause(mm_in *in)
{
    if (in->paused)
        return;
    in->paused = 1;
    set_reading(in, 0);
}

void mm_in_resume(mm_in *in)
{
    in->paused = 0;
    if (!in->timer)
        in->timer = mm_loop_add_timer(in->loop, 0, pump, in);
}
