/*
 * login_server.c - `mimir-helper login --server URL`: from a Mimir
 * server's address to a signed-in profile.  The agent probes the server
 * (its /auth/config and RFC 9728 metadata); the helper picks how to sign
 * in, writes the profile into config.json (the agent reloads it) and logs
 * in the way that mode logs in.
 *
 * Picking: security off means no credential.  Otherwise the ways the
 * server advertises (OAuth providers or RFC 9728 metadata: oauth; dev
 * login: dev) decide; an API key is accepted by every secured Mimir, so it
 * is never a reason to ask and is taken only when nothing else is offered
 * or when asked for (--mode api-key).  Two offered ways: asked on a
 * terminal, an error listing the --mode values otherwise.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "confedit.h"
#include "mimir/config.h"
#include "prompt.h"
#include "signin.h"

typedef struct {
    const char *mode; /* --mode and the probe's name */
    const char *kind; /* the profile kind it becomes */
    const char *words;
} way;

static const way ways[] = {
    {"oauth", "oauth", "OAuth sign-in at an identity provider"},
    {"dev", "mimir", "Mimir's own login (username and password)"},
    {"api-key", "api-key", "an API key issued by the server"},
    {"none", "none", "no credential (the server runs with security off)"},
};
#define NWAYS (sizeof(ways) / sizeof(ways[0]))

static const way *way_named(const char *name)
{
    for (size_t i = 0; name && i < NWAYS; i++)
        if (!strcmp(ways[i].mode, name))
            return &ways[i];
    return NULL;
}

static int offers(const cJSON *probe, const char *mode)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(probe, "modes"))
    if (cJSON_IsString(it) && !strcmp(it->valuestring, mode))
        return 1;
    return 0;
}

/* Asked on a terminal: one of the offered ways (api-key included). */
static const way *ask_way(const cJSON *probe, const char *url)
{
    const way *menu[NWAYS];
    size_t n = 0;
    char line[16];
    fprintf(stderr, "%s offers several ways to sign in:\n", url);
    for (size_t i = 0; i < NWAYS; i++)
        if (offers(probe, ways[i].mode)) {
            menu[n++] = &ways[i];
            fprintf(stderr, "  %zu) %-8s %s\n", n, ways[i].mode, ways[i].words);
        }
    for (;;) {
        fprintf(stderr, "Choose 1-%zu: ", n);
        if (mm_prompt("", line, sizeof(line), 1) < 0)
            return NULL;
        size_t k = (size_t)strtoul(line, NULL, 10);
        if (k >= 1 && k <= n)
            return menu[k - 1];
        const way *w = way_named(line);
        if (w && offers(probe, w->mode))
            return w;
    }
}

static int pick(const mm_opts *o, const cJSON *probe, const char *url, const way **out)
{
    int secured = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(probe, "security"));
    const way *w = way_named(o->mode);
    if (!secured) {
        /* An API key is the exception: a server whose only credentials are
         * API keys has an /auth/config just like one without security. */
        if (w && strcmp(w->mode, "none") && strcmp(w->mode, "api-key"))
            return mm_fail(MM_ERR_USAGE, "%s runs with security off: it takes no credential "
                           "(--mode none)", url);
        if (w)
            return (*out = w), 0;
        *out = way_named("none");
        return 0;
    }
    if (w && !strcmp(w->mode, "none"))
        return mm_fail(MM_ERR_USAGE, "%s runs with security on: --mode none would send no "
                       "credential; use oauth, dev or api-key", url);
    if (w && !strcmp(w->mode, "dev") && !offers(probe, "dev"))
        return mm_fail(MM_ERR_USAGE, "%s has its dev login turned off; use oauth or api-key",
                       url);
    if (w) /* oauth without advertised providers: --issuer can still name one */
        return (*out = w), 0;
    int oauth = offers(probe, "oauth"), dev = offers(probe, "dev");
    if (oauth != dev) {
        *out = way_named(oauth ? "oauth" : "dev");
        return 0;
    }
    if (!oauth) {
        *out = way_named("api-key");
        return 0;
    }
    if (mm_prompt_tty() && (*out = ask_way(probe, url)))
        return 0;
    return mm_fail(MM_ERR_USAGE, "%s offers several ways to sign in: choose one with --mode "
                   "oauth|dev|api-key (oauth: %s; dev: %s; api-key: %s)", url, ways[0].words,
                   ways[1].words, ways[2].words);
}

