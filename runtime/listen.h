/*
 * listen.h - the private, one-owner Unix socket that mimir-agent and the
 * proxy server (mimir-proxy --serve) both listen on.
 *
 * The socket's directory must be private (mimir/paths.h), and one process
 * at a time owns the path: it holds an flock on PATH.lock, which also names
 * its pid (for the message another one gets, and for the tests).  Holding
 * the lock, whatever socket is at PATH is stale and replaced; the new one
 * is born 0600.
 */
#ifndef MM_LISTEN_H
#define MM_LISTEN_H

#include <stddef.h>

#include "mimir/err.h"

/* Listen on PATH (non-blocking, close-on-exec).  WHO names the program in
 * the message for a lock held by another process: MM_ERR_AGENT_RUNNING
 * (the caller's exit status 3).  Other failures: MM_ERR_IO or the private
 * directory's error, with WHY set. */
mm_err mm_listen_unix(const char *path, const char *who, int backlog, int *out_fd, int *lock_fd,
                      char *why, size_t whylen);

#endif
