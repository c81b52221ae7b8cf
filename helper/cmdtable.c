/* cmdtable.c - the helper's commands as data (see cmdtable.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cmdtable.h"

size_t mm_ct_options(const mm_command *c, const mm_subcommand *sub, mm_ct_opt *out,
                     size_t max)
{
    const struct option *o = sub ? sub->options : mm_helper_options();
    size_t n = 0;
    for (; o && o->name && n < max; o++)
        if (sub || mm_command_accepts(c, o))
            out[n++] = (mm_ct_opt){o->name, o->has_arg != no_argument};
    return n;
}

void mm_ct_summary(const mm_command *c, char *buf, size_t len)
{
    /* The first sentence, on one line, cut at a word when it is long. */
    size_t max = len - 1 < 72 ? len - 1 : 72, n = 0;
    const char *p = c->help;
    while (p[n] && n < max && !(p[n] == '.' && (!p[n + 1] || isspace((unsigned char)p[n + 1]))))
        n++;
    snprintf(buf, len, "%.*s", (int)n, p);
    for (char *q = buf; *q; q++)
        if (*q == '\n')
            *q = ' ';
    if (p[n] && p[n] != '.') {
        char *sp = strrchr(buf, ' ');
        if (sp && len - (size_t)(sp - buf) > 4)
            strcpy(sp, "...");
    }
}

/* a|b|c of lowercase words, digits and '-' only: choices, not a placeholder. */
static int is_choice_list(const char *w, size_t n)
{
    return memchr(w, '|', n) && strspn(w, "abcdefghijklmnopqrstuvwxyz0123456789-|") >= n;
}

void mm_ct_choices(const mm_command *c, const char *opt, char *buf, size_t len)
{
    buf[0] = '\0';
    const char *p = c->usage + strlen(c->name); /* the words after the name */
    size_t optlen = opt ? strlen(opt) : 0;
    int value_next = 0; /* the next word is the value of the option before it */
    for (;;) {
        p += strspn(p, " \n[]");
        size_t n = strcspn(p, " \n[]");
        if (!n)
            return;
        int is_opt = p[0] == '-';
        int ours = opt ? value_next == 2 : !is_opt && !value_next;
        if (ours && is_choice_list(p, n)) {
            snprintf(buf, len, "%.*s", (int)n, p);
            for (char *q = buf; *q; q++)
                if (*q == '|')
                    *q = ' ';
            return;
        }
        if (ours)
            return; /* a placeholder (NAME, FORMAT): no choices */
        /* "--opt VALUE": a space, not "]", after the option */
        value_next = is_opt && p[n] == ' ' ? 1 : 0;
        if (value_next && opt && n == optlen + 2 && !strncmp(p + 2, opt, optlen))
            value_next = 2;
        p += n;
    }
}
