/* clock.c - milliseconds on the monotonic clock (see mimir/clock.h). */
#include <limits.h>
#include <time.h>

#include "mimir/clock.h"

long long mm_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mm_clock_left_ms(long long deadline)
{
    long long left = deadline - mm_clock_ms();
    return left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}
