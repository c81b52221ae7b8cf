/*
 * out.h - the proxy's standard output: whole JSON-RPC messages, one per
 * line, whatever their size, in bounded memory.
 *
 * Messages arrive in pieces from several HTTP answers at once.  A message
 * is held until it is complete and then written whole, so lines never
 * interleave.  One that grows past MM_OUT_STREAM_AT starts going out
 * before it is complete (it takes its turn, and later messages wait behind
 * it); its producer is told to pause (mm_out_busy) while too much of it is
 * unwritten, and so is everyone once MM_OUT_TOTAL_MAX bytes are held.  A
 * paused producer stops reading its HTTP answer (TCP pushes back on the
 * server) and is called back when there is room again.
 *
 * Line breaks inside a message become spaces: in JSON they can only be
 * whitespace, and the stdio transport forbids embedded newlines.
 */
#ifndef MM_OUT_H
#define MM_OUT_H

#include <stddef.h>

#include "loop.h"

#define MM_OUT_STREAM_AT (256 * 1024)
#define MM_OUT_HEAD_MAX (256 * 1024)
#define MM_OUT_TOTAL_MAX (4 * 1024 * 1024)

typedef struct mm_out mm_out;
typedef struct mm_outmsg mm_outmsg;

/* A producer waiting for room (embedded in the producer). */
typedef struct mm_out_waiter {
    void (*cb)(struct mm_out_waiter *w);
    struct mm_out_waiter *next;
    int waiting;
} mm_out_waiter;

/* changed runs (from the loop) when the output fails for good (the reader
 * went away) and when everything queued has been written. */
mm_out *mm_out_new(mm_loop *loop, int fd, void (*changed)(void *arg), void *arg);
/* Restores the descriptor's flags; drops whatever was not written. */
void mm_out_free(mm_out *o);

/* A whole message made here (an error reply): 0, or -1 when out of memory. */
int mm_out_line(mm_out *o, const char *msg, size_t n);

/* A message that arrives in pieces.  NULL when out of memory. */
mm_outmsg *mm_out_begin(mm_out *o);
/* 0, or -1 when out of memory (the message is then broken: drop it). */
int mm_out_write(mm_outmsg *m, const char *p, size_t n);
/* The message so far has started going out: it can no longer vanish. */
int mm_out_committed(const mm_outmsg *m);
/* The message is complete: it goes out as one line. */
void mm_out_end(mm_outmsg *m);
/* Abandon it: forgotten when none of it went out, else its line is ended
 * where it stands (the reader sees one unparsable line, then resyncs). */
void mm_out_drop(mm_outmsg *m);

/* Should the producer of m (NULL: of a message not begun) pause now? */
int mm_out_busy(mm_out *o, mm_outmsg *m);
void mm_out_wait(mm_out *o, mm_out_waiter *w);
void mm_out_unwait(mm_out *o, mm_out_waiter *w);

/* Nothing is waiting to be written. */
int mm_out_idle(const mm_out *o);
/* The reader is gone (EPIPE or a write error): nothing more can go out. */
int mm_out_failed(const mm_out *o);

#endif
