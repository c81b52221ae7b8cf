/* proxyrelay.c - the helper's side of a session in the proxy server (see proxyrelay.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "mimir/client.h"
#include "mimir/clock.h"
#include "mimir/daemon.h"
#include "mimir/err.h"
#include "mimir/proxywire.h"
#include "mimir/trust.h"
#include "proxyrelay.h"

#define SIGNAL_GRACE_MS 5000 /* a session ends within 2 s of a signal (proxy/main.c) */
#define AGAIN (-2)           /* the server let go before the session started: once more */

typedef struct {
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int fd;
    long long deadline;   /* starting the server, and its taking the session */
    long long grace_end;  /* after a signal */
    char in[512];
    size_t len;
    char *why;
    size_t whylen;
} relay;

static volatile sig_atomic_t relay_fd = -1, relay_signo;

/* ---- the server ------------------------------------------------------------------------------ */

/* mimir-proxy --serve, quiet (it outlives the MCP client, whose pipes are
 * our standard input and output): it exits once its daemon listens (0),
 * or when another one does already (3). */
static int start_server(relay *r, const char *bin, int search)
{
    char *const argv[] = {(char *)bin, "--serve", "--socket", r->path, NULL};
    int code = mm_daemon_start(argv, MM_DAEMON_QUIET | (search ? MM_DAEMON_SEARCH : 0),
                               mm_clock_left_ms(r->deadline));
    if (code == 0 || code == 3)
        return 0;
    if (code < 0 && errno == ETIMEDOUT)
        snprintf(r->why, r->whylen, "the proxy server did not start in time");
    else if (code < 0)
        snprintf(r->why, r->whylen, "cannot start the proxy server: %s", strerror(errno));
    else if (code == 127)
        snprintf(r->why, r->whylen, "cannot run %s --serve", bin);
    else
        snprintf(r->why, r->whylen, "the proxy server did not start (run '%s --serve "
                 "--foreground' to see why)", bin);
    return -1;
}

/* Connected (blocking from then on: the request goes in one sendmsg). */
static int connect_server(relay *r)
{
    r->fd = mm_unix_connect(r->path, r->deadline);
    if (r->fd < 0)
        return -1;
    if (fcntl(r->fd, F_SETFL, 0) < 0) {
        int saved = errno;
        close(r->fd);
        r->fd = -1;
        errno = saved;
        return -1;
    }
    return 0;
}

/* Connected to a server we may trust (0), or not: MM_EXIT_UNREACHABLE
 * (said on stderr: a stranger in our directory is no reason to go on), or
 * MM_PROXYRELAY_FALLBACK. */
static int open_server(relay *r, const char *bin, int search)
{
    char why[600];
    mm_err e = mm_trust_socket_dir(r->path, why, sizeof(why));
    if (e == MM_ERR_AGENT_UNREACHABLE)
        return fprintf(stderr, "mimir-helper: %s\n", why), MM_EXIT_UNREACHABLE;
    if (e != MM_OK || connect_server(r) < 0) {
        if (e == MM_OK && errno != ENOENT && errno != ECONNREFUSED)
            return snprintf(r->why, r->whylen, "cannot reach the proxy server on %s: %s",
                            r->path, strerror(errno)), MM_PROXYRELAY_FALLBACK;
        if (start_server(r, bin, search) < 0)
            return MM_PROXYRELAY_FALLBACK;
        if ((e = mm_trust_socket_dir(r->path, why, sizeof(why))) != MM_OK)
            return fprintf(stderr, "mimir-helper: %s\n", why), MM_EXIT_UNREACHABLE;
        if (connect_server(r) < 0)
            return snprintf(r->why, r->whylen, "cannot reach the proxy server on %s: %s",
                            r->path, strerror(errno)), MM_PROXYRELAY_FALLBACK;
    }
    if (mm_trust_peer(r->fd, r->path, why, sizeof(why)) != MM_OK) {
        close(r->fd);
        r->fd = -1;
        return fprintf(stderr, "mimir-helper: %s (the proxy server)\n", why), MM_EXIT_UNREACHABLE;
    }
    return 0;
}

/* ---- the request ----------------------------------------------------------------------------- */

static char *request_line(char **args, int nargs, size_t *len)
{
    extern char **environ;
    char cwd[4096];
    cJSON *r = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(r, "args"), *env = cJSON_AddArrayToObject(r, "env");
    cJSON_AddNumberToObject(r, "v", MM_PROXYWIRE_VERSION);
    for (int i = 0; i < nargs; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(args[i]));
    for (char **e = environ; *e; e++)
        if (mm_proxywire_env_passed(*e))
            cJSON_AddItemToArray(env, cJSON_CreateString(*e));
    if (getcwd(cwd, sizeof(cwd)))
        cJSON_AddStringToObject(r, "cwd", cwd);
    char *line = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    *len = line ? strlen(line) : 0;
    return line;
}

/* The line and, on its first byte, our standard input, output and error
 * (/dev/null for one that is closed). */
