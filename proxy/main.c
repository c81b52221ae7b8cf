/*
 * main.c - mimir-proxy: a stdio MCP server that forwards every message to
 * a Mimir server's Streamable HTTP endpoint, each request with the
 * credential mimir-agent holds at that moment.  `mimir-helper proxy` has a
 * session process of the proxy server (serve.c) run it, or runs it itself;
 * docs/architecture.md ("The MCP proxy") says why it is a program of its
 * own and why a server.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ctx.h"
#include "doctor.h"
#include "log.h"
#include "main.h"
#include "mimir/client.h"
#include "mimir/config.h"
#include "mimir/paths.h"
#include "mimir/secmem.h"
#include "mimir/version.h"
#include "secret.h"
#include "serve.h"
#include "session.h"

#define AGENT_REPLY_TIMEOUT_MS 30000
#define STARTUP_TIMEOUT_MS 10000
#define STOP_GRACE_MS 2000

static const char usage_text[] =
    "usage: mimir-proxy [--profile NAME] [--request-timeout SEC] [--verbose] [URL]\n"
    "\n"
    "A stdio MCP server for clients that can only launch commands: reads JSON-RPC\n"
    "messages, one per line, on standard input and sends each to the Mimir server's\n"
    "Streamable HTTP endpoint (URL, else the profile's server_url) with a credential\n"
    "fresh from mimir-agent; answers and server messages come back on standard\n"
    "output.  On HTTP 401 it asks the agent for a new credential and retries once.\n"
    "Normally run as 'mimir-helper proxy'.\n"
    "\n"
    "  -p, --profile NAME        the profile (default: the default profile)\n"
    "  -T, --request-timeout SEC how long one request may take, answer included\n"
    "                            (default 600)\n"
    "  -v, --verbose             more diagnostics on standard error\n"
    "  -h, --help, -V, --version\n"
    "\n"
    "Exit status: 0 at the end of input or on SIGTERM; 2 usage; 3 agent unreachable;\n"
    "1 other errors before the first message.\n"
    "\n"
    "mimir-proxy --serve [options]: the proxy server that 'mimir-helper proxy' hands\n"
    "its MCP client to (see 'mimir-proxy --serve --help').\n";

typedef struct {
    const char *profile;
    const char *url;
    int request_timeout_s;
    int verbose;
} options;

static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"profile", required_argument, NULL, 'p'}, {"request-timeout", required_argument, NULL, 'T'},
        {"verbose", no_argument, NULL, 'v'},       {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},       {0, 0, 0, 0}};
    int ch;
    *o = (options){.request_timeout_s = 600};
    optind = 0; /* a session process of the server parses after the server did */
    while ((ch = getopt_long(argc, argv, "p:T:vhV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p': o->profile = optarg; break;
        case 'T':
            o->request_timeout_s = atoi(optarg);
            if (o->request_timeout_s <= 0 || o->request_timeout_s > 86400) {
                fprintf(stderr, "mimir-proxy: --request-timeout needs 1..86400 seconds\n");
                return MM_EXIT_USAGE;
            }
            break;
        case 'v': o->verbose = 1; break;
        case 'h': fputs(usage_text, stdout); exit(0);
        case 'V': puts("mimir-proxy " MIMIR_VERSION); exit(0);
        default: fputs(usage_text, stderr); return MM_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        fprintf(stderr, "mimir-proxy: one URL at most (got '%s' and '%s')\n", argv[optind],
                argv[optind + 1]);
        return MM_EXIT_USAGE;
    }
    o->url = optind < argc ? argv[optind] : NULL;
    return 0;
}

/* ---- the profile: name and server, asked of the agent once ---------------------------------- */

typedef struct {
    char name[MM_PROFILE_NAME_MAX + 1];
    char *server_url;
    char *ca_file;
} profile_info;

static const cJSON *find_profile(const cJSON *reply, const char *want)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(reply, "profile"), *it;
    if (cJSON_IsObject(p))
        return p;
    const char *def = mm_json_str(reply, "default_profile");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(reply, "profiles"))
    {
        const char *n = mm_json_str(it, "name");
        if (n && def && !strcmp(n, want ? want : def))
            return it;
    }
    return NULL;
}

