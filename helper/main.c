/*
 * main.c - mimir-helper: subcommand dispatch, shared options, exit codes.
 *
 * The hot path is `mimir-helper token|header|headers`, run by MCP clients
 * before requests: it parses argv, connects to the agent, writes one line,
 * reads one line and prints.  Nothing else happens before that, which is
 * why it links only libc and cJSON.
 */
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "mimir/secmem.h"
#include "mimir/version.h"

static const mm_command *const commands[] = {
    &mm_cmd_token,  &mm_cmd_header,      &mm_cmd_headers, &mm_cmd_login,
    &mm_cmd_logout, &mm_cmd_status,      &mm_cmd_set_api_key, &mm_cmd_import_token,
    &mm_cmd_profile,
    &mm_cmd_reload, &mm_cmd_mcp_config,  &mm_cmd_proxy, &mm_cmd_unlock, &mm_cmd_lock,
    &mm_cmd_doctor, &mm_cmd_completion, NULL};

const mm_command *const *mm_helper_commands(void) { return commands; }

static const char exit_codes[] =
    "Exit status: 0 ok, 1 other error, 2 usage, 3 agent unreachable,\n"
    "4 login required, 5 identity provider or network error, 6 timeout.\n";

static void usage(FILE *f)
{
    fprintf(f, "usage: mimir-helper <command> [--profile NAME] [options]\n\n"
               "Fetches Mimir credentials from mimir-agent (started on demand).\n\n"
               "Commands:\n");
    for (int i = 0; commands[i]; i++)
        fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->usage);
    fprintf(f, "\nRun 'mimir-helper <command> --help' for details.\n\n%s", exit_codes);
}

int mm_fail(mm_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mimir-helper: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return mm_err_exit_status(e);
}

/* What the agent (or the way to it) said, as one line: clients that show a
 * helper's stderr (Claude Code) show its first line.  A deadline that
 * passed says what to do about it. */
static int fail_line(mm_err e, const char *msg, const mm_opts *o)
{
    char line[1024];
    snprintf(line, sizeof(line), "%s", msg && *msg ? msg : mm_err_describe(e));
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    if (e == MM_ERR_TIMEOUT)
        return mm_fail(e, "%s (gave up after %d s; mimir-agent may be waiting for the identity "
                       "provider); 'mimir-helper status' shows the profile's state, and "
                       "restarting mimir-agent clears an agent that stays stuck",
                       line, o->timeout_s ? o->timeout_s : 10);
    return mm_fail(e, "%s", line);
}

int mm_connect(mm_client *cl, const mm_opts *o, int autostart)
{
    mm_err e = mm_client_open(cl, (o->timeout_s ? o->timeout_s : 10) * 1000, autostart);
    return e == MM_OK ? 0 : fail_line(e, cl->why, o);
}

int mm_request_once(const mm_opts *o, cJSON *req, mm_response *resp)
{
    mm_client cl;
    int rc = mm_connect(&cl, o, 1);
    if (rc) {
        cJSON_Delete(req);
        return rc;
    }
    /* store_busy says "in a moment" (a vault lock waits for a refresh to
     * write its new token): ask again until the deadline. */
    mm_err e;
    while ((e = mm_client_call(&cl, cJSON_Duplicate(req, 1), resp)) == MM_OK && !resp->ok &&
           resp->err == MM_ERR_STORE_BUSY && mm_client_remaining_ms(&cl) > 250) {
        mm_response_free(resp);
        poll(NULL, 0, 250);
    }
    cJSON_Delete(req);
    if (e != MM_OK)
        rc = fail_line(e, cl.why, o);
    else if (!resp->ok) {
        rc = fail_line(resp->err, resp->message, o);
        mm_response_free(resp);
    }
    mm_client_close(&cl);
    return rc;
}

static void command_help(const mm_command *c)
{
    printf("usage: mimir-helper %s\n\n%s\n"
           "Common options:\n"
           "  -p, --profile NAME  use this profile instead of the default\n"
           "  -t, --timeout SEC   overall deadline (default 10; token, header, headers: 8)\n"
           "  -h, --help          this help\n\n%s",
           c->usage, c->help, exit_codes);
}

/* Every option of the shared parser: -p, -t, -h go to every command, the
 * others (val >= 256) only to the commands that list them in extra. */
enum { O_JSON = 256, O_DEVICE, O_NOBROWSER, O_MINTTL, O_FORMAT, O_VAR, O_NAME, O_WRITE,
       O_SERVER, O_MODE, O_ISSUER, O_CLIENTID, O_USERNAME, O_REMEMBER, O_NOLOGIN, O_VSCODE,
       O_REMOVE, O_KEEP };
