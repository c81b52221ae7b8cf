/*
 * cmd_import.c - import-token: a Mimir token obtained elsewhere, stored
 * for a profile of kind "mimir" (the agent reads its expiry from the JWT).
 * From standard input or the terminal (no echo), never from argv; or, with
 * --from-vscode, from the plain-text setting Mimir's own VS Code extension
 * keeps it in (mimir.auth.apiKey), which can then be deleted from
 * settings.json along with the stored password, every other byte of the
 * file left as it was.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "jsonc.h"
#include "jsonfile.h"
#include "prompt.h"
#include "signin.h"

#define TOKEN_MAX 16384
#define KEY_TOKEN "mimir.auth.apiKey"
#define KEY_PASSWORD "mimir.auth.password"
#define NSETTINGS 4

static int import(const mm_opts *o, const char *token)
{
    cJSON *req = mm_proto_request(MM_OP_IMPORT_TOKEN, 0, o->profile);
    cJSON_AddItemToObject(req, "token", cJSON_CreateStringReference(token));
    mm_response r;
    int rc = mm_request_once(o, req, &r);
    if (rc)
        return rc;
    mm_signin_report(stdout, "Token imported: signed in", r.root);
    mm_response_free(&r);
    return 0;
}

static int from_stdin(const mm_opts *o)
{
    char tok[TOKEN_MAX + 2];
    int n = mm_prompt("Mimir token: ", tok, sizeof(tok), 0);
    int rc = n <= 0 ? mm_fail(MM_ERR_USAGE, "no token on standard input")
             : n > TOKEN_MAX ? mm_fail(MM_ERR_USAGE, "that token is longer than %d bytes",
                                       TOKEN_MAX)
                             : import(o, tok);
    explicit_bzero(tok, sizeof(tok));
    return rc;
}

/* ---- VS Code's settings.json ---------------------------------------------------- */

/* $VAR when it is absolute, else HOME/fallback (the XDG rule). */
static void base_dir(char *out, size_t len, const char *var, const char *home,
                     const char *fallback)
{
    const char *v = getenv(var);
    if (v && v[0] == '/')
        snprintf(out, len, "%s", v);
    else
        snprintf(out, len, "%s/%s", home, fallback);
}

/* Where VS Code, VS Code Insiders, VSCodium and code-server keep the user's
 * settings, in the order they are looked at. */
static int settings_paths(char out[NSETTINGS][PATH_MAX])
{
    const char *home = getenv("HOME");
    char c[PATH_MAX - 64], d[PATH_MAX - 64];
    if (!home || home[0] != '/')
        return mm_fail(MM_ERR_CONFIG, "HOME is not set: cannot find VS Code's settings");
    base_dir(c, sizeof(c), "XDG_CONFIG_HOME", home, ".config");
    base_dir(d, sizeof(d), "XDG_DATA_HOME", home, ".local/share");
    snprintf(out[0], PATH_MAX, "%s/Code/User/settings.json", c);
    snprintf(out[1], PATH_MAX, "%s/Code - Insiders/User/settings.json", c);
    snprintf(out[2], PATH_MAX, "%s/VSCodium/User/settings.json", c);
    snprintf(out[3], PATH_MAX, "%s/code-server/User/settings.json", d);
    return 0;
}

static void release(mm_jsonfile *f)
{
    if (f->bytes) /* it held the token */
        explicit_bzero(f->bytes, f->len);
    mm_jsonfile_free(f);
}

/* Line and column of offset at, for people. */
static void where(const char *buf, size_t at, int *line, int *col)
{
    *line = *col = 1;
    for (size_t i = 0; i < at; i++)
        if (buf[i] == '\n')
            ++*line, *col = 1;
        else
            ++*col;
}

/* The first settings file that holds the token: f loaded, *token decoded
 * (wipe and free it).  1 found, 0 none, or -(exit status). */
static int find_token(char paths[NSETTINGS][PATH_MAX], mm_jsonfile *f, char **token)
{
    for (int i = 0; i < NSETTINGS; i++) {
        mm_jsonc_member m;
        size_t at = 0;
        if (mm_jsonfile_read(f, paths[i]) != 0) {
            release(f);
            continue; /* it said why; the next one may do */
        }
        int n = f->exists ? mm_jsonc_find(f->bytes, f->len, KEY_TOKEN, &m, &at) : 0;
        if (n < 0) {
            int line, col;
            where(f->bytes, at, &line, &col);
            fprintf(stderr, "mimir-helper: %s: not JSON with comments at line %d, column %d; "
                    "skipped (and left as it is)\n", f->path, line, col);
        }
        if (n > 0 && !(*token = mm_jsonc_string(f->bytes, &m)))
            fprintf(stderr, "mimir-helper: %s: %s is not a string; skipped\n", f->path,
                    KEY_TOKEN);
        if (*token && !**token) { /* an empty setting: signed out there */
            free(*token);
            *token = NULL;
        }
        if (*token)
            return 1;
        release(f);
    }
    return 0;
}

