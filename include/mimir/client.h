/*
 * client.h - a blocking client of the agent socket, for the helper and
 * other short-lived callers: find the agent (start it if needed, like gpg
 * does), check that it can be trusted (mimir/trust.h), send a request,
 * read the reply, all within one deadline.
 */
#ifndef MIMIR_CLIENT_H
#define MIMIR_CLIENT_H

#include <cjson/cJSON.h>

#include "mimir/proto.h"

typedef struct {
    int fd;
    long next_id;
    long long deadline_ms; /* CLOCK_MONOTONIC */
    char path[108];
    char buf[MM_PROTO_MAX_LINE + 1];
    size_t len;
    size_t used; /* high-water mark of buf: what close must wipe */
    char why[512];
} mm_client;

/* Connect, starting mimir-agent when nothing listens and autostart is set.
 * On failure client->why says what happened and what to do. */
mm_err mm_client_open(mm_client *cl, int timeout_ms, int autostart);
void mm_client_close(mm_client *cl);

/* Send req (consumed) and wait for its reply (events are skipped).
 * Transport failures return an error with cl->why set; protocol-level
 * errors come back as MM_OK with resp->ok false. */
mm_err mm_client_call(mm_client *cl, cJSON *req, mm_response *resp);

/* Read the next message (reply or event) without sending anything. */
mm_err mm_client_read(mm_client *cl, mm_response *resp);

/* A connection to the Unix socket at path (non-blocking, close-on-exec),
 * or -1 with errno.  A listener whose queue is full (a hung agent) makes a
 * Unix socket's connect fail with EAGAIN at once, where a blocking one
 * would wait forever: tried again every 5 ms until deadline_ms
 * (CLOCK_MONOTONIC), then ETIMEDOUT.  The helper's way to the agent and to
 * the proxy server. */
int mm_unix_connect(const char *path, long long deadline_ms);

/* Milliseconds left before the deadline (0 once it passed). */
int mm_client_remaining_ms(const mm_client *cl);
/* Extend the deadline (login_wait may wait for minutes). */
void mm_client_set_timeout(mm_client *cl, int timeout_ms);

#endif
