/* sse.c - incremental text/event-stream parsing (see sse.h). */
#include <stdlib.h>
#include <string.h>

#include "sse.h"

enum { L_START, L_NAME, L_VALUE, L_SKIP };
enum { F_OTHER, F_DATA, F_EVENT, F_ID, F_RETRY };

void mm_sse_init(mm_sse *s, const mm_sse_cbs *cbs, void *arg)
{
    memset(s, 0, sizeof(*s));
    s->cbs = *cbs;
    s->arg = arg;
}

static int value_data(mm_sse *s, const char *p, size_t n)
{
    s->data_bytes += n;
    return s->cbs.data(s->arg, s->type, p, n);
}

/* The name is complete (at ':' or at the end of the line). */
static int begin_field(mm_sse *s)
{
    static const char *const names[] = {NULL, "data", "event", "id", "retry"};
    s->field = F_OTHER;
    for (int f = F_DATA; f <= F_RETRY; f++)
        if (s->name_len == strlen(names[f]) && !memcmp(s->name, names[f], s->name_len))
            s->field = f;
    s->val_len = 0;
    s->val_bad = 0;
    s->value_start = 1;
    if (s->field == F_EVENT)
        s->type_len = 0;
    if (s->field != F_DATA)
        return 0;
    int more = s->has_data;
    s->has_data = 1;
    /* Data lines of one event are joined with a line feed. */
    return more ? value_data(s, "\n", 1) : 0;
}

static void keep(char *buf, size_t cap, size_t *len, int *bad, const char *p, size_t n)
{
    if (*len + n > cap)
        *bad = 1;
    else {
        memcpy(buf + *len, p, n);
        *len += n;
        buf[*len] = '\0';
    }
}

static int value_bytes(mm_sse *s, const char *p, size_t n)
{
    if (s->value_start && n) {
        s->value_start = 0;
        if (*p == ' ') {
            p++;
            n--;
        }
    }
    if (!n)
        return 0;
    switch (s->field) {
    case F_DATA: return value_data(s, p, n);
    case F_EVENT: {
        int bad = 0;
        keep(s->type, MM_SSE_TYPE_MAX, &s->type_len, &bad, p, n);
        if (bad) { /* an overlong type is some other type, not "message" */
            strcpy(s->type, "?");
            s->type_len = MM_SSE_TYPE_MAX;
        }
        return 0;
    }
    case F_ID:
    case F_RETRY:
        if (memchr(p, '\0', n))
            s->val_bad = 1;
        keep(s->val, MM_SSE_ID_MAX, &s->val_len, &s->val_bad, p, n);
        return 0;
    default: return 0;
    }
}

static void end_field(mm_sse *s)
{
    if (s->field == F_ID && !s->val_bad && s->cbs.id)
        s->cbs.id(s->arg, s->val_len ? s->val : "");
    if (s->field == F_RETRY && !s->val_bad && s->val_len &&
        strspn(s->val, "0123456789") == s->val_len && s->val_len < 10 && s->cbs.retry)
        s->cbs.retry(s->arg, strtol(s->val, NULL, 10));
}

static int dispatch(mm_sse *s)
{
    int rc = 0;
    /* Only events that carried data: an id-only event primes resumption,
     * a comment keeps the connection alive; neither is a message. */
    if (s->data_bytes)
        rc = s->cbs.event(s->arg, s->type);
    s->has_data = 0;
    s->data_bytes = 0;
    s->type_len = 0;
    s->type[0] = '\0';
    return rc;
}

static int end_line(mm_sse *s)
{
    int rc = 0;
    switch (s->state) {
    case L_START: rc = dispatch(s); break;
    case L_NAME: /* a line without a colon: the whole line names the field */
        rc = begin_field(s);
        end_field(s);
        break;
    case L_VALUE: end_field(s); break;
    default: break;
    }
    s->state = L_START;
    return rc;
}

static int line_byte(mm_sse *s, char c)
{
    switch (s->state) {
    case L_START:
        if (c == ':') {
            s->state = L_SKIP; /* a comment */
            return 0;
        }
        s->state = L_NAME;
        s->name_len = 0;
        /* fall through */
    case L_NAME:
        if (c == ':') {
            s->state = L_VALUE;
            return begin_field(s);
        }
        if (s->name_len < sizeof(s->name))
            s->name[s->name_len] = c;
        s->name_len++; /* an overlong name matches no field */
        return 0;
    default: return 0;
    }
}

int mm_sse_feed(mm_sse *s, const char *p, size_t n)
{
    const char *end = p + n;
    /* A UTF-8 byte order mark may open the stream. */
    while (s->bom_seen < 3 && p < end && *p == "\xef\xbb\xbf"[s->bom_seen]) {
        s->bom_seen++;
        p++;
    }
    if (p < end)
        s->bom_seen = 3;
    while (p < end) {
        char c = *p;
        if (c == '\n' && s->after_cr) {
            s->after_cr = 0;
            p++;
            continue;
        }
        s->after_cr = c == '\r';
        if (c == '\r' || c == '\n') {
            if (end_line(s) < 0)
                return -1;
            p++;
            continue;
        }
        if (s->state == L_VALUE || s->state == L_SKIP) {
            /* The rest of the line in one piece: data can be megabytes. */
            const char *q = p;
            while (q < end && *q != '\r' && *q != '\n')
                q++;
            if (s->state == L_VALUE && value_bytes(s, p, (size_t)(q - p)) < 0)
                return -1;
            p = q;
            continue;
        }
        if (line_byte(s, c) < 0)
            return -1;
        p++;
    }
    return 0;
}
