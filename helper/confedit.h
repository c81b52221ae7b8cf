/*
 * confedit.h - changing config.json from the helper (profile add|remove|
 * default, login --server): read the raw document, let the caller change
 * it, validate the result with the agent's own rules, write it atomically
 * (0600) and have a running agent reload it.  Never starts an agent just
 * for that.
 */
#ifndef MM_CONFEDIT_H
#define MM_CONFEDIT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "helper.h"

/* The config file's path and its document ({} when missing).  Returns 0,
 * or prints why and returns the exit status. */
int mm_confedit_load(char *path, size_t len, cJSON **doc);

/* Validate, write, and tell a running agent.  Consumes doc.  Returns 0,
 * or prints why and returns the exit status (the file is then unchanged). */
int mm_confedit_save(const char *path, cJSON *doc, const mm_opts *o);

#endif
