/* RTMP chunk stream + message decode over a whole connection's bytes (what a
 * publisher sends after the handshake). The stream is decoded twice: in one
 * piece and in pieces whose sizes follow from the input; both must give the
 * same messages and the same error. Set Chunk Size is applied the way
 * rtmp_session.c does; every command goes through rtmp_cmd_parse (and the
 * connect/publish/play argument handling of rtmp_conn.c), data through
 * rtmp_metadata_unwrap, audio/video through the FLV probes, and every message
 * is chunked again and must decode back to itself. */
#include "amf0.h"
#include "flv.h"
#include "fuzz_util.h"
#include "rill_bytes.h"
#include "rill_error.h"
#include "rtmp_chunk.h"
#include "rtmp_cmd.h"
#include "rtmp_url.h"

typedef struct rec {
    uint8_t type;
    uint32_t csid, stream_id, timestamp, size;
    uint64_t hash;
} rec_t;

typedef struct run {
    rec_t *recs;
    size_t n, cap;
    int err;
} run_t;

static void add_rec(run_t *r, const rtmp_msg_t *m)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->recs = realloc(r->recs, r->cap * sizeof *r->recs);
        if (!r->recs) abort();
    }
    rec_t *e = &r->recs[r->n++];
    e->type = m->type;
    e->csid = m->csid;
    e->stream_id = m->stream_id;
    e->timestamp = m->timestamp;
    e->size = m->payload->size;
    e->hash = fuzz_hash(m->payload->data, m->payload->size);
}

/* rtmp_conn.c: stream names and connect parameters. */
static void use_name(const char *name)
{
    char stream[256], param[1024], v[256];
    if (!name || rtmp_split_param(name, stream, sizeof stream, param, sizeof param)) return;
    rtmp_param_get(param, "vhost", v, sizeof v);
    rtmp_param_get(param, "domain", v, sizeof v);
}

static void inspect_command(const uint8_t *p, size_t n, int amf3)
{
    rtmp_cmd_t cmd;
    if (rtmp_cmd_parse(p, n, amf3, &cmd) != 0) return;
    FUZZ_CHECK(cmd.name && cmd.nvals >= 2);
    const amf0_value_t *obj = rtmp_cmd_arg(&cmd, 0);
    if (!strcmp(cmd.name, "connect")) {
        const char *app = amf0_object_get_string(obj, "app");
        const char *tc = amf0_object_get_string(obj, "tcUrl");
        double enc = amf0_object_get_number(obj, "objectEncoding", 0);
        amf0_object_get(obj, "rillEdge");
        use_name(app);
        rtmp_url_t u;
        if (tc && rtmp_url_parse(tc, &u) == 0) use_name(u.param);
        rill_writer_t w;
        rill_writer_init(&w, 0);
        FUZZ_CHECK(rtmp_cmd_connect_result(&w, cmd.txid, enc) == 0);
        rill_writer_free(&w);
    } else {
        use_name(rtmp_cmd_arg_string(&cmd, 1));
        rill_writer_t w;
        rill_writer_init(&w, 0);
        FUZZ_CHECK(rtmp_cmd_result(&w, cmd.txid, rtmp_cmd_arg(&cmd, 1)) == 0);
        rill_writer_free(&w);
    }
    rtmp_cmd_free(&cmd);
}

static void inspect_data(const uint8_t *p, size_t n, int amf3)
{
    if (amf3 && n > 0) { p++; n--; }   /* as rtmp_ingest.c */
    rill_writer_t w;
    rill_writer_init(&w, 0);
    int rc = rtmp_metadata_unwrap(p, n, &w);
    FUZZ_CHECK(rc == 0 || rc == 1 || rc == RILL_ERR_AMF);
    if (rc == 1) {
        amf0_value_t **vals;
        size_t count;
        FUZZ_CHECK(amf0_decode_all(w.data, w.len, &vals, &count) == 0);
        FUZZ_CHECK(count >= 2 && vals[0]->type == AMF0_STRING && !strcmp(vals[0]->str, "onMetaData"));
        amf0_free_all(vals, count);
    }
    rill_writer_free(&w);
}

static void inspect_media(uint8_t type, const uint8_t *p, size_t n)
{
    if (type == RTMP_MSG_VIDEO) {
        flv_video_info_t vi;
        video_params_t vp;
        if (flv_video_probe(p, n, &vi) == 0) FUZZ_CHECK(vi.header_size <= n);
        flv_video_parse_seq_header(p, n, &vp);
    } else {
        flv_audio_info_t ai;
        audio_params_t ap;
        flv_audio_probe(p, n, &ai);
        flv_audio_parse_seq_header(p, n, &ap);
    }
}

static void inspect(const rtmp_msg_t *m)
{
    const uint8_t *p = m->payload->data;
    size_t n = m->payload->size;
    switch (m->type) {
    case RTMP_MSG_AMF0_COMMAND: inspect_command(p, n, 0); break;
    case RTMP_MSG_AMF3_COMMAND: inspect_command(p, n, 1); break;
    case RTMP_MSG_AMF0_DATA: inspect_data(p, n, 0); break;
    case RTMP_MSG_AMF3_DATA: inspect_data(p, n, 1); break;
    case RTMP_MSG_AUDIO: case RTMP_MSG_VIDEO: inspect_media(m->type, p, n); break;
    case RTMP_MSG_AGGREGATE: {
        size_t pos = 0;
        flv_tag_t tag;
        while (flv_read_tag(p, n, &pos, &tag) == 1)
            if (tag.type == RTMP_MSG_AUDIO || tag.type == RTMP_MSG_VIDEO)
                inspect_media(tag.type, tag.data, tag.size);
        break;
    }
    }
}

