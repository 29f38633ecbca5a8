/* The config model: walks the directive tree with one table per block level.
 * A table entry with a handler is implemented by rill; an entry without one
 * is a directive SRS documents that rill does not implement yet: it is warned
 * about and ignored (with its block). Anything not in a table is refused, so
 * a typo never silently falls back to a default. */
#include "config.h"
#include "conf_parser.h"
#include "http_mount.h"
#include "http_url.h"
#include "rill_error.h"
#include "rill_log.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_VHOST "__defaultVhost__"

/* Defaults (SRS's, unless marked rill's own). */
#define DEF_PORT              1935
#define DEF_MAX_CONNECTIONS   1000
#define DEF_PID_FILE          "./objs/rill.pid"
#define DEF_LOG_FILE          "./objs/rill.log"
#define DEF_CHUNK_SIZE        60000
#define DEF_RESOLVER_TIMEOUT  2000   /* = RESOLVE_TIMEOUT_MS */
#define DEF_RESOLVER_VALID    (-1)   /* nginx's: an answer is kept for its TTL */
#define MAX_RESOLVER_VALID_MS (86400L * 1000)
#define DEF_QUEUE_LENGTH      30.0
#define DEF_QUEUE_BYTES       (64ull << 20) /* rill's own: a 10 s GOP at 50 Mbit/s fits */
#define DEF_INPUT_BUDGET      (1ull << 30)  /* rill's own: partial RTMP messages, all connections */
#define DEF_MW_LATENCY        350     /* SRS_PERF_MW_SLEEP */
#define DEF_MW_MSGS           8       /* SRS_PERF_MW_MIN_MSGS */
#define DEF_SEND_BUFFER       65536   /* rill's own */
#define DEF_FIRSTPKT_TIMEOUT  20000
#define DEF_NORMAL_TIMEOUT    5000
#define DEF_TAKEOVER_TIMEOUT  1000
#define DEF_HTTP_SERVER_PORT  8080
#define DEF_HTTP_API_PORT     1985
#define DEF_HTTP_DIR          "./objs/nginx/html"
#define DEF_HEADER_TIMEOUT    10000   /* rill's own */
#define DEF_KEEPALIVE_TIMEOUT 30000   /* rill's own */

#define DEF_BACKOFF_MIN       500     /* rill's own: first forward retry within 1 s */
#define DEF_BACKOFF_MAX       2000    /* rill's own */
#define DEF_ORIGIN_CONNECT    1000    /* rill's own, ms */
#define DEF_ORIGIN_READ       2000    /* rill's own, ms */
#define DEF_ORIGIN_BACKOFF    500     /* rill's own, ms */
#define DEF_ORIGIN_GIVE_UP    30000   /* rill's own, ms */
#define DEF_INGEST_GRACE      3000    /* rill's own, ms */
#define DEF_WAIT_STREAM       0       /* rill's own, ms: answer "not found" at once */
#define DEF_ABSENT_CACHE      2000    /* rill's own, ms */
#define DEF_CONNECT_RATE      20      /* rill's own, attempts per origin per second */
#define DEF_CONNECT_INFLIGHT  8       /* rill's own, attempts per origin at once */
#define DEF_WAITING_PER_IP    32      /* rill's own, plays */
#define DEF_SILENCE_FACTOR    4       /* rill's own: times the longest recent gap */
#define DEF_SILENCE_MIN       300     /* rill's own, ms */
#define DEF_REMUX_MOUNT       "[vhost]/[app]/[stream].flv"
#define DEF_REPUBLISH_TIMEOUT 10000   /* rill's own, ms */
#define DEF_HOOKS_TIMEOUT     3000    /* rill's own, ms */
#define DEF_HLS_FRAGMENT      10.0
#define DEF_HLS_WINDOW        60.0
#define DEF_HLS_TD_RATIO      1.5
#define DEF_HLS_AOF_RATIO     2.1
#define DEF_HLS_DISPOSE       120
#define DEF_HLS_M3U8_FILE     "[app]/[stream].m3u8"
#define DEF_HLS_TS_FILE       "[app]/[stream]-[seq].ts"
#define DEF_HLS_PATH          "./objs/nginx/html"

#define MAX_MW_MSGS           128     /* SRS_PERF_MW_MSGS: larger values are clamped */
#define MAX_MS                3600000 /* one hour: bounds every millisecond knob */

/* Sentinels for "not set": resolved after the whole file was read, because
 * their defaults depend on other directives (global chunk_size, min_latency). */
#define UNSET (-1)

typedef struct ctx {
    config_t *c;
    char *err;
    size_t errlen;
} ctx_t;

typedef int (*dir_fn)(ctx_t *x, const conf_directive_t *d, void *obj);

typedef struct dir_spec {
    const char *name;
    dir_fn fn;      /* NULL: SRS-only, warn and ignore */
    int multi;      /* may appear more than once in a block */
} dir_spec_t;

