#include "hls_ts.h"
#include "rill_error.h"
#include "rill_log.h"

#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <stdlib.h>
#include <string.h>

#define AVIO_BUF    (32 * 1024)
#define SEG_START   (256 * 1024)    /* a segment's first allocation; it doubles as it grows */
#define MUX_DELAY_US 700000         /* PCR ahead of DTS, as ffmpeg's own default muxdelay */

struct hls_ts {
    AVFormatContext *fmt;
    AVIOContext *pb;
    AVPacket *pkt;
    int vidx, aidx;                 /* stream index, -1 when absent */
    rill_payload_t *out;            /* bytes since the last take */
    int write_err;
    /* H.264 */
    int len_size;                   /* 0: no config yet */
    uint8_t *sps_pps;               /* Annex B, put before each keyframe */
    size_t sps_pps_len;
    /* AAC */
    int aot, freq_idx, channels;    /* aot 0: no config yet */
    int64_t last_dts[2];            /* per track, 90 kHz; INT64_MIN before the first */
};

static const int aac_rates[13] = { 96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050,
                                   16000, 12000, 11025, 8000, 7350 };

long hls_avcc_to_annexb(const uint8_t *in, size_t n, int len_size, const uint8_t *sps_pps, size_t sps_pps_len,
                        uint8_t *out, size_t cap)
{
    static const uint8_t start[4] = { 0, 0, 0, 1 };
    if (len_size != 1 && len_size != 2 && len_size != 4) return -1;
    size_t o = 0;
    if (sps_pps && sps_pps_len) {
        if (sps_pps_len > cap) return -1;
        memcpy(out, sps_pps, sps_pps_len);
        o = sps_pps_len;
    }
    size_t i = 0;
    while (i < n) {
        if (n - i < (size_t)len_size) return -1;
        size_t len = 0;
        for (int k = 0; k < len_size; k++) len = (len << 8) | in[i + k];
        i += (size_t)len_size;
        if (len > n - i) return -1;
        if (len == 0) continue;
        if (cap - o < 4 + len) return -1;
        memcpy(out + o, start, 4);
        memcpy(out + o + 4, in + i, len);
        o += 4 + len;
        i += len;
    }
    return (long)o;
}

void hls_adts_header(uint8_t out[7], int object_type, int freq_index, int channels, size_t n)
{
    size_t len = n + 7;
    int profile = (object_type >= 1 && object_type <= 4 ? object_type : 2) - 1;
    out[0] = 0xFF;
    out[1] = 0xF1;                  /* MPEG-4, layer 0, no CRC */
    out[2] = (uint8_t)((profile << 6) | ((freq_index & 0xF) << 2) | ((channels >> 2) & 1));
    out[3] = (uint8_t)(((channels & 3) << 6) | ((len >> 11) & 3));
    out[4] = (uint8_t)((len >> 3) & 0xFF);
    out[5] = (uint8_t)(((len & 7) << 5) | 0x1F);
    out[6] = 0xFC;
}

/* AVIO's sink: append to the open segment. */
static int write_cb(void *opaque, uint8_t *buf, int size)
{
    hls_ts_t *t = opaque;
    rill_payload_t *pl = t->out;
    if (pl->cap - pl->size < (uint32_t)size) {
        size_t cap = pl->cap;
        while (cap - pl->size < (size_t)size) cap *= 2;
        if (cap > UINT32_MAX || !(pl = rill_payload_grow(pl, cap))) {
            t->write_err = 1;
            return AVERROR(ENOMEM);
        }
        t->out = pl;
    }
    memcpy(pl->data + pl->size, buf, (size_t)size);
    pl->size += (uint32_t)size;
    return size;
}

void hls_ts_free(hls_ts_t *t)
{
    if (!t) return;
    if (t->fmt) avformat_free_context(t->fmt);
    if (t->pb) {
        av_freep(&t->pb->buffer);
        avio_context_free(&t->pb);
    }
    av_packet_free(&t->pkt);
    rill_payload_unref(t->out);
    free(t->sps_pps);
    free(t);
}

static AVStream *add_stream(hls_ts_t *t, enum AVMediaType type, enum AVCodecID id)
{
    AVStream *st = avformat_new_stream(t->fmt, NULL);
    if (!st) return NULL;
    st->codecpar->codec_type = type;
    st->codecpar->codec_id = id;
    st->time_base = (AVRational){ 1, 90000 };
    if (type == AVMEDIA_TYPE_AUDIO) {
        /* the muxer wants a rate; the ADTS headers carry the real one */
        st->codecpar->sample_rate = 44100;
        st->codecpar->frame_size = 1024;
        av_channel_layout_default(&st->codecpar->ch_layout, 2);
    }
    return st;
}

