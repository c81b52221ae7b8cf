/*
 * serve.h - mimir-proxy --serve: the proxy server.
 *
 * Starting mimir-proxy is mostly loading libcurl and its thirty-odd shared
 * libraries (docs/architecture.md, "The MCP proxy").  The server does that
 * once and then forks a session process for every MCP client: mimir-helper
 * proxy connects to proxy.sock, next to the agent's socket, and hands over
 * its standard input, output and error (mimir/proxywire.h; the session
 * process: handoff.h).  The fork is made ahead of the client: a spare
 * session process waits on the listening socket and accepts the next
 * client itself; the server forks the next spare 50 ms after one was
 * taken (not while the new session starts), and accepts and forks itself
 * while there is none.  The server itself reads nothing from its clients
 * and never talks to the agent: no credential ever passes through it.
 *
 * Started on demand by mimir-helper like the agent (the parent exits with
 * the verdict once the socket listens), it serves only its own uid, keeps
 * the agent's allow-listed environment, exits after an idle period without
 * sessions, and on SIGTERM ends its sessions (each DELETEs its MCP session)
 * before it exits.
 */
#ifndef MM_PROXY_SERVE_H
#define MM_PROXY_SERVE_H

/* argv[1] is "--serve"; the process is prepared already (main.c).  Returns
 * the exit status: 0, 1 error, 2 usage, 3 another server serves the socket. */
int mm_serve_main(int argc, char **argv);

#endif
