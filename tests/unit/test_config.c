/*
 * test_config.c - common/config.c: loading and validating config.json,
 * default-profile rules, environment overrides, atomic rewrite.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mimir/config.h"

static char tmpdir[256];
static char cfgpath[512];

static const char *const env_vars[] = {"MIMIR_URL", "MIMIR_OAUTH_ISSUER",
                                       "MIMIR_OAUTH_CLIENT_ID", "MIMIR_OAUTH_SCOPE",
                                       "MIMIR_OAUTH_AUDIENCE"};

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
        unsetenv(env_vars[i]);
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    snprintf(tmpdir, sizeof(tmpdir), "%s/mm-unit-config.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    clear_env();
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Load text as the config file; returns the error, why filled. */
static mm_err load_text(const char *text, mm_config *cfg, char *why, size_t whylen)
{
    write_file(cfgpath, text);
    why[0] = '\0';
    return mm_config_load(cfgpath, cfg, why, whylen);
}

/* The file must be refused with MM_ERR_CONFIG and a message that names the
 * file and the offending key. */
static void expect_invalid(const char *text, const char *key)
{
    mm_config cfg;
    char why[600];
    mm_err e = load_text(text, &cfg, why, sizeof(why));
    if (e != MM_ERR_CONFIG)
        fail_msg("%s: expected config_error, got %s", text, mm_err_code(e));
    if (strncmp(why, cfgpath, strlen(cfgpath)) != 0)
        fail_msg("message does not start with the file name: %s", why);
    if (!strstr(why, key))
        fail_msg("message does not name '%s': %s", key, why);
    /* A failed load leaves nothing behind. */
    assert_int_equal(cfg.nprofiles, 0);
    assert_null(cfg.profiles);
    assert_null(cfg.default_profile);
    assert_null(cfg.path);
    mm_config_free(&cfg); /* harmless on the zeroed struct */
}

static const char full_config[] =
    "{\n"
    "  \"default_profile\": \"work\",\n"
    "  \"profiles\": {\n"
    "    \"work\": { \"kind\": \"oauth\", \"server_url\": \"https://mimir.example/mcp\",\n"
    "              \"issuer\": \"https://id.example\", \"client_id\": \"mimir-cli\",\n"
    "              \"scope\": \"openid offline_access\", \"audience\": \"api://mimir\",\n"
    "              \"resource\": \"https://mimir.example/\", \"auth_params\": {\"prompt\": \"consent\"},\n"
    "              \"ca_file\": \"/etc/ssl/corp.pem\", \"redirect_port\": 8765 },\n"
    "    \"local\": { \"kind\": \"api-key\", \"server_url\": \"http://127.0.0.1:8080/mcp\" },\n"
    "    \"bare\": { \"issuer\": \"http://127.0.0.1:9000\", \"client_id\": \"c\" }\n"
    "  }\n"
    "}\n";

static void test_full_valid_file(void **state)
{
    (void)state;
    mm_config cfg;
    char why[600] = "";
    assert_int_equal(load_text(full_config, &cfg, why, sizeof(why)), MM_OK);
    assert_string_equal(cfg.path, cfgpath);
    assert_int_equal(cfg.nprofiles, 3);
    assert_string_equal(cfg.default_profile, "work");

    const mm_profile_cfg *w = mm_config_find(&cfg, "work");
    assert_non_null(w);
    assert_ptr_equal(mm_config_find(&cfg, NULL), w);
    assert_string_equal(w->name, "work");
    assert_int_equal(w->kind, MM_KIND_OAUTH);
    assert_string_equal(w->server_url, "https://mimir.example/mcp");
    assert_string_equal(w->issuer, "https://id.example");
    assert_string_equal(w->client_id, "mimir-cli");
    assert_string_equal(w->scope, "openid offline_access");
    assert_string_equal(w->audience, "api://mimir");
    assert_string_equal(w->resource, "https://mimir.example/");
    assert_string_equal(w->ca_file, "/etc/ssl/corp.pem");
    assert_int_equal(w->redirect_port, 8765);
    assert_non_null(w->auth_params);
    assert_string_equal(cJSON_GetObjectItem(w->auth_params, "prompt")->valuestring, "consent");

    const mm_profile_cfg *l = mm_config_find(&cfg, "local");
    assert_non_null(l);
    assert_int_equal(l->kind, MM_KIND_API_KEY);
    assert_string_equal(l->server_url, "http://127.0.0.1:8080/mcp");
    assert_null(l->issuer);
    assert_null(l->client_id);
    assert_null(l->scope);
    assert_null(l->auth_params);
    assert_int_equal(l->redirect_port, 0);

    const mm_profile_cfg *b = mm_config_find(&cfg, "bare");
    assert_non_null(b);
    assert_int_equal(b->kind, MM_KIND_OAUTH); /* kind defaults to oauth */
    assert_null(b->server_url);

    assert_null(mm_config_find(&cfg, "nope"));
    assert_string_equal(mm_kind_name(MM_KIND_OAUTH), "oauth");
    assert_string_equal(mm_kind_name(MM_KIND_API_KEY), "api-key");
    mm_config_free(&cfg);
    assert_int_equal(cfg.nprofiles, 0);
}

