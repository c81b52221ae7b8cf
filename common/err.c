/* err.c - the table behind err.h: wire code, description, exit status. */
#include <string.h>

#include "mimir/err.h"

static const struct {
    const char *code;
    const char *text;
    int exit_status;
} err_table[MM_ERR__COUNT] = {
    [MM_OK] = {"ok", "success", MM_EXIT_OK},
    [MM_ERR_BAD_REQUEST] = {"bad_request", "malformed request", MM_EXIT_FAILURE},
    [MM_ERR_TOO_LARGE] = {"too_large", "request line too long", MM_EXIT_FAILURE},
    [MM_ERR_UNKNOWN_OP] = {"unknown_op", "unknown operation", MM_EXIT_FAILURE},
    [MM_ERR_UNSUPPORTED_VERSION] = {"unsupported_version", "unsupported protocol version",
                                    MM_EXIT_FAILURE},
    [MM_ERR_PERMISSION_DENIED] = {"permission_denied", "connection from another user refused",
                                  MM_EXIT_FAILURE},
    [MM_ERR_UNKNOWN_PROFILE] = {"unknown_profile", "no such profile", MM_EXIT_FAILURE},
    [MM_ERR_WRONG_KIND] = {"wrong_kind", "operation does not fit the profile kind",
                           MM_EXIT_FAILURE},
    [MM_ERR_LOGIN_REQUIRED] = {"login_required", "login required", MM_EXIT_LOGIN_REQUIRED},
    [MM_ERR_LOGIN_IN_PROGRESS] = {"login_in_progress", "a login is already running",
                                  MM_EXIT_FAILURE},
    [MM_ERR_ACCESS_DENIED] = {"access_denied", "authorization was denied", MM_EXIT_IDP},
    [MM_ERR_STATE_MISMATCH] = {"state_mismatch", "authorization response did not match",
                               MM_EXIT_IDP},
    [MM_ERR_INVALID_ID_TOKEN] = {"invalid_id_token", "ID token failed verification",
                                 MM_EXIT_IDP},
    [MM_ERR_PKCE_UNSUPPORTED] = {"pkce_unsupported",
                                 "authorization server does not support PKCE S256",
                                 MM_EXIT_IDP},
    [MM_ERR_INSECURE_ISSUER] = {"insecure_issuer",
                                "plain http is only allowed for loopback issuers",
                                MM_EXIT_IDP},
    [MM_ERR_TLS] = {"tls_error", "TLS certificate verification failed", MM_EXIT_IDP},
    [MM_ERR_IDP] = {"idp_error", "identity provider error", MM_EXIT_IDP},
    [MM_ERR_NETWORK] = {"network_error", "network error", MM_EXIT_IDP},
    [MM_ERR_TIMEOUT] = {"timeout", "timed out", MM_EXIT_TIMEOUT},
    [MM_ERR_STORE_UNAVAILABLE] = {"store_unavailable", "no Secret Service (keyring) reachable",
                                  MM_EXIT_FAILURE},
    [MM_ERR_STORE] = {"store_error", "keyring operation failed", MM_EXIT_FAILURE},
    [MM_ERR_STORE_LOCKED] = {"store_locked",
                             "the credential vault is locked; run 'mimir-helper unlock'",
                             MM_EXIT_LOGIN_REQUIRED},
    [MM_ERR_BAD_PASSPHRASE] = {"bad_passphrase", "wrong passphrase for the credential vault",
                               MM_EXIT_FAILURE},
    [MM_ERR_STORE_BUSY] = {"store_busy", "the credential vault is busy; try again in a moment",
                           MM_EXIT_FAILURE},
    [MM_ERR_CONFIG] = {"config_error", "invalid configuration", MM_EXIT_FAILURE},
    [MM_ERR_UNKNOWN_LOGIN] = {"unknown_login", "no such login", MM_EXIT_FAILURE},
    [MM_ERR_BUSY] = {"too_many_connections", "mimir-agent has too many connections open",
                     MM_EXIT_FAILURE},
    [MM_ERR_AGENT_RUNNING] = {"agent_running", "another mimir-agent is already running",
                              MM_EXIT_FAILURE},
    [MM_ERR_AGENT_UNREACHABLE] = {"agent_unreachable", "mimir-agent is not reachable",
                                  MM_EXIT_UNREACHABLE},
    [MM_ERR_USAGE] = {"usage", "usage error", MM_EXIT_USAGE},
    [MM_ERR_IO] = {"io_error", "I/O error", MM_EXIT_FAILURE},
    [MM_ERR_NOMEM] = {"no_memory", "out of memory", MM_EXIT_FAILURE},
    [MM_ERR_INTERNAL] = {"internal", "internal error", MM_EXIT_FAILURE},
};

static int err_valid(mm_err e) { return (int)e >= 0 && e < MM_ERR__COUNT; }

const char *mm_err_code(mm_err e) { return err_valid(e) ? err_table[e].code : "internal"; }

const char *mm_err_describe(mm_err e)
{
    return err_valid(e) ? err_table[e].text : "internal error";
}

int mm_err_exit_status(mm_err e)
{
    return err_valid(e) ? err_table[e].exit_status : MM_EXIT_FAILURE;
}

mm_err mm_err_from_code(const char *code)
{
    if (code)
        for (int i = 0; i < MM_ERR__COUNT; i++)
            if (strcmp(err_table[i].code, code) == 0)
                return (mm_err)i;
    return MM_ERR_INTERNAL;
}
