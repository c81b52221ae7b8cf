/*
 * answer.h - the body of an HTTP answer from the MCP server, turned into
 * JSON-RPC messages as it arrives: either one JSON document
 * (application/json) or any number of events (text/event-stream), each
 * message checked (jscan) and passed on to standard output, and the
 * response to our request recognised by its id.
 */
#ifndef MM_ANSWER_H
#define MM_ANSWER_H

#include <stddef.h>

#include "jscan.h"
#include "out.h"
#include "sse.h"

typedef enum { MM_ANSWER_JSON, MM_ANSWER_SSE } mm_answer_kind;

typedef struct {
    mm_out *out;
    int forward;              /* messages go to standard output */
    const mm_jscan_val *id;   /* the request's id: its response is the answer */
    /* The answer is complete and about to go out (see mm_exchange_cbs). */
    void (*on_answer)(void *arg, const char *msg, size_t len);
    void *arg;

    mm_answer_kind kind;
    mm_sse sse;
    /* the message being received */
    int open, bad;
    mm_jscan scan;
    mm_outmsg *om;
    char *copy;               /* its text, for on_answer, while small enough */
    size_t copy_len, copy_cap;
    int copy_over;

    int answered, messages;
    char last_event_id[MM_SSE_ID_MAX + 1];
    long retry_ms;            /* -1 until the server sends "retry" */
} mm_answer;

/* Zero it, set out, forward, id, on_answer, arg and retry_ms = -1; then
 * init for each body (a resumed stream keeps what was received so far). */
void mm_answer_init(mm_answer *a, mm_answer_kind kind);
/* 0, or -1 when out of memory. */
int mm_answer_feed(mm_answer *a, const char *p, size_t n);
/* The body ended; complete says whether all of it arrived.  A message
 * left unfinished is dropped. */
void mm_answer_end(mm_answer *a, int complete);
/* The message being written out, for back pressure (NULL between messages). */
mm_outmsg *mm_answer_pending(const mm_answer *a);
/* Drop what is unfinished and free the copy. */
void mm_answer_clear(mm_answer *a);

#endif
