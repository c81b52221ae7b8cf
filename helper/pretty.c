/* pretty.c - JSON for people (see pretty.h). */
#include <stdlib.h>
#include <string.h>

#include "pretty.h"

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->oom)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (t->len + n + 1 > cap)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->oom = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void puts_(text *t, const char *s) { put(t, s, strlen(s)); }

static void newline(text *t, int depth)
{
    puts_(t, "\n");
    for (int i = 0; i < depth; i++)
        put(t, "  ", 2);
}

/* Scalars (and keys, as strings) in cJSON's own escaping. */
static void scalar(text *t, const cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);
    if (!s) {
        t->oom = 1;
        return;
    }
    puts_(t, s);
    cJSON_free(s);
}

static void key(text *t, const char *k)
{
    cJSON *s = cJSON_CreateStringReference(k ? k : "");
    if (!s) {
        t->oom = 1;
        return;
    }
    scalar(t, s);
    cJSON_Delete(s);
    put(t, ": ", 2);
}

static void value(text *t, const cJSON *v, int depth)
{
    int obj = cJSON_IsObject(v);
    if (!obj && !cJSON_IsArray(v)) {
        scalar(t, v);
        return;
    }
    puts_(t, obj ? "{" : "[");
    for (const cJSON *c = v->child; c; c = c->next) {
        newline(t, depth + 1);
        if (obj)
            key(t, c->string);
        value(t, c, depth + 1);
        if (c->next)
            puts_(t, ",");
    }
    if (v->child)
        newline(t, depth);
    puts_(t, obj ? "}" : "]");
}

char *mm_pretty_json(const cJSON *v)
{
    text t = {0};
    value(&t, v, 0);
    if (t.oom) {
        free(t.p);
        return NULL;
    }
    return t.p;
}

int mm_pretty_print(FILE *f, const cJSON *v)
{
    char *s = mm_pretty_json(v);
    if (!s)
        return -1;
    fputs(s, f);
    fputc('\n', f);
    free(s);
    return 0;
}
