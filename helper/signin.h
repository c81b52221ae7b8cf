/*
 * signin.h - signing a profile in, whatever its kind: what `login`,
 * `login --server` and `import-token` share.
 *
 *   oauth    the browser (opened by the helper, in its own environment) or
 *            the device grant, through the agent (login_oauth.c)
 *   mimir    Mimir's own login: username and password (login_password.c)
 *   api-key  the key, read as set-api-key reads it
 *   none     nothing to do: the server runs with security off
 */
#ifndef MM_SIGNIN_H
#define MM_SIGNIN_H

#include <stddef.h>
#include <stdio.h>

#include "helper.h"

#define MM_SIGNIN_TIMEOUT 300 /* default deadline of an interactive login, seconds */

/* The profile's name (the default one when profile is NULL) and kind, as
 * the agent (started when needed) knows them.  Returns 0, or prints why
 * and returns the exit status. */
int mm_signin_lookup(const mm_opts *o, const char *profile, char *name, size_t nlen,
                     char *kind, size_t klen);

/* Log profile (of kind) in, the way its kind logs in. */
int mm_signin_kind(mm_opts *o, const char *profile, const char *kind);

/* "Signed in as SUBJECT (profile P, token valid until T)" for a login's
 * outcome (login_wait's fields), with lead instead of "Signed in". */
void mm_signin_report(FILE *f, const char *lead, const cJSON *outcome);

/* Local time of t for people: "2026-12-04 14:05:00 UTC"; brief: only
 * "14:05:00" when that is today. */
void mm_signin_when(double t, int brief, char *buf, size_t len);

/* Each implemented in its own file. */
int mm_login_oauth(mm_opts *o, const char *profile);
int mm_login_password(mm_opts *o, const char *profile);
int mm_login_server(mm_opts *o);
/* Store an API key read from the terminal or standard input (cmd_session.c). */
int mm_session_api_key(const mm_opts *o, const char *profile);

#endif