/* The profile's CA file, if it names one, also verifies the MCP server. */
static char *profile_ca_file(const char *name)
{
    char path[4096], why[512];
    mm_config cfg;
    if (mm_config_path(path, sizeof(path)) != MM_OK ||
        mm_config_load(path, &cfg, why, sizeof(why)) != MM_OK)
        return NULL;
    const mm_profile_cfg *p = mm_config_find(&cfg, name);
    char *ca = p && p->ca_file ? strdup(p->ca_file) : NULL;
    mm_config_free(&cfg);
    return ca;
}

static int fail(mm_err e, const char *msg)
{
    fprintf(stderr, "mimir-proxy: %s\n", msg);
    return mm_err_exit_status(e);
}

static int ask_profile(const char *want, profile_info *pi)
{
    mm_client cl;
    mm_response resp;
    mm_err e = mm_client_open(&cl, STARTUP_TIMEOUT_MS, 1);
    if (e != MM_OK)
        return fail(e, cl.why);
    e = mm_client_call(&cl, mm_proto_request(MM_OP_STATUS, 0, want), &resp);
    mm_client_close(&cl);
    if (e != MM_OK)
        return fail(e, cl.why);
    if (!resp.ok) {
        int rc = fail(resp.err, resp.message ? resp.message : mm_err_describe(resp.err));
        mm_response_free(&resp);
        return rc;
    }
    const cJSON *p = find_profile(resp.root, want);
    const char *name = p ? mm_json_str(p, "name") : NULL, *url = p ? mm_json_str(p, "server_url") : NULL;
    if (name)
        snprintf(pi->name, sizeof(pi->name), "%s", name);
    pi->server_url = url ? strdup(url) : NULL;
    mm_response_free(&resp);
    if (!name)
        return fail(MM_ERR_UNKNOWN_PROFILE, "no default profile; add one with 'mimir-helper "
                    "profile add' or pass --profile");
    pi->ca_file = profile_ca_file(pi->name);
    return 0;
}

/* ---- running ---------------------------------------------------------------------------------- */

typedef struct {
    mm_ctx ctx;
    mm_session *session;
    int sigfd;
    int signals;
} proxy;

static void finished(void *arg)
{
    proxy *p = arg;
    mm_loop_stop(p->ctx.loop);
}

static void out_changed(void *arg)
{
    proxy *p = arg;
    if (p->session)
        mm_session_check(p->session);
}

static void hard_stop(mm_loop *loop, void *data)
{
    (void)data;
    mm_warn("stopping without waiting any longer");
    mm_loop_stop(loop);
}

/* A signal, or its word from mimir-helper: end the session (what is in
 * flight is abandoned, the session DELETEd); a second one: now. */
static void stop_requested(proxy *p, unsigned signo)
{
    if (p->signals++) {
        mm_loop_stop(p->ctx.loop);
        return;
    }
    mm_debug("signal %u: ending the session", signo);
    mm_loop_add_timer(p->ctx.loop, STOP_GRACE_MS, hard_stop, p);
    mm_session_stop(p->session);
}

static void on_signal(mm_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)events;
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        stop_requested(data, si.ssi_signo);
}

/* The connection to mimir-helper (a session of the proxy server): a byte
 * for each signal the helper got; its end means the helper is gone, and
 * nobody is left to wait for this session. */
static void on_helper(mm_loop *loop, int fd, uint32_t events, void *data)
{
    (void)events;
    proxy *p = data;
    unsigned char sig[16];
    ssize_t n = read(fd, sig, sizeof(sig));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        mm_loop_del_fd(loop, fd);
        if (!p->signals) {
            mm_info("mimir-helper is gone; ending the session");
            stop_requested(p, 0);
        }
        return;
    }
    for (ssize_t i = 0; i < n; i++)
        stop_requested(p, sig[i]);
}

