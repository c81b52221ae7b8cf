/*
 * proxywire.h - how `mimir-helper proxy` hands an MCP client over to the
 * proxy server (`mimir-proxy --serve`), on proxy.sock next to the agent's
 * socket (docs/architecture.md, "The MCP proxy").
 *
 * One connection per MCP session:
 *   helper -> server  one JSON line, {"v":1,"args":[...],"env":[...],"cwd":"..."},
 *                     sent with the helper's standard input, output and error
 *                     (three descriptors, SCM_RIGHTS, on its first byte);
 *   server -> helper  {"started":PID} once a session process holds them (before
 *                     it reads any of the client's input: a helper that sees
 *                     the connection end before this line may run the session
 *                     itself), or {"error":"...","retry":true|false};
 *   helper -> server  then one byte per signal the helper receives (its number):
 *                     the session ends as mimir-proxy does on that signal; the
 *                     connection's end (the helper died) counts as one;
 *   server -> helper  {"exit":N} when the session is over; then it closes.
 * Trust runs both ways, as on the agent's socket: the server serves only its
 * own uid (SO_PEERCRED, before a byte or a descriptor is read) and the helper
 * checks the directory and the listener's uid before it sends anything.
 */
#ifndef MIMIR_PROXYWIRE_H
#define MIMIR_PROXYWIRE_H

#include <stddef.h>

#include "mimir/err.h"

#define MM_PROXYWIRE_VERSION 1
/* The request line at most (the environment is its bulk). */
#define MM_PROXYWIRE_MAX_LINE (64 * 1024)
/* The descriptors that travel with it: standard input, output, error. */
#define MM_PROXYWIRE_NFDS 3

/* proxy.sock in the directory of the agent's socket (mimir/paths.h).
 * MM_ERR_CONFIG when the result does not fit a sockaddr_un. */
mm_err mm_proxywire_path(char *buf, size_t len);

/* 1 when the "NAME=value" entry goes with a session: the agent's
 * allow-list (mimir/env.h) and the helper's own settings for reaching the
 * agent, without the socket-activation variables, which name descriptors
 * of the process they were meant for. */
int mm_proxywire_env_passed(const char *entry);

#endif