static const struct option longopts[] = {
    {"profile", required_argument, NULL, 'p'}, {"timeout", required_argument, NULL, 't'},
    {"help", no_argument, NULL, 'h'},          {"json", no_argument, NULL, O_JSON},
    {"device", no_argument, NULL, O_DEVICE},   {"no-browser", no_argument, NULL, O_NOBROWSER},
    {"min-ttl", required_argument, NULL, O_MINTTL},
    {"format", required_argument, NULL, O_FORMAT}, {"var", required_argument, NULL, O_VAR},
    {"name", required_argument, NULL, O_NAME}, {"write", no_argument, NULL, O_WRITE},
    {"server", required_argument, NULL, O_SERVER}, {"mode", required_argument, NULL, O_MODE},
    {"issuer", required_argument, NULL, O_ISSUER},
    {"client-id", required_argument, NULL, O_CLIENTID},
    {"username", required_argument, NULL, O_USERNAME},
    {"remember-password", no_argument, NULL, O_REMEMBER},
    {"no-login", no_argument, NULL, O_NOLOGIN}, {"from-vscode", no_argument, NULL, O_VSCODE},
    {"remove", no_argument, NULL, O_REMOVE},   {"keep", no_argument, NULL, O_KEEP},
    {0, 0, 0, 0}};

static int has_extra(const mm_command *c, const char *opt)
{
    const char *p = c->extra ? strstr(c->extra, opt) : NULL;
    size_t n = strlen(opt);
    return p && (p == c->extra || p[-1] == ',') && (p[n] == ',' || !p[n]);
}

int mm_command_accepts(const mm_command *c, const struct option *opt)
{
    return opt->val < 256 || has_extra(c, opt->name);
}

const struct option *mm_helper_options(void) { return longopts; }

const mm_subcommand *mm_command_subs(const mm_command *c)
{
    return c == &mm_cmd_profile ? mm_profile_subs : NULL;
}

static int usage_error(const mm_command *c)
{
    fprintf(stderr, "usage: mimir-helper %s\n(see 'mimir-helper %s --help')\n", c->usage,
            c->name);
    return MM_EXIT_USAGE;
}

static int add_arg(const mm_command *c, mm_opts *o, char *arg)
{
    if (o->nargs == MM_MAX_ARGS)
        return usage_error(c);
    o->pos[o->nargs++] = arg;
    return 0;
}

static int parse_opts(const mm_command *c, int argc, char **argv, mm_opts *o)
{
    int ch, idx, rc = 0;
    o->args = o->pos;
    /* "-" hands back each positional in order (as 1), so options may come
     * before or after them whatever POSIXLY_CORRECT says.  profile parses
     * the options after its subcommand itself (profile add NAME --kind ...):
     * "+" stops at the subcommand. */
    int own_options = mm_command_subs(c) != NULL;
    const char *spec = own_options ? "+p:t:h" : "-p:t:h";
    while (!rc && (ch = getopt_long(argc, argv, spec, longopts, &idx)) != -1) {
        if (ch >= 256 && !mm_command_accepts(c, &longopts[idx]))
            ch = '?';
        switch (ch) {
        case 1: rc = add_arg(c, o, optarg); break;
        case 'p': o->profile = optarg; break;
        case 't':
            o->timeout_s = atoi(optarg);
            if (o->timeout_s <= 0 || o->timeout_s > 86400)
                return mm_fail(MM_ERR_USAGE, "--timeout needs 1..86400 seconds");
            break;
        case 'h': command_help(c); exit(0);
        case O_JSON: o->json = 1; break;
        case O_DEVICE: o->device = 1; break;
        case O_NOBROWSER: o->no_browser = 1; break;
        case O_MINTTL: o->min_ttl = atof(optarg); break;
        case O_FORMAT: o->format = optarg; break;
        case O_VAR: o->var = optarg; break;
        case O_NAME: o->name = optarg; break;
        case O_WRITE: o->write = 1; break;
        case O_SERVER: o->server = optarg; break;
        case O_MODE: o->mode = optarg; break;
        case O_ISSUER: o->issuer = optarg; break;
        case O_CLIENTID: o->client_id = optarg; break;
        case O_USERNAME: o->username = optarg; break;
        case O_REMEMBER: o->remember_password = 1; break;
        case O_NOLOGIN: o->no_login = 1; break;
        case O_VSCODE: o->from_vscode = 1; break;
        case O_REMOVE: o->remove = 1; break;
        case O_KEEP: o->remove = -1; break;
        default: return usage_error(c);
        }
    }
    if (own_options) {
        o->args = argv + optind;
        o->nargs = argc - optind;
        return 0;
    }
    while (!rc && optind < argc) /* whatever follows "--" */
        rc = add_arg(c, o, argv[optind++]);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return MM_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
        puts("mimir-helper " MIMIR_VERSION);
        return 0;
    }
    for (int i = 0; commands[i]; i++) {
        if (strcmp(commands[i]->name, name) != 0)
            continue;
        /* Tokens, keys and passphrases pass through every command. */
        mm_secmem_nodump();
        mm_secmem_wipe_json();
        mm_opts o = {0};
        int rc = parse_opts(commands[i], argc - 1, argv + 1, &o);
        return rc ? rc : commands[i]->run(&o);
    }
    fprintf(stderr, "mimir-helper: unknown command '%s'\n\n", name);
    usage(stderr);
    return MM_EXIT_USAGE;
}
