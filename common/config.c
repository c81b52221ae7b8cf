/* config.c - load, validate and atomically rewrite config.json. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mimir/config.h"
#include "mimir/paths.h"
#include "mimir/proto.h"

#define CONFIG_MAX_BYTES (1024 * 1024)

static const char *const kind_names[] = {
    [MM_KIND_OAUTH] = "oauth", [MM_KIND_API_KEY] = "api-key", [MM_KIND_MIMIR] = "mimir",
    [MM_KIND_NONE] = "none"};

const char *mm_kind_name(mm_kind k) { return kind_names[k]; }

int mm_profile_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > MM_PROFILE_NAME_MAX)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
            return 0;
    return 1;
}

static int streq0(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int mm_profile_same_identity(const mm_profile_cfg *a, const mm_profile_cfg *b)
{
    return a->kind == b->kind && streq0(a->issuer, b->issuer) &&
           streq0(a->client_id, b->client_id) && streq0(a->server_url, b->server_url);
}

__attribute__((format(printf, 4, 5))) static mm_err fail(char *why, size_t whylen,
                                                         const char *path, const char *fmt,
                                                         ...)
{
    int n = snprintf(why, whylen, "%s: ", path);
    if (n < 0 || (size_t)n >= whylen)
        return MM_ERR_CONFIG;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why + n, whylen - (size_t)n, fmt, ap);
    va_end(ap);
    return MM_ERR_CONFIG;
}

static void profile_free(mm_profile_cfg *p)
{
    free(p->name);
    free(p->server_url);
    free(p->issuer);
    free(p->client_id);
    free(p->scope);
    free(p->audience);
    free(p->resource);
    free(p->ca_file);
    cJSON_Delete(p->auth_params);
    memset(p, 0, sizeof(*p));
}

void mm_config_free(mm_config *cfg)
{
    for (size_t i = 0; i < cfg->nprofiles; i++)
        profile_free(&cfg->profiles[i]);
    free(cfg->profiles);
    free(cfg->path);
    free(cfg->default_profile);
    memset(cfg, 0, sizeof(*cfg));
}

static int is_url(const char *s)
{
    return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

/* "user@" in the authority: never needed, only ever a disguise for the host
 * (the agent refuses such URLs too, judging them with curl's own parser). */
static int has_userinfo(const char *url)
{
    const char *auth = strstr(url, "://");
    if (!auth)
        return 0;
    auth += 3;
    size_t n = strcspn(auth, "/?#");
    return memchr(auth, '@', n) != NULL;
}

/* Copy an optional string member; a present member of another type is an error. */
static mm_err take_str(const cJSON *obj, const char *key, char **out, const char *path,
                       const char *pname, char *why, size_t whylen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it || cJSON_IsNull(it))
        return MM_OK;
    if (!cJSON_IsString(it) || !it->valuestring[0])
        return fail(why, whylen, path, "profiles.%s.%s: must be a non-empty string", pname,
                    key);
    if (!(*out = strdup(it->valuestring)))
        return MM_ERR_NOMEM;
    return MM_OK;
}

static const char *const known_keys[] = {"kind",     "server_url", "issuer",
                                         "client_id", "scope",     "audience",
                                         "resource", "ca_file",    "auth_params",
                                         "redirect_port", NULL};

static mm_err check_keys(const cJSON *obj, const char *path, const char *pname, char *why,
                         size_t whylen)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        int ok = 0;
        for (int i = 0; known_keys[i]; i++)
            ok |= strcmp(known_keys[i], it->string) == 0;
        if (!ok)
            return fail(why, whylen, path, "profiles.%s.%s: unknown key", pname, it->string);
    }
    return MM_OK;
}

