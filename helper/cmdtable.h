/*
 * cmdtable.h - the helper's commands as data, read from the tables the
 * parser itself uses (mm_helper_commands(), mm_helper_options(), each
 * command's subcommands and usage line), for the shell completions and
 * for the listing the man page test compares with.  Nothing here is a
 * second list: add a command or an option to the parser and it shows up.
 */
#ifndef MM_CMDTABLE_H
#define MM_CMDTABLE_H

#include <stddef.h>

#include "helper.h"

/* One option a command (or subcommand) accepts. */
typedef struct {
    const char *name; /* without the dashes */
    int arg;          /* takes a value */
} mm_ct_opt;

#define MM_CT_MAX_OPTS 32

/* Fills out[] with the options of c (subcommand sub, or the command's own
 * when sub is NULL); returns how many. */
size_t mm_ct_options(const mm_command *c, const mm_subcommand *sub, mm_ct_opt *out,
                     size_t max);

/* The first sentence of c's help (at most about 72 bytes), in buf. */
void mm_ct_summary(const mm_command *c, char *buf, size_t len);

/* Choices the usage line spells out as a|b|c: for the value of option opt
 * ("--format raw|env"), or for the first positional argument when opt is
 * NULL ("completion bash|zsh|fish").  Space-separated words in buf, ""
 * when the usage names none. */
void mm_ct_choices(const mm_command *c, const char *opt, char *buf, size_t len);

#endif
