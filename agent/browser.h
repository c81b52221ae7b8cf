/*
 * browser.h - open the authorization URL in the user's browser.
 *
 * $BROWSER if set (the URL is its only argument, no shell involved), else
 * xdg-open.  The child gets no secrets: the URL carries only public PKCE
 * material (the challenge, never the verifier), state and nonce, and the
 * agent's environment holds no credentials.
 */
#ifndef MM_BROWSER_H
#define MM_BROWSER_H

/* 0 when a browser process was started. */
int mm_browser_open(const char *url);

#endif