/* "mimir.example.com", "localhost-9042": the host (and an explicit port)
 * of the server, in the characters a profile name may hold. */
static void derive_name(const char *url, char *out, size_t len)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    size_t n = strcspn(h, "/?#"), o = 0;
    const char *at = memchr(h, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    for (size_t i = 0; i < n && o + 1 < len && o < MM_PROFILE_NAME_MAX; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c != '[' && c != ']')
            out[o++] = isalnum(c) || c == '.' || c == '_' || c == '-' ? (char)tolower(c) : '-';
    }
    out[o] = '\0';
    if (!o)
        snprintf(out, len, "mimir");
}

/* A value for OAuth that nothing else gave: asked on a terminal. */
static int ask(const char *question, char *out, size_t len)
{
    return mm_prompt_tty() && mm_prompt(question, out, len, 1) > 0;
}

static int oauth_issuer(const mm_opts *o, const cJSON *probe, const cJSON *old, char *iss,
                        size_t len)
{
    const cJSON *prov = cJSON_GetObjectItemCaseSensitive(probe, "oauth_providers"), *it;
    const char *i = o->issuer ? o->issuer : mm_json_str(probe, "issuer");
    if (!i)
        i = mm_json_str(old, "issuer");
    if (!i && cJSON_GetArraySize(prov) == 1)
        i = mm_json_str(cJSON_GetArrayItem(prov, 0), "url");
    if (i)
        return snprintf(iss, len, "%s", i), 0;
    if (cJSON_GetArraySize(prov) > 1 && mm_prompt_tty()) {
        fprintf(stderr, "The server lists these identity providers:\n");
        cJSON_ArrayForEach(it, prov) fprintf(stderr, "  %s  %s\n", mm_json_str(it, "url"),
                                             mm_json_str(it, "displayName"));
    }
    if (ask("Identity provider (issuer URL): ", iss, len))
        return 0;
    return mm_fail(MM_ERR_USAGE, "the server names no single identity provider for its OAuth "
                   "login: pass --issuer URL");
}

static int oauth_client(const mm_opts *o, const cJSON *old, const char *iss, char *cid,
                        size_t len)
{
    const char *c = o->client_id ? o->client_id : mm_json_str(old, "client_id");
    if (c)
        return snprintf(cid, len, "%s", c), 0;
    char q[600];
    snprintf(q, sizeof(q), "OAuth client id registered for Mimir at %s: ", iss);
    if (ask(q, cid, len))
        return 0;
    return mm_fail(MM_ERR_USAGE, "the OAuth login needs the client id registered for Mimir at "
                   "%s: pass --client-id ID", iss);
}

/* The default profile of doc as it stands (NULL: none). */
static char *default_of(const char *path, const cJSON *doc)
{
    char why[600], *d = NULL;
    mm_config cfg;
    if (mm_config_from_json(path, doc, 0, &cfg, why, sizeof(why)) == MM_OK) {
        d = cfg.default_profile ? strdup(cfg.default_profile) : NULL;
        mm_config_free(&cfg);
    }
    return d;
}

/* A default that came from being the only profile would vanish with a
 * second one: it is written down instead; with none at all, the new
 * profile becomes the default (which the commands after this one, such
 * as mcp-config, then use without --profile). */
static void keep_default(cJSON *doc, const char *before, const char *name)
{
    if (!cJSON_GetObjectItemCaseSensitive(doc, "default_profile"))
        cJSON_AddStringToObject(doc, "default_profile", before ? before : name);
}

/* In place when the key exists: the file keeps its order. */
static void set_str(cJSON *obj, const char *key, const char *val)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, cJSON_CreateString(val));
    else
        cJSON_AddStringToObject(obj, key, val);
}

/* Settings that belong to OAuth go when the profile stops using it; the
 * rest of an existing profile (ca_file, say) stays. */
