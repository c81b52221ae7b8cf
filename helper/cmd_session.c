/* cmd_session.c - login, logout, status, set-api-key, reload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

#define LOGIN_DEFAULT_TIMEOUT 300

static void fmt_time(double t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", localtime_r(&tt, &tm));
}

static int simple(mm_opts *o, mm_op op, mm_response *resp)
{
    if (o->nargs)
        return mm_fail(MM_ERR_USAGE, "unexpected argument '%s'", o->args[0]);
    return mm_request_once(o, mm_proto_request(op, 0, o->profile), resp);
}

/* ---- login ---------------------------------------------------------------- */

static void show_challenge(const mm_response *r)
{
    const char *url = mm_json_str(r->root, "url"), *code = mm_json_str(r->root, "user_code");
    const char *vuri = mm_json_str(r->root, "verification_uri");
    const char *vfull = mm_json_str(r->root, "verification_uri_complete");
    const char *prof = mm_json_str(r->root, "profile");
    if (code) {
        fprintf(stderr, "To sign in (profile %s), visit:\n  %s\nand enter the code:  %s\n",
                prof, vuri ? vuri : "?", code);
        if (vfull)
            fprintf(stderr, "(or open %s)\n", vfull);
    } else if (url) {
        fprintf(stderr, "%s (profile %s). If no browser opens, visit:\n  %s\n",
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r->root, "browser_opened"))
                    ? "Opening the browser to sign in"
                    : "Open this address in a browser to sign in",
                prof, url);
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r->root, "joined")))
        fprintf(stderr, "(joining the login already running for this profile)\n");
    fprintf(stderr, "Waiting for the login to finish...\n");
}

static int run_login(mm_opts *o)
{
    if (o->nargs)
        return mm_fail(MM_ERR_USAGE, "unexpected argument '%s'", o->args[0]);
    if (!o->timeout_s)
        o->timeout_s = LOGIN_DEFAULT_TIMEOUT;
    /* No display and no $BROWSER (SSH, containers): a browser cannot open
     * here, so use the device grant, which works from any other device. */
    if (!o->device && !o->no_browser && !getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY") &&
        !getenv("BROWSER")) {
        fprintf(stderr, "No display and no $BROWSER: using the device login.\n");
        o->device = 1;
    }
    mm_client cl;
    int rc = mm_connect(&cl, o, 1);
    if (rc)
        return rc;
    cJSON *req = mm_proto_request(MM_OP_LOGIN, 0, o->profile);
    cJSON_AddBoolToObject(req, "device", o->device);
    cJSON_AddBoolToObject(req, "open_browser", !o->no_browser);
    cJSON_AddNumberToObject(req, "timeout", o->timeout_s);
    mm_response r;
    mm_err e = mm_client_call(&cl, req, &r);
    if (e == MM_OK && r.ok) {
        show_challenge(&r);
        req = mm_proto_request(MM_OP_LOGIN_WAIT, 0, o->profile);
        cJSON_AddStringToObject(req, "login_id", mm_json_str(r.root, "login_id"));
        cJSON_AddNumberToObject(req, "timeout", o->timeout_s);
        mm_response_free(&r);
        mm_client_set_timeout(&cl, (o->timeout_s + 5) * 1000); /* the agent times out first */
        e = mm_client_call(&cl, req, &r);
    }
    if (e != MM_OK)
        rc = mm_fail(e, "%s", cl.why);
    else if (!r.ok)
        rc = mm_fail(r.err, "login failed: %s", r.message);
    else {
        double exp = 0;
        char when[64] = "unknown";
        if (mm_json_num(r.root, "expires_at", &exp))
            fmt_time(exp, when, sizeof(when));
        const char *sub = mm_json_str(r.root, "subject");
        printf("Signed in as %s (profile %s, token valid until %s)\n", sub ? sub : "(unknown)",
               mm_json_str(r.root, "profile"), when);
    }
    if (e == MM_OK)
        mm_response_free(&r);
    mm_client_close(&cl);
    return rc;
}

/* ---- logout, reload ------------------------------------------------------- */

static int run_logout(mm_opts *o)
{
    mm_response r;
    int rc = simple(o, MM_OP_LOGOUT, &r);
    if (rc)
        return rc;
    const char *prof = mm_json_str(r.root, "profile");
    const char *rev_err = mm_json_str(r.root, "revoke_error");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.root, "revoked")))
        printf("Logged out of profile %s (token revoked, keyring entry erased)\n", prof);
    else if (rev_err)
        printf("Logged out of profile %s locally (keyring entry erased); revoking at the "
               "identity provider failed: %s\n", prof, rev_err);
    else
        printf("Logged out of profile %s (keyring entry erased)\n", prof);
    mm_response_free(&r);
    return 0;
}

static int run_reload(mm_opts *o)
{
    mm_response r;
    int rc = simple(o, MM_OP_RELOAD, &r);
    if (rc)
        return rc;
    printf("Configuration reloaded\n");
    mm_response_free(&r);
    return 0;
}

/* ---- status ---------------------------------------------------------------- */

