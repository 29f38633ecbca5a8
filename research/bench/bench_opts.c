#include "bench_opts.h"
#include "http_url.h"
#include "rill_error.h"
#include "rtmp_url.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char USAGE[] =
    "usage: rill-bench [GLOBAL...] JOB [JOB...]\n"
    "  JOB:  publish [-n M] [-d S] [--delay S] [--chunk-size N] [--reconnect S] [--write-timeout MS]\n"
    "                [--send-buffer BYTES] -i FILE.flv URL\n"
    "        play    [-n N] [-d S] [--delay S] [-r PER_SEC] [--src-ips A[-B]] [--timeout S] [--streams K]\n"
    "                [--read-interval MS] URL\n"
    "        sink    [-n N] [-d S] [--delay S] [-r PER_SEC] [--src-ips A[-B]] [--timeout S] [--read-interval MS]\n"
    "                tcp://IP:PORT\n"
    "  URL:  rtmp://IP[:PORT]/APP/STREAM[?PARAMS]   (publish, play)\n"
    "        http://IP[:PORT]/PATH.flv              (play: HTTP-FLV)\n"
    "        \"{i}\" in a URL: the publisher index, or the player index modulo --streams\n"
    "  GLOBAL (before the first job; -d, -r, --timeout, --src-ips, --read-interval here are defaults for\n"
    "  every job):\n"
    "        --report S     seconds between progress lines on stderr (0: none; default 2)\n"
    "        --stall-ms MS  a player with no media for longer counts one stall (default 1000)\n"
    "        --stack-kb KB  coroutine stack size (default 64)\n"
    "        --stack-probe  measure the deepest stack use of players (touches whole stacks)\n"
    "        -h, --help\n"
    "  Progress goes to stderr; the last line on stdout is one JSON object of totals.\n";

const char *bench_usage(void) { return USAGE; }

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return RILL_ERR_INVAL;
}

static int parse_ipv4(const char *s, size_t n, uint32_t *out)
{
    char buf[16];
    struct in_addr a;
    if (n == 0 || n >= sizeof buf) return RILL_ERR_INVAL;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (inet_pton(AF_INET, buf, &a) != 1) return RILL_ERR_INVAL;
    *out = ntohl(a.s_addr);
    return 0;
}

int bench_src_ips_parse(const char *s, bench_src_ips_t *out)
{
    const char *dash = strchr(s, '-');
    size_t n1 = dash ? (size_t)(dash - s) : strlen(s);
    uint32_t a, b;
    if (parse_ipv4(s, n1, &a)) return RILL_ERR_INVAL;
    if (dash) {
        if (parse_ipv4(dash + 1, strlen(dash + 1), &b)) return RILL_ERR_INVAL;
    } else {
        b = a;
    }
    if (a == 0 || b < a || (uint64_t)b - a + 1 > BENCH_MAX_SRC_IPS) return RILL_ERR_INVAL;
    out->first = a;
    out->last = b;
    return 0;
}

void bench_src_ip_at(const bench_src_ips_t *r, uint64_t i, char out[16])
{
    uint64_t n = (uint64_t)r->last - r->first + 1;
    struct in_addr a;
    a.s_addr = htonl((uint32_t)(r->first + i % n));
    inet_ntop(AF_INET, &a, out, 16);
}

int bench_url_proto(const char *url)
{
    if (!strncasecmp(url, "rtmp://", 7)) return BENCH_RTMP;
    if (!strncasecmp(url, "http://", 7)) return BENCH_HTTP_FLV;
    if (!strncasecmp(url, "tcp://", 6)) return BENCH_TCP;
    return 0;
}

int bench_url_expand(const char *tmpl, long idx, char *out, size_t outlen)
{
    char num[24];
    int nl = snprintf(num, sizeof num, "%ld", idx);
    size_t o = 0;
    for (const char *p = tmpl; *p;) {
        if (!strncmp(p, "{i}", 3)) {
            if (o + (size_t)nl >= outlen) return RILL_ERR_LIMIT;
            memcpy(out + o, num, (size_t)nl);
            o += (size_t)nl;
            p += 3;
        } else {
            if (o + 1 >= outlen) return RILL_ERR_LIMIT;
            out[o++] = *p++;
        }
    }
    if (outlen == 0) return RILL_ERR_LIMIT;
    out[o] = 0;
    return 0;
}

