/*
 * log.h - logging of the long-running binaries to stderr (the journal under
 * systemd, a log file when daemonized).  Rule: no secret ever reaches a log
 * line.  Callers log profile names, error codes and IdP error codes, never
 * token values, request bodies or response bodies.
 */
#ifndef MM_LOG_H
#define MM_LOG_H

enum { MM_LOG_ERROR, MM_LOG_WARN, MM_LOG_INFO, MM_LOG_DEBUG };

/* The program name in each line ("mimir-agent" unless set). */
void mm_log_set_name(const char *name);
void mm_log_set_level(int level);
void mm_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define mm_error(...) mm_log(MM_LOG_ERROR, __VA_ARGS__)
#define mm_warn(...) mm_log(MM_LOG_WARN, __VA_ARGS__)
#define mm_info(...) mm_log(MM_LOG_INFO, __VA_ARGS__)
#define mm_debug(...) mm_log(MM_LOG_DEBUG, __VA_ARGS__)

#endif