int hls_ts_new(hls_ts_t **out, int has_video, int has_audio)
{
    *out = NULL;
    if (!has_video && !has_audio) return RILL_ERR_CODEC;
    hls_ts_t *t = calloc(1, sizeof *t);
    if (!t) return RILL_ERR_NOMEM;
    t->vidx = t->aidx = -1;
    t->last_dts[0] = t->last_dts[1] = INT64_MIN;
    int rc = RILL_ERR_NOMEM;
    uint8_t *buf = av_malloc(AVIO_BUF);
    t->out = rill_payload_new(SEG_START);
    t->pkt = av_packet_alloc();
    if (!buf || !t->out || !t->pkt) {
        av_free(buf);
        goto fail;
    }
    t->pb = avio_alloc_context(buf, AVIO_BUF, 1, t, NULL, write_cb, NULL);
    if (!t->pb) {
        av_free(buf);
        goto fail;
    }
    if (avformat_alloc_output_context2(&t->fmt, NULL, "mpegts", NULL) < 0 || !t->fmt) goto fail;
    t->fmt->pb = t->pb;
    t->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    t->fmt->max_delay = MUX_DELAY_US;
    if (has_video) {
        AVStream *st = add_stream(t, AVMEDIA_TYPE_VIDEO, AV_CODEC_ID_H264);
        if (!st) goto fail;
        t->vidx = st->index;
    }
    if (has_audio) {
        AVStream *st = add_stream(t, AVMEDIA_TYPE_AUDIO, AV_CODEC_ID_AAC);
        if (!st) goto fail;
        t->aidx = st->index;
    }
    /* one PES per audio frame, each with its own PTS: merged frames get
     * interpolated times that players see step back at a segment's start */
    av_opt_set_int(t->fmt->priv_data, "pes_payload_size", 0, 0);
    if (avformat_write_header(t->fmt, NULL) < 0) {
        rc = RILL_ERR_CODEC;
        goto fail;
    }
    *out = t;
    return 0;
fail:
    hls_ts_free(t);
    return rc;
}

int hls_ts_video_config(hls_ts_t *t, const uint8_t *p, size_t n)
{
    /* version, profile, compat, level, 6 bits + length size, 3 bits + SPS count */
    if (n < 7 || p[0] != 1) return RILL_ERR_CODEC;
    int len_size = (p[4] & 3) + 1;
    if (len_size == 3) return RILL_ERR_CODEC;
    /* Annex B size first: every SPS and PPS with a 4-byte start code */
    size_t i = 5, total = 0;
    for (int list = 0; list < 2; list++) {
        if (i >= n) return RILL_ERR_CODEC;
        int count = list == 0 ? (p[i] & 0x1F) : p[i];
        i++;
        for (int k = 0; k < count; k++) {
            if (n - i < 2) return RILL_ERR_CODEC;
            size_t len = ((size_t)p[i] << 8) | p[i + 1];
            i += 2;
            if (len > n - i) return RILL_ERR_CODEC;
            total += 4 + len;
            i += len;
        }
    }
    uint8_t *b = malloc(total ? total : 1);
    if (!b) return RILL_ERR_NOMEM;
    size_t o = 0;
    i = 5;
    for (int list = 0; list < 2; list++) {
        int count = list == 0 ? (p[i] & 0x1F) : p[i];
        i++;
        for (int k = 0; k < count; k++) {
            size_t len = ((size_t)p[i] << 8) | p[i + 1];
            i += 2;
            b[o] = b[o + 1] = b[o + 2] = 0;
            b[o + 3] = 1;
            memcpy(b + o + 4, p + i, len);
            o += 4 + len;
            i += len;
        }
    }
    free(t->sps_pps);
    t->sps_pps = b;
    t->sps_pps_len = total;
    t->len_size = len_size;
    return 0;
}

/* n bits of an AudioSpecificConfig from bit `at` (MSB first); -1 past its end. */
static int asc_bits(const uint8_t *p, size_t len, size_t at, int n)
{
    if (at + (size_t)n > len * 8) return -1;
    int v = 0;
    for (int i = 0; i < n; i++, at++) v = (v << 1) | ((p[at / 8] >> (7 - at % 8)) & 1);
    return v;
}

