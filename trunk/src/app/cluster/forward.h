/* Forward: every stream published on a vhost with `forward` is pushed to each
 * destination (a slave origin) under the same app, stream and params. Each
 * destination has its own coroutine reading the shared ring through its own
 * consumer, so a slow or dead slave never slows the publisher, its players
 * or the other slaves. On any failure a forwarder logs, backs off and
 * reconnects until the publisher leaves. */
#ifndef FORWARD_H
#define FORWARD_H

#include <st.h>
#include <stdint.h>
#include "hub.h"
#include "config.h"
#include "rtmp_dial.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

enum forwarder_state { FWD_CONNECTING = 0, FWD_FORWARDING, FWD_BACKOFF };

typedef struct forwarder {
    struct forward_mgr *mgr;
    source_t *src;
    dest_t *dests;              /* one destination, or an edge's origin list */
    int ndests;
    int cur;                    /* the one in use */
    char dest[300];             /* dests[cur] as host:port, for logs and the API */
    char app[256];
    char stream[1300];          /* stream + the publisher's params */
    char tc_url[600];
    int backoff_min, backoff_max;
    int failures;               /* rounds that failed in a row (forward_after_failure) */
    int chunk_size;
    int send_buffer;            /* SO_SNDBUF of its socket: the vhost's play send_buffer */
    task_t task;                /* owned by the manager: on_unpublish, reload or shutdown stops it */
    rtmp_dial_t *opened;        /* an edge publish's upstream, opened before the start: its first session */
    int configured;             /* from the vhost's destination list (a reload may stop it) */
    int state;
    uint64_t bytes_sent;        /* sessions that ended */
    const uint64_t *live_out;   /* the session under way's counter, NULL between sessions */
    uint64_t live_base;
    uint32_t reconnects;
    uint32_t cid;
    struct forwarder *next;
} forwarder_t;

struct http_hooks;
typedef struct fwd_query fwd_query_t;

typedef struct forward_mgr {
    hub_observer_t obs;
    const config_t *conf;
    forwarder_t *list;          /* every running forwarder */
    int count;
    uint64_t closed_bytes;      /* sent by forwarders that stopped */
    struct http_hooks *hooks;   /* asks a vhost's forward backend (set by the server) */
    fwd_query_t *queries;       /* backend questions, one per published source, joined on unpublish */
    /* The streams published on an edge while the edge pulls the same name
     * for its players: they go to the origin from here, out of the hub's
     * sight (the pull keeps the hub's source; players get the publish back
     * through it). Its unpublish stops their forwarders as the hub's does. */
    hub_t relay;
    hub_observer_t relay_obs;
} forward_mgr_t;

/* The forwarder's decisions, pure (unit-tested): after a session that
 * ended with rc, having been up (was_up) for ran_ms, what next. */
typedef struct fwd_next {
    int cur;                    /* the destination to try next */
    int64_t wait_ms;            /* back off this long first (0: at once) */
    int failures;               /* the new count of failed rounds */
    int attempt;                /* the failed try's number in the current run of failures (for the log) */
    int log;                    /* worth a warning: the first, every 10th, or a session that was up */
} fwd_next_t;
fwd_next_t forward_after_failure(int cur, int ndests, int failures, int was_up, int64_t ran_ms, int backoff_min,
                                 int backoff_max);

void forward_init(forward_mgr_t *m, hub_t *hub, const config_t *conf);
const char *forward_state_name(int state);
/* After a config reload: stop the configured forwarders of streams being
 * published whose destination is no longer listed, start the new ones. */
void forward_reconcile(forward_mgr_t *m, hub_t *hub);
/* Stop every forwarder and free the relay hub (shutdown). */
void forward_stop_all(forward_mgr_t *m);
/* Bytes sent: by one forwarder so far; by every forwarder ever. */
uint64_t forwarder_bytes(const forwarder_t *f);
uint64_t forward_bytes_total(const forward_mgr_t *m);
/* A client's publish on an edge goes to the vhost's publish_origin list
 * (else its origins), and the origin's answer is the client's. */
typedef struct forward_up {
    rtmp_dial_t *cl;            /* the upstream that took the publish, or NULL */
    int cur;                    /* its place in the list */
    char origin[300];           /* the last origin asked, host:port */
    char status[128];           /* a refusal: the origin's onStatus code */
} forward_up_t;
/* Ask the origins in turn to take the publish of stream ("name?params"):
 * 0 with up->cl open; RILL_ERR_STREAM_BUSY (the origin has another live
 * publisher of it) or RILL_ERR_DENIED (it refused otherwise): the answer;
 * another error: no origin could be asked (the publish may go on, its
 * forwarder retries). Yields. */
int forward_edge_open(const vhost_conf_t *vc, const char *vhost, const char *app, const char *stream,
                      forward_up_t *up);
/* Forward s (now published by the client) upstream, from up->cl when it is
 * open (taken in any case), failing over along the list. No yield. */
int forward_edge_start(forward_mgr_t *m, source_t *s, const vhost_conf_t *vc, forward_up_t *up);
void forward_up_close(forward_up_t *up);
/* Start forwarding a source to one rtmp:// URL (the on_forward backend's answer). */
int forward_start_url(forward_mgr_t *m, source_t *s, const vhost_conf_t *vc, const char *url);

#ifdef __cplusplus
}
#endif
#endif
