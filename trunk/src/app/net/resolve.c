#include "resolve.h"
#include "rill_error.h"
#include "rill_time.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define CACHE_SLOTS 64

/* An answer kept until its TTL (or valid=) runs out. */
typedef struct cached {
    char host[254];
    resolve_addrs_t addrs;
    int64_t until_ms;
} cached_t;

/* The settings of the running config (resolve_configure), and the answers. */
static struct {
    char servers[512];
    int timeout_ms;
    int valid_ms;
    int lib_ready;
    uint32_t forgotten;         /* counts resolve_forget: an answer to a lookup begun before one is not kept */
    cached_t cache[CACHE_SLOTS];
} g = { .servers = "", .timeout_ms = RESOLVE_TIMEOUT_MS, .valid_ms = RESOLVE_VALID_TTL };

int resolve_configure(const char *servers, int timeout_ms, int valid_ms)
{
    if (timeout_ms <= 0 || valid_ms < RESOLVE_VALID_TTL || (servers && strlen(servers) >= sizeof g.servers))
        return RILL_ERR_INVAL;
    /* other servers, or another rule: what they said before is forgotten */
    if (strcmp(g.servers, servers ? servers : "") || g.valid_ms != valid_ms) resolve_forget();
    snprintf(g.servers, sizeof g.servers, "%s", servers ? servers : "");
    g.timeout_ms = timeout_ms;
    g.valid_ms = valid_ms;
    return 0;
}

void resolve_forget(void)
{
    memset(g.cache, 0, sizeof g.cache);
    g.forgotten++;
}

static const cached_t *cache_find(const char *host, int64_t now)
{
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (g.cache[i].until_ms > now && !strcasecmp(g.cache[i].host, host)) return &g.cache[i];
    return NULL;
}

/* Keep an answer for ttl_ms, in the slot of the same name, else a free or
 * expired one, else the one that expires first. */
static void cache_put(const char *host, const resolve_addrs_t *a, int64_t ttl_ms, int64_t now)
{
    cached_t *slot = &g.cache[0];
    for (int i = 0; i < CACHE_SLOTS; i++) {
        cached_t *c = &g.cache[i];
        if (!strcasecmp(c->host, host)) {
            slot = c;
            break;
        }
        if (c->until_ms < slot->until_ms) slot = c;
    }
    snprintf(slot->host, sizeof slot->host, "%s", host);
    slot->addrs = *a;
    slot->until_ms = now + ttl_ms;
}

typedef struct lookup {
    int done;
    int status;
    int ttl;                    /* s: the shortest TTL of the addresses kept */
    resolve_addrs_t *out;
} lookup_t;

static void add_addr(resolve_addrs_t *out, const struct in_addr *a)
{
    char ip[16];
    inet_ntop(AF_INET, a, ip, sizeof ip);
    for (int i = 0; i < out->n; i++)
        if (!strcmp(out->ip[i], ip)) return;
    if (out->n < RESOLVE_MAX) snprintf(out->ip[out->n++], sizeof out->ip[0], "%s", ip);
}

/* c-ares calls this from ares_process_fd (or ares_destroy) in our own
 * coroutine: l lives on the stack of resolve_host, which is still there. */
static void on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    lookup_t *l = arg;
    l->done = 1;
    l->status = status;
    for (struct ares_addrinfo_node *n = res ? res->nodes : NULL; status == ARES_SUCCESS && n; n = n->ai_next) {
        if (n->ai_family != AF_INET) continue;
        add_addr(l->out, &((struct sockaddr_in *)n->ai_addr)->sin_addr);
        if (l->ttl < 0 || n->ai_ttl < l->ttl) l->ttl = n->ai_ttl > 0 ? n->ai_ttl : 0;
    }
    if (res) ares_freeaddrinfo(res);
}

/* Wait on c-ares' sockets (st_poll lets every other coroutine run) and on
 * its next timer, until the answer, the deadline or an interrupt. */
