/*
 * cmd_token.c - token, header, headers: the commands MCP clients (and
 * kubectl, and shells) run for a credential.
 *
 * Clients give these commands little time (Claude Code kills a
 * headersHelper after 10 s), so they give up after 8 s on their own and
 * say why on stderr, in one line, while the client still listens.  The
 * plain `token` and `headers` path is one connection, one request, one
 * reply: nothing here may add work to it.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "helper.h"

#define CREDENTIAL_DEADLINE_S 8

typedef enum { OUT_TOKEN, OUT_ENV, OUT_EXEC_CREDENTIAL, OUT_HEADER, OUT_HEADERS } out_mode;

static int no_args(const mm_opts *o, const char *cmd)
{
    if (o->nargs)
        return mm_fail(MM_ERR_USAGE, "%s takes no arguments (got '%s')", cmd, o->args[0]);
    return 0;
}

/* A shell variable name: what `export NAME=...` accepts. */
static int var_name_valid(const char *s)
{
    size_t n = strlen(s);
    return n && !(s[0] >= '0' && s[0] <= '9') &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

static int token_mode(const mm_opts *o, out_mode *mode)
{
    const char *f = o->format ? o->format : "raw";
    if (!strcmp(f, "raw"))
        *mode = OUT_TOKEN;
    else if (!strcmp(f, "env"))
        *mode = OUT_ENV;
    else if (!strcmp(f, "exec-credential"))
        *mode = OUT_EXEC_CREDENTIAL;
    else
        return mm_fail(MM_ERR_USAGE, "--format must be raw, env or exec-credential, not '%s'", f);
    if (o->var && *mode != OUT_ENV)
        return mm_fail(MM_ERR_USAGE, "--var goes with --format env");
    if (o->var && !var_name_valid(o->var))
        return mm_fail(MM_ERR_USAGE, "--var: '%s' is not a shell variable name", o->var);
    return 0;
}

/* export NAME='...': single quotes keep every byte literal; a quote
 * inside becomes '\'' (an API key may hold any printable character). */
static void print_env(const char *var, const char *tok)
{
    printf("export %s='", var ? var : "MIMIR_TOKEN");
    for (const char *p = tok; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*p);
    }
    puts("'");
}

/* kubectl's exec credential plugin format.  With an expiry, kubectl
 * reuses the token until then and runs us again afterwards; without one
 * (API keys) it runs us for every call. */
static int print_exec_credential(const mm_response *r, const char *tok)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "apiVersion", "client.authentication.k8s.io/v1");
    cJSON_AddStringToObject(doc, "kind", "ExecCredential");
    cJSON *st = cJSON_AddObjectToObject(doc, "status");
    cJSON_AddItemToObject(st, "token", cJSON_CreateStringReference(tok));
    double exp;
    if (mm_json_num(r->root, "expires_at", &exp) && exp > 0) {
        char when[32];
        time_t t = (time_t)exp;
        struct tm tm;
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        cJSON_AddStringToObject(st, "expirationTimestamp", when);
    }
    char *s = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!s)
        return mm_fail(MM_ERR_NOMEM, "out of memory");
    puts(s);
    explicit_bzero(s, strlen(s));
    cJSON_free(s);
    return 0;
}

/* A profile of kind none: the agent answers, with nothing to give. */
static int no_credential(const mm_response *r, const cJSON *h)
{
    const char *type = mm_json_str(r->root, "token_type");
    return (type && !strcmp(type, "none")) || (cJSON_IsObject(h) && !h->child);
}

