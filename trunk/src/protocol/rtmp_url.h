/* RTMP URLs and stream names: rtmp://host[:port]/app[/stream][?params],
 * and the "?key=value&..." params that clients put after a stream name. */
#ifndef RTMP_URL_H
#define RTMP_URL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rtmp_url {
    char host[256];
    int port;               /* 1935 when absent */
    char app[256];
    char stream[256];       /* may be empty (a tcUrl has none) */
    char param[1024];       /* "?a=b&..." or empty */
} rtmp_url_t;

/* RILL_ERR_INVAL when not an rtmp:// URL or a part is too long. */
int rtmp_url_parse(const char *url, rtmp_url_t *out);
/* Split "name?params" into its parts. RILL_ERR_INVAL when a part is too long. */
int rtmp_split_param(const char *in, char *name, size_t name_len, char *param, size_t param_len);
/* Value of key in "?a=b&c=d" (also accepts '&' or '?' separators, and the
 * old "...vhost...name" form is not supported). 1 when found. */
int rtmp_param_get(const char *param, const char *key, char *out, size_t out_len);

#ifdef __cplusplus
}
#endif
#endif
