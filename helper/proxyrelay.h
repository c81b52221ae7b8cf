/*
 * proxyrelay.h - `mimir-helper proxy` through the proxy server: hand this
 * process's standard input, output and error to a session of
 * `mimir-proxy --serve` (starting the server when none runs), then stay
 * the process the MCP client launched: pass on its signals and exit with
 * the session's status (mimir/proxywire.h).
 */
#ifndef MM_PROXYRELAY_H
#define MM_PROXYRELAY_H

#include <stddef.h>

/* No session could be had: nothing of standard input was read, and the
 * caller may run mimir-proxy itself (why says what went wrong). */
#define MM_PROXYRELAY_FALLBACK (-1)

/* bin: mimir-proxy (searched in PATH when search is set), for starting the
 * server; args: what mimir-proxy would get after its name; timeout_ms
 * bounds starting the server and its taking the session.  Returns the exit
 * status to leave with (the session's, or 3 when the server cannot be
 * trusted: that was said on stderr), or MM_PROXYRELAY_FALLBACK. */
int mm_proxyrelay_run(const char *bin, int search, char **args, int nargs, int timeout_ms,
                      char *why, size_t whylen);

#endif
