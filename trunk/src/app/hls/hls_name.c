#include "hls_name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hls_name_render(const char *tmpl, const char *vhost, const char *app, const char *stream, char *out,
                    size_t len)
{
    size_t o = 0;
    for (const char *p = tmpl; *p;) {
        const char *v = NULL;
        size_t skip = 1;
        if (!strncmp(p, "[vhost]", 7)) v = vhost, skip = 7;
        else if (!strncmp(p, "[app]", 5)) v = app, skip = 5;
        else if (!strncmp(p, "[stream]", 8)) v = stream, skip = 8;
        size_t n = v ? strlen(v) : 1;
        if (o + n + 1 > len) return -1;
        memcpy(out + o, v ? v : p, n);
        o += n;
        p += skip;
    }
    out[o] = 0;
    return 0;
}

enum { V_NONE, V_VHOST, V_APP, V_STREAM, V_SEQ };

static int var_at(const char *t, size_t *skip)
{
    if (!strncmp(t, "[vhost]", 7)) return *skip = 7, V_VHOST;
    if (!strncmp(t, "[app]", 5)) return *skip = 5, V_APP;
    if (!strncmp(t, "[stream]", 8)) return *skip = 8, V_STREAM;
    if (!strncmp(t, "[seq]", 5)) return *skip = 5, V_SEQ;
    return V_NONE;
}

static int capture(hls_name_t *o, int var, const char *s, size_t n)
{
    char *dst = var == V_VHOST ? o->vhost : var == V_APP ? o->app : var == V_STREAM ? o->stream : NULL;
    if (dst) {
        if (n >= 256) return 0;
        memcpy(dst, s, n);
        dst[n] = 0;
        if (var == V_VHOST) o->has_vhost = 1;
        return 1;
    }
    if (n > 19) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v * 10 + (uint64_t)(s[i] - '0');
    o->seq = v;
    o->has_seq = 1;
    return 1;
}

/* Backtracking over at most a few variables in a short path. */
static int match(const char *t, const char *s, hls_name_t *o, int depth)
{
    if (depth > 8) return 0;
    while (*t) {
        size_t skip;
        int var = var_at(t, &skip);
        if (var == V_NONE) {
            if (*t != *s) return 0;
            t++, s++;
            continue;
        }
        /* shortest first, so "[stream]-[seq].ts" gives "-" to the literal after
         * the stream; no longer than a capture can be, which bounds the
         * backtracking a hostile path can cause */
        size_t most = var == V_SEQ ? 19 : 255;
        for (size_t n = 1; n <= most && s[n - 1] && s[n - 1] != '/'; n++) {
            if (var == V_SEQ && (s[n - 1] < '0' || s[n - 1] > '9')) break;
            if (match(t + skip, s + n, o, depth + 1) && capture(o, var, s, n)) return 1;
        }
        return 0;
    }
    return *s == 0;
}

int hls_name_match(const char *tmpl, const char *path, hls_name_t *out)
{
    memset(out, 0, sizeof *out);
    if (strlen(path) > 1024) return 0;  /* names are at most 3 x 255 plus the template */
    if (!match(tmpl, path, out, 0)) return 0;
    if (!strstr(tmpl, "[app]")) {
        size_t n = strcspn(path, "/");
        if (!path[n] || n == 0 || n >= sizeof out->app) return 0;
        memcpy(out->app, path, n);
        out->app[n] = 0;
    }
    return 1;
}

int hls_name_file_safe(const char *rendered)
{
    if (!rendered[0] || rendered[0] == '/') return 0;
    for (const char *seg = rendered; seg;) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) return 0;
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)seg[i];
            if (ch < 0x20 || ch == 0x7f || ch == '\\') return 0;
        }
        seg = end ? end + 1 : NULL;
    }
    return 1;
}
