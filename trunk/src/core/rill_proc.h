/* This process as the kernel sees it (/proc/self): CPU time and resident
 * memory, for the API's summaries and the metrics. */
#ifndef RILL_PROC_H
#define RILL_PROC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rill_proc {
    double cpu_seconds;     /* user + system */
    uint64_t rss_bytes;
    uint64_t vsize_bytes;
    int ppid;
    int threads;
} rill_proc_t;

/* 0, or RILL_ERR_SYSTEM when /proc/self/stat cannot be read or parsed. */
int rill_proc_self(rill_proc_t *out);
/* Parse the text of a /proc/PID/stat file (for tests). */
int rill_proc_parse_stat(const char *text, long clk_tck, long page_size, rill_proc_t *out);

#ifdef __cplusplus
}
#endif
#endif