/* Chunk the message again (contiguous and iovec forms) and decode it back. */
static void reencode(const rtmp_msg_t *m, uint32_t chunk_size)
{
    rill_writer_t w;
    rill_writer_init(&w, 0);
    FUZZ_CHECK(rtmp_chunk_encode_to(m, chunk_size, &w) == 0);

    size_t hcap = rtmp_chunk_header_bytes(m, chunk_size);
    uint32_t nchunks = rtmp_chunk_count(m->payload->size, chunk_size);
    uint8_t *hdr = malloc(hcap);
    struct iovec *iov = malloc(2 * nchunks * sizeof *iov);
    size_t hused = 0;
    int niov = rtmp_chunk_encode(m, chunk_size, hdr, hcap, &hused, iov, (int)(2 * nchunks));
    FUZZ_CHECK(niov > 0 && hused <= hcap);
    size_t off = 0;
    for (int i = 0; i < niov; i++) {
        FUZZ_CHECK(off + iov[i].iov_len <= w.len && !memcmp(w.data + off, iov[i].iov_base, iov[i].iov_len));
        off += iov[i].iov_len;
    }
    FUZZ_CHECK(off == w.len);
    free(hdr);
    free(iov);

    rtmp_chunk_decoder_t d;
    rtmp_chunk_decoder_init(&d, 0);
    FUZZ_CHECK(rtmp_chunk_decoder_set_chunk_size(&d, chunk_size) == 0);
    rtmp_msg_t back;
    size_t used = 0;
    FUZZ_CHECK(rtmp_chunk_decode(&d, w.data, w.len, &used, &back) == 1);
    FUZZ_CHECK(used == w.len);
    FUZZ_CHECK(back.type == m->type && back.csid == m->csid && back.stream_id == m->stream_id &&
               back.timestamp == m->timestamp && back.payload->size == m->payload->size &&
               !memcmp(back.payload->data, m->payload->data, m->payload->size));
    rill_payload_unref(back.payload);
    rtmp_chunk_decoder_free(&d);
    rill_writer_free(&w);
}

/* rtmp_session.c handle_control: 1 when consumed, *err set on a refused size. */
static int control(rtmp_chunk_decoder_t *d, const rtmp_msg_t *m, int *err)
{
    const uint8_t *p = m->payload->data;
    uint32_t n = m->payload->size;
    *err = 0;
    switch (m->type) {
    case RTMP_MSG_SET_CHUNK_SIZE:
        if (n < 4) { *err = RILL_ERR_CHUNK_SIZE; return 1; }
        *err = rtmp_chunk_decoder_set_chunk_size(d, rill_get_u32be(p));
        return 1;
    case RTMP_MSG_WINDOW_ACK_SIZE: case RTMP_MSG_ACK: case RTMP_MSG_ABORT:
    case RTMP_MSG_SET_PEER_BW: case RTMP_MSG_USER_CONTROL:
        return 1;
    }
    return 0;
}

/* split NULL: the whole input in one call (then messages are inspected). */
static void decode_all(const uint8_t *data, size_t size, fuzz_split_t *split, run_t *out)
{
    rtmp_chunk_decoder_t d;
    rtmp_chunk_decoder_init(&d, 0);
    size_t pos = 0;
    while (pos < size && !out->err) {
        size_t left = split ? fuzz_piece(split, size - pos) : size - pos;
        const uint8_t *p = data + pos;
        pos += left;
        for (;;) {
            rtmp_msg_t m;
            size_t used = 0;
            int rc = rtmp_chunk_decode(&d, p, left, &used, &m);
            FUZZ_CHECK(used <= left);
            p += used;
            left -= used;
            if (rc < 0) { out->err = rc; break; }
            if (rc == 0) { FUZZ_CHECK(left == 0); break; }
            FUZZ_CHECK(m.payload && m.csid >= 2 && m.csid <= RTMP_MAX_CSID);
            add_rec(out, &m);
            if (!split) {
                inspect(&m);
                reencode(&m, RTMP_DEFAULT_CHUNK_SIZE);
            }
            int err;
            int ctl = control(&d, &m, &err);
            rill_payload_unref(m.payload);
            if (ctl && err) { out->err = err; break; }
        }
    }
    FUZZ_CHECK(d.pending <= d.max_pending);
    rtmp_chunk_decoder_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run_t whole = { 0 }, pieces = { 0 };
    fuzz_split_t sp;
    fuzz_split_init(&sp, data, size);
    decode_all(data, size, NULL, &whole);
    decode_all(data, size, &sp, &pieces);

    FUZZ_CHECK(whole.err == pieces.err);
    FUZZ_CHECK(whole.n == pieces.n);
    for (size_t i = 0; i < whole.n; i++) {
        const rec_t *a = &whole.recs[i], *b = &pieces.recs[i];
        FUZZ_CHECK(a->type == b->type && a->csid == b->csid && a->stream_id == b->stream_id &&
                   a->timestamp == b->timestamp && a->size == b->size && a->hash == b->hash);
    }
    free(whole.recs);
    free(pieces.recs);
    return 0;
}
