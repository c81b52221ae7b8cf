/* listen.c - a private Unix socket with one owner at a time (see listen.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "mimir/paths.h"

static mm_err take_lock(const char *path, const char *who, int *lock_fd, char *why,
                        size_t whylen)
{
    char lpath[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
    snprintf(lpath, sizeof(lpath), "%s.lock", path);
    int fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(why, whylen, "cannot open %s: %s", lpath, strerror(errno));
        return MM_ERR_IO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(why, whylen, "another %s (pid %s) is already running on %s", who,
                 pid[0] ? pid : "unknown", path);
        close(fd);
        return MM_ERR_AGENT_RUNNING;
    }
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
        mm_warn("cannot record the pid in %s", lpath);
    *lock_fd = fd;
    return MM_OK;
}

mm_err mm_listen_unix(const char *path, const char *who, int backlog, int *out_fd, int *lock_fd,
                      char *why, size_t whylen)
{
    *out_fd = *lock_fd = -1;
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    mm_err e = mm_dirname(path, dir, sizeof(dir));
    if (e == MM_OK)
        e = mm_private_dir(dir, 1, why, whylen);
    if (e == MM_OK)
        e = take_lock(path, who, lock_fd, why, whylen);
    if (e != MM_OK)
        return e;
    unlink(path); /* we hold the lock: whatever socket is there is stale */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    mode_t old = umask(0177); /* the socket file is born 0600 */
    int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0 || listen(fd, backlog) < 0) {
        snprintf(why, whylen, "cannot listen on %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        close(*lock_fd);
        *lock_fd = -1;
        return MM_ERR_IO;
    }
    *out_fd = fd;
    return MM_OK;
}
