/*
 * paths.h - where the agent's socket and the config file live.
 *
 * The socket path must be derivable without any environment at all: some
 * MCP clients start helpers with a scrubbed environment, and the helper
 * must still find the agent.  Hence the /tmp/mimir-<uid> fallback.
 */
#ifndef MIMIR_PATHS_H
#define MIMIR_PATHS_H

#include <stddef.h>

#include "mimir/err.h"

/* $MIMIR_AGENT_SOCK, else $XDG_RUNTIME_DIR/mimir/agent.sock, else
 * /tmp/mimir-<uid>/agent.sock.  MM_ERR_CONFIG if the result does not fit
 * in sockaddr_un or a variable holds a relative path. */
mm_err mm_socket_path(char *buf, size_t len);

/* $MIMIR_CONFIG, else $XDG_CONFIG_HOME/mimir/config.json, else
 * $HOME/.config/mimir/config.json. */
mm_err mm_config_path(char *buf, size_t len);

/* The encrypted credential file: $XDG_DATA_HOME/mimir/vault, else
 * $HOME/.local/share/mimir/vault. */
mm_err mm_vault_path(char *buf, size_t len);

/* The directory part of path, written to buf ("." when there is none). */
mm_err mm_dirname(const char *path, char *buf, size_t len);

/*
 * Make sure dir is a real directory (not a symlink) owned by us with no
 * group/other access, creating it (mode 0700, parents as needed) when
 * create is set.  A directory that exists with wrong owner or mode is
 * refused, never silently fixed: someone else may control it.  On failure
 * a message is written to why; MM_ERR_IO leaves errno as lstat set it.
 */
mm_err mm_private_dir(const char *dir, int create, char *why, size_t whylen);

/* A sibling program of ours: $ENV_VAR when set, else NAME next to the running
 * executable (MCP clients do not share the user's PATH), else bare NAME, to
 * be looked up in PATH: then the result is 1 (0 otherwise). */
int mm_sibling_binary(const char *name, const char *env_var, char *buf, size_t len);


#endif
