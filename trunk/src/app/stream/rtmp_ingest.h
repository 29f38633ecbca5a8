/* RTMP messages into a source: what a publisher on this server and an edge's
 * upstream both send. Audio and video go in as they are (the payload is
 * shared, not copied), aggregate messages are split into their FLV tags, and
 * script data is reduced to onMetaData (the @setDataFrame wrapper stripped). */
#ifndef RTMP_INGEST_H
#define RTMP_INGEST_H

#include <stdint.h>
#include "hub.h"
#include "rtmp_msg.h"
#include "rtmp_session.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ts_offset is added to every timestamp (an edge rebases a new upstream).
 * Returns 1 for media, 0 for anything else, or a negative RILL_ERR_*. The
 * message stays the caller's. */
int rtmp_ingest(source_t *s, const rtmp_msg_t *m, uint32_t ts_offset);
/* The ingesting session's before_read (ctx: the source): the stream's write
 * pass over what was ingested since the last read, so messages that came in
 * one read go out in one write per player. What the pass wrote counts toward
 * the session's yield budget (RTMP_SESSION_YIELD_EVERY) as if read: the
 * players' writes are done in this coroutine now, and a publisher whose
 * socket always has data must still let the others run (new connections,
 * the players handed back) about once per MiB. */
void rtmp_ingest_flush(rtmp_session_t *from, void *source);

#ifdef __cplusplus
}
#endif
#endif