static void test_null_members_are_absent(void **state)
{
    (void)state;
    mm_config cfg;
    char why[600];
    assert_int_equal(load_text("{\"profiles\":{\"a\":{\"kind\":\"api-key\",\"scope\":null}}}",
                               &cfg, why, sizeof(why)),
                     MM_OK);
    assert_null(cfg.profiles[0].scope);
    mm_config_free(&cfg);
}

/* ---- default profile rules ------------------------------------------- */

static void test_default_explicit(void **state)
{
    (void)state;
    mm_config cfg;
    char why[600];
    assert_int_equal(load_text("{\"default_profile\":\"b\",\"profiles\":{"
                               "\"default\":{\"kind\":\"api-key\"},\"b\":{\"kind\":\"api-key\"}}}",
                               &cfg, why, sizeof(why)),
                     MM_OK);
    assert_string_equal(cfg.default_profile, "b"); /* explicit beats "default" */
    assert_string_equal(mm_config_find(&cfg, NULL)->name, "b");
    mm_config_free(&cfg);
}

static void test_default_named_default(void **state)
{
    (void)state;
    mm_config cfg;
    char why[600];
    assert_int_equal(load_text("{\"profiles\":{\"a\":{\"kind\":\"api-key\"},"
                               "\"default\":{\"kind\":\"api-key\"},\"z\":{\"kind\":\"api-key\"}}}",
                               &cfg, why, sizeof(why)),
                     MM_OK);
    assert_string_equal(cfg.default_profile, "default");
    mm_config_free(&cfg);
}

static void test_default_single_profile(void **state)
{
    (void)state;
    mm_config cfg;
    char why[600];
    assert_int_equal(load_text("{\"profiles\":{\"only\":{\"kind\":\"api-key\"}}}", &cfg, why,
                               sizeof(why)),
                     MM_OK);
    assert_string_equal(cfg.default_profile, "only");
    assert_string_equal(mm_config_find(&cfg, NULL)->name, "only");
    mm_config_free(&cfg);
}

static void test_default_none(void **state)
{
    (void)state;
    mm_config cfg;
    char why[600];
    assert_int_equal(load_text("{\"profiles\":{\"a\":{\"kind\":\"api-key\"},"
                               "\"b\":{\"kind\":\"api-key\"}}}",
                               &cfg, why, sizeof(why)),
                     MM_OK);
    assert_null(cfg.default_profile);
    assert_null(mm_config_find(&cfg, NULL));
    assert_non_null(mm_config_find(&cfg, "a"));
    mm_config_free(&cfg);

    assert_int_equal(load_text("{}", &cfg, why, sizeof(why)), MM_OK);
    assert_int_equal(cfg.nprofiles, 0);
    assert_null(cfg.default_profile);
    assert_null(mm_config_find(&cfg, NULL));
    mm_config_free(&cfg);
}

/* ---- invalid files ------------------------------------------------------ */