int hls_ts_audio_config(hls_ts_t *t, const uint8_t *p, size_t n)
{
    if (n < 2) return RILL_ERR_CODEC;
    int aot = p[0] >> 3;
    int freq = ((p[0] & 7) << 1) | (p[1] >> 7);
    int ch = (p[1] >> 3) & 0xF;
    if (aot == 5 || aot == 29) {
        /* HE-AAC (SBR, PS) signalled explicitly: ADTS carries its AAC core at
         * the core rate, and decoders find the SBR/PS data in the frames
         * (implicit signalling), as TS muxers of HE-AAC do */
        int ext = asc_bits(p, n, 13, 4);
        aot = asc_bits(p, n, ext == 15 ? 41 : 17, 5);
    }
    /* ADTS can only say AAC Main, LC, SSR, LTP at a table rate */
    if (aot < 1 || aot > 4 || freq > 12 || ch > 7) return RILL_ERR_CODEC;
    t->aot = aot;
    t->freq_idx = freq;
    t->channels = ch;
    if (t->aidx >= 0) t->fmt->streams[t->aidx]->codecpar->sample_rate = aac_rates[freq];
    return 0;
}

/* One packet to the muxer; pkt->data is filled by the caller. */
static int write_pkt(hls_ts_t *t, int idx, int64_t dts_ms, int32_t cts_ms, int key)
{
    int track = idx == t->vidx ? 0 : 1;
    int64_t dts = dts_ms * 90;
    /* the muxer refuses a DTS that does not move forward */
    if (t->last_dts[track] != INT64_MIN && dts <= t->last_dts[track]) dts = t->last_dts[track] + 1;
    t->last_dts[track] = dts;
    int64_t pts = dts + (int64_t)(cts_ms > 0 ? cts_ms : 0) * 90;
    AVPacket *pkt = t->pkt;
    pkt->stream_index = idx;
    pkt->dts = dts;
    pkt->pts = pts;
    pkt->flags = key ? AV_PKT_FLAG_KEY : 0;
    int r = av_write_frame(t->fmt, pkt);
    av_packet_unref(pkt);
    if (t->write_err) return RILL_ERR_NOMEM;
    return r < 0 ? RILL_ERR_CODEC : 0;
}

int hls_ts_video(hls_ts_t *t, int64_t dts_ms, int32_t cts_ms, int key, const uint8_t *data, size_t n)
{
    if (t->vidx < 0 || !t->len_size || n == 0) return 0;
    const uint8_t *pre = key ? t->sps_pps : NULL;
    size_t pre_len = key ? t->sps_pps_len : 0;
    /* a length prefix becomes a 4-byte start code: at most 3 more bytes per NAL unit */
    size_t cap = pre_len + n + 3 * (n / (size_t)t->len_size + 1);
    if (cap > INT32_MAX || av_new_packet(t->pkt, (int)cap) < 0) return RILL_ERR_NOMEM;
    long len = hls_avcc_to_annexb(data, n, t->len_size, pre, pre_len, t->pkt->data, cap);
    if (len <= (long)pre_len) {
        av_packet_unref(t->pkt);
        return len < 0 ? RILL_ERR_CODEC : 0;
    }
    av_shrink_packet(t->pkt, (int)len);
    return write_pkt(t, t->vidx, dts_ms, cts_ms, key);
}

int hls_ts_audio(hls_ts_t *t, int64_t dts_ms, const uint8_t *data, size_t n)
{
    if (t->aidx < 0 || !t->aot || n == 0) return 0;
    if (n > 8191 - 7) return RILL_ERR_CODEC;    /* ADTS's 13-bit length */
    if (av_new_packet(t->pkt, (int)n + 7) < 0) return RILL_ERR_NOMEM;
    hls_adts_header(t->pkt->data, t->aot, t->freq_idx, t->channels, n);
    memcpy(t->pkt->data + 7, data, n);
    return write_pkt(t, t->aidx, dts_ms, 0, 1);
}

size_t hls_ts_pending(const hls_ts_t *t)
{
    return t->out->size + (size_t)(t->pb->buf_ptr - t->pb->buffer);
}

rill_payload_t *hls_ts_take(hls_ts_t *t)
{
    av_write_frame(t->fmt, NULL);   /* the PES data the muxer holds back */
    avio_flush(t->pb);
    if (t->write_err) return NULL;
    rill_payload_t *fresh = rill_payload_new(SEG_START);
    if (!fresh) return NULL;
    rill_payload_t *seg = t->out;
    t->out = fresh;
    /* the next segment starts with the tables */
    av_opt_set(t->fmt->priv_data, "mpegts_flags", "+resend_headers", 0);
    return seg;
}
