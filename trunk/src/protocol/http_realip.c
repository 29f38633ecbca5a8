#include "http_realip.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* A recursive walk looks at this many addresses at most: the chain of
 * trusted proxies in front of a server is short, and the rest of a long
 * header is the client's own to fill. */
#define MAX_HOPS 32

static const uint8_t V4_MAPPED[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Text to family + bytes; an IPv4-mapped IPv6 address becomes IPv4. */
static int to_bin(const char *s, int *family, uint8_t addr[16])
{
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, s, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, s, addr) != 1) return -1;
    if (memcmp(addr, V4_MAPPED, sizeof V4_MAPPED) == 0) {
        memmove(addr, addr + 12, 4);
        memset(addr + 4, 0, 12);
        *family = AF_INET;
        return 0;
    }
    *family = AF_INET6;
    return 0;
}

int realip_cidr_parse(const char *s, realip_cidr_t *out)
{
    char a[REALIP_MAX_ADDR];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof a) return -1;
    memcpy(a, s, n);
    a[n] = 0;
    memset(out, 0, sizeof *out);
    if (to_bin(a, &out->family, out->addr)) return -1;
    int max = out->family == AF_INET ? 32 : 128;
    /* a mapped address written in IPv6 form keeps an IPv6 prefix length */
    if (out->family == AF_INET && strchr(a, ':')) max = 128;
    int bits = max;
    if (slash) {
        const char *d = slash + 1;
        if (!*d || strlen(d) > 3) return -1;
        bits = 0;
        for (; *d; d++) {
            if (*d < '0' || *d > '9') return -1;
            bits = bits * 10 + (*d - '0');
        }
        if (bits > max) return -1;
    }
    if (max == 128 && out->family == AF_INET) {
        if (bits < 96) return -1;               /* wider than the mapped range */
        bits -= 96;
    }
    out->bits = bits;
    int dirty = 0;
    for (int i = 0; i < 16; i++) {
        int keep = bits - i * 8;
        uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
        if (out->addr[i] & ~mask) dirty = 1;
        out->addr[i] &= mask;
    }
    return dirty;
}

static int in_range(const realip_cidr_t *r, int family, const uint8_t addr[16])
{
    if (r->family != family) return 0;
    int full = r->bits / 8, rest = r->bits % 8;
    if (memcmp(r->addr, addr, (size_t)full) != 0) return 0;
    if (!rest) return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (addr[full] & mask) == r->addr[full];
}

static int trusted_bin(const realip_conf_t *rc, int family, const uint8_t addr[16])
{
    for (int i = 0; i < rc->nfrom; i++)
        if (in_range(&rc->from[i], family, addr)) return 1;
    return 0;
}

int realip_trusted(const realip_conf_t *rc, const char *ip)
{
    int family;
    uint8_t addr[16];
    if (!rc || !ip || to_bin(ip, &family, addr)) return 0;
    return trusted_bin(rc, family, addr);
}

/* A port in decimal, 1..65535. */
static int parse_port(const char *s, int *port)
{
    if (!*s || strlen(s) > 5) return -1;
    int v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (*s - '0');
    }
    if (v < 1 || v > 65535) return -1;
    *port = v;
    return 0;
}

/* One address token, p[0..n) with no spaces around it: "IPv4", "IPv4:port",
 * "IPv6", "[IPv6]" or "[IPv6]:port". */
