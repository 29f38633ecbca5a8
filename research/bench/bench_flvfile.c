#include "bench_flvfile.h"
#include "flv.h"
#include "rill_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bench_flvfile_parse(bench_flvfile_t *f, const uint8_t *p, size_t n)
{
    uint8_t *owned = f->owned;
    memset(f, 0, sizeof *f);
    f->owned = owned;
    size_t pos, cap = 0;
    if (flv_read_file_header(p, n, &pos)) return RILL_ERR_FLV;
    flv_tag_t t;
    int rc;
    uint32_t last_video = 0, video_gap = 0, last_ts = 0;
    int have_video = 0, media = 0;
    while ((rc = flv_read_tag(p, n, &pos, &t)) == 1) {
        if (t.type != FLV_TAG_AUDIO && t.type != FLV_TAG_VIDEO && t.type != FLV_TAG_SCRIPT) continue;
        if (f->ntags == cap) {
            cap = cap ? cap * 2 : 256;
            bench_flv_tagref_t *nt = realloc(f->tags, cap * sizeof *nt);
            if (!nt) {
                bench_flvfile_free(f);
                return RILL_ERR_NOMEM;
            }
            f->tags = nt;
        }
        bench_flv_tagref_t *r = &f->tags[f->ntags++];
        memset(r, 0, sizeof *r);
        r->type = t.type;
        r->ts = t.timestamp;
        r->size = t.size;
        r->data = t.data;
        if (t.type == FLV_TAG_SCRIPT) {
            r->config = 1;
        } else if (t.type == FLV_TAG_VIDEO) {
            flv_video_info_t vi;
            if (flv_video_probe(t.data, t.size, &vi) == 0) {
                r->config = (uint8_t)vi.seq_header;
                r->keyframe = (uint8_t)(vi.keyframe && !vi.seq_header);
            }
        } else {
            flv_audio_info_t ai;
            if (flv_audio_probe(t.data, t.size, &ai) == 0) r->config = (uint8_t)ai.seq_header;
        }
        if (r->config) continue;
        if (!media) f->first_ts = t.timestamp;
        media = 1;
        f->media_bytes += t.size;
        if (t.timestamp > last_ts) last_ts = t.timestamp;
        if (t.type == FLV_TAG_VIDEO) {
            if (have_video && t.timestamp > last_video) video_gap = t.timestamp - last_video;
            last_video = t.timestamp;
            have_video = 1;
        }
    }
    /* a truncated last tag (a recording cut short) ends the file */
    if (!media) {
        bench_flvfile_free(f);
        return RILL_ERR_FLV;
    }
    /* configuration tags before the first media tag get its timestamp */
    for (size_t i = 0; i < f->ntags; i++)
        if (f->tags[i].ts < f->first_ts) f->tags[i].ts = f->first_ts;
    f->loop_ms = last_ts - f->first_ts + (video_gap ? video_gap : 40);
    return 0;
}

int bench_flvfile_load(bench_flvfile_t *f, const char *path)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) return RILL_ERR_IO;
    int rc = RILL_ERR_IO;
    long len = -1;
    if (fseek(fp, 0, SEEK_END) == 0) len = ftell(fp);
    if (len > 0 && len < (1L << 31) && fseek(fp, 0, SEEK_SET) == 0) {
        f->owned = malloc((size_t)len);
        if (!f->owned) rc = RILL_ERR_NOMEM;
        else if (fread(f->owned, 1, (size_t)len, fp) == (size_t)len) rc = 0;
    }
    fclose(fp);
    if (!rc) rc = bench_flvfile_parse(f, f->owned, (size_t)len);
    if (rc) bench_flvfile_free(f);
    return rc;
}

void bench_flvfile_free(bench_flvfile_t *f)
{
    free(f->tags);
    free(f->owned);
    memset(f, 0, sizeof *f);
}

double bench_flvfile_kbps(const bench_flvfile_t *f)
{
    return f->loop_ms ? (double)f->media_bytes * 8.0 / (double)f->loop_ms : 0;
}