static mm_err parse_extras(const cJSON *obj, mm_profile_cfg *p, const char *path, char *why,
                           size_t whylen)
{
    const cJSON *ap = cJSON_GetObjectItemCaseSensitive(obj, "auth_params");
    if (ap) {
        const cJSON *it;
        if (!cJSON_IsObject(ap))
            return fail(why, whylen, path, "profiles.%s.auth_params: must be an object",
                        p->name);
        cJSON_ArrayForEach(it, ap) if (!cJSON_IsString(it)) return fail(
            why, whylen, path, "profiles.%s.auth_params.%s: must be a string", p->name,
            it->string);
        p->auth_params = cJSON_Duplicate(ap, 1);
    }
    const cJSON *port = cJSON_GetObjectItemCaseSensitive(obj, "redirect_port");
    if (port) {
        if (!cJSON_IsNumber(port) || port->valuedouble < 0 || port->valuedouble > 65535 ||
            port->valuedouble != (int)port->valuedouble)
            return fail(why, whylen, path,
                        "profiles.%s.redirect_port: must be an integer 0..65535", p->name);
        p->redirect_port = port->valueint;
    }
    return MM_OK;
}

/* cJSON keeps every member of an object, duplicates included, and lookups
 * find the first: a second "work" profile, or a second "issuer", would be
 * silently ignored.  Such a file is refused instead.  Objects are small. */
