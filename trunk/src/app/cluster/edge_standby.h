/* origin_redundancy: a second upstream of the same stream, from another
 * origin, kept playing beside the active one. Its messages are not
 * ingested: the last EDGE_STANDBY_QLEN of them wait in a ring, so that when
 * the active origin fails (or falls behind) the pull takes the standby's
 * connection over and continues at the first message after the last one it
 * forwarded, by timestamp: no frame repeated, none missing, no new sequence
 * headers unless they differ. That holds when both origins carry the stream
 * on one timeline (origins fed by the same master's forwarders from the
 * start); otherwise the switch falls back to the ordinary one (rebased).
 *
 * Owned by its pull: started and stopped (interrupt + join) by the pull's
 * coroutine only (edge.c); this file holds its ring of messages (payload
 * references it releases) and the alignment rule. */
#ifndef EDGE_STANDBY_H
#define EDGE_STANDBY_H

#include <stddef.h>
#include <stdint.h>
#include "task.h"
#include "rtmp_dial.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EDGE_STANDBY_QLEN 256       /* about 3.7 s of 25 fps video with AAC */

/* Merging the two copies (in the spirit of SMPTE ST 2022-7): while both
 * upstreams carry the stream on one timeline, each media message goes to
 * players from whichever upstream delivers it first and the later copy is
 * dropped, per track (audio, video) by timestamp. A hang or a death of
 * either upstream then costs players nothing. Messages with equal
 * timestamps within a track are told apart by their rank among them.
 * A position is (timestamp, how many messages at that timestamp). */
typedef struct edge_merge_pos {
    uint32_t ts;
    int n;                      /* messages seen (or sent) at ts */
    int have;
} edge_merge_pos_t;

typedef struct edge_merge {
    edge_merge_pos_t t[2];      /* EDGE_TRACK_AUDIO, EDGE_TRACK_VIDEO */
} edge_merge_t;

enum { EDGE_TRACK_AUDIO = 0, EDGE_TRACK_VIDEO = 1 };
enum edge_merge_verdict {
    EDGE_MERGE_DROP = 0,        /* a copy of what was sent, older, or not the next one */
    EDGE_MERGE_SEND = 1,        /* the next message of the track: forward it */
    EDGE_MERGE_APART = 2,       /* the standby left the timeline (went far back, or jumped ahead) */
};

/* A media message at ts on a track from one upstream: note it in that
 * upstream's position (copy) and decide against what was sent (sent,
 * updated when it says SEND). The active upstream (primary) sends whatever
 * is past what was sent, and its timeline wins when its own timestamps go
 * back by more than max_skew_ms (a restart); a smaller step back is a part
 * sent again, dropped until it passes what was sent. The standby sends only
 * the message right after what was sent (its previous one was the last
 * sent: no hole), and is APART when its own timestamps go back by more than
 * max_skew_ms or it jumps more than that ahead. */
int edge_merge_take(edge_merge_t *sent, edge_merge_t *copy, int track, uint32_t ts, int primary, int max_skew_ms);

/* An ordinary switch (no standby, or one that cannot take over): does the
 * new origin continue the timeline players got? Origins fed by one master's
 * forwarders carry the same messages at the same timestamps; origins with
 * publishers of their own do not. Its media messages (sequence headers
 * aside) are held, each noted in its position (copy) with its print, until
 * one decides: the message at exactly the last position sent on its track
 * with the same print (the same bytes) is SAME, and then what players had
 * is dropped by the merge (edge_merge_take, as the active copy) and they
 * continue at the next new frame; a message past that position without
 * meeting it, or further than max_skew_ms from it, is APART (today's
 * rebase); one before it is WAIT (a part players may have had). A track
 * nothing was sent on decides nothing. The caller bounds the wait (time and
 * messages held) and takes APART past it. */
enum edge_rejoin_verdict { EDGE_REJOIN_WAIT = 0, EDGE_REJOIN_SAME = 1, EDGE_REJOIN_APART = 2 };
int edge_rejoin_check(const edge_merge_t *sent, const uint32_t sent_print[2], edge_merge_t *copy, int track,
                      uint32_t ts, uint32_t print, int max_skew_ms);
/* The print of a message's bytes (FNV-1a over them and their size). */
uint32_t edge_msg_print(const uint8_t *p, size_t n);

struct edge_pull;

typedef struct edge_standby {
    struct edge_pull *g;
    int idx;                    /* the origin, in the vhost's list */
    char origin[300];           /* host:port */
    int state;                  /* EDGE_CONNECTING, EDGE_PLAYING */
    int failed;                 /* the body ended on an error or lost stream */
    int handover;               /* the pull takes cl: the body must not close it */
    int64_t ended_ms;           /* when the body ended (failed) */
    rtmp_dial_t cl;
    rtmp_msg_t q[EDGE_STANDBY_QLEN];  /* a ring, oldest at qhead */
    int qhead, qn;
    uint32_t newest_ts;         /* of the newest media frame received (not a header), origin's timeline */
    int have_media;
    edge_merge_t pos;           /* where its copy is, per track */
    int apart;                  /* not on the active's timeline: its messages are not merged */
    uint64_t merged;            /* messages it delivered first (forwarded to players) */
    task_t task;
} edge_standby_t;

/* An audio or video sequence header (codec data, sent again at timestamp 0
 * by an origin's cache): not a frame on the stream's timeline. */
int edge_msg_is_seq_header(const rtmp_msg_t *m);
/* Queue a message (takes its payload reference), dropping the oldest when full. */
void edge_standby_push(edge_standby_t *sb, rtmp_msg_t *m);
/* Release every queued message. */
void edge_standby_drain(edge_standby_t *sb);
/* The oldest queued message (the caller owns its payload reference), 0; or 1 when empty. */
int edge_standby_pop(edge_standby_t *sb, rtmp_msg_t *out);
/* The oldest media frame's timestamp queued (sequence headers left out); 0 when none (have set to 0). */
uint32_t edge_standby_oldest_ts(const edge_standby_t *sb, int *have);

/* Pure: can the pull continue from a standby without a repeated or
 * missing frame? last_sent: the newest media timestamp forwarded (origin
 * timeline); the standby's oldest and newest queued media timestamps. The
 * standby must overlap what was sent (its oldest at or before last_sent, or
 * it is behind and will pass last_sent live) and be within max_skew_ms. */
int edge_standby_aligned(uint32_t last_sent, int have_oldest, uint32_t oldest, uint32_t newest, int max_skew_ms);

#ifdef __cplusplus
}
#endif
#endif
