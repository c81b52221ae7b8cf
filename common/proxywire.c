/* proxywire.c - where the proxy server listens and what a session takes along (see proxywire.h). */
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "mimir/env.h"
#include "mimir/paths.h"
#include "mimir/proxywire.h"

mm_err mm_proxywire_path(char *buf, size_t len)
{
    char agent[sizeof(((struct sockaddr_un *)0)->sun_path)], dir[sizeof(agent)];
    size_t max = sizeof(agent);
    if (mm_socket_path(agent, sizeof(agent)) != MM_OK || mm_dirname(agent, dir, sizeof(dir)) != MM_OK)
        return MM_ERR_CONFIG;
    int n = snprintf(buf, len < max ? len : max, "%s/proxy.sock", dir);
    return n < 0 || (size_t)n >= (len < max ? len : max) ? MM_ERR_CONFIG : MM_OK;
}

static int named(const char *entry, const char *name)
{
    size_t n = strlen(name);
    return !strncmp(entry, name, n) && entry[n] == '=';
}

int mm_proxywire_env_passed(const char *entry)
{
    static const char *const dropped[] = {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES",
                                          "NOTIFY_SOCKET", NULL};
    for (int i = 0; dropped[i]; i++)
        if (named(entry, dropped[i]))
            return 0;
    return mm_env_allowed(entry) || named(entry, "MIMIR_AGENT_BIN") ||
           named(entry, "MIMIR_NO_AUTOSTART");
}
