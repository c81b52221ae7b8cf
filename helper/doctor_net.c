/* doctor_net.c - identity provider and MCP server checks (see doctor_net.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doctor_net.h"
#include "mimir/clock.h"
#include "mimir/proto.h"
#include "mimir/version.h"

#define SKEW_MAX_S 30 /* ID tokens carry iat/exp in seconds; a minute off breaks logins */

typedef struct {
    char out[16384]; /* standard output: the first line is the answer */
    size_t out_len;
    char err[1024];  /* standard error, for the message */
    size_t err_len;
    int timed_out;
} child_io;

/* mimir-proxy next to this helper ($MIMIR_PROXY_BIN wins, as for `proxy`). */
static void proxy_path(const mm_doctor *d, char *buf, size_t len)
{
    const char *env = getenv("MIMIR_PROXY_BIN");
    const char *slash = strrchr(d->self, '/');
    if (env && *env)
        snprintf(buf, len, "%s", env);
    else
        snprintf(buf, len, "%.*s/mimir-proxy", slash ? (int)(slash - d->self) : 0, d->self);
}

static void drain(int fd, char *buf, size_t cap, size_t *len, int *open)
{
    ssize_t n = read(fd, buf + *len, cap - 1 - *len);
    if (n > 0)
        *len += (size_t)n;
    else if (n == 0 || (errno != EINTR && errno != EAGAIN))
        *open = 0;
    buf[*len] = '\0';
    if (*len == cap - 1)
        *open = 0;
}

/* Run argv with input on its standard input; collect until the first line
 * of output (or its end), within timeout_ms; then close its input, which
 * ends the proxy, and reap it (killed if it lingers). */
