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