static void test_invalid_files(void **state)
{
    (void)state;
    /* unknown keys */
    expect_invalid("{\"colour\":\"red\"}", "colour: unknown key");
    expect_invalid("{\"profiles\":{\"w\":{\"kind\":\"api-key\",\"bogus\":1}}}",
                   "profiles.w.bogus: unknown key");
    /* kind */
    expect_invalid("{\"profiles\":{\"w\":{\"kind\":\"password\"}}}", "profiles.w.kind");
    expect_invalid("{\"profiles\":{\"w\":{\"kind\":1}}}", "profiles.w.kind");
    /* string fields of the wrong type, or empty */
    expect_invalid("{\"profiles\":{\"w\":{\"kind\":\"api-key\",\"server_url\":5}}}",
                   "profiles.w.server_url");
    expect_invalid("{\"profiles\":{\"w\":{\"issuer\":[\"https://x\"],\"client_id\":\"c\"}}}",
                   "profiles.w.issuer");
    expect_invalid("{\"profiles\":{\"w\":{\"issuer\":\"https://x\",\"client_id\":true}}}",
                   "profiles.w.client_id");
    expect_invalid("{\"profiles\":{\"w\":{\"issuer\":\"https://x\",\"client_id\":\"c\","
                   "\"scope\":\"\"}}}",
                   "profiles.w.scope");
    expect_invalid("{\"profiles\":{\"w\":{\"kind\":\"api-key\",\"ca_file\":{}}}}",
                   "profiles.w.ca_file");
    /* URLs */
    expect_invalid("{\"profiles\":{\"w\":{\"kind\":\"api-key\",\"server_url\":\"ftp://x\"}}}",
                   "profiles.w.server_url");
    expect_invalid("{\"profiles\":{\"w\":{\"issuer\":\"id.example\",\"client_id\":\"c\"}}}",
                   "profiles.w.issuer");
    /* oauth needs a client id and somewhere to discover the issuer */
    expect_invalid("{\"profiles\":{\"w\":{\"kind\":\"oauth\",\"issuer\":\"https://x\"}}}",
                   "profiles.w.client_id");
    expect_invalid("{\"profiles\":{\"w\":{\"kind\":\"oauth\",\"client_id\":\"c\"}}}",
                   "profiles.w");
    expect_invalid("{\"profiles\":{\"w\":{\"client_id\":\"c\"}}}", "\"issuer\" or \"server_url\"");
    /* redirect_port */
    expect_invalid("{\"profiles\":{\"w\":{\"kind\":\"api-key\",\"redirect_port\":-1}}}",
                   "profiles.w.redirect_port");
    expect_invalid("{\"profiles\":{\"w\":{\"kind\":\"api-key\",\"redirect_port\":65536}}}",
                   "profiles.w.redirect_port");
    expect_invalid("{\"profiles\":{\"w\":{\"kind\":\"api-key\",\"redirect_port\":80.5}}}",
                   "profiles.w.redirect_port");
    expect_invalid("{\"profiles\":{\"w\":{\"kind\":\"api-key\",\"redirect_port\":\"80\"}}}",
                   "profiles.w.redirect_port");
    expect_invalid("{\"profiles\":{\"w\":{\"kind\":\"api-key\",\"redirect_port\":1e12}}}",
                   "profiles.w.redirect_port");
    /* auth_params */
    expect_invalid("{\"profiles\":{\"w\":{\"kind\":\"api-key\",\"auth_params\":\"x=y\"}}}",
                   "profiles.w.auth_params");
    expect_invalid("{\"profiles\":{\"w\":{\"kind\":\"api-key\",\"auth_params\":{\"n\":1}}}}",
                   "profiles.w.auth_params.n");
    /* default_profile */
    expect_invalid("{\"default_profile\":\"x\",\"profiles\":{\"w\":{\"kind\":\"api-key\"}}}",
                   "default_profile");
    expect_invalid("{\"default_profile\":3,\"profiles\":{\"w\":{\"kind\":\"api-key\"}}}",
                   "default_profile");
    expect_invalid("{\"default_profile\":\"w\"}", "default_profile");
    /* profile names and shapes */
    expect_invalid("{\"profiles\":{\"bad name\":{\"kind\":\"api-key\"}}}", "profiles.\"bad name\"");
    expect_invalid("{\"profiles\":{\"\":{\"kind\":\"api-key\"}}}", "profiles.\"\"");
    expect_invalid("{\"profiles\":{\"a/b\":{\"kind\":\"api-key\"}}}", "profiles.\"a/b\"");
    expect_invalid("{\"profiles\":{\"w\":\"api-key\"}}", "profiles.w");
    expect_invalid("{\"profiles\":[{\"kind\":\"api-key\"}]}", "profiles");
    /* documents that are not config objects */
    expect_invalid("[]", "top level");
    expect_invalid("\"config\"", "top level");
    expect_invalid("{\"profiles\":{", "not valid JSON");
    expect_invalid("", "not valid JSON");
}

