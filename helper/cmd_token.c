/* cmd_token.c - token, header, headers: the commands MCP clients run. */
#include <stdio.h>
#include <string.h>

#include "helper.h"

typedef enum { OUT_TOKEN, OUT_HEADER, OUT_HEADERS } out_mode;

static int no_args(const mm_opts *o, const char *cmd)
{
    if (o->nargs)
        return mm_fail(MM_ERR_USAGE, "%s takes no arguments (got '%s')", cmd, o->args[0]);
    return 0;
}

static int fetch(mm_opts *o, out_mode mode, const char *cmd)
{
    int rc = no_args(o, cmd);
    if (rc)
        return rc;
    cJSON *req = mm_proto_request(mode == OUT_TOKEN ? MM_OP_TOKEN : MM_OP_HEADERS, 0, o->profile);
    if (o->min_ttl > 0)
        cJSON_AddNumberToObject(req, "min_ttl", o->min_ttl);
    mm_response resp;
    if ((rc = mm_request_once(o, req, &resp)))
        return rc;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(resp.root, "headers");
    const char *tok = mm_json_str(resp.root, "token");
    if (mode == OUT_TOKEN && tok) {
        puts(tok);
    } else if (mode == OUT_HEADERS && cJSON_IsObject(h)) {
        char *s = cJSON_PrintUnformatted(h);
        puts(s);
        cJSON_free(s);
    } else if (mode == OUT_HEADER && cJSON_IsObject(h) && cJSON_IsString(h->child)) {
        printf("%s: %s\n", h->child->string, h->child->valuestring);
    } else {
        rc = mm_fail(MM_ERR_INTERNAL, "mimir-agent sent a reply without a credential");
    }
    mm_response_free(&resp);
    if (fflush(stdout) != 0)
        rc = mm_fail(MM_ERR_IO, "cannot write to standard output");
    return rc;
}

static int run_token(mm_opts *o) { return fetch(o, OUT_TOKEN, "token"); }
static int run_header(mm_opts *o) { return fetch(o, OUT_HEADER, "header"); }
static int run_headers(mm_opts *o) { return fetch(o, OUT_HEADERS, "headers"); }

const mm_command mm_cmd_token = {
    "token", run_token, "token [--profile NAME] [--min-ttl SEC]",
    "Print a current access token (or the API key of an api-key profile).\n"
    "  --min-ttl SEC   refresh first unless the token stays valid this long\n",
    "min-ttl"};

const mm_command mm_cmd_header = {
    "header", run_header, "header [--profile NAME] [--min-ttl SEC]",
    "Print one HTTP header line: 'Authorization: Bearer ...' for OAuth\n"
    "profiles, 'X-API-Key: ...' for api-key profiles.\n",
    "min-ttl"};

const mm_command mm_cmd_headers = {
    "headers", run_headers, "headers [--profile NAME] [--min-ttl SEC]",
    "Print a JSON object of HTTP headers, the format Claude Code's\n"
    "headersHelper expects, e.g. {\"Authorization\":\"Bearer ...\"}.\n",
    "min-ttl"};
