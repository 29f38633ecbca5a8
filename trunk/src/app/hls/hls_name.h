/* hls_m3u8_file and hls_ts_file templates: [vhost], [app], [stream] and
 * [seq] between plain characters. Render one for a stream, or match a
 * request path against one to learn the stream. Pure. */
#ifndef HLS_NAME_H
#define HLS_NAME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hls_name {
    char vhost[256], app[256], stream[256];
    uint64_t seq;
    int has_vhost, has_seq;
} hls_name_t;

/* The template with [vhost], [app], [stream] filled in; [seq] is left as it
 * is. -1 when it does not fit in out. */
int hls_name_render(const char *tmpl, const char *vhost, const char *app, const char *stream, char *out,
                    size_t len);
/* Does path (without its leading '/') match tmpl? A variable matches one or
 * more characters other than '/' ([seq] only digits); [app] left out of the
 * template: the path's first segment is the app. 1 and out filled, or 0. */
int hls_name_match(const char *tmpl, const char *path, hls_name_t *out);
/* May a rendered name become a file under hls_path? It must stay a
 * relative path below it: no leading '/', no '.' or '..' segment, no
 * backslash or control character (names come from clients). 1 or 0. */
int hls_name_file_safe(const char *rendered);

#ifdef __cplusplus
}
#endif
#endif
