/* jscan.c - incremental JSON validation and JSON-RPC classification (see jscan.h). */
#include <string.h>

#include "jscan.h"

enum {
    S_VALUE,      /* a value must come: at the start, after ':', after ',' in an array */
    S_ARRAY_OPEN, /* after '[': a value or ']' */
    S_OBJECT_OPEN, /* after '{': a member name or '}' */
    S_KEY,        /* after ',' in an object: a member name */
    S_COLON,
    S_AFTER,      /* after a value inside a container: ',' or the closer */
    S_END,        /* the value is complete: whitespace only from here */
    S_STRING,
    S_ESCAPE,
    S_UNICODE,
    S_NUMBER,
    S_LITERAL,
    S_ERROR,
};

/* Number sub-states, after the character named. */
enum { N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_EXP_MARK, N_EXP_SIGN, N_EXP };

void mm_jscan_init(mm_jscan *s)
{
    memset(s, 0, sizeof(*s));
    s->state = S_VALUE;
}

static int fail(mm_jscan *s, const char *why)
{
    s->state = S_ERROR;
    s->why = why;
    s->error_at = s->pos;
    return -1;
}

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int in_object(const mm_jscan *s)
{
    unsigned d = s->depth - 1;
    return (s->stack[d / 8] >> (d % 8)) & 1;
}

static void save(mm_jscan *s, const char *p, size_t n)
{
    mm_jscan_val *v = s->capture;
    if (v) {
        if (v->len + n > MM_JSCAN_ID_MAX)
            v->usable = 0;
        else {
            memcpy(v->text + v->len, p, n);
            v->len += n;
            v->text[v->len] = '\0';
        }
    }
    if (s->key_at_top) {
        if (s->key_len + n >= sizeof(s->key))
            s->key_len = sizeof(s->key); /* too long: matches no name of ours */
        else {
            memcpy(s->key + s->key_len, p, n);
            s->key_len += n;
        }
    }
}

static void value_done(mm_jscan *s)
{
    s->capture = NULL;
    s->state = s->depth ? S_AFTER : S_END;
}

/* A top-level member name ended: remember which value to copy. */
static void top_key(mm_jscan *s)
{
    const char *k = s->key;
    size_t n = s->key_len;
    s->key_at_top = 0;
    s->next_capture = NULL;
    if (n == 2 && !memcmp(k, "id", 2))
        s->next_capture = &s->id;
    else if (n == 6 && !memcmp(k, "method", 6))
        s->next_capture = &s->method;
    else if (n == 6 && !memcmp(k, "result", 6))
        s->has_result = 1;
    else if (n == 5 && !memcmp(k, "error", 5))
        s->has_error = 1;
}

static int push(mm_jscan *s, int object)
{
    if (s->depth == MM_JSCAN_MAX_DEPTH)
        return fail(s, "nested too deeply");
    unsigned d = s->depth++;
    if (object)
        s->stack[d / 8] |= (uint8_t)(1u << (d % 8));
    else
        s->stack[d / 8] &= (uint8_t)~(1u << (d % 8));
    s->state = object ? S_OBJECT_OPEN : S_ARRAY_OPEN;
    return 0;
}

static void pop(mm_jscan *s)
{
    s->depth--;
    value_done(s);
}

static int begin_string(mm_jscan *s, int key)
{
    s->state = S_STRING;
    s->in_key = key;
    s->key_at_top = key && s->depth == 1;
    s->key_len = 0;
    return 0;
}

static int begin_value(mm_jscan *s, unsigned char c)
{
    if (s->depth == 0)
        s->top = c;
    if (s->depth == 1 && in_object(s) && s->next_capture) {
        s->capture = s->next_capture;
        *s->capture = (mm_jscan_val){.present = 1, .usable = 1};
    }
    s->next_capture = NULL;
    if (c == '{' || c == '[') {
        if (s->capture)
            s->capture->usable = 0; /* ids and method names are scalars */
        s->capture = NULL;
        return push(s, c == '{');
    }
    save(s, (const char *)&c, 1);
    if (c == '"')
        return begin_string(s, 0);
    if (c == '-' || is_digit(c)) {
        s->state = S_NUMBER;
        s->sub = c == '-' ? N_MINUS : c == '0' ? N_ZERO : N_INT;
        return 0;
    }
    s->literal = c == 't' ? "true" : c == 'f' ? "false" : c == 'n' ? "null" : NULL;
    if (!s->literal)
        return fail(s, "expected a JSON value");
    s->state = S_LITERAL;
    s->sub = 1;
    return 0;
}

/* The number's state after c, or -1 when c does not continue it. */
static int number_next(int sub, unsigned char c)
{
    int digit = is_digit(c), exp = c == 'e' || c == 'E';
    switch (sub) {
    case N_MINUS: return !digit ? -1 : c == '0' ? N_ZERO : N_INT;
    case N_ZERO: return c == '.' ? N_DOT : exp ? N_EXP_MARK : -1;
    case N_INT: return digit ? N_INT : c == '.' ? N_DOT : exp ? N_EXP_MARK : -1;
    case N_DOT: return digit ? N_FRAC : -1;
    case N_FRAC: return digit ? N_FRAC : exp ? N_EXP_MARK : -1;
    case N_EXP_MARK: return digit ? N_EXP : (c == '+' || c == '-') ? N_EXP_SIGN : -1;
    default: return digit ? N_EXP : -1; /* N_EXP_SIGN, N_EXP */
    }
}

