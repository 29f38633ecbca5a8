/* HTTP callbacks (SRS's http_hooks): POST a JSON body about a client to each
 * URL of a vhost's on_connect / on_publish / on_play and let the answers
 * decide, or tell on_close / on_unpublish / on_stop that something ended.
 *
 * A check runs in the client's own coroutine (only that client waits) and
 * calls the URLs in order: every one must answer HTTP 200 with a body of `0`
 * or JSON with "code": 0. Anything else, a refused connection or the
 * vhost's timeout denies. Notifications run in short-lived coroutines owned
 * by this module, so a slow hook server never holds up a client's teardown;
 * http_hooks_stop() ends them at shutdown. */
#ifndef HTTP_HOOKS_H
#define HTTP_HOOKS_H

#include <stddef.h>
#include <stdint.h>
#include "client.h"
#include "config.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

struct source;
struct hub;

/* What a body says; NULL strings are sent as "". */
typedef struct hook_event {
    const char *action;         /* "on_connect", ..., "on_forward" */
    const char *server_id, *service_id;
    uint32_t client_id;
    const char *ip, *vhost, *app, *stream, *param, *tc_url;
    uint32_t stream_id;         /* the API's stream id; 0: no stream yet (left out) */
    uint64_t send_bytes, recv_bytes;
} hook_event_t;

/* The body for one event (SRS's fields for the action). malloc'd; NULL on no memory. */
char *http_hooks_body(const hook_event_t *e);
const char *http_hooks_action(int hook);    /* HOOK_* -> "on_connect", ... */
/* 1 when an answer allows: status 200 and a body of 0 or {"code":0,...}
 * (whitespace around is fine). 0 otherwise, with *why saying what was wrong. */
int http_hooks_answer_allows(int status, const char *body, size_t len, const char **why);
/* The on_forward answer {"code":0,"data":{"urls":[...]}}: the URLs, malloc'd
 * (free with http_hooks_free_urls). 0, or RILL_ERR_DENIED (code != 0) or
 * RILL_ERR_HTTP (not that shape), with *why set. */
int http_hooks_parse_forward(int status, const char *body, size_t len, char ***urls, int *n, const char **why);
void http_hooks_free_urls(char **urls, int n);

typedef struct hook_job hook_job_t;

typedef struct http_hooks {
    struct hub *hub;            /* to name a client's stream */
    const clients_t *clients;      /* to find a forwarded stream's publisher */
    const char *server_id, *service_id; /* what the bodies name this process with */
    tasks_t jobs;               /* notification coroutines: owned, joined and freed here */
    int stopping;
    /* for the metrics */
    uint64_t calls, allowed, denied, failed;
} http_hooks_t;

/* hub, clients and the ids are the caller's and outlive h. */
int http_hooks_init(http_hooks_t *h, struct hub *hub, const clients_t *clients,
                    const char *server_id, const char *service_id);
/* HOOK_CONNECT, _PUBLISH or _PLAY for a client (registered or not):
 * 0 when allowed (or the vhost has no such hook), RILL_ERR_DENIED. A
 * passed on_connect marks the client so that its end sends on_close. */
int http_hooks_check(http_hooks_t *h, const vhost_conf_t *vc, int hook, client_t *cl);
/* A client ends: on_unpublish (it published), on_stop (it played) and
 * on_close (it passed on_connect), in that order, from one coroutine. */
void http_hooks_client_end(http_hooks_t *h, const vhost_conf_t *vc, const client_t *cl);
/* on_forward: POST to the forward backend for a published source and return
 * the rtmp:// URLs it answers. Blocks the calling coroutine (bounded by the
 * vhost's hooks timeout). 0 or RILL_ERR_*. */
int http_hooks_on_forward(http_hooks_t *h, const vhost_conf_t *vc, struct source *s, char ***urls, int *n);
/* Shutdown: give notifications under way a moment (STOP_GRACE_MS), then
 * interrupt, join and free every one. */
void http_hooks_stop(http_hooks_t *h);

#ifdef __cplusplus
}
#endif
#endif
