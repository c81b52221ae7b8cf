/* log.c - timestamped, levelled lines on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

static int log_level = MM_LOG_INFO;
static const char *log_name = "mimir-agent";

void mm_log_set_name(const char *name) { log_name = name; }
void mm_log_set_level(int level) { log_level = level; }

void mm_log(int level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level > log_level)
        return;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", localtime_r(&now, &tm));
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* One fprintf per line keeps lines whole when worker threads log. */
    fprintf(stderr, "%s %s[%s]: %s\n", ts, log_name, names[level], msg);
}
