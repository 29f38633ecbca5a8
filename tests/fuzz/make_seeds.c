/* Writes the hand-made binary seeds of tests/fuzz/corpus/, and extracts
 * message seeds (AMF0 command/data bodies, FLV sequence headers and the
 * first frames) from captured chunk streams.
 *
 *   make fuzz-seeds   (or: objs/fuzz/make-seeds CORPUS_DIR [CHUNK_CAPTURE...])
 *
 * Handshake seeds are whole exchanges in the fuzz_handshake input layout:
 * C0C1 + S0S1S2 + C2, built by rill's own client and server code. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "amf0.h"
#include "flv.h"
#include "rill_bytes.h"
#include "rill_error.h"
#include "rtmp_chunk.h"
#include "rtmp_cmd.h"
#include "rtmp_handshake.h"

#define MAX_SEED (64 * 1024)

static const char *g_dir;

/* Seeds written in this run, so the same bytes found twice (rill relays
 * ffmpeg's frames unchanged) are kept once. */
static unsigned long long g_seen[1024];
static int g_nseen;

static int seen(const void *p, size_t n)
{
    unsigned long long h = 1469598103934665603ull ^ n;
    for (size_t i = 0; i < n; i++) h = (h ^ ((const uint8_t *)p)[i]) * 1099511628211ull;
    for (int i = 0; i < g_nseen; i++)
        if (g_seen[i] == h) return 1;
    if (g_nseen < 1024) g_seen[g_nseen++] = h;
    return 0;
}

static void put(const char *target, const char *name, const void *p, size_t n)
{
    if (seen(p, n > MAX_SEED ? MAX_SEED : n)) return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_dir, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", g_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n > MAX_SEED ? MAX_SEED : n, f) != (n > MAX_SEED ? MAX_SEED : n) || fclose(f)) {
        fprintf(stderr, "make-seeds: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    printf("%s (%zu bytes)\n", path, n > MAX_SEED ? (size_t)MAX_SEED : n);
}

static void must(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "make-seeds: %s: %s\n", what, rill_strerror(rc));
        exit(1);
    }
}

/* ---- handshake ---- */

/* schema -1: simple C1; 0 or 1: complex C1 in that schema. */
static void handshake(const char *name, int schema)
{
    uint8_t x[RTMP_HS_C0C1_SIZE + RTMP_HS_S0S1S2_SIZE + RTMP_HS_SIZE];
    uint8_t *c0c1 = x, *s012 = x + RTMP_HS_C0C1_SIZE, *c2 = s012 + RTMP_HS_S0S1S2_SIZE;
    if (schema < 0) must(rtmp_handshake_client_c0c1(c0c1, 0), "c0c1");
    else must(rtmp_handshake_client_c0c1_schema(c0c1, schema), "c0c1");
    int complex;
    must(rtmp_handshake_server(c0c1, s012, &complex), "server");
    must(rtmp_handshake_client_c2(c0c1, s012, c2), "c2");
    put("handshake", name, x, sizeof x);
}

/* ---- amf0 ---- */

static void amf0_seeds(void)
{
    rill_writer_t w;
    rill_writer_init(&w, 0);
    must(rtmp_cmd_connect(&w, 1, "live", "rtmp://127.0.0.1:1935/live", 1, 0), "connect");
    put("amf0", "connect.bin", w.data, w.len);
    rill_writer_reset(&w);
    must(rtmp_cmd_publish(&w, 5, "demo?vhost=v1&token=abc"), "publish");
    put("amf0", "publish.bin", w.data, w.len);
    rill_writer_reset(&w);
    must(rtmp_cmd_connect_result(&w, 1, 0), "result");
    put("amf0", "connect_result.bin", w.data, w.len);

    /* @setDataFrame onMetaData {ECMA array}, as ffmpeg sends it. */
    rill_writer_reset(&w);
    amf0_write_string(&w, "@setDataFrame");
    amf0_write_string(&w, "onMetaData");
    amf0_value_t *meta = amf0_new_ecma_array();
    amf0_object_set(meta, "duration", amf0_new_number(0));
    amf0_object_set(meta, "width", amf0_new_number(320));
    amf0_object_set(meta, "height", amf0_new_number(240));
    amf0_object_set(meta, "videocodecid", amf0_new_number(7));
    amf0_object_set(meta, "framerate", amf0_new_number(25));
    amf0_object_set(meta, "audiocodecid", amf0_new_number(10));
    amf0_object_set(meta, "stereo", amf0_new_bool(0));
    amf0_object_set(meta, "encoder", amf0_new_string("Lavf59.27.100"));
    must(amf0_encode(&w, meta), "meta");
    put("amf0", "metadata.bin", w.data, w.len);
    /* Without the end marker (accepted at the top level). */
    put("amf0", "metadata_no_end.bin", w.data, w.len - 3);
    amf0_free(meta);

    /* Every type rill decodes, nested. */
    rill_writer_reset(&w);
    static const uint8_t all[] = {
        0x00, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18,           /* number pi */
        0x01, 0x01,                                                     /* true */
        0x02, 0x00, 0x03, 'a', 'b', 'c',                                /* string */
        0x05, 0x06,                                                     /* null, undefined */
        0x07, 0x00, 0x01,                                               /* reference */
        0x0b, 0x42, 0x77, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3c, /* date */
        0x0c, 0x00, 0x00, 0x00, 0x02, 'h', 'i',                         /* long string */
        0x0f, 0x00, 0x00, 0x00, 0x03, '<', 'x', '>',                    /* xml */
        0x0a, 0x00, 0x00, 0x00, 0x02, 0x05, 0x03, 0x00, 0x01, 'k', 0x01, 0x00, 0x00, 0x00, 0x09, /* [null, {k:false}] */
        0x10, 0x00, 0x02, 'C', 'l', 0x00, 0x01, 'x', 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x09,
    };
    put("amf0", "all_types.bin", all, sizeof all);
    rill_writer_free(&w);
}

