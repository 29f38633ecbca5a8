/* One stream's HLS: the hub's messages in, MPEG-TS segments and the live
 * playlist out, all in memory. It decides where segments are cut (at the
 * first keyframe past hls_fragment; audio-only at hls_fragment *
 * hls_aof_ratio), keeps the window (hls_window seconds in the playlist, as
 * much again of segments just dropped from it, for players holding an older
 * playlist), and writes the playlist text once per change. No sockets, no
 * state-threads, never yields: fed from the publisher's coroutine.
 *
 * Segments and playlists are refcounted payloads: a request takes a
 * reference (hls_seg_segment, hls_seg_playlist) and keeps the bytes however
 * long its write takes, whatever the segmenter drops meanwhile.
 *
 * Discontinuities: a new publisher (hls_seg_publish) and a change of codec
 * parameters or tracks (an edge that switched to an origin whose encoder
 * differs) start a new segment marked EXT-X-DISCONTINUITY, at the next
 * keyframe. ENDLIST: hls_seg_unpublish closes the open segment and ends the
 * playlist with EXT-X-ENDLIST; a publisher that comes back removes it and
 * its first segment carries EXT-X-DISCONTINUITY. */
#ifndef HLS_SEG_H
#define HLS_SEG_H

#include <stdint.h>
#include "hls_ts.h"
#include "media_msg.h"
#include "rill_payload.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hls_seg_conf {
    uint32_t fragment_ms;       /* hls_fragment */
    uint32_t window_ms;         /* hls_window */
    double td_ratio;            /* hls_td_ratio */
    double aof_ratio;           /* hls_aof_ratio */
    int wait_keyframe;          /* hls_wait_keyframe */
    const char *uri_prefix;     /* a segment's URI in the playlist: prefix, sequence number, suffix */
    const char *uri_suffix;
} hls_seg_conf_t;

typedef struct hls_segment {
    uint64_t seq;
    uint32_t duration_ms;
    int discontinuity;          /* EXT-X-DISCONTINUITY before it */
    rill_payload_t *data;       /* the TS bytes */
} hls_segment_t;

typedef struct hls_seg {
    hls_seg_conf_t conf;
    char *uri_prefix, *uri_suffix;
    hls_ts_t *ts;               /* this publish's muxer; NULL until its first frame */
    int ts_video, ts_audio;     /* the muxer's tracks */
    rill_payload_t *vsh, *ash;  /* codec data of the current sequence headers (after the FLV bytes) */
    int video_ok, audio_ok;     /* the header's codec is one HLS carries here (H.264, AAC) */
    int restart;                /* tracks changed: a new muxer at the next cut point */
    int disc_next;              /* the next segment starts a discontinuity */
    int open;                   /* a segment is being written */
    int open_disc;
    int64_t open_start, last_ts;/* ms, of the open segment */
    int ended;                  /* EXT-X-ENDLIST */
    /* timestamps: 32-bit ms from the hub, unwrapped */
    int ts_started;
    uint32_t ts_last32;
    int64_t ts_high;
    /* segments held, oldest first: [0, nwindow_start) left the playlist, the rest is in it */
    hls_segment_t *segs;
    int nsegs, cap, window_start;
    uint64_t next_seq;
    uint64_t disc_seq;          /* EXT-X-DISCONTINUITY-SEQUENCE: discontinuities that left the playlist */
    uint32_t target_s;          /* EXT-X-TARGETDURATION: never goes down */
    rill_payload_t *playlist;   /* the text, without a query */
    uint64_t frames_in, frames_dropped, segments_made;
} hls_seg_t;

/* NULL on no memory. conf's strings are copied. */
hls_seg_t *hls_seg_new(const hls_seg_conf_t *conf);
void hls_seg_free(hls_seg_t *g);
/* A message the source pushed (sequence headers, frames; script data is ignored).
 * 0, or RILL_ERR_NOMEM / RILL_ERR_CODEC: the stream's HLS starts over at the
 * next keyframe (logged by the caller). */
int hls_seg_feed(hls_seg_t *g, const media_msg_t *m);
/* A publisher arrived (a first one or a new one). */
void hls_seg_publish(hls_seg_t *g);
/* The publisher left: the open segment is closed, EXT-X-ENDLIST. */
void hls_seg_unpublish(hls_seg_t *g);
/* The playlist with one reference for the caller; NULL while it has no
 * segment. query: appended to each segment URI ("" or NULL: none). */
rill_payload_t *hls_seg_playlist(hls_seg_t *g, const char *query);
/* The segment with that sequence number (a reference for the caller), or NULL. */
rill_payload_t *hls_seg_segment(hls_seg_t *g, uint64_t seq);
/* Segments in the playlist. */
static inline int hls_seg_count(const hls_seg_t *g) { return g->nsegs - g->window_start; }

#ifdef __cplusplus
}
#endif
#endif
