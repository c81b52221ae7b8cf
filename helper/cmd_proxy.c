/*
 * cmd_proxy.c - proxy: the stdio MCP server for clients that only launch
 * commands.  The helper makes sure an agent runs, then hands its standard
 * input and output to a session of the proxy server (proxyrelay.h), which
 * has libcurl loaded already; when there is no server to be had it becomes
 * mimir-proxy itself (exec).  Either way the HTTP client is mimir-proxy's:
 * the helper stays libc and cJSON (docs/architecture.md, "The MCP proxy").
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "proxyrelay.h"
#include "mimir/paths.h"

static int run_proxy(mm_opts *o)
{
    if (o->nargs > 1)
        return mm_fail(MM_ERR_USAGE, "proxy takes one URL at most (got '%s' and '%s')",
                       o->args[0], o->args[1]);
    mm_client cl;
    int rc = mm_connect(&cl, o, 1); /* start the agent now, while the client waits anyway */
    if (rc)
        return rc;
    mm_client_close(&cl);
    char bin[PATH_MAX];
    int search = mm_sibling_binary("mimir-proxy", "MIMIR_PROXY_BIN", bin, sizeof(bin));
    char *argv[6];
    int n = 0;
    argv[n++] = "mimir-proxy";
    if (o->profile) {
        argv[n++] = "--profile";
        argv[n++] = (char *)o->profile;
    }
    if (o->nargs) {
        argv[n++] = "--"; /* a URL is never an option */
        argv[n++] = o->args[0];
    }
    argv[n] = NULL;
    const char *serve = getenv("MIMIR_PROXY_SERVE");
    if (!serve || strcmp(serve, "0")) {
        char why[600];
        rc = mm_proxyrelay_run(bin, search, argv + 1, n - 1,
                               (o->timeout_s ? o->timeout_s : 10) * 1000, why, sizeof(why));
        if (rc != MM_PROXYRELAY_FALLBACK)
            return rc;
        fprintf(stderr, "mimir-helper: %s; running mimir-proxy directly\n", why);
    }
    (search ? execvp : execv)(bin, argv);
    return mm_fail(MM_ERR_IO, "cannot run %s: %s (install it next to mimir-helper, or set "
                   "MIMIR_PROXY_BIN)", bin, strerror(errno));
}

const mm_command mm_cmd_proxy = {
    .name = "proxy",
    .run = run_proxy,
    .usage = "proxy [--profile NAME] [URL]",
    .help = "A stdio MCP server: forwards every JSON-RPC message (one per line on standard\n"
            "input) to the Mimir server's Streamable HTTP endpoint, URL or else the\n"
            "profile's server_url, with a credential fresh from mimir-agent on every\n"
            "request; on HTTP 401 it asks the agent for a new one and retries once.\n"
            "Answers and server messages come back on standard output, diagnostics on\n"
            "standard error.  For MCP clients that only launch commands, e.g.\n"
            "  {\"command\": \"/usr/local/bin/mimir-helper\", \"args\": [\"proxy\"]}\n"
            "After making sure an agent runs, it hands standard input and output to a\n"
            "session of the proxy server (mimir-proxy --serve, next to mimir-helper or\n"
            "$MIMIR_PROXY_BIN, started when none runs) and stays until the session ends,\n"
            "passing on SIGTERM, SIGINT and SIGHUP.  Without a server (or with\n"
            "MIMIR_PROXY_SERVE=0) it runs mimir-proxy itself.  --timeout bounds only the\n"
            "starts of the agent and the server.\n",
    .extra = NULL,
};
