/*
 * opener.h - open a URL in the user's browser: $BROWSER when set (the URL
 * is its only argument; no shell, so nothing in the URL is interpreted),
 * else xdg-open.  The browser runs detached (its own session, no zombie,
 * nobody waits for it), with the caller's environment: whoever asks for a
 * login opens it where the user is (the helper in the user's terminal, the
 * agent only when asked to).
 */
#ifndef MIMIR_OPENER_H
#define MIMIR_OPENER_H

#include <stddef.h>

#include "mimir/err.h"

/* Start the browser on url.  stderr_fd: where the browser's diagnostics go
 * (-1: nowhere; its standard input and output are /dev/null).  Returns
 * MM_OK once the program was executed, else why says what could not be
 * started and why. */
mm_err mm_opener_run(const char *url, int stderr_fd, char *why, size_t whylen);

/* The program mm_opener_run would start ($BROWSER or xdg-open). */
const char *mm_opener_program(void);

#endif
