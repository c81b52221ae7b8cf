/* serve.c - the proxy server: listening, a session process per client, lifetime (see serve.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handoff.h"
#include "listen.h"
#include "log.h"
#include "loop.h"
#include "mimir/daemon.h"
#include "mimir/env.h"
#include "mimir/paths.h"
#include "mimir/proxywire.h"
#include "mimir/version.h"
#include "serve.h"

#define IDLE_EXIT_S 600    /* no session for this long: exit */
#define STOP_GRACE_MS 3000 /* a session ends within 2 s of SIGTERM (main.c) */
#define WATCH_MS 5000      /* how often the socket file is checked */
#define ACCEPT_PAUSE_MS 100 /* out of descriptors: try again after this */
#define MAX_SESSIONS 1024  /* more: the helper runs mimir-proxy itself */
#define SPARE_DELAY_MS 50  /* the next spare waits this long after a client came */

enum { EXIT_USAGE = 2, EXIT_RUNNING = 3 };

static const char usage[] =
    "usage: mimir-proxy --serve [--socket PATH] [--idle-exit SEC] [--foreground]\n"
    "                   [--log-file FILE] [--verbose]\n"
    "\n"
    "The proxy server: 'mimir-helper proxy' hands each MCP client's standard input,\n"
    "output and error to it, and it runs that client's session in a process of its\n"
    "own, forked with libcurl already loaded.  Started on demand by mimir-helper.\n"
    "\n"
    "  -s, --socket PATH     where to listen (default: proxy.sock next to the agent's\n"
    "                        socket)\n"
    "      --idle-exit SEC   exit after SEC without a session (default 600)\n"
    "  -f, --foreground      stay in the foreground, log to stderr\n"
    "      --log-file FILE   when daemonized, log here (default: nowhere)\n"
    "  -v, --verbose         debug logging (never includes credentials)\n"
    "\n"
    "Signals: SIGTERM/SIGINT end every session (each is DELETEd on its server), then\n"
    "the server.  Exit status: 0 stopped, 1 error, 2 usage, 3 another server runs.\n";

typedef struct {
    char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int idle_s;
    int foreground;
    const char *log_file;
} options;

typedef struct {
    const options *o;
    mm_loop *loop;
    int lfd, lock_fd, sigfd;
    dev_t dev; /* our socket file: removed or replaced, we retire */
    ino_t ino;
    pid_t *kids;
    int nkids, cap;
    pid_t spare;      /* forked ahead, waiting on lfd (handoff.h); 0: none */
    int spare_broken; /* the last one died without a client: we accept ourselves */
    uint64_t idle_timer, pause_timer, spare_timer;
    int stopping; /* signals received */
    sigset_t session_mask;
} server;

