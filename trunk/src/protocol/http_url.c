#include "http_url.h"
#include "rill_error.h"

#include <arpa/inet.h>
#include <http_parser.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int http_percent_decode(const char *in, size_t n, char *out, int plus_space)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '%') {
            if (n - i < 3) return RILL_ERR_HTTP;
            int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
            if (hi < 0 || lo < 0) return RILL_ERR_HTTP;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        /* A NUL would cut the string short for every later check. */
        if (c == '\0') return RILL_ERR_HTTP;
        out[o++] = c;
    }
    out[o] = '\0';
    return (int)o;
}

/* Whether any '/'-separated segment of s is exactly "..". */
static int has_dotdot(const char *s)
{
    const char *seg = s;
    for (const char *p = s;; p++) {
        if (*p == '/' || *p == '\0') {
            if (p - seg == 2 && seg[0] == '.' && seg[1] == '.') return 1;
            if (*p == '\0') return 0;
            seg = p + 1;
        }
    }
}

int http_path_is_safe(const char *raw, const char *decoded)
{
    if (!raw || !decoded || raw[0] != '/' || decoded[0] != '/') return 0;
    if (strchr(raw, '\\') || strchr(decoded, '\\')) return 0;
    /* An encoded separator would make a new segment only after decoding. */
    if (strcasestr(raw, "%2f") || strcasestr(raw, "%5c")) return 0;
    return !has_dotdot(raw) && !has_dotdot(decoded);
}

int http_query_get(const char *query, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    const char *p = query;
    while (p && *p) {
        const char *end = strchr(p, '&');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', plen);
        size_t klen = eq ? (size_t)(eq - p) : plen;
        char key[256];
        if (klen < sizeof key) {
            int k = http_percent_decode(p, klen, key, 1);
            if (k == (int)nlen && memcmp(key, name, nlen) == 0) {
                const char *v = eq ? eq + 1 : p + plen;
                size_t vlen = eq ? plen - klen - 1 : 0;
                if (vlen + 1 > outlen) return RILL_ERR_LIMIT;
                int r = http_percent_decode(v, vlen, out, 1);
                return r < 0 ? r : 1;
            }
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static int url_fail(const char **why, const char *reason)
{
    if (why) *why = reason;
    return RILL_ERR_URL;
}

int host_name_valid(const char *s)
{
    size_t len = strlen(s), label = 0;
    if (len == 0 || len > 253) return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '.') {
            if (label == 0 || s[i - 1] == '-') return 0;
            label = 0;
            continue;
        }
        int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && !(ch == '-' && label > 0) && ch != '_') return 0;
        if (++label > 63) return 0;
    }
    return label > 0 && s[len - 1] != '-';
}

int http_dial_url_parse(const char *url, http_dial_url_t *u, const char **why)
{
    memset(u, 0, sizeof *u);
    size_t len = strlen(url);
    if (len >= sizeof u->target) return url_fail(why, "url too long");
    struct http_parser_url pu;
    http_parser_url_init(&pu);
    if (http_parser_parse_url(url, len, 0, &pu) != 0) return url_fail(why, "malformed url");
    if (!(pu.field_set & (1 << UF_SCHEMA))) return url_fail(why, "not an absolute http:// url");
    const char *scheme = url + pu.field_data[UF_SCHEMA].off;
    size_t slen = pu.field_data[UF_SCHEMA].len;
    if (slen == 5 && strncasecmp(scheme, "https", 5) == 0)
        return url_fail(why, "https is not supported (no TLS in the client): use http://");
    if (!(slen == 4 && strncasecmp(scheme, "http", 4) == 0)) return url_fail(why, "only http:// urls");
    if (pu.field_set & (1 << UF_USERINFO)) return url_fail(why, "user info in urls is not supported");
    if (!(pu.field_set & (1 << UF_HOST)) || pu.field_data[UF_HOST].len == 0) return url_fail(why, "no host");
    size_t hlen = pu.field_data[UF_HOST].len;
    if (hlen >= sizeof u->host) return url_fail(why, "host too long");
    memcpy(u->host, url + pu.field_data[UF_HOST].off, hlen);
    u->host[hlen] = '\0';

    struct in_addr a;
    if (strcasecmp(u->host, "localhost") == 0) {
        strcpy(u->ip, "127.0.0.1");
    } else if (inet_pton(AF_INET, u->host, &a) == 1) {
        inet_ntop(AF_INET, &a, u->ip, sizeof u->ip);
    } else if (!host_name_valid(u->host)) {
        return url_fail(why, "host is neither an IPv4 address nor a host name");
    }   /* else a name, ip left empty: looked up when the request is made */
    u->port = (pu.field_set & (1 << UF_PORT)) ? pu.port : 80;
    if (u->port <= 0) return url_fail(why, "bad port");

    size_t o = 0;
    if (pu.field_set & (1 << UF_PATH)) {
        memcpy(u->target, url + pu.field_data[UF_PATH].off, pu.field_data[UF_PATH].len);
        o = pu.field_data[UF_PATH].len;
    } else {
        u->target[o++] = '/';
    }
    if (pu.field_set & (1 << UF_QUERY)) {
        u->target[o++] = '?';
        memcpy(u->target + o, url + pu.field_data[UF_QUERY].off, pu.field_data[UF_QUERY].len);
        o += pu.field_data[UF_QUERY].len;
    }
    u->target[o] = '\0';
    return 0;
}