static void print_profile(const cJSON *p)
{
    const char *sub = mm_json_str(p, "subject"), *st = mm_json_str(p, "state");
    double exp;
    printf("%s%s\n  kind: %s\n  state: %s\n", mm_json_str(p, "name"),
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "default")) ? " (default)" : "",
           mm_json_str(p, "kind"), st ? st : "?");
    if (mm_json_str(p, "server_url"))
        printf("  server: %s\n", mm_json_str(p, "server_url"));
    if (mm_json_str(p, "issuer"))
        printf("  issuer: %s\n", mm_json_str(p, "issuer"));
    if (sub)
        printf("  signed in as: %s\n", sub);
    if (mm_json_num(p, "access_expires_at", &exp)) {
        char when[64];
        fmt_time(exp, when, sizeof(when));
        printf("  access token valid until: %s\n", when);
    }
    if (mm_json_num(p, "next_refresh_at", &exp)) {
        char when[64];
        fmt_time(exp, when, sizeof(when));
        printf("  next refresh: %s\n", when);
    }
    const cJSON *le = cJSON_GetObjectItemCaseSensitive(p, "last_error");
    if (le)
        printf("  last error: %s: %s\n", mm_json_str(le, "code"), mm_json_str(le, "message"));
    printf("  keyring: %s\n", mm_json_str(p, "storage"));
}

static int run_status(mm_opts *o)
{
    mm_response r;
    int rc = simple(o, MM_OP_STATUS, &r);
    if (rc)
        return rc;
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(r.root, "profile");
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(r.root, "profiles"), *it;
    if (o->json) {
        char *s = cJSON_Print(one ? one : all);
        puts(s);
        cJSON_free(s);
    } else if (one) {
        print_profile(one);
    } else if (!cJSON_GetArraySize(all)) {
        printf("No profiles configured (config: %s).\nAdd one with 'mimir-helper profile "
               "add NAME --kind oauth --issuer URL --client-id ID'.\n",
               mm_json_str(r.root, "config"));
    } else {
        cJSON_ArrayForEach(it, all) print_profile(it);
    }
    mm_response_free(&r);
    return 0;
}

/* ---- set-api-key ----------------------------------------------------------- */

/* The key comes from stdin, never argv: argv is world-readable in /proc. */
static int read_key(char *buf, size_t len)
{
    struct termios old, quiet;
    int tty = isatty(0) && tcgetattr(0, &old) == 0;
    if (tty) {
        fprintf(stderr, "API key: ");
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(0, TCSAFLUSH, &quiet);
    }
    /* The first line is the key. */
    if (!fgets(buf, (int)len, stdin))
        buf[0] = '\0';
    if (tty) {
        tcsetattr(0, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    size_t n = strcspn(buf, "\n");
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return (int)n;
}

static int run_set_api_key(mm_opts *o)
{
    if (o->nargs)
        return mm_fail(MM_ERR_USAGE, "the key is read from standard input, not from the "
                       "command line");
    char key[4098];
    if (read_key(key, sizeof(key)) <= 0)
        return mm_fail(MM_ERR_USAGE, "no API key given on standard input");
    cJSON *req = mm_proto_request(MM_OP_SET_API_KEY, 0, o->profile);
    cJSON_AddStringToObject(req, "api_key", key);
    explicit_bzero(key, sizeof(key));
    mm_response r;
    int rc = mm_request_once(o, req, &r);
    if (rc)
        return rc;
    printf("API key stored in the keyring for profile %s\n", mm_json_str(r.root, "profile"));
    mm_response_free(&r);
    return 0;
}

const mm_command mm_cmd_login = {
    "login", run_login, "login [--profile NAME] [--device] [--no-browser] [--timeout SEC]",
    "Sign in through the identity provider.  Opens the system browser\n"
    "($BROWSER, else xdg-open) and waits; the address is printed as well.\n"
    "  --device       use the device grant: shows a code to enter on any device\n"
    "                 (chosen automatically when there is no display)\n"
    "  --no-browser   only print the address\n"
    "  --timeout SEC  give up after SEC (default 300)\n",
    "device,no-browser"};

const mm_command mm_cmd_logout = {
    "logout", run_logout, "logout [--profile NAME]",
    "Revoke the refresh token at the identity provider when it offers\n"
    "revocation, erase the keyring entry and wipe the agent's memory.\n"
    "Works offline (the local erase still happens).\n", NULL};

const mm_command mm_cmd_status = {
    "status", run_status, "status [--profile NAME] [--json]",
    "Show each profile: state, who is signed in, token expiry, next refresh,\n"
    "last error and keyring health.  --json prints the agent's JSON.\n", "json"};

const mm_command mm_cmd_set_api_key = {
    "set-api-key", run_set_api_key, "set-api-key [--profile NAME] < keyfile",
    "Store an API key for an api-key profile in the keyring.  The key is\n"
    "read from standard input (never from the command line).\n", NULL};

const mm_command mm_cmd_reload = {
    "reload", run_reload, "reload",
    "Make the agent re-read its configuration file.\n", NULL};
