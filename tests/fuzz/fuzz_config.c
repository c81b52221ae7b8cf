/*
 * fuzz_config.c - the config parser (common/config.c): mm_config_read_json
 * on a file holding the input, and mm_config_from_json over mm_json_parse,
 * with and without the MIMIR_* environment overrides.
 *
 * Feeds: the input as the whole config file.
 * Asserts: reading the file gives exactly the document mm_json_parse makes
 * of the same bytes (or an error with a reason where it makes none).  A
 * config accepted as MM_OK only has valid, distinct profile names; a known
 * kind; http(s) server_url and issuer without user information; oauth
 * profiles with a client_id and an issuer or server_url; other kinds but
 * api-key with a server_url; ports 0..65535; string-only auth_params; and
 * a default profile that exists (or none).  A refused one says why and
 * leaves nothing allocated (LeakSanitizer).
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "mimir/config.h"
#include "mimir/proto.h"
#include "secret.h"

static char dir[256], path[300];

static void remove_dir(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    umask(077); /* the file must not be group/world-writable to be read */
    /* tmpfs when there is one: a file rewritten per input on a disk
     * filesystem makes the disk, not the parser, the bottleneck. */
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof(dir), "%s/mimir-fuzz-config-XXXXXX", base);
    if (mm_secret_init() != MM_OK || !mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/config.json", dir);
    atexit(remove_dir);
    /* Enough to make a "default" profile of its own when the file has none. */
    setenv("MIMIR_OAUTH_ISSUER", "https://id.example.test", 1);
    setenv("MIMIR_OAUTH_CLIENT_ID", "mimir-cli", 1);
    return 0;
}

static int url_ok(const char *u)
{
    if (!u)
        return 1;
    const char *auth = !strncmp(u, "https://", 8) ? u + 8 : !strncmp(u, "http://", 7) ? u + 7
                                                                                        : NULL;
    return auth && !memchr(auth, '@', strcspn(auth, "/?#"));
}

static void check_config(const mm_config *cfg)
{
    for (size_t i = 0; i < cfg->nprofiles; i++) {
        const mm_profile_cfg *p = &cfg->profiles[i];
        FUZZ_ASSERT(p->name && mm_profile_name_valid(p->name));
        for (size_t j = 0; j < i; j++)
            FUZZ_ASSERT(strcmp(p->name, cfg->profiles[j].name));
        FUZZ_ASSERT(p->kind >= MM_KIND_OAUTH && p->kind <= MM_KIND_NONE);
        FUZZ_ASSERT(url_ok(p->server_url) && url_ok(p->issuer));
        if (p->kind == MM_KIND_OAUTH)
            FUZZ_ASSERT(p->client_id && (p->issuer || p->server_url));
        else if (p->kind != MM_KIND_API_KEY)
            FUZZ_ASSERT(p->server_url);
        FUZZ_ASSERT(p->redirect_port >= 0 && p->redirect_port <= 65535);
        const cJSON *it;
        if (p->auth_params)
            cJSON_ArrayForEach(it, p->auth_params) FUZZ_ASSERT(cJSON_IsString(it));
    }
    FUZZ_ASSERT(!cfg->default_profile || mm_config_find(cfg, NULL));
}

static void from_json(const cJSON *doc, int use_env)
{
    mm_config cfg;
    char why[512] = "";
    mm_err e = mm_config_from_json(path, doc, use_env, &cfg, why, sizeof(why));
    if (e == MM_OK) {
        check_config(&cfg);
        mm_config_free(&cfg);
    } else {
        FUZZ_ASSERT(e == MM_ERR_CONFIG || e == MM_ERR_NOMEM);
        FUZZ_ASSERT(why[0] && !cfg.profiles && !cfg.path);
    }
}

/* Printed the same (cJSON_Compare mismatches duplicate keys). */
static int same_json(const cJSON *a, const cJSON *b)
{
    char *pa = cJSON_PrintUnformatted(a), *pb = cJSON_PrintUnformatted(b);
    int same = pa && pb && !strcmp(pa, pb);
    cJSON_free(pa);
    cJSON_free(pb);
    return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "w");
    FUZZ_ASSERT(f && fwrite(data, 1, size, f) == size && fclose(f) == 0);
    cJSON *doc = NULL;
    char why[512] = "";
    mm_err e = mm_config_read_json(path, &doc, why, sizeof(why));
    cJSON *direct = mm_json_parse((const char *)data, size);
    if (e == MM_OK)
        FUZZ_ASSERT(doc && direct && same_json(doc, direct));
    else
        FUZZ_ASSERT(!doc && !direct && e == MM_ERR_CONFIG && why[0]);
    if (direct) {
        from_json(direct, 0);
        from_json(direct, 1);
    }
    cJSON_Delete(doc);
    cJSON_Delete(direct);
    return 0;
}
