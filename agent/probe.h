/*
 * probe.h - finding out how a Mimir server wants its clients to
 * authenticate, from its URL alone: its /auth/config (security off, dev
 * login, OAuth providers) and its RFC 9728 protected-resource metadata (the
 * authorization server an MCP client should use).  Behind
 * `mimir-helper login --server URL` and the editor's "Add Server".
 */
#ifndef MM_PROBE_H
#define MM_PROBE_H

#include <cjson/cJSON.h>

#include "agent.h"
#include "mimir/err.h"

typedef struct {
    char server_url[2048]; /* the MCP endpoint (URL + "/mcp" when it had no path) */
    int security;          /* 0: the server needs no credential */
    int dev_login;         /* Mimir's own username/password login */
    const cJSON *providers; /* its oauthProviders, or NULL */
    const char *issuer;    /* from RFC 9728 metadata, or NULL */
} mm_probe_result;

/* e != MM_OK when the server could not be asked at all (why says so). */
typedef void (*mm_probe_done)(void *arg, mm_err e, const char *why, const mm_probe_result *r);

/* done runs once, from a later loop turn. */
void mm_probe_start(mm_agent *a, const char *url, mm_probe_done done, void *arg);

#endif
