/* client.c - a blocking client of the agent socket: connect (with autostart), request, reply (see mimir/client.h). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mimir/client.h"
#include "mimir/clock.h"
#include "mimir/daemon.h"
#include "mimir/paths.h"
#include "mimir/trust.h"

int mm_client_remaining_ms(const mm_client *cl)
{
    return mm_clock_left_ms(cl->deadline_ms);
}

void mm_client_set_timeout(mm_client *cl, int timeout_ms)
{
    cl->deadline_ms = mm_clock_ms() + timeout_ms;
}

int mm_unix_connect(const char *path, long long deadline_ms)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return errno = ENAMETOOLONG, -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    for (;;) {
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        if (errno == EINTR ||
            (errno == EAGAIN && mm_clock_left_ms(deadline_ms) && poll(NULL, 0, 5) == 0))
            continue;
        int saved = errno == EAGAIN ? ETIMEDOUT : errno;
        close(fd);
        errno = saved;
        return -1;
    }
}

/* Start a daemonized agent; it exits 0 once its socket listens. */
static int start_agent(mm_client *cl)
{
    char bin[PATH_MAX];
    mm_sibling_binary("mimir-agent", "MIMIR_AGENT_BIN", bin, sizeof(bin));
    char *const argv[] = {bin, "--socket", cl->path, NULL};
    int code = mm_daemon_start(argv, MM_DAEMON_SEARCH, mm_client_remaining_ms(cl));
    /* 3: another agent won the race to the socket, which is as good. */
    return code == 0 || code == 3 ? 0 : -1;
}

/* Connected to something at cl->path: make sure it is our own user's agent
 * before a single byte goes out (see mimir/trust.h). */
static mm_err trust_peer(mm_client *cl)
{
    mm_err e = mm_trust_peer(cl->fd, cl->path, cl->why, sizeof(cl->why));
    if (e != MM_OK) {
        close(cl->fd);
        cl->fd = -1;
    }
    return e;
}

mm_err mm_client_open(mm_client *cl, int timeout_ms, int autostart)
{
    /* Not memset: that would touch the whole 64 KiB buffer for nothing. */
    cl->fd = -1;
    cl->next_id = 1;
    cl->len = cl->used = 0;
    cl->why[0] = '\0';
    mm_client_set_timeout(cl, timeout_ms);
    if (mm_socket_path(cl->path, sizeof(cl->path)) != MM_OK) {
        snprintf(cl->why, sizeof(cl->why), "MIMIR_AGENT_SOCK must be an absolute path "
                 "shorter than 108 bytes");
        return MM_ERR_USAGE;
    }
    /* No directory yet (MM_ERR_IO) means no agent has run: safe to start one,
     * which creates it privately.  A directory we cannot trust ends here. */
    mm_err e = mm_trust_socket_dir(cl->path, cl->why, sizeof(cl->why));
    if (e == MM_ERR_AGENT_UNREACHABLE)
        return e;
    if (e == MM_OK && (cl->fd = mm_unix_connect(cl->path, cl->deadline_ms)) >= 0)
        return trust_peer(cl);
    int err = e == MM_OK ? errno : ENOENT;
    const char *env = getenv("MIMIR_NO_AUTOSTART");
    if (autostart && !(env && env[0] == '1') && (err == ENOENT || err == ECONNREFUSED)) {
        if (start_agent(cl) == 0 &&
            (e = mm_trust_socket_dir(cl->path, cl->why, sizeof(cl->why))) != MM_OK)
            return MM_ERR_AGENT_UNREACHABLE;
        if ((cl->fd = mm_unix_connect(cl->path, cl->deadline_ms)) >= 0)
            return trust_peer(cl);
        snprintf(cl->why, sizeof(cl->why),
                 "no mimir-agent on %s and starting one failed; run 'mimir-agent "
                 "--foreground' to see why", cl->path);
        return mm_client_remaining_ms(cl) ? MM_ERR_AGENT_UNREACHABLE : MM_ERR_TIMEOUT;
    }
    if (err == ETIMEDOUT) {
        snprintf(cl->why, sizeof(cl->why), "mimir-agent on %s accepts no connection (its queue "
                 "is full: is it hung?); restarting it helps", cl->path);
        return MM_ERR_TIMEOUT;
    }
    snprintf(cl->why, sizeof(cl->why),
             "cannot reach mimir-agent at %s: %s; start it with 'mimir-agent' (or "
             "'systemctl --user start mimir-agent.socket')",
             cl->path, strerror(err));
    return MM_ERR_AGENT_UNREACHABLE;
}

