/*
 * login_password.c - Mimir's own login (profiles of kind "mimir"): a
 * username and a password, exchanged by the agent at the server's
 * /auth/token for Mimir's token.  The password comes from the terminal
 * without echo, or from standard input when it is not a terminal, never
 * from argv; it is kept (in the keyring, by the agent) only with
 * --remember-password, and then the agent renews the token with it.
 */
#include <string.h>

#include "prompt.h"
#include "signin.h"

#define USER_MAX 256  /* what the agent accepts */
#define PASS_MAX 1024

/* One value: given, else asked (or the next line of standard input).
 * Returns 0, or prints why and returns the exit status. */
static int take(const char *given, const char *prompt, int echo, char *buf, size_t len,
                size_t max, const char *what, const char *missing)
{
    int n = given ? snprintf(buf, len, "%s", given) : mm_prompt(prompt, buf, len, echo);
    if (n <= 0)
        return mm_fail(MM_ERR_USAGE, "no %s: %s", what, missing);
    if ((size_t)n > max)
        return mm_fail(MM_ERR_USAGE, "the %s is longer than %zu bytes", what, max);
    return 0;
}

/* Username: --username, else asked (with echo), else the first line of
 * standard input; the password is the next line. */
static int read_credentials(const mm_opts *o, char *user, size_t ulen, char *pass, size_t plen)
{
    int rc = take(o->username, "Username: ", 1, user, ulen, USER_MAX, "username",
                  "pass --username NAME, or give it on the first line of standard input");
    return rc ? rc : take(NULL, "Password: ", 0, pass, plen, PASS_MAX, "password",
                          "it is read from the terminal, or from standard input (never "
                          "from the command line)");
}

static void explain(FILE *f, const cJSON *r, int remember)
{
    double exp = 0;
    const char *p = mm_json_str(r, "profile");
    int expires = mm_json_num(r, "expires_at", &exp) && exp > 0;
    if (remember)
        fprintf(f, "The password is kept in the keyring: the token is renewed before it "
                "expires.\n");
    else if (expires)
        fprintf(f, "The password was not kept: when the token expires, run 'mimir-helper login "
                "--profile %s' again (--remember-password renews it silently).\n", p);
}

int mm_login_password(mm_opts *o, const char *profile)
{
    char user[USER_MAX + 2], pass[PASS_MAX + 2];
    int rc = read_credentials(o, user, sizeof(user), pass, sizeof(pass));
    if (rc) {
        explicit_bzero(pass, sizeof(pass));
        return rc;
    }
    cJSON *req = mm_proto_request(MM_OP_LOGIN, 0, profile);
    cJSON_AddStringToObject(req, "username", user);
    /* A reference: the only copies of the password are ours to wipe (and
     * the encoded request, which the client wipes). */
    cJSON_AddItemToObject(req, "password", cJSON_CreateStringReference(pass));
    cJSON_AddBoolToObject(req, "remember_password", o->remember_password);
    cJSON_AddNumberToObject(req, "timeout", o->timeout_s);
    mm_opts waiting = *o;
    waiting.timeout_s = o->timeout_s + 5; /* the agent's own deadline comes first */
    mm_response r;
    rc = mm_request_once(&waiting, req, &r);
    explicit_bzero(pass, sizeof(pass));
    if (rc)
        return rc;
    FILE *out = o->json ? stderr : stdout;
    mm_signin_report(out, "Signed in", r.root);
    explain(out, r.root, o->remember_password);
    mm_response_free(&r);
    return 0;
}
