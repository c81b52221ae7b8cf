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

/* Our own uid only, judged before a byte (or a descriptor) is read. */
int mm_handoff_peer_ok(int fd);

/* conn: the accepted connection (its peer checked); mask: the signal mask
 * the session starts with; server: the server's pid, told (SIGUSR1) when a
 * helper speaks another version of the protocol, so that it stops taking
 * sessions and a server of the helper's version can start. */
_Noreturn void mm_handoff_run(int conn, const sigset_t *mask, pid_t server);

/* A spare session process, forked before the client comes so that the
 * fork is not on the client's path: it accepts on lfd itself, closes a
 * connection of another uid before reading a byte and waits on, and with
 * the first of its own uid tells the server (MM_HANDOFF_TAKEN_SIGNAL, so
 * that a next spare is forked) and goes on as mm_handoff_run.  While it
 * waits it is named MM_HANDOFF_SPARE_NAME (ps, /proc/PID/comm); SIGTERM
 * ends it then, and so does the server's death. */
#define MM_HANDOFF_SPARE_NAME "proxy-spare"
#define MM_HANDOFF_TAKEN_SIGNAL SIGUSR2
_Noreturn void mm_handoff_spare(int lfd, const sigset_t *mask, pid_t server);

#endif