/* Text after the top-level object must not be ignored. */
static void test_trailing_data_refused(void **state)
{
    (void)state;
    expect_invalid("{} trailing", "not valid JSON");
    expect_invalid("{\"profiles\":{}}{\"profiles\":{\"x\":1}}", "not valid JSON");
}

static void test_profile_name_rules(void **state)
{
    (void)state;
    char name[80];
    memset(name, 'a', sizeof(name));
    name[MM_PROFILE_NAME_MAX] = '\0';
    assert_true(mm_profile_name_valid(name));
    name[MM_PROFILE_NAME_MAX] = 'a';
    name[MM_PROFILE_NAME_MAX + 1] = '\0';
    assert_false(mm_profile_name_valid(name));
    assert_true(mm_profile_name_valid("Work-1_x.y"));
    assert_false(mm_profile_name_valid(""));
    assert_false(mm_profile_name_valid("a b"));
    assert_false(mm_profile_name_valid("a/b"));
    assert_false(mm_profile_name_valid("é"));
    assert_false(mm_profile_name_valid("a\"b"));

    /* A 65-character name in a file is refused with the name in the message. */
    char text[256];
    snprintf(text, sizeof(text), "{\"profiles\":{\"%s\":{\"kind\":\"api-key\"}}}", name);
    expect_invalid(text, name);
}

static void test_too_large_file(void **state)
{
    (void)state;
    size_t n = 1024 * 1024 + 10;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    expect_invalid(big, "larger than 1 MiB");
    free(big);
}

static void test_same_identity(void **state)
{
    (void)state;
    mm_profile_cfg a = {.kind = MM_KIND_OAUTH, .issuer = "https://i", .client_id = "c",
                        .server_url = "https://s", .scope = "x"};
    mm_profile_cfg b = a;
    b.scope = "y"; /* scope is not identity */
    assert_true(mm_profile_same_identity(&a, &b));
    b.client_id = "d";
    assert_false(mm_profile_same_identity(&a, &b));
    b = a;
    b.issuer = NULL;
    assert_false(mm_profile_same_identity(&a, &b));
    b = a;
    b.kind = MM_KIND_API_KEY;
    assert_false(mm_profile_same_identity(&a, &b));
}

/* ---- environment overrides -------------------------------------------- */

static void test_env_overrides_default_profile(void **state)
{
    (void)state;
    setenv("MIMIR_URL", "https://env.example/mcp", 1);
    setenv("MIMIR_OAUTH_ISSUER", "https://env-id.example", 1);
    setenv("MIMIR_OAUTH_CLIENT_ID", "env-client", 1);
    setenv("MIMIR_OAUTH_SCOPE", "openid env", 1);
    setenv("MIMIR_OAUTH_AUDIENCE", "env-aud", 1);
    mm_config cfg;
    char why[600];
    assert_int_equal(load_text(full_config, &cfg, why, sizeof(why)), MM_OK);
    const mm_profile_cfg *w = mm_config_find(&cfg, "work");
    assert_string_equal(w->server_url, "https://env.example/mcp");
    assert_string_equal(w->issuer, "https://env-id.example");
    assert_string_equal(w->client_id, "env-client");
    assert_string_equal(w->scope, "openid env");
    assert_string_equal(w->audience, "env-aud");
    assert_string_equal(w->resource, "https://mimir.example/"); /* not overridable */
    /* Only the default profile is affected. */
    const mm_profile_cfg *b = mm_config_find(&cfg, "bare");
    assert_string_equal(b->issuer, "http://127.0.0.1:9000");
    assert_string_equal(b->client_id, "c");
    assert_null(mm_config_find(&cfg, "default"));
    assert_int_equal(cfg.nprofiles, 3);
    mm_config_free(&cfg);

    /* Without apply_env, the file as written. */
    cJSON *doc = cJSON_Parse(full_config);
    assert_int_equal(mm_config_from_json(cfgpath, doc, 0, &cfg, why, sizeof(why)), MM_OK);
    assert_string_equal(mm_config_find(&cfg, "work")->client_id, "mimir-cli");
    mm_config_free(&cfg);
    cJSON_Delete(doc);
}

