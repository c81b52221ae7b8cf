/*
 * cmd_profile.c - profile add|list|remove|default.
 *
 * These edit config.json directly (validated with the same code the agent
 * uses, written atomically) and then ask a running agent to reload; they
 * never start an agent just for that.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confedit.h"
#include "helper.h"
#include "mimir/config.h"
#include "mimir/paths.h"

static const char add_usage[] =
    "profile add NAME [--kind oauth|api-key] [--url URL] [--issuer URL] [--client-id ID]\n"
    "       [--scope S] [--audience A] [--resource R] [--ca-file F] [--param K=V]...\n"
    "       [--redirect-port N] [--default]";

static int add_param(cJSON *prof, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return mm_fail(MM_ERR_USAGE, "--param wants KEY=VALUE, got '%s'", kv);
    cJSON *ap = cJSON_GetObjectItemCaseSensitive(prof, "auth_params");
    if (!ap)
        ap = cJSON_AddObjectToObject(prof, "auth_params");
    char key[128];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
    cJSON_DeleteItemFromObjectCaseSensitive(ap, key);
    cJSON_AddStringToObject(ap, key, eq + 1);
    return 0;
}

static const struct option add_options[] = {
    {"kind", 1, 0, 'k'},     {"url", 1, 0, 'u'},      {"issuer", 1, 0, 'i'},
    {"client-id", 1, 0, 'c'}, {"scope", 1, 0, 's'},    {"audience", 1, 0, 'a'},
    {"resource", 1, 0, 'r'}, {"ca-file", 1, 0, 'f'},  {"param", 1, 0, 'P'},
    {"redirect-port", 1, 0, 'R'}, {"default", 0, 0, 'd'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};

static int profile_add(int argc, char **argv, const mm_opts *o)
{
    static const char *const keys[128] = {['k'] = "kind", ['u'] = "server_url",
        ['i'] = "issuer", ['c'] = "client_id", ['s'] = "scope", ['a'] = "audience",
        ['r'] = "resource", ['f'] = "ca_file"};
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 && !strcmp(argv[1], "--help"))
            return printf("usage: mimir-helper %s\n", add_usage), 0;
        return mm_fail(MM_ERR_USAGE, "usage: mimir-helper %s", add_usage);
    }
    const char *name = argv[1];
    char path[4096];
    cJSON *doc;
    int rc = mm_confedit_load(path, sizeof(path), &doc);
    if (rc)
        return rc;
    cJSON *profs = cJSON_GetObjectItemCaseSensitive(doc, "profiles");
    if (!profs)
        profs = cJSON_AddObjectToObject(doc, "profiles");
    cJSON_DeleteItemFromObjectCaseSensitive(profs, name); /* add replaces */
    cJSON *prof = cJSON_AddObjectToObject(profs, name);
    int ch, make_default = 0;
    optind = 2;
    while (!rc && (ch = getopt_long(argc, argv, "", add_options, NULL)) != -1) {
        if (ch == 'P')
            rc = add_param(prof, optarg);
        else if (ch == 'R')
            cJSON_AddNumberToObject(prof, "redirect_port", atoi(optarg));
        else if (ch == 'd')
            make_default = 1;
        else if (ch > 0 && ch < 128 && keys[ch])
            cJSON_AddStringToObject(prof, keys[ch], optarg);
        else
            rc = mm_fail(MM_ERR_USAGE, "usage: mimir-helper %s", add_usage);
    }
    if (!rc && optind < argc)
        rc = mm_fail(MM_ERR_USAGE, "unexpected argument '%s'", argv[optind]);
    if (!rc && make_default) {
        cJSON_DeleteItemFromObjectCaseSensitive(doc, "default_profile");
        cJSON_AddStringToObject(doc, "default_profile", name);
    }
    if (rc) {
        cJSON_Delete(doc);
        return rc;
    }
    if ((rc = mm_confedit_save(path, doc, o)) == 0)
        printf("Profile %s saved in %s\n", name, path);
    return rc;
}

/* Load the document, let edit change it, save it: the shape of remove and
 * default.  edit returns 0 or an exit status (it has printed why). */
static int edit_config(const char *name, const mm_opts *o,
                       int (*edit)(cJSON *doc, const char *name, const char *path))
{
    char path[4096];
    cJSON *doc;
    int rc = mm_confedit_load(path, sizeof(path), &doc);
    if (rc)
        return rc;
    if ((rc = edit(doc, name, path)) != 0) {
        cJSON_Delete(doc);
        return rc;
    }
    return mm_confedit_save(path, doc, o);
}

