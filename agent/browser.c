/* browser.c - detached browser launch (double fork, no zombies). */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "browser.h"
#include "log.h"

int mm_browser_open(const char *url)
{
    const char *b = getenv("BROWSER");
    const char *prog = b && b[0] ? b : "xdg-open";
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setsid();
        /* Grandchild: the agent never waits for a browser to exit. */
        if (fork() != 0)
            _exit(0);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1); /* browsers chat on stdout; keep stderr for diagnostics */
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        execlp(prog, prog, url, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    mm_debug("started browser %s", prog);
    return 0;
}
