#include "http_mount.h"
#include "rill_error.h"

#include <string.h>

static const char *skip_vhost(const char *mount)
{
    if (strncmp(mount, "[vhost]", 7) == 0) mount += 7;
    return mount;
}

int http_mount_valid(const char *mount)
{
    const char *m = skip_vhost(mount);
    return strstr(m, "[stream]") != NULL && strstr(m, "[vhost]") == NULL;
}

/* Match from here on; a placeholder takes a non-empty run without '/', the
 * longest for which the rest matches (so "a.b.flv" gives stream "a.b"). */
static int match(const char *m, const char *p, http_mount_match_t *out)
{
    while (*m) {
        char *dst = NULL;
        size_t cap = 0, skip = 0;
        if (!strncmp(m, "[app]", 5)) {
            dst = out->app;
            cap = sizeof out->app;
            skip = 5;
        } else if (!strncmp(m, "[stream]", 8)) {
            dst = out->stream;
            cap = sizeof out->stream;
            skip = 8;
        }
        if (!dst) {
            if (*m != *p) return 0;
            m++;
            p++;
            continue;
        }
        size_t run = strcspn(p, "/");
        for (size_t n = run; n >= 1; n--) {
            if (n >= cap) continue;
            if (match(m + skip, p + n, out)) {
                memcpy(dst, p, n);
                dst[n] = 0;
                return 1;
            }
        }
        return 0;
    }
    return *p == 0;
}

int http_mount_match(const char *mount, const char *path, http_mount_match_t *out)
{
    if (!http_mount_valid(mount)) return RILL_ERR_INVAL;
    memset(out, 0, sizeof(*out));
    const char *m = skip_vhost(mount);
    /* "[vhost]/[app]/..." and "/[app]/..." both mean a path from the root */
    if (*m != '/' && *path == '/') path++;
    return match(m, path, out);
}