static const char *duplicate_key(const cJSON *obj)
{
    for (const cJSON *a = obj ? obj->child : NULL; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            if (a->string && b->string && !strcmp(a->string, b->string))
                return a->string;
    return NULL;
}

static mm_err parse_profile(const cJSON *obj, mm_profile_cfg *p, const char *path, char *why,
                            size_t whylen)
{
    const char *n = p->name;
    if (!mm_profile_name_valid(n))
        return fail(why, whylen, path,
                    "profiles.\"%s\": profile names use letters, digits, '-', '_', '.' "
                    "(at most 64)",
                    n);
    if (!cJSON_IsObject(obj))
        return fail(why, whylen, path, "profiles.%s: must be an object", n);
    const char *dup = duplicate_key(obj);
    if (!dup)
        dup = duplicate_key(cJSON_GetObjectItemCaseSensitive(obj, "auth_params"));
    if (dup)
        return fail(why, whylen, path, "profiles.%s: key \"%s\" appears twice", n, dup);
    mm_err e = check_keys(obj, path, n, why, whylen);
    struct {
        const char *key;
        char **dst;
    } strs[] = {{"server_url", &p->server_url}, {"issuer", &p->issuer},
                {"client_id", &p->client_id},   {"scope", &p->scope},
                {"audience", &p->audience},     {"resource", &p->resource},
                {"ca_file", &p->ca_file}};
    for (size_t i = 0; e == MM_OK && i < sizeof(strs) / sizeof(strs[0]); i++)
        e = take_str(obj, strs[i].key, strs[i].dst, path, n, why, whylen);
    if (e != MM_OK)
        return e;
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(obj, "kind");
    const char *kind = cJSON_IsString(k) ? k->valuestring : (k ? "" : "oauth");
    size_t i = 0;
    while (i < sizeof(kind_names) / sizeof(kind_names[0]) && strcmp(kind, kind_names[i]))
        i++;
    if (i == sizeof(kind_names) / sizeof(kind_names[0]))
        return fail(why, whylen, path, "profiles.%s.kind: must be \"oauth\", \"api-key\", "
                    "\"mimir\" or \"none\"", n);
    p->kind = (mm_kind)i;
    return parse_extras(obj, p, path, why, whylen);
}

/* Semantic checks that need the whole profile. */
static mm_err check_profile(const mm_profile_cfg *p, const char *path, char *why, size_t whylen)
{
    const char *urls[][2] = {{"server_url", p->server_url}, {"issuer", p->issuer}};
    for (int i = 0; i < 2; i++)
        if (urls[i][1] && !is_url(urls[i][1]))
            return fail(why, whylen, path, "profiles.%s.%s: must be an http(s) URL", p->name,
                        urls[i][0]);
        else if (urls[i][1] && has_userinfo(urls[i][1]))
            return fail(why, whylen, path, "profiles.%s.%s: user information (\"...@\") is "
                        "not allowed in a URL", p->name, urls[i][0]);
    if (p->kind != MM_KIND_OAUTH && p->kind != MM_KIND_API_KEY && !p->server_url)
        return fail(why, whylen, path, "profiles.%s.server_url: required for kind \"%s\"",
                    p->name, mm_kind_name(p->kind));
    if (p->kind == MM_KIND_OAUTH) {
        if (!p->issuer && !p->server_url)
            return fail(why, whylen, path,
                        "profiles.%s: an oauth profile needs \"issuer\" or \"server_url\"",
                        p->name);
        if (!p->client_id)
            return fail(why, whylen, path,
                        "profiles.%s.client_id: required for kind \"oauth\"", p->name);
    }
    return MM_OK;
}

static mm_err set_str(char **dst, const char *v)
{
    char *c = strdup(v);
    if (!c)
        return MM_ERR_NOMEM;
    free(*dst);
    *dst = c;
    return MM_OK;
}

/* MIMIR_* variables override the default profile (or create one). */
static mm_err apply_env(mm_config *cfg)
{
    static const char *const vars[] = {"MIMIR_URL", "MIMIR_OAUTH_ISSUER",
                                       "MIMIR_OAUTH_CLIENT_ID", "MIMIR_OAUTH_SCOPE",
                                       "MIMIR_OAUTH_AUDIENCE"};
    const char *val[5];
    int any = 0;
    for (int i = 0; i < 5; i++) {
        val[i] = getenv(vars[i]);
        if (val[i] && !val[i][0])
            val[i] = NULL;
        any |= val[i] != NULL;
    }
    if (!any)
        return MM_OK;
    mm_profile_cfg *p = (mm_profile_cfg *)mm_config_find(cfg, NULL);
    if (!p) {
        mm_profile_cfg *np = realloc(cfg->profiles, (cfg->nprofiles + 1) * sizeof(*np));
        if (!np)
            return MM_ERR_NOMEM;
        cfg->profiles = np;
        p = &np[cfg->nprofiles++];
        memset(p, 0, sizeof(*p));
        if (set_str(&p->name, "default") || set_str(&cfg->default_profile, "default"))
            return MM_ERR_NOMEM;
    }
    char **dst[5] = {&p->server_url, &p->issuer, &p->client_id, &p->scope, &p->audience};
    for (int i = 0; i < 5; i++)
        if (val[i] && set_str(dst[i], val[i]) != MM_OK)
            return MM_ERR_NOMEM;
    return MM_OK;
}

static mm_err parse_profiles(const cJSON *profiles, mm_config *cfg, const char *path,
                             char *why, size_t whylen)
{
    if (!profiles)
        return MM_OK;
    if (!cJSON_IsObject(profiles))
        return fail(why, whylen, path, "profiles: must be an object of named profiles");
    const char *dup = duplicate_key(profiles);
    if (dup)
        return fail(why, whylen, path, "profiles.%s: defined twice", dup);
    int n = cJSON_GetArraySize(profiles);
    cfg->profiles = calloc((size_t)n + 1, sizeof(*cfg->profiles));
    if (!cfg->profiles)
        return MM_ERR_NOMEM;
    const cJSON *it;
    cJSON_ArrayForEach(it, profiles)
    {
        mm_profile_cfg *p = &cfg->profiles[cfg->nprofiles++];
        if (!(p->name = strdup(it->string)))
            return MM_ERR_NOMEM;
        mm_err e = parse_profile(it, p, path, why, whylen);
        if (e != MM_OK)
            return e;
    }
    return MM_OK;
}

static mm_err parse_store(const cJSON *st, mm_config *cfg, const char *path, char *why,
                          size_t whylen)
{
    static const char *const names[] = {[MM_STORE_PREF_AUTO] = "auto",
                                        [MM_STORE_PREF_KEYRING] = "keyring",
                                        [MM_STORE_PREF_FILE] = "file"};
    if (!st)
        return MM_OK;
    for (size_t i = 0; cJSON_IsString(st) && i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(st->valuestring, names[i])) {
            cfg->store = (mm_store_pref)i;
            return MM_OK;
        }
    return fail(why, whylen, path, "store: must be \"auto\", \"keyring\" or \"file\"");
}

static mm_err pick_default(const cJSON *doc, mm_config *cfg, const char *path, char *why,
                           size_t whylen)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "default_profile");
    if (d) {
        if (!cJSON_IsString(d))
            return fail(why, whylen, path, "default_profile: must be a string");
        if (!mm_config_find(cfg, d->valuestring))
            return fail(why, whylen, path, "default_profile: no profile named \"%s\"",
                        d->valuestring);
        return set_str(&cfg->default_profile, d->valuestring);
    }
    /* Without an explicit choice: "default" if present, else a lone profile. */
    for (size_t i = 0; i < cfg->nprofiles; i++)
        if (strcmp(cfg->profiles[i].name, "default") == 0)
            return set_str(&cfg->default_profile, "default");
    if (cfg->nprofiles == 1)
        return set_str(&cfg->default_profile, cfg->profiles[0].name);
    return MM_OK;
}

