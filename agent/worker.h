/*
 * worker.h - run blocking work (keyring calls, D-Bus notifications) off the
 * event loop.
 *
 * A libsecret call can block for as long as an unlock prompt stays open;
 * that must never stall token serving.  A job's run() executes
 * on a worker thread and must touch only the job's own data; its done()
 * runs later on the loop thread, where it may use everything.  With one
 * thread (how the agent runs it) jobs run in submission order, which the
 * keyring relies on: a save followed by an erase must stay in that order.
 */
#ifndef MM_WORKER_H
#define MM_WORKER_H

#include "loop.h"

typedef struct mm_job mm_job;
struct mm_job {
    void (*run)(mm_job *job);  /* worker thread */
    void (*done)(mm_job *job); /* loop thread; owns and frees the job */
    mm_job *next;
};

typedef struct mm_worker mm_worker;

mm_worker *mm_worker_new(mm_loop *loop, int nthreads);
/* -1 when the worker is stopping: the job will never run (the caller still
 * owns it). */
int mm_worker_submit(mm_worker *w, mm_job *job);
/* Finish the queued jobs' run()s, join the threads, then run every pending
 * done() on the calling (loop) thread: each job's owner hears of it.  -1
 * when a thread did not end within a few seconds: it is left running, the
 * worker is not freed, and the process must exit without further cleanup. */
int mm_worker_free(mm_worker *w);

#endif