/* "localhost" or a dotted IPv4 literal, normalised into ip. */
static int host_ip(const char *host, char ip[16])
{
    struct in_addr a;
    if (!strcasecmp(host, "localhost")) {
        strcpy(ip, "127.0.0.1");
        return 0;
    }
    if (inet_pton(AF_INET, host, &a) != 1) return RILL_ERR_INVAL;
    inet_ntop(AF_INET, &a, ip, 16);
    return 0;
}

static int target_tcp(const char *url, bench_target_t *t, char *err, size_t errlen)
{
    const char *p = url + 6;
    const char *colon = strrchr(p, ':');
    if (!colon || colon == p) return fail(err, errlen, "%s: expected tcp://IP:PORT", url);
    size_t hl = (size_t)(colon - p);
    if (hl >= sizeof t->host) return fail(err, errlen, "%s: host too long", url);
    memcpy(t->host, p, hl);
    t->host[hl] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || (*end && *end != '/') || port < 1 || port > 65535)
        return fail(err, errlen, "%s: bad port", url);
    t->port = (int)port;
    if (host_ip(t->host, t->ip)) return fail(err, errlen, "%s: host must be an IPv4 address or localhost", url);
    return 0;
}

static int target_rtmp(const char *url, bench_target_t *t, char *err, size_t errlen)
{
    rtmp_url_t u;
    if (rtmp_url_parse(url, &u)) return fail(err, errlen, "%s: not a valid rtmp:// url", url);
    if (host_ip(u.host, t->ip)) return fail(err, errlen, "%s: host must be an IPv4 address or localhost", url);
    if (!u.app[0]) return fail(err, errlen, "%s: no app (rtmp://IP[:PORT]/APP/STREAM)", url);
    if (!u.stream[0]) return fail(err, errlen, "%s: no stream (rtmp://IP[:PORT]/APP/STREAM)", url);
    t->port = u.port;
    snprintf(t->host, sizeof t->host, "%s", u.host);
    snprintf(t->app, sizeof t->app, "%s", u.app);
    snprintf(t->tc_url, sizeof t->tc_url, "rtmp://%s:%d/%s", u.host, u.port, u.app);
    snprintf(t->stream, sizeof t->stream, "%s%s", u.stream, u.param);
    return 0;
}

static int target_http(const char *url, bench_target_t *t, char *err, size_t errlen)
{
    static http_dial_url_t u;  /* 4 KiB: not on a coroutine stack */
    const char *why = "";
    if (http_dial_url_parse(url, &u, &why)) return fail(err, errlen, "%s: %s", url, why);
    if (!u.ip[0]) return fail(err, errlen, "%s: host names are not looked up by rill-bench: use an IPv4 address", url);
    snprintf(t->ip, sizeof t->ip, "%s", u.ip);
    snprintf(t->host, sizeof t->host, "%s", u.host);
    t->port = u.port;
    if (strlen(u.target) >= sizeof t->target) return fail(err, errlen, "%s: path too long", url);
    snprintf(t->target, sizeof t->target, "%s", u.target);
    return 0;
}

int bench_target_parse(const char *url, bench_target_t *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->proto = bench_url_proto(url);
    switch (t->proto) {
    case BENCH_RTMP: return target_rtmp(url, t, err, errlen);
    case BENCH_HTTP_FLV: return target_http(url, t, err, errlen);
    case BENCH_TCP: return target_tcp(url, t, err, errlen);
    }
    return fail(err, errlen, "%s: the url must start with rtmp://, http:// or tcp://", url);
}

/* ---------------------------------------------------------------- argv */

static int num(const char *opt, const char *v, double lo, double hi, double *out, char *err, size_t errlen)
{
    char *end;
    if (!v) return fail(err, errlen, "%s needs a value", opt);
    double d = strtod(v, &end);
    if (end == v || *end || !(d >= lo && d <= hi))
        return fail(err, errlen, "%s %s: expected a number in [%g, %g]", opt, v, lo, hi);
    *out = d;
    return 0;
}

