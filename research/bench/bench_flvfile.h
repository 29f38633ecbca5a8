/* An FLV file held in memory for publishers: its tags, which ones are
 * configuration (metadata, sequence headers: sent on the first loop only),
 * and how long one loop lasts so looped timestamps stay continuous. */
#ifndef BENCH_FLVFILE_H
#define BENCH_FLVFILE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bench_flv_tagref {
    uint8_t type;               /* 8 audio, 9 video, 18 script */
    uint8_t config;             /* metadata or a sequence header */
    uint8_t keyframe;
    uint32_t ts;                /* as in the file */
    uint32_t size;
    const uint8_t *data;
} bench_flv_tagref_t;

typedef struct bench_flvfile {
    uint8_t *owned;             /* the file's bytes when loaded by bench_flvfile_load */
    bench_flv_tagref_t *tags;
    size_t ntags;
    uint32_t first_ts;
    uint32_t loop_ms;           /* one pass: last - first timestamp + one video frame interval */
    uint64_t media_bytes;       /* audio + video bytes of one pass */
} bench_flvfile_t;

/* Index the FLV in p[0..n) (kept by the caller). RILL_ERR_FLV when it is
 * not FLV, has no tags, or no media. */
int bench_flvfile_parse(bench_flvfile_t *f, const uint8_t *p, size_t n);
/* Read a file and index it. RILL_ERR_IO when it cannot be read. */
int bench_flvfile_load(bench_flvfile_t *f, const char *path);
void bench_flvfile_free(bench_flvfile_t *f);
/* Timestamp of tag i on pass 'loop' (0-based), continuous across passes. */
static inline uint32_t bench_flvfile_ts(const bench_flvfile_t *f, uint64_t loop, size_t i)
{ return (uint32_t)(f->tags[i].ts - f->first_ts + loop * f->loop_ms); }
/* Media bitrate of the file in kbit/s. */
double bench_flvfile_kbps(const bench_flvfile_t *f);

#ifdef __cplusplus
}
#endif
#endif
