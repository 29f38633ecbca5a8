/* One play, whatever the protocol (RTMP play, HTTP-FLV GET): the on_play
 * hook, token_traverse, holding the source, the edge's pull, registering
 * the client, the pump, and the teardown, written once. The protocol gives
 * the few steps that differ as callbacks (how to refuse, how to start, what
 * to tell the player when the publisher changes).
 *
 *   play_session_t ps = { .env = env, .vc = vc, .client = &cl, .proto = &my_proto, .ctx = me };
 *   rc = play_session_run(&ps);     // returns when the play ends (or was refused)
 *   ...                             // RTMP: its connection's own end (hooks) goes here
 *   play_session_end(&ps);          // consumer, on_stop and unregister (own_client), source
 *
 * The yield rule here: the source is held by a consumer from the moment it
 * is acquired, before any call that can yield, and until play_session_end.
 * Nothing else of the hub is kept across a yield. */
#ifndef PLAY_SESSION_H
#define PLAY_SESSION_H

#include "hub.h"
#include "client.h"
#include "config.h"
#include "session_env.h"
#include "stream_pump.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct play_session play_session_t;

/* What the player is told about its source while it plays. */
enum play_event { PLAY_EV_PUBLISH = 1, PLAY_EV_UNPUBLISH, PLAY_EV_FAILED };

typedef struct play_proto {
    /* The play is refused before the player was answered (err: RILL_ERR_DENIED,
     * RILL_ERR_NOT_FOUND or RILL_ERR_TOO_MANY; ps->reason says why). Tell the
     * player; may yield.
     * NULL: the caller answers from the error code (HTTP). */
    void (*refuse)(play_session_t *ps, int err);
    /* The source is held and the client registered. Answer the player and
     * set up p (stream_pump_init_*, bytes that go first); may yield.
     * p is NULL for a probe (HEAD): answer only. */
    int (*start)(play_session_t *ps, stream_pump_t *p);
    /* The source's publisher changed or its edge gave up: 0 goes on,
     * anything else ends the play (as a pump tick does). NULL: go on. */
    int (*status)(play_session_t *ps, int event);
    /* Each pump round, after status (e.g. a republish timeout). NULL: none. */
    int (*tick)(play_session_t *ps);
    /* A message from the player (RTMP: pause, deleteStream), as the pump's
     * on_msg (the pump's ctx is the session's). NULL: ignored. */
    int (*on_msg)(play_session_t *ps, stream_pump_t *p, rtmp_msg_t *m);
} play_proto_t;

struct play_session {
    /* set by the protocol */
    session_env_t *env;
    const vhost_conf_t *vc;
    client_t *client;           /* described (ip, vhost, app, stream, param) */
    int client_type;            /* CLIENT_PLAY or _FLV, set once on_play allowed */
    int own_client;             /* register the client here and end it (on_stop) in play_session_end */
    int need_publisher;         /* origin: refuse a stream nobody publishes instead of waiting for one */
    int probe;                  /* answer as a play would, but hold and pump nothing (HTTP HEAD) */
    int mw_latency, mw_msgs;    /* the pump's merging, for start() */
    const char *label;          /* log prefix: "play", "flv play 1.2.3.4:5" */
    int watch_peer, peer_fd;    /* watch_peer: an edge play that waits for its upstream watches peer_fd
                                 * (the player's socket) and ends when the player closes it */
    const play_proto_t *proto;
    void *ctx;
    /* set here */
    source_t *src;              /* held (a consumer) from acquire to play_session_end */
    consumer_t *consumer;
    int allowed;                /* on_play allowed it: its end sends on_stop */
    int registered;             /* in the server's client list (own_client) */
    const char *reason;         /* why it ended, for the close line */
};

/* Check, hold, start, pump until the play ends. 0 or RILL_ERR_*; a refusal
 * is RILL_ERR_DENIED, RILL_ERR_NOT_FOUND or RILL_ERR_TOO_MANY (proto->refuse
 * told the player). */
int play_session_run(play_session_t *ps);
/* Release everything run took; safe after any return of run, and once. */
void play_session_end(play_session_t *ps);

#ifdef __cplusplus
}
#endif
#endif
