/* trust.c - the client side's checks on the agent (see trust.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mimir/paths.h"
#include "mimir/trust.h"

mm_err mm_trust_socket_dir(const char *socket_path, char *why, size_t whylen)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)], msg[400];
    if (mm_dirname(socket_path, dir, sizeof(dir)) != MM_OK) {
        snprintf(why, whylen, "socket path %s is too long", socket_path);
        return MM_ERR_AGENT_UNREACHABLE;
    }
    mm_err e = mm_private_dir(dir, 0, msg, sizeof(msg));
    if (e == MM_OK)
        return MM_OK;
    if (e == MM_ERR_IO && errno == ENOENT)
        return MM_ERR_IO; /* nothing there yet: no agent, and nobody else's either */
    snprintf(why, whylen, "refusing to use the agent socket %s: %s. Someone else may "
             "control that directory: remove it if it is not yours, or point "
             "MIMIR_AGENT_SOCK into a private directory", socket_path, msg);
    return MM_ERR_AGENT_UNREACHABLE;
}

mm_err mm_trust_peer(int fd, const char *what, char *why, size_t whylen)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || len != sizeof(cr)) {
        snprintf(why, whylen, "cannot read the credentials of the process on %s: %s", what,
                 strerror(errno));
        return MM_ERR_AGENT_UNREACHABLE;
    }
    if (cr.uid != geteuid()) {
        snprintf(why, whylen, "refusing the agent on %s: it runs as uid %u (pid %ld), not as "
                 "you (uid %u); nothing was sent to it", what, (unsigned)cr.uid, (long)cr.pid,
                 (unsigned)geteuid());
        return MM_ERR_AGENT_UNREACHABLE;
    }
    return MM_OK;
}
