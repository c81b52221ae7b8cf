/*
 * config.h - named profiles from $MIMIR_CONFIG / config.json.
 *
 * {
 *   "default_profile": "work",
 *   "store": "auto",             (or "keyring", "file": the encrypted vault)
 *   "profiles": {
 *     "work": { "kind": "oauth", "server_url": "https://mimir.example/mcp",
 *               "issuer": "https://id.example", "client_id": "mimir-cli",
 *               "scope": "openid offline_access", "audience": "...",
 *               "resource": "...", "auth_params": {"prompt": "consent"},
 *               "ca_file": "/etc/ssl/corp.pem", "redirect_port": 0 },
 *     "local": { "kind": "api-key", "server_url": "http://127.0.0.1:8080/mcp" }
 *   }
 * }
 *
 * The environment variables Mimir already uses (MIMIR_URL,
 * MIMIR_OAUTH_ISSUER, MIMIR_OAUTH_CLIENT_ID, MIMIR_OAUTH_SCOPE,
 * MIMIR_OAUTH_AUDIENCE) override the default profile, and create an oauth
 * profile named "default" when the file defines none.
 */
#ifndef MIMIR_CONFIG_H
#define MIMIR_CONFIG_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "mimir/err.h"

#define MM_PROFILE_NAME_MAX 64
#define MM_DEFAULT_SCOPE "openid offline_access"

/* How a profile authenticates to its Mimir server:
 *   oauth    OAuth 2.0 login at an identity provider, refreshed silently;
 *   api-key  a key stored with set-api-key, sent as X-API-Key;
 *   mimir    Mimir's own login (its dev-login password grant, or a token
 *            imported from elsewhere), sent as a Bearer token;
 *   none     the server runs with security off: no credential at all. */
typedef enum { MM_KIND_OAUTH, MM_KIND_API_KEY, MM_KIND_MIMIR, MM_KIND_NONE } mm_kind;

typedef struct {
    char *name;
    mm_kind kind;
    char *server_url; /* the MCP endpoint */
    char *issuer;
    char *client_id;
    char *scope;
    char *audience;
    char *resource;    /* RFC 8707 resource indicator */
    char *ca_file;
    cJSON *auth_params; /* extra authorization parameters: string values */
    int redirect_port;  /* 0: ephemeral */
} mm_profile_cfg;

/* Where the agent keeps credentials ("store" in the file). */
typedef enum { MM_STORE_PREF_AUTO, MM_STORE_PREF_KEYRING, MM_STORE_PREF_FILE } mm_store_pref;

typedef struct {
    char *path;
    char *default_profile; /* NULL when there are no profiles */
    mm_store_pref store;
    mm_profile_cfg *profiles;
    size_t nprofiles;
} mm_config;

const char *mm_kind_name(mm_kind k);

/* Load and validate.  A missing file is an empty config (environment
 * overrides still apply).  On error why names the file, key and problem. */
mm_err mm_config_load(const char *path, mm_config *cfg, char *why, size_t whylen);

/* Validate a parsed document the same way (the helper's editor uses it). */
mm_err mm_config_from_json(const char *path, const cJSON *doc, int apply_env, mm_config *cfg,
                           char *why, size_t whylen);
void mm_config_free(mm_config *cfg);

/* NULL name: the default profile. */
const mm_profile_cfg *mm_config_find(const mm_config *cfg, const char *name);

/* Read the raw document ({} when missing) / write it atomically, 0600. */
mm_err mm_config_read_json(const char *path, cJSON **doc, char *why, size_t whylen);
mm_err mm_config_write_json(const char *path, const cJSON *doc, char *why, size_t whylen);

int mm_profile_name_valid(const char *name);
/* 1 when the two profiles identify the same credential (kind, issuer,
 * client id): the agent keeps a profile's state across reloads then. */
int mm_profile_same_identity(const mm_profile_cfg *a, const mm_profile_cfg *b);

#endif