static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"serve", no_argument, NULL, 'S'},         {"socket", required_argument, NULL, 's'},
        {"idle-exit", required_argument, NULL, 'i'}, {"foreground", no_argument, NULL, 'f'},
        {"log-file", required_argument, NULL, 'l'}, {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},          {0, 0, 0, 0}};
    int ch;
    char *end;
    *o = (options){.idle_s = IDLE_EXIT_S};
    while ((ch = getopt_long(argc, argv, "s:fvh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'S': break;
        case 's':
            if (optarg[0] != '/' || strlen(optarg) >= sizeof(o->socket))
                return fprintf(stderr, "mimir-proxy: --socket needs an absolute path shorter "
                               "than %zu bytes\n", sizeof(o->socket)), EXIT_USAGE;
            snprintf(o->socket, sizeof(o->socket), "%s", optarg);
            break;
        case 'i':
            o->idle_s = (int)strtol(optarg, &end, 10);
            if (*end || o->idle_s < 1 || o->idle_s > 86400)
                return fputs("mimir-proxy: --idle-exit needs 1..86400 seconds\n", stderr),
                       EXIT_USAGE;
            break;
        case 'f': o->foreground = 1; break;
        case 'l': o->log_file = optarg; break;
        case 'v': mm_log_set_level(MM_LOG_DEBUG); break;
        case 'h': fputs(usage, stderr); exit(0); /* stdout may be an MCP client's */
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return fprintf(stderr, "mimir-proxy: unexpected argument '%s'\n%s", argv[optind], usage),
               EXIT_USAGE;
    if (!o->socket[0] && mm_proxywire_path(o->socket, sizeof(o->socket)) != MM_OK)
        return fputs("mimir-proxy: the socket path from the environment is invalid (relative "
                     "or too long)\n", stderr), EXIT_USAGE;
    if (o->log_file && o->log_file[0] != '/')
        return fputs("mimir-proxy: --log-file needs an absolute path\n", stderr), EXIT_USAGE;
    return 0;
}

/* ---- listening ----------------------------------------------------------------------------- */

static int listen_on(server *s, const char *path)
{
    char why[600];
    struct stat st;
    mm_err e = mm_listen_unix(path, "mimir-proxy server", 128, &s->lfd, &s->lock_fd, why,
                              sizeof(why));
    if (e == MM_OK && lstat(path, &st) < 0) {
        snprintf(why, sizeof(why), "cannot listen on %s: %s", path, strerror(errno));
        e = MM_ERR_IO;
    }
    if (e != MM_OK) {
        fprintf(stderr, "mimir-proxy: %s\n", why);
        return e == MM_ERR_AGENT_RUNNING ? EXIT_RUNNING : 1;
    }
    s->dev = st.st_dev; /* so that we never remove another server's socket */
    s->ino = st.st_ino;
    return 0;
}

static int owns_socket(const server *s)
{
    struct stat st;
    return lstat(s->o->socket, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino;
}

/* Take no more sessions: the socket goes (when it is still ours), and the
 * lock with it, so that a new server can start while these sessions end. */
static void retire(server *s)
{
    if (s->lfd < 0)
        return;
    if (s->spare) /* waiting, it dies of it; reaped as the spare still */
        kill(s->spare, SIGTERM);
    if (s->loop)
        mm_loop_del_fd(s->loop, s->lfd);
    if (owns_socket(s))
        unlink(s->o->socket);
    close(s->lfd);
    close(s->lock_fd);
    s->lfd = s->lock_fd = -1;
    if (s->pause_timer)
        mm_loop_del_timer(s->loop, s->pause_timer);
    s->pause_timer = 0;
}

/* ---- sessions ------------------------------------------------------------------------------ */

static void idle_expired(mm_loop *loop, void *data);

static void sessions_changed(server *s)
{
    if (s->nkids) {
        if (s->idle_timer)
            mm_loop_del_timer(s->loop, s->idle_timer);
        s->idle_timer = 0;
    } else if (s->stopping || s->lfd < 0) {
        mm_loop_stop(s->loop);
    } else if (!s->idle_timer) {
        s->idle_timer = mm_loop_add_timer(s->loop, (uint64_t)s->o->idle_s * 1000, idle_expired, s);
    }
}

/* Room for one more session in kids. */
static int kid_room(server *s)
{
    if (s->nkids < s->cap)
        return 0;
    int cap = s->cap ? s->cap * 2 : 16;
    pid_t *k = realloc(s->kids, (size_t)cap * sizeof(*k));
    if (!k)
        return -1;
    s->kids = k;
    s->cap = cap;
    return 0;
}

/* With room made by kid_room. */
static void add_kid(server *s, pid_t pid)
{
    s->kids[s->nkids++] = pid;
    mm_debug("session %ld started", (long)pid);
    sessions_changed(s);
}

/* The listening socket is the spare's while there is one, ours otherwise. */
static void listen_ourselves(server *s, int on)
{
    if (s->lfd >= 0 && !s->pause_timer)
        mm_loop_mod_fd(s->loop, s->lfd, on ? EPOLLIN : 0);
}

/* A spare for the next client, when sessions may still start. */
static void make_spare(server *s)
{
    if (s->spare || s->spare_broken || s->lfd < 0 || s->stopping || s->nkids >= MAX_SESSIONS ||
        kid_room(s) < 0) /* its place in kids once it takes a client */
        return;
    pid_t server_pid = getpid(), pid = fork();
    if (pid == 0)
        mm_handoff_spare(s->lfd, &s->session_mask, server_pid);
    if (pid < 0) {
        mm_warn("cannot fork a spare session process: %s", strerror(errno));
        return;
    }
    s->spare = pid;
    listen_ourselves(s, 0);
}

static void spare_due(mm_loop *loop, void *data)
{
    (void)loop;
    server *s = data;
    s->spare_timer = 0;
    make_spare(s);
}

/* The next spare comes a little later, so that its fork does not take the
 * processor from a session that is starting (clients that come meanwhile
 * are forked for, as without spares). */
static void spare_later(server *s)
{
    if (!s->spare && !s->spare_timer)
        s->spare_timer = mm_loop_add_timer(s->loop, SPARE_DELAY_MS, spare_due, s);
}

/* The spare took a client: it is a session now. */
static void spare_taken(server *s)
{
    pid_t pid = s->spare;
    s->spare = 0;
    listen_ourselves(s, 1);
    add_kid(s, pid);
    spare_later(s);
}

static void start_session(server *s, int conn)
{
    if (kid_room(s) < 0) {
        mm_error("out of memory: a session was refused");
        return;
    }
    pid_t server_pid = getpid(), pid = fork();
    if (pid == 0)
        mm_handoff_run(conn, &s->session_mask, server_pid);
    if (pid < 0) {
        mm_error("cannot start a session: fork: %s", strerror(errno));
        return;
    }
    add_kid(s, pid);
    s->spare_broken = 0; /* a fork works again: try a spare for the next one */
    spare_later(s);
}

static void resume_accepting(mm_loop *loop, void *data)
{
    server *s = data;
    s->pause_timer = 0;
    if (s->lfd >= 0 && !s->spare)
        mm_loop_mod_fd(loop, s->lfd, EPOLLIN);
}

static void on_listen(mm_loop *loop, int fd, uint32_t events, void *data)
{
    (void)events;
    server *s = data;
    for (;;) {
        int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                mm_warn("accept: %s; pausing for %d ms", strerror(errno), ACCEPT_PAUSE_MS);
                mm_loop_mod_fd(loop, fd, 0);
                s->pause_timer = mm_loop_add_timer(loop, ACCEPT_PAUSE_MS, resume_accepting, s);
            }
            return;
        }
        if (s->nkids >= MAX_SESSIONS)
            mm_warn("%d sessions run already; refused one (mimir-helper runs it itself)",
                    s->nkids);
        else if (mm_handoff_peer_ok(conn))
            start_session(s, conn);
        close(conn); /* the session process has its own */
    }
}

static void reap(server *s)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == s->spare) {
            s->spare = 0;
            if (s->lfd >= 0) { /* not by us: do without spares until a fork works */
                mm_warn("the spare session process %ld died (status 0x%x); taking clients "
                        "ourselves", (long)pid, (unsigned)status);
                s->spare_broken = 1;
                listen_ourselves(s, 1);
            }
            continue;
        }
        for (int i = 0; i < s->nkids; i++)
            if (s->kids[i] == pid) {
                s->kids[i] = s->kids[--s->nkids];
                break;
            }
        if (WIFSIGNALED(status))
            mm_warn("session %ld ended by signal %d", (long)pid, WTERMSIG(status));
        else
            mm_debug("session %ld ended (exit status %d)", (long)pid, WEXITSTATUS(status));
    }
    spare_later(s); /* below MAX_SESSIONS again, maybe */
    sessions_changed(s);
}