/* ---- flv ---- */

static const uint8_t avc_baseline_320x240[] = {   /* avcC, libx264 baseline */
    0x01, 0x42, 0xc0, 0x0d, 0xff, 0xe1, 0x00, 0x18, 0x67, 0x42, 0xc0, 0x0d,
    0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00,
    0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80, 0x01, 0x00, 0x05, 0x68,
    0xcb, 0x83, 0xcb, 0x20,
};

static void flv_seeds(void)
{
    uint8_t m[5 + sizeof avc_baseline_320x240];
    memcpy(m, "\x17\x00\x00\x00\x00", 5);
    memcpy(m + 5, avc_baseline_320x240, sizeof avc_baseline_320x240);
    put("flv", "avc_seq.bin", m, sizeof m);
    put("flv", "avcC.bin", avc_baseline_320x240, sizeof avc_baseline_320x240);
    static const uint8_t aac[] = { 0xaf, 0x00, 0x12, 0x10 };
    put("flv", "aac_seq.bin", aac, sizeof aac);
    static const uint8_t he_aac[] = { 0xaf, 0x00, 0x2b, 0x92, 0x08, 0x00 };   /* SBR, explicit */
    put("flv", "aac_he_seq.bin", he_aac, sizeof he_aac);
    static const uint8_t av1[] = { 0x90, 'a', 'v', '0', '1', 0x81, 0x08, 0x0c, 0x00 };
    put("flv", "av1_seq.bin", av1, sizeof av1);

    /* An FLV file holding both sequence headers. */
    uint8_t f[FLV_FILE_HEADER_SIZE + 2 * (FLV_TAG_HEADER_SIZE + 4) + sizeof m + sizeof aac];
    size_t n = 0;
    flv_file_header(f, 1, 1);
    n += FLV_FILE_HEADER_SIZE;
    flv_tag_header(f + n, FLV_TAG_VIDEO, sizeof m, 0);
    n += FLV_TAG_HEADER_SIZE;
    memcpy(f + n, m, sizeof m);
    n += sizeof m;
    flv_tag_trailer(f + n, sizeof m);
    n += 4;
    flv_tag_header(f + n, FLV_TAG_AUDIO, sizeof aac, 0x01000000);
    n += FLV_TAG_HEADER_SIZE;
    memcpy(f + n, aac, sizeof aac);
    n += sizeof aac;
    flv_tag_trailer(f + n, sizeof aac);
    n += 4;
    put("flv", "seq_headers.flv", f, n);
}

/* ---- chunk stream ---- */

static void chunk_msg(rill_writer_t *w, uint32_t csid, uint8_t type, uint32_t ts, const void *p, size_t n,
                      uint32_t chunk_size)
{
    rill_payload_t *pl = rill_payload_from(p, n);
    rtmp_msg_t m = { .type = type, .csid = csid, .stream_id = type == RTMP_MSG_AMF0_COMMAND ? 0 : 1,
                     .timestamp = ts, .payload = pl };
    must(rtmp_chunk_encode_to(&m, chunk_size, w), "chunk");
    rill_payload_unref(pl);
}

/* rill's own chunker: set chunk size, connect, a csid >= 320, extended
 * timestamps, an aggregate message. */