static int fail(ctx_t *x, const conf_directive_t *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(ctx_t *x, const conf_directive_t *d, const char *fmt, ...)
{
    if (x->err && x->errlen) {
        int n = snprintf(x->err, x->errlen, "%s:%d: ", d->file, d->line);
        if (n >= 0 && (size_t)n < x->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return RILL_ERR_CONF;
}

/* ---- value parsers ------------------------------------------------------ */

static int need_args(ctx_t *x, const conf_directive_t *d, int n)
{
    if (d->has_block) return fail(x, d, "directive '%s' takes no block", d->name);
    if (d->nargs != n)
        return fail(x, d, "directive '%s' takes %d argument%s, got %d", d->name, n, n == 1 ? "" : "s",
                    d->nargs);
    return 0;
}

/* Strict decimal integer: the whole string, no sign games, no overflow. */
static int to_int(const char *s, long min, long max, long *out)
{
    if (!(s[0] >= '0' && s[0] <= '9') && !(s[0] == '-' && s[1] >= '0' && s[1] <= '9')) return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end) return -1;
    if (errno == ERANGE || v < min || v > max) return -2;
    *out = (long)v;
    return 0;
}

static int arg_int(ctx_t *x, const conf_directive_t *d, long min, long max, int *out)
{
    int rc = need_args(x, d, 1);
    if (rc) return rc;
    long v;
    int r = to_int(d->args[0], min, max, &v);
    if (r == -1) return fail(x, d, "%s '%s' is not a number", d->name, d->args[0]);
    if (r == -2) return fail(x, d, "%s '%s' is out of range %ld..%ld", d->name, d->args[0], min, max);
    *out = (int)v;
    return 0;
}

/* A byte count as nginx writes sizes: digits, then k, m or g (powers of
 * 1024) or nothing. */
static int arg_bytes(ctx_t *x, const conf_directive_t *d, uint64_t min, uint64_t max, uint64_t *out)
{
    int rc = need_args(x, d, 1);
    if (rc) return rc;
    const char *a = d->args[0];
    uint64_t v = 0;
    size_t i = 0;
    for (; a[i] >= '0' && a[i] <= '9'; i++) {
        if (v > (UINT64_MAX - 9) / 10) return fail(x, d, "%s '%s' is out of range", d->name, a);
        v = v * 10 + (uint64_t)(a[i] - '0');
    }
    unsigned shift = 0;
    if (i > 0 && a[i] && !a[i + 1]) {
        switch (a[i]) {
        case 'k': case 'K': shift = 10; i++; break;
        case 'm': case 'M': shift = 20; i++; break;
        case 'g': case 'G': shift = 30; i++; break;
        }
    }
    if (i == 0 || a[i]) return fail(x, d, "%s '%s' is not a size (bytes, or a number with k, m or g)", d->name, a);
    if (v > (max >> shift) || (v << shift) < min)
        return fail(x, d, "%s '%s' is out of range %llu..%llu bytes", d->name, a, (unsigned long long)min,
                    (unsigned long long)max);
    *out = v << shift;
    return 0;
}

static int arg_onoff(ctx_t *x, const conf_directive_t *d, int *out)
{
    int rc = need_args(x, d, 1);
    if (rc) return rc;
    if (strcmp(d->args[0], "on") == 0) *out = 1;
    else if (strcmp(d->args[0], "off") == 0) *out = 0;
    else return fail(x, d, "%s '%s' must be on or off", d->name, d->args[0]);
    return 0;
}

static int arg_path(ctx_t *x, const conf_directive_t *d, char **out)
{
    int rc = need_args(x, d, 1);
    if (rc) return rc;
    if (!d->args[0][0]) return fail(x, d, "%s '' must not be empty", d->name);
    char *s = strdup(d->args[0]);
    if (!s) return RILL_ERR_NOMEM;
    free(*out);
    *out = s;
    return 0;
}

/* "port", "ip:port" or "[ipv6]:port". */
static int parse_listen(const char *s, listen_conf_t *l)
{
    const char *port = s;
    size_t iplen = 0;
    const char *ip = NULL;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') return -1;
        ip = s + 1;
        iplen = (size_t)(close - ip);
        port = close + 2;
    } else {
        const char *colon = strchr(s, ':');
        if (colon) {
            if (strchr(colon + 1, ':')) return -1;  /* bare IPv6 needs brackets */
            ip = s;
            iplen = (size_t)(colon - s);
            port = colon + 1;
        }
    }
    long p;
    if (to_int(port, 1, 65535, &p)) return -1;
    if (!ip) {
        strcpy(l->ip, "0.0.0.0");
    } else {
        if (iplen == 0 || iplen >= sizeof l->ip) return -1;
        memcpy(l->ip, ip, iplen);
        l->ip[iplen] = '\0';
        unsigned char addr[16];
        if (inet_pton(AF_INET, l->ip, addr) != 1 && inet_pton(AF_INET6, l->ip, addr) != 1) return -1;
    }
    l->port = (int)p;
    return 0;
}

/* ---- walking a block ---------------------------------------------------- */

static int walk(ctx_t *x, const conf_directive_t *block, const dir_spec_t *table, void *obj)
{
    for (int i = 0; i < block->nchildren; i++) {
        const conf_directive_t *d = block->children[i];
        const dir_spec_t *spec = table;
        while (spec->name && strcmp(spec->name, d->name) != 0) spec++;
        if (!spec->name) return fail(x, d, "unknown directive '%s'", d->name);
        if (!spec->fn) {
            rill_warn("%s:%d: directive '%s' is not supported by rill yet, ignored", d->file, d->line, d->name);
            continue;
        }
        if (!spec->multi) {
            /* A second value would silently shadow the first: refuse it. */
            for (int j = 0; j < i; j++) {
                const conf_directive_t *e = block->children[j];
                if (strcmp(e->name, d->name) == 0)
                    return fail(x, d, "directive '%s' is duplicate (first at %s:%d)", d->name, e->file, e->line);
            }
        }
        int rc = spec->fn(x, d, obj);
        if (rc) return rc;
    }
    return 0;
}

static int need_block(ctx_t *x, const conf_directive_t *d, int nargs);

/* A block directive (no arguments) whose children the table dirs reads. */
#define BLOCK_DIR(fn, dirs)                                                   \
    static int fn(ctx_t *x, const conf_directive_t *d, void *o)               \
    {                                                                         \
        int rc = need_block(x, d, 0);                                         \
        return rc ? rc : walk(x, d, dirs, o);                                 \
    }

/* ---- play { } and publish { } (the vhost is the object) ------------------ */

static int play_gop_cache(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_onoff(x, d, &((vhost_conf_t *)o)->gop_cache); }

static int play_queue_length(ctx_t *x, const conf_directive_t *d, void *o)
{
    int rc = need_args(x, d, 1);
    if (rc) return rc;
    char *end;
    errno = 0;
    double v = strtod(d->args[0], &end);
    if (end == d->args[0] || *end || errno == ERANGE || !isfinite(v))
        return fail(x, d, "%s '%s' is not a number", d->name, d->args[0]);
    if (v <= 0 || v > 3600)
        return fail(x, d, "%s '%s' is out of range (0..3600] seconds", d->name, d->args[0]);
    ((vhost_conf_t *)o)->queue_length = v;
    return 0;
}

static int play_queue_bytes(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_bytes(x, d, 64 << 10, 1ull << 40, &((vhost_conf_t *)o)->queue_bytes); }

static int play_mw_latency(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_int(x, d, 0, MAX_MS, &((vhost_conf_t *)o)->mw_latency); }

static int play_mw_msgs(ctx_t *x, const conf_directive_t *d, void *o)
{
    vhost_conf_t *v = o;
    int rc = arg_int(x, d, 0, 1000000, &v->mw_msgs);
    if (rc == 0 && v->mw_msgs > MAX_MW_MSGS) {
        /* SRS clamps too, so an SRS conf with a big value still loads. */
        rill_warn("%s:%d: mw_msgs %d clamped to %d", d->file, d->line, v->mw_msgs, MAX_MW_MSGS);
        v->mw_msgs = MAX_MW_MSGS;
    }
    return rc;
}

static int play_time_jitter(ctx_t *x, const conf_directive_t *d, void *o)
{
    int rc = need_args(x, d, 1);
    if (rc) return rc;
    const char *a = d->args[0];
    int *tj = &((vhost_conf_t *)o)->time_jitter;
    if (strcmp(a, "full") == 0) *tj = JITTER_FULL;
    else if (strcmp(a, "zero") == 0) *tj = JITTER_ZERO;
    else if (strcmp(a, "off") == 0) *tj = JITTER_OFF;
    else return fail(x, d, "%s '%s' must be full, zero or off", d->name, a);
    return 0;
}

static int play_send_buffer(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_int(x, d, 4096, 16 * 1024 * 1024, &((vhost_conf_t *)o)->send_buffer); }

static int publish_firstpkt(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_int(x, d, 1, MAX_MS, &((vhost_conf_t *)o)->firstpkt_timeout); }

static int publish_normal(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_int(x, d, 1, MAX_MS, &((vhost_conf_t *)o)->normal_timeout); }

static int publish_takeover(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_int(x, d, 0, MAX_MS, &((vhost_conf_t *)o)->takeover_timeout); }

static int publish_recv_buffer(ctx_t *x, const conf_directive_t *d, void *o)
{
    int *v = &((vhost_conf_t *)o)->recv_buffer;
    /* 0 keeps the kernel's autotuned buffer */
    if (d->nargs == 1 && !strcmp(d->args[0], "0")) {
        *v = 0;
        return 0;
    }
    return arg_int(x, d, 4096, 16 * 1024 * 1024, v);
}

static const dir_spec_t play_dirs[] = {
    { "gop_cache", play_gop_cache, 0 },
    { "queue_length", play_queue_length, 0 },
    { "queue_bytes", play_queue_bytes, 0 },
    { "mw_latency", play_mw_latency, 0 },
    { "mw_msgs", play_mw_msgs, 0 },
    { "time_jitter", play_time_jitter, 0 },
    { "send_buffer", play_send_buffer, 0 },
    /* SRS-only */
    { "atc", NULL, 0 }, { "atc_auto", NULL, 0 }, { "mix_correct", NULL, 0 },
    { "reduce_sequence_header", NULL, 0 }, { "send_min_interval", NULL, 0 },
    { "gop_cache_max_frames", NULL, 0 },
    { NULL, NULL, 0 }
};

BLOCK_DIR(vhost_play, play_dirs)

static const dir_spec_t publish_dirs[] = {
    { "firstpkt_timeout", publish_firstpkt, 0 },
    { "normal_timeout", publish_normal, 0 },
    { "takeover_timeout", publish_takeover, 0 },
    { "recv_buffer", publish_recv_buffer, 0 },
    /* SRS-only */
    { "parse_sps", NULL, 0 }, { "try_annexb_first", NULL, 0 }, { "kickoff_for_idle", NULL, 0 },
    { "mr", NULL, 0 }, { "mr_latency", NULL, 0 },
    { NULL, NULL, 0 }
};

BLOCK_DIR(vhost_publish, publish_dirs)

/* ---- vhost { } ---------------------------------------------------------- */

static int need_block(ctx_t *x, const conf_directive_t *d, int nargs)
{
    if (!d->has_block) return fail(x, d, "directive '%s' needs a { } block", d->name);
    if (d->nargs != nargs)
        return fail(x, d, "directive '%s' takes %d argument%s, got %d", d->name, nargs, nargs == 1 ? "" : "s",
                    d->nargs);
    return 0;
}

static int vhost_enabled(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_onoff(x, d, &((vhost_conf_t *)o)->enabled); }

static int vhost_chunk_size(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_int(x, d, 128, 65536, &((vhost_conf_t *)o)->chunk_size); }

static int vhost_tcp_nodelay(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_onoff(x, d, &((vhost_conf_t *)o)->tcp_nodelay); }

static int vhost_min_latency(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_onoff(x, d, &((vhost_conf_t *)o)->min_latency); }

/* ---- forward { } and cluster { } -------------------------------------------- */

/* "host[:port]" -> dest_t. A name is only checked for its form here:
 * it is looked up at each connect attempt, without blocking. */
static int parse_dest(const char *s, dest_t *d)
{
    memset(d, 0, sizeof *d);
    d->port = 1935;
    const char *colon = strrchr(s, ':');
    size_t hl = colon ? (size_t)(colon - s) : strlen(s);
    if (colon) {
        long p;
        if (to_int(colon + 1, 1, 65535, &p)) return -1;
        d->port = (int)p;
    }
    if (hl == 0 || hl >= sizeof d->host) return -1;
    memcpy(d->host, s, hl);
    d->host[hl] = 0;
    struct in_addr a;
    if (inet_pton(AF_INET, d->host, &a) == 1) return 0;
    return host_name_valid(d->host) ? 0 : -2;
}

static int arg_dests(ctx_t *x, const conf_directive_t *d, dest_t **out, int *n)
{
    if (d->has_block) return fail(x, d, "directive '%s' takes no block", d->name);
    if (d->nargs < 1) return fail(x, d, "directive '%s' needs at least 1 host[:port]", d->name);
    dest_t *a = calloc((size_t)d->nargs, sizeof *a);
    if (!a) return RILL_ERR_NOMEM;
    for (int i = 0; i < d->nargs; i++) {
        int r = parse_dest(d->args[i], &a[i]);
        if (r) {
            free(a);
            return fail(x, d, r == -2 ? "%s '%s': the host is neither an IPv4 address nor a host name"
                                      : "%s '%s' is not host[:port]", d->name, d->args[i]);
        }
    }
    free(*out);
    *out = a;
    *n = d->nargs;
    return 0;
}

static int arg_url(ctx_t *x, const conf_directive_t *d, char **out)
{
    int rc = need_args(x, d, 1);
    if (rc) return rc;
    if (strncmp(d->args[0], "http://", 7) != 0) return fail(x, d, "%s '%s' must be an http:// URL", d->name, d->args[0]);
    return arg_path(x, d, out);
}

#define VH(o) ((vhost_conf_t *)(o))

static int fwd_enabled(ctx_t *x, const conf_directive_t *d, void *o) { return arg_onoff(x, d, &VH(o)->forward_enabled); }
static int fwd_destination(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_dests(x, d, &VH(o)->forward_dests, &VH(o)->nforward_dests); }
static int fwd_backend(ctx_t *x, const conf_directive_t *d, void *o) { return arg_url(x, d, &VH(o)->forward_backend); }
static int fwd_backoff_min(ctx_t *x, const conf_directive_t *d, void *o) { return arg_int(x, d, 10, 60000, &VH(o)->forward_backoff_min); }
static int fwd_backoff_max(ctx_t *x, const conf_directive_t *d, void *o) { return arg_int(x, d, 10, 600000, &VH(o)->forward_backoff_max); }

static const dir_spec_t forward_dirs[] = {
    { "enabled", fwd_enabled, 0 },
    { "destination", fwd_destination, 0 },
    { "backend", fwd_backend, 0 },
    { "backoff_min", fwd_backoff_min, 0 },
    { "backoff_max", fwd_backoff_max, 0 },
    { NULL, NULL, 0 }
};

BLOCK_DIR(vhost_forward, forward_dirs)

static int cl_mode(ctx_t *x, const conf_directive_t *d, void *o)
{
    int rc = need_args(x, d, 1);
    if (rc) return rc;
    if (!strcmp(d->args[0], "remote")) VH(o)->edge = 1;
    else if (!strcmp(d->args[0], "local")) VH(o)->edge = 0;
    else return fail(x, d, "mode '%s' must be local or remote", d->args[0]);
    return 0;
}
static int cl_origin(ctx_t *x, const conf_directive_t *d, void *o) { return arg_dests(x, d, &VH(o)->origins, &VH(o)->norigins); }
static int cl_publish_origin(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_dests(x, d, &VH(o)->publish_origins, &VH(o)->npublish_origins); }
static int cl_token_traverse(ctx_t *x, const conf_directive_t *d, void *o) { return arg_onoff(x, d, &VH(o)->token_traverse); }
static int cl_connect_timeout(ctx_t *x, const conf_directive_t *d, void *o) { return arg_int(x, d, 10, MAX_MS, &VH(o)->origin_connect_timeout); }
static int cl_read_timeout(ctx_t *x, const conf_directive_t *d, void *o) { return arg_int(x, d, 100, MAX_MS, &VH(o)->origin_read_timeout); }
static int cl_backoff(ctx_t *x, const conf_directive_t *d, void *o) { return arg_int(x, d, 0, MAX_MS, &VH(o)->origin_backoff); }
static int cl_give_up(ctx_t *x, const conf_directive_t *d, void *o) { return arg_int(x, d, 0, MAX_MS, &VH(o)->origin_give_up); }
static int cl_grace(ctx_t *x, const conf_directive_t *d, void *o) { return arg_int(x, d, 0, MAX_MS, &VH(o)->ingest_grace); }
static int cl_wait_stream(ctx_t *x, const conf_directive_t *d, void *o) { return arg_int(x, d, 0, MAX_MS, &VH(o)->origin_wait_stream); }
static int cl_absent_cache(ctx_t *x, const conf_directive_t *d, void *o) { return arg_int(x, d, 0, MAX_MS, &VH(o)->origin_absent_cache); }
static int cl_connect_rate(ctx_t *x, const conf_directive_t *d, void *o) { return arg_int(x, d, 1, 100000, &VH(o)->origin_connect_rate); }
static int cl_connect_inflight(ctx_t *x, const conf_directive_t *d, void *o) { return arg_int(x, d, 1, 100000, &VH(o)->origin_connect_inflight); }
static int cl_waiting_per_ip(ctx_t *x, const conf_directive_t *d, void *o) { return arg_int(x, d, 1, 100000, &VH(o)->waiting_plays_per_ip); }
static int cl_silence_factor(ctx_t *x, const conf_directive_t *d, void *o) { return arg_int(x, d, 0, 100, &VH(o)->origin_silence_factor); }
static int cl_redundancy(ctx_t *x, const conf_directive_t *d, void *o) { return arg_onoff(x, d, &VH(o)->origin_redundancy); }
static int cl_silence_min(ctx_t *x, const conf_directive_t *d, void *o) { return arg_int(x, d, 10, MAX_MS, &VH(o)->origin_silence_min); }

static const dir_spec_t cluster_dirs[] = {
    { "mode", cl_mode, 0 },
    { "origin", cl_origin, 0 },
    { "publish_origin", cl_publish_origin, 0 },
    { "token_traverse", cl_token_traverse, 0 },
    { "origin_connect_timeout", cl_connect_timeout, 0 },
    { "origin_read_timeout", cl_read_timeout, 0 },
    { "origin_backoff", cl_backoff, 0 },
    { "origin_give_up", cl_give_up, 0 },
    { "ingest_grace", cl_grace, 0 },
    { "origin_wait_stream", cl_wait_stream, 0 },
    { "origin_absent_cache", cl_absent_cache, 0 },
    { "origin_connect_rate", cl_connect_rate, 0 },
    { "origin_connect_inflight", cl_connect_inflight, 0 },
    { "waiting_plays_per_ip", cl_waiting_per_ip, 0 },
    { "origin_silence_factor", cl_silence_factor, 0 },
    { "origin_silence_min", cl_silence_min, 0 },
    { "origin_redundancy", cl_redundancy, 0 },
    /* SRS-only */
    { "vhost", NULL, 0 }, { "debug_srs_upnode", NULL, 0 }, { "coworkers", NULL, 0 },
    { "protocol", NULL, 0 }, { "follow_client", NULL, 0 },
    { NULL, NULL, 0 }
};

BLOCK_DIR(vhost_cluster, cluster_dirs)

/* ---- http_remux { } -------------------------------------------------------- */

static int remux_enabled(ctx_t *x, const conf_directive_t *d, void *o) { return arg_onoff(x, d, &VH(o)->http_remux_enabled); }
static int remux_mount(ctx_t *x, const conf_directive_t *d, void *o)
{
    int rc = arg_path(x, d, &VH(o)->http_remux_mount);
    if (rc) return rc;
    if (!http_mount_valid(d->args[0]))
        return fail(x, d, "mount '%s' needs [stream] (and may start with [vhost], use [app])", d->args[0]);
    return 0;
}
static int remux_republish(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_int(x, d, 0, MAX_MS, &VH(o)->http_remux_republish_timeout); }

static int remux_has_audio(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_onoff(x, d, &VH(o)->http_remux_has_audio); }
static int remux_has_video(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_onoff(x, d, &VH(o)->http_remux_has_video); }
static int remux_guess_has_av(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_onoff(x, d, &VH(o)->http_remux_guess_has_av); }

static const dir_spec_t remux_dirs[] = {
    { "enabled", remux_enabled, 0 },
    { "mount", remux_mount, 0 },
    { "republish_timeout", remux_republish, 0 },
    { "has_audio", remux_has_audio, 0 },
    { "has_video", remux_has_video, 0 },
    { "guess_has_av", remux_guess_has_av, 0 },
    /* SRS-only */
    { "fast_cache", NULL, 0 }, { "drop_if_not_match", NULL, 0 },
    { NULL, NULL, 0 }
};

BLOCK_DIR(vhost_http_remux, remux_dirs)

/* ---- hls { } ------------------------------------------------------------------ */

/* A number of seconds or a ratio in [min, max]. */
static int arg_real(ctx_t *x, const conf_directive_t *d, double min, double max, double *out)
{
    int rc = need_args(x, d, 1);
    if (rc) return rc;
    char *end;
    errno = 0;
    double v = strtod(d->args[0], &end);
    if (end == d->args[0] || *end || errno == ERANGE || !isfinite(v))
        return fail(x, d, "%s '%s' is not a number", d->name, d->args[0]);
    if (v < min || v > max) return fail(x, d, "%s '%s' is out of range %g..%g", d->name, d->args[0], min, max);
    *out = v;
    return 0;
}

/* hls_m3u8_file and hls_ts_file: a relative path of [vhost], [app], [stream]
 * (and [seq], which a segment name needs) and plain characters. */
static int arg_hls_name(ctx_t *x, const conf_directive_t *d, char **out, int need_seq)
{
    int rc = need_args(x, d, 1);
    if (rc) return rc;
    const char *a = d->args[0];
    int seq = 0, stream = 0;
    if (!a[0] || a[0] == '/' || strstr(a, ".."))
        return fail(x, d, "%s '%s' must be a relative path without '..'", d->name, a);
    for (const char *p = a; *p; p++) {
        if (*p == '?' || *p == '#' || *p == '%' || (unsigned char)*p <= ' ')
            return fail(x, d, "%s '%s' has a character a URL path cannot hold", d->name, a);
        if (*p != '[') continue;
        if (!strncmp(p, "[seq]", 5)) seq++;
        else if (!strncmp(p, "[stream]", 8)) stream = 1;
        else if (strncmp(p, "[vhost]", 7) && strncmp(p, "[app]", 5))
            return fail(x, d, "%s '%s': only [vhost], [app], [stream] and [seq] are supported", d->name, a);
    }
    if (!stream) return fail(x, d, "%s '%s' needs [stream]", d->name, a);
    if (need_seq ? seq != 1 : seq != 0)
        return fail(x, d, "%s '%s' %s", d->name, a, need_seq ? "needs [seq] once" : "cannot use [seq]");
    return arg_path(x, d, out);
}

static int hls_enabled(ctx_t *x, const conf_directive_t *d, void *o) { return arg_onoff(x, d, &VH(o)->hls_enabled); }
static int hls_fragment(ctx_t *x, const conf_directive_t *d, void *o) { return arg_real(x, d, 0.1, 3600, &VH(o)->hls_fragment); }
static int hls_window(ctx_t *x, const conf_directive_t *d, void *o) { return arg_real(x, d, 0.1, 86400, &VH(o)->hls_window); }
static int hls_td_ratio(ctx_t *x, const conf_directive_t *d, void *o) { return arg_real(x, d, 1, 100, &VH(o)->hls_td_ratio); }
static int hls_aof_ratio(ctx_t *x, const conf_directive_t *d, void *o) { return arg_real(x, d, 1, 100, &VH(o)->hls_aof_ratio); }
static int hls_wait_keyframe(ctx_t *x, const conf_directive_t *d, void *o) { return arg_onoff(x, d, &VH(o)->hls_wait_keyframe); }
static int hls_m3u8_file(ctx_t *x, const conf_directive_t *d, void *o) { return arg_hls_name(x, d, &VH(o)->hls_m3u8_file, 0); }
static int hls_ts_file(ctx_t *x, const conf_directive_t *d, void *o) { return arg_hls_name(x, d, &VH(o)->hls_ts_file, 1); }
static int hls_path(ctx_t *x, const conf_directive_t *d, void *o)
{
    VH(o)->hls_path_set = 1;
    return arg_path(x, d, &VH(o)->hls_path);
}
static int hls_cleanup(ctx_t *x, const conf_directive_t *d, void *o) { return arg_onoff(x, d, &VH(o)->hls_cleanup); }
static int hls_dispose(ctx_t *x, const conf_directive_t *d, void *o) { return arg_int(x, d, 0, 86400, &VH(o)->hls_dispose); }
static int hls_entry_prefix(ctx_t *x, const conf_directive_t *d, void *o)
{
    int rc = arg_path(x, d, &VH(o)->hls_entry_prefix);
    if (rc) return rc;
    for (const char *p = d->args[0]; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"')
            return fail(x, d, "%s '%s' has a character a URL cannot hold", d->name, d->args[0]);
    return 0;
}

static const dir_spec_t hls_dirs[] = {
    { "enabled", hls_enabled, 0 },
    { "hls_fragment", hls_fragment, 0 },
    { "hls_window", hls_window, 0 },
    { "hls_td_ratio", hls_td_ratio, 0 },
    { "hls_aof_ratio", hls_aof_ratio, 0 },
    { "hls_wait_keyframe", hls_wait_keyframe, 0 },
    { "hls_m3u8_file", hls_m3u8_file, 0 },
    { "hls_ts_file", hls_ts_file, 0 },
    { "hls_path", hls_path, 0 },
    { "hls_cleanup", hls_cleanup, 0 },
    { "hls_dispose", hls_dispose, 0 },
    { "hls_entry_prefix", hls_entry_prefix, 0 },
    /* SRS-only */
    { "hls_on_error", NULL, 0 }, { "hls_storage", NULL, 0 }, { "hls_mount", NULL, 0 },
    { "hls_acodec", NULL, 0 }, { "hls_vcodec", NULL, 0 }, { "hls_nb_notify", NULL, 0 },
    { "hls_ts_floor", NULL, 0 }, { "hls_keys", NULL, 0 }, { "hls_fragments_per_key", NULL, 0 },
    { "hls_key_file", NULL, 0 }, { "hls_key_file_path", NULL, 0 }, { "hls_key_url", NULL, 0 },
    { "hls_dts_directly", NULL, 0 }, { "hls_ctx", NULL, 0 }, { "hls_ts_ctx", NULL, 0 },
    { "hls_use_fmp4", NULL, 0 }, { "hls_fmp4_file", NULL, 0 }, { "hls_init_file", NULL, 0 },
    { "hls_recover", NULL, 0 },
    { NULL, NULL, 0 }
};

BLOCK_DIR(vhost_hls, hls_dirs)

/* ---- http_hooks { } ---------------------------------------------------------- */

/* URLs the HTTP client can call: checked now, so a typo or a host name fails
 * the load with FILE:LINE instead of denying every client later. */
static int arg_hook_urls(ctx_t *x, const conf_directive_t *d, char ***out, int *n)
{
    if (d->has_block) return fail(x, d, "directive '%s' takes no block", d->name);
    if (d->nargs < 1) return fail(x, d, "directive '%s' needs at least 1 http:// URL", d->name);
    for (int i = 0; i < d->nargs; i++) {
        http_dial_url_t u;
        const char *why = "";
        if (http_dial_url_parse(d->args[i], &u, &why) != 0)
            return fail(x, d, "%s '%s': %s", d->name, d->args[i], why);
    }
    char **a = calloc((size_t)d->nargs, sizeof *a);
    if (!a) return RILL_ERR_NOMEM;
    for (int i = 0; i < d->nargs; i++) {
        if (!(a[i] = strdup(d->args[i]))) {
            for (int j = 0; j < i; j++) free(a[j]);
            free(a);
            return RILL_ERR_NOMEM;
        }
    }
    *out = a;
    *n = d->nargs;
    return 0;
}

static int hook_dir(ctx_t *x, const conf_directive_t *d, void *o, int which)
{ return arg_hook_urls(x, d, &VH(o)->hooks[which], &VH(o)->nhooks[which]); }
static int hk_enabled(ctx_t *x, const conf_directive_t *d, void *o) { return arg_onoff(x, d, &VH(o)->hooks_enabled); }
static int hk_timeout(ctx_t *x, const conf_directive_t *d, void *o) { return arg_int(x, d, 10, 600000, &VH(o)->hooks_timeout); }
static int hk_connect(ctx_t *x, const conf_directive_t *d, void *o) { return hook_dir(x, d, o, HOOK_CONNECT); }
static int hk_close(ctx_t *x, const conf_directive_t *d, void *o) { return hook_dir(x, d, o, HOOK_CLOSE); }
static int hk_publish(ctx_t *x, const conf_directive_t *d, void *o) { return hook_dir(x, d, o, HOOK_PUBLISH); }
static int hk_unpublish(ctx_t *x, const conf_directive_t *d, void *o) { return hook_dir(x, d, o, HOOK_UNPUBLISH); }
static int hk_play(ctx_t *x, const conf_directive_t *d, void *o) { return hook_dir(x, d, o, HOOK_PLAY); }
static int hk_stop(ctx_t *x, const conf_directive_t *d, void *o) { return hook_dir(x, d, o, HOOK_STOP); }

static const dir_spec_t hooks_dirs[] = {
    { "enabled", hk_enabled, 0 },
    { "on_connect", hk_connect, 0 },
    { "on_close", hk_close, 0 },
    { "on_publish", hk_publish, 0 },
    { "on_unpublish", hk_unpublish, 0 },
    { "on_play", hk_play, 0 },
    { "on_stop", hk_stop, 0 },
    { "timeout", hk_timeout, 0 },   /* rill's own */
    /* SRS-only */
    { "on_dvr", NULL, 0 }, { "on_hls", NULL, 0 }, { "on_hls_notify", NULL, 0 },
    { NULL, NULL, 0 }
};

BLOCK_DIR(vhost_http_hooks, hooks_dirs)

static const dir_spec_t vhost_dirs[] = {
    { "enabled", vhost_enabled, 0 },
    { "chunk_size", vhost_chunk_size, 0 },
    { "tcp_nodelay", vhost_tcp_nodelay, 0 },
    { "min_latency", vhost_min_latency, 0 },
    { "play", vhost_play, 0 },
    { "publish", vhost_publish, 0 },
    /* SRS 2 spelled these at vhost level; SRS 3+ still accepts them. */
    { "gop_cache", play_gop_cache, 0 },
    { "queue_length", play_queue_length, 0 },
    { "mw_latency", play_mw_latency, 0 },
    { "time_jitter", play_time_jitter, 0 },
    { "publish_1stpkt_timeout", publish_firstpkt, 0 },
    { "publish_normal_timeout", publish_normal, 0 },
    /* SRS-only: give an entry a handler when rill implements it. */
    { "hls", vhost_hls, 0 }, { "hds", NULL, 0 }, { "dvr", NULL, 0 }, { "dash", NULL, 0 },
    { "rtc", NULL, 0 }, { "srt", NULL, 0 }, { "exec", NULL, 0 }, { "ingest", NULL, 0 },
    { "transcode", NULL, 0 }, { "refer", NULL, 0 }, { "bandcheck", NULL, 0 },
    { "forward", vhost_forward, 0 }, { "cluster", vhost_cluster, 0 },
    { "mode", cl_mode, 0 }, { "origin", cl_origin, 0 }, { "token_traverse", cl_token_traverse, 0 },
    /* SRS-only: give an entry a handler when rill implements it. */
    { "security", NULL, 0 },
    { "http_remux", vhost_http_remux, 0 },
    { "http_hooks", vhost_http_hooks, 0 },
    /* SRS-only: give an entry a handler when rill implements it. */
    { "http_static", NULL, 0 },
    { "http", NULL, 0 }, { "mix_correct", NULL, 0 }, { "atc", NULL, 0 }, { "atc_auto", NULL, 0 },
    { "mr", NULL, 0 }, { "mr_latency", NULL, 0 }, { "debug_srs_upnode", NULL, 0 },
    { "kickoff_for_idle", NULL, 0 }, { "in_ack_size", NULL, 0 }, { "out_ack_size", NULL, 0 },
    { "send_min_interval", NULL, 0 }, { "reduce_sequence_header", NULL, 0 },
    { "edge_origin", NULL, 0 }, { "refer_play", NULL, 0 }, { "refer_publish", NULL, 0 },
    { "dvr_path", NULL, 0 }, { "hls_path", NULL, 0 }, { "heartbeat", NULL, 0 },
    { NULL, NULL, 0 }
};

/* Append a vhost with its defaults; UNSET ones are resolved by finish(). */
static vhost_conf_t *vhost_add(config_t *c, const char *name, const char *file, int line)
{
    vhost_conf_t *a = realloc(c->vhosts, sizeof *a * (size_t)(c->nvhosts + 1));
    if (!a) return NULL;
    c->vhosts = a;
    vhost_conf_t *v = &c->vhosts[c->nvhosts];
    *v = (vhost_conf_t){
        .enabled = 1, .chunk_size = UNSET, .gop_cache = 1, .queue_length = DEF_QUEUE_LENGTH,
        .queue_bytes = DEF_QUEUE_BYTES,
        .mw_latency = UNSET, .mw_msgs = UNSET, .time_jitter = JITTER_FULL,
        .send_buffer = DEF_SEND_BUFFER, .firstpkt_timeout = DEF_FIRSTPKT_TIMEOUT,
        .normal_timeout = DEF_NORMAL_TIMEOUT, .takeover_timeout = DEF_TAKEOVER_TIMEOUT, .file = file, .line = line,
        .forward_backoff_min = DEF_BACKOFF_MIN, .forward_backoff_max = DEF_BACKOFF_MAX,
        .origin_connect_timeout = DEF_ORIGIN_CONNECT, .origin_read_timeout = DEF_ORIGIN_READ,
        .origin_backoff = DEF_ORIGIN_BACKOFF, .origin_give_up = DEF_ORIGIN_GIVE_UP,
        .ingest_grace = DEF_INGEST_GRACE,
        .origin_wait_stream = DEF_WAIT_STREAM, .origin_absent_cache = DEF_ABSENT_CACHE,
        .origin_connect_rate = DEF_CONNECT_RATE, .origin_connect_inflight = DEF_CONNECT_INFLIGHT,
        .waiting_plays_per_ip = DEF_WAITING_PER_IP,
        .origin_silence_factor = DEF_SILENCE_FACTOR, .origin_silence_min = DEF_SILENCE_MIN,
        .http_remux_republish_timeout = DEF_REPUBLISH_TIMEOUT,
        .http_remux_has_audio = 1, .http_remux_has_video = 1, .http_remux_guess_has_av = 1,
        .hooks_timeout = DEF_HOOKS_TIMEOUT,
        .hls_fragment = DEF_HLS_FRAGMENT, .hls_window = DEF_HLS_WINDOW, .hls_td_ratio = DEF_HLS_TD_RATIO,
        .hls_aof_ratio = DEF_HLS_AOF_RATIO, .hls_wait_keyframe = 1, .hls_cleanup = 1,
        .hls_dispose = DEF_HLS_DISPOSE,
    };
    v->name = strdup(name);
    if (!v->name) return NULL;
    c->nvhosts++;
    return v;
}

static int top_vhost(ctx_t *x, const conf_directive_t *d, void *o)
{
    config_t *c = x->c;
    int rc = need_block(x, d, 1);
    if (rc) return rc;
    if (!d->args[0][0]) return fail(x, d, "vhost name must not be empty");
    for (int i = 0; i < c->nvhosts; i++)
        if (strcmp(c->vhosts[i].name, d->args[0]) == 0)
            return fail(x, d, "vhost '%s' is duplicate (first at %s:%d)", d->args[0], c->vhosts[i].file,
                        c->vhosts[i].line);

    vhost_conf_t *v = vhost_add(c, d->args[0], d->file, d->line);
    if (!v) return RILL_ERR_NOMEM;
    return walk(x, d, vhost_dirs, v);
}

/* ---- http_server { } and http_api { } ------------------------------------ */

static int http_enabled(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_onoff(x, d, &((http_conf_t *)o)->enabled); }

static int http_crossdomain(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_onoff(x, d, &((http_conf_t *)o)->crossdomain); }

static int http_listen(ctx_t *x, const conf_directive_t *d, void *o)
{
    int rc = need_args(x, d, 1);
    if (rc) return rc;
    if (parse_listen(d->args[0], &((http_conf_t *)o)->listen))
        return fail(x, d, "listen '%s' is not [ip:]port with a port in 1..65535", d->args[0]);
    return 0;
}

static int http_dir(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_path(x, d, &((http_conf_t *)o)->dir); }

static int http_header_timeout(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_int(x, d, 100, MAX_MS, &((http_conf_t *)o)->header_timeout); }

static int http_keepalive_timeout(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_int(x, d, 100, MAX_MS, &((http_conf_t *)o)->keepalive_timeout); }

/* set_real_ip_from ADDRESS|CIDR; (nginx's): repeatable, IPv4 or IPv6. */
static int http_set_real_ip_from(ctx_t *x, const conf_directive_t *d, void *o)
{
    int rc = need_args(x, d, 1);
    if (rc) return rc;
    realip_conf_t *r = &((http_conf_t *)o)->realip;
    realip_cidr_t cidr;
    int p = realip_cidr_parse(d->args[0], &cidr);
    if (p < 0)
        return fail(x, d, "set_real_ip_from '%s' is not an IPv4 or IPv6 address or CIDR (ADDRESS/BITS)", d->args[0]);
    if (p > 0) rill_warn("%s:%d: set_real_ip_from '%s': the address bits past the prefix are ignored", d->file,
                         d->line, d->args[0]);
    realip_cidr_t *all = realloc(r->from, sizeof *all * (size_t)(r->nfrom + 1));
    if (!all) return RILL_ERR_NOMEM;
    all[r->nfrom++] = cidr;
    r->from = all;
    return 0;
}

/* real_ip_header NAME; X-Real-IP (default), X-Forwarded-For, or another
 * header holding one address (CF-Connecting-IP, ...). */
static int http_real_ip_header(ctx_t *x, const conf_directive_t *d, void *o)
{
    int rc = need_args(x, d, 1);
    if (rc) return rc;
    realip_conf_t *r = &((http_conf_t *)o)->realip;
    const char *a = d->args[0];
    if (strcmp(a, "proxy_protocol") == 0)
        return fail(x, d, "real_ip_header proxy_protocol: rill's HTTP listeners take no PROXY header (X-Real-IP "
                    "or X-Forwarded-For)");
    size_t n = strlen(a);
    int ok = n > 0 && n < sizeof r->header;
    for (size_t i = 0; ok && i < n; i++)
        ok = (a[i] >= 'a' && a[i] <= 'z') || (a[i] >= 'A' && a[i] <= 'Z') || (a[i] >= '0' && a[i] <= '9') ||
             a[i] == '-' || a[i] == '_';
    if (!ok) return fail(x, d, "real_ip_header '%s' is not a header name (X-Real-IP, X-Forwarded-For, ...)", a);
    snprintf(r->header, sizeof r->header, "%s", a);
    return 0;
}

static int http_real_ip_recursive(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_onoff(x, d, &((http_conf_t *)o)->realip.recursive); }

static int auth_enabled(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_onoff(x, d, &((http_conf_t *)o)->auth); }

static int auth_username(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_path(x, d, &((http_conf_t *)o)->username); }

static int auth_password(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_path(x, d, &((http_conf_t *)o)->password); }

static const dir_spec_t auth_dirs[] = {
    { "enabled", auth_enabled, 0 },
    { "username", auth_username, 0 },
    { "password", auth_password, 0 },
    { NULL, NULL, 0 }
};

BLOCK_DIR(api_auth, auth_dirs)

static const dir_spec_t http_server_dirs[] = {
    { "enabled", http_enabled, 0 },
    { "listen", http_listen, 0 },
    { "dir", http_dir, 0 },
    { "crossdomain", http_crossdomain, 0 },
    { "header_timeout", http_header_timeout, 0 },        /* rill's own */
    { "keepalive_timeout", http_keepalive_timeout, 0 },  /* rill's own */
    { "set_real_ip_from", http_set_real_ip_from, 1 },    /* nginx's */
    { "real_ip_header", http_real_ip_header, 0 },        /* nginx's */
    { "real_ip_recursive", http_real_ip_recursive, 0 },  /* nginx's */
    /* SRS-only */
    { "https", NULL, 0 },
    { NULL, NULL, 0 }
};

static const dir_spec_t http_api_dirs[] = {
    { "enabled", http_enabled, 0 },
    { "listen", http_listen, 0 },
    { "crossdomain", http_crossdomain, 0 },
    { "auth", api_auth, 0 },
    /* SRS-only */
    { "raw_api", NULL, 0 }, { "https", NULL, 0 },
    { NULL, NULL, 0 }
};

static int http_block(ctx_t *x, const conf_directive_t *d, const dir_spec_t *table, http_conf_t *h)
{
    int rc = need_block(x, d, 0);
    if (rc) return rc;
    h->file = d->file;
    h->line = d->line;
    return walk(x, d, table, h);
}

static int top_http_server(ctx_t *x, const conf_directive_t *d, void *o)
{ return http_block(x, d, http_server_dirs, &x->c->http_server); }

static int top_http_api(ctx_t *x, const conf_directive_t *d, void *o)
{ return http_block(x, d, http_api_dirs, &x->c->http_api); }

/* ---- top level ---------------------------------------------------------- */

/* listen [ip:]port ... [proxy_protocol]; the flag applies to every address
 * of the directive: each must then start with a PROXY header (v1 or v2).
 * The directive may repeat. */
static int top_listen(ctx_t *x, const conf_directive_t *d, void *o)
{
    config_t *c = x->c;
    if (d->has_block) return fail(x, d, "directive 'listen' takes no block");
    int naddr = d->nargs, proxy = 0;
    if (naddr > 0 && strcmp(d->args[naddr - 1], "proxy_protocol") == 0) {
        proxy = 1;
        naddr--;
    }
    if (naddr < 1) return fail(x, d, "directive 'listen' needs at least 1 argument");
    listen_conf_t *l = calloc((size_t)naddr, sizeof *l);
    if (!l) return RILL_ERR_NOMEM;
    for (int i = 0; i < naddr; i++) {
        if (parse_listen(d->args[i], &l[i])) {
            free(l);
            return fail(x, d, "listen '%s' is not [ip:]port with a port in 1..65535", d->args[i]);
        }
        l[i].proxy_protocol = proxy;
    }
    /* Several listen directives add up: e.g. one with proxy_protocol for a
     * balancer and one without for direct clients. */
    listen_conf_t *all = realloc(c->listens, sizeof *all * (size_t)(c->nlistens + naddr));
    if (!all) {
        free(l);
        return RILL_ERR_NOMEM;
    }
    memcpy(all + c->nlistens, l, sizeof *l * (size_t)naddr);
    free(l);
    c->listens = all;
    c->nlistens += naddr;
    return 0;
}

static int top_max_connections(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_int(x, d, 1, 1000000, &x->c->max_connections); }

static int top_input_budget(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_bytes(x, d, 1 << 20, 1ull << 40, &x->c->input_budget); }

static int top_daemon(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_onoff(x, d, &x->c->daemon); }

static int top_pid(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_path(x, d, &x->c->pid_file); }

static int top_log_file(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_path(x, d, &x->c->log_file); }

static int top_log_tank(ctx_t *x, const conf_directive_t *d, void *o)
{
    int rc = need_args(x, d, 1);
    if (rc) return rc;
    if (strcmp(d->args[0], "console") == 0) x->c->log_tank_file = 0;
    else if (strcmp(d->args[0], "file") == 0) x->c->log_tank_file = 1;
    else return fail(x, d, "%s '%s' must be console or file", d->name, d->args[0]);
    return 0;
}

static int top_log_level(ctx_t *x, const conf_directive_t *d, void *o)
{
    int rc = need_args(x, d, 1);
    if (rc) return rc;
    int lv = rill_log_level_parse(d->args[0]);
    if (lv < 0)
        return fail(x, d, "%s '%s' must be verbose, info, trace, warn or error", d->name, d->args[0]);
    x->c->log_level = lv;
    return 0;
}

static int top_chunk_size(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_int(x, d, 128, 65536, &x->c->chunk_size); }

/* A time as nginx writes one: digits, then ms, s, m, h or d (none:
 * seconds), in 0..max ms. 0, -1 (not a time) or -2 (out of range). */
static int to_ms(const char *s, long max, long *out)
{
    static const struct { const char *unit; long ms; } units[] = {
        { "ms", 1 }, { "s", 1000 }, { "", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
    };
    size_t digits = strspn(s, "0123456789");
    if (!digits || digits > 9) return digits ? -2 : -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(s + digits, units[i].unit)) continue;
        long long v = strtoll(s, NULL, 10) * units[i].ms;
        if (v > max) return -2;
        *out = (long)v;
        return 0;
    }
    return -1;
}

/* `resolver ip[:port] ... [valid=TIME];` (nginx's directive; addresses
 * only, 53 by default) -> "ip:port,ip:port" for c-ares, and how long an
 * answer is kept (without valid=: its TTL). */
static int top_resolver(ctx_t *x, const conf_directive_t *d, void *o)
{
    if (d->has_block) return fail(x, d, "directive '%s' takes no block", d->name);
    int naddr = d->nargs, valid = DEF_RESOLVER_VALID;
    if (naddr && !strncmp(d->args[naddr - 1], "valid=", 6)) {
        long ms;
        int r = to_ms(d->args[--naddr] + 6, MAX_RESOLVER_VALID_MS, &ms);
        if (r == -1) return fail(x, d, "resolver '%s' is not a time (digits, then ms, s, m, h or d)", d->args[naddr]);
        if (r == -2) return fail(x, d, "resolver '%s' is out of range 0..1d", d->args[naddr]);
        valid = (int)ms;
    }
    if (naddr < 1) return fail(x, d, "directive '%s' needs at least 1 ip[:port]", d->name);
    size_t cap = (size_t)naddr * 24, used = 0;
    char *csv = calloc(1, cap);
    if (!csv) return RILL_ERR_NOMEM;
    for (int i = 0; i < naddr; i++) {
        dest_t a;
        struct in_addr in;
        int r = parse_dest(d->args[i], &a);
        if (r || inet_pton(AF_INET, a.host, &in) != 1) {
            free(csv);
            return fail(x, d, "resolver '%s' is not an IPv4 address with an optional port", d->args[i]);
        }
        if (!strchr(d->args[i], ':')) a.port = 53;
        used += (size_t)snprintf(csv + used, cap - used, "%s%s:%d", i ? "," : "", a.host, a.port);
    }
    free(x->c->resolver);
    x->c->resolver = csv;
    x->c->resolver_valid = valid;
    return 0;
}

static int top_resolver_timeout(ctx_t *x, const conf_directive_t *d, void *o)
{ return arg_int(x, d, 10, 60000, &x->c->resolver_timeout); }

static const dir_spec_t top_dirs[] = {
    { "resolver", top_resolver, 0 },
    { "resolver_timeout", top_resolver_timeout, 0 },
    { "listen", top_listen, 1 },
    { "max_connections", top_max_connections, 0 },
    { "input_budget", top_input_budget, 0 },
    { "daemon", top_daemon, 0 },
    { "pid", top_pid, 0 },
    { "srs_log_tank", top_log_tank, 0 },
    { "srs_log_level", top_log_level, 0 },
    { "srs_log_file", top_log_file, 0 },
    { "chunk_size", top_chunk_size, 0 },
    { "vhost", top_vhost, 1 },
    { "http_server", top_http_server, 0 },
    { "http_api", top_http_api, 0 },
    /* SRS-only: give an entry a handler when rill implements it. */
    { "http_stream", NULL, 0 },
    { "rtc_server", NULL, 0 }, { "srt_server", NULL, 0 }, { "rtsp_server", NULL, 0 },
    { "rtmps", NULL, 0 }, { "stream_caster", NULL, 0 }, { "heartbeat", NULL, 0 },
    { "stats", NULL, 0 }, { "exporter", NULL, 0 }, { "kafka", NULL, 0 },
    { "tencentcloud_cls", NULL, 0 }, { "tencentcloud_apm", NULL, 0 },
    { "srs_log_level_v2", NULL, 0 }, { "ff_log_dir", NULL, 0 }, { "ff_log_level", NULL, 0 },
    { "utc_time", NULL, 0 }, { "work_dir", NULL, 0 }, { "asprocess", NULL, 0 },
    { "empty_ip_ok", NULL, 0 }, { "grace_start_wait", NULL, 0 }, { "grace_final_wait", NULL, 0 },
    { "force_grace_quit", NULL, 0 }, { "disable_daemon_for_docker", NULL, 0 },
    { "inotify_auto_reload", NULL, 0 }, { "auto_reload_for_docker", NULL, 0 },
    { "query_latest_version", NULL, 0 }, { "first_wait_for_qlv", NULL, 0 },
    { "circuit_breaker", NULL, 0 }, { "tcmalloc_release_rate", NULL, 0 },
    { "threads", NULL, 0 }, { "in_docker", NULL, 0 }, { "is_full", NULL, 0 },
    { "pithy_print_ms", NULL, 0 }, { "hls_use_fmp4", NULL, 0 },
    { NULL, NULL, 0 }
};

/* ---- building and lookup ------------------------------------------------ */

static config_t *config_new(const char *path)
{
    config_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->path = strdup(path);
    c->pid_file = strdup(DEF_PID_FILE);
    c->log_file = strdup(DEF_LOG_FILE);
    if (!c->path || !c->pid_file || !c->log_file) { config_free(c); return NULL; }
    c->max_connections = DEF_MAX_CONNECTIONS;
    c->input_budget = DEF_INPUT_BUDGET;
    c->daemon = 0;
    c->log_tank_file = 0;
    c->log_level = RILL_LOG_TRACE;
    c->chunk_size = DEF_CHUNK_SIZE;
    c->resolver_timeout = DEF_RESOLVER_TIMEOUT;
    c->resolver_valid = DEF_RESOLVER_VALID;
    http_conf_t *h[2] = { &c->http_server, &c->http_api };
    for (int i = 0; i < 2; i++) {
        strcpy(h[i]->listen.ip, "0.0.0.0");
        h[i]->crossdomain = 1;
        h[i]->header_timeout = DEF_HEADER_TIMEOUT;
        h[i]->keepalive_timeout = DEF_KEEPALIVE_TIMEOUT;
        snprintf(h[i]->realip.header, sizeof h[i]->realip.header, "%s", REALIP_DEFAULT_HEADER);
    }
    c->http_server.listen.port = DEF_HTTP_SERVER_PORT;
    c->http_api.listen.port = DEF_HTTP_API_PORT;
    c->http_server.dir = strdup(DEF_HTTP_DIR);
    if (!c->http_server.dir) { config_free(c); return NULL; }
    return c;
}

/* Two listens that would fight over one port: same port, and the same ip or
 * a wildcard on either side. */
static int listens_clash(const listen_conf_t *a, const listen_conf_t *b)
{
    if (a->port != b->port) return 0;
    return strcmp(a->ip, b->ip) == 0 || strcmp(a->ip, "0.0.0.0") == 0 || strcmp(b->ip, "0.0.0.0") == 0;
}

/* The http blocks are checked once the whole file is read: auth needs both
 * names, and ports must not clash with RTMP or with each other (an equal
 * http_server/http_api listen is fine: they share one listener). */
static int check_http(config_t *c, char *err, size_t errlen)
{
    const http_conf_t *api = &c->http_api, *hs = &c->http_server;
    if (api->enabled && api->auth && (!api->username || !api->password)) {
        snprintf(err, errlen, "%s:%d: http_api auth is enabled without a username and a password", api->file,
                 api->line);
        return RILL_ERR_CONF;
    }
    const http_conf_t *h[2] = { hs, api };
    const char *names[2] = { "http_server", "http_api" };
    for (int i = 0; i < 2; i++) {
        if (!h[i]->enabled) continue;
        for (int j = 0; j < c->nlistens; j++) {
            if (listens_clash(&h[i]->listen, &c->listens[j])) {
                snprintf(err, errlen, "%s:%d: %s listen %s:%d clashes with the rtmp listen %s:%d", h[i]->file,
                         h[i]->line, names[i], h[i]->listen.ip, h[i]->listen.port, c->listens[j].ip,
                         c->listens[j].port);
                return RILL_ERR_CONF;
            }
        }
    }
    if (hs->enabled && api->enabled && listens_clash(&hs->listen, &api->listen) &&
        strcmp(hs->listen.ip, api->listen.ip) != 0) {
        snprintf(err, errlen, "%s:%d: http_api listen %s:%d clashes with http_server listen %s:%d (give both the "
                 "same address to share one listener)", api->file, api->line, api->listen.ip, api->listen.port,
                 hs->listen.ip, hs->listen.port);
        return RILL_ERR_CONF;
    }
    return 0;
}

/* Fill in what the file left unset and whose default depends on others. */
static int finish(config_t *c, const char *path, char *err, size_t errlen)
{
    if (c->nlistens == 0) {
        c->listens = calloc(1, sizeof *c->listens);
        if (!c->listens) return RILL_ERR_NOMEM;
        strcpy(c->listens[0].ip, "0.0.0.0");
        c->listens[0].port = DEF_PORT;
        c->nlistens = 1;
    }
    int have_default = 0;
    for (int i = 0; i < c->nvhosts; i++)
        if (strcmp(c->vhosts[i].name, DEFAULT_VHOST) == 0) have_default = 1;
    if (!have_default) {
        const char *file = c->nfiles ? c->files[0] : path;
        if (!vhost_add(c, DEFAULT_VHOST, file, 0)) return RILL_ERR_NOMEM;
    }
    for (int i = 0; i < c->nvhosts; i++) {
        vhost_conf_t *v = &c->vhosts[i];
        if (v->chunk_size == UNSET) v->chunk_size = c->chunk_size;
        /* min_latency trades throughput for latency: no merged-write wait. */
        if (v->mw_latency == UNSET) v->mw_latency = v->min_latency ? 0 : DEF_MW_LATENCY;
        if (v->mw_msgs == UNSET) v->mw_msgs = v->min_latency ? 0 : DEF_MW_MSGS;
        if (!v->http_remux_mount && !(v->http_remux_mount = strdup(DEF_REMUX_MOUNT))) return RILL_ERR_NOMEM;
        if (!v->hls_m3u8_file && !(v->hls_m3u8_file = strdup(DEF_HLS_M3U8_FILE))) return RILL_ERR_NOMEM;
        if (!v->hls_ts_file && !(v->hls_ts_file = strdup(DEF_HLS_TS_FILE))) return RILL_ERR_NOMEM;
        if (!v->hls_path && !(v->hls_path = strdup(DEF_HLS_PATH))) return RILL_ERR_NOMEM;
        if (v->forward_backoff_max < v->forward_backoff_min) v->forward_backoff_max = v->forward_backoff_min;
        if (v->edge && v->norigins == 0) {
            snprintf(err, errlen, "%s:%d: vhost '%s' is an edge (mode remote) without an origin", v->file, v->line, v->name);
            return RILL_ERR_CONF;
        }
    }
    return 0;
}

static int build(conf_directive_t *root, const char *path, config_t **out, char *err, size_t errlen)
{
    config_t *c = config_new(path);
    if (!c) { conf_free(root); return RILL_ERR_NOMEM; }
    /* Take the file names: vhost->file points into them after the tree is gone. */
    c->files = root->files;
    c->nfiles = root->nfiles;
    root->files = NULL;
    root->nfiles = 0;

    ctx_t x = { .c = c, .err = err, .errlen = errlen };
    int rc = walk(&x, root, top_dirs, c);
    if (rc == 0) rc = finish(c, path, err, errlen);
    if (rc == 0) rc = check_http(c, err, errlen);
    conf_free(root);
    if (rc) {
        if (rc == RILL_ERR_NOMEM && err && errlen) snprintf(err, errlen, "%s: out of memory", path);
        config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int config_load(const char *path, config_t **out, char *err, size_t errlen)
{
    conf_directive_t *root;
    *out = NULL;
    int rc = conf_parse_file(path, &root, err, errlen);
    return rc ? rc : build(root, path, out, err, errlen);
}

int config_load_string(const char *text, const char *name, config_t **out,
                            char *err, size_t errlen)
{
    conf_directive_t *root;
    *out = NULL;
    if (!name) name = "<string>";
    int rc = conf_parse_string(text, name, &root, err, errlen);
    return rc ? rc : build(root, name, out, err, errlen);
}

void config_free(config_t *c)
{
    if (!c) return;
    for (int i = 0; i < c->nvhosts; i++) {
        vhost_conf_t *v = &c->vhosts[i];
        free(v->name);
        free(v->forward_dests);
        free(v->forward_backend);
        free(v->origins);
        free(v->publish_origins);
        free(v->http_remux_mount);
        free(v->hls_m3u8_file);
        free(v->hls_ts_file);
        free(v->hls_path);
        free(v->hls_entry_prefix);
        for (int k = 0; k < HOOK_COUNT; k++) {
            for (int j = 0; j < v->nhooks[k]; j++) free(v->hooks[k][j]);
            free(v->hooks[k]);
        }
    }
    free(c->vhosts);
    for (int i = 0; i < c->nfiles; i++) free(c->files[i]);
    free(c->files);
    free(c->listens);
    http_conf_t *h[2] = { &c->http_server, &c->http_api };
    for (int i = 0; i < 2; i++) {
        free(h[i]->dir);
        free(h[i]->username);
        free(h[i]->password);
        free(h[i]->realip.from);
    }
    free(c->pid_file);
    free(c->log_file);
    free(c->resolver);
    free(c->path);
    free(c);
}

const vhost_conf_t *config_vhost(const config_t *c, const char *name)
{
    const vhost_conf_t *def = NULL;
    for (int i = 0; i < c->nvhosts; i++) {
        const vhost_conf_t *v = &c->vhosts[i];
        if (name && strcmp(v->name, name) == 0) return v->enabled ? v : NULL;
        if (strcmp(v->name, DEFAULT_VHOST) == 0) def = v;
    }
    return def && def->enabled ? def : NULL;
}
