/*
 * env.h - the environment mimir-agent runs with: an allow-list.
 *
 * The agent lives for days and is often started by an MCP client, whose
 * environment carries that client's own secrets (ANTHROPIC_API_KEY,
 * GITHUB_TOKEN, ...).  The agent needs none of them, and whatever it
 * starts (the browser opener) must not inherit them either.  So the helper
 * starts it with only the variables below, and the agent drops (and wipes)
 * every other one it was given by anything else.
 */
#ifndef MIMIR_ENV_H
#define MIMIR_ENV_H

/* 1 when the "NAME=value" entry may stay in the agent's environment. */
int mm_env_allowed(const char *entry);

/* setenv from a "NAME=value" entry (copied); one without "=", or with a
 * name of 256 bytes or more, is left out. */
void mm_env_put(const char *entry);

/* The allow-listed entries of environ, for an exec in a child that is about
 * to start a daemon: a calloc'ed, NULL-terminated array of environ's own
 * strings (NULL when out of memory). */
char **mm_env_filtered(void);

/* For a daemon that was started some other way: keep only the allow-listed
 * variables, and wipe the values of the others where they sit, since
 * /proc/PID/environ shows that original block.  The kept ones are copied
 * (setenv). */
void mm_env_restrict(void);

#endif
