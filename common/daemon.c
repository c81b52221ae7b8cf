/* daemon.c - fork into the background with a verdict for the parent (daemon.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mimir/daemon.h"
#include "mimir/clock.h"
#include "mimir/env.h"

static _Noreturn void exec_daemon(char *const argv[], int flags, const sigset_t *mask)
{
    char **env = mm_env_filtered();
    if (flags & MM_DAEMON_QUIET) {
        int null = open("/dev/null", O_RDWR);
        for (int fd = 0; fd < 3; fd++)
            dup2(null, fd);
    }
    sigprocmask(SIG_SETMASK, mask, NULL);
    (flags & MM_DAEMON_SEARCH ? execvpe : execve)(argv[0], argv, env ? env : (char *[]){NULL});
    fprintf(stderr, "%s: cannot run %s: %s\n", program_invocation_short_name, argv[0],
            strerror(errno));
    _exit(127);
}

int mm_daemon_start(char *const argv[], int flags, int timeout_ms)
{
    /* SIGCHLD held back so that sigtimedwait wakes at the exit, not 5 ms later. */
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    long long deadline = mm_clock_ms() + timeout_ms;
    int status = 0, saved = 0;
    pid_t pid = fork();
    if (pid == 0)
        exec_daemon(argv, flags, &old);
    if (pid < 0)
        saved = errno;
    while (pid > 0 && waitpid(pid, &status, WNOHANG) != pid) {
        int left = mm_clock_left_ms(deadline);
        if (!left) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            saved = ETIMEDOUT;
            break;
        }
        struct timespec ts = {left / 1000, left % 1000 * 1000000L};
        sigtimedwait(&chld, NULL, &ts);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (saved)
        return errno = saved, -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

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