static void test_env_single_override(void **state)
{
    (void)state;
    setenv("MIMIR_OAUTH_SCOPE", "only-scope", 1);
    setenv("MIMIR_OAUTH_ISSUER", "", 1); /* empty: ignored */
    mm_config cfg;
    char why[600];
    assert_int_equal(load_text(full_config, &cfg, why, sizeof(why)), MM_OK);
    const mm_profile_cfg *w = mm_config_find(&cfg, "work");
    assert_string_equal(w->scope, "only-scope");
    assert_string_equal(w->issuer, "https://id.example");
    assert_string_equal(w->client_id, "mimir-cli");
    mm_config_free(&cfg);
}

static void test_env_creates_default(void **state)
{
    (void)state;
    setenv("MIMIR_URL", "https://env.example/mcp", 1);
    setenv("MIMIR_OAUTH_ISSUER", "https://env-id.example", 1);
    setenv("MIMIR_OAUTH_CLIENT_ID", "env-client", 1);
    mm_config cfg;
    char why[600];
    /* The file does not exist. */
    assert_int_equal(mm_config_load(cfgpath, &cfg, why, sizeof(why)), MM_OK);
    assert_int_equal(cfg.nprofiles, 1);
    assert_string_equal(cfg.default_profile, "default");
    const mm_profile_cfg *d = mm_config_find(&cfg, NULL);
    assert_non_null(d);
    assert_string_equal(d->name, "default");
    assert_int_equal(d->kind, MM_KIND_OAUTH);
    assert_string_equal(d->server_url, "https://env.example/mcp");
    assert_string_equal(d->issuer, "https://env-id.example");
    assert_string_equal(d->client_id, "env-client");
    assert_null(d->scope);
    mm_config_free(&cfg);

    /* A file with profiles but no default: "default" is added. */
    assert_int_equal(load_text("{\"profiles\":{\"a\":{\"kind\":\"api-key\"},"
                               "\"b\":{\"kind\":\"api-key\"}}}",
                               &cfg, why, sizeof(why)),
                     MM_OK);
    assert_int_equal(cfg.nprofiles, 3);
    assert_string_equal(cfg.default_profile, "default");
    assert_string_equal(mm_config_find(&cfg, NULL)->client_id, "env-client");
    assert_int_equal(mm_config_find(&cfg, "a")->kind, MM_KIND_API_KEY);
    mm_config_free(&cfg);
}

static void test_env_values_are_validated(void **state)
{
    (void)state;
    setenv("MIMIR_URL", "not-a-url", 1);
    setenv("MIMIR_OAUTH_CLIENT_ID", "c", 1);
    mm_config cfg;
    char why[600];
    assert_int_equal(mm_config_load(cfgpath, &cfg, why, sizeof(why)), MM_ERR_CONFIG);
    assert_non_null(strstr(why, "profiles.default.server_url"));
    clear_env();
    /* An issuer without a client id cannot make a usable oauth profile. */
    setenv("MIMIR_OAUTH_ISSUER", "https://id.example", 1);
    assert_int_equal(mm_config_load(cfgpath, &cfg, why, sizeof(why)), MM_ERR_CONFIG);
    assert_non_null(strstr(why, "profiles.default.client_id"));
}

/* ---- missing, unreadable, read/write --------------------------------------- */

static void test_missing_file(void **state)
{
    (void)state;
    mm_config cfg;
    char why[600] = "";
    assert_int_equal(mm_config_load(cfgpath, &cfg, why, sizeof(why)), MM_OK);
    assert_int_equal(cfg.nprofiles, 0);
    assert_null(cfg.default_profile);
    assert_string_equal(cfg.path, cfgpath);
    mm_config_free(&cfg);

    cJSON *doc = NULL;
    assert_int_equal(mm_config_read_json(cfgpath, &doc, why, sizeof(why)), MM_OK);
    assert_true(cJSON_IsObject(doc));
    assert_null(doc->child);
    cJSON_Delete(doc);
}