mm_err mm_config_from_json(const char *path, const cJSON *doc, int use_env, mm_config *cfg,
                           char *why, size_t whylen)
{
    memset(cfg, 0, sizeof(*cfg));
    mm_err e = MM_ERR_NOMEM;
    if (!(cfg->path = strdup(path)))
        goto out;
    e = MM_ERR_CONFIG;
    if (!cJSON_IsObject(doc)) {
        fail(why, whylen, path, "the top level must be a JSON object");
        goto out;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, doc) if (strcmp(it->string, "profiles") &&
                                    strcmp(it->string, "default_profile") &&
                                    strcmp(it->string, "store"))
    {
        fail(why, whylen, path, "%s: unknown key", it->string);
        goto out;
    }
    if (duplicate_key(doc)) {
        fail(why, whylen, path, "%s: appears twice", duplicate_key(doc));
        goto out;
    }
    e = parse_store(cJSON_GetObjectItemCaseSensitive(doc, "store"), cfg, path, why, whylen);
    if (e == MM_OK)
        e = parse_profiles(cJSON_GetObjectItemCaseSensitive(doc, "profiles"), cfg, path, why,
                           whylen);
    if (e == MM_OK)
        e = pick_default(doc, cfg, path, why, whylen);
    if (e == MM_OK && use_env)
        e = apply_env(cfg);
    for (size_t i = 0; e == MM_OK && i < cfg->nprofiles; i++)
        e = check_profile(&cfg->profiles[i], path, why, whylen);
out:
    if (e != MM_OK)
        mm_config_free(cfg);
    return e;
}

/* ssh's rule for its config: the file is ours (or root's), and nobody else
 * may write it, because whoever can edit it can point a profile at an
 * identity provider of their choosing.  It is a regular file: a FIFO or a
 * device would block or never end (opened non-blocking, so even the open
 * cannot hang). */
static mm_err open_trusted(const char *path, int *fd, struct stat *st, char *why, size_t whylen)
{
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (*fd < 0)
        return errno == ENOENT ? MM_OK
                               : (snprintf(why, whylen, "%s: %s", path, strerror(errno)),
                                  MM_ERR_IO);
    const char *bad = NULL;
    if (fstat(*fd, st) < 0)
        bad = "cannot stat it";
    else if (!S_ISREG(st->st_mode))
        bad = "not a regular file";
    else if (st->st_uid != geteuid() && st->st_uid != 0)
        bad = "owned by another user";
    else if (st->st_mode & 022)
        bad = "writable by group or others (chmod go-w it)";
    else if (st->st_size > CONFIG_MAX_BYTES)
        bad = "larger than 1 MiB";
    if (!bad)
        return MM_OK;
    close(*fd);
    *fd = -1;
    return fail(why, whylen, path, "refusing the config file: %s", bad);
}