static int drive(ares_channel ch, lookup_t *l, st_utime_t deadline)
{
    for (int round = 0; !l->done; round++) {
        st_utime_t now = st_utime();
        if (now >= deadline || round > 10000) return RILL_ERR_TIMEOUT;
        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        /* c-ares' ARES_GETSOCK_WRITABLE shifts a signed 1 by up to 31: test the bits unsigned */
        unsigned bits = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
        struct pollfd pfd[ARES_GETSOCK_MAXNUM];
        int n = 0;
        for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
            short ev = (short)((((bits >> i) & 1u) ? POLLIN : 0) |
                               (((bits >> (i + ARES_GETSOCK_MAXNUM)) & 1u) ? POLLOUT : 0));
            if (!ev) continue;
            pfd[n].fd = socks[i];
            pfd[n].events = ev;
            pfd[n].revents = 0;
            n++;
        }
        st_utime_t left = deadline - now;
        struct timeval max = { (time_t)(left / 1000000), (suseconds_t)(left % 1000000) }, tv;
        struct timeval *t = ares_timeout(ch, &max, &tv);
        st_utime_t wait = (st_utime_t)t->tv_sec * 1000000 + (st_utime_t)t->tv_usec;
        int r = n ? st_poll(pfd, n, wait) : st_usleep(wait);
        if (r < 0) return errno == EINTR ? RILL_ERR_INTERRUPTED : RILL_ERR_IO;
        if (r == 0 || !n) {
            ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);     /* its timers */
            continue;
        }
        for (int i = 0; i < n && !l->done; i++) {
            ares_socket_t rd = (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) ? pfd[i].fd : ARES_SOCKET_BAD;
            ares_socket_t wr = (pfd[i].revents & POLLOUT) ? pfd[i].fd : ARES_SOCKET_BAD;
            if (rd != ARES_SOCKET_BAD || wr != ARES_SOCKET_BAD) ares_process_fd(ch, rd, wr);
        }
    }
    return 0;
}

static int fail(resolve_addrs_t *out, int rc, const char *why)
{
    out->n = 0;
    snprintf(out->why, sizeof out->why, "%s", why);
    return rc;
}

int resolve_host(const char *host, st_utime_t timeout, resolve_addrs_t *out)
{
    memset(out, 0, sizeof *out);
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) == 1) {
        add_addr(out, &a);
        return 0;
    }
    if (!host[0] || strlen(host) > 253) return fail(out, RILL_ERR_RESOLVE, "not a host name");
    const cached_t *hit = cache_find(host, rill_now_ms());
    if (hit) {
        *out = hit->addrs;
        return 0;
    }
    if (!g.lib_ready) {
        if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) return fail(out, RILL_ERR_NOMEM, "c-ares init");
        g.lib_ready = 1;
    }
    st_utime_t budget = (st_utime_t)g.timeout_ms * 1000;
    if (timeout < budget) budget = timeout;
    st_utime_t deadline = st_utime() + budget;

    struct ares_options o;
    memset(&o, 0, sizeof o);
    /* files first (/etc/hosts), then DNS; two tries per server within the budget */
    o.lookups = (char *)"fb";
    o.tries = 2;
    o.timeout = (int)(budget / 2000) > 50 ? (int)(budget / 2000) : 50;
    ares_channel ch;
    int st = ares_init_options(&ch, &o, ARES_OPT_LOOKUPS | ARES_OPT_TRIES | ARES_OPT_TIMEOUTMS);
    if (st != ARES_SUCCESS) return fail(out, st == ARES_ENOMEM ? RILL_ERR_NOMEM : RILL_ERR_RESOLVE, ares_strerror(st));
    if (g.servers[0] && (st = ares_set_servers_ports_csv(ch, g.servers)) != ARES_SUCCESS) {
        ares_destroy(ch);
        return fail(out, RILL_ERR_RESOLVE, ares_strerror(st));
    }
    uint32_t forgotten = g.forgotten;
    lookup_t l = { 0, ARES_SUCCESS, -1, out };
    struct ares_addrinfo_hints hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    ares_getaddrinfo(ch, host, NULL, &hints, on_answer, &l);
    int rc = drive(ch, &l, deadline);
    ares_destroy(ch);           /* a lookup still running ends here (ARES_EDESTRUCTION) */
    if (rc == RILL_ERR_TIMEOUT) return fail(out, rc, "no answer in time (resolver_timeout)");
    if (rc) return fail(out, rc, rill_strerror(rc));
    if (l.status != ARES_SUCCESS) return fail(out, RILL_ERR_RESOLVE, ares_strerror(l.status));
    if (!out->n) return fail(out, RILL_ERR_RESOLVE, "no IPv4 address");
    int64_t keep = g.valid_ms >= 0 ? g.valid_ms : (int64_t)(l.ttl > 0 ? l.ttl : 0) * 1000;
    /* a reload that changed the resolver while this one waited: it was asked under the old settings */
    if (keep > 0 && forgotten == g.forgotten) cache_put(host, out, keep, rill_now_ms());
    return 0;
}
