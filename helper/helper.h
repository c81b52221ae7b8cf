/* helper.h - what the mimir-helper subcommands share. */
#ifndef MM_HELPER_H
#define MM_HELPER_H

#include "mimir/client.h"
#include "mimir/err.h"

/* Options every subcommand understands, plus the ones it declares. */
typedef struct {
    const char *profile;
    int timeout_s;    /* overall deadline */
    int json;         /* --json */
    int device;       /* login --device */
    int no_browser;   /* login --no-browser */
    double min_ttl;   /* token --min-ttl */
    char **args;      /* positional arguments left over */
    int nargs;
} mm_opts;

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

#endif
