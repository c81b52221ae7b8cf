/*
 * handoff.h - a session process of the proxy server (serve.h), from the
 * fork to its exit.
 *
 * Right after the fork it closes every descriptor but its connection to
 * mimir-helper: the listening socket, the lock and the server's loop are
 * the server's, and other sessions' connections never reach it.  Then it
 * reads the helper's request with its descriptors (mimir/proxywire.h),
 * says it started, puts them in place of its standard input, output and
 * error, takes the helper's environment (filtered again: the server's rule,
 * not the sender's) and working directory, and serves the session exactly
 * as mimir-proxy does on its own (main.h), telling the helper the exit
 * status at the end.
 */
#ifndef MM_PROXY_HANDOFF_H
#define MM_PROXY_HANDOFF_H

#include <signal.h>
#include <sys/types.h>

/* conn: the accepted connection (its peer checked); mask: the signal mask
 * the session starts with; server: the server's pid, told (SIGUSR1) when a
 * helper speaks another version of the protocol, so that it stops taking
 * sessions and a server of the helper's version can start. */
_Noreturn void mm_handoff_run(int conn, const sigset_t *mask, pid_t server);

#endif
