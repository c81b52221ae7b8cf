/* handoff.c - a session process of the proxy server, from the fork to its exit (see handoff.h). */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "handoff.h"
#include "log.h"
#include "main.h"
#include "mimir/clock.h"
#include "mimir/env.h"
#include "mimir/proto.h"
#include "mimir/proxywire.h"

#define REQUEST_TIMEOUT_MS 5000 /* the helper sends its request at once */
#define MAX_ARGS 16

typedef struct {
    char line[MM_PROXYWIRE_MAX_LINE + 1];
    size_t len;
    int fds[MM_PROXYWIRE_NFDS];
    int nfds;
    char why[256];
} request;

/* Only the connection stays: the server's listener, lock and loop, and
 * whatever else it held, are not a session's business. */
static void keep_only(int conn)
{
    if (conn > 3 && close_range(3, (unsigned)conn - 1, 0) < 0)
        for (int fd = 3; fd < conn; fd++)
            close(fd);
    if (close_range((unsigned)conn + 1, ~0U, 0) < 0) {
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = conn + 1; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
            close((int)fd);
    }
}

/* One line to mimir-helper (our own texts: nothing to escape). */
static void say(int conn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int conn, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0 && send(conn, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1,
                      MSG_NOSIGNAL) < 0)
        mm_debug("mimir-helper is gone: %s", strerror(errno));
}

static void drop_fds(request *rq)
{
    for (int i = 0; i < rq->nfds; i++)
        close(rq->fds[i]);
    rq->nfds = 0;
}

/* Descriptors come once, three of them, on their own. */
static int take_fds(request *rq, struct msghdr *mh)
{
    int ok = !(mh->msg_flags & MSG_CTRUNC);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            ok = 0;
            continue;
        }
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int fds[MM_PROXYWIRE_NFDS + 1];
        memcpy(fds, CMSG_DATA(c), (n < MM_PROXYWIRE_NFDS + 1 ? n : MM_PROXYWIRE_NFDS + 1) * sizeof(int));
        if (rq->nfds || n != MM_PROXYWIRE_NFDS) {
            for (size_t i = 0; i < n && i <= MM_PROXYWIRE_NFDS; i++)
                close(fds[i]);
            ok = 0;
            continue;
        }
        memcpy(rq->fds, fds, sizeof(rq->fds));
        rq->nfds = MM_PROXYWIRE_NFDS;
    }
    return ok;
}

/* The request line and its descriptors, within REQUEST_TIMEOUT_MS. */
static int read_request(int conn, request *rq)
{
    long long deadline = mm_clock_ms() + REQUEST_TIMEOUT_MS;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * (MM_PROXYWIRE_NFDS + 1))];
    } ctl;
    while (!memchr(rq->line, '\n', rq->len)) {
        struct pollfd pfd = {conn, POLLIN, 0};
        int left = mm_clock_left_ms(deadline);
        if (rq->len == MM_PROXYWIRE_MAX_LINE)
            return snprintf(rq->why, sizeof(rq->why), "request too long"), -1;
        if (!left || poll(&pfd, 1, left) == 0)
            return snprintf(rq->why, sizeof(rq->why), "no request within %d s",
                            REQUEST_TIMEOUT_MS / 1000), -1;
        struct iovec iov = {rq->line + rq->len, MM_PROXYWIRE_MAX_LINE - rq->len};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                            .msg_controllen = sizeof(ctl.buf)};
        ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return snprintf(rq->why, sizeof(rq->why), "the request ended early"), -1;
        if (!take_fds(rq, &mh))
            return snprintf(rq->why, sizeof(rq->why), "the request must carry exactly %d "
                            "descriptors, once", MM_PROXYWIRE_NFDS), -1;
        rq->len += (size_t)n;
    }
    rq->len = (size_t)((char *)memchr(rq->line, '\n', rq->len) - rq->line);
    rq->line[rq->len] = '\0';
    return rq->nfds ? 0 : (snprintf(rq->why, sizeof(rq->why), "the request carried no "
                                    "descriptors"), -1);
}

/* Strings only, at most max of them. */
static int strings(const cJSON *arr, int max)
{
    const cJSON *it;
    int n = 0;
    if (!cJSON_IsArray(arr))
        return -1;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || ++n > max)
            return -1;
    }
    return n;
}

/* The helper's environment, as far as the rule lets it through. */
static void take_environment(const cJSON *env)
{
    const cJSON *it;
    clearenv();
    cJSON_ArrayForEach(it, env)
    {
        if (mm_proxywire_env_passed(it->valuestring))
            mm_env_put(it->valuestring);
    }
    tzset(); /* the server's TZ was read already, and only once */
}

