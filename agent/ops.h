/*
 * ops.h - the protocol operations (docs/protocol.md): the one place where
 * requests are read and profile state becomes replies and events.
 */
#ifndef MM_OPS_H
#define MM_OPS_H

#include <stddef.h>

#include "agent.h"
#include "server.h"

/* Register the agent's hooks (state events, renewal). */
void mm_ops_init(mm_agent *a);

/* The desktop's "Sign in" action for profile (desktop.h): a browser login,
 * the browser opened by the agent (the user is at this desktop). */
void mm_ops_signin(void *ctx, const char *profile);

/* The server's line callback: one request line, without its newline. */
void mm_ops_on_line(void *ctx, mm_conn *c, const char *line, size_t len);

#endif