static void run_child(char *const argv[], const char *input, int timeout_ms, child_io *io)
{
    int in[2], out[2], err[2];
    memset(io, 0, sizeof(*io));
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
        snprintf(io->err, sizeof(io->err), "cannot make pipes: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0), dup2(out[1], 1), dup2(err[1], 2);
        execv(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]), close(out[1]), close(err[1]);
    signal(SIGPIPE, SIG_IGN);
    if (pid > 0 && input && write(in[1], input, strlen(input)) < 0)
        snprintf(io->err, sizeof(io->err), "%s did not take its input", argv[0]);
    long long deadline = mm_clock_ms() + timeout_ms;
    int out_open = pid > 0, err_open = pid > 0;
    while (out_open && !memchr(io->out, '\n', io->out_len)) {
        int left = mm_clock_left_ms(deadline);
        if (!left) {
            io->timed_out = 1;
            break;
        }
        struct pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], err_open ? POLLIN : 0, 0}};
        if (poll(p, 2, left) <= 0)
            continue;
        if (p[0].revents)
            drain(out[0], io->out, sizeof(io->out), &io->out_len, &out_open);
        if (p[1].revents)
            drain(err[0], io->err, sizeof(io->err), &io->err_len, &err_open);
    }
    close(in[1]);
    for (int i = 0; pid > 0 && i < 200 && waitpid(pid, NULL, WNOHANG) == 0; i++)
        poll(NULL, 0, 10);
    if (pid > 0 && waitpid(pid, NULL, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    while (err_open) /* whatever it said before it ended */
        drain(err[0], io->err, sizeof(io->err), &io->err_len, &err_open);
    close(out[0]), close(err[0]);
    io->err[strcspn(io->err, "\n")] = '\0';
}

static cJSON *first_line_json(const child_io *io)
{
    size_t n = strcspn(io->out, "\n");
    return n ? mm_json_parse(io->out, n) : NULL;
}

static void idp_tls(mm_doctor *d, const mm_profile_cfg *p, const cJSON *r, const char *code,
                    const char *msg)
{
    char fix[4400];
    const char *tls = mm_json_str(r, "tls");
    const char *against = p->ca_file ? p->ca_file : "the system's CAs";
    if (code && !strcmp(code, "tls_error")) {
        if (p->ca_file)
            snprintf(fix, sizeof(fix), "ca_file %s does not vouch for this server: point the "
                     "profile's ca_file at the CA that issued its certificate", p->ca_file);
        else
            snprintf(fix, sizeof(fix), "a private CA? add it to the profile: 'mimir-helper "
                     "profile add %s ... --ca-file /path/to/ca.pem' (or \"ca_file\" in the "
                     "config)", p->name);
        mm_dr_report(d, MM_DR_FAIL, "TLS", fix, "verification against %s failed: %s", against,
                     msg);
    } else if (code && strcmp(code, "idp_error") != 0)
        mm_dr_report(d, MM_DR_SKIP, "TLS", NULL, "not checked: no connection");
    else if (tls && !strcmp(tls, "plain-loopback"))
        mm_dr_report(d, MM_DR_PASS, "TLS", NULL, "none: plain http on the loopback interface "
                     "(allowed for local identity providers only)");
    else
        mm_dr_report(d, MM_DR_PASS, "TLS", NULL, "certificate verified against %s", against);
}

static void idp_clock(mm_doctor *d, const cJSON *r)
{
    double date, now;
    if (!mm_json_num(r, "date", &date) || !mm_json_num(r, "now", &now)) {
        mm_dr_report(d, MM_DR_SKIP, "clock", NULL, "not checked: the identity provider sent "
                     "no Date header");
        return;
    }
    long skew = (long)(now - date);
    if (skew <= SKEW_MAX_S && skew >= -SKEW_MAX_S)
        mm_dr_report(d, MM_DR_PASS, "clock", NULL, "within %ld s of the identity provider's",
                     skew < 0 ? -skew : skew);
    else
        mm_dr_report(d, MM_DR_FAIL, "clock", "set the clock right: 'timedatectl set-ntp true' "
                     "(or your system's time service)", "this machine's clock is %ld s %s the "
                     "identity provider's: ID tokens look %s", skew < 0 ? -skew : skew,
                     skew > 0 ? "ahead of" : "behind", skew > 0 ? "expired" : "not yet valid");
}

void mm_dr_idp(mm_doctor *d, const mm_profile_cfg *p)
{
    if (p->kind != MM_KIND_OAUTH)
        return;
    if (!p->issuer) {
        mm_dr_report(d, MM_DR_SKIP, "identity provider", NULL, "no issuer in the config: it "
                     "comes from the server's metadata (RFC 9728) at sign-in");
        return;
    }
    char bin[PATH_MAX], secs[16];
    proxy_path(d, bin, sizeof(bin));
    snprintf(secs, sizeof(secs), "%d", d->timeout_s);
    char *argv[] = {bin, "--doctor-idp", p->issuer, "--timeout", secs,
                    p->ca_file ? "--ca-file" : NULL, p->ca_file, NULL};
    child_io io;
    run_child(argv, NULL, (d->timeout_s + 2) * 1000, &io);
    cJSON *r = first_line_json(&io);
    if (!r) {
        mm_dr_report(d, MM_DR_FAIL, "identity provider", "install mimir-proxy next to "
                     "mimir-helper (it does the HTTP)", "cannot check %s: %s", p->issuer,
                     io.timed_out ? "no answer in time" : io.err[0] ? io.err : "no answer");
        return;
    }
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(r, "error");
    const char *code = err ? mm_json_str(err, "code") : NULL;
    const char *msg = err ? mm_json_str(err, "message") : NULL;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")))
        mm_dr_report(d, MM_DR_PASS, "identity provider", NULL, "%s answered with the "
                     "discovery document of %s", mm_json_str(r, "url"), p->issuer);
    else
        mm_dr_report(d, MM_DR_FAIL, "identity provider", "check the profile's issuer (exactly "
                     "as the provider names itself), the network and proxy settings",
                     "%s", msg ? msg : "discovery failed");
    idp_tls(d, p, r, code, msg ? msg : "");
    if (!code || !strcmp(code, "idp_error"))
        idp_clock(d, r);
    cJSON_Delete(r);
}

static void mcp_answer(mm_doctor *d, const mm_profile_cfg *p, const cJSON *r)
{
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(r, "result");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(r, "error");
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(res, "serverInfo");
    if (cJSON_IsObject(res)) {
        mm_dr_report(d, MM_DR_PASS, "MCP server", NULL, "%s answered an authenticated "
                     "initialize: %s %s, protocol %s", p->server_url,
                     mm_json_str(info, "name") ? mm_json_str(info, "name") : "(unnamed)",
                     mm_json_str(info, "version") ? mm_json_str(info, "version") : "",
                     mm_json_str(res, "protocolVersion") ? mm_json_str(res, "protocolVersion")
                                                         : "?");
        return;
    }
    const char *msg = err ? mm_json_str(err, "message") : NULL;
    mm_dr_report(d, MM_DR_FAIL, "MCP server", "check the profile's server_url and that the "
                 "credential is accepted there ('mimir-helper proxy' shows the same error)",
                 "%s: initialize failed: %s", p->server_url, msg ? msg : "no result");
}

void mm_dr_mcp(mm_doctor *d, const mm_profile_cfg *p, int has_credential)
{
    char fix[600];
    if (!p->server_url) {
        snprintf(fix, sizeof(fix), "mimir-helper profile add %s --url URL ... (the MCP "
                 "endpoint)", p->name);
        mm_dr_report(d, MM_DR_FAIL, "MCP server", fix, "the profile has no server_url");
        return;
    }
    if (!has_credential) {
        mm_dr_report(d, MM_DR_SKIP, "MCP server", NULL, "%s not checked: no credential to "
                     "send (see above)", p->server_url);
        return;
    }
    char bin[PATH_MAX], secs[16];
    proxy_path(d, bin, sizeof(bin));
    snprintf(secs, sizeof(secs), "%d", d->timeout_s);
    char *argv[] = {bin, "--profile", p->name, "--request-timeout", secs, NULL};
    static const char init[] =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
        "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
        "\"clientInfo\":{\"name\":\"mimir-helper doctor\",\"version\":\"" MIMIR_VERSION "\"}}}\n";
    child_io io;
    run_child(argv, init, (d->timeout_s + 2) * 1000, &io);
    cJSON *r = first_line_json(&io);
    if (r)
        mcp_answer(d, p, r);
    else
        mm_dr_report(d, MM_DR_FAIL, "MCP server", "check the server and 'mimir-helper proxy "
                     "--profile NAME' by hand", "%s: %s", p->server_url,
                     io.timed_out ? "no answer to initialize in time"
                     : io.err[0]  ? io.err
                                  : "mimir-proxy gave no answer");
    cJSON_Delete(r);
}
