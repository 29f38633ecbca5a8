#include "rill_log.h"

#include <st.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static int g_level = RILL_LOG_TRACE;
static FILE *g_file;             /* NULL: stderr */
static char *g_path;             /* g_file's path, for rill_log_reopen */
static int g_key = -1;           /* st key holding the coroutine's cid */
static uint32_t g_next_cid = 100;

static const char *level_names[] = { "verb", "info", "trace", "warn", "error" };

int rill_log_level_parse(const char *s)
{
    static const char *names[] = { "verbose", "info", "trace", "warn", "error" };
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

void rill_log_set_level(int level) { g_level = level; }
int rill_log_get_level(void) { return g_level; }

int rill_log_open_file(const char *path)
{
    char *p = strdup(path);
    if (!p) return -1;
    FILE *f = fopen(path, "a");
    if (!f) {
        free(p);
        return -1;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    rill_log_close();
    g_file = f;
    g_path = p;
    return 0;
}

int rill_log_reopen(void)
{
    if (!g_file) return 0;
    /* open first: when the new file cannot be made, lines keep going to the old one */
    FILE *f = fopen(g_path, "a");
    if (!f) return -1;
    setvbuf(f, NULL, _IOLBF, 0);
    fclose(g_file);
    g_file = f;
    return 0;
}

void rill_log_close(void)
{
    if (g_file) fclose(g_file);
    g_file = NULL;
    free(g_path);
    g_path = NULL;
}

static int cid_key(void)
{
    /* st_key_create works before st_init; keys are process-wide. */
    if (g_key < 0 && st_key_create(&g_key, NULL) != 0) g_key = -2;
    return g_key;
}

uint32_t rill_log_cid(void)
{
    if (cid_key() < 0 || !st_thread_self()) return 0;
    return (uint32_t)(uintptr_t)st_thread_getspecific(g_key);
}

void rill_log_set_cid(uint32_t cid)
{
    if (cid_key() < 0 || !st_thread_self()) return;
    st_thread_setspecific(g_key, (void *)(uintptr_t)cid);
}

uint32_t rill_log_new_cid(void) { return g_next_cid++; }

void rill_log(int level, const char *fmt, ...)
{
    if (level < g_level) return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    /* static, not on the stack: every coroutine that logs would otherwise
     * keep these pages resident; logging never yields, so one buffer serves */
    static char line[4096];
    int n = snprintf(line, sizeof line, "[%04d-%02d-%02d %02d:%02d:%02d.%03d][%s][%u] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (int)(tv.tv_usec / 1000), level_names[level], rill_log_cid());
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0) m = 0;
    size_t len = (size_t)n + ((size_t)m < sizeof line - (size_t)n - 1 ? (size_t)m : sizeof line - (size_t)n - 2);
    line[len++] = '\n';
    fwrite(line, 1, len, g_file ? g_file : stderr);
}
