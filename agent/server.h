/*
 * server.h - the Unix socket server: accept, peer check, line framing,
 * ordered replies, backpressure, timeouts.
 *
 * Each connection answers its requests in order.  A request that cannot be
 * answered at once (a keyring read, a refresh, login_wait) holds the
 * connection: later lines stay buffered until mm_conn_release().  Other
 * connections are unaffected; nothing here blocks.
 */
#ifndef MM_SERVER_H
#define MM_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "loop.h"
#include "mimir/err.h"

typedef struct mm_server mm_server;
typedef struct mm_conn mm_conn;

/* Called once per complete line (without the newline). */
typedef void (*mm_line_cb)(void *ctx, mm_conn *c, const char *line, size_t len);

typedef struct {
    int idle_timeout_ms; /* close connections idle this long (not subscribers) */
    int line_timeout_ms; /* close a connection whose partial line, or whose unread
                            output, has not moved for this long */
    int max_conns;       /* more are accepted, told too_many_connections, closed */
} mm_server_opts;

/*
 * Bind path (or adopt a socket-activated fd), holding path.lock so that a
 * second agent refuses to start (MM_ERR_AGENT_RUNNING) while a stale socket
 * is replaced.
 */
mm_err mm_server_listen(const char *path, int *fd, int *lock_fd, char *why, size_t whylen);

mm_server *mm_server_new(mm_loop *loop, int listen_fd, const mm_server_opts *opts,
                         mm_line_cb cb, void *ctx);
/* Closes every connection.  Every parked request must have been answered
 * (the agent drops its profiles first). */
void mm_server_free(mm_server *s);

/* Stop the loop when the socket file at path disappears or is replaced. */
void mm_server_watch(mm_server *s, const char *path);
/* 1 while the file at the watched path is still our socket. */
int mm_server_owns_socket(const mm_server *s);

/* Queue msg (consumed) on c.  Safe on a closed connection (dropped). */
void mm_conn_send(mm_conn *c, cJSON *msg);
/* A request on c will be answered later: pause c's requests until then. */
void mm_conn_hold(mm_conn *c);
/* That answer was sent: resume c (frees c if its peer went away meanwhile). */
void mm_conn_release(mm_conn *c);
void mm_conn_subscribe(mm_conn *c);
pid_t mm_conn_pid(const mm_conn *c);

/* Send msg to every subscribed connection; consumes msg. */
void mm_server_broadcast(mm_server *s, cJSON *msg);

#endif
