/* Log lines: [time][level][context id] message. The context id is per
 * coroutine (state-threads key), so every line of one connection carries the
 * same id without passing it around. */
#ifndef RILL_LOG_H
#define RILL_LOG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum rill_log_level {
    RILL_LOG_VERBOSE = 0,
    RILL_LOG_INFO,
    RILL_LOG_TRACE,
    RILL_LOG_WARN,
    RILL_LOG_ERROR,
};

/* Parse "verbose|info|trace|warn|error"; -1 when unknown. */
int rill_log_level_parse(const char *s);
void rill_log_set_level(int level);
int rill_log_get_level(void);
/* Log to this file (append) instead of stderr. NULL: back to stderr. */
int rill_log_open_file(const char *path);
/* Open the same path again (SIGUSR1, after logrotate moved the file away):
 * -1 with errno when it cannot be opened (the old file stays in use); a
 * no-op when logging to stderr. */
int rill_log_reopen(void);
void rill_log_close(void);

/* Context id of the calling coroutine (0 when none set). */
uint32_t rill_log_cid(void);
void rill_log_set_cid(uint32_t cid);
uint32_t rill_log_new_cid(void);

void rill_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define rill_verbose(...) do { if (rill_log_get_level() <= RILL_LOG_VERBOSE) rill_log(RILL_LOG_VERBOSE, __VA_ARGS__); } while (0)
#define rill_info(...)    do { if (rill_log_get_level() <= RILL_LOG_INFO) rill_log(RILL_LOG_INFO, __VA_ARGS__); } while (0)
#define rill_trace(...)   rill_log(RILL_LOG_TRACE, __VA_ARGS__)
#define rill_warn(...)    rill_log(RILL_LOG_WARN, __VA_ARGS__)
#define rill_error(...)   rill_log(RILL_LOG_ERROR, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