static int remove_profile(cJSON *doc, const char *name, const char *path)
{
    cJSON *profs = cJSON_GetObjectItemCaseSensitive(doc, "profiles");
    if (!cJSON_GetObjectItemCaseSensitive(profs, name))
        return mm_fail(MM_ERR_UNKNOWN_PROFILE, "no profile named \"%s\" in %s", name, path);
    cJSON_DeleteItemFromObjectCaseSensitive(profs, name);
    const char *def = mm_json_str(doc, "default_profile");
    if (def && !strcmp(def, name))
        cJSON_DeleteItemFromObjectCaseSensitive(doc, "default_profile");
    return 0;
}

static int set_default(cJSON *doc, const char *name, const char *path)
{
    (void)path; /* validation in mm_confedit_save names an unknown profile */
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "default_profile");
    cJSON_AddStringToObject(doc, "default_profile", name);
    return 0;
}

static int profile_usage(void)
{
    return mm_fail(MM_ERR_USAGE, "usage: mimir-helper profile add|list|remove NAME|default "
                   "NAME (see 'mimir-helper profile --help')");
}

static int profile_remove(int argc, char **argv, const mm_opts *o)
{
    if (argc != 2)
        return profile_usage();
    const char *name = argv[1];
    int rc = edit_config(name, o, remove_profile);
    if (rc == 0)
        printf("Profile %s removed.  A credential it had stays in the keyring; to erase it,\n"
               "run 'mimir-helper logout --profile %s' before removing a profile.\n",
               name, name);
    return rc;
}

static int profile_default(int argc, char **argv, const mm_opts *o)
{
    if (argc != 2)
        return profile_usage();
    const char *name = argv[1];
    int rc = edit_config(name, o, set_default);
    if (rc == 0)
        printf("Default profile is now %s\n", name);
    return rc;
}

static int profile_list(int argc, char **argv, const mm_opts *o)
{
    (void)argv;
    (void)o;
    if (argc != 1)
        return profile_usage();
    char path[4096], why[600];
    mm_config cfg;
    if (mm_config_path(path, sizeof(path)) != MM_OK)
        return mm_fail(MM_ERR_CONFIG, "cannot find the config file: set MIMIR_CONFIG or HOME");
    mm_err e = mm_config_load(path, &cfg, why, sizeof(why));
    if (e != MM_OK)
        return mm_fail(e, "%s", why);
    if (!cfg.nprofiles)
        printf("No profiles in %s\n", path);
    for (size_t i = 0; i < cfg.nprofiles; i++) {
        const mm_profile_cfg *p = &cfg.profiles[i];
        int def = cfg.default_profile && !strcmp(cfg.default_profile, p->name);
        printf("%s%s\t%s\t%s\n", p->name, def ? " *" : "", mm_kind_name(p->kind),
               p->issuer ? p->issuer : p->server_url ? p->server_url : "-");
    }
    mm_config_free(&cfg);
    return 0;
}

const mm_subcommand mm_profile_subs[] = {
    {"add", profile_add, add_options},
    {"list", profile_list, NULL},
    {"remove", profile_remove, NULL},
    {"default", profile_default, NULL},
    {0}};

static int run_profile(mm_opts *o)
{
    for (const mm_subcommand *s = mm_profile_subs; o->nargs && s->name; s++)
        if (!strcmp(s->name, o->args[0]))
            return s->run(o->nargs, o->args, o);
    return profile_usage();
}

const mm_command mm_cmd_profile = {
    "profile", run_profile, "profile add NAME ...|list|remove NAME|default NAME",
    "Edit the profiles in the config file ($MIMIR_CONFIG, else\n"
    "$XDG_CONFIG_HOME/mimir/config.json); a running agent reloads it.\n"
    "  add NAME   --kind oauth|api-key (default oauth), --url MCP_URL,\n"
    "             --issuer URL, --client-id ID, --scope S, --audience A,\n"
    "             --resource R, --ca-file FILE, --param KEY=VALUE (extra\n"
    "             authorization parameters, repeatable), --redirect-port N,\n"
    "             --default\n"
    "  list       one line per profile; * marks the default\n"
    "  remove NAME, default NAME\n", NULL};
