/*
 * loopback.h - the OAuth redirect listener (RFC 8252 section 7.3).
 *
 * Listens on 127.0.0.1 (never 0.0.0.0: the code must not be reachable from
 * the network) on an ephemeral or configured port, inside the agent's event
 * loop.  Every request gets a small HTML page; only the login's verdict on
 * a /callback request can end it, and the owner stops the listener from a
 * later loop turn (a timer), never from inside the callback.  Junk, wrong
 * state and other paths get an error page and the listener keeps waiting,
 * so a stray or hostile request cannot cut a login short.  Nor can idle
 * connections: any local user can open some, so one that has not sent its
 * request within a few seconds is closed, and when every slot is taken the
 * oldest is dropped for the newcomer, so the browser's redirect always
 * gets through.
 */
#ifndef MM_LOOPBACK_H
#define MM_LOOPBACK_H

#include "loop.h"
#include "mimir/err.h"

typedef struct mm_loopback mm_loopback;

typedef enum {
    MM_CB_IGNORE,  /* not acceptable: error page, keep listening */
    MM_CB_SUCCESS, /* accepted: success page, stop listening */
    MM_CB_FAILED,  /* the login ended with an error: error page, stop */
} mm_cb_verdict;

/* Query parameters of a /callback request (NULL when absent). */
typedef struct {
    const char *code, *state, *error, *error_description, *iss;
} mm_callback;

typedef mm_cb_verdict (*mm_callback_fn)(void *ctx, const mm_callback *cb, char *msg,
                                        size_t msglen);

/* What a request is, as far as the listener cares. */
typedef enum {
    MM_LB_BAD,       /* not a GET with a request target */
    MM_LB_NOT_FOUND, /* another path */
    MM_LB_INVALID,   /* /callback with a repeated parameter or no query */
    MM_LB_CALLBACK,  /* /callback: cb filled, pointing into req */
} mm_lb_kind;

/* Parse a request head (NUL-terminated, modified in place: the query is
 * percent-decoded where it lies).  Pure, for the unit tests and the fuzzer. */
mm_lb_kind mm_loopback_parse(char *req, mm_callback *cb);

mm_loopback *mm_loopback_start(mm_loop *loop, int port, mm_callback_fn fn, void *ctx,
                               char *why, size_t whylen);
int mm_loopback_port(const mm_loopback *lb);
/* Close the listening socket and every pending browser connection. */
void mm_loopback_stop(mm_loopback *lb);

#endif
