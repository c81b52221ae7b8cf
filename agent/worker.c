/* worker.c - a small thread pool whose results come back through an eventfd. */
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

#define MAX_THREADS 8

#define JOIN_GRACE_S 3

struct mm_worker {
    mm_loop *loop;
    int efd;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    mm_job *todo_head, *todo_tail;
    mm_job *done_head, *done_tail;
    int stop;
    int nthreads;
    pthread_t threads[MAX_THREADS];
};

static void push(mm_job **head, mm_job **tail, mm_job *j)
{
    j->next = NULL;
    if (*tail)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
}

static void *thread_main(void *arg)
{
    mm_worker *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->todo_head && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->todo_head)
            break;
        mm_job *j = w->todo_head;
        w->todo_head = j->next;
        if (!w->todo_head)
            w->todo_tail = NULL;
        pthread_mutex_unlock(&w->mu);
        j->run(j);
        pthread_mutex_lock(&w->mu);
        push(&w->done_head, &w->done_tail, j);
        uint64_t one = 1;
        if (write(w->efd, &one, sizeof(one)) < 0) { /* counter cannot overflow here */
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void on_done(mm_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop, (void)events;
    mm_worker *w = data;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) < 0) { /* EAGAIN: another wakeup drained it */
    }
    pthread_mutex_lock(&w->mu);
    mm_job *j = w->done_head;
    w->done_head = w->done_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    while (j) {
        mm_job *next = j->next;
        j->done(j);
        j = next;
    }
}

mm_worker *mm_worker_new(mm_loop *loop, int nthreads)
{
    mm_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->loop = loop;
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (w->efd < 0 || mm_loop_add_fd(loop, w->efd, EPOLLIN, on_done, w) < 0) {
        mm_worker_free(w);
        return NULL;
    }
    if (nthreads > MAX_THREADS)
        nthreads = MAX_THREADS;
    for (; w->nthreads < nthreads; w->nthreads++)
        if (pthread_create(&w->threads[w->nthreads], NULL, thread_main, w) != 0) {
            mm_worker_free(w);
            return NULL;
        }
    return w;
}

int mm_worker_submit(mm_worker *w, mm_job *job)
{
    pthread_mutex_lock(&w->mu);
    int stopping = w->stop;
    if (!stopping) {
        push(&w->todo_head, &w->todo_tail, job);
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return stopping ? -1 : 0;
}

int mm_worker_free(mm_worker *w)
{
    if (!w)
        return 0;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    /* A job's blocking call was cancelled by its owner before this (the
     * store cancels every keyring call at stop): it should end at once.  A
     * library that ignores the cancellation must not keep the process from
     * stopping: after JOIN_GRACE_S the thread is abandoned with whatever it
     * holds, and the caller exits without cleaning up behind it. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += JOIN_GRACE_S;
    for (int i = 0; i < w->nthreads; i++)
        if (pthread_timedjoin_np(w->threads[i], NULL, &until) != 0) {
            mm_warn("a blocking call (keyring or file store) did not end within %d s of "
                    "being cancelled; stopping without it", JOIN_GRACE_S);
            return -1;
        }
    /* Completed jobs still own memory and have owners waiting: their done()
     * runs here.  New jobs submitted from a done() are refused (stop). */
    if (w->efd >= 0) {
        mm_loop_del_fd(w->loop, w->efd);
        on_done(w->loop, w->efd, 0, w);
        close(w->efd);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
    return 0;
}