mm_err mm_config_read_json(const char *path, cJSON **doc, char *why, size_t whylen)
{
    *doc = NULL;
    int fd;
    struct stat st;
    mm_err e = open_trusted(path, &fd, &st, why, whylen);
    if (e != MM_OK)
        return e;
    if (fd < 0) { /* no file: an empty config */
        *doc = cJSON_CreateObject();
        return *doc ? MM_OK : MM_ERR_NOMEM;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    ssize_t n = buf ? read(fd, buf, (size_t)st.st_size + 1) : 0;
    close(fd);
    if (!buf)
        return MM_ERR_NOMEM;
    if (n < 0)
        e = fail(why, whylen, path, "read error: %s", strerror(errno));
    else if (n > st.st_size)
        e = fail(why, whylen, path, "changed while it was read; try again");
    else if (!(*doc = mm_json_parse(buf, (size_t)n))) {
        /* Where cJSON stops in these bytes.  cJSON_GetErrorPtr() is stale
         * when mm_json_parse refused the bytes without cJSON failing, and
         * then computes NULL + 0 (undefined; found by tests/fuzz). */
        const char *at = NULL;
        cJSON_Delete(cJSON_ParseWithLengthOpts(buf, (size_t)n, &at, 0));
        e = fail(why, whylen, path, "not valid JSON (near byte %ld)",
                 at && at >= buf && at <= buf + n ? (long)(at - buf) : -1L);
    }
    free(buf);
    return e;
}

mm_err mm_config_load(const char *path, mm_config *cfg, char *why, size_t whylen)
{
    cJSON *doc;
    memset(cfg, 0, sizeof(*cfg));
    mm_err e = mm_config_read_json(path, &doc, why, whylen);
    if (e != MM_OK)
        return e;
    e = mm_config_from_json(path, doc, 1, cfg, why, whylen);
    cJSON_Delete(doc);
    return e;
}

const mm_profile_cfg *mm_config_find(const mm_config *cfg, const char *name)
{
    if (!name)
        name = cfg->default_profile;
    for (size_t i = 0; name && i < cfg->nprofiles; i++)
        if (strcmp(cfg->profiles[i].name, name) == 0)
            return &cfg->profiles[i];
    return NULL;
}

/* Write to a temp file in the same directory, fsync, rename: a crash
 * leaves either the old or the new file, never half of one. */
mm_err mm_config_write_json(const char *path, const cJSON *doc, char *why, size_t whylen)
{
    char dir[4096], tmp[4200];
    if (mm_dirname(path, dir, sizeof(dir)) != MM_OK ||
        snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
        return fail(why, whylen, path, "path too long");
    struct stat st; /* an existing config dir may be shared; a new one is private */
    if (stat(dir, &st) < 0 && mm_private_dir(dir, 1, why, whylen) != MM_OK)
        return MM_ERR_IO;
    /* In a directory others may write to, they could swap the file we
     * rename over for one of theirs between our write and the agent's
     * read: the profiles say where credentials go. */
    if (stat(dir, &st) == 0 && (st.st_uid != geteuid() || (st.st_mode & 0022))) {
        snprintf(why, whylen, "%s: refusing to write: its directory %s is %s", path, dir,
                 st.st_uid != geteuid() ? "owned by another user" : "writable by others");
        return MM_ERR_CONFIG;
    }
    char *text = cJSON_Print(doc);
    if (!text)
        return MM_ERR_NOMEM;
    mm_err e = MM_OK;
    int fd = mkostemp(tmp, O_CLOEXEC); /* O_EXCL, mode 0600: never someone else's file */
    size_t len = strlen(text);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
        fsync(fd) < 0 || rename(tmp, path) < 0) {
        snprintf(why, whylen, "%s: cannot write: %s", path, strerror(errno));
        if (fd >= 0)
            unlink(tmp);
        e = MM_ERR_IO;
    }
    if (fd >= 0)
        close(fd);
    cJSON_free(text);
    return e;
}
