/*
 * sse.h - an incremental parser for text/event-stream (the WHATWG
 * "server-sent events" interpretation rules), for event data of any size.
 *
 * Event data is handed on as it arrives instead of being collected: the
 * "data" lines of one event reach the receiver as one byte stream, with
 * the line break between two data lines passed as "\n" (JSON treats it as
 * whitespace) and no trailing one.  Everything else a line may hold is
 * small and capped: field names, the event type, the id, retry.
 */
#ifndef MM_SSE_H
#define MM_SSE_H

#include <stddef.h>

#define MM_SSE_ID_MAX 256   /* longer event ids are ignored (never echoed) */
#define MM_SSE_TYPE_MAX 64  /* longer event types count as "not a message" */

typedef struct {
    /* Bytes of the current event's data.  type is the event type seen so
     * far ("" when none yet): a receiver may drop data of other types.
     * Return 0 to go on, -1 to stop the parser. */
    int (*data)(void *arg, const char *type, const char *p, size_t n);
    /* The event ended (a blank line) and had data: dispatch it.  type ""
     * means "message".  Events without data are not reported. */
    int (*event)(void *arg, const char *type);
    /* An "id" field: the stream's last event id is now id (may be ""). */
    void (*id)(void *arg, const char *id);
    /* A valid "retry" field, in milliseconds. */
    void (*retry)(void *arg, long ms);
} mm_sse_cbs;

typedef struct {
    mm_sse_cbs cbs;
    void *arg;
    int state;
    int bom_seen;      /* bytes of a leading byte order mark skipped */
    int after_cr;      /* the last line ended in CR: a following LF belongs to it */
    int has_data;      /* the current event has a data line */
    size_t data_bytes; /* ... and this many bytes of data */
    int field;         /* which field the current line carries */
    int value_start;   /* at the value's first byte (one leading space is skipped) */
    char name[16];
    size_t name_len;
    char type[MM_SSE_TYPE_MAX + 1];
    size_t type_len;
    char val[MM_SSE_ID_MAX + 1]; /* an id or retry value being read */
    size_t val_len;
    int val_bad;       /* too long, or a NUL in an id */
} mm_sse;

void mm_sse_init(mm_sse *s, const mm_sse_cbs *cbs, void *arg);
/* 0, or -1 when a callback stopped it. */
int mm_sse_feed(mm_sse *s, const char *p, size_t n);

#endif
