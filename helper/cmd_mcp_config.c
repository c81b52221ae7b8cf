/*
 * cmd_mcp_config.c - mcp-config CLIENT: the MCP server entry that keeps
 * working past token expiry in that client, printed or merged into the
 * client's own config file.
 *
 * Which entry, and why (README "MCP clients" says the same for users):
 *   - A client that runs a command per request or per reconnect cannot be
 *     relied on: Claude Code runs its headersHelper once per connection and
 *     not again on a 401, Cursor, Windsurf and VS Code's mcp.json only know
 *     static headers, Claude Desktop only stdio.  So every profile whose
 *     credential expires (oauth, mimir) gets the stdio proxy, which asks the
 *     agent for a fresh credential on every request.
 *   - An API key does not expire within a session: Claude Code may fetch it
 *     once with headersHelper.  Elsewhere a static header would put the key
 *     into a plain-text file, so those clients get the proxy too.
 *   - A server without security (kind none) needs nothing but its URL,
 *     except where the client speaks only stdio.
 * Commands carry the helper's absolute path: clients do not share the
 * user's PATH.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "jsonfile.h"
#include "mcp_clients.h"
#include "mimir/config.h"
#include "mimir/paths.h"
#include "pretty.h"

typedef enum { ENTRY_PROXY, ENTRY_HEADERS_HELPER, ENTRY_HTTP } entry_kind;

enum {
    CL_HTTP = 1,           /* connects to Streamable HTTP servers by URL */
    CL_HEADERS_HELPER = 2, /* runs a command for its headers (once per connection) */
    CL_TYPED = 4,          /* entries name their transport: "type": "stdio"|"http" */
};

typedef enum { AT_NONE, AT_CWD, AT_HOME, AT_XDG_CONFIG } base_dir;

typedef struct {
    const char *name;
    base_dir base;
    const char *file;        /* relative to base */
    const char *servers_key; /* the object holding the servers */
    const char *url_key;     /* CL_HTTP: where the URL goes */
    unsigned flags;
    const char *after;       /* what the user does next */
} client;

static const client clients[] = {
    {"claude-code", AT_CWD, ".mcp.json", "mcpServers", "url",
     CL_HTTP | CL_HEADERS_HELPER | CL_TYPED,
     "Claude Code asks once before it uses a project's .mcp.json servers."},
    {"vscode", AT_CWD, ".vscode/mcp.json", "servers", "url", CL_HTTP | CL_TYPED,
     "VS Code lists it under MCP servers; start it there."},
    {"cursor", AT_HOME, ".cursor/mcp.json", "mcpServers", "url", CL_HTTP,
     "Cursor loads it after a reload (MCP settings)."},
    {"windsurf", AT_HOME, ".codeium/windsurf/mcp_config.json", "mcpServers", "serverUrl",
     CL_HTTP, "Windsurf loads it after a refresh of its MCP servers."},
    {"claude-desktop", AT_XDG_CONFIG, "Claude/claude_desktop_config.json", "mcpServers", NULL,
     0, "Claude Desktop loads it when it starts again."},
    {"generic", AT_NONE, NULL, "mcpServers", NULL, 0,
     "Any MCP client that can launch a stdio server can run this entry."},
};
#define NCLIENTS (sizeof(clients) / sizeof(clients[0]))

/* The one decision: the entry that survives token expiry (see the top). */
static entry_kind choose_entry(const client *c, mm_kind kind)
{
    if (kind == MM_KIND_NONE)
        return c->flags & CL_HTTP ? ENTRY_HTTP : ENTRY_PROXY;
    if (kind == MM_KIND_API_KEY && (c->flags & CL_HEADERS_HELPER))
        return ENTRY_HEADERS_HELPER;
    return ENTRY_PROXY;
}

static const char *const entry_why[] = {
    [ENTRY_PROXY] = "the stdio proxy: a fresh credential from the agent for every request",
    [ENTRY_HEADERS_HELPER] = "headersHelper: the API key, fetched from the agent per connection",
    [ENTRY_HTTP] = "plain HTTP: the server asks for no credential",
};

static const client *find_client(const char *name)
{
    for (size_t i = 0; i < NCLIENTS; i++)
        if (!strcmp(clients[i].name, name))
            return &clients[i];
    return NULL;
}

