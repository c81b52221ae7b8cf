/*
 * clock.h - the clock that deadlines outside an event loop are kept on
 * (the agent client's, the helper's, a starting daemon's): CLOCK_MONOTONIC
 * in milliseconds, which no change of the wall clock moves.
 */
#ifndef MIMIR_CLOCK_H
#define MIMIR_CLOCK_H

long long mm_clock_ms(void);

/* What is left until DEADLINE (an mm_clock_ms value): 0 once it passed, at
 * most INT_MAX, so that it can be a poll() timeout. */
int mm_clock_left_ms(long long deadline);

#endif
