/* daemon.c - fork into the background with a verdict for the parent (daemon.h). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "mimir/daemon.h"

int mm_daemon_fork(int *notify)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid > 0) {
        close(pfd[1]);
        char verdict = 1;
        ssize_t n;
        do
            n = read(pfd[0], &verdict, 1);
        while (n < 0 && errno == EINTR);
        _exit(n == 1 ? verdict : 1);
    }
    close(pfd[0]);
    setsid();
    if (chdir("/") < 0) { /* "/" always exists */
    }
    *notify = pfd[1];
    return 0;
}

void mm_daemon_ready(int *notify, char verdict)
{
    if (*notify < 0)
        return;
    if (write(*notify, &verdict, 1) < 0) { /* the parent is gone: nobody to tell */
    }
    close(*notify);
    *notify = -1;
}

void mm_daemon_detach(const char *log_file)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int log = log_file ? open(log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
    dup2(null, 0);
    dup2(null, 1);
    dup2(log >= 0 ? log : null, 2);
    if (log >= 0)
        close(log);
    close(null);
}
