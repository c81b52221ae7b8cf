/*
 * main.c - mimir-helper: subcommand dispatch, shared options, exit codes.
 *
 * The hot path is `mimir-helper token|header|headers`, run by MCP clients
 * before requests: it parses argv, connects to the agent, writes one line,
 * reads one line and prints.  Nothing else happens before that, which is
 * why it links only libc and cJSON.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "mimir/version.h"

static const mm_command *const commands[] = {
    &mm_cmd_token,  &mm_cmd_header,      &mm_cmd_headers, &mm_cmd_login,
    &mm_cmd_logout, &mm_cmd_status,      &mm_cmd_set_api_key, &mm_cmd_profile,
    &mm_cmd_reload, &mm_cmd_mcp_config,  NULL};

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

int mm_connect(mm_client *cl, const mm_opts *o, int autostart)
{
    mm_err e = mm_client_open(cl, (o->timeout_s ? o->timeout_s : 10) * 1000, autostart);
    return e == MM_OK ? 0 : mm_fail(e, "%s", cl->why);
}

int mm_request_once(const mm_opts *o, cJSON *req, mm_response *resp)
{
    mm_client cl;
    int rc = mm_connect(&cl, o, 1);
    if (rc) {
        cJSON_Delete(req);
        return rc;
    }
    mm_err e = mm_client_call(&cl, req, resp);
    if (e != MM_OK)
        rc = mm_fail(e, "%s", cl.why);
    else if (!resp->ok) {
        rc = mm_fail(resp->err, "%s", resp->message);
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
           "  -t, --timeout SEC   overall deadline (default 10)\n"
           "  -h, --help          this help\n\n%s",
           c->usage, c->help, exit_codes);
}

static int has_extra(const mm_command *c, const char *opt)
{
    const char *p = c->extra ? strstr(c->extra, opt) : NULL;
    size_t n = strlen(opt);
    return p && (p == c->extra || p[-1] == ',') && (p[n] == ',' || !p[n]);
}

static int parse_opts(const mm_command *c, int argc, char **argv, mm_opts *o)
{
    enum { O_JSON = 256, O_DEVICE, O_NOBROWSER, O_MINTTL };
    static const struct option longopts[] = {
        {"profile", required_argument, NULL, 'p'}, {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},          {"json", no_argument, NULL, O_JSON},
        {"device", no_argument, NULL, O_DEVICE},   {"no-browser", no_argument, NULL, O_NOBROWSER},
        {"min-ttl", required_argument, NULL, O_MINTTL}, {0, 0, 0, 0}};
    int ch, idx;
    /* "+" stops at the first positional: profile subcommands parse the rest. */
    while ((ch = getopt_long(argc, argv, "+p:t:h", longopts, &idx)) != -1) {
        if (ch >= 256 && !has_extra(c, longopts[idx].name))
            ch = '?';
        switch (ch) {
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
        default:
            fprintf(stderr, "usage: mimir-helper %s\n(see 'mimir-helper %s --help')\n",
                    c->usage, c->name);
            return MM_EXIT_USAGE;
        }
    }
    o->args = argv + optind;
    o->nargs = argc - optind;
    return 0;
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
        mm_opts o = {0};
        int rc = parse_opts(commands[i], argc - 1, argv + 1, &o);
        return rc ? rc : commands[i]->run(&o);
    }
    fprintf(stderr, "mimir-helper: unknown command '%s'\n\n", name);
    usage(stderr);
    return MM_EXIT_USAGE;
}
