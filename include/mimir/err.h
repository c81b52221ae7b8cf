/*
 * err.h - the one error type of Mimir.
 *
 * Every function that can fail returns an mm_err.  The same value travels
 * over the socket as a stable string code ("login_required", ...) and ends
 * up as the helper's exit status, so one table in common/err.c defines all
 * three faces of each error.  The list is closed: adding a code is a
 * protocol change and must be documented in docs/protocol.md.
 */
#ifndef MIMIR_ERR_H
#define MIMIR_ERR_H

typedef enum {
    MM_OK = 0,
    MM_ERR_BAD_REQUEST,       /* malformed JSON or missing/invalid field */
    MM_ERR_TOO_LARGE,         /* request line over MM_PROTO_MAX_LINE */
    MM_ERR_UNKNOWN_OP,        /* op not known to this agent */
    MM_ERR_UNSUPPORTED_VERSION, /* "v" other than MM_PROTO_VERSION */
    MM_ERR_PERMISSION_DENIED, /* peer uid differs from the agent's */
    MM_ERR_UNKNOWN_PROFILE,   /* no such profile in the config */
    MM_ERR_WRONG_KIND,        /* op does not fit the profile kind */
    MM_ERR_LOGIN_REQUIRED,    /* no usable credential: log in first */
    MM_ERR_LOGIN_IN_PROGRESS, /* a login of the other kind is running */
    MM_ERR_ACCESS_DENIED,     /* IdP or user refused the authorization */
    MM_ERR_STATE_MISMATCH,    /* callback state/iss did not match */
    MM_ERR_INVALID_ID_TOKEN,  /* signature or claims check failed */
    MM_ERR_PKCE_UNSUPPORTED,  /* authorization server lacks S256 */
    MM_ERR_INSECURE_ISSUER,   /* http:// issuer that is not loopback */
    MM_ERR_TLS,               /* certificate verification failed */
    MM_ERR_IDP,               /* IdP answered with an error or garbage */
    MM_ERR_NETWORK,           /* connection failure */
    MM_ERR_TIMEOUT,           /* a deadline passed */
    MM_ERR_STORE_UNAVAILABLE, /* no Secret Service reachable */
    MM_ERR_STORE,             /* keyring refused an operation */
    MM_ERR_STORE_LOCKED,      /* the encrypted file store is locked: unlock it */
    MM_ERR_BAD_PASSPHRASE,    /* the vault's passphrase is wrong */
    MM_ERR_STORE_BUSY,        /* the vault is being unlocked, locked or written */
    MM_ERR_CONFIG,            /* config file invalid */
    MM_ERR_UNKNOWN_LOGIN,     /* login_wait for an id the agent does not know */
    MM_ERR_BUSY,              /* connection limit reached; try again */
    MM_ERR_AGENT_RUNNING,     /* another agent already serves this socket */
    MM_ERR_AGENT_UNREACHABLE, /* helper only: no agent could be reached */
    MM_ERR_USAGE,             /* helper only: bad command line */
    MM_ERR_IO,                /* local I/O failure */
    MM_ERR_NOMEM,
    MM_ERR_INTERNAL,
    MM_ERR__COUNT
} mm_err;

/* Helper exit statuses (documented in README and mimir-helper --help). */
enum {
    MM_EXIT_OK = 0,
    MM_EXIT_FAILURE = 1,
    MM_EXIT_USAGE = 2,
    MM_EXIT_UNREACHABLE = 3,
    MM_EXIT_LOGIN_REQUIRED = 4,
    MM_EXIT_IDP = 5,
    MM_EXIT_TIMEOUT = 6,
};

/* Wire code, e.g. "login_required".  Never NULL. */
const char *mm_err_code(mm_err e);
/* A short English description used when no specific message exists. */
const char *mm_err_describe(mm_err e);
/* The helper exit status for this error. */
int mm_err_exit_status(mm_err e);
/* Inverse of mm_err_code; MM_ERR_INTERNAL for unknown strings. */
mm_err mm_err_from_code(const char *code);

#endif
