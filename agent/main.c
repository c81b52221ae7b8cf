/*
 * main.c - mimir-agent: option parsing, process hardening, the allow-listed
 * environment, daemonizing, and the event loop's lifetime.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "agent.h"
#include "desktop.h"
#include "flow.h"
#include "log.h"
#include "mimir/daemon.h"
#include "mimir/env.h"
#include "mimir/paths.h"
#include "mimir/secmem.h"
#include "mimir/version.h"
#include "ops.h"
#include "profiles.h"
#include "refresh.h"
#include "server.h"
#include "store.h"

/* Exit statuses of the agent itself. */
enum { EXIT_USAGE = 2, EXIT_RUNNING = 3 };

static const char usage[] =
    "usage: mimir-agent [options]\n"
    "\n"
    "Per-user credential agent for Mimir.  Keeps refresh tokens and API keys in\n"
    "the keyring and serves short-lived access tokens on a Unix socket.\n"
    "Normally started by mimir-helper or by systemd (mimir-agent.socket).\n"
    "\n"
    "  -f, --foreground         stay in the foreground, log to stderr\n"
    "  -s, --socket PATH        socket path (default: $MIMIR_AGENT_SOCK, else\n"
    "                           $XDG_RUNTIME_DIR/mimir/agent.sock, else\n"
    "                           /tmp/mimir-$UID/agent.sock)\n"
    "  -c, --config FILE        config file (default: $MIMIR_CONFIG, else\n"
    "                           $XDG_CONFIG_HOME/mimir/config.json)\n"
    "      --idle-timeout SEC   close idle client connections after SEC (default 60)\n"
    "      --login-timeout SEC  abandon an unfinished login after SEC (default 300)\n"
    "      --http-timeout SEC   deadline of each call to the identity provider\n"
    "                           (default 15; connecting gets at most 5)\n"
    "      --keyring-timeout SEC  deadline of each keyring call, an unlock prompt\n"
    "                           included (default 30)\n"
    "      --max-connections N  clients served at once (default: 4096, or what the\n"
    "                           file descriptor limit allows)\n"
    "      --log-file FILE      when daemonized, log here (default: none)\n"
    "  -v, --verbose            debug logging (never includes secrets)\n"
    "  -h, --help               this help\n"
    "  -V, --version            print the version\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads the config.\n"
    "Exit status: 0 stopped, 1 error, 2 usage, 3 another agent serves the socket.\n";

typedef struct {
    int foreground;
    char socket[108];
    char log_file_buf[4096];
    char *log_file;
    int idle_timeout;
    int max_conns;
} options;

static int absolutize(char *path, size_t len)
{
    char cwd[4096], tmp[8200];
    if (path[0] == '/')
        return 0;
    if (!getcwd(cwd, sizeof(cwd)))
        return -1;
    int n = snprintf(tmp, sizeof(tmp), "%s/%s", cwd, path);
    if (n < 0 || (size_t)n >= len)
        return -1;
    memcpy(path, tmp, (size_t)n + 1);
    return 0;
}

/* A whole number of seconds in 1..max, else -1. */
static int seconds(const char *s, int max)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= 1 && v <= max ? (int)v : -1;
}

static int bad_usage(const char *msg)
{
    fprintf(stderr, "mimir-agent: %s\n(see 'mimir-agent --help')\n", msg);
    return EXIT_USAGE;
}

