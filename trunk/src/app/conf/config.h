/* The config model: typed values read from the directive tree, with every
 * default in one place (config.c). Directives SRS documents but rill
 * does not implement are warned about (FILE:LINE) and ignored; unknown or
 * malformed ones refuse the whole file with FILE:LINE: reason. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "http_realip.h"

#ifdef __cplusplus
extern "C" {
#endif

enum time_jitter { JITTER_FULL = 1, JITTER_ZERO = 2, JITTER_OFF = 3 };

/* The http_hooks { } callbacks. */
enum hook {
    HOOK_CONNECT = 0, HOOK_CLOSE, HOOK_PUBLISH, HOOK_UNPUBLISH, HOOK_PLAY, HOOK_STOP,
    HOOK_COUNT
};

typedef struct listen_conf {
    char ip[64];            /* "0.0.0.0" when only a port was given */
    int port;
    int proxy_protocol;     /* `listen ... proxy_protocol;`: clients come through a balancer */
} listen_conf_t;

/* An upstream address: host as written (an IPv4 address or a name, looked
 * up without blocking at each connect attempt: resolve.h), and a port. */
typedef struct dest {
    char host[256];
    int port;               /* 1935 when absent */
} dest_t;

/* http_server { } and http_api { }: one shape for both; each block only
 * accepts its own directives. */
typedef struct http_conf {
    int enabled;            /* default off */
    listen_conf_t listen;   /* default 0.0.0.0:8080 (http_server), 0.0.0.0:1985 (http_api) */
    int crossdomain;        /* CORS headers and OPTIONS preflight, default on */
    char *dir;              /* http_server: static files root, default ./objs/nginx/html */
    int header_timeout;     /* http_server, rill's own: ms for a request to arrive, default 10000 */
    int keepalive_timeout;  /* http_server, rill's own: ms idle between requests, default 30000 */
    int auth;               /* http_api auth { enabled }, default off */
    char *username;         /* http_api auth { username }: required with auth on */
    char *password;         /* http_api auth { password }: required with auth on */
    realip_conf_t realip;   /* http_server: set_real_ip_from (none: nothing trusted), real_ip_header
                             * (X-Real-IP), real_ip_recursive (off); for both listeners */
    const char *file;       /* where the block was (NULL: absent, all defaults) */
    int line;
} http_conf_t;

