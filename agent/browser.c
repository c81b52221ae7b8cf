/* browser.c - detached browser launch (double fork, no zombies). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "browser.h"
#include "log.h"

int mm_browser_open(const char *url)
{
    const char *b = getenv("BROWSER");
    const char *prog = b && b[0] ? b : "xdg-open";
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        setsid();
        /* Grandchild: the agent never waits for a browser to exit. */
        if (fork() != 0)
            _exit(0);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1); /* browsers chat on stdout; keep stderr for diagnostics */
        for (int fd = 3; fd < 1024; fd++)
            if (fd != pfd[1])
                close(fd);
        execlp(prog, prog, url, (char *)NULL);
        int err = errno; /* tell the agent why: the pipe closes on a good exec */
        if (write(pfd[1], &err, sizeof(err)) < 0) {
        }
        _exit(127);
    }
    close(pfd[1]);
    int st, err = 0;
    waitpid(pid, &st, 0);
    ssize_t n = read(pfd[0], &err, sizeof(err)); /* returns at exec or failure */
    close(pfd[0]);
    if (n == (ssize_t)sizeof(err)) {
        mm_warn("cannot start browser %s: %s (set $BROWSER for the agent)", prog,
                strerror(err));
        return -1;
    }
    mm_debug("started browser %s", prog);
    return 0;
}