static int parse_args(int argc, char **argv, options *o, mm_agent *a)
{
    enum { OPT_IDLE = 256, OPT_LOGIN, OPT_LOGFILE, OPT_HTTP, OPT_KEYRING, OPT_MAXCONN };
    static const struct option longopts[] = {
        {"foreground", no_argument, NULL, 'f'},  {"socket", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'}, {"idle-timeout", required_argument, NULL, OPT_IDLE},
        {"login-timeout", required_argument, NULL, OPT_LOGIN},
        {"log-file", required_argument, NULL, OPT_LOGFILE},
        {"http-timeout", required_argument, NULL, OPT_HTTP},
        {"keyring-timeout", required_argument, NULL, OPT_KEYRING},
        {"max-connections", required_argument, NULL, OPT_MAXCONN},
        {"verbose", no_argument, NULL, 'v'},     {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},     {0, 0, 0, 0}};
    int ch, t;
    while ((ch = getopt_long(argc, argv, "fs:c:vhV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'f': o->foreground = 1; break;
        case 's':
            if (optarg[0] != '/' || strlen(optarg) >= sizeof(o->socket))
                return bad_usage("--socket needs an absolute path shorter than 108 bytes");
            snprintf(o->socket, sizeof(o->socket), "%s", optarg);
            break;
        case 'c': snprintf(a->config_path, sizeof(a->config_path), "%s", optarg); break;
        case OPT_IDLE: o->idle_timeout = seconds(optarg, 86400); break;
        case OPT_LOGIN: a->login_timeout_s = seconds(optarg, 86400); break;
        case OPT_HTTP: a->http_timeout_ms = (t = seconds(optarg, 600)) > 0 ? t * 1000 : -1; break;
        case OPT_KEYRING:
            a->keyring_timeout_ms = (t = seconds(optarg, 3600)) > 0 ? t * 1000 : -1;
            break;
        case OPT_MAXCONN: o->max_conns = seconds(optarg, 1000000); break;
        case OPT_LOGFILE:
            snprintf(o->log_file_buf, sizeof(o->log_file_buf), "%s", optarg);
            o->log_file = o->log_file_buf;
            break;
        case 'v': mm_log_set_level(MM_LOG_DEBUG); break;
        case 'h': fputs(usage, stdout); exit(0);
        case 'V': puts("mimir-agent " MIMIR_VERSION); exit(0);
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mimir-agent: unexpected argument '%s'\n%s", argv[optind], usage);
        return EXIT_USAGE;
    }
    if (o->idle_timeout <= 0 || a->login_timeout_s <= 0 || a->http_timeout_ms <= 0 ||
        a->keyring_timeout_ms <= 0 || o->max_conns < 0)
        return bad_usage("timeouts are whole seconds: idle and login 1..86400, http 1..600, "
                         "keyring 1..3600; --max-connections a positive number");
    if (!o->socket[0] && mm_socket_path(o->socket, sizeof(o->socket)) != MM_OK)
        return bad_usage("socket path from the environment is invalid (relative or longer "
                         "than 107 bytes)");
    if (!a->config_path[0] && mm_config_path(a->config_path, sizeof(a->config_path)) != MM_OK)
        return bad_usage("cannot derive the config path: set MIMIR_CONFIG or HOME");
    if (mm_vault_path(a->vault_path, sizeof(a->vault_path)) != MM_OK)
        return bad_usage("cannot derive the vault path: set XDG_DATA_HOME or HOME");
    /* Daemonizing changes to "/": anchor relative paths to where we started. */
    if (absolutize(a->config_path, sizeof(a->config_path)) < 0 ||
        (o->log_file && absolutize(o->log_file_buf, sizeof(o->log_file_buf)) < 0))
        return bad_usage("path too long");
    return 0;
}

/* Secrets live in this process: no core dumps, no ptrace by other
 * same-uid processes that are not our ancestors (dumpable=0 also makes
 * /proc/PID/mem and environ unreadable to them). */
static rlim_t harden(void)
{
    struct rlimit rl;
    mm_secmem_nodump();
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max && rl.rlim_max > 0) {
        rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    return getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
}

/*
 * Stopping in the middle of a refresh could lose the login: the IdP may
 * already have rotated the refresh token whose successor we would never
 * store.  So a stop waits for refreshes and their keyring writes, bounded:
 * a refresh in flight gets the HTTP deadline, a keyring write a few seconds;
 * then keyring calls are cancelled, so a hung keyring cannot hold us.
 */
#define DRAIN_POLL_MS 50
#define DRAIN_KEYRING_MS 3000

static void drain_then_stop(mm_loop *loop, void *data)
{
    mm_agent *a = data;
    if (!mm_profiles_busy(a) || mm_now_ms() >= a->stop_deadline_ms) {
        mm_loop_stop(loop);
        return;
    }
    mm_loop_add_timer(loop, DRAIN_POLL_MS, drain_then_stop, a);
}

static int refreshing(const mm_agent *a)
{
    for (const mm_profile *p = a->profiles; p; p = p->next)
        if (p->state == MM_PS_REFRESHING)
            return 1;
    return 0;
}

static void on_signal(mm_loop *loop, int fd, uint32_t events, void *data)
{
    (void)events;
    mm_agent *a = data;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            char why[512];
            if (mm_profiles_load(a, why, sizeof(why)) != MM_OK)
                mm_warn("reload failed, keeping the previous config: %s", why);
            else
                mm_info("configuration reloaded (SIGHUP)");
        } else if (!a->stop_deadline_ms) {
            mm_info("signal %u: shutting down", si.ssi_signo);
            a->stop_deadline_ms = mm_now_ms() + DRAIN_KEYRING_MS +
                                  (refreshing(a) ? (uint64_t)a->http_timeout_ms : 0);
            drain_then_stop(loop, a);
        } else { /* asked twice: the user means it */
            mm_loop_stop(loop);
        }
    }
}

static int setup_signals(mm_agent *a)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL); /* before threads start: they inherit it */
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0 || mm_loop_add_fd(a->loop, fd, EPOLLIN, on_signal, a) < 0)
        return -1;
    return fd;
}

#define WAKE_CHECK_MS 30000

static void wake_check(mm_loop *loop, void *data)
{
    mm_refresh_check_all(data);
    mm_loop_add_timer(loop, WAKE_CHECK_MS, wake_check, data);
}

