/* prompt.c - secrets from the terminal or standard input (see prompt.h). */
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "prompt.h"

int mm_prompt_tty(void) { return isatty(0); }

int mm_prompt(const char *prompt, char *buf, size_t len, int echo)
{
    struct termios old, quiet;
    int tty = isatty(0) && tcgetattr(0, &old) == 0;
    if (tty) {
        fputs(prompt, stderr);
        fflush(stderr);
    }
    if (tty && !echo) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(0, TCSAFLUSH, &quiet);
    }
    int got = fgets(buf, (int)len, stdin) != NULL;
    if (tty && !echo) {
        tcsetattr(0, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (!got) {
        buf[0] = '\0';
        return -1;
    }
    size_t n = strcspn(buf, "\n");
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return (int)n;
}