static void chunk_seeds(void)
{
    rill_writer_t w, body;
    rill_writer_init(&w, 0);
    rill_writer_init(&body, 0);
    uint8_t cs[4];
    rtmp_ctrl_u32(cs, 4096);
    chunk_msg(&w, RTMP_CSID_PROTOCOL, RTMP_MSG_SET_CHUNK_SIZE, 0, cs, 4, 128);
    must(rtmp_cmd_connect(&body, 1, "live", "rtmp://127.0.0.1/live", 1, 0), "connect");
    chunk_msg(&w, RTMP_CSID_COMMAND, RTMP_MSG_AMF0_COMMAND, 0, body.data, body.len, 4096);
    uint8_t video[300];
    memset(video, 0x55, sizeof video);
    memcpy(video, "\x17\x01\x00\x00\x00", 5);
    chunk_msg(&w, 400, RTMP_MSG_VIDEO, 0x01000000, video, sizeof video, 4096);
    chunk_msg(&w, 400, RTMP_MSG_VIDEO, 0x01000028, video, sizeof video, 4096);
    uint8_t agg[2 * (FLV_TAG_HEADER_SIZE + 4) + 8];
    static const uint8_t aac[] = { 0xaf, 0x00, 0x12, 0x10 };
    flv_tag_header(agg, FLV_TAG_AUDIO, 4, 100);
    memcpy(agg + FLV_TAG_HEADER_SIZE, aac, 4);
    flv_tag_trailer(agg + FLV_TAG_HEADER_SIZE + 4, 4);
    flv_tag_header(agg + 19, FLV_TAG_AUDIO, 4, 123);
    memcpy(agg + 19 + FLV_TAG_HEADER_SIZE, "\xaf\x01\x21\x10", 4);
    flv_tag_trailer(agg + 19 + FLV_TAG_HEADER_SIZE + 4, 4);
    chunk_msg(&w, 4, RTMP_MSG_AGGREGATE, 100, agg, sizeof agg, 4096);
    put("chunk", "rill_encoder.bin", w.data, w.len);
    rill_writer_free(&w);
    rill_writer_free(&body);
}

/* ---- messages from a captured chunk stream ---- */

static void from_capture(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "make-seeds: %s: %s\n", path, strerror(errno)); exit(1); }
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char stem[256];
    snprintf(stem, sizeof stem, "%.*s", (int)strcspn(base, "."), base);

    rtmp_chunk_decoder_t d;
    rtmp_chunk_decoder_init(&d, 0);
    size_t pos = 0;
    int ncmd = 0, vseq = 0, aseq = 0, vkey = 0, vframe = 0;
    while (pos < n) {
        rtmp_msg_t m;
        size_t used = 0;
        int rc = rtmp_chunk_decode(&d, buf + pos, n - pos, &used, &m);
        pos += used;
        if (rc <= 0) break;
        const uint8_t *p = m.payload->data;
        size_t len = m.payload->size;
        char name[300];
        flv_video_info_t vi;
        flv_audio_info_t ai;
        if (m.type == RTMP_MSG_SET_CHUNK_SIZE && len >= 4)
            rtmp_chunk_decoder_set_chunk_size(&d, rill_get_u32be(p));
        if (m.type == RTMP_MSG_AMF0_COMMAND || m.type == RTMP_MSG_AMF0_DATA) {
            snprintf(name, sizeof name, "%s_msg%02d.bin", stem, ncmd++);
            put("amf0", name, p, len);
        } else if (m.type == RTMP_MSG_VIDEO && flv_video_probe(p, len, &vi) == 0) {
            if (vi.seq_header && !vseq++) {
                snprintf(name, sizeof name, "%s_video_seq.bin", stem);
                put("flv", name, p, len);
            } else if (!vi.seq_header && vi.keyframe && !vkey++) {
                snprintf(name, sizeof name, "%s_keyframe.bin", stem);
                put("flv", name, p, len > 16384 ? 16384 : len);   /* the NAL headers matter, not all of it */
            } else if (!vi.seq_header && !vi.keyframe && !vframe++) {
                snprintf(name, sizeof name, "%s_frame.bin", stem);
                put("flv", name, p, len > 4096 ? 4096 : len);
            }
        } else if (m.type == RTMP_MSG_AUDIO && flv_audio_probe(p, len, &ai) == 0 && ai.seq_header && !aseq++) {
            snprintf(name, sizeof name, "%s_audio_seq.bin", stem);
            put("flv", name, p, len);
        }
        rill_payload_unref(m.payload);
    }
    rtmp_chunk_decoder_free(&d);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: make-seeds CORPUS_DIR [CHUNK_CAPTURE...]\n");
        return 2;
    }
    g_dir = argv[1];
    mkdir(g_dir, 0755);
    handshake("simple.bin", -1);
    handshake("complex_schema0.bin", 0);
    handshake("complex_schema1.bin", 1);
    /* C0C1 alone (the rest zero-padded by the target). */
    uint8_t c0c1[RTMP_HS_C0C1_SIZE];
    must(rtmp_handshake_client_c0c1_schema(c0c1, 1), "c0c1");
    put("handshake", "c0c1_complex.bin", c0c1, sizeof c0c1);
    must(rtmp_handshake_client_c0c1(c0c1, 0), "c0c1");
    put("handshake", "c0c1_simple.bin", c0c1, sizeof c0c1);
    amf0_seeds();
    flv_seeds();
    chunk_seeds();
    for (int i = 2; i < argc; i++) from_capture(argv[i]);
    return 0;
}
