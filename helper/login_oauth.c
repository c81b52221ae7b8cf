/*
 * login_oauth.c - the OAuth login of a profile, through the agent: the
 * agent runs the authorization code flow (PKCE, its loopback redirect
 * listener) or the device grant, and the helper shows the user where to
 * go.  The helper opens the browser itself, with its own environment
 * ($BROWSER, the display): the agent may have been started long before,
 * by systemd or an MCP client, without either.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mimir/opener.h"
#include "signin.h"

/* The browser's chatter belongs on the user's terminal, nowhere else: a
 * caller that reads our stderr through a pipe would otherwise wait for the
 * browser to exit. */
static int open_browser(const char *url)
{
    char why[512];
    if (mm_opener_run(url, isatty(2) ? 2 : -1, why, sizeof(why)) == MM_OK)
        return 1;
    fprintf(stderr, "mimir-helper: %s (set $BROWSER to the browser to use)\n", why);
    return 0;
}

static void show_challenge(const mm_response *r, const mm_opts *o)
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
        int opened = !o->no_browser && open_browser(url);
        fprintf(stderr, "%s (profile %s). If no browser opens, visit:\n  %s\n",
                opened ? "Opening the browser to sign in"
                       : "Open this address in a browser to sign in",
                prof, url);
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r->root, "joined")))
        fprintf(stderr, "(joining the login already running for this profile)\n");
    fprintf(stderr, "Waiting for the login to finish...\n");
}

int mm_login_oauth(mm_opts *o, const char *profile)
{
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
    cJSON *req = mm_proto_request(MM_OP_LOGIN, 0, profile);
    cJSON_AddBoolToObject(req, "device", o->device);
    cJSON_AddBoolToObject(req, "open_browser", 0); /* we open it, where the user is */
    cJSON_AddNumberToObject(req, "timeout", o->timeout_s);
    mm_response r;
    mm_err e = mm_client_call(&cl, req, &r);
    if (e == MM_OK && r.ok) {
        show_challenge(&r, o);
        req = mm_proto_request(MM_OP_LOGIN_WAIT, 0, profile);
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
    else
        mm_signin_report(o->json ? stderr : stdout, "Signed in", r.root);
    if (e == MM_OK)
        mm_response_free(&r);
    mm_client_close(&cl);
    return rc;
}
