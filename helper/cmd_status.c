/*
 * cmd_status.c - status: each profile's mode in words and what happens
 * next (when it renews, what to run when it cannot), from the agent's
 * status.  --json prints the agent's JSON as it is.
 */
#include <stdio.h>
#include <string.h>

#include "helper.h"
#include "pretty.h"
#include "signin.h"

static const char *mode_words(const char *kind)
{
    if (!strcmp(kind, "oauth"))
        return "OAuth sign-in at an identity provider";
    if (!strcmp(kind, "mimir"))
        return "Mimir's own login";
    if (!strcmp(kind, "api-key"))
        return "API key";
    if (!strcmp(kind, "none"))
        return "no credential";
    return kind;
}

/* "renews at 14:05:00" and the like: what, then when. */
static void at_time(char *out, size_t len, const char *what, double t)
{
    char when[64];
    mm_signin_when(t, 1, when, sizeof(when));
    snprintf(out, len, "%s %s", what, when);
}

/* What a ready profile does next. */
static void next_ready(const cJSON *p, const char *kind, char *out, size_t len)
{
    double renew, exp;
    int has_exp = mm_json_num(p, "access_expires_at", &exp) && exp > 0;
    if (!strcmp(kind, "api-key"))
        snprintf(out, len, "the key is sent as it is; it does not expire");
    else if (mm_json_num(p, "next_refresh_at", &renew))
        at_time(out, len, "renews at", renew);
    else if (!has_exp)
        snprintf(out, len, "token does not expire");
    else { /* a token whose password was not kept */
        at_time(out, len, "token expires at", exp);
        size_t n = strlen(out);
        snprintf(out + n, len - n, "; then login required: run 'mimir-helper login --profile "
                 "%s'", mm_json_str(p, "name"));
    }
}

static void next_step(const cJSON *p, char *out, size_t len)
{
    const char *kind = mm_json_str(p, "kind"), *st = mm_json_str(p, "state");
    const char *name = mm_json_str(p, "name");
    double at;
    if (!kind || !st)
        snprintf(out, len, "unknown");
    else if (!strcmp(kind, "none"))
        snprintf(out, len, "no credential needed (security off)");
    else if (!strcmp(st, "ready"))
        next_ready(p, kind, out, len);
    else if (!strcmp(st, "login_required"))
        snprintf(out, len, "login required: run 'mimir-helper %s --profile %s'",
                 strcmp(kind, "api-key") ? "login" : "set-api-key", name);
    else if (!strcmp(st, "retrying") && mm_json_num(p, "next_refresh_at", &at))
        at_time(out, len, "renewal failed; trying again at", at);
    else if (!strcmp(st, "refreshing"))
        snprintf(out, len, "renewing now");
    else if (!strcmp(st, "logging_in"))
        snprintf(out, len, "a login is in progress");
    else if (!strcmp(st, "loading"))
        snprintf(out, len, "reading the stored credential");
    else
        snprintf(out, len, "the stored credential cannot be read: see the last error");
}

static void print_store(const cJSON *p)
{
    const char *store = mm_json_str(p, "store"), *health = mm_json_str(p, "storage");
    if (!store) /* kind none: nothing to keep */
        return;
    int file = !strcmp(store, "file");
    printf("  store: %s\n  %s: %s\n", file ? "file (the encrypted vault)" : store,
           file ? "vault" : "keyring", health ? health : "?");
}

static void print_profile(const cJSON *p)
{
    const char *sub = mm_json_str(p, "subject"), *st = mm_json_str(p, "state");
    const char *kind = mm_json_str(p, "kind");
    double exp;
    char next[400];
    next_step(p, next, sizeof(next));
    printf("%s%s\n  mode: %s (kind %s)\n  state: %s\n", mm_json_str(p, "name"),
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "default")) ? " (default)" : "",
           mode_words(kind ? kind : "?"), kind ? kind : "?", st ? st : "?");
    printf("  next: %s\n", next);
    if (mm_json_str(p, "server_url"))
        printf("  server: %s\n", mm_json_str(p, "server_url"));
    if (mm_json_str(p, "issuer"))
        printf("  issuer: %s\n", mm_json_str(p, "issuer"));
    if (sub)
        printf("  signed in as: %s\n", sub);
    if (mm_json_num(p, "access_expires_at", &exp) && exp > 0) {
        char when[64];
        mm_signin_when(exp, 0, when, sizeof(when));
        printf("  access token valid until: %s\n", when);
    }
    const cJSON *le = cJSON_GetObjectItemCaseSensitive(p, "last_error");
    if (le)
        printf("  last error: %s: %s\n", mm_json_str(le, "code"), mm_json_str(le, "message"));
    print_store(p);
}

static int run_status(mm_opts *o)
{
    if (o->nargs)
        return mm_fail(MM_ERR_USAGE, "unexpected argument '%s'", o->args[0]);
    mm_response r;
    int rc = mm_request_once(o, mm_proto_request(MM_OP_STATUS, 0, o->profile), &r);
    if (rc)
        return rc;
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(r.root, "profile");
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(r.root, "profiles"), *it;
    if (o->json) {
        if (mm_pretty_print(stdout, one ? one : all) < 0)
            rc = mm_fail(MM_ERR_NOMEM, "out of memory");
    } else if (one) {
        print_profile(one);
    } else if (!cJSON_GetArraySize(all)) {
        printf("No profiles configured (config: %s).\nAdd one with 'mimir-helper login "
               "--server URL' (or 'mimir-helper profile add').\n",
               mm_json_str(r.root, "config"));
    } else {
        cJSON_ArrayForEach(it, all) print_profile(it);
    }
    mm_response_free(&r);
    return rc;
}

const mm_command mm_cmd_status = {
    "status", run_status, "status [--profile NAME] [--json]",
    "Show each profile: how it signs in, its state and what happens next (when\n"
    "it renews, or what to run), who is signed in, token expiry, the last error\n"
    "and where its credential is stored.  --json prints the agent's JSON.\n", "json"};