static int print_credential(const mm_response *r, out_mode mode, const mm_opts *o)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(r->root, "headers");
    const char *tok = mm_json_str(r->root, "token");
    if (mode <= OUT_EXEC_CREDENTIAL && tok && *tok) {
        if (mode == OUT_TOKEN)
            puts(tok);
        else if (mode == OUT_ENV)
            print_env(o->var, tok);
        else
            return print_exec_credential(r, tok);
    } else if (mode == OUT_HEADERS && cJSON_IsObject(h)) { /* kind none: {} */
        char *s = cJSON_PrintUnformatted(h);
        if (!s)
            return mm_fail(MM_ERR_NOMEM, "out of memory");
        puts(s);
        explicit_bzero(s, strlen(s));
        cJSON_free(s);
    } else if (mode == OUT_HEADER && cJSON_IsObject(h) && cJSON_IsString(h->child)) {
        printf("%s: %s\n", h->child->string, h->child->valuestring);
    } else if (no_credential(r, h)) {
        return mm_fail(MM_ERR_WRONG_KIND, "profile %s has no credential to give (kind none: "
                       "its server asks for none)", mm_json_str(r->root, "profile"));
    } else {
        return mm_fail(MM_ERR_INTERNAL, "mimir-agent sent a reply without a credential; "
                       "'mimir-helper status' shows the profile's state");
    }
    return 0;
}

static int fetch(mm_opts *o, out_mode mode, const char *cmd)
{
    int rc = no_args(o, cmd);
    if (rc)
        return rc;
    if (!o->timeout_s)
        o->timeout_s = CREDENTIAL_DEADLINE_S;
    cJSON *req = mm_proto_request(mode <= OUT_EXEC_CREDENTIAL ? MM_OP_TOKEN : MM_OP_HEADERS, 0,
                                  o->profile);
    if (o->min_ttl > 0)
        cJSON_AddNumberToObject(req, "min_ttl", o->min_ttl);
    mm_response resp;
    if ((rc = mm_request_once(o, req, &resp)))
        return rc;
    rc = print_credential(&resp, mode, o);
    mm_response_free(&resp);
    if (fflush(stdout) != 0)
        rc = mm_fail(MM_ERR_IO, "cannot write to standard output");
    return rc;
}

static int run_token(mm_opts *o)
{
    out_mode mode = OUT_TOKEN;
    int rc = o->format || o->var ? token_mode(o, &mode) : 0;
    return rc ? rc : fetch(o, mode, "token");
}

static int run_header(mm_opts *o) { return fetch(o, OUT_HEADER, "header"); }
static int run_headers(mm_opts *o) { return fetch(o, OUT_HEADERS, "headers"); }

#define DEADLINE_HELP "Gives up after 8 s unless --timeout says otherwise, with a one-line\n" \
                      "message on stderr (MCP clients allow such commands about 10 s).\n"

const mm_command mm_cmd_token = {
    "token", run_token,
    "token [--profile NAME] [--min-ttl SEC] [--format FORMAT] [--var NAME]",
    "Print a current access token (or the API key of an api-key profile).\n"
    "  --min-ttl SEC   refresh first unless the token stays valid this long\n"
    "  --format FORMAT raw, env or exec-credential:\n"
    "  --format raw    the token alone (the default)\n"
    "  --format env    a shell line, export MIMIR_TOKEN='...', for\n"
    "                  eval \"$(mimir-helper token --format env)\"\n"
    "  --var NAME      the variable --format env sets (default MIMIR_TOKEN)\n"
    "  --format exec-credential\n"
    "                  a kubectl ExecCredential (client.authentication.k8s.io/v1)\n"
    "                  with status.token and, when the token expires,\n"
    "                  status.expirationTimestamp (RFC 3339, UTC)\n" DEADLINE_HELP,
    "min-ttl,format,var"};

const mm_command mm_cmd_header = {
    "header", run_header, "header [--profile NAME] [--min-ttl SEC]",
    "Print one HTTP header line: 'Authorization: Bearer ...' for OAuth\n"
    "profiles, 'X-API-Key: ...' for api-key profiles.\n" DEADLINE_HELP,
    "min-ttl"};

const mm_command mm_cmd_headers = {
    "headers", run_headers, "headers [--profile NAME] [--min-ttl SEC]",
    "Print a JSON object of HTTP headers, the format Claude Code's\n"
    "headersHelper expects, e.g. {\"Authorization\":\"Bearer ...\"}.\n" DEADLINE_HELP,
    "min-ttl"};
