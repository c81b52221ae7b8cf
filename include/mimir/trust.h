/*
 * trust.h - who may talk to whom on the agent socket.
 *
 * Trust runs both ways.  The agent serves only its own user (it checks
 * every accepted connection's SO_PEERCRED).  A client must equally refuse
 * an agent it cannot trust before it sends anything: a process of another
 * user that got to the socket path first (the /tmp/mimir-<uid> fallback can
 * be created by anyone, and so can any directory MIMIR_AGENT_SOCK names)
 * would otherwise receive API keys from set-api-key and hand out tokens of
 * its own choosing.  Two checks, each covering what the other cannot:
 *   - the socket's directory is ours, mode 0700, not a symlink (nobody else
 *     can have put anything in it);
 *   - the process listening on the socket runs as our uid (SO_PEERCRED of
 *     the connected socket is the listener's credentials), which also
 *     covers a directory swapped between the check and connect().
 */
#ifndef MIMIR_TRUST_H
#define MIMIR_TRUST_H

#include <stddef.h>

#include "mimir/err.h"

/* The directory that holds socket_path, checked as the agent checks it
 * when it creates it.  MM_OK, MM_ERR_IO with errno ENOENT preserved when it
 * does not exist yet (no agent has run: starting one is safe), or
 * MM_ERR_AGENT_UNREACHABLE with why saying what is wrong and how to fix it. */
mm_err mm_trust_socket_dir(const char *socket_path, char *why, size_t whylen);

/* The peer on connected Unix socket fd runs as our effective uid.
 * MM_ERR_AGENT_UNREACHABLE with why set otherwise. */
mm_err mm_trust_peer(int fd, const char *what, char *why, size_t whylen);

#endif
