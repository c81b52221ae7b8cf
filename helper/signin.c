/* signin.c - what the ways of signing in share (see signin.h). */
#include <string.h>
#include <time.h>

#include "signin.h"

void mm_signin_when(double t, int brief, char *buf, size_t len)
{
    time_t tt = (time_t)t, now = time(NULL);
    struct tm tm, today;
    localtime_r(&tt, &tm);
    localtime_r(&now, &today);
    int same_day = tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday;
    strftime(buf, len, brief && same_day ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S %Z", &tm);
}

void mm_signin_report(FILE *f, const char *lead, const cJSON *r)
{
    double exp = 0;
    char when[64] = "";
    const char *sub = mm_json_str(r, "subject");
    if (mm_json_num(r, "expires_at", &exp) && exp > 0)
        mm_signin_when(exp, 0, when, sizeof(when));
    fprintf(f, "%s as %s (profile %s, %s%s)\n", lead, sub ? sub : "(unknown)",
            mm_json_str(r, "profile"), when[0] ? "token valid until " : "the token does not expire",
            when);
}

static const cJSON *find_profile(const cJSON *status, const char *name)
{
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(status, "profile"), *it;
    if (one)
        return one;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(status, "profiles"))
    {
        const char *n = mm_json_str(it, "name");
        if (n && name && !strcmp(n, name))
            return it;
    }
    return NULL;
}

int mm_signin_lookup(const mm_opts *o, const char *profile, char *name, size_t nlen,
                     char *kind, size_t klen)
{
    mm_response r;
    int rc = mm_request_once(o, mm_proto_request(MM_OP_STATUS, 0, profile), &r);
    if (rc)
        return rc;
    const char *def = mm_json_str(r.root, "default_profile");
    const cJSON *p = find_profile(r.root, profile ? profile : def);
    if (!p)
        rc = mm_fail(MM_ERR_UNKNOWN_PROFILE, "no default profile; add one with 'mimir-helper "
                     "login --server URL' (or pass --profile NAME)");
    else {
        snprintf(name, nlen, "%s", mm_json_str(p, "name"));
        snprintf(kind, klen, "%s", mm_json_str(p, "kind"));
    }
    mm_response_free(&r);
    return rc;
}

int mm_signin_kind(mm_opts *o, const char *profile, const char *kind)
{
    if (!strcmp(kind, "mimir"))
        return mm_login_password(o, profile);
    if (!strcmp(kind, "api-key"))
        return mm_session_api_key(o, profile);
    if (!strcmp(kind, "none")) {
        fprintf(o->json ? stderr : stdout, "Profile %s needs no credential: its server runs "
                "with security off.\n", profile);
        return 0;
    }
    return mm_login_oauth(o, profile);
}