static int parse_addr(const char *p, size_t n, realip_addr_t *out, int *family, uint8_t bin[16])
{
    char t[REALIP_MAX_ADDR + 1];
    if (n == 0 || n > REALIP_MAX_ADDR) return -1;
    memcpy(t, p, n);
    t[n] = 0;
    if (memchr(t, 0, n)) return -1;
    char *host = t, *port = NULL;
    if (t[0] == '[') {
        char *close = strchr(t, ']');
        if (!close) return -1;
        *close = 0;
        host = t + 1;
        if (close[1] == ':') port = close + 2;
        else if (close[1]) return -1;
        if (!strchr(host, ':')) return -1;      /* brackets only around IPv6 */
    } else {
        char *colon = strchr(t, ':');
        if (colon && !strchr(colon + 1, ':')) {  /* exactly one: IPv4:port */
            *colon = 0;
            port = colon + 1;
        }
    }
    out->port = 0;
    if (port && parse_port(port, &out->port)) return -1;
    if (to_bin(host, family, bin)) return -1;
    if (!inet_ntop(*family, bin, out->ip, sizeof out->ip)) return -1;
    return 0;
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* Reads a list spread over several header lines from the right: the last
 * token of the last line first. */
typedef struct cursor {
    const http_message_t *m;
    const char *name;
    int line;                   /* the header index being read, -1: none left */
    size_t end;                 /* what is left of that line's value: [0, end) */
} cursor_t;

static void prev_line(cursor_t *c, int from)
{
    for (c->line = from - 1; c->line >= 0; c->line--) {
        const http_header_t *h = &c->m->headers[c->line];
        if (h->name && h->value && strcasecmp(h->name, c->name) == 0) {
            c->end = strlen(h->value);
            return;
        }
    }
}

/* The next token to the left: 1 with [*p, *p + *n), 0 when none is left. */
static int next_token(cursor_t *c, const char **p, size_t *n)
{
    while (c->line >= 0) {
        const char *v = c->m->headers[c->line].value;
        size_t e = c->end;
        while (e > 0 && (is_space(v[e - 1]) || v[e - 1] == ',')) e--;
        if (e == 0) {
            prev_line(c, c->line);
            continue;
        }
        size_t s = e;
        while (s > 0 && v[s - 1] != ',') s--;
        c->end = s;
        while (s < e && is_space(v[s])) s++;
        *p = v + s;
        *n = e - s;
        return 1;
    }
    return 0;
}

int realip_resolve(const realip_conf_t *rc, const http_message_t *m, const char *sock_ip, realip_addr_t *out,
                   const char **why)
{
    static const char *no_why;
    if (!why) why = &no_why;
    *why = NULL;
    if (!rc || rc->nfrom == 0 || !realip_trusted(rc, sock_ip)) return REALIP_SOCKET;
    const char *name = rc->header[0] ? rc->header : REALIP_DEFAULT_HEADER;
    cursor_t c = { .m = m, .name = name, .line = -1, .end = 0 };
    prev_line(&c, m->nheaders);
    if (c.line < 0) return REALIP_SOCKET;
    int family;
    uint8_t bin[16];
    const char *p;
    size_t n;

    if (strcasecmp(name, "X-Forwarded-For") != 0) {
        /* one address, one line */
        int first = c.line;
        prev_line(&c, first);
        if (c.line >= 0) {
            *why = "the header is repeated";
            return REALIP_BAD;
        }
        const char *v = m->headers[first].value;
        size_t s = 0, e = strlen(v);
        while (s < e && is_space(v[s])) s++;
        while (e > s && is_space(v[e - 1])) e--;
        if (e == s) {
            *why = "the header is empty";
            return REALIP_BAD;
        }
        if (parse_addr(v + s, e - s, out, &family, bin)) {
            *why = e - s > REALIP_MAX_ADDR ? "the header is too long" : "not an address";
            return REALIP_BAD;
        }
        return REALIP_HEADER;
    }

    if (!next_token(&c, &p, &n)) {
        *why = "the header is empty";
        return REALIP_BAD;
    }
    if (parse_addr(p, n, out, &family, bin)) {
        *why = n > REALIP_MAX_ADDR ? "its last address is too long" : "its last entry is not an address";
        return REALIP_BAD;
    }
    if (!rc->recursive) return REALIP_HEADER;
    for (int hops = 1; hops < MAX_HOPS && trusted_bin(rc, family, bin); hops++) {
        realip_addr_t a;
        int f;
        uint8_t b[16];
        if (!next_token(&c, &p, &n) || parse_addr(p, n, &a, &f, b)) break;
        *out = a;
        family = f;
        memcpy(bin, b, sizeof bin);
    }
    return REALIP_HEADER;
}
