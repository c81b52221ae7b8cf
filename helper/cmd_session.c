/* cmd_session.c - login, logout, set-api-key, reload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "prompt.h"
#include "signin.h"

static int simple(mm_opts *o, mm_op op, mm_response *resp)
{
    if (o->nargs)
        return mm_fail(MM_ERR_USAGE, "unexpected argument '%s'", o->args[0]);
    return mm_request_once(o, mm_proto_request(op, 0, o->profile), resp);
}

/* ---- login ---------------------------------------------------------------- */

static int run_login(mm_opts *o)
{
    if (o->nargs)
        return mm_fail(MM_ERR_USAGE, "unexpected argument '%s'", o->args[0]);
    if (!o->server && (o->mode || o->issuer || o->client_id || o->no_login || o->json))
        return mm_fail(MM_ERR_USAGE, "--mode, --issuer, --client-id, --no-login and --json go "
                       "with --server URL");
    if (!o->timeout_s)
        o->timeout_s = MM_SIGNIN_TIMEOUT;
    if (o->server)
        return mm_login_server(o);
    char name[128], kind[32];
    int rc = mm_signin_lookup(o, o->profile, name, sizeof(name), kind, sizeof(kind));
    return rc ? rc : mm_signin_kind(o, name, kind);
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

/* ---- set-api-key ----------------------------------------------------------- */

/* The key comes from the terminal (no echo) or stdin, never argv: argv is
 * world-readable in /proc.  The first line is the key. */
int mm_session_api_key(const mm_opts *o, const char *profile)
{
    char key[16386];
    int n = mm_prompt("API key: ", key, sizeof(key), 0);
    if (n <= 0 || n > 16384) {
        explicit_bzero(key, sizeof(key));
        return mm_fail(MM_ERR_USAGE, n > 0 ? "that API key is longer than 16384 bytes"
                                           : "no API key given on standard input");
    }
    cJSON *req = mm_proto_request(MM_OP_SET_API_KEY, 0, profile);
    cJSON_AddItemToObject(req, "api_key", cJSON_CreateStringReference(key));
    mm_response r;
    int rc = mm_request_once(o, req, &r);
    explicit_bzero(key, sizeof(key));
    if (rc)
        return rc;
    const char *store = mm_json_str(r.root, "store");
    fprintf(o->json ? stderr : stdout, "API key stored in the %s for profile %s\n",
            store && !strcmp(store, "file") ? "encrypted file store" : "keyring",
            mm_json_str(r.root, "profile"));
    mm_response_free(&r);
    return 0;
}

static int run_set_api_key(mm_opts *o)
{
    if (o->nargs)
        return mm_fail(MM_ERR_USAGE, "the key is read from standard input, not from the "
                       "command line");
    return mm_session_api_key(o, o->profile);
}

const mm_command mm_cmd_login = {
    "login", run_login,
    "login [--profile NAME] [--server URL] [--mode oauth|dev|api-key|none] [options]",
    "Sign a profile in, the way its kind signs in:\n"
    "  oauth    through the identity provider: the helper opens the browser\n"
    "           ($BROWSER, else xdg-open) and waits; the address is printed as well\n"
    "  mimir    Mimir's own login: username (--username, asked, or the first line\n"
    "           of standard input) and password (asked without echo, or the next\n"
    "           line of standard input; never on the command line)\n"
    "  api-key  the key, as set-api-key reads it\n"
    "  none     nothing to do: the server runs with security off\n"
    "  --device             OAuth: the device grant, a code to enter on any device\n"
    "                       (chosen automatically when there is no display and no $BROWSER)\n"
    "  --no-browser         OAuth: only print the address\n"
    "  --username U         Mimir's login: the username\n"
    "  --remember-password  Mimir's login: keep the password in the keyring, so that\n"
    "                       the agent renews the token before it expires\n"
    "  --timeout SEC        give up after SEC (default 300)\n"
    "With --server URL: find out how that Mimir server signs clients in (its\n"
    "/auth/config and RFC 9728 metadata), create or update the profile (named\n"
    "after the host, e.g. mimir.example.com or localhost-9042, unless --profile),\n"
    "then log in.  Security off: no credential.  One way offered: that one.\n"
    "Several: asked on a terminal, else --mode is needed.\n"
    "  --mode M             oauth, dev (Mimir's own login), api-key or none\n"
    "  --issuer URL         OAuth: the identity provider (default: the server's)\n"
    "  --client-id ID       OAuth: the client registered for Mimir there\n"
    "  --no-login           only create or update the profile\n"
    "  --json               print {\"profile\",\"mode\",\"server_url\"} on stdout\n",
    "device,no-browser,username,remember-password,server,mode,issuer,client-id,no-login,json"};

const mm_command mm_cmd_logout = {
    "logout", run_logout, "logout [--profile NAME]",
    "Revoke the refresh token at the identity provider when it offers\n"
    "revocation, erase the keyring entry and wipe the agent's memory.\n"
    "Works offline (the local erase still happens).\n", NULL};

const mm_command mm_cmd_set_api_key = {
    "set-api-key", run_set_api_key, "set-api-key [--profile NAME] < keyfile",
    "Store an API key for an api-key profile in the keyring.  The key is\n"
    "read from the terminal without echo, or from standard input (never from\n"
    "the command line).\n", NULL};

const mm_command mm_cmd_reload = {
    "reload", run_reload, "reload",
    "Make the agent re-read its configuration file.\n", NULL};
