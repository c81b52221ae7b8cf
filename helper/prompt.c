/* prompt.c - secrets from the terminal or standard input (see prompt.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "prompt.h"

int mm_prompt_tty(void) { return isatty(0); }

/* One line, a byte at a time with read(2): stdio would keep a copy of the
 * secret in its buffer (and read past the line, which a second prompt on
 * the same input needs).  A line of 16 KiB is 16 Ki system calls, about a
 * millisecond.  0 at end of input before any byte. */
static int read_line(char *buf, size_t len)
{
    size_t n = 0;
    int any = 0;
    while (n + 1 < len) {
        char c;
        ssize_t r = read(0, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        any = 1;
        if (c == '\n')
            break;
        buf[n++] = c;
    }
    buf[n] = '\0';
    return any;
}

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
    int got = read_line(buf, len);
    if (tty && !echo) {
        tcsetattr(0, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (!got) {
        buf[0] = '\0';
        return -1;
    }
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return (int)n;
}