void mm_client_close(mm_client *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    cl->fd = -1;
    /* Replies carry tokens.  Only what was used: wiping all 64 KiB would
     * fault in 16 untouched stack pages on the token path. */
    explicit_bzero(cl->buf, cl->used);
}

static mm_err send_all(mm_client *cl, const char *p, size_t n)
{
    while (n) {
        /* Try first: a fresh socket takes a request line at once, and the
         * token path saves a poll.  Wait only when the buffer is full. */
        ssize_t w = send(cl->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {cl->fd, POLLOUT, 0};
            if (poll(&pfd, 1, mm_client_remaining_ms(cl)) == 0)
                return snprintf(cl->why, sizeof(cl->why), "mimir-agent did not accept the "
                                "request in time"), MM_ERR_TIMEOUT;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return snprintf(cl->why, sizeof(cl->why), "writing to mimir-agent: %s",
                            strerror(errno)), MM_ERR_AGENT_UNREACHABLE;
        p += w;
        n -= (size_t)w;
    }
    return MM_OK;
}

mm_err mm_client_read(mm_client *cl, mm_response *resp)
{
    for (;;) {
        char *nl = memchr(cl->buf, '\n', cl->len);
        if (nl) {
            size_t n = (size_t)(nl - cl->buf);
            mm_err e = mm_proto_parse_response(cl->buf, n, resp);
            memmove(cl->buf, nl + 1, cl->len - n - 1);
            cl->len -= n + 1;
            if (e != MM_OK) {
                mm_response_free(resp);
                snprintf(cl->why, sizeof(cl->why), "mimir-agent sent a malformed reply");
            }
            return e;
        }
        if (cl->len >= MM_PROTO_MAX_LINE)
            return snprintf(cl->why, sizeof(cl->why), "reply from mimir-agent too long"),
                   MM_ERR_TOO_LARGE;
        struct pollfd pfd = {cl->fd, POLLIN, 0};
        int pr = poll(&pfd, 1, mm_client_remaining_ms(cl));
        if (pr == 0)
            return snprintf(cl->why, sizeof(cl->why), "mimir-agent did not answer in time"),
                   MM_ERR_TIMEOUT;
        ssize_t r = pr < 0 ? -1 : recv(cl->fd, cl->buf + cl->len, MM_PROTO_MAX_LINE - cl->len, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0)
            return snprintf(cl->why, sizeof(cl->why), "mimir-agent closed the connection"),
                   MM_ERR_AGENT_UNREACHABLE;
        cl->len += (size_t)r;
        if (cl->len > cl->used)
            cl->used = cl->len;
    }
}

mm_err mm_client_call(mm_client *cl, cJSON *req, mm_response *resp)
{
    size_t len;
    long id = cl->next_id++;
    cJSON_ReplaceItemInObjectCaseSensitive(req, "id", cJSON_CreateNumber((double)id));
    char *line = mm_proto_encode(req, &len);
    cJSON_Delete(req);
    if (!line)
        return MM_ERR_NOMEM;
    mm_err e = send_all(cl, line, len);
    explicit_bzero(line, len); /* set_api_key requests carry the key */
    cJSON_free(line);
    /* The agent may have answered and closed before reading us (it refuses
     * other users that way): its reply says more than "broken pipe". */
    if (e == MM_ERR_AGENT_UNREACHABLE && mm_client_read(cl, resp) == MM_OK) {
        if (!resp->event && !resp->ok)
            return MM_OK;
        mm_response_free(resp);
    }
    while (e == MM_OK) {
        e = mm_client_read(cl, resp);
        if (e != MM_OK || (!resp->event && (resp->id == id || resp->id == -1)))
            break;
        mm_response_free(resp); /* an event or a stale reply */
    }
    return e;
}
