#include "rill_proc.h"
#include "rill_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int rill_proc_parse_stat(const char *text, long clk_tck, long page_size, rill_proc_t *out)
{
    memset(out, 0, sizeof *out);
    /* The command name (field 2) may hold spaces and ')': fields start after the last ')'. */
    const char *p = strrchr(text, ')');
    if (!p || clk_tck <= 0) return RILL_ERR_SYSTEM;
    p++;
    /* field 3 is the state; count from there */
    unsigned long long v[24] = { 0 };
    int field = 3;
    while (*p && field <= 24) {
        while (*p == ' ') p++;
        if (!*p) break;
        char *end;
        if (field == 3) {
            end = (char *)p + strcspn(p, " ");
        } else {
            v[field - 1] = strtoull(p, &end, 10);
            if (end == p) return RILL_ERR_SYSTEM;
        }
        p = end;
        field++;
    }
    if (field <= 24) return RILL_ERR_SYSTEM;
    out->ppid = (int)v[3];
    out->cpu_seconds = (double)(v[13] + v[14]) / (double)clk_tck;   /* utime, stime */
    out->threads = (int)v[19];
    out->vsize_bytes = v[22];
    out->rss_bytes = v[23] * (unsigned long long)page_size;
    return 0;
}

int rill_proc_self(rill_proc_t *out)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    if (!f) return RILL_ERR_SYSTEM;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return rill_proc_parse_stat(buf, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), out);
}
