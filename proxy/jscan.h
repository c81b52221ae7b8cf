/*
 * jscan.h - an incremental JSON scanner for JSON-RPC messages of any size.
 *
 * The proxy never needs a message's tree, only to know that the bytes are
 * one well-formed JSON value and what its top level says: a request
 * (method and id), a notification (method), a response (id with result or
 * error) or a batch (an array).  Bytes go in as they arrive, in pieces of
 * any size, and memory stays fixed: a bit per nesting level, and copies of
 * the top-level "id" and "method" values as they pass by.
 */
#ifndef MM_JSCAN_H
#define MM_JSCAN_H

#include <stddef.h>
#include <stdint.h>

#define MM_JSCAN_MAX_DEPTH 512
#define MM_JSCAN_ID_MAX 256     /* longer ids are not echoed back */
#define MM_JSCAN_METHOD_MAX 128 /* longer method names are never ours to look at */

typedef enum {
    MM_MSG_INVALID,      /* JSON, but not a JSON-RPC message */
    MM_MSG_REQUEST,      /* method + id */
    MM_MSG_NOTIFICATION, /* method, no id */
    MM_MSG_RESPONSE,     /* id + result or error */
    MM_MSG_BATCH,        /* an array (protocol 2025-03-26 and older) */
} mm_msg_kind;

/* A top-level member's value, copied as raw JSON text ("7", "\"a\"", "null"). */
typedef struct {
    int present;
    int usable; /* a scalar that fit */
    size_t len;
    char text[MM_JSCAN_ID_MAX + 1];
} mm_jscan_val;

typedef struct {
    /* Results (complete after mm_jscan_end). */
    int top;         /* first byte of the top-level value: '{', '[', or other */
    int has_result, has_error;
    mm_jscan_val id, method;
    size_t error_at; /* byte offset of a syntax error */
    const char *why; /* what was wrong, NULL while the text is fine */

    /* Scanner state. */
    size_t pos;
    int state, sub;  /* sub: the number's or literal's progress */
    int in_key;      /* the string being read is a member name */
    int hex;         /* digits of a \u escape read so far */
    unsigned depth;
    uint8_t stack[MM_JSCAN_MAX_DEPTH / 8]; /* 1 bit per level: 1 object, 0 array */
    const char *literal;                   /* "true"/"false"/"null" being matched */
    int key_at_top;                        /* the string being read is a top-level key */
    char key[16];
    size_t key_len;
    mm_jscan_val *capture; /* the top-level value being copied, if any */
    mm_jscan_val *next_capture;
} mm_jscan;

void mm_jscan_init(mm_jscan *s);
/* 0 while the bytes so far can begin a JSON value; -1 once they cannot. */
int mm_jscan_feed(mm_jscan *s, const char *p, size_t n);
/* 0 when exactly one complete value was fed, -1 otherwise (s->why). */
int mm_jscan_end(mm_jscan *s);

/* What the complete message is (after a successful mm_jscan_end). */
mm_msg_kind mm_jscan_kind(const mm_jscan *s);
/* The method is exactly name (a plain string, no escapes). */
int mm_jscan_method_is(const mm_jscan *s, const char *name);

#endif
