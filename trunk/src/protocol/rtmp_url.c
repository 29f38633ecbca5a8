#include "rtmp_url.h"
#include "rill_error.h"

#include <stdlib.h>
#include <string.h>

static int copy(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap) return RILL_ERR_INVAL;
    memcpy(dst, src, n);
    dst[n] = 0;
    return 0;
}

int rtmp_split_param(const char *in, char *name, size_t name_len, char *param, size_t param_len)
{
    const char *q = strchr(in, '?');
    size_t n = q ? (size_t)(q - in) : strlen(in);
    if (copy(name, name_len, in, n)) return RILL_ERR_INVAL;
    return copy(param, param_len, q ? q : "", q ? strlen(q) : 0);
}

int rtmp_url_parse(const char *url, rtmp_url_t *out)
{
    memset(out, 0, sizeof(*out));
    out->port = 1935;
    if (strncmp(url, "rtmp://", 7) != 0) return RILL_ERR_INVAL;
    const char *p = url + 7;
    size_t hl = strcspn(p, ":/?");
    if (hl == 0 || copy(out->host, sizeof out->host, p, hl)) return RILL_ERR_INVAL;
    p += hl;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535) return RILL_ERR_INVAL;
        out->port = (int)port;
        p = end;
    }
    if (*p == '/') p++;
    /* app is the first path segment; the rest (if any) is the stream */
    size_t al = strcspn(p, "/?");
    if (copy(out->app, sizeof out->app, p, al)) return RILL_ERR_INVAL;
    p += al;
    if (*p == '/') {
        p++;
        size_t sl = strcspn(p, "?");
        if (copy(out->stream, sizeof out->stream, p, sl)) return RILL_ERR_INVAL;
        p += sl;
    }
    return copy(out->param, sizeof out->param, p, strlen(p));
}

int rtmp_param_get(const char *param, const char *key, char *out, size_t out_len)
{
    size_t kl = strlen(key);
    const char *p = param;
    while (p && *p) {
        while (*p == '?' || *p == '&') p++;
        size_t len = strcspn(p, "&?");
        if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            return copy(out, out_len, p + kl + 1, len - kl - 1) == 0;
        }
        p += len;
    }
    return 0;
}
