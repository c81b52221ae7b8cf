/* answer.c - JSON and event-stream bodies into whole messages (see answer.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "exchange.h"
#include "log.h"

static int sse_data(void *arg, const char *type, const char *p, size_t n);
static int sse_event(void *arg, const char *type);
static void sse_id(void *arg, const char *id);
static void sse_retry(void *arg, long ms);

void mm_answer_init(mm_answer *a, mm_answer_kind kind)
{
    static const mm_sse_cbs cbs = {sse_data, sse_event, sse_id, sse_retry};
    mm_answer_clear(a);
    a->kind = kind;
    if (kind == MM_ANSWER_SSE)
        mm_sse_init(&a->sse, &cbs, a);
}

static void msg_begin(mm_answer *a)
{
    mm_jscan_init(&a->scan);
    a->open = 1;
    a->bad = 0;
    a->copy_len = 0;
    a->copy_over = !a->on_answer;
    a->om = NULL;
    if (a->forward && !(a->om = mm_out_begin(a->out)))
        a->bad = 1;
}

static void keep_copy(mm_answer *a, const char *p, size_t n)
{
    if (a->copy_over)
        return;
    if (a->copy_len + n + 1 > a->copy_cap) {
        size_t cap = (a->copy_len + n + 1) * 2;
        char *c = a->copy_len + n <= MM_EX_COPY_MAX ? realloc(a->copy, cap) : NULL;
        if (!c) {
            a->copy_over = 1;
            return;
        }
        a->copy = c;
        a->copy_cap = cap;
    }
    memcpy(a->copy + a->copy_len, p, n);
    a->copy_len += n;
    a->copy[a->copy_len] = '\0';
}

static int msg_bytes(mm_answer *a, const char *p, size_t n)
{
    if (!a->open)
        msg_begin(a);
    if (!a->bad && mm_jscan_feed(&a->scan, p, n) < 0)
        a->bad = 1;
    keep_copy(a, p, n);
    if (a->om && mm_out_write(a->om, p, n) < 0) {
        mm_out_drop(a->om);
        a->om = NULL;
        a->bad = 1;
        return -1;
    }
    return 0;
}

static void msg_drop(mm_answer *a)
{
    if (a->om)
        mm_out_drop(a->om);
    a->om = NULL;
    a->open = 0;
}

/* Ids match as JSON values: the same text, or the same number written
 * differently (1 and 1.0). */
static int same_id(const mm_jscan_val *x, const mm_jscan_val *y)
{
    if (x->len == y->len && !memcmp(x->text, y->text, x->len))
        return 1;
    if (x->text[0] == '"' || y->text[0] == '"')
        return 0;
    char *ex, *ey;
    double dx = strtod(x->text, &ex), dy = strtod(y->text, &ey);
    return *ex == '\0' && *ey == '\0' && dx == dy;
}

static void msg_end(mm_answer *a)
{
    a->open = 0;
    if (a->bad || mm_jscan_end(&a->scan) < 0 || mm_jscan_kind(&a->scan) == MM_MSG_INVALID) {
        mm_warn("the server sent something that is not a JSON-RPC message (%s); dropped",
                a->scan.why ? a->scan.why : "no method, result or error");
        msg_drop(a);
        return;
    }
    a->messages++;
    if (a->id && mm_jscan_kind(&a->scan) == MM_MSG_RESPONSE && same_id(&a->scan.id, a->id)) {
        a->answered = 1;
        if (a->on_answer)
            a->on_answer(a->arg, a->copy_over ? NULL : a->copy, a->copy_len);
    }
    if (a->om)
        mm_out_end(a->om);
    a->om = NULL;
}

int mm_answer_feed(mm_answer *a, const char *p, size_t n)
{
    if (a->kind == MM_ANSWER_SSE)
        return mm_sse_feed(&a->sse, p, n);
    return msg_bytes(a, p, n);
}

void mm_answer_end(mm_answer *a, int complete)
{
    if (a->open && complete && a->kind == MM_ANSWER_JSON)
        msg_end(a);
    else if (a->open)
        msg_drop(a); /* an event cut off by the end of the stream is not dispatched */
}

mm_outmsg *mm_answer_pending(const mm_answer *a) { return a->om; }

void mm_answer_clear(mm_answer *a)
{
    msg_drop(a);
    free(a->copy);
    a->copy = NULL;
    a->copy_len = a->copy_cap = 0;
}

/* ---- events ---------------------------------------------------------------------- */

static int is_message(const char *type) { return !type[0] || !strcmp(type, "message"); }

static int sse_data(void *arg, const char *type, const char *p, size_t n)
{
    mm_answer *a = arg;
    if (!is_message(type)) {
        if (a->open) /* the type came after some data: not a message after all */
            msg_drop(a);
        return 0;
    }
    return msg_bytes(a, p, n);
}

static int sse_event(void *arg, const char *type)
{
    mm_answer *a = arg;
    if (a->open && is_message(type))
        msg_end(a);
    else if (a->open)
        msg_drop(a);
    return 0;
}

static void sse_id(void *arg, const char *id)
{
    mm_answer *a = arg;
    snprintf(a->last_event_id, sizeof(a->last_event_id), "%s", id);
}

static void sse_retry(void *arg, long ms)
{
    mm_answer *a = arg;
    a->retry_ms = ms;
}