static int number_complete(const mm_jscan *s)
{
    return s->sub == N_ZERO || s->sub == N_INT || s->sub == N_FRAC || s->sub == N_EXP;
}

static int string_char(mm_jscan *s, unsigned char c)
{
    if (c < 0x20)
        return fail(s, "control character in a string");
    if (c == '"') {
        if (s->in_key) {
            if (s->key_at_top)
                top_key(s);
            s->state = S_COLON;
        } else {
            save(s, "\"", 1);
            value_done(s);
        }
        return 0;
    }
    if (c == '\\') {
        if (s->key_at_top)
            s->key_len = sizeof(s->key); /* escaped names match none of ours */
        s->state = S_ESCAPE;
    }
    save(s, (const char *)&c, 1);
    return 0;
}

static int escape_char(mm_jscan *s, unsigned char c)
{
    save(s, (const char *)&c, 1);
    if (s->state == S_UNICODE) {
        if (!is_digit(c) && !((c | 0x20) >= 'a' && (c | 0x20) <= 'f'))
            return fail(s, "bad \\u escape");
        if (++s->hex == 4)
            s->state = S_STRING;
        return 0;
    }
    if (c == 'u') {
        s->state = S_UNICODE;
        s->hex = 0;
        return 0;
    }
    if (!strchr("\"\\/bfnrt", c) || !c)
        return fail(s, "bad escape in a string");
    s->state = S_STRING;
    return 0;
}

static int after_value(mm_jscan *s, unsigned char c)
{
    int obj = in_object(s);
    if (c == ',') {
        s->state = obj ? S_KEY : S_VALUE;
        return 0;
    }
    if (c == (obj ? '}' : ']')) {
        pop(s);
        return 0;
    }
    return fail(s, obj ? "expected ',' or '}'" : "expected ',' or ']'");
}

static int step(mm_jscan *s, unsigned char c)
{
    switch (s->state) {
    case S_STRING: return string_char(s, c);
    case S_ESCAPE:
    case S_UNICODE: return escape_char(s, c);
    case S_NUMBER:
        if (number_next(s->sub, c) >= 0) {
            s->sub = number_next(s->sub, c);
            save(s, (const char *)&c, 1);
            return 0;
        }
        if (!number_complete(s))
            return fail(s, "incomplete number");
        value_done(s);
        return step(s, c); /* c belongs to what follows the number */
    case S_LITERAL:
        if (c != (unsigned char)s->literal[s->sub])
            return fail(s, "expected true, false or null");
        save(s, (const char *)&c, 1);
        if (!s->literal[++s->sub])
            value_done(s);
        return 0;
    case S_ERROR: return -1;
    default: break;
    }
    if (is_ws(c))
        return 0;
    switch (s->state) {
    case S_VALUE: return begin_value(s, c);
    case S_ARRAY_OPEN:
        if (c == ']') {
            pop(s);
            return 0;
        }
        return begin_value(s, c);
    case S_OBJECT_OPEN:
    case S_KEY:
        if (c == '"')
            return begin_string(s, 1);
        if (c == '}' && s->state == S_OBJECT_OPEN) {
            pop(s);
            return 0;
        }
        return fail(s, "expected a member name");
    case S_COLON:
        if (c != ':')
            return fail(s, "expected ':'");
        s->state = S_VALUE;
        return 0;
    case S_AFTER: return after_value(s, c);
    default: return fail(s, "unexpected characters after the JSON value");
    }
}

int mm_jscan_feed(mm_jscan *s, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s->state == S_STRING) {
            /* The bulk of a big message is string contents: copy runs. */
            size_t j = i;
            while (j < n && p[j] != '"' && p[j] != '\\' && (unsigned char)p[j] >= 0x20)
                j++;
            if (j > i && (s->capture || s->key_at_top))
                save(s, p + i, j - i);
            s->pos += j - i;
            if ((i = j) == n)
                break;
        }
        if (step(s, (unsigned char)p[i]) < 0)
            return -1;
        s->pos++;
        i++;
    }
    return s->state == S_ERROR ? -1 : 0;
}

int mm_jscan_end(mm_jscan *s)
{
    if (s->state == S_NUMBER && number_complete(s))
        value_done(s);
    if (s->state == S_END)
        return 0;
    if (s->state != S_ERROR)
        fail(s, s->pos ? "the JSON text ends too early" : "empty message");
    return -1;
}

static int usable_id(const mm_jscan_val *v)
{
    return v->present && v->usable && (v->text[0] == '"' || v->text[0] == '-' ||
                                       is_digit((unsigned char)v->text[0]));
}

mm_msg_kind mm_jscan_kind(const mm_jscan *s)
{
    if (s->top == '[')
        return MM_MSG_BATCH;
    if (s->top != '{')
        return MM_MSG_INVALID;
    if (s->method.present) {
        if (!s->method.usable || s->method.text[0] != '"')
            return MM_MSG_INVALID;
        if (!s->id.present)
            return MM_MSG_NOTIFICATION;
        return usable_id(&s->id) ? MM_MSG_REQUEST : MM_MSG_INVALID;
    }
    /* An error answer to something unparsable carries "id": null. */
    if (s->id.present && s->id.usable && (s->has_result || s->has_error))
        return MM_MSG_RESPONSE;
    return MM_MSG_INVALID;
}

int mm_jscan_method_is(const mm_jscan *s, const char *name)
{
    size_t n = strlen(name);
    return s->method.present && s->method.usable && s->method.len == n + 2 &&
           s->method.text[0] == '"' && !memcmp(s->method.text + 1, name, n);
}