/* Claude Code's rule for server names, which suits the others too. */
static int server_name_valid(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789-_") == n;
}

/* Single quotes for a POSIX shell, unless nothing needs quoting. */
static void shell_quote(char *buf, size_t len, const char *s)
{
    if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                        "/._-+=:,@%") == strlen(s)) {
        snprintf(buf, len, "%s", s);
        return;
    }
    size_t o = 0;
    buf[o++] = '\'';
    for (; *s && o + 5 < len; s++) {
        if (*s == '\'') {
            memcpy(buf + o, "'\\''", 4);
            o += 4;
        } else {
            buf[o++] = *s;
        }
    }
    buf[o++] = '\'';
    buf[o] = '\0';
}

static int helper_path(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0)
        return mm_fail(MM_ERR_IO, "cannot find this program's own path in /proc/self/exe");
    buf[n] = '\0';
    return 0;
}

/* The variables that move the agent's socket or the config: a client
 * started from the desktop would not have them, so the entry carries them. */
static void add_env(cJSON *entry)
{
    static const char *const vars[] = {"MIMIR_CONFIG", "MIMIR_AGENT_SOCK"};
    cJSON *env = NULL;
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);
        if (!v || !*v)
            continue;
        if (!env)
            env = cJSON_AddObjectToObject(entry, "env");
        cJSON_AddStringToObject(env, vars[i], v);
    }
}

static cJSON *build_entry(const client *c, entry_kind k, const mm_profile_cfg *p,
                          const char *helper)
{
    cJSON *e = cJSON_CreateObject();
    if (k == ENTRY_PROXY) {
        if (c->flags & CL_TYPED)
            cJSON_AddStringToObject(e, "type", "stdio");
        cJSON_AddStringToObject(e, "command", helper);
        const char *args[] = {"proxy", "--profile", p->name};
        cJSON_AddItemToObject(e, "args", cJSON_CreateStringArray(args, 3));
        add_env(e);
        return e;
    }
    if (c->flags & CL_TYPED)
        cJSON_AddStringToObject(e, "type", "http");
    cJSON_AddStringToObject(e, c->url_key, p->server_url);
    if (k == ENTRY_HEADERS_HELPER) {
        char q[PATH_MAX * 4 + 8], cmd[sizeof(q) + 128];
        shell_quote(q, sizeof(q), helper);
        snprintf(cmd, sizeof(cmd), "%s headers --profile %s", q, p->name);
        cJSON_AddStringToObject(e, "headersHelper", cmd);
    }
    return e;
}

static int client_file(const client *c, char *buf, size_t len)
{
    const char *base = NULL, *sub = "";
    char cwd[PATH_MAX];
    if (c->base == AT_CWD) {
        if (!getcwd(cwd, sizeof(cwd)))
            return mm_fail(MM_ERR_IO, "cannot read the current directory");
        base = cwd;
    } else if (c->base == AT_XDG_CONFIG && (base = getenv("XDG_CONFIG_HOME")) && *base == '/') {
        /* Electron's appData: $XDG_CONFIG_HOME, else ~/.config */
    } else {
        base = getenv("HOME");
        sub = c->base == AT_XDG_CONFIG ? ".config/" : "";
        if (!base || *base != '/')
            return mm_fail(MM_ERR_CONFIG, "HOME is not set: cannot find %s's config", c->name);
    }
    if (snprintf(buf, len, "%s/%s%s", base, sub, c->file) >= (int)len)
        return mm_fail(MM_ERR_IO, "the path of %s's config is too long", c->name);
    return 0;
}

typedef enum { MERGE_ADDED, MERGE_REPLACED, MERGE_SAME } merge_result;

/* Put entry (consumed) into doc as servers_key.name, replacing any entry
 * of that name in place. */
