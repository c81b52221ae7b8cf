/* jsonc.c - one member of a JSON-with-comments document (see jsonc.h). */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jsonc.h"

#define MAX_DEPTH 512

typedef struct {
    const char *b;
    size_t n, i;
} scan;

/* Whitespace and comments; -1 at an unterminated block comment. */
static int skip_ws(scan *s)
{
    while (s->i < s->n) {
        char c = s->b[s->i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            s->i++;
        } else if (c == '/' && s->i + 1 < s->n && s->b[s->i + 1] == '/') {
            while (s->i < s->n && s->b[s->i] != '\n')
                s->i++;
        } else if (c == '/' && s->i + 1 < s->n && s->b[s->i + 1] == '*') {
            const char *end = NULL;
            for (size_t j = s->i + 2; j + 1 < s->n && !end; j++)
                if (s->b[j] == '*' && s->b[j + 1] == '/')
                    end = s->b + j + 2;
            if (!end)
                return -1;
            s->i = (size_t)(end - s->b);
        } else {
            return 0;
        }
    }
    return 0;
}

/* At a '"': to one past the closing quote.  Strings do not span lines. */
static int skip_string(scan *s)
{
    for (s->i++; s->i < s->n; s->i++) {
        char c = s->b[s->i];
        if (c == '\\')
            s->i++;
        else if (c == '"')
            return (int)(++s->i, 0);
        else if (c == '\n' || c == '\r')
            return -1;
    }
    return -1;
}

/* A number or a literal: up to the next delimiter, at least one byte. */
static int skip_word(scan *s)
{
    size_t start = s->i;
    while (s->i < s->n && !strchr(",:{}[]\"/ \t\r\n", s->b[s->i]))
        s->i++;
    return s->i > start ? 0 : -1;
}

/* One value, containers with everything in them; brackets must match. */
static int skip_value(scan *s)
{
    char stack[MAX_DEPTH];
    int depth = 0;
    do {
        if (skip_ws(s) < 0 || s->i >= s->n)
            return -1;
        char c = s->b[s->i];
        if (c == '"') {
            if (skip_string(s) < 0)
                return -1;
        } else if (c == '{' || c == '[') {
            if (depth == MAX_DEPTH)
                return -1;
            stack[depth++] = c == '{' ? '}' : ']';
            s->i++;
        } else if (c == '}' || c == ']') {
            if (!depth || stack[--depth] != c)
                return -1;
            s->i++;
        } else if ((c == ',' || c == ':') && depth) {
            s->i++;
        } else if (skip_word(s) < 0) {
            return -1;
        }
    } while (depth);
    return 0;
}

static int key_is(const char *tok, size_t len, const char *key)
{
    if (!memchr(tok, '\\', len)) /* the usual case: the bytes are the name */
        return len == strlen(key) + 2 && !memcmp(tok + 1, key, len - 2);
    cJSON *k = cJSON_ParseWithLength(tok, len);
    int same = cJSON_IsString(k) && !strcmp(k->valuestring, key);
    cJSON_Delete(k);
    return same;
}

/* One "key": value member at s->i; fills m. */
static int member(scan *s, mm_jsonc_member *m)
{
    if (s->i >= s->n || s->b[s->i] != '"')
        return -1;
    m->key = s->i;
    if (skip_string(s) < 0)
        return -1;
    m->key_end = s->i;
    if (skip_ws(s) < 0 || s->i >= s->n || s->b[s->i] != ':')
        return -1;
    s->i++;
    if (skip_ws(s) < 0)
        return -1;
    m->value = s->i;
    if (skip_value(s) < 0)
        return -1;
    m->value_end = s->i;
    return 0;
}

int mm_jsonc_find(const char *buf, size_t len, const char *key, mm_jsonc_member *m,
                  size_t *err_at)
{
    scan s = {buf, len, len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3) ? 3 : 0};
    int found = 0;
    size_t comma = MM_JSONC_NONE;
    if (skip_ws(&s) < 0 || s.i >= len || buf[s.i] != '{')
        goto bad;
    s.i++;
    for (;;) {
        if (skip_ws(&s) < 0 || s.i >= len)
            goto bad;
        if (buf[s.i] == '}')
            break;
        mm_jsonc_member cur = {.comma_before = comma, .comma_after = MM_JSONC_NONE};
        if (member(&s, &cur) < 0 || skip_ws(&s) < 0 || s.i >= len)
            goto bad;
        comma = buf[s.i] == ',' ? s.i : MM_JSONC_NONE;
        if (comma == MM_JSONC_NONE && buf[s.i] != '}')
            goto bad;
        cur.comma_after = comma;
        if (key_is(buf + cur.key, cur.key_end - cur.key, key)) {
            *m = cur;
            found++;
        }
        s.i += comma != MM_JSONC_NONE;
    }
    s.i++;
    if (skip_ws(&s) < 0 || s.i != len)
        goto bad;
    return found;
bad:
    *err_at = s.i;
    return -1;
}

char *mm_jsonc_string(const char *buf, const mm_jsonc_member *m)
{
    cJSON *v = cJSON_ParseWithLength(buf + m->value, m->value_end - m->value);
    char *out = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
    if (cJSON_IsString(v)) /* it is a credential: no copy left behind */
        memset(v->valuestring, 0, strlen(v->valuestring));
    cJSON_Delete(v);
    return out;
}

static int blank(const char *buf, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r')
            return 0;
    return 1;
}

/* The member's whole line [*from, *to) (newline included) when nothing but
 * blanks shares it with [start, end); 0 otherwise. */
static int own_line(const char *buf, size_t len, size_t start, size_t end, size_t *from,
                    size_t *to)
{
    size_t a = start, b = end;
    while (a > 0 && buf[a - 1] != '\n')
        a--;
    while (b < len && buf[b] != '\n')
        b++;
    if (!blank(buf, a, start) || !blank(buf, end, b))
        return 0;
    *from = a;
    *to = b < len ? b + 1 : b;
    return 1;
}

static size_t cut(char *buf, size_t len, size_t from, size_t to)
{
    memmove(buf + from, buf + to, len - to);
    memset(buf + len - (to - from), 0, to - from); /* the tail may have held a secret */
    return len - (to - from);
}

size_t mm_jsonc_remove(char *buf, size_t len, const mm_jsonc_member *m)
{
    size_t from = m->key, to = m->value_end;
    if (m->comma_after != MM_JSONC_NONE) { /* "k": v, -> gone, comma and all */
        to = m->comma_after + 1;
        if (!own_line(buf, len, m->key, to, &from, &to))
            while (to < len && (buf[to] == ' ' || buf[to] == '\t'))
                to++;
        return cut(buf, len, from, to);
    }
    /* The last member: the comma before it goes, or the one left would
     * trail.  The later cut first, so the earlier offset stays valid. */
    if (!own_line(buf, len, m->key, m->value_end, &from, &to) &&
        m->comma_before != MM_JSONC_NONE)
        while (from > m->comma_before + 1 && (buf[from - 1] == ' ' || buf[from - 1] == '\t'))
            from--;
    len = cut(buf, len, from, to);
    if (m->comma_before != MM_JSONC_NONE)
        len = cut(buf, len, m->comma_before, m->comma_before + 1);
    return len;
}