typedef struct vhost_conf {
    char *name;
    int enabled;            /* default on */
    int chunk_size;         /* default: the global chunk_size */
    int tcp_nodelay;        /* default off */
    int min_latency;        /* default off */
    /* play { } */
    int gop_cache;          /* default on */
    double queue_length;    /* seconds, default 30 */
    uint64_t queue_bytes;   /* payload bytes a stream's ring holds, default 64 MiB (rill's own) */
    int mw_latency;         /* ms, default 350 (0 with min_latency on) */
    int mw_msgs;            /* default 8 (0 with min_latency on) */
    int time_jitter;        /* enum time_jitter, default full */
    int send_buffer;        /* player socket SO_SNDBUF bytes, default 65536 (rill's own) */
    /* publish { } */
    int firstpkt_timeout;   /* ms, default 20000 */
    int normal_timeout;     /* ms, default 5000 */
    int takeover_timeout;   /* ms a publisher may be silent before a new publish of its stream
                             * replaces it; 0: never; default 1000 (rill's own) */
    int recv_buffer;        /* publisher socket SO_RCVBUF bytes; 0: the kernel's, default 0 (rill's own) */
    /* forward { } */
    int forward_enabled;    /* default off */
    dest_t *forward_dests;
    int nforward_dests;
    char *forward_backend;  /* on_forward URL, NULL when unset */
    int forward_backoff_min;/* ms before the first retry, doubling; default 500 (rill's own) */
    int forward_backoff_max;/* ms cap between retries; default 2000 (rill's own) */
    /* cluster { } (and the older mode/origin directly in the vhost) */
    int edge;               /* mode remote; default local (an origin) */
    dest_t *origins;        /* where an edge pulls from, in order */
    int norigins;
    dest_t *publish_origins;      /* where an edge sends publishes; default: origins */
    int npublish_origins;
    int token_traverse;     /* default off */
    int origin_connect_timeout; /* ms, default 1000 (rill's own) */
    int origin_read_timeout;    /* ms of upstream silence before failing over, default 2000 */
    int origin_backoff;     /* ms between rounds when every origin failed, default 500 */
    int origin_give_up;     /* ms of every origin failing before players are closed, default 30000 */
    int ingest_grace;       /* ms an upstream stays after its last player left, default 3000 */
    int origin_wait_stream; /* ms a play waits for a stream every origin says is absent, default 0 */
    int origin_absent_cache;/* ms a name every origin said is absent is answered from memory, default 2000 */
    int origin_connect_rate;/* upstream connection attempts per origin per second, default 20 */
    int origin_connect_inflight; /* upstream connection attempts per origin at once, default 8 */
    int waiting_plays_per_ip;    /* plays waiting for an upstream's answer per client address, default 32 */
    int origin_silence_factor;   /* silence longer than this times the longest recent gap is a hang, default 4 (0: off) */
    int origin_silence_min;      /* ms, never declare a hang sooner, default 300 */
    int origin_redundancy;       /* pull from a second origin too, kept as a standby; default off */
    /* http_remux { } */
    int http_remux_enabled; /* default off */
    char *http_remux_mount; /* default [vhost]/[app]/[stream].flv */
    int http_remux_republish_timeout; /* ms an HTTP-FLV player waits for a publisher to return, default 10000 (rill's own) */
    int http_remux_has_audio;   /* the FLV header's audio flag may be set, default on */
    int http_remux_has_video;   /* the FLV header's video flag may be set, default on */
    int http_remux_guess_has_av; /* flags from the stream's sequence headers, default on */
    /* hls { } */
    int hls_enabled;        /* default off */
    double hls_fragment;    /* seconds, default 10: a segment is cut at the first keyframe after this */
    double hls_window;      /* seconds of segments in the playlist, default 60 */
    double hls_td_ratio;    /* EXT-X-TARGETDURATION at least hls_fragment * this, default 1.5 */
    double hls_aof_ratio;   /* audio-only streams cut at hls_fragment * this, default 2.1 */
    int hls_wait_keyframe;  /* cut video segments only at keyframes, default on */
    char *hls_m3u8_file;    /* default [app]/[stream].m3u8 */
    char *hls_ts_file;      /* default [app]/[stream]-[seq].ts */
    char *hls_path;         /* default ./objs/nginx/html; files are written there only when it is set */
    int hls_path_set;       /* hls_path is in the config: write the files */
    int hls_cleanup;        /* remove segment files that left the playlist, default on */
    int hls_dispose;        /* seconds: an origin's playlist lives this long after unpublish, an edge's
                               HLS pull this long after its last request; default 120 */
    char *hls_entry_prefix; /* base URL before each segment's path in the playlist; default none */
    /* http_hooks { } */
    int hooks_enabled;      /* default off */
    char **hooks[HOOK_COUNT];      /* http:// URLs per callback, called in order; none by default */
    int nhooks[HOOK_COUNT];
    int hooks_timeout;      /* ms for each call (connect, send, answer), default 3000 (rill's own); also on_forward's */
    const char *file;       /* where it was defined */
    int line;
} vhost_conf_t;

typedef struct config {
    char *path;             /* the file it was read from */
    listen_conf_t *listens; /* default one: 0.0.0.0:1935 */
    int nlistens;
    int max_connections;    /* default 1000 */
    uint64_t input_budget;  /* bytes of partial RTMP messages, all connections; default 1 GiB (rill's own) */
    int daemon;             /* default off: rill stays in the foreground */
    char *pid_file;         /* default ./objs/rill.pid */
    int log_tank_file;      /* srs_log_tank file|console, default console */
    int log_level;          /* enum rill_log_level, default trace */
    char *log_file;         /* default ./objs/rill.log */
    int chunk_size;         /* default 60000 */
    char *resolver;         /* `resolver ip[:port] ...;` as "ip:port,ip:port"; NULL: /etc/resolv.conf's */
    int resolver_timeout;   /* ms a name lookup may take, default 2000 */
    int resolver_valid;     /* `resolver ... valid=TIME`: ms an answer is kept; -1 (default): its TTL */
    http_conf_t http_server;
    http_conf_t http_api;  /* same listen as http_server: one shared listener */
    vhost_conf_t *vhosts; /* __defaultVhost__ always present */
    int nvhosts;
    char **files;           /* file names (main + includes) that vhost->file points into */
    int nfiles;
} config_t;

/* Load and validate. On error returns RILL_ERR_CONF with "FILE:LINE: reason"
 * in err. Warnings (FILE:LINE: ...) are logged with rill_warn. */
int config_load(const char *path, config_t **out, char *err, size_t errlen);
int config_load_string(const char *text, const char *name, config_t **out,
                            char *err, size_t errlen);
void config_free(config_t *c);

/* The vhost for a name, else __defaultVhost__ (NULL if that is disabled). */
const vhost_conf_t *config_vhost(const config_t *c, const char *name);

#ifdef __cplusplus
}
#endif
#endif