static int merge(cJSON *doc, const client *c, const char *name, cJSON *entry, const char *path,
                 merge_result *res)
{
    cJSON *servers = cJSON_GetObjectItemCaseSensitive(doc, c->servers_key);
    if (servers && !cJSON_IsObject(servers)) {
        cJSON_Delete(entry);
        return mm_fail(MM_ERR_CONFIG, "%s: \"%s\" is not an object; the file is left as it is",
                       path, c->servers_key);
    }
    if (!servers)
        servers = cJSON_AddObjectToObject(doc, c->servers_key);
    cJSON *old = cJSON_GetObjectItemCaseSensitive(servers, name);
    *res = !old ? MERGE_ADDED : cJSON_Compare(old, entry, 1) ? MERGE_SAME : MERGE_REPLACED;
    if (old)
        cJSON_ReplaceItemInObjectCaseSensitive(servers, name, entry); /* the first, in place */
    else
        cJSON_AddItemToObject(servers, name, entry);
    /* A second member of the same name would shadow ours, or be shadowed. */
    for (cJSON *it = entry->next, *next; it; it = next) {
        next = it->next;
        if (it->string && !strcmp(it->string, name)) {
            cJSON_Delete(cJSON_DetachItemViaPointer(servers, it));
            *res = MERGE_REPLACED;
        }
    }
    return 0;
}

static void print_add_json(const char *name, const cJSON *entry)
{
    char *compact = cJSON_PrintUnformatted(entry);
    size_t n = compact ? strlen(compact) * 4 + 8 : 0;
    char *q = compact ? malloc(n) : NULL;
    if (q) {
        shell_quote(q, n, compact);
        fprintf(stderr, "# or, for every project: claude mcp add-json --scope user %s %s\n", name,
                q);
    }
    free(q);
    cJSON_free(compact);
}

static void say_written(const mm_jsonfile *f, const char *name, merge_result res,
                        entry_kind k)
{
    if (!f->exists)
        printf("Created %s with server \"%s\" (%s).\n", f->path, name, entry_why[k]);
    else
        printf("%s server \"%s\" %s %s (%s).\nThe previous file is %s" MM_JSONFILE_BACKUP ".\n",
               res == MERGE_ADDED ? "Added" : "Replaced", name,
               res == MERGE_ADDED ? "to" : "in", f->path, entry_why[k], f->path);
}

static int write_entry(const client *c, const char *name, cJSON *entry, entry_kind k)
{
    char path[PATH_MAX];
    merge_result res = MERGE_ADDED;
    int rc = client_file(c, path, sizeof(path));
    if (rc) {
        cJSON_Delete(entry);
        return rc;
    }
    mm_jsonfile f;
    if ((rc = mm_jsonfile_load(&f, path)) == 0)
        rc = merge(f.doc, c, name, entry, f.path, &res);
    else
        cJSON_Delete(entry);
    if (!rc && res == MERGE_SAME)
        printf("%s already has this server \"%s\"; nothing written.\n", f.path, name);
    else if (!rc && (rc = mm_jsonfile_save(&f)) == 0)
        say_written(&f, name, res, k);
    if (!rc)
        printf("%s\n", c->after);
    mm_jsonfile_free(&f);
    return rc;
}

static int print_entry(const client *c, const char *name, cJSON *entry, entry_kind k)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddItemToObject(cJSON_AddObjectToObject(doc, c->servers_key), name, entry);
    int rc = mm_pretty_print(stdout, doc) == 0 ? 0 : mm_fail(MM_ERR_NOMEM, "out of memory");
    char path[PATH_MAX];
    fprintf(stderr, "# %s\n", entry_why[k]);
    if (!c->file)
        fprintf(stderr, "# %s\n", c->after);
    else if (client_file(c, path, sizeof(path)) == 0)
        fprintf(stderr, "# for %s (--write merges it there)\n", path);
    if (c->flags & CL_HEADERS_HELPER)
        print_add_json(name, entry);
    cJSON_Delete(doc);
    return rc;
}

