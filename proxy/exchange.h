/*
 * exchange.h - one HTTP request to the MCP server on behalf of one
 * message, with a fresh credential, and its answer.
 *
 *  1. ask mimir-agent for the headers of the profile (nothing is cached:
 *     every request gets what the agent holds now);
 *  2. send them with the request, plus Mcp-Session-Id and
 *     MCP-Protocol-Version once the session has them;
 *  3. on 401, ask the agent again naming the credential that was refused
 *     (the agent then refreshes at once) and send the request once more;
 *  4. hand the answer's messages, JSON body or event stream, to standard
 *     output as they arrive (or only look at them, for the proxy's own
 *     requests); a stream that breaks before the response to a request
 *     arrived is resumed with GET and Last-Event-ID when the server gave
 *     event ids.
 * The credential is held only while its request is in flight.
 */
#ifndef MM_EXCHANGE_H
#define MM_EXCHANGE_H

#include <stddef.h>

#include "ctx.h"
#include "jscan.h"
#include "sse.h"

/* The answer to a request, kept for the owner when at most this long. */
#define MM_EX_COPY_MAX (1024 * 1024)

typedef enum {
    MM_EX_OK,           /* accepted (2xx); a request's response was delivered */
    MM_EX_AUTH,         /* no credential to be had, or refused after a fresh one */
    MM_EX_SESSION_GONE, /* 404 to a request that carried the session id */
    MM_EX_HTTP,         /* another HTTP error status */
    MM_EX_FAILED,       /* network failure, bad answer, no response */
} mm_ex_result;

typedef struct mm_exchange mm_exchange;

typedef struct {
    /* Always exactly once unless cancelled; the owner then frees ex. */
    void (*done)(void *arg, mm_exchange *ex);
    /* The response to the request is complete and is about to go out; msg
     * is its text when at most MM_EX_COPY_MAX long, else NULL.  Optional. */
    void (*answer)(void *arg, mm_exchange *ex, const char *msg, size_t len);
} mm_exchange_cbs;

typedef struct {
    const char *method;      /* "POST", "GET" (the server's stream), "DELETE" */
    const char *body;        /* POST: borrowed until done */
    size_t len;
    const mm_jscan_val *id;  /* set for a request: the id its response carries */
    int expects_answer;      /* a body may come back even without id (a batch) */
    int forward;             /* the server's messages go to standard output */
    int with_session;        /* send Mcp-Session-Id and MCP-Protocol-Version */
    int timeout_ms;          /* total; 0: none (the server's stream) */
    int idle_s;              /* end a stream silent this long; 0: never */
    const char *last_event_id; /* GET: resume after this event */
} mm_exchange_req;

typedef struct {
    mm_ex_result result;
    long status;          /* the last HTTP status, 0 when none arrived */
    mm_err err;           /* for AUTH: the agent's error */
    char why[512];        /* what happened, for people */
    int answered;         /* the response went out (or, not forwarding, was seen) */
    int messages;         /* messages received */
    char last_event_id[MM_SSE_ID_MAX + 1]; /* "" when the server gave none */
    long retry_ms;        /* the server's "retry", -1 when none */
} mm_ex_outcome;

mm_exchange *mm_exchange_new(mm_ctx *ctx, const mm_exchange_req *rq, const mm_exchange_cbs *cbs,
                             void *arg);
void mm_exchange_start(mm_exchange *ex);
const mm_ex_outcome *mm_exchange_outcome(const mm_exchange *ex);
/* Stops whatever is in flight; no callback runs afterwards. */
void mm_exchange_cancel(mm_exchange *ex);
void mm_exchange_free(mm_exchange *ex);

#endif
