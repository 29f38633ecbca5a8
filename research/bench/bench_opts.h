/* rill-bench's command line and URLs: pure string code (no sockets, no
 * state-threads), so the unit tests link it directly.
 *
 *   rill-bench [GLOBAL...] JOB [JOB...]
 *   JOB: publish|play|sink [OPTIONS] URL
 *
 * See research/bench/README.md for every option. */
#ifndef BENCH_OPTS_H
#define BENCH_OPTS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum bench_job_kind { BENCH_PUBLISH = 1, BENCH_PLAY, BENCH_SINK };
enum bench_proto { BENCH_RTMP = 1, BENCH_HTTP_FLV, BENCH_TCP };

#define BENCH_URL_MAX 2048
#define BENCH_MAX_JOBS 16
#define BENCH_MAX_SRC_IPS 65536

/* A URL template as given (it may hold "{i}", replaced per publisher or per
 * stream; see bench_url_expand) and what kind of endpoint it names. */
typedef struct bench_url {
    char text[BENCH_URL_MAX];
    int proto;                  /* enum bench_proto, from the scheme */
} bench_url_t;

/* The parts a client needs, from one expanded URL. */
typedef struct bench_target {
    int proto;
    char ip[16];                /* dotted IPv4 to connect to */
    int port;
    char host[256];             /* as written (HTTP Host header) */
    /* RTMP */
    char app[256];
    char tc_url[600];           /* rtmp://host:port/app */
    char stream[1300];          /* stream name plus its "?params" */
    /* HTTP-FLV */
    char target[BENCH_URL_MAX]; /* path and query to GET */
} bench_target_t;

typedef struct bench_src_ips {
    uint32_t first, last;       /* host byte order; first == 0: none (the kernel picks) */
} bench_src_ips_t;

typedef struct bench_job {
    int kind;                   /* enum bench_job_kind */
    bench_url_t url;
    int count;                  /* players, sinks or publishers */
    double duration;            /* seconds the job runs, from its start */
    double delay;               /* seconds after the run starts before the job starts */
    double ramp;                /* connections started per second (play, sink); 0: all at once */
    double timeout;             /* seconds for connect + play request to succeed */
    int streams;                /* play: "{i}" in the URL is player index % streams */
    double read_interval;       /* ms a player (sink) sleeps after each read, once it has its first
                                 * frame: fewer, larger reads; every 50th player never sleeps and
                                 * alone gives the latency figures. 0: read at once (default) */
    bench_src_ips_t src;
    char file[1024];            /* publish: the FLV file */
    uint32_t chunk_size;        /* publish: outgoing chunk size */
    /* publish, standing for an encoder that reconnects (OBS's "Automatically
     * Reconnect"): after the connection fails (connect or publish refused,
     * reset, closed, or a write blocked for write_timeout) wait this many
     * seconds and publish again, until the job ends. < 0: never (default) */
    double reconnect;
    double write_timeout;       /* publish: ms a write may block before the connection counts as failed */
    int send_buffer;            /* publish: SO_SNDBUF bytes, 0: the kernel's (which grows to megabytes and
                                 * hides a peer that stopped reading for many seconds) */
} bench_job_t;

typedef struct bench_opts {
    double report;              /* seconds between progress lines; 0: none */
    int stack_kb;               /* coroutine stack size */
    int stack_probe;            /* measure stack use of players */
    double stall_ms;            /* no media for longer than this: one stall */
    int njobs;
    bench_job_t jobs[BENCH_MAX_JOBS];
} bench_opts_t;

/* Defaults. */
#define BENCH_DEF_DURATION   30.0
#define BENCH_DEF_RAMP       1000.0
#define BENCH_DEF_TIMEOUT    10.0
#define BENCH_DEF_REPORT     2.0
#define BENCH_DEF_STACK_KB   64
#define BENCH_DEF_STALL_MS   1000.0
#define BENCH_DEF_CHUNK      60000
#define BENCH_DEF_WRITE_TIMEOUT_MS 10000.0

/* Parse argv (argv[0] is the program). 0 on success (*help set when -h was
 * asked for), else RILL_ERR_INVAL with a reason in err. */
int bench_opts_parse(int argc, char **argv, bench_opts_t *o, int *help, char *err, size_t errlen);
/* The usage text. */
const char *bench_usage(void);

/* "A" or "A-B" (dotted IPv4, A <= B, at most BENCH_MAX_SRC_IPS). 0 or RILL_ERR_INVAL. */
int bench_src_ips_parse(const char *s, bench_src_ips_t *out);
/* The i-th address of the range, dotted (i wraps around). */
void bench_src_ip_at(const bench_src_ips_t *r, uint64_t i, char out[16]);

/* The protocol a URL's scheme names, or 0. */
int bench_url_proto(const char *url);
/* Copy tmpl to out with every "{i}" replaced by idx. RILL_ERR_LIMIT when it does not fit. */
int bench_url_expand(const char *tmpl, long idx, char *out, size_t outlen);
/* Split an expanded URL into what a client needs. Hosts must be IPv4
 * literals or "localhost" (no name resolution). RILL_ERR_INVAL with err set. */
int bench_target_parse(const char *url, bench_target_t *t, char *err, size_t errlen);

/* End of the whole run in seconds from its start: the latest delay + duration. */
double bench_opts_run_seconds(const bench_opts_t *o);

#ifdef __cplusplus
}
#endif
#endif