static void kill_sessions(server *s, int sig)
{
    for (int i = 0; i < s->nkids; i++)
        kill(s->kids[i], sig); /* not reaped yet: the pid is still theirs */
}

/* ---- lifetime -------------------------------------------------------------------------------- */

static void on_signal(mm_loop *loop, int fd, uint32_t events, void *data);

static void idle_expired(mm_loop *loop, void *data)
{
    server *s = data;
    s->idle_timer = 0;
    on_signal(loop, s->sigfd, EPOLLIN, s); /* a spare that took a client just now */
    if (s->lfd >= 0 && !s->spare) /* one that connected just now still gets served */
        on_listen(loop, s->lfd, EPOLLIN, s);
    if (s->nkids)
        return;
    mm_info("no session for %d s; exiting", s->o->idle_s);
    retire(s);
    mm_loop_stop(loop);
}

static void watch_socket(mm_loop *loop, void *data)
{
    server *s = data;
    if (s->lfd >= 0 && !owns_socket(s)) {
        mm_warn("%s was removed or replaced; taking no more sessions", s->o->socket);
        retire(s);
        sessions_changed(s);
    }
    mm_loop_add_timer(loop, WATCH_MS, watch_socket, s);
}

static void stop_timeout(mm_loop *loop, void *data)
{
    server *s = data;
    mm_warn("%d session(s) did not end in time; killing them", s->nkids);
    kill_sessions(s, SIGKILL);
    mm_loop_stop(loop);
}

