/*
 * agentconn.h - the proxy's connections to mimir-agent, driven by the
 * event loop.
 *
 * Every HTTP request the proxy sends asks the agent for its headers first
 * ("headers" op), so this is on the path of every call and must never
 * stall the loop.  The agent answers the requests of one connection in
 * order, and a request that makes it refresh (a 401 retry, an expired
 * token) can take seconds: requests queued behind it on the same
 * connection would wait for it.  So a request goes to a connection with
 * nothing outstanding, and a new connection is opened (up to
 * MM_AGENTCONN_MAX) when all are busy; only beyond that do requests queue
 * behind others.
 *
 * A connection that breaks (the agent restarted, or closed an idle
 * connection) is replaced on demand; requests that were outstanding on it
 * are sent again on a new one (a few times, briefly spaced), starting the
 * agent if it is gone (as mimir-helper does).  Connecting is the one blocking step: a Unix socket
 * connect, plus the agent's start-up when it must be started.
 */
#ifndef MM_AGENTCONN_H
#define MM_AGENTCONN_H

#include <cjson/cJSON.h>

#include "loop.h"
#include "mimir/err.h"

#define MM_AGENTCONN_MAX 4

typedef struct mm_agentconn mm_agentconn;
typedef struct mm_agentreq mm_agentreq;

/* The reply: e is MM_OK with reply the agent's answer ({"ok":true,...}),
 * or the error (the agent's own, or ours) with message for humans.  Runs
 * from the loop, never inside mm_agentconn_headers; reply is borrowed. */
typedef void (*mm_agentconn_cb)(void *arg, mm_err e, const cJSON *reply, const char *message);

/* timeout_ms: how long one reply may take. */
mm_agentconn *mm_agentconn_new(mm_loop *loop, const char *profile, int timeout_ms);
/* Requests still outstanding are dropped without callbacks. */
void mm_agentconn_free(mm_agentconn *a);

/* {"op":"headers"}, with "rejected" when given (the credential a server
 * refused: the agent then refreshes).  NULL when out of memory. */
mm_agentreq *mm_agentconn_headers(mm_agentconn *a, const char *rejected, mm_agentconn_cb cb,
                                  void *arg);
/* The callback will not run. */
void mm_agentconn_cancel(mm_agentreq *r);

/* Whether a missing agent is started (default yes).  Off at the end of a
 * session: ending it is no reason to start an agent. */
void mm_agentconn_autostart(mm_agentconn *a, int on);

#endif
