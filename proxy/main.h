/*
 * main.h - serving one MCP session, from the command line to its end: what
 * `mimir-proxy [--profile P] [URL]` does, and what each session process of
 * the proxy server does with the arguments mimir-helper sent (serve.c).
 * One code path for both.
 */
#ifndef MM_PROXY_MAIN_H
#define MM_PROXY_MAIN_H

/* argv as mimir-proxy's own (argv[0] its name).  helper_fd: -1 when run as
 * a program of its own (the process is prepared here); else the connection
 * to mimir-helper in a session process of the server, which prepared the
 * process already: its bytes are signals, its end one too (proxywire.h).
 * Returns the exit status. */
int mm_main_session(int argc, char **argv, int helper_fd);

#endif
