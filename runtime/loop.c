/* loop.c - epoll loop with a sorted one-shot timer list (see loop.h). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

typedef struct {
    mm_fd_cb cb;
    void *data;
} fd_slot;

typedef struct timer {
    uint64_t id, when;
    mm_timer_cb cb;
    void *data;
    struct timer *next;
} timer;

struct mm_loop {
    int epfd;
    int stop;
    fd_slot *slots; /* indexed by fd */
    int nslots;
    timer *timers; /* sorted by deadline */
    uint64_t next_id;
};

uint64_t mm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

mm_loop *mm_loop_new(void)
{
    mm_loop *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        free(l);
        return NULL;
    }
    return l;
}

void mm_loop_free(mm_loop *l)
{
    if (!l)
        return;
    while (l->timers) {
        timer *t = l->timers;
        l->timers = t->next;
        free(t);
    }
    close(l->epfd);
    free(l->slots);
    free(l);
}

static int grow_slots(mm_loop *l, int fd)
{
    if (fd < l->nslots)
        return 0;
    int n = l->nslots ? l->nslots : 64;
    while (n <= fd)
        n *= 2;
    fd_slot *s = realloc(l->slots, (size_t)n * sizeof(*s));
    if (!s)
        return -1;
    memset(s + l->nslots, 0, (size_t)(n - l->nslots) * sizeof(*s));
    l->slots = s;
    l->nslots = n;
    return 0;
}

int mm_loop_add_fd(mm_loop *l, int fd, uint32_t events, mm_fd_cb cb, void *data)
{
    if (grow_slots(l, fd) < 0)
        return -1;
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -1;
    l->slots[fd] = (fd_slot){cb, data};
    return 0;
}

int mm_loop_mod_fd(mm_loop *l, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};
    return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
}

void mm_loop_del_fd(mm_loop *l, int fd)
{
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    if (fd >= 0 && fd < l->nslots)
        l->slots[fd] = (fd_slot){0};
}

uint64_t mm_loop_add_timer(mm_loop *l, uint64_t delay_ms, mm_timer_cb cb, void *data)
{
    timer *t = malloc(sizeof(*t));
    if (!t)
        return 0;
    *t = (timer){.id = ++l->next_id, .when = mm_now_ms() + delay_ms, .cb = cb, .data = data};
    timer **pp = &l->timers;
    while (*pp && (*pp)->when <= t->when)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    return t->id;
}

void mm_loop_del_timer(mm_loop *l, uint64_t id)
{
    for (timer **pp = &l->timers; *pp; pp = &(*pp)->next)
        if ((*pp)->id == id) {
            timer *t = *pp;
            *pp = t->next;
            free(t);
            return;
        }
}

static void run_due_timers(mm_loop *l)
{
    uint64_t now = mm_now_ms();
    /* Unlink before calling: the callback may add or delete timers. */
    while (l->timers && l->timers->when <= now && !l->stop) {
        timer *t = l->timers;
        l->timers = t->next;
        mm_timer_cb cb = t->cb;
        void *data = t->data;
        free(t);
        cb(l, data);
    }
}

int mm_loop_run(mm_loop *l)
{
    struct epoll_event evs[128];
    l->stop = 0;
    while (!l->stop) {
        int timeout = -1;
        if (l->timers) {
            uint64_t now = mm_now_ms();
            uint64_t wait = l->timers->when <= now ? 0 : l->timers->when - now;
            timeout = wait > INT_MAX ? INT_MAX : (int)wait;
        }
        int n = epoll_wait(l->epfd, evs, 128, timeout);
        if (n < 0 && errno != EINTR)
            return -1;
        for (int i = 0; i < n && !l->stop; i++) {
            int fd = evs[i].data.fd;
            /* A callback earlier in this batch may have closed fd. */
            if (fd < l->nslots && l->slots[fd].cb)
                l->slots[fd].cb(l, fd, evs[i].events, l->slots[fd].data);
        }
        run_due_timers(l);
    }
    return 0;
}

void mm_loop_stop(mm_loop *l) { l->stop = 1; }