/* In place of standard input, output and error. */
static void take_stdio(request *rq)
{
    for (int i = 0; i < MM_PROXYWIRE_NFDS; i++) {
        dup2(rq->fds[i], i);
        close(rq->fds[i]);
    }
    rq->nfds = 0;
}

/* The session, and its exit status to the helper; or why there is none. */
static int serve(int conn, request *rq, pid_t server)
{
    cJSON *j = mm_json_parse(rq->line, rq->len);
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(j, "args");
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(j, "env");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "v");
    const char *cwd = mm_json_str(j, "cwd");
    int nargs = strings(args, MAX_ARGS);
    if (!cJSON_IsNumber(v) || v->valuedouble != MM_PROXYWIRE_VERSION) {
        say(conn, "{\"error\":\"this proxy server speaks version %d of the protocol\","
                  "\"retry\":true}\n", MM_PROXYWIRE_VERSION);
        if (getppid() == server) /* stop taking sessions: the helper starts a server of its own */
            kill(server, SIGUSR1);
        cJSON_Delete(j);
        return 1;
    }
    if (nargs < 0 || strings(env, 4096) < 0) {
        say(conn, "{\"error\":\"malformed request\",\"retry\":false}\n");
        cJSON_Delete(j);
        return 1;
    }
    say(conn, "{\"started\":%ld}\n", (long)getpid());
    take_stdio(rq);
    take_environment(env);
    if (cwd && chdir(cwd) < 0) { /* gone: the session does not depend on it */
    }
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    const cJSON *it;
    argv[argc++] = "mimir-proxy";
    cJSON_ArrayForEach(it, args) argv[argc++] = it->valuestring;
    argv[argc] = NULL;
    int rc = mm_main_session(argc, argv, conn);
    say(conn, "{\"exit\":%d}\n", rc);
    cJSON_Delete(j);
    return rc;
}

int mm_handoff_peer_ok(int fd)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || len != sizeof(cr)) {
        mm_warn("refused a connection: cannot read its credentials: %s", strerror(errno));
        return 0;
    }
    if (cr.uid != geteuid()) {
        mm_warn("refused a connection from uid %u (pid %ld): not ours", (unsigned)cr.uid,
                (long)cr.pid);
        return 0;
    }
    return 1;
}

_Noreturn void mm_handoff_run(int conn, const sigset_t *mask, pid_t server)
{
    static request rq; /* 64 KiB: not on the stack of the server's loop */
    keep_only(conn);
    sigprocmask(SIG_SETMASK, mask, NULL);
    int rc = 1;
    if (read_request(conn, &rq) < 0) {
        mm_warn("a session was refused: %s", rq.why);
        say(conn, "{\"error\":\"%s\",\"retry\":false}\n", rq.why);
    } else {
        rc = serve(conn, &rq, server);
    }
    drop_fds(&rq);
    explicit_bzero(rq.line, rq.len); /* the environment */
    exit(rc);
}

/* ---- the spare ------------------------------------------------------------------------------- */

/* Waiting, a spare holds nothing but the listening socket, so SIGTERM may
 * end it at any moment: it is left to its default action until a
 * connection is in, and blocked from then on as in every session (before
 * that point nothing of the client's was read: its helper tries again).
 * Its parent's death ends it (it would wait forever on a socket nobody
 * else listens on); a session, once started, outlives the server. */
_Noreturn void mm_handoff_spare(int lfd, const sigset_t *mask, pid_t server)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != server)
        _exit(0);
    prctl(PR_SET_NAME, MM_HANDOFF_SPARE_NAME);
    keep_only(lfd);
    sigset_t waiting = *mask;
    sigdelset(&waiting, SIGTERM);
    sigprocmask(SIG_SETMASK, &waiting, NULL);
    for (;;) {
        struct pollfd p = {lfd, POLLIN, 0};
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            _exit(1);
        int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
                errno == ECONNABORTED)
                continue;
            mm_warn("a spare session process cannot accept: %s", strerror(errno));
            _exit(1); /* the server takes connections itself then */
        }
        if (!mm_handoff_peer_ok(conn)) { /* not a client: still the spare */
            close(conn);
            continue;
        }
        kill(server, MM_HANDOFF_TAKEN_SIGNAL); /* time for the next spare */
        sigprocmask(SIG_SETMASK, mask, NULL);
        sigset_t pending;
        if (sigpending(&pending) == 0 && sigismember(&pending, SIGTERM))
            _exit(0); /* meant for the spare (the server retired it): nothing was read */
        prctl(PR_SET_PDEATHSIG, 0);
        prctl(PR_SET_NAME, "mimir-proxy");
        mm_handoff_run(conn, mask, server);
    }
}
