/* HLS in the server: one segmenter (hls_seg) per stream a vhost with
 * `hls { enabled on; }` publishes, fed by the hub's on_message without a
 * coroutine of its own (muxing into memory never yields), served by the HTTP
 * server from memory (hls_http.c).
 *
 * Origins segment every stream published there. Edges segment on demand:
 * the first playlist request for a stream holds the source with a consumer
 * of its own and starts the edge's pull, as a player would; the stream then
 * lives until nobody asked for hls_dispose seconds. An origin keeps a
 * stream's segments hls_dispose seconds after its publisher left (0: until
 * exit).
 *
 * Ownership: the manager owns every hls_stream and one coroutine, the
 * sweeper (task.h), which disposes of streams once a second. A request
 * never keeps a stream across a yield: it looks it up again, and what it
 * writes is a refcounted payload it took a reference to. */
#ifndef HLS_H
#define HLS_H

#include <stdint.h>
#include "hls_disk.h"
#include "hls_seg.h"
#include "hub.h"
#include "client.h"
#include "config.h"
#include "task.h"
#include "session_env.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hls_stream {
    char vhost[256], app[256], stream[256];
    const vhost_conf_t *vc;
    hls_seg_t *seg;
    source_t *src;         /* attached: its messages feed seg (src->hls == this); NULL otherwise */
    source_t *held;        /* edge: the source this stream holds (hub_acquire) ... */
    consumer_t *consumer;  /* ... with a consumer, so the edge's pull goes on */
    int64_t ended_ms;           /* the publisher left at (0: published, or never) */
    int64_t last_req_ms;        /* the last playlist or segment request */
    uint64_t requests;
    /* files (hls_path set): the playlist's path, a segment's around its number */
    int disk;
    char *disk_m3u8, *disk_ts_prefix, *disk_ts_suffix;
    uint64_t disk_made;         /* segments made when last written */
    uint64_t disk_first, disk_last; /* segment files on disk (none: first > last) */
    rill_payload_t *disk_pl;    /* the playlist last written */
    struct hls_stream *next;
} hls_stream_t;

/* An HLS player: requests of one IP and user agent for one stream. It is
 * listed as a client while it asks within its timeout. */
typedef struct hls_session {
    client_t client;
    const vhost_conf_t *vc;
    char vhost[256], app[256], stream[256], ua[256], param[512];
    int64_t last_ms;
    uint64_t out_bytes, in_bytes;
    struct hls_session *next;
} hls_session_t;

typedef struct hls_mgr {
    session_env_t *env;         /* config, hub, edge, hooks, clients */
    hub_observer_t obs;
    hls_stream_t *streams;
    int count;
    hls_session_t *sessions;
    int nsessions;
    task_t sweeper;
    hls_disk_t disk;            /* started with the first stream that writes files */
} hls_mgr_t;

/* Observe the hub and start the sweeper. 0 or RILL_ERR_NOMEM. */
int hls_start(hls_mgr_t *m, session_env_t *env);
/* Stop the sweeper, end every session and stream (releasing edge sources). */
void hls_stop(hls_mgr_t *m);
/* After a config reload: a live stream whose vhost now cuts or names
 * segments otherwise starts a new playlist under the new settings, fed
 * from its source; one whose vhost no longer has HLS stops (disposed as at
 * an unpublish). A stream not fed now takes them at its next publish. */
void hls_reconfigured(hls_mgr_t *m);

hls_stream_t *hls_find(hls_mgr_t *m, const char *vhost, const char *app, const char *stream);
/* Edge, a playlist request: the stream (made if needed) with its source
 * held, the pull started or kept, and the segmenter attached. NULL on no
 * memory or when the pull could not start. Never yields. */
hls_stream_t *hls_edge_demand(hls_mgr_t *m, const vhost_conf_t *vc, const char *app, const char *stream,
                              const char *param);
/* Sessions. Never yield. A session is made by a playlist request that
 * passed on_play (and token_traverse on an edge); its end sends on_stop. */
hls_session_t *hls_session_find(hls_mgr_t *m, const char *vhost, const char *app, const char *stream,
                                const char *ip, const char *ua);
/* id: the client id its on_play carried. NULL on no memory. */
hls_session_t *hls_session_add(hls_mgr_t *m, const vhost_conf_t *vc, uint32_t id, const char *app,
                               const char *stream, const char *ip, const char *ua, const char *param);
/* A request of the session's: it lives on, bytes counted. */
void hls_session_touch(hls_session_t *x, uint64_t bytes);

#ifdef __cplusplus
}
#endif
#endif
