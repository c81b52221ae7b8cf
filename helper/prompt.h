/*
 * prompt.h - reading secrets (API keys, passwords, passphrases) from the
 * terminal without echo, or from standard input when it is not a terminal:
 * never from argv, which every user can read in /proc.
 */
#ifndef MM_PROMPT_H
#define MM_PROMPT_H

#include <stddef.h>

/* Print prompt on stderr (terminal only), read one line into buf (at most
 * len - 1 bytes, newline and trailing CR/spaces dropped).  echo: show what is
 * typed (usernames).  Returns its length, or -1 at end of input. */
int mm_prompt(const char *prompt, char *buf, size_t len, int echo);
/* 1 when standard input is a terminal. */
int mm_prompt_tty(void);

#endif