static int integer(const char *opt, const char *v, long lo, long hi, long *out, char *err, size_t errlen)
{
    char *end;
    if (!v) return fail(err, errlen, "%s needs a value", opt);
    long l = strtol(v, &end, 10);
    if (end == v || *end || l < lo || l > hi)
        return fail(err, errlen, "%s %s: expected a whole number in [%ld, %ld]", opt, v, lo, hi);
    *out = l;
    return 0;
}

static int job_kind(const char *s)
{
    if (!strcmp(s, "publish")) return BENCH_PUBLISH;
    if (!strcmp(s, "play")) return BENCH_PLAY;
    if (!strcmp(s, "sink")) return BENCH_SINK;
    return 0;
}

static const char *kind_name(int k)
{
    return k == BENCH_PUBLISH ? "publish" : k == BENCH_PLAY ? "play" : "sink";
}

/* Options shared by jobs and the global defaults. 1: taken (with its value,
 * *i advanced), 0: not one of these, <0: error. */
static int common_opt(int argc, char **argv, int *i, bench_job_t *j, char *err, size_t errlen)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    int rc;
    if (!strcmp(a, "-d") || !strcmp(a, "--duration")) rc = num(a, v, 0.1, 86400, &j->duration, err, errlen);
    else if (!strcmp(a, "--delay")) rc = num(a, v, 0, 86400, &j->delay, err, errlen);
    else if (!strcmp(a, "-r") || !strcmp(a, "--ramp")) rc = num(a, v, 0, 1e6, &j->ramp, err, errlen);
    else if (!strcmp(a, "--timeout")) rc = num(a, v, 0.1, 3600, &j->timeout, err, errlen);
    else if (!strcmp(a, "--read-interval")) rc = num(a, v, 0, 1000, &j->read_interval, err, errlen);
    else if (!strcmp(a, "--src-ips")) {
        if (!v) return fail(err, errlen, "%s needs a value", a);
        rc = bench_src_ips_parse(v, &j->src);
        if (rc) return fail(err, errlen, "--src-ips %s: expected IP or IP-IP (IPv4, first <= last)", v);
    } else {
        return 0;
    }
    if (rc) return rc;
    (*i)++;
    return 1;
}

static int job_opt(int argc, char **argv, int *i, bench_job_t *j, char *err, size_t errlen)
{
    int rc = common_opt(argc, argv, i, j, err, errlen);
    if (rc) return rc;
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    long l;
    if (!strcmp(a, "-n")) {
        rc = integer(a, v, 1, 1000000, &l, err, errlen);
        j->count = (int)l;
    } else if (!strcmp(a, "--streams") && j->kind == BENCH_PLAY) {
        rc = integer(a, v, 1, 1000000, &l, err, errlen);
        j->streams = (int)l;
    } else if (!strcmp(a, "-i") && j->kind == BENCH_PUBLISH) {
        if (!v) return fail(err, errlen, "-i needs a file");
        if (strlen(v) >= sizeof j->file) return fail(err, errlen, "-i %s: path too long", v);
        snprintf(j->file, sizeof j->file, "%s", v);
        rc = 0;
    } else if (!strcmp(a, "--chunk-size") && j->kind == BENCH_PUBLISH) {
        rc = integer(a, v, 128, 65536, &l, err, errlen);
        j->chunk_size = (uint32_t)l;
    } else if (!strcmp(a, "--reconnect") && j->kind == BENCH_PUBLISH) {
        rc = num(a, v, 0, 3600, &j->reconnect, err, errlen);
    } else if (!strcmp(a, "--write-timeout") && j->kind == BENCH_PUBLISH) {
        rc = num(a, v, 10, 3600000, &j->write_timeout, err, errlen);
    } else if (!strcmp(a, "--send-buffer") && j->kind == BENCH_PUBLISH) {
        rc = integer(a, v, 4096, 64 * 1024 * 1024, &l, err, errlen);
        j->send_buffer = (int)l;
    } else {
        return fail(err, errlen, "%s: unknown option for %s", a, kind_name(j->kind));
    }
    if (rc) return rc;
    (*i)++;
    return 1;
}

