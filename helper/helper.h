/* helper.h - what the mimir-helper subcommands share. */
#ifndef MM_HELPER_H
#define MM_HELPER_H

#include <getopt.h>

#include "mimir/client.h"
#include "mimir/err.h"

/* Positional arguments a command may take (options may come between them). */
#define MM_MAX_ARGS 8

/* Options every subcommand understands, plus the ones it declares. */
typedef struct {
    const char *profile;
    int timeout_s;    /* overall deadline */
    int json;         /* --json */
    int device;       /* login --device */
    int no_browser;   /* login --no-browser */
    double min_ttl;   /* token --min-ttl */
    const char *format; /* token --format */
    const char *var;    /* token --var */
    const char *name;   /* mcp-config --name */
    int write;          /* mcp-config --write */
    const char *server;    /* login --server */
    const char *mode;      /* login --mode */
    const char *issuer;    /* login --issuer */
    const char *client_id; /* login --client-id */
    const char *username;  /* login --username */
    int remember_password; /* login --remember-password */
    int no_login;          /* login --no-login */
    int from_vscode;       /* import-token --from-vscode */
    int remove;            /* import-token: 1 --remove, -1 --keep, 0 ask */
    char **args;      /* positional arguments left over */
    int nargs;
    char *pos[MM_MAX_ARGS]; /* where args point (profile: into argv) */
} mm_opts;

/* A word after a command that selects what it does and parses the options
 * after it itself (profile add NAME --kind ...).  The command dispatches
 * through this table, and completion and the man page check read it: one
 * list of subcommands and their options. */
typedef struct {
    const char *name;
    int (*run)(int argc, char **argv, const mm_opts *o); /* argv[0] is the name */
    const struct option *options; /* its getopt_long table, or NULL */
} mm_subcommand;

typedef struct {
    const char *name;
    int (*run)(mm_opts *o);
    const char *usage;   /* one line of synopsis */
    const char *help;    /* the --help text after the synopsis */
    const char *extra;   /* extra long options this command accepts, e.g. "json,device" */
} mm_command;

/* Print "mimir-helper: msg" and return the exit status for e. */
int mm_fail(mm_err e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open a client with the deadline from o; prints the failure itself. */
int mm_connect(mm_client *cl, const mm_opts *o, int autostart);

/* One request/reply.  On any failure prints it and returns the exit status
 * (> 0); on success returns 0 with *resp filled. */
int mm_request_once(const mm_opts *o, cJSON *req, mm_response *resp);

extern const mm_command mm_cmd_token, mm_cmd_header, mm_cmd_headers;
extern const mm_command mm_cmd_login, mm_cmd_logout, mm_cmd_status, mm_cmd_set_api_key,
    mm_cmd_reload;
extern const mm_command mm_cmd_profile, mm_cmd_mcp_config;
extern const mm_command mm_cmd_proxy;
extern const mm_command mm_cmd_unlock, mm_cmd_lock;
extern const mm_command mm_cmd_doctor, mm_cmd_completion;
extern const mm_command mm_cmd_import_token;

/* The command table (NULL-terminated) and the shared option table
 * ({0}-terminated), for completion and doctor: what the parser reads. */
const mm_command *const *mm_helper_commands(void);
const struct option *mm_helper_options(void);

/* Whether c accepts opt (an entry of mm_helper_options()). */
int mm_command_accepts(const mm_command *c, const struct option *opt);

/* c's subcommands ({0}-terminated), or NULL for a command without: the
 * shared options then stop at the first word after the command. */
const mm_subcommand *mm_command_subs(const mm_command *c);
extern const mm_subcommand mm_profile_subs[];

#endif