static void update_profile(cJSON *prof, const way *w, const char *url, const char *iss,
                           const char *cid)
{
    static const char *const oauth_only[] = {"issuer", "client_id", "scope", "audience",
                                             "resource", "auth_params", "redirect_port"};
    set_str(prof, "kind", w->kind);
    set_str(prof, "server_url", url);
    if (!strcmp(w->kind, "oauth")) {
        set_str(prof, "issuer", iss);
        set_str(prof, "client_id", cid);
        return;
    }
    for (size_t i = 0; i < sizeof(oauth_only) / sizeof(oauth_only[0]); i++)
        cJSON_DeleteItemFromObjectCaseSensitive(prof, oauth_only[i]);
}

/* The profile named name in doc, created when missing. */
static cJSON *profile_in(cJSON *doc, const char *name)
{
    cJSON *profs = cJSON_GetObjectItemCaseSensitive(doc, "profiles");
    if (!cJSON_IsObject(profs)) {
        cJSON_DeleteItemFromObjectCaseSensitive(doc, "profiles");
        profs = cJSON_AddObjectToObject(doc, "profiles");
    }
    cJSON *prof = cJSON_GetObjectItemCaseSensitive(profs, name);
    if (!cJSON_IsObject(prof)) {
        cJSON_DeleteItemFromObjectCaseSensitive(profs, name);
        prof = cJSON_AddObjectToObject(profs, name);
    }
    return prof;
}

/* Write the profile for way w; the agent reloads. */
static int save_profile(const mm_opts *o, const char *name, const way *w, const cJSON *probe)
{
    char path[4096], iss[2048] = "", cid[512] = "";
    cJSON *doc;
    int rc = mm_confedit_load(path, sizeof(path), &doc);
    if (rc)
        return rc;
    cJSON *prof = profile_in(doc, name);
    if (!strcmp(w->kind, "oauth") &&
        ((rc = oauth_issuer(o, probe, prof, iss, sizeof(iss))) ||
         (rc = oauth_client(o, prof, iss, cid, sizeof(cid))))) {
        cJSON_Delete(doc);
        return rc;
    }
    char *before = default_of(path, doc);
    update_profile(prof, w, mm_json_str(probe, "server_url"), iss, cid);
    keep_default(doc, before, name);
    free(before);
    if ((rc = mm_confedit_save(path, doc, o)) == 0)
        fprintf(o->json ? stderr : stdout, "Profile %s (%s: %s) saved in %s\n", name,
                mm_json_str(probe, "server_url"), w->words, path);
    return rc;
}

static int probe(const mm_opts *o, mm_response *r)
{
    mm_opts brief = *o;
    brief.timeout_s = 40; /* two HTTP calls in parallel, each under the agent's deadline */
    cJSON *req = mm_proto_request(MM_OP_PROBE, 0, NULL);
    cJSON_AddStringToObject(req, "url", o->server);
    return mm_request_once(&brief, req, r);
}

static void print_json(const char *name, const way *w, const char *url)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "profile", name);
    cJSON_AddStringToObject(j, "mode", w->mode);
    cJSON_AddStringToObject(j, "server_url", url);
    char *s = cJSON_PrintUnformatted(j);
    if (s)
        puts(s);
    cJSON_free(s);
    cJSON_Delete(j);
}

int mm_login_server(mm_opts *o)
{
    if (o->mode && !way_named(o->mode))
        return mm_fail(MM_ERR_USAGE, "--mode is one of oauth, dev, api-key, none");
    if (o->profile && !mm_profile_name_valid(o->profile))
        return mm_fail(MM_ERR_USAGE, "\"%s\" is not a profile name: letters, digits, '-', '_', "
                       "'.' (at most %d)", o->profile, MM_PROFILE_NAME_MAX);
    mm_response r;
    int rc = probe(o, &r);
    if (rc)
        return rc;
    const way *w = NULL;
    const char *url = mm_json_str(r.root, "server_url");
    char name[MM_PROFILE_NAME_MAX + 1];
    if (!url)
        rc = mm_fail(MM_ERR_INTERNAL, "the agent's probe named no server URL");
    if (!rc && !(rc = pick(o, r.root, url, &w))) {
        if (o->profile)
            snprintf(name, sizeof(name), "%s", o->profile);
        else
            derive_name(url, name, sizeof(name));
        rc = save_profile(o, name, w, r.root);
    }
    if (!rc && !o->no_login)
        rc = mm_signin_kind(o, name, w->kind);
    if (!rc && o->json)
        print_json(name, w, url);
    mm_response_free(&r);
    return rc;
}
