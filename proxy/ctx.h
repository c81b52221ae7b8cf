/*
 * ctx.h - what every part of mimir-proxy shares: the loop, the HTTP
 * client, the agent connections, standard output, the server and the
 * state of the MCP session with it.
 */
#ifndef MM_PROXY_CTX_H
#define MM_PROXY_CTX_H

#include "agentconn.h"
#include "http.h"
#include "loop.h"
#include "out.h"

typedef struct {
    mm_loop *loop;
    mm_http *http;
    mm_agentconn *agent;
    mm_out *out;
    const char *url;      /* the MCP endpoint */
    const char *ca_file;  /* the profile's, or NULL: the system's trust store */
    const char *profile;  /* its name, for messages */
    int request_timeout_ms; /* one POST, answer included */
    char *session_id;     /* Mcp-Session-Id, once the server gave one */
    char *protocol_version; /* negotiated at initialize; sent as MCP-Protocol-Version */
} mm_ctx;

/* Replace a malloc'd string member (NULL allowed). */
void mm_ctx_set(char **member, const char *value);

#endif
