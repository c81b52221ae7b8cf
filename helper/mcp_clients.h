/*
 * mcp_clients.h - the MCP clients `mimir-helper mcp-config` knows, as
 * `doctor` needs them: where each keeps its servers.  The table itself is
 * in cmd_mcp_config.c.
 */
#ifndef MM_MCP_CLIENTS_H
#define MM_MCP_CLIENTS_H

#include <stddef.h>

/* The i-th client (from 0) that has a config file of its own: its name,
 * the key holding its servers and the file's path in path.  1 when filled,
 * -1 when the path cannot be known here (printed), 0 past the last. */
int mm_mcp_client_at(size_t i, const char **name, const char **servers_key, char *path,
                     size_t len);

#endif
