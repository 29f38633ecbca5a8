/* FLV and codec headers: the bytes as a video and an audio message body
 * (probe + sequence header), as a bare AVC/HEVC decoder configuration record
 * and AAC AudioSpecificConfig, and as an FLV file (or, without a file header,
 * a run of tags) whose tags are probed and parsed in turn. */
#include "flv.h"
#include "fuzz_util.h"
#include "rill_error.h"

static void check_video(const video_params_t *vp)
{
    /* Sizes come from bounded SPS fields: never negative, never absurd. */
    FUZZ_CHECK(vp->width >= 0 && vp->width <= 65536 * 2);
    FUZZ_CHECK(vp->height >= 0 && vp->height <= 65536 * 2);
    FUZZ_CHECK((vp->width == 0) == (vp->height == 0));
}

static void video(const uint8_t *p, size_t n)
{
    flv_video_info_t vi;
    video_params_t vp;
    if (flv_video_probe(p, n, &vi) == 0) FUZZ_CHECK(vi.header_size >= 1 && vi.header_size <= n);
    if (flv_video_parse_seq_header(p, n, &vp) == 0) check_video(&vp);
}

static void audio(const uint8_t *p, size_t n)
{
    flv_audio_info_t ai;
    audio_params_t ap;
    flv_audio_probe(p, n, &ai);
    if (flv_audio_parse_seq_header(p, n, &ap) == 0) FUZZ_CHECK(ap.sample_rate > 0 && ap.object_type > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan catches any read past the end. */
    uint8_t *p = malloc(size ? size : 1);
    if (!p) abort();
    memcpy(p, data, size);

    video(p, size);
    audio(p, size);
    video_params_t vp;
    audio_params_t ap;
    if (avc_parse_decoder_config(p, size, &vp) == 0) check_video(&vp);
    if (hevc_parse_decoder_config(p, size, &vp) == 0) check_video(&vp);
    if (aac_parse_audio_specific_config(p, size, &ap) == 0) FUZZ_CHECK(ap.sample_rate > 0);

    size_t pos = 0;
    if (flv_read_file_header(p, size, &pos) != 0) pos = 0;
    FUZZ_CHECK(pos <= size);
    flv_tag_t tag;
    int rc;
    while ((rc = flv_read_tag(p, size, &pos, &tag)) == 1) {
        FUZZ_CHECK(pos <= size && tag.data >= p && tag.data + tag.size <= p + size);
        uint8_t *t = malloc(tag.size ? tag.size : 1);   /* exact size again */
        if (!t) abort();
        memcpy(t, tag.data, tag.size);
        if (tag.type == FLV_TAG_VIDEO) video(t, tag.size);
        else if (tag.type == FLV_TAG_AUDIO) audio(t, tag.size);
        free(t);
    }
    FUZZ_CHECK(rc == 0 || rc == RILL_ERR_FLV);
    free(p);
    return 0;
}
