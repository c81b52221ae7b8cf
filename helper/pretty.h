/*
 * pretty.h - JSON for people: 2-space indentation, one member per line,
 * "key": value, empty containers as {} and [].  The layout is the one
 * JSON.stringify(v, null, 2) produces, which is what the MCP clients write
 * into their own config files, so a file the helper rewrites keeps the
 * look its client gave it.
 */
#ifndef MM_PRETTY_H
#define MM_PRETTY_H

#include <stdio.h>

#include <cjson/cJSON.h>

/* The text, without a trailing newline; free() it.  NULL when out of memory. */
char *mm_pretty_json(const cJSON *v);

/* Print it to f followed by a newline; 0, or -1 when out of memory. */
int mm_pretty_print(FILE *f, const cJSON *v);

#endif
