#include "rtmp_ingest.h"
#include "rill_bytes.h"
#include "rill_error.h"
#include "rill_log.h"
#include "rtmp_cmd.h"

/* An aggregate message holds FLV tags; their times are relative to the first. */
static int ingest_aggregate(source_t *s, const rtmp_msg_t *m, uint32_t ts_offset)
{
    rill_reader_t r;
    rill_reader_init(&r, m->payload->data, m->payload->size);
    int first = 1;
    uint32_t base = 0;
    while (rill_reader_left(&r) > 0) {
        uint8_t type = rill_read_u8(&r);
        uint32_t size = rill_read_u24be(&r);
        uint32_t ts = rill_read_u24be(&r);
        ts |= (uint32_t)rill_read_u8(&r) << 24;
        rill_read_skip(&r, 3);
        const uint8_t *data = rill_read_bytes(&r, size);
        rill_read_skip(&r, 4);
        if (r.err) return RILL_ERR_FLV;
        if (first) base = ts;
        first = 0;
        if (type != RTMP_MSG_AUDIO && type != RTMP_MSG_VIDEO) continue;
        rill_payload_t *pl = rill_payload_from(data, size);
        if (!pl) return RILL_ERR_NOMEM;
        int rc = source_push(s, type, m->timestamp + (ts - base) + ts_offset, pl);
        if (rc) return rc;
    }
    return 0;
}

static int ingest_data(source_t *s, const rtmp_msg_t *m, uint32_t ts_offset)
{
    const uint8_t *p = m->payload->data;
    size_t n = m->payload->size;
    if (m->type == RTMP_MSG_AMF3_DATA && n > 0) {
        p++;
        n--;
    }
    rill_writer_t w;
    rill_writer_init(&w, 0);
    int rc = rtmp_metadata_unwrap(p, n, &w);
    if (rc == 1) {
        rill_payload_t *pl = rill_payload_from(w.data, w.len);
        rc = pl ? source_push(s, RTMP_MSG_AMF0_DATA, m->timestamp + ts_offset, pl) : RILL_ERR_NOMEM;
        if (!rc) rill_trace("metadata %zu bytes", w.len);
    } else if (rc == 0) {
        rill_verbose("ignore script data of %zu bytes", n);
    }
    rill_writer_free(&w);
    return rc;
}

int rtmp_ingest(source_t *s, const rtmp_msg_t *m, uint32_t ts_offset)
{
    int rc;
    switch (m->type) {
    case RTMP_MSG_AUDIO:
    case RTMP_MSG_VIDEO:
        rc = source_push(s, m->type, m->timestamp + ts_offset, rill_payload_ref(m->payload));
        return rc ? rc : 1;
    case RTMP_MSG_AGGREGATE:
        rc = ingest_aggregate(s, m, ts_offset);
        return rc ? rc : 1;
    case RTMP_MSG_AMF0_DATA:
    case RTMP_MSG_AMF3_DATA:
        rc = ingest_data(s, m, ts_offset);
        return rc < 0 ? rc : 0;
    }
    return 0;
}

void rtmp_ingest_flush(rtmp_session_t *from, void *source)
{
    source_t *s = source;
    uint64_t out = s->bytes_out;    /* source_flush never yields: the growth is the pass's */
    source_flush(s);
    from->since_yield += s->bytes_out - out;
}