/* The loop, the worker (one thread: keyring operations then run in the
 * order they were submitted, so a logout's erase can never be overtaken by
 * the save of a rotated token submitted before it), HTTP, the profiles and
 * the server.  Returns the server or NULL. */
static mm_server *start(mm_agent *a, const options *o, int lfd, rlim_t nofile, int *sfd)
{
    mm_store_init(); /* before the worker and desktop threads: see there */
    a->loop = mm_loop_new();
    *sfd = a->loop ? setup_signals(a) : -1;
    a->worker = *sfd >= 0 ? mm_worker_new(a->loop, 1) : NULL;
    a->http = a->worker ? mm_http_new(a->loop) : NULL;
    if (!a->http)
        return NULL;
    mm_ops_init(a);
    if (!(a->desktop = mm_desktop_new(a->loop, mm_ops_signin, a)))
        mm_warn("desktop notifications are off: cannot start their thread");
    char why[600];
    if (mm_profiles_load(a, why, sizeof(why)) != MM_OK)
        mm_error("%s (starting with no profiles; fix the file and send SIGHUP or run "
                 "'mimir-helper reload')", why);
    /* Room for the listener, the keyring, HTTP and the loopback listener. */
    int cap = nofile > 128 ? (int)(nofile - 64) : 64;
    int max_conns = o->max_conns ? o->max_conns : 4096;
    mm_server_opts sopts = {.idle_timeout_ms = o->idle_timeout * 1000, .line_timeout_ms = 10000,
                            .max_conns = max_conns < cap ? max_conns : cap};
    return mm_server_new(a->loop, lfd, &sopts, mm_ops_on_line, a);
}

/* Everything that is still in flight ends here, in an order that lets each
 * part answer whoever waits on it: keyring calls are cut short, transfers
 * aborted (their callbacks see a->stopping), pending keyring results
 * delivered, profiles dropped (answering their waiters), and only then the
 * connections closed. */
static int stop(mm_agent *a)
{
    a->stopping = 1;
    mm_store_cancel_all();
    mm_http_free(a->http);
    if (mm_worker_free(a->worker) < 0)
        return -1; /* a thread still runs in the keyring library: touch nothing */
    mm_desktop_free(a->desktop);
    mm_profiles_free(a);
    mm_flow_cache_clear();
    return 0;
}

int main(int argc, char **argv)
{
    static mm_agent agent = {.login_timeout_s = 300, .http_timeout_ms = 15000,
                             .keyring_timeout_ms = 30000};
    mm_agent *a = &agent;
    options o = {.idle_timeout = 60};
    mm_env_restrict();
    int rc = parse_args(argc, argv, &o, a);
    if (rc)
        return rc;
    rlim_t nofile = harden();
    if (mm_secret_init() != MM_OK || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "mimir-agent: cannot initialise libsodium/libcurl\n");
        return 1;
    }
    int notify = -1, lfd, lock_fd, sfd = -1;
    if (!o.foreground && mm_daemon_fork(&notify) < 0) {
        perror("mimir-agent: fork");
        return 1;
    }
    char why[600];
    mm_err e = mm_server_listen(o.socket, &lfd, &lock_fd, why, sizeof(why));
    if (e != MM_OK) {
        fprintf(stderr, "mimir-agent: %s\n", why);
        rc = e == MM_ERR_AGENT_RUNNING ? EXIT_RUNNING : 1;
        mm_daemon_ready(&notify, (char)rc);
        return rc;
    }
    /* From here on a daemon logs to --log-file or nowhere: not into the
     * stderr of the MCP client whose helper started it. */
    if (notify >= 0)
        mm_daemon_detach(o.log_file);
    a->server = start(a, &o, lfd, nofile, &sfd);
    if (!a->server) {
        mm_error("cannot set up the event loop or serve %s", o.socket);
        mm_daemon_ready(&notify, 1);
        return 1;
    }
    if (lock_fd >= 0) /* socket-activated sockets belong to systemd */
        mm_server_watch(a->server, o.socket);
    mm_info("mimir-agent %s listening on %s (pid %ld)", MIMIR_VERSION, o.socket, (long)getpid());
    mm_daemon_ready(&notify, 0);
    mm_loop_add_timer(a->loop, WAKE_CHECK_MS, wake_check, a);
    rc = mm_loop_run(a->loop) < 0 ? 1 : 0;
    if (rc)
        mm_error("the event loop failed: %s; stopping", strerror(errno));
    if (stop(a) < 0) {
        if (lock_fd >= 0 && mm_server_owns_socket(a->server))
            unlink(o.socket);
        mm_info("stopped");
        _exit(rc);
    }
    if (lock_fd >= 0 && mm_server_owns_socket(a->server)) /* never another agent's */
        unlink(o.socket);
    mm_server_free(a->server);
    close(lfd);
    close(sfd);
    mm_loop_free(a->loop);
    curl_global_cleanup();
    mm_info("stopped");
    return rc;
}