static int setup_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed stdout shows up as EPIPE */
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int run(const options *o, const profile_info *pi, int helper_fd)
{
    proxy p = {0};
    int rc = 1;
    p.ctx = (mm_ctx){.url = o->url ? o->url : pi->server_url, .ca_file = pi->ca_file,
                     .profile = pi->name, .request_timeout_ms = o->request_timeout_s * 1000};
    if (!(p.ctx.loop = mm_loop_new()) || !(p.ctx.http = mm_http_new(p.ctx.loop)) ||
        !(p.ctx.agent = mm_agentconn_new(p.ctx.loop, pi->name, AGENT_REPLY_TIMEOUT_MS)) ||
        !(p.ctx.out = mm_out_new(p.ctx.loop, STDOUT_FILENO, out_changed, &p)) ||
        (p.sigfd = setup_signals()) < 0 ||
        mm_loop_add_fd(p.ctx.loop, p.sigfd, EPOLLIN, on_signal, &p) < 0 ||
        (helper_fd >= 0 && (fcntl(helper_fd, F_SETFL, O_NONBLOCK) < 0 ||
                            mm_loop_add_fd(p.ctx.loop, helper_fd, EPOLLIN, on_helper, &p) < 0)) ||
        !(p.session = mm_session_new(&p.ctx, STDIN_FILENO, finished, &p))) {
        fail(MM_ERR_INTERNAL, "cannot set up (out of memory or descriptors)");
        goto out;
    }
    mm_info("profile %s, server %s", pi->name, p.ctx.url);
    rc = mm_loop_run(p.ctx.loop) < 0 ? 1 : 0;
out:
    mm_session_free(p.session);
    mm_out_free(p.ctx.out);
    mm_agentconn_free(p.ctx.agent);
    mm_http_free(p.ctx.http);
    if (p.sigfd > 0)
        close(p.sigfd);
    mm_loop_free(p.ctx.loop);
    free(p.ctx.session_id);
    free(p.ctx.protocol_version);
    return rc;
}

/* What a process that holds credentials needs first: no core dumps, no
 * ptrace by others (the flag survives fork: the server's session processes
 * have it too), libsodium and libcurl. */
static int init_process(void)
{
    mm_secmem_nodump();
    if (mm_secret_init() != MM_OK || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return fail(MM_ERR_INTERNAL, "cannot initialise libsodium or libcurl");
    return 0;
}

int mm_main_session(int argc, char **argv, int helper_fd)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    mm_log_set_name("mimir-proxy");
    mm_log_set_level(o.verbose ? MM_LOG_DEBUG : MM_LOG_INFO);
    if (helper_fd < 0 && (rc = init_process()))
        return rc;
    profile_info pi = {0};
    if ((rc = ask_profile(o.profile, &pi)))
        return rc;
    const char *url = o.url ? o.url : pi.server_url;
    char why[600];
    if (!url) {
        snprintf(why, sizeof(why), "profile %s has no server_url: pass the URL, or set it with "
                 "'mimir-helper profile add %s --url URL'", pi.name, pi.name);
        rc = fail(MM_ERR_USAGE, why);
    } else if (mm_url_check_secure(url, why, sizeof(why)) != MM_OK) {
        rc = fail(MM_ERR_USAGE, why);
    } else {
        rc = run(&o, &pi, helper_fd);
    }
    free(pi.server_url);
    free(pi.ca_file);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--doctor-idp")) /* mimir-helper doctor (doctor.h) */
        return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK
                   ? mm_proxy_doctor_main(argc - 1, argv + 1)
                   : fail(MM_ERR_INTERNAL, "cannot initialise libcurl");
    int rc;
    if (argc > 1 && !strcmp(argv[1], "--serve")) /* serve.h: loaded and set up once, here */
        rc = (rc = init_process()) ? rc : mm_serve_main(argc, argv);
    else
        rc = mm_main_session(argc, argv, -1);
    curl_global_cleanup();
    return rc;
}