static void on_signal(mm_loop *loop, int fd, uint32_t events, void *data)
{
    (void)events;
    server *s = data;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGCHLD: reap(s); break;
        case MM_HANDOFF_TAKEN_SIGNAL:
            if (s->spare && (pid_t)si.ssi_pid == s->spare)
                spare_taken(s);
            break;
        case SIGUSR1: /* a session met a helper of another protocol version (handoff.c) */
            if (s->lfd >= 0)
                mm_info("a helper speaks another protocol version; taking no more sessions");
            retire(s);
            sessions_changed(s);
            break;
        case SIGHUP: break; /* nothing to reload */
        default:
            if (s->stopping++) { /* asked twice */
                kill_sessions(s, SIGKILL);
                mm_loop_stop(loop);
                break;
            }
            mm_info("signal %u: ending %d session(s)", si.ssi_signo, s->nkids);
            retire(s);
            kill_sessions(s, SIGTERM);
            mm_loop_add_timer(loop, STOP_GRACE_MS, stop_timeout, s);
            sessions_changed(s);
        }
    }
}

static int setup_signals(server *s)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, MM_HANDOFF_TAKEN_SIGNAL);
    sigprocmask(SIG_BLOCK, &set, &old);
    signal(SIGPIPE, SIG_IGN);
    /* Sessions start with the mask we had, SIGTERM, SIGINT and SIGHUP still
     * blocked: one that comes before the session watches them waits for it. */
    s->session_mask = old;
    sigaddset(&s->session_mask, SIGTERM);
    sigaddset(&s->session_mask, SIGINT);
    sigaddset(&s->session_mask, SIGHUP);
    s->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return s->sigfd < 0 ? -1 : mm_loop_add_fd(s->loop, s->sigfd, EPOLLIN, on_signal, s);
}

/* ---- the daemon ------------------------------------------------------------------------------ */

static int serve(server *s)
{
    if (!(s->loop = mm_loop_new()) || setup_signals(s) < 0 ||
        mm_loop_add_fd(s->loop, s->lfd, EPOLLIN, on_listen, s) < 0 ||
        !mm_loop_add_timer(s->loop, WATCH_MS, watch_socket, s))
        return -1;
    sessions_changed(s);
    return 0;
}

int mm_serve_main(int argc, char **argv)
{
    options o;
    server s = {.o = &o, .lfd = -1, .lock_fd = -1, .sigfd = -1};
    int notify = -1, rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    mm_log_set_name("mimir-proxy");
    mm_env_restrict(); /* it lives long, started from an MCP client's environment */
    if (!o.foreground && mm_daemon_fork(&notify) < 0)
        return fprintf(stderr, "mimir-proxy: fork: %s\n", strerror(errno)), 1;
    if ((rc = listen_on(&s, o.socket)) == 0 && serve(&s) < 0) {
        fprintf(stderr, "mimir-proxy: cannot set up the event loop: %s\n", strerror(errno));
        rc = 1;
    }
    if (!rc && !o.foreground)
        mm_daemon_detach(o.log_file);
    if (!rc)
        mm_info("mimir-proxy %s serving sessions on %s (pid %ld)", MIMIR_VERSION, o.socket,
                (long)getpid());
    mm_daemon_ready(&notify, (char)rc);
    if (!rc)
        make_spare(&s); /* detached: it has the log for its stderr */
    if (!rc && mm_loop_run(s.loop) < 0) {
        mm_error("the event loop failed: %s", strerror(errno));
        rc = 1;
    }
    retire(&s);
    kill_sessions(&s, SIGKILL); /* only those that outstayed the grace period */
    while (s.nkids && waitpid(-1, NULL, 0) > 0)
        s.nkids--;
    if (s.sigfd >= 0)
        close(s.sigfd);
    mm_loop_free(s.loop);
    free(s.kids);
    mm_info("stopped");
    return rc;
}