static int send_request(relay *r, const char *line, size_t len)
{
    int fds[MM_PROXYWIRE_NFDS], opened[MM_PROXYWIRE_NFDS] = {0};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(fds))];
    } ctl = {0};
    for (int i = 0; i < MM_PROXYWIRE_NFDS; i++) {
        fds[i] = i;
        if (fcntl(i, F_GETFD) < 0 && (fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0)
            opened[i] = 1;
    }
    struct iovec iov[2] = {{(void *)line, len}, {"\n", 1}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2, .msg_control = ctl.buf,
                        .msg_controllen = sizeof(ctl.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(fds));
    memcpy(CMSG_DATA(c), fds, sizeof(fds));
    ssize_t n;
    while ((n = sendmsg(r->fd, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    for (int i = 0; i < MM_PROXYWIRE_NFDS; i++)
        if (opened[i])
            close(fds[i]);
    /* The request fits the socket's buffer, which is empty: all or nothing. */
    return n == (ssize_t)len + 1 ? 0 : -1;
}

/* ---- the session ----------------------------------------------------------------------------- */

static void on_signal(int signo)
{
    int saved = errno;
    unsigned char b = (unsigned char)signo;
    if (relay_fd >= 0 && send(relay_fd, &b, 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        /* the session is gone already: its exit status tells */
    }
    if (!relay_signo)
        relay_signo = signo;
    errno = saved;
}

/* The next line from the server (parsed), 0 at its end, -1 when the wait
 * passed deadline (-1: none). */
static int next_line(relay *r, long long deadline, cJSON **msg)
{
    for (;;) {
        char *nl = memchr(r->in, '\n', r->len);
        if (nl) {
            *msg = cJSON_ParseWithLength(r->in, (size_t)(nl - r->in));
            r->len -= (size_t)(nl + 1 - r->in);
            memmove(r->in, nl + 1, r->len);
            return 1;
        }
        if (relay_signo && !r->grace_end)
            r->grace_end = mm_clock_ms() + SIGNAL_GRACE_MS;
        long long until = r->grace_end && (deadline < 0 || r->grace_end < deadline) ? r->grace_end
                                                                                 : deadline;
        struct pollfd p = {r->fd, POLLIN, 0};
        int pr = poll(&p, 1, until < 0 ? -1 : mm_clock_left_ms(until));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            return -1;
        ssize_t n = pr < 0 || r->len == sizeof(r->in) ? -1
                                                      : recv(r->fd, r->in + r->len, sizeof(r->in) - r->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        r->len += (size_t)n;
    }
}

static int number(const cJSON *msg, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, key);
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

/* Send the request and wait until a session process holds our descriptors:
 * 0, AGAIN or MM_PROXYRELAY_FALLBACK (nothing was read of our input), or an
 * exit status. */
static int hand_over(relay *r, char **args, int nargs)
{
    size_t len;
    cJSON *msg = NULL;
    char *line = request_line(args, nargs, &len);
    if (!line || len >= MM_PROXYWIRE_MAX_LINE) {
        cJSON_free(line);
        return snprintf(r->why, r->whylen, "the request for the proxy server is too large (the "
                        "environment?)"), MM_PROXYRELAY_FALLBACK;
    }
    int sent = send_request(r, line, len);
    explicit_bzero(line, len);
    cJSON_free(line);
    if (sent < 0)
        return snprintf(r->why, r->whylen, "the proxy server took no request: %s",
                        strerror(errno)), AGAIN;
    int got = next_line(r, r->deadline, &msg), rc = AGAIN;
    if (got < 0) {
        fprintf(stderr, "mimir-helper: the proxy server on %s did not start the session in "
                "time\n", r->path);
        rc = MM_EXIT_TIMEOUT;
    } else if (!got) {
        snprintf(r->why, r->whylen, "the proxy server closed the connection");
    } else if (number(msg, "started") > 0) {
        rc = 0;
    } else {
        const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "error"));
        snprintf(r->why, r->whylen, "the proxy server refused the session: %s", e ? e : "?");
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "retry")))
            rc = MM_PROXYRELAY_FALLBACK;
    }
    cJSON_Delete(msg);
    return rc;
}

/* Until the session's exit status.  Signals held back so far go to the
 * session once the handler is in place. */
static int relay_session(relay *r, const sigset_t *mask)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    relay_fd = r->fd;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigprocmask(SIG_SETMASK, mask, NULL);
    for (;;) {
        cJSON *msg = NULL;
        int got = next_line(r, -1, &msg), status = number(msg, "exit");
        cJSON_Delete(msg);
        if (got > 0 && status >= 0)
            return status;
        if (got < 0) {
            fprintf(stderr, "mimir-helper: the proxy session did not end within %d s of "
                    "signal %d\n", SIGNAL_GRACE_MS / 1000, (int)relay_signo);
            return MM_EXIT_FAILURE;
        }
        if (!got) {
            fprintf(stderr, "mimir-helper: the proxy session ended without an exit status (it "
                    "crashed?)\n");
            return MM_EXIT_FAILURE;
        }
    }
}

int mm_proxyrelay_run(const char *bin, int search, char **args, int nargs, int timeout_ms,
                      char *why, size_t whylen)
{
    relay r = {.fd = -1, .deadline = mm_clock_ms() + timeout_ms, .why = why, .whylen = whylen};
    if (mm_proxywire_path(r.path, sizeof(r.path)) != MM_OK)
        return snprintf(why, whylen, "the socket path is too long"), MM_PROXYRELAY_FALLBACK;
    /* Signals wait until the session can take them (or we run mimir-proxy,
     * which watches them from the start). */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, &old);
    int rc = AGAIN;
    for (int attempt = 0; attempt < 2 && rc == AGAIN; attempt++) {
        if (r.fd >= 0)
            close(r.fd);
        r.fd = -1;
        r.len = 0;
        if ((rc = open_server(&r, bin, search)) == 0)
            rc = hand_over(&r, args, nargs);
    }
    if (rc == AGAIN)
        rc = MM_PROXYRELAY_FALLBACK;
    if (rc == 0)
        rc = relay_session(&r, &old);
    if (r.fd >= 0)
        close(r.fd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}
