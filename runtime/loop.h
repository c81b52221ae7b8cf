/*
 * loop.h - a tiny epoll event loop: file descriptors and one-shot timers.
 *
 * In the spirit of Redis's ae.c: one thread, callbacks, no hidden work.
 * Timers are few (login deadlines, refresh schedules, the connection
 * sweeper), so a sorted list is enough.  Times come from CLOCK_BOOTTIME so
 * a timer that expired while the machine slept fires at once on resume.
 */
#ifndef MM_LOOP_H
#define MM_LOOP_H

#include <stdint.h>

typedef struct mm_loop mm_loop;
typedef void (*mm_fd_cb)(mm_loop *loop, int fd, uint32_t events, void *data);
typedef void (*mm_timer_cb)(mm_loop *loop, void *data);

mm_loop *mm_loop_new(void);
void mm_loop_free(mm_loop *loop);

/* events: EPOLLIN/EPOLLOUT/... ; one registration per fd. */
int mm_loop_add_fd(mm_loop *loop, int fd, uint32_t events, mm_fd_cb cb, void *data);
int mm_loop_mod_fd(mm_loop *loop, int fd, uint32_t events);
void mm_loop_del_fd(mm_loop *loop, int fd);

/* Returns a non-zero id for mm_loop_del_timer. */
uint64_t mm_loop_add_timer(mm_loop *loop, uint64_t delay_ms, mm_timer_cb cb, void *data);
void mm_loop_del_timer(mm_loop *loop, uint64_t id);

/* Until mm_loop_stop: 0.  -1 with errno when epoll_wait itself fails. */
int mm_loop_run(mm_loop *loop);
void mm_loop_stop(mm_loop *loop);

/* Milliseconds on CLOCK_BOOTTIME (counts suspended time). */
uint64_t mm_now_ms(void);

#endif
