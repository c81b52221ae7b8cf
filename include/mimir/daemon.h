/*
 * daemon.h - going into the background the way mimir-agent and the proxy
 * server both do.
 *
 * Whoever starts a daemon (mimir-helper, on demand) must know whether it
 * worked before it goes on: a parent that returned at once would race the
 * child's bind().  So the parent waits on a pipe and exits with the verdict
 * the child writes once it listens (or has failed).
 */
#ifndef MIMIR_DAEMON_H
#define MIMIR_DAEMON_H

/* Starting one (mimir-helper starts the agent and the proxy server on
 * demand): argv[0] is the program, found in PATH with MM_DAEMON_SEARCH;
 * it gets the allow-listed environment only (mimir/env.h: it outlives us by
 * days and must not inherit an MCP client's secrets), and with
 * MM_DAEMON_QUIET /dev/null for its standard input, output and error (so
 * that it holds none of an MCP client's pipes).  Waits up to timeout_ms for
 * the parent that mm_daemon_fork leaves behind, and returns its exit status
 * (the verdict; 127: it could not be run; 128 + N: killed by signal N), or
 * -1 with errno when there was no fork, or no verdict in time (ETIMEDOUT:
 * it was killed). */
enum { MM_DAEMON_SEARCH = 1, MM_DAEMON_QUIET = 2 };
int mm_daemon_start(char *const argv[], int flags, int timeout_ms);

/* Fork; the parent never returns (it exits with the child's verdict, 1 when
 * the child died without one).  The child gets a new session, "/" as its
 * directory and in *notify the pipe to write the verdict to.  -1: no fork. */
int mm_daemon_fork(int *notify);

/* Tell the waiting parent VERDICT (its exit status) and close the pipe;
 * nothing when there is none (*notify < 0, the foreground). */
void mm_daemon_ready(int *notify, char verdict);

/* Let go of the output that started us (a terminal, an MCP client's
 * stderr): standard input and output on /dev/null, standard error to
 * LOG_FILE (mode 0600, appended) or /dev/null. */
void mm_daemon_detach(const char *log_file);

#endif