static int job_check(const bench_job_t *j, int idx, char *err, size_t errlen)
{
    const char *k = kind_name(j->kind);
    if (!j->url.text[0]) return fail(err, errlen, "job %d (%s): no URL", idx + 1, k);
    int p = j->url.proto;
    if (j->kind == BENCH_PUBLISH && p != BENCH_RTMP)
        return fail(err, errlen, "publish %s: only rtmp:// urls can be published", j->url.text);
    if (j->kind == BENCH_PLAY && p != BENCH_RTMP && p != BENCH_HTTP_FLV)
        return fail(err, errlen, "play %s: expected an rtmp:// or http:// url", j->url.text);
    if (j->kind == BENCH_SINK && p != BENCH_TCP)
        return fail(err, errlen, "sink %s: expected a tcp://IP:PORT url", j->url.text);
    if (j->kind == BENCH_PUBLISH && !j->file[0])
        return fail(err, errlen, "publish %s: -i FILE.flv is required", j->url.text);
    /* the template must expand to something a client can use */
    char url[BENCH_URL_MAX];
    static bench_target_t t;
    if (bench_url_expand(j->url.text, 0, url, sizeof url)) return fail(err, errlen, "%s: too long", j->url.text);
    return bench_target_parse(url, &t, err, errlen);
}

int bench_opts_parse(int argc, char **argv, bench_opts_t *o, int *help, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    *help = 0;
    o->report = BENCH_DEF_REPORT;
    o->stack_kb = BENCH_DEF_STACK_KB;
    o->stall_ms = BENCH_DEF_STALL_MS;
    bench_job_t defaults;
    memset(&defaults, 0, sizeof defaults);
    defaults.count = 1;
    defaults.duration = BENCH_DEF_DURATION;
    defaults.ramp = BENCH_DEF_RAMP;
    defaults.timeout = BENCH_DEF_TIMEOUT;
    defaults.streams = 1;
    defaults.chunk_size = BENCH_DEF_CHUNK;
    defaults.reconnect = -1;
    defaults.write_timeout = BENCH_DEF_WRITE_TIMEOUT_MS;

    bench_job_t *j = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int kind = job_kind(a);
        if (kind) {
            if (j && !j->url.text[0]) return fail(err, errlen, "%s: the %s before it has no URL", a, kind_name(j->kind));
            if (o->njobs == BENCH_MAX_JOBS) return fail(err, errlen, "at most %d jobs", BENCH_MAX_JOBS);
            j = &o->jobs[o->njobs++];
            *j = defaults;
            j->kind = kind;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            *help = 1;
            return 0;
        }
        int rc;
        if (!j) {
            /* global options */
            double d;
            long l;
            if ((rc = common_opt(argc, argv, &i, &defaults, err, errlen)) != 0) {
                if (rc < 0) return rc;
                continue;
            }
            if (!strcmp(a, "--report")) {
                if ((rc = num(a, v, 0, 3600, &d, err, errlen))) return rc;
                o->report = d;
            } else if (!strcmp(a, "--stall-ms")) {
                if ((rc = num(a, v, 1, 3600000, &d, err, errlen))) return rc;
                o->stall_ms = d;
            } else if (!strcmp(a, "--stack-kb")) {
                if ((rc = integer(a, v, 16, 8192, &l, err, errlen))) return rc;
                o->stack_kb = (int)l;
            } else if (!strcmp(a, "--stack-probe")) {
                o->stack_probe = 1;
                continue;
            } else {
                return fail(err, errlen, "%s: expected a global option or a job (publish, play, sink)", a);
            }
            i++;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            if ((rc = job_opt(argc, argv, &i, j, err, errlen)) < 0) return rc;
            continue;
        }
        if (j->url.text[0]) return fail(err, errlen, "%s: the %s already has the URL %s", a, kind_name(j->kind), j->url.text);
        if (strlen(a) >= sizeof j->url.text) return fail(err, errlen, "%s: url too long", a);
        snprintf(j->url.text, sizeof j->url.text, "%s", a);
        j->url.proto = bench_url_proto(a);
    }
    if (o->njobs == 0) return fail(err, errlen, "nothing to do: give a publish, play or sink job");
    for (int k = 0; k < o->njobs; k++) {
        int rc = job_check(&o->jobs[k], k, err, errlen);
        if (rc) return rc;
    }
    return 0;
}

double bench_opts_run_seconds(const bench_opts_t *o)
{
    double end = 0;
    for (int k = 0; k < o->njobs; k++) {
        double e = o->jobs[k].delay + o->jobs[k].duration;
        if (e > end) end = e;
    }
    return end;
}
