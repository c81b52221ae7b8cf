/* doctor_clients.c - MCP client config files (see doctor_clients.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor_clients.h"
#include "mcp_clients.h"
#include "mimir/proto.h"

#define FILE_MAX (4 * 1024 * 1024)

static cJSON *read_json(const char *path, int *exists)
{
    FILE *f = fopen(path, "re");
    *exists = f != NULL || errno != ENOENT;
    if (!f)
        return NULL;
    char *buf = malloc(FILE_MAX);
    size_t n = buf ? fread(buf, 1, FILE_MAX, f) : 0;
    fclose(f);
    cJSON *doc = buf && n < FILE_MAX ? mm_json_parse(buf, n) : NULL;
    free(buf);
    return doc;
}

/* The program an entry runs: "command", else the first word of Claude
 * Code's "headersHelper" (mcp-config single-quotes a path that needs it). */
static int entry_program(const cJSON *e, char *buf, size_t len)
{
    const char *cmd = mm_json_str(e, "command"), *hh = mm_json_str(e, "headersHelper");
    if (cmd)
        return snprintf(buf, len, "%s", cmd), 1;
    if (!hh)
        return 0;
    if (hh[0] == '\'')
        snprintf(buf, len, "%.*s", (int)strcspn(hh + 1, "'"), hh + 1);
    else
        snprintf(buf, len, "%.*s", (int)strcspn(hh, " \t"), hh);
    return 1;
}

static int is_ours(const char *prog)
{
    const char *base = strrchr(prog, '/');
    base = base ? base + 1 : prog;
    return !strcmp(base, "mimir-helper") || !strcmp(base, "mimir-proxy");
}

static void check_entry(mm_doctor *d, const char *client, const char *path, const char *server,
                        const char *prog)
{
    char fix[300], real[PATH_MAX], self[PATH_MAX];
    snprintf(fix, sizeof(fix), "mimir-helper mcp-config %s --write", client);
    if (!strcmp(client, "claude-code-user"))
        snprintf(fix, sizeof(fix), "run 'mimir-helper mcp-config claude-code' and the 'claude "
                 "mcp add-json --scope user' line it prints");
    if (prog[0] != '/') {
        mm_dr_report(d, MM_DR_FAIL, "MCP client", fix, "%s: server \"%s\" runs '%s' by name: "
                     "MCP clients do not search your shell's PATH", path, server, prog);
        return;
    }
    if (access(prog, X_OK) != 0) {
        mm_dr_report(d, MM_DR_FAIL, "MCP client", fix, "%s: server \"%s\" runs %s, which %s",
                     path, server, prog, errno == ENOENT ? "does not exist" : "cannot be run");
        return;
    }
    const char *slash = strrchr(d->self, '/');
    int same = realpath(prog, real) && realpath(d->self, self) &&
               (!strcmp(real, self) || (slash && !strncmp(prog, d->self, (size_t)(slash - d->self)) &&
                                        prog[slash - d->self] == '/'));
    if (same)
        mm_dr_report(d, MM_DR_PASS, "MCP client", NULL, "%s: server \"%s\" runs %s", path, server,
                     prog);
    else
        mm_dr_report(d, MM_DR_FAIL, "MCP client", fix, "%s: server \"%s\" runs %s, not this "
                     "helper (%s)", path, server, prog, d->self);
}

static void check_file(mm_doctor *d, const char *client, const char *path, const char *key)
{
    int exists;
    cJSON *doc = read_json(path, &exists);
    if (!exists)
        return; /* that client is not set up here */
    if (!doc) {
        mm_dr_report(d, MM_DR_SKIP, "MCP client", NULL, "%s: not plain JSON (comments?), not "
                     "checked", path);
        return;
    }
    int found = 0;
    const cJSON *e;
    char prog[PATH_MAX];
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, key))
    {
        if (entry_program(e, prog, sizeof(prog)) && is_ours(prog)) {
            check_entry(d, client, path, e->string, prog);
            found = 1;
        }
    }
    if (!found)
        mm_dr_report(d, MM_DR_SKIP, "MCP client", NULL, "%s: no Mimir server ('mimir-helper "
                     "mcp-config %s --write' adds one)", path,
                     strcmp(client, "claude-code-user") ? client : "claude-code");
    cJSON_Delete(doc);
}

void mm_dr_clients(mm_doctor *d)
{
    const char *name, *key, *home = getenv("HOME");
    char path[PATH_MAX];
    int r;
    for (size_t i = 0; (r = mm_mcp_client_at(i, &name, &key, path, sizeof(path))) != 0; i++)
        if (r > 0)
            check_file(d, name, path, key);
    /* Claude Code's user scope, where 'claude mcp add-json --scope user' puts it. */
    if (home && *home == '/') {
        snprintf(path, sizeof(path), "%s/.claude.json", home);
        check_file(d, "claude-code-user", path, "mcpServers");
    }
}
