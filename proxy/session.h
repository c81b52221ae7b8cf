/*
 * session.h - the MCP session between the client on standard input and
 * the Streamable HTTP server.
 *
 * Every line the client writes is checked (a malformed one gets a JSON-RPC
 * error at once) and becomes its own POST, all of them concurrent: a slow
 * tool call never holds up a ping.  Around that:
 *  - the server's own stream (GET) once the client has initialized, kept
 *    open and resumed while the session lasts (405: the server has none);
 *  - a new session, made by replaying the client's initialize, when the
 *    server forgets the old one (404), after which the request is sent
 *    again;
 *  - JSON-RPC errors the client can act on when a request fails (not
 *    signed in, refused, unreachable, no answer), diagnostics on stderr;
 *  - the end: on EOF what is in flight finishes, the session is DELETEd,
 *    then finished runs; mm_session_stop (SIGTERM, or the client stopped
 *    reading) abandons what is in flight first.
 */
#ifndef MM_SESSION_H
#define MM_SESSION_H

#include "ctx.h"

/* The largest message the client may send (the whole line is held: it
 * may have to go out twice, after a 401). */
#define MM_SESSION_MAX_MESSAGE (4 * 1024 * 1024)

typedef struct mm_session mm_session;

mm_session *mm_session_new(mm_ctx *ctx, int in_fd, void (*finished)(void *arg), void *arg);
void mm_session_stop(mm_session *s);
/* Standard output drained or failed: see whether the end has come. */
void mm_session_check(mm_session *s);
void mm_session_free(mm_session *s);

#endif
