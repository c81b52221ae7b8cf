/* opener.c - starting the user's browser (see opener.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mimir/opener.h"

const char *mm_opener_program(void)
{
    const char *b = getenv("BROWSER");
    return b && b[0] ? b : "xdg-open";
}

/* The grandchild: stdio set up, every other descriptor closed, then exec.
 * An exec that fails writes its errno into the CLOEXEC pipe, which a
 * successful exec closes unwritten. */
static void become_browser(const char *prog, const char *url, int stderr_fd, int report)
{
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
        dup2(stderr_fd >= 0 ? stderr_fd : null, 2) < 0)
        _exit(127);
    long max = sysconf(_SC_OPEN_MAX);
    for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
        if (fd != report)
            close(fd);
    execlp(prog, prog, url, (char *)NULL);
    int err = errno;
    if (write(report, &err, sizeof(err)) < 0) { /* nobody left to tell */
    }
    _exit(127);
}

mm_err mm_opener_run(const char *url, int stderr_fd, char *why, size_t whylen)
{
    const char *prog = mm_opener_program();
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        snprintf(why, whylen, "cannot start %s: %s", prog, strerror(errno));
        return MM_ERR_IO;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        /* Its own session: a Ctrl-C for the caller does not reach the
         * browser; the middle process exits at once, so nobody has to wait
         * for a browser that runs for hours. */
        setsid();
        pid_t g = fork();
        if (g == 0)
            become_browser(prog, url, stderr_fd, pfd[1]);
        _exit(g < 0 ? 126 : 0);
    }
    close(pfd[1]);
    int st = 0, err = EAGAIN;
    if (pid < 0)
        err = errno;
    else
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    ssize_t n = -1;
    if (pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
        do /* returns at exec (0) or with the errno of a failed one */
            n = read(pfd[0], &err, sizeof(err));
        while (n < 0 && errno == EINTR);
    close(pfd[0]);
    if (n == 0)
        return MM_OK;
    snprintf(why, whylen, "cannot start %s: %s", prog, strerror(err));
    return MM_ERR_IO;
}
