/*
 * cmd_proxy.c - proxy: the stdio MCP server for clients that only launch
 * commands.  The helper makes sure an agent runs, then becomes mimir-proxy
 * (exec), which holds the HTTP client: the helper itself stays libc and
 * cJSON (docs/architecture.md, "The MCP proxy").
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

/* $MIMIR_PROXY_BIN, else mimir-proxy next to this helper's own binary
 * (MCP clients do not share the user's PATH), else PATH. */
static void proxy_binary(char *buf, size_t len, int *search)
{
    const char *env = getenv("MIMIR_PROXY_BIN");
    char self[PATH_MAX];
    ssize_t n;
    *search = 0;
    if (env && env[0]) {
        snprintf(buf, len, "%s", env);
        return;
    }
    if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            snprintf(buf, len, "%.*s/mimir-proxy", (int)(slash - self), self);
            if (access(buf, X_OK) == 0)
                return;
        }
    }
    snprintf(buf, len, "mimir-proxy");
    *search = 1;
}

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
    int search;
    proxy_binary(bin, sizeof(bin), &search);
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
            "It runs mimir-proxy (next to mimir-helper, or $MIMIR_PROXY_BIN) after making\n"
            "sure an agent runs; --timeout bounds only that start.\n",
    .extra = NULL,
};