static void test_unreadable_path(void **state)
{
    (void)state;
    mm_config cfg;
    char why[600] = "";
    /* A directory where the file should be. */
    assert_int_not_equal(mm_config_load(tmpdir, &cfg, why, sizeof(why)), MM_OK);
    assert_non_null(strstr(why, tmpdir));
    /* A path through a regular file. */
    char p[700];
    write_file(cfgpath, "{}");
    snprintf(p, sizeof(p), "%s/sub/config.json", cfgpath);
    assert_int_equal(mm_config_load(p, &cfg, why, sizeof(why)), MM_ERR_IO);
    assert_non_null(strstr(why, p));
}

static void test_write_then_read(void **state)
{
    (void)state;
    char path[700], dir[600], why[600] = "";
    snprintf(dir, sizeof(dir), "%s/new/mimir", tmpdir);
    snprintf(path, sizeof(path), "%s/config.json", dir);
    cJSON *doc = cJSON_Parse(full_config);
    assert_non_null(doc);
    assert_int_equal(mm_config_write_json(path, doc, why, sizeof(why)), MM_OK);

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700); /* a new config dir is private */

    cJSON *back = NULL;
    assert_int_equal(mm_config_read_json(path, &back, why, sizeof(why)), MM_OK);
    assert_true(cJSON_Compare(doc, back, 1));
    cJSON_Delete(back);

    mm_config cfg;
    assert_int_equal(mm_config_load(path, &cfg, why, sizeof(why)), MM_OK);
    assert_int_equal(cfg.nprofiles, 3);
    assert_string_equal(cfg.default_profile, "work");
    mm_config_free(&cfg);

    /* Rewrite: replaced whole, no temp file left behind. */
    cJSON_DeleteItemFromObject(doc, "default_profile");
    assert_int_equal(mm_config_write_json(path, doc, why, sizeof(why)), MM_OK);
    assert_int_equal(mm_config_read_json(path, &back, why, sizeof(why)), MM_OK);
    assert_true(cJSON_Compare(doc, back, 1));
    assert_null(cJSON_GetObjectItem(back, "default_profile"));
    cJSON_Delete(back);
    char cmd[800];
    snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1", dir);
    assert_int_equal(system(cmd), 0);
    cJSON_Delete(doc);
}

static void test_write_fails_cleanly(void **state)
{
    (void)state;
    char path[700], why[600] = "";
    write_file(cfgpath, "{}");
    snprintf(path, sizeof(path), "%s/sub/config.json", cfgpath); /* parent is a file */
    cJSON *doc = cJSON_CreateObject();
    assert_int_not_equal(mm_config_write_json(path, doc, why, sizeof(why)), MM_OK);
    assert_true(strlen(why) > 0);
    cJSON_Delete(doc);
}

/* A directory others can write to: refused before anything is written there. */
static void test_write_refuses_shared_dir(void **state)
{
    (void)state;
    char dir[700], path[760], why[600] = "";
    snprintf(dir, sizeof(dir), "%s.shared", cfgpath);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(chmod(dir, 0777), 0);
    snprintf(path, sizeof(path), "%s/config.json", dir);
    cJSON *doc = cJSON_CreateObject();
    assert_int_equal(mm_config_write_json(path, doc, why, sizeof(why)), MM_ERR_CONFIG);
    assert_non_null(strstr(why, "writable by others"));
    char cmd[800];
    snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", dir);
    assert_int_equal(system(cmd), 0);
    rmdir(dir);
    cJSON_Delete(doc);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_full_valid_file),
        T(test_null_members_are_absent),
        T(test_default_explicit),
        T(test_default_named_default),
        T(test_default_single_profile),
        T(test_default_none),
        T(test_invalid_files),
        T(test_trailing_data_refused),
        T(test_profile_name_rules),
        T(test_too_large_file),
        T(test_same_identity),
        T(test_env_overrides_default_profile),
        T(test_env_single_override),
        T(test_env_creates_default),
        T(test_env_values_are_validated),
        T(test_missing_file),
        T(test_unreadable_path),
        T(test_write_then_read),
        T(test_write_fails_cleanly),
        T(test_write_refuses_shared_dir),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