static int load_profile(const mm_opts *o, mm_config *cfg, const mm_profile_cfg **p)
{
    char path[4096], why[600];
    if (mm_config_path(path, sizeof(path)) != MM_OK)
        return mm_fail(MM_ERR_CONFIG, "cannot find the config file: set MIMIR_CONFIG or HOME");
    mm_err e = mm_config_load(path, cfg, why, sizeof(why));
    if (e != MM_OK)
        return mm_fail(e, "%s", why);
    if (!(*p = mm_config_find(cfg, o->profile))) {
        int rc = o->profile ? mm_fail(MM_ERR_UNKNOWN_PROFILE, "no profile named \"%s\" in %s; "
                                      "see 'mimir-helper profile list'", o->profile, path)
                            : mm_fail(MM_ERR_UNKNOWN_PROFILE, "no default profile in %s; add "
                                      "one with 'mimir-helper profile add'", path);
        mm_config_free(cfg);
        return rc;
    }
    if (!(*p)->server_url) {
        int rc = mm_fail(MM_ERR_CONFIG, "profile %s has no server_url (the MCP endpoint) in %s; "
                         "add it there", (*p)->name, path);
        mm_config_free(cfg);
        return rc;
    }
    return 0;
}

static int run_mcp_config(mm_opts *o)
{
    const client *c = o->nargs == 1 ? find_client(o->args[0]) : NULL;
    const char *name = o->name ? o->name : "mimir";
    if (o->nargs == 1 && !c) {
        char names[200] = "";
        for (size_t i = 0; i < NCLIENTS; i++)
            snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
                     clients[i].name);
        return mm_fail(MM_ERR_USAGE, "unknown client '%s' (one of %s)", o->args[0], names);
    }
    if (!c)
        return mm_fail(MM_ERR_USAGE, "usage: mimir-helper %s", mm_cmd_mcp_config.usage);
    if (!server_name_valid(name))
        return mm_fail(MM_ERR_USAGE, "--name: letters, digits, '-' and '_' only (at most 64)");
    if (o->write && !c->file)
        return mm_fail(MM_ERR_USAGE, "%s has no file of its own: run it without --write and "
                       "put the entry where your client reads its MCP servers", c->name);
    char helper[PATH_MAX];
    mm_config cfg;
    const mm_profile_cfg *p = NULL;
    int rc = helper_path(helper, sizeof(helper));
    if (rc || (rc = load_profile(o, &cfg, &p)))
        return rc;
    entry_kind k = choose_entry(c, p->kind);
    cJSON *entry = build_entry(c, k, p, helper);
    rc = o->write ? write_entry(c, name, entry, k) : print_entry(c, name, entry, k);
    mm_config_free(&cfg);
    if (fflush(stdout) != 0)
        rc = mm_fail(MM_ERR_IO, "cannot write to standard output");
    return rc;
}

const mm_command mm_cmd_mcp_config = {
    "mcp-config", run_mcp_config,
    "mcp-config CLIENT [--profile NAME] [--name mimir] [--write]",
    "Print, or with --write merge into the client's config file, the MCP\n"
    "server entry that keeps working past token expiry in CLIENT:\n"
    "  claude-code     ./.mcp.json: the stdio proxy; headersHelper for api-key\n"
    "                  profiles (also prints the 'claude mcp add-json' line)\n"
    "  vscode          ./.vscode/mcp.json (\"servers\"): the stdio proxy\n"
    "  cursor          ~/.cursor/mcp.json: the stdio proxy\n"
    "  windsurf        ~/.codeium/windsurf/mcp_config.json: the stdio proxy\n"
    "  claude-desktop  ~/.config/Claude/claude_desktop_config.json: the stdio proxy\n"
    "  generic         the stdio proxy entry, for any other client (no file)\n"
    "A profile of kind none (no credential) gets a plain URL entry where the\n"
    "client speaks HTTP.  --write keeps every other server and setting, writes\n"
    "atomically, keeps the previous file as FILE" MM_JSONFILE_BACKUP " and refuses a\n"
    "file it cannot parse (leaving it unchanged).\n"
    "  --name NAME   the server's name in the client (default mimir)\n"
    "  --write       merge into the client's file instead of printing\n",
    "name,write"};

/* For doctor (mcp_clients.h): the i-th client with a file of its own. */
int mm_mcp_client_at(size_t i, const char **name, const char **servers_key, char *path,
                     size_t len)
{
    for (size_t j = 0; j < NCLIENTS; j++) {
        if (!clients[j].file || i--)
            continue;
        *name = clients[j].name;
        *servers_key = clients[j].servers_key;
        return client_file(&clients[j], path, len) == 0 ? 1 : -1;
    }
    return 0;
}