/* Cut every top-level KEY_TOKEN and KEY_PASSWORD out of a copy of the file's
 * bytes and write that copy in its place (backup, atomic). */
static int remove_keys(mm_jsonfile *f)
{
    static const char *const keys[] = {KEY_TOKEN, KEY_PASSWORD};
    char *buf = malloc(f->len + 1);
    size_t len = f->len, at;
    if (!buf)
        return mm_fail(MM_ERR_NOMEM, "out of memory");
    memcpy(buf, f->bytes, f->len);
    int n = 0;
    for (size_t k = 0; k < 2 && n >= 0; k++) {
        mm_jsonc_member m;
        while ((n = mm_jsonc_find(buf, len, keys[k], &m, &at)) > 0)
            len = mm_jsonc_remove(buf, len, &m);
    }
    int rc = n < 0 ? mm_fail(MM_ERR_INTERNAL, "%s: the file no longer scans after a removal; "
                             "left as it is", f->path)
                   : mm_jsonfile_replace(f, buf, len);
    explicit_bzero(buf, f->len);
    free(buf);
    return rc;
}

/* --remove, --keep, or asked on a terminal (no: keep). */
static int wants_removal(const mm_opts *o, const char *path)
{
    char answer[16];
    if (o->remove)
        return o->remove > 0;
    if (!mm_prompt_tty())
        return 0;
    fprintf(stderr, "Delete %s and %s from %s now (a backup is kept)? [y/N] ", KEY_TOKEN,
            KEY_PASSWORD, path);
    return mm_prompt("", answer, sizeof(answer), 1) > 0 && (answer[0] == 'y' || answer[0] == 'Y');
}

static int from_vscode(const mm_opts *o)
{
    char paths[NSETTINGS][PATH_MAX], *token = NULL;
    mm_jsonfile f;
    int rc = settings_paths(paths);
    if (rc)
        return rc;
    if (find_token(paths, &f, &token) <= 0)
        return mm_fail(MM_ERR_LOGIN_REQUIRED, "no %s in VS Code's settings (looked in %s, %s, "
                       "%s and %s)", KEY_TOKEN, paths[0], paths[1], paths[2], paths[3]);
    fprintf(stderr, "Found %s in %s\n", KEY_TOKEN, f.path);
    rc = import(o, token);
    explicit_bzero(token, strlen(token));
    free(token);
    if (!rc && wants_removal(o, f.path)) {
        if ((rc = remove_keys(&f)) == 0)
            printf("Deleted %s and %s from %s; the previous version is %s" MM_JSONFILE_BACKUP
                   " (it still holds them: delete it once you have checked the result)\n",
                   KEY_TOKEN, KEY_PASSWORD, f.path, f.path);
    } else if (!rc) {
        printf("%s is still in %s: 'mimir-helper import-token --from-vscode --remove' deletes "
               "it (the agent keeps the token now)\n", KEY_TOKEN, f.path);
    }
    release(&f);
    return rc;
}

static int run_import_token(mm_opts *o)
{
    if (o->nargs)
        return mm_fail(MM_ERR_USAGE, "the token is read from standard input, not from the "
                       "command line");
    if (o->remove && !o->from_vscode)
        return mm_fail(MM_ERR_USAGE, "--remove and --keep go with --from-vscode");
    return o->from_vscode ? from_vscode(o) : from_stdin(o);
}

const mm_command mm_cmd_import_token = {
    "import-token", run_import_token,
    "import-token [--profile NAME] [--from-vscode] [--remove|--keep] < token",
    "Store a Mimir token obtained elsewhere for a profile of kind mimir (its\n"
    "expiry is read from the token when it is a JWT).  The token is read from\n"
    "the terminal without echo, or from standard input; never from the command\n"
    "line.\n"
    "  --from-vscode  take it from Mimir's VS Code extension setting mimir.auth.apiKey\n"
    "                 in settings.json (VS Code, Insiders, VSCodium, code-server),\n"
    "                 then offer to delete it and mimir.auth.password from that\n"
    "                 file: only those two settings go, every other byte stays;\n"
    "                 the file is replaced atomically, the old one kept as\n"
    "                 settings.json.mimir.bak\n"
    "  --remove       delete them without asking\n"
    "  --keep         leave the file as it is\n",
    "from-vscode,remove,keep"};
